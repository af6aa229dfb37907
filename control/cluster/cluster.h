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
#define CLUSTER_LABEL_KEY_MAX	  317	  /* a DNS subdomain prefix (253), '/', a name (63) */
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

/* ================================================================ objects
 *
 * THE OBJECTS OF A CLUSTER BACKUP (select.c, discover.c, collect.c,
 * restore_plan.c, restore_apply.c): which API objects a Backup takes, as
 * Velero selects them; collecting them over k8s/ as JSON lines; and the
 * restore of such lines: Velero's strip list, priority tiers and mappings
 * as pure functions, then applied tier by tier over k8s/. The reasons and
 * every Velero rule followed are in control/cluster/README.md ("Objects").
 *
 * Ownership: every struct below is the caller's; the *_fini()/_free()
 * calls accept NULL and zeroed structs. Threads: the pure functions may be
 * called from any thread; a struct cluster_sel and a prepared plan are
 * read-only while shared. cluster_collect() and cluster_restore_apply()
 * block (one thread; apply runs its own workers inside).
 */

#define CLUSTER_LABEL_EXCLUDE "velero.io/exclude-from-backup" /* "true": never taken */
/*
 * On what a VolumeTransfer made (control/xfer: its source VolumeSnapshot, the
 * one kept as a claim's changed-block base): ferry's plumbing, never taken
 * (restored elsewhere it would cut snapshots of that cluster's claims)
 */
#define CLUSTER_LABEL_TRANSFER	   "ferry.io/volumetransfer"
#define CLUSTER_LABEL_BACKUP_NAME  "ferry.io/backup-name"  /* added on restore */
#define CLUSTER_LABEL_RESTORE_NAME "ferry.io/restore-name" /* added on restore */
#define CLUSTER_RES_STR		   254 /* a group, resource or kind name, with its NUL */

struct k8s_client;

/*
 * struct cluster_res - one resource as API discovery serves it, in its
 * group's preferred version. @short_names: comma-separated ("deploy").
 * @listable: has the list verb; @creatable: has create.
 */
struct cluster_res {
	char group[CLUSTER_RES_STR];
	char version[64];
	char resource[CLUSTER_RES_STR];
	char singular[CLUSTER_RES_STR];
	char kind[CLUSTER_RES_STR];
	char short_names[256];
	bool namespaced;
	bool listable;
	bool creatable;
};

/* struct cluster_apis - the resources of a cluster; @res: @n, sorted by group then resource */
struct cluster_apis {
	struct cluster_res *res;
	size_t n;
};

/*
 * cluster_discover() - every resource of the core group (/api/v1) and of
 * each group of /apis in its preferred version; subresources ("pods/log")
 * are left out. A group whose version list fails (an aggregated API that
 * is down) is left out with a warning in @warn (may be NULL).
 * Return: 0; -ENOMEM; the client's -errno (@err names the path).
 */
int cluster_discover(struct k8s_client *c, struct cluster_apis *out, struct cluster_err *warn,
		     struct cluster_err *err);
void cluster_apis_fini(struct cluster_apis *a);
/* cluster_apis_find() - the resource of @api_version ("apps/v1", "v1") and @kind, or NULL */
const struct cluster_res *cluster_apis_find(const struct cluster_apis *a, const char *api_version,
					    const char *kind);
/* cluster_apis_add() - add @r (copied; for tests and for CRDs created meanwhile). 0, -ENOMEM */
int cluster_apis_add(struct cluster_apis *a, const struct cluster_res *r);

/*
 * THE SELECTION (select.c), Velero's (resource-filtering.md): a spec with
 *   includedNamespaces, excludedNamespaces  globs (* ? [abc]); none or "*"
 *       included is every namespace; an exclusion wins
 *   includedResources, excludedResources    plural, singular, kind or short
 *       name, each optionally ".group" ("deployments.apps", "deploy"); "*"
 *       for all; an exclusion wins
 *   labelSelector, orLabelSelectors         metav1.LabelSelectors; an object
 *       matches the one, or any of the list (never both: refused)
 *   includeClusterResources  true: every cluster-scoped resource; false:
 *       none (not even the PV of a PVC); absent or null: all when every
 *       namespace is selected (no included namespace other than "*", none
 *       excluded), else only those related to selected namespaced objects
 *       (the PV bound to a PVC, the CRD of a custom resource)
 *   volumePolicies  Velero's resource policies (version v1): a list of
 *       {conditions: {capacity: "MIN,MAX", storageClass: [..], pvcLabels:
 *       {..}}, action: {type: skip|snapshot}}; the first that matches a
 *       volume decides
 * ferry's VolumeTransfers (volumetransfers.ferry.io) and Migrations
 * (migrations.ferry.io) are never taken.
 * The label velero.io/exclude-from-backup=true excludes an object always,
 * related ones too. Related objects are not held to the label selectors.
 * Namespace objects come with the namespaces of the objects taken.
 */
struct cluster_sel;

/*
 * cluster_sel_parse() - the selection of a Backup spec (or of a Restore's
 * filters: the same fields). @spec: borrowed (NULL: everything).
 * Return: 0; -EINVAL with the field and value in @err; -ENOMEM.
 */
int cluster_sel_parse(const struct k8s_obj *spec, struct cluster_sel **out,
		      struct cluster_err *err);
void cluster_sel_free(struct cluster_sel *s);
/*
 * cluster_sel_policies_configmap() - Velero's resource-policies ConfigMap
 * (one data key holding the YAML document {version: v1, volumePolicies:
 * [...]}) as @s's volume policies, replacing those of the spec.
 * Return: 0; -EINVAL (@err says which field); -ENOMEM.
 */
