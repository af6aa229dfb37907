// SPDX-License-Identifier: MIT
/*
 * control/lb/reconcile.c - the LoadBalancePolicy reconciler of `ferry
 * controller` (lb.h, lb_reconciler). One pass over a policy:
 *
 *   1. decode the spec (lb_policy_parse(); InvalidSpec, not retried: the
 *      next spec comes through the watch);
 *   2. GET the Service (ServiceNotFound) and list its EndpointSlices (label
 *      kubernetes.io/service-name): the backends are their endpoints, one
 *      per address, because the agents balance exactly those addresses (the
 *      slices are what lb_plan_build() reads), and the status is keyed by
 *      address; a Service's selector alone would miss Services whose slices
 *      are written by hand and count pods the slices do not list yet. Each
 *      endpoint's targetRef names its Pod: the pods are listed once by the
 *      Service's selector, and a pod that list lacks (a Service without a
 *      selector) is listed alone by its name (the right to list pods, no
 *      right to get them);
 *   3. for each pod, its requests, limits and readiness (k8s_pod_view())
 *      and the process's feed (control/signals, shared with the autoscaler):
 *      CPU, run-queue p99 and CFS throttling, each the mean of the points of
 *      the last update period, weighted by the time each covers;
 *   4. lb_weights() against the weights the status publishes (by address);
 *   5. write the status (a merge patch of the status subresource, field
 *      manager LB_FIELD_MANAGER) when the weights changed, the backends'
 *      addresses did, nothing was published yet, or the spec's generation
 *      moved, and never twice within spec.updatePeriodSeconds: per-second
 *      values never reach the API server;
 *   6. with spec.httpRoute, the Services' spare cores to lb_route_export(),
 *      its outcome in status.services and the RouteExported condition;
 *   7. ask to run again one period later (nothing else is watched: a
 *      period's delay is what the weights allow anyway).
 * The runtime writes the Ready condition from what the pass returns:
 * Published (True), or False with InvalidSpec, ServiceNotFound, NoBackends,
 * NoSignals, or the API server's reason.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "control/signals/signals.h"
#include "k8s/k8s.h"

#define MAX_BACKENDS 4096 /* a policy's Service; the agents' tables hold fewer */

/* one policy's memory between passes (k8s_statemap, by its key "namespace/name") */
struct lbr_entry {
	int64_t written_ns;  /* this process's last status write */
	int64_t exported_ns; /* ... and route export */
};

struct lbr_ctl {
	struct k8s_statemap *entries; /* struct lbr_entry */
	struct sig_feed *feed;
};

/* one backend: an address of the Service's slices */
struct lbr_backend {
	char address[64];
	const char *pod, *node, *uid; /* borrowed from the pass's objects, or NULL */
	struct lb_backend_obs obs;
	struct lb_weight_out out;
};

struct lbr_set {
	struct lbr_backend *b;
	size_t n;
	bool feed_silent; /* the feed answered -ENODATA: no agent in SIG_DEFAULT_STALE_MS */
	size_t measured;  /* backends with values */
	/* what the backends' strings point into */
	struct k8s_items *slices, *pods;
	struct k8s_obj **extra; /* pods read alone */
	size_t nextra;
};

/* k8s_state_new_fn of the entries */
static int entry_new(void **state)
{
	*state = calloc(1, sizeof(struct lbr_entry));
	return *state ? 0 : -ENOMEM;
}

static void set_fini(struct lbr_set *s)
{
	free(s->b);
	k8s_items_free(s->slices);
	k8s_items_free(s->pods);
	for (size_t i = 0; i < s->nextra; i++)
		k8s_obj_free(s->extra[i]);
	free(s->extra);
	memset(s, 0, sizeof(*s));
}

/*
 * The mean of pod @uid's value @kind over the points that end within the
 * last @window_ms, each weighted by the time it covers, in units (the
 * feed's milli-units / 1000). Return: 0; -ENOENT (no point in the window,
 * or the pod unknown to the feed); -ENODATA (the feed answers nothing).
 */
