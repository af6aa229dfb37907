/* SPDX-License-Identifier: MIT */
/*
 * control/xfer/xfer.h - one volume's transfer in a cluster (layer 1 of
 * control/: the Backup and Restore reconcilers, migration and blue/green use
 * it). A VolumeTransfer (ferry.io/v1alpha1, k8s/deploy/crd-volumetransfers.yaml)
 * in ferry-system names a PVC; the controller's side (xfer_step()) reaches its
 * blocks without a data-mover pod:
 *
 *   VolumeSnapshot of the PVC in its namespace
 *   -> a VolumeSnapshotContent that points at the same snapshot handle
 *      (deletionPolicy Retain, the volume-mode-change annotation) and its
 *      VolumeSnapshot in ferry-system, owned there
 *   -> a Block-mode PVC from that copy, owned by the VolumeTransfer
 *   -> a holder pod (ferry's image, unprivileged, pinned by node affinity)
 *   -> status.phase Attaching, status.node, status.holder, the label
 *      ferry.io/node: the agent of that node opens the published device and
 *      runs the datapath job (Running, then Completed or Failed)
 *   -> cleanup: pod, PVC, both snapshots and the content copy deleted (a
 *      Completed backup's source snapshot may be kept as the claim's base:
 *      "Changed blocks" below); status.cleanedUp once none is left.
 *
 * Names are deterministic, "ferry-<VolumeTransfer uid>" for every object, so
 * a restarted controller finds what it made; the objects in ferry-system are
 * owned by the VolumeTransfer (deleting it deletes them), the source snapshot
 * (another namespace) and the content (cluster-scoped) are found by name.
 *
 * The agent's side: xfer_device_path() (where the kubelet publishes the
 * holder's block volume) and the status fields (xfer_status_*()).
 *
 * Errors: 0 or -errno with @err filled (k8s/k8s.h's table); -EINVAL for a
 * VolumeTransfer whose spec cannot be done (its message in @err->msg).
 * Threads: every function may run on any thread but the client's I/O thread.
 */
#ifndef FERRY_CTL_XFER_H
#define FERRY_CTL_XFER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s/k8s.h"

#define XFER_NS		   "ferry-system"
#define XFER_LABEL_NODE	   "ferry.io/node"
#define XFER_LABEL_XFER	   "ferry.io/volumetransfer"
#define XFER_FINALIZER	   "ferry.io/volumetransfer-cleanup"
#define XFER_MODE_CHANGE   "snapshot.storage.kubernetes.io/allow-volume-mode-change"
#define XFER_IMAGE	   "ferry.io/ferry:0.1.0"
#define XFER_DEVICE_PATH   "/dev/ferry-volume"
#define XFER_KUBELET_DIR   "/var/lib/kubelet"
#define XFER_NAME_SIZE	   64
#define XFER_VOLUME_SIZE   512
#define XFER_PER_NODE	   4	/* transfers an agent runs at once (issue 15) */
#define XFER_STATUS_PERIOD 1000 /* ms: at most one status write a second */

/*
 * The freeze (status.freeze.state): a backup of a Filesystem claim that a
 * Running pod mounts asks the agent of that pod's node to FIFREEZE the mount
 * (Requested); the agent says Frozen (or Failed, why in message); the
 * controller cuts the snapshot, then asks for the thaw (ThawRequested) once
 * it is cut; the agent thaws (Thawed, frozenMilliseconds), and at the latest
 * XFER_FREEZE_HOLD_S after the freeze whatever it was told. Skipped: not
 * frozen (a Block volume, no pod mounts it, the claim's annotation
 * ferry.io/freeze: "false", the transfer's spec.freeze false, or no agent
 * answered within XFER_FREEZE_WAIT_S):
 * the snapshot is crash-consistent.
 */
#define XFER_ANN_FREEZE	      "ferry.io/freeze"
#define XFER_FREEZE_REQUESTED "Requested"
#define XFER_FREEZE_FROZEN    "Frozen"
#define XFER_FREEZE_THAW      "ThawRequested"
#define XFER_FREEZE_THAWED    "Thawed"
#define XFER_FREEZE_FAILED    "Failed"
#define XFER_FREEZE_SKIPPED   "Skipped"
#define XFER_FREEZE_WAIT_S    15
#define XFER_FREEZE_HOLD_S    30

/* The phases of status.phase, in order. */
#define XFER_PENDING	  "Pending"
#define XFER_SNAPSHOTTING "Snapshotting"
#define XFER_ATTACHING	  "Attaching"
#define XFER_RUNNING	  "Running"
#define XFER_COMPLETED	  "Completed"
#define XFER_FAILED	  "Failed"

