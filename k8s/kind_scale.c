// SPDX-License-Identifier: MIT
/*
 * k8s/kind_scale.c - the scale subresource (autoscaling/v1 Scale) of
 * Deployments, StatefulSets and custom resources: read it, and set the
 * replicas by server-side apply under ferry's field manager, so that an HPA
 * (or another manager) owning spec.replicas is a conflict that names it.
 */
#include <errno.h>
#include <string.h>

#include "k8s_int.h"

int k8s_scale_view(const struct k8s_obj *o, struct k8s_scale *s)
{
	memset(s, 0, sizeof(*s));
	if (k8s_obj_type(o, "") != K8S_T_OBJECT)
		return -EINVAL;
	k8s_obj_int(o, "/spec/replicas", &s->replicas);
	k8s_obj_int(o, "/status/replicas", &s->status_replicas);
	s->selector = k8s_obj_str(o, "/status/selector");
	s->rv = k8s_obj_get_rv(o);
	return 0;
}

int k8s_scale_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		  const char *name, struct k8s_obj **out, struct k8s_err *err)
{
	struct k8s_call call = {.subresource = "scale"};

	return k8s_get(c, r, ns, name, &call, out, err);
}

int k8s_scale_apply(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		    const char *name, int64_t replicas, const char *manager, bool force,
		    const struct k8s_call *call, struct k8s_err *err)
{
	static const struct k8s_resource scale =
		K8S_RESOURCE("autoscaling", "v1", "scale", "Scale", true);
	struct k8s_call ac = {0};
	struct k8s_obj *o;
	int ret;

	kerr_clear(err);
	if (replicas < 0 || replicas > INT32_MAX)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"scale %s/%s: replicas %lld out of range", r->resource,
				name ? name : "", (long long)replicas);
	ns = kc_ns(c, r, ns);
	ret = k8s_obj_new_kind(&scale, r->namespaced ? ns : NULL, name, &o);
	if (!ret)
		ret = k8s_obj_set_int(o, "/spec/replicas", replicas);
	if (ret) {
		k8s_obj_free(o);
		return kerr_set(err, ret, -1, "", "out of memory");
	}
	if (call)
		ac = *call;
	ac.subresource = "scale";
	ac.field_manager = manager;
	ac.force = force;
	ret = k8s_patch(c, r, ns, name, K8S_PATCH_APPLY, o, &ac, NULL, err);
	k8s_obj_free(o);
	return ret;
}
