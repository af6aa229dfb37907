// SPDX-License-Identifier: MIT
/*
 * k8s/kind_endpointslice.c - EndpointSlices (discovery.k8s.io/v1): which
 * addresses serve a Service, and whether they are ready, for the switch
 * ("green's endpoints are ready") and the load balancer's backends.
 */
#include <errno.h>
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_endpointslices =
	K8S_RESOURCE("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", true);

int k8s_endpointslice_view(const struct k8s_obj *o, struct k8s_endpointslice *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = k8s_meta_view(o, &s->meta);
	if (ret)
		return ret;
	s->service = k8s_obj_label(o, "kubernetes.io/service-name");
	s->address_type = k8s_obj_str(o, "/addressType");
	s->endpoints = k8s_obj_at(o, "/endpoints");
	s->ports = k8s_obj_at(o, "/ports");
	return 0;
}

int k8s_endpoint_view(const struct k8s_obj *e, struct k8s_endpoint *v)
{
	bool b;

	memset(v, 0, sizeof(*v));
	if (k8s_obj_type(e, "") != K8S_T_OBJECT)
		return -EINVAL;
	v->address = k8s_obj_str(e, "/addresses/0");
	/* EndpointConditions: a nil ready is "ready"; a nil serving is ready's value */
	v->ready = k8s_obj_bool(e, "/conditions/ready", &b) ? true : b;
	v->serving = k8s_obj_bool(e, "/conditions/serving", &b) ? v->ready : b;
	v->terminating = k8s_obj_bool(e, "/conditions/terminating", &b) ? false : b;
	v->node_name = k8s_obj_str(e, "/nodeName");
	v->zone = k8s_obj_str(e, "/zone");
	v->pod = k8s_obj_str(e, "/targetRef/name");
	v->pod_uid = k8s_obj_str(e, "/targetRef/uid");
	return 0;
}
