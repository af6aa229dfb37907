// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_tz.c - the time zones of control/cluster/tz.c: zone
 * names, TZif files built here byte by byte (versions 1 and 2+, the
 * footer's POSIX TZ rules: northern and southern, negative DST, negative
 * and past-24h rule times, all-year DST, Jn and n dates), every malformed
 * shape the reader must refuse, the DST rule of cluster_tz_resolve() on
 * the system's zones, and the cache under many threads.
 *
 * Expected instants are written as RFC 3339 with their offsets and read
 * with timegm(), so they do not go through the code under test.
 * t_tz_oracle.py holds the same code against Python's zoneinfo.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/cluster/cluster.h"
#include "t_helpers.h"

/* "2024-03-10T03:00:00-04:00" or "...Z" as seconds since the epoch. */
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

/* ------------------------------------------------------- a TZif writer */

struct t_type {
	int32_t off;
	uint8_t isdst, abbr;
};

struct t_tzif {
	char version; /* 0 (version 1), '2', '3', '4' */
	uint32_t ntrans, ntypes, nchars, leapcnt, isstdcnt, isutcnt;
	const int64_t *trans;
	const uint8_t *idx;
	const struct t_type *types;
	const char *chars;
	const uint8_t *isstd, *isut;
	const char *footer; /* version 2+: between the newlines */
};

struct t_buf {
	uint8_t b[8192];
	size_t n;
};

static void put8(struct t_buf *w, uint8_t v)
{
	if (w->n >= sizeof(w->b))
		t_error("test TZif too large");
	w->b[w->n++] = v;
}

static void put32(struct t_buf *w, uint32_t v)
{
	for (int i = 3; i >= 0; i--)
		put8(w, (uint8_t)(v >> (8 * i)));
}

static void put64(struct t_buf *w, uint64_t v)
{
	put32(w, (uint32_t)(v >> 32));
	put32(w, (uint32_t)v);
}

static void put_hdr(struct t_buf *w, char version, uint32_t isut, uint32_t isstd, uint32_t leap,
		    uint32_t time, uint32_t type, uint32_t chars)
{
	memcpy(w->b + w->n, "TZif", 4);
	w->n += 4;
	put8(w, (uint8_t)version);
	for (int i = 0; i < 15; i++)
		put8(w, 0);
	put32(w, isut);
	put32(w, isstd);
	put32(w, leap);
	put32(w, time);
	put32(w, type);
	put32(w, chars);
}

static void put_block(struct t_buf *w, const struct t_tzif *z, int tsize)
{
	uint32_t i;

	for (i = 0; i < z->ntrans; i++)
		tsize == 8 ? put64(w, (uint64_t)z->trans[i]) : put32(w, (uint32_t)z->trans[i]);
	for (i = 0; i < z->ntrans; i++)
		put8(w, z->idx[i]);
	for (i = 0; i < z->ntypes; i++) {
		put32(w, (uint32_t)z->types[i].off);
		put8(w, z->types[i].isdst);
		put8(w, z->types[i].abbr);
	}
	for (i = 0; i < z->nchars; i++)
		put8(w, (uint8_t)z->chars[i]);
	for (i = 0; i < z->leapcnt; i++) {
		tsize == 8 ? put64(w, 78796800) : put32(w, 78796800);
		put32(w, i + 1);
	}
	for (i = 0; i < z->isstdcnt; i++)
		put8(w, z->isstd ? z->isstd[i] : 0);
	for (i = 0; i < z->isutcnt; i++)
		put8(w, z->isut ? z->isut[i] : 0);
}

/* Version 1: the data as 32-bit. Version 2+: zic's slim stub, the 64-bit data, the footer. */
static void tzif_build(struct t_buf *w, const struct t_tzif *z)
{
	w->n = 0;
	if (!z->version) {
		put_hdr(w, 0, z->isutcnt, z->isstdcnt, z->leapcnt, z->ntrans, z->ntypes, z->nchars);
		put_block(w, z, 4);
		return;
	}
	put_hdr(w, z->version, 0, 0, 0, 0, 1, 1);
	put32(w, 0); /* the stub: one type, UT, an empty abbreviation */
	put8(w, 0);
	put8(w, 0);
	put8(w, 0);
	put_hdr(w, z->version, z->isutcnt, z->isstdcnt, z->leapcnt, z->ntrans, z->ntypes,
		z->nchars);
	put_block(w, z, 8);
	if (z->footer) {
		put8(w, '\n');
		for (const char *p = z->footer; *p; p++)
			put8(w, (uint8_t)*p);
		put8(w, '\n');
	}
}

