// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cluster_cron.c - the schedule language of
 * control/cluster/cron.c from any string, run in UTC or a zone with DST.
 * Input: one byte choosing the zone, eight bytes of the starting instant,
 * then the schedule.
 *
 * Properties, not only "no crash": a refusal fills struct cluster_err with
 * the code returned and one line of reason; a parsed schedule's next run is
 * strictly later, and its wall time matches the fields when checked here
 * field by field (an independent matcher: Quartz's W as "the weekday
 * nearest, inside the month" by search, L and # by counting), or else it is
 * the end of a DST gap that swallowed a matching wall time; from one second
 * before it the next run is itself; in UTC no second between the start and
 * it matches (when that is under an hour); the missed-run collapse agrees
 * with next().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fz_zones[] = {
	"UTC", "America/New_York", "Australia/Lord_Howe", "Europe/Dublin", "Pacific/Apia",
};

static void check_err(const struct cluster_err *err, int ret)
{
	if (err->code != ret || (ret && !err->msg[0]) || (!ret && err->msg[0]) ||
	    !memchr(err->msg, '\0', sizeof(err->msg)) || strchr(err->msg, '\n'))
		abort();
}

static bool fz_leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int fz_dim(int y, int m)
{
	static const int d[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && fz_leap(y) ? 29 : d[m - 1];
}

/* Zeller-style weekday of a date, 0 Sunday: independent of the library's day count. */
static int fz_wday(int y, int m, int d)
{
	static const int t[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};

	y += 400; /* 400 years are whole weeks: keeps y positive for the divisions */
	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

/* The weekday nearest day @n inside the month, by search (ties cannot happen). */
static int fz_nearest(int y, int m, int n)
{
	int best = 0;

	for (int d = 1; d <= fz_dim(y, m); d++) {
		int w = fz_wday(y, m, d);

		if (w == 0 || w == 6)
			continue;
		if (!best || abs(d - n) < abs(best - n))
			best = d;
	}
	return best;
}

static bool fz_matches(const struct cluster_cron *c, const struct cluster_civil *w)
{
	int dim = fz_dim(w->year, w->mon), wd = fz_wday(w->year, w->mon, w->mday);
	bool dom, dow, year;

	if (w->year < 0 || w->year > 10000)
		return false;
	if (!(c->sec >> w->sec & 1) || !(c->min >> w->min & 1) || !(c->hour >> w->hour & 1) ||
	    !(c->mon >> w->mon & 1))
		return false;
	year = c->any_year || (w->year >= 1970 && w->year <= 2099 &&
			       (c->years[(w->year - 1970) / 64] >> ((w->year - 1970) % 64) & 1));
	if (!year)
		return false;
	if (c->dom_last >= 0 || c->dom_near) {
		int n = c->dom_last >= 0 ? dim - c->dom_last : c->dom_near;

		dom = n >= 1 && n <= dim &&
		      w->mday == (c->dom_weekday ? fz_nearest(w->year, w->mon, n) : n);
	} else {
		dom = c->dom >> w->mday & 1;
	}
	if (c->dow_last >= 0) {
		int last = 0;

		for (int d = 1; d <= dim; d++)
			if (fz_wday(w->year, w->mon, d) == c->dow_last)
				last = d;
		dow = w->mday == last;
	} else if (c->dow_nth) {
		int k = 0, pick = 0;

		for (int d = 1; d <= dim; d++)
			if (fz_wday(w->year, w->mon, d) == c->dow_nth_wd && ++k == c->dow_nth)
				pick = d;
		dow = w->mday == pick;
	} else {
		dow = c->dow >> wd & 1;
	}
	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char text[1100];
	struct cluster_err err;
	struct cluster_cron c;
	struct cluster_tz *tz = NULL;
	struct cluster_civil w;
	struct cluster_tz_info info, prev;
	struct cluster_cron_due due;
	uint64_t raw = 0;
	int64_t after, n, m;
	size_t zi;
	int ret;

	if (size < 9 || size - 9 >= sizeof(text))
		return 0;
	zi = data[0] % (sizeof(fz_zones) / sizeof(fz_zones[0]));
	memcpy(&raw, data + 1, 8);
	memcpy(text, data + 9, size - 9);
	text[size - 9] = '\0';
	ret = cluster_cron_parse(text, &c, &err);
	check_err(&err, ret);
	if (ret) {
		if (ret != -EINVAL)
			abort();
		return 0;
	}
	/* mostly 1900-2200, where the zones change; sometimes anywhere */
	if (raw & 1)
		after = CLUSTER_TIME_MIN +
			(int64_t)(raw % (uint64_t)(CLUSTER_TIME_MAX - CLUSTER_TIME_MIN));
	else
		after = -2208988800LL + (int64_t)(raw % 9467280000ULL);
	if (cluster_tz_get(fz_zones[zi], &tz, &err))
		tz = NULL; /* no tzdata here: UTC */
	ret = cluster_cron_next(&c, tz, after, &n);
	if (ret) {
		if (ret != -ENOENT)
			abort();
		goto out;
	}
	if (n <= after || n > CLUSTER_TIME_MAX)
		abort();
	if (c.form == CLUSTER_CRON_EVERY) {
		if (n != after + c.every)
			abort();
		goto out;
	}
	if (cluster_tz_local(tz, n, &w, &info))
		abort();
	if (cluster_cron_matches(&c, &w) != fz_matches(&c, &w))
		abort();
	if (!fz_matches(&c, &w)) {
		/* only the first instant after a gap runs a time that never showed */
		if (info.since != n || cluster_tz_lookup(tz, n - 1, &prev) ||
		    prev.utoff >= info.utoff)
			abort();
	}
	if (cluster_cron_next(&c, tz, n - 1, &m) || m != n)
		abort();
	if (!tz || !strcmp(cluster_tz_name(tz), "UTC")) {
		if (n - after <= 3600) {
			for (int64_t t = after + 1; t < n; t++) {
				if (cluster_tz_local(NULL, t, &w, NULL) || fz_matches(&c, &w))
					abort();
			}
		}
	}
	/* the collapse: the runs in (after, after + span] */
	if (!cluster_cron_due(&c, tz, after, after + (int64_t)(raw >> 40) % 400000, &due)) {
		if (due.runs) {
			if (due.first != n || due.due < due.first ||
			    due.due > after + (int64_t)(raw >> 40) % 400000)
				abort();
			if (cluster_cron_next(&c, tz, due.due, &m) == 0 && due.has_next &&
			    m != due.next)
				abort();
		} else if (due.has_next && due.next != n) {
			abort();
		}
	}
out:
	cluster_tz_put(tz);
	return 0;
}
