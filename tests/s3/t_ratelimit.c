// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_ratelimit.c - the token buckets of the bandwidth caps
 * (s3/ratelimit.h) on a simulated clock, so nothing here depends on how busy
 * the machine is:
 *   - a second's bytes fit the cap: what the bucket earns and holds, every
 *     connection's kernel buffer as the kernel ends up with it (twice what
 *     SO_RCVBUF/SO_SNDBUF is given), every transfer's curl buffer and one
 *     more of debt, for caps from 140 KB/s per connection up;
 *   - below that the floors hold (4 KiB kernel buffers, 1 KiB curl buffers);
 *   - downloads driven as the loop drives them (spend while not empty, pause,
 *     resume when not empty) and uploads (take) never pass more than the
 *     bucket earns and holds, plus one buffer of debt, in any 1 s window;
 *   - no cap lets everything through.
 * tests/s3/t_s3_faults.c checks the same property on the wire, at the proxy.
 */
#include <stdio.h>
#include <string.h>

#include "s3/ratelimit.h"
#include "t_helpers.h"

#define SIM_MS	 5000 /* simulated time */
#define STEP_US	 50   /* one pass of the loop */
#define NSTEPS	 (SIM_MS * 1000 / STEP_US)
#define WIN	 (1000 * 1000 / STEP_US) /* 1 s in steps */
#define MAXCONNS 64

static uint64_t moved[NSTEPS];

static uint64_t rnd = 88172645463325252ull;

static uint64_t xorshift(void)
{
	rnd ^= rnd << 13;
	rnd ^= rnd >> 7;
	rnd ^= rnd << 17;
	return rnd;
}

/* the most any 1 s window of moved[] carried */
static uint64_t busiest_second(void)
{
	uint64_t win = 0, max = 0;

	for (long i = 0; i < NSTEPS; i++) {
		win += moved[i];
		if (i >= WIN)
			win -= moved[i - WIN];
		if (win > max)
			max = win;
	}
	return max;
}

/* A second on the wire at its worst (ratelimit.h), for @b made for @conns. */
static double worst_second(const struct s3_bucket *b, unsigned int conns)
{
	return b->rate * 1000 + b->burst + conns * 2.0 * b->sockbuf + conns * (double)b->iobuf +
	       (double)b->iobuf;
}

static void budget(void)
{
	const unsigned int conns[] = {3, 6, 10, 18, 34};
	const uint64_t caps[] = {4u << 20, 64u << 20, 1ull << 30, 10ull << 30};
	struct s3_bucket b;

	for (size_t i = 0; i < sizeof(conns) / sizeof(conns[0]); i++) {
		uint64_t low = 140000ull * conns[i];

		for (size_t j = 0; j <= sizeof(caps) / sizeof(caps[0]); j++) {
			uint64_t cap = j ? caps[j - 1] : low;

			if (cap < low)
				continue;
			s3_bucket_init(&b, cap, conns[i]);
			T_ASSERT(s3_bucket_on(&b), "cap %llu", (unsigned long long)cap);
			T_ASSERT(worst_second(&b, conns[i]) <= (double)cap,
				 "cap %llu over %u connections: a second may carry %.0f",
				 (unsigned long long)cap, conns[i], worst_second(&b, conns[i]));
			/* and the cap is mostly used: the bucket earns 93 % of it */
			T_ASSERT(b.rate * 1000 >= 0.9 * (double)cap, "rate %.0f of cap %llu",
				 b.rate * 1000, (unsigned long long)cap);
			T_ASSERT(b.sockbuf > 0 && b.iobuf >= 1024, "buffers %d, %zu", b.sockbuf,
				 b.iobuf);
		}
	}
	/* below 140 KB/s per connection, the floors */
	s3_bucket_init(&b, 100000, 10);
	T_ASSERT(2 * b.sockbuf >= 4096, "kernel buffer %d", 2 * b.sockbuf);
	T_ASSERT(b.iobuf >= 1024 && b.burst >= 4096, "curl buffer %zu, bucket %.0f", b.iobuf,
		 b.burst);
	printf("ok: a second's bytes fit the cap (4 MiB/s over 6 connections: %.0f of %u)\n",
	       (s3_bucket_init(&b, 4u << 20, 6), worst_second(&b, 6)), 4u << 20);
}

