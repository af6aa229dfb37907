// SPDX-License-Identifier: MIT
/*
 * control/cluster/schedule.c - the Schedule resource of cluster.h: its
 * spec and status read from an API object, the plan of one reconcile, the
 * Backup a run creates, the status patch, and retention over the
 * schedule's Backups through the datapath's dp_retention_select().
 *
 * Everything here works on values: a struct k8s_obj the caller read (or a
 * manifest), the time the caller passes. The reconciler that calls it does
 * the API calls, so that every rule can be tested from tables.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster_priv.h"
#include "control/cli/cli.h"
#include "k8s/k8s.h"

const struct k8s_resource cluster_schedules =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "schedules", "Schedule", true);
const struct k8s_resource cluster_backups =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "backups", "Backup", true);

#define SCHED_API_VERSION CLUSTER_API_GROUP "/" CLUSTER_API_VERSION
#define TIME_TEXT_MAX	  32

static const char *const phase_names[] = {
	[CLUSTER_SCHEDULE_NEW] = "New",
	[CLUSTER_SCHEDULE_ENABLED] = "Enabled",
	[CLUSTER_SCHEDULE_PAUSED] = "Paused",
	[CLUSTER_SCHEDULE_FAILED_VALIDATION] = "FailedValidation",
};

static const char *const action_names[] = {
	[CLUSTER_PLAN_WAIT] = "Wait",	  [CLUSTER_PLAN_RUN] = "Run",
	[CLUSTER_PLAN_SKIP] = "Skip",	  [CLUSTER_PLAN_BUSY] = "Busy",
	[CLUSTER_PLAN_PAUSED] = "Paused", [CLUSTER_PLAN_INVALID] = "Invalid",
};

static const char *const skip_reason_names[] = {
	[CLUSTER_SKIP_NONE] = "",
	[CLUSTER_SKIP_MISSED] = "Missed",
	[CLUSTER_SKIP_IMMEDIATELY] = "SkipImmediately",
};

/* spec.retention's keys, in enum dp_keep_rule's order */
static const char *const keep_keys[DP_KEEP_NCOUNTS] = {
	[DP_KEEP_LAST] = "last",     [DP_KEEP_HOURLY] = "hourly",   [DP_KEEP_DAILY] = "daily",
	[DP_KEEP_WEEKLY] = "weekly", [DP_KEEP_MONTHLY] = "monthly", [DP_KEEP_YEARLY] = "yearly",
};

static const char *const spec_keys[] = {
	"schedule",
	"timeZone",
	"paused",
	"skipImmediately",
	"template",
	"retention",
	"useOwnerReferencesInBackup",
};

const char *cluster_schedule_phase_name(enum cluster_schedule_phase p)
{
	if ((unsigned int)p >= sizeof(phase_names) / sizeof(phase_names[0]))
		return "?";
	return phase_names[p];
}

const char *cluster_plan_action_name(enum cluster_plan_action a)
{
	if ((unsigned int)a >= sizeof(action_names) / sizeof(action_names[0]))
		return "?";
	return action_names[a];
}

/* ------------------------------------------------------------------ times */

static bool sched_time_ok(int64_t t)
{
	return t >= CLUSTER_TIME_MIN && t <= CLUSTER_TIME_MAX;
}

/* An RFC 3339 time at @path, in whole seconds (rounded down); CLUSTER_NO_TIME if none parses. */
static int64_t sched_time_at(const struct k8s_obj *o, const char *path)
{
	const char *s = k8s_obj_str(o, path);
	int64_t ns;

	if (!s || k8s_time_parse(s, &ns))
		return CLUSTER_NO_TIME;
	return cal_floor_div(ns, 1000000000);
}

/* @t as "2024-05-01T00:00:00Z" (any time of the range, beyond what int64 nanoseconds hold) */
static void sched_time_text(int64_t t, char buf[TIME_TEXT_MAX])
{
	int n = cluster_tz_format(NULL, t, buf, TIME_TEXT_MAX);

	assert(n > 0);
	(void)n;
}

/* ------------------------------------------------------------------ names */

void cluster_schedule_label_value(const char *name, char *out)
{
	size_t len = strlen(name);
	uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a, 64 bits */

	if (len <= CLUSTER_LABEL_VALUE_MAX) {
		memcpy(out, name, len + 1);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= 0x100000001b3ULL;
	}
	snprintf(out, CLUSTER_LABEL_VALUE_MAX + 1, "%.53s%010llx", name,
		 (unsigned long long)(h & 0xffffffffffULL));
}

int cluster_schedule_backup_name(const char *name, int64_t slot, char *out)
{
	struct cluster_civil w;

	if (strlen(name) > CLUSTER_SCHEDULE_NAME_MAX)
		return -ENAMETOOLONG;
	if (!sched_time_ok(slot) || cluster_tz_local(NULL, slot, &w, NULL))
		return -ERANGE;
	snprintf(out, CLUSTER_NAME_MAX + 1, "%s-%04d%02d%02d%02d%02d%02d", name, w.year, w.mon,
		 w.mday, w.hour, w.min, w.sec);
	return 0;
}

