// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_lb_policy.c - a LoadBalancePolicy's decoder
 * (lb_policy_parse(), control/lb/policy.c) on any bytes, read as JSON or
 * else as YAML: 0, or -EINVAL with a one-line message naming a spec field;
 * what it accepts is within the CRD's bounds, passes
 * lb_weight_policy_check(), and lb_weights() takes it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void use(const struct lb_policy *p)
{
	struct lb_backend_obs b[2] = {
		{.ready = true,
		 .ready_for_s = 5,
		 .has_signal = true,
		 .cpu_cores = 0.2,
		 .cpu_request = 0.5,
		 .runq_p99_s = 0.001,
		 .prev_weight = 1000},
		{.ready = true, .ready_for_s = 600, .has_signal = true, .cpu_cores = 0.9},
	};
	struct lb_weight_out out[2];
	bool changed;

	if (!p->service[0] || strlen(p->service) > 63 || lb_weight_policy_check(&p->w, NULL))
		abort();
	if (p->update_period_s < LB_MIN_UPDATE_PERIOD_S ||
	    p->update_period_s > LB_MAX_UPDATE_PERIOD_S)
		abort();
	if (p->route[0] ? (!p->n_services || p->n_services > LB_MAX_ROUTE_SERVICES) : p->n_services)
		abort();
	for (size_t i = 0; i < p->n_services; i++)
		for (size_t j = 0; j < i; j++)
			if (!strcmp(p->services[i], p->services[j]))
				abort();
	if (lb_weights(&p->w, b, 2, out, &changed))
		abort();
	for (int i = 0; i < 2; i++)
		if (out[i].weight > p->w.scale || out[i].weight < 1)
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL;
	struct k8s_err kerr;
	struct lb_policy *p = malloc(sizeof(*p));
	struct lb_err err;
	int ret;

	if (!p)
		return 0;
	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &kerr)) {
		free(p);
		return 0;
	}
	ret = lb_policy_parse(o, p, &err);
	if (ret == 0)
		use(p);
	else if (ret != -EINVAL || strncmp(err.msg, "spec", 4) || strchr(err.msg, '\n'))
		abort();
	k8s_obj_free(o);
	free(p);
	return 0;
}
