// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_populate.c - restore as a volume populator: a PVC
 * whose dataSourceRef names a ferry Snapshot is filled through a restore
 * transfer, then bound to a PV of its own (xfer_populate_step(), README.md).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

#define XFER_RECLAIM_ANNOTATION "ferry.io/reclaim-policy"
#define XFER_POPULATED_FROM	"ferry.io/populated-from"

/* The restore VolumeTransfer of the claim, from its Snapshot. */
static int xfer_make_restore(struct k8s_client *c, const struct k8s_pvc *claim,
			     const struct k8s_obj *snap, const char *name, struct k8s_err *err)
{
	const char *rname = k8s_obj_str(snap, "/spec/repository");
	struct k8s_obj *o = NULL, *repo = NULL;
	struct xfer_repo_ref ref = {0};
	int ret = 0;

	/* the Repository's connection; without one, the Snapshot's own url and Secret */
	if (rname && rname[0])
		ret = k8s_get(c, &xfer_repositories, XFER_NS, rname, NULL, &repo, err);
	if (ret && ret != -ENOENT)
		return ret;
	if (repo) {
		xfer_repo_ref_of_repository(repo, &ref);
	} else {
		ref.name = rname;
		ref.url = k8s_obj_str(snap, "/spec/url");
		ref.password_secret = k8s_obj_str(snap, "/spec/passwordSecretRef/name");
		ref.password_key = k8s_obj_str(snap, "/spec/passwordSecretRef/key");
	}
	ret = k8s_obj_new_kind(&xfer_volumetransfers, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/direction", "restore");
	if (!ret)
		ret = k8s_obj_set_str(
			o, "/spec/volume",
			k8s_obj_str(snap, "/spec/volume") ? k8s_obj_str(snap, "/spec/volume") : "");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/snapshotID", k8s_obj_str(snap, "/spec/snapshotID"));
	if (!ret)
		ret = xfer_repo_ref_set(o, &ref);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/namespace", claim->meta.ns);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/persistentVolumeClaim", claim->meta.name);
	if (!ret)
		ret = xfer_create(c, &xfer_volumetransfers, XFER_NS, o, err);
	k8s_obj_free(o);
	k8s_obj_free(repo);
	return ret;
}

/* PVC': Block, the claim's class and size, on the claim's node. */
static int xfer_make_prime(struct k8s_client *c, const struct k8s_pvc *claim, const char *node,
			   const char *name, const struct k8s_obj *vt, struct k8s_err *err)
{
	struct k8s_obj *o = NULL;
	int ret;

	ret = xfer_block_pvc(name, claim->storage_class, claim->request, vt, &o);
	if (!ret && node)
		ret = k8s_obj_set_annotation(o, "volume.kubernetes.io/selected-node", node);
	if (!ret)
		ret = xfer_create(c, &k8s_pvcs, XFER_NS, o, err);
	k8s_obj_free(o);
	return ret;
}

/*
 * PV' kept (Retain), its policy remembered; then the claim's own PV, pre-bound
 * to it, with the stamp the restore left (XFER_ANN_STAMP).
 */
