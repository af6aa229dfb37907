// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_obj.c - struct k8s_obj without a server: JSON Pointer
 * reads and writes (RFC 6901's examples), all-or-nothing setters, YAML,
 * quantities and times (values from the apimachinery documentation), label
 * selectors (parse, match, LabelSelector to string), field managers, status
 * conditions and the views of the kinds, on objects in the API's own shapes (data/).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "t_helpers.h"

static struct k8s_obj *parse(const char *json)
{
	struct k8s_obj *o;

	T_ASSERT(!k8s_obj_parse(json, strlen(json), &o), "parse %s", json);
	return o;
}

static struct k8s_obj *load(const char *name)
{
	char path[512], *buf;
	struct k8s_obj *o;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/data/%s",
		 getenv("K8S_TESTDIR") ? getenv("K8S_TESTDIR") : ".", name);
	f = fopen(path, "r");
	if (!f)
		t_error("cannot open %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		t_error("cannot read %s", path);
	fclose(f);
	T_ASSERT(!k8s_obj_parse(buf, (size_t)n, &o), "%s is JSON", path);
	free(buf);
	return o;
}

static void test_pointer(void)
{
	/* RFC 6901 section 5 */
	struct k8s_obj *o = parse("{\"foo\":[\"bar\",\"baz\"],\"\":0,\"a/b\":1,\"c%d\":2,\"e^f\":3,"
				  "\"g|h\":4,\"i\\\\j\":5,\"k\\\"l\":6,\" \":7,\"m~n\":8}");
	int64_t v;

	T_ASSERT(k8s_obj_at(o, "") == o);
	T_ASSERT_EQ(k8s_obj_type(o, "/foo"), K8S_T_ARRAY);
	T_ASSERT(!strcmp(k8s_obj_str(o, "/foo/0"), "bar"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/foo/1"), "baz"));
	T_ASSERT(!k8s_obj_at(o, "/foo/2"), "past the end");
	T_ASSERT(!k8s_obj_at(o, "/foo/01"), "no leading zeros");
	T_ASSERT(!k8s_obj_at(o, "/foo/-"), "'-' reads nothing");
	T_ASSERT(!k8s_obj_int(o, "/", &v) && v == 0);
	T_ASSERT(!k8s_obj_int(o, "/a~1b", &v) && v == 1);
	T_ASSERT(!k8s_obj_int(o, "/c%d", &v) && v == 2);
	T_ASSERT(!k8s_obj_int(o, "/i\\j", &v) && v == 5);
	T_ASSERT(!k8s_obj_int(o, "/k\"l", &v) && v == 6);
	T_ASSERT(!k8s_obj_int(o, "/ ", &v) && v == 7);
	T_ASSERT(!k8s_obj_int(o, "/m~0n", &v) && v == 8);
	T_ASSERT(!k8s_obj_at(o, "foo"), "a pointer starts with '/'");
	T_ASSERT(!k8s_obj_at(o, "/m~2n"), "~2 is no escape");
	T_ASSERT_EQ(k8s_obj_int(o, "/foo/0", &v), -EINVAL);
	T_ASSERT_EQ(k8s_obj_int(o, "/nothing", &v), -ENOENT);
	T_ASSERT_EQ(k8s_obj_len(o, "/foo"), 2);
	T_ASSERT_EQ(k8s_obj_len(o, ""), 10);
	T_ASSERT(!strcmp(k8s_obj_name(k8s_obj_first(o)), "foo"));
	{
		char p[16];

		T_ASSERT(!k8s_ptr_join(p, sizeof(p), "", "a/b") && !strcmp(p, "/a~1b"), "%s", p);
		T_ASSERT(!k8s_obj_int(o, p, &v) && v == 1, "a joined key finds its member");
		T_ASSERT(!k8s_ptr_join(p, sizeof(p), "/x", "m~n") && !strcmp(p, "/x/m~0n"), "%s",
			 p);
		T_ASSERT(!k8s_ptr_join(p, sizeof(p), "/x", "012345678901") &&
				 !strcmp(p, "/x/012345678901"),
			 "15 characters and the NUL fill it");
		T_ASSERT_EQ(k8s_ptr_join(p, sizeof(p), "/x", "0123456789012"), -ENAMETOOLONG);
		T_ASSERT(!p[0], "too long: empty");
		T_ASSERT_EQ(k8s_ptr_join(p, sizeof(p), "/x", "01234567890~"), -ENAMETOOLONG);
	}
	k8s_obj_free(o);
}

static void test_setters(void)
{
	struct k8s_obj *o, *v, *w;
	char *json;
	bool b;

	T_ASSERT(!k8s_obj_new(&o));
	T_ASSERT(!k8s_obj_set_str(o, "/spec/selector/app", "web"));
	T_ASSERT(!k8s_obj_set_int(o, "/spec/replicas", 3));
	T_ASSERT(!k8s_obj_set_bool(o, "/spec/paused", true));
	T_ASSERT(!k8s_obj_set_empty(o, "/spec/ports", K8S_T_ARRAY));
	T_ASSERT(!k8s_obj_set_json(o, "/spec/ports/-", "{\"port\":80}"));
	T_ASSERT(!k8s_obj_set_json(o, "/spec/ports/-", "{\"port\":443}"));
	T_ASSERT(!k8s_obj_set_int(o, "/spec/ports/1/port", 8443));
	T_ASSERT(!k8s_obj_set_label(o, "app.kubernetes.io/name", "web"));
	json = k8s_obj_json(o);
	T_ASSERT(!strcmp(json,
			 "{\"spec\":{\"selector\":{\"app\":\"web\"},\"replicas\":3,\"paused\":true,"
			 "\"ports\":[{\"port\":80},{\"port\":8443}]},"
			 "\"metadata\":{\"labels\":{\"app.kubernetes.io/name\":\"web\"}}}"),
		 "%s", json);
	free(json);
	T_ASSERT(!strcmp(k8s_obj_label(o, "app.kubernetes.io/name"), "web"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/metadata/labels/app.kubernetes.io~1name"), "web"));
	/* all or nothing: a failing path leaves nothing behind */
	T_ASSERT_EQ(k8s_obj_set_str(o, "/spec/replicas/x", "y"), -EINVAL);
	T_ASSERT_EQ(k8s_obj_set_str(o, "/spec/ports/5", "y"), -EINVAL);
	T_ASSERT_EQ(k8s_obj_set_str(o, "/new/deep/er/../ports/7", "y"), 0);
	T_ASSERT(!k8s_obj_remove(o, "/new"));
	T_ASSERT_EQ(k8s_obj_set_str(o, "/spec/ports/x/port", "y"), -EINVAL);
	T_ASSERT(!k8s_obj_at(o, "/spec/ports/x"));
	T_ASSERT_EQ(k8s_obj_set_str(o, "", "y"), -EINVAL);
	T_ASSERT_EQ(k8s_obj_remove(o, "/spec/nothing"), -ENOENT);
	T_ASSERT(!k8s_obj_remove(o, "/spec/ports/0"));
	T_ASSERT(!k8s_obj_bool(o, "/spec/paused", &b) && b);
	T_ASSERT_EQ(k8s_obj_len(o, "/spec/ports"), 1);
	/* a root moves in; a borrowed value may not */
	T_ASSERT(!k8s_obj_new(&v));
	T_ASSERT(!k8s_obj_set_str(v, "/x", "1"));
	T_ASSERT(!k8s_obj_set(o, "/spec/v", v));
	T_ASSERT_EQ(k8s_obj_set(o, "/spec/w", (struct k8s_obj *)k8s_obj_at(o, "/spec/v")), -EINVAL);
	T_ASSERT(!k8s_obj_set_copy(o, "/spec/w", k8s_obj_at(o, "/spec/v")));
	T_ASSERT(k8s_obj_equal(k8s_obj_at(o, "/spec/v"), k8s_obj_at(o, "/spec/w")));
	w = k8s_obj_dup(o);
	T_ASSERT(k8s_obj_equal(o, w));
	T_ASSERT(!k8s_obj_set_null(w, "/spec/v/x"));
	T_ASSERT(!k8s_obj_equal(o, w));
	T_ASSERT_EQ(k8s_obj_type(w, "/spec/v/x"), K8S_T_NULL);
	k8s_obj_free(w);
	/* a member's copy is a root: it moves into another tree under a new name */
	w = k8s_obj_dup(k8s_obj_at(o, "/spec/ports"));
	T_ASSERT(w && !k8s_obj_name(w), "the copy carries no key");
	T_ASSERT(!k8s_obj_set(o, "/spec/ports2", w), "a member's copy moves like a root");
	T_ASSERT(k8s_obj_equal(k8s_obj_at(o, "/spec/ports"), k8s_obj_at(o, "/spec/ports2")));
	T_ASSERT(!k8s_obj_remove(o, "/spec/ports2"));
	/* key order does not matter */
	v = parse("{\"a\":1,\"b\":[1,2]}");
	w = parse("{\"b\":[1,2],\"a\":1}");
	T_ASSERT(k8s_obj_equal(v, w));
	k8s_obj_free(v);
	k8s_obj_free(w);
	k8s_obj_free(o);
}

static void test_yaml(void)
{
	static const char y[] = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n"
				"  labels: &l {a: '1', b: \"yes\"}\n"
				"data:\n  n: 0123\n  t: true\n  f: 1.5\n  s: 'true'\n  e: ~\n"
				"  q: !!str 12\nother:\n  labels: *l\nlist:\n- 1\n- two\n";
	struct k8s_obj *o;
	struct k8s_err err;
	double d;
	bool b;
	int64_t v;

	T_ASSERT(!k8s_obj_parse_yaml(y, strlen(y), &o, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_obj_get_name(o), "x"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/data/n"), "0123"), "a leading zero is a string");
	T_ASSERT(!k8s_obj_bool(o, "/data/t", &b) && b);
	T_ASSERT(!k8s_obj_num(o, "/data/f", &d) && d == 1.5);
	T_ASSERT(!strcmp(k8s_obj_str(o, "/data/s"), "true"), "quoted stays a string");
	T_ASSERT_EQ(k8s_obj_type(o, "/data/e"), K8S_T_NULL);
	T_ASSERT(!strcmp(k8s_obj_str(o, "/data/q"), "12"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/other/labels/b"), "yes"), "an alias is expanded");
	T_ASSERT(!k8s_obj_int(o, "/list/0", &v) && v == 1);
	k8s_obj_free(o);
	/* not YAML: the line is named */
	T_ASSERT_EQ(k8s_obj_parse_yaml("a: b\n c: [\n", 12, &o, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "line "), "%s", err.msg);
	T_ASSERT_EQ(k8s_obj_parse_yaml("a: 1\n---\nb: 2\n", 14, &o, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "more than one document"), "%s", err.msg);
	/* a billion laughs is refused, not built */
	{
		char lol[4096];
		size_t n = 0;

		n += (size_t)snprintf(lol + n, sizeof(lol) - n, "a: &a [x,x,x,x,x,x,x,x,x,x]\n");
		for (char c = 'b'; c <= 'j'; c++)
			n += (size_t)snprintf(lol + n, sizeof(lol) - n,
					      "%c: &%c [*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c,*%c]\n",
					      c, c, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1, c - 1,
					      c - 1, c - 1, c - 1);
		T_ASSERT_EQ(k8s_obj_parse_yaml(lol, n, &o, &err), -EINVAL);
		T_ASSERT(strstr(err.msg, "too many"), "%s", err.msg);
	}
}

/* k8s_obj_yaml(): block YAML that k8s_obj_parse_yaml() reads back as the same tree */
static void test_yaml_emit(void)
{
	static const char *const docs[] = {
		"{\"apiVersion\":\"ferry.io/v1alpha1\",\"kind\":\"Backup\",\"metadata\":"
		"{\"name\":\"b\",\"labels\":{\"app.kubernetes.io/name\":\"x\"}},\"spec\":"
		"{\"includedNamespaces\":[\"a\",\"*\"],\"ttl\":\"720h0m0s\","
		"\"snapshotVolumes\":false,\"labelSelector\":null,\"x\":{},\"y\":[]}}",
		/* strings another reader would type: quoted */
		"{\"s\":[\"true\",\"yes\",\"no\",\"on\",\"null\",\"~\",\"\",\"0123\",\"1.5\","
		"\"-1\",\"1e3\",\"2024-01-01T00:00:00Z\",\".inf\",\"a: b\",\"- x\",\"#c\","
		"\"multi\\nline\",\"tab\\there\",\"\u00e9t\u00e9\",\"'q'\",\"\\\"dq\\\"\","
		"\"&a\",\"*a\",\"!t\",\"@x\",\"%x\",\"{x}\",\"[x]\",\"x,y\",\"? x\",\"|\",\">\"],"
		"\"n\":[0,-7,1.5,1e300,-2.5e-10,9007199254740991,-201222222222221,"
		"999999999999999,-999999999999999],\"b\":[true,false,null],"
		"\"\":\"empty key\",\"true\":\"key typed\",\"1\":\"numeric key\"}",
		"[]",
		"{}",
		"[[1,[2,[]]],{\"a\":{\"b\":{}}}]",
	};

	for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		struct k8s_obj *o = parse(docs[i]), *back = NULL;
		struct k8s_err err;
		char *y = k8s_obj_yaml(o);

		T_ASSERT(y, "doc %zu: no YAML", i);
		T_ASSERT(!k8s_obj_parse_yaml(y, strlen(y), &back, &err), "doc %zu: %s\n%s", i,
			 err.msg, y);
		T_ASSERT(k8s_obj_equal(o, back), "doc %zu read back differs:\n%s", i, y);
		if (i == 0) {
			T_ASSERT(strstr(y, "kind: Backup\n"), "%s", y);
			T_ASSERT(strstr(y, "  includedNamespaces:\n  - a\n"), "block style: %s", y);
			T_ASSERT(strstr(y, "ttl: \"720h0m0s\""), "%s", y);
		}
		free(y);
		k8s_obj_free(back);
		k8s_obj_free(o);
	}
	T_ASSERT(!k8s_obj_yaml(NULL));
}

static void test_values(void)
{
	static const struct {
		const char *s;
		int64_t milli, value;
		int ret;
	} q[] = {
		{"100m", 100, 1, 0},
		{"1", 1000, 1, 0},
		{"1.5", 1500, 2, 0},
		{"0.1", 100, 1, 0},
		{"2k", 2000000, 2000, 0},
		{"1Ki", 1024000, 1024, 0},
		{"1.5Gi", 1610612736000, 1610612736, 0},
		{"1e3", 1000000, 1000, 0},
		{"1E3", 1000000, 1000, 0},
		{"1E", 0, 0, -ERANGE},
		{"128974848", 128974848000, 128974848, 0},
		{"129e6", 129000000000, 129000000, 0},
		{"123Mi", 128974848000, 128974848, 0},
		{"1n", 1, 1, 0},
		{"0.0001", 1, 1, 0},
		{"-1", -1000, -1, 0},
		{"0", 0, 0, 0},
		{"", 0, 0, -EINVAL},
		{"1.2.3", 0, 0, -EINVAL},
		{"Mi", 0, 0, -EINVAL},
		{"1ki", 0, 0, -EINVAL},
		{"1Mx", 0, 0, -EINVAL},
		{"9Ei", 0, 0, -ERANGE},
		{"8Ei", 0, 0, -ERANGE},
		{"7Ei", 0, 0, -ERANGE},
	};
	char buf[K8S_TIME_SIZE];
	int64_t ns, v;

	for (size_t i = 0; i < sizeof(q) / sizeof(q[0]); i++) {
		int r = k8s_quantity_parse(q[i].s, &v);

		if (q[i].ret == -ERANGE && !strcmp(q[i].s, "1E")) {
			/* 1E (exa) in milli units is beyond int64; its value is not */
			T_ASSERT_EQ(r, -ERANGE);
			T_ASSERT(!k8s_quantity_value(q[i].s, &v) && v == 1000000000000000000ll);
			continue;
		}
		if (q[i].ret == -ERANGE && !strcmp(q[i].s, "7Ei")) {
			T_ASSERT_EQ(r, -ERANGE);
			T_ASSERT(!k8s_quantity_value(q[i].s, &v) && v == 7ll << 60);
			continue;
		}
		T_ASSERT_EQ(r, q[i].ret);
		if (!r)
			T_ASSERT(v == q[i].milli, "%s: %lld milli", q[i].s, (long long)v);
		r = k8s_quantity_value(q[i].s, &v);
		if (q[i].ret != -ERANGE) {
			T_ASSERT_EQ(r, q[i].ret);
			if (!r)
				T_ASSERT(v == q[i].value, "%s: %lld", q[i].s, (long long)v);
		}
	}
	T_ASSERT(!k8s_time_parse("2006-01-02T15:04:05Z", &ns) && ns == 1136214245000000000ll);
	T_ASSERT(!k8s_time_parse("2006-01-02T15:04:05.123456Z", &ns) &&
		 ns == 1136214245123456000ll);
	T_ASSERT(!k8s_time_parse("2006-01-02T17:04:05+02:00", &ns) && ns == 1136214245000000000ll);
	T_ASSERT(!k8s_time_parse("1969-12-31T23:59:59Z", &ns) && ns == -1000000000ll);
	T_ASSERT(!k8s_time_parse("2024-02-29T00:00:00Z", &ns));
	T_ASSERT_EQ(k8s_time_parse("2023-02-29T00:00:00Z", &ns), -EINVAL);
	T_ASSERT_EQ(k8s_time_parse("2006-01-02 15:04:05", &ns), -EINVAL);
	T_ASSERT_EQ(k8s_time_parse("2006-01-02T15:04:05Zx", &ns), -EINVAL);
	k8s_time_format(1136214245123456789ll, true, buf);
	T_ASSERT(!strcmp(buf, "2006-01-02T15:04:05.123456Z"), "%s", buf);
	k8s_time_format(1136214245123456789ll, false, buf);
	T_ASSERT(!strcmp(buf, "2006-01-02T15:04:05Z"), "%s", buf);
}

static bool sel_match(const char *sel, const char *labels)
{
	struct k8s_selector *s;
	struct k8s_obj *l = parse(labels);
	struct k8s_err err;
	bool m;

	T_ASSERT(!k8s_selector_parse(sel, &s, &err), "%s: %s", sel, err.msg);
	m = k8s_selector_match(s, l);
	k8s_selector_free(s);
	k8s_obj_free(l);
	return m;
}

static void test_selectors(void)
{
	struct k8s_selector *s;
	struct k8s_err err;
	struct k8s_obj *o;
	char *str;

	/* apimachinery labels.Parse semantics */
	T_ASSERT(sel_match("", "{}"));
	T_ASSERT(sel_match("app=web", "{\"app\":\"web\"}"));
	T_ASSERT(sel_match("app==web", "{\"app\":\"web\"}"));
	T_ASSERT(!sel_match("app=web", "{\"app\":\"db\"}"));
	T_ASSERT(!sel_match("app=web", "{}"));
	T_ASSERT(sel_match("app!=web", "{}"), "!= matches an absent label");
	T_ASSERT(sel_match("env in (prod, stage)", "{\"env\":\"stage\"}"));
	T_ASSERT(!sel_match("env in (prod,stage)", "{}"));
	T_ASSERT(sel_match("env notin (prod)", "{}"));
	T_ASSERT(!sel_match("env notin (prod)", "{\"env\":\"prod\"}"));
	T_ASSERT(sel_match("legacy", "{\"legacy\":\"\"}"));
	T_ASSERT(sel_match("!legacy", "{\"x\":\"1\"}"));
	T_ASSERT(!sel_match("!legacy", "{\"legacy\":\"1\"}"));
	T_ASSERT(sel_match("size>3", "{\"size\":\"4\"}"));
	T_ASSERT(!sel_match("size>3", "{\"size\":\"x\"}"));
	T_ASSERT(sel_match("app.kubernetes.io/name=web, tier!=cache",
			   "{\"app.kubernetes.io/name\":\"web\",\"tier\":\"front\"}"));
	T_ASSERT(sel_match("env in (a,)", "{\"env\":\"\"}"), "an empty value in a set");
	T_ASSERT_EQ(k8s_selector_parse("app=web,", &s, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "offset"), "%s", err.msg);
	T_ASSERT_EQ(k8s_selector_parse("app in prod", &s, &err), -EINVAL);
	T_ASSERT_EQ(k8s_selector_parse("size>x", &s, &err), -EINVAL);
	T_ASSERT_EQ(k8s_selector_parse("a=(b)", &s, &err), -EINVAL);
	/* metav1.LabelSelector to the string form (terms sorted by key) */
	o = parse("{\"matchLabels\":{\"b\":\"2\",\"a\":\"1\"},\"matchExpressions\":["
		  "{\"key\":\"env\",\"operator\":\"In\",\"values\":[\"stage\",\"prod\"]},"
		  "{\"key\":\"old\",\"operator\":\"DoesNotExist\"},"
		  "{\"key\":\"c\",\"operator\":\"Exists\"}]}");
	T_ASSERT(!k8s_selector_string(o, &str));
	T_ASSERT(!strcmp(str, "a=1,b=2,c,env in (prod,stage),!old"), "%s", str);
	T_ASSERT(sel_match(str, "{\"a\":\"1\",\"b\":\"2\",\"c\":\"x\",\"env\":\"prod\"}"));
	free(str);
	k8s_obj_free(o);
	o = parse("{\"app\":\"web\",\"tier\":\"db\"}"); /* a Service's selector */
	T_ASSERT(!k8s_selector_string(o, &str));
	T_ASSERT(!strcmp(str, "app=web,tier=db"), "%s", str);
	free(str);
	k8s_obj_free(o);
	T_ASSERT(!k8s_selector_string(NULL, &str) && !strcmp(str, ""));
	free(str);
	o = parse("{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"In\",\"values\":[]}]}");
	T_ASSERT_EQ(k8s_selector_string(o, &str), -EINVAL);
	k8s_obj_free(o);
	o = parse(
		"{\"matchExpressions\":[{\"key\":\"a\",\"operator\":\"Gt\",\"values\":[\"1\"]}]}");
	T_ASSERT_EQ(k8s_selector_string(o, &str), -EINVAL);
	k8s_obj_free(o);
	/* a key longer than the parser takes (253 + "/" + 63) is refused, not written */
	{
		char doc[400], *p = doc;

		p += sprintf(p, "{\"");
		memset(p, 'k', 317);
		p += 317;
		sprintf(p, "\":\"v\"}");
		o = parse(doc);
		T_ASSERT_EQ(k8s_selector_string(o, &str), -EINVAL);
		k8s_obj_free(o);
		doc[2 + 316] = '\"';
		memcpy(doc + 2 + 317, ":\"v\"}", 6);
		o = parse(doc);
		T_ASSERT(!k8s_selector_string(o, &str));
		T_ASSERT(!k8s_selector_parse(str, &s, &err));
		k8s_selector_free(s);
		free(str);
		k8s_obj_free(o);
	}
}

struct managers {
	char names[256];
};

static int collect(void *arg, const char *manager, const char *op)
{
	struct managers *m = arg;
	size_t n = strlen(m->names);

	snprintf(m->names + n, sizeof(m->names) - n, "%s%s:%s", n ? "," : "", manager, op);
	return 0;
}

static void test_kinds(void)
{
	struct k8s_obj *o = load("deployment.json"), *s;
	struct k8s_workload w;
	struct managers m = {{0}};
	struct k8s_pod p;
	struct k8s_endpointslice es;
	struct k8s_endpoint ep;
	struct k8s_node n;
	struct k8s_scale sc;
	char *str, key[K8S_KEY_SIZE];
	size_t len;
	int64_t cnt;

	T_ASSERT(!k8s_workload_view(o, &w));
	T_ASSERT(!strcmp(w.meta.name, "web") && !strcmp(w.meta.ns, "shop"));
	T_ASSERT_EQ(w.replicas, 3);
	T_ASSERT_EQ(w.ready, 2);
	T_ASSERT_EQ(w.meta.generation, 4);
	T_ASSERT(!k8s_selector_string(w.selector, &str) && !strcmp(str, "app=web"), "%s", str);
	free(str);
	/* the HPA owns spec.replicas through /scale; kubectl the selector */
	T_ASSERT(!k8s_obj_managers(o, "/spec/replicas", collect, &m));
	T_ASSERT(!strcmp(m.names, "kube-controller-manager:Update"), "%s", m.names);
	m.names[0] = '\0';
	T_ASSERT(!k8s_obj_managers(o, "/spec/selector/matchLabels/app", collect, &m));
	T_ASSERT(!strcmp(m.names, "kubectl-client-side-apply:Update"), "%s", m.names);
	m.names[0] = '\0';
	T_ASSERT(!k8s_obj_managers(o, "/spec/paused", collect, &m));
	T_ASSERT(!m.names[0], "%s", m.names);
	T_ASSERT(!k8s_obj_key_of(o, key) && !strcmp(key, "shop/web"));
	k8s_obj_free(o);

	o = load("pod.json");
	T_ASSERT(!k8s_pod_view(o, &p));
	T_ASSERT(!strcmp(p.node_name, "node-1") && !strcmp(p.phase, "Running"));
	T_ASSERT(p.ready && p.ready_ns > 0);
	T_ASSERT_EQ(p.cpu_request_m, 150);
	T_ASSERT_EQ(p.cpu_limit_m, 0); /* the sidecar has no limit */
	T_ASSERT_EQ(p.mem_request, 64ll << 20);
	T_ASSERT_EQ(p.ncontainers, 2);
	T_ASSERT_EQ(p.nready, 2);
	T_ASSERT_EQ(p.restarts, 3);
	T_ASSERT(p.meta.controller &&
		 !strcmp(k8s_obj_str(p.meta.controller, "/kind"), "ReplicaSet"));
	k8s_obj_free(o);

	o = load("endpointslice.json");
	T_ASSERT(!k8s_endpointslice_view(o, &es));
	T_ASSERT(!strcmp(es.service, "web"));
	T_ASSERT_EQ(k8s_obj_len(es.endpoints, ""), 2);
	T_ASSERT(!k8s_endpoint_view(k8s_obj_at(es.endpoints, "/0"), &ep));
	T_ASSERT(ep.ready && ep.serving && !ep.terminating && !strcmp(ep.address, "10.1.0.5"));
	T_ASSERT(!k8s_endpoint_view(k8s_obj_at(es.endpoints, "/1"), &ep));
	T_ASSERT(!ep.ready && ep.serving && ep.terminating && !strcmp(ep.pod, "web-2"));
	k8s_obj_free(o);

	o = load("node.json");
	T_ASSERT(!k8s_node_view(o, &n));
	T_ASSERT(n.ready && !n.unschedulable && !strcmp(n.internal_ip, "192.168.0.11"));
	T_ASSERT_EQ(n.alloc_cpu_m, 3800);
	T_ASSERT_EQ(n.alloc_mem, 15ll << 30);
	T_ASSERT(!strcmp(n.zone, "zone-a"));
	k8s_obj_free(o);

	o = load("csinode.json");
	T_ASSERT(!k8s_csinode_allocatable(o, "hostpath.csi.k8s.io", &cnt) && cnt == 39);
	T_ASSERT_EQ(k8s_csinode_allocatable(o, "other", &cnt), -ENOENT);
	k8s_obj_free(o);

	o = load("scale.json");
	T_ASSERT(!k8s_scale_view(o, &sc));
	T_ASSERT(sc.replicas == 3 && sc.status_replicas == 2 && !strcmp(sc.selector, "app=web"));
	k8s_obj_free(o);

	/* secrets round-trip through base64 */
	T_ASSERT(!k8s_obj_new_kind(&k8s_secrets, "ns", "s", &s));
	T_ASSERT(!k8s_secret_set(s, "key", "\0\1binary\xff", 10));
	T_ASSERT(!k8s_secret_get(s, "key", &str, &len) && len == 10 &&
		 !memcmp(str, "\0\1binary\xff", 10));
	k8s_secret_free(str, len);
	T_ASSERT(!strcmp(k8s_obj_str(s, "/apiVersion"), "v1") &&
		 !strcmp(k8s_obj_str(s, "/kind"), "Secret"));
	T_ASSERT_EQ(k8s_secret_get(s, "nope", &str, &len), -ENOENT);
	k8s_obj_free(s);

	/* an owner in another namespace is refused: GC would delete the dependent */
	o = parse(
		"{\"apiVersion\":\"ferry.io/v1alpha1\",\"kind\":\"Backup\",\"metadata\":{\"name\":\"b\","
		"\"namespace\":\"app\",\"uid\":\"u-1\"}}");
	T_ASSERT(!k8s_obj_new_kind(&k8s_pods, "ferry-system", "holder", &s));
	T_ASSERT_EQ(k8s_obj_set_owner(s, o), -EINVAL);
	T_ASSERT(!k8s_obj_set_str(s, "/metadata/namespace", "app"));
	T_ASSERT(!k8s_obj_set_owner(s, o));
	T_ASSERT(!strcmp(k8s_obj_str(s, "/metadata/ownerReferences/0/uid"), "u-1"));
	k8s_obj_free(s);
	k8s_obj_free(o);
}

/*
 * metav1.Condition (apimachinery ValidateConditions, the API conventions'
 * "Typical status properties"): one entry per type, lastTransitionTime moves
 * only with the status, an unchanged condition is no write.
 */
static void test_conditions(void)
{
	struct k8s_obj *o = parse("{\"metadata\":{\"name\":\"b\",\"generation\":3}}");
	struct k8s_condition c = {.type = "Ready",
				  .status = "False",
				  .reason = "Forbidden",
				  .message = "grant get on secrets",
				  .observed_generation = 3},
			     got;
	const int64_t t1 = 1767225600LL * 1000000000LL, t2 = t1 + 60LL * 1000000000LL;
	char *big;

	T_ASSERT(k8s_condition_reason_valid("Reconciled"));
	T_ASSERT(k8s_condition_reason_valid("a_b:c,d9"));
	T_ASSERT(!k8s_condition_reason_valid(""));
	T_ASSERT(!k8s_condition_reason_valid("9Lives"), "starts with a letter");
	T_ASSERT(!k8s_condition_reason_valid("Ends:"), "ends with a word character");
	T_ASSERT(!k8s_condition_reason_valid("Two Words"));
	T_ASSERT(!k8s_condition_reason_valid(NULL));
	T_ASSERT_EQ(k8s_condition_get(o, "Ready", &got), -ENOENT);
	/* the first condition creates status.conditions */
	T_ASSERT_EQ(k8s_condition_set(o, &c, t1), 0);
	T_ASSERT_EQ(k8s_obj_len(o, "/status/conditions"), 1);
	T_ASSERT(!strcmp(k8s_obj_str(o, "/status/conditions/0/lastTransitionTime"),
			 "2026-01-01T00:00:00Z"),
		 "metav1.Time: whole seconds");
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), K8S_UNCHANGED);
	/* a new message, the same status: the transition time stays */
	c.message = "grant list on secrets";
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), 0);
	T_ASSERT(!k8s_condition_get(o, "Ready", &got));
	T_ASSERT(got.transition_ns == t1 && !strcmp(got.message, "grant list on secrets") &&
		 got.observed_generation == 3 && !strcmp(got.reason, "Forbidden"));
	/* another type is another entry */
	T_ASSERT_EQ(k8s_condition_set(o,
				      &(struct k8s_condition){.type = "Progressing",
							      .status = "Unknown",
							      .reason = "Waiting"},
				      t1),
		    0);
	T_ASSERT_EQ(k8s_obj_len(o, "/status/conditions"), 2);
	T_ASSERT_EQ(k8s_obj_type(o, "/status/conditions/1/observedGeneration"), K8S_T_ABSENT);
	/* the status changes: so does the time, in place */
	c.status = "True";
	c.reason = "Reconciled";
	c.message = "";
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), 0);
	T_ASSERT(!k8s_condition_get(o, "Ready", &got) && got.transition_ns == t2 &&
		 !strcmp(got.status, "True"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/status/conditions/0/type"), "Ready"), "kept its place");
	/* refusals leave the object as it was */
	c.status = "Maybe";
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), -EINVAL);
	c.status = "False";
	c.reason = "not camel";
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), -EINVAL);
	T_ASSERT(!k8s_condition_get(o, "Ready", &got) && !strcmp(got.status, "True"));
	/* a message past 32 KiB is cut at a character boundary ("é" is 2 bytes) */
	big = malloc(40001);
	T_ASSERT(big);
	for (int i = 0; i < 40000; i += 2)
		memcpy(big + i, "\xc3\xa9", 2);
	big[40000] = '\0';
	c.reason = "Big";
	c.message = big;
	T_ASSERT_EQ(k8s_condition_set(o, &c, t2), 0);
	T_ASSERT(!k8s_condition_get(o, "Ready", &got));
	T_ASSERT_EQ(strlen(got.message), 32768);
	free(big);
	k8s_obj_free(o);
	/* status.conditions that is not a list is refused */
	o = parse("{\"status\":{\"conditions\":{}}}");
	c.message = "";
	T_ASSERT_EQ(k8s_condition_set(o, &c, t1), -EINVAL);
	k8s_obj_free(o);
}

int main(void)
{
	test_pointer();
	test_setters();
	test_yaml();
	test_yaml_emit();
	test_values();
	test_selectors();
	test_kinds();
	test_conditions();
	printf("t_k8s_obj: ok\n");
	return 0;
}
