// SPDX-License-Identifier: MIT
/*
 * datapath/restore.c - the restore pipeline.
 *
 *   planner (the job's thread)  streams the manifest; takes its references in
 *        |                      windows, sorts a window by (pack, offset),
 *        |                      merges references to one chunk, coalesces
 *        |                      neighbouring chunks of a pack into one ranged
 *        |                      read of at most one I/O buffer, and queues it
 *        v  (store: async ranged reads, at most one per I/O buffer)
 *   decoders (N threads)        per chunk of a read: zstd -> chunk buffer,
 *        |                      length and SHA-256 checked against its id
 *        v  write queue
 *   writer (1 thread, io_uring) writes each chunk at every volume offset
 *                               that refers to it; zero runs become holes
 *                               (nothing on a fresh file, PUNCH_HOLE on an
 *                               old one, BLKZEROOUT on a device)
 *
 * Memory: the window (at most WINDOW_REFS references, 64 bytes each), the
 * job's I/O buffers (ranged reads in flight) and chunk buffers (decoded
 * chunks waiting for their writes). The manifest is read in pieces of
 * MANIFEST_READ bytes and never held whole, so RSS does not grow with the
 * volume's size.
 *
 * The manifest is read twice: first as a whole and verified (every record
 * decodes, each segment holds what it says, the records cover exactly the
 * volume, every chunk is in an index, the checksum and the snapshot's name
 * match) before the target is created, truncated or written at all, so a
 * damaged manifest leaves an existing target as it was and a missing one
 * uncreated; then again, streamed, to plan the reads. The second pass costs
 * the manifest's size again in reads (about 33 bytes per chunk: 530 MB for
 * a 16 TiB volume at 1 MiB chunks, against the 16 TiB restored) and no
 * memory or disk; datapath/README.md says why it is not spooled.
 *
 * A delta apply (opts.onto: the target holds that parent) is the same job
 * with another planner (rs_plan_delta()): the parent's manifest is verified
 * in the first pass too, the target's stamp (stamp.c) is checked and marked
 * dirty before the first write, and the second pass walks the parent's
 * manifest beside the snapshot's with a cursor (dp_parent_get()): only
 * chunks whose extent or reference differ are planned, zeroed in runs, or
 * written through the same decoders and writer. Every restore and apply
 * stamps the target clean after its sync.
 *
 * The restore succeeds only if every reference was written and verified,
 * every zero run was zeroed, and the target was synced.
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <liburing.h>
#include <zstd.h>

#include "pool.h"
#include "queue.h"
#include "blob.h"
#include "chunkidx.h"
#include "repo_int.h"
#include "manifest.h"
#include "fetch.h"
#include "blkdev.h"
#include "uring.h"
#include "job.h"
#include "dp_json.h"
#include "stamp.h"
#include "s3/store.h"

#define WINDOW_REFS   16384 /* as fetch.c's window */
#define MANIFEST_READ (1u << 20)
#define QD_MAX	      64

/* One write: a decoded chunk buffer at one volume offset. */
struct rs_write {
	void *buf;
	uint64_t off;
	uint32_t len;
	uint32_t done;	   /* bytes written so far */
	atomic_uint *refs; /* writes left that share @buf */
};

struct rs_job {
	struct dp_job job;
	struct dp_dev dev;
	struct dp_bufs bufs;
	struct dp_ring ring;
	struct dp_queue fetched, writes;
	struct dp_chunkidx *ix;
	struct dp_snapshot meta;
	uint32_t chunk_size;
	unsigned int threads, qd;
	struct dp_fetcher *fetcher;
	unsigned int qd_opt;
	bool no_uring, no_direct;
	char *target; /* opened once the manifest verified */
	pthread_t writer, *decoders;
	unsigned int ndecoders;
	bool writer_started;
	/* stamps, and a delta apply */
	char *stamp;   /* the stamp's file; NULL: the image file's xattr */
	bool stamping; /* the target keeps a stamp */
	bool delta;    /* an apply onto @onto */
	struct dp_snapshot onto;
	struct dp_parent *parent; /* cursor over @onto's manifest */
	uint64_t zoff, zlen;	  /* zeroing not done yet: [zoff, zoff + zlen) */
};

static struct rs_job *rs_of(struct dp_job *job)
{
	return (struct rs_job *)job;
}

static void rs_wake(struct dp_job *job)
{
	struct rs_job *rs = rs_of(job);

	dp_bufs_wake(&rs->bufs);
	dp_queue_wake(&rs->fetched);
	dp_queue_wake(&rs->writes);
	dp_fetcher_wake(rs->fetcher);
}

/* ------------------------------------------------------------------ writer */

static uint32_t rs_chunk_len(struct rs_job *rs, uint64_t off)
{
	uint64_t left = rs->meta.size - off;

	return left < rs->chunk_size ? (uint32_t)left : rs->chunk_size;
}

static void rs_write_release(struct rs_job *rs, struct rs_write *w)
{
	if (atomic_fetch_sub(w->refs, 1) == 1) {
		free(w->refs);
		dp_bufs_put_chunk(&rs->bufs, w->buf);
	}
	free(w);
}

static bool rs_write_is_aligned(struct rs_job *rs, const struct rs_write *w)
{
	unsigned int a = rs->dev.align;

	return !rs->dev.direct || ((w->off + w->done) % a == 0 && (w->len - w->done) % a == 0);
}

