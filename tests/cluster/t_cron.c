// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_cron.c - the schedule language of control/cluster/cron.c
 * from tables: what each form accepts and how it is told apart, every
 * refusal with its reason, and next runs across the forms, the day-of-week
 * numbering of 5-field cron and Quartz, Vixie cron's day rule, L/W/# in
 * months of 28 to 31 days, leap days, year fields, and DST in New York,
 * Berlin, Sydney, Lord Howe (a 30-minute shift), Sao Paulo (a midnight that
 * did not exist) and Apia (a day that did not exist). Then the missed-run
 * collapse of cluster_cron_due(), with its answers checked against a walk
 * over every run.
 *
 * Expected instants are RFC 3339 with their offsets, read with timegm(),
 * not through the code under test; the dates were checked against a
 * calendar (t_tz_oracle.py holds the same search against Python's
 * zoneinfo over many more instants).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/cluster/cluster.h"
#include "t_helpers.h"

static int64_t ts(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	int64_t off = 0;

	if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		t_error("bad time in the test: %s", s);
	if (s[n] == '+' || s[n] == '-') {
		if (sscanf(s + n + 1, "%d:%d", &oh, &om) != 2)
			t_error("bad offset in the test: %s", s);
		off = (s[n] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	} else if (s[n] != 'Z') {
		t_error("no offset in the test: %s", s);
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - off;
}

static struct cluster_tz *zone_for(const struct cluster_cron *c, const char *spec_zone)
{
	struct cluster_err err;
	struct cluster_tz *tz;
	const char *name;

	T_ASSERT(cluster_cron_zone(c, spec_zone, &name, &err) == 0, "zone: %s", err.msg);
	T_ASSERT(cluster_tz_get(name, &tz, &err) == 0, "%s: %s", name, err.msg);
	return tz;
}

static void parse_ok(const char *expr, struct cluster_cron *c)
{
	struct cluster_err err;
	int ret = cluster_cron_parse(expr, c, &err);

	T_ASSERT(ret == 0, "'%s' refused: %s", expr, err.msg);
	T_ASSERT(!err.code && !err.msg[0], "'%s': a reason after a success", expr);
}

/* ------------------------------------------------------------- accepted */

static void test_forms(void)
{
	static const struct {
		const char *expr;
		enum cluster_cron_form form;
		int64_t every;
		const char *zone;
	} rows[] = {
		{"0 0 1 * * ?", CLUSTER_CRON_QUARTZ, 0, ""},
		{"0 0 1 * * ? 2030", CLUSTER_CRON_QUARTZ, 0, ""},
		{"0/10 * * * * ?", CLUSTER_CRON_QUARTZ, 0, ""},
		{"0 1 * * *", CLUSTER_CRON_STANDARD, 0, ""},
		{"  0\t1  * * *\n", CLUSTER_CRON_STANDARD, 0, ""},
		{"@daily", CLUSTER_CRON_DESCRIPTOR, 0, ""},
		{"@midnight", CLUSTER_CRON_DESCRIPTOR, 0, ""},
		{"@every 1h30m", CLUSTER_CRON_EVERY, 5400, ""},
		{"@every 1.5h", CLUSTER_CRON_EVERY, 5400, ""},
		{"@every 90s", CLUSTER_CRON_EVERY, 90, ""},
		{"@every +90s", CLUSTER_CRON_EVERY, 90, ""},
		{"@every 2000ms", CLUSTER_CRON_EVERY, 2, ""},
		{"@every 1000000us", CLUSTER_CRON_EVERY, 1, ""},
		{"@every 1000000\xc2\xb5s", CLUSTER_CRON_EVERY, 1, ""},
		{"@every 1000000\xce\xbcs", CLUSTER_CRON_EVERY, 1, ""},
		{"@every 1000000000ns", CLUSTER_CRON_EVERY, 1, ""},
		{"@every .5m", CLUSTER_CRON_EVERY, 30, ""},
		{"@every 1.m", CLUSTER_CRON_EVERY, 60, ""},
		{"@every 0.25h0.25h", CLUSTER_CRON_EVERY, 1800, ""},
		{"@every 1.50000000000000000000000000h", CLUSTER_CRON_EVERY, 5400, ""},
		{"@every 2562047h", CLUSTER_CRON_EVERY, 2562047LL * 3600, ""},
		{"CRON_TZ=Europe/Berlin 0 1 * * *", CLUSTER_CRON_STANDARD, 0, "Europe/Berlin"},
		{"TZ=America/New_York 0 0 1 * * ?", CLUSTER_CRON_QUARTZ, 0, "America/New_York"},
		{"TZ=UTC @every 5m", CLUSTER_CRON_EVERY, 300, "UTC"},
		{"CRON_TZ=Asia/Kolkata @weekly", CLUSTER_CRON_DESCRIPTOR, 0, "Asia/Kolkata"},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cluster_cron c;

		parse_ok(rows[i].expr, &c);
		T_ASSERT(c.form == rows[i].form, "'%s': form %d", rows[i].expr, c.form);
		T_ASSERT(c.every == rows[i].every, "'%s': every %lld", rows[i].expr,
			 (long long)c.every);
		T_ASSERT(!strcmp(c.zone, rows[i].zone), "'%s': zone '%s'", rows[i].expr, c.zone);
	}
}

/* ------------------------------------------------------------- refused */

static void test_refused(void)
{
	static const struct {
		const char *expr, *why;
	} rows[] = {
		{"", "an empty schedule"},
		{"   \t", "an empty schedule"},
		{"* * * *", "4 fields"},
		{"* * * * * * * *", "more than 7 fields"},
		{"* * * * * * * * * * *", "more than 7 fields"},
		{"60 * * * *", "minute '60': 60 is outside 0-59"},
		{"* 24 * * *", "hour '24': 24 is outside 0-23"},
		{"* * 0 * *", "day-of-month '0': 0 is outside 1-31"},
		{"* * 1-32 * *", "day-of-month '1-32': 32 is outside 1-31"},
		{"* * * 13 *", "month '13': 13 is outside 1-12"},
		{"* * * 0 *", "month '0': 0 is outside 1-12"},
		{"* * * * 8",
		 "day-of-week '8': 8 is outside 0-7 (5-field cron: 0 and 7 are Sunday"},
		{"0 0 0 ? * 0",
		 "day-of-week '0': 0 is outside 1-7 (Quartz: 1 is Sunday, 7 Saturday)"},
		{"0 0 0 ? * 8", "day-of-week '8': 8 is outside 1-7"},
		{"60 0 0 ? * *", "second '60': 60 is outside 0-59"},
		{"*/0 * * * *", "minute '*/0': a step of 0"},
		{"*/90 * * * *", "a step of 90: steps are 1-60, and restart with each hour"},
		{"0 */25 * * *", "hour '*/25': a step of 25"},
		{"*/61 * * * * ?", "second '*/61': a step of 61"},
		{"0 0 */32 * *", "day-of-month '*/32': a step of 32"},
		{"0 22-2 * * *", "hour '22-2': the range 22-2 runs backwards"},
		{"0 0 * * FRI-MON", "the range 5-1 runs backwards"},
		{"0 0 * * 1/3", "a step from one day is read through 6 or through 7"},
		{"0 0 * * MONDAY", "day-of-week 'MONDAY': expected a number or a 3-letter name"},
		{"0 0 * * FOO", "expected a number or a 3-letter name"},
		{"0 0 * JANUARY *", "month 'JANUARY': expected a number or a 3-letter name"},
		{"0 MON * * *", "hour 'MON': expected a number"},
		{"0 0 ? * *",
		 "'?' is Quartz's (6-7 fields, seconds first); 5-field cron writes '*'"},
		{"0 0 * * ?", "'?' is Quartz's"},
		{"0 0 L * *", "day-of-month 'L': 'L', 'W' and '#' are Quartz's"},
		{"0 0 15W * *", "'L', 'W' and '#' are Quartz's"},
		{"0 0 * * 5L", "day-of-week '5L': 'L', 'W' and '#' are Quartz's"},
		{"0 0 * * 5#3", "'L', 'W' and '#' are Quartz's"},
		{"0 30 * * * *", "which needs '?' in day-of-month or day-of-week"},
		{"0 0 1 1 * junk", "which needs '?'"},
		{"0 0 0 ? * ?", "not both"},
		{"0 0 ? 1 * ?", "hour '?': '?' stands alone, in day-of-month or day-of-week"},
		{"0 0 0 ? ? MON", "month '?': '?' stands alone"},
		{"0 0 0 L,15 * ?", "day-of-month 'L,15': 'L' and 'W' take the whole field"},
		{"0 0 0 1-5W * ?", "'L' and 'W' take the whole field"},
		{"0 0 0 W * ?", "'L' and 'W' take the whole field"},
		{"0 0 0 LX * ?", "'L' and 'W' take the whole field"},
		{"0 0 0 L-31 * ?", "L-N counts 0-30 days back"},
		{"0 0 0 L- * ?", "L-N counts 0-30 days back"},
		{"0 0 0 32W * ?", "day-of-month '32W': 32 is outside 1-31"},
		{"0 0 0 0W * ?", "0 is outside 1-31"},
		{"0 0 0 ? * 6#6", "#6: a month has a 1st to a 5th"},
		{"0 0 0 ? * 6#0", "#0: a month has"},
		{"0 0 0 ? * 6#", "'L' and '#' take the whole field"},
		{"0 0 0 ? * 6#12", "'L' and '#' take the whole field"},
		{"0 0 0 ? * 8L", "day-of-week '8L': 8 is outside 1-7"},
		{"0 0 0 ? * 0#1", "0 is outside 1-7"},
		{"0 0 0 ? * 1-5L", "'L' and '#' take the whole field"},
		{"0 0 0 ? * 6L,2", "'L' and '#' take the whole field"},
		{"0 0 0 ? * LL", "'L' and '#' take the whole field"},
		{"0 0 0 1 1 ? 1969", "year '1969': 1969 is outside 1970-2099"},
		{"0 0 0 1 1 ? 2100", "2100 is outside 1970-2099"},
		{"0 0 30 2 *", "never fall on one date"},
		{"0 0 31 4,6,9,11 *", "never fall on one date"},
		{"0 0 0 30 2 ?", "never fall on one date"},
		{"0 0 0 L-30 2 ?", "never fall on one date"},
		{"0 0 0 29 2 ? 2097-2099", "no date in the years of the year field"},
		{"0 0 0 ? 2 2#5 2025-2027", "no date in the years"},
		{"0 0 */2 * MON", "crons differ on whether a day must match both or either"},
		{"0 0 5,* * MON", "crons differ"},
		{"0 0 1 * */2", "crons differ"},
		{"@daily 5", "@daily takes nothing after it"},
		{"@DAILY", "unknown '@DAILY'"},
		{"@reboot", "unknown '@reboot'"},
		{"@every", "@every takes one duration"},
		{"@every 1h 2m", "@every takes one duration"},
		{"@every 1500ms", "not a whole number of seconds"},
		{"@every 500ms", "not a whole number of seconds"},
		{"@every 1.0000000000000000001s", "not a whole number of seconds"},
		{"@every 0.0001h", "not a whole number of seconds"},
		{"@every 1d", "unit 'd' is not a Go duration unit"},
		{"@every 1hh", "unit 'hh'"},
		{"@every 1e3s", "unit 'e'"},
		{"@every 0", "a zero interval"},
		{"@every 0s", "a zero interval"},
		{"@every -1h", "a negative interval"},
		{"@every 1", "a number without a unit"},
		{"@every h", "not a Go duration"},
		{"@every .s", "not a Go duration"},
		{"@every +", "not a Go duration"},
		{"@every 2562048h", "longer than Go durations go"},
		{"@every 99999999999999999999999h", "longer than Go durations go"},
		{"CRON_TZ=../etc/passwd 0 0 * * *", "CRON_TZ prefix: time zone '../etc/passwd'"},
		{"TZ=/etc/localtime 0 0 * * *",
		 "TZ prefix: time zone '/etc/localtime': an absolute path"},
		{"CRON_TZ= 0 0 * * *", "CRON_TZ prefix: an empty time zone name"},
		{"CRON_TZ=Europe/Berlin", "nothing after the zone prefix"},
		{"CRON_TZ=Europe/Berlin TZ=UTC 0 0 * * *", "a second zone prefix 'TZ=UTC'"},
		{"0 0 1,,2 * *", "day-of-month '1,,2': an empty item in a list"},
		{"0 0 1, * *", "an empty item in a list"},
		{"0 0 1- * *", "expected a number after '-'"},
		{"0 0 1/ * *", "expected a step after '/'"},
		{"0 0 1x * *", "day-of-month '1X': unexpected 'X'"},
		{"0 0 \x01 * *", "day-of-month '?': expected a number"},
		{"0 0 00001 * *", "expected a number"},
		{"0 0 1 * * ? 20300", "expected a number"},
	};
	char longtext[1100];
	struct cluster_err err;
	struct cluster_cron c;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		int ret = cluster_cron_parse(rows[i].expr, &c, &err);

		T_ASSERT(ret == -EINVAL && err.code == -EINVAL, "'%s' was taken", rows[i].expr);
		T_ASSERT(strstr(err.msg, rows[i].why), "'%s': reason '%s' lacks '%s'", rows[i].expr,
			 err.msg, rows[i].why);
		T_ASSERT(!strchr(err.msg, '\n') && strlen(err.msg) < sizeof(err.msg) - 1,
			 "'%s': reason not one whole line: %s", rows[i].expr, err.msg);
	}
	memset(longtext, '1', sizeof(longtext) - 1);
	longtext[sizeof(longtext) - 1] = '\0';
	T_ASSERT(cluster_cron_parse(longtext, &c, &err) == -EINVAL && strstr(err.msg, "longer"),
		 "a 1099-character schedule: %s", err.msg);
	T_ASSERT(cluster_cron_parse(NULL, &c, &err) == -EINVAL, "NULL");
}

/* ------------------------------------------------------------ next runs */

struct next_row {
	const char *expr, *zone, *after;
	const char *next[4]; /* the next runs in order; NULL ends, "ENOENT" for none */
};

static void check_next(const struct next_row *r)
{
	struct cluster_cron c;
	struct cluster_tz *tz;
	int64_t t = ts(r->after);

	parse_ok(r->expr, &c);
	tz = zone_for(&c, r->zone);
	for (int k = 0; k < 4 && r->next[k]; k++) {
		int64_t n = 0;
		int ret = cluster_cron_next(&c, tz, t, &n);
		char got[40] = "", want[40] = "";

		if (!strcmp(r->next[k], "ENOENT")) {
			T_ASSERT(ret == -ENOENT, "'%s' after %s: run %d exists", r->expr, r->after,
				 k);
			break;
		}
		cluster_tz_format(tz, n, got, sizeof(got));
		cluster_tz_format(tz, ts(r->next[k]), want, sizeof(want));
		T_ASSERT(ret == 0 && n == ts(r->next[k]),
			 "'%s' in %s after %s, run %d: %s (%d), expected %s", r->expr,
			 cluster_tz_name(tz), r->after, k + 1, got, ret, want);
		T_ASSERT(n > t, "not strictly after");
		t = n;
	}
	cluster_tz_put(tz);
}

static void test_next_forms(void)
{
	static const struct next_row rows[] = {
		/* the cookbook's Velero schedule: Quartz, daily at 01:00:00 */
		{"0 0 1 * * ?",
		 NULL,
		 "2024-05-05T12:00:00Z",
		 {"2024-05-06T01:00:00Z", "2024-05-07T01:00:00Z"}},
		{"0 0 1 * * ?", NULL, "2024-05-06T01:00:00Z", {"2024-05-07T01:00:00Z"}},
		{"0 0 1 * * ?", NULL, "2024-05-06T00:59:59Z", {"2024-05-06T01:00:00Z"}},
		{"0/10 * * * * ?",
		 NULL,
		 "2024-05-06T12:00:05Z",
		 {"2024-05-06T12:00:10Z", "2024-05-06T12:00:20Z"}},
		{"30 15 10 ? * MON-FRI",
		 NULL,
		 "2024-05-03T11:00:00Z",
		 {"2024-05-06T10:15:30Z", "2024-05-07T10:15:30Z"}},
		{"*/15 * * * *",
		 NULL,
		 "2024-01-01T00:07:00Z",
		 {"2024-01-01T00:15:00Z", "2024-01-01T00:30:00Z"}},
		{"5/15 * * * *",
		 NULL,
		 "2024-01-01T00:07:00Z",
		 {"2024-01-01T00:20:00Z", "2024-01-01T00:35:00Z", "2024-01-01T00:50:00Z",
		  "2024-01-01T01:05:00Z"}},
		{"10-20/5,59 3 * * *",
		 NULL,
		 "2024-01-01T03:12:00Z",
		 {"2024-01-01T03:15:00Z", "2024-01-01T03:20:00Z", "2024-01-01T03:59:00Z",
		  "2024-01-02T03:10:00Z"}},
		{"0 9 * jan,Jul mon-fri",
		 NULL,
		 "2024-06-28T12:00:00Z",
		 {"2024-07-01T09:00:00Z", "2024-07-02T09:00:00Z"}},
		{"59 23 31 12 *", NULL, "2024-12-31T23:59:00Z", {"2025-12-31T23:59:00Z"}},
		{"@hourly", NULL, "2024-05-06T10:30:00Z", {"2024-05-06T11:00:00Z"}},
		{"@daily", NULL, "2024-05-06T10:30:00Z", {"2024-05-07T00:00:00Z"}},
		{"@midnight", NULL, "2024-05-06T00:00:00Z", {"2024-05-07T00:00:00Z"}},
		{"@weekly", NULL, "2024-05-01T10:30:00Z", {"2024-05-05T00:00:00Z"}},
		{"@monthly", NULL, "2024-05-01T00:00:00Z", {"2024-06-01T00:00:00Z"}},
		{"@yearly", NULL, "2024-05-01T00:00:00Z", {"2025-01-01T00:00:00Z"}},
		{"@annually", NULL, "2024-12-31T23:59:59Z", {"2025-01-01T00:00:00Z"}},
		{"@every 1h30m",
		 NULL,
		 "2024-05-06T10:00:07Z",
		 {"2024-05-06T11:30:07Z", "2024-05-06T13:00:07Z"}},
		/* a Quartz year field, and its end */
		{"0 0 12 1 1 ? 2030",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2030-01-01T12:00:00Z", "ENOENT"}},
		{"0 0 0 1 1 ? 2025/5",
		 NULL,
		 "2026-01-01T00:00:00Z",
		 {"2030-01-01T00:00:00Z", "2035-01-01T00:00:00Z"}},
		{"0 0 0 1 1 ? 2098,2020-2021",
		 NULL,
		 "2020-06-01T00:00:00Z",
		 {"2021-01-01T00:00:00Z", "2098-01-01T00:00:00Z", "ENOENT"}},
		{"0 0 0 1 1 ? *", NULL, "2099-06-01T00:00:00Z", {"2100-01-01T00:00:00Z"}},
		/* the end of time */
		{"0 0 1 1 *", NULL, "9999-06-01T00:00:00Z", {"ENOENT"}},
		{"59 23 31 12 *", NULL, "9999-12-31T23:58:59Z", {"9999-12-31T23:59:00Z", "ENOENT"}},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_next(&rows[i]);
}

/* 2024-05-01 is a Wednesday. */
static void test_next_days(void)
{
	static const struct next_row rows[] = {
		/* 5-field cron: 0 and 7 Sunday, 1 Monday; Quartz: 1 Sunday, 7 Saturday */
		{"0 0 * * 0", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T00:00:00Z"}},
		{"0 0 * * 7", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T00:00:00Z"}},
		{"0 0 * * 1", NULL, "2024-05-01T00:00:00Z", {"2024-05-06T00:00:00Z"}},
		{"0 0 * * 6", NULL, "2024-05-01T00:00:00Z", {"2024-05-04T00:00:00Z"}},
		{"0 0 0 ? * 1", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T00:00:00Z"}},
		{"0 0 0 ? * 2", NULL, "2024-05-01T00:00:00Z", {"2024-05-06T00:00:00Z"}},
		{"0 0 0 ? * 7", NULL, "2024-05-01T00:00:00Z", {"2024-05-04T00:00:00Z"}},
		{"0 0 0 ? * SUN", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T00:00:00Z"}},
		{"0 0 * * SUN", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T00:00:00Z"}},
		{"0 0 * * 5-7",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-03T00:00:00Z", "2024-05-04T00:00:00Z", "2024-05-05T00:00:00Z",
		  "2024-05-10T00:00:00Z"}},
		{"0 0 * * */2",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-02T00:00:00Z", "2024-05-04T00:00:00Z", "2024-05-05T00:00:00Z",
		  "2024-05-07T00:00:00Z"}},
		{"0 0 * * 1-7/2",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-03T00:00:00Z", "2024-05-05T00:00:00Z", "2024-05-06T00:00:00Z"}},
		{"0 0 0 ? * */2",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-02T00:00:00Z", "2024-05-04T00:00:00Z", "2024-05-05T00:00:00Z",
		  "2024-05-07T00:00:00Z"}},
		{"0 0 0 ? * 2/2",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-03T00:00:00Z", "2024-05-06T00:00:00Z"}},
		/* Vixie's day rule: both restricted, either matches */
		{"0 0 13 * FRI",
		 NULL,
		 "2024-09-01T00:00:00Z",
		 {"2024-09-06T00:00:00Z", "2024-09-13T00:00:00Z", "2024-09-20T00:00:00Z",
		  "2024-09-27T00:00:00Z"}},
		{"0 0 13 * FRI",
		 NULL,
		 "2024-10-11T00:00:00Z",
		 {"2024-10-13T00:00:00Z", "2024-10-18T00:00:00Z"}},
		{"0 0 1-31 * MON", NULL, "2024-05-01T00:00:00Z", {"2024-05-02T00:00:00Z"}},
		{"0 0 * * MON", NULL, "2024-05-01T00:00:00Z", {"2024-05-06T00:00:00Z"}},
		{"0 0 */1 * MON", NULL, "2024-05-01T00:00:00Z", {"2024-05-06T00:00:00Z"}},
		{"0 0 1 * *", NULL, "2024-05-01T00:00:00Z", {"2024-06-01T00:00:00Z"}},
		{"0 0 */2 * *", NULL, "2024-05-01T00:00:00Z", {"2024-05-03T00:00:00Z"}},
		/* L, W, #: months of 28, 29, 30 and 31 days */
		{"0 0 12 L * ?",
		 NULL,
		 "2023-02-01T00:00:00Z",
		 {"2023-02-28T12:00:00Z", "2023-03-31T12:00:00Z", "2023-04-30T12:00:00Z"}},
		{"0 0 12 L * ?", NULL, "2024-01-31T12:00:00Z", {"2024-02-29T12:00:00Z"}},
		{"0 0 12 L-3 * ?",
		 NULL,
		 "2023-02-01T00:00:00Z",
		 {"2023-02-25T12:00:00Z", "2023-03-28T12:00:00Z"}},
		{"0 0 12 L-30 * ?", NULL, "2024-02-01T00:00:00Z", {"2024-03-01T12:00:00Z"}},
		{"0 0 12 1W * ?", NULL, "2021-12-15T00:00:00Z", {"2022-01-03T12:00:00Z"}},
		{"0 0 12 1W * ?", NULL, "2021-07-15T00:00:00Z", {"2021-08-02T12:00:00Z"}},
		{"0 0 12 15W * ?", NULL, "2024-06-01T00:00:00Z", {"2024-06-14T12:00:00Z"}},
		{"0 0 12 16W * ?", NULL, "2024-06-01T00:00:00Z", {"2024-06-17T12:00:00Z"}},
		{"0 0 12 31W * ?",
		 NULL,
		 "2022-07-01T00:00:00Z",
		 {"2022-07-29T12:00:00Z", "2022-08-31T12:00:00Z", "2022-10-31T12:00:00Z"}},
		{"0 0 12 30W * ?", NULL, "2023-02-01T00:00:00Z", {"2023-03-30T12:00:00Z"}},
		{"0 0 12 LW * ?", NULL, "2022-07-01T00:00:00Z", {"2022-07-29T12:00:00Z"}},
		{"0 0 12 LW * ?", NULL, "2022-04-01T00:00:00Z", {"2022-04-29T12:00:00Z"}},
		{"0 0 12 L-1W * ?", NULL, "2022-07-01T00:00:00Z", {"2022-07-29T12:00:00Z"}},
		{"0 0 12 ? * 6L",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-31T12:00:00Z", "2024-06-28T12:00:00Z"}},
		{"0 0 12 ? * FRIL", NULL, "2024-05-01T00:00:00Z", {"2024-05-31T12:00:00Z"}},
		{"0 0 12 ? * 6#3",
		 NULL,
		 "2024-05-01T00:00:00Z",
		 {"2024-05-17T12:00:00Z", "2024-06-21T12:00:00Z"}},
		{"0 0 12 ? * fri#3", NULL, "2024-05-01T00:00:00Z", {"2024-05-17T12:00:00Z"}},
		{"0 0 12 ? * 2#5", NULL, "2024-05-01T00:00:00Z", {"2024-07-29T12:00:00Z"}},
		{"0 0 12 ? * 1#1", NULL, "2024-05-01T00:00:00Z", {"2024-05-05T12:00:00Z"}},
		{"0 0 12 ? * L", NULL, "2024-05-01T00:00:00Z", {"2024-05-04T12:00:00Z"}},
		{"0 0 0 L 2 ?",
		 NULL,
		 "2024-03-01T00:00:00Z",
		 {"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z", "2027-02-28T00:00:00Z",
		  "2028-02-29T00:00:00Z"}},
		/* leap days */
		{"0 0 29 2 *",
		 NULL,
		 "2023-01-01T00:00:00Z",
		 {"2024-02-29T00:00:00Z", "2028-02-29T00:00:00Z"}},
		{"0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
		{"0 0 0 29 2 ?", NULL, "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
		{"0 0 0 29 2 ? 2096-2099", NULL, "2096-03-01T00:00:00Z", {"ENOENT"}},
		{"0 0 29 2 1",
		 NULL,
		 "2023-02-01T00:00:00Z",
		 {"2023-02-06T00:00:00Z", "2023-02-13T00:00:00Z"}},
		{"0 0 12 ? 2 2#5", NULL, "2020-01-01T00:00:00Z", {"2044-02-29T12:00:00Z"}},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_next(&rows[i]);
}

static void test_next_dst(void)
{
	static const struct next_row rows[] = {
		/* New York, spring forward 2024-03-10 02:00 EST -> 03:00 EDT */
		{"30 2 * * *",
		 "America/New_York",
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"}},
		{"0 2 * * *",
		 "America/New_York",
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00"}},
		{"0 3 * * *",
		 "America/New_York",
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00"}},
		{"30 30 2 * * ?",
		 "America/New_York",
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00"}},
		{"0 * * * *",
		 "America/New_York",
		 "2024-03-10T00:30:00-05:00",
		 {"2024-03-10T01:00:00-05:00", "2024-03-10T03:00:00-04:00",
		  "2024-03-10T04:00:00-04:00"}},
		{"*/20 * * * *",
		 "America/New_York",
		 "2024-03-10T01:30:00-05:00",
		 {"2024-03-10T01:40:00-05:00", "2024-03-10T03:00:00-04:00",
		  "2024-03-10T03:20:00-04:00"}},
		/* New York, fall back 2024-11-03 02:00 EDT -> 01:00 EST: the first 01:30 */
		{"30 1 * * *",
		 "America/New_York",
		 "2024-11-02T12:00:00-04:00",
		 {"2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"}},
		{"30 1 * * *",
		 "America/New_York",
		 "2024-11-03T01:10:00-05:00",
		 {"2024-11-04T01:30:00-05:00"}},
		{"45 1 * * *",
		 "America/New_York",
		 "2024-11-03T01:50:00-04:00",
		 {"2024-11-04T01:45:00-05:00"}},
		{"0 * * * *",
		 "America/New_York",
		 "2024-11-03T00:00:00-04:00",
		 {"2024-11-03T01:00:00-04:00", "2024-11-03T02:00:00-05:00",
		  "2024-11-03T03:00:00-05:00"}},
		{"@every 1h",
		 "America/New_York",
		 "2024-11-03T01:30:00-04:00",
		 {"2024-11-03T01:30:00-05:00", "2024-11-03T02:30:00-05:00"}},
		{"CRON_TZ=America/New_York 30 2 * * *",
		 NULL,
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00"}},
		{"TZ=America/New_York 0 30 2 * * ?",
		 NULL,
		 "2024-03-09T12:00:00-05:00",
		 {"2024-03-10T03:00:00-04:00"}},
		/* Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET */
		{"30 2 * * *",
		 "Europe/Berlin",
		 "2024-03-30T12:00:00+01:00",
		 {"2024-03-31T03:00:00+02:00", "2024-04-01T02:30:00+02:00"}},
		{"30 2 * * *",
		 "Europe/Berlin",
		 "2024-10-26T12:00:00+02:00",
		 {"2024-10-27T02:30:00+02:00", "2024-10-28T02:30:00+01:00"}},
		{"0 0 2 ? * SUN",
		 "Europe/Berlin",
		 "2024-03-30T12:00:00+01:00",
		 {"2024-03-31T03:00:00+02:00", "2024-04-07T02:00:00+02:00"}},
		/* Sydney: 2024-10-06 02:00 AEST -> 03:00 AEDT; 2024-04-07 03:00 AEDT -> 02:00 AEST */
		{"30 2 * * *",
		 "Australia/Sydney",
		 "2024-10-05T12:00:00+10:00",
		 {"2024-10-06T03:00:00+11:00", "2024-10-07T02:30:00+11:00"}},
		{"30 2 * * *",
		 "Australia/Sydney",
		 "2024-04-06T12:00:00+11:00",
		 {"2024-04-07T02:30:00+11:00", "2024-04-08T02:30:00+10:00"}},
		/* Lord Howe: 30 minutes; 2024-10-06 02:00 -> 02:30; 2024-04-07 02:00 -> 01:30 */
		{"15 2 * * *",
		 "Australia/Lord_Howe",
		 "2024-10-05T12:00:00+10:30",
		 {"2024-10-06T02:30:00+11:00", "2024-10-07T02:15:00+11:00"}},
		{"45 1 * * *",
		 "Australia/Lord_Howe",
		 "2024-04-06T12:00:00+11:00",
		 {"2024-04-07T01:45:00+11:00", "2024-04-08T01:45:00+10:30"}},
		{"*/15 1-2 * * *",
		 "Australia/Lord_Howe",
		 "2024-04-07T01:40:00+11:00",
		 {"2024-04-07T01:45:00+11:00", "2024-04-07T02:00:00+10:30"}},
		/* Sao Paulo's missing midnight, 2018-11-04 00:00 -> 01:00 */
		{"0 0 * * *",
		 "America/Sao_Paulo",
		 "2018-11-03T12:00:00-03:00",
		 {"2018-11-04T01:00:00-02:00", "2018-11-05T00:00:00-02:00"}},
		/* Apia skipped 2011-12-30: its runs go to the first instant of the 31st, once */
		{"0 12 * * *",
		 "Pacific/Apia",
		 "2011-12-29T13:00:00-10:00",
		 {"2011-12-31T00:00:00+14:00", "2011-12-31T12:00:00+14:00"}},
		{"0 0 * * *",
		 "Pacific/Apia",
		 "2011-12-29T13:00:00-10:00",
		 {"2011-12-31T00:00:00+14:00", "2012-01-01T00:00:00+14:00"}},
		/* far in the footer's rule */
		{"30 2 * * *",
		 "America/New_York",
		 "2999-03-09T12:00:00-05:00",
		 {"2999-03-10T03:00:00-04:00"}},
		/* a zone given by spec.timeZone with a Quartz year */
		{"0 0 0 1 1 ? 2030",
		 "Asia/Kolkata",
		 "2024-01-01T00:00:00Z",
		 {"2030-01-01T00:00:00+05:30"}},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_next(&rows[i]);
}

static void test_bounds(void)
{
	struct cluster_cron c;
	int64_t n;

	parse_ok("* * * * *", &c);
	T_ASSERT(cluster_cron_next(&c, NULL, CLUSTER_TIME_MAX + 1, &n) == -ERANGE, "past 9999");
	T_ASSERT(cluster_cron_next(&c, NULL, CLUSTER_TIME_MIN - 1, &n) == -ERANGE, "before 0001");
	T_ASSERT(cluster_cron_next(&c, NULL, CLUSTER_TIME_MIN, &n) == 0 &&
			 n == CLUSTER_TIME_MIN + 60,
		 "from 0001-01-01: %lld", (long long)n);
	T_ASSERT(cluster_cron_next(&c, NULL, CLUSTER_TIME_MAX - 59, &n) == -ENOENT,
		 "the last minute");
	parse_ok("@every 2562047h", &c);
	T_ASSERT(cluster_cron_next(&c, NULL, CLUSTER_TIME_MAX - 10, &n) == -ENOENT, "@every past");
}

static void test_matches(void)
{
	static const struct {
		const char *expr, *wall;
		bool match;
	} rows[] = {
		{"0 0 12 ? * 6#3", "2024-05-17 12:00:00", true},
		{"0 0 12 ? * 6#3", "2024-05-10 12:00:00", false},
		{"0 0 12 ? * 6#3", "2024-05-17 12:00:01", false},
		{"0 0 13 * FRI", "2024-10-13 00:00:00", true},
		{"0 0 13 * FRI", "2024-10-18 00:00:00", true},
		{"0 0 13 * FRI", "2024-10-19 00:00:00", false},
		{"0 0 * * 7", "2024-05-05 00:00:00", true},
		{"0 0 0 ? * 7", "2024-05-05 00:00:00", false},
		{"0 0 0 ? * 7", "2024-05-04 00:00:00", true},
		{"0 0 12 1W * ?", "2022-01-03 12:00:00", true},
		{"0 0 12 1W * ?", "2022-01-01 12:00:00", false},
		{"0 0 0 1 1 ? 2030", "2030-01-01 00:00:00", true},
		{"0 0 0 1 1 ? 2030", "2031-01-01 00:00:00", false},
		{"0 0 * * *", "2023-02-29 00:00:00", false},
		{"@every 1h", "2024-01-01 00:00:00", false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cluster_cron c;
		struct cluster_civil w = {0};

		parse_ok(rows[i].expr, &c);
		sscanf(rows[i].wall, "%d-%d-%d %d:%d:%d", &w.year, &w.mon, &w.mday, &w.hour, &w.min,
		       &w.sec);
		w.wday = 3; /* not trusted */
		T_ASSERT(cluster_cron_matches(&c, &w) == rows[i].match, "'%s' at %s", rows[i].expr,
			 rows[i].wall);
	}
}

/* ------------------------------------------------------------ zone choice */

static void test_zone(void)
{
	struct cluster_err err;
	struct cluster_cron c;
	const char *name;

	parse_ok("CRON_TZ=Europe/Berlin 0 1 * * *", &c);
	T_ASSERT(cluster_cron_zone(&c, NULL, &name, &err) == 0 && !strcmp(name, "Europe/Berlin"),
		 "prefix");
	T_ASSERT(cluster_cron_zone(&c, "", &name, &err) == 0 && !strcmp(name, "Europe/Berlin"),
		 "prefix, empty timeZone");
	T_ASSERT(cluster_cron_zone(&c, "Europe/Berlin", &name, &err) == -EINVAL &&
			 strstr(err.msg, "given twice"),
		 "both: %s", err.msg);
	parse_ok("0 1 * * *", &c);
	T_ASSERT(cluster_cron_zone(&c, "Asia/Tokyo", &name, &err) == 0 &&
			 !strcmp(name, "Asia/Tokyo"),
		 "timeZone");
	T_ASSERT(cluster_cron_zone(&c, NULL, &name, &err) == 0 && !strcmp(name, "UTC"), "default");
	T_ASSERT(cluster_cron_zone(&c, "../x", &name, &err) == -EINVAL && strstr(err.msg, "'..'"),
		 "a bad timeZone: %s", err.msg);

	T_ASSERT(cluster_schedule_check("0 0 1 * * ?", "America/New_York", &err) == 0, "%s",
		 err.msg);
	T_ASSERT(cluster_schedule_check("0 0 1 * * ?", "Mars/Olympus_Mons", &err) == -ENOENT &&
			 strstr(err.msg, "unknown time zone 'Mars/Olympus_Mons'"),
		 "%s", err.msg);
	T_ASSERT(cluster_schedule_check("CRON_TZ=Etc/Nowhere @daily", NULL, &err) == -ENOENT, "%s",
		 err.msg);
	T_ASSERT(cluster_schedule_check("0 0 1 * *  *", NULL, &err) == -EINVAL, "%s", err.msg);
}

/* ------------------------------------------------------------ missed runs */

struct due_row {
	const char *expr, *zone, *last, *now;
	uint32_t runs;
	bool more;
	const char *first, *due, *next; /* next NULL: none */
};

static void check_due(const struct due_row *r)
{
	struct cluster_cron c;
	struct cluster_cron_due d;
	struct cluster_tz *tz;
	int64_t last = ts(r->last), now = ts(r->now);

	parse_ok(r->expr, &c);
	tz = zone_for(&c, r->zone);
	T_ASSERT(cluster_cron_due(&c, tz, last, now, &d) == 0, "'%s': due", r->expr);
	T_ASSERT(d.runs == r->runs && d.more == r->more, "'%s' %s..%s: %u runs%s, expected %u",
		 r->expr, r->last, r->now, d.runs, d.more ? " and more" : "", r->runs);
	if (r->runs) {
		T_ASSERT(d.first == ts(r->first), "'%s': first %lld", r->expr, (long long)d.first);
		T_ASSERT(d.due == ts(r->due), "'%s': due %lld, expected %s", r->expr,
			 (long long)d.due, r->due);
	}
	T_ASSERT(d.has_next == (r->next != NULL), "'%s': has_next %d", r->expr, d.has_next);
	if (r->next)
		T_ASSERT(d.next == ts(r->next), "'%s': next %lld, expected %s", r->expr,
			 (long long)d.next, r->next);
	/* against a walk over every run, where there are few enough */
	if (!d.more && c.form != CLUSTER_CRON_EVERY) {
		int64_t t = last, n, lastrun = 0;
		uint32_t k = 0;

		while (!cluster_cron_next(&c, tz, t, &n) && n <= now) {
			lastrun = n;
			k++;
			t = n;
		}
		T_ASSERT(k == d.runs && (!k || lastrun == d.due), "'%s': the walk found %u runs",
			 r->expr, k);
	}
	cluster_tz_put(tz);
}

static void test_due(void)
{
	static const struct due_row rows[] = {
		/* an outage of four days: one run, for the latest slot; three skipped */
		{"0 0 * * *", NULL, "2024-05-01T00:00:00Z", "2024-05-05T12:00:00Z", 4, false,
		 "2024-05-02T00:00:00Z", "2024-05-05T00:00:00Z", "2024-05-06T00:00:00Z"},
		{"0 0 * * *", NULL, "2024-05-01T00:00:00Z", "2024-05-01T12:00:00Z", 0, false, NULL,
		 NULL, "2024-05-02T00:00:00Z"},
		{"0 0 * * *", NULL, "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 1, false,
		 "2024-05-02T00:00:00Z", "2024-05-02T00:00:00Z", "2024-05-03T00:00:00Z"},
		{"0 0 * * *", NULL, "2024-05-03T00:00:00Z", "2024-05-01T00:00:00Z", 0, false, NULL,
		 NULL, "2024-05-04T00:00:00Z"},
		/* a year of an hourly schedule: counted to 1000 */
		{"0 * * * *", NULL, "2023-05-01T00:00:00Z", "2024-05-01T00:30:00Z", 1000, true,
		 "2023-05-01T01:00:00Z", "2024-05-01T00:00:00Z", "2024-05-01T01:00:00Z"},
		{"* * * * * ?", NULL, "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 1000, true,
		 "2024-05-01T00:00:01Z", "2024-05-02T00:00:00Z", "2024-05-02T00:00:01Z"},
		/* the issue's test schedule */
		{"0/10 * * * * ?", NULL, "2024-05-01T00:00:00Z", "2024-05-01T00:00:35Z", 3, false,
		 "2024-05-01T00:00:10Z", "2024-05-01T00:00:30Z", "2024-05-01T00:00:40Z"},
		/* @every keeps the phase of the last run */
		{"@every 1h", NULL, "2024-05-01T00:00:07Z", "2024-05-01T03:30:00Z", 3, false,
		 "2024-05-01T01:00:07Z", "2024-05-01T03:00:07Z", "2024-05-01T04:00:07Z"},
		{"@every 1h", NULL, "2024-05-01T00:00:07Z", "2024-05-01T00:30:00Z", 0, false, NULL,
		 NULL, "2024-05-01T01:00:07Z"},
		{"@every 1s", NULL, "2024-05-01T00:00:00Z", "2024-05-02T00:00:00Z", 1000, true,
		 "2024-05-01T00:00:01Z", "2024-05-02T00:00:00Z", "2024-05-02T00:00:01Z"},
		/* the year field runs out */
		{"0 0 12 1 1 ? 2030", NULL, "2029-06-01T00:00:00Z", "2031-01-01T00:00:00Z", 1,
		 false, "2030-01-01T12:00:00Z", "2030-01-01T12:00:00Z", NULL},
		/* across New York's fall back: 01:30 ran once */
		{"30 1 * * *", "America/New_York", "2024-11-02T01:30:00-04:00",
		 "2024-11-03T03:00:00-05:00", 1, false, "2024-11-03T01:30:00-04:00",
		 "2024-11-03T01:30:00-04:00", "2024-11-04T01:30:00-05:00"},
		/* across the spring forward: 02:30 ran at 03:00 */
		{"30 2 * * *", "America/New_York", "2024-03-08T02:30:00-05:00",
		 "2024-03-10T12:00:00-04:00", 2, false, "2024-03-09T02:30:00-05:00",
		 "2024-03-10T03:00:00-04:00", "2024-03-11T02:30:00-04:00"},
		{"*/20 * * * *", "America/New_York", "2024-03-10T01:30:00-05:00",
		 "2024-03-10T03:10:00-04:00", 2, false, "2024-03-10T01:40:00-05:00",
		 "2024-03-10T03:00:00-04:00", "2024-03-10T03:20:00-04:00"},
	};
	struct cluster_cron c;
	struct cluster_cron_due d;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_due(&rows[i]);
	parse_ok("@daily", &c);
	T_ASSERT(cluster_cron_due(&c, NULL, CLUSTER_TIME_MIN - 1, 0, &d) == -ERANGE, "last range");
	T_ASSERT(cluster_cron_due(&c, NULL, 0, CLUSTER_TIME_MAX + 1, &d) == -ERANGE, "now range");
}

/* next() is the first run after any instant: from one second before a run, that run. */
static void test_consistency(void)
{
	static const char *const exprs[] = {
		"*/7 * * * *",	  "0 30 2 * * ?",  "0 0 12 L-2W * ?", "0 0 13 * FRI",
		"15 1-3 * * SUN", "0 0 0 ? * 6#5", "@hourly",	      "0 0/30 1 ? * 1L",
	};
	static const char *const zones[] = {
		"UTC",
		"America/New_York",
		"Europe/Berlin",
		"Australia/Lord_Howe",
		"America/Santiago",
	};
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		for (size_t z = 0; z < sizeof(zones) / sizeof(zones[0]); z++) {
			struct cluster_cron c;
			struct cluster_tz *tz;

			parse_ok(exprs[e], &c);
			tz = zone_for(&c, zones[z]);
			for (int k = 0; k < 200; k++) {
				int64_t after, n, m;

				seed ^= seed << 13;
				seed ^= seed >> 7;
				seed ^= seed << 17;
				after = (int64_t)(seed % (200ULL * 365 * 86400)) +
					ts("1950-01-01T00:00:00Z");
				T_ASSERT(cluster_cron_next(&c, tz, after, &n) == 0 && n > after,
					 "'%s' in %s after %lld", exprs[e], zones[z],
					 (long long)after);
				T_ASSERT(cluster_cron_next(&c, tz, n - 1, &m) == 0 && m == n,
					 "'%s' in %s: from %lld - 1 the next is %lld", exprs[e],
					 zones[z], (long long)n, (long long)m);
			}
			cluster_tz_put(tz);
		}
	}
}

int main(void)
{
	test_forms();
	test_refused();
	test_matches();
	test_bounds();
	if (access(CLUSTER_TZDIR "/America/New_York", R_OK))
		t_skip("no %s/America/New_York: tzdata is not installed (tests/install-deps.sh)",
		       CLUSTER_TZDIR);
	test_next_forms();
	test_next_days();
	test_next_dst();
	test_zone();
	test_due();
	test_consistency();
	printf("t_cron: forms, refusals, next runs (days, L/W/#, leap days, years, DST), missed runs: ok\n");
	return 0;
}
