// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_copy.c - ferry copy: snapshots from one repository to another
 * (file:// and s3://, one cloud to another), resumable.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void copy_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry copy --from URL --to URL [--volume NAME] [--backup NAME]... "
		"[SNAPSHOT...]\n\n"
		"Copy snapshots (all of them, those of --volume, or the ones named) that the\n"
		"target does not have, keeping their ids. Chunks the target has already are not\n"
		"sent. Into a target made with 'ferry init --copy-keys-from' (or between two\n"
		"unencrypted repositories) blobs move as they are; otherwise each is verified,\n"
		"re-identified and sealed for the target. An interrupted copy, run again, skips\n"
		"what it completed.\n\n"
		"The records of cluster Backups go too (their objects, their logs), after their\n"
		"snapshots: all of them when no snapshot and no --volume is named, else those of\n"
		"--backup, whose volumes' snapshots are copied with them. A cluster whose\n"
		"Repository is the target then lists and restores them.\n\n"
		"  --from URL                the source repository\n"
		"  --to URL                  the target (default: --repo or $FERRY_REPO)\n"
		"  --from-password-file FILE the source's password (default: $FERRY_FROM_PASSWORD, a prompt);\n"
		"                            the target's comes from --password-file etc. below\n"
		"  --from-s3-endpoint URL    the source's S3 endpoint, if it differs from the target's\n"
		"  --from-s3-region REGION   the source's S3 region, if it differs\n"
		"  --volume NAME             only this volume's snapshots\n"
		"  --backup NAME             a cluster Backup's record and its snapshots (repeatable)\n"
		"  --threads N               worker threads (default: one per CPU)\n"
		"  --compression LEVEL       zstd level of re-encoded chunks (default %d)\n"
		"  -h, --help                this text\n",
		DP_COMPRESSION_DEFAULT);
	ctl_common_help(f);
}

/* The command line of copy. */
#define COPY_BACKUPS_MAX 64

struct copy_args {
	struct dp_copy_opts co;
	const char *from, *from_pw, *volume, *from_ep, *from_region;
	const char *backups[COPY_BACKUPS_MAX];
	size_t nbackups;
	bool help;
};

