// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb_route.c - the HTTPRoute export's pure half (lb.h, "HTTPRoute
 * export"): the weights from spare cores (lb_route_weights()), from a table
 * with the rule each row holds; the field managers taken for GitOps and
 * progressive-delivery tools (lb_route_controller()); and what
 * lb_route_plan() makes of routes as an API server could serve them: which
 * backendRefs get a weight, the apply configuration (the route's identity and
 * spec.rules, nothing else), a route owned by a tool left alone, an unchanged
 * one not written, and malformed ones refused with a message.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

#define N	4
#define UNKNOWN (-1.0)

struct wrow {
	const char *what;
	double spare[N];
	bool no_ready[N];
	size_t n;
	uint32_t want[N];
};

static const struct wrow wrows[] = {
	{"proportional, the largest at the scale: 1.5 and 0.5 cores",
	 {1.5, 0.5},
	 {0},
	 2,
	 {1000, 333}},
	{"rounded to the nearest: 2/3 of 1000 is 667", {3, 2}, {0}, 2, {1000, 667}},
	{"the scale does not depend on the unit: 0.003 and 0.001 cores",
	 {0.003, 0.001},
	 {0},
	 2,
	 {1000, 333}},
	{"equal spare cores: equal weights", {0.7, 0.7, 0.7}, {0}, 3, {1000, 1000, 1000}},
	{"a saturated Service with ready pods keeps the floor (5 %)", {2, 0}, {0}, 2, {1000, 50}},
	{"the floor also under a tiny share (0.01 of 4 cores)", {4, 0.01}, {0}, 2, {1000, 50}},
	{"just above the floor stays proportional (0.6 of 10: 60)", {10, 0.6}, {0}, 2, {1000, 60}},
	{"no ready pods: 0, the others as if it were not there",
	 {1, 0.5, 3},
	 {false, false, true},
	 3,
	 {1000, 500, 0}},
	{"unknown counts as the mean of the known (1 and 3: 2)",
	 {1, 3, UNKNOWN},
	 {0},
	 3,
	 {333, 1000, 667}},
	{"NaN is unknown as well", {2, NAN}, {0}, 2, {1000, 1000}},
	{"infinity is unknown as well", {1, INFINITY, 3}, {0}, 3, {333, 667, 1000}},
	{"all unknown: an even split", {UNKNOWN, UNKNOWN, UNKNOWN}, {0}, 3, {1000, 1000, 1000}},
	{"all saturated: an even split", {0, 0}, {0}, 2, {1000, 1000}},
	{"none ready: an even split (nothing to prefer)", {1, 2}, {true, true}, 2, {1000, 1000}},
	{"the one ready Service takes the scale, even unknown",
	 {UNKNOWN, 5},
	 {false, true},
	 2,
	 {1000, 0}},
	{"an unknown Service without ready pods is still 0",
	 {1, UNKNOWN},
	 {false, true},
	 2,
	 {1000, 0}},
	{"one Service alone", {0.25}, {0}, 1, {1000}},
};

static void test_weights(void)
{
	for (size_t r = 0; r < sizeof(wrows) / sizeof(wrows[0]); r++) {
		const struct wrow *w = &wrows[r];
		struct lb_route_backend b[N] = {{0}};

		for (size_t i = 0; i < w->n; i++) {
			b[i].service = "s";
			b[i].spare_cores = w->spare[i];
			b[i].no_ready = w->no_ready[i];
			b[i].weight = 12345;
		}
		lb_route_weights(b, w->n);
		for (size_t i = 0; i < w->n; i++)
			T_ASSERT(b[i].weight == w->want[i], "%s: [%zu] %u, want %u", w->what, i,
				 b[i].weight, w->want[i]);
	}
	lb_route_weights(NULL, 0); /* nothing to weigh */
	printf("t_lb_route: %zu weight rows: ok\n", sizeof(wrows) / sizeof(wrows[0]));
}

