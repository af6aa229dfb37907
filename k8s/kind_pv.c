// SPDX-License-Identifier: MIT
/*
 * k8s/kind_pv.c - PersistentVolumes (core/v1): the CSI volume behind a
 * claim, its node affinity, and what happens to it when released.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_pvs =
	K8S_RESOURCE("", "v1", "persistentvolumes", "PersistentVolume", false);

int k8s_pv_view(const struct k8s_obj *o, struct k8s_pv *p)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = k8s_meta_view(o, &p->meta);
	if (ret)
		return ret;
	p->storage_class = k8s_obj_str(o, "/spec/storageClassName");
	p->volume_mode = k8s_obj_str(o, "/spec/volumeMode");
	p->phase = k8s_obj_str(o, "/status/phase");
	p->reclaim_policy = k8s_obj_str(o, "/spec/persistentVolumeReclaimPolicy");
	p->claim_ns = k8s_obj_str(o, "/spec/claimRef/namespace");
	p->claim_name = k8s_obj_str(o, "/spec/claimRef/name");
	p->csi_driver = k8s_obj_str(o, "/spec/csi/driver");
	p->volume_handle = k8s_obj_str(o, "/spec/csi/volumeHandle");
	p->node_affinity = k8s_obj_at(o, "/spec/nodeAffinity");
	p->capacity = kview_qty(o, "/spec/capacity/storage", false);
	return 0;
}
