// SPDX-License-Identifier: MIT
/*
 * control/autoscale/policy.c - the ScalePolicy custom resource
 * (k8s/deploy/crd-scalepolicy.yaml) to struct as_spec, and a pass's outcome
 * back into its status. The spec is an autoscaling/v2
 * HorizontalPodAutoscalerSpec; what the decoder refuses is what the API
 * server's validation of an HPA refuses (pkg/apis/autoscaling/validation:
 * validateMetricSpec, validateMetricTarget, validateBehavior), so that an
 * HPA's spec pasted over decodes, and nothing an HPA could not hold does.
 * The objects are read and built through k8s/'s JSON Pointer calls only.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "autoscale.h"
#include "k8s/k8s.h"

const struct k8s_resource as_scalepolicies =
	K8S_RESOURCE("ferry.io", "v1alpha1", "scalepolicies", "ScalePolicy", true);

/* a message stays on one line, whatever the values it quotes hold */
static void one_line(char *msg)
{
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
}

static int __attribute__((format(printf, 4, 5)))
bad(struct as_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	err->reason = reason;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	one_line(err->msg);
	return code;
}

static int invalid(struct as_err *err, const char *path, const char *what)
{
	return bad(err, -EINVAL, AS_REASON_INVALID_SPEC, "%s: %s", path, what);
}

/* the member @key of @o as a path for messages: "spec.metrics[1]" + ".pods" */
static const char *sub(char *buf, size_t len, const char *path, const char *key)
{
	if (snprintf(buf, len, "%s.%s", path, key) < 0)
		buf[0] = '\0';
	return buf;
}

/* an object at @key of @o: 0; -ENOENT absent (or null); -EINVAL not an object */
static int want_object(const struct k8s_obj *o, const char *key, const struct k8s_obj **out)
{
	const struct k8s_obj *v = k8s_obj_key(o, key);
	enum k8s_type t = k8s_obj_type(v, "");

	*out = NULL;
	if (t == K8S_T_ABSENT || t == K8S_T_NULL)
		return -ENOENT;
	if (t != K8S_T_OBJECT)
		return -EINVAL;
	*out = v;
	return 0;
}

/*
 * An int32 member: 0 and *@out; -ENOENT absent or null (*@out untouched);
 * -EINVAL with @err naming it (not an integer, beyond int32).
 */
static int get_i32(const struct k8s_obj *o, const char *key, const char *path, int32_t *out,
		   struct as_err *err)
{
	const struct k8s_obj *v = k8s_obj_key(o, key);
	char p[160];
	int64_t i;
	int ret;

	if (k8s_obj_type(v, "") == K8S_T_ABSENT || k8s_obj_type(v, "") == K8S_T_NULL)
		return -ENOENT;
	ret = k8s_obj_int(v, "", &i);
	if (ret)
		return invalid(err, sub(p, sizeof(p), path, key), "must be an integer");
	if (i < INT32_MIN || i > INT32_MAX)
		return invalid(err, sub(p, sizeof(p), path, key), "out of the int32 range");
	*out = (int32_t)i;
	return 0;
}

/* a non-empty string member; -ENOENT absent, -EINVAL otherwise wrong */
static int get_str(const struct k8s_obj *o, const char *key, const char *path, const char **out,
		   struct as_err *err)
{
	const struct k8s_obj *v = k8s_obj_key(o, key);
	enum k8s_type t = k8s_obj_type(v, "");
	char p[160];

	if (t == K8S_T_ABSENT || t == K8S_T_NULL)
		return -ENOENT;
	*out = k8s_obj_str(v, "");
	if (!*out)
		return invalid(err, sub(p, sizeof(p), path, key), "must be a string");
	if (!**out)
		return invalid(err, sub(p, sizeof(p), path, key), "must not be empty");
	return 0;
}

static int need_str(const struct k8s_obj *o, const char *key, const char *path, const char **out,
		    struct as_err *err)
{
	char p[160];
	int ret = get_str(o, key, path, out, err);

	if (ret == -ENOENT)
		return invalid(err, sub(p, sizeof(p), path, key), "Required value");
	return ret;
}

/*
 * A resource.Quantity member (a string, or an integer as int-or-string
 * allows) in milli-units, rounded up as Quantity.MilliValue() does.
 */
