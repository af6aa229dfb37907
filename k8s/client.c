// SPDX-License-Identifier: MIT
/*
 * k8s/client.c - the client and its REST calls: URLs for resources, get,
 * list (pages, an expired continue token starts over), create, update and
 * the read-modify-write loop on 409, the four kinds of patch, delete with
 * options, and any other request.
 *
 * Every call here blocks its caller and is one struct kreq run on the loop
 * (loop.c); answers are parsed on the caller's thread, not on the loop's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_int.h"

#define LIST_LIMIT     500
#define UPDATE_RETRIES 8

/* ------------------------------------------------------------ the client */

int k8s_client_new(struct k8s_config *cfg, const struct k8s_client_opts *opts,
		   struct k8s_client **out, struct k8s_err *err)
{
	struct kloop_opts lo = {0};
	struct k8s_client *c;
	int ret;

	kerr_clear(err);
	*out = NULL;
	if (!cfg)
		return kerr_set(err, -EINVAL, -1, "", "no configuration");
	c = calloc(1, sizeof(*c));
	if (!c)
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	if (opts)
		memcpy(&c->o, opts, opts->sz && opts->sz < sizeof(c->o) ? opts->sz : sizeof(c->o));
	c->o.sz = sizeof(c->o);
	if (c->o.qps == 0)
		c->o.qps = 5;
	if (!c->o.burst)
		c->o.burst = 10;
	if (!c->o.timeout_ms)
		c->o.timeout_ms = 60000;
	if (!c->o.connect_timeout_ms)
		c->o.connect_timeout_ms = 10000;
	if (!c->o.max_inflight)
		c->o.max_inflight = 32;
	ret = kauth_new(cfg, &c->auth);
	if (ret)
		goto out_free;
	lo.cfg = cfg;
	lo.auth = c->auth;
	lo.qps = c->o.qps;
	lo.burst = c->o.burst;
	lo.timeout_ms = c->o.timeout_ms;
	lo.connect_timeout_ms = c->o.connect_timeout_ms;
	lo.max_inflight = c->o.max_inflight;
	lo.user_agent = c->o.user_agent;
	lo.http1 = c->o.http1;
	ret = kloop_new(&lo, &c->loop);
	if (ret)
		goto out_free;
	c->cfg = cfg;
	*out = c;
	return 0;
out_free:
	kauth_free(c->auth);
	free(c);
	return kerr_set(err, ret, -1, "", "cannot start the client: %s", strerror(-ret));
}

int k8s_client_open(const struct k8s_config_opts *copts, const struct k8s_client_opts *opts,
		    struct k8s_client **out, struct k8s_err *err)
{
	struct k8s_config *cfg;
	int ret;

	*out = NULL;
	ret = k8s_config_load(copts, &cfg, err);
	if (ret)
		return ret;
	ret = k8s_client_new(cfg, opts, out, err);
	if (ret)
		k8s_config_free(cfg);
	return ret;
}

void k8s_client_free(struct k8s_client *c)
{
	if (!c)
		return;
	kloop_free(c->loop);
	kauth_free(c->auth);
	k8s_config_free(c->cfg);
	free(c);
}

const struct k8s_config *k8s_client_config(const struct k8s_client *c)
{
	return c->cfg;
}

void k8s_client_stats(const struct k8s_client *c, struct k8s_client_stats *st)
{
	kloop_stats(c->loop, st);
}

/* ------------------------------------------------------------ URLs */

/* The namespace a call is made in: none for cluster-scoped kinds; NULL is
 * the configuration's (the context's namespace, -n, or the pod's). */
const char *kc_ns(const struct k8s_client *c, const struct k8s_resource *r, const char *ns)
{
	if (!r->namespaced)
		return NULL;
	return ns ? ns : k8s_config_ns(c->cfg);
}

static void query(struct kbuf *b, bool *first, const char *key, const char *v)
{
	kbuf_puts(b, *first ? "?" : "&");
	*first = false;
	kbuf_puts(b, key);
	kbuf_puts(b, "=");
	kbuf_escape(b, v);
}

/*
 * /api/v1/namespaces/NS/pods/NAME/SUB?query for the core group and
 * /apis/GROUP/VERSION/... for the others; every path segment and query
 * value is percent-encoded (a label selector holds '=', ',', '!', spaces).
 */
