// SPDX-License-Identifier: MIT
/*
 * control/autoscale/autoscale.c - the HorizontalPodAutoscaler's replica
 * calculation and normalization (autoscale.h), written from upstream's
 * horizontal.go and replica_calculator.go. The arithmetic is upstream's on
 * purpose: integer utilization and averages (metrics/utilization.go),
 * float64 ratios, ceil() of ratio x pods, truncation of a Percent
 * scale-down; the same operations in the same order, so that a trace gives
 * the same replica counts (tests/autoscale/hpa_model.py checks it). The
 * build turns floating-point contraction off (meson.build) so that no FMA
 * changes a rounding.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscale.h"
#include "control/signals/signals.h"

static void __attribute__((format(printf, 4, 5)))
set_err(struct as_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return;
	err->code = code;
	err->reason = reason;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

static void clear_err(struct as_err *err)
{
	if (err) {
		err->code = 0;
		err->reason = "";
		err->msg[0] = '\0';
	}
}

static void __attribute__((format(printf, 4, 5)))
set_cond(struct as_condition *c, bool status, const char *reason, const char *fmt, ...)
{
	va_list ap;

	c->set = true;
	c->status = status;
	c->reason = reason;
	va_start(ap, fmt);
	vsnprintf(c->message, sizeof(c->message), fmt, ap);
	va_end(ap);
}

/* Go's int32(f) for the values the algorithm makes, clamped instead of undefined. */
static int32_t to_i32(double f)
{
	if (isnan(f))
		return 0;
	if (f >= (double)INT32_MAX)
		return INT32_MAX;
	if (f <= (double)INT32_MIN)
		return INT32_MIN;
	return (int32_t)f; /* truncates toward zero, as Go's conversion */
}

static int32_t clamp_i32(int64_t v)
{
	return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
}

static int64_t add_sat(int64_t a, int64_t b)
{
	int64_t r;

	if (__builtin_add_overflow(a, b, &r))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return r;
}

const char *as_signal_name(enum as_signal s)
{
	return (unsigned int)s < AS_SIG_COUNT ? sig_kind_name((enum sig_kind)s) : "?";
}

int as_signal_by_name(const char *name, enum as_signal *out)
{
	for (int s = AS_SIG_RUNQ_P50; name && s < AS_SIG_COUNT; s++) {
		if (!strcmp(name, sig_kind_name((enum sig_kind)s))) {
			*out = (enum as_signal)s;
			return 0;
		}
	}
	return -ENOENT;
}

void as_rules_init(struct as_rules *r)
{
	memset(r, 0, sizeof(*r));
	r->window_s = AS_UNSET;
	r->select = AS_SELECT_UNSET;
	r->tolerance = -1;
}

void as_policy_init(struct as_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->min_replicas = 1;
	p->max_replicas = 1;
	as_rules_init(&p->up);
	as_rules_init(&p->down);
	p->tolerance = AS_DEFAULT_TOLERANCE;
	p->downscale_window_ms = AS_DEFAULT_DOWNSCALE_WINDOW_MS;
	p->cpu_init_period_ms = AS_DEFAULT_CPU_INIT_PERIOD_MS;
	p->readiness_delay_ms = AS_DEFAULT_READINESS_DELAY_MS;
}

static const char *source_name(enum as_source s)
{
	switch (s) {
	case AS_SRC_RESOURCE:
		return "Resource";
	case AS_SRC_CONTAINER_RESOURCE:
		return "ContainerResource";
	case AS_SRC_PODS:
		return "Pods";
	case AS_SRC_OBJECT:
		return "Object";
	case AS_SRC_EXTERNAL:
		return "External";
	}
	return "?";
}

static const char *resource_name(enum as_resource r)
{
	return r == AS_RES_CPU ? "cpu" : r == AS_RES_MEMORY ? "memory" : "?";
}

int as_metric_signal(const struct as_metric_spec *m, enum as_signal *out, struct as_err *err)
{
	clear_err(err);
	switch (m->source) {
	case AS_SRC_OBJECT:
	case AS_SRC_EXTERNAL:
		set_err(err, -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC,
			"%s metrics are not supported: ferry scales on its agents' per-pod signals and does not read the custom or external metrics APIs; keep an HPA or KEDA for this target",
			source_name(m->source));
		return err ? err->code : -EOPNOTSUPP;
	case AS_SRC_RESOURCE:
	case AS_SRC_CONTAINER_RESOURCE:
		if (m->resource != AS_RES_CPU && m->resource != AS_RES_MEMORY) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"resource: only cpu and memory are measured");
			return -EINVAL;
		}
		if (m->source == AS_SRC_CONTAINER_RESOURCE && (!m->name || !m->name[0])) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"containerResource.container: must not be empty");
			return -EINVAL;
		}
		if (m->target == AS_TARGET_UTILIZATION) {
			if (m->utilization <= 0) {
				set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
					"target.averageUtilization: must be greater than 0");
				return -EINVAL;
			}
		} else if (m->target == AS_TARGET_AVERAGE_VALUE) {
			if (m->value <= 0) {
				set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
					"target.averageValue: must be positive");
				return -EINVAL;
			}
		} else {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"target.type: must be Utilization or AverageValue for %s metrics",
				source_name(m->source));
			return -EINVAL;
		}
		*out = m->resource == AS_RES_CPU ? AS_SIG_CPU : AS_SIG_MEMORY;
		return 0;
	case AS_SRC_PODS:
		if (m->target != AS_TARGET_AVERAGE_VALUE || m->value <= 0) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"target: Pods metrics take a positive averageValue");
			return -EINVAL;
		}
		if (as_signal_by_name(m->name, out)) {
			set_err(err, -ENOENT, AS_REASON_UNSUPPORTED_METRIC,
				"pods metric %s: ferry serves ferry_runqueue_wait_{p50,p99}_seconds and ferry_network_{receive,transmit}_{bytes,packets}_per_second",
				m->name ? m->name : "(no name)");
			return -ENOENT;
		}
		return 0;
	}
	set_err(err, -EINVAL, AS_REASON_INVALID_SPEC, "type: not a metric source type");
	return -EINVAL;
}

