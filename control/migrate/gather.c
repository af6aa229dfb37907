// SPDX-License-Identifier: MIT
/*
 * control/migrate/gather.c - the facts of a Migration's plan, read from both
 * clusters (migrate_priv.h): what each check of mig_plan_make() needs, and
 * which reads a cluster refused.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "migrate_priv.h"

#define MIG_ZONE_LABEL "topology.kubernetes.io/zone"

static const struct k8s_resource mig_storageclasses =
	K8S_RESOURCE("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
static const struct k8s_resource mig_quotas =
	K8S_RESOURCE("", "v1", "resourcequotas", "ResourceQuota", true);
static const struct k8s_resource mig_crds =
	K8S_RESOURCE("apiextensions.k8s.io", "v1", "customresourcedefinitions",
		     "CustomResourceDefinition", false);

/*
 * The kinds compared for objects the target has already (ClaimExists covers
 * the claims), each without the one its cluster makes in every namespace
 */
static const struct {
	const struct k8s_resource *res;
	const char *made; /* the cluster's own, NULL: none */
} mig_kinds[] = {
	{&k8s_services, NULL},
	{&k8s_configmaps, "kube-root-ca.crt"},
	{&k8s_serviceaccounts, "default"},
	{&k8s_deployments, NULL},
	{&k8s_statefulsets, NULL},
};
_Static_assert(sizeof(mig_kinds) / sizeof(mig_kinds[0]) == MIG_N_KINDS, "MIG_N_KINDS");

void gather_fini(struct gather *g)
{
	k8s_obj_free(g->src_version);
	k8s_obj_free(g->dst_version);
	k8s_items_free(g->src_classes);
	k8s_items_free(g->dst_classes);
	k8s_items_free(g->nodes);
	for (size_t i = 0; i < MIG_MAX_NAMESPACES; i++) {
		k8s_items_free(g->claims[i]);
		k8s_items_free(g->pods[i]);
		k8s_items_free(g->dst_claims[i]);
		k8s_items_free(g->dst_quotas[i]);
	}
	free(g->scl);
	free(g->dcl);
	free(g->cl);
	for (size_t i = 0; i < g->ndst_keys; i++)
		free(g->dst_keys[i]);
	free(g->dst_keys);
	free(g->q);
	free(g->asks);
	k8s_items_free(g->dst_nodes);
	for (size_t i = 0; i < MIG_MAX_NAMESPACES; i++)
		k8s_items_free(g->svcs[i]);
	k8s_items_free(g->dst_svcs);
	free(g->nps);
	free(g->tnps);
	free(g->lbs);
	free(g->pulls);
	k8s_items_free(g->src_vsc);
	free(g->sdrivers);
	for (size_t k = 0; k < MIG_N_KINDS; k++)
		for (size_t i = 0; i < MIG_MAX_NAMESPACES; i++) {
			k8s_items_free(g->src_objs[k][i]);
			k8s_items_free(g->dst_objs[k][i]);
		}
	free(g->ex);
	k8s_items_free(g->src_crds);
	free(g->cus);
	free(g->unpl);
	for (size_t i = 0; i < g->ntl; i++)
		free(g->tlabels[i]);
	free(g->tlabels);
}

/* the labels each source pod's nodeSelector asks for (the plan checks them against the target's nodes) */
static int asks_of(const struct mig_spec *spec, struct gather *g)
{
	size_t n = 0;

	for (size_t i = 0; i < spec->n_namespaces; i++)
		for (size_t j = 0; j < k8s_items_len(g->pods[i]); j++)
			n += k8s_obj_len(k8s_items_at(g->pods[i], j), "/spec/nodeSelector");
	g->asks = calloc(n ? n : 1, sizeof(*g->asks));
	if (!g->asks)
		return -ENOMEM;
	for (size_t i = 0; i < spec->n_namespaces; i++)
		for (size_t j = 0; j < k8s_items_len(g->pods[i]); j++) {
			const struct k8s_obj *pod = k8s_items_at(g->pods[i], j);

			for (const struct k8s_obj *e =
				     k8s_obj_first(k8s_obj_at(pod, "/spec/nodeSelector"));
			     e && g->nasks < n; e = k8s_obj_next(e))
				if (k8s_obj_str(e, ""))
					g->asks[g->nasks++] =
						(struct mig_node_ask){.ns = spec->namespaces[i],
								      .pod = k8s_obj_get_name(pod),
								      .key = k8s_obj_name(e),
								      .value = k8s_obj_str(e, "")};
		}
	return 0;
}

