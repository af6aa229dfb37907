// SPDX-License-Identifier: MIT
/*
 * datapath/copy.c - copying snapshots between repositories (file:// and
 * s3://, one cloud to another): the base of migrations.
 *
 * For each snapshot the target does not have yet:
 *   1. walk its manifest; every chunk the target lacks is fetched from the
 *      source (fetch.c: windowed, coalesced ranged reads, many in flight);
 *   2. workers move each blob into the target's packs (packer.c):
 *        - same keys (a target made with `init --copy-keys-from`, or both
 *          unencrypted): the blob goes as it is, sealed bytes and all;
 *        - other keys: the blob is opened and verified with the source's
 *          keys, its chunk id computed again with the target's id key, and
 *          it is compressed and sealed for the target;
 *   3. once every pack is complete and indexed, the manifest is written to
 *      the target under the same snapshot id, with the references the
 *      target knows the chunks by.
 * A copy that is interrupted keeps what it completed: a re-run skips the
 * snapshots the target has and the chunks in its complete packs.
 */
#include <stdio.h>
#include <stdlib.h>

#include <zstd.h>

#include "crypt.h"
#include "pool.h"
#include "queue.h"
#include "blob.h"
#include "chunkidx.h"
#include "repo_int.h"
#include "manifest.h"
#include "fetch.h"
#include "objwriter.h"
#include "packer.h"
#include "journal.h"
#include "job.h"
#include "dp_json.h"
#include "s3/store.h"

#define MANIFEST_PART (8u << 20)

/* Source chunk id -> target chunk id (other keys only): open addressing. */
struct cp_idmap {
	uint8_t (*k)[2][DP_ID_LEN];
	uint64_t mask, n;
	pthread_mutex_t lock;
};

struct cp_job {
	struct dp_job job; /* job.repo is the target */
	struct dp_repo *src;
	struct dp_lock *src_lock;
	struct dp_bufs fbufs, pbufs; /* fetched ranges; pack parts (apart: no deadlock) */
	struct dp_queue fetched;
	struct dp_fetcher *fetcher;
	struct dp_chunkidx *src_ix, *dst_ix;
	struct dp_packer *packer;
	struct cp_idmap map;
	bool same_keys;
	int level;
	unsigned int threads;
	pthread_t *workers;
	unsigned int nworkers;
	struct dp_snapshot *snaps; /* our copies */
	size_t nsnaps;
	const char *cur;	     /* the snapshot being copied */
	struct dp_journal_dir *jdir; /* NULL: no journals */
	bool resumed;
	uint64_t copied, skipped; /* snapshots */
};

static struct cp_job *cp_of(struct dp_job *job)
{
	return (struct cp_job *)job;
}

static void cp_wake(struct dp_job *job)
{
	struct cp_job *cp = cp_of(job);

	dp_bufs_wake(&cp->fbufs);
	dp_bufs_wake(&cp->pbufs);
	dp_queue_wake(&cp->fetched);
	dp_fetcher_wake(cp->fetcher);
	dp_packer_wake(cp->packer);
}

/* ------------------------------------------------------------------ idmap */

static int idmap_init(struct cp_idmap *m)
{
	m->mask = 1023;
	m->k = calloc(m->mask + 1, sizeof(*m->k));
	pthread_mutex_init(&m->lock, NULL);
	return m->k ? 0 : -ENOMEM;
}

static void idmap_fini(struct cp_idmap *m)
{
	free(m->k);
	pthread_mutex_destroy(&m->lock);
}

static bool idmap_slot_empty(const uint8_t k[DP_ID_LEN])
{
	static const uint8_t zero[DP_ID_LEN];

	return !memcmp(k, zero, DP_ID_LEN);
}

/* the slot of @id, or the empty slot where it goes; call with the lock held */
static uint64_t idmap_find(struct cp_idmap *m, const uint8_t id[DP_ID_LEN])
{
	uint64_t h, i;

	memcpy(&h, id, sizeof(h));
	for (i = h & m->mask; !idmap_slot_empty(m->k[i][0]) && memcmp(m->k[i][0], id, DP_ID_LEN);
	     i = (i + 1) & m->mask)
		;
	return i;
}

