// SPDX-License-Identifier: MIT
/*
 * control/lb/policy.c - the LoadBalancePolicy custom resource
 * (k8s/deploy/crd-loadbalancepolicies.yaml) decoded into struct lb_policy
 * (lb.h). The CRD's schema and defaults are the contract: what the API
 * server would refuse is refused here too (a policy read from a file, or
 * stored before the schema tightened), and what it defaults is defaulted
 * here when absent. Every refusal is -EINVAL with one line that names the
 * field, which the reconciler puts into the Ready condition (InvalidSpec).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"
#include "k8s/k8s.h"

const struct k8s_resource lb_policies =
	K8S_RESOURCE("ferry.io", "v1alpha1", "loadbalancepolicies", "LoadBalancePolicy", true);

static int __attribute__((format(printf, 2, 3))) bad(struct lb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	/* one line, whatever the values it quotes hold */
	for (char *c = err->msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return -EINVAL;
}

static bool absent(const struct k8s_obj *o, const char *path)
{
	enum k8s_type t = k8s_obj_type(o, path);

	return t == K8S_T_ABSENT || t == K8S_T_NULL;
}

/* a DNS-1035 label (a Service's name): [a-z]([-a-z0-9]*[a-z0-9])?, at most 63 */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 63 || s[0] < 'a' || s[0] > 'z' || s[n - 1] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* a DNS-1123 subdomain (an HTTPRoute's name): lower-case labels joined by dots, at most 253 */
static bool dns_subdomain(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 253)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool alnum = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9');
		bool edge = i == 0 || i == n - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (!alnum && !(s[i] == '-' && !edge) && !(s[i] == '.' && !edge))
			return false;
	}
	return true;
}

/* an integer field in [lo, hi], @dflt when absent */
static int get_int(const struct k8s_obj *spec, const char *key, int64_t lo, int64_t hi,
		   int64_t dflt, int64_t *out, struct lb_err *err)
{
	char path[64];

	snprintf(path, sizeof(path), "/%s", key);
	*out = dflt;
	if (absent(spec, path))
		return 0;
	if (k8s_obj_int(spec, path, out) || *out < lo || *out > hi)
		return bad(err, "spec.%s: must be an integer from %lld to %lld", key, (long long)lo,
			   (long long)hi);
	return 0;
}

/*
 * A quantity field (a string, or a number as int-or-string allows) in
 * milli-units, in (0, @hi_milli]; @dflt_milli when absent.
 */
static int get_qty(const struct k8s_obj *o, const char *key, const char *name, int64_t hi_milli,
		   int64_t dflt_milli, int64_t *milli, struct lb_err *err)
{
	const struct k8s_obj *v = k8s_obj_key(o, key);
	const char *s;
	double d = 0;
	int ret;

	*milli = dflt_milli;
	if (absent(v, ""))
		return 0;
	if (k8s_obj_type(v, "") == K8S_T_NUMBER) {
		if (k8s_obj_num(v, "", &d) || !(d > 0 && d * 1000.0 <= (double)hi_milli))
			goto range;
		*milli = (int64_t)(d * 1000.0 + 0.999999); /* up, as Quantity.MilliValue() */
		return 0;
	}
	s = k8s_obj_str(v, "");
	if (!s)
		return bad(err, "%s: must be a quantity (\"1\", \"500m\", \"0.002\")", name);
	ret = k8s_quantity_parse(s, milli);
	if (ret == -EINVAL)
		return bad(err, "%s: \"%.40s\" is not a quantity (\"1\", \"500m\", \"0.002\")",
			   name, s);
	if (ret || *milli <= 0 || *milli > hi_milli)
		goto range;
	return 0;
range:
	return bad(err, "%s: more than 0 and at most %g", name, (double)hi_milli / 1000.0);
}

static int parse_runq(const struct k8s_obj *spec, struct lb_policy *out, struct lb_err *err)
{
	const struct k8s_obj *rq = k8s_obj_key(spec, "runQueue");
	bool enabled = true;
	int64_t milli;
	int ret;

	if (absent(rq, ""))
		return 0; /* absent: not used */
	if (k8s_obj_type(rq, "") != K8S_T_OBJECT)
		return bad(err, "spec.runQueue: must be an object ({enabled, targetSeconds})");
	if (!absent(rq, "/enabled") && k8s_obj_bool(rq, "/enabled", &enabled))
		return bad(err, "spec.runQueue.enabled: must be true or false");
	ret = get_qty(rq, "targetSeconds", "spec.runQueue.targetSeconds", 10000,
		      (int64_t)(LB_DEFAULT_RUNQ_TARGET_S * 1000.0 + 0.5), &milli, err);
	if (ret)
		return ret;
	if (enabled) {
		out->w.signals |= LB_SIGNAL_RUNQ;
		out->w.runq_target_s = (double)milli / 1000.0;
	}
	return 0;
}