static int check_rules(const struct as_rules *r, const char *dir, struct as_err *err)
{
	if (r->window_s != AS_UNSET && (r->window_s < 0 || r->window_s > AS_MAX_WINDOW_S)) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"behavior.%s.stabilizationWindowSeconds: %d is not within 0..%d", dir,
			r->window_s, AS_MAX_WINDOW_S);
		return -EINVAL;
	}
	if (r->select != AS_SELECT_UNSET && r->select != AS_SELECT_MAX &&
	    r->select != AS_SELECT_MIN && r->select != AS_SELECT_DISABLED) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"behavior.%s.selectPolicy: must be Max, Min or Disabled", dir);
		return -EINVAL;
	}
	if (r->n_policies > AS_POLICIES_MAX) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC, "behavior.%s.policies: more than %d",
			dir, AS_POLICIES_MAX);
		return -EINVAL;
	}
	for (size_t i = 0; i < r->n_policies; i++) {
		const struct as_scaling_policy *p = &r->policies[i];

		if (p->type != AS_POLICY_PODS && p->type != AS_POLICY_PERCENT) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"behavior.%s.policies[%zu].type: must be Pods or Percent", dir, i);
			return -EINVAL;
		}
		if (p->value <= 0) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"behavior.%s.policies[%zu].value: must be greater than zero", dir,
				i);
			return -EINVAL;
		}
		if (p->period_s <= 0 || p->period_s > AS_MAX_PERIOD_S) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"behavior.%s.policies[%zu].periodSeconds: %d is not within 1..%d",
				dir, i, p->period_s, AS_MAX_PERIOD_S);
			return -EINVAL;
		}
	}
	if (isnan(r->tolerance) || isinf(r->tolerance)) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC, "behavior.%s.tolerance: not a number",
			dir);
		return -EINVAL;
	}
	return 0;
}

int as_policy_check(const struct as_policy *p, struct as_err *err)
{
	enum as_signal sig;
	int ret;

	clear_err(err);
	for (size_t i = 0; p->metrics && i < p->n_metrics && i < AS_METRICS_MAX; i++) {
		struct as_err merr;

		ret = as_metric_signal(&p->metrics[i], &sig, &merr);
		if (ret) {
			set_err(err, ret, merr.reason, "metrics[%zu]: %s", i, merr.msg);
			return ret;
		}
	}
	if (p->min_replicas == 0) {
		set_err(err, -EOPNOTSUPP, AS_REASON_UNSUPPORTED_SPEC,
			"minReplicas: 0 is not supported: upstream allows it only with an Object or External metric (HPAScaleToZero), and a target at zero has no pods to measure");
		return -EOPNOTSUPP;
	}
	if (p->min_replicas < 0) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"minReplicas: must be greater than or equal to 1");
		return -EINVAL;
	}
	if (p->max_replicas < p->min_replicas) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"maxReplicas: %d is less than minReplicas %d", p->max_replicas,
			p->min_replicas);
		return -EINVAL;
	}
	if (!p->metrics || p->n_metrics == 0 || p->n_metrics > AS_METRICS_MAX) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC, "metrics: between 1 and %d entries",
			AS_METRICS_MAX);
		return -EINVAL;
	}
	if (p->has_behavior) {
		ret = check_rules(&p->up, "scaleUp", err);
		if (!ret)
			ret = check_rules(&p->down, "scaleDown", err);
		if (ret)
			return ret;
	}
	if (!(p->tolerance >= 0) || isinf(p->tolerance) || p->downscale_window_ms < 0 ||
	    p->cpu_init_period_ms < 0 || p->readiness_delay_ms < 0) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"controller settings: the tolerance and periods must not be negative");
		return -EINVAL;
	}
	return 0;
}

/* ---- history ---- */

void as_history_init(struct as_history *h)
{
	memset(h, 0, sizeof(*h));
}

void as_history_fini(struct as_history *h)
{
	if (!h)
		return;
	free(h->recs);
	free(h->up);
	free(h->down);
	memset(h, 0, sizeof(*h));
}

