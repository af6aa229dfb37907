// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cluster_objects.c - what a restore and a backup's
 * selection read from outside (control/cluster/select.c, restore_plan.c):
 * the JSON lines of an object archive, a Restore's options, Velero's
 * mapping and resource-policy ConfigMaps, a Backup's selection.
 * Input: lines. The first is a JSON value used as a Restore spec, a
 * Backup spec and a ConfigMap (both mapping forms and the policies form);
 * the others are the archive's lines.
 *
 * Properties, not only "no crash": every refusal is one line of reason; a
 * finished plan lists each tier's items together, in tier order, with
 * every item's fields read from its prepared object, and no prepared
 * object keeps a field of the strip list; a selection's verdict on each
 * line is one of the verdicts, and an object with the exclude label is
 * never taken. With scaleWorkloadsToZero in the spec: every Deployment and
 * StatefulSet of the plan is at replicas 0, and the node choice over the
 * lines' Nodes, CSINodes and StorageClasses as facts puts a claim only on
 * a Ready, schedulable Node of those, each note one line.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one_line(const struct cluster_err *err)
{
	if (!err->msg[0] || !memchr(err->msg, '\0', sizeof(err->msg)) || strchr(err->msg, '\n'))
		abort();
}

static const struct cluster_res fz_res[] = {
	{.group = "", .version = "v1", .resource = "pods", .kind = "Pod", .namespaced = true},
	{.group = "", .version = "v1", .resource = "persistentvolumes", .kind = "PersistentVolume"},
	{.group = "", .version = "v1", .resource = "namespaces", .kind = "Namespace"},
	{.group = "example.com",
	 .version = "v1",
	 .resource = "widgets",
	 .kind = "Widget",
	 .short_names = "wd,w",
	 .namespaced = true},
};

static void check_plan(const struct cluster_restore_plan *p)
{
	static const char *const stripped[] = {"/metadata/uid",
					       "/metadata/resourceVersion",
					       "/metadata/managedFields",
					       "/metadata/ownerReferences",
					       "/metadata/creationTimestamp",
					       "/status"};

	if (p->tier_start[0] != 0 || p->tier_start[CLUSTER_TIERS] != p->n)
		abort();
	for (int t = 0; t < CLUSTER_TIERS; t++) {
		if (p->tier_start[t] > p->tier_start[t + 1])
			abort();
		for (size_t i = p->tier_start[t]; i < p->tier_start[t + 1]; i++) {
			const struct cluster_plan_item *it = &p->items[i];
			const char *ns = k8s_obj_get_ns(it->obj);

			if (it->tier != t || strcmp(it->name, k8s_obj_get_name(it->obj)) ||
			    strcmp(it->kind, k8s_obj_str(it->obj, "/kind")) ||
			    strcmp(it->ns, ns ? ns : ""))
				abort();
			for (size_t k = 0; k < sizeof(stripped) / sizeof(stripped[0]); k++)
				if (k8s_obj_type(it->obj, stripped[k]) != K8S_T_ABSENT)
					abort();
		}
	}
}

static bool fz_ready_node(const struct cluster_node_facts *f, const char *name)
{
	for (size_t i = 0; i < f->nnodes; i++) {
		const char *n = k8s_obj_get_name(f->nodes[i]);
		bool u = false, ready = false;

		if (!n || strcmp(n, name))
			continue;
		k8s_obj_bool(f->nodes[i], "/spec/unschedulable", &u);
		for (const struct k8s_obj *c =
			     k8s_obj_first(k8s_obj_at(f->nodes[i], "/status/conditions"));
		     c; c = k8s_obj_next(c)) {
			const char *t = k8s_obj_str(c, "/type"), *st = k8s_obj_str(c, "/status");

			if (t && !strcmp(t, "Ready")) {
				ready = st && !strcmp(st, "True");
				break;
			}
		}
		if (ready && !u)
			return true;
	}
	return false;
}

