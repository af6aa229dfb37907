// SPDX-License-Identifier: MIT
/*
 * control/cluster/backup_delete.c - the Backup reconciler's finalizer: a
 * Backup deleted frees what it stored (cluster.h "DELETING A BACKUP").
 *
 * The finalizer goes on before a record is written (backup_ctl.c), so a
 * record of this cluster's Backup never outlives its Backup unnoticed. At
 * the deletion: the Repository of spec.storageLocation opened, refused when
 * it cannot be written (ReadOnly, unavailable) or Object Lock keeps the
 * record or a snapshot; then the snapshots the record names forgotten
 * (dp_forget()), the record forgotten with its logs (dp_record_forget()),
 * and the finalizer removed; a record never written has its logs forgotten
 * (dp_log_forget()). A failure before the finalizer goes is retried: each
 * step finds what an earlier try did (a forgotten snapshot is not there, a
 * forgotten record is -ENOENT: the finalizer goes).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "cluster_priv.h"
#include "control/cli/cli.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"
#include "s3/store.h"

#define DEL_DEFAULT_REPO "default"
#define DEL_RECHECK_S	 3600 /* a refused delete is looked at again within this */
#define DEL_LOCKED_S	 5    /* ... one the repository's lock refused, after this */
#define DEL_KEY_MAX	 80   /* "snapshots/" or "backups/" and 64 hex digits */

/* the condition's message: read by the runtime on this thread after the call */
static _Thread_local char del_msg[2 * CLUSTER_MSG_MAX];

static bool del_has_finalizer(const struct k8s_obj *o)
{
	for (const struct k8s_obj *f = k8s_obj_first(k8s_obj_at(o, "/metadata/finalizers")); f;
	     f = k8s_obj_next(f)) {
		const char *v = k8s_obj_str(f, "");

		if (v && !strcmp(v, CLUSTER_FINALIZER_RECORD))
			return true;
	}
	return false;
}

/*
 * The finalizers of @o with ours added (@add) or taken out, as a merge patch
 * of metadata that carries @o's resourceVersion: a list written meanwhile
 * (another finalizer) is a conflict, never overwritten.
 */
static int del_finalizer_patch(const struct k8s_obj *o, bool add, struct k8s_obj **out)
{
	struct k8s_obj *patch = NULL;
	int ret = k8s_obj_new(&patch);

	if (!ret)
		ret = k8s_obj_set_str(patch, "/metadata/resourceVersion", k8s_obj_get_rv(o));
	if (!ret)
		ret = k8s_obj_set_empty(patch, "/metadata/finalizers", K8S_T_ARRAY);
	for (const struct k8s_obj *f = k8s_obj_first(k8s_obj_at(o, "/metadata/finalizers"));
	     !ret && f; f = k8s_obj_next(f)) {
		const char *v = k8s_obj_str(f, "");

		if (v && strcmp(v, CLUSTER_FINALIZER_RECORD))
			ret = k8s_obj_set_str(patch, "/metadata/finalizers/-", v);
	}
	if (!ret && add)
		ret = k8s_obj_set_str(patch, "/metadata/finalizers/-", CLUSTER_FINALIZER_RECORD);
	if (ret) {
		k8s_obj_free(patch);
		return ret;
	}
	*out = patch;
	return 0;
}

int cluster_backup_finalizer_add(const struct k8s_reconcile_req *req, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL, *now = NULL;
	const char *rv;
	int ret;

	assert(req && req->obj);
	if (del_has_finalizer(req->obj))
		return 0;
	ret = del_finalizer_patch(req->obj, true, &patch);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the finalizer: out of memory");
	ret = k8s_patch(req->client, &cluster_backups, req->ns, req->name, K8S_PATCH_MERGE, patch,
			NULL, &now, err);
	k8s_obj_free(patch);
	if (ret)
		return ret;
	/* what the API server answered is the version a later patch must carry */
	rv = k8s_obj_get_rv(now);
	if (rv)
		ret = k8s_obj_set_str(req->obj, "/metadata/resourceVersion", rv);
	k8s_obj_free(now);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the finalizer: out of memory");
	return 0;
}

