// SPDX-License-Identifier: MIT
/*
 * control/autoscale/reconcile.c - one pass of the autoscaler over one
 * ScalePolicy (autoscale.h, as_reconcile()): what upstream's
 * reconcileAutoscaler does around computeReplicasForMetrics, with ferry's
 * rules of ownership (DESIGN.md "Ownership"): the target's resource from
 * discovery and its scale subresource, the pods of status.selector, each
 * pod's signals from the feed through as_sustain(), as_decide(), the write
 * to /scale by server-side apply, the status and the Events.
 *
 * Requests per pass: GET target, GET target/scale, LIST pods by selector,
 * the apply when it rescales and the status patch when it changed; a
 * discovery GET when the target changes, a LIST of HPAs every
 * hpa_period_ms. An informer-fed variant (the runtime's caches) can replace
 * the reads later without changing the decisions.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscale.h"
#include "k8s/k8s.h"

#define DEFAULT_PERIOD_MS	 1000
#define DEFAULT_STATUS_PERIOD_MS 15000
#define DEFAULT_HPA_PERIOD_MS	 15000

static const struct k8s_resource hpas = K8S_RESOURCE(
	"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true);

struct as_state {
	struct as_history hist;
	char uid[64];
	char target[400]; /* "apiVersion kind name": what the history is about */
	/* the target's resource, as discovery serves it */
	bool resolved;
	char group[128], version[64], plural[128];
	struct k8s_resource res;
	int64_t status_ms;  /* when the status was written (0: never) */
	int64_t hpa_ms;	    /* when HPAs were listed (0: never) */
	char hpa[256];	    /* the HPA that scales the target, "" if none */
	const char *warned; /* the reason of the last Warning event (static), NULL */
	int32_t shadow_from, shadow_to;
};

int as_state_new(struct as_state **out)
{
	struct as_state *st = calloc(1, sizeof(*st));

	*out = st;
	if (!st)
		return -ENOMEM;
	as_history_init(&st->hist);
	st->shadow_to = -1;
	return 0;
}

void as_state_free(struct as_state *st)
{
	if (!st)
		return;
	as_history_fini(&st->hist);
	free(st);
}

/* forget everything about the target: a new ScalePolicy, or a new target */
static void state_reset(struct as_state *st)
{
	as_history_fini(&st->hist);
	as_history_init(&st->hist);
	st->resolved = false;
	st->hpa_ms = 0;
	st->hpa[0] = '\0';
	st->shadow_from = 0;
	st->shadow_to = -1;
}

