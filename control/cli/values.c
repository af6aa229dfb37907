// SPDX-License-Identifier: MIT
/*
 * control/cli/values.c - the values of the command line and of custom
 * resources, parsed without I/O: sizes, durations, intervals, counts,
 * KEY=VALUE labels and Kubernetes label selectors.
 *
 * Nothing here prints, reads a file or keeps state: every function reports
 * its failure as -errno and, if asked, a one-line reason in a struct
 * ctl_err the caller owns, so reconcilers on shared worker threads can
 * call them (they link this file alone: cli_values in meson.build).
 *
 * Label selectors follow k8s.io/apimachinery/pkg/labels (Parse): the
 * requirements are separated by commas and all must hold; `key`, `!key`,
 * `key=value`, `key==value`, `key!=value`, `key in (a,b)` and
 * `key notin (a,b)`; whitespace between tokens is ignored; `=`, `==` and
 * `!=` with nothing after them compare with the empty value; keys are
 * qualified names ([prefix/]name) and values label values, as Kubernetes
 * validates them. `!=` and `notin` also hold when the key is absent.
 *
 * The flags of `ferry backup create` and `ferry restore create` take
 * Velero's forms: booleans as Go's strconv.ParseBool, comma-separated lists
 * of namespaces (names or fnmatch patterns) and resources, and namespace
 * mappings "a:b,c:d".
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define SEL_NAME_MAX   63  /* a label value, or the name part of a key */
#define SEL_PREFIX_MAX 253 /* a DNS subdomain */

