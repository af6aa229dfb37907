#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/migrate/window.py [--points GIB:PCT,...] [--fill PCT] [--pause S] [--md FILE] [--json FILE]

The cutover window of a warm migration (issue 19, "Measured") against volume size and
changed fraction, beside the same application moved stop-copy-start. Run by
bench/migrate-window.sh (root; the built ferry in build/ or $FERRY).

Per point (a volume size GIB and a changed fraction PCT of it), two boxes made by
tests/migrate/warmkit.py (each its own nodes, storage, `ferry controller` and agents as
processes; one file:// repository; the target's Repository ReadOnly, synced every second),
brought down again at the end of the point. In the source two copies of one application,
namespaces `shop` (migrated warm) and `cold` (stop-copy-start): a StatefulSet `web` of one
replica with two ext4 claims of GIB GiB each (kbox-disk), behind the Service `web`. Its pod
first fills --fill % of the data claim with random bytes (a file `fill`, written once: the
data a volume holds), then, every --pause s, writes the first PCT % of the volume's size
over the start of that file again with new random bytes (fsync), so that each sync round's
changed blocks are about PCT % of the data volume, and appends a line to the logs claim; it
serves /data over HTTP (the counter /count), probed at 25 Hz from a node of each box.

- warm: `ferry migrate plan`, `start --sync-interval 1 --cutover-bound 120`, rounds until one
  is Converged, then `cutover --wait`: status.cutover's parts (quiesce, backup and of it
  read+upload, apply, start, window) and the probes' window (the source's last answer to the
  target's first);
- stop-copy-start (what Velero's and Kasten's cross-cluster recipes do): `cold` scaled to 0,
  one Backup of the namespace with its volumes, backup sync brings it to the target, one
  Restore there with its volumes (each claim given a node as the Migration does), the
  StatefulSet (restored at 0 replicas, as it was backed up) scaled to 1; the probes' window
  and its parts.
The target's `shop` is scaled to 0 once measured, so that its writer does not run beside
the stop-copy-start. Prints progress; writes the Markdown table to --md and every figure to
--json. Timing only: no pass/fail. A point that fails is a row saying where and why.
"""
import argparse
import json
import os
import shutil
import sys
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "migrate"))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
sys.path.insert(0, os.path.join(ROOT, "tests", "xfer"))
import warmkit  # noqa: E402
from warmkit import API, SYS, wait_until  # noqa: E402
import xferkit  # noqa: E402

MiB, GiB = 1 << 20, 1 << 30
PASSWORD = "bench-migrate-password"
# tests/migrate/two-zones.yaml with pools of 192 GiB (a restored volume is allocated whole: see the file)
warmkit.CONFIG = os.path.join(os.path.dirname(os.path.abspath(__file__)), "two-zones.yaml")
PROBE_NODE = "node-b1"
NODE = "node-a1"  # where the stop-copy-start's claims are made in the target
NAME = "shop"
WARM, COLD = "shop", "cold"
CLAIMS = ["data-web-0", "logs-web-0"]
READER = "ferry-migration-reader"
SOURCE_ROLE = os.path.join(ROOT, "k8s", "deploy", "migrate-source-rbac.yaml")
T0 = time.time()


def say(msg):
    print(f"[{time.time() - T0:7.1f} s] {msg}", flush=True)


class PointFailed(Exception):
    pass


def need(ok, what):
    if not ok:
        raise PointFailed(what)
    return ok


# ------------------------------------------------------------------ the application


def writer(ns, fill_mib, hot_blocks, pause):
    """The pod's script: fill once, then rewrite @hot_blocks 64 KiB blocks at the start of the
    filled file every @pause s; the counter and the journal as warmkit's writer keeps them."""
    return (
        f'cd /data; [ -f index.html ] || echo "{ns} web" > index.html; '
        f'[ -f fill.done ] || {{ dd if=/dev/urandom of=fill bs=1M count={fill_mib} conv=fsync 2>/dev/null; '
        'touch fill.done; }; '
        'httpd -p 8080 -h /data; '
        'i=$(cat count 2>/dev/null || echo 0); '
        'while :; do i=$((i + 1)); '
        f'dd if=/dev/urandom of=fill bs=64k count={hot_blocks} conv=notrunc,fsync 2>/dev/null; '
        'echo "$i $(date +%s)" | dd of=/logs/journal oflag=append conv=notrunc,fsync 2>/dev/null; '
        f'echo $i > count.tmp; mv count.tmp count; sleep {pause}; done')


