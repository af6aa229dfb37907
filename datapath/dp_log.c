// SPDX-License-Identifier: MIT
/*
 * datapath/dp_log.c - the datapath's log lines (through the sink control/
 * sets), the detail of a failure (the calling thread's dp_last_error(), and
 * a caller's struct dp_err), and the crash and pause points of test builds.
 */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

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

int dp_err_set(struct dp_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	e->code = code;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return code;
}

void dp_err_clear(struct dp_err *e)
{
	if (!e)
		return;
	e->code = 0;
	e->msg[0] = '\0';
}

int dp_err_keep(struct dp_err *e, int code)
{
	if (!code)
		dp_err_clear(e);
	else
		dp_err_set(e, code, "%s", dp_errbuf[0] ? dp_errbuf : strerror(-code));
	return code;
}

const char *dp_store_detail(void)
{
	return s3_last_error();
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
