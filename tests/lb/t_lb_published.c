// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb_published.c - what the agents read of a LoadBalancePolicy
 * (lb_published_parse(), lb_published_weight()) and how a plan takes it
 * (lb_plan_build_opts()), from tables.
 *
 * Parse rows: a policy (JSON, with ' for ") and what it reads as, one line:
 *
 *   "web @1700000000 max 600: 10.1.0.1=600 10.1.0.2=300 [fd00::1]=0"
 *
 * (service, lastUpdateTime in seconds, the largest weight, then the
 * backends sorted by address) or "EINVAL: <a word of the message>": every
 * malformed row must say which field, in one line.
 * Then weight lookups (listed, unlisted: the slow start, nothing published:
 * the default), and plans of a Service with and without a policy.
 */
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

struct row {
	const char *what;
	const char *policy;
	const char *want;
};

#define META                                                                                       \
	"'apiVersion':'ferry.io/v1alpha1','kind':'LoadBalancePolicy','metadata':{'name':'p','namespace':'shop'}"
#define POL(status) "{" META ",'spec':{'service':'web'},'status':" status "}"
#define BES(list)   POL("{'lastUpdateTime':'2023-11-14T22:13:20Z','backends':[" list "]}")
#define BE(addr, w) "{'address':'" addr "','weight':" #w "}"

static const struct row rows[] = {
	{"three backends, sorted by address, the largest weight",
	 BES(BE("10.1.0.3", 100) "," BE("10.1.0.1", 600) "," BE("10.1.0.2", 300)),
	 "web @1700000000 max 600: 10.1.0.1=600 10.1.0.2=300 10.1.0.3=100"},
	{"the fields for people (pod, node, ready, share, score, reason) are not read",
	 BES("{'pod':'web-1','address':'10.1.0.1','node':'n1','ready':true,'weight':1000,"
	     "'share':0.5,'score':0.4,'reason':'CPU 0.1 of 0.5'}," BE("10.1.0.2", 1000)),
	 "web @1700000000 max 1000: 10.1.0.1=1000 10.1.0.2=1000"},
	{"IPv6 and IPv4 in one status; weight 0 (listed, not ready)",
	 BES(BE("fd00::1", 0) "," BE("10.1.0.1", 500)),
	 "web @1700000000 max 500: 10.1.0.1=500 [fd00::1]=0"},
	{"the bounds: 0 and LB_WEIGHT_SCALE_MAX",
	 BES(BE("10.1.0.1", 0) "," BE("10.1.0.2", 1000000)),
	 "web @1700000000 max 1000000: 10.1.0.1=0 10.1.0.2=1000000"},
	{"no status yet: nothing published", "{" META ",'spec':{'service':'web'}}",
	 "web @0 max 0:"},
	{"status null", POL("null"), "web @0 max 0:"},
	{"status without backends", POL("{'readyBackends':0}"), "web @0 max 0:"},
	{"backends null", POL("{'backends':null}"), "web @0 max 0:"},
	{"backends empty", POL("{'backends':[]}"), "web @0 max 0:"},
	{"lastUpdateTime null", POL("{'lastUpdateTime':null,'backends':[" BE("10.1.0.1", 7) "]}"),
	 "web @0 max 7: 10.1.0.1=7"},
	{"a weight written 600.0 is the integer 600", BES(BE("10.1.0.1", 600.0)),
	 "web @1700000000 max 600: 10.1.0.1=600"},
	/* malformed: -EINVAL, naming the field */
	{"not an object", "[1,2]", "EINVAL: object"},
	{"spec.service missing", "{" META ",'spec':{}}", "EINVAL: spec.service"},
	{"no spec", "{" META "}", "EINVAL: spec.service"},
	{"spec.service not a string", "{" META ",'spec':{'service':7}}", "EINVAL: spec.service"},
	{"spec.service empty", "{" META ",'spec':{'service':''}}", "EINVAL: spec.service"},
	{"status a string", POL("'ok'"), "EINVAL: status"},
	{"lastUpdateTime not a time", POL("{'lastUpdateTime':'yesterday'}"),
	 "EINVAL: lastUpdateTime"},
	{"lastUpdateTime a number", POL("{'lastUpdateTime':1700000000}"), "EINVAL: lastUpdateTime"},
	{"backends an object", POL("{'backends':{'10.1.0.1':600}}"), "EINVAL: status.backends"},
	{"an entry that is not an object", BES("'10.1.0.1'"), "EINVAL: backends[0]"},
	{"an entry without address", BES("{'weight':1}"), "EINVAL: address"},
	{"an address not a string", BES("{'address':167837697,'weight':1}"), "EINVAL: address"},
	{"an address that is not an IP", BES(BE("web-1.shop", 1)), "EINVAL: address"},
	{"an address with a port", BES(BE("10.1.0.1:8080", 1)), "EINVAL: address"},
	{"an address with a newline: the message stays one line", BES(BE("10.1.0\\n.1", 1)),
	 "EINVAL: '10.1.0?.1'"},
	{"an address with a CIDR", BES(BE("10.1.0.0/24", 1)), "EINVAL: address"},
	{"an entry without weight", BES("{'address':'10.1.0.1'}"), "EINVAL: weight"},
	{"a weight null", BES("{'address':'10.1.0.1','weight':null}"), "EINVAL: weight"},
	{"a weight as a string", BES("{'address':'10.1.0.1','weight':'600'}"), "EINVAL: weight"},
	{"a negative weight", BES(BE("10.1.0.1", -1)), "EINVAL: weight"},
	{"a weight above LB_WEIGHT_SCALE_MAX", BES(BE("10.1.0.1", 1000001)), "EINVAL: weight"},
	{"a weight far beyond 32 bits", BES(BE("10.1.0.1", 1e300)), "EINVAL: weight"},
	{"a fractional weight", BES(BE("10.1.0.1", 0.5)), "EINVAL: weight"},
	{"the second entry bad", BES(BE("10.1.0.1", 1) "," BE("10.1.0.2", true)),
	 "EINVAL: backends[1]"},
	{"the same address twice",
	 BES(BE("10.1.0.1", 1) "," BE("10.1.0.2", 2) "," BE("10.1.0.1", 3)), "EINVAL: twice"},
	{"the same address twice, spelt otherwise (IPv4-mapped)",
	 BES(BE("10.1.0.1", 1) "," BE("::ffff:10.1.0.1", 1)), "EINVAL: twice"},
};

static struct k8s_obj *obj(const char *json)
{
	char *js = t_dq(json);
	struct k8s_obj *o;

	if (k8s_obj_parse(js, strlen(js), &o))
		t_error("not JSON: %s", json);
	free(js);
	return o;
}

static void pub_format(const struct lb_published *p, char *buf, size_t len)
{
	FILE *f = fmemopen(buf, len, "w");
	char a[64];

	if (!f)
		t_error("fmemopen");
	fprintf(f, "%s @%" PRId64 " max %u:", p->service, p->updated_ns / 1000000000, p->scale);
	for (size_t i = 0; i < p->n; i++) {
		struct ebpf_lb_addr ad = {.port = 0};

		memcpy(ad.ip, p->be[i].ip, sizeof(ad.ip));
		ebpf_lb_addr_format(&ad, a, sizeof(a));
		*strrchr(a, ':') = 0;
		fprintf(f, " %s=%u", a, p->be[i].weight);
	}
	fclose(f);
}

static int parse_rows(void)
{
	int fails = 0;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct k8s_obj *o = obj(r->policy);
		struct lb_published *p = (struct lb_published *)&fails; /* must be set */
		struct lb_err err = {{0}};
		char got[512];
		int ret;

		ret = lb_published_parse(o, &p, &err);
		if (ret == -EINVAL) {
			T_ASSERT(!p, "%s: no result on error", r->what);
			T_ASSERT(err.msg[0] && !strchr(err.msg, '\n'), "%s: one line says why",
				 r->what);
			snprintf(got, sizeof(got), "EINVAL: %s", err.msg);
		} else if (ret) {
			t_fail("%s: %s", r->what, strerror(-ret));
		} else {
			pub_format(p, got, sizeof(got));
		}
		lb_published_free(p);
		k8s_obj_free(o);
		if (!strncmp(r->want, "EINVAL: ", 8)
			    ? strncmp(got, "EINVAL: ", 8) || !strstr(got + 8, r->want + 8)
			    : strcmp(got, r->want)) {
			printf("FAIL %s\n  want: %s\n  got:  %s\n", r->what, r->want, got);
			fails++;
			continue;
		}
		printf("ok   %s: %s\n", r->what, got);
	}
	return fails;
}

