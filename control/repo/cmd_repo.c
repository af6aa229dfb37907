// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_repo.c - ferry repo: maintenance of the repository's storage
 * itself, below snapshots and packs. One subcommand so far:
 *
 *   cleanup  abort the unfinished uploads interrupted writes left behind
 *            (s3://: multipart uploads, whose parts are stored and billed
 *            until someone aborts them; file://: temporary files), once they
 *            are older than --older-than.
 *
 * It opens the store only (no password needed) but refuses a prefix that
 * holds no repository config, so a mistyped URL cannot abort other
 * programs' uploads. The age is the only sign that an upload is abandoned:
 * one younger than --older-than may belong to a backup that still runs, or
 * to a killed one that its re-run will resume.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "s3/store.h"

#define CLEANUP_DEFAULT_AGE (24 * 3600)

struct repo_upload {
	char *key;
	char *upload_id;
	int64_t initiated;  /* 0: the store did not say */
	const char *action; /* "aborted", "would abort", "kept", "failed" */
	int err;
	char detail[256];
};

struct repo_uploads {
	struct repo_upload *u;
	size_t n, cap;
};

static int repo_upload_add(void *arg, const char *key, const char *upload_id, int64_t initiated)
{
	struct repo_uploads *l = arg;
	struct repo_upload *u;

	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;

		u = realloc(l->u, cap * sizeof(*u));
		if (!u)
			return -ENOMEM;
		l->u = u;
		l->cap = cap;
	}
	u = &l->u[l->n];
	memset(u, 0, sizeof(*u));
	u->key = strdup(key);
	u->upload_id = strdup(upload_id);
	if (!u->key || !u->upload_id) {
		free(u->key);
		free(u->upload_id);
		return -ENOMEM;
	}
	u->initiated = initiated;
	l->n++;
	return 0;
}

static void repo_uploads_free(struct repo_uploads *l)
{
	for (size_t i = 0; i < l->n; i++) {
		free(l->u[i].key);
		free(l->u[i].upload_id);
	}
	free(l->u);
}

