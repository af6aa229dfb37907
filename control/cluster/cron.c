// SPDX-License-Identifier: MIT
/*
 * control/cluster/cron.c - the schedule language of cluster.h: 5-field
 * cron, @descriptors, @every and Quartz, read into one struct cluster_cron,
 * and the next-run search.
 *
 * The search works on wall time and leaves DST to tz.c: from the latest
 * wall time the zone has shown at the given instant (tz_wall_max()), find
 * the next wall time the fields match, on the calendar alone, then the
 * first instant that shows it (tz_resolve_secs()). Both steps are monotone,
 * so that instant is the first run after the given one, a skipped wall
 * time runs at the end of its gap, and a repeated one runs once, the first
 * time.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cluster_priv.h"

#define CRON_TEXT_MAX	1024
#define CRON_FIELDS_MAX 7
#define CRON_YEAR_MIN	1970
#define CRON_YEAR_MAX	2099

enum cron_field { F_SEC, F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_YEAR };

static const char *const cron_field_name[] = {
	"second", "minute", "hour", "day-of-month", "month", "day-of-week", "year",
};

static const char *const cron_months[] = {
	"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
};

static const char *const cron_days[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

/*
 * struct cron_spec - one field of one form: numbers @min-@max are taken,
 * '*' is @smin-@smax (5-field day-of-week takes 7 but '*' means 0-6), and
 * @names[i] stands for @nbase + i. Values are stored at bit (value - @base).
 */
struct cron_spec {
	enum cron_field f;
	int min, max, smin, smax;
	const char *const *names;
	int nnames, nbase, base;
};

static const struct cron_spec cron5_spec[] = {
	{F_MIN, 0, 59, 0, 59, NULL, 0, 0, 0},	 {F_HOUR, 0, 23, 0, 23, NULL, 0, 0, 0},
	{F_DOM, 1, 31, 1, 31, NULL, 0, 0, 0},	 {F_MON, 1, 12, 1, 12, cron_months, 12, 1, 0},
	{F_DOW, 0, 7, 0, 6, cron_days, 7, 0, 0},
};

static const struct cron_spec quartz_spec[] = {
	{F_SEC, 0, 59, 0, 59, NULL, 0, 0, 0},
	{F_MIN, 0, 59, 0, 59, NULL, 0, 0, 0},
	{F_HOUR, 0, 23, 0, 23, NULL, 0, 0, 0},
	{F_DOM, 1, 31, 1, 31, NULL, 0, 0, 0},
	{F_MON, 1, 12, 1, 12, cron_months, 12, 1, 0},
	{F_DOW, 1, 7, 1, 7, cron_days, 7, 1, 0},
	{F_YEAR, CRON_YEAR_MIN, CRON_YEAR_MAX, CRON_YEAR_MIN, CRON_YEAR_MAX, NULL, 0, 0,
	 CRON_YEAR_MIN},
};

struct cron_ctx {
	bool quartz;
	struct cluster_err *err;
};

