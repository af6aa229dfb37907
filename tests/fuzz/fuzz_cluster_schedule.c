// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cluster_schedule.c - the Schedule resource of
 * control/cluster/schedule.c from any JSON: the Schedule object, its
 * Backups in "items" (an array beside metadata and spec, read as a
 * reconciler reads a list), at any time.
 * Input: eight bytes of the time, one byte of flags (skipImmediately's
 * default), then the JSON.
 *
 * Properties, not only "no crash": a refusal is one line of reason, hard
 * (no Schedule) or as FailedValidation, and an invalid spec runs nothing; a
 * valid one has a zone, a label value Kubernetes takes and a name its
 * Backups' names fit; a run is for a time at or before now and is named by
 * it, the next run is after now and the requeue reaches it; the status
 * patch, applied as the API server applies a merge patch and read back,
 * gives the same status, and planning again at the same moment runs
 * nothing more and changes nothing; the Backup a run creates carries the
 * name and label; retention removes only Backups that are done, and failed
 * ones only when expired.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "control/cluster/cluster.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_BACKUPS_MAX 64

static void one_line(const char *msg, size_t size)
{
	if (!msg[0] || !memchr(msg, '\0', size) || strchr(msg, '\n'))
		abort();
}

/* RFC 7386 onto @target at @path (keys of ours have no '/' or '~'). */
static void merge_patch(struct k8s_obj *target, const char *path, const struct k8s_obj *patch)
{
	for (const struct k8s_obj *m = k8s_obj_first(patch); m; m = k8s_obj_next(m)) {
		char sub[512];

		snprintf(sub, sizeof(sub), "%s/%s", path, k8s_obj_name(m));
		if (k8s_obj_type(m, "") == K8S_T_NULL) {
			k8s_obj_remove(target, sub);
		} else if (k8s_obj_type(m, "") == K8S_T_OBJECT) {
			if (k8s_obj_type(target, sub) != K8S_T_OBJECT &&
			    k8s_obj_set_empty(target, sub, K8S_T_OBJECT))
				abort();
			merge_patch(target, sub, m);
		} else if (k8s_obj_set_copy(target, sub, m)) {
			abort();
		}
	}
}

static bool status_same(const struct cluster_schedule_status *a,
			const struct cluster_schedule_status *b)
{
	return a->phase == b->phase && !strcmp(a->validation_error, b->validation_error) &&
	       a->last_backup == b->last_backup &&
	       !strcmp(a->last_backup_name, b->last_backup_name) &&
	       a->last_schedule_time == b->last_schedule_time &&
	       a->last_skipped == b->last_skipped && a->skipped_runs == b->skipped_runs &&
	       a->skipped_more == b->skipped_more && a->skipped_first == b->skipped_first &&
	       a->skipped_last == b->skipped_last && a->skipped_reason == b->skipped_reason &&
	       a->next_run == b->next_run && !strcmp(a->last_success_name, b->last_success_name) &&
	       a->last_success_time == b->last_success_time &&
	       a->observed_generation == b->observed_generation;
}

/*
 * Whether an object holds a key twice: the API server never answers with
 * one (its decoder keeps one of them), and a merge patch onto such a
 * document here would change one copy and read back the other.
 */
static bool dup_keys(const struct k8s_obj *o, int depth)
{
	if (depth > 64)
		return true;
	for (const struct k8s_obj *m = k8s_obj_first(o); m; m = k8s_obj_next(m)) {
		const char *a = k8s_obj_name(m);

		for (const struct k8s_obj *x = k8s_obj_next(m); a && x; x = k8s_obj_next(x))
			if (!strcmp(a, k8s_obj_name(x)))
				return true;
		if (dup_keys(m, depth + 1))
			return true;
	}
	return false;
}

static bool rt_ok(int64_t t)
{
	return t == CLUSTER_NO_TIME || (t >= -9200000000LL && t <= 9200000000LL);
}

