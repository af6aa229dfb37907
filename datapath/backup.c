// SPDX-License-Identifier: MIT
/*
 * datapath/backup.c - the backup pipeline.
 *
 *   reader (1 thread, io_uring)  chunk reads in volume order; holes of image
 *        |                       files become zero runs without a read
 *        v  work queue
 *   workers (N threads)          zero test -> SHA-256 -> dedup -> zstd ->
 *        |                       append to the open pack (parts uploaded
 *        |                       as they fill)
 *        v  finish queue
 *   finisher (1 thread, packer.c) complete the pack's upload, write its index
 *
 *   manifest (1 thread)          takes the results in volume order from the
 *                                order ring and streams the manifest; it is
 *                                committed by the job's main thread only
 *                                after every pack is complete.
 *
 * Buffers: a chunk buffer goes from the reader to a worker and back to the
 * free list when the chunk is stored, found or zero; an I/O buffer holds one
 * part of a pack until its upload is done. The work queue can hold every
 * chunk buffer, so the reader never blocks on it; the order ring is twice
 * the chunk buffers, and the reader only waits for it (or for a buffer)
 * when none of its reads is in flight.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <liburing.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "crypt.h"
#include "pool.h"
#include "queue.h"
#include "blob.h"
#include "chunkidx.h"
#include "repo_int.h"
#include "manifest.h"
#include "packer.h"
#include "journal.h"
#include "blkdev.h"
#include "uring.h"
#include "job.h"
#include "dp_json.h"
#include "s3/store.h"

#define QD_MAX 64

enum { SLOT_PENDING = 0, SLOT_DONE = 1 };

/* One place in the manifest: a chunk, or a run of zero chunks. */
struct bk_slot {
	uint8_t state;
	uint8_t zero;
	uint64_t count;
	uint8_t id[DP_ID_LEN];
};

/* One chunk read; there is one per chunk buffer. */
struct bk_item {
	uint64_t seq; /* its slot */
	uint64_t off; /* in the volume */
	uint32_t len; /* bytes of the volume in it */
	uint32_t got; /* bytes read so far */
	void *buf;
};

struct bk_job {
	struct dp_job job;
	struct dp_dev dev;
	struct dp_bufs bufs;
	struct dp_queue work;
	struct dp_chunkidx *ix;
	struct dp_ring ring;
	uint32_t chunk_size;
	unsigned int threads, qd;
	int level;
	uint64_t pack_target;
	bool no_uring;
	unsigned int qd_opt;
	struct bk_item *items;
	/* order ring */
	struct bk_slot *slots;
	uint64_t nslots, head, tail;
	bool reader_done;
	pthread_mutex_t ring_lock;
	pthread_cond_t ring_cond;
	struct dp_packer *packer;
	char *journal_dir;
	/* manifest */
	struct dp_snapshot meta;
	char mkey[96];
	struct dp_mwriter *mw;
	uint8_t *mbuf;
	size_t mlen;
	struct s3_upload *mup;
	size_t mpart_size; /* the manifest's part size: one I/O buffer */
	unsigned int mparts;
	pthread_mutex_t mpart_lock;
	pthread_cond_t mpart_cond;
	int mpart_busy;
	/* incremental: unchanged chunks come from the parent's manifest */
	struct dp_parent *parent;
	uint64_t parent_size;
	struct dp_cbl changed; /* our copy, sorted and merged */
	bool has_changed;
	size_t cr; /* the first range that may still matter */
	/* verify mode (check --source): compare with the parent, store nothing */
	bool verify;
	uint64_t vidx; /* chunk index the manifest thread is at */
	uint64_t mismatches, first_mismatch;
	/* threads */
	pthread_t reader, manifest, *workers;
	unsigned int nworkers;
	bool reader_started, manifest_started;
};

static struct bk_job *bk_of(struct dp_job *job)
{
	return (struct bk_job *)job;
}

static void bk_wake(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_bufs_wake(&bk->bufs);
	dp_queue_wake(&bk->work);
	dp_packer_wake(bk->packer);
	pthread_mutex_lock(&bk->ring_lock);
	pthread_cond_broadcast(&bk->ring_cond);
	pthread_mutex_unlock(&bk->ring_lock);
	pthread_mutex_lock(&bk->mpart_lock);
	pthread_cond_broadcast(&bk->mpart_cond);
	pthread_mutex_unlock(&bk->mpart_lock);
}

/* ------------------------------------------------------------- order ring */

/* A slot for the next place; waits for room only if @may_wait. NULL: none. */
static struct bk_slot *bk_slot_alloc(struct bk_job *bk, bool may_wait, uint64_t *seq)
{
	struct bk_slot *s = NULL;

	pthread_mutex_lock(&bk->ring_lock);
	while (bk->tail - bk->head == bk->nslots && may_wait && !dp_job_stopped(&bk->job))
		pthread_cond_wait(&bk->ring_cond, &bk->ring_lock);
	if (bk->tail - bk->head < bk->nslots && !dp_job_stopped(&bk->job)) {
		*seq = bk->tail++;
		s = &bk->slots[*seq & (bk->nslots - 1)];
		memset(s, 0, sizeof(*s));
	}
	pthread_mutex_unlock(&bk->ring_lock);
	return s;
}

