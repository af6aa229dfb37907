// SPDX-License-Identifier: MIT
/*
 * k8s/informer.c - list, then watch, and a local cache: client-go's
 * reflector and indexer, as a state machine on the client's I/O thread.
 *
 *   LIST (pages) --all pages--> replace the cache, handlers, synced
 *     |                              |
 *     +-- fails: back off, LIST      v
 *                          WATCH from the last resourceVersion
 *                              | ends cleanly: WATCH again at once
 *                              | fails: back off, WATCH again
 *                              | 410 (request or ERROR event): LIST
 *
 * The first LIST asks for resourceVersion "0" (the server's cache, as
 * client-go's first list does); a LIST after a 410 asks for a consistent
 * read. Backoff: 0.8 s doubling to 30 s with full jitter on top (client-go's
 * reflector), reset by a watch that delivered events or lasted a minute. A
 * watch that ends cleanly at once without any event counts as failed, so a
 * server that always closes cannot make it spin.
 *
 * Threads: the state machine and the handlers run on the loop thread; the
 * cache is read by any thread under a read lock; start and stop reach the
 * loop thread with kloop_call().
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_int.h"

#define BACKOFF_MIN_MS	   800
#define BACKOFF_MAX_MS	   30000
#define WATCH_MIN_S	   300 /* client-go: timeoutSeconds in [5, 10] min */
#define WATCH_SPAN_S	   300
#define WATCH_GRACE_S	   30 /* the client's own deadline past timeoutSeconds */
#define WATCH_HEALTHY_MS   60000
#define WATCH_TOO_SHORT_MS 1000

/* ------------------------------------------------------------ the cache */

struct entry {
	char *key;
	cJSON *obj;
	struct entry *next;
};

struct map {
	struct entry **b;
	size_t nb, n;
};

