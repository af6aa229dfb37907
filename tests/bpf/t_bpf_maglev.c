// SPDX-License-Identifier: MIT
/*
 * tests/bpf/t_bpf_maglev.c - the weighted Maglev builder (bpf/maglev.c):
 * the prime ladder, every slot filled, shares exact to a slot and within 1 %
 * of the weights, the same table for the same set in any order, the size in
 * use kept, and the disruption when one of N equal backends goes
 * (reported: the excess over the 1/N that must move).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/ebpf_lb.h"
#include "t_helpers.h"

static bool is_prime(uint32_t m)
{
	if (m < 2)
		return false;
	for (uint32_t d = 2; (uint64_t)d * d <= m; d++)
		if (m % d == 0)
			return false;
	return true;
}

static uint64_t rnd_state = 0x1234567;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 7;
	rnd_state ^= rnd_state << 17;
	return rnd_state;
}

/* n backends with random IPv4 addresses (distinct: the index is in them) */
static void make(struct ebpf_lb_backend *be, int n, uint32_t weight)
{
	uint32_t base = (uint32_t)rnd() & 0xfff00000u;

	for (int i = 0; i < n; i++) {
		char ip[32];
		uint32_t a = base | (uint32_t)i;

		snprintf(ip, sizeof(ip), "%u.%u.%u.%u", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
			 a & 255);
		T_ASSERT(!ebpf_lb_addr_parse(ip, 8080, &be[i].addr), "%s", ip);
		be[i].weight = weight;
	}
}

/* the invariants of any built table; returns the per-backend slot counts (caller frees) */
static uint32_t *check_table(const struct ebpf_maglev *t)
{
	uint32_t *cnt = calloc(t->n + 1, sizeof(*cnt));
	uint64_t total = 0, wmin = 0;

	for (uint32_t i = 0; i < t->n; i++) {
		total += t->be[i].weight;
		if (t->be[i].weight && (!wmin || t->be[i].weight < wmin))
			wmin = t->be[i].weight;
		if (i)
			T_ASSERT(memcmp(&t->be[i - 1].addr, &t->be[i].addr,
					sizeof(t->be[i].addr)) != 0,
				 "sorted and distinct");
	}
	if (!total) {
		T_ASSERT(t->m == 0, "no weight, no table (m %u)", t->m);
		return cnt;
	}
	T_ASSERT(is_prime(t->m), "m %u prime", t->m);
	T_ASSERT(t->m >= ebpf_maglev_size((total + wmin - 1) / wmin, false), "m %u big enough",
		 t->m);
	for (uint32_t s = 0; s < t->m; s++) {
		T_ASSERT(t->slot[s] < t->n, "slot %u filled (%u)", s, t->slot[s]);
		T_ASSERT(t->be[t->slot[s]].weight > 0, "slot %u to a weighted backend", s);
		cnt[t->slot[s]]++;
	}
	for (uint32_t i = 0; i < t->n; i++) {
		/* |q - m w / W| < 1, in integers: |q W - m w| < W */
		int64_t d = (int64_t)cnt[i] * (int64_t)total - (int64_t)t->m * t->be[i].weight;

		T_ASSERT(llabs(d) < (long long)total,
			 "backend %u: %u slots of %u for weight %u/%llu", i, cnt[i], t->m,
			 t->be[i].weight, (unsigned long long)total);
		if (t->be[i].weight && t->m >= 100 * ((total + wmin - 1) / wmin)) {
			double want = (double)t->m * t->be[i].weight / (double)total;

			T_ASSERT(fabs(cnt[i] / want - 1) < 0.01,
				 "backend %u share within 1 %%: %u vs %.2f", i, cnt[i], want);
		}
	}
	return cnt;
}

static struct ebpf_maglev *build(const struct ebpf_lb_backend *be, size_t n, bool consistent,
				 uint32_t m_prev)
{
	struct ebpf_maglev *t;
	int ret = ebpf_maglev_build(be, n, consistent, m_prev, &t);

	T_ASSERT(ret == 0, "build of %zu: %s", n, strerror(-ret));
	free(check_table(t));
	return t;
}