static void bk_slot_done(struct bk_job *bk, struct bk_slot *s)
{
	pthread_mutex_lock(&bk->ring_lock);
	s->state = SLOT_DONE;
	pthread_cond_broadcast(&bk->ring_cond);
	pthread_mutex_unlock(&bk->ring_lock);
}

/* Record @n hole chunks from @off without reading them. */
static int bk_emit_zero(struct bk_job *bk, uint64_t off, uint64_t n, bool may_wait)
{
	uint64_t seq, bytes = n * bk->chunk_size;
	struct bk_slot *s = bk_slot_alloc(bk, may_wait, &seq);

	if (!s)
		return -EAGAIN;
	if (off + bytes > bk->dev.size)
		bytes = bk->dev.size - off;
	s->zero = 1;
	s->count = n;
	atomic_fetch_add(&bk->job.bytes_zero, bytes);
	atomic_fetch_add(&bk->job.bytes_done, bytes);
	atomic_fetch_add(&bk->job.chunks_zero, n);
	bk_slot_done(bk, s);
	return 0;
}

/* Record chunk @id (unchanged, from the parent) without reading it. */
static int bk_emit_id(struct bk_job *bk, const uint8_t id[DP_ID_LEN], bool may_wait)
{
	uint64_t seq;
	struct bk_slot *s = bk_slot_alloc(bk, may_wait, &seq);

	if (!s)
		return -EAGAIN;
	s->count = 1;
	memcpy(s->id, id, DP_ID_LEN);
	bk_slot_done(bk, s);
	return 0;
}

/* ----------------------------------------------------------------- reader */

/*
 * How many whole chunks from @off the changed-block list leaves untouched and
 * the parent holds unchanged (a chunk the parent ended early in is read).
 */
static uint64_t bk_unchanged_chunks(struct bk_job *bk, uint64_t off)
{
	const struct dp_cbl *l = &bk->changed;
	uint64_t n = 0;

	while (off < bk->dev.size && n < (1u << 20)) {
		uint64_t end = off + bk->chunk_size;

		if (end > bk->dev.size)
			end = bk->dev.size;
		while (bk->cr < l->n && l->ranges[bk->cr].off + l->ranges[bk->cr].len <= off)
			bk->cr++;
		if (bk->cr < l->n && l->ranges[bk->cr].off < end)
			break;
		/* the chunk has the same extent in the parent */
		if (off >= bk->parent_size ||
		    (off + bk->chunk_size < bk->parent_size ? off + bk->chunk_size
							    : bk->parent_size) != end)
			break;
		n++;
		off += bk->chunk_size;
	}
	return n;
}

/* Emit up to @n unchanged chunks from *@next with the parent's references. */
static int bk_emit_parent(struct bk_job *bk, uint64_t *next, uint64_t n, bool may_wait)
{
	uint8_t id[DP_ID_LEN];
	char hex[2 * DP_ID_LEN + 1];
	uint64_t run;
	bool zero;
	int ret;

	while (n && !dp_job_stopped(&bk->job)) {
		uint64_t idx = *next / bk->chunk_size, bytes;

		ret = dp_parent_get(bk->parent, idx, &zero, id, &run);
		if (ret)
			return dp_job_fail(&bk->job, ret == -ENOENT ? -EUCLEAN : ret,
					   "parent snapshot: %s", dp_last_error());
		if (zero) {
			if (run > n)
				run = n;
			ret = bk_emit_zero(bk, *next, run, may_wait);
		} else {
			run = 1;
			if (!dp_chunkidx_lookup(bk->ix, id, NULL)) {
				dp_hex(id, DP_ID_LEN, hex);
				return dp_job_fail(
					&bk->job, -EUCLEAN,
					"the parent's chunk %.16s (volume offset %llu) is in no pack index: back up without --changed-blocks",
					hex, (unsigned long long)*next);
			}
			ret = bk_emit_id(bk, id, may_wait);
		}
		if (ret)
			return ret; /* -EAGAIN: no slot without waiting */
		bytes = run * bk->chunk_size;
		if (*next + bytes > bk->dev.size)
			bytes = bk->dev.size - *next;
		if (!zero)
			atomic_fetch_add(&bk->job.bytes_done, bytes);
		atomic_fetch_add(&bk->job.bytes_unchanged, bytes);
		*next += bytes;
		n -= run;
	}
	return 0;
}

/* How many whole chunks from @off are holes (image files only). */
static uint64_t bk_hole_chunks(struct bk_job *bk, uint64_t off)
{
	off_t data;

	if (bk->dev.is_blk)
		return 0;
	data = lseek(bk->dev.fd, (off_t)off, SEEK_DATA);
	if (data < 0) {
		if (errno != ENXIO)
			return 0;	    /* no SEEK_DATA here: read everything */
		data = (off_t)bk->dev.size; /* no data after @off */
	}
	if ((uint64_t)data >= bk->dev.size)
		return (bk->dev.size - off + bk->chunk_size - 1) / bk->chunk_size;
	return ((uint64_t)data - off) / bk->chunk_size;
}

static uint32_t bk_chunk_len(struct bk_job *bk, uint64_t off)
{
	uint64_t left = bk->dev.size - off;

	return left < bk->chunk_size ? (uint32_t)left : bk->chunk_size;
}

static uint32_t bk_io_len(struct bk_job *bk, uint32_t len)
{
	unsigned int a = bk->dev.direct ? bk->dev.align : 1;

	return (len + a - 1) / a * a;
}

