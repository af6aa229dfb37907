// SPDX-License-Identifier: MIT
/*
 * control/cluster/select.c - which API objects a Backup takes, as Velero
 * selects them (cluster.h "THE SELECTION"), and what happens to each
 * volume (volume policies, volumes that cannot be snapshotted). Pure: no
 * I/O, no clock.
 */
#include <assert.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

struct cluster_strv {
	char **v;
	size_t n;
};

struct cluster_volpol {
	int64_t cap_min, cap_max; /* -1: no bound */
	struct cluster_strv classes;
	struct k8s_obj *pvc_labels; /* NULL: any */
	bool skip;
};

struct cluster_sel {
	struct cluster_strv inc_ns, exc_ns, inc_res, exc_res;
	struct k8s_selector **sels; /* labelSelector, or each of orLabelSelectors */
	size_t nsels;
	char *server_sel; /* labelSelector as a string, for lists */
	int cluster;	  /* -1 unset, 0 false, 1 true */
	struct cluster_volpol *pols;
	size_t npols;
};

static void strv_fini(struct cluster_strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

static int strv_read(const struct k8s_obj *spec, const char *field, struct cluster_strv *out,
		     struct cluster_err *err)
{
	const struct k8s_obj *a = k8s_obj_key(spec, field);
	size_t n;

	if (!a || k8s_obj_type(a, "") == K8S_T_NULL)
		return 0;
	if (k8s_obj_type(a, "") != K8S_T_ARRAY)
		return cluster_err_set(err, -EINVAL, "spec.%s: not a list of strings", field);
	n = k8s_obj_len(a, "");
	out->v = calloc(n ? n : 1, sizeof(*out->v));
	if (!out->v)
		return cluster_err_set(err, -ENOMEM, "out of memory");
	for (const struct k8s_obj *e = k8s_obj_first(a); e; e = k8s_obj_next(e)) {
		const char *v = k8s_obj_str(e, "");

		if (!v || !v[0])
			return cluster_err_set(err, -EINVAL, "spec.%s[%zu]: not a non-empty string",
					       field, out->n);
		out->v[out->n] = strdup(v);
		if (!out->v[out->n])
			return cluster_err_set(err, -ENOMEM, "out of memory");
		out->n++;
	}
	return 0;
}

static bool strv_has(const struct cluster_strv *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->v[i], v))
			return true;
	return false;
}

static int selector_add(struct cluster_sel *s, const struct k8s_obj *ls, const char *field,
			struct cluster_err *err)
{
	struct k8s_err kerr;
	char *str = NULL;
	int ret;

	if (k8s_obj_type(ls, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "spec.%s: not a label selector", field);
	ret = k8s_selector_string(ls, &str);
	if (ret)
		return cluster_err_set(err, ret, "spec.%s: %s", field,
				       ret == -ENOMEM ? "out of memory"
						      : "not a valid label selector");
	ret = k8s_selector_parse(str, &s->sels[s->nsels], &kerr);
	if (ret)
		cluster_err_set(err, ret, "spec.%s: %s", field, kerr.msg);
	else
		s->nsels++;
	free(str);
	return ret;
}

static void volpol_fini(struct cluster_volpol *p)
{
	strv_fini(&p->classes);
	k8s_obj_free(p->pvc_labels);
}

static void pols_free(struct cluster_sel *s)
{
	for (size_t i = 0; i < s->npols; i++)
		volpol_fini(&s->pols[i]);
	free(s->pols);
	s->pols = NULL;
	s->npols = 0;
}

static int capacity_read(const char *v, struct cluster_volpol *p, struct cluster_err *err)
{
	const char *comma = strchr(v, ',');
	char lo[64], hi[64];
	size_t n;

	if (!comma || strchr(comma + 1, ','))
		return cluster_err_set(err, -EINVAL, "capacity \"%.64s\": not \"MIN,MAX\"", v);
	n = (size_t)(comma - v);
	if (n >= sizeof(lo) || strlen(comma + 1) >= sizeof(hi))
		return cluster_err_set(err, -EINVAL, "capacity \"%.64s\": too long", v);
	memcpy(lo, v, n);
	lo[n] = '\0';
	strcpy(hi, comma + 1);
	p->cap_min = p->cap_max = -1;
	if (lo[0] && k8s_quantity_value(lo, &p->cap_min))
		return cluster_err_set(err, -EINVAL, "capacity \"%.64s\": %s is not a quantity", v,
				       lo);
	if (hi[0] && k8s_quantity_value(hi, &p->cap_max))
		return cluster_err_set(err, -EINVAL, "capacity \"%.64s\": %s is not a quantity", v,
				       hi);
	if (p->cap_min >= 0 && p->cap_max >= 0 && p->cap_min > p->cap_max)
		return cluster_err_set(err, -EINVAL, "capacity \"%.64s\": MIN above MAX", v);
	return 0;
}

static int pols_read(struct cluster_sel *s, const struct k8s_obj *list, const char *where,
		     struct cluster_err *err)
{
	size_t n = k8s_obj_len(list, "");
	int ret = 0;

