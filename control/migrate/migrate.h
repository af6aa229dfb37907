/* SPDX-License-Identifier: MIT */
/*
 * control/migrate/migrate.h - moving an application between clusters (issue
 * 19): the Migration resource and its plan.
 *
 * A Migration (ferry.io/v1alpha1, k8s/deploy/crd-migrations.yaml) lives in
 * the target cluster, in the controller's namespace (ferry-system), and
 * reads the source cluster through a kubeconfig held in a Secret beside it:
 *
 *   apiVersion: ferry.io/v1alpha1
 *   kind: Migration
 *   metadata: {name: shop, namespace: ferry-system}
 *   spec:
 *     source:
 *       kubeconfigSecretRef: {name: cluster-a, key: kubeconfig}
 *       context: ""               # the kubeconfig's current-context
 *       timeoutSeconds: 10        # each request to the source API server
 *     namespaces: [shop]
 *     namespaceMapping: {shop: shop-b}  # kept by default
 *     storageClassMapping: {fast-a: fast-b}
 *
 * What exists is the first stage, the plan: every problem the move would
 * meet is found before any data moves, each with its object and reason
 * (struct mig_finding), beside what would move (the volumes, their sizes,
 * their target classes, the nodes that use them). The later stages (seed,
 * sync, cutover, report) are issue 19's next steps.
 *
 * Two halves, as in control/autoscale:
 *   - the plan as a pure function of plain facts (mig_plan_make(): no I/O),
 *     table-tested;
 *   - the resource: its spec decoded (mig_spec_decode(), fuzzed), the facts
 *     gathered over both API servers and the plan written into the status
 *     (mig_reconciler, in `ferry controller`).
 * Layer 2 of control/ (control/README.md): uses k8s/ only. Errors are 0 or
 * -errno; nothing here prints.
 */
#ifndef FERRY_CTL_MIGRATE_H
#define FERRY_CTL_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s/k8s.h"

#define MIG_NAME_MAX	       253
#define MIG_MAX_NAMESPACES     64
#define MIG_MAX_CLASS_MAP      64
#define MIG_DEFAULT_TIMEOUT_S  10
#define MIG_DEFAULT_INTERVAL_S 30
#define MIG_DEFAULT_BOUND_S    60

extern const struct k8s_resource mig_migrations;

/* ------------------------------------------------------------ the spec */

struct mig_class_map {
	char from[MIG_NAME_MAX + 1], to[MIG_NAME_MAX + 1];
};

#define MIG_LABEL_MAX	  381 /* "key=value": a qualified key (317), '=', a value (63) */
#define MIG_MAX_LABEL_MAP 64

/* nodeLabelMapping: "key=value" or "key" -> the same form, or "" (dropped) */
struct mig_label_map {
	char from[MIG_LABEL_MAX + 1], to[MIG_LABEL_MAX + 1];
};

/* spec.existingResourcePolicy */
enum mig_existing {
	MIG_EXISTING_NONE,   /* "none" (default): left as the target has it (the Restore's none) */
	MIG_EXISTING_UPDATE, /* "update": made the source's (the Restore's update) */
	MIG_EXISTING_FAIL,   /* "fail": the plan refuses the move */
};

/**
 * struct mig_spec - a Migration's spec, decoded and checked
 * @secret, @secret_key: the kubeconfig Secret (in the Migration's
 *                namespace) and its key ("kubeconfig" by default)
 * @context:      the kubeconfig's context ("": its current-context)
 * @timeout_s:    each request to the source API server (1..300)
 * @namespaces:   the application's namespaces on the source (1..64,
 *                distinct DNS labels), those spec.namespaces lists, then
 *                those its selector found (mig_spec_add_namespaces())
 * @ns_selector:  spec.namespaceSelector in the string form lists take
 *                ("team=shop,tier in (web,db)"); "" none. With one,
 *                spec.namespaces may be left out
 * @target_namespaces: @target_namespaces[i] is where namespaces[i] goes
 *                (namespaceMapping; itself by default); distinct
 * @class_map:    storageClassMapping: a source class -> a target class
 * @label_map:    nodeLabelMapping (at most MIG_MAX_LABEL_MAP), handed to the
 *                seed's Restore and applied to the plan's node labels
 * @repository:   the Repository both clusters reach the same repository
 *                through, by this name in each one's ferry-system ("default")
 * @start:        seed, then sync (false: plan only)
 * @cutover:      cut over once a round converged
 * @rollback:     put the source back, until the target's workloads start
 * @sync_interval_s: between the end of a sync round and the next (1..3600, 30)
 * @cutover_bound_s: the longest cutover a converged round may predict
 *                (1..3600, 60)
 * @skip_verify:  spec.skipVerify: the target's volumes are not compared
 *                with the final snapshots after the cutover
 * @existing:     spec.existingResourcePolicy: what becomes of an object the
 *                target has already (a claim excepted: always an error)
 */