static int get_qty(const struct k8s_obj *o, const char *key, const char *path, int64_t *milli,
		   struct as_err *err)
{
	const struct k8s_obj *v = k8s_obj_key(o, key);
	enum k8s_type t = k8s_obj_type(v, "");
	const char *s;
	char p[160];
	int64_t i;

	sub(p, sizeof(p), path, key);
	if (t == K8S_T_ABSENT || t == K8S_T_NULL)
		return -ENOENT;
	if (t == K8S_T_NUMBER) {
		double d = 0, m;

		if (!k8s_obj_int(v, "", &i)) {
			if (__builtin_mul_overflow(i, 1000, milli))
				return invalid(err, p, "out of range");
			return 0;
		}
		/* 0.05 from a YAML file: what Quantity's JSON decoding takes too */
		k8s_obj_num(v, "", &d);
		m = d * 1000.0;
		if (!(m > -9.2e18 && m < 9.2e18))
			return invalid(err, p, "out of range");
		*milli = llround(m);
		if (fabs(m - (double)*milli) > 1e-6)
			*milli = (int64_t)ceil(m);
		return 0;
	}
	s = k8s_obj_str(v, "");
	if (!s)
		return invalid(err, p, "must be a quantity (\"100m\", \"2Mi\", \"1\")");
	switch (k8s_quantity_parse(s, milli)) {
	case 0:
		return 0;
	case -ERANGE:
		return invalid(err, p, "out of range");
	default:
		return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
			   "%s: \"%.40s\" is not a quantity (\"100m\", \"2Mi\", \"1\")", p, s);
	}
}

/* which of @names @s is: its index; -1 when none */
static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; s && i < n; i++)
		if (names[i] && !strcmp(s, names[i]))
			return i;
	return -1;
}

static const char *const metric_types[] = {
	[AS_SRC_RESOURCE] = "Resource", [AS_SRC_CONTAINER_RESOURCE] = "ContainerResource",
	[AS_SRC_PODS] = "Pods",		[AS_SRC_OBJECT] = "Object",
	[AS_SRC_EXTERNAL] = "External",
};
/* the member each type populates, in the same order */
static const char *const metric_members[] = {"resource", "containerResource", "pods", "object",
					     "external"};
static const char *const target_types[] = {
	[AS_TARGET_UTILIZATION] = "Utilization",
	[AS_TARGET_AVERAGE_VALUE] = "AverageValue",
	[AS_TARGET_VALUE] = "Value",
};

/* MetricTarget: exactly the field its type names, as validateMetricTarget() */
static int decode_target(const struct k8s_obj *m, const char *path, struct as_metric_spec *ms,
			 struct as_err *err)
{
	const struct k8s_obj *t;
	const char *type;
	char p[160], q[200];
	int ret, k;

	sub(p, sizeof(p), path, "target");
	ret = want_object(m, "target", &t);
	if (ret == -ENOENT)
		return invalid(err, p, "Required value: must specify a metric target");
	if (ret)
		return invalid(err, p, "must be an object");
	ret = need_str(t, "type", p, &type, err);
	if (ret)
		return ret;
	k = pick(type, target_types, 3);
	if (k < 0)
		return bad(
			err, -EINVAL, AS_REASON_INVALID_SPEC,
			"%s.type: Unsupported value: \"%.40s\": supported values: \"AverageValue\", \"Utilization\", \"Value\"",
			p, type);
	ms->target = (enum as_target_type)k;
	switch (ms->target) {
	case AS_TARGET_UTILIZATION:
		ret = get_i32(t, "averageUtilization", p, &ms->utilization, err);
		if (ret == -ENOENT)
			return invalid(
				err, sub(q, sizeof(q), p, "averageUtilization"),
				"Required value: must set averageUtilization when type is Utilization");
		if (!ret && ms->utilization <= 0)
			return invalid(err, sub(q, sizeof(q), p, "averageUtilization"),
				       "must be greater than 0");
		return ret;
	case AS_TARGET_AVERAGE_VALUE:
	case AS_TARGET_VALUE: {
		const char *key = ms->target == AS_TARGET_VALUE ? "value" : "averageValue";

		ret = get_qty(t, key, p, &ms->value, err);
		if (ret == -ENOENT)
			return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
				   "%s.%s: Required value: must set %s when type is %s", p, key,
				   key, type);
		if (!ret && ms->value <= 0)
			return invalid(err, sub(q, sizeof(q), p, key), "must be positive");
		return ret;
	}
	}
	return -EINVAL; /* not reached */
}

