/* SPDX-License-Identifier: MIT */
/*
 * control/cli/cli.h - the kit of the ferry command: what its verbs and bench share.
 *
 * Each verb lives in control/cmd_<verb>.c (or bench/ for "bench") and has the
 * signature of ctl_verb_fn. A verb parses its own options with getopt_long,
 * prints a one-line error and returns an exit code from enum ctl_exit.
 */
#ifndef FERRY_CTL_H
#define FERRY_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>

#include "s3/store.h"

/* Exit codes: the README's table. Keep both in step. */
enum ctl_exit {
	CTL_EXIT_OK = 0,
	CTL_EXIT_FAILURE = 1,	    /* any other failure */
	CTL_EXIT_USAGE = 2,	    /* bad command line */
	CTL_EXIT_NOT_FOUND = 3,	    /* repository, snapshot, volume, source not found */
	CTL_EXIT_DAMAGED = 4,	    /* repository data damaged or fails verification */
	CTL_EXIT_IO = 5,	    /* I/O error on the source, the target or the store */
	CTL_EXIT_REFUSED = 6,	    /* refused: exists already, in use, too small, ambiguous */
	CTL_EXIT_NOSPACE = 7,	    /* no space left on the target or in the repository */
	CTL_EXIT_ACCESS = 8,	    /* permission denied, bad credentials or password */
	CTL_EXIT_NETWORK = 9,	    /* the object store cannot be reached */
	CTL_EXIT_VERSION = 10,	    /* repository format version not supported */
	CTL_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM: stopped, nothing committed */
};

typedef int (*ctl_verb_fn)(int argc, char **argv);

/* Log levels shared with every module (S3_LOG_*, DP_LOG_*, EBPF_LOG_*). */
enum { CTL_LOG_ERR, CTL_LOG_WARN, CTL_LOG_INFO, CTL_LOG_DEBUG };

extern int ctl_verbosity; /* highest level printed; CTL_LOG_WARN by default */

/* The sink every module logs through: one line to stderr, "ferry: " first. */
void ctl_log_line(int level, const char *msg);
void ctl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * ctl_fail() - print "ferry: <msg>" (plus the detail, if any) and return the
 * exit code for -errno @err.
 */
int ctl_fail(int err, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* ctl_usage_error() - print the message and "try --help" hint; return CTL_EXIT_USAGE. */
int ctl_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Map -errno to an exit code. */
int ctl_exit_code(int err);

/* Parse "64M", "1G", "4096", "1.5GiB" into bytes. Return 0 or -EINVAL/-ERANGE. */
int ctl_parse_size(const char *s, uint64_t *out);
/* Parse a Go-style duration ("720h", "1h30m", "90s", "7d") into seconds. */
int ctl_parse_duration(const char *s, int64_t *out);

/* Signal handling: SIGINT/SIGTERM set a flag polled by ctl_interrupted(). */
void ctl_signals_init(void);
bool ctl_interrupted(void);

struct dp_job;
struct dp_result;
struct dp_snapshot;
struct ctl_common;

/*
 * ctl_job_run() - wait for @job in the foreground: progress as --progress
 * says, SIGINT/SIGTERM cancel it. Return: the exit code of its outcome, the
 * error printed.
 */
int ctl_job_run(struct dp_job *job, const struct ctl_common *c, const char *verb);

/* JSON on stdout (control/cli/output.c) */
void ctl_json_result(const char *verb, const struct dp_result *r, const char *repo,
		     const char *target);
void ctl_json_init(const char *repo, const char *id, uint32_t chunk_size, bool encrypted);
struct dp_key_info;
void ctl_json_keys(const struct dp_key_info *k, size_t n);
void ctl_json_snapshots(const struct dp_snapshot *s, size_t n, const char *volume);
struct dp_check_report;
struct dp_stats;
struct dp_prune_report;
struct dp_prune_opts;
struct dp_lockinfo;
struct dp_repo;
void ctl_json_check(const struct dp_check_report *r, bool read_data);
void ctl_json_copy(const struct dp_result *r, const char *from, const char *to);
void ctl_json_verify(const struct dp_result *r, const char *snapshot, const char *source);
void ctl_json_stats(const struct dp_stats *s);
void ctl_json_prune(const struct dp_prune_report *r, bool dry_run);
void ctl_json_locks(const struct dp_lockinfo *l, size_t n);
void ctl_json_forget(const struct dp_snapshot *s, size_t n, const bool *gone, bool dry_run);
/* "2026-12-01T08:43:49Z" */
void ctl_time_str(int64_t us, char *buf, size_t len);

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
 * ctl_password_get() - the repository password (control/cli/password.c lists the
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

#endif /* FERRY_CTL_H */
