/* SPDX-License-Identifier: MIT */
/*
 * control/cli/cli.h - the ferry command's kit: the manual of control/cli,
 * layer 1 of control/ (control/README.md). The verbs (control/repo/,
 * control/agent/) and bench/ build on it; it builds on the datapath and
 * the store only.
 *
 *   exit.c      exit codes, the error lines, the log sink every module logs
 *               through
 *   values.c    values parsed without I/O: sizes, durations, intervals,
 *               counts, KEY=VALUE labels, Kubernetes label selectors. A
 *               library of its own (cli_values_dep): reconcilers link it
 *               without the terminal and password code.
 *   options.c   the options every repository verb shares (--repo, --json,
 *               --s3-*, --memory, ...) and opening what they name
 *   password.c  where a repository password comes from
 *   jobrun.c    one datapath job in the foreground; SIGINT/SIGTERM
 *   output.c    the --json documents (no cJSON leaves it)
 *
 * Errors: one convention below the verb boundary. Every function here
 * returns 0 or -errno, and so does a verb (ctl_verb_fn); control/main.c
 * turns a verb's -errno into the process's exit code with ctl_exit_code(),
 * the one place an errno becomes an exit code. Functions that take a verb
 * name or print (options, passwords, jobs) print their error (one line on
 * stderr, "ferry: error: ...") before they return it, so their caller only
 * passes it on. The value parsers print nothing: they fill a struct ctl_err
 * the caller owns (NULL: no detail wanted).
 *
 * Threads: the value parsers are pure and thread-safe. The rest is for the
 * command's main thread (getopt_long, stdout, the terminal); ctl_log_line()
 * may be called from any thread (one fprintf per line).
 */
#ifndef FERRY_CTL_CLI_H
#define FERRY_CTL_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "s3/store.h"

struct dp_check_report;
struct dp_job;
struct dp_key_info;
struct dp_lockinfo;
struct dp_pool;
struct dp_prune_opts;
struct dp_prune_report;
struct dp_purge;
struct dp_repo;
struct dp_result;
struct dp_snapshot;
struct dp_stats;

/* ---------------------------------------------------- exit codes (exit.c) */

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
	CTL_EXIT_NETWORK = 9,	    /* the object store or the API server cannot be reached */
	CTL_EXIT_VERSION = 10,	    /* repository format version not supported */
	CTL_EXIT_LEASE_LOST = 11,   /* a controller lost its leader lease (-ENOLCK) */
	CTL_EXIT_INTERRUPTED = 130, /* SIGINT/SIGTERM: stopped, nothing committed */
};

/*
 * A verb: its own command line (argv[0] is the verb's name); it parses,
 * calls, prints, and returns 0 or -errno with the error printed.
 */
typedef int (*ctl_verb_fn)(int argc, char **argv);

/*
 * ctl_exit_code() - the exit code of a verb's outcome: 0 or -errno
 * (-EINVAL: CTL_EXIT_USAGE, -ENOENT: CTL_EXIT_NOT_FOUND, -EUCLEAN:
 * CTL_EXIT_DAMAGED, ...; an errno it does not know: CTL_EXIT_FAILURE).
 * Called once, by main(); nothing below the verb table returns exit codes.
 */
int ctl_exit_code(int err);

/*
 * ctl_fail() - print "ferry: error: <msg>" (": <detail>" after it if
 * @detail is neither NULL nor "") and return @err, a -errno.
 */
