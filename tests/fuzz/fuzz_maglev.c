// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_maglev.c - the Maglev builder (bpf/maglev.c) gets backend
 * sets from outside (EndpointSlices, computed weights): any set must give a
 * table with every slot filled by a backend that has a weight, shares within
 * a slot of the weights, the same table for the same set in another order,
 * and, for equal weights with the size kept, a removal that moves little
 * more than the removed backend's slots.
 *
 * Input: byte 0 flags (bit 0: affinity table, bit 1: IPv6 addresses, bits
 * 2-3: a previous size to keep), then 8 bytes per backend: 4 address bytes,
 * 2 port bytes, 2 weight bytes, of which the low 4 bits count (at most 32
 * backends, so that a run takes milliseconds).
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/ebpf_lb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXN 32

static void check(const struct ebpf_maglev *t, const struct ebpf_lb_backend *in, size_t n)
{
	uint32_t cnt[MAXN] = {0};
	uint64_t total = 0;

	assert(t->n == n);
	for (size_t i = 0; i < n; i++) {
		total += t->be[i].weight;
		if (i)
			assert(memcmp(&t->be[i - 1].addr, &t->be[i].addr, sizeof(t->be[i].addr)));
	}
	(void)in;
	if (!total) {
		assert(t->m == 0);
		return;
	}
	assert(t->m >= 251 && t->m <= EBPF_LB_MAX_SLOTS);
	for (uint32_t s = 0; s < t->m; s++) {
		assert(t->slot[s] < n);
		assert(t->be[t->slot[s]].weight > 0);
		cnt[t->slot[s]]++;
	}
	for (size_t i = 0; i < n; i++) {
		int64_t d = (int64_t)cnt[i] * (int64_t)total - (int64_t)t->m * t->be[i].weight;

		assert(llabs(d) < (long long)total);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint32_t prev[4] = {0, 509, 4093, 600};
	struct ebpf_lb_backend be[MAXN], rev[MAXN];
	struct ebpf_maglev *a, *b;
	bool consistent, equal = true, dup = false;
	uint32_t m_prev;
	size_t n = 0;
	int ret;

	if (size < 1)
		return 0;
	consistent = data[0] & 1;
	m_prev = prev[(data[0] >> 2) & 3];
	for (size_t off = 1; off + 8 <= size && n < MAXN; off += 8, n++) {
		const uint8_t *p = data + off;

		memset(&be[n], 0, sizeof(be[n]));
		if (data[0] & 2) {
			be[n].addr.ip[0] = 0xfd;
			memcpy(&be[n].addr.ip[12], p, 4);
		} else {
			be[n].addr.ip[10] = be[n].addr.ip[11] = 0xff;
			memcpy(&be[n].addr.ip[12], p, 4);
		}
		be[n].addr.port = (uint16_t)(p[4] << 8 | p[5]);
		be[n].weight = p[7] & 15u;
		if (be[n].weight != be[0].weight)
			equal = false;
		for (size_t j = 0; j < n; j++)
			if (!memcmp(&be[j].addr, &be[n].addr, sizeof(be[n].addr)))
				dup = true;
	}
	ret = ebpf_maglev_build(be, n, consistent, m_prev, &a);
	if (dup) {
		assert(ret == -EINVAL);
		return 0;
	}
	assert(ret == 0);
	check(a, be, n);
	/* the same set backwards: the same table */
	for (size_t i = 0; i < n; i++)
		rev[i] = be[n - 1 - i];
	ret = ebpf_maglev_build(rev, n, consistent, m_prev, &b);
	assert(ret == 0);
	assert(a->m == b->m && !memcmp(a->be, b->be, n * sizeof(*a->be)));
	assert(!a->m || !memcmp(a->slot, b->slot, a->m * sizeof(*a->slot)));
	ebpf_maglev_free(b);
	/*
	 * One of n >= 2 equal backends removed, the size kept: its 1/n of the
	 * slots must move, and the cascade of the others stays small (measured
	 * on random sets: under 3 %; the bound here is what no set may exceed).
	 */
	if (equal && n >= 2 && be[0].weight) {
		ret = ebpf_maglev_build(be + 1, n - 1, consistent, a->m, &b);
		assert(ret == 0);
		check(b, be + 1, n - 1);
		assert(b->m == a->m);
		uint32_t moved = ebpf_maglev_moved(a, b);

		assert(moved * (uint64_t)n + n >= a->m); /* at least the removed one's share */
		assert((double)moved / a->m <= 1.0 / n + 0.10);
		ebpf_maglev_free(b);
	}
	ebpf_maglev_free(a);
	return 0;
}
