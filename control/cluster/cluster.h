/* SPDX-License-Identifier: MIT */
/*
 * control/cluster/cluster.h - the cluster capability (layer 2 of control/,
 * control/README.md): cluster backup, restore and schedules. Today it holds
 * the core of schedules, which both `ferry schedule create` (to check what
 * the user typed) and the Schedule reconciler (to know what to do) call:
 * the schedule language (cron.c), time zones read from the system's TZif
 * files (tz.c), and the Schedule resource (schedule.c): its spec and status
 * read from an API object, the decision of one reconcile (run, skip, wait,
 * paused), the Backup a run creates, and which of the schedule's Backups
 * retention drops. Nothing in it reads the clock, the environment or the
 * process's TZ, prints, or talks to an API server: every time is an
 * argument, API objects are values (struct k8s_obj, k8s/k8s.h), and every
 * refusal is a -errno with a one-line reason in a struct cluster_err the
 * caller owns. The only I/O is reading a zone's file, once per process.
 * Design notes and the reasons behind each rule: control/cluster/README.md.
 *
 * Times are int64_t seconds since 1970-01-01T00:00:00Z, POSIX time (no leap
 * seconds), from CLUSTER_TIME_MIN (0001-01-01T00:00:00Z) to
 * CLUSTER_TIME_MAX (9999-12-31T23:59:59Z). A schedule runs on whole seconds.
 *
 * THE SCHEDULE LANGUAGE. Four forms, told apart by their shape alone; a
 * shape that fits none, or could be read two ways, is refused:
 *
 *   @yearly @annually @monthly @weekly @daily @midnight @hourly
 *       a leading '@': the 5-field expressions 0 0 1 1 *, 0 0 1 * *,
 *       0 0 * * 0, 0 0 * * *, 0 * * * *.
 *   @every DURATION
 *       a Go duration ("90m", "1h30m", "1.5h"; units h m s ms us ns), a
 *       whole number of seconds, at least 1 s. Absolute time: the zone does
 *       not apply, and cluster_cron_next() gives @after + DURATION.
 *   5 fields: minute hour day-of-month month day-of-week (Vixie cron, and
 *       robfig/cron's ParseStandard as Velero and Kubernetes CronJobs take
 *       it). minute 0-59, hour 0-23, day-of-month 1-31, month 1-12 or
 *       JAN-DEC, day-of-week 0-7 or SUN-SAT where 0 AND 7 ARE SUNDAY.
 *       Items: '*', N, N-M, a '/STEP' after '*', N or N-M ("5/15" is
 *       5-59/15), lists with ','. No '?', 'L', 'W' or '#' (Quartz's; they
 *       are refused here rather than read as robfig reads '?').
 *       The day rule (Vixie cron's, which robfig/cron follows, so Velero
 *       and Kubernetes run the same days): when day-of-month and
 *       day-of-week are both restricted (neither is '*'), a day matching
 *       EITHER runs ("0 0 13 * FRI": every 13th and every Friday); when
 *       either is '*', a day must match both. Vixie cron calls a field
 *       '*' when its text starts with '*', robfig when an item is '*' or
 *       '*\/1'; where the two disagree ('*\/2', "5,*") and the other day
 *       field is restricted, the expression is refused.
 *   6 or 7 fields: Quartz (the cookbook's Velero schedule "0 0 1 * * ?",
 *       daily at 01:00:00): second minute hour day-of-month month
 *       day-of-week [year]. second 0-59, year 1970-2099, DAY-OF-WEEK 1-7
 *       OR SUN-SAT WHERE 1 IS SUNDAY AND 7 SATURDAY. Exactly one of
 *       day-of-month and day-of-week is '?' (no day rule is needed); a
 *       6-field expression without '?' is refused, since robfig's seconds
 *       form would read its day-of-week 0-6 from Monday = 1. Also:
 *         day-of-month  L (last day), L-N (N days before it, N 0-30),
 *                       NW (the weekday nearest day N, never leaving the
 *                       month: 1W on a Saturday is Monday the 3rd; a
 *                       month without day N has no run), LW, L-NW
 *         day-of-week   NL (the last weekday N of the month), N#K (the
 *                       K-th weekday N, K 1-5: no run in a month without
 *                       it), L alone is 7 (Saturday), as Quartz has it
 *       each as the whole field (no lists or ranges around it).
 *   Either field form may start with one CRON_TZ=Zone or TZ=Zone prefix
 *   (robfig's): the schedule's zone, checked as cluster_tz_name_check()
 *   does. Names (months, days) are case-insensitive; descriptors and
 *   prefixes are not. Fields are separated by spaces or tabs.
 *
 * Refused with the reason (one line that names the field and the problem):
 * values out of range, a range that runs backwards (22-2), a step of 0 or
 * larger than its field (minute "*\/90": a step restarts each hour, so it
 * would run at :00 only; "@every 90m" is what was meant), a step from a
 * single day-of-week in 5-field cron ("1/3": through 6 or through 7?), an
 * expression that never runs (day 30 in February, or no date in its
 * years), and @every of less than a second, of a fraction of a second or
 * with units Go lacks ("1d").
 *
 * TIME ZONES AND DST. Fields are wall-clock times in the schedule's zone;
 * a wall time runs at THE FIRST INSTANT AT WHICH THE ZONE'S CLOCK READS IT
 * OR LATER. So:
 *   - a wall time that does not exist (skipped on the spring-forward day:
 *     02:30 in New York on 2024-03-10) runs once, at the first valid instant
 *     after the gap (03:00 EDT); several skipped times run once together;
 *   - a wall time that exists twice (the fall-back day: 01:30 in New York
 *     on 2024-11-03) runs once, at its FIRST occurrence (01:30 EDT, not
 *     01:30 EST). This holds for every field: "0 * * * *" runs at 01:00
 *     EDT and next at 02:00 EST, two real hours later, and a schedule of
 *     every 10 minutes pauses for the repeated hour;
 *   - @every counts absolute seconds and ignores the zone.
 * Zones are read from /usr/share/zoneinfo (RFC 8536 TZif, versions 1-4:
 * the 64-bit data of version 2 and later, and the footer's POSIX TZ rule
 * for times after the table, as RFC 8536 §3.3 and its version-3 extensions
 * say). Before a zone's first transition its time type 0 applies; after the
 * last one, the footer's rule, or the last type when the footer is empty.
 * "UTC" is built in (no file needed); "Etc/UTC" is read like any zone.
 *
 * THREADS. Everything here may be called from any thread at once. A
 * struct cluster_cron is a plain value: parse once, read from many threads.
 * A struct cluster_tz is immutable and reference-counted; the cache that
 * cluster_tz_get() keeps is locked inside. The process's TZ, environ and
 * localtime() are never touched.
 */
