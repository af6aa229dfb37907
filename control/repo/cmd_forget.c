// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_forget.c - ferry forget: remove snapshots by id, or those
 * a retention policy (grandfather-father-son counts, a TTL) does not keep,
 * per volume. The decision is the datapath's (dp_retention_select(), the
 * Schedule controller's too); this file filters by --volume and --label,
 * passes the snapshots grouped by volume, prints and deletes.
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
		"snapshots --volume and --label select; a snapshot is kept when any rule keeps it\n"
		"and it has not expired (--ttl).\n"
		"The data of removed snapshots stays until 'ferry prune' (or --prune).\n\n"
		"POLICY:\n"
		"  --keep-last N           the newest N snapshots\n"
		"  --keep-hourly N         the newest snapshot of each of the last N hours with one (UTC)\n"
		"  --keep-daily N          ... of each of the last N days\n"
		"  --keep-weekly N         ... of each of the last N ISO weeks\n"
		"  --keep-monthly N        ... of each of the last N months\n"
		"  --keep-yearly N         ... of each of the last N years\n"
		"  --ttl DURATION          an expiry (Velero style: 720h, 30d): a snapshot older than\n"
		"                          DURATION goes, whatever rule would keep it; alone, every\n"
		"                          younger snapshot stays\n\n"
		"  --volume NAME           only this volume's snapshots\n"
		"  --label KEY=VALUE       only snapshots with this label (repeatable: all must match)\n"
		"  --dry-run               show what would be removed, remove nothing\n"
		"  --prune                 prune afterwards\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

/* The command line of forget. */
struct forget_args {
	struct dp_retention_policy pol;
	const char *volume;
	char **labels; /* --label KEY=VALUE, @nlabels of them (argv's) */
	size_t nlabels;
	bool dry, prune, policy, help;
};

/* The options of the counting rules, by enum dp_keep_rule. */
static const char *const keep_opts[DP_KEEP_NCOUNTS] = {
	"keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly",
};