def app_objects(ns, gib, fill_mib, hot_blocks, pause):
    labels = {"app": "web"}
    claim = {"accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
             "resources": {"requests": {"storage": f"{gib}Gi"}}}
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}),
        (f"/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "web", "labels": labels}, "spec": {"selector": labels, "ports": [
                {"name": "http", "port": 80, "targetPort": 8080}]}}),
        (f"/apis/apps/v1/namespaces/{ns}/statefulsets", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {
            "name": "web", "labels": labels}, "spec": {
            "replicas": 1, "serviceName": "web", "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "web", "image": "busybox",
                                "command": ["sh", "-ec", writer(ns, fill_mib, hot_blocks, pause)],
                                "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080},
                                                   "periodSeconds": 1},
                                "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                 {"name": "logs", "mountPath": "/logs"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": n, "labels": labels}, "spec": claim}
                                     for n in ("data", "logs")]}}),
    ]


def sts_path(ns):
    return f"/apis/apps/v1/namespaces/{ns}/statefulsets/web"


def ready(env, ns):
    return ((env.get(sts_path(ns)) or {}).get("status") or {}).get("readyReplicas") == 1


def pods(env, ns):
    return [p["metadata"]["name"] for p in (env.get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items") or []]


def scale(env, ns, replicas, timeout=60):
    code, _, body = env.api.patch(sts_path(ns), {"spec": {"replicas": replicas}})
    need(code == 200, f"scale {ns}/web to {replicas}: {code} {body}")
    if replicas == 0:
        need(wait_until(lambda: not pods(env, ns), timeout, 0.05), f"{ns}/web-0 still there {timeout} s after scale 0")


def service_ip(env, ns):
    return ((env.get(f"/api/v1/namespaces/{ns}/services/web") or {}).get("spec") or {}).get("clusterIP")


def diagnose(env, ns, label):
    """What a failed step leaves to read: @ns's pods and their events, each node's log's tail."""
    say(f"  {label}: {env.identity}")
    for p in (env.get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items") or []:
        st = p.get("status") or {}
        say(f"    pod {p['metadata']['name']} on {p['spec'].get('nodeName')}: {st.get('phase')} "
            f"{[(c.get('type'), c.get('status'), c.get('reason')) for c in st.get('conditions') or []]} "
            f"{[c.get('state') for c in st.get('containerStatuses') or []]}")
    for e in ((env.get(f"/api/v1/namespaces/{ns}/events") or {}).get("items") or [])[-12:]:
        say(f"    event {e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}: "
            f"{e.get('reason')}: {e.get('message')}")
    for n in warmkit.NODES:
        log = os.path.join(env.box.dir, "nodes", n, "node.log")
        if os.path.exists(log):
            say(f"    {log}, the end:\n" + open(log, errors="replace").read()[-3000:])


def window(before, after):
    """The source's last answer (it never answers again) to the target's first after it."""
    a = before.last_ok()
    b = after.first_ok(a[0]) if a else None
    return (b[0] - a[0], a, b) if a and b else (None, a, b)


def allocated(env, ns):
    """{claim: bytes its backing file has allocated in the pool (st_blocks: written extents and
    the unwritten ones fallocate leaves alike)} of @ns's claims, and the pool's size and free
    bytes (statvfs of its mount, through the pools' namespace)."""
    out = {}
    for c in CLAIMS:
        pv = ((env.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{c}") or {}).get("spec") or {}).get(
            "volumeName")
        if not pv:
            continue
        try:
            st = os.stat(env.volume_file(pv))
            out[c] = st.st_blocks * 512
        except OSError:
            pass
    try:
        pools = int(open(os.path.join(env.box.dir, "storage", "pools.pid")).read())
        v = os.statvfs(f"/proc/{pools}/root{env.box.dir}/storage/disk")
        out["pool free"] = v.f_bavail * v.f_frsize
        out["pool size"] = v.f_blocks * v.f_frsize
    except OSError:
        pass
    return out


# ------------------------------------------------------------------ the two clusters


def start(ferry, prefix, **kw):
    """warmkit.start, tried twice: a box that does not answer within its 10 s (kboxtest exits
    99) under a load of 15 or more is started again."""
    for attempt in (1, 2):
        try:
            return warmkit.start(ferry, PASSWORD, prefix, **kw)
        except SystemExit as e:
            say(f"  {kw.get('identity')}: the box did not start (exit {e.code}), attempt {attempt}")
            for d in os.listdir("/var/tmp"):  # the work directory the failed start made, empty
                path = os.path.join("/var/tmp", d)
                if d.startswith(prefix) and not os.listdir(path):
                    os.rmdir(path)
    raise PointFailed(f"{kw.get('identity')}: the box did not start twice")


def pair(ferry):
    src = start(ferry, "ferry-mbench-src-", identity="bench-source")
    dst = None
    try:
        dst = start(ferry, "ferry-mbench-dst-", read_only=True, sync_period="1s", identity="bench-target")
        url = "file://" + os.path.join(src.work, "repo")
        r = src.ferry("init", "--repo", url)
        need(r.returncode == 0, f"ferry init: {r.stderr[-300:]}")
        for env in (src, dst):
            warmkit.use_repository(env, url)
            need(env.leader() == env.identity, f"{env.identity}: the controller does not lead")
    except BaseException:
        warmkit.close([src, dst], "bench/migrate")
        raise
    return src, dst


def reader_kubeconfig(src):
    r = src.kubectl("apply", "-f", SOURCE_ROLE)
    need(r.returncode == 0, f"kubectl apply migrate-source-rbac.yaml: {r.stderr}")
    src.create(f"/api/v1/namespaces/{SYS}/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": READER}})
    src.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": READER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ferry-migration-source"},
        "subjects": [{"kind": "ServiceAccount", "name": READER, "namespace": SYS}]})
    return src.kubeconfig_for(READER)