#ifndef FERRY_CLUSTER_H
#define FERRY_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "datapath/dp.h"

#define CLUSTER_TIME_MIN (-62135596800LL) /* 0001-01-01T00:00:00Z */
#define CLUSTER_TIME_MAX 253402300799LL	  /* 9999-12-31T23:59:59Z */

/*
 * struct cluster_err - why something was refused: @code is the -errno
 * returned (0 after a success), @msg one line naming the field or value
 * ("" after a success). Owned by the caller; nothing here keeps it. A
 * reconciler writes @msg into status.conditions as it is.
 */
struct cluster_err {
	int code;
	char msg[256];
};

/* ------------------------------------------------------------ time zones (tz.c) */

#define CLUSTER_TZ_NAME_MAX 255
#define CLUSTER_TZ_ABBR_MAX 15
#define CLUSTER_TZDIR	    "/usr/share/zoneinfo"

/* A time zone: immutable; shared by reference (cluster_tz_get()/_put()). */
struct cluster_tz;

/*
 * struct cluster_civil - a wall-clock time: proleptic Gregorian calendar,
 * @year 1-9999 (0 and 10000 may appear at the edges of the time range),
 * @mon 1-12, @mday 1-31, @hour 0-23, @min 0-59, @sec 0-59 (never 60),
 * @wday 0-6 with 0 Sunday (set on output; ignored on input).
 */
struct cluster_civil {
	int year, mon, mday, hour, min, sec, wday;
};

/*
 * struct cluster_tz_info - the zone's time type at an instant: @utoff
 * seconds east of UTC, @isdst as the data says it, @abbr ("CEST", "+0530").
 * The type holds over [@since, @until): instants where the zone's data
 * changes type (which may keep the same offset); INT64_MIN / INT64_MAX
 * where there is none.
 */
struct cluster_tz_info {
	int32_t utoff;
	bool isdst;
	char abbr[CLUSTER_TZ_ABBR_MAX + 1];
	int64_t since, until;
};

/*
 * cluster_tz_name_check() - whether @name can name a zone, without I/O:
 * 1 to CLUSTER_TZ_NAME_MAX characters from A-Z a-z 0-9 . _ + - and '/'
 * between components, no component empty or starting with '.' or '-' (so
 * no "..", no absolute path, nothing outside CLUSTER_TZDIR), and not
 * "Local" or "localtime" (the machine's own zone: a schedule names its
 * zone).
 * Return: 0; -EINVAL, with the reason in @err.
 */
