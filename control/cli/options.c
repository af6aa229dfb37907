// SPDX-License-Identifier: MIT
/*
 * control/cli/options.c - the options every repository verb shares and the
 * opening of the repository they name. Every function returns 0 or -errno
 * with the error printed.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "datapath/dp.h"

void ctl_common_init(struct ctl_common *c)
{
	memset(c, 0, sizeof(*c));
	c->s3.sz = sizeof(c->s3);
	c->repo = getenv("FERRY_REPO");
	if (c->repo && !c->repo[0])
		c->repo = NULL;
}

int ctl_parse_uint(const char *verb, const char *opt, const char *arg, unsigned long min,
		   unsigned long max, unsigned long *out)
{
	if (ctl_parse_ulong(arg, min, max, out, NULL))
		return ctl_usage_error(verb,
				       "--%s must be a whole number from %lu to %lu, not '%s'", opt,
				       min, max, arg);
	return 0;
}

int ctl_io_opt(const char *verb, enum ctl_io_opt which, const char *arg, bool *no_uring,
	       bool *no_direct)
{
	if (which == CTL_IO_ENGINE) {
		if (!strcmp(arg, "auto") || !strcmp(arg, "uring") || !strcmp(arg, "io_uring"))
			*no_uring = false;
		else if (!strcmp(arg, "pread") || !strcmp(arg, "sync"))
			*no_uring = true;
		else
			return ctl_usage_error(verb, "--io takes auto, uring or pread, not '%s'",
					       arg);
	} else {
		if (!strcmp(arg, "auto") || !strcmp(arg, "on"))
			*no_direct = false;
		else if (!strcmp(arg, "off"))
			*no_direct = true;
		else
			return ctl_usage_error(verb, "--direct-io takes auto or off, not '%s'",
					       arg);
	}
	return 0;
}

static int ctl_size_opt(const char *verb, const char *opt, const char *arg, uint64_t *out)
{
	if (ctl_parse_size(arg, out, NULL))
		return ctl_usage_error(verb, "--%s: '%s' is not a size (e.g. 64M, 1G, 1048576)",
				       opt, arg);
	return 0;
}

int ctl_common_opt(struct ctl_common *c, const char *verb, int opt, const char *arg)
{
	unsigned long v;
	int64_t secs;

	switch (opt) {
	case CTL_OPT_REPO:
		c->repo = arg;
		return 0;
	case CTL_OPT_JSON:
		c->json = true;
		return 0;
	case 'o':
		if (strcmp(arg, "json") && strcmp(arg, "text"))
			return ctl_usage_error(verb, "-o/--output takes 'json' or 'text', not '%s'",
					       arg);
		c->json = !strcmp(arg, "json");
		return 0;
	case CTL_OPT_PROGRESS:
		if (!strcmp(arg, "auto"))
			c->progress = CTL_PROGRESS_AUTO;
		else if (!strcmp(arg, "none") || !strcmp(arg, "off"))
			c->progress = CTL_PROGRESS_NONE;
		else if (!strcmp(arg, "tty") || !strcmp(arg, "on"))
			c->progress = CTL_PROGRESS_TTY;
		else if (!strcmp(arg, "json"))
			c->progress = CTL_PROGRESS_JSON;
		else
			return ctl_usage_error(
				verb, "--progress takes auto, none, tty or json, not '%s'", arg);
		return 0;
	case CTL_OPT_MEMORY:
		if (ctl_size_opt(verb, "memory", arg, &c->memory))
			return -EINVAL;
		if (c->memory < DP_MEMORY_MIN)
			return ctl_usage_error(verb, "--memory must be at least %llu MiB",
					       (unsigned long long)(DP_MEMORY_MIN >> 20));
		return 0;
	case CTL_OPT_NO_FSYNC:
		c->no_fsync = true;
		c->s3.fsync = -1;
		return 0;
	case CTL_OPT_S3_ENDPOINT:
		c->s3.endpoint = arg;
		return 0;
	case CTL_OPT_S3_REGION:
		c->s3.region = arg;
		return 0;
	case CTL_OPT_S3_PATH_STYLE:
		if (!arg || !strcmp(arg, "true") || !strcmp(arg, "on"))
			c->s3.path_style = 1;
		else if (!strcmp(arg, "false") || !strcmp(arg, "off"))
			c->s3.path_style = 2;
		else if (!strcmp(arg, "auto"))
			c->s3.path_style = 0;
		else
			return ctl_usage_error(
				verb, "--s3-path-style takes true, false or auto, not '%s'", arg);
		return 0;
	case CTL_OPT_S3_STORAGE_CLASS:
		c->s3.storage_class = arg;
		return 0;
	case CTL_OPT_S3_SSE:
		if (strcmp(arg, "AES256") && strcmp(arg, "aws:kms"))
			return ctl_usage_error(verb, "--s3-sse takes AES256 or aws:kms, not '%s'",
					       arg);
		c->s3.sse = arg;
		return 0;
	case CTL_OPT_S3_SSE_KMS_KEY_ID:
		c->s3.sse_kms_key_id = arg;
		return 0;
	case CTL_OPT_S3_CA_FILE:
		c->s3.ca_file = arg;
		return 0;
	case CTL_OPT_S3_INSECURE_TLS:
		c->s3.insecure_tls = true;
		return 0;
	case CTL_OPT_S3_CONCURRENCY:
		if (ctl_parse_uint(verb, "s3-concurrency", arg, 1, 256, &v))
			return -EINVAL;
		c->s3.concurrency = (unsigned int)v;
		return 0;
	case CTL_OPT_S3_TIMEOUT:
		if (ctl_parse_duration(arg, &secs, NULL) || secs < 1 || secs > 86400)
			return ctl_usage_error(
				verb, "--s3-timeout takes a duration from 1s to 24h, not '%s'",
				arg);
		c->s3.timeout_ms = (unsigned int)(secs * 1000);
		return 0;
	case CTL_OPT_LIMIT_UPLOAD:
		return ctl_size_opt(verb, "limit-upload", arg, &c->s3.limit_upload);
	case CTL_OPT_LIMIT_DOWNLOAD:
		return ctl_size_opt(verb, "limit-download", arg, &c->s3.limit_download);
	case CTL_OPT_PASSWORD_FILE:
		c->password_file = arg;
		return 0;
	case CTL_OPT_PASSWORD_COMMAND:
		c->password_command = arg;
		return 0;
	case CTL_OPT_CACHE_DIR:
		c->cache_dir = arg;
		return 0;
	case CTL_OPT_NO_CACHE:
		c->no_cache = true;
		return 0;
	case CTL_OPT_STATE_DIR:
		c->state_dir = arg;
		return 0;
	default: /* getopt_long said what it did not know */
		return ctl_usage_error(verb, "unknown option");
	}
}

