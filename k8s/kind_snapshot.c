// SPDX-License-Identifier: MIT
/*
 * k8s/kind_snapshot.c - CSI snapshots (snapshot.storage.k8s.io/v1):
 * VolumeSnapshot, VolumeSnapshotContent, VolumeSnapshotClass, as the
 * external-snapshotter's types name their fields.
 */
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_volumesnapshots =
	K8S_RESOURCE("snapshot.storage.k8s.io", "v1", "volumesnapshots", "VolumeSnapshot", true);
const struct k8s_resource k8s_volumesnapshotcontents = K8S_RESOURCE(
	"snapshot.storage.k8s.io", "v1", "volumesnapshotcontents", "VolumeSnapshotContent", false);
const struct k8s_resource k8s_volumesnapshotclasses = K8S_RESOURCE(
	"snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", "VolumeSnapshotClass", false);

int k8s_volumesnapshot_view(const struct k8s_obj *o, struct k8s_volumesnapshot *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ret = k8s_meta_view(o, &v->meta);
	if (ret)
		return ret;
	v->pvc = k8s_obj_str(o, "/spec/source/persistentVolumeClaimName");
	v->content_name = k8s_obj_str(o, "/spec/source/volumeSnapshotContentName");
	v->class_name = k8s_obj_str(o, "/spec/volumeSnapshotClassName");
	v->bound_content = k8s_obj_str(o, "/status/boundVolumeSnapshotContentName");
	k8s_obj_bool(o, "/status/readyToUse", &v->ready);
	v->restore_size = kview_qty(o, "/status/restoreSize", false);
	v->error = k8s_obj_str(o, "/status/error/message");
	return 0;
}

int k8s_snapshotcontent_view(const struct k8s_obj *o, struct k8s_snapshotcontent *v)
{
	int ret;

	memset(v, 0, sizeof(*v));
	ret = k8s_meta_view(o, &v->meta);
	if (ret)
		return ret;
	v->driver = k8s_obj_str(o, "/spec/driver");
	v->deletion_policy = k8s_obj_str(o, "/spec/deletionPolicy");
	v->class_name = k8s_obj_str(o, "/spec/volumeSnapshotClassName");
	v->volume_handle = k8s_obj_str(o, "/spec/source/volumeHandle");
	v->snapshot_handle = k8s_obj_str(o, "/spec/source/snapshotHandle");
	v->vs_ns = k8s_obj_str(o, "/spec/volumeSnapshotRef/namespace");
	v->vs_name = k8s_obj_str(o, "/spec/volumeSnapshotRef/name");
	v->status_handle = k8s_obj_str(o, "/status/snapshotHandle");
	k8s_obj_bool(o, "/status/readyToUse", &v->ready);
	/* status.restoreSize of a content is an int64 of bytes, not a quantity */
	if (k8s_obj_int(o, "/status/restoreSize", &v->restore_size))
		v->restore_size = kview_qty(o, "/status/restoreSize", false);
	return 0;
}

int k8s_snapshotclass_view(const struct k8s_obj *o, struct k8s_snapshotclass *v)
{
	const char *d;
	int ret;

	memset(v, 0, sizeof(*v));
	ret = k8s_meta_view(o, &v->meta);
	if (ret)
		return ret;
	v->driver = k8s_obj_str(o, "/driver");
	v->deletion_policy = k8s_obj_str(o, "/deletionPolicy");
	d = k8s_obj_annotation(o, "snapshot.storage.kubernetes.io/is-default-class");
	v->is_default = d && !strcmp(d, "true");
	return 0;
}
