// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_restore.c - ferry restore: a snapshot onto a device or an image file,
 * in full or (--onto) as a delta onto the snapshot the target holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void restore_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry restore --repo URL [--volume NAME] [OPTIONS] SNAPSHOT TARGET\n"
		"       ferry restore --repo URL --onto PARENT [--stamp FILE] [OPTIONS] SNAPSHOT TARGET\n\n"
		"Restore SNAPSHOT (a full id, a unique prefix of at least 8 hex digits, or\n"
		"'latest') onto TARGET: a block device at least the volume's size and not in use,\n"
		"or an image file (created sparse if missing, else truncated to the volume's size).\n"
		"Every chunk is verified against its id before it is written; the restore\n"
		"succeeds only if every byte of the volume was written and verified.\n\n"
		"With --onto, TARGET must hold PARENT (a snapshot named as SNAPSHOT is): only\n"
		"the chunks in which SNAPSHOT differs from PARENT are written (zero chunks\n"
		"become holes or are zeroed), each verified first. TARGET's stamp must say it\n"
		"holds PARENT, unmodified since: every restore and apply writes one when it\n"
		"ends (an image file's attribute user.ferry.stamp, or --stamp FILE). An apply\n"
		"or a restore cut short leaves TARGET marked dirty: the next apply is refused\n"
		"until a full restore.\n\n"
		"The first argument create, get, describe, download, logs or delete is a\n"
		"cluster's Restore ('ferry restore create --help'): a TARGET file so named is\n"
		"given as ./create.\n\n"
		"  --volume NAME           the volume 'latest' and id prefixes refer to\n"
		"  --onto PARENT           apply SNAPSHOT as a delta onto TARGET, which holds PARENT\n"
		"  --stamp FILE            keep TARGET's stamp in FILE (needed for a block device)\n"
		"  --threads N             decompression threads (default: one per CPU)\n"
		"  --queue-depth N         writes in flight (default: automatic, up to 64)\n"
		"  --io MODE               auto (io_uring, else pwrite), uring, pread\n"
		"  --direct-io MODE        auto (O_DIRECT where allowed), off\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

/* The options of restore into @ro; *@help if --help was asked for. */
static int restore_parse(int argc, char **argv, struct ctl_common *c, struct dp_restore_opts *ro,
			 const char **volume, const char **onto, bool *help)
{
	enum {
		OPT_VOLUME = CTL_OPT_VERB_BASE,
		OPT_THREADS,
		OPT_QD,
		OPT_IO,
		OPT_DIRECT,
		OPT_ONTO,
		OPT_STAMP
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"onto", required_argument, NULL, OPT_ONTO},
		{"stamp", required_argument, NULL, OPT_STAMP},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"queue-depth", required_argument, NULL, OPT_QD},
		{"io", required_argument, NULL, OPT_IO},
		{"direct-io", required_argument, NULL, OPT_DIRECT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v = 0;
	int opt, ret = 0;

	while (!ret &&
	       (opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			*help = true;
			return 0;
		case OPT_VOLUME:
			*volume = optarg;
			break;
		case OPT_ONTO:
			*onto = optarg;
			break;
		case OPT_STAMP:
			ro->stamp = optarg;
			break;
		case OPT_THREADS:
			ret = ctl_parse_uint("restore", "threads", optarg, 1, 256, &v);
			ro->threads = (unsigned int)v;
			break;
		case OPT_QD:
			ret = ctl_parse_uint("restore", "queue-depth", optarg, 1, 1024, &v);
			ro->queue_depth = (unsigned int)v;
			break;
		case OPT_IO:
		case OPT_DIRECT:
			ret = ctl_io_opt("restore", opt == OPT_IO ? CTL_IO_ENGINE : CTL_IO_DIRECT,
					 optarg, &ro->no_uring, &ro->no_direct);
			break;
		default:
			ret = ctl_common_opt(c, "restore", opt, optarg);
			break;
		}
	}
	if (!ret && argc - optind != 2)
		ret = ctl_usage_error("restore", "give SNAPSHOT and TARGET (%d argument%s given)",
				      argc - optind, argc - optind == 1 ? "" : "s");
	return ret;
}

static void restore_print(const struct ctl_common *c, const struct dp_result *r, const char *target)
{
	const struct dp_progress *p = &r->progress;

	if (c->json) {
		ctl_json_result(r->parent[0] ? "apply" : "restore", r, c->repo, target);
		return;
	}
	if (r->parent[0]) {
		printf("snapshot %s applied onto %s, which held %s\n", r->snapshot_id, target,
		       r->parent);
		printf("  volume %s: %.1f MB in %.2f s (%s): %llu chunks written (%.1f MB), %llu "
		       "zeroed (%.1f MB), %llu unchanged\n",
		       r->volume, (double)p->bytes_total / 1e6, p->seconds, r->io_mode,
		       (unsigned long long)p->chunks_new, (double)p->bytes_written / 1e6,
		       (unsigned long long)p->chunks_zero, (double)p->bytes_zero / 1e6,
		       (unsigned long long)p->chunks_unchanged);
		return;
	}
	printf("snapshot %s restored to %s\n", r->snapshot_id, target);
	printf("  volume %s: %.1f MB in %.2f s (%.0f MB/s, %s), %.1f MB written, %.1f MB zero\n",
	       r->volume, (double)p->bytes_total / 1e6, p->seconds,
	       p->seconds > 0 ? (double)p->bytes_total / 1e6 / p->seconds : 0, r->io_mode,
	       (double)p->bytes_written / 1e6, (double)p->bytes_zero / 1e6);
}

int ctl_cmd_restore(int argc, char **argv)
{
	struct dp_restore_opts ro = {.sz = sizeof(ro)};
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;
	const char *volume = NULL, *onto = NULL;
	struct ctl_common c;
	size_t nsnaps = 0;
	bool help = false;
	int ret, err;

	ctl_common_init(&c);
	ret = restore_parse(argc, argv, &c, &ro, &volume, &onto, &help);
	if (ret || help) {
		if (help)
			restore_usage(stdout);
		return ret;
	}
	ro.target = argv[optind + 1];
	ro.memory = c.memory;
	ret = ctl_repo_open(&c, "restore", &st, &repo);
	if (ret)
		goto out;
	ret = dp_snapshot_list(repo, &snaps, &nsnaps);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ro.snapshot = dp_snapshot_find(repo, snaps, nsnaps, argv[optind], volume, &err);
	if (!ro.snapshot) {
		ret = ctl_fail(err, NULL, "%s", dp_last_error());
		goto out;
	}
	if (onto) {
		ro.onto = dp_snapshot_find(repo, snaps, nsnaps, onto, volume, &err);
		if (!ro.onto) {
			ret = ctl_fail(err, NULL, "--onto: %s", dp_last_error());
			goto out;
		}
	}
	ret = ctl_pool_new(&c, &pool);
	if (ret)
		goto out;
	ctl_signals_init();
	ret = dp_restore_start(repo, pool, &ro, &job);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = ctl_job_run(job, &c, "restore");
	if (!ret)
		restore_print(&c, dp_job_result(job), ro.target);
out:
	dp_job_free(job);
	dp_pool_free(pool);
	dp_snapshot_list_free(snaps, nsnaps);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
