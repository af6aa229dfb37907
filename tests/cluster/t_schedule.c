// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_schedule.c - the Schedule resource of
 * control/cluster/schedule.c from tables: objects read (every refusal with
 * its reason, hard or as FailedValidation), the plan of one reconcile (runs,
 * missed runs collapsed, the overlap check, pausing, skipImmediately at a
 * start, DST, @every, Quartz), the Backup a run creates, the status patch
 * and its round trip, retention over a schedule's Backups, and a controller
 * simulated second by second: its status written through the merge patch
 * and read back, its Backups completing and retention deleting them, as the
 * issue's end-to-end test will see it on the box.
 *
 * Expected instants are RFC 3339 with their offsets, read with timegm(),
 * not through the code under test.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/cli/cli.h"
#include "control/cluster/cluster.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

#define NONE CLUSTER_NO_TIME

static int64_t ts(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, n = 0;
	int64_t off = 0;

	if (!s)
		return NONE;
	if (sscanf(s, "%d-%d-%dT%d:%d:%d%n", &y, &mo, &d, &h, &mi, &sec, &n) != 6)
		t_error("bad time in the test: %s", s);
	if (s[n] == '+' || s[n] == '-') {
		if (sscanf(s + n + 1, "%d:%d", &oh, &om) != 2)
			t_error("bad offset in the test: %s", s);
		off = (s[n] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
	} else if (s[n] != 'Z') {
		t_error("no offset in the test: %s", s);
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return (int64_t)timegm(&tm) - off;
}

/* A JSON document written with ' for ", formatted. */
static struct k8s_obj *J(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static struct k8s_obj *J(const char *fmt, ...)
{
	static char buf[16384];
	struct k8s_obj *o;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(buf))
		t_error("a test document longer than %zu bytes", sizeof(buf));
	for (char *p = buf; *p; p++)
		if (*p == '\'')
			*p = '"';
	if (k8s_obj_parse(buf, strlen(buf), &o))
		t_error("the test's JSON does not parse: %s", buf);
	return o;
}

/* RFC 7386: what the API server does with a merge patch. */
static void merge_patch(struct k8s_obj *target, const char *path, const struct k8s_obj *patch)
{
	for (const struct k8s_obj *m = k8s_obj_first(patch); m; m = k8s_obj_next(m)) {
		char sub[512];

		snprintf(sub, sizeof(sub), "%s/%s", path, k8s_obj_name(m));
		if (k8s_obj_type(m, "") == K8S_T_NULL) {
			k8s_obj_remove(target, sub);
		} else if (k8s_obj_type(m, "") == K8S_T_OBJECT) {
			if (k8s_obj_type(target, sub) != K8S_T_OBJECT)
				T_ASSERT(k8s_obj_set_empty(target, sub, K8S_T_OBJECT) == 0);
			merge_patch(target, sub, m);
		} else {
			T_ASSERT(k8s_obj_set_copy(target, sub, m) == 0);
		}
	}
}

static char *repeat(char c, size_t n)
{
	char *s = malloc(n + 1);

	if (!s)
		t_error("out of memory");
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* -------------------------------------------------------------- reading */

static void test_read_full(void)
{
	struct k8s_obj *o = J(
		"{'apiVersion':'ferry.io/v1alpha1','kind':'Schedule',"
		"'metadata':{'name':'nightly','namespace':'ferry-system','generation':3,"
		"'creationTimestamp':'2024-05-01T10:00:00Z','labels':{'team':'db'}},"
		"'spec':{'schedule':'30 2 * * *','timeZone':'America/New_York','paused':false,"
		"'skipImmediately':true,'useOwnerReferencesInBackup':false,"
		"'template':{'ttl':'720h0m0s','includedNamespaces':['app'],"
		"'metadata':{'labels':{'tier':'db','app.kubernetes.io/name':'pg'}}},"
		"'retention':{'last':2,'daily':7,'weekly':4,'monthly':12,'yearly':0,'hourly':null}},"
		"'status':{'phase':'Enabled','lastBackup':'2024-05-02T06:30:04Z',"
		"'lastBackupName':'nightly-20240502063000','lastScheduleTime':'2024-05-02T06:30:00Z',"
		"'lastSkipped':'2024-05-01T12:00:00.5Z','skipped':{'reason':'SkipImmediately',"
		"'runs':1,'first':'2024-05-01T06:30:00Z','last':'2024-05-01T06:30:00Z'},"
		"'nextRun':'2024-05-03T06:30:00Z','lastSuccessfulBackup':{'name':'nightly-x',"
		"'time':'2024-05-02T06:41:00Z'},'observedGeneration':2}}");
	struct cluster_schedule s;
	struct cluster_err err;

	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0, "%s", err.msg);
	T_ASSERT(!s.invalid, "refused: %s", s.why);
	T_ASSERT(!strcmp(s.name, "nightly") && !strcmp(s.ns, "ferry-system") &&
		 !strcmp(s.label, "nightly"));
	T_ASSERT_EQ(s.created, ts("2024-05-01T10:00:00Z"));
	T_ASSERT_EQ(s.generation, 3);
	T_ASSERT(!strcmp(s.expr, "30 2 * * *") && !strcmp(s.time_zone, "America/New_York"));
	T_ASSERT(s.tz && !strcmp(cluster_tz_name(s.tz), "America/New_York"));
	T_ASSERT(!s.paused && s.skip_immediately == 1);
	T_ASSERT_EQ(s.ttl, 720 * 3600);
	T_ASSERT(s.keep[DP_KEEP_LAST] == 2 && s.keep[DP_KEEP_DAILY] == 7 &&
		 s.keep[DP_KEEP_WEEKLY] == 4 && s.keep[DP_KEEP_MONTHLY] == 12 &&
		 s.keep[DP_KEEP_YEARLY] == 0 && s.keep[DP_KEEP_HOURLY] == 0);
	T_ASSERT(s.cron.form == CLUSTER_CRON_STANDARD);
	T_ASSERT(s.status.phase == CLUSTER_SCHEDULE_ENABLED);
	T_ASSERT_EQ(s.status.last_backup, ts("2024-05-02T06:30:04Z"));
	T_ASSERT(!strcmp(s.status.last_backup_name, "nightly-20240502063000"));
	T_ASSERT_EQ(s.status.last_schedule_time, ts("2024-05-02T06:30:00Z"));
	T_ASSERT_EQ(s.status.last_skipped, ts("2024-05-01T12:00:00Z")); /* rounded down */
	T_ASSERT(s.status.skipped_reason == CLUSTER_SKIP_IMMEDIATELY && s.status.skipped_runs == 1);
	T_ASSERT_EQ(s.status.skipped_first, ts("2024-05-01T06:30:00Z"));
	T_ASSERT_EQ(s.status.next_run, ts("2024-05-03T06:30:00Z"));
	T_ASSERT(!strcmp(s.status.last_success_name, "nightly-x"));
	T_ASSERT_EQ(s.status.last_success_time, ts("2024-05-02T06:41:00Z"));
	T_ASSERT_EQ(s.status.observed_generation, 2);
	cluster_schedule_fini(&s);
	cluster_schedule_fini(&s); /* twice: a no-op */
	cluster_schedule_fini(NULL);
	k8s_obj_free(o);

	/* the least: no apiVersion or kind (a manifest's body), UTC, no status */
	o = J("{'metadata':{'name':'a'},'spec':{'schedule':'@daily'}}");
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && !s.invalid, "%s", s.why);
	T_ASSERT(!strcmp(cluster_tz_name(s.tz), "UTC") && s.skip_immediately == -1 && !s.ttl);
	T_ASSERT(s.created == NONE && s.status.phase == CLUSTER_SCHEDULE_NEW &&
		 s.status.next_run == NONE && s.status.last_schedule_time == NONE);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);

	/*
	 * A status that does not parse is taken as absent, field by field; a
	 * skipped block without its reason as a whole (it would not be written
	 * back as it is).
	 */
	o = J("{'metadata':{'name':'a'},'spec':{'schedule':'@daily'},'status':{'phase':'Running',"
	      "'lastScheduleTime':'yesterday','lastSkipped':5,'skipped':{'runs':2,"
	      "'first':'2024-05-01T00:00:00Z','reason':'x'},'observedGeneration':'2',"
	      "'lastBackupName':['x']}}");
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && !s.invalid, "%s", s.why);
	T_ASSERT(s.status.phase == CLUSTER_SCHEDULE_NEW && s.status.last_schedule_time == NONE &&
		 s.status.last_skipped == NONE && s.status.skipped_runs == 0 &&
		 s.status.skipped_first == NONE && s.status.skipped_reason == CLUSTER_SKIP_NONE &&
		 s.status.observed_generation == 0 && !s.status.last_backup_name[0]);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
}