int cluster_tz_name_check(const char *name, struct cluster_err *err);

/*
 * cluster_tz_get() - the zone @name (checked as above; "UTC" is built in,
 * any other is read from CLUSTER_TZDIR/@name), from a process-wide cache:
 * each zone is read once and kept (up to 1024 zones; past that, a zone is
 * read for each call and freed by its last put).
 * @name: borrowed; @out: on success, a reference the caller owns and
 * drops with cluster_tz_put(). Any thread.
 * Return: 0; -EINVAL (a bad name); -ENOENT (no such zone); -EBADMSG (the
 * file is not valid TZif, or counts leap seconds as the right/ zones do);
 * -ENOMEM; another -errno from open() or read(). The reason is in @err.
 */
int cluster_tz_get(const char *name, struct cluster_tz **out, struct cluster_err *err);

/*
 * cluster_tz_parse() - a zone from TZif bytes (RFC 8536, versions 1-4),
 * outside the cache: what cluster_tz_get() does after reading the file.
 * Checks every count, index and offset (|offset| below 26 h) against the
 * RFC, transitions strictly ascending, and the footer's TZ string.
 * @buf, @len: borrowed; @name: borrowed, kept as the zone's name (at most
 * CLUSTER_TZ_NAME_MAX characters are kept); @out: one reference, the
 * caller's, dropped with cluster_tz_put().
 * Return: 0; -EBADMSG (malformed, with the reason in @err); -ENOMEM.
 */
int cluster_tz_parse(const void *buf, size_t len, const char *name, struct cluster_tz **out,
		     struct cluster_err *err);

/* cluster_tz_put() - drop a reference; NULL and the built-in UTC are no-ops. */
void cluster_tz_put(struct cluster_tz *tz);

/* cluster_tz_name() - the zone's name, valid while the reference is held. */
const char *cluster_tz_name(const struct cluster_tz *tz);

/*
 * cluster_tz_lookup() - the time type at instant @t (NULL @tz is UTC).
 * Return: 0; -ERANGE (@t outside CLUSTER_TIME_MIN..MAX).
 */
int cluster_tz_lookup(const struct cluster_tz *tz, int64_t t, struct cluster_tz_info *out);

/*
 * cluster_tz_local() - the wall-clock time at instant @t in @tz (NULL is
 * UTC); @info, if not NULL, gets the time type as cluster_tz_lookup().
 * Return: 0; -ERANGE (@t outside CLUSTER_TIME_MIN..MAX).
 */
int cluster_tz_local(const struct cluster_tz *tz, int64_t t, struct cluster_civil *wall,
		     struct cluster_tz_info *info);

/*
 * cluster_tz_resolve() - the instant of wall-clock time @wall in @tz (NULL
 * is UTC) by the rule above: the first instant at which the clock reads
 * @wall or later. A time that exists twice gives its first occurrence; one
 * inside a gap gives the first instant after the gap. @wall->wday is
 * ignored; the other fields must be in range (@year 1-9999).
 * Return: 0; -EINVAL (a field out of range); -ERANGE (the instant is
 * outside CLUSTER_TIME_MIN..MAX).
 */
int cluster_tz_resolve(const struct cluster_tz *tz, const struct cluster_civil *wall, int64_t *out);

/*
 * cluster_tz_format() - @t as RFC 3339 in @tz's wall time with its offset,
 * "2024-03-10T03:00:00-04:00" (NULL @tz: "...Z"), into @buf of @len bytes
 * (32 are enough). Return: the length, or -ERANGE / -ENOSPC.
 */
int cluster_tz_format(const struct cluster_tz *tz, int64_t t, char *buf, size_t len);

/* ---------------------------------------------------------- schedules (cron.c) */

enum cluster_cron_form {
	CLUSTER_CRON_STANDARD,	 /* 5 fields */
	CLUSTER_CRON_DESCRIPTOR, /* @daily and the others, as their 5 fields */
	CLUSTER_CRON_EVERY,	 /* @every DURATION */
	CLUSTER_CRON_QUARTZ,	 /* 6 or 7 fields, seconds first */
};

/*
 * struct cluster_cron - a parsed schedule: a plain value, filled only by
 * cluster_cron_parse() and read by the functions below; copy it freely.
 * @zone: the CRON_TZ=/TZ= prefix's zone, "" without one (see
 * cluster_cron_zone()). @every: @every's seconds. The rest is the fields as
 * sets of values, day-of-week numbered 0-6 from Sunday whatever the form;
 * the Quartz specials; @dom_star/@dow_star mark a field that does not
 * restrict days for the day rule. Read them only to show or test them.
 */
