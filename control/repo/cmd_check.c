// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_check.c - ferry check: verify a repository (structure, and with
 * --read-data every blob), or with --source that a volume equals a snapshot.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void check_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry check --repo URL [--read-data [--subset N/M]] [--json]\n"
		"       ferry check --repo URL --source DEVICE [--volume NAME] SNAPSHOT\n\n"
		"Verify the repository: every manifest decodes, every chunk it references is in\n"
		"an index, every index decodes and its pack exists and is long enough. With\n"
		"--read-data every blob is downloaded, decrypted, decompressed and checked\n"
		"against its id; damage is reported with the snapshots and volume offsets it\n"
		"affects. With --source, read DEVICE (or an image file) and prove that it equals\n"
		"SNAPSHOT chunk by chunk (e.g. after an incremental built from a changed-block\n"
		"list). Exit 0 when all is well, 4 when something is damaged or different.\n\n"
		"  --read-data             also verify every blob's content\n"
		"  --subset N/M            with --read-data, only every M-th pack starting at the N-th\n"
		"  --source DEVICE         compare DEVICE with SNAPSHOT\n"
		"  --volume NAME           the volume 'latest' and prefixes refer to (with --source)\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

static void check_problem(void *arg, const char *msg)
{
	unsigned long *n = arg;

	(*n)++;
	printf("problem: %s\n", msg);
}

static void check_problem_quiet(void *arg, const char *msg)
{
	unsigned long *n = arg;

	(*n)++;
	fprintf(stderr, "ferry: problem: %s\n", msg);
}

int ctl_cmd_check(int argc, char **argv)
{
	enum { OPT_READ = CTL_OPT_VERB_BASE, OPT_SUBSET, OPT_SOURCE, OPT_VOLUME };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"read-data", no_argument, NULL, OPT_READ},
		{"subset", required_argument, NULL, OPT_SUBSET},
		{"source", required_argument, NULL, OPT_SOURCE},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_check_opts co = {.sz = sizeof(co)};
	struct dp_check_report r;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	const char *source = NULL, *volume = NULL;
	unsigned long problems = 0;
	struct ctl_common c;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			check_usage(stdout);
			return 0;
		case OPT_READ:
			co.read_data = true;
			break;
		case OPT_SUBSET: {
			unsigned int n, m;
			char tail;

			if (sscanf(optarg, "%u/%u%c", &n, &m, &tail) != 2 || n < 1 || n > m)
				return ctl_usage_error(
					"check", "--subset takes N/M with 1 <= N <= M, not '%s'",
					optarg);
			co.subset_n = n;
			co.subset_of = m;
			break;
		}
		case OPT_SOURCE:
			source = optarg;
			break;
		case OPT_VOLUME:
			volume = optarg;
			break;
		default:
			ret = ctl_common_opt(&c, "check", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (co.subset_of && !co.read_data)
		return ctl_usage_error("check", "--subset goes with --read-data");
	if (source)
		return ctl_check_source(&c, source, volume, argc - optind, argv + optind);
	if (optind < argc)
		return ctl_usage_error("check", "unexpected argument '%s'", argv[optind]);
	ret = ctl_repo_open(&c, "check", &st, &repo);
	if (ret)
		return ret;
	co.problem = c.json ? check_problem_quiet : check_problem;
	co.arg = &problems;
	ret = dp_check(repo, &co, &r);
	if (ret && ret != -EUCLEAN) {
		ret = ctl_fail(ret, NULL, "check failed: %s", dp_last_error());
		goto out;
	}
	if (c.json)
		ctl_json_check(&r, co.read_data);
	else
		printf("%llu snapshots, %llu packs, %llu chunks%s%llu packs and %llu chunks read: %llu problem%s\n",
		       (unsigned long long)r.snapshots, (unsigned long long)r.packs,
		       (unsigned long long)r.chunks, co.read_data ? "; " : " (structure only); ",
		       (unsigned long long)r.packs_read, (unsigned long long)r.chunks_read,
		       (unsigned long long)r.problems, r.problems == 1 ? "" : "s");
	ret = r.problems ? ctl_fail(-EUCLEAN, NULL, "the repository is damaged: %llu problem%s",
				    (unsigned long long)r.problems, r.problems == 1 ? "" : "s")
			 : 0;
out:
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}

int ctl_check_source(struct ctl_common *c, const char *source, const char *volume, int argc,
		     char **argv)
{
	struct dp_backup_opts bo = {.sz = sizeof(bo), .source = source, .verify = true};
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;
	const struct dp_result *r;
	size_t n = 0;
	int ret, err;

	if (argc != 1)
		return ctl_usage_error("check", "--source takes one SNAPSHOT to compare with");
	ret = ctl_repo_open(c, "check", &st, &repo);
	if (ret)
		return ret;
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	bo.parent = dp_snapshot_find(repo, snaps, n, argv[0], volume, &err);
	if (!bo.parent) {
		ret = ctl_fail(err, NULL, "%s", dp_last_error());
		goto out;
	}
	bo.volume = bo.parent->volume;
	bo.memory = c->memory;
	ret = ctl_pool_new(c, &pool);
	if (ret)
		goto out;
	ctl_signals_init();
	ret = dp_backup_start(repo, pool, &bo, &job);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = ctl_job_run(job, c, "check");
	if (ret)
		goto out;
	r = dp_job_result(job);
	if (c->json)
		ctl_json_verify(r, bo.parent->id, source);
	if (r->mismatches) {
		ret = ctl_fail(
			-EUCLEAN, NULL,
			"%s differs from snapshot %.16s: %llu chunk%s differ, the first at offset %llu",
			source, bo.parent->id, (unsigned long long)r->mismatches,
			r->mismatches == 1 ? "" : "s", (unsigned long long)r->first_mismatch);
		goto out;
	}
	if (!c->json)
		printf("%s equals snapshot %.16s: %llu chunks, %.1f MB read in %.2f s\n", source,
		       bo.parent->id, (unsigned long long)r->progress.chunks_total,
		       (double)r->progress.bytes_read / 1e6, r->progress.seconds);
	ret = 0;
out:
	dp_job_free(job);
	dp_pool_free(pool);
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