static void check_plan(struct k8s_obj *o, const struct cluster_schedule *s,
		       const struct cluster_backup_rec *recs, size_t n, int64_t now, bool dflt)
{
	struct cluster_schedule_plan p, p2;
	struct cluster_schedule s2;
	struct cluster_err err;
	struct k8s_obj *patch, *b;
	char name[CLUSTER_NAME_MAX + 1];
	bool dups;

	if (cluster_schedule_plan(s, recs, n, now, dflt, &p))
		abort();
	if ((p.action == CLUSTER_PLAN_INVALID) != (s->invalid != 0) ||
	    (!s->invalid && (p.action == CLUSTER_PLAN_PAUSED) != s->paused))
		abort();
	if (p.requeue_s < 0)
		abort();
	switch (p.action) {
	case CLUSTER_PLAN_RUN:
		if (p.slot > now || cluster_schedule_backup_name(s->name, p.slot, name) ||
		    strcmp(name, p.backup_name) || p.status.last_schedule_time != p.slot ||
		    p.status.last_backup != now)
			abort();
		if (cluster_schedule_backup(s, o, p.slot, &b, &err))
			abort();
		if (strcmp(k8s_obj_get_name(b), p.backup_name) ||
		    !k8s_obj_label(b, CLUSTER_LABEL_SCHEDULE) ||
		    strcmp(k8s_obj_label(b, CLUSTER_LABEL_SCHEDULE), s->label) ||
		    k8s_obj_type(b, "/spec") != K8S_T_OBJECT)
			abort();
		k8s_obj_free(b);
		/* fall through */
	case CLUSTER_PLAN_WAIT:
	case CLUSTER_PLAN_SKIP:
		if (p.status.next_run != CLUSTER_NO_TIME &&
		    (p.status.next_run <= now || p.requeue_s != p.status.next_run - now))
			abort();
		if (p.status.next_run == CLUSTER_NO_TIME && p.requeue_s)
			abort();
		break;
	case CLUSTER_PLAN_BUSY:
		if (!p.busy_name[0] || p.requeue_s != CLUSTER_BUSY_RECHECK_S)
			abort();
		break;
	case CLUSTER_PLAN_PAUSED:
	case CLUSTER_PLAN_INVALID:
		if (p.requeue_s || p.status.next_run != CLUSTER_NO_TIME)
			abort();
		break;
	}
	if (p.action == CLUSTER_PLAN_SKIP &&
	    (p.status.skipped_reason != CLUSTER_SKIP_IMMEDIATELY || !p.status.skipped_runs ||
	     p.status.skipped_first > p.status.skipped_last || p.status.skipped_last > now))
		abort();
	/* the status written, read back, planned again at the same moment */
	dups = dup_keys(o, 0);
	if (cluster_schedule_status_patch(&p.status, &patch))
		abort();
	merge_patch(o, "", patch);
	k8s_obj_free(patch);
	if (cluster_schedule_read(o, &s2, &err))
		abort();
	/* times outside 1678-2262 do not come back through RFC 3339 in nanoseconds */
	if (!dups && rt_ok(p.status.last_backup) && rt_ok(p.status.last_schedule_time) &&
	    rt_ok(p.status.last_skipped) && rt_ok(p.status.skipped_first) &&
	    rt_ok(p.status.skipped_last) && rt_ok(p.status.next_run) &&
	    rt_ok(p.status.last_success_time)) {
		if (s2.invalid != s->invalid || !status_same(&s2.status, &p.status))
			abort();
		if (cluster_schedule_plan(&s2, recs, n, now, dflt, &p2))
			abort();
		if (p2.status_changed || p2.action == CLUSTER_PLAN_RUN ||
		    p2.action == CLUSTER_PLAN_SKIP)
			abort();
	}
	cluster_schedule_fini(&s2);
}

static void check_retention(const struct cluster_schedule *s, const struct cluster_backup_rec *recs,
			    size_t n, int64_t now)
{
	struct cluster_retention_verdict v[FZ_BACKUPS_MAX];
	struct cluster_err err;
	int ret = cluster_schedule_retention(s, recs, n, now, v, &err);

	if (ret) {
		if (ret != -ENOMEM)
			abort();
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!v[i].remove)
			continue;
		if (s->invalid || (recs[i].phase != CLUSTER_BACKUP_COMPLETED &&
				   recs[i].phase != CLUSTER_BACKUP_PARTIALLY_FAILED &&
				   !(recs[i].phase == CLUSTER_BACKUP_FAILED && v[i].expired)))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cluster_backup_rec recs[FZ_BACKUPS_MAX];
	struct cluster_schedule s;
	struct cluster_err err;
	struct k8s_obj *o;
	uint64_t raw;
	int64_t now;
	size_t n = 0;
	bool dflt;
	int ret;

	if (size < 9 || size > 65536)
		return 0;
	memcpy(&raw, data, 8);
	dflt = data[8] & 1;
	/* 1900-2200 mostly; sometimes anywhere in the range */
	if (raw & 1)
		now = CLUSTER_TIME_MIN +
		      (int64_t)(raw % (uint64_t)(CLUSTER_TIME_MAX - CLUSTER_TIME_MIN));
	else
		now = -2208988800LL + (int64_t)(raw % 9467280000ULL);
	if (k8s_obj_parse((const char *)data + 9, size - 9, &o))
		return 0;
	ret = cluster_schedule_read(o, &s, &err);
	if (ret) {
		if (ret != -EINVAL || err.code != ret)
			abort();
		one_line(err.msg, sizeof(err.msg));
		goto out;
	}
	if (err.code || err.msg[0])
		abort();
	if (s.invalid) {
		if (s.invalid != -EINVAL || s.tz)
			abort();
		one_line(s.why, sizeof(s.why));
	} else if (!s.tz || strlen(s.name) > CLUSTER_SCHEDULE_NAME_MAX || s.why[0]) {
		abort();
	}
	if (!s.label[0] || strlen(s.label) > CLUSTER_LABEL_VALUE_MAX ||
	    (strlen(s.name) > CLUSTER_LABEL_VALUE_MAX && !ctl_label_value_valid(s.label)))
		abort();
	for (const struct k8s_obj *b = k8s_obj_first(k8s_obj_at(o, "/items"));
	     b && n < FZ_BACKUPS_MAX; b = k8s_obj_next(b)) {
		if (!cluster_backup_read(b, &recs[n]))
			n++;
	}
	check_retention(&s, recs, n, now);
	/* the plan writes its status into the object: the Backups' names point into items */
	check_plan(o, &s, recs, n, now, dflt);
out:
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
	return 0;
}
