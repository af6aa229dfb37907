// SPDX-License-Identifier: MIT
/*
 * k8s/kind_pod.c - Pods (core/v1): the fields the agent (pods of its node),
 * the autoscaler (requests, readiness) and the holder-pod protocol read; node
 * labels in a pod spec rewritten (k8s_podspec_map_node_labels()).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_pods = K8S_RESOURCE("", "v1", "pods", "Pod", true);

int k8s_pod_view(const struct k8s_obj *o, struct k8s_pod *p)
{
	const struct k8s_obj *c;
	bool all_cpu = true, all_mem = true;
	int ret;

	memset(p, 0, sizeof(*p));
	ret = k8s_meta_view(o, &p->meta);
	if (ret)
		return ret;
	p->node_name = k8s_obj_str(o, "/spec/nodeName");
	p->service_account = k8s_obj_str(o, "/spec/serviceAccountName");
	p->phase = k8s_obj_str(o, "/status/phase");
	p->pod_ip = k8s_obj_str(o, "/status/podIP");
	p->host_ip = k8s_obj_str(o, "/status/hostIP");
	p->qos_class = k8s_obj_str(o, "/status/qosClass");
	p->started_ns = kview_time(o, "/status/startTime");
	p->ready = kview_condition(o, "Ready", &p->ready_ns);
	if (!p->ready)
		p->ready_ns = 0;
	for (c = k8s_obj_first(k8s_obj_at(o, "/spec/containers")); c; c = k8s_obj_next(c)) {
		int64_t v;

		p->ncontainers++;
		p->cpu_request_m += kview_qty(c, "/resources/requests/cpu", true);
		p->mem_request += kview_qty(c, "/resources/requests/memory", false);
		v = kview_qty(c, "/resources/limits/cpu", true);
		all_cpu &= v > 0;
		p->cpu_limit_m += v;
		v = kview_qty(c, "/resources/limits/memory", false);
		all_mem &= v > 0;
		p->mem_limit += v;
	}
	/* a container without a limit: the pod has none */
	if (!all_cpu)
		p->cpu_limit_m = 0;
	if (!all_mem)
		p->mem_limit = 0;
	for (c = k8s_obj_first(k8s_obj_at(o, "/status/containerStatuses")); c;
	     c = k8s_obj_next(c)) {
		bool ready = false;
		int64_t n = 0;

		if (!k8s_obj_bool(c, "/ready", &ready) && ready)
			p->nready++;
		if (!k8s_obj_int(c, "/restartCount", &n) && n > 0)
			p->restarts += (unsigned int)n;
	}
	return 0;
}

/* ------------------------------------------------------------ node labels in a pod spec */

/* the caller's mapping of node labels */
struct nl_map {
	k8s_label_map_fn fn;
	const void *arg;
};

/* @podspec's nodeSelector, each label mapped, dropped or kept */
static int map_node_selector(const struct nl_map *o, struct k8s_obj *obj, const char *podspec)
{
	char path[192], nk[K8S_LABEL_KEY_MAX + 1], nv[K8S_LABEL_VALUE_MAX + 1];
	struct k8s_obj *copy;
	int ret = 0;

	snprintf(path, sizeof(path), "%s/nodeSelector", podspec);
	if (k8s_obj_type(obj, path) != K8S_T_OBJECT)
		return 0;
	copy = k8s_obj_dup(k8s_obj_at(obj, path));
	if (!copy)
		return -ENOMEM;
	ret = k8s_obj_set_empty(obj, path, K8S_T_OBJECT);
	for (const struct k8s_obj *e = k8s_obj_first(copy); !ret && e; e = k8s_obj_next(e)) {
		const char *k = k8s_obj_name(e), *v = k8s_obj_str(e, ""), *pv;
		char p[sizeof(path) + 2 * K8S_LABEL_KEY_MAX + 2];
		int m = v ? o->fn(o->arg, k, v, nk, sizeof(nk), nv, sizeof(nv), &pv) : 0;

		if (m < 0)
			continue;
		ret = k8s_ptr_join(p, sizeof(p), path, m ? nk : k);
		if (!ret)
			ret = v ? k8s_obj_set_str(obj, p, m ? pv : v) : k8s_obj_set_copy(obj, p, e);
	}
	k8s_obj_free(copy);
	return ret;
}

