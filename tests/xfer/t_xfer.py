#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_xfer: a VolumeTransfer end to end in a two-node, two-zone box with storage (issue 15).

`ferry controller` runs on the host as the controller's service account (its volumetransfer,
populator and backup reconcilers: control/xfer, control/cluster), ferry agent runs on each
node in the node's mount namespace (as the DaemonSet's container sees the node: the
kubelet's /var/lib/kubelet) with the agent's service account, --max-transfers 4. Checks, each
naming where it is specified:
- k8s/deploy/crd-volumetransfers.yaml and crd-snapshots.yaml are served (kubectl apply of
  the CRDs and the RBAC of the kustomization, without the Deployment and the DaemonSet);
- a Filesystem PVC (kbox-disk, WaitForFirstConsumer) holding ext4 with files: the transfer
  goes Snapshotting -> Attaching -> Completed; the holder pod was unprivileged, ferry's image
  with imagePullPolicy Never, pinned by node affinity (no nodeName in its spec), its PVC
  Block-mode from a VolumeSnapshot copy in ferry-system whose content carries the
  volume-mode-change annotation; only the agent of the holder's node ran it;
- the status: node, bytes total/done, MB/s, heartbeat, the snapshot id, cleanedUp; status
  writes at most once a second (audit log);
- the repository holds the snapshot under k8s/<kube-system uid>/<ns>/<pvc>; `ferry restore`
  of it onto a loop device equals the volume byte for byte and passes e2fsck;
- a second backup after changing a file: parent = the first snapshot, reused bytes reported,
  new bytes well under the volume, its restore equal to the changed volume;
- afterwards nothing pins storage: no holder pod, temporary PVC or PV, snapshot or content
  copy is left;
- a restore transfer assigned to node-a1's agent (the test plays the populator's side: a
  Block PVC and a pod holding it) writes the second snapshot onto the device: equal to the
  changed volume;
- restore as a volume populator: a claim whose dataSourceRef names a ferry Snapshot is
  filled on the node its pod was scheduled to, then bound to a PV of its own; the pod finds
  every file; nothing of the populator is left;
- a transfer of a claim that does not exist fails with a message naming it; one deleted
  half way (it carries a finalizer) is cleaned up before it goes;
- a Backup of a namespace holding a StatefulSet of two replicas (ext4 Filesystem claims with
  files, mounted while it runs): Completed through the controller and the agents, with
  progress while its transfers run; each claim frozen (FIFREEZE by the agent of its pod's
  node) around its snapshot's cut and thawed; its record names both volumes' snapshots;
  `ferry restore` of each onto a loop device is clean as it is (no needs_recovery, e2fsck
  -fn without a journal replay) and every file matches; no transfer,
  holder pod, temporary PVC or PV, snapshot or content copy is left;
- a Restore of that Backup into another namespace (namespaceMapping, pods left to the
  StatefulSet): objects, then WaitingForPluginOperations while the populator fills each claim
  through the agents, then Completed with each volume Completed and every byte written; the
  claims Bound from ferry Snapshots; the StatefulSet's replicas ready only after checking every
  file's sum, each on a node its volume allows; nothing of the populator left;
- the agent used only list/watch of volumetransfers and pods, patch of volumetransfers/status
  and get of secrets, and for changed blocks a token of its own, get of volumesnapshots, their
  contents and snapshotmetadataservices; nothing of the agent or the controller was refused;
- each claim keeps one changed-block base after its backups (tests/xfer/t_cbt.py has the rest);
- the controller's volume rules (the Role and ClusterRole ferry-controller-volumes of
  xfer-controller-rbac.yaml, left out of tests/operator's proof): every verb of every rule
  used (audit log), and without their bindings the controller is refused (403) and says so.