/* A write O_DIRECT cannot do (the unaligned tail of a volume): buffered pwrite. */
static int rs_write_buffered(struct rs_job *rs, struct rs_write *w)
{
	if (rs->dev.fd_buffered < 0) {
		rs->dev.fd_buffered = open(rs->dev.path, O_WRONLY | O_CLOEXEC);
		if (rs->dev.fd_buffered < 0)
			return -errno;
	}
	while (w->done < w->len) {
		ssize_t n = pwrite(rs->dev.fd_buffered, (char *)w->buf + w->done, w->len - w->done,
				   (off_t)(w->off + w->done));

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		w->done += (uint32_t)n;
	}
	return 0;
}

static int rs_write_finished(struct rs_job *rs, struct rs_write *w, int res)
{
	/* the write is retried once O_DIRECT is off (see dp_dev_drop_direct()) */
	if (res == -EINVAL && rs->dev.direct && !dp_dev_drop_direct(&rs->dev))
		return 0;
	if (res < 0)
		return dp_job_fail(&rs->job, res, "writing %s at offset %llu: %s", rs->dev.path,
				   (unsigned long long)(w->off + w->done), strerror(-res));
	if (res == 0)
		return dp_job_fail(&rs->job, -EIO, "writing %s at offset %llu: no progress",
				   rs->dev.path, (unsigned long long)(w->off + w->done));
	w->done += (uint32_t)res;
	if (w->done < w->len)
		return 0;
	atomic_fetch_add(&rs->job.bytes_written, w->len);
	atomic_fetch_add(&rs->job.bytes_done, w->len);
	rs_write_release(rs, w);
	return 1;
}

static void rs_write_queue(struct rs_job *rs, struct rs_write *w)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(rs->ring.ring);
	const char *src = (const char *)w->buf + w->done;

	if (rs->ring.fixed)
		io_uring_prep_write_fixed(sqe, rs->dev.fd, src, w->len - w->done, w->off + w->done,
					  (int)dp_bufs_chunk_index(&rs->bufs, w->buf));
	else
		io_uring_prep_write(sqe, rs->dev.fd, src, w->len - w->done, w->off + w->done);
	io_uring_sqe_set_data(sqe, w);
}

/* Write without the ring: pwrite, O_DIRECT where aligned. */
static int rs_write_sync(struct rs_job *rs, struct rs_write *w)
{
	while (w->done < w->len) {
		ssize_t n;
		int ret;

		if (!rs_write_is_aligned(rs, w)) {
			ret = rs_write_buffered(rs, w);
			return ret ? rs_write_finished(rs, w, ret)
				   : rs_write_finished(rs, w, (int)(w->done = 0, w->len));
		}
		n = pwrite(rs->dev.fd, (char *)w->buf + w->done, w->len - w->done,
			   (off_t)(w->off + w->done));
		if (n < 0 && errno == EINTR)
			continue;
		ret = rs_write_finished(rs, w, n < 0 ? -errno : (int)n);
		if (ret)
			return ret;
	}
	return 0;
}

static void rs_writer_uring(struct rs_job *rs)
{
	struct io_uring *ring = rs->ring.ring;
	unsigned int inflight = 0;
	bool closed = false;

	for (;;) {
		struct io_uring_cqe *cqe;
		unsigned int head, seen = 0;
		int ret;

		while (inflight < rs->qd && !closed && !dp_job_stopped(&rs->job)) {
			struct rs_write *w;

			if (inflight == 0) {
				w = dp_queue_pop(&rs->writes);
				if (!w) {
					closed = true;
					break;
				}
			} else {
				w = dp_queue_trypop(&rs->writes, &closed);
				if (!w)
					break;
			}
			if (!rs_write_is_aligned(rs, w)) {
				ret = rs_write_buffered(rs, w);
				if (ret) {
					rs_write_finished(rs, w, ret);
					rs_write_release(rs, w);
				} else {
					w->done = 0;
					rs_write_finished(rs, w, (int)w->len);
				}
				continue;
			}
			rs_write_queue(rs, w);
			inflight++;
		}
		if (!inflight && (closed || dp_job_stopped(&rs->job)))
			break;
		if (!inflight)
			continue;
		ret = io_uring_submit_and_wait(ring, 1);
		if (ret < 0 && ret != -EINTR) {
			dp_job_fail(&rs->job, ret, "io_uring_submit: %s", strerror(-ret));
			break;
		}
		io_uring_for_each_cqe(ring, head, cqe) {
			struct rs_write *w = io_uring_cqe_get_data(cqe);

			seen++;
			ret = rs_write_finished(rs, w, cqe->res);
			if (ret == 0 && !dp_job_stopped(&rs->job)) {
				rs_write_queue(rs, w);
				continue;
			}
			inflight--;
			if (ret < 0 || (ret == 0 && dp_job_stopped(&rs->job)))
				rs_write_release(rs, w);
		}
		io_uring_cq_advance(ring, seen);
	}
	/* writes in flight own their buffers: let them land before the ring goes */
	while (inflight) {
		struct io_uring_cqe *cqe;

		if (io_uring_submit_and_wait(ring, 1) < 0 || io_uring_peek_cqe(ring, &cqe))
			break;
		rs_write_release(rs, io_uring_cqe_get_data(cqe));
		io_uring_cqe_seen(ring, cqe);
		inflight--;
	}
}

