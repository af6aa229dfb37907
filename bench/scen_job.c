// SPDX-License-Identifier: MIT
/*
 * bench/scen_job.c - backup and restore, whole jobs through datapath/dp.h,
 * as `ferry backup` and `ferry restore` run them.
 *
 *   backup   a fresh repository in bench's prefix of --repo (encrypted unless
 *            --encryption off, as new repositories are), then one backup
 *            of the source (the generated image or --source) with --threads,
 *            --compression and --memory. Objects are the objects the backup
 *            wrote (packs, their indexes, the manifest).
 *   restore  the snapshot of the backup stage (or, run alone, of a backup
 *            made first and not timed) onto a new sparse file in the work
 *            directory, then a byte-for-byte comparison with the source (not
 *            timed). Objects are the packs the restore read from. The
 *            target stays until the end of the run (cmd_bench.c removes it).
 *
 * dp.h reports progress but not the timing of single requests, so these two
 * stages have no latency figures (null in the JSON).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "control/cli/cli.h"
#include "datapath/dp.h"
#include "s3/store.h"

static int job_count_fn(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(uint64_t *)arg)++;
	return 0;
}

static uint64_t job_count(struct s3_store *s, const char *prefix)
{
	uint64_t n = 0;

	if (s3_store_list(s, prefix, job_count_fn, &n))
		return 0;
	return n;
}

/* Wait for @job, sampling its progress; SIGINT/SIGTERM cancel it. */
static const struct dp_result *job_wait(struct bench_stage *st, struct dp_job *job)
{
	struct dp_progress p;
	bool cancelled = false;

	while (dp_job_wait(job, 100) == -ETIMEDOUT) {
		if (ctl_interrupted() && !cancelled) {
			dp_job_cancel(job);
			cancelled = true;
		}
		dp_job_progress(job, &p);
		bench_stage_tick(st, p.bytes_done);
	}
	return dp_job_result(job);
}

static int job_open(struct bench_stage *st, struct bench_job_ctx *jc)
{
	struct ctl_common *c = st->o->common;
	/*
	 * A scratch repository, encrypted as new repositories are by default,
	 * with $FERRY_PASSWORD (so that --keep leaves one the usual commands
	 * open), else "ferry-bench".
	 */
	const char *pw = getenv("FERRY_PASSWORD");
	struct dp_init_opts io = {
		.sz = sizeof(io), .chunk_size = st->o->chunk_size, .scrypt_n = 1024};
	int ret;

	if (!pw || !pw[0])
		pw = "ferry-bench";
	if (st->o->no_encryption) {
		io.no_encryption = true;
	} else {
		io.password = pw;
		io.password_len = strlen(pw);
	}

	if (jc->repo)
		return 0;
	ret = bench_store_open(st, jc->url, &jc->st);
	if (ret)
		return ret;
	ret = dp_repo_init(jc->st, &io, NULL);
	if (ret)
		return bench_stage_fail(st, ret, "%s", dp_last_error());
	ret = dp_repo_open(jc->st, &jc->repo);
	if (!ret)
		ret = dp_repo_unlock(jc->repo, pw, strlen(pw));
	if (ret)
		return bench_stage_fail(st, ret, "%s", dp_last_error());
	ret = dp_pool_new(c->memory ? c->memory : DP_MEMORY_DEFAULT, &jc->pool);
	if (ret)
		return bench_stage_fail(st, ret, "%s", dp_last_error());
	return 0;
}

int bench_scen_backup(struct bench_stage *st, struct bench_job_ctx *jc)
{
	const struct bench_opts *o = st->o;
	struct dp_backup_opts bo = {.sz = sizeof(bo)};
	const struct dp_result *r;
	struct dp_job *job = NULL;
	uint64_t before;
	int ret;

	ret = job_open(st, jc);
	if (ret)
		return ret;
	bo.source = o->source;
	bo.volume = "ferry-bench";
	bo.compression = o->compression;
	bo.threads = o->threads;
	bo.memory = o->common->memory;
	before = job_count(jc->st, "");
	bench_stage_begin(st);
	ret = dp_backup_start(jc->repo, jc->pool, &bo, &job);
	if (ret) {
		bench_stage_end(st, 0);
		return bench_stage_fail(st, ret, "%s", dp_last_error());
	}
	r = job_wait(st, job);
	bench_stage_end(st, r->progress.bytes_done);
	if (r->err) {
		ret = bench_stage_fail(st, r->err, "backup failed: %s", dp_job_error(job));
		goto out;
	}
	st->bytes_in = r->progress.bytes_total;
	st->bytes_stored = r->progress.bytes_new;
	st->objects = job_count(jc->st, "") - before;
	cJSON_AddStringToObject(st->detail, "snapshot_id", r->snapshot_id);
	cJSON_AddStringToObject(st->detail, "io_mode", r->io_mode);
	cJSON_AddStringToObject(st->detail, "source", o->source);
	cJSON_AddBoolToObject(st->detail, "encrypted", dp_repo_is_encrypted(jc->repo));
	cJSON_AddNumberToObject(st->detail, "threads", o->threads ? o->threads : bench_cpus());
	cJSON_AddNumberToObject(st->detail, "level",
				o->compression ? o->compression : DP_COMPRESSION_DEFAULT);
	cJSON_AddNumberToObject(st->detail, "bytes_read", (double)r->progress.bytes_read);
	cJSON_AddNumberToObject(st->detail, "bytes_zero", (double)r->progress.bytes_zero);
	cJSON_AddNumberToObject(st->detail, "chunks_total", (double)r->progress.chunks_total);
	cJSON_AddNumberToObject(st->detail, "chunks_new", (double)r->progress.chunks_new);
	cJSON_AddNumberToObject(st->detail, "packs", (double)r->progress.packs);
	memcpy(jc->snapshot_id, r->snapshot_id, sizeof(jc->snapshot_id));
	jc->backed_up = true;
out:
	dp_job_free(job);
	return ret;
}