int cluster_sel_policies_configmap(struct cluster_sel *s, const struct k8s_obj *cm,
				   struct cluster_err *err);

/* cluster_sel_namespace() - whether namespace @ns passes the namespace filters */
bool cluster_sel_namespace(const struct cluster_sel *s, const char *ns);

enum cluster_scope {
	CLUSTER_SCOPE_NONE,    /* never taken */
	CLUSTER_SCOPE_ALL,     /* listed and selected */
	CLUSTER_SCOPE_RELATED, /* taken only as related to a selected object */
};
/* cluster_sel_resource() - how resource @r is in scope (resource filters, cluster scope) */
enum cluster_scope cluster_sel_resource(const struct cluster_sel *s, const struct cluster_res *r);

enum cluster_verdict {
	CLUSTER_TAKE,
	CLUSTER_OUT_RESOURCE,	   /* the resource filters, or cluster scope */
	CLUSTER_OUT_NAMESPACE,	   /* the namespace filters */
	CLUSTER_OUT_SELECTOR,	   /* the label selector(s) */
	CLUSTER_OUT_EXCLUDE_LABEL, /* velero.io/exclude-from-backup=true */
};
/* cluster_verdict_name() - "Take", "Resource", "Namespace", "Selector", "ExcludeLabel" */
const char *cluster_verdict_name(enum cluster_verdict v);
/*
 * cluster_sel_object() - the verdict on object @o of resource @r; @related:
 * @o is pulled in by a selected object (a PVC's PV, a CR's CRD). Pure.
 */
enum cluster_verdict cluster_sel_object(const struct cluster_sel *s, const struct cluster_res *r,
					const struct k8s_obj *o, bool related);

/*
 * struct cluster_volume - one PVC of a backup and what happens to its data.
 * @bytes: the PVC's requested storage (spec.resources.requests.storage)
 * @driver: the PV's CSI driver ("" when not CSI or not bound)
 * @skip: a volume policy skips it (its objects are still taken)
 * @snapshottable: a VolumeSnapshot of it can be made
 * @warning: why not ("" when it can), or why it is skipped; one line
 */
struct cluster_volume {
	char ns[CLUSTER_NAME_MAX + 1];
	char pvc[CLUSTER_NAME_MAX + 1];
	char pv[CLUSTER_NAME_MAX + 1];
	char storage_class[CLUSTER_NAME_MAX + 1];
	char driver[CLUSTER_NAME_MAX + 1];
	int64_t bytes;
	bool skip;
	bool snapshottable;
	char warning[256];
};
/*
 * cluster_volume_check() - @pvc (borrowed) with its PV @pv (NULL: unbound,
 * or not found) against @s's volume policies and the drivers that have a
 * VolumeSnapshotClass (@drivers, @ndrivers). Warnings: hostPath, NFS and
 * other in-tree volumes cannot be snapshotted; a CSI driver without a
 * VolumeSnapshotClass; a PVC not bound. Pure. Return: 0; -EINVAL (@pvc
 * has no name).
 */
int cluster_volume_check(const struct cluster_sel *s, const struct k8s_obj *pvc,
			 const struct k8s_obj *pv, const char *const *drivers, size_t ndrivers,
			 struct cluster_volume *out);

/*
 * COLLECTION (collect.c): discovery, then a list of each resource in scope
 * (all namespaces, pages of 500), the selection, related objects (PVs of
 * taken PVCs, CRDs of taken custom resources, Namespaces of taken objects)
 * and one call of @emit per object taken, in a stable order (resources as
 * discovery sorts them, objects as listed; related ones after).
 * @line: the object as the API server served it, compact JSON, no newline
 * (status and all: stripping is the restore's), borrowed for the call.
 * @emit returns 0, or a -errno that stops the collection and is returned.
 */
struct cluster_item {
	const struct cluster_res *res;
	const char *ns; /* "" for cluster-scoped objects */
	const char *name;
	bool related;
};
typedef int (*cluster_emit_fn)(void *arg, const struct cluster_item *it, const char *line,
			       size_t len);

/*
 * struct cluster_collect_result - @objects emitted; @volumes: one per PVC
 * taken (@nvolumes); @warnings: @nwarnings lines (volumes that cannot be
 * snapshotted, resources that could not be listed, included or excluded
 * resource names that name no resource, a selection that matched nothing).
 * Freed by cluster_collect_result_fini().
 */
struct cluster_collect_result {
	size_t objects;
	struct cluster_volume *volumes;
	size_t nvolumes;
	char (*warnings)[256];
	size_t nwarnings;
};
void cluster_collect_result_fini(struct cluster_collect_result *r);

/*
 * cluster_collect() - collect what @s selects in the cluster of @c.
 * @apis: discovery already made (NULL: made here).
 * Return: 0 (see @res's warnings); what @emit returned; -ENOMEM; the
 * client's -errno for a failed list of a resource in scope (@err).
 */
int cluster_collect(struct k8s_client *c, const struct cluster_sel *s,
		    const struct cluster_apis *apis, cluster_emit_fn emit, void *arg,
		    struct cluster_collect_result *res, struct cluster_err *err);

