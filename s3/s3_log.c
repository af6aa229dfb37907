// SPDX-License-Identifier: MIT
/*
 * s3/s3_log.c - the module's log sink and the per-thread error detail
 * (s3_last_error()): below the front (store.c) and the backends, which both
 * report through it.
 */
#include <stdarg.h>
#include <stdio.h>

#include "s3_int.h"

static s3_log_fn s3_log_sink;
static _Thread_local char s3_errbuf[512];

void s3_set_log(s3_log_fn fn)
{
	s3_log_sink = fn;
}

void s3_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!s3_log_sink)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	s3_log_sink(level, msg);
}

const char *s3_last_error(void)
{
	return s3_errbuf;
}

int s3_fail(int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s3_errbuf, sizeof(s3_errbuf), fmt, ap);
	va_end(ap);
	return err;
}

void s3_clear_error(void)
{
	s3_errbuf[0] = '\0';
}