static int xfer_rebind(struct k8s_client *c, const struct k8s_obj *claimobj,
		       const struct k8s_pvc *claim, const struct k8s_obj *pvp, const char *snapname,
		       const char *stamp, struct k8s_err *err)
{
	const char *policy = k8s_obj_str(pvp, "/spec/persistentVolumeReclaimPolicy");
	const char *kept = k8s_obj_annotation(pvp, XFER_RECLAIM_ANNOTATION);
	struct k8s_obj *p = NULL, *pv = NULL;
	char name[XFER_NAME_SIZE], from[600];
	int ret = 0;

	if (!kept) {
		ret = k8s_obj_new(&p);
		if (!ret)
			ret = k8s_obj_set_annotation(p, XFER_RECLAIM_ANNOTATION,
						     policy ? policy : "Delete");
		if (!ret)
			ret = k8s_obj_set_str(p, "/spec/persistentVolumeReclaimPolicy", "Retain");
		if (!ret)
			ret = k8s_patch(c, &k8s_pvs, NULL, k8s_obj_get_name(pvp), K8S_PATCH_MERGE,
					p, NULL, NULL, err);
		k8s_obj_free(p);
		if (ret)
			return ret;
		kept = policy ? policy : "Delete";
	}
	snprintf(name, sizeof(name), "pvc-%s", claim->meta.uid);
	snprintf(from, sizeof(from), "%s/%s", claim->meta.ns, snapname);
	ret = k8s_obj_new_kind(&k8s_pvs, NULL, name, &pv);
	if (!ret)
		ret = k8s_obj_set_annotation(pv, XFER_POPULATED_FROM, from);
	if (!ret && stamp) /* what the volume holds: a later delta is written onto it */
		ret = k8s_obj_set_annotation(pv, XFER_ANN_STAMP, stamp);
	if (!ret && k8s_obj_annotation(pvp, "pv.kubernetes.io/provisioned-by"))
		ret = k8s_obj_set_annotation(
			pv, "pv.kubernetes.io/provisioned-by",
			k8s_obj_annotation(pvp, "pv.kubernetes.io/provisioned-by"));
	if (!ret)
		ret = k8s_obj_set_copy(pv, "/spec", k8s_obj_at(pvp, "/spec"));
	if (!ret)
		k8s_obj_remove(pv, "/spec/claimRef");
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/volumeMode",
				      claim->volume_mode ? claim->volume_mode : "Filesystem");
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/persistentVolumeReclaimPolicy", kept);
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/claimRef/kind", "PersistentVolumeClaim");
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/claimRef/apiVersion", "v1");
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/claimRef/namespace", claim->meta.ns);
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/claimRef/name", claim->meta.name);
	if (!ret)
		ret = k8s_obj_set_str(pv, "/spec/claimRef/uid", claim->meta.uid);
	if (!ret)
		ret = xfer_create(c, &k8s_pvs, NULL, pv, err);
	k8s_obj_free(pv);
	(void)claimobj;
	return ret;
}

int xfer_populate_step(struct k8s_client *c, const struct k8s_obj *pvcobj, struct xfer_result *res,
		       struct k8s_err *err)
{
	struct k8s_obj *snap = NULL, *vt = NULL, *prime = NULL, *pod = NULL, *pvp = NULL;
	struct k8s_call now = {.propagation = "Background"};
	const char *snapname, *phase, *node;
	char name[XFER_NAME_SIZE];
	struct k8s_pvc claim, pv;
	struct k8s_pod podv;
	int ret;