/*
 * THE RESTORE PLAN (restore_plan.c): the options of a Restore, Velero's:
 *   namespaceMapping {old: new}         also PV claimRef.namespace and the
 *                                       subjects of (Cluster)RoleBindings
 *   storageClassMapping {old: new}      PVC, PV, StatefulSet claim templates
 *   imageMapping {old: new}             the first "old" substring of each
 *                                       container image becomes "new"
 *   existingResourcePolicy none|update  (default none)
 *   preserveNodePorts                   keep Services' nodePorts
 *   scaleWorkloadsToZero                ferry's: nothing the restore writes
 *                                       starts (SCALED TO ZERO below)
 * and Velero's ConfigMaps for the same (labels velero.io/plugin-config and
 * velero.io/change-storage-class or velero.io/change-image-name).
 *
 * SCALED TO ZERO (scaleWorkloadsToZero true; a migration's seed restores
 * this way, its cutover scales back): cluster_restore_prepare() writes
 *   Deployments, StatefulSets, ReplicaSets (apps) and ReplicationControllers
 *       spec.replicas 0, the annotation CLUSTER_ANN_RESTORE_REPLICAS the
 *       archive's count as a decimal string (absent replicas: "1");
 *   CronJobs and Jobs (batch)
 *       spec.suspend true, the annotation CLUSTER_ANN_RESTORE_SUSPEND the
 *       archive's value ("true" or "false"; absent: "false");
 * an object already so (replicas 0 or suspend true with its annotation) is
 * kept as it is, so preparing twice is preparing once (an existing object
 * compared with the backup's), and existingResourcePolicy update's merge
 * patch carries the zero too: an existing workload is never scaled up.
 * cluster_restore_plan_finish() adds: a DaemonSet cannot be held at zero:
 * restored as it is, with a note; a Pod it would create (none whose
 * controller the plan restores) is skipped, with a note naming why (no
 * controller, or its controller not restored): its pods would run.
 */
#define CLUSTER_ANN_RESTORE_REPLICAS "ferry.io/restore-replicas" /* the archive's replicas */
#define CLUSTER_ANN_RESTORE_SUSPEND  "ferry.io/restore-suspend"	 /* the archive's suspend */
enum cluster_existing {
	CLUSTER_EXISTING_NONE,	 /* an object that exists is skipped, with a warning */
	CLUSTER_EXISTING_UPDATE, /* ...is patched to the backup's content */
};

struct cluster_map {
	char *from, *to;
};

struct cluster_restore_opts {
	struct cluster_map *ns_map, *sc_map, *image_map;
	size_t n_ns_map, n_sc_map, n_image_map;
	/*
	 * nodeLabelMapping: "key=value" -> "key=value" maps a node label, "key"
	 * -> "key" a label's key (its value kept); "" drops it. Applied to pod
	 * specs: nodeSelector, nodeAffinity's terms and preferences (In/NotIn
	 * values as labels; Exists, DoesNotExist, Gt, Lt by the key; a term or
	 * preference left empty goes, and the required rule with its last
	 * term), topologySpreadConstraints' topologyKey, tolerations' key and
	 * value (a dropped one goes). Unmapped labels are kept.
	 */
	struct cluster_map *node_map;
	size_t n_node_map;
	enum cluster_existing existing;
	bool preserve_node_ports;
	bool scale_to_zero; /* scaleWorkloadsToZero */
	char backup_name[CLUSTER_LABEL_VALUE_MAX + 1];
	char restore_name[CLUSTER_LABEL_VALUE_MAX + 1];
};

/*
 * cluster_restore_opts_read() - @o (zeroed by the caller first) from a
 * Restore spec @spec (borrowed): the fields above, and backupName. @name:
 * the Restore's name (for the label; "" for none).
 * Return: 0; -EINVAL (@err names the field); -ENOMEM.
 */
int cluster_restore_opts_read(const struct k8s_obj *spec, const char *name,
			      struct cluster_restore_opts *o, struct cluster_err *err);
/*
 * cluster_restore_opts_configmap() - add a Velero mapping ConfigMap's data
 * to @o: change-storage-class "old: new", change-image-name "any: old,new".
 * Return: 0; -ENOENT (not such a ConfigMap: no label); -EINVAL (a value
 * that does not parse, named in @err); -ENOMEM.
 */
int cluster_restore_opts_configmap(struct cluster_restore_opts *o, const struct k8s_obj *cm,
				   struct cluster_err *err);
void cluster_restore_opts_fini(struct cluster_restore_opts *o);
/* cluster_restore_map() - @from mapped by @m (@n entries), or @from itself */
const char *cluster_restore_map(const struct cluster_map *m, size_t n, const char *from);

/*
 * Velero's restore priorities: the tier of a group and resource. Tiers
 * 0..CLUSTER_TIER_REST-1 are the list of control/cluster/README.md;
 * CLUSTER_TIER_REST everything else; CLUSTER_TIER_LOW Velero's low
 * priorities (Cluster API, Carvel). Restored in tier order; within a tier
 * in parallel.
 */
#define CLUSTER_TIER_REST 24
#define CLUSTER_TIER_LOW  25
#define CLUSTER_TIERS	  26
int cluster_restore_tier(const char *group, const char *kind);
/* cluster_restore_tier_name() - "customresourcedefinitions.apiextensions.k8s.io", ..., "*", "low" */
const char *cluster_restore_tier_name(int tier);

/*
 * cluster_restore_prepare() - object @obj (a root of the caller's, changed
 * in place) as it is to be created: the strip list of README.md applied,
 * then the mappings of @o, and the labels CLUSTER_LABEL_BACKUP_NAME and
 * CLUSTER_LABEL_RESTORE_NAME (where @o names them). Pure.
 * @skip: set to a reason (a static string) when the object is not to be
 * restored at all (nodes, events, ...), else NULL.
 * Return: 0; -EINVAL (not an object with apiVersion, kind and
 * metadata.name; @err); -ENOMEM.
 */
int cluster_restore_prepare(const struct cluster_restore_opts *o, struct k8s_obj *obj,
			    const char **skip, struct cluster_err *err);