/* Compare @a and @b byte for byte. 0, -EUCLEAN (differ, detail set) or -errno. */
static int job_compare(struct bench_stage *st, const char *a, const char *b)
{
	size_t bs = 1u << 20;
	char *x = malloc(bs), *y = malloc(bs);
	int fa = open(a, O_RDONLY | O_CLOEXEC), fb = open(b, O_RDONLY | O_CLOEXEC);
	uint64_t off = 0;
	int ret = 0;

	if (!x || !y) {
		ret = bench_stage_fail(st, -ENOMEM, "out of memory");
		goto out;
	}
	if (fa < 0 || fb < 0) {
		ret = -errno;
		bench_stage_fail(st, ret, "cannot open %s: %s", fa < 0 ? a : b, strerror(-ret));
		goto out;
	}
	for (;;) {
		ssize_t na = pread(fa, x, bs, (off_t)off), nb = pread(fb, y, bs, (off_t)off);

		if (na < 0 || nb < 0) {
			ret = -errno;
			bench_stage_fail(st, ret, "read for the comparison: %s", strerror(-ret));
			break;
		}
		if (na != nb || memcmp(x, y, (size_t)na)) {
			ret = bench_stage_fail(st, -EUCLEAN,
					       "restored %s differs from %s near byte %llu", b, a,
					       (unsigned long long)off);
			break;
		}
		if (na == 0)
			break;
		off += (uint64_t)na;
	}
out:
	if (fa >= 0)
		close(fa);
	if (fb >= 0)
		close(fb);
	free(x);
	free(y);
	return ret;
}

int bench_scen_restore(struct bench_stage *st, struct bench_job_ctx *jc)
{
	const struct bench_opts *o = st->o;
	struct dp_restore_opts ro = {.sz = sizeof(ro)};
	struct dp_snapshot *snaps = NULL;
	const struct dp_snapshot *s;
	const struct dp_result *r;
	struct dp_job *job = NULL;
	size_t nsnaps = 0;
	int ret, err;

	if (!jc->backed_up) {
		struct bench_stage setup;
		double t0 = bench_now();

		ret = bench_stage_init(&setup, "restore-setup", o);
		if (!ret)
			ret = bench_scen_backup(&setup, jc);
		if (ret)
			bench_stage_fail(st, ret, "the backup to restore failed: %s", setup.error);
		bench_stage_fini(&setup);
		if (ret)
			return ret;
		cJSON_AddNumberToObject(st->detail, "setup_seconds", bench_now() - t0);
	}
	ret = dp_snapshot_list(jc->repo, &snaps, &nsnaps);
	if (ret)
		return bench_stage_fail(st, ret, "%s", dp_last_error());
	s = dp_snapshot_find(jc->repo, snaps, nsnaps, jc->snapshot_id, NULL, &err);
	if (!s) {
		ret = bench_stage_fail(st, err, "%s", dp_last_error());
		goto out;
	}
	if (unlink(jc->restore_target) && errno != ENOENT) {
		ret = -errno;
		bench_stage_fail(st, ret, "cannot remove %s: %s", jc->restore_target,
				 strerror(-ret));
		goto out;
	}
	ro.target = jc->restore_target;
	ro.snapshot = s;
	ro.threads = o->threads;
	ro.memory = o->common->memory;
	bench_stage_begin(st);
	ret = dp_restore_start(jc->repo, jc->pool, &ro, &job);
	if (ret) {
		bench_stage_end(st, 0);
		bench_stage_fail(st, ret, "%s", dp_last_error());
		goto out;
	}
	r = job_wait(st, job);
	bench_stage_end(st, r->progress.bytes_done);
	if (r->err) {
		ret = bench_stage_fail(st, r->err, "restore failed: %s", dp_job_error(job));
		goto out;
	}
	st->bytes_in = r->progress.bytes_total;
	st->bytes_stored = r->progress.bytes_read;
	st->objects = job_count(jc->st, "data/");
	cJSON_AddStringToObject(st->detail, "snapshot_id", r->snapshot_id);
	cJSON_AddStringToObject(st->detail, "io_mode", r->io_mode);
	cJSON_AddStringToObject(st->detail, "target", jc->restore_target);
	cJSON_AddBoolToObject(st->detail, "encrypted", dp_repo_is_encrypted(jc->repo));
	cJSON_AddNumberToObject(st->detail, "threads", o->threads ? o->threads : bench_cpus());
	cJSON_AddNumberToObject(st->detail, "bytes_written", (double)r->progress.bytes_written);
	ret = job_compare(st, o->source, jc->restore_target);
	cJSON_AddBoolToObject(st->detail, "verified", ret == 0);
out:
	dp_job_free(job);
	dp_snapshot_list_free(snaps, nsnaps);
	return ret;
}

void bench_job_ctx_fini(struct bench_job_ctx *jc)
{
	dp_repo_free(jc->repo);
	dp_pool_free(jc->pool);
	s3_store_free(jc->st);
	jc->repo = NULL;
	jc->pool = NULL;
	jc->st = NULL;
}
