// SPDX-License-Identifier: MIT
/*
 * datapath/dp_bytes.c - small helpers every datapath file uses: hex and
 * random ids, the all-zero test, array growth, and the two clocks (wall time
 * in microseconds for what is recorded, monotonic seconds for durations).
 */
#include <stdlib.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "dp_int.h"

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

void *dp_grow(void *p, size_t *cap, size_t need, size_t elem)
{
	size_t n = *cap < 16 ? 16 : *cap;
	void *q;

	if (need <= *cap)
		return p;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : n * 2;
	q = reallocarray(p, n, elem);
	if (!q)
		return NULL;
	*cap = n;
	return q;
}

void dp_opts_copy(void *dst, size_t dst_size, const void *src)
{
	size_t sz = src ? *(const size_t *)src : 0;

	memset(dst, 0, dst_size);
	if (sz)
		memcpy(dst, src, sz < dst_size ? sz : dst_size);
}
