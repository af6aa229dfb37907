// SPDX-License-Identifier: MIT
/*
 * control/migrate/plan.c - a Migration's plan from plain facts: what would
 * move and every problem found before any data moves (migrate.h). Pure: no
 * I/O, deterministic.
 */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "migrate.h"

const char *mig_severity_name(enum mig_severity s)
{
	return s == MIG_ERROR ? "Error" : "Warning";
}

void mig_plan_fini(struct mig_plan *p)
{
	if (!p)
		return;
	free(p->volumes);
	free(p->findings);
	memset(p, 0, sizeof(*p));
}

void mig_human_bytes(int64_t b, char *buf, size_t len)
{
	static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
	double v = (double)b;
	size_t u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0 || v >= 100 || v == (double)(int64_t)v)
		snprintf(buf, len, "%.0f %s", v, unit[u]);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
}

static int __attribute__((format(printf, 5, 6)))
finding(struct mig_plan *p, enum mig_severity sev, const char *object, const char *reason,
	const char *fmt, ...)
{
	struct mig_finding *n = realloc(p->findings, (p->n_findings + 1) * sizeof(*n)), *f;
	va_list ap;

	if (!n)
		return -ENOMEM;
	p->findings = n;
	f = &n[p->n_findings++];
	memset(f, 0, sizeof(*f));
	f->severity = sev;
	snprintf(f->object, sizeof(f->object), "%s", object);
	snprintf(f->reason, sizeof(f->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(f->message, sizeof(f->message), fmt, ap);
	va_end(ap);
	if (sev == MIG_ERROR)
		p->n_errors++;
	return 0;
}

static const struct mig_class *class_find(const struct mig_side *s, const char *name)
{
	for (size_t i = 0; name && i < s->n_classes; i++)
		if (!strcmp(s->classes[i].name, name))
			return &s->classes[i];
	return NULL;
}

static const struct mig_class *class_default(const struct mig_side *s)
{
	for (size_t i = 0; i < s->n_classes; i++)
		if (s->classes[i].is_default)
			return &s->classes[i];
	return NULL;
}

static const char *class_mapped(const struct mig_spec *spec, const char *from)
{
	for (size_t i = 0; from && i < spec->n_class_map; i++)
		if (!strcmp(spec->class_map[i].from, from))
			return spec->class_map[i].to;
	return NULL;
}

/* the target's class names, for a message: "a, b" or "none" */
static void class_names(const struct mig_side *s, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->n_classes && o + 1 < len; i++) {
		int n = snprintf(buf + o, len - o, "%s%s", i ? ", " : "", s->classes[i].name);

		if (n < 0 || (size_t)n >= len - o) {
			snprintf(buf + (len > 4 ? len - 4 : 0), len > 4 ? 4 : len, "...");
			return;
		}
		o += (size_t)n;
	}
	if (!s->n_classes)
		snprintf(buf, len, "none");
}

/*
 * The target class of @c, or NULL with its finding added (*ret set to
 * -ENOMEM when the finding could not be).
 */
static const char *target_class(const struct mig_spec *spec, const struct mig_facts *f,
				const struct mig_claim *c, const char *object, struct mig_plan *p,
				int *ret)
{
	const struct mig_class *sd = class_default(&f->source), *td = class_default(&f->target);
	const char *from = c->storage_class && *c->storage_class ? c->storage_class
			   : sd					 ? sd->name
								 : NULL;
	const char *to = class_mapped(spec, from);
	char names[256];

	class_names(&f->target, names, sizeof(names));
	if (to) {
		if (class_find(&f->target, to))
			return to;
		*ret = finding(
			p, MIG_ERROR, object, "MappedClassMissing",
			"spec.storageClassMapping maps %s to %s, which the target does not have (its classes: %s)",
			from, to, names);
		return NULL;
	}
	if (from) {
		if (class_find(&f->target, from))
			return from;
		*ret = finding(
			p, MIG_ERROR, object, "NoStorageClass",
			"storage class %s has no counterpart on the target (its classes: %s): map it in spec.storageClassMapping",
			from, names);
		return NULL;
	}
	if (td)
		return td->name;
	*ret = finding(
		p, MIG_ERROR, object, "NoDefaultStorageClass",
		"the claim names no storage class and neither cluster has a default one (the target's classes: %s): map it in spec.storageClassMapping or name a class",
		names);
	return NULL;
}

static bool listed(const char *const *v, size_t n, const char *ns, const char *name)
{
	size_t nl = strlen(ns);

	for (size_t i = 0; i < n; i++)
		if (!strncmp(v[i], ns, nl) && v[i][nl] == '/' && !strcmp(v[i] + nl + 1, name))
			return true;
	return false;
}

static int quotas(const struct mig_facts *f, struct mig_plan *p)
{
	for (size_t q = 0; q < f->n_quotas; q++) {
		const struct mig_quota *qu = &f->quotas[q];
		char object[2 * MIG_NAME_MAX + 32], need[32], room[32], hard[32], used[32];
		int64_t bytes = 0, claims = 0;
		int ret = 0;

		for (size_t i = 0; i < p->n_volumes; i++)
			if (!strcmp(p->volumes[i].claim->target_ns, qu->ns)) {
				bytes += p->volumes[i].claim->bytes;
				claims++;
			}
		snprintf(object, sizeof(object), "ResourceQuota %s/%s", qu->ns, qu->name);
		if (qu->hard >= 0 && bytes > 0 && qu->used + bytes > qu->hard) {
			mig_human_bytes(bytes, need, sizeof(need));
			mig_human_bytes(qu->hard > qu->used ? qu->hard - qu->used : 0, room,
					sizeof(room));
			mig_human_bytes(qu->hard, hard, sizeof(hard));
			mig_human_bytes(qu->used, used, sizeof(used));
			ret = finding(
				p, MIG_ERROR, object, "QuotaExceeded",
				"the claims moved into namespace %s request %s of storage; the quota leaves %s (requests.storage %s, %s used)",
				qu->ns, need, room, hard, used);
		}
		if (!ret && qu->claims_hard >= 0 && claims > 0 &&
		    qu->claims_used + claims > qu->claims_hard)
			ret = finding(
				p, MIG_ERROR, object, "QuotaExceeded",
				"%" PRId64
				" claims would move into namespace %s; the quota allows %" PRId64
				" more (persistentvolumeclaims %" PRId64 ", %" PRId64 " used)",
				claims, qu->ns,
				qu->claims_hard > qu->claims_used
					? qu->claims_hard - qu->claims_used
					: 0,
				qu->claims_hard, qu->claims_used);
		if (ret)
			return ret;
	}
	return 0;
}

/* ctl_map_get_fn over the spec's nodeLabelMapping */
static const char *label_get(const void *map, const char *from)
{
	const struct mig_spec *spec = map;

	for (size_t i = 0; i < spec->n_label_map; i++)
		if (!strcmp(spec->label_map[i].from, from))
			return spec->label_map[i].to;
	return NULL;
}

int mig_node_label(const void *spec, const char *key, const char *value, char *nk, size_t nk_len,
		   char *nv, size_t nv_len, const char **pv)
{
	return ctl_label_map(label_get, spec, key, value, nk, nk_len, nv, nv_len, pv);
}

/*
 * A node label through the spec's nodeLabelMapping, as the seed's Restore
 * maps it (ctl_label_map()): "key=value" into @out. Return: 1 mapped, 0
 * unchanged, -1 dropped.
 */
static int label_mapped(const struct mig_spec *spec, const char *key, const char *value, char *out,
			size_t len)
{
	char nk[MIG_LABEL_MAX + 1], nv[MIG_LABEL_MAX + 1];
	const char *pv;
	int m = mig_node_label(spec, key, value, nk, sizeof(nk), nv, sizeof(nv), &pv);

	snprintf(out, len, "%s=%s", m > 0 ? nk : key, pv);
	return m;
}

/* each label a source pod asks for, mapped, on some target node; once per label */
static int node_labels(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && f->target_nodes_known && i < f->n_asks; i++) {
		const struct mig_node_ask *a = &f->asks[i];
		char to[4 * MIG_LABEL_MAX], obj[2 * MIG_NAME_MAX + 32];
		bool seen = false, found = false;
		int m;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(f->asks[j].key, a->key) &&
			       !strcmp(f->asks[j].value, a->value);
		if (seen)
			continue;
		m = label_mapped(spec, a->key, a->value, to, sizeof(to));
		snprintf(obj, sizeof(obj), "Pod %.100s/%.200s", a->ns, a->pod);
		if (m < 0) {
			ret = finding(
				p, MIG_WARNING, obj, "NodeLabelDropped",
				"asks for the node label %.200s=%.63s, which nodeLabelMapping "
				"drops: the pods restored run on any node",
				a->key, a->value);
			continue;
		}
		for (size_t j = 0; j < f->n_target_labels && !found; j++)
			found = !strcmp(f->target_labels[j], to);
		if (!found)
			ret = finding(
				p, MIG_ERROR, obj, "NodeLabelMissing",
				"asks for the node label %.200s%s%.100s%s, which no node of the "
				"target has: its pods would never start (map it with "
				"nodeLabelMapping, or drop it)",
				to, m ? " (mapped from " : "", m ? a->key : "", m ? ")" : "");
	}
	return ret;
}