static int ctl_err_set(struct ctl_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* the value is quoted as given: its control bytes must not break the one line */
static void __attribute__((format(printf, 3, 0)))
vrefuse(char *why, size_t len, const char *fmt, va_list ap)
{
	vsnprintf(why, len, fmt, ap);
	ctl_one_line(why);
}

int ctl_refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vrefuse(why, len, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int ctl_err_set(struct ctl_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	assert(code < 0);
	if (err) {
		err->code = code;
		va_start(ap, fmt);
		vrefuse(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return code;
}

void ctl_one_line(char *msg)
{
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
}

static void ctl_err_clear(struct ctl_err *err)
{
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
}

/*
 * strtod() for plain decimals only: digits, a point, an exponent. strtod()
 * alone also takes leading white space, hex ("0x1p4") and "infinity", so
 * "1h\n2m" read as 1h2m. On anything else *@end is @p (nothing read).
 */
static double decimal(const char *p, char **end)
{
	const char *q = p;
	double v;

	while (isdigit((unsigned char)*q))
		q++;
	if (*q == '.')
		for (q++; isdigit((unsigned char)*q);)
			q++;
	if (q == p || (q == p + 1 && *p == '.')) {
		*end = (char *)p;
		return 0;
	}
	if (*q == 'e' || *q == 'E') {
		const char *r = q + 1;

		if (*r == '+' || *r == '-')
			r++;
		if (isdigit((unsigned char)*r)) {
			while (isdigit((unsigned char)*r))
				r++;
			q = r;
		}
	}
	v = strtod(p, end);
	if (*end != q)
		*end = (char *)p;
	return v;
}

int ctl_parse_size(const char *s, uint64_t *out, struct ctl_err *err)
{
	char *end;
	double v;
	uint64_t mult = 1;

	ctl_err_clear(err);
	errno = 0;
	if (!s[0] || s[0] == '-' || s[0] == '+')
		return ctl_err_set(err, -EINVAL, "'%s' is not a size", s);
	v = decimal(s, &end);
	if (errno || end == s || !isfinite(v) || v < 0)
		return ctl_err_set(err, -EINVAL, "'%s' is not a size", s);
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
		return ctl_err_set(err, -EINVAL, "'%s': unknown unit '%c' (K, M, G, T, P)", s,
				   *end);
	}
	/* accept "M", "MB", "MiB", "B" suffix spellings, all powers of two */
	if (mult > 1 && (*end == 'i' || *end == 'I'))
		end++;
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return ctl_err_set(err, -EINVAL, "'%s' is not a size: '%s' after the number", s,
				   end);
	if (v * (double)mult >= 18446744073709551615.0)
		return ctl_err_set(err, -ERANGE, "'%s' is more than 2^64 bytes", s);
	if (mult == 1 && v != floor(v))
		return ctl_err_set(err, -EINVAL, "'%s': a byte count is a whole number", s);
	*out = (uint64_t)(v * (double)mult);
	return 0;
}

int ctl_parse_duration(const char *s, int64_t *out, struct ctl_err *err)
{
	const char *p = s;
	double total = 0;

	ctl_err_clear(err);
	if (!*p)
		return ctl_err_set(err, -EINVAL, "an empty duration");
	while (*p) {
		char *end;
		double v, unit;

		if (*p == '-' || *p == '+')
			return ctl_err_set(err, -EINVAL, "'%s': a duration has no sign", s);
		errno = 0;
		v = decimal(p, &end);
		if (errno || end == p || !isfinite(v) || v < 0)
			return ctl_err_set(err, -EINVAL, "'%s' is not a duration", s);
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
			return ctl_err_set(err, -EINVAL, "'%s': a number without a unit", s);
		default:
			return ctl_err_set(err, -EINVAL,
					   "'%s': unknown unit '%c' (ms, s, m, h, d, w, y)", s,
					   *end);
		}
		if (*end == 'm' && end[1] == 's') { /* "ms" */
			unit = 0.001;
			end++;
		}
		total += v * unit;
		if (total > 9.2e18)
			return ctl_err_set(err, -ERANGE, "'%s' is too long", s);
		p = end + 1;
	}
	*out = (int64_t)total;
	return 0;
}

int ctl_parse_interval(const char *s, double *out, struct ctl_err *err)
{
	char *end;
	double v;

	ctl_err_clear(err);
	errno = 0;
	v = decimal(s + (s[0] == '-'), &end);
	if (errno || end == s + (s[0] == '-') || !isfinite(v))
		return ctl_err_set(err, -EINVAL, "'%s' is not a number of seconds", s);
	if (s[0] == '-')
		v = -v;
	if (!strcmp(end, "ms"))
		v /= 1000;
	else if (*end && strcmp(end, "s"))
		return ctl_err_set(err, -EINVAL, "'%s': unknown unit '%s' (s, ms)", s, end);
	if (v < 0.1 || v > 60)
		return ctl_err_set(err, -ERANGE, "'%s' is not from 0.1 to 60 seconds", s);
	*out = v;
	return 0;
}

int ctl_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out,
		    struct ctl_err *err)
{
	char *end;
	unsigned long v;

	assert(min <= max);
	ctl_err_clear(err);
	errno = 0;
	v = strtoul(s, &end, 10);
	if ((errno && errno != ERANGE) || end == s || *end || s[0] == '-')
		return ctl_err_set(err, -EINVAL, "'%s' is not a whole number", s);
	if (errno == ERANGE || v < min || v > max)
		return ctl_err_set(err, -ERANGE, "'%s' is not from %lu to %lu", s, min, max);
	*out = v;
	return 0;
}

int ctl_parse_label(const char *s, size_t *key_len, const char **value, struct ctl_err *err)
{
	const char *eq = strchr(s, '=');

	ctl_err_clear(err);
	if (!eq || eq == s)
		return ctl_err_set(err, -EINVAL, "'%s' is not KEY=VALUE", s);
	*key_len = (size_t)(eq - s);
	*value = eq + 1;
	return 0;
}

/* ------------------------------------------------------------ selectors */

static bool sel_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* A label value, or a key's name part: [A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?, at most 63 */
static bool sel_name_ok(const char *s, size_t n, bool empty_ok)
{
	if (!n)
		return empty_ok;
	if (n > SEL_NAME_MAX || !sel_alnum(s[0]) || !sel_alnum(s[n - 1]))
		return false;
	for (size_t i = 1; i + 1 < n; i++)
		if (!sel_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return false;
	return true;
}

/* A DNS-1123 subdomain: dot-separated labels of [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 253 */
static bool sel_prefix_ok(const char *s, size_t n)
{
	size_t start = 0;

	if (!n || n > SEL_PREFIX_MAX)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '.') {
			if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
			      s[i] == '-'))
				return false;
			continue;
		}
		if (i == start || s[start] == '-' || s[i - 1] == '-' || i - start > 63)
			return false;
		start = i + 1;
	}
	return true;
}

bool ctl_label_key_valid(const char *key)
{
	const char *slash = strchr(key, '/');

	if (!slash)
		return sel_name_ok(key, strlen(key), false);
	return sel_prefix_ok(key, (size_t)(slash - key)) &&
	       sel_name_ok(slash + 1, strlen(slash + 1), false);
}