static int idmap_put(struct cp_idmap *m, const uint8_t src[DP_ID_LEN], const uint8_t dst[DP_ID_LEN])
{
	int ret = 0;

	pthread_mutex_lock(&m->lock);
	if ((m->n + 1) * 2 > m->mask + 1) {
		uint64_t nmask = m->mask * 2 + 1;
		uint8_t(*nk)[2][DP_ID_LEN] = calloc(nmask + 1, sizeof(*nk));

		if (!nk) {
			ret = -ENOMEM;
			goto out;
		}
		for (uint64_t i = 0; i <= m->mask; i++) {
			uint64_t h, j;

			if (idmap_slot_empty(m->k[i][0]))
				continue;
			memcpy(&h, m->k[i][0], sizeof(h));
			for (j = h & nmask; !idmap_slot_empty(nk[j][0]); j = (j + 1) & nmask)
				;
			memcpy(nk[j], m->k[i], sizeof(nk[j]));
		}
		free(m->k);
		m->k = nk;
		m->mask = nmask;
	}
	{
		uint64_t i = idmap_find(m, src);

		if (idmap_slot_empty(m->k[i][0]))
			m->n++;
		memcpy(m->k[i][0], src, DP_ID_LEN);
		memcpy(m->k[i][1], dst, DP_ID_LEN);
	}
out:
	pthread_mutex_unlock(&m->lock);
	return ret;
}

static bool idmap_get(struct cp_idmap *m, const uint8_t src[DP_ID_LEN], uint8_t dst[DP_ID_LEN])
{
	bool found;
	uint64_t i;

	pthread_mutex_lock(&m->lock);
	i = idmap_find(m, src);
	found = !idmap_slot_empty(m->k[i][0]);
	if (found && dst)
		memcpy(dst, m->k[i][1], DP_ID_LEN);
	pthread_mutex_unlock(&m->lock);
	return found;
}

/* ---------------------------------------------------------------- workers */

struct cp_worker {
	struct cp_job *cp;
	struct dp_blobdec *dec;	  /* other keys: the source's */
	struct dp_hasher *hasher; /* the target's chunk ids */
	struct dp_blobenc *enc;	  /* the target's compression and seal */
	uint8_t *chunk;
};

/* Re-encode one chunk for the target: verify with the source's keys, id, compress, seal. */
static int cp_reencode(struct cp_job *cp, struct cp_worker *w, const struct dp_fetch_chunk *c,
		       const uint8_t *blob, const char *key)
{
	uint8_t id[DP_ID_LEN], kind;
	char hex[2 * DP_ID_LEN + 1];
	const void *data;
	const char *why;
	uint32_t len = c->loc.raw_len;
	int ret;

	ret = dp_blob_decode(w->dec, c->id, c->loc.kind, c->loc.raw_len, blob, c->loc.stored_len,
			     w->chunk, &why);
	if (ret) {
		dp_hex(c->id, DP_ID_LEN, hex);
		return dp_job_fail(&cp->job, -EUCLEAN,
				   "chunk %.16s in %s of the source is damaged: %s", hex, key, why);
	}
	ret = dp_hasher_digest(w->hasher, w->chunk, len, id);
	if (ret)
		return dp_job_fail(&cp->job, ret, "hashing: %s", strerror(-ret));
	ret = idmap_put(&cp->map, c->id, id);
	if (ret)
		return dp_job_fail(&cp->job, ret, "out of memory");
	ret = dp_chunkidx_insert(cp->dst_ix, id, NULL);
	if (ret < 0)
		return dp_job_fail(&cp->job, ret, "out of memory");
	if (ret == 1) {
		atomic_fetch_add(&cp->job.chunks_dedup, 1);
		return 0; /* the target has it under its own id */
	}
	ret = dp_blob_encode(w->enc, id, w->chunk, c->loc.raw_len, &data, &len, &kind);
	if (ret)
		return dp_job_fail(&cp->job, ret, "%s", dp_last_error());
	ret = dp_packer_append(cp->packer, id, data, len, c->loc.raw_len, kind);
	if (ret)
		return ret == -ECANCELED
			       ? ret
			       : dp_job_fail(&cp->job, ret, "packing: %s", strerror(-ret));
	atomic_fetch_add(&cp->job.chunks_new, 1);
	atomic_fetch_add(&cp->job.bytes_new, len);
	return 0;
}