struct bad_row {
	const char *json; /* ' for " ; %s is a long name where given */
	bool hard;	  /* -EINVAL from the read, not FailedValidation */
	const char *why;  /* a part of the reason */
};

static void check_bad(const struct bad_row *r, const char *arg)
{
	struct k8s_obj *o = J(r->json, arg ? arg : "");
	struct cluster_schedule s;
	struct cluster_err err;
	int ret = cluster_schedule_read(o, &s, &err);
	const char *msg = r->hard ? err.msg : s.why;

	if (r->hard) {
		T_ASSERT(ret == -EINVAL && err.code == -EINVAL, "%s: read %d, expected -EINVAL",
			 r->json, ret);
	} else {
		T_ASSERT(ret == 0, "%s: read %d (%s)", r->json, ret, err.msg);
		T_ASSERT(s.invalid == -EINVAL && !s.tz, "%s: taken", r->json);
	}
	T_ASSERT(strstr(msg, r->why), "%s: reason '%s', expected '%s'", r->json, msg, r->why);
	T_ASSERT(!strchr(msg, '\n') && strlen(msg) < 256, "%s: not one line", r->json);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
}

static void test_read_refused(void)
{
	static const struct bad_row rows[] = {
		/* not a Schedule at all: nothing to write a status to */
		{"[]", true, "a Schedule is a JSON object"},
		{"'Schedule'", true, "a Schedule is a JSON object"},
		{"{'apiVersion':'velero.io/v1','kind':'Schedule','metadata':{'name':'a'}}", true,
		 "apiVersion: a Schedule is ferry.io/v1alpha1"},
		{"{'apiVersion':1,'metadata':{'name':'a'}}", true, "apiVersion"},
		{"{'kind':'Backup','metadata':{'name':'a'}}", true, "kind: Schedule is expected"},
		{"{'spec':{'schedule':'@daily'}}", true, "metadata.name: missing"},
		{"{'metadata':{'name':''}}", true, "metadata.name: missing"},
		{"{'metadata':{'name':5}}", true, "metadata.name: missing"},
		{"{'metadata':{'name':'%s'}}", true, "longer than 253"},
		{"{'metadata':{'name':'a','namespace':'%s'}}", true,
		 "metadata.namespace 'nnnnnnnnnnnnnnn"},
		{"{'metadata':{'name':'a','namespace':'Apps'}}", true,
		 "metadata.namespace 'Apps': not a DNS label"},
		{"{'metadata':{'name':'a','namespace':'a.b'}}", true, "not a DNS label"},
		{"{'metadata':{'name':'Nightly'}}", true,
		 "metadata.name 'Nightly': not a DNS subdomain"},
		{"{'metadata':{'name':'a..b'}}", true, "not a DNS subdomain"},
		{"{'metadata':{'name':'.a'}}", true, "not a DNS subdomain"},
		{"{'metadata':{'name':'-a'}}", true, "not a DNS subdomain"},
		{"{'metadata':{'name':'a-'}}", true, "not a DNS subdomain"},
		{"{'metadata':{'name':'a.-b'}}", true, "not a DNS subdomain"},
		{"{'metadata':{'name':'a b'}}", true, "not a DNS subdomain"},
		/* FailedValidation: the reason goes to status.validationErrors */
		{"{'metadata':{'name':'a'}}", false, "spec: missing"},
		{"{'metadata':{'name':'a'},'spec':[]}", false, "spec: an object is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedul':'@daily'}}", false,
		 "spec.schedul: unknown field (spec takes schedule, timeZone"},
		{"{'metadata':{'name':'a'},'spec':{}}", false, "spec.schedule: missing"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':null}}", false,
		 "spec.schedule: missing"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':5}}", false,
		 "spec.schedule: a string is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':''}}", false,
		 "spec.schedule: an empty schedule"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'61 * * * *'}}", false,
		 "spec.schedule: minute '61': 61 is outside 0-59"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'0 0 1 * * *'}}", false,
		 "spec.schedule: 6-7 fields are Quartz"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@every 1d'}}", false,
		 "spec.schedule: @every '1d': unit 'd'"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'%s'}}", false,
		 "spec.schedule: longer than 1024"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','timeZone':3}}", false,
		 "spec.timeZone: a string is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','timeZone':'Mars/Olympus'}}",
		 false, "spec.timeZone: unknown time zone 'Mars/Olympus'"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','timeZone':'../etc/passwd'}}",
		 false, "spec.timeZone: "},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','timeZone':'Local'}}", false,
		 "spec.timeZone: "},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','timeZone':'%s'}}", false,
		 "spec.timeZone: longer than 255"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'CRON_TZ=UTC @daily',"
		 "'timeZone':'Europe/Berlin'}}",
		 false, "the zone is given twice"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'CRON_TZ=Nowhere/Land @daily'}}",
		 false, "spec.schedule: unknown time zone 'Nowhere/Land'"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','paused':'yes'}}", false,
		 "spec.paused: true or false is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','skipImmediately':1}}",
		 false, "spec.skipImmediately: true or false is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'useOwnerReferencesInBackup':true}}",
		 false, "spec.useOwnerReferencesInBackup: true is refused"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'useOwnerReferencesInBackup':'no'}}",
		 false, "spec.useOwnerReferencesInBackup: true or false"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':'x'}}", false,
		 "spec.template: an object is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':{'ttl':720}}}",
		 false, "spec.template.ttl: a duration string is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':{'ttl':'-1h'}}}",
		 false, "spec.template.ttl: '-1h': a duration has no sign"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':{'ttl':'10 days'}}}",
		 false, "spec.template.ttl: "},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':{'ttl':'3\\n0s'}}}",
		 false, "spec.template.ttl: '3?0s'"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','template':{'metadata':[]}}}",
		 false, "spec.template.metadata: an object is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'annotations':{}}}}}",
		 false, "spec.template.metadata.annotations: unknown field"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'labels':[]}}}}",
		 false, "spec.template.metadata.labels: an object is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'labels':{'ferry.io/schedule':'b'}}}}}",
		 false, "ferry.io/schedule is set by the Schedule itself"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'labels':{'bad key!':'v'}}}}}",
		 false, "'bad key!' is not a label key"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'labels':{'k':5}}}}}",
		 false, "spec.template.metadata.labels.k: a string is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'template':{'metadata':{'labels':{'k':'bad value!'}}}}}",
		 false, "spec.template.metadata.labels.k: 'bad value!' is not a label value"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':[]}}", false,
		 "spec.retention: an object is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'dayly':7}}}",
		 false,
		 "spec.retention.dayly: unknown field (spec.retention takes last, hourly, daily"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'daily':-1}}}",
		 false, "spec.retention.daily: -1 is outside 0-1000000"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily',"
		 "'retention':{'weekly':1000001}}}",
		 false, "spec.retention.weekly: 1000001 is outside"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'daily':1.5}}}",
		 false, "spec.retention.daily: a whole number is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'last':'7'}}}",
		 false, "spec.retention.last: a whole number is expected"},
		{"{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'last':true}}}",
		 false, "spec.retention.last: a whole number is expected"},
		{"{'metadata':{'name':'%s'},'spec':{'schedule':'@daily'}}", false,
		 "metadata.name: 239 characters; a Schedule's name has at most 238"},
	};
	char *n254 = repeat('n', 254), *n239 = repeat('n', 239), *long_expr = repeat('*', 1100);
	char *long_zone = repeat('Z', 300);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const char *arg = NULL;

		if (strstr(rows[i].json, "%s")) {
			if (strstr(rows[i].why, "239"))
				arg = n239;
			else if (strstr(rows[i].why, "1024"))
				arg = long_expr;
			else if (strstr(rows[i].why, "255"))
				arg = long_zone;
			else
				arg = n254;
		}
		check_bad(&rows[i], arg);
	}
	free(n254);
	free(n239);
	free(long_expr);
	free(long_zone);
}

