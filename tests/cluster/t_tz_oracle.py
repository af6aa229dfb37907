#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/cluster/t_tz_oracle.py PROBE - control/cluster's zones and schedules
against an independent implementation: Python's zoneinfo (CPython's own TZif
and POSIX TZ reader) over every zone in /usr/share/zoneinfo.

1. Offsets: every span boundary ferry finds from 1850 to 2150 is checked on
   both sides, three points inside every span (a transition ferry missed would
   show there), and random instants from year 2 to 9998 (past every table,
   into each footer's rule).
2. Wall time -> instant (cluster_tz_resolve()): around each boundary from 1900
   to 2100, times in the gap, in the overlap and next to them; the expected
   instant comes from PEP 495's fold (an existing time: the earliest instant
   that shows it) or, for a time in a gap, the first instant whose wall time
   reaches it, found by halving.
3. Schedules: 5-field expressions around the DST transitions of eleven zones,
   2020-2026 (from two days before each, and from ten minutes after it, inside
   a repeated hour), and some stranger days (Samoa's lost day, Sao Paulo's lost
   midnight), against runs listed here: every matching wall minute mapped to
   its instant by (2), deduplicated. And Quartz's L, W and # in UTC for 2000 to
   2060 against the calendar module.

Exit 0 pass, 1 fail, 77 skip (no tzdata), 99 error."""
import bisect
import datetime as dt
import os
import random
import subprocess
import sys

try:
    import zoneinfo
except ImportError:
    print("SKIP: this python has no zoneinfo (3.9+)")
    sys.exit(77)

TZDIR = "/usr/share/zoneinfo"
UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
NAIVE_EPOCH = dt.datetime(1970, 1, 1)
failures = []


def fail(msg):
    failures.append(msg)
    if len(failures) <= 30:
        print("FAIL:", msg)


def ask(probe, questions):
    """One probe run: a list of question lines in, a list of answer lines out."""
    run = subprocess.run([probe], input="\n".join(questions) + "\n", capture_output=True,
                         text=True, check=False)
    if run.returncode:
        print("FAIL: the probe exited with %d: %s" % (run.returncode, run.stderr.strip()[-500:]))
        sys.exit(1)
    out = run.stdout.split("\n")
    if len(out) < len(questions):
        print("ERROR: the probe answered %d of %d questions" % (len(out), len(questions)))
        sys.exit(99)
    return out[:len(questions)]


def ts_of(year, mon=1, day=1):
    return int((dt.datetime(year, mon, day, tzinfo=UTC) - EPOCH).total_seconds())


def local(z, t):
    return (EPOCH + dt.timedelta(seconds=t)).astimezone(z)


def wall(z, t):
    return local(z, t).replace(tzinfo=None)


def utoff(z, t):
    return int(local(z, t).utcoffset().total_seconds())


def resolve(z, w):
    """The first instant whose wall time in z is w or later (PEP 495, then halving in a gap)."""
    t0 = int(w.replace(tzinfo=z, fold=0).timestamp())
    t1 = int(w.replace(tzinfo=z, fold=1).timestamp())
    shown = [t for t in (t0, t1) if wall(z, t) == w]
    if shown:
        return min(shown)
    lo, hi = min(t0, t1), max(t0, t1)
    while hi - lo > 1:  # wall(lo) < w <= wall(hi)
        mid = (lo + hi) // 2
        if wall(z, mid) >= w:
            hi = mid
        else:
            lo = mid
    return hi


def zones():
    names = sorted(n for n in zoneinfo.available_timezones()
                   if n not in ("localtime", "Factory") and not n.startswith(("posix/", "right/")))
    return names


def check_offsets(probe, names, rng):
    lo, hi = ts_of(1850), ts_of(2150)
    answers = ask(probe, ["T %s %d %d" % (n, lo, hi) for n in names])
    bounds = {}
    for n, a in zip(names, answers):
        if a.startswith("E "):
            fail("%s: refused: %s" % (n, a))
            continue
        bounds[n] = [int(x) for x in a.split()]
    qs, expect = [], []
    for n, bs in bounds.items():
        z = zoneinfo.ZoneInfo(n)
        points = set()
        for b in bs:
            points.update((b - 1, b))
        edges = [lo] + bs + [hi]
        for a, b in zip(edges, edges[1:]):
            points.update((a + (b - a) // 4, a + (b - a) // 2, a + 3 * (b - a) // 4))
        for _ in range(150):
            points.add(rng.randrange(ts_of(1800), ts_of(2400)))
        for _ in range(30):
            points.add(rng.randrange(ts_of(2), ts_of(9998)))
        for t in sorted(points):
            lt = local(z, t)
            qs.append("O %s %d" % (n, t))
            expect.append((n, t, int(lt.utcoffset().total_seconds()), lt.tzname()))
    answers = ask(probe, qs)
    for (n, t, off, abbr), a in zip(expect, answers):
        got = a.split()
        if len(got) != 3 or int(got[0]) != off or got[2] != abbr:
            fail("%s at %d (%s): ferry '%s', zoneinfo %d %s" % (
                n, t, (EPOCH + dt.timedelta(seconds=t)).isoformat(), a, off, abbr))
    print("offsets: %d zones, %d boundaries, %d instants" % (
        len(bounds), sum(len(b) for b in bounds.values()), len(qs)))
    return bounds


def check_resolve(probe, bounds, rng):
    lo, hi = ts_of(1900), ts_of(2100)
    qs, expect = [], []
    for n, bs in bounds.items():
        z = zoneinfo.ZoneInfo(n)
        inside = [b for b in bs if lo < b < hi]
        if len(inside) > 40:
            inside = rng.sample(inside, 40)
        for b in inside:
            before, after = wall(z, b - 1), wall(z, b)
            cands = {before, before + dt.timedelta(seconds=1), after,
                     after - dt.timedelta(seconds=1), after + dt.timedelta(seconds=1),
                     before + (after - before) / 2, before - dt.timedelta(hours=1),
                     after + dt.timedelta(hours=1)}
            for w in sorted(cands):
                w = w.replace(microsecond=0)
                qs.append("R %s %d %d %d %d %d %d" % (n, w.year, w.month, w.day, w.hour,
                                                      w.minute, w.second))
                expect.append((n, w, resolve(z, w)))
    answers = ask(probe, qs)
    for (n, w, t), a in zip(expect, answers):
        if a != str(t):
            fail("%s: wall %s: ferry %s, zoneinfo %d (%s)" % (
                n, w, a, t, local(zoneinfo.ZoneInfo(n), t).isoformat()))
    print("wall -> instant: %d times around boundaries" % len(qs))


def cron_set(spec, lo, hi, star_hi=None):
    vals = set()
    for item in spec.split(","):
        step = 1
        if "/" in item:
            item, s = item.split("/")
            step = int(s)
        if item == "*":
            a, b = lo, hi if star_hi is None else star_hi
        elif "-" in item:
            a, b = map(int, item.split("-"))
        else:
            a = b = int(item)
        vals.update(range(a, b + 1, step))
    return vals


def cron_walls(expr, first, last):
    """Every wall minute from date first to date last that a 5-field expression matches."""
    mi, hh, dom, mon, dow = expr.split()
    MI, HH = sorted(cron_set(mi, 0, 59)), sorted(cron_set(hh, 0, 23))
    DOM, MON = cron_set(dom, 1, 31), cron_set(mon, 1, 12)
    DOW = {d % 7 for d in cron_set(dow, 0, 7, 6)}
    either = not dom.startswith("*") and not dow.startswith("*")
    day = first
    while day <= last:
        a, b = day.day in DOM, (day.weekday() + 1) % 7 in DOW
        if day.month in MON and ((a or b) if either else (a and b)):
            for h in HH:
                for m in MI:
                    yield dt.datetime(day.year, day.month, day.day, h, m)
        day += dt.timedelta(days=1)


CRON_ZONES = ["America/New_York", "Europe/Berlin", "Australia/Sydney", "Australia/Lord_Howe",
              "America/Sao_Paulo", "America/Santiago", "Pacific/Chatham", "Europe/London",
              "America/St_Johns", "Antarctica/Troll", "America/Havana"]
CRON_EXPRS = ["30 2 * * *", "0 * * * *", "*/15 1-3 * * *", "0 0 * * *", "45 1 * * 0",
              "0 0 13 * 5", "30 0-3 * * 1-5", "*/20 * * * *", "59 23 * * *", "0 2,3 * * 7"]
CRON_DAYS = [("Pacific/Apia", ts_of(2011, 12, 28)), ("America/Sao_Paulo", ts_of(2018, 11, 2)),
             ("America/Santiago", ts_of(2022, 9, 9)), ("Asia/Gaza", ts_of(2023, 4, 27))]


def check_cron(probe, bounds):
    windows = list(CRON_DAYS)
    for n in CRON_ZONES:
        for b in bounds.get(n, []):
            if ts_of(2020) <= b < ts_of(2027):
                # from two days before, and from inside a repeated hour or just past a gap
                windows += [(n, b - 2 * 86400), (n, b + 600)]
    qs, expect = [], []
    for n, s in windows:
        z = zoneinfo.ZoneInfo(n)
        until = s + 3 * 86400
        start = wall(z, s).date()
        for e in CRON_EXPRS:
            runs = sorted({resolve(z, w) for w in cron_walls(e, start, start + dt.timedelta(days=5))})
            qs.append("N %s %d %d %s" % (n, s, until, e))
            expect.append((n, s, e, [t for t in runs if s < t <= until]))
    answers = ask(probe, qs)
    for (n, s, e, runs), a in zip(expect, answers):
        got = [int(x) for x in a.split()] if not a.startswith("E ") else a
        if got != runs:
            extra = sorted(set(got) - set(runs)) if isinstance(got, list) else []
            missing = sorted(set(runs) - set(got)) if isinstance(got, list) else runs
            z = zoneinfo.ZoneInfo(n)
            fail("'%s' in %s after %s: ferry ran %s, missed %s" % (
                e, n, local(z, s).isoformat(), [local(z, t).isoformat() for t in extra],
                [local(z, t).isoformat() for t in missing]))
    print("schedules: %d windows x %d expressions, %d runs" % (
        len(windows), len(CRON_EXPRS), sum(len(x[3]) for x in expect)))


def nearest_weekday(y, m, n):
    dim = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
    if n > dim:
        return None
    days = [d for d in range(1, dim + 1) if dt.date(y, m, d).weekday() < 5]
    return min(days, key=lambda d: abs(d - n))


def quartz_days(kind, y, m):
    """The days of month y-m a Quartz day field picks, by the calendar."""
    dim = (dt.date(y + m // 12, m % 12 + 1, 1) - dt.timedelta(days=1)).day
    dates = [dt.date(y, m, d) for d in range(1, dim + 1)]
    qdow = lambda d: (d.weekday() + 1) % 7 + 1  # Quartz: 1 Sunday .. 7 Saturday
    if kind == "L":
        return [dim]
    if kind.startswith("L-") and kind.endswith("W"):
        n = dim - int(kind[2:-1])
        return [nearest_weekday(y, m, n)] if n >= 1 else []
    if kind.startswith("L-"):
        n = dim - int(kind[2:])
        return [n] if n >= 1 else []
    if kind == "LW":
        return [nearest_weekday(y, m, dim)]
    if kind.endswith("W"):
        d = nearest_weekday(y, m, int(kind[:-1]))
        return [d] if d else []
    if kind.endswith("L"):
        return [max(d.day for d in dates if qdow(d) == int(kind[:-1]))]
    if "#" in kind:
        wd, k = map(int, kind.split("#"))
        picks = [d.day for d in dates if qdow(d) == wd]
        return [picks[k - 1]] if k <= len(picks) else []
    raise ValueError(kind)


def check_quartz(probe):
    doms = ["L", "L-3", "L-27", "1W", "15W", "30W", "31W", "LW", "L-1W", "L-29W"]
    dows = ["6L", "1L", "7L", "6#3", "2#5", "1#1", "7#4"]
    kinds = [("0 0 12 %s * ?" % k, k) for k in doms] + [("0 0 12 ? * %s" % k, k) for k in dows]
    qs, expect = [], []
    for e, k in kinds:
        runs = [ts_of(y, m, d) + 12 * 3600 for y in range(2000, 2061) for m in range(1, 13)
                for d in quartz_days(k, y, m)]
        qs.append("N - %d %d %s" % (ts_of(2000) - 1, ts_of(2061) - 1, e))
        expect.append((e, runs))
    for (e, runs), a in zip(expect, ask(probe, qs)):
        got = [int(x) for x in a.split()] if not a.startswith("E ") else a
        if got != runs:
            diff = sorted(set(got) ^ set(runs)) if isinstance(got, list) else a
            fail("'%s' 2000-2060: differs from the calendar at %s" % (
                e, [str(EPOCH + dt.timedelta(seconds=t)) for t in diff[:5]]))
    print("quartz L/W/#: %d expressions over 2000-2060" % len(kinds))


def main():
    if len(sys.argv) != 2:
        print("ERROR: usage: t_tz_oracle.py PROBE")
        return 99
    if not os.path.exists(TZDIR + "/America/New_York"):
        print("SKIP: no %s/America/New_York: tzdata is not installed" % TZDIR)
        return 77
    rng = random.Random(20240310)
    names = zones()
    if len(names) < 300:
        print("ERROR: zoneinfo sees only %d zones" % len(names))
        return 99
    bounds = check_offsets(sys.argv[1], names, rng)
    check_resolve(sys.argv[1], bounds, rng)
    check_cron(sys.argv[1], bounds)
    check_quartz(sys.argv[1])
    if failures:
        print("%d differences from zoneinfo" % len(failures))
        return 1
    print("t_tz_oracle: ferry and zoneinfo agree")
    return 0


if __name__ == "__main__":
    sys.exit(main())
