// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_freeze.c - the freeze around a snapshot: which node
 * mounts the claim, and the status.freeze handshake with that node's agent
 * (Requested -> Frozen -> ThawRequested -> Thawed), every controller write a
 * compare-and-swap on the transfer (README.md).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

/*
 * A pod that uses claim @pvc of @ns (the claim among its volumes): with
 * @running, a Running pod on a node (the one to freeze); without, any pod
 * not finished yet (Pending included: one about to start). Its node, uid and
 * name copied out (each buffer may be NULL). Return: 1 found; 0 none;
 * -errno of the list.
 */
int xfer_claim_user(struct k8s_client *c, const char *ns, const char *pvc, bool running, char *node,
		    size_t nlen, char *uid, size_t ulen, char *pod, size_t plen,
		    struct k8s_err *err)
{
	struct k8s_items *l = NULL;
	int ret, found = 0;

	ret = k8s_list(c, &k8s_pods, ns, NULL, &l, err);
	if (ret)
		return ret;
	for (size_t i = 0; !found && i < k8s_items_len(l); i++) {
		const struct k8s_obj *p = k8s_items_at(l, i);
		size_t nv = k8s_obj_len(p, "/spec/volumes");
		struct k8s_pod pv;

		if (k8s_pod_view(p, &pv) || !pv.meta.uid)
			continue;
		if (running && (!xfer_is(pv.phase, "Running") || !pv.node_name))
			continue;
		if (!running && (xfer_is(pv.phase, "Succeeded") || xfer_is(pv.phase, "Failed")))
			continue;
		for (size_t v = 0; v < nv && !found; v++) {
			char path[96];
			const char *claim;

			snprintf(path, sizeof(path),
				 "/spec/volumes/%zu/persistentVolumeClaim/claimName", v);
			claim = k8s_obj_str(p, path);
			if (claim && !strcmp(claim, pvc)) {
				if (node)
					snprintf(node, nlen, "%s",
						 pv.node_name ? pv.node_name : "");
				if (uid)
					snprintf(uid, ulen, "%s", pv.meta.uid);
				if (pod)
					snprintf(pod, plen, "%s", pv.meta.name ? pv.meta.name : "");
				found = 1;
			}
		}
	}
	k8s_items_free(l);
	return found;
}

/*
 * status.freeze of @vt, a compare-and-swap on the transfer as read: a copy
 * older than the agent's Frozen or Thawed (a cache behind) must not write
 * over it. Return: 0; 1 when the copy was stale (a requeue set: read again);
 * -errno.
 */
static int xfer_freeze_patch(struct k8s_client *c, const struct k8s_obj *vt, const char *state,
			     const char *node, const char *pod_uid, const char *volume,
			     const char *msg, struct xfer_result *res, struct k8s_err *err)
{
	struct k8s_call call = {.subresource = "status"};
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/metadata/resourceVersion", k8s_obj_get_rv(vt));

	if (!ret)
		ret = k8s_obj_set_str(st, "/status/freeze/state", state);
	if (!ret && node)
		ret = k8s_obj_set_str(st, "/status/freeze/node", node);
	if (!ret && pod_uid)
		ret = k8s_obj_set_str(st, "/status/freeze/podUID", pod_uid);
	if (!ret && volume)
		ret = k8s_obj_set_str(st, "/status/freeze/volume", volume);
	if (!ret && !strcmp(state, XFER_FREEZE_REQUESTED)) {
		char now[K8S_TIME_SIZE];

		k8s_time_format(k8s_now_ns(), false, now);
		ret = k8s_obj_set_str(st, "/status/freeze/requestedAt", now);
	}
	if (!ret && msg)
		ret = k8s_obj_set_str(st, "/status/freeze/message", msg);
	if (!ret)
		ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, k8s_obj_get_name(vt),
				K8S_PATCH_MERGE, st, &call, NULL, err);
	k8s_obj_free(st);
	res->requeue_ms = XFER_POLL_MS;
	if (ret == -EAGAIN) { /* stale: the next event brings the transfer as it is */
		*err = (struct k8s_err){0};
		return 1;
	}
	return ret;
}

