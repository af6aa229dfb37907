// SPDX-License-Identifier: MIT
/*
 * tests/autoscale/t_autoscale_trace.c TRACE - replay a recorded trace through
 * control/autoscale and print one line per pass, for t_autoscale_model.py to
 * compare with the reference model (hpa_model.py) step by step.
 *
 * TRACE is JSON lines, written by t_autoscale_model.py: the first holds the
 * policy ({"policy": {"min", "max", "tolerance", "downscale_window_ms",
 * "cpu_init_ms", "readiness_delay_ms", "metrics": [{"type", "resource",
 * "name", "target", "utilization", "value"}], "behavior": null | {"scaleUp",
 * "scaleDown": {"stabilizationWindowSeconds", "selectPolicy", "policies":
 * [{"type", "value", "periodSeconds"}], "tolerance"}}}}), each further line
 * one pass ({"t", "spec", "pods": [{"phase", "deleting", "ready",
 * "ready_since", "start"}], "metrics": [{"fetch_err", "samples": [{"value",
 * "ts", "win"} | null], "requests": [N | null]}]}).
 *
 * Output, per pass: "T DESIRED RESCALE ABLE ACTIVE LIMITED", a condition as
 * REASON/T or REASON/F, "-" when the pass did not set it. A /scale write is
 * taken to succeed (as_scaled()).
 * Exit 0, or 99 with a message on stderr when the trace cannot be read.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "t_helpers.h"

#define MAXP 512

static double num(const cJSON *o, const char *key, double dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static int64_t inum(const cJSON *o, const char *key, int64_t dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	/* valuedouble holds integers to 2^53: the trace's ms and milli-units */
	return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : dflt;
}

static const char *str(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void read_rules(const cJSON *r, struct as_rules *out)
{
	const cJSON *pols, *p;
	const char *sel;

	as_rules_init(out);
	if (!cJSON_IsObject(r))
		return;
	out->window_s = (int32_t)inum(r, "stabilizationWindowSeconds", AS_UNSET);
	sel = str(r, "selectPolicy");
	if (sel)
		out->select = !strcmp(sel, "Min")	 ? AS_SELECT_MIN
			      : !strcmp(sel, "Disabled") ? AS_SELECT_DISABLED
							 : AS_SELECT_MAX;
	out->tolerance = num(r, "tolerance", -1);
	pols = cJSON_GetObjectItemCaseSensitive(r, "policies");
	cJSON_ArrayForEach(p, pols) {
		if (out->n_policies == AS_POLICIES_MAX)
			t_error("too many policies");
		out->policies[out->n_policies++] = (struct as_scaling_policy){
			.type = !strcmp(str(p, "type") ? str(p, "type") : "", "Pods")
					? AS_POLICY_PODS
					: AS_POLICY_PERCENT,
			.value = (int32_t)inum(p, "value", 0),
			.period_s = (int32_t)inum(p, "periodSeconds", 0),
		};
	}
}

static void read_policy(const cJSON *j, struct as_policy *pol, struct as_metric_spec *specs)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "metrics"), *m, *b;
	struct as_err err;
	size_t n = 0;

	as_policy_init(pol);
	pol->min_replicas = (int32_t)inum(j, "min", 1);
	pol->max_replicas = (int32_t)inum(j, "max", 1);
	pol->tolerance = num(j, "tolerance", AS_DEFAULT_TOLERANCE);
	pol->downscale_window_ms = inum(j, "downscale_window_ms", AS_DEFAULT_DOWNSCALE_WINDOW_MS);
	pol->cpu_init_period_ms = inum(j, "cpu_init_ms", AS_DEFAULT_CPU_INIT_PERIOD_MS);
	pol->readiness_delay_ms = inum(j, "readiness_delay_ms", AS_DEFAULT_READINESS_DELAY_MS);
	cJSON_ArrayForEach(m, ms) {
		const char *type = str(m, "type"), *res = str(m, "resource"),
			   *tgt = str(m, "target");

		if (n == AS_METRICS_MAX || !type || !tgt)
			t_error("trace: bad metrics");
		specs[n] = (struct as_metric_spec){
			.source = !strcmp(type, "Pods")		       ? AS_SRC_PODS
				  : !strcmp(type, "ContainerResource") ? AS_SRC_CONTAINER_RESOURCE
								       : AS_SRC_RESOURCE,
			.resource = !res		     ? AS_RES_NONE
				    : !strcmp(res, "memory") ? AS_RES_MEMORY
							     : AS_RES_CPU,
			.name = str(m, "name"),
			.target = !strcmp(tgt, "Utilization") ? AS_TARGET_UTILIZATION
							      : AS_TARGET_AVERAGE_VALUE,
			.utilization = (int32_t)inum(m, "utilization", 0),
			.value = inum(m, "value", 0),
		};
		n++;
	}
	pol->metrics = specs;
	pol->n_metrics = n;
	b = cJSON_GetObjectItemCaseSensitive(j, "behavior");
	if (cJSON_IsObject(b)) {
		pol->has_behavior = true;
		read_rules(cJSON_GetObjectItemCaseSensitive(b, "scaleUp"), &pol->up);
		read_rules(cJSON_GetObjectItemCaseSensitive(b, "scaleDown"), &pol->down);
	}
	if (as_policy_check(pol, &err))
		t_error("trace: policy refused: %s", err.msg);
}

