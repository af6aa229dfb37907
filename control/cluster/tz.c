// SPDX-License-Identifier: MIT
/*
 * control/cluster/tz.c - time zones for schedules, read from the system's
 * TZif files (RFC 8536) without touching the process's TZ: a reader for
 * versions 1-4 and the footer's POSIX TZ rule, a process-wide cache, and
 * the conversions the schedules need (instant -> wall time, wall time ->
 * the first instant that shows it).
 *
 * A zone is a list of spans ("segments"), each with one time type:
 *   before the first transition      time type 0 (RFC 8536 §3.2)
 *   from each transition to the next the transition's type
 *   after the last transition        the footer's rule (§3.3), or the last
 *                                    type when the footer is empty
 * A rule span is found by laying out the rule's transitions for the five
 * years around the instant. Everything else builds on tz_seg_at().
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cluster_priv.h"

#define TZ_FILE_MAX   (1 << 20) /* bytes: real zone files are under 4 KiB */
#define TZ_TRANS_MAX  (1 << 20)
#define TZ_CHARS_MAX  (1 << 16)
#define TZ_LEAPS_MAX  (1 << 16)
#define TZ_FOOTER_MAX 255
#define TZ_CACHE_MAX  1024

struct tz_type {
	int32_t utoff;
	bool isdst;
	uint32_t abbr; /* index into abbrs */
};

/* A POSIX TZ rule date: Jn (1-365, no Feb 29), n (0-365), Mm.w.d; @time in local seconds. */
struct tz_rule_date {
	char kind; /* 'J', 'N' or 'M' */
	int n, m, w, d;
	int32_t time;
};

struct tz_rule {
	int32_t std_off, dst_off; /* seconds east of UTC */
	bool has_dst;
	struct tz_rule_date start, end;
	char std_abbr[CLUSTER_TZ_ABBR_MAX + 1], dst_abbr[CLUSTER_TZ_ABBR_MAX + 1];
};

struct cluster_tz {
	atomic_int refs;
	bool builtin;
	char name[CLUSTER_TZ_NAME_MAX + 1];
	uint32_t ntrans, ntypes, nabbrs;
	int64_t *trans; /* strictly ascending */
	uint8_t *trans_type;
	struct tz_type *types;
	char *abbrs;
	bool has_rule;
	struct tz_rule rule;
};

static struct tz_type tz_utc_type = {.utoff = 0, .isdst = false, .abbr = 0};
static char tz_utc_abbrs[] = "UTC";
static struct cluster_tz tz_utc = {
	.builtin = true,
	.name = "UTC",
	.ntypes = 1,
	.nabbrs = sizeof(tz_utc_abbrs),
	.types = &tz_utc_type,
	.abbrs = tz_utc_abbrs,
};

/* ------------------------------------------------------------------ names */

static bool tz_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '+' || c == '-';
}

int cluster_tz_name_check(const char *name, struct cluster_err *err)
{
	char q[64];
	size_t len, i;

	cluster_err_clear(err);
	if (!name || !*name)
		return cluster_err_set(err, -EINVAL, "an empty time zone name");
	len = strlen(name);
	cluster_quote(q, sizeof(q), name, len);
	if (len > CLUSTER_TZ_NAME_MAX)
		return cluster_err_set(err, -EINVAL, "time zone '%s': longer than %d characters", q,
				       CLUSTER_TZ_NAME_MAX);
	if (name[0] == '/')
		return cluster_err_set(
			err, -EINVAL,
			"time zone '%s': an absolute path (name a zone such as Europe/Berlin)", q);
	if (!strcmp(name, "Local") || !strcmp(name, "localtime"))
		return cluster_err_set(
			err, -EINVAL,
			"time zone '%s' is the machine's own zone: name an IANA zone such as Europe/Berlin",
			q);
	for (i = 0; i < len; i++) {
		bool start = i == 0 || name[i - 1] == '/';

		if (name[i] == '/') {
			if (start || i + 1 == len)
				return cluster_err_set(
					err, -EINVAL, "time zone '%s': an empty name component", q);
			continue;
		}
		if (!tz_name_char(name[i]))
			return cluster_err_set(
				err, -EINVAL,
				"time zone '%s': character %d is not allowed in a zone name", q,
				(int)i + 1);
		if (start && name[i] == '.')
			return cluster_err_set(
				err, -EINVAL,
				"time zone '%s': a component starting with '.' ('..' leaves the zone directory)",
				q);
		if (start && name[i] == '-')
			return cluster_err_set(err, -EINVAL,
					       "time zone '%s': a component starting with '-'", q);
	}
	return 0;
}

