// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer.c - a volume transfer's objects: snapshot, its copy in
 * ferry-system, the Block-mode PVC, the holder pod, cleanup (xfer.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xfer_priv.h"

const struct k8s_resource xfer_volumetransfers =
	K8S_RESOURCE("ferry.io", "v1alpha1", "volumetransfers", "VolumeTransfer", true);
const struct k8s_resource xfer_storageclasses =
	K8S_RESOURCE("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
const struct k8s_resource xfer_snapshots =
	K8S_RESOURCE("ferry.io", "v1alpha1", "snapshots", "Snapshot", true);

const struct k8s_resource xfer_snapmeta_services =
	K8S_RESOURCE("cbt.storage.k8s.io", "v1beta1", "snapshotmetadataservices",
		     "SnapshotMetadataService", false);

int xfer_name(const char *uid, char name[XFER_NAME_SIZE])
{
	int n;

	if (!uid || !uid[0])
		return -EINVAL;
	n = snprintf(name, XFER_NAME_SIZE, "ferry-%s", uid);
	return n < 0 || n >= XFER_NAME_SIZE ? -EINVAL : 0;
}

int xfer_volume_name(struct k8s_client *c, const char *ns, const char *pvc, char *buf, size_t len,
		     struct k8s_err *err)
{
	struct k8s_obj *ks = NULL;
	const char *uid;
	int ret, n;

	ret = k8s_get(c, &k8s_namespaces, NULL, "kube-system", NULL, &ks, err);
	if (ret)
		return ret;
	uid = k8s_obj_get_uid(ks);
	if (!uid) {
		snprintf(err->msg, sizeof(err->msg), "namespace kube-system has no uid");
		ret = -EBADMSG;
		goto out;
	}
	n = snprintf(buf, len, "k8s/%s/%s/%s", uid, ns, pvc);
	if (n < 0 || (size_t)n >= len)
		ret = -ENAMETOOLONG;
out:
	k8s_obj_free(ks);
	return ret;
}

/* a name that is one path component */
static bool xfer_component(const char *s)
{
	return s && s[0] && !strchr(s, '/') && strcmp(s, "..") && strcmp(s, ".");
}

int xfer_device_path(const char *kubelet_dir, const char *pv, const char *pod_uid, char *buf,
		     size_t len)
{
	int n;

	if (!xfer_component(pv) || !xfer_component(pod_uid))
		return -EINVAL;
	n = snprintf(buf, len, "%s/plugins/kubernetes.io/csi/volumeDevices/publish/%s/%s",
		     kubelet_dir ? kubelet_dir : XFER_KUBELET_DIR, pv, pod_uid);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xfer_mount_path(const char *kubelet_dir, const char *pv, const char *pod_uid, char *buf,
		    size_t len)
{
	int n;

	if (!xfer_component(pv) || !xfer_component(pod_uid))
		return -EINVAL;
	n = snprintf(buf, len, "%s/pods/%s/volumes/kubernetes.io~csi/%s/mount",
		     kubelet_dir ? kubelet_dir : XFER_KUBELET_DIR, pod_uid, pv);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int xfer_status_patch(struct k8s_client *c, const char *name, const struct k8s_obj *status,
		      struct k8s_err *err)
{
	struct k8s_call call = {.subresource = "status"};
	struct k8s_obj *p = NULL;
	int ret;

	ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_copy(p, "/status", status);
	if (!ret)
		ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, name, K8S_PATCH_MERGE, p, &call,
				NULL, err);
	k8s_obj_free(p);
	return ret;
}

/* status.phase (and message) of @vt's @name; @msg NULL leaves the message */
int xfer_set_phase(struct k8s_client *c, const char *name, const char *phase, const char *msg,
		   struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	char now[K8S_TIME_SIZE];
	int ret;

	ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", phase);
	if (!ret && msg)
		ret = k8s_obj_set_str(st, "/message", msg);
	if (!ret && !strcmp(phase, XFER_FAILED)) {
		k8s_time_format(k8s_now_ns(), false, now);
		ret = k8s_obj_set_str(st, "/completionTime", now);
	}
	if (!ret)
		ret = xfer_status_patch(c, name, st, err);
	k8s_obj_free(st);
	return ret;
}

/* Fail the transfer for a reason of its spec or its source: the next step cleans up. */
int xfer_fail(struct k8s_client *c, const char *name, struct xfer_result *res, struct k8s_err *err,
	      const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
	res->phase = XFER_FAILED;
	res->requeue_ms = 1;
	return xfer_set_phase(c, name, XFER_FAILED, msg, err);
}

/* GET that takes 404 as "absent": 0 with *@out NULL */
int xfer_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	     struct k8s_obj **out, struct k8s_err *err)
{
	int ret = k8s_get(c, r, ns, name, NULL, out, err);

	if (ret == -ENOENT) {
		*out = NULL;
		return 0;
	}
	return ret;
}

/* CREATE that takes 409 AlreadyExists as done (made by an earlier run) */
int xfer_create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		const struct k8s_obj *obj, struct k8s_err *err)
{
	int ret = k8s_create(c, r, ns, obj, NULL, NULL, err);

	return ret == -EEXIST ? 0 : ret;
}

/* The source snapshot: a VolumeSnapshot of the PVC in its namespace. */
static int xfer_make_source(struct k8s_client *c, const char *ns, const char *pvc, const char *name,
			    const struct k8s_obj *vt, struct k8s_err *err)
{
	struct k8s_obj *o = NULL;
	int ret;

	ret = k8s_obj_new_kind(&k8s_volumesnapshots, ns, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_label(o, "app.kubernetes.io/managed-by", "ferry");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/persistentVolumeClaimName", pvc);
	if (!ret)
		ret = xfer_create(c, &k8s_volumesnapshots, ns, o, err);
	k8s_obj_free(o);
	return ret;
}

/*
 * The copy: a content with the source's snapshot handle (Retain: deleting the
 * copy never deletes the snapshot) bound to a VolumeSnapshot in ferry-system,
 * allowed to change the volume mode (the Block PVC from a Filesystem volume).
 */
static int xfer_make_copy(struct k8s_client *c, const struct k8s_snapshotcontent *src,
			  const char *mode, const char *name, const struct k8s_obj *vt,
			  struct k8s_err *err)
{
	const char *handle = src->status_handle ? src->status_handle : src->snapshot_handle;
	struct k8s_obj *o = NULL;
	int ret;

	ret = k8s_obj_new_kind(&k8s_volumesnapshotcontents, NULL, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_annotation(o, XFER_MODE_CHANGE, "true");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/driver", src->driver);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/deletionPolicy", "Retain");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/snapshotHandle", handle);
	if (!ret && mode)
		ret = k8s_obj_set_str(o, "/spec/sourceVolumeMode", mode);
	if (!ret && src->class_name)
		ret = k8s_obj_set_str(o, "/spec/volumeSnapshotClassName", src->class_name);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumeSnapshotRef/namespace", XFER_NS);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumeSnapshotRef/name", name);
	if (!ret)
		ret = xfer_create(c, &k8s_volumesnapshotcontents, NULL, o, err);
	k8s_obj_free(o);
	o = NULL;
	if (!ret)
		ret = k8s_obj_new_kind(&k8s_volumesnapshots, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/volumeSnapshotContentName", name);
	if (!ret && src->class_name)
		ret = k8s_obj_set_str(o, "/spec/volumeSnapshotClassName", src->class_name);
	if (!ret)
		ret = k8s_obj_set_owner(o, vt);
	if (!ret)
		ret = xfer_create(c, &k8s_volumesnapshots, XFER_NS, o, err);
	k8s_obj_free(o);
	return ret;
}

/* A Block-mode claim in ferry-system of @class (NULL: the default) and @size, owned by the transfer. */
int xfer_block_pvc(const char *name, const char *class, int64_t size, const struct k8s_obj *vt,
		   struct k8s_obj **out)
{
	struct k8s_obj *o = NULL;
	char q[32];
	int ret;

	snprintf(q, sizeof(q), "%lld", (long long)size);
	ret = k8s_obj_new_kind(&k8s_pvcs, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_json(o, "/spec/accessModes", "[\"ReadWriteOnce\"]");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumeMode", "Block");
	if (!ret && class)
		ret = k8s_obj_set_str(o, "/spec/storageClassName", class);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/resources/requests/storage", q);
	if (!ret)
		ret = k8s_obj_set_owner(o, vt);
	if (ret) {
		k8s_obj_free(o);
		o = NULL;
	}
	*out = o;
	return ret;
}

/* The Block-mode PVC from the copy, in the source's class. */
static int xfer_make_pvc(struct k8s_client *c, const struct k8s_pvc *src, int64_t size,
			 const char *name, const struct k8s_obj *vt, struct k8s_err *err)
{
	struct k8s_obj *o = NULL;
	int ret;

	ret = xfer_block_pvc(name, src->storage_class, size, vt, &o);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/dataSource/apiGroup", "snapshot.storage.k8s.io");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/dataSource/kind", "VolumeSnapshot");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/dataSource/name", name);
	if (!ret)
		ret = xfer_create(c, &k8s_pvcs, XFER_NS, o, err);
	k8s_obj_free(o);
	return ret;
}

/*
 * The holder pod: ferry's image, sleeping, unprivileged, with the PVC as a
 * volumeDevice. Pinned to @node by required node affinity, so that a
 * WaitForFirstConsumer PVC binds through the scheduler; or, with @bind, put
 * on @node by nodeName past the scheduler, as lib-volume-populator puts its
 * pod: PVC' already carries the node it is provisioned on, and the consumer
 * the scheduler placed there counted one volume, not two (its NodeVolumeLimits
 * would keep the holder Pending on a node at its limit for good).
 */
int xfer_make_pod(struct k8s_client *c, const char *node, bool bind, const char *name,
		  const struct k8s_obj *vt, struct k8s_err *err)
{
	static const char spec[] =
		"{\"restartPolicy\":\"Always\",\"terminationGracePeriodSeconds\":0,"
		"\"automountServiceAccountToken\":false,\"enableServiceLinks\":false,"
		"\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":65534,"
		"\"runAsGroup\":65534},"
		"\"containers\":[{\"name\":\"hold\",\"image\":\"" XFER_IMAGE "\","
		"\"imagePullPolicy\":\"Never\",\"command\":[\"sleep\",\"infinity\"],"
		"\"securityContext\":{\"allowPrivilegeEscalation\":false,"
		"\"readOnlyRootFilesystem\":true,\"capabilities\":{\"drop\":[\"ALL\"]}},"
		"\"resources\":{\"requests\":{\"cpu\":\"1m\",\"memory\":\"8Mi\"},"
		"\"limits\":{\"memory\":\"32Mi\"}},"
		"\"volumeDevices\":[{\"name\":\"volume\",\"devicePath\":\"" XFER_DEVICE_PATH
		"\"}]}],"
		"\"tolerations\":[{\"operator\":\"Exists\"}]}";
	struct k8s_obj *o = NULL;
	int ret;

	ret = k8s_obj_new_kind(&k8s_pods, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, XFER_LABEL_XFER, k8s_obj_get_name(vt));
	if (!ret)
		ret = k8s_obj_set_label(o, "app.kubernetes.io/name", "ferry-holder");
	if (!ret)
		ret = k8s_obj_set_json(o, "/spec", spec);
	if (!ret)
		ret = k8s_obj_set_json(o, "/spec/volumes", "[{\"name\":\"volume\"}]");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volumes/0/persistentVolumeClaim/claimName", name);
	if (!ret && node && bind)
		ret = k8s_obj_set_str(o, "/spec/nodeName", node);
	else if (!ret && node) {
		ret = k8s_obj_set_json(
			o,
			"/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution",
			"{\"nodeSelectorTerms\":[{\"matchExpressions\":[{\"key\":"
			"\"kubernetes.io/hostname\",\"operator\":\"In\",\"values\":[]}]}]}");
		if (!ret)
			ret = k8s_obj_set_str(
				o,
				"/spec/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution/nodeSelectorTerms/0/matchExpressions/0/values/-",
				node);
	}
	if (!ret)
		ret = k8s_obj_set_owner(o, vt);
	if (!ret)
		ret = xfer_create(c, &k8s_pods, XFER_NS, o, err);
	k8s_obj_free(o);
	return ret;
}

/* Label the transfer with its node (the agent's watch selects on it), then the status. */
/*
 * The label XFER_LABEL_NODE=@node on @vt (what the agents' watches select),
 * as a compare-and-swap on the transfer as read: a copy older than the
 * agent's first status write (a cache behind) must not write Attaching over
 * its Running (a 409 is -EAGAIN: read again).
 */
static int xfer_label_node(struct k8s_client *c, const struct k8s_obj *vt, const char *node,
			   struct k8s_err *err)
{
	struct k8s_obj *p = NULL;
	int ret = k8s_obj_new(&p);

	if (!ret)
		ret = k8s_obj_set_str(p, "/metadata/resourceVersion", k8s_obj_get_rv(vt));
	if (!ret)
		ret = k8s_obj_set_label(p, XFER_LABEL_NODE, node);
	if (!ret)
		ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, k8s_obj_get_name(vt),
				K8S_PATCH_MERGE, p, NULL, NULL, err);
	k8s_obj_free(p);
	return ret;
}

int xfer_assign(struct k8s_client *c, const struct k8s_obj *vt, const char *node,
		const struct k8s_pod *pod, const char *pv, const struct k8s_obj *cbt,
		struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	char path[1024];
	int ret;

	ret = xfer_label_node(c, vt, node, err);
	if (!ret)
		ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", XFER_ATTACHING);
	if (!ret)
		ret = k8s_obj_set_str(st, "/node", node);
	if (!ret && pod) /* the holder (none for a copy) */
		ret = xfer_device_path(NULL, pv, pod->meta.uid, path, sizeof(path));
	if (!ret && pod)
		ret = k8s_obj_set_str(st, "/holder/pod", pod->meta.name);
	if (!ret && pod)
		ret = k8s_obj_set_str(st, "/holder/podUID", pod->meta.uid);
	if (!ret && pod)
		ret = k8s_obj_set_str(st, "/holder/persistentVolume", pv);
	if (!ret && pod)
		ret = k8s_obj_set_str(st, "/holder/devicePath", path);
	if (!ret && cbt)
		ret = k8s_obj_set_copy(st, "/changedBlocks", cbt);
	if (!ret)
		ret = xfer_status_patch(c, k8s_obj_get_name(vt), st, err);
	k8s_obj_free(st);
	return ret;
}

int xfer_cleanup(struct k8s_client *c, const struct k8s_obj *vt, bool *gone, struct k8s_err *err)
{
	const char *ns = k8s_obj_str(vt, "/spec/source/namespace");
	struct k8s_call now = {.propagation = "Background"};
	struct {
		const struct k8s_resource *r;
		const char *ns;
	} objs[] = {
		{&k8s_pods, XFER_NS},
		{&k8s_pvcs, XFER_NS},
		{&k8s_volumesnapshots, XFER_NS},
		{&k8s_volumesnapshotcontents, NULL},
		{&k8s_volumesnapshots, ns},
		{&k8s_pvs, NULL},
	};
	bool claim_gone = false;
	char name[XFER_NAME_SIZE];
	bool keep = false;
	size_t i;
	int ret;

	*gone = false;
	ret = xfer_name(k8s_obj_get_uid(vt), name);
	if (!ret)
		ret = xfer_cbt_keep(c, vt, name, &keep, err);
	if (ret)
		return ret;
	*gone = true;
	for (i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
		if (objs[i].r == &k8s_pvs && (!xfer_overwrites(vt) || !claim_gone))
			continue; /* PV'' of a write over a claim, once PVC'' is gone */
		if (objs[i].r->namespaced && !objs[i].ns)
			continue; /* no source namespace: no source snapshot was made */
		if (keep && objs[i].ns == ns)
			continue; /* the source snapshot: the claim's base now */
		ret = k8s_delete(c, objs[i].r, objs[i].ns, name, &now, NULL, err);
		if (ret == -ENOENT && objs[i].r == &k8s_pvcs)
			claim_gone = true;
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		*gone = false; /* deleted now, or still finalizing: look again */
	}
	return 0;
}

/*
 * The finalizer that keeps a deleted transfer until its objects outside
 * ferry-system (the source snapshot, the content copy) are gone too: @add
 * puts it on, else it is taken off. A merge patch replaces the whole list, so
 * the others' finalizers are written back as read; the resourceVersion makes
 * it a compare-and-swap (a 409 is -EAGAIN: read again).
 */
static int xfer_finalizer(struct k8s_client *c, const struct k8s_obj *vt, bool add,
			  struct k8s_err *err)
{
	const struct k8s_obj *f = k8s_obj_at(vt, "/metadata/finalizers");
	struct k8s_obj *p = NULL;
	bool have = false;
	int ret;

	for (const struct k8s_obj *e = k8s_obj_first(f); e; e = k8s_obj_next(e))
		have |= xfer_is(k8s_obj_str(e, ""), XFER_FINALIZER);
	if (have == add)
		return 0;
	ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_str(p, "/metadata/resourceVersion", k8s_obj_get_rv(vt));
	if (!ret)
		ret = k8s_obj_set_empty(p, "/metadata/finalizers", K8S_T_ARRAY);
	for (const struct k8s_obj *e = k8s_obj_first(f); !ret && e; e = k8s_obj_next(e))
		if (!xfer_is(k8s_obj_str(e, ""), XFER_FINALIZER))
			ret = k8s_obj_set_copy(p, "/metadata/finalizers/-", e);
	if (!ret && add)
		ret = k8s_obj_set_str(p, "/metadata/finalizers/-", XFER_FINALIZER);
	if (!ret)
		ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, k8s_obj_get_name(vt),
				K8S_PATCH_MERGE, p, NULL, NULL, err);
	k8s_obj_free(p);
	return ret;
}