/*
 * Before the source snapshot is cut (@vs NULL): a Filesystem claim a Running
 * pod mounts is frozen by the agent of that pod's node (its label and
 * status.freeze.node name it; status.freeze.state Requested, then the
 * agent's Frozen or Failed); the cut waits for it, at most XFER_FREEZE_WAIT_S.
 * After the cut (@vs made, its creationTime or readyToUse set): ThawRequested.
 * Every write is a compare-and-swap on @vt as read.
 * Return: 1 when the step ends here (a requeue set); 0 go on; -errno.
 */
int xfer_freeze(struct k8s_client *c, const struct k8s_obj *vt, const char *ns, const char *pvcname,
		const struct k8s_obj *pvc, const struct k8s_pvc *pv, const struct k8s_obj *vs,
		struct xfer_result *res, struct k8s_err *err)
{
	const char *name = k8s_obj_get_name(vt);
	const char *state = k8s_obj_str(vt, "/status/freeze/state");
	const char *opt = k8s_obj_annotation(pvc, XFER_ANN_FREEZE);
	char node[256], uid[64];
	struct k8s_obj *p = NULL;
	bool ready = false, want = true;
	int ret;

	if (vs) {
		if (!xfer_is(state, XFER_FREEZE_FROZEN) && !xfer_is(state, XFER_FREEZE_REQUESTED))
			return 0;
		k8s_obj_bool(vs, "/status/readyToUse", &ready);
		if (!k8s_obj_str(vs, "/status/creationTime") && !ready)
			return 0; /* not cut yet: the snapshot's own wait requeues */
		ret = xfer_freeze_patch(c, vt, XFER_FREEZE_THAW, NULL, NULL, NULL, NULL, res, err);
		return ret < 0 ? ret : 0;
	}
	k8s_obj_bool(vt, "/spec/freeze", &want);
	if (!state) {
		if (!want)
			return xfer_freeze_patch(c, vt, XFER_FREEZE_SKIPPED, NULL, NULL, NULL,
						 "spec.freeze: false (crash-consistent)", res, err);
		if ((pv->volume_mode && !strcmp(pv->volume_mode, "Block")) ||
		    (opt && !strcmp(opt, "false")))
			return xfer_freeze_patch(c, vt, XFER_FREEZE_SKIPPED, NULL, NULL, NULL,
						 opt ? "ferry.io/freeze: false on the claim"
						     : "a Block volume: nothing to freeze",
						 res, err);
		ret = xfer_claim_user(c, ns, pvcname, true, node, sizeof(node), uid, sizeof(uid),
				      NULL, 0, err);
		if (ret < 0)
			return ret;
		if (!ret || !pv->volume_name)
			return xfer_freeze_patch(c, vt, XFER_FREEZE_SKIPPED, NULL, NULL, NULL,
						 "no running pod mounts the claim", res, err);
		/* the agent of that node is told by the node label (first), then the status */
		if (!xfer_is(k8s_obj_label(vt, XFER_LABEL_NODE), node)) {
			ret = k8s_obj_new(&p);
			if (!ret)
				ret = k8s_obj_set_label(p, XFER_LABEL_NODE, node);
			if (!ret)
				ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, name,
						K8S_PATCH_MERGE, p, NULL, NULL, err);
			k8s_obj_free(p);
			res->requeue_ms = XFER_POLL_MS;
			return ret ? ret : 1; /* its event brings the transfer back, labelled */
		}
		ret = xfer_freeze_patch(c, vt, XFER_FREEZE_REQUESTED, node, uid, pv->volume_name,
					"", res, err);
		return ret < 0 ? ret : 1;
	}
	if (xfer_is(state, XFER_FREEZE_REQUESTED)) {
		const char *t = k8s_obj_str(vt, "/status/freeze/requestedAt");
		int64_t at = 0;

		if (t && !k8s_time_parse(t, &at) &&
		    k8s_now_ns() - at < (int64_t)XFER_FREEZE_WAIT_S * 1000000000LL) {
			res->requeue_ms = XFER_POLL_MS;
			return 1;
		}
		return xfer_freeze_patch(c, vt, XFER_FREEZE_SKIPPED, NULL, NULL, NULL,
					 "the agent of the pod's node did not freeze the volume "
					 "in time: the snapshot is crash-consistent",
					 res, err);
	}
	return 0; /* Frozen, Failed, Skipped: cut now */
}