/* scaleWorkloadsToZero: the workloads at zero; the node choice over the lines' facts */
static void check_zero(struct cluster_restore_plan *p, struct k8s_obj **facts, size_t nfacts)
{
	const struct k8s_obj *nodes[64], *csi[64], *cls[64];
	struct cluster_node_facts f = {.nodes = nodes, .csinodes = csi, .classes = cls};
	struct cluster_err err;

	for (size_t i = 0; i < p->n; i++) {
		const struct cluster_plan_item *it = &p->items[i];
		int64_t r = -1;

		if (!it->skip && !strcmp(it->group, "apps") &&
		    (!strcmp(it->kind, "Deployment") || !strcmp(it->kind, "StatefulSet")) &&
		    (k8s_obj_int(it->obj, "/spec/replicas", &r) || r != 0))
			abort();
	}
	for (size_t i = 0; i < nfacts; i++) {
		const char *k = k8s_obj_str(facts[i], "/kind");

		if (k && !strcmp(k, "Node") && f.nnodes < 64)
			nodes[f.nnodes++] = facts[i];
		else if (k && !strcmp(k, "CSINode") && f.ncsinodes < 64)
			csi[f.ncsinodes++] = facts[i];
		else if (k && !strcmp(k, "StorageClass") && f.nclasses < 64)
			cls[f.nclasses++] = facts[i];
	}
	if (cluster_restore_plan_nodes(p, &f, &err)) {
		one_line(&err);
		return;
	}
	for (size_t i = 0; i < p->n; i++) {
		const struct cluster_plan_item *it = &p->items[i];
		const char *node = k8s_obj_annotation(it->obj, CLUSTER_ANN_SELECTED_NODE);

		if (it->note && strchr(it->note, '\n'))
			abort();
		if (node && !it->skip && !strcmp(it->kind, "PersistentVolumeClaim") &&
		    k8s_obj_str(it->obj, "/spec/dataSourceRef/kind") && !fz_ready_node(&f, node))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *facts[64];
	size_t nfacts = 0;
	const char *s = (const char *)data, *end = s + size, *nl;
	struct cluster_restore_opts o = {0};
	struct cluster_restore_plan p = {0};
	struct k8s_obj *first = NULL;
	struct cluster_sel *sel = NULL;
	struct cluster_err err;
	int ret;

	nl = memchr(s, '\n', size);
	if (!nl)
		nl = end;
	if (k8s_obj_parse(s, (size_t)(nl - s), &first))
		first = NULL;
	ret = cluster_restore_opts_read(first, "r", &o, &err);
	if (ret)
		one_line(&err);
	ret = cluster_restore_opts_configmap(&o, first, &err);
	if (ret)
		one_line(&err);
	ret = cluster_sel_parse(first, &sel, &err);
	if (ret) {
		one_line(&err);
		if (sel)
			abort();
	} else {
		ret = cluster_sel_policies_configmap(sel, first, &err);
		if (ret)
			one_line(&err);
	}
	for (s = nl < end ? nl + 1 : end; s < end; s = nl < end ? nl + 1 : end) {
		struct k8s_obj *line = NULL;

		nl = memchr(s, '\n', (size_t)(end - s));
		if (!nl)
			nl = end;
		if (!k8s_obj_parse(s, (size_t)(nl - s), &line) && nfacts < 64 &&
		    k8s_obj_str(line, "/kind") &&
		    (!strcmp(k8s_obj_str(line, "/kind"), "Node") ||
		     !strcmp(k8s_obj_str(line, "/kind"), "CSINode") ||
		     !strcmp(k8s_obj_str(line, "/kind"), "StorageClass")))
			if ((facts[nfacts] = k8s_obj_dup(line)))
				nfacts++;
		if (sel && line) {
			const char *ex = k8s_obj_label(line, CLUSTER_LABEL_EXCLUDE);

			for (size_t r = 0; r < sizeof(fz_res) / sizeof(fz_res[0]); r++)
				for (int rel = 0; rel < 2; rel++) {
					enum cluster_verdict v =
						cluster_sel_object(sel, &fz_res[r], line, rel);

					if (v > CLUSTER_OUT_EXCLUDE_LABEL)
						abort();
					if (ex && !strcmp(ex, "true") && v == CLUSTER_TAKE)
						abort();
				}
			if (k8s_obj_type(line, "/spec") != K8S_T_ABSENT) {
				struct cluster_volume v;
				static const char *const drivers[] = {"d1"};

				if (!cluster_volume_check(sel, line, line, drivers, 1, &v) &&
				    v.skip && v.snapshottable)
					abort();
			}
		}
		k8s_obj_free(line);
		ret = cluster_restore_plan_line(&p, s, (size_t)(nl - s), &err);
		if (ret)
			one_line(&err);
		if (ret == -ENOMEM)
			goto out;
	}
	ret = cluster_restore_plan_finish(&p, &o, &err);
	if (ret) {
		one_line(&err);
	} else {
		check_plan(&p);
		if (o.scale_to_zero)
			check_zero(&p, facts, nfacts);
	}
out:
	for (size_t i = 0; i < nfacts; i++)
		k8s_obj_free(facts[i]);
	cluster_restore_plan_fini(&p);
	cluster_restore_opts_fini(&o);
	cluster_sel_free(sel);
	k8s_obj_free(first);
	return 0;
}
