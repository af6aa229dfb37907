// SPDX-License-Identifier: MIT
/*
 * k8s/kind_namespace.c - Namespaces (core/v1). The uid of kube-system is the
 * cluster's id (backup volume names).
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_namespaces = K8S_RESOURCE("", "v1", "namespaces", "Namespace", false);

int k8s_namespace_view(const struct k8s_obj *o, struct k8s_namespace *n)
{
	int ret;

	memset(n, 0, sizeof(*n));
	ret = k8s_meta_view(o, &n->meta);
	if (ret)
		return ret;
	n->phase = k8s_obj_str(o, "/status/phase");
	return 0;
}
