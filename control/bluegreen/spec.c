// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/spec.c - a StatefulSwitch's spec, decoded and checked
 * (bluegreen.h), and a round's verdict. It reads anything: fuzzed by
 * tests/fuzz/fuzz_switch_spec.c.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "bluegreen.h"
#include "control/cli/cli.h"
#include "control/signals/signals.h"

const struct k8s_resource bg_switches =
	K8S_RESOURCE("ferry.io", "v1alpha1", "statefulswitches", "StatefulSwitch", true);

/* a DNS-1123 label: what names a StatefulSet's pods, a Service, a container */
static bool label(const char *s)
{
	return s && ctl_namespace_valid(s); /* the same rule as a namespace's name */
}

static bool absent(const struct k8s_obj *o, const char *path)
{
	enum k8s_type t = k8s_obj_type(o, path);

	return t == K8S_T_ABSENT || t == K8S_T_NULL;
}

/* an optional name at @path: *@v NULL when absent */
static int name_at(const struct k8s_obj *sw, const char *path, const char *field, const char **v,
		   char *why, size_t len)
{
	*v = NULL;
	if (absent(sw, path))
		return 0;
	*v = k8s_obj_str(sw, path);
	if (!label(*v))
		return ctl_refuse(why, len,
				  "%s: Invalid value: a DNS-1123 label (at most %d characters)",
				  field, BG_NAME_MAX);
	return 0;
}

static int int_at(const struct k8s_obj *sw, const char *path, const char *field, int64_t lo,
		  int64_t hi, int64_t *v, char *why, size_t len)
{
	if (absent(sw, path))
		return 0;
	if (k8s_obj_type(sw, path) != K8S_T_NUMBER || k8s_obj_int(sw, path, v) || *v < lo ||
	    *v > hi)
		return ctl_refuse(why, len, "%s: Invalid value: a whole number from %lld to %lld",
				  field, (long long)lo, (long long)hi);
	return 0;
}

static int num_at(const struct k8s_obj *sw, const char *path, const char *field, double lo,
		  double hi, double *v, char *why, size_t len)
{
	if (absent(sw, path))
		return 0;
	if (k8s_obj_type(sw, path) != K8S_T_NUMBER || k8s_obj_num(sw, path, v) || !isfinite(*v) ||
	    *v < lo || *v > hi)
		return ctl_refuse(why, len, "%s: Invalid value: a number from %g to %g", field, lo,
				  hi);
	return 0;
}

static int bool_at(const struct k8s_obj *sw, const char *path, const char *field, bool *v,
		   char *why, size_t len)
{
	if (absent(sw, path))
		return 0;
	if (k8s_obj_bool(sw, path, v))
		return ctl_refuse(why, len, "%s: Invalid value: true or false", field);
	return 0;
}

/* @path one of @a or @b (absent: @a) */
static int enum_at(const struct k8s_obj *sw, const char *path, const char *field, const char *a,
		   const char *b, const char **v, char *why, size_t len)
{
	const char *s = k8s_obj_str(sw, path);

	*v = a;
	if (absent(sw, path))
		return 0;
	if (!s || (strcmp(s, a) && strcmp(s, b)))
		return ctl_refuse(why, len, "%s: Unsupported value: \"%s\" or \"%s\"", field, a, b);
	*v = !strcmp(s, a) ? a : b;
	return 0;
}

static int images_of(const struct k8s_obj *sw, struct bg_spec *out, char *why, size_t len)
{
	const struct k8s_obj *m = k8s_obj_at(sw, "/spec/image");

	if (absent(sw, "/spec/image"))
		return 0;
	if (k8s_obj_type(m, "") != K8S_T_OBJECT)
		return ctl_refuse(why, len,
				  "spec.image: Invalid value: a map of container name to image");
	for (const struct k8s_obj *e = k8s_obj_first(m); e; e = k8s_obj_next(e)) {
		const char *img = k8s_obj_str(e, "");

		if (!label(k8s_obj_name(e)))
			return ctl_refuse(
				why, len,
				"spec.image: Invalid value: \"%.64s\": a container's name (a "
				"DNS-1123 label)",
				k8s_obj_name(e));
		if (!img || !*img || strlen(img) > 1024 || strpbrk(img, " \t\r\n"))
			return ctl_refuse(
				why, len,
				"spec.image.%s: Invalid value: an image reference (no spaces, at "
				"most 1024 characters)",
				k8s_obj_name(e));
	}
	out->images = k8s_obj_len(m, "") ? m : NULL;
	return 0;
}