/* "<field> '<text>': <why>", and for day-of-week the form's numbering. */
static int cron_bad(struct cron_ctx *x, enum cron_field f, const char *text, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int cron_bad(struct cron_ctx *x, enum cron_field f, const char *text, const char *fmt, ...)
{
	char why[160], q[48];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	cluster_quote(q, sizeof(q), text, strlen(text));
	if (f == F_DOW)
		return cluster_err_set(x->err, -EINVAL, "day-of-week '%s': %s (%s)", q, why,
				       x->quartz ? "Quartz: 1 is Sunday, 7 Saturday"
						 : "5-field cron: 0 and 7 are Sunday, 6 Saturday");
	return cluster_err_set(x->err, -EINVAL, "%s '%s': %s", cron_field_name[f], q, why);
}

static bool cron_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool cron_is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static char cron_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

static void set_bit(uint64_t set[3], int pos)
{
	set[pos / 64] |= 1ULL << (pos % 64);
}

/*
 * A number (at most 4 digits) or a 3-letter name of the field; NULL if
 * neither. With @suffix, a name may run into the letter after it ("FRIL").
 */
static const char *cron_value_at(const struct cron_spec *s, const char *p, int *v, bool suffix)
{
	int n = 0, nd = 0;

	if (cron_is_digit(*p)) {
		while (cron_is_digit(*p) && nd < 5) {
			n = n * 10 + (*p++ - '0');
			nd++;
		}
		if (nd > 4)
			return NULL;
		*v = n;
		return p;
	}
	for (int i = 0; i < s->nnames; i++) {
		const char *nm = s->names[i];

		if (cron_upper(p[0]) == nm[0] && cron_upper(p[1]) == nm[1] &&
		    cron_upper(p[2]) == nm[2] && (suffix || !cron_is_alpha(p[3]))) {
			*v = s->nbase + i;
			return p + 3;
		}
	}
	return NULL;
}

static const char *cron_value(const struct cron_spec *s, const char *p, int *v)
{
	return cron_value_at(s, p, v, false);
}

/*
 * One field of items "*", "N", "N-M", each with an optional "/STEP", in a
 * list. @robfig_star: an item is '*' or '*\/1', which robfig/cron counts as
 * not restricting the field (its day rule).
 */
static int cron_field(struct cron_ctx *x, const struct cron_spec *s, const char *text,
		      uint64_t set[3], bool *robfig_star)
{
	const char *p = text;

	memset(set, 0, 3 * sizeof(set[0]));
	*robfig_star = false;
	for (;;) {
		int lo, hi, step = 1;
		bool star = false, single = false, has_step = false;

		if (*p == ',' || !*p)
			return cron_bad(x, s->f, text, "an empty item in a list");
		if (*p == '?')
			return cron_bad(
				x, s->f, text,
				x->quartz
					? "'?' stands alone, in day-of-month or day-of-week"
					: "'?' is Quartz's (6-7 fields, seconds first); 5-field cron writes '*'");
		if (*p == '*') {
			star = true;
			lo = s->smin;
			hi = s->smax;
			p++;
		} else {
			const char *q = cron_value(s, p, &lo);

			if (!q)
				return cron_bad(x, s->f, text,
						s->names ? "expected a number or a 3-letter name"
							 : "expected a number");
			p = q;
			if (*p == '-') {
				q = cron_value(s, p + 1, &hi);
				if (!q)
					return cron_bad(x, s->f, text,
							"expected a number after '-'");
				p = q;
			} else {
				hi = lo;
				single = true;
			}
		}
		if (*p == '/') {
			const char *q = p + 1;

			has_step = true;
			step = 0;
			if (!cron_is_digit(*q))
				return cron_bad(x, s->f, text, "expected a step after '/'");
			for (; cron_is_digit(*q); q++)
				if (step < 100000)
					step = step * 10 + (*q - '0');
			p = q;
		}
		if (*p && *p != ',')
			return cron_bad(x, s->f, text, "unexpected '%c'",
					*p > 0x20 && *p < 0x7f ? *p : '?');
		if (!star && (lo < s->min || lo > s->max || hi < s->min || hi > s->max))
			return cron_bad(x, s->f, text, "%d is outside %d-%d",
					lo < s->min || lo > s->max ? lo : hi, s->min, s->max);
		if (lo > hi)
			return cron_bad(x, s->f, text,
					"the range %d-%d runs backwards (write it as two ranges)",
					lo, hi);
		if (has_step) {
			if (step < 1 || step > s->smax - s->smin + 1)
				return cron_bad(
					x, s->f, text,
					"a step of %d: steps are 1-%d, and restart with each %s",
					step, s->smax - s->smin + 1,
					s->f == F_SEC	 ? "minute (for longer periods: @every)"
					: s->f == F_MIN	 ? "hour (for longer periods: @every)"
					: s->f == F_HOUR ? "day (for longer periods: @every)"
							 : "cycle of the field");
			if (single) {
				if (s->f == F_DOW && !x->quartz)
					return cron_bad(
						x, s->f, text,
						"a step from one day is read through 6 or through 7 by different crons: write a range, such as %d-6/%d",
						lo, step);
				hi = s->smax; /* "N/STEP" is "N-max/STEP" */
			}
		}
		if (star && step == 1)
			*robfig_star = true;
		for (int v = lo; v <= hi; v += step)
			set_bit(set, v - s->base);
		if (!*p)
			return 0;
		p++;
	}
}

/* Quartz day-of-month L, L-N, LW, L-NW, NW: the whole field. */
static int cron_dom_special(struct cron_ctx *x, const char *text, struct cluster_cron *c)
{
	const char *p = text;
	int n = 0, nd = 0;

	if (*p == 'L') {
		p++;
		if (*p == '-') {
			for (p++; cron_is_digit(*p) && nd < 3; p++, nd++)
				n = n * 10 + (*p - '0');
			if (!nd || n > 30)
				return cron_bad(x, F_DOM, text,
						"L-N counts 0-30 days back from the last day");
		}
		if (*p == 'W') {
			c->dom_weekday = true;
			p++;
		}
		if (*p)
			goto bad;
		c->dom_last = (int8_t)n;
		return 0;
	}
	for (; cron_is_digit(*p) && nd < 3; p++, nd++)
		n = n * 10 + (*p - '0');
	if (!nd || *p != 'W' || p[1])
		goto bad;
	if (n < 1 || n > 31)
		return cron_bad(x, F_DOM, text, "%d is outside 1-31", n);
	c->dom_near = (int8_t)n;
	c->dom_weekday = true;
	return 0;
bad:
	return cron_bad(
		x, F_DOM, text,
		"'L' and 'W' take the whole field: L, L-N, LW, L-NW or NW (no lists or ranges)");
}

/* Quartz day-of-week NL, N#K (N a number 1-7 or a name), or L alone (Saturday). */
static int cron_dow_special(struct cron_ctx *x, const char *text, struct cluster_cron *c)
{
	const char *p;
	int v;

	if (!strcmp(text, "L")) {
		c->dow = 1 << 6;
		return 0;
	}
	p = cron_value_at(&quartz_spec[F_DOW], text, &v, true);
	if (!p || (*p != 'L' && *p != '#'))
		goto bad;
	if (v < 1 || v > 7)
		return cron_bad(x, F_DOW, text, "%d is outside 1-7", v);
	if (*p == 'L') {
		if (p[1])
			goto bad;
		c->dow_last = (int8_t)(v - 1);
		return 0;
	}
	if (!cron_is_digit(p[1]) || p[2])
		goto bad;
	if (p[1] < '1' || p[1] > '5')
		return cron_bad(x, F_DOW, text, "#%c: a month has a 1st to a 5th of each day",
				p[1]);
	c->dow_nth = (int8_t)(p[1] - '0');
	c->dow_nth_wd = (int8_t)(v - 1);
	return 0;
bad:
	return cron_bad(x, F_DOW, text,
			"'L' and '#' take the whole field: NL, N#K or L (no lists or ranges)");
}

/*
 * A Go duration (time.ParseDuration): [+]([0-9]*(.[0-9]*)?UNIT)+ with
 * units ns us µs μs ms s m h, or "0". It must come to a whole number of
 * seconds, at least one: robfig/cron rounds anything else, and a schedule
 * here runs as written or not at all.
 */
static int cron_every(const char *text, int64_t *out, struct cluster_err *err)
{
	static const struct {
		const char *name;
		int64_t ns;
	} units[] = {
		{"ns", 1},
		{"us", 1000},
		{"\xc2\xb5s", 1000}, /* U+00B5 micro sign */
		{"\xce\xbcs", 1000}, /* U+03BC Greek mu */
		{"ms", 1000000},
		{"s", 1000000000},
		{"m", 60000000000LL},
		{"h", 3600000000000LL},
	};
	const char *p = text;
	__int128 total = 0;
	char q[48];

	cluster_quote(q, sizeof(q), text, strlen(text));
	if (*p == '-')
		return cluster_err_set(err, -EINVAL, "@every '%s': a negative interval", q);
	if (*p == '+')
		p++;
	if (!strcmp(p, "0"))
		return cluster_err_set(err, -EINVAL, "@every '%s': a zero interval", q);
	if (!*p)
		return cluster_err_set(err, -EINVAL, "@every '%s': not a Go duration", q);
	while (*p) {
		__int128 whole = 0, frac = 0, scale = 1;
		int nd = 0, nf = 0, u;
		const char *us;
		size_t ulen;

		for (; cron_is_digit(*p); p++, nd++) {
			whole = whole * 10 + (*p - '0');
			if (whole > INT64_MAX)
				goto too_long;
		}
		if (*p == '.') {
			/*
			 * More than 18 digits after the point that are not all
			 * zeros never make whole seconds (nor whole nanoseconds).
			 */
			for (p++; cron_is_digit(*p); p++, nf++) {
				if (nf < 18) {
					frac = frac * 10 + (*p - '0');
					scale *= 10;
				} else if (*p != '0') {
					goto fraction;
				}
			}
		}
		if (!nd && !nf)
			return cluster_err_set(err, -EINVAL, "@every '%s': not a Go duration", q);
		for (us = p; *p && *p != '.' && !cron_is_digit(*p); p++)
			;
		ulen = (size_t)(p - us);
		if (!ulen)
			return cluster_err_set(
				err, -EINVAL,
				"@every '%s': a number without a unit (h, m, s, ms, us, ns)", q);
		for (u = 0; u < (int)(sizeof(units) / sizeof(units[0])); u++)
			if (strlen(units[u].name) == ulen && !memcmp(us, units[u].name, ulen))
				break;
		if (u == (int)(sizeof(units) / sizeof(units[0]))) {
			char uq[16];

			return cluster_err_set(
				err, -EINVAL,
				"@every '%s': unit '%s' is not a Go duration unit (h, m, s, ms, us, ns; no days)",
				q, cluster_quote(uq, sizeof(uq), us, ulen));
		}
		total += whole * units[u].ns;
		if (frac) {
			if (frac * units[u].ns % scale)
				goto fraction;
			total += frac * units[u].ns / scale;
		}
		if (total > INT64_MAX)
			goto too_long;
	}
	if (total % 1000000000)
		goto fraction;
	if (total == 0)
		return cluster_err_set(err, -EINVAL, "@every '%s': a zero interval", q);
	*out = (int64_t)(total / 1000000000);
	return 0;
fraction:
	return cluster_err_set(
		err, -EINVAL,
		"@every '%s': not a whole number of seconds (schedules run on seconds)", q);
too_long:
	return cluster_err_set(err, -EINVAL, "@every '%s': longer than Go durations go (2562047h)",
			       q);
}

/* ------------------------------------------------------------- matching */

static bool cron_year_ok(const struct cluster_cron *c, int64_t y)
{
	if (c->any_year)
		return true;
	if (y < CRON_YEAR_MIN || y > CRON_YEAR_MAX)
		return false;
	return c->years[(y - CRON_YEAR_MIN) / 64] >> ((y - CRON_YEAR_MIN) % 64) & 1;
}

/* The first year after @y the year field allows; INT64_MAX for none. */
static int64_t cron_year_after(const struct cluster_cron *c, int64_t y)
{
	for (int64_t n = y < CRON_YEAR_MIN ? CRON_YEAR_MIN : y + 1; n <= CRON_YEAR_MAX; n++)
		if (cron_year_ok(c, n))
			return n;
	return INT64_MAX;
}

/* Quartz's W: the weekday nearest day @n of the month, never leaving the month. */
static int cron_nearest_weekday(int64_t y, int m, int n, int dim)
{
	int wd = cal_wday(cal_days(y, m, n));

	if (wd == 6) /* Saturday: the Friday before, or Monday the 3rd for the 1st */
		return n == 1 ? 3 : n - 1;
	if (wd == 0) /* Sunday: the Monday after, or the Friday before for the last day */
		return n == dim ? n - 2 : n + 1;
	return n;
}

static bool cron_day_ok(const struct cluster_cron *c, int64_t y, int m, int d)
{
	int dim = cal_days_in_month(y, m), wd = cal_wday(cal_days(y, m, d));
	bool dom, dow;

	if (c->dom_last >= 0 || c->dom_near) {
		int n = c->dom_last >= 0 ? dim - c->dom_last : c->dom_near;

		dom = n >= 1 && n <= dim &&
		      d == (c->dom_weekday ? cron_nearest_weekday(y, m, n, dim) : n);
	} else {
		dom = c->dom >> d & 1;
	}
	if (c->dow_last >= 0)
		dow = wd == c->dow_last && d + 7 > dim;
	else if (c->dow_nth)
		dow = wd == c->dow_nth_wd && (d - 1) / 7 + 1 == c->dow_nth;
	else
		dow = c->dow >> wd & 1;
	/* the day rule: both fields restricted, either may match */
	return c->dom_star || c->dow_star ? dom && dow : dom || dow;
}

static int cron_bit_from(uint64_t set, int from)
{
	uint64_t m;

	if (from > 63)
		return -1;
	m = set & (~0ULL << from);
	return m ? __builtin_ctzll(m) : -1;
}

/*
 * The first wall time (civil seconds) at or after @from that the fields
 * match, in a year up to @ylimit; -ENOENT if none. Each field skips to its
 * next allowed value and resets the ones below it.
 */
static int cron_search(const struct cluster_cron *c, int64_t from, int64_t ylimit, int64_t *out)
{
	struct cluster_civil t;
	int64_t y;
	int m, d, hh, mi, ss;

	cal_civil(from, &t);
	y = t.year;
	m = t.mon;
	d = t.mday;
	hh = t.hour;
	mi = t.min;
	ss = t.sec;
	for (;;) {
		int dim, n;

		if (y > ylimit)
			return -ENOENT;
		if (!cron_year_ok(c, y)) {
			y = cron_year_after(c, y);
			m = d = 1;
			hh = mi = ss = 0;
			continue;
		}
		n = cron_bit_from(c->mon, m);
		if (n < 0) {
			y++;
			m = d = 1;
			hh = mi = ss = 0;
			continue;
		}
		if (n != m) {
			m = n;
			d = 1;
			hh = mi = ss = 0;
		}
		dim = cal_days_in_month(y, m);
		while (d <= dim && !cron_day_ok(c, y, m, d)) {
			d++;
			hh = mi = ss = 0;
		}
		if (d > dim) {
			if (++m > 12) {
				y++;
				m = 1;
			}
			d = 1;
			hh = mi = ss = 0;
			continue;
		}
		n = cron_bit_from(c->hour, hh);
		if (n < 0) {
			d++;
			hh = mi = ss = 0;
			continue;
		}
		if (n != hh) {
			hh = n;
			mi = ss = 0;
		}
		n = cron_bit_from(c->min, mi);
		if (n < 0) {
			hh++;
			mi = ss = 0;
			continue;
		}
		if (n != mi) {
			mi = n;
			ss = 0;
		}
		n = cron_bit_from(c->sec, ss);
		if (n < 0) {
			mi++;
			ss = 0;
			continue;
		}
		*out = cal_secs(y, m, d, hh, mi, n);
		return 0;
	}
}

bool cluster_cron_matches(const struct cluster_cron *c, const struct cluster_civil *w)
{
	if (c->form == CLUSTER_CRON_EVERY || w->year < 0 || w->year > 10000 || w->mon < 1 ||
	    w->mon > 12 || w->mday < 1 || w->mday > cal_days_in_month(w->year, w->mon) ||
	    w->hour < 0 || w->hour > 23 || w->min < 0 || w->min > 59 || w->sec < 0 || w->sec > 59)
		return false;
	return cron_year_ok(c, w->year) && (c->mon >> w->mon & 1) &&
	       cron_day_ok(c, w->year, w->mon, w->mday) && (c->hour >> w->hour & 1) &&
	       (c->min >> w->min & 1) && (c->sec >> w->sec & 1);
}

/* --------------------------------------------------------------- parsing */

/* The fields of a 5-field or Quartz expression, already split and upper-cased. */
static int cron_fields(struct cron_ctx *x, char **tok, int n, struct cluster_cron *c)
{
	const struct cron_spec *spec = x->quartz ? quartz_spec : cron5_spec;
	bool rstar[7] = {0}, vstar_dom, vstar_dow;
	uint64_t set[3];
	int i, ret;
	/* field i of this form is spec[i].f; 5-field cron has no second */
	char *dom_text = tok[x->quartz ? 3 : 2], *dow_text = tok[x->quartz ? 5 : 4];

	c->dom_last = c->dow_last = -1;
	c->any_year = true;
	c->sec = 1; /* second 0, unless a Quartz second field says otherwise */
	if (x->quartz) {
		bool dom_q = !strcmp(dom_text, "?"), dow_q = !strcmp(dow_text, "?");

		if (dom_q == dow_q)
			return cluster_err_set(
				x->err, -EINVAL,
				dom_q ? "Quartz puts '?' in one of day-of-month and day-of-week, not both"
				      : "6-7 fields are Quartz (seconds first), which needs '?' in day-of-month or day-of-week: daily at 01:00 is '0 0 1 * * ?'");
	}
	for (i = 0; i < n; i++) {
		const struct cron_spec *s = &spec[i];
		char *t = tok[i];

		if (s->f == F_DOM || s->f == F_DOW) {
			if (x->quartz && !strcmp(t, "?")) {
				rstar[s->f] = true;
				if (s->f == F_DOM)
					c->dom = 0xfffffffe;
				else
					c->dow = 0x7f;
				continue;
			}
			if (strpbrk(t, s->f == F_DOM ? "LW" : "L#")) {
				if (!x->quartz)
					return cron_bad(
						x, s->f, t,
						"'L', 'W' and '#' are Quartz's (6-7 fields, seconds first)");
				ret = s->f == F_DOM ? cron_dom_special(x, t, c)
						    : cron_dow_special(x, t, c);
				if (ret)
					return ret;
				continue;
			}
		}
		ret = cron_field(x, s, t, set, &rstar[s->f]);
		if (ret)
			return ret;
		switch (s->f) {
		case F_SEC:
			c->sec = set[0];
			break;
		case F_MIN:
			c->min = set[0];
			break;
		case F_HOUR:
			c->hour = (uint32_t)set[0];
			break;
		case F_DOM:
			c->dom = (uint32_t)set[0];
			break;
		case F_MON:
			c->mon = (uint16_t)set[0];
			break;
		case F_DOW:
			if (x->quartz) /* 1-7 from Sunday to 0-6 */
				c->dow = (uint8_t)(set[0] >> 1);
			else /* 0-7 with 7 Sunday */
				c->dow = (uint8_t)((set[0] | set[0] >> 7) & 0x7f);
			break;
		case F_YEAR:
			memcpy(c->years, set, sizeof(c->years));
			c->any_year = rstar[F_YEAR];
			break;
		}
	}
	c->dom_star = rstar[F_DOM];
	c->dow_star = rstar[F_DOW];
	/*
	 * Vixie cron takes a day field as '*' when its text starts with '*';
	 * robfig/cron when an item is '*' or '*\/1'. Where that changes which
	 * days run, say so rather than pick one.
	 */
	vstar_dom = dom_text[0] == '*';
	vstar_dow = dow_text[0] == '*';
	if (!x->quartz && (vstar_dom || vstar_dow) != (c->dom_star || c->dow_star)) {
		char a[32], b[32];

		return cluster_err_set(
			x->err, -EINVAL,
			"day-of-month '%s' with day-of-week '%s': crons differ on whether a day must match both or either; list the days without '*'",
			cluster_quote(a, sizeof(a), dom_text, strlen(dom_text)),
			cluster_quote(b, sizeof(b), dow_text, strlen(dow_text)));
	}
	return 0;
}

/* Whether the fields ever meet on a real date: 400 years repeat the calendar. */
static int cron_check_runs(struct cron_ctx *x, const struct cluster_cron *c)
{
	int64_t y0 = c->any_year ? 2000 : cron_year_after(c, CRON_YEAR_MIN - 1);
	int64_t ylimit = c->any_year ? 2399 : CRON_YEAR_MAX, w;

	if (!cron_search(c, cal_secs(y0, 1, 1, 0, 0, 0), ylimit, &w))
		return 0;
	return cluster_err_set(
		x->err, -EINVAL,
		c->any_year
			? "day-of-month, month and day-of-week never fall on one date: the schedule would never run"
			: "no date in the years of the year field matches day-of-month, month and day-of-week: the schedule would never run");
}

static const struct {
	const char *name, *expr;
} cron_descriptors[] = {
	{"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
	{"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

static bool cron_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Split @buf in place at white space; returns the number of words (up to @max + 1). */
static int cron_split(char *buf, char **tok, int max)
{
	int n = 0;
	char *p = buf;

	for (;;) {
		while (cron_space(*p))
			*p++ = '\0';
		if (!*p || n > max)
			return n;
		tok[n++] = p;
		while (*p && !cron_space(*p))
			p++;
	}
}

int cluster_cron_parse(const char *text, struct cluster_cron *out, struct cluster_err *err)
{
	char buf[CRON_TEXT_MAX + 1], *tok[CRON_FIELDS_MAX + 2], q[48];
	struct cron_ctx x = {.quartz = false, .err = err};
	struct cluster_cron c;
	char **f;
	int n, ret;

	cluster_err_clear(err);
	memset(&c, 0, sizeof(c));
	if (!text)
		return cluster_err_set(err, -EINVAL, "an empty schedule");
	if (strlen(text) > CRON_TEXT_MAX)
		return cluster_err_set(err, -EINVAL, "a schedule longer than %d characters",
				       CRON_TEXT_MAX);
	memcpy(buf, text, strlen(text) + 1);
	n = cron_split(buf, tok, CRON_FIELDS_MAX + 1);
	f = tok;
	if (n && (!strncmp(f[0], "CRON_TZ=", 8) || !strncmp(f[0], "TZ=", 3))) {
		const char *zone = strchr(f[0], '=') + 1;

		ret = cluster_tz_name_check(zone, err);
		if (ret) {
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err->msg);
			return cluster_err_set(err, ret, "%.*s prefix: %s", (int)(zone - 1 - f[0]),
					       f[0], why);
		}
		snprintf(c.zone, sizeof(c.zone), "%s", zone);
		f++;
		n--;
		if (n && (!strncmp(f[0], "CRON_TZ=", 8) || !strncmp(f[0], "TZ=", 3)))
			return cluster_err_set(err, -EINVAL, "a second zone prefix '%s'",
					       cluster_quote(q, sizeof(q), f[0], strlen(f[0])));
	}
	if (!n)
		return cluster_err_set(err, -EINVAL,
				       c.zone[0] ? "nothing after the zone prefix"
						 : "an empty schedule");
	if (f[0][0] == '@') {
		if (!strcmp(f[0], "@every")) {
			if (n != 2)
				return cluster_err_set(
					err, -EINVAL,
					"@every takes one duration, such as '@every 1h30m'");
			ret = cron_every(f[1], &c.every, err);
			if (ret)
				return ret;
			c.form = CLUSTER_CRON_EVERY;
			*out = c;
			return 0;
		}
		for (size_t i = 0; i < sizeof(cron_descriptors) / sizeof(cron_descriptors[0]);
		     i++) {
			char ebuf[16], *etok[6];

			if (strcmp(f[0], cron_descriptors[i].name))
				continue;
			if (n != 1)
				return cluster_err_set(err, -EINVAL, "%s takes nothing after it",
						       f[0]);
			snprintf(ebuf, sizeof(ebuf), "%s", cron_descriptors[i].expr);
			cron_split(ebuf, etok, 5);
			ret = cron_fields(&x, etok, 5, &c);
			assert(!ret);
			c.form = CLUSTER_CRON_DESCRIPTOR;
			*out = c;
			return 0;
		}
		return cluster_err_set(
			err, -EINVAL,
			"unknown '%s': @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly or @every DURATION",
			cluster_quote(q, sizeof(q), f[0], strlen(f[0])));
	}
	if (n != 5 && n != 6 && n != 7) {
		char count[24];

		snprintf(count, sizeof(count), n > CRON_FIELDS_MAX ? "more than %d" : "%d",
			 n > CRON_FIELDS_MAX ? CRON_FIELDS_MAX : n);
		return cluster_err_set(
			err, -EINVAL,
			"%s fields: 5-field cron is minute hour day-of-month month day-of-week; Quartz has 6-7, seconds first",
			count);
	}
	for (int i = 0; i < n; i++)
		for (char *p = f[i]; *p; p++)
			*p = cron_upper(*p);
	x.quartz = n != 5;
	c.form = x.quartz ? CLUSTER_CRON_QUARTZ : CLUSTER_CRON_STANDARD;
	ret = cron_fields(&x, f, n, &c);
	if (!ret)
		ret = cron_check_runs(&x, &c);
	if (ret)
		return ret;
	*out = c;
	return 0;
}

/* --------------------------------------------------------------- running */

static bool cron_time_ok(int64_t t)
{
	return t >= CLUSTER_TIME_MIN && t <= CLUSTER_TIME_MAX;
}

int cluster_cron_next(const struct cluster_cron *c, const struct cluster_tz *tz, int64_t after,
		      int64_t *next)
{
	int64_t wall, t;
	int ret;

	if (!cron_time_ok(after))
		return -ERANGE;
	if (c->form == CLUSTER_CRON_EVERY) {
		if (after > CLUSTER_TIME_MAX - c->every)
			return -ENOENT;
		*next = after + c->every;
		return 0;
	}
	wall = tz_wall_max(tz, after);
	ret = cron_search(c, wall + 1, 9999, &t);
	if (ret)
		return ret;
	t = tz_resolve_secs(tz, t);
	if (t > CLUSTER_TIME_MAX)
		return -ENOENT;
	assert(t > after);
	*next = t;
	return 0;
}

int cluster_cron_due(const struct cluster_cron *c, const struct cluster_tz *tz, int64_t last,
		     int64_t now, struct cluster_cron_due *out)
{
	int64_t t, lo, hi;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!cron_time_ok(last) || !cron_time_ok(now))
		return -ERANGE;
	if (c->form == CLUSTER_CRON_EVERY) {
		int64_t k = now > last ? (now - last) / c->every : 0;

		if (k) {
			out->runs =
				k > CLUSTER_CRON_COUNT_MAX ? CLUSTER_CRON_COUNT_MAX : (uint32_t)k;
			out->more = k > CLUSTER_CRON_COUNT_MAX;
			out->first = last + c->every;
			out->due = last + k * c->every;
		}
		ret = cluster_cron_next(c, tz, k ? out->due : last, &out->next);
		out->has_next = !ret;
		return ret == -ENOENT ? 0 : ret;
	}
	ret = cluster_cron_next(c, tz, last, &t);
	if (!ret && t <= now) {
		/*
		 * The latest run at or before now: next() never decreases, so
		 * the largest lo with next(lo) <= now is found by halving.
		 */
		out->first = t;
		lo = last;
		hi = now;
		while (hi - lo > 1) {
			int64_t mid = lo + (hi - lo) / 2, r;

			if (!cluster_cron_next(c, tz, mid, &r) && r <= now)
				lo = mid;
			else
				hi = mid;
		}
		ret = cluster_cron_next(c, tz, lo, &out->due);
		assert(!ret && out->due <= now);
		for (out->runs = 0; !ret && t <= now; ret = cluster_cron_next(c, tz, t, &t)) {
			if (out->runs == CLUSTER_CRON_COUNT_MAX) {
				out->more = true;
				break;
			}
			out->runs++;
		}
	}
	ret = cluster_cron_next(c, tz, now > last ? now : last, &out->next);
	out->has_next = !ret;
	return ret == -ENOENT ? 0 : ret;
}

int cluster_cron_zone(const struct cluster_cron *c, const char *time_zone, const char **name,
		      struct cluster_err *err)
{
	int ret;

	cluster_err_clear(err);
	if (c->zone[0] && time_zone && *time_zone) {
		char q[48];

		return cluster_err_set(
			err, -EINVAL,
			"the zone is given twice, CRON_TZ=%.64s in the schedule and timeZone %s: give it once",
			c->zone, cluster_quote(q, sizeof(q), time_zone, strlen(time_zone)));
	}
	if (c->zone[0]) {
		*name = c->zone;
		return 0;
	}
	if (time_zone && *time_zone) {
		ret = cluster_tz_name_check(time_zone, err);
		if (ret)
			return ret;
		*name = time_zone;
		return 0;
	}
	*name = "UTC";
	return 0;
}

int cluster_schedule_check(const char *schedule, const char *time_zone, struct cluster_err *err)
{
	struct cluster_cron c;
	struct cluster_tz *tz;
	const char *name;
	int ret;

	ret = cluster_cron_parse(schedule, &c, err);
	if (ret)
		return ret;
	ret = cluster_cron_zone(&c, time_zone, &name, err);
	if (ret)
		return ret;
	ret = cluster_tz_get(name, &tz, err);
	cluster_tz_put(tz);
	return ret;
}
