// SPDX-License-Identifier: MIT
/*
 * control/cluster/repo_ctl.c - Repositories: opening one (shared with the
 * Backup's delete, backup_delete.c), and the Repository reconciler of `ferry
 * controller`: validation and backup sync (cluster.h "THE REPOSITORY
 * RECONCILER").
 *
 * One reconcile of a Repository of ferry-system:
 *   1. open it (cluster_repo_open()): Available, or Unavailable and why;
 *   2. when Available, sync: dp_record_list(), and for each record whose
 *      namespace/name the Backup cache lacks, the Backup made (create, then
 *      its status: a create does not take a status); a synced Backup whose
 *      status an earlier reconcile did not write gets it now; a synced
 *      Backup of this Repository whose record is gone is deleted, its
 *      finalizer removed first;
 *   3. when a prune is due (a Backup's delete asked for one, and
 *      spec.maintenanceFrequency has passed since the last), the prune;
 *   4. the status (a merge patch of the status subresource), and back after
 *      the shorter of spec.syncPeriod and spec.validationFrequency, or when
 *      a prune asked for comes due.
 * The Backup watch is a cache only: a Backup's event queues nothing here.
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
#include "datapath/dp.h"
#include "k8s/k8s.h"
#include "s3/store.h"

#define REPO_SYNC_MAX	 100000 /* records looked at in one sync */
#define REPO_REQUEUE_MAX 3600	/* seconds */

/* ------------------------------------------------------------ helpers */

bool cluster_backup_synced(const struct k8s_obj *backup)
{
	return k8s_obj_label(backup, CLUSTER_LABEL_REPOSITORY) != NULL;
}

/* ------------------------------------------------------------ sync */

/* what one sync did: status.sync */
struct repo_sync {
	uint64_t records, created, skipped, removed;
	char skipped_why[CLUSTER_MSG_MAX]; /* the first skip's reason */
};

static int repo_patch_backup_status(const struct k8s_reconcile_req *req, const char *ns,
				    const char *name, const struct dp_record *rec,
				    const struct cluster_repo *r, const struct k8s_obj *spec,
				    struct k8s_err *err)
{
	const char *ttl = spec ? k8s_obj_str(spec, "/ttl") : NULL;
	struct k8s_obj *st = NULL;
	struct ctl_err cerr;
	int64_t ttl_s = 0;
	int ret;

	if (ttl && ctl_parse_duration(ttl, &ttl_s, &cerr))
		ttl_s = 0; /* a record's spec was checked when it ran: no expiry shown */
	ret = cluster_backup_record_status(rec, r->repo, ttl_s, &st);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "%s",
				    "a synced Backup's status: out of memory");
	return cluster_status_patch(req->client, &cluster_backups, ns, name, st, NULL, err);
}

/* the Backup made from @rec: spec, labels, annotation, finalizer; no status */
static int repo_backup_obj(const struct k8s_reconcile_req *req, const struct dp_record *rec,
			   struct k8s_obj **out)
{
	struct k8s_obj *o = NULL, *spec = NULL;
	int ret;

	*out = NULL;
	ret = k8s_obj_new_kind(&cluster_backups, rec->namespace, rec->name, &o);
	if (ret)
		return ret;
	ret = k8s_obj_parse(rec->spec, strlen(rec->spec), &spec);
	if (ret == -ENOMEM)
		goto out;
	if (ret) /* dp_record_decode() takes objects only: never here */
		ret = k8s_obj_new(&spec);
	if (!ret)
		ret = k8s_obj_set_str(spec, "/storageLocation", req->name);
	if (!ret) {
		ret = k8s_obj_set(o, "/spec", spec);
		spec = NULL;
	}
	for (size_t i = 0; !ret && i < rec->nlabels; i++)
		ret = k8s_obj_set_label(o, rec->labels[i].key, rec->labels[i].value);
	if (!ret)
		ret = k8s_obj_set_label(o, CLUSTER_LABEL_REPOSITORY, req->name);
	if (!ret)
		ret = k8s_obj_set_annotation(o, CLUSTER_ANN_RECORD, rec->id);
	if (!ret)
		ret = k8s_obj_set_empty(o, "/metadata/finalizers", K8S_T_ARRAY);
	if (!ret)
		ret = k8s_obj_set_str(o, "/metadata/finalizers/-", CLUSTER_FINALIZER_RECORD);
out:
	k8s_obj_free(spec);
	if (ret) {
		k8s_obj_free(o);
		return ret;
	}
	*out = o;
	return 0;
}

