// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/kit.c - one step of the StatefulSwitch reconciler: its
 * status edited in place, the phase, Events, and the objects it reads and
 * writes by name (bg_priv.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_priv.h"
#include "control/xfer/xfer.h"

bool bg_is(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

const char *bg_sget(struct sw *s, const char *path)
{
	return k8s_obj_str(s->st, path);
}

int64_t bg_sint(struct sw *s, const char *path, int64_t dflt)
{
	int64_t v;

	return k8s_obj_int(s->st, path, &v) ? dflt : v;
}

int bg_sset(struct sw *s, const char *path, const char *v)
{
	if (bg_is(bg_sget(s, path), v))
		return 0;
	s->dirty = true;
	return k8s_obj_set_str(s->st, path, v);
}

int bg_sset_int(struct sw *s, const char *path, int64_t v)
{
	int64_t had;

	if (!k8s_obj_int(s->st, path, &had) && had == v &&
	    k8s_obj_type(s->st, path) == K8S_T_NUMBER)
		return 0;
	s->dirty = true;
	return k8s_obj_set_int(s->st, path, v);
}

int bg_sset_num(struct sw *s, const char *path, double v)
{
	double had;

	if (!k8s_obj_num(s->st, path, &had) && had == v)
		return 0;
	s->dirty = true;
	return k8s_obj_set_num(s->st, path, v);
}

int bg_sdrop(struct sw *s, const char *path)
{
	if (k8s_obj_type(s->st, path) == K8S_T_ABSENT)
		return 0;
	s->dirty = true;
	return k8s_obj_remove(s->st, path);
}

/* the instant at @path (ns), 0 if none */
int64_t bg_when(struct sw *s, const char *path)
{
	int64_t t = 0;

	if (bg_sget(s, path))
		k8s_time_parse(bg_sget(s, path), &t);
	return t;
}

/* the instant at @path, written now if it has none (microseconds: parts are measured) */
int64_t bg_mark(struct sw *s, const char *path, int *ret)
{
	char t[K8S_TIME_SIZE];
	int64_t now;

	if (bg_when(s, path))
		return bg_when(s, path);
	now = k8s_now_ns();
	k8s_time_format(now, true, t);
	if (!*ret)
		*ret = bg_sset(s, path, t);
	return now;
}

double bg_secs(int64_t from, int64_t to)
{
	return from && to > from ? (double)(to - from) / 1e9 : 0;
}

static const char *health_of(const char *phase)
{
	static const char *const healthy[] = {"Promoted", "Completed", "RolledBack", "Aborted"};

	for (size_t i = 0; i < sizeof(healthy) / sizeof(healthy[0]); i++)
		if (bg_is(phase, healthy[i]))
			return "Healthy";
	if (bg_is(phase, "Paused"))
		return "Suspended";
	if (bg_is(phase, "Failed"))
		return "Degraded";
	return "Progressing";
}

/* an Event about the switch, now (best effort: a failed one is not retried) */
void bg_event_now(struct sw *s, const char *type, const char *reason, const char *note)
{
	struct k8s_err e = {0};
	struct k8s_event ev = {.regarding = s->req->obj,
			       .type = type,
			       .reason = reason,
			       .action = "Switch",
			       .note = note,
			       .controller = "ferry.io/controller",
			       .instance = s->req->identity};

	k8s_event_emit(s->c, &ev, &e);
}

/* an Event held until the step's status is written (bg_priv.h) */
void bg_event(struct sw *s, const char *type, const char *reason, const char *note)
{
	struct held_event *h;

	if (s->nev == EVENTS_HELD) {
		bg_event_now(s, type, reason, note);
		return;
	}
	h = &s->ev[s->nev++];
	h->type = type;
	snprintf(h->reason, sizeof(h->reason), "%s", reason);
	snprintf(h->note, sizeof(h->note), "%s", note ? note : "");
}

/* phase @phase with s->msg, the next look in @requeue_ms; an Event when the phase changes */
int bg_go(struct sw *s, const char *phase, unsigned int requeue_ms)
{
	int ret = 0;

	if (!bg_is(bg_sget(s, "/phase"), phase)) {
		ret = bg_sset(s, "/phase", phase);
		bg_event(s, bg_is(phase, "Failed") ? "Warning" : "Normal", phase, s->msg);
	}
	if (!ret)
		ret = bg_sset(s, "/message", s->msg);
	if (!ret)
		ret = bg_sset(s, "/health", health_of(phase));
	s->res->reason = phase;
	s->res->message = s->msg;
	s->res->requeue_after_ms = requeue_ms;
	return ret;
}

int __attribute__((format(printf, 2, 3))) bg_fail(struct sw *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	s->res->failed = true;
	return bg_go(s, "Failed", 0);
}

int __attribute__((format(printf, 3, 4)))
bg_wait_for(struct sw *s, unsigned int ms, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->msg, sizeof(s->msg), fmt, ap);
	va_end(ap);
	return bg_go(s, bg_sget(s, "/phase") ? bg_sget(s, "/phase") : "Pending", ms);
}

int bg_fetch(struct sw *s, const struct k8s_resource *r, const char *ns, const char *name,
	     struct k8s_obj **out)
{
	int ret = k8s_get(s->c, r, ns, name, NULL, out, s->err);

	if (ret == -ENOENT) {
		*out = NULL;
		return 0;
	}
	return ret;
}

int bg_create(struct sw *s, const struct k8s_resource *r, const char *ns, const struct k8s_obj *o)
{
	int ret = k8s_create(s->c, r, ns, o, NULL, NULL, s->err);

	return ret == -EEXIST ? 0 : ret;
}

int bg_drop(struct sw *s, const struct k8s_resource *r, const char *ns, const char *name)
{
	int ret = k8s_delete(s->c, r, ns, name, NULL, NULL, s->err);

	return ret == -ENOENT ? 0 : ret;
}

/* merge patch of @r's @name: @path set to @v (NULL: removed) */
int bg_patch_str(struct sw *s, const struct k8s_resource *r, const char *name, const char *path,
		 const char *v)
{
	struct k8s_obj *p = NULL;
	int ret = k8s_obj_new(&p);

	if (!ret)
		ret = v ? k8s_obj_set_str(p, path, v) : k8s_obj_set_null(p, path);
	if (!ret)
		ret = k8s_patch(s->c, r, s->req->ns, name, K8S_PATCH_MERGE, p, NULL, NULL, s->err);
	k8s_obj_free(p);
	return ret;
}

int bg_scale(struct sw *s, const char *name, int64_t replicas)
{
	struct k8s_obj *p = NULL;
	int ret = k8s_obj_new(&p);

	if (!ret)
		ret = k8s_obj_set_int(p, "/spec/replicas", replicas);
	if (!ret)
		ret = k8s_patch(s->c, &k8s_statefulsets, s->req->ns, name, K8S_PATCH_MERGE, p, NULL,
				NULL, s->err);
	k8s_obj_free(p);
	return ret;
}

/* the pods of StatefulSet @name not finished (its controller ownerReference): *@n */
int bg_pods_of(struct sw *s, const char *name, size_t *n)
{
	struct k8s_items *l = NULL;
	int ret = k8s_list(s->c, &k8s_pods, s->req->ns, NULL, &l, s->err);

	*n = 0;
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		struct k8s_pod p;

		if (k8s_pod_view(k8s_items_at(l, i), &p) || !p.meta.controller ||
		    !bg_is(k8s_obj_str(p.meta.controller, "/kind"), "StatefulSet") ||
		    !bg_is(k8s_obj_str(p.meta.controller, "/name"), name) ||
		    bg_is(p.phase, "Succeeded") || bg_is(p.phase, "Failed"))
			continue;
		(*n)++;
	}
	k8s_items_free(l);
	return ret;
}

