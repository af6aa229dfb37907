// SPDX-License-Identifier: MIT
/*
 * datapath/packer.c - writing packs (FORMAT.md "Packs"): blobs appended by
 * any number of threads into the open pack, its bytes cut into parts that
 * are uploaded as they fill (each part is one I/O buffer of the job, lent to
 * the store until the part is sent); a full pack gets its index trailer and
 * goes to the finisher thread, which completes the upload and then writes
 * index/<pack-id>. A pack's chunks can be found by later backups only from
 * that moment on.
 *
 * The backup and the copy of snapshots both write through a packer.
 *
 * Resume (DESIGN.md): with a journal directory, every pack of an object
 * store that can resume uploads gets a journal (journal.c) recording its
 * upload id, each blob appended and each part the store acknowledged. A
 * later run (dp_packer_resume()) reconciles each journal with ListParts: the
 * parts 1..P the store holds with the journaled ETags are kept, with every
 * blob that lies wholly inside them; the pack goes on from byte
 * P * part_size, so only the rest is sent again. A pack whose upload
 * completed but whose index was not written gets its index from the journal.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "pool.h"
#include "queue.h"
#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "packer.h"
#include "journal.h"
#include "job.h"

#define FINISH_QUEUE 4

/* A pack's life: blobs go into it, then its index and tail, then it is complete. */
enum pk_state { PK_OPEN = 0, PK_CLOSED, PK_COMPLETE };

struct pk_pack {
	enum pk_state state;
	uint8_t id[DP_ID_LEN];
	char key[80];
	struct s3_upload *up;
	void *part; /* I/O buffer being filled */
	size_t fill;
	unsigned int nparts; /* parts queued */
	uint64_t size;
	struct dp_pack_entry *e;
	size_t n, cap;
	uint8_t *index; /* sealed, written as trailer and as index/<id> */
	size_t index_len;
	struct dp_journal *journal; /* NULL if none */
	unsigned int min_parts;	    /* resumed: the store holds parts up to here */
};

struct dp_packer {
	struct dp_job *job;
	struct dp_bufs *bufs;
	uint64_t target;
	char *jdir;			     /* journal directory, NULL: none */
	char point_part[48], point_done[48]; /* test points */
	pthread_mutex_t lock;		     /* the open pack */
	struct pk_pack *open;
	bool finished; /* dp_packer_finish() ran: no more appends */
	struct pk_part *parts;
	struct dp_queue finish;
	pthread_t finisher;
	bool finisher_started;
};

/* Completion context of a part: one per I/O buffer. */
struct pk_part {
	struct dp_packer *pk;
	struct pk_pack *pp;
	void *buf;
	char key[80];
	unsigned int num;
};

/* A journal for a new pack, if the store can resume its upload. */
static int pk_journal_open(struct dp_packer *pk, struct pk_pack *pp)
{
	const char *upload_id;

	if (!pk->jdir || s3_upload_id(pp->up, &upload_id))
		return 0;
	return dp_journal_new(pk->jdir, pp->id, pp->key, pk->bufs->io_size, upload_id,
			      &pp->journal);
}

static void pk_part_done(void *arg, int ret, const char *detail)
{
	struct pk_part *p = arg;
	struct dp_packer *pk = p->pk;

	if (ret < 0) {
		dp_job_fail(pk->job, ret, "uploading %s part %u: %s", p->key, p->num,
			    detail && detail[0] ? detail : strerror(-ret));
	} else if (dp_journal_is_open(p->pp->journal)) {
		char etag[S3_ETAG_SIZE];

		if (!s3_upload_part_etag(p->pp->up, p->num, etag))
			dp_journal_part(p->pp->journal, p->num, etag);
	}
	dp_bufs_put_io(pk->bufs, p->buf);
}

static int pk_submit(struct dp_packer *pk, struct pk_pack *pp)
{
	struct pk_part *p;
	int ret;

	assert(pp->part && pp->fill > 0 && pp->fill <= pk->bufs->io_size);
	p = &pk->parts[dp_bufs_io_index(pk->bufs, pp->part)];

	p->pk = pk;
	p->pp = pp;
	p->buf = pp->part;
	p->num = ++pp->nparts;
	snprintf(p->key, sizeof(p->key), "%s", pp->key);
	pp->part = NULL;
	ret = s3_upload_part(pp->up, p->num, p->buf, pp->fill, pk_part_done, p);
	pp->fill = 0;
	if (ret) {
		dp_bufs_put_io(pk->bufs, p->buf);
		return dp_job_fail(pk->job, ret, "uploading %s part %u: %s", pp->key, p->num,
				   strerror(-ret));
	}
	dp_test_point(pk->point_part);
	return 0;
}