/* a k8s_err of ours (the client fills it for its own calls) */
static int __attribute__((format(printf, 3, 4)))
fail(struct k8s_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	memset(err, 0, sizeof(*err));
	err->code = code;
	err->exit = K8S_EXIT_FAILURE;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

static void __attribute__((format(printf, 4, 5)))
cond(struct as_condition *c, bool status, const char *reason, const char *fmt, ...)
{
	va_list ap;

	c->set = true;
	c->status = status;
	c->reason = reason;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
	/* one line, whatever it quotes (an annotation's value, the server's words) */
	for (char *p = c->message; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

static void sum_up(struct as_outcome *out, const struct as_condition *c)
{
	out->reason = c->reason;
	snprintf(out->message, sizeof(out->message), "%s", c->message);
}

/* Events: best effort, as the HPA's recorder; a Warning only when its reason changes */
static void __attribute__((format(printf, 6, 7)))
event(const struct as_env *env, struct as_state *st, const struct k8s_obj *sp, bool warning,
      const char *reason, const char *fmt, ...)
{
	struct k8s_event ev = {.regarding = sp,
			       .type = warning ? "Warning" : "Normal",
			       .reason = reason,
			       .action = "Scale",
			       .controller =
				       env->controller ? env->controller : "ferry.io/controller",
			       .instance = env->instance ? env->instance : "ferry-controller"};
	struct k8s_err err;
	char note[512];
	va_list ap;

	if (warning) {
		if (st->warned == reason)
			return;
		st->warned = reason;
	}
	if (env->no_events)
		return;
	va_start(ap, fmt);
	vsnprintf(note, sizeof(note), fmt, ap);
	va_end(ap);
	ev.note = note;
	k8s_event_emit(env->client, &ev, &err);
}

/* ---- the target ---- */

/*
 * The resource of @spec's target from discovery (upstream's RESTMapper),
 * and that it has a scale subresource. Return: 0; 1 when the outcome is a
 * FailedGetScale condition; -errno (the API server could not answer).
 */
static int resolve(const struct as_env *env, struct as_state *st, const struct as_spec *spec,
		   struct as_outcome *out, struct k8s_err *err)
{
	const char *slash = strchr(spec->api_version, '/');
	const struct k8s_obj *r;
	struct k8s_obj *list = NULL;
	char path[320], scale[160];
	bool found = false, namespaced = false, has_scale = false;
	int ret;

	if (st->resolved)
		return 0;
	if (slash) {
		snprintf(st->group, sizeof(st->group), "%.*s", (int)(slash - spec->api_version),
			 spec->api_version);
		snprintf(st->version, sizeof(st->version), "%s", slash + 1);
		snprintf(path, sizeof(path), "/apis/%s/%s", st->group, st->version);
	} else {
		st->group[0] = '\0';
		snprintf(st->version, sizeof(st->version), "%s",
			 *spec->api_version ? spec->api_version : "v1");
		snprintf(path, sizeof(path), "/api/%s", st->version);
	}
	if (!st->version[0] || strchr(st->version, '/') || strchr(st->group, '?') ||
	    strchr(st->version, '?')) {
		cond(&out->dec.able_to_scale, false, AS_REASON_FAILED_GET_SCALE,
		     "the HPA controller was unable to get the target's current scale: scaleTargetRef.apiVersion \"%.80s\" is not GROUP/VERSION",
		     spec->api_version);
		return 1;
	}
	ret = k8s_request(env->client, "GET", path, NULL, &list, err);
	if (ret == -ENOENT) {
		cond(&out->dec.able_to_scale, false, AS_REASON_FAILED_GET_SCALE,
		     "the HPA controller was unable to get the target's current scale: the server does not serve %s",
		     *spec->api_version ? spec->api_version : "v1");
		return 1;
	}
	if (ret)
		return ret;
	for (r = k8s_obj_first(k8s_obj_at(list, "/resources")); r && !found; r = k8s_obj_next(r)) {
		const char *name = k8s_obj_str(r, "/name"), *kind = k8s_obj_str(r, "/kind");

		if (name && kind && !strchr(name, '/') && !strcmp(kind, spec->kind)) {
			found = true;
			snprintf(st->plural, sizeof(st->plural), "%s", name);
			k8s_obj_bool(r, "/namespaced", &namespaced);
		}
	}
	snprintf(scale, sizeof(scale), "%s/scale", st->plural);
	for (r = k8s_obj_first(k8s_obj_at(list, "/resources")); r && found; r = k8s_obj_next(r)) {
		const char *name = k8s_obj_str(r, "/name");

		if (name && !strcmp(name, scale))
			has_scale = true;
	}
	k8s_obj_free(list);
	if (!found) {
		cond(&out->dec.able_to_scale, false, AS_REASON_FAILED_GET_SCALE,
		     "the HPA controller was unable to get the target's current scale: no kind \"%.60s\" is served by %.80s",
		     spec->kind, *spec->api_version ? spec->api_version : "v1");
		return 1;
	}
	if (!has_scale || !namespaced) {
		cond(&out->dec.able_to_scale, false, AS_REASON_FAILED_GET_SCALE,
		     "the HPA controller was unable to get the target's current scale: %s %.60s has no scale subresource",
		     namespaced ? "kind" : "cluster-scoped kind", spec->kind);
		return 1;
	}
	st->res = (struct k8s_resource)K8S_RESOURCE(st->group, st->version, st->plural, spec->kind,
						    true);
	st->resolved = true;
	return 0;
}

/*
 * An HPA in @ns that scales the target: the HPA controller would fight
 * ferry over it. Listed at most every hpa_period_ms.
 */
static int find_hpa(const struct as_env *env, struct as_state *st, const struct as_spec *spec,
		    const char *ns, int64_t now, struct k8s_err *err)
{
	unsigned int period = env->hpa_period_ms ? env->hpa_period_ms : DEFAULT_HPA_PERIOD_MS;
	struct k8s_items *l;
	int ret;

	if (st->hpa_ms && now - st->hpa_ms < period && now >= st->hpa_ms)
		return 0;
	ret = k8s_list(env->client, &hpas, ns, NULL, &l, err);
	if (ret == -ENOENT) { /* autoscaling/v2 not served: no HPA */
		ret = 0;
		l = NULL;
	}
	if (ret)
		return ret;
	st->hpa[0] = '\0';
	for (size_t i = 0; l && i < k8s_items_len(l); i++) {
		const struct k8s_obj *h = k8s_items_at(l, i);
		const char *k = k8s_obj_str(h, "/spec/scaleTargetRef/kind");
		const char *n = k8s_obj_str(h, "/spec/scaleTargetRef/name");
		const char *av = k8s_obj_str(h, "/spec/scaleTargetRef/apiVersion");
		const char *hs = av ? strchr(av, '/') : NULL;
		size_t glen = hs ? (size_t)(hs - av) : 0;

		/* the same group (any version) and kind, and the same name */
		if (!k || !n || strcmp(k, spec->kind) || strcmp(n, spec->name) ||
		    glen != strlen(st->group) || (glen && strncmp(av, st->group, glen)))
			continue;
		snprintf(st->hpa, sizeof(st->hpa), "%s", k8s_obj_get_name(h));
		break;
	}
	k8s_items_free(l);
	st->hpa_ms = now ? now : 1;
	return 0;
}

struct owners {
	const char *self;
	char applied[128]; /* an Apply manager other than ours */
	int others;
};

static int count_owner(void *arg, const char *manager, const char *operation)
{
	struct owners *o = arg;

	if (!strcmp(manager, o->self))
		return 0;
	o->others++;
	if (!strcmp(operation, "Apply") && !o->applied[0])
		snprintf(o->applied, sizeof(o->applied), "%s", manager);
	return 0;
}

/* ---- the pods and their signals ---- */

static int64_t time_ms(const struct k8s_obj *o, const char *path, int64_t absent)
{
	const char *s = k8s_obj_str(o, path);
	int64_t ns;

	if (!s || k8s_time_parse(s, &ns))
		return absent;
	return ns / 1000000;
}

static void pod_of(const struct k8s_obj *p, struct as_pod *out)
{
	static const char *const phases[] = {[AS_PHASE_RUNNING] = "Running",
					     [AS_PHASE_PENDING] = "Pending",
					     [AS_PHASE_SUCCEEDED] = "Succeeded",
					     [AS_PHASE_FAILED] = "Failed",
					     [AS_PHASE_UNKNOWN] = "Unknown"};
	const char *phase = k8s_obj_str(p, "/status/phase");

	memset(out, 0, sizeof(*out));
	out->phase = AS_PHASE_UNKNOWN;
	for (int i = 0; phase && i < 5; i++)
		if (!strcmp(phase, phases[i]))
			out->phase = (enum as_phase)i;
	out->deleting = k8s_obj_type(p, "/metadata/deletionTimestamp") == K8S_T_STRING;
	out->ready = AS_READY_NONE;
	for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(p, "/status/conditions")); c;
	     c = k8s_obj_next(c)) {
		const char *t = k8s_obj_str(c, "/type"), *s = k8s_obj_str(c, "/status");

		if (!t || strcmp(t, "Ready"))
			continue;
		out->ready = s && !strcmp(s, "True")	? AS_READY_TRUE
			     : s && !strcmp(s, "False") ? AS_READY_FALSE
							: AS_READY_UNKNOWN;
		out->ready_since = time_ms(c, "/lastTransitionTime", 0);
		break;
	}
	out->start_time = time_ms(p, "/status/startTime", AS_NO_TIME);
}

/*
 * calculateRequests(): the request for @res of the pod's containers and
 * restartable init containers (sidecars), or of the one named @container;
 * a container without one makes the pod's request missing.
 */
static void request_of(const struct k8s_obj *p, enum as_resource res, const char *container,
		       struct as_sample *s)
{
	const char *key = res == AS_RES_CPU ? "cpu" : "memory";
	const char *lists[] = {"/spec/containers", "/spec/initContainers"};

	s->has_request = true;
	s->request = 0;
	for (int l = 0; l < 2; l++) {
		for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(p, lists[l])); c;
		     c = k8s_obj_next(c)) {
			const struct k8s_obj *rq = k8s_obj_at(c, "/resources/requests");
			const char *name = k8s_obj_str(c, "/name"), *rp, *q;
			int64_t m;

			rp = k8s_obj_str(c, "/restartPolicy");
			if (l == 1 && (!rp || strcmp(rp, "Always")))
				continue;
			if (container && (!name || strcmp(name, container)))
				continue;
			q = k8s_obj_str(k8s_obj_key(rq, key), "");
			if (!q || k8s_quantity_parse(q, &m) ||
			    __builtin_add_overflow(s->request, m, &s->request)) {
				s->has_request = false;
				return;
			}
		}
	}
}