/*
 * struct cluster_plan_item - one object of a plan. @obj: prepared (owned
 * by the plan); @group, @kind from its apiVersion; @ns (after mapping, ""
 * cluster-scoped), @name; @tier; @skip: NULL, or why it is not restored.
 * @note: NULL, or a warning of the plan about the object, one line (owned
 * by the plan): a DaemonSet not held at zero, a Pod not created, a claim
 * no node was chosen for; the Restore reports it whatever the outcome.
 */
struct cluster_plan_item {
	struct k8s_obj *obj;
	char group[CLUSTER_RES_STR];
	char kind[CLUSTER_RES_STR];
	char ns[CLUSTER_NAME_MAX + 1];
	char name[CLUSTER_NAME_MAX + 1];
	int tier;
	const char *skip;
	char *note;
	/* its controller (the ownerReferences entry with controller true), read before the strip */
	char owner_group[CLUSTER_RES_STR];
	char owner_kind[CLUSTER_RES_STR];
	char owner[CLUSTER_NAME_MAX + 1];
};

struct cluster_restore_plan {
	struct cluster_plan_item *items;
	size_t n, cap;
	size_t tier_start[CLUSTER_TIERS +
			  1]; /* items of tier t: [tier_start[t], tier_start[t+1]) */
};

/*
 * cluster_restore_plan_line() - add one JSON line (@len bytes, borrowed; a
 * trailing newline is allowed) to @p. Return: 0; -EINVAL (not a JSON
 * object with apiVersion, kind and metadata.name: @err says which); -ENOMEM.
 */
int cluster_restore_plan_line(struct cluster_restore_plan *p, const char *line, size_t len,
			      struct cluster_err *err);
/*
 * cluster_restore_plan_finish() - prepare every object by @o, sort the plan
 * into tiers (stable: the order of the lines within a tier), and apply the
 * rules that need the whole set: a PVC whose PV is not restored loses
 * spec.volumeName (re-provisioned); a PV with reclaim policy Delete is not
 * restored; a Namespace is added for every namespace objects are restored
 * into and that has no Namespace object in the lines. Return: 0; -EINVAL
 * (@err); -ENOMEM.
 */
int cluster_restore_plan_finish(struct cluster_restore_plan *p,
				const struct cluster_restore_opts *o, struct cluster_err *err);
void cluster_restore_plan_fini(struct cluster_restore_plan *p);

/*
 * struct cluster_restore_volume - a volume of the backup record (datapath/dp.h
 * struct dp_record_volume): the claim it was taken of, @ns and @pvc as backed
 * up, the repository @volume and its @snapshot (a full id; NULL or "": no
 * data). Borrowed strings.
 * struct cluster_snapshot_src - what each Snapshot made names: @repository (a
 * Repository in ferry-system), its @url (NULL: none), its password Secret
 * @password_secret in ferry-system and its @password_key (NULL: none, or the
 * Secret's default key). Borrowed strings.
 */
struct cluster_restore_volume {
	const char *ns, *pvc, *volume, *snapshot;
	uint64_t size;
};
struct cluster_snapshot_src {
	const char *repository, *url, *password_secret, *password_key;
};

/*
 * cluster_restore_snapshot_name() - the name of the Snapshot that restore
 * @restore makes for claim @pvc: "<restore>-<pvc>", or "<restore>-<16 hex
 * digits of a hash of @pvc>" when that is longer than CLUSTER_NAME_MAX.
 * The same arguments give the same name, so a restarted controller finds it.
 * Return: 0; -EINVAL (an empty or too long name).
 */
int cluster_restore_snapshot_name(const char *restore, const char *pvc,
				  char name[CLUSTER_NAME_MAX + 1]);

/*
 * cluster_restore_plan_volumes() - the claims of finished plan @p whose
 * volume the backup holds (@vols, @nvols; matched by their namespace mapped
 * by @o and their name). Each gets a new volume: spec.volumeName,
 * spec.dataSource and spec.dataSourceRef go, and its PV, when the plan
 * holds it, is skipped. With @fill (restoreVolumes), a claim whose volume
 * has a snapshot gets spec.dataSourceRef to a Snapshot (ferry.io/v1alpha1,
 * named by cluster_restore_snapshot_name() of @o's restore name, in the
 * claim's target namespace, labelled as restored objects are, naming @src
 * and the snapshot), added to the plan in the Snapshot tier: the populator
 * fills the claim from it (control/xfer/xfer.h xfer_populate_step()).
 * Without @fill the claim is restored empty. Claims of no volume in @vols
 * stay as the plan has them. Pure.
 * Return: 0; -EINVAL (@fill without @src->repository, no name: @err); -ENOMEM.
 */
int cluster_restore_plan_volumes(struct cluster_restore_plan *p,
				 const struct cluster_restore_opts *o,
				 const struct cluster_restore_volume *vols, size_t nvols,
				 const struct cluster_snapshot_src *src, bool fill,
				 struct cluster_err *err);