static int pk_write(struct dp_packer *pk, struct pk_pack *pp, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		size_t n;

		if (!pp->part) {
			pp->part = dp_bufs_get_io(pk->bufs);
			if (!pp->part)
				return -ECANCELED;
		}
		n = pk->bufs->io_size - pp->fill;
		if (n > len)
			n = len;
		memcpy((char *)pp->part + pp->fill, p, n);
		pp->fill += n;
		pp->size += n;
		p += n;
		len -= n;
		if (pp->fill == pk->bufs->io_size) {
			int ret = pk_submit(pk, pp);

			if (ret)
				return ret;
		}
	}
	return 0;
}

static void pk_pack_free(struct dp_packer *pk, struct pk_pack *pp)
{
	if (!pp)
		return;
	if (pp->part)
		dp_bufs_put_io(pk->bufs, pp->part);
	if (dp_journal_is_open(pp->journal) && dp_job_stopped(pk->job)) {
		/* interrupted: leave the upload and its journal for the next run */
		s3_upload_detach(pp->up);
		dp_journal_close(pp->journal, false);
	} else {
		s3_upload_abort(pp->up);
		dp_journal_close(pp->journal, true);
	}
	free(pp->e);
	free(pp->index);
	free(pp);
}

static int pk_pack_open(struct dp_packer *pk, struct pk_pack **out)
{
	struct pk_pack *pp;
	int ret;

	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	ret = dp_pack_id_new(pp->id);
	if (ret)
		goto out_free;
	dp_key_pack(pp->id, pp->key, sizeof(pp->key));
	ret = s3_upload_new(pk->job->repo->st, pp->key, pk->bufs->io_size, &pp->up);
	if (ret) {
		dp_job_fail(pk->job, ret, "creating %s: %s", pp->key, dp_store_detail());
		goto out_free;
	}
	ret = pk_journal_open(pk, pp);
	if (ret)
		goto out_free;
	*out = pp;
	return 0;
out_free:
	pk_pack_free(pk, pp);
	return ret;
}

/* Append the index and the tail, queue the last part, hand the pack to the finisher. */
static int pk_pack_close(struct dp_packer *pk, struct pk_pack *pp)
{
	int ret;

	assert(pp->state == PK_OPEN && pp != pk->open);
	pp->state = PK_CLOSED;
	/* pp->index: the index, then the trailer (written together, below) */
	ret = dp_pack_tail_build(&pk->job->repo->keys, pp->id, pp->e, pp->n, &pp->index,
				 &pp->index_len);
	if (ret)
		return ret;
	/*
	 * A resumed pack may be shorter than what an earlier run had sent of it:
	 * the store still holds parts up to min_parts, and Ceph RGW refuses a
	 * completion that leaves parts out. Dead bytes before the index (no
	 * entry points at them) make the pack reach that part.
	 */
	if (pp->min_parts) {
		uint64_t want = (uint64_t)(pp->min_parts - 1) * pk->bufs->io_size + 1;
		uint64_t end = pp->size + pp->index_len + DP_PACK_TAIL;
		static const uint8_t zeros[4096];

		while (!ret && end < want) {
			size_t n =
				want - end < sizeof(zeros) ? (size_t)(want - end) : sizeof(zeros);

			ret = pk_write(pk, pp, zeros, n);
			end += n;
		}
		if (ret)
			return ret;
	}
	ret = pk_write(pk, pp, pp->index, pp->index_len + DP_PACK_TAIL);
	if (!ret && pp->fill)
		ret = pk_submit(pk, pp);
	if (!ret)
		ret = dp_queue_push(&pk->finish, pp);
	return ret;
}

