// SPDX-License-Identifier: MIT
/*
 * control/lb/route.c - the HTTPRoute export of a LoadBalancePolicy (lb.h,
 * "HTTPRoute export"): each Service's spare cores turned into a weight, and
 * those weights written into a Gateway API HTTPRoute's backendRefs by
 * server-side apply under LB_FIELD_MANAGER, never forced. spec.rules is an
 * atomic list in Gateway API v1, so the apply carries the whole list as
 * read with only the weights changed, and whoever else owns it (a GitOps
 * tool, a progressive-delivery controller, the route's author) keeps it.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/types.h>

#include "k8s/k8s.h"
#include "lb.h"

static const struct k8s_resource httproutes =
	K8S_RESOURCE("gateway.networking.k8s.io", "v1", "httproutes", "HTTPRoute", true);

/* ------------------------------------------------------------ the weights */

static bool known(double spare)
{
	return isfinite(spare) && spare >= 0;
}

void lb_route_weights(struct lb_route_backend *b, size_t n)
{
	size_t ready = 0, nknown = 0;
	double sum = 0, mean, max = 0;

	for (size_t i = 0; i < n; i++) {
		if (b[i].no_ready)
			continue;
		ready++;
		if (known(b[i].spare_cores)) {
			nknown++;
			sum += b[i].spare_cores;
		}
	}
	mean = nknown ? sum / (double)nknown : 0;
	for (size_t i = 0; i < n; i++) {
		double s = known(b[i].spare_cores) ? b[i].spare_cores : mean;

		if (!b[i].no_ready && s > max)
			max = s;
	}
	for (size_t i = 0; i < n; i++) {
		double s = known(b[i].spare_cores) ? b[i].spare_cores : mean;
		double w, floor = LB_ROUTE_FLOOR * LB_ROUTE_SCALE;

		if (!ready) {
			/* nobody to send to either way: keep the split even */
			b[i].weight = LB_ROUTE_SCALE;
			continue;
		}
		if (b[i].no_ready) {
			b[i].weight = 0;
			continue;
		}
		if (!nknown || !(max > 0)) {
			/* nothing measured, or every Service saturated: no ground to prefer one */
			b[i].weight = LB_ROUTE_SCALE;
			continue;
		}
		w = round(LB_ROUTE_SCALE * s / max);
		if (w < floor)
			w = ceil(floor);
		if (w > LB_ROUTE_SCALE)
			w = LB_ROUTE_SCALE;
		b[i].weight = (uint32_t)w;
	}
}

/* ------------------------------------------------------------ who owns the rules */

const char *lb_route_controller(const char *m)
{
	static const struct {
		const char *name; /* exact, or a prefix when it ends in '*' */
		const char *tool;
	} known_managers[] = {
		{"argocd-controller", "Argo CD"},
		{"argocd-application-controller", "Argo CD"},
		{"argocd*", "Argo CD"},
		{"kustomize-controller", "Flux"},
		{"helm-controller", "Flux"},
		{"flux*", "Flux"},
		{"rollouts-controller", "Argo Rollouts"},
		{"argo-rollouts*", "Argo Rollouts"},
		{"flagger", "Flagger"},
	};

	if (!m)
		return NULL;
	for (size_t i = 0; i < sizeof(known_managers) / sizeof(known_managers[0]); i++) {
		const char *k = known_managers[i].name;
		size_t len = strlen(k);

		if (k[len - 1] == '*' ? !strncmp(m, k, len - 1) : !strcmp(m, k))
			return known_managers[i].tool;
	}
	/* the Gateway API plugin of Argo Rollouts gives no field manager: its binary's name */
	for (const char *p = m; *p; p++)
		if (!strncasecmp(p, "gatewayapi", 10))
			return "Argo Rollouts";
	return NULL;
}

struct owner {
	char manager[128];
	const char *tool;
};

/* k8s_manager_fn: the first manager of spec.rules that is a known controller */
static int find_controller(void *arg, const char *manager, const char *operation)
{
	struct owner *o = arg;
	const char *tool;

	(void)operation;
	if (!strcmp(manager, LB_FIELD_MANAGER) || !(tool = lb_route_controller(manager)))
		return 0;
	snprintf(o->manager, sizeof(o->manager), "%s", manager);
	o->tool = tool;
	return 1;
}

/*
 * k8s_manager_fn: the managers of spec.rules other than ferry-lb. kubectl's
 * own writes (kubectl create, edit, patch, replace, and client-side apply)
 * are Updates under "kubectl-<command>"; its server-side apply is "kubectl",
 * an Apply.
 */
struct others {
	size_t n, kubectl_updates;
	char first[128]; /* the first that is not a kubectl Update (else the first) */
};

static int scan_others(void *arg, const char *manager, const char *operation)
{
	struct others *o = arg;
	bool kubectl = !strncmp(manager, "kubectl-", 8) && !strcmp(operation, "Update");

	if (!strcmp(manager, LB_FIELD_MANAGER))
		return 0;
	if (!o->n || (!kubectl && o->n == o->kubectl_updates))
		snprintf(o->first, sizeof(o->first), "%s", manager);
	o->n++;
	o->kubectl_updates += kubectl;
	return 0;
}

