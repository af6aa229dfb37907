#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_apply: a restore written over a claim that exists, in full or as a delta onto the snapshot
its volume holds (issue 19's sync: the target's volumes follow the source's backups).

`ferry controller` and `ferry agent` (both nodes) in a two-node box with storage
(tests/kbox/storage.yaml); a 512 MiB Block claim `src` of the disk driver, written on its
backing file, backed up by Backups (changed blocks: the second reads only what changed).
Checked:
- a Filesystem claim `dst` filled by the populator from the first backup's snapshot: its PV
  carries the stamp of that restore (ferry.io/stamp: clean, naming the snapshot, the target's
  identity), and its volume equals the source's (cmp);
- 8 MiB of `src` changed, a second Backup; a VolumeTransfer of direction restore, its
  spec.target `dst` with overwrite and spec.onto the first snapshot: Completed, it wrote the
  8 changed chunks and nothing else (bytesWritten), `dst`'s volume equals `src`'s again (cmp),
  its PV's stamp names the second snapshot now; nothing of the transfer is left (the Block
  PVC and PV written through, the holder pod);
- a backup transfer of `dst` with spec.verify (the second snapshot): Completed, status.verify 0
  chunks differ, the whole volume read, no snapshot stored; with one chunk of `dst` changed
  behind ferry's back: Failed, status.verify naming 1 chunk at its offset, the message saying so;
- the same delta again (onto the first snapshot, which `dst` no longer holds): Failed, the
  message naming the stamp, the volume untouched (cmp), the stamp unchanged;
- a full restore over it (no onto) of the first snapshot: Completed, the volume equals the
  first backup's image again, the stamp names the first snapshot;
- refused with the reason, nothing written: a claim a pod uses (the pod named), a claim that
  does not exist, a claim that is not bound.
CI budget: 2 minutes.
"""
import json
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
import xferkit  # noqa: E402
from kboxtest import check, eq, finish, wait_until  # noqa: E402

T0 = time.time()
REF = "issue 19: sync (a delta applied onto the target's volume)"
FERRY = xferkit.require(("nsenter", "cmp"))

PASSWORD = "apply-test-password"
NS, SYS = "apply", "ferry-system"
NODES = ["node-a1", "node-b1"]
MiB = 1 << 20
SIZE = 512 * MiB
CHUNK = MiB  # the repository's chunk size
API = "/apis/ferry.io/v1alpha1"
VT = f"{API}/namespaces/{SYS}/volumetransfers"
PVC = f"/api/v1/namespaces/{NS}/persistentvolumeclaims"

env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PASSWORD, "ferry-apply-")
WORK = env.work
REPO = "file://" + os.path.join(WORK, "repo")
get, create = env.get, env.create


sha = xferkit.sha256


def backup(name):
    """A Backup of the claim, waited for; its one volume's status."""
    create(f"{API}/namespaces/{SYS}/backups", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": name},
        "spec": {"includedNamespaces": [NS], "storageLocation": "default",
                 "includedResources": ["persistentvolumeclaims"],
                 "labelSelector": {"matchLabels": {"role": "source"}}}})
    st = wait_until(lambda: ((get(f"{API}/namespaces/{SYS}/backups/{name}") or {}).get("status") or {}).get(
        "phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") and
        get(f"{API}/namespaces/{SYS}/backups/{name}")["status"], 120, 0.2) or {}
    vol = (st.get("volumes") or [{}])[0]
    eq(f"{name}: the Backup completes with its one volume", (st.get("phase"), st.get("volumeSnapshotsCompleted")),
       ("Completed", 1), REF)
    return vol