static void *rs_writer_main(void *arg)
{
	struct rs_job *rs = arg;
	struct rs_write *w;
	bool closed;

	if (rs->ring.ring) {
		int ret = dp_ring_enable(&rs->ring);

		if (ret)
			dp_job_fail(&rs->job, ret, "io_uring: enabling the ring: %s",
				    strerror(-ret));
		else
			rs_writer_uring(rs);
	} else {
		while ((w = dp_queue_pop(&rs->writes))) {
			if (rs_write_sync(rs, w) < 0) {
				rs_write_release(rs, w);
				break;
			}
		}
	}
	/* after a failure: release what is still queued */
	while ((w = dp_queue_trypop(&rs->writes, &closed)))
		rs_write_release(rs, w);
	return NULL;
}

/* ---------------------------------------------------------------- decoders */

static int rs_decode_chunk(struct rs_job *rs, struct dp_blobdec *d, struct dp_fetch *f,
			   const struct dp_fetch_chunk *c)
{
	const uint8_t *src = (const uint8_t *)f->buf + (c->loc.offset - f->off);
	char hex[2 * DP_ID_LEN + 1];
	const char *why;
	atomic_uint *refs;
	void *buf;
	size_t n;

	dp_test_point(rs->delta ? "apply-chunk" : "restore-chunk");
	buf = dp_bufs_get_chunk(&rs->bufs);
	if (!buf)
		return -ECANCELED;
	if (dp_blob_decode(d, c->id, c->loc.kind, c->loc.raw_len, src, c->loc.stored_len, buf,
			   &why)) {
		dp_bufs_put_chunk(&rs->bufs, buf);
		dp_hex(c->id, DP_ID_LEN, hex);
		return dp_job_fail(&rs->job, -EUCLEAN, "chunk %.16s in %s is damaged: %s", hex,
				   f->key, why);
	}
	n = c->loc.raw_len;
	dp_hex(c->id, DP_ID_LEN, hex);
	refs = malloc(sizeof(*refs));
	if (!refs) {
		dp_bufs_put_chunk(&rs->bufs, buf);
		return dp_job_fail(&rs->job, -ENOMEM, "out of memory");
	}
	atomic_init(refs, c->ntags);
	for (uint32_t i = 0; i < c->ntags; i++) {
		uint64_t off = f->tags[c->first + i];
		struct rs_write *w = calloc(1, sizeof(*w));

		if (!w || rs_chunk_len(rs, off) != n) {
			/* release the references no write took */
			uint32_t left = c->ntags - i;

			free(w);
			if (atomic_fetch_sub(refs, left) == left) {
				free(refs);
				dp_bufs_put_chunk(&rs->bufs, buf);
			}
			if (w)
				return dp_job_fail(
					&rs->job, -EUCLEAN,
					"chunk %.16s has %zu bytes where the volume needs %u at offset %llu",
					hex, n, rs_chunk_len(rs, off), (unsigned long long)off);
			return dp_job_fail(&rs->job, -ENOMEM, "out of memory");
		}
		w->buf = buf;
		w->off = off;
		w->len = (uint32_t)n;
		w->refs = refs;
		if (dp_queue_push(&rs->writes, w)) {
			uint32_t left = c->ntags - i;

			free(w);
			if (atomic_fetch_sub(refs, left) == left) {
				free(refs);
				dp_bufs_put_chunk(&rs->bufs, buf);
			}
			return -ECANCELED;
		}
	}
	atomic_fetch_add(&rs->job.chunks_new, 1);
	return 0;
}

static void *rs_decoder_main(void *arg)
{
	struct rs_job *rs = arg;
	struct dp_blobdec *d = NULL;
	struct dp_fetch *f;
	bool closed;
	int setup;

	setup = dp_blobdec_new(&rs->job.repo->keys, rs->chunk_size, &d);
	if (setup) {
		dp_job_fail(&rs->job, setup, "out of memory");
		goto out;
	}
	while ((f = dp_queue_pop(&rs->fetched))) {
		int ret = 0;

		if (f->ret < 0) {
			int err = f->ret == -ENOENT ? -EUCLEAN : f->ret;

			dp_job_fail(&rs->job, err, "%s: %s%s", f->key,
				    f->ret == -ENOENT ? "pack is missing from the repository: "
						      : "",
				    f->detail[0] ? f->detail : strerror(-f->ret));
			dp_fetch_free(f);
			break;
		}
		if ((uint32_t)f->ret != f->len) {
			dp_job_fail(&rs->job, -EUCLEAN,
				    "%s is damaged: %d bytes at offset %llu, expected %u", f->key,
				    f->ret, (unsigned long long)f->off, f->len);
			dp_fetch_free(f);
			break;
		}
		atomic_fetch_add(&rs->job.bytes_read, f->len);
		for (uint32_t i = 0; i < f->nchunks && !ret; i++)
			ret = rs_decode_chunk(rs, d, f, &f->chunks[i]);
		dp_fetch_free(f);
		if (ret)
			break;
	}
out:
	/* after a failure: release what is still queued */
	while ((f = dp_queue_trypop(&rs->fetched, &closed)))
		dp_fetch_free(f);
	dp_blobdec_free(d);
	return NULL;
}