static void test_controllers(void)
{
	static const struct {
		const char *manager, *tool;
	} rows[] = {
		{"argocd-controller", "Argo CD"},
		{"argocd-application-controller", "Argo CD"},
		{"argocd-server", "Argo CD"},
		{"kustomize-controller", "Flux"},
		{"helm-controller", "Flux"},
		{"flux-client-side-apply", "Flux"},
		{"rollouts-controller", "Argo Rollouts"},
		{"argo-rollouts", "Argo Rollouts"},
		{"gatewayapi-plugin-linux-amd64", "Argo Rollouts"},
		{"argoproj-labs-gatewayAPI", "Argo Rollouts"},
		{"flagger", "Flagger"},
		{"kubectl", NULL},
		{"kubectl-create", NULL},
		{"kubectl-client-side-apply", NULL},
		{"kubectl-edit", NULL},
		{"helm", NULL},
		{"ferry-lb", NULL},
		{"flaggerx", NULL},
		{"argo", NULL},
		{"", NULL},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *got = lb_route_controller(rows[i].manager);

		T_ASSERT(rows[i].tool ? got && !strcmp(got, rows[i].tool) : !got, "%s: %s, want %s",
			 rows[i].manager, got ? got : "NULL", rows[i].tool ? rows[i].tool : "NULL");
	}
	T_ASSERT(!lb_route_controller(NULL));
	printf("t_lb_route: %zu field managers: ok\n", sizeof(rows) / sizeof(rows[0]));
}

static struct k8s_obj *parse(const char *json)
{
	struct k8s_obj *o;

	if (k8s_obj_parse(json, strlen(json), &o))
		t_error("not JSON: %s", json);
	return o;
}

/* a route "r" in ns "app" with @rules (JSON) and @mf (the managedFields JSON, or NULL) */
static struct k8s_obj *route(const char *rules, const char *mf)
{
	char buf[4096];

	snprintf(
		buf, sizeof(buf),
		"{\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"kind\":\"HTTPRoute\","
		"\"metadata\":{\"name\":\"r\",\"namespace\":\"app\",\"resourceVersion\":\"7\"%s%s},"
		"\"spec\":{\"parentRefs\":[{\"name\":\"gw\"}],\"hostnames\":[\"a.example\"]%s%s}}",
		mf ? ",\"managedFields\":" : "", mf ? mf : "", rules ? ",\"rules\":" : "",
		rules ? rules : "");
	return parse(buf);
}

/* an, bn: 1000 and 333 */
static struct lb_route_backend two[2] = {
	{.service = "an", .spare_cores = 1.5},
	{.service = "bn", .spare_cores = 0.5},
};

static bool forced; /* the last plan's force */

static int plan(const char *rules, const char *mf, struct k8s_obj **apply,
		struct lb_route_result *res)
{
	struct k8s_obj *r = route(rules, mf);
	int ret;

	lb_route_weights(two, 2);
	forced = true;
	ret = lb_route_plan(r, two, 2, apply, &forced, res);
	if (!*apply)
		T_ASSERT(!forced, "no plan, yet force");
	k8s_obj_free(r);
	if (ret == -EINVAL)
		T_ASSERT(*apply == NULL && res->msg[0] && !strcmp(res->reason, LB_ROUTE_INVALID),
			 "an -EINVAL without InvalidRoute and a message");
	return ret;
}

static int64_t weight_at(const struct k8s_obj *o, const char *path)
{
	int64_t w = -1;

	T_ASSERT(!k8s_obj_int(o, path, &w), "no integer at %s", path);
	return w;
}

