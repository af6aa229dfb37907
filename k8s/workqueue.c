// SPDX-License-Identifier: MIT
/*
 * k8s/workqueue.c - client-go's rate-limited work queue
 * (k8s.io/client-go/util/workqueue): a FIFO of keys with its dirty and
 * processing sets, a delay heap, and the default controller rate limiter,
 * the larger of a per-key exponential backoff and an overall token bucket.
 *
 * Each key has one struct item, found by hashing; its states:
 *   dirty       it must be processed (again): queued, or held by a worker
 *               and to be queued again when that worker is done
 *   processing  a worker holds it (between k8s_wq_get() and k8s_wq_done())
 *   heap_idx    waiting in the delay heap for its due time
 *   failures    the per-key backoff counter (until k8s_wq_forget())
 * An item with none of these is freed. A key is queued only if dirty and
 * not processing, so two workers never hold the same key.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_int.h"

struct item {
	char *key;
	bool dirty, processing;
	size_t heap_idx; /* 0: not waiting; else 1 + its index in the heap */
	uint64_t due_ms;
	unsigned int failures;
	struct item *hnext; /* hash chain */
	struct item *qnext; /* FIFO */
};

struct k8s_wq {
	struct k8s_wq_opts o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item **b;
	size_t nb, n;
	struct item *qhead, *qtail;
	size_t qlen;
	struct item **heap;
	size_t nheap, capheap;
	double tokens;
	uint64_t last_ms;
	bool shutdown;
};

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct item *find(struct k8s_wq *wq, const char *key)
{
	for (struct item *it = wq->b[hash(key) & (wq->nb - 1)]; it; it = it->hnext)
		if (!strcmp(it->key, key))
			return it;
	return NULL;
}

static void rehash(struct k8s_wq *wq)
{
	size_t nb = wq->nb * 2;
	struct item **b = calloc(nb, sizeof(*b));

	if (!b)
		return;
	for (size_t i = 0; i < wq->nb; i++)
		for (struct item *it = wq->b[i], *n; it; it = n) {
			size_t k = hash(it->key) & (nb - 1);

			n = it->hnext;
			it->hnext = b[k];
			b[k] = it;
		}
	free(wq->b);
	wq->b = b;
	wq->nb = nb;
}

static struct item *get_item(struct k8s_wq *wq, const char *key)
{
	struct item *it = find(wq, key);
	size_t k;

	if (it)
		return it;
	it = calloc(1, sizeof(*it));
	if (!it || !(it->key = strdup(key))) {
		free(it);
		return NULL;
	}
	k = hash(key) & (wq->nb - 1);
	it->hnext = wq->b[k];
	wq->b[k] = it;
	if (++wq->n > wq->nb)
		rehash(wq);
	return it;
}

/* free @it if nothing refers to it any more */
static void maybe_drop(struct k8s_wq *wq, struct item *it)
{
	struct item **pp;

	if (it->dirty || it->processing || it->heap_idx || it->failures)
		return;
	for (pp = &wq->b[hash(it->key) & (wq->nb - 1)]; *pp; pp = &(*pp)->hnext)
		if (*pp == it) {
			*pp = it->hnext;
			break;
		}
	wq->n--;
	free(it->key);
	free(it);
}

/* ------------------------------------------------------------ the delay heap */

static void heap_swap(struct k8s_wq *wq, size_t a, size_t b)
{
	struct item *t = wq->heap[a];

	wq->heap[a] = wq->heap[b];
	wq->heap[b] = t;
	wq->heap[a]->heap_idx = a + 1;
	wq->heap[b]->heap_idx = b + 1;
}

static void heap_up(struct k8s_wq *wq, size_t i)
{
	while (i) {
		size_t p = (i - 1) / 2;

		if (wq->heap[p]->due_ms <= wq->heap[i]->due_ms)
			break;
		heap_swap(wq, p, i);
		i = p;
	}
}

static void heap_down(struct k8s_wq *wq, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < wq->nheap && wq->heap[l]->due_ms < wq->heap[m]->due_ms)
			m = l;
		if (r < wq->nheap && wq->heap[r]->due_ms < wq->heap[m]->due_ms)
			m = r;
		if (m == i)
			return;
		heap_swap(wq, i, m);
		i = m;
	}
}

static struct item *heap_pop(struct k8s_wq *wq)
{
	struct item *it = wq->heap[0];

	heap_swap(wq, 0, wq->nheap - 1);
	wq->nheap--;
	it->heap_idx = 0;
	if (wq->nheap)
		heap_down(wq, 0);
	return it;
}

/* ------------------------------------------------------------ queueing */