static int decode_resource_name(const struct k8s_obj *m, const char *path,
				struct as_metric_spec *ms, struct as_err *err)
{
	const char *name = NULL;
	char p[160];
	int ret = need_str(m, "name", path, &name, err);

	if (ret)
		return ret;
	if (!strcmp(name, "cpu"))
		ms->resource = AS_RES_CPU;
	else if (!strcmp(name, "memory"))
		ms->resource = AS_RES_MEMORY;
	else
		return bad(
			err, -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC,
			"%s: resource \"%.40s\" is not measured: ferry's agents measure cpu and memory",
			sub(p, sizeof(p), path, "name"), name);
	return 0;
}

static int decode_metric(const struct k8s_obj *m, size_t i, struct as_metric_spec *ms,
			 struct as_err *err)
{
	const struct k8s_obj *src, *id;
	const char *type, *ign;
	char path[64], p[160], q[200];
	int ret, k;

	snprintf(path, sizeof(path), "spec.metrics[%zu]", i);
	memset(ms, 0, sizeof(*ms));
	if (k8s_obj_type(m, "") != K8S_T_OBJECT)
		return invalid(err, path, "must be an object");
	ret = need_str(m, "type", path, &type, err);
	if (ret)
		return ret;
	k = pick(type, metric_types, 5);
	if (k < 0)
		return bad(
			err, -EINVAL, AS_REASON_INVALID_SPEC,
			"%s.type: Unsupported value: \"%.40s\": supported values: \"ContainerResource\", \"External\", \"Object\", \"Pods\", \"Resource\"",
			path, type);
	ms->source = (enum as_source)k;
	/* only the member of its type (validateMetricSpec) */
	for (int j = 0; j < 5; j++) {
		enum k8s_type t = k8s_obj_type(k8s_obj_key(m, metric_members[j]), "");

		if (j != k && t != K8S_T_ABSENT && t != K8S_T_NULL)
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"%s.%s: Forbidden: must populate the given metric source only (type is %s)",
				path, metric_members[j], type);
	}
	sub(p, sizeof(p), path, metric_members[k]);
	ret = want_object(m, metric_members[k], &src);
	if (ret == -ENOENT)
		return bad(
			err, -EINVAL, AS_REASON_INVALID_SPEC,
			"%s: Required value: must populate information for the given metric source (type %s)",
			p, type);
	if (ret)
		return invalid(err, p, "must be an object");

	switch (ms->source) {
	case AS_SRC_RESOURCE:
		ret = decode_resource_name(src, p, ms, err);
		break;
	case AS_SRC_CONTAINER_RESOURCE:
		ret = decode_resource_name(src, p, ms, err);
		if (!ret)
			ret = need_str(src, "container", p, &ms->name, err);
		break;
	case AS_SRC_PODS:
		ret = want_object(src, "metric", &id);
		if (ret)
			return invalid(err, sub(q, sizeof(q), p, "metric"),
				       ret == -ENOENT ? "Required value" : "must be an object");
		ret = need_str(id, "name", sub(q, sizeof(q), p, "metric"), &ms->name, err);
		if (ret)
			return ret;
		if (k8s_obj_type(id, "/selector") != K8S_T_ABSENT &&
		    k8s_obj_type(id, "/selector") != K8S_T_NULL)
			return bad(
				err, -EOPNOTSUPP, AS_REASON_UNSUPPORTED_METRIC,
				"%s.metric.selector: not supported: ferry's signals are per pod, with no series to select",
				p);
		break;
	case AS_SRC_OBJECT:
	case AS_SRC_EXTERNAL:
		/* refused by as_policy_check(): only what names it is read */
		ret = get_str(k8s_obj_key(src, "metric"), "name", p, &ign, err);
		if (ret == -EINVAL)
			return ret;
		ret = 0;
		break;
	}
	if (ret)
		return ret;
	return decode_target(src, p, ms, err);
}

static int decode_rules(const struct k8s_obj *b, const char *key, struct as_rules *r,
			struct as_err *err)
{
	static const char *const selects[] = {[AS_SELECT_MAX] = "Max",
					      [AS_SELECT_MIN] = "Min",
					      [AS_SELECT_DISABLED] = "Disabled"};
	static const char *const ptypes[] = {
		[AS_POLICY_PODS] = "Pods", [AS_POLICY_PERCENT] = "Percent"};
	const struct k8s_obj *o, *pl;
	const char *s;
	char path[64], p[96];
	int64_t tol;
	int ret, k;
	size_t i = 0;

