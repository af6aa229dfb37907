// SPDX-License-Identifier: MIT
/*
 * control/cluster/backup_ctl.c - the Backup reconciler of `ferry controller`:
 * a Backup's objects, collected as its selection says (collect.c), stored as
 * an object archive and a backup record in its Repository (datapath/dp.h
 * "backup records"), and the outcome in its status (cluster.h "THE BACKUP
 * RECONCILER").
 *
 * One reconcile of a Backup in phase New or InProgress:
 *   1. validate: its Repository (ferry-system/spec.storageLocation, or
 *      "default"), the repository at its URL, the password Secret, the
 *      password, the selection. A refusal is phase FailedValidation with the
 *      one reason in validationErrors, a False Ready condition, no record
 *      and no retry;
 *   2. the record's id (dp_record_id() of the cluster's id, the namespace
 *      and the name): a record that exists was written by an earlier
 *      reconcile that died before its status; the status is completed from
 *      it, nothing is written again;
 *   3. phase InProgress with startTimestamp (a merge patch that carries the
 *      resourceVersion read: whoever wrote the Backup since wins);
 *   4. the objects into an archive; each selected PVC's data through a
 *      VolumeTransfer in ferry-system (control/xfer: the controller's
 *      "volumetransfer" reconciler prepares it, the agent of its node moves
 *      it), named from the Backup's uid and the PVC, labelled with the
 *      Backup's uid. While any runs the archive is dropped, status.progress
 *      says how far the volumes are, and the Backup waits (InProgress; the
 *      transfers' events and a requeue bring it back), looking only at the
 *      transfers in the cache; once every one is Completed or Failed and
 *      cleaned up, the objects are collected again into the archive;
 *   5. the record, written once and last, naming every volume's snapshot;
 *   6. the transfers deleted (they pin nothing by then), then the status:
 *      Completed, or PartiallyFailed when an object or a volume could not be
 *      stored; counts, times, the record's id, the volumes.
 * A deleted Backup's transfers are deleted (their finalizer cleans up).
 * Any other failure (the API server, the store) is returned: the runtime
 * retries with backoff and the Backup stays InProgress.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_priv.h"
#include "control/cli/cli.h"
#include "control/xfer/xfer.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"

#define BK_DEFAULT_REPO	     "default"
#define BK_WARN_KEEP	     20 /* warningMessages kept in the status */
#define BK_KUBE_SYSTEM	     "kube-system"
#define BK_MSG_MAX	     256
#define BK_LABEL_UID	     "ferry.io/backup-uid" /* on a Backup's VolumeTransfers */
#define BK_ANN_BACKUP	     "ferry.io/backup"	   /* "namespace/name" of their Backup */
#define BK_WAIT_MS	     5000		   /* a running transfer looked at again */
#define BK_PENDING	     2			   /* bk_run(): transfers still run */
#define BK_VELERO_HOOK	     "hook.backup.velero.io/command\""
#define BK_EXPIRY_RECHECK_MS 3600000u /* an expiry further off: looked at hourly */

const struct k8s_resource cluster_repositories =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "repositories", "Repository", true);

/* the Backup whose volume a VolumeTransfer moves (its annotation) */
static void transfer_to_backup(const struct k8s_obj *vt, k8s_key_fn add, void *q)
{
	const char *key = k8s_obj_annotation(vt, BK_ANN_BACKUP);

	if (key && strchr(key, '/') && strlen(key) <= 2 * CLUSTER_NAME_MAX + 1)
		add(q, key);
}

static const struct k8s_watch backup_watches[] = {
	{.resource = &cluster_backups},
	{.resource = &xfer_volumetransfers,
	 .own_ns = true,
	 .map = K8S_MAP_FN,
	 .map_fn = transfer_to_backup},
};

/* the condition's message: read by the runtime on this thread after the call */
static _Thread_local char bk_condition_msg[BK_MSG_MAX];

/* what a volume's transfer read, and whether from the driver's changed blocks */
struct bk_read {
	int64_t bytes;
	bool cbt;
};

/* objects collected of one kind (the log) */
struct bk_kind {
	char kind[64];
	uint64_t n;
};

/* one reconcile */
struct bk {
	const struct k8s_reconcile_req *req;
	const char *ns, *name;
	const struct k8s_obj *spec; /* NULL: an empty spec */
	struct cluster_repo rp;
	struct dp_repo *repo; /* rp's */
	struct dp_archive *archive;
	struct cluster_sel *sel;
	int64_t expiry_s; /* spec.ttl in seconds, 0 for none */
	char cluster[CLUSTER_NAME_MAX + 1];
	char record_id[65];
	int64_t start_ns;
	char invalid[BK_MSG_MAX]; /* a validation failure, "" for none */
	/* the outcome */
	uint64_t total, stored, warnings, errors;
	char (*msgs)[BK_MSG_MAX];
	size_t nmsgs;
	/* the volumes: those stored (for the record), and the transfers' progress */
	struct dp_record_volume *vols;
	struct bk_read *reads; /* beside vols: what each transfer read */
	size_t nvols;
	uint64_t vol_total, vol_done, vol_failed;
	int64_t bytes_total, bytes_done;
	bool pending;
	/* the log: this pass's volumes, every warning and error, the objects by kind */
	struct cluster_log vlog, notes;
	struct bk_kind *kinds;
	size_t nkinds;
};

static void bk_fini(struct bk *b)
{
	for (size_t i = 0; i < b->nvols; i++) {
		free(b->vols[i].namespace);
		free(b->vols[i].pvc);
		free(b->vols[i].volume);
	}
	free(b->vols);
	free(b->reads);
	dp_archive_free(b->archive);
	cluster_sel_free(b->sel);
	cluster_repo_close(&b->rp);
	free(b->msgs);
	free(b->kinds);
	cluster_log_fini(&b->vlog);
	cluster_log_fini(&b->notes);
}