static void test_plan(void)
{
	struct lb_route_result res;
	struct k8s_obj *apply;
	int64_t w;

	/* which backendRefs: Services of this namespace named in the list, nothing else */
	T_ASSERT_EQ(
		plan("[{\"matches\":[{\"path\":{\"type\":\"PathPrefix\",\"value\":\"/\"}}],"
		     "\"backendRefs\":["
		     "{\"name\":\"an\",\"port\":80},"
		     "{\"group\":\"\",\"kind\":\"Service\",\"name\":\"bn\",\"port\":80,\"weight\":1},"
		     "{\"group\":\"multicluster.x-k8s.io\",\"kind\":\"ServiceImport\",\"name\":\"an\",\"weight\":7},"
		     "{\"kind\":\"Service\",\"name\":\"other\",\"weight\":5},"
		     "{\"name\":\"an\",\"namespace\":\"elsewhere\",\"weight\":9},"
		     "{\"name\":\"bn\",\"namespace\":\"app\",\"weight\":2}]},"
		     "{\"backendRefs\":[{\"name\":\"an\",\"weight\":1000}]},"
		     "{\"filters\":[{\"type\":\"RequestRedirect\"}]}]",
		     NULL, &apply, &res),
		0);
	T_ASSERT(apply, "a plan to apply: %s", res.msg);
	T_ASSERT(!strcmp(k8s_obj_str(apply, "/apiVersion"), "gateway.networking.k8s.io/v1"));
	T_ASSERT(!strcmp(k8s_obj_str(apply, "/kind"), "HTTPRoute"));
	T_ASSERT(!strcmp(k8s_obj_get_name(apply), "r") && !strcmp(k8s_obj_get_ns(apply), "app"));
	/* only the identity and spec.rules: the author's fields stay the author's */
	T_ASSERT_EQ(k8s_obj_len(apply, "/spec"), 1);
	T_ASSERT_EQ(k8s_obj_len(apply, "/metadata"), 2);
	T_ASSERT(k8s_obj_type(apply, "/status") == K8S_T_ABSENT);
	T_ASSERT_EQ(k8s_obj_len(apply, "/spec/rules"), 3);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/0/weight"), 1000);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/1/weight"), 333);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/2/weight"), 7);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/3/weight"), 5);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/4/weight"), 9);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/5/weight"), 333);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/1/backendRefs/0/weight"), 1000);
	/* the rest of each rule as read */
	T_ASSERT(!strcmp(k8s_obj_str(apply, "/spec/rules/0/matches/0/path/value"), "/"));
	T_ASSERT(!strcmp(k8s_obj_str(apply, "/spec/rules/0/backendRefs/0/name"), "an"));
	T_ASSERT(k8s_obj_type(apply, "/spec/rules/0/backendRefs/0/kind") == K8S_T_ABSENT);
	T_ASSERT_EQ(k8s_obj_int(apply, "/spec/rules/0/backendRefs/1/port", &w), 0);
	T_ASSERT_EQ(w, 80);
	T_ASSERT(!strcmp(k8s_obj_str(apply, "/spec/rules/2/filters/0/type"), "RequestRedirect"));
	k8s_obj_free(apply);

	/* the weights there already: nothing to send, exported */
	T_ASSERT_EQ(plan("[{\"backendRefs\":[{\"name\":\"an\",\"weight\":1000},"
			 "{\"name\":\"bn\",\"weight\":333},{\"name\":\"x\"}]}]",
			 NULL, &apply, &res),
		    0);
	T_ASSERT(!apply && res.exported && !res.written && !strcmp(res.reason, LB_ROUTE_EXPORTED),
		 "%s", res.msg);

	/* an absent weight is 1 (the CRD's default), not the weight wanted */
	T_ASSERT_EQ(
		plan("[{\"backendRefs\":[{\"name\":\"an\",\"weight\":1000},{\"name\":\"bn\"}]}]",
		     NULL, &apply, &res),
		0);
	T_ASSERT(apply);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/1/weight"), 333);
	k8s_obj_free(apply);

	/* none of the Services named: nothing to send */
	T_ASSERT_EQ(
		plan("[{\"backendRefs\":[{\"name\":\"x\"},{\"kind\":\"ServiceImport\",\"name\":\"an\"}]}]",
		     NULL, &apply, &res),
		0);
	T_ASSERT(!apply && !res.exported && !strcmp(res.reason, LB_ROUTE_NO_BACKENDS), "%s",
		 res.msg);
	T_ASSERT_EQ(plan(NULL, NULL, &apply, &res), 0);
	T_ASSERT(!apply && !strcmp(res.reason, LB_ROUTE_NO_BACKENDS));
	T_ASSERT_EQ(plan("[]", NULL, &apply, &res), 0);
	T_ASSERT(!apply && !strcmp(res.reason, LB_ROUTE_NO_BACKENDS));
	T_ASSERT_EQ(plan("[{\"backendRefs\":null},{}]", NULL, &apply, &res), 0);
	T_ASSERT(!apply && !strcmp(res.reason, LB_ROUTE_NO_BACKENDS));
	printf("t_lb_route: backendRefs and the apply configuration: ok\n");
}