/*
 * Changed blocks (spec.changedBlocks, README.md "Changed blocks"): a backup
 * transfer of mode auto whose volume's driver has a SnapshotMetadataService
 * keeps its source VolumeSnapshot once Completed, as the base of the next
 * transfer of the same claim and repository: labelled XFER_CBT_LABEL with
 * xfer_cbt_key(), annotated with the repository volume, the repository
 * snapshot it stands for and its content's snapshot handle. One base per
 * claim and repository: a Completed backup deletes every other.
 */
#define XFER_CBT_AUTO	  "auto" /* changed blocks from the driver when it can */
#define XFER_CBT_HASH	  "hash" /* read everything, store only new chunks; no base kept */
#define XFER_CBT_NONE	  "none" /* as hash (the spelling that says: off) */
#define XFER_CBT_LABEL	  "ferry.io/cbt-base"
#define XFER_CBT_VOLUME	  "ferry.io/cbt-volume"
#define XFER_CBT_SNAPSHOT "ferry.io/cbt-snapshot-id"
#define XFER_CBT_HANDLE	  "ferry.io/cbt-snapshot-handle"
#define XFER_CBT_REPO	  "ferry.io/cbt-repository"
#define XFER_CBT_KEY_SIZE 17

/*
 * status.changedBlocks.fallback of a transfer that read everything (the
 * agent's, or the controller's when it knew first); status.changedBlocks.reason
 * says it in words.
 */
#define XFER_CBT_OFF	      "Disabled"  /* mode hash or none */
#define XFER_CBT_NO_SERVICE   "NoService" /* the driver has no SnapshotMetadataService */
#define XFER_CBT_NO_BASE      "NoBase"	  /* no base snapshot kept for the claim */
#define XFER_CBT_NO_PARENT    "NoParent"  /* the volume's first backup: nothing to list against */
#define XFER_CBT_PARENT_MOVED "ParentMismatch" /* the base is not the volume's newest snapshot */
#define XFER_CBT_CALL_FAILED  "DeltaFailed"    /* GetMetadataDelta failed */
#define XFER_CBT_LIST_REFUSED "ListRefused" /* the backup refused the list (a size that differs) */

/*
 * What a volume holds (datapath/FORMAT.md "Target stamps"): the stamp text
 * of the last restore written onto it, kept as this annotation of its PV.
 * The populator's PV gets the stamp of the restore that filled it; a
 * restore written over a claim (spec.target.overwrite) starts from the
 * annotation (status.stamp) and leaves the agent's new stamp there, clean
 * or dirty, Completed or Failed. A delta (spec.onto) is written only onto a
 * volume whose stamp is clean and names spec.onto; a volume that a pod
 * mounted since holds more than its stamp says: only the transfers'
 * callers can know (a migration's target stays at zero replicas).
 */
#define XFER_ANN_STAMP "ferry.io/stamp"

extern const struct k8s_resource xfer_volumetransfers, xfer_snapshots;
/* cbt.storage.k8s.io SnapshotMetadataServices (cluster-scoped, named after the driver) */
extern const struct k8s_resource xfer_snapmeta_services;
/* ferry.io Repositories, read by the populator (the controller's own rules) */
extern const struct k8s_resource xfer_repositories;

/**
 * struct xfer_repo_ref - how a repository is reached (repo_conn.c): a
 * Repository's spec, or the copy of it in a VolumeTransfer's spec.repository
 * (name, url, endpoint, region, caBundle: base64 PEM, passwordSecretRef,
 * credentialsSecretRef{name, accessKeyIdKey, secretAccessKeyKey}); the
 * Secrets are in ferry-system. Every string is borrowed from the object read.
 */
struct xfer_repo_ref {
	const char *name, *url, *endpoint, *region, *ca_bundle;
	const char *password_secret, *password_key;
	const char *creds_secret, *access_key_key, *secret_key_key;
	uint64_t limit_upload, limit_download; /* bytes a second, 0: none (s3:// stores) */
};

struct s3_store;

/* xfer_repo_ref_of_repository() - @r from a Repository object (spec.passwordSecret, ...) */
void xfer_repo_ref_of_repository(const struct k8s_obj *repository, struct xfer_repo_ref *r);
/* xfer_repo_ref_of_transfer() - @r from a VolumeTransfer's spec.repository */
void xfer_repo_ref_of_transfer(const struct k8s_obj *vt, struct xfer_repo_ref *r);
/* xfer_repo_ref_at() - @r from the object at @base of @vt, shaped as spec.repository (spec.from) */
void xfer_repo_ref_at(const struct k8s_obj *vt, const char *base, struct xfer_repo_ref *r);
/* xfer_repo_ref_set() - @r into @vt's spec.repository. Return: 0; -ENOMEM. */
int xfer_repo_ref_set(struct k8s_obj *vt, const struct xfer_repo_ref *r);

