// SPDX-License-Identifier: MIT
/*
 * datapath/job.c - what every job does the same way: its thread, its first
 * error, cancellation, progress counters and the wait for its end.
 */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "pool.h"
#include "repo_int.h"
#include "job.h"

int dp_job_new(struct dp_repo *repo, struct dp_pool *pool, const struct dp_job_ops *ops,
	       size_t size, struct dp_err *err, struct dp_job **out)
{
	struct dp_job *job;
	int ret;

	*out = NULL;
	assert(size >= sizeof(*job) && ops && ops->run);
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return dp_err_keep(err, ret);
	job = calloc(1, size);
	if (!job)
		return dp_err_keep(err, -ENOMEM);
	job->repo = repo;
	job->pool = pool;
	job->ops = ops;
	atomic_init(&job->stop, false);
	pthread_mutex_init(&job->lock, NULL);
	pthread_mutex_init(&job->wake_lock, NULL);
	pthread_cond_init(&job->done_cond, NULL);
	job->t0 = dp_mono_s();
	*out = job;
	return 0;
}

/*
 * Wake the job's waits, but only while its buffers, queues and rings exist
 * (between its setup and its release, both on the job's thread): a job that
 * stops before or after that has nobody waiting, and its threads check @stop
 * before they wait.
 */
static void dp_job_wake(struct dp_job *job)
{
	pthread_mutex_lock(&job->wake_lock);
	if (job->ready && job->ops->wake)
		job->ops->wake(job);
	pthread_mutex_unlock(&job->wake_lock);
}

static void dp_job_set_ready(struct dp_job *job, bool ready)
{
	pthread_mutex_lock(&job->wake_lock);
	/* not ready -> ready (set up) -> not ready (released), each once */
	assert(!ready || (!job->ready && !job->released));
	if (!ready)
		job->released = true;
	job->ready = ready;
	pthread_mutex_unlock(&job->wake_lock);
	if (ready && dp_job_stopped(job))
		dp_job_wake(job); /* stopped while it was being set up */
}