bool ctl_label_value_valid(const char *value)
{
	return sel_name_ok(value, strlen(value), true);
}

bool ctl_label_pair_valid(const char *s)
{
	const char *eq = strchr(s, '=');
	char key[320];

	if (!eq || (size_t)(eq - s) >= sizeof(key))
		return false;
	memcpy(key, s, (size_t)(eq - s));
	key[eq - s] = 0;
	return ctl_label_key_valid(key) && ctl_label_value_valid(eq + 1);
}

int ctl_label_map(ctl_map_get_fn get, const void *map, const char *key, const char *value, char *nk,
		  size_t kl, char *nv, size_t vl, const char **pv)
{
	char lab[640];
	const char *to = NULL, *eq;

	*pv = value;
	if (value && (size_t)snprintf(lab, sizeof(lab), "%s=%s", key, value) < sizeof(lab))
		to = get(map, lab);
	if (to) {
		if (!*to)
			return -1;
		eq = strchr(to, '=');
		snprintf(nk, kl, "%.*s", (int)(eq ? (size_t)(eq - to) : strlen(to)), to);
		snprintf(nv, vl, "%s", eq ? eq + 1 : "");
		*pv = nv;
		return 1;
	}
	to = get(map, key);
	if (!to)
		return 0;
	if (!*to)
		return -1;
	snprintf(nk, kl, "%s", to);
	return 1;
}

enum sel_tok {
	TOK_END,
	TOK_IDENT, /* a key, a value, or the words in and notin */
	TOK_NOT,   /* ! */
	TOK_EQ,	   /* = */
	TOK_EQEQ,  /* == */
	TOK_NE,	   /* != */
	TOK_OPEN,  /* ( */
	TOK_CLOSE, /* ) */
	TOK_COMMA, /* , */
	TOK_OTHER, /* < > and what apimachinery knows but ferry does not take */
};

/* The lexer: identifiers are copied, NUL-terminated, into @buf. */
struct sel_lex {
	const char *s; /* the whole selector */
	size_t pos;
	char *buf; /* room for every identifier: strlen(s) + number of tokens */
	size_t used;
	const char *ident; /* the last TOK_IDENT, in @buf */
};

static bool sel_special(char c)
{
	return c == '=' || c == '!' || c == '(' || c == ')' || c == ',' || c == '<' || c == '>';
}

static bool sel_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

static enum sel_tok sel_next(struct sel_lex *lx)
{
	const char *s = lx->s;
	size_t start;

	while (sel_space(s[lx->pos]))
		lx->pos++;
	switch (s[lx->pos]) {
	case '\0':
		return TOK_END;
	case '!':
		lx->pos++;
		if (s[lx->pos] == '=') {
			lx->pos++;
			return TOK_NE;
		}
		return TOK_NOT;
	case '=':
		lx->pos++;
		if (s[lx->pos] == '=') {
			lx->pos++;
			return TOK_EQEQ;
		}
		return TOK_EQ;
	case '(':
		lx->pos++;
		return TOK_OPEN;
	case ')':
		lx->pos++;
		return TOK_CLOSE;
	case ',':
		lx->pos++;
		return TOK_COMMA;
	case '<':
	case '>':
		lx->pos++;
		return TOK_OTHER;
	}
	start = lx->pos;
	while (s[lx->pos] && !sel_space(s[lx->pos]) && !sel_special(s[lx->pos]))
		lx->pos++;
	lx->ident = lx->buf + lx->used;
	memcpy(lx->buf + lx->used, s + start, lx->pos - start);
	lx->used += lx->pos - start;
	lx->buf[lx->used++] = '\0';
	return TOK_IDENT;
}

/* What the parser needs besides the lexer: the requirements and the values arrays. */
struct sel_parse {
	struct sel_lex lx;
	struct ctl_sel_req *reqs;
	size_t nreqs;
	const char **vals; /* every value of every requirement, in order */
	size_t nvals;
	struct ctl_err *err;
};

static int sel_value(struct sel_parse *sp, const char *v)
{
	if (!ctl_label_value_valid(v))
		return ctl_err_set(
			sp->err, -EINVAL,
			"'%.64s' is not a label value (at most 63 of A-Z a-z 0-9 - _ ., alphanumeric at both ends)",
			v);
	sp->vals[sp->nvals++] = v;
	return 0;
}