struct cluster_cron {
	enum cluster_cron_form form;
	char zone[CLUSTER_TZ_NAME_MAX + 1];
	int64_t every;
	uint64_t sec, min; /* bit n: second / minute n */
	uint32_t hour;	   /* bit n: hour n */
	uint32_t dom;	   /* bit n: day n, 1-31 */
	uint16_t mon;	   /* bit n: month n, 1-12 */
	uint8_t dow;	   /* bit n: weekday n, 0 Sunday .. 6 Saturday */
	bool dom_star, dow_star;
	int8_t dom_last;   /* L-N: N (L is 0); -1 without L */
	int8_t dom_near;   /* NW: N; 0 without */
	bool dom_weekday;  /* W: the weekday nearest the day L, L-N or N names */
	int8_t dow_last;   /* NL: weekday 0-6; -1 without */
	int8_t dow_nth;	   /* N#K: K 1-5; 0 without */
	int8_t dow_nth_wd; /* N#K: weekday 0-6 */
	bool any_year;
	uint64_t years[3]; /* bit n: year 1970 + n, with a Quartz year field */
};

/*
 * cluster_cron_parse() - read a schedule in one of the forms above.
 * @text: borrowed, at most 1024 characters; @out: filled on success.
 * Return: 0; -EINVAL with the reason in @err ("day-of-week '8': 8 is
 * outside 0-7 (5-field cron: 0 and 7 are Sunday)").
 */
int cluster_cron_parse(const char *text, struct cluster_cron *out, struct cluster_err *err);

/*
 * cluster_cron_zone() - the zone a schedule runs in: its CRON_TZ=/TZ=
 * prefix, or @time_zone (a Schedule's spec.timeZone; NULL or "" for none),
 * or "UTC" when neither is given. Both given is refused, as Kubernetes
 * refuses it for CronJobs: the zone is said once.
 * @name: on success, borrowed from @c or @time_zone, or a constant.
 * Return: 0; -EINVAL (both given; a bad @time_zone name).
 */
int cluster_cron_zone(const struct cluster_cron *c, const char *time_zone, const char **name,
		      struct cluster_err *err);

/*
 * cluster_cron_next() - the first run strictly after @after, in zone @tz
 * (NULL is UTC; ignored for @every), by the DST rule above.
 * Return: 0 and *@next > @after; -ENOENT (no run before year 10000, or
 * after the last year of a Quartz year field); -ERANGE (@after outside
 * CLUSTER_TIME_MIN..MAX).
 */
int cluster_cron_next(const struct cluster_cron *c, const struct cluster_tz *tz, int64_t after,
		      int64_t *next);

/*
 * cluster_cron_matches() - whether wall-clock time @wall (@year 0-10000)
 * is one of the schedule's times, field by field (@wall->wday is
 * recomputed, not trusted). Always false for @every, which has no wall
 * times.
 */
bool cluster_cron_matches(const struct cluster_cron *c, const struct cluster_civil *wall);

#define CLUSTER_CRON_COUNT_MAX 1000

/*
 * struct cluster_cron_due - the runs that fell in (last, now]:
 * @runs: how many (counted up to CLUSTER_CRON_COUNT_MAX; @more when there
 * were more); @first and @due: the earliest and the latest of them (when
 * @runs > 0); @next: the first run after now, when @has_next (a Quartz year
 * field can run out).
 */
struct cluster_cron_due {
	uint32_t runs;
	bool more, has_next;
	int64_t first, due, next;
};

/*
 * cluster_cron_due() - what a controller that wakes at @now must do for a
 * schedule that last ran at @last: the runs it missed collapse to ONE.
 * With @out->runs > 0, run once now, for the scheduled time @out->due, and
 * report @out->runs - 1 runs skipped (from @out->first); then wait for
 * @out->next. Pass as @last the scheduled time of the previous run (its
 * @due), or the Schedule's creation time before the first; not the time
 * the run actually started. @every keeps the phase of @last: its runs are
 * @last + k * DURATION. A @now before @last has nothing due. Pure: the
 * same arguments give the same answer.
 * Return: 0; -ERANGE (@last or @now outside CLUSTER_TIME_MIN..MAX).
 */
int cluster_cron_due(const struct cluster_cron *c, const struct cluster_tz *tz, int64_t last,
		     int64_t now, struct cluster_cron_due *out);

/*
 * cluster_schedule_check() - all a client checks before it creates a
 * Schedule: @schedule parses, its zone (@time_zone as in
 * cluster_cron_zone()) is known here and readable. Reads the zone's file
 * through the cache. Return: 0; as cluster_cron_parse(), cluster_cron_zone()
 * and cluster_tz_get(), with the reason in @err.
 */