int dp_packer_append(struct dp_packer *pk, const uint8_t id[DP_ID_LEN], const void *data,
		     uint32_t len, uint32_t raw_len, uint8_t kind)
{
	struct pk_pack *pp;
	int ret = 0;

	pthread_mutex_lock(&pk->lock);
	assert(!pk->finished);
	if (!pk->open) {
		ret = pk_pack_open(pk, &pk->open);
		if (ret)
			goto out;
	}
	pp = pk->open;
	assert(pp->state == PK_OPEN);
	if (pp->n == pp->cap) {
		void *e = dp_grow(pp->e, &pp->cap, pp->n + 1, sizeof(*pp->e));

		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		pp->e = e;
	}
	memcpy(pp->e[pp->n].id, id, DP_ID_LEN);
	pp->e[pp->n].offset = pp->size;
	pp->e[pp->n].stored_len = len;
	pp->e[pp->n].raw_len = raw_len;
	pp->e[pp->n].kind = kind;
	dp_journal_chunk(pp->journal, &pp->e[pp->n]);
	pp->n++;
	ret = pk_write(pk, pp, data, len);
	if (ret)
		goto out;
	if (pp->size >= pk->target) {
		pk->open = NULL;
		ret = pk_pack_close(pk, pp);
		if (ret)
			pk_pack_free(pk, pp);
	}
out:
	pthread_mutex_unlock(&pk->lock);
	return ret;
}

static void *pk_finisher_main(void *arg)
{
	struct dp_packer *pk = arg;
	struct dp_job *job = pk->job;
	struct pk_pack *pp;
	bool closed;

	while ((pp = dp_queue_pop(&pk->finish))) {
		char key[96];
		int ret;

		assert(pp->state == PK_CLOSED);
		dp_test_point("pack-completing");
		ret = s3_upload_complete(pp->up);
		pp->up = NULL;
		pp->state = PK_COMPLETE;
		if (ret) {
			dp_job_fail(job, ret, "completing %s: %s", pp->key, dp_store_detail());
			pk_pack_free(pk, pp);
			break;
		}
		dp_journal_complete(pp->journal);
		dp_test_point("pack-completed");
		dp_key_index(pp->id, key, sizeof(key));
		ret = s3_store_put(job->repo->st, key, pp->index, pp->index_len);
		if (ret) {
			dp_job_fail(job, ret, "writing %s: %s", key, dp_store_detail());
			pk_pack_free(pk, pp);
			break;
		}
		atomic_fetch_add(&job->packs, 1);
		dp_journal_close(pp->journal, true);
		pp->journal = NULL;
		pk_pack_free(pk, pp);
		dp_test_point(pk->point_done);
	}
	/* after a failure: abort what is still queued */
	while ((pp = dp_queue_trypop(&pk->finish, &closed)))
		pk_pack_free(pk, pp);
	return NULL;
}

int dp_packer_new(struct dp_job *job, struct dp_bufs *bufs, uint64_t target, const char *point,
		  const char *journal_dir, struct dp_packer **out)
{
	struct dp_packer *pk;
	int ret;

	*out = NULL;
	pk = calloc(1, sizeof(*pk));
	if (!pk)
		return -ENOMEM;
	pk->job = job;
	pk->bufs = bufs;
	pk->target = target;
	if (journal_dir) {
		pk->jdir = strdup(journal_dir);
		if (!pk->jdir) {
			free(pk);
			return -ENOMEM;
		}
	}
	snprintf(pk->point_part, sizeof(pk->point_part), "%s-mid-pack", point);
	snprintf(pk->point_done, sizeof(pk->point_done), "%s-pack-done", point);
	pthread_mutex_init(&pk->lock, NULL);
	pk->parts = calloc(bufs->nio, sizeof(*pk->parts));
	ret = pk->parts ? dp_queue_init(&pk->finish, FINISH_QUEUE, &job->stop) : -ENOMEM;
	if (!ret) {
		ret = -pthread_create(&pk->finisher, NULL, pk_finisher_main, pk);
		pk->finisher_started = !ret;
	}
	if (ret) {
		dp_packer_free(pk);
		return ret;
	}
	*out = pk;
	return 0;
}

int dp_packer_finish(struct dp_packer *pk)
{
	int ret = 0;

	pthread_mutex_lock(&pk->lock);
	pk->finished = true;
	if (pk->open && !dp_job_stopped(pk->job)) {
		struct pk_pack *pp = pk->open;

		pk->open = NULL;
		ret = pk_pack_close(pk, pp);
		if (ret) {
			pk_pack_free(pk, pp);
			if (ret != -ECANCELED)
				dp_job_fail(pk->job, ret, "closing a pack: %s", strerror(-ret));
		}
	}
	pthread_mutex_unlock(&pk->lock);
	dp_queue_close(&pk->finish);
	if (pk->finisher_started) {
		pthread_join(pk->finisher, NULL);
		pk->finisher_started = false;
	}
	return dp_job_stopped(pk->job) ? -ECANCELED : ret;
}