static void ip_of(const char *s, uint8_t ip[16])
{
	struct ebpf_lb_addr a;

	if (ebpf_lb_addr_parse(s, 1, &a))
		t_error("%s", s);
	memcpy(ip, a.ip, 16);
}

/* lb_published_weight(): listed, unlisted, nothing published */
static void weight_rows(void)
{
	struct k8s_obj *o =
		obj(BES(BE("10.1.0.1", 600) "," BE("10.1.0.2", 300) "," BE("fd00::2", 100)));
	struct k8s_obj *o0 = obj(BES(BE("10.1.0.1", 0)));
	struct k8s_obj *e = obj(POL("{'backends':[]}"));
	struct k8s_obj *small = obj(BES(BE("10.1.0.1", 4) "," BE("10.1.0.2", 5)));
	struct lb_published *p, *p0, *pe, *ps;
	uint8_t ip[16];

	T_ASSERT_EQ(lb_published_parse(o, &p, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(o0, &p0, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(e, &pe, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(small, &ps, NULL), 0);
	ip_of("10.1.0.1", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 600);
	ip_of("10.1.0.2", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 300);
	ip_of("fd00::2", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 100);
	/* a pod newer than the publication: 10 % of the largest (the slow start's first step) */
	ip_of("10.1.0.9", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 60);
	ip_of("fd00::9", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 60);
	/* the IPv4 address as an IPv6 one is another address */
	ip_of("::a01:1", ip);
	T_ASSERT_EQ(lb_published_weight(p, ip, 1), 60);
	/* rounded (5 x 0.1 = 0.5 -> 1), and never 0 */
	ip_of("10.1.0.9", ip);
	T_ASSERT_EQ(lb_published_weight(ps, ip, 1), 1);
	T_ASSERT_EQ(lb_published_weight(p0, ip, 1), 1);
	ip_of("10.1.0.1", ip);
	T_ASSERT_EQ(lb_published_weight(p0, ip, 1), 0);
	/* nothing published: the default */
	T_ASSERT_EQ(lb_published_weight(pe, ip, 1), 1);
	T_ASSERT_EQ(lb_published_weight(pe, ip, 7), 7);
	T_ASSERT_EQ(lb_published_weight(NULL, ip, 1), 1);
	printf("ok   lb_published_weight(): listed, unlisted (10 %% of the largest, at least 1), "
	       "nothing published (the default)\n");
	lb_published_free(p);
	lb_published_free(p0);
	lb_published_free(pe);
	lb_published_free(ps);
	lb_published_free(NULL);
	k8s_obj_free(o);
	k8s_obj_free(o0);
	k8s_obj_free(e);
	k8s_obj_free(small);
}

/* the plan of Service @svc with slice @slice and @opts: "ip=w ip=w" or "skip: ..." or "EINVAL" */
static void plan(const char *svc, const char *slice, const struct lb_plan_opts *opts, char *buf,
		 size_t len)
{
	struct lb_node node = {.name = "n1", .zone = NULL};
	struct k8s_obj *s = obj(svc), *sl = obj(slice);
	const struct k8s_obj *sls[] = {sl};
	struct lb_plan *p = NULL;
	struct lb_err err;
	FILE *f;
	int ret;

	ret = lb_plan_build_opts(s, sls, 1, &node, opts, &p, &err);
	f = fmemopen(buf, len, "w");
	if (!f)
		t_error("fmemopen");
	if (ret == -EINVAL) {
		T_ASSERT(err.msg[0], "-EINVAL says why");
		fprintf(f, "EINVAL");
		printf("  (%s)\n", err.msg);
	} else if (ret) {
		t_fail("plan: %s", strerror(-ret));
	} else if (p->skip) {
		fprintf(f, "skip: %s", p->skip);
	} else {
		for (size_t i = 0; i < p->n; i++)
			for (size_t j = 0; j < p->e[i].svc.n; j++) {
				char a[64];

				ebpf_lb_addr_format(&p->e[i].be[j].addr, a, sizeof(a));
				fprintf(f, "%s%s=%u", i || j ? " " : "", a, p->e[i].be[j].weight);
			}
	}
	fclose(f);
	lb_plan_free(p);
	k8s_obj_free(s);
	k8s_obj_free(sl);
}

#define SVC_PLAIN                                                                                  \
	"{'metadata':{'name':'web','namespace':'shop'},'spec':{'clusterIP':'10.96.0.10',"          \
	"'ports':[{'name':'http','port':80}]}}"
#define SVC_ANNOTATED                                                                                \
	"{'metadata':{'name':'web','namespace':'shop','annotations':{'ferry.io/socket-lb':'true'}}," \
	"'spec':{'clusterIP':'10.96.0.10','ports':[{'name':'http','port':80}]}}"
#define SLICE4                                                                                     \
	"{'metadata':{'name':'w1','namespace':'shop','labels':{'kubernetes.io/service-name':"      \
	"'web'}},'addressType':'IPv4','ports':[{'name':'http','port':8080}],'endpoints':["         \
	"{'addresses':['10.1.0.1']},{'addresses':['10.1.0.2']},{'addresses':['10.1.0.3']},"        \
	"{'addresses':['10.1.0.4']}]}"

static int plan_rows(void)
{
	struct k8s_obj *po =
		obj(BES(BE("10.1.0.1", 600) "," BE("10.1.0.2", 300) "," BE("10.1.0.3", 100)));
	struct k8s_obj *pother = obj("{" META ",'spec':{'service':'shop'}}");
	struct k8s_obj *pnone = obj("{" META ",'spec':{'service':'web'}}");
	struct k8s_obj *pzero = obj(BES(BE("10.1.0.1", 0) "," BE("10.1.0.2", 0) "," BE(
		"10.1.0.3", 0) "," BE("10.1.0.4", 0) "," BE("10.1.0.9", 300)));
	struct k8s_obj *psome0 =
		obj(BES(BE("10.1.0.1", 0) "," BE("10.1.0.2", 0) "," BE("10.1.0.3", 500)));
	struct lb_published *pub, *other, *none, *zero, *some0;

	struct plan_row {
		const char *what, *svc;
		struct lb_plan_opts o;
		bool null_opts;
		const char *want;
	};
	int fails = 0;

	T_ASSERT_EQ(lb_published_parse(po, &pub, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(pother, &other, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(pnone, &none, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(pzero, &zero, NULL), 0);
	T_ASSERT_EQ(lb_published_parse(psome0, &some0, NULL), 0);
	const struct plan_row r[] = {
		{"no annotation, no policy: not balanced",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o)},
		 false,
		 "skip: not opted in"},
		{"no annotation, no opts (lb_plan_build()): not balanced",
		 SVC_PLAIN,
		 {0},
		 true,
		 "skip: not opted in"},
		{"a policy names it, nothing published: balanced, equal weights",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o), .policy = true, .published = none},
		 false,
		 "10.1.0.1:8080=1 10.1.0.2:8080=1 10.1.0.3:8080=1 10.1.0.4:8080=1"},
		{"a policy names it (its status unreadable): balanced, equal weights",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o), .policy = true},
		 false,
		 "10.1.0.1:8080=1 10.1.0.2:8080=1 10.1.0.3:8080=1 10.1.0.4:8080=1"},
		{"published weights (they imply the policy); the unlisted pod 10.1.0.4 gets the "
		 "slow start's 60",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o), .published = pub},
		 false,
		 "10.1.0.1:8080=600 10.1.0.2:8080=300 10.1.0.3:8080=100 10.1.0.4:8080=60"},
		{"every backend published at 0, ready in the slice since: equal weights, not a "
		 "refusing table",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o), .published = zero},
		 false,
		 "10.1.0.1:8080=1 10.1.0.2:8080=1 10.1.0.3:8080=1 10.1.0.4:8080=1"},
		{"some published at 0: they stay at 0",
		 SVC_PLAIN,
		 {.sz = sizeof(r[0].o), .published = some0},
		 false,
		 "10.1.0.1:8080=0 10.1.0.2:8080=0 10.1.0.3:8080=500 10.1.0.4:8080=50"},
		{"weights published for another Service: -EINVAL",
		 SVC_ANNOTATED,
		 {.sz = sizeof(r[0].o), .published = other},
		 false,
		 "EINVAL"},
	};

	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
		char got[512];

		plan(r[i].svc, SLICE4, r[i].null_opts ? NULL : &r[i].o, got, sizeof(got));
		if (strcmp(got, r[i].want)) {
			printf("FAIL %s\n  want: %s\n  got:  %s\n", r[i].what, r[i].want, got);
			fails++;
		} else {
			printf("ok   %s: %s\n", r[i].what, got);
		}
	}
	/* an annotated Service with the policy's weights: the same weights */
	{
		struct lb_plan_opts o = {.sz = sizeof(o), .published = pub};
		char a[512], b[512];

		plan(SVC_ANNOTATED, SLICE4, &o, a, sizeof(a));
		plan(SVC_PLAIN, SLICE4, &o, b, sizeof(b));
		if (strcmp(a, b)) {
			printf("FAIL annotated and not, with a policy: %s / %s\n", a, b);
			fails++;
		}
	}
	/* an opts of an older, smaller layout (sz up to policy): no published weights */
	{
		struct lb_plan_opts o = {.sz = offsetof(struct lb_plan_opts, published),
					 .policy = true,
					 .published = pub};
		char got[512];

		plan(SVC_PLAIN, SLICE4, &o, got, sizeof(got));
		if (strcmp(got,
			   "10.1.0.1:8080=1 10.1.0.2:8080=1 10.1.0.3:8080=1 10.1.0.4:8080=1")) {
			printf("FAIL a smaller sz reads no further: %s\n", got);
			fails++;
		}
	}
	lb_published_free(pub);
	lb_published_free(other);
	lb_published_free(none);
	lb_published_free(zero);
	lb_published_free(some0);
	k8s_obj_free(pzero);
	k8s_obj_free(psome0);
	k8s_obj_free(po);
	k8s_obj_free(pother);
	k8s_obj_free(pnone);
	return fails;
}