static int feed_mean(struct sig_feed *f, enum sig_kind kind, const char *uid, int64_t now_ms,
		     int64_t window_ms, double *out)
{
	const struct sig_point *pts;
	double sum = 0, dt = 0;
	size_t n = 0;
	int ret = sig_feed_points(f, kind, uid, &pts, &n);

	if (ret)
		return ret == -ENODATA ? -ENODATA : -ENOENT;
	for (size_t i = 0; i < n; i++) {
		if (pts[i].t < now_ms - window_ms || pts[i].dt <= 0)
			continue;
		sum += (double)pts[i].value * (double)pts[i].dt;
		dt += (double)pts[i].dt;
	}
	if (dt <= 0)
		return -ENOENT;
	*out = sum / dt / 1000.0;
	return 0;
}

/* a backend's requests, limits, readiness and the feed's values */
static void observe(struct lbr_ctl *c, const struct lb_policy *pol, struct lbr_set *s,
		    struct lbr_backend *b, const struct k8s_obj *pod, bool ready, int64_t now_ns)
{
	struct k8s_pod pv;
	int64_t now_ms = now_ns / 1000000, win = (int64_t)pol->update_period_s * 1000;
	double v;
	int cpu = -ENOENT, rq = -ENOENT;

	b->obs.ready = ready;
	b->obs.ready_for_s = 1e9; /* without a pod: no slow start to hold it to */
	if (!pod || k8s_pod_view(pod, &pv))
		return;
	b->uid = pv.meta.uid;
	b->pod = pv.meta.name;
	if (!b->node)
		b->node = pv.node_name;
	b->obs.cpu_request = (double)pv.cpu_request_m / 1000.0;
	b->obs.cpu_limit = (double)pv.cpu_limit_m / 1000.0;
	if (pv.ready && pv.ready_ns > 0)
		b->obs.ready_for_s =
			now_ns > pv.ready_ns ? (double)(now_ns - pv.ready_ns) / 1e9 : 0;
	if (!b->uid)
		return;
	if (pol->w.signals & (LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS)) {
		cpu = feed_mean(c->feed, SIG_CPU, b->uid, now_ms, win, &v);
		if (!cpu)
			b->obs.cpu_cores = v;
		if (!feed_mean(c->feed, SIG_THROTTLED, b->uid, now_ms, win, &v))
			b->obs.throttled_s = v;
	}
	if (pol->w.signals & LB_SIGNAL_RUNQ) {
		rq = feed_mean(c->feed, SIG_RUNQ_P99, b->uid, now_ms, win, &v);
		if (!rq)
			b->obs.runq_p99_s = v;
	}
	s->feed_silent |= cpu == -ENODATA || rq == -ENODATA;
	/* every signal the policy weighs by, measured */
	b->obs.has_signal =
		(!(pol->w.signals & (LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS)) || !cpu) &&
		(!(pol->w.signals & LB_SIGNAL_RUNQ) || !rq);
	s->measured += b->obs.has_signal;
}

static const struct k8s_obj *pod_in(const struct lbr_set *s, const char *name)
{
	for (size_t i = 0; s->pods && i < k8s_items_len(s->pods); i++) {
		const struct k8s_obj *p = k8s_items_at(s->pods, i);
		const char *n = k8s_obj_get_name(p);

		if (n && !strcmp(n, name))
			return p;
	}
	for (size_t i = 0; i < s->nextra; i++)
		if (!strcmp(k8s_obj_get_name(s->extra[i]), name))
			return s->extra[i];
	return NULL;
}

/*
 * A pod the Service's selector did not list (a Service without one, its
 * slices written by hand): a list of that name alone, so that the
 * controller needs no right to get pods beside its right to list them.
 * Return: 0 and *@out (NULL when there is none); the API server's errors.
 */
static int pod_alone(struct k8s_client *kc, const char *ns, const char *name, struct k8s_obj **out,
		     struct k8s_err *err)
{
	char fs[320];
	struct k8s_call call = {.field_selector = fs, .timeout_ms = 10000};
	struct k8s_items *l = NULL;
	int ret;