/* ------------------------------------------------------------ the plan */

static void result(struct lb_route_result *res, bool exported, const char *reason, const char *fmt,
		   ...) __attribute__((format(printf, 4, 5)));

static void result(struct lb_route_result *res, bool exported, const char *reason, const char *fmt,
		   ...)
{
	va_list ap;

	res->exported = exported;
	res->reason = reason;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
}

/* the index in @b of the Service @ref names, or -1 */
static ssize_t service_of(const struct k8s_obj *ref, const char *ns,
			  const struct lb_route_backend *b, size_t n)
{
	const char *name = k8s_obj_str(ref, "/name");
	enum k8s_type tk = k8s_obj_type(ref, "/kind"), tg = k8s_obj_type(ref, "/group");
	enum k8s_type tn = k8s_obj_type(ref, "/namespace");

	/* absent (or null, as Go decodes it) is the CRD's default: kind Service, group "" */
	if (tk != K8S_T_ABSENT && tk != K8S_T_NULL &&
	    !(tk == K8S_T_STRING && !strcmp(k8s_obj_str(ref, "/kind"), "Service")))
		return -1;
	if (tg != K8S_T_ABSENT && tg != K8S_T_NULL &&
	    !(tg == K8S_T_STRING && !*k8s_obj_str(ref, "/group")))
		return -1;
	if (tn != K8S_T_ABSENT && tn != K8S_T_NULL &&
	    !(tn == K8S_T_STRING && ns && !strcmp(k8s_obj_str(ref, "/namespace"), ns)))
		return -1;
	if (!name)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (b[i].service && !strcmp(b[i].service, name))
			return (ssize_t)i;
	return -1;
}

int lb_route_plan(const struct k8s_obj *route, const struct lb_route_backend *b, size_t n,
		  struct k8s_obj **apply, bool *force, struct lb_route_result *res)
{
	struct others others = {0, 0, {0}};
	const char *name = k8s_obj_get_name(route), *ns = k8s_obj_get_ns(route);
	struct k8s_obj *rules = NULL, *out = NULL;
	size_t matched = 0, changed = 0, ri = 0;
	struct owner own = {{0}, NULL};
	enum k8s_type t;
	char path[64];
	int ret;

	*apply = NULL;
	*force = false;
	memset(res, 0, sizeof(*res));
	if (!name || !*name) {
		result(res, false, LB_ROUTE_INVALID, "the HTTPRoute has no metadata.name");
		return -EINVAL;
	}
	t = k8s_obj_type(route, "/spec/rules");
	if (t != K8S_T_ABSENT && t != K8S_T_NULL && t != K8S_T_ARRAY) {
		result(res, false, LB_ROUTE_INVALID, "httproute %.100s: spec.rules is not a list",
		       name);
		return -EINVAL;
	}
	if (k8s_obj_managers(route, "/spec/rules", find_controller, &own)) {
		result(res, false, LB_ROUTE_OWNED_BY_OTHER,
		       "httproute %.100s: field manager \"%.100s\" (%s) owns spec.rules, its weights with them: ferry writes none while it does",
		       name, own.manager, own.tool);
		return 0;
	}
	rules = t == K8S_T_ARRAY ? k8s_obj_dup(k8s_obj_at(route, "/spec/rules")) : NULL;
	if (t == K8S_T_ARRAY && !rules)
		return -ENOMEM;
	/* read the route, write the copy: @rules' values may move as weights are set */
	for (const struct k8s_obj *r = k8s_obj_first(k8s_obj_at(route, "/spec/rules")); r;
	     r = k8s_obj_next(r), ri++) {
		size_t bi = 0;

		if (k8s_obj_type(r, "") != K8S_T_OBJECT) {
			result(res, false, LB_ROUTE_INVALID,
			       "httproute %.100s: spec.rules[%zu] is not an object", name, ri);
			ret = -EINVAL;
			goto out_free;
		}
		t = k8s_obj_type(r, "/backendRefs");
		if (t != K8S_T_ABSENT && t != K8S_T_NULL && t != K8S_T_ARRAY) {
			result(res, false, LB_ROUTE_INVALID,
			       "httproute %.100s: spec.rules[%zu].backendRefs is not a list", name,
			       ri);
			ret = -EINVAL;
			goto out_free;
		}
		for (const struct k8s_obj *ref = k8s_obj_first(k8s_obj_at(r, "/backendRefs")); ref;
		     ref = k8s_obj_next(ref), bi++) {
			int64_t w = 1; /* the CRD's default */
			ssize_t i;

			if (k8s_obj_type(ref, "") != K8S_T_OBJECT) {
				result(res, false, LB_ROUTE_INVALID,
				       "httproute %.100s: spec.rules[%zu].backendRefs[%zu] is not an object",
				       name, ri, bi);
				ret = -EINVAL;
				goto out_free;
			}
			ret = k8s_obj_int(ref, "/weight", &w);
			if ((ret && ret != -ENOENT) || w < 0 || w > LB_ROUTE_WEIGHT_MAX) {
				result(res, false, LB_ROUTE_INVALID,
				       "httproute %.100s: spec.rules[%zu].backendRefs[%zu].weight is not an integer of 0..1000000",
				       name, ri, bi);
				ret = -EINVAL;
				goto out_free;
			}
			if (ret == -ENOENT)
				w = 1;
			i = service_of(ref, ns, b, n);
			if (i < 0)
				continue;
			matched++;
			if (ret == 0 && w == (int64_t)b[i].weight)
				continue;
			changed++;
			snprintf(path, sizeof(path), "/%zu/backendRefs/%zu/weight", ri, bi);
			ret = k8s_obj_set_int(rules, path, b[i].weight);
			if (ret)
				goto out_free;
		}
	}
	if (!matched) {
		result(res, false, LB_ROUTE_NO_BACKENDS,
		       "httproute %.100s: no backendRef names one of the %zu Service(s) (kind Service, group \"\", this namespace)",
		       name, n);
		ret = 0;
		goto out_free;
	}
	if (!changed) {
		result(res, true, LB_ROUTE_EXPORTED,
		       "httproute %.100s: %zu backendRef(s) carry the weights already; nothing written",
		       name, matched);
		ret = 0;
		goto out_free;
	}
	/* the apply configuration: the route's identity and spec.rules, nothing else */
	ret = k8s_obj_new_kind(&httproutes, ns, name, &out);
	if (ret)
		goto out_free;
	ret = k8s_obj_set(out, "/spec/rules", rules);
	if (ret)
		goto out_free;
	rules = NULL;
	/* only kubectl's one-off writes beside ferry's own: take the rules over */
	k8s_obj_managers(route, "/spec/rules", scan_others, &others);
	*force = others.n && others.n == others.kubectl_updates;
	*apply = out;
	return 0;
out_free:
	k8s_obj_free(out);
	k8s_obj_free(rules);
	return ret;
}