/* a status of more than EBPF_LB_MAX_BACKENDS entries is refused before anything is allocated */
static int huge_row(void)
{
	size_t n = EBPF_LB_MAX_BACKENDS + 1, len = 256 + n * 48;
	char *js = malloc(len), *w = js;
	struct lb_published *p = NULL;
	struct lb_err err;
	struct k8s_obj *o;
	int ret;

	if (!js)
		t_error("out of memory");
	w += sprintf(w, "{\"spec\":{\"service\":\"web\"},\"status\":{\"backends\":[");
	for (size_t i = 0; i < n; i++)
		w += sprintf(w, "%s{\"address\":\"10.%zu.%zu.%zu\",\"weight\":1}", i ? "," : "",
			     (i >> 16) & 255, (i >> 8) & 255, i & 255);
	w += sprintf(w, "]}}");
	if (k8s_obj_parse(js, (size_t)(w - js), &o))
		t_error("huge row is not JSON");
	ret = lb_published_parse(o, &p, &err);
	k8s_obj_free(o);
	free(js);
	if (ret != -EINVAL || p || !strstr(err.msg, "more than")) {
		printf("FAIL %zu backends: %d %s\n", n, ret, err.msg);
		return 1;
	}
	printf("ok   %zu backends: %s\n", n, err.msg);
	return 0;
}