static void test_ladder(void)
{
	uint32_t prev = 0;

	T_ASSERT_EQ(ebpf_maglev_size(0, false), 0);
	for (uint64_t u = 1; u < 5000; u++) {
		uint32_t m = ebpf_maglev_size(u, false), c = ebpf_maglev_size(u, true);

		T_ASSERT(is_prime(m) && is_prime(c), "units %llu: %u %u", (unsigned long long)u, m,
			 c);
		T_ASSERT(m >= prev, "monotonic");
		T_ASSERT(m >= 100 * u || m == EBPF_LB_MAX_SLOTS, "units %llu: m %u",
			 (unsigned long long)u, m);
		T_ASSERT(c >= 1000 * u || c == EBPF_LB_MAX_SLOTS, "units %llu: m %u",
			 (unsigned long long)u, c);
		prev = m;
	}
	T_ASSERT_EQ(ebpf_maglev_size(3, false), 509);
	T_ASSERT_EQ(ebpf_maglev_size(3, true), 4093);
	T_ASSERT_EQ(ebpf_maglev_size(1310, false), 131071);
	T_ASSERT_EQ(ebpf_maglev_size(65535, false), 131071);
}

static void test_edges(void)
{
	struct ebpf_lb_backend be[4];
	struct ebpf_maglev *t;

	/* nothing, or nothing with a weight: m = 0 (the kernel refuses the connect) */
	T_ASSERT(!ebpf_maglev_build(NULL, 0, false, 0, &t), "empty");
	T_ASSERT(t->m == 0 && t->n == 0, "empty table");
	ebpf_maglev_free(t);
	make(be, 3, 0);
	t = build(be, 3, false, 0);
	T_ASSERT(t->m == 0 && t->n == 3, "all drained: m %u", t->m);
	ebpf_maglev_free(t);
	/* the same backend twice */
	make(be, 3, 1);
	be[2].addr = be[0].addr;
	T_ASSERT_EQ(ebpf_maglev_build(be, 3, false, 0, &t), -EINVAL);
	/* the same address, another port: two backends */
	be[2].addr.port = 9090;
	t = build(be, 3, false, 0);
	ebpf_maglev_free(t);
	T_ASSERT_EQ(ebpf_maglev_build(be, EBPF_LB_MAX_BACKENDS + 1, false, 0, &t), -EINVAL);
	ebpf_maglev_free(NULL);
	/* one backend owns everything */
	t = build(be, 1, false, 0);
	T_ASSERT(t->m == 251, "one backend: m %u", t->m);
	ebpf_maglev_free(t);
	/* a drained backend stays listed and owns nothing */
	make(be, 4, 1);
	be[1].weight = 0;
	t = build(be, 4, false, 0);
	T_ASSERT(t->n == 4 && t->m == 509, "3 weighted of 4: n %u m %u", t->n, t->m);
	ebpf_maglev_free(t);
}

static void test_addr(void)
{
	struct ebpf_lb_addr a;
	char buf[64];

	T_ASSERT(!ebpf_lb_addr_parse("10.96.0.10", 53, &a) && ebpf_lb_addr_is_v4(&a), "v4");
	ebpf_lb_addr_format(&a, buf, sizeof(buf));
	T_ASSERT(!strcmp(buf, "10.96.0.10:53"), "%s", buf);
	T_ASSERT(!ebpf_lb_addr_parse("::ffff:10.96.0.10", 53, &a) && ebpf_lb_addr_is_v4(&a),
		 "mapped");
	T_ASSERT(!ebpf_lb_addr_parse("fd00::a", 80, &a) && !ebpf_lb_addr_is_v4(&a), "v6");
	ebpf_lb_addr_format(&a, buf, sizeof(buf));
	T_ASSERT(!strcmp(buf, "[fd00::a]:80"), "%s", buf);
	T_ASSERT_EQ(ebpf_lb_addr_parse("10.96.0.300", 1, &a), -EINVAL);
	T_ASSERT_EQ(ebpf_lb_addr_parse("", 1, &a), -EINVAL);
	T_ASSERT_EQ(ebpf_lb_addr_parse("10.96.0.1:80", 1, &a), -EINVAL);
}

static void test_weights(void)
{
	static const uint32_t w[][5] = {
		{1, 2, 3, 0, 0}, {1, 1, 1, 1, 7}, {100, 101, 99, 0, 0},	 {1, 1000, 0, 0, 0},
		{5, 5, 5, 5, 5}, {3, 1, 4, 1, 5}, {1000000, 1, 0, 0, 0},
	};

	for (size_t c = 0; c < sizeof(w) / sizeof(w[0]); c++) {
		struct ebpf_lb_backend be[5];
		int n = 0;

		make(be, 5, 1);
		for (int i = 0; i < 5 && w[c][i]; i++, n++)
			be[i].weight = w[c][i];
		for (int cons = 0; cons < 2; cons++)
			ebpf_maglev_free(
				build(be, (size_t)n, cons, 0)); /* check_table asserts the shares */
	}
}