/* the Service's selector key BG_REVISION: @rev (NULL: removed, the user's selector again) */
int bg_pin(struct sw *s, const char *svc, const char *rev)
{
	const char *orig = bg_sget(s, "/activeSelector/" BG_REVISION);

	if (!rev && orig)
		rev = orig; /* the user's own selector had the key: it is given back */
	return bg_patch_str(s, &k8s_services, svc, "/spec/selector/" BG_REVISION, rev);
}

/* ready endpoints of Service @svc whose pod is one of StatefulSet @name's; *@other: of others */
int bg_endpoints_of(struct sw *s, const char *svc, const char *name, size_t *mine, size_t *other)
{
	struct k8s_items *l = NULL;
	char sel[128];
	struct k8s_call call = {.label_selector = sel};
	size_t n = strlen(name);
	int ret;

	snprintf(sel, sizeof(sel), "kubernetes.io/service-name=%s", svc);
	*mine = *other = 0;
	ret = k8s_list(s->c, &k8s_endpointslices, s->req->ns, &call, &l, s->err);
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		struct k8s_endpointslice es;

		if (k8s_endpointslice_view(k8s_items_at(l, i), &es))
			continue;
		for (const struct k8s_obj *e = k8s_obj_first(es.endpoints); e;
		     e = k8s_obj_next(e)) {
			struct k8s_endpoint ep;
			const char *tail;

			if (k8s_endpoint_view(e, &ep) || !ep.ready)
				continue;
			tail = ep.pod && !strncmp(ep.pod, name, n) && ep.pod[n] == '-'
				       ? ep.pod + n + 1
				       : NULL;
			if (tail && *tail && strspn(tail, "0123456789") == strlen(tail))
				(*mine)++;
			else
				(*other)++;
		}
	}
	k8s_items_free(l);
	return ret;
}