/* ------------------------------------------------------------ the export */

/* the first manager a 409 of server-side apply names: `conflict(s) with "NAME"` */
static bool conflict_manager(const char *msg, char *out, size_t size)
{
	const char *p = strstr(msg, "with \""), *q;

	if (!p)
		return false;
	p += 6;
	q = strchr(p, '"');
	if (!q || q == p)
		return false;
	snprintf(out, size, "%.*s", (int)(q - p), p);
	return true;
}

int lb_route_export(struct k8s_client *c, const char *ns, const char *route,
		    struct lb_route_backend *b, size_t n, struct lb_route_result *res,
		    struct k8s_err *err)
{
	struct k8s_obj *live = NULL, *apply = NULL;
	char manager[128];
	bool force;
	int ret;

	memset(res, 0, sizeof(*res));
	lb_route_weights(b, n);
	ret = k8s_get(c, &httproutes, ns, route, NULL, &live, err);
	if (ret == -ENOENT) {
		/* the route, or the HTTPRoute API itself (no Gateway API CRDs) */
		result(res, false, LB_ROUTE_NOT_FOUND, "httproute %.100s: %.140s", route, err->msg);
		return 0;
	}
	if (ret)
		goto out_failed;
	ret = lb_route_plan(live, b, n, &apply, &force, res);
	if (ret == -EINVAL)
		ret = 0; /* @res says InvalidRoute */
	if (ret)
		goto out_failed;
	if (!apply)
		goto out_free;
	ret = k8s_apply(c, &httproutes, ns, apply, LB_FIELD_MANAGER, force, NULL, NULL, err);
	if (ret == -EBUSY) {
		/*
		 * 409: another manager owns spec.rules (the atomic list) and the
		 * weights differ from what it set; the server's message names it
		 * ("conflict with \"NAME\" using ..."), else the route as read does.
		 */
		struct others others = {0, 0, {0}};

		if (!conflict_manager(err->msg, manager, sizeof(manager))) {
			k8s_obj_managers(live, "/spec/rules", scan_others, &others);
			snprintf(manager, sizeof(manager), "%s", others.n ? others.first : "?");
		}
		result(res, false, LB_ROUTE_OWNED_BY_OTHER,
		       "httproute %.100s: field manager \"%.100s\" owns spec.rules (an atomic list): ferry does not force it; hand them over to %s",
		       route, manager, LB_FIELD_MANAGER);
		ret = 0;
		goto out_free;
	}
	if (ret)
		goto out_failed;
	res->written = true;
	if (force)
		result(res, true, LB_ROUTE_EXPORTED,
		       "httproute %.100s: weights applied, spec.rules taken over from kubectl's own writes",
		       route);
	else
		result(res, true, LB_ROUTE_EXPORTED, "httproute %.100s: weights applied", route);
	goto out_free;
out_failed:
	result(res, false, LB_ROUTE_FAILED, "%.250s", err->msg);
out_free:
	k8s_obj_free(apply);
	k8s_obj_free(live);
	return ret;
}