static void test_order(void)
{
	for (int round = 0; round < 20; round++) {
		int n = 1 + (int)(rnd() % 40);
		struct ebpf_lb_backend be[40], sh[40];
		struct ebpf_maglev *a, *b;

		make(be, n, 1);
		for (int i = 0; i < n; i++)
			be[i].weight = 1 + (uint32_t)(rnd() % 9);
		memcpy(sh, be, sizeof(be));
		for (int i = n - 1; i > 0; i--) {
			int j = (int)(rnd() % (uint64_t)(i + 1));
			struct ebpf_lb_backend x = sh[i];

			sh[i] = sh[j];
			sh[j] = x;
		}
		a = build(be, (size_t)n, round & 1, 0);
		b = build(sh, (size_t)n, round & 1, 0);
		T_ASSERT(a->m == b->m && !memcmp(a->slot, b->slot, a->m * sizeof(*a->slot)) &&
				 !memcmp(a->be, b->be, a->n * sizeof(*a->be)),
			 "same set, other order, same table (round %d)", round);
		T_ASSERT_EQ(ebpf_maglev_moved(a, b), 0);
		ebpf_maglev_free(a);
		ebpf_maglev_free(b);
	}
}

/* the size in use is kept while it fits, so a removal is not a whole remap */
static void test_keep_size(void)
{
	struct ebpf_lb_backend be[8];
	struct ebpf_maglev *t;

	make(be, 8, 1);
	t = build(be, 2, false, 509); /* needs 251: 509 is kept */
	T_ASSERT_EQ(t->m, 509);
	ebpf_maglev_free(t);
	t = build(be, 8, false, 509); /* needs 1021: grows */
	T_ASSERT_EQ(t->m, 1021);
	ebpf_maglev_free(t);
	t = build(be, 1, false, 4093); /* 16x too big: shrinks */
	T_ASSERT_EQ(t->m, 251);
	ebpf_maglev_free(t);
	t = build(be, 2, false, 600); /* not a ladder size: ignored */
	T_ASSERT_EQ(t->m, 251);
	ebpf_maglev_free(t);
}

/*
 * Removing one of N equal backends: the removed one's 1/N must
 * move; the excess over that is the builder's disruption. Deterministic (fixed
 * seed): the mean excess over the sets must stay within 1 % for affinity
 * tables (m >= 1000 N), the ones whose consistency matters; the random-key
 * tables (m >= 100 N) and the worst sets are reported.
 */
static void test_disruption(void)
{
	static const int ns[] = {3, 4, 5, 8, 10, 20, 50, 100, 300};
	const int sets = 12;

	for (size_t c = 0; c < sizeof(ns) / sizeof(ns[0]); c++) {
		for (int cons = 1; cons >= 0; cons--) {
			double sum = 0, worst = 0;
			int n = ns[c];
			uint32_t m = 0;

			for (int s = 0; s < sets; s++) {
				struct ebpf_lb_backend *be = calloc((size_t)n, sizeof(*be));
				struct ebpf_maglev *a, *b;
				double ex;
				int r = (int)(rnd() % (uint64_t)n);

				make(be, n, 1);
				a = build(be, (size_t)n, cons, 0);
				m = a->m;
				be[r] = be[n - 1];
				b = build(be, (size_t)n - 1, cons, a->m);
				T_ASSERT(b->m == a->m, "size kept on removal");
				/* only slots of the removed one, and a few more, move */
				ex = (double)ebpf_maglev_moved(a, b) / a->m - 1.0 / n;
				T_ASSERT(ex > -1.0 / a->m * n,
					 "at least the removed backend's slots move");
				sum += ex;
				if (ex > worst)
					worst = ex;
				ebpf_maglev_free(a);
				ebpf_maglev_free(b);
				free(be);
			}
			/* (adding one back moves the same slots: moved() is symmetric) */
			printf("# disruption %s N=%d m=%u: removing one moves 1/N + %.2f %% (worst set "
			       "%.2f %%)\n",
			       cons ? "affinity" : "random  ", n, m, 100 * sum / sets, 100 * worst);
			if (cons)
				T_ASSERT(sum / sets <= 0.01, "N=%d: mean excess %.4f over 1 %%", n,
					 sum / sets);
		}
	}
}

static void test_big(void)
{
	int n = EBPF_LB_MAX_BACKENDS;
	struct ebpf_lb_backend *be = calloc((size_t)n, sizeof(*be));
	struct ebpf_maglev *t;

	make(be, n, 1);
	t = build(be, (size_t)n, false, 0);
	T_ASSERT(t->m == EBPF_LB_MAX_SLOTS, "the top of the ladder: %u", t->m);
	ebpf_maglev_free(t);
	free(be);
}

int main(void)
{
	test_ladder();
	test_edges();
	test_addr();
	test_weights();
	test_order();
	test_keep_size();
	test_disruption();
	test_big();
	printf("PASS: t_bpf_maglev\n");
	return 0;
}
