// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_forget.c - ferry forget: remove snapshots by id, by age (--ttl)
 * or by a grandfather-father-son policy, per volume.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void forget_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry forget --repo URL SNAPSHOT...\n"
		"       ferry forget --repo URL [--volume NAME] [--label K=V]... POLICY [--dry-run] [--prune]\n\n"
		"Remove snapshots: the ones named (ids or unique prefixes of >= 8 hex digits), or\n"
		"those POLICY does not keep. POLICY applies to each volume separately, to the\n"
		"snapshots --volume and --label select; a snapshot is kept when any rule keeps it.\n"
		"The data of removed snapshots stays until 'ferry prune' (or --prune).\n\n"
		"POLICY:\n"
		"  --keep-last N           the newest N snapshots\n"
		"  --keep-hourly N         the newest snapshot of each of the last N hours with one (UTC)\n"
		"  --keep-daily N          ... of each of the last N days\n"
		"  --keep-weekly N         ... of each of the last N ISO weeks\n"
		"  --keep-monthly N        ... of each of the last N months\n"
		"  --keep-yearly N         ... of each of the last N years\n"
		"  --ttl DURATION          every snapshot younger than DURATION (Velero style: 720h, 30d)\n\n"
		"  --volume NAME           only this volume's snapshots\n"
		"  --label KEY=VALUE       only snapshots with this label (repeatable: all must match)\n"
		"  --dry-run               show what would be removed, remove nothing\n"
		"  --prune                 prune afterwards\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

static bool forget_has_labels(const struct dp_snapshot *s, char **labels, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(labels[i], '=');
		bool found = false;

		for (size_t k = 0; k < s->nlabels && !found; k++)
			found = strlen(s->labels[k].key) == (size_t)(eq - labels[i]) &&
				!strncmp(s->labels[k].key, labels[i], (size_t)(eq - labels[i])) &&
				!strcmp(s->labels[k].value, eq + 1);
		if (!found)
			return false;
	}
	return true;
}