	snprintf(path, sizeof(path), "spec.behavior.%s", key);
	ret = want_object(b, key, &o);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return invalid(err, path, "must be an object");
	ret = get_i32(o, "stabilizationWindowSeconds", path, &r->window_s, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret && (r->window_s < 0 || r->window_s > AS_MAX_WINDOW_S))
		return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
			   "%s.stabilizationWindowSeconds: Invalid value: %d: must be within 0..%d",
			   path, r->window_s, AS_MAX_WINDOW_S);
	ret = get_str(o, "selectPolicy", path, &s, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret) {
		k = pick(s, selects, 4);
		if (k <= 0)
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"%s.selectPolicy: Unsupported value: \"%.40s\": supported values: \"Disabled\", \"Max\", \"Min\"",
				path, s);
		r->select = (enum as_select)k;
	}
	ret = get_qty(o, "tolerance", path, &tol, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret) {
		if (tol < 0)
			return invalid(err, sub(p, sizeof(p), path, "tolerance"),
				       "must be greater than or equal to 0");
		r->tolerance = (double)tol / 1000.0;
	}
	pl = k8s_obj_key(o, "policies");
	switch (k8s_obj_type(pl, "")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		return 0;
	case K8S_T_ARRAY:
		break;
	default:
		return invalid(err, sub(p, sizeof(p), path, "policies"), "must be an array");
	}
	if (k8s_obj_len(pl, "") > AS_POLICIES_MAX)
		return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
			   "%s.policies: Too many: %zu: must have at most %d items", path,
			   k8s_obj_len(pl, ""), AS_POLICIES_MAX);
	for (const struct k8s_obj *e = k8s_obj_first(pl); e; e = k8s_obj_next(e), i++) {
		struct as_scaling_policy *sp = &r->policies[i];
		char ep[96];

		snprintf(ep, sizeof(ep), "%s.policies[%zu]", path, i);
		if (k8s_obj_type(e, "") != K8S_T_OBJECT)
			return invalid(err, ep, "must be an object");
		ret = need_str(e, "type", ep, &s, err);
		if (ret)
			return ret;
		k = pick(s, ptypes, 2);
		if (k < 0)
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"%s.type: Unsupported value: \"%.40s\": supported values: \"Percent\", \"Pods\"",
				ep, s);
		sp->type = (enum as_policy_type)k;
		ret = get_i32(e, "value", ep, &sp->value, err);
		if (ret == -ENOENT)
			return invalid(err, sub(p, sizeof(p), ep, "value"), "Required value");
		if (ret)
			return ret;
		if (sp->value <= 0)
			return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
				   "%s.value: Invalid value: %d: must be greater than zero", ep,
				   sp->value);
		ret = get_i32(e, "periodSeconds", ep, &sp->period_s, err);
		if (ret == -ENOENT)
			return invalid(err, sub(p, sizeof(p), ep, "periodSeconds"),
				       "Required value");
		if (ret)
			return ret;
		if (sp->period_s <= 0 || sp->period_s > AS_MAX_PERIOD_S)
			return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
				   "%s.periodSeconds: Invalid value: %d: must be within 1..%d", ep,
				   sp->period_s, AS_MAX_PERIOD_S);
	}
	r->n_policies = i;
	/* an empty list is the API's "no policy": scaling that way is not allowed */
	if (i == 0)
		return invalid(err, sub(p, sizeof(p), path, "policies"),
			       "Required value: must specify at least one Percent or Pods policy");
	return 0;
}