/* the target nodes' labels as "key=value"; without the right to list nodes, none (not checked) */
static int target_labels(struct k8s_client *dst, struct gather *g)
{
	struct k8s_err e;
	size_t n = 0;

	if (k8s_list(dst, &k8s_nodes, "", NULL, &g->dst_nodes, &e)) {
		g->dst_nodes = NULL;
		if (e.http == 401 || e.http == 403)
			g->unread |= MIG_UNREAD_TARGET_NODES;
		return 0;
	}
	for (size_t i = 0; i < k8s_items_len(g->dst_nodes); i++)
		n += k8s_obj_len(k8s_items_at(g->dst_nodes, i), "/metadata/labels");
	g->tlabels = calloc(n ? n : 1, sizeof(*g->tlabels));
	if (!g->tlabels)
		return -ENOMEM;
	for (size_t i = 0; i < k8s_items_len(g->dst_nodes); i++)
		for (const struct k8s_obj *l = k8s_obj_first(
			     k8s_obj_at(k8s_items_at(g->dst_nodes, i), "/metadata/labels"));
		     l && g->ntl < n; l = k8s_obj_next(l)) {
			const char *v = k8s_obj_str(l, "");
			size_t len = strlen(k8s_obj_name(l)) + (v ? strlen(v) : 0) + 2;

			g->tlabels[g->ntl] = malloc(len);
			if (!g->tlabels[g->ntl])
				return -ENOMEM;
			snprintf(g->tlabels[g->ntl++], len, "%s=%s", k8s_obj_name(l), v ? v : "");
		}
	return 0;
}

static bool exposed(const struct k8s_obj *svc)
{
	const char *t = k8s_obj_str(svc, "/spec/type");

	return t && (!strcmp(t, "NodePort") || !strcmp(t, "LoadBalancer"));
}

/* the nodePorts of @l's NodePort and LoadBalancer Services, appended to @out (room made) */
static int node_ports_of(const struct k8s_items *l, const char *ns, struct mig_node_port **out,
			 size_t *n)
{
	for (size_t i = 0; i < k8s_items_len(l); i++) {
		const struct k8s_obj *svc = k8s_items_at(l, i);

		if (!exposed(svc))
			continue;
		for (const struct k8s_obj *p = k8s_obj_first(k8s_obj_at(svc, "/spec/ports")); p;
		     p = k8s_obj_next(p)) {
			struct mig_node_port *grown;
			int64_t port;

			if (k8s_obj_int(p, "/nodePort", &port) || port <= 0)
				continue;
			grown = realloc(*out, (*n + 1) * sizeof(**out));
			if (!grown)
				return -ENOMEM;
			*out = grown;
			grown[(*n)++] = (struct mig_node_port){
				.ns = ns ? ns : k8s_obj_str(svc, "/metadata/namespace"),
				.service = k8s_obj_get_name(svc),
				.port = port,
				.kept = k8s_service_node_port_chosen(svc, port)};
		}
	}
	return 0;
}

/* the source's exposed Services: their nodePorts, their load balancers */
static int services_of(const struct mig_spec *spec, struct gather *g)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < spec->n_namespaces; i++) {
		ret = node_ports_of(g->svcs[i], spec->namespaces[i], &g->nps, &g->nnps);
		for (size_t j = 0; !ret && j < k8s_items_len(g->svcs[i]); j++) {
			const struct k8s_obj *svc = k8s_items_at(g->svcs[i], j);
			const char *t = k8s_obj_str(svc, "/spec/type"), *addr, *pin;
			struct mig_lb *grown;

			if (!t || strcmp(t, "LoadBalancer"))
				continue;
			addr = k8s_obj_str(svc, "/status/loadBalancer/ingress/0/ip");
			if (!addr)
				addr = k8s_obj_str(svc, "/status/loadBalancer/ingress/0/hostname");
			pin = k8s_obj_str(svc, "/spec/loadBalancerIP");
			grown = realloc(g->lbs, (g->nlbs + 1) * sizeof(*g->lbs));
			if (!grown)
				return -ENOMEM;
			g->lbs = grown;
			grown[g->nlbs++] = (struct mig_lb){.ns = spec->namespaces[i],
							   .service = k8s_obj_get_name(svc),
							   .address = addr,
							   .pinned = pin && *pin ? pin : NULL};
		}
	}
	return ret;
}

/*
 * Each image pull secret the source's pods name, looked up in their
 * namespace once. Without the right to read Secrets there: none (not
 * checked). Return: 0; 1 forbidden; -errno of another failure (@e).
 */