def ferry_cmd(env, *args, timeout=300):
    r = env.ferry(*args, timeout=timeout)
    say(f"ferry {' '.join(args)}: exit {r.returncode}")
    if r.returncode:
        say(f"  {r.stdout[-1500:]}{r.stderr[-800:]}")
    return r


def logs_tail(env, n=2500):
    log = os.path.join(env.work, "controller.log")
    return open(log, errors="replace").read()[-n:] if os.path.exists(log) else ""


# ------------------------------------------------------------------ one point


def warm(src, dst, row, bound):
    kc = reader_kubeconfig(src)
    sprobe = warmkit.Probe(src, PROBE_NODE, service_ip(src, WARM)).start()
    probes = [sprobe]
    try:
        need(wait_until(sprobe.last_ok, 20, 0.1), f"the probe does not reach {WARM}'s Service: {sprobe.error}")
        t = time.time()
        r = ferry_cmd(dst, "migrate", "plan", NAME, "--source-kubeconfig", kc, "--include-namespaces", WARM)
        need(r.returncode == 0, f"migrate plan: exit {r.returncode}: {r.stdout[-600:]} {r.stderr[-400:]}")
        r = ferry_cmd(dst, "migrate", "start", NAME, "--sync-interval", "1", "--cutover-bound", str(bound))
        need(r.returncode == 0, f"migrate start: exit {r.returncode}: {r.stderr[-400:]}")
        seen = []

        def converged():
            st = (dst.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}).get("status") or {}
            rounds = st.get("rounds") or []
            if st.get("phase") and (not seen or seen[-1] != st.get("phase")):
                seen.append(st.get("phase"))
                say(f"  migration: {st.get('phase')}: {st.get('message')}")
            return st.get("phase") == "Failed" or any(x.get("verdict") == "Converged" for x in rounds)
        wait_until(converged, 900, 0.2)
        st = (dst.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}).get("status") or {}
        rounds = st.get("rounds") or []
        row["seed_and_rounds_s"] = round(time.time() - t, 1)
        row["rounds_before"] = [(x.get("round"), x.get("bytesWritten"), x.get("seconds"), x.get("verdict"))
                                for x in rounds]
        say(f"  rounds: {row['rounds_before']}")
        if not any(x.get("verdict") == "Converged" for x in rounds):
            say("  target controller.log:\n" + logs_tail(dst))
            raise PointFailed(f"no round Converged: phase {st.get('phase')}: {st.get('message')}")
        dprobe = warmkit.Probe(dst, PROBE_NODE, service_ip(dst, WARM)).start()
        probes.append(dprobe)
        r = ferry_cmd(dst, "migrate", "cutover", NAME, "--wait", "--wait-timeout", "600", timeout=660)
        m = dst.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}
        st = m.get("status") or {}
        if r.returncode or st.get("phase") != "Completed":
            say("  target controller.log:\n" + logs_tail(dst))
            raise PointFailed(f"cutover: exit {r.returncode}, phase {st.get('phase')}: {st.get('message')}")
        wait_until(lambda: dprobe.first_ok(sprobe.last_ok()[0]), 30, 0.02)
        gap, last, first = window(sprobe, dprobe)
        cut = st.get("cutover") or {}
        rounds = st.get("rounds") or []
        row["rounds"] = len(rounds)
        row["round_bytes"] = [x.get("bytesWritten") for x in rounds]
        row["round_seconds"] = [x.get("seconds") for x in rounds]
        row["warm_window_s"] = gap and round(gap, 2)
        row["cutover"] = {k: cut.get(k) for k in ("quiesceSeconds", "backupSeconds", "readUploadSeconds",
                                                  "applySeconds", "verifySnapshotSeconds", "startSeconds",
                                                  "readySeconds", "windowSeconds", "bytesWritten")}
        row["warm_counters"] = (last and last[2], first and first[2])
        say(f"  cutover: {json.dumps(row['cutover'])}; probes' window {row['warm_window_s']} s "
            f"(source's last /count {last and last[2]!r}, target's first {first and first[2]!r})")
        row["allocated_source"] = allocated(src, WARM)
        row["allocated_target"] = allocated(dst, WARM)
        say(f"  {WARM}'s volumes allocated: source {row['allocated_source']}, target {row['allocated_target']}")
    finally:
        for p in probes:
            p.stop()
    scale(dst, WARM, 0)