/**
 * xfer_repo_store_open() - the store @r names, opened with its endpoint,
 * region, CA bundle and the keys of its credentials Secret (AWS_ACCESS_KEY_ID
 * and AWS_SECRET_ACCESS_KEY unless it names others); without a Secret, the
 * process's own credentials (a workload identity, the environment). Secrets
 * are wiped once the store holds them; never logged.
 * Return: 0 (*@out to s3_store_free()); 1 refused, why in @msg (no URL, a
 * missing Secret or key, a caBundle that is not base64, a URL or credentials
 * the store refuses); -ENOMEM; -errno of the API server (@err).
 */
int xfer_repo_store_open(struct k8s_client *c, const struct xfer_repo_ref *r, struct s3_store **out,
			 char *msg, size_t mlen, struct k8s_err *err);
/**
 * xfer_repo_password() - the password of @r's Secret, without one trailing
 * newline; *@pw NULL when @r names none. Free with k8s_secret_free().
 * Return: 0; 1 refused (@msg); -ENOMEM; -errno of the API server (@err).
 */
int xfer_repo_password(struct k8s_client *c, const struct xfer_repo_ref *r, char **pw, size_t *len,
		       char *msg, size_t mlen, struct k8s_err *err);

/**
 * xfer_name() - "ferry-<uid>", the name of every object made for the
 * VolumeTransfer of @uid. Return: 0; -EINVAL (no uid, too long).
 */
int xfer_name(const char *uid, char name[XFER_NAME_SIZE]);

/**
 * xfer_volume_name() - "k8s/<cluster id>/<namespace>/<pvc>", the cluster id
 * being the kube-system namespace's uid (read with @c)
 * Return: 0; -ENAMETOOLONG; errors of the read.
 */
int xfer_volume_name(struct k8s_client *c, const char *ns, const char *pvc, char *buf, size_t len,
		     struct k8s_err *err);

/**
 * xfer_cbt_key() - the XFER_CBT_LABEL value of the base of claim @ns/@pvc in
 * the repository @url: 16 hex digits of FNV-1a 64 of "<ns>/<pvc>\n<url>"
 */
void xfer_cbt_key(const char *ns, const char *pvc, const char *url, char key[XFER_CBT_KEY_SIZE]);

/* xfer_cbt_mode() - spec.changedBlocks of @vt (a static string; absent or unknown: auto) */
const char *xfer_cbt_mode(const struct k8s_obj *vt);

/**
 * struct xfer_result - where xfer_step() left a VolumeTransfer
 * @phase:      the phase it is in now (a static string)
 * @requeue_ms: call again after this long (0: nothing to wait for)
 * @done:       finished and cleaned up: nothing left that pins storage
 */
struct xfer_result {
	const char *phase;
	unsigned int requeue_ms;
	bool done;
};

/**
 * xfer_step() - bring the VolumeTransfer @vt (as read) one step further
 *
 * Idempotent: each call looks up what exists (by name) and makes the next
 * missing object; its first call puts the finalizer XFER_FINALIZER on the
 * transfer, so that a deleted transfer is cleaned up here too (then the
 * finalizer goes, and @res->done); it returns without waiting (@res->requeue_ms says when to
 * look again). A spec that cannot be done (no such PVC, a claim not bound,
 * no snapshot of it possible) sets phase Failed with the reason, then cleans
 * up like a finished transfer. Return: 0; -errno of an API call (retry).
 *
 * A restore written over a claim (direction restore, spec.target with
 * overwrite: true, spec.snapshotID, and spec.onto for a delta): the claim
 * must be Bound to a CSI volume and used by no pod (else Failed, naming
 * the pod). Pending with status.stamp (the PV's XFER_ANN_STAMP); a PV
 * "ferry-<uid>" (the same CSI handle in Block mode, Retain) pre-bound to a
 * Block PVC of that name in ferry-system; the holder pod, placed by that
 * PV's node affinity; Attaching. The agent restores, or applies the delta
 * onto the stamped snapshot (datapath dp_restore_opts.onto: only the chunks
 * that differ), and writes the stamp it leaves into status.stamp. Completed
 * or Failed: the stamp goes onto the claim's PV, then the holder, the Block
 * PVC and its PV (the data stays: Retain) are deleted.
 *
 * A copy (direction XFER_DIR_COPY: xfer_copy.c) moves the repository
 * snapshot spec.snapshotID of spec.from into spec.repository (`ferry copy`'s
 * job: shared keys move blobs as they are) with no claim, snapshot or
 * holder: the controller places it on spec.node, else on the Ready,
 * schedulable node with the fewest transfers Attaching or Running (ties by
 * name), and sets Attaching there; that node's agent runs the copy, its
 * stores capped at spec.bandwidth bytes a second each way (s3://).
 */