/* client-go's Add under the lock */
static void add_locked(struct k8s_wq *wq, struct item *it)
{
	if (it->dirty)
		return;
	it->dirty = true;
	if (it->processing)
		return; /* queued again by k8s_wq_done() */
	it->qnext = NULL;
	if (wq->qtail)
		wq->qtail->qnext = it;
	else
		wq->qhead = it;
	wq->qtail = it;
	wq->qlen++;
	pthread_cond_signal(&wq->cond);
}

/* move the keys whose time has come into the queue; ms to the next one (or -1) */
/*
 * Waiting workers move the keys whose time has come from the delay heap to
 * the queue (client-go has a goroutine for it; here whoever waits does it).
 */
static long move_due(struct k8s_wq *wq, uint64_t now)
{
	while (wq->nheap && wq->heap[0]->due_ms <= now) {
		struct item *it = heap_pop(wq);

		add_locked(wq, it);
	}
	return wq->nheap ? (long)(wq->heap[0]->due_ms - now) : -1;
}

static int add_after_locked(struct k8s_wq *wq, struct item *it, uint64_t delay_ms)
{
	uint64_t due = kmono_ms() + delay_ms;

	if (!delay_ms) {
		add_locked(wq, it);
		return 0;
	}
	if (it->heap_idx) {
		/* waiting already: the earlier time wins */
		if (due < it->due_ms) {
			it->due_ms = due;
			heap_up(wq, it->heap_idx - 1);
		}
		return 0;
	}
	if (wq->nheap == wq->capheap) {
		size_t cap = wq->capheap ? wq->capheap * 2 : 64;
		struct item **h = realloc(wq->heap, cap * sizeof(*h));

		if (!h)
			return -ENOMEM;
		wq->heap = h;
		wq->capheap = cap;
	}
	it->due_ms = due;
	wq->heap[wq->nheap] = it;
	it->heap_idx = ++wq->nheap;
	heap_up(wq, wq->nheap - 1);
	/* a waiting worker must wake earlier */
	pthread_cond_broadcast(&wq->cond);
	return 0;
}

/* ------------------------------------------------------------ the API */

uint64_t k8s_wq_backoff_ms(unsigned int base_ms, unsigned int max_ms, unsigned int failures)
{
	uint64_t d = base_ms;

	for (unsigned int i = 0; i < failures; i++) {
		if (d >= max_ms)
			return max_ms;
		d *= 2;
	}
	return d > max_ms ? max_ms : d;
}