/* Make room for @more entries of @size bytes in *@arr. */
static int reserve(void **arr, size_t *cap, size_t n, size_t more, size_t size)
{
	size_t want, ncap;
	void *p;

	if (n + more <= *cap)
		return 0;
	want = n + more;
	ncap = *cap ? *cap : 8;
	while (ncap < want)
		ncap *= 2;
	p = realloc(*arr, ncap * size);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int reserve_recs(struct as_history *h, size_t more)
{
	return reserve((void **)&h->recs, &h->cap_recs, h->n_recs, more, sizeof(*h->recs));
}

static int reserve_events(struct as_history *h, bool up, size_t more)
{
	if (up)
		return reserve((void **)&h->up, &h->cap_up, h->n_up, more, sizeof(*h->up));
	return reserve((void **)&h->down, &h->cap_down, h->n_down, more, sizeof(*h->down));
}

int as_history_add_rec(struct as_history *h, int64_t t, int32_t replicas)
{
	if (reserve_recs(h, 1))
		return -ENOMEM;
	h->recs[h->n_recs++] = (struct as_rec){.t = t, .replicas = replicas};
	h->started = true;
	return 0;
}

int as_history_add_event(struct as_history *h, bool up, int64_t t, int32_t change)
{
	struct as_event e = {.t = t, .change = change};

	if (reserve_events(h, up, 1))
		return -ENOMEM;
	if (up)
		h->up[h->n_up++] = e;
	else
		h->down[h->n_down++] = e;
	return 0;
}

/* ---- one metric: replica_calculator.go ---- */

struct tolerances {
	double down, up;
};

static bool within(struct tolerances t, double r)
{
	return (1.0 - t.down) <= r && r <= (1.0 + t.up);
}

enum pod_group {
	POD_READY,   /* counted */
	POD_UNREADY, /* Pending, or (cpu) not yet ready: 0 on a scale-up */
	POD_MISSING, /* no sample: target on a scale-down, 0 on a scale-up */
	POD_IGNORED, /* deleting or Failed */
};

/* groupPods(): @cpu for Resource and ContainerResource cpu metrics. */
static enum pod_group group_pod(const struct as_policy *pol, const struct as_pod *pod,
				const struct as_sample *s, bool cpu, int64_t now)
{
	bool unready;

	if (pod->deleting || pod->phase == AS_PHASE_FAILED)
		return POD_IGNORED;
	if (pod->phase == AS_PHASE_PENDING)
		return POD_UNREADY;
	if (!s->present)
		return POD_MISSING;
	if (!cpu)
		return POD_READY;
	if (pod->ready == AS_READY_NONE || pod->start_time == AS_NO_TIME) {
		unready = true;
	} else if (add_sat(pod->start_time, pol->cpu_init_period_ms) > now) {
		/* still initializing: unready, or a sample from before it became ready */
		unready = pod->ready == AS_READY_FALSE ||
			  s->timestamp < add_sat(pod->ready_since, s->window);
	} else {
		/* unready and never ready since its start */
		unready = pod->ready == AS_READY_FALSE &&
			  add_sat(pod->start_time, pol->readiness_delay_ms) > pod->ready_since;
	}
	return unready ? POD_UNREADY : POD_READY;
}

struct metric_out {
	int err;
	char msg[256]; /* the error, as upstream's inner error reads */
	int32_t replicas;
	struct as_metric_status status;
	char name[160];
};

static void __attribute__((format(printf, 3, 4)))
metric_fail(struct metric_out *mo, int code, const char *fmt, ...)
{
	va_list ap;

	mo->err = code;
	va_start(ap, fmt);
	vsnprintf(mo->msg, sizeof(mo->msg), fmt, ap);
	va_end(ap);
}

/*
 * The value each pod contributes to a recompute: its sample when it was
 * measured, or what a missing or not-ready pod is taken to use.
 */
struct contrib {
	enum pod_group g;
	bool in;	 /* part of the metrics map */
	int64_t value;	 /* milli-units */
	int64_t request; /* utilization only */
};

/*
 * GetResourceUtilizationRatio(): integer utilization of the requests of the
 * pods in the map. Return 0, -ENODATA (requests sum to 0) or -ERANGE.
 */
static int utilization_ratio(const struct contrib *c, size_t n, int32_t target, double *ratio,
			     int32_t *util, int64_t *raw)
{
	int64_t mt = 0, rt = 0, pct;
	size_t entries = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].in)
			continue;
		if (__builtin_add_overflow(mt, c[i].value, &mt) ||
		    __builtin_add_overflow(rt, c[i].request, &rt))
			return -ERANGE;
		entries++;
	}
	if (rt == 0)
		return -ENODATA;
	if (__builtin_mul_overflow(mt, (int64_t)100, &pct))
		return -ERANGE;
	pct /= rt;
	if (pct < INT32_MIN || pct > INT32_MAX)
		return -ERANGE;
	*util = (int32_t)pct;
	*ratio = (double)*util / (double)target;
	*raw = mt / (int64_t)entries;
	return 0;
}

/* GetMetricUsageRatio(): integer mean of the map. Return 0 or -ERANGE. */
static int usage_ratio(const struct contrib *c, size_t n, int64_t target, double *ratio,
		       int64_t *usage)
{
	int64_t mt = 0;
	size_t entries = 0;

	for (size_t i = 0; i < n; i++) {
		if (!c[i].in)
			continue;
		if (__builtin_add_overflow(mt, c[i].value, &mt))
			return -ERANGE;
		entries++;
	}
	assert(entries > 0);
	*usage = mt / (int64_t)entries;
	*ratio = (double)*usage / (double)target;
	return 0;
}

static int32_t ceil_count(double ratio, size_t pods)
{
	return to_i32(ceil(ratio * (double)pods));
}

/*
 * GetResourceReplicas() (Utilization targets) and calcPlainMetricReplicas()
 * (AverageValue targets of Resource, ContainerResource and Pods metrics).
 */
static void metric_replicas(const struct as_policy *pol, const struct as_metric_spec *spec,
			    const struct as_observation *obs, const struct as_metric_obs *mobs,
			    struct tolerances tol, int64_t now, struct contrib *c,
			    struct metric_out *mo)
{
	const int32_t current = obs->spec_replicas;
	const bool util = spec->target == AS_TARGET_UTILIZATION;
	const bool cpu = spec->source != AS_SRC_PODS && spec->resource == AS_RES_CPU;
	const char *api = spec->source == AS_SRC_PODS ? "custom" : "resource";
	size_t n = obs->n_pods, ready = 0, unready = 0, missing = 0, any = 0;
	double ratio, nratio;
	int32_t utilization = 0, nutil, replicas;
	int64_t raw = 0, usage = 0, nraw;
	int ret;

