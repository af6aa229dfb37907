// SPDX-License-Identifier: MIT
/*
 * datapath/verify.c - the verify job (`ferry check --source`): does a volume
 * equal a snapshot? The volume is read and hashed as a backup reads it
 * (reader.c), and each place, in volume order, is compared with the
 * snapshot's manifest, streamed through a cursor (parent.c). Nothing is
 * stored: no packer, no index loaded, no manifest written; the job holds a
 * shared lock named "verify" so that no forget removes the snapshot under
 * it. The controllers call this to check that a restored or migrated volume
 * equals its snapshot.
 */
#include <stdio.h>
#include <stdlib.h>

#include "job.h"
#include "reader.h"
#include "repo_int.h"

struct vf_job {
	struct dp_job job;
	struct dp_dev dev;
	struct dp_bufs bufs;
	struct dp_reader *reader;
	struct dp_parent *snap; /* cursor over the snapshot's manifest */
	char snap_id[65];
	uint64_t snap_size;
	uint32_t chunk_size;
	unsigned int threads, qd_opt;
	bool no_uring;
	uint64_t vidx; /* the chunk index the order thread is at */
	uint64_t mismatches, first_mismatch;
};

static struct vf_job *vf_of(struct dp_job *job)
{
	return (struct vf_job *)job;
}

static void vf_wake(struct dp_job *job)
{
	struct vf_job *vf = vf_of(job);

	dp_bufs_wake(&vf->bufs);
	dp_reader_wake(vf->reader);
}

static void vf_differ(struct vf_job *vf, uint64_t n)
{
	if (!vf->mismatches)
		vf->first_mismatch = vf->vidx * vf->chunk_size;
	vf->mismatches += n;
}

/* The next place of the volume (reader.c's order thread): compared with the snapshot's. */
static int vf_slot(void *arg, const struct dp_slot *s)
{
	struct vf_job *vf = arg;

	for (uint64_t k = 0; k < s->count;) {
		uint8_t id[DP_ID_LEN];
		uint64_t run, n;
		bool zero;
		int ret = dp_parent_get(vf->snap, vf->vidx, &zero, id, &run);

		if (ret == -ENOENT) {
			run = s->count - k; /* the snapshot is shorter: all of it differs */
			zero = !s->zero;
		} else if (ret) {
			return dp_job_fail(&vf->job, ret, "snapshot %.16s: %s", vf->snap_id,
					   dp_last_error());
		}
		n = run < s->count - k ? run : s->count - k;
		if (zero != s->zero || (!zero && memcmp(id, s->id, DP_ID_LEN)))
			vf_differ(vf, n);
		vf->vidx += n;
		k += n;
	}
	return 0;
}

/* The volume must have had the snapshot's chunks, and no more; the manifest checks out. */
static void vf_finish(struct vf_job *vf)
{
	uint8_t id[DP_ID_LEN];
	uint64_t run;
	bool zero;
	int ret = dp_parent_get(vf->snap, vf->vidx, &zero, id, &run);

	if (!ret)
		vf_differ(vf, run); /* the snapshot is longer */
	else if (ret != -ENOENT)
		dp_job_fail(&vf->job, ret, "snapshot %.16s: %s", vf->snap_id, dp_last_error());
	vf->job.result.mismatches = vf->mismatches;
	vf->job.result.first_mismatch = vf->first_mismatch;
	if (vf->dev.size != vf->snap_size && !vf->mismatches)
		vf->job.result.mismatches = 1;
}

static void vf_run(struct dp_job *job)
{
	struct vf_job *vf = vf_of(job);

	pr_debug("verify %s against %.16s: %u workers, %u reads in flight, %u chunk buffers",
		 vf->dev.path, vf->snap_id, vf->threads, dp_reader_queue_depth(vf->reader),
		 vf->bufs.nchunk);
	dp_reader_run(vf->reader);
	if (!dp_job_stopped(job))
		vf_finish(vf);
}

