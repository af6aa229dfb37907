// SPDX-License-Identifier: MIT
/*
 * control/operator/manager.c - the controller runtime: shared informers ->
 * one rate-limited work queue per reconciler -> its workers -> reconcile ->
 * status.conditions (operator.h; the interface is struct k8s_reconciler in
 * k8s/k8s.h).
 *
 * Informers are shared: reconcilers that watch the same resource with the
 * same scope and selectors get one informer, whose handlers (on the client's
 * I/O thread) map each event to primary keys for every subscriber and only
 * add them to work queues. Workers take a key, copy the primary from its
 * cache, reconcile it, and record the outcome; a key is never held by two
 * workers (client-go's queue semantics, k8s_wq).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "operator.h"
#include "control/cli/cli.h"

/* reconcile durations: controller-runtime's buckets, 5 ms to 60 s */
static const double op_buckets[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				    1,	   2.5,	 5,	10,   30,  60};
#define OP_NBUCKETS (sizeof(op_buckets) / sizeof(op_buckets[0]))

struct op_rec;

/* one reconciler's subscription to an informer */
struct op_sub {
	struct op_rec *rec;
	const struct k8s_watch *w;
};

/* one informer, shared by the watches that agree on resource, scope and selectors */
struct op_inf {
	struct op_manager *m;
	const struct k8s_resource *res;
	bool own_ns;
	const char *lsel, *fsel; /* borrowed from the (static) watch */
	struct k8s_informer *inf;
	struct op_sub *subs;
	size_t nsubs;
	uint64_t failures_seen; /* op_manager_report(): its failures logged so far */
	char said[256];		/* and the last cause it logged */
};

struct op_rec {
	struct op_manager *m;
	const struct k8s_reconciler *r;
	char field_manager[80];
	struct k8s_wq *wq;
	struct k8s_informer **caches; /* per watch */
	pthread_t *threads;
	unsigned int nthreads; /* started */
	unsigned int workers;
	void *state;
	bool set_up;

	pthread_mutex_t lock; /* the counters below */
	unsigned long long success, errors, requeues, adds, retries, cond_writes, cond_errors;
	unsigned long long hist[OP_NBUCKETS];
	unsigned long long count;
	double sum;
	unsigned int active;
};

struct op_manager {
	struct k8s_client *client;
	char *own_ns, *identity;
	struct op_rec *recs;
	size_t nrecs;
	struct op_inf *infs;
	size_t ninfs;
};

static double op_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool op_str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool op_same_resource(const struct k8s_resource *a, const struct k8s_resource *b)
{
	return a == b || (op_str_eq(a->group, b->group) && op_str_eq(a->version, b->version) &&
			  op_str_eq(a->resource, b->resource));
}

/* ------------------------------------------------------------ events -> keys */

static void op_add_key(void *q, const char *key)
{
	struct op_rec *rec = q;

	if (!key || !*key || k8s_wq_add(rec->wq, key))
		return;
	pthread_mutex_lock(&rec->lock);
	rec->adds++;
	pthread_mutex_unlock(&rec->lock);
}

/* whether apiVersion "group/version" (or "v1" for the core group) is of @r's group */
static bool op_group_of(const char *api_version, const struct k8s_resource *r)
{
	const char *slash = api_version ? strchr(api_version, '/') : NULL;
	size_t n;

	if (!api_version)
		return false;
	if (!slash)
		return !r->group || !*r->group;
	n = (size_t)(slash - api_version);
	return r->group && strlen(r->group) == n && !strncmp(api_version, r->group, n);
}

/* the primary keys @obj names for @s's reconciler */
static void op_map(const struct op_sub *s, const struct k8s_obj *obj)
{
	const struct k8s_resource *primary = s->rec->r->watches[0].resource;
	char key[K8S_KEY_SIZE];
	struct k8s_meta meta;

	switch (s->w->map) {
	case K8S_MAP_SELF:
		if (!k8s_obj_key_of(obj, key))
			op_add_key(s->rec, key);
		break;
	case K8S_MAP_OWNER:
		if (k8s_meta_view(obj, &meta) || !meta.controller)
			break;
		if (!op_str_eq(k8s_obj_str(meta.controller, "/kind"), primary->kind) ||
		    !op_group_of(k8s_obj_str(meta.controller, "/apiVersion"), primary) ||
		    !k8s_obj_str(meta.controller, "/name"))
			break;
		if (primary->namespaced && meta.ns)
			snprintf(key, sizeof(key), "%s/%s", meta.ns,
				 k8s_obj_str(meta.controller, "/name"));
		else
			snprintf(key, sizeof(key), "%s", k8s_obj_str(meta.controller, "/name"));
		op_add_key(s->rec, key);
		break;
	case K8S_MAP_FN:
		s->w->map_fn(obj, op_add_key, s->rec);
		break;
	}
}

