/* SPDX-License-Identifier: MIT */
/*
 * control/common.h - the options every repository verb shares (--repo,
 * --json, the --s3-* settings, --memory, --progress) and opening the
 * repository they name; private to control/.
 *
 * A verb puts CTL_COMMON_LONGOPTS into its getopt_long table, passes every
 * option it does not know itself to ctl_common_opt(), and prints
 * ctl_common_help() at the end of its --help.
 */
#ifndef FERRY_CTL_COMMON_H
#define FERRY_CTL_COMMON_H

#include <getopt.h>
#include <stdio.h>

#include "s3/store.h"

struct dp_repo;
struct dp_pool;

enum ctl_progress { CTL_PROGRESS_AUTO, CTL_PROGRESS_NONE, CTL_PROGRESS_TTY, CTL_PROGRESS_JSON };

struct ctl_common {
	const char *repo;	      /* --repo, else FERRY_REPO */
	const char *password_file;    /* --password-file */
	const char *password_command; /* --password-command */
	bool json;		      /* --json / -o json */
	enum ctl_progress progress;   /* --progress */
	uint64_t memory;	      /* --memory (0: DP_MEMORY_DEFAULT) */
	bool no_fsync;		      /* --no-fsync: file:// without fsync (tmpfs, benchmarks) */
	const char *cache_dir;	      /* --cache-dir (NULL: the default) */
	const char *state_dir;	      /* --state-dir (NULL: the default) */
	bool no_cache;		      /* --no-cache */
	struct s3_store_opts s3;
};

enum {
	CTL_OPT_REPO = 1000,
	CTL_OPT_JSON,
	CTL_OPT_PROGRESS,
	CTL_OPT_MEMORY,
	CTL_OPT_NO_FSYNC,
	CTL_OPT_S3_ENDPOINT,
	CTL_OPT_S3_REGION,
	CTL_OPT_S3_PATH_STYLE,
	CTL_OPT_S3_STORAGE_CLASS,
	CTL_OPT_S3_SSE,
	CTL_OPT_S3_SSE_KMS_KEY_ID,
	CTL_OPT_S3_CA_FILE,
	CTL_OPT_S3_INSECURE_TLS,
	CTL_OPT_S3_CONCURRENCY,
	CTL_OPT_S3_TIMEOUT,
	CTL_OPT_LIMIT_UPLOAD,
	CTL_OPT_LIMIT_DOWNLOAD,
	CTL_OPT_PASSWORD_FILE,
	CTL_OPT_PASSWORD_COMMAND,
	CTL_OPT_CACHE_DIR,
	CTL_OPT_NO_CACHE,
	CTL_OPT_STATE_DIR,
	CTL_OPT_VERB_BASE = 1100, /* a verb's own long-only options start here */
};

/* "o:" goes into the verb's short option string for -o json. */
#define CTL_COMMON_SHORTOPTS "o:"
#define CTL_COMMON_LONGOPTS                                                                        \
	{"repo", required_argument, NULL, CTL_OPT_REPO},                                           \
		{"json", no_argument, NULL, CTL_OPT_JSON},                                         \
		{"output", required_argument, NULL, 'o'},                                          \
		{"progress", required_argument, NULL, CTL_OPT_PROGRESS},                           \
		{"memory", required_argument, NULL, CTL_OPT_MEMORY},                               \
		{"no-fsync", no_argument, NULL, CTL_OPT_NO_FSYNC},                                 \
		{"s3-endpoint", required_argument, NULL, CTL_OPT_S3_ENDPOINT},                     \
		{"s3-region", required_argument, NULL, CTL_OPT_S3_REGION},                         \
		{"s3-path-style", optional_argument, NULL, CTL_OPT_S3_PATH_STYLE},                 \
		{"s3-storage-class", required_argument, NULL, CTL_OPT_S3_STORAGE_CLASS},           \
		{"s3-sse", required_argument, NULL, CTL_OPT_S3_SSE},                               \
		{"s3-sse-kms-key-id", required_argument, NULL, CTL_OPT_S3_SSE_KMS_KEY_ID},         \
		{"s3-ca-file", required_argument, NULL, CTL_OPT_S3_CA_FILE},                       \
		{"s3-insecure-tls", no_argument, NULL, CTL_OPT_S3_INSECURE_TLS},                   \
		{"s3-concurrency", required_argument, NULL, CTL_OPT_S3_CONCURRENCY},               \
		{"s3-timeout", required_argument, NULL, CTL_OPT_S3_TIMEOUT},                       \
		{"limit-upload", required_argument, NULL, CTL_OPT_LIMIT_UPLOAD},                   \
		{"limit-download", required_argument, NULL, CTL_OPT_LIMIT_DOWNLOAD},               \
		{"password-file", required_argument, NULL, CTL_OPT_PASSWORD_FILE},                 \
		{"password-command", required_argument, NULL, CTL_OPT_PASSWORD_COMMAND},           \
		{"cache-dir", required_argument, NULL, CTL_OPT_CACHE_DIR},                         \
		{"no-cache", no_argument, NULL, CTL_OPT_NO_CACHE},                                 \
	{                                                                                          \
		"state-dir", required_argument, NULL, CTL_OPT_STATE_DIR                            \
	}