static uint64_t fnv(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int map_init(struct map *m, size_t hint)
{
	size_t nb = 64;

	while (nb < hint)
		nb *= 2;
	m->b = calloc(nb, sizeof(*m->b));
	m->nb = nb;
	m->n = 0;
	return m->b ? 0 : -ENOMEM;
}

static void map_fini(struct map *m, bool free_objs)
{
	for (size_t i = 0; i < m->nb; i++)
		for (struct entry *e = m->b[i], *n; e; e = n) {
			n = e->next;
			if (free_objs)
				cJSON_Delete(e->obj);
			free(e->key);
			free(e);
		}
	free(m->b);
	memset(m, 0, sizeof(*m));
}

static struct entry *map_find(const struct map *m, const char *key)
{
	if (!m->nb)
		return NULL;
	for (struct entry *e = m->b[fnv(key) & (m->nb - 1)]; e; e = e->next)
		if (!strcmp(e->key, key))
			return e;
	return NULL;
}

static void map_grow(struct map *m)
{
	size_t nb = m->nb * 2;
	struct entry **b = calloc(nb, sizeof(*b));

	if (!b)
		return; /* longer chains, still correct */
	for (size_t i = 0; i < m->nb; i++)
		for (struct entry *e = m->b[i], *n; e; e = n) {
			size_t k = fnv(e->key) & (nb - 1);

			n = e->next;
			e->next = b[k];
			b[k] = e;
		}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

/* put @obj under @key; the object it replaces is returned (the caller's) */
static int map_put(struct map *m, const char *key, cJSON *obj, cJSON **old)
{
	struct entry *e = map_find(m, key);
	size_t k;

	*old = NULL;
	if (e) {
		*old = e->obj;
		e->obj = obj;
		return 0;
	}
	e = calloc(1, sizeof(*e));
	if (!e || !(e->key = strdup(key))) {
		free(e);
		return -ENOMEM;
	}
	e->obj = obj;
	k = fnv(key) & (m->nb - 1);
	e->next = m->b[k];
	m->b[k] = e;
	if (++m->n > m->nb)
		map_grow(m);
	return 0;
}

/* remove @key; its object is returned (the caller's), NULL if absent */
static cJSON *map_del(struct map *m, const char *key)
{
	struct entry **pp;

	if (!m->nb)
		return NULL;
	for (pp = &m->b[fnv(key) & (m->nb - 1)]; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, key)) {
			struct entry *e = *pp;
			cJSON *o = e->obj;

			*pp = e->next;
			free(e->key);
			free(e);
			m->n--;
			return o;
		}
	return NULL;
}

/* ------------------------------------------------------------ the informer */

enum phase { PH_IDLE, PH_LIST, PH_WATCH, PH_STOPPED };

struct k8s_informer {
	struct k8s_client *c;
	const struct k8s_resource *r;
	char *ns, *lsel, *fsel;
	unsigned int page_size;
	struct k8s_handlers h;
	void *arg;
	bool keep_managed;

	pthread_rwlock_t cache_lock;
	struct map cache;

	/* the loop thread's */
	enum phase phase;
	struct kreq req;  /* the one request in flight: a list page or the watch */
	struct kreq call; /* carries kloop_call()s */
	bool stopping, consistent;
	cJSON **items; /* the list being read */
	size_t nitems, capitems;
	char *cont, *list_rv;
	char rv[64];
	struct kwatch_dec dec;
	uint64_t watch_started_ms, watch_events;
	unsigned int backoff_ms;
	bool expired;

	/* under lock */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool synced, stopped;
	struct k8s_informer_stats st;
};

static void start_list(struct k8s_informer *inf, uint64_t not_before);
static void start_watch(struct k8s_informer *inf, uint64_t not_before);

static void set_failure(struct k8s_informer *inf, const struct k8s_err *e)
{
	pthread_mutex_lock(&inf->lock);
	inf->st.failures++;
	inf->st.last_err = *e;
	pthread_mutex_unlock(&inf->lock);
}

/* The next wait after a failed list or watch: b + jitter(b), b doubling to 30 s. */
static uint64_t next_backoff(struct k8s_informer *inf)
{
	unsigned int b = inf->backoff_ms ? inf->backoff_ms : BACKOFF_MIN_MS;

	inf->backoff_ms = b * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : b * 2;
	/* full jitter on top, as wait.Jitter(b, 1.0) */
	return kmono_ms() + b + krand() % (b + 1);
}

static void set_rv(struct k8s_informer *inf, const char *rv)
{
	if (!rv || !*rv)
		return;
	snprintf(inf->rv, sizeof(inf->rv), "%s", rv);
	pthread_mutex_lock(&inf->lock);
	snprintf(inf->st.rv, sizeof(inf->st.rv), "%s", rv);
	pthread_mutex_unlock(&inf->lock);
}

/* what the cache keeps of an object: managedFields dropped unless asked for */
static void trim(const struct k8s_informer *inf, cJSON *o)
{
	if (!inf->keep_managed)
		cJSON_DeleteItemFromObjectCaseSensitive(
			cJSON_GetObjectItemCaseSensitive(o, "metadata"), "managedFields");
}

static const char *obj_rv(const cJSON *o)
{
	return kjson_str(cJSON_GetObjectItemCaseSensitive(o, "metadata"), "resourceVersion");
}

static void free_items(struct k8s_informer *inf)
{
	for (size_t i = 0; i < inf->nitems; i++)
		cJSON_Delete(inf->items[i]);
	free(inf->items);
	inf->items = NULL;
	inf->nitems = inf->capitems = 0;
	free(inf->cont);
	inf->cont = NULL;
	free(inf->list_rv);
	inf->list_rv = NULL;
}

/* ------------------------------------------------------------ list */

/* the list is complete: it becomes the cache; handlers see the difference */
static void replace_cache(struct k8s_informer *inf)
{
	struct map fresh, old;
	char key[K8S_KEY_SIZE];

	if (map_init(&fresh, inf->nitems)) {
		struct k8s_err e;

		kerr_set(&e, -ENOMEM, -1, "", "list %s: out of memory for the cache",
			 inf->r->resource);
		set_failure(inf, &e);
		free_items(inf);
		start_list(inf, next_backoff(inf));
		return;
	}
	for (size_t i = 0; i < inf->nitems; i++) {
		cJSON *prev;

		if (k8s_obj_key_of(O(inf->items[i]), key) ||
		    map_put(&fresh, key, inf->items[i], &prev)) {
			cJSON_Delete(inf->items[i]);
			inf->items[i] = NULL;
			continue;
		}
		if (prev) {
			/* a name listed twice: the later one stands */
			for (size_t k = 0; k < i; k++)
				if (inf->items[k] == prev)
					inf->items[k] = NULL;
			cJSON_Delete(prev);
		}
	}
	pthread_rwlock_wrlock(&inf->cache_lock);
	old = inf->cache;
	inf->cache = fresh;
	pthread_rwlock_unlock(&inf->cache_lock);

	/* handlers: adds and updates in list order, then deletes of what is gone */
	for (size_t i = 0; i < inf->nitems; i++) {
		const struct entry *o;

		if (!inf->items[i] || k8s_obj_key_of(O(inf->items[i]), key))
			continue;
		o = map_find(&old, key);
		if (!o) {
			if (inf->h.add)
				inf->h.add(inf->arg, O(inf->items[i]));
		} else {
			const char *a = obj_rv(o->obj), *b = obj_rv(inf->items[i]);

			if (inf->h.update && (!a || !b || strcmp(a, b)))
				inf->h.update(inf->arg, O(o->obj), O(inf->items[i]));
		}
	}
	/* the cache owns the objects now */
	if (inf->nitems)
		memset(inf->items, 0, inf->nitems * sizeof(*inf->items));
	inf->nitems = 0;
	for (size_t i = 0; i < old.nb; i++)
		for (struct entry *e = old.b[i]; e; e = e->next)
			if (!map_find(&fresh, e->key) && inf->h.del)
				inf->h.del(inf->arg, O(e->obj));
	map_fini(&old, true);

	set_rv(inf, inf->list_rv);
	free_items(inf);
	pthread_mutex_lock(&inf->lock);
	inf->st.lists++;
	inf->synced = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
	inf->consistent = false;
	start_watch(inf, 0);
}

/*
 * A page of the list came (or failed): items collect until the last page,
 * then the list replaces the cache. A 410 on a page means the continue
 * token or the resourceVersion is gone: list again at once, consistently,
 * once; any other failure waits out the backoff.
 */
static void list_done(struct kreq *q)
{
	struct k8s_informer *inf = q->arg;
	cJSON *page, *items, *it;
	const char *next;

	free(q->url);
	q->url = NULL;
	if (inf->stopping || q->err == -ECANCELED) {
		/* stopped, or the client is closing: nothing more */
		kreq_fini(q);
		free_items(inf);
		return;
	}
	if (q->err) {
		set_failure(inf, &q->e);
		kreq_fini(q);
		free_items(inf);
		if (q->err == -ESTALE) {
			/* an expired continue token, or a resourceVersion too old: once
			 * more at once with a consistent read; after that, back off */
			bool again = !inf->consistent;

			pthread_mutex_lock(&inf->lock);
			inf->st.expired++;
			pthread_mutex_unlock(&inf->lock);
			inf->consistent = true;
			if (again) {
				start_list(inf, 0);
				return;
			}
		}
		start_list(inf, next_backoff(inf));
		return;
	}
	page = kjson_parse(q->resp, q->resp_len);
	kreq_fini(q);
	items = cJSON_GetObjectItemCaseSensitive(page, "items");
	if (!cJSON_IsObject(page) || (items && !cJSON_IsArray(items) && !cJSON_IsNull(items))) {
		struct k8s_err e;

		kerr_set(&e, -EIO, -1, "BadAnswer", "list %s: the answer is not a list",
			 inf->r->resource);
		set_failure(inf, &e);
		cJSON_Delete(page);
		free_items(inf);
		start_list(inf, next_backoff(inf));
		return;
	}
	if (!inf->list_rv) {
		const char *rv = kjson_str(cJSON_GetObjectItemCaseSensitive(page, "metadata"),
					   "resourceVersion");

		inf->list_rv = strdup(rv ? rv : "");
	}
	while (items && (it = items->child)) {
		char api[128];

		cJSON_DetachItemViaPointer(items, it);
		if (inf->nitems == inf->capitems) {
			size_t cap = inf->capitems ? inf->capitems * 2 : 256;
			cJSON **v = realloc(inf->items, cap * sizeof(*v));

			if (!v) {
				struct k8s_err e;

				/* a cache with holes would be wrong: list again later */
				cJSON_Delete(it);
				cJSON_Delete(page);
				kerr_set(&e, -ENOMEM, -1, "", "list %s: out of memory",
					 inf->r->resource);
				set_failure(inf, &e);
				free_items(inf);
				start_list(inf, next_backoff(inf));
				return;
			}
			inf->items = v;
			inf->capitems = cap;
		}
		/* list items carry no apiVersion and kind; watch events do */
		if (inf->r->group && inf->r->group[0])
			snprintf(api, sizeof(api), "%s/%s", inf->r->group, inf->r->version);
		else
			snprintf(api, sizeof(api), "%s", inf->r->version);
		if (!cJSON_GetObjectItemCaseSensitive(it, "apiVersion"))
			cJSON_AddStringToObject(it, "apiVersion", api);
		if (!cJSON_GetObjectItemCaseSensitive(it, "kind"))
			cJSON_AddStringToObject(it, "kind", inf->r->kind);
		trim(inf, it);
		inf->items[inf->nitems++] = it;
	}
	next = kjson_str(cJSON_GetObjectItemCaseSensitive(page, "metadata"), "continue");
	free(inf->cont);
	inf->cont = next && *next ? strdup(next) : NULL;
	cJSON_Delete(page);
	if (inf->cont) {
		start_list(inf, 0);
		return;
	}
	replace_cache(inf);
}

static void start_list(struct k8s_informer *inf, uint64_t not_before)
{
	struct k8s_call call = {.label_selector = inf->lsel, .field_selector = inf->fsel};
	struct kbuf ex = {0};
	struct kreq *q = &inf->req;

	inf->phase = PH_LIST;
	memset(q, 0, sizeof(*q));
	kc_describe(q, "list", inf->r, inf->ns, NULL, NULL);
	q->method = "GET";
	q->ctx = KCTX_READ;
	q->done = list_done;
	q->arg = inf;
	q->not_before_ms = not_before;
	kbuf_printf(&ex, "limit=%u", inf->page_size);
	if (inf->cont) {
		kbuf_puts(&ex, "&continue=");
		kbuf_escape(&ex, inf->cont);
	} else if (!inf->consistent) {
		call.resource_version = "0";
	}
	q->url = kbuf_str(&ex) ? kc_url(inf->c, inf->r, inf->ns, NULL, NULL, &call, kbuf_str(&ex))
			       : NULL;
	kbuf_free(&ex);
	if (!q->url) {
		/* no memory for a URL: try again later rather than stop for good */
		q->not_before_ms = next_backoff(inf);
		q->url = kc_url(inf->c, inf->r, inf->ns, NULL, NULL, &call, NULL);
		if (!q->url)
			return;
	}
	kloop_submit(inf->c->loop, q);
}

/* ------------------------------------------------------------ watch */

/*
 * One event of the watch, on the loop thread: the cache changes first, then
 * the handler sees it. A non-zero return ends the stream: -ESTALE for a
 * 410 ERROR event (list again), -EBADMSG for anything else that is not an
 * event (watch again after the backoff).
 */
static int on_event(void *arg, enum kwatch_type type, cJSON *obj)
{
	struct k8s_informer *inf = arg;
	char key[K8S_KEY_SIZE];
	cJSON *old = NULL;

	if (type == KW_ERROR) {
		struct k8s_err e;
		int64_t code = 0;

		/* any number, 1e100 too: only a whole one in range is a code */
		if (k8s_obj_int(O(obj), "/code", &code))
			code = 0;
		if (code == 410) {
			/* Status{code: 410, reason: Expired}: compacted away */
			cJSON_Delete(obj);
			return -ESTALE;
		}
		kerr_set(&e, -EIO, -1, obj ? "WatchError" : "BadEvent", "watch %s: %s%s",
			 inf->r->resource, obj ? "an ERROR event: " : "a line that is not an event",
			 obj && kjson_str(obj, "message") ? kjson_str(obj, "message") : "");
		set_failure(inf, &e);
		cJSON_Delete(obj);
		return -EBADMSG;
	}
	inf->watch_events++;
	if (type == KW_BOOKMARK) {
		set_rv(inf, obj_rv(obj));
		pthread_mutex_lock(&inf->lock);
		inf->st.bookmarks++;
		pthread_mutex_unlock(&inf->lock);
		cJSON_Delete(obj);
		return 0;
	}
	if (k8s_obj_key_of(O(obj), key)) {
		cJSON_Delete(obj);
		return 0;
	}
	set_rv(inf, obj_rv(obj));
	trim(inf, obj);
	pthread_mutex_lock(&inf->lock);
	inf->st.events++;
	pthread_mutex_unlock(&inf->lock);
	if (type == KW_DELETED) {
		pthread_rwlock_wrlock(&inf->cache_lock);
		old = map_del(&inf->cache, key);
		pthread_rwlock_unlock(&inf->cache_lock);
		if (inf->h.del)
			inf->h.del(inf->arg, O(obj));
		cJSON_Delete(old);
		cJSON_Delete(obj);
		return 0;
	}
	pthread_rwlock_wrlock(&inf->cache_lock);
	if (map_put(&inf->cache, key, obj, &old)) {
		pthread_rwlock_unlock(&inf->cache_lock);
		cJSON_Delete(obj);
		return -ENOMEM;
	}
	pthread_rwlock_unlock(&inf->cache_lock);
	if (old && inf->h.update)
		inf->h.update(inf->arg, O(old), O(obj));
	else if (!old && inf->h.add)
		inf->h.add(inf->arg, O(obj));
	cJSON_Delete(old);
	return 0;
}

static int on_data(struct kreq *q, const char *buf, size_t len)
{
	struct k8s_informer *inf = q->arg;

	return kwatch_dec_feed(&inf->dec, buf, len);
}

/*
 * The watch ended. 410: list again. A clean end (the server's timeout):
 * watch again at once from the last version, unless it ended at once
 * without a single event, which counts as a failure. Any failure: the
 * backoff, then watch from the last version (a cut connection, a server
 * restarting).
 */
static void watch_done(struct kreq *q)
{
	struct k8s_informer *inf = q->arg;
	uint64_t lasted = kmono_ms() - inf->watch_started_ms;
	int err = q->err;

	free(q->url);
	q->url = NULL;
	kreq_fini(q);
	/* a last line without its newline (a server cut short) still counts */
	if (!err && !inf->stopping)
		err = kwatch_dec_finish(&inf->dec);
	kwatch_dec_fini(&inf->dec);
	if (inf->stopping || err == -ECANCELED)
		return;
	if (err == -ESTALE) {
		pthread_mutex_lock(&inf->lock);
		inf->st.expired++;
		pthread_mutex_unlock(&inf->lock);
		pr_debug("k8s: watch %s: resourceVersion %s expired (410): listing again",
			 inf->r->resource, inf->rv);
		/* one relist, a consistent one: the cache's version is gone */
		inf->consistent = true;
		start_list(inf, 0);
		return;
	}
	if (inf->watch_events || lasted >= WATCH_HEALTHY_MS)
		inf->backoff_ms = 0;
	if (!err && (inf->watch_events || lasted >= WATCH_TOO_SHORT_MS)) {
		/* the server's timeoutSeconds, or a clean close: watch on at once */
		start_watch(inf, 0);
		return;
	}
	if (err && err != -EBADMSG)
		set_failure(inf, &q->e);
	else if (!err) {
		struct k8s_err e;

		kerr_set(&e, -ECONNRESET, K8S_EXIT_NETWORK, "WatchClosed",
			 "watch %s: %s closed the watch at once", inf->r->resource,
			 k8s_config_server(inf->c->cfg));
		set_failure(inf, &e);
	}
	start_watch(inf, next_backoff(inf));
}

static void start_watch(struct k8s_informer *inf, uint64_t not_before)
{
	struct k8s_call call = {.label_selector = inf->lsel,
				.field_selector = inf->fsel,
				.resource_version = inf->rv};
	unsigned int t = WATCH_MIN_S + (unsigned int)(krand() % (WATCH_SPAN_S + 1));
	struct kreq *q = &inf->req;
	char ex[96];

	inf->phase = PH_WATCH;
	memset(q, 0, sizeof(*q));
	kc_describe(q, "watch", inf->r, inf->ns, NULL, NULL);
	q->method = "GET";
	q->ctx = KCTX_WATCH;
	q->stream = true;
	q->on_data = on_data;
	q->done = watch_done;
	q->arg = inf;
	q->not_before_ms = not_before;
	q->timeout_ms = (t + WATCH_GRACE_S) * 1000;
	snprintf(ex, sizeof(ex), "watch=1&allowWatchBookmarks=true&timeoutSeconds=%u", t);
	q->url = kc_url(inf->c, inf->r, inf->ns, NULL, NULL, &call, ex);
	kwatch_dec_init(&inf->dec, on_event, inf);
	inf->watch_events = 0;
	inf->watch_started_ms = not_before ? not_before : kmono_ms();
	pthread_mutex_lock(&inf->lock);
	inf->st.watches++;
	pthread_mutex_unlock(&inf->lock);
	if (!q->url) {
		struct k8s_err e;

		kerr_set(&e, -ENOMEM, -1, "", "watch %s: out of memory", inf->r->resource);
		set_failure(inf, &e);
		return;
	}
	kloop_submit(inf->c->loop, q);
}

/* ------------------------------------------------------------ start, stop */

static void start_fn(struct kreq *q)
{
	struct k8s_informer *inf = q->arg;

	if (q->err == -ECANCELED || inf->stopping)
		return;
	start_list(inf, 0);
}

/*
 * On the loop thread: mark the informer stopping, end its request wherever
 * it is (running, queued or waiting), and tell k8s_informer_free(): from
 * here on no handler runs and nothing is resubmitted.
 */
static void stop_fn(struct kreq *q)
{
	struct k8s_informer *inf = q->arg;

	inf->stopping = true;
	/* on the loop thread: the request in flight (or waiting) ends here, its
	 * done() sees stopping; if the loop is gone, nothing is in flight */
	if (inf->phase != PH_IDLE && inf->c->loop && kloop_is_loop(inf->c->loop))
		kloop_abort(inf->c->loop, &inf->req);
	inf->phase = PH_STOPPED;
	pthread_mutex_lock(&inf->lock);
	inf->stopped = true;
	pthread_cond_broadcast(&inf->cond);
	pthread_mutex_unlock(&inf->lock);
}

int k8s_informer_new(struct k8s_client *c, const struct k8s_resource *r,
		     const struct k8s_informer_opts *opts, struct k8s_informer **out,
		     struct k8s_err *err)
{
	struct k8s_informer_opts o = {0};
	struct k8s_informer *inf;

	kerr_clear(err);
	*out = NULL;
	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!c || !r || !r->resource || !r->version)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "", "an informer needs a resource");
	inf = calloc(1, sizeof(*inf));
	if (!inf)
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	inf->c = c;
	inf->r = r;
	inf->page_size = o.page_size ? o.page_size : 500;
	inf->ns = r->namespaced && o.ns && *o.ns ? strdup(o.ns) : NULL;
	inf->lsel = o.label_selector ? strdup(o.label_selector) : NULL;
	inf->fsel = o.field_selector ? strdup(o.field_selector) : NULL;
	if (o.handlers)
		inf->h = *o.handlers;
	inf->arg = o.arg;
	inf->keep_managed = o.keep_managed_fields;
	if ((r->namespaced && o.ns && *o.ns && !inf->ns) || (o.label_selector && !inf->lsel) ||
	    (o.field_selector && !inf->fsel) || map_init(&inf->cache, 0)) {
		free(inf->ns);
		free(inf->lsel);
		free(inf->fsel);
		free(inf->cache.b);
		free(inf);
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	}
	pthread_rwlock_init(&inf->cache_lock, NULL);
	pthread_mutex_init(&inf->lock, NULL);
	pthread_cond_init(&inf->cond, NULL);
	inf->phase = PH_IDLE;
	kloop_call(c->loop, &inf->call, start_fn, inf);
	*out = inf;
	return 0;
}

