// SPDX-License-Identifier: MIT
/*
 * s3/ratelimit.c - token buckets for the bandwidth caps (ratelimit.h).
 * tests/s3/t_s3_faults.c checks the caps at the proxy, every 1 s window.
 */
#include <string.h>

#include "ratelimit.h"

#define REFILL_SHARE 0.93 /* of the cap: headroom for headers and retransmits */
#define BURST_PER_S  50	  /* the bucket holds 1/50 s of the cap */
#define BURST_MIN    4096

void s3_bucket_init(struct s3_bucket *b, uint64_t cap)
{
	memset(b, 0, sizeof(*b));
	if (!cap)
		return;
	b->rate = (double)cap * REFILL_SHARE / 1000.0;
	b->burst = (double)cap / BURST_PER_S;
	if (b->burst < BURST_MIN)
		b->burst = BURST_MIN;
}

void s3_bucket_refill(struct s3_bucket *b, double now_ms)
{
	if (!s3_bucket_on(b))
		return;
	if (b->last_ms == 0) {
		b->last_ms = now_ms;
		return;
	}
	b->tokens += (now_ms - b->last_ms) * b->rate;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last_ms = now_ms;
}

size_t s3_bucket_take(struct s3_bucket *b, size_t want)
{
	if (!s3_bucket_on(b))
		return want;
	if (b->tokens < 1)
		return 0;
	if ((double)want > b->tokens)
		want = (size_t)b->tokens;
	b->tokens -= (double)want;
	return want;
}

bool s3_bucket_holds(const struct s3_bucket *b, double want)
{
	return !s3_bucket_on(b) || b->tokens >= want;
}

bool s3_bucket_empty(const struct s3_bucket *b)
{
	return s3_bucket_on(b) && b->tokens <= 0;
}

void s3_bucket_spend(struct s3_bucket *b, size_t n)
{
	if (s3_bucket_on(b))
		b->tokens -= (double)n;
}

long s3_bucket_wait(const struct s3_bucket *b, double want)
{
	double ms;

	if (s3_bucket_holds(b, want))
		return 0;
	ms = (want - b->tokens) / b->rate;
	return ms < 1 ? 1 : (long)ms + 1;
}
