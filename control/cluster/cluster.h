/* SPDX-License-Identifier: MIT */
/*
 * control/cluster/cluster.h - the cluster capability (layer 2 of control/,
 * control/README.md): cluster backup, restore and schedules. Today it holds
 * the pure core of schedules, which both `ferry schedule create` (to check
 * what the user typed) and the Schedule reconciler (to know when to run)
 * call: time zones read from the system's TZif files (tz.c). Nothing in it reads the clock, the
 * environment or the process's TZ, prints, or knows about Kubernetes: every
 * time is an argument, every refusal a -errno with a one-line reason in a
 * struct cluster_err the caller owns. Design notes and the reasons behind
 * each rule: control/cluster/README.md.
 *
 * Times are int64_t seconds since 1970-01-01T00:00:00Z, POSIX time (no leap
 * seconds), from CLUSTER_TIME_MIN (0001-01-01T00:00:00Z) to
 * CLUSTER_TIME_MAX (9999-12-31T23:59:59Z). A schedule runs on whole seconds.
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

#endif /* FERRY_CLUSTER_H */