void ctl_common_help(FILE *f)
{
	fprintf(f,
		"\nRepository and output options:\n"
		"  --repo URL              file:///path or s3://bucket/prefix (default: $FERRY_REPO)\n"
		"  --json, -o json         machine-readable output (one JSON document on stdout)\n"
		"  --progress MODE         auto (a live line on a terminal), none, tty, json (JSON lines on stderr)\n"
		"  --memory SIZE           buffer memory of the job (default 256M, at least 24M)\n"
		"  --no-fsync              file:// only: do not fsync (for tmpfs and benchmarks; unsafe on a crash)\n"
		"  --password-file FILE    the repository password is FILE's content (one trailing newline dropped)\n"
		"  --password-command CMD  the password is what CMD prints (run by /bin/sh)\n"
		"                          default: $FERRY_PASSWORD, $FERRY_PASSWORD_FILE, $FERRY_PASSWORD_COMMAND,\n"
		"                          else a prompt on the terminal\n"
		"  --cache-dir DIR         keep index objects and snapshot metadata of s3:// repositories here\n"
		"                          (default: $FERRY_CACHE_DIR, $XDG_CACHE_HOME/ferry, ~/.cache/ferry)\n"
		"  --no-cache              no local cache\n"
		"  --state-dir DIR         journals of unfinished s3:// uploads, so that an interrupted backup\n"
		"                          or copy resumes (default: $FERRY_STATE_DIR, /var/lib/ferry/state\n"
		"                          as root, else ~/.local/state/ferry)\n"
		"\nS3 options (AWS_* environment variables and ~/.aws files are read as aws-cli does):\n"
		"  --s3-endpoint URL       endpoint (default: $AWS_ENDPOINT_URL_S3, $AWS_ENDPOINT_URL, AWS)\n"
		"  --s3-region REGION      region (default: $AWS_REGION, $AWS_DEFAULT_REGION, profile, us-east-1)\n"
		"  --s3-path-style[=BOOL]  path-style addressing (automatic for IP and localhost endpoints)\n"
		"  --s3-storage-class C    storage class of data objects (e.g. STANDARD_IA)\n"
		"  --s3-sse AES256|aws:kms server-side encryption; --s3-sse-kms-key-id ID with aws:kms\n"
		"  --s3-ca-file PEM        CA bundle to verify TLS with (default: $AWS_CA_BUNDLE, system store)\n"
		"  --s3-insecure-tls       do not verify the server's certificate (never the default)\n"
		"  --s3-concurrency N      transfers in flight (default 8)\n"
		"  --s3-timeout DURATION   deadline of one operation, retries included (default 10m)\n"
		"  --limit-upload SIZE     upload cap per second (e.g. 50M)\n"
		"  --limit-download SIZE   download cap per second\n");
}

