// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_backup_record.c - ferry backup get|describe|download|logs:
 * a cluster's Backups as their backup records (and logs) in the repository
 * (FORMAT.md "Backup records", "Logs") say, without a cluster: control/main.c
 * sends get, describe and logs here when a repository is named (--repo,
 * FERRY_REPO), download always. `ferry backup create` makes a Backup object in a cluster
 * (control/operator/cmd_appbackup.c); these words are reserved as the first
 * argument of `ferry backup` (an image file named so is given as ./create).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

bool ctl_backup_word(const char *arg)
{
	return !strcmp(arg, "create") || !strcmp(arg, "get") || !strcmp(arg, "describe") ||
	       !strcmp(arg, "download") || !strcmp(arg, "delete") || !strcmp(arg, "logs");
}

static void record_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry backup get [NAME|ID]... --repo URL [-n NAMESPACE] [-o json]\n"
		"       ferry backup describe NAME|ID --repo URL [-n NAMESPACE] [--details] [-o json]\n"
		"       ferry backup download NAME|ID --repo URL [-n NAMESPACE] [--file FILE] [--force]\n"
		"       ferry backup logs NAME|ID --repo URL [-n NAMESPACE] [--cluster ID]\n\n"
		"A cluster's Backups as their records in the repository say, without a cluster:\n"
		"get lists them (all, or those named), describe shows one (its spec, its volumes'\n"
		"snapshots; --details: every object of its archive), download writes its objects\n"
		"as JSON lines to FILE (default NAME.jsonl; '-' for stdout), verified, the file\n"
		"appearing only whole; logs prints the Backup's log (written when it ended; a\n"
		"Backup whose record was never written is named by NAME, -n and --cluster). A\n"
		"Backup is named by its name, its record id or a prefix of it of at least 8 hex\n"
		"digits.\n\n"
		"  -n, --namespace NS      the Backup's namespace, when several have the name\n"
		"      --cluster ID        the cluster's id, when several clusters share the repository\n"
		"      --details           describe: every object of the archive (kind, namespace, name)\n"
		"      --file FILE         download: where to write\n"
		"      --force             download: replace FILE if it exists\n"
		"  -h, --help              this text\n\n"
		"Without --repo or FERRY_REPO, get, describe and logs read the cluster's Backups\n"
		"and 'ferry backup create' creates one (ferry backup create --help). An image\n"
		"file named create, get, describe, download, logs or delete is backed up as\n"
		"./create (and so on).\n");
	ctl_common_help(f);
}

struct record_args {
	const char *word;
	const char *namespace, *cluster, *file;
	bool details, force, help;
	char **names;
	int nnames;
};

static int record_parse(int argc, char **argv, struct ctl_common *c, struct record_args *a)
{
	enum { OPT_CLUSTER = CTL_OPT_VERB_BASE, OPT_DETAILS, OPT_FILE, OPT_FORCE };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"namespace", required_argument, NULL, 'n'},
		{"cluster", required_argument, NULL, OPT_CLUSTER},
		{"details", no_argument, NULL, OPT_DETAILS},
		{"file", required_argument, NULL, OPT_FILE},
		{"force", no_argument, NULL, OPT_FORCE},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	char verb[32];
	int opt, ret = 0;

	snprintf(verb, sizeof(verb), "backup %s", a->word);
	while (!ret &&
	       (opt = getopt_long(argc, argv, "hn:" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case 'n':
			a->namespace = optarg;
			break;
		case OPT_CLUSTER:
			a->cluster = optarg;
			break;
		case OPT_DETAILS:
			a->details = true;
			break;
		case OPT_FILE:
			a->file = optarg;
			break;
		case OPT_FORCE:
			a->force = true;
			break;
		default:
			ret = ctl_common_opt(c, verb, opt, optarg);
			break;
		}
	}
	if (ret)
		return ret;
	a->names = argv + optind;
	a->nnames = argc - optind;
	if (strcmp(a->word, "get") && a->nnames != 1)
		return ctl_usage_error(verb, "one NAME or ID, not %d", a->nnames);
	if (a->details && strcmp(a->word, "describe"))
		return ctl_usage_error(verb, "--details is describe's");
	if ((a->file || a->force) && strcmp(a->word, "download"))
		return ctl_usage_error(verb, "--file and --force are download's");
	return 0;
}