/*
 * THE NODE OF A CLAIM (restore_nodes.c). A claim the populator fills (its
 * spec.dataSourceRef a ferry.io Snapshot) whose class binds
 * WaitForFirstConsumer waits for the node of the first pod that uses it
 * (volume.kubernetes.io/selected-node, which the scheduler writes); with
 * the workloads at zero no pod comes, and it would wait for ever. So a
 * Restore with scaleWorkloadsToZero chooses the node itself, from the
 * rewritten pod templates of the plan, and creates the claim with
 * CLUSTER_ANN_SELECTED_NODE set (the populator then fills it there, and
 * the workload's pods, once scaled back, go where its volume is):
 *   - the pods that will use a claim: each workload of the plan (Pod,
 *     Deployment, StatefulSet, ReplicaSet, ReplicationController,
 *     DaemonSet, Job, CronJob; a Pod skipped as scaled to zero counts) whose
 *     pod template mounts it by name (volumes[].persistentVolumeClaim, in
 *     the same namespace), and for a StatefulSet S its claims
 *     "<template>-<S>-<ordinal>" (spec.volumeClaimTemplates): one pod per
 *     ordinal, all its claims on one node; a claim no template uses is a
 *     pod of its own, with no template;
 *   - candidates: the nodes of @f whose Ready condition is True, not
 *     cordoned (spec.unschedulable), whose NoSchedule and NoExecute taints
 *     the template tolerates (key, operator Equal or Exists, value,
 *     effect), that match its nodeSelector and its required node affinity
 *     (nodeSelectorTerms ORed, each term's matchExpressions In, NotIn,
 *     Exists, DoesNotExist, Gt, Lt on labels and matchFields on
 *     metadata.name ANDed; an empty term matches nothing, as the
 *     scheduler's), in the class's allowedTopologies, whose CSINode (when
 *     @f has one for the node) lists the class's provisioner with room
 *     under its allocatable.count for the claims this restore chose there
 *     (volumes already on the node are not counted: README.md);
 *   - the choice: a StatefulSet's ordinal i goes to zone Z[i mod |Z|] of
 *     the candidates' zones Z (topology.kubernetes.io/zone, sorted; ""
 *     for nodes without one), to that zone's node (i / |Z|) mod |nodes| by
 *     name: replicas spread over zones, then nodes; any other pod to the
 *     candidate with the fewest claims chosen so far, ties by name. A claim
 *     two pods share is placed by the first (plan order) and holds the
 *     other to its node;
 *   - no candidate: the claim gets a note naming why (no node at all; none
 *     Ready and schedulable; "no Ready node tolerates the template's taints
 *     and matches its affinity"; none in the class's allowedTopologies; none
 *     with the class's driver; every one at its volume limit) and no
 *     annotation. A claim whose class is not in @f gets a note too.
 */
#define CLUSTER_ANN_SELECTED_NODE "volume.kubernetes.io/selected-node"
#define CLUSTER_LABEL_ZONE	  "topology.kubernetes.io/zone"

/*
 * struct cluster_node_facts - the target cluster as the choice sees it,
 * objects as the API server serves them, borrowed: @nodes (Nodes), @csinodes
 * (CSINodes; none: volume limits not counted), @classes (the StorageClasses
 * the claims name).
 */
struct cluster_node_facts {
	const struct k8s_obj *const *nodes;
	size_t nnodes;
	const struct k8s_obj *const *csinodes;
	size_t ncsinodes;
	const struct k8s_obj *const *classes;
	size_t nclasses;
};

/*
 * cluster_restore_plan_nodes() - choose the node of each claim of finished
 * plan @p (after cluster_restore_plan_volumes()) that the populator fills
 * and whose class in @f binds WaitForFirstConsumer, by the rules above:
 * CLUSTER_ANN_SELECTED_NODE set on the claim, or a note on it. A claim that
 * has the annotation already is left as it is. Pure; malformed facts (a
 * node without a name, a taint that is not an object) are passed over.
 * Return: 0; -ENOMEM (@err).
 */
int cluster_restore_plan_nodes(struct cluster_restore_plan *p, const struct cluster_node_facts *f,
			       struct cluster_err *err);

/*
 * APPLYING A PLAN (restore_apply.c): tier by tier; in a tier, @workers
 * threads create the objects at most @qps requests per second in all
 * (the client's own limit applies too: open it with a qps of at least
 * @qps, or its default of 5 bounds the restore); after the CRD tier, waits up to
 * @crd_wait_ms for each CRD to be Established and discovers again. An
 * object that exists: CLUSTER_EXISTING_NONE skips it (a warning, unless
 * it already equals the backup's after the same strip); _UPDATE patches
 * it (merge patch of the prepared object). @fn is called once per item,
 * under a lock (never twice at once), with the outcome and a one-line
 * reason ("" for created).
 */
enum cluster_outcome {
	CLUSTER_CREATED,
	CLUSTER_SKIPPED_EXISTS,
	CLUSTER_UPDATED,
	CLUSTER_FAILED,
	CLUSTER_SKIPPED, /* the plan's @skip, or no such resource in the cluster */
};
/* the reason of a CLUSTER_SKIPPED_EXISTS whose object equals the backup's (no warning) */
#define CLUSTER_REASON_SAME "exists, the same as in the backup"
/* "Created", "SkippedExists", "Updated", "Failed", "Skipped" */
const char *cluster_outcome_name(enum cluster_outcome oc);

struct cluster_apply_opts {
	unsigned int workers;	  /* 0: 8 */
	double qps;		  /* 0: 50; < 0: no limit */
	unsigned int crd_wait_ms; /* 0: 60000 */
};
typedef void (*cluster_result_fn)(void *arg, const struct cluster_plan_item *it,
				  enum cluster_outcome oc, const char *reason);
/*
 * cluster_restore_apply() - apply @p (finished) to the cluster of @c.
 * @counts: per outcome (may be NULL).
 * Return: 0 when every item has an outcome (failures included: see
 * @counts); -ENOMEM; the client's -errno when discovery fails (@err).
 */
int cluster_restore_apply(struct k8s_client *c, const struct cluster_restore_plan *p,
			  const struct cluster_restore_opts *o, const struct cluster_apply_opts *ao,
			  cluster_result_fn fn, void *arg, size_t counts[5],
			  struct cluster_err *err);

