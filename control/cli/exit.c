// SPDX-License-Identifier: MIT
/*
 * control/cli/exit.c - the ferry command's exit codes, its error lines and the
 * log sink every module logs through.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int ctl_verbosity = CTL_LOG_WARN;

void ctl_log_line(int level, const char *msg)
{
	static const char *const tag[] = {"error: ", "warning: ", "", "debug: "};

	if (level > ctl_verbosity)
		return;
	if (level < 0)
		level = 0;
	if (level > CTL_LOG_DEBUG)
		level = CTL_LOG_DEBUG;
	fprintf(stderr, "ferry: %s%s\n", tag[level], msg);
}

void ctl_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ctl_log_line(level, msg);
}

int ctl_exit_code(int err)
{
	switch (err) {
	case 0:
		return CTL_EXIT_OK;
	case -EINVAL:
		return CTL_EXIT_USAGE;
	case -ENOENT:
	case -ENODEV:
	case -ENXIO:
		return CTL_EXIT_NOT_FOUND;
	case -EBADMSG:
	case -EUCLEAN:
	case -EILSEQ:
		return CTL_EXIT_DAMAGED;
	case -EIO:
	case -EREMOTEIO:
		return CTL_EXIT_IO;
	case -EEXIST:
	case -EBUSY:
	case -EFBIG:
	case -ENOTUNIQ:
	case -ENOTBLK:
	case -ESTALE:
		return CTL_EXIT_REFUSED;
	case -ENOSPC:
	case -EDQUOT:
		return CTL_EXIT_NOSPACE;
	case -EACCES:
	case -EPERM:
	case -EKEYREJECTED:
	case -ENOKEY:
		return CTL_EXIT_ACCESS;
	case -ECONNREFUSED:
	case -ETIMEDOUT:
	case -EHOSTUNREACH:
	case -ENETUNREACH:
	case -ECONNRESET:
	case -EAGAIN:
		return CTL_EXIT_NETWORK;
	case -EPROTONOSUPPORT:
		return CTL_EXIT_VERSION;
	case -ENOLCK:
		return CTL_EXIT_LEASE_LOST;
	case -EINTR:
	case -ECANCELED:
		return CTL_EXIT_INTERRUPTED;
	default:
		return CTL_EXIT_FAILURE;
	}
}

int ctl_fail(int err, const char *detail, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	assert(err < 0);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (detail && detail[0])
		fprintf(stderr, "ferry: error: %s: %s\n", msg, detail);
	else
		fprintf(stderr, "ferry: error: %s\n", msg);
	return err;
}

int ctl_usage_error(const char *verb, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ferry: error: %s (try 'ferry %s%s--help')\n", msg, verb ? verb : "",
		verb ? " " : "");
	return -EINVAL;
}