static int parse_route(const struct k8s_obj *spec, struct lb_policy *out, struct lb_err *err)
{
	const struct k8s_obj *r = k8s_obj_key(spec, "httpRoute"), *list;
	const char *name;
	size_t i = 0;

	if (absent(r, ""))
		return 0;
	if (k8s_obj_type(r, "") != K8S_T_OBJECT)
		return bad(err, "spec.httpRoute: must be an object ({name, services})");
	name = k8s_obj_str(r, "/name");
	if (absent(r, "/name"))
		return bad(err, "spec.httpRoute.name: Required value");
	if (!name || !dns_subdomain(name))
		return bad(err,
			   "spec.httpRoute.name: must be an HTTPRoute's name (a DNS subdomain)");
	snprintf(out->route, sizeof(out->route), "%s", name);
	list = k8s_obj_key(r, "services");
	if (!absent(list, "") && k8s_obj_type(list, "") != K8S_T_ARRAY)
		return bad(err, "spec.httpRoute.services: must be a list of Service names");
	for (const struct k8s_obj *e = k8s_obj_first(list); e; e = k8s_obj_next(e), i++) {
		const char *s = k8s_obj_str(e, "");

		if (!s || !dns_label(s))
			return bad(err, "spec.httpRoute.services[%zu]: must be a Service's name",
				   i);
		if (out->n_services == LB_MAX_ROUTE_SERVICES)
			return bad(err, "spec.httpRoute.services: at most %d Services",
				   LB_MAX_ROUTE_SERVICES);
		for (size_t j = 0; j < out->n_services; j++)
			if (!strcmp(out->services[j], s))
				return bad(err, "spec.httpRoute.services[%zu]: %s is listed twice",
					   i, s);
		snprintf(out->services[out->n_services++], LB_NAME_SIZE, "%s", s);
	}
	if (!out->n_services)
		snprintf(out->services[out->n_services++], LB_NAME_SIZE, "%s", out->service);
	return 0;
}

int lb_policy_parse(const struct k8s_obj *policy, struct lb_policy *out, struct lb_err *err)
{
	const struct k8s_obj *spec = k8s_obj_key(policy, "spec");
	const char *svc, *cpu;
	struct lb_err werr;
	int64_t v, milli;
	int ret;

	memset(out, 0, sizeof(*out));
	if (err)
		err->msg[0] = '\0';
	lb_weight_policy_init(&out->w);
	out->w.signals = 0;
	if (absent(spec, ""))
		return bad(err, "spec: Required value");
	if (k8s_obj_type(spec, "") != K8S_T_OBJECT)
		return bad(err, "spec: must be an object");
	svc = k8s_obj_str(spec, "/service");
	if (absent(spec, "/service"))
		return bad(err, "spec.service: Required value");
	if (!svc || !dns_label(svc))
		return bad(err, "spec.service: must be a Service's name (a DNS-1035 label)");
	snprintf(out->service, sizeof(out->service), "%s", svc);

	cpu = k8s_obj_str(spec, "/cpu");
	if (absent(spec, "/cpu") || (cpu && !strcmp(cpu, "Requests")))
		out->w.signals |= LB_SIGNAL_CPU_REQUESTS;
	else if (cpu && !strcmp(cpu, "Limits"))
		out->w.signals |= LB_SIGNAL_CPU_LIMITS;
	else if (!cpu || strcmp(cpu, "None"))
		return bad(err, "spec.cpu: must be Requests, Limits or None");
	ret = parse_runq(spec, out, err);
	if (!ret)
		ret = get_int(spec, "floorPercent", 1, 100, 5, &v, err);
	if (ret)
		return ret;
	out->w.floor = (double)v / 100.0;
	ret = get_int(spec, "hysteresisPercent", 0, 99, 10, &v, err);
	if (ret)
		return ret;
	out->w.hysteresis = (double)v / 100.0;
	ret = get_int(spec, "updatePeriodSeconds", LB_MIN_UPDATE_PERIOD_S, LB_MAX_UPDATE_PERIOD_S,
		      LB_DEFAULT_UPDATE_PERIOD_S, &v, err);
	if (ret)
		return ret;
	out->update_period_s = (unsigned int)v;
	ret = get_int(spec, "slowStartSeconds", 0, 3600, (int64_t)LB_DEFAULT_SLOW_START_S, &v, err);
	if (ret)
		return ret;
	out->w.slow_start_s = (double)v;
	ret = get_qty(spec, "bestEffortCPU", "spec.bestEffortCPU", 1024000,
		      (int64_t)(LB_DEFAULT_BESTEFFORT_CORES * 1000.0), &milli, err);
	if (ret)
		return ret;
	out->w.besteffort_cores = (double)milli / 1000.0;
	ret = parse_route(spec, out, err);
	if (ret)
		return ret;
	if (!out->w.signals)
		return bad(err,
			   "spec.cpu: None with spec.runQueue off leaves no signal to weigh by");
	if (lb_weight_policy_check(&out->w, &werr))
		return bad(err, "spec: %s", werr.msg);
	return 0;
}