void dp_packer_wake(struct dp_packer *pk)
{
	if (pk)
		dp_queue_wake(&pk->finish);
}

void dp_packer_free(struct dp_packer *pk)
{
	if (!pk)
		return;
	if (pk->finisher_started) {
		dp_queue_close(&pk->finish);
		pthread_join(pk->finisher, NULL);
	}
	pk_pack_free(pk, pk->open);
	dp_queue_fini(&pk->finish);
	free(pk->parts);
	free(pk->jdir);
	pthread_mutex_destroy(&pk->lock);
	free(pk);
}

/* ----------------------------------------------------------------- resume */

struct pk_listed {
	struct dp_journal_info *j;
	char (*etags)[S3_ETAG_SIZE];
	uint64_t *sizes;
	unsigned int highest;
};

static int pk_listed_part(void *arg, unsigned int num, uint64_t size, const char *etag)
{
	struct pk_listed *l = arg;

	if (num >= 1 && num <= S3_UPLOAD_MAX_PARTS) {
		snprintf(l->etags[num], S3_ETAG_SIZE, "%s", etag);
		l->sizes[num] = size;
		if (num > l->highest)
			l->highest = num;
	}
	return 0;
}

/* Register @e[0..n) of pack @id in @ix (present: dedup finds them). */
static int pk_index_entries(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN],
			    const struct dp_pack_entry *e, size_t n)
{
	int pack = dp_chunkidx_add_pack(ix, id);

	if (pack < 0)
		return pack;
	for (size_t i = 0; i < n; i++) {
		struct dp_loc loc = {.offset = e[i].offset,
				     .pack = (uint32_t)pack,
				     .stored_len = e[i].stored_len,
				     .raw_len = e[i].raw_len,
				     .kind = e[i].kind};
		int ret = dp_chunkidx_insert(ix, e[i].id, &loc);

		if (ret < 0)
			return ret;
	}
	return 0;
}

/* A completed pack without its index: write the index from the journal. */
static int pk_resume_complete(struct dp_packer *pk, struct dp_journal_info *j,
			      const uint8_t id[DP_ID_LEN], struct dp_chunkidx *ix, uint64_t *reused)
{
	struct dp_repo *repo = pk->job->repo;
	uint8_t *index = NULL;
	char key[96];
	uint64_t size;
	size_t len;
	int ret;

	ret = s3_store_head(repo->st, j->key, &size);
	if (ret)
		return ret == -ENOENT ? 0 : ret; /* gone: nothing to save */
	dp_key_index(id, key, sizeof(key));
	if (s3_store_head(repo->st, key, &size) == -ENOENT) {
		ret = dp_pack_index_seal(&repo->keys, id, j->e, j->n, &index, &len);
		if (!ret)
			ret = s3_store_put(repo->st, key, index, len);
		free(index);
		if (ret)
			return dp_fail(ret, "writing %s: %s", key, dp_store_detail());
	}
	for (size_t i = 0; i < j->n; i++)
		*reused += j->e[i].stored_len;
	return pk_index_entries(ix, id, j->e, j->n);
}