def change(seed, n):
    """@n distinct chunks of src rewritten with random bytes, through its backing file."""
    rng = random.Random(seed)
    fd = os.open(SRC, os.O_WRONLY)
    try:
        for c in rng.sample(range(SIZE // CHUNK), n):
            os.pwrite(fd, rng.randbytes(CHUNK), c * CHUNK)
        os.fsync(fd)
    finally:
        os.close(fd)


def stamp_of(pv):
    """The ferry.io/stamp of PV @pv as a dict of its lines."""
    text = ((get(f"/api/v1/persistentvolumes/{pv}") or {}).get("metadata", {}).get("annotations") or {}).get(
        "ferry.io/stamp") or ""
    return dict(ln.split(" ", 1) for ln in text.splitlines() if " " in ln), text


FINAL = {}  # transfer name -> its status once Completed or Failed


def transfer(name, snap, claim, onto=None):
    """A restore transfer over @claim of @snap (a delta onto @onto), waited for until cleaned up."""
    spec = {"direction": "restore", "volume": VOLUME, "snapshotID": snap,
            "repository": {"name": "default", "url": REPO, "passwordSecretRef": {"name": "repo-password"}},
            "target": {"namespace": NS, "persistentVolumeClaim": claim, "overwrite": True}}
    if onto:
        spec["onto"] = onto
    create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": name},
                "spec": spec})
    t = time.time()
    st = wait_until(lambda: (lambda s: s if s.get("phase") in ("Completed", "Failed") and s.get("cleanedUp")
                             else None)((get(f"{VT}/{name}") or {}).get("status") or {}), 90, 0.1) or \
        (get(f"{VT}/{name}") or {}).get("status") or {}
    FINAL[name] = st
    print(f"note: {name}: {st.get('phase')} in {time.time() - t:.1f} s, wrote {st.get('bytesWritten')}, "
          f"message {st.get('message')!r}", flush=True)
    return st, (get(f"{VT}/{name}") or {}).get("metadata", {}).get("uid", "")


def verify(name, snap, claim):
    """A backup transfer of @claim with spec.verify @snap, waited for until cleaned up."""
    create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": name},
                "spec": {"direction": "backup", "volume": VOLUME, "verify": snap,
                         "repository": {"name": "default", "url": REPO,
                                        "passwordSecretRef": {"name": "repo-password"}},
                         "source": {"namespace": NS, "persistentVolumeClaim": claim}}})
    t = time.time()
    st = wait_until(lambda: (lambda s: s if s.get("phase") in ("Completed", "Failed") and s.get("cleanedUp")
                             else None)((get(f"{VT}/{name}") or {}).get("status") or {}), 90, 0.1) or \
        (get(f"{VT}/{name}") or {}).get("status") or {}
    print(f"note: {name}: {st.get('phase')} in {time.time() - t:.1f} s, read {st.get('bytesDone')}, "
          f"verify {st.get('verify')}, message {st.get('message')!r}", flush=True)
    return st, (get(f"{VT}/{name}") or {}).get("metadata", {}).get("uid", "")


def nothing_left(label, uid):
    name = f"ferry-{uid}"
    left = [p for p, code in ((p, env.api.get(p)[0]) for p in (
        f"/api/v1/persistentvolumes/{name}", f"/api/v1/namespaces/{SYS}/persistentvolumeclaims/{name}",
        f"/api/v1/namespaces/{SYS}/pods/{name}")) if code != 404]
    eq(f"{label}: nothing of the transfer is left (its Block PV and PVC, the holder pod)", left, [], REF)