/*
 * The seed's snapshot of @c is a VolumeSnapshot without a class: the snapshot
 * controller takes the default class of the claim's driver (its class's
 * provisioner), and fails without one.
 */
static int snapshottable(const struct mig_facts *f, const struct mig_claim *c, const char *object,
			 struct mig_plan *p)
{
	const struct mig_class *cls = c->storage_class && *c->storage_class
					      ? class_find(&f->source, c->storage_class)
					      : class_default(&f->source);
	const char *driver = cls ? cls->provisioner : NULL;

	if (!f->snapshots_known || !driver)
		return 0; /* not listed, or a class the source does not describe: not checked */
	for (size_t i = 0; i < f->n_snapshot_drivers; i++)
		if (!strcmp(f->snapshot_drivers[i], driver))
			return 0;
	return finding(p, MIG_ERROR, object, "NotSnapshottable",
		       "its driver %.200s has no default VolumeSnapshotClass on the source: the "
		       "seed's snapshot would fail (cannot find default snapshot class); give the "
		       "driver one, annotated snapshot.storage.kubernetes.io/is-default-class: "
		       "\"true\"",
		       driver);
}

/* the target namespace of source namespace @ns (namespaceMapping) */
static const char *target_ns_of(const struct mig_spec *spec, const char *ns)
{
	for (size_t i = 0; i < spec->n_namespaces; i++)
		if (!strcmp(spec->namespaces[i], ns))
			return spec->target_namespaces[i];
	return ns;
}