static struct bk_item *bk_item_of(struct bk_job *bk, void *buf)
{
	return &bk->items[dp_bufs_chunk_index(&bk->bufs, buf)];
}

/*
 * Prepare the next read: holes are recorded as zero runs on the way. Returns
 * the item, NULL at the end of the volume or when it would have to wait and
 * !@may_wait (then *@blocked is set).
 */
static struct bk_item *bk_next_read(struct bk_job *bk, uint64_t *next, bool may_wait, bool *blocked)
{
	struct bk_item *it;
	struct bk_slot *s;
	uint64_t seq;
	void *buf;

	*blocked = false;
	while (*next < bk->dev.size && !dp_job_stopped(&bk->job)) {
		uint64_t holes, same = bk->has_changed ? bk_unchanged_chunks(bk, *next) : 0;

		if (same) {
			int ret = bk_emit_parent(bk, next, same, may_wait);

			if (ret == -EAGAIN) {
				*blocked = true;
				return NULL;
			}
			if (ret)
				return NULL;
			continue;
		}
		holes = bk_hole_chunks(bk, *next);
		if (!holes)
			break;
		if (bk_emit_zero(bk, *next, holes, may_wait)) {
			*blocked = true;
			return NULL;
		}
		*next += holes * bk->chunk_size;
	}
	if (*next >= bk->dev.size || dp_job_stopped(&bk->job))
		return NULL;
	if (!may_wait) {
		/* a free buffer and a free slot, both without waiting */
		buf = dp_bufs_tryget_chunk(&bk->bufs);
	} else {
		buf = dp_bufs_get_chunk(&bk->bufs);
	}
	if (!buf) {
		*blocked = !may_wait;
		return NULL;
	}
	s = bk_slot_alloc(bk, may_wait, &seq);
	if (!s) {
		dp_bufs_put_chunk(&bk->bufs, buf);
		*blocked = !may_wait;
		return NULL;
	}
	it = bk_item_of(bk, buf);
	it->buf = buf;
	it->seq = seq;
	it->off = *next;
	it->len = bk_chunk_len(bk, *next);
	it->got = 0;
	*next += it->len;
	return it;
}

static void bk_read_queue(struct bk_job *bk, struct bk_item *it)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(bk->ring.ring);
	uint32_t want = bk_io_len(bk, it->len) - it->got;
	char *dst = (char *)it->buf + it->got;

	/* the ring has depth qd and at most qd reads are in flight */
	if (bk->ring.fixed)
		io_uring_prep_read_fixed(sqe, bk->dev.fd, dst, want, it->off + it->got,
					 (int)dp_bufs_chunk_index(&bk->bufs, it->buf));
	else
		io_uring_prep_read(sqe, bk->dev.fd, dst, want, it->off + it->got);
	io_uring_sqe_set_data(sqe, it);
}

/* A read finished: 1 if the chunk is complete (handed to the workers), 0 if requeued. */
static int bk_read_done(struct bk_job *bk, struct bk_item *it, int res)
{
	/* the read is retried once O_DIRECT is off (see dp_dev_drop_direct()) */
	if (res == -EINVAL && bk->dev.direct && !dp_dev_drop_direct(&bk->dev))
		return 0;
	if (res < 0)
		return dp_job_fail(&bk->job, res, "reading %s at offset %llu: %s", bk->dev.path,
				   (unsigned long long)(it->off + it->got), strerror(-res));
	if (res == 0 && it->got < it->len)
		return dp_job_fail(&bk->job, -EIO,
				   "%s ended at offset %llu, before its size of %llu bytes",
				   bk->dev.path, (unsigned long long)(it->off + it->got),
				   (unsigned long long)bk->dev.size);
	it->got += (uint32_t)res;
	atomic_fetch_add(&bk->job.bytes_read, (uint64_t)res);
	if (it->got < it->len)
		return 0;
	it->got = it->len;
	return dp_queue_push(&bk->work, it) ? -ECANCELED : 1;
}