char *kc_url(const struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	     const char *name, const char *sub, const struct k8s_call *call, const char *extra)
{
	struct kbuf b = {0};
	bool first = true;

	kbuf_puts(&b, kloop_base(c->loop));
	if (r->group && r->group[0]) {
		kbuf_puts(&b, "/apis/");
		kbuf_escape(&b, r->group);
		kbuf_puts(&b, "/");
	} else {
		kbuf_puts(&b, "/api/");
	}
	kbuf_escape(&b, r->version);
	if (r->namespaced && ns && *ns) {
		kbuf_puts(&b, "/namespaces/");
		kbuf_escape(&b, ns);
	}
	kbuf_puts(&b, "/");
	kbuf_escape(&b, r->resource);
	if (name) {
		kbuf_puts(&b, "/");
		kbuf_escape(&b, name);
	}
	if (sub) {
		kbuf_puts(&b, "/");
		kbuf_escape(&b, sub);
	}
	if (call) {
		if (call->label_selector && *call->label_selector)
			query(&b, &first, "labelSelector", call->label_selector);
		if (call->field_selector && *call->field_selector)
			query(&b, &first, "fieldSelector", call->field_selector);
		if (call->resource_version)
			query(&b, &first, "resourceVersion", call->resource_version);
		if (call->dry_run)
			query(&b, &first, "dryRun", "All");
		if (call->field_manager && *call->field_manager)
			query(&b, &first, "fieldManager", call->field_manager);
		if (call->force)
			query(&b, &first, "force", "true");
	}
	if (extra && *extra) {
		kbuf_puts(&b, first ? "?" : "&");
		kbuf_puts(&b, extra);
	}
	return kbuf_take(&b);
}

void kc_describe(struct kreq *q, const char *verb, const struct k8s_resource *r, const char *ns,
		 const char *name, const char *sub)
{
	q->verb = verb;
	q->resource = r->resource;
	q->ns = ns;
	q->name = name;
	if (!r->namespaced)
		snprintf(q->what, sizeof(q->what), "%s %s%s%s%s%s", verb, r->resource,
			 name ? "/" : "", name ? name : "", sub ? "/" : "", sub ? sub : "");
	else
		snprintf(q->what, sizeof(q->what), "%s %s%s%s%s%s in %s%s", verb, r->resource,
			 name ? "/" : "", name ? name : "", sub ? "/" : "", sub ? sub : "",
			 ns && *ns ? "namespace " : "all namespaces", ns && *ns ? ns : "");
}

/* ------------------------------------------------------------ one request */

/*
 * One blocking request: the credential is made fresh here first (so an exec
 * plugin runs on the caller's thread, not on the loop's), then the loop
 * runs it, and a 2xx answer is parsed on this thread.
 */
int kc_do(struct k8s_client *c, struct kreq *q, struct k8s_obj **out, struct k8s_err *err)
{
	struct kcred warm;
	cJSON *j;
	int ret;

	if (out)
		*out = NULL;
	/* run an exec plugin (or read a token file) here, not on the I/O thread */
	ret = kauth_get(c->auth, false, &warm, err);
	kcred_fini(&warm);
	if (ret) {
		free(q->url);
		q->url = NULL;
		if (err && err->code)
			kerr_prefix(err, q->what);
		return ret;
	}
	ret = kloop_run(c->loop, q);
	if (err)
		*err = q->e;
	if (!ret && out) {
		j = q->resp_len ? kjson_parse(q->resp, q->resp_len) : NULL;
		if (!j)
			ret = kerr_set(err, -EIO, K8S_EXIT_FAILURE, "BadAnswer",
				       "%s: the answer of %s is not JSON", q->what,
				       k8s_config_server(c->cfg));
		else
			*out = O(j);
	}
	kreq_fini(q);
	free(q->url);
	q->url = NULL;
	return ret;
}

static int need_name(const char *name, const char *what, struct k8s_err *err)
{
	if (!name || !*name)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest", "%s: no name given",
				what);
	return 0;
}

static int need_ns(const struct k8s_resource *r, const char *ns, const char *what,
		   struct k8s_err *err)
{
	if (r->namespaced && (!ns || !*ns))
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"%s: a namespaced kind needs a namespace", what);
	return 0;
}

/* ------------------------------------------------------------ get */

