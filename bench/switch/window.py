#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/switch/window.py [--size Q] [--fill PCT] [--changed MIB,...] [--reps N] [--sync-interval S]
                        [--md FILE] [--json FILE]

The write-unavailable window of a blue/green switch of a StatefulSet with its volume (issue
20, "Measured") against the bytes changed since the last sync, beside the same switch done
by hand with today's tools and a stop-copy-start of the same volume, all in one run on one
box. Run by bench/switch-window.sh (root; the built ferry in build/ or $FERRY).

The box and the application of tests/switch/switchkit.py (two nodes with storage, ferry's
controller and agents as processes, the Repository default; records.py as kbox/records:blue
in the StatefulSet db, one replica, its claim data-db-0 of --size on kbox-disk, behind the
ClusterIP Service db). Once ready, --fill % of the volume is written with random bytes
(POST /pad?name=fill): what the volume holds, which a copy has to move.

Each measurement has a writer of its own (switchkit.Writer from node-b1's network namespace:
POST /write every 10 ms through the Service's ClusterIP, open loop, 1 s timeout, no retry).
Blue answers VERSION "blue", green (image kbox/records:green) "green"; the window is the
writer's: green's first acknowledgement less blue's last (monotonic). Counted: the writes that
failed (refused, an error answer) or timed out from the action on; and afterwards, through
the Service from green, every write acknowledged must be stored (a lost one is reported).
- switch: a StatefulSwitch db (image -> green, autoPromotionEnabled false, syncIntervalSeconds
  S, rollbackMode Discard); once Paused, at the end of a round, POST /pad?mib=N writes N MiB
  of new random bytes over one file on blue's volume (N in --changed; 0: the writer's own
  writes only), then spec.promote. Its figures: status.writeUnavailableSeconds and its parts
  (status.cutover's instants: blue stopped, the final round, green created and ready, the
  selector patch, green's endpoints ready), the final round's bytes and seconds
  (status.rounds[-1]). Then spec.rollback (Discard: blue as at the switch, no copy) and the
  switch deleted, blue serving again for the next measurement.
- by hand, as the cookbook (../shared/research/SEED.md, "Blue/green with persistent storage")
  but with blue stopped first, so that no acknowledged write is lost: db scaled to 0 and its
  pod gone, a VolumeSnapshot of data-db-0, the claim data-db-green-0 from it (dataSource), the
  StatefulSet db-green (blue's spec, image green, its pods labelled app: db-green) created and
  ready, the Service's selector patched to app: db-green. Parts timed from outside.
- stop-copy-start: the claim data-db-green-0 made empty beforehand on blue's node; db scaled
  to 0 and its pod gone; a VolumeTransfer backup of data-db-0 reading the whole volume
  (changedBlocks hash) into the repository, a VolumeTransfer restore writing that snapshot
  whole over data-db-green-0; db-green created and ready; the selector patched.
After by hand and stop-copy-start: the selector back, db-green and its claim deleted, db
scaled to 1 again. --reps N rounds of every measurement, interleaved. Prints progress; writes
the Markdown table to --md and every figure to --json. Timing only: no pass/fail; a
measurement that fails is a row saying where and why.
"""
import argparse
import copy
import datetime
import json
import os
import re
import statistics
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "switch"))
import switchkit as sk  # noqa: E402
from switchkit import API, NS, NAME, SYS, wait_until  # noqa: E402
import xferkit  # noqa: E402

MiB = 1 << 20
PASSWORD = "bench-switch-password"
NODE = "node-b1"  # where the writer runs
GREEN = NAME + "-green"
CLAIM, GREEN_CLAIM = f"data-{NAME}-0", f"data-{GREEN}-0"
SW = f"{API}/namespaces/{NS}/statefulswitches"
VT = f"{API}/namespaces/{SYS}/volumetransfers"
PVC = f"/api/v1/namespaces/{NS}/persistentvolumeclaims"
SNAP = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"
SVC = f"/api/v1/namespaces/{NS}/services/{NAME}"
CUTOVER = ["startTime", "blueStoppedTime", "deltaDoneTime", "greenStartTime", "greenReadyTime", "switchTime",
           "endpointsReadyTime"]
T0 = time.time()


def say(msg):
    print(f"[{time.time() - T0:7.1f} s] {msg}", flush=True)


class Failed(Exception):
    pass


def need(ok, what):
    if not ok:
        raise Failed(what)
    return ok


def status(env, path):
    return (env.get(path) or {}).get("status") or {}


def gone(env, path, timeout=60):
    return need(wait_until(lambda: env.api.get(path)[0] == 404, timeout, 0.1), f"{path} still there")


def delete(env, path, timeout=60):
    code, _, body = env.api.delete(path)
    need(code in (200, 202, 404), f"delete {path}: {code} {body}")
    gone(env, path, timeout)


def stamp(text):
    """Seconds since the epoch of an RFC 3339 instant (µs)."""
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else None


def stop_blue(env, parts):
    """db scaled to 0 and its pod gone: parts["stop"]."""
    t = time.monotonic()
    sk.scale(env, 0)
    need(wait_until(lambda: not sk.pods(env, NAME), 60, 0.02), "db's pod still there 60 s after scale 0")
    parts["stop"] = time.monotonic() - t


def green_sts(env):
    """db-green: blue's StatefulSet as it is (spec), the image green, its pods labelled app: db-green."""
    blue = sk.sts(env)
    spec = copy.deepcopy(blue["spec"])
    labels = {"app": GREEN}
    spec["replicas"] = 1
    spec["selector"] = {"matchLabels": labels}
    spec["template"]["metadata"]["labels"] = labels
    for c in spec["template"]["spec"]["containers"]:
        c["image"] = sk.GREEN_IMAGE
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": GREEN, "labels": labels},
            "spec": spec}


def start_green(env, parts):
    """db-green created and ready (parts["green"]), the Service's selector patched to it (parts["patch"])."""
    t = time.monotonic()
    env.create(sk.STS, green_sts(env))
    ok = sk.ready(env, GREEN, timeout=180)
    if not ok:
        sk.diagnose(env, "db-green not ready")
    need(ok, "db-green not ready within 180 s")
    parts["green"] = time.monotonic() - t
    t = time.monotonic()
    code, _, body = env.api.patch(SVC, {"spec": {"selector": {"app": GREEN}}})
    need(code == 200, f"the selector patch: {code} {body}")
    parts["patch"] = time.monotonic() - t


def undo_green(env):
    """The selector back on db, db-green and its claim (and a snapshot by hand) gone, db at 1 and ready."""
    code, _, body = env.api.patch(SVC, {"spec": {"selector": {"app": NAME}}})
    need(code == 200, f"the selector back: {code} {body}")
    if env.get(f"{sk.STS}/{GREEN}"):
        delete(env, f"{sk.STS}/{GREEN}")
    need(wait_until(lambda: not sk.pods(env, GREEN), 60, 0.1), "db-green's pod still there")
    delete(env, f"{PVC}/{GREEN_CLAIM}")
    for s in (env.get(SNAP) or {}).get("items") or []:
        if s["metadata"]["name"].startswith("bench-"):
            delete(env, f"{SNAP}/{s['metadata']['name']}")
    sk.scale(env, 1)
    need(sk.ready(env, NAME, timeout=120), "db not ready again")


def blue_node(env):
    c = env.get(f"{PVC}/{CLAIM}") or {}
    return (c["metadata"].get("annotations") or {}).get("volume.kubernetes.io/selected-node")


# ------------------------------------------------------------------ the ways


class Switch:
    method = "switch"

    def __init__(self, changed, interval, copy="Repository"):
        self.changed, self.interval, self.copy = changed, interval, copy
        if copy == "Clone":  # no rounds: green's claims cloned from blue's in the cutover
            self.method = "switch, Clone"

    def act(self, env, ip, row):
        env.create(SW, {"apiVersion": "ferry.io/v1alpha1", "kind": "StatefulSwitch", "metadata": {"name": NAME},
                        "spec": {"workloadRef": {"name": NAME}, "activeService": NAME,
                                 "image": {"records": sk.GREEN_IMAGE}, "syncIntervalSeconds": self.interval,
                                 "scaleDownDelaySeconds": 600, "autoPromotionEnabled": False,
                                 "rollbackMode": "Discard", "copyMethod": self.copy}})
        t = time.monotonic()
        ok = wait_until(lambda: status(env, f"{SW}/{NAME}").get("phase") in ("Paused", "Failed"), 600, 0.2)
        st = status(env, f"{SW}/{NAME}")
        need(ok and st.get("phase") == "Paused", f"not Paused: {st.get('phase')}: {st.get('message')}")
        row["to_paused_s"] = round(time.monotonic() - t, 1)
        last = (st.get("rounds") or [{}])[-1].get("round", -1)
        say(f"  Paused in {row['to_paused_s']} s (round {last}); a round's end awaited")

        def ended():  # the next round recorded: the promote comes a sync interval before the one after
            r = status(env, f"{SW}/{NAME}").get("rounds") or [{}]
            return r[-1].get("round", -1) > last
        need(self.copy == "Clone" or wait_until(ended, 3 * self.interval + 120, 0.05), "no round after Paused")
        st = status(env, f"{SW}/{NAME}")
        row["rounds_before"] = [(r.get("round"), r.get("bytes"), r.get("seconds"), r.get("verdict"))
                                for r in st.get("rounds") or []]
        if self.changed:
            t = time.monotonic()
            ans, err = sk.call(env, NODE, "POST", f"/pad?mib={self.changed}", ip, timeout=0, io_timeout=120)
            need(ans is not None, f"POST /pad?mib={self.changed}: {err}")
            row["pad_s"] = round(time.monotonic() - t, 2)
        row["t_action"] = time.monotonic()
        code, _, body = env.api.patch(f"{SW}/{NAME}", {"spec": {"promote": True}})
        need(code == 200, f"promote: {code} {body}")
        ok = wait_until(lambda: status(env, f"{SW}/{NAME}").get("phase") in ("Promoted", "Failed", "Syncing"),
                        300, 0.05)
        st = status(env, f"{SW}/{NAME}")
        need(ok and st.get("phase") == "Promoted", f"not Promoted: {st.get('phase')}: {st.get('message')} "
             f"{st.get('lastAbort')}")
        cut = st.get("cutover") or {}
        at = {k: stamp(cut.get(k)) for k in CUTOVER}

        def d(a, b):
            return round(at[b] - at[a], 3) if at.get(a) and at.get(b) else None
        row["controller_s"] = st.get("writeUnavailableSeconds")
        row["parts"] = {"stop": d("startTime", "blueStoppedTime"), "final round": d("blueStoppedTime", "deltaDoneTime"),
                        "green": d("deltaDoneTime", "greenReadyTime"), "patch": d("greenReadyTime", "switchTime"),
                        "endpoints": d("switchTime", "endpointsReadyTime")}
        row["cutover"] = cut
        fin = (st.get("rounds") or [{}])[-1]
        row["final_round"] = {k: fin.get(k) for k in ("round", "bytes", "seconds", "verdict")}
        row["final_mib"] = fin.get("bytes") is not None and round(fin["bytes"] / MiB, 1)

    def undo(self, env):
        code, _, body = env.api.patch(f"{SW}/{NAME}", {"spec": {"rollback": True}})
        need(code == 200, f"rollback: {code} {body}")
        ok = wait_until(lambda: status(env, f"{SW}/{NAME}").get("phase") in ("RolledBack", "Failed"), 180, 0.2)
        st = status(env, f"{SW}/{NAME}")
        need(ok and st.get("phase") == "RolledBack", f"not RolledBack: {st.get('phase')}: {st.get('message')}")
        delete(env, f"{SW}/{NAME}")
        need(wait_until(lambda: not sk.sts(env, GREEN) and env.api.get(f"{PVC}/{GREEN_CLAIM}")[0] == 404, 120, 0.2),
             "db-green or its claim still there after the rollback")
        need(sk.ready(env, NAME, timeout=120), "db not ready after the rollback")


class ByHand:
    method = "by hand"
    changed = None

    def act(self, env, ip, row):
        claim = env.get(f"{PVC}/{CLAIM}")
        parts = row["parts"] = {}
        row["t_action"] = time.monotonic()
        stop_blue(env, parts)
        name = f"bench-{int(time.time())}"
        t = time.monotonic()
        env.create(SNAP, {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                          "metadata": {"name": name}, "spec": {
                              "volumeSnapshotClassName": "kbox-disk-snapclass",
                              "source": {"persistentVolumeClaimName": CLAIM}}})
        need(wait_until(lambda: status(env, f"{SNAP}/{name}").get("readyToUse"), 60, 0.05),
             f"VolumeSnapshot {name} not ready: {status(env, f'{SNAP}/{name}')}")
        parts["snapshot"] = time.monotonic() - t
        env.create(PVC, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": GREEN_CLAIM},
                         "spec": {"accessModes": claim["spec"]["accessModes"],
                                  "storageClassName": claim["spec"]["storageClassName"],
                                  "resources": claim["spec"]["resources"],
                                  "dataSource": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                                 "name": name}}})
        start_green(env, parts)

    def undo(self, env):
        undo_green(env)