static void repo_skip(struct repo_sync *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void repo_skip(struct repo_sync *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->skipped++) {
		va_start(ap, fmt);
		vsnprintf(s->skipped_why, sizeof(s->skipped_why), fmt, ap);
		va_end(ap);
	}
}

/* one record: the Backup made when the cluster has none of its name */
static int repo_sync_one(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
			 const struct dp_record *rec, struct repo_sync *s, struct k8s_err *err)
{
	char key[2 * (CLUSTER_NAME_MAX + 1)];
	struct k8s_obj *have, *b = NULL;
	struct dp_record *again = NULL;
	int ret;

	if (strlen(rec->namespace) > CLUSTER_NAME_MAX || strlen(rec->name) > CLUSTER_NAME_MAX)
		return 0;
	snprintf(key, sizeof(key), "%s/%s", rec->namespace, rec->name);
	have = k8s_informer_get(req->caches[1], key);
	if (have) {
		const char *id = k8s_obj_annotation(have, CLUSTER_ANN_RECORD);

		ret = 0;
		/* made by a sync that ended before its status: the status now */
		if (cluster_backup_synced(have) && id && !strcmp(id, rec->id) &&
		    !k8s_obj_str(have, "/status/phase") &&
		    !k8s_obj_str(have, "/metadata/deletionTimestamp"))
			ret = repo_patch_backup_status(req, rec->namespace, rec->name, rec, r,
						       k8s_obj_at(have, "/spec"), err);
		k8s_obj_free(have);
		return ret;
	}
	/*
	 * The list may be older than the cache: a Backup deleted meanwhile
	 * forgot its record before its finalizer went, so the record is read
	 * again and a forgotten one is not brought back.
	 */
	ret = dp_record_get(r->repo, rec->id, NULL, NULL, &again);
	dp_record_free(again);
	if (ret == -ENOENT)
		return 0;
	if (ret)
		return cluster_fail(err, ret, "RecordUnreadable", "%s", dp_last_error());
	ret = repo_backup_obj(req, rec, &b);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "%s",
				    "a synced Backup: out of memory");
	ret = k8s_create(req->client, &cluster_backups, rec->namespace, b,
			 &(struct k8s_call){.field_manager = req->field_manager}, NULL, err);
	if (ret == -ENOENT) { /* its namespace is not in this cluster */
		repo_skip(s, "namespace %.63s does not exist (Backup %.100s)", rec->namespace,
			  rec->name);
		ret = 0;
		goto out;
	}
	if (ret == -EINVAL) { /* the API server refused the spec: a newer or older schema */
		repo_skip(s, "Backup %.63s/%.63s: %.100s", rec->namespace, rec->name, err->msg);
		ret = 0;
		goto out;
	}
	if (ret == -EEXIST) { /* made meanwhile, by a user or another Repository's sync */
		*err = (struct k8s_err){0};
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	ret = repo_patch_backup_status(req, rec->namespace, rec->name, rec, r,
				       k8s_obj_at(b, "/spec"), err);
	if (!ret) {
		s->created++;
		ctl_log(CTL_LOG_INFO, "repository %s: Backup %s/%s synced from record %s (%s)",
			req->name, rec->namespace, rec->name, rec->id, rec->phase);
	}
out:
	k8s_obj_free(b);
	return ret;
}