int cluster_schedule_check(const char *schedule, const char *time_zone, struct cluster_err *err);

/* ------------------------------------------------ the Schedule resource (schedule.c) */

/*
 * A Schedule (ferry.io/v1alpha1, namespaced) is Velero's Schedule with a
 * zone, Quartz and GFS retention:
 *
 *   spec:
 *     schedule: "0 1 * * *"       the schedule language above (required)
 *     timeZone: Europe/Berlin     IANA zone (or CRON_TZ= in schedule; not both)
 *     paused: false               nothing runs while true
 *     skipImmediately: false      at a start, skip the runs already due
 *                                 (absent: the controller's default)
 *     template:                   the Backup's spec, copied as it is into each
 *       ttl: 720h                 Backup; ttl: an expiry (datapath/dp.h), in
 *       metadata: {labels: {}}    ctl_parse_duration()'s syntax; no ttl, no
 *       ...                       expiry. metadata.labels go on the Backup
 *     retention:                  GFS counts over the schedule's Backups, as
 *       last: 2                   `ferry forget --keep-*`: last, hourly, daily,
 *       daily: 7                  weekly, monthly, yearly (0-1000000 each)
 *     useOwnerReferencesInBackup  only false: a Schedule never owns its Backups
 *
 * Unknown fields of spec, template.metadata and retention are refused (a
 * typo would otherwise switch a rule off). The status the reconciler writes
 * (struct cluster_schedule_status) keeps Velero's phase, validationErrors,
 * lastBackup and lastSkipped, and adds lastScheduleTime (the run a Backup was
 * for, as CronJobs keep it), nextRun, what was skipped and why, and the last
 * Completed Backup.
 *
 * ONE RECONCILE. Read the Schedule (cluster_schedule_read()) and the Backups
 * labelled CLUSTER_LABEL_SCHEDULE=cluster_schedule_label_value()
 * (cluster_backup_read()), then cluster_schedule_plan() says what to do now:
 *   CLUSTER_PLAN_RUN      create plan.backup_name (cluster_schedule_backup();
 *                             -EEXIST from the API server means an earlier
 *                             reconcile made it: go on), then write the status
 *   CLUSTER_PLAN_SKIP     write the status only
 *   CLUSTER_PLAN_BUSY     a Backup of the schedule is still running: create
 *                             nothing (Velero does not overlap runs); look
 *                             again when it ends
 *   CLUSTER_PLAN_WAIT, _PAUSED, _INVALID   write the status if it changed
 * and come back after plan.requeue_s. Write the status with
 * cluster_schedule_status_patch() as a merge patch of the status subresource.
 * cluster_schedule_retention() then names the Backups to delete.
 *
 * THE RULES (control/cluster/README.md gives the reasons):
 *   - Runs are counted from a cursor: the later of status.lastScheduleTime
 *     and the status.lastSkipped of a skipImmediately; before either, the
 *     creation time (before that, now). Velero counts
 *     from lastBackup, the time the Backup was made; a run's own time makes
 *     the Backup's name deterministic (<schedule>-<run, UTC, YYYYMMDDhhmmss>),
 *     so a reconcile that died between the create and the status write finds
 *     its Backup instead of making a second.
 *   - Missed runs collapse (cluster_cron_due()): after an outage the latest
 *     missed run runs once, now; the others are reported as skipped
 *     ("Missed"). A run due while a Backup of the schedule is running waits
 *     for it, then runs once.
 *   - Paused: nothing runs and nextRun is cleared; the runs that fall while
 *     paused are missed runs at the unpause.
 *   - A start is the first reconcile that finds the schedule runnable after
 *     it was not: just created (phase New), unpaused (phase Paused) or
 *     repaired (phase FailedValidation). skipImmediately applies at a start
 *     only: the runs due then are skipped ("SkipImmediately", lastSkipped =
 *     now) and the next run follows now. Velero resets spec.skipImmediately
 *     to false after using it; ferry never writes the user's spec (GitOps
 *     tools would fight it back), and keeps the start in status.phase
 *     instead, so the field keeps its meaning for every later unpause.
 *   - An invalid spec is phase FailedValidation with its one reason in
 *     validationErrors; nothing runs until the spec changes.
 */