/* Completed or Failed: clean up, then say so once in the status. */
static int xfer_finish(struct k8s_client *c, const struct k8s_obj *vt, const char *phase,
		       struct xfer_result *res, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	bool cleaned = false, gone;
	int ret;

	res->phase = phase;
	if (!k8s_obj_bool(vt, "/status/cleanedUp", &cleaned) && cleaned) {
		res->done = true;
		return xfer_finalizer(c, vt, false, err);
	}
	ret = xfer_cleanup(c, vt, &gone, err);
	if (ret)
		return ret;
	if (!gone) {
		res->requeue_ms = XFER_POLL_MS;
		return 0;
	}
	ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_bool(st, "/cleanedUp", true);
	if (!ret)
		ret = xfer_status_patch(c, k8s_obj_get_name(vt), st, err);
	k8s_obj_free(st);
	res->requeue_ms = 1; /* the finalizer next, on the transfer as now written */
	return ret;
}

/* The static string of a phase read from a status (which the caller frees) */
const char *xfer_phase_of(const char *phase)
{
	static const char *const phases[] = {XFER_PENDING, XFER_SNAPSHOTTING, XFER_ATTACHING,
					     XFER_RUNNING, XFER_COMPLETED,    XFER_FAILED};

	for (size_t i = 0; phase && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phase, phases[i]))
			return phases[i];
	return XFER_PENDING;
}