/* ================================================ the Backup reconciler (backup_ctl.c)
 *
 * THE BACKUP RECONCILER. cluster_backup_reconciler is `ferry controller`'s
 * executor of Backups (control/operator/registry.c): a Backup in phase New
 * (or none) or InProgress is carried out once; the other phases are left as
 * they are. Its volumes' data moves through VolumeTransfers (control/xfer).
 *   1. validation, before anything is written: the Repository
 *      ferry-system/<spec.storageLocation, or "default"> (accessMode
 *      ReadWrite, no credentialsSecret: an s3:// URL uses the controller's
 *      own credentials, with the Repository's endpoint and region), the
 *      repository at its URL, the password Secret of an encrypted one (key
 *      "password" unless passwordSecret.key), the password, the selection
 *      (cluster_sel_parse()) and spec.ttl. A refusal is phase
 *      FailedValidation, the reason in status.validationErrors[0] and in the
 *      Ready condition (False, reason FailedValidation), no record, no retry;
 *   2. the record's id, dp_record_id() of (the kube-system namespace's UID,
 *      namespace, name): a record there already was written by a reconcile
 *      that died before its status, which is then completed from it;
 *   3. phase InProgress and startTimestamp (a merge patch carrying the
 *      resourceVersion read: a phase someone wrote meanwhile wins);
 *   4. cluster_collect() into an object archive; for each PVC taken that is
 *      to be snapshotted (no volume policy skips it, spec.snapshotVolumes
 *      not false, its driver has a VolumeSnapshotClass: a bound CSI claim
 *      whose driver has none is refused, FailedValidation before any
 *      transfer is made; hostPath, NFS and unbound claims are warnings of
 *      the collection), the VolumeTransfer ferry-system/bk-<Backup uid>-<FNV
 *      of namespace/pvc> (label ferry.io/backup-uid, annotation
 *      ferry.io/backup: namespace/name) is made if it does not exist. While
 *      any is not over (Completed or Failed, and cleaned up) the archive is
 *      dropped, status.progress.volumesTotal, volumesDone, bytesTotal and
 *      bytesDone are written when they change, and the Backup waits
 *      (InProgress, reason InProgress, a requeue in 5 s; the transfers'
 *      events requeue it sooner), looking at them in the watch's cache
 *      only, without opening the repository; once all are over, a last pass
 *      collects again and dp_record_put() names each Completed volume's
 *      snapshot; then the transfers are deleted;
 *   5. status: phase Completed, or PartiallyFailed with errors (an object the
 *      archive refused; a volume whose transfer Failed, with its message);
 *      startTimestamp, completionTimestamp, expiration (spec.ttl),
 *      progress.totalItems and itemsBackedUp, volumeSnapshotsAttempted and
 *      Completed, volumes[] (namespace, pvc, volume, snapshotId, size),
 *      warnings, errors,
 *      warningMessages (the first 20 of both), clusterId, repositoryId,
 *      recordId; the Ready condition True, reason Completed or
 *      PartiallyFailed. A selection that matches nothing is Completed with
 *      a warning. Resources the controller may not list are warnings (and
 *      log lines naming the rule to grant): its ClusterRole decides which
 *      kinds a Backup can hold (k8s/deploy/controller-rbac.yaml).
 * Any other failure (API server, store, archive) is returned: the runtime
 * retries with backoff, the Backup stays InProgress, the Ready condition
 * False with the reason. Before its record is written, the Backup gets the
 * finalizer CLUSTER_FINALIZER_RECORD, so that its deletion frees what it
 * stored (DELETING A BACKUP below); once it is gone, its transfers (found
 * by their annotation in the cache) are deleted.
 */
extern const struct k8s_resource cluster_repositories; /* ferry.io/v1alpha1, namespaced */
extern const struct k8s_reconciler cluster_backup_reconciler;

/* ================================================ deleting a Backup (backup_delete.c)
 *
 * DELETING A BACKUP. A Backup with the finalizer CLUSTER_FINALIZER_RECORD
 * (each Backup the reconciler runs, each Backup sync makes) stays until the
 * reconciler has freed what it stored, whoever deleted it: a user (`kubectl
 * delete backup`, any client's DELETE) or a Schedule's retention:
 *   1. the Repository of spec.storageLocation ("default") is opened; one
 *      that cannot be used (missing, ReadOnly, unreachable, a wrong
 *      password) refuses: the Ready condition False with the reason
 *      (RepositoryReadOnly, RepositoryUnavailable), the finalizer kept, the
 *      key looked at again within the hour;
 *   2. the record (status.recordId, else dp_record_id() of status.clusterId
 *      or this cluster's id, the namespace and the name); none: nothing to
 *      free;
 *   3. Object Lock: a version of the record's or of a snapshot's object
 *      that a retention date or a legal hold keeps refuses the delete
 *      (ObjectLocked, naming the date), and the key comes back then;
 *   4. dp_forget() of the snapshots the record names (the repository
 *      locked by another operation: RepositoryLocked, again in 5 s), then
 *      dp_record_forget() of the record and its logs (a record never
 *      written: dp_log_forget() of its logs): the data they alone referenced is
 *      freed by the next prune: the Repository's status.maintenance
 *      .pruneRequestedTime is set, and the Repository reconciler prunes
 *      (below); `ferry prune --repo URL` does the same by hand;
 *   5. the finalizer removed: the API server deletes the Backup.
 * The annotation CLUSTER_ANN_KEEP_RECORD "true" deletes the Backup alone and
 * keeps the record, as deleting a Velero Backup without a
 * DeleteBackupRequest does: backup sync then makes it again.
 */
#define CLUSTER_FINALIZER_RECORD "ferry.io/backup-record"
#define CLUSTER_ANN_KEEP_RECORD	 "ferry.io/keep-record"

