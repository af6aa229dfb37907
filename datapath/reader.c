// SPDX-License-Identifier: MIT
/*
 * datapath/reader.c - reading a volume in order and hashing its chunks: what
 * a backup and a verify (check --source) share.
 *
 *   reader (1 thread, io_uring)  chunk reads in volume order; holes of image
 *        |                       files become zero runs without a read, and
 *        |                       with a changed-block list unchanged chunks
 *        |                       take their parent's references unread
 *        v  work queue
 *   workers (N threads)          zero test -> chunk id (SHA-256, or HMAC)
 *        |                       -> the job's chunk callback (a backup's
 *        |                       dedup and store; nothing for a verify)
 *        v  order ring
 *   order thread                 takes the places in volume order and hands
 *                                them to the job's slot callback (a backup's
 *                                manifest; a verify's comparison)
 *
 * Buffers: a chunk buffer goes from the reader to a worker and back to the
 * free list when the worker is done with it. The work queue can hold every
 * chunk buffer, so the reader never blocks on it; the order ring is twice
 * the chunk buffers, and the reader only waits for it (or for a buffer)
 * when none of its reads is in flight. A slot of the ring is FREE, then
 * PENDING while a worker (or the reader, for zero runs and unchanged
 * chunks) fills it, then DONE until the order thread takes it.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <liburing.h>

#include "job.h"
#include "queue.h"
#include "reader.h"
#include "uring.h"

#define QD_MAX 64

enum rd_slot_state { SLOT_FREE = 0, SLOT_PENDING, SLOT_DONE };

/* One place in the order ring. */
struct rd_slot {
	enum rd_slot_state state;
	struct dp_slot s;
};

/* One chunk read; there is one per chunk buffer. */
struct rd_item {
	uint64_t seq; /* its slot */
	uint64_t off; /* in the volume */
	uint32_t len; /* bytes of the volume in it */
	uint32_t got; /* bytes read so far */
	void *buf;
};

struct rd_worker {
	struct dp_reader *r;
	unsigned int n;
	struct dp_hasher *hasher;
};

struct dp_reader {
	struct dp_job *job;
	struct dp_dev *dev;
	struct dp_bufs *bufs;
	uint32_t chunk_size;
	unsigned int threads, qd;
	struct dp_queue work;
	bool work_init;
	struct dp_ring ring;
	struct rd_item *items;
	struct rd_worker *w;
	dp_reader_chunk_fn chunk;
	dp_reader_slot_fn slot;
	void *arg;
	char io_mode[64];
	/* the order ring */
	struct rd_slot *slots;
	uint64_t nslots, head, tail;
	bool reader_done;
	pthread_mutex_t ring_lock;
	pthread_cond_t ring_cond;
	/* incremental: unchanged chunks come from the parent's manifest */
	struct dp_parent *parent;
	uint64_t parent_size;
	const struct dp_cbl *changed; /* sorted and merged; NULL: read everything */
	size_t cr;		      /* the first range that may still matter */
	struct dp_chunkidx *ix;
};

/* ------------------------------------------------------------- order ring */

/* A slot for the next place; waits for room only if @may_wait. NULL: none. */
static struct rd_slot *rd_slot_alloc(struct dp_reader *r, bool may_wait, uint64_t *seq)
{
	struct rd_slot *s = NULL;

	pthread_mutex_lock(&r->ring_lock);
	while (r->tail - r->head == r->nslots && may_wait && !dp_job_stopped(r->job))
		pthread_cond_wait(&r->ring_cond, &r->ring_lock);
	if (r->tail - r->head < r->nslots && !dp_job_stopped(r->job)) {
		*seq = r->tail++;
		s = &r->slots[*seq & (r->nslots - 1)];
		/* the order thread frees a slot as it takes it */
		assert(s->state == SLOT_FREE);
		memset(s, 0, sizeof(*s));
		s->state = SLOT_PENDING;
	}
	pthread_mutex_unlock(&r->ring_lock);
	return s;
}

