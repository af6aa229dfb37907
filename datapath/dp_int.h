/* SPDX-License-Identifier: MIT */
/*
 * datapath/dp_int.h - what every datapath file uses: logging, failure
 * detail, the test points, and byte helpers (little-endian fields, hex,
 * ids, the zero test, array growth, clocks). Private to datapath/; each
 * component has a private header of its own beside its .c (crypt.h,
 * pool.h, queue.h, blob.h, chunkidx.h, packfmt.h, repo_int.h, manifest.h,
 * fetch.h, objwriter.h, packer.h, journal.h, blkdev.h, uring.h, job.h,
 * scan.h, dp_json.h).
 */
#ifndef FERRY_DP_INT_H
#define FERRY_DP_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include "dp.h"

struct s3_store;

/* ---------------------------------------------------------------- logging */

void dp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...)   dp_log(DP_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  dp_log(DP_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  dp_log(DP_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) dp_log(DP_LOG_DEBUG, __VA_ARGS__)

/* Set the calling thread's dp_last_error(); returns @err. */
int dp_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dp_clear_error(void);

/* Fill a caller's struct dp_err (NULL: nothing to do), returning @code; dp_err_clear(): 0 and "". */
int dp_err_set(struct dp_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void dp_err_clear(struct dp_err *e);
/*
 * A call's outcome into @e: a failure (@code, not 0) with the calling
 * thread's detail, or 0 and "" for a success; returns @code.
 */
int dp_err_keep(struct dp_err *e, int code);

/* The store's detail of its last failure on this thread, for messages. */
const char *dp_store_detail(void);

/* ------------------------------------------------------------- test hooks */

#ifdef FERRY_TEST_HOOKS
/* FERRY_TEST_CRASH_AT=<point>[:<n>]: SIGKILL ourselves the n-th time (default 1st). */
void dp_test_point(const char *point);
#else
static inline void dp_test_point(const char *point)
{
	(void)point;
}
#endif

/* ------------------------------------------------------------------ bytes */

static inline void dp_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void dp_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void dp_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t dp_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t dp_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dp_get_le64(const uint8_t *p)
{
	return (uint64_t)dp_get_le32(p) | (uint64_t)dp_get_le32(p + 4) << 32;
}

#define DP_ID_LEN 32

/* @out gets 2*@len hex digits and a NUL */
void dp_hex(const uint8_t *in, size_t len, char *out);
/* 0, or -EINVAL if @hex is not 2*@len hex digits */
int dp_unhex(const char *hex, uint8_t *out, size_t len);
/* 32 random bytes as 64 hex digits + NUL */
int dp_random_id(char out[65]);

int64_t dp_now_us(void); /* CLOCK_REALTIME */
double dp_mono_s(void);	 /* CLOCK_MONOTONIC */

/* true if @len bytes at @buf (8-byte aligned) are all zero */
bool dp_is_zero(const void *buf, size_t len);

/*
 * dp_grow() - room for @need elements of @elem bytes in the array @p of
 * *@cap elements: @p itself if it has it, else @p realloc()ed to at least
 * twice its capacity (16 at first) with *@cap updated. NULL if memory or the
 * size runs out (reallocarray() checks the multiplication); @p and *@cap are
 * then unchanged and still valid.
 */
void *dp_grow(void *p, size_t *cap, size_t need, size_t elem);

/*
 * dp_opts_copy() - a caller's options struct (whose first field is size_t sz,
 * the caller's sizeof) into @dst of @dst_size bytes: the fields an older
 * caller's struct lacks, and all of them for a NULL @src or sz 0, are zero
 * (their defaults).
 */
void dp_opts_copy(void *dst, size_t dst_size, const void *src);

unsigned int dp_online_cpus(void);

#endif /* FERRY_DP_INT_H */