static void op_on_add(void *arg, const struct k8s_obj *obj)
{
	struct op_inf *inf = arg;

	for (size_t i = 0; i < inf->nsubs; i++)
		op_map(&inf->subs[i], obj);
}

static void op_on_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	struct op_inf *inf = arg;

	for (size_t i = 0; i < inf->nsubs; i++) {
		/* an owner that changed: both the old and the new one hear of it */
		if (inf->subs[i].w->map != K8S_MAP_SELF)
			op_map(&inf->subs[i], old);
		op_map(&inf->subs[i], cur);
	}
}

static const struct k8s_handlers op_handlers = {
	.add = op_on_add,
	.update = op_on_update,
	.del = op_on_add, /* the key is reconciled; its object is gone from the cache */
};

/* ------------------------------------------------------------ conditions */

/* a condition reason for an errno when the error carries none */
static const char *op_errno_reason(int ret)
{
	switch (ret) {
	case -ENOENT:
		return "NotFound";
	case -EPERM:
		return "Forbidden";
	case -EACCES:
		return "Unauthorized";
	case -EINVAL:
		return "Invalid";
	case -EEXIST:
		return "AlreadyExists";
	case -EAGAIN:
		return "Conflict";
	case -EBUSY:
		return "FieldOwnedByAnother";
	case -ETIMEDOUT:
		return "Timeout";
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
		return "Unreachable";
	case -ENOMEM:
		return "OutOfMemory";
	default:
		return "ReconcileError";
	}
}

struct op_cond {
	struct k8s_condition c;
	bool changed; /* the last attempt changed the object read */
};

static int op_cond_mutate(void *arg, struct k8s_obj *obj)
{
	struct op_cond *oc = arg;
	int ret = k8s_condition_set(obj, &oc->c, k8s_now_ns());

	oc->changed = !ret;
	return ret;
}

/*
 * Write the outcome of one reconcile into the primary's status.conditions,
 * when it differs from what the cached copy holds: read, set, write /status
 * with the resourceVersion read (again on a conflict).
 */
static void op_write_condition(struct op_rec *rec, const struct k8s_reconcile_req *req, int ret,
			       const struct k8s_reconcile_res *res, const struct k8s_err *rerr)
{
	const struct k8s_reconciler *r = rec->r;
	struct k8s_call call = {.subresource = "status"};
	struct op_cond oc = {.c = {.type = r->condition}};
	struct k8s_condition *c = &oc.c;
	struct k8s_obj *probe;
	struct k8s_err err;
	char msg[sizeof(rerr->msg)];
	int wret;

	k8s_obj_int(req->obj, "/metadata/generation", &c->observed_generation);
	if (!ret) {
		c->status = res->failed ? "False" : "True";
		c->reason = res->reason ? res->reason : "Reconciled";
		c->message = res->message ? res->message : "";
	} else {
		c->status = "False";
		c->reason = k8s_condition_reason_valid(rerr->reason) ? rerr->reason
								     : op_errno_reason(ret);
		snprintf(msg, sizeof(msg), "%s", rerr->msg[0] ? rerr->msg : strerror(-ret));
		c->message = msg;
	}
	if (!k8s_condition_reason_valid(c->reason))
		c->reason = ret ? "ReconcileError" : "Reconciled";
	/* the cached copy says whether anything is to be written at all */
	probe = k8s_obj_dup(req->obj);
	wret = probe ? k8s_condition_set(probe, c, k8s_now_ns()) : -ENOMEM;
	k8s_obj_free(probe);
	if (wret == K8S_UNCHANGED)
		return;
	/* the cache may lag: what was just read decides, and a conflict reads again */
	wret = k8s_update_retry(req->client, r->watches[0].resource, req->ns, req->name, &call,
				op_cond_mutate, &oc, NULL, &err);
	pthread_mutex_lock(&rec->lock);
	if (wret && wret != -ENOENT)
		rec->cond_errors++;
	else if (!wret && oc.changed)
		rec->cond_writes++;
	pthread_mutex_unlock(&rec->lock);
	if (wret && wret != -ENOENT && wret != -ENOLCK && wret != -ECANCELED)
		ctl_log(CTL_LOG_WARN, "reconciler %s: %s: condition %s: %s", r->name, req->key,
			r->condition, err.msg);
}