static int names_of(const struct k8s_obj *sw, struct bg_spec *out, char *why, size_t len)
{
	const char *green;
	size_t n;
	int ret;

	if (k8s_obj_type(sw, "/spec") != K8S_T_OBJECT)
		return ctl_refuse(why, len, "spec: Required value");
	if (absent(sw, "/spec/workloadRef/name"))
		return ctl_refuse(why, len,
				  "spec.workloadRef.name: Required value: blue's StatefulSet");
	ret = name_at(sw, "/spec/workloadRef/name", "spec.workloadRef.name", &out->blue, why, len);
	if (!ret && !absent(sw, "/spec/workloadRef/kind") &&
	    !(k8s_obj_str(sw, "/spec/workloadRef/kind") &&
	      !strcmp(k8s_obj_str(sw, "/spec/workloadRef/kind"), "StatefulSet")))
		ret = ctl_refuse(
			why, len,
			"spec.workloadRef.kind: Unsupported value: \"StatefulSet\" (a Deployment "
			"has no claims of its own to switch)");
	if (ret)
		return ret;
	ret = name_at(sw, "/spec/greenName", "spec.greenName", &green, why, len);
	if (ret)
		return ret;
	n = strlen(out->blue);
	if (green)
		snprintf(out->green, sizeof(out->green), "%s", green);
	else if (n > 6 && !strcmp(out->blue + n - 6, "-green"))
		snprintf(out->green, sizeof(out->green), "%.*s", (int)(n - 6), out->blue);
	else if (n + 6 <= BG_NAME_MAX)
		snprintf(out->green, sizeof(out->green), "%s-green", out->blue);
	else
		return ctl_refuse(why, len,
				  "spec.greenName: Required value: blue's name is too long to add "
				  "\"-green\" to");
	if (!strcmp(out->green, out->blue))
		return ctl_refuse(why, len, "spec.greenName: Invalid value: \"%s\": that is blue",
				  out->green);
	if (absent(sw, "/spec/activeService"))
		return ctl_refuse(why, len,
				  "spec.activeService: Required value: the Service that serves the "
				  "application");
	ret = name_at(sw, "/spec/activeService", "spec.activeService", &out->active, why, len);
	if (!ret)
		ret = name_at(sw, "/spec/previewService", "spec.previewService", &out->preview, why,
			      len);
	if (!ret && out->preview && !strcmp(out->preview, out->active))
		ret = ctl_refuse(why, len,
				 "spec.previewService: Invalid value: the active Service");
	if (!ret)
		ret = name_at(sw, "/spec/repository", "spec.repository", &out->repository, why,
			      len);
	if (!ret && !out->repository)
		out->repository = "default";
	return ret;
}

/* an HTTP path a check pod's shell may carry: '/' then [A-Za-z0-9/._~%?=&-] */
static bool url_path(const char *p)
{
	size_t n = p ? strlen(p) : 0;

	if (!n || n > 256 || p[0] != '/')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!strchr("/._~%?=&-", p[i]) && !(p[i] >= 'a' && p[i] <= 'z') &&
		    !(p[i] >= 'A' && p[i] <= 'Z') && !(p[i] >= '0' && p[i] <= '9'))
			return false;
	return true;
}

/* a Quantity at @path of @m: *@v in milli-units, *@has */
static int quantity_at(const struct k8s_obj *m, const char *path, const char *field, bool *has,
		       int64_t *v, char *why, size_t len)
{
	const char *q = k8s_obj_str(m, path);

	*has = !absent(m, path);
	if (!*has)
		return 0;
	if (!q || k8s_quantity_parse(q, v))
		return ctl_refuse(why, len,
				  "%s: Invalid value: a quantity (\"500m\", \"256Mi\", \"2\")",
				  field);
	return 0;
}

