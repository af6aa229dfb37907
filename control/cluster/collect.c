// SPDX-License-Identifier: MIT
/*
 * control/cluster/collect.c - the objects a selection takes, listed from
 * the API server and handed out as JSON lines (cluster.h "COLLECTION").
 *
 * One pass over the resources in scope (CLUSTER_SCOPE_ALL), in discovery's
 * order, then the related objects the taken ones name: the PV of each PVC,
 * the CRD of each custom resource, the Namespace of each namespace. Those
 * are read one by one (GET) and emitted once, unless already taken.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

/* a related object wanted: "<group>/<resource>/<name>" */
struct want {
	char **keys;
	size_t n;
};

struct collect {
	struct k8s_client *c;
	const struct cluster_sel *s;
	const struct cluster_apis *apis;
	cluster_emit_fn emit;
	void *arg;
	struct cluster_collect_result *res;
	struct cluster_err *err;
	struct want taken; /* cluster-scoped objects emitted */
	struct want wanted;
	struct k8s_obj **pvcs;
	size_t npvcs;
};

static void want_fini(struct want *w)
{
	for (size_t i = 0; i < w->n; i++)
		free(w->keys[i]);
	free(w->keys);
	w->keys = NULL;
	w->n = 0;
}

static bool want_has(const struct want *w, const char *key)
{
	for (size_t i = 0; i < w->n; i++)
		if (!strcmp(w->keys[i], key))
			return true;
	return false;
}

static int want_add(struct want *w, const char *group, const char *resource, const char *name)
{
	size_t len = strlen(group) + strlen(resource) + strlen(name) + 3;
	char *key = malloc(len), **n;

	if (!key)
		return -ENOMEM;
	snprintf(key, len, "%s/%s/%s", group, resource, name);
	if (want_has(w, key)) {
		free(key);
		return 0;
	}
	n = realloc(w->keys, (w->n + 1) * sizeof(*n));
	if (!n) {
		free(key);
		return -ENOMEM;
	}
	w->keys = n;
	w->keys[w->n++] = key;
	return 0;
}

