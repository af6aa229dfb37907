// SPDX-License-Identifier: MIT
/*
 * control/cluster/restore_plan.c - what a restore creates, as pure
 * functions (cluster.h "THE RESTORE PLAN"): the options of a Restore and
 * Velero's mapping ConfigMaps; Velero's strip list and restore priorities;
 * a plan of JSON lines prepared and sorted into tiers. The lists here are
 * the ones control/cluster/README.md ("Restore: what is stripped") gives,
 * and must stay the same.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "control/cli/cli.h"
#include "k8s/k8s.h"

/* ------------------------------------------------------------ options */

static int map_add(struct cluster_map **m, size_t *n, const char *from, const char *to)
{
	struct cluster_map *nm = realloc(*m, (*n + 1) * sizeof(*nm));
	char *f, *t;

	if (!nm)
		return -ENOMEM;
	*m = nm;
	f = strdup(from);
	t = strdup(to);
	if (!f || !t) {
		free(f);
		free(t);
		return -ENOMEM;
	}
	nm[*n].from = f;
	nm[*n].to = t;
	(*n)++;
	return 0;
}

static void map_free(struct cluster_map *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(m[i].from);
		free(m[i].to);
	}
	free(m);
}

void cluster_restore_opts_fini(struct cluster_restore_opts *o)
{
	if (!o)
		return;
	map_free(o->ns_map, o->n_ns_map);
	map_free(o->sc_map, o->n_sc_map);
	map_free(o->image_map, o->n_image_map);
	map_free(o->node_map, o->n_node_map);
	memset(o, 0, sizeof(*o));
}

const char *cluster_restore_map(const struct cluster_map *m, size_t n, const char *from)
{
	for (size_t i = 0; from && i < n; i++)
		if (!strcmp(m[i].from, from))
			return m[i].to;
	return from;
}