	*out = NULL;
	snprintf(fs, sizeof(fs), "metadata.name=%s", name);
	ret = k8s_list(kc, &k8s_pods, ns, &call, &l, err);
	if (!ret && k8s_items_len(l))
		*out = k8s_items_take(l, 0);
	k8s_items_free(l);
	return ret;
}

static int by_address(const void *a, const void *b)
{
	return strcmp(((const struct lbr_backend *)a)->address,
		      ((const struct lbr_backend *)b)->address);
}

/*
 * The backends of Service @ns/@svc: 0 and @s filled (s->n may be 0);
 * -ENOENT (no such Service: @err says so); the API server's errors.
 */
static int gather(struct lbr_ctl *c, struct k8s_client *kc, const char *ns, const char *svc,
		  const struct lb_policy *pol, struct lbr_set *s, struct k8s_err *err)
{
	struct k8s_call call = {.timeout_ms = 10000};
	struct k8s_obj *so = NULL;
	struct k8s_service sv;
	char sel[320], *podsel = NULL;
	int64_t now = k8s_now_ns();
	size_t cap = 0;
	int ret;

	memset(s, 0, sizeof(*s));
	ret = k8s_get(kc, &k8s_services, ns, svc, &call, &so, err);
	if (ret == -ENOENT)
		return k8s_err_set(err, -ENOENT, LB_REASON_SERVICE_NOT_FOUND,
				   "service %s/%s not found", ns, svc);
	if (ret)
		return ret;
	snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", svc);
	call.label_selector = sel;
	ret = k8s_list(kc, &k8s_endpointslices, ns, &call, &s->slices, err);
	if (ret)
		goto out;
	/* the Service's pods in one list, when it selects them */
	if (!k8s_service_view(so, &sv) && k8s_obj_len(sv.selector, "") &&
	    !k8s_selector_string(sv.selector, &podsel)) {
		call.label_selector = podsel;
		ret = k8s_list(kc, &k8s_pods, ns, &call, &s->pods, err);
		if (ret)
			goto out;
	}
	for (size_t i = 0; i < k8s_items_len(s->slices); i++) {
		struct k8s_endpointslice es;
		const struct k8s_obj *e;

		if (k8s_endpointslice_view(k8s_items_at(s->slices, i), &es) || !es.address_type ||
		    (strcmp(es.address_type, "IPv4") && strcmp(es.address_type, "IPv6")))
			continue;
		for (e = k8s_obj_first(es.endpoints); e; e = k8s_obj_next(e)) {
			struct k8s_endpoint ep;
			const struct k8s_obj *pod = NULL;
			const char *kind = k8s_obj_str(e, "/targetRef/kind");
			struct lbr_backend *b;
			bool dup = false;

			if (k8s_endpoint_view(e, &ep) || !ep.address || strlen(ep.address) >= 64)
				continue;
			for (size_t j = 0; j < s->n && !dup; j++)
				dup = !strcmp(s->b[j].address, ep.address);
			if (dup)
				continue;
			if (s->n == MAX_BACKENDS) {
				ret = k8s_err_set(err, -E2BIG, "TooManyBackends",
						  "service %s/%s: more than %d endpoints", ns, svc,
						  MAX_BACKENDS);
				goto out;
			}
			if (s->n == cap) {
				void *nb =
					realloc(s->b, (cap = cap ? 2 * cap : 16) * sizeof(*s->b));

				if (!nb) {
					ret = k8s_err_set(err, -ENOMEM, "",
							  "service %s/%s: out of memory", ns, svc);
					goto out;
				}
				s->b = nb;
			}
			if (ep.pod && (!kind || !strcmp(kind, "Pod"))) {
				pod = pod_in(s, ep.pod);
				if (!pod) {
					struct k8s_obj *p = NULL, **nx;

					ret = pod_alone(kc, ns, ep.pod, &p, err);
					if (ret)
						goto out;
					nx = p ? realloc(s->extra, (s->nextra + 1) * sizeof(*nx))
					       : NULL;
					if (p && !nx) {
						k8s_obj_free(p);
						ret = k8s_err_set(err, -ENOMEM, "",
								  "out of memory");
						goto out;
					}
					if (p) {
						s->extra = nx;
						s->extra[s->nextra++] = p;
						pod = p;
					}
				}
			}
			b = &s->b[s->n++];
			memset(b, 0, sizeof(*b));
			snprintf(b->address, sizeof(b->address), "%s", ep.address);
			b->node = ep.node_name;
			b->pod = ep.pod;
			observe(c, pol, s, b, pod, ep.ready, now);
		}
	}
	if (s->n)
		qsort(s->b, s->n, sizeof(*s->b), by_address);
out:
	free(podsel);
	k8s_obj_free(so);
	return ret;
}