/* ------------------------------------------------------------ workers */

static void op_observe(struct op_rec *rec, int ret, bool requeue, double seconds)
{
	size_t b;

	pthread_mutex_lock(&rec->lock);
	if (ret)
		rec->errors++;
	else if (requeue)
		rec->requeues++;
	else
		rec->success++;
	if (ret && ret != -ENOLCK && ret != -ECANCELED)
		rec->retries++;
	for (b = 0; b < OP_NBUCKETS && seconds > op_buckets[b]; b++)
		;
	if (b < OP_NBUCKETS)
		rec->hist[b]++;
	rec->count++;
	rec->sum += seconds;
	rec->active--;
	pthread_mutex_unlock(&rec->lock);
}

/* one key: copy, reconcile, requeue or forget, condition */
static void op_reconcile_one(struct op_rec *rec, const char *key)
{
	const struct k8s_reconciler *r = rec->r;
	struct k8s_reconcile_res res = {0};
	struct k8s_reconcile_req req = {0};
	char ns[K8S_KEY_SIZE] = "";
	const char *slash = strchr(key, '/');
	struct k8s_err err = {0};
	double t0;
	int ret;

	if (slash && (size_t)(slash - key) < sizeof(ns))
		snprintf(ns, sizeof(ns), "%.*s", (int)(slash - key), key);
	req.key = key;
	req.ns = ns;
	req.name = slash ? slash + 1 : key;
	req.obj = k8s_informer_get(rec->caches[0], key);
	req.client = rec->m->client;
	req.caches = rec->caches;
	req.own_ns = rec->m->own_ns;
	req.identity = rec->m->identity;
	req.field_manager = rec->field_manager;
	req.state = rec->state;
	req.failures = k8s_wq_requeues(rec->wq, key);
	pthread_mutex_lock(&rec->lock);
	rec->active++;
	pthread_mutex_unlock(&rec->lock);
	t0 = op_now();
	ret = r->reconcile(&req, &res, &err);
	op_observe(rec, ret, !ret && res.requeue_after_ms, op_now() - t0);
	if (!ret) {
		k8s_wq_forget(rec->wq, key);
		if (res.requeue_after_ms)
			k8s_wq_add_after(rec->wq, key, res.requeue_after_ms);
		else if (r->resync_ms && req.obj)
			k8s_wq_add_after(rec->wq, key, r->resync_ms);
	} else if (ret != -ENOLCK && ret != -ECANCELED) {
		/* the first failure of a key is logged, repeats only with -vv */
		ctl_log(req.failures ? CTL_LOG_DEBUG : CTL_LOG_WARN, "reconciler %s: %s: %s",
			r->name, key, err.msg[0] ? err.msg : strerror(-ret));
		k8s_wq_add_rate_limited(rec->wq, key);
	}
	if (req.obj && r->condition && ret != -ENOLCK && ret != -ECANCELED)
		op_write_condition(rec, &req, ret, &res, &err);
	k8s_obj_free(req.obj);
}

static void *op_worker(void *arg)
{
	struct op_rec *rec = arg;
	const char *key;

	for (;;) {
		int ret = k8s_wq_get(rec->wq, &key, -1);

		if (ret == -ESHUTDOWN)
			break;
		if (ret)
			continue;
		op_reconcile_one(rec, key);
		k8s_wq_done(rec->wq, key);
	}
	return NULL;
}

/* ------------------------------------------------------------ start, stop */