static int repo_cmp_id(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* the synced Backups of this Repository, copied out of the cache */
struct repo_mine {
	struct k8s_obj **objs;
	size_t n, cap;
	int err;
};

static int repo_collect(void *arg, const struct k8s_obj *obj)
{
	struct repo_mine *m = arg;
	struct k8s_obj *copy;

	if (m->n == m->cap) {
		size_t cap = m->cap ? 2 * m->cap : 16;
		struct k8s_obj **objs;

		if (cap > REPO_SYNC_MAX)
			return m->err = -E2BIG;
		objs = realloc(m->objs, cap * sizeof(*objs));
		if (!objs)
			return m->err = -ENOMEM;
		m->objs = objs;
		m->cap = cap;
	}
	copy = k8s_obj_dup(obj);
	if (!copy)
		return m->err = -ENOMEM;
	m->objs[m->n++] = copy;
	return 0;
}

/*
 * A synced Backup of this Repository whose record is gone (forgotten through
 * another cluster): deleted, its finalizer removed first, so that sync's
 * deletion never reaches the repository.
 */
static int repo_remove_orphan(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
			      const struct k8s_obj *b, struct repo_sync *s, struct k8s_err *err)
{
	const char *id = k8s_obj_annotation(b, CLUSTER_ANN_RECORD);
	const char *ns = k8s_obj_get_ns(b), *name = k8s_obj_get_name(b);
	struct k8s_obj *patch = NULL;
	struct dp_record *rec = NULL;
	int ret;

	ret = dp_record_get(r->repo, id, NULL, NULL, &rec);
	dp_record_free(rec);
	if (ret != -ENOENT) /* there after all, or unreadable now: kept */
		return 0;
	ret = k8s_obj_new(&patch);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/metadata/resourceVersion", k8s_obj_get_rv(b));
	if (!ret)
		ret = k8s_obj_set_null(patch, "/metadata/finalizers");
	if (ret) {
		k8s_obj_free(patch);
		return cluster_fail(err, ret, "OutOfMemory", "%s", "out of memory");
	}
	ret = k8s_patch(req->client, &cluster_backups, ns, name, K8S_PATCH_MERGE, patch, NULL, NULL,
			err);
	k8s_obj_free(patch);
	if (!ret)
		ret = k8s_delete(req->client, &cluster_backups, ns, name,
				 &(struct k8s_call){.pre_uid = k8s_obj_get_uid(b)}, NULL, err);
	if (ret == -ENOENT || ret == -EAGAIN) { /* gone, or changed: the next sync looks again */
		*err = (struct k8s_err){0};
		return 0;
	}
	if (!ret) {
		s->removed++;
		ctl_log(CTL_LOG_INFO,
			"repository %s: Backup %s/%s deleted: its record %s is no longer in the "
			"repository",
			req->name, ns, name, id);
	}
	return ret;
}

static int repo_orphans(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
			const struct dp_record *recs, size_t n, struct repo_sync *s,
			struct k8s_err *err)
{
	char text[sizeof(CLUSTER_LABEL_REPOSITORY) + CLUSTER_NAME_MAX + 2];
	struct k8s_selector *sel = NULL;
	struct repo_mine m = {0};
	const char **ids = NULL;
	int ret;

	snprintf(text, sizeof(text), "%s=%s", CLUSTER_LABEL_REPOSITORY, req->name);
	ret = k8s_selector_parse(text, &sel, err);
	if (ret)
		return ret;
	ret = k8s_informer_each(req->caches[1], NULL, sel, repo_collect, &m);
	k8s_selector_free(sel);
	if (!ret)
		ret = m.err;
	if (!ret && m.n && n) {
		ids = malloc(n * sizeof(*ids));
		if (!ids)
			ret = -ENOMEM;
		for (size_t i = 0; !ret && i < n; i++)
			ids[i] = recs[i].id;
		if (!ret)
			qsort(ids, n, sizeof(*ids), repo_cmp_id);
	}
	if (ret)
		cluster_fail(err, ret, "OutOfMemory", "%s", "the synced Backups: out of memory");
	for (size_t i = 0; !ret && i < m.n; i++) {
		const struct k8s_obj *b = m.objs[i];
		const char *id = k8s_obj_annotation(b, CLUSTER_ANN_RECORD);
		const char *phase = k8s_obj_str(b, "/status/phase");

		if (!id || strlen(id) != 64 || !phase ||
		    k8s_obj_str(b, "/metadata/deletionTimestamp"))
			continue;
		if (strcmp(phase, "Completed") && strcmp(phase, "PartiallyFailed"))
			continue;
		if (n && bsearch(&id, ids, n, sizeof(*ids), repo_cmp_id))
			continue;
		ret = repo_remove_orphan(req, r, b, s, err);
	}
	for (size_t i = 0; i < m.n; i++)
		k8s_obj_free(m.objs[i]);
	free(m.objs);
	free(ids);
	return ret;
}

/* whether the Repository is still in the cache, not being deleted */
static bool repo_still_there(const struct k8s_reconcile_req *req)
{
	struct k8s_obj *o = k8s_informer_get(req->caches[0], req->key);
	bool there = o && !k8s_obj_str(o, "/metadata/deletionTimestamp");

	k8s_obj_free(o);
	return there;
}

static int repo_sync(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
		     struct repo_sync *s, struct k8s_err *err)
{
	struct dp_record *recs = NULL;
	size_t n = 0;
	int ret;

	if (strlen(req->name) > CLUSTER_LABEL_VALUE_MAX) {
		repo_skip(s, "the Repository's name is over %d characters: no label can name it",
			  CLUSTER_LABEL_VALUE_MAX);
		return 0;
	}
	ret = dp_record_list(r->repo, &recs, &n);
	if (ret)
		return cluster_fail(err, ret, "RecordsUnreadable", "%s", dp_last_error());
	s->records = n;
	for (size_t i = 0; !ret && i < n && i < REPO_SYNC_MAX; i++) {
		if (!repo_still_there(req)) /* deleted meanwhile: it makes nothing more */
			break;
		ret = repo_sync_one(req, r, &recs[i], s, err);
	}
	if (!ret)
		ret = repo_orphans(req, r, recs, n, s, err);
	dp_record_list_free(recs, n);
	return ret;
}

/* ------------------------------------------------------------ reconcile */

static _Thread_local char repo_msg[2 * CLUSTER_MSG_MAX];

static int64_t repo_period(const struct k8s_obj *o, const char *path, int64_t dflt);

/* what a prune did: status.maintenance */
struct repo_prune {
	bool ran;
	const char *result; /* Succeeded, Failed, Busy */
	int64_t start_ns;
	double seconds;
	struct dp_prune_report r;
	char msg[CLUSTER_MSG_MAX];
};

/*
 * The prune, when one is asked for (pruneRequestedTime after lastPruneTime)
 * and spec.maintenanceFrequency has passed since the last one started.
 * Return: 0, with *@wait_s the seconds until one asked for comes due (0:
 * none waits). A failed prune is a result, not an error of the reconcile.
 */
static int repo_maintain(const struct k8s_reconcile_req *req, struct cluster_repo *r,
			 struct repo_prune *p, int64_t *wait_s)
{
	int64_t asked = cluster_time_of(req->obj, "/status/maintenance/pruneRequestedTime");
	int64_t last = cluster_time_of(req->obj, "/status/maintenance/lastPruneTime");
	int64_t freq = repo_period(req->obj, "/spec/maintenanceFrequency", CLUSTER_MAINTENANCE_S);
	int64_t now = k8s_now_ns(), due = last + freq * 1000000000LL;
	struct dp_prune_opts po = {.sz = sizeof(po), .repack_below_pct = DP_REPACK_BELOW_DEFAULT};
	int ret;

	*wait_s = 0;
	if (!asked || asked <= last || cluster_repo_read_only(r))
		return 0;
	if (last && now < due) {
		*wait_s = (due - now) / 1000000000LL + 1;
		return 0;
	}
	p->ran = true;
	p->start_ns = now;
	ctl_log(CTL_LOG_INFO, "repository %s/%s: prune (asked for by a Backup's delete)",
		CLUSTER_NS_SYSTEM, req->name);
	ret = dp_prune(r->repo, &po, &p->r);
	p->seconds = (double)(k8s_now_ns() - now) / 1e9;
	if (ret == -ENOMEM)
		return ret;
	if (ret == -EBUSY) {
		p->result = "Busy";
		snprintf(p->msg, sizeof(p->msg),
			 "the repository is locked (a backup or another prune runs): tried again "
			 "at the next reconcile");
		*wait_s = CLUSTER_SYNC_PERIOD_S;
	} else if (ret) {
		p->result = "Failed";
		snprintf(p->msg, sizeof(p->msg), "%.250s", dp_last_error());
	} else {
		p->result = "Succeeded";
		snprintf(p->msg, sizeof(p->msg),
			 "%llu packs deleted, %llu repacked, %llu bytes freed",
			 (unsigned long long)p->r.packs_deleted,
			 (unsigned long long)p->r.packs_repacked,
			 (unsigned long long)p->r.bytes_freed);
	}
	cluster_metrics_prune_ended(req->name, p->result, ret ? 0 : p->r.bytes_freed);
	ctl_log(ret ? CTL_LOG_WARN : CTL_LOG_INFO, "repository %s/%s: prune %s in %.1f s: %s",
		CLUSTER_NS_SYSTEM, req->name, p->result, p->seconds, p->msg);
	return 0;
}

/* status.maintenance of @p */
static int repo_prune_status(struct k8s_obj *patch, const struct repo_prune *p)
{
	int ret = 0;

	if (!p->ran)
		return 0;
	if (strcmp(p->result, "Busy")) /* a prune that could not start is not the last one */
		ret = cluster_set_time(patch, "/status/maintenance/lastPruneTime", p->start_ns);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/maintenance/lastPruneResult", p->result);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/maintenance/message", p->msg);
	if (!ret)
		ret = k8s_obj_set_int(patch, "/status/maintenance/packsDeleted",
				      (int64_t)p->r.packs_deleted);
	if (!ret)
		ret = k8s_obj_set_int(patch, "/status/maintenance/bytesFreed",
				      (int64_t)p->r.bytes_freed);
	if (!ret)
		ret = k8s_obj_set_num(patch, "/status/maintenance/durationSeconds",
				      (double)(int64_t)(p->seconds * 1000) / 1000);
	return ret;
}

