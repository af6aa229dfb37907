# SPDX-License-Identifier: MIT
"""The Schedule reconciler of `ferry controller` (control/cluster/schedule_ctl.c) in
the box, under the shipped manifests: t_controller.py runs it with the other
scenarios, then again without each RBAC rule it uses.

One Schedule fires every second (Quartz, seconds field) with `retention.last: 2`.
The test plays the part of the Backup's executor (which the backup issue brings):
it marks each Backup Completed. Checked, as control/cluster/cluster.h says:
- each run creates one Backup named <schedule>-<run in UTC, YYYYMMDDhhmmss>, with
  the template's spec and labels, the schedule label and annotations;
- status: phase Enabled, lastBackup, lastScheduleTime, nextRun one second on,
  lastSuccessfulBackup; the Ready condition True, reason Scheduled;
- retention keeps the last 2 Completed Backups and deletes the rest;
- paused: no Backup while paused, phase Paused, Ready reason Paused.
"""
import re
import time

from scenarios_backupsync import drop_backups
from scenarios_controller import LEASE, wait_until

APP_NS = "sched-op"
API = "/apis/ferry.io/v1alpha1"
NAME_RX = r"every-second-\d{14}"


def _items(env, path):
    code, _, body = env.admin.get(path)
    return (body or {}).get("items", []) if code == 200 else []


def _reset(env):
    env.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": APP_NS}})
    for o in _items(env, f"{API}/namespaces/{APP_NS}/schedules"):
        env.admin.delete(f"{API}/namespaces/{APP_NS}/schedules/{o['metadata']['name']}")
    wait_until(lambda: not _items(env, f"{API}/namespaces/{APP_NS}/schedules"), 10)
    drop_backups(env, f"{API}/namespaces/{APP_NS}/backups")  # their finalizers too


def _complete(env, b):
    """What the Backup's executor writes when it is done."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    start = b["metadata"]["creationTimestamp"]
    env.admin.patch(f"{API}/namespaces/{APP_NS}/backups/{b['metadata']['name']}/status",
                    {"status": {"phase": "Completed", "startTimestamp": start,
                                "completionTimestamp": now}})


def _ready(obj):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return {}


def scenario_schedule(env, r):
    try:
        _scenario(env, r)
    finally:  # a Schedule left behind would run on in the next scenarios' controllers
        for p in env.procs:
            p.kill()
        _reset(env)


def _scenario(env, r):
    _reset(env)
    env.delete_lease()
    spec = {"schedule": "* * * * * ?", "retention": {"last": 2},
            "template": {"includedNamespaces": [APP_NS], "ttl": "1h",
                         "metadata": {"labels": {"tier": "db"}}}}
    code, _, _ = env.admin.post(f"{API}/namespaces/{APP_NS}/schedules",
                                {"apiVersion": "ferry.io/v1alpha1", "kind": "Schedule",
                                 "metadata": {"name": "every-second", "namespace": APP_NS},
                                 "spec": spec})
    if not r.check("the Schedule is created", code == 201, code):
        return
    a = env.controller("sched-a")
    if not r.check("the controller leads", a.wait_line(r"sched-a: leading", LEASE), a.text()[-400:]):
        return
    B = f"{API}/namespaces/{APP_NS}/backups"
    first = wait_until(lambda: _items(env, B), 8, alive=a)
    if not r.check("a run creates a Backup within a few seconds", first, a.text()[-600:]):
        return
    b = first[0]
    meta = b["metadata"]
    r.check("the Backup is named <schedule>-<run, UTC>", re.fullmatch(NAME_RX, meta["name"]), meta["name"])
    r.check("it carries the schedule label, the template's labels and the schedule's name",
            (meta.get("labels") or {}).get("ferry.io/schedule") == "every-second" and
            (meta.get("labels") or {}).get("tier") == "db" and
            (meta.get("annotations") or {}).get("ferry.io/schedule") == "every-second", meta)
    r.check("its spec is the template's, without its metadata (and the CRD's default changedBlocks: auto)",
            b.get("spec") == {"includedNamespaces": [APP_NS], "ttl": "1h", "changedBlocks": "auto"}, b.get("spec"))
    r.check("no owner reference (a Schedule never owns its Backups)", not meta.get("ownerReferences"), meta)

    # play the executor: complete every Backup as it comes, until four were made
    seen = set()

    def progress():
        for x in _items(env, B):
            seen.add(x["metadata"]["name"])
            if (x.get("status") or {}).get("phase") != "Completed":
                _complete(env, x)
        return len(seen) >= 4
    if not r.check("runs go on, one Backup a second", wait_until(progress, 8, step=0.2, alive=a),
                   sorted(seen)):
        return

    def kept():
        progress()
        done = [x for x in _items(env, B) if (x.get("status") or {}).get("phase") == "Completed"]
        return len(done) <= 2 and len(seen) >= 4
    if not r.check("retention keeps the last 2 Completed Backups and deletes the others",
                   wait_until(kept, 4, step=0.2, alive=a), [x["metadata"]["name"] for x in _items(env, B)]):
        return
    S = f"{API}/namespaces/{APP_NS}/schedules/every-second"
    _, _, sch = env.admin.get(S)
    st = (sch or {}).get("status") or {}
    r.check("status: phase Enabled, with lastBackup, lastScheduleTime and nextRun",
            st.get("phase") == "Enabled" and st.get("lastBackup") and st.get("lastScheduleTime") and
            st.get("nextRun"), st)
    r.check("status names the last successful Backup",
            re.fullmatch(NAME_RX, (st.get("lastSuccessfulBackup") or {}).get("name") or ""), st)
    cond = wait_until(lambda: _ready(env.admin.get(S)[2] or {}), 3, alive=a)
    if not r.check("the Ready condition is True, reason Scheduled",
                   cond.get("status") == "True" and cond.get("reason") == "Scheduled", cond):
        return

    # paused: nothing runs
    env.admin.patch(S, {"spec": {"paused": True}})
    paused = wait_until(lambda: ((env.admin.get(S)[2] or {}).get("status") or {}).get("phase") == "Paused", 5,
                        alive=a)
    r.check("paused: phase Paused", paused, (env.admin.get(S)[2] or {}).get("status"))
    before = {x["metadata"]["name"] for x in _items(env, B)}
    time.sleep(1.5)
    after = {x["metadata"]["name"] for x in _items(env, B)}
    r.check("paused: no Backup is created", after <= before, sorted(after - before))
    cond = _ready(env.admin.get(S)[2] or {})
    r.check("paused: the Ready condition says Paused", cond.get("reason") == "Paused", cond)


SCENARIOS = [
    ("schedule", scenario_schedule),
]
