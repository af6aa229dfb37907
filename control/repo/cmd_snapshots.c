// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_snapshots.c - ferry snapshots: list what the repository holds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void snapshots_usage(FILE *f)
{
	fprintf(f, "usage: ferry snapshots --repo URL [--volume NAME] [--json]\n\n"
		   "List the snapshots of the repository, oldest first.\n\n"
		   "  --volume NAME           only this volume's snapshots\n"
		   "  -h, --help              this text\n");
	ctl_common_help(f);
}

static void snapshots_table(const struct dp_snapshot *s, size_t n, const char *volume)
{
	size_t shown = 0;

	printf("%-16s  %-20s  %-28s  %10s  %10s  %s\n", "ID", "TIME", "VOLUME", "SIZE", "NEW",
	       "LABELS");
	for (size_t i = 0; i < n; i++) {
		char t[32];

		if (volume && strcmp(volume, s[i].volume))
			continue;
		ctl_time_str(s[i].time_end, t, sizeof(t));
		printf("%.16s  %-20s  %-28s  %8.1fMB  %8.1fMB  ", s[i].id, t, s[i].volume,
		       (double)s[i].size / 1e6, (double)s[i].bytes_new / 1e6);
		for (size_t l = 0; l < s[i].nlabels; l++)
			printf("%s%s=%s", l ? "," : "", s[i].labels[l].key, s[i].labels[l].value);
		putchar('\n');
		shown++;
	}
	printf("%zu snapshot%s\n", shown, shown == 1 ? "" : "s");
}

int ctl_cmd_snapshots(int argc, char **argv)
{
	enum { OPT_VOLUME = CTL_OPT_VERB_BASE };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	const char *volume = NULL;
	struct ctl_common c;
	size_t n = 0;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			snapshots_usage(stdout);
			return 0;
		case OPT_VOLUME:
			volume = optarg;
			break;
		default:
			ret = ctl_common_opt(&c, "snapshots", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("snapshots", "unexpected argument '%s'", argv[optind]);
	ret = ctl_repo_open(&c, "snapshots", &st, &repo);
	if (ret)
		return ret;
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	if (c.json)
		ctl_json_snapshots(snaps, n, volume);
	else
		snapshots_table(snaps, n, volume);
	ret = 0;
out:
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