/* ----------------------------------------------------------------- planner */

/* What a reference would do, checked: it lies in the volume, its chunk is in an index. */
static int rs_check_ref(struct rs_job *rs, const struct dp_ref *ref, uint64_t *vol_off)
{
	char hex[2 * DP_ID_LEN + 1];
	uint64_t left = rs->meta.size - *vol_off;

	if (*vol_off >= rs->meta.size || (ref->zero && ref->count > left / rs->chunk_size + 1))
		return dp_job_fail(&rs->job, -EUCLEAN,
				   "manifest of %s describes more than the volume's %llu bytes",
				   rs->meta.id, (unsigned long long)rs->meta.size);
	if (!ref->zero && !dp_chunkidx_lookup(rs->ix, ref->id, NULL)) {
		dp_hex(ref->id, DP_ID_LEN, hex);
		return dp_job_fail(
			&rs->job, -EUCLEAN,
			"the repository is damaged: chunk %.16s (volume offset %llu) is in no pack index",
			hex, (unsigned long long)*vol_off);
	}
	if (ref->zero && ref->count * rs->chunk_size < left)
		*vol_off += ref->count * rs->chunk_size;
	else if (ref->zero)
		*vol_off = rs->meta.size;
	else
		*vol_off += rs_chunk_len(rs, *vol_off);
	return 0;
}

static int rs_plan_ref(struct rs_job *rs, const struct dp_ref *ref, uint64_t *vol_off)
{
	char hex[2 * DP_ID_LEN + 1];
	struct dp_loc loc;
	int ret;

	if (ref->zero) {
		uint64_t bytes, left = rs->meta.size - *vol_off;

		if (*vol_off >= rs->meta.size || ref->count > left / rs->chunk_size + 1)
			return dp_job_fail(
				&rs->job, -EUCLEAN,
				"manifest of %s describes more than the volume's %llu bytes",
				rs->meta.id, (unsigned long long)rs->meta.size);
		bytes = ref->count * rs->chunk_size;
		if (bytes > left)
			bytes = left;
		ret = dp_dev_zero(&rs->dev, *vol_off, bytes);
		if (ret)
			return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
		atomic_fetch_add(&rs->job.bytes_zero, bytes);
		atomic_fetch_add(&rs->job.bytes_done, bytes);
		atomic_fetch_add(&rs->job.chunks_zero, ref->count);
		atomic_fetch_add(&rs->job.chunks_total, ref->count);
		*vol_off += bytes;
		return 0;
	}
	if (*vol_off >= rs->meta.size)
		return dp_job_fail(&rs->job, -EUCLEAN,
				   "manifest of %s describes more than the volume's %llu bytes",
				   rs->meta.id, (unsigned long long)rs->meta.size);
	if (!dp_chunkidx_lookup(rs->ix, ref->id, &loc)) {
		dp_hex(ref->id, DP_ID_LEN, hex);
		return dp_job_fail(
			&rs->job, -EUCLEAN,
			"the repository is damaged: chunk %.16s (volume offset %llu) is in no pack index",
			hex, (unsigned long long)*vol_off);
	}
	ret = dp_fetcher_add(rs->fetcher, ref->id, &loc, *vol_off);
	atomic_fetch_add(&rs->job.chunks_total, 1);
	*vol_off += rs_chunk_len(rs, *vol_off);
	return ret;
}

/* Zero what the apply has collected: holes punched in a file, BLKZEROOUT on a device. */
static int rs_zero_flush(struct rs_job *rs)
{
	int ret;

	if (!rs->zlen)
		return 0;
	ret = dp_dev_zero(&rs->dev, rs->zoff, rs->zlen);
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	atomic_fetch_add(&rs->job.bytes_zero, rs->zlen);
	atomic_fetch_add(&rs->job.bytes_done, rs->zlen);
	rs->zlen = 0;
	dp_test_point("apply-zeroed");
	return 0;
}

/*
 * Whether the chunk at @off (@len bytes: a zero chunk if @id is NULL) is
 * what the parent holds there: the same extent (a last chunk that grew or
 * shrank is not) and the same reference.
 */
static int rs_parent_same(struct rs_job *rs, uint64_t off, uint32_t len, const uint8_t *id,
			  bool *same)
{
	uint8_t pid[DP_ID_LEN];
	uint64_t left;
	bool pzero;
	int ret;

	*same = false;
	if (off >= rs->onto.size)
		return 0;
	left = rs->onto.size - off;
	if ((left < rs->chunk_size ? left : rs->chunk_size) != len)
		return 0;
	ret = dp_parent_get(rs->parent, off / rs->chunk_size, &pzero, pid, NULL);
	if (ret)
		return dp_job_fail(&rs->job, ret == -ENOENT ? -EUCLEAN : ret, "snapshot %s: %s",
				   rs->onto.id, dp_last_error());
	*same = id ? !pzero && !memcmp(pid, id, DP_ID_LEN) : pzero;
	return 0;
}

static void rs_unchanged(struct rs_job *rs, uint32_t len)
{
	atomic_fetch_add(&rs->job.bytes_unchanged, len);
	atomic_fetch_add(&rs->job.bytes_done, len);
	atomic_fetch_add(&rs->job.chunks_unchanged, 1);
	atomic_fetch_add(&rs->job.chunks_total, 1);
}