/* a duration of the spec in seconds, @dflt when absent or not one */
static int64_t repo_period(const struct k8s_obj *o, const char *path, int64_t dflt)
{
	const char *s = k8s_obj_str(o, path);
	struct ctl_err cerr;
	int64_t v = 0;

	if (!s || ctl_parse_duration(s, &v, &cerr))
		return dflt;
	if (v <= 0 && s[0] >= '1' && s[0] <= '9')
		return 1; /* "500ms": whole seconds are the period's unit, the shortest is one */
	return v > 0 ? v : dflt;
}

static int repo_write_status(const struct k8s_reconcile_req *req, const struct cluster_repo *r,
			     const char *why, const struct repo_sync *s, bool synced,
			     const struct repo_prune *p, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL;
	int64_t gen = 0, now = k8s_now_ns();
	int ret = k8s_obj_new(&patch);

	k8s_obj_int(req->obj, "/metadata/generation", &gen);
	if (!ret)
		ret = k8s_obj_set_str(patch, "/status/phase", why[0] ? "Unavailable" : "Available");
	if (!ret)
		ret = why[0] ? k8s_obj_set_str(patch, "/status/message", why)
			     : k8s_obj_set_null(patch, "/status/message");
	if (!ret)
		ret = cluster_set_time(patch, "/status/lastValidationTime", now);
	if (!ret)
		ret = k8s_obj_set_int(patch, "/status/observedGeneration", gen);
	if (!ret && r->repo) {
		ret = k8s_obj_set_str(patch, "/status/repositoryId", dp_repo_info(r->repo)->id);
		if (!ret)
			ret = k8s_obj_set_str(patch, "/status/encryption",
					      dp_repo_is_encrypted(r->repo) ? "aes-256-gcm"
									    : "none");
	}
	if (!ret && synced) {
		ret = cluster_set_time(patch, "/status/sync/lastSyncTime", now);
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/sync/records", (int64_t)s->records);
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/sync/created", (int64_t)s->created);
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/sync/removed", (int64_t)s->removed);
		if (!ret)
			ret = k8s_obj_set_int(patch, "/status/sync/skipped", (int64_t)s->skipped);
		if (!ret)
			ret = s->skipped ? k8s_obj_set_str(patch, "/status/sync/message",
							   s->skipped_why)
					 : k8s_obj_set_null(patch, "/status/sync/message");
	}
	if (!ret)
		ret = repo_prune_status(patch, p);
	if (ret) {
		k8s_obj_free(patch);
		return cluster_fail(err, ret, "OutOfMemory", "%s",
				    "the status patch: out of memory");
	}
	ret = k8s_patch(req->client, &cluster_repositories, req->ns, req->name, K8S_PATCH_MERGE,
			patch, &(struct k8s_call){.subresource = "status"}, NULL, err);
	k8s_obj_free(patch);
	return ret;
}