static int del_finalizer_remove(const struct k8s_reconcile_req *req, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL;
	int ret = del_finalizer_patch(req->obj, false, &patch);

	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the finalizer: out of memory");
	ret = k8s_patch(req->client, &cluster_backups, req->ns, req->name, K8S_PATCH_MERGE, patch,
			NULL, NULL, err);
	k8s_obj_free(patch);
	if (ret == -ENOENT) { /* gone already */
		*err = (struct k8s_err){0};
		ret = 0;
	}
	return ret;
}

/* a refusal: the Ready condition False with @reason, the finalizer kept, back in @again_s */
static int del_refuse(struct k8s_reconcile_res *res, const char *reason, int64_t again_s,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static int del_refuse(struct k8s_reconcile_res *res, const char *reason, int64_t again_s,
		      const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(del_msg, sizeof(del_msg), fmt, ap);
	va_end(ap);
	if (again_s < 1)
		again_s = 1;
	if (again_s > DEL_RECHECK_S)
		again_s = DEL_RECHECK_S;
	res->reason = reason;
	res->message = del_msg;
	res->failed = true;
	res->requeue_after_ms = (unsigned int)(again_s * 1000);
	return 0;
}

/* the record's id: the status's, else computed as the Backup reconciler computes it */
static int del_record_id(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
			 char id[65], struct k8s_err *err)
{
	const char *have = k8s_obj_str(req->obj, "/status/recordId");
	const char *cluster = k8s_obj_str(req->obj, "/status/clusterId");
	struct k8s_obj *ns = NULL;
	int ret;

	if (have && strlen(have) == 64) {
		snprintf(id, 65, "%s", have);
		return 0;
	}
	if (!cluster || !cluster[0]) {
		ret = k8s_get(req->client, &k8s_namespaces, NULL, "kube-system", NULL, &ns, err);
		if (ret)
			return ret;
		cluster = k8s_obj_get_uid(ns);
	}
	ret = cluster ? dp_record_id(r->repo, cluster, req->ns, req->name, id) : -EINVAL;
	k8s_obj_free(ns);
	if (ret)
		return cluster_fail(err, ret, "RecordUnreadable", "the record's id: %s",
				    cluster ? dp_last_error() : "the cluster's id is unknown");
	return 0;
}

/* ------------------------------------------------------------ Object Lock */

struct del_lock {
	struct s3_store *st;
	int64_t now, until; /* the latest retain-until date in the future (seconds) */
	bool hold;	    /* a legal hold */
	int err;
};

static int del_lock_version(void *arg, const char *key, const char *version_id, bool is_latest,
			    bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct del_lock *l = arg;
	struct s3_version_info vi = {0};
	int ret;

	(void)is_latest;
	(void)size;
	(void)mtime;
	if (is_delete_marker)
		return 0;
	ret = s3_store_head_version(l->st, key, version_id, &vi);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return l->err = ret;
	if (vi.retain_until > l->now && vi.retain_until > l->until)
		l->until = vi.retain_until;
	if (vi.legal_hold)
		l->hold = true;
	return 0;
}

/*
 * What Object Lock keeps of @rec's objects (its record and its snapshots'
 * manifests): @l->until and @l->hold. An unversioned store keeps nothing.
 */
static int del_locked(struct cluster_repo *r, const struct dp_record *rec, struct del_lock *l)
{
	enum s3_versioning state = S3_VERSIONING_OFF;
	char key[DEL_KEY_MAX];
	int ret;

	l->st = r->st;
	l->now = time(NULL);
	ret = s3_store_versioning(r->st, &state);
	if (ret == -EACCES) /* not allowed to know: the purge reports what stays */
		return 0;
	if (ret || state == S3_VERSIONING_OFF)
		return ret;
	snprintf(key, sizeof(key), "backups/%s", rec->id);
	ret = s3_store_list_versions(r->st, key, del_lock_version, l);
	for (size_t i = 0; !ret && i < rec->nvolumes; i++) {
		snprintf(key, sizeof(key), "snapshots/%s", rec->volumes[i].snapshot);
		ret = s3_store_list_versions(r->st, key, del_lock_version, l);
	}
	return ret ? ret : l->err;
}

/* ------------------------------------------------------------ the delete */

static int del_forget(const struct k8s_reconcile_req *req, struct cluster_repo *r,
		      const struct dp_record *rec, struct k8s_err *err)
{
	const char *ids[1] = {rec->id};
	const char **snaps = NULL;
	size_t nsnaps = 0, deleted = 0;
	int ret = 0;

	if (rec->nvolumes) {
		snaps = calloc(rec->nvolumes, sizeof(*snaps));
		if (!snaps)
			return cluster_fail(err, -ENOMEM, "OutOfMemory",
					    "forgetting: out of memory");
		for (size_t i = 0; i < rec->nvolumes; i++)
			if (rec->volumes[i].snapshot[0])
				snaps[nsnaps++] = rec->volumes[i].snapshot;
	}
	/* the snapshots first: a record forgotten first would leave them with no name */
	if (nsnaps)
		ret = dp_forget(r->repo, snaps, nsnaps, &deleted, NULL);
	free(snaps);
	if (ret) {
		cluster_fail(err, ret, ret == -EBUSY ? "RepositoryLocked" : "ForgetFailed",
			     "forgetting the snapshots of record %s: %.200s", rec->id,
			     dp_last_error());
		return ret;
	}
	ret = dp_record_forget(r->repo, ids, 1, &deleted);
	if (ret) {
		cluster_fail(err, ret, ret == -EBUSY ? "RepositoryLocked" : "ForgetFailed",
			     "forgetting record %s: %.200s", rec->id, dp_last_error());
		return ret;
	}
	ctl_log(CTL_LOG_INFO,
		"backup %s/%s deleted: record %s and %zu snapshots forgotten in Repository %s/%s; "
		"their data goes at the next prune",
		req->ns, req->name, rec->id, nsnaps, CLUSTER_NS_SYSTEM, k8s_obj_get_name(r->obj));
	return 0;
}

/*
 * The Repository's status.maintenance.pruneRequestedTime: its reconciler
 * prunes what the forget left (repo_ctl.c). Not an error of the delete when
 * it cannot be written: `ferry prune` frees the same.
 */
static void del_ask_prune(const struct k8s_reconcile_req *req, const char *rname)
{
	struct k8s_obj *st = NULL;
	struct k8s_err err = {0};
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = cluster_set_time(st, "/maintenance/pruneRequestedTime", k8s_now_ns());
	if (ret) {
		k8s_obj_free(st);
		err.code = ret;
		snprintf(err.msg, sizeof(err.msg), "out of memory");
	} else {
		ret = cluster_status_patch(req->client, &cluster_repositories, CLUSTER_NS_SYSTEM,
					   rname, st, NULL, &err);
	}
	if (ret)
		ctl_log(CTL_LOG_WARN,
			"backup %s/%s: asking Repository %s/%s for a prune: %s (its data goes at "
			"the next prune)",
			req->ns, req->name, CLUSTER_NS_SYSTEM, rname, err.msg);
}

int cluster_backup_delete(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			  struct k8s_err *err)
{
	const struct k8s_obj *spec = k8s_obj_at(req->obj, "/spec");
	const char *rname = spec ? k8s_obj_str(spec, "/storageLocation") : NULL;
	const char *keep = k8s_obj_annotation(req->obj, CLUSTER_ANN_KEEP_RECORD);
	struct cluster_repo r = {0};
	struct dp_record *rec = NULL;
	struct del_lock lock = {0};
	char why[CLUSTER_MSG_MAX], id[65], until[K8S_TIME_SIZE];
	int ret;

	assert(req->obj);
	if (!del_has_finalizer(req->obj)) /* not ours to hold: it goes when the others let it */
		return 0;
	if (keep && !strcmp(keep, "true")) {
		ctl_log(CTL_LOG_INFO, "backup %s/%s deleted, its record kept (%s)", req->ns,
			req->name, CLUSTER_ANN_KEEP_RECORD);
		return del_finalizer_remove(req, err);
	}
	if (!rname || !rname[0])
		rname = DEL_DEFAULT_REPO;
	ret = cluster_repo_open(req->client, rname, false, &r, err);
	snprintf(why, sizeof(why), "%s", ret == 1 ? r.why : "");
	if (ret < 0)
		goto out;
	if (ret == 1) {
		ret = del_refuse(
			res, "RepositoryUnavailable", 60,
			"the Backup's record cannot be deleted: %s; the finalizer %s stays "
			"(annotate %s=true to delete the Backup alone)",
			why, CLUSTER_FINALIZER_RECORD, CLUSTER_ANN_KEEP_RECORD);
		goto out;
	}
	if (cluster_repo_read_only(&r)) {
		ret = del_refuse(
			res, "RepositoryReadOnly", DEL_RECHECK_S,
			"the Repository %s/%.100s is ReadOnly: the Backup's record and "
			"snapshots are kept, and the finalizer %s stays (annotate %s=true to "
			"delete the Backup alone)",
			CLUSTER_NS_SYSTEM, rname, CLUSTER_FINALIZER_RECORD,
			CLUSTER_ANN_KEEP_RECORD);
		goto out;
	}
	ret = del_record_id(req, &r, id, err);
	if (ret)
		goto out;
	ret = dp_record_get(r.repo, id, NULL, NULL, &rec);
	if (ret == -ENOENT) { /* never written, or forgotten by an earlier try: its logs go */
		size_t logs = 0;

		ret = dp_log_forget(r.repo, id, &logs);
		if (ret)
			cluster_fail(err, ret, ret == -EBUSY ? "RepositoryLocked" : "ForgetFailed",
				     "forgetting the logs of record %s: %.200s", id,
				     dp_last_error());
		else
			ret = del_finalizer_remove(req, err);
		goto out;
	}
	if (ret) {
		cluster_fail(err, ret, "RecordUnreadable", "the backup record %s: %.200s", id,
			     dp_last_error());
		goto out;
	}
	ret = del_locked(&r, rec, &lock);
	if (ret) {
		cluster_fail(err, ret, "RepositoryUnavailable",
			     "reading Object Lock of record %s: %.200s", id, s3_last_error());
		goto out;
	}
	if (lock.until || lock.hold) {
		if (lock.until)
			k8s_time_format(lock.until * 1000000000LL, false, until);
		ret = del_refuse(res, "ObjectLocked",
				 lock.until ? lock.until - lock.now : DEL_RECHECK_S,
				 "Object Lock keeps backup record %s%s%s%s: the delete is refused "
				 "until then, and the finalizer %s stays",
				 id, lock.until ? " until " : "", lock.until ? until : "",
				 lock.hold ? " (a legal hold)" : "", CLUSTER_FINALIZER_RECORD);
		goto out;
	}
	ret = del_forget(req, &r, rec, err);
	if (ret ==
	    -EBUSY) /* a backup or a prune holds the repository: soon again, not backed off */
		ret = del_refuse(res, "RepositoryLocked", DEL_LOCKED_S,
				 "%.300s: the record and its snapshots are forgotten once the "
				 "repository is free, tried again in %d s",
				 err->msg, DEL_LOCKED_S);
	else if (!ret)
		del_ask_prune(req, rname);
	if (!ret)
		ret = del_finalizer_remove(req, err);
out:
	dp_record_free(rec);
	cluster_repo_close(&r);
	return ret;
}