/* ================================================ Repositories, backup sync (repo_ctl.c)
 *
 * THE REPOSITORY RECONCILER. cluster_repository_reconciler validates each
 * Repository of ferry-system and syncs its Backups, every spec.syncPeriod
 * (default CLUSTER_SYNC_PERIOD_S, Velero's backup-sync-period) or
 * spec.validationFrequency, whichever is shorter:
 *   - validation: the repository opened as a Backup opens it (ReadOnly ones
 *     too); status.phase Available or Unavailable, status.message the
 *     reason, lastValidationTime, repositoryId, encryption; the Ready
 *     condition True (Available) or False (Unavailable, with the reason);
 *   - sync, when Available: each backup record whose namespace and name no
 *     Backup of the cluster has becomes a Backup: the record's spec, with
 *     spec.storageLocation this Repository; its labels and the label
 *     CLUSTER_LABEL_REPOSITORY naming this Repository (synced Backups are
 *     those that carry it); the annotation CLUSTER_ANN_RECORD with the
 *     record's id; the finalizer CLUSTER_FINALIZER_RECORD; then its status
 *     from the record (phase Completed or PartiallyFailed, times, counts,
 *     ids). A synced Backup is never run. A record whose namespace does not
 *     exist is skipped and counted (status.sync.skipped, with the reason);
 *   - a synced Backup of this Repository whose record is gone from the
 *     repository (deleted through another cluster) is deleted, its
 *     finalizer removed first: sync's own deletions never touch a record;
 *   - maintenance, when Available and ReadWrite: a prune (dp_prune(), the
 *     repository's exclusive lock) once status.maintenance.pruneRequestedTime
 *     (a Backup's delete sets it) is after lastPruneTime (when the last prune
 *     started) and spec.maintenanceFrequency (default
 *     CLUSTER_MAINTENANCE_S, Velero's) has passed since; its result in
 *     status.maintenance (lastPruneResult Succeeded, Failed or Busy: a
 *     backup holds a shared lock, tried again at the next reconcile;
 *     packsDeleted, bytesFreed, durationSeconds, message).
 */
#define CLUSTER_LABEL_REPOSITORY "ferry.io/repository" /* on a synced Backup: its Repository */
#define CLUSTER_ANN_RECORD	 "ferry.io/record"     /* on a synced Backup: the record's id */
#define CLUSTER_SYNC_PERIOD_S	 60
#define CLUSTER_MAINTENANCE_S	 3600
extern const struct k8s_reconciler cluster_repository_reconciler;

/* ================================================ metrics (metrics.c)
 *
 * METRICS. What the controller's /metrics says of the cluster capability, in
 * Velero's shapes: ferry_backup_total{schedule,phase} (runs this process
 * ended), ferry_backup_duration_seconds{schedule} (a histogram of the
 * Completed and PartiallyFailed ones), ferry_backup_last_successful_timestamp
 * _seconds{schedule} (also from the Completed Backups a reconcile finds, so a
 * restarted controller reports it at once), ferry_restore_total{phase},
 * ferry_repository_prunes_total{repository,result} and
 * ferry_repository_pruned_bytes_total{repository}. schedule is "" for a
 * Backup of none. Thread-safe; at most CLUSTER_METRIC_SERIES series (more
 * are not counted). This layer counts; control/operator formats.
 */
void cluster_metrics_backup_ended(const char *schedule, const char *phase, int64_t start_ns,
				  int64_t end_ns);
void cluster_metrics_backup_seen(const char *schedule, int64_t completed_ns);
void cluster_metrics_restore_ended(const char *phase);
void cluster_metrics_prune_ended(const char *repository, const char *result, uint64_t bytes_freed);

#define CLUSTER_METRIC_SERIES  512
#define CLUSTER_METRIC_NBOUNDS 10
/* the upper bounds (seconds) of the backup-duration buckets */
extern const double cluster_metric_bounds[CLUSTER_METRIC_NBOUNDS];
enum cluster_metric_kind {
	CLUSTER_METRIC_BACKUPS,	 /* key: schedule, phase: count */
	CLUSTER_METRIC_SCHEDULE, /* key: schedule: buckets, sum, count, last_success */
	CLUSTER_METRIC_RESTORES, /* phase: count */
	CLUSTER_METRIC_PRUNES,	 /* key: Repository, phase: result: count, bytes */
};
/* one series of the counters; what its kind does not name is 0 */
struct cluster_metric {
	enum cluster_metric_kind kind;
	char key[65];
	char phase[24];
	unsigned long long count;
	unsigned long long buckets[CLUSTER_METRIC_NBOUNDS]; /* cumulative, as "le" */
	double sum;
	double last_success; /* seconds since the epoch, 0: none */
	unsigned long long bytes;
};
/* cluster_metrics_copy() - up to @max series, in the order they were made. Return: how many. */
size_t cluster_metrics_copy(struct cluster_metric *out, size_t max);

