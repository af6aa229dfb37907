// SPDX-License-Identifier: MIT
/*
 * k8s/kind_workload.c - Deployments and StatefulSets (apps/v1): replicas
 * wanted and ready, selector and template, for cutovers and the switch.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_deployments =
	K8S_RESOURCE("apps", "v1", "deployments", "Deployment", true);
const struct k8s_resource k8s_statefulsets =
	K8S_RESOURCE("apps", "v1", "statefulsets", "StatefulSet", true);

int k8s_workload_view(const struct k8s_obj *o, struct k8s_workload *w)
{
	int ret;

	memset(w, 0, sizeof(*w));
	ret = k8s_meta_view(o, &w->meta);
	if (ret)
		return ret;
	/* the API server defaults an unset spec.replicas to 1 */
	if (k8s_obj_int(o, "/spec/replicas", &w->replicas))
		w->replicas = 1;
	k8s_obj_int(o, "/status/readyReplicas", &w->ready);
	k8s_obj_int(o, "/status/availableReplicas", &w->available);
	k8s_obj_int(o, "/status/updatedReplicas", &w->updated);
	if (k8s_obj_int(o, "/status/currentReplicas", &w->current))
		k8s_obj_int(o, "/status/replicas", &w->current);
	k8s_obj_int(o, "/status/observedGeneration", &w->observed_generation);
	w->selector = k8s_obj_at(o, "/spec/selector");
	w->template = k8s_obj_at(o, "/spec/template");
	w->service_name = k8s_obj_str(o, "/spec/serviceName");
	return 0;
}
