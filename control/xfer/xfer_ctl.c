// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_ctl.c - the reconcilers of `ferry controller` that run
 * xfer_step() and xfer_populate_step() (xfer.h "THE RECONCILERS").
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xfer.h"

static bool xfer_ctl_is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* ---------------------------------------------------------------- VolumeTransfers */

static const struct k8s_watch xfer_watches[] = {
	{.resource = &xfer_volumetransfers, .own_ns = true},
};

static int xfer_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			  struct k8s_err *err)
{
	struct xfer_result r;
	int ret;

	if (!req->obj) /* gone: its finalizer held it until its objects were */
		return 0;
	ret = xfer_step(req->client, req->obj, &r, err);
	if (ret)
		return ret;
	res->requeue_after_ms = r.requeue_ms;
	res->reason = r.phase;
	return 0;
}

const struct k8s_reconciler xfer_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "volumetransfer",
	.watches = xfer_watches,
	.nwatches = sizeof(xfer_watches) / sizeof(xfer_watches[0]),
	.workers = 4,
	.reconcile = xfer_reconcile,
};

/* ---------------------------------------------------------------- the populator */

/* the claim a populator's restore transfer fills: spec.target */
static void xfer_to_claim(const struct k8s_obj *vt, k8s_key_fn add, void *q)
{
	const char *ns = k8s_obj_str(vt, "/spec/target/namespace");
	const char *pvc = k8s_obj_str(vt, "/spec/target/persistentVolumeClaim");
	char key[2 * 254];
	int n;

	if (!xfer_ctl_is(k8s_obj_str(vt, "/spec/direction"), "restore") || !ns || !pvc)
		return;
	n = snprintf(key, sizeof(key), "%s/%s", ns, pvc);
	if (n > 0 && (size_t)n < sizeof(key))
		add(q, key);
}

static const struct k8s_watch populate_watches[] = {
	{.resource = &k8s_pvcs},
	{.resource = &xfer_volumetransfers,
	 .own_ns = true,
	 .map = K8S_MAP_FN,
	 .map_fn = xfer_to_claim},
};

/* whether @pvc's spec.dataSourceRef names a ferry Snapshot */
static bool xfer_from_snapshot(const struct k8s_obj *pvc)
{
	const struct k8s_obj *ref = k8s_obj_at(pvc, "/spec/dataSourceRef");

	return ref && xfer_ctl_is(k8s_obj_str(ref, "/apiGroup"), "ferry.io") &&
	       xfer_ctl_is(k8s_obj_str(ref, "/kind"), "Snapshot") && k8s_obj_str(ref, "/name");
}

static int populate_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			      struct k8s_err *err)
{
	char name[XFER_NAME_SIZE], key[sizeof(XFER_NS) + XFER_NAME_SIZE];
	struct k8s_obj *vt;
	struct xfer_result r;
	int ret;

	if (!req->obj || !xfer_from_snapshot(req->obj))
		return 0; /* not ours */
	if (xfer_ctl_is(k8s_obj_str(req->obj, "/status/phase"), "Bound")) {
		/* filled: only a transfer still cached is worth a call */
		if (xfer_name(k8s_obj_get_uid(req->obj), name))
			return 0;
		snprintf(key, sizeof(key), "%s/%s", XFER_NS, name);
		vt = k8s_informer_get(req->caches[1], key);
		if (!vt)
			return 0;
		k8s_obj_free(vt);
	}
	ret = xfer_populate_step(req->client, req->obj, &r, err);
	if (ret)
		return ret;
	res->requeue_after_ms = r.requeue_ms;
	res->reason = r.phase;
	return 0;
}

const struct k8s_reconciler xfer_populate_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "populator",
	.watches = populate_watches,
	.nwatches = sizeof(populate_watches) / sizeof(populate_watches[0]),
	.workers = 2,
	.reconcile = populate_reconcile,
};