static void test_names(void)
{
	char *n63 = repeat('a', 63), *n64 = repeat('a', 64), *n238 = repeat('b', 238);
	char *n239 = repeat('b', 239), *other = repeat('a', 70);
	char v1[CLUSTER_LABEL_VALUE_MAX + 1], v2[CLUSTER_LABEL_VALUE_MAX + 1];
	char name[CLUSTER_NAME_MAX + 1];

	cluster_schedule_label_value("nightly", v1);
	T_ASSERT(!strcmp(v1, "nightly"));
	cluster_schedule_label_value(n63, v1);
	T_ASSERT(!strcmp(v1, n63));
	cluster_schedule_label_value(n64, v1);
	cluster_schedule_label_value(other, v2);
	T_ASSERT(strlen(v1) == 63 && !strncmp(v1, n64, 53) && ctl_label_value_valid(v1), "%s", v1);
	T_ASSERT(strlen(v2) == 63 && strcmp(v1, v2), "two names, one label value: %s", v1);
	cluster_schedule_label_value(n64, v2);
	T_ASSERT(!strcmp(v1, v2), "not deterministic");

	T_ASSERT(cluster_schedule_backup_name("nightly", ts("2024-03-10T07:00:00Z"), name) == 0);
	T_ASSERT(!strcmp(name, "nightly-20240310070000"), "%s", name);
	T_ASSERT(cluster_schedule_backup_name("q", ts("1969-12-31T23:59:59Z"), name) == 0);
	T_ASSERT(!strcmp(name, "q-19691231235959"), "%s", name);
	T_ASSERT(cluster_schedule_backup_name(n238, 0, name) == 0 && strlen(name) == 253);
	T_ASSERT(cluster_schedule_backup_name(n239, 0, name) == -ENAMETOOLONG);
	T_ASSERT(cluster_schedule_backup_name("q", CLUSTER_TIME_MAX + 1, name) == -ERANGE);
	T_ASSERT(!strcmp(cluster_schedule_phase_name(CLUSTER_SCHEDULE_FAILED_VALIDATION),
			 "FailedValidation"));
	T_ASSERT(!strcmp(cluster_plan_action_name(CLUSTER_PLAN_BUSY), "Busy"));
	free(n63);
	free(n64);
	free(n238);
	free(n239);
	free(other);
}

static void test_backup_read(void)
{
	static const struct {
		const char *phase; /* NULL: no status */
		enum cluster_backup_phase want;
	} rows[] = {
		{NULL, CLUSTER_BACKUP_NEW},
		{"", CLUSTER_BACKUP_NEW},
		{"New", CLUSTER_BACKUP_NEW},
		{"Queued", CLUSTER_BACKUP_IN_PROGRESS},
		{"InProgress", CLUSTER_BACKUP_IN_PROGRESS},
		{"WaitingForPluginOperations", CLUSTER_BACKUP_IN_PROGRESS},
		{"FinalizingPartiallyFailed", CLUSTER_BACKUP_IN_PROGRESS},
		{"Completed", CLUSTER_BACKUP_COMPLETED},
		{"PartiallyFailed", CLUSTER_BACKUP_PARTIALLY_FAILED},
		{"Failed", CLUSTER_BACKUP_FAILED},
		{"FailedValidation", CLUSTER_BACKUP_FAILED},
		{"Deleting", CLUSTER_BACKUP_DELETING},
		{"completed", CLUSTER_BACKUP_OTHER},
		{"Exploded", CLUSTER_BACKUP_OTHER},
	};
	struct cluster_backup_rec r;
	struct k8s_obj *o;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		o = rows[i].phase ? J("{'metadata':{'name':'b','creationTimestamp':"
				      "'2024-05-01T00:00:00Z'},'status':{'phase':'%s'}}",
				      rows[i].phase)
				  : J("{'metadata':{'name':'b'}}");
		T_ASSERT(cluster_backup_read(o, &r) == 0 && !strcmp(r.name, "b"));
		T_ASSERT(r.phase == rows[i].want, "phase '%s': %d", rows[i].phase, r.phase);
		k8s_obj_free(o);
	}
	o = J("{'metadata':{'name':'b','creationTimestamp':'2024-05-01T00:00:09Z',"
	      "'deletionTimestamp':'2024-05-02T00:00:00Z'},'status':{'phase':'Completed',"
	      "'startTimestamp':'2024-05-01T00:00:10Z','completionTimestamp':'2024-05-01T00:05:00Z'}}");
	T_ASSERT(cluster_backup_read(o, &r) == 0 && r.phase == CLUSTER_BACKUP_DELETING);
	T_ASSERT(r.time == ts("2024-05-01T00:00:10Z") && r.completed == ts("2024-05-01T00:05:00Z"));
	k8s_obj_free(o);
	o = J("{'metadata':{'name':'b','creationTimestamp':'2024-05-01T00:00:09Z'},'status':{'phase':"
	      "'Completed','startTimestamp':'soon'}}");
	T_ASSERT(cluster_backup_read(o, &r) == 0 && r.time == ts("2024-05-01T00:00:09Z") &&
		 r.completed == NONE);
	k8s_obj_free(o);
	o = J("{'metadata':{'name':'b'},'status':{'phase':7}}");
	T_ASSERT(cluster_backup_read(o, &r) == 0 && r.phase == CLUSTER_BACKUP_OTHER &&
		 r.time == NONE);
	k8s_obj_free(o);
	o = J("{'metadata':{}}");
	T_ASSERT(cluster_backup_read(o, &r) == -EINVAL);
	k8s_obj_free(o);
	o = J("[1]");
	T_ASSERT(cluster_backup_read(o, &r) == -EINVAL);
	k8s_obj_free(o);
}

/* ------------------------------------------------------------------ plans */

struct plan_row {
	const char *what;
	/* the Schedule */
	const char *expr, *zone;
	bool paused;
	int skip;		/* -1 absent */
	const char *created;	/* NULL: none */
	const char *phase;	/* status.phase; NULL: no status */
	const char *last_sched; /* status.lastScheduleTime */
	const char *last_skipped;
	const char *backups; /* JSON array of Backups, ' for " ; NULL: none */
	const char *now;
	bool skip_default;
	/* what must come out */
	enum cluster_plan_action action;
	const char *slot, *name; /* RUN */
	bool exists;
	const char *next; /* status.nextRun; NULL: none */
	uint32_t skipped; /* status.skipped.runs of this plan's skip, 0: none new */
	enum cluster_skip_reason reason;
	const char *skipped_first, *skipped_last;
	enum cluster_schedule_phase new_phase;
	int64_t requeue;
};

static struct k8s_obj *plan_schedule(const struct plan_row *r)
{
	char spec[512], meta[256], status[512] = "";
	size_t n;

	n = (size_t)snprintf(spec, sizeof(spec), "'schedule':'%s'", r->expr);
	if (r->zone)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",'timeZone':'%s'", r->zone);
	if (r->paused)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",'paused':true");
	if (r->skip >= 0)
		n += (size_t)snprintf(spec + n, sizeof(spec) - n, ",'skipImmediately':%s",
				      r->skip ? "true" : "false");
	snprintf(meta, sizeof(meta), "'name':'nightly','namespace':'ns'%s%s%s",
		 r->created ? ",'creationTimestamp':'" : "", r->created ? r->created : "",
		 r->created ? "'" : "");
	if (r->phase) {
		n = (size_t)snprintf(status, sizeof(status), ",'status':{'phase':'%s'", r->phase);
		if (r->last_sched)
			n += (size_t)snprintf(status + n, sizeof(status) - n,
					      ",'lastScheduleTime':'%s'", r->last_sched);
		if (r->last_skipped)
			n += (size_t)snprintf(status + n, sizeof(status) - n, ",'lastSkipped':'%s'",
					      r->last_skipped);
		snprintf(status + n, sizeof(status) - n, "}");
	}
	return J("{'apiVersion':'ferry.io/v1alpha1','kind':'Schedule','metadata':{%s},"
		 "'spec':{%s}%s}",
		 meta, spec, status);
}

/* The Backups of a row, read as a reconciler reads them; *list owns the names. */
static struct cluster_backup_rec *plan_backups(const char *json, struct k8s_obj **list, size_t *n)
{
	struct cluster_backup_rec *recs;
	size_t i = 0;

	*n = 0;
	*list = NULL;
	if (!json)
		return NULL;
	*list = J("%s", json);
	*n = k8s_obj_len(*list, "");
	recs = calloc(*n + 1, sizeof(*recs));
	if (!recs)
		t_error("out of memory");
	for (const struct k8s_obj *b = k8s_obj_first(*list); b; b = k8s_obj_next(b))
		T_ASSERT(cluster_backup_read(b, &recs[i++]) == 0, "a test Backup: %s", json);
	return recs;
}