int k8s_wq_new(const struct k8s_wq_opts *opts, struct k8s_wq **out)
{
	struct k8s_wq *wq = calloc(1, sizeof(*wq));

	*out = NULL;
	if (!wq)
		return -ENOMEM;
	if (opts)
		memcpy(&wq->o, opts,
		       opts->sz && opts->sz < sizeof(wq->o) ? opts->sz : sizeof(wq->o));
	if (!wq->o.base_delay_ms)
		wq->o.base_delay_ms = 5;
	if (!wq->o.max_delay_ms)
		wq->o.max_delay_ms = 1000000;
	if (wq->o.qps <= 0)
		wq->o.qps = 10;
	if (!wq->o.burst)
		wq->o.burst = 100;
	wq->nb = 64;
	wq->b = calloc(wq->nb, sizeof(*wq->b));
	if (!wq->b) {
		free(wq);
		return -ENOMEM;
	}
	wq->tokens = wq->o.burst;
	wq->last_ms = kmono_ms();
	pthread_mutex_init(&wq->lock, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wq->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = wq;
	return 0;
}

void k8s_wq_free(struct k8s_wq *wq)
{
	if (!wq)
		return;
	for (size_t i = 0; i < wq->nb; i++)
		for (struct item *it = wq->b[i], *n; it; it = n) {
			n = it->hnext;
			free(it->key);
			free(it);
		}
	free(wq->b);
	free(wq->heap);
	pthread_cond_destroy(&wq->cond);
	pthread_mutex_destroy(&wq->lock);
	free(wq);
}

int k8s_wq_add(struct k8s_wq *wq, const char *key)
{
	return k8s_wq_add_after(wq, key, 0);
}

int k8s_wq_add_after(struct k8s_wq *wq, const char *key, unsigned int delay_ms)
{
	struct item *it;
	int ret;

	if (!key)
		return -EINVAL;
	pthread_mutex_lock(&wq->lock);
	if (wq->shutdown) {
		pthread_mutex_unlock(&wq->lock);
		return -ESHUTDOWN;
	}
	it = get_item(wq, key);
	ret = it ? add_after_locked(wq, it, delay_ms) : -ENOMEM;
	if (it)
		maybe_drop(wq, it);
	pthread_mutex_unlock(&wq->lock);
	return ret;
}

/*
 * client-go's DefaultControllerRateLimiter: the larger of the key's
 * exponential backoff and the bucket's wait. The bucket is reserved as
 * rate.Limiter.Reserve() does: a token is taken now even if it is not
 * there yet, and the debt is the wait.
 */
int k8s_wq_add_rate_limited(struct k8s_wq *wq, const char *key)
{
	uint64_t now = kmono_ms(), item_ms, bucket_ms = 0;
	struct item *it;
	int ret;

	if (!key)
		return -EINVAL;
	pthread_mutex_lock(&wq->lock);
	if (wq->shutdown) {
		pthread_mutex_unlock(&wq->lock);
		return -ESHUTDOWN;
	}
	it = get_item(wq, key);
	if (!it) {
		pthread_mutex_unlock(&wq->lock);
		return -ENOMEM;
	}
	/* ItemExponentialFailureRateLimiter: base · 2^failures, then count one more */
	item_ms = k8s_wq_backoff_ms(wq->o.base_delay_ms, wq->o.max_delay_ms, it->failures);
	if (it->failures < 64)
		it->failures++;
	/* BucketRateLimiter: reserve a token; a debt is a wait */
	wq->tokens += (double)(now - wq->last_ms) * wq->o.qps / 1000.0;
	if (wq->tokens > wq->o.burst)
		wq->tokens = wq->o.burst;
	wq->last_ms = now;
	wq->tokens -= 1;
	if (wq->tokens < 0)
		bucket_ms = (uint64_t)(-wq->tokens * 1000.0 / wq->o.qps + 0.999);
	ret = add_after_locked(wq, it, item_ms > bucket_ms ? item_ms : bucket_ms);
	pthread_mutex_unlock(&wq->lock);
	return ret;
}

void k8s_wq_forget(struct k8s_wq *wq, const char *key)
{
	struct item *it;

	pthread_mutex_lock(&wq->lock);
	it = key ? find(wq, key) : NULL;
	if (it) {
		it->failures = 0;
		maybe_drop(wq, it);
	}
	pthread_mutex_unlock(&wq->lock);
}

unsigned int k8s_wq_requeues(struct k8s_wq *wq, const char *key)
{
	struct item *it;
	unsigned int n = 0;

	pthread_mutex_lock(&wq->lock);
	it = key ? find(wq, key) : NULL;
	if (it)
		n = it->failures;
	pthread_mutex_unlock(&wq->lock);
	return n;
}

int k8s_wq_get(struct k8s_wq *wq, const char **key, int timeout_ms)
{
	uint64_t deadline = timeout_ms >= 0 ? kmono_ms() + (uint64_t)timeout_ms : UINT64_MAX;
	struct item *it;

	*key = NULL;
	pthread_mutex_lock(&wq->lock);
	for (;;) {
		uint64_t now = kmono_ms();
		long next = wq->shutdown ? -1 : move_due(wq, now);
		uint64_t until = deadline;
		struct timespec ts;

		if (wq->qhead)
			break;
		if (wq->shutdown) {
			pthread_mutex_unlock(&wq->lock);
			return -ESHUTDOWN;
		}
		if (now >= deadline) {
			pthread_mutex_unlock(&wq->lock);
			return -ETIMEDOUT;
		}
		if (next >= 0 && now + (uint64_t)next < until)
			until = now + (uint64_t)next;
		if (until == UINT64_MAX) {
			pthread_cond_wait(&wq->cond, &wq->lock);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		{
			uint64_t ns = (uint64_t)ts.tv_nsec + (until - now) * 1000000ull;

			ts.tv_sec += (time_t)(ns / 1000000000ull);
			ts.tv_nsec = (long)(ns % 1000000000ull);
		}
		pthread_cond_timedwait(&wq->cond, &wq->lock, &ts);
	}
	it = wq->qhead;
	wq->qhead = it->qnext;
	if (!wq->qhead)
		wq->qtail = NULL;
	wq->qlen--;
	it->qnext = NULL;
	assert(it->dirty && !it->processing);
	it->dirty = false;
	it->processing = true;
	*key = it->key;
	pthread_mutex_unlock(&wq->lock);
	return 0;
}

void k8s_wq_done(struct k8s_wq *wq, const char *key)
{
	struct item *it;

	pthread_mutex_lock(&wq->lock);
	it = key ? find(wq, key) : NULL;
	if (it && it->processing) {
		it->processing = false;
		if (it->dirty) {
			/* added while held: queue it now */
			it->dirty = false;
			add_locked(wq, it);
		}
		maybe_drop(wq, it);
	}
	pthread_mutex_unlock(&wq->lock);
}

void k8s_wq_shutdown(struct k8s_wq *wq)
{
	pthread_mutex_lock(&wq->lock);
	wq->shutdown = true;
	pthread_cond_broadcast(&wq->cond);
	pthread_mutex_unlock(&wq->lock);
}

size_t k8s_wq_len(struct k8s_wq *wq)
{
	size_t n;

	pthread_mutex_lock(&wq->lock);
	n = wq->qlen;
	pthread_mutex_unlock(&wq->lock);
	return n;
}
