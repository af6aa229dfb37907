// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_retention.c - the retention decision (dp_retention_select(),
 * datapath/retention.c) from a table: snapshot times and a policy, and for
 * each snapshot exactly what happens to it and why. It is the code that
 * deletes backups, run unattended by the Schedule controller, so the rows
 * aim at the calendar's edges: ISO week 53 (Monday 2026-12-28 to Sunday
 * 2027-01-03; 2027-01-04 opens 2027-W01), ISO week 1 starting in December,
 * year and month ends, a leap day, times before 1970, several snapshots in
 * one bucket, overlapping rules, and the TTL, which is an expiry: it removes
 * what the counting rules would keep.
 *
 * A snapshot line is "[GROUP@]YYYY-MM-DDTHH:MM:SS VERDICT": VERDICT is "-"
 * (removed, no rule keeps it), the rules that keep it ("last,daily"),
 * "expired" (the TTL removes it and no rule would keep it) or
 * "expired:RULES" (the TTL removes what RULES would keep). Ids follow the
 * lines (s00, s01, ...), so of two equal times the later line is the newer.
 *
 * `t_retention --dump` prints each row with ferry's own verdicts as JSON
 * lines for t_retention_restic.py, which puts the same times into a restic
 * repository and compares restic 0.14's `forget` with them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "datapath/dp.h"
#include "t_helpers.h"

#define ROW_MAX 32

struct row {
	const char *name;
	const char *policy; /* "last=2 daily=7 ttl=30d now=2027-03-15T00:00:00" */
	bool restic;	    /* compared with restic by t_retention_restic.py */
	const char *snaps[ROW_MAX];
};