#define CLUSTER_API_GROUP	  "ferry.io"
#define CLUSTER_API_VERSION	  "v1alpha1"
#define CLUSTER_LABEL_SCHEDULE	  "ferry.io/schedule"	  /* on each Backup of a schedule */
#define CLUSTER_ANN_SCHEDULED_AT  "ferry.io/scheduled-at" /* the run it was made for, RFC 3339 */
#define CLUSTER_ANN_SCHEDULE	  "ferry.io/schedule"	  /* on each Backup: the Schedule's name */
#define CLUSTER_NAME_MAX	  253			  /* a DNS subdomain: Schedules, Backups */
#define CLUSTER_SCHEDULE_NAME_MAX (CLUSTER_NAME_MAX - 15) /* Backups add -YYYYMMDDhhmmss */
#define CLUSTER_LABEL_VALUE_MAX	  63
#define CLUSTER_RETENTION_MAX	  1000000 /* the largest count of a retention rule */
#define CLUSTER_BUSY_RECHECK_S	  60	  /* BUSY: look again after this, at the latest */

/* "no such time" in the structs below (times are seconds, CLUSTER_TIME_MIN..MAX) */
#define CLUSTER_NO_TIME INT64_MIN

struct k8s_obj;
struct k8s_reconciler;
struct k8s_resource;

/* schedules and backups of ferry.io/v1alpha1, for the k8s/ calls */
extern const struct k8s_resource cluster_schedules, cluster_backups;

enum cluster_schedule_phase {
	CLUSTER_SCHEDULE_NEW,		    /* "New", or no status yet */
	CLUSTER_SCHEDULE_ENABLED,	    /* "Enabled" */
	CLUSTER_SCHEDULE_PAUSED,	    /* "Paused" */
	CLUSTER_SCHEDULE_FAILED_VALIDATION, /* "FailedValidation" */
};

/* cluster_schedule_phase_name() - the status.phase string of @p */
const char *cluster_schedule_phase_name(enum cluster_schedule_phase p);

enum cluster_skip_reason {
	CLUSTER_SKIP_NONE,
	CLUSTER_SKIP_MISSED,	  /* "Missed": collapsed into the run after them */
	CLUSTER_SKIP_IMMEDIATELY, /* "SkipImmediately": due at a start */
};

/*
 * struct cluster_schedule_status - the Schedule's status, as read and as
 * written; times are seconds or CLUSTER_NO_TIME; strings "" for none.
 * @validation_error: FailedValidation's reason (status.validationErrors[0])
 * @last_backup, @last_backup_name: when the last Backup was created, its name
 * @last_schedule_time: the run that Backup was made for
 * @last_skipped: when runs were last skipped; @skipped_*: those runs (the
 *     count stops at CLUSTER_CRON_COUNT_MAX, @skipped_more then), the first
 *     and the last of them, and why
 * @next_run: the next run (none while paused or invalid, or when none is left)
 * @last_success_name, @last_success_time: the newest Completed Backup of the
 *     schedule and when it completed
 * @observed_generation: metadata.generation of the spec this status is of
 */
struct cluster_schedule_status {
	enum cluster_schedule_phase phase;
	char validation_error[256];
	int64_t last_backup;
	char last_backup_name[CLUSTER_NAME_MAX + 1];
	int64_t last_schedule_time;
	int64_t last_skipped;
	uint32_t skipped_runs;
	bool skipped_more;
	int64_t skipped_first, skipped_last;
	enum cluster_skip_reason skipped_reason;
	int64_t next_run;
	char last_success_name[CLUSTER_NAME_MAX + 1];
	int64_t last_success_time;
	int64_t observed_generation;
};

/*
 * struct cluster_schedule - a Schedule object read into plain values: it
 * holds no pointer into the object, which may be freed after the read.
 * @name, @ns, @created (creationTimestamp, or CLUSTER_NO_TIME), @generation
 * @label: the value of CLUSTER_LABEL_SCHEDULE on its Backups
 * @expr, @time_zone: spec.schedule and spec.timeZone as written
 * @paused; @skip_immediately: -1 absent, 0 false, 1 true
 * @ttl: spec.template.ttl in seconds, 0 for none
 * @keep: spec.retention's counts, indexed by enum dp_keep_rule (0: off)
 * @status: the status as read (a field that does not parse is absent)
 * @invalid: 0, or -EINVAL when the spec is refused: @why has the reason,
 *     and @cron, @tz and the spec fields after the refused one are not set
 * @cron, @tz: the parsed schedule and its zone (a reference: dropped by
 *     cluster_schedule_fini())
 */
struct cluster_schedule {
	char name[CLUSTER_NAME_MAX + 1];
	char ns[CLUSTER_NAME_MAX + 1];
	int64_t created;
	int64_t generation;
	char label[CLUSTER_LABEL_VALUE_MAX + 1];
	char expr[1025];
	char time_zone[CLUSTER_TZ_NAME_MAX + 1];
	bool paused;
	int skip_immediately;
	int64_t ttl;
	uint32_t keep[DP_KEEP_NCOUNTS];
	struct cluster_schedule_status status;
	int invalid;
	char why[256];
	struct cluster_cron cron;
	struct cluster_tz *tz;
};