/* ----------------------------------------------------------------- status */

static void status_init(struct cluster_schedule_status *st)
{
	memset(st, 0, sizeof(*st));
	st->phase = CLUSTER_SCHEDULE_NEW;
	st->last_backup = st->last_schedule_time = st->last_skipped = CLUSTER_NO_TIME;
	st->skipped_first = st->skipped_last = CLUSTER_NO_TIME;
	st->next_run = st->last_success_time = CLUSTER_NO_TIME;
}

/* The string at @path into @dst when it fits; "" otherwise. */
static void sched_str_at(const struct k8s_obj *o, const char *path, char *dst, size_t size)
{
	const char *v = k8s_obj_str(o, path);

	dst[0] = '\0';
	if (v && strlen(v) < size)
		memcpy(dst, v, strlen(v) + 1);
}

/* The status as written before; a field that does not parse is taken as absent. */
static void status_read(const struct k8s_obj *o, struct cluster_schedule_status *st)
{
	const char *phase = k8s_obj_str(o, "/status/phase");
	const char *reason = k8s_obj_str(o, "/status/skipped/reason");
	int64_t v;
	bool b;

	status_init(st);
	for (size_t i = 0; phase && i < sizeof(phase_names) / sizeof(phase_names[0]); i++)
		if (!strcmp(phase, phase_names[i]))
			st->phase = (enum cluster_schedule_phase)i;
	sched_str_at(o, "/status/validationErrors/0", st->validation_error,
		     sizeof(st->validation_error));
	st->last_backup = sched_time_at(o, "/status/lastBackup");
	sched_str_at(o, "/status/lastBackupName", st->last_backup_name,
		     sizeof(st->last_backup_name));
	st->last_schedule_time = sched_time_at(o, "/status/lastScheduleTime");
	st->last_skipped = sched_time_at(o, "/status/lastSkipped");
	if (!k8s_obj_int(o, "/status/skipped/runs", &v) && v >= 0 && v <= CLUSTER_CRON_COUNT_MAX)
		st->skipped_runs = (uint32_t)v;
	if (!k8s_obj_bool(o, "/status/skipped/more", &b))
		st->skipped_more = b;
	st->skipped_first = sched_time_at(o, "/status/skipped/first");
	st->skipped_last = sched_time_at(o, "/status/skipped/last");
	for (size_t i = 1; reason && i < sizeof(skip_reason_names) / sizeof(skip_reason_names[0]);
	     i++)
		if (!strcmp(reason, skip_reason_names[i]))
			st->skipped_reason = (enum cluster_skip_reason)i;
	if (st->skipped_reason == CLUSTER_SKIP_NONE) { /* without its reason, nothing of it */
		st->skipped_runs = 0;
		st->skipped_more = false;
		st->skipped_first = st->skipped_last = CLUSTER_NO_TIME;
	}
	st->next_run = sched_time_at(o, "/status/nextRun");
	sched_str_at(o, "/status/lastSuccessfulBackup/name", st->last_success_name,
		     sizeof(st->last_success_name));
	st->last_success_time = sched_time_at(o, "/status/lastSuccessfulBackup/time");
	if (!k8s_obj_int(o, "/status/observedGeneration", &v))
		st->observed_generation = v;
}

static bool status_equal(const struct cluster_schedule_status *a,
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

/* --------------------------------------------------------------- reading */

static bool dns_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/*
 * A DNS-1123 subdomain, as the API server takes an object's name: labels of
 * [a-z0-9]([-a-z0-9]*[a-z0-9])? joined by '.', at most @max in all; with
 * @one_label, a single label (a namespace).
 */
static bool dns_name_ok(const char *s, size_t max, bool one_label)
{
	size_t len = strlen(s);

	if (!len || len > max)
		return false;
	for (size_t i = 0; i < len; i++) {
		bool edge = i == 0 || i == len - 1 || s[i - 1] == '.' || s[i + 1] == '.';

		if (s[i] == '.' ? one_label || edge : !(dns_alnum(s[i]) || (s[i] == '-' && !edge)))
			return false;
	}
	return true;
}

/* Refuse the spec: @s->invalid and @s->why. Returns -EINVAL. */
static int spec_bad(struct cluster_schedule *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int spec_bad(struct cluster_schedule *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->why, sizeof(s->why), fmt, ap);
	va_end(ap);
	s->invalid = -EINVAL;
	return -EINVAL;
}

static bool is_absent(const struct k8s_obj *o, const char *path)
{
	enum k8s_type t = k8s_obj_type(o, path);

	return t == K8S_T_ABSENT || t == K8S_T_NULL;
}

/* An optional boolean at @path: -1 absent, 0, 1; -2 another type. */
static int opt_bool(const struct k8s_obj *o, const char *path)
{
	bool b;
	int ret = k8s_obj_bool(o, path, &b);

	if (ret == -ENOENT)
		return -1;
	return ret ? -2 : b;
}

/* The members of object @o must be among @keys[@n]. */
static int spec_known_keys(struct cluster_schedule *s, const struct k8s_obj *o, const char *where,
			   const char *const *keys, size_t n)
{
	for (const struct k8s_obj *m = k8s_obj_first(o); m; m = k8s_obj_next(m)) {
		const char *key = k8s_obj_name(m);
		char q[48], list[160] = "";
		size_t i, used = 0;

		for (i = 0; i < n && strcmp(key, keys[i]); i++)
			;
		if (i < n)
			continue;
		for (i = 0; i < n; i++)
			used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
						 i ? ", " : "", keys[i]);
		return spec_bad(s, "%s.%s: unknown field (%s takes %s)", where,
				cluster_quote(q, sizeof(q), key, strlen(key)), where, list);
	}
	return 0;
}

