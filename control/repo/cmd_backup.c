// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_backup.c - ferry backup: one volume into the repository.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void backup_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry backup --repo URL [--volume NAME] [--label KEY=VALUE]... [OPTIONS] SOURCE\n\n"
		"Back up SOURCE (a block device or an image file) as a new snapshot. Holes and\n"
		"all-zero chunks are recorded, not stored; chunks already in the repository are\n"
		"referenced, not stored again. The snapshot exists once the backup has finished;\n"
		"a failed or interrupted backup leaves none.\n\n"
		"The first argument create, get, describe, download, logs or delete is a cluster's\n"
		"Backup ('ferry backup get --help'): an image file so named is given as ./create.\n\n"
		"  --volume NAME           the volume's name across backups (default: the source's\n"
		"                          stable identity: file:<path> for an image or a loop device's\n"
		"                          backing file, dev:by-id/<name> for a disk)\n"
		"  --label KEY=VALUE       a label recorded in the snapshot (repeatable)\n"
		"  --compression LEVEL     zstd level, -7..19, or 'off' (default %d)\n"
		"  --threads N             worker threads (default: one per CPU)\n"
		"  --queue-depth N         reads in flight (default: automatic, up to 64)\n"
		"  --pack-size SIZE        target pack size (default 64M)\n"
		"  --io MODE               auto (io_uring, else pread), uring, pread\n"
		"  --direct-io MODE        auto (O_DIRECT where allowed), off\n"
		"  --hostname NAME         recorded in the snapshot (default: this host's name)\n"
		"  --parent ID|auto|none   the snapshot this backup follows (default auto: the newest\n"
		"                          snapshot of the same volume); recorded in the new snapshot\n"
		"  --changed-blocks FILE   read only the ranges FILE lists (FORMAT.md \"Changed-block\n"
		"                          lists\"); the rest comes from the parent, which FILE must name\n"
		"  -h, --help              this text\n",
		DP_COMPRESSION_DEFAULT);
	ctl_common_help(f);
}

/* The command line of backup. */
struct backup_args {
	struct dp_backup_opts bo;
	const char **labels; /* --label, into bo.labels */
	const char *parent, *changed_file;
	bool help;
};

static int backup_parse(int argc, char **argv, struct ctl_common *c, struct backup_args *a)
{
	enum {
		OPT_VOLUME = CTL_OPT_VERB_BASE,
		OPT_LABEL,
		OPT_COMPRESSION,
		OPT_THREADS,
		OPT_QD,
		OPT_PACK,
		OPT_IO,
		OPT_DIRECT,
		OPT_HOST,
		OPT_PARENT,
		OPT_CHANGED,
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"label", required_argument, NULL, OPT_LABEL},
		{"compression", required_argument, NULL, OPT_COMPRESSION},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"queue-depth", required_argument, NULL, OPT_QD},
		{"pack-size", required_argument, NULL, OPT_PACK},
		{"io", required_argument, NULL, OPT_IO},
		{"direct-io", required_argument, NULL, OPT_DIRECT},
		{"hostname", required_argument, NULL, OPT_HOST},
		{"parent", required_argument, NULL, OPT_PARENT},
		{"changed-blocks", required_argument, NULL, OPT_CHANGED},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_backup_opts *bo = &a->bo;
	unsigned long v = 0;
	char *end;
	int opt, ret = 0;

	while (!ret &&
	       (opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case OPT_VOLUME:
			bo->volume = optarg;
			break;
		case OPT_LABEL:
			a->labels[bo->nlabels++] = optarg;
			break;
		case OPT_COMPRESSION:
			if (!strcmp(optarg, "off") || !strcmp(optarg, "none")) {
				bo->compression = DP_COMPRESSION_OFF;
				break;
			}
			bo->compression = (int)strtol(optarg, &end, 10);
			if (!optarg[0] || *end || bo->compression < -7 || bo->compression > 19 ||
			    bo->compression == 0)
				ret = ctl_usage_error(
					"backup",
					"--compression takes a zstd level from -7 to 19 (not 0) or 'off', not '%s'",
					optarg);
			break;
		case OPT_THREADS:
			ret = ctl_parse_uint("backup", "threads", optarg, 1, 256, &v);
			bo->threads = (unsigned int)v;
			break;
		case OPT_QD:
			ret = ctl_parse_uint("backup", "queue-depth", optarg, 1, 1024, &v);
			bo->queue_depth = (unsigned int)v;
			break;
		case OPT_PACK:
			if (ctl_parse_size(optarg, &bo->pack_size, NULL))
				ret = ctl_usage_error("backup", "--pack-size: '%s' is not a size",
						      optarg);
			break;
		case OPT_IO:
		case OPT_DIRECT:
			ret = ctl_io_opt("backup", opt == OPT_IO ? CTL_IO_ENGINE : CTL_IO_DIRECT,
					 optarg, &bo->no_uring, &bo->no_direct);
			break;
		case OPT_HOST:
			bo->hostname = optarg;
			break;
		case OPT_PARENT:
			a->parent = optarg;
			break;
		case OPT_CHANGED:
			a->changed_file = optarg;
			break;
		default:
			ret = ctl_common_opt(c, "backup", opt, optarg);
			break;
		}
	}
	if (ret)
		return ret;
	if (optind >= argc)
		return ctl_usage_error("backup", "no SOURCE given");
	if (optind + 1 < argc)
		return ctl_usage_error("backup", "one SOURCE at a time ('%s' is extra)",
				       argv[optind + 1]);
	bo->source = argv[optind];
	bo->labels = a->labels;
	bo->memory = c->memory;
	return 0;
}

