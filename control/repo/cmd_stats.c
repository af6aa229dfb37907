// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_stats.c - ferry stats: logical and stored sizes, dedup and
 * compression ratios, what prune would reclaim.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void stats_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry stats --repo URL [--json]\n\n"
		"Show what the repository holds: the volume bytes its snapshots describe, the\n"
		"bytes it stores, the dedup and compression ratios, and what 'ferry prune' would\n"
		"reclaim.\n\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0;
}

int ctl_cmd_stats(int argc, char **argv)
{
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct ctl_common c;
	struct dp_stats s;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			stats_usage(stdout);
			return 0;
		default:
			ret = ctl_common_opt(&c, "stats", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("stats", "unexpected argument '%s'", argv[optind]);
	ret = ctl_repo_open(&c, "stats", &st, &repo);
	if (ret)
		return ret;
	ret = dp_repo_stats(repo, &s);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	if (c.json) {
		ctl_json_stats(&s);
	} else {
		printf("snapshots          %llu\n", (unsigned long long)s.snapshots);
		printf("logical size       %.1f MB (%.1f MB of it zero)\n",
		       (double)s.logical_bytes / 1e6, (double)s.zero_bytes / 1e6);
		printf("unique data        %.1f MB in %llu chunks\n",
		       (double)s.unique_raw_bytes / 1e6, (unsigned long long)s.unique_chunks);
		printf("stored             %.1f MB in %llu packs (%.1f MB of chunks in use)\n",
		       (double)s.pack_bytes / 1e6, (unsigned long long)s.packs,
		       (double)s.unique_stored_bytes / 1e6);
		printf("dedup ratio        %.2f\n", ratio(s.referenced_bytes, s.unique_raw_bytes));
		printf("compression ratio  %.2f\n",
		       ratio(s.unique_raw_bytes, s.unique_stored_bytes));
		printf("total ratio        %.2f (logical / stored)\n",
		       ratio(s.logical_bytes, s.pack_bytes));
		printf("reclaimable        %.1f MB in %llu unreferenced chunks ('ferry prune')\n",
		       (double)s.unreferenced_bytes / 1e6,
		       (unsigned long long)s.unreferenced_chunks);
	}
	ret = s.problems ? ctl_fail(-EUCLEAN, NULL, "%llu problems seen: run 'ferry check'",
				    (unsigned long long)s.problems)
			 : 0;
out:
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