static int spec_template(struct cluster_schedule *s, const struct k8s_obj *o)
{
	static const char *const meta_keys[] = {"labels"};
	const struct k8s_obj *labels;
	const char *ttl;
	struct ctl_err cerr;
	char q[48], reason[200];

	if (is_absent(o, "/spec/template"))
		return 0;
	if (k8s_obj_type(o, "/spec/template") != K8S_T_OBJECT)
		return spec_bad(s, "spec.template: an object is expected (the Backup's spec)");
	if (!is_absent(o, "/spec/template/ttl")) {
		ttl = k8s_obj_str(o, "/spec/template/ttl");
		if (!ttl)
			return spec_bad(s, "spec.template.ttl: a duration string is expected, such "
					   "as \"720h\"");
		/* the parser's reason quotes the text as it is: made one printable line here */
		if (ctl_parse_duration(ttl, &s->ttl, &cerr))
			return spec_bad(
				s, "spec.template.ttl: %s",
				cluster_quote(reason, sizeof(reason), cerr.msg, sizeof(cerr.msg)));
	}
	if (is_absent(o, "/spec/template/metadata"))
		return 0;
	if (k8s_obj_type(o, "/spec/template/metadata") != K8S_T_OBJECT)
		return spec_bad(s, "spec.template.metadata: an object is expected");
	if (spec_known_keys(s, k8s_obj_at(o, "/spec/template/metadata"), "spec.template.metadata",
			    meta_keys, 1))
		return -EINVAL;
	if (is_absent(o, "/spec/template/metadata/labels"))
		return 0;
	labels = k8s_obj_at(o, "/spec/template/metadata/labels");
	if (k8s_obj_type(labels, "") != K8S_T_OBJECT)
		return spec_bad(s, "spec.template.metadata.labels: an object is expected");
	for (const struct k8s_obj *m = k8s_obj_first(labels); m; m = k8s_obj_next(m)) {
		const char *key = k8s_obj_name(m), *v = k8s_obj_str(m, "");
		char vq[48];

		cluster_quote(q, sizeof(q), key, strlen(key));
		if (!ctl_label_key_valid(key))
			return spec_bad(s, "spec.template.metadata.labels: '%s' is not a label key",
					q);
		if (!strcmp(key, CLUSTER_LABEL_SCHEDULE))
			return spec_bad(s, "spec.template.metadata.labels: " CLUSTER_LABEL_SCHEDULE
					   " is set by the Schedule itself");
		if (!v)
			return spec_bad(s, "spec.template.metadata.labels.%s: a string is expected",
					q);
		if (!ctl_label_value_valid(v))
			return spec_bad(
				s, "spec.template.metadata.labels.%s: '%s' is not a label value", q,
				cluster_quote(vq, sizeof(vq), v, strlen(v)));
	}
	return 0;
}

static int spec_retention(struct cluster_schedule *s, const struct k8s_obj *o)
{
	const struct k8s_obj *r;

	if (is_absent(o, "/spec/retention"))
		return 0;
	r = k8s_obj_at(o, "/spec/retention");
	if (k8s_obj_type(r, "") != K8S_T_OBJECT)
		return spec_bad(s, "spec.retention: an object is expected, such as {daily: 7}");
	if (spec_known_keys(s, r, "spec.retention", keep_keys, DP_KEEP_NCOUNTS))
		return -EINVAL;
	for (int i = 0; i < DP_KEEP_NCOUNTS; i++) {
		const struct k8s_obj *c = k8s_obj_key(r, keep_keys[i]);
		int64_t v;

		if (is_absent(c, ""))
			continue;
		if (k8s_obj_type(c, "") != K8S_T_NUMBER || k8s_obj_int(c, "", &v))
			return spec_bad(s, "spec.retention.%s: a whole number is expected",
					keep_keys[i]);
		if (v < 0 || v > CLUSTER_RETENTION_MAX)
			return spec_bad(s, "spec.retention.%s: %lld is outside 0-%d", keep_keys[i],
					(long long)v, CLUSTER_RETENTION_MAX);
		s->keep[i] = (uint32_t)v;
	}
	return 0;
}

/*
 * The spec: 0; -EINVAL (refused: @s->why); another -errno when the zone's
 * file could not be read, with @err.
 */