static int pulls_of(struct k8s_client *src, const struct mig_spec *spec, struct gather *g,
		    struct k8s_err *e)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		for (size_t j = 0; j < k8s_items_len(g->pods[i]); j++) {
			const struct k8s_obj *pod = k8s_items_at(g->pods[i], j);

			for (const struct k8s_obj *r =
				     k8s_obj_first(k8s_obj_at(pod, "/spec/imagePullSecrets"));
			     r; r = k8s_obj_next(r)) {
				const char *name = k8s_obj_str(r, "/name");
				struct mig_pull_secret *grown;
				bool found = false, seen = false;
				int ret;

				if (!name || !*name)
					continue;
				for (size_t k = 0; k < g->npulls && !seen; k++)
					if (!strcmp(g->pulls[k].ns, spec->namespaces[i]) &&
					    !strcmp(g->pulls[k].secret, name)) {
						seen = true;
						found = g->pulls[k].found;
					}
				if (!seen) {
					ret = k8s_get(src, &k8s_secrets, spec->namespaces[i], name,
						      NULL, NULL, e);
					if (ret && ret != -ENOENT)
						return e->http == 401 || e->http == 403 ? 1 : ret;
					found = !ret;
				}
				grown = realloc(g->pulls, (g->npulls + 1) * sizeof(*g->pulls));
				if (!grown)
					return -ENOMEM;
				g->pulls = grown;
				grown[g->npulls++] =
					(struct mig_pull_secret){.ns = spec->namespaces[i],
								 .pod = k8s_obj_get_name(pod),
								 .secret = name,
								 .found = found};
			}
		}
	return 0;
}

/*
 * The drivers that have a default VolumeSnapshotClass on the source. Without
 * the right to list the classes: not known (not checked); the snapshot API not
 * served at all (404): known, none. Return: 0; -errno of another failure (@e).
 */
static int snapshot_drivers_of(struct k8s_client *src, struct gather *g, struct k8s_err *e)
{
	int ret = k8s_list(src, &k8s_volumesnapshotclasses, "", NULL, &g->src_vsc, e);

	if (ret == -ENOENT || e->http == 404) {
		g->snaps_known = true;
		return 0;
	}
	if (ret && (e->http == 401 || e->http == 403)) {
		g->unread |= MIG_UNREAD_SNAPSHOT_CLASSES;
		return 0;
	}
	if (ret)
		return ret;
	g->sdrivers = calloc(k8s_items_len(g->src_vsc) + 1, sizeof(*g->sdrivers));
	if (!g->sdrivers)
		return -ENOMEM;
	for (size_t i = 0; i < k8s_items_len(g->src_vsc); i++) {
		struct k8s_snapshotclass v;

		if (!k8s_snapshotclass_view(k8s_items_at(g->src_vsc, i), &v) && v.is_default &&
		    v.driver)
			g->sdrivers[g->nsd++] = v.driver;
	}
	g->snaps_known = true;
	return 0;
}

/* "v2beta1" as Kubernetes ranks it: @level 2 GA, 1 beta, 0 alpha, -1 not of that form */
static void version_rank(const char *v, long *major, int *level, long *minor)
{
	char *end;

	*major = *minor = 0;
	*level = -1;
	if (v[0] != 'v' || v[1] < '1' || v[1] > '9')
		return;
	*major = strtol(v + 1, &end, 10);
	*level = !*end ? 2 : !strncmp(end, "beta", 4) ? 1 : !strncmp(end, "alpha", 5) ? 0 : -1;
	if (*level == 0 || *level == 1)
		*minor = strtol(end + (*level ? 4 : 5), &end, 10);
	if (*end)
		*level = -1;
}

/*
 * Kubernetes' version priority ("v1" > "v1beta2" > "v1beta1" > "v1alpha1" >
 * anything else, which sorts by name): whether @a comes before @b
 */
static bool version_before(const char *a, const char *b)
{
	long ma, mb, na, nb;
	int la, lb;

	version_rank(a, &ma, &la, &na);
	version_rank(b, &mb, &lb, &nb);
	if (la != lb)
		return la > lb;
	if (la < 0)
		return strcmp(a, b) < 0;
	if (ma != mb)
		return ma > mb;
	return na > nb;
}

/* the version of @crd its discovery prefers: the first served one by priority */
static const char *crd_preferred(const struct k8s_obj *crd)
{
	const char *best = NULL;

	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(crd, "/spec/versions")); v;
	     v = k8s_obj_next(v)) {
		const char *name = k8s_obj_str(v, "/name");
		bool served = false;

		if (name && !k8s_obj_bool(v, "/served", &served) && served &&
		    (!best || version_before(name, best)))
			best = name;
	}
	return best;
}

/* whether @crd serves @version */
static bool crd_serves(const struct k8s_obj *crd, const char *version)
{
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(crd, "/spec/versions")); v;
	     v = k8s_obj_next(v)) {
		const char *name = k8s_obj_str(v, "/name");
		bool served = false;

		if (name && !strcmp(name, version) && !k8s_obj_bool(v, "/served", &served) &&
		    served)
			return true;
	}
	return false;
}