int ctl_fail(int err, const char *detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * ctl_usage_error() - print the message with a "try 'ferry VERB --help'"
 * hint (@verb NULL: 'ferry --help') and return -EINVAL (CTL_EXIT_USAGE).
 */
int ctl_usage_error(const char *verb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Log levels: the same numbers in every module (S3_LOG_*, DP_LOG_*, EBPF_LOG_*). */
enum { CTL_LOG_ERR, CTL_LOG_WARN, CTL_LOG_INFO, CTL_LOG_DEBUG };

extern int ctl_verbosity; /* highest level printed; CTL_LOG_WARN by default */

/*
 * ctl_log_line() - the sink every module logs through (s3_set_log(),
 * dp_set_log(), ebpf_set_log()): one line to stderr, "ferry: " first, if
 * @level is at most ctl_verbosity.
 */
void ctl_log_line(int level, const char *msg);
void ctl_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ------------------------------------------- values, without I/O (values.c) */

/*
 * struct ctl_err - why a value was refused: @code is the -errno returned
 * (0 after a success), @msg one line naming the value ("" after a success).
 * Owned by the caller; nothing here keeps it.
 */
struct ctl_err {
	int code;
	char msg[256];
};

/*
 * ctl_one_line() - @msg made one printable line in place: each control byte
 * (a newline, a tab, DEL) becomes '?'. For every message that quotes what a
 * user or a server wrote: a refusal's reason, a condition's message.
 */
void ctl_one_line(char *msg);

/*
 * ctl_refuse() - a refusal's reason: the message formatted into @why (@len
 * bytes) and made one line (ctl_one_line(): it quotes the user's values).
 * Return: -EINVAL. What a spec decoder returns for a field it refuses.
 */
int ctl_refuse(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/*
 * ctl_parse_size() - "64M", "1G", "4096", "1.5GiB" (powers of two; K, M,
 * G, T, P, with or without "i" and "B") into bytes.
 * Return: 0; -EINVAL (not a size); -ERANGE (2^64 or more).
 */
int ctl_parse_size(const char *s, uint64_t *out, struct ctl_err *err);

/*
 * ctl_parse_duration() - a Go-style duration, Velero's TTL syntax ("720h",
 * "1h30m", "90s", "30d", "2w", "1y" = 365 days; "ms" too; a bare number is
 * seconds) into whole seconds, rounded down.
 * Return: 0; -EINVAL (malformed, a sign); -ERANGE (beyond 9.2e18 s).
 */
int ctl_parse_duration(const char *s, int64_t *out, struct ctl_err *err);

/*
 * ctl_parse_interval() - a sampling period: "1", "0.5", "2s", "500ms" into
 * seconds from 0.1 to 60.
 * Return: 0; -EINVAL (malformed); -ERANGE (outside 0.1..60).
 */
int ctl_parse_interval(const char *s, double *out, struct ctl_err *err);

/*
 * ctl_parse_ulong() - a whole decimal number in [@min, @max] (no sign).
 * Return: 0; -EINVAL (not a number); -ERANGE (outside the range).
 */
int ctl_parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out,
		    struct ctl_err *err);

/*
 * ctl_parse_label() - "KEY=VALUE" as ferry's --label takes it: split at the
 * first '=', KEY not empty, anything else allowed (a snapshot's labels are
 * free text; ctl_label_key_valid() says whether Kubernetes would take it).
 * @key_len: the length of KEY, which starts at @s; @value: after the '=',
 * in @s (borrowed from @s).
 * Return: 0; -EINVAL (no '=', or an empty KEY).
 */
int ctl_parse_label(const char *s, size_t *key_len, const char **value, struct ctl_err *err);

/* Kubernetes' label syntax: a qualified name ([DNS subdomain/]name), and a label value. */
bool ctl_label_key_valid(const char *key);
bool ctl_label_value_valid(const char *value);
/* ctl_label_pair_valid() - "KEY=VALUE" with both valid as above (split at the first '=') */
bool ctl_label_pair_valid(const char *s);

/* A map's entry for @from, in the map's own layout; NULL: none. */
typedef const char *(*ctl_map_get_fn)(const void *map, const char *from);

/**
 * ctl_label_map() - label @key=@value (@value NULL: the key alone) through a
 * map of node labels as a Restore's and a Migration's nodeLabelMapping have
 * them: the entry "key=value" maps the label (to "key=value"), else the entry
 * "key" maps the key (to a key; the value kept); "" drops it.
 * @nk, @kl, @nv, @vl: the new key and value when mapped; *@pv: the value to
 * use (@nv, or @value).
 * Return: 1 mapped; 0 not named (*@pv is @value); -1 dropped.
 */
int ctl_label_map(ctl_map_get_fn get, const void *map, const char *key, const char *value, char *nk,
		  size_t kl, char *nv, size_t vl, const char **pv);

/* A requirement of a label selector (k8s.io/apimachinery labels). */
enum ctl_sel_op {
	CTL_SEL_EXISTS,	    /* key */
	CTL_SEL_NOT_EXISTS, /* !key */
	CTL_SEL_EQ,	    /* key=value, key==value */
	CTL_SEL_NE,	    /* key!=value: also holds when key is absent */
	CTL_SEL_IN,	    /* key in (a,b) */
	CTL_SEL_NOTIN,	    /* key notin (a,b): also holds when key is absent */
};

struct ctl_sel_req {
	const char *key;
	enum ctl_sel_op op;
	const char *const *values; /* EQ, NE: one; IN, NOTIN: one or more; else none */
	size_t nvalues;
};

/*
 * struct ctl_selector - requirements that must all hold. Either filled by
 * ctl_selector_parse() (freed with ctl_selector_fini()), or built by a
 * caller from its own arrays (@priv_* NULL; nothing to free).
 */
struct ctl_selector {
	struct ctl_sel_req *reqs;
	size_t n;
	char *priv_buf;		/* ctl_selector_parse(): the keys and values */
	const char **priv_vals; /* ctl_selector_parse(): every requirement's values */
};

/*
 * ctl_selector_parse() - a label selector, as `kubectl -l` and a
 * LabelSelector's string form take it: "app=web,tier in (a,b),!legacy,
 * env!=prod". "" selects everything. Keys and values are checked as
 * Kubernetes checks them.
 * @out: filled on success (free with ctl_selector_fini()); zeroed on failure.
 * Return: 0; -EINVAL (malformed: @err says where); -ENOMEM.
 */
int ctl_selector_parse(const char *s, struct ctl_selector *out, struct ctl_err *err);

/* ctl_selector_fini() - free what ctl_selector_parse() allocated; NULL is a no-op. */
void ctl_selector_fini(struct ctl_selector *sel);

/* The value of label @key of one object, or NULL if it has none. */
typedef const char *(*ctl_label_get_fn)(const void *arg, const char *key);

/* ctl_selector_matches() - whether every requirement of @sel holds for the labels @get reads. */
bool ctl_selector_matches(const struct ctl_selector *sel, ctl_label_get_fn get, const void *arg);

/*
 * ctl_parse_or_selector() - Velero's --or-selector: label selectors joined
 * by " or " ("app=web or tier in (a,b)"), any of which selects an object;
 * none of them empty.
 * @out: @n selectors on success (free with ctl_or_selector_free(*out, *n));
 * NULL on failure.
 * Return: 0; -EINVAL (@err names the selector); -ENOMEM.
 */
int ctl_parse_or_selector(const char *s, struct ctl_selector **out, size_t *n, struct ctl_err *err);
void ctl_or_selector_free(struct ctl_selector *sels, size_t n);

/*
 * ctl_parse_bool() - a boolean as Go's strconv.ParseBool (and so Velero's
 * flags) takes it: 1, t, T, TRUE, true, True; 0, f, F, FALSE, false, False.
 * Return: 0; -EINVAL.
 */
int ctl_parse_bool(const char *s, bool *out, struct ctl_err *err);

/* ctl_namespace_valid() - whether @name is a namespace's name (a DNS-1123 label). */
bool ctl_namespace_valid(const char *name);

enum ctl_list_kind {
	CTL_LIST_NAMESPACES, /* names or fnmatch patterns: [a-z0-9-*?[]!], at most 253 */
	CTL_LIST_RESOURCES,  /* plural, resource.group or a pattern: [A-Za-z0-9-.*?], 316 */
};
#define CTL_LIST_NAMESPACE_MAX 253
#define CTL_LIST_RESOURCE_MAX  316

/* struct ctl_list - the items of a comma-separated list, in @priv_buf. */
struct ctl_list {
	char **items;
	size_t n;
	char *priv_buf;
};

/*
 * ctl_parse_list() - "a,b,c" as Velero's --include-namespaces and
 * --include-resources take it: no empty item, each of @kind's characters.
 * @out: filled on success (free with ctl_list_fini()); zeroed on failure.
 * Return: 0; -EINVAL (@err names the item); -ENOMEM.
 */
int ctl_parse_list(const char *s, enum ctl_list_kind kind, struct ctl_list *out,
		   struct ctl_err *err);
/* ctl_list_fini() - free what ctl_parse_list() allocated; NULL is a no-op. */
void ctl_list_fini(struct ctl_list *l);

/* struct ctl_mapping - FROM:TO pairs, in @priv_buf, in the order given. */
struct ctl_mapping {
	struct ctl_map_pair {
		const char *from, *to;
	} * pairs;
	size_t n;
	char *priv_buf;
};

/*
 * ctl_parse_mapping() - Velero's --namespace-mappings "a:b,c:d": each FROM
 * and TO a namespace's name, no FROM twice.
 * @out: filled on success (free with ctl_mapping_fini()); zeroed on failure.
 * Return: 0; -EINVAL (@err names the pair); -ENOMEM.
 */
int ctl_parse_mapping(const char *s, struct ctl_mapping *out, struct ctl_err *err);
/* ctl_mapping_fini() - free what ctl_parse_mapping() allocated; NULL is a no-op. */
void ctl_mapping_fini(struct ctl_mapping *m);

/* ----------------------------------------------- common options (options.c) */

enum ctl_progress { CTL_PROGRESS_AUTO, CTL_PROGRESS_NONE, CTL_PROGRESS_TTY, CTL_PROGRESS_JSON };

/*
 * struct ctl_common - the options every repository verb shares. A verb puts
 * CTL_COMMON_LONGOPTS into its getopt_long table, passes every option it
 * does not know itself to ctl_common_opt(), and prints ctl_common_help() at
 * the end of its --help. Strings are borrowed from argv or the environment.
 */
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

/* ctl_common_init() - the defaults; FERRY_REPO read. */
void ctl_common_init(struct ctl_common *c);

/*
 * ctl_common_opt() - handle an option the verb @verb does not know itself:
 * one of CTL_COMMON_LONGOPTS, or getopt_long's '?' for an unknown one.
 * Return: 0 (taken into @c); -EINVAL (a bad value or an unknown option,
 * printed).
 */
int ctl_common_opt(struct ctl_common *c, const char *verb, int opt, const char *arg);

/* ctl_common_help() - the common options' lines of a verb's --help. */
void ctl_common_help(FILE *f);

/*
 * ctl_parse_uint() - the value @arg of option --@opt: a whole number in
 * [@min, @max]. Return: 0; -EINVAL (printed as a usage error).
 */
int ctl_parse_uint(const char *verb, const char *opt, const char *arg, unsigned long min,
		   unsigned long max, unsigned long *out);

/* Which of the two I/O options ctl_io_opt() parses. */
enum ctl_io_opt { CTL_IO_ENGINE /* --io */, CTL_IO_DIRECT /* --direct-io */ };

/*
 * ctl_io_opt() - --io auto|uring|pread or --direct-io auto|off (backup,
 * restore) into @no_uring or @no_direct. Return: 0; -EINVAL (printed).
 */
int ctl_io_opt(const char *verb, enum ctl_io_opt which, const char *arg, bool *no_uring,
	       bool *no_direct);

/*
 * ctl_store_open() - open the store --repo names, with the --s3-* settings.
 * @st: the store (free with s3_store_free()), NULL on failure.
 * Return: 0; -EINVAL (no --repo); the store's -errno. Printed.
 */
int ctl_store_open(struct ctl_common *c, const char *verb, struct s3_store **st);

/*
 * ctl_repo_open() - the store, then the repository in it, unlocked with the
 * password of @c if it is encrypted, with its cache as --cache-dir and
 * --no-cache say. Both NULL on failure. Return: 0 or -errno, printed.
 */
int ctl_repo_open(struct ctl_common *c, const char *verb, struct s3_store **st,
		  struct dp_repo **repo);

/* ctl_repo_unlock() - unlock @repo with the password of @c if it is encrypted. 0 or -errno, printed. */
int ctl_repo_unlock(struct ctl_common *c, struct dp_repo *repo);

/* ctl_repo_cache() - the local cache of @repo as --cache-dir/--no-cache say (warns on failure) */
void ctl_repo_cache(const struct ctl_common *c, struct s3_store *st, struct dp_repo *repo);

/*
 * ctl_state_dir() - where journals of unfinished uploads live: --state-dir,
 * $FERRY_STATE_DIR, /var/lib/ferry/state (root), $XDG_STATE_HOME/ferry,
 * ~/.local/state/ferry; NULL if none. @buf holds the result if it is built.
 */
const char *ctl_state_dir(const struct ctl_common *c, char *buf, size_t len);

/* ctl_pool_new() - the buffer pool of --memory. 0 or -errno, printed. */
int ctl_pool_new(struct ctl_common *c, struct dp_pool **pool);

/* ---------------------------------------------------- passwords (password.c) */

/* A password, wiped with ctl_password_wipe(); never logged. */
struct ctl_password {
	char buf[4096];
	size_t len;
};

/*
 * ctl_password_get() - the repository password: --password-file,
 * --password-command, FERRY_PASSWORD, FERRY_PASSWORD_FILE,
 * FERRY_PASSWORD_COMMAND, else a prompt on the terminal; @is_new: a new
 * repository's (a prompt asks twice). Return: 0 or -errno, printed.
 */
int ctl_password_get(const struct ctl_common *c, bool is_new, struct ctl_password *pw);

/*
 * ctl_password_other() - another password (a new one, another repository's):
 * from @file if given, else $@env_name, else a prompt naming @what.
 * Return: 0 or -errno, printed.
 */
int ctl_password_other(const char *file, const char *env_name, const char *what,
		       struct ctl_password *pw);

void ctl_password_wipe(struct ctl_password *pw);

/* ---------------------------------------------- jobs and signals (jobrun.c) */

/*
 * ctl_job_run() - wait for @job in the foreground: progress as --progress
 * says, SIGINT/SIGTERM (after ctl_signals_init()) cancel it.
 * Return: 0, or the job's -errno (printed: -ECANCELED says nothing was
 * committed).
 */
int ctl_job_run(struct dp_job *job, const struct ctl_common *c, const char *verb);

/* Signal handling: SIGINT/SIGTERM set a flag polled by ctl_interrupted(); SIGPIPE is ignored. */
void ctl_signals_init(void);
bool ctl_interrupted(void);

/* ----------------------------------------------------- output (output.c) */

/* The --json documents, one on stdout each. */
void ctl_json_result(const char *verb, const struct dp_result *r, const char *repo,
		     const char *target);
void ctl_json_init(const char *repo, const char *id, uint32_t chunk_size, bool encrypted);
void ctl_json_keys(const struct dp_key_info *k, size_t n);
void ctl_json_snapshots(const struct dp_snapshot *s, size_t n, const char *volume);
void ctl_json_check(const struct dp_check_report *r, bool read_data);
void ctl_json_copy(const struct dp_result *r, const char *from, const char *to,
		   const uint64_t records[2]);
void ctl_json_verify(const struct dp_result *r, const char *snapshot, const char *source);
void ctl_json_stats(const struct dp_stats *s);
void ctl_json_prune(const struct dp_prune_report *r, bool dry_run);
void ctl_json_locks(const struct dp_lockinfo *l, size_t n);
/* backup records: `ferry backup get -o json` (an array), `describe -o json` (one) */
struct dp_record;
void ctl_json_records(const struct dp_record *r, size_t n);
void ctl_json_record_one(const struct dp_record *r);
/* @gone[i]: whether @s[i] is (or with @dry_run would be) removed */
void ctl_json_forget(const struct dp_snapshot *s, size_t n, const bool *gone, bool dry_run);

/* ctl_time_str() - microseconds since the epoch as "2026-12-01T08:43:49Z" ("?" if out of range) */
void ctl_time_str(int64_t us, char *buf, size_t len);

#endif /* FERRY_CTL_CLI_H */