static struct cluster_tz *tz_from(const struct t_tzif *z, const char *what)
{
	struct cluster_err err;
	struct cluster_tz *tz;
	struct t_buf w;
	int ret;

	tzif_build(&w, z);
	ret = cluster_tz_parse(w.b, w.n, what, &tz, &err);
	T_ASSERT(ret == 0, "%s: %d %s", what, ret, err.msg);
	T_ASSERT(!err.msg[0] && !err.code, "%s: a reason after a success", what);
	return tz;
}

static void expect_off(const struct cluster_tz *tz, const char *at, int32_t utoff, int isdst,
		       const char *abbr)
{
	struct cluster_tz_info info;
	int64_t t = ts(at);

	T_ASSERT(cluster_tz_lookup(tz, t, &info) == 0, "%s: lookup", at);
	T_ASSERT(info.utoff == utoff && (isdst < 0 || info.isdst == isdst) &&
			 (!abbr || !strcmp(info.abbr, abbr)),
		 "%s at %s: offset %d dst %d %s, expected %d %d %s", cluster_tz_name(tz), at,
		 info.utoff, info.isdst, info.abbr, utoff, isdst, abbr ? abbr : "");
	T_ASSERT(info.since <= t && t < info.until, "%s at %s: not inside its span",
		 cluster_tz_name(tz), at);
}

/* ------------------------------------------------------------- names */

static void test_names(void)
{
	static const char *const good[] = {
		"UTC",	      "Europe/Berlin", "America/Argentina/Buenos_Aires", "Etc/GMT+5",
		"Etc/GMT-14", "EST5EDT",       "America/Port-au-Prince",	 "posixrules",
	};
	static const struct {
		const char *name, *why;
	} bad[] = {
		{"", "empty"},
		{"/etc/passwd", "absolute path"},
		{"../etc/passwd", "'..'"},
		{"Europe/../../etc/shadow", "'..'"},
		{"Europe/./Berlin", "starting with '.'"},
		{".hidden", "starting with '.'"},
		{"Europe//Berlin", "empty name component"},
		{"Europe/", "empty name component"},
		{"Local", "machine's own zone"},
		{"localtime", "machine's own zone"},
		{"Europe/Berlin ", "character 14"},
		{"Europe/Berlin\n", "character 14"},
		{"Europe\\Berlin", "character 7"},
		{"-rf", "starting with '-'"},
	};
	struct cluster_err err;
	char longname[300];

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		T_ASSERT(cluster_tz_name_check(good[i], &err) == 0, "%s: %s", good[i], err.msg);
		T_ASSERT(!err.msg[0], "%s: a reason after a success", good[i]);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = cluster_tz_name_check(bad[i].name, &err);

		T_ASSERT(ret == -EINVAL && err.code == -EINVAL, "'%s' was taken", bad[i].name);
		T_ASSERT(strstr(err.msg, bad[i].why), "'%s': reason '%s' lacks '%s'", bad[i].name,
			 err.msg, bad[i].why);
		T_ASSERT(!strchr(err.msg, '\n'), "'%s': a reason of two lines", bad[i].name);
	}
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	T_ASSERT(cluster_tz_name_check(longname, &err) == -EINVAL && strstr(err.msg, "longer"),
		 "a 299-character name: %s", err.msg);
	T_ASSERT(cluster_tz_name_check(NULL, &err) == -EINVAL, "NULL name");
}

/* ------------------------------------------------- synthetic TZif files */

static const struct t_type types3[] = {{1234, 0, 0}, {3600, 1, 4}, {-3600, 0, 8}};
static const char chars3[] = "LMT\0AAA\0CCC";

static void test_v1(void)
{
	static const int64_t trans[] = {-100, 100};
	static const uint8_t idx[] = {1, 2};
	struct t_tzif z = {.version = 0,
			   .ntrans = 2,
			   .trans = trans,
			   .idx = idx,
			   .ntypes = 3,
			   .types = types3,
			   .chars = chars3,
			   .nchars = sizeof(chars3)};
	struct cluster_tz *tz = tz_from(&z, "Test/v1");
	struct cluster_tz_info info;

	T_ASSERT(!strcmp(cluster_tz_name(tz), "Test/v1"), "name %s", cluster_tz_name(tz));
	/* before the first transition: type 0 (RFC 8536 3.2) */
	expect_off(tz, "1969-12-31T23:58:19Z", 1234, 0, "LMT");
	expect_off(tz, "1969-12-31T23:58:20Z", 3600, 1, "AAA");
	expect_off(tz, "1970-01-01T00:01:39Z", 3600, 1, "AAA");
	/* after the last, with no footer in version 1: the last type for ever */
	expect_off(tz, "1970-01-01T00:01:40Z", -3600, 0, "CCC");
	expect_off(tz, "9999-12-31T23:59:59Z", -3600, 0, "CCC");
	expect_off(tz, "0001-01-01T00:00:00Z", 1234, 0, "LMT");
	T_ASSERT(cluster_tz_lookup(tz, -100, &info) == 0 && info.since == -100 && info.until == 100,
		 "span [%lld, %lld)", (long long)info.since, (long long)info.until);
	T_ASSERT(cluster_tz_lookup(tz, CLUSTER_TIME_MAX + 1, &info) == -ERANGE, "past 9999");
	T_ASSERT(cluster_tz_lookup(tz, CLUSTER_TIME_MIN - 1, &info) == -ERANGE, "before 0001");
	cluster_tz_put(tz);
}

