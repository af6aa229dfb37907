// SPDX-License-Identifier: MIT
/*
 * control/main.c - the ferry command: global options and the verb table,
 * layer 4 of control/ (control/README.md) and the only file that sees every
 * folder. A verb returns 0 or -errno with its error printed; main() turns
 * that into the exit code, here and nowhere else (ctl_exit_code()).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/agent/agent.h"
#include "bench/bench_cmd.h"
#include "control/cli/cli.h"
#include "control/operator/operator.h"
#include "control/repo/repo.h"
#include "datapath/dp.h"
#include "s3/store.h"

static int ctl_cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("ferry %s\n", FERRY_VERSION);
	return 0;
}

/*
 * Whether a command line names a repository: --repo (or --repo=URL) before
 * "--", or, with @env, FERRY_REPO set and not empty. `ferry backup
 * get|describe` read the repository's records then, the cluster's Backups
 * otherwise.
 */
static bool ctl_names_repo(int argc, char **argv, bool env)
{
	const char *e = getenv("FERRY_REPO");

	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--repo") || !strncmp(argv[i], "--repo=", 7))
			return true;
	return env && e && e[0];
}

/*
 * ferry backup: create, delete, and get|describe|logs without a repository,
 * are the cluster's (operator/); the rest, a device's backup and the
 * repository's records (get, describe, download, logs), the repository verbs' (repo/), which
 * also refuse `create --repo URL` (an image file named create is ./create).
 * FERRY_REPO exported does not keep create from the cluster.
 */
static int ctl_main_backup(int argc, char **argv)
{
	if (argc > 1 &&
	    (!strcmp(argv[1], "delete") ||
	     (!strcmp(argv[1], "create") && !ctl_names_repo(argc - 1, argv + 1, false)) ||
	     ((!strcmp(argv[1], "get") || !strcmp(argv[1], "describe") ||
	       !strcmp(argv[1], "logs")) &&
	      !ctl_names_repo(argc - 1, argv + 1, true))))
		return ctl_cmd_backup_cluster(argc - 1, argv + 1);
	return ctl_cmd_backup(argc, argv);
}

/* ferry restore: create|get|describe|delete|logs are the cluster's; SNAPSHOT TARGET a volume's. */
static int ctl_main_restore(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "download"))
		return ctl_usage_error("restore",
				       "'download' is reserved (backups download: ferry backup "
				       "download); an image file named so is ./download");
	if (argc > 1 && ctl_backup_word(argv[1]))
		return ctl_cmd_restore_cluster(argc - 1, argv + 1);
	return ctl_cmd_restore(argc, argv);
}

/* ferry lb: get|describe are the cluster's LoadBalancePolicies (operator/); status|disable the node's tables (agent/). */
static int ctl_main_lb(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "get") || !strcmp(argv[1], "describe")))
		return ctl_cmd_lb_policy(argc, argv);
	return ctl_cmd_lb(argc, argv);
}

struct ctl_verb {
	const char *name;
	ctl_verb_fn run;
	const char *summary;
};

static const struct ctl_verb ctl_verbs[] = {
	{"init", ctl_cmd_init, "create a repository"},
	{"backup", ctl_main_backup,
	 "back up a device or an image file; create, get, describe, delete, logs of a cluster's "
	 "Backups"},
	{"restore", ctl_main_restore,
	 "restore a snapshot onto a device or an image file; create, get, describe, delete, logs "
	 "of Restores"},
	{"snapshots", ctl_cmd_snapshots, "list snapshots"},
	{"check", ctl_cmd_check, "verify a repository, or that a volume equals a snapshot"},
	{"stats", ctl_cmd_stats, "sizes, dedup and compression ratios of a repository"},
	{"forget", ctl_cmd_forget, "remove snapshots by id, age or retention policy"},
	{"prune", ctl_cmd_prune, "delete the data no snapshot references"},
	{"copy", ctl_cmd_copy, "copy snapshots to another repository (another cloud)"},
	{"changed-blocks", ctl_cmd_changed_blocks,
	 "list the ranges changed since a snapshot (XFS reflinks, btrfs snapshots)"},
	{"key", ctl_cmd_key, "list, add, remove or change the passwords of a repository"},
	{"unlock", ctl_cmd_unlock, "list locks, remove stale ones"},
	{"repo", ctl_cmd_repo, "repository storage upkeep: abort stale unfinished uploads"},
	{"agent", ctl_cmd_agent, "run the node agent (eBPF pod metrics on /metrics)"},
	{"top", ctl_cmd_top, "per-pod CPU, run-queue wait and traffic, every second"},
	{"lb", ctl_main_lb,
	 "the node's socket load balancer: status, disable; get, describe of LoadBalancePolicies"},
	{"controller", ctl_cmd_controller,
	 "run the controller (leader election, reconcilers, /metrics)"},
	{"autoscale", ctl_cmd_autoscale, "create, list and describe ScalePolicies (autoscaling)"},
	{"migrate", ctl_cmd_migrate, "plan a Migration of an application from another cluster"},
	{"switch", ctl_cmd_switch,
	 "blue/green switch of a StatefulSet with its volumes: start, status, promote, abort, "
	 "rollback"},
	{"schedule", ctl_cmd_schedule,
	 "create, get, describe, pause, unpause, delete Schedules of Backups"},
	{"bench", bench_cmd, "measure the throughput of each stage of the backup path"},
	{"version", ctl_cmd_version, "print the version"},
};

static void ctl_main_usage(FILE *f)
{
	fprintf(f, "usage: ferry [-v|-q] VERB [OPTIONS] [ARGS]\n\n"
		   "ferry moves block volumes into and out of object storage.\n\nVerbs:\n");
	for (size_t i = 0; i < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); i++)
		fprintf(f, "  %-15s %s\n", ctl_verbs[i].name, ctl_verbs[i].summary);
	fprintf(f,
		"\nGlobal options (before the verb):\n"
		"  -v, --verbose  more messages (repeat for debug)\n"
		"  -q, --quiet    errors only\n"
		"  -h, --help     this text; 'ferry VERB --help' describes a verb\n"
		"  -V, --version  print the version\n\n"
		"The repository comes from --repo or FERRY_REPO. Exit codes are listed in the README.\n");
}

/* The global options, then the verb: 0 or -errno, printed. */
static int ctl_main(int argc, char **argv)
{
	int i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			ctl_verbosity++;
		} else if (!strcmp(a, "-vv")) {
			ctl_verbosity += 2;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			ctl_verbosity = CTL_LOG_ERR;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			ctl_main_usage(stdout);
			return 0;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			printf("ferry %s\n", FERRY_VERSION);
			return 0;
		} else {
			return ctl_usage_error(NULL, "unknown global option '%s'", a);
		}
	}
	s3_set_log(ctl_log_line);
	dp_set_log(ctl_log_line);
	if (i >= argc) {
		ctl_main_usage(stderr);
		return -EINVAL;
	}
	for (size_t v = 0; v < sizeof(ctl_verbs) / sizeof(ctl_verbs[0]); v++)
		if (!strcmp(argv[i], ctl_verbs[v].name))
			return ctl_verbs[v].run(argc - i, argv + i);
	return ctl_usage_error(NULL, "unknown verb '%s'", argv[i]);
}

int main(int argc, char **argv)
{
	return ctl_exit_code(ctl_main(argc, argv));
}