void k8s_informer_free(struct k8s_informer *inf)
{
	if (!inf)
		return;
	kloop_call(inf->c->loop, &inf->call, stop_fn, inf);
	pthread_mutex_lock(&inf->lock);
	while (!inf->stopped)
		pthread_cond_wait(&inf->cond, &inf->lock);
	pthread_mutex_unlock(&inf->lock);
	free(inf->req.url);
	kreq_fini(&inf->req);
	kwatch_dec_fini(&inf->dec);
	free_items(inf);
	map_fini(&inf->cache, true);
	pthread_rwlock_destroy(&inf->cache_lock);
	pthread_cond_destroy(&inf->cond);
	pthread_mutex_destroy(&inf->lock);
	free(inf->ns);
	free(inf->lsel);
	free(inf->fsel);
	free(inf);
}

int k8s_informer_wait_synced(struct k8s_informer *inf, unsigned int timeout_ms)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += timeout_ms / 1000;
	ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&inf->lock);
	while (!inf->synced && !ret)
		ret = timeout_ms ? pthread_cond_timedwait(&inf->cond, &inf->lock, &ts) : ETIMEDOUT;
	ret = inf->synced ? 0 : -ETIMEDOUT;
	pthread_mutex_unlock(&inf->lock);
	return ret;
}