/*
 * The source Services' nodePorts: one the Restore keeps must be free on the
 * target (the API server refuses a port already allocated, in any
 * namespace), one it does not keep changes; a load balancer's address
 * changes too, and a pinned one is the source cloud's.
 */
static int services(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < f->n_node_ports; i++) {
		const struct mig_node_port *np = &f->node_ports[i];
		const char *tns = target_ns_of(spec, np->ns);
		char obj[2 * MIG_NAME_MAX + 32];

		snprintf(obj, sizeof(obj), "Service %.100s/%.200s", np->ns, np->service);
		if (!np->kept) {
			ret = finding(p, MIG_WARNING, obj, "NodePortChanges",
				      "nodePort %" PRId64
				      " was picked by the source's API server: the "
				      "target picks another, so what reaches the nodes on %" PRId64
				      " (an outside load balancer, a firewall rule) must follow",
				      np->port, np->port);
			continue;
		}
		for (size_t j = 0; !ret && f->target_services_known && j < f->n_target_node_ports;
		     j++) {
			const struct mig_node_port *t = &f->target_node_ports[j];

			if (t->port != np->port ||
			    (!strcmp(t->ns, tns) && !strcmp(t->service, np->service)))
				continue;
			ret = finding(
				p, MIG_ERROR, obj, "NodePortTaken",
				"keeps nodePort %" PRId64 " (kubectl's last-applied-configuration "
				"names it), which Service %.100s/%.200s holds on the target: the "
				"Restore would be refused (provided port is already allocated)",
				np->port, t->ns, t->service);
		}
	}
	for (size_t i = 0; !ret && i < f->n_lbs; i++) {
		const struct mig_lb *lb = &f->lbs[i];
		char obj[2 * MIG_NAME_MAX + 32];

		snprintf(obj, sizeof(obj), "Service %.100s/%.200s", lb->ns, lb->service);
		if (lb->pinned)
			ret = finding(
				p, MIG_WARNING, obj, "LoadBalancerIPPinned",
				"spec.loadBalancerIP %.64s is an address of the source's cloud: "
				"the target's load balancer stays pending until it names one of "
				"the target's, or none",
				lb->pinned);
		else
			ret = finding(
				p, MIG_WARNING, obj, "LoadBalancerAddressChanges",
				"its load balancer's address %.100s stays with the source: the "
				"target's gets another, to which DNS must move at the cutover",
				lb->address ? lb->address : "(none yet)");
	}
	return ret;
}