/* the selector of blue's template labels? Every key of the Service's must be among them. */
bool bg_selects(const struct k8s_obj *selector, const struct k8s_obj *labels, const char *skip)
{
	if (!k8s_obj_len(selector, ""))
		return false;
	for (const struct k8s_obj *e = k8s_obj_first(selector); e; e = k8s_obj_next(e))
		if (!bg_is(k8s_obj_name(e), skip) &&
		    !bg_is(k8s_obj_str(labels, "")
				   ? NULL
				   : k8s_obj_str(k8s_obj_key(labels, k8s_obj_name(e)), ""),
			   k8s_obj_str(e, "")))
			return false;
	return true;
}

/* status.volumes[@i].@key = @v */
int bg_vset(struct sw *s, size_t i, const char *key, const char *v)
{
	char p[96];
	int ret = 0;

	if (i == k8s_obj_len(s->st, "/volumes"))
		ret = k8s_obj_set_empty(s->st, "/volumes/-", K8S_T_OBJECT);
	snprintf(p, sizeof(p), "/volumes/%zu/%s", i, key);
	return ret ? ret : bg_sset(s, p, v);
}

/* a StatefulSet @name of green's: blue's, with the new image or template, at blue's replicas */
int bg_make_green(struct sw *s, const struct k8s_obj *blue, const char *name)
{
	struct k8s_obj *g = NULL;
	const struct k8s_obj *labels = k8s_obj_at(blue, "/metadata/labels");
	int ret = k8s_obj_new_kind(&k8s_statefulsets, s->req->ns, name, &g);

	if (!ret && labels)
		ret = k8s_obj_set_copy(g, "/metadata/labels", labels);
	if (!ret)
		ret = k8s_obj_set_annotation(g, BG_ANN_SWITCH, s->req->key);
	if (!ret)
		ret = k8s_obj_set_annotation(g, BG_ANN_PAUSED, "true");
	if (!ret)
		ret = k8s_obj_set_copy(g, "/spec", k8s_obj_at(blue, "/spec"));
	if (!ret)
		ret = k8s_obj_set_int(g, "/spec/replicas", bg_sint(s, "/blue/replicas", 1));
	if (!ret && s->spec->template)
		ret = k8s_obj_set_copy(g, "/spec/template", s->spec->template);
	for (size_t i = 0;
	     !ret && s->spec->images && i < k8s_obj_len(g, "/spec/template/spec/containers"); i++) {
		char p[96];
		const char *img;

		snprintf(p, sizeof(p), "/spec/template/spec/containers/%zu/name", i);
		img = k8s_obj_str(k8s_obj_key(s->spec->images, k8s_obj_str(g, p) ?: ""), "");
		snprintf(p, sizeof(p), "/spec/template/spec/containers/%zu/image", i);
		if (img)
			ret = k8s_obj_set_str(g, p, img);
	}
	if (!ret)
		ret = bg_create(s, &k8s_statefulsets, s->req->ns, g);
	k8s_obj_free(g);
	return ret;
}

/*
 * The switch's own finalizer BG_FINALIZER added (@add) or taken away: a
 * merge patch of metadata.finalizers (the others kept); the status written
 * at the end of the step goes on from this patch's resourceVersion.
 */