/* ---- the pass ---- */

struct pass {
	const struct as_env *env;
	struct as_state *st;
	const struct k8s_obj *sp;
	struct as_spec spec;
	bool decoded;
	const char *ns, *name;
	int64_t now;
	struct as_outcome *out;
};

/*
 * The status, written when anything but currentMetrics changed, or when
 * currentMetrics did and status_period_ms passed since the last write.
 */
static int write_status(struct pass *ps, struct k8s_err *err)
{
	const struct as_env *env = ps->env;
	unsigned int period =
		env->status_period_ms ? env->status_period_ms : DEFAULT_STATUS_PERIOD_MS;
	struct k8s_call call = {.subresource = "status",
				.field_manager =
					env->field_manager ? env->field_manager : AS_FIELD_MANAGER};
	const struct k8s_obj *old = k8s_obj_at(ps->sp, "/status"), *st;
	bool other = false, metrics = false;
	struct k8s_obj *patch;
	int ret;

	ret = as_status_patch(ps->sp, ps->decoded ? &ps->spec : NULL, ps->out, ps->now, &patch);
	if (ret)
		return fail(err, ret, "status of scalepolicy %s/%s: out of memory", ps->ns,
			    ps->name);
	st = k8s_obj_at(patch, "/status");
	for (const struct k8s_obj *m = k8s_obj_first(st); m; m = k8s_obj_next(m)) {
		const char *key = k8s_obj_name(m);

		if (k8s_obj_equal(m, k8s_obj_key(old, key)))
			continue;
		if (!strcmp(key, "currentMetrics"))
			metrics = true;
		else
			other = true;
	}
	if (other || (metrics && (!ps->st->status_ms || ps->now - ps->st->status_ms >= period ||
				  ps->now < ps->st->status_ms))) {
		ret = k8s_patch(env->client, &as_scalepolicies, ps->ns, ps->name, K8S_PATCH_MERGE,
				patch, &call, NULL, err);
		if (!ret) {
			ps->st->status_ms = ps->now ? ps->now : 1;
			ps->out->status_written = true;
		}
	}
	k8s_obj_free(patch);
	return ret;
}

