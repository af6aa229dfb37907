// SPDX-License-Identifier: MIT
/*
 * k8s/quantity.c - resource.Quantity ("250m", "1.5Gi", "2e3") to integers,
 * and RFC 3339 times (metav1.Time, metav1.MicroTime) to and from ns.
 *
 * Quantities are computed exactly in 128-bit integers: a value is a decimal
 * mantissa M with F fraction digits, times 10^E (decimal SI suffixes and
 * exponents) or 2^(10k) (binary suffixes), and results round up as
 * Quantity.MilliValue()/Value() do. Digits past 36 are only remembered as
 * "something more" for the rounding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_int.h"

typedef unsigned __int128 u128;

#define MAX_DIGITS 36

/* 10^n for n <= 38, 0 beyond */
static u128 pow10_u128(int n)
{
	u128 v = 1;

	if (n < 0 || n > 38)
		return 0;
	while (n--)
		v *= 10;
	return v;
}

/*
 * Parse @s and return @s's value × 10^@scale, rounded up (towards +inf).
 */
static int quantity_scaled(const char *s, int scale, int64_t *out)
{
	const char *p = s;
	bool neg = false, sticky = false, any = false;
	u128 m = 0, r;
	int ndig = 0, frac = 0, e10 = 0, bin = 0;
	long ex;

	if (!s || !*s)
		return -EINVAL;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	for (; *p >= '0' && *p <= '9'; p++) {
		any = true;
		if (m == 0 && *p == '0')
			continue;
		if (ndig >= MAX_DIGITS)
			return -ERANGE;
		m = m * 10 + (u128)(*p - '0');
		ndig++;
	}
	if (*p == '.') {
		p++;
		for (; *p >= '0' && *p <= '9'; p++) {
			any = true;
			if (ndig >= MAX_DIGITS) {
				sticky |= *p != '0';
				continue;
			}
			m = m * 10 + (u128)(*p - '0');
			if (m)
				ndig++;
			frac++;
		}
	}
	if (!any)
		return -EINVAL;
	/* the suffix */
	if (!*p) {
		e10 = 0;
	} else if ((*p == 'e' || *p == 'E') &&
		   ((p[1] >= '0' && p[1] <= '9') ||
		    ((p[1] == '+' || p[1] == '-') && p[2] >= '0' && p[2] <= '9'))) {
		char *end;

		errno = 0;
		ex = strtol(p + 1, &end, 10);
		if (*end || errno || ex > 1000 || ex < -1000)
			return *end ? -EINVAL : -ERANGE;
		e10 = (int)ex;
	} else if (p[1] == 'i' && !p[2]) {
		const char *bs = "KMGTPE", *k = strchr(bs, *p);

		if (!k || !*p)
			return -EINVAL;
		bin = (int)(k - bs + 1) * 10;
	} else if (!p[1]) {
		switch (*p) {
		case 'n':
			e10 = -9;
			break;
		case 'u':
			e10 = -6;
			break;
		case 'm':
			e10 = -3;
			break;
		case 'k':
			e10 = 3;
			break;
		case 'M':
			e10 = 6;
			break;
		case 'G':
			e10 = 9;
			break;
		case 'T':
			e10 = 12;
			break;
		case 'P':
			e10 = 15;
			break;
		case 'E':
			e10 = 18;
			break;
		default:
			return -EINVAL;
		}
	} else {
		return -EINVAL;
	}
	if (m == 0) {
		*out = 0;
		return 0;
	}
	/* value × 10^scale = m × 10^(e10 + scale - frac) × 2^bin */
	{
		int e = e10 + scale - frac;

		if (bin) {
			if (m >= ((u128)1 << (127 - bin)))
				return -ERANGE;
			m <<= bin;
		}
		if (e >= 0) {
			u128 p10 = pow10_u128(e);

			if (!p10 || m > ((u128)INT64_MAX + 1) / p10 + 1)
				return -ERANGE;
			/* (sticky digits come only after 36 stored ones: m is too large here) */
			r = m * p10;
		} else {
			u128 p10 = pow10_u128(-e);

			if (!p10) {
				/* smaller than 1 unit: 0, or 1 rounded up */
				*out = neg ? 0 : 1;
				return 0;
			}
			r = m / p10;
			if (!neg && (m % p10 || sticky))
				r++;
		}
	}
	if (neg) {
		if (r > (u128)INT64_MAX + 1)
			return -ERANGE;
		*out = r == (u128)INT64_MAX + 1 ? INT64_MIN : -(int64_t)r;
	} else {
		if (r > (u128)INT64_MAX)
			return -ERANGE;
		*out = (int64_t)r;
	}
	return 0;
}