/* A version 2+ zone with no transitions and footer @rule. */
static struct cluster_tz *rule_zone(const char *rule, char version)
{
	static const struct t_type one[] = {{0, 0, 0}};
	struct t_tzif z = {.version = version,
			   .ntypes = 1,
			   .types = one,
			   .chars = "UTC",
			   .nchars = 4,
			   .footer = rule};

	return tz_from(&z, rule);
}

static void test_rules(void)
{
	struct cluster_tz *tz;

	/* US rules: second Sunday of March 02:00 EST, first Sunday of November 02:00 EDT */
	tz = rule_zone("EST5EDT,M3.2.0,M11.1.0", '2');
	expect_off(tz, "2024-03-10T06:59:59Z", -18000, 0, "EST");
	expect_off(tz, "2024-03-10T07:00:00Z", -14400, 1, "EDT");
	expect_off(tz, "2024-11-03T05:59:59Z", -14400, 1, "EDT");
	expect_off(tz, "2024-11-03T06:00:00Z", -18000, 0, "EST");
	expect_off(tz, "9999-07-01T00:00:00Z", -14400, 1, "EDT");
	expect_off(tz, "0001-01-01T00:00:00Z", -18000, 0, "EST");
	cluster_tz_put(tz);

	/* southern: DST from the first Sunday of October to the first of April */
	tz = rule_zone("AEST-10AEDT,M10.1.0,M4.1.0/3", '2');
	expect_off(tz, "2024-04-06T15:59:59Z", 39600, 1, "AEDT");
	expect_off(tz, "2024-04-06T16:00:00Z", 36000, 0, "AEST");
	expect_off(tz, "2024-10-05T15:59:59Z", 36000, 0, "AEST");
	expect_off(tz, "2024-10-05T16:00:00Z", 39600, 1, "AEDT");
	expect_off(tz, "2024-12-31T23:59:59Z", 39600, 1, "AEDT");
	expect_off(tz, "2025-01-01T00:00:00Z", 39600, 1, "AEDT");
	cluster_tz_put(tz);

	/* negative DST (Europe/Dublin): "DST" is GMT in winter, standard is IST */
	tz = rule_zone("IST-1GMT0,M10.5.0,M3.5.0/1", '3');
	expect_off(tz, "2024-03-31T00:59:59Z", 0, 1, "GMT");
	expect_off(tz, "2024-03-31T01:00:00Z", 3600, 0, "IST");
	expect_off(tz, "2024-10-27T00:59:59Z", 3600, 0, "IST");
	expect_off(tz, "2024-10-27T01:00:00Z", 0, 1, "GMT");
	cluster_tz_put(tz);

	/* negative rule times (America/Nuuk since 2024): -1:00 is 23:00 the day before */
	tz = rule_zone("<-02>2<-01>,M3.5.0/-1,M10.5.0/0", '3');
	expect_off(tz, "2024-03-31T00:59:59Z", -7200, 0, "-02");
	expect_off(tz, "2024-03-31T01:00:00Z", -3600, 1, "-01");
	expect_off(tz, "2024-10-27T00:59:59Z", -3600, 1, "-01");
	expect_off(tz, "2024-10-27T01:00:00Z", -7200, 0, "-02");
	cluster_tz_put(tz);

	/* rule times past 24 h (version 3): M3.2.0/26 is Monday 02:00 */
	tz = rule_zone("EST5EDT,M3.2.0/26,M11.1.0/-2", '3');
	expect_off(tz, "2024-03-11T06:59:59Z", -18000, 0, "EST");
	expect_off(tz, "2024-03-11T07:00:00Z", -14400, 1, "EDT");
	/* Saturday 22:00 EDT before the first Sunday of November */
	expect_off(tz, "2024-11-03T01:59:59Z", -14400, 1, "EDT");
	expect_off(tz, "2024-11-03T02:00:00Z", -18000, 0, "EST");
	cluster_tz_put(tz);

	/* DST all year (RFC 8536 3.3.1) */
	tz = rule_zone("EST5EDT,0/0,J365/25", '3');
	expect_off(tz, "2024-01-01T04:59:59Z", -14400, 1, "EDT");
	expect_off(tz, "2024-01-01T05:00:00Z", -14400, 1, "EDT");
	expect_off(tz, "2024-07-01T00:00:00Z", -14400, 1, "EDT");
	expect_off(tz, "2025-01-01T04:00:00Z", -14400, 1, "EDT");
	expect_off(tz, "2025-01-01T05:00:00Z", -14400, 1, "EDT");
	cluster_tz_put(tz);

	/* Jn never counts Feb 29 (J60 is March 1); n does (59 is Feb 29 in a leap year) */
	tz = rule_zone("<-03>3<-02>,J60,J300", '2');
	expect_off(tz, "2024-03-01T04:59:59Z", -10800, 0, "-03");
	expect_off(tz, "2024-03-01T05:00:00Z", -7200, 1, "-02");
	cluster_tz_put(tz);
	tz = rule_zone("<-03>3<-02>,59,300", '2');
	expect_off(tz, "2024-02-29T04:59:59Z", -10800, 0, "-03");
	expect_off(tz, "2024-02-29T05:00:00Z", -7200, 1, "-02");
	expect_off(tz, "2023-03-01T04:59:59Z", -10800, 0, "-03");
	expect_off(tz, "2023-03-01T05:00:00Z", -7200, 1, "-02");
	cluster_tz_put(tz);

	/* a fixed zone, quoted names, an offset with minutes */
	tz = rule_zone("JST-9", '2');
	expect_off(tz, "2024-06-01T00:00:00Z", 32400, 0, "JST");
	cluster_tz_put(tz);
	tz = rule_zone("<+0545>-5:45", '4');
	expect_off(tz, "2024-06-01T00:00:00Z", 20700, 0, "+0545");
	cluster_tz_put(tz);
	/* an explicit DST offset two hours ahead (Antarctica/Troll) */
	tz = rule_zone("<+00>0<+02>-2,M3.5.0/1,M10.5.0/3", '3');
	expect_off(tz, "2024-03-31T00:59:59Z", 0, 0, "+00");
	expect_off(tz, "2024-03-31T01:00:00Z", 7200, 1, "+02");
	expect_off(tz, "2024-10-27T00:59:59Z", 7200, 1, "+02");
	expect_off(tz, "2024-10-27T01:00:00Z", 0, 0, "+00");
	cluster_tz_put(tz);
	/* an empty footer: the last transition's type holds */
	tz = rule_zone("", '2');
	expect_off(tz, "2024-06-01T00:00:00Z", 0, 0, "UTC");
	cluster_tz_put(tz);
}