static int op_check(const struct k8s_reconciler *r, struct k8s_err *err)
{
	const char *why = NULL;

	if (!r->name || !*r->name ||
	    strspn(r->name, "abcdefghijklmnopqrstuvwxyz0123456789-") != strlen(r->name))
		why = "its name must be lower case letters, digits and '-'";
	else if (!r->reconcile)
		why = "it has no reconcile function";
	else if (!r->watches || !r->nwatches || !r->watches[0].resource)
		why = "it watches nothing";
	else if (r->watches[0].map != K8S_MAP_SELF)
		why = "its primary (watches[0]) must map to itself";
	else if (r->condition && !*r->condition)
		why = "its condition type is empty";
	for (size_t i = 0; !why && i < r->nwatches; i++) {
		if (!r->watches[i].resource)
			why = "a watch has no resource";
		else if (r->watches[i].map == K8S_MAP_FN && !r->watches[i].map_fn)
			why = "a watch maps with a function it does not give";
	}
	if (!why)
		return 0;
	err->code = -EINVAL;
	err->exit = K8S_EXIT_USAGE;
	snprintf(err->reason, sizeof(err->reason), "BadReconciler");
	snprintf(err->msg, sizeof(err->msg), "reconciler '%s': %s", r->name ? r->name : "", why);
	return -EINVAL;
}

/* the informer a watch uses, shared with any that agrees on everything */
static struct op_inf *op_inf_for(struct op_manager *m, const struct k8s_watch *w)
{
	for (size_t i = 0; i < m->ninfs; i++) {
		struct op_inf *f = &m->infs[i];

		if (op_same_resource(f->res, w->resource) && f->own_ns == w->own_ns &&
		    op_str_eq(f->lsel, w->label_selector) && op_str_eq(f->fsel, w->field_selector))
			return f;
	}
	m->infs[m->ninfs] = (struct op_inf){.m = m,
					    .res = w->resource,
					    .own_ns = w->own_ns,
					    .lsel = w->label_selector,
					    .fsel = w->field_selector};
	return &m->infs[m->ninfs++];
}