/* "(a, b, c)" after in/notin; the opening parenthesis is next. */
static int sel_value_set(struct sel_parse *sp, struct ctl_sel_req *r)
{
	enum sel_tok t = sel_next(&sp->lx);
	int ret;

	if (t != TOK_OPEN)
		return ctl_err_set(sp->err, -EINVAL, "'(' expected after '%s %s'", r->key,
				   r->op == CTL_SEL_IN ? "in" : "notin");
	r->values = &sp->vals[sp->nvals];
	for (;;) {
		t = sel_next(&sp->lx);
		/* "()" and "(a,)" hold the empty value, as in apimachinery */
		ret = sel_value(sp, t == TOK_IDENT ? sp->lx.ident : "");
		if (ret)
			return ret;
		r->nvalues++;
		if (t == TOK_IDENT)
			t = sel_next(&sp->lx);
		if (t == TOK_CLOSE)
			return 0;
		if (t != TOK_COMMA)
			return ctl_err_set(sp->err, -EINVAL,
					   "',' or ')' expected in the values of '%s'", r->key);
	}
}

/* One requirement; the token after it (',' or the end) is returned in *@after. */
static int sel_requirement(struct sel_parse *sp, enum sel_tok t, enum sel_tok *after)
{
	struct ctl_sel_req *r = &sp->reqs[sp->nreqs];
	int ret;

	memset(r, 0, sizeof(*r));
	r->op = CTL_SEL_EXISTS;
	if (t == TOK_NOT) {
		r->op = CTL_SEL_NOT_EXISTS;
		t = sel_next(&sp->lx);
	}
	if (t != TOK_IDENT)
		return ctl_err_set(sp->err, -EINVAL, "a label key expected at offset %zu",
				   sp->lx.pos);
	r->key = sp->lx.ident;
	if (!ctl_label_key_valid(r->key))
		return ctl_err_set(
			sp->err, -EINVAL,
			"'%.64s' is not a label key ([prefix/]name: a DNS subdomain, and at most 63 of A-Z a-z 0-9 - _ .)",
			r->key);
	sp->nreqs++;
	t = sel_next(&sp->lx);
	if (r->op == CTL_SEL_NOT_EXISTS || t == TOK_END || t == TOK_COMMA) {
		*after = t;
		return 0;
	}
	if (t == TOK_IDENT && (!strcmp(sp->lx.ident, "in") || !strcmp(sp->lx.ident, "notin"))) {
		r->op = !strcmp(sp->lx.ident, "in") ? CTL_SEL_IN : CTL_SEL_NOTIN;
		ret = sel_value_set(sp, r);
		if (!ret)
			*after = sel_next(&sp->lx);
		return ret;
	}
	if (t != TOK_EQ && t != TOK_EQEQ && t != TOK_NE)
		return ctl_err_set(sp->err, -EINVAL,
				   "'%s': an operator expected (=, ==, !=, in, notin)", r->key);
	r->op = t == TOK_NE ? CTL_SEL_NE : CTL_SEL_EQ;
	r->values = &sp->vals[sp->nvals];
	r->nvalues = 1;
	t = sel_next(&sp->lx);
	ret = sel_value(sp, t == TOK_IDENT ? sp->lx.ident : "");
	if (!ret)
		*after = t == TOK_IDENT ? sel_next(&sp->lx) : t;
	return ret;
}

int ctl_selector_parse(const char *s, struct ctl_selector *out, struct ctl_err *err)
{
	struct sel_parse sp = {.lx = {.s = s}, .err = err};
	size_t len = strlen(s);
	enum sel_tok t;
	int ret = 0;

	ctl_err_clear(err);
	memset(out, 0, sizeof(*out));
	/* each token is at least one byte: bounds for identifiers, requirements and values */
	sp.lx.buf = malloc(2 * len + 1);
	sp.reqs = calloc(len / 2 + 1, sizeof(*sp.reqs));
	sp.vals = calloc(len + 1, sizeof(*sp.vals));
	if (!sp.lx.buf || !sp.reqs || !sp.vals) {
		ret = ctl_err_set(err, -ENOMEM, "out of memory");
		goto out_free;
	}
	t = sel_next(&sp.lx);
	while (t != TOK_END) {
		ret = sel_requirement(&sp, t, &t);
		if (ret)
			goto out_free;
		if (t == TOK_COMMA)
			t = sel_next(&sp.lx);
		else if (t != TOK_END) {
			ret = ctl_err_set(err, -EINVAL, "',' or the end expected at offset %zu",
					  sp.lx.pos);
			goto out_free;
		} else
			break;
		if (t == TOK_END) {
			ret = ctl_err_set(err, -EINVAL, "a requirement expected after ','");
			goto out_free;
		}
	}
	assert(sp.lx.used <= 2 * len + 1 && sp.nvals <= len + 1);
	out->reqs = sp.reqs;
	out->n = sp.nreqs;
	out->priv_buf = sp.lx.buf;
	out->priv_vals = sp.vals;
	return 0;
out_free:
	free(sp.lx.buf);
	free(sp.reqs);
	free(sp.vals);
	return ret;
}