#define XFER_DIR_COPY "copy"
int xfer_step(struct k8s_client *c, const struct k8s_obj *vt, struct xfer_result *res,
	      struct k8s_err *err);

/**
 * xfer_populate_step() - fill the claim @pvc (as read) whose spec.dataSourceRef
 * names a ferry Snapshot (ferry.io/v1alpha1, its namespace): the restore as a
 * volume populator, one step per call as xfer_step()
 *
 * Once the claim has a node (volume.kubernetes.io/selected-node, written by
 * the scheduler for a WaitForFirstConsumer class): a VolumeTransfer
 * "ferry-<claim uid>" of direction restore in ferry-system, a Block PVC' of
 * the claim's class and size with that selected node, the holder pod pinned
 * there; the transfer is assigned to that node's agent, which writes and
 * verifies every chunk. Then the rebind: the holder goes, PV' is set to
 * Retain, a PV "pvc-<claim uid>" with PV's volume handle in the claim's
 * volume mode is made pre-bound to the claim (claimRef with its uid), PVC'
 * and PV' are deleted (the data stays: Retain), and the claim binds only
 * now, its data complete. A claim that is Bound is done (the transfer is
 * deleted). A Snapshot that does not exist, or a failed restore, fails the
 * transfer with its message (the claim stays Pending).
 */
int xfer_populate_step(struct k8s_client *c, const struct k8s_obj *pvc, struct xfer_result *res,
		       struct k8s_err *err);

/*
 * THE RECONCILERS (xfer_ctl.c), run by `ferry controller` (control/operator's
 * registry):
 *
 * xfer_reconciler ("volumetransfer"): every VolumeTransfer of the
 * controller's namespace (ferry-system), xfer_step() per event and again
 * after its requeue_ms; no condition (the agent writes the status).
 *
 * xfer_populate_reconciler ("populator"): every PVC whose spec.dataSourceRef
 * names a ferry.io Snapshot, xfer_populate_step() per event of the claim or
 * of its restore VolumeTransfer (spec.target), and again after its
 * requeue_ms; other claims are passed over without a request. A bound claim
 * whose transfer is no longer cached is done.
 *
 * Their rules: k8s/deploy/xfer-controller-rbac.yaml (the Role and ClusterRole
 * ferry-controller-volumes).
 */
extern const struct k8s_reconciler xfer_reconciler, xfer_populate_reconciler;

/**
 * xfer_cleanup() - delete what the transfer @vt made (holder pod, Block PVC,
 * the snapshot copy and its content, the source snapshot unless a Completed
 * backup keeps it as the claim's base; the claim's other bases deleted then)
 * @gone: whether none of them exists any more
 */
int xfer_cleanup(struct k8s_client *c, const struct k8s_obj *vt, bool *gone, struct k8s_err *err);

/**
 * xfer_device_path() - where the kubelet of a node publishes the block
 * volume @pv of the pod @pod_uid: <kubelet dir>/plugins/kubernetes.io/csi/
 * volumeDevices/publish/<pv>/<pod uid> (a bind of the device; the agent's
 * kubelet mount sees it with HostToContainer)
 * Return: 0; -EINVAL (a name with '/' or ".."); -ENAMETOOLONG.
 */
int xfer_device_path(const char *kubelet_dir, const char *pv, const char *pod_uid, char *buf,
		     size_t len);

/**
 * xfer_mount_path() - where the kubelet of a node mounts the Filesystem CSI
 * volume @pv of the pod @pod_uid: <kubelet dir>/pods/<pod uid>/volumes/
 * kubernetes.io~csi/<pv>/mount (what the agent freezes)
 * Return: 0; -EINVAL (a name with '/' or ".."); -ENAMETOOLONG.
 */
int xfer_mount_path(const char *kubelet_dir, const char *pv, const char *pod_uid, char *buf,
		    size_t len);

/**
 * xfer_status_patch() - merge @status (borrowed: the fields to set) into
 * the status of the VolumeTransfer @name in ferry-system
 */
int xfer_status_patch(struct k8s_client *c, const char *name, const struct k8s_obj *status,
		      struct k8s_err *err);

#endif /* FERRY_CTL_XFER_H */