int as_spec_decode(const struct k8s_obj *sp, struct as_spec *out, struct as_err *err)
{
	const struct k8s_obj *spec, *ref, *metrics, *beh;
	struct as_err dummy;
	const char *mode, *rule;
	int32_t win;
	int ret;

	if (!err)
		err = &dummy;
	err->code = 0;
	err->reason = "";
	err->msg[0] = '\0';
	memset(out, 0, sizeof(*out));
	as_policy_init(&out->policy);
	out->policy.metrics = out->metrics;
	out->api_version = "";
	out->window.window_ms = AS_DEFAULT_SUSTAIN_WINDOW_MS;
	out->window.stale_ms = AS_DEFAULT_SUSTAIN_STALE_MS;
	if (out->window.stale_ms < 2 * out->window.window_ms)
		out->window.stale_ms = 2 * out->window.window_ms;
	out->window.rule = AS_SUSTAIN_HELD;

	if (k8s_obj_type(sp, "") != K8S_T_OBJECT)
		return invalid(err, "ScalePolicy", "must be an object");
	k8s_obj_int(sp, "/metadata/generation", &out->generation);
	ret = want_object(sp, "spec", &spec);
	if (ret)
		return invalid(err, "spec",
			       ret == -ENOENT ? "Required value" : "must be an object");

	ret = want_object(spec, "scaleTargetRef", &ref);
	if (ret)
		return invalid(err, "spec.scaleTargetRef",
			       ret == -ENOENT ? "Required value" : "must be an object");
	ret = need_str(ref, "kind", "spec.scaleTargetRef", &out->kind, err);
	if (!ret)
		ret = need_str(ref, "name", "spec.scaleTargetRef", &out->name, err);
	if (!ret &&
	    get_str(ref, "apiVersion", "spec.scaleTargetRef", &out->api_version, err) == -EINVAL)
		ret = -EINVAL;
	if (ret)
		return ret;

	ret = get_i32(spec, "minReplicas", "spec", &out->policy.min_replicas, err);
	if (ret == -EINVAL)
		return ret;
	if (out->policy.min_replicas < 0)
		return invalid(err, "spec.minReplicas", "must be greater than or equal to 0");
	ret = get_i32(spec, "maxReplicas", "spec", &out->policy.max_replicas, err);
	if (ret == -ENOENT)
		return invalid(err, "spec.maxReplicas", "Required value");
	if (ret)
		return ret;
	if (out->policy.max_replicas < 1)
		return invalid(err, "spec.maxReplicas", "must be greater than or equal to 1");

	metrics = k8s_obj_key(spec, "metrics");
	switch (k8s_obj_type(metrics, "")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		break;
	case K8S_T_ARRAY:
		if (k8s_obj_len(metrics, "") > AS_METRICS_MAX)
			return bad(err, -EINVAL, AS_REASON_INVALID_SPEC,
				   "spec.metrics: Too many: %zu: must have at most %d items",
				   k8s_obj_len(metrics, ""), AS_METRICS_MAX);
		for (const struct k8s_obj *m = k8s_obj_first(metrics); m; m = k8s_obj_next(m)) {
			ret = decode_metric(m, out->policy.n_metrics,
					    &out->metrics[out->policy.n_metrics], err);
			if (ret)
				return ret;
			out->policy.n_metrics++;
		}
		break;
	default:
		return invalid(err, "spec.metrics", "must be an array");
	}
	if (!out->policy.n_metrics) {
		/* the API's default: cpu at 80 % of the requests */
		out->metrics[0] =
			(struct as_metric_spec){.source = AS_SRC_RESOURCE,
						.resource = AS_RES_CPU,
						.target = AS_TARGET_UTILIZATION,
						.utilization = AS_DEFAULT_CPU_UTILIZATION};
		out->policy.n_metrics = 1;
	}

	ret = want_object(spec, "behavior", &beh);
	if (ret == -EINVAL)
		return invalid(err, "spec.behavior", "must be an object");
	if (!ret) {
		out->policy.has_behavior = true;
		ret = decode_rules(beh, "scaleUp", &out->policy.up, err);
		if (!ret)
			ret = decode_rules(beh, "scaleDown", &out->policy.down, err);
		if (ret)
			return ret;
	}

	ret = get_str(spec, "mode", "spec", &mode, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret) {
		if (!strcmp(mode, "Shadow"))
			out->mode = AS_MODE_SHADOW;
		else if (strcmp(mode, "Active"))
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"spec.mode: Unsupported value: \"%.40s\": supported values: \"Active\", \"Shadow\"",
				mode);
	}
	ret = get_i32(spec, "sustainWindowSeconds", "spec", &win, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret) {
		if (win < 1 || win > AS_MAX_SUSTAIN_S)
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"spec.sustainWindowSeconds: Invalid value: %d: must be within 1..%d",
				win, AS_MAX_SUSTAIN_S);
		out->window.window_ms = (int64_t)win * 1000;
		out->window.stale_ms = AS_DEFAULT_SUSTAIN_STALE_MS;
		if (out->window.stale_ms < 2 * out->window.window_ms)
			out->window.stale_ms = 2 * out->window.window_ms;
	}
	ret = get_str(spec, "sustainRule", "spec", &rule, err);
	if (ret == -EINVAL)
		return ret;
	if (!ret) {
		if (!strcmp(rule, "Mean"))
			out->window.rule = AS_SUSTAIN_MEAN;
		else if (strcmp(rule, "Held"))
			return bad(
				err, -EINVAL, AS_REASON_INVALID_SPEC,
				"spec.sustainRule: Unsupported value: \"%.40s\": supported values: \"Held\", \"Mean\"",
				rule);
	}

	ret = as_policy_check(&out->policy, err);
	if (ret) {
		char m[sizeof(err->msg)];

		snprintf(m, sizeof(m), "%s", err->msg);
		if (snprintf(err->msg, sizeof(err->msg), "spec.%s", m) < 0)
			err->msg[0] = '\0';
		one_line(err->msg);
	}
	return ret;
}