/*
 * The custom resource kinds with objects in the source's namespaces (one
 * object asked for each: ?limit=1). A kind, or the CRDs, the source will not
 * let be listed: not checked (said). Return: 0; -errno of another failure (@e).
 */
static int customs_of(struct k8s_client *src, const struct mig_spec *spec, struct gather *g,
		      struct k8s_err *e)
{
	int ret = k8s_list(src, &mig_crds, "", NULL, &g->src_crds, e);

	if (ret && (e->http == 401 || e->http == 403)) {
		g->unread |= MIG_UNREAD_CUSTOM;
		return 0;
	}
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	for (size_t c = 0; c < k8s_items_len(g->src_crds); c++) {
		const struct k8s_obj *crd = k8s_items_at(g->src_crds, c);
		const char *scope = k8s_obj_str(crd, "/spec/scope");
		const char *group = k8s_obj_str(crd, "/spec/group");
		const char *plural = k8s_obj_str(crd, "/spec/names/plural");
		const char *ver = crd_preferred(crd);

		if (!scope || strcmp(scope, "Namespaced") || !group || !plural || !ver)
			continue;
		for (size_t i = 0; i < spec->n_namespaces; i++) {
			struct k8s_obj *l = NULL;
			struct mig_custom *grown;
			char path[1024];
			size_t n;

			snprintf(path, sizeof(path), "/apis/%s/%s/namespaces/%s/%s?limit=1", group,
				 ver, spec->namespaces[i], plural);
			ret = k8s_request(src, "GET", path, NULL, &l, e);
			if (ret && (e->http == 401 || e->http == 403)) {
				g->unread |= MIG_UNREAD_CUSTOM;
				if (!g->n_unread_custom++)
					g->unread_custom = k8s_obj_get_name(crd);
				break;
			}
			if (ret == -ENOENT)
				continue; /* its CRD went away meanwhile */
			if (ret)
				return ret;
			n = k8s_obj_len(l, "/items");
			k8s_obj_free(l);
			if (!n)
				continue;
			grown = realloc(g->cus, (g->ncus + 1) * sizeof(*g->cus));
			if (!grown)
				return -ENOMEM;
			g->cus = grown;
			grown[g->ncus++] =
				(struct mig_custom){.crd = k8s_obj_get_name(crd),
						    .kind = k8s_obj_str(crd, "/spec/names/kind"),
						    .version = ver,
						    .ns = spec->namespaces[i]};
			break;
		}
	}
	return 0;
}

/* what the target serves of each custom resource kind the source holds */
static int target_customs(struct k8s_client *dst, struct gather *g, struct k8s_err *err)
{
	for (size_t i = 0; i < g->ncus; i++) {
		struct mig_custom *c = &g->cus[i];
		struct k8s_obj *crd = NULL;
		struct k8s_err e;
		int ret = k8s_get(dst, &mig_crds, NULL, c->crd, NULL, &crd, &e);

		if (ret && (e.http == 401 || e.http == 403)) {
			g->unread |= MIG_UNREAD_TARGET_CRDS;
			g->ncus = 0;
			return 0;
		}
		if (ret && ret != -ENOENT) {
			*err = e;
			return ret;
		}
		c->target_has = !ret;
		c->target_serves = !ret && crd_serves(crd, c->version);
		k8s_obj_free(crd);
	}
	return 0;
}

/* whether some node of @nodes would take a pod of @spec now */
static bool placeable(const struct k8s_items *nodes, const struct k8s_obj *spec)
{
	for (size_t i = 0; i < k8s_items_len(nodes); i++) {
		const struct k8s_obj *n = k8s_items_at(nodes, i);

		if (k8s_node_schedulable(n) && k8s_node_tolerates(spec, n) &&
		    k8s_node_matches(spec, n))
			return true;
	}
	return false;
}

/*
 * The source's running pods, one per owner (a DaemonSet's left out: it runs
 * wherever nodes are), that no node of the target would take now with their
 * spec as the seed's Restore rewrites it. Without the target's nodes: none.
 */