/* value @i of the expression at @path (its path into @q, 480 bytes) as the label @k=value, @o's way */
static int value_mapped(const struct nl_map *o, const struct k8s_obj *obj, const char *path,
			size_t i, const char *k, char *q, char nk[K8S_LABEL_KEY_MAX + 1],
			char nv[K8S_LABEL_VALUE_MAX + 1], const char **pv)
{
	snprintf(q, 480, "%s/values/%zu", path, i);
	return k8s_obj_str(obj, q) ? o->fn(o->arg, k, k8s_obj_str(obj, q), nk,
					   K8S_LABEL_KEY_MAX + 1, nv, K8S_LABEL_VALUE_MAX + 1, pv)
				   : 0;
}

/*
 * One matchExpressions entry at @path: In/NotIn values each mapped as
 * labels (the key with them, when every value maps to one key), Exists,
 * DoesNotExist, Gt and Lt by the key. *@gone when it was dropped whole.
 */
static int map_expression(const struct nl_map *o, struct k8s_obj *obj, const char *path, bool *gone)
{
	char p[448], nk[K8S_LABEL_KEY_MAX + 1], nv[K8S_LABEL_VALUE_MAX + 1],
		key1[K8S_LABEL_KEY_MAX + 1] = "";
	const char *k, *op, *pv;
	size_t n, kept = 0;
	bool one_key = true;
	int ret = 0, m;

	*gone = false;
	snprintf(p, sizeof(p), "%s/key", path);
	k = k8s_obj_str(obj, p);
	snprintf(p, sizeof(p), "%s/operator", path);
	op = k8s_obj_str(obj, p);
	if (!k || !op)
		return 0;
	if (strcmp(op, "In") && strcmp(op, "NotIn")) {
		m = o->fn(o->arg, k, NULL, nk, sizeof(nk), nv, sizeof(nv), &pv);
		*gone = m < 0;
		snprintf(p, sizeof(p), "%s/key", path);
		return m > 0 ? k8s_obj_set_str(obj, p, nk) : 0;
	}
	snprintf(p, sizeof(p), "%s/values", path);
	n = k8s_obj_len(obj, p);
	/* the keys the values map to: one, or the expression stays as it is */
	for (size_t i = 0; i < n; i++) {
		char q[480];

		m = value_mapped(o, obj, path, i, k, q, nk, nv, &pv);
		if (m < 0)
			continue;
		if (!key1[0])
			snprintf(key1, sizeof(key1), "%s", m ? nk : k);
		else if (strcmp(key1, m ? nk : k))
			one_key = false;
	}
	if (!one_key)
		return 0;
	for (size_t i = n; !ret && i-- > 0;) {
		char q[480];

		m = value_mapped(o, obj, path, i, k, q, nk, nv, &pv);
		if (m < 0)
			ret = k8s_obj_remove(obj, q);
		else if (m > 0)
			ret = k8s_obj_set_str(obj, q, pv);
		if (m >= 0)
			kept++;
	}
	*gone = !ret && !kept;
	snprintf(p, sizeof(p), "%s/key", path);
	if (!ret && key1[0] && strcmp(key1, k))
		ret = k8s_obj_set_str(obj, p, key1);
	return ret;
}

/* one element of a list at @path mapped; *@gone: it is to be removed */
typedef int (*map_item_fn)(const struct nl_map *o, struct k8s_obj *obj, const char *path,
			   bool *gone);

/*
 * Each element of the array at @list through @fn, the last first (a removal
 * leaves the indices before it as they were); those it says are gone
 * removed. *@n: how many there were.
 */
static int map_list(const struct nl_map *o, struct k8s_obj *obj, const char *list, map_item_fn fn,
		    size_t *n)
{
	int ret = 0;

	*n = k8s_obj_len(obj, list);
	for (size_t i = *n; !ret && i-- > 0;) {
		char q[416];
		bool gone = false;

		snprintf(q, sizeof(q), "%s/%zu", list, i);
		ret = fn(o, obj, q, &gone);
		if (!ret && gone)
			ret = k8s_obj_remove(obj, q);
	}
	return ret;
}

/* a node selector term at @term, each expression mapped; *@empty when all went */
static int map_term(const struct nl_map *o, struct k8s_obj *obj, const char *term, bool *empty)
{
	char p[384], f[384];
	size_t n;
	int ret;

	snprintf(p, sizeof(p), "%s/matchExpressions", term);
	snprintf(f, sizeof(f), "%s/matchFields", term);
	ret = map_list(o, obj, p, map_expression, &n);
	/* a term left with nothing would match no node: it goes */
	*empty = n && !k8s_obj_len(obj, p) && !k8s_obj_len(obj, f);
	return ret;
}