/* a spec.service of 254 bytes does not fit; 253 does (a DNS subdomain's most) */
static int long_service_rows(void)
{
	int fails = 0;

	for (size_t len = 253; len <= 254; len++) {
		char js[400], name[300];
		struct lb_published *p = NULL;
		struct lb_err err;
		struct k8s_obj *o;
		int ret;

		memset(name, 'a', len);
		name[len] = 0;
		snprintf(js, sizeof(js), "{\"spec\":{\"service\":\"%s\"}}", name);
		if (k8s_obj_parse(js, strlen(js), &o))
			t_error("not JSON");
		ret = lb_published_parse(o, &p, &err);
		if (len == 253 ? ret || strcmp(p->service, name)
			       : ret != -EINVAL || !strstr(err.msg, "spec.service")) {
			printf("FAIL spec.service of %zu bytes: %d\n", len, ret);
			fails++;
		} else {
			printf("ok   spec.service of %zu bytes: %s\n", len, ret ? err.msg : "read");
		}
		lb_published_free(p);
		k8s_obj_free(o);
	}
	return fails;
}

int main(void)
{
	int fails = parse_rows();

	weight_rows();
	fails += plan_rows();
	fails += huge_row();
	fails += long_service_rows();
	if (fails)
		t_fail("%d rows", fails);
	printf("%zu parse rows, 10 plan rows\n", sizeof(rows) / sizeof(rows[0]));
	return 0;
}