/* The plan of a delta apply: only what differs from the parent is written or zeroed. */
static int rs_plan_delta(struct rs_job *rs, const struct dp_ref *ref, uint64_t *vol_off)
{
	uint64_t left = rs->meta.size - *vol_off;
	bool same;
	int ret;

	if (*vol_off >= rs->meta.size || (ref->zero && ref->count > left / rs->chunk_size + 1))
		return dp_job_fail(&rs->job, -EUCLEAN,
				   "manifest of %s describes more than the volume's %llu bytes",
				   rs->meta.id, (unsigned long long)rs->meta.size);
	if (!ref->zero) {
		uint32_t len = rs_chunk_len(rs, *vol_off);

		ret = rs_parent_same(rs, *vol_off, len, ref->id, &same);
		if (ret || !same)
			return ret ? ret : rs_plan_ref(rs, ref, vol_off);
		rs_unchanged(rs, len);
		*vol_off += len;
		return 0;
	}
	for (uint64_t i = 0; i < ref->count && *vol_off < rs->meta.size; i++) {
		uint32_t len = rs_chunk_len(rs, *vol_off);

		ret = rs_parent_same(rs, *vol_off, len, NULL, &same);
		if (ret)
			return ret;
		if (same) {
			rs_unchanged(rs, len);
		} else {
			if (rs->zlen && rs->zoff + rs->zlen != *vol_off) {
				ret = rs_zero_flush(rs);
				if (ret)
					return ret;
			}
			if (!rs->zlen)
				rs->zoff = *vol_off;
			rs->zlen += len;
			atomic_fetch_add(&rs->job.chunks_zero, 1);
			atomic_fetch_add(&rs->job.chunks_total, 1);
		}
		*vol_off += len;
	}
	return 0;
}

typedef int (*rs_ref_fn)(struct rs_job *rs, const struct dp_ref *ref, uint64_t *vol_off);

/*
 * Stream the manifest to its end, each reference to @fn: the checks of
 * rs_check_ref() (the first pass), or the plan of rs_plan_ref() (the second).
 * Fails the job unless every byte decodes, the checksum matches and the
 * references cover exactly the volume.
 */
static int rs_manifest_pass(struct rs_job *rs, rs_ref_fn fn)
{
	struct dp_mreader *mr = NULL;
	char key[96];
	uint64_t size, pos = 0, vol_off = 0;
	void *buf = NULL;
	int ret;

	snprintf(key, sizeof(key), "snapshots/%s", rs->meta.id);
	ret = s3_store_head(rs->job.repo->st, key, &size);
	if (ret)
		return dp_job_fail(&rs->job, ret == -ENOENT ? -ENOENT : ret, "%s: %s", key,
				   dp_store_detail());
	ret = dp_mreader_new(size, &rs->job.repo->keys, rs->meta.id, &mr);
	if (ret)
		return dp_job_fail(&rs->job, ret == -EBADMSG ? -EUCLEAN : ret, "%s: %s", key,
				   dp_last_error());
	buf = malloc(MANIFEST_READ);
	if (!buf) {
		ret = dp_job_fail(&rs->job, -ENOMEM, "out of memory");
		goto out;
	}
	while (pos < size && !dp_job_stopped(&rs->job)) {
		size_t want = size - pos < MANIFEST_READ ? (size_t)(size - pos) : MANIFEST_READ;
		ssize_t n = s3_store_get_range(rs->job.repo->st, key, pos, buf, want);
		struct dp_ref ref;

		if (n < 0) {
			ret = dp_job_fail(&rs->job, (int)n, "reading %s: %s", key,
					  dp_store_detail());
			goto out;
		}
		if ((size_t)n != want) {
			ret = dp_job_fail(&rs->job, -EUCLEAN, "%s changed while it was read", key);
			goto out;
		}
		pos += want;
		ret = dp_mreader_feed(mr, buf, want);
		while (!ret && (ret = dp_mreader_next(mr, &ref)) == 1)
			ret = fn(rs, &ref, &vol_off);
		if (ret < 0) {
			if (ret != -ECANCELED && !dp_job_stopped(&rs->job))
				dp_job_fail(&rs->job, ret == -EBADMSG ? -EUCLEAN : ret,
					    "snapshot %s: manifest: %s", rs->meta.id,
					    dp_last_error());
			goto out;
		}
	}
	if (dp_job_stopped(&rs->job)) {
		ret = -ECANCELED;
		goto out;
	}
	ret = dp_mreader_finish(mr);
	if (ret) {
		ret = dp_job_fail(&rs->job, ret == -EBADMSG ? -EUCLEAN : ret,
				  "snapshot %s: manifest: %s", rs->meta.id, dp_last_error());
		goto out;
	}
	if (vol_off != rs->meta.size) {
		ret = dp_job_fail(&rs->job, -EUCLEAN,
				  "manifest of %s covers %llu of the volume's %llu bytes",
				  rs->meta.id, (unsigned long long)vol_off,
				  (unsigned long long)rs->meta.size);
		goto out;
	}
out:
	free(buf);
	dp_mreader_free(mr);
	return ret;
}

/* ------------------------------------------------------------------ stamps */