/* each image pull secret a pod names must be in its namespace: the Restore brings it along */
static int pull_secrets(const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < f->n_pulls; i++) {
		const struct mig_pull_secret *s = &f->pulls[i];
		char obj[2 * MIG_NAME_MAX + 32];
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(f->pulls[j].ns, s->ns) &&
			       !strcmp(f->pulls[j].secret, s->secret);
		if (seen || s->found)
			continue;
		snprintf(obj, sizeof(obj), "Pod %.100s/%.200s", s->ns, s->pod);
		ret = finding(
			p, MIG_ERROR, obj, "ImagePullSecretMissing",
			"pulls its images with the Secret %.200s, which namespace %.100s does "
			"not hold: the move brings no such Secret, and the target's nodes, "
			"which have none of its images, could not pull them",
			s->secret, s->ns);
	}
	return ret;
}

/* the objects the target has already: what existingResourcePolicy makes of each */
static int existing(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < f->n_existing; i++) {
		const struct mig_object *o = &f->existing[i];
		const char *tns = target_ns_of(spec, o->ns);
		char obj[2 * MIG_NAME_MAX + 32];

		snprintf(obj, sizeof(obj), "%.40s %.100s/%.200s", o->kind, o->ns, o->name);
		switch (spec->existing) {
		case MIG_EXISTING_FAIL:
			ret = finding(
				p, MIG_ERROR, obj, "ObjectExists",
				"the target has it already in namespace %.100s: "
				"existingResourcePolicy fail refuses the move (delete it there, "
				"or choose none or update)",
				tns);
			break;
		case MIG_EXISTING_UPDATE:
			ret = finding(
				p, MIG_WARNING, obj, "ObjectExists",
				"the target has it already in namespace %.100s: the Restore makes "
				"it the source's (existingResourcePolicy update)",
				tns);
			break;
		default:
			ret = finding(
				p, MIG_WARNING, obj, "ObjectExists",
				"the target has it already in namespace %.100s: the Restore leaves "
				"it as it is there, which may not be what the application expects "
				"(existingResourcePolicy none; update makes it the source's, fail "
				"refuses the move)",
				tns);
		}
	}
	return ret;
}

/* whether a label pod @ns/@pod asks for was found on no target node (NodeLabelMissing said it) */
static bool label_missing(const struct mig_spec *spec, const struct mig_facts *f, const char *ns,
			  const char *pod)
{
	for (size_t i = 0; f->target_nodes_known && i < f->n_asks; i++) {
		const struct mig_node_ask *a = &f->asks[i];
		char to[4 * MIG_LABEL_MAX];
		bool found = false;

		if (strcmp(a->ns, ns) || strcmp(a->pod, pod) ||
		    label_mapped(spec, a->key, a->value, to, sizeof(to)) < 0)
			continue;
		for (size_t j = 0; j < f->n_target_labels && !found; j++)
			found = !strcmp(f->target_labels[j], to);
		if (!found)
			return true;
	}
	return false;
}