/* The table, then the rule after its last transition (and at it, the table: as Python does). */
static void test_table_then_rule(void)
{
	static const int64_t trans[] = {-3600, 0};
	static const uint8_t idx[] = {2, 1};
	struct t_tzif z = {.version = '2',
			   .ntrans = 2,
			   .trans = trans,
			   .idx = idx,
			   .ntypes = 3,
			   .types = types3,
			   .chars = chars3,
			   .nchars = sizeof(chars3),
			   .footer = "BBB-2"};
	struct cluster_tz *tz = tz_from(&z, "Test/table-rule");
	struct cluster_tz_info info;

	expect_off(tz, "1969-12-31T22:59:59Z", 1234, 0, "LMT");
	expect_off(tz, "1969-12-31T23:00:00Z", -3600, 0, "CCC");
	expect_off(tz, "1970-01-01T00:00:00Z", 3600, 1, "AAA");
	expect_off(tz, "1970-01-01T00:00:01Z", 7200, 0, "BBB");
	T_ASSERT(cluster_tz_lookup(tz, 0, &info) == 0 && info.until == 1, "until %lld",
		 (long long)info.until);
	T_ASSERT(cluster_tz_lookup(tz, 5, &info) == 0 && info.since == 1 && info.until == INT64_MAX,
		 "rule span [%lld, %lld)", (long long)info.since, (long long)info.until);
	cluster_tz_put(tz);
}

