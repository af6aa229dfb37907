// SPDX-License-Identifier: MIT
/*
 * k8s/kind_node.c - Nodes (core/v1): readiness, schedulability, address,
 * zone and allocatable resources, for placement and per-node limits.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_nodes = K8S_RESOURCE("", "v1", "nodes", "Node", false);

int k8s_node_view(const struct k8s_obj *o, struct k8s_node *n)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = k8s_meta_view(o, &n->meta);
	if (ret)
		return ret;
	n->ready = kview_condition(o, "Ready", NULL);
	k8s_obj_bool(o, "/spec/unschedulable", &n->unschedulable);
	for (const struct k8s_obj *a = k8s_obj_first(k8s_obj_at(o, "/status/addresses")); a;
	     a = k8s_obj_next(a)) {
		const char *t = k8s_obj_str(a, "/type");

		if (t && !strcmp(t, "InternalIP")) {
			n->internal_ip = k8s_obj_str(a, "/address");
			break;
		}
	}
	n->zone = k8s_obj_label(o, "topology.kubernetes.io/zone");
	n->alloc_cpu_m = kview_qty(o, "/status/allocatable/cpu", true);
	n->alloc_mem = kview_qty(o, "/status/allocatable/memory", false);
	n->alloc_pods = kview_qty(o, "/status/allocatable/pods", false);
	return 0;
}