class StopCopyStart:
    method = "stop-copy-start"
    changed = None

    def act(self, env, ip, row):
        claim = env.get(f"{PVC}/{CLAIM}")
        node = blue_node(env)
        # the target claim made beforehand (not in the window): empty, provisioned on blue's node
        env.create(PVC, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {
            "name": GREEN_CLAIM, "annotations": {"volume.kubernetes.io/selected-node": node}},
            "spec": {k: claim["spec"][k] for k in ("accessModes", "storageClassName", "resources")}})
        need(wait_until(lambda: status(env, f"{PVC}/{GREEN_CLAIM}").get("phase") == "Bound", 60, 0.1),
             f"{GREEN_CLAIM} not Bound")
        uid = env.get("/api/v1/namespaces/kube-system")["metadata"]["uid"]
        volume = f"k8s/{uid}/{NS}/{CLAIM}"
        repo = {"name": "default", "url": env.repo, "passwordSecretRef": {"name": "repo-password"}}
        tag = int(time.time())
        parts = row["parts"] = {}
        row["t_action"] = time.monotonic()
        stop_blue(env, parts)
        t = time.monotonic()
        b = f"bench-cold-{tag}-b"
        env.create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": b},
                        "spec": {"direction": "backup", "volume": volume, "repository": repo, "freeze": False,
                                 "changedBlocks": "hash", "source": {"namespace": NS, "persistentVolumeClaim": CLAIM}}})
        need(wait_until(lambda: status(env, f"{VT}/{b}").get("phase") in ("Completed", "Failed"), 600, 0.05),
             "the backup did not end in 600 s")
        st = status(env, f"{VT}/{b}")
        need(st.get("phase") == "Completed" and st.get("snapshotID"), f"the backup: {st.get('phase')}: "
             f"{st.get('message')}")
        parts["backup"] = time.monotonic() - t
        row["backup"] = {k: st.get(k) for k in ("bytesRead", "bytesNew", "bytesTotal", "mbPerSecond")}
        t = time.monotonic()
        a = f"bench-cold-{tag}-a"
        env.create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": a},
                        "spec": {"direction": "restore", "volume": volume, "repository": repo,
                                 "snapshotID": st["snapshotID"],
                                 "target": {"namespace": NS, "persistentVolumeClaim": GREEN_CLAIM, "overwrite": True}}})
        need(wait_until(lambda: (lambda s: s.get("phase") == "Failed" or (s.get("phase") == "Completed" and
                                                                          s.get("cleanedUp")))(
            status(env, f"{VT}/{a}")), 600, 0.05), "the restore did not end in 600 s")
        st = status(env, f"{VT}/{a}")
        need(st.get("phase") == "Completed", f"the restore: {st.get('phase')}: {st.get('message')}")
        parts["restore"] = time.monotonic() - t
        row["restore"] = {k: st.get(k) for k in ("bytesWritten", "bytesTotal", "mbPerSecond")}
        start_green(env, parts)

    def undo(self, env):
        undo_green(env)