static void check_plan(const struct plan_row *r)
{
	struct k8s_obj *o = plan_schedule(r), *list;
	struct cluster_schedule s;
	struct cluster_schedule_plan p;
	struct cluster_backup_rec *b;
	struct cluster_err err;
	size_t n;
	int64_t now = ts(r->now);

	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0, "%s: %s", r->what, err.msg);
	b = plan_backups(r->backups, &list, &n);
	T_ASSERT(cluster_schedule_plan(&s, b, n, now, r->skip_default, &p) == 0, "%s", r->what);
	T_ASSERT(p.action == r->action, "%s: %s, expected %s", r->what,
		 cluster_plan_action_name(p.action), cluster_plan_action_name(r->action));
	T_ASSERT(p.status.phase == r->new_phase, "%s: phase %s", r->what,
		 cluster_schedule_phase_name(p.status.phase));
	if (r->action == CLUSTER_PLAN_RUN) {
		T_ASSERT(p.slot == ts(r->slot), "%s: slot %lld, expected %s", r->what,
			 (long long)p.slot, r->slot);
		T_ASSERT(!strcmp(p.backup_name, r->name), "%s: backup %s, expected %s", r->what,
			 p.backup_name, r->name);
		T_ASSERT(p.backup_exists == r->exists, "%s: exists %d", r->what, p.backup_exists);
		T_ASSERT(p.status.last_schedule_time == p.slot && p.status.last_backup == now &&
				 !strcmp(p.status.last_backup_name, p.backup_name),
			 "%s: the run is not in the status", r->what);
	} else {
		T_ASSERT(p.slot == NONE && !p.backup_name[0], "%s: a slot without a run", r->what);
		T_ASSERT(p.status.last_schedule_time == s.status.last_schedule_time,
			 "%s: lastScheduleTime moved without a run", r->what);
	}
	T_ASSERT(p.status.next_run == ts(r->next), "%s: next %lld, expected %s", r->what,
		 (long long)p.status.next_run, r->next ? r->next : "none");
	if (r->skipped) {
		T_ASSERT(p.status.skipped_runs == r->skipped &&
				 p.status.skipped_reason == r->reason,
			 "%s: skipped %u (%d), expected %u", r->what, p.status.skipped_runs,
			 p.status.skipped_reason, r->skipped);
		T_ASSERT(p.status.skipped_first == ts(r->skipped_first) &&
				 p.status.skipped_last == ts(r->skipped_last),
			 "%s: skipped %lld..%lld, expected %s..%s", r->what,
			 (long long)p.status.skipped_first, (long long)p.status.skipped_last,
			 r->skipped_first, r->skipped_last);
		T_ASSERT(p.status.last_skipped == now, "%s: lastSkipped", r->what);
	} else {
		T_ASSERT(p.status.last_skipped == s.status.last_skipped &&
				 p.status.skipped_reason == s.status.skipped_reason,
			 "%s: a skip that should not be", r->what);
	}
	T_ASSERT(p.requeue_s == r->requeue, "%s: requeue %lld, expected %lld", r->what,
		 (long long)p.requeue_s, (long long)r->requeue);
	if (r->action == CLUSTER_PLAN_INVALID)
		T_ASSERT(p.status.validation_error[0] && !strcmp(p.status.validation_error, s.why));
	else
		T_ASSERT(!p.status.validation_error[0]);
	/* the status written and read back: the same moment plans nothing new */
	{
		static const enum cluster_plan_action again[] = {
			[CLUSTER_PLAN_WAIT] = CLUSTER_PLAN_WAIT,
			[CLUSTER_PLAN_RUN] = CLUSTER_PLAN_WAIT,
			[CLUSTER_PLAN_SKIP] = CLUSTER_PLAN_WAIT,
			[CLUSTER_PLAN_BUSY] = CLUSTER_PLAN_BUSY,
			[CLUSTER_PLAN_PAUSED] = CLUSTER_PLAN_PAUSED,
			[CLUSTER_PLAN_INVALID] = CLUSTER_PLAN_INVALID,
		};
		struct cluster_schedule s2;
		struct cluster_schedule_plan p2;
		struct k8s_obj *patch;

		T_ASSERT(cluster_schedule_status_patch(&p.status, &patch) == 0);
		merge_patch(o, "", patch);
		k8s_obj_free(patch);
		T_ASSERT(cluster_schedule_read(o, &s2, &err) == 0);
		T_ASSERT(cluster_schedule_plan(&s2, b, n, now, r->skip_default, &p2) == 0);
		T_ASSERT(p2.action == again[r->action] && !p2.status_changed,
			 "%s: planned again: %s, status changed %d", r->what,
			 cluster_plan_action_name(p2.action), p2.status_changed);
		T_ASSERT(p2.status.next_run == p.status.next_run && p2.requeue_s == p.requeue_s,
			 "%s: planned again: next %lld", r->what, (long long)p2.status.next_run);
		cluster_schedule_fini(&s2);
	}
	cluster_schedule_fini(&s);
	free(b);
	k8s_obj_free(list);
	k8s_obj_free(o);
}