/*
 * --parent: "auto", "none" or a snapshot; the choice is the datapath's
 * (dp_parent_choose(), the Backup reconciler's too). @snaps holds the list
 * bo->parent points into. Return: 0 or -errno, printed.
 */
static int backup_parent(struct dp_repo *repo, struct dp_backup_opts *bo, const char *spec,
			 struct dp_snapshot **snaps, size_t *n)
{
	enum dp_parent_mode mode = !strcmp(spec, "none")   ? DP_PARENT_NONE
				   : !strcmp(spec, "auto") ? DP_PARENT_AUTO
							   : DP_PARENT_ID;
	const char *volume = bo->volume;
	char ident[1024];
	struct dp_err err;
	int ret;

	if (mode == DP_PARENT_NONE)
		return 0;
	ret = dp_snapshot_list(repo, snaps, n);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	if (!volume) {
		ret = dp_volume_identity(bo->source, ident, sizeof(ident));
		if (ret)
			return ctl_fail(ret, NULL, "%s", dp_last_error());
		volume = ident;
	}
	ret = dp_parent_choose(repo, *snaps, *n, volume, mode, spec, &bo->parent, &err);
	if (ret)
		return ctl_fail(ret, NULL, "--parent: %s", err.msg);
	return 0;
}

/* --changed-blocks FILE into @changed, which needs a parent. Return: 0 or -errno, printed. */
static int backup_changed(struct dp_backup_opts *bo, const char *file, struct dp_cbl *changed)
{
	int ret = dp_cbl_read_file(file, changed);

	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	if (!bo->parent)
		return ctl_fail(
			-ESTALE, NULL,
			"--changed-blocks %s names parent %.16s, but this backup has none (--parent none, or no earlier snapshot of the volume): refused",
			file, changed->parent);
	bo->changed = changed;
	return 0;
}

static void backup_print(const struct ctl_common *c, const struct dp_backup_opts *bo,
			 const struct dp_result *r)
{
	const struct dp_progress *p = &r->progress;

	if (c->json) {
		ctl_json_result("backup", r, c->repo, NULL);
		return;
	}
	printf("snapshot %s saved\n", r->snapshot_id);
	printf("  volume %s: %.1f MB in %.2f s (%.0f MB/s, %s)\n", r->volume,
	       (double)p->bytes_total / 1e6, p->seconds,
	       p->seconds > 0 ? (double)p->bytes_total / 1e6 / p->seconds : 0, r->io_mode);
	printf("  read %.1f MB, zero %.1f MB, new %llu chunks, %.1f MB stored, %llu already stored\n",
	       (double)p->bytes_read / 1e6, (double)p->bytes_zero / 1e6,
	       (unsigned long long)p->chunks_new, (double)p->bytes_new / 1e6,
	       (unsigned long long)p->chunks_dedup);
	if (p->bytes_reused)
		printf("  resumed: %.1f MB an interrupted run had stored were not sent again\n",
		       (double)p->bytes_reused / 1e6);
	if (bo->changed)
		printf("  parent %.16s: %.1f MB unchanged, not read\n", bo->parent->id,
		       (double)p->bytes_unchanged / 1e6);
	else if (bo->parent)
		printf("  parent %.16s\n", bo->parent->id);
}

int ctl_cmd_backup(int argc, char **argv)
{
	struct backup_args a = {.bo = {.sz = sizeof(a.bo)}, .parent = "auto"};
	struct dp_backup_opts *bo = &a.bo;
	struct dp_snapshot *snaps = NULL;
	struct dp_cbl changed = {.n = 0};
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;
	char state_buf[4096];
	struct ctl_common c;
	size_t nsnaps = 0;
	int ret;

	/* the first argument word: a cluster's Backups (an image file so named is ./create) */
	if (argc > 1 && ctl_backup_word(argv[1]))
		return ctl_cmd_backup_record(argc - 1, argv + 1);
	ctl_common_init(&c);
	a.labels = calloc((size_t)argc, sizeof(*a.labels));
	if (!a.labels)
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	ret = backup_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			backup_usage(stdout);
		goto out;
	}
	ret = ctl_repo_open(&c, "backup", &st, &repo);
	if (!ret)
		ret = backup_parent(repo, bo, a.parent, &snaps, &nsnaps);
	if (!ret && a.changed_file)
		ret = backup_changed(bo, a.changed_file, &changed);
	if (ret)
		goto out;
	bo->state_dir = ctl_state_dir(&c, state_buf, sizeof(state_buf));
	ret = ctl_pool_new(&c, &pool);
	if (ret)
		goto out;
	ctl_signals_init();
	ret = dp_backup_start(repo, pool, bo, &job);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = ctl_job_run(job, &c, "backup");
	if (!ret)
		backup_print(&c, bo, dp_job_result(job));
out:
	dp_job_free(job);
	dp_pool_free(pool);
	dp_cbl_fini(&changed);
	dp_snapshot_list_free(snaps, nsnaps);
	dp_repo_free(repo);
	s3_store_free(st);
	free(a.labels);
	return ret;
}
