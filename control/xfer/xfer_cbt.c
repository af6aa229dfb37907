// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_cbt.c - a transfer's changed-block bases: the key of a
 * claim's base, the mode a transfer asks for, which base VolumeSnapshot a
 * backup reads against and whether the new one is kept (xfer.h, README.md).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xfer_priv.h"

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

/*
 * What the agent needs to list a backup's changed blocks, status.changedBlocks
 * (written with Attaching): the mode, the target snapshot (@name in @ns) and
 * its handle, its driver and whether that has a SnapshotMetadataService, and
 * the base kept for the claim in this repository (xfer_cbt_keep()) if any;
 * else why not (fallback, reason). A service that cannot be read (403) is
 * a reason, not an error: the backup reads everything.
 */
int xfer_cbt_plan(struct k8s_client *c, const struct k8s_obj *vt, const char *ns, const char *pvc,
		  const char *name, const struct k8s_snapshotcontent *vsc, struct k8s_obj **out,
		  struct k8s_err *err)
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
int xfer_cbt_keep(struct k8s_client *c, const struct k8s_obj *vt, const char *name, bool *keep,
		  struct k8s_err *err)
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