/* ----------------------------------------------------- POSIX TZ strings */

static bool tzs_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool tzs_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* An abbreviation: 3 or more letters, or <...> of letters, digits, '+' and '-'. */
static bool tzs_abbr(const char **p, char *out)
{
	const char *s = *p;
	size_t n = 0;

	if (*s == '<') {
		for (s++; tzs_alpha(*s) || tzs_digit(*s) || *s == '+' || *s == '-'; s++) {
			if (n == CLUSTER_TZ_ABBR_MAX)
				return false;
			out[n++] = *s;
		}
		if (*s != '>')
			return false;
		s++;
	} else {
		for (; tzs_alpha(*s); s++) {
			if (n == CLUSTER_TZ_ABBR_MAX)
				return false;
			out[n++] = *s;
		}
	}
	if (n < 3)
		return false;
	out[n] = '\0';
	*p = s;
	return true;
}

/* [+-]h[h[h]][:mm[:ss]] with hours up to @maxh, into seconds. */
static bool tzs_hms(const char **p, int maxh, int32_t *out)
{
	const char *s = *p;
	int sign = 1, h = 0, m = 0, sec = 0, nd = 0;

	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	while (tzs_digit(*s) && nd < 3) {
		h = h * 10 + (*s++ - '0');
		nd++;
	}
	if (!nd || tzs_digit(*s) || h > maxh)
		return false;
	if (*s == ':') {
		s++;
		if (!tzs_digit(s[0]) || !tzs_digit(s[1]))
			return false;
		m = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
		if (*s == ':') {
			s++;
			if (!tzs_digit(s[0]) || !tzs_digit(s[1]))
				return false;
			sec = (s[0] - '0') * 10 + (s[1] - '0');
			s += 2;
		}
		if (m > 59 || sec > 59)
			return false;
	}
	*out = sign * (h * 3600 + m * 60 + sec);
	*p = s;
	return true;
}

static bool tzs_num(const char **p, int min, int max, int *out)
{
	const char *s = *p;
	int v = 0, nd = 0;

	while (tzs_digit(*s) && nd < 4) {
		v = v * 10 + (*s++ - '0');
		nd++;
	}
	if (!nd || tzs_digit(*s) || v < min || v > max)
		return false;
	*out = v;
	*p = s;
	return true;
}

/* date[/time]: Jn, n or Mm.w.d; the time defaults to 02:00:00, up to ±167 h (RFC 8536 §3.3.1). */
static bool tzs_date(const char **p, struct tz_rule_date *d)
{
	const char *s = *p;

	d->n = d->m = d->w = d->d = 0;
	if (*s == 'J') {
		s++;
		d->kind = 'J';
		if (!tzs_num(&s, 1, 365, &d->n))
			return false;
	} else if (*s == 'M') {
		s++;
		d->kind = 'M';
		if (!tzs_num(&s, 1, 12, &d->m) || *s++ != '.' || !tzs_num(&s, 1, 5, &d->w) ||
		    *s++ != '.' || !tzs_num(&s, 0, 6, &d->d))
			return false;
	} else {
		d->kind = 'N';
		if (!tzs_num(&s, 0, 365, &d->n))
			return false;
	}
	d->time = 7200;
	if (*s == '/') {
		s++;
		if (!tzs_hms(&s, 167, &d->time))
			return false;
	}
	*p = s;
	return true;
}

static bool tz_utoff_ok(int64_t off)
{
	return off >= TZ_UTOFF_MIN && off <= TZ_UTOFF_MAX;
}

/*
 * A TZ string as RFC 8536 §3.3 allows it in a footer: std offset [dst
 * [offset] ,start[/time],end[/time]]. POSIX offsets count west of UTC.
 * A DST name without rules is refused: POSIX leaves its rules to the
 * implementation, and a TZif footer always states them.
 */
static bool tz_rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (!tzs_abbr(&s, r->std_abbr) || !tzs_hms(&s, 24, &off))
		return false;
	r->std_off = -off;
	if (!*s)
		return tz_utoff_ok(r->std_off);
	if (!tzs_abbr(&s, r->dst_abbr))
		return false;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',') {
		if (!tzs_hms(&s, 24, &off))
			return false;
		r->dst_off = -off;
	}
	if (*s++ != ',' || !tzs_date(&s, &r->start) || *s++ != ',' || !tzs_date(&s, &r->end) || *s)
		return false;
	return tz_utoff_ok(r->std_off) && tz_utoff_ok(r->dst_off);
}

