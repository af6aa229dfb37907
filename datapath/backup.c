// SPDX-License-Identifier: MIT
/*
 * datapath/backup.c - the backup job.
 *
 *   reader.c      the reader thread reads the volume in order, hashing
 *                 workers give each chunk its id, the order thread hands
 *                 each place on in volume order
 *   per chunk     (on a worker) dedup: inserted into the chunk index, a
 *                 chunk already there is referenced, not stored; else zstd
 *                 -> seal -> appended to the open pack (packer.c)
 *   per place     (on the order thread) a record of the manifest, whose
 *                 segments are uploaded as parts while the volume is read
 *   packer.c      its finisher thread completes each pack's upload and
 *                 writes the pack's index
 *   job thread    after every pack is complete: the manifest's footer and
 *                 its commit - a backup is complete exactly when its
 *                 manifest exists
 *
 * An I/O buffer holds one part of a pack until its upload is done; chunk
 * buffers go from the reader to a worker and back (reader.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <zstd.h>

#include "blob.h"
#include "dp_json.h"
#include "job.h"
#include "journal.h"
#include "packer.h"
#include "reader.h"
#include "repo_int.h"
#include "s3/store.h"

struct bk_job {
	struct dp_job job;
	struct dp_dev dev;
	struct dp_bufs bufs;
	struct dp_reader *reader;
	struct dp_chunkidx *ix;
	uint32_t chunk_size;
	unsigned int threads;
	int level;
	uint64_t pack_target;
	bool no_uring;
	unsigned int qd_opt;
	struct dp_blobenc **enc; /* one per worker: zstd, then the seal */
	struct dp_packer *packer;
	struct dp_journal_dir *jdir; /* NULL: no journals */
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
};

static struct bk_job *bk_of(struct dp_job *job)
{
	return (struct bk_job *)job;
}

static void bk_wake(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_bufs_wake(&bk->bufs);
	dp_reader_wake(bk->reader);
	dp_packer_wake(bk->packer);
	pthread_mutex_lock(&bk->mpart_lock);
	pthread_cond_broadcast(&bk->mpart_cond);
	pthread_mutex_unlock(&bk->mpart_lock);
}

/* ------------------------------------------------------------------ chunks */

static int bk_store_chunk(struct bk_job *bk, unsigned int worker, const uint8_t id[DP_ID_LEN],
			  const void *buf, uint32_t raw_len, uint64_t off)
{
	const void *data;
	uint32_t len;
	uint8_t kind;
	int ret;

	ret = dp_blob_encode(bk->enc[worker], id, buf, raw_len, &data, &len, &kind);
	if (ret)
		return dp_job_fail(&bk->job, ret, "compressing the chunk at offset %llu: %s",
				   (unsigned long long)off, dp_last_error());
	ret = dp_packer_append(bk->packer, id, data, len, raw_len, kind);
	if (ret)
		return ret == -ECANCELED
			       ? ret
			       : dp_job_fail(&bk->job, ret, "packing: %s", strerror(-ret));
	atomic_fetch_add(&bk->job.chunks_new, 1);
	atomic_fetch_add(&bk->job.bytes_new, len);
	atomic_fetch_add(&bk->job.bytes_raw_new, raw_len);
	return 0;
}