/* An unfinished upload: keep the parts the store holds as journaled, go on from there. */
static int pk_resume_open(struct dp_packer *pk, struct dp_journal_info *j,
			  const uint8_t id[DP_ID_LEN], const char *path, struct dp_chunkidx *ix,
			  uint64_t *reused)
{
	struct dp_repo *repo = pk->job->repo;
	struct pk_listed l = {.j = j};
	struct s3_upload *up = NULL;
	struct pk_pack *pp = NULL;
	unsigned int keep = 0;
	uint64_t end;
	int ret;

	ret = s3_upload_resume(repo->st, j->key, j->upload, j->part_size, &up);
	if (ret)
		return ret == -ENOENT ? 0 : ret; /* gone: start over */
	l.etags = calloc(S3_UPLOAD_MAX_PARTS + 1, sizeof(*l.etags));
	l.sizes = calloc(S3_UPLOAD_MAX_PARTS + 1, sizeof(*l.sizes));
	if (!l.etags || !l.sizes) {
		ret = -ENOMEM;
		goto out;
	}
	ret = s3_upload_list_parts(up, pk_listed_part, &l);
	if (ret)
		goto out;
	/*
	 * Whole parts only: the last part of a pack that was closed (its index
	 * and tail sent, killed before Complete) is short, and new blobs cannot
	 * go on after it.
	 */
	while (keep < S3_UPLOAD_MAX_PARTS && j->parts[keep + 1].have &&
	       !strcmp(j->parts[keep + 1].etag, l.etags[keep + 1]) &&
	       l.sizes[keep + 1] == j->part_size)
		keep++;
	end = (uint64_t)keep * j->part_size;
	pp = calloc(1, sizeof(*pp));
	if (!pp) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(pp->id, id, DP_ID_LEN);
	snprintf(pp->key, sizeof(pp->key), "%s", j->key);
	for (size_t i = 0; i < j->n; i++) {
		if (j->e[i].offset + j->e[i].stored_len > end)
			continue;
		if (pp->n == pp->cap) {
			void *p = dp_grow(pp->e, &pp->cap, pp->n + 1, sizeof(*pp->e));

			if (!p) {
				ret = -ENOMEM;
				goto out;
			}
			pp->e = p;
		}
		pp->e[pp->n++] = j->e[i];
	}
	if (!pp->n) {
		ret = 0; /* nothing worth keeping: the upload goes */
		goto out;
	}
	pp->up = up;
	up = NULL;
	pp->size = end;
	pp->nparts = keep;
	pp->min_parts = l.highest;
	for (size_t i = 0; i < pp->n; i++)
		*reused += pp->e[i].stored_len;
	if (dp_journal_rewrite(path, j, pp->e, pp->n, keep, &pp->journal))
		pp->journal = NULL; /* resume without a journal of its own */
	ret = pk_index_entries(ix, id, pp->e, pp->n);
	if (ret)
		goto out;
	pr_info("resuming %s: %u parts (%llu bytes) kept", pp->key, keep, (unsigned long long)end);
	pthread_mutex_lock(&pk->lock);
	if (!pk->open) {
		pk->open = pp; /* the next blobs go on filling it */
	} else {
		ret = pk_pack_close(pk, pp); /* only one open pack: end this one now */
		if (ret)
			pk_pack_free(pk, pp);
	}
	pthread_mutex_unlock(&pk->lock);
	pp = NULL;
out:
	if (pp) {
		pp->up = NULL;
		dp_journal_close(pp->journal, false);
		free(pp->e);
		free(pp);
	}
	s3_upload_abort(up);
	free(l.etags);
	free(l.sizes);
	return ret;
}

struct pk_resume {
	struct dp_packer *pk;
	struct dp_chunkidx *ix;
	uint64_t *reused;
};

static int pk_resume_one(void *arg, const char *path, const uint8_t id[DP_ID_LEN])
{
	struct pk_resume *rs = arg;
	struct dp_packer *pk = rs->pk;
	struct dp_journal_info j;
	int ret = dp_journal_read(path, &j);

	if (ret == -ENOMEM) {
		/* fails the resume */
	} else if (ret) {
		pr_warn("ignoring the journal %s: %s", path, strerror(-ret));
		unlink(path);
		ret = 0;
	} else if (j.part_size != pk->bufs->io_size) {
		/* cut for another part size (another --memory): its upload cannot go on */
		s3_store_abort_upload(pk->job->repo->st, j.key, j.upload);
		unlink(path);
	} else if (j.complete) {
		ret = pk_resume_complete(pk, &j, id, rs->ix, rs->reused);
		if (!ret)
			unlink(path);
	} else {
		ret = pk_resume_open(pk, &j, id, path, rs->ix, rs->reused);
		if (!ret && (!pk->open || memcmp(pk->open->id, id, DP_ID_LEN)))
			unlink(path); /* not kept, or closed and now its own journal */
	}
	dp_journal_info_fini(&j);
	return ret;
}

int dp_packer_resume(struct dp_packer *pk, struct dp_chunkidx *ix, uint64_t *reused)
{
	struct pk_resume rs = {.pk = pk, .ix = ix, .reused = reused};

	*reused = 0;
	if (!pk->jdir)
		return 0;
	return dp_journal_each(pk->jdir, pk_resume_one, &rs);
}