/* a preferred scheduling term: its preference's expressions */
static int map_preference(const struct nl_map *o, struct k8s_obj *obj, const char *path,
			  bool *empty)
{
	char q[432];

	snprintf(q, sizeof(q), "%s/preference", path);
	return map_term(o, obj, q, empty);
}

/* @podspec's nodeAffinity: required terms and preferences, each mapped; emptied ones go */
static int map_affinity(const struct nl_map *o, struct k8s_obj *obj, const char *podspec)
{
	char req[256], pref[256], terms[288];
	size_t n = 0;
	int ret = 0;

	snprintf(req, sizeof(req),
		 "%s/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution",
		 podspec);
	snprintf(pref, sizeof(pref),
		 "%s/affinity/nodeAffinity/preferredDuringSchedulingIgnoredDuringExecution",
		 podspec);
	snprintf(terms, sizeof(terms), "%s/nodeSelectorTerms", req);
	if (k8s_obj_type(obj, req) == K8S_T_OBJECT)
		ret = map_list(o, obj, terms, map_term, &n);
	/* no term left: the labels it named are dropped here, so is the rule */
	if (!ret && n && !k8s_obj_len(obj, terms))
		ret = k8s_obj_remove(obj, req);
	if (!ret)
		ret = map_list(o, obj, pref, map_preference, &n);
	if (!ret && n && !k8s_obj_len(obj, pref))
		ret = k8s_obj_remove(obj, pref);
	return ret;
}

/* topologySpreadConstraints' topologyKey, tolerations' key (and value), each mapped or dropped */
static int map_spread_tolerations(const struct nl_map *o, struct k8s_obj *obj, const char *podspec)
{
	char sp[224], tl[224], nk[K8S_LABEL_KEY_MAX + 1], nv[K8S_LABEL_VALUE_MAX + 1];
	const char *pv;
	int ret = 0, m;

	snprintf(sp, sizeof(sp), "%s/topologySpreadConstraints", podspec);
	for (size_t i = k8s_obj_len(obj, sp); !ret && i-- > 0;) {
		char q[272];
		const char *k;

		snprintf(q, sizeof(q), "%s/%zu/topologyKey", sp, i);
		k = k8s_obj_str(obj, q);
		m = k ? o->fn(o->arg, k, NULL, nk, sizeof(nk), nv, sizeof(nv), &pv) : 0;
		if (m > 0)
			ret = k8s_obj_set_str(obj, q, nk);
		snprintf(q, sizeof(q), "%s/%zu", sp, i);
		if (m < 0)
			ret = k8s_obj_remove(obj, q);
	}
	snprintf(tl, sizeof(tl), "%s/tolerations", podspec);
	for (size_t i = k8s_obj_len(obj, tl); !ret && i-- > 0;) {
		char qk[272], qv[272];
		const char *k, *v;

		snprintf(qk, sizeof(qk), "%s/%zu/key", tl, i);
		snprintf(qv, sizeof(qv), "%s/%zu/value", tl, i);
		k = k8s_obj_str(obj, qk);
		v = k8s_obj_str(obj, qv);
		m = k && k[0] ? o->fn(o->arg, k, v && v[0] ? v : NULL, nk, sizeof(nk), nv,
				      sizeof(nv), &pv)
			      : 0;
		if (m > 0)
			ret = k8s_obj_set_str(obj, qk, nk);
		if (!ret && m > 0 && v && v[0])
			ret = k8s_obj_set_str(obj, qv, pv);
		snprintf(qk, sizeof(qk), "%s/%zu", tl, i);
		if (m < 0)
			ret = k8s_obj_remove(obj, qk);
	}
	return ret;
}

int k8s_podspec_map_node_labels(struct k8s_obj *obj, const char *podspec, k8s_label_map_fn fn,
				const void *arg)
{
	const struct nl_map o = {fn, arg};
	int ret = map_node_selector(&o, obj, podspec);

	if (!ret)
		ret = map_affinity(&o, obj, podspec);
	if (!ret)
		ret = map_spread_tolerations(&o, obj, podspec);
	return ret;
}