static void bk_reader_uring(struct bk_job *bk)
{
	struct io_uring *ring = bk->ring.ring;
	unsigned int inflight = 0;
	uint64_t next = 0;

	for (;;) {
		struct io_uring_cqe *cqe;
		bool blocked = false;
		unsigned int head, seen = 0;
		int ret;

		while (inflight < bk->qd && !dp_job_stopped(&bk->job)) {
			struct bk_item *it = bk_next_read(bk, &next, inflight == 0, &blocked);

			if (!it)
				break;
			bk_read_queue(bk, it);
			inflight++;
		}
		if (dp_job_stopped(&bk->job) || (!inflight && next >= bk->dev.size))
			break;
		if (!inflight)
			continue; /* it waited for room and was woken */
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR) {
			dp_job_fail(&bk->job, ret, "io_uring_submit: %s", strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(ring, head, cqe) {
			struct bk_item *it = io_uring_cqe_get_data(cqe);
			int res = cqe->res;

			seen++;
			ret = bk_read_done(bk, it, res);
			if (ret == 0)
				bk_read_queue(bk, it);
			else
				inflight--;
			if (ret < 0)
				break;
		}
		io_uring_cq_advance(ring, seen);
		if (dp_job_stopped(&bk->job))
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

static void bk_reader_pread(struct bk_job *bk)
{
	uint64_t next = 0;

	while (!dp_job_stopped(&bk->job)) {
		bool blocked;
		struct bk_item *it = bk_next_read(bk, &next, true, &blocked);

		if (!it)
			break;
		while (it->got < it->len) {
			ssize_t n =
				pread(bk->dev.fd, (char *)it->buf + it->got,
				      bk_io_len(bk, it->len) - it->got, (off_t)(it->off + it->got));

			if (n < 0 && errno == EINTR)
				continue;
			if (bk_read_done(bk, it, n < 0 ? -errno : (int)n) != 0)
				break;
		}
	}
}

static void *bk_reader_main(void *arg)
{
	struct bk_job *bk = arg;

	if (bk->ring.ring) {
		int ret = dp_ring_enable(&bk->ring);

		if (ret)
			dp_job_fail(&bk->job, ret, "io_uring: enabling the ring: %s",
				    strerror(-ret));
		else
			bk_reader_uring(bk);
	} else {
		bk_reader_pread(bk);
	}
	pthread_mutex_lock(&bk->ring_lock);
	bk->reader_done = true;
	pthread_cond_broadcast(&bk->ring_cond);
	pthread_mutex_unlock(&bk->ring_lock);
	dp_queue_close(&bk->work);
	return NULL;
}

/* ---------------------------------------------------------------- workers */

struct bk_worker {
	struct bk_job *bk;
	struct dp_hasher *hasher; /* chunk ids: SHA-256, or HMAC with the id key */
	struct dp_blobenc *enc;	  /* zstd, then the seal of an encrypted repository */
};

static int bk_store_chunk(struct bk_job *bk, struct bk_worker *w, struct bk_item *it,
			  const uint8_t id[DP_ID_LEN])
{
	const void *data;
	uint32_t len;
	uint8_t kind;
	int ret;

	ret = dp_blob_encode(w->enc, id, it->buf, it->len, &data, &len, &kind);
	if (ret)
		return dp_job_fail(&bk->job, ret, "%s", dp_last_error());
	ret = dp_packer_append(bk->packer, id, data, len, it->len, kind);
	if (ret)
		return ret == -ECANCELED
			       ? ret
			       : dp_job_fail(&bk->job, ret, "packing: %s", strerror(-ret));
	atomic_fetch_add(&bk->job.chunks_new, 1);
	atomic_fetch_add(&bk->job.bytes_new, len);
	atomic_fetch_add(&bk->job.bytes_raw_new, it->len);
	return 0;
}

static void *bk_worker_main(void *arg)
{
	struct bk_worker *w = arg;
	struct bk_job *bk = w->bk;
	struct bk_item *it;

	while ((it = dp_queue_pop(&bk->work))) {
		struct bk_slot *s = &bk->slots[it->seq & (bk->nslots - 1)];
		int ret = 0;

		dp_test_point("backup-chunk");
		if (dp_is_zero(it->buf, it->len)) {
			s->zero = 1;
			s->count = 1;
			atomic_fetch_add(&bk->job.bytes_zero, it->len);
			atomic_fetch_add(&bk->job.chunks_zero, 1);
		} else {
			ret = dp_hasher_digest(w->hasher, it->buf, it->len, s->id);
			s->count = 1;
			if (!ret && bk->verify)
				ret = 2; /* hashed: all verification needs */
			else if (!ret)
				ret = dp_chunkidx_insert(bk->ix, s->id, NULL);
			if (ret == 2) {
				ret = 0;
			} else if (ret == 1) {
				atomic_fetch_add(&bk->job.chunks_dedup, 1);
				ret = 0;
			} else if (ret == 0) {
				ret = bk_store_chunk(bk, w, it, s->id);
			} else {
				dp_job_fail(&bk->job, ret, "chunk index: %s", strerror(-ret));
			}
		}
		atomic_fetch_add(&bk->job.bytes_done, it->len);
		dp_bufs_put_chunk(&bk->bufs, it->buf);
		if (ret)
			break;
		bk_slot_done(bk, s);
	}
	return NULL;
}

/* --------------------------------------------------------------- manifest */

static void bk_mpart_done(void *arg, int ret, const char *detail)
{
	struct bk_job *bk = arg;

	if (ret < 0)
		dp_job_fail(&bk->job, ret, "uploading %s: %s", bk->mkey,
			    detail && detail[0] ? detail : strerror(-ret));
	pthread_mutex_lock(&bk->mpart_lock);
	bk->mpart_busy = 0;
	pthread_cond_broadcast(&bk->mpart_cond);
	pthread_mutex_unlock(&bk->mpart_lock);
}

/* Send the full manifest buffer as a part and wait until it is sent. */
static int bk_manifest_part(struct bk_job *bk)
{
	int ret;

	if (!bk->mup) {
		ret = s3_upload_new(bk->job.repo->st, bk->mkey, bk->mpart_size, &bk->mup);
		if (ret)
			return dp_job_fail(&bk->job, ret, "creating %s: %s", bk->mkey,
					   dp_store_detail());
	}
	pthread_mutex_lock(&bk->mpart_lock);
	bk->mpart_busy = 1;
	pthread_mutex_unlock(&bk->mpart_lock);
	ret = s3_upload_part(bk->mup, ++bk->mparts, bk->mbuf, bk->mlen, bk_mpart_done, bk);
	if (ret)
		return dp_job_fail(&bk->job, ret, "uploading %s: %s", bk->mkey, strerror(-ret));
	pthread_mutex_lock(&bk->mpart_lock);
	while (bk->mpart_busy && !dp_job_stopped(&bk->job))
		pthread_cond_wait(&bk->mpart_cond, &bk->mpart_lock);
	pthread_mutex_unlock(&bk->mpart_lock);
	if (dp_job_stopped(&bk->job))
		return -ECANCELED;
	bk->mlen = 0;
	dp_test_point("backup-manifest-part");
	return 0;
}

static int bk_manifest_emit(void *arg, const void *buf, size_t len)
{
	struct bk_job *bk = arg;
	const char *p = buf;

	while (len) {
		size_t n = bk->mpart_size - bk->mlen;
		int ret;

		if (n > len)
			n = len;
		memcpy(bk->mbuf + bk->mlen, p, n);
		bk->mlen += n;
		p += n;
		len -= n;
		if (bk->mlen == bk->mpart_size) {
			ret = bk_manifest_part(bk);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* Verify mode: compare a slot with the snapshot's references for its chunks. */
static int bk_verify_slot(struct bk_job *bk, const struct bk_slot *s)
{
	for (uint64_t k = 0; k < s->count;) {
		uint8_t id[DP_ID_LEN];
		uint64_t run, n;
		bool zero;
		int ret = dp_parent_get(bk->parent, bk->vidx, &zero, id, &run);

		if (ret == -ENOENT) {
			run = s->count - k; /* the snapshot is shorter: all of it differs */
			zero = !s->zero;
		} else if (ret) {
			return dp_job_fail(&bk->job, ret, "snapshot %.16s: %s", bk->meta.parent,
					   dp_last_error());
		}
		n = run < s->count - k ? run : s->count - k;
		if (zero != !!s->zero || (!zero && memcmp(id, s->id, DP_ID_LEN))) {
			if (!bk->mismatches)
				bk->first_mismatch = bk->vidx * bk->chunk_size;
			bk->mismatches += n;
		}
		bk->vidx += n;
		k += n;
	}
	return 0;
}

static void *bk_manifest_main(void *arg)
{
	struct bk_job *bk = arg;

	pthread_mutex_lock(&bk->ring_lock);
	for (;;) {
		struct bk_slot s;
		int ret;

		while (!dp_job_stopped(&bk->job) &&
		       !(bk->head < bk->tail &&
			 bk->slots[bk->head & (bk->nslots - 1)].state == SLOT_DONE) &&
		       !(bk->reader_done && bk->head == bk->tail))
			pthread_cond_wait(&bk->ring_cond, &bk->ring_lock);
		if (dp_job_stopped(&bk->job) || bk->head == bk->tail)
			break;
		s = bk->slots[bk->head & (bk->nslots - 1)];
		bk->head++;
		pthread_cond_broadcast(&bk->ring_cond);
		pthread_mutex_unlock(&bk->ring_lock);
		atomic_fetch_add(&bk->job.chunks_total, s.count);
		if (bk->verify)
			ret = bk_verify_slot(bk, &s);
		else if (s.zero)
			ret = dp_mwriter_add_zero(bk->mw, s.count);
		else
			ret = dp_mwriter_add_chunk(bk->mw, s.id);
		if (ret && ret != -ECANCELED)
			dp_job_fail(&bk->job, ret, "manifest: %s", dp_last_error());
		pthread_mutex_lock(&bk->ring_lock);
		if (ret)
			break;
	}
	pthread_mutex_unlock(&bk->ring_lock);
	return NULL;
}

/* Write the footer and make the manifest appear: the backup is then complete. */
static int bk_manifest_commit(struct bk_job *bk)
{
	struct dp_snapshot *m = &bk->meta;
	int ret;

	m->time_end = dp_now_us();
	m->chunks_total = atomic_load(&bk->job.chunks_total);
	m->chunks_zero = atomic_load(&bk->job.chunks_zero);
	m->chunks_new = atomic_load(&bk->job.chunks_new);
	if (atomic_load(&bk->job.bytes_unchanged))
		pr_debug("backup: %llu bytes unchanged since %.16s, not read",
			 (unsigned long long)atomic_load(&bk->job.bytes_unchanged), m->parent);
	m->bytes_read = atomic_load(&bk->job.bytes_read);
	m->bytes_zero = atomic_load(&bk->job.bytes_zero);
	m->bytes_new = atomic_load(&bk->job.bytes_new);
	m->bytes_stored = m->bytes_new;
	if (m->chunks_total != (m->size + m->chunk_size - 1) / m->chunk_size)
		return dp_job_fail(
			&bk->job, -EIO, "internal error: %llu chunks recorded for a volume of %llu",
			(unsigned long long)m->chunks_total,
			(unsigned long long)((m->size + m->chunk_size - 1) / m->chunk_size));
	ret = dp_mwriter_finish(bk->mw, m);
	if (ret)
		return ret == -ECANCELED
			       ? ret
			       : dp_job_fail(&bk->job, ret, "manifest: %s", dp_last_error());
	dp_test_point("backup-before-manifest");
	if (!bk->mup) {
		ret = s3_store_put(bk->job.repo->st, bk->mkey, bk->mbuf, bk->mlen);
	} else {
		if (bk->mlen) {
			ret = bk_manifest_part(bk);
			if (ret)
				return ret;
		}
		ret = s3_upload_complete(bk->mup);
		bk->mup = NULL;
	}
	if (ret)
		return dp_job_fail(&bk->job, ret, "writing %s: %s", bk->mkey, dp_store_detail());
	dp_test_point("backup-committed");
	return 0;
}

/* Verify mode: the volume must have had the snapshot's chunks, and no more. */
static void bk_verify_finish(struct bk_job *bk)
{
	uint8_t id[DP_ID_LEN];
	uint64_t run;
	bool zero;

	if (!dp_parent_get(bk->parent, bk->vidx, &zero, id, &run)) {
		if (!bk->mismatches)
			bk->first_mismatch = bk->vidx * bk->chunk_size;
		bk->mismatches += run;
	}
	bk->job.result.mismatches = bk->mismatches;
	bk->job.result.first_mismatch = bk->first_mismatch;
	if (bk->meta.size != bk->parent_size && !bk->mismatches)
		bk->job.result.mismatches = 1;
}

/* ------------------------------------------------------------------- job */

static void bk_run(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);
	struct bk_worker *w;
	unsigned int i;
	int ret;

	ret = bk->verify ? 0 : dp_repo_load_index(job->repo, bk->ix);
	if (ret) {
		dp_job_fail(job, ret, "%s", dp_last_error());
		return;
	}
	pr_debug(
		"backup %s: %llu bytes, %u workers, %u reads in flight, %u chunk and %u I/O buffers",
		bk->dev.path, (unsigned long long)bk->dev.size, bk->threads, bk->qd,
		bk->bufs.nchunk, bk->bufs.nio);
	w = calloc(bk->threads, sizeof(*w));
	bk->workers = calloc(bk->threads, sizeof(*bk->workers));
	if (!w || !bk->workers) {
		dp_job_fail(job, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < bk->threads; i++) {
		w[i].bk = bk;
		ret = dp_hasher_new(&job->repo->keys, &w[i].hasher);
		if (!ret && !bk->verify)
			ret = dp_blobenc_new(&job->repo->keys, bk->chunk_size, bk->level,
					     &w[i].enc);
		if (ret) {
			dp_job_fail(job, ret ? ret : -ENOMEM, "out of memory");
			goto out;
		}
	}
	ret = dp_packer_new(job, &bk->bufs, bk->pack_target, "backup", bk->journal_dir,
			    &bk->packer);
	if (ret) {
		dp_job_fail(job, ret, "out of memory");
		goto out;
	}
	if (!bk->verify) {
		uint64_t reused;

		ret = dp_packer_resume(bk->packer, bk->ix, &reused);
		if (ret) {
			dp_job_fail(job, ret, "resuming: %s", dp_last_error());
			goto out;
		}
		atomic_store(&job->bytes_reused, reused);
	}
	ret = pthread_create(&bk->manifest, NULL, bk_manifest_main, bk);
	bk->manifest_started = !ret;
	for (i = 0; !ret && i < bk->threads; i++) {
		ret = pthread_create(&bk->workers[i], NULL, bk_worker_main, &w[i]);
		if (!ret)
			bk->nworkers++;
	}
	if (!ret)
		ret = pthread_create(&bk->reader, NULL, bk_reader_main, bk);
	bk->reader_started = !ret;
	if (ret)
		dp_job_fail(job, -ret, "cannot start threads: %s", strerror(ret));

	if (bk->reader_started)
		pthread_join(bk->reader, NULL);
	else
		dp_queue_close(&bk->work);
	for (i = 0; i < bk->nworkers; i++)
		pthread_join(bk->workers[i], NULL);
	/* the last, partly filled pack; then every pack is complete and indexed */
	if (bk->packer)
		dp_packer_finish(bk->packer);
	if (bk->manifest_started)
		pthread_join(bk->manifest, NULL);
	if (!dp_job_stopped(job) && bk->verify)
		bk_verify_finish(bk);
	else if (!dp_job_stopped(job))
		bk_manifest_commit(bk);
	if (!job->result.err)
		snprintf(job->result.snapshot_id, sizeof(job->result.snapshot_id), "%s",
			 bk->meta.id);
out:
	for (i = 0; w && i < bk->threads; i++) {
		dp_hasher_free(w[i].hasher);
		dp_blobenc_free(w[i].enc);
	}
	free(w);
}

static void bk_fini(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_packer_free(bk->packer);
	s3_upload_abort(bk->mup);
	dp_mwriter_free(bk->mw);
	free(bk->mbuf);
	dp_ring_fini(&bk->ring);
	dp_queue_fini(&bk->work);
	dp_bufs_fini(&bk->bufs);
	dp_chunkidx_free(bk->ix);
	dp_dev_close(&bk->dev);
	dp_snapshot_fini(&bk->meta);
	dp_parent_free(bk->parent);
	dp_cbl_fini(&bk->changed);
	free(bk->journal_dir);
	free(bk->items);
	free(bk->slots);
	free(bk->workers);
	pthread_mutex_destroy(&bk->ring_lock);
	pthread_cond_destroy(&bk->ring_cond);
	pthread_mutex_destroy(&bk->mpart_lock);
	pthread_cond_destroy(&bk->mpart_cond);
}

static int bk_labels(struct dp_snapshot *m, const char *const *labels, size_t n)
{
	m->labels = calloc(n + 1, sizeof(*m->labels));
	if (!m->labels)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(labels[i], '=');

		if (!eq || eq == labels[i])
			return dp_fail(-EINVAL, "label '%s' is not key=value", labels[i]);
		for (size_t j = 0; j < m->nlabels; j++)
			if (strlen(m->labels[j].key) == (size_t)(eq - labels[i]) &&
			    !strncmp(m->labels[j].key, labels[i], (size_t)(eq - labels[i])))
				return dp_fail(-EINVAL, "label '%.*s' given twice",
					       (int)(eq - labels[i]), labels[i]);
		m->labels[m->nlabels].key = strndup(labels[i], (size_t)(eq - labels[i]));
		m->labels[m->nlabels].value = strdup(eq + 1);
		m->nlabels++;
		if (!m->labels[m->nlabels - 1].key || !m->labels[m->nlabels - 1].value)
			return -ENOMEM;
	}
	return 0;
}

/* Io size: one pack part; S3 wants >= 5 MiB. */
static size_t dp_io_size(uint64_t budget)
{
	return budget >= (256ull << 20) ? (16u << 20) : (8u << 20);
}

/* On the job's thread, with its memory reserved: buffers, queues, the ring. */
static int bk_setup(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);
	uint64_t budget = job->reserved;
	int ret;

	ret = dp_bufs_init(&bk->bufs, budget, bk->chunk_size, dp_io_size(budget), &bk->job.stop);
	if (ret)
		return ret;
	bk->qd = bk->qd_opt ? bk->qd_opt : bk->bufs.nchunk / 2;
	if (bk->qd > QD_MAX)
		bk->qd = QD_MAX;
	if (bk->qd > bk->bufs.nchunk / 2)
		bk->qd = bk->bufs.nchunk / 2;
	if (bk->qd < 1)
		bk->qd = 1;
	bk->nslots = 1;
	while (bk->nslots < 2ull * bk->bufs.nchunk)
		bk->nslots <<= 1;
	bk->slots = calloc(bk->nslots, sizeof(*bk->slots));
	bk->items = calloc(bk->bufs.nchunk, sizeof(*bk->items));
	bk->mbuf = malloc(bk->bufs.io_size);
	bk->mpart_size = bk->bufs.io_size;
#ifdef FERRY_TEST_HOOKS
	/* tests reach a manifest written in several parts without a huge volume */
	if (getenv("FERRY_TEST_MANIFEST_PART")) {
		size_t v = strtoul(getenv("FERRY_TEST_MANIFEST_PART"), NULL, 10);

		if (v >= 64 && v < bk->mpart_size)
			bk->mpart_size = v;
	}
#endif
	if (!bk->slots || !bk->items || !bk->mbuf)
		return -ENOMEM;
	ret = dp_queue_init(&bk->work, bk->bufs.nchunk, &bk->job.stop);
	if (!ret)
		ret = dp_chunkidx_new(&bk->ix);
	if (!ret)
		ret = dp_mwriter_new(bk_manifest_emit, bk, &job->repo->keys, bk->meta.id, &bk->mw);
	if (ret)
		return ret;

	/* I/O: io_uring unless refused */
	if (!bk->no_uring) {
		ret = dp_ring_init(&bk->ring, bk->qd, &bk->bufs);
		if (ret)
			pr_warn("notice: io_uring is not available (%s): reading with pread",
				strerror(-ret));
	}
	snprintf(bk->job.result.io_mode, sizeof(bk->job.result.io_mode), "%s%s",
		 bk->ring.ring ? "io_uring" : "pread",
		 bk->dev.direct ? "+O_DIRECT" : " (buffered)");
	return 0;
}

/* After the run: the buffers go back to the pool at once. */
static void bk_release(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_packer_free(bk->packer);
	bk->packer = NULL;
	dp_ring_fini(&bk->ring);
	dp_bufs_fini(&bk->bufs);
}

int dp_backup_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_backup_opts *opts,
		    struct dp_job **out)
{
	struct dp_backup_opts o = {0};
	struct bk_job *bk;
	struct dp_snapshot *m;
	char ident[1024], host[256];
	uint64_t budget;
	int ret;

	dp_clear_error();
	*out = NULL;
	memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	bk = calloc(1, sizeof(*bk));
	if (!bk)
		return -ENOMEM;
	dp_job_init(&bk->job, repo, pool);
	bk->job.setup = bk_setup;
	bk->job.run = bk_run;
	bk->job.release = bk_release;
	bk->job.wake = bk_wake;
	bk->job.fini = bk_fini;
	bk->dev.fd = bk->dev.fd_buffered = -1;
	pthread_mutex_init(&bk->ring_lock, NULL);
	pthread_cond_init(&bk->ring_cond, NULL);
	pthread_mutex_init(&bk->mpart_lock, NULL);
	pthread_cond_init(&bk->mpart_cond, NULL);
	bk->chunk_size = repo->info.chunk_size;
	bk->threads = o.threads ? o.threads : dp_online_cpus();
	if (bk->threads > 256)
		bk->threads = 256;
	bk->level = o.compression ? o.compression : DP_COMPRESSION_DEFAULT;
	if (bk->level != DP_COMPRESSION_OFF &&
	    (bk->level < ZSTD_minCLevel() || bk->level > ZSTD_maxCLevel())) {
		ret = dp_fail(-EINVAL, "compression level %d is outside zstd's %d..%d", bk->level,
			      ZSTD_minCLevel(), ZSTD_maxCLevel());
		goto out_free;
	}
	bk->pack_target = o.pack_size ? o.pack_size : DP_PACK_SIZE_DEFAULT;
	if (bk->pack_target < (1u << 20) || bk->pack_target > (4ull << 30)) {
		ret = dp_fail(-EINVAL, "pack size must be between 1 MiB and 4 GiB");
		goto out_free;
	}

	/* the snapshot's identity */
	m = &bk->meta;
	ret = dp_random_id(m->id);
	if (ret)
		goto out_free;
	snprintf(bk->mkey, sizeof(bk->mkey), "snapshots/%s", m->id);
	if (!o.volume) {
		ret = dp_volume_identity(o.source, ident, sizeof(ident));
		if (ret)
			goto out_free;
	}
	if (o.volume && (!o.volume[0] || strlen(o.volume) > 255 || strpbrk(o.volume, "\n\r\t"))) {
		ret = dp_fail(
			-EINVAL,
			"volume name must have 1 to 255 characters and no control characters");
		goto out_free;
	}
	if (!o.hostname && gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	m->volume = strdup(o.volume ? o.volume : ident);
	m->source = strdup(o.source);
	m->hostname = strdup(o.hostname ? o.hostname : host);
	if (!m->volume || !m->source || !m->hostname) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = bk_labels(m, o.labels, o.nlabels);
	if (ret)
		goto out_free;
	m->chunk_size = bk->chunk_size;
	m->time_start = dp_now_us();
	snprintf(bk->job.result.volume, sizeof(bk->job.result.volume), "%s", m->volume);

	/* the source */
	ret = dp_dev_open_source(&bk->dev, o.source, o.no_direct);
	if (ret)
		goto out_free;
	m->size = bk->dev.size;
	atomic_store(&bk->job.bytes_total, bk->dev.size);

	/* the parent, and what changed since it */
	if (o.changed && !o.parent) {
		ret = dp_fail(
			-EINVAL,
			"a changed-block list needs the parent snapshot it was computed against");
		goto out_free;
	}
	if (o.parent) {
		if (o.parent->chunk_size != bk->chunk_size) {
			ret = dp_fail(-EUCLEAN, "parent %.16s has chunk size %u, the repository %u",
				      o.parent->id, o.parent->chunk_size, bk->chunk_size);
			goto out_free;
		}
		memcpy(m->parent, o.parent->id, sizeof(m->parent));
		memcpy(bk->job.result.parent, o.parent->id, sizeof(m->parent));
	}
	if (o.verify) {
		if (!o.parent || o.changed) {
			ret = dp_fail(
				-EINVAL,
				"verifying needs the snapshot to compare with, and no changed-block list");
			goto out_free;
		}
		bk->verify = true;
		bk->parent_size = o.parent->size;
		ret = dp_parent_open(repo, o.parent->id, &bk->parent);
		if (ret)
			goto out_free;
	}
	if (o.changed) {
		if (strcmp(o.changed->parent, o.parent->id)) {
			ret = dp_fail(
				-ESTALE,
				"the changed-block list was computed against snapshot %.16s, not the parent %.16s: refused",
				o.changed->parent, o.parent->id);
			goto out_free;
		}
		if (o.changed->size && o.changed->size != bk->dev.size) {
			ret = dp_fail(
				-ESTALE,
				"the changed-block list describes a volume of %llu bytes, %s has %llu: refused",
				(unsigned long long)o.changed->size, o.source,
				(unsigned long long)bk->dev.size);
			goto out_free;
		}
		memcpy(bk->changed.parent, o.changed->parent, sizeof(bk->changed.parent));
		for (size_t i = 0; i < o.changed->n; i++) {
			ret = dp_cbl_add(&bk->changed, o.changed->ranges[i].off,
					 o.changed->ranges[i].len);
			if (ret)
				goto out_free;
		}
		dp_cbl_normalize(&bk->changed);
		bk->has_changed = true;
		bk->parent_size = o.parent->size;
		ret = dp_parent_open(repo, o.parent->id, &bk->parent);
		if (ret)
			goto out_free;
	}

	if (o.state_dir && !o.verify) {
		char name[300];

		snprintf(name, sizeof(name), "volume:%s", m->volume);
		ret = dp_journal_dir(o.state_dir, repo, name, &bk->journal_dir);
		if (ret)
			goto out_free;
	}

	/* a shared lock: no prune while this backup may dedup against what it sees */
	ret = dp_lock_acquire(repo, false, "backup", &bk->job.repo_lock);
	if (ret)
		goto out_free;

	/* memory: the job's share of the pool, reserved by the job's thread (bk_setup()) */
	budget = o.memory ? o.memory : dp_pool_size(pool);
	if (budget > dp_pool_size(pool))
		budget = dp_pool_size(pool);
	bk->job.want = budget;
	bk->qd_opt = o.queue_depth;
	bk->no_uring = o.no_uring;
	ret = dp_job_launch(&bk->job);
	if (ret)
		goto out_free;
	*out = &bk->job;
	return 0;
out_free:
	dp_job_free(&bk->job);
	return ret;
}