/* Every malformed shape is refused with -EBADMSG and a reason; no truncation is read. */
static void test_malformed(void)
{
	static const int64_t trans[] = {-100, 100}, trans_back[] = {100, 100};
	static const uint8_t idx[] = {1, 2}, idx_bad[] = {1, 3}, two[] = {2, 0, 0}, idx0[] = {0, 0};
	static const uint8_t isut1[] = {1, 0, 0}, isstd0[] = {0, 0, 0};
	static const struct t_type off_big[] = {{93600, 0, 0}}, off_small[] = {{-90000, 0, 0}};
	static const struct t_type dst2[] = {{0, 2, 0}}, abbr_out[] = {{0, 0, 4}};
	static const struct t_type one[] = {{0, 0, 0}};
	const struct t_tzif good = {.version = '2',
				    .ntrans = 2,
				    .trans = trans,
				    .idx = idx,
				    .ntypes = 3,
				    .types = types3,
				    .chars = chars3,
				    .nchars = sizeof(chars3),
				    .footer = "CCC1"};
	struct {
		const char *what, *why;
		struct t_tzif z;
	} rows[] = {
		{"no types", "typecnt 0", {.version = '2', .footer = ""}},
		{"no chars",
		 "charcnt 0",
		 {.version = '2', .ntypes = 1, .types = one, .footer = ""}},
		{"transitions out of order", "not after", good},
		{"type index out of range", "has type 3", good},
		{"offset past 26 h", "beyond 26 hours", good},
		{"offset before -25 h", "beyond 26 hours", good},
		{"isdst 2", "isdst is 2", good},
		{"abbreviation index out of range", "abbreviation", good},
		{"abbreviation without NUL", "abbreviation", good},
		{"leap seconds", "leap seconds", good},
		{"isutcnt mismatch", "isutcnt 1", good},
		{"isstd 2", "standard/wall indicator", good},
		{"isut without isstd", "UT/local indicator", good},
		{"no footer", "no footer", good},
		{"footer: DST without rules", "POSIX TZ rule", good},
		{"footer: short name", "POSIX TZ rule", good},
		{"footer: month 13", "POSIX TZ rule", good},
		{"footer: offset 25h", "POSIX TZ rule", good},
		{"footer: time 168h", "POSIX TZ rule", good},
		{"footer: trailing junk", "POSIX TZ rule", good},
		{"footer: quoted short", "POSIX TZ rule", good},
		{"footer: week 6", "POSIX TZ rule", good},
		{"footer: J0", "POSIX TZ rule", good},
		{"footer: 366", "POSIX TZ rule", good},
		{"footer: only a name", "POSIX TZ rule", good},
	};
	struct cluster_err err;
	struct cluster_tz *tz;
	struct t_buf w;
	size_t r = 2;

	rows[r++].z.trans = trans_back;
	rows[r++].z.idx = idx_bad;
	rows[r].z.ntypes = 1, rows[r].z.types = off_big, rows[r++].z.idx = idx0;
	rows[r].z.ntypes = 1, rows[r].z.types = off_small, rows[r++].z.idx = idx0;
	rows[r].z.ntypes = 1, rows[r].z.types = dst2, rows[r++].z.idx = idx0;
	rows[r].z.ntypes = 1, rows[r].z.types = abbr_out, rows[r].z.nchars = 4,
	rows[r].z.idx = idx0;
	rows[r++].z.chars = "ABC";
	rows[r].z.nchars = 3, rows[r].z.ntypes = 1, rows[r].z.types = one, rows[r].z.idx = idx0;
	rows[r++].z.chars = "ABC"; /* 3 chars, no NUL */
	rows[r++].z.leapcnt = 1;
	rows[r].z.isutcnt = 1, rows[r++].z.isut = isut1;
	rows[r].z.isstdcnt = 3, rows[r++].z.isstd = two;
	rows[r].z.isstdcnt = 3, rows[r].z.isstd = isstd0, rows[r].z.isutcnt = 3;
	rows[r++].z.isut = isut1;
	rows[r++].z.footer = NULL;
	rows[r++].z.footer = "EST5EDT";
	rows[r++].z.footer = "ES5";
	rows[r++].z.footer = "EST5EDT,M13.1.0,M11.1.0";
	rows[r++].z.footer = "EST25";
	rows[r++].z.footer = "EST5EDT,M3.2.0/168,M11.1.0";
	rows[r++].z.footer = "EST5EDT,M3.2.0,M11.1.0x";
	rows[r++].z.footer = "<AB>5";
	rows[r++].z.footer = "EST5EDT,M3.6.0,M11.1.0";
	rows[r++].z.footer = "EST5EDT,J0,M11.1.0";
	rows[r++].z.footer = "EST5EDT,366,M11.1.0";
	rows[r++].z.footer = "EST";
	T_ASSERT_EQ(r, sizeof(rows) / sizeof(rows[0]));

	for (r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		int ret;

		tzif_build(&w, &rows[r].z);
		ret = cluster_tz_parse(w.b, w.n, "Test/bad", &tz, &err);
		T_ASSERT(ret == -EBADMSG && err.code == ret && !tz, "%s: taken (%d)", rows[r].what,
			 ret);
		T_ASSERT(strstr(err.msg, rows[r].why), "%s: reason '%s' lacks '%s'", rows[r].what,
			 err.msg, rows[r].why);
	}

	/* header-level damage, on the good file's bytes */
	tzif_build(&w, &good);
	T_ASSERT(cluster_tz_parse(w.b, w.n, "ok", &tz, &err) == 0, "%s", err.msg);
	cluster_tz_put(tz);
	{
		struct t_buf m = w;

		m.b[0] = 'X';
		T_ASSERT(cluster_tz_parse(m.b, m.n, "x", &tz, &err) == -EBADMSG &&
				 strstr(err.msg, "not a TZif"),
			 "magic: %s", err.msg);
		m = w;
		m.b[4] = '5';
		T_ASSERT(cluster_tz_parse(m.b, m.n, "x", &tz, &err) == -EBADMSG &&
				 strstr(err.msg, "version"),
			 "version 5: %s", err.msg);
		m = w;
		m.b[44 + 6 + 1 + 4] = '3'; /* the second header's version byte */
		T_ASSERT(cluster_tz_parse(m.b, m.n, "x", &tz, &err) == -EBADMSG &&
				 strstr(err.msg, "second header"),
			 "second version: %s", err.msg);
		m = w;
		m.b[m.n++] = 'x';
		T_ASSERT(cluster_tz_parse(m.b, m.n, "x", &tz, &err) == -EBADMSG &&
				 strstr(err.msg, "after its footer"),
			 "trailing: %s", err.msg);
	}
	/* every truncation of a version 2 and a version 1 file */
	for (size_t n = 0; n < w.n; n++) {
		T_ASSERT(cluster_tz_parse(w.b, n, "x", &tz, &err) == -EBADMSG && !tz && err.msg[0],
			 "v2 cut at %zu: taken", n);
	}
	{
		struct t_tzif v1 = good;

		v1.version = 0;
		v1.footer = NULL;
		tzif_build(&w, &v1);
		for (size_t n = 0; n < w.n; n++)
			T_ASSERT(cluster_tz_parse(w.b, n, "x", &tz, &err) == -EBADMSG && !tz,
				 "v1 cut at %zu: taken", n);
		w.b[w.n++] = 0;
		T_ASSERT(cluster_tz_parse(w.b, w.n, "x", &tz, &err) == -EBADMSG &&
				 strstr(err.msg, "after its data"),
			 "v1 trailing: %s", err.msg);
	}
}