/*
 * cluster_schedule_read() - read a Schedule object (a parsed API object or
 * manifest) into @s, checking its spec as above.
 * @o: borrowed; @s: filled (cluster_schedule_fini() it after any return).
 * A refused spec is not an error: it is @s->invalid, and the reconciler
 * writes it as phase FailedValidation. Reads the zone's TZif file through
 * the cache of cluster_tz_get().
 * Return: 0 (look at @s->invalid); -EINVAL when @o is not a Schedule at all
 * (not an object, another kind or apiVersion, no metadata.name: nothing to
 * write a status to), with the reason in @err; -ENOMEM, -EMFILE, -EIO and
 * the like when the zone's file could not be read (retry; @err says why).
 */
int cluster_schedule_read(const struct k8s_obj *o, struct cluster_schedule *s,
			  struct cluster_err *err);

/* cluster_schedule_fini() - drop @s's zone reference; NULL and a zeroed @s are no-ops. */
void cluster_schedule_fini(struct cluster_schedule *s);

/*
 * cluster_schedule_label_value() - the value of CLUSTER_LABEL_SCHEDULE for
 * the schedule @name: the name when it has at most 63 characters, else its
 * first 53 and 10 hex digits of a hash of the whole (label values stop at
 * 63). @out: CLUSTER_LABEL_VALUE_MAX + 1 bytes.
 */
void cluster_schedule_label_value(const char *name, char *out);

/* The phases of a Backup, as Velero names them (status.phase). */
enum cluster_backup_phase {
	CLUSTER_BACKUP_NEW,	    /* "", "New" */
	CLUSTER_BACKUP_IN_PROGRESS, /* "InProgress", "Finalizing", "WaitingForPluginOperations*" */
	CLUSTER_BACKUP_COMPLETED,   /* "Completed" */
	CLUSTER_BACKUP_PARTIALLY_FAILED, /* "PartiallyFailed", "FinalizingPartiallyFailed" done */
	CLUSTER_BACKUP_FAILED,		 /* "Failed", "FailedValidation" */
	CLUSTER_BACKUP_DELETING,	 /* "Deleting", or metadata.deletionTimestamp set */
	CLUSTER_BACKUP_OTHER,		 /* a phase not known here: left alone */
};

/*
 * struct cluster_backup_rec - what a schedule needs of one of its Backups.
 * @name: borrowed from the object read (or the caller's)
 * @time: when it was made, seconds: status.startTimestamp, else
 *     metadata.creationTimestamp (CLUSTER_NO_TIME if neither); what
 *     retention's buckets and the TTL count from
 * @completed: status.completionTimestamp, or CLUSTER_NO_TIME
 */
struct cluster_backup_rec {
	const char *name;
	enum cluster_backup_phase phase;
	int64_t time;
	int64_t completed;
};

/*
 * cluster_backup_read() - @r from a Backup object @o (borrowed; @r->name
 * points into it).
 * Return: 0; -EINVAL (not an object, or no metadata.name).
 */
int cluster_backup_read(const struct k8s_obj *o, struct cluster_backup_rec *r);

enum cluster_plan_action {
	CLUSTER_PLAN_WAIT,    /* nothing due */
	CLUSTER_PLAN_RUN,     /* create the Backup for @slot */
	CLUSTER_PLAN_SKIP,    /* runs due at a start are skipped */
	CLUSTER_PLAN_BUSY,    /* due, but a Backup of the schedule is running */
	CLUSTER_PLAN_PAUSED,  /* spec.paused */
	CLUSTER_PLAN_INVALID, /* the spec is refused */
};

/* cluster_plan_action_name() - "Wait", "Run", "Skip", "Busy", "Paused", "Invalid" */
const char *cluster_plan_action_name(enum cluster_plan_action a);

/*
 * struct cluster_schedule_plan - what one reconcile does.
 * @action: above
 * @slot, @backup_name: RUN: the run the Backup is for and its name
 * @backup_exists: RUN: a Backup of that name is among those given (an
 *     earlier reconcile made it): write the status only
 * @busy_name: BUSY: the running Backup
 * @status: the status to write; @status_changed: whether it differs from
 *     the status read (WAIT, PAUSED, INVALID: write only then)
 * @requeue_s: reconcile again after this many seconds (at @status.next_run,
 *     CLUSTER_BUSY_RECHECK_S for BUSY); 0: only when the object changes
 */
