/* SPDX-License-Identifier: MIT */
/*
 * control/operator/operator.h - `ferry controller`, the controller's process
 * (a Deployment of two replicas, one leader), and the runtime it runs the
 * reconcilers in. Layer 3 of control/ (control/README.md): it sees
 * control/cli, control/httpd and k8s/, and the capabilities' headers
 * (layer 2) through the registry; control/main.c is its only caller.
 *
 *   cmd_controller.c  the verb: options, configuration, the leader Lease,
 *                     /metrics /healthz /readyz, signals, exit codes
 *   manager.c         the runtime: shared informers -> per-reconciler work
 *                     queues -> workers -> reconcile -> status.conditions
 *   metrics.c         the Prometheus text of the process and the runtime
 *   registry.c        the table of reconcilers the controller runs
 *   cmd_autoscale.c   `ferry autoscale`: ScalePolicies as kubectl shows HPAs
 *   cmd_migrate.c     `ferry migrate plan|status`: Migrations and their plans
 *   cmd_lbpolicy.c    `ferry lb get|describe`: LoadBalancePolicies and their weights
 *   cmd_appbackup.c   `ferry backup|restore create|get|describe`: Backups and
 *                     Restores with Velero's flags
 *   cmd_switch.c      `ferry switch start|status|promote|abort|rollback|list`:
 *                     StatefulSwitches (blue/green with the volumes)
 *   verbs.c           what those verbs share (verbs.h, private): the
 *                     options --kubeconfig, --context, -n, -A, the client
 *                     they open, ages and the status.conditions table
 *
 * A reconciler is a struct k8s_reconciler (k8s/k8s.h): a capability declares
 * one with its watches and its reconcile function, includes nothing of
 * operator/, and is added to op_registry[] in registry.c (the only file here
 * that includes the capabilities' headers). The runtime runs them only
 * while this process leads.
 *
 * Threads: op_manager_start() starts the reconcilers' workers (and the
 * informers on the client's I/O thread); op_manager_synced() and
 * op_manager_metrics() may be called from any thread while the manager
 * lives; op_manager_stop() from the thread that started it.
 */
#ifndef FERRY_CTL_OPERATOR_H
#define FERRY_CTL_OPERATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "k8s/k8s.h"

/*
 * ctl_cmd_controller() - `ferry controller [OPTIONS]` (argv[0] is the verb):
 * run until SIGTERM/SIGINT. Return: 0 (stopped, the Lease released);
 * -ENOLCK (leadership lost: the renew deadline passed; exit code 11);
 * the -errno of a configuration or API failure, printed (ferry's exit codes:
 * 2 usage or configuration, 8 refused: 401/403/untrusted CA, 9 the API
 * server cannot be reached).
 */
int ctl_cmd_controller(int argc, char **argv);

/*
 * ctl_cmd_autoscale() - `ferry autoscale create|get|describe` (argv[0] is the
 * verb): ScalePolicies as kubectl shows HPAs (cmd_autoscale.c). Return: 0 or
 * the -errno printed (usage, configuration, the API server's refusal).
 */
int ctl_cmd_autoscale(int argc, char **argv);

/**
 * ctl_cmd_migrate() - `ferry migrate plan|status` (argv[0] is the verb):
 * Migrations of this (the target) cluster (cmd_migrate.c). Return: 0 or
 * -errno, its error line printed.
 */
int ctl_cmd_migrate(int argc, char **argv);

/**
 * ctl_cmd_lb_policy() - `ferry lb get [NAME] [-A] [--json]` and `ferry lb
 * describe NAME` (argv[0] is "lb"): LoadBalancePolicies and the weights
 * their status publishes (cmd_lbpolicy.c; `ferry lb status|disable` are the
 * agent's, control/main.c routes the words). Return: 0 or -errno, its error
 * line printed (-ENOENT, exit 3: no such policy).
 */
int ctl_cmd_lb_policy(int argc, char **argv);

/**
 * ctl_cmd_switch() - `ferry switch start|status|promote|abort|rollback|list`
 * (argv[0] is the verb): StatefulSwitches, the blue/green switches of a
 * StatefulSet with its volumes (cmd_switch.c; the controller is
 * control/bluegreen/). Every value is checked before anything is sent.
 * Return: 0; -EINVAL (usage, printed, exit 2: nothing sent); -EEXIST (start:
 * a switch of that name exists, exit 6); -EBUSY (promote, abort, rollback of
 * a switch that ended, exit 6); -ENOENT (no such switch, exit 3); the API
 * server's -errno, printed.
 */
int ctl_cmd_switch(int argc, char **argv);

