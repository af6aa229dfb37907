// SPDX-License-Identifier: MIT
/*
 * control/cluster/schedule_ctl.c - the Schedule reconciler of `ferry
 * controller`: the decisions of schedule.c (cluster_schedule_plan(),
 * cluster_schedule_retention()) carried out over the API server.
 *
 * One reconcile of a Schedule, as cluster.h "ONE RECONCILE" says:
 *   1. read it (cluster_schedule_read()) and its Backups from the cache of
 *      the Backup watch (the label CLUSTER_LABEL_SCHEDULE of its namespace);
 *   2. plan; RUN creates the Backup (AlreadyExists: an earlier reconcile
 *      made it, which the name's determinism allows), then the status is
 *      written as a merge patch of the status subresource whenever it
 *      changed (RUN and SKIP always);
 *   3. retention: the Backups the plan's function names are deleted, each
 *      with a uid precondition, so that a Backup made again under the same
 *      name in between is not the one deleted;
 *   4. come back at the next run (at most CTL_REQUEUE_MAX_S later: a long
 *      wait is re-planned against the clock, which may have jumped), or
 *      for the earliest TTL expiry, whichever comes first.
 * A Backup's events (created, phase changed, deleted) queue its Schedule,
 * named by the annotation CLUSTER_ANN_SCHEDULE (the label value is cut for
 * names over 63 characters).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster.h"
#include "k8s/k8s.h"

#define CTL_REQUEUE_MAX_S 3600
#define CTL_BACKUPS_MAX	  100000

/* the Schedule a Backup's event concerns */
static void backup_to_schedule(const struct k8s_obj *obj, k8s_key_fn add, void *q)
{
	const char *name = k8s_obj_annotation(obj, CLUSTER_ANN_SCHEDULE);
	const char *ns = k8s_obj_get_ns(obj);
	char key[2 * (CLUSTER_NAME_MAX + 1)];

	if (!name)
		name = k8s_obj_label(obj, CLUSTER_LABEL_SCHEDULE);
	if (!name || !ns || !name[0] || strlen(name) > CLUSTER_NAME_MAX ||
	    strlen(ns) > CLUSTER_NAME_MAX)
		return;
	snprintf(key, sizeof(key), "%s/%s", ns, name);
	add(q, key);
}

static const struct k8s_watch schedule_watches[] = {
	{.resource = &cluster_schedules},
	{.resource = &cluster_backups,
	 .label_selector = CLUSTER_LABEL_SCHEDULE,
	 .map = K8S_MAP_FN,
	 .map_fn = backup_to_schedule},
};

/* the Backups of one schedule, copied out of the cache */
struct backup_set {
	const char *label;
	const char *schedule;
	struct k8s_obj **objs;
	struct cluster_backup_rec *recs;
	size_t n, cap;
	int err;
};

static int backup_collect(void *arg, const struct k8s_obj *obj)
{
	struct backup_set *set = arg;
	const char *ann = k8s_obj_annotation(obj, CLUSTER_ANN_SCHEDULE);
	struct k8s_obj *copy;

	/* a hashed label value names two schedules only by accident: the annotation decides */
	if (ann && strcmp(ann, set->schedule))
		return 0;
	if (set->n == set->cap) {
		size_t cap = set->cap ? 2 * set->cap : 16;
		struct k8s_obj **objs;

		if (cap > CTL_BACKUPS_MAX)
			return set->err = -E2BIG;
		objs = realloc(set->objs, cap * sizeof(*objs));
		if (!objs)
			return set->err = -ENOMEM;
		set->objs = objs;
		set->cap = cap;
	}
	copy = k8s_obj_dup(obj);
	if (!copy)
		return set->err = -ENOMEM;
	set->objs[set->n++] = copy;
	return 0;
}

static void backup_set_fini(struct backup_set *set)
{
	for (size_t i = 0; i < set->n; i++)
		k8s_obj_free(set->objs[i]);
	free(set->objs);
	free(set->recs);
}

static int backups_of(const struct k8s_reconcile_req *req, const struct cluster_schedule *s,
		      struct backup_set *set, struct k8s_err *err)
{
	char text[sizeof(CLUSTER_LABEL_SCHEDULE) + CLUSTER_LABEL_VALUE_MAX + 2];
	struct k8s_selector *sel = NULL;
	int ret;

	snprintf(text, sizeof(text), "%s=%s", CLUSTER_LABEL_SCHEDULE, s->label);
	ret = k8s_selector_parse(text, &sel, err);
	if (ret)
		return ret;
	set->label = s->label;
	set->schedule = s->name;
	ret = k8s_informer_each(req->caches[1], s->ns, sel, backup_collect, set);
	k8s_selector_free(sel);
	if (!ret)
		ret = set->err;
	if (!ret && set->n) {
		set->recs = calloc(set->n, sizeof(*set->recs));
		if (!set->recs)
			ret = -ENOMEM;
	}
	for (size_t i = 0; !ret && i < set->n; i++)
		ret = cluster_backup_read(set->objs[i], &set->recs[i]);
	if (ret) {
		err->code = ret;
		snprintf(err->reason, sizeof(err->reason), "BackupsUnreadable");
		snprintf(err->msg, sizeof(err->msg), "reading its Backups: %s", strerror(-ret));
	}
	return ret;
}

static int fail_with(struct k8s_err *err, int code, const char *reason,
		     const struct cluster_err *why)
{
	err->code = code;
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
	snprintf(err->msg, sizeof(err->msg), "%s", why->msg[0] ? why->msg : strerror(-code));
	return code;
}

