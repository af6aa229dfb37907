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

int mig_plan_make(const struct mig_spec *spec, const struct mig_facts *f, struct mig_plan *p)
{
	int ret = 0;

	assert(spec && f && p);
	memset(p, 0, sizeof(*p));
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
