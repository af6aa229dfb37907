/* SPDX-License-Identifier: MIT */
/*
 * control/migrate/migrate_priv.h - what the Migration reconciler
 * (migrate_ctl.c) and its gathering of the facts (gather.c) share; not a
 * public header (migrate.h is the module's).
 */
#ifndef FERRY_CTL_MIGRATE_PRIV_H
#define FERRY_CTL_MIGRATE_PRIV_H

#include "migrate.h"

#define MIG_N_KINDS 5 /* gather.c: the kinds compared for objects the target has already */

/* what the gathering keeps alive while the plan is made */
struct gather {
	struct k8s_obj *src_version, *dst_version;
	struct k8s_items *src_classes, *dst_classes, *nodes;
	struct k8s_items *claims[MIG_MAX_NAMESPACES], *pods[MIG_MAX_NAMESPACES];
	struct k8s_items *dst_claims[MIG_MAX_NAMESPACES], *dst_quotas[MIG_MAX_NAMESPACES];
	bool src_ns[MIG_MAX_NAMESPACES], dst_ns[MIG_MAX_NAMESPACES];
	struct mig_class *scl, *dcl;
	struct mig_claim *cl;
	size_t ncl;
	char **dst_keys;
	size_t ndst_keys;
	struct mig_quota *q;
	size_t nq;
	struct mig_node_ask *asks; /* borrowed from pods[] */
	size_t nasks;
	struct k8s_items *dst_nodes; /* NULL: not listed (no right to): not checked */
	char **tlabels;		     /* the target nodes' labels, "key=value" */
	size_t ntl;
	struct k8s_items *svcs[MIG_MAX_NAMESPACES], *dst_svcs; /* dst_svcs NULL: not listed */
	struct mig_node_port *nps, *tnps;
	size_t nnps, ntnps;
	struct mig_lb *lbs;
	size_t nlbs;
	struct mig_pull_secret *pulls;
	size_t npulls;
	struct k8s_items *src_vsc; /* the source's VolumeSnapshotClasses */
	const char **sdrivers;	   /* their drivers, of the default ones; borrowed from src_vsc */
	size_t nsd;
	bool snaps_known;
	unsigned int unread; /* enum mig_unread */
	const char
		*unread_custom; /* the first custom resource not listed (borrowed from src_crds) */
	size_t n_unread_custom;
	/* each kind of mig_kinds in each namespace: the source's (services in svcs[]), the target's */
	struct k8s_items *src_objs[MIG_N_KINDS][MIG_MAX_NAMESPACES];
	struct k8s_items *dst_objs[MIG_N_KINDS][MIG_MAX_NAMESPACES];
	struct mig_object *ex;
	size_t nex;
	struct k8s_items *src_crds;
	struct mig_custom *cus; /* borrowed from src_crds */
	size_t ncus;
	struct mig_unplaced *unpl; /* borrowed from pods[] */
	size_t nunpl;
};

/*
 * gather_source() - what the source says (@src; @server for messages): its
 * /version, storage and snapshot classes, nodes, custom resources, and in
 * each namespace of @spec its claims, pods, Services, ConfigMaps,
 * ServiceAccounts, workloads and the pods' pull secrets. A refusal of a read
 * a check alone needs is g->unread, not a failure.
 * Return: 0; -errno with @err's reason (source_fail()).
 */
int gather_source(struct k8s_client *src, const char *server, const struct mig_spec *spec,
		  struct gather *g, struct k8s_err *err);
/*
 * gather_target() - what the target (@dst, this cluster) says: its /version,
 * classes, nodes, every namespace's Services, and in each target namespace its
 * claims, quotas and the objects it has already; then what it serves of the
 * source's custom resources. Return: 0; -errno (@err).
 */
int gather_target(struct k8s_client *dst, const struct mig_spec *spec, struct gather *g,
		  struct k8s_err *err);
/* gather_facts() - @g as the plan's facts (borrowed from @g) */
void gather_facts(const struct gather *g, const char *server, struct mig_facts *f);
/* gather_fini() - what @g holds freed; a zeroed @g is fine */
void gather_fini(struct gather *g);
/* source_fail() - a source request's failure @e into @err, with the reason the condition shows */
int source_fail(const char *server, const struct mig_spec *spec, const char *what,
		const struct k8s_err *e, struct k8s_err *err);

/*
 * live.c: status.progress, the live table (migrate.h, the stages). Rows
 * go into @rows ({"v": [...]}, live_new()); live_set() writes them into
 * @patch only when a row's bytes or state moved (@dirty set then), or clears
 * status.progress when @rows is NULL or empty. -ENOMEM.
 */
struct live_in {
	const char *stage, *ns, *pvc, *state; /* state NULL: Pending */
	int64_t done, total;
	double mbps;	   /* the transfer's own rate (0: none) */
	const char *start; /* RFC 3339: the rate's start when it has none */
	const char *node;  /* where it runs (the transfer's status.node); NULL: not said */
};

int live_new(struct k8s_obj **rows);
int live_row(struct k8s_obj *rows, const struct live_in *in, int64_t now_ns);
/* the row of VolumeTransfer @vt (NULL: not made yet) moving claim @ns/@pvc */
int live_transfer(struct k8s_obj *rows, const char *stage, const char *ns, const char *pvc,
		  const struct k8s_obj *vt, int64_t now_ns);
/* the VolumeTransfers the source's Backup @b made there (its uid label). Return: 0; -errno */
int mig_source_transfers(struct k8s_client *src, const struct k8s_obj *b, struct k8s_items **out);
/* a row (stage Backup) per VolumeTransfer @vts the source's Backup made there (NULL: none) */
int live_source(const struct k8s_items *vts, struct k8s_obj *rows, int64_t now_ns);
/* a row (stage Write) per volume of the Restore @r here */
int live_restore(const struct k8s_obj *r, struct k8s_obj *rows, int64_t now_ns);
int live_set(const struct k8s_obj *m, struct k8s_obj *patch, const char *label,
	     const struct k8s_obj *rows, int64_t now_ns, bool *dirty);

#endif