static int copy_parse(int argc, char **argv, struct ctl_common *c, struct copy_args *a)
{
	enum {
		OPT_FROM = CTL_OPT_VERB_BASE,
		OPT_TO,
		OPT_FROM_PW,
		OPT_FROM_EP,
		OPT_FROM_REGION,
		OPT_VOLUME,
		OPT_BACKUP,
		OPT_THREADS,
		OPT_COMPRESSION,
	};
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"from", required_argument, NULL, OPT_FROM},
		{"to", required_argument, NULL, OPT_TO},
		{"from-password-file", required_argument, NULL, OPT_FROM_PW},
		{"from-s3-endpoint", required_argument, NULL, OPT_FROM_EP},
		{"from-s3-region", required_argument, NULL, OPT_FROM_REGION},
		{"volume", required_argument, NULL, OPT_VOLUME},
		{"backup", required_argument, NULL, OPT_BACKUP},
		{"threads", required_argument, NULL, OPT_THREADS},
		{"compression", required_argument, NULL, OPT_COMPRESSION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long v;
	char *end;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case OPT_FROM:
			a->from = optarg;
			break;
		case OPT_TO:
			c->repo = optarg;
			break;
		case OPT_FROM_PW:
			a->from_pw = optarg;
			break;
		case OPT_FROM_EP:
			a->from_ep = optarg;
			break;
		case OPT_FROM_REGION:
			a->from_region = optarg;
			break;
		case OPT_VOLUME:
			a->volume = optarg;
			break;
		case OPT_BACKUP:
			if (a->nbackups == COPY_BACKUPS_MAX)
				return ctl_usage_error("copy", "--backup: at most %d",
						       COPY_BACKUPS_MAX);
			a->backups[a->nbackups++] = optarg;
			break;
		case OPT_THREADS:
			if (ctl_parse_uint("copy", "threads", optarg, 1, 256, &v))
				return -EINVAL;
			a->co.threads = (unsigned int)v;
			break;
		case OPT_COMPRESSION:
			a->co.compression = (int)strtol(optarg, &end, 10);
			if (!optarg[0] || *end || a->co.compression < -7 ||
			    a->co.compression > 19 || !a->co.compression)
				return ctl_usage_error(
					"copy",
					"--compression takes a zstd level from -7 to 19 (not 0)");
			break;
		default:
			ret = ctl_common_opt(c, "copy", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (!a->from)
		return ctl_usage_error("copy", "give the source with --from URL");
	if (!c->repo)
		return ctl_usage_error("copy",
				       "give the target with --to URL (or --repo, FERRY_REPO)");
	if (!strcmp(a->from, c->repo))
		return ctl_usage_error("copy", "the source and the target are the same repository");
	return 0;
}

/* The source: the target's settings with its own URL, endpoint, region and password. */
static int copy_source_open(const struct ctl_common *c, const struct copy_args *a,
			    struct s3_store **st, struct dp_repo **repo)
{
	struct ctl_common fc = *c;
	struct ctl_password pw = {.len = 0};
	int ret;

	fc.repo = a->from;
	if (a->from_ep)
		fc.s3.endpoint = a->from_ep;
	if (a->from_region)
		fc.s3.region = a->from_region;
	ret = ctl_store_open(&fc, "copy", st);
	if (ret)
		return ret;
	ret = dp_repo_open(*st, repo);
	if (ret)
		return ctl_fail(ret, NULL, "source: %s", dp_last_error());
	if (dp_repo_is_encrypted(*repo)) {
		ret = ctl_password_other(a->from_pw, "FERRY_FROM_PASSWORD",
					 "password of the source repository", &pw);
		if (ret)
			return ret;
		ret = dp_repo_unlock(*repo, pw.buf, pw.len);
		ctl_password_wipe(&pw);
		if (ret)
			return ctl_fail(ret, NULL, "source: %s", dp_last_error());
	}
	ctl_repo_cache(&fc, *st, *repo);
	return 0;
}

/* Whether @id is the snapshot of a volume of a record marked in @chosen. */
static bool copy_in_records(const struct dp_record *recs, const bool *chosen, size_t nrecs,
			    const char *id)
{
	for (size_t i = 0; i < nrecs; i++)
		for (size_t v = 0; chosen[i] && v < recs[i].nvolumes; v++)
			if (!strcmp(recs[i].volumes[v].snapshot, id))
				return true;
	return false;
}

/*
 * The records to copy, marked in @chosen: every one with neither snapshots
 * nor --volume named, else those --backup names (each must name one).
 */
static int copy_choose(const struct copy_args *a, int nspecs, const struct dp_record *recs,
		       size_t nrecs, bool *chosen)
{
	for (size_t i = 0; i < nrecs; i++)
		chosen[i] = !nspecs && !a->volume && !a->nbackups;
	for (size_t b = 0; b < a->nbackups; b++) {
		size_t found = 0, at = 0;

		for (size_t i = 0; i < nrecs; i++)
			if (!strcmp(recs[i].name, a->backups[b]))
				found++, at = i;
		if (!found)
			return ctl_fail(-ENOENT, NULL, "--backup %s: the source has no such Backup",
					a->backups[b]);
		if (found > 1)
			return ctl_fail(-ENOTUNIQ, NULL,
					"--backup %s: %zu Backups of that name in the source (of "
					"other namespaces or clusters)",
					a->backups[b], found);
		chosen[at] = true;
	}
	return 0;
}

/* Refused before anything moves: a record whose Secrets an unencrypted target would spill. */
static int copy_secrets_ok(const struct dp_repo *src, const struct dp_repo *to,
			   const struct dp_record *recs, const bool *chosen, size_t nrecs)
{
	for (size_t i = 0; i < nrecs; i++)
		if (chosen[i] && recs[i].secrets && dp_repo_is_encrypted(src) &&
		    !dp_repo_is_encrypted(to))
			return ctl_fail(
				-EPERM, NULL,
				"backup %s/%s: its archive holds %llu Secret(s): the target "
				"is not encrypted and the source is; nothing copied",
				recs[i].namespace, recs[i].name,
				(unsigned long long)recs[i].secrets);
	return 0;
}

/*
 * The snapshots to copy, oldest first (parents before their children), as
 * shallow copies into @sel: all of them, those of @volume, @specs, and those
 * of the records marked in @chosen.
 */
static int copy_select(const struct dp_repo *src, const struct dp_snapshot *snaps, size_t n,
		       char **specs, int nspecs, const struct copy_args *a,
		       const struct dp_record *recs, const bool *chosen, size_t nrecs,
		       struct dp_snapshot *sel, size_t *nsel)
{
	const char *volume = a->volume;

	*nsel = 0;
	for (size_t i = 0; i < n; i++) {
		bool want = nspecs == 0 && !a->nbackups;

		for (int k = 0; k < nspecs && !want; k++) {
			int err;
			const struct dp_snapshot *s =
				dp_snapshot_find(src, snaps, n, specs[k], volume, &err);

			if (!s)
				return ctl_fail(err, NULL, "source: %s", dp_last_error());
			want = s == &snaps[i];
		}
		if (!want && a->volume && !nspecs)
			want = true; /* --volume alone: all of its snapshots */
		if (want && volume && strcmp(snaps[i].volume, volume))
			want = false;
		if (!want)
			want = copy_in_records(recs, chosen, nrecs, snaps[i].id);
		if (want)
			sel[(*nsel)++] = snaps[i];
	}
	return 0;
}

/* The records marked in @chosen into @to, after their snapshots: counted in @copied, @had. */
static int copy_records(struct dp_repo *src, struct dp_repo *to, const struct dp_record *recs,
			const bool *chosen, size_t nrecs, uint64_t *copied, uint64_t *had)
{
	bool done;
	int ret;

	for (size_t i = 0; i < nrecs; i++) {
		if (!chosen[i])
			continue;
		ret = dp_record_copy(src, to, &recs[i], NULL, &done);
		if (ret)
			return ctl_fail(ret, NULL, "backup %s/%s: %s", recs[i].namespace,
					recs[i].name, dp_last_error());
		(*(done ? copied : had))++;
	}
	return 0;
}

static void copy_print(const struct dp_result *r, const char *from, const char *to,
		       const uint64_t recs[2], bool json)
{
	const struct dp_progress *p = &r->progress;

	if (json) {
		ctl_json_copy(r, from, to, recs);
		return;
	}
	printf("copied %llu snapshot%s (%llu already there) from %s to %s (%s)\n",
	       (unsigned long long)r->copied, r->copied == 1 ? "" : "s",
	       (unsigned long long)r->skipped, from, to, r->io_mode);
	if (recs[0] || recs[1])
		printf("  %llu backup record%s copied (%llu already there)\n",
		       (unsigned long long)recs[0], recs[0] == 1 ? "" : "s",
		       (unsigned long long)recs[1]);
	printf("  %llu chunks stored, %llu the target had; %.1f MB read, %.1f MB written in %.2f s\n",
	       (unsigned long long)p->chunks_new, (unsigned long long)p->chunks_dedup,
	       (double)p->bytes_read / 1e6, (double)p->bytes_new / 1e6, p->seconds);
}

int ctl_cmd_copy(int argc, char **argv)
{
	struct copy_args a = {.co = {.sz = sizeof(a.co)}};
	struct dp_snapshot *snaps = NULL, *sel = NULL;
	struct dp_record *recs = NULL;
	bool *chosen = NULL;
	size_t nrecs = 0;
	uint64_t rn[2] = {0, 0};
	struct s3_store *sst = NULL, *dst = NULL;
	struct dp_repo *src = NULL, *to = NULL;
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;
	struct ctl_common c;
	size_t n = 0, nsel = 0;
	char state_buf[4096];
	int ret;

	ctl_common_init(&c);
	ret = copy_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			copy_usage(stdout);
		return ret;
	}
	ret = copy_source_open(&c, &a, &sst, &src);
	if (ret)
		goto out;
	ret = ctl_repo_open(&c, "copy", &dst, &to);
	if (ret)
		goto out;
	ret = dp_snapshot_list(src, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "source: %s", dp_last_error());
		goto out;
	}
	ret = dp_record_list(src, &recs, &nrecs);
	if (ret) {
		ret = ctl_fail(ret, NULL, "source: %s", dp_last_error());
		goto out;
	}
	sel = calloc(n + 1, sizeof(*sel));
	chosen = calloc(nrecs + 1, sizeof(*chosen));
	if (!sel || !chosen) {
		ret = ctl_fail(-ENOMEM, NULL, "out of memory");
		goto out;
	}
	ret = copy_choose(&a, argc - optind, recs, nrecs, chosen);
	if (!ret)
		ret = copy_secrets_ok(src, to, recs, chosen, nrecs);
	if (!ret)
		ret = copy_select(src, snaps, n, argv + optind, argc - optind, &a, recs, chosen,
				  nrecs, sel, &nsel);
	if (ret)
		goto out;
	a.co.snapshots = sel;
	a.co.n = nsel;
	a.co.memory = c.memory;
	a.co.state_dir = ctl_state_dir(&c, state_buf, sizeof(state_buf));
	ret = ctl_pool_new(&c, &pool);
	if (ret)
		goto out;
	ctl_signals_init();
	ret = dp_copy_start(src, to, pool, &a.co, &job);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = ctl_job_run(job, &c, "copy");
	if (!ret)
		ret = copy_records(src, to, recs, chosen, nrecs, &rn[0], &rn[1]);
	if (!ret)
		copy_print(dp_job_result(job), a.from, c.repo, rn, c.json);
out:
	dp_job_free(job);
	dp_pool_free(pool);
	free(sel);
	free(chosen);
	dp_record_list_free(recs, nrecs);
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(to);
	dp_repo_free(src);
	s3_store_free(dst);
	s3_store_free(sst);
	return ret;
}
