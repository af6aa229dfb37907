#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The box's storage (issue 14): a two-node, two-zone box (storage.yaml).

Checks, each naming the behaviour and where it is specified:
- the drivers: CSIDriver objects, a CSINode per node (drivers, topology keys, the disk
  driver's allocatable.count), the hostpath topology label, the default classes;
- Immediate binding (the PV's fields, annotations, finalizers, events), WaitForFirstConsumer
  (Pending with its event until a pod is scheduled, then selected-node and a volume in the
  pod's zone), NodeStage/NodePublish on the node: ext4 on a direct-I/O loop device at the
  staging and pod paths; Block: the publish path a block device, the global map and the
  pod's symlink, O_DIRECT from the pod, a privileged container without its devicePath;
- a snapshot of a mounted, frozen file system: readyToUse after the delay, the content's
  fields; restored it passes e2fsck and every file's checksum; a Block claim from it is
  refused (the provisioner's event) until the content allows the mode change, then its
  publish path opens with O_DIRECT and holds the ext4 superblock;
- GetMetadataDelta over gRPC+TLS with an audience-scoped service-account token names
  exactly the 4 KiB blocks written between two snapshots of 1, 4 and 16 GiB sparse
  volumes (and GetMetadataAllocated all blocks written), decoded with python3-protobuf
  from the proto's field numbers; FIXED_LENGTH for the disk driver; max_results and
  starting_offset; a wrong audience and a user without `get volumesnapshots` refused;
  the same answer from a pod through the Service's ClusterIP;
- the volume limit (CSINode allocatable.count) in the scheduler, ResourceQuota on
  requests.storage, pvc-protection, reclaim Delete (the backing file goes) and Retain (it
  stays, and a new PV with its handle binds a claim again), snapshot deletion and a
  pre-provisioned content in another namespace (Velero's move);
- a volume populator's flow (PVC' in the populator's namespace, data, claimRef rebind,
  PVC' Lost);
- kubectl get/describe and python3-kubernetes on PVs, PVCs and VolumeSnapshots;
- after stop: no loop device, mount or file left.
"""
import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, kubectl_path, skip, wait_until  # noqa: E402
from kboxd import nodeutil  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
T0 = time.time()
if os.geteuid() != 0:
    skip("the box's storage needs root (loop devices, mounts, namespaces)")
if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
    skip("checks the box's own storage; FERRY_TEST_KUBECONFIG names a real cluster")
for tool in ("ip", "iptables-restore", "nsenter", "busybox", "losetup", "mkfs.xfs", "mkfs.ext4", "e2fsck", "fsfreeze"):
    if subprocess.run(["sh", "-c", f"command -v {tool}"], stdout=subprocess.DEVNULL).returncode != 0:
        print(f"FAIL: {tool} is missing: run tests/install-deps.sh")
        sys.exit(1)
try:
    import grpc
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory
except ImportError:
    print("FAIL: python3-grpcio is missing: run tests/install-deps.sh")
    sys.exit(1)
KUBECTL = kubectl_path()
REF = "issue 14"
GiB = 1 << 30

box = Box(private=True, args=["--config", os.path.join(HERE, "storage.yaml")])
D = box.dir
api = box.admin
NS = "storage-test"
ENV = dict(os.environ, HOME=tempfile.mkdtemp(prefix="kbox-storage-home-"), KUBECONFIG=box.kubeconfig)
VS = "/apis/snapshot.storage.k8s.io/v1"


def kubectl(*args, timeout=60, ns=NS):
    r = subprocess.run([KUBECTL, "-n", ns] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                       env=ENV, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def get(path):
    code, _, body = api.get(path)
    return body if code == 200 else None


def create(path, obj):
    code, _, body = api.post(path, obj)
    assert code == 201, (path, code, body)
    return body


def pvc_path(name, ns=NS):
    return f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{name}"


def pvc(name, ns=NS):
    return get(pvc_path(name, ns))


def claim(name, size, cls=None, mode="Filesystem", source=None, ns=NS, ref=False):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}, "volumeMode": mode}
    if cls is not None:
        spec["storageClassName"] = cls
    if source:
        spec["dataSourceRef" if ref else "dataSource"] = source
    return create(f"/api/v1/namespaces/{ns}/persistentvolumeclaims",
                  {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name}, "spec": spec})


def bound(name, ns=NS, timeout=20):
    return wait_until(lambda: (((pvc(name, ns) or {}).get("status") or {}).get("phase") == "Bound") and pvc(name, ns),
                      timeout, 0.1)


def pv_of(name, ns=NS):
    c = pvc(name, ns) or {}
    vn = (c.get("spec") or {}).get("volumeName")
    return get(f"/api/v1/persistentvolumes/{vn}") if vn else None


def pod(name, ns=NS):
    return get(f"/api/v1/namespaces/{ns}/pods/{name}")


def running(name, ns=NS, timeout=40):
    return wait_until(lambda: ((pod(name, ns) or {}).get("status") or {}).get("phase") == "Running" and pod(name, ns),
                      timeout, 0.2)


def run_pod(name, image, command, volumes=(), mounts=(), devices=(), node=None, privileged=False, ns=NS):
    c = {"name": "c", "image": image, "command": command}
    if mounts:
        c["volumeMounts"] = [{"name": v, "mountPath": p} for v, p in mounts]
    if devices:
        c["volumeDevices"] = [{"name": v, "devicePath": p} for v, p in devices]
    if privileged:
        c["securityContext"] = {"privileged": True}
    spec = {"containers": [c], "terminationGracePeriodSeconds": 1,
            "volumes": [{"name": v, "persistentVolumeClaim": {"claimName": cl}} for v, cl in volumes]}
    if node:
        spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}]}}}
    return create(f"/api/v1/namespaces/{ns}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                                   "spec": spec})


def delete_pod(name, ns=NS):
    api.delete(f"/api/v1/namespaces/{ns}/pods/{name}", {"gracePeriodSeconds": 1})


def gone(path, timeout=30):
    return wait_until(lambda: api.get(path)[0] == 404, timeout, 0.1)


def events(name, ns=NS):
    e = get(f"/api/v1/namespaces/{ns}/events?fieldSelector=involvedObject.name%3D{name}") or {}
    return [(x.get("reason"), x.get("message")) for x in e.get("items") or []]


def pod_exec(name, *cmd, ns=NS, inp=None):
    return subprocess.run([os.path.join(HERE, "kbox"), "exec", D, f"{ns}/{name}", "--"] + list(cmd),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, input=inp)


def node_run(node, *cmd):
    return subprocess.run(["nsenter", "-t", str(nodeutil.node_pid(D, node)), "-m", "--"] + list(cmd),
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


POOLS = int(open(os.path.join(D, "storage", "pools.pid")).read())


def pool_file(driver, handle, kind="volumes"):
    """The backing file of a volume or snapshot, seen from the host through the pools' namespace."""
    pool = driver.split(".")[0]
    return f"/proc/{POOLS}/root{D}/storage/{pool}/{kind}/{handle.rsplit('/', 1)[-1]}.img"


create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
NODES = ["node-a1", "node-b1"]

# ---------------------------------------------------------------- the drivers
drivers = sorted(x["metadata"]["name"] for x in get("/apis/storage.k8s.io/v1/csidrivers")["items"])
eq("both drivers are installed as CSIDriver objects", drivers, ["disk.csi.kbox.io", "hostpath.csi.kbox.io"], REF)
for n in NODES:
    cn = wait_until(lambda: get(f"/apis/storage.k8s.io/v1/csinodes/{n}"), 10, 0.1) or {}
    eq(f"{n}'s CSINode lists both drivers with their topology keys and the disk driver's allocatable count",
       [(d["name"], d.get("nodeID"), d.get("topologyKeys"), d.get("allocatable")) for d in (cn.get("spec") or {}).get("drivers") or []],
       [("disk.csi.kbox.io", n, ["topology.kubernetes.io/zone"], {"count": 2}),
        ("hostpath.csi.kbox.io", n, ["topology.hostpath.csi/node"], None)], "storage/v1 CSINode")
    eq(f"{n}'s CSINode is owned by its Node", [r.get("kind") for r in cn["metadata"].get("ownerReferences") or []],
       ["Node"], "kubelet csi plugin manager")
    node = get(f"/api/v1/nodes/{n}")
    eq(f"{n} carries the hostpath driver's topology label", node["metadata"]["labels"].get("topology.hostpath.csi/node"),
       n, "NodeGetInfo accessible_topology")
rc, out, _ = kubectl("get", "storageclass")
check("kubectl get storageclass shows kbox-disk as the default class, WaitForFirstConsumer",
      any(l.split()[:2] == ["kbox-disk", "(default)"] and "WaitForFirstConsumer" in l for l in out.splitlines()), out,
      "kbox-disk (default) ... WaitForFirstConsumer", "kubectl")

# ---------------------------------------------------------------- Immediate binding
t = time.time()
c = claim("hp", "1Gi", "kbox-hostpath")
c = bound("hp")
check("an Immediate claim of the hostpath class is Bound", c, c and c.get("status"), "Bound", "PV controller")
pv = pv_of("hp") or {"metadata": {}, "spec": {}}
uid = (c or {}).get("metadata", {}).get("uid")
eq("its volume is pvc-<claim uid>", pv["metadata"].get("name"), f"pvc-{uid}", "external-provisioner")
spec = pv.get("spec") or {}
eq("the volume: the claim's size, modes, class, Delete, Filesystem",
   [spec.get("capacity"), spec.get("accessModes"), spec.get("storageClassName"), spec.get("persistentVolumeReclaimPolicy"),
    spec.get("volumeMode")], [{"storage": "1Gi"}, ["ReadWriteOnce"], "kbox-hostpath", "Delete", "Filesystem"],
   "external-provisioner")
csi_src = spec.get("csi") or {}
import re  # noqa: E402
check("its CSI source: the driver, a UUID handle, ext4", csi_src.get("driver") == "hostpath.csi.kbox.io" and
      re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", csi_src.get("volumeHandle", "")) and
      csi_src.get("fsType") == "ext4", csi_src, "hostpath.csi.kbox.io, <uuid>, ext4", "csi-driver-host-path")
eq("its claimRef names the claim with its uid", {k: (spec.get("claimRef") or {}).get(k) for k in ("kind", "namespace", "name", "uid")},
   {"kind": "PersistentVolumeClaim", "namespace": NS, "name": "hp", "uid": uid}, "PV controller")
terms = (((spec.get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or [{}])[0]
hp_node = ((terms.get("matchExpressions") or [{}])[0].get("values") or [None])[0]
eq("its node affinity: the driver's topology key, one node", [(e["key"], e["operator"]) for e in terms.get("matchExpressions") or []],
   [("topology.hostpath.csi/node", "In")], "external-provisioner topology")
check("... a node of the box", hp_node in NODES, hp_node, NODES, REF)
eq("the volume's finalizers: the provisioner's and pv-protection", pv["metadata"].get("finalizers"),
   ["external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"], "external-provisioner, pv-protection")
eq("the volume's annotation names its provisioner", (pv["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by"),
   "hostpath.csi.kbox.io", "external-provisioner")
ann = (c or {}).get("metadata", {}).get("annotations") or {}
eq("the claim's annotations: bind-completed, bound-by-controller, the storage provisioner",
   [ann.get(k) for k in ("pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
                         "volume.kubernetes.io/storage-provisioner", "volume.beta.kubernetes.io/storage-provisioner")],
   ["yes", "yes", "hostpath.csi.kbox.io", "hostpath.csi.kbox.io"], "PV controller")
eq("the claim carries pvc-protection", (c or {}).get("metadata", {}).get("finalizers"), ["kubernetes.io/pvc-protection"],
   "StorageObjectInUseProtection")
eq("the claim's status: Bound, capacity and modes of the volume",
   {k: ((c or {}).get("status") or {}).get(k) for k in ("phase", "capacity", "accessModes")},
   {"phase": "Bound", "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"]}, "PV controller")
ev = events("hp")
check("events Provisioning and ProvisioningSucceeded", ("Provisioning", f'External provisioner is provisioning volume for claim "{NS}/hp"') in ev
      and ("ProvisioningSucceeded", f"Successfully provisioned volume pvc-{uid}") in ev, ev, "both", "external-provisioner")
check("the file behind it is sparse, of the claim's size", os.stat(pool_file("hostpath", csi_src.get("volumeHandle", "x"))).st_size == GiB
      and os.stat(pool_file("hostpath", csi_src.get("volumeHandle", "x"))).st_blocks == 0, None, "1 GiB, no blocks", REF)

# ---------------------------------------------------------------- WaitForFirstConsumer
c = claim("wf", "2Gi")
eq("a claim without a class gets the default class", c["spec"].get("storageClassName"), "kbox-disk", "DefaultStorageClass")
time.sleep(1.5)
eq("a WaitForFirstConsumer claim stays Pending without a consumer", pvc("wf")["status"].get("phase"), "Pending", REF)
check("... with the event WaitForFirstConsumer", ("WaitForFirstConsumer", "waiting for first consumer to be created before binding")
      in events("wf"), events("wf"), "WaitForFirstConsumer", "PV controller")
WRITE = ("for i in 1 2 3 4 5; do head -c $((i * 70001)) /dev/urandom > /data/f$i; done; mkdir /data/d; "
         "echo hello > /data/d/x; cd /data && md5sum f1 f2 f3 f4 f5 d/x > /data/sums; sync; sleep 3600")
run_pod("writer", "busybox:1.36", ["sh", "-c", WRITE], volumes=[("d", "wf")], mounts=[("d", "/data")], node="node-b1")
w = running("writer")
check("the consumer pod runs", w, (pod("writer") or {}).get("status"), "Running", REF)
c = pvc("wf")
eq("the scheduler wrote selected-node on the claim", ((c["metadata"].get("annotations") or {}).get("volume.kubernetes.io/selected-node")),
   "node-b1", "VolumeBinding PreBind")
pv = pv_of("wf") or {"metadata": {}, "spec": {}}
wf_handle = ((pv["spec"].get("csi")) or {}).get("volumeHandle", "")
eq("the volume is provisioned in the pod's zone (the disk driver's handle names it)", wf_handle,
   f"projects/kbox/zones/zone-b/disks/pvc-{c['metadata']['uid']}", "external-provisioner topology")
eq("its node affinity: zone-b", (((pv["spec"].get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms")),
   [{"matchExpressions": [{"key": "topology.kubernetes.io/zone", "operator": "In", "values": ["zone-b"]}]}],
   "external-provisioner topology")
wuid = w["metadata"]["uid"] if w else "?"
wpv = pv["metadata"].get("name")
mi = node_run("node-b1", "cat", "/proc/1/mountinfo").stdout
stage = f"/var/lib/kubelet/plugins/kubernetes.io/csi/disk.csi.kbox.io/{hashlib.sha256(wf_handle.encode()).hexdigest()}/globalmount"
target = f"/var/lib/kubelet/pods/{wuid}/volumes/kubernetes.io~csi/{wpv}/mount"


def mount_line(text, mp):
    for line in text.splitlines():
        f = line.split()
        if f[4] == mp:
            return f
    return None


sm, tm = mount_line(mi, stage), mount_line(mi, target)
check("NodeStage: ext4 from a loop device at the staging path plugins/kubernetes.io/csi/<driver>/<sha256(handle)>/globalmount",
      sm is not None and sm[-3] == "ext4" and sm[-2].startswith("/dev/loop"), sm, "ext4 /dev/loopN", "kubelet csi_attacher")
check("NodePublish: the same file system at pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount",
      tm is not None and sm is not None and tm[2] == sm[2], tm, "same device as the staging mount", "kubelet csi_mounter")
vd = json.loads(node_run("node-b1", "cat", os.path.dirname(target) + "/vol_data.json").stdout or "{}")
eq("vol_data.json beside the mount names the driver, handle and PV", [vd.get(k) for k in ("driverName", "volumeHandle", "specVolID")],
   ["disk.csi.kbox.io", wf_handle, wpv], "kubelet csi_mounter")
loops = json.loads(subprocess.run(["losetup", "-J", "-O", "NAME,BACK-FILE,DIO"], stdout=subprocess.PIPE, text=True).stdout or "{}")
mine = [x for x in loops.get("loopdevices", []) if x.get("back-file", "").endswith(f"/disk/volumes/{wf_handle.rsplit('/', 1)[-1]}.img")]
check("the volume's loop device uses direct I/O (losetup --direct-io=on)", len(mine) == 1 and str(mine[0].get("dio")) in ("1", "True", "true"),
      mine, "one device, DIO 1", "ENV.md loop devices")
sums = pod_exec("writer", "cat", "/data/sums").stdout
check("the pod wrote its files and checksums", sums.count("\n") == 6, sums, "6 lines", REF)

# ---------------------------------------------------------------- Block
claim("blk", "1Gi", "kbox-hostpath", mode="Block")
b = bound("blk")
bpv = pv_of("blk") or {"metadata": {"name": "?"}, "spec": {}}
bnode = (((bpv["spec"].get("nodeAffinity") or {}).get("required") or {}).get("nodeSelectorTerms") or [{}])[0]
bnode = ((bnode.get("matchExpressions") or [{}])[0].get("values") or ["?"])[0]
RW = ("import os,mmap,sys\nfd=os.open(sys.argv[1],os.O_RDWR|os.O_DIRECT)\nm=mmap.mmap(-1,4096)\n"
      "m.write(b'kbox-block'*409+b'kbox-b')\nos.pwritev(fd,[m],8192)\nn=mmap.mmap(-1,4096)\nos.preadv(fd,[n],8192)\n"
      "print(n[:10].decode(), os.fstat(fd).st_mode >> 12)\n")
run_pod("bdev", "python:3", ["sleep", "3600"], volumes=[("d", "blk")], devices=[("d", "/dev/xvda")])
bp = running("bdev")
eq("the Block volume's pod lands on the volume's node (its node affinity)", (bp or {}).get("spec", {}).get("nodeName"), bnode,
   "VolumeBinding: volume node affinity")
r = pod_exec("bdev", "python3", "-c", RW, "/dev/xvda")
eq("the pod opens its devicePath with O_DIRECT, writes and reads a block (a block device: S_IFBLK 6)", (r.stdout.strip(), r.stderr),
   ("kbox-block 6", ""), "CONTROLPLANE.md §1.3")
buid = (bp or {}).get("metadata", {}).get("uid", "?")
pubp = f"/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/{bpv['metadata']['name']}/{buid}"
link = f"/var/lib/kubelet/pods/{buid}/volumeDevices/kubernetes.io~csi/{bpv['metadata']['name']}"
gmap = f"/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/{bpv['metadata']['name']}/dev/{buid}"
r = node_run(bnode, "python3", "-c", f"import os,stat; print(stat.S_ISBLK(os.stat('{pubp}').st_mode), os.readlink('{link}'), "
                                     f"stat.S_ISBLK(os.stat('{gmap}').st_mode))")
eq("on the node: the publish path is a block device, the pod's volumeDevices entry a symlink to it, the global map bound",
   r.stdout.split(), ["True", pubp, "True"], "CONTROLPLANE.md §1.2")
r = node_run(bnode, "python3", "-c", f"import os,mmap; fd=os.open('{pubp}', os.O_RDONLY|os.O_DIRECT); m=mmap.mmap(-1,4096); "
                                     "os.preadv(fd,[m],8192); print(m[:10].decode())")
eq("an agent on the node opens the publish path with O_DIRECT and reads the pod's block", r.stdout.strip(), "kbox-block",
   "CONTROLPLANE.md §1.3")
run_pod("priv", "busybox:1.36", ["sleep", "3600"], volumes=[("d", "blk")], devices=[("d", "/dev/xvdq")], privileged=True)
running("priv")
r = pod_exec("priv", "test", "-e", "/dev/xvdq")
eq("a privileged container's volumeDevices are ignored: no /dev/xvdq", r.returncode, 1, "kubernetes#85624, CONTROLPLANE.md §1.4")
delete_pod("priv")
create(f"/api/v1/namespaces/{NS}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "eph"}, "spec": {
    "terminationGracePeriodSeconds": 1,
    "containers": [{"name": "c", "image": "busybox:1.36", "command": ["sh", "-c", "echo hi > /scratch/x; sleep 3600"],
                    "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}]}],
    "volumes": [{"name": "scratch", "ephemeral": {"volumeClaimTemplate": {"metadata": {"labels": {"t": "eph"}}, "spec": {
        "accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-hostpath", "resources": {"requests": {"storage": "1Gi"}}}}}}]}})
ep = running("eph")
c = pvc("eph-scratch") or {"metadata": {}}
eq("a generic ephemeral volume becomes the claim <pod>-<volume>, owned by the pod, with the template's labels",
   [[(r.get("kind"), r.get("name"), r.get("controller")) for r in c["metadata"].get("ownerReferences") or []],
    c["metadata"].get("labels")], [[("Pod", "eph", True)], {"t": "eph"}], "ephemeral volume controller")
check("... and the pod runs on it", ep, (pod("eph") or {}).get("status"), "Running", "ephemeral volume controller")
epv = (pv_of("eph-scratch") or {"metadata": {"name": "?"}})["metadata"]["name"]
delete_pod("eph")
check("deleting the pod deletes its ephemeral claim (garbage collector) and the volume",
      gone(pvc_path("eph-scratch")) and gone(f"/api/v1/persistentvolumes/{epv}"), None, "404", "ephemeral volumes")

# ---------------------------------------------------------------- snapshot of a frozen file system, restore
r = node_run("node-b1", "fsfreeze", "-f", stage)
eq("fsfreeze -f on the staged file system", (r.returncode, r.stderr), (0, ""), "the agent's job")
s0 = create(f"{VS}/namespaces/{NS}/volumesnapshots", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                                                      "metadata": {"name": "snap1"},
                                                      "spec": {"source": {"persistentVolumeClaimName": "wf"}}})
s1 = wait_until(lambda: ((get(f"{VS}/namespaces/{NS}/volumesnapshots/snap1") or {}).get("status") or {}).get("creationTime"),
                15, 0.05)
node_run("node-b1", "fsfreeze", "-u", stage)
check("the snapshot is cut (creationTime) and bound", s1, None, "creationTime", "external-snapshotter")
code, _, stream = api.watch(f"{VS}/namespaces/{NS}/volumesnapshots", {"resourceVersion": s0["metadata"]["resourceVersion"],
                                                                      "fieldSelector": "metadata.name=snap1"}, timeout=20)
seen = []
for e in stream:  # the snapshot's history since its creation, replayed by the watch
    st = (e.get("object") or {}).get("status") or {}
    if st.get("boundVolumeSnapshotContentName"):
        seen.append(bool(st.get("readyToUse")))
    if st.get("readyToUse") or e.get("type") not in ("ADDED", "MODIFIED"):
        break
check("its status went from readyToUse false (cut, uploading) to true", seen[:1] == [False] and seen[-1:] == [True], seen,
      "[False, ..., True]", "snapshotReadySeconds")
s1 = wait_until(lambda: ((get(f"{VS}/namespaces/{NS}/volumesnapshots/snap1") or {}).get("status") or {}).get("readyToUse")
                and get(f"{VS}/namespaces/{NS}/volumesnapshots/snap1"), 15, 0.1) or {"metadata": {}, "spec": {}, "status": {}}
eq("the snapshot got the driver's default class", s1["spec"].get("volumeSnapshotClassName"), "kbox-disk-snapclass",
   "snapshot-controller default class")
eq("readyToUse, restoreSize 2Gi, bound to snapcontent-<uid>",
   [s1["status"].get("readyToUse"), s1["status"].get("restoreSize"), s1["status"].get("boundVolumeSnapshotContentName")],
   [True, "2Gi", f"snapcontent-{s1['metadata'].get('uid')}"], "external-snapshotter")
eq("its finalizers", s1["metadata"].get("finalizers"), ["snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection",
                                                       "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"],
   "snapshot-controller")
vsc = get(f"{VS}/volumesnapshotcontents/snapcontent-{s1['metadata'].get('uid')}") or {"metadata": {}, "spec": {}, "status": {}}
eq("the content: ref with uid, driver, Delete, the volume's handle, Filesystem",
   [vsc["spec"].get("volumeSnapshotRef", {}).get("uid"), vsc["spec"].get("driver"), vsc["spec"].get("deletionPolicy"),
    vsc["spec"].get("source"), vsc["spec"].get("sourceVolumeMode")],
   [s1["metadata"].get("uid"), "disk.csi.kbox.io", "Delete", {"volumeHandle": wf_handle}, "Filesystem"], "VolumeSnapshotContent")
vst = vsc.get("status") or {}
eq("its status: the disk driver's snapshot handle, restoreSize in bytes, readyToUse",
   [vst.get("snapshotHandle"), vst.get("restoreSize"), vst.get("readyToUse")],
   [f"projects/kbox/global/snapshots/snapshot-{s1['metadata'].get('uid')}", 2 * GiB, True], "VolumeSnapshotContent")
check("... and creationTime in nanoseconds", isinstance(vst.get("creationTime"), int) and abs(vst["creationTime"] / 1e9 - time.time()) < 120,
      vst.get("creationTime"), "int ns", "VolumeSnapshotContent")
ev = [x[0] for x in events("snap1")]
check("events CreatingSnapshot, SnapshotCreated, SnapshotReady", all(x in ev for x in ("CreatingSnapshot", "SnapshotCreated", "SnapshotReady")),
      ev, "all three", "snapshot-controller")
create("/apis/storage.k8s.io/v1/storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                                  "metadata": {"name": "disk-now"}, "provisioner": "disk.csi.kbox.io",
                                                  "volumeBindingMode": "Immediate"})
SRC = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": "snap1"}
c = claim("restored", "2Gi", "disk-now", source=SRC)
eq("dataSource is copied to dataSourceRef", c["spec"].get("dataSourceRef"), SRC, "PVC dataSource/dataSourceRef")
c = bound("restored")
check("a claim from the snapshot is Bound", c, pvc("restored").get("status"), "Bound", "external-provisioner")
rpv = pv_of("restored") or {"spec": {"csi": {}}}
rfile = pool_file("disk", rpv["spec"]["csi"].get("volumeHandle", "x"))
r = subprocess.run(["e2fsck", "-fn", rfile], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
eq("the restored volume passes e2fsck -fn (the snapshot of a frozen ext4 is clean)", r.returncode, 0, "fsfreeze + reflink")
if r.returncode:
    print(r.stdout[-2000:])
run_pod("check", "busybox:1.36", ["sh", "-c", "cd /data && md5sum -c sums && sleep 3600"], volumes=[("d", "restored")],
        mounts=[("d", "/data")])
running("check")
r = wait_until(lambda: "d/x: OK" in (api.get(f"/api/v1/namespaces/{NS}/pods/check/log")[2] or "") and
               api.get(f"/api/v1/namespaces/{NS}/pods/check/log")[2], 10, 0.2)
check("every file's checksum matches in the restored volume", r and r.count(": OK") == 6, r, "6 OK", REF)
delete_pod("check")  # the disk driver allows two volumes a node
claim("rawblk", "2Gi", "disk-now", mode="Block", source=SRC, ref=True)
want = (f'failed to provision volume with StorageClass "disk-now": error getting handle for DataSource Type VolumeSnapshot '
        f"by Name snap1: requested volume {NS}/rawblk modifies the mode of the source volume but does not have permission to "
        f"do so. snapshot.storage.kubernetes.io/allow-volume-mode-change annotation is not present on snapshotcontent "
        f"{vsc['metadata'].get('name')}")
ok = wait_until(lambda: ("ProvisioningFailed", want) in events("rawblk"), 10, 0.1)
check("a Block claim from a Filesystem snapshot is refused with the provisioner's event", ok, events("rawblk"), want,
      "external-provisioner --prevent-volume-mode-conversion")
eq("... and stays Pending", pvc("rawblk")["status"].get("phase"), "Pending", "external-provisioner")
api.patch(f"{VS}/volumesnapshotcontents/{vsc['metadata'].get('name')}",
          {"metadata": {"annotations": {"snapshot.storage.kubernetes.io/allow-volume-mode-change": "true"}}})
c = bound("rawblk")
check("with allow-volume-mode-change on the content, it is Bound", c, pvc("rawblk").get("status"), "Bound", "external-snapshotter README")
run_pod("raw", "busybox:1.36", ["sleep", "3600"], volumes=[("d", "rawblk")], devices=[("d", "/dev/xvdb")])
rp = running("raw") or {"metadata": {"uid": "?"}, "spec": {}}
rpub = f"/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/{pv_of('rawblk')['metadata']['name']}/{rp['metadata']['uid']}"
r = node_run(rp["spec"].get("nodeName", "node-a1"), "python3", "-c",
             f"import os,mmap; fd=os.open('{rpub}', os.O_RDONLY|os.O_DIRECT); m=mmap.mmap(-1,4096); os.preadv(fd,[m],0); "
             "print(m[1080:1082].hex())")
eq("its publish path opens with O_DIRECT and holds the ext4 superblock (magic 0xEF53)", r.stdout.strip(), "53ef",
   "ext4 disk layout")
delete_pod("raw")

# ---------------------------------------------------------------- changed blocks (SnapshotMetadata)
create("/apis/storage.k8s.io/v1/storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                                  "metadata": {"name": "hp-wffc"}, "provisioner": "hostpath.csi.kbox.io",
                                                  "volumeBindingMode": "WaitForFirstConsumer"})
SIZES = {"v1": 1, "v4": 4, "v16": 16}
for v, g in SIZES.items():
    claim(v, f"{g}Gi", "hp-wffc", mode="Block")
claim("vd", "1Gi", "kbox-disk", mode="Block")
run_pod("cbt", "python:3", ["sleep", "3600"], volumes=[(v, v) for v in list(SIZES) + ["vd"]],
        devices=[(v, f"/dev/{v}") for v in list(SIZES) + ["vd"]], node="node-a1")
cp = running("cbt")
check("a pod with four Block volumes (1, 4, 16 GiB hostpath, 1 GiB disk) runs", cp, (pod("cbt") or {}).get("status"),
      "Running", REF)
rng = random.Random(14)
WRITER = ("import os,mmap,sys,json\nfor dev,offs,tag in json.loads(sys.stdin.read()):\n"
          " fd=os.open(dev,os.O_RDWR|os.O_DIRECT)\n for o in offs:\n  m=mmap.mmap(-1,4096)\n"
          "  m.write((tag+'@'+str(o)).encode().ljust(4096,b'.'))\n  os.pwritev(fd,[m],o)\n os.close(fd)\n")
A, B = {}, {}
for v, g in list(SIZES.items()) + [("vd", 1)]:
    nb = g * GiB // 4096
    a = {0, nb - 1} | {rng.randrange(nb) for _ in range(20)}
    b = set(rng.sample(sorted(a), 6)) | {rng.randrange(nb) for _ in range(8)}
    start = rng.randrange(nb - 8)
    b |= {start, start + 1, start + 2}  # a run: merged into one extent by VARIABLE_LENGTH
    A[v], B[v] = {x * 4096 for x in a}, {x * 4096 for x in b}


def write(which, tag):
    r = pod_exec("cbt", "python3", "-c", WRITER, inp=json.dumps([[f"/dev/{v}", sorted(s), tag] for v, s in which.items()]))
    eq(f"the pod writes its {tag} blocks with O_DIRECT", (r.returncode, r.stderr), (0, ""), REF)


def snap(name, claim_name, cls=None):
    o = {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": name},
         "spec": {"source": {"persistentVolumeClaimName": claim_name}}}
    if cls:
        o["spec"]["volumeSnapshotClassName"] = cls
    create(f"{VS}/namespaces/{NS}/volumesnapshots", o)


def ready_snap(name, ns=NS, timeout=20):
    return wait_until(lambda: ((get(f"{VS}/namespaces/{ns}/volumesnapshots/{name}") or {}).get("status") or {}).get("readyToUse")
                      and get(f"{VS}/namespaces/{ns}/volumesnapshots/{name}"), timeout, 0.1)


def handle_of(name, ns=NS):
    s = get(f"{VS}/namespaces/{ns}/volumesnapshots/{name}") or {}
    c = get(f"{VS}/volumesnapshotcontents/{(s.get('status') or {}).get('boundVolumeSnapshotContentName')}") or {}
    return (c.get("status") or {}).get("snapshotHandle")


def cut(name):
    return wait_until(lambda: ((get(f"{VS}/namespaces/{NS}/volumesnapshots/{name}") or {}).get("status") or {})
                      .get("creationTime"), 15, 0.05)


write(A, "A")
for v in list(SIZES) + ["vd"]:
    snap(f"a-{v}", v)
for v in list(SIZES) + ["vd"]:
    check(f"snapshot a-{v} is cut", cut(f"a-{v}"), None, "creationTime", REF)
write(B, "B")  # after every a-* is cut (creationTime: the reflink copy is made)
for v in list(SIZES) + ["vd"]:
    check(f"snapshot a-{v} is ready", ready_snap(f"a-{v}"), None, "readyToUse", REF)
    snap(f"b-{v}", v)
for v in list(SIZES) + ["vd"]:
    check(f"snapshot b-{v} is ready", ready_snap(f"b-{v}"), None, "readyToUse", REF)

# the client, written from proto/schema.proto's field list with python3-protobuf (not the box's encoder)
F = descriptor_pb2.FieldDescriptorProto
fdp = descriptor_pb2.FileDescriptorProto(name="kbox_test_snapmeta.proto", package="snapshotmetadata", syntax="proto3")
en = fdp.enum_type.add(name="BlockMetadataType")
for i, n in enumerate(("UNKNOWN", "FIXED_LENGTH", "VARIABLE_LENGTH")):
    en.value.add(name=n, number=i)


def msg(name, fields):
    m = fdp.message_type.add(name=name)
    for fname, num, typ, *rest in fields:
        f = m.field.add(name=fname, number=num, type=typ, label=F.LABEL_REPEATED if "rep" in rest else F.LABEL_OPTIONAL)
        if typ in (F.TYPE_MESSAGE, F.TYPE_ENUM):
            f.type_name = rest[0]


msg("BlockMetadata", [("byte_offset", 1, F.TYPE_INT64), ("size_bytes", 2, F.TYPE_INT64)])
RESP = [("block_metadata_type", 1, F.TYPE_ENUM, ".snapshotmetadata.BlockMetadataType"),
        ("volume_capacity_bytes", 2, F.TYPE_INT64), ("block_metadata", 3, F.TYPE_MESSAGE, ".snapshotmetadata.BlockMetadata", "rep")]
msg("GetMetadataAllocatedRequest", [("security_token", 1, F.TYPE_STRING), ("namespace", 2, F.TYPE_STRING),
                                    ("snapshot_name", 3, F.TYPE_STRING), ("starting_offset", 4, F.TYPE_INT64),
                                    ("max_results", 5, F.TYPE_INT32)])
msg("GetMetadataAllocatedResponse", RESP)
msg("GetMetadataDeltaRequest", [("security_token", 1, F.TYPE_STRING), ("namespace", 2, F.TYPE_STRING),
                                ("base_snapshot_id", 3, F.TYPE_STRING), ("target_snapshot_name", 4, F.TYPE_STRING),
                                ("starting_offset", 5, F.TYPE_INT64), ("max_results", 6, F.TYPE_INT32)])
msg("GetMetadataDeltaResponse", RESP)
pool = descriptor_pool.DescriptorPool()
pool.Add(fdp)
fac = message_factory.MessageFactory(pool)
M = {n: fac.GetPrototype(pool.FindMessageTypeByName("snapshotmetadata." + n)) for n in
     ("GetMetadataAllocatedRequest", "GetMetadataAllocatedResponse", "GetMetadataDeltaRequest", "GetMetadataDeltaResponse")}

sms = get("/apis/cbt.storage.k8s.io/v1beta1/snapshotmetadataservices/hostpath.csi.kbox.io") or {"spec": {}}
svc = get("/api/v1/namespaces/kube-system/services/kbox-snapshot-metadata") or {"spec": {}}
eq("the SnapshotMetadataService names the Service's ClusterIP and port, an audience and the CA",
   [sms["spec"].get("address"), bool(sms["spec"].get("audience")), base64.b64decode(sms["spec"].get("caCert", "")) ==
    open(box.ca, "rb").read()], [f"{svc['spec'].get('clusterIP')}:6443", True, True], "KEP-3314 SnapshotMetadataService")
AUD = sms["spec"].get("audience")
create(f"/api/v1/namespaces/{NS}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "backup"}})
create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles", {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "snap-reader"},
    "rules": [{"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"], "verbs": ["get"]}]})
create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings", {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "backup-snaps"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "snap-reader"},
    "subjects": [{"kind": "ServiceAccount", "name": "backup", "namespace": NS}]})


def sa_token(sa, aud):
    code, _, b = api.post(f"/api/v1/namespaces/{NS}/serviceaccounts/{sa}/token",
                          {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                           "spec": {"audiences": [aud], "expirationSeconds": 600}})
    return b["status"]["token"]


TOKEN = sa_token("backup", AUD)
PORT = int(open(os.path.join(D, "storage", "snapmeta.port")).read())
chan = grpc.secure_channel(f"127.0.0.1:{PORT}", grpc.ssl_channel_credentials(base64.b64decode(sms["spec"].get("caCert", ""))))


def call(method, **kw):
    """-> (status code name, [responses])."""
    req = M[f"{method}Request"](security_token=kw.pop("token", TOKEN), namespace=NS, **kw)
    stub = chan.unary_stream(f"/snapshotmetadata.SnapshotMetadata/{method}", request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=M[f"{method}Response"].FromString)
    out = []
    try:
        for r in stub(req, timeout=30):
            out.append(r)
        return "OK", out
    except grpc.RpcError as e:
        return e.code().name, out


def blocks(resps):
    """The 4 KiB blocks the tuples cover, and whether offsets strictly increase."""
    out, last, inc = set(), -1, True
    for r in resps:
        for b in r.block_metadata:
            inc = inc and b.byte_offset >= last
            last = b.byte_offset + b.size_bytes
            out |= set(range(b.byte_offset, b.byte_offset + b.size_bytes, 4096))
    return out, inc


for v, g in SIZES.items():
    code, rs = call("GetMetadataDelta", base_snapshot_id=handle_of(f"a-{v}"), target_snapshot_name=f"b-{v}")
    got, inc = blocks(rs)
    eq(f"GetMetadataDelta between two snapshots of a {g} GiB sparse volume: exactly the 4 KiB blocks written between them",
       (code, sorted(got)), ("OK", sorted(B[v])), "KEP-3314 GetMetadataDelta")
    check("... in strictly increasing, non-overlapping tuples", inc, None, "increasing", "schema.proto")
    eq("... VARIABLE_LENGTH, with the volume's capacity", {(r.block_metadata_type, r.volume_capacity_bytes) for r in rs},
       {(2, g * GiB)}, "schema.proto")
    code, rs = call("GetMetadataAllocated", snapshot_name=f"b-{v}")
    eq(f"GetMetadataAllocated of the {g} GiB volume's second snapshot: every block written", (code, sorted(blocks(rs)[0])),
       ("OK", sorted(A[v] | B[v])), "KEP-3314 GetMetadataAllocated")
code, rs = call("GetMetadataDelta", base_snapshot_id=handle_of("a-vd"), target_snapshot_name="b-vd", max_results=3)
eq("the disk driver answers in FIXED_LENGTH 4 KiB tuples, exactly the blocks written", (code, sorted(blocks(rs)[0]),
   {(r.block_metadata_type, b.size_bytes) for r in rs for b in r.block_metadata}), ("OK", sorted(B["vd"]), {(1, 4096)}),
   "KEP-3314 FIXED_LENGTH")
check("max_results 3: no message holds more than 3 tuples", rs and max(len(r.block_metadata) for r in rs) <= 3,
      [len(r.block_metadata) for r in rs], "<= 3", "schema.proto max_results")
third = sorted(B["vd"])[2]
code, rs = call("GetMetadataDelta", base_snapshot_id=handle_of("a-vd"), target_snapshot_name="b-vd", starting_offset=third + 100)
eq("starting_offset resumes at the block holding it", (code, sorted(blocks(rs)[0])), ("OK", sorted(B["vd"])[2:]),
   "schema.proto starting_offset")
code, _ = call("GetMetadataAllocated", snapshot_name="b-v1", token=sa_token("backup", "another-audience"))
eq("a token for another audience is refused: UNAUTHENTICATED", code, "UNAUTHENTICATED", "external-snapshot-metadata authn")
create(f"/api/v1/namespaces/{NS}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "nobody"}})
code, _ = call("GetMetadataAllocated", snapshot_name="b-v1", token=sa_token("nobody", AUD))
eq("a user who may not get volumesnapshots is refused: PERMISSION_DENIED", code, "PERMISSION_DENIED",
   "external-snapshot-metadata SubjectAccessReview")
code, _ = call("GetMetadataDelta", base_snapshot_id=handle_of("a-v4"), target_snapshot_name="b-v1")
eq("a base snapshot of another volume is refused: INVALID_ARGUMENT", code, "INVALID_ARGUMENT", "KEP-3314")
code, _ = call("GetMetadataAllocated", snapshot_name="nope")
eq("an unknown snapshot: NOT_FOUND", code, "NOT_FOUND", "KEP-3314")
POD_CLIENT = ("import grpc,sys,base64\nsys.path.insert(0,'/kbox-src')\nfrom kboxd import snapmeta\n"
              "addr,ca,tok,ns,name=sys.argv[1:6]\n"
              "ch=grpc.secure_channel(addr,grpc.ssl_channel_credentials(base64.b64decode(ca)),"
              "options=[('grpc.ssl_target_name_override','kbox-snapshot-metadata.kube-system.svc')])\n"
              "req=snapmeta._key(1,2)+snapmeta._varint(len(tok))+tok.encode()+snapmeta._key(2,2)+snapmeta._varint(len(ns))+"
              "ns.encode()+snapmeta._key(3,2)+snapmeta._varint(len(name))+name.encode()\n"
              "st=ch.unary_stream('/snapshotmetadata.SnapshotMetadata/GetMetadataAllocated',request_serializer=lambda x:x,"
              "response_deserializer=snapmeta.decode_response)\n"
              "print(sum(len(r['block_metadata']) for r in st(req,timeout=20)))\n")
code, rs = call("GetMetadataAllocated", snapshot_name="b-v4")
r = pod_exec("cbt", "python3", "-c", POD_CLIENT.replace("/kbox-src", HERE), sms["spec"].get("address", ""),
             sms["spec"].get("caCert", ""), TOKEN, NS, "b-v4")
eq("from a pod, through the Service's ClusterIP (kube-proxy), the same answer", (r.stdout.strip(), r.stderr.strip()[-300:]),
   (str(sum(len(x.block_metadata) for x in rs)), ""), "SnapshotMetadataService.spec.address")

# ---------------------------------------------------------------- volume limits, quota, protection, reclaim
for i in (1, 2, 3):
    claim(f"lim{i}", "1Gi", "kbox-disk", mode="Block")
run_pod("lim", "busybox:1.36", ["sleep", "3600"], volumes=[(f"l{i}", f"lim{i}") for i in (1, 2, 3)],
        devices=[(f"l{i}", f"/dev/l{i}") for i in (1, 2, 3)], node="node-b1")
msg_ = wait_until(lambda: next((m for r_, m in events("lim") if r_ == "FailedScheduling"), None), 15, 0.2) or ""
check("a pod needing three disk volumes on a node allowing two is unschedulable: node(s) exceed max volume count",
      "node(s) exceed max volume count" in msg_, msg_, "... exceed max volume count ...", "NodeVolumeLimits, CSINode allocatable")
delete_pod("lim")
QNS = "storage-quota"
create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": QNS}})
create(f"/api/v1/namespaces/{QNS}/resourcequotas", {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "q"},
                                                   "spec": {"hard": {"requests.storage": "3Gi", "persistentvolumeclaims": "5"}}})
claim("q1", "2Gi", "kbox-hostpath", ns=QNS)
code, _, body = api.post(f"/api/v1/namespaces/{QNS}/persistentvolumeclaims", {
    "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "q2"},
    "spec": {"storageClassName": "kbox-hostpath", "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}}})
eq("a claim past the quota's requests.storage is refused (403) with the apiserver's message",
   (code, (body or {}).get("message")), (403, 'persistentvolumeclaims "q2" is forbidden: exceeded quota: q, requested: '
                                              'requests.storage=2Gi, used: requests.storage=2Gi, limited: requests.storage=3Gi'),
   "ResourceQuota admission")
q = wait_until(lambda: (((get(f"/api/v1/namespaces/{QNS}/resourcequotas/q") or {}).get("status") or {}).get("used") or {})
               .get("requests.storage") == "2Gi" and get(f"/api/v1/namespaces/{QNS}/resourcequotas/q"), 10, 0.1) or {}
eq("the quota's status: hard and used", (q.get("status") or {}), {"hard": {"requests.storage": "3Gi", "persistentvolumeclaims": "5"},
                                                                  "used": {"requests.storage": "2Gi", "persistentvolumeclaims": "1"}},
   "resourcequota controller")

wfile = pool_file("disk", wf_handle)
api.delete(pvc_path("wf"))
time.sleep(1.5)
c = pvc("wf")
check("a claim in use by a running pod stays, Terminating, held by pvc-protection",
      c and c["metadata"].get("deletionTimestamp") and "kubernetes.io/pvc-protection" in c["metadata"].get("finalizers", []),
      c and c["metadata"], "deletionTimestamp + finalizer", "pvc-protection controller")
delete_pod("writer")
check("once its pod is gone, the claim goes", gone(pvc_path("wf")), None, "404", "pvc-protection controller")
check("... its Delete volume goes", gone(f"/api/v1/persistentvolumes/{wpv}"), None, "404", "reclaim Delete")
check("... and the backing file with it", wait_until(lambda: not os.path.exists(wfile), 10, 0.1), wfile, "gone", "DeleteVolume")
create("/apis/storage.k8s.io/v1/storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                                  "metadata": {"name": "hp-retain"}, "provisioner": "hostpath.csi.kbox.io",
                                                  "reclaimPolicy": "Retain"})
claim("keep", "1Gi", "hp-retain")
bound("keep")
kpv = pv_of("keep") or {"metadata": {"name": "?"}, "spec": {"csi": {}}}
kfile = pool_file("hostpath", kpv["spec"]["csi"].get("volumeHandle", "x"))
api.delete(pvc_path("keep"))
p = wait_until(lambda: ((get(f"/api/v1/persistentvolumes/{kpv['metadata']['name']}") or {}).get("status") or {}).get("phase")
               == "Released", 10, 0.1)
check("a Retain volume whose claim is deleted is Released", p, None, "Released", "reclaim Retain")
api.delete(f"/api/v1/persistentvolumes/{kpv['metadata']['name']}")
check("deleting the Released Retain volume removes the object", gone(f"/api/v1/persistentvolumes/{kpv['metadata']['name']}"),
      None, "404", "pv-protection")
check("... and keeps the backing volume", os.path.exists(kfile), kfile, "exists", "reclaim Retain")
create("/api/v1/persistentvolumes", {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "retained"},
                                     "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                              "persistentVolumeReclaimPolicy": "Retain", "storageClassName": "hp-retain",
                                              "csi": {"driver": "hostpath.csi.kbox.io", "fsType": "ext4",
                                                      "volumeHandle": kpv["spec"]["csi"].get("volumeHandle")},
                                              "claimRef": {"namespace": NS, "name": "again"}}})
claim("again", "1Gi", "hp-retain")
c = bound("again")
eq("a PV pre-bound to a claim by name (the retained handle) binds it", (c or {}).get("spec", {}).get("volumeName"), "retained",
   "PV controller pre-bound volumes")

# ---------------------------------------------------------------- snapshot deletion, a pre-provisioned content elsewhere
s1h = handle_of("snap1")
api.delete(f"{VS}/namespaces/{NS}/volumesnapshots/snap1")
check("a Delete snapshot's content goes with it", gone(f"{VS}/volumesnapshotcontents/{vsc['metadata'].get('name')}"), None, "404",
      "deletionPolicy Delete")
check("... and its snapshot file", wait_until(lambda: not os.path.exists(pool_file("disk", s1h, "snapshots")), 10, 0.1),
      None, "gone", "DeleteSnapshot")
create(f"{VS}/volumesnapshotclasses", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
                                       "metadata": {"name": "hp-retain-snap"}, "driver": "hostpath.csi.kbox.io",
                                       "deletionPolicy": "Retain"})
snap("kept", "blk", "hp-retain-snap")
ks = ready_snap("kept") or {"status": {}}
kh = handle_of("kept")
kvsc = ks["status"].get("boundVolumeSnapshotContentName")
api.delete(f"{VS}/namespaces/{NS}/volumesnapshots/kept")
gone(f"{VS}/namespaces/{NS}/volumesnapshots/kept")
check("a Retain snapshot's content stays when the snapshot is deleted", get(f"{VS}/volumesnapshotcontents/{kvsc}"), None,
      "exists", "deletionPolicy Retain")
create(f"{VS}/volumesnapshotcontents", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotContent",
                                        "metadata": {"name": "moved-content"},
                                        "spec": {"deletionPolicy": "Delete", "driver": "hostpath.csi.kbox.io",
                                                 "source": {"snapshotHandle": kh},
                                                 "volumeSnapshotRef": {"name": "moved", "namespace": QNS}}})
create(f"{VS}/namespaces/{QNS}/volumesnapshots", {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot",
                                                  "metadata": {"name": "moved"},
                                                  "spec": {"source": {"volumeSnapshotContentName": "moved-content"}}})
mv = ready_snap("moved", QNS) or {"metadata": {}, "status": {}}
eq("a pre-provisioned content with the snapshot's handle binds a snapshot in another namespace, ready, with its size",
   [mv["status"].get("boundVolumeSnapshotContentName"), mv["status"].get("restoreSize")], ["moved-content", "1Gi"],
   "CONTROLPLANE.md §2.1 moving a snapshot")
eq("the content's ref got the snapshot's uid", ((get(f"{VS}/volumesnapshotcontents/moved-content") or {}).get("spec") or {})
   .get("volumeSnapshotRef", {}).get("uid"), mv["metadata"].get("uid"), "snapshot-controller")
api.delete(f"{VS}/volumesnapshotcontents/{kvsc}")
gone(f"{VS}/volumesnapshotcontents/{kvsc}")
check("deleting the old Retain content keeps the snapshot", os.path.exists(pool_file("hostpath", kh, "snapshots")), None,
      "exists", "deletionPolicy Retain")
claim("frommoved", "1Gi", "kbox-hostpath", mode="Block", source={"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                                                  "name": "moved"}, ns=QNS)
check("the moved snapshot restores", bound("frommoved", QNS), None, "Bound", REF)

# ---------------------------------------------------------------- populators
SEEDS = f"/apis/populator.kbox.io/v1alpha1/namespaces/{NS}/volumeseeds"
create(SEEDS, {"apiVersion": "populator.kbox.io/v1alpha1", "kind": "VolumeSeed", "metadata": {"name": "seed1"},
               "spec": {"fileName": "hello.txt", "fileContents": "hello from the populator"}})
SEED = {"apiGroup": "populator.kbox.io", "kind": "VolumeSeed", "name": "seed1"}
c = claim("pop", "1Gi", "kbox-hostpath", source=SEED, ref=True)
eq("a dataSourceRef without a namespace is copied into dataSource, whatever its kind", c["spec"].get("dataSource"), SEED,
   "PVC spec.dataSourceRef (AnyVolumeDataSource)")
puid = c["metadata"]["uid"]
prime = wait_until(lambda: pvc(f"prime-{puid}", "kbox-populator"), 10, 0.1) or {"metadata": {}, "spec": {}}
eq("the populator makes PVC' prime-<uid> in its namespace with the claim's modes, size, class and mode",
   {k: prime["spec"].get(k) for k in ("accessModes", "resources", "storageClassName", "volumeMode")},
   {k: c["spec"].get(k) for k in ("accessModes", "resources", "storageClassName", "volumeMode")}, "lib-volume-populator")
check("... and holds the claim with populate-target-protection while it works",
      "populator.kbox.io/populate-target-protection" in (pvc("pop") or {}).get("metadata", {}).get("finalizers", [])
      or (pvc("pop") or {}).get("status", {}).get("phase") == "Bound", pvc("pop")["metadata"].get("finalizers"),
      "the finalizer", "lib-volume-populator")
eq("the claim stays Pending while the data is written (the provisioner leaves it alone)",
   [x for x in events("pop") if x[0] == "Provisioning"], [], "external-provisioner: populator data sources")
c = bound("pop", timeout=40)
check("the claim binds once populated", c, pvc("pop").get("status"), "Bound", "lib-volume-populator rebind")
ppv = pv_of("pop") or {"metadata": {}}
eq("it is bound to PV' (provisioned for PVC'), annotated populated-from",
   [ppv["metadata"].get("name"), (ppv["metadata"].get("annotations") or {}).get("populator.kbox.io/populated-from")],
   [f"pvc-{prime['metadata'].get('uid')}", f"{NS}/seed1"], "lib-volume-populator")
check("PVC' went Lost when its volume was rebound, and is deleted",
      ("ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!") in events(f"prime-{puid}", "kbox-populator")
      and gone(pvc_path(f"prime-{puid}", "kbox-populator")), events(f"prime-{puid}", "kbox-populator"), "ClaimLost, then 404",
      "PV controller, lib-volume-populator")
check("the populator pod is deleted", gone(f"/api/v1/namespaces/kbox-populator/pods/populate-{puid}"), None, "404",
      "lib-volume-populator")
check("the finalizer is removed", wait_until(lambda: "populator.kbox.io/populate-target-protection" not in
                                             (pvc("pop") or {}).get("metadata", {}).get("finalizers", []), 10, 0.1),
      pvc("pop")["metadata"].get("finalizers"), "no populate-target-protection", "lib-volume-populator")
ev = [x[0] for x in events("pop")]
check("events PopulatorCreated and PopulatorFinished", "PopulatorCreated" in ev and "PopulatorFinished" in ev, ev, "both",
      "lib-volume-populator")
run_pod("popread", "busybox:1.36", ["sh", "-c", "cat /data/hello.txt; sleep 3600"], volumes=[("d", "pop")], mounts=[("d", "/data")])
running("popread")
r = wait_until(lambda: api.get(f"/api/v1/namespaces/{NS}/pods/popread/log")[2], 10, 0.2)
eq("a pod reads the populated file", r, "hello from the populator", "lib-volume-populator hello")
delete_pod("popread")
c = claim("popb", "1Gi", "hp-wffc", mode="Block", source=SEED, ref=True)
run_pod("popblk", "busybox:1.36", ["sh", "-c", "head -c 24 /dev/xvdp; sleep 3600"], volumes=[("d", "popb")],
        devices=[("d", "/dev/xvdp")], node="node-b1")
p = running("popblk", timeout=60)
check("a WaitForFirstConsumer Block claim is populated on the pod's node, then the pod runs",
      p and p["spec"].get("nodeName") == "node-b1", (pod("popblk") or {}).get("status"), "Running on node-b1", "lib-volume-populator WFFC")
r = wait_until(lambda: api.get(f"/api/v1/namespaces/{NS}/pods/popblk/log")[2], 10, 0.2)
eq("the device starts with the seed's contents", r, "hello from the populator", "lib-volume-populator raw block")
eq("the pod waited in the scheduler's PreBind without a FailedScheduling event",
   [m for r_, m in events("popblk") if r_ == "FailedScheduling"], [], "VolumeBinding PreBind")
delete_pod("popblk")
claim("unk", "1Gi", "kbox-hostpath", source={"apiGroup": "example.com", "kind": "Nothing", "name": "x"}, ref=True)
ok = wait_until(lambda: ("UnrecognizedDataSourceKind", "The datasource for this PVC does not match any registered VolumePopulator")
                in events("unk"), 10, 0.1)
check("a claim naming a kind no VolumePopulator registers gets the validator's event", ok, events("unk"),
      "UnrecognizedDataSourceKind", "volume-data-source-validator")
eq("... and stays Pending", pvc("unk")["status"].get("phase"), "Pending", "volume-data-source-validator")

# ---------------------------------------------------------------- clients: kubectl, python3-kubernetes
if KUBECTL:
    rc, out, err = kubectl("get", "pvc", "hp")
    check("kubectl get pvc: Bound, volume, 1Gi, RWO, class", rc == 0 and out.split("\n")[1].split()[:6] ==
          ["hp", "Bound", pv_of("hp")["metadata"]["name"], "1Gi", "RWO", "kbox-hostpath"], out, "hp Bound pvc-... 1Gi RWO kbox-hostpath",
          "kubectl")
    rc, out, err = kubectl("get", "pv", pv_of("hp")["metadata"]["name"])
    check("kubectl get pv: capacity, modes, reclaim policy, status, claim, class", rc == 0 and out.split("\n")[1].split()[1:7] ==
          ["1Gi", "RWO", "Delete", "Bound", f"{NS}/hp", "kbox-hostpath"], out, "1Gi RWO Delete Bound ns/hp kbox-hostpath", "kubectl")
    rc, out, err = kubectl("describe", "pv", pv_of("hp")["metadata"]["name"])
    check("kubectl describe pv shows the CSI source and node affinity", rc == 0 and "Type:              CSI" in out and
          "Driver:            hostpath.csi.kbox.io" in out and "Node Affinity:" in out, (rc, out[-1500:], err), "CSI, Driver, Node Affinity",
          "kubectl describe")
    rc, out, err = kubectl("describe", "pvc", "rawblk")
    check("kubectl describe pvc shows the claim, its data source and its events", rc == 0 and "VolumeMode:    Block" in out and
          "ProvisioningFailed" in out and "DataSource:" in out and "snap1" in out, (rc, out[:1500], err),
          "Block, DataSource snap1, events", "kubectl describe")
    rc, out, err = kubectl("get", "volumesnapshot", "b-v1")
    check("kubectl get volumesnapshot: ready, source, size, class", rc == 0 and out.split("\n")[1].split()[:5] ==
          ["b-v1", "true", "v1", "1Gi", "kbox-hostpath-snapclass"], out, "b-v1 true v1 1Gi kbox-hostpath-snapclass", "kubectl")
    rc, out, err = kubectl("describe", "volumesnapshot", "b-v1")
    check("kubectl describe volumesnapshot shows its status and events", rc == 0 and "Ready To Use:" in out and "SnapshotReady" in out,
          (rc, out[-1500:], err), "status and events", "kubectl describe")
r = subprocess.run(["/usr/bin/python3", "-c", f"""
import kubernetes, json
kubernetes.config.load_kube_config({box.kubeconfig!r})
v1 = kubernetes.client.CoreV1Api()
pvs = v1.list_persistent_volume().items
c = v1.read_namespaced_persistent_volume_claim('rawblk', {NS!r})
s = kubernetes.client.StorageV1Api().list_csi_node().items
vs = kubernetes.client.CustomObjectsApi().get_namespaced_custom_object('snapshot.storage.k8s.io', 'v1', {NS!r}, 'volumesnapshots', 'b-v1')
print(json.dumps([len(pvs) > 0, pvs[0].spec.csi.driver is not None, c.spec.volume_mode, c.spec.data_source_ref.kind,
                  c.status.phase, sorted(d.name for d in s[0].spec.drivers), s[0].spec.drivers[0].allocatable.count,
                  vs['status']['readyToUse']]))
"""], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
eq("python3-kubernetes reads PVs, a PVC, CSINodes and a VolumeSnapshot into its models",
   (r.stdout.strip(), r.stderr.strip()[-500:]),
   (json.dumps([True, True, "Block", "VolumeSnapshot", "Bound", ["disk.csi.kbox.io", "hostpath.csi.kbox.io"], 2, True]), ""),
   "python3-kubernetes")

if os.environ.get("KBOX_TEST_KEEP"):  # debugging: leave the box running
    box.private = False
    print(f"kept the box in {D} (kbox stop {D})")
    finish()

# ---------------------------------------------------------------- stop: nothing left
print(f"t_storage: checks took {time.time() - T0:.1f} s")
# the box's pools are loop devices of files under D; its volumes' loop devices are files on those
# pools, "[<the pool device's number>]" in losetup -a (their paths, /var/lib/kbox-storage/..., are
# the same in every box: other boxes on the machine are not this one's leftovers)
pools = [x.split(":", 1)[0] for x in subprocess.run(["losetup", "-a"], stdout=subprocess.PIPE,
                                                    text=True).stdout.splitlines() if D in x]
pool_devs = [f"[{os.stat(p).st_rdev}]:" for p in pools if os.path.exists(p)]
r = box.kbox("stop")
eq("kbox stop exits 0", (r.returncode, r.stderr.strip()), (0, ""), "kbox stop")
r = subprocess.run([os.path.join(HERE, "kbox"), "leftovers", D], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
eq("after stop nothing of the box is left: no netns, mount, cgroup or loop device", (r.returncode, r.stdout), (0, ""), REF)
lo = subprocess.run(["losetup", "-a"], stdout=subprocess.PIPE, text=True).stdout
eq("losetup -a lists no device of the box (pools or volumes)",
   [x for x in lo.splitlines() if D in x or any(d in x for d in pool_devs)], [], REF)
eq("/proc/mounts holds nothing under the box's directory", [x for x in open("/proc/mounts") if D in x], [], REF)
print(f"t_storage: {time.time() - T0:.1f} s")
finish()