	pols_free(s);
	if (k8s_obj_type(list, "") != K8S_T_ARRAY)
		return cluster_err_set(err, -EINVAL, "%s: not a list", where);
	s->pols = calloc(n ? n : 1, sizeof(*s->pols));
	if (!s->pols)
		return cluster_err_set(err, -ENOMEM, "out of memory");
	for (const struct k8s_obj *e = k8s_obj_first(list); e; e = k8s_obj_next(e)) {
		struct cluster_volpol *p = &s->pols[s->npols++];
		const struct k8s_obj *cond = k8s_obj_key(e, "conditions"), *lab;
		const char *type = k8s_obj_str(e, "/action/type"), *cap;
		size_t i = s->npols - 1;

		p->cap_min = p->cap_max = -1;
		if (!type || (strcmp(type, "skip") && strcmp(type, "snapshot")))
			return cluster_err_set(
				err, -EINVAL,
				"%s[%zu].action.type: \"skip\" or \"snapshot\" (ferry "
				"moves blocks: no fs-backup)",
				where, i);
		p->skip = !strcmp(type, "skip");
		if (cond && k8s_obj_type(cond, "") != K8S_T_OBJECT)
			return cluster_err_set(err, -EINVAL, "%s[%zu].conditions: not an object",
					       where, i);
		for (const struct k8s_obj *c = k8s_obj_first(cond); c; c = k8s_obj_next(c)) {
			const char *k = k8s_obj_name(c);

			if (strcmp(k, "capacity") && strcmp(k, "storageClass") &&
			    strcmp(k, "pvcLabels"))
				return cluster_err_set(err, -EINVAL,
						       "%s[%zu].conditions.%.64s: not a condition "
						       "ferry knows (capacity, storageClass, "
						       "pvcLabels)",
						       where, i, k);
		}
		cap = k8s_obj_str(cond, "/capacity");
		if (k8s_obj_type(cond, "/capacity") != K8S_T_ABSENT && !cap)
			return cluster_err_set(err, -EINVAL,
					       "%s[%zu].conditions.capacity: not a string", where,
					       i);
		if (cap && (ret = capacity_read(cap, p, err)))
			return ret;
		if ((ret = strv_read(cond, "storageClass", &p->classes, err)))
			return ret;
		lab = k8s_obj_key(cond, "pvcLabels");
		if (lab) {
			if (k8s_obj_type(lab, "") != K8S_T_OBJECT)
				return cluster_err_set(err, -EINVAL,
						       "%s[%zu].conditions.pvcLabels: not a map",
						       where, i);
			for (const struct k8s_obj *l = k8s_obj_first(lab); l; l = k8s_obj_next(l))
				if (!k8s_obj_str(l, ""))
					return cluster_err_set(err, -EINVAL,
							       "%s[%zu].conditions.pvcLabels: "
							       "values are strings",
							       where, i);
			p->pvc_labels = k8s_obj_dup(lab);
			if (!p->pvc_labels)
				return cluster_err_set(err, -ENOMEM, "out of memory");
		}
	}
	return 0;
}

void cluster_sel_free(struct cluster_sel *s)
{
	if (!s)
		return;
	strv_fini(&s->inc_ns);
	strv_fini(&s->exc_ns);
	strv_fini(&s->inc_res);
	strv_fini(&s->exc_res);
	for (size_t i = 0; i < s->nsels; i++)
		k8s_selector_free(s->sels[i]);
	free(s->sels);
	free(s->server_sel);
	pols_free(s);
	free(s);
}

static int sel_parse(const struct k8s_obj *spec, struct cluster_sel **out, struct cluster_err *err)
{
	struct cluster_sel *s = calloc(1, sizeof(*s));
	const struct k8s_obj *ls, *ors, *pols;
	int ret;

	cluster_err_clear(err);
	*out = NULL;
	if (!s)
		return cluster_err_set(err, -ENOMEM, "out of memory");
	s->cluster = -1;
	if (spec && k8s_obj_type(spec, "") != K8S_T_OBJECT) {
		ret = cluster_err_set(err, -EINVAL, "spec: not an object");
		goto fail;
	}
	if ((ret = strv_read(spec, "includedNamespaces", &s->inc_ns, err)) ||
	    (ret = strv_read(spec, "excludedNamespaces", &s->exc_ns, err)) ||
	    (ret = strv_read(spec, "includedResources", &s->inc_res, err)) ||
	    (ret = strv_read(spec, "excludedResources", &s->exc_res, err)))
		goto fail;
	ls = k8s_obj_key(spec, "labelSelector");
	ors = k8s_obj_key(spec, "orLabelSelectors");
	if (ls && k8s_obj_type(ls, "") == K8S_T_NULL)
		ls = NULL;
	if (ors && (k8s_obj_type(ors, "") == K8S_T_NULL || !k8s_obj_len(ors, "")))
		ors = NULL;
	if (ls && ors) {
		ret = cluster_err_set(err, -EINVAL,
				      "spec.labelSelector and spec.orLabelSelectors: only one of "
				      "them may be given");
		goto fail;
	}
	if (ors && k8s_obj_type(ors, "") != K8S_T_ARRAY) {
		ret = cluster_err_set(err, -EINVAL, "spec.orLabelSelectors: not a list");
		goto fail;
	}
	s->sels = calloc(ors ? k8s_obj_len(ors, "") : 1, sizeof(*s->sels));
	if (!s->sels) {
		ret = cluster_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	if (ls && (ret = selector_add(s, ls, "labelSelector", err)))
		goto fail;
	if (ls && k8s_selector_string(ls, &s->server_sel)) {
		ret = cluster_err_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	for (const struct k8s_obj *e = k8s_obj_first(ors); e; e = k8s_obj_next(e))
		if ((ret = selector_add(s, e, "orLabelSelectors", err)))
			goto fail;
	switch (k8s_obj_type(spec, "/includeClusterResources")) {
	case K8S_T_ABSENT:
	case K8S_T_NULL:
		break;
	case K8S_T_BOOL: {
		bool b = false;

		k8s_obj_bool(spec, "/includeClusterResources", &b);
		s->cluster = b;
		break;
	}
	default:
		ret = cluster_err_set(err, -EINVAL,
				      "spec.includeClusterResources: true, false or null");
		goto fail;
	}
	pols = k8s_obj_key(spec, "volumePolicies");
	if (pols && k8s_obj_type(pols, "") != K8S_T_NULL &&
	    (ret = pols_read(s, pols, "spec.volumePolicies", err)))
		goto fail;
	*out = s;
	return 0;
fail:
	cluster_sel_free(s);
	return ret;
}

static int policies_configmap(struct cluster_sel *s, const struct k8s_obj *cm,
			      struct cluster_err *err)
{
	const struct k8s_obj *data = k8s_obj_key(cm, "data"), *first = k8s_obj_first(data);
	const char *yaml = k8s_obj_str(first, "");
	struct k8s_obj *doc = NULL;
	struct k8s_err kerr;
	const char *ver;
	int ret;

	cluster_err_clear(err);
	if (!yaml || k8s_obj_len(data, "") != 1)
		return cluster_err_set(err, -EINVAL,
				       "resource policies ConfigMap: data must hold one key, the "
				       "YAML document");
	ret = k8s_obj_parse_yaml(yaml, strlen(yaml), &doc, &kerr);
	if (ret)
		return cluster_err_set(err, ret, "resource policies ConfigMap: %s", kerr.msg);
	ver = k8s_obj_str(doc, "/version");
	if (!ver || strcmp(ver, "v1"))
		ret = cluster_err_set(err, -EINVAL, "resource policies: version must be v1");
	else if (k8s_obj_type(doc, "/volumePolicies") == K8S_T_ABSENT)
		pols_free(s);
	else
		ret = pols_read(s, k8s_obj_key(doc, "volumePolicies"), "volumePolicies", err);
	k8s_obj_free(doc);
	return ret;
}

const char *cluster_sel_server_selector(const struct cluster_sel *s)
{
	return s->server_sel;
}

static bool glob_any(const struct cluster_strv *s, const char *v)
{
	for (size_t i = 0; i < s->n; i++)
		if (!fnmatch(s->v[i], v, 0))
			return true;
	return false;
}

/* Velero's IncludeEverything(): no namespace included but "*", none excluded */
static bool all_namespaces(const struct cluster_sel *s)
{
	for (size_t i = 0; i < s->inc_ns.n; i++)
		if (strcmp(s->inc_ns.v[i], "*"))
			return false;
	return s->exc_ns.n == 0;
}

bool cluster_sel_namespace(const struct cluster_sel *s, const char *ns)
{
	if (glob_any(&s->exc_ns, ns))
		return false;
	return s->inc_ns.n == 0 || glob_any(&s->inc_ns, ns);
}

/* whether @name (one of @r's names) with the optional ".group" of @e is @e */
static bool name_is(const char *e, const char *name, const char *group)
{
	size_t n = strlen(name);

	if (!name[0])
		return false;
	if (!strcasecmp(e, name))
		return true;
	return group[0] && !strncasecmp(e, name, n) && e[n] == '.' && !strcasecmp(e + n + 1, group);
}

static bool res_is(const char *e, const struct cluster_res *r)
{
	char shorts[sizeof(r->short_names)], *save = NULL;

	if (!strcmp(e, "*"))
		return true;
	if (name_is(e, r->resource, r->group) || name_is(e, r->singular, r->group) ||
	    name_is(e, r->kind, r->group))
		return true;
	strcpy(shorts, r->short_names);
	for (char *t = strtok_r(shorts, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (name_is(e, t, r->group))
			return true;
	return false;
}

static bool res_any(const struct cluster_strv *s, const struct cluster_res *r)
{
	for (size_t i = 0; i < s->n; i++)
		if (res_is(s->v[i], r))
			return true;
	return false;
}

static bool res_passes(const struct cluster_sel *s, const struct cluster_res *r)
{
	/* a VolumeTransfer is the controller's plumbing for one volume of a
	 * running Backup or Restore: it lives minutes, is never restored, and
	 * reading it is the volume path's grant, not a Backup's; a Migration
	 * is a move between two clusters in progress (restored, it would start
	 * again), read in ferry-system only */
	if (!strcmp(r->group, CLUSTER_API_GROUP) &&
	    (!strcmp(r->resource, "volumetransfers") || !strcmp(r->resource, "migrations")))
		return false;
	if (res_any(&s->exc_res, r))
		return false;
	return s->inc_res.n == 0 || res_any(&s->inc_res, r);
}

size_t cluster_sel_unknown(const struct cluster_sel *s, const struct cluster_apis *a,
			   const char **out, size_t max)
{
	const struct cluster_strv *lists[] = {&s->inc_res, &s->exc_res};
	size_t n = 0;

	for (size_t l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++) {
			bool known = !strcmp(lists[l]->v[i], "*");

			for (size_t r = 0; r < a->n && !known; r++)
				known = res_is(lists[l]->v[i], &a->res[r]);
			if (!known && n < max)
				out[n++] = lists[l]->v[i];
		}
	return n;
}

enum cluster_scope cluster_sel_resource(const struct cluster_sel *s, const struct cluster_res *r)
{
	if (!res_passes(s, r))
		return CLUSTER_SCOPE_NONE;
	if (r->namespaced)
		return CLUSTER_SCOPE_ALL;
	/* namespaces follow the namespace filters, not the cluster-scope switch */
	if (!r->group[0] && !strcmp(r->resource, "namespaces"))
		return CLUSTER_SCOPE_ALL;
	if (s->cluster == 1)
		return CLUSTER_SCOPE_ALL;
	if (s->cluster == 0)
		return CLUSTER_SCOPE_NONE;
	return all_namespaces(s) ? CLUSTER_SCOPE_ALL : CLUSTER_SCOPE_RELATED;
}

const char *cluster_verdict_name(enum cluster_verdict v)
{
	switch (v) {
	case CLUSTER_TAKE:
		return "Take";
	case CLUSTER_OUT_RESOURCE:
		return "Resource";
	case CLUSTER_OUT_NAMESPACE:
		return "Namespace";
	case CLUSTER_OUT_SELECTOR:
		return "Selector";
	case CLUSTER_OUT_EXCLUDE_LABEL:
		return "ExcludeLabel";
	}
	return "?";
}

static bool labels_match(const struct cluster_sel *s, const struct k8s_obj *labels)
{
	if (!s->nsels)
		return true;
	for (size_t i = 0; i < s->nsels; i++)
		if (k8s_selector_match(s->sels[i], labels))
			return true;
	return false;
}

enum cluster_verdict cluster_sel_object(const struct cluster_sel *s, const struct cluster_res *r,
					const struct k8s_obj *o, bool related)
{
	const char *ex = k8s_obj_label(o, CLUSTER_LABEL_EXCLUDE);
	enum cluster_scope sc = cluster_sel_resource(s, r);
	const char *ns = k8s_obj_get_ns(o);

	if ((ex && !strcmp(ex, "true")) || k8s_obj_label(o, CLUSTER_LABEL_TRANSFER))
		return CLUSTER_OUT_EXCLUDE_LABEL;
	if (sc == CLUSTER_SCOPE_NONE || (sc == CLUSTER_SCOPE_RELATED && !related))
		return CLUSTER_OUT_RESOURCE;
	if (r->namespaced && !cluster_sel_namespace(s, ns ? ns : ""))
		return CLUSTER_OUT_NAMESPACE;
	if (!r->group[0] && !strcmp(r->resource, "namespaces") && !related) {
		const char *name = k8s_obj_get_name(o);

		if (!cluster_sel_namespace(s, name ? name : ""))
			return CLUSTER_OUT_NAMESPACE;
	}
	if (!related && !labels_match(s, k8s_obj_at(o, "/metadata/labels")))
		return CLUSTER_OUT_SELECTOR;
	return CLUSTER_TAKE;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	snprintf(dst, size, "%s", src ? src : "");
}

static bool labels_have(const struct k8s_obj *want, const struct k8s_obj *labels)
{
	for (const struct k8s_obj *l = k8s_obj_first(want); l; l = k8s_obj_next(l)) {
		const char *v = k8s_obj_str(k8s_obj_key(labels, k8s_obj_name(l)), "");

		if (!v || strcmp(v, k8s_obj_str(l, "")))
			return false;
	}
	return true;
}

static const struct cluster_volpol *
policy_of(const struct cluster_sel *s, const struct cluster_volume *v, const struct k8s_obj *pvc)
{
	for (size_t i = 0; s && i < s->npols; i++) {
		const struct cluster_volpol *p = &s->pols[i];

		if (p->cap_min >= 0 && v->bytes < p->cap_min)
			continue;
		if (p->cap_max >= 0 && v->bytes > p->cap_max)
			continue;
		if (p->classes.n && !strv_has(&p->classes, v->storage_class))
			continue;
		if (p->pvc_labels &&
		    !labels_have(p->pvc_labels, k8s_obj_at(pvc, "/metadata/labels")))
			continue;
		return p;
	}
	return NULL;
}

/* the in-tree volume source a PV has, for the warning */
static const char *intree_source(const struct k8s_obj *pv)
{
	static const char *const kinds[] = {
		"hostPath",
		"nfs",
		"local",
		"iscsi",
		"fc",
		"rbd",
		"cephfs",
		"cinder",
		"glusterfs",
		"awsElasticBlockStore",
		"gcePersistentDisk",
		"azureDisk",
		"azureFile",
		"vsphereVolume",
		"portworxVolume",
		"flexVolume",
	};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (k8s_obj_key(k8s_obj_key(pv, "spec"), kinds[i]))
			return kinds[i];
	return "no CSI";
}

int cluster_volume_check(const struct cluster_sel *s, const struct k8s_obj *pvc,
			 const struct k8s_obj *pv, const char *const *drivers, size_t ndrivers,
			 struct cluster_volume *out)
{
	const struct cluster_volpol *pol;
	const char *name = k8s_obj_get_name(pvc), *q, *sc;
	bool has_class = false;

	memset(out, 0, sizeof(*out));
	if (!name)
		return -EINVAL;
	copy_str(out->ns, sizeof(out->ns), k8s_obj_get_ns(pvc));
	copy_str(out->pvc, sizeof(out->pvc), name);
	copy_str(out->pv, sizeof(out->pv), k8s_obj_str(pvc, "/spec/volumeName"));
	sc = k8s_obj_str(pvc, "/spec/storageClassName");
	if (!sc)
		sc = k8s_obj_str(pv, "/spec/storageClassName");
	copy_str(out->storage_class, sizeof(out->storage_class), sc);
	q = k8s_obj_str(pvc, "/spec/resources/requests/storage");
	if (!q || k8s_quantity_value(q, &out->bytes))
		out->bytes = 0;
	copy_str(out->driver, sizeof(out->driver), k8s_obj_str(pv, "/spec/csi/driver"));
	pol = policy_of(s, out, pvc);
	if (pol && pol->skip) {
		out->skip = true;
		snprintf(out->warning, sizeof(out->warning),
			 "volume %.100s/%.100s: skipped by a volume policy", out->ns, out->pvc);
		return 0;
	}
	if (!pv) {
		snprintf(out->warning, sizeof(out->warning),
			 "volume %.100s/%.100s: the PVC is not bound: no data to back up", out->ns,
			 out->pvc);
		return 0;
	}
	if (!out->driver[0]) {
		snprintf(out->warning, sizeof(out->warning),
			 "volume %.100s/%.100s: a %s volume cannot be snapshotted", out->ns,
			 out->pvc, intree_source(pv));
		return 0;
	}
	for (size_t i = 0; i < ndrivers; i++)
		has_class |= !strcmp(drivers[i], out->driver);
	if (!has_class) {
		snprintf(out->warning, sizeof(out->warning),
			 "volume %.60s/%.60s: no VolumeSnapshotClass for its driver %.60s", out->ns,
			 out->pvc, out->driver);
		return 0;
	}
	out->snapshottable = true;
	return 0;
}

int cluster_sel_parse(const struct k8s_obj *spec, struct cluster_sel **out, struct cluster_err *err)
{
	return cluster_err_oneline(err, sel_parse(spec, out, err));
}

int cluster_sel_policies_configmap(struct cluster_sel *s, const struct k8s_obj *cm,
				   struct cluster_err *err)
{
	return cluster_err_oneline(err, policies_configmap(s, cm, err));
}