static int spec_read(const struct k8s_obj *o, struct cluster_schedule *s, struct cluster_err *err)
{
	const char *expr, *tzname = NULL, *zone;
	struct cluster_err e;
	size_t len = strlen(s->name);
	int b, ret;

	if (is_absent(o, "/spec"))
		return spec_bad(s, "spec: missing (a Schedule needs at least spec.schedule)");
	if (k8s_obj_type(o, "/spec") != K8S_T_OBJECT)
		return spec_bad(s, "spec: an object is expected");
	if (spec_known_keys(s, k8s_obj_at(o, "/spec"), "spec", spec_keys,
			    sizeof(spec_keys) / sizeof(spec_keys[0])))
		return -EINVAL;
	if (len > CLUSTER_SCHEDULE_NAME_MAX)
		return spec_bad(s,
				"metadata.name: %zu characters; a Schedule's name has at most %d, "
				"since its Backups' names add 15 (-YYYYMMDDhhmmss)",
				len, CLUSTER_SCHEDULE_NAME_MAX);
	if (is_absent(o, "/spec/schedule"))
		return spec_bad(s, "spec.schedule: missing (such as \"0 1 * * *\")");
	expr = k8s_obj_str(o, "/spec/schedule");
	if (!expr)
		return spec_bad(s, "spec.schedule: a string is expected");
	if (strlen(expr) >= sizeof(s->expr))
		return spec_bad(s, "spec.schedule: longer than %zu characters",
				sizeof(s->expr) - 1);
	memcpy(s->expr, expr, strlen(expr) + 1);
	if (cluster_cron_parse(expr, &s->cron, &e))
		return spec_bad(s, "spec.schedule: %s", e.msg);
	if (!is_absent(o, "/spec/timeZone")) {
		tzname = k8s_obj_str(o, "/spec/timeZone");
		if (!tzname)
			return spec_bad(s, "spec.timeZone: a string is expected (an IANA zone, "
					   "such as \"Europe/Berlin\")");
		if (strlen(tzname) >= sizeof(s->time_zone))
			return spec_bad(s, "spec.timeZone: longer than %d characters",
					CLUSTER_TZ_NAME_MAX);
		memcpy(s->time_zone, tzname, strlen(tzname) + 1);
	}
	if (cluster_cron_zone(&s->cron, tzname, &zone, &e))
		return spec_bad(s, "spec.timeZone: %s", e.msg);
	ret = cluster_tz_get(zone, &s->tz, &e);
	if (ret == -ENOENT || ret == -EBADMSG || ret == -EINVAL)
		return spec_bad(s, "%s: %s", s->cron.zone[0] ? "spec.schedule" : "spec.timeZone",
				e.msg);
	if (ret) {
		*err = e;
		return ret;
	}
	b = opt_bool(o, "/spec/paused");
	if (b == -2)
		return spec_bad(s, "spec.paused: true or false is expected");
	s->paused = b == 1;
	b = opt_bool(o, "/spec/skipImmediately");
	if (b == -2)
		return spec_bad(s, "spec.skipImmediately: true or false is expected");
	s->skip_immediately = b;
	b = opt_bool(o, "/spec/useOwnerReferencesInBackup");
	if (b == -2)
		return spec_bad(s, "spec.useOwnerReferencesInBackup: true or false is expected");
	if (b == 1)
		return spec_bad(s,
				"spec.useOwnerReferencesInBackup: true is refused: owned Backups "
				"go with their Schedule and cannot be synced to another "
				"cluster; ferry finds them by the label " CLUSTER_LABEL_SCHEDULE);
	ret = spec_template(s, o);
	if (!ret)
		ret = spec_retention(s, o);
	return ret;
}

int cluster_schedule_read(const struct k8s_obj *o, struct cluster_schedule *s,
			  struct cluster_err *err)
{
	const char *name, *ns;
	char q[48];
	int64_t v;
	int ret;