/*
 * A pass that ends on condition @c: write the status, and a Warning Event
 * (reason @c->reason, note @note or @c->message) when @warning and it is
 * news. Return: 0 or the status write's error.
 */
static int conclude(struct pass *ps, const struct as_condition *c, bool warning, const char *note,
		    struct k8s_err *err)
{
	sum_up(ps->out, c);
	if (warning)
		event(ps->env, ps->st, ps->sp, true, c->reason, "%s", note ? note : c->message);
	else
		ps->st->warned = NULL;
	return write_status(ps, err);
}

/* the pods' samples of every metric, from the feed */
static int observe(struct pass *ps, struct k8s_items *pods, struct as_pod *ap,
		   struct as_sample *samples, struct as_metric_obs *mo)
{
	const struct as_spec *spec = &ps->spec;
	size_t n = k8s_items_len(pods);

	for (size_t j = 0; j < n; j++)
		pod_of(k8s_items_at(pods, j), &ap[j]);
	for (size_t i = 0; i < spec->policy.n_metrics; i++) {
		const struct as_metric_spec *m = &spec->metrics[i];
		const char *container = m->source == AS_SRC_CONTAINER_RESOURCE ? m->name : NULL;
		struct as_sample *s = samples + i * n;
		enum as_signal sig;

		mo[i] = (struct as_metric_obs){.pods = s};
		if (as_metric_signal(m, &sig, NULL))
			return -EINVAL; /* as_policy_check() accepted it */
		for (size_t j = 0; j < n && !mo[i].fetch_err; j++) {
			const struct k8s_obj *p = k8s_items_at(pods, j);
			const struct as_point *pts = NULL;
			size_t np = 0;
			int ret;

			memset(&s[j], 0, sizeof(s[j]));
			if (m->source == AS_SRC_RESOURCE || m->source == AS_SRC_CONTAINER_RESOURCE)
				request_of(p, m->resource, container, &s[j]);
			ret = ps->env->feed(ps->env->feed_arg, sig, ps->ns, k8s_obj_get_name(p),
					    k8s_obj_get_uid(p), container, &pts, &np);
			if (ret == -ENOENT)
				continue;
			if (!ret)
				ret = as_sustain(pts, np, ps->now, &spec->window, &s[j]);
			if (ret)
				mo[i].fetch_err = ret;
		}
	}
	return 0;
}