int bg_finalizer(struct sw *s, bool add)
{
	const struct k8s_obj *had = k8s_obj_at(s->req->obj, "/metadata/finalizers");
	struct k8s_obj *p = NULL, *now = NULL;
	bool mine = false;
	int ret;

	for (const struct k8s_obj *f = k8s_obj_first(had); f; f = k8s_obj_next(f))
		mine |= bg_is(k8s_obj_str(f, ""), BG_FINALIZER);
	if (mine == add)
		return 0;
	ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_empty(p, "/metadata/finalizers", K8S_T_ARRAY);
	for (const struct k8s_obj *f = k8s_obj_first(had); !ret && f; f = k8s_obj_next(f))
		if (!bg_is(k8s_obj_str(f, ""), BG_FINALIZER))
			ret = k8s_obj_set_copy(p, "/metadata/finalizers/-", f);
	if (!ret && add)
		ret = k8s_obj_set_str(p, "/metadata/finalizers/-", BG_FINALIZER);
	if (!ret)
		ret = k8s_patch(s->c, &bg_switches, s->req->ns, s->req->name, K8S_PATCH_MERGE, p,
				NULL, &now, s->err);
	if (!ret && k8s_obj_str(now, "/metadata/resourceVersion"))
		ret = k8s_obj_set_str(s->req->obj, "/metadata/resourceVersion",
				      k8s_obj_str(now, "/metadata/resourceVersion"));
	k8s_obj_free(now);
	k8s_obj_free(p);
	return ret == -ENOENT ? 0 : ret;
}

/*
 * For each volume, the claim status.volumes[i].@to made like .@from (class,
 * size, modes, volume mode, labels, @from's node: a WaitForFirstConsumer
 * class provisions it there), labelled with the switch's uid (and @label),
 * a CSI clone of @from with @clone. *@bound when every one is Bound.
 */
int bg_claims_like(struct sw *s, const char *from, const char *to, bool clone, const char *label,
		   bool *bound)
{
	size_t nv = k8s_obj_len(s->st, "/volumes");
	int ret = 0;

	*bound = true;
	for (size_t i = 0; !ret && i < nv; i++) {
		struct k8s_obj *b = NULL, *g = NULL, *o = NULL;
		const char *node;
		char p[96], q[96];
		struct k8s_pvc pv;

		snprintf(p, sizeof(p), "/volumes/%zu/%s", i, from);
		snprintf(q, sizeof(q), "/volumes/%zu/%s", i, to);
		ret = bg_fetch(s, &k8s_pvcs, s->req->ns, bg_sget(s, q), &g);
		if (!ret && g) {
			if (k8s_pvc_view(g, &pv) || !bg_is(pv.phase, "Bound"))
				*bound = false;
			goto next;
		}
		*bound = false;
		ret = ret ? ret : bg_fetch(s, &k8s_pvcs, s->req->ns, bg_sget(s, p), &b);
		if (ret || !b || k8s_pvc_view(b, &pv))
			goto next;
		node = pv.selected_node;
		ret = k8s_obj_new_kind(&k8s_pvcs, s->req->ns, bg_sget(s, q), &o);
		if (!ret && k8s_obj_at(b, "/metadata/labels"))
			ret = k8s_obj_set_copy(o, "/metadata/labels",
					       k8s_obj_at(b, "/metadata/labels"));
		if (!ret)
			ret = k8s_obj_set_label(o, BG_LABEL_UID, k8s_obj_get_uid(s->req->obj));
		if (!ret && label)
			ret = k8s_obj_set_label(o, label, "true");
		if (!ret)
			ret = k8s_obj_set_annotation(o, BG_ANN_SWITCH, s->req->key);
		if (!ret && node)
			ret = k8s_obj_set_annotation(o, "volume.kubernetes.io/selected-node", node);
		if (!ret && pv.storage_class)
			ret = k8s_obj_set_str(o, "/spec/storageClassName", pv.storage_class);
		if (!ret)
			ret = k8s_obj_set_copy(o, "/spec/accessModes", pv.access_modes);
		if (!ret && pv.volume_mode)
			ret = k8s_obj_set_str(o, "/spec/volumeMode", pv.volume_mode);
		if (!ret)
			ret = k8s_obj_set_copy(o, "/spec/resources/requests",
					       k8s_obj_at(b, "/spec/resources/requests"));
		if (!ret && clone)
			ret = k8s_obj_set_str(o, "/spec/dataSource/kind", "PersistentVolumeClaim");
		if (!ret && clone)
			ret = k8s_obj_set_str(o, "/spec/dataSource/name", bg_sget(s, p));
		if (!ret)
			ret = bg_create(s, &k8s_pvcs, s->req->ns, o);
next:
		k8s_obj_free(o);
		k8s_obj_free(b);
		k8s_obj_free(g);
	}
	return ret;
}
