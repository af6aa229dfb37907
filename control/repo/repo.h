/* SPDX-License-Identifier: MIT */
/*
 * control/repo/repo.h - the repository verbs of the ferry command: init,
 * backup, restore, snapshots, check, stats, forget, prune, copy, key,
 * unlock, repo and changed-blocks, one file each (cmd_<verb>.c).
 *
 * A verb takes the argv of its own command line (argv[0] is the verb),
 * parses it with getopt_long, calls the datapath (datapath/dp.h), prints
 * its result on stdout (text, or JSON with --json) and its error on
 * stderr, and returns 0 or -errno; control/main.c, the verbs' only caller,
 * turns that into the exit code (ctl_exit_code(), control/cli/cli.h).
 */
#ifndef FERRY_CTL_REPO_H
#define FERRY_CTL_REPO_H

#include "control/cli/cli.h"

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
/*
 * ferry backup get|describe|download (cmd_backup_record.c): @argv[0] is the
 * word; ctl_backup_word() says whether an argument is one of the reserved words
 * (create, get, describe, download).
 */
int ctl_cmd_backup_record(int argc, char **argv);
bool ctl_backup_word(const char *arg);

/* What the verbs of this folder share; nothing outside control/repo/ calls these. */
struct dp_purge;
/* what Object Lock kept, one line (cmd_prune.c) */
void ctl_print_protected(const struct dp_purge *p);
/* ferry prune's work and report, shared with forget --prune (cmd_prune.c); 0 or -errno, printed */
int ctl_prune_run(struct ctl_common *c, struct dp_repo *repo, const struct dp_prune_opts *po);
/* check --source (cmd_check.c); 0 or -errno, printed */
int ctl_check_source(struct ctl_common *c, const char *source, const char *volume, int argc,
		     char **argv);

#endif /* FERRY_CTL_REPO_H */