int op_manager_start(const struct op_manager_opts *o, struct op_manager **out, struct k8s_err *err)
{
	size_t nwatches = 0, n = 0;
	struct op_manager *m;
	int ret = 0;

	memset(err, 0, sizeof(*err));
	*out = NULL;
	if (!o || !o->client || !o->reconcilers)
		return -EINVAL;
	while (o->reconcilers[n])
		n++;
	for (size_t i = 0; i < n; i++) {
		ret = op_check(o->reconcilers[i], err);
		if (ret)
			return ret;
		for (size_t j = 0; j < i; j++)
			if (!strcmp(o->reconcilers[i]->name, o->reconcilers[j]->name)) {
				err->code = -EINVAL;
				err->exit = K8S_EXIT_USAGE;
				snprintf(err->msg, sizeof(err->msg),
					 "reconciler '%s' is registered twice",
					 o->reconcilers[i]->name);
				return -EINVAL;
			}
		nwatches += o->reconcilers[i]->nwatches;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->client = o->client;
	m->own_ns = strdup(o->own_ns ? o->own_ns : "default");
	m->identity = strdup(o->identity ? o->identity : "ferry");
	m->recs = calloc(n ? n : 1, sizeof(*m->recs));
	m->infs = calloc(nwatches ? nwatches : 1, sizeof(*m->infs));
	if (!m->own_ns || !m->identity || !m->recs || !m->infs) {
		ret = -ENOMEM;
		goto out_stop;
	}
	/* the reconcilers: queues, state, their subscriptions */
	for (size_t i = 0; i < n; i++) {
		struct op_rec *rec = &m->recs[i];
		const struct k8s_reconciler *r = o->reconcilers[i];

		rec->m = m;
		rec->r = r;
		pthread_mutex_init(&rec->lock, NULL);
		m->nrecs++;
		snprintf(rec->field_manager, sizeof(rec->field_manager), "ferry-%s", r->name);
		rec->workers = r->workers ? r->workers : 1;
		rec->caches = calloc(r->nwatches, sizeof(*rec->caches));
		rec->threads = calloc(rec->workers, sizeof(*rec->threads));
		ret = rec->caches && rec->threads ? k8s_wq_new(NULL, &rec->wq) : -ENOMEM;
		if (ret)
			goto out_stop;
		if (r->setup) {
			ret = r->setup(m->client, m->own_ns, &rec->state, err);
			if (ret) {
				char why[sizeof(err->msg)];

				snprintf(why, sizeof(why), "%s", err->msg);
				snprintf(err->msg, sizeof(err->msg), "reconciler %s: setup: %.200s",
					 r->name, why[0] ? why : strerror(-ret));
				goto out_stop;
			}
			rec->set_up = true;
		}
		for (size_t w = 0; w < r->nwatches; w++) {
			struct op_inf *f = op_inf_for(m, &r->watches[w]);
			struct op_sub *subs = realloc(f->subs, (f->nsubs + 1) * sizeof(*subs));

			if (!subs) {
				ret = -ENOMEM;
				goto out_stop;
			}
			f->subs = subs;
			f->subs[f->nsubs++] = (struct op_sub){.rec = rec, .w = &r->watches[w]};
		}
	}
	/* the informers (their handlers only queue keys) */
	for (size_t i = 0; i < m->ninfs; i++) {
		struct op_inf *f = &m->infs[i];
		struct k8s_informer_opts io = {.sz = sizeof(io),
					       .ns = f->own_ns ? m->own_ns : "",
					       .label_selector = f->lsel,
					       .field_selector = f->fsel,
					       .handlers = &op_handlers,
					       .arg = f};

		ret = k8s_informer_new(m->client, f->res, &io, &f->inf, err);
		if (ret)
			goto out_stop;
		for (size_t s = 0; s < f->nsubs; s++)
			f->subs[s].rec->caches[f->subs[s].w - f->subs[s].rec->r->watches] = f->inf;
	}
	/* the workers */
	for (size_t i = 0; i < m->nrecs; i++) {
		struct op_rec *rec = &m->recs[i];

		for (; rec->nthreads < rec->workers; rec->nthreads++) {
			ret = -pthread_create(&rec->threads[rec->nthreads], NULL, op_worker, rec);
			if (ret)
				goto out_stop;
		}
	}
	*out = m;
	return 0;
out_stop:
	if (!err->code) {
		err->code = ret;
		snprintf(err->msg, sizeof(err->msg), "controller runtime: %s", strerror(-ret));
	}
	op_manager_stop(m);
	return ret;
}

void op_manager_report(struct op_manager *m)
{
	for (size_t i = 0; m && i < m->ninfs; i++) {
		struct op_inf *f = &m->infs[i];
		struct k8s_informer_stats st;

		if (!f->inf)
			continue;
		k8s_informer_stats(f->inf, &st);
		if (st.failures <= f->failures_seen)
			continue;
		f->failures_seen = st.failures;
		if (!strcmp(st.last_err.msg, f->said))
			continue;
		snprintf(f->said, sizeof(f->said), "%s", st.last_err.msg);
		ctl_log(CTL_LOG_WARN, "informer of %s: %s (retrying)", f->res->resource,
			st.last_err.msg[0] ? st.last_err.msg : strerror(-st.last_err.code));
	}
}

bool op_manager_synced(struct op_manager *m)
{
	for (size_t i = 0; m && i < m->ninfs; i++)
		if (k8s_informer_wait_synced(m->infs[i].inf, 0))
			return false;
	return m != NULL;
}

int op_manager_wait_synced(struct op_manager *m, unsigned int timeout_ms, struct k8s_err *err)
{
	double end = op_now() + timeout_ms / 1000.0;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < m->ninfs; i++) {
		double left = end - op_now();
		struct k8s_informer_stats st;

		if (!k8s_informer_wait_synced(m->infs[i].inf,
					      left > 0 ? (unsigned int)(left * 1000) : 0))
			continue;
		k8s_informer_stats(m->infs[i].inf, &st);
		err->code = -ETIMEDOUT;
		err->exit = st.last_err.exit ? st.last_err.exit : K8S_EXIT_NETWORK;
		snprintf(err->reason, sizeof(err->reason), "%s", st.last_err.reason);
		snprintf(err->msg, sizeof(err->msg),
			 "informer of %s not synced within %u ms: %.160s", m->infs[i].res->resource,
			 timeout_ms, st.last_err.msg[0] ? st.last_err.msg : "no answer yet");
		return -ETIMEDOUT;
	}
	return 0;
}