/* ---- the status ---- */

/* a milli-unit value as a Quantity string: "150m", "2" */
static void qty_string(int64_t milli, char buf[32])
{
	if (milli % 1000 == 0)
		snprintf(buf, 32, "%lld", (long long)(milli / 1000));
	else
		snprintf(buf, 32, "%lldm", (long long)milli);
}

/* autoscaling/v2 MetricStatus of one metric */
static int metric_status(struct k8s_obj *arr, const struct as_metric_spec *ms,
			 const struct as_metric_status *st)
{
	static const char *const res[] = {"", "cpu", "memory"};
	struct k8s_obj *e;
	char q[32], cur[48];
	const char *mem = metric_members[ms->source];
	int ret;

	ret = k8s_obj_new(&e);
	if (ret)
		return ret;
	ret = k8s_obj_set_str(e, "/type", metric_types[ms->source]);
	if (ret || !st->valid || ms->source == AS_SRC_OBJECT || ms->source == AS_SRC_EXTERNAL)
		goto out_append;
	if (ms->source == AS_SRC_PODS) {
		char p[48];

		snprintf(p, sizeof(p), "/%s/metric/name", mem);
		ret = k8s_obj_set_str(e, p, ms->name);
	} else {
		char p[48];

		snprintf(p, sizeof(p), "/%s/name", mem);
		ret = k8s_obj_set_str(e, p, res[ms->resource]);
		if (!ret && ms->source == AS_SRC_CONTAINER_RESOURCE) {
			snprintf(p, sizeof(p), "/%s/container", mem);
			ret = k8s_obj_set_str(e, p, ms->name);
		}
	}
	qty_string(st->average_value, q);
	snprintf(cur, sizeof(cur), "/%s/current/averageValue", mem);
	if (!ret)
		ret = k8s_obj_set_str(e, cur, q);
	if (!ret && st->has_utilization) {
		snprintf(cur, sizeof(cur), "/%s/current/averageUtilization", mem);
		ret = k8s_obj_set_int(e, cur, st->average_utilization);
	}
out_append:
	if (!ret)
		ret = k8s_obj_set(arr, "/-", e);
	if (ret)
		k8s_obj_free(e);
	return ret;
}

/*
 * One HPA condition into @arr: the previous one of its type keeps its
 * lastTransitionTime when the status is the same.
 */
static int put_condition(struct k8s_obj *arr, const struct k8s_obj *old, const char *type,
			 const struct as_condition *c, int64_t now_ms)
{
	const char *status = c->status ? "True" : "False", *ltt = NULL;
	char t[K8S_TIME_SIZE];
	struct k8s_obj *e;
	int ret;

	for (const struct k8s_obj *o = k8s_obj_first(old); o; o = k8s_obj_next(o)) {
		const char *ot = k8s_obj_str(o, "/type"), *os = k8s_obj_str(o, "/status");

		if (ot && !strcmp(ot, type) && os && !strcmp(os, status))
			ltt = k8s_obj_str(o, "/lastTransitionTime");
	}
	if (!ltt) {
		k8s_time_format(now_ms * 1000000, false, t);
		ltt = t;
	}
	ret = k8s_obj_new(&e);
	if (ret)
		return ret;
	ret = k8s_obj_set_str(e, "/type", type);
	if (!ret)
		ret = k8s_obj_set_str(e, "/status", status);
	if (!ret)
		ret = k8s_obj_set_str(e, "/lastTransitionTime", ltt);
	if (!ret)
		ret = k8s_obj_set_str(e, "/reason", c->reason ? c->reason : "");
	if (!ret)
		ret = k8s_obj_set_str(e, "/message", c->message);
	if (!ret)
		ret = k8s_obj_set(arr, "/-", e);
	if (ret)
		k8s_obj_free(e);
	return ret;
}