/* oldest first, then by key */
static int repo_upload_cmp(const void *a, const void *b)
{
	const struct repo_upload *x = a, *y = b;

	if (x->initiated != y->initiated)
		return x->initiated < y->initiated ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* "26h", "3d4h", "15m", "42s" */
static void repo_age_str(int64_t s, char *buf, size_t len)
{
	if (s >= 86400)
		snprintf(buf, len, "%lldd%lldh", (long long)(s / 86400),
			 (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(buf, len, "%lldh%lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
	else if (s >= 60)
		snprintf(buf, len, "%lldm", (long long)(s / 60));
	else
		snprintf(buf, len, "%llds", (long long)(s < 0 ? 0 : s));
}

static void repo_cleanup_json(const char *repo, int64_t older_than, bool dry_run,
			      const struct repo_uploads *l, int64_t now, size_t counts[3])
{
	cJSON *o = cJSON_CreateObject(), *arr;
	char *s;

	if (!o)
		goto oom;
	cJSON_AddStringToObject(o, "repo", repo);
	cJSON_AddNumberToObject(o, "older_than_s", (double)older_than);
	cJSON_AddBoolToObject(o, "dry_run", dry_run);
	arr = cJSON_AddArrayToObject(o, "uploads");
	for (size_t i = 0; arr && i < l->n; i++) {
		const struct repo_upload *u = &l->u[i];
		cJSON *e = cJSON_CreateObject();
		char t[32];

		if (!e)
			break;
		cJSON_AddStringToObject(e, "key", u->key);
		cJSON_AddStringToObject(e, "upload_id", u->upload_id);
		if (u->initiated > 0) {
			ctl_time_str(u->initiated * 1000000, t, sizeof(t));
			cJSON_AddStringToObject(e, "initiated", t);
			cJSON_AddNumberToObject(e, "age_s", (double)(now - u->initiated));
		} else {
			cJSON_AddNullToObject(e, "initiated");
			cJSON_AddNullToObject(e, "age_s");
		}
		cJSON_AddStringToObject(e, "action", u->action);
		if (u->err)
			cJSON_AddStringToObject(e, "error", u->detail);
		cJSON_AddItemToArray(arr, e);
	}
	cJSON_AddNumberToObject(o, dry_run ? "would_abort" : "aborted", (double)counts[0]);
	cJSON_AddNumberToObject(o, "kept", (double)counts[1]);
	cJSON_AddNumberToObject(o, "failed", (double)counts[2]);
	s = cJSON_PrintUnformatted(o);
	if (!s)
		goto oom;
	puts(s);
	cJSON_free(s);
	cJSON_Delete(o);
	return;
oom:
	cJSON_Delete(o);
	ctl_log(CTL_LOG_ERR, "out of memory printing JSON");
}

static void repo_cleanup_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry repo cleanup --repo URL [--older-than DURATION] [--dry-run] [--json]\n\n"
		"Abort the unfinished uploads that interrupted backups left in the repository\n"
		"(s3://: multipart uploads, whose parts use space until aborted; file://:\n"
		"temporary files) once they are older than DURATION. A younger one may belong\n"
		"to a backup that still runs, or to a killed one whose re-run would resume it.\n\n"
		"  --older-than DURATION   age to abort at (default 24h; 90m, 36h, 7d; 0: all)\n"
		"  --dry-run               only show what would be aborted\n"
		"  -h, --help              this text\n");
	ctl_common_help(f);
}

/*
 * Abort each upload older than @older_than (or say it would be), counting
 * into @counts: aborted, kept, failed. Return: 0 or the first failure's -errno.
 */
static int repo_cleanup_abort(struct s3_store *st, struct repo_uploads *l, int64_t older_than,
			      bool dry_run, int64_t now, size_t counts[3])
{
	int first_err = 0;

	for (size_t i = 0; i < l->n; i++) {
		struct repo_upload *u = &l->u[i];

		/* an upload of unknown age is kept: it may be a running backup's */
		if (u->initiated <= 0 || (older_than && now - u->initiated <= older_than)) {
			u->action = "kept";
			counts[1]++;
			continue;
		}
		if (dry_run) {
			u->action = "would abort";
			counts[0]++;
			continue;
		}
		u->err = s3_store_abort_upload(st, u->key, u->upload_id);
		if (u->err) {
			snprintf(u->detail, sizeof(u->detail), "%s", s3_last_error());
			ctl_log(CTL_LOG_ERR, "cannot abort the upload of %s: %s", u->key,
				u->detail);
			u->action = "failed";
			counts[2]++;
			if (!first_err)
				first_err = u->err;
			continue;
		}
		u->action = "aborted";
		counts[0]++;
	}
	return first_err;
}

static void repo_cleanup_table(const struct repo_uploads *l, int64_t older_than, bool dry_run,
			       int64_t now, const size_t counts[3])
{
	char age[32], limit[32], t[32];

	for (size_t i = 0; i < l->n; i++) {
		const struct repo_upload *u = &l->u[i];

		if (u->initiated > 0) {
			ctl_time_str(u->initiated * 1000000, t, sizeof(t));
			repo_age_str(now - u->initiated, age, sizeof(age));
		} else {
			snprintf(t, sizeof(t), "?");
			snprintf(age, sizeof(age), "?");
		}
		printf("%-11s  %-20s  %7s  %s  (upload %.24s%s)\n", u->action, t, age, u->key,
		       u->upload_id, strlen(u->upload_id) > 24 ? "..." : "");
	}
	repo_age_str(older_than, limit, sizeof(limit));
	printf("%zu unfinished upload%s: %zu %s, %zu younger than %s kept", l->n,
	       l->n == 1 ? "" : "s", counts[0], dry_run ? "would be aborted" : "aborted", counts[1],
	       limit);
	if (counts[2])
		printf(", %zu failed", counts[2]);
	putchar('\n');
}

static int repo_cleanup(int argc, char **argv)
{
	enum { OPT_OLDER_THAN = CTL_OPT_VERB_BASE, OPT_DRY_RUN };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"older-than", required_argument, NULL, OPT_OLDER_THAN},
		{"dry-run", no_argument, NULL, OPT_DRY_RUN},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	const char *verb = "repo cleanup";
	struct repo_uploads l = {0};
	int64_t older_than = CLEANUP_DEFAULT_AGE, now;
	struct s3_store *st = NULL;
	size_t counts[3] = {0}; /* aborted (or would be), kept, failed */
	bool dry_run = false;
	struct ctl_common c;
	uint64_t size;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			repo_cleanup_usage(stdout);
			return 0;
		case OPT_OLDER_THAN:
			if (ctl_parse_duration(optarg, &older_than, NULL))
				return ctl_usage_error(
					verb,
					"--older-than: '%s' is not a duration (e.g. 24h, 90m, 7d)",
					optarg);
			break;
		case OPT_DRY_RUN:
			dry_run = true;
			break;
		default:
			ret = ctl_common_opt(&c, verb, opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error(verb, "unexpected argument '%s'", argv[optind]);
	ret = ctl_store_open(&c, verb, &st);
	if (ret)
		return ret;
	ret = s3_store_head(st, "config", &size);
	if (ret == -ENOENT) {
		ret = ctl_fail(
			ret, NULL,
			"no repository at %s (no config object): nothing of ferry's to clean up",
			c.repo);
		goto out;
	}
	if (ret) {
		ret = ctl_fail(ret, s3_last_error(), "cannot read repository %s", c.repo);
		goto out;
	}
	ret = s3_store_list_uploads(st, "", repo_upload_add, &l);
	if (ret) {
		ret = ctl_fail(ret, ret == -ENOMEM ? NULL : s3_last_error(),
			       "cannot list the unfinished uploads of %s", c.repo);
		goto out;
	}
	qsort(l.u, l.n, sizeof(*l.u), repo_upload_cmp);
	now = (int64_t)time(NULL);
	ret = repo_cleanup_abort(st, &l, older_than, dry_run, now, counts);
	if (c.json)
		repo_cleanup_json(c.repo, older_than, dry_run, &l, now, counts);
	else
		repo_cleanup_table(&l, older_than, dry_run, now, counts);
out:
	repo_uploads_free(&l);
	s3_store_free(st);
	return ret;
}

/* ------------------------------------------------------------------ ferry repo */

struct repo_cmd {
	const char *name;
	ctl_verb_fn run;
	const char *summary;
};

static const struct repo_cmd repo_cmds[] = {
	{"cleanup", repo_cleanup, "abort unfinished uploads older than --older-than (24h)"},
};

static void repo_usage(FILE *f)
{
	fprintf(f, "usage: ferry repo SUBCOMMAND [OPTIONS]\n\n"
		   "Maintenance of the repository's storage.\n\nSubcommands:\n");
	for (size_t i = 0; i < sizeof(repo_cmds) / sizeof(repo_cmds[0]); i++)
		fprintf(f, "  %-10s %s\n", repo_cmds[i].name, repo_cmds[i].summary);
	fprintf(f, "\n'ferry repo SUBCOMMAND --help' describes one.\n");
}

int ctl_cmd_repo(int argc, char **argv)
{
	if (argc < 2) {
		repo_usage(stderr);
		return -EINVAL;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		repo_usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(repo_cmds) / sizeof(repo_cmds[0]); i++)
		if (!strcmp(argv[1], repo_cmds[i].name))
			return repo_cmds[i].run(argc - 1, argv + 1);
	return ctl_usage_error("repo", "unknown subcommand '%s'", argv[1]);
}