/* the weight status.backends publishes for @address; 0: none */
static uint32_t published(const struct k8s_obj *policy, const char *address, bool *listed)
{
	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(policy, "/status/backends")); e;
	     e = k8s_obj_next(e)) {
		const char *a = k8s_obj_str(e, "/address");
		int64_t w = 0;

		if (!a || strcmp(a, address))
			continue;
		*listed = true;
		if (k8s_obj_int(e, "/weight", &w) || w < 0 || w > LB_WEIGHT_SCALE_MAX)
			return 0;
		return (uint32_t)w;
	}
	return 0;
}

/* 3 decimals: a share and a score, stable in the status for identical values */
static double round3(double v)
{
	return round(v * 1000.0) / 1000.0;
}

/* status.backends as the CRD has it */
static int backends_json(const struct lbr_set *s, struct k8s_obj **out)
{
	struct k8s_obj *arr = NULL;
	double sum = 0;
	int ret = k8s_obj_new_array(&arr);

	for (size_t i = 0; i < s->n; i++)
		sum += s->b[i].out.weight;
	for (size_t i = 0; !ret && i < s->n; i++) {
		const struct lbr_backend *b = &s->b[i];
		struct k8s_obj *e = NULL;

		ret = k8s_obj_new(&e);
		if (!ret && b->pod)
			ret = k8s_obj_set_str(e, "/pod", b->pod);
		if (!ret)
			ret = k8s_obj_set_str(e, "/address", b->address);
		if (!ret && b->node)
			ret = k8s_obj_set_str(e, "/node", b->node);
		if (!ret)
			ret = k8s_obj_set_bool(e, "/ready", b->obs.ready);
		if (!ret)
			ret = k8s_obj_set_int(e, "/weight", b->out.weight);
		if (!ret)
			ret = k8s_obj_set_num(e, "/share",
					      sum > 0 ? round3(b->out.weight / sum) : 0);
		if (!ret)
			ret = k8s_obj_set_num(e, "/score", round3(b->out.score));
		if (!ret)
			ret = k8s_obj_set_str(e, "/reason", b->out.why);
		if (!ret)
			ret = k8s_obj_set(arr, "/-", e);
		if (ret)
			k8s_obj_free(e);
	}
	if (ret) {
		k8s_obj_free(arr);
		arr = NULL;
	}
	*out = arr;
	return ret;
}

/* spare cores of a set's ready, measured pods; < 0 when none is measured */
static double spare_cores(const struct lb_policy *pol, const struct lbr_set *s)
{
	double spare = 0;
	size_t n = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct lbr_backend *b = &s->b[i];

		if (!b->obs.ready || !b->obs.has_signal || !b->uid)
			continue;
		spare += fmax(0, lb_capacity(&pol->w, &b->obs) - b->obs.cpu_cores);
		n++;
	}
	return n ? spare : -1;
}

/* whether a set has a ready backend (lb_route_backend.no_ready) */
static bool set_has_ready(const struct lbr_set *s)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->b[i].obs.ready)
			return true;
	return false;
}

struct route_cond {
	struct k8s_condition c;
};