try:
    # ------------------------------------------------------------ ferry, the repository, the source
    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests", (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    r = env.kubectl("apply", "-f", os.path.join(xferkit.DEPLOY, "populator-snapshots.yaml"))
    eq("kubectl apply of the Snapshot kind's VolumePopulator", (r.returncode, r.stderr.strip()), (0, ""), REF)
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/backups")[0] == 200, 20, 0.1)
    r = env.ferry("init", "--repo", REPO)
    eq("ferry init of the file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""), REF)
    create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": PASSWORD}})
    create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                     "metadata": {"name": "default"},
                                                     "spec": {"url": REPO, "passwordSecret": {"name": "repo-password"}}})
    create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    env.api.post("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "apply-disk-now"},
        "provisioner": "disk.csi.kbox.io", "volumeBindingMode": "Immediate"})
    create(PVC, {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                 "metadata": {"name": "src", "labels": {"role": "source"}},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}},
                          "volumeMode": "Block", "storageClassName": "apply-disk-now"}})
    claim = wait_until(lambda: ((get(f"{PVC}/src") or {}).get("status") or {}).get("phase") == "Bound" and
                       get(f"{PVC}/src"), 30, 0.1)
    check("a 512 MiB Block claim of the disk driver binds", claim, None, None, REF)
    SRC = env.volume_file(claim["spec"]["volumeName"])
    change(1, 32)
    cluster_id = get("/api/v1/namespaces/kube-system")["metadata"]["uid"]
    VOLUME = f"k8s/{cluster_id}/{NS}/src"
    for n in NODES:
        env.start_agent(n)
    env.start_controller("apply-test", "controller.log")
    check("ferry controller leads", wait_until(lambda: env.leader() == "apply-test", 20, 0.1), None, None, REF)

    # ------------------------------------------------------------ the seed: dst filled from the first backup
    v1 = backup("b1")
    s1 = v1.get("snapshotId") or ""
    sum1 = sha(SRC)
    create(f"{API}/namespaces/{NS}/snapshots", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Snapshot", "metadata": {"name": "s1"},
        "spec": {"repository": "default", "snapshotID": s1, "volume": VOLUME, "url": REPO,
                 "passwordSecretRef": {"name": "repo-password"}}})
    create(PVC, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "dst"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}},
                          "storageClassName": "apply-disk-now",
                          "dataSourceRef": {"apiGroup": "ferry.io", "kind": "Snapshot", "name": "s1"}}})
    dst = wait_until(lambda: ((get(f"{PVC}/dst") or {}).get("status") or {}).get("phase") == "Bound" and
                     get(f"{PVC}/dst"), 90, 0.2) or {}
    check("the populator fills dst from the first snapshot and lets it bind", dst, get(f"{PVC}/dst"), "Bound", REF)
    DPV = (dst.get("spec") or {}).get("volumeName") or ""
    DST = env.volume_file(DPV) if DPV else ""
    st, text = stamp_of(DPV)
    eq("dst's PV carries the stamp of the populator's restore: clean, the first snapshot, the target's identity",
       (st.get("ferry-stamp"), st.get("state"), st.get("snapshot"), (st.get("target") or "").startswith("blk ")),
       ("1", "clean", s1, True), "datapath/FORMAT.md: Target stamps")
    eq("dst's volume equals src's (the first backup)", DST and sha(DST), sum1, REF)

    # ------------------------------------------------------------ the sync: 8 MiB changed, the delta applied
    change(2, 8)
    v2 = backup("b2")
    s2 = v2.get("snapshotId") or ""
    sum2 = sha(SRC)
    check("b2 read only the changed blocks", v2.get("changedBlocksUsed") is True, v2, None, REF)
    st1, uid1 = transfer("delta-1", s2, "dst", onto=s1)
    eq("the delta onto the first snapshot completes, writing the 8 changed chunks and nothing else",
       (st1.get("phase"), st1.get("bytesWritten")), ("Completed", 8 * CHUNK), REF)
    eq("dst's volume equals src's after the second backup", sha(DST), sum2, REF)
    st, _ = stamp_of(DPV)
    eq("dst's PV's stamp names the second snapshot, clean", (st.get("state"), st.get("snapshot")),
       ("clean", s2), REF)
    nothing_left("delta-1", uid1)
    eq("dst is still bound to its own PV", (get(f"{PVC}/dst") or {}).get("spec", {}).get("volumeName"), DPV, REF)

    # ------------------------------------------------------------ verify: dst compared whole with the snapshot
    nsnaps = len(json.loads(env.ferry("snapshots", "--repo", REPO, "--json").stdout or "[]"))
    sv, uidv = verify("verify-1", s2, "dst")
    eq("a backup transfer with spec.verify of dst against the second snapshot: Completed, 0 chunks differ, the "
       "whole volume read", (sv.get("phase"), sv.get("verify"), sv.get("bytesDone")),
       ("Completed", {"snapshotID": s2, "mismatches": 0}, SIZE), REF)
    eq("... nothing stored: no snapshot made in the repository", (
        len(json.loads(env.ferry("snapshots", "--repo", REPO, "--json").stdout or "[]")), sv.get("snapshotID")),
       (nsnaps, None), REF)
    nothing_left("verify-1", uidv)
    # one chunk of dst changed behind ferry's back, then put back
    at = 100 * CHUNK
    fd = os.open(DST, os.O_RDWR)
    try:
        was = os.pread(fd, CHUNK, at)
        os.pwrite(fd, bytes(b ^ 0xFF for b in was[:4096]) + was[4096:], at)
        os.fsync(fd)
        sv, _ = verify("verify-2", s2, "dst")
    finally:
        os.pwrite(fd, was, at)
        os.fsync(fd)
        os.close(fd)
    eq("with one chunk of dst changed: Failed, status.verify naming 1 chunk at its offset",
       (sv.get("phase"), sv.get("verify")), ("Failed", {"snapshotID": s2, "mismatches": 1, "firstMismatch": at}),
       REF)
    check("... and the message says the volume differs, and where", f"the first at byte {at}" in
          (sv.get("message") or "") and "differs from snapshot" in (sv.get("message") or ""), sv.get("message"),
          None, REF)
    eq("dst's volume is as it was (sha256)", sha(DST), sum2, REF)

    # ------------------------------------------------------------ the same delta again: refused by the stamp
    st2, uid2 = transfer("delta-again", s2, "dst", onto=s1)
    check("a delta onto a snapshot dst no longer holds fails, saying why (the stamp)",
          st2.get("phase") == "Failed" and "stamp" in (st2.get("message") or ""), st2, None, REF)
    eq("... and writes nothing: dst unchanged, its stamp unchanged", (sha(DST), stamp_of(DPV)[0].get("snapshot")),
       (sum2, s2), REF)
    nothing_left("delta-again", uid2)

    # ------------------------------------------------------------ a full restore over it
    st3, uid3 = transfer("full-1", s1, "dst")
    eq("a full restore (no onto) of the first snapshot over dst completes", st3.get("phase"), "Completed", REF)
    eq("dst equals the first backup's volume again, its stamp names the first snapshot",
       (sha(DST), stamp_of(DPV)[0].get("snapshot")), (sum1, s1), REF)

    # ------------------------------------------------------------ refusals
    create(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "user"},
        # never placed (a node that does not exist): it uses the claim without mounting it (a
        # mount of raw bytes as a filesystem would format it)
        "spec": {"terminationGracePeriodSeconds": 0, "nodeSelector": {"kubernetes.io/hostname": "nowhere"},
                 "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                 "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "dst"}}]}})
    st4, _ = transfer("in-use", s2, "dst", onto=s1)
    check("a claim a pod uses is refused, the pod named", st4.get("phase") == "Failed" and
          "in use by pod user" in (st4.get("message") or ""), st4, None, REF)
    env.api.delete(f"/api/v1/namespaces/{NS}/pods/user")
    st5, _ = transfer("missing", s2, "nope", onto=s1)
    check("a claim that does not exist is refused, named", st5.get("phase") == "Failed" and
          f"{NS}/nope not found" in (st5.get("message") or ""), st5, None, REF)
    create(PVC, {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "unbound"},
                 "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Mi"}},
                          "storageClassName": "no-such-class"}})
    st6, _ = transfer("unbound", s2, "unbound", onto=s1)
    check("a claim that is not bound is refused, saying so", st6.get("phase") == "Failed" and
          "is not bound" in (st6.get("message") or ""), st6, None, REF)
    wait_until(lambda: env.api.get(f"/api/v1/namespaces/{NS}/pods/user")[0] == 404, 30, 0.2)
    eq("after the refusals dst still holds the first snapshot", (sha(DST), stamp_of(DPV)[0].get("snapshot")),
       (sum1, s1), REF)
    print("note: " + json.dumps({k: (v.get("phase"), v.get("bytesWritten")) for k, v in FINAL.items()}))
finally:
    env.close("control/agent")
print(f"note: {time.time() - T0:.1f} s in all")
finish()