static void rd_slot_done(struct dp_reader *r, struct rd_slot *s)
{
	pthread_mutex_lock(&r->ring_lock);
	assert(s->state == SLOT_PENDING);
	s->state = SLOT_DONE;
	pthread_cond_broadcast(&r->ring_cond);
	pthread_mutex_unlock(&r->ring_lock);
}

/* Record @n hole chunks from @off without reading them. */
static int rd_emit_zero(struct dp_reader *r, uint64_t off, uint64_t n, bool may_wait)
{
	uint64_t seq, bytes = n * r->chunk_size;
	struct rd_slot *s = rd_slot_alloc(r, may_wait, &seq);

	if (!s)
		return -EAGAIN;
	if (off + bytes > r->dev->size)
		bytes = r->dev->size - off;
	s->s.zero = true;
	s->s.count = n;
	atomic_fetch_add(&r->job->bytes_zero, bytes);
	atomic_fetch_add(&r->job->bytes_done, bytes);
	atomic_fetch_add(&r->job->chunks_zero, n);
	rd_slot_done(r, s);
	return 0;
}

/* Record chunk @id (unchanged, from the parent) without reading it. */
static int rd_emit_id(struct dp_reader *r, const uint8_t id[DP_ID_LEN], bool may_wait)
{
	uint64_t seq;
	struct rd_slot *s = rd_slot_alloc(r, may_wait, &seq);

	if (!s)
		return -EAGAIN;
	s->s.count = 1;
	memcpy(s->s.id, id, DP_ID_LEN);
	rd_slot_done(r, s);
	return 0;
}

/* ----------------------------------------------------------------- reader */

/*
 * How many whole chunks from @off the changed-block list leaves untouched and
 * the parent holds unchanged (a chunk the parent ended early in is read).
 */
static uint64_t rd_unchanged_chunks(struct dp_reader *r, uint64_t off)
{
	const struct dp_cbl *l = r->changed;
	uint64_t n = 0;

	while (off < r->dev->size && n < (1u << 20)) {
		uint64_t end = off + r->chunk_size;

		if (end > r->dev->size)
			end = r->dev->size;
		while (r->cr < l->n && l->ranges[r->cr].off + l->ranges[r->cr].len <= off)
			r->cr++;
		if (r->cr < l->n && l->ranges[r->cr].off < end)
			break;
		/* the chunk has the same extent in the parent */
		if (off >= r->parent_size ||
		    (off + r->chunk_size < r->parent_size ? off + r->chunk_size : r->parent_size) !=
			    end)
			break;
		n++;
		off += r->chunk_size;
	}
	return n;
}

/* Emit up to @n unchanged chunks from *@next with the parent's references. */
static int rd_emit_parent(struct dp_reader *r, uint64_t *next, uint64_t n, bool may_wait)
{
	uint8_t id[DP_ID_LEN];
	char hex[2 * DP_ID_LEN + 1];
	uint64_t run;
	bool zero;
	int ret;

	while (n && !dp_job_stopped(r->job)) {
		uint64_t idx = *next / r->chunk_size, bytes;

		ret = dp_parent_get(r->parent, idx, &zero, id, &run);
		if (ret)
			return dp_job_fail(r->job, ret == -ENOENT ? -EUCLEAN : ret,
					   "parent snapshot: %s", dp_last_error());
		if (zero) {
			if (run > n)
				run = n;
			ret = rd_emit_zero(r, *next, run, may_wait);
		} else {
			run = 1;
			if (!dp_chunkidx_lookup(r->ix, id, NULL)) {
				dp_hex(id, DP_ID_LEN, hex);
				return dp_job_fail(
					r->job, -EUCLEAN,
					"the parent's chunk %.16s (volume offset %llu) is in no pack index: back up without --changed-blocks",
					hex, (unsigned long long)*next);
			}
			ret = rd_emit_id(r, id, may_wait);
		}
		if (ret)
			return ret; /* -EAGAIN: no slot without waiting */
		bytes = run * r->chunk_size;
		if (*next + bytes > r->dev->size)
			bytes = r->dev->size - *next;
		if (!zero)
			atomic_fetch_add(&r->job->bytes_done, bytes);
		atomic_fetch_add(&r->job->bytes_unchanged, bytes);
		*next += bytes;
		n -= run;
	}
	return 0;
}