static const struct row rows[] = {
	{"empty input", "last=3", true, {NULL}},
	{"one snapshot", "daily=1", true, {"2026-12-28T10:00:00 daily"}},
	{"one snapshot, a TTL alone",
	 "ttl=7d now=2026-12-28T12:00:00",
	 true,
	 {"2026-12-28T10:00:00 within ttl"}},
	{"several snapshots in one day: the newest of the day",
	 "daily=2",
	 true,
	 {"2026-11-29T10:00:00 -", "2026-11-30T10:00:00 daily", "2026-12-01T08:00:00 -",
	  "2026-12-01T12:00:00 -", "2026-12-01T23:59:59 daily"}},
	{"hourly: an hour without snapshots is not counted",
	 "hourly=3",
	 true,
	 {"2026-12-01T10:05:00 -", "2026-12-01T10:59:59 hourly", "2026-12-01T11:00:00 hourly",
	  "2026-12-01T13:30:00 -", "2026-12-01T13:31:00 hourly"}},
	{"hourly and daily inside one day",
	 "hourly=2 daily=1",
	 true,
	 {"2026-12-01T08:59:59 hourly", "2026-12-01T09:00:00 -",
	  "2026-12-01T09:30:00 hourly,daily"}},
	{"ISO week 53: Monday 2026-12-28 to Sunday 2027-01-03 is one week, 2027-01-04 opens W01",
	 "weekly=3",
	 true,
	 {"2026-12-21T00:00:00 -", "2026-12-27T12:00:00 weekly", "2026-12-28T00:00:00 -",
	  "2026-12-31T23:59:59 -", "2027-01-01T00:00:00 -", "2027-01-03T23:59:59 weekly",
	  "2027-01-04T00:00:00 weekly"}},
	{"ISO 2026-W01 begins on Monday 2025-12-29",
	 "weekly=3",
	 true,
	 {"2025-12-28T23:59:59 weekly", "2025-12-29T00:00:00 -", "2026-01-01T12:00:00 -",
	  "2026-01-04T23:59:59 weekly", "2026-01-05T00:00:00 weekly"}},
	{"ISO 2027 has 52 weeks: 2027-W52 ends on Sunday 2028-01-02",
	 "weekly=2",
	 true,
	 {"2027-12-27T10:00:00 -", "2028-01-02T10:00:00 weekly", "2028-01-03T10:00:00 weekly"}},
	{"the year's end: daily and yearly",
	 "daily=2 yearly=2",
	 true,
	 {"2025-06-01T00:00:00 -", "2026-12-31T23:59:59 daily,yearly", "2027-01-01T00:00:00 -",
	  "2027-01-01T00:00:01 daily,yearly"}},
	{"a month's last second and the next month's first",
	 "monthly=3",
	 true,
	 {"2024-02-29T12:00:00 -", "2026-01-31T23:59:59 monthly", "2026-02-01T00:00:00 -",
	  "2026-02-28T23:59:59 monthly", "2026-03-01T00:00:00 monthly"}},
	{"a leap day: February 2024 ends on the 29th",
	 "daily=3 monthly=2",
	 true,
	 {"2024-02-28T12:00:00 daily", "2024-02-29T23:59:59 daily,monthly",
	  "2024-03-01T00:00:00 daily,monthly"}},
	{"keep-yearly over years with gaps",
	 "yearly=3",
	 true,
	 {"2020-06-01T00:00:00 -", "2022-06-01T00:00:00 yearly", "2023-01-01T00:00:00 -",
	  "2023-12-31T23:59:59 yearly", "2026-06-01T00:00:00 yearly"}},
	{"before 1970: negative times",
	 "daily=2 yearly=2",
	 true,
	 {"1969-12-31T00:00:00 -", "1969-12-31T23:59:59 daily,yearly",
	  "1970-01-01T00:00:00 daily,yearly"}},
	{"overlapping rules: keep-last and keep-daily both count the newest",
	 "last=2 daily=2",
	 true,
	 {"2026-12-01T10:00:00 -", "2026-12-02T10:00:00 daily", "2026-12-03T09:00:00 last",
	  "2026-12-03T10:00:00 last,daily"}},
	{"every rule keeps the newest snapshot",
	 "last=1 hourly=1 daily=1 weekly=1 monthly=1 yearly=1",
	 true,
	 {"2026-11-30T10:00:00 -", "2026-12-01T09:00:00 -",
	  "2026-12-01T10:00:00 last,hourly,daily,weekly,monthly,yearly"}},
	{"counts larger than the snapshots keep them all",
	 "last=100 daily=100",
	 true,
	 {"2026-12-01T10:00:00 last,daily", "2026-12-02T10:00:00 last,daily",
	  "2026-12-03T10:00:00 last,daily"}},
	{"grandfather-father-son over four weeks of daily snapshots across the year's end",
	 "daily=7 weekly=4 monthly=3 yearly=3",
	 true,
	 {"2026-12-14T10:00:00 -",	"2026-12-15T10:00:00 -",
	  "2026-12-16T10:00:00 -",	"2026-12-17T10:00:00 -",
	  "2026-12-18T10:00:00 -",	"2026-12-19T10:00:00 -",
	  "2026-12-20T10:00:00 weekly", "2026-12-21T10:00:00 -",
	  "2026-12-22T10:00:00 -",	"2026-12-23T10:00:00 -",
	  "2026-12-24T10:00:00 -",	"2026-12-25T10:00:00 -",
	  "2026-12-26T10:00:00 -",	"2026-12-27T10:00:00 weekly",
	  "2026-12-28T10:00:00 -",	"2026-12-29T10:00:00 -",
	  "2026-12-30T10:00:00 -",	"2026-12-31T10:00:00 monthly,yearly",
	  "2027-01-01T10:00:00 -",	"2027-01-02T10:00:00 -",
	  "2027-01-03T10:00:00 weekly", "2027-01-04T10:00:00 daily",
	  "2027-01-05T10:00:00 daily",	"2027-01-06T10:00:00 daily",
	  "2027-01-07T10:00:00 daily",	"2027-01-08T10:00:00 daily",
	  "2027-01-09T10:00:00 daily",	"2027-01-10T10:00:00 daily,weekly,monthly,yearly"}},
	{"--ttl 30d --keep-monthly 12 keeps nothing older than 30 days",
	 "monthly=12 ttl=30d now=2027-03-15T00:00:00",
	 true,
	 {"2026-10-15T10:00:00 expired:monthly", "2026-11-15T10:00:00 expired:monthly",
	  "2026-12-15T10:00:00 expired:monthly", "2027-01-15T10:00:00 expired:monthly",
	  "2027-02-13T00:00:00 expired", "2027-02-13T00:00:01 -", "2027-02-20T10:00:00 monthly",
	  "2027-03-01T10:00:00 -", "2027-03-10T10:00:00 monthly"}},
	{"a TTL alone keeps what has not expired; a snapshot goes at creation + TTL exactly",
	 "ttl=7d now=2026-12-10T00:00:00",
	 true,
	 {"2026-12-01T00:00:00 expired", "2026-12-03T00:00:00 expired",
	  "2026-12-03T00:00:01 within ttl", "2026-12-09T23:00:00 within ttl",
	  "2026-12-10T01:00:00 within ttl"}},
	{"keep-last does not save an expired snapshot",
	 "last=3 ttl=1d now=2026-12-10T12:00:00",
	 true,
	 {"2026-12-08T12:00:00 expired", "2026-12-09T11:00:00 expired:last",
	  "2026-12-09T13:00:00 last", "2026-12-10T11:00:00 last"}},
	{"groups are judged apart: keep-last 1 keeps the newest of each",
	 "last=1",
	 true,
	 {"a@2026-12-01T10:00:00 -", "b@2026-12-01T11:00:00 last", "a@2026-12-02T10:00:00 last",
	  "b@2026-11-01T10:00:00 -"}},
	{"equal times: the greater id counts as the newer",
	 "last=1",
	 false,
	 {"2026-12-01T10:00:00 -", "2026-12-01T10:00:00 last"}},
};