/* The target's stamp says: being written (@dirty), or holding the snapshot. */
static int rs_stamp(struct rs_job *rs, bool dirty)
{
	struct dp_stamp st = {.dirty = dirty};
	int ret;

	if (!rs->stamping)
		return 0;
	snprintf(st.snapshot, sizeof(st.snapshot), "%s", rs->meta.id);
	if (dirty && rs->delta)
		snprintf(st.parent, sizeof(st.parent), "%s", rs->onto.id);
	if (!dirty) {
		ret = dp_stamp_identity(rs->target, st.target, sizeof(st.target));
		if (ret)
			return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	}
	ret = dp_stamp_write(rs->target, rs->stamp, &st);
	if (ret == -ENOTSUP && dirty && !rs->delta && !rs->stamp) {
		/* a filesystem without user attributes: the restore goes on, unstamped */
		pr_warn("notice: %s; a delta apply onto %s will be refused", dp_last_error(),
			rs->target);
		rs->stamping = false;
		return 0;
	}
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	return 0;
}

/* A delta apply goes on only onto a target whose clean stamp names its parent. */
static int rs_stamp_check(struct rs_job *rs)
{
	char now[DP_STAMP_ID_MAX];
	struct dp_stamp st;
	int ret;

	ret = dp_stamp_read(rs->target, rs->stamp, &st);
	if (ret == -ENODATA || ret == -ENOTSUP || ret == -EBADMSG)
		return dp_job_fail(&rs->job, -ESTALE,
				   "%s: no snapshot is known to be on it; restore it in full "
				   "(ferry restore %s %s)",
				   dp_last_error(), rs->meta.id, rs->target);
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	if (st.dirty)
		return dp_job_fail(
			&rs->job, -ESTALE,
			"target %s is dirty: a %s of snapshot %.16s did not finish, so it "
			"may hold a mix of snapshots; restore it in full (ferry restore "
			"%s %s)",
			rs->target, st.parent[0] ? "delta apply" : "restore", st.snapshot,
			rs->meta.id, rs->target);
	if (strcmp(st.snapshot, rs->onto.id))
		return dp_job_fail(&rs->job, -ESTALE,
				   "target %s holds snapshot %.16s, not %.16s: apply onto the "
				   "snapshot it holds (--onto %.16s), or restore it in full "
				   "(ferry restore %s %s)",
				   rs->target, st.snapshot, rs->onto.id, st.snapshot, rs->meta.id,
				   rs->target);
	ret = dp_stamp_identity(rs->target, now, sizeof(now));
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	if (strcmp(now, st.target))
		return dp_job_fail(
			&rs->job, -ESTALE,
			"target %s changed since it was stamped with snapshot %.16s (%s, "
			"now %s); restore it in full (ferry restore %s %s)",
			rs->target, st.snapshot, st.target, now, rs->meta.id, rs->target);
	return 0;
}

/* The target of an apply: checked, marked dirty, sized; the parent's cursor. */
static int rs_apply_open(struct rs_job *rs)
{
	int ret;

	ret = dp_dev_open_existing(&rs->dev, rs->target, rs->meta.size, rs->no_direct);
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	/* one apply at a time: another between our check and our dirty mark would mix */
	if (flock(rs->dev.fd, LOCK_EX | LOCK_NB))
		return dp_job_fail(&rs->job, errno == EWOULDBLOCK ? -EBUSY : -errno,
				   "target %s: %s", rs->target,
				   errno == EWOULDBLOCK ? "another apply onto it is running"
							: strerror(errno));
	ret = rs_stamp_check(rs);
	if (ret)
		return ret;
	ret = dp_parent_open(rs->job.repo, rs->onto.id, &rs->parent);
	if (ret)
		return dp_job_fail(&rs->job, ret, "%s", dp_last_error());
	/* from here on the target is not what its stamp said: dirty until the end */
	ret = rs_stamp(rs, true);
	if (ret)
		return ret;
	dp_test_point("apply-dirty");
	if (!rs->dev.is_blk && rs->dev.size != rs->meta.size) {
		if (ftruncate(rs->dev.fd, (off_t)rs->meta.size))
			return dp_job_fail(&rs->job, -errno, "target %s: truncate: %s", rs->target,
					   strerror(errno));
		rs->dev.size = rs->meta.size;
	}
	return 0;
}

static int rs_noop_ref(void *arg, uint64_t idx, const struct dp_ref *ref)
{
	(void)arg;
	(void)idx;
	(void)ref;
	return 0;
}

/* -------------------------------------------------------------------- job */