/* How many whole chunks from @off are holes (image files only). */
static uint64_t rd_hole_chunks(struct dp_reader *r, uint64_t off)
{
	off_t data;

	if (r->dev->is_blk)
		return 0;
	data = lseek(r->dev->fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO)
			return 0;	    /* no SEEK_DATA here: read everything */
		data = (off_t)r->dev->size; /* no data after @off */
	}
	if ((uint64_t)data >= r->dev->size)
		return (r->dev->size - off + r->chunk_size - 1) / r->chunk_size;
	return ((uint64_t)data - off) / r->chunk_size;
}

static uint32_t rd_chunk_len(struct dp_reader *r, uint64_t off)
{
	uint64_t left = r->dev->size - off;

	return left < r->chunk_size ? (uint32_t)left : r->chunk_size;
}

static uint32_t rd_io_len(struct dp_reader *r, uint32_t len)
{
	unsigned int a = r->dev->direct ? r->dev->align : 1;

	return (len + a - 1) / a * a;
}

static struct rd_item *rd_item_of(struct dp_reader *r, void *buf)
{
	return &r->items[dp_bufs_chunk_index(r->bufs, buf)];
}

/*
 * Prepare the next read: holes are recorded as zero runs on the way. Returns
 * the item, NULL at the end of the volume or when it would have to wait and
 * !@may_wait (then *@blocked is set).
 */
static struct rd_item *rd_next_read(struct dp_reader *r, uint64_t *next, bool may_wait,
				    bool *blocked)
{
	struct rd_item *it;
	struct rd_slot *s;
	uint64_t seq;
	void *buf;

	*blocked = false;
	while (*next < r->dev->size && !dp_job_stopped(r->job)) {
		uint64_t holes, same = r->changed ? rd_unchanged_chunks(r, *next) : 0;

		if (same) {
			int ret = rd_emit_parent(r, next, same, may_wait);

			if (ret == -EAGAIN) {
				*blocked = true;
				return NULL;
			}
			if (ret)
				return NULL;
			continue;
		}
		holes = rd_hole_chunks(r, *next);
		if (!holes)
			break;
		if (rd_emit_zero(r, *next, holes, may_wait)) {
			*blocked = true;
			return NULL;
		}
		*next += holes * r->chunk_size;
	}
	if (*next >= r->dev->size || dp_job_stopped(r->job))
		return NULL;
	if (!may_wait) {
		/* a free buffer and a free slot, both without waiting */
		buf = dp_bufs_tryget_chunk(r->bufs);
	} else {
		buf = dp_bufs_get_chunk(r->bufs);
	}
	if (!buf) {
		*blocked = !may_wait;
		return NULL;
	}
	s = rd_slot_alloc(r, may_wait, &seq);
	if (!s) {
		dp_bufs_put_chunk(r->bufs, buf);
		*blocked = !may_wait;
		return NULL;
	}
	it = rd_item_of(r, buf);
	it->buf = buf;
	it->seq = seq;
	it->off = *next;
	it->len = rd_chunk_len(r, *next);
	it->got = 0;
	*next += it->len;
	return it;
}

static void rd_read_queue(struct dp_reader *r, struct rd_item *it)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(r->ring.ring);
	uint32_t want = rd_io_len(r, it->len) - it->got;
	char *dst = (char *)it->buf + it->got;

	/* the ring has depth qd and at most qd reads are in flight */
	if (r->ring.fixed)
		io_uring_prep_read_fixed(sqe, r->dev->fd, dst, want, it->off + it->got,
					 (int)dp_bufs_chunk_index(r->bufs, it->buf));
	else
		io_uring_prep_read(sqe, r->dev->fd, dst, want, it->off + it->got);
	io_uring_sqe_set_data(sqe, it);
}

