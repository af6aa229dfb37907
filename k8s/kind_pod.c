// SPDX-License-Identifier: MIT
/*
 * k8s/kind_pod.c - Pods (core/v1): the fields the agent (pods of its node),
 * the autoscaler (requests, readiness) and the holder-pod protocol read.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_pods = K8S_RESOURCE("", "v1", "pods", "Pod", true);

int k8s_pod_view(const struct k8s_obj *o, struct k8s_pod *p)
{
	const struct k8s_obj *c;
	bool all_cpu = true, all_mem = true;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = k8s_meta_view(o, &p->meta);
	if (ret)
		return ret;
	p->node_name = k8s_obj_str(o, "/spec/nodeName");
	p->service_account = k8s_obj_str(o, "/spec/serviceAccountName");
	p->phase = k8s_obj_str(o, "/status/phase");
	p->pod_ip = k8s_obj_str(o, "/status/podIP");
	p->host_ip = k8s_obj_str(o, "/status/hostIP");
	p->qos_class = k8s_obj_str(o, "/status/qosClass");
	p->started_ns = kview_time(o, "/status/startTime");
	p->ready = kview_condition(o, "Ready", &p->ready_ns);
	if (!p->ready)
		p->ready_ns = 0;
	for (c = k8s_obj_first(k8s_obj_at(o, "/spec/containers")); c; c = k8s_obj_next(c)) {
		int64_t v;

		p->ncontainers++;
		p->cpu_request_m += kview_qty(c, "/resources/requests/cpu", true);
		p->mem_request += kview_qty(c, "/resources/requests/memory", false);
		v = kview_qty(c, "/resources/limits/cpu", true);
		all_cpu &= v > 0;
		p->cpu_limit_m += v;
		v = kview_qty(c, "/resources/limits/memory", false);
		all_mem &= v > 0;
		p->mem_limit += v;
	}
	/* a container without a limit: the pod has none */
	if (!all_cpu)
		p->cpu_limit_m = 0;
	if (!all_mem)
		p->mem_limit = 0;
	for (c = k8s_obj_first(k8s_obj_at(o, "/status/containerStatuses")); c;
	     c = k8s_obj_next(c)) {
		bool ready = false;
		int64_t n = 0;

		if (!k8s_obj_bool(c, "/ready", &ready) && ready)
			p->nready++;
		if (!k8s_obj_int(c, "/restartCount", &n) && n > 0)
			p->restarts += (unsigned int)n;
	}
	return 0;
}
