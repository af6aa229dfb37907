#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/xfer-node.py [--volumes 1,2,4] [--mib N] [--runs R] [--build DIR]

Volumes in flight on one node, and MB/s per node against one volume alone (issue 15,
"Measured"); and seconds from a Backup's creation to the first byte moved.

A private box (tests/kbox/three-nodes-storage.yaml), ferry's manifests applied, `ferry
controller` and one `ferry agent` per node (--max-transfers 4) as processes
(tests/xfer/xferkit.py), an encrypted file:// repository under /var/tmp. For each count V
of --volumes, V claims of kbox-disk in a namespace of their own, each filled by a pod pinned
to node-a1 with N MiB of random bytes (so every transfer runs on node-a1's agent, and each
stores N MiB: no dedup between them); then a Backup of that namespace:
  - seconds from the Backup's creation to the first VolumeTransfer reporting bytes done
    (the path: the Backup's collection, a VolumeSnapshot and its copy, the Block claim,
    the holder pod, the agent's start), from a watch of the transfers;
  - each transfer's own seconds (its bytes done over the rate the agent reports: the
    status times are whole seconds), and per node the volume bytes read and the new bytes
    stored per second over the longest of them (the transfers start together);
  - the most transfers Running at once on the node.
Prints a line per run and, per V, the medians and the ratio of MB/s per node to V=1's.
Timing only: no pass/fail. Needs root (the box's nodes and loop devices).
"""
import argparse
import json
import os
import statistics
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
sys.path.insert(0, os.path.join(ROOT, "tests", "xfer"))
from kboxtest import wait_until  # noqa: E402
import xferkit  # noqa: E402

SYS = "ferry-system"
API = "/apis/ferry.io/v1alpha1"
VT = f"{API}/namespaces/{SYS}/volumetransfers"
NODES = ["node-a1", "node-a2", "node-b1"]


def run(env, v, mib, i):
    ns = f"bench-{v}-{i}"
    get, create = env.get, env.create
    create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for k in range(v):
        create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": f"d{k}"},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
                     "resources": {"requests": {"storage": f"{max(512, 2 * mib)}Mi"}}}})
        create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"w{k}"},
            "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                     "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                         "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In",
                                                                 "values": ["node-a1"]}]}]}}},
                     "containers": [{"name": "c", "image": "busybox", "command": [
                         "sh", "-ec", f"head -c {mib << 20} /dev/urandom > /data/blob; sync"],
                         "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": f"d{k}"}}]}})
    done = wait_until(lambda: all(((get(f"/api/v1/namespaces/{ns}/pods/w{k}") or {}).get("status") or {}).get(
        "phase") == "Succeeded" for k in range(v)), 300, 0.5)
    if not done:
        raise SystemExit(f"bench: the writers of {ns} did not finish")
    for k in range(v):
        env.api.delete(f"/api/v1/namespaces/{ns}/pods/w{k}", {"gracePeriodSeconds": 0})
    wait_until(lambda: not (get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items"), 60, 0.2)
    seen, stop = [], threading.Event()
    # every status of every VolumeTransfer, with the time this process saw it
    th = env.watch(VT, lambda o: seen.append((time.time(), o.get("metadata", {}).get("name"),
                                              o.get("status") or {})), stop)
    time.sleep(0.5)
    t0 = time.time()
    create(f"{API}/namespaces/{SYS}/backups", {"apiVersion": "ferry.io/v1alpha1", "kind": "Backup",
                                               "metadata": {"name": ns},
                                               "spec": {"includedNamespaces": [ns]}})
    st = wait_until(lambda: ((get(f"{API}/namespaces/{SYS}/backups/{ns}") or {}).get("status") or {}).get(
        "phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") and
        get(f"{API}/namespaces/{SYS}/backups/{ns}")["status"], int(os.environ.get("BENCH_WAIT", "300")), 0.2) or {}
    t_end = time.time()
    stop.set()
    th.join(5)
    if st.get("phase") != "Completed":
        log = open(os.path.join(env.work, "controller.log"), errors="replace").read()[-2000:]
        for vt in (get(VT) or {}).get("items") or []:
            log += f"\n{vt['metadata']['name']}: {json.dumps(vt.get('status'))[:600]}"
        for n in NODES:
            log += f"\nagent {n}: " + open(os.path.join(env.work, f"agent-{n}.log"), errors="replace").read()[-600:]
        for p in (get(f"/api/v1/namespaces/{SYS}/pods") or {}).get("items") or []:
            log += f"\npod {p['metadata']['name']}: {json.dumps(p.get('status'))[:400]}"
        raise SystemExit(f"bench: Backup {ns}: {st.get('phase')}: {json.dumps(st)[:800]}\n{log}")
    first = min((t for t, _, s in seen if s.get("bytesDone")), default=None)
    last = {}
    for t, name, s in seen:
        if name and name.startswith("bk-"):
            last[name] = s
    running, most = set(), 0
    for t, name, s in seen:
        if s.get("phase") == "Running":
            running.add(name)
        elif name in running:
            running.discard(name)
        most = max(most, len(running))
    # each job's own seconds, from the rate the agent reports (bytes done / its seconds): the
    # status times are whole seconds and a status comes a second at most, too coarse here
    secs = [s["bytesDone"] / (s["mbPerSecond"] * 1e6) for s in last.values() if s.get("mbPerSecond")]
    new = sum(s.get("bytesNew", 0) for s in last.values())
    vol = sum(s.get("bytesDone", 0) for s in last.values())
    span = max(secs) if secs else float("nan")
    # and as the watch saw it: the first Running to the last Completed (a second's grain each end)
    runs = [t for t, n, s in seen if n in last and s.get("phase") == "Running"]
    dones = [min(t for t, n, s in seen if n == name and s.get("phase") == "Completed") for name in last
             if any(n == name and s.get("phase") == "Completed" for t, n, s in seen)]
    watch_span = (max(dones) - min(runs)) if runs and dones else None
    nodes = {s.get("node") for s in last.values()}
    out = {"volumes": v, "first_byte_s": round(first - t0, 2) if first else None,
           "backup_s": round(t_end - t0, 2), "job_s": [round(x, 2) for x in secs],
           "node_mb_s": round(vol / 1e6 / span, 1), "node_new_mb_s": round(new / 1e6 / span, 1),
           "new_mb": round(new / 1e6, 1), "watch_span_s": round(watch_span, 2) if watch_span else None,
           "most_in_flight": most, "nodes": sorted(n for n in nodes if n)}
    print(json.dumps(out), flush=True)
    env.api.delete(f"{API}/namespaces/{SYS}/backups/{ns}")
    env.api.delete(f"/api/v1/namespaces/{ns}")
    wait_until(lambda: env.get(f"/api/v1/namespaces/{ns}") is None, 120, 0.5)
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--volumes", default="1,2,4")
    ap.add_argument("--mib", type=int, default=192)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("bench: run as root (the box's nodes and loop devices)")
    ferry = os.path.join(a.build, "control", "ferry")
    env = xferkit.Env(ferry, os.path.join(ROOT, "tests", "kbox", "three-nodes-storage.yaml"), NODES,
                      "bench-password", "ferry-bench-xfer-")
    try:
        r = env.apply_manifests()
        if r.returncode:
            raise SystemExit(f"bench: kubectl apply: {r.stderr[-400:]}")
        wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/repositories")[0] == 200, 20, 0.1)
        repo = "file://" + os.path.join(env.work, "repo")
        if env.ferry("init", "--repo", repo).returncode:
            raise SystemExit("bench: ferry init failed")
        env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "repo-password"}, "stringData": {"password": "bench-password"}})
        env.create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                             "metadata": {"name": "default"},
                                                             "spec": {"url": repo,
                                                                      "passwordSecret": {"name": "repo-password"}}})
        for n in NODES:
            env.start_agent(n)
        env.start_controller("bench", "controller.log")
        if not wait_until(lambda: env.leader() == "bench", 20, 0.1):
            raise SystemExit("bench: the controller does not lead: " +
                             open(os.path.join(env.work, "controller.log")).read()[-1500:])
        res = {}
        for i in range(a.runs):
            for v in [int(x) for x in a.volumes.split(",")]:
                res.setdefault(v, []).append(run(env, v, a.mib, i))
        base = None
        for v, rs in sorted(res.items()):
            mbps = statistics.median(r["node_mb_s"] for r in rs)
            newps = statistics.median(r["node_new_mb_s"] for r in rs)
            fb = statistics.median(r["first_byte_s"] for r in rs if r["first_byte_s"] is not None)
            base = base or mbps
            print(f"volumes {v}: median {mbps:.0f} MB/s of volume read on node-a1 ({mbps / base:.2f}x one volume "
                  f"alone), {newps:.0f} MB/s of new bytes stored; at most {max(r['most_in_flight'] for r in rs)} "
                  f"seen Running at once; first byte {fb:.1f} s after the Backup's creation", flush=True)
    finally:
        env.close("bench")


if __name__ == "__main__":
    main()