struct cluster_schedule_plan {
	enum cluster_plan_action action;
	int64_t slot;
	char backup_name[CLUSTER_NAME_MAX + 1];
	bool backup_exists;
	char busy_name[CLUSTER_NAME_MAX + 1];
	struct cluster_schedule_status status;
	bool status_changed;
	int64_t requeue_s;
};

/*
 * cluster_schedule_plan() - what to do for schedule @s at @now, by the
 * rules above. Pure: the same arguments give the same plan.
 * @backups: the schedule's Backups (@n of them, borrowed; NULL if @n is 0),
 *     for the overlap check, @backup_exists and the last Completed one
 * @skip_default: skipImmediately where the spec does not say
 * Return: 0; -ERANGE (@now outside CLUSTER_TIME_MIN..MAX).
 */
int cluster_schedule_plan(const struct cluster_schedule *s,
			  const struct cluster_backup_rec *backups, size_t n, int64_t now,
			  bool skip_default, struct cluster_schedule_plan *out);

/*
 * cluster_schedule_backup() - the Backup a run of @s at @slot creates:
 * ferry.io/v1alpha1 Backup @s->ns/<name>-<slot in UTC, YYYYMMDDhhmmss>
 * (cluster_schedule_plan()'s @backup_name), with the Schedule's labels,
 * then spec.template.metadata.labels, then CLUSTER_LABEL_SCHEDULE; the
 * annotation CLUSTER_ANN_SCHEDULED_AT; spec = spec.template without its
 * metadata. No owner reference. `ferry backup create --from-schedule` passes
 * the time it runs as @slot.
 * @schedule: the object @s was read from (borrowed); @out: a new root, the
 * caller's (k8s_obj_free()).
 * Return: 0; -EINVAL (@s is invalid, or @slot out of range); -ENOMEM.
 */
int cluster_schedule_backup(const struct cluster_schedule *s, const struct k8s_obj *schedule,
			    int64_t slot, struct k8s_obj **out, struct cluster_err *err);

/*
 * cluster_schedule_backup_name() - "<@name>-<@slot in UTC, YYYYMMDDhhmmss>"
 * into @out (CLUSTER_NAME_MAX + 1 bytes).
 * Return: 0; -ENAMETOOLONG (@name longer than CLUSTER_SCHEDULE_NAME_MAX);
 * -ERANGE (@slot out of range).
 */
int cluster_schedule_backup_name(const char *name, int64_t slot, char *out);

/*
 * cluster_schedule_status_patch() - {"status": {...}} for a merge patch of
 * the status subresource: every field of @st, with null for those that are
 * absent, so that the patch also clears them. @out: a new root, the
 * caller's. Return: 0; -ENOMEM.
 */
int cluster_schedule_status_patch(const struct cluster_schedule_status *st, struct k8s_obj **out);

/*
 * struct cluster_retention_verdict - what retention says of one Backup.
 * @remove: delete it (the Backup, its snapshots, its record)
 * @expired: its TTL has passed
 * @reasons: bits (1u << enum dp_keep_rule) of the rules that keep it, as
 *     dp_retention_select() gives them (0 for Backups the rules do not see)
 */
struct cluster_retention_verdict {
	bool remove;
	bool expired;
	unsigned int reasons;
};

/*
 * cluster_schedule_retention() - which of the schedule's Backups go, by
 * @s's retention and TTL, through dp_retention_select() (the function of
 * `ferry forget`): Completed and PartiallyFailed Backups are the records the
 * counting rules and the TTL see, in one group; Failed ones go by the TTL
 * alone (they never take a rule's place); New, running, Deleting and
 * unknown ones, and any without a time, are never removed. Without a rule
 * or a TTL nothing goes. An invalid @s removes nothing.
 * @backups: @n records, borrowed; @now: seconds; @out: @n verdicts.
 * Return: 0; -ENOMEM; -EINVAL (from dp_retention_select(), with @err).
 */
int cluster_schedule_retention(const struct cluster_schedule *s,
			       const struct cluster_backup_rec *backups, size_t n, int64_t now,
			       struct cluster_retention_verdict *out, struct cluster_err *err);

/* ----------------------------------- the Schedule reconciler (schedule_ctl.c) */

/*
 * cluster_schedule_reconciler - `ferry controller`'s reconciler of
 * Schedules (control/operator/registry.c): one reconcile as "ONE
 * RECONCILE" above; Ready condition reasons Scheduled, Paused,
 * BackupInProgress, FailedValidation. It watches Schedules and the Backups
 * labelled CLUSTER_LABEL_SCHEDULE in every namespace; it creates, reads and
 * deletes Backups and patches schedules/status (k8s/deploy/controller-rbac.yaml).
 */
extern const struct k8s_reconciler cluster_schedule_reconciler;

#endif /* FERRY_CLUSTER_H */