static int create_backup(const struct k8s_reconcile_req *req, const struct cluster_schedule *s,
			 const struct cluster_schedule_plan *plan, struct k8s_err *err)
{
	struct k8s_obj *b = NULL;
	struct cluster_err why;
	int ret;

	ret = cluster_schedule_backup(s, req->obj, plan->slot, &b, &why);
	if (ret)
		return fail_with(err, ret, "BackupNotBuilt", &why);
	ret = k8s_create(req->client, &cluster_backups, s->ns, b,
			 &(struct k8s_call){.field_manager = req->field_manager}, NULL, err);
	k8s_obj_free(b);
	if (ret == -EEXIST) { /* made by an earlier reconcile that died before its status */
		*err = (struct k8s_err){0};
		ret = 0;
	}
	return ret;
}

static int write_status(const struct k8s_reconcile_req *req, const struct cluster_schedule *s,
			const struct cluster_schedule_status *st, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL;
	int ret;

	ret = cluster_schedule_status_patch(st, &patch);
	if (ret) {
		err->code = ret;
		snprintf(err->msg, sizeof(err->msg), "the status patch: %s", strerror(-ret));
		return ret;
	}
	ret = k8s_patch(req->client, &cluster_schedules, s->ns, s->name, K8S_PATCH_MERGE, patch,
			&(struct k8s_call){.subresource = "status"}, NULL, err);
	k8s_obj_free(patch);
	return ret;
}

/* delete what retention names; *@expiry_s: seconds until the next TTL expiry (0: none) */
static int apply_retention(const struct k8s_reconcile_req *req, const struct cluster_schedule *s,
			   const struct backup_set *set, int64_t now, int64_t *expiry_s,
			   struct k8s_err *err)
{
	struct cluster_retention_verdict *v;
	struct cluster_err why;
	int ret = 0;

	*expiry_s = 0;
	if (!set->n)
		return 0;
	v = calloc(set->n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	ret = cluster_schedule_retention(s, set->recs, set->n, now, v, &why);
	if (ret) {
		fail_with(err, ret, "RetentionRefused", &why);
		goto out;
	}
	for (size_t i = 0; i < set->n; i++) {
		const struct cluster_backup_rec *r = &set->recs[i];

		if (!v[i].remove) {
			/* a kept Backup with a TTL comes due later: be back then */
			if (s->ttl && r->time != CLUSTER_NO_TIME && r->time + s->ttl > now) {
				int64_t left = r->time + s->ttl - now;

				if (!*expiry_s || left < *expiry_s)
					*expiry_s = left;
			}
			continue;
		}
		ret = k8s_delete(req->client, &cluster_backups, s->ns, r->name,
				 &(struct k8s_call){.pre_uid = k8s_obj_get_uid(set->objs[i])}, NULL,
				 err);
		if (ret == -ENOENT || ret == -EAGAIN) { /* gone, or another one by now */
			*err = (struct k8s_err){0};
			ret = 0;
			continue;
		}
		if (ret)
			goto out;
	}
out:
	free(v);
	return ret;
}

static int schedule_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			      struct k8s_err *err)
{
	struct cluster_schedule s = {0};
	struct cluster_schedule_plan plan = {0};
	struct backup_set set = {0};
	struct cluster_err why;
	int64_t now = time(NULL), expiry_s = 0, requeue_s;
	int ret;

	if (!req->obj) /* deleted: its Backups stay, as Velero's do */
		return 0;
	ret = cluster_schedule_read(req->obj, &s, &why);
	if (ret) {
		fail_with(err, ret, "ScheduleUnreadable", &why);
		goto out;
	}
	ret = backups_of(req, &s, &set, err);
	if (ret)
		goto out;
	ret = cluster_schedule_plan(&s, set.recs, set.n, now, false, &plan);
	if (ret) {
		err->code = ret;
		snprintf(err->msg, sizeof(err->msg), "the clock is outside 0001-9999");
		goto out;
	}
	if (plan.action == CLUSTER_PLAN_RUN && !plan.backup_exists) {
		ret = create_backup(req, &s, &plan, err);
		if (ret)
			goto out;
	}
	if (plan.status_changed || plan.action == CLUSTER_PLAN_RUN ||
	    plan.action == CLUSTER_PLAN_SKIP) {
		ret = write_status(req, &s, &plan.status, err);
		if (ret)
			goto out;
	}
	ret = apply_retention(req, &s, &set, now, &expiry_s, err);
	if (ret)
		goto out;
	requeue_s = plan.requeue_s;
	if (expiry_s && (!requeue_s || expiry_s < requeue_s))
		requeue_s = expiry_s;
	if (requeue_s > CTL_REQUEUE_MAX_S)
		requeue_s = CTL_REQUEUE_MAX_S;
	res->requeue_after_ms = (unsigned int)(requeue_s * 1000);
	switch (plan.action) {
	case CLUSTER_PLAN_INVALID:
		res->reason = "FailedValidation";
		break;
	case CLUSTER_PLAN_PAUSED:
		res->reason = "Paused";
		break;
	case CLUSTER_PLAN_BUSY:
		res->reason = "BackupInProgress";
		break;
	default:
		res->reason = "Scheduled";
		break;
	}
out:
	backup_set_fini(&set);
	cluster_schedule_fini(&s);
	return ret;
}

const struct k8s_reconciler cluster_schedule_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "schedule",
	.watches = schedule_watches,
	.nwatches = sizeof(schedule_watches) / sizeof(schedule_watches[0]),
	.workers = 2,
	.condition = "Ready",
	.reconcile = schedule_reconcile,
};