int op_manager_counts(struct op_manager *m, const char *name, struct op_counts *out)
{
	memset(out, 0, sizeof(*out));
	for (size_t i = 0; m && i < m->nrecs; i++) {
		struct op_rec *rec = &m->recs[i];

		if (strcmp(rec->r->name, name))
			continue;
		pthread_mutex_lock(&rec->lock);
		out->success = rec->success + rec->requeues;
		out->errors = rec->errors;
		out->adds = rec->adds;
		out->retries = rec->retries;
		out->condition_writes = rec->cond_writes;
		out->condition_errors = rec->cond_errors;
		pthread_mutex_unlock(&rec->lock);
		out->depth = k8s_wq_len(rec->wq);
		return 0;
	}
	return -ENOENT;
}

void op_manager_stop(struct op_manager *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nrecs; i++)
		if (m->recs[i].wq)
			k8s_wq_shutdown(m->recs[i].wq);
	for (size_t i = 0; i < m->nrecs; i++)
		for (unsigned int t = 0; t < m->recs[i].nthreads; t++)
			pthread_join(m->recs[i].threads[t], NULL);
	/* no worker reads a cache any more: the informers can go */
	for (size_t i = 0; i < m->ninfs; i++) {
		k8s_informer_free(m->infs[i].inf);
		free(m->infs[i].subs);
	}
	for (size_t i = 0; i < m->nrecs; i++) {
		struct op_rec *rec = &m->recs[i];

		if (rec->set_up && rec->r->teardown)
			rec->r->teardown(rec->state);
		k8s_wq_free(rec->wq);
		free(rec->caches);
		free(rec->threads);
		pthread_mutex_destroy(&rec->lock);
	}
	free(m->recs);
	free(m->infs);
	free(m->own_ns);
	free(m->identity);
	free(m);
}

/* ------------------------------------------------------------ metrics */

static void op_rec_label(FILE *f, const struct op_rec *rec)
{
	fputs("{reconciler=\"", f);
	op_prom_label(f, rec->r->name);
	fputc('"', f);
}

/* an informer's labels: what it lists, where, filtered how */
static void op_inf_labels(FILE *f, const struct op_inf *inf)
{
	fputs("{group=\"", f);
	op_prom_label(f, inf->res->group ? inf->res->group : "");
	fputs("\",resource=\"", f);
	op_prom_label(f, inf->res->resource);
	fprintf(f, "\",scope=\"%s\",label_selector=\"", inf->own_ns ? "own" : "all");
	op_prom_label(f, inf->lsel ? inf->lsel : "");
	fputs("\",field_selector=\"", f);
	op_prom_label(f, inf->fsel ? inf->fsel : "");
	fputs("\"}", f);
}

