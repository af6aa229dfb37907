// SPDX-License-Identifier: MIT
/*
 * tests/cli/t_values.c - the value parsers of control/cli/values.c, the ones
 * reconcilers link without the rest of the command: sizes, durations,
 * intervals, counts, KEY=VALUE labels and Kubernetes label selectors, from
 * tables of good and malformed input. A refusal must name its value in
 * struct ctl_err; a success must leave it empty.
 *
 * The selector rows follow k8s.io/apimachinery/pkg/labels: Parse() and
 * Requirement.Matches() (`!=` and notin hold when the key is absent,
 * "x in ()" is the set of the empty value).
 */
#include <errno.h>
#include <string.h>

#include "control/cli/cli.h"
#include "t_helpers.h"

static void check_err(const struct ctl_err *err, int ret, const char *what)
{
	T_ASSERT(err->code == ret, "%s: err.code %d, returned %d", what, err->code, ret);
	if (ret) {
		T_ASSERT(err->msg[0], "%s: refused without a reason", what);
		for (const char *c = err->msg; *c; c++)
			T_ASSERT((unsigned char)*c >= 0x20 && *c != 0x7f,
				 "%s: a control byte in the reason", what);
	} else
		T_ASSERT(!err->msg[0], "%s: a reason after a success: %s", what, err->msg);
}