def cold(src, dst, row):
    scale(src, COLD, 1)
    need(wait_until(lambda: ready(src, COLD), 120, 0.2), f"{COLD} does not come back in the source")
    cprobe = warmkit.Probe(src, PROBE_NODE, service_ip(src, COLD)).start()
    probes = [cprobe]
    parts = {}
    try:
        need(wait_until(cprobe.last_ok, 20, 0.1), f"the probe does not reach {COLD}'s Service: {cprobe.error}")
        time.sleep(3)  # a few of the writer's passes
        t = time.time()
        scale(src, COLD, 0)
        parts["stop"] = time.time() - t
        t = time.time()
        b, secs = warmkit.backup(src, "cold", timeout=1200, includedNamespaces=[COLD])
        parts["backup"] = secs
        need(b.get("phase") == "Completed", f"stop-copy-start Backup: {b.get('phase')}: {b.get('failureReason')}"
             f" {b.get('errors')} {b.get('warningMessages')}")
        row["cold_bytes_read"] = sum(v.get("bytesRead") or 0 for v in b.get("volumes") or [])
        row["cold_bytes_new"] = sum(v.get("bytesNew") or 0 for v in b.get("volumes") or [])
        s, secs = warmkit.synced(dst, "cold", timeout=60)
        parts["sync"] = secs
        need(s.get("phase") == "Completed", f"backup sync did not bring the Backup cold: {s}")
        rs, secs = warmkit.restore(dst, "cold", "cold", timeout=1200, namespaceMapping={COLD: COLD},
                                   restoreVolumes=True, during=lambda: warmkit.select_node(dst, NODE, ns=COLD))
        parts["restore"] = secs
        row["allocated_target_cold"] = allocated(dst, COLD)
        say(f"  {COLD}'s volumes allocated in the target: {row['allocated_target_cold']}")
        need(rs.get("phase") == "Completed", f"stop-copy-start Restore: {rs.get('phase')}: "
             + "; ".join(f"{v.get('pvc')}: {v.get('phase')}: {v.get('message')}" for v in rs.get("volumes") or []
                         if v.get("phase") != "Completed") + f" (errors {rs.get('errors')})")
        t = time.time()
        scale(dst, COLD, 1)
        dprobe = warmkit.Probe(dst, PROBE_NODE, service_ip(dst, COLD)).start()
        probes.append(dprobe)
        ok = wait_until(lambda: dprobe.first_ok(cprobe.last_ok()[0]), 120, 0.02)
        if not ok:
            diagnose(dst, COLD, "cold: the target does not answer")
        need(ok, f"{COLD}: the target's Service does not answer: {dprobe.error}")
        parts["start"] = ok[0] - t
        gap, last, first = window(cprobe, dprobe)
        row["cold_window_s"] = gap and round(gap, 2)
        row["cold_parts"] = {k: round(v, 2) for k, v in parts.items()}
        say(f"  stop-copy-start: window {row['cold_window_s']} s, parts {row['cold_parts']}, "
            f"read {row['cold_bytes_read'] / MiB:.0f} MiB, new {row['cold_bytes_new'] / MiB:.0f} MiB "
            f"(/count {last and last[2]!r} -> {first and first[2]!r})")
    finally:
        for p in probes:
            p.stop()