static int route_cond_mutate(void *arg, struct k8s_obj *obj)
{
	struct route_cond *rc = arg;
	int ret = k8s_condition_set(obj, &rc->c, k8s_now_ns());

	return ret == K8S_UNCHANGED ? K8S_UNCHANGED : ret;
}

/*
 * The route export: each listed Service's spare cores to lb_route_export();
 * @services set to status.services; the RouteExported condition written
 * when it changed. A Service that cannot be read exports as unknown (< 0).
 */
static int export_route(struct lbr_ctl *c, const struct k8s_reconcile_req *req,
			const struct lb_policy *pol, const struct lbr_set *own,
			struct k8s_obj **services)
{
	struct lb_route_backend rb[LB_MAX_ROUTE_SERVICES];
	struct lb_route_result res = {0};
	struct route_cond rc = {.c = {.type = LB_CONDITION_ROUTE}};
	struct k8s_call call = {.subresource = "status", .field_manager = LB_FIELD_MANAGER};
	struct k8s_obj *arr = NULL, *probe;
	struct k8s_err err;
	char msg[sizeof(res.msg)];
	int ret;

	for (size_t i = 0; i < pol->n_services; i++) {
		struct lbr_set s;

		rb[i] = (struct lb_route_backend){.service = pol->services[i], .spare_cores = -1};
		if (!strcmp(pol->services[i], pol->service)) {
			rb[i].spare_cores = spare_cores(pol, own);
			rb[i].no_ready = !set_has_ready(own);
			continue;
		}
		if (!gather(c, req->client, req->ns, pol->services[i], pol, &s, &err)) {
			rb[i].spare_cores = spare_cores(pol, &s);
			rb[i].no_ready = !set_has_ready(&s);
		}
		set_fini(&s);
	}
	ret = lb_route_export(req->client, req->ns, pol->route, rb, pol->n_services, &res, &err);
	if (ret) {
		rc.c.status = "False";
		rc.c.reason = k8s_condition_reason_valid(err.reason) ? err.reason : "ExportFailed";
		snprintf(msg, sizeof(msg), "%s", err.msg[0] ? err.msg : strerror(-ret));
	} else {
		rc.c.status = res.exported ? "True" : "False";
		rc.c.reason = res.reason && k8s_condition_reason_valid(res.reason) ? res.reason
			      : res.exported					   ? "Exported"
										   : "NotExported";
		snprintf(msg, sizeof(msg), "%s", res.msg);
	}
	rc.c.message = msg;
	k8s_obj_int(req->obj, "/metadata/generation", &rc.c.observed_generation);
	ret = k8s_obj_new_array(&arr);
	for (size_t i = 0; !ret && i < pol->n_services; i++) {
		struct k8s_obj *e = NULL;

		ret = k8s_obj_new(&e);
		if (!ret)
			ret = k8s_obj_set_str(e, "/name", rb[i].service);
		if (!ret)
			ret = k8s_obj_set_int(e, "/weight", rb[i].weight);
		if (!ret && rb[i].spare_cores >= 0)
			ret = k8s_obj_set_num(e, "/spareCores", round3(rb[i].spare_cores));
		if (!ret)
			ret = k8s_obj_set(arr, "/-", e);
		if (ret)
			k8s_obj_free(e);
	}
	if (ret) {
		k8s_obj_free(arr);
		return ret;
	}
	*services = arr;
	/* the condition, when the cached copy says it changed */
	probe = k8s_obj_dup(req->obj);
	ret = probe ? k8s_condition_set(probe, &rc.c, k8s_now_ns()) : -ENOMEM;
	k8s_obj_free(probe);
	if (ret == K8S_UNCHANGED)
		return 0;
	if (ret)
		return ret;
	ret = k8s_update_retry(req->client, &lb_policies, req->ns, req->name, &call,
			       route_cond_mutate, &rc, NULL, &err);
	return ret == -ENOENT ? 0 : ret;
}