static int unplaced_of(const struct mig_spec *spec, struct gather *g)
{
	const char **owners = NULL;
	size_t nown = 0, total = 0;
	bool any = false;
	int ret = 0;

	if (!g->dst_nodes)
		return 0;
	for (size_t i = 0; i < k8s_items_len(g->dst_nodes); i++)
		any |= k8s_node_schedulable(k8s_items_at(g->dst_nodes, i));
	for (size_t i = 0; i < spec->n_namespaces; i++)
		total += k8s_items_len(g->pods[i]);
	owners = calloc(total ? total : 1, sizeof(*owners));
	g->unpl = calloc(total ? total : 1, sizeof(*g->unpl));
	if (!owners || !g->unpl) {
		free(owners);
		return -ENOMEM;
	}
	for (size_t i = 0; !ret && i < spec->n_namespaces; i++)
		for (size_t j = 0; !ret && j < k8s_items_len(g->pods[i]); j++) {
			const struct k8s_obj *pod = k8s_items_at(g->pods[i], j);
			const char *phase = k8s_obj_str(pod, "/status/phase");
			const char *kind = k8s_obj_str(pod, "/metadata/ownerReferences/0/kind");
			const char *uid = k8s_obj_str(pod, "/metadata/ownerReferences/0/uid");
			struct k8s_obj *copy = NULL;
			bool seen = false;

			if (!phase || (strcmp(phase, "Running") && strcmp(phase, "Pending")) ||
			    (kind && !strcmp(kind, "DaemonSet")))
				continue;
			for (size_t k = 0; uid && k < nown && !seen; k++)
				seen = !strcmp(owners[k], uid);
			if (seen)
				continue;
			if (uid)
				owners[nown++] = uid;
			ret = k8s_obj_new(&copy);
			if (!ret)
				ret = k8s_obj_set_copy(copy, "/spec", k8s_obj_at(pod, "/spec"));
			if (!ret)
				ret = k8s_podspec_map_node_labels(copy, "/spec", mig_node_label,
								  spec);
			if (!ret && !placeable(g->dst_nodes, k8s_obj_at(copy, "/spec")))
				g->unpl[g->nunpl++] = (struct mig_unplaced){
					.ns = spec->namespaces[i],
					.pod = k8s_obj_get_name(pod),
					.why = any ? "no Ready, schedulable node of the target "
						     "tolerates its taints and matches its "
						     "nodeSelector and required node affinity (after "
						     "nodeLabelMapping)"
						   : "no node of the target is Ready and schedulable"};
			k8s_obj_free(copy);
		}
	free(owners);
	return ret;
}

/* a source request's failure, with the reason the condition shows */
int source_fail(const char *server, const struct mig_spec *spec, const char *what,
		const struct k8s_err *e, struct k8s_err *err)
{
	if (e->http == 401 || e->http == 403)
		return k8s_err_set(
			err, e->code, "SourceForbidden",
			"the source API server %s refuses to %s (HTTP %ld): give the kubeconfig's user the ClusterRole ferry-migration-source (k8s/deploy/migrate-source-rbac.yaml)",
			server, what, e->http);
	if (e->http)
		return k8s_err_set(err, e->code, "SourceError", "the source API server %s: %s: %s",
				   server, what, e->msg);
	return k8s_err_set(
		err, e->code, "SourceUnreachable",
		"the source API server %s did not answer (%s) within %u s (spec.source.timeoutSeconds): %.120s",
		server, e->reason[0] ? e->reason : "no answer", spec->timeout_s, e->msg);
}

static void version_of(const struct k8s_obj *v, struct mig_side *s)
{
	const char *ma = k8s_obj_str(v, "/major"), *mi = k8s_obj_str(v, "/minor");

	s->major = ma ? atoi(ma) : 0;
	s->minor = mi ? atoi(mi) : 0;
	if (s->major <= 0 || s->minor < 0)
		s->major = s->minor = 0;
}

static int classes_of(const struct k8s_items *l, struct mig_class **out)
{
	size_t n = k8s_items_len(l);

	*out = calloc(n ? n : 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct k8s_obj *o = k8s_items_at(l, i);
		const char *d =
			k8s_obj_annotation(o, "storageclass.kubernetes.io/is-default-class");
		const char *mode = k8s_obj_str(o, "/volumeBindingMode");

		(*out)[i] = (struct mig_class){
			.name = k8s_obj_get_name(o),
			.provisioner = k8s_obj_str(o, "/provisioner"),
			.is_default = d && !strcmp(d, "true"),
			.wait_for_consumer = mode && !strcmp(mode, "WaitForFirstConsumer")};
	}
	return 0;
}

static unsigned int access_of(const struct k8s_obj *modes)
{
	unsigned int a = 0;

	for (const struct k8s_obj *m = k8s_obj_first(modes); m; m = k8s_obj_next(m)) {
		const char *s = k8s_obj_str(m, "");

		if (!s)
			continue;
		a |= !strcmp(s, "ReadWriteOnce")      ? MIG_RWO
		     : !strcmp(s, "ReadOnlyMany")     ? MIG_ROX
		     : !strcmp(s, "ReadWriteMany")    ? MIG_RWX
		     : !strcmp(s, "ReadWriteOncePod") ? MIG_RWOP
						      : 0;
	}
	return a;
}