/* The day (from 1970-01-01) a rule date falls on in year @y. */
static int64_t tz_rule_day(const struct tz_rule_date *d, int64_t y)
{
	int64_t jan1 = cal_days(y, 1, 1), first;
	int day, dim;

	switch (d->kind) {
	case 'J': /* Feb 29 is never counted: J60 is always March 1 */
		return jan1 + d->n - 1 + (cal_is_leap(y) && d->n >= 60);
	case 'N':
		return jan1 + d->n;
	default:
		first = cal_days(y, d->m, 1);
		dim = cal_days_in_month(y, d->m);
		day = (d->d - cal_wday(first) + 7) % 7 + 7 * (d->w - 1);
		while (day >= dim) /* week 5 is the last such day */
			day -= 7;
		return first + day;
	}
}

struct tz_event {
	int64_t at;
	bool dst;
};

/*
 * The span of rule @r holding @t, not starting before @from: the rule's
 * transitions of five years laid out in order (a transition's time may be
 * up to 167 h from its date, so the years around @t's hold all that
 * matter). Equal instants keep their order, the earlier year first: DST all
 * year (RFC 8536 §3.3.1) ends a year at the instant the next one starts it.
 */
static void tz_rule_seg(const struct cluster_tz *z, int64_t t, int64_t from, struct tz_seg *s)
{
	const struct tz_rule *r = &z->rule;
	struct tz_event ev[10];
	int64_t y, yy;
	int n = 0, i, last = -1;
	int m, d;

	s->since = from;
	s->until = INT64_MAX;
	s->utoff = r->std_off;
	s->isdst = false;
	s->abbr = r->std_abbr;
	if (!r->has_dst)
		return;
	cal_date(cal_floor_div(t, 86400), &y, &m, &d);
	for (yy = y - 2; yy <= y + 2; yy++) {
		struct tz_event e[2] = {
			{tz_rule_day(&r->start, yy) * 86400 + r->start.time - r->std_off, true},
			{tz_rule_day(&r->end, yy) * 86400 + r->end.time - r->dst_off, false},
		};

		for (int k = 0; k < 2; k++) { /* insertion, stable */
			for (i = n; i > 0 && ev[i - 1].at > e[k].at; i--)
				ev[i] = ev[i - 1];
			ev[i] = e[k];
			n++;
		}
	}
	for (i = 0; i < n && ev[i].at <= t; i++)
		last = i;
	if (last >= 0) {
		if (ev[last].at > from)
			s->since = ev[last].at;
		s->isdst = ev[last].dst;
	} else {
		/* before the first of the five years' transitions (not reached for real rules) */
		s->isdst = !ev[0].dst;
	}
	if (last + 1 < n)
		s->until = ev[last + 1].at;
	s->utoff = s->isdst ? r->dst_off : r->std_off;
	s->abbr = s->isdst ? r->dst_abbr : r->std_abbr;
}

/* ---------------------------------------------------------------- spans */

static void tz_type_seg(const struct cluster_tz *z, uint32_t type, struct tz_seg *s)
{
	assert(type < z->ntypes);
	s->utoff = z->types[type].utoff;
	s->isdst = z->types[type].isdst;
	s->abbr = z->abbrs + z->types[type].abbr;
}