/* On the job's thread, with its memory reserved: chunk buffers (no I/O buffers), the reader. */
static int vf_setup(struct dp_job *job)
{
	struct vf_job *vf = vf_of(job);
	struct dp_reader_opts ro = {
		.job = job,
		.dev = &vf->dev,
		.bufs = &vf->bufs,
		.keys = &job->repo->keys,
		.threads = vf->threads,
		.queue_depth = vf->qd_opt,
		.no_uring = vf->no_uring,
		.slot = vf_slot,
		.arg = vf,
	};
	int ret;

	ret = dp_bufs_init(&vf->bufs, job->reserved, vf->chunk_size, 0, &vf->job.stop);
	if (!ret)
		ret = dp_reader_new(&ro, &vf->reader);
	if (ret)
		return ret;
	snprintf(vf->job.result.io_mode, sizeof(vf->job.result.io_mode), "%s",
		 dp_reader_io_mode(vf->reader));
	return 0;
}

static void vf_release(struct dp_job *job)
{
	struct vf_job *vf = vf_of(job);

	dp_reader_free(vf->reader);
	vf->reader = NULL;
	dp_bufs_fini(&vf->bufs);
}

static void vf_fini(struct dp_job *job)
{
	struct vf_job *vf = vf_of(job);

	dp_reader_free(vf->reader);
	dp_bufs_fini(&vf->bufs);
	dp_dev_close(&vf->dev);
	dp_parent_free(vf->snap);
}

static int vf_start(struct vf_job *vf, const struct dp_verify_opts *o)
{
	struct dp_repo *repo = vf->job.repo;
	const struct dp_snapshot *s = o->snapshot;
	int ret;

	if (!s || !o->source)
		return dp_fail(-EINVAL,
			       "verifying needs a source and the snapshot to compare with");
	if (s->chunk_size != repo->info.chunk_size)
		return dp_fail(-EUCLEAN, "snapshot %.16s has chunk size %u, the repository %u",
			       s->id, s->chunk_size, repo->info.chunk_size);
	vf->chunk_size = repo->info.chunk_size;
	vf->threads = o->threads ? o->threads : dp_online_cpus();
	if (vf->threads > 256)
		vf->threads = 256;
	vf->qd_opt = o->queue_depth;
	vf->no_uring = o->no_uring;
	memcpy(vf->snap_id, s->id, sizeof(vf->snap_id));
	vf->snap_size = s->size;
	snprintf(vf->job.result.volume, sizeof(vf->job.result.volume), "%s",
		 s->volume ? s->volume : "");
	ret = dp_dev_open_source(&vf->dev, o->source, o->no_direct);
	if (ret)
		return ret;
	atomic_store(&vf->job.bytes_total, vf->dev.size);
	ret = dp_parent_open(repo, s->id, &vf->snap);
	/* a shared lock: no forget removes the snapshot while it is read */
	if (!ret)
		ret = dp_lock_acquire(repo, false, "verify", &vf->job.repo_lock);
	if (ret)
		return ret;
	return dp_job_launch(&vf->job, o->memory);
}

static const struct dp_job_ops vf_ops = {
	.setup = vf_setup,
	.run = vf_run,
	.release = vf_release,
	.wake = vf_wake,
	.fini = vf_fini,
};

int dp_verify_start(struct dp_repo *repo, struct dp_pool *pool, const struct dp_verify_opts *opts,
		    struct dp_job **out)
{
	struct dp_verify_opts o;
	struct dp_job *job;
	struct vf_job *vf;
	int ret;

	dp_clear_error();
	dp_opts_copy(&o, sizeof(o), opts);
	ret = dp_job_new(repo, pool, &vf_ops, sizeof(*vf), o.err, &job);
	*out = NULL;
	if (ret)
		return ret;
	vf = vf_of(job);
	vf->dev.fd = vf->dev.fd_buffered = -1;
	return dp_job_started(&vf->job, vf_start(vf, &o), o.err, out);
}