	if (mobs->fetch_err) {
		metric_fail(mo, mobs->fetch_err, "unable to get metric %s: %s",
			    spec->source == AS_SRC_PODS ? spec->name
							: resource_name(spec->resource),
			    strerror(-mobs->fetch_err));
		return;
	}
	for (size_t i = 0; i < n; i++)
		any += mobs->pods[i].present;
	if (!any) {
		metric_fail(mo, -ENODATA, "no metrics returned from %s metrics API", api);
		return;
	}
	if (n == 0) {
		metric_fail(mo, -ENODATA,
			    "no pods returned by selector while calculating replica count");
		return;
	}

	/* the map holds the ready pods' samples; the others are set aside */
	for (size_t i = 0; i < n; i++) {
		enum pod_group g = group_pod(pol, &obs->pods[i], &mobs->pods[i], cpu, now);

		c[i] = (struct contrib){.g = g,
					.in = g == POD_READY,
					.value = mobs->pods[i].value,
					.request = mobs->pods[i].request};
		ready += g == POD_READY;
		unready += g == POD_UNREADY;
		missing += g == POD_MISSING;
	}
	if (!ready) {
		metric_fail(mo, -ENODATA,
			    "did not receive metrics for targeted pods (pods might be unready)");
		return;
	}

	if (util) {
		/* calculateRequests(): every listed pod, set aside or not */
		for (size_t i = 0; i < n; i++) {
			if (!mobs->pods[i].has_request) {
				metric_fail(mo, -ENODATA, "missing request for %s in pod %zu",
					    resource_name(spec->resource), i);
				return;
			}
		}
		ret = utilization_ratio(c, n, spec->utilization, &ratio, &utilization, &raw);
		if (ret == -ENODATA) {
			metric_fail(mo, ret, "no metrics returned matched known pods");
			return;
		}
		if (ret) {
			metric_fail(mo, ret, "resource utilization is outside the int32 range");
			return;
		}
		mo->status = (struct as_metric_status){.valid = true,
						       .average_value = raw,
						       .has_utilization = true,
						       .average_utilization = utilization};
	} else {
		ret = usage_ratio(c, n, spec->value, &ratio, &usage);
		if (ret) {
			metric_fail(mo, ret,
				    "the sum of the pods' values is outside the int64 range");
			return;
		}
		mo->status = (struct as_metric_status){.valid = true, .average_value = usage};
	}

	bool up_with_unready = unready > 0 && ratio > 1.0;

	if (!up_with_unready && missing == 0) {
		mo->replicas = within(tol, ratio) ? current : ceil_count(ratio, ready);
		return;
	}

	/* count the missing and not-ready pods in, conservatively */
	size_t entries = ready;

	for (size_t i = 0; i < n; i++) {
		enum pod_group g = c[i].g;

		if (g == POD_MISSING && ratio < 1.0) {
			/* scale-down: at target (utilization: the larger of 100 % and the target) */
			if (util) {
				int32_t pct = spec->utilization > 100 ? spec->utilization : 100;
				int64_t v;

				if (__builtin_mul_overflow(mobs->pods[i].request, (int64_t)pct,
							   &v)) {
					metric_fail(mo, -ERANGE, "request out of range");
					return;
				}
				c[i].value = v / 100;
			} else {
				c[i].value = spec->value;
			}
			c[i].in = true;
			entries++;
		} else if ((g == POD_MISSING && ratio > 1.0) ||
			   (g == POD_UNREADY && up_with_unready)) {
			c[i].value = 0;
			c[i].in = true;
			entries++;
		}
	}

	if (util)
		ret = utilization_ratio(c, n, spec->utilization, &nratio, &nutil, &nraw);
	else
		ret = usage_ratio(c, n, spec->value, &nratio, &nraw);
	if (ret) {
		metric_fail(mo, ret, "the recomputed total is out of range");
		return;
	}

	if (within(tol, nratio) || (ratio < 1.0 && nratio > 1.0) || (ratio > 1.0 && nratio < 1.0)) {
		/* too small a change, or the direction reversed */
		mo->replicas = current;
		return;
	}
	replicas = ceil_count(nratio, entries);
	if ((nratio < 1.0 && replicas > current) || (nratio > 1.0 && replicas < current))
		replicas = current; /* the pod count would reverse the direction */
	mo->replicas = replicas;
}

/* computeReplicasForMetric(): the name, the reason on failure, the wrapped error. */
static void compute_metric(const struct as_policy *pol, const struct as_metric_spec *spec,
			   const struct as_observation *obs, const struct as_metric_obs *mobs,
			   struct tolerances tol, int64_t now, struct contrib *c,
			   struct metric_out *mo)
{
	const char *res = resource_name(spec->resource);

	memset(mo, 0, sizeof(*mo));
	if (spec->source == AS_SRC_PODS)
		snprintf(mo->name, sizeof(mo->name), "pods metric %s", spec->name);
	else if (spec->target == AS_TARGET_AVERAGE_VALUE)
		snprintf(mo->name, sizeof(mo->name), "%s resource", res);
	else if (spec->source == AS_SRC_CONTAINER_RESOURCE)
		snprintf(mo->name, sizeof(mo->name),
			 "%s container resource utilization (percentage of request)", res);
	else
		snprintf(mo->name, sizeof(mo->name),
			 "%s resource utilization (percentage of request)", res);
	metric_replicas(pol, spec, obs, mobs, tol, now, c, mo);
	if (mo->err)
		mo->status = (struct as_metric_status){0};
}