static int cp_fetch_done(struct cp_job *cp, struct cp_worker *w, struct dp_fetch *f)
{
	int ret = 0;

	if (f->ret < 0)
		return dp_job_fail(&cp->job, f->ret == -ENOENT ? -EUCLEAN : f->ret,
				   "%s of the source: %s%s", f->key,
				   f->ret == -ENOENT ? "pack is missing: " : "",
				   f->detail[0] ? f->detail : strerror(-f->ret));
	if ((uint32_t)f->ret != f->len)
		return dp_job_fail(&cp->job, -EUCLEAN,
				   "%s of the source is shorter than its index says", f->key);
	atomic_fetch_add(&cp->job.bytes_read, f->len);
	for (uint32_t i = 0; i < f->nchunks && !ret; i++) {
		const struct dp_fetch_chunk *c = &f->chunks[i];
		const uint8_t *blob = (const uint8_t *)f->buf + (c->loc.offset - f->off);

		if (cp->same_keys) {
			ret = dp_packer_append(cp->packer, c->id, blob, c->loc.stored_len,
					       c->loc.raw_len, c->loc.kind);
			if (!ret) {
				atomic_fetch_add(&cp->job.chunks_new, 1);
				atomic_fetch_add(&cp->job.bytes_new, c->loc.stored_len);
			}
		} else {
			ret = cp_reencode(cp, w, c, blob, f->key);
		}
	}
	return ret;
}

static void *cp_worker_main(void *arg)
{
	struct cp_worker *w = arg;
	struct cp_job *cp = w->cp;
	struct dp_fetch *f;
	bool closed;

	while ((f = dp_queue_pop(&cp->fetched))) {
		int ret = cp_fetch_done(cp, w, f);

		dp_fetch_free(f);
		if (ret)
			break;
	}
	while ((f = dp_queue_trypop(&cp->fetched, &closed)))
		dp_fetch_free(f);
	return NULL;
}

static void cp_worker_fini(struct cp_worker *w)
{
	dp_blobdec_free(w->dec);
	dp_hasher_free(w->hasher);
	dp_blobenc_free(w->enc);
	free(w->chunk);
}

static int cp_worker_init(struct cp_job *cp, struct cp_worker *w)
{
	const struct dp_keys *dk = &cp->job.repo->keys;
	uint32_t cs = cp->src->info.chunk_size;
	int ret;

	memset(w, 0, sizeof(*w));
	w->cp = cp;
	if (cp->same_keys)
		return 0;
	w->chunk = malloc(cs);
	if (!w->chunk)
		return -ENOMEM;
	ret = dp_blobdec_new(&cp->src->keys, cs, &w->dec);
	if (!ret)
		ret = dp_hasher_new(dk, &w->hasher);
	if (!ret)
		ret = dp_blobenc_new(dk, cs, cp->level, &w->enc);
	return ret;
}

/* ------------------------------------------------------------- snapshots */

struct cp_walk {
	struct cp_job *cp;
	struct dp_mwriter *mw; /* second pass: the target's manifest */
};

/* First pass: queue every chunk the target lacks. */
static int cp_plan_ref(void *arg, uint64_t idx, const struct dp_ref *ref)
{
	struct cp_walk *wk = arg;
	struct cp_job *cp = wk->cp;
	char hex[2 * DP_ID_LEN + 1];
	struct dp_loc loc;
	int ret;

	(void)idx;
	if (ref->zero || dp_job_stopped(&cp->job))
		return dp_job_stopped(&cp->job) ? -ECANCELED : 0;
	if (cp->same_keys) {
		ret = dp_chunkidx_insert(cp->dst_ix, ref->id, NULL);
		if (ret < 0)
			return ret;
		if (ret == 1) {
			atomic_fetch_add(&cp->job.chunks_dedup, 1);
			return 0; /* the target has it, or it is on its way */
		}
	} else if (idmap_get(&cp->map, ref->id, NULL)) {
		return 0; /* done earlier in this copy */
	}
	if (!dp_chunkidx_lookup(cp->src_ix, ref->id, &loc)) {
		dp_hex(ref->id, DP_ID_LEN, hex);
		return dp_job_fail(
			&cp->job, -EUCLEAN,
			"the source is damaged: chunk %.16s of snapshot %.16s is in no index", hex,
			cp->cur);
	}
	if (!cp->same_keys) {
		/* claimed now, so that a second reference does not fetch it again */
		ret = idmap_put(&cp->map, ref->id, ref->id);
		if (ret)
			return ret;
	}
	return dp_fetcher_add(cp->fetcher, ref->id, &loc, 0);
}

