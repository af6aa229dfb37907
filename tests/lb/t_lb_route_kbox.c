// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb_route_kbox.c - the HTTPRoute export (lb_route_export())
 * against an API server: the box (tests/kbox) or the cluster
 * FERRY_TEST_KUBECONFIG names. The HTTPRoute CRD is tests/lb/
 * crd-httproutes.yaml (Gateway API v1, trimmed; a cluster with Gateway API
 * keeps its own). Everything happens in a namespace of its own, deleted at
 * the end.
 *
 * What it checks, against server-side apply's rules for atomic lists and
 * DESIGN.md "Ownership":
 *   - a missing route: RouteNotFound, nothing written;
 *   - a route kubectl created (its spec.rules kubectl-create's Update): spare
 *     cores 1.5 and 0.5 give weights 1000 and 333 on the two Service
 *     backendRefs, a ServiceImport and an unlisted Service keep theirs;
 *     ferry-lb alone owns spec.rules, kubectl-create still owns parentRefs and
 *     hostnames; the same export again writes nothing (resourceVersion
 *     unchanged); new values are written;
 *   - kubectl edit of a match: kept, and its weights replaced at the next
 *     export;
 *   - rules applied by argocd-controller or updated by rollouts-controller:
 *     OwnedByOther before any write (the GET alone);
 *   - rules applied by kubectl --server-side, or updated by a controller
 *     ferry does not know: the unforced apply meets the server's 409, and
 *     OwnedByOther names the manager from its answer, the route untouched;
 *     handed over as control/lb/README.md says (a weight changed with
 *     kubectl patch, then spec.rules dropped from the applied manifest), the
 *     export takes the rules and they stay when the manifest is applied again;
 *   - argocd-controller owning parentRefs and hostnames only: exported;
 *   - no backendRef naming the Services: NoBackendRefs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"
#include "k8st.h"
#include "t_helpers.h"

static const struct k8s_resource crds =
	K8S_RESOURCE("apiextensions.k8s.io", "v1", "customresourcedefinitions",
		     "CustomResourceDefinition", false);
static const struct k8s_resource routes =
	K8S_RESOURCE("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true);

static struct k8s_client *c;
static char *ns;

static struct k8s_obj *yaml(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct k8s_obj *yaml(const char *fmt, ...)
{
	struct k8s_obj *o;
	struct k8s_err err;
	va_list ap;
	char *y;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&y, fmt, ap);
	va_end(ap);
	if (len < 0)
		t_error("out of memory");
	if (k8s_obj_parse_yaml(y, (size_t)len, &o, &err))
		t_error("test YAML: %s: %s", err.msg, y);
	free(y);
	return o;
}

static void install_crd(void)
{
	const char *src = getenv("FERRY_SRC");
	char path[512], *buf;
	struct k8s_items *l;
	struct k8s_obj *crd;
	struct k8s_err err;
	FILE *f;
	long len;
	int ret;

	snprintf(path, sizeof(path), "%s/tests/lb/crd-httproutes.yaml", src ? src : ".");
	f = fopen(path, "r");
	if (!f)
		t_error("%s: cannot open (FERRY_SRC)", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		t_error("%s: cannot read", path);
	fclose(f);
	if (k8s_obj_parse_yaml(buf, (size_t)len, &crd, &err))
		t_fail("%s: %s", path, err.msg);
	free(buf);
	ret = k8s_create(c, &crds, NULL, crd, NULL, NULL, &err);
	if (ret && ret != -EEXIST)
		t_fail("create the HTTPRoute CRD: %s", err.msg);
	k8s_obj_free(crd);
	for (int i = 0; i < 100; i++) {
		if (!k8s_list(c, &routes, ns, NULL, &l, &err)) {
			k8s_items_free(l);
			return;
		}
		k8st_sleep_ms(100);
	}
	t_fail("httproutes not served 10 s after the CRD was created: %s", err.msg);
}

static struct k8s_obj *get(const char *name)
{
	struct k8s_obj *o;
	struct k8s_err err;

	if (k8s_get(c, &routes, ns, name, NULL, &o, &err))
		t_fail("get httproute %s: %s", name, err.msg);
	return o;
}

static char *rv_of(const char *name)
{
	struct k8s_obj *o = get(name);
	char *rv = strdup(k8s_obj_get_rv(o));

	k8s_obj_free(o);
	return rv;
}

static int64_t weight(const struct k8s_obj *o, int rule, int ref)
{
	char path[64];
	int64_t w = -1;

	snprintf(path, sizeof(path), "/spec/rules/%d/backendRefs/%d/weight", rule, ref);
	T_ASSERT(!k8s_obj_int(o, path, &w), "no weight at %s", path);
	return w;
}

/* the managers of @path, "name/Operation" joined by spaces */
struct managers {
	char s[512];
};

static int collect(void *arg, const char *manager, const char *op)
{
	struct managers *m = arg;
	size_t len = strlen(m->s);

	snprintf(m->s + len, sizeof(m->s) - len, "%s%s/%s", len ? " " : "", manager, op);
	return 0;
}

static void expect_managers(const char *name, const char *path, const char *want)
{
	struct k8s_obj *o = get(name);
	struct managers m = {{0}};

	k8s_obj_managers(o, path, collect, &m);
	T_ASSERT(!strcmp(m.s, want), "%s %s: managers \"%s\", want \"%s\"", name, path, m.s, want);
	k8s_obj_free(o);
}

/* Services a and b with @sa and @sb spare cores, exported into @route */
static void export(const char *route, double sa, double sb, struct lb_route_result *res,
		   uint32_t *wa, uint32_t *wb)
{
	struct lb_route_backend b[2] = {
		{.service = "svc-a", .spare_cores = sa},
		{.service = "svc-b", .spare_cores = sb},
	};
	struct k8s_err err;
	int ret = lb_route_export(c, ns, route, b, 2, res, &err);

	T_ASSERT(!ret, "export into %s: %d %s", route, ret, err.msg);
	T_ASSERT(res->reason && res->msg[0], "export into %s: no reason", route);
	if (wa)
		*wa = b[0].weight;
	if (wb)
		*wb = b[1].weight;
}

static void expect(const struct lb_route_result *res, bool exported, bool written,
		   const char *reason, const char *in_msg)
{
	T_ASSERT(res->exported == exported && res->written == written &&
			 !strcmp(res->reason, reason) && (!in_msg || strstr(res->msg, in_msg)),
		 "got %s exported %d written %d \"%s\"; want %s exported %d written %d, \"%s\"",
		 res->reason, res->exported, res->written, res->msg, reason, exported, written,
		 in_msg ? in_msg : "");
}

/* a route of two Service backendRefs (no weights), a ServiceImport (7) and an unlisted Service (5) */
#define SPLIT_RULES                                                                                \
	"  rules:\n"                                                                               \
	"  - matches: [{path: {type: PathPrefix, value: /}}]\n"                                    \
	"    backendRefs:\n"                                                                       \
	"    - {name: svc-a, port: 80}\n"                                                          \
	"    - {name: svc-b, port: 80}\n"                                                          \
	"    - {group: multicluster.x-k8s.io, kind: ServiceImport, name: svc-a, port: 80, "        \
	"weight: 7}\n"                                                                             \
	"    - {name: other, port: 80, weight: 5}\n"

static struct k8s_obj *route_yaml(const char *name, const char *spec)
{
	return yaml("apiVersion: gateway.networking.k8s.io/v1\nkind: HTTPRoute\n"
		    "metadata: {name: %s, namespace: %s}\n"
		    "spec:\n%s",
		    name, ns, spec);
}

static void create_as(const char *manager, struct k8s_obj *o)
{
	struct k8s_call call = {.field_manager = manager};
	struct k8s_err err;

	if (k8s_create(c, &routes, ns, o, &call, NULL, &err))
		t_fail("create httproute %s as %s: %s", k8s_obj_get_name(o), manager, err.msg);
	k8s_obj_free(o);
}

static void apply_as(const char *manager, bool force, struct k8s_obj *o)
{
	struct k8s_err err;

	if (k8s_apply(c, &routes, ns, o, manager, force, NULL, NULL, &err))
		t_fail("apply httproute %s as %s: %s", k8s_obj_get_name(o), manager, err.msg);
	k8s_obj_free(o);
}

/* a merge patch of spec.rules by @manager (an Update, as kubectl edit or a controller's) */
static void update_rules_as(const char *manager, const char *name, const char *rules_yaml)
{
	struct k8s_call call = {.field_manager = manager};
	struct k8s_obj *p = yaml("spec:\n%s", rules_yaml);
	struct k8s_err err;

	if (k8s_patch(c, &routes, ns, name, K8S_PATCH_MERGE, p, &call, NULL, &err))
		t_fail("patch httproute %s as %s: %s", name, manager, err.msg);
	k8s_obj_free(p);
}

/*
 * The README's hand-over: one weight changed with kubectl patch (a JSON patch
 * under kubectl-patch, an Update: every other owner of the atomic rules loses
 * them), which the next export takes over from.
 */
static void hand_over(const char *name)
{
	struct k8s_call call = {.field_manager = "kubectl-patch"};
	struct k8s_obj *ops, *v;
	struct k8s_err err;

	T_ASSERT(!k8s_obj_new_array(&ops) && !k8s_obj_parse("2", 1, &v));
	T_ASSERT(!k8s_jsonpatch_add(ops, "replace", "/spec/rules/0/backendRefs/0/weight", NULL, v));
	if (k8s_patch(c, &routes, ns, name, K8S_PATCH_JSON, ops, &call, NULL, &err))
		t_fail("patch httproute %s: %s", name, err.msg);
	k8s_obj_free(v);
	k8s_obj_free(ops);
}

static void test_not_found(void)
{
	struct lb_route_result res;
	uint32_t wa, wb;

	export("absent", 1.5, 0.5, &res, &wa, &wb);
	expect(&res, false, false, LB_ROUTE_NOT_FOUND, "absent");
	T_ASSERT(wa == 1000 && wb == 333, "the weights are computed all the same: %u %u", wa, wb);
	printf("t_lb_route_kbox: a missing route: ok\n");
}

static void test_split(void)
{
	struct lb_route_result res;
	char *rv1, *rv2;
	struct k8s_obj *o;
	uint32_t wa, wb;

	create_as("kubectl-create",
		  route_yaml("split", "  parentRefs: [{name: gw}]\n"
				      "  hostnames: [split.example]\n" SPLIT_RULES));
	expect_managers("split", "/spec/rules", "kubectl-create/Update");
	export("split", 1.5, 0.5, &res, &wa, &wb);
	expect(&res, true, true, LB_ROUTE_EXPORTED, "taken over");
	T_ASSERT(wa == 1000 && wb == 333, "%u %u", wa, wb);
	o = get("split");
	T_ASSERT_EQ(weight(o, 0, 0), 1000);
	T_ASSERT_EQ(weight(o, 0, 1), 333);
	T_ASSERT_EQ(weight(o, 0, 2), 7); /* a ServiceImport of the same name */
	T_ASSERT_EQ(weight(o, 0, 3), 5); /* a Service not in the list */
	T_ASSERT(!strcmp(k8s_obj_str(o, "/spec/rules/0/matches/0/path/value"), "/"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/spec/parentRefs/0/name"), "gw"));
	T_ASSERT(!strcmp(k8s_obj_str(o, "/spec/hostnames/0"), "split.example"));
	rv1 = strdup(k8s_obj_get_rv(o));
	k8s_obj_free(o);
	expect_managers("split", "/spec/rules", LB_FIELD_MANAGER "/Apply");
	expect_managers("split", "/spec/parentRefs", "kubectl-create/Update");
	expect_managers("split", "/spec/hostnames", "kubectl-create/Update");

	/* the same values again: nothing written */
	export("split", 1.5, 0.5, &res, NULL, NULL);
	expect(&res, true, false, LB_ROUTE_EXPORTED, "nothing written");
	rv2 = rv_of("split");
	T_ASSERT(!strcmp(rv1, rv2), "an unchanged export wrote: %s -> %s", rv1, rv2);
	free(rv2);

	/* new values: written, not forced (ferry-lb's own) */
	export("split", 0.5, 1.5, &res, NULL, NULL);
	expect(&res, true, true, LB_ROUTE_EXPORTED, "weights applied");
	T_ASSERT(!strstr(res.msg, "taken over"), "%s", res.msg);
	o = get("split");
	T_ASSERT_EQ(weight(o, 0, 0), 333);
	T_ASSERT_EQ(weight(o, 0, 1), 1000);
	T_ASSERT(strcmp(k8s_obj_get_rv(o), rv1), "a changed export wrote nothing");
	k8s_obj_free(o);
	free(rv1);
	printf("t_lb_route_kbox: a route kubectl created: exported, ferry-lb owns the rules alone, unchanged not written: ok\n");

	/* kubectl edit of a match: the list is kubectl-edit's; kept, weights replaced */
	update_rules_as("kubectl-edit", "split",
			"  rules:\n"
			"  - matches: [{path: {type: PathPrefix, value: /v2}}]\n"
			"    backendRefs:\n"
			"    - {name: svc-a, port: 80, weight: 10}\n"
			"    - {name: svc-b, port: 80, weight: 10}\n");
	expect_managers("split", "/spec/rules", "kubectl-edit/Update");
	export("split", 1.5, 0.5, &res, NULL, NULL);
	expect(&res, true, true, LB_ROUTE_EXPORTED, "taken over");
	o = get("split");
	T_ASSERT(!strcmp(k8s_obj_str(o, "/spec/rules/0/matches/0/path/value"), "/v2"));
	T_ASSERT_EQ(k8s_obj_len(o, "/spec/rules/0/backendRefs"), 2);
	T_ASSERT_EQ(weight(o, 0, 0), 1000);
	T_ASSERT_EQ(weight(o, 0, 1), 333);
	k8s_obj_free(o);
	expect_managers("split", "/spec/rules", LB_FIELD_MANAGER "/Apply");
	printf("t_lb_route_kbox: kubectl edit of a match kept, its weights replaced: ok\n");
}

/* an export into @route refused by the server (409), naming @manager; the route untouched */
static void expect_conflict(const char *route, const char *manager)
{
	struct k8s_client_stats before, after;
	struct lb_route_result res;
	char *rv0 = rv_of(route), *rv1;

	k8s_client_stats(c, &before);
	export(route, 1.5, 0.5, &res, NULL, NULL);
	k8s_client_stats(c, &after);
	expect(&res, false, false, LB_ROUTE_OWNED_BY_OTHER, manager);
	T_ASSERT(after.requests - before.requests == 2,
		 "%s: %llu requests, want the GET and the apply", route,
		 (unsigned long long)(after.requests - before.requests));
	rv1 = rv_of(route);
	T_ASSERT(!strcmp(rv0, rv1), "%s changed", route);
	free(rv0);
	free(rv1);
}

/* an export into @route that sends nothing but the GET, refused naming @manager */
static void expect_left_alone(const char *route, const char *manager)
{
	struct k8s_client_stats before, after;
	struct lb_route_result res;
	char *rv0 = rv_of(route), *rv1;

	k8s_client_stats(c, &before);
	export(route, 1.5, 0.5, &res, NULL, NULL);
	k8s_client_stats(c, &after);
	expect(&res, false, false, LB_ROUTE_OWNED_BY_OTHER, manager);
	T_ASSERT(after.requests - before.requests == 1, "%s: %llu requests, want the GET alone",
		 route, (unsigned long long)(after.requests - before.requests));
	rv1 = rv_of(route);
	T_ASSERT(!strcmp(rv0, rv1), "%s changed", route);
	free(rv0);
	free(rv1);
}

static void test_tools(void)
{
	struct lb_route_result res;
	struct k8s_obj *o;

	/* Argo CD's server-side apply of the whole route */
	apply_as("argocd-controller", false,
		 route_yaml("gitops", "  parentRefs: [{name: gw}]\n" SPLIT_RULES));
	expect_left_alone("gitops", "\"argocd-controller\" (Argo CD)");

	/* Argo Rollouts' update of the rules of a route someone created */
	create_as("kubectl-create",
		  route_yaml("canary", "  parentRefs: [{name: gw}]\n" SPLIT_RULES));
	update_rules_as("rollouts-controller", "canary",
			"  rules:\n"
			"  - backendRefs:\n"
			"    - {name: svc-a, port: 80, weight: 90}\n"
			"    - {name: svc-b, port: 80, weight: 10}\n");
	expect_left_alone("canary", "\"rollouts-controller\" (Argo Rollouts)");
	printf("t_lb_route_kbox: rules of argocd-controller and rollouts-controller left alone, nothing sent: ok\n");

	/* kubectl apply --server-side: an Apply, not forced; the server's 409 names it */
	apply_as("kubectl", false,
		 route_yaml("declared", "  parentRefs: [{name: gw}]\n" SPLIT_RULES));
	expect_conflict("declared", "\"kubectl\"");
	/* handed over as the README says: a weight patched, then rules dropped from the manifest */
	hand_over("declared");
	expect_managers("declared", "/spec/rules", "kubectl-patch/Update");
	export("declared", 1.5, 0.5, &res, NULL, NULL);
	expect(&res, true, true, LB_ROUTE_EXPORTED, "taken over");
	apply_as("kubectl", false, route_yaml("declared", "  parentRefs: [{name: gw}]\n"));
	expect_managers("declared", "/spec/rules", LB_FIELD_MANAGER "/Apply");
	expect_managers("declared", "/spec/parentRefs", "kubectl/Apply");
	o = get("declared");
	T_ASSERT_EQ(weight(o, 0, 0), 1000);
	T_ASSERT_EQ(weight(o, 0, 1), 333);
	k8s_obj_free(o);
	/* a controller ferry does not know, updating the rules kubectl created */
	create_as("kubectl-create",
		  route_yaml("custom", "  parentRefs: [{name: gw}]\n" SPLIT_RULES));
	update_rules_as("canary-operator", "custom",
			"  rules:\n"
			"  - backendRefs:\n"
			"    - {name: svc-a, port: 80, weight: 80}\n"
			"    - {name: svc-b, port: 80, weight: 20}\n");
	expect_conflict("custom", "\"canary-operator\"");
	printf("t_lb_route_kbox: kubectl --server-side and an unknown controller: the server's 409, named; handed over, exported: ok\n");

	/* Argo CD owns the parentRefs and hostnames only: the rules can be ferry's */
	apply_as("argocd-controller", false,
		 route_yaml("parents", "  parentRefs: [{name: gw}]\n  hostnames: [p.example]\n"));
	apply_as(LB_FIELD_MANAGER, false, route_yaml("parents", SPLIT_RULES));
	export("parents", 1.5, 0.5, &res, NULL, NULL);
	expect(&res, true, true, LB_ROUTE_EXPORTED, NULL);
	o = get("parents");
	T_ASSERT_EQ(weight(o, 0, 0), 1000);
	T_ASSERT_EQ(weight(o, 0, 1), 333);
	k8s_obj_free(o);
	expect_managers("parents", "/spec/parentRefs", "argocd-controller/Apply");
	expect_managers("parents", "/spec/rules", LB_FIELD_MANAGER "/Apply");
	printf("t_lb_route_kbox: argocd-controller's parentRefs beside ferry-lb's rules: ok\n");

	/* no backendRef names the Services */
	create_as(
		"kubectl-create",
		route_yaml("elsewhere", "  rules:\n  - backendRefs: [{name: svc-c, port: 80}]\n"));
	export("elsewhere", 1.5, 0.5, &res, NULL, NULL);
	expect(&res, false, false, LB_ROUTE_NO_BACKENDS, "no backendRef");
	printf("t_lb_route_kbox: no backendRef of the Services: ok\n");
}

int main(void)
{
	c = k8st_client(NULL, NULL);
	ns = k8st_ns(c, "lbroute");
	install_crd();
	test_not_found();
	test_split();
	test_tools();
	k8st_ns_delete(c, ns);
	free(ns);
	k8s_client_free(c);
	printf("t_lb_route_kbox: ok\n");
	return 0;
}