static const char *failed_reason(enum as_source s)
{
	return s == AS_SRC_PODS			? AS_REASON_FAILED_PODS
	       : s == AS_SRC_CONTAINER_RESOURCE ? AS_REASON_FAILED_CONTAINER
						: AS_REASON_FAILED_RESOURCE;
}

/*
 * What a failed metric's error reads as once upstream has wrapped it: @cond
 * for the condition's message, @outer for the event.
 */
static void failed_text(const struct as_metric_spec *spec, const struct metric_out *mo, char *cond,
			size_t cond_len, char *outer, size_t outer_len)
{
	const char *res = resource_name(spec->resource);

	if (spec->source == AS_SRC_PODS) {
		snprintf(cond, cond_len, "%s", mo->msg);
		snprintf(outer, outer_len, "failed to get pods metric value: %s", mo->msg);
		return;
	}
	snprintf(cond, cond_len, "failed to get %s %s: %s", res,
		 spec->target == AS_TARGET_UTILIZATION ? "utilization" : "usage", mo->msg);
	if (spec->source == AS_SRC_CONTAINER_RESOURCE)
		snprintf(outer, outer_len, "failed to get %s container metric value: %s",
			 spec->name, cond);
	else
		snprintf(outer, outer_len, "failed to get %s resource metric value: %s", res, cond);
}

/*
 * computeReplicasForMetrics(): the largest proposal; a failed metric blocks
 * a scale-down, all failed block everything (-1).
 */
static int32_t compute_metrics(const struct as_policy *pol, const struct as_observation *obs,
			       struct tolerances tol, int64_t now, struct contrib *c,
			       struct as_decision *out)
{
	int32_t replicas = 0;
	size_t invalid = 0;
	struct metric_out mo;
	char cond[320], text[384];

	out->n_metrics = pol->n_metrics;
	for (size_t i = 0; i < pol->n_metrics; i++) {
		const struct as_metric_spec *spec = &pol->metrics[i];

		compute_metric(pol, spec, obs, &obs->metrics[i], tol, now, c, &mo);
		out->metrics[i] = mo.status;
		if (mo.err) {
			if (invalid++ == 0) {
				out->metrics_err = mo.err;
				failed_text(spec, &mo, cond, sizeof(cond), text, sizeof(text));
				set_cond(&out->scaling_active, false, failed_reason(spec->source),
					 "the HPA was unable to compute the replica count: %s",
					 cond);
			}
			continue;
		}
		if (replicas == 0 || mo.replicas > replicas) {
			replicas = mo.replicas;
			snprintf(out->metric_name, sizeof(out->metric_name), "%s", mo.name);
		}
	}
	if (invalid) {
		snprintf(out->metrics_msg, sizeof(out->metrics_msg),
			 "invalid metrics (%zu invalid out of %zu), first error is: %s", invalid,
			 pol->n_metrics, text);
	}
	if (invalid >= pol->n_metrics || (invalid > 0 && replicas < obs->spec_replicas))
		return -1; /* the first failed metric's condition stays */
	out->scaling_active = (struct as_condition){0};
	set_cond(&out->scaling_active, true, AS_REASON_VALID_METRIC_FOUND,
		 "the HPA was able to successfully calculate a replica count from %s",
		 out->metric_name);
	return replicas;
}

/* ---- normalization: horizontal.go ---- */

/* stabilizeRecommendation(): the behavior-less path, the highest recent recommendation. */
static int32_t stabilize(struct as_history *h, int32_t pre, int64_t window_ms, int64_t now)
{
	int32_t maxr = pre;
	int64_t cutoff = add_sat(now, -window_ms);
	size_t old = 0;
	bool found = false;

	for (size_t i = 0; i < h->n_recs; i++) {
		if (h->recs[i].t < cutoff) {
			found = true;
			old = i;
		} else if (h->recs[i].replicas > maxr) {
			maxr = h->recs[i].replicas;
		}
	}
	if (found) {
		h->recs[old] = (struct as_rec){.t = now, .replicas = pre};
	} else {
		assert(h->n_recs < h->cap_recs); /* reserved by as_decide() */
		h->recs[h->n_recs++] = (struct as_rec){.t = now, .replicas = pre};
	}
	return maxr;
}

/* convertDesiredReplicasWithRules(): min, max, and the scale-up cap max(2 x, 4). */
static int32_t convert_with_rules(int32_t current, int32_t desired, int32_t minr, int32_t maxr,
				  const char **reason)
{
	int32_t up_limit = to_i32(fmax(2.0 * (double)current, 4.0)), allowed;

	if (maxr > up_limit) {
		allowed = up_limit;
		*reason = AS_REASON_SCALE_UP_LIMIT;
	} else {
		allowed = maxr;
		*reason = AS_REASON_TOO_MANY_REPLICAS;
	}
	if (desired < minr) {
		*reason = AS_REASON_TOO_FEW_REPLICAS;
		return minr;
	}
	if (desired > allowed)
		return allowed;
	*reason = AS_REASON_DESIRED_WITHIN_RANGE;
	return desired;
}

static const char *limited_message(const char *reason)
{
	if (!strcmp(reason, AS_REASON_TOO_FEW_REPLICAS))
		return "the desired replica count is less than the minimum replica count";
	if (!strcmp(reason, AS_REASON_TOO_MANY_REPLICAS))
		return "the desired replica count is more than the maximum replica count";
	if (!strcmp(reason, AS_REASON_SCALE_UP_LIMIT))
		return "the desired replica count is increasing faster than the maximum scale rate";
	if (!strcmp(reason, AS_REASON_SCALE_DOWN_LIMIT))
		return "the desired replica count is decreasing faster than the maximum scale rate";
	return "the desired count is within the acceptable range";
}