/* the pods no node of the target would take now (those NodeLabelMissing named aside) */
static int unplaced(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && f->target_nodes_known && i < f->n_unplaced; i++) {
		const struct mig_unplaced *u = &f->unplaced[i];
		char obj[2 * MIG_NAME_MAX + 32];

		if (label_missing(spec, f, u->ns, u->pod))
			continue;
		snprintf(obj, sizeof(obj), "Pod %.100s/%.200s", u->ns, u->pod);
		ret = finding(
			p, MIG_WARNING, obj, "NoNodeFits",
			"%.200s: its pods would stay Pending on the target unless a node that "
			"takes them joins (a cluster autoscaler's)",
			u->why);
	}
	return ret;
}

/* the custom resources: their CRDs must be on the target, serving the version that moves */
static int customs(const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < f->n_customs; i++) {
		const struct mig_custom *c = &f->customs[i];
		char obj[2 * MIG_NAME_MAX + 32];

		snprintf(obj, sizeof(obj), "CustomResourceDefinition %.250s", c->crd);
		if (!c->target_has)
			ret = finding(
				p, MIG_ERROR, obj, "CRDMissing",
				"namespace %.100s holds %.100s objects (%.40s), and the target "
				"has no such CustomResourceDefinition: install it, and the "
				"operator that serves it, there first",
				c->ns, c->kind, c->version);
		else if (!c->target_serves)
			ret = finding(
				p, MIG_ERROR, obj, "APIVersionMissing",
				"namespace %.100s holds %.100s objects, which move as %.40s, a "
				"version the target's CustomResourceDefinition does not serve: "
				"upgrade it there first",
				c->ns, c->kind, c->version);
	}
	return ret;
}

/* each check a cluster refused the reads of: said, with the right to grant */
static int unread(const struct mig_facts *f, struct mig_plan *p)
{
	static const struct {
		unsigned int bit;
		const char *object, *what, *grant;
	} checks[] = {
		{MIG_UNREAD_TARGET_NODES, "Cluster target", "the node labels the pods ask for",
		 "list nodes to the controller (k8s/deploy/restore-rbac.yaml)"},
		{MIG_UNREAD_TARGET_SERVICES, "Cluster target", "nodePort clashes",
		 "list services to the controller (k8s/deploy/backup-rbac.yaml)"},
		{MIG_UNREAD_SNAPSHOT_CLASSES, "Cluster source",
		 "that each claim's driver has a default VolumeSnapshotClass",
		 "list volumesnapshotclasses to the source's reader (migrate-source-rbac.yaml)"},
		{MIG_UNREAD_PULL_SECRETS, "Cluster source", "the pods' image pull secrets",
		 "get secrets to the source's reader (migrate-source-rbac.yaml)"},
		{MIG_UNREAD_CUSTOM, "Cluster source",
		 "the custom resources in the namespaces, whose CRDs the target needs",
		 "list customresourcedefinitions, and list on each custom resource, to the source's "
		 "reader (the view ClusterRole, which operators extend, grants the latter)"},
		{MIG_UNREAD_TARGET_CRDS, "Cluster target", "the target's CustomResourceDefinitions",
		 "get customresourcedefinitions to the controller (k8s/deploy/controller-rbac.yaml)"},
		{MIG_UNREAD_TARGET_OBJECTS, "Cluster target",
		 "which objects the target has already (existingResourcePolicy)",
		 "list services, configmaps, serviceaccounts, deployments and statefulsets to the "
		 "controller (k8s/deploy/backup-rbac.yaml)"},
	};
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(checks) / sizeof(checks[0]); i++) {
		char which[320] = "";

		if (!(f->unread & checks[i].bit))
			continue;
		if (checks[i].bit == MIG_UNREAD_CUSTOM && f->unread_custom)
			snprintf(which, sizeof(which), " (%.250s%s)", f->unread_custom,
				 f->n_unread_custom > 1 ? " and more" : "");
		ret = finding(p, MIG_WARNING, checks[i].object, "NotChecked",
			      "%s%s: not checked, the API server refused the read (forbidden); "
			      "grant %s",
			      checks[i].what, which, checks[i].grant);
	}
	return ret;
}