# ------------------------------------------------------------------ one measurement


def measure(env, ip, way, label):
    """@way's act() under a writer of its own (w-@label); its figures; then @way's undo()."""
    row = {"method": way.method, "changed_mib": way.changed, "label": label}
    writer = sk.Writer(env, NODE, ip, name=f"w-{label}").start()
    t = time.time()
    undone = False
    try:
        need(wait_until(writer.acked, 30, 0.05), f"the writer's first write not acknowledged: {writer.recs[-3:]}")
        time.sleep(1)
        t_start = time.monotonic()
        way.act(env, ip, row)
        need(wait_until(lambda: any(r.ok and r.ans.get("version") == "green" for r in writer.done()), 60, 0.05),
             "green acknowledged no write within 60 s")
        time.sleep(2)
        t_end = time.monotonic()
        writer.stop()
        recs = [r for r in writer.done() if r.sent < t_end]
        win, last, first = sk.window(recs)
        row["window_s"] = win and round(win, 3)
        ta = row.pop("t_action")
        row["before"] = writer.counts(t_start, ta)
        row["from_action"] = writer.counts(ta, t_end)
        row["failed"] = row["from_action"]["failed"] + row["from_action"]["timeout"]
        row["errors"] = writer.errors(ta, t_end)
        row["blocked_before"] = row["before"]["blocked"]
        if win:
            row["inside"] = writer.counts(last.acked, first.sent)
            row["last_blue_from_action_s"] = round(last.acked - ta, 3)
        stored, ans = sk.read_all(env, NODE, writer.name, ip)
        if stored is None:
            row["lost"] = f"GET /all failed: {ans}"
        else:
            acked = {r.seq for r in recs if r.ok}
            row["lost"] = len(acked - stored)
        say(f"  {way.method} {way.changed if way.changed is not None else ''}: window {row['window_s']} s, "
            f"failed {row['failed']} {row['errors']}, controller {row.get('controller_s')}, "
            f"parts {json.dumps(row.get('parts'))}, final round {row.get('final_round')}, lost {row['lost']}")
        undone = True
        way.undo(env)
    except (Exception, SystemExit) as e:
        row["error"] = f"{type(e).__name__}: {e}"
        say(f"  {label} failed: {row['error']}")
        if not isinstance(e, Failed):
            traceback.print_exc()
        sk.diagnose(env, label)
        log = os.path.join(env.work, "controller.log")
        if os.path.exists(log):
            say("  controller.log, the end:\n" + open(log, errors="replace").read()[-3000:])
        if not undone:  # put blue back for the next measurement
            try:
                if status(env, f"{SW}/{NAME}").get("phase") == "Promoted":
                    way.undo(env)
                elif env.get(f"{SW}/{NAME}"):
                    env.api.patch(f"{SW}/{NAME}", {"spec": {"abort": True}})
                    wait_until(lambda: status(env, f"{SW}/{NAME}").get("phase") in ("Aborted", "Failed"), 120, 0.5)
                    delete(env, f"{SW}/{NAME}", 120)
                    need(wait_until(lambda: not sk.sts(env, GREEN) and env.api.get(f"{PVC}/{GREEN_CLAIM}")[0] == 404,
                                    120, 0.2), "db-green or its claim still there after the abort")
                else:
                    undo_green(env)
            except (Exception, SystemExit) as e2:
                row["error"] += f"; putting blue back: {type(e2).__name__}: {e2}"
                raise
    finally:
        writer.stop()
    row["seconds"] = round(time.time() - t, 1)
    row["load"] = os.getloadavg()
    return row