/* whether the addresses of @s are those status.backends lists */
static bool same_addresses(const struct k8s_obj *policy, const struct lbr_set *s)
{
	if (k8s_obj_len(policy, "/status/backends") != s->n)
		return false;
	for (size_t i = 0; i < s->n; i++) {
		bool listed = false;

		published(policy, s->b[i].address, &listed);
		if (!listed)
			return false;
	}
	return true;
}

static int lbr_setup(struct k8s_client *client, const char *own_ns, void **state,
		     struct k8s_err *err)
{
	struct lbr_ctl *c = calloc(1, sizeof(*c));
	int ret;

	*state = NULL;
	if (!c)
		return -ENOMEM;
	ret = k8s_statemap_new(entry_new, free, &c->entries);
	if (ret)
		goto out_free;
	/* the process's one feed: the autoscaler's, if it started it first */
	ret = sig_feed_controller_get(client, own_ns, &c->feed, err);
	if (ret)
		goto out_free_entries;
	*state = c;
	return 0;
out_free_entries:
	k8s_statemap_free(c->entries);
out_free:
	free(c);
	return ret;
}

static void lbr_teardown(void *state)
{
	struct lbr_ctl *c = state;

	if (!c)
		return;
	sig_feed_shared_put(c->feed);
	k8s_statemap_free(c->entries);
	free(c);
}

