// SPDX-License-Identifier: MIT
/*
 * s3/ratelimit.c - token buckets for the bandwidth caps, and the sizes of
 * the buffers below them, out of one budget (ratelimit.h).
 * tests/s3/t_s3_faults.c checks the caps at the proxy, every 1 s window.
 */
#include <assert.h>
#include <string.h>

#include "ratelimit.h"

/* A second's budget, in per mille of the cap (ratelimit.h). */
#define REFILL_PM  930 /* what the bucket earns: headroom for headers and retransmits */
#define BURST_PM   20  /* what it holds */
#define SOCKBUF_PM 30  /* every connection's kernel buffer together */
#define IOBUF_PM   10  /* every transfer's curl buffer together, and one more of debt */
static_assert(REFILL_PM + BURST_PM + SOCKBUF_PM + IOBUF_PM + IOBUF_PM / 2 <= 1000,
	      "a second's bytes fit the cap (conns >= 2)");

#define BURST_MIN   4096
#define SOCKBUF_MIN 4096 /* what the kernel ends up with (it doubles what it is given) */
#define SOCKBUF_MAX (8u << 20)
#define IOBUF_MIN   1024 /* curl's smallest CURLOPT_BUFFERSIZE */
#define IOBUF_MAX   65536

static uint64_t clamp(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void s3_bucket_init(struct s3_bucket *b, uint64_t cap, unsigned int conns)
{
	assert(conns > 0);
	memset(b, 0, sizeof(*b));
	if (!cap)
		return;
	b->rate = (double)cap * REFILL_PM / 1000.0 / 1000.0;
	b->burst = (double)cap * BURST_PM / 1000.0;
	if (b->burst < BURST_MIN)
		b->burst = BURST_MIN;
	b->sockbuf = (int)(clamp(cap * SOCKBUF_PM / 1000 / conns, SOCKBUF_MIN, SOCKBUF_MAX) / 2);
	b->iobuf = (size_t)clamp(cap * IOBUF_PM / 1000 / conns, IOBUF_MIN, IOBUF_MAX);
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
	if (want > b->iobuf)
		want = b->iobuf;
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