int xfer_step(struct k8s_client *c, const struct k8s_obj *vt, struct xfer_result *res,
	      struct k8s_err *err)
{
	const char *phase = k8s_obj_str(vt, "/status/phase")
				    ? xfer_phase_of(k8s_obj_str(vt, "/status/phase"))
				    : NULL;
	const char *dir = k8s_obj_str(vt, "/spec/direction");
	const char *ns = k8s_obj_str(vt, "/spec/source/namespace");
	const char *pvcname = k8s_obj_str(vt, "/spec/source/persistentVolumeClaim");
	const char *vtname = k8s_obj_get_name(vt);
	struct k8s_obj *pvc = NULL, *vs = NULL, *vsc = NULL, *copy = NULL, *blk = NULL;
	struct k8s_obj *pod = NULL, *cbt = NULL;
	struct k8s_volumesnapshot vsv, copyv;
	struct k8s_snapshotcontent vscv;
	char name[XFER_NAME_SIZE];
	const char *node;
	struct k8s_pvc pv, bv;
	struct k8s_pod podv;
	int64_t size;
	int ret;

	assert(c && vt && res && err);
	memset(res, 0, sizeof(*res));
	memset(err, 0, sizeof(*err));
	res->phase = phase ? phase : XFER_PENDING;
	ret = xfer_name(k8s_obj_get_uid(vt), name);
	if (ret || !vtname)
		return -EINVAL;
	if (k8s_obj_str(vt, "/metadata/deletionTimestamp")) {
		bool gone;

		/* deleted: whatever it was doing, nothing of it may stay */
		ret = xfer_cleanup(c, vt, &gone, err);
		if (!ret && gone)
			ret = xfer_finalizer(c, vt, false, err);
		res->done = !ret && gone;
		res->requeue_ms = res->done ? 0 : XFER_POLL_MS;
		return ret;
	}
	if ((xfer_is(phase, XFER_COMPLETED) || xfer_is(phase, XFER_FAILED)) &&
	    xfer_overwrites(vt)) {
		/* what the volume holds now (the agent's stamp), before PV'' goes */
		ret = xfer_apply_keep_stamp(c, vt, err);
		if (ret)
			return ret;
	}
	if (xfer_is(phase, XFER_COMPLETED) || xfer_is(phase, XFER_FAILED))
		return xfer_finish(c, vt, phase, res, err);
	if (!phase) {
		/* before anything is made outside ferry-system */
		ret = xfer_finalizer(c, vt, true, err);
		if (ret)
			return ret;
	}
	if (xfer_is(phase, XFER_ATTACHING) || xfer_is(phase, XFER_RUNNING))
		return 0; /* the agent's: its status writes bring the next event */
	if (xfer_is(dir, XFER_DIR_COPY))
		return xfer_copy_step(c, vt, res, err);
	if (xfer_is(dir, "restore") && xfer_overwrites(vt))
		return xfer_apply_step(c, vt, phase, res, err);
	if (xfer_is(dir, "restore") && k8s_obj_str(vt, "/spec/target/persistentVolumeClaim"))
		return 0; /* a populator's restore: xfer_populate_step() drives it */
	if (!xfer_is(dir, "backup"))
		return xfer_fail(c, vtname, res, err,
				 "direction %s: a VolumeTransfer of direction restore is made by "
				 "the Snapshot populator, not prepared by the controller%s",
				 dir ? dir : "(none)", "");
	if (!ns || !pvcname)
		return xfer_fail(c, vtname, res, err,
				 "spec.source needs namespace and persistentVolumeClaim%s%s", "",
				 "");
	/* the source claim: bound, and its size and class */
	ret = xfer_get(c, &k8s_pvcs, ns, pvcname, &pvc, err);
	if (ret)
		goto out;
	if (!pvc || k8s_pvc_view(pvc, &pv)) {
		ret = xfer_fail(c, vtname, res, err, "PersistentVolumeClaim %s/%s not found", ns,
				pvcname);
		goto out;
	}
	if (!xfer_is(pv.phase, "Bound")) {
		ret = xfer_fail(
			c, vtname, res, err,
			"PersistentVolumeClaim %s/%s is not bound (phase %s): nothing to back up",
			ns, pv.phase ? pv.phase : "Pending");
		goto out;
	}
	if (!phase) {
		ret = xfer_set_phase(c, vtname, XFER_SNAPSHOTTING, "", err);
		if (ret)
			goto out;
		res->phase = XFER_SNAPSHOTTING;
	}
	/* the source snapshot, cut (the volume frozen around it) and ready */
	ret = xfer_get(c, &k8s_volumesnapshots, ns, name, &vs, err);
	if (!ret && !vs) {
		ret = xfer_freeze(c, vt, ns, pvcname, pvc, &pv, NULL, res, err);
		if (ret)
			goto out_frz;
		ret = xfer_make_source(c, ns, pvcname, name, vt, err);
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (!ret)
		ret = xfer_freeze(c, vt, ns, pvcname, pvc, &pv, vs, res, err);
	if (ret < 0)
		goto out;
	if (ret || k8s_volumesnapshot_view(vs, &vsv))
		goto out;
	if (vsv.error) {
		ret = xfer_fail(c, vtname, res, err, "VolumeSnapshot %s: %s", name, vsv.error);
		goto out;
	}
	if (!vsv.ready || !vsv.bound_content) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	ret = xfer_get(c, &k8s_volumesnapshotcontents, NULL, vsv.bound_content, &vsc, err);
	if (ret || !vsc || k8s_snapshotcontent_view(vsc, &vscv)) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (!vscv.status_handle && !vscv.snapshot_handle) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	/* its copy in ferry-system, ready */
	ret = xfer_get(c, &k8s_volumesnapshots, XFER_NS, name, &copy, err);
	if (!ret && !copy) {
		ret = xfer_make_copy(c, &vscv, pv.volume_mode ? pv.volume_mode : "Filesystem", name,
				     vt, err);
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (ret || k8s_volumesnapshot_view(copy, &copyv))
		goto out;
	if (!copyv.ready) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	/* the Block PVC and the holder pod, pinned */
	size = vsv.restore_size > pv.capacity ? vsv.restore_size : pv.capacity;
	if (size <= 0)
		size = pv.request;
	ret = xfer_get(c, &k8s_pvcs, XFER_NS, name, &blk, err);
	if (!ret && !blk)
		ret = xfer_make_pvc(c, &pv, size, name, vt, err);
	if (ret)
		goto out;
	node = k8s_obj_str(vt, "/spec/node");
	if (!node)
		node = pv.selected_node;
	ret = xfer_get(c, &k8s_pods, XFER_NS, name, &pod, err);
	if (!ret && !pod) {
		ret = xfer_make_pod(c, node, false, name, vt, err);
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (ret || k8s_pod_view(pod, &podv))
		goto out;
	if (!xfer_is(podv.phase, "Running") || !podv.node_name) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (!blk) {
		ret = xfer_get(c, &k8s_pvcs, XFER_NS, name, &blk, err);
		if (ret)
			goto out;
	}
	if (!blk || k8s_pvc_view(blk, &bv) || !bv.volume_name) {
		res->requeue_ms = XFER_POLL_MS;
		goto out;
	}
	if (xfer_is(dir, "backup")) {
		ret = xfer_cbt_plan(c, vt, ns, pvcname, name, &vscv, &cbt, err);
		if (ret)
			goto out;
	}
	ret = xfer_assign(c, vt, podv.node_name, &podv, bv.volume_name, cbt, err);
	if (!ret)
		res->phase = XFER_ATTACHING;
	goto out;
out_frz:
	if (ret > 0)
		ret = 0;
out:
	k8s_obj_free(cbt);
	k8s_obj_free(pod);
	k8s_obj_free(blk);
	k8s_obj_free(copy);
	k8s_obj_free(vsc);
	k8s_obj_free(vs);
	k8s_obj_free(pvc);
	return ret;
}
