// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cli_values.c - the value parsers of control/cli/values.c
 * from any string: sizes ("64M", "1.5GiB"), durations ("720h", "1h30m"),
 * intervals, counts, KEY=VALUE labels, label selectors, and the flags of
 * `ferry backup|restore create`: booleans, comma lists, namespace mappings,
 * or-selectors.
 *
 * Properties, not only "no crash": a refusal fills struct ctl_err with the
 * code returned and a reason; what is taken is in range; a parsed selector
 * has valid keys and values and the right number of values per operator,
 * and its canonical form parses back to the same requirements; a list's
 * items and a mapping's pairs, joined again, are the input.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_err(const struct ctl_err *err, int ret)
{
	if (err->code != ret || (ret && !err->msg[0]) || (!ret && err->msg[0]) ||
	    !memchr(err->msg, '\0', sizeof(err->msg)))
		abort();
}

/* The canonical form: "k=v", "k!=v", "k", "!k", "k in (a,b)"; NULL if it does not fit. */
static char *sel_format(const struct ctl_selector *sel)
{
	size_t len = 1;
	char *buf, *p;

	for (size_t i = 0; i < sel->n; i++) {
		len += strlen(sel->reqs[i].key) + 16;
		for (size_t k = 0; k < sel->reqs[i].nvalues; k++)
			len += strlen(sel->reqs[i].values[k]) + 1;
	}
	buf = malloc(len);
	if (!buf)
		return NULL;
	p = buf;
	*p = '\0';
	for (size_t i = 0; i < sel->n; i++) {
		const struct ctl_sel_req *r = &sel->reqs[i];
		static const char *const op[] = {
			[CTL_SEL_EXISTS] = "",	[CTL_SEL_NOT_EXISTS] = "",
			[CTL_SEL_EQ] = "=",	[CTL_SEL_NE] = "!=",
			[CTL_SEL_IN] = " in (", [CTL_SEL_NOTIN] = " notin (",
		};

		p += snprintf(p, len - (size_t)(p - buf), "%s%s%s%s", i ? "," : "",
			      r->op == CTL_SEL_NOT_EXISTS ? "!" : "", r->key, op[r->op]);
		for (size_t k = 0; k < r->nvalues; k++)
			p += snprintf(p, len - (size_t)(p - buf), "%s%s", k ? "," : "",
				      r->values[k]);
		if (r->op == CTL_SEL_IN || r->op == CTL_SEL_NOTIN)
			p += snprintf(p, len - (size_t)(p - buf), ")");
	}
	if ((size_t)(p - buf) >= len)
		abort();
	return buf;
}

static bool sel_same(const struct ctl_selector *a, const struct ctl_selector *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++) {
		const struct ctl_sel_req *x = &a->reqs[i], *y = &b->reqs[i];

		if (x->op != y->op || strcmp(x->key, y->key) || x->nvalues != y->nvalues)
			return false;
		for (size_t k = 0; k < x->nvalues; k++)
			if (strcmp(x->values[k], y->values[k]))
				return false;
	}
	return true;
}

/* Labels for matching: the first value each requirement names, under its key. */
static const char *sel_labels_get(const void *arg, const char *key)
{
	const struct ctl_selector *sel = arg;

	for (size_t i = 0; i < sel->n; i++)
		if (!strcmp(sel->reqs[i].key, key))
			return sel->reqs[i].nvalues ? sel->reqs[i].values[0] : "";
	return NULL;
}

static void fuzz_selector(const char *s)
{
	struct ctl_selector sel, again;
	struct ctl_err err;
	char *canon;
	int ret = ctl_selector_parse(s, &sel, &err);

	check_err(&err, ret);
	if (ret) {
		if ((ret != -EINVAL && ret != -ENOMEM) || sel.reqs || sel.n)
			abort();
		return;
	}
	for (size_t i = 0; i < sel.n; i++) {
		const struct ctl_sel_req *r = &sel.reqs[i];
		size_t want_min = 0, want_max = 0;

		if (r->op == CTL_SEL_EQ || r->op == CTL_SEL_NE)
			want_min = want_max = 1;
		else if (r->op == CTL_SEL_IN || r->op == CTL_SEL_NOTIN)
			want_min = 1, want_max = SIZE_MAX;
		if (!ctl_label_key_valid(r->key) || r->nvalues < want_min || r->nvalues > want_max)
			abort();
		for (size_t k = 0; k < r->nvalues; k++)
			if (!ctl_label_value_valid(r->values[k]))
				abort();
	}
	(void)ctl_selector_matches(&sel, sel_labels_get, &sel);
	canon = sel_format(&sel);
	if (canon) {
		if (ctl_selector_parse(canon, &again, &err) || !sel_same(&sel, &again))
			abort();
		ctl_selector_fini(&again);
		free(canon);
	}
	ctl_selector_fini(&sel);
}