static void test_plan(void)
{
	static const struct plan_row rows[] = {
		{"created: the first run is tomorrow",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T10:00:00Z",
		 NULL,
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-01T10:00:05Z",
		 false,
		 CLUSTER_PLAN_WAIT,
		 NULL,
		 NULL,
		 false,
		 "2024-05-02T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 15 * 3600 - 5},
		{"due: one run",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T10:00:00Z",
		 "Enabled",
		 "2024-05-02T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-03T01:00:02Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-03T01:00:00Z",
		 "nightly-20240503010000",
		 false,
		 "2024-05-04T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 24 * 3600 - 2},
		{"an outage of four days: one run, three missed",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-04-01T10:00:00Z",
		 "Enabled",
		 "2024-05-01T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-05T12:00:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-05T01:00:00Z",
		 "nightly-20240505010000",
		 false,
		 "2024-05-06T01:00:00Z",
		 3,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-02T01:00:00Z",
		 "2024-05-04T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"a Backup of the schedule is running: no overlap",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T10:00:00Z",
		 "Enabled",
		 "2024-05-02T01:00:00Z",
		 NULL,
		 "[{'metadata':{'name':'nightly-manual'},'status':{'phase':'InProgress'}},"
		 "{'metadata':{'name':'nightly-20240502010000'},'status':{'phase':'Completed'}}]",
		 "2024-05-03T01:00:02Z",
		 false,
		 CLUSTER_PLAN_BUSY,
		 NULL,
		 NULL,
		 false,
		 "2024-05-03T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 CLUSTER_BUSY_RECHECK_S},
		{"a New Backup counts as running",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T10:00:00Z",
		 "Enabled",
		 "2024-05-02T01:00:00Z",
		 NULL,
		 "[{'metadata':{'name':'other'}}]",
		 "2024-05-03T01:00:02Z",
		 false,
		 CLUSTER_PLAN_BUSY,
		 NULL,
		 NULL,
		 false,
		 "2024-05-03T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 CLUSTER_BUSY_RECHECK_S},
		{"the run's Backup exists already: write the status",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T10:00:00Z",
		 "Enabled",
		 "2024-05-02T01:00:00Z",
		 NULL,
		 "[{'metadata':{'name':'nightly-20240503010000'},'status':{'phase':'New'}}]",
		 "2024-05-03T01:00:09Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-03T01:00:00Z",
		 "nightly-20240503010000",
		 true,
		 "2024-05-04T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 24 * 3600 - 9},
		{"paused",
		 "0 1 * * *",
		 NULL,
		 true,
		 1,
		 "2024-05-01T10:00:00Z",
		 "Enabled",
		 "2024-05-02T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-09T00:00:00Z",
		 false,
		 CLUSTER_PLAN_PAUSED,
		 NULL,
		 NULL,
		 false,
		 NULL,
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_PAUSED,
		 0},
		{"unpaused: the runs missed while paused collapse",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-04-01T10:00:00Z",
		 "Paused",
		 "2024-05-01T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-04T12:00:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-04T01:00:00Z",
		 "nightly-20240504010000",
		 false,
		 "2024-05-05T01:00:00Z",
		 2,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-02T01:00:00Z",
		 "2024-05-03T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"unpaused with skipImmediately: all skipped",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-04-01T10:00:00Z",
		 "Paused",
		 "2024-05-01T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-04T12:00:00Z",
		 false,
		 CLUSTER_PLAN_SKIP,
		 NULL,
		 NULL,
		 false,
		 "2024-05-05T01:00:00Z",
		 3,
		 CLUSTER_SKIP_IMMEDIATELY,
		 "2024-05-02T01:00:00Z",
		 "2024-05-04T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"unpaused, the controller's default skips",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-04-01T10:00:00Z",
		 "Paused",
		 "2024-05-01T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-04T12:00:00Z",
		 true,
		 CLUSTER_PLAN_SKIP,
		 NULL,
		 NULL,
		 false,
		 "2024-05-05T01:00:00Z",
		 3,
		 CLUSTER_SKIP_IMMEDIATELY,
		 "2024-05-02T01:00:00Z",
		 "2024-05-04T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"unpaused, the spec's false beats the default",
		 "0 1 * * *",
		 NULL,
		 false,
		 0,
		 "2024-04-01T10:00:00Z",
		 "Paused",
		 "2024-05-03T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-04T12:00:00Z",
		 true,
		 CLUSTER_PLAN_RUN,
		 "2024-05-04T01:00:00Z",
		 "nightly-20240504010000",
		 false,
		 "2024-05-05T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"skipImmediately is for starts, not outages",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-04-01T10:00:00Z",
		 "Enabled",
		 "2024-05-01T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-03T12:00:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-03T01:00:00Z",
		 "nightly-20240503010000",
		 false,
		 "2024-05-04T01:00:00Z",
		 1,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-02T01:00:00Z",
		 "2024-05-02T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
		{"after a skip, runs count from it",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-04-01T10:00:00Z",
		 "Enabled",
		 "2024-05-01T01:00:00Z",
		 "2024-05-04T12:00:00Z",
		 NULL,
		 "2024-05-05T01:00:30Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-05T01:00:00Z",
		 "nightly-20240505010000",
		 false,
		 "2024-05-06T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 24 * 3600 - 30},
		{"created with skipImmediately, nothing due: nothing skipped",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-05-01T10:00:00Z",
		 NULL,
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-01T10:00:01Z",
		 false,
		 CLUSTER_PLAN_WAIT,
		 NULL,
		 NULL,
		 false,
		 "2024-05-02T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 15 * 3600 - 1},
		{"created while the controller was down, skipImmediately",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-05-01T00:30:00Z",
		 "New",
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-03T02:00:00Z",
		 false,
		 CLUSTER_PLAN_SKIP,
		 NULL,
		 NULL,
		 false,
		 "2024-05-04T01:00:00Z",
		 3,
		 CLUSTER_SKIP_IMMEDIATELY,
		 "2024-05-01T01:00:00Z",
		 "2024-05-03T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 23 * 3600},
		{"created while the controller was down",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T00:30:00Z",
		 NULL,
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-03T02:00:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-03T01:00:00Z",
		 "nightly-20240503010000",
		 false,
		 "2024-05-04T01:00:00Z",
		 2,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-01T01:00:00Z",
		 "2024-05-02T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 23 * 3600},
		{"repaired with skipImmediately: a start",
		 "0 1 * * *",
		 NULL,
		 false,
		 1,
		 "2024-05-01T00:30:00Z",
		 "FailedValidation",
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-02T02:00:00Z",
		 false,
		 CLUSTER_PLAN_SKIP,
		 NULL,
		 NULL,
		 false,
		 "2024-05-03T01:00:00Z",
		 2,
		 CLUSTER_SKIP_IMMEDIATELY,
		 "2024-05-01T01:00:00Z",
		 "2024-05-02T01:00:00Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 23 * 3600},
		{"invalid",
		 "0 1 * * 8",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T00:30:00Z",
		 "Enabled",
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-02T02:00:00Z",
		 false,
		 CLUSTER_PLAN_INVALID,
		 NULL,
		 NULL,
		 false,
		 NULL,
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_FAILED_VALIDATION,
		 0},
		{"spring forward: 02:30 runs at 03:00 EDT",
		 "30 2 * * *",
		 "America/New_York",
		 false,
		 -1,
		 "2024-03-01T00:00:00Z",
		 "Enabled",
		 "2024-03-09T02:30:00-05:00",
		 NULL,
		 NULL,
		 "2024-03-10T03:00:10-04:00",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-03-10T03:00:00-04:00",
		 "nightly-20240310070000",
		 false,
		 "2024-03-11T02:30:00-04:00",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 23 * 3600 + 30 * 60 - 10},
		{"fall back: 01:30 runs once, the first time",
		 "30 1 * * *",
		 "America/New_York",
		 false,
		 -1,
		 "2024-11-01T00:00:00Z",
		 "Enabled",
		 "2024-11-02T01:30:00-04:00",
		 NULL,
		 NULL,
		 "2024-11-03T01:30:05-05:00",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-11-03T01:30:00-04:00",
		 "nightly-20241103053000",
		 false,
		 "2024-11-04T01:30:00-05:00",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 24 * 3600 - 5},
		{"the same in Berlin through CRON_TZ=",
		 "CRON_TZ=Europe/Berlin 30 2 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-03-01T00:00:00Z",
		 "Enabled",
		 "2024-03-30T02:30:00+01:00",
		 NULL,
		 NULL,
		 "2024-03-31T04:00:00+02:00",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-03-31T03:00:00+02:00",
		 "nightly-20240331010000",
		 false,
		 "2024-04-01T02:30:00+02:00",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 22 * 3600 + 30 * 60},
		{"@every keeps the phase of the last run",
		 "@every 1h",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T00:00:00Z",
		 "Enabled",
		 "2024-05-01T10:00:07Z",
		 NULL,
		 NULL,
		 "2024-05-01T13:30:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-01T13:00:07Z",
		 "nightly-20240501130007",
		 false,
		 "2024-05-01T14:00:07Z",
		 2,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-01T11:00:07Z",
		 "2024-05-01T12:00:07Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 30 * 60 + 7},
		{"Quartz seconds: the issue's 0/10",
		 "0/10 * * * * ?",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T00:00:00Z",
		 "Enabled",
		 "2024-05-01T00:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-01T00:00:35Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-05-01T00:00:30Z",
		 "nightly-20240501000030",
		 false,
		 "2024-05-01T00:00:40Z",
		 2,
		 CLUSTER_SKIP_MISSED,
		 "2024-05-01T00:00:10Z",
		 "2024-05-01T00:00:20Z",
		 CLUSTER_SCHEDULE_ENABLED,
		 5},
		{"a leap day, Quartz L in February",
		 "0 0 12 L 2 ?",
		 NULL,
		 false,
		 -1,
		 "2023-01-01T00:00:00Z",
		 "Enabled",
		 "2023-02-28T12:00:00Z",
		 NULL,
		 NULL,
		 "2024-02-29T12:00:00Z",
		 false,
		 CLUSTER_PLAN_RUN,
		 "2024-02-29T12:00:00Z",
		 "nightly-20240229120000",
		 false,
		 "2025-02-28T12:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 365 * 86400},
		{"the year field ran out",
		 "0 0 12 1 1 ? 2030",
		 NULL,
		 false,
		 -1,
		 "2029-01-01T00:00:00Z",
		 "Enabled",
		 "2030-01-01T12:00:00Z",
		 NULL,
		 NULL,
		 "2031-06-01T00:00:00Z",
		 false,
		 CLUSTER_PLAN_WAIT,
		 NULL,
		 NULL,
		 false,
		 NULL,
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 0},
		{"the clock is behind the last run",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 "2024-05-01T00:00:00Z",
		 "Enabled",
		 "2024-05-03T01:00:00Z",
		 NULL,
		 NULL,
		 "2024-05-02T12:00:00Z",
		 false,
		 CLUSTER_PLAN_WAIT,
		 NULL,
		 NULL,
		 false,
		 "2024-05-04T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 37 * 3600},
		{"no creation time, no status: from now",
		 "0 1 * * *",
		 NULL,
		 false,
		 -1,
		 NULL,
		 NULL,
		 NULL,
		 NULL,
		 NULL,
		 "2024-05-02T12:00:00Z",
		 false,
		 CLUSTER_PLAN_WAIT,
		 NULL,
		 NULL,
		 false,
		 "2024-05-03T01:00:00Z",
		 0,
		 0,
		 NULL,
		 NULL,
		 CLUSTER_SCHEDULE_ENABLED,
		 13 * 3600},
	};
	struct cluster_schedule s;
	struct cluster_schedule_plan p;
	struct cluster_err err;
	struct k8s_obj *o;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_plan(&rows[i]);

	o = J("{'metadata':{'name':'a'},'spec':{'schedule':'@daily'}}");
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0);
	T_ASSERT(cluster_schedule_plan(&s, NULL, 0, CLUSTER_TIME_MAX + 1, false, &p) == -ERANGE);
	T_ASSERT(cluster_schedule_plan(&s, NULL, 0, CLUSTER_TIME_MIN - 1, false, &p) == -ERANGE);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
}

/* The newest Completed Backup, whatever else is there. */
static void test_last_success(void)
{
	struct k8s_obj *o = J("{'metadata':{'name':'a','creationTimestamp':'2024-05-01T00:00:00Z'},"
			      "'spec':{'schedule':'@daily'}}"),
		       *list;
	struct cluster_backup_rec *b;
	struct cluster_schedule s;
	struct cluster_schedule_plan p;
	struct cluster_err err;
	size_t n;

	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0);
	b = plan_backups(
		"[{'metadata':{'name':'a-1','creationTimestamp':'2024-05-02T00:00:00Z'},'status':{"
		"'phase':'Completed','completionTimestamp':'2024-05-02T00:10:00Z'}},"
		"{'metadata':{'name':'a-3','creationTimestamp':'2024-05-04T00:00:00Z'},'status':{"
		"'phase':'Failed','completionTimestamp':'2024-05-04T00:10:00Z'}},"
		"{'metadata':{'name':'a-4','creationTimestamp':'2024-05-05T00:00:00Z'},'status':{"
		"'phase':'PartiallyFailed','completionTimestamp':'2024-05-05T00:10:00Z'}},"
		"{'metadata':{'name':'a-2','creationTimestamp':'2024-05-03T00:00:00Z'},'status':{"
		"'phase':'Completed','completionTimestamp':'2024-05-03T00:10:00Z'}},"
		"{'metadata':{'name':'a-0','creationTimestamp':'2024-05-01T00:00:00Z'},'status':{"
		"'phase':'Completed'}}]",
		&list, &n);
	T_ASSERT(cluster_schedule_plan(&s, b, n, ts("2024-05-05T12:00:00Z"), false, &p) == 0);
	T_ASSERT(!strcmp(p.status.last_success_name, "a-2"), "%s", p.status.last_success_name);
	T_ASSERT_EQ(p.status.last_success_time, ts("2024-05-03T00:10:00Z"));
	cluster_schedule_fini(&s);
	free(b);
	k8s_obj_free(list);
	k8s_obj_free(o);
}

/* ------------------------------------------------- the Backup and the status */

static void test_backup_object(void)
{
	struct k8s_obj *o = J(
		"{'apiVersion':'ferry.io/v1alpha1','kind':'Schedule','metadata':{'name':'nightly',"
		"'namespace':'apps','labels':{'team':'db','tier':'x','ferry.io/schedule':'evil'}},"
		"'spec':{'schedule':'0 1 * * *','template':{'ttl':'720h','includedNamespaces':['app'],"
		"'labelSelector':{'matchLabels':{'app':'pg'}},"
		"'metadata':{'labels':{'tier':'db'}}}}}");
	struct k8s_obj *want = J(
		"{'apiVersion':'ferry.io/v1alpha1','kind':'Backup','metadata':{'name':"
		"'nightly-20240503010000','namespace':'apps','labels':{'team':'db','tier':'db',"
		"'ferry.io/schedule':'nightly'},'annotations':{'ferry.io/scheduled-at':"
		"'2024-05-03T01:00:00Z','ferry.io/schedule':'nightly'}},'spec':{'ttl':'720h','includedNamespaces':['app'],"
		"'labelSelector':{'matchLabels':{'app':'pg'}}}}");
	struct k8s_obj *b, *bad, *bare;
	struct cluster_schedule s;
	struct cluster_err err;
	char *got;

	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && !s.invalid, "%s", s.why);
	T_ASSERT(cluster_schedule_backup(&s, o, ts("2024-05-03T01:00:00Z"), &b, &err) == 0, "%s",
		 err.msg);
	got = k8s_obj_json(b);
	T_ASSERT(k8s_obj_equal(b, want), "the Backup: %s", got);
	free(got);
	/* the template is copied, not moved */
	T_ASSERT(k8s_obj_str(o, "/spec/template/metadata/labels/tier"));
	k8s_obj_free(b);
	T_ASSERT(cluster_schedule_backup(&s, o, CLUSTER_TIME_MAX + 1, &b, &err) == -EINVAL && !b);
	cluster_schedule_fini(&s);

	/* no template: an empty spec */
	bare = J("{'metadata':{'name':'n'},'spec':{'schedule':'@daily'}}");
	T_ASSERT(cluster_schedule_read(bare, &s, &err) == 0 && !s.invalid);
	T_ASSERT(cluster_schedule_backup(&s, bare, 0, &b, &err) == 0);
	T_ASSERT(k8s_obj_type(b, "/spec") == K8S_T_OBJECT && k8s_obj_len(b, "/spec") == 0);
	T_ASSERT(!strcmp(k8s_obj_str(b, "/metadata/name"), "n-19700101000000"));
	T_ASSERT(k8s_obj_type(b, "/metadata/namespace") == K8S_T_ABSENT);
	k8s_obj_free(b);
	cluster_schedule_fini(&s);
	k8s_obj_free(bare);

	/* an invalid schedule makes no Backup */
	bad = J("{'metadata':{'name':'n'},'spec':{'schedule':'@weird'}}");
	T_ASSERT(cluster_schedule_read(bad, &s, &err) == 0 && s.invalid);
	T_ASSERT(cluster_schedule_backup(&s, bad, 0, &b, &err) == -EINVAL && !b &&
		 strstr(err.msg, "@weird"));
	cluster_schedule_fini(&s);
	k8s_obj_free(bad);
	k8s_obj_free(want);
	k8s_obj_free(o);
}

static void test_status_patch(void)
{
	struct cluster_schedule_status st = {
		.phase = CLUSTER_SCHEDULE_ENABLED,
		.last_backup = ts("2024-05-05T12:00:01Z"),
		.last_backup_name = "nightly-20240505010000",
		.last_schedule_time = ts("2024-05-05T01:00:00Z"),
		.last_skipped = ts("2024-05-05T12:00:00Z"),
		.skipped_runs = 1000,
		.skipped_more = true,
		.skipped_first = ts("2024-01-02T01:00:00Z"),
		.skipped_last = ts("2024-05-04T01:00:00Z"),
		.skipped_reason = CLUSTER_SKIP_MISSED,
		.next_run = ts("2024-05-06T01:00:00Z"),
		.last_success_name = "nightly-20240504010000",
		.last_success_time = ts("2024-05-04T01:07:00Z"),
		.observed_generation = 4,
	};
	struct k8s_obj *want = J(
		"{'status':{'phase':'Enabled','validationErrors':null,'lastBackup':"
		"'2024-05-05T12:00:01Z','lastBackupName':'nightly-20240505010000',"
		"'lastScheduleTime':'2024-05-05T01:00:00Z','lastSkipped':'2024-05-05T12:00:00Z',"
		"'skipped':{'reason':'Missed','runs':1000,'more':true,'first':'2024-01-02T01:00:00Z',"
		"'last':'2024-05-04T01:00:00Z'},'nextRun':'2024-05-06T01:00:00Z',"
		"'lastSuccessfulBackup':{'name':'nightly-20240504010000','time':"
		"'2024-05-04T01:07:00Z'},'observedGeneration':4}}");
	struct k8s_obj *obj = J("{'metadata':{'name':'nightly'},'spec':{'schedule':'0 1 * * *'},"
				"'status':{'phase':'FailedValidation','validationErrors':['old'],"
				"'extra':1}}");
	struct k8s_obj *p;
	struct cluster_schedule s;
	struct cluster_err err;
	char *got;

	T_ASSERT(cluster_schedule_status_patch(&st, &p) == 0);
	got = k8s_obj_json(p);
	T_ASSERT(k8s_obj_equal(p, want), "the patch: %s", got);
	free(got);
	/* applied and read back: the same status */
	merge_patch(obj, "", p);
	k8s_obj_free(p);
	T_ASSERT(cluster_schedule_read(obj, &s, &err) == 0 && !s.invalid);
	T_ASSERT(s.status.phase == st.phase && !s.status.validation_error[0] &&
		 s.status.last_backup == st.last_backup &&
		 !strcmp(s.status.last_backup_name, st.last_backup_name) &&
		 s.status.last_schedule_time == st.last_schedule_time &&
		 s.status.last_skipped == st.last_skipped && s.status.skipped_runs == 1000 &&
		 s.status.skipped_more && s.status.skipped_first == st.skipped_first &&
		 s.status.skipped_last == st.skipped_last &&
		 s.status.skipped_reason == CLUSTER_SKIP_MISSED &&
		 s.status.next_run == st.next_run &&
		 !strcmp(s.status.last_success_name, st.last_success_name) &&
		 s.status.last_success_time == st.last_success_time &&
		 s.status.observed_generation == 4);
	T_ASSERT(k8s_obj_type(obj, "/status/extra") == K8S_T_NUMBER, "a field not ours went");
	cluster_schedule_fini(&s);

	/* FailedValidation with no times: they are cleared */
	memset(&st, 0, sizeof(st));
	st.phase = CLUSTER_SCHEDULE_FAILED_VALIDATION;
	snprintf(st.validation_error, sizeof(st.validation_error), "spec.schedule: x");
	st.last_backup = st.last_schedule_time = st.last_skipped = st.next_run = NONE;
	st.skipped_first = st.skipped_last = st.last_success_time = NONE;
	T_ASSERT(cluster_schedule_status_patch(&st, &p) == 0);
	k8s_obj_free(want);
	want = J("{'status':{'phase':'FailedValidation','validationErrors':['spec.schedule: x'],"
		 "'lastBackup':null,'lastBackupName':null,'lastScheduleTime':null,"
		 "'lastSkipped':null,'skipped':null,'nextRun':null,'lastSuccessfulBackup':null,"
		 "'observedGeneration':0}}");
	got = k8s_obj_json(p);
	T_ASSERT(k8s_obj_equal(p, want), "the patch: %s", got);
	free(got);
	merge_patch(obj, "", p);
	T_ASSERT(k8s_obj_type(obj, "/status/nextRun") == K8S_T_ABSENT &&
		 k8s_obj_type(obj, "/status/skipped") == K8S_T_ABSENT &&
		 !strcmp(k8s_obj_str(obj, "/status/validationErrors/0"), "spec.schedule: x"));
	k8s_obj_free(p);
	k8s_obj_free(want);
	k8s_obj_free(obj);
}

/* -------------------------------------------------------------- retention */

struct ret_backup {
	const char *name, *phase, *time; /* time NULL: none */
};

struct ret_row {
	const char *what, *retention, *ttl; /* spec.retention's JSON body; template.ttl */
	const char *now;
	struct ret_backup b[8];
	const char *removed; /* the names removed, in order, ' ' between */
};

static void check_retention(const struct ret_row *r)
{
	char spec[512], removed[512] = "";
	struct cluster_backup_rec recs[8];
	struct cluster_retention_verdict v[8];
	struct cluster_schedule s;
	struct cluster_err err;
	struct k8s_obj *o;
	size_t n = 0, len = 0;

	snprintf(spec, sizeof(spec), "'schedule':'@hourly'%s%s%s%s%s%s",
		 r->retention ? ",'retention':{" : "", r->retention ? r->retention : "",
		 r->retention ? "}" : "", r->ttl ? ",'template':{'ttl':'" : "",
		 r->ttl ? r->ttl : "", r->ttl ? "'}" : "");
	o = J("{'metadata':{'name':'a'},'spec':{%s}}", spec);
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && !s.invalid, "%s: %s", r->what, s.why);
	for (; n < 8 && r->b[n].name; n++) {
		const char *ph = r->b[n].phase;

		recs[n] = (struct cluster_backup_rec){
			.name = r->b[n].name,
			.time = ts(r->b[n].time),
			.completed = NONE,
			.phase = !strcmp(ph, "C")   ? CLUSTER_BACKUP_COMPLETED
				 : !strcmp(ph, "P") ? CLUSTER_BACKUP_PARTIALLY_FAILED
				 : !strcmp(ph, "F") ? CLUSTER_BACKUP_FAILED
				 : !strcmp(ph, "I") ? CLUSTER_BACKUP_IN_PROGRESS
				 : !strcmp(ph, "N") ? CLUSTER_BACKUP_NEW
				 : !strcmp(ph, "D") ? CLUSTER_BACKUP_DELETING
						    : CLUSTER_BACKUP_OTHER,
		};
	}
	T_ASSERT(cluster_schedule_retention(&s, recs, n, ts(r->now), v, &err) == 0, "%s: %s",
		 r->what, err.msg);
	for (size_t i = 0; i < n; i++) {
		if (!v[i].remove) {
			T_ASSERT(!v[i].expired, "%s: %s kept but expired", r->what, recs[i].name);
			continue;
		}
		len += (size_t)snprintf(removed + len, sizeof(removed) - len, "%s%s",
					len ? " " : "", recs[i].name);
		T_ASSERT(recs[i].phase == CLUSTER_BACKUP_COMPLETED ||
				 recs[i].phase == CLUSTER_BACKUP_PARTIALLY_FAILED ||
				 (recs[i].phase == CLUSTER_BACKUP_FAILED && v[i].expired),
			 "%s: %s removed in its phase", r->what, recs[i].name);
	}
	T_ASSERT(!strcmp(removed, r->removed), "%s: removed '%s', expected '%s'", r->what, removed,
		 r->removed);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
}

static void test_retention(void)
{
	static const struct ret_row rows[] = {
		{"keep-last 2 of four",
		 "'last':2",
		 NULL,
		 "2024-05-01T05:00:00Z",
		 {{"a1", "C", "2024-05-01T01:00:00Z"},
		  {"a4", "C", "2024-05-01T04:00:00Z"},
		  {"a2", "C", "2024-05-01T02:00:00Z"},
		  {"a3", "C", "2024-05-01T03:00:00Z"}},
		 "a1 a2"},
		{"a Failed Backup never takes a rule's place",
		 "'last':1",
		 NULL,
		 "2024-05-01T05:00:00Z",
		 {{"a1", "C", "2024-05-01T01:00:00Z"}, {"a2", "F", "2024-05-01T02:00:00Z"}},
		 ""},
		{"PartiallyFailed counts as a Backup",
		 "'last':1",
		 NULL,
		 "2024-05-01T05:00:00Z",
		 {{"a1", "C", "2024-05-01T01:00:00Z"}, {"a2", "P", "2024-05-01T02:00:00Z"}},
		 "a1"},
		{"running, new, deleting, unknown and timeless Backups stay",
		 "'last':1",
		 "1h",
		 "2024-06-01T00:00:00Z",
		 {{"a1", "I", "2024-05-01T01:00:00Z"},
		  {"a2", "N", "2024-05-01T02:00:00Z"},
		  {"a3", "D", "2024-05-01T03:00:00Z"},
		  {"a4", "O", "2024-05-01T04:00:00Z"},
		  {"a5", "C", NULL}},
		 ""},
		{"TTL alone: the expired go, the Failed too",
		 NULL,
		 "30s",
		 "2024-05-01T00:01:00Z",
		 {{"a1", "C", "2024-05-01T00:00:10Z"},
		  {"a2", "C", "2024-05-01T00:00:30Z"},
		  {"a3", "C", "2024-05-01T00:00:40Z"},
		  {"a4", "F", "2024-05-01T00:00:20Z"},
		  {"a5", "F", "2024-05-01T00:00:50Z"}},
		 "a1 a2 a4"},
		{"the TTL beats every rule",
		 "'daily':7",
		 "1d",
		 "2024-05-04T12:00:00Z",
		 {{"a1", "C", "2024-05-01T01:00:00Z"},
		  {"a2", "C", "2024-05-02T01:00:00Z"},
		  {"a3", "C", "2024-05-03T13:00:00Z"},
		  {"a4", "C", "2024-05-04T01:00:00Z"}},
		 "a1 a2"},
		{"the issue's keep-last 2 and 30 s TTL",
		 "'last':2",
		 "30s",
		 "2024-05-01T00:00:45Z",
		 {{"a10", "C", "2024-05-01T00:00:10Z"},
		  {"a20", "C", "2024-05-01T00:00:20Z"},
		  {"a30", "C", "2024-05-01T00:00:30Z"},
		  {"a40", "C", "2024-05-01T00:00:40Z"}},
		 "a10 a20"},
		{"daily: the newest of each day",
		 "'daily':2",
		 NULL,
		 "2024-05-04T00:00:00Z",
		 {{"a1", "C", "2024-05-02T01:00:00Z"},
		  {"a2", "C", "2024-05-02T13:00:00Z"},
		  {"a3", "C", "2024-05-03T01:00:00Z"},
		  {"a4", "C", "2024-05-01T01:00:00Z"}},
		 "a1 a4"},
		{"no rule, no TTL: nothing goes",
		 NULL,
		 NULL,
		 "2030-01-01T00:00:00Z",
		 {{"a1", "C", "2024-05-01T01:00:00Z"}, {"a2", "F", "2024-05-01T01:00:00Z"}},
		 ""},
		{"a Failed Backup without a TTL stays",
		 "'last':1",
		 NULL,
		 "2030-01-01T00:00:00Z",
		 {{"a1", "F", "2024-05-01T01:00:00Z"}, {"a2", "C", "2024-05-01T02:00:00Z"}},
		 ""},
	};
	struct cluster_schedule s;
	struct cluster_retention_verdict v[1];
	struct cluster_backup_rec rec = {"x", CLUSTER_BACKUP_COMPLETED, 0, NONE};
	struct cluster_err err;
	struct k8s_obj *o;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		check_retention(&rows[i]);
	/* an invalid schedule removes nothing, whatever its retention says */
	o = J("{'metadata':{'name':'a'},'spec':{'schedule':'bad','retention':{'last':1}}}");
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && s.invalid);
	T_ASSERT(cluster_schedule_retention(&s, &rec, 1, 100000, v, &err) == 0 && !v[0].remove);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
	/* reasons come from dp_retention_select() */
	o = J("{'metadata':{'name':'a'},'spec':{'schedule':'@daily','retention':{'last':1,"
	      "'daily':1}}}");
	T_ASSERT(cluster_schedule_read(o, &s, &err) == 0 && !s.invalid);
	T_ASSERT(cluster_schedule_retention(&s, &rec, 1, 100000, v, &err) == 0 && !v[0].remove);
	T_ASSERT(v[0].reasons == (1u << DP_KEEP_LAST | 1u << DP_KEEP_DAILY), "%x", v[0].reasons);
	T_ASSERT(cluster_schedule_retention(&s, &rec, 1, CLUSTER_TIME_MAX + 1, v, &err) == -ERANGE);
	cluster_schedule_fini(&s);
	k8s_obj_free(o);
}

/* ------------------------------------------------------ a simulated controller */

struct sim {
	struct k8s_obj *sched;
	struct k8s_obj *backups[64];
	size_t n;
	unsigned int created, deleted, skips;
};

/* One reconcile at @now, as the reconciler will do it with the API server. */
static void sim_reconcile(struct sim *m, int64_t now)
{
	struct cluster_backup_rec recs[64];
	struct cluster_retention_verdict v[64];
	struct cluster_schedule s;
	struct cluster_schedule_plan p;
	struct cluster_err err;
	struct k8s_obj *patch, *b;
	size_t keep = 0;

	T_ASSERT(cluster_schedule_read(m->sched, &s, &err) == 0);
	for (size_t i = 0; i < m->n; i++)
		T_ASSERT(cluster_backup_read(m->backups[i], &recs[i]) == 0);
	T_ASSERT(cluster_schedule_plan(&s, recs, m->n, now, false, &p) == 0);
	if (p.action == CLUSTER_PLAN_RUN && !p.backup_exists) {
		char when[K8S_TIME_SIZE];

		T_ASSERT(cluster_schedule_backup(&s, m->sched, p.slot, &b, &err) == 0);
		/* the Backup runs at once and completes: its start is now */
		k8s_time_format(now * 1000000000LL, false, when);
		T_ASSERT(!k8s_obj_set_str(b, "/metadata/creationTimestamp", when) &&
			 !k8s_obj_set_str(b, "/status/startTimestamp", when) &&
			 !k8s_obj_set_str(b, "/status/completionTimestamp", when) &&
			 !k8s_obj_set_str(b, "/status/phase", "Completed"));
		T_ASSERT(m->n < 64);
		m->backups[m->n++] = b;
		m->created++;
	}
	if (p.action == CLUSTER_PLAN_SKIP)
		m->skips++;
	if (p.status_changed || p.action == CLUSTER_PLAN_RUN) {
		T_ASSERT(cluster_schedule_status_patch(&p.status, &patch) == 0);
		merge_patch(m->sched, "", patch);
		k8s_obj_free(patch);
	}
	/* retention over what is there now */
	for (size_t i = 0; i < m->n; i++)
		T_ASSERT(cluster_backup_read(m->backups[i], &recs[i]) == 0);
	T_ASSERT(cluster_schedule_retention(&s, recs, m->n, now, v, &err) == 0);
	for (size_t i = 0; i < m->n; i++) {
		if (v[i].remove) {
			k8s_obj_free(m->backups[i]);
			m->deleted++;
		} else {
			m->backups[keep++] = m->backups[i];
		}
	}
	m->n = keep;
	cluster_schedule_fini(&s);
}

static void sim_names(const struct sim *m, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < m->n; i++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", i ? " " : "",
					k8s_obj_get_name(m->backups[i]));
}

static void sim_free(struct sim *m)
{
	for (size_t i = 0; i < m->n; i++)
		k8s_obj_free(m->backups[i]);
	k8s_obj_free(m->sched);
}

static void test_simulated(void)
{
	struct sim m = {0};
	int64_t t0 = ts("2024-05-01T00:00:00Z");
	char names[1024];

	/* the test: 0/10 seconds, keep-last 2, a 30 s TTL; reconciled every second */
	m.sched =
		J("{'apiVersion':'ferry.io/v1alpha1','kind':'Schedule','metadata':{'name':'s',"
		  "'namespace':'ns','creationTimestamp':'2024-05-01T00:00:00Z'},'spec':{"
		  "'schedule':'0/10 * * * * ?','template':{'ttl':'30s'},'retention':{'last':2}}}");
	for (int64_t t = t0; t <= t0 + 35; t++)
		sim_reconcile(&m, t);
	sim_names(&m, names, sizeof(names));
	T_ASSERT(m.created == 3 && m.deleted == 1, "created %u, deleted %u", m.created, m.deleted);
	T_ASSERT(!strcmp(names, "s-20240501000020 s-20240501000030"), "%s", names);
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/nextRun"), "2024-05-01T00:00:40Z"));
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/lastScheduleTime"), "2024-05-01T00:00:30Z"));
	T_ASSERT(k8s_obj_type(m.sched, "/status/skipped") == K8S_T_ABSENT, "a run was missed");
	/* the controller is down 95 s: ten runs due, one made for the latest, nine missed */
	for (int64_t t = t0 + 130; t <= t0 + 131; t++)
		sim_reconcile(&m, t);
	sim_names(&m, names, sizeof(names));
	T_ASSERT(m.created == 4, "created %u", m.created);
	T_ASSERT(!strcmp(names, "s-20240501000210"), "%s", names);
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/skipped/reason"), "Missed"));
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/skipped/first"), "2024-05-01T00:00:40Z") &&
		 !strcmp(k8s_obj_str(m.sched, "/status/skipped/last"), "2024-05-01T00:02:00Z"));
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/lastSuccessfulBackup/name"),
			 "s-20240501000210"));
	/* paused for a minute: nothing runs; unpaused with skipImmediately: skipped */
	T_ASSERT(!k8s_obj_set_bool(m.sched, "/spec/paused", true));
	for (int64_t t = t0 + 132; t <= t0 + 190; t++)
		sim_reconcile(&m, t);
	T_ASSERT(m.created == 4 && !strcmp(k8s_obj_str(m.sched, "/status/phase"), "Paused"));
	T_ASSERT(k8s_obj_type(m.sched, "/status/nextRun") == K8S_T_ABSENT);
	T_ASSERT(!k8s_obj_set_bool(m.sched, "/spec/paused", false) &&
		 !k8s_obj_set_bool(m.sched, "/spec/skipImmediately", true));
	sim_reconcile(&m, t0 + 191);
	T_ASSERT(m.created == 4 && m.skips == 1);
	T_ASSERT(!strcmp(k8s_obj_str(m.sched, "/status/skipped/reason"), "SkipImmediately") &&
		 k8s_obj_str(m.sched, "/status/lastSkipped") &&
		 !strcmp(k8s_obj_str(m.sched, "/status/lastSkipped"), "2024-05-01T00:03:11Z"));
	/* then on as before: 3:20 runs; the spec still says skipImmediately */
	for (int64_t t = t0 + 192; t <= t0 + 200; t++)
		sim_reconcile(&m, t);
	T_ASSERT(m.created == 5 && m.skips == 1, "created %u skips %u", m.created, m.skips);
	T_ASSERT(k8s_obj_type(m.sched, "/spec/skipImmediately") == K8S_T_BOOL);
	sim_free(&m);

	/* a day of hourly runs in Lord Howe across its 30-minute fall back, at the requeue times */
	memset(&m, 0, sizeof(m));
	m.sched = J("{'metadata':{'name':'h','creationTimestamp':'2024-04-06T12:00:00Z'},'spec':{"
		    "'schedule':'0 * * * *','timeZone':'Australia/Lord_Howe'}}");
	{
		int64_t t = ts("2024-04-06T12:00:00Z"), end = t + 86400;
		unsigned int reconciles = 0;

		while (t <= end) {
			struct cluster_schedule s;
			struct cluster_schedule_plan p;
			struct cluster_err err;

			sim_reconcile(&m, t);
			T_ASSERT(cluster_schedule_read(m.sched, &s, &err) == 0);
			T_ASSERT(cluster_schedule_plan(&s, NULL, 0, t, false, &p) == 0);
			T_ASSERT(p.action == CLUSTER_PLAN_WAIT && p.requeue_s > 0,
				 "at %lld: %s after a reconcile", (long long)t,
				 cluster_plan_action_name(p.action));
			cluster_schedule_fini(&s);
			t += p.requeue_s;
			reconciles++;
		}
		/*
		 * 24 hours hold 23 runs, 00:00 to 22:00: at 02:00 the clock went back to
		 * 01:30, and 02:00 came 90 minutes after 01:00. One reconcile at each
		 * run and the first: none more.
		 */
		T_ASSERT(m.created == 23 && reconciles == 24, "%u runs, %u reconciles", m.created,
			 reconciles);
	}
	sim_free(&m);
}

int main(void)
{
	test_names();
	test_backup_read();
	test_status_patch();
	if (access(CLUSTER_TZDIR "/America/New_York", R_OK))
		t_skip("no %s/America/New_York: tzdata is not installed (tests/install-deps.sh)",
		       CLUSTER_TZDIR);
	test_read_full();
	test_read_refused();
	test_plan();
	test_last_success();
	test_backup_object();
	test_retention();
	test_simulated();
	printf("t_schedule: reading, refusals, plans (missed runs, overlap, pause, "
	       "skipImmediately, DST), the Backup, the status patch, retention, a simulated "
	       "controller: ok\n");
	return 0;
}