static const char *cond(const struct as_condition *c, char *buf, size_t len)
{
	if (!c->set)
		return "-";
	snprintf(buf, len, "%s/%c", c->reason, c->status ? 'T' : 'F');
	return buf;
}

static void run_step(const cJSON *j, const struct as_policy *pol, struct as_history *h)
{
	static struct as_pod pods[MAXP];
	static struct as_sample samples[AS_METRICS_MAX][MAXP];
	struct as_metric_obs mobs[AS_METRICS_MAX];
	const cJSON *jp = cJSON_GetObjectItemCaseSensitive(j, "pods"), *p;
	const cJSON *jm = cJSON_GetObjectItemCaseSensitive(j, "metrics");
	int64_t now = inum(j, "t", 0);
	struct as_observation obs = {
		.spec_replicas = (int32_t)inum(j, "spec", 0), .pods = pods, .metrics = mobs};
	char b1[96], b2[96], b3[96];
	struct as_decision d;
	struct as_err err;
	size_t n = 0;

	obs.status_replicas = obs.spec_replicas;
	cJSON_ArrayForEach(p, jp) {
		const char *ph = str(p, "phase"), *rd = str(p, "ready");
		const cJSON *del = cJSON_GetObjectItemCaseSensitive(p, "deleting");

		if (n == MAXP || !ph)
			t_error("trace: bad pods at t=%lld", (long long)now);
		pods[n++] = (struct as_pod){
			.phase = !strcmp(ph, "Pending")	    ? AS_PHASE_PENDING
				 : !strcmp(ph, "Failed")    ? AS_PHASE_FAILED
				 : !strcmp(ph, "Succeeded") ? AS_PHASE_SUCCEEDED
				 : !strcmp(ph, "Unknown")   ? AS_PHASE_UNKNOWN
							    : AS_PHASE_RUNNING,
			.deleting = cJSON_IsTrue(del),
			.ready = !rd			  ? AS_READY_NONE
				 : !strcmp(rd, "True")	  ? AS_READY_TRUE
				 : !strcmp(rd, "Unknown") ? AS_READY_UNKNOWN
							  : AS_READY_FALSE,
			.ready_since = inum(p, "ready_since", 0),
			.start_time = inum(p, "start", AS_NO_TIME),
		};
	}
	obs.n_pods = n;
	for (size_t i = 0; i < pol->n_metrics; i++) {
		const cJSON *m = cJSON_GetArrayItem(jm, (int)i);
		const cJSON *ss = cJSON_GetObjectItemCaseSensitive(m, "samples");
		const cJSON *rq = cJSON_GetObjectItemCaseSensitive(m, "requests");

		if (!m || cJSON_GetArraySize(ss) != (int)n || cJSON_GetArraySize(rq) != (int)n)
			t_error("trace: metrics[%zu] does not match the pods at t=%lld", i,
				(long long)now);
		mobs[i] = (struct as_metric_obs){.fetch_err = (int)inum(m, "fetch_err", 0),
						 .pods = samples[i]};
		for (size_t k = 0; k < n; k++) {
			const cJSON *s = cJSON_GetArrayItem(ss, (int)k);
			const cJSON *r = cJSON_GetArrayItem(rq, (int)k);

			samples[i][k] = (struct as_sample){
				.present = cJSON_IsObject(s),
				.value = inum(s, "value", 0),
				.timestamp = inum(s, "ts", 0),
				.window = inum(s, "win", 0),
				.has_request = cJSON_IsNumber(r),
				.request = cJSON_IsNumber(r) ? (int64_t)r->valuedouble : 0,
			};
		}
	}
	if (as_decide(pol, &obs, now, h, &d, &err))
		t_error("as_decide at t=%lld: %s", (long long)now, err.msg);
	if (d.rescale && as_scaled(pol, h, &d, now))
		t_error("as_scaled at t=%lld", (long long)now);
	printf("%lld %d %d %s %s %s\n", (long long)now, d.desired_replicas, d.rescale,
	       cond(&d.able_to_scale, b1, sizeof(b1)), cond(&d.scaling_active, b2, sizeof(b2)),
	       cond(&d.scaling_limited, b3, sizeof(b3)));
}

int main(int argc, char **argv)
{
	struct as_metric_spec specs[AS_METRICS_MAX];
	struct as_policy pol;
	struct as_history h;
	size_t cap = 0;
	char *line = NULL;
	bool have_policy = false;
	cJSON *policy_doc = NULL;
	FILE *f;

	if (argc != 2)
		t_error("usage: t_autoscale_trace TRACE");
	f = fopen(argv[1], "r");
	if (!f)
		t_error("%s: %s", argv[1], strerror(errno));
	as_history_init(&h);
	while (getline(&line, &cap, f) > 0) {
		cJSON *j = cJSON_Parse(line), *pj;

		if (!j)
			t_error("%s: a line is not JSON", argv[1]);
		pj = cJSON_GetObjectItemCaseSensitive(j, "policy");
		if (pj) {
			read_policy(pj, &pol, specs);
			as_history_fini(&h);
			as_history_init(&h);
			cJSON_Delete(policy_doc); /* the policy borrows its metric names */
			policy_doc = j;
			have_policy = true;
			continue;
		}
		if (!have_policy)
			t_error("%s: no policy line first", argv[1]);
		run_step(j, &pol, &h);
		cJSON_Delete(j);
	}
	free(line);
	fclose(f);
	cJSON_Delete(policy_doc);
	as_history_fini(&h);
	return 0;
}