	memset(s, 0, sizeof(*s));
	s->created = CLUSTER_NO_TIME;
	s->skip_immediately = -1;
	status_init(&s->status);
	cluster_err_clear(err);
	if (k8s_obj_type(o, "") != K8S_T_OBJECT)
		return cluster_err_set(err, -EINVAL, "a Schedule is a JSON object");
	if (!is_absent(o, "/apiVersion") &&
	    (!k8s_obj_str(o, "/apiVersion") ||
	     strcmp(k8s_obj_str(o, "/apiVersion"), SCHED_API_VERSION)))
		return cluster_err_set(err, -EINVAL,
				       "apiVersion: a Schedule is " SCHED_API_VERSION);
	if (!is_absent(o, "/kind") &&
	    (!k8s_obj_str(o, "/kind") || strcmp(k8s_obj_str(o, "/kind"), "Schedule")))
		return cluster_err_set(err, -EINVAL, "kind: Schedule is expected");
	name = k8s_obj_str(o, "/metadata/name");
	if (!name || !*name)
		return cluster_err_set(err, -EINVAL, "metadata.name: missing");
	if (strlen(name) > CLUSTER_NAME_MAX)
		return cluster_err_set(err, -EINVAL, "metadata.name: longer than %d characters",
				       CLUSTER_NAME_MAX);
	if (!dns_name_ok(name, CLUSTER_NAME_MAX, false))
		return cluster_err_set(err, -EINVAL,
				       "metadata.name '%s': not a DNS subdomain (a-z, 0-9, '-' and "
				       "'.', starting and ending with a letter or digit)",
				       cluster_quote(q, sizeof(q), name, strlen(name)));
	memcpy(s->name, name, strlen(name) + 1);
	ns = k8s_obj_str(o, "/metadata/namespace");
	if (ns && !dns_name_ok(ns, 63, true))
		return cluster_err_set(
			err, -EINVAL,
			"metadata.namespace '%s': not a DNS label (at most 63 of a-z, "
			"0-9 and '-', starting and ending with a letter or digit)",
			cluster_quote(q, sizeof(q), ns, strlen(ns)));
	if (ns)
		memcpy(s->ns, ns, strlen(ns) + 1);
	s->created = sched_time_at(o, "/metadata/creationTimestamp");
	if (!k8s_obj_int(o, "/metadata/generation", &v))
		s->generation = v;
	cluster_schedule_label_value(s->name, s->label);
	status_read(o, &s->status);
	ret = spec_read(o, s, err);
	if (ret == -EINVAL) {
		cluster_tz_put(s->tz);
		s->tz = NULL;
		return 0;
	}
	if (ret) {
		cluster_tz_put(s->tz);
		s->tz = NULL;
	}
	return ret;
}

void cluster_schedule_fini(struct cluster_schedule *s)
{
	if (!s)
		return;
	cluster_tz_put(s->tz);
	s->tz = NULL;
}

int cluster_backup_read(const struct k8s_obj *o, struct cluster_backup_rec *r)
{
	static const struct {
		const char *name;
		enum cluster_backup_phase phase;
	} phases[] = {
		{"", CLUSTER_BACKUP_NEW},
		{"New", CLUSTER_BACKUP_NEW},
		{"Queued", CLUSTER_BACKUP_IN_PROGRESS},
		{"ReadyToStart", CLUSTER_BACKUP_IN_PROGRESS},
		{"InProgress", CLUSTER_BACKUP_IN_PROGRESS},
		{"WaitingForPluginOperations", CLUSTER_BACKUP_IN_PROGRESS},
		{"WaitingForPluginOperationsPartiallyFailed", CLUSTER_BACKUP_IN_PROGRESS},
		{"Finalizing", CLUSTER_BACKUP_IN_PROGRESS},
		{"FinalizingPartiallyFailed", CLUSTER_BACKUP_IN_PROGRESS},
		{"Completed", CLUSTER_BACKUP_COMPLETED},
		{"PartiallyFailed", CLUSTER_BACKUP_PARTIALLY_FAILED},
		{"Failed", CLUSTER_BACKUP_FAILED},
		{"FailedValidation", CLUSTER_BACKUP_FAILED},
		{"Deleting", CLUSTER_BACKUP_DELETING},
	};
	const char *phase;

	memset(r, 0, sizeof(*r));
	r->time = r->completed = CLUSTER_NO_TIME;
	if (k8s_obj_type(o, "") != K8S_T_OBJECT)
		return -EINVAL;
	r->name = k8s_obj_str(o, "/metadata/name");
	if (!r->name || !*r->name)
		return -EINVAL;
	r->phase = CLUSTER_BACKUP_OTHER;
	phase = is_absent(o, "/status/phase") ? "" : k8s_obj_str(o, "/status/phase");
	for (size_t i = 0; phase && i < sizeof(phases) / sizeof(phases[0]); i++)
		if (!strcmp(phase, phases[i].name))
			r->phase = phases[i].phase;
	if (!is_absent(o, "/metadata/deletionTimestamp"))
		r->phase = CLUSTER_BACKUP_DELETING;
	r->time = sched_time_at(o, "/status/startTimestamp");
	if (r->time == CLUSTER_NO_TIME)
		r->time = sched_time_at(o, "/metadata/creationTimestamp");
	r->completed = sched_time_at(o, "/status/completionTimestamp");
	return 0;
}

/* ----------------------------------------------------------------- the plan */

static bool backup_busy(const struct cluster_backup_rec *r)
{
	return r->phase == CLUSTER_BACKUP_NEW || r->phase == CLUSTER_BACKUP_IN_PROGRESS;
}

/* The run before @due of a schedule whose runs from @first to @due are more than one. */
static int64_t run_before(const struct cluster_schedule *s, int64_t first, int64_t due)
{
	int64_t lo = first - 1, hi = due - 1, r;

	if (s->cron.form == CLUSTER_CRON_EVERY)
		return due - s->cron.every;
	/* the largest lo with next(lo) < due: next() never decreases */
	while (hi - lo > 1) {
		int64_t mid = lo + (hi - lo) / 2;

		if (!cluster_cron_next(&s->cron, s->tz, mid, &r) && r < due)
			lo = mid;
		else
			hi = mid;
	}
	if (cluster_cron_next(&s->cron, s->tz, lo, &r))
		return first;
	return r;
}

