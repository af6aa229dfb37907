// SPDX-License-Identifier: MIT
/*
 * control/cli/values.c - the values of the command line and of custom
 * resources, parsed without I/O: sizes and durations.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "cli.h"

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
