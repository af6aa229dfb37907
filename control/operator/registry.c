// SPDX-License-Identifier: MIT
/*
 * control/operator/registry.c - the reconcilers `ferry controller` runs.
 *
 * Each capability (layer 2) declares its struct k8s_reconciler in its own
 * header; this is the one file of operator/ that includes those headers,
 * and its table the one place a reconciler is switched on. Add a line per
 * reconciler, before the NULL:
 *
 *   #include "control/cluster/cluster.h"
 *   ...
 *           &cluster_backup_reconciler,
 *
 * and its RBAC rules to k8s/deploy/controller-rbac.yaml, with a scenario in
 * tests/operator/ that uses them (the least-privilege test fails on a rule
 * no scenario uses, and on a scenario that passes without one).
 */
#include <stddef.h>

#include "control/autoscale/autoscale.h"
#include "control/bluegreen/bluegreen.h"
#include "control/cluster/cluster.h"
#include "control/lb/lb.h"
#include "control/migrate/migrate.h"
#include "control/xfer/xfer.h"
#include "operator.h"

const struct k8s_reconciler *const op_registry[] = {
	&as_reconciler,			/* ScalePolicy: control/autoscale */
	&cluster_schedule_reconciler,	/* Schedule: control/cluster */
	&cluster_backup_reconciler,	/* Backup: control/cluster */
	&cluster_restore_reconciler,	/* Restore: control/cluster */
	&cluster_repository_reconciler, /* Repository: control/cluster (backup sync) */
	&xfer_reconciler,		/* VolumeTransfer: control/xfer */
	&xfer_populate_reconciler,	/* PVC from a ferry Snapshot: control/xfer */
	&mig_reconciler,		/* Migration: control/migrate (the plan) */
	&lb_reconciler,			/* LoadBalancePolicy: control/lb (the weights) */
	&bg_reconciler,			/* StatefulSwitch: control/bluegreen */
	NULL,
};