static void plan_skipped(struct cluster_schedule_status *st, int64_t now, uint32_t runs, bool more,
			 int64_t first, int64_t last, enum cluster_skip_reason why)
{
	st->last_skipped = now;
	st->skipped_runs = runs;
	st->skipped_more = more;
	st->skipped_first = first;
	st->skipped_last = last;
	st->skipped_reason = why;
}

int cluster_schedule_plan(const struct cluster_schedule *s,
			  const struct cluster_backup_rec *backups, size_t n, int64_t now,
			  bool skip_default, struct cluster_schedule_plan *out)
{
	struct cluster_schedule_status *st = &out->status;
	const struct cluster_backup_rec *busy = NULL;
	struct cluster_cron_due due;
	bool start, skip;
	int64_t cursor;
	int ret;

	memset(out, 0, sizeof(*out));
	out->slot = CLUSTER_NO_TIME;
	*st = s->status;
	if (!sched_time_ok(now))
		return -ERANGE;
	st->observed_generation = s->generation;
	/* the newest Completed Backup; equal times: the greater name */
	for (size_t i = 0; i < n; i++) {
		const struct cluster_backup_rec *r = &backups[i];
		int64_t t = r->completed != CLUSTER_NO_TIME ? r->completed : r->time;

		if (r->phase != CLUSTER_BACKUP_COMPLETED || !r->name || t == CLUSTER_NO_TIME)
			continue;
		if (st->last_success_time == CLUSTER_NO_TIME || t > st->last_success_time ||
		    (t == st->last_success_time && strcmp(r->name, st->last_success_name) > 0)) {
			if (strlen(r->name) > CLUSTER_NAME_MAX)
				continue;
			st->last_success_time = t;
			memcpy(st->last_success_name, r->name, strlen(r->name) + 1);
		}
	}
	if (s->invalid) {
		out->action = CLUSTER_PLAN_INVALID;
		st->phase = CLUSTER_SCHEDULE_FAILED_VALIDATION;
		memcpy(st->validation_error, s->why, sizeof(st->validation_error));
		st->next_run = CLUSTER_NO_TIME;
		goto out;
	}
	st->validation_error[0] = '\0';
	if (s->paused) {
		out->action = CLUSTER_PLAN_PAUSED;
		st->phase = CLUSTER_SCHEDULE_PAUSED;
		st->next_run = CLUSTER_NO_TIME;
		goto out;
	}
	start = s->status.phase != CLUSTER_SCHEDULE_ENABLED;
	st->phase = CLUSTER_SCHEDULE_ENABLED;
	skip = s->skip_immediately < 0 ? skip_default : s->skip_immediately == 1;

	/*
	 * The cursor: the later of the last run and the time runs were skipped
	 * immediately (not missed ones: they were skipped for the run made
	 * then, which the last run already counts from); else the creation.
	 */
	cursor = s->status.last_schedule_time;
	if (cursor == CLUSTER_NO_TIME)
		cursor = s->status.last_backup;
	if (s->status.last_skipped != CLUSTER_NO_TIME &&
	    s->status.skipped_reason != CLUSTER_SKIP_MISSED &&
	    (cursor == CLUSTER_NO_TIME || s->status.last_skipped > cursor))
		cursor = s->status.last_skipped;
	if (cursor == CLUSTER_NO_TIME)
		cursor = s->created != CLUSTER_NO_TIME ? s->created : now;
	if (!sched_time_ok(cursor))
		cursor = now;
	ret = cluster_cron_due(&s->cron, s->tz, cursor, now, &due);
	assert(!ret);
	(void)ret;
	st->next_run = due.has_next ? due.next : CLUSTER_NO_TIME;
	if (!due.runs) {
		out->action = CLUSTER_PLAN_WAIT;
		goto out;
	}
	if (start && skip) {
		out->action = CLUSTER_PLAN_SKIP;
		plan_skipped(st, now, due.runs, due.more, due.first, due.due,
			     CLUSTER_SKIP_IMMEDIATELY);
		goto out;
	}
	out->slot = due.due;
	if (cluster_schedule_backup_name(s->name, due.due, out->backup_name)) {
		/* a valid spec has a short enough name, and runs are in range */
		assert(!"a run without a Backup name");
		out->action = CLUSTER_PLAN_INVALID;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (!backups[i].name)
			continue;
		if (!strcmp(backups[i].name, out->backup_name))
			out->backup_exists = true;
		else if (backup_busy(&backups[i]) && !busy)
			busy = &backups[i];
	}
	if (busy && !out->backup_exists) {
		out->action = CLUSTER_PLAN_BUSY;
		out->slot = CLUSTER_NO_TIME;
		out->backup_name[0] = '\0';
		snprintf(out->busy_name, sizeof(out->busy_name), "%s", busy->name);
		st->next_run = due.due; /* overdue: it runs when the running one ends */
		goto out;
	}
	out->action = CLUSTER_PLAN_RUN;
	st->last_schedule_time = due.due;
	st->last_backup = now;
	memcpy(st->last_backup_name, out->backup_name, sizeof(st->last_backup_name));
	if (due.runs > 1)
		plan_skipped(st, now, due.runs - 1, due.more, due.first,
			     run_before(s, due.first, due.due), CLUSTER_SKIP_MISSED);
out:
	switch (out->action) {
	case CLUSTER_PLAN_WAIT:
	case CLUSTER_PLAN_RUN:
	case CLUSTER_PLAN_SKIP:
		if (st->next_run != CLUSTER_NO_TIME)
			out->requeue_s = st->next_run > now ? st->next_run - now : 1;
		break;
	case CLUSTER_PLAN_BUSY:
		out->requeue_s = CLUSTER_BUSY_RECHECK_S;
		break;
	case CLUSTER_PLAN_PAUSED:
	case CLUSTER_PLAN_INVALID:
		break;
	}
	out->status_changed = !status_equal(st, &s->status);
	return 0;
}