int k8s_quantity_parse(const char *s, int64_t *milli)
{
	return quantity_scaled(s, 3, milli);
}

int k8s_quantity_value(const char *s, int64_t *value)
{
	return quantity_scaled(s, 0, value);
}

/* ------------------------------------------------------------ times */

/* days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm) */
static int64_t days_from_civil(int64_t y, unsigned int m, unsigned int d)
{
	int64_t era;
	unsigned int yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned int)(y - era * 400);
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static int digits(const char **p, int n, int *out)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		char c = (*p)[i];

		if (c < '0' || c > '9')
			return -EINVAL;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return 0;
}

int k8s_time_parse(const char *s, int64_t *ns)
{
	static const unsigned char mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int y, mo, d, h, mi, sec, oh = 0, om = 0;
	int64_t frac = 0, t;
	const char *p = s;

	if (!s)
		return -EINVAL;
	if (digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) || *p++ != '-' ||
	    digits(&p, 2, &d) || (*p != 'T' && *p != 't' && *p != ' '))
		return -EINVAL;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) || *p++ != ':' ||
	    digits(&p, 2, &sec))
		return -EINVAL;
	if (mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && (y % 4 || (y % 100 == 0 && y % 400))) || h > 23 || mi > 59 ||
	    sec > 60)
		return -EINVAL;
	if (*p == '.') {
		int n = 0;

		p++;
		if (*p < '0' || *p > '9')
			return -EINVAL;
		for (; *p >= '0' && *p <= '9'; p++, n++)
			if (n < 9)
				frac = frac * 10 + (*p - '0');
		for (; n < 9; n++)
			frac *= 10;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p++ == '-' ? -1 : 1;

		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om) || oh > 23 || om > 59)
			return -EINVAL;
		oh *= sign;
		om *= sign;
	} else {
		return -EINVAL;
	}
	if (*p)
		return -EINVAL;
	t = days_from_civil(y, (unsigned int)mo, (unsigned int)d) * 86400 + h * 3600 + mi * 60 +
	    (sec == 60 ? 59 : sec) - oh * 3600 - om * 60;
	/* int64 nanoseconds end in 1677 and 2262 */
	if (t <= INT64_MIN / 1000000000 || t >= INT64_MAX / 1000000000)
		return -EINVAL;
	*ns = t * 1000000000 + frac;
	return 0;
}

void k8s_time_format(int64_t ns, bool micro, char buf[K8S_TIME_SIZE])
{
	time_t t = (time_t)(ns / 1000000000);
	int64_t rem = ns % 1000000000;
	struct tm tm;

	if (rem < 0) {
		rem += 1000000000;
		t--;
	}
	if (!gmtime_r(&t, &tm)) {
		snprintf(buf, K8S_TIME_SIZE, "1970-01-01T00:00:00Z");
		return;
	}
	/* the ranges spelled out: no field can widen the text */
	{
		unsigned int y = (unsigned int)(tm.tm_year + 1900) % 10000u;
		unsigned int mo = (unsigned int)(tm.tm_mon + 1) % 100u;
		unsigned int d = (unsigned int)tm.tm_mday % 100u,
			     h = (unsigned int)tm.tm_hour % 100u;
		unsigned int mi = (unsigned int)tm.tm_min % 100u,
			     s = (unsigned int)tm.tm_sec % 100u;
		unsigned int us = (unsigned int)(rem / 1000) % 1000000u;

		if (micro)
			snprintf(buf, K8S_TIME_SIZE, "%04u-%02u-%02uT%02u:%02u:%02u.%06uZ", y, mo,
				 d, h, mi, s, us);
		else
			snprintf(buf, K8S_TIME_SIZE, "%04u-%02u-%02uT%02u:%02u:%02uZ", y, mo, d, h,
				 mi, s);
	}
}
