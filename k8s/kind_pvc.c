// SPDX-License-Identifier: MIT
/*
 * k8s/kind_pvc.c - PersistentVolumeClaims (core/v1): class, binding, mode,
 * sizes, the selected node of WaitForFirstConsumer classes and the data
 * source a populator fills.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_pvcs =
	K8S_RESOURCE("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true);

int k8s_pvc_view(const struct k8s_obj *o, struct k8s_pvc *p)
{
	int ret;

	memset(p, 0, sizeof(*p));
	ret = k8s_meta_view(o, &p->meta);
	if (ret)
		return ret;
	p->storage_class = k8s_obj_str(o, "/spec/storageClassName");
	p->volume_name = k8s_obj_str(o, "/spec/volumeName");
	p->volume_mode = k8s_obj_str(o, "/spec/volumeMode");
	p->phase = k8s_obj_str(o, "/status/phase");
	p->selected_node = k8s_obj_annotation(o, "volume.kubernetes.io/selected-node");
	p->access_modes = k8s_obj_at(o, "/spec/accessModes");
	p->data_source_ref = k8s_obj_at(o, "/spec/dataSourceRef");
	p->request = kview_qty(o, "/spec/resources/requests/storage", false);
	p->capacity = kview_qty(o, "/status/capacity/storage", false);
	return 0;
}