/* A worker's chunk (reader.c): referenced if the repository has it, else stored. */
static int bk_chunk(void *arg, unsigned int worker, const uint8_t id[DP_ID_LEN], const void *buf,
		    uint32_t len, uint64_t off)
{
	struct bk_job *bk = arg;
	int ret = dp_chunkidx_insert(bk->ix, id, NULL);

	if (ret < 0)
		return dp_job_fail(&bk->job, ret, "the chunk index: %s", strerror(-ret));
	if (ret == 1) {
		atomic_fetch_add(&bk->job.chunks_dedup, 1);
		return 0;
	}
	return bk_store_chunk(bk, worker, id, buf, len, off);
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

/* The next place of the volume (reader.c's order thread): a record of the manifest. */
static int bk_slot(void *arg, const struct dp_slot *s)
{
	struct bk_job *bk = arg;
	int ret = s->zero ? dp_mwriter_add_zero(bk->mw, s->count)
			  : dp_mwriter_add_chunk(bk->mw, s->id);

	if (ret && ret != -ECANCELED)
		dp_job_fail(&bk->job, ret, "manifest: %s", dp_last_error());
	return ret;
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
	/* FORMAT.md "totals": the volume bytes of the new chunks, and what they took stored */
	m->bytes_new = atomic_load(&bk->job.bytes_raw_new);
	m->bytes_stored = atomic_load(&bk->job.bytes_new);
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

/* ------------------------------------------------------------------- job */

/* The compressors of the workers, and the packer (resuming what a journal kept). */
static int bk_run_setup(struct bk_job *bk)
{
	struct dp_job *job = &bk->job;
	uint64_t reused;
	int ret;

	ret = dp_repo_load_index(job->repo, bk->ix);
	if (ret)
		return dp_job_fail(job, ret, "%s", dp_last_error());
	bk->enc = calloc(bk->threads, sizeof(*bk->enc));
	if (!bk->enc)
		return dp_job_fail(job, -ENOMEM, "out of memory for %u compressors", bk->threads);
	for (unsigned int i = 0; i < bk->threads; i++) {
		ret = dp_blobenc_new(&job->repo->keys, bk->chunk_size, bk->level, &bk->enc[i]);
		if (ret)
			return dp_job_fail(job, ret, "creating the compressors: %s",
					   dp_last_error()[0] ? dp_last_error() : strerror(-ret));
	}
	ret = dp_packer_new(job, &bk->bufs, bk->pack_target, "backup",
			    bk->jdir ? bk->jdir->path : NULL, &bk->packer);
	if (ret)
		return dp_job_fail(job, ret, "starting the pack writer: %s", strerror(-ret));
	ret = dp_packer_resume(bk->packer, bk->ix, &reused);
	if (ret)
		return dp_job_fail(job, ret, "resuming: %s", dp_last_error());
	atomic_store(&job->bytes_reused, reused);
	return 0;
}

static void bk_run(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	if (bk_run_setup(bk))
		return;
	pr_debug(
		"backup %s: %llu bytes, %u workers, %u reads in flight, %u chunk and %u I/O buffers",
		bk->dev.path, (unsigned long long)bk->dev.size, bk->threads,
		dp_reader_queue_depth(bk->reader), bk->bufs.nchunk, bk->bufs.nio);
	dp_reader_run(bk->reader);
	/* the last, partly filled pack; then every pack is complete and indexed */
	dp_packer_finish(bk->packer);
	if (!dp_job_stopped(job) && !bk_manifest_commit(bk))
		snprintf(job->result.snapshot_id, sizeof(job->result.snapshot_id), "%s",
			 bk->meta.id);
}

static void bk_free_encoders(struct bk_job *bk)
{
	for (unsigned int i = 0; bk->enc && i < bk->threads; i++)
		dp_blobenc_free(bk->enc[i]);
	free(bk->enc);
	bk->enc = NULL;
}

static void bk_fini(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_reader_free(bk->reader);
	dp_packer_free(bk->packer);
	bk_free_encoders(bk);
	s3_upload_abort(bk->mup);
	dp_mwriter_free(bk->mw);
	free(bk->mbuf);
	dp_bufs_fini(&bk->bufs);
	dp_chunkidx_free(bk->ix);
	dp_dev_close(&bk->dev);
	dp_snapshot_fini(&bk->meta);
	dp_parent_free(bk->parent);
	dp_cbl_fini(&bk->changed);
	dp_journal_dir_release(bk->jdir);
	pthread_mutex_destroy(&bk->mpart_lock);
	pthread_cond_destroy(&bk->mpart_cond);
}

/* Io size: one pack part; S3 wants >= 5 MiB. */
static size_t bk_io_size(uint64_t budget)
{
	return budget >= (256ull << 20) ? (16u << 20) : (8u << 20);
}

/* On the job's thread, with its memory reserved: buffers, the reader, the manifest writer. */
static int bk_setup(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);
	uint64_t budget = job->reserved;
	struct dp_reader_opts ro = {
		.job = job,
		.dev = &bk->dev,
		.bufs = &bk->bufs,
		.keys = &job->repo->keys,
		.threads = bk->threads,
		.queue_depth = bk->qd_opt,
		.no_uring = bk->no_uring,
		.chunk = bk_chunk,
		.slot = bk_slot,
		.arg = bk,
	};
	int ret;

	ret = dp_bufs_init(&bk->bufs, budget, bk->chunk_size, bk_io_size(budget), &bk->job.stop);
	if (ret)
		return ret;
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
	if (!bk->mbuf)
		return -ENOMEM;
	ret = dp_chunkidx_new(&bk->ix);
	if (!ret)
		ret = dp_mwriter_new(bk_manifest_emit, bk, &job->repo->keys, bk->meta.id, &bk->mw);
	if (ret)
		return ret;
	if (bk->has_changed) {
		ro.parent = bk->parent;
		ro.parent_size = bk->parent_size;
		ro.changed = &bk->changed;
		ro.ix = bk->ix;
	}
	ret = dp_reader_new(&ro, &bk->reader);
	if (ret)
		return ret;
	snprintf(bk->job.result.io_mode, sizeof(bk->job.result.io_mode), "%s",
		 dp_reader_io_mode(bk->reader));
	return 0;
}

/* After the run: the buffers go back to the pool, the workers' contexts are freed, at once. */
static void bk_release(struct dp_job *job)
{
	struct bk_job *bk = bk_of(job);

	dp_packer_free(bk->packer);
	bk->packer = NULL;
	dp_reader_free(bk->reader);
	bk->reader = NULL;
	bk_free_encoders(bk);
	dp_bufs_fini(&bk->bufs);
}

/* ------------------------------------------------------------------- start */

/* Workers, compression and pack size. */
static int bk_options(struct bk_job *bk, const struct dp_backup_opts *o)
{
	bk->chunk_size = bk->job.repo->info.chunk_size;
	bk->threads = o->threads ? o->threads : dp_online_cpus();
	if (bk->threads > 256)
		bk->threads = 256;
	bk->level = o->compression ? o->compression : DP_COMPRESSION_DEFAULT;
	if (bk->level != DP_COMPRESSION_OFF &&
	    (bk->level < ZSTD_minCLevel() || bk->level > ZSTD_maxCLevel()))
		return dp_fail(-EINVAL, "compression level %d is outside zstd's %d..%d", bk->level,
			       ZSTD_minCLevel(), ZSTD_maxCLevel());
	bk->pack_target = o->pack_size ? o->pack_size : DP_PACK_SIZE_DEFAULT;
	if (bk->pack_target < (1u << 20) || bk->pack_target > (4ull << 30))
		return dp_fail(-EINVAL, "pack size must be between 1 MiB and 4 GiB");
#ifdef FERRY_TEST_HOOKS
	/* tests and bench/ reach thousands of packs without gigabytes of data */
	if (getenv("FERRY_TEST_PACK_SIZE"))
		bk->pack_target = strtoull(getenv("FERRY_TEST_PACK_SIZE"), NULL, 10);
#endif
	bk->qd_opt = o->queue_depth;
	bk->no_uring = o->no_uring;
	return 0;
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

/* The new snapshot's identity: its id, volume name, source, host, labels. */
static int bk_identity(struct bk_job *bk, const struct dp_backup_opts *o)
{
	struct dp_snapshot *m = &bk->meta;
	char ident[1024], host[256];
	int ret;

	ret = dp_random_id(m->id);
	if (ret)
		return dp_fail(ret, "a snapshot id: %s", strerror(-ret));
	snprintf(bk->mkey, sizeof(bk->mkey), "snapshots/%s", m->id);
	if (o->volume && (!o->volume[0] || strlen(o->volume) > 255 || strpbrk(o->volume, "\n\r\t")))
		return dp_fail(
			-EINVAL,
			"volume name must have 1 to 255 characters and no control characters");
	if (!o->volume) {
		ret = dp_volume_identity(o->source, ident, sizeof(ident));
		if (ret)
			return ret;
	}
	if (!o->hostname && gethostname(host, sizeof(host)))
		snprintf(host, sizeof(host), "unknown");
	host[sizeof(host) - 1] = '\0';
	m->volume = strdup(o->volume ? o->volume : ident);
	m->source = strdup(o->source);
	m->hostname = strdup(o->hostname ? o->hostname : host);
	if (!m->volume || !m->source || !m->hostname)
		return -ENOMEM;
	ret = bk_labels(m, o->labels, o->nlabels);
	if (ret)
		return ret;
	m->chunk_size = bk->chunk_size;
	m->time_start = dp_now_us();
	snprintf(bk->job.result.volume, sizeof(bk->job.result.volume), "%s", m->volume);
	return 0;
}

/* The parent recorded in the manifest. */
static int bk_parent_init(struct bk_job *bk, const struct dp_backup_opts *o)
{
	if (o->changed && !o->parent)
		return dp_fail(
			-EINVAL,
			"a changed-block list needs the parent snapshot it was computed against");
	if (!o->parent)
		return 0;
	if (o->parent->chunk_size != bk->chunk_size)
		return dp_fail(-EUCLEAN, "parent %.16s has chunk size %u, the repository %u",
			       o->parent->id, o->parent->chunk_size, bk->chunk_size);
	memcpy(bk->meta.parent, o->parent->id, sizeof(bk->meta.parent));
	memcpy(bk->job.result.parent, o->parent->id, sizeof(bk->meta.parent));
	return 0;
}

/* A changed-block list: our sorted copy, and a cursor over the parent's manifest. */
static int bk_cbl_init(struct bk_job *bk, const struct dp_backup_opts *o)
{
	const struct dp_cbl *l = o->changed;
	int ret;

	if (!l)
		return 0;
	if (strcmp(l->parent, o->parent->id))
		return dp_fail(
			-ESTALE,
			"the changed-block list was computed against snapshot %.16s, not the parent %.16s: refused",
			l->parent, o->parent->id);
	if (l->size && l->size != bk->dev.size)
		return dp_fail(
			-ESTALE,
			"the changed-block list describes a volume of %llu bytes, %s has %llu: refused",
			(unsigned long long)l->size, o->source, (unsigned long long)bk->dev.size);
	memcpy(bk->changed.parent, l->parent, sizeof(bk->changed.parent));
	for (size_t i = 0; i < l->n; i++) {
		ret = dp_cbl_add(&bk->changed, l->ranges[i].off, l->ranges[i].len);
		if (ret)
			return ret;
	}
	dp_cbl_normalize(&bk->changed);
	bk->has_changed = true;
	bk->parent_size = o->parent->size;
	return dp_parent_open(bk->job.repo, o->parent->id, &bk->parent);
}

static int bk_start(struct bk_job *bk, const struct dp_backup_opts *o)
{
	struct dp_repo *repo = bk->job.repo;
	int ret;

	ret = bk_options(bk, o);
	if (!ret)
		ret = bk_identity(bk, o);
	if (!ret)
		ret = dp_dev_open_source(&bk->dev, o->source, o->no_direct);
	if (ret)
		return ret;
	bk->meta.size = bk->dev.size;
	atomic_store(&bk->job.bytes_total, bk->dev.size);
	ret = bk_parent_init(bk, o);
	if (!ret)
		ret = bk_cbl_init(bk, o);
	if (!ret && o->state_dir) {
		char name[300];

		snprintf(name, sizeof(name), "volume:%s", bk->meta.volume);
		ret = dp_journal_dir(o->state_dir, repo, name, &bk->jdir);
	}
	/* a shared lock: no prune while this backup may dedup against what it sees */
	if (!ret)
		ret = dp_lock_acquire(repo, false, "backup", &bk->job.repo_lock);
	if (ret)
		return ret;
	return dp_job_launch(&bk->job, o->memory);
}

static const struct dp_job_ops bk_ops = {
	.setup = bk_setup,
	.run = bk_run,
	.release = bk_release,
	.wake = bk_wake,
	.fini = bk_fini,
};

int dp_backup_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_backup_opts *opts,
		    struct dp_job **out)
{
	struct dp_backup_opts o;
	struct dp_job *job;
	struct bk_job *bk;
	int ret;

	dp_clear_error();
	dp_opts_copy(&o, sizeof(o), opts);
	ret = dp_job_new(repo, pool, &bk_ops, sizeof(*bk), o.err, &job);
	*out = NULL;
	if (ret)
		return ret;
	bk = bk_of(job);
	bk->dev.fd = bk->dev.fd_buffered = -1;
	pthread_mutex_init(&bk->mpart_lock, NULL);
	pthread_cond_init(&bk->mpart_cond, NULL);
	return dp_job_started(&bk->job, bk_start(bk, &o), o.err, out);
}