struct mig_spec {
	char secret[MIG_NAME_MAX + 1];
	char secret_key[MIG_NAME_MAX + 1];
	char context[MIG_NAME_MAX + 1];
	unsigned int timeout_s;
	char namespaces[MIG_MAX_NAMESPACES][64];
	char target_namespaces[MIG_MAX_NAMESPACES][64];
	size_t n_namespaces;
	char ns_selector[512];
	bool resolved; /* the selector's namespaces added (mig_spec_add_namespaces()) */
	struct mig_class_map class_map[MIG_MAX_CLASS_MAP];
	size_t n_class_map;
	struct mig_label_map label_map[MIG_MAX_LABEL_MAP]; /* nodeLabelMapping */
	size_t n_label_map;
	/* the stages after the plan (mig_stage_step()) */
	char repository[MIG_NAME_MAX + 1];
	/* spec.copy: the source's repository (spec.copy.from) is another, copied from into ours */
	bool copy;
	int64_t copy_bandwidth;
	bool start, cutover, rollback, skip_verify;
	enum mig_existing existing;
	unsigned int sync_interval_s;
	unsigned int cutover_bound_s;
};

/**
 * mig_spec_decode() - a Migration's spec, checked as the API server's
 * validation of the CRD would (the decoder does not rely on it)
 * @m:   the Migration
 * @why: on -EINVAL, one line naming the field ("spec.namespaces[1]: must
 *       be a DNS label")
 * Return: 0; -EINVAL.
 */
int mig_spec_decode(const struct k8s_obj *m, struct mig_spec *out, char *why, size_t len);

/**
 * mig_spec_add_namespaces() - the namespaces spec.namespaceSelector found
 * (the plan lists them on the source and records them in status.plan.
 * namespaces, which the stages read back: the set stays the planned one),
 * added to @s after those listed, each once, and namespaceMapping applied
 * to all of them again
 * @m:     the Migration @s was decoded from
 * @names: @n namespaces' names
 * @why:   on -EINVAL, one line (too many, not a DNS label, a mapping of a
 *         namespace neither listed nor selected, two going to one)
 * Return: 0; -EINVAL.
 */
int mig_spec_add_namespaces(const struct k8s_obj *m, struct mig_spec *s, const char *const *names,
			    size_t n, char *why, size_t len);

/* ------------------------------------------------------------ the facts */

enum mig_access {
	MIG_RWO = 1u << 0,
	MIG_ROX = 1u << 1,
	MIG_RWX = 1u << 2,
	MIG_RWOP = 1u << 3,
};

/* a PVC of the source, and where it is used */
struct mig_claim {
	const char *ns, *name;
	const char *target_ns;	   /* where it goes (namespaceMapping) */
	const char *storage_class; /* NULL: the cluster's default class */
	const char *phase;	   /* Bound, Pending, Lost */
	const char *volume_mode;   /* Filesystem or Block */
	int64_t bytes;		   /* status.capacity, else the request */
	unsigned int access;	   /* enum mig_access bits */
	const char *node, *zone;   /* of a pod that mounts it (NULL: none runs) */
	const char *pod;
};

struct mig_class {
	const char *name, *provisioner;
	bool is_default;
	bool wait_for_consumer; /* volumeBindingMode WaitForFirstConsumer */
};

/* a ResourceQuota of a target namespace (@ns: the target's name): its storage bounds */
struct mig_quota {
	const char *ns, *name;
	int64_t hard, used;		  /* requests.storage; -1: not bounded */
	int64_t claims_hard, claims_used; /* persistentvolumeclaims; -1: not bounded */
};

struct mig_side {
	int major, minor; /* /version; 0: unknown */
	const char *server;
	const struct mig_class *classes;
	size_t n_classes;
};

/* a node label a source pod asks for (its nodeSelector) */
struct mig_node_ask {
	const char *ns, *pod, *key, *value;
};

/*
 * a nodePort a Service holds: of the source (@kept: its author chose it, so
 * the seed's Restore keeps it: k8s_service_node_port_chosen()), or of the
 * target (@ns: the Service's namespace there)
 */
struct mig_node_port {
	const char *ns, *service;
	int64_t port;
	bool kept;
};

