// SPDX-License-Identifier: MIT
/*
 * bpf/maglev.c - the weighted Maglev table builder (Eisenbud et al., "Maglev:
 * A Fast and Reliable Software Network Load Balancer", NSDI'16, section
 * 3.4), and the address helpers of ebpf_lb.h. Pure: no kernel, no libbpf.
 *
 * Each backend's preference list is the permutation (offset + j * skip) mod m
 * of the m slots (m prime, so every skip in 1..m-1 visits every slot), offset
 * and skip from two hashes of its address. Backends take turns claiming the
 * next free slot of their list until the table is full. Weights: backend i
 * is given a quota q_i of slots by largest remainders (sum q_i = m,
 * |q_i - m w_i / W| < 1) and its turns are spread in proportion to q_i: its
 * k-th claim happens at time (2k + 1) / (2 q_i), the midpoints of q_i equal
 * intervals, ties going to the lower address. For equal weights this is the
 * paper's round robin. Shares are then exact to a slot, and a change of one
 * backend shifts the others' turns only a little, which keeps the remapping
 * near the minimum.
 */
#include <arpa/inet.h>
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ebpf_lb.h"

/* The largest prime below each power of two from 2^8 to 2^17. */
static const uint32_t maglev_ladder[] = {251,  509,   1021,  2039,  4093,
					 8191, 16381, 32749, 65521, 131071};
#define LADDER_N (sizeof(maglev_ladder) / sizeof(maglev_ladder[0]))

static_assert(EBPF_LB_MAX_SLOTS == 131071, "the top of the ladder");

uint32_t ebpf_maglev_size(uint64_t units, bool consistent)
{
	uint64_t want = units * (consistent ? 1000 : 100);

	if (!units)
		return 0;
	for (size_t i = 0; i < LADDER_N; i++)
		if (maglev_ladder[i] >= want)
			return maglev_ladder[i];
	return maglev_ladder[LADDER_N - 1];
}

static bool on_ladder(uint32_t m)
{
	for (size_t i = 0; i < LADDER_N; i++)
		if (maglev_ladder[i] == m)
			return true;
	return false;
}

/*
 * A fixed 64-bit hash of an address (never change it: every node must build
 * the same table for the same set). Sixteen address bytes and the port in
 * network order, mixed with splitmix64's finaliser.
 */