/* --------------------------------------------------------- what is written */

int cluster_schedule_backup(const struct cluster_schedule *s, const struct k8s_obj *schedule,
			    int64_t slot, struct k8s_obj **out, struct cluster_err *err)
{
	const char *const label_paths[] = {"/metadata/labels", "/spec/template/metadata/labels"};
	char name[CLUSTER_NAME_MAX + 1], when[TIME_TEXT_MAX];
	const struct k8s_obj *tmpl;
	struct k8s_obj *b = NULL;
	int ret;

	*out = NULL;
	cluster_err_clear(err);
	if (s->invalid)
		return cluster_err_set(err, -EINVAL, "the Schedule is invalid: %s", s->why);
	ret = cluster_schedule_backup_name(s->name, slot, name);
	if (ret)
		return cluster_err_set(err, -EINVAL, "no Backup name for %s at %lld", s->name,
				       (long long)slot);
	ret = k8s_obj_new_kind(&cluster_backups, s->ns[0] ? s->ns : NULL, name, &b);
	if (ret)
		goto fail;
	for (size_t p = 0; p < sizeof(label_paths) / sizeof(label_paths[0]); p++) {
		const struct k8s_obj *labels = k8s_obj_at(schedule, label_paths[p]);

		for (const struct k8s_obj *m = k8s_obj_first(labels); m; m = k8s_obj_next(m)) {
			const char *v = k8s_obj_str(m, "");

			/* an empty key (a NUL in the JSON) no API server stores: not copied */
			if (!v || !k8s_obj_name(m)[0] ||
			    !strcmp(k8s_obj_name(m), CLUSTER_LABEL_SCHEDULE))
				continue;
			ret = k8s_obj_set_label(b, k8s_obj_name(m), v);
			if (ret)
				goto fail;
		}
	}
	ret = k8s_obj_set_label(b, CLUSTER_LABEL_SCHEDULE, s->label);
	if (ret)
		goto fail;
	sched_time_text(slot, when);
	ret = k8s_obj_set_annotation(b, CLUSTER_ANN_SCHEDULED_AT, when);
	if (!ret)
		ret = k8s_obj_set_annotation(b, CLUSTER_ANN_SCHEDULE, s->name);
	if (ret)
		goto fail;
	tmpl = k8s_obj_at(schedule, "/spec/template");
	if (k8s_obj_type(tmpl, "") == K8S_T_OBJECT) {
		ret = k8s_obj_set_copy(b, "/spec", tmpl);
		if (!ret && k8s_obj_remove(b, "/spec/metadata") == -EINVAL)
			ret = -EINVAL;
	} else {
		ret = k8s_obj_set_empty(b, "/spec", K8S_T_OBJECT);
	}
	if (ret)
		goto fail;
	*out = b;
	return 0;
fail:
	k8s_obj_free(b);
	return cluster_err_set(err, ret, "building the Backup %s: %s", name, strerror(-ret));
}

/* @t at @path, or null for none */
static int patch_time(struct k8s_obj *p, const char *path, int64_t t)
{
	char buf[TIME_TEXT_MAX];

	if (t == CLUSTER_NO_TIME || !sched_time_ok(t))
		return k8s_obj_set_null(p, path);
	sched_time_text(t, buf);
	return k8s_obj_set_str(p, path, buf);
}

static int patch_str(struct k8s_obj *p, const char *path, const char *v)
{
	return v[0] ? k8s_obj_set_str(p, path, v) : k8s_obj_set_null(p, path);
}