CI budget: 2 minutes.
"""
import base64
import hashlib
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
sys.path.insert(0, os.path.join(HERE, "..", "operator"))
import rbacproof  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import Client, check, eq, finish, wait_until  # noqa: E402
from kboxd import nodeutil  # noqa: E402

T0 = time.time()
REF = "issue 15"
DEPLOY = os.path.join(HERE, "..", "..", "k8s", "deploy")
FERRY = xferkit.require(("nsenter", "losetup", "e2fsck", "dumpe2fs", "debugfs", "mkfs.xfs"))

PASSWORD = "xfer-test-password"
NS, SYS = "app", "ferry-system"
NODES = ["node-a1", "node-b1"]
MiB = 1 << 20
VT = "/apis/ferry.io/v1alpha1/namespaces/ferry-system/volumetransfers"

# the box, the controller's and the agents' processes (xferkit.py); its work directory, which
# the agents read in the nodes' mount namespaces, under /var/tmp (each node has its own /tmp)
env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PASSWORD, "ferry-xfer-")
WORK = env.work
REPO = "file://" + os.path.join(WORK, "repo")
box = env.box
D = box.dir
api = env.api
AGENTS, LOOPS, CTRL = [], [], env.ctrl
get, create, items, kubectl, kubeconfig_for, leader = env.get, env.create, env.items, env.kubectl, \
    env.kubeconfig_for, env.leader
loops_of = xferkit.loops_of
PHASES = {}  # VolumeTransfer name -> the phases its watch showed, in order
FREEZE = {}  # VolumeTransfer name -> the status.freeze states its watch showed, and the last status.freeze


def start_controller(identity, log, verbose=True):
    return env.start_controller(identity, log, verbose)



def stop_controller():
    return env.stop_controller()


def cleanup():
    for dev in LOOPS:
        subprocess.run(["losetup", "-d", dev], stderr=subprocess.DEVNULL)
    env.close("control/agent")






def ferry(*args):
    return env.ferry(*args)



def writer(name, script):
    """A busybox pod on node-a1 that runs @script on the claim at /data, then exits; deleted after."""
    create(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                            "values": ["node-a1"]}]}]}}},
                 "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-ec", script],
                                 "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}})
    phase = wait_until(lambda: ((get(f"/api/v1/namespaces/{NS}/pods/{name}") or {}).get("status") or {}).get(
        "phase") in ("Succeeded", "Failed") and get(f"/api/v1/namespaces/{NS}/pods/{name}")["status"]["phase"], 60, 0.2)
    if not eq(f"the writer pod {name} wrote its files", phase, "Succeeded", REF):
        print("note:", json.dumps(get(f"/api/v1/namespaces/{NS}/pods/{name}").get("status"))[:1500])
        print("note:", [(e.get("reason"), e.get("message")) for e in get(f"/api/v1/namespaces/{NS}/events")["items"]
                        if e["involvedObject"]["name"] == name])
        print("note: node.log:", open(os.path.join(D, "nodes", "node-a1", "node.log")).read()[-3000:])
    api.delete(f"/api/v1/namespaces/{NS}/pods/{name}", {"gracePeriodSeconds": 0})
    wait_until(lambda: api.get(f"/api/v1/namespaces/{NS}/pods/{name}")[0] == 404, 30, 0.1)
    # the kubelet unmounts (ext4 writes its superblock then) after the pod is gone: wait for it
    mounts = f"/proc/{nodeutil.node_pid(D, 'node-a1')}/mounts"
    check(f"{name}: the kubelet unmounted the volume", wait_until(lambda: "/globalmount " not in open(mounts).read(),
                                                                  30, 0.1), None, None, "kubelet teardown")
    # ext4 writes its last superblock when its last mount goes, which may be after the node's
    # (a pod's mount namespace that outlives it): the loop device is autoclear, so once no loop
    # device is backed by the volume's file, nothing writes it any more
    img = os.path.basename(volume_file())
    check(f"{name}: no loop device holds the volume's file any more", wait_until(
        lambda: not loops_of(img), 30, 0.1), loops_of(img), None, "kbox csi: autoclear loop devices")



def volume_file():
    """The source volume's backing file, seen from the host through the pools' namespace."""
    pools = int(open(os.path.join(D, "storage", "pools.pid")).read())
    pvc = get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data")
    pv = get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    handle = pv["spec"]["csi"]["volumeHandle"].rsplit("/", 1)[-1]
    return f"/proc/{pools}/root{D}/storage/disk/volumes/{handle}.img"


sha256 = xferkit.sha256


def transfer(name, pvc="data", want="Completed"):
    create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": name},
                "spec": {"direction": "backup", "volume": VOLUME,
                         "repository": {"url": REPO, "passwordSecretRef": {"name": "repo-password"}},
                         "source": {"namespace": NS, "persistentVolumeClaim": pvc}}})
    t = time.time()
    vt = wait_until(lambda: over(get(f"{VT}/{name}")), 60, 0.1) or get(f"{VT}/{name}") or {}
    phases = PHASES.get(name, [])
    print(f"note: {name}: {' -> '.join(phases)} in {time.time() - t:.1f} s", flush=True)
    eq(f"{name}: the controller drives it to the end: {want}, cleaned up, its finalizer gone",
       over(vt) and vt["status"]["phase"], want, REF)
    return vt, phases


def over(vt):
    """@vt when it is over: Completed or Failed, cleaned up, its finalizer taken off."""
    st = (vt or {}).get("status") or {}
    return vt if (st.get("phase") in ("Completed", "Failed") and st.get("cleanedUp") is True and
                  not vt["metadata"].get("finalizers")) else None


def watch_transfers():
    """Every phase each VolumeTransfer passes through, from a watch (a poll would miss some)."""
    def phase(o):
        ph = (o.get("status") or {}).get("phase")
        seq = PHASES.setdefault(o.get("metadata", {}).get("name"), [])
        if ph and (not seq or seq[-1] != ph):
            seq.append(ph)
        fr = (o.get("status") or {}).get("freeze") or {}
        fs = FREEZE.setdefault(o.get("metadata", {}).get("name"), {"states": [], "last": {}})
        if fr.get("state") and (not fs["states"] or fs["states"][-1] != fr["state"]):
            fs["states"].append(fr["state"])
        if fr:
            fs["last"] = fr
    env.watch(VT, phase)


def bases(ns):
    """The changed-block bases kept in @ns (VolumeSnapshots labelled ferry.io/cbt-base) and their contents."""
    vs = [v for v in (get(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{ns}/volumesnapshots?labelSelector="
                          "ferry.io/cbt-base") or {}).get("items") or []]
    return ([v["metadata"]["name"] for v in vs] +
            [(v.get("status") or {}).get("boundVolumeSnapshotContentName") for v in vs])


def nothing_left(name, uid):
    n = f"ferry-{uid}"
    left = lambda: ([p for p in items(f"/api/v1/namespaces/{SYS}/pods") if p == n] +
                    [p for p in items(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims")] +
                    items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{SYS}/volumesnapshots") +
                    # (the claim's base for its next backup's changed blocks stays: tests/xfer/t_cbt.py)
                    [v for v in items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots")
                     if v not in bases(NS)] +
                    [c for c in items("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents")
                     if c not in bases(NS)] +
                    [v for v in items("/api/v1/persistentvolumes") if v != DATA_PV])
    rest = wait_until(lambda: not left(), 30, 0.2)
    eq(f"{name}: no holder pod, temporary PVC or PV, snapshot or content copy is left", [] if rest else left(), [],
       "issue 15: nothing that pins storage outlives the transfer")


def restore_matches(name, snap, want_sha):
    img = os.path.join(WORK, f"{name}.img")
    with open(img, "wb") as f:
        f.truncate(SIZE)
    dev = subprocess.run(["losetup", "--find", "--show", img], stdout=subprocess.PIPE, text=True,
                         check=True).stdout.strip()
    LOOPS.append(dev)
    r = ferry("restore", "--repo", REPO, "--progress", "none", snap, dev)
    eq(f"{name}: ferry restore of snapshot {snap[:16]} onto {dev}", (r.returncode, r.stderr.strip()[-200:]), (0, ""),
       "control/repo restore")
    eq(f"{name}: the restored device equals the volume byte for byte", sha256(dev), want_sha, REF)
    r = subprocess.run(["e2fsck", "-fn", dev], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    eq(f"{name}: the restored ext4 passes e2fsck -fn", r.returncode, 0, "e2fsck(8)")
    # drop the device's page cache before it goes: a loop device the kubelet attaches next
    # under the same number would otherwise show these pages
    subprocess.run(["blockdev", "--flushbufs", dev])
    subprocess.run(["losetup", "-d", dev])
    LOOPS.remove(dev)


try:
    # ------------------------------------------------------------ manifests
    create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    # the kustomization's objects but the Deployment and the DaemonSet: this test runs the
    # controller and the agents itself (the CRDs are those the controller's informers watch)
    files = ["namespace.yaml", "controller-rbac.yaml", "agent-rbac.yaml", "agent-pods-rbac.yaml", "agent-lb-rbac.yaml",
             "crd-schedules.yaml", "crd-scalepolicy.yaml", "crd-repositories.yaml", "crd-backups.yaml",
             "crd-restores.yaml", "crd-volumetransfers.yaml", "crd-snapshots.yaml", "xfer-agent-rbac.yaml",
             "xfer-controller-rbac.yaml", "backup-rbac.yaml", "restore-rbac.yaml"]
    r = kubectl("apply", *sum((["-f", os.path.join(DEPLOY, f)] for f in files), []))
    eq("kubectl apply of the CRDs and the RBAC of controller and agent", (r.returncode, r.stderr.strip()), (0, ""),
       REF)
    served = wait_until(lambda: api.get(VT)[0] == 200 and
                        api.get("/apis/ferry.io/v1alpha1/namespaces/ferry-system/snapshots")[0] == 200, 20, 0.1)
    check("VolumeTransfer and Snapshot are served in ferry.io/v1alpha1", served, None, None, REF)
    watch_transfers()
    r = kubectl("get", "fvt,fsnap", "-A")
    eq("kubectl get fvt,fsnap (the short names) answers", (r.returncode, r.stderr.strip()[-300:]),
       (0, "No resources found"),
       "issue 15: short names")
    ks_uid = get("/api/v1/namespaces/kube-system")["metadata"]["uid"]
    VOLUME = f"k8s/{ks_uid}/{NS}/data"

    # ------------------------------------------------------------ the repository and the application
    r = ferry("init", "--repo", REPO)
    eq("ferry init of the file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo init")
    create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                 "metadata": {"name": "repo-password"},
                                                 "data": {"password": base64.b64encode(PASSWORD.encode()).decode()}})
    create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}},
                 "storageClassName": "kbox-disk"}})
    writer("write-1", "for i in 1 2 3 4; do dd if=/dev/urandom of=/data/f$i bs=1M count=4 2>/dev/null; done; "
                      "mkdir /data/dir; echo hello > /data/dir/hello; sha256sum /data/f* > /data/sums; sync")
    claim = get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data")
    DATA_PV = claim["spec"]["volumeName"]
    SIZE = 512 * MiB  # ext4 of 4 KiB blocks: below 512 MB mkfs picks 1 KiB, which the box cannot mount after a snapshot

    # ------------------------------------------------------------ agents, one per node
    for n in NODES:
        # the node's mount, pid and cgroup namespaces (as the DaemonSet's hostPID container), the
        # host's network (the box's API on 127.0.0.1)
        AGENTS.append(env.start_agent(n))
    start_controller("xfer-test", "controller.log")
    leads = wait_until(lambda: leader() == "xfer-test", 20, 0.1)
    check("ferry controller leads (its Lease) as the controller's service account", leads,
          open(os.path.join(WORK, "controller.log")).read()[-1500:], None, "control/operator")
    time.sleep(0.5)
    eq("both agents run", [p.poll() for p in AGENTS], [None, None], REF)
    if any(p.poll() is not None for p in AGENTS):
        for n in NODES:
            print(f"note: agent-{n}.log:", open(os.path.join(WORK, f"agent-{n}.log")).read()[-1500:])

    # ------------------------------------------------------------ the first backup
    sha1 = sha256(volume_file())
    seen = {}
    api2 = Client(box.url, box.ca, box.env["KBOX_ADMIN_TOKEN"])

    def get2(path):
        code, _, body = api2.get(path)
        return body if code == 200 else None

    def watch_holder():
        """What the holder pod and its objects looked like while the transfer ran (polled)."""
        for p in (get2(f"/api/v1/namespaces/{SYS}/pods") or {}).get("items") or []:
            seen["pod"] = p
        for c in (get2(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims") or {}).get("items") or []:
            seen["pvc"] = c
        for c in (get2("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents") or {}).get("items") or []:
            if (c["spec"].get("source") or {}).get("snapshotHandle"):
                seen["copy"] = c

    import threading
    stop = threading.Event()

    def poller():
        while not stop.is_set():
            try:
                watch_holder()
            except Exception:  # a broken connection: a new one next time
                api2.conn = None
            time.sleep(0.2)

    th = threading.Thread(target=poller, daemon=True)
    th.start()
    vt1, phases = transfer("backup-1")
    stop.set()
    th.join()
    st = vt1.get("status") or {}
    print("note: backup-1 status:", json.dumps({k: v for k, v in st.items() if k != "conditions"}), flush=True)
    eq("backup-1 went Snapshotting -> Attaching -> Completed (xfer_step's phases)",
       [p for p in phases if p in ("Snapshotting", "Attaching", "Completed")][-3:],
       ["Snapshotting", "Attaching", "Completed"], REF)
    eq("backup-1 ran on node-a1 (the claim's selected node)", (st.get("node"), vt1["metadata"]["labels"].get(
        "ferry.io/node")), ("node-a1", "node-a1"), REF)
    eq("bytesTotal and bytesDone are the volume's size", (st.get("bytesTotal"), st.get("bytesDone")), (SIZE, SIZE),
       REF)
    check("a snapshot id, a heartbeat, a completion time, MB/s, cleanedUp",
          len(st.get("snapshotID") or "") == 64 and st.get("heartbeat") and st.get("completionTime") and
          "mbPerSecond" in st and st.get("cleanedUp") is True, st, None, REF)
    pod = seen.get("pod") or {}
    ctr = ((pod.get("spec") or {}).get("containers") or [{}])[0]
    check("the holder pod: ferry's image, imagePullPolicy Never, not privileged, runAsNonRoot, the PVC as a "
          "volumeDevice, pinned by node affinity and no nodeName set by ferry",
          ctr.get("image", "").endswith("/ferry:0.1.0") or ctr.get("image") == "ferry.io/ferry:0.1.0", ctr, None, REF)
    eq("... its pull policy, privileges and device", (ctr.get("imagePullPolicy"),
                                                     (ctr.get("securityContext") or {}).get("privileged", False),
                                                     pod.get("spec", {}).get("securityContext", {}).get("runAsNonRoot"),
                                                     [d.get("devicePath") for d in ctr.get("volumeDevices") or []]),
       ("Never", False, True, ["/dev/ferry-volume"]), REF)
    aff = (((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}
    eq("... pinned to node-a1 by required node affinity",
       [e.get("values") for t in aff.get("nodeSelectorTerms") or [] for e in t.get("matchExpressions") or []],
       [["node-a1"]], "DESIGN.md: never a bare nodeName")
    eq("... owned by the VolumeTransfer", [o.get("kind") for o in (pod.get("metadata") or {}).get(
        "ownerReferences") or []], ["VolumeTransfer"], "DESIGN.md Names")
    pvc = seen.get("pvc") or {}
    eq("the temporary PVC is Block-mode, from the VolumeSnapshot copy in ferry-system",
       ((pvc.get("spec") or {}).get("volumeMode"), ((pvc.get("spec") or {}).get("dataSource") or {}).get("kind")),
       ("Block", "VolumeSnapshot"), REF)
    copy = seen.get("copy") or {}
    eq("the content copy: Retain, the volume-mode-change annotation, bound to ferry-system",
       ((copy.get("spec") or {}).get("deletionPolicy"),
        ((copy.get("metadata") or {}).get("annotations") or {}).get(
            "snapshot.storage.kubernetes.io/allow-volume-mode-change"),
        ((copy.get("spec") or {}).get("volumeSnapshotRef") or {}).get("namespace")), ("Retain", "true", SYS), REF)
    nothing_left("backup-1", vt1["metadata"]["uid"])
    r = ferry("snapshots", "--repo", REPO, "--json")
    snaps = json.loads(r.stdout) if r.returncode == 0 else []
    snaps = snaps.get("snapshots", snaps) if isinstance(snaps, dict) else snaps
    eq("the repository holds the snapshot under the volume's name",
       [(s.get("id"), s.get("volume")) for s in snaps], [(st.get("snapshotID"), VOLUME)], REF)
    restore_matches("backup-1", st.get("snapshotID", "latest"), sha1)

    # ------------------------------------------------------------ the second backup: incremental
    writer("write-2", "dd if=/dev/urandom of=/data/f2 bs=1M count=2 conv=notrunc 2>/dev/null; "
                      "echo changed >> /data/dir/hello; sha256sum /data/f* > /data/sums; sync")
    sha2 = sha256(volume_file())
    check("the second writer changed the volume", sha2 != sha1, None, None, REF)
    vt2, _ = transfer("backup-2")
    st2 = vt2.get("status") or {}
    print("note: backup-2 status:", json.dumps({k: v for k, v in st2.items() if k != "conditions"}), flush=True)
    eq("backup-2's parent is backup-1's snapshot (incremental forever)", st2.get("parentID"), st.get("snapshotID"),
       REF)
    check("backup-2 reports reused bytes (chunks the repository held) and stores far less than backup-1",
          (st2.get("bytesReused") or 0) >= 8 * MiB and (st2.get("bytesNew") or 0) < (st.get("bytesNew") or 0) / 2,
          (st2.get("bytesReused"), st2.get("bytesNew"), st.get("bytesNew")), "reused >= 8 MiB, new < half", REF)
    nothing_left("backup-2", vt2["metadata"]["uid"])
    restore_matches("backup-2", st2.get("snapshotID", "latest"), sha2)

    # ------------------------------------------------------------ a restore by the agent
    # (the populator's controller side is not written yet: the test plays it, a Block PVC
    # and a pod holding it on node-a1, and assigns the transfer as xfer_step() does)
    create(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "restore-target"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}},
                 "storageClassName": "kbox-disk", "volumeMode": "Block"}})
    create(f"/api/v1/namespaces/{SYS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "restore-holder"},
        "spec": {"terminationGracePeriodSeconds": 0,
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                            "values": ["node-a1"]}]}]}}},
                 "containers": [{"name": "c", "image": "busybox", "command": ["sleep", "3600"],
                                 "volumeDevices": [{"name": "d", "devicePath": "/dev/xvda"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "restore-target"}}]}})
    holder = wait_until(lambda: ((get(f"/api/v1/namespaces/{SYS}/pods/restore-holder") or {}).get("status") or {}).get(
        "phase") == "Running" and get(f"/api/v1/namespaces/{SYS}/pods/restore-holder"), 60, 0.2)
    check("the restore's holder pod runs", holder, None, None, REF)
    target_pv = get(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims/restore-target")["spec"]["volumeName"]
    create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer",
                "metadata": {"name": "restore-1", "labels": {"ferry.io/node": "node-a1"}},
                "spec": {"direction": "restore", "volume": VOLUME, "snapshotID": st2.get("snapshotID", "latest"),
                         "repository": {"url": REPO, "passwordSecretRef": {"name": "repo-password"}},
                         "target": {"namespace": SYS, "persistentVolumeClaim": "restore-target"}}})
    code, _, body = api.patch(f"{VT}/restore-1/status", {"status": {
        "phase": "Attaching", "node": "node-a1",
        "holder": {"pod": "restore-holder", "podUID": holder["metadata"]["uid"], "persistentVolume": target_pv}}})
    eq("the restore transfer is assigned to node-a1", code, 200, REF)
    vt4 = wait_until(lambda: ((get(f"{VT}/restore-1") or {}).get("status") or {}).get("phase") in (
        "Completed", "Failed") and get(f"{VT}/restore-1"), 60, 0.2) or {}
    st4 = vt4.get("status") or {}
    print("note: restore-1 status:", json.dumps(st4), flush=True)
    eq("the agent restored the snapshot onto the holder's device: Completed, every byte done",
       (st4.get("phase"), st4.get("bytesDone"), st4.get("snapshotID")), ("Completed", SIZE, st2.get("snapshotID")),
       "issue 15: restore writes and verifies every chunk")
    pools = int(open(os.path.join(D, "storage", "pools.pid")).read())
    handle = get(f"/api/v1/persistentvolumes/{target_pv}")["spec"]["csi"]["volumeHandle"].rsplit("/", 1)[-1]
    eq("the restored volume equals the changed volume byte for byte",
       sha256(f"/proc/{pools}/root{D}/storage/disk/volumes/{handle}.img"), sha2, REF)
    api.delete(f"{VT}/restore-1")
    api.delete(f"/api/v1/namespaces/{SYS}/pods/restore-holder", {"gracePeriodSeconds": 0})
    api.delete(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims/restore-target")

    # ------------------------------------------------------------ bad input
    vt3, _ = transfer("missing", pvc="nope", want="Failed")
    st3 = vt3.get("status") or {}
    check("a transfer of a claim that does not exist fails, naming it, and is cleaned up",
          st3.get("phase") == "Failed" and "app/nope" in (st3.get("message") or "") and st3.get("cleanedUp"),
          st3, None, REF)

    # ------------------------------------------------------------ deleted half way
    create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": "deleted"},
                "spec": {"direction": "backup", "volume": VOLUME,
                         "repository": {"url": REPO, "passwordSecretRef": {"name": "repo-password"}},
                         "source": {"namespace": NS, "persistentVolumeClaim": "data"}}})
    vt5 = wait_until(lambda: ((get(f"{VT}/deleted") or {}).get("status") or {}).get("phase") in (
        "Snapshotting", "Attaching", "Running") and get(f"{VT}/deleted"), 30, 0.05) or get(f"{VT}/deleted") or {}
    print(f"note: deleted: {PHASES.get('deleted')} then deleted", flush=True)
    eq("a transfer carries the cleanup finalizer while it runs", vt5.get("metadata", {}).get("finalizers"),
       ["ferry.io/volumetransfer-cleanup"], "DESIGN.md: nothing that pins storage outlives its owner")
    api.delete(f"{VT}/deleted")
    check("a transfer deleted half way: the controller cleans up, then lets it go",
          wait_until(lambda: api.get(f"{VT}/deleted")[0] == 404, 30, 0.1), PHASES.get("deleted"), "404", REF)
    nothing_left("deleted", vt5["metadata"]["uid"])

    # ------------------------------------------------------------ restore as a volume populator
    files.append("populator-snapshots.yaml")
    r = kubectl("apply", "-f", os.path.join(DEPLOY, "populator-snapshots.yaml"))
    eq("kubectl apply of the Snapshot kind's VolumePopulator", (r.returncode, r.stderr.strip()), (0, ""), REF)
    create(f"/apis/ferry.io/v1alpha1/namespaces/{NS}/snapshots", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Snapshot", "metadata": {"name": "snap-2"},
        "spec": {"repository": "default", "snapshotID": st2.get("snapshotID"), "volume": VOLUME, "url": REPO,
                 "passwordSecretRef": {"name": "repo-password"}}})
    create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "restored"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "512Mi"}},
                 "storageClassName": "kbox-disk",
                 "dataSourceRef": {"apiGroup": "ferry.io", "kind": "Snapshot", "name": "snap-2"}}})
    # the claim waits for its node (WaitForFirstConsumer: its class read) before the pod comes
    wait_until(lambda: any(a.get("resource") == "storageclasses" and a.get("user", "").endswith(":ferry-controller")
                           for a in box.audit()), 10, 0.2)
    create(f"/api/v1/namespaces/{NS}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "reader"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In",
                                            "values": ["node-a1"]}]}]}}},
                 "containers": [{"name": "c", "image": "busybox", "command": [
                     "sh", "-ec", "cd /data; sha256sum -c sums; grep -q changed dir/hello"],
                     "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "restored"}}]}})
    t = time.time()
    bound = wait_until(lambda: ((get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/restored") or {}).get(
        "status") or {}).get("phase") == "Bound", 90, 0.2)
    rc = get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/restored") or {}
    print(f"note: populator: {PHASES.get('ferry-' + rc['metadata']['uid'])} in {time.time() - t:.1f} s", flush=True)
    check("the controller's populator fills the claim and lets it bind", bound, rc.get("status"), "Bound",
          "issue 15: restore as a volume populator")
    rpv = get(f"/api/v1/persistentvolumes/{(rc.get('spec') or {}).get('volumeName')}") or {}
    eq("the claim is bound to its own PV, pvc-<claim uid>, Filesystem, from the Snapshot",
       ((rc.get("status") or {}).get("phase"), rpv.get("metadata", {}).get("name"), rpv.get("spec", {}).get("volumeMode"),
        (rpv.get("metadata", {}).get("annotations") or {}).get("ferry.io/populated-from")),
       ("Bound", f"pvc-{rc['metadata']['uid']}", "Filesystem", f"{NS}/snap-2"), REF)
    phase = wait_until(lambda: ((get(f"/api/v1/namespaces/{NS}/pods/reader") or {}).get("status") or {}).get(
        "phase") in ("Succeeded", "Failed") and get(f"/api/v1/namespaces/{NS}/pods/reader")["status"]["phase"], 60, 0.2)
    eq("the application's pod finds every file's checksum and the change in the restored ext4", phase, "Succeeded",
       REF)
    left = wait_until(lambda: not items(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims") and
                      not items(f"/api/v1/namespaces/{SYS}/pods") and api.get(f"{VT}/ferry-{rc['metadata']['uid']}")[0] == 404 and
                      sorted(items("/api/v1/persistentvolumes")) == sorted([DATA_PV, rpv["metadata"]["name"]]), 30, 0.2)
    check("after the populator: no PVC', holder pod, transfer or PV' is left", left,
          (items(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims"), items(f"/api/v1/namespaces/{SYS}/pods"),
           items("/api/v1/persistentvolumes")), None, REF)

    # ------------------------------------------------------------ what the agents did so far
    eq("both agents still run", [p.poll() for p in AGENTS], [None, None], REF)
    logs = {n: open(os.path.join(WORK, f"agent-{n}.log")).read() for n in NODES}
    for n in NODES:
        print(f"note: agent-{n}.log:", logs[n][-1500:])
    check("the agent of node-a1 ran both backups and the restore",
          all(f"transfer {n} completed: snapshot" in logs["node-a1"] for n in ("backup-1", "backup-2", "restore-1")),
          logs["node-a1"][-800:], None, REF)
    check("the agent of node-b1 ran none", "transfer" not in logs["node-b1"].replace("volume transfers", ""),
          logs["node-b1"][-800:], None, REF)

    # ------------------------------------------------------------ a Backup of an application
    APP = "web"
    create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}})
    create(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/repositories", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Repository", "metadata": {"name": "default"},
        "spec": {"url": REPO, "passwordSecret": {"name": "repo-password"}}})
    # each replica writes its files once, then holds them mounted: f1 from its own name (the test
    # knows its bytes), f2 random, their sums; ready once they are synced
    # knows its bytes), f2 random, their sums; ready once they are synced. A replica that finds its
    # files (a restored one) checks every sum first: ready only if each matches
    script = ('cd /data; if [ ! -f sums ]; then i=0; while [ $i -lt 20000 ]; do echo "$POD_NAME $i"; '
              'i=$((i + 1)); done > f1; '
              'dd if=/dev/urandom of=f2 bs=1M count=2 2>/dev/null; mkdir -p dir; echo "$POD_NAME" > dir/name; '
              'sha256sum f1 f2 dir/name > sums.tmp; sync; mv sums.tmp sums; sync; '
              'else sha256sum -c sums > checked || exit 1; '
              'test "$(cat dir/name)" = "$POD_NAME" || exit 1; fi; exec sleep 3600')
    create(f"/apis/apps/v1/namespaces/{APP}/statefulsets", {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {"replicas": 2, "serviceName": APP, "podManagementPolicy": "Parallel",
                 "selector": {"matchLabels": {"app": APP}},
                 "template": {"metadata": {"labels": {"app": APP}}, "spec": {
                     "terminationGracePeriodSeconds": 1,
                     "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-ec", script],
                                     "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {
                                         "fieldPath": "metadata.name"}}}],
                                     "readinessProbe": {"exec": {"command": ["test", "-f", "/data/sums"]},
                                                        "periodSeconds": 1},
                                     "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                 "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                     "accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
                     "resources": {"requests": {"storage": "512Mi"}}}}]}})
    ready = wait_until(lambda: ((get(f"/apis/apps/v1/namespaces/{APP}/statefulsets/{APP}") or {}).get(
        "status") or {}).get("readyReplicas") == 2, 90, 0.2)
    check("the StatefulSet's two replicas run with their files written", ready,
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase"), p["spec"].get("nodeName"))
           for p in (get(f"/api/v1/namespaces/{APP}/pods") or {}).get("items") or []], None, REF)
    claims = {c["metadata"]["name"]: c for c in (get(f"/api/v1/namespaces/{APP}/persistentvolumeclaims") or {}).get(
        "items") or []}
    # and a claim that cannot be snapshotted (a hostPath PV): a warning of the Backup, no transfer
    create("/api/v1/persistentvolumes", {
        "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "web-host"},
        "spec": {"capacity": {"storage": "1Mi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "",
                 "hostPath": {"path": "/var/tmp/ferry-xfer-host"},
                 "claimRef": {"namespace": APP, "name": "host-data"}}})
    create(f"/api/v1/namespaces/{APP}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "host-data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "", "volumeName": "web-host",
                 "resources": {"requests": {"storage": "1Mi"}}}})
    check("the hostPath claim binds", wait_until(lambda: ((get(
        f"/api/v1/namespaces/{APP}/persistentvolumeclaims/host-data") or {}).get("status") or {}).get(
        "phase") == "Bound", 20, 0.1), None, None, REF)
    app_pvs = [c["spec"].get("volumeName") for c in claims.values()]
    t = time.time()
    bk_mark = len(box.audit())
    create(f"/apis/ferry.io/v1alpha1/namespaces/{APP}/backups", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": "app-backup"},
        "spec": {"includedNamespaces": [APP], "storageLocation": "default",
                 # the application's kinds (a kind the controller may not list is a warning: the
                 # first 20 warnings are kept)
                 "includedResources": ["statefulsets", "pods", "persistentvolumeclaims"]}})
    BK = f"/apis/ferry.io/v1alpha1/namespaces/{APP}/backups/app-backup"
    progress = []

    def backup_over():
        st = (get(BK) or {}).get("status") or {}
        if st.get("phase") == "InProgress" and st.get("progress", {}).get("volumesTotal"):
            progress.append(st["progress"])
        return st.get("phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") and st

    # the controller killed while the transfers run: the next one finds them by name
    running = wait_until(lambda: backup_over() or any("Running" in p for n, p in PHASES.items()
                                                      if n.startswith("bk-")), 60, 0.05)
    CTRL[0].kill()
    CTRL[0].wait()
    CTRL.clear()
    print(f"note: the controller killed {time.time() - t:.1f} s after the Backup's creation, its transfers "
          f"{[p for n, p in PHASES.items() if n.startswith('bk-')]}", flush=True)
    start_controller("xfer-test-2", "controller-2.log")
    took = wait_until(lambda: leader() == "xfer-test-2", 20, 0.1)
    check("a controller killed with SIGKILL while the Backup's transfers run is followed by the next one",
          running and took, leader(), "xfer-test-2", "control/operator")
    bst = wait_until(backup_over, 120, 0.2) or ((get(BK) or {}).get("status") or {})
    print(f"note: app-backup: {bst.get('phase')} in {time.time() - t:.1f} s; progress seen: "
          f"{progress[:1] + progress[-1:]}; transfers: {[(n, p) for n, p in PHASES.items() if n.startswith('bk-')]}",
          flush=True)
    print("note: app-backup status:", json.dumps({k: v for k, v in bst.items() if k != "conditions"})[:1500],
          flush=True)
    eq("the Backup of the StatefulSet's namespace completes through the controller and the agents",
       (bst.get("phase"), bst.get("errors"), bst.get("volumeSnapshotsAttempted"), bst.get("volumeSnapshotsCompleted")),
       ("Completed", 0, 2, 2), REF)
    check("while its transfers ran it stayed InProgress with the volumes' progress (2 volumes, bytes)",
          progress and all(p.get("volumesTotal") == 2 for p in progress) and
          any(p.get("volumesDone", 0) < 2 for p in progress), progress[:3], None, REF)
    eq("... and once Completed its progress says every volume is done, every byte moved",
       [(bst.get("progress") or {}).get(k) for k in ("volumesTotal", "volumesDone")] +
       [(bst.get("progress") or {}).get("bytesDone") == (bst.get("progress") or {}).get("bytesTotal") == 1024 * MiB],
       [2, 2, True], REF)
    eq("no transfer went back a phase (Attaching never written over the agent's Running)",
       [(n, p) for n, p in PHASES.items() if "Running" in p and "Attaching" in p[p.index("Running"):]], [], REF)
    bk_vts = {n: p for n, p in PHASES.items() if n.startswith("bk-")}
    eq("one VolumeTransfer per claim, named from the Backup's uid, each Completed",
       sorted((n.rsplit("-", 1)[0], p[-1:]) for n, p in bk_vts.items()),
       [(f"bk-{(get(BK) or {}).get('metadata', {}).get('uid')}", ["Completed"])] * 2, REF)
    eq("the hostPath claim is a warning of the Backup, naming it, and no transfer",
       [m for m in bst.get("warningMessages") or [] if "host-data" in m],
       [f"volume {APP}/host-data: a hostPath volume cannot be snapshotted"], "issue 15: a warning per volume")
    frz = {n: FREEZE.get(n) for n in bk_vts}
    print(f"note: app-backup's freezes: {frz}", flush=True)
    eq("each mounted claim was frozen by the agent of its pod's node around its snapshot's cut, then thawed "
       "(status.freeze: Requested, Frozen, ThawRequested, Thawed; held > 0 ms and under 30 s)",
       sorted((f or {}).get("states", [])[-4:] == ["Requested", "Frozen", "ThawRequested", "Thawed"] and
              0 < ((f or {}).get("last") or {}).get("frozenMilliseconds", 0) < 30000 for f in frz.values()),
       [True, True], "issue 15: FIFREEZE around the snapshot")
    creates = [a.get("code") for a in box.audit()[bk_mark:] if a.get("verb") == "create" and
               a.get("resource") == "volumetransfers" and a.get("user", "").endswith(":ferry-controller")]
    eq("the restarted controller found the Backup's transfers by name: each was created once, none again",
       sorted(creates), [201, 201], "issue 15: crash safety")
    vols = {v.get("pvc"): v for v in bst.get("volumes") or []}
    r = ferry("backup", "describe", "app-backup", "--repo", REPO, "-n", APP, "-o", "json")
    rec = json.loads(r.stdout) if r.returncode == 0 else {}
    eq("the backup record names both volumes and the snapshots the status says",
       sorted((v.get("pvc"), v.get("snapshot"), v.get("volume")) for v in rec.get("volumes") or []),
       sorted((p, (vols.get(p) or {}).get("snapshotId"), f"k8s/{ks_uid}/{APP}/{p}") for p in claims),
       "FORMAT.md Backup records")
    left = lambda: ([n for n in items(VT) if n.startswith("bk-")] + items(f"/api/v1/namespaces/{SYS}/pods") +
                    items(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims") +
                    items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{SYS}/volumesnapshots") +
                    [v for v in items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{APP}/volumesnapshots")
                     if v not in bases(APP)] +
                    [c for c in items("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents")
                     if c not in bases(APP) + bases(NS)] +
                    [v for v in items("/api/v1/persistentvolumes") if v not in [DATA_PV, rpv["metadata"]["name"],
                                                                                "web-host"] + app_pvs])
    # the Backup deletes its transfers, then writes Completed: a transfer's object goes once
    # its finalizer has run (everything it made is gone by then), a moment later
    wait_until(lambda: not left(), 20, 0.3)
    eq("after the Backup nothing pins storage: no transfer, holder pod, temporary PVC or PV, snapshot or content "
       "copy (but each claim's changed-block base)", left(), [], "issue 15: nothing that pins storage outlives its Backup")
    eq("each claim of the Backup keeps one base, standing for its snapshot (changedBlocks auto, a driver with "
       "the SnapshotMetadata service)",
       sorted(((v["metadata"].get("annotations") or {}).get("ferry.io/cbt-snapshot-id"), v["spec"]["source"].get(
           "persistentVolumeClaimName")) for v in (get(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{APP}/"
                                                       "volumesnapshots?labelSelector=ferry.io/cbt-base") or {}).get(
           "items") or []),
       sorted(((vols.get(p) or {}).get("snapshotId"), p) for p in claims), "issue 17")
    for pvc in sorted(claims):
        pod = pvc[len("data-"):]
        snap = (vols.get(pvc) or {}).get("snapshotId") or "latest"
        img = os.path.join(WORK, f"{pvc}.img")
        with open(img, "wb") as f:
            f.truncate(512 * MiB)
        dev = subprocess.run(["losetup", "--find", "--show", img], stdout=subprocess.PIPE, text=True,
                             check=True).stdout.strip()
        LOOPS.append(dev)
        r = ferry("restore", "--repo", REPO, "--progress", "none", snap, dev)
        eq(f"{pvc}: ferry restore of its snapshot onto {dev}", (r.returncode, r.stderr.strip()[-200:]), (0, ""),
           "control/repo restore")
        # frozen around its cut (FIFREEZE flushes the journal and clears needs_recovery), the
        # mounted ext4's snapshot is clean as it is: no journal to replay
        feats = subprocess.run(["dumpe2fs", "-h", dev], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                               text=True).stdout
        feats = next((l for l in feats.splitlines() if l.startswith("Filesystem features:")), "")
        r2 = subprocess.run(["e2fsck", "-fn", dev], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        eq(f"{pvc}: the restored ext4 is clean as the snapshot has it (no needs_recovery: frozen around the cut) "
           "and passes e2fsck -fn without a journal replay",
           ("has_journal" in feats, "needs_recovery" in feats, r2.returncode), (True, False, 0), "e2fsck(8); FIFREEZE")
        if r2.returncode:
            print("note:", feats, r2.stdout[-800:])

        def cat(path):
            return subprocess.run(["debugfs", "-R", f"cat {path}", dev], stdout=subprocess.PIPE,
                                  stderr=subprocess.DEVNULL).stdout

        want_f1 = "".join(f"{pod} {i}\n" for i in range(20000)).encode()
        sums = [l.split() for l in cat("/sums").decode(errors="replace").splitlines() if l.strip()]
        eq(f"{pvc}: every file the replica wrote is there with its bytes (f1 from its name, the sums of f1, f2, "
           "dir/name)",
           (hashlib.sha256(cat("/f1")).hexdigest(), cat("/dir/name"),
            [(n, hashlib.sha256(cat("/" + n)).hexdigest() == h) for h, n in sums]),
           (hashlib.sha256(want_f1).hexdigest(), (pod + "\n").encode(),
            [("f1", True), ("f2", True), ("dir/name", True)]), REF)
        subprocess.run(["blockdev", "--flushbufs", dev])
        subprocess.run(["losetup", "-d", dev])
        LOOPS.remove(dev)

    # ------------------------------------------------------------ a Restore of the application
    # into another namespace: its claims filled by the populator, the StatefulSet's pods (not
    # restored themselves: the StatefulSet makes them) checking every file's sum
    APP2 = "web-restored"
    create(f"/apis/ferry.io/v1alpha1/namespaces/{APP}/restores", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Restore", "metadata": {"name": "app-restore"},
        "spec": {"backupName": "app-backup", "namespaceMapping": {APP: APP2}, "excludedResources": ["pods"]}})
    RSP = f"/apis/ferry.io/v1alpha1/namespaces/{APP}/restores/app-restore"
    t = time.time()
    rphases = []

    def restore_over():
        st = (get(RSP) or {}).get("status") or {}
        if st.get("phase") and (not rphases or rphases[-1] != st["phase"]):
            rphases.append(st["phase"])
        return st.get("phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") and st
    rst = wait_until(restore_over, 90, 0.2) or ((get(RSP) or {}).get("status") or {})
    print(f"note: app-restore: {rst.get('phase')} in {time.time() - t:.1f} s, phases {rphases}; status "
          f"{json.dumps({k: v for k, v in rst.items() if k != 'conditions'})[:1500]}", flush=True)
    eq("the Restore of the StatefulSet's namespace into another one completes: objects, then it waits for "
       "its volumes (Velero's WaitingForPluginOperations), then Completed, no error",
       (rst.get("phase"), rst.get("errors"), "WaitingForPluginOperations" in rphases), ("Completed", 0, True),
       REF)
    if rst.get("phase") != "Completed":
        for f in ("controller-2.log",):
            print(f"note: {f}:", "".join(l for l in open(os.path.join(WORK, f)) if "restore" in l or
                                         "populat" in l or "error" in l)[-3000:], flush=True)
    eq("each restored volume is Completed, every byte of it written",
       sorted((v.get("namespace"), v.get("pvc"), v.get("phase"), v.get("bytesDone") == v.get("size") > 0)
              for v in rst.get("volumes") or [] if v.get("pvc") in claims),
       [(APP2, c, "Completed", True) for c in sorted(claims)], REF)
    rclaims = {c["metadata"]["name"]: c for c in (get(f"/api/v1/namespaces/{APP2}/persistentvolumeclaims") or
                                                  {}).get("items") or [] if c["metadata"]["name"] in claims}
    eq("each restored claim is Bound, filled from a ferry Snapshot the Restore made",
       sorted((n, (c.get("status") or {}).get("phase"), (c["spec"].get("dataSourceRef") or {}).get("kind"))
              for n, c in rclaims.items()), [(n, "Bound", "Snapshot") for n in sorted(claims)], REF)
    ready = wait_until(lambda: ((get(f"/apis/apps/v1/namespaces/{APP2}/statefulsets/{APP}") or {}).get(
        "status") or {}).get("readyReplicas") == 2, 60, 0.2)
    rpods = (get(f"/api/v1/namespaces/{APP2}/pods") or {}).get("items") or []
    check("the restored StatefulSet's two replicas are ready: each found its files, every sum matching and "
          "its own name in dir/name", ready,
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase"), p["spec"].get("nodeName")) for p in rpods],
          None, REF)
    # each replica on the node that holds its restored volume (the PV's node affinity)
    placed = []
    for p in rpods:
        claim_name = next((v["persistentVolumeClaim"]["claimName"] for v in p["spec"].get("volumes") or []
                           if v.get("persistentVolumeClaim")), None)
        pv = get(f"/api/v1/persistentvolumes/{(rclaims.get(claim_name) or {}).get('spec', {}).get('volumeName')}")
        terms = (((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required", {}).get(
            "nodeSelectorTerms") or []
        node = get(f"/api/v1/nodes/{p['spec'].get('nodeName')}") or {}
        labels = dict(node.get("metadata", {}).get("labels") or {})
        fields = {"metadata.name": node.get("metadata", {}).get("name")}
        ok = bool(terms) and any(  # a term's expressions all hold (In, the only operator the box's PVs use)
            all((labels.get(e["key"]) in e.get("values", [])) for e in t_.get("matchExpressions") or []) and
            all((fields.get(e["key"]) in e.get("values", [])) for e in t_.get("matchFields") or [])
            for t_ in terms)
        placed.append((p["metadata"]["name"], ok))
        if not ok:
            print("note:", p["metadata"]["name"], "on", p["spec"].get("nodeName"), labels, "PV terms", terms)
    eq("each restored replica runs on a node its volume's affinity allows", sorted(placed),
       [(f"{APP}-{i}", True) for i in range(2)], REF)
    left = ([n for n in items(VT) if n.startswith("ferry-")] + items(f"/api/v1/namespaces/{SYS}/pods") +
            items(f"/api/v1/namespaces/{SYS}/persistentvolumeclaims"))
    if left:  # what the populator waits for: the transfer, its holder pod and PVC', their events
        for path in (VT, f"/api/v1/namespaces/{SYS}/pods", f"/api/v1/namespaces/{SYS}/persistentvolumeclaims"):
            for o in (get(path) or {}).get("items") or []:
                print("note: left:", o.get("kind"), o["metadata"]["name"], "node",
                      (o.get("spec") or {}).get("nodeName") or (o["metadata"].get("annotations") or {}).get(
                          "volume.kubernetes.io/selected-node"), json.dumps(o.get("status"))[:600])
        for e in (get(f"/api/v1/namespaces/{SYS}/events") or {}).get("items") or []:
            print("note: event:", (e.get("involvedObject") or {}).get("name"), e.get("reason"),
                  (e.get("message") or "")[:200])
    eq("after the Restore nothing of the populator is left in ferry-system (transfers, holder pods, PVC')",
       left, [], REF)

    # ------------------------------------------------------------ the controller's volume rules
    eq("the controller stops on SIGTERM with exit 0 (its watches end: the audit log has them)", stop_controller(),
       [0], "control/operator")
    import yaml
    vdocs = [d for d in yaml.safe_load_all(open(os.path.join(DEPLOY, "xfer-controller-rbac.yaml"))) if d]
    vrules = rbacproof.rules_of(vdocs)

    def unused_rules():
        ctl_aud = [a for a in box.audit() if a.get("user") == "system:serviceaccount:ferry-system:ferry-controller"]
        return [f"{rule}: {need[0]} {need[1]}" for rule in vrules for need in rule.needs()
                if not rbacproof.covered(rule, need, ctl_aud)]
    # (a watch is in the audit log once the server has seen it end: a moment after the exit)
    wait_until(lambda: not unused_rules(), 10, 0.3)
    unused = unused_rules()
    eq("every verb of every rule of ferry-controller-volumes (Role and ClusterRole) was used by the volume path",
       unused, [], "issue 12 §3: least privilege")
    for path in ("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ferry-controller-volumes",
                 f"/apis/rbac.authorization.k8s.io/v1/namespaces/{SYS}/rolebindings/ferry-controller-volumes"):
        api.delete(path)
    mark = len(box.audit())
    start_controller("xfer-test-3", "controller-3.log", verbose=False)

    def refused():
        got = {(a.get("verb"), a.get("resource")) for a in box.audit()[mark:] if a.get("code") == 403 and
               a.get("user") == "system:serviceaccount:ferry-system:ferry-controller"}
        return {("list", "volumetransfers"), ("list", "persistentvolumeclaims")} <= got and got
    got = wait_until(refused, 20, 0.2)
    wait_until(lambda: "informer of persistentvolumeclaims" in open(os.path.join(WORK, "controller-3.log")).read() and
               "informer of volumetransfers" in open(os.path.join(WORK, "controller-3.log")).read(), 10, 0.2)
    text = open(os.path.join(WORK, "controller-3.log")).read()
    check("without ferry-controller-volumes the controller is refused (403: list volumetransfers and "
          "persistentvolumeclaims) and its log names what it was refused",
          got and "informer of volumetransfers" in text and "informer of persistentvolumeclaims" in text,
          (sorted(got or []), text[-800:]), None, "xfer-controller-rbac.yaml")
    stop_controller()
    # ------------------------------------------------------------ what the agents and the controller asked
    aud = box.audit()
    agent = [a for a in aud if a.get("user") == "system:serviceaccount:ferry-system:ferry-agent"]
    used = sorted({(a.get("verb"), a.get("resource"), a.get("subresource") or "", a.get("decision")) for a in agent})
    allowed = {("list", "pods", "", "allow"), ("watch", "pods", "", "allow"),
               ("list", "volumetransfers", "", "allow"), ("watch", "volumetransfers", "", "allow"),
               ("patch", "volumetransfers", "status", "allow"), ("get", "secrets", "", "allow"),
               # a backup's changed blocks (issue 17): a token for the SnapshotMetadata service's
               # audience, the transfer's VolumeSnapshot, its content, the driver's service
               ("create", "serviceaccounts", "token", "allow"), ("get", "volumesnapshots", "", "allow"),
               ("get", "volumesnapshotcontents", "", "allow"), ("get", "snapshotmetadataservices", "", "allow"),
               # the socket load balancer (agent-lb-rbac.yaml), where the agent runs in a node
               ("list", "services", "", "allow"), ("watch", "services", "", "allow"),
               ("list", "endpointslices", "", "allow"), ("watch", "endpointslices", "", "allow"),
               ("get", "nodes", "", "allow")}
    check("the agents used only what xfer-agent-rbac.yaml and agent-pods-rbac.yaml allow, never refused",
          set(used) <= allowed and ("patch", "volumetransfers", "status", "allow") in used, used, sorted(allowed),
          "DESIGN.md least privilege")
    ctrl = [a for a in aud[:mark] if a.get("user") == "system:serviceaccount:ferry-system:ferry-controller"]
    # (the Backup's collection lists every kind served; a kind the controller may not list is a
    # warning of the Backup: those refusals are its, not the volume path's)
    print("note: lists refused to the Backup's collection:",
          sorted({a.get("resource") for a in ctrl if a.get("decision") != "allow" and a.get("verb") == "list"}))
    # (switch-rbac.yaml is not applied here: its ClusterRole also deletes claims, and the audit
    # log would credit it with the volume path's deletes; without it the blue/green reconciler's
    # watch of StatefulSets is refused, which is its, not the volume path's)
    eq("nothing the controller did for the volumes was refused",
       sorted({(a.get("verb"), a.get("resource")) for a in ctrl if a.get("decision") != "allow" and
               a.get("verb") != "list" and (a.get("verb"), a.get("resource")) != ("watch", "statefulsets")}),
       [], "xfer-controller-rbac.yaml")
    patches = [a for a in agent if a.get("verb") == "patch" and a.get("name") == "backup-1"]
    if patches:
        import datetime
        ts = [datetime.datetime.strptime(a["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").timestamp() for a in patches]
        span = ts[-1] - ts[0]
        check("the agent wrote backup-1's status at most once a second (and once more at its end)",
              len(patches) <= span + 3, (len(patches), round(span, 2)), "<= seconds + 3", REF)
finally:
    cleanup()
print(f"note: {time.time() - T0:.1f} s in all")
finish()
