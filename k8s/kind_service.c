// SPDX-License-Identifier: MIT
/*
 * k8s/kind_service.c - Services (core/v1), and the blue/green switch: the
 * selector set by server-side apply under ferry's field manager, so another
 * owner of the selector (a GitOps tool, Argo Rollouts) is a conflict, not a
 * silent overwrite.
 */
#include <errno.h>
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_services = K8S_RESOURCE("", "v1", "services", "Service", true);

int k8s_service_view(const struct k8s_obj *o, struct k8s_service *s)
{
	int ret;

	memset(s, 0, sizeof(*s));
	ret = k8s_meta_view(o, &s->meta);
	if (ret)
		return ret;
	s->type = k8s_obj_str(o, "/spec/type");
	s->cluster_ip = k8s_obj_str(o, "/spec/clusterIP");
	s->session_affinity = k8s_obj_str(o, "/spec/sessionAffinity");
	s->internal_traffic_policy = k8s_obj_str(o, "/spec/internalTrafficPolicy");
	s->selector = k8s_obj_at(o, "/spec/selector");
	s->ports = k8s_obj_at(o, "/spec/ports");
	return 0;
}

bool k8s_service_node_port_chosen(const struct k8s_obj *svc, int64_t port)
{
	const char *la =
		k8s_obj_annotation(svc, "kubectl.kubernetes.io/last-applied-configuration");
	struct k8s_obj *doc = NULL;
	bool found = false;
	int64_t np;

	if (!la || k8s_obj_parse(la, strlen(la), &doc))
		return false;
	if (port < 0)
		found = !k8s_obj_int(doc, "/spec/healthCheckNodePort", &np);
	for (const struct k8s_obj *p = k8s_obj_first(k8s_obj_at(doc, "/spec/ports"));
	     p && !found && port >= 0; p = k8s_obj_next(p))
		found = !k8s_obj_int(p, "/nodePort", &np) && np == port;
	k8s_obj_free(doc);
	return found;
}

int k8s_service_apply_selector(struct k8s_client *c, const char *ns, const char *name,
			       const struct k8s_obj *selector, const char *manager, bool force,
			       const struct k8s_call *call, struct k8s_err *err)
{
	struct k8s_obj *o;
	int ret;

	kerr_clear(err);
	if (!name || !selector || k8s_obj_type(selector, "") != K8S_T_OBJECT)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"apply services/%s: a selector (a labels map) is needed",
				name ? name : "");
	ns = kc_ns(c, &k8s_services, ns);
	ret = k8s_obj_new_kind(&k8s_services, ns, name, &o);
	if (!ret)
		ret = k8s_obj_set_copy(o, "/spec/selector", selector);
	if (ret) {
		k8s_obj_free(o);
		return kerr_set(err, ret, -1, "", "out of memory");
	}
	ret = k8s_apply(c, &k8s_services, ns, o, manager, force, call, NULL, err);
	k8s_obj_free(o);
	return ret;
}