static int lbr_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			 struct k8s_err *err)
{
	static _Thread_local char msg[320];
	static _Thread_local struct lb_policy pol;
	struct lbr_ctl *c = req->state;
	struct k8s_call call = {.subresource = "status", .field_manager = LB_FIELD_MANAGER};
	struct k8s_obj *patch = NULL, *arr = NULL, *services = NULL;
	struct lbr_set s = {0};
	struct lbr_entry *e;
	void *st;
	struct lb_err lerr;
	struct lb_backend_obs *obs = NULL;
	struct lb_weight_out *out = NULL;
	const char *t;
	int64_t gen = 0, seen = -1, now = k8s_now_ns(), last = 0, period;
	bool changed = false, want;
	size_t ready = 0;
	char ts[K8S_TIME_SIZE];
	int ret;

	assert(c);
	if (!req->obj) { /* deleted: forget it */
		k8s_statemap_drop(c->entries, req->key);
		return 0;
	}
	if (k8s_statemap_at(c->entries, req->key, &st))
		return k8s_err_set(err, -ENOMEM, "", "loadbalancepolicy %s: out of memory",
				   req->key);
	e = st;
	if (lb_policy_parse(req->obj, &pol, &lerr)) {
		snprintf(msg, sizeof(msg), "%s", lerr.msg);
		res->failed = true;
		res->reason = LB_REASON_INVALID_SPEC;
		res->message = msg;
		return 0; /* the next spec comes through the watch */
	}
	period = (int64_t)pol.update_period_s * 1000000000;
	res->requeue_after_ms = pol.update_period_s * 1000;
	ret = gather(c, req->client, req->ns, pol.service, &pol, &s, err);
	if (ret == -ENOENT) {
		snprintf(msg, sizeof(msg), "%s", err->msg);
		res->failed = true;
		res->reason = LB_REASON_SERVICE_NOT_FOUND;
		res->message = msg;
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	obs = calloc(s.n ? s.n : 1, sizeof(*obs));
	out = calloc(s.n ? s.n : 1, sizeof(*out));
	if (!obs || !out) {
		ret = k8s_err_set(err, -ENOMEM, "", "loadbalancepolicy %s: out of memory",
				  req->key);
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		bool listed = false;

		s.b[i].obs.prev_weight = published(req->obj, s.b[i].address, &listed);
		obs[i] = s.b[i].obs;
	}
	ret = lb_weights(&pol.w, obs, s.n, out, &changed);
	if (ret) {
		ret = k8s_err_set(err, ret, LB_REASON_INVALID_SPEC, "loadbalancepolicy %s: %s",
				  req->key, strerror(-ret));
		goto out;
	}
	for (size_t i = 0; i < s.n; i++) {
		s.b[i].out = out[i];
		ready += s.b[i].obs.ready;
	}

	/* the route, at most once a period too */
	if (pol.route[0] &&
	    (!e->exported_ns || now - e->exported_ns >= period || now < e->exported_ns)) {
		ret = export_route(c, req, &pol, &s, &services);
		if (ret) {
			ret = k8s_err_set(err, ret, "",
					  "loadbalancepolicy %s: the route's status: %s", req->key,
					  strerror(-ret));
			goto out;
		}
		e->exported_ns = now;
	}

	/* publish: on news, not within a period of the last publication */
	k8s_obj_int(req->obj, "/metadata/generation", &gen);
	k8s_obj_int(req->obj, "/status/observedGeneration", &seen);
	t = k8s_obj_str(req->obj, "/status/lastUpdateTime");
	if (!t || k8s_time_parse(t, &last))
		last = 0;
	if (e->written_ns > last)
		last = e->written_ns; /* the cache may not show this process's last write yet */
	want = !t || gen != seen || changed || !same_addresses(req->obj, &s) ||
	       (services && !k8s_obj_equal(services, k8s_obj_at(req->obj, "/status/services")));
	if (want && last && now >= last && now - last < period) {
		/* again when the period is over */
		res->requeue_after_ms = (unsigned int)((period - (now - last)) / 1000000) + 1;
		want = false;
	}
	if (want) {
		ret = backends_json(&s, &arr);
		if (!ret)
			ret = k8s_obj_new(&patch);
		if (!ret)
			ret = k8s_obj_set(patch, "/status/backends", arr);
		if (!ret) {
			arr = NULL;
			k8s_time_format(now, false, ts);
			ret = k8s_obj_set_str(patch, "/status/lastUpdateTime", ts);
		}
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/readyBackends", (int64_t)ready);
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/observedGeneration", gen);
		if (!ret && services) {
			ret = k8s_obj_set(patch, "/status/services", services);
			if (!ret)
				services = NULL;
		} else if (!ret && !pol.route[0] &&
			   k8s_obj_type(req->obj, "/status/services") != K8S_T_ABSENT) {
			ret = k8s_obj_set_null(patch, "/status/services");
		}
		if (ret) {
			ret = k8s_err_set(err, ret, "", "loadbalancepolicy %s: out of memory",
					  req->key);
			goto out;
		}
		ret = k8s_patch(req->client, &lb_policies, req->ns, req->name, K8S_PATCH_MERGE,
				patch, &call, NULL, err);
		if (ret)
			goto out;
		e->written_ns = now;
	}
	if (!s.n) {
		res->failed = true;
		res->reason = LB_REASON_NO_BACKENDS;
		snprintf(msg, sizeof(msg), "service %s/%s: its EndpointSlices list no endpoint",
			 req->ns, pol.service);
	} else if (!s.measured) {
		res->failed = true;
		res->reason = LB_REASON_NO_SIGNALS;
		snprintf(
			msg, sizeof(msg),
			"%zu backends, %zu ready: %s, so the weights stay as published (equal at first)",
			s.n, ready,
			s.feed_silent ? "no agent answered the per-pod feed in 5 s"
				      : "the agents report none of these pods");
	} else {
		res->reason = LB_REASON_PUBLISHED;
		snprintf(
			msg, sizeof(msg),
			"%zu backends, %zu ready, %zu measured: weights in status.backends, every %u s at most",
			s.n, ready, s.measured, pol.update_period_s);
	}
	res->message = msg;
out:
	k8s_obj_free(patch);
	k8s_obj_free(arr);
	k8s_obj_free(services);
	free(obs);
	free(out);
	set_fini(&s);
	return ret;
}

static const struct k8s_watch lbr_watches[] = {
	{.resource = &lb_policies, .map = K8S_MAP_SELF},
};

const struct k8s_reconciler lb_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "lb",
	.watches = lbr_watches,
	.nwatches = sizeof(lbr_watches) / sizeof(lbr_watches[0]),
	.workers = 2,
	.condition = "Ready",
	.setup = lbr_setup,
	.teardown = lbr_teardown,
	.reconcile = lbr_reconcile,
};