/* a warning (@error false) or an error of the Backup, counted; the first kept */
static int bk_note(struct bk *b, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bk_note(struct bk *b, bool error, const char *fmt, ...)
{
	char msg[BK_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (error)
		b->errors++;
	else
		b->warnings++;
	cluster_log_add(&b->notes, k8s_now_ns(), error ? "error" : "warning", "%s", msg);
	if (b->nmsgs < BK_WARN_KEEP) {
		char(*n)[BK_MSG_MAX] = realloc(b->msgs, (b->nmsgs + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->msgs = n;
		memcpy(b->msgs[b->nmsgs++], msg, sizeof(msg));
	}
	return 0;
}

/* ------------------------------------------------------------ validation */

/* the Repository named by the Backup, its store opened and its key unlocked (repo_open.c) */
static int bk_open(struct bk *b, struct k8s_err *err)
{
	const char *rname = b->spec ? k8s_obj_str(b->spec, "/storageLocation") : NULL;
	bool named = rname && rname[0];
	int ret;

	ret = cluster_repo_open(b->req->client, named ? rname : BK_DEFAULT_REPO, true, &b->rp, err);
	b->repo = b->rp.repo;
	if (ret != 1)
		return ret;
	if (!b->rp.obj) /* no such Repository: which one */
		return cluster_refuse(b->invalid, sizeof(b->invalid), "%.200s%s", b->rp.why,
				      named ? " (spec.storageLocation)"
					    : " (no spec.storageLocation: the default one)");
	return cluster_refuse(b->invalid, sizeof(b->invalid), "%s", b->rp.why);
}

/* the cluster's id: the kube-system namespace's UID, as Velero and the record name it */
static int bk_cluster_id(struct bk *b, struct k8s_err *err)
{
	struct k8s_obj *ns = NULL;
	const char *uid;
	int ret;

	ret = k8s_get(b->req->client, &k8s_namespaces, NULL, BK_KUBE_SYSTEM, NULL, &ns, err);
	if (ret)
		return ret;
	uid = k8s_obj_get_uid(ns);
	if (!uid || !uid[0] || strlen(uid) >= sizeof(b->cluster)) {
		k8s_obj_free(ns);
		return cluster_fail(err, -EBADMSG, "ClusterIdUnknown",
				    "the namespace kube-system has no metadata.uid");
	}
	snprintf(b->cluster, sizeof(b->cluster), "%s", uid);
	k8s_obj_free(ns);
	return 0;
}

/* ------------------------------------------------------------ the status */

static int bk_write_invalid(struct bk *b, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", "FailedValidation");
	if (!ret)
		ret = k8s_obj_set_empty(st, "/validationErrors", K8S_T_ARRAY);
	if (!ret)
		ret = k8s_obj_set_str(st, "/validationErrors/-", b->invalid);
	if (!ret)
		ret = cluster_set_time(st, "/completionTimestamp", k8s_now_ns());
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(b->req->client, &cluster_backups, b->ns, b->name, st,
				    k8s_obj_get_rv(b->req->obj), err);
}

/* one volume of the record into status.volumes */
static int bk_status_volume(struct k8s_obj *st, const struct dp_record_volume *v)
{
	struct k8s_obj *o = NULL;
	int ret = k8s_obj_new(&o);

	if (!ret)
		ret = k8s_obj_set_str(o, "/namespace", v->namespace);
	if (!ret)
		ret = k8s_obj_set_str(o, "/pvc", v->pvc);
	if (!ret)
		ret = k8s_obj_set_str(o, "/volume", v->volume);
	if (!ret)
		ret = k8s_obj_set_str(o, "/phase", "Completed");
	if (!ret)
		ret = k8s_obj_set_str(o, "/snapshotId", v->snapshot);
	if (!ret)
		ret = k8s_obj_set_int(o, "/size", (int64_t)v->size);
	/* (a record that says how long it ran says what it stored, 0 too) */
	if (!ret && (v->bytes_stored || v->milliseconds))
		ret = k8s_obj_set_int(o, "/bytesNew", (int64_t)v->bytes_stored);
	if (!ret && v->milliseconds)
		ret = k8s_obj_set_int(o, "/milliseconds", (int64_t)v->milliseconds);
	if (!ret)
		ret = k8s_obj_set(st, "/volumes/-", o);
	if (ret)
		k8s_obj_free(o);
	return ret;
}

/* the status of a Backup from its record alone (cluster_priv.h) */
int cluster_backup_record_status(const struct dp_record *rec, const struct dp_repo *repo,
				 int64_t expiry_s, struct k8s_obj **out)
{
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", rec->phase);
	if (!ret)
		ret = cluster_set_time(st, "/startTimestamp", rec->time_start * 1000);
	if (!ret)
		ret = cluster_set_time(st, "/completionTimestamp", rec->time_end * 1000);
	if (!ret && expiry_s > 0 && expiry_s < CLUSTER_TIME_MAX - rec->time_start / 1000000)
		ret = cluster_set_time(st, "/expiration",
				       rec->time_start * 1000 + expiry_s * 1000000000);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/totalItems", (int64_t)rec->objects);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/itemsBackedUp", (int64_t)rec->objects);
	if (!ret)
		ret = k8s_obj_set_int(st, "/warnings", (int64_t)rec->warnings);
	if (!ret)
		ret = k8s_obj_set_int(st, "/errors", (int64_t)rec->errors);
	if (!ret && rec->cluster && strlen(rec->cluster) <= 64) /* a UID; the CRD's bound */
		ret = k8s_obj_set_str(st, "/clusterId", rec->cluster);
	if (!ret)
		ret = k8s_obj_set_str(st, "/repositoryId", dp_repo_info(repo)->id);
	if (!ret)
		ret = k8s_obj_set_str(st, "/recordId", rec->id);
	if (!ret)
		ret = k8s_obj_set_str(st, "/formatVersion", "1");
	if (!ret && rec->nvolumes) {
		ret = k8s_obj_set_int(st, "/volumeSnapshotsAttempted", (int64_t)rec->nvolumes);
		if (!ret)
			ret = k8s_obj_set_int(st, "/volumeSnapshotsCompleted",
					      (int64_t)rec->nvolumes);
		if (!ret)
			ret = k8s_obj_set_empty(st, "/volumes", K8S_T_ARRAY);
	}
	for (size_t i = 0; !ret && i < rec->nvolumes; i++)
		ret = bk_status_volume(st, &rec->volumes[i]);
	if (ret) {
		k8s_obj_free(st);
		return ret;
	}
	*out = st;
	return 0;
}

/* status.volumes[@i] (@v): what its transfer read, when this run saw it */
static int bk_status_read(const struct bk *b, struct k8s_obj *st, size_t i,
			  const struct dp_record_volume *v)
{
	char path[64];
	int ret = 0;

	for (size_t k = 0; k < b->nvols; k++) {
		if (strcmp(b->vols[k].namespace, v->namespace) || strcmp(b->vols[k].pvc, v->pvc))
			continue;
		snprintf(path, sizeof(path), "/volumes/%zu/bytesRead", i);
		ret = k8s_obj_set_int(st, path, b->reads[k].bytes);
		snprintf(path, sizeof(path), "/volumes/%zu/changedBlocksUsed", i);
		if (!ret)
			ret = k8s_obj_set_bool(st, path, b->reads[k].cbt);
		break;
	}
	return ret;
}

/* the final status, from the record (written now or found), with what this run saw */
static int bk_write_done(struct bk *b, const struct dp_record *rec, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	int ret = cluster_backup_record_status(rec, b->repo, b->expiry_s, &st);

	if (!ret && b->total > rec->objects)
		ret = k8s_obj_set_int(st, "/progress/totalItems", (int64_t)b->total);
	if (!ret)
		ret = k8s_obj_set_str(st, "/clusterId", b->cluster);
	for (size_t i = 0; !ret && i < rec->nvolumes; i++)
		ret = bk_status_read(b, st, i, &rec->volumes[i]);
	if (!ret && (rec->nvolumes || b->vol_total)) {
		uint64_t tried = b->vol_total > rec->nvolumes ? b->vol_total : rec->nvolumes;

		ret = k8s_obj_set_int(st, "/volumeSnapshotsAttempted", (int64_t)tried);
		if (!ret) /* every transfer is over */
			ret = k8s_obj_set_int(st, "/progress/volumesTotal", (int64_t)tried);
		if (!ret)
			ret = k8s_obj_set_int(st, "/progress/volumesDone", (int64_t)tried);
		if (!ret && b->vol_total)
			ret = k8s_obj_set_int(st, "/progress/bytesTotal", b->bytes_total);
		if (!ret && b->vol_total)
			ret = k8s_obj_set_int(st, "/progress/bytesDone", b->bytes_done);
		if (!ret)
			ret = k8s_obj_set_int(st, "/volumeSnapshotsCompleted",
					      (int64_t)rec->nvolumes);
		if (!ret && !rec->nvolumes)
			ret = k8s_obj_set_empty(st, "/volumes", K8S_T_ARRAY);
	}
	if (!ret && b->nmsgs) {
		ret = k8s_obj_set_empty(st, "/warningMessages", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < b->nmsgs; i++)
			ret = k8s_obj_set_str(st, "/warningMessages/-", b->msgs[i]);
	}
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(b->req->client, &cluster_backups, b->ns, b->name, st, NULL,
				    err);
}

/* ------------------------------------------------------------ the run */

/* one object of @kind collected, counted for the log (a count lost to memory is only the log's) */
static void bk_kind_count(struct bk *b, const char *kind)
{
	struct bk_kind *k;

	for (size_t i = 0; i < b->nkinds; i++)
		if (!strcmp(b->kinds[i].kind, kind)) {
			b->kinds[i].n++;
			return;
		}
	k = realloc(b->kinds, (b->nkinds + 1) * sizeof(*k));
	if (!k)
		return;
	b->kinds = k;
	snprintf(k[b->nkinds].kind, sizeof(k->kind), "%.63s", kind);
	k[b->nkinds++].n = 1;
}

static int bk_emit(void *arg, const struct cluster_item *it, const char *line, size_t len)
{
	struct bk *b = arg;
	int ret;

	b->total++;
	bk_kind_count(b, it->res->kind);
	/* Velero's exec hooks (annotations of the pod) are not run: said, once per pod */
	if (!strcmp(it->res->kind, "Pod") &&
	    memmem(line, len, BK_VELERO_HOOK, strlen(BK_VELERO_HOOK))) {
		ret = bk_note(b, false,
			      "Pod %.100s/%.100s: its Velero backup hook annotations "
			      "(pre|post.hook.backup.velero.io/command) are not run: ferry runs no "
			      "command in pods",
			      it->ns, it->name);
		if (ret)
			return ret;
	}
	ret = dp_archive_add(b->archive, line, len);
	if (ret == -EINVAL || ret == -EPERM) /* the archive goes on without it */
		return bk_note(b, true, "%.60s %.80s%s%.80s not stored: %.100s", it->res->kind,
			       it->ns, it->ns[0] ? "/" : "", it->name, dp_last_error());
	if (!ret)
		b->stored++;
	return ret;
}

/* ------------------------------------------------------------ the volumes */

/*
 * The VolumeTransfer of the Backup @uid's PVC @ns/@pvc: "bk-<uid>-<16 hex
 * digits of FNV-1a 64 of ns/pvc>", the same in every reconcile, so that a
 * restarted controller finds it by name.
 */
static int bk_transfer_name(const char *uid, const char *ns, const char *pvc,
			    char name[XFER_NAME_SIZE])
{
	uint64_t h = 0xcbf29ce484222325ull;
	int n;

	for (const char *p = ns; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	h = (h ^ '/') * 0x100000001b3ull;
	for (const char *p = pvc; *p; p++)
		h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
	n = snprintf(name, XFER_NAME_SIZE, "bk-%s-%016llx", uid, (unsigned long long)h);
	return n < 0 || n >= XFER_NAME_SIZE ? -EINVAL : 0;
}

/* whether transfer @vt is over: Completed or Failed, and nothing of it left */
static bool bk_transfer_over(const struct k8s_obj *vt)
{
	const char *phase = k8s_obj_str(vt, "/status/phase");
	bool cleaned = false;

	if (!phase || (strcmp(phase, XFER_COMPLETED) && strcmp(phase, XFER_FAILED)))
		return false;
	return !k8s_obj_bool(vt, "/status/cleanedUp", &cleaned) && cleaned;
}

/* one transfer's bytes into the progress */
static void bk_transfer_count(struct bk *b, const struct k8s_obj *vt)
{
	int64_t v;

	if (!k8s_obj_int(vt, "/status/bytesTotal", &v) && v > 0)
		b->bytes_total += v;
	if (!k8s_obj_int(vt, "/status/bytesDone", &v) && v > 0)
		b->bytes_done += v;
	if (bk_transfer_over(vt))
		b->vol_done++;
}

/* spec.changedBlocks: auto (absent), hash or none */
static const char *bk_cbt_mode(const struct bk *b)
{
	const char *m = b->spec ? k8s_obj_str(b->spec, "/changedBlocks") : NULL;

	if (m && !strcmp(m, XFER_CBT_HASH))
		return XFER_CBT_HASH;
	if (m && !strcmp(m, XFER_CBT_NONE))
		return XFER_CBT_NONE;
	return XFER_CBT_AUTO;
}

/* the VolumeTransfer @name of volume @v, from the Backup's Repository */
static int bk_transfer_create(struct bk *b, const struct cluster_volume *v, const char *name,
			      struct k8s_err *err)
{
	const char *uid = k8s_obj_get_uid(b->req->obj);
	struct xfer_repo_ref ref;
	char volume[1024], owner[2 * CLUSTER_NAME_MAX + 2];
	struct k8s_obj *o = NULL;
	int ret;

	snprintf(owner, sizeof(owner), "%s/%s", b->ns, b->name);
	if (snprintf(volume, sizeof(volume), "k8s/%s/%s/%s", b->cluster, v->ns, v->pvc) >=
	    (int)sizeof(volume))
		return cluster_fail(err, -ENAMETOOLONG, "VolumeNameTooLong",
				    "volume %s/%s: too long", v->ns, v->pvc);
	ret = k8s_obj_new_kind(&xfer_volumetransfers, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, BK_LABEL_UID, uid);
	if (!ret)
		ret = k8s_obj_set_label(o, "app.kubernetes.io/managed-by", "ferry");
	if (!ret)
		ret = k8s_obj_set_annotation(o, BK_ANN_BACKUP, owner);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/direction", "backup");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volume", volume);
	xfer_repo_ref_of_repository(b->rp.obj, &ref);
	if (!ret)
		ret = xfer_repo_ref_set(o, &ref);
	if (!ret && !dp_repo_is_encrypted(b->repo))
		ret = k8s_obj_set_bool(o, "/spec/repository/insecure", true);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/namespace", v->ns);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/persistentVolumeClaim", v->pvc);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/changedBlocks", bk_cbt_mode(b));
	if (ret) {
		k8s_obj_free(o);
		return cluster_fail(err, ret, "OutOfMemory", "a VolumeTransfer: out of memory");
	}
	ret = k8s_create(b->req->client, &xfer_volumetransfers, XFER_NS, o, NULL, NULL, err);
	k8s_obj_free(o);
	if (ret == -EEXIST) /* made meanwhile (a twin, or a cache behind): found next time */
		ret = 0;
	if (!ret)
		ctl_log(CTL_LOG_INFO, "backup %s/%s: volume %s/%s: VolumeTransfer %s/%s", b->ns,
			b->name, v->ns, v->pvc, XFER_NS, name);
	return ret;
}

/* a transfer that is over, as its status says, into the log */
static void bk_log_transfer(struct bk *b, const struct cluster_volume *v, const struct k8s_obj *vt)
{
	const char *phase = k8s_obj_str(vt, "/status/phase"),
		   *node = k8s_obj_str(vt, "/status/node");
	const char *snap = k8s_obj_str(vt, "/status/snapshotID");
	const char *parent = k8s_obj_str(vt, "/status/parentID");
	const char *msg = k8s_obj_str(vt, "/status/message");
	int64_t total = 0, fresh = 0, reused = 0;
	int64_t t0 = cluster_time_of(vt, "/status/startTime");
	int64_t t1 = cluster_time_of(vt, "/status/completionTime");
	bool ok = phase && !strcmp(phase, XFER_COMPLETED);
	double mbps = 0, secs = 0;

	k8s_obj_int(vt, "/status/bytesTotal", &total);
	k8s_obj_int(vt, "/status/bytesNew", &fresh);
	k8s_obj_int(vt, "/status/bytesReused", &reused);
	k8s_obj_num(vt, "/status/mbPerSecond", &mbps);
	/* how long it ran: its times, else its size at its rate (as the record's milliseconds) */
	if (t0 && t1 > t0)
		secs = (double)(t1 - t0) / 1e9;
	else if (mbps > 0 && total > 0)
		secs = (double)total / (mbps * 1e6);
	cluster_log_add(&b->vlog, t1 ? t1 : k8s_now_ns(), ok ? "info" : "error",
			"volume %s/%s: %s on node %s: %lld bytes, %lld new, %lld reused, %.1f s, "
			"%.1f MB/s, snapshot %s, parent %s%s%.300s (VolumeTransfer %s/%s)",
			v->ns, v->pvc, phase ? phase : "?", node ? node : "<none>",
			(long long)total, (long long)fresh, (long long)reused, secs, mbps,
			snap && snap[0] ? snap : "<none>", parent && parent[0] ? parent : "<none>",
			msg && msg[0] ? ": " : "", msg ? msg : "", XFER_NS, k8s_obj_get_name(vt));
}

/* a transfer that is over, into the record (Completed) or the errors (Failed) */
static int bk_transfer_done(struct bk *b, const struct cluster_volume *v, const struct k8s_obj *vt)
{
	const char *snap = k8s_obj_str(vt, "/status/snapshotID");
	const char *volume = k8s_obj_str(vt, "/spec/volume");
	const char *fallback = k8s_obj_str(vt, "/status/changedBlocks/fallback");
	struct dp_record_volume *n, *rv;
	const char *frz;
	struct bk_read *rd;
	bool cbt = false;
	int64_t size = 0;
	double mbps = 0;
	int ret = 0;

	if (strcmp(k8s_obj_str(vt, "/status/phase"), XFER_COMPLETED) || !snap ||
	    strlen(snap) != 64 || !volume) {
		const char *msg = k8s_obj_str(vt, "/status/message");

		b->vol_failed++;
		return bk_note(b, true, "volume %.60s/%.80s: %.150s", v->ns, v->pvc,
			       msg && msg[0] ? msg : "its transfer failed");
	}
	/* a mounted volume that could not be frozen: its snapshot is crash-consistent */
	frz = k8s_obj_str(vt, "/status/freeze/state");
	if (frz && (!strcmp(frz, XFER_FREEZE_FAILED) || (!strcmp(frz, XFER_FREEZE_SKIPPED) &&
							 k8s_obj_str(vt, "/status/freeze/node")))) {
		const char *msg = k8s_obj_str(vt, "/status/freeze/message");

		ret = bk_note(b, false, "volume %.60s/%.80s: not frozen for its snapshot: %.150s",
			      v->ns, v->pvc, msg && msg[0] ? msg : frz);
		if (ret)
			return ret;
	}
	/* read everything where changed blocks were asked for: a warning (a first backup is none) */
	if (fallback && strcmp(fallback, XFER_CBT_NO_PARENT) && strcmp(fallback, XFER_CBT_OFF))
		ret = bk_note(b, false, "volume %.60s/%.80s: the whole volume was read: %.150s",
			      v->ns, v->pvc,
			      k8s_obj_str(vt, "/status/changedBlocks/reason")
				      ? k8s_obj_str(vt, "/status/changedBlocks/reason")
				      : fallback);
	if (ret)
		return ret;
	rd = realloc(b->reads, (b->nvols + 1) * sizeof(*rd));
	if (!rd)
		return -ENOMEM;
	b->reads = rd;
	n = realloc(b->vols, (b->nvols + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	b->vols = n;
	b->reads[b->nvols].bytes = 0;
	k8s_obj_int(vt, "/status/bytesRead", &b->reads[b->nvols].bytes);
	k8s_obj_bool(vt, "/status/changedBlocks/used", &cbt);
	b->reads[b->nvols].cbt = cbt;
	rv = &b->vols[b->nvols];
	memset(rv, 0, sizeof(*rv));
	rv->namespace = strdup(v->ns);
	rv->pvc = strdup(v->pvc);
	rv->volume = strdup(volume);
	snprintf(rv->snapshot, sizeof(rv->snapshot), "%s", snap);
	k8s_obj_int(vt, "/status/bytesTotal", &size);
	rv->size = size > 0 ? (uint64_t)size : 0;
	if (!k8s_obj_int(vt, "/status/bytesNew", &size) && size > 0)
		rv->bytes_stored = (uint64_t)size;
	if (!k8s_obj_num(vt, "/status/mbPerSecond", &mbps) && mbps > 0 && rv->size)
		rv->milliseconds = (uint64_t)((double)rv->size / (mbps * 1e6) * 1e3 + 0.5);
	b->nvols++;
	return rv->namespace && rv->pvc && rv->volume ? 0 : -ENOMEM;
}

/*
 * The data of each volume taken (not skipped by a policy or by
 * spec.snapshotVolumes: false, and one that can be snapshotted: the others
 * are a warning of the collection): its transfer made if it is not there,
 * its outcome taken if it is over; b->pending while any runs.
 */
static int bk_volumes(struct bk *b, const struct cluster_collect_result *cr, struct k8s_err *err)
{
	const char *uid = k8s_obj_get_uid(b->req->obj);
	char name[XFER_NAME_SIZE];
	bool snap = true;
	int ret = 0;

	if (b->spec)
		k8s_obj_bool(b->spec, "/snapshotVolumes", &snap);
	/*
	 * A claim of a CSI driver that has no VolumeSnapshotClass is refused
	 * before any transfer is made: the Backup would miss its data, and the
	 * fix is the user's (a class, or the claim left out). hostPath, NFS and
	 * claims not bound stay warnings: no class could snapshot them.
	 */
	for (size_t i = 0; snap && i < cr->nvolumes; i++) {
		const struct cluster_volume *v = &cr->volumes[i];

		if (!v->skip && !v->snapshottable && v->driver[0] && v->pv[0])
			return cluster_refuse(
				b->invalid, sizeof(b->invalid),
				"volume %.60s/%.60s: no VolumeSnapshotClass for its driver %.60s: "
				"add one, or leave the claim out (a volume policy's skip, "
				"spec.snapshotVolumes: false)",
				v->ns, v->pvc, v->driver);
	}
	for (size_t i = 0; !ret && i < cr->nvolumes; i++) {
		const struct cluster_volume *v = &cr->volumes[i];
		struct k8s_obj *vt = NULL;

		if (v->skip || !snap || !v->snapshottable) {
			cluster_log_add(&b->vlog, k8s_now_ns(), "info",
					"volume %s/%s: its data is not backed up (%s)", v->ns,
					v->pvc,
					v->skip ? "a volume policy skips it"
					: !snap ? "spec.snapshotVolumes is false"
						: "it cannot be snapshotted: see the warnings");
			continue;
		}
		b->vol_total++;
		if (!uid || bk_transfer_name(uid, v->ns, v->pvc, name))
			return cluster_fail(
				err, -EINVAL, "BackupHasNoUid",
				"the Backup has no metadata.uid to name its transfers by");
		ret = k8s_get(b->req->client, &xfer_volumetransfers, XFER_NS, name, NULL, &vt, err);
		if (ret == -ENOENT) {
			b->pending = true;
			ret = bk_transfer_create(b, v, name, err);
			continue;
		}
		if (ret)
			break;
		bk_transfer_count(b, vt);
		if (bk_transfer_over(vt)) {
			bk_log_transfer(b, v, vt);
			ret = bk_transfer_done(b, v, vt);
			if (ret)
				cluster_fail(err, ret, "OutOfMemory", "the volumes: out of memory");
		} else {
			b->pending = true;
		}
		k8s_obj_free(vt);
	}
	return ret;
}

/* the transfers of the Backup @uid in the cache: counted, or their names taken */
struct bk_cached {
	struct bk *b;
	char (*names)[XFER_NAME_SIZE];
	size_t n;
	bool oom;
};

static int bk_cached_one(void *arg, const struct k8s_obj *vt)
{
	struct bk_cached *c = arg;
	const char *name = k8s_obj_get_name(vt);

	if (c->b) {
		bk_transfer_count(c->b, vt);
		c->n++;
		return 0;
	}
	if (name && strlen(name) < XFER_NAME_SIZE) {
		char(*n)[XFER_NAME_SIZE] = realloc(c->names, (c->n + 1) * sizeof(*n));

		if (!n) {
			c->oom = true;
			return 1;
		}
		c->names = n;
		snprintf(c->names[c->n++], XFER_NAME_SIZE, "%s", name);
	}
	return 0;
}

/* each cached VolumeTransfer labelled with the Backup's @uid */
static int bk_cached(const struct k8s_reconcile_req *req, const char *uid, struct bk_cached *c)
{
	struct k8s_selector *sel = NULL;
	struct k8s_err kerr;
	char s[sizeof(BK_LABEL_UID) + CLUSTER_NAME_MAX + 2];
	int ret;

	snprintf(s, sizeof(s), "%s=%s", BK_LABEL_UID, uid);
	ret = k8s_selector_parse(s, &sel, &kerr);
	if (ret)
		return ret;
	ret = k8s_informer_each(req->caches[1], XFER_NS, sel, bk_cached_one, c);
	k8s_selector_free(sel);
	return c->oom ? -ENOMEM : ret;
}

struct bk_owned {
	const char *owner;
	char (*names)[XFER_NAME_SIZE];
	size_t n;
	bool oom;
};

static int bk_owned_one(void *arg, const struct k8s_obj *vt)
{
	struct bk_owned *o = arg;
	const char *ann = k8s_obj_annotation(vt, BK_ANN_BACKUP);
	const char *name = k8s_obj_get_name(vt);
	char(*n)[XFER_NAME_SIZE];

	if (!ann || strcmp(ann, o->owner) || !name || strlen(name) >= XFER_NAME_SIZE)
		return 0;
	n = realloc(o->names, (o->n + 1) * sizeof(*n));
	if (!n) {
		o->oom = true;
		return 1;
	}
	o->names = n;
	snprintf(o->names[o->n++], XFER_NAME_SIZE, "%s", name);
	return 0;
}

/* delete the transfers named @names (their finalizer cleans up what each made) */
static int bk_delete_transfers(struct k8s_client *c, char (*names)[XFER_NAME_SIZE], size_t n,
			       struct k8s_err *err)
{
	struct k8s_call bg = {.propagation = "Background"};
	int ret = 0;

	for (size_t i = 0; !ret && i < n; i++) {
		ret = k8s_delete(c, &xfer_volumetransfers, XFER_NS, names[i], &bg, NULL, err);
		if (ret == -ENOENT)
			ret = 0;
	}
	return ret;
}

/* the Backup's transfers go: those found by name in this pass, and any other cached */
static int bk_forget_transfers(struct bk *b, const struct cluster_collect_result *cr,
			       struct k8s_err *err)
{
	const char *uid = k8s_obj_get_uid(b->req->obj);
	struct bk_cached c = {0};
	int ret;

	if (!uid)
		return 0;
	ret = bk_cached(b->req, uid, &c);
	for (size_t i = 0; !ret && cr && i < cr->nvolumes; i++) {
		char(*n)[XFER_NAME_SIZE] = realloc(c.names, (c.n + 1) * sizeof(*n));

		if (!n) {
			ret = -ENOMEM;
			break;
		}
		c.names = n;
		if (bk_transfer_name(uid, cr->volumes[i].ns, cr->volumes[i].pvc, c.names[c.n]))
			continue;
		for (size_t j = 0; j < c.n; j++)
			if (!strcmp(c.names[j], c.names[c.n]))
				goto next;
		c.n++;
next:;
	}
	if (ret)
		cluster_fail(err, ret, "OutOfMemory", "the transfers: out of memory");
	else
		ret = bk_delete_transfers(b->req->client, c.names, c.n, err);
	free(c.names);
	return ret;
}

/*
 * A Backup not in the cache: its transfers (found by their annotation) go
 * too, once it is known gone. A cache that has not listed the Backups yet
 * (a controller that just started, woken by a transfer's event) proves
 * nothing: looked at again later; and the API server is asked before any
 * transfer is deleted.
 */
static int bk_gone(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
		   struct k8s_err *err)
{
	char owner[2 * CLUSTER_NAME_MAX + 2];
	struct bk_owned o = {.owner = owner};
	struct k8s_obj *still = NULL;
	int ret;

	if (k8s_informer_wait_synced(req->caches[0], 0)) {
		res->requeue_after_ms = 1000;
		return 0;
	}
	snprintf(owner, sizeof(owner), "%s/%s", req->ns, req->name);
	ret = k8s_informer_each(req->caches[1], XFER_NS, NULL, bk_owned_one, &o);
	if (o.oom)
		ret = -ENOMEM;
	if (!ret && o.n) {
		ret = k8s_get(req->client, &cluster_backups, req->ns, req->name, NULL, &still, err);
		if (ret == -ENOENT)
			ret = bk_delete_transfers(req->client, o.names, o.n, err);
		else if (!ret) /* there after all: a later event of it brings it */
			res->requeue_after_ms = 1000;
		k8s_obj_free(still);
	}
	free(o.names);
	return ret;
}

/* status.progress of the volumes, written when it changed */
static int bk_write_progress(struct bk *b, struct k8s_err *err)
{
	const struct k8s_obj *o = b->req->obj;
	struct k8s_obj *st = NULL;
	int64_t was[4] = {-1, -1, -1, -1};
	int ret;

	k8s_obj_int(o, "/status/progress/volumesTotal", &was[0]);
	k8s_obj_int(o, "/status/progress/volumesDone", &was[1]);
	k8s_obj_int(o, "/status/progress/bytesTotal", &was[2]);
	k8s_obj_int(o, "/status/progress/bytesDone", &was[3]);
	if (was[0] == (int64_t)b->vol_total && was[1] == (int64_t)b->vol_done &&
	    was[2] == b->bytes_total && was[3] == b->bytes_done)
		return 0;
	ret = k8s_obj_new(&st);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/volumesTotal", (int64_t)b->vol_total);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/volumesDone", (int64_t)b->vol_done);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/bytesTotal", b->bytes_total);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/bytesDone", b->bytes_done);
	if (!ret)
		ret = k8s_obj_set_int(st, "/volumeSnapshotsAttempted", (int64_t)b->vol_total);
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(b->req->client, &cluster_backups, b->ns, b->name, st, NULL,
				    err);
}

/*
 * Transfers made by an earlier pass (status.progress.volumesTotal) that still
 * run, seen in the cache alone: the progress written, BK_PENDING returned;
 * 0 when every one is over (the full pass then looks at each by name).
 */
static int bk_waiting(struct bk *b, struct k8s_err *err)
{
	const char *uid = k8s_obj_get_uid(b->req->obj);
	struct bk_cached c = {.b = b};
	int64_t total = 0;
	int ret;

	if (!uid || k8s_obj_int(b->req->obj, "/status/progress/volumesTotal", &total) || total <= 0)
		return 0;
	ret = bk_cached(b->req, uid, &c);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the transfers: out of memory");
	if (c.n < (size_t)total || b->vol_done == c.n) {
		/*
		 * all over: the full pass looks at each by name; or fewer than
		 * made (a cache behind, or one deleted): it finds or remakes them
		 */
		b->vol_done = 0;
		b->bytes_total = b->bytes_done = 0;
		return 0;
	}
	b->vol_total = c.n;
	ret = bk_write_progress(b, err);
	return ret ? ret : BK_PENDING;
}

/* what the spec asks, checked before anything is written: the selection, the TTL */
static int bk_spec(struct bk *b, struct k8s_err *err)
{
	struct cluster_err why;
	struct ctl_err cerr;
	const char *ttl;
	int ret;

	ret = cluster_sel_parse(b->spec, &b->sel, &why);
	if (ret == -EINVAL)
		return cluster_refuse(b->invalid, sizeof(b->invalid), "%s", why.msg);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the selection: out of memory");
	ttl = b->spec ? k8s_obj_str(b->spec, "/ttl") : NULL;
	if (ttl && ctl_parse_duration(ttl, &b->expiry_s, &cerr))
		return cluster_refuse(b->invalid, sizeof(b->invalid), "spec.ttl: %s", cerr.msg);
	return 0;
}

/* the Backup's labels into @rec (borrowed strings; @rec->labels the caller frees) */
static int bk_labels(const struct bk *b, struct dp_record *rec)
{
	const struct k8s_obj *labels = k8s_obj_at(b->req->obj, "/metadata/labels");
	size_t n = 0;

	for (const struct k8s_obj *l = k8s_obj_first(labels); l; l = k8s_obj_next(l))
		n++;
	if (!n)
		return 0;
	rec->labels = calloc(n, sizeof(*rec->labels));
	if (!rec->labels)
		return -ENOMEM;
	for (const struct k8s_obj *l = k8s_obj_first(labels); l; l = k8s_obj_next(l)) {
		const char *v = k8s_obj_str(l, "");

		if (!v)
			continue;
		rec->labels[rec->nlabels].key = (char *)k8s_obj_name(l);
		rec->labels[rec->nlabels].value = (char *)v;
		rec->nlabels++;
	}
	return 0;
}

/*
 * The log of the run that ends now, as @phase, into the repository before
 * the record: composed from this last pass (the transfers' status, the
 * collection) and the Backup's own fields. Not written: a warning.
 */
static void bk_log_write(struct bk *b, const char *phase, int64_t end_ns)
{
	const char *url = k8s_obj_str(b->rp.obj, "/spec/url");
	struct cluster_log l = {0};
	char kinds[1024] = "", why[256];

	cluster_log_add(&l, b->start_ns, "info", "backup %s/%s started", b->ns, b->name);
	if (!k8s_obj_first(b->spec))
		cluster_log_add(&l, b->start_ns, "info", "spec: none (every namespace)");
	for (const struct k8s_obj *f = k8s_obj_first(b->spec); f; f = k8s_obj_next(f)) {
		char *json = k8s_obj_json(f);

		cluster_log_add(&l, b->start_ns, "info", "spec.%s: %.1000s", k8s_obj_name(f),
				json ? json : "?");
		free(json);
	}
	cluster_log_add(&l, b->start_ns, "info", "Repository %s/%s: %s, %s, repository %s",
			CLUSTER_REPO_NS, b->rp.name, url ? url : "?",
			dp_repo_is_encrypted(b->repo) ? "encrypted" : "not encrypted",
			dp_repo_info(b->repo)->id);
	if (!b->vlog.len)
		cluster_log_add(&l, end_ns, "info", "volumes: none selected");
	cluster_log_append(&l, &b->vlog);
	for (size_t i = 0; i < b->nkinds; i++)
		snprintf(kinds + strlen(kinds), sizeof(kinds) - strlen(kinds), "%s%s %llu",
			 i ? ", " : "", b->kinds[i].kind, (unsigned long long)b->kinds[i].n);
	cluster_log_add(&l, end_ns, "info", "objects: %llu collected, %llu stored%s%s",
			(unsigned long long)b->total, (unsigned long long)b->stored,
			kinds[0] ? ": " : "", kinds);
	cluster_log_append(&l, &b->notes);
	cluster_log_add(&l, end_ns, "info", "record %s: %llu objects, %zu volumes", b->record_id,
			(unsigned long long)b->stored, b->nvols);
	cluster_log_add(&l, end_ns, !strcmp(phase, "Completed") ? "info" : "warning",
			"backup %s/%s ended: %s, %llu warnings, %llu errors", b->ns, b->name, phase,
			(unsigned long long)b->warnings, (unsigned long long)b->errors);
	if (cluster_log_put(b->repo, b->record_id, NULL, NULL, NULL, &l, why, sizeof(why))) {
		ctl_log(CTL_LOG_WARN, "backup %s/%s: its log is not in the repository: %s", b->ns,
			b->name, why);
		bk_note(b, false, "the log is not in the repository: %.200s", why);
	}
	cluster_log_fini(&l);
}

static int bk_run(struct bk *b, struct dp_record **out, struct k8s_err *err)
{
	struct dp_archive_opts ao = {.sz = sizeof(ao)};
	struct cluster_collect_result cr = {0};
	struct dp_record rec = {0};
	struct cluster_err why;
	struct dp_err derr = {0};
	char *spec_json = NULL;
	int ret;

	*out = NULL;
	if (b->spec)
		k8s_obj_bool(b->spec, "/allowUnencryptedSecrets", &ao.allow_secrets);
	ao.err = &derr;
	ret = dp_archive_new(b->repo, &ao, &b->archive);
	if (ret) {
		cluster_fail(err, ret, "RepositoryUnavailable", "the object archive: %s", derr.msg);
		goto out;
	}
	ret = cluster_collect(b->req->client, b->sel, NULL, bk_emit, b, &cr, &why);
	if (ret) {
		cluster_fail(err, ret, "CollectionFailed", "collecting the objects: %s",
			     why.msg[0] ? why.msg : dp_last_error());
		goto out;
	}
	for (size_t i = 0; !ret && i < cr.nwarnings; i++) {
		/* the log says it too: a resource not listed names the rule to grant */
		ctl_log(CTL_LOG_WARN, "backup %s/%s: %s", b->ns, b->name, cr.warnings[i]);
		ret = bk_note(b, false, "%s", cr.warnings[i]);
	}
	if (!ret) {
		ret = bk_volumes(b, &cr, err);
		if (!ret && b->pending) {
			/* the archive goes unused (prune removes its chunks): taken again at the end */
			ret = bk_write_progress(b, err);
			if (!ret)
				ret = BK_PENDING;
		}
		if (ret)
			goto out;
	}
	if (!ret)
		ret = dp_archive_finish(b->archive);
	if (ret) {
		cluster_fail(err, ret, "RepositoryUnavailable", "the object archive: %s",
			     ret == -ENOMEM ? "out of memory" : dp_last_error());
		goto out;
	}
	spec_json = b->spec ? k8s_obj_json(b->spec) : strdup("{}");
	if (!spec_json) {
		ret = cluster_fail(err, -ENOMEM, "OutOfMemory", "the record: out of memory");
		goto out;
	}
	rec.name = (char *)b->name;
	rec.namespace = (char *)b->ns;
	rec.cluster = b->cluster;
	rec.phase = b->errors ? "PartiallyFailed" : "Completed";
	rec.spec = spec_json;
	rec.time_start = b->start_ns / 1000;
	rec.time_end = k8s_now_ns() / 1000;
	bk_log_write(b, rec.phase, rec.time_end * 1000); /* before the record, which is last */
	rec.warnings = b->warnings;
	rec.errors = b->errors;
	rec.volumes = b->vols;
	rec.nvolumes = b->nvols;
	ret = bk_labels(b, &rec);
	if (ret) {
		cluster_fail(err, ret, "OutOfMemory", "the record: out of memory");
		goto out;
	}
	ret = dp_record_put(b->repo, &rec, b->archive, NULL);
	if (ret && ret != -EEXIST) { /* -EEXIST: a twin wrote it meanwhile; read it below */
		cluster_fail(err, ret, "RecordNotWritten", "the backup record: %s",
			     dp_last_error());
		goto out;
	}
	ret = dp_record_get(b->repo, b->record_id, NULL, NULL, out);
	if (ret)
		cluster_fail(err, ret, "RecordUnreadable", "the backup record just written: %s",
			     dp_last_error());
	if (!ret) /* over: nothing of them pins storage; the record holds what they made */
		ret = bk_forget_transfers(b, &cr, err);
out:
	free(spec_json);
	free(rec.labels);
	cluster_collect_result_fini(&cr);
	return ret;
}

/* ------------------------------------------------------------ reconcile */

/* the Schedule that made @o ("" none): its annotation, else its label */
static const char *bk_schedule(const struct k8s_obj *o)
{
	const char *s = k8s_obj_annotation(o, CLUSTER_ANN_SCHEDULE);

	if (!s)
		s = k8s_obj_label(o, CLUSTER_LABEL_SCHEDULE);
	return s ? s : "";
}

/*
 * A Backup past its status.expiration (spec.ttl) is deleted, as Velero's
 * garbage collection does; its finalizer then forgets its record and
 * snapshots (backup_delete.c). One not yet due is looked at again then (at
 * most an hour on). A synced Backup whose Repository is ReadOnly is left:
 * its delete would be refused, and a cluster restoring from another's
 * repository must not mark every old Backup as deleting.
 */
static int bk_expire(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
		     struct k8s_err *err)
{
	int64_t exp = cluster_time_of(req->obj, "/status/expiration"), now = k8s_now_ns();
	const char *loc = k8s_obj_str(req->obj, "/spec/storageLocation");
	struct k8s_obj *repo = NULL;
	const char *mode;
	int ret;

	if (!exp)
		return 0;
	if (exp > now) {
		int64_t ms = (exp - now) / 1000000 + 1000;

		res->requeue_after_ms =
			(unsigned int)(ms > BK_EXPIRY_RECHECK_MS ? BK_EXPIRY_RECHECK_MS : ms);
		return 0;
	}
	if (cluster_backup_synced(req->obj)) {
		ret = k8s_get(req->client, &cluster_repositories, CLUSTER_NS_SYSTEM,
			      loc && loc[0] ? loc : "default", NULL, &repo, err);
		if (ret && ret != -ENOENT)
			return ret;
		mode = repo ? k8s_obj_str(repo, "/spec/accessMode") : NULL;
		ret = mode && !strcmp(mode, "ReadOnly");
		k8s_obj_free(repo);
		if (ret)
			return 0;
	}
	ret = k8s_delete(req->client, &cluster_backups, req->ns, req->name,
			 &(struct k8s_call){.pre_uid = k8s_obj_get_uid(req->obj)}, NULL, err);
	if (ret == -ENOENT || ret == -EAGAIN) { /* gone, or another one by now */
		*err = (struct k8s_err){0};
		return 0;
	}
	if (!ret)
		ctl_log(CTL_LOG_INFO, "backup %s/%s: expired (spec.ttl): deleted", req->ns,
			req->name);
	return ret;
}

/* a Backup that is done: its condition from its status; deleted once expired */
static int bk_done(const struct k8s_reconcile_req *req, const char *phase,
		   struct k8s_reconcile_res *res, struct k8s_err *err)
{
	const struct k8s_obj *o = req->obj;
	const char *why;

	res->reason = phase;
	if (!strcmp(phase, "FailedValidation") || !strcmp(phase, "Failed")) {
		why = k8s_obj_str(o, "/status/validationErrors/0");
		if (!why)
			why = k8s_obj_str(o, "/status/failureReason");
		res->message = why ? why : "";
		res->failed = true;
	} else {
		why = k8s_obj_str(o, "/status/recordId"); /* none: completed by another executor */
		snprintf(bk_condition_msg, sizeof(bk_condition_msg), "%s%s",
			 why ? "backup record " : "", why ? why : "");
		res->message = bk_condition_msg;
		if (!strcmp(phase, "Completed"))
			cluster_metrics_backup_seen(
				bk_schedule(o), cluster_time_of(o, "/status/completionTimestamp"));
	}
	return bk_expire(req, res, err);
}

static int backup_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			    struct k8s_err *err)
{
	struct bk b = {.req = req, .ns = req->ns, .name = req->name};
	struct dp_record *rec = NULL;
	const char *phase;
	int ret;

	if (!req->obj) /* gone (its finalizer forgot its record first): its transfers go */
		return bk_gone(req, res, err);
	if (k8s_obj_str(req->obj, "/metadata/deletionTimestamp"))
		return cluster_backup_delete(req, res, err); /* backup_delete.c */
	phase = k8s_obj_str(req->obj, "/status/phase");
	if (!phase)
		phase = "New";
	if (cluster_phase_done(phase))
		return bk_done(req, phase, res, err);
	if (cluster_backup_synced(req->obj)) { /* its status comes from its record: never run */
		res->reason = "Synced";
		return 0;
	}
	if (strcmp(phase, "New") && strcmp(phase, "InProgress")) {
		res->reason = "PhaseNotHandled"; /* Deleting, or a phase of another executor */
		return 0;
	}
	b.spec = k8s_obj_at(req->obj, "/spec");
	b.start_ns = cluster_time_of(req->obj, "/status/startTimestamp");
	if (!b.start_ns)
		b.start_ns = k8s_now_ns();
	/* transfers still running: the cache says so, nothing is opened */
	ret = bk_waiting(&b, err);
	if (ret == 0)
		ret = bk_open(&b, err);
	if (ret == 0)
		ret = bk_spec(&b, err);
	if (ret == 0)
		ret = bk_cluster_id(&b, err);
	if (ret == 0) {
		ret = dp_record_id(b.repo, b.cluster, b.ns, b.name, b.record_id);
		if (ret)
			cluster_fail(err, ret, "RecordUnreadable", "the record's id: %s",
				     dp_last_error());
	}
	if (ret == 0) {
		/* written by an earlier reconcile that died before the status: complete it */
		ret = dp_record_get(b.repo, b.record_id, NULL, NULL, &rec);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret)
			cluster_fail(err, ret, "RecordUnreadable", "the backup record: %s",
				     dp_last_error());
	}
	if (ret == 0 && !rec) /* before the record: its deletion then frees it */
		ret = cluster_backup_finalizer_add(req, err);
	if (ret == 0 && !rec && !strcmp(phase, "New")) {
		struct k8s_obj *st = NULL;

		ret = k8s_obj_new(&st);
		if (!ret)
			ret = k8s_obj_set_str(st, "/phase", "InProgress");
		if (!ret)
			ret = cluster_set_time(st, "/startTimestamp", b.start_ns);
		if (ret) {
			k8s_obj_free(st);
			cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
		} else {
			ret = cluster_status_patch(b.req->client, &cluster_backups, b.ns, b.name,
						   st, k8s_obj_get_rv(req->obj), err);
		}
	}
	if (ret == 0 && !rec)
		ret = bk_run(&b, &rec, err);
	else if (ret == 0) /* a record found: an earlier pass died before the status */
		ret = bk_forget_transfers(&b, NULL, err);
	if (ret == BK_PENDING) { /* transfers run: their events bring it back */
		snprintf(bk_condition_msg, sizeof(bk_condition_msg), "%llu of %llu volumes moved",
			 (unsigned long long)b.vol_done, (unsigned long long)b.vol_total);
		res->reason = "InProgress";
		res->message = bk_condition_msg;
		res->requeue_after_ms = BK_WAIT_MS;
		ret = 0;
		goto out;
	}
	if (ret == 1) { /* refused: FailedValidation, no record */
		ret = bk_write_invalid(&b, err);
		if (!ret)
			cluster_metrics_backup_ended(bk_schedule(req->obj), "FailedValidation", 0,
						     0);
		if (!ret) {
			snprintf(bk_condition_msg, sizeof(bk_condition_msg), "%s", b.invalid);
			res->reason = "FailedValidation";
			res->message = bk_condition_msg;
			res->failed = true;
		}
		goto out;
	}
	if (ret)
		goto out;
	ret = bk_write_done(&b, rec, err);
	if (ret)
		goto out;
	cluster_metrics_backup_ended(bk_schedule(req->obj), rec->phase, b.start_ns,
				     rec->time_end * 1000);
	ctl_log(CTL_LOG_INFO,
		"backup %s/%s: %s: %llu objects, %llu warnings, %llu errors, record %s", b.ns,
		b.name, rec->phase, (unsigned long long)rec->objects,
		(unsigned long long)rec->warnings, (unsigned long long)rec->errors, rec->id);
	snprintf(bk_condition_msg, sizeof(bk_condition_msg), "backup record %s", rec->id);
	res->reason = !strcmp(rec->phase, "Completed") ? "Completed" : "PartiallyFailed";
	res->message = bk_condition_msg;
out:
	dp_record_free(rec);
	bk_fini(&b);
	return ret;
}

const struct k8s_reconciler cluster_backup_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "backup",
	.watches = backup_watches,
	.nwatches = sizeof(backup_watches) / sizeof(backup_watches[0]),
	.workers = 2,
	.condition = "Ready",
	.reconcile = backup_reconcile,
};