void tz_seg_at(const struct cluster_tz *z, int64_t t, struct tz_seg *s)
{
	uint32_t lo, hi, last;

	if (!z)
		z = &tz_utc;
	if (!z->ntrans) {
		if (z->has_rule) {
			tz_rule_seg(z, t, INT64_MIN, s);
			return;
		}
		s->since = INT64_MIN;
		s->until = INT64_MAX;
		tz_type_seg(z, 0, s);
		return;
	}
	last = z->ntrans - 1;
	if (t < z->trans[0]) {
		s->since = INT64_MIN;
		s->until = z->trans[0];
		tz_type_seg(z, 0, s);
		return;
	}
	if (t > z->trans[last] && z->has_rule) {
		tz_rule_seg(z, t, z->trans[last] + 1, s);
		return;
	}
	/* the last transition at or before t */
	lo = 0;
	hi = z->ntrans;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (z->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	s->since = z->trans[lo];
	if (lo < last)
		s->until = z->trans[lo + 1];
	else
		s->until = z->has_rule ? z->trans[last] + 1 : INT64_MAX;
	tz_type_seg(z, z->trans_type[lo], s);
}

int64_t tz_wall_max(const struct cluster_tz *z, int64_t t)
{
	struct tz_seg s;
	int64_t wall, since;

	tz_seg_at(z, t, &s);
	wall = t + s.utoff;
	/*
	 * Only a span that ended within two offsets' width of t can have shown
	 * a later wall time than t does: before that, wall < t - 89999.
	 */
	for (since = s.since; since != INT64_MIN && since > t - (TZ_UTOFF_MAX - TZ_UTOFF_MIN) - 2;
	     since = s.since) {
		tz_seg_at(z, since - 1, &s);
		if (since - 1 + s.utoff > wall)
			wall = since - 1 + s.utoff;
	}
	return wall;
}

int64_t tz_resolve_secs(const struct cluster_tz *z, int64_t wall)
{
	struct tz_seg s;
	/* before this instant the clock cannot read @wall yet, whatever the offset */
	int64_t t = wall - TZ_UTOFF_MAX;

	for (;;) {
		int64_t cand;

		tz_seg_at(z, t, &s);
		cand = wall - s.utoff > t ? wall - s.utoff : t;
		if (cand < s.until)
			return cand;
		t = s.until;
	}
}

/* ----------------------------------------------------------------- TZif */

struct tzif_hdr {
	uint8_t version;
	uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

static uint32_t tz_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t tz_be64(const uint8_t *p)
{
	return (int64_t)((uint64_t)tz_be32(p) << 32 | tz_be32(p + 4));
}

static int tzif_hdr_read(const uint8_t *p, size_t len, struct tzif_hdr *h, struct cluster_err *err)
{
	if (len < 44)
		return cluster_err_set(err, -EBADMSG, "shorter than a TZif header (44 bytes)");
	if (memcmp(p, "TZif", 4))
		return cluster_err_set(err, -EBADMSG, "not a TZif file (no 'TZif' at its start)");
	h->version = p[4];
	if (h->version != 0 && (h->version < '2' || h->version > '4'))
		return cluster_err_set(err, -EBADMSG, "TZif version byte 0x%02x is not 1-4",
				       h->version);
	h->isutcnt = tz_be32(p + 20);
	h->isstdcnt = tz_be32(p + 24);
	h->leapcnt = tz_be32(p + 28);
	h->timecnt = tz_be32(p + 32);
	h->typecnt = tz_be32(p + 36);
	h->charcnt = tz_be32(p + 40);
	if (h->typecnt == 0 || h->typecnt > 256)
		return cluster_err_set(err, -EBADMSG, "typecnt %u is not 1-256", h->typecnt);
	if (h->charcnt == 0 || h->charcnt > TZ_CHARS_MAX)
		return cluster_err_set(err, -EBADMSG, "charcnt %u is not 1-%d", h->charcnt,
				       TZ_CHARS_MAX);
	if (h->isutcnt != 0 && h->isutcnt != h->typecnt)
		return cluster_err_set(err, -EBADMSG, "isutcnt %u is neither 0 nor typecnt %u",
				       h->isutcnt, h->typecnt);
	if (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)
		return cluster_err_set(err, -EBADMSG, "isstdcnt %u is neither 0 nor typecnt %u",
				       h->isstdcnt, h->typecnt);
	if (h->timecnt > TZ_TRANS_MAX || h->leapcnt > TZ_LEAPS_MAX)
		return cluster_err_set(err, -EBADMSG, "timecnt %u or leapcnt %u is too large",
				       h->timecnt, h->leapcnt);
	return 0;
}

/* Bytes of the data block after a header; the caps of tzif_hdr_read() keep it from overflowing. */
static size_t tzif_block_len(const struct tzif_hdr *h, size_t tsize)
{
	return (size_t)h->timecnt * (tsize + 1) + (size_t)h->typecnt * 6 + h->charcnt +
	       (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* The data block at @p (tzif_block_len() bytes are there) into @z. */
static int tzif_block_parse(struct cluster_tz *z, const uint8_t *p, const struct tzif_hdr *h,
			    size_t tsize, struct cluster_err *err)
{
	const uint8_t *idx = p + (size_t)h->timecnt * tsize;
	const uint8_t *tt = idx + h->timecnt;
	const uint8_t *chars = tt + (size_t)h->typecnt * 6;
	const uint8_t *isstd = chars + h->charcnt + (size_t)h->leapcnt * (tsize + 4);
	const uint8_t *isut = isstd + h->isstdcnt;
	uint32_t i;

	if (h->leapcnt)
		return cluster_err_set(
			err, -EBADMSG,
			"counts %u leap seconds (a right/ zone): schedules run on POSIX time",
			h->leapcnt);
	z->ntrans = h->timecnt;
	z->ntypes = h->typecnt;
	z->nabbrs = h->charcnt;
	z->trans = calloc(h->timecnt ? h->timecnt : 1, sizeof(*z->trans));
	z->trans_type = calloc(h->timecnt ? h->timecnt : 1, 1);
	z->types = calloc(h->typecnt, sizeof(*z->types));
	z->abbrs = malloc(h->charcnt);
	if (!z->trans || !z->trans_type || !z->types || !z->abbrs)
		return cluster_err_set(err, -ENOMEM, "out of memory");
	for (i = 0; i < h->timecnt; i++) {
		z->trans[i] = tsize == 8 ? tz_be64(p + 8 * i) : (int32_t)tz_be32(p + 4 * i);
		if (i && z->trans[i] <= z->trans[i - 1])
			return cluster_err_set(err, -EBADMSG,
					       "transition %u is not after the one before it", i);
		if (idx[i] >= h->typecnt)
			return cluster_err_set(err, -EBADMSG,
					       "transition %u has type %u of %u types", i, idx[i],
					       h->typecnt);
		z->trans_type[i] = idx[i];
	}
	memcpy(z->abbrs, chars, h->charcnt);
	for (i = 0; i < h->typecnt; i++) {
		const uint8_t *e = tt + 6 * i;
		int32_t utoff = (int32_t)tz_be32(e);

		if (!tz_utoff_ok(utoff))
			return cluster_err_set(err, -EBADMSG,
					       "time type %u: UT offset %d s is beyond 26 hours", i,
					       utoff);
		if (e[4] > 1)
			return cluster_err_set(err, -EBADMSG, "time type %u: isdst is %u", i, e[4]);
		if (e[5] >= h->charcnt || !memchr(chars + e[5], '\0', h->charcnt - e[5]))
			return cluster_err_set(
				err, -EBADMSG,
				"time type %u: its abbreviation is not a string in the file", i);
		z->types[i].utoff = utoff;
		z->types[i].isdst = e[4];
		z->types[i].abbr = e[5];
	}
	for (i = 0; i < h->isstdcnt; i++)
		if (isstd[i] > 1)
			return cluster_err_set(err, -EBADMSG, "standard/wall indicator %u is %u", i,
					       isstd[i]);
	for (i = 0; i < h->isutcnt; i++)
		if (isut[i] > 1 || (isut[i] && (!h->isstdcnt || !isstd[i])))
			return cluster_err_set(err, -EBADMSG,
					       "UT/local indicator %u is %u with standard/wall %u",
					       i, isut[i], h->isstdcnt ? isstd[i] : 0);
	return 0;
}

static void tz_free(struct cluster_tz *z)
{
	if (!z || z->builtin)
		return;
	free(z->trans);
	free(z->trans_type);
	free(z->types);
	free(z->abbrs);
	free(z);
}

int cluster_tz_parse(const void *buf, size_t len, const char *name, struct cluster_tz **out,
		     struct cluster_err *err)
{
	const uint8_t *p = buf;
	struct tzif_hdr h;
	struct cluster_tz *z;
	size_t pos, blen;
	int ret;

	cluster_err_clear(err);
	*out = NULL;
	ret = tzif_hdr_read(p, len, &h, err);
	if (ret)
		return ret;
	pos = 44;
	blen = tzif_block_len(&h, 4);
	if (len - pos < blen)
		return cluster_err_set(err, -EBADMSG, "truncated in its version 1 data");
	if (h.version) { /* version 2 and later: skip the 32-bit data, read the 64-bit */
		uint8_t version = h.version;

		pos += blen;
		ret = tzif_hdr_read(p + pos, len - pos, &h, err);
		if (ret)
			return ret;
		if (h.version != version)
			return cluster_err_set(
				err, -EBADMSG,
				"its second header says version 0x%02x, its first 0x%02x",
				h.version, version);
		pos += 44;
		blen = tzif_block_len(&h, 8);
		if (len - pos < blen)
			return cluster_err_set(err, -EBADMSG, "truncated in its 64-bit data");
	}
	z = calloc(1, sizeof(*z));
	if (!z)
		return cluster_err_set(err, -ENOMEM, "out of memory");
	atomic_init(&z->refs, 1);
	snprintf(z->name, sizeof(z->name), "%s", name ? name : "");
	ret = tzif_block_parse(z, p + pos, &h, h.version ? 8 : 4, err);
	if (ret)
		goto out_free;
	pos += blen;
	if (h.version) { /* the footer: '\n', a TZ string, '\n', and nothing after */
		const uint8_t *nl;
		char tzs[TZ_FOOTER_MAX + 1];
		size_t slen;

		nl = pos < len && p[pos] == '\n' ? memchr(p + pos + 1, '\n', len - pos - 1) : NULL;
		if (!nl) {
			ret = cluster_err_set(err, -EBADMSG, "no footer after its 64-bit data");
			goto out_free;
		}
		slen = (size_t)(nl - (p + pos + 1));
		if (slen > TZ_FOOTER_MAX || memchr(p + pos + 1, '\0', slen)) {
			ret = cluster_err_set(err, -EBADMSG, "its footer is not a TZ string");
			goto out_free;
		}
		if ((size_t)(nl - p) + 1 != len) {
			ret = cluster_err_set(err, -EBADMSG, "%zu bytes after its footer",
					      len - (size_t)(nl - p) - 1);
			goto out_free;
		}
		memcpy(tzs, p + pos + 1, slen);
		tzs[slen] = '\0';
		if (slen) {
			if (!tz_rule_parse(tzs, &z->rule)) {
				char q[64];

				ret = cluster_err_set(err, -EBADMSG,
						      "its footer '%s' is not a POSIX TZ rule",
						      cluster_quote(q, sizeof(q), tzs, slen));
				goto out_free;
			}
			z->has_rule = true;
		}
	} else if (pos != len) {
		ret = cluster_err_set(err, -EBADMSG, "%zu bytes after its data", len - pos);
		goto out_free;
	}
	*out = z;
	return 0;
out_free:
	tz_free(z);
	return ret;
}

void cluster_tz_put(struct cluster_tz *tz)
{
	if (!tz || tz->builtin)
		return;
	if (atomic_fetch_sub(&tz->refs, 1) == 1)
		tz_free(tz);
}

const char *cluster_tz_name(const struct cluster_tz *tz)
{
	return tz ? tz->name : tz_utc.name;
}

/* ---------------------------------------------------------------- files */

static int tz_read_file(const char *name, struct cluster_tz **out, struct cluster_err *err)
{
	char path[sizeof(CLUSTER_TZDIR) + 1 + CLUSTER_TZ_NAME_MAX + 1];
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", CLUSTER_TZDIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT || ret == -ENOTDIR)
			return cluster_err_set(err, -ENOENT, "unknown time zone '%s' (no %s)", name,
					       path);
		return cluster_err_set(err, ret, "time zone '%s': %s: %s", name, path,
				       strerror(-ret));
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		cluster_err_set(err, ret, "time zone '%s': fstat %s: %s", name, path,
				strerror(-ret));
		goto out_close;
	}
	if (S_ISDIR(st.st_mode)) {
		ret = cluster_err_set(err, -ENOENT,
				      "unknown time zone '%s' (%s is a directory of zones)", name,
				      path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > TZ_FILE_MAX) {
		ret = cluster_err_set(err, -EBADMSG,
				      "time zone '%s': %s is not a regular file of at most 1 MiB",
				      name, path);
		goto out_close;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		ret = cluster_err_set(err, -ENOMEM, "out of memory");
		goto out_close;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			ret = n ? -errno : -EBADMSG;
			cluster_err_set(err, ret, "time zone '%s': read %s: %s", name, path,
					n ? strerror(-ret) : "shorter than its size");
			goto out_free;
		}
		got += (size_t)n;
	}
	ret = cluster_tz_parse(buf, got, name, out, err);
	if (ret) {
		char why[sizeof(err->msg)];

		snprintf(why, sizeof(why), "%s", err->msg);
		cluster_err_set(err, ret, "time zone '%s': %s: %s", name, path, why);
	}
out_free:
	free(buf);
out_close:
	close(fd);
	return ret;
}

/* The cache: each zone read once, kept for the life of the process. */
static pthread_mutex_t tz_cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cluster_tz *tz_cache[TZ_CACHE_MAX];
static size_t tz_cache_n;

int cluster_tz_get(const char *name, struct cluster_tz **out, struct cluster_err *err)
{
	struct cluster_tz *z = NULL;
	size_t i;
	int ret;

	*out = NULL;
	ret = cluster_tz_name_check(name, err);
	if (ret)
		return ret;
	if (!strcmp(name, "UTC")) {
		*out = &tz_utc;
		return 0;
	}
	pthread_mutex_lock(&tz_cache_lock);
	for (i = 0; i < tz_cache_n; i++) {
		if (!strcmp(tz_cache[i]->name, name)) {
			z = tz_cache[i];
			atomic_fetch_add(&z->refs, 1);
			goto out_unlock;
		}
	}
	ret = tz_read_file(name, &z, err);
	if (ret)
		goto out_unlock;
	if (tz_cache_n < TZ_CACHE_MAX) {
		atomic_fetch_add(&z->refs, 1); /* the cache's */
		tz_cache[tz_cache_n++] = z;
	}
out_unlock:
	pthread_mutex_unlock(&tz_cache_lock);
	*out = z;
	return ret;
}

/* ---------------------------------------------------------- conversions */

static bool tz_time_ok(int64_t t)
{
	return t >= CLUSTER_TIME_MIN && t <= CLUSTER_TIME_MAX;
}

static void tz_info_fill(const struct tz_seg *s, struct cluster_tz_info *out)
{
	out->utoff = s->utoff;
	out->isdst = s->isdst;
	snprintf(out->abbr, sizeof(out->abbr), "%s", s->abbr);
	out->since = s->since;
	out->until = s->until;
}

int cluster_tz_lookup(const struct cluster_tz *tz, int64_t t, struct cluster_tz_info *out)
{
	struct tz_seg s;

	if (!tz_time_ok(t))
		return -ERANGE;
	tz_seg_at(tz, t, &s);
	tz_info_fill(&s, out);
	return 0;
}

int cluster_tz_local(const struct cluster_tz *tz, int64_t t, struct cluster_civil *wall,
		     struct cluster_tz_info *info)
{
	struct tz_seg s;

	if (!tz_time_ok(t))
		return -ERANGE;
	tz_seg_at(tz, t, &s);
	cal_civil(t + s.utoff, wall);
	if (info)
		tz_info_fill(&s, info);
	return 0;
}

int cluster_tz_resolve(const struct cluster_tz *tz, const struct cluster_civil *w, int64_t *out)
{
	int64_t t;

	if (w->year < 1 || w->year > 9999 || w->mon < 1 || w->mon > 12 || w->mday < 1 ||
	    w->mday > cal_days_in_month(w->year, w->mon) || w->hour < 0 || w->hour > 23 ||
	    w->min < 0 || w->min > 59 || w->sec < 0 || w->sec > 59)
		return -EINVAL;
	t = tz_resolve_secs(tz, cal_secs(w->year, w->mon, w->mday, w->hour, w->min, w->sec));
	if (!tz_time_ok(t))
		return -ERANGE;
	*out = t;
	return 0;
}

int cluster_tz_format(const struct cluster_tz *tz, int64_t t, char *buf, size_t len)
{
	struct cluster_civil c;
	struct cluster_tz_info info;
	char off[16];
	int32_t a;
	int n;

	if (cluster_tz_local(tz, t, &c, &info))
		return -ERANGE;
	a = info.utoff < 0 ? -info.utoff : info.utoff;
	if (!tz || tz == &tz_utc)
		snprintf(off, sizeof(off), "Z");
	else if (a % 60) /* local mean time before standard time: RFC 3339 has no seconds here */
		snprintf(off, sizeof(off), "%c%02d:%02d:%02d", info.utoff < 0 ? '-' : '+', a / 3600,
			 a / 60 % 60, a % 60);
	else
		snprintf(off, sizeof(off), "%c%02d:%02d", info.utoff < 0 ? '-' : '+', a / 3600,
			 a / 60 % 60);
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", c.year, c.mon, c.mday, c.hour,
		     c.min, c.sec, off);
	if (n < 0 || (size_t)n >= len)
		return -ENOSPC;
	return n;
}