	assert(c && pvcobj && res && err);
	memset(res, 0, sizeof(*res));
	memset(err, 0, sizeof(*err));
	res->phase = XFER_PENDING;
	if (k8s_pvc_view(pvcobj, &claim) || !claim.meta.uid || !claim.data_source_ref)
		return -EINVAL;
	snapname = k8s_obj_str(claim.data_source_ref, "/name");
	if (!xfer_is(k8s_obj_str(claim.data_source_ref, "/apiGroup"), "ferry.io") ||
	    !xfer_is(k8s_obj_str(claim.data_source_ref, "/kind"), "Snapshot") || !snapname)
		return -EINVAL;
	ret = xfer_name(claim.meta.uid, name);
	if (ret)
		return ret;
	if (xfer_is(claim.phase, "Bound")) {
		/* filled: the transfer and whatever is left of PVC' go */
		res->phase = XFER_COMPLETED;
		ret = k8s_delete(c, &xfer_volumetransfers, XFER_NS, name, &now, NULL, err);
		res->done = ret == -ENOENT;
		res->requeue_ms = res->done ? 0 : XFER_POLL_MS;
		return ret == -ENOENT ? 0 : ret;
	}
	node = claim.selected_node;
	ret = xfer_get(c, &xfer_volumetransfers, XFER_NS, name, &vt, err);
	if (!ret && !vt) {
		ret = xfer_get(c, &xfer_snapshots, claim.meta.ns, snapname, &snap, err);
		if (!ret && !snap) {
			snprintf(err->msg, sizeof(err->msg), "Snapshot %s/%s not found",
				 claim.meta.ns, snapname);
			res->requeue_ms = 5000;
			goto out;
		}
		if (!ret && !node && claim.storage_class) {
			struct k8s_obj *sc = NULL;

			/* WaitForFirstConsumer: the scheduler picks the node first */
			ret = xfer_get(c, &xfer_storageclasses, NULL, claim.storage_class, &sc,
				       err);
			if (!ret && xfer_is(k8s_obj_str(sc, "/volumeBindingMode"),
					    "WaitForFirstConsumer")) {
				k8s_obj_free(sc);
				res->requeue_ms = XFER_POLL_MS;
				goto out;
			}
			k8s_obj_free(sc);
		}
		if (!ret)
			ret = xfer_make_restore(c, &claim, snap, name, err);
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (ret)
		goto out;
	phase = k8s_obj_str(vt, "/status/phase");
	res->phase = phase ? xfer_phase_of(phase) : XFER_PENDING;
	if (xfer_is(phase, XFER_FAILED)) {
		snprintf(err->msg, sizeof(err->msg), "%s",
			 k8s_obj_str(vt, "/status/message") ? k8s_obj_str(vt, "/status/message")
							    : "the restore failed");
		goto out; /* the claim stays Pending; deleting the transfer tries again */
	}
	ret = xfer_get(c, &k8s_pvcs, XFER_NS, name, &prime, err);
	if (!ret && !prime && !xfer_is(phase, XFER_COMPLETED))
		ret = xfer_make_prime(c, &claim, node, name, vt, err);
	if (ret)
		goto out;
	ret = xfer_get(c, &k8s_pods, XFER_NS, name, &pod, err);
	if (ret)
		goto out;
	if (!xfer_is(phase, XFER_COMPLETED)) {
		if (phase) {
			res->requeue_ms = XFER_POLL_MS; /* the agent's */
			goto out;
		}
		if (!pod) {
			ret = xfer_make_pod(c, node, true, name, vt, err);
			res->requeue_ms = XFER_POLL_MS;
			goto out;
		}
		res->requeue_ms = XFER_POLL_MS;
		if (k8s_pod_view(pod, &podv) || !xfer_is(podv.phase, "Running") ||
		    !podv.node_name || !prime || k8s_pvc_view(prime, &pv) || !pv.volume_name)
			goto out;
		ret = xfer_assign(c, vt, podv.node_name, &podv, pv.volume_name, NULL, err);
		goto out;
	}
	/* restored: the holder goes first, then the rebind */
	res->requeue_ms = XFER_POLL_MS;
	if (pod) {
		ret = k8s_delete(c, &k8s_pods, XFER_NS, name, &now, NULL, err);
		ret = ret == -ENOENT ? 0 : ret;
		goto out;
	}
	if (prime) {
		if (k8s_pvc_view(prime, &pv) || !pv.volume_name)
			goto out;
		ret = xfer_get(c, &k8s_pvs, NULL, pv.volume_name, &pvp, err);
		if (!ret && pvp)
			ret = xfer_rebind(c, pvcobj, &claim, pvp, snapname,
					  k8s_obj_str(vt, "/status/stamp"), err);
		if (!ret)
			ret = k8s_delete(c, &k8s_pvcs, XFER_NS, name, &now, NULL, err);
		if (!ret && pvp)
			ret = k8s_delete(c, &k8s_pvs, NULL, pv.volume_name, &now, NULL, err);
		ret = ret == -ENOENT ? 0 : ret;
	}
out:
	k8s_obj_free(pvp);
	k8s_obj_free(pod);
	k8s_obj_free(prime);
	k8s_obj_free(vt);
	k8s_obj_free(snap);
	return ret;
}