int k8s_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	    const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err)
{
	const char *sub = call ? call->subresource : NULL;
	struct kreq q = {0};
	int ret;

	kerr_clear(err);
	if (out)
		*out = NULL;
	ns = kc_ns(c, r, ns);
	kc_describe(&q, "get", r, ns, name, sub);
	ret = need_name(name, q.what, err);
	if (!ret)
		ret = need_ns(r, ns, q.what, err);
	if (ret)
		return ret;
	q.method = "GET";
	q.ctx = KCTX_READ;
	q.timeout_ms = call ? call->timeout_ms : 0;
	q.url = kc_url(c, r, ns, name, sub, call, NULL);
	if (!q.url)
		return kerr_set(err, -ENOMEM, -1, "", "%s: out of memory", q.what);
	return kc_do(c, &q, out, err);
}

/* ------------------------------------------------------------ list */

struct k8s_items {
	cJSON **v;
	size_t n, cap;
	char *rv;
};

size_t k8s_items_len(const struct k8s_items *l)
{
	return l ? l->n : 0;
}

const struct k8s_obj *k8s_items_at(const struct k8s_items *l, size_t i)
{
	return l && i < l->n ? O(l->v[i]) : NULL;
}

struct k8s_obj *k8s_items_take(struct k8s_items *l, size_t i)
{
	cJSON *j;

	if (!l || i >= l->n)
		return NULL;
	j = l->v[i];
	l->v[i] = NULL;
	return O(j);
}

const char *k8s_items_rv(const struct k8s_items *l)
{
	return l && l->rv ? l->rv : "";
}

void k8s_items_free(struct k8s_items *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		cJSON_Delete(l->v[i]);
	free(l->v);
	free(l->rv);
	free(l);
}

static void items_clear(struct k8s_items *l)
{
	for (size_t i = 0; i < l->n; i++)
		cJSON_Delete(l->v[i]);
	l->n = 0;
	free(l->rv);
	l->rv = NULL;
}

/* move the items of one page into @l, with apiVersion and kind (lists omit them) */
/*
 * The items of a page move into @l without a copy. A list answer carries
 * apiVersion and kind once for the list ("PodList"), not per item: they
 * are filled in, so each item stands on its own as an object.
 */
static int items_take_page(struct k8s_items *l, cJSON *page, const struct k8s_resource *r)
{
	cJSON *items = cJSON_GetObjectItemCaseSensitive(page, "items"), *it;
	char api[128];

	if (r->group && r->group[0])
		snprintf(api, sizeof(api), "%s/%s", r->group, r->version);
	else
		snprintf(api, sizeof(api), "%s", r->version);
	if (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))
		return -EIO;
	while (items && (it = items->child)) {
		cJSON_DetachItemViaPointer(items, it);
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 64;
			cJSON **v = realloc(l->v, cap * sizeof(*v));

			if (!v) {
				cJSON_Delete(it);
				return -ENOMEM;
			}
			l->v = v;
			l->cap = cap;
		}
		if (cJSON_IsObject(it)) {
			if (!cJSON_GetObjectItemCaseSensitive(it, "apiVersion"))
				cJSON_AddStringToObject(it, "apiVersion", api);
			if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
				cJSON_AddStringToObject(it, "kind", r->kind);
		}
		l->v[l->n++] = it;
	}
	return 0;
}

/*
 * Pages of call->limit items: the first with the caller's resourceVersion
 * (if any), the next ones with only the continue token, which carries the
 * first page's version. A token the server no longer knows (410, about
 * 5 min on a real API server) restarts the list once from the first page:
 * a list is either whole and consistent, or an error.
 */