static void record_table(const struct dp_record *r, size_t n)
{
	printf("%-32s  %-20s  %-15s  %7s  %7s  %-20s  %s\n", "NAME", "NAMESPACE", "PHASE",
	       "OBJECTS", "VOLUMES", "COMPLETED", "RECORD");
	for (size_t i = 0; i < n; i++) {
		char t[32];

		ctl_time_str(r[i].time_end, t, sizeof(t));
		printf("%-32s  %-20s  %-15s  %7llu  %7zu  %-20s  %.16s\n", r[i].name,
		       r[i].namespace, r[i].phase, (unsigned long long)r[i].objects, r[i].nvolumes,
		       t, r[i].id);
	}
}

/* describe --details: one line per object of the archive */
static int record_object_line(void *arg, const char *obj, size_t len)
{
	size_t *n = arg;
	const char *kind = strstr(obj, "\"kind\":\"");

	(void)len;
	++*n;
	if (kind) {
		kind += strlen("\"kind\":\"");
		printf("  %.*s\n", (int)strcspn(kind, "\""), kind);
	}
	return 0;
}

/*
 * logs: the Backup's log on stdout. Its record names it; a Backup whose
 * record was never written (it failed) is found by NAME, -n and --cluster.
 */
static int record_logs(struct dp_repo *repo, const struct record_args *a)
{
	struct dp_record *one = NULL;
	char id[65], *text = NULL;
	size_t len = 0;
	int ret;

	ret = dp_record_get(repo, a->names[0], a->namespace, a->cluster, &one);
	if (ret == -ENOENT && a->namespace && a->cluster)
		ret = dp_record_id(repo, a->cluster, a->namespace, a->names[0], id);
	else if (!ret)
		memcpy(id, one->id, sizeof(id));
	dp_record_free(one);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	ret = dp_log_get(repo, id, NULL, NULL, NULL, &text, &len);
	if (ret == -ENOENT)
		return ctl_fail(ret, NULL,
				"backup %s has no log in the repository (record %.16s: a Backup "
				"made before logs were kept)",
				a->names[0], id);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	if (fwrite(text, 1, len, stdout) != len || fflush(stdout))
		ret = ctl_fail(-EIO, NULL, "writing stdout");
	free(text);
	return ret;
}

static int record_describe(struct dp_repo *repo, const struct dp_record *r, bool details)
{
	char t1[32], t2[32];
	uint64_t total = 0;
	size_t n = 0;
	int ret;

	ctl_time_str(r->time_start, t1, sizeof(t1));
	ctl_time_str(r->time_end, t2, sizeof(t2));
	printf("Name:        %s\nNamespace:   %s\nCluster:     %s\nPhase:       %s\n", r->name,
	       r->namespace, r->cluster, r->phase);
	printf("Record:      %s (%llu bytes, written by %s)\n", r->id,
	       (unsigned long long)r->record_size, r->hostname);
	printf("Started:     %s\nCompleted:   %s\n", t1, t2);
	printf("Warnings:    %llu\nErrors:      %llu\n", (unsigned long long)r->warnings,
	       (unsigned long long)r->errors);
	printf("Labels:      ");
	for (size_t i = 0; i < r->nlabels; i++)
		printf("%s%s=%s", i ? "," : "", r->labels[i].key, r->labels[i].value);
	printf("%s\nSpec:        %s\n", r->nlabels ? "" : "<none>", r->spec);
	printf("Objects:     %llu (%llu Secrets), %.1f kB\n", (unsigned long long)r->objects,
	       (unsigned long long)r->secrets, (double)r->archive_bytes / 1e3);
	printf("Volumes:     %zu\n", r->nvolumes);
	for (size_t i = 0; i < r->nvolumes; i++) {
		printf("  %s/%s: snapshot %s, %.1f MB (%s)\n", r->volumes[i].namespace,
		       r->volumes[i].pvc, r->volumes[i].snapshot, (double)r->volumes[i].size / 1e6,
		       r->volumes[i].volume);
		total += r->volumes[i].size;
	}
	if (r->nvolumes)
		printf("  total %.1f MB\n", (double)total / 1e6);
	if (!details)
		return 0;
	printf("Resources:\n");
	ret = dp_archive_read(repo, r, record_object_line, &n);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	return 0;
}

struct download {
	FILE *f;
	int err;
};

static int download_line(void *arg, const char *obj, size_t len)
{
	struct download *d = arg;

	if (fwrite(obj, 1, len, d->f) != len || fputc('\n', d->f) == EOF) {
		d->err = -errno ? -errno : -EIO;
		return d->err;
	}
	return 0;
}