void op_manager_metrics(struct op_manager *m, FILE *f)
{
	size_t n = m ? m->nrecs : 0, ni = m ? m->ninfs : 0;
	struct {
		unsigned long long success, errors, requeues, adds, retries, cw, ce, count;
		unsigned long long hist[OP_NBUCKETS];
		double sum;
		unsigned int active;
		size_t depth;
	} *snap = calloc(n ? n : 1, sizeof(*snap));

	if (!snap)
		return;
	for (size_t i = 0; i < n; i++) {
		struct op_rec *rec = &m->recs[i];

		pthread_mutex_lock(&rec->lock);
		snap[i].success = rec->success;
		snap[i].errors = rec->errors;
		snap[i].requeues = rec->requeues;
		snap[i].adds = rec->adds;
		snap[i].retries = rec->retries;
		snap[i].cw = rec->cond_writes;
		snap[i].ce = rec->cond_errors;
		snap[i].count = rec->count;
		snap[i].sum = rec->sum;
		snap[i].active = rec->active;
		memcpy(snap[i].hist, rec->hist, sizeof(rec->hist));
		pthread_mutex_unlock(&rec->lock);
		snap[i].depth = k8s_wq_len(rec->wq);
	}

	op_prom_head(
		f, "ferry_controller_reconcile_total", "counter",
		"Reconciles by outcome: success, error, requeue_after (a success that asked to run again later).");
	for (size_t i = 0; i < n; i++) {
		static const char *const res[] = {"success", "error", "requeue_after"};
		unsigned long long v[] = {snap[i].success, snap[i].errors, snap[i].requeues};

		for (size_t k = 0; k < 3; k++) {
			fputs("ferry_controller_reconcile_total", f);
			op_rec_label(f, &m->recs[i]);
			fprintf(f, ",result=\"%s\"} %llu\n", res[k], v[k]);
		}
	}
	op_prom_head(f, "ferry_controller_reconcile_errors_total", "counter",
		     "Reconciles that returned an error.");
	for (size_t i = 0; i < n; i++) {
		fputs("ferry_controller_reconcile_errors_total", f);
		op_rec_label(f, &m->recs[i]);
		fprintf(f, "} %llu\n", snap[i].errors);
	}
	op_prom_head(f, "ferry_controller_reconcile_time_seconds", "histogram",
		     "Time one reconcile took, its condition write not included.");
	for (size_t i = 0; i < n; i++) {
		unsigned long long cum = 0;

		for (size_t b = 0; b < OP_NBUCKETS; b++) {
			cum += snap[i].hist[b];
			fputs("ferry_controller_reconcile_time_seconds_bucket", f);
			op_rec_label(f, &m->recs[i]);
			fprintf(f, ",le=\"%g\"} %llu\n", op_buckets[b], cum);
		}
		fputs("ferry_controller_reconcile_time_seconds_bucket", f);
		op_rec_label(f, &m->recs[i]);
		fprintf(f, ",le=\"+Inf\"} %llu\n", snap[i].count);
		fputs("ferry_controller_reconcile_time_seconds_sum", f);
		op_rec_label(f, &m->recs[i]);
		fprintf(f, "} %.6f\n", snap[i].sum);
		fputs("ferry_controller_reconcile_time_seconds_count", f);
		op_rec_label(f, &m->recs[i]);
		fprintf(f, "} %llu\n", snap[i].count);
	}
#define OP_GAUGE(name, type, help, expr)                                                           \
	do {                                                                                       \
		op_prom_head(f, name, type, help);                                                 \
		for (size_t i = 0; i < n; i++) {                                                   \
			fputs(name, f);                                                            \
			op_rec_label(f, &m->recs[i]);                                              \
			fprintf(f, "} %llu\n", (unsigned long long)(expr));                        \
		}                                                                                  \
	} while (0)
	OP_GAUGE("ferry_controller_active_workers", "gauge", "Workers in a reconcile now.",
		 snap[i].active);
	OP_GAUGE("ferry_controller_max_concurrent_reconciles", "gauge",
		 "Workers of the reconciler.", m->recs[i].workers);
	OP_GAUGE("ferry_controller_workqueue_depth", "gauge", "Keys waiting in the work queue.",
		 snap[i].depth);
	OP_GAUGE("ferry_controller_workqueue_adds_total", "counter",
		 "Keys added to the work queue by events of the watched resources.", snap[i].adds);
	OP_GAUGE("ferry_controller_workqueue_retries_total", "counter",
		 "Keys queued again after an error, with their backoff.", snap[i].retries);
	OP_GAUGE("ferry_controller_condition_writes_total", "counter",
		 "Writes of the reconciler's condition into status.conditions.", snap[i].cw);
	OP_GAUGE("ferry_controller_condition_write_errors_total", "counter",
		 "Condition writes that failed.", snap[i].ce);
#undef OP_GAUGE
	op_prom_head(f, "ferry_controller_informer_objects", "gauge",
		     "Objects in an informer's cache.");
	for (size_t i = 0; i < ni; i++) {
		fputs("ferry_controller_informer_objects", f);
		op_inf_labels(f, &m->infs[i]);
		fprintf(f, " %zu\n", k8s_informer_len(m->infs[i].inf));
	}
	op_prom_head(f, "ferry_controller_informer_failures_total", "counter",
		     "Lists and watches of an informer that failed.");
	for (size_t i = 0; i < ni; i++) {
		struct k8s_informer_stats st;

		k8s_informer_stats(m->infs[i].inf, &st);
		fputs("ferry_controller_informer_failures_total", f);
		op_inf_labels(f, &m->infs[i]);
		fprintf(f, " %llu\n", (unsigned long long)st.failures);
	}
	free(snap);
}