static void set_limited(struct as_condition *c, const char *reason, bool limited)
{
	set_cond(c, limited, reason, "%s", limited_message(reason));
}

static void set_stabilized(struct as_condition *c, const char *reason)
{
	if (!strcmp(reason, AS_REASON_SCALE_UP_STABILIZED))
		set_cond(
			c, true, reason, "%s",
			"recent recommendations were lower than current one, applying the lowest recent recommendation");
	else if (!strcmp(reason, AS_REASON_SCALE_DOWN_STABILIZED))
		set_cond(
			c, true, reason, "%s",
			"recent recommendations were higher than current one, applying the highest recent recommendation");
	else
		set_cond(c, true, AS_REASON_READY_FOR_NEW_SCALE, "%s",
			 "recommended size matches current size");
}

/* The rules in force: the API's defaults for what the spec left out. */
struct eff_rules {
	int32_t window_s;
	enum as_select select;
	size_t n;
	struct as_scaling_policy p[AS_POLICIES_MAX];
};

static void effective(const struct as_policy *pol, bool up, struct eff_rules *e)
{
	const struct as_rules *r = up ? &pol->up : &pol->down;

	if (r->window_s != AS_UNSET)
		e->window_s = r->window_s;
	else if (up)
		e->window_s = 0;
	else /* maybeInitScaleDownStabilizationWindow() */
		e->window_s = (int32_t)(pol->downscale_window_ms / 1000);
	e->select = r->select == AS_SELECT_UNSET ? AS_SELECT_MAX : r->select;
	if (r->n_policies) {
		e->n = r->n_policies;
		memcpy(e->p, r->policies, r->n_policies * sizeof(e->p[0]));
	} else if (up) {
		e->n = 2;
		e->p[0] = (struct as_scaling_policy){AS_POLICY_PODS, 4, 15};
		e->p[1] = (struct as_scaling_policy){AS_POLICY_PERCENT, 100, 15};
	} else {
		e->n = 1;
		e->p[0] = (struct as_scaling_policy){AS_POLICY_PERCENT, 100, 15};
	}
}

/*
 * stabilizeRecommendationWithBehaviors(): the lowest recommendation of the
 * up window and the highest of the down window bound the current count.
 */
static int32_t stabilize_behavior(struct as_history *h, int32_t current, int32_t desired,
				  int32_t up_s, int32_t down_s, int64_t now, const char **reason)
{
	int32_t up_rec = desired, down_rec = desired, rec = current;
	int64_t up_cut = add_sat(now, -(int64_t)up_s * 1000);
	int64_t down_cut = add_sat(now, -(int64_t)down_s * 1000);
	size_t old = 0;
	bool found = false;

	for (size_t i = 0; i < h->n_recs; i++) {
		const struct as_rec *r = &h->recs[i];

		if (r->t > up_cut && r->replicas < up_rec)
			up_rec = r->replicas;
		if (r->t > down_cut && r->replicas > down_rec)
			down_rec = r->replicas;
		if (r->t < up_cut && r->t < down_cut) {
			found = true;
			old = i;
		}
	}
	if (rec < up_rec)
		rec = up_rec;
	if (rec > down_rec)
		rec = down_rec;
	if (found) {
		h->recs[old] = (struct as_rec){.t = now, .replicas = desired};
	} else {
		assert(h->n_recs < h->cap_recs);
		h->recs[h->n_recs++] = (struct as_rec){.t = now, .replicas = desired};
	}
	*reason = desired >= current ? AS_REASON_SCALE_UP_STABILIZED
				     : AS_REASON_SCALE_DOWN_STABILIZED;
	return rec;
}

/* getReplicasChangePerPeriod(): the changes of the last @period_s seconds. */
static int64_t changes(const struct as_event *ev, size_t n, int32_t period_s, int64_t now)
{
	int64_t cutoff = add_sat(now, -(int64_t)period_s * 1000), sum = 0;

	for (size_t i = 0; i < n; i++)
		if (ev[i].t > cutoff)
			sum += ev[i].change;
	return sum;
}

/*
 * calculateScaleUpLimitWithScalingRules() and
 * calculateScaleDownLimitWithBehaviors(): each policy allows a change from
 * the count its period started with; Max takes the loosest, Min the tightest.
 */
static int32_t rate_limit(const struct as_history *h, const struct eff_rules *e, bool up,
			  int32_t current, int64_t now)
{
	int64_t result;
	bool take_max;

	if (e->select == AS_SELECT_DISABLED)
		return current;
	/* up: Max keeps the largest count; down: Max keeps the smallest */
	take_max = up ? e->select != AS_SELECT_MIN : e->select == AS_SELECT_MIN;
	result = take_max ? INT32_MIN : INT32_MAX;
	for (size_t i = 0; i < e->n; i++) {
		const struct as_scaling_policy *p = &e->p[i];
		int64_t added = changes(h->up, h->n_up, p->period_s, now);
		int64_t removed = changes(h->down, h->n_down, p->period_s, now);
		int32_t start = clamp_i32((int64_t)current - added + removed);
		int64_t proposed;

		if (p->type == AS_POLICY_PODS)
			proposed = up ? (int64_t)start + p->value : (int64_t)start - p->value;
		else if (up) /* rounded up, or a small percentage would never add a pod */
			proposed = to_i32(ceil((double)start * (1 + (double)p->value / 100)));
		else
			proposed = to_i32((double)start * (1 - (double)p->value / 100));
		proposed = clamp_i32(proposed);
		if (take_max ? proposed > result : proposed < result)
			result = proposed;
	}
	return (int32_t)result;
}

