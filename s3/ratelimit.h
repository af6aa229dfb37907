/* SPDX-License-Identifier: MIT */
/*
 * s3/ratelimit.h - the token buckets of the bandwidth caps (--limit-upload,
 * --limit-download); private to s3/, used by the loop of http.c.
 *
 * A bucket is refilled at 93 % of the cap and holds at most 1/50 s of it
 * (4 KiB at least), starting empty: no 1 s window can carry more than the
 * cap. Uploads take what the bucket holds (the read callback hands curl no
 * more); downloads pause while it is empty. Times are CLOCK_MONOTONIC
 * milliseconds with fractions (refills are often less than 1 ms apart).
 * A bucket belongs to the loop thread: no locking.
 */
#ifndef FERRY_S3_RATELIMIT_H
#define FERRY_S3_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct s3_bucket {
	double rate;  /* bytes per ms, 0: no cap */
	double burst; /* the most it holds */
	double tokens;
	double last_ms; /* of the last refill, 0: none yet */
};

/* A bucket for @cap bytes per second (0: no cap, every call lets all through). */
void s3_bucket_init(struct s3_bucket *b, uint64_t cap);

/* whether @b caps anything */
static inline bool s3_bucket_on(const struct s3_bucket *b)
{
	return b->rate > 0;
}

/* Add what was earned since the last refill, at @now_ms. */
void s3_bucket_refill(struct s3_bucket *b, double now_ms);

/* Of @want bytes, how many may go now (0: pause), taken out of the bucket. */
size_t s3_bucket_take(struct s3_bucket *b, size_t want);

/* Whether @b holds at least @want (a paused transfer may resume). */
bool s3_bucket_holds(const struct s3_bucket *b, double want);

/* Whether @b is a cap with nothing left (downloads pause). */
bool s3_bucket_empty(const struct s3_bucket *b);

/* Take @n bytes that came in already (downloads: the bucket may go negative). */
void s3_bucket_spend(struct s3_bucket *b, size_t n);

/* Milliseconds until @b holds @want again (0: it does). */
long s3_bucket_wait(const struct s3_bucket *b, double want);

#endif /* FERRY_S3_RATELIMIT_H */
