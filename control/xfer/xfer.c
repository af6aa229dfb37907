// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer.c - a volume transfer's objects: snapshot, its copy in
 * ferry-system, the Block-mode PVC, the holder pod, cleanup (xfer.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xfer.h"

const struct k8s_resource xfer_volumetransfers =
	K8S_RESOURCE("ferry.io", "v1alpha1", "volumetransfers", "VolumeTransfer", true);
static const struct k8s_resource xfer_storageclasses =
	K8S_RESOURCE("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);
const struct k8s_resource xfer_snapshots =
	K8S_RESOURCE("ferry.io", "v1alpha1", "snapshots", "Snapshot", true);

const struct k8s_resource xfer_snapmeta_services =
	K8S_RESOURCE("cbt.storage.k8s.io", "v1beta1", "snapshotmetadataservices",
		     "SnapshotMetadataService", false);

#define XFER_POLL_MS 500 /* a snapshot's cut, a pod's start: looked at again this often */

static bool xfer_is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

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

void xfer_cbt_key(const char *ns, const char *pvc, const char *url, char key[XFER_CBT_KEY_SIZE])
{
	uint64_t h = 0xcbf29ce484222325ull;
	const char *parts[] = {ns, "/", pvc, "\n", url};

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	snprintf(key, XFER_CBT_KEY_SIZE, "%016llx", (unsigned long long)h);
}

const char *xfer_cbt_mode(const struct k8s_obj *vt)
{
	const char *m = k8s_obj_str(vt, "/spec/changedBlocks");

	if (xfer_is(m, XFER_CBT_HASH))
		return XFER_CBT_HASH;
	if (xfer_is(m, XFER_CBT_NONE))
		return XFER_CBT_NONE;
	return XFER_CBT_AUTO;
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
static int xfer_set_phase(struct k8s_client *c, const char *name, const char *phase,
			  const char *msg, struct k8s_err *err)
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
static int xfer_fail(struct k8s_client *c, const char *name, struct xfer_result *res,
		     struct k8s_err *err, const char *fmt, const char *a, const char *b)
{
	char msg[512];

	snprintf(msg, sizeof(msg), fmt, a ? a : "", b ? b : "");
	res->phase = XFER_FAILED;
	res->requeue_ms = 1;
	return xfer_set_phase(c, name, XFER_FAILED, msg, err);
}

/* GET that takes 404 as "absent": 0 with *@out NULL */
static int xfer_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		    const char *name, struct k8s_obj **out, struct k8s_err *err)
{
	int ret = k8s_get(c, r, ns, name, NULL, out, err);

	if (ret == -ENOENT) {
		*out = NULL;
		return 0;
	}
	return ret;
}

/* CREATE that takes 409 AlreadyExists as done (made by an earlier run) */
static int xfer_create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
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
static int xfer_block_pvc(const char *name, const char *class, int64_t size,
			  const struct k8s_obj *vt, struct k8s_obj **out)
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
 * volumeDevice; pinned to @node by required node affinity (never a bare
 * nodeName: a WaitForFirstConsumer claim binds through the scheduler).
 */
static int xfer_make_pod(struct k8s_client *c, const char *node, const char *name,
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
	if (!ret && node) {
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
static int xfer_assign(struct k8s_client *c, const struct k8s_obj *vt, const char *node,
		       const struct k8s_pod *pod, const char *pv, const struct k8s_obj *cbt,
		       struct k8s_err *err)
{
	const char *name = k8s_obj_get_name(vt);
	struct k8s_obj *p = NULL, *st = NULL;
	char path[1024];
	int ret;

	/*
	 * A compare-and-swap on the transfer as read: a copy older than the
	 * agent's first status write (a cache behind) must not write Attaching
	 * over its Running (a 409 is -EAGAIN: read again).
	 */
	ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_str(p, "/metadata/resourceVersion", k8s_obj_get_rv(vt));
	if (!ret)
		ret = k8s_obj_set_label(p, XFER_LABEL_NODE, node);
	if (!ret)
		ret = k8s_patch(c, &xfer_volumetransfers, XFER_NS, name, K8S_PATCH_MERGE, p, NULL,
				NULL, err);
	if (!ret)
		ret = xfer_device_path(NULL, pv, pod->meta.uid, path, sizeof(path));
	if (!ret)
		ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", XFER_ATTACHING);
	if (!ret)
		ret = k8s_obj_set_str(st, "/node", node);
	if (!ret)
		ret = k8s_obj_set_str(st, "/holder/pod", pod->meta.name);
	if (!ret)
		ret = k8s_obj_set_str(st, "/holder/podUID", pod->meta.uid);
	if (!ret)
		ret = k8s_obj_set_str(st, "/holder/persistentVolume", pv);
	if (!ret)
		ret = k8s_obj_set_str(st, "/holder/devicePath", path);
	if (!ret && cbt)
		ret = k8s_obj_set_copy(st, "/changedBlocks", cbt);
	if (!ret)
		ret = xfer_status_patch(c, name, st, err);
	k8s_obj_free(st);
	k8s_obj_free(p);
	return ret;
}

/*
 * What the agent needs to list a backup's changed blocks, status.changedBlocks
 * (written with Attaching): the mode, the target snapshot (@name in @ns) and
 * its handle, its driver and whether that has a SnapshotMetadataService, and
 * the base kept for the claim in this repository (xfer_cbt_keep()) if any;
 * else why not (fallback, reason). A service that cannot be read (403) is
 * a reason, not an error: the backup reads everything.
 */
static int xfer_cbt_plan(struct k8s_client *c, const struct k8s_obj *vt, const char *ns,
			 const char *pvc, const char *name, const struct k8s_snapshotcontent *vsc,
			 struct k8s_obj **out, struct k8s_err *err)
{
	const char *mode = xfer_cbt_mode(vt);
	const char *handle = vsc->status_handle ? vsc->status_handle : vsc->snapshot_handle;
	const char *volume = k8s_obj_str(vt, "/spec/volume");
	char key[XFER_CBT_KEY_SIZE], sel[64], why[512];
	struct k8s_call call = {.label_selector = sel};
	struct k8s_obj *o = NULL, *sms = NULL;
	const struct k8s_obj *base = NULL;
	struct k8s_items *l = NULL;
	const char *fallback = NULL;
	int ret;

	*out = NULL;
	why[0] = '\0';
	ret = k8s_obj_new(&o);
	if (!ret)
		ret = k8s_obj_set_str(o, "/mode", mode);
	if (!ret)
		ret = k8s_obj_set_str(o, "/target/namespace", ns);
	if (!ret)
		ret = k8s_obj_set_str(o, "/target/volumeSnapshot", name);
	if (!ret && handle)
		ret = k8s_obj_set_str(o, "/target/snapshotHandle", handle);
	if (!ret && vsc->driver)
		ret = k8s_obj_set_str(o, "/driver", vsc->driver);
	if (ret)
		goto out;
	if (strcmp(mode, XFER_CBT_AUTO)) {
		fallback = XFER_CBT_OFF;
		snprintf(why, sizeof(why), "spec.changedBlocks is %s: the whole volume is read",
			 mode);
		goto done;
	}
	ret = vsc->driver ? k8s_get(c, &xfer_snapmeta_services, NULL, vsc->driver, NULL, &sms, err)
			  : -ENOENT;
	if (ret == -ENOENT || ret == -EPERM || ret == -EACCES) {
		fallback = XFER_CBT_NO_SERVICE;
		if (ret == -ENOENT)
			snprintf(why, sizeof(why),
				 "the driver %.128s has no SnapshotMetadataService",
				 vsc->driver ? vsc->driver : "(none)");
		else
			snprintf(why, sizeof(why), "SnapshotMetadataService %.128s: %.300s",
				 vsc->driver, err->msg);
		ret = k8s_obj_set_bool(o, "/service", false);
		goto done;
	}
	if (!ret)
		ret = k8s_obj_set_bool(o, "/service", true);
	if (ret)
		goto out;
	xfer_cbt_key(ns, pvc, k8s_obj_str(vt, "/spec/repository/url"), key);
	snprintf(sel, sizeof(sel), "%s=%s", XFER_CBT_LABEL, key);
	ret = k8s_list(c, &k8s_volumesnapshots, ns, &call, &l, err);
	if (ret == -EPERM || ret == -EACCES) { /* backup-rbac.yaml left out */
		fallback = XFER_CBT_NO_BASE;
		snprintf(why, sizeof(why), "the base snapshot of %.63s/%.200s: %.200s", ns, pvc,
			 err->msg);
		ret = 0;
		goto done;
	}
	if (ret)
		goto out;
	for (size_t i = 0; i < k8s_items_len(l) && !base; i++) {
		const struct k8s_obj *b = k8s_items_at(l, i);

		if (!k8s_obj_str(b, "/metadata/deletionTimestamp") &&
		    !xfer_is(k8s_obj_get_name(b), name) &&
		    xfer_is(k8s_obj_annotation(b, XFER_CBT_VOLUME), volume ? volume : "") &&
		    k8s_obj_annotation(b, XFER_CBT_SNAPSHOT) &&
		    k8s_obj_annotation(b, XFER_CBT_HANDLE))
			base = b;
	}
	if (!base) {
		fallback = XFER_CBT_NO_BASE;
		snprintf(
			why, sizeof(why),
			"no base snapshot of %.63s/%.200s is kept for this repository (the first backup that could keep one, or it was deleted)",
			ns, pvc);
		goto done;
	}
	ret = k8s_obj_set_str(o, "/base/volumeSnapshot", k8s_obj_get_name(base));
	if (!ret)
		ret = k8s_obj_set_str(o, "/base/snapshotHandle",
				      k8s_obj_annotation(base, XFER_CBT_HANDLE));
	if (!ret)
		ret = k8s_obj_set_str(o, "/base/snapshotID",
				      k8s_obj_annotation(base, XFER_CBT_SNAPSHOT));
done:
	if (!ret && fallback)
		ret = k8s_obj_set_str(o, "/fallback", fallback);
	if (!ret && fallback)
		ret = k8s_obj_set_str(o, "/reason", why);
	if (!ret) {
		*out = o;
		o = NULL;
	}
out:
	k8s_items_free(l);
	k8s_obj_free(sms);
	k8s_obj_free(o);
	return ret;
}

/*
 * The bases of a Completed backup's claim (once: a transfer already cleaned
 * up leaves them alone, a later transfer may own them by now). Mode auto on a
 * driver with a service keeps the transfer's source snapshot @name as the
 * claim's base (labelled, annotated), and every other base of the claim in
 * this repository is deleted: none of them stands for the volume's newest
 * snapshot any more. A Failed transfer changes nothing (the newest snapshot
 * is the same). @keep: the source snapshot is kept, not to be deleted.
 */
static int xfer_cbt_keep(struct k8s_client *c, const struct k8s_obj *vt, const char *name,
			 bool *keep, struct k8s_err *err)
{
	const char *ns = k8s_obj_str(vt, "/spec/source/namespace");
	const char *pvc = k8s_obj_str(vt, "/spec/source/persistentVolumeClaim");
	const char *url = k8s_obj_str(vt, "/spec/repository/url");
	const char *volume = k8s_obj_str(vt, "/spec/volume");
	const char *snap = k8s_obj_str(vt, "/status/snapshotID");
	const char *handle = k8s_obj_str(vt, "/status/changedBlocks/target/snapshotHandle");
	struct k8s_call now = {.propagation = "Background"};
	char key[XFER_CBT_KEY_SIZE], sel[64];
	struct k8s_call call = {.label_selector = sel};
	struct k8s_obj *vs = NULL, *p = NULL;
	bool service = false, cleaned = false;
	struct k8s_items *l = NULL;
	int ret = 0;

	*keep = false;
	if (!xfer_is(k8s_obj_str(vt, "/status/phase"), XFER_COMPLETED) ||
	    !xfer_is(k8s_obj_str(vt, "/spec/direction"), "backup") || !ns || !pvc || !url ||
	    !volume || !snap)
		return 0;
	if (!k8s_obj_bool(vt, "/status/cleanedUp", &cleaned) && cleaned) {
		*keep = true; /* kept then, or gone since: nothing of ours to delete */
		return 0;
	}
	xfer_cbt_key(ns, pvc, url, key);
	snprintf(sel, sizeof(sel), "%s=%s", XFER_CBT_LABEL, key);
	ret = k8s_list(c, &k8s_volumesnapshots, ns, &call, &l, err);
	if (ret == -EPERM || ret == -EACCES)
		return 0; /* backup-rbac.yaml left out: no base could be found, none is kept */
	if (ret)
		return ret;
	k8s_obj_bool(vt, "/status/changedBlocks/service", &service);
	if (service && handle && !strcmp(xfer_cbt_mode(vt), XFER_CBT_AUTO)) {
		ret = xfer_get(c, &k8s_volumesnapshots, ns, name, &vs, err);
		*keep = !ret && vs && !k8s_obj_str(vs, "/metadata/deletionTimestamp");
		if (*keep && !xfer_is(k8s_obj_label(vs, XFER_CBT_LABEL), key)) {
			ret = k8s_obj_new(&p);
			if (!ret)
				ret = k8s_obj_set_label(p, XFER_CBT_LABEL, key);
			if (!ret)
				ret = k8s_obj_set_annotation(p, XFER_CBT_VOLUME, volume);
			if (!ret)
				ret = k8s_obj_set_annotation(p, XFER_CBT_SNAPSHOT, snap);
			if (!ret)
				ret = k8s_obj_set_annotation(p, XFER_CBT_HANDLE, handle);
			if (!ret)
				ret = k8s_obj_set_annotation(p, XFER_CBT_REPO, url);
			if (!ret)
				ret = k8s_patch(c, &k8s_volumesnapshots, ns, name, K8S_PATCH_MERGE,
						p, NULL, NULL, err);
			k8s_obj_free(p);
		}
		k8s_obj_free(vs);
	}
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		const char *b = k8s_obj_get_name(k8s_items_at(l, i));

		if (!b || (*keep && !strcmp(b, name)))
			continue;
		ret = k8s_delete(c, &k8s_volumesnapshots, ns, b, &now, NULL, err);
		if (ret == -ENOENT)
			ret = 0;
	}
	k8s_items_free(l);
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
	};
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
		if (objs[i].r->namespaced && !objs[i].ns)
			continue; /* no source namespace: no source snapshot was made */
		if (keep && objs[i].ns == ns)
			continue; /* the source snapshot: the claim's base now */
		ret = k8s_delete(c, objs[i].r, objs[i].ns, name, &now, NULL, err);
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
static const char *xfer_phase_of(const char *phase)
{
	static const char *const phases[] = {XFER_PENDING, XFER_SNAPSHOTTING, XFER_ATTACHING,
					     XFER_RUNNING, XFER_COMPLETED,    XFER_FAILED};

	for (size_t i = 0; phase && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phase, phases[i]))
			return phases[i];
	return XFER_PENDING;
}

/* ---------------------------------------------------------------- the freeze */

/*
 * The pod on a node that mounts claim @pvc of @ns (Running, the claim among
 * its volumes): its node and uid copied out. Return: 1 found; 0 none;
 * -errno of the list.
 */
static int xfer_mounter(struct k8s_client *c, const char *ns, const char *pvc, char *node,
			size_t nlen, char *uid, size_t ulen, struct k8s_err *err)
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

		if (k8s_pod_view(p, &pv) || !xfer_is(pv.phase, "Running") || !pv.node_name ||
		    !pv.meta.uid)
			continue;
		for (size_t v = 0; v < nv && !found; v++) {
			char path[96];
			const char *claim;

			snprintf(path, sizeof(path),
				 "/spec/volumes/%zu/persistentVolumeClaim/claimName", v);
			claim = k8s_obj_str(p, path);
			if (claim && !strcmp(claim, pvc)) {
				snprintf(node, nlen, "%s", pv.node_name);
				snprintf(uid, ulen, "%s", pv.meta.uid);
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
static int xfer_freeze(struct k8s_client *c, const struct k8s_obj *vt, const char *ns,
		       const char *pvcname, const struct k8s_obj *pvc, const struct k8s_pvc *pv,
		       const struct k8s_obj *vs, struct xfer_result *res, struct k8s_err *err)
{
	const char *name = k8s_obj_get_name(vt);
	const char *state = k8s_obj_str(vt, "/status/freeze/state");
	const char *opt = k8s_obj_annotation(pvc, XFER_ANN_FREEZE);
	char node[256], uid[64];
	struct k8s_obj *p = NULL;
	bool ready = false;
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
	if (!state) {
		if ((pv->volume_mode && !strcmp(pv->volume_mode, "Block")) ||
		    (opt && !strcmp(opt, "false")))
			return xfer_freeze_patch(c, vt, XFER_FREEZE_SKIPPED, NULL, NULL, NULL,
						 opt ? "ferry.io/freeze: false on the claim"
						     : "a Block volume: nothing to freeze",
						 res, err);
		ret = xfer_mounter(c, ns, pvcname, node, sizeof(node), uid, sizeof(uid), err);
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
		ret = xfer_make_pod(c, node, name, vt, err);
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

/* ---------------------------------------------------------------- the populator */

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

/* PV' kept (Retain), its policy remembered; then the claim's own PV, pre-bound to it. */
static int xfer_rebind(struct k8s_client *c, const struct k8s_obj *claimobj,
		       const struct k8s_pvc *claim, const struct k8s_obj *pvp, const char *snapname,
		       struct k8s_err *err)
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
			ret = xfer_make_pod(c, node, name, vt, err);
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
			ret = xfer_rebind(c, pvcobj, &claim, pvp, snapname, err);
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