/* Second pass: the manifest, with the target's ids. */
static int cp_write_ref(void *arg, uint64_t idx, const struct dp_ref *ref)
{
	struct cp_walk *wk = arg;
	uint8_t id[DP_ID_LEN];

	(void)idx;
	if (ref->zero)
		return dp_mwriter_add_zero(wk->mw, ref->count);
	if (wk->cp->same_keys)
		return dp_mwriter_add_chunk(wk->mw, ref->id);
	if (!idmap_get(&wk->cp->map, ref->id, id))
		return dp_fail(-EIO, "internal error: chunk not copied");
	return dp_mwriter_add_chunk(wk->mw, id);
}

static int cp_emit(void *arg, const void *buf, size_t len)
{
	return dp_objwriter_write(arg, buf, len);
}

static int cp_write_manifest(struct cp_job *cp, const struct dp_snapshot *s)
{
	struct dp_repo *dst = cp->job.repo;
	struct dp_objwriter *ow = NULL;
	struct cp_walk wk = {.cp = cp};
	char key[96];
	int ret;

	snprintf(key, sizeof(key), "snapshots/%s", s->id);
	ret = dp_objwriter_new(dst->st, key, MANIFEST_PART, &ow);
	if (!ret)
		ret = dp_mwriter_new(cp_emit, ow, &dst->keys, s->id, &wk.mw);
	if (!ret)
		ret = dp_manifest_walk(cp->src, s->id, cp_write_ref, &wk);
	if (!ret)
		ret = dp_mwriter_finish(wk.mw, s);
	dp_test_point("copy-before-manifest");
	if (!ret) {
		ret = dp_objwriter_commit(ow);
		ow = NULL;
	}
	dp_mwriter_free(wk.mw);
	dp_objwriter_abort(ow);
	if (ret)
		return dp_job_fail(&cp->job, ret, "writing %s to the target: %s", key,
				   dp_last_error());
	return 0;
}

static int cp_one(struct cp_job *cp, const struct dp_snapshot *s)
{
	struct cp_walk wk = {.cp = cp};
	char key[96];
	uint64_t size;
	int ret;

	snprintf(key, sizeof(key), "snapshots/%s", s->id);
	ret = s3_store_head(cp->job.repo->st, key, &size);
	if (!ret) {
		cp->skipped++;
		atomic_fetch_add(&cp->job.bytes_done, s->size);
		return 0; /* the target has it */
	}
	if (ret != -ENOENT)
		return dp_job_fail(&cp->job, ret, "%s of the target: %s", key, dp_store_detail());
	cp->cur = s->id;
	ret = dp_packer_new(&cp->job, &cp->pbufs, DP_PACK_SIZE_DEFAULT, "copy",
			    cp->jdir ? cp->jdir->path : NULL, &cp->packer);
	if (ret)
		return dp_job_fail(&cp->job, ret, "out of memory");
	if (!cp->resumed) {
		uint64_t reused;

		cp->resumed = true;
		ret = dp_packer_resume(cp->packer, cp->dst_ix, &reused);
		if (ret)
			return dp_job_fail(&cp->job, ret, "resuming: %s", dp_last_error());
		atomic_store(&cp->job.bytes_reused, reused);
	}
	ret = dp_manifest_walk(cp->src, s->id, cp_plan_ref, &wk);
	if (!ret)
		ret = dp_fetcher_flush(cp->fetcher);
	/* every fetch freed: every fetched chunk has been handed to the packer */
	dp_fetcher_drain(cp->fetcher);
	if (!ret)
		ret = dp_packer_finish(cp->packer);
	dp_packer_free(cp->packer);
	cp->packer = NULL;
	if (ret || dp_job_stopped(&cp->job))
		return ret ? (ret == -ECANCELED ? ret
						: dp_job_fail(&cp->job, ret, "snapshot %.16s: %s",
							      s->id, dp_last_error()))
			   : -ECANCELED;
	ret = cp_write_manifest(cp, s);
	if (ret)
		return ret;
	dp_test_point("copy-committed");
	cp->copied++;
	atomic_fetch_add(&cp->job.bytes_done, s->size);
	return 0;
}