/* the running pod of @pods that mounts claim @name, if any */
static const struct k8s_obj *user_of(const struct k8s_items *pods, const char *name)
{
	for (size_t i = 0; i < k8s_items_len(pods); i++) {
		const struct k8s_obj *p = k8s_items_at(pods, i);
		const char *node = k8s_obj_str(p, "/spec/nodeName");

		if (!node || !*node)
			continue;
		for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(p, "/spec/volumes")); v;
		     v = k8s_obj_next(v)) {
			const char *c = k8s_obj_str(v, "/persistentVolumeClaim/claimName");

			if (c && !strcmp(c, name))
				return p;
		}
	}
	return NULL;
}

static const char *zone_of(const struct k8s_items *nodes, const char *node)
{
	for (size_t i = 0; node && i < k8s_items_len(nodes); i++) {
		const struct k8s_obj *n = k8s_items_at(nodes, i);

		if (!strcmp(k8s_obj_get_name(n), node))
			return k8s_obj_label(n, MIG_ZONE_LABEL);
	}
	return NULL;
}

static int64_t quota_value(const struct k8s_obj *q, const char *path)
{
	const char *s = k8s_obj_str(q, path);
	int64_t v;

	if (!s || k8s_quantity_parse(s, &v) || v < 0)
		return -1;
	return v / 1000; /* milli-units */
}

/* what the source says: versions, namespaces, claims and their users */
int gather_source(struct k8s_client *src, const char *server, const struct mig_spec *spec,
		  struct gather *g, struct k8s_err *err)
{
	struct k8s_err e;
	size_t total = 0;
	int ret;

	ret = k8s_request(src, "GET", "/version", NULL, &g->src_version, &e);
	if (ret)
		return source_fail(server, spec, "tell its version (GET /version)", &e, err);
	ret = k8s_list(src, &mig_storageclasses, "", NULL, &g->src_classes, &e);
	if (ret)
		return source_fail(server, spec, "list storageclasses", &e, err);
	ret = k8s_list(src, &k8s_nodes, "", NULL, &g->nodes, &e);
	if (ret)
		return source_fail(server, spec, "list nodes", &e, err);
	ret = customs_of(src, spec, g, &e);
	if (ret == -ENOMEM)
		return k8s_err_set(err, ret, "", "migration plan: out of memory");
	if (ret)
		return source_fail(server, spec, "list a custom resource", &e, err);
	ret = snapshot_drivers_of(src, g, &e);
	if (ret == -ENOMEM)
		return k8s_err_set(err, ret, "", "migration plan: out of memory");
	if (ret)
		return source_fail(server, spec, "list volumesnapshotclasses", &e, err);
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		const char *ns = spec->namespaces[i];

		ret = k8s_get(src, &k8s_namespaces, NULL, ns, NULL, NULL, &e);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return source_fail(server, spec, "get a namespace", &e, err);
		g->src_ns[i] = true;
		ret = k8s_list(src, &k8s_pvcs, ns, NULL, &g->claims[i], &e);
		if (ret)
			return source_fail(server, spec, "list persistentvolumeclaims", &e, err);
		ret = k8s_list(src, &k8s_pods, ns, NULL, &g->pods[i], &e);
		if (ret)
			return source_fail(server, spec, "list pods", &e, err);
		ret = k8s_list(src, &k8s_services, ns, NULL, &g->svcs[i], &e);
		if (ret)
			return source_fail(server, spec, "list services", &e, err);
		for (size_t k = 1; k < MIG_N_KINDS; k++) {
			char what[64];

			ret = k8s_list(src, mig_kinds[k].res, ns, NULL, &g->src_objs[k][i], &e);
			snprintf(what, sizeof(what), "list %s", mig_kinds[k].res->resource);
			if (ret)
				return source_fail(server, spec, what, &e, err);
		}
		total += k8s_items_len(g->claims[i]);
	}
	ret = pulls_of(src, spec, g, &e);
	if (ret == 1) { /* no right to read Secrets there: not checked */
		free(g->pulls);
		g->pulls = NULL;
		g->npulls = 0;
		g->unread |= MIG_UNREAD_PULL_SECRETS;
		ret = 0;
	} else if (ret && ret != -ENOMEM) {
		return source_fail(server, spec, "get an image pull secret", &e, err);
	}
	if (!ret)
		ret = classes_of(g->src_classes, &g->scl);
	if (!ret)
		ret = asks_of(spec, g);
	if (!ret)
		ret = services_of(spec, g);
	if (ret)
		return k8s_err_set(err, ret, "", "migration plan: out of memory");
	g->cl = calloc(total ? total : 1, sizeof(*g->cl));
	if (!g->cl)
		return k8s_err_set(err, -ENOMEM, "", "migration plan: out of memory");
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		for (size_t j = 0; j < k8s_items_len(g->claims[i]); j++) {
			const struct k8s_obj *o = k8s_items_at(g->claims[i], j), *user;
			struct mig_claim *c = &g->cl[g->ncl];
			struct k8s_pvc v;

			if (k8s_pvc_view(o, &v))
				continue;
			user = user_of(g->pods[i], v.meta.name);
			*c = (struct mig_claim){
				.ns = spec->namespaces[i],
				.target_ns = spec->target_namespaces[i],
				.name = v.meta.name,
				.storage_class = v.storage_class,
				.phase = v.phase,
				.volume_mode = v.volume_mode ? v.volume_mode : "Filesystem",
				.bytes = v.capacity > 0 ? v.capacity : v.request,
				.access = access_of(v.access_modes),
				.pod = user ? k8s_obj_get_name(user) : NULL,
				.node = user ? k8s_obj_str(user, "/spec/nodeName") : NULL};
			c->zone = zone_of(g->nodes, c->node);
			g->ncl++;
		}
	}
	return 0;
}