static void test_sizes(void)
{
	static const struct {
		const char *s;
		int ret;
		uint64_t v;
	} rows[] = {
		{"4096", 0, 4096},
		{"0", 0, 0},
		{"10B", 0, 10},
		{"64M", 0, 64ull << 20},
		{"64m", 0, 64ull << 20},
		{"1G", 0, 1ull << 30},
		{"1.5GiB", 0, 3ull << 29},
		{"1KB", 0, 1024},
		{"1kib", 0, 1024},
		{"16P", 0, 1ull << 54},
		{"", -EINVAL, 0},
		{"-1", -EINVAL, 0},
		{"+1", -EINVAL, 0},
		{"1.5", -EINVAL, 0},
		{"1X", -EINVAL, 0},
		{"1MiX", -EINVAL, 0},
		{"16E", -EINVAL, 0},
		{"M", -EINVAL, 0},
		{"nan", -EINVAL, 0},
		{"inf", -EINVAL, 0},
		{"16384P", -ERANGE, 0},
		{"1e30", -ERANGE, 0},
		{" 64M", -EINVAL, 0},
		{"0x10", -EINVAL, 0},
		{"1e", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_err err;
		uint64_t v = 7;
		int ret = ctl_parse_size(rows[i].s, &v, &err);

		T_ASSERT(ret == rows[i].ret, "size '%s': %d, want %d", rows[i].s, ret, rows[i].ret);
		check_err(&err, ret, rows[i].s);
		if (!ret)
			T_ASSERT(v == rows[i].v, "size '%s': %llu", rows[i].s,
				 (unsigned long long)v);
		T_ASSERT(ctl_parse_size(rows[i].s, &v, NULL) == rows[i].ret, "without ctl_err");
	}
}

static void test_durations(void)
{
	static const struct {
		const char *s;
		int ret;
		int64_t v;
	} rows[] = {
		{"720h", 0, 720 * 3600},   {"30d", 0, 30 * 86400}, {"1h30m", 0, 5400},
		{"1.5h", 0, 5400},	   {"90", 0, 90},	   {"90s", 0, 90},
		{"2w", 0, 14 * 86400},	   {"1y", 0, 365 * 86400}, {"1d12h", 0, 36 * 3600},
		{"1500ms", 0, 1},	   {"0s", 0, 0},	   {"", -EINVAL, 0},
		{"-1h", -EINVAL, 0},	   {"+1h", -EINVAL, 0},	   {"1h-5m", -EINVAL, 0},
		{"1x", -EINVAL, 0},	   {"h", -EINVAL, 0},	   {"1h30", -EINVAL, 0},
		{"1hh", -EINVAL, 0},	   {"1 h", -EINVAL, 0},	   {"inf", -EINVAL, 0},
		{"nan", -EINVAL, 0},	   {"1e20s", -ERANGE, 0},  {"300000000000y", -ERANGE, 0},
		{"1h\n2m", -EINVAL, 0},	   {" 5s", -EINVAL, 0},	   {"0x1p4s", -EINVAL, 0},
		{"1h\x1b[2J", -EINVAL, 0},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_err err;
		int64_t v = -7;
		int ret = ctl_parse_duration(rows[i].s, &v, &err);

		T_ASSERT(ret == rows[i].ret, "duration '%s': %d, want %d", rows[i].s, ret,
			 rows[i].ret);
		check_err(&err, ret, rows[i].s);
		if (!ret)
			T_ASSERT(v == rows[i].v, "duration '%s': %lld", rows[i].s, (long long)v);
	}
}

static void test_intervals_and_counts(void)
{
	static const struct {
		const char *s;
		int ret;
		double v;
	} iv[] = {
		{"1", 0, 1},	     {"0.5", 0, 0.5},	 {"2s", 0, 2},	       {"500ms", 0, 0.5},
		{"60", 0, 60},	     {"0.1", 0, 0.1},	 {"0.05", -ERANGE, 0}, {"61", -ERANGE, 0},
		{"1m", -EINVAL, 0},  {"", -EINVAL, 0},	 {"s", -EINVAL, 0},    {"1 s", -EINVAL, 0},
		{"nan", -EINVAL, 0}, {"-1", -ERANGE, 0},
	};
	static const struct {
		const char *s;
		int ret;
		unsigned long v;
	} nv[] = {
		{"5", 0, 5},	     {"1", 0, 1},
		{"10", 0, 10},	     {"0", -ERANGE, 0},
		{"11", -ERANGE, 0},  {"-1", -EINVAL, 0},
		{"", -EINVAL, 0},    {"5x", -EINVAL, 0},
		{"0x5", -EINVAL, 0}, {"99999999999999999999999", -ERANGE, 0},
	};

	for (size_t i = 0; i < sizeof(iv) / sizeof(iv[0]); i++) {
		struct ctl_err err;
		double v = -1;
		int ret = ctl_parse_interval(iv[i].s, &v, &err);

		T_ASSERT(ret == iv[i].ret, "interval '%s': %d, want %d", iv[i].s, ret, iv[i].ret);
		check_err(&err, ret, iv[i].s);
		if (!ret)
			T_ASSERT(v == iv[i].v, "interval '%s': %g", iv[i].s, v);
	}
	for (size_t i = 0; i < sizeof(nv) / sizeof(nv[0]); i++) {
		struct ctl_err err;
		unsigned long v = 99;
		int ret = ctl_parse_ulong(nv[i].s, 1, 10, &v, &err);

		T_ASSERT(ret == nv[i].ret, "count '%s': %d, want %d", nv[i].s, ret, nv[i].ret);
		check_err(&err, ret, nv[i].s);
		if (!ret)
			T_ASSERT(v == nv[i].v, "count '%s': %lu", nv[i].s, v);
	}
}

/* ctl_map_get_fn over the four {from, to} pairs below */
static const char *pair_get(const void *map, const char *from)
{
	const char *const(*m)[2] = map;

	for (size_t i = 0; i < 4; i++)
		if (m[i][0] && !strcmp(m[i][0], from))
			return m[i][1];
	return NULL;
}

static void test_labels(void)
{
	static const struct {
		const char *s;
		int ret;
		size_t key_len;
		const char *value;
	} rows[] = {
		{"a=b", 0, 1, "b"},	  {"env=prod", 0, 3, "prod"},  {"a=", 0, 1, ""},
		{"a=b=c", 0, 1, "b=c"},	  {"my key=a b", 0, 6, "a b"}, {"=b", -EINVAL, 0, NULL},
		{"ab", -EINVAL, 0, NULL}, {"", -EINVAL, 0, NULL},      {"=", -EINVAL, 0, NULL},
	};
	static const struct {
		const char *key;
		bool ok;
	} keys[] = {
		{"app", true},
		{"app.kubernetes.io/name", true},
		{"A_b.c-9", true},
		{"a", true},
		{"example.com/a", true},
		{"a/b/c", false},
		{"-a", false},
		{"a-", false},
		{"/a", false},
		{"a/", false},
		{"Example.com/a", false},
		{"ex..com/a", false},
		{"-ex.com/a", false},
		{"a b", false},
		{"", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};
	static const struct {
		const char *value;
		bool ok;
	} values[] = {
		{"", true},
		{"a", true},
		{"v1.2-3_4", true},
		{"a b", false},
		{"-a", false},
		{"a.", false},
		{"a/b", false},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", true},
		{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_err err;
		const char *value = NULL;
		size_t key_len = 0;
		int ret = ctl_parse_label(rows[i].s, &key_len, &value, &err);

		T_ASSERT(ret == rows[i].ret, "label '%s': %d", rows[i].s, ret);
		check_err(&err, ret, rows[i].s);
		if (!ret)
			T_ASSERT(key_len == rows[i].key_len && !strcmp(value, rows[i].value),
				 "label '%s': key of %zu, value '%s'", rows[i].s, key_len, value);
	}
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		T_ASSERT(ctl_label_key_valid(keys[i].key) == keys[i].ok, "key '%s'", keys[i].key);
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++)
		T_ASSERT(ctl_label_value_valid(values[i].value) == values[i].ok, "value '%s'",
			 values[i].value);
	T_ASSERT(ctl_label_pair_valid("topology.kubernetes.io/zone=eu-1a") &&
			 ctl_label_pair_valid("disk=") && ctl_label_pair_valid("a=b=c") == false &&
			 !ctl_label_pair_valid("zone") && !ctl_label_pair_valid("=a") &&
			 !ctl_label_pair_valid("zone=a b") && !ctl_label_pair_valid("-z=a"),
		 "KEY=VALUE pairs");
	{
		static const char *const map[][2] = {
			{"zone=a", "topology.kubernetes.io/zone=eu-1a"},
			{"zone=c", ""},
			{"gpu", "nvidia.com/gpu"},
			{"rack", ""}};
		char nk[64], nv[64];
		const char *pv;

		T_ASSERT(ctl_label_map(pair_get, map, "zone", "a", nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == 1 &&
				 !strcmp(nk, "topology.kubernetes.io/zone") && !strcmp(pv, "eu-1a"),
			 "a label's entry: %s=%s", nk, pv);
		T_ASSERT(ctl_label_map(pair_get, map, "zone", "c", nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == -1,
			 "dropped");
		T_ASSERT(ctl_label_map(pair_get, map, "zone", "b", nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == 0 &&
				 !strcmp(pv, "b"),
			 "not named");
		T_ASSERT(ctl_label_map(pair_get, map, "gpu", "a100", nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == 1 &&
				 !strcmp(nk, "nvidia.com/gpu") && !strcmp(pv, "a100"),
			 "a key's entry keeps the value");
		T_ASSERT(ctl_label_map(pair_get, map, "gpu", NULL, nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == 1 &&
				 !strcmp(nk, "nvidia.com/gpu") && !pv,
			 "a key alone");
		T_ASSERT(ctl_label_map(pair_get, map, "rack", "r1", nk, sizeof(nk), nv, sizeof(nv),
				       &pv) == -1,
			 "a key dropped drops its labels");
	}
}

/* The requirements as one line: "app = web; !legacy; tier in (a,b)". */
static void sel_describe(const struct ctl_selector *sel, char *buf, size_t len)
{
	static const char *const ops[] = {
		[CTL_SEL_EXISTS] = "exists", [CTL_SEL_NOT_EXISTS] = "!", [CTL_SEL_EQ] = "=",
		[CTL_SEL_NE] = "!=",	     [CTL_SEL_IN] = "in",	 [CTL_SEL_NOTIN] = "notin",
	};
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < sel->n; i++) {
		const struct ctl_sel_req *r = &sel->reqs[i];

		if (r->op == CTL_SEL_NOT_EXISTS)
			used += (size_t)snprintf(buf + used, len - used, "%s!%s", i ? "; " : "",
						 r->key);
		else
			used += (size_t)snprintf(buf + used, len - used, "%s%s %s", i ? "; " : "",
						 r->key, ops[r->op]);
		if (r->op == CTL_SEL_IN || r->op == CTL_SEL_NOTIN)
			used += (size_t)snprintf(buf + used, len - used, " (");
		for (size_t k = 0; k < r->nvalues; k++)
			used += (size_t)snprintf(buf + used, len - used, "%s'%s'", k ? "," : " ",
						 r->values[k]);
		if (r->op == CTL_SEL_IN || r->op == CTL_SEL_NOTIN)
			used += (size_t)snprintf(buf + used, len - used, " )");
		T_ASSERT(used < len, "description too long");
	}
}

/* Labels as "k=v,k=v" for the selector tests. */
struct labels {
	char k[8][16], v[8][16];
	size_t n;
};

static const char *labels_get(const void *arg, const char *key)
{
	const struct labels *l = arg;

	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->k[i], key))
			return l->v[i];
	return NULL;
}

static void labels_set(struct labels *l, const char *s)
{
	char buf[256], *save = NULL;

	snprintf(buf, sizeof(buf), "%s", s);
	l->n = 0;
	for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(p, '=');

		*eq = '\0';
		snprintf(l->k[l->n], sizeof(l->k[0]), "%s", p);
		snprintf(l->v[l->n], sizeof(l->v[0]), "%s", eq + 1);
		l->n++;
	}
}

static void test_selectors(void)
{
	static const struct {
		const char *s;
		const char *parsed;	     /* NULL: refused with -EINVAL */
		const char *match, *nomatch; /* label sets ("" = none), "-": not tried */
	} rows[] = {
		{"", "", "", "-"},
		{"   ", "", "a=b", "-"},
		{"app=web", "app = 'web'", "app=web", "app=db"},
		{"app==web", "app = 'web'", "app=web,x=y", ""},
		{"app!=web", "app != 'web'", "", "app=web"},
		{"app!=web", "app != 'web'", "app=db", "-"},
		{"app", "app exists", "app=", ""},
		{"!app", "!app", "x=y", "app=web"},
		{"tier in (a, b)", "tier in ( 'a','b' )", "tier=b", "tier=c"},
		{"tier notin (a,b)", "tier notin ( 'a','b' )", "", "tier=a"},
		{"tier notin (a,b)", "tier notin ( 'a','b' )", "tier=c", "-"},
		{" app = web , !legacy , tier in(a) ", "app = 'web'; !legacy; tier in ( 'a' )",
		 "app=web,tier=a", "app=web,tier=a,legacy=1"},
		{"app in (web,api),!legacy", "app in ( 'web','api' ); !legacy", "app=api",
		 "app=db"},
		{"a=", "a = ''", "a=", "a=x"},
		{"a==,b", "a = ''; b exists", "a=,b=1", "b=1"},
		{"a!=", "a != ''", "a=x", "a="},
		{"a in ()", "a in ( '' )", "a=", "a=x"},
		{"a in (x,)", "a in ( 'x','' )", "a=", "a=y"},
		{"x.io/name=v1.2-3_4", "x.io/name = 'v1.2-3_4'", "x.io/name=v1.2-3_4", "-"},
		{"in=notin", "in = 'notin'", "in=notin", "-"},
		{"a,a!=b", "a exists; a != 'b'", "a=c", "a=b"},
		/* malformed */
		{",", NULL, NULL, NULL},
		{"a,", NULL, NULL, NULL},
		{",a", NULL, NULL, NULL},
		{"a,,b", NULL, NULL, NULL},
		{"!", NULL, NULL, NULL},
		{"!a=b", NULL, NULL, NULL},
		{"!!a", NULL, NULL, NULL},
		{"a=b c", NULL, NULL, NULL},
		{"a=b=c", NULL, NULL, NULL},
		{"a in b", NULL, NULL, NULL},
		{"a in (b", NULL, NULL, NULL},
		{"a in (b c)", NULL, NULL, NULL},
		{"a in (b))", NULL, NULL, NULL},
		{"a notin", NULL, NULL, NULL},
		{"a > 1", NULL, NULL, NULL},
		{"a<1", NULL, NULL, NULL},
		{"=a", NULL, NULL, NULL},
		{"a b", NULL, NULL, NULL},
		{"(a)", NULL, NULL, NULL},
		{"a!b", NULL, NULL, NULL},
		{"a=-b", NULL, NULL, NULL},
		{"a in (-b)", NULL, NULL, NULL},
		{"-a=b", NULL, NULL, NULL},
		{"a/b/c", NULL, NULL, NULL},
		{"Example.com/a=b", NULL, NULL, NULL},
		{"a=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", NULL, NULL,
		 NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct ctl_selector sel;
		struct ctl_err err;
		struct labels l;
		char got[512];
		int ret = ctl_selector_parse(rows[i].s, &sel, &err);

		check_err(&err, ret, rows[i].s);
		if (!rows[i].parsed) {
			T_ASSERT(ret == -EINVAL, "selector '%s' taken", rows[i].s);
			T_ASSERT(!sel.reqs && !sel.n, "a refused selector is not zeroed");
			ctl_selector_fini(&sel);
			continue;
		}
		T_ASSERT(!ret, "selector '%s' refused: %s", rows[i].s, err.msg);
		sel_describe(&sel, got, sizeof(got));
		T_ASSERT(!strcmp(got, rows[i].parsed), "selector '%s' parsed as \"%s\"", rows[i].s,
			 got);
		if (strcmp(rows[i].match, "-")) {
			labels_set(&l, rows[i].match);
			T_ASSERT(ctl_selector_matches(&sel, labels_get, &l),
				 "'%s' does not select {%s}", rows[i].s, rows[i].match);
		}
		if (strcmp(rows[i].nomatch, "-")) {
			labels_set(&l, rows[i].nomatch);
			T_ASSERT(!ctl_selector_matches(&sel, labels_get, &l), "'%s' selects {%s}",
				 rows[i].s, rows[i].nomatch);
		}
		ctl_selector_fini(&sel);
		ctl_selector_fini(&sel); /* twice: fini leaves it empty */
	}
}

/* Velero's flag values: booleans, comma lists, namespace mappings */
static void test_flags(void)
{
	static const struct {
		const char *s;
		int ret;
		bool v;
	} bools[] = {
		{"true", 0, true},   {"1", 0, true},	     {"T", 0, true},
		{"True", 0, true},   {"false", 0, false},    {"0", 0, false},
		{"F", 0, false},     {"FALSE", 0, false},    {"", -EINVAL, 0},
		{"yes", -EINVAL, 0}, {"tRue", -EINVAL, 0},   {" true", -EINVAL, 0},
		{"2", -EINVAL, 0},   {"true\n", -EINVAL, 0},
	};
	static const struct {
		const char *s;
		enum ctl_list_kind kind;
		int ret;
		size_t n;
		const char *last;
	} lists[] = {
		{"app", CTL_LIST_NAMESPACES, 0, 1, "app"},
		{"a,b-2,c", CTL_LIST_NAMESPACES, 0, 3, "c"},
		{"*", CTL_LIST_NAMESPACES, 0, 1, "*"},
		{"db-*,kube-?", CTL_LIST_NAMESPACES, 0, 2, "kube-?"},
		{"deployments.apps,pvc,Secrets", CTL_LIST_RESOURCES, 0, 3, "Secrets"},
		{"", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{",", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"a,", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{",a", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"a,,b", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"a b", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"App", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"a.b", CTL_LIST_NAMESPACES, -EINVAL, 0, NULL},
		{"a/b", CTL_LIST_RESOURCES, -EINVAL, 0, NULL},
		{"pods\x01", CTL_LIST_RESOURCES, -EINVAL, 0, NULL},
		{"a:b", CTL_LIST_RESOURCES, -EINVAL, 0, NULL},
	};
	static const struct {
		const char *s;
		int ret;
		size_t n;
		const char *from, *to; /* the last pair */
	} maps[] = {
		{"a:b", 0, 1, "a", "b"},
		{"a:b,c:d", 0, 2, "c", "d"},
		{"prod-1:staging-1,x:x", 0, 2, "x", "x"},
		{"", -EINVAL, 0, NULL, NULL},
		{"a", -EINVAL, 0, NULL, NULL},
		{"a:", -EINVAL, 0, NULL, NULL},
		{":b", -EINVAL, 0, NULL, NULL},
		{"a:b:c", -EINVAL, 0, NULL, NULL},
		{"a:b,", -EINVAL, 0, NULL, NULL},
		{"a:b,,c:d", -EINVAL, 0, NULL, NULL},
		{"a:b,a:c", -EINVAL, 0, NULL, NULL},
		{"A:b", -EINVAL, 0, NULL, NULL},
		{"a:-b", -EINVAL, 0, NULL, NULL},
		{"a :b", -EINVAL, 0, NULL, NULL},
		{"a=b", -EINVAL, 0, NULL, NULL},
		{"a:b\n", -EINVAL, 0, NULL, NULL},
		{"a:0123456789012345678901234567890123456789012345678901234567890123", -EINVAL, 0,
		 NULL, NULL},
	};

	for (size_t i = 0; i < sizeof(bools) / sizeof(bools[0]); i++) {
		struct ctl_err err;
		bool v = !bools[i].v;
		int ret = ctl_parse_bool(bools[i].s, &v, &err);

		T_ASSERT(ret == bools[i].ret, "bool '%s': %d", bools[i].s, ret);
		check_err(&err, ret, bools[i].s);
		if (!ret)
			T_ASSERT(v == bools[i].v, "bool '%s'", bools[i].s);
	}
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		struct ctl_list l;
		struct ctl_err err;
		int ret = ctl_parse_list(lists[i].s, lists[i].kind, &l, &err);

		T_ASSERT(ret == lists[i].ret, "list '%s': %d (%s)", lists[i].s, ret, err.msg);
		check_err(&err, ret, lists[i].s);
		if (ret) {
			T_ASSERT(!l.items && !l.n && !l.priv_buf, "a refused list is not zeroed");
			continue;
		}
		T_ASSERT(l.n == lists[i].n && !strcmp(l.items[l.n - 1], lists[i].last),
			 "list '%s': %zu items, last '%s'", lists[i].s, l.n, l.items[l.n - 1]);
		ctl_list_fini(&l);
		ctl_list_fini(&l);
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		struct ctl_mapping m;
		struct ctl_err err;
		int ret = ctl_parse_mapping(maps[i].s, &m, &err);

		T_ASSERT(ret == maps[i].ret, "mapping '%s': %d (%s)", maps[i].s, ret, err.msg);
		check_err(&err, ret, maps[i].s);
		if (ret) {
			T_ASSERT(!m.pairs && !m.n && !m.priv_buf,
				 "a refused mapping is not zeroed");
			continue;
		}
		T_ASSERT(m.n == maps[i].n && !strcmp(m.pairs[m.n - 1].from, maps[i].from) &&
				 !strcmp(m.pairs[m.n - 1].to, maps[i].to),
			 "mapping '%s'", maps[i].s);
		ctl_mapping_fini(&m);
	}
	{
		static const struct {
			const char *s;
			int ret;
			size_t n;
		} ors[] = {
			{"app=web", 0, 1},
			{"app=web or app=db", 0, 2},
			{"a=1 or b in (2,3) or !c", 0, 3},
			{"app=web or", -EINVAL, 0},
			{"or app=web", -EINVAL, 0},
			{" or app=web", -EINVAL, 0},
			{"app=web or  or b=1", -EINVAL, 0},
			{"", -EINVAL, 0},
			{"app=web or b=(", -EINVAL, 0},
			{"app=web OR b=1", -EINVAL, 0},
		};

		for (size_t i = 0; i < sizeof(ors) / sizeof(ors[0]); i++) {
			struct ctl_selector *sels = (void *)1;
			struct ctl_err err;
			size_t n = 7;
			int ret = ctl_parse_or_selector(ors[i].s, &sels, &n, &err);

			T_ASSERT(ret == ors[i].ret, "or-selector '%s': %d (%s)", ors[i].s, ret,
				 err.msg);
			check_err(&err, ret, ors[i].s);
			if (ret) {
				T_ASSERT(!sels && !n, "a refused or-selector is not NULL");
				continue;
			}
			T_ASSERT(n == ors[i].n, "or-selector '%s': %zu selectors", ors[i].s, n);
			for (size_t k = 0; k < n; k++)
				T_ASSERT(sels[k].n, "or-selector '%s': selector %zu empty",
					 ors[i].s, k);
			ctl_or_selector_free(sels, n);
		}
		ctl_or_selector_free(NULL, 0);
	}
	T_ASSERT(ctl_namespace_valid("ferry-system") && !ctl_namespace_valid("") &&
		 !ctl_namespace_valid("a_b") && !ctl_namespace_valid("-a"));
}

int main(void)
{
	test_sizes();
	test_durations();
	test_intervals_and_counts();
	test_labels();
	test_selectors();
	test_flags();
	printf("PASS: sizes, durations, intervals, counts, labels, selectors, flags\n");
	return T_EXIT_PASS;
}