/* convertDesiredReplicasWithBehaviorRate(). */
static int32_t convert_with_behavior(const struct as_history *h, const struct eff_rules *up,
				     const struct eff_rules *down, int32_t minr, int32_t maxr,
				     int32_t current, int32_t desired, int64_t now,
				     const char **reason)
{
	if (desired > current) {
		int32_t limit = rate_limit(h, up, true, current, now), allowed = maxr;

		if (limit < current)
			limit = current; /* until the period's events age out */
		if (allowed > limit) {
			allowed = limit;
			*reason = AS_REASON_SCALE_UP_LIMIT;
		} else {
			*reason = AS_REASON_TOO_MANY_REPLICAS;
		}
		if (desired > allowed)
			return allowed;
	} else if (desired < current) {
		int32_t limit = rate_limit(h, down, false, current, now), allowed = minr;

		if (limit > current)
			limit = current;
		if (allowed < limit) {
			allowed = limit;
			*reason = AS_REASON_SCALE_DOWN_LIMIT;
		} else {
			*reason = AS_REASON_TOO_FEW_REPLICAS;
		}
		if (desired < allowed)
			return allowed;
	}
	*reason = AS_REASON_DESIRED_WITHIN_RANGE;
	return desired;
}

static int32_t normalize(const struct as_policy *pol, struct as_history *h, int32_t current,
			 int32_t pre, int64_t now, struct as_decision *out)
{
	const char *reason;
	int32_t stab, desired;

	if (!pol->has_behavior) {
		stab = stabilize(h, pre, pol->downscale_window_ms, now);
		set_stabilized(&out->able_to_scale, stab != pre ? AS_REASON_SCALE_DOWN_STABILIZED
								: AS_REASON_READY_FOR_NEW_SCALE);
		desired = convert_with_rules(current, stab, pol->min_replicas, pol->max_replicas,
					     &reason);
		set_limited(&out->scaling_limited, reason, desired != stab);
		return desired;
	}

	struct eff_rules up, down;

	effective(pol, true, &up);
	effective(pol, false, &down);
	stab = stabilize_behavior(h, current, pre, up.window_s, down.window_s, now, &reason);
	set_stabilized(&out->able_to_scale, stab != pre ? reason : AS_REASON_READY_FOR_NEW_SCALE);
	desired = convert_with_behavior(h, &up, &down, pol->min_replicas, pol->max_replicas,
					current, stab, now, &reason);
	set_limited(&out->scaling_limited, reason, desired != stab);
	return desired;
}

static struct tolerances tolerances_of(const struct as_policy *pol)
{
	struct tolerances t = {pol->tolerance, pol->tolerance};

	if (pol->has_behavior) {
		if (pol->down.tolerance >= 0)
			t.down = pol->down.tolerance;
		if (pol->up.tolerance >= 0)
			t.up = pol->up.tolerance;
	}
	return t;
}

static int check_obs(const struct as_policy *pol, const struct as_observation *obs,
		     struct as_err *err)
{
	if (!pol->metrics || pol->n_metrics == 0 || pol->n_metrics > AS_METRICS_MAX ||
	    pol->min_replicas < 1 || pol->max_replicas < pol->min_replicas) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"the policy was not checked (as_policy_check())");
		return -EINVAL;
	}
	if (obs->spec_replicas < 0 || (obs->n_pods && !obs->pods) || !obs->metrics) {
		set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
			"observation: negative replicas or no pods/metrics arrays");
		return -EINVAL;
	}
	for (size_t i = 0; i < pol->n_metrics; i++) {
		if (obs->n_pods && !obs->metrics[i].pods && !obs->metrics[i].fetch_err) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"observation: metrics[%zu] has no samples", i);
			return -EINVAL;
		}
		if (pol->metrics[i].source == AS_SRC_OBJECT ||
		    pol->metrics[i].source == AS_SRC_EXTERNAL ||
		    pol->metrics[i].target == AS_TARGET_VALUE ||
		    (pol->metrics[i].target == AS_TARGET_UTILIZATION &&
		     pol->metrics[i].utilization <= 0) ||
		    (pol->metrics[i].target == AS_TARGET_AVERAGE_VALUE &&
		     pol->metrics[i].value <= 0)) {
			set_err(err, -EINVAL, AS_REASON_INVALID_SPEC,
				"metrics[%zu]: not a metric as_policy_check() accepts", i);
			return -EINVAL;
		}
	}
	return 0;
}

int as_decide(const struct as_policy *pol, const struct as_observation *obs, int64_t now,
	      struct as_history *hist, struct as_decision *out, struct as_err *err)
{
	const int32_t current = obs->spec_replicas;
	struct contrib *c = NULL;
	int32_t desired = 0, metric_desired;
	bool rescale = true;
	int ret;

	clear_err(err);
	ret = check_obs(pol, obs, err);
	if (ret)
		return ret;
	/* room for the initial and this pass's recommendation: the pass cannot fail midway */
	if (reserve_recs(hist, 2) || (obs->n_pods && !(c = calloc(obs->n_pods, sizeof(*c))))) {
		set_err(err, -ENOMEM, "", "no memory for the autoscaler's history");
		return -ENOMEM;
	}

