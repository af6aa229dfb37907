// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_faults.c - the client under faults, through s3proxy.py in
 * front of the RGW of tests/run:
 *   - 503 / 500 / SlowDown answers and connection resets (before the answer
 *     and halfway through a body) are retried until every call succeeds;
 *   - 4xx answers are not retried (one request in the proxy's log);
 *   - a condition that persists ends with -EAGAIN at the deadline;
 *   - latency of 20-50 ms per request is there (the proxy works);
 *   - --limit-upload / --limit-download: no 1 s window carries more than
 *     the cap where the bytes cross the proxy's connections, and the cap is
 *     mostly used (smooth).
 */
#include <stdatomic.h>

#include "s3t.h"

#define MiB (1u << 20)

static struct s3t t;
static char *dir;

static void logline(int level, const char *msg)
{
	if (level <= S3_LOG_WARN || getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "[s3 %d] %s\n", level, msg);
}

struct waiter {
	atomic_int done, failed;
	int want;
};

static void done_cb(void *arg, int ret, const char *detail)
{
	struct waiter *w = arg;

	if (ret < 0 || (w->want && ret != w->want)) {
		fprintf(stderr, "async call: %d %s\n", ret, detail);
		atomic_fetch_add(&w->failed, 1);
	}
	atomic_fetch_add(&w->done, 1);
}

static void wait_for(struct waiter *w, int n)
{
	while (atomic_load(&w->done) < n)
		usleep(2000);
}

static void retries(void)
{
	const char *args[] = {"--fail-rate", "0.3", "--faults", "503,500,slowdown,reset,reset-mid",
			      "--seed",	     "7",   NULL};
	struct s3_store_opts o = {.sz = sizeof(o), .timeout_ms = 120000, .concurrency = 4};
	struct s3t_proxy p;
	struct s3_store *st;
	unsigned char *data = malloc(3 * 5 * MiB), buf[65536];
	struct waiter w = {0};
	struct s3_upload *up;
	char key[64];
	int faults, kinds = 0;
	static const char *const kind[] = {"\"503\"", "\"500\"", "\"slowdown\"", "\"reset\"",
					   "\"reset-mid\""};

	t_fill_random(data, 3 * 5 * MiB, 3);
	s3t_proxy_start(&t, &p, dir, args);
	st = s3t_open(&t, p.endpoint, &o);
	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "obj/%02d", i);
		if (s3_store_put(st, key, data + i * 1000, 65536))
			t_fail("put %s under faults: %s", key, s3_last_error());
	}
	for (int i = 0; i < 30; i++) {
		snprintf(key, sizeof(key), "obj/%02d", i);
		if (s3_store_get_range(st, key, 0, buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
		    memcmp(buf, data + i * 1000, sizeof(buf)))
			t_fail("get %s under faults: %s", key, s3_last_error());
	}
	T_ASSERT_EQ(s3_upload_new(st, "data/ff/pack", 5 * MiB, &up), 0);
	for (unsigned int i = 0; i < 3; i++)
		T_ASSERT_EQ(s3_upload_part(up, i + 1, data + i * 5 * MiB, 5 * MiB, done_cb, &w), 0);
	if (s3_upload_complete(up))
		t_fail("multipart under faults: %s", s3_last_error());
	T_ASSERT_EQ(atomic_load(&w.failed), 0);
	{
		uint64_t size;
		ssize_t n = s3_store_get_tail(st, "data/ff/pack", buf, sizeof(buf), &size);

		T_ASSERT(n == (ssize_t)sizeof(buf) && size == 15 * MiB &&
				 !memcmp(buf, data + 15 * MiB - sizeof(buf), sizeof(buf)),
			 "pack written under faults");
	}
	s3_store_free(st);
	s3t_proxy_stop(&p);
	{
		const char *any[] = {"\"fault\": \"", NULL};

		faults = s3t_proxy_count(&p, any);
	}
	for (int i = 0; i < 5; i++) {
		const char *k[] = {kind[i], NULL};

		kinds += s3t_proxy_count(&p, k) > 0;
	}
	printf("ok: every call succeeded through %d injected faults of %d kinds\n", faults, kinds);
	T_ASSERT(faults >= 10, "only %d faults injected", faults);
	T_ASSERT(kinds >= 4, "only %d kinds of fault injected", kinds);
	free(data);
}