/* a LoadBalancer Service of the source and the address it has there */
struct mig_lb {
	const char *ns, *service;
	const char *address; /* status.loadBalancer.ingress[0] ip or hostname; NULL: none yet */
	const char *pinned;  /* spec.loadBalancerIP (deprecated, kept by the Restore); NULL */
};

/* an image pull secret a source pod names, and whether its namespace holds it */
struct mig_pull_secret {
	const char *ns, *pod, *secret;
	bool found;
};

/*
 * a custom resource kind the source's namespaces hold objects of, and what
 * the target serves of it
 */
struct mig_custom {
	const char *crd;     /* its CustomResourceDefinition: "widgets.example.io" */
	const char *kind;    /* "Widget" */
	const char *version; /* what the move carries: the source's preferred version */
	const char *ns;	     /* the first namespace holding one */
	bool target_has;     /* the target has the CRD */
	bool target_serves;  /* ... and it serves @version */
};

/* an object of the source that the target has already, by kind, namespace and name */
struct mig_object {
	const char *kind, *ns, *name; /* @ns: the source's */
};

/* a pod of the source that no node of the target would take now, and why */
struct mig_unplaced {
	const char *ns, *pod, *why;
};

/* what a cluster would not let be read (HTTP 401/403): each a NotChecked warning */
enum mig_unread {
	MIG_UNREAD_TARGET_NODES = 1u << 0,     /* list nodes: node labels */
	MIG_UNREAD_TARGET_SERVICES = 1u << 1,  /* list services: nodePort clashes */
	MIG_UNREAD_SNAPSHOT_CLASSES = 1u << 2, /* source list volumesnapshotclasses */
	MIG_UNREAD_PULL_SECRETS = 1u << 3,     /* source get secrets */
	MIG_UNREAD_TARGET_OBJECTS = 1u << 4,   /* list of the kinds in struct mig_object */
	MIG_UNREAD_CUSTOM = 1u << 5, /* source list of customresourcedefinitions, or of a kind */
	MIG_UNREAD_TARGET_CRDS = 1u << 6, /* get customresourcedefinitions */
};

/**
 * struct mig_facts - what the plan is made of, read from both clusters
 * @source_ns_found: @source_ns_found[i] for spec->namespaces[i]
 * @target_claims:   the target's PVCs in the namespaces they go to
 *                   ("ns/name"), which the move would collide with
 */
struct mig_facts {
	struct mig_side source, target;
	const bool *source_ns_found;
	const struct mig_claim *claims;
	size_t n_claims;
	const char *const *target_claims;
	size_t n_target_claims;
	const struct mig_quota *quotas;
	size_t n_quotas;
	const bool *target_ns_found; /* target_ns_found[i] for spec->namespaces[i] */
	/* the source pods' nodeSelector labels; the target nodes' labels ("key=value"),
	 * unless !target_nodes_known (the nodes could not be listed: not checked) */
	const struct mig_node_ask *asks;
	size_t n_asks;
	const char *const *target_labels;
	size_t n_target_labels;
	bool target_nodes_known;
	/* the source Services' nodePorts; the target's, unless !target_services_known
	 * (its Services could not be listed: clashes not checked) */
	const struct mig_node_port *node_ports;
	size_t n_node_ports;
	const struct mig_node_port *target_node_ports;
	size_t n_target_node_ports;
	bool target_services_known;
	const struct mig_lb *lbs;
	size_t n_lbs;
	/* the CSI drivers with a default VolumeSnapshotClass on the source (what the seed's
	 * snapshots need), unless !snapshots_known (the classes could not be listed) */
	const char *const *snapshot_drivers;
	size_t n_snapshot_drivers;
	bool snapshots_known;
	unsigned int unread; /* enum mig_unread bits */
	/* with MIG_UNREAD_CUSTOM: the custom resources the source would not let be listed
	 * ("widgets.example.io"; NULL: the CRDs themselves), and how many */
	const char *unread_custom;
	size_t n_unread_custom;
	/* the source's objects (Services, ConfigMaps, ServiceAccounts, Deployments,
	 * StatefulSets; those the cluster makes itself left out) the target has already */
	const struct mig_object *existing;
	size_t n_existing;
	/* the source's pods (one per owner; a DaemonSet's left out) that no Ready,
	 * schedulable node of the target would take with its spec as the seed's Restore
	 * rewrites it (nodeLabelMapping), unless !target_nodes_known */
	const struct mig_unplaced *unplaced;
	size_t n_unplaced;
	/* the custom resource kinds with objects in the source's namespaces */
	const struct mig_custom *customs;
	size_t n_customs;
	/* the pods' image pull secrets (none when the source would not let them be read) */
	const struct mig_pull_secret *pulls;
	size_t n_pulls;
};