/* The archive into @file through a temporary file renamed when whole and verified. */
static int record_download(struct dp_repo *repo, const struct dp_record *r, const char *file,
			   bool force)
{
	char path[4096], tmp[4200];
	struct download d = {0};
	int fd, ret;

	if (!file)
		snprintf(path, sizeof(path), "%s.jsonl", r->name);
	else
		snprintf(path, sizeof(path), "%s", file);
	if (!strcmp(path, "-")) {
		d.f = stdout;
		ret = dp_archive_read(repo, r, download_line, &d);
		if (ret)
			return ctl_fail(ret, NULL, "%s",
					d.err ? strerror(-d.err) : dp_last_error());
		return fflush(stdout) ? ctl_fail(-EIO, NULL, "writing stdout") : 0;
	}
	if (!force && !access(path, F_OK))
		return ctl_fail(-EEXIST, NULL, "%s exists (--force replaces it)", path);
	snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0)
		return ctl_fail(-errno, NULL, "creating a file beside %s: %s", path,
				strerror(errno));
	d.f = fdopen(fd, "w");
	if (!d.f) {
		close(fd);
		unlink(tmp);
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	}
	ret = dp_archive_read(repo, r, download_line, &d);
	if (ret)
		ret = ctl_fail(ret, NULL, "%s", d.err ? strerror(-d.err) : dp_last_error());
	if (fflush(d.f) || fsync(fileno(d.f))) {
		if (!ret)
			ret = ctl_fail(-errno, NULL, "writing %s: %s", tmp, strerror(errno));
	}
	fclose(d.f);
	if (!ret && rename(tmp, path))
		ret = ctl_fail(-errno, NULL, "renaming %s to %s: %s", tmp, path, strerror(errno));
	if (ret) {
		unlink(tmp);
		return ret;
	}
	fprintf(stderr, "%s: %llu objects of backup %s/%s\n", path, (unsigned long long)r->objects,
		r->namespace, r->name);
	return 0;
}

int ctl_cmd_backup_record(int argc, char **argv)
{
	struct record_args a = {.word = argv[0]};
	struct dp_record *list = NULL, *one = NULL, *many = NULL;
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	struct ctl_common c;
	size_t n = 0, nmany = 0, kept = 0;
	int ret;

	ctl_common_init(&c);
	if (!strcmp(a.word, "create"))
		return ctl_usage_error("backup",
				       "create makes a Backup in a cluster, not in a repository; "
				       "an image file named create is ./create");
	ret = record_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			record_usage(stdout);
		return ret;
	}
	ret = ctl_repo_open(&c, "backup", &st, &repo);
	if (ret)
		goto out;
	if (!strcmp(a.word, "get") && !a.nnames) {
		ret = dp_record_list(repo, &list, &n);
		if (ret) {
			ret = ctl_fail(ret, NULL, "%s", dp_last_error());
			goto out;
		}
		/* -n and --cluster narrow the listing */
		for (size_t i = 0; i < n; i++)
			if ((a.namespace && strcmp(list[i].namespace, a.namespace)) ||
			    (a.cluster && strcmp(list[i].cluster, a.cluster)))
				list[i].time_end = -1;
		for (size_t i = 0, k = 0; i < n; i++) {
			if (list[i].time_end != -1) {
				if (k != i) {
					struct dp_record t = list[k];

					list[k] = list[i];
					list[i] = t;
				}
				k++;
				kept = k;
			}
		}
		if (c.json)
			ctl_json_records(list, kept);
		else
			record_table(list, kept);
		goto out;
	}
	if (!strcmp(a.word, "get")) {
		many = calloc((size_t)a.nnames, sizeof(*many));
		if (!many) {
			ret = ctl_fail(-ENOMEM, NULL, "out of memory");
			goto out;
		}
		for (int i = 0; i < a.nnames; i++) {
			ret = dp_record_get(repo, a.names[i], a.namespace, a.cluster, &one);
			if (ret) {
				ret = ctl_fail(ret, NULL, "%s", dp_last_error());
				goto out;
			}
			many[nmany++] = *one;
			free(one);
			one = NULL;
		}
		if (c.json)
			ctl_json_records(many, nmany);
		else
			record_table(many, nmany);
		goto out;
	}
	if (!strcmp(a.word, "logs")) {
		ret = record_logs(repo, &a);
		goto out;
	}
	ret = dp_record_get(repo, a.names[0], a.namespace, a.cluster, &one);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	if (!strcmp(a.word, "describe")) {
		if (c.json)
			ctl_json_record_one(one);
		else
			ret = record_describe(repo, one, a.details);
	} else {
		ret = record_download(repo, one, a.file, a.force);
	}
out:
	dp_record_free(one);
	dp_record_list_free(many, nmany);
	dp_record_list_free(list, n);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
