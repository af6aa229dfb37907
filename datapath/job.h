/* SPDX-License-Identifier: MIT */
/*
 * datapath/job.h - what every job shares (job.c). Private to datapath/.
 */
#ifndef FERRY_DP_JOB_H
#define FERRY_DP_JOB_H

#include "dp_int.h"

/* What a kind of job (backup, restore, copy, verify) does in the frame of job.c. */
struct dp_job_ops {
	int (*setup)(struct dp_job *job);    /* on its thread, once the memory is reserved */
	void (*run)(struct dp_job *job);     /* the job's main, on its thread */
	void (*release)(struct dp_job *job); /* after @run: give the buffers back (NULL: fini) */
	void (*wake)(struct dp_job *job);    /* wakes the kind's waits after @stop */
	void (*fini)(struct dp_job *job);    /* frees the kind's state */
};

/*
 * The state every job shares: its threads check @stop; the first failure
 * wins and is kept in @result.err/@errmsg.
 */
struct dp_job {
	struct dp_repo *repo;
	struct dp_pool *pool;
	uint64_t reserved; /* bytes of @pool held */
	atomic_bool stop;
	bool cancelled;
	pthread_mutex_t wake_lock; /* @ready, and calls of @wake */
	bool ready;		   /* set up: @wake may touch the kind's state */
	bool released;		   /* past @run: ready for good no more */
	pthread_mutex_t lock;	   /* @errmsg, @result, @done */
	pthread_cond_t done_cond;
	bool done;
	pthread_t thread;
	bool thread_started;
	char errmsg[512];
	struct dp_result result;
	double t0;
	/* counters (struct dp_progress, atomically updated) */
	atomic_uint_fast64_t bytes_total, bytes_done, bytes_read, bytes_zero, bytes_new,
		bytes_raw_new, bytes_written, chunks_total, chunks_zero, chunks_new, chunks_dedup,
		packs, bytes_unchanged, bytes_reused, chunks_unchanged;
	struct dp_lock *repo_lock; /* the repository lock the job holds */
	uint64_t want;		   /* bytes of @pool to reserve before @setup */
	const struct dp_job_ops *ops;
};

/* Record the first failure (@err, message) and stop the job; returns @err. */
int dp_job_fail(struct dp_job *job, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool dp_job_stopped(const struct dp_job *job);
/*
 * dp_job_new() - a job of a kind whose struct (@size bytes) begins with its
 * struct dp_job, zeroed, for @repo (which must be unlocked) and @pool.
 * Return 0; -ENOKEY, -ENOMEM, also into @err (NULL ok).
 */
int dp_job_new(struct dp_repo *repo, struct dp_pool *pool, const struct dp_job_ops *ops,
	       size_t size, struct dp_err *err, struct dp_job **out);
/* Start the job's thread, which reserves @memory of the pool first (0: all of it). */
int dp_job_launch(struct dp_job *job, uint64_t memory);
/*
 * The end of a start function: on success (@ret 0) *@out is the job and
 * @err (NULL ok) is cleared; on failure the job is freed and @err gets @ret
 * with the calling thread's detail. Returns @ret.
 */
int dp_job_started(struct dp_job *job, int ret, struct dp_err *err, struct dp_job **out);

#endif /* FERRY_DP_JOB_H */
