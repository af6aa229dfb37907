// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_load.c - many jobs at once in one process, the node
 * agent's way: 8 backups of 8 volumes into one repository, then 8 restores,
 * all sharing one 128 MiB buffer pool (each job reserves a quarter of it, or waits its
 * turn);
 * every restore is byte-identical, and the process's peak RSS stays within
 * the pool plus 64 MiB (compression contexts of the workers, code,
 * libraries).
 *
 *   t_load DIR      (DIR: an empty directory for the images and the repository)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "s3/store.h"
#include "t_helpers.h"

#define NJOBS 8
#define VOL   (24u << 20)
#define POOL  (128ull << 20)

/* half random, a quarter zero, a quarter text; written 1 MiB at a time */
static void mkvolume(const char *path, unsigned int seed)
{
	static uint8_t buf[1u << 20];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0)
		t_error("create %s: %s", path, strerror(errno));
	for (size_t off = 0; off < VOL; off += sizeof(buf)) {
		if (off < VOL / 2)
			t_fill_random(buf, sizeof(buf), seed * 1000 + off);
		else if (off < VOL * 3 / 4)
			memset(buf, 0, sizeof(buf));
		else
			for (size_t i = 0; i < sizeof(buf); i++)
				buf[i] = (uint8_t)("ferry load test "[i % 16] + seed);
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) != (ssize_t)sizeof(buf))
			t_error("write %s: %s", path, strerror(errno));
	}
	close(fd);
}

static bool same_file(const char *a, const char *b)
{
	char *argv[] = {"cmp", "-s", (char *)a, (char *)b, NULL};

	return t_spawn(argv) == 0;
}

int main(int argc, char **argv)
{
	struct dp_init_opts io = {
		.sz = sizeof(io), .password = "load", .password_len = 4, .scrypt_n = 1024};
	struct dp_job *jobs[NJOBS] = {0};
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct dp_pool *pool = NULL;
	char path[NJOBS][512], out[NJOBS][512], url[600], vol[NJOBS][16];
	struct rusage ru;
	size_t nsnaps = 0;
	int ret;

	if (argc != 2)
		t_error("usage: t_load DIR");
	snprintf(url, sizeof(url), "file://%s/repo", argv[1]);
	T_ASSERT(!s3_store_open(
		url, &(struct s3_store_opts){.sz = sizeof(struct s3_store_opts), .fsync = -1},
		&st));
	T_ASSERT(!dp_repo_init(st, &io, NULL), "%s", dp_last_error());
	T_ASSERT(!dp_repo_open(st, &repo));
	T_ASSERT(!dp_repo_unlock(repo, "load", 4));
	T_ASSERT(!dp_pool_new(POOL, &pool));
	for (int i = 0; i < NJOBS; i++) {
		snprintf(path[i], sizeof(path[i]), "%s/v%d.img", argv[1], i);
		snprintf(out[i], sizeof(out[i]), "%s/r%d.img", argv[1], i);
		snprintf(vol[i], sizeof(vol[i]), "vol-%d", i);
		mkvolume(path[i], (unsigned int)i + 1);
	}
	/* 8 backups at once: each reserves a quarter of the pool, so at most 4 run together */
	for (int i = 0; i < NJOBS; i++) {
		struct dp_backup_opts bo = {.sz = sizeof(bo),
					    .source = path[i],
					    .volume = vol[i],
					    .memory = POOL / 4,
					    .threads = 2};

		ret = dp_backup_start(repo, pool, &bo, &jobs[i]);
		T_ASSERT(!ret, "backup %d: %s", i, dp_last_error());
	}
	for (int i = 0; i < NJOBS; i++) {
		T_ASSERT(!dp_job_wait(jobs[i], -1));
		T_ASSERT(!dp_job_result(jobs[i])->err, "backup %d: %s", i, dp_job_error(jobs[i]));
		dp_job_free(jobs[i]);
		jobs[i] = NULL;
	}
	T_ASSERT(!dp_snapshot_list(repo, &snaps, &nsnaps));
	T_ASSERT_EQ(nsnaps, NJOBS);
	/* 8 restores at once */
	for (int i = 0; i < NJOBS; i++) {
		int err;
		const struct dp_snapshot *s =
			dp_snapshot_find(repo, snaps, nsnaps, "latest", vol[i], &err);
		struct dp_restore_opts ro = {.sz = sizeof(ro),
					     .target = out[i],
					     .snapshot = s,
					     .memory = POOL / 4,
					     .threads = 2};

		T_ASSERT(s, "snapshot of %s: %s", vol[i], dp_last_error());
		ret = dp_restore_start(repo, pool, &ro, &jobs[i]);
		T_ASSERT(!ret, "restore %d: %s", i, dp_last_error());
	}
	for (int i = 0; i < NJOBS; i++) {
		T_ASSERT(!dp_job_wait(jobs[i], -1));
		T_ASSERT(!dp_job_result(jobs[i])->err, "restore %d: %s", i, dp_job_error(jobs[i]));
		dp_job_free(jobs[i]);
		T_ASSERT(same_file(path[i], out[i]), "volume %d restored differently", i);
	}
	getrusage(RUSAGE_SELF, &ru);
	printf("# 8 backups and 8 restores at once: peak RSS %ld KiB (pool %llu MiB)\n",
	       ru.ru_maxrss, POOL >> 20);
#if !defined(__SANITIZE_ADDRESS__) && !defined(__SANITIZE_THREAD__)
	T_ASSERT(ru.ru_maxrss <= (long)((POOL >> 10) + (64 << 10)), "peak RSS %ld KiB",
		 ru.ru_maxrss);
#endif
	dp_snapshot_list_free(snaps, nsnaps);
	dp_pool_free(pool);
	dp_repo_free(repo);
	s3_store_free(st);
	printf("PASS: t_load\n");
	return T_EXIT_PASS;
}