void ctl_selector_fini(struct ctl_selector *sel)
{
	if (!sel)
		return;
	free(sel->priv_buf);
	free(sel->priv_vals);
	free(sel->reqs);
	memset(sel, 0, sizeof(*sel));
}

bool ctl_selector_matches(const struct ctl_selector *sel, ctl_label_get_fn get, const void *arg)
{
	for (size_t i = 0; i < sel->n; i++) {
		const struct ctl_sel_req *r = &sel->reqs[i];
		const char *v = get(arg, r->key);
		bool in = false;

		for (size_t k = 0; v && k < r->nvalues; k++)
			in = in || !strcmp(v, r->values[k]);
		switch (r->op) {
		case CTL_SEL_EXISTS:
			if (!v)
				return false;
			break;
		case CTL_SEL_NOT_EXISTS:
			if (v)
				return false;
			break;
		case CTL_SEL_EQ:
		case CTL_SEL_IN:
			if (!in)
				return false;
			break;
		case CTL_SEL_NE:
		case CTL_SEL_NOTIN:
			if (in)
				return false;
			break;
		}
	}
	return true;
}

/* ------------------------------------------ booleans, lists and mappings */

int ctl_parse_bool(const char *s, bool *out, struct ctl_err *err)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

	ctl_err_clear(err);
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(s, yes[i])) {
			*out = true;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*out = false;
			return 0;
		}
	}
	return ctl_err_set(err, -EINVAL, "'%s' is not true or false", s);
}

/* A DNS-1123 label: [a-z0-9]([-a-z0-9]*[a-z0-9])?, at most 63 (a namespace's name) */
static bool dns_label_ok(const char *s, size_t n)
{
	if (!n || n > SEL_NAME_MAX || s[0] == '-' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

bool ctl_namespace_valid(const char *name)
{
	return dns_label_ok(name, strlen(name));
}

/* One item of a list of @kind: its characters and its length. */
static bool list_item_ok(enum ctl_list_kind kind, const char *s, size_t n)
{
	const char *extra = kind == CTL_LIST_NAMESPACES ? "-*?[]!" : "-.*?";
	size_t max = kind == CTL_LIST_NAMESPACES ? CTL_LIST_NAMESPACE_MAX : CTL_LIST_RESOURCE_MAX;

	if (!n || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (kind == CTL_LIST_RESOURCES && c >= 'A' && c <= 'Z')
			continue;
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || strchr(extra, c)))
			return false;
	}
	return true;
}

/* a comma-separated @s: a private copy in *@buf, and returned room for its
 * items (@elem bytes each, *@n of them); NULL: out of memory, nothing kept */
static void *comma_split_alloc(const char *s, char **buf, size_t elem, size_t *n)
{
	size_t len = strlen(s);
	void *arr;

	*n = 1;
	for (const char *c = s; *c; c++)
		*n += *c == ',';
	*buf = malloc(len + 1);
	arr = calloc(*n, elem);
	if (!*buf || !arr) {
		free(*buf);
		free(arr);
		*buf = NULL;
		return NULL;
	}
	memcpy(*buf, s, len + 1);
	return arr;
}

int ctl_parse_list(const char *s, enum ctl_list_kind kind, struct ctl_list *out,
		   struct ctl_err *err)
{
	size_t n;
	char *p;