/* Defaults; FERRY_REPO read. */
void ctl_common_init(struct ctl_common *c);

/*
 * ctl_common_opt() - handle one option of CTL_COMMON_LONGOPTS
 * Return: 1 handled; 0 not a common option; -1 a usage error (printed).
 */
int ctl_common_opt(struct ctl_common *c, const char *verb, int opt, const char *arg);

/* The common options' lines of a verb's --help. */
void ctl_common_help(FILE *f);

/*
 * ctl_store_open() - open the store --repo names, with the --s3-* settings
 * Return: an exit code (CTL_EXIT_OK), the error printed.
 */
int ctl_store_open(struct ctl_common *c, const char *verb, struct s3_store **st);

/* ctl_repo_open() - the store, then the repository in it. Exit code. */
int ctl_repo_open(struct ctl_common *c, const char *verb, struct s3_store **st,
		  struct dp_repo **repo);

/* A password, wiped with ctl_password_wipe(). */
struct ctl_password {
	char buf[4096];
	size_t len;
};

/*
 * ctl_password_get() - the repository password (control/password.c lists the
 * sources); @is_new: a new repository's (a prompt asks twice). Exit code.
 */
int ctl_password_get(const struct ctl_common *c, bool is_new, struct ctl_password *pw);
/*
 * ctl_password_other() - another password (a new one, another repository's):
 * from @file if given, else $@env_name, else a prompt naming @what. Exit code.
 */
int ctl_password_other(const char *file, const char *env_name, const char *what,
		       struct ctl_password *pw);
void ctl_password_wipe(struct ctl_password *pw);

/* ctl_repo_cache() - the local cache of @repo as --cache-dir/--no-cache say (warns on failure) */
void ctl_repo_cache(const struct ctl_common *c, struct s3_store *st, struct dp_repo *repo);

/*
 * ctl_state_dir() - where journals of unfinished uploads live: --state-dir,
 * $FERRY_STATE_DIR, /var/lib/ferry/state (root), $XDG_STATE_HOME/ferry,
 * ~/.local/state/ferry. @buf holds the result if it is built.
 */
const char *ctl_state_dir(const struct ctl_common *c, char *buf, size_t len);

/* ctl_repo_unlock() - unlock @repo with the password of @c if it is encrypted. Exit code. */
int ctl_repo_unlock(struct ctl_common *c, struct dp_repo *repo);

/* ctl_pool_new() - the buffer pool of --memory. Exit code. */
int ctl_pool_new(struct ctl_common *c, struct dp_pool **pool);

/* Parse a non-negative integer option value in [min, max]. -1 on error (printed). */
int ctl_parse_uint(const char *verb, const char *opt, const char *arg, unsigned long min,
		   unsigned long max, unsigned long *out);

/* --io (@which 0) and --direct-io (1) of backup and restore. 0 or CTL_EXIT_USAGE (printed). */
int ctl_io_opts(const char *verb, int which, const char *arg, bool *no_uring, bool *no_direct);

#endif /* FERRY_CTL_COMMON_H */
