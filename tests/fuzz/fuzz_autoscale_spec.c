// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_autoscale_spec.c - the ScalePolicy decoder
 * (control/autoscale/policy.c) on any bytes, read as JSON or else as YAML:
 * it returns one of its four codes with a one-line message; what it accepts
 * as_policy_check() accepts too, and as_decide() takes with two pods'
 * samples without an error; the status patch of that decision is JSON that
 * parses back.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decide(const struct k8s_obj *o, const struct as_spec *s)
{
	struct as_pod pods[2] = {{.start_time = 0}, {.phase = AS_PHASE_PENDING}};
	struct as_sample samples[AS_METRICS_MAX][2];
	struct as_metric_obs mo[AS_METRICS_MAX];
	struct as_observation obs = {
		.spec_replicas = 2, .status_replicas = 2, .pods = pods, .n_pods = 2, .metrics = mo};
	struct as_outcome out = {0};
	struct as_history h;
	struct as_err err;
	struct k8s_obj *patch, *back;
	char *json;

	for (size_t i = 0; i < s->policy.n_metrics; i++) {
		samples[i][0] = (struct as_sample){.present = true,
						   .value = 700 * (int64_t)(i + 1),
						   .timestamp = 3600000,
						   .window = 3000,
						   .has_request = true,
						   .request = 500};
		samples[i][1] = (struct as_sample){.present = false};
		mo[i] = (struct as_metric_obs){.pods = samples[i]};
	}
	as_history_init(&h);
	if (as_decide(&s->policy, &obs, 3600000, &h, &out.dec, &err))
		abort();
	out.decided = true;
	out.scaled = out.dec.rescale;
	if (out.dec.rescale && as_scaled(&s->policy, &h, &out.dec, 3600000) == -EINVAL)
		abort();
	as_history_fini(&h);
	if (as_status_patch(o, s, &out, 3600000, &patch))
		return; /* out of memory */
	json = k8s_obj_json(patch);
	if (json) {
		if (k8s_obj_parse(json, strlen(json), &back))
			abort();
		k8s_obj_free(back);
		free(json);
	}
	k8s_obj_free(patch);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL;
	struct k8s_err kerr;
	struct as_spec s;
	struct as_err err;
	int ret;

	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &kerr))
		return 0;
	ret = as_spec_decode(o, &s, &err);
	if (ret != 0 && ret != -EINVAL && ret != -EOPNOTSUPP && ret != -ENOENT)
		abort();
	if (err.code != ret || !err.reason || (ret && (!err.msg[0] || strchr(err.msg, '\n'))))
		abort();
	if (!ret) {
		if (s.policy.metrics != s.metrics || s.policy.n_metrics < 1 ||
		    s.policy.n_metrics > AS_METRICS_MAX || s.policy.min_replicas < 1 ||
		    s.policy.max_replicas < s.policy.min_replicas || !s.kind || !*s.kind ||
		    !s.name || !*s.name || !s.api_version || s.window.window_ms < 1000 ||
		    s.window.window_ms > AS_MAX_SUSTAIN_S * 1000 ||
		    s.window.stale_ms < s.window.window_ms)
			abort();
		if (as_policy_check(&s.policy, &err))
			abort();
		decide(o, &s);
	}
	k8s_obj_free(o);
	return 0;
}
