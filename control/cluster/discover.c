// SPDX-License-Identifier: MIT
/*
 * control/cluster/discover.c - the resources of a cluster from API
 * discovery: /api/v1, then /apis (APIGroupList) and each group's preferred
 * version (APIResourceList), as kubectl's legacy discovery reads them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

void cluster_apis_fini(struct cluster_apis *a)
{
	if (!a)
		return;
	free(a->res);
	a->res = NULL;
	a->n = 0;
}

int cluster_apis_add(struct cluster_apis *a, const struct cluster_res *r)
{
	struct cluster_res *n = realloc(a->res, (a->n + 1) * sizeof(*n));

	if (!n)
		return -ENOMEM;
	a->res = n;
	a->res[a->n++] = *r;
	return 0;
}

const struct cluster_res *cluster_apis_find(const struct cluster_apis *a, const char *api_version,
					    const char *kind)
{
	const char *slash = strchr(api_version, '/');
	size_t glen = slash ? (size_t)(slash - api_version) : 0;

	for (size_t i = 0; i < a->n; i++) {
		const struct cluster_res *r = &a->res[i];

		if (strlen(r->group) == glen && !strncmp(r->group, api_version, glen) &&
		    !strcmp(r->kind, kind))
			return r; /* the group's preferred version: the server converts */
	}
	return NULL;
}

static bool has_verb(const struct k8s_obj *res, const char *verb)
{
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_key(res, "verbs")); v;
	     v = k8s_obj_next(v)) {
		const char *s = k8s_obj_str(v, "");

		if (s && !strcmp(s, verb))
			return true;
	}
	return false;
}

/* the resources of one APIResourceList */
static int add_list(struct cluster_apis *a, const char *group, const char *version,
		    const struct k8s_obj *list)
{
	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_key(list, "resources")); e;
	     e = k8s_obj_next(e)) {
		const char *name = k8s_obj_str(e, "/name"), *kind = k8s_obj_str(e, "/kind");
		struct cluster_res r;
		bool nsd = false;
		size_t used = 0;

		if (!name || !kind || strchr(name, '/'))
			continue;
		memset(&r, 0, sizeof(r));
		snprintf(r.group, sizeof(r.group), "%s", group);
		snprintf(r.version, sizeof(r.version), "%s", version);
		snprintf(r.resource, sizeof(r.resource), "%s", name);
		snprintf(r.kind, sizeof(r.kind), "%s", kind);
		snprintf(r.singular, sizeof(r.singular), "%s",
			 k8s_obj_str(e, "/singularName") ? k8s_obj_str(e, "/singularName") : "");
		for (const struct k8s_obj *s = k8s_obj_first(k8s_obj_key(e, "shortNames")); s;
		     s = k8s_obj_next(s)) {
			const char *sn = k8s_obj_str(s, "");
			int w;

			if (!sn)
				continue;
			w = snprintf(r.short_names + used, sizeof(r.short_names) - used, "%s%s",
				     used ? "," : "", sn);
			if (w < 0 || (size_t)w >= sizeof(r.short_names) - used) {
				r.short_names[used] = '\0';
				break;
			}
			used += (size_t)w;
		}
		k8s_obj_bool(e, "/namespaced", &nsd);
		r.namespaced = nsd;
		r.listable = has_verb(e, "list");
		r.creatable = has_verb(e, "create");
		if (cluster_apis_add(a, &r))
			return -ENOMEM;
	}
	return 0;
}

static int res_cmp(const void *x, const void *y)
{
	const struct cluster_res *a = x, *b = y;
	int c = strcmp(a->group, b->group);

	return c ? c : strcmp(a->resource, b->resource);
}

int cluster_discover(struct k8s_client *c, struct cluster_apis *out, struct cluster_err *warn,
		     struct cluster_err *err)
{
	struct k8s_obj *core = NULL, *groups = NULL;
	struct cluster_apis a = {0};
	struct k8s_err kerr;
	int ret;

	cluster_err_clear(err);
	if (warn)
		cluster_err_clear(warn);
	ret = k8s_request(c, "GET", "/api/v1", NULL, &core, &kerr);
	if (ret) {
		cluster_err_set(err, ret, "discovery of /api/v1: %s", kerr.msg);
		goto out;
	}
	if ((ret = add_list(&a, "", "v1", core))) {
		cluster_err_set(err, ret, "out of memory");
		goto out;
	}
	ret = k8s_request(c, "GET", "/apis", NULL, &groups, &kerr);
	if (ret) {
		cluster_err_set(err, ret, "discovery of /apis: %s", kerr.msg);
		goto out;
	}
	for (const struct k8s_obj *g = k8s_obj_first(k8s_obj_key(groups, "groups")); g;
	     g = k8s_obj_next(g)) {
		const char *name = k8s_obj_str(g, "/name");
		const char *gv = k8s_obj_str(g, "/preferredVersion/groupVersion");
		const char *ver = k8s_obj_str(g, "/preferredVersion/version");
		struct k8s_obj *list = NULL;
		char path[600];

		if (!gv || !ver) {
			gv = k8s_obj_str(g, "/versions/0/groupVersion");
			ver = k8s_obj_str(g, "/versions/0/version");
		}
		if (!name || !gv || !ver)
			continue;
		snprintf(path, sizeof(path), "/apis/%s", gv);
		ret = k8s_request(c, "GET", path, NULL, &list, &kerr);
		if (ret == -ENOMEM) {
			cluster_err_set(err, ret, "out of memory");
			goto out;
		}
		if (ret) {
			/* an aggregated API that is down: the rest of the cluster still backs up */
			if (warn)
				cluster_err_set(warn, ret, "discovery of %s left out: %s", path,
						kerr.msg);
			ret = 0;
			continue;
		}
		ret = add_list(&a, name, ver, list);
		k8s_obj_free(list);
		if (ret) {
			cluster_err_set(err, ret, "out of memory");
			goto out;
		}
	}
	if (a.n)
		qsort(a.res, a.n, sizeof(*a.res), res_cmp);
	*out = a;
	a.res = NULL;
out:
	cluster_apis_fini(&a);
	k8s_obj_free(core);
	k8s_obj_free(groups);
	return ret;
}