/* The write to /scale; 0, 1 (refused: the outcome says why) or -errno. */
static int rescale(struct pass *ps, const struct k8s_obj *target, struct k8s_err *err)
{
	const struct as_env *env = ps->env;
	const char *manager = env->field_manager ? env->field_manager : AS_FIELD_MANAGER;
	struct as_decision *d = &ps->out->dec;
	struct owners o = {.self = manager};
	char why[sizeof(err->msg)];
	int ret;

	ret = k8s_scale_apply(env->client, &ps->st->res, ps->ns, ps->spec.name, d->desired_replicas,
			      manager, false, NULL, err);
	if (ret == -EBUSY) {
		/*
		 * Another manager owns the replicas. One that applies them (a
		 * GitOps tool, kubectl apply --server-side) will apply them again:
		 * refuse. Ones that only updated them (kubectl create or scale, an
		 * HPA deleted since) are taken over, as the HPA's own PUT takes them.
		 */
		k8s_obj_managers(target, "/spec/replicas", count_owner, &o);
		if (o.applied[0] || !o.others) {
			snprintf(why, sizeof(why), "%s", err->msg);
			d->desired_replicas = -1;
			d->rescale = false;
			if (o.applied[0])
				cond(&d->able_to_scale, false, AS_REASON_SCALED_BY_ANOTHER,
				     "field manager \"%.60s\" applies spec.replicas of %s %s: ferry writes nothing while it does (remove replicas from what it applies, or set spec.mode: Shadow)",
				     o.applied, ps->st->plural, ps->spec.name);
			else
				cond(&d->able_to_scale, false, AS_REASON_SCALED_BY_ANOTHER,
				     "another field manager owns the replicas of %s %s: %.120s",
				     ps->st->plural, ps->spec.name, why);
			return 1;
		}
		ret = k8s_scale_apply(env->client, &ps->st->res, ps->ns, ps->spec.name,
				      d->desired_replicas, manager, true, NULL, err);
	}
	if (ret) {
		int32_t size = d->desired_replicas;

		snprintf(why, sizeof(why), "%s", err->msg);
		as_scale_failed(d, why);
		event(env, ps->st, ps->sp, true, "FailedRescale",
		      "New size: %d; reason: %s; error: %s", size, d->rescale_reason, why);
		return ret;
	}
	ret = as_scaled(&ps->spec.policy, &ps->st->hist, d, ps->now);
	ps->out->scaled = true;
	ps->st->warned = NULL;
	event(env, ps->st, ps->sp, false, "SuccessfulRescale", "New size: %d; reason: %s",
	      d->desired_replicas, d->rescale_reason);
	return ret == -ENOMEM ? fail(err, ret, "scale event: out of memory") : 0;
}

