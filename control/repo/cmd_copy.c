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
		"usage: ferry copy --from URL --to URL [--volume NAME] [SNAPSHOT...]\n\n"
		"Copy snapshots (all of them, those of --volume, or the ones named) that the\n"
		"target does not have, keeping their ids. Chunks the target has already are not\n"
		"sent. Into a target made with 'ferry init --copy-keys-from' (or between two\n"
		"unencrypted repositories) blobs move as they are; otherwise each is verified,\n"
		"re-identified and sealed for the target. An interrupted copy, run again, skips\n"
		"what it completed.\n\n"
		"  --from URL                the source repository\n"
		"  --to URL                  the target (default: --repo or $FERRY_REPO)\n"
		"  --from-password-file FILE the source's password (default: $FERRY_FROM_PASSWORD, a prompt);\n"
		"                            the target's comes from --password-file etc. below\n"
		"  --from-s3-endpoint URL    the source's S3 endpoint, if it differs from the target's\n"
		"  --from-s3-region REGION   the source's S3 region, if it differs\n"
		"  --volume NAME             only this volume's snapshots\n"
		"  --threads N               worker threads (default: one per CPU)\n"
		"  --compression LEVEL       zstd level of re-encoded chunks (default %d)\n"
		"  -h, --help                this text\n",
		DP_COMPRESSION_DEFAULT);
	ctl_common_help(f);
}

int ctl_cmd_copy(int argc, char **argv)
{
	enum {
		OPT_FROM = CTL_OPT_VERB_BASE,
		OPT_TO,
		OPT_FROM_PW,
		OPT_FROM_EP,
		OPT_FROM_REGION,
		OPT_VOLUME,
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
		{"threads", required_argument, NULL, OPT_THREADS},
		{"compression", required_argument, NULL, OPT_COMPRESSION},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct dp_copy_opts co = {.sz = sizeof(co)};
	struct dp_snapshot *snaps = NULL, *sel = NULL;
	struct s3_store *sst = NULL, *dst = NULL;
	struct dp_repo *src = NULL, *to = NULL;
	struct dp_pool *pool = NULL;
	struct dp_job *job = NULL;
	struct ctl_common c, fc;
	struct ctl_password pw = {.len = 0};
	const char *from = NULL, *from_pw = NULL, *volume = NULL;
	const char *from_ep = NULL, *from_region = NULL;
	size_t n = 0, nsel = 0;
	char state_buf[4096];
	unsigned long v;
	char *end;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			copy_usage(stdout);
			return CTL_EXIT_OK;
		case OPT_FROM:
			from = optarg;
			break;
		case OPT_TO:
			c.repo = optarg;
			break;
		case OPT_FROM_PW:
			from_pw = optarg;
			break;
		case OPT_FROM_EP:
			from_ep = optarg;
			break;
		case OPT_FROM_REGION:
			from_region = optarg;
			break;
		case OPT_VOLUME:
			volume = optarg;
			break;
		case OPT_THREADS:
			if (ctl_parse_uint("copy", "threads", optarg, 1, 256, &v))
				return CTL_EXIT_USAGE;
			co.threads = (unsigned int)v;
			break;
		case OPT_COMPRESSION:
			co.compression = (int)strtol(optarg, &end, 10);
			if (!optarg[0] || *end || co.compression < -7 || co.compression > 19 ||
			    !co.compression)
				return ctl_usage_error(
					"copy",
					"--compression takes a zstd level from -7 to 19 (not 0)");
			break;
		default:
			ret = ctl_common_opt(&c, "copy", opt, optarg);
			if (ret == 1)
				break;
			if (ret == 0)
				ctl_usage_error("copy", "unknown option");
			return CTL_EXIT_USAGE;
		}
	}
	if (!from)
		return ctl_usage_error("copy", "give the source with --from URL");
	if (!c.repo)
		return ctl_usage_error("copy",
				       "give the target with --to URL (or --repo, FERRY_REPO)");
	if (!strcmp(from, c.repo))
		return ctl_usage_error("copy", "the source and the target are the same repository");
	/* the source: the same settings, its own URL, endpoint and password */
	fc = c;
	fc.repo = from;
	if (from_ep)
		fc.s3.endpoint = from_ep;
	if (from_region)
		fc.s3.region = from_region;
	ret = ctl_store_open(&fc, "copy", &sst);
	if (ret)
		goto out;
	ret = dp_repo_open(sst, &src);
	if (ret) {
		ret = ctl_fail(ret, NULL, "source: %s", dp_last_error());
		goto out;
	}
	if (dp_repo_is_encrypted(src)) {
		ret = ctl_password_other(from_pw, "FERRY_FROM_PASSWORD",
					 "password of the source repository", &pw);
		if (ret)
			goto out;
		ret = dp_repo_unlock(src, pw.buf, pw.len);
		ctl_password_wipe(&pw);
		if (ret) {
			ret = ctl_fail(ret, NULL, "source: %s", dp_last_error());
			goto out;
		}
	}
	ctl_repo_cache(&fc, sst, src);
	ret = ctl_repo_open(&c, "copy", &dst, &to);
	if (ret)
		goto out;
	ret = dp_snapshot_list(src, &snaps, &n);
	if (ret) {
		ret = ctl_fail(ret, NULL, "source: %s", dp_last_error());
		goto out;
	}
	sel = calloc(n + 1, sizeof(*sel));
	if (!sel) {
		ret = ctl_fail(-ENOMEM, NULL, "out of memory");
		goto out;
	}
	/* the selection, oldest first (parents before their children), shallow copies */
	for (size_t i = 0; i < n; i++) {
		bool want = optind == argc;

		for (int k = optind; k < argc && !want; k++) {
			int err;
			const struct dp_snapshot *s =
				dp_snapshot_find(src, snaps, n, argv[k], volume, &err);

			if (!s) {
				ret = ctl_fail(err, NULL, "source: %s", dp_last_error());
				goto out;
			}
			want = s == &snaps[i];
		}
		if (want && (!volume || !strcmp(snaps[i].volume, volume)))
			sel[nsel++] = snaps[i];
	}
	co.snapshots = sel;
	co.n = nsel;
	co.memory = c.memory;
	co.state_dir = ctl_state_dir(&c, state_buf, sizeof(state_buf));
	ret = ctl_pool_new(&c, &pool);
	if (ret)
		goto out;
	ctl_signals_init();
	ret = dp_copy_start(src, to, pool, &co, &job);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	ret = ctl_job_run(job, &c, "copy");
	if (ret == CTL_EXIT_OK) {
		const struct dp_result *r = dp_job_result(job);
		const struct dp_progress *p = &r->progress;

		if (c.json) {
			ctl_json_copy(r, from, c.repo);
		} else {
			printf("copied %llu snapshot%s (%llu already there) from %s to %s (%s)\n",
			       (unsigned long long)r->copied, r->copied == 1 ? "" : "s",
			       (unsigned long long)r->skipped, from, c.repo, r->io_mode);
			printf("  %llu chunks stored, %llu the target had; %.1f MB read, %.1f MB written in %.2f s\n",
			       (unsigned long long)p->chunks_new,
			       (unsigned long long)p->chunks_dedup, (double)p->bytes_read / 1e6,
			       (double)p->bytes_new / 1e6, p->seconds);
		}
	}
out:
	dp_job_free(job);
	dp_pool_free(pool);
	free(sel);
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(to);
	dp_repo_free(src);
	s3_store_free(dst);
	s3_store_free(sst);
	return ret;
}