static void cp_run(struct dp_job *job)
{
	struct cp_job *cp = cp_of(job);
	struct cp_worker *w;
	unsigned int i;
	int ret;

	ret = dp_repo_load_index(cp->src, cp->src_ix);
	if (!ret)
		ret = dp_repo_load_index(job->repo, cp->dst_ix);
	if (ret) {
		dp_job_fail(job, ret, "%s", dp_last_error());
		return;
	}
	w = calloc(cp->threads, sizeof(*w));
	cp->workers = calloc(cp->threads, sizeof(*cp->workers));
	if (!w || !cp->workers) {
		dp_job_fail(job, -ENOMEM, "out of memory");
		goto out;
	}
	for (i = 0; i < cp->threads; i++) {
		ret = cp_worker_init(cp, &w[i]);
		if (ret) {
			dp_job_fail(job, ret, "out of memory");
			goto out;
		}
	}
	for (i = 0; i < cp->threads; i++) {
		ret = pthread_create(&cp->workers[i], NULL, cp_worker_main, &w[i]);
		if (ret) {
			dp_job_fail(job, -ret, "cannot start threads: %s", strerror(ret));
			break;
		}
		cp->nworkers++;
	}
	for (size_t k = 0; !ret && k < cp->nsnaps && !dp_job_stopped(job); k++)
		ret = cp_one(cp, &cp->snaps[k]);
	dp_fetcher_drain(cp->fetcher);
	dp_queue_close(&cp->fetched);
	for (i = 0; i < cp->nworkers; i++)
		pthread_join(cp->workers[i], NULL);
	job->result.copied = cp->copied;
	job->result.skipped = cp->skipped;
out:
	for (i = 0; w && i < cp->threads; i++)
		cp_worker_fini(&w[i]);
	free(w);
}

static void cp_fini(struct dp_job *job)
{
	struct cp_job *cp = cp_of(job);

	dp_packer_free(cp->packer);
	dp_fetcher_free(cp->fetcher);
	dp_queue_fini(&cp->fetched);
	dp_bufs_fini(&cp->fbufs);
	dp_bufs_fini(&cp->pbufs);
	dp_chunkidx_free(cp->src_ix);
	dp_chunkidx_free(cp->dst_ix);
	idmap_fini(&cp->map);
	dp_snapshot_list_free(cp->snaps, cp->nsnaps);
	free(cp->workers);
	dp_journal_dir_release(cp->jdir);
	dp_lock_release(cp->src_lock);
}

/* On the job's thread, with its memory reserved. */
static int cp_setup(struct dp_job *job)
{
	struct cp_job *cp = cp_of(job);
	uint64_t budget = job->reserved;
	uint32_t cs = cp->src->info.chunk_size;
	int ret;

	/* half for fetched ranges, half for pack parts; their chunk buffers stay untouched */
	ret = dp_bufs_init(&cp->fbufs, budget / 2, cs, 8u << 20, &cp->job.stop);
	if (!ret)
		ret = dp_bufs_init(&cp->pbufs, budget / 2, cs, 8u << 20, &cp->job.stop);
	if (!ret)
		ret = dp_queue_init(&cp->fetched, cp->fbufs.nio, &cp->job.stop);
	if (!ret)
		ret = dp_chunkidx_new(&cp->src_ix);
	if (!ret)
		ret = dp_chunkidx_new(&cp->dst_ix);
	if (!ret)
		ret = dp_fetcher_new(&cp->job, cp->src, &cp->fbufs, cp->src_ix, &cp->fetched,
				     &cp->fetcher);
	return ret;
}

static void cp_release(struct dp_job *job)
{
	struct cp_job *cp = cp_of(job);

	dp_packer_free(cp->packer);
	cp->packer = NULL;
	dp_fetcher_free(cp->fetcher);
	cp->fetcher = NULL;
	dp_bufs_fini(&cp->fbufs);
	dp_bufs_fini(&cp->pbufs);
}

