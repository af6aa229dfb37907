#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_cbt: a cluster Backup reads only the changed blocks of a volume (issue 17, changedBlocks).

`ferry controller` and `ferry agent` (both nodes, the agents given the box's SnapshotMetadata
service at 127.0.0.1: they run in the host's network, which cannot reach its ClusterIP) in a
two-node box with storage (tests/kbox/storage.yaml); a 4 GiB Block claim of the disk driver
(FIXED_LENGTH 4 KiB tuples), written on its backing file. Checks:
- the first Backup (changedBlocks absent: auto) reads the whole volume, without a warning (a
  first backup has nothing to list against), and keeps its source VolumeSnapshot as the claim's
  base: labelled ferry.io/cbt-base, annotated with the repository snapshot it stands for and
  its content's handle;
- 40 MiB of the volume changed (1 %, in 40 scattered 1 MiB ranges on chunk boundaries), the
  second Backup: its transfer listed exactly those bytes, the Backup's volume says changed
  blocks were used and bytesRead within 10 % of the changed bytes (whole chunks: the backup
  reads a changed chunk whole); `ferry restore` of its snapshot equals the volume byte for
  byte (cmp); the new base kept, the first one deleted: one VolumeSnapshot of ferry's per claim;
- the agents killed once a backup's manifest is in, before its status (ferry-test, the crash
  point backup-committed): started again, the transfer's result is that snapshot (labelled with
  its uid), its changed blocks used as that run read them, nothing read again, no second snapshot;
- the base deleted by hand: the next Backup reads everything, Completed with a warning that
  says no base snapshot was kept, and keeps a new base;