int k8s_list(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	     const struct k8s_call *call, struct k8s_items **out, struct k8s_err *err)
{
	struct k8s_items *l;
	struct k8s_call cc = {0};
	char *cont = NULL;
	bool restarted = false;
	int ret = 0;

	kerr_clear(err);
	*out = NULL;
	l = calloc(1, sizeof(*l));
	if (!l)
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	if (call)
		cc = *call;
	cc.subresource = NULL;
	ns = kc_ns(c, r, ns);
	for (;;) {
		struct kreq q = {0};
		struct k8s_obj *page = NULL;
		struct kbuf ex = {0};
		const char *next;
		bool more;

		kc_describe(&q, "list", r, ns, NULL, NULL);
		q.method = "GET";
		q.ctx = KCTX_READ;
		q.timeout_ms = cc.timeout_ms;
		kbuf_printf(&ex, "limit=%u", cc.limit ? cc.limit : LIST_LIMIT);
		if (cont) {
			kbuf_puts(&ex, "&continue=");
			kbuf_escape(&ex, cont);
		}
		/* continued pages share the first page's resourceVersion: none again */
		if (cont)
			cc.resource_version = NULL;
		q.url = kbuf_str(&ex) ? kc_url(c, r, ns, NULL, NULL, &cc, kbuf_str(&ex)) : NULL;
		kbuf_free(&ex);
		if (!q.url) {
			ret = kerr_set(err, -ENOMEM, -1, "", "%s: out of memory", q.what);
			break;
		}
		ret = kc_do(c, &q, &page, err);
		if (ret == -ESTALE && cont && !restarted) {
			/* the continue token expired (about 5 min): start over, once */
			pr_debug("k8s: %s: continue token expired, listing again", q.what);
			restarted = true;
			free(cont);
			cont = NULL;
			items_clear(l);
			cc.resource_version = call ? call->resource_version : NULL;
			continue;
		}
		if (ret)
			break;
		if (!l->rv) {
			const char *rv = k8s_obj_str(page, "/metadata/resourceVersion");

			l->rv = strdup(rv ? rv : "");
			if (!l->rv)
				ret = -ENOMEM;
		}
		if (!ret)
			ret = items_take_page(l, J(page), r);
		if (ret) {
			kerr_set(err, ret, -1, "BadAnswer", "%s: %s", q.what,
				 ret == -ENOMEM ? "out of memory" : "the answer is not a list");
			k8s_obj_free(page);
			break;
		}
		next = k8s_obj_str(page, "/metadata/continue");
		more = next && *next;
		free(cont);
		cont = more ? strdup(next) : NULL;
		k8s_obj_free(page);
		if (more && !cont) {
			ret = kerr_set(err, -ENOMEM, -1, "", "out of memory");
			break;
		}
		if (!cont)
			break;
	}
	free(cont);
	if (ret) {
		k8s_items_free(l);
		return ret;
	}
	*out = l;
	return 0;
}

/* ------------------------------------------------------------ writes */

/* a write of @body to @url */
/* A create, update, patch or delete: @body serialized, sent, answered. */
static int write_req(struct k8s_client *c, const char *method, const char *verb, int ctx,
		     const struct k8s_resource *r, const char *ns, const char *name,
		     const char *sub, const struct k8s_call *call, const char *extra,
		     const char *ctype, const struct k8s_obj *body, struct k8s_obj **out,
		     struct k8s_err *err)
{
	struct kreq q = {0};
	char *json = NULL;
	int ret;

	kc_describe(&q, verb, r, ns, name, sub);
	/* RBAC knows no "apply": a server-side apply is authorized as patch */
	if (!strcmp(verb, "apply"))
		q.verb = "patch";
	ret = need_ns(r, ns, q.what, err);
	if (ret)
		return ret;
	if (body) {
		json = k8s_obj_json(body);
		if (!json)
			return kerr_set(err, -ENOMEM, -1, "", "%s: out of memory", q.what);
	}
	q.method = method;
	q.ctx = ctx;
	q.body = json;
	q.body_len = json ? strlen(json) : 0;
	q.content_type = ctype;
	q.timeout_ms = call ? call->timeout_ms : 0;
	q.url = kc_url(c, r, ns, name, sub, call, extra);
	if (!q.url) {
		free(json);
		return kerr_set(err, -ENOMEM, -1, "", "%s: out of memory", q.what);
	}
	ret = kc_do(c, &q, out, err);
	free(json);
	return ret;
}

/* the namespace of a write: @ns, else the object's, else the configuration's */
static const char *write_ns(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
			    const struct k8s_obj *obj)
{
	if (!r->namespaced)
		return NULL;
	if (ns)
		return ns;
	if (k8s_obj_get_ns(obj) && *k8s_obj_get_ns(obj))
		return k8s_obj_get_ns(obj);
	return k8s_config_ns(c->cfg);
}

int k8s_create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	       const struct k8s_obj *obj, const struct k8s_call *call, struct k8s_obj **out,
	       struct k8s_err *err)
{
	kerr_clear(err);
	if (out)
		*out = NULL;
	if (!obj || !cJSON_IsObject(J(obj)))
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"create %s: no object given", r->resource);
	return write_req(c, "POST", "create", KCTX_CREATE, r, write_ns(c, r, ns, obj), NULL,
			 call ? call->subresource : NULL, call, NULL, "application/json", obj, out,
			 err);
}