/* ------------------------------------------------------- system zones */

static bool have_zoneinfo(void)
{
	return access(CLUSTER_TZDIR "/America/New_York", R_OK) == 0 &&
	       access(CLUSTER_TZDIR "/Australia/Lord_Howe", R_OK) == 0;
}

static void test_get(void)
{
	struct cluster_err err;
	struct cluster_tz *a, *b;

	T_ASSERT(cluster_tz_get("UTC", &a, &err) == 0, "UTC: %s", err.msg);
	T_ASSERT(!strcmp(cluster_tz_name(a), "UTC"), "UTC's name");
	expect_off(a, "2024-06-01T00:00:00Z", 0, 0, "UTC");
	cluster_tz_put(a);
	cluster_tz_put(NULL);

	T_ASSERT(cluster_tz_get("Europe/Berlin", &a, &err) == 0, "Europe/Berlin: %s", err.msg);
	T_ASSERT(cluster_tz_get("Europe/Berlin", &b, &err) == 0, "again: %s", err.msg);
	T_ASSERT(a == b, "the cache read Europe/Berlin twice");
	expect_off(a, "2024-03-31T00:59:59Z", 3600, 0, "CET");
	expect_off(a, "2024-03-31T01:00:00Z", 7200, 1, "CEST");
	expect_off(a, "2090-10-29T00:59:59Z", 7200, 1, "CEST"); /* the footer's rule */
	expect_off(a, "2090-10-29T01:00:00Z", 3600, 0, "CET");
	cluster_tz_put(a);
	cluster_tz_put(b);

	T_ASSERT(cluster_tz_get("Nowhere/Atlantis", &a, &err) == -ENOENT && !a &&
			 strstr(err.msg, "unknown time zone"),
		 "Nowhere/Atlantis: %s", err.msg);
	T_ASSERT(cluster_tz_get("America", &a, &err) == -ENOENT && strstr(err.msg, "directory"),
		 "America: %s", err.msg);
	T_ASSERT(cluster_tz_get("../../etc/passwd", &a, &err) == -EINVAL, "a path: %s", err.msg);
	if (access(CLUSTER_TZDIR "/zone.tab", R_OK) == 0)
		T_ASSERT(cluster_tz_get("zone.tab", &a, &err) == -EBADMSG &&
				 strstr(err.msg, "not a TZif"),
			 "zone.tab: %s", err.msg);
	if (access(CLUSTER_TZDIR "/right/UTC", R_OK) == 0)
		T_ASSERT(cluster_tz_get("right/UTC", &a, &err) == -EBADMSG &&
				 strstr(err.msg, "leap seconds"),
			 "right/UTC: %s", err.msg);
}