static void rs_run(struct dp_job *job)
{
	struct rs_job *rs = rs_of(job);
	unsigned int i;
	int ret;

	ret = dp_repo_load_index(job->repo, rs->ix);
	if (ret) {
		dp_job_fail(job, ret == -EBADMSG ? -EUCLEAN : ret, "%s", dp_last_error());
		return;
	}
	/* 1. the whole manifest verified (and the parent's): until then the target is not touched */
	if (rs_manifest_pass(rs, rs_check_ref))
		return;
	if (rs->delta) {
		ret = dp_manifest_walk(job->repo, rs->onto.id, rs_noop_ref, NULL);
		if (ret) {
			dp_job_fail(job, ret, "%s", dp_last_error());
			return;
		}
	}
	dp_test_point("restore-verified");
	/* 2. the target: created, or truncated to the volume's size; an apply's checked */
	if (rs->delta) {
		if (rs_apply_open(rs))
			return;
	} else {
		struct stat sb;
		bool exists = !stat(rs->target, &sb);

		if (exists && rs_stamp(rs, true))
			return;
		ret = dp_dev_open_target(&rs->dev, rs->target, rs->meta.size, rs->no_direct);
		if (ret) {
			dp_job_fail(job, ret, "%s", dp_last_error());
			return;
		}
		if (!exists && rs_stamp(rs, true))
			return;
	}
	/* the ring is still disabled: the job's thread may register the buffers */
	if (rs->ring.ring && dp_dev_bypasses_cache(&rs->dev))
		dp_ring_register(&rs->ring, &rs->bufs);
	snprintf(rs->job.result.io_mode, sizeof(rs->job.result.io_mode), "%s%s",
		 rs->ring.ring ? "io_uring" : "pwrite",
		 rs->dev.direct ? "+O_DIRECT" : " (buffered)");
	pr_debug("restore %s -> %s: %u decoders, %u writes in flight, %u chunk and %u I/O buffers",
		 rs->meta.id, rs->dev.path, rs->threads, rs->qd, rs->bufs.nchunk, rs->bufs.nio);
	rs->decoders = calloc(rs->threads, sizeof(*rs->decoders));
	if (!rs->decoders) {
		dp_job_fail(job, -ENOMEM, "out of memory");
		return;
	}
	ret = pthread_create(&rs->writer, NULL, rs_writer_main, rs);
	rs->writer_started = !ret;
	for (i = 0; !ret && i < rs->threads; i++) {
		ret = pthread_create(&rs->decoders[i], NULL, rs_decoder_main, rs);
		if (!ret)
			rs->ndecoders++;
	}
	/* 3. the manifest again, planning the reads as it goes */
	if (ret)
		dp_job_fail(job, -ret, "cannot start threads: %s", strerror(ret));
	else if (!rs_manifest_pass(rs, rs->delta ? rs_plan_delta : rs_plan_ref) &&
		 !rs_zero_flush(rs))
		dp_fetcher_flush(rs->fetcher);
	/* every ranged read must have come back before the decoders stop */
	dp_fetcher_drain(rs->fetcher);
	dp_queue_close(&rs->fetched);
	for (i = 0; i < rs->ndecoders; i++)
		pthread_join(rs->decoders[i], NULL);
	dp_queue_close(&rs->writes);
	if (rs->writer_started)
		pthread_join(rs->writer, NULL);
	if (dp_job_stopped(job))
		return;
	/* the restore is done when the data is on the target */
	dp_test_point(rs->delta ? "apply-written" : "restore-written");
	if (fsync(rs->dev.fd)) {
		dp_job_fail(job, -errno, "syncing %s: %s", rs->dev.path, strerror(errno));
		return;
	}
	if (rs->dev.fd_buffered >= 0 && fsync(rs->dev.fd_buffered)) {
		dp_job_fail(job, -errno, "syncing %s: %s", rs->dev.path, strerror(errno));
		return;
	}
	if (atomic_load(&job->bytes_done) != rs->meta.size) {
		dp_job_fail(job, -EIO, "internal error: %llu of %llu bytes restored",
			    (unsigned long long)atomic_load(&job->bytes_done),
			    (unsigned long long)rs->meta.size);
		return;
	}
	dp_test_point(rs->delta ? "apply-synced" : "restore-synced");
	/* the last step: the target holds the snapshot */
	rs_stamp(rs, false);
}

static void rs_fini(struct dp_job *job)
{
	struct rs_job *rs = rs_of(job);

	dp_ring_fini(&rs->ring);
	dp_queue_fini(&rs->fetched);
	dp_queue_fini(&rs->writes);
	dp_bufs_fini(&rs->bufs);
	dp_chunkidx_free(rs->ix);
	dp_dev_close(&rs->dev);
	dp_snapshot_fini(&rs->meta);
	dp_fetcher_free(rs->fetcher);
	dp_parent_free(rs->parent);
	dp_snapshot_fini(&rs->onto);
	free(rs->decoders);
	free(rs->target);
	free(rs->stamp);
}

/* I/O buffers hold one coalesced ranged read, at least one stored chunk. */
static size_t rs_io_size(uint32_t chunk_size)
{
	size_t io = 8u << 20;

	while (io < (size_t)chunk_size + (128u << 10))
		io *= 2;
	return io;
}

/* On the job's thread, with its memory reserved: buffers, queues, the ring. */
static int rs_setup(struct dp_job *job)
{
	struct rs_job *rs = rs_of(job);
	int ret;

	ret = dp_bufs_init(&rs->bufs, job->reserved, rs->chunk_size, rs_io_size(rs->chunk_size),
			   &rs->job.stop);
	if (ret)
		return ret;
	rs->qd = rs->qd_opt ? rs->qd_opt : rs->bufs.nchunk;
	if (rs->qd > QD_MAX)
		rs->qd = QD_MAX;
	/* the fetched queue holds every read in flight; the write queue is unbounded in effect */
	ret = dp_queue_init(&rs->fetched, rs->bufs.nio, &rs->job.stop);
	if (!ret)
		ret = dp_queue_init(&rs->writes, rs->bufs.nchunk * 4 + WINDOW_REFS, &rs->job.stop);
	if (!ret)
		ret = dp_chunkidx_new(&rs->ix);
	if (!ret)
		ret = dp_fetcher_new(&rs->job, job->repo, &rs->bufs, rs->ix, &rs->fetched,
				     &rs->fetcher);
	if (ret)
		return ret;
	if (!rs->no_uring) {
		ret = dp_ring_init(&rs->ring, rs->qd);
		if (ret)
			pr_warn("notice: io_uring is not available (%s): writing with pwrite",
				strerror(-ret));
	}
	return 0;
}