/*
 * ctl_cmd_backup_cluster(), ctl_cmd_restore_cluster() - `ferry backup
 * create|get|describe` and `ferry restore create|get|describe` on the
 * cluster's Backup and Restore objects (cmd_appbackup.c): argv[0] is the
 * word. Velero's flags, checked by the controller's own decoders before
 * anything is sent; --wait follows the object to its final phase. Return:
 * 0; -EINVAL (usage, printed, exit 2); -EPROTO (--wait: it ended
 * FailedValidation, Failed or PartiallyFailed, the reason printed, exit 1);
 * the API server's -errno, printed.
 */
int ctl_cmd_backup_cluster(int argc, char **argv);
int ctl_cmd_restore_cluster(int argc, char **argv);
/* ctl_cmd_schedule() - `ferry schedule create|get|describe|pause|unpause|delete` (argv[0]
 * is "schedule"): a cluster's Schedules, the template built from `backup create`'s flags */
int ctl_cmd_schedule(int argc, char **argv);

/*
 * op_registry - the reconcilers `ferry controller` runs, NULL-terminated
 * (registry.c): ScalePolicy (control/autoscale), Schedule and Backup
 * (control/cluster), VolumeTransfer and the Snapshot populator (control/xfer),
 * Migration (control/migrate), LoadBalancePolicy (control/lb).
 */
extern const struct k8s_reconciler *const op_registry[];

struct op_manager;

/**
 * struct op_manager_opts - what the runtime runs, and with what
 * @sz:          sizeof(struct op_manager_opts)
 * @client:      borrowed until op_manager_stop(); fenced by the caller's
 *               lease (k8s_lease_fence()) so that writes stop with it
 * @own_ns:      the controller's namespace (k8s_watch.own_ns watches it)
 * @identity:    this process's identity (k8s_reconcile_req.identity)
 * @reconcilers: NULL-terminated, borrowed until op_manager_stop() (static)
 */
struct op_manager_opts {
	size_t sz;
	struct k8s_client *client;
	const char *own_ns;
	const char *identity;
	const struct k8s_reconciler *const *reconcilers;
};

/**
 * op_manager_start() - set up every reconciler, start its informers and its
 * workers
 * @out: stopped and freed with op_manager_stop()
 * @err: on failure, which reconciler and why
 *
 * Return: 0; -EINVAL (a reconciler that is malformed: no name, a name used
 * twice, no watch, a primary not mapped to itself, K8S_MAP_FN without
 * map_fn, no reconcile function); the -errno of a setup() that failed;
 * -ENOMEM. On failure nothing is left running.
 */
int op_manager_start(const struct op_manager_opts *o, struct op_manager **out, struct k8s_err *err);

/*
 * op_manager_report() - log each informer's failure (a 403 of its list or
 * watch: the verb to grant) once per cause; the informers retry by
 * themselves. Called by the main loop, the one thread that calls it.
 */
void op_manager_report(struct op_manager *m);

/* op_manager_synced() - whether every informer has its first list in cache */
bool op_manager_synced(struct op_manager *m);

/**
 * op_manager_wait_synced() - wait until op_manager_synced()
 * Return: 0; -ETIMEDOUT (@err names the informer that is not).
 */
int op_manager_wait_synced(struct op_manager *m, unsigned int timeout_ms, struct k8s_err *err);

/**
 * op_manager_metrics() - the runtime's series in Prometheus text, per
 * reconciler (reconcile counts, errors, durations, queue depth, adds,
 * retries, active workers, condition writes) and per informer (objects,
 * events, failures); HELP and TYPE lines even with no reconciler
 */
void op_manager_metrics(struct op_manager *m, FILE *f);

/* Per-reconciler counters, for tests and metrics (op_manager_counts()). */
struct op_counts {
	unsigned long long success, errors, adds, retries, condition_writes, condition_errors;
	size_t depth;
};
/* op_manager_counts() - the counters of reconciler @name; -ENOENT if none */
int op_manager_counts(struct op_manager *m, const char *name, struct op_counts *out);

/**
 * op_manager_stop() - stop and free; NULL is a no-op
 *
 * The work queues refuse new keys, the workers finish the reconcile they
 * are in (a blocking call runs to its deadline), then the informers stop
 * and each reconciler's teardown runs. Call before releasing the lease, so
 * that no reconcile of this process overlaps the next leader's.
 */
void op_manager_stop(struct op_manager *m);

/* Prometheus text helpers shared by the files here (metrics.c). */
void op_prom_head(FILE *f, const char *name, const char *type, const char *help);
/* a label value with \, " and newlines escaped as the text format wants */
void op_prom_label(FILE *f, const char *value);
/* process_* series: CPU seconds, resident and virtual memory, start time, fds */
void op_prom_process(FILE *f);
/* ferry_backup_*, ferry_restore_total, ferry_repository_prune* (control/cluster/cluster.h "METRICS") */
void op_prom_cluster(FILE *f);

#endif /* FERRY_CTL_OPERATOR_H */