struct k8s_obj *k8s_informer_get(struct k8s_informer *inf, const char *key)
{
	struct entry *e;
	cJSON *copy = NULL;

	if (!key)
		return NULL;
	pthread_rwlock_rdlock(&inf->cache_lock);
	e = map_find(&inf->cache, key);
	if (e)
		copy = cJSON_Duplicate(e->obj, 1);
	pthread_rwlock_unlock(&inf->cache_lock);
	return O(copy);
}

int k8s_informer_each(struct k8s_informer *inf, const char *ns, const struct k8s_selector *sel,
		      k8s_each_fn fn, void *arg)
{
	int ret = 0;

	pthread_rwlock_rdlock(&inf->cache_lock);
	for (size_t i = 0; i < inf->cache.nb && !ret; i++)
		for (struct entry *e = inf->cache.b[i]; e && !ret; e = e->next) {
			const cJSON *md = cJSON_GetObjectItemCaseSensitive(e->obj, "metadata");

			if (ns && *ns &&
			    (!kjson_str(md, "namespace") || strcmp(kjson_str(md, "namespace"), ns)))
				continue;
			if (sel && !k8s_selector_match(
					   sel, O(cJSON_GetObjectItemCaseSensitive(md, "labels"))))
				continue;
			ret = fn(arg, O(e->obj));
		}
	pthread_rwlock_unlock(&inf->cache_lock);
	return ret;
}

size_t k8s_informer_len(struct k8s_informer *inf)
{
	size_t n;

	pthread_rwlock_rdlock(&inf->cache_lock);
	n = inf->cache.n;
	pthread_rwlock_unlock(&inf->cache_lock);
	return n;
}

void k8s_informer_stats(struct k8s_informer *inf, struct k8s_informer_stats *st)
{
	pthread_mutex_lock(&inf->lock);
	*st = inf->st;
	pthread_mutex_unlock(&inf->lock);
}