/* ------------------------------------------------------------ the plan */

enum mig_severity {
	MIG_ERROR,   /* the move cannot start */
	MIG_WARNING, /* it can, with what the message says */
};

/**
 * struct mig_finding - one problem, before any data moves
 * @object: "PersistentVolumeClaim shop/data-0", "Namespace shop", "Cluster target"
 * @reason: CamelCase, stable: NamespaceNotFound, NoStorageClass,
 *          NoDefaultStorageClass, MappedClassMissing, ClaimNotBound,
 *          ClaimExists, QuotaExceeded, ReadWriteMany, TargetOlder,
 *          NodeLabelMissing (a label a pod asks for, mapped, that no target
 *          node has: Error), NodeLabelDropped (nodeLabelMapping drops it:
 *          Warning), NodePortTaken (a nodePort the Restore keeps that a
 *          target Service holds: Error), NodePortChanges (one the API
 *          server picked: the target picks another; Warning),
 *          LoadBalancerAddressChanges (Warning), LoadBalancerIPPinned
 *          (spec.loadBalancerIP, the source cloud's address: Warning),
 *          ImagePullSecretMissing (a pod's pull secret its namespace does
 *          not hold: nothing brings it along; Error), NotSnapshottable (the
 *          claim's driver has no default VolumeSnapshotClass on the source:
 *          Error), ObjectExists (an object the target has already: an
 *          Error with existingResourcePolicy fail, else a Warning saying
 *          what becomes of it), NoNodeFits (no node of the target would take
 *          a pod now, its nodeSelector, required node affinity and
 *          tolerations rewritten: Warning, as an autoscaler may add one),
 *          CRDMissing (objects of a custom resource the
 *          target has no CRD for: Error), APIVersionMissing (its CRD there does
 *          not serve the version the move carries: Error), NotChecked (a check
 *          left out because a cluster refused
 *          the read: the message names the right to grant; Warning)
 */
struct mig_finding {
	enum mig_severity severity;
	char object[2 * MIG_NAME_MAX + 32];
	char reason[32];
	char message[384];
};

/* one volume that would move */
struct mig_volume {
	const struct mig_claim *claim;	     /* borrowed from the facts */
	char target_class[MIG_NAME_MAX + 1]; /* "": the target's default, unknown */
};

struct mig_plan {
	struct mig_volume *volumes;
	size_t n_volumes;
	int64_t bytes;
	struct mig_finding *findings;
	size_t n_findings;
	size_t n_errors;
};

/**
 * mig_plan_make() - the plan of @spec on @facts, deterministic (findings in
 * the order of the namespaces, then the claims as given, then the quotas)
 * Return: 0; -ENOMEM. Free with mig_plan_fini() (also after an error).
 */
int mig_plan_make(const struct mig_spec *spec, const struct mig_facts *facts, struct mig_plan *out);

/*
 * mig_node_label() - a node label through @spec's nodeLabelMapping, as the
 * seed's Restore maps it (ctl_label_map(); k8s_label_map_fn's contract, @spec
 * as its argument): 1 mapped, 0 unchanged, -1 dropped
 */
int mig_node_label(const void *spec, const char *key, const char *value, char *nk, size_t nk_len,
		   char *nv, size_t nv_len, const char **pv);
void mig_plan_fini(struct mig_plan *p);

const char *mig_severity_name(enum mig_severity s);

/* mig_human_bytes() - "64 MiB", "1.5 GiB": sizes as messages and tables show them */
void mig_human_bytes(int64_t b, char *buf, size_t len);

/**
 * mig_plan_status() - the plan as the Migration's status.plan (a new
 * object): sourceServer, sourceVersion, targetVersion, volumes [{namespace,
 * claim, bytes, storageClass, targetStorageClass, accessModes, node, zone}],
 * bytes, findings [{severity, object, reason, message}], errors, warnings.
 * Return: 0; -ENOMEM.
 */
int mig_plan_status(const struct mig_plan *p, const struct mig_facts *facts, struct k8s_obj **out);

/* ------------------------------------------------------------ the controller */

/* The Migration reconciler (registered in control/operator/registry.c). */
extern const struct k8s_reconciler mig_reconciler;

/* ------------------------------------------------------------ the stages */