int as_reconcile(const struct as_env *env, const struct k8s_obj *sp, struct as_state *st,
		 struct as_outcome *out, struct k8s_err *err)
{
	struct pass ps = {.env = env, .st = st, .sp = sp, .out = out};
	struct as_decision *d = &out->dec;
	struct k8s_obj *target = NULL, *scale = NULL;
	struct k8s_items *pods = NULL;
	struct as_pod *ap = NULL;
	struct as_sample *samples = NULL;
	struct as_metric_obs mo[AS_METRICS_MAX];
	struct as_observation obs;
	struct k8s_selector *sel = NULL;
	struct k8s_scale sv;
	struct k8s_call call = {0};
	struct as_err aerr;
	const char *uid, *paused;
	char key[sizeof(st->target)];
	size_t n;
	int ret;

	assert(env && env->client && env->feed && sp && st && out && err);
	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	d->desired_replicas = -1;
	d->metric_replicas = -1;
	out->requeue_after_ms = env->period_ms ? env->period_ms : DEFAULT_PERIOD_MS;
	ps.now = env->now_ms ? env->now_ms : k8s_now_ns() / 1000000;
	ps.ns = k8s_obj_get_ns(sp);
	ps.name = k8s_obj_get_name(sp);
	uid = k8s_obj_get_uid(sp);
	if (!ps.ns || !ps.name)
		return fail(err, -EINVAL, "a ScalePolicy without metadata.name or namespace");
	if (k8s_obj_type(sp, "/metadata/deletionTimestamp") == K8S_T_STRING) {
		out->reason = "Deleting";
		out->requeue_after_ms = 0;
		return 0;
	}
	if (uid && strcmp(uid, st->uid)) {
		snprintf(st->uid, sizeof(st->uid), "%s", uid);
		state_reset(st);
		st->status_ms = 0;
		st->warned = NULL;
	}

	/* the spec */
	ret = as_spec_decode(sp, &ps.spec, &aerr);
	ps.decoded = ret != -EINVAL;
	if (ret) {
		cond(&d->scaling_active, false, aerr.reason, "%s", aerr.msg);
		return conclude(&ps, &d->scaling_active, true, NULL, err);
	}
	snprintf(key, sizeof(key), "%s %s %s", ps.spec.api_version, ps.spec.kind, ps.spec.name);
	if (strcmp(key, st->target)) {
		snprintf(st->target, sizeof(st->target), "%s", key);
		state_reset(st);
	}

	/* the target and its scale */
	ret = resolve(env, st, &ps.spec, out, err);
	if (ret == 1)
		return conclude(&ps, &d->able_to_scale, true, NULL, err);
	if (ret)
		return ret;
	ret = k8s_get(env->client, &st->res, ps.ns, ps.spec.name, NULL, &target, err);
	if (!ret)
		ret = k8s_scale_get(env->client, &st->res, ps.ns, ps.spec.name, &scale, err);
	if (ret == -ENOENT) {
		cond(&d->able_to_scale, false, AS_REASON_FAILED_GET_SCALE,
		     "the HPA controller was unable to get the target's current scale: %s \"%.60s\" not found",
		     st->plural, ps.spec.name);
		st->resolved = false; /* the kind may have gone too: ask discovery again */
		ret = conclude(&ps, &d->able_to_scale, true, NULL, err);
		goto out_free;
	}
	if (ret)
		goto out_free;
	paused = k8s_obj_annotation(target, AS_PAUSED_ANNOTATION);
	if (paused) {
		cond(&d->scaling_active, false, AS_REASON_SCALING_PAUSED,
		     "%s %s is annotated %s=%.80s: ferry leaves it alone until the annotation is removed",
		     st->plural, ps.spec.name, AS_PAUSED_ANNOTATION, paused);
		ret = conclude(&ps, &d->scaling_active, false, NULL, err);
		goto out_free;
	}
	if (ps.spec.mode == AS_MODE_ACTIVE) {
		ret = find_hpa(env, st, &ps.spec, ps.ns, ps.now, err);
		if (ret)
			goto out_free;
		if (st->hpa[0]) {
			cond(&d->able_to_scale, false, AS_REASON_SCALED_BY_ANOTHER,
			     "HorizontalPodAutoscaler %.100s also scales %s %s: ferry writes nothing while it does (delete it, or set spec.mode: Shadow to compare the two)",
			     st->hpa, st->plural, ps.spec.name);
			ret = conclude(&ps, &d->able_to_scale, true, NULL, err);
			goto out_free;
		}
	}
	k8s_scale_view(scale, &sv);
	if (!sv.selector || !*sv.selector) {
		cond(&d->scaling_active, false, AS_REASON_INVALID_SELECTOR,
		     "the HPA target's scale is missing a selector");
		ret = conclude(&ps, &d->scaling_active, true, NULL, err);
		goto out_free;
	}
	ret = k8s_selector_parse(sv.selector, &sel, err);
	if (ret == -EINVAL) {
		cond(&d->scaling_active, false, AS_REASON_INVALID_SELECTOR,
		     "couldn't convert selector into a corresponding internal selector object: %.150s",
		     err->msg);
		ret = conclude(&ps, &d->scaling_active, true, NULL, err);
		goto out_free;
	}
	if (ret)
		goto out_free;
	if (sv.replicas < 0 || sv.replicas > INT32_MAX) {
		ret = fail(err, -EINVAL, "%s %s/%s: scale spec.replicas %lld out of range",
			   st->plural, ps.ns, ps.spec.name, (long long)sv.replicas);
		goto out_free;
	}