int ctl_store_open(struct ctl_common *c, const char *verb, struct s3_store **st)
{
	int ret;

	*st = NULL;
	if (!c->repo)
		return ctl_usage_error(verb, "no repository: give --repo URL or set FERRY_REPO");
	ret = s3_store_open(c->repo, &c->s3, st);
	if (ret)
		return ctl_fail(ret, s3_last_error(), "cannot open repository %s", c->repo);
	return 0;
}

int ctl_repo_open(struct ctl_common *c, const char *verb, struct s3_store **st,
		  struct dp_repo **repo)
{
	int ret;

	*repo = NULL;
	ret = ctl_store_open(c, verb, st);
	if (ret)
		return ret;
	ret = dp_repo_open(*st, repo);
	if (!ret) {
		ret = ctl_repo_unlock(c, *repo);
		if (!ret)
			ctl_repo_cache(c, *st, *repo);
		if (ret) {
			dp_repo_free(*repo);
			*repo = NULL;
			s3_store_free(*st);
			*st = NULL;
		}
		return ret;
	}
	ret = ctl_fail(ret, NULL, "%s", dp_last_error());
	s3_store_free(*st);
	*st = NULL;
	return ret;
}

const char *ctl_state_dir(const struct ctl_common *c, char *buf, size_t len)
{
	const char *env;

	if (c->state_dir)
		return c->state_dir;
	if ((env = getenv("FERRY_STATE_DIR")) && env[0])
		return env;
	if (geteuid() == 0)
		return "/var/lib/ferry/state";
	if ((env = getenv("XDG_STATE_HOME")) && env[0]) {
		snprintf(buf, len, "%s/ferry", env);
		return buf;
	}
	if ((env = getenv("HOME")) && env[0]) {
		snprintf(buf, len, "%s/.local/state/ferry", env);
		return buf;
	}
	return NULL;
}

void ctl_repo_cache(const struct ctl_common *c, struct s3_store *st, struct dp_repo *repo)
{
	const char *dir = c->cache_dir, *env;
	char buf[4096];

	/* a local repository is as fast to read as a cache */
	if (c->no_cache || (s3_store_is_local(st) && !dir))
		return;
	if (!dir && (env = getenv("FERRY_CACHE_DIR")) && env[0])
		dir = env;
	if (!dir && (env = getenv("XDG_CACHE_HOME")) && env[0]) {
		snprintf(buf, sizeof(buf), "%s/ferry", env);
		dir = buf;
	}
	if (!dir && (env = getenv("HOME")) && env[0]) {
		snprintf(buf, sizeof(buf), "%s/.cache/ferry", env);
		dir = buf;
	}
	if (dir && dp_repo_set_cache(repo, dir))
		ctl_log(CTL_LOG_WARN, "no cache: %s", dp_last_error());
}

int ctl_repo_unlock(struct ctl_common *c, struct dp_repo *repo)
{
	struct ctl_password pw;
	int ret;

	if (!dp_repo_is_encrypted(repo))
		return 0;
	ret = ctl_password_get(c, false, &pw);
	if (ret)
		return ret;
	ret = dp_repo_unlock(repo, pw.buf, pw.len);
	ctl_password_wipe(&pw);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	return 0;
}

int ctl_pool_new(struct ctl_common *c, struct dp_pool **pool)
{
	int ret = dp_pool_new(c->memory ? c->memory : DP_MEMORY_DEFAULT, pool);

	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	return 0;
}