static int repo_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			  struct k8s_err *err)
{
	struct cluster_repo r = {0};
	struct repo_sync s = {0};
	struct repo_prune p = {0};
	char why[CLUSTER_MSG_MAX];
	int64_t period, vf, wait_s = 0;
	bool synced = false;
	int ret;

	if (!req->obj) /* deleted: its Backups and the repository stay */
		return 0;
	period = repo_period(req->obj, "/spec/syncPeriod", CLUSTER_SYNC_PERIOD_S);
	vf = repo_period(req->obj, "/spec/validationFrequency", period);
	if (vf < period)
		period = vf;
	if (period > REPO_REQUEUE_MAX)
		period = REPO_REQUEUE_MAX;
	ret = cluster_repo_open(req->client, req->name, false, &r, err);
	snprintf(why, sizeof(why), "%s", ret == 1 ? r.why : "");
	if (ret < 0)
		goto out;
	if (ret == 0) {
		ret = repo_sync(req, &r, &s, err);
		if (ret)
			goto out;
		synced = true;
		ret = repo_maintain(req, &r, &p, &wait_s);
		if (ret) {
			cluster_fail(err, ret, "OutOfMemory", "%s", "the prune: out of memory");
			goto out;
		}
	}
	ret = repo_write_status(req, &r, why, &s, synced, &p, err);
	if (ret)
		goto out;
	if (wait_s && wait_s < period)
		period = wait_s;
	res->requeue_after_ms = (unsigned int)(period * 1000);
	if (why[0]) {
		snprintf(repo_msg, sizeof(repo_msg), "%s", why);
		res->reason = "Unavailable";
		res->failed = true;
	} else {
		snprintf(repo_msg, sizeof(repo_msg), "%s, %llu backup records%s%s",
			 cluster_repo_read_only(&r) ? "ReadOnly" : "ReadWrite",
			 (unsigned long long)s.records, s.skipped ? "; not synced: " : "",
			 s.skipped ? s.skipped_why : "");
		res->reason = "Available";
	}
	res->message = repo_msg;
out:
	cluster_repo_close(&r);
	return ret;
}

/* Backups are a cache here: sync looks at them every period, no event queues it */
static void repo_backup_none(const struct k8s_obj *obj, k8s_key_fn add, void *q)
{
	(void)obj;
	(void)add;
	(void)q;
}

static const struct k8s_watch repo_watches[] = {
	{.resource = &cluster_repositories, .own_ns = true},
	{.resource = &cluster_backups, .map = K8S_MAP_FN, .map_fn = repo_backup_none},
};

const struct k8s_reconciler cluster_repository_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "repository",
	.watches = repo_watches,
	.nwatches = sizeof(repo_watches) / sizeof(repo_watches[0]),
	.workers = 1,
	.condition = "Ready",
	.reconcile = repo_reconcile,
};