/* A read finished: 1 if the chunk is complete (handed to the workers), 0 if requeued. */
static int rd_read_done(struct dp_reader *r, struct rd_item *it, int res)
{
	/* the read is retried once O_DIRECT is off (see dp_dev_drop_direct()) */
	if (res == -EINVAL && r->dev->direct && !dp_dev_drop_direct(r->dev))
		return 0;
	if (res < 0)
		return dp_job_fail(r->job, res, "reading %s at offset %llu: %s", r->dev->path,
				   (unsigned long long)(it->off + it->got), strerror(-res));
	if (res == 0 && it->got < it->len)
		return dp_job_fail(r->job, -EIO,
				   "%s ended at offset %llu, before its size of %llu bytes",
				   r->dev->path, (unsigned long long)(it->off + it->got),
				   (unsigned long long)r->dev->size);
	it->got += (uint32_t)res;
	atomic_fetch_add(&r->job->bytes_read, (uint64_t)res);
	if (it->got < it->len)
		return 0;
	it->got = it->len;
	return dp_queue_push(&r->work, it) ? -ECANCELED : 1;
}

static void rd_reader_uring(struct dp_reader *r)
{
	struct io_uring *ring = r->ring.ring;
	unsigned int inflight = 0;
	uint64_t next = 0;

	for (;;) {
		struct io_uring_cqe *cqe;
		bool blocked = false;
		unsigned int head, seen = 0;
		int ret;

		while (inflight < r->qd && !dp_job_stopped(r->job)) {
			struct rd_item *it = rd_next_read(r, &next, inflight == 0, &blocked);

			if (!it)
				break;
			rd_read_queue(r, it);
			inflight++;
		}
		if (dp_job_stopped(r->job) || (!inflight && next >= r->dev->size))
			break;
		if (!inflight)
			continue; /* it waited for room and was woken */
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR) {
			dp_job_fail(r->job, ret, "io_uring_submit: %s", strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(ring, head, cqe) {
			struct rd_item *it = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			ret = rd_read_done(r, it, res);
			if (ret == 0)
				rd_read_queue(r, it);
			else
				inflight--;
			if (ret < 0)
				break;
		}
		io_uring_cq_advance(ring, seen);
		if (dp_job_stopped(r->job))
			break;
	}
	/* reads still in flight own their buffers: let them land before the ring goes */
	while (inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_submit_and_wait(ring, 1) < 0 || io_uring_peek_cqe(ring, &cqe))
			break;
		io_uring_cqe_seen(ring, cqe);
		inflight--;
	}
}

static void rd_reader_pread(struct dp_reader *r)
{
	uint64_t next = 0;

	while (!dp_job_stopped(r->job)) {
		bool blocked;
		struct rd_item *it = rd_next_read(r, &next, true, &blocked);

		if (!it)
			break;
		while (it->got < it->len) {
			ssize_t n =
				pread(r->dev->fd, (char *)it->buf + it->got,
				      rd_io_len(r, it->len) - it->got, (off_t)(it->off + it->got));

			if (n < 0 && errno == EINTR)
				continue;
			if (rd_read_done(r, it, n < 0 ? -errno : (int)n) != 0)
				break;
		}
	}
}

static void *rd_reader_main(void *arg)
{
	struct dp_reader *r = arg;

	if (r->ring.ring) {
		int ret = dp_ring_enable(&r->ring);

		if (ret)
			dp_job_fail(r->job, ret, "io_uring: enabling the ring: %s", strerror(-ret));
		else
			rd_reader_uring(r);
	} else {
		rd_reader_pread(r);
	}
	pthread_mutex_lock(&r->ring_lock);
	r->reader_done = true;
	pthread_cond_broadcast(&r->ring_cond);
	pthread_mutex_unlock(&r->ring_lock);
	dp_queue_close(&r->work);
	return NULL;
}