static void no_retry(void)
{
	struct s3_store_opts o = {.sz = sizeof(o), .timeout_ms = 30000};
	const char *noargs[] = {NULL};
	struct s3t_proxy p;
	struct s3_store *st;
	char buf[16];
	uint64_t size;
	double t0;

	s3t_proxy_start(&t, &p, dir, noargs);
	st = s3t_open(&t, p.endpoint, &o);
	T_ASSERT_EQ(s3_store_get_range(st, "missing-key", 0, buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(s3_store_head(st, "missing-key", &size), -ENOENT);
	s3_store_free(st);
	setenv("AWS_SECRET_ACCESS_KEY", "wrong", 1);
	st = s3t_open(&t, p.endpoint, &o);
	T_ASSERT_EQ(s3_store_put(st, "denied-key", "x", 1), -EACCES);
	s3_store_free(st);
	setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);
	s3t_proxy_stop(&p);
	{
		const char *get[] = {"\"GET\"", "missing-key", NULL};
		const char *head[] = {"\"HEAD\"", "missing-key", NULL};
		const char *put[] = {"\"PUT\"", "denied-key", NULL};

		T_ASSERT_EQ(s3t_proxy_count(&p, get), 1);
		T_ASSERT_EQ(s3t_proxy_count(&p, head), 1);
		T_ASSERT_EQ(s3t_proxy_count(&p, put), 1);
	}
	printf("ok: 404 and 403 are not retried\n");

	/* a server that stays busy: -EAGAIN at the deadline, saying so */
	{
		const char *args[] = {"--fail-rate", "1", "--faults", "slowdown", NULL};

		s3t_proxy_start(&t, &p, dir, args);
		o.timeout_ms = 2000;
		st = s3t_open(&t, p.endpoint, &o);
		t0 = s3t_now();
		T_ASSERT_EQ(s3_store_put(st, "busy", "x", 1), -EAGAIN);
		T_ASSERT(strstr(s3_last_error(), "gave up"), "message: %s", s3_last_error());
		T_ASSERT(s3t_now() - t0 < 4.5, "deadline of 2 s took %.1f s", s3t_now() - t0);
		printf("ok: persistent SlowDown: %s (%.1f s)\n", s3_last_error(), s3t_now() - t0);
		s3_store_free(st);
		s3t_proxy_stop(&p);
		{
			const char *busy[] = {"busy", NULL};

			T_ASSERT(s3t_proxy_count(&p, busy) >= 3, "retried before the deadline");
		}
	}
}

static void latency(void)
{
	const char *args[] = {"--latency", "20-50", NULL};
	struct s3t_proxy p;
	struct s3_store *st;
	uint64_t size;
	double t0, dt;

	s3t_proxy_start(&t, &p, dir, args);
	st = s3t_open(&t, p.endpoint, NULL);
	T_ASSERT_EQ(s3_store_put(st, "lat", "x", 1), 0);
	t0 = s3t_now();
	for (int i = 0; i < 5; i++)
		T_ASSERT_EQ(s3_store_head(st, "lat", &size), 0);
	dt = (s3t_now() - t0) / 5;
	s3_store_free(st);
	s3t_proxy_stop(&p);
	T_ASSERT(dt >= 0.020, "a request through the latency proxy took %.1f ms", dt * 1000);
	printf("ok: %.1f ms per request through the latency proxy\n", dt * 1000);
}

/* the largest sum of @kind bytes over any 1 s window, and the mean rate while active */
static void rates(const struct s3t_proxy *p, const char *kind, uint64_t *max1s, double *mean)
{
	FILE *f = fopen(p->bins, "r");
	static uint64_t b[100000];
	long first = -1, last = -1, ms;
	unsigned long long n;
	char k[8];
	uint64_t total = 0, win = 0;

	memset(b, 0, sizeof(b));
	T_ASSERT(f != NULL, "no bins from the proxy");
	while (fscanf(f, "%7s %ld %llu", k, &ms, &n) == 3) {
		long i;

		if (strcmp(k, kind))
			continue;
		if (first < 0)
			first = ms / 10;
		i = ms / 10 - first;
		T_ASSERT(i >= 0 && i < 100000, "bins out of order");
		b[i] += n;
		total += n;
		last = i;
	}
	fclose(f);
	T_ASSERT(last > 0, "no %s traffic seen", kind);
	*max1s = 0;
	for (long i = 0; i <= last; i++) {
		win += b[i];
		if (i >= 100)
			win -= b[i - 100];
		if (win > *max1s)
			*max1s = win;
	}
	*mean = (double)total / ((double)(last + 1) / 100.0);
}

static void caps(void)
{
	const uint64_t cap = 4 * MiB;
	/*
	 * The proxy counts a byte when it crosses the connection, at the time
	 * the kernel gives (s3proxy.py --bins), not when it enters the proxy's
	 * send queue: counted there, the queues of 4 connections (up to 39 KB
	 * each with the --sndbuf 16384 this test used) made a window look up to
	 * 150 KB busier than the wire.
	 */
	const char *args[] = {NULL};
	struct s3_store_opts o = {.sz = sizeof(o), .limit_upload = cap, .concurrency = 4};
	unsigned char *data = malloc(15 * MiB), *back = malloc(15 * MiB);
	struct waiter w = {0};
	struct s3t_proxy p;
	struct s3_store *st;
	struct s3_upload *up;
	uint64_t max1s;
	double mean;

	t_fill_random(data, 15 * MiB, 4);
	s3t_proxy_start(&t, &p, dir, args);
	st = s3t_open(&t, p.endpoint, &o);
	T_ASSERT_EQ(s3_upload_new(st, "data/cc/capped", 5 * MiB, &up), 0);
	for (unsigned int i = 0; i < 3; i++)
		T_ASSERT_EQ(s3_upload_part(up, i + 1, data + i * 5 * MiB, 5 * MiB, done_cb, &w), 0);
	T_ASSERT_EQ(s3_upload_complete(up), 0);
	T_ASSERT_EQ(atomic_load(&w.failed), 0);
	s3_store_free(st);
	s3t_proxy_stop(&p);
	rates(&p, "rx", &max1s, &mean);
	printf("ok: upload cap %llu B/s: busiest 1 s window %llu B, mean %.0f B/s\n",
	       (unsigned long long)cap, (unsigned long long)max1s, mean);
	T_ASSERT(max1s <= cap, "upload: %llu bytes in one second, cap %llu",
		 (unsigned long long)max1s, (unsigned long long)cap);
	/*
	 * The cap is the property (no window above it); the mean only shows the
	 * cap is not wildly low. It is a rate on a shared machine (2.0-3.1 MB/s,
	 * 48-73 %, were seen with a load of 7-19 on 2 CPUs): bounded loosely.
	 */
	T_ASSERT(mean >= 0.33 * (double)cap, "upload: mean %.0f B/s, cap %llu", mean,
		 (unsigned long long)cap);

	o.limit_upload = 0;
	o.limit_download = cap;
	s3t_proxy_start(&t, &p, dir, args);
	st = s3t_open(&t, p.endpoint, &o);
	memset(&w, 0, sizeof(w));
	w.want = (int)MiB;
	for (unsigned int i = 0; i < 15; i++)
		T_ASSERT_EQ(s3_store_get_range_async(st, "data/cc/capped", (uint64_t)i * MiB,
						     back + i * MiB, MiB, done_cb, &w),
			    0);
	wait_for(&w, 15);
	T_ASSERT_EQ(atomic_load(&w.failed), 0);
	T_ASSERT(!memcmp(back, data, 15 * MiB), "capped download content");
	s3_store_free(st);
	s3t_proxy_stop(&p);
	rates(&p, "tx", &max1s, &mean);
	printf("ok: download cap %llu B/s: busiest 1 s window %llu B, mean %.0f B/s\n",
	       (unsigned long long)cap, (unsigned long long)max1s, mean);
	T_ASSERT(max1s <= cap, "download: %llu bytes in one second, cap %llu",
		 (unsigned long long)max1s, (unsigned long long)cap);
	/*
	 * The cap is the property (no window above it); the mean only shows the
	 * cap is not wildly low. It is a rate on a shared machine (2.0-3.1 MB/s,
	 * 48-73 %, were seen with a load of 7-19 on 2 CPUs): bounded loosely.
	 */
	T_ASSERT(mean >= 0.33 * (double)cap, "download: mean %.0f B/s, cap %llu", mean,
		 (unsigned long long)cap);
	free(data);
	free(back);
}

int main(void)
{
	s3_set_log(logline);
	s3t_init(&t, "faults");
	dir = t_tmpdir("s3faults");
	retries();
	no_retry();
	latency();
	caps();
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_faults\n");
	return 0;
}
