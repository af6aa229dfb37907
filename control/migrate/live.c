// SPDX-License-Identifier: MIT
/*
 * control/migrate/live.c - the live table of a migration (migrate_priv.h):
 * status.progress, a row per volume of the stage in flight, built from the
 * transfers of both clusters and written only when a row's bytes or state
 * moved (every write is an event of the Migration: a row that changed with
 * the clock alone would reconcile it without end).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/xfer/xfer.h"
#include "migrate_priv.h"

/* the label the source's Backup puts on each VolumeTransfer it makes (control/cluster) */
#define LIVE_LABEL_BACKUP_UID "ferry.io/backup-uid"

int live_new(struct k8s_obj **rows)
{
	int ret = k8s_obj_new(rows);

	if (!ret)
		ret = k8s_obj_set_empty(*rows, "/v", K8S_T_ARRAY);
	if (ret) {
		k8s_obj_free(*rows);
		*rows = NULL;
	}
	return ret;
}

int live_row(struct k8s_obj *rows, const struct live_in *in, int64_t now_ns)
{
	struct k8s_obj *r = NULL;
	int64_t start = 0, eta = -1;
	double bps = 0;
	int ret;

	assert(rows && in && in->stage);
	if (in->start)
		k8s_time_parse(in->start, &start);
	mig_live_rate(in->done, in->total, in->mbps, start, now_ns, &bps, &eta);
	ret = k8s_obj_new(&r);
	if (!ret)
		ret = k8s_obj_set_str(r, "/namespace", in->ns ? in->ns : "");
	if (!ret)
		ret = k8s_obj_set_str(r, "/pvc", in->pvc ? in->pvc : "");
	if (!ret)
		ret = k8s_obj_set_str(r, "/stage", in->stage);
	if (!ret)
		ret = k8s_obj_set_str(r, "/state", in->state ? in->state : "Pending");
	if (!ret)
		ret = k8s_obj_set_int(r, "/bytesDone", in->done);
	if (!ret)
		ret = k8s_obj_set_int(r, "/bytesTotal", in->total);
	if (!ret && bps > 0)
		ret = k8s_obj_set_int(r, "/bytesPerSecond", (int64_t)bps);
	if (!ret && eta >= 0)
		ret = k8s_obj_set_int(r, "/etaSeconds", eta);
	if (!ret && in->node)
		ret = k8s_obj_set_str(r, "/node", in->node);
	if (!ret)
		ret = k8s_obj_set(rows, "/v/-", r);
	else
		k8s_obj_free(r);
	return ret;
}

/* the row of VolumeTransfer @vt (NULL: not made yet) for claim @ns/@pvc */
int live_transfer(struct k8s_obj *rows, const char *stage, const char *ns, const char *pvc,
		  const struct k8s_obj *vt, int64_t now_ns)
{
	struct live_in in = {.stage = stage, .ns = ns, .pvc = pvc};

	if (vt) {
		in.state = k8s_obj_str(vt, "/status/phase");
		k8s_obj_int(vt, "/status/bytesDone", &in.done);
		k8s_obj_int(vt, "/status/bytesTotal", &in.total);
		k8s_obj_num(vt, "/status/mbPerSecond", &in.mbps);
		in.start = k8s_obj_str(vt, "/metadata/creationTimestamp");
		in.node = k8s_obj_str(vt, "/status/node");
	}
	return live_row(rows, &in, now_ns);
}

int mig_source_transfers(struct k8s_client *src, const struct k8s_obj *b, struct k8s_items **out)
{
	const char *uid = k8s_obj_str(b, "/metadata/uid");
	char sel[sizeof(LIVE_LABEL_BACKUP_UID) + 130];
	struct k8s_call call = {.label_selector = sel};
	struct k8s_err e;

	*out = NULL;
	if (!uid || strlen(uid) > 128)
		return -EINVAL;
	snprintf(sel, sizeof(sel), "%s=%s", LIVE_LABEL_BACKUP_UID, uid);
	return k8s_list(src, &xfer_volumetransfers, XFER_NS, &call, out, &e);
}

int live_source(const struct k8s_items *vts, struct k8s_obj *rows, int64_t now_ns)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < k8s_items_len(vts); i++) {
		const struct k8s_obj *vt = k8s_items_at(vts, i);

		ret = live_transfer(rows, "Backup", k8s_obj_str(vt, "/spec/source/namespace"),
				    k8s_obj_str(vt, "/spec/source/persistentVolumeClaim"), vt,
				    now_ns);
	}
	return ret;
}

int live_restore(const struct k8s_obj *r, struct k8s_obj *rows, int64_t now_ns)
{
	const char *start = k8s_obj_str(r, "/status/startTimestamp");
	int ret = 0;

	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(r, "/status/volumes")); !ret && v;
	     v = k8s_obj_next(v)) {
		struct live_in in = {.stage = "Write",
				     .ns = k8s_obj_str(v, "/namespace"),
				     .pvc = k8s_obj_str(v, "/pvc"),
				     .state = k8s_obj_str(v, "/phase"),
				     .start = start};

		k8s_obj_int(v, "/bytesDone", &in.done);
		k8s_obj_int(v, "/size", &in.total);
		ret = live_row(rows, &in, now_ns);
	}
	return ret;
}

/* whether row @a and row @b say the same, the figures the clock moves aside */
static bool same_row(const struct k8s_obj *a, const struct k8s_obj *b)
{
	static const char *const strs[] = {"/namespace", "/pvc", "/stage", "/state"};
	static const char *const ints[] = {"/bytesDone", "/bytesTotal"};

	for (size_t i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		const char *x = k8s_obj_str(a, strs[i]), *y = k8s_obj_str(b, strs[i]);

		if (!x || !y || strcmp(x, y))
			return false;
	}
	for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
		int64_t x = -1, y = -2;

		k8s_obj_int(a, ints[i], &x);
		k8s_obj_int(b, ints[i], &y);
		if (x != y)
			return false;
	}
	return true;
}

int live_set(const struct k8s_obj *m, struct k8s_obj *patch, const char *label,
	     const struct k8s_obj *rows, int64_t now_ns, bool *dirty)
{
	const struct k8s_obj *had = k8s_obj_at(m, "/status/progress");
	const struct k8s_obj *hv = k8s_obj_at(had, "/volumes");
	const struct k8s_obj *rv = rows ? k8s_obj_at(rows, "/v") : NULL;
	char t[K8S_TIME_SIZE];
	int ret;

	if (!rows || !k8s_obj_len(rows, "/v")) {
		if (!had || k8s_obj_type(m, "/status/progress") != K8S_T_OBJECT)
			return 0;
		*dirty = true;
		return k8s_obj_set_null(patch, "/status/progress");
	}
	if (had && k8s_obj_str(had, "/backup") && !strcmp(k8s_obj_str(had, "/backup"), label) &&
	    k8s_obj_len(had, "/volumes") == k8s_obj_len(rows, "/v")) {
		const struct k8s_obj *a = k8s_obj_first(hv), *b = k8s_obj_first(rv);

		while (a && b && same_row(a, b)) {
			a = k8s_obj_next(a);
			b = k8s_obj_next(b);
		}
		if (!a && !b)
			return 0;
	}
	k8s_time_format(now_ns, false, t);
	*dirty = true;
	/* a merge patch replaces an array whole: the rows as they are now */
	ret = k8s_obj_set_str(patch, "/status/progress/backup", label);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/progress/updateTime", t);
	if (!ret)
		ret = k8s_obj_set_copy(patch, "/status/progress/volumes", rv);
	return ret;
}
