// SPDX-License-Identifier: MIT
/*
 * k8s/kind_node.c - Nodes (core/v1): readiness, schedulability, address,
 * zone and allocatable resources, for placement and per-node limits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_nodes = K8S_RESOURCE("", "v1", "nodes", "Node", false);

int k8s_node_view(const struct k8s_obj *o, struct k8s_node *n)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = k8s_meta_view(o, &n->meta);
	if (ret)
		return ret;
	n->ready = kview_condition(o, "Ready", NULL);
	k8s_obj_bool(o, "/spec/unschedulable", &n->unschedulable);
	for (const struct k8s_obj *a = k8s_obj_first(k8s_obj_at(o, "/status/addresses")); a;
	     a = k8s_obj_next(a)) {
		const char *t = k8s_obj_str(a, "/type");

		if (t && !strcmp(t, "InternalIP")) {
			n->internal_ip = k8s_obj_str(a, "/address");
			break;
		}
	}
	n->zone = k8s_obj_label(o, "topology.kubernetes.io/zone");
	n->alloc_cpu_m = kview_qty(o, "/status/allocatable/cpu", true);
	n->alloc_mem = kview_qty(o, "/status/allocatable/memory", false);
	n->alloc_pods = kview_qty(o, "/status/allocatable/pods", false);
	return 0;
}

/* ------------------------------------------------------------ the scheduler's predicates */

bool k8s_node_schedulable(const struct k8s_obj *node)
{
	struct k8s_node n;

	return !k8s_node_view(node, &n) && n.ready && !n.unschedulable;
}

static bool str_in(const struct k8s_obj *values, const char *v)
{
	for (const struct k8s_obj *e = k8s_obj_first(values); v && e; e = k8s_obj_next(e)) {
		const char *s = k8s_obj_str(e, "");

		if (s && !strcmp(s, v))
			return true;
	}
	return false;
}

static bool parse_int(const char *s, long long *out)
{
	char *end;

	if (!s || !s[0])
		return false;
	errno = 0;
	*out = strtoll(s, &end, 10);
	return !errno && !*end;
}

/* one matchExpression (or matchFields entry) against the value @v of its key (NULL: absent) */
static bool expr_holds(const struct k8s_obj *e, const char *v)
{
	const char *op = k8s_obj_str(e, "/operator");
	const struct k8s_obj *values = k8s_obj_at(e, "/values");
	long long a, b;

	if (!op || !k8s_obj_str(e, "/key"))
		return false;
	if (!strcmp(op, "In"))
		return str_in(values, v);
	if (!strcmp(op, "NotIn"))
		return !str_in(values, v);
	if (!strcmp(op, "Exists"))
		return v != NULL;
	if (!strcmp(op, "DoesNotExist"))
		return v == NULL;
	if (strcmp(op, "Gt") && strcmp(op, "Lt"))
		return false;
	/* one value, both integers (the API server refuses other values) */
	if (k8s_obj_len(e, "/values") != 1 || !parse_int(v, &a) ||
	    !parse_int(k8s_obj_str(e, "/values/0"), &b))
		return false;
	return !strcmp(op, "Gt") ? a > b : a < b;
}

/* a nodeSelectorTerm: at least one requirement, all of them hold */
static bool term_holds(const struct k8s_obj *t, const struct k8s_obj *node)
{
	const struct k8s_obj *ex = k8s_obj_at(t, "/matchExpressions");
	const struct k8s_obj *fi = k8s_obj_at(t, "/matchFields");

	if (!k8s_obj_len(ex, "") && !k8s_obj_len(fi, ""))
		return false;
	for (const struct k8s_obj *e = k8s_obj_first(ex); e; e = k8s_obj_next(e))
		if (!expr_holds(e, k8s_obj_label(node, k8s_obj_str(e, "/key"))))
			return false;
	for (const struct k8s_obj *e = k8s_obj_first(fi); e; e = k8s_obj_next(e)) {
		const char *key = k8s_obj_str(e, "/key");

		/* metadata.name is the one field the scheduler supports */
		if (!key || strcmp(key, "metadata.name") || !expr_holds(e, k8s_obj_get_name(node)))
			return false;
	}
	return true;
}

bool k8s_node_matches(const struct k8s_obj *spec, const struct k8s_obj *node)
{
	const struct k8s_obj *req = k8s_obj_at(
		spec, "/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution");

	for (const struct k8s_obj *m = k8s_obj_first(k8s_obj_at(spec, "/nodeSelector")); m;
	     m = k8s_obj_next(m)) {
		const char *want = k8s_obj_str(m, ""), *got = k8s_obj_label(node, k8s_obj_name(m));

		if (!want || !got || strcmp(want, got))
			return false;
	}
	if (!req || k8s_obj_type(req, "") == K8S_T_NULL)
		return true;
	for (const struct k8s_obj *t = k8s_obj_first(k8s_obj_at(req, "/nodeSelectorTerms")); t;
	     t = k8s_obj_next(t))
		if (term_holds(t, node))
			return true;
	return false;
}

static bool tolerates(const struct k8s_obj *tol, const struct k8s_obj *taint)
{
	const char *tk = k8s_obj_str(taint, "/key"), *tv = k8s_obj_str(taint, "/value");
	const char *te = k8s_obj_str(taint, "/effect");
	const char *k = k8s_obj_str(tol, "/key"), *op = k8s_obj_str(tol, "/operator");
	const char *v = k8s_obj_str(tol, "/value"), *e = k8s_obj_str(tol, "/effect");

	if (e && e[0] && (!te || strcmp(e, te)))
		return false;
	if (op && !strcmp(op, "Exists"))
		return !k || !k[0] || (tk && !strcmp(k, tk));
	if (op && op[0] && strcmp(op, "Equal"))
		return false;
	return k && tk && !strcmp(k, tk) && !strcmp(v ? v : "", tv ? tv : "");
}

bool k8s_node_tolerates(const struct k8s_obj *spec, const struct k8s_obj *node)
{
	for (const struct k8s_obj *t = k8s_obj_first(k8s_obj_at(node, "/spec/taints")); t;
	     t = k8s_obj_next(t)) {
		const char *eff = k8s_obj_str(t, "/effect");
		bool ok = false;

		if (!eff || (strcmp(eff, "NoSchedule") && strcmp(eff, "NoExecute")))
			continue;
		for (const struct k8s_obj *tol = k8s_obj_first(k8s_obj_at(spec, "/tolerations"));
		     tol && !ok; tol = k8s_obj_next(tol))
			ok = tolerates(tol, t);
		if (!ok)
			return false;
	}
	return true;
}

bool k8s_node_in_topologies(const struct k8s_obj *cls, const struct k8s_obj *node)
{
	const struct k8s_obj *at = k8s_obj_at(cls, "/allowedTopologies");

	if (!k8s_obj_len(at, ""))
		return true;
	for (const struct k8s_obj *t = k8s_obj_first(at); t; t = k8s_obj_next(t)) {
		bool all = true;

		for (const struct k8s_obj *e =
			     k8s_obj_first(k8s_obj_at(t, "/matchLabelExpressions"));
		     e && all; e = k8s_obj_next(e))
			all = str_in(k8s_obj_at(e, "/values"),
				     k8s_obj_label(node, k8s_obj_str(e, "/key")));
		if (all)
			return true;
	}
	return false;
}