int mig_plan_make(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	assert(spec && f && p);
	memset(p, 0, sizeof(*p));
	if (!spec->n_namespaces)
		ret = finding(p, MIG_ERROR, "Migration", "NoNamespaces",
			      "spec.namespaceSelector (%.200s) selects no namespace of the source, "
			      "and spec.namespaces lists none",
			      spec->ns_selector);
	for (size_t i = 0; i < spec->n_namespaces && !ret; i++) {
		char object[96];

		if (f->source_ns_found && f->source_ns_found[i])
			continue;
		snprintf(object, sizeof(object), "Namespace %s", spec->namespaces[i]);
		ret = finding(p, MIG_ERROR, object, "NamespaceNotFound",
			      "namespace %s does not exist on the source (%s)", spec->namespaces[i],
			      f->source.server ? f->source.server : "?");
	}
	if (f->n_claims) {
		p->volumes = calloc(f->n_claims, sizeof(*p->volumes));
		if (!p->volumes)
			return -ENOMEM;
	}
	for (size_t i = 0; i < f->n_claims && !ret; i++) {
		const struct mig_claim *c = &f->claims[i];
		char object[2 * MIG_NAME_MAX + 32];
		const char *to;

		snprintf(object, sizeof(object), "PersistentVolumeClaim %s/%s", c->ns, c->name);
		if (!c->phase || strcmp(c->phase, "Bound")) {
			ret = finding(p, MIG_ERROR, object, "ClaimNotBound",
				      "the claim is %s on the source: it has no volume to move",
				      c->phase && *c->phase ? c->phase : "not bound");
			continue;
		}
		ret = snapshottable(f, c, object, p);
		if (ret)
			break;
		if (listed(f->target_claims, f->n_target_claims, c->target_ns, c->name)) {
			ret = finding(
				p, MIG_ERROR, object, "ClaimExists",
				"the target already has a claim %s in namespace %s: delete it there, or move the application into another namespace (spec.namespaceMapping)",
				c->name, c->target_ns);
			if (ret)
				break;
		}
		if (c->access & MIG_RWX) {
			ret = finding(
				p, MIG_WARNING, object, "ReadWriteMany",
				"a ReadWriteMany volume: every node's writers stop for the cutover, and a shared filesystem (NFS) has no block snapshot to move");
			if (ret)
				break;
		}
		to = target_class(spec, f, c, object, p, &ret);
		if (ret)
			break;
		if (!to)
			continue; /* no class to make it in: its finding says why */
		p->volumes[p->n_volumes].claim = c;
		snprintf(p->volumes[p->n_volumes].target_class,
			 sizeof(p->volumes[p->n_volumes].target_class), "%s", to);
		p->n_volumes++;
		p->bytes += c->bytes > 0 ? c->bytes : 0;
	}
	if (!ret)
		ret = quotas(f, p);
	if (!ret)
		ret = node_labels(spec, f, p);
	if (!ret)
		ret = unplaced(spec, f, p);
	if (!ret)
		ret = services(spec, f, p);
	if (!ret)
		ret = pull_secrets(f, p);
	if (!ret)
		ret = customs(f, p);
	if (!ret)
		ret = existing(spec, f, p);
	if (!ret)
		ret = unread(f, p);
	if (!ret && f->source.major && f->target.major &&
	    (f->target.major < f->source.major ||
	     (f->target.major == f->source.major && f->target.minor < f->source.minor)))
		ret = finding(
			p, MIG_WARNING, "Cluster target", "TargetOlder",
			"the target runs Kubernetes %d.%d, the source %d.%d: objects of API versions the target does not serve will not apply",
			f->target.major, f->target.minor, f->source.major, f->source.minor);
	return ret;
}

static const char *access_name(unsigned int bit)
{
	switch (bit) {
	case MIG_RWO:
		return "ReadWriteOnce";
	case MIG_ROX:
		return "ReadOnlyMany";
	case MIG_RWX:
		return "ReadWriteMany";
	default:
		return "ReadWriteOncePod";
	}
}

static int set_version(struct k8s_obj *o, const char *path, const struct mig_side *s)
{
	char v[32];

	if (!s->major)
		return 0;
	snprintf(v, sizeof(v), "%d.%d", s->major, s->minor);
	return k8s_obj_set_str(o, path, v);
}