/* the source's objects of kind @k in namespace @i whose names the target's list holds */
static int existing_of(const struct mig_spec *spec, struct gather *g, size_t k, size_t i)
{
	const struct k8s_items *src = k ? g->src_objs[k][i] : g->svcs[i];

	for (size_t j = 0; j < k8s_items_len(src); j++) {
		const char *name = k8s_obj_get_name(k8s_items_at(src, j));
		struct mig_object *grown;
		bool there = false;

		if (!name || (mig_kinds[k].made && !strcmp(name, mig_kinds[k].made)))
			continue;
		for (size_t t = 0; t < k8s_items_len(g->dst_objs[k][i]) && !there; t++)
			there = !strcmp(name, k8s_obj_get_name(k8s_items_at(g->dst_objs[k][i], t)));
		if (!there)
			continue;
		grown = realloc(g->ex, (g->nex + 1) * sizeof(*g->ex));
		if (!grown)
			return -ENOMEM;
		g->ex = grown;
		grown[g->nex++] = (struct mig_object){
			.kind = mig_kinds[k].res->kind, .ns = spec->namespaces[i], .name = name};
	}
	return 0;
}

/*
 * The target's objects of mig_kinds in each of its namespaces, against the
 * source's. Without the right to list them: not checked (said).
 */
static int target_objects(struct k8s_client *dst, const struct mig_spec *spec, struct gather *g,
			  struct k8s_err *err)
{
	struct k8s_err e;
	int ret = 0;

	for (size_t i = 0; i < spec->n_namespaces; i++) {
		if (!g->dst_ns[i])
			continue; /* a namespace the move makes: nothing in it yet */
		for (size_t k = 0; k < MIG_N_KINDS; k++) {
			ret = k8s_list(dst, mig_kinds[k].res, spec->target_namespaces[i], NULL,
				       &g->dst_objs[k][i], &e);
			if (ret && (e.http == 401 || e.http == 403)) {
				g->unread |= MIG_UNREAD_TARGET_OBJECTS;
				g->nex = 0;
				return 0;
			}
			if (ret) {
				*err = e;
				return ret;
			}
			ret = existing_of(spec, g, k, i);
			if (ret)
				return k8s_err_set(err, ret, "", "migration plan: out of memory");
		}
	}
	return 0;
}

/* what the target (this cluster) says */
int gather_target(struct k8s_client *dst, const struct mig_spec *spec, struct gather *g,
		  struct k8s_err *err)
{
	struct k8s_err e;
	size_t nq = 0, nk = 0;
	int ret;