	/* its pods and their signals */
	call.label_selector = sv.selector;
	ret = k8s_list(env->client, &k8s_pods, ps.ns, &call, &pods, err);
	if (ret)
		goto out_free;
	n = k8s_items_len(pods);
	ap = calloc(n ? n : 1, sizeof(*ap));
	samples = calloc(n ? n * ps.spec.policy.n_metrics : 1, sizeof(*samples));
	if (!ap || !samples) {
		ret = fail(err, -ENOMEM, "scalepolicy %s/%s: out of memory", ps.ns, ps.name);
		goto out_free;
	}
	ret = observe(&ps, pods, ap, samples, mo);
	if (ret) {
		ret = fail(err, ret, "scalepolicy %s/%s: a metric the check let through", ps.ns,
			   ps.name);
		goto out_free;
	}
	obs = (struct as_observation){.spec_replicas = (int32_t)sv.replicas,
				      .status_replicas = (int32_t)sv.status_replicas,
				      .pods = ap,
				      .n_pods = n,
				      .metrics = mo};
	ret = as_decide(&ps.spec.policy, &obs, ps.now, &st->hist, d, &aerr);
	if (ret) {
		ret = fail(err, ret, "scalepolicy %s/%s: %s", ps.ns, ps.name, aerr.msg);
		goto out_free;
	}
	out->decided = true;

	/* the decision */
	if (d->rescale && ps.spec.mode == AS_MODE_SHADOW) {
		cond(&d->able_to_scale, true, AS_REASON_SHADOW,
		     "shadow mode: ferry would scale %s %s from %d to %d (%.80s) and writes nothing",
		     st->plural, ps.spec.name, d->current_replicas, d->desired_replicas,
		     d->rescale_reason);
		if (st->shadow_from != d->current_replicas ||
		    st->shadow_to != d->desired_replicas) {
			st->shadow_from = d->current_replicas;
			st->shadow_to = d->desired_replicas;
			out->shadow = true;
			event(env, st, sp, false, "ShadowRescale", "Would set size: %d; reason: %s",
			      d->desired_replicas, d->rescale_reason);
		}
	} else if (d->rescale) {
		ret = rescale(&ps, target, err);
		if (ret < 0) {
			int wret = write_status(&ps, &(struct k8s_err){0});

			(void)wret; /* the write's error is the one to report */
			sum_up(out, &d->able_to_scale);
			goto out_free;
		}
		if (ret == 1) {
			ret = conclude(&ps, &d->able_to_scale, true, NULL, err);
			goto out_free;
		}
	} else if (ps.spec.mode == AS_MODE_SHADOW) {
		st->shadow_from = d->current_replicas;
		st->shadow_to = d->current_replicas;
	}
	if (d->desired_replicas < 0 && d->metrics_err)
		ret = conclude(&ps, &d->scaling_active, true, d->metrics_msg, err);
	else
		ret = conclude(&ps, &d->able_to_scale, false, NULL, err);

out_free:
	if (!ret)
		memset(err, 0, sizeof(*err));
	free(samples);
	free(ap);
	k8s_selector_free(sel);
	k8s_items_free(pods);
	k8s_obj_free(scale);
	k8s_obj_free(target);
	return ret;
}
