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
 */
#include <stdio.h>
#include <stdlib.h>

#include "dp_int.h"
#include "s3/store.h"

#define FINISH_QUEUE 4

struct pk_pack {
	uint8_t id[DP_ID_LEN];
	char key[80];
	struct s3_upload *up;
	void *part;		/* I/O buffer being filled */
	size_t fill;
	unsigned int nparts;	/* parts queued */
	uint64_t size;
	struct dp_pack_entry *e;
	size_t n, cap;
	uint8_t *index;		/* sealed, written as trailer and as index/<id> */
	size_t index_len;
};

/* Completion context of a part: one per I/O buffer. */
struct pk_part {
	struct dp_packer *pk;
	void *buf;
	char key[80];
	unsigned int num;
};

struct dp_packer {
	struct dp_job *job;
	struct dp_bufs *bufs;
	uint64_t target;
	char point_part[48], point_done[48];	/* test points */
	pthread_mutex_t lock;	/* the open pack */
	struct pk_pack *open;
	struct pk_part *parts;
	struct dp_queue finish;
	pthread_t finisher;
	bool finisher_started;
};

static void pk_part_done(void *arg, int ret, const char *detail)
{
	struct pk_part *p = arg;
	struct dp_packer *pk = p->pk;

	if (ret < 0)
		dp_job_fail(pk->job, ret, "uploading %s part %u: %s", p->key, p->num,
			    detail && detail[0] ? detail : strerror(-ret));
	dp_bufs_put_io(pk->bufs, p->buf);
}

static int pk_submit(struct dp_packer *pk, struct pk_pack *pp)
{
	size_t io_base = (size_t)pk->bufs->nchunk * pk->bufs->chunk_size;
	struct pk_part *p = &pk->parts[((char *)pp->part - (char *)pk->bufs->map - io_base) /
				       pk->bufs->io_size];
	int ret;

	p->pk = pk;
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
	s3_upload_abort(pp->up);
	free(pp->e);
	free(pp->index);
	free(pp);
}

static int pk_pack_open(struct dp_packer *pk, struct pk_pack **out)
{
	struct pk_pack *pp;
	char hex[65];
	int ret;

	pp = calloc(1, sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	ret = dp_random_id(hex);
	if (!ret)
		ret = dp_unhex(hex, pp->id, DP_ID_LEN);
	if (ret)
		goto out_free;
	dp_key_pack(pp->id, pp->key, sizeof(pp->key));
	ret = s3_upload_new(pk->job->repo->st, pp->key, pk->bufs->io_size, &pp->up);
	if (ret) {
		dp_job_fail(pk->job, ret, "creating %s: %s", pp->key, dp_store_detail());
		goto out_free;
	}
	*out = pp;
	return 0;
out_free:
	free(pp);
	return ret;
}

/* Append the index and the tail, queue the last part, hand the pack to the finisher. */
static int pk_pack_close(struct dp_packer *pk, struct pk_pack *pp)
{
	uint8_t tail[DP_PACK_TAIL];
	int ret;

	ret = dp_pack_index_seal(&pk->job->repo->keys, pp->id, pp->e, pp->n, &pp->index,
				 &pp->index_len);
	if (ret)
		return ret;
	dp_put_le32(tail, (uint32_t)pp->index_len);
	memcpy(tail + 4, "FRYP", 4);
	ret = pk_write(pk, pp, pp->index, pp->index_len);
	if (!ret)
		ret = pk_write(pk, pp, tail, sizeof(tail));
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
	if (!pk->open) {
		ret = pk_pack_open(pk, &pk->open);
		if (ret)
			goto out;
	}
	pp = pk->open;
	if (pp->n == pp->cap) {
		size_t cap = pp->cap ? pp->cap * 2 : 256;
		void *e = realloc(pp->e, cap * sizeof(*pp->e));

		if (!e) {
			ret = -ENOMEM;
			goto out;
		}
		pp->e = e;
		pp->cap = cap;
	}
	memcpy(pp->e[pp->n].id, id, DP_ID_LEN);
	pp->e[pp->n].offset = pp->size;
	pp->e[pp->n].stored_len = len;
	pp->e[pp->n].raw_len = raw_len;
	pp->e[pp->n].kind = kind;
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

		ret = s3_upload_complete(pp->up);
		pp->up = NULL;
		if (ret) {
			dp_job_fail(job, ret, "completing %s: %s", pp->key, dp_store_detail());
			pk_pack_free(pk, pp);
			break;
		}
		dp_key_index(pp->id, key, sizeof(key));
		ret = s3_store_put(job->repo->st, key, pp->index, pp->index_len);
		if (ret) {
			dp_job_fail(job, ret, "writing %s: %s", key, dp_store_detail());
			pk_pack_free(pk, pp);
			break;
		}
		atomic_fetch_add(&job->packs, 1);
		pk_pack_free(pk, pp);
		dp_test_point(pk->point_done);
	}
	/* after a failure: abort what is still queued */
	while ((pp = dp_queue_trypop(&pk->finish, &closed)))
		pk_pack_free(pk, pp);
	return NULL;
}

int dp_packer_new(struct dp_job *job, struct dp_bufs *bufs, uint64_t target, const char *point,
		  struct dp_packer **out)
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
	if (pk->open && !dp_job_stopped(pk->job)) {
		ret = pk_pack_close(pk, pk->open);
		if (ret) {
			pk_pack_free(pk, pk->open);
			if (ret != -ECANCELED)
				dp_job_fail(pk->job, ret, "closing a pack: %s", strerror(-ret));
		}
		pk->open = NULL;
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
	pthread_mutex_destroy(&pk->lock);
	free(pk);
}
