// SPDX-License-Identifier: MIT
/*
 * datapath/maint.c - forget's retention rules: which snapshots of a volume a
 * policy keeps (dp_forget_plan()). The other maintenance verbs have files of
 * their own: scan.c (what they share), check.c, stats.c, prune.c, repack.c,
 * and purge.c (deleting, forget's deletes included).
 */
#include <stdlib.h>
#include <time.h>

#include "dp_int.h"

/* ----------------------------------------------------------------- forget */

/* A snapshot's time bucket for a GFS rule, in UTC. */
static int64_t forget_bucket(int64_t us, int rule)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	switch (rule) {
	case 0: /* hourly */
		return ((int64_t)(tm.tm_year + 1900) * 1000 + tm.tm_yday) * 100 + tm.tm_hour;
	case 1: /* daily */
		return (int64_t)(tm.tm_year + 1900) * 1000 + tm.tm_yday;
	case 2: { /* weekly: ISO 8601 week */
		char buf[16];

		strftime(buf, sizeof(buf), "%G%V", &tm);
		return strtoll(buf, NULL, 10);
	}
	case 3: /* monthly */
		return (int64_t)(tm.tm_year + 1900) * 100 + tm.tm_mon;
	default: /* yearly */
		return tm.tm_year + 1900;
	}
}

void dp_forget_plan(const struct dp_snapshot *const *s, size_t n, const struct dp_forget_policy *p,
		    bool *keep, const char **why)
{
	const uint32_t counts[5] = {p->keep_hourly, p->keep_daily, p->keep_weekly, p->keep_monthly,
				    p->keep_yearly};
	static const char *const names[5] = {"hourly", "daily", "weekly", "monthly", "yearly"};

	/* @s is newest first */
	for (size_t i = 0; i < n; i++) {
		keep[i] = false;
		why[i] = NULL;
		if (i < p->keep_last) {
			keep[i] = true;
			why[i] = "last";
		} else if (p->ttl && p->now - s[i]->time_end / 1000000 < p->ttl) {
			keep[i] = true;
			why[i] = "within ttl";
		}
	}
	for (int rule = 0; rule < 5; rule++) {
		uint32_t left = counts[rule];
		int64_t last = INT64_MIN;

		for (size_t i = 0; i < n && left; i++) {
			int64_t b = forget_bucket(s[i]->time_end, rule);

			if (b == last)
				continue; /* a newer one of this bucket was taken */
			last = b;
			left--;
			if (!keep[i]) {
				keep[i] = true;
				why[i] = names[rule];
			}
		}
	}
}