int mig_plan_status(const struct mig_plan *p, const struct mig_facts *f, struct k8s_obj **out)
{
	struct k8s_obj *o = NULL;
	size_t warnings = 0;
	int ret;

	*out = NULL;
	ret = k8s_obj_new(&o);
	if (!ret && f->source.server)
		ret = k8s_obj_set_str(o, "/sourceServer", f->source.server);
	if (!ret)
		ret = set_version(o, "/sourceVersion", &f->source);
	if (!ret)
		ret = set_version(o, "/targetVersion", &f->target);
	if (!ret)
		ret = k8s_obj_set_empty(o, "/volumes", K8S_T_ARRAY);
	for (size_t i = 0; i < p->n_volumes && !ret; i++) {
		const struct mig_volume *v = &p->volumes[i];
		const struct mig_claim *c = v->claim;
		char base[64];

		snprintf(base, sizeof(base), "/volumes/%zu", i);
		ret = k8s_obj_set_empty(o, "/volumes/-", K8S_T_OBJECT);
#define VSET(fn, field, val)                                                                       \
	do {                                                                                       \
		char path_[96];                                                                    \
		snprintf(path_, sizeof(path_), "%s/%s", base, field);                              \
		if (!ret)                                                                          \
			ret = fn(o, path_, val);                                                   \
	} while (0)
		VSET(k8s_obj_set_str, "namespace", c->ns);
		VSET(k8s_obj_set_str, "claim", c->name);
		VSET(k8s_obj_set_str, "targetNamespace", c->target_ns);
		VSET(k8s_obj_set_int, "bytes", c->bytes);
		if (c->storage_class)
			VSET(k8s_obj_set_str, "storageClass", c->storage_class);
		if (v->target_class[0])
			VSET(k8s_obj_set_str, "targetStorageClass", v->target_class);
		if (c->volume_mode)
			VSET(k8s_obj_set_str, "volumeMode", c->volume_mode);
		if (c->access) {
			char path[96];

			snprintf(path, sizeof(path), "%s/accessModes", base);
			if (!ret)
				ret = k8s_obj_set_empty(o, path, K8S_T_ARRAY);
		}
		for (unsigned int bit = MIG_RWO; bit <= MIG_RWOP; bit <<= 1)
			if (c->access & bit)
				VSET(k8s_obj_set_str, "accessModes/-", access_name(bit));
		if (c->node)
			VSET(k8s_obj_set_str, "node", c->node);
		if (c->zone)
			VSET(k8s_obj_set_str, "zone", c->zone);
		if (c->pod)
			VSET(k8s_obj_set_str, "usedBy", c->pod);
#undef VSET
	}
	if (!ret)
		ret = k8s_obj_set_int(o, "/bytes", p->bytes);
	if (!ret)
		ret = k8s_obj_set_empty(o, "/findings", K8S_T_ARRAY);
	for (size_t i = 0; i < p->n_findings && !ret; i++) {
		const struct mig_finding *fd = &p->findings[i];
		char path[64];

		warnings += fd->severity == MIG_WARNING;
		ret = k8s_obj_set_empty(o, "/findings/-", K8S_T_OBJECT);
		snprintf(path, sizeof(path), "/findings/%zu/severity", i);
		if (!ret)
			ret = k8s_obj_set_str(o, path, mig_severity_name(fd->severity));
		snprintf(path, sizeof(path), "/findings/%zu/object", i);
		if (!ret)
			ret = k8s_obj_set_str(o, path, fd->object);
		snprintf(path, sizeof(path), "/findings/%zu/reason", i);
		if (!ret)
			ret = k8s_obj_set_str(o, path, fd->reason);
		snprintf(path, sizeof(path), "/findings/%zu/message", i);
		if (!ret)
			ret = k8s_obj_set_str(o, path, fd->message);
	}
	if (!ret)
		ret = k8s_obj_set_int(o, "/errors", (int64_t)p->n_errors);
	if (!ret)
		ret = k8s_obj_set_int(o, "/warnings", (int64_t)warnings);
	if (ret) {
		k8s_obj_free(o);
		return ret;
	}
	*out = o;
	return 0;
}