static int forget_parse(int argc, char **argv, struct ctl_common *c, struct forget_args *a)
{
	enum {
		OPT_LAST = CTL_OPT_VERB_BASE, /* the counting rules: OPT_LAST + enum dp_keep_rule */
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
	unsigned long v;
	size_t key_len;
	const char *value;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		if (opt >= OPT_LAST && opt < OPT_LAST + DP_KEEP_NCOUNTS) {
			ret = ctl_parse_uint("forget", keep_opts[opt - OPT_LAST], optarg, 1,
					     1000000, &v);
			if (ret)
				return ret;
			a->pol.keep[opt - OPT_LAST] = (uint32_t)v;
			a->policy = true;
			continue;
		}
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case OPT_TTL:
			if (ctl_parse_duration(optarg, &a->pol.ttl, NULL) || a->pol.ttl <= 0)
				return ctl_usage_error(
					"forget",
					"--ttl takes a duration such as 720h or 30d, not '%s'",
					optarg);
			a->policy = true;
			break;
		case OPT_VOLUME:
			a->volume = optarg;
			break;
		case OPT_LABEL:
			if (ctl_parse_label(optarg, &key_len, &value, NULL))
				return ctl_usage_error("forget",
						       "--label takes KEY=VALUE, not '%s'", optarg);
			a->labels[a->nlabels++] = optarg;
			break;
		case OPT_DRY:
			a->dry = true;
			break;
		case OPT_PRUNE:
			a->prune = true;
			break;
		default:
			ret = ctl_common_opt(c, "forget", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (a->policy == (optind < argc))
		return ctl_usage_error(
			"forget",
			a->policy ? "give snapshots or a policy, not both"
				  : "give snapshots to remove, or a policy (--keep-*, --ttl)");
	return 0;
}

/* --label KEY=VALUE...: a selector of equalities over copies of the labels split at '='. */
struct forget_filter {
	struct ctl_selector sel;
	char **kv;
	const char **values;
	size_t n;
};

static void forget_filter_fini(struct forget_filter *f)
{
	for (size_t i = 0; f->kv && i < f->n; i++)
		free(f->kv[i]);
	free(f->kv);
	free(f->values);
	free(f->sel.reqs);
}

static int forget_filter_init(struct forget_filter *f, char **labels, size_t n)
{
	memset(f, 0, sizeof(*f));
	f->kv = calloc(n + 1, sizeof(*f->kv));
	f->values = calloc(n + 1, sizeof(*f->values));
	f->sel.reqs = calloc(n + 1, sizeof(*f->sel.reqs));
	if (!f->kv || !f->values || !f->sel.reqs)
		return -ENOMEM;
	for (; f->n < n; f->n++) {
		const char *value;
		size_t key_len;
		int ret = ctl_parse_label(labels[f->n], &key_len, &value, NULL);

		if (ret)
			return ret;
		f->kv[f->n] = strdup(labels[f->n]);
		if (!f->kv[f->n])
			return -ENOMEM;
		f->kv[f->n][key_len] = '\0';
		f->values[f->n] = f->kv[f->n] + key_len + 1;
		f->sel.reqs[f->n] = (struct ctl_sel_req){
			.key = f->kv[f->n],
			.op = CTL_SEL_EQ,
			.values = &f->values[f->n],
			.nvalues = 1,
		};
	}
	f->sel.n = n;
	return 0;
}

static const char *forget_label_get(const void *arg, const char *key)
{
	const struct dp_snapshot *s = arg;

	for (size_t k = 0; k < s->nlabels; k++)
		if (!strcmp(s->labels[k].key, key))
			return s->labels[k].value;
	return NULL;
}

/*
 * The policy over the snapshots --volume and --label select, grouped by
 * volume: @judged[i] says whether @snaps[i] was one, @v[i] its verdict.
 * Return: 0 or -errno, printed.
 */
static int forget_select(const struct forget_args *a, const struct dp_snapshot *snaps, size_t n,
			 bool *judged, struct dp_retention_verdict *v)
{
	struct dp_retention_record *recs = calloc(n + 1, sizeof(*recs));
	struct dp_retention_verdict *out = calloc(n + 1, sizeof(*out));
	size_t *map = calloc(n + 1, sizeof(*map)), m = 0;
	struct forget_filter f;
	struct dp_err err;
	int ret = forget_filter_init(&f, a->labels, a->nlabels);

	if (!ret && (!recs || !out || !map))
		ret = -ENOMEM;
	if (ret) {
		ret = ctl_fail(ret, NULL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if ((a->volume && strcmp(snaps[i].volume, a->volume)) ||
		    !ctl_selector_matches(&f.sel, forget_label_get, &snaps[i]))
			continue;
		judged[i] = true;
		recs[m] = (struct dp_retention_record){snaps[i].id, snaps[i].time_end,
						       snaps[i].volume};
		map[m++] = i;
	}
	ret = dp_retention_select(recs, m, &a->pol, out, &err);
	if (ret) {
		ret = ctl_fail(ret, NULL, "forget: %s", err.msg);
		goto out;
	}
	for (size_t k = 0; k < m; k++)
		v[map[k]] = out[k];
out:
	forget_filter_fini(&f);
	free(map);
	free(out);
	free(recs);
	return ret;
}

/* The first rule that keeps it, in the order of the options. */
static const char *forget_reason(unsigned int reasons)
{
	for (enum dp_keep_rule r = DP_KEEP_LAST; r <= DP_KEEP_UNEXPIRED; r++)
		if (reasons & (1u << r))
			return dp_keep_rule_name(r);
	return "kept";
}

/*
 * The verdicts, one volume at a time (in the order of their first
 * snapshots), newest first; the ids to remove into @ids and @gone.
 */
static void forget_report(const struct dp_snapshot *snaps, size_t n, const bool *judged,
			  const struct dp_retention_verdict *v, bool json, bool *gone,
			  const char **ids, size_t *nids)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;

		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(snaps[k].volume, snaps[i].volume); /* that volume was done */
		for (size_t k = n; !seen && k-- > 0;) {
			char t[32];

			if (!judged[k] || strcmp(snaps[k].volume, snaps[i].volume))
				continue;
			if (!v[k].keep) {
				gone[k] = true;
				ids[(*nids)++] = snaps[k].id;
			}
			if (json)
				continue;
			ctl_time_str(snaps[k].time_end, t, sizeof(t));
			printf("%s %.16s  %s  %s%s%s\n", v[k].keep ? "keep  " : "remove",
			       snaps[k].id, t, snaps[k].volume,
			       v[k].keep || v[k].expired ? "  " : "",
			       v[k].keep      ? forget_reason(v[k].reasons)
			       : v[k].expired ? "expired"
					      : "");
		}
	}
}

/* The ids named on the command line into @ids and @gone. Return: 0 or -errno, printed. */
static int forget_named(const struct dp_repo *repo, const struct dp_snapshot *snaps, size_t n,
			char **specs, int nspecs, const char *volume, bool *gone, const char **ids,
			size_t *nids)
{
	for (int i = 0; i < nspecs; i++) {
		int err;
		const struct dp_snapshot *s =
			dp_snapshot_find(repo, snaps, n, specs[i], volume, &err);

		if (!s)
			return ctl_fail(err, NULL, "%s", dp_last_error());
		if (!gone[s - snaps]) {
			gone[s - snaps] = true;
			ids[(*nids)++] = s->id;
		}
	}
	return 0;
}

/* Delete the manifests of @ids (unless --dry-run) and say what went. Return: 0 or -errno, printed. */
static int forget_delete(struct ctl_common *c, const struct forget_args *a, struct dp_repo *repo,
			 const struct dp_snapshot *snaps, size_t n, const bool *gone,
			 const char **ids, size_t nids)
{
	struct dp_purge purge = {0};
	size_t deleted = 0;
	int ret;

	if (!a->dry && nids) {
		ret = dp_forget(repo, ids, nids, &deleted, &purge);
		if (ret)
			return ctl_fail(ret, NULL, "forget: %s (%zu of %zu removed)",
					dp_last_error(), deleted, nids);
	}
	if (c->json)
		ctl_json_forget(snaps, n, gone, a->dry);
	else
		printf("%s%zu snapshot%s\n", a->dry ? "would remove " : "removed ",
		       a->dry ? nids : deleted, (a->dry ? nids : deleted) == 1 ? "" : "s");
	if (!c->json && purge.versions_protected)
		ctl_print_protected(&purge);
	return 0;
}

int ctl_cmd_forget(int argc, char **argv)
{
	struct forget_args a = {.nlabels = 0};
	struct dp_retention_verdict *v = NULL;
	struct dp_snapshot *snaps = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	const char **ids = NULL;
	bool *gone = NULL, *judged = NULL;
	size_t n = 0, nids = 0;
	struct ctl_common c;
	int ret;

	ctl_common_init(&c);
	a.labels = calloc((size_t)argc, sizeof(*a.labels));
	if (!a.labels)
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	ret = forget_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			forget_usage(stdout);
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
	judged = calloc(n + 1, sizeof(*judged));
	v = calloc(n + 1, sizeof(*v));
	if (!ids || !gone || !judged || !v) {
		ret = ctl_fail(-ENOMEM, NULL, "out of memory");
		goto out;
	}
	if (a.policy) {
		struct timespec now;

		clock_gettime(CLOCK_REALTIME, &now);
		a.pol.now = (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
		ret = forget_select(&a, snaps, n, judged, v);
		if (!ret)
			forget_report(snaps, n, judged, v, c.json, gone, ids, &nids);
	} else {
		ret = forget_named(repo, snaps, n, argv + optind, argc - optind, a.volume, gone,
				   ids, &nids);
	}
	if (!ret)
		ret = forget_delete(&c, &a, repo, snaps, n, gone, ids, nids);
	if (!ret && a.prune && !a.dry) {
		struct dp_prune_opts po = {.sz = sizeof(po)};

		ret = ctl_prune_run(&c, repo, &po);
	}
out:
	free(v);
	free(judged);
	free(gone);
	free(ids);
	free(a.labels);
	dp_snapshot_list_free(snaps, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