	ctl_err_clear(err);
	memset(out, 0, sizeof(*out));
	out->items = comma_split_alloc(s, &out->priv_buf, sizeof(*out->items), &n);
	if (!out->items)
		return ctl_err_set(err, -ENOMEM, "out of memory");
	p = out->priv_buf;
	for (size_t i = 0; i < n; i++) {
		size_t m = strcspn(p, ",");

		if (!list_item_ok(kind, p, m)) {
			ctl_list_fini(out);
			if (!m)
				return ctl_err_set(err, -EINVAL, "'%s': an empty item", s);
			return ctl_err_set(err, -EINVAL, "'%s': '%.*s' is not a %s", s,
					   (int)(m > 80 ? 80 : m), p,
					   kind == CTL_LIST_NAMESPACES
						   ? "namespace (a DNS label, or a pattern: * ?)"
						   : "resource (plural, resource.group, or *)");
		}
		p[m] = '\0';
		out->items[out->n++] = p;
		p += m + 1;
	}
	return 0;
}

void ctl_list_fini(struct ctl_list *l)
{
	if (!l)
		return;
	free(l->items);
	free(l->priv_buf);
	memset(l, 0, sizeof(*l));
}

int ctl_parse_mapping(const char *s, struct ctl_mapping *out, struct ctl_err *err)
{
	size_t n;
	char *p;

	ctl_err_clear(err);
	memset(out, 0, sizeof(*out));
	out->pairs = comma_split_alloc(s, &out->priv_buf, sizeof(*out->pairs), &n);
	if (!out->pairs)
		return ctl_err_set(err, -ENOMEM, "out of memory");
	p = out->priv_buf;
	for (size_t i = 0; i < n; i++) {
		size_t m = strcspn(p, ","), k = strcspn(p, ":");
		const char *why = NULL;

		if (k >= m)
			why = "is not FROM:TO";
		else if (!dns_label_ok(p, k))
			why = "FROM is not a namespace";
		else if (!dns_label_ok(p + k + 1, m - k - 1))
			why = "TO is not a namespace";
		if (why) {
			int ret = ctl_err_set(err, -EINVAL, "'%.*s' %s (a:b,c:d)",
					      (int)(m > 140 ? 140 : m), p, why);

			ctl_mapping_fini(out);
			return ret;
		}
		p[k] = '\0';
		p[m] = '\0';
		for (size_t j = 0; j < out->n; j++) {
			if (!strcmp(out->pairs[j].from, p)) {
				int ret = ctl_err_set(err, -EINVAL, "'%s' is mapped twice", p);

				ctl_mapping_fini(out);
				return ret;
			}
		}
		out->pairs[out->n].from = p;
		out->pairs[out->n].to = p + k + 1;
		out->n++;
		p += m + 1;
	}
	return 0;
}

void ctl_mapping_fini(struct ctl_mapping *m)
{
	if (!m)
		return;
	free(m->pairs);
	free(m->priv_buf);
	memset(m, 0, sizeof(*m));
}

int ctl_parse_or_selector(const char *s, struct ctl_selector **out, size_t *n, struct ctl_err *err)
{
	struct ctl_selector *sels;
	size_t cap = 1, k = 0;
	const char *p = s;
	int ret = 0;

	ctl_err_clear(err);
	*out = NULL;
	*n = 0;
	for (const char *q = s; (q = strstr(q, " or ")); q += 4)
		cap++;
	sels = calloc(cap, sizeof(*sels));
	if (!sels)
		return ctl_err_set(err, -ENOMEM, "out of memory");
	for (;;) {
		const char *sep = strstr(p, " or ");
		size_t len = sep ? (size_t)(sep - p) : strlen(p);
		char *one = strndup(p, len);

		if (!one) {
			ret = ctl_err_set(err, -ENOMEM, "out of memory");
			break;
		}
		ret = ctl_selector_parse(one, &sels[k], err);
		if (!ret && !sels[k].n)
			ret = ctl_err_set(err, -EINVAL,
					  "'%s': an empty selector before or after 'or'", s);
		else if (ret == -EINVAL) {
			char why[sizeof(err->msg)];

			snprintf(why, sizeof(why), "%s", err ? err->msg : "");
			ret = ctl_err_set(err, -EINVAL, "'%.*s': %s", (int)(len > 80 ? 80 : len),
					  one, why);
		}
		free(one);
		if (ret)
			break;
		k++;
		if (!sep)
			break;
		p = sep + 4;
	}
	if (ret) {
		ctl_or_selector_free(sels, k + 1);
		return ret;
	}
	assert(k == cap);
	*out = sels;
	*n = k;
	return 0;
}

void ctl_or_selector_free(struct ctl_selector *sels, size_t n)
{
	for (size_t i = 0; sels && i < n; i++)
		ctl_selector_fini(&sels[i]);
	free(sels);
}