/* @a's metrics: each a signal of the agents' pages with bounds */
static int metrics_of(const struct k8s_obj *a, const char *field, struct bg_analysis *out,
		      char *why, size_t len)
{
	size_t n = k8s_obj_len(a, "/metrics");
	int ret = 0;

	if (absent(a, "/metrics"))
		return 0;
	if (k8s_obj_type(a, "/metrics") != K8S_T_ARRAY || n > BG_MAX_METRICS)
		return ctl_refuse(why, len,
				  "%s.metrics: Invalid value: a list of at most %d metrics", field,
				  BG_MAX_METRICS);
	for (size_t i = 0; !ret && i < n; i++) {
		struct bg_metric *m = &out->metrics[i];
		char p[48], f[96];
		enum sig_kind k;

		snprintf(p, sizeof(p), "/metrics/%zu/name", i);
		m->name = k8s_obj_str(a, p);
		if (sig_kind_by_name(m->name, &k))
			return ctl_refuse(
				why, len,
				"%s.metrics[%zu].name: Unsupported value: a value of the agents' "
				"pages: \"cpu\", \"memory\", \"ferry_runqueue_wait_p99_seconds\", "
				"... (control/signals)",
				field, i);
		m->kind = (int)k;
		snprintf(p, sizeof(p), "/metrics/%zu/min", i);
		snprintf(f, sizeof(f), "%s.metrics[%zu].min", field, i);
		ret = quantity_at(a, p, f, &m->has_min, &m->min, why, len);
		snprintf(p, sizeof(p), "/metrics/%zu/max", i);
		snprintf(f, sizeof(f), "%s.metrics[%zu].max", field, i);
		if (!ret)
			ret = quantity_at(a, p, f, &m->has_max, &m->max, why, len);
		snprintf(p, sizeof(p), "/metrics/%zu/failureLimit", i);
		snprintf(f, sizeof(f), "%s.metrics[%zu].failureLimit", field, i);
		if (!ret)
			ret = int_at(a, p, f, 0, 100000, &m->failure_limit, why, len);
		if (!ret && !m->has_min && !m->has_max)
			ret = ctl_refuse(why, len, "%s.metrics[%zu]: Required value: min or max",
					 field, i);
		if (!ret && m->has_min && m->has_max && m->min > m->max)
			ret = ctl_refuse(why, len, "%s.metrics[%zu]: Invalid value: min above max",
					 field, i);
	}
	out->nmetrics = ret ? 0 : n;
	return ret;
}

/* the analysis at @path (@field in messages) */
static int analysis_of(const struct k8s_obj *sw, const char *path, const char *field,
		       struct bg_analysis *out, char *why, size_t len)
{
	const struct k8s_obj *a = k8s_obj_at(sw, path);
	char f[96];
	size_t n;
	int ret;

	out->duration_s = BG_DEFAULT_ANALYSIS_S;
	out->check_image = BG_CHECK_IMAGE;
	if (absent(sw, path))
		return 0;
	if (k8s_obj_type(a, "") != K8S_T_OBJECT)
		return ctl_refuse(why, len, "%s: Invalid value: an object", field);
	out->obj = a;
	snprintf(f, sizeof(f), "%s.durationSeconds", field);
	ret = int_at(a, "/durationSeconds", f, 1, 3600, &out->duration_s, why, len);
	snprintf(f, sizeof(f), "%s.maxRestarts", field);
	if (!ret)
		ret = int_at(a, "/maxRestarts", f, 0, 1000, &out->max_restarts, why, len);
	if (!ret)
		ret = metrics_of(a, field, out, why, len);
	if (ret)
		return ret;
	if (!absent(a, "/image")) {
		out->check_image = k8s_obj_str(a, "/image");
		if (!out->check_image || !*out->check_image || strlen(out->check_image) > 1024 ||
		    strpbrk(out->check_image, " \t\r\n"))
			return ctl_refuse(why, len, "%s.image: Invalid value: an image reference",
					  field);
	}
	if (absent(a, "/http"))
		return 0;
	n = k8s_obj_len(a, "/http");
	if (k8s_obj_type(a, "/http") != K8S_T_ARRAY || n > BG_MAX_CHECKS)
		return ctl_refuse(why, len, "%s.http: Invalid value: a list of at most %d checks",
				  field, BG_MAX_CHECKS);
	for (size_t i = 0; i < n; i++) {
		char p[48], q[48];
		int64_t port = 0;

		snprintf(p, sizeof(p), "/http/%zu/path", i);
		snprintf(q, sizeof(q), "/http/%zu/port", i);
		if (!url_path(k8s_obj_str(a, p)))
			return ctl_refuse(why, len,
					  "%s.http[%zu].path: Invalid value: a path ('/' and "
					  "[A-Za-z0-9/._~%%?=&-], at most 256)",
					  field, i);
		if (k8s_obj_type(a, q) != K8S_T_NUMBER || k8s_obj_int(a, q, &port) || port < 1 ||
		    port > 65535)
			return ctl_refuse(
				why, len,
				"%s.http[%zu].port: Invalid value: a port from 1 to 65535", field,
				i);
	}
	out->http = n ? k8s_obj_at(a, "/http") : NULL;
	return 0;
}