	ret = k8s_request(dst, "GET", "/version", NULL, &g->dst_version, err);
	if (!ret)
		ret = k8s_list(dst, &mig_storageclasses, "", NULL, &g->dst_classes, err);
	for (size_t i = 0; !ret && i < spec->n_namespaces; i++) {
		const char *ns = spec->target_namespaces[i];

		ret = k8s_get(dst, &k8s_namespaces, NULL, ns, NULL, NULL, err);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			break;
		g->dst_ns[i] = true;
		ret = k8s_list(dst, &k8s_pvcs, ns, NULL, &g->dst_claims[i], err);
		if (!ret)
			ret = k8s_list(dst, &mig_quotas, ns, NULL, &g->dst_quotas[i], err);
		nk += k8s_items_len(g->dst_claims[i]);
		nq += k8s_items_len(g->dst_quotas[i]);
	}
	if (ret)
		return ret;
	ret = classes_of(g->dst_classes, &g->dcl);
	if (!ret)
		ret = target_labels(dst, g);
	if (!ret)
		ret = unplaced_of(spec, g);
	/* every namespace's Services: nodePorts are one range for the cluster; without the
	 * right to list them (backup-rbac.yaml left out), clashes are not checked */
	if (!ret && k8s_list(dst, &k8s_services, "", NULL, &g->dst_svcs, &e)) {
		g->dst_svcs = NULL;
		if (e.http != 401 && e.http != 403) {
			*err = e;
			return e.code;
		}
		g->unread |= MIG_UNREAD_TARGET_SERVICES;
	}
	if (!ret)
		ret = node_ports_of(g->dst_svcs, NULL, &g->tnps, &g->ntnps);
	g->dst_keys = calloc(nk ? nk : 1, sizeof(*g->dst_keys));
	g->q = calloc(nq ? nq : 1, sizeof(*g->q));
	if (ret || !g->dst_keys || !g->q)
		return k8s_err_set(err, -ENOMEM, "", "migration plan: out of memory");
	for (size_t i = 0; i < spec->n_namespaces; i++) {
		for (size_t j = 0; j < k8s_items_len(g->dst_claims[i]); j++) {
			const char *name = k8s_obj_get_name(k8s_items_at(g->dst_claims[i], j));
			size_t len =
				strlen(spec->target_namespaces[i]) + strlen(name ? name : "") + 2;

			g->dst_keys[g->ndst_keys] = malloc(len);
			if (!g->dst_keys[g->ndst_keys])
				return k8s_err_set(err, -ENOMEM, "",
						   "migration plan: out of memory");
			snprintf(g->dst_keys[g->ndst_keys++], len, "%s/%s",
				 spec->target_namespaces[i], name ? name : "");
		}
		for (size_t j = 0; j < k8s_items_len(g->dst_quotas[i]); j++) {
			const struct k8s_obj *q = k8s_items_at(g->dst_quotas[i], j);

			g->q[g->nq++] = (struct mig_quota){
				.ns = spec->target_namespaces[i],
				.name = k8s_obj_get_name(q),
				.hard = quota_value(q, "/spec/hard/requests.storage"),
				.used = quota_value(q, "/status/used/requests.storage"),
				.claims_hard = quota_value(q, "/spec/hard/persistentvolumeclaims"),
				.claims_used =
					quota_value(q, "/status/used/persistentvolumeclaims")};
			if (g->q[g->nq - 1].used < 0)
				g->q[g->nq - 1].used = 0;
			if (g->q[g->nq - 1].claims_used < 0)
				g->q[g->nq - 1].claims_used = 0;
		}
	}
	ret = target_objects(dst, spec, g, err);
	return ret ? ret : target_customs(dst, g, err);
}

void gather_facts(const struct gather *g, const char *server, struct mig_facts *f)
{
	*f = (struct mig_facts){
		.source = {.server = server,
			   .classes = g->scl,
			   .n_classes = k8s_items_len(g->src_classes)},
		.target = {.classes = g->dcl, .n_classes = k8s_items_len(g->dst_classes)},
		.source_ns_found = g->src_ns,
		.target_ns_found = g->dst_ns,
		.claims = g->cl,
		.n_claims = g->ncl,
		.target_claims = (const char *const *)g->dst_keys,
		.n_target_claims = g->ndst_keys,
		.quotas = g->q,
		.n_quotas = g->nq,
		.asks = g->asks,
		.n_asks = g->nasks,
		.target_labels = (const char *const *)g->tlabels,
		.n_target_labels = g->ntl,
		.target_nodes_known = g->dst_nodes != NULL,
		.node_ports = g->nps,
		.n_node_ports = g->nnps,
		.target_node_ports = g->tnps,
		.n_target_node_ports = g->ntnps,
		.target_services_known = g->dst_svcs != NULL,
		.lbs = g->lbs,
		.n_lbs = g->nlbs,
		.pulls = g->pulls,
		.n_pulls = g->npulls,
		.snapshot_drivers = g->sdrivers,
		.n_snapshot_drivers = g->nsd,
		.snapshots_known = g->snaps_known,
		.unread = g->unread,
		.unread_custom = g->unread_custom,
		.n_unread_custom = g->n_unread_custom,
		.existing = g->ex,
		.n_existing = g->nex,
		.customs = g->cus,
		.n_customs = g->ncus,
		.unplaced = g->unpl,
		.n_unplaced = g->nunpl};
	version_of(g->src_version, &f->source);
	version_of(g->dst_version, &f->target);
}