# ------------------------------------------------------------------ the table


def fmt(v, d=2):
    return "-" if v is None or v is False else f"{v:.{d}f}"


def med(rows, method, changed=None):
    w = [r["window_s"] for r in rows if r["method"] == method and r.get("window_s") and
         (changed is None or r.get("changed_mib") == changed)]
    return statistics.median(w) if w else None


def table(rows):
    hand, cold = med(rows, "by hand"), med(rows, "stop-copy-start")
    out = ["| method | changed MiB | writer window s | failed writes (timed out) | controller's figure s "
           "| parts s | final round MiB (s) | lost | by hand / it | stop-copy-start / it |",
           "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
    for r in rows:
        ch = "-" if r.get("changed_mib") is None else str(r["changed_mib"])
        head = f"| {r['method']} | {ch} |"
        if r.get("error") and r.get("window_s") is None:
            out.append(head + f" failed: {r['error'][:300]} ||||||||")
            continue
        p = r.get("parts") or {}
        parts = " / ".join(f"{k} {fmt(v)}" for k, v in p.items())
        fr = r.get("final_round") or {}
        final = f"{fr['bytes'] / MiB:.1f} ({fmt(fr.get('seconds'))})" if fr.get("bytes") is not None else "-"
        w = r.get("window_s")
        ratio = [fmt(x / w, 1) if x and w and r["method"].startswith("switch") else "-" for x in (hand, cold)]
        out.append(head + f" {fmt(w)} | {r.get('failed', '-')} ({r.get('from_action', {}).get('timeout', '-')}) "
                   f"| {fmt(r.get('controller_s'))} | {parts} | {final} | {r.get('lost', '-')} "
                   f"| {ratio[0]} | {ratio[1]} |")
    sw = sorted({r["changed_mib"] for r in rows if r["method"] == "switch"})
    out += ["", "Medians: " + "; ".join(
        [f"switch {c} MiB {fmt(med(rows, 'switch', c))} s" for c in sw] +
        [f"switch, Clone {fmt(med(rows, 'switch, Clone'))} s", f"by hand {fmt(hand)} s",
         f"stop-copy-start {fmt(cold)} s"]) + "."]
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", default="256Mi", help="the claim's size (a Kubernetes quantity in Mi)")
    ap.add_argument("--fill", type=float, default=50.0, help="percent of the volume written once with random bytes")
    ap.add_argument("--changed", default="0,16,64", help="MiB written over the volume just before each promote")
    ap.add_argument("--reps", type=int, default=2, help="rounds of every measurement")
    ap.add_argument("--sync-interval", type=int, default=10, help="the switch's syncIntervalSeconds")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--md")
    ap.add_argument("--json")
    a = ap.parse_args()
    need(a.size.endswith("Mi") and a.size[:-2].isdigit(), f"--size {a.size}: a number of Mi")
    size_mib = int(a.size[:-2])
    changed = [int(x) for x in a.changed.split(",") if x != ""]
    fill_mib = int(size_mib * a.fill / 100)
    need(fill_mib + max(changed) <= size_mib * 0.8, f"fill {fill_mib} MiB + {max(changed)} MiB changed does not fit "
         f"in {size_mib} MiB (ext4 and the records need about a fifth)")
    os.environ["FERRY"] = os.environ.get("FERRY") or os.path.join(a.build, "control", "ferry")
    ferry = xferkit.require(("nsenter",))
    ways = []
    for _ in range(a.reps):
        ways += [Switch(c, a.sync_interval) for c in changed] + [Switch(max(changed), a.sync_interval, "Clone")] + \
            [ByHand(), StopCopyStart()]
    rows = []
    env = None
    out = {"size": a.size, "fill_mib": fill_mib, "changed_mib": changed, "reps": a.reps,
           "sync_interval_s": a.sync_interval, "rows": rows}
    try:
        t = time.time()
        env = sk.start(ferry, PASSWORD, identity="bench", prefix="ferry-bench-switch-")
        for path, obj in sk.app_objects(size=a.size):
            env.create(path, obj)
        need(sk.ready(env, timeout=180), "db not ready")
        ip = sk.service_ip(env)
        out["box_up_s"] = round(time.time() - t, 1)
        t = time.monotonic()
        ans, err = sk.call(env, NODE, "POST", f"/pad?mib={fill_mib}&name=fill", ip, timeout=30, io_timeout=300)
        need(ans is not None, f"the fill: {err}")
        out["fill_s"] = round(time.monotonic() - t, 1)
        say(f"box and db ({a.size}) up in {out['box_up_s']} s; {fill_mib} MiB filled in {out['fill_s']} s")
        for i, way in enumerate(ways):
            label = f"{i}-{re.sub(r'[^A-Za-z0-9_.-]+', '-', way.method)}-{way.changed if way.changed is not None else 'x'}"
            say(f"{label}")
            rows.append(measure(env, ip, way, label))
            if a.json:
                with open(a.json, "w") as f:
                    json.dump(out, f, indent=1)
            if a.md:  # after each measurement: a run stopped half way still has its table
                with open(a.md, "w") as f:
                    f.write(table(rows) + "\n")
    except (Exception, SystemExit) as e:
        out["error"] = f"{type(e).__name__}: {e}"
        say(f"the run stopped: {out['error']}")
        if not isinstance(e, Failed):
            traceback.print_exc()
    finally:
        t = time.time()
        sk.close(env, "bench/switch")
        out["box_down_s"] = round(time.time() - t, 1)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=1)
    if a.md:
        with open(a.md, "w") as f:
            f.write(table(rows) + "\n")
    print(table(rows))
    sys.exit(1 if not rows or all(r.get("error") for r in rows) else 0)


if __name__ == "__main__":
    main()