struct resolve_row {
	const char *zone, *wall, *at;
};

static void test_resolve(void)
{
	static const struct resolve_row rows[] = {
		/* New York: 2024-03-10 02:00 EST -> 03:00 EDT; 2024-11-03 02:00 EDT -> 01:00 EST */
		{"America/New_York", "2024-03-10 01:59:59", "2024-03-10T01:59:59-05:00"},
		{"America/New_York", "2024-03-10 02:00:00", "2024-03-10T03:00:00-04:00"},
		{"America/New_York", "2024-03-10 02:30:00", "2024-03-10T03:00:00-04:00"},
		{"America/New_York", "2024-03-10 03:00:00", "2024-03-10T03:00:00-04:00"},
		{"America/New_York", "2024-11-03 00:59:59", "2024-11-03T00:59:59-04:00"},
		{"America/New_York", "2024-11-03 01:30:00", "2024-11-03T01:30:00-04:00"},
		{"America/New_York", "2024-11-03 01:59:59", "2024-11-03T01:59:59-04:00"},
		{"America/New_York", "2024-11-03 02:00:00", "2024-11-03T02:00:00-05:00"},
		/* Berlin: 2024-03-31 02:00 CET -> 03:00 CEST; 2024-10-27 03:00 CEST -> 02:00 CET */
		{"Europe/Berlin", "2024-03-31 02:30:00", "2024-03-31T03:00:00+02:00"},
		{"Europe/Berlin", "2024-10-27 02:30:00", "2024-10-27T02:30:00+02:00"},
		/* Sydney: 2024-10-06 02:00 AEST -> 03:00 AEDT; 2024-04-07 03:00 AEDT -> 02:00 AEST */
		{"Australia/Sydney", "2024-10-06 02:15:00", "2024-10-06T03:00:00+11:00"},
		{"Australia/Sydney", "2024-04-07 02:15:00", "2024-04-07T02:15:00+11:00"},
		/* Lord Howe: 30 minutes; 2024-10-06 02:00 -> 02:30, 2024-04-07 02:00 -> 01:30 */
		{"Australia/Lord_Howe", "2024-10-06 02:10:00", "2024-10-06T02:30:00+11:00"},
		{"Australia/Lord_Howe", "2024-10-06 02:30:00", "2024-10-06T02:30:00+11:00"},
		{"Australia/Lord_Howe", "2024-04-07 01:45:00", "2024-04-07T01:45:00+11:00"},
		{"Australia/Lord_Howe", "2024-04-07 02:00:00", "2024-04-07T02:00:00+10:30"},
		/* Samoa skipped 2011-12-30 whole: any time of it is the first instant of the 31st */
		{"Pacific/Apia", "2011-12-30 12:00:00", "2011-12-31T00:00:00+14:00"},
		{"Pacific/Apia", "2011-12-29 23:59:59", "2011-12-29T23:59:59-10:00"},
		/* Sao Paulo's midnight that did not exist (2018-11-04 00:00 -> 01:00) */
		{"America/Sao_Paulo", "2018-11-04 00:00:00", "2018-11-04T01:00:00-02:00"},
		/* far in the footer's rule */
		{"America/New_York", "2999-03-10 02:30:00", "2999-03-10T03:00:00-04:00"},
	};
	struct cluster_err err;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct cluster_tz *tz;
		struct cluster_civil w = {0};
		char buf[40];
		int64_t t;

		T_ASSERT(cluster_tz_get(rows[i].zone, &tz, &err) == 0, "%s", err.msg);
		sscanf(rows[i].wall, "%d-%d-%d %d:%d:%d", &w.year, &w.mon, &w.mday, &w.hour, &w.min,
		       &w.sec);
		T_ASSERT(cluster_tz_resolve(tz, &w, &t) == 0, "%s %s", rows[i].zone, rows[i].wall);
		cluster_tz_format(tz, t, buf, sizeof(buf));
		T_ASSERT(t == ts(rows[i].at), "%s %s: %s, expected %s", rows[i].zone, rows[i].wall,
			 buf, rows[i].at);
		T_ASSERT(!strcmp(buf, rows[i].at), "%s: formatted %s", rows[i].at, buf);
		cluster_tz_put(tz);
	}
	{
		struct cluster_civil bad = {2023, 2, 29, 0, 0, 0, 0};
		int64_t t;

		T_ASSERT(cluster_tz_resolve(NULL, &bad, &t) == -EINVAL, "2023-02-29 resolved");
	}
}