int dp_job_fail(struct dp_job *job, int err, const char *fmt, ...)
{
	va_list ap;

	assert(err < 0);
	pthread_mutex_lock(&job->lock);
	if (!job->result.err) {
		job->result.err = err;
		va_start(ap, fmt);
		vsnprintf(job->errmsg, sizeof(job->errmsg), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&job->lock);
	if (!atomic_exchange(&job->stop, true))
		dp_job_wake(job);
	return err;
}

bool dp_job_stopped(const struct dp_job *job)
{
	return atomic_load(&job->stop);
}

void dp_job_progress(struct dp_job *job, struct dp_progress *p)
{
	p->bytes_total = atomic_load(&job->bytes_total);
	p->bytes_done = atomic_load(&job->bytes_done);
	p->bytes_read = atomic_load(&job->bytes_read);
	p->bytes_zero = atomic_load(&job->bytes_zero);
	p->bytes_new = atomic_load(&job->bytes_new);
	p->bytes_raw_new = atomic_load(&job->bytes_raw_new);
	p->bytes_written = atomic_load(&job->bytes_written);
	p->chunks_total = atomic_load(&job->chunks_total);
	p->chunks_zero = atomic_load(&job->chunks_zero);
	p->chunks_new = atomic_load(&job->chunks_new);
	p->chunks_dedup = atomic_load(&job->chunks_dedup);
	p->packs = atomic_load(&job->packs);
	p->bytes_unchanged = atomic_load(&job->bytes_unchanged);
	p->bytes_reused = atomic_load(&job->bytes_reused);
	p->chunks_unchanged = atomic_load(&job->chunks_unchanged);
	p->seconds = dp_mono_s() - job->t0;
}

static void *dp_job_main(void *arg)
{
	struct dp_job *job = arg;
	double seconds;
	int ret = 0;

	/*
	 * The job's share of the pool, on its own thread: a caller starting
	 * more jobs than the pool holds at once is never blocked, the jobs
	 * simply wait their turn (the node agent queues them this way).
	 */
	if (job->want) {
		ret = dp_pool_reserve(job->pool, job->want, &job->stop);
		if (ret)
			dp_job_fail(job, ret, "interrupted while waiting for memory");
		else
			job->reserved = job->want;
	}
	if (!ret && job->ops->setup) {
		ret = job->ops->setup(job);
		if (ret && !dp_job_stopped(job))
			dp_job_fail(job, ret, "%s",
				    dp_last_error()[0] ? dp_last_error() : strerror(-ret));
	}
	if (!ret) {
		dp_job_set_ready(job, true);
		job->ops->run(job);
	}
	dp_job_set_ready(job, false);
	/* its memory goes back as soon as it is done, not when it is freed */
	if (job->ops->release)
		job->ops->release(job);
	if (job->reserved) {
		dp_pool_unreserve(job->pool, job->reserved);
		job->reserved = 0;
	}
	seconds = dp_mono_s() - job->t0;
	pthread_mutex_lock(&job->lock);
	if (!job->result.err && job->cancelled)
		job->result.err = -ECANCELED;
	if (job->result.err == -ECANCELED && job->cancelled && !job->errmsg[0])
		snprintf(job->errmsg, sizeof(job->errmsg), "interrupted");
	pthread_mutex_unlock(&job->lock);
	dp_job_progress(job, &job->result.progress);
	job->result.progress.seconds = seconds;
	if (job->result.err)
		dp_err_set(&job->result.error, job->result.err, "%s", job->errmsg);
	pthread_mutex_lock(&job->lock);
	/* a job that stopped has its cause */
	assert(!atomic_load(&job->stop) || job->result.err);
	job->done = true;
	pthread_cond_broadcast(&job->done_cond);
	pthread_mutex_unlock(&job->lock);
	return NULL;
}

int dp_job_launch(struct dp_job *job, uint64_t memory)
{
	uint64_t pool = dp_pool_size(job->pool);
	int ret;

	/* launched once, with what a job needs */
	assert(!job->thread_started && job->ops && job->ops->run && job->repo);
	/* its share of the pool, reserved by its thread before ops->setup() */
	job->want = memory && memory < pool ? memory : pool;
	ret = pthread_create(&job->thread, NULL, dp_job_main, job);
	if (ret)
		return -ret;
	job->thread_started = true;
	return 0;
}

int dp_job_started(struct dp_job *job, int ret, struct dp_err *err, struct dp_job **out)
{
	*out = NULL;
	dp_err_keep(err, ret);
	if (!ret) {
		*out = job;
		return 0;
	}
	dp_job_free(job);
	return ret;
}

int dp_job_wait(struct dp_job *job, int timeout_ms)
{
	struct timespec ts;
	int ret = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (timeout_ms >= 0) {
		ts.tv_sec += timeout_ms / 1000;
		ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
	}
	pthread_mutex_lock(&job->lock);
	while (!job->done && !ret) {
		if (timeout_ms < 0)
			pthread_cond_wait(&job->done_cond, &job->lock);
		else if (pthread_cond_timedwait(&job->done_cond, &job->lock, &ts) == ETIMEDOUT)
			ret = -ETIMEDOUT;
	}
	if (job->done)
		ret = 0;
	pthread_mutex_unlock(&job->lock);
	return ret;
}

void dp_job_cancel(struct dp_job *job)
{
	pthread_mutex_lock(&job->lock);
	job->cancelled = true;
	pthread_mutex_unlock(&job->lock);
	dp_job_fail(job, -ECANCELED, "interrupted");
}

const struct dp_result *dp_job_result(const struct dp_job *job)
{
	return &job->result;
}

const char *dp_job_error(const struct dp_job *job)
{
	return job->errmsg;
}

void dp_job_free(struct dp_job *job)
{
	if (!job)
		return;
	if (job->thread_started) {
		if (!job->done)
			dp_job_cancel(job);
		pthread_join(job->thread, NULL);
	}
	if (job->ops && job->ops->fini)
		job->ops->fini(job);
	dp_lock_release(job->repo_lock);
	if (job->reserved)
		dp_pool_unreserve(job->pool, job->reserved);
	pthread_mutex_destroy(&job->lock);
	pthread_mutex_destroy(&job->wake_lock);
	pthread_cond_destroy(&job->done_cond);
	free(job);
}