/* ================================================ the Restore reconciler (restore_ctl.c)
 *
 * THE RESTORE RECONCILER. cluster_restore_reconciler is `ferry controller`'s
 * executor of Restores (k8s/deploy/crd-restores.yaml): a Restore in phase New
 * (or none) or InProgress is carried out once; the other phases are left as
 * they are.
 *   1. validation, before anything is written: the spec
 *      (cluster_restore_opts_read(), the selection, spec.backupName required,
 *      spec.storageClassMappingConfigMap in the Restore's namespace); the
 *      Backup spec.backupName in the Restore's namespace, Completed or
 *      PartiallyFailed (absent, with spec.storageLocation: its record is
 *      looked up by name alone, a cluster that has only the repository); the
 *      Repository (spec.storageLocation, else the Backup's, else "default";
 *      ReadOnly is fine), its password; the backup record; each target class
 *      of storageClassMapping exists; no claim is filled from a snapshot over
 *      a PVC that exists (out of scope: the reason says so). A refusal is
 *      phase FailedValidation, the reason in status.validationErrors[0] and
 *      the Ready condition (False, FailedValidation), no retry, nothing else
 *      written. A damaged archive is phase Failed with status.failureReason;
 *   2. the plan: the archive's objects the Restore's selection takes (the
 *      Backup's fields: namespaces, resources, label selectors; Namespaces
 *      follow the namespace filters, CRDs and PVs come with what needs them),
 *      prepared and sorted into tiers (cluster_restore_plan_finish()), the
 *      claims of the record's volumes given a Snapshot each, or restored empty
 *      with restoreVolumes false (cluster_restore_plan_volumes()); with
 *      spec.scaleWorkloadsToZero the workloads at zero (SCALED TO ZERO) and
 *      the node of each claim of a WaitForFirstConsumer class chosen
 *      (cluster_restore_plan_nodes(), from list nodes and csinodes: ClusterRole
 *      ferry-controller-restore-nodes; refused, a warning and no node, or the
 *      volume limits not counted), the plan's notes warnings of the Restore;
 *   3. phase InProgress and startTimestamp (a merge patch carrying the
 *      resourceVersion read);
 *   4. cluster_restore_apply(): tier by tier, 8 workers, 50 requests/s in
 *      all, the controller's client's own limit too (--kube-api-qps);
 *   5. status: phase Completed, or PartiallyFailed when an object failed;
 *      progress.totalItems (objects the plan restores) and itemsRestored
 *      (created, updated, or found as the Restore would make them), warnings
 *      (an object that exists and differs, or that the controller may not
 *      read: Secrets; a kind the cluster does not serve, hooks not run),
 *      errors (an object refused), warningMessages (the first 20 of both),
 *      recordId, volumes (each claim of a backed-up volume: its Snapshot, or
 *      why it is empty), the times; the Ready condition True;
 *   6. a Restore that fills claims is not done yet: phase
 *      WaitingForPluginOperations (…PartiallyFailed when an object failed,
 *      Velero's names), and each second every InProgress volume is looked at:
 *      Completed once its claim is Bound (the populator binds it only with
 *      its data complete; bytesDone then its size), Failed when its restore
 *      VolumeTransfer ferry-<claim uid> failed (its message) or the claim is
 *      gone, or not filled within spec.itemOperationTimeout of the Restore's
 *      start (Velero's, 4h by default: a WaitForFirstConsumer claim that no
 *      pod uses is never filled), else InProgress with the transfer's phase
 *      and bytesDone. Once no
 *      volume is InProgress: Completed, or PartiallyFailed with each failed
 *      volume counted an error, and completionTimestamp.
 * Any other failure (API server, store) is returned: the runtime retries with
 * backoff, the Restore stays InProgress; a reconcile run again finds what it
 * made (the backup's names, and deterministic Snapshot names) as it would
 * make it and counts it restored. A Restore deleted is left alone: what it
 * restored stays. Which kinds it can write is the ClusterRole ferry-controller-restore's
 * (k8s/deploy/restore-rbac.yaml): a kind without its rule fails with the
 * rule to grant in the message.
 */
extern const struct k8s_resource cluster_restores; /* ferry.io/v1alpha1, namespaced */
extern const struct k8s_reconciler cluster_restore_reconciler;

/* ================================================ logs (cluster_log.c)
 *
 * LOGS. A Backup that ends (Completed or PartiallyFailed) leaves its log in
 * its repository, written just before its record (dp_log_put(),
 * datapath/FORMAT.md "Logs"); a Restore that ends (Completed,
 * PartiallyFailed, Failed) leaves its own beside it, unless the Repository
 * is ReadOnly. The log is composed when the run ends from what is durable
 * then (the object's status, its VolumeTransfers' status before they are
 * deleted, the collection or the plan of that last pass), since a run spans
 * reconciles and controller restarts. One line each:
 *   time="2026-12-06T17:03:22Z" level=info msg="..."
 * (level info, warning or error; the text quoted as FORMAT.md says). A
 * Backup's: its start and spec, the Repository, each volume's transfer
 * (node, bytes total, new and reused, duration, MB/s, snapshot, parent,
 * phase, message), the objects collected by kind, every warning and error,
 * the record and the end. A Restore's: its start and spec, the Backup and
 * record, every warning and error (objects skipped or failed with the
 * reason), the objects restored, each volume's outcome, the end. Names, no
 * Secret's data. A log that cannot be written is a warning of the run, not
 * its failure. Deleting a Backup forgets its logs with its record
 * (dp_record_forget()), and those of a record never written (dp_log_forget()).
 */

/**
 * cluster_log_read() - the log of the Backup (@restore false) or the Restore
 * @ns/@name of the cluster of @c, read with @c's identity: the object, its
 * Repository (spec.storageLocation, a Restore's Backup's, else "default")
 * and its Secrets, the record id (status.recordId, else dp_record_id() of
 * status.clusterId or the cluster's id), the cluster's id for a Restore's.
 * @text: malloc()ed, NUL-terminated after *@len bytes; the caller frees it
 * @why:  a one-line reason on failure
 * Return: 0; -ENOENT (no such object, or no log: still running, or made
 * before logs were); -EPERM (the Repository refused: @why); -errno of the
 * API server (@err) or the store.
 */
struct k8s_err;
int cluster_log_read(struct k8s_client *c, const char *ns, const char *name, bool restore,
		     char **text, size_t *len, char *why, size_t wlen, struct k8s_err *err);

#endif /* FERRY_CLUSTER_H */