static int cp_snapshot_dup(const struct dp_snapshot *s, struct dp_snapshot *d)
{
	char *json = NULL;
	int ret;

	/* through the metadata's encoding: every field, owned */
	ret = dp_meta_encode(s, &json);
	if (!ret)
		ret = dp_meta_decode(json, strlen(json), d);
	free(json);
	return ret;
}

/* Our copies of the snapshots, the journal, both locks; then the job's thread. */
static int cp_start(struct cp_job *cp, const struct dp_copy_opts *o)
{
	struct dp_repo *from = cp->src, *to = cp->job.repo;
	int ret;

	ret = idmap_init(&cp->map);
	if (ret)
		return ret;
	cp->same_keys =
		from->keys.encrypted == to->keys.encrypted &&
		(!from->keys.encrypted || !memcmp(&from->keys, &to->keys, sizeof(from->keys)));
	cp->level = o->compression ? o->compression : DP_COMPRESSION_DEFAULT;
	cp->threads = o->threads ? o->threads : dp_online_cpus();
	snprintf(cp->job.result.io_mode, sizeof(cp->job.result.io_mode), "%s",
		 cp->same_keys ? "blobs as they are" : "re-encoded");
	cp->snaps = calloc(o->n ? o->n : 1, sizeof(*cp->snaps));
	if (!cp->snaps)
		return -ENOMEM;
	for (size_t i = 0; i < o->n; i++) {
		ret = cp_snapshot_dup(&o->snapshots[i], &cp->snaps[i]);
		if (ret)
			return ret;
		cp->nsnaps++;
		atomic_fetch_add(&cp->job.bytes_total, o->snapshots[i].size);
	}
	if (o->state_dir) {
		char name[96];

		snprintf(name, sizeof(name), "copy:%s", from->info.id);
		ret = dp_journal_dir(o->state_dir, to, name, &cp->jdir);
		if (ret)
			return ret;
	}
	ret = dp_lock_acquire(from, false, "copy", &cp->src_lock);
	if (!ret)
		ret = dp_lock_acquire(to, false, "copy", &cp->job.repo_lock);
	if (ret)
		return ret;
	return dp_job_launch(&cp->job, o->memory);
}

static const struct dp_job_ops cp_ops = {
	.setup = cp_setup,
	.run = cp_run,
	.release = cp_release,
	.wake = cp_wake,
	.fini = cp_fini,
};

int dp_copy_start(struct dp_repo *from, struct dp_repo *to, struct dp_pool *pool,
		  const struct dp_copy_opts *opts, struct dp_job **out)
{
	struct dp_copy_opts o;
	struct dp_job *job;
	struct cp_job *cp;
	uint64_t budget;
	int ret;

	dp_clear_error();
	*out = NULL;
	dp_opts_copy(&o, sizeof(o), opts);
	ret = dp_repo_check_unlocked(from);
	if (ret)
		return dp_err_keep(o.err, ret);
	if (from->info.chunk_size != to->info.chunk_size)
		return dp_err_keep(
			o.err,
			dp_fail(-EINVAL,
				"the repositories have different chunk sizes (%u and %u): copying between them is not supported",
				from->info.chunk_size, to->info.chunk_size));
	budget = o.memory && o.memory < dp_pool_size(pool) ? o.memory : dp_pool_size(pool);
	if (budget < dp_copy_memory_min(from->info.chunk_size))
		return dp_err_keep(
			o.err,
			dp_fail(-EINVAL,
				"a copy takes at least %llu MiB of memory (two sets of 8 "
				"MiB parts and %u KiB chunks), not %llu MiB",
				(unsigned long long)(dp_copy_memory_min(from->info.chunk_size) >>
						     20),
				from->info.chunk_size >> 10, (unsigned long long)(budget >> 20)));
	ret = dp_job_new(to, pool, &cp_ops, sizeof(*cp), o.err, &job);
	if (ret)
		return ret;
	cp = cp_of(job);
	cp->src = from;
	return dp_job_started(&cp->job, cp_start(cp, &o), o.err, out);
}