/* ---------------------------------------------------------------- workers */

static void *rd_worker_main(void *arg)
{
	struct rd_worker *w = arg;
	struct dp_reader *r = w->r;
	struct rd_item *it;

	while ((it = dp_queue_pop(&r->work))) {
		struct rd_slot *s = &r->slots[it->seq & (r->nslots - 1)];
		int ret = 0;

		assert(s->state == SLOT_PENDING);
		dp_test_point("backup-chunk");
		s->s.count = 1;
		if (dp_is_zero(it->buf, it->len)) {
			s->s.zero = true;
			atomic_fetch_add(&r->job->bytes_zero, it->len);
			atomic_fetch_add(&r->job->chunks_zero, 1);
		} else {
			ret = dp_hasher_digest(w->hasher, it->buf, it->len, s->s.id);
			if (ret)
				dp_job_fail(
					r->job, ret, "hashing the chunk at offset %llu of %s: %s",
					(unsigned long long)it->off, r->dev->path, strerror(-ret));
			else if (r->chunk)
				ret = r->chunk(r->arg, w->n, s->s.id, it->buf, it->len, it->off);
		}
		atomic_fetch_add(&r->job->bytes_done, it->len);
		dp_bufs_put_chunk(r->bufs, it->buf);
		if (ret)
			break;
		rd_slot_done(r, s);
	}
	return NULL;
}

/* ------------------------------------------------------------ order thread */

/* The next place in volume order: 1 and *@out, 0 at the end, -ECANCELED when stopped. */
static int rd_take(struct dp_reader *r, struct dp_slot *out)
{
	struct rd_slot *s;
	int ret = 0;

	pthread_mutex_lock(&r->ring_lock);
	for (;;) {
		s = &r->slots[r->head & (r->nslots - 1)];
		if (dp_job_stopped(r->job)) {
			ret = -ECANCELED;
			break;
		}
		if (r->head < r->tail && s->state == SLOT_DONE) {
			*out = s->s;
			s->state = SLOT_FREE;
			r->head++;
			pthread_cond_broadcast(&r->ring_cond);
			ret = 1;
			break;
		}
		if (r->reader_done && r->head == r->tail)
			break;
		pthread_cond_wait(&r->ring_cond, &r->ring_lock);
	}
	pthread_mutex_unlock(&r->ring_lock);
	return ret;
}

static void *rd_order_main(void *arg)
{
	struct dp_reader *r = arg;
	struct dp_slot s;

	while (rd_take(r, &s) == 1) {
		atomic_fetch_add(&r->job->chunks_total, s.count);
		if (r->slot(r->arg, &s))
			break;
	}
	return NULL;
}

/* --------------------------------------------------------------------- run */