/*
 * After the plan, with spec.start (mig_stage_step(), stages.c):
 *
 *   Seeding      a Backup "<name>-seed" of spec.namespaces in the source's
 *                ferry-system (the source's ferry backs it up into the
 *                repository both share); once this cluster's backup sync
 *                has it, a Restore "<name>" here (namespaceMapping,
 *                storageClassMapping, the volumes through the populator,
 *                scaleWorkloadsToZero); status.volumes: what each target
 *                claim holds (its snapshot id)
 *   Syncing      round N: a Backup "<name>-r<N>" of the claims alone in the
 *                source (changed blocks), then per volume whose snapshot
 *                moved a VolumeTransfer "<name>-r<N>-<i>" here that writes
 *                the new snapshot over the target claim as a delta onto the
 *                one it holds (control/xfer "Writing over a claim");
 *                status.rounds[] with each round's bytes and seconds and
 *                mig_round_verdict()'s word on it; the next round
 *                spec.syncIntervalSeconds later
 *   CuttingOver  with spec.cutover, after a round that converged: the
 *                source's Deployments and StatefulSets fenced (annotated
 *                ferry.io/migration, ferry.io/migration-replicas, the
 *                autoscaler's ferry.io/autoscaling-paused; scaled to zero;
 *                one scaled back up pauses the cutover, said in the
 *                message); once no pod of the source uses a claim, a final
 *                Backup "<name>-final", the final deltas, the target's
 *                workloads scaled to their ferry.io/restore-replicas;
 *                status.cutover: each instant and the parts in seconds
 *   (while a Backup moves) status.progress, the live table: a row per
 *                volume (stage Backup in the source or Write here, the
 *                transfer's state, bytes, rate, time left), written when a
 *                row moved; status.volumes[] keep seedBytes, syncBytes and
 *                finalBytes
 *   Completed    the target's workloads ready
 *   RolledBack   spec.rollback before the target's workloads were started:
 *                the source's workloads back at their replicas, unfenced
 *   Failed       a Backup, the Restore or a transfer failed (the message)
 */
#define MIG_ANN_MIGRATION "ferry.io/migration"
#define MIG_ANN_REPLICAS  "ferry.io/migration-replicas"
#define MIG_ANN_PAUSED	  "ferry.io/autoscaling-paused"
#define MIG_ANN_RESTORED  "ferry.io/restore-replicas" /* the Restore's, with scaleWorkloadsToZero */
#define MIG_ROUND_FLOOR	  (1 << 20) /* bytes: rounds this close count as equal whatever their size */

/* a sync round: what it wrote onto the target's volumes, and how long it took */
struct mig_round {
	int64_t bytes;
	double seconds;
};

enum mig_verdict {
	MIG_ROUND_FIRST,     /* nothing to compare with */
	MIG_ROUND_CONVERGED, /* within 10 % (or MIG_ROUND_FLOOR) of the round before */
	MIG_ROUND_SHRINKING, /* less than the round before, by more */
	MIG_ROUND_GROWING,   /* more: the application writes faster than rounds apply */
	MIG_ROUND_TOO_SLOW,  /* the round took longer than the cutover's bound */
};

/**
 * mig_round_verdict() - the word on round @cur after @prev (NULL: the first),
 * a cutover being predicted to take about as long as @cur did
 * @why: one line saying why, with the figures
 */
enum mig_verdict mig_round_verdict(const struct mig_round *prev, const struct mig_round *cur,
				   unsigned int bound_s, char *why, size_t len);
/* "Converged", "NotConverging", ...: status.rounds[].verdict */
const char *mig_verdict_name(enum mig_verdict v);

/**
 * mig_live_rate() - a row of the live table (status.progress): @done of
 * @total bytes, at @mbps (the transfer's own MB/s; 0: none) or else at @done
 * over the time from @start_ns to @now_ns (0: unknown). *@bps: bytes a
 * second (0: none yet); *@eta_s: seconds left at that rate (0: done; -1:
 * unknown).
 */
void mig_live_rate(int64_t done, int64_t total, double mbps, int64_t start_ns, int64_t now_ns,
		   double *bps, int64_t *eta_s);

/**
 * mig_stage_step() - one step of the Migration req->obj past its plan, the
 * source reached with @src: what the phase asks for next (see above), the
 * status written when it changed, @res's reason (the phase), message and
 * requeue set. A Migration Planned without spec.start is left alone.
 * Return: 0; -errno of an API call (@err: retried by the runtime).
 */
int mig_stage_step(const struct k8s_reconcile_req *req, const struct mig_spec *spec,
		   struct k8s_client *src, struct k8s_reconcile_res *res, struct k8s_err *err);
/* whether @phase is one of the stages' (Seeding .. Failed) */
bool mig_staged(const char *phase);

#endif
