// SPDX-License-Identifier: MIT
/*
 * datapath/retention.c - which backups a retention policy keeps: the
 * decision `ferry forget` and the Schedule controller share, as a pure
 * function over plain records (id, time, group). No I/O, no clock, no
 * locale or time zone: calendar buckets are computed in UTC from the
 * microseconds alone, so a reconciler on any worker thread gets the same
 * answer as the command line for the same input.
 *
 * The counting rules are restic's (restic 0.14, internal/restic/
 * snapshot_policy.go, checked against it by tests/datapath/
 * t_retention_restic.sh): newest first, each rule keeps the newest record
 * of each of its next N buckets that hold records (keep-last: each record
 * is its own bucket), every rule counts on its own, so one record may be
 * kept by several rules and uses a slot of each. The TTL is not restic's
 * --keep-within: it is an expiry, as in Velero (measured from @now, and
 * stronger than every rule).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dp.h"

#define US_PER_S 1000000

static const char *const keep_rule_names[] = {
	[DP_KEEP_LAST] = "last",
	[DP_KEEP_HOURLY] = "hourly",
	[DP_KEEP_DAILY] = "daily",
	[DP_KEEP_WEEKLY] = "weekly",
	[DP_KEEP_MONTHLY] = "monthly",
	[DP_KEEP_YEARLY] = "yearly",
	[DP_KEEP_UNEXPIRED] = "within ttl",
};

const char *dp_keep_rule_name(enum dp_keep_rule rule)
{
	if ((unsigned int)rule >= sizeof(keep_rule_names) / sizeof(keep_rule_names[0]))
		return "?";
	return keep_rule_names[rule];
}

static int retention_fail(struct dp_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int retention_fail(struct dp_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

/* a / b rounded towards minus infinity (b > 0): times before 1970 are negative */
static int64_t floor_div(int64_t a, int64_t b)
{
	int64_t q = a / b;

	return (a % b < 0) ? q - 1 : q;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (the 400-year cycle has 146097 days). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2; /* years start in March here: February's leap day is the last */
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The date of day @days since 1970-01-01: the inverse of days_from_civil(). */
static void civil_from_days(int64_t days, int64_t *y, int *m)
{
	int64_t z = days + 719468, era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * The bucket of a time (microseconds, UTC) under a counting rule: equal
 * values, one bucket. ISO 8601 weeks run Monday to Sunday and belong to the
 * year of their Thursday (2026-12-28..2027-01-03 is 2026-W53).
 */
static int64_t retention_bucket(int64_t us, enum dp_keep_rule rule, size_t nr)
{
	int64_t secs = floor_div(us, US_PER_S), days = floor_div(secs, 86400), y, thu;
	int m;

	switch (rule) {
	case DP_KEEP_LAST:
		return (int64_t)nr;
	case DP_KEEP_HOURLY:
		return floor_div(secs, 3600);
	case DP_KEEP_DAILY:
		return days;
	case DP_KEEP_WEEKLY:
		/* (days + 3) mod 7 is the weekday, Monday 0: 1970-01-01 was a Thursday (3) */
		thu = days - (days + 3 - floor_div(days + 3, 7) * 7) + 3; /* the week's Thursday */
		civil_from_days(thu, &y, &m);
		return y * 100 + (thu - days_from_civil(y, 1, 1)) / 7 + 1;
	case DP_KEEP_MONTHLY:
		civil_from_days(days, &y, &m);
		return y * 12 + (m - 1);
	case DP_KEEP_YEARLY:
		civil_from_days(days, &y, &m);
		return y;
	default:
		assert(!"not a counting rule");
		return 0;
	}
}

/* Whether @r has expired at @now under @ttl seconds: now >= time + ttl, in 128 bits. */
static bool retention_expired(const struct dp_retention_record *r, int64_t now, int64_t ttl)
{
	return ttl && (__int128)now - r->time >= (__int128)ttl * US_PER_S;
}

static const char *retention_group_of(const struct dp_retention_record *r)
{
	return r->group ? r->group : "";
}

/* Group, then newest first; equal times: the greater id counts as the newer. */
static int retention_cmp(const void *a, const void *b)
{
	const struct dp_retention_record *x = *(const struct dp_retention_record *const *)a;
	const struct dp_retention_record *y = *(const struct dp_retention_record *const *)b;
	int c = strcmp(retention_group_of(x), retention_group_of(y));

	if (c)
		return c;
	if (x->time != y->time)
		return x->time < y->time ? 1 : -1;
	return -strcmp(x->id, y->id);
}

/* The counting rules over one group, @v[0..n) newest first. */
static void retention_group(const struct dp_retention_record *recs,
			    const struct dp_retention_record *const *v, size_t n,
			    const struct dp_retention_policy *p, struct dp_retention_verdict *out)
{
	for (enum dp_keep_rule rule = DP_KEEP_LAST; rule < DP_KEEP_NCOUNTS; rule++) {
		uint32_t left = p->keep[rule];
		int64_t last = 0;
		bool have = false;

		for (size_t i = 0; i < n && left; i++) {
			int64_t b = retention_bucket(v[i]->time, rule, i);

			if (have && b == last)
				continue; /* a newer record holds this bucket */
			have = true;
			last = b;
			left--;
			out[v[i] - recs].reasons |= 1u << rule;
		}
	}
}

int dp_retention_select(const struct dp_retention_record *recs, size_t n,
			const struct dp_retention_policy *p, struct dp_retention_verdict *out,
			struct dp_err *err)
{
	const struct dp_retention_record **v;
	bool counts = false;
	size_t start = 0;

	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
	for (enum dp_keep_rule rule = DP_KEEP_LAST; rule < DP_KEEP_NCOUNTS; rule++)
		counts = counts || p->keep[rule];
	if (p->ttl < 0)
		return retention_fail(err, -EINVAL, "a negative TTL (%lld s)", (long long)p->ttl);
	if (!counts && !p->ttl)
		return retention_fail(
			err, -EINVAL,
			"the policy keeps everything: give a --keep-* count or a TTL");
	for (size_t i = 0; i < n; i++) {
		if (!recs[i].id)
			return retention_fail(err, -EINVAL, "record %zu has no id", i);
		memset(&out[i], 0, sizeof(out[i]));
	}
	if (!n)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return retention_fail(err, -ENOMEM, "out of memory (%zu records)", n);
	for (size_t i = 0; i < n; i++)
		v[i] = &recs[i];
	qsort(v, n, sizeof(*v), retention_cmp);
	for (size_t i = 1; i <= n; i++) {
		if (i < n && !strcmp(retention_group_of(v[start]), retention_group_of(v[i])))
			continue;
		retention_group(recs, v + start, i - start, p, out); /* v[start..i) is one group */
		start = i;
	}
	for (size_t i = 0; i < n; i++) {
		struct dp_retention_verdict *o = &out[i];

		o->expired = retention_expired(&recs[i], p->now, p->ttl);
		if (!counts && !o->expired)
			o->reasons = 1u << DP_KEEP_UNEXPIRED;
		o->keep = o->reasons && !o->expired;
	}
	free(v);
	return 0;
}