def point(ferry, gib, pct, fill, pause, bound):
    row = {"gib": gib, "pct": pct, "fill_pct": fill}
    size = gib * GiB
    fill_mib = int(size * fill / 100) // MiB
    hot_blocks = max(1, int(size * pct / 100) // (64 << 10))
    row["hot_bytes"] = hot_blocks * (64 << 10)
    row["fill_bytes"] = fill_mib * MiB
    need(row["hot_bytes"] <= row["fill_bytes"], f"the changed part ({row['hot_bytes']}) exceeds the fill")
    t = time.time()
    src = dst = None
    try:
        src, dst = pair(ferry)
        row["boxes_up_s"] = round(time.time() - t, 1)
        say(f"{gib} GiB, {pct} %: two boxes up in {row['boxes_up_s']} s; the applications fill "
            f"{fill_mib} MiB each, then rewrite {row['hot_bytes'] / MiB:.2f} MiB every {pause} s")
        t = time.time()
        for ns in (WARM, COLD):
            for path, obj in app_objects(ns, gib, fill_mib, hot_blocks, pause):
                src.create(path, obj)
        ok = wait_until(lambda: ready(src, WARM) and ready(src, COLD), 120 + 40 * fill_mib / 1024, 0.5)
        if not ok:
            for ns in (WARM, COLD):
                if not ready(src, ns):
                    diagnose(src, ns, f"{ns} not ready")
        need(ok, "the applications did not get ready (filled)")
        row["fill_s"] = round(time.time() - t, 1)
        scale(src, COLD, 0)  # it waits for its turn
        say(f"  applications filled and ready in {row['fill_s']} s")
        warm(src, dst, row, bound)
        cold(src, dst, row)
        if row.get("warm_window_s") and row.get("cold_window_s"):
            row["ratio"] = round(row["cold_window_s"] / row["warm_window_s"], 1)
    except (Exception, SystemExit) as e:  # the row says where and why; the next point still runs
        row["error"] = f"{type(e).__name__}: {e}"
        say(f"  point failed: {row['error']}")
        if not isinstance(e, PointFailed):
            traceback.print_exc()
    finally:
        t = time.time()
        warmkit.close([src, dst], "bench/migrate")
        row["boxes_down_s"] = round(time.time() - t, 1)
    return row


# ------------------------------------------------------------------ the table


def fmt(v, d=1):
    return "-" if v is None else f"{v:.{d}f}"


def mib(alloc):
    v = (alloc or {}).get(CLAIMS[0])
    return "-" if v is None else f"{v / MiB:.0f}"


def table(rows):
    out = ["| size | changed | rounds (MiB each) | window (probe) | quiesce | backup (read+upload) | apply "
           "| snapshots to verify | start (+ ready) | report's window "
           "| stop-copy-start window (stop / backup / sync / restore / start) | ratio |",
           "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|---:|"]
    for r in rows:
        head = f"| {r['gib']} GiB | {r['pct']} % ({r['hot_bytes'] / MiB:.1f} MiB) |"
        if r.get("error") and not r.get("cold_window_s"):
            c = r.get("cutover") or {}
            got = ""
            if r.get("warm_window_s") is not None:
                got = f" (warm window {fmt(r['warm_window_s'], 2)} s, quiesce {fmt(c.get('quiesceSeconds'), 2)}, " \
                      f"backup {fmt(c.get('backupSeconds'), 2)}, apply {fmt(c.get('applySeconds'), 2)}, " \
                      f"start {fmt(c.get('startSeconds'), 2)})"
            out.append(head + f" failed: {r['error'][:300]}{got} ||||||||||")
            continue
        c = r["cutover"]
        rb = "/".join(f"{(b or 0) / MiB:.0f}" for b in r["round_bytes"])
        p = r["cold_parts"]
        out.append(head + f" {r['rounds']} ({rb}) | {fmt(r['warm_window_s'], 2)} s | {fmt(c.get('quiesceSeconds'), 2)} "
                   f"| {fmt(c.get('backupSeconds'), 2)} ({fmt(c.get('readUploadSeconds'), 2)}) "
                   f"| {fmt(c.get('applySeconds'), 2)} | {fmt(c.get('verifySnapshotSeconds'), 2)} "
                   f"| {fmt(c.get('startSeconds'), 2)} (+ {fmt(c.get('readySeconds'), 2)}) "
                   f"| {fmt(c.get('windowSeconds'), 2)} s "
                   f"| {fmt(r['cold_window_s'], 1)} s ({fmt(p['stop'])} / {fmt(p['backup'])} / {fmt(p['sync'])} / "
                   f"{fmt(p['restore'])} / {fmt(p['start'])}) | {fmt(r.get('ratio'))} |")
    out += ["", "| size | changed | seed and rounds until Converged | round seconds | final delta written "
            "| stop-copy-start read / new bytes | data volume allocated: source / target | boxes up / down | point "
            "| load (1/5/15 min) at its end |",
            "|---|---|---:|---|---:|---|---|---|---:|---|"]
    for r in rows:
        if "rounds" not in r:
            continue
        c = r["cutover"]
        load = "/".join(f"{x:.1f}" for x in r.get("load") or ())
        out.append(f"| {r['gib']} GiB | {r['pct']} % | {fmt(r.get('seed_and_rounds_s'))} s "
                   f"| {'/'.join(fmt(x) for x in r['round_seconds'])} | {(c.get('bytesWritten') or 0) / MiB:.1f} MiB "
                   f"| {(r.get('cold_bytes_read') or 0) / MiB:.0f} / {(r.get('cold_bytes_new') or 0) / MiB:.0f} MiB "
                   f"| {mib(r.get('allocated_source'))} / {mib(r.get('allocated_target'))} MiB "
                   f"| {fmt(r.get('boxes_up_s'))} / {fmt(r.get('boxes_down_s'))} s | {fmt(r.get('point_s'))} s "
                   f"| {load} |")
    return "\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--points", default="1:1,4:1,16:1,1:0.1,1:10",
                    help="GIB:PCT,...: volume size and the percentage of it changed between rounds")
    ap.add_argument("--fill", type=float, default=25.0, help="percent of the data volume filled with random bytes")
    ap.add_argument("--pause", type=float, default=2.0, help="seconds between the writer's passes")
    ap.add_argument("--cutover-bound", type=int, default=120)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--md")
    ap.add_argument("--json")
    a = ap.parse_args()
    ferry = os.environ.get("FERRY") or os.path.join(a.build, "control", "ferry")
    os.environ["FERRY"] = ferry
    xferkit.require(("nsenter",))
    points = [(int(g), float(p)) for g, p in (x.split(":") for x in a.points.split(","))]
    rows = []
    for gib, pct in points:
        free = shutil.disk_usage("/var/tmp").free
        # the data each point writes: two applications' fill, on both sides, and in the repository
        want = 6 * gib * GiB * a.fill / 100 + 4 * GiB
        if free < want:
            rows.append({"gib": gib, "pct": pct, "hot_bytes": gib * GiB * pct / 100,
                         "error": f"skipped: {free / GiB:.1f} GiB free in /var/tmp, about {want / GiB:.1f} GiB needed"})
            say(rows[-1]["error"])
            continue
        t = time.time()
        rows.append(point(ferry, gib, pct, a.fill, a.pause, a.cutover_bound))
        rows[-1]["point_s"] = round(time.time() - t, 1)
        rows[-1]["load"] = os.getloadavg()
        say(f"point {gib} GiB {pct} %: {rows[-1]['point_s']} s, load {rows[-1]['load']}")
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"rows": rows, "fill_pct": a.fill, "pause_s": a.pause}, f, indent=1)
        if a.md:  # after each point: a run stopped half way still has its table
            with open(a.md, "w") as f:
                f.write(table(rows) + "\n")
    print(table(rows))
    sys.exit(1 if all(r.get("error") for r in rows) else 0)


if __name__ == "__main__":
    main()