#define MF(manager, op, fields)                                                                    \
	"{\"manager\":\"" manager "\",\"operation\":\"" op                                         \
	"\",\"apiVersion\":\"gateway.networking.k8s.io/v1\",\"fieldsType\":\"FieldsV1\","          \
	"\"fieldsV1\":" fields "}"
#define F_RULES	  "{\"f:spec\":{\"f:rules\":{}}}"
#define F_PARENTS "{\"f:spec\":{\"f:parentRefs\":{},\"f:hostnames\":{}}}"

static void test_owners(void)
{
	static const char *rules = "[{\"backendRefs\":[{\"name\":\"an\"},{\"name\":\"bn\"}]}]";
	static const struct {
		const char *what, *mf, *owner; /* owner NULL: planned */
		bool force;
	} rows[] = {
		{"Argo CD's server-side apply owns the rules",
		 "[" MF("argocd-controller", "Apply", F_RULES) "]", "argocd-controller", false},
		{"Argo Rollouts updated the rules",
		 "[" MF("kubectl-create", "Update", F_PARENTS) "," MF("rollouts-controller",
								      "Update", F_RULES) "]",
		 "rollouts-controller", false},
		{"Flux owns the whole spec (an atomic map)",
		 "[" MF("kustomize-controller", "Apply", "{\"f:spec\":{}}") "]",
		 "kustomize-controller", false},
		{"Flagger owns one rule's field of a granular schema",
		 "[" MF("flagger", "Update",
			"{\"f:spec\":{\"f:rules\":{\"k:{\\\"name\\\":\\\"a\\\"}\":{\"f:backendRefs\":{}}}}}") "]",
		 "flagger", false},
		{"a tool beside kubectl's create: still the tool's",
		 "[" MF("kubectl-create", "Update", F_RULES) "," MF("argocd-controller", "Update",
								    F_RULES) "]",
		 "argocd-controller", false},
		{"Argo CD owns parentRefs only: the rules are free, nobody else's",
		 "[" MF("argocd-controller", "Apply", F_PARENTS) "," MF("ferry-lb", "Apply",
									F_RULES) "]",
		 NULL, false},
		{"kubectl create owns the rules: taken over (forced)",
		 "[" MF("kubectl-create", "Update",
			"{\"f:spec\":{\"f:rules\":{},\"f:parentRefs\":{}}}") "]",
		 NULL, true},
		{"kubectl edit and client-side apply beside ferry-lb: forced",
		 "[" MF("ferry-lb", "Apply", F_RULES) "," MF(
			 "kubectl-edit", "Update", F_RULES) "," MF("kubectl-client-side-apply",
								   "Update", F_RULES) "]",
		 NULL, true},
		{"kubectl's server-side apply (an Apply): not forced, the server answers 409",
		 "[" MF("kubectl", "Apply", F_RULES) "]", NULL, false},
		{"a kubectl-* name applying (an Apply): not forced",
		 "[" MF("kubectl-create", "Apply", F_RULES) "]", NULL, false},
		{"an unknown controller's Update beside kubectl's: not forced",
		 "[" MF("kubectl-create", "Update", F_RULES) "," MF("canary-operator", "Update",
								    F_RULES) "]",
		 NULL, false},
		{"ferry-lb alone: not forced", "[" MF("ferry-lb", "Apply", F_RULES) "]", NULL,
		 false},
		{"kubectl owns parentRefs only: not forced",
		 "[" MF("kubectl-create", "Update", F_PARENTS) "]", NULL, false},
		{"no managedFields", NULL, NULL, false},
		{"managedFields of the wrong shape",
		 "[1,{\"manager\":3},{\"manager\":\"flagger\",\"fieldsV1\":[]}]", NULL, false},
	};

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct lb_route_result res;
		struct k8s_obj *apply;

		T_ASSERT_EQ(plan(rules, rows[i].mf, &apply, &res), 0);
		if (!rows[i].owner) {
			T_ASSERT(apply, "%s: not planned: %s", rows[i].what, res.msg);
			T_ASSERT(forced == rows[i].force, "%s: force %d", rows[i].what, forced);
			k8s_obj_free(apply);
			continue;
		}
		T_ASSERT(!apply && !res.exported && !strcmp(res.reason, LB_ROUTE_OWNED_BY_OTHER) &&
				 strstr(res.msg, rows[i].owner),
			 "%s: %s: %s", rows[i].what, res.reason ? res.reason : "planned", res.msg);
	}
	printf("t_lb_route: %zu ownership rows: ok\n", sizeof(rows) / sizeof(rows[0]));
}