int ctl_cmd_forget(int argc, char **argv)
{
	enum {
		OPT_LAST = CTL_OPT_VERB_BASE,
		OPT_HOURLY,
		OPT_DAILY,
		OPT_WEEKLY,
		OPT_MONTHLY,
		OPT_YEARLY,
		OPT_TTL,
		OPT_VOLUME,
		OPT_LABEL,
		OPT_DRY,
		OPT_PRUNE,
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"keep-last", required_argument, NULL, OPT_LAST},
		{"keep-hourly", required_argument, NULL, OPT_HOURLY},
		{"keep-daily", required_argument, NULL, OPT_DAILY},
		{"keep-weekly", required_argument, NULL, OPT_WEEKLY},
		{"keep-monthly", required_argument, NULL, OPT_MONTHLY},
		{"keep-yearly", required_argument, NULL, OPT_YEARLY},
		{"ttl", required_argument, NULL, OPT_TTL},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"label", required_argument, NULL, OPT_LABEL},
		{"dry-run", no_argument, NULL, OPT_DRY},
		{"prune", no_argument, NULL, OPT_PRUNE},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_forget_policy pol = {.keep_last = 0};
	const struct dp_snapshot **group = NULL;
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	const char *volume = NULL, **why = NULL, **ids = NULL;
	char **labels = NULL;
	bool *keep = NULL, *gone = NULL, dry = false, prune = false, policy = false;
	size_t nlabels = 0, n = 0, nids = 0, deleted = 0;
	struct dp_purge purge = {0};
	struct ctl_common c;
	unsigned long v;
	int opt, ret;

	ctl_common_init(&c);
	labels = calloc((size_t)argc, sizeof(*labels));
	if (!labels)
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		uint32_t *slot = NULL;

		switch (opt) {
		case 'h':
			forget_usage(stdout);
			ret = 0;
			goto out;
		case OPT_LAST:
			slot = &pol.keep_last;
			break;
		case OPT_HOURLY:
			slot = &pol.keep_hourly;
			break;
		case OPT_DAILY:
			slot = &pol.keep_daily;
			break;
		case OPT_WEEKLY:
			slot = &pol.keep_weekly;
			break;
		case OPT_MONTHLY:
			slot = &pol.keep_monthly;
			break;
		case OPT_YEARLY:
			slot = &pol.keep_yearly;
			break;
		case OPT_TTL:
			if (ctl_parse_duration(optarg, &pol.ttl, NULL) || pol.ttl <= 0) {
				ret = ctl_usage_error(
					"forget",
					"--ttl takes a duration such as 720h or 30d, not '%s'",
					optarg);
				goto out;
			}
			policy = true;
			break;
		case OPT_VOLUME:
			volume = optarg;
			break;
		case OPT_LABEL:
			if (!strchr(optarg, '=') || optarg[0] == '=') {
				ret = ctl_usage_error("forget", "--label takes KEY=VALUE, not '%s'",
						      optarg);
				goto out;
			}
			labels[nlabels++] = optarg;
			break;
		case OPT_DRY:
			dry = true;
			break;
		case OPT_PRUNE:
			prune = true;
			break;
		default:
			ret = ctl_common_opt(&c, "forget", opt, optarg);
			if (ret)
				goto out;
			break;
		}
		if (slot) {
			static const char *const names[] = {"keep-last",    "keep-hourly",
							    "keep-daily",   "keep-weekly",
							    "keep-monthly", "keep-yearly"};

			if (ctl_parse_uint("forget", names[opt - OPT_LAST], optarg, 1, 1000000,
					   &v)) {
				ret = -EINVAL;
				goto out;
			}
			*slot = (uint32_t)v;
			policy = true;
		}
	}
	if (policy == (optind < argc)) {
		ret = ctl_usage_error(
			"forget",
			policy ? "give snapshots or a policy, not both"
			       : "give snapshots to remove, or a policy (--keep-*, --ttl)");
		goto out;
	}
	ret = ctl_repo_open(&c, "forget", &st, &repo);
	if (ret)
		goto out;
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ids = calloc(n + (size_t)argc, sizeof(*ids));
	gone = calloc(n + 1, sizeof(*gone));
	keep = calloc(n + 1, sizeof(*keep));
	why = calloc(n + 1, sizeof(*why));
	group = calloc(n + 1, sizeof(*group));
	if (!ids || !gone || !keep || !why || !group) {
		ret = ctl_fail(-ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (!policy) {
		for (int i = optind; i < argc; i++) {
			int err;
			const struct dp_snapshot *s =
				dp_snapshot_find(repo, snaps, n, argv[i], volume, &err);

			if (!s) {
				ret = ctl_fail(err, NULL, "%s", dp_last_error());
				goto out;
			}
			if (!gone[s - snaps]) {
				gone[s - snaps] = true;
				ids[nids++] = s->id;
			}
		}
	} else {
		pol.now = time(NULL);
		/* one volume at a time, newest first (the list is oldest first) */
		for (size_t i = 0; i < n; i++) {
			size_t ng = 0;

			for (size_t k = 0; k < i; k++)
				if (!strcmp(snaps[k].volume, snaps[i].volume))
					goto next; /* this volume was done */
			if (volume && strcmp(snaps[i].volume, volume))
				continue;
			for (size_t k = n; k-- > 0;)
				if (!strcmp(snaps[k].volume, snaps[i].volume) &&
				    forget_has_labels(&snaps[k], labels, nlabels))
					group[ng++] = &snaps[k];
			dp_forget_plan(group, ng, &pol, keep, why);
			for (size_t k = 0; k < ng; k++) {
				size_t idx = (size_t)(group[k] - snaps);

				if (!keep[k]) {
					gone[idx] = true;
					ids[nids++] = snaps[idx].id;
				} else {
					why[k] = why[k] ? why[k] : "kept";
				}
				if (!c.json) {
					char t[32];

					ctl_time_str(snaps[idx].time_end, t, sizeof(t));
					printf("%s %.16s  %s  %s%s%s\n",
					       keep[k] ? "keep  " : "remove", snaps[idx].id, t,
					       snaps[idx].volume, keep[k] ? "  " : "",
					       keep[k] ? why[k] : "");
				}
			}
next:;
		}
	}
	if (!dry && nids) {
		ret = dp_forget(repo, ids, nids, &deleted, &purge);
		if (ret) {
			ret = ctl_fail(ret, NULL, "forget: %s (%zu of %zu removed)",
				       dp_last_error(), deleted, nids);
			goto out;
		}
	}
	if (c.json)
		ctl_json_forget(snaps, n, gone, dry);
	else
		printf("%s%zu snapshot%s\n", dry ? "would remove " : "removed ",
		       dry ? nids : deleted, (dry ? nids : deleted) == 1 ? "" : "s");
	if (!c.json && purge.versions_protected)
		ctl_print_protected(&purge);
	ret = 0;
	if (prune && !dry) {
		struct dp_prune_opts po = {.sz = sizeof(po)};

		ret = ctl_prune_run(&c, repo, &po);
	}
out:
	free(ids);
	free(gone);
	free(keep);
	free(why);
	free(group);
	free(labels);
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