static void test_format(void)
{
	struct cluster_tz *tz;
	struct cluster_err err;
	char buf[40];

	T_ASSERT(cluster_tz_format(NULL, 0, buf, sizeof(buf)) == 20 &&
			 !strcmp(buf, "1970-01-01T00:00:00Z"),
		 "%s", buf);
	T_ASSERT(cluster_tz_format(NULL, 0, buf, 20) == -ENOSPC, "a short buffer");
	T_ASSERT(cluster_tz_format(NULL, CLUSTER_TIME_MAX + 1, buf, sizeof(buf)) == -ERANGE,
		 "past 9999");
	T_ASSERT(cluster_tz_get("America/New_York", &tz, &err) == 0, "%s", err.msg);
	/* local mean time has seconds in its offset */
	cluster_tz_format(tz, ts("1850-01-01T00:00:00Z"), buf, sizeof(buf));
	T_ASSERT(!strcmp(buf, "1849-12-31T19:03:58-04:56:02"), "LMT: %s", buf);
	cluster_tz_put(tz);
}

/* ---------------------------------------------------------------- threads */

#define T_THREADS 8
static const char *const t_zones[] = {
	"America/New_York", "Europe/Berlin",	"Australia/Sydney",  "Australia/Lord_Howe",
	"Asia/Kolkata",	    "America/Santiago", "Africa/Casablanca", "Pacific/Chatham",
};
#define T_NZONES (sizeof(t_zones) / sizeof(t_zones[0]))
static int32_t t_expect[T_NZONES][64];
static atomic_int t_go;

static int64_t t_instant(int k)
{
	return -2000000000LL + (int64_t)k * 97654321LL;
}

static void *t_worker(void *arg)
{
	long id = (long)arg;
	struct cluster_err err;

	while (!atomic_load(&t_go))
		;
	for (int round = 0; round < 300; round++) {
		size_t z = ((size_t)id * 3 + (size_t)round) % T_NZONES;
		struct cluster_tz *tz;
		struct cluster_tz_info info;

		if (cluster_tz_get(t_zones[z], &tz, &err))
			return (void *)"get";
		for (int k = 0; k < 64; k++) {
			if (cluster_tz_lookup(tz, t_instant(k), &info) ||
			    info.utoff != t_expect[z][k])
				return (void *)"lookup";
		}
		cluster_tz_put(tz);
	}
	return NULL;
}

/* Many threads first-load and read the same zones at once; each answer as one thread's. */
static void test_threads(void)
{
	pthread_t th[T_THREADS];
	struct cluster_err err;

	for (size_t z = 0; z < T_NZONES; z++) {
		struct cluster_tz *tz;
		uint8_t *buf = malloc(1 << 20);
		size_t n;
		FILE *f;
		char path[128];

		/* the expected answers from a private copy, outside the cache */
		snprintf(path, sizeof(path), "%s/%s", CLUSTER_TZDIR, t_zones[z]);
		f = fopen(path, "rb");
		T_ASSERT(f && buf, "%s", path);
		n = fread(buf, 1, 1 << 20, f);
		fclose(f);
		T_ASSERT(cluster_tz_parse(buf, n, t_zones[z], &tz, &err) == 0, "%s: %s", t_zones[z],
			 err.msg);
		free(buf);
		for (int k = 0; k < 64; k++) {
			struct cluster_tz_info info;

			T_ASSERT(cluster_tz_lookup(tz, t_instant(k), &info) == 0, "lookup");
			t_expect[z][k] = info.utoff;
		}
		cluster_tz_put(tz);
	}
	for (long i = 0; i < T_THREADS; i++)
		T_ASSERT(pthread_create(&th[i], NULL, t_worker, (void *)i) == 0, "pthread_create");
	atomic_store(&t_go, 1);
	for (int i = 0; i < T_THREADS; i++) {
		void *r;

		pthread_join(th[i], &r);
		T_ASSERT(!r, "thread %d: %s", i, (const char *)r);
	}
}

int main(void)
{
	test_names();
	test_v1();
	test_rules();
	test_table_then_rule();
	test_malformed();
	if (!have_zoneinfo())
		t_skip("no %s/America/New_York: tzdata is not installed (tests/install-deps.sh)",
		       CLUSTER_TZDIR);
	test_get();
	test_resolve();
	test_format();
	test_threads();
	printf("t_tz: names, TZif v1/v2+, footer rules, malformed files, DST resolve, threads: ok\n");
	return 0;
}