static void test_malformed(void)
{
	static const char *rules[] = {
		"{}",
		"\"rules\"",
		"7",
		"[1]",
		"[[]]",
		"[{\"backendRefs\":{}}]",
		"[{\"backendRefs\":\"an\"}]",
		"[{\"backendRefs\":[\"an\"]}]",
		"[{\"backendRefs\":[null]}]",
		"[{\"backendRefs\":[{\"name\":\"an\",\"weight\":\"1\"}]}]",
		"[{\"backendRefs\":[{\"name\":\"an\",\"weight\":1.5}]}]",
		"[{\"backendRefs\":[{\"name\":\"an\",\"weight\":-1}]}]",
		"[{\"backendRefs\":[{\"name\":\"an\",\"weight\":1000001}]}]",
		"[{\"backendRefs\":[{\"name\":\"x\",\"weight\":1e300}]}]",
		"[{\"backendRefs\":[{\"name\":\"an\"}]},{\"backendRefs\":[{\"weight\":true}]}]",
	};
	struct lb_route_result res;
	struct k8s_obj *apply, *r;

	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		T_ASSERT(plan(rules[i], NULL, &apply, &res) == -EINVAL, "%s: %s", rules[i],
			 res.reason ? res.reason : "planned");
	/* odd but valid: names and kinds of other types are not ours */
	T_ASSERT_EQ(plan("[{\"backendRefs\":[{\"name\":1},{\"name\":\"an\",\"kind\":3},"
			 "{\"name\":\"an\",\"group\":7},{\"name\":\"bn\",\"namespace\":[]}]}]",
			 NULL, &apply, &res),
		    0);
	T_ASSERT(!apply && !strcmp(res.reason, LB_ROUTE_NO_BACKENDS), "%s", res.msg);
	/* null is absent, as Go decodes it: weight 1, kind Service, group "", this namespace */
	T_ASSERT_EQ(plan("[{\"backendRefs\":[{\"name\":\"an\",\"weight\":null},"
			 "{\"name\":\"bn\",\"kind\":null,\"group\":null,\"namespace\":null}]}]",
			 NULL, &apply, &res),
		    0);
	T_ASSERT(apply);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/0/weight"), 1000);
	T_ASSERT_EQ(weight_at(apply, "/spec/rules/0/backendRefs/1/weight"), 333);
	k8s_obj_free(apply);
	/* no name */
	r = parse("{\"kind\":\"HTTPRoute\",\"spec\":{\"rules\":[]}}");
	T_ASSERT_EQ(lb_route_plan(r, two, 2, &apply, &forced, &res), -EINVAL);
	T_ASSERT(!apply && !strcmp(res.reason, LB_ROUTE_INVALID));
	k8s_obj_free(r);
	/* not an object at all */
	r = parse("[1,2]");
	T_ASSERT_EQ(lb_route_plan(r, two, 2, &apply, &forced, &res), -EINVAL);
	k8s_obj_free(r);
	printf("t_lb_route: %zu malformed routes: ok\n", sizeof(rules) / sizeof(rules[0]) + 2);
}

int main(void)
{
	test_weights();
	test_controllers();
	test_plan();
	test_owners();
	test_malformed();
	printf("t_lb_route: ok\n");
	return 0;
}