static void fuzz_flags(const char *s)
{
	struct ctl_mapping m;
	struct ctl_list l;
	struct ctl_err err;
	bool b;
	int ret;

	ret = ctl_parse_bool(s, &b, &err);
	check_err(&err, ret);
	for (int kind = CTL_LIST_NAMESPACES; kind <= CTL_LIST_RESOURCES; kind++) {
		size_t off = 0;

		ret = ctl_parse_list(s, (enum ctl_list_kind)kind, &l, &err);
		check_err(&err, ret);
		if (ret) {
			if (l.items || l.n || l.priv_buf)
				abort();
			continue;
		}
		for (size_t i = 0; i < l.n; i++) {
			size_t n = strlen(l.items[i]);

			if (!n || strncmp(s + off, l.items[i], n) ||
			    s[off + n] != (i + 1 < l.n ? ',' : '\0'))
				abort();
			off += n + 1;
		}
		ctl_list_fini(&l);
	}
	{
		struct ctl_selector *sels;
		size_t n;

		ret = ctl_parse_or_selector(s, &sels, &n, &err);
		check_err(&err, ret);
		if (ret && (sels || n))
			abort();
		/* as many selectors as " or " splits, none empty */
		for (size_t i = 0; !ret && i < n; i++)
			if (!sels[i].n)
				abort();
		if (!ret) {
			size_t parts = 1;

			for (const char *q = s; (q = strstr(q, " or ")); q += 4)
				parts++;
			if (parts != n)
				abort();
			ctl_or_selector_free(sels, n);
		}
	}
	ret = ctl_parse_mapping(s, &m, &err);
	check_err(&err, ret);
	if (ret) {
		if (m.pairs || m.n || m.priv_buf)
			abort();
		return;
	}
	for (size_t i = 0, off = 0; i < m.n; i++) {
		size_t f = strlen(m.pairs[i].from), t = strlen(m.pairs[i].to);

		if (!ctl_namespace_valid(m.pairs[i].from) || !ctl_namespace_valid(m.pairs[i].to) ||
		    strncmp(s + off, m.pairs[i].from, f) || s[off + f] != ':' ||
		    strncmp(s + off + f + 1, m.pairs[i].to, t) ||
		    s[off + f + 1 + t] != (i + 1 < m.n ? ',' : '\0'))
			abort();
		for (size_t k = 0; k < i; k++)
			if (!strcmp(m.pairs[k].from, m.pairs[i].from))
				abort();
		off += f + t + 2;
	}
	ctl_mapping_fini(&m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	struct ctl_err err;
	const char *value;
	unsigned long n;
	size_t key_len;
	uint64_t bytes;
	int64_t secs;
	double iv;
	int ret;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	check_err(&err, ctl_parse_size(s, &bytes, &err));
	ret = ctl_parse_duration(s, &secs, &err);
	check_err(&err, ret);
	if (!ret && secs < 0)
		abort();
	ret = ctl_parse_interval(s, &iv, &err);
	check_err(&err, ret);
	if (!ret && (iv < 0.1 || iv > 60))
		abort();
	ret = ctl_parse_ulong(s, 1, 1000, &n, &err);
	check_err(&err, ret);
	if (!ret && (n < 1 || n > 1000))
		abort();
	ret = ctl_parse_label(s, &key_len, &value, &err);
	check_err(&err, ret);
	if (!ret && (!key_len || s[key_len] != '=' || value != s + key_len + 1))
		abort();
	fuzz_selector(s);
	fuzz_flags(s);
	free(s);
	return 0;
}