static int map_read(const struct k8s_obj *spec, const char *field, struct cluster_map **m,
		    size_t *n, struct cluster_err *err)
{
	const struct k8s_obj *o = k8s_obj_key(spec, field);

	if (!o || k8s_obj_type(o, "") == K8S_T_NULL)
		return 0;
	if (k8s_obj_type(o, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "spec.%s: not a map of strings", field);
	for (const struct k8s_obj *e = k8s_obj_first(o); e; e = k8s_obj_next(e)) {
		const char *to = k8s_obj_str(e, ""), *from = k8s_obj_name(e);
		char q[80];

		if (!to || !to[0] || !from[0])
			return cluster_err_set(err, -EINVAL, "spec.%s.%s: not a non-empty string",
					       field, cluster_quote(q, sizeof(q), from, 64));
		if (map_add(m, n, from, to))
			return cluster_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* a node label "key=value" (@value), or a label's key alone, as Kubernetes takes them */
static bool label_form(const char *s, bool value)
{
	return value ? ctl_label_pair_valid(s) : ctl_label_key_valid(s);
}

/* spec.nodeLabelMapping: "key=value" -> "key=value" or "", "key" -> "key" or "" */
static int node_map_read(const struct k8s_obj *spec, struct cluster_restore_opts *o,
			 struct cluster_err *err)
{
	const struct k8s_obj *m = k8s_obj_key(spec, "nodeLabelMapping");

	if (!m || k8s_obj_type(m, "") == K8S_T_NULL)
		return 0;
	if (k8s_obj_type(m, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "spec.nodeLabelMapping: not a map of strings");
	for (const struct k8s_obj *e = k8s_obj_first(m); e; e = k8s_obj_next(e)) {
		const char *to = k8s_obj_str(e, ""), *from = k8s_obj_name(e);
		bool lab = strchr(from, '=') != NULL;
		char q[80];

		if (!label_form(from, lab))
			return cluster_err_set(err, -EINVAL,
					       "spec.nodeLabelMapping.%s: not a label (key=value) "
					       "or a label's key",
					       cluster_quote(q, sizeof(q), from, 64));
		if (!to || (to[0] && !label_form(to, lab)))
			return cluster_err_set(err, -EINVAL,
					       "spec.nodeLabelMapping.%s: \"\" (drop) or %s",
					       cluster_quote(q, sizeof(q), from, 64),
					       lab ? "a label (key=value)" : "a label's key");
		if (map_add(&o->node_map, &o->n_node_map, from, to))
			return cluster_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static int opts_read(const struct k8s_obj *spec, const char *name, struct cluster_restore_opts *o,
		     struct cluster_err *err)
{
	const char *pol = k8s_obj_str(spec, "/existingResourcePolicy");
	const char *backup = k8s_obj_str(spec, "/backupName");
	int ret;

	cluster_err_clear(err);
	if (spec && k8s_obj_type(spec, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "spec: not an object");
	if ((ret = map_read(spec, "namespaceMapping", &o->ns_map, &o->n_ns_map, err)) ||
	    (ret = map_read(spec, "storageClassMapping", &o->sc_map, &o->n_sc_map, err)) ||
	    (ret = map_read(spec, "imageMapping", &o->image_map, &o->n_image_map, err)) ||
	    (ret = node_map_read(spec, o, err)))
		return ret;
	if (k8s_obj_type(spec, "/existingResourcePolicy") > K8S_T_NULL && !pol)
		return cluster_err_set(err, -EINVAL, "spec.existingResourcePolicy: not a string");
	if (!pol || !strcmp(pol, "") || !strcmp(pol, "none"))
		o->existing = CLUSTER_EXISTING_NONE;
	else if (!strcmp(pol, "update"))
		o->existing = CLUSTER_EXISTING_UPDATE;
	else
		return cluster_err_set(err, -EINVAL,
				       "spec.existingResourcePolicy: \"none\" or \"update\", not "
				       "\"%.64s\"",
				       pol);
	if (k8s_obj_type(spec, "/preserveNodePorts") > K8S_T_NULL &&
	    k8s_obj_bool(spec, "/preserveNodePorts", &o->preserve_node_ports))
		return cluster_err_set(err, -EINVAL, "spec.preserveNodePorts: true or false");
	if (k8s_obj_type(spec, "/scaleWorkloadsToZero") > K8S_T_NULL &&
	    k8s_obj_bool(spec, "/scaleWorkloadsToZero", &o->scale_to_zero))
		return cluster_err_set(err, -EINVAL, "spec.scaleWorkloadsToZero: true or false");
	if (backup && strlen(backup) > CLUSTER_LABEL_VALUE_MAX)
		return cluster_err_set(err, -EINVAL, "spec.backupName: longer than 63 characters");
	snprintf(o->backup_name, sizeof(o->backup_name), "%s", backup ? backup : "");
	if (name && strlen(name) > CLUSTER_LABEL_VALUE_MAX)
		return cluster_err_set(err, -EINVAL,
				       "the Restore's name: longer than 63 characters");
	snprintf(o->restore_name, sizeof(o->restore_name), "%s", name ? name : "");
	return 0;
}

static int opts_configmap(struct cluster_restore_opts *o, const struct k8s_obj *cm,
			  struct cluster_err *err)
{
	const char *sc = k8s_obj_label(cm, "velero.io/change-storage-class");
	const char *img = k8s_obj_label(cm, "velero.io/change-image-name");
	const struct k8s_obj *data = k8s_obj_key(cm, "data");

	cluster_err_clear(err);
	if (!sc && !img)
		return cluster_err_set(
			err, -ENOENT,
			"not a mapping ConfigMap: no label "
			"velero.io/change-storage-class or velero.io/change-image-name");
	if (data && k8s_obj_type(data, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "data: not a map of strings");
	for (const struct k8s_obj *e = k8s_obj_first(data); e; e = k8s_obj_next(e)) {
		const char *v = k8s_obj_str(e, ""), *comma;
		char q[80], from[512];
		size_t n;

		if (!v || !v[0])
			return cluster_err_set(err, -EINVAL, "data.%s: not a non-empty string",
					       cluster_quote(q, sizeof(q), k8s_obj_name(e), 64));
		if (sc) {
			if (map_add(&o->sc_map, &o->n_sc_map, k8s_obj_name(e), v))
				return cluster_err_set(err, -ENOMEM, "out of memory");
			continue;
		}
		comma = strchr(v, ',');
		n = comma ? (size_t)(comma - v) : 0;
		if (!comma || !n || !comma[1] || strchr(comma + 1, ',') || n >= sizeof(from))
			return cluster_err_set(err, -EINVAL, "data.%s: \"%s\" is not \"OLD,NEW\"",
					       cluster_quote(q, sizeof(q), k8s_obj_name(e), 64),
					       cluster_quote(from, 80, v, 64));
		memcpy(from, v, n);
		from[n] = '\0';
		if (map_add(&o->image_map, &o->n_image_map, from, comma + 1))
			return cluster_err_set(err, -ENOMEM, "out of memory");
	}
	return 0;
}

/* ------------------------------------------------------------ tiers */

static const struct {
	const char *group, *kind, *name;
} tiers[CLUSTER_TIER_REST] = {
	{"apiextensions.k8s.io", "CustomResourceDefinition",
	 "customresourcedefinitions.apiextensions.k8s.io"},
	{"", "Namespace", "namespaces"},
	{"storage.k8s.io", "StorageClass", "storageclasses.storage.k8s.io"},
	{"snapshot.storage.k8s.io", "VolumeSnapshotClass",
	 "volumesnapshotclasses.snapshot.storage.k8s.io"},
	{"snapshot.storage.k8s.io", "VolumeSnapshotContent",
	 "volumesnapshotcontents.snapshot.storage.k8s.io"},
	{"snapshot.storage.k8s.io", "VolumeSnapshot", "volumesnapshots.snapshot.storage.k8s.io"},
	{"velero.io", "DataUpload", "datauploads.velero.io"},
	/* ferry's populator source, where Velero restores its DataUploads: before the claims */
	{CLUSTER_API_GROUP, "Snapshot", "snapshots.ferry.io"},
	{"", "PersistentVolume", "persistentvolumes"},
	{"", "PersistentVolumeClaim", "persistentvolumeclaims"},
	{"rbac.authorization.k8s.io", "ClusterRole", "clusterroles.rbac.authorization.k8s.io"},
	{"rbac.authorization.k8s.io", "Role", "roles.rbac.authorization.k8s.io"},
	{"", "ServiceAccount", "serviceaccounts"},
	{"rbac.authorization.k8s.io", "ClusterRoleBinding",
	 "clusterrolebindings.rbac.authorization.k8s.io"},
	{"rbac.authorization.k8s.io", "RoleBinding", "rolebindings.rbac.authorization.k8s.io"},
	{"", "Secret", "secrets"},
	{"", "ConfigMap", "configmaps"},
	{"", "LimitRange", "limitranges"},
	{"scheduling.k8s.io", "PriorityClass", "priorityclasses.scheduling.k8s.io"},
	{"", "Pod", "pods"},
	{"apps", "ReplicaSet", "replicasets.apps"},
	{"cluster.x-k8s.io", "ClusterClass", "clusterclasses.cluster.x-k8s.io"},
	{"", "Endpoints", "endpoints"},
	{"", "Service", "services"},
};

static const struct {
	const char *group, *kind;
} low[] = {
	{"run.tanzu.vmware.com", "ClusterBootstrap"},
	{"cluster.x-k8s.io", "Cluster"},
	{"addons.cluster.x-k8s.io", "ClusterResourceSet"},
};

int cluster_restore_tier(const char *group, const char *kind)
{
	for (int i = 0; i < CLUSTER_TIER_REST; i++)
		if (!strcmp(tiers[i].group, group) && !strcmp(tiers[i].kind, kind))
			return i;
	for (size_t i = 0; i < sizeof(low) / sizeof(low[0]); i++)
		if (!strcmp(low[i].group, group) && !strcmp(low[i].kind, kind))
			return CLUSTER_TIER_LOW;
	return CLUSTER_TIER_REST;
}

const char *cluster_restore_tier_name(int tier)
{
	if (tier >= 0 && tier < CLUSTER_TIER_REST)
		return tiers[tier].name;
	return tier == CLUSTER_TIER_REST ? "*" : "low";
}

/* ------------------------------------------------------------ prepare */

/* Velero's nonRestorableResources, with ferry's own kinds for velero.io's */
static const struct {
	const char *group, *kind;
} never[] = {
	{"", "Node"},
	{"", "Event"},
	{"events.k8s.io", "Event"},
	{"storage.k8s.io", "CSINode"},
	{"storage.k8s.io", "VolumeAttachment"},
	{"velero.io", "Backup"},
	{"velero.io", "Restore"},
	{"velero.io", "ResticRepository"},
	{"velero.io", "BackupRepository"},
	{CLUSTER_API_GROUP, "Backup"},
	{CLUSTER_API_GROUP, "Restore"},
	{CLUSTER_API_GROUP, "VolumeTransfer"},
};

static const char *const meta_strip[] = {
	"generateName",
	"selfLink",
	"uid",
	"resourceVersion",
	"generation",
	"creationTimestamp",
	"deletionTimestamp",
	"deletionGracePeriodSeconds",
	"ownerReferences",
	"managedFields",
};

static const char *const pvc_ann_strip[] = {
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
	"volume.beta.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/storage-provisioner",
	"volume.kubernetes.io/selected-node",
};

static const char *const pv_ann_strip[] = {
	"pv.kubernetes.io/bind-completed",
	"pv.kubernetes.io/bound-by-controller",
};

/* the group of "apps/v1" into @group ("" for "v1") */
static int group_of(const char *api_version, char *group, size_t size)
{
	const char *slash = strchr(api_version, '/');
	size_t n = slash ? (size_t)(slash - api_version) : 0;

	if (n >= size || (slash && (!n || !slash[1])) || !api_version[0])
		return -EINVAL;
	memcpy(group, api_version, n);
	group[n] = '\0';
	return 0;
}

static void remove_keys(struct k8s_obj *m, const char *const *keys, size_t n)
{
	char path[128];

	for (size_t i = 0; i < n; i++) {
		/* JSON Pointer: '/' in a key is "~1" */
		size_t j = 0;

		path[j++] = '/';
		for (const char *k = keys[i]; *k && j + 3 < sizeof(path); k++) {
			if (*k == '/') {
				path[j++] = '~';
				path[j++] = '1';
			} else {
				path[j++] = *k;
			}
		}
		path[j] = '\0';
		k8s_obj_remove(m, path);
	}
}

static struct k8s_obj *mut(struct k8s_obj *o, const char *path)
{
	return (struct k8s_obj *)k8s_obj_at(o, path);
}

static void strip_service(const struct cluster_restore_opts *o, struct k8s_obj *obj)
{
	const char *ip = k8s_obj_str(obj, "/spec/clusterIP");
	int64_t hc;

	if (!ip || strcmp(ip, "None")) {
		k8s_obj_remove(obj, "/spec/clusterIP");
		k8s_obj_remove(obj, "/spec/clusterIPs");
	}
	if (o->preserve_node_ports)
		return;
	for (const struct k8s_obj *p = k8s_obj_first(k8s_obj_at(obj, "/spec/ports")); p;
	     p = k8s_obj_next(p)) {
		int64_t np;

		if (!k8s_obj_int(p, "/nodePort", &np) && !k8s_service_node_port_chosen(obj, np))
			k8s_obj_remove((struct k8s_obj *)p, "/nodePort");
	}
	if (!k8s_obj_int(obj, "/spec/healthCheckNodePort", &hc) &&
	    !k8s_service_node_port_chosen(obj, -1))
		k8s_obj_remove(obj, "/spec/healthCheckNodePort");
}

static bool has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

/* remove the elements of the array at @path whose @key starts with @prefix */
static void remove_prefixed(struct k8s_obj *obj, const char *path, const char *key,
			    const char *prefix)
{
	size_t n = k8s_obj_len(obj, path);
	char p[256];

	for (size_t i = n; i-- > 0;) {
		snprintf(p, sizeof(p), "%s/%zu%s", path, i, key);
		if (has_prefix(k8s_obj_str(obj, p), prefix)) {
			snprintf(p, sizeof(p), "%s/%zu", path, i);
			k8s_obj_remove(obj, p);
		}
	}
}

static void strip_pod(struct k8s_obj *obj)
{
	const char *sa = k8s_obj_str(obj, "/spec/serviceAccountName");
	char prefix[CLUSTER_NAME_MAX + 8], path[32];
	size_t n;

	k8s_obj_remove(obj, "/spec/nodeName");
	k8s_obj_remove(obj, "/spec/priority");
	if (!sa)
		sa = k8s_obj_str(obj, "/spec/serviceAccount");
	snprintf(prefix, sizeof(prefix), "%s-token-", sa ? sa : "default");
	remove_prefixed(obj, "/spec/volumes", "/name", prefix);
	static const char *const lists[] = {"containers", "initContainers"};
	for (size_t l = 0; l < 2; l++) {
		snprintf(path, sizeof(path), "/spec/%s", lists[l]);
		n = k8s_obj_len(obj, path);
		for (size_t i = 0; i < n; i++) {
			char mp[96];

			snprintf(mp, sizeof(mp), "%s/%zu/volumeMounts", path, i);
			remove_prefixed(obj, mp, "/name", prefix);
		}
	}
}

static void strip_job(struct k8s_obj *obj)
{
	static const char *const keys[] = {"controller-uid", "batch.kubernetes.io/controller-uid"};

	remove_keys(mut(obj, "/spec/selector/matchLabels"), keys, 2);
	remove_keys(mut(obj, "/spec/template/metadata/labels"), keys, 2);
	if (!k8s_obj_len(obj, "/spec/selector/matchLabels"))
		k8s_obj_remove(obj, "/spec/selector/matchLabels");
	if (!k8s_obj_len(obj, "/spec/selector"))
		k8s_obj_remove(obj, "/spec/selector");
}

static int map_images_in(const struct cluster_restore_opts *o, struct k8s_obj *obj,
			 const char *podspec)
{
	static const char *const lists[] = {"containers", "initContainers", "ephemeralContainers"};
	char path[160];

	for (size_t l = 0; l < 3; l++) {
		snprintf(path, sizeof(path), "%s/%s", podspec, lists[l]);
		for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(obj, path)); c;
		     c = k8s_obj_next(c)) {
			const char *img = k8s_obj_str(c, "/image");

			for (size_t i = 0; img && i < o->n_image_map; i++) {
				const char *at = strstr(img, o->image_map[i].from);
				size_t fl = strlen(o->image_map[i].from), tl, len;
				char *n;

				if (!at)
					continue;
				tl = strlen(o->image_map[i].to);
				len = strlen(img) - fl + tl;
				n = malloc(len + 1);
				if (!n)
					return -ENOMEM;
				memcpy(n, img, (size_t)(at - img));
				memcpy(n + (at - img), o->image_map[i].to, tl);
				strcpy(n + (at - img) + tl, at + fl);
				int ret = k8s_obj_set_str((struct k8s_obj *)c, "/image", n);
				free(n);
				if (ret)
					return ret;
				break;
			}
		}
	}
	return 0;
}

/* ------------------------------------------------------------ node labels */

/* ctl_map_get_fn over nodeLabelMapping */
static const char *node_map_get(const void *map, const char *from)
{
	const struct cluster_restore_opts *o = map;

	for (size_t i = 0; i < o->n_node_map; i++)
		if (!strcmp(o->node_map[i].from, from))
			return o->node_map[i].to;
	return NULL;
}

/* node label @k=@v (@v NULL: the key alone) through nodeLabelMapping: ctl_label_map() */
static int node_label(const struct cluster_restore_opts *o, const char *k, const char *v, char *nk,
		      size_t kl, char *nv, size_t vl, const char **pv)
{
	return ctl_label_map(node_map_get, o, k, v, nk, kl, nv, vl, pv);
}

/* k8s_label_map_fn over the Restore's nodeLabelMapping */
static int node_label_fn(const void *arg, const char *k, const char *v, char *nk, size_t kl,
			 char *nv, size_t vl, const char **pv)
{
	return node_label(arg, k, v, nk, kl, nv, vl, pv);
}

/* a pod spec's images and node labels */
static int map_podspec(const struct cluster_restore_opts *o, struct k8s_obj *obj,
		       const char *podspec)
{
	int ret = o->n_image_map ? map_images_in(o, obj, podspec) : 0;

	if (!ret && o->n_node_map)
		ret = k8s_podspec_map_node_labels(obj, podspec, node_label_fn, o);
	return ret;
}

/* imageMapping and nodeLabelMapping on the pod spec of a Pod, a workload's template, a CronJob's */
static int map_pods(const struct cluster_restore_opts *o, struct k8s_obj *obj, const char *group,
		    const char *kind)
{
	if (!o->n_image_map && !o->n_node_map)
		return 0;
	if (!group[0] && !strcmp(kind, "Pod"))
		return map_podspec(o, obj, "/spec");
	if (!strcmp(group, "batch") && !strcmp(kind, "CronJob"))
		return map_podspec(o, obj, "/spec/jobTemplate/spec/template/spec");
	if (k8s_obj_type(obj, "/spec/template/spec") == K8S_T_OBJECT)
		return map_podspec(o, obj, "/spec/template/spec");
	return 0;
}

static int map_sc(const struct cluster_restore_opts *o, struct k8s_obj *obj, const char *path)
{
	const char *sc = k8s_obj_str(obj, path), *to;

	if (!sc)
		return 0;
	to = cluster_restore_map(o->sc_map, o->n_sc_map, sc);
	return to == sc ? 0 : k8s_obj_set_str(obj, path, to);
}

static int map_subjects(const struct cluster_restore_opts *o, struct k8s_obj *obj)
{
	for (const struct k8s_obj *s = k8s_obj_first(k8s_obj_at(obj, "/subjects")); s;
	     s = k8s_obj_next(s)) {
		const char *ns = k8s_obj_str(s, "/namespace");
		const char *to = cluster_restore_map(o->ns_map, o->n_ns_map, ns);

		if (to != ns && k8s_obj_set_str((struct k8s_obj *)s, "/namespace", to))
			return -ENOMEM;
	}
	return 0;
}

static int prepare_kind(const struct cluster_restore_opts *o, struct k8s_obj *obj,
			const char *group, const char *kind)
{
	int ret = 0;

	if (!group[0] && !strcmp(kind, "Service")) {
		strip_service(o, obj);
	} else if (!group[0] && !strcmp(kind, "Pod")) {
		strip_pod(obj);
	} else if (!strcmp(group, "batch") && !strcmp(kind, "Job")) {
		strip_job(obj);
	} else if (!group[0] && !strcmp(kind, "PersistentVolumeClaim")) {
		remove_keys(mut(obj, "/metadata/annotations"), pvc_ann_strip,
			    sizeof(pvc_ann_strip) / sizeof(pvc_ann_strip[0]));
		if ((ret = map_sc(o, obj, "/spec/storageClassName")) ||
		    (ret = map_sc(
			     o, obj,
			     "/metadata/annotations/volume.beta.kubernetes.io~1storage-class")))
			return ret;
	} else if (!group[0] && !strcmp(kind, "PersistentVolume")) {
		const char *ns = k8s_obj_str(obj, "/spec/claimRef/namespace");
		const char *to = cluster_restore_map(o->ns_map, o->n_ns_map, ns);

		k8s_obj_remove(obj, "/spec/claimRef/uid");
		k8s_obj_remove(obj, "/spec/claimRef/resourceVersion");
		remove_keys(mut(obj, "/metadata/annotations"), pv_ann_strip,
			    sizeof(pv_ann_strip) / sizeof(pv_ann_strip[0]));
		if (to != ns && (ret = k8s_obj_set_str(obj, "/spec/claimRef/namespace", to)))
			return ret;
		if ((ret = map_sc(o, obj, "/spec/storageClassName")))
			return ret;
	} else if (!group[0] && !strcmp(kind, "ServiceAccount")) {
		char prefix[CLUSTER_NAME_MAX + 8];

		snprintf(prefix, sizeof(prefix), "%s-token-", k8s_obj_get_name(obj));
		remove_prefixed(obj, "/secrets", "/name", prefix);
	} else if (!strcmp(group, "apps") && !strcmp(kind, "StatefulSet")) {
		size_t n = k8s_obj_len(obj, "/spec/volumeClaimTemplates");

		for (size_t i = 0; i < n; i++) {
			char p[96];

			snprintf(p, sizeof(p),
				 "/spec/volumeClaimTemplates/%zu/spec/storageClassName", i);
			if ((ret = map_sc(o, obj, p)))
				return ret;
		}
	} else if (!strcmp(group, "rbac.authorization.k8s.io") &&
		   (!strcmp(kind, "RoleBinding") || !strcmp(kind, "ClusterRoleBinding"))) {
		if ((ret = map_subjects(o, obj)))
			return ret;
	} else if (!group[0] && !strcmp(kind, "Namespace")) {
		const char *name = k8s_obj_get_name(obj);
		const char *to = cluster_restore_map(o->ns_map, o->n_ns_map, name);

		if (to != name && (ret = k8s_obj_set_str(obj, "/metadata/name", to)))
			return ret;
	}
	return map_pods(o, obj, group, kind);
}

/*
 * scaleWorkloadsToZero: replicas 0 (or suspend true) with the archive's value
 * in an annotation, so that a later step can scale back. An object already
 * so, annotation and all, stays as it is: preparing twice is preparing once.
 */
static int zero_workload(struct k8s_obj *obj, const char *group, const char *kind)
{
	bool apps = !strcmp(group, "apps"), core = !group[0], batch = !strcmp(group, "batch");
	char v[32];
	int64_t n = 1;
	bool b = false;
	int ret;

	if ((apps && (!strcmp(kind, "Deployment") || !strcmp(kind, "StatefulSet") ||
		      !strcmp(kind, "ReplicaSet"))) ||
	    (core && !strcmp(kind, "ReplicationController"))) {
		int r = k8s_obj_int(obj, "/spec/replicas", &n);

		if (r == -ENOENT)
			n = 1;
		else if (r)
			return -EINVAL; /* the API server would refuse it anyway */
		if (!n && k8s_obj_annotation(obj, CLUSTER_ANN_RESTORE_REPLICAS))
			return 0;
		snprintf(v, sizeof(v), "%lld", (long long)n);
		if ((ret = k8s_obj_set_int(obj, "/spec/replicas", 0)))
			return ret;
		return k8s_obj_set_annotation(obj, CLUSTER_ANN_RESTORE_REPLICAS, v);
	}
	if (batch && (!strcmp(kind, "CronJob") || !strcmp(kind, "Job"))) {
		int r = k8s_obj_bool(obj, "/spec/suspend", &b);

		if (r && r != -ENOENT)
			return -EINVAL;
		if (b && k8s_obj_annotation(obj, CLUSTER_ANN_RESTORE_SUSPEND))
			return 0;
		if ((ret = k8s_obj_set_bool(obj, "/spec/suspend", true)))
			return ret;
		return k8s_obj_set_annotation(obj, CLUSTER_ANN_RESTORE_SUSPEND,
					      b ? "true" : "false");
	}
	return 0;
}

/* Velero skips completed pods and jobs: their controllers would not run them again */
static bool completed(const struct k8s_obj *obj, const char *group, const char *kind)
{
	const char *phase = k8s_obj_str(obj, "/status/phase");

	if (!group[0] && !strcmp(kind, "Pod"))
		return phase && (!strcmp(phase, "Succeeded") || !strcmp(phase, "Failed"));
	if (!strcmp(group, "batch") && !strcmp(kind, "Job"))
		return k8s_obj_type(obj, "/status/completionTime") == K8S_T_STRING;
	return false;
}

int cluster_restore_prepare(const struct cluster_restore_opts *o, struct k8s_obj *obj,
			    const char **skip, struct cluster_err *err)
{
	const char *av = k8s_obj_str(obj, "/apiVersion"), *kind = k8s_obj_str(obj, "/kind");
	const char *name = k8s_obj_get_name(obj), *ns;
	char group[CLUSTER_RES_STR];
	int ret;

	cluster_err_clear(err);
	*skip = NULL;
	if (k8s_obj_type(obj, "") != K8S_T_OBJECT || !av || !kind || !kind[0] || !name ||
	    !name[0] || group_of(av, group, sizeof(group)))
		return cluster_err_set(err, -EINVAL,
				       "not an API object: apiVersion, kind and metadata.name are "
				       "required");
	if (k8s_obj_type(obj, "/metadata/namespace") > K8S_T_NULL && !k8s_obj_get_ns(obj))
		return cluster_err_set(err, -EINVAL, "metadata.namespace: not a string");
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		if (!strcmp(never[i].group, group) && !strcmp(never[i].kind, kind))
			*skip = "never restored (Velero's non-restorable kinds)";
	if (!*skip && completed(obj, group, kind))
		*skip = "completed: not run again";
	remove_keys(mut(obj, "/metadata"), meta_strip, sizeof(meta_strip) / sizeof(meta_strip[0]));
	k8s_obj_remove(obj, "/status");
	ns = k8s_obj_get_ns(obj);
	if (ns && ns[0]) {
		const char *to = cluster_restore_map(o->ns_map, o->n_ns_map, ns);

		if (to != ns && (ret = k8s_obj_set_str(obj, "/metadata/namespace", to)))
			goto nomem;
	}
	if ((ret = prepare_kind(o, obj, group, kind)))
		goto nomem;
	if (o->scale_to_zero && (ret = zero_workload(obj, group, kind))) {
		if (ret == -EINVAL)
			return cluster_err_set(
				err, ret, "%s %s: spec.replicas or spec.suspend of the wrong type",
				kind, name);
		goto nomem;
	}
	if (o->backup_name[0] &&
	    (ret = k8s_obj_set_label(obj, CLUSTER_LABEL_BACKUP_NAME, o->backup_name)))
		goto nomem;
	if (o->restore_name[0] &&
	    (ret = k8s_obj_set_label(obj, CLUSTER_LABEL_RESTORE_NAME, o->restore_name)))
		goto nomem;
	return 0;
nomem:
	return cluster_err_set(err, ret,
			       ret == -ENOMEM ? "out of memory" : "cannot change the object");
}

/* ------------------------------------------------------------ the plan */

void cluster_restore_plan_fini(struct cluster_restore_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		k8s_obj_free(p->items[i].obj);
		free(p->items[i].note);
	}
	free(p->items);
	memset(p, 0, sizeof(*p));
}

static int plan_push(struct cluster_restore_plan *p, struct k8s_obj *obj)
{
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 64;
		struct cluster_plan_item *n = realloc(p->items, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		p->items = n;
		p->cap = cap;
	}
	memset(&p->items[p->n], 0, sizeof(p->items[0]));
	p->items[p->n++].obj = obj;
	return 0;
}

/*
 * the first key that appears twice in an object of @o, or NULL: the API
 * server reads the last of them, the lookups here the first, so such a
 * line is refused rather than restored as something else
 */
static const char *dup_key(const struct k8s_obj *o)
{
	bool obj = k8s_obj_type(o, "") == K8S_T_OBJECT;

	for (const struct k8s_obj *m = k8s_obj_first(o); m; m = k8s_obj_next(m)) {
		const char *d;

		if (obj)
			for (const struct k8s_obj *n = k8s_obj_next(m); n; n = k8s_obj_next(n))
				if (!strcmp(k8s_obj_name(m), k8s_obj_name(n)))
					return k8s_obj_name(m);
		if ((d = dup_key(m)))
			return d;
	}
	return NULL;
}

static int plan_line(struct cluster_restore_plan *p, const char *line, size_t len,
		     struct cluster_err *err)
{
	struct k8s_obj *obj = NULL;
	const char *av, *kind, *name, *dup;
	char group[CLUSTER_RES_STR];
	int ret;

	cluster_err_clear(err);
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
		len--;
	ret = k8s_obj_parse(line, len, &obj);
	if (ret)
		return cluster_err_set(err, ret, ret == -ENOMEM ? "out of memory" : "not JSON");
	av = k8s_obj_str(obj, "/apiVersion");
	kind = k8s_obj_str(obj, "/kind");
	name = k8s_obj_get_name(obj);
	if (k8s_obj_type(obj, "") != K8S_T_OBJECT || !av || group_of(av, group, sizeof(group)) ||
	    !kind || !kind[0] || !name || !name[0] || strlen(name) > CLUSTER_NAME_MAX ||
	    (k8s_obj_type(obj, "/metadata/namespace") > K8S_T_NULL &&
	     (!k8s_obj_get_ns(obj) || strlen(k8s_obj_get_ns(obj)) > CLUSTER_NAME_MAX)) ||
	    strlen(kind) >= CLUSTER_RES_STR) {
		k8s_obj_free(obj);
		return cluster_err_set(err, -EINVAL,
				       "not an API object: apiVersion, kind and metadata.name "
				       "(at most 253 characters) are required");
	}
	if ((dup = dup_key(obj))) {
		char q[80];

		cluster_quote(q, sizeof(q), dup, 64);
		k8s_obj_free(obj);
		return cluster_err_set(err, -EINVAL, "the key \"%s\" appears twice in an object",
				       q);
	}
	if ((ret = plan_push(p, obj))) {
		k8s_obj_free(obj);
		return cluster_err_set(err, ret, "out of memory");
	}
	return 0;
}

static int item_read(struct cluster_plan_item *it)
{
	const char *ns = k8s_obj_get_ns(it->obj);

	if (group_of(k8s_obj_str(it->obj, "/apiVersion"), it->group, sizeof(it->group)))
		return -EINVAL;
	snprintf(it->kind, sizeof(it->kind), "%s", k8s_obj_str(it->obj, "/kind"));
	snprintf(it->name, sizeof(it->name), "%s", k8s_obj_get_name(it->obj));
	snprintf(it->ns, sizeof(it->ns), "%s", ns ? ns : "");
	it->tier = cluster_restore_tier(it->group, it->kind);
	return 0;
}

static bool is(const struct cluster_plan_item *it, const char *kind)
{
	return !it->group[0] && !strcmp(it->kind, kind) && !it->skip;
}

static const struct cluster_plan_item *find(const struct cluster_restore_plan *p, const char *kind,
					    const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (is(&p->items[i], kind) && !strcmp(p->items[i].name, name))
			return &p->items[i];
	return NULL;
}

/* @it's controller, from its ownerReferences (before the strip removes them) */
static void owner_read(struct cluster_plan_item *it)
{
	for (const struct k8s_obj *r =
		     k8s_obj_first(k8s_obj_at(it->obj, "/metadata/ownerReferences"));
	     r; r = k8s_obj_next(r)) {
		const char *av = k8s_obj_str(r, "/apiVersion"), *kind = k8s_obj_str(r, "/kind");
		const char *name = k8s_obj_str(r, "/name");
		bool ctl = false;

		k8s_obj_bool(r, "/controller", &ctl);
		if (!ctl || !av || !kind || !name || strlen(kind) >= sizeof(it->owner_kind) ||
		    strlen(name) >= sizeof(it->owner) ||
		    group_of(av, it->owner_group, sizeof(it->owner_group)))
			continue;
		snprintf(it->owner_kind, sizeof(it->owner_kind), "%s", kind);
		snprintf(it->owner, sizeof(it->owner), "%s", name);
		return;
	}
}

static const char OWNED[] = "made again by its controller, which is restored (ownerReferences)";

/*
 * Objects that their controllers make again are not restored when the controller is:
 * a pod of a StatefulSet, ReplicaSet, DaemonSet or Job, the ReplicaSet of a Deployment,
 * a ControllerRevision, and so down the chain (a pod of a ReplicaSet that is itself made
 * again). Restored anyway, they would race the controller for their names (the restored
 * pod of a StatefulSet would start before the populator filled its claim). Whether the
 * owner is in the plan is by group, kind, namespace and name, the UIDs being new.
 */
static void plan_owned(struct cluster_restore_plan *p)
{
	bool more = true;

	while (more) {
		more = false;
		for (size_t i = 0; i < p->n; i++) {
			struct cluster_plan_item *it = &p->items[i];

			if (it->skip || !it->owner[0])
				continue;
			for (size_t j = 0; j < p->n; j++) {
				const struct cluster_plan_item *o = &p->items[j];

				if (j == i || (o->skip && o->skip != OWNED) ||
				    strcmp(o->group, it->owner_group) ||
				    strcmp(o->kind, it->owner_kind) || strcmp(o->name, it->owner) ||
				    strcmp(o->ns, it->ns))
					continue;
				it->skip = OWNED;
				more = true;
				break;
			}
		}
	}
}

/* Endpoints and EndpointSlices that the control plane makes from a Service's selector */
static void plan_endpoints(struct cluster_restore_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct cluster_plan_item *it = &p->items[i];
		const char *by = k8s_obj_label(it->obj, "endpointslice.kubernetes.io/managed-by");

		if (it->skip)
			continue;
		if (!strcmp(it->group, "discovery.k8s.io") && !strcmp(it->kind, "EndpointSlice") &&
		    by && !strcmp(by, "endpointslice-controller.k8s.io"))
			it->skip = "made again by the EndpointSlice controller from its Service";
		if (!it->group[0] && !strcmp(it->kind, "Endpoints")) {
			for (size_t j = 0; j < p->n; j++)
				if (is(&p->items[j], "Service") &&
				    !strcmp(p->items[j].name, it->name) &&
				    !strcmp(p->items[j].ns, it->ns) &&
				    k8s_obj_len(p->items[j].obj, "/spec/selector")) {
					it->skip =
						"made again by the endpoints controller from its "
						"Service's selector";
					break;
				}
		}
	}
}

const char cluster_zero_pod_skip[] = "scaleWorkloadsToZero: not created, it would run";

/*
 * scaleWorkloadsToZero over the whole set: a DaemonSet runs a pod on each
 * node whatever its spec says (restored, with a note); a Pod the plan would
 * create (none of a restored controller: plan_owned() ran) would run: skipped.
 */
static int plan_zero(struct cluster_restore_plan *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct cluster_plan_item *it = &p->items[i];
		char msg[CLUSTER_MSG_MAX];

		if (it->skip)
			continue;
		if (!strcmp(it->group, "apps") && !strcmp(it->kind, "DaemonSet"))
			snprintf(
				msg, sizeof(msg),
				"scaleWorkloadsToZero: a DaemonSet cannot be held at zero: restored "
				"as it is, its pods run");
		else if (is(it, "Pod") && !it->owner[0])
			snprintf(msg, sizeof(msg),
				 "scaleWorkloadsToZero: a bare pod (no controller) is not created");
		else if (is(it, "Pod"))
			snprintf(
				msg, sizeof(msg),
				"scaleWorkloadsToZero: not created: its controller %.60s %.100s is "
				"not restored",
				it->owner_kind, it->owner);
		else
			continue;
		free(it->note);
		it->note = strdup(msg);
		if (!it->note)
			return -ENOMEM;
		if (is(it, "Pod"))
			it->skip = cluster_zero_pod_skip;
	}
	return 0;
}

/* the whole-set rules: PVs that are re-provisioned, PVCs that lose them, namespaces */
static int plan_rules(struct cluster_restore_plan *p, const struct cluster_restore_opts *o)
{
	size_t n = p->n;
	int ret;

	plan_owned(p);
	plan_endpoints(p);
	if (o->scale_to_zero && (ret = plan_zero(p)))
		return ret;

	for (size_t i = 0; i < n; i++) {
		struct cluster_plan_item *it = &p->items[i];
		const char *rp = k8s_obj_str(it->obj, "/spec/persistentVolumeReclaimPolicy");

		if (is(it, "PersistentVolume") && rp && !strcmp(rp, "Delete"))
			it->skip = "reclaim policy Delete: re-provisioned through its PVC";
	}
	for (size_t i = 0; i < n; i++) {
		struct cluster_plan_item *it = &p->items[i];
		const char *pv = k8s_obj_str(it->obj, "/spec/volumeName");

		if (is(it, "PersistentVolumeClaim") && pv && !find(p, "PersistentVolume", pv))
			k8s_obj_remove(it->obj, "/spec/volumeName");
	}
	for (size_t i = 0; i < n; i++) {
		struct k8s_obj *ns = NULL;
		const char *name = p->items[i].ns;

		if (!name[0] || p->items[i].skip || find(p, "Namespace", name))
			continue;
		if ((ret = k8s_obj_new(&ns)) || (ret = k8s_obj_set_str(ns, "/apiVersion", "v1")) ||
		    (ret = k8s_obj_set_str(ns, "/kind", "Namespace")) ||
		    (ret = k8s_obj_set_str(ns, "/metadata/name", name)) ||
		    (ret = plan_push(p, ns))) {
			k8s_obj_free(ns);
			return ret;
		}
		item_read(&p->items[p->n - 1]);
	}
	return 0;
}

/* the items sorted into their tiers, stable; tier_start[] set */
static int plan_sort(struct cluster_restore_plan *p)
{
	struct cluster_plan_item *sorted;
	size_t count[CLUSTER_TIERS] = {0}, at[CLUSTER_TIERS], sum = 0;

	sorted = malloc((p->n ? p->n : 1) * sizeof(*sorted));
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < p->n; i++)
		count[p->items[i].tier]++;
	for (int t = 0; t < CLUSTER_TIERS; t++) {
		p->tier_start[t] = sum;
		at[t] = sum;
		sum += count[t];
	}
	p->tier_start[CLUSTER_TIERS] = p->n;
	for (size_t i = 0; i < p->n; i++)
		sorted[at[p->items[i].tier]++] = p->items[i];
	free(p->items);
	p->items = sorted;
	p->cap = p->n ? p->n : 1;
	return 0;
}

int cluster_restore_plan_finish(struct cluster_restore_plan *p,
				const struct cluster_restore_opts *o, struct cluster_err *err)
{
	int ret;

	cluster_err_clear(err);
	for (size_t i = 0; i < p->n; i++) {
		struct cluster_plan_item *it = &p->items[i];

		owner_read(it);
		if ((ret = cluster_restore_prepare(o, it->obj, &it->skip, err)))
			return ret;
		if (item_read(it))
			return cluster_err_set(err, -EINVAL, "not an API object");
	}
	if ((ret = plan_rules(p, o)) || (ret = plan_sort(p)))
		return cluster_err_set(err, ret, "out of memory");
	return 0;
}

/* ------------------------------------------------------------ volumes */

int cluster_restore_snapshot_name(const char *restore, const char *pvc,
				  char name[CLUSTER_NAME_MAX + 1])
{
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a 64 */
	size_t rl, pl;

	if (!restore || !restore[0] || !pvc || !pvc[0] || strlen(restore) > CLUSTER_NAME_MAX)
		return -EINVAL;
	rl = strlen(restore);
	pl = strlen(pvc);
	if (rl + 1 + pl <= CLUSTER_NAME_MAX) {
		memcpy(name, restore, rl);
		name[rl] = '-';
		memcpy(name + rl + 1, pvc, pl + 1);
		return 0;
	}
	for (const char *c = pvc; *c; c++) {
		h ^= (unsigned char)*c;
		h *= 0x100000001b3ULL;
	}
	if (rl + 17 > CLUSTER_NAME_MAX)
		return -EINVAL;
	memcpy(name, restore, rl);
	snprintf(name + rl, 18, "-%016llx", (unsigned long long)h);
	return 0;
}

static const struct cluster_restore_volume *volume_of(const struct cluster_restore_opts *o,
						      const struct cluster_plan_item *it,
						      const struct cluster_restore_volume *vols,
						      size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (vols[i].ns && vols[i].pvc && !strcmp(vols[i].pvc, it->name) &&
		    !strcmp(cluster_restore_map(o->ns_map, o->n_ns_map, vols[i].ns), it->ns))
			return &vols[i];
	return NULL;
}

/* the Snapshot a claim is filled from, pushed onto @p (its tier set) */
static int snapshot_item(struct cluster_restore_plan *p, const struct cluster_restore_opts *o,
			 const struct cluster_plan_item *pvc,
			 const struct cluster_restore_volume *v,
			 const struct cluster_snapshot_src *src, const char *name)
{
	struct k8s_obj *s = NULL;
	int ret;

	if ((ret = k8s_obj_new(&s)) ||
	    (ret = k8s_obj_set_str(s, "/apiVersion", CLUSTER_API_GROUP "/" CLUSTER_API_VERSION)) ||
	    (ret = k8s_obj_set_str(s, "/kind", "Snapshot")) ||
	    (ret = k8s_obj_set_str(s, "/metadata/name", name)) ||
	    (ret = k8s_obj_set_str(s, "/metadata/namespace", pvc->ns)) ||
	    (o->backup_name[0] &&
	     (ret = k8s_obj_set_label(s, CLUSTER_LABEL_BACKUP_NAME, o->backup_name))) ||
	    (o->restore_name[0] &&
	     (ret = k8s_obj_set_label(s, CLUSTER_LABEL_RESTORE_NAME, o->restore_name))) ||
	    (ret = k8s_obj_set_str(s, "/spec/repository", src->repository)) ||
	    (ret = k8s_obj_set_str(s, "/spec/snapshotID", v->snapshot)) ||
	    (v->volume && (ret = k8s_obj_set_str(s, "/spec/volume", v->volume))) ||
	    (src->url && (ret = k8s_obj_set_str(s, "/spec/url", src->url))) ||
	    (src->password_secret &&
	     (ret = k8s_obj_set_str(s, "/spec/passwordSecretRef/name", src->password_secret))) ||
	    (src->password_secret && src->password_key &&
	     (ret = k8s_obj_set_str(s, "/spec/passwordSecretRef/key", src->password_key))) ||
	    (ret = plan_push(p, s))) {
		k8s_obj_free(s);
		return ret;
	}
	return item_read(&p->items[p->n - 1]);
}

static int volumes(struct cluster_restore_plan *p, const struct cluster_restore_opts *o,
		   const struct cluster_restore_volume *vols, size_t nvols,
		   const struct cluster_snapshot_src *src, bool fill, struct cluster_err *err)
{
	size_t n = p->n;
	int ret;

	if (fill && (!src || !src->repository || !src->repository[0]))
		return cluster_err_set(err, -EINVAL, "no Repository for the restored volumes");
	for (size_t i = 0; i < n; i++) {
		struct cluster_plan_item *it = &p->items[i];
		const struct cluster_restore_volume *v;
		const char *pv;
		char name[CLUSTER_NAME_MAX + 1];

		if (!is(it, "PersistentVolumeClaim") || !(v = volume_of(o, it, vols, nvols)))
			continue;
		if (fill && (!v->snapshot || !v->snapshot[0]))
			continue; /* no data in the backup: as the plan says */
		/* a new volume: the backed-up one's PV is not restored for it */
		pv = k8s_obj_str(it->obj, "/spec/volumeName");
		for (size_t j = 0; pv && j < n; j++)
			if (is(&p->items[j], "PersistentVolume") && !strcmp(p->items[j].name, pv))
				p->items[j].skip =
					fill ? "its claim is filled from the backup's snapshot"
					     : "restoreVolumes false: its claim is restored "
					       "empty";
		k8s_obj_remove(it->obj, "/spec/volumeName");
		k8s_obj_remove(it->obj, "/spec/dataSource");
		k8s_obj_remove(it->obj, "/spec/dataSourceRef");
		if (!fill)
			continue;
		if (cluster_restore_snapshot_name(o->restore_name[0] ? o->restore_name : "restore",
						  it->name, name))
			return cluster_err_set(err, -EINVAL, "no name for the Snapshot of %s/%s",
					       it->ns, it->name);
		if ((ret = k8s_obj_set_str(it->obj, "/spec/dataSourceRef/apiGroup",
					   CLUSTER_API_GROUP)) ||
		    (ret = k8s_obj_set_str(it->obj, "/spec/dataSourceRef/kind", "Snapshot")) ||
		    (ret = k8s_obj_set_str(it->obj, "/spec/dataSourceRef/name", name)))
			return cluster_err_set(err, ret, "out of memory");
		ret = snapshot_item(p, o, it, v, src, name);
		if (ret)
			return cluster_err_set(err, ret, "out of memory");
	}
	if ((ret = plan_sort(p)))
		return cluster_err_set(err, ret, "out of memory");
	return 0;
}

int cluster_restore_plan_volumes(struct cluster_restore_plan *p,
				 const struct cluster_restore_opts *o,
				 const struct cluster_restore_volume *vols, size_t nvols,
				 const struct cluster_snapshot_src *src, bool fill,
				 struct cluster_err *err)
{
	cluster_err_clear(err);
	return cluster_err_oneline(err, volumes(p, o, vols, nvols, src, fill, err));
}

int cluster_restore_opts_read(const struct k8s_obj *spec, const char *name,
			      struct cluster_restore_opts *o, struct cluster_err *err)
{
	return cluster_err_oneline(err, opts_read(spec, name, o, err));
}

int cluster_restore_opts_configmap(struct cluster_restore_opts *o, const struct k8s_obj *cm,
				   struct cluster_err *err)
{
	return cluster_err_oneline(err, opts_configmap(o, cm, err));
}

int cluster_restore_plan_line(struct cluster_restore_plan *p, const char *line, size_t len,
			      struct cluster_err *err)
{
	return cluster_err_oneline(err, plan_line(p, line, len, err));
}