static const char *const cond_types[] = {"AbleToScale", "ScalingActive", "ScalingLimited"};

static int conditions(struct k8s_obj *st, const struct k8s_obj *old, const struct as_decision *d,
		      int64_t now_ms)
{
	const struct as_condition *c[] = {&d->able_to_scale, &d->scaling_active,
					  &d->scaling_limited};
	struct k8s_obj *arr;
	int ret;

	ret = k8s_obj_new_array(&arr);
	if (ret)
		return ret;
	for (int i = 0; i < 3 && !ret; i++) {
		if (c[i]->set) {
			ret = put_condition(arr, old, cond_types[i], c[i], now_ms);
			continue;
		}
		/* not set this pass: what it was */
		for (const struct k8s_obj *o = k8s_obj_first(old); o && !ret; o = k8s_obj_next(o)) {
			const char *ot = k8s_obj_str(o, "/type");

			if (ot && !strcmp(ot, cond_types[i]))
				ret = k8s_obj_set_copy(arr, "/-", o);
		}
	}
	/* conditions of other types someone else wrote stay */
	for (const struct k8s_obj *o = k8s_obj_first(old); o && !ret; o = k8s_obj_next(o)) {
		const char *ot = k8s_obj_str(o, "/type");

		if (!ot || pick(ot, cond_types, 3) < 0)
			ret = k8s_obj_set_copy(arr, "/-", o);
	}
	if (!ret)
		ret = k8s_obj_set(st, "/conditions", arr);
	if (ret)
		k8s_obj_free(arr);
	return ret;
}

int as_status_patch(const struct k8s_obj *sp, const struct as_spec *spec,
		    const struct as_outcome *out, int64_t now_ms, struct k8s_obj **patch)
{
	const struct as_decision *d = &out->dec;
	const struct k8s_obj *old = k8s_obj_at(sp, "/status/conditions");
	struct k8s_obj *p = NULL, *st, *arr = NULL;
	char t[K8S_TIME_SIZE];
	int64_t gen = 0;
	int ret;

	*patch = NULL;
	ret = k8s_obj_new(&st);
	if (ret)
		return ret;
	k8s_obj_int(sp, "/metadata/generation", &gen);
	if (!ret && gen > 0)
		ret = k8s_obj_set_int(st, "/observedGeneration", gen);
	if (!ret && out->decided)
		ret = k8s_obj_set_int(st, "/currentReplicas", d->current_replicas);
	if (!ret && out->decided && d->desired_replicas >= 0)
		ret = k8s_obj_set_int(st, "/desiredReplicas", d->desired_replicas);
	if (!ret && out->decided && spec && d->n_metrics == spec->policy.n_metrics) {
		ret = k8s_obj_new_array(&arr);
		for (size_t i = 0; !ret && i < d->n_metrics; i++)
			ret = metric_status(arr, &spec->metrics[i], &d->metrics[i]);
		if (!ret)
			ret = k8s_obj_set(st, "/currentMetrics", arr);
		if (ret)
			k8s_obj_free(arr);
	}
	if (!ret && (out->scaled || out->shadow)) {
		k8s_time_format(now_ms * 1000000, false, t);
		if (out->scaled)
			ret = k8s_obj_set_str(st, "/lastScaleTime", t);
		if (!ret)
			ret = k8s_obj_set_str(st, "/lastDecision/time", t);
		if (!ret)
			ret = k8s_obj_set_int(st, "/lastDecision/currentReplicas",
					      d->current_replicas);
		if (!ret)
			ret = k8s_obj_set_int(st, "/lastDecision/desiredReplicas",
					      d->desired_replicas);
		if (!ret)
			ret = k8s_obj_set_str(st, "/lastDecision/reason", d->rescale_reason);
		if (!ret)
			ret = k8s_obj_set_bool(st, "/lastDecision/applied", out->scaled);
	}
	if (!ret)
		ret = conditions(st, old, d, now_ms);
	if (!ret)
		ret = k8s_obj_new(&p);
	if (!ret) {
		ret = k8s_obj_set(p, "/status", st);
		if (ret)
			k8s_obj_free(p);
	}
	if (ret) {
		k8s_obj_free(st);
		return ret;
	}
	*patch = p;
	return 0;
}