static uint64_t mix64(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static uint64_t addr_hash(const struct ebpf_lb_addr *a, uint64_t seed)
{
	uint64_t lo = 0, hi = 0;

	for (int i = 0; i < 8; i++) {
		hi = hi << 8 | a->ip[i];
		lo = lo << 8 | a->ip[8 + i];
	}
	return mix64(mix64(mix64(seed ^ hi) ^ lo) ^ a->port);
}

static int addr_cmp(const struct ebpf_lb_addr *a, const struct ebpf_lb_addr *b)
{
	int c = memcmp(a->ip, b->ip, sizeof(a->ip));

	if (c)
		return c;
	return (a->port > b->port) - (a->port < b->port);
}

static int be_cmp(const void *a, const void *b)
{
	return addr_cmp(&((const struct ebpf_lb_backend *)a)->addr,
			&((const struct ebpf_lb_backend *)b)->addr);
}

/* per backend with a weight, while filling */
struct fill {
	uint32_t idx;  /* into the sorted backends */
	uint32_t q;    /* quota */
	uint32_t k;    /* claimed so far */
	uint32_t pos;  /* next position in its permutation */
	uint32_t skip; /* permutation step */
};

/* a's next claim comes before b's: (2ka + 1) / qa < (2kb + 1) / qb, ties by address */
static int turn_before(const struct fill *a, const struct fill *b)
{
	uint64_t l = (2 * (uint64_t)a->k + 1) * b->q, r = (2 * (uint64_t)b->k + 1) * a->q;

	return l != r ? l < r : a->idx < b->idx;
}

static void heap_down(struct fill **h, size_t n, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		struct fill *t;

		if (l < n && turn_before(h[l], h[m]))
			m = l;
		if (r < n && turn_before(h[r], h[m]))
			m = r;
		if (m == i)
			return;
		t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

struct rem {
	uint64_t r;
	uint32_t i;
};

/* larger remainder first, then the lower address */
static int rem_cmp(const void *a, const void *b)
{
	const struct rem *x = a, *y = b;

	if (x->r != y->r)
		return x->r < y->r ? 1 : -1;
	return (x->i > y->i) - (x->i < y->i);
}

/* quotas by largest remainders: sum q = m, |q_i - m w_i / W| < 1 */
static int quotas(struct fill *f, size_t nf, const struct ebpf_lb_backend *be, uint32_t m,
		  uint64_t total)
{
	struct rem *rem;
	uint32_t left = m;

	rem = calloc(nf, sizeof(*rem));
	if (!rem)
		return -ENOMEM;
	for (size_t i = 0; i < nf; i++) {
		uint64_t x = (uint64_t)m * be[f[i].idx].weight; /* < 2^17 * 2^32 */

		f[i].q = (uint32_t)(x / total);
		rem[i].r = x % total;
		rem[i].i = (uint32_t)i;
		left -= f[i].q;
	}
	assert(left <= nf);
	qsort(rem, nf, sizeof(*rem), rem_cmp);
	for (uint32_t j = 0; j < left; j++)
		f[rem[j].i].q++;
	free(rem);
	return 0;
}

int ebpf_maglev_build(const struct ebpf_lb_backend *be, size_t n, bool consistent, uint32_t m_prev,
		      struct ebpf_maglev **out)
{
	struct ebpf_maglev *t;
	struct fill *f = NULL, **heap = NULL;
	uint64_t total = 0, units;
	uint32_t wmin = 0, filled = 0;
	size_t nf = 0, nh;
	int ret;

	if (n > EBPF_LB_MAX_BACKENDS || (n && !be))
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->be = calloc(n ? n : 1, sizeof(*t->be));
	if (!t->be) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (n)
		memcpy(t->be, be, n * sizeof(*be));
	t->n = (uint32_t)n;
	qsort(t->be, n, sizeof(*t->be), be_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i && !be_cmp(&t->be[i - 1], &t->be[i])) {
			ret = -EINVAL; /* the same backend twice */
			goto out_free;
		}
		if (!t->be[i].weight)
			continue;
		total += t->be[i].weight;
		if (!wmin || t->be[i].weight < wmin)
			wmin = t->be[i].weight;
		nf++;
	}
	if (!nf) {
		*out = t; /* m = 0: nothing to balance to */
		return 0;
	}
	units = (total + wmin - 1) / wmin;
	t->m = ebpf_maglev_size(units, consistent);
	/* keep the size in use while it is big enough and not 8x too big: a new m remaps everything */
	if (on_ladder(m_prev) && m_prev >= t->m && m_prev / 8 <= t->m)
		t->m = m_prev;
	t->slot = malloc(t->m * sizeof(*t->slot));
	f = calloc(nf, sizeof(*f));
	heap = calloc(nf, sizeof(*heap));
	if (!t->slot || !f || !heap) {
		ret = -ENOMEM;
		goto out_free;
	}
	memset(t->slot, 0xff, t->m * sizeof(*t->slot));
	nf = 0;
	for (uint32_t i = 0; i < t->n; i++) {
		if (!t->be[i].weight)
			continue;
		f[nf].idx = i;
		f[nf].pos = (uint32_t)(addr_hash(&t->be[i].addr, 0x6d61676c65762d6fULL) % t->m);
		f[nf].skip =
			(uint32_t)(addr_hash(&t->be[i].addr, 0x736b69702d736b69ULL) % (t->m - 1)) +
			1;
		nf++;
	}
	ret = quotas(f, nf, t->be, t->m, total);
	if (ret)
		goto out_free;
	nh = 0;
	for (size_t i = 0; i < nf; i++)
		if (f[i].q)
			heap[nh++] = &f[i];
	for (size_t i = nh / 2; i-- > 0;)
		heap_down(heap, nh, i);
	while (filled < t->m) {
		struct fill *b;

		assert(nh > 0); /* the quotas add up to m */
		b = heap[0];
		while (t->slot[b->pos] != UINT16_MAX) /* m prime: every slot is on the list */
			b->pos = (uint32_t)((b->pos + (uint64_t)b->skip) % t->m);
		t->slot[b->pos] = (uint16_t)b->idx;
		b->pos = (uint32_t)((b->pos + (uint64_t)b->skip) % t->m);
		filled++;
		if (++b->k == b->q)
			heap[0] = heap[--nh];
		heap_down(heap, nh, 0);
	}
	free(heap);
	free(f);
	*out = t;
	return 0;
out_free:
	free(heap);
	free(f);
	ebpf_maglev_free(t);
	return ret;
}

void ebpf_maglev_free(struct ebpf_maglev *t)
{
	if (!t)
		return;
	free(t->slot);
	free(t->be);
	free(t);
}

uint32_t ebpf_maglev_moved(const struct ebpf_maglev *a, const struct ebpf_maglev *b)
{
	uint32_t moved = 0;

	if (a->m != b->m)
		return a->m;
	for (uint32_t s = 0; s < a->m; s++)
		if (addr_cmp(&a->be[a->slot[s]].addr, &b->be[b->slot[s]].addr))
			moved++;
	return moved;
}

int ebpf_lb_addr_parse(const char *ip, uint16_t port, struct ebpf_lb_addr *out)
{
	struct in_addr v4;

	memset(out, 0, sizeof(*out));
	out->port = port;
	if (inet_pton(AF_INET, ip, &v4) == 1) {
		out->ip[10] = 0xff;
		out->ip[11] = 0xff;
		memcpy(&out->ip[12], &v4, 4);
		return 0;
	}
	if (inet_pton(AF_INET6, ip, out->ip) == 1)
		return 0;
	return -EINVAL;
}

bool ebpf_lb_addr_is_v4(const struct ebpf_lb_addr *a)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(a->ip, mapped, sizeof(mapped));
}

void ebpf_lb_addr_format(const struct ebpf_lb_addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (ebpf_lb_addr_is_v4(a)) {
		inet_ntop(AF_INET, &a->ip[12], ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, a->port);
	} else {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, a->port);
	}
}
