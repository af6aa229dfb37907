// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_apply.c - a restore written over a claim that exists:
 * in full, or (spec.onto) as a delta onto the snapshot its volume holds
 * (xfer_apply_step(), README.md "Writing over a claim").
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

/*
 * PV'': the claim's volume again (its CSI handle, capacity, class and node
 * affinity), in Block mode, Retain, pre-bound to PVC'' in ferry-system.
 * Not owned: a cluster-scoped object cannot be owned by a namespaced one;
 * xfer_cleanup() deletes it by name once PVC'' is gone.
 */
static int xfer_make_twin(struct k8s_client *c, const struct k8s_obj *pvobj, const char *name,
			  const struct k8s_obj *vt, struct k8s_err *err)
{
	struct k8s_obj *o = NULL;
	int ret;

	ret = k8s_obj_new_kind(&k8s_pvs, NULL, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_copy(o, "/spec", k8s_obj_at(pvobj, "/spec"));
	if (!ret)
		k8s_obj_remove(o, "/spec/claimRef");
	if (!ret)
		k8s_obj_remove(o, "/spec/mountOptions");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumeMode", "Block");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/persistentVolumeReclaimPolicy", "Retain");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/claimRef/kind", "PersistentVolumeClaim");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/claimRef/apiVersion", "v1");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/claimRef/namespace", XFER_NS);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/claimRef/name", name);
	if (!ret)
		ret = xfer_create(c, &k8s_pvs, NULL, o, err);
	k8s_obj_free(o);
	return ret;
}

/* PVC'': Block, bound to PV'' by name, its class (or none, said so) and size. */
static int xfer_make_twin_claim(struct k8s_client *c, const struct k8s_pv *pv, const char *name,
				const struct k8s_obj *vt, struct k8s_err *err)
{
	struct k8s_obj *o = NULL;
	int ret;

	/* "" when the PV has none: else the default class is written in, and they never bind */
	ret = xfer_block_pvc(name, pv->storage_class ? pv->storage_class : "", pv->capacity, vt,
			     &o);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumeName", name);
	if (!ret)
		ret = xfer_create(c, &k8s_pvcs, XFER_NS, o, err);
	k8s_obj_free(o);
	return ret;
}

/* The status before the agent: Pending, and the stamp of what the volume holds. */
static int xfer_apply_begin(struct k8s_client *c, const struct k8s_obj *vt,
			    const struct k8s_obj *pvobj, struct k8s_err *err)
{
	const char *stamp = k8s_obj_annotation(pvobj, XFER_ANN_STAMP);
	struct k8s_obj *st = NULL;
	int ret;

	ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", XFER_PENDING);
	if (!ret && stamp)
		ret = k8s_obj_set_str(st, "/stamp", stamp);
	if (!ret)
		ret = xfer_status_patch(c, k8s_obj_get_name(vt), st, err);
	k8s_obj_free(st);
	return ret;
}

int xfer_apply_step(struct k8s_client *c, const struct k8s_obj *vt, const char *phase,
		    struct xfer_result *res, struct k8s_err *err)
{
	const char *ns = k8s_obj_str(vt, "/spec/target/namespace");
	const char *claimname = k8s_obj_str(vt, "/spec/target/persistentVolumeClaim");
	const char *vtname = k8s_obj_get_name(vt);
	struct k8s_obj *claim = NULL, *pvobj = NULL, *twin = NULL, *blk = NULL, *pod = NULL;
	char name[XFER_NAME_SIZE], user[256];
	struct k8s_pvc cv, bv;
	struct k8s_pod podv;
	struct k8s_pv pv;
	int ret;

