#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/xfer-cbt.py [--gib 1,4,16] [--percent 1] [--build DIR]

A cluster Backup's incremental with changed blocks (changedBlocks: auto, the driver's CSI
SnapshotMetadata service) against reading everything (changedBlocks: hash), on sparse
volumes of each size of --gib (issue 17, "Measured").

A private box (tests/kbox/storage.yaml), ferry's manifests applied, `ferry controller` and
one `ferry agent` per node as processes (tests/xfer/xferkit.py), an encrypted file://
repository under /var/tmp. For each size S: a Block claim of the disk driver (Immediate),
--percent of it written with random bytes on its backing file (1 MiB ranges on chunk
boundaries, scattered), a first Backup (a full read; its source snapshot kept as the base);
then --percent more changed and a Backup with changedBlocks auto, --percent more changed and a
Backup with changedBlocks hash. Per Backup: the seconds from its creation to Completed (the
snapshot, its copy, the Block claim and the holder pod included), the seconds of the agent's
GetMetadataDelta calls (its transfer's status.changedBlocks.milliseconds) and of the backup job
(status.volumes[].milliseconds), the bytes read and whether changed blocks were used. The box's volumes are files on this machine (XFS on a loop device): a
full read of a sparse volume reads mostly holes. Prints one line per Backup, the load
average before and after, and a JSON summary. Timing only: no pass/fail. Needs root.
"""
import argparse
import json
import os
import random
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
sys.path.insert(0, os.path.join(ROOT, "tests", "xfer"))
from kboxtest import wait_until  # noqa: E402
import xferkit  # noqa: E402

SYS = "ferry-system"
API = "/apis/ferry.io/v1alpha1"
MiB, GiB = 1 << 20, 1 << 30
SEEN = {}  # VolumeTransfer name -> its last status (the Backup deletes its transfers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--gib", default="1,4,16")
    ap.add_argument("--percent", type=float, default=1.0)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    a = ap.parse_args()
    ferry = os.path.join(a.build, "control", "ferry")
    os.environ.setdefault("FERRY", ferry)
    xferkit.require(("nsenter",))
    env = xferkit.Env(ferry, os.path.join(ROOT, "tests", "kbox", "storage.yaml"), ["node-a1", "node-b1"],
                      "bench-cbt-password", "ferry-bench-cbt-")
    repo = "file://" + os.path.join(env.work, "repo")
    rows = []
    load0 = os.getloadavg()
    try:
        r = env.apply_manifests()
        assert r.returncode == 0, r.stderr
        wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/backups")[0] == 200, 20, 0.1)
        r = env.ferry("init", "--repo", repo)
        assert r.returncode == 0, r.stderr
        env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": "repo-password"}, "stringData": {"password": "bench-cbt-password"}})
        env.create(f"{API}/namespaces/{SYS}/repositories", {
            "apiVersion": "ferry.io/v1alpha1", "kind": "Repository", "metadata": {"name": "default"},
            "spec": {"url": repo, "passwordSecret": {"name": "repo-password"}}})
        env.api.post("/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "bench-disk-now"},
            "provisioner": "disk.csi.kbox.io", "volumeBindingMode": "Immediate"})
        for n in env.nodes:
            env.start_agent(n)
        env.start_controller("bench-cbt", "controller.log", verbose=False)
        assert wait_until(lambda: env.leader() == "bench-cbt", 20, 0.1)
        env.watch(f"{API}/namespaces/{SYS}/volumetransfers",
                  lambda o: SEEN.__setitem__(o["metadata"]["name"], o.get("status") or {}))
        for gib in [int(x) for x in a.gib.split(",")]:
            rows += one_size(env, gib, a.percent)
    finally:
        env.close("bench/xfer-cbt.py")
    load1 = os.getloadavg()
    print(f"# load average before {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}, after "
          f"{load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; {os.cpu_count()} CPUs")
    print(json.dumps({"rows": rows, "load_before": load0, "load_after": load1}))


def one_size(env, gib, percent):
    ns = f"bench-{gib}g"
    size = gib * GiB
    env.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    env.create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "vol"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": f"{gib}Gi"}},
                 "volumeMode": "Block", "storageClassName": "bench-disk-now"}})
    claim = wait_until(lambda: ((env.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/vol") or {}).get(
        "status") or {}).get("phase") == "Bound" and env.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/vol"),
        60, 0.2)
    path = env.volume_file(claim["spec"]["volumeName"])
    n = max(1, int(size * percent / 100) // MiB)
    rng = random.Random(gib)
    out = []

    def change():
        fd = os.open(path, os.O_WRONLY)
        try:
            for c in rng.sample(range(size // MiB), n):
                os.pwrite(fd, rng.randbytes(MiB), c * MiB)
            os.fsync(fd)
        finally:
            os.close(fd)

    for i, mode in enumerate(("auto", "auto", "hash")):
        change()
        name = f"{ns}-{i}-{mode}"
        t = time.time()
        env.create(f"{API}/namespaces/{SYS}/backups", {
            "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": name},
            "spec": {"includedNamespaces": [ns], "includedResources": ["persistentvolumeclaims"],
                     "changedBlocks": mode}})
        st = wait_until(lambda: ((env.get(f"{API}/namespaces/{SYS}/backups/{name}") or {}).get("status") or {}).get(
            "phase") in ("Completed", "PartiallyFailed", "Failed") and
            env.get(f"{API}/namespaces/{SYS}/backups/{name}")["status"], 600, 0.2) or {}
        wall = time.time() - t
        v = (st.get("volumes") or [{}])[0]
        vt = next((x for x in SEEN.values() if x.get("snapshotID") and x.get("snapshotID") == v.get("snapshotId")),
                  {})
        cb = vt.get("changedBlocks") or {}
        row = {"gib": gib, "backup": "full" if i == 0 else "incremental", "changedBlocks": mode,
               "changed_bytes": n * MiB, "phase": st.get("phase"), "seconds_backup": round(wall, 2),
               "seconds_job": (v.get("milliseconds") or 0) / 1000, "bytes_read": v.get("bytesRead"),
               "used": v.get("changedBlocksUsed"), "bytes_new": v.get("bytesNew"),
               "seconds_list": (cb.get("milliseconds") or 0) / 1000, "ranges": cb.get("ranges"),
               "warnings": st.get("warningMessages") or []}
        out.append(row)
        print(f"{gib:3d} GiB {row['backup']:11s} {mode:4s}: {row['phase']}, {wall:6.1f} s Backup, "
              f"{row['seconds_list']:5.2f} s list + {row['seconds_job']:6.2f} s job, read {(row['bytes_read'] or 0) / MiB:8.1f} MiB "
              f"(changed {n} MiB, used {row['used']}), new {(row['bytes_new'] or 0) / MiB:.1f} MiB", flush=True)
    return out


if __name__ == "__main__":
    main()
