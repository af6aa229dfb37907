/* SPDX-License-Identifier: MIT */
/*
 * s3/ratelimit.h - the token buckets of the bandwidth caps (--limit-upload,
 * --limit-download); private to s3/, used by the loop of http.c.
 *
 * The property: no 1 s window carries more than the cap on the connection
 * itself, counted where the bytes cross it. The bucket only sees the bytes
 * that pass the curl callbacks, so a bucket also sizes the buffers between
 * the callbacks and the connection, and the cap pays for them out of one
 * budget (per mille of a second's cap, ratelimit.c):
 *
 *   refill 930 + bucket 20 + kernel socket buffers 30 + curl buffers 10
 *   + one curl buffer of debt (downloads) <= 1000
 *
 * A second on the wire is at most: what the bucket earns in it (refilled at
 * 93 % of the cap), what it held when the second began (at most 1/50 s of
 * the cap, 4 KiB at least), what sat in buffers below the callbacks when the
 * second ended and not when it began (the receive or send buffers of every
 * connection, 3 % of the cap together, as SO_RCVBUF/SO_SNDBUF: the kernel
 * doubles what it is given, socket(7), and the sizes here are what it ends up
 * with; and each transfer's curl buffer, 1 % of the cap together: data read
 * and held while a download is paused, data an upload handed curl and the
 * socket has not taken), and a download's last callback, which may spend more
 * than the bucket holds (one curl buffer). Below about 140 KB/s of cap per
 * connection the floors (the kernel's 4 KiB socket buffers, curl's 1 KiB
 * buffer) are more than these shares and the bound loosens by them.
 *
 * The price: the receive windows of all connections together are 3 % of the
 * cap, so a capped download reaches its cap on links up to about 20 ms round
 * trip; beyond that the windows bound it below the cap.
 *
 * Uploads take what the bucket holds (the read callback hands curl no more,
 * and at most one curl buffer at a time); downloads pause while it is empty.
 * Times are CLOCK_MONOTONIC milliseconds with fractions (refills are often
 * less than 1 ms apart). A bucket belongs to the loop thread: no locking.
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
	int sockbuf;	/* to give SO_SNDBUF/SO_RCVBUF (the kernel doubles it), 0: no cap */
	size_t iobuf;	/* a transfer's curl buffer and the most one callback passes */
};

/*
 * A bucket for @cap bytes per second (0: no cap, every call lets all
 * through) over at most @conns connections at once (> 0), empty.
 */
void s3_bucket_init(struct s3_bucket *b, uint64_t cap, unsigned int conns);

/* whether @b caps anything */
static inline bool s3_bucket_on(const struct s3_bucket *b)
{
	return b->rate > 0;
}

/* Add what was earned since the last refill, at @now_ms (the first call only starts the clock). */
void s3_bucket_refill(struct s3_bucket *b, double now_ms);

/* Of @want bytes, how many may go now (0: pause), taken out of the bucket; at most iobuf. */
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