- changedBlocks: hash reads everything, without a warning, and leaves no base (the last one
  deleted: it no longer stands for the volume's newest snapshot);
- the agents used the rules of xfer-agent-rbac.yaml for it (a token of their own service
  account, get of the VolumeSnapshot, its content and the SnapshotMetadataService), never refused.
CI budget: 3 minutes.
"""
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
import xferkit  # noqa: E402
from kboxtest import check, eq, finish, wait_until  # noqa: E402

T0 = time.time()
REF = "issue 17"
FERRY = xferkit.require(("nsenter", "cmp"))
try:
    import grpc  # noqa: F401  (the box's SnapshotMetadata service needs it)
except ImportError:
    print("FAIL: python3-grpcio is missing: run tests/install-deps.sh")
    sys.exit(1)

PASSWORD = "cbt-test-password"
NS, SYS = "cbt", "ferry-system"
NODES = ["node-a1", "node-b1"]
MiB, GiB = 1 << 20, 1 << 30
SIZE = 4 * GiB
CHUNK = MiB  # the repository's chunk size (datapath DP_CHUNK_SIZE_DEFAULT): a changed chunk is read whole
API = "/apis/ferry.io/v1alpha1"
VS = f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"

env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PASSWORD, "ferry-cbt-")
WORK = env.work
REPO = "file://" + os.path.join(WORK, "repo")
get, create = env.get, env.create


def backup(name, spec=None, create_it=True):
    """A Backup of the namespace (made unless @create_it is false), waited for; its status."""
    if create_it:
        create(f"{API}/namespaces/{SYS}/backups", {
            "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": name},
            "spec": dict({"includedNamespaces": [NS], "storageLocation": "default",
                          # the claim alone (a kind of the box the controller may not list is a warning)
                          "includedResources": ["persistentvolumeclaims"]}, **(spec or {}))})
    t = time.time()
    st = wait_until(lambda: ((get(f"{API}/namespaces/{SYS}/backups/{name}") or {}).get("status") or {}).get(
        "phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") and
        get(f"{API}/namespaces/{SYS}/backups/{name}")["status"], 120, 0.2) or \
        ((get(f"{API}/namespaces/{SYS}/backups/{name}") or {}).get("status") or {})
    vol = (st.get("volumes") or [{}])[0]
    print(f"note: {name}: {st.get('phase')} in {time.time() - t:.1f} s; volume {json.dumps(vol)}; warnings "
          f"{st.get('warningMessages')}", flush=True)
    eq(f"{name}: the Backup completes with its one volume", (st.get("phase"), st.get("errors"),
                                                            st.get("volumeSnapshotsCompleted")),
       ("Completed", 0, 1), REF)
    return st, vol


def bases():
    """The claim's base snapshots: name -> annotations."""
    return {v["metadata"]["name"]: v["metadata"].get("annotations") or {}
            for v in (get(f"{VS}?labelSelector=ferry.io/cbt-base") or {}).get("items") or []}


def ferrys():
    """Every VolumeSnapshot of ferry's in the claim's namespace."""
    return sorted(v["metadata"]["name"] for v in (get(f"{VS}?labelSelector=app.kubernetes.io/managed-by%3Dferry")
                                                  or {}).get("items") or [])


SEEN = {}  # VolumeTransfer name -> its last status (from a watch: the Backup deletes them)


def watch_transfers():
    def one(o):
        if (o.get("status") or {}).get("phase"):
            SEEN[o["metadata"]["name"]] = o["status"]
    env.watch(f"{API}/namespaces/{SYS}/volumetransfers", one)


def change(seed, n):
    """@n distinct 1 MiB chunks of the volume rewritten with random bytes, through its backing file."""
    rng = random.Random(seed)
    fd = os.open(FILE, os.O_WRONLY)
    try:
        for c in rng.sample(range(SIZE // CHUNK), n):
            os.pwrite(fd, rng.randbytes(CHUNK), c * CHUNK)
        os.fsync(fd)
    finally:
        os.close(fd)
    return n * CHUNK


try:
    # ------------------------------------------------------------ ferry, the repository, the claim
    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests (the kustomization but the Deployment and the DaemonSet)",
       (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/backups")[0] == 200, 20, 0.1)
    r = env.ferry("init", "--repo", REPO)
    eq("ferry init of the file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""), REF)
    create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": PASSWORD}})
    create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                     "metadata": {"name": "default"},
                                                     "spec": {"url": REPO, "passwordSecret": {"name": "repo-password"}}})
    create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    code, _, _ = env.api.post("/apis/storage.k8s.io/v1/storageclasses", {
        "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "cbt-disk-now"},
        "provisioner": "disk.csi.kbox.io", "volumeBindingMode": "Immediate"})
    create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "vol"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "4Gi"}},
                 "volumeMode": "Block", "storageClassName": "cbt-disk-now"}})
    claim = wait_until(lambda: ((get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/vol") or {}).get(
        "status") or {}).get("phase") == "Bound" and get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/vol"),
        30, 0.1)
    check("a 4 GiB Block claim of the disk driver binds", claim, None, None, REF)
    FILE = env.volume_file(claim["spec"]["volumeName"])
    eq("its backing file is a sparse 4 GiB file", (os.path.getsize(FILE), os.stat(FILE).st_blocks * 512 < 64 * MiB),
       (SIZE, True), "kbox storage")
    change(1, 64)  # something to back up first: 64 MiB of data in a sparse volume
    for n in NODES:
        env.start_agent(n)  # (given the service at 127.0.0.1:PORT by xferkit)
    env.start_controller("cbt-test", "controller.log")
    check("ferry controller leads", wait_until(lambda: env.leader() == "cbt-test", 20, 0.1), None, None, REF)
    watch_transfers()
    audit_mark = len(env.box.audit())

    # ------------------------------------------------------------ the first backup: everything, a base kept
    st1, v1 = backup("cbt-1")
    eq("cbt-1 read the whole volume (its first backup), without changed blocks and without a warning",
       (v1.get("bytesRead"), v1.get("changedBlocksUsed"), st1.get("warnings")), (SIZE, False, 0), REF)
    b1 = bases()
    eq("cbt-1's source VolumeSnapshot is kept as the claim's base, standing for its snapshot",
       [a.get("ferry.io/cbt-snapshot-id") for a in b1.values()], [v1.get("snapshotId")], REF)
    check("... annotated with its content's snapshot handle, the repository volume and the repository",
          all(a.get("ferry.io/cbt-snapshot-handle") and a.get("ferry.io/cbt-volume", "").endswith(f"/{NS}/vol") and
              a.get("ferry.io/cbt-repository") == REPO for a in b1.values()), b1, None, REF)

    # ------------------------------------------------------------ 1 % changed: the changed blocks only
    changed = change(2, 40)
    t = time.time()
    st2, v2 = backup("cbt-2")
    took2 = time.time() - t
    vt2 = next((s for n, s in SEEN.items() if s.get("snapshotID") == v2.get("snapshotId")), {})
    print(f"note: cbt-2's transfer: {json.dumps(vt2.get('changedBlocks'))}, read {vt2.get('bytesRead')}",
          flush=True)
    eq("cbt-2's transfer listed exactly the changed bytes (GetMetadataDelta from the base)",
       ((vt2.get("changedBlocks") or {}).get("used"), (vt2.get("changedBlocks") or {}).get("bytesListed")),
       (True, changed), REF)
    check(f"cbt-2 used changed blocks and read within 10 % of the {changed >> 20} MiB changed (of 4 GiB)",
          v2.get("changedBlocksUsed") is True and changed <= (v2.get("bytesRead") or 0) <= changed * 1.1,
          (v2.get("changedBlocksUsed"), v2.get("bytesRead")), f"{changed}..{int(changed * 1.1)}", REF)
    eq("cbt-2 has no warning", (st2.get("warnings"), st2.get("warningMessages")), (0, None), REF)
    eq("cbt-2's parent is cbt-1's snapshot", vt2.get("parentID"), v1.get("snapshotId"), REF)
    out = os.path.join(WORK, "cbt-2.img")
    r = env.ferry("restore", "--repo", REPO, "--progress", "none", v2.get("snapshotId") or "latest", out,
                  timeout=300)
    eq("ferry restore of cbt-2's snapshot", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo restore")
    same = r.returncode == 0 and subprocess.run(["cmp", "-s", out, FILE]).returncode == 0
    check("the restore of the incremental equals the volume byte for byte", same, None, "cmp", REF)
    if os.path.exists(out):
        os.unlink(out)
    b2 = wait_until(lambda: (lambda b: len(b) == 1 and b)(bases()), 10, 0.2) or bases()
    eq("cbt-2's snapshot is the claim's one base now, cbt-1's deleted",
       ([a.get("ferry.io/cbt-snapshot-id") for a in b2.values()], sorted(set(b1) & set(b2))),
       ([v2.get("snapshotId")], []), REF)
    eq("one VolumeSnapshot of ferry's is left in the claim's namespace: the base", ferrys(), sorted(b2), REF)

    # ------------------------------------------------------------ the agent killed between snapshot and status
    # the agents run as ferry-test, which SIGKILLs itself once a backup's manifest is in (the crash point
    # backup-committed): the transfer stays Running with its snapshot stored, its status not written; the
    # agents started again as ferry take that snapshot as the transfer's result, nothing read again (a run
    # from the start would find its own snapshot the volume's newest, not the base's: the whole volume read)
    changed = change(5, 8)
    hooked = os.environ.get("FERRY_TEST") or ""
    check("FERRY_TEST names the test build of ferry (meson test sets it)", os.access(hooked, os.X_OK), hooked,
          None, REF)
    for n in NODES:
        env.kill_agent(n)
        env.start_agent(n, binary=hooked, env={"FERRY_TEST_CRASH_AT": "backup-committed"})
    snaps_before = {s["id"] for s in json.loads(env.ferry("snapshots", "--repo", REPO, "--json").stdout or "[]")}
    create(f"{API}/namespaces/{SYS}/backups", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": "cbt-k"},
        "spec": {"includedNamespaces": [NS], "storageLocation": "default",
                 "includedResources": ["persistentvolumeclaims"]}})
    died = wait_until(lambda: [n for n in NODES if env.agents[n].poll() is not None], 120, 0.1)
    check("an agent died at the crash point, its backup's manifest in", died, None, "an agent gone", REF)
    vtk = next((o for o in (get(f"{API}/namespaces/{SYS}/volumetransfers") or {}).get("items") or []
                if (o["metadata"].get("annotations") or {}).get("ferry.io/backup") == f"{SYS}/cbt-k"), None) or {}
    new = [s for s in json.loads(env.ferry("snapshots", "--repo", REPO, "--json").stdout or "[]")
           if s["id"] not in snaps_before]
    eq("... its transfer still Running, one new snapshot in the repository, labelled with its uid",
       ((vtk.get("status") or {}).get("phase"), [(s.get("labels") or {}).get("ferry.io/volumetransfer-uid")
                                                 for s in new]),
       ("Running", [vtk.get("metadata", {}).get("uid")]), REF)
    marks = {n: os.path.getsize(os.path.join(WORK, f"agent-{n}.log")) for n in NODES}
    for n in NODES:
        if env.agents[n].poll() is None:
            env.kill_agent(n)
        env.start_agent(n)
    stk, vk = backup("cbt-k", create_it=False)
    logs = "".join(open(os.path.join(WORK, f"agent-{n}.log")).read()[marks[n]:] for n in NODES)
    again = [s["id"] for s in json.loads(env.ferry("snapshots", "--repo", REPO, "--json").stdout or "[]")
             if s["id"] not in snaps_before]
    eq("the agent started again: the transfer's result is the killed run's snapshot, no second one written",
       (vk.get("snapshotId"), again), (new[0]["id"] if new else "(none)", [new[0]["id"]] if new else []), REF)
    check(f"... its changed blocks used as that run read them ({changed >> 20} MiB changed), nothing read again",
          vk.get("changedBlocksUsed") is True and changed <= (vk.get("bytesRead") or 0) <= changed * 1.1 and
          "nothing read again" in logs and "backup of" not in logs,
          (vk.get("changedBlocksUsed"), vk.get("bytesRead"), logs[-800:]), "used, the changed bytes", REF)
    bk = wait_until(lambda: (lambda b: len(b) == 1 and b)(bases()), 10, 0.2) or bases()
    eq("... and its source VolumeSnapshot is the claim's base, standing for that snapshot",
       [a.get("ferry.io/cbt-snapshot-id") for a in bk.values()], [vk.get("snapshotId")], REF)

    # ------------------------------------------------------------ the base deleted by hand: a full read, a warning
    for name in bases():
        env.api.delete(f"{VS}/{name}")
    check("the base deleted by hand is gone", wait_until(lambda: not bases(), 20, 0.2), bases(), None, REF)
    change(3, 4)
    st3, v3 = backup("cbt-3")
    eq("cbt-3 (no base) read the whole volume, without changed blocks",
       (v3.get("bytesRead"), v3.get("changedBlocksUsed")), (SIZE, False), REF)
    check("... and the Backup says why in a warning",
          any("vol" in m and "no base snapshot" in m for m in st3.get("warningMessages") or []),
          st3.get("warningMessages"), "a warning naming the volume and the missing base", REF)
    b3 = bases()
    eq("cbt-3 kept a base again", [a.get("ferry.io/cbt-snapshot-id") for a in b3.values()], [v3.get("snapshotId")],
       REF)

    # ------------------------------------------------------------ changedBlocks: hash
    st4, v4 = backup("cbt-4", {"changedBlocks": "hash"})
    eq("changedBlocks: hash reads the whole volume, without a warning",
       (v4.get("bytesRead"), v4.get("changedBlocksUsed"), st4.get("warnings")), (SIZE, False, 0), REF)
    left = wait_until(lambda: not bases() and not ferrys(), 10, 0.2)
    eq("... and leaves no base: the last one deleted (it no longer stands for the newest snapshot), none kept",
       [] if left else ferrys(), [], REF)

    # ------------------------------------------------------------ what the agents asked
    aud = env.box.audit()[audit_mark:]
    agent = {(a.get("verb"), a.get("resource"), a.get("subresource") or "", a.get("decision")) for a in aud
             if a.get("user") == "system:serviceaccount:ferry-system:ferry-agent"}
    need = {("create", "serviceaccounts", "token", "allow"), ("get", "volumesnapshots", "", "allow"),
            ("get", "volumesnapshotcontents", "", "allow"), ("get", "snapshotmetadataservices", "", "allow")}
    eq("the agents asked for a token of their own and read the snapshot, its content and the service "
       "(xfer-agent-rbac.yaml), nothing refused",
       (sorted(need - agent), sorted(a for a in agent if a[3] != "allow")), ([], []), REF)
finally:
    env.close("control/agent")
print(f"note: {time.time() - T0:.1f} s in all")
finish()