	memset(out, 0, sizeof(*out));
	out->current_replicas = current;
	out->metric_replicas = -1;
	set_cond(&out->able_to_scale, true, AS_REASON_SUCCEEDED_GET_SCALE,
		 "the HPA controller was able to get the target's current scale");
	if (!hist->started) { /* recordInitialRecommendation() */
		hist->started = true;
		hist->recs[hist->n_recs++] = (struct as_rec){.t = now, .replicas = current};
	}

	if (current == 0 && pol->min_replicas != 0) {
		/* a target scaled to zero by hand: autoscaling is off until it is scaled up */
		rescale = false;
		set_cond(&out->scaling_active, false, AS_REASON_SCALING_DISABLED,
			 "scaling is disabled since the replica count of the target is zero");
	} else if (current > pol->max_replicas) {
		snprintf(out->rescale_reason, sizeof(out->rescale_reason),
			 "Current number of replicas above Spec.MaxReplicas");
		desired = pol->max_replicas;
	} else if (current < pol->min_replicas) {
		snprintf(out->rescale_reason, sizeof(out->rescale_reason),
			 "Current number of replicas below Spec.MinReplicas");
		desired = pol->min_replicas;
	} else {
		metric_desired = compute_metrics(pol, obs, tolerances_of(pol), now, c, out);
		out->metric_replicas = metric_desired;
		if (metric_desired == -1) {
			out->desired_replicas = -1; /* keep status.desiredReplicas */
			goto out_free;
		}
		if (metric_desired > desired)
			desired = metric_desired;
		if (desired > current)
			snprintf(out->rescale_reason, sizeof(out->rescale_reason),
				 "%s above target", metric_desired > 0 ? out->metric_name : "");
		if (desired < current)
			snprintf(out->rescale_reason, sizeof(out->rescale_reason),
				 "All metrics below target");
		desired = normalize(pol, hist, current, desired, now, out);
		rescale = desired != current;
	}
	if (!rescale)
		desired = current;
	out->desired_replicas = desired;
	out->rescale = rescale;
out_free:
	free(c);
	return 0;
}

/* markScaleEventsOutdated() and storeScaleEvent(): reuse an outdated slot, or append. */
static int store_event(struct as_history *h, const struct eff_rules *e, bool up, int32_t change,
		       int64_t now)
{
	struct as_event *ev = up ? h->up : h->down;
	size_t n = up ? h->n_up : h->n_down, slot = 0;
	int32_t longest = 0;
	bool found = false;

	for (size_t i = 0; i < e->n; i++)
		if (e->p[i].period_s > longest)
			longest = e->p[i].period_s;
	for (size_t i = 0; i < n; i++) {
		if (ev[i].t < add_sat(now, -(int64_t)longest * 1000))
			ev[i].outdated = true;
		if (ev[i].outdated) {
			found = true;
			slot = i;
		}
	}
	if (found) {
		ev[slot] = (struct as_event){.t = now, .change = change};
		return 0;
	}
	return as_history_add_event(h, up, now, change);
}

int as_scaled(const struct as_policy *pol, struct as_history *hist, struct as_decision *dec,
	      int64_t now)
{
	int ret = 0;

	if (!dec->rescale || dec->desired_replicas < 0)
		return -EINVAL;
	set_cond(&dec->able_to_scale, true, AS_REASON_SUCCEEDED_RESCALE,
		 "the HPA controller was able to update the target scale to %d",
		 dec->desired_replicas);
	if (pol->has_behavior && dec->desired_replicas != dec->current_replicas) {
		bool up = dec->desired_replicas > dec->current_replicas;
		struct eff_rules e;

		effective(pol, up, &e);
		ret = store_event(hist, &e, up,
				  up ? dec->desired_replicas - dec->current_replicas
				     : dec->current_replicas - dec->desired_replicas,
				  now);
	}
	return ret;
}

void as_scale_failed(struct as_decision *dec, const char *why)
{
	set_cond(&dec->able_to_scale, false, AS_REASON_FAILED_UPDATE_SCALE,
		 "the HPA controller was unable to update the target scale: %s", why ? why : "");
	dec->desired_replicas = -1;
}

/* ---- the windowed mean ---- */

int as_sustain(const struct as_point *pts, size_t n, int64_t now, const struct as_window *w,
	       struct as_sample *out)
{
	int64_t newest = AS_NO_TIME, span = 0, lowest = INT64_MAX;
	long double sum = 0;

	if (w->window_ms <= 0 || w->stale_ms <= 0 || (n && !pts) ||
	    (w->rule != AS_SUSTAIN_MEAN && w->rule != AS_SUSTAIN_HELD))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (pts[i].dt <= 0 || (i && pts[i].t < pts[i - 1].t))
			return -EINVAL;

	out->present = false;
	out->value = 0;
	out->timestamp = 0;
	out->window = 0;
	if (!n)
		return 0;
	newest = pts[n - 1].t < now ? pts[n - 1].t : now;
	if (now - newest >= w->stale_ms)
		return 0; /* the feed has not spoken for too long: missing */
	for (size_t i = n; i-- > 0;) {
		int64_t t = pts[i].t < now ? pts[i].t : now;

		if (now - t >= w->window_ms)
			break;
		sum += (long double)pts[i].value * (long double)pts[i].dt;
		span += pts[i].dt;
		if (pts[i].value < lowest)
			lowest = pts[i].value;
	}
	if (!span)
		return 0;
	out->present = true;
	out->value =
		w->rule == AS_SUSTAIN_HELD ? lowest : (int64_t)llroundl(sum / (long double)span);
	out->timestamp = newest;
	out->window = span;
	return 0;
}