/* After the run: the buffers go back to the pool at once. */
static void rs_release(struct dp_job *job)
{
	struct rs_job *rs = rs_of(job);

	dp_fetcher_free(rs->fetcher);
	rs->fetcher = NULL;
	dp_ring_fini(&rs->ring);
	dp_bufs_fini(&rs->bufs);
}

static bool rs_is_blk(const char *path)
{
	struct stat sb;

	return !stat(path, &sb) && S_ISBLK(sb.st_mode);
}

/* The snapshot's metadata, the target checked (not opened), the lock; then the job's thread. */
static int rs_start(struct rs_job *rs, const struct dp_restore_opts *o)
{
	const struct dp_snapshot *s = o->snapshot;
	int ret;

	rs->chunk_size = rs->job.repo->info.chunk_size;
	rs->threads = o->threads ? o->threads : dp_online_cpus();
	if (rs->threads > 256)
		rs->threads = 256;
	rs->qd_opt = o->queue_depth;
	rs->no_uring = o->no_uring;
	rs->no_direct = o->no_direct;

	/* our own copy of the snapshot's metadata */
	memcpy(rs->meta.id, s->id, sizeof(rs->meta.id));
	rs->meta.size = s->size;
	rs->meta.chunk_size = s->chunk_size;
	snprintf(rs->job.result.snapshot_id, sizeof(rs->job.result.snapshot_id), "%s", s->id);
	snprintf(rs->job.result.volume, sizeof(rs->job.result.volume), "%s", s->volume);
	atomic_store(&rs->job.bytes_total, s->size);
	rs->target = strdup(o->target);
	if (!rs->target)
		return -ENOMEM;
	if (o->stamp) {
		rs->stamp = strdup(o->stamp);
		if (!rs->stamp)
			return -ENOMEM;
	}
	/* a block device keeps a stamp only in a file */
	rs->stamping = rs->stamp || !rs_is_blk(o->target);
	if (o->onto) {
		rs->delta = true;
		memcpy(rs->onto.id, o->onto->id, sizeof(rs->onto.id));
		rs->onto.size = o->onto->size;
		rs->onto.chunk_size = o->onto->chunk_size;
		snprintf(rs->job.result.parent, sizeof(rs->job.result.parent), "%s", o->onto->id);
		if (access(o->target, F_OK))
			return dp_fail(
				-ENOENT,
				"target %s: %s: a delta apply needs the target that holds %.16s",
				o->target, strerror(ENOENT), o->onto->id);
		if (!rs->stamping)
			return dp_fail(
				-ESTALE,
				"target %s is a block device: a delta apply needs the file that "
				"keeps its stamp (--stamp FILE)",
				o->target);
	}
	ret = dp_lock_acquire(rs->job.repo, false, "restore", &rs->job.repo_lock);
	if (ret)
		return ret;
	/* whether the target will do, changing nothing: it is opened once the manifest verified */
	ret = dp_dev_check_target(o->target, s->size);
	if (ret)
		return ret;
	return dp_job_launch(&rs->job, o->memory);
}

static const struct dp_job_ops rs_ops = {
	.setup = rs_setup,
	.run = rs_run,
	.release = rs_release,
	.wake = rs_wake,
	.fini = rs_fini,
};

int dp_restore_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_restore_opts *opts,
		     struct dp_job **out)
{
	struct dp_restore_opts o;
	const struct dp_snapshot *s;
	struct dp_job *job;
	struct rs_job *rs;
	int ret;

	dp_clear_error();
	*out = NULL;
	dp_opts_copy(&o, sizeof(o), opts);
	s = o.snapshot;
	if (!s || !o.target)
		return dp_err_keep(o.err,
				   dp_fail(-EINVAL, "restore needs a snapshot and a target"));
	if (s->chunk_size != repo->info.chunk_size)
		return dp_err_keep(
			o.err, dp_fail(-EUCLEAN, "snapshot %s has chunk size %u, the repository %u",
				       s->id, s->chunk_size, repo->info.chunk_size));
	if (o.onto && o.onto->chunk_size != s->chunk_size)
		return dp_err_keep(
			o.err, dp_fail(-EINVAL, "snapshot %s has chunk size %u, %s %u: no delta",
				       o.onto->id, o.onto->chunk_size, s->id, s->chunk_size));
	ret = dp_job_new(repo, pool, &rs_ops, sizeof(*rs), o.err, &job);
	if (ret)
		return ret;
	rs = rs_of(job);
	rs->dev.fd = rs->dev.fd_buffered = -1;
	return dp_job_started(&rs->job, rs_start(rs, &o), o.err, out);
}
