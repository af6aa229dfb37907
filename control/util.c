// SPDX-License-Identifier: MIT
/*
 * control/util.c - logging sink, exit codes, signal flag, size and duration
 * parsing for the ferry command.
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"

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

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (detail && detail[0])
		fprintf(stderr, "ferry: error: %s: %s\n", msg, detail);
	else
		fprintf(stderr, "ferry: error: %s\n", msg);
	return ctl_exit_code(err);
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
	return CTL_EXIT_USAGE;
}

int ctl_parse_size(const char *s, uint64_t *out)
{
	char *end;
	double v;
	uint64_t mult = 1;

	errno = 0;
	if (!s[0] || s[0] == '-' || s[0] == '+')
		return -EINVAL;
	v = strtod(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	switch (*end) {
	case '\0':
		break;
	case 'k':
	case 'K':
		mult = 1ULL << 10;
		end++;
		break;
	case 'm':
	case 'M':
		mult = 1ULL << 20;
		end++;
		break;
	case 'g':
	case 'G':
		mult = 1ULL << 30;
		end++;
		break;
	case 't':
	case 'T':
		mult = 1ULL << 40;
		end++;
		break;
	case 'p':
	case 'P':
		mult = 1ULL << 50;
		end++;
		break;
	case 'b':
	case 'B':
		break;
	default:
		return -EINVAL;
	}
	/* accept "M", "MB", "MiB", "B" suffix spellings, all powers of two */
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -EINVAL;
	if (v * (double)mult >= 18446744073709551615.0)
		return -ERANGE;
	if (mult == 1 && v != floor(v))
		return -EINVAL;
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

int ctl_parse_duration(const char *s, int64_t *out)
{
	const char *p = s;
	double total = 0;

	if (!*p)
		return -EINVAL;
	while (*p) {
		char *end;
		double v, unit;

		if (*p == '-' || *p == '+')
			return -EINVAL;
		errno = 0;
		v = strtod(p, &end);
		if (errno || end == p || !isfinite(v) || v < 0)
			return -EINVAL;
		switch (*end) {
		case 's':
			unit = 1;
			break;
		case 'm':
			unit = 60;
			break;
		case 'h':
			unit = 3600;
			break;
		case 'd':
			unit = 86400;
			break;
		case 'w':
			unit = 7 * 86400;
			break;
		case 'y':
			unit = 365 * 86400;
			break;
		case '\0':
			if (p == s) { /* a bare number is seconds */
				unit = 1;
				end--;
				break;
			}
			return -EINVAL;
		default:
			return -EINVAL;
		}
		if (*end == 'm' && end[1] == 's') { /* "ms" */
			unit = 0.001;
			end++;
		}
		total += v * unit;
		if (total > 9.2e18)
			return -ERANGE;
		p = end + 1;
	}
	*out = (int64_t)total;
	return 0;
}

static atomic_int ctl_sigflag;

static void ctl_on_signal(int sig)
{
	atomic_store(&ctl_sigflag, sig);
}

void ctl_signals_init(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ctl_on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

bool ctl_interrupted(void)
{
	return atomic_load(&ctl_sigflag) != 0;
}