void dp_reader_run(struct dp_reader *r)
{
	pthread_t reader, order, *workers;
	unsigned int nworkers = 0;
	bool reader_started = false, order_started = false;
	int ret;

	workers = calloc(r->threads, sizeof(*workers));
	if (!workers) {
		dp_job_fail(r->job, -ENOMEM, "out of memory for %u worker threads", r->threads);
		return;
	}
	ret = pthread_create(&order, NULL, rd_order_main, r);
	order_started = !ret;
	for (unsigned int i = 0; !ret && i < r->threads; i++) {
		ret = pthread_create(&workers[i], NULL, rd_worker_main, &r->w[i]);
		if (!ret)
			nworkers++;
	}
	if (!ret)
		ret = pthread_create(&reader, NULL, rd_reader_main, r);
	reader_started = !ret;
	if (ret)
		dp_job_fail(r->job, -ret, "cannot start the reader's threads: %s", strerror(ret));

	if (reader_started) {
		pthread_join(reader, NULL);
	} else {
		/* nothing will be read: the workers and the order thread end */
		pthread_mutex_lock(&r->ring_lock);
		r->reader_done = true;
		pthread_cond_broadcast(&r->ring_cond);
		pthread_mutex_unlock(&r->ring_lock);
		dp_queue_close(&r->work);
	}
	for (unsigned int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	if (order_started)
		pthread_join(order, NULL);
	free(workers);
}

void dp_reader_wake(struct dp_reader *r)
{
	if (!r)
		return;
	dp_queue_wake(&r->work);
	pthread_mutex_lock(&r->ring_lock);
	pthread_cond_broadcast(&r->ring_cond);
	pthread_mutex_unlock(&r->ring_lock);
}

const char *dp_reader_io_mode(const struct dp_reader *r)
{
	return r->io_mode;
}

unsigned int dp_reader_queue_depth(const struct dp_reader *r)
{
	return r->qd;
}

/* ------------------------------------------------------------------- setup */

void dp_reader_free(struct dp_reader *r)
{
	if (!r)
		return;
	dp_ring_fini(&r->ring);
	if (r->work_init)
		dp_queue_fini(&r->work);
	for (unsigned int i = 0; r->w && i < r->threads; i++)
		dp_hasher_free(r->w[i].hasher);
	free(r->w);
	free(r->items);
	free(r->slots);
	pthread_mutex_destroy(&r->ring_lock);
	pthread_cond_destroy(&r->ring_cond);
	free(r);
}

int dp_reader_new(const struct dp_reader_opts *o, struct dp_reader **out)
{
	struct dp_reader *r;
	int ret;

	*out = NULL;
	assert(o->job && o->dev && o->bufs && o->slot && o->threads);
	assert(!o->changed || (o->parent && o->ix));
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	pthread_mutex_init(&r->ring_lock, NULL);
	pthread_cond_init(&r->ring_cond, NULL);
	r->job = o->job;
	r->dev = o->dev;
	r->bufs = o->bufs;
	r->chunk_size = (uint32_t)o->bufs->chunk_size;
	r->threads = o->threads;
	r->chunk = o->chunk;
	r->slot = o->slot;
	r->arg = o->arg;
	r->parent = o->parent;
	r->parent_size = o->parent_size;
	r->changed = o->changed;
	r->ix = o->ix;
	r->qd = o->queue_depth ? o->queue_depth : r->bufs->nchunk / 2;
	if (r->qd > QD_MAX)
		r->qd = QD_MAX;
	if (r->qd > r->bufs->nchunk / 2)
		r->qd = r->bufs->nchunk / 2;
	if (r->qd < 1)
		r->qd = 1;
	r->nslots = 1;
	while (r->nslots < 2ull * r->bufs->nchunk)
		r->nslots <<= 1;
	r->slots = calloc(r->nslots, sizeof(*r->slots));
	r->items = calloc(r->bufs->nchunk, sizeof(*r->items));
	r->w = calloc(r->threads, sizeof(*r->w));
	if (!r->slots || !r->items || !r->w) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (unsigned int i = 0; i < r->threads; i++) {
		r->w[i].r = r;
		r->w[i].n = i;
		ret = dp_hasher_new(o->keys, &r->w[i].hasher);
		if (ret) {
			ret = dp_fail(ret, "creating the chunk hashers: %s", strerror(-ret));
			goto out_free;
		}
	}
	ret = dp_queue_init(&r->work, r->bufs->nchunk, &r->job->stop);
	if (ret)
		goto out_free;
	r->work_init = true;
	/* I/O: io_uring unless refused */
	if (!o->no_uring) {
		ret = dp_ring_init(&r->ring, r->qd);
		if (ret)
			pr_warn("notice: io_uring is not available (%s): reading with pread",
				strerror(-ret));
		else if (dp_dev_bypasses_cache(r->dev))
			dp_ring_register(&r->ring, r->bufs);
	}
	snprintf(r->io_mode, sizeof(r->io_mode), "%s%s", r->ring.ring ? "io_uring" : "pread",
		 r->dev->direct ? "+O_DIRECT" : " (buffered)");
	*out = r;
	return 0;
out_free:
	dp_reader_free(r);
	return ret;
}
