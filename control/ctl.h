/* SPDX-License-Identifier: MIT */
/*
 * control/ctl.h - what the ferry command's files share; private to control/.
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

/* JSON on stdout (control/output.c) */
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
struct dp_purge;
/* what Object Lock kept, one line (cmd_prune.c) */
void ctl_print_protected(const struct dp_purge *p);
/* ferry prune's work and report, shared with forget --prune (cmd_prune.c) */
int ctl_prune_run(struct ctl_common *c, struct dp_repo *repo, const struct dp_prune_opts *po);
/* check --source (cmd_check.c) */
int ctl_check_source(struct ctl_common *c, const char *source, const char *volume, int argc,
		     char **argv);
/* "2026-12-01T08:43:49Z" */
void ctl_time_str(int64_t us, char *buf, size_t len);

/* Verbs: control/cmd_<verb>.c */
int ctl_cmd_init(int argc, char **argv);
int ctl_cmd_backup(int argc, char **argv);
int ctl_cmd_restore(int argc, char **argv);
int ctl_cmd_snapshots(int argc, char **argv);
int ctl_cmd_key(int argc, char **argv);
int ctl_cmd_repo(int argc, char **argv);
int ctl_cmd_check(int argc, char **argv);
int ctl_cmd_stats(int argc, char **argv);
int ctl_cmd_forget(int argc, char **argv);
int ctl_cmd_prune(int argc, char **argv);
int ctl_cmd_unlock(int argc, char **argv);
int ctl_cmd_copy(int argc, char **argv);
int ctl_cmd_changed_blocks(int argc, char **argv);
/* bench/cmd_bench.c */
int ctl_cmd_bench(int argc, char **argv);
int ctl_cmd_agent(int argc, char **argv);
int ctl_cmd_top(int argc, char **argv);
/* "1", "0.5", "2s", "500ms" -> seconds, 0.1 to 60 (cmd_agent.c) */
int ctl_agent_parse_interval(const char *s, double *out);

#endif /* FERRY_CTL_H */