int cluster_schedule_status_patch(const struct cluster_schedule_status *st, struct k8s_obj **out)
{
	struct k8s_obj *p = NULL;
	int ret;

	*out = NULL;
	ret = k8s_obj_new(&p);
	if (ret)
		return ret;
	ret = k8s_obj_set_str(p, "/status/phase", cluster_schedule_phase_name(st->phase));
	if (!ret && st->validation_error[0]) {
		ret = k8s_obj_set_empty(p, "/status/validationErrors", K8S_T_ARRAY);
		if (!ret)
			ret = k8s_obj_set_str(p, "/status/validationErrors/-",
					      st->validation_error);
	} else if (!ret) {
		ret = k8s_obj_set_null(p, "/status/validationErrors");
	}
	if (!ret)
		ret = patch_time(p, "/status/lastBackup", st->last_backup);
	if (!ret)
		ret = patch_str(p, "/status/lastBackupName", st->last_backup_name);
	if (!ret)
		ret = patch_time(p, "/status/lastScheduleTime", st->last_schedule_time);
	if (!ret)
		ret = patch_time(p, "/status/lastSkipped", st->last_skipped);
	if (!ret && st->skipped_reason != CLUSTER_SKIP_NONE) {
		ret = k8s_obj_set_str(p, "/status/skipped/reason",
				      skip_reason_names[st->skipped_reason]);
		if (!ret)
			ret = k8s_obj_set_int(p, "/status/skipped/runs", st->skipped_runs);
		if (!ret)
			ret = st->skipped_more ? k8s_obj_set_bool(p, "/status/skipped/more", true)
					       : k8s_obj_set_null(p, "/status/skipped/more");
		if (!ret)
			ret = patch_time(p, "/status/skipped/first", st->skipped_first);
		if (!ret)
			ret = patch_time(p, "/status/skipped/last", st->skipped_last);
	} else if (!ret) {
		ret = k8s_obj_set_null(p, "/status/skipped");
	}
	if (!ret)
		ret = patch_time(p, "/status/nextRun", st->next_run);
	if (!ret && st->last_success_name[0]) {
		ret = k8s_obj_set_str(p, "/status/lastSuccessfulBackup/name",
				      st->last_success_name);
		if (!ret)
			ret = patch_time(p, "/status/lastSuccessfulBackup/time",
					 st->last_success_time);
	} else if (!ret) {
		ret = k8s_obj_set_null(p, "/status/lastSuccessfulBackup");
	}
	if (!ret)
		ret = k8s_obj_set_int(p, "/status/observedGeneration", st->observed_generation);
	if (ret) {
		k8s_obj_free(p);
		return ret;
	}
	*out = p;
	return 0;
}

/* -------------------------------------------------------------- retention */

int cluster_schedule_retention(const struct cluster_schedule *s,
			       const struct cluster_backup_rec *backups, size_t n, int64_t now,
			       struct cluster_retention_verdict *out, struct cluster_err *err)
{
	struct dp_retention_record *recs = NULL;
	struct dp_retention_verdict *v = NULL;
	size_t *idx = NULL;
	struct dp_err derr;
	bool counts = false;
	int ret = 0;

	cluster_err_clear(err);
	for (size_t i = 0; i < n; i++)
		memset(&out[i], 0, sizeof(out[i]));
	for (int i = 0; i < DP_KEEP_NCOUNTS; i++)
		counts = counts || s->keep[i];
	if (s->invalid || !n || (!counts && !s->ttl))
		return 0;
	if (!sched_time_ok(now))
		return cluster_err_set(err, -ERANGE, "the time %lld is out of range",
				       (long long)now);
	recs = calloc(n, sizeof(*recs));
	v = calloc(n, sizeof(*v));
	idx = calloc(n, sizeof(*idx));
	if (!recs || !v || !idx) {
		ret = cluster_err_set(err, -ENOMEM, "out of memory (%zu Backups)", n);
		goto out;
	}
	/* pass 0: the usable Backups, under every rule; pass 1: the failed ones, under the TTL */
	for (int pass = 0; pass < 2; pass++) {
		struct dp_retention_policy p = {.ttl = s->ttl, .now = now * 1000000};
		size_t m = 0;

		if (pass == 0)
			memcpy(p.keep, s->keep, sizeof(p.keep));
		else if (!s->ttl)
			break;
		for (size_t i = 0; i < n; i++) {
			const struct cluster_backup_rec *r = &backups[i];
			bool usable = r->phase == CLUSTER_BACKUP_COMPLETED ||
				      r->phase == CLUSTER_BACKUP_PARTIALLY_FAILED;

			if (!r->name || r->time == CLUSTER_NO_TIME || !sched_time_ok(r->time) ||
			    (pass == 0 ? !usable : r->phase != CLUSTER_BACKUP_FAILED))
				continue;
			recs[m] = (struct dp_retention_record){
				.id = r->name, .time = r->time * 1000000, .group = NULL};
			idx[m++] = i;
		}
		if (!m || (pass == 0 && !counts && !s->ttl))
			continue;
		ret = dp_retention_select(recs, m, &p, v, &derr);
		if (ret) {
			cluster_err_set(err, ret, "retention: %s", derr.msg);
			goto out;
		}
		for (size_t k = 0; k < m; k++) {
			struct cluster_retention_verdict *o = &out[idx[k]];

			o->remove = !v[k].keep;
			o->expired = v[k].expired;
			o->reasons = v[k].reasons;
		}
	}
out:
	free(recs);
	free(v);
	free(idx);
	return ret;
}
