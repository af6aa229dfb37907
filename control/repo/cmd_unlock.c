// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_unlock.c - ferry unlock: list locks, remove stale ones.
 */
#include <stdio.h>
#include <stdlib.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void unlock_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry unlock --repo URL [--list] [--all]\n\n"
		"Remove stale locks: locks not refreshed for %d s, or of processes of this host\n"
		"that are gone. A live process refreshes its lock every %d s.\n\n"
		"  --list                  only list the locks\n"
		"  --all                   remove every lock, also live ones (only when you know no\n"
		"                          ferry process uses the repository)\n"
		"  -h, --help              this text\n",
		DP_LOCK_STALE, DP_LOCK_REFRESH);
	ctl_common_help(f);
}

int ctl_cmd_unlock(int argc, char **argv)
{
	enum { OPT_LIST = CTL_OPT_VERB_BASE, OPT_ALL };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"list", no_argument, NULL, OPT_LIST},
		{"all", no_argument, NULL, OPT_ALL},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_lockinfo *locks = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	bool list = false, all = false;
	struct ctl_common c;
	size_t n = 0, removed;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			unlock_usage(stdout);
			return 0;
		case OPT_LIST:
			list = true;
			break;
		case OPT_ALL:
			all = true;
			break;
		default:
			ret = ctl_common_opt(&c, "unlock", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("unlock", "unexpected argument '%s'", argv[optind]);
	ret = ctl_repo_open(&c, "unlock", &st, &repo);
	if (ret)
		return ret;
	if (list) {
		ret = dp_lock_list(repo, &locks, &n);
		if (ret) {
			ret = ctl_fail(ret, NULL, "%s", dp_last_error());
			goto out;
		}
		if (c.json) {
			ctl_json_locks(locks, n);
		} else {
			for (size_t i = 0; i < n; i++) {
				char t[32];

				ctl_time_str(locks[i].time * 1000000, t, sizeof(t));
				printf("%.16s  %-9s  %-10s  %s  pid %lld on %s%s\n", locks[i].id,
				       locks[i].exclusive ? "exclusive" : "shared",
				       locks[i].operation, t, (long long)locks[i].pid,
				       locks[i].hostname, locks[i].stale ? "  (stale)" : "");
			}
			printf("%zu lock%s\n", n, n == 1 ? "" : "s");
		}
		ret = 0;
		goto out;
	}
	ret = dp_unlock(repo, all, &removed);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	printf("removed %zu lock%s\n", removed, removed == 1 ? "" : "s");
	ret = 0;
out:
	free(locks);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