static int warn(struct cluster_collect_result *r, const char *fmt, const char *a, const char *b)
{
	char(*n)[256] = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	r->warnings = n;
	snprintf(r->warnings[r->nwarnings], sizeof(r->warnings[0]), fmt, a, b);
	for (char *c = r->warnings[r->nwarnings]; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?'; /* names quoted from a spec: one line */
	r->nwarnings++;
	return 0;
}

void cluster_collect_result_fini(struct cluster_collect_result *r)
{
	if (!r)
		return;
	free(r->volumes);
	free(r->warnings);
	memset(r, 0, sizeof(*r));
}

static bool is_core(const struct cluster_res *r, const char *resource)
{
	return !r->group[0] && !strcmp(r->resource, resource);
}

/* built-in groups: a resource elsewhere may be a custom resource, whose CRD comes along */
static bool builtin_group(const char *g)
{
	size_t n = strlen(g);

	return !g[0] || !strchr(g, '.') || (n >= 7 && !strcmp(g + n - 7, ".k8s.io"));
}

static int emit_one(struct collect *k, const struct cluster_res *r, const struct k8s_obj *o,
		    bool related)
{
	struct cluster_item it = {.res = r, .related = related};
	const char *ns = k8s_obj_get_ns(o), *name = k8s_obj_get_name(o);
	char *line;
	int ret;

	if (!name)
		return 0;
	it.ns = r->namespaced && ns ? ns : "";
	it.name = name;
	if (!r->namespaced && (ret = want_add(&k->taken, r->group, r->resource, name)))
		return cluster_err_set(k->err, ret, "out of memory");
	line = k8s_obj_json(o);
	if (!line)
		return cluster_err_set(k->err, -ENOMEM, "out of memory");
	ret = k->emit(k->arg, &it, line, strlen(line));
	free(line);
	if (ret)
		return cluster_err_set(k->err, ret, "storing %.100s %.100s/%.100s failed", r->kind,
				       it.ns, name);
	k->res->objects++;
	/* what it brings along */
	if (r->namespaced && ns && (ret = want_add(&k->wanted, "", "namespaces", ns)))
		return cluster_err_set(k->err, ret, "out of memory");
	if (is_core(r, "persistentvolumeclaims")) {
		const char *pv = k8s_obj_str(o, "/spec/volumeName");
		struct k8s_obj **n = realloc(k->pvcs, (k->npvcs + 1) * sizeof(*n));

		if (!n)
			return cluster_err_set(k->err, -ENOMEM, "out of memory");
		k->pvcs = n;
		if (!(k->pvcs[k->npvcs] = k8s_obj_dup(o)))
			return cluster_err_set(k->err, -ENOMEM, "out of memory");
		k->npvcs++;
		if (pv && pv[0] && (ret = want_add(&k->wanted, "", "persistentvolumes", pv)))
			return cluster_err_set(k->err, ret, "out of memory");
	}
	if (!builtin_group(r->group)) {
		char crd[2 * CLUSTER_RES_STR + 2];

		snprintf(crd, sizeof(crd), "%s.%s", r->resource, r->group);
		if ((ret = want_add(&k->wanted, "apiextensions.k8s.io", "customresourcedefinitions",
				    crd)))
			return cluster_err_set(k->err, ret, "out of memory");
	}
	return 0;
}

static void to_resource(const struct cluster_res *r, struct k8s_resource *kr)
{
	kr->group = r->group;
	kr->version = r->version;
	kr->resource = r->resource;
	kr->kind = r->kind;
	kr->namespaced = r->namespaced;
}

static int list_one(struct collect *k, const struct cluster_res *r)
{
	struct k8s_call call = {.limit = 500};
	struct k8s_items *items = NULL;
	struct k8s_resource kr;
	struct k8s_err kerr;
	int ret;

	to_resource(r, &kr);
	/* namespaces are taken for their objects too: never filtered at the server */
	if (!is_core(r, "namespaces"))
		call.label_selector = cluster_sel_server_selector(k->s);
	ret = k8s_list(k->c, &kr, "", &call, &items, &kerr);
	if (ret == -ENOENT || ret == -EACCES || ret == -EPERM || ret == -EOPNOTSUPP) {
		/* gone since discovery, or not ours to read: say so, go on */
		char what[2 * CLUSTER_RES_STR + 2];

		snprintf(what, sizeof(what), "%s%s%s", r->resource, r->group[0] ? "." : "",
			 r->group);
		/* the client's line: a 403 names the verb and resource to grant */
		return warn(k->res, "%.60s: not listed: %.180s", what,
			    kerr.msg[0] ? kerr.msg : kerr.reason)
			       ? -ENOMEM
			       : 0;
	}
	if (ret)
		return cluster_err_set(k->err, ret, "list of %.100s: %.150s", r->resource,
				       kerr.msg);
	for (size_t i = 0; i < k8s_items_len(items) && !ret; i++) {
		const struct k8s_obj *o = k8s_items_at(items, i);

		if (cluster_sel_object(k->s, r, o, false) == CLUSTER_TAKE)
			ret = emit_one(k, r, o, false);
	}
	k8s_items_free(items);
	return ret;
}

static const struct cluster_res *find_res(const struct cluster_apis *a, const char *group,
					  const char *resource)
{
	for (size_t i = 0; i < a->n; i++)
		if (!strcmp(a->res[i].group, group) && !strcmp(a->res[i].resource, resource))
			return &a->res[i];
	return NULL;
}

/* the related objects, read one by one; new ones may add more (a CRD's none) */
static int related(struct collect *k)
{
	int ret = 0;

	for (size_t i = 0; i < k->wanted.n && !ret; i++) {
		char key[3 * CLUSTER_RES_STR + 3], *res, *name;
		const struct cluster_res *r;
		struct k8s_obj *o = NULL;
		struct k8s_resource kr;
		struct k8s_err kerr;

		if (want_has(&k->taken, k->wanted.keys[i]))
			continue;
		snprintf(key, sizeof(key), "%s", k->wanted.keys[i]);
		res = strchr(key, '/');
		if (!res)
			continue;
		*res++ = '\0';
		name = strchr(res, '/');
		if (!name)
			continue;
		*name++ = '\0';
		r = find_res(k->apis, key, res);
		if (!r)
			continue;
		to_resource(r, &kr);
		ret = k8s_get(k->c, &kr, NULL, name, NULL, &o, &kerr);
		if (ret == -ENOENT) {
			ret = 0; /* a PV deleted meanwhile; an aggregated group that has no CRD */
			continue;
		}
		if (ret == -EPERM || ret == -EACCES) { /* not ours to read: as a list, a warning */
			ret = warn(k->res, "%.100s: not read: %.140s", k->wanted.keys[i], kerr.msg)
				      ? cluster_err_set(k->err, -ENOMEM, "out of memory")
				      : 0;
			continue;
		}
		if (ret)
			return cluster_err_set(k->err, ret, "get of %.100s %.100s: %.100s", res,
					       name, kerr.msg);
		if (cluster_sel_object(k->s, r, o, true) == CLUSTER_TAKE)
			ret = emit_one(k, r, o, true);
		k8s_obj_free(o);
	}
	return ret;
}

/* the drivers that have a VolumeSnapshotClass; none when the kind is not served */
static int snapshot_drivers(struct collect *k, struct k8s_items **items)
{
	const struct cluster_res *r =
		find_res(k->apis, "snapshot.storage.k8s.io", "volumesnapshotclasses");
	struct k8s_resource kr;
	struct k8s_err kerr;
	int ret;

	*items = NULL;
	if (!r)
		return 0;
	to_resource(r, &kr);
	ret = k8s_list(k->c, &kr, "", NULL, items, &kerr);
	if (ret && ret != -ENOMEM)
		return 0;
	return ret;
}

static int volumes(struct collect *k)
{
	const struct cluster_res *pvr = find_res(k->apis, "", "persistentvolumes");
	struct k8s_items *classes = NULL;
	const char **drivers = NULL;
	size_t nd = 0;
	int ret;

	if (!k->npvcs)
		return 0;
	if ((ret = snapshot_drivers(k, &classes)))
		return cluster_err_set(k->err, ret, "out of memory");
	drivers = calloc(k8s_items_len(classes) + 1, sizeof(*drivers));
	k->res->volumes = calloc(k->npvcs, sizeof(*k->res->volumes));
	if (!drivers || !k->res->volumes) {
		ret = cluster_err_set(k->err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < k8s_items_len(classes); i++) {
		const char *d = k8s_obj_str(k8s_items_at(classes, i), "/driver");

		if (d)
			drivers[nd++] = d;
	}
	for (size_t i = 0; i < k->npvcs && !ret; i++) {
		const char *pvname = k8s_obj_str(k->pvcs[i], "/spec/volumeName");
		struct cluster_volume *v = &k->res->volumes[k->res->nvolumes];
		struct k8s_obj *pv = NULL;
		struct k8s_resource kr;
		struct k8s_err kerr;

		if (pvr && pvname && pvname[0]) {
			to_resource(pvr, &kr);
			ret = k8s_get(k->c, &kr, NULL, pvname, NULL, &pv, &kerr);
			if (ret && ret != -ENOENT) {
				cluster_err_set(k->err, ret, "get of PV %.100s: %.100s", pvname,
						kerr.msg);
				break;
			}
			ret = 0;
		}
		if (!cluster_volume_check(k->s, k->pvcs[i], pv, drivers, nd, v)) {
			k->res->nvolumes++;
			if (v->warning[0] && warn(k->res, "%s%s", v->warning, ""))
				ret = cluster_err_set(k->err, -ENOMEM, "out of memory");
		}
		k8s_obj_free(pv);
	}
out:
	free(drivers);
	k8s_items_free(classes);
	return ret;
}

int cluster_collect(struct k8s_client *c, const struct cluster_sel *s,
		    const struct cluster_apis *apis, cluster_emit_fn emit, void *arg,
		    struct cluster_collect_result *res, struct cluster_err *err)
{
	struct collect k = {.c = c, .s = s, .emit = emit, .arg = arg, .res = res, .err = err};
	struct cluster_apis own = {0};
	struct cluster_err dwarn;
	int ret = 0;

	cluster_err_clear(err);
	memset(res, 0, sizeof(*res));
	if (!apis) {
		ret = cluster_discover(c, &own, &dwarn, err);
		if (ret)
			return ret;
		if (dwarn.msg[0] && warn(res, "%s%s", dwarn.msg, "")) {
			ret = cluster_err_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		apis = &own;
	}
	k.apis = apis;
	{
		const char *unknown[8];
		size_t n = cluster_sel_unknown(s, apis, unknown, 8);

		for (size_t i = 0; i < n && i < 8; i++)
			if (warn(res, "resource \"%.100s\" names no resource of the cluster%s",
				 unknown[i], "")) {
				ret = cluster_err_set(err, -ENOMEM, "out of memory");
				goto out;
			}
	}
	for (size_t i = 0; i < apis->n && !ret; i++) {
		const struct cluster_res *r = &apis->res[i];

		if (r->listable && cluster_sel_resource(s, r) == CLUSTER_SCOPE_ALL)
			ret = list_one(&k, r);
	}
	if (!ret)
		ret = related(&k);
	if (!ret)
		ret = volumes(&k);
	if (!ret && !res->objects && warn(res, "the selection matched no object%s%s", "", ""))
		ret = cluster_err_set(err, -ENOMEM, "out of memory");
out:
	want_fini(&k.taken);
	want_fini(&k.wanted);
	for (size_t i = 0; i < k.npvcs; i++)
		k8s_obj_free(k.pvcs[i]);
	free(k.pvcs);
	cluster_apis_fini(&own);
	if (ret)
		cluster_collect_result_fini(res);
	return ret;
}
