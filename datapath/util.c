// SPDX-License-Identifier: MIT
/*
 * datapath/util.c - logging, error details, hex, ids, clocks, the zero test,
 * SHA-256 (OpenSSL) and the translation of zstd's error codes.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "dp_int.h"
#include "s3/store.h"

static dp_log_fn dp_log_sink;
static _Thread_local char dp_errbuf[512];

void dp_set_log(dp_log_fn fn)
{
	dp_log_sink = fn;
}

void dp_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!dp_log_sink)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	dp_log_sink(level, msg);
}

const char *dp_last_error(void)
{
	return dp_errbuf;
}

int dp_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(dp_errbuf, sizeof(dp_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

void dp_clear_error(void)
{
	dp_errbuf[0] = '\0';
}

const char *dp_store_detail(void)
{
	return s3_last_error();
}

int dp_errno_from_zstd(size_t rc)
{
	switch (ZSTD_getErrorCode(rc)) {
	case ZSTD_error_memory_allocation:
		return -ENOMEM;
	case ZSTD_error_dstSize_tooSmall:
		return -ENOSPC;
	case ZSTD_error_parameter_unsupported:
	case ZSTD_error_parameter_outOfBound:
		return -EINVAL;
	case ZSTD_error_checksum_wrong:
		return -EUCLEAN;
	default:
		return -EBADMSG;
	}
}

void dp_hex(const uint8_t *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static int dp_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int dp_unhex(const char *hex, uint8_t *out, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		int hi = dp_hexval(hex[2 * i]), lo;

		if (hi < 0)
			return -EINVAL;
		lo = dp_hexval(hex[2 * i + 1]);
		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return hex[2 * len] ? -EINVAL : 0;
}

int dp_random_id(char out[65])
{
	uint8_t rnd[DP_ID_LEN];

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	dp_hex(rnd, sizeof(rnd), out);
	return 0;
}

int64_t dp_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

double dp_mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

bool dp_is_zero(const void *buf, size_t len)
{
	const uint64_t *w = buf;

	if (len < 8) {
		const uint8_t *b = buf;

		for (size_t i = 0; i < len; i++)
			if (b[i])
				return false;
		return true;
	}
	/* the first word is zero and every byte equals the one 8 before it */
	return w[0] == 0 && !memcmp(buf, (const char *)buf + 8, len - 8);
}

unsigned int dp_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned int)n : 1;
}

/* SHA-256: one EVP_MD fetched once, one context per thread. */
static EVP_MD *dp_md_sha256;
static pthread_once_t dp_md_once = PTHREAD_ONCE_INIT;

static void dp_md_init(void)
{
	dp_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *dp_md(void)
{
	pthread_once(&dp_md_once, dp_md_init);
	return dp_md_sha256;
}

int dp_sha256(const void *buf, size_t len, uint8_t out[DP_ID_LEN])
{
	unsigned int n;

	if (!dp_md())
		return -ENOSYS;
	return EVP_Digest(buf, len, out, &n, dp_md(), NULL) ? 0 : -EIO;
}

struct dp_sha256_stream {
	EVP_MD_CTX *ctx;
};

int dp_sha256_stream_new(struct dp_sha256_stream **out)
{
	struct dp_sha256_stream *s;

	*out = NULL;
	if (!dp_md())
		return -ENOSYS;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || !EVP_DigestInit_ex2(s->ctx, dp_md(), NULL)) {
		dp_sha256_stream_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void dp_sha256_stream_update(struct dp_sha256_stream *s, const void *buf, size_t len)
{
	EVP_DigestUpdate(s->ctx, buf, len);
}

void dp_sha256_stream_final(struct dp_sha256_stream *s, uint8_t out[DP_ID_LEN])
{
	unsigned int n;

	EVP_DigestFinal_ex(s->ctx, out, &n);
}

void dp_sha256_stream_digest(struct dp_sha256_stream *s, const void *buf, size_t len,
			     uint8_t out[DP_ID_LEN])
{
	EVP_DigestInit_ex2(s->ctx, NULL, NULL);
	EVP_DigestUpdate(s->ctx, buf, len);
	dp_sha256_stream_final(s, out);
}

void dp_sha256_stream_free(struct dp_sha256_stream *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}

#ifdef FERRY_TEST_HOOKS
/*
 * Test builds only:
 *   FERRY_TEST_CRASH_AT=<point>[:<n>]  SIGKILL the process when it reaches
 *                                      @point for the n-th time (default 1st)
 *   FERRY_TEST_SLEEP_AT=<point>:<ms>   sleep @ms each time @point is reached
 *                                      (so a test can interrupt a job there)
 */
static bool dp_test_match(const char *env, const char *point, unsigned long *arg)
{
	size_t len;

	if (!env)
		return false;
	len = strcspn(env, ":");
	if (strlen(point) != len || strncmp(env, point, len))
		return false;
	if (env[len] == ':')
		*arg = strtoul(env + len + 1, NULL, 10);
	return true;
}

void dp_test_point(const char *point)
{
	static atomic_uint hits;
	unsigned long want = 1, ms = 0;

	if (dp_test_match(getenv("FERRY_TEST_SLEEP_AT"), point, &ms) && ms) {
		struct timespec ts = {.tv_sec = (time_t)(ms / 1000),
				      .tv_nsec = (long)(ms % 1000) * 1000000};

		nanosleep(&ts, NULL);
	}
	if (!dp_test_match(getenv("FERRY_TEST_CRASH_AT"), point, &want))
		return;
	if (atomic_fetch_add(&hits, 1) + 1 == want) {
		fprintf(stderr, "ferry: test hook: crashing at %s\n", point);
		kill(getpid(), SIGKILL);
	}
}
#endif