int k8s_update(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	       const struct k8s_obj *obj, const struct k8s_call *call, struct k8s_obj **out,
	       struct k8s_err *err)
{
	const char *name = k8s_obj_get_name(obj);
	int ret;

	kerr_clear(err);
	if (out)
		*out = NULL;
	ret = need_name(name, "update", err);
	if (ret)
		return ret;
	return write_req(c, "PUT", "update", KCTX_UPDATE, r, write_ns(c, r, ns, obj), name,
			 call ? call->subresource : NULL, call, NULL, "application/json", obj, out,
			 err);
}

int k8s_update_retry(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		     const char *name, const struct k8s_call *call, k8s_mutate_fn fn, void *arg,
		     struct k8s_obj **out, struct k8s_err *err)
{
	struct k8s_call rc = {0};
	int ret = -EAGAIN;

	kerr_clear(err);
	if (out)
		*out = NULL;
	if (call)
		rc = *call;
	/* /status is read from the object itself; /scale from /scale */
	if (rc.subresource && strcmp(rc.subresource, "scale"))
		rc.subresource = NULL;
	rc.dry_run = false;
	rc.field_manager = NULL;
	rc.force = false;
	for (unsigned int i = 0; i < UPDATE_RETRIES; i++) {
		struct k8s_obj *obj = NULL, *res = NULL;

		if (i) {
			/* someone else wrote in between: a short jittered pause */
			struct timespec ts = {0, (long)(10 + krand() % 40) * 1000000L};

			nanosleep(&ts, NULL);
		}
		ret = k8s_get(c, r, ns, name, &rc, &obj, err);
		if (ret)
			return ret;
		ret = fn(arg, obj);
		if (ret == K8S_UNCHANGED) {
			if (out)
				*out = obj;
			else
				k8s_obj_free(obj);
			kerr_clear(err);
			return 0;
		}
		if (ret) {
			k8s_obj_free(obj);
			return kerr_set(err, ret < 0 ? ret : -EINVAL, -1, "Mutate",
					"update %s/%s: stopped by the caller: %s", r->resource,
					name, strerror(ret < 0 ? -ret : EINVAL));
		}
		ret = k8s_update(c, r, ns, obj, call, out ? &res : NULL, err);
		k8s_obj_free(obj);
		if (ret != -EAGAIN) {
			if (out)
				*out = res;
			return ret;
		}
		k8s_obj_free(res);
	}
	return ret;
}

/* The content type of each patch, and its context in the error table. */
static const char *patch_ctype(enum k8s_patch type, int *ctx)
{
	switch (type) {
	case K8S_PATCH_JSON:
		*ctx = KCTX_JPATCH;
		return "application/json-patch+json";
	case K8S_PATCH_APPLY:
		*ctx = KCTX_APPLY;
		return "application/apply-patch+yaml";
	case K8S_PATCH_STRATEGIC:
		*ctx = KCTX_PATCH;
		return "application/strategic-merge-patch+json";
	case K8S_PATCH_MERGE:
	default:
		*ctx = KCTX_PATCH;
		return "application/merge-patch+json";
	}
}

int k8s_patch(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	      enum k8s_patch type, const struct k8s_obj *patch, const struct k8s_call *call,
	      struct k8s_obj **out, struct k8s_err *err)
{
	const char *ctype;
	int ctx, ret;

	kerr_clear(err);
	if (out)
		*out = NULL;
	ret = need_name(name, "patch", err);
	if (ret)
		return ret;
	if (!patch ||
	    (type == K8S_PATCH_JSON ? !cJSON_IsArray(J(patch)) : !cJSON_IsObject(J(patch))))
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"patch %s/%s: the patch must be %s", r->resource, name,
				type == K8S_PATCH_JSON ? "an array of operations" : "an object");
	if (type == K8S_PATCH_APPLY && (!call || !call->field_manager || !*call->field_manager))
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"apply %s/%s: server-side apply needs a field manager", r->resource,
				name);
	ctype = patch_ctype(type, &ctx);
	return write_req(c, "PATCH", type == K8S_PATCH_APPLY ? "apply" : "patch", ctx, r,
			 write_ns(c, r, ns, type == K8S_PATCH_JSON ? NULL : patch), name,
			 call ? call->subresource : NULL, call, NULL, ctype, patch, out, err);
}

