// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_prune.c - ferry prune: delete the data no snapshot references.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void prune_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry prune --repo URL [--dry-run] [--repack-below PCT] [--json]\n\n"
		"Delete packs no snapshot references, and rewrite packs that are mostly\n"
		"unreferenced with only their live chunks. Holds an exclusive lock: refused while\n"
		"a backup runs. Deletes nothing if any manifest or index is unreadable.\n\n"
		"  --dry-run               show what would go, change nothing\n"
		"  --repack-below PCT      rewrite packs whose live bytes are below PCT %% (default %d)\n"
		"  -h, --help              this text\n",
		DP_REPACK_BELOW_DEFAULT);
	ctl_common_help(f);
}

int ctl_prune_run(struct ctl_common *c, struct dp_repo *repo, const struct dp_prune_opts *po)
{
	struct dp_prune_report r;
	int ret;

	ret = dp_prune(repo, po, &r);
	if (ret)
		return ctl_fail(ret, NULL, "prune: %s", dp_last_error());
	if (c->json) {
		ctl_json_prune(&r, po->dry_run);
		return 0;
	}
	printf("%s%llu of %llu packs deleted (%llu without an index), %llu repacked into %llu, %llu chunks removed, %llu kept\n",
	       po->dry_run ? "would be: " : "",
	       (unsigned long long)(r.packs_deleted + r.packs_orphaned),
	       (unsigned long long)r.packs, (unsigned long long)r.packs_orphaned,
	       (unsigned long long)r.packs_repacked, (unsigned long long)r.packs_written,
	       (unsigned long long)r.chunks_removed, (unsigned long long)r.chunks_live);
	printf("%s%.1f MB of %.1f MB freed\n", po->dry_run ? "would be: " : "",
	       (double)r.bytes_freed / 1e6, (double)r.bytes_total / 1e6);
	if (r.purge.versions_deleted)
		printf("%llu old object versions deleted (versioned bucket)\n",
		       (unsigned long long)r.purge.versions_deleted);
	if (r.purge.versions_protected)
		ctl_print_protected(&r.purge);
	return 0;
}

int ctl_cmd_prune(int argc, char **argv)
{
	enum { OPT_DRY = CTL_OPT_VERB_BASE, OPT_REPACK };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"dry-run", no_argument, NULL, OPT_DRY},
		{"repack-below", required_argument, NULL, OPT_REPACK},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_prune_opts po = {.sz = sizeof(po)};
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct ctl_common c;
	unsigned long v;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			prune_usage(stdout);
			return 0;
		case OPT_DRY:
			po.dry_run = true;
			break;
		case OPT_REPACK:
			if (ctl_parse_uint("prune", "repack-below", optarg, 1, 100, &v))
				return -EINVAL;
			po.repack_below_pct = (uint32_t)v;
			break;
		default:
			ret = ctl_common_opt(&c, "prune", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("prune", "unexpected argument '%s'", argv[optind]);
	ret = ctl_repo_open(&c, "prune", &st, &repo);
	if (ret)
		return ret;
	ret = ctl_prune_run(&c, repo, &po);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}

void ctl_print_protected(const struct dp_purge *p)
{
	char t[32] = "";

	if (p->protected_until)
		ctl_time_str(p->protected_until * 1000000, t, sizeof(t));
	printf("%llu object version%s (%.1f MB) kept by Object Lock%s%s: deleted from the repository, their space is freed when the lock expires (run prune again then)\n",
	       (unsigned long long)p->versions_protected, p->versions_protected == 1 ? "" : "s",
	       (double)p->bytes_protected / 1e6, t[0] ? " until " : "", t);
}