/* "2026-12-28T10:00:00" (UTC) into microseconds. */
static int64_t t_parse_time(const char *s)
{
	struct tm tm = {0};
	char *end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);

	if (!end)
		t_error("bad time '%s'", s);
	return (int64_t)timegm(&tm) * 1000000;
}

static int64_t t_parse_seconds(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	switch (*end) {
	case 'h':
		return v * 3600;
	case 'd':
		return v * 86400;
	case 's':
		return v;
	default:
		t_error("bad duration '%s'", s);
	}
}

static void t_parse_policy(const char *s, struct dp_retention_policy *p)
{
	char buf[256], *save = NULL;

	memset(p, 0, sizeof(*p));
	snprintf(buf, sizeof(buf), "%s", s);
	for (char *tok = strtok_r(buf, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		enum dp_keep_rule r;

		if (!eq)
			t_error("bad policy '%s'", s);
		*eq++ = '\0';
		if (!strcmp(tok, "ttl")) {
			p->ttl = t_parse_seconds(eq);
			continue;
		}
		if (!strcmp(tok, "now")) {
			p->now = t_parse_time(eq);
			continue;
		}
		for (r = DP_KEEP_LAST; r < DP_KEEP_NCOUNTS && strcmp(dp_keep_rule_name(r), tok);
		     r++)
			;
		if (r == DP_KEEP_NCOUNTS)
			t_error("bad policy '%s'", s);
		p->keep[r] = (uint32_t)atoi(eq);
	}
}

/* A verdict as the table writes it. */
static void t_verdict_str(const struct dp_retention_verdict *v, char *buf, size_t len)
{
	const char *sep = "";
	size_t used = 0;

	buf[0] = '\0';
	if (v->expired) {
		used = (size_t)snprintf(buf, len, "expired");
		sep = ":";
	}
	for (enum dp_keep_rule r = DP_KEEP_LAST; r <= DP_KEEP_UNEXPIRED; r++) {
		if (!(v->reasons & (1u << r)))
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s%s", sep, dp_keep_rule_name(r));
		sep = ",";
	}
	if (!used)
		snprintf(buf, len, "-");
}

struct t_input {
	char ids[ROW_MAX][8];
	char groups[ROW_MAX][16];
	char times[ROW_MAX][24]; /* "2026-12-28 10:00:00", as restic --time takes it */
	const char *want[ROW_MAX];
	struct dp_retention_record recs[ROW_MAX];
	size_t n;
};

static void t_row_input(const struct row *row, struct t_input *in)
{
	memset(in, 0, sizeof(*in));
	for (; in->n < ROW_MAX && row->snaps[in->n]; in->n++) {
		const char *line = row->snaps[in->n], *at = strchr(line, '@'), *sp;

		if (at)
			snprintf(in->groups[in->n], sizeof(in->groups[0]), "%.*s", (int)(at - line),
				 line);
		else
			snprintf(in->groups[in->n], sizeof(in->groups[0]), "vol");
		line = at ? at + 1 : line;
		sp = strchr(line, ' ');
		if (!sp || sp - line != 19)
			t_error("bad line '%s'", row->snaps[in->n]);
		snprintf(in->ids[in->n], sizeof(in->ids[0]), "s%02zu", in->n);
		snprintf(in->times[in->n], sizeof(in->times[0]), "%.10s %.8s", line, line + 11);
		in->want[in->n] = sp + 1;
		in->recs[in->n] = (struct dp_retention_record){
			.id = in->ids[in->n],
			.time = t_parse_time(line),
			.group = in->groups[in->n],
		};
	}
}

static void t_check_row(const struct row *row)
{
	struct dp_retention_verdict v[ROW_MAX];
	struct dp_retention_policy p;
	struct t_input in;
	struct dp_err err;
	int ret;

	t_row_input(row, &in);
	t_parse_policy(row->policy, &p);
	ret = dp_retention_select(in.recs, in.n, &p, v, &err);
	T_ASSERT(!ret && !err.code && !err.msg[0], "%s: %d %s", row->name, ret, err.msg);
	for (size_t i = 0; i < in.n; i++) {
		char got[128];

		t_verdict_str(&v[i], got, sizeof(got));
		T_ASSERT(!strcmp(got, in.want[i]), "%s: %s: got '%s'", row->name, row->snaps[i],
			 got);
		T_ASSERT(v[i].keep == (v[i].reasons && !v[i].expired), "%s: %s: keep", row->name,
			 row->snaps[i]);
	}
}

/* The same verdicts whatever the order of the input: reversed and rotated. */
static void t_check_order(const struct row *row)
{
	struct dp_retention_verdict v[ROW_MAX], w[ROW_MAX];
	struct dp_retention_record r[ROW_MAX];
	struct dp_retention_policy p;
	struct t_input in;

	t_row_input(row, &in);
	t_parse_policy(row->policy, &p);
	T_ASSERT(!dp_retention_select(in.recs, in.n, &p, v, NULL), "%s", row->name);
	for (size_t i = 0; i < in.n; i++)
		r[i] = in.recs[in.n - 1 - i];
	T_ASSERT(!dp_retention_select(r, in.n, &p, w, NULL), "%s", row->name);
	for (size_t i = 0; i < in.n; i++)
		T_ASSERT(!memcmp(&v[i], &w[in.n - 1 - i], sizeof(v[i])), "%s: reversed input: %s",
			 row->name, row->snaps[i]);
}

static void t_check_refusals(void)
{
	struct dp_retention_record rec = {.id = "s00", .time = 0, .group = NULL};
	struct dp_retention_verdict v;
	struct dp_retention_policy p = {.keep = {0}};
	struct dp_err err;

	T_ASSERT_EQ(dp_retention_select(&rec, 1, &p, &v, &err), -EINVAL);
	T_ASSERT(err.code == -EINVAL && strstr(err.msg, "keeps everything"), "%s", err.msg);
	p.ttl = -1;
	T_ASSERT_EQ(dp_retention_select(&rec, 1, &p, &v, &err), -EINVAL);
	T_ASSERT(err.code == -EINVAL && strstr(err.msg, "negative"), "%s", err.msg);
	p.ttl = 0;
	p.keep[DP_KEEP_LAST] = 1;
	rec.id = NULL;
	T_ASSERT_EQ(dp_retention_select(&rec, 1, &p, &v, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "no id"), "%s", err.msg);
	rec.id = "s00";
	T_ASSERT_EQ(dp_retention_select(&rec, 1, &p, &v, &err), 0);
	T_ASSERT(!err.code && !err.msg[0] && v.keep && v.reasons == 1u << DP_KEEP_LAST, "one");
	T_ASSERT(!strcmp(dp_keep_rule_name(DP_KEEP_WEEKLY), "weekly"), "names");
	T_ASSERT(!strcmp(dp_keep_rule_name((enum dp_keep_rule)99), "?"), "names");
}

/* Extreme times and a huge TTL: no overflow, a sane answer. */
static void t_check_extremes(void)
{
	struct dp_retention_record recs[] = {
		{"s00", INT64_MIN, NULL},
		{"s01", -1, NULL},
		{"s02", 0, NULL},
		{"s03", INT64_MAX, NULL},
	};
	struct dp_retention_policy p = {
		.keep = {0, 10, 10, 10, 10, 10}, .ttl = INT64_MAX, .now = 0};
	struct dp_retention_verdict v[4];

	T_ASSERT_EQ(dp_retention_select(recs, 4, &p, v, NULL), 0);
	for (int i = 0; i < 4; i++)
		T_ASSERT(v[i].keep && !v[i].expired,
			 "s%02d: each in an hour of its own, nothing expires", i);
	p.ttl = 1;
	p.now = INT64_MAX;
	T_ASSERT_EQ(dp_retention_select(recs, 4, &p, v, NULL), 0);
	T_ASSERT(v[0].expired && v[1].expired && v[2].expired && !v[3].expired,
		 "ttl 1 s at the end of time");
}

/* Each row with ferry's verdicts, one JSON object a line, for t_retention_restic.py. */
static void t_dump(void)
{
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		struct dp_retention_verdict v[ROW_MAX];
		struct dp_retention_policy p;
		struct t_input in;

		t_row_input(&rows[r], &in);
		t_parse_policy(rows[r].policy, &p);
		if (dp_retention_select(in.recs, in.n, &p, v, NULL))
			t_error("%s: refused", rows[r].name);
		printf("{\"row\": %zu, \"name\": \"%s\", \"restic\": %s, \"keep\": [", r,
		       rows[r].name, rows[r].restic ? "true" : "false");
		for (enum dp_keep_rule k = DP_KEEP_LAST; k < DP_KEEP_NCOUNTS; k++)
			printf("%s%u", k ? ", " : "", p.keep[k]);
		printf("], \"ttl\": %lld, \"now\": %lld, \"snaps\": [", (long long)p.ttl,
		       (long long)p.now);
		for (size_t i = 0; i < in.n; i++)
			printf("%s{\"id\": \"%s\", \"group\": \"%s\", \"time\": \"%s\", \"us\": %lld, "
			       "\"keep\": %s, \"expired\": %s}",
			       i ? ", " : "", in.ids[i], in.groups[i], in.times[i],
			       (long long)in.recs[i].time, v[i].keep ? "true" : "false",
			       v[i].expired ? "true" : "false");
		printf("]}\n");
	}
}

int main(int argc, char **argv)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);

	if (argc > 1 && !strcmp(argv[1], "--dump")) {
		t_dump();
		return T_EXIT_PASS;
	}
	for (size_t r = 0; r < n; r++) {
		t_check_row(&rows[r]);
		t_check_order(&rows[r]);
	}
	t_check_refusals();
	t_check_extremes();
	printf("PASS: %zu rows, refusals, extremes\n", n);
	return T_EXIT_PASS;
}