int bg_spec_decode(const struct k8s_obj *sw, struct bg_spec *out, char *why, size_t len)
{
	const char *release = NULL, *method = NULL;
	int ret;

	memset(out, 0, sizeof(*out));
	out->sync_interval_s = BG_DEFAULT_INTERVAL_S;
	out->scale_down_delay_s = BG_DEFAULT_DELAY_S;
	out->auto_promotion_s = -1;
	out->bound_s = BG_DEFAULT_BOUND_S;
	out->deadline_s = 0;
	out->auto_promote = true;
	ret = names_of(sw, out, why, len);
	if (!ret)
		ret = images_of(sw, out, why, len);
	if (!ret && !absent(sw, "/spec/template")) {
		if (k8s_obj_type(sw, "/spec/template") != K8S_T_OBJECT ||
		    k8s_obj_type(sw, "/spec/template/spec") != K8S_T_OBJECT)
			ret = ctl_refuse(
				why, len,
				"spec.template: Invalid value: a pod template (with spec)");
		else if (out->images)
			ret = ctl_refuse(why, len,
					 "spec.template: Forbidden: image or template, not both");
		out->template = k8s_obj_at(sw, "/spec/template");
	}
	if (!ret)
		ret = int_at(sw, "/spec/syncIntervalSeconds", "spec.syncIntervalSeconds", 1, 86400,
			     &out->sync_interval_s, why, len);
	if (!ret)
		ret = int_at(sw, "/spec/scaleDownDelaySeconds", "spec.scaleDownDelaySeconds", 0,
			     30 * 86400, &out->scale_down_delay_s, why, len);
	if (!ret)
		ret = int_at(sw, "/spec/autoPromotionSeconds", "spec.autoPromotionSeconds", 0,
			     30 * 86400, &out->auto_promotion_s, why, len);
	if (!ret)
		ret = num_at(sw, "/spec/maxWriteUnavailableSeconds",
			     "spec.maxWriteUnavailableSeconds", 1, 3600, &out->bound_s, why, len);
	if (!ret)
		ret = num_at(sw, "/spec/cutoverDeadlineSeconds", "spec.cutoverDeadlineSeconds", 1,
			     7200, &out->deadline_s, why, len);
	if (!ret && !out->deadline_s)
		out->deadline_s = 2 * out->bound_s;
	if (!ret)
		ret = bool_at(sw, "/spec/autoPromotionEnabled", "spec.autoPromotionEnabled",
			      &out->auto_promote, why, len);
	if (!ret)
		ret = bool_at(sw, "/spec/promote", "spec.promote", &out->promote, why, len);
	if (!ret)
		ret = bool_at(sw, "/spec/abort", "spec.abort", &out->abort, why, len);
	if (!ret)
		ret = bool_at(sw, "/spec/rollback", "spec.rollback", &out->rollback, why, len);
	if (!ret)
		ret = enum_at(sw, "/spec/rollbackMode", "spec.rollbackMode", BG_DISCARD,
			      BG_KEEP_GREEN, &out->rollback_mode, why, len);
	if (!ret)
		ret = enum_at(sw, "/spec/releasePolicy", "spec.releasePolicy", "Retain", "Delete",
			      &release, why, len);
	if (!ret)
		out->release_delete = !strcmp(release, "Delete");
	if (!ret)
		ret = enum_at(sw, "/spec/copyMethod", "spec.copyMethod", "Repository", "Clone",
			      &method, why, len);
	if (!ret)
		out->clone = !strcmp(method, "Clone");
	if (!ret)
		ret = analysis_of(sw, "/spec/analysis", "spec.analysis", &out->pre, why, len);
	if (!ret)
		ret = analysis_of(sw, "/spec/postPromotionAnalysis", "spec.postPromotionAnalysis",
				  &out->post, why, len);
	return ret;
}

const char *bg_verdict(int64_t bytes, int64_t prev_bytes, bool have_prev, double predicted_s,
		       double bound_s)
{
	bool close;

	if (!have_prev)
		return "First";
	close = (bytes <= BG_ROUND_FLOOR && prev_bytes <= BG_ROUND_FLOOR) ||
		(double)bytes <= 1.1 * (double)prev_bytes;
	if (!close)
		return "NotConverging";
	return predicted_s <= bound_s ? "Converged" : "TooSlow";
}