/* downloads as http.c drives them: @k transfers, each handed up to iobuf at a time */
static uint64_t downloads(uint64_t cap, unsigned int k)
{
	struct s3_bucket b;
	bool paused[MAXCONNS] = {0};
	uint64_t total = 0;

	memset(moved, 0, sizeof(moved));
	s3_bucket_init(&b, cap, k + 2);
	for (long i = 0; i < NSTEPS; i++) {
		double now = 1.0 + (double)i * STEP_US / 1000.0;

		s3_bucket_refill(&b, now);
		if (i % (WIN / 2) < WIN / 20)
			continue; /* idle 50 ms every 500 ms: the bucket fills up */
		for (unsigned int t = 0; t < k; t++) {
			size_t n = 1 + xorshift() % b.iobuf;

			if (paused[t]) {
				if (s3_bucket_empty(&b))
					continue;
				paused[t] = false;
			}
			if (s3_bucket_empty(&b)) {
				paused[t] = true;
				continue;
			}
			s3_bucket_spend(&b, n);
			T_ASSERT(b.tokens > -(double)b.iobuf, "debt %.0f, buffer %zu", -b.tokens,
				 b.iobuf);
			moved[i] += n;
			total += n;
		}
	}
	T_ASSERT(busiest_second() <= b.rate * 1000 + b.burst + (double)b.iobuf,
		 "download cap %llu, %u transfers: a second passed %llu", (unsigned long long)cap,
		 k, (unsigned long long)busiest_second());
	return total;
}

/* uploads: @k transfers, each asking for up to 16 KiB (curl's upload buffer) */
static uint64_t uploads(uint64_t cap, unsigned int k)
{
	struct s3_bucket b;
	uint64_t total = 0;

	memset(moved, 0, sizeof(moved));
	s3_bucket_init(&b, cap, k + 2);
	for (long i = 0; i < NSTEPS; i++) {
		s3_bucket_refill(&b, 1.0 + (double)i * STEP_US / 1000.0);
		if (i % (WIN / 2) < WIN / 20)
			continue; /* idle 50 ms every 500 ms: the bucket fills up */
		for (unsigned int t = 0; t < k; t++) {
			size_t want = 1 + xorshift() % 16384, n = s3_bucket_take(&b, want);

			T_ASSERT(n <= want && n <= b.iobuf, "took %zu of %zu (buffer %zu)", n, want,
				 b.iobuf);
			T_ASSERT(b.tokens >= 0, "an upload took more than the bucket held");
			moved[i] += n;
			total += n;
		}
	}
	T_ASSERT(busiest_second() <= b.rate * 1000 + b.burst,
		 "upload cap %llu, %u transfers: a second passed %llu", (unsigned long long)cap, k,
		 (unsigned long long)busiest_second());
	return total;
}

static void simulated(void)
{
	const uint64_t caps[] = {1u << 20, 4u << 20, 100u << 20};
	const unsigned int ks[] = {1, 4, 8, 32};

	for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		for (size_t j = 0; j < sizeof(ks) / sizeof(ks[0]); j++) {
			double down = (double)downloads(caps[i], ks[j]) / (SIM_MS / 1000.0);
			double up = (double)uploads(caps[i], ks[j]) / (SIM_MS / 1000.0);

			/* the transfers have data but for the idle spells: the cap is what holds them */
			T_ASSERT(down >= 0.85 * (double)caps[i] && up >= 0.85 * (double)caps[i],
				 "cap %llu, %u transfers: %.0f down, %.0f up",
				 (unsigned long long)caps[i], ks[j], down, up);
		}
	}
	printf("ok: simulated downloads and uploads keep every 1 s window under the bucket\n");
}

static void no_cap(void)
{
	struct s3_bucket b;

	s3_bucket_init(&b, 0, 10);
	T_ASSERT(!s3_bucket_on(&b) && b.sockbuf == 0, "no cap is off");
	s3_bucket_refill(&b, 5.0);
	T_ASSERT_EQ(s3_bucket_take(&b, 1u << 20), 1u << 20);
	T_ASSERT(!s3_bucket_empty(&b) && s3_bucket_holds(&b, 1e12), "no cap holds all");
	T_ASSERT_EQ(s3_bucket_wait(&b, 1e12), 0);
	printf("ok: no cap lets everything through\n");
}

int main(void)
{
	budget();
	simulated();
	no_cap();
	return 0;
}