	assert(c && vt && res && err);
	ret = xfer_name(k8s_obj_get_uid(vt), name);
	if (ret)
		return ret;
	if (!ns || !claimname)
		return xfer_fail(c, vtname, res, err,
				 "spec.target needs namespace and persistentVolumeClaim%s%s", "",
				 "");
	if (!k8s_obj_str(vt, "/spec/snapshotID"))
		return xfer_fail(c, vtname, res, err, "spec.snapshotID is required%s%s", "", "");
	ret = xfer_get(c, &k8s_pvcs, ns, claimname, &claim, err);
	if (ret)
		goto out;
	if (!claim || k8s_pvc_view(claim, &cv)) {
		ret = xfer_fail(c, vtname, res, err, "PersistentVolumeClaim %s/%s not found", ns,
				claimname);
		goto out;
	}
	if (!xfer_is(cv.phase, "Bound") || !cv.volume_name) {
		ret = xfer_fail(
			c, vtname, res, err,
			"PersistentVolumeClaim %s/%s is not bound: there is no volume to write "
			"over (a claim to fill takes a dataSourceRef to a Snapshot instead)",
			ns, claimname);
		goto out;
	}
	ret = xfer_get(c, &k8s_pvs, NULL, cv.volume_name, &pvobj, err);
	if (ret)
		goto out;
	if (!pvobj || k8s_pv_view(pvobj, &pv) || !pv.csi_driver || !pv.volume_handle) {
		ret = xfer_fail(
			c, vtname, res, err,
			"PersistentVolume %s of the claim is %s: its device cannot be reached",
			cv.volume_name, pvobj ? "not a CSI volume" : "not found");
		goto out;
	}
	/* no pod may use it: the agent writes the device under the filesystem */
	ret = xfer_claim_user(c, ns, claimname, false, NULL, 0, NULL, 0, user, sizeof(user), err);
	if (ret < 0)
		goto out;
	if (ret) {
		char who[300];

		snprintf(who, sizeof(who), "%s/%s is in use by pod %s", ns, claimname, user);
		ret = xfer_fail(c, vtname, res, err,
				"PersistentVolumeClaim %s: a volume is written over only while no "
				"pod uses it (scale its workload to zero)%s",
				who, "");
		goto out;
	}
	if (!phase) {
		ret = xfer_apply_begin(c, vt, pvobj, err);
		res->phase = XFER_PENDING;
		res->requeue_ms = 1;
		goto out;
	}
	res->requeue_ms = XFER_POLL_MS;
	ret = xfer_get(c, &k8s_pvs, NULL, name, &twin, err);
	if (!ret && !twin)
		ret = xfer_make_twin(c, pvobj, name, vt, err);
	if (!ret)
		ret = xfer_get(c, &k8s_pvcs, XFER_NS, name, &blk, err);
	if (!ret && !blk)
		ret = xfer_make_twin_claim(c, &pv, name, vt, err);
	if (!ret)
		ret = xfer_get(c, &k8s_pods, XFER_NS, name, &pod, err);
	if (ret)
		goto out;
	if (!pod) {
		/* no node named: PV'' carries the volume's node affinity to the scheduler */
		ret = xfer_make_pod(c, k8s_obj_str(vt, "/spec/node"), false, name, vt, err);
		goto out;
	}
	if (k8s_pod_view(pod, &podv) || !xfer_is(podv.phase, "Running") || !podv.node_name ||
	    !blk || k8s_pvc_view(blk, &bv) || !xfer_is(bv.phase, "Bound"))
		goto out;
	ret = xfer_assign(c, vt, podv.node_name, &podv, name, NULL, err);
	if (!ret)
		res->phase = XFER_ATTACHING;
out:
	k8s_obj_free(pod);
	k8s_obj_free(blk);
	k8s_obj_free(twin);
	k8s_obj_free(pvobj);
	k8s_obj_free(claim);
	return ret < 0 ? ret : 0;
}

int xfer_apply_keep_stamp(struct k8s_client *c, const struct k8s_obj *vt, struct k8s_err *err)
{
	const char *stamp = k8s_obj_str(vt, "/status/stamp");
	const char *ns = k8s_obj_str(vt, "/spec/target/namespace");
	const char *claimname = k8s_obj_str(vt, "/spec/target/persistentVolumeClaim");
	struct k8s_obj *claim = NULL, *pvobj = NULL, *p = NULL;
	const char *had;
	struct k8s_pvc cv;
	int ret;

	if (!stamp || !ns || !claimname)
		return 0;
	ret = xfer_get(c, &k8s_pvcs, ns, claimname, &claim, err);
	if (ret || !claim || k8s_pvc_view(claim, &cv) || !cv.volume_name)
		goto out;
	ret = xfer_get(c, &k8s_pvs, NULL, cv.volume_name, &pvobj, err);
	if (ret || !pvobj)
		goto out;
	had = k8s_obj_annotation(pvobj, XFER_ANN_STAMP);
	if (had && !strcmp(had, stamp))
		goto out;
	ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_annotation(p, XFER_ANN_STAMP, stamp);
	if (!ret)
		ret = k8s_patch(c, &k8s_pvs, NULL, cv.volume_name, K8S_PATCH_MERGE, p, NULL, NULL,
				err);
	ret = ret == -ENOENT ? 0 : ret;
out:
	k8s_obj_free(p);
	k8s_obj_free(pvobj);
	k8s_obj_free(claim);
	return ret;
}
