// SPDX-License-Identifier: MIT
/*
 * datapath/fetch.c - reading blobs back, many at once and in few requests:
 * the caller adds the chunks it wants (with a 64-bit tag each, e.g. the
 * volume offset a restore writes it at); the fetcher collects up to
 * WINDOW_REFS of them, sorts them by (pack, offset), merges requests for one
 * chunk, coalesces neighbours of a pack into one ranged read of at most one
 * I/O buffer, and queues the reads on the store. Each finished read lands on
 * the caller's queue as a struct dp_fetch, which the caller's threads decode
 * and give back with dp_fetch_free().
 *
 * The queue holds one slot per I/O buffer, so a store callback never
 * blocks; dp_fetcher_drain() waits until every read has come back, before
 * the consumers may stop.
 */
#include <stdio.h>
#include <stdlib.h>

#include "pool.h"
#include "queue.h"
#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "fetch.h"
#include "job.h"
#include "s3/store.h"

#define WINDOW_REFS 16384

struct fe_ref {
	uint8_t id[DP_ID_LEN];
	uint64_t tag;
	struct dp_loc loc;
};

struct dp_fetcher {
	struct dp_job *job;
	struct dp_repo *repo;
	struct dp_bufs *bufs;
	const struct dp_chunkidx *ix; /* pack numbers -> pack ids */
	struct dp_queue *out;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	unsigned int outstanding;
	struct fe_ref *win;
	size_t nwin;
};

int dp_fetcher_new(struct dp_job *job, struct dp_repo *repo, struct dp_bufs *bufs,
		   const struct dp_chunkidx *ix, struct dp_queue *out, struct dp_fetcher **fo)
{
	struct dp_fetcher *f;

	*fo = NULL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->win = calloc(WINDOW_REFS, sizeof(*f->win));
	if (!f->win) {
		free(f);
		return -ENOMEM;
	}
	f->job = job;
	f->repo = repo;
	f->bufs = bufs;
	f->ix = ix;
	f->out = out;
	pthread_mutex_init(&f->lock, NULL);
	pthread_cond_init(&f->cond, NULL);
	*fo = f;
	return 0;
}

void dp_fetcher_free(struct dp_fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_destroy(&f->lock);
	pthread_cond_destroy(&f->cond);
	free(f->win);
	free(f);
}

void dp_fetcher_wake(struct dp_fetcher *f)
{
	if (!f)
		return;
	pthread_mutex_lock(&f->lock);
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void dp_fetch_free(struct dp_fetch *x)
{
	struct dp_fetcher *f;

	if (!x)
		return;
	f = x->fetcher;
	if (x->buf)
		dp_bufs_put_io(f->bufs, x->buf);
	free(x->chunks);
	free(x->tags);
	free(x);
	pthread_mutex_lock(&f->lock);
	f->outstanding--;
	pthread_cond_broadcast(&f->cond);
	pthread_mutex_unlock(&f->lock);
}

void dp_fetcher_drain(struct dp_fetcher *f)
{
	pthread_mutex_lock(&f->lock);
	while (f->outstanding)
		pthread_cond_wait(&f->cond, &f->lock);
	pthread_mutex_unlock(&f->lock);
}

static void fe_done(void *arg, int ret, const char *detail)
{
	struct dp_fetch *x = arg;

	x->ret = ret;
	if (ret < 0 && detail)
		snprintf(x->detail, sizeof(x->detail), "%s", detail);
	/* the queue holds every I/O buffer's fetch: this never waits */
	if (dp_queue_push(x->fetcher->out, x))
		dp_fetch_free(x);
}

static int fe_ref_cmp(const void *a, const void *b)
{
	const struct fe_ref *x = a, *y = b;

	if (x->loc.pack != y->loc.pack)
		return x->loc.pack < y->loc.pack ? -1 : 1;
	if (x->loc.offset != y->loc.offset)
		return x->loc.offset < y->loc.offset ? -1 : 1;
	return x->tag < y->tag ? -1 : x->tag > y->tag;
}

/* Queue the ranged read of refs [@a, @b) of the window (one pack, sorted). */
static int fe_issue(struct dp_fetcher *f, size_t a, size_t b)
{
	struct fe_ref *w = f->win;
	struct dp_fetch *x;
	uint64_t end;
	int ret;

	x = calloc(1, sizeof(*x));
	if (!x)
		return -ENOMEM;
	x->fetcher = f;
	x->chunks = calloc(b - a, sizeof(*x->chunks));
	x->tags = calloc(b - a, sizeof(*x->tags));
	if (!x->chunks || !x->tags) {
		free(x->chunks);
		free(x->tags);
		free(x);
		return -ENOMEM;
	}
	x->off = w[a].loc.offset;
	end = x->off;
	for (size_t i = a; i < b; i++) {
		struct dp_fetch_chunk *c = x->nchunks ? &x->chunks[x->nchunks - 1] : NULL;

		if (!c || c->loc.offset != w[i].loc.offset) {
			c = &x->chunks[x->nchunks++];
			memcpy(c->id, w[i].id, DP_ID_LEN);
			c->loc = w[i].loc;
			c->first = (uint32_t)(i - a);
			if (c->loc.offset + c->loc.stored_len > end)
				end = c->loc.offset + c->loc.stored_len;
		}
		x->tags[i - a] = w[i].tag;
		c->ntags++;
	}
	x->len = (uint32_t)(end - x->off);
	dp_key_pack(dp_chunkidx_pack_id(f->ix, w[a].loc.pack), x->key, sizeof(x->key));
	pthread_mutex_lock(&f->lock);
	f->outstanding++;
	pthread_mutex_unlock(&f->lock);
	x->buf = dp_bufs_get_io(f->bufs);
	if (!x->buf) {
		dp_fetch_free(x);
		return -ECANCELED;
	}
	ret = s3_store_get_range_async(f->repo->st, x->key, x->off, x->buf, x->len, fe_done, x);
	if (ret) {
		dp_fetch_free(x);
		return dp_job_fail(f->job, ret, "reading %s: %s", x->key, strerror(-ret));
	}
	return 0;
}

int dp_fetcher_flush(struct dp_fetcher *f)
{
	struct fe_ref *w = f->win;
	size_t a = 0;
	int ret = 0;

	if (!f->nwin)
		return 0;
	qsort(w, f->nwin, sizeof(*w), fe_ref_cmp);
	while (a < f->nwin && !ret && !dp_job_stopped(f->job)) {
		uint64_t start = w[a].loc.offset, end = start + w[a].loc.stored_len;
		size_t b = a + 1;

		/* the next chunk joins if it is the same one, or adjacent and the read still fits */
		while (b < f->nwin && w[b].loc.pack == w[a].loc.pack &&
		       (w[b].loc.offset == w[b - 1].loc.offset ||
			(w[b].loc.offset <= end + 4096 &&
			 w[b].loc.offset + w[b].loc.stored_len - start <= f->bufs->io_size))) {
			if (w[b].loc.offset + w[b].loc.stored_len > end)
				end = w[b].loc.offset + w[b].loc.stored_len;
			b++;
		}
		ret = fe_issue(f, a, b);
		a = b;
	}
	f->nwin = 0;
	return ret;
}

int dp_fetcher_add(struct dp_fetcher *f, const uint8_t id[DP_ID_LEN], const struct dp_loc *loc,
		   uint64_t tag)
{
	struct fe_ref *r = &f->win[f->nwin++];

	memcpy(r->id, id, DP_ID_LEN);
	r->tag = tag;
	r->loc = *loc;
	if (f->nwin == WINDOW_REFS)
		return dp_fetcher_flush(f);
	return 0;
}
