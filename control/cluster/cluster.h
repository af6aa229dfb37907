/* SPDX-License-Identifier: MIT */
/*
 * control/cluster/cluster.h - the cluster capability (layer 2 of control/,
 * control/README.md): cluster backup, restore and schedules. Today it holds
 * the pure core of schedules, which both `ferry schedule create` (to check
 * what the user typed) and the Schedule reconciler (to know when to run)
 * call: the schedule language (cron.c) and time zones read from the
 * system's TZif files (tz.c). Nothing in it reads the clock, the
 * environment or the process's TZ, prints, or knows about Kubernetes: every
 * time is an argument, every refusal a -errno with a one-line reason in a
 * struct cluster_err the caller owns. Design notes and the reasons behind
 * each rule: control/cluster/README.md.
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

#endif /* FERRY_CLUSTER_H */
