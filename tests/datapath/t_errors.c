// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_errors.c - the detail of a failure stays with its caller:
 * the job start functions fill the caller's struct dp_err, which a later
 * failure on the same thread (what a reconciler's shared worker does next)
 * does not touch, unlike dp_last_error(); and a job's result carries its own
 * struct dp_err, equal to dp_job_error(). Also the verify job's result: no
 * snapshot id, the volume's name, the differences counted.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "s3/store.h"
#include "t_helpers.h"

static struct dp_repo *repo;
static struct dp_pool *pool;

static void run(struct dp_job *job)
{
	T_ASSERT(!dp_job_wait(job, -1));
}

int main(void)
{
	struct dp_init_opts io = {
		.sz = sizeof(io), .password = "errors", .password_len = 6, .scrypt_n = 1024};
	struct dp_err e1 = {0}, e2 = {0}, e3 = {0};
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_job *job = NULL;
	const struct dp_result *r;
	char *dir = t_tmpdir("errors"), url[600], img[600], missing[600], target[600];
	static uint8_t buf[4u << 20];
	size_t n = 0;
	int ret;

	snprintf(url, sizeof(url), "file://%s/repo", dir);
	snprintf(img, sizeof(img), "%s/v.img", dir);
	snprintf(missing, sizeof(missing), "%s/no-such-source.img", dir);
	snprintf(target, sizeof(target), "%s/no-such-dir/out.img", dir);
	T_ASSERT(!s3_store_open(
		url, &(struct s3_store_opts){.sz = sizeof(struct s3_store_opts), .fsync = -1},
		&st));
	T_ASSERT(!dp_repo_init(st, &io, NULL), "%s", dp_last_error());
	T_ASSERT(!dp_repo_open(st, &repo));
	T_ASSERT(!dp_repo_unlock(repo, "errors", 6));
	T_ASSERT(!dp_pool_new(DP_MEMORY_MIN, &pool));
	t_fill_random(buf, sizeof(buf), 11);
	t_write_file(img, buf, sizeof(buf));

	/* a backup of a source that is not there: the caller's struct has it */
	ret = dp_backup_start(repo, pool,
			      &(struct dp_backup_opts){.sz = sizeof(struct dp_backup_opts),
						       .source = missing,
						       .volume = "v",
						       .err = &e1},
			      &job);
	T_ASSERT(ret == -ENOENT && !job, "%d", ret);
	T_ASSERT(e1.code == -ENOENT && strstr(e1.msg, "no-such-source"), "%d %s", e1.code, e1.msg);
	/* the next failure on this thread changes dp_last_error(), not e1 */
	ret = dp_verify_start(repo, pool,
			      &(struct dp_verify_opts){.sz = sizeof(struct dp_verify_opts),
						       .source = img,
						       .err = &e2},
			      &job);
	T_ASSERT(ret == -EINVAL && e2.code == -EINVAL && strstr(e2.msg, "snapshot"), "%d %s", ret,
		 e2.msg);
	T_ASSERT(!strstr(dp_last_error(), "no-such-source"));
	T_ASSERT(e1.code == -ENOENT && strstr(e1.msg, "no-such-source"), "e1 changed: %s", e1.msg);

	/* a backup that works: no detail */
	ret = dp_backup_start(repo, pool,
			      &(struct dp_backup_opts){.sz = sizeof(struct dp_backup_opts),
						       .source = img,
						       .volume = "v",
						       .err = &e3},
			      &job);
	T_ASSERT(!ret && !e3.code, "%s", e3.msg);
	run(job);
	r = dp_job_result(job);
	T_ASSERT(!r->err && !r->error.code && !r->error.msg[0] && r->snapshot_id[0]);
	dp_job_free(job);
	T_ASSERT(!dp_snapshot_list(repo, &snaps, &n) && n == 1);

	/* a restore into a directory that does not exist: refused at once, nothing made */
	ret = dp_restore_start(repo, pool,
			       &(struct dp_restore_opts){.sz = sizeof(struct dp_restore_opts),
							 .target = target,
							 .snapshot = &snaps[0],
							 .err = &e3},
			       &job);
	T_ASSERT(ret == -ENOENT && e3.code == -ENOENT && strstr(e3.msg, "no-such-dir"), "%d %s",
		 ret, e3.msg);

	/* verify: equal, then one chunk different; no snapshot id in the result */
	ret = dp_verify_start(repo, pool,
			      &(struct dp_verify_opts){.sz = sizeof(struct dp_verify_opts),
						       .source = img,
						       .snapshot = &snaps[0]},
			      &job);
	T_ASSERT(!ret, "%s", dp_last_error());
	run(job);
	r = dp_job_result(job);
	T_ASSERT(!r->err && !r->mismatches && !r->snapshot_id[0] && !strcmp(r->volume, "v"),
		 "%d %llu '%s' '%s'", r->err, (unsigned long long)r->mismatches, r->snapshot_id,
		 r->volume);
	dp_job_free(job);
	buf[(2u << 20) + 5] ^= 1;
	t_write_file(img, buf, sizeof(buf));
	T_ASSERT(!dp_verify_start(repo, pool,
				  &(struct dp_verify_opts){.sz = sizeof(struct dp_verify_opts),
							   .source = img,
							   .snapshot = &snaps[0]},
				  &job));
	run(job);
	r = dp_job_result(job);
	T_ASSERT(!r->err && r->mismatches == 1 && r->first_mismatch == 2u << 20, "%llu at %llu",
		 (unsigned long long)r->mismatches, (unsigned long long)r->first_mismatch);
	dp_job_free(job);

	/* a job that fails while it runs: its result carries the cause, as dp_job_error() */
	{
		char key[96];

		snprintf(key, sizeof(key), "snapshots/%s", snaps[0].id);
		T_ASSERT(!s3_store_delete(st, key));
	}
	snprintf(target, sizeof(target), "%s/out.img", dir);
	T_ASSERT(!dp_restore_start(repo, pool,
				   &(struct dp_restore_opts){.sz = sizeof(struct dp_restore_opts),
							     .target = target,
							     .snapshot = &snaps[0]},
				   &job));
	run(job);
	r = dp_job_result(job);
	T_ASSERT(r->err == -ENOENT && r->error.code == -ENOENT &&
			 !strncmp(r->error.msg, dp_job_error(job), sizeof(r->error.msg) - 1),
		 "%d %d '%s' '%s'", r->err, r->error.code, r->error.msg, dp_job_error(job));
	T_ASSERT(access(target, F_OK), "a restore of a missing manifest created its target");
	dp_job_free(job);

	dp_snapshot_list_free(snaps, n);
	dp_pool_free(pool);
	dp_repo_free(repo);
	s3_store_free(st);
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_errors\n");
	return T_EXIT_PASS;
}