int k8s_apply(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	      const struct k8s_obj *obj, const char *manager, bool force,
	      const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err)
{
	struct k8s_call ac = {0};

	if (call)
		ac = *call;
	ac.field_manager = manager;
	ac.force = force;
	return k8s_patch(c, r, ns, k8s_obj_get_name(obj), K8S_PATCH_APPLY, obj, &ac, out, err);
}

int k8s_jsonpatch_add(struct k8s_obj *ops, const char *op, const char *path, const char *from,
		      const struct k8s_obj *value)
{
	bool needs_value = !strcmp(op, "add") || !strcmp(op, "replace") || !strcmp(op, "test");
	bool needs_from = !strcmp(op, "move") || !strcmp(op, "copy");
	cJSON *o;

	if (!cJSON_IsArray(J(ops)) || !path || (*path && *path != '/') ||
	    (!needs_value && !needs_from && strcmp(op, "remove")) || (needs_value && !value) ||
	    (needs_from && !from))
		return -EINVAL;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "op", op) ||
	    !cJSON_AddStringToObject(o, "path", path) ||
	    (needs_from && !cJSON_AddStringToObject(o, "from", from)))
		goto out_nomem;
	if (needs_value) {
		cJSON *v = cJSON_Duplicate(J(value), 1);

		if (!v || !cJSON_AddItemToObject(o, "value", v)) {
			cJSON_Delete(v);
			goto out_nomem;
		}
	}
	if (!cJSON_AddItemToArray(J(ops), o))
		goto out_nomem;
	return 0;
out_nomem:
	cJSON_Delete(o);
	return -ENOMEM;
}

int k8s_delete(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	       const struct k8s_call *call, struct k8s_obj **out, struct k8s_err *err)
{
	cJSON *opts = NULL;
	int ret;

	kerr_clear(err);
	if (out)
		*out = NULL;
	ret = need_name(name, "delete", err);
	if (ret)
		return ret;
	ns = kc_ns(c, r, ns);
	if (call && (call->propagation || call->pre_uid || call->pre_rv)) {
		cJSON *pre;

		opts = cJSON_CreateObject();
		if (!opts || !cJSON_AddStringToObject(opts, "kind", "DeleteOptions") ||
		    !cJSON_AddStringToObject(opts, "apiVersion", "v1") ||
		    (call->propagation &&
		     !cJSON_AddStringToObject(opts, "propagationPolicy", call->propagation)))
			goto out_nomem;
		if (call->pre_uid || call->pre_rv) {
			pre = cJSON_AddObjectToObject(opts, "preconditions");
			if (!pre ||
			    (call->pre_uid &&
			     !cJSON_AddStringToObject(pre, "uid", call->pre_uid)) ||
			    (call->pre_rv &&
			     !cJSON_AddStringToObject(pre, "resourceVersion", call->pre_rv)))
				goto out_nomem;
		}
	}
	ret = write_req(c, "DELETE", "delete", KCTX_DELETE, r, ns, name, NULL, call, NULL,
			"application/json", O(opts), out, err);
	cJSON_Delete(opts);
	return ret;
out_nomem:
	cJSON_Delete(opts);
	return kerr_set(err, -ENOMEM, -1, "", "out of memory");
}

int k8s_request(struct k8s_client *c, const char *method, const char *path,
		const struct k8s_obj *body, struct k8s_obj **out, struct k8s_err *err)
{
	struct kreq q = {0};
	struct kbuf b = {0};
	char *json = NULL;
	int ret;

	kerr_clear(err);
	if (out)
		*out = NULL;
	if (!method || !path || path[0] != '/')
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"a request needs a method and an absolute path");
	snprintf(q.what, sizeof(q.what), "%s %s", method, path);
	q.verb = !strcmp(method, "GET") ? "get" : "create";
	q.resource = path;
	q.method = method;
	q.ctx = !strcmp(method, "GET") ? KCTX_READ : KCTX_CREATE;
	if (body) {
		json = k8s_obj_json(body);
		if (!json)
			return kerr_set(err, -ENOMEM, -1, "", "out of memory");
		q.body = json;
		q.body_len = strlen(json);
		q.content_type = "application/json";
	}
	kbuf_puts(&b, kloop_base(c->loop));
	kbuf_puts(&b, path);
	q.url = kbuf_take(&b);
	if (!q.url) {
		free(json);
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	}
	ret = kc_do(c, &q, out, err);
	free(json);
	return ret;
}
