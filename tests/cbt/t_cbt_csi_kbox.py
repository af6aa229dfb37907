#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ferry changed-blocks csi against the box's CSI SnapshotMetadata service (KEP-3314).

A volume of each driver (disk.csi.kbox.io answers FIXED_LENGTH 4 KiB tuples,
hostpath.csi.kbox.io VARIABLE_LENGTH extents), written on its backing file: snapshot P;
then writes (aligned, unaligned, into a hole), a punched hole and a range overwritten with
zeros; snapshot N. For each:
- `ferry changed-blocks csi P N` covers every byte that differs between P's and N's
  images and no 4 KiB block that was not touched; the same list from `handle:<id>`;
- a full backup of P, the incremental with the list, and its restore byte-identical to N;
- `--allocated N` covers every block holding data and nothing never written;
- the stream cut by a proxy after a few messages (--max-results 1) is resumed from the end
  of the last range: the same list, more than one call;
- refusals with their exit codes and lines: a service account without `get
  volumesnapshots` (PERMISSION_DENIED), a token for another audience (UNAUTHENTICATED), a
  CA that did not sign the service's certificate (TLS), a base handle that does not exist
  (NOT_FOUND), a base of another volume (INVALID_ARGUMENT), an unknown VolumeSnapshot.
Uses the shared box when it has storage (FERRY_TEST_KBOX_DIR), else a private two-node box
(tests/kbox/storage.yaml).
"""
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import Box, check, eq, finish, skip, wait_until  # noqa: E402

REF = "issue 17"
B = 4096
SIZE = 64 << 20
FERRY = os.environ.get("FERRY")
if os.geteuid() != 0:
    skip("the box's storage needs root (loop devices, mounts, namespaces)")
if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
    skip("reads the box's backing files; FERRY_TEST_KUBECONFIG names a real cluster")
if not FERRY or not os.access(FERRY, os.X_OK):
    print("ERROR: FERRY does not name the built ferry (run under meson test)")
    sys.exit(99)
try:
    import grpc  # noqa: F401  (the box's service needs it)
except ImportError:
    print("FAIL: python3-grpcio is missing: run tests/install-deps.sh")
    sys.exit(1)

shared = os.environ.get("FERRY_TEST_KBOX_DIR")
if shared and os.path.exists(os.path.join(shared, "storage", "snapmeta.port")):
    box = Box()
else:
    box = Box(private=True, args=["--config", os.path.join(HERE, "..", "kbox", "storage.yaml")])
D = box.dir
api = box.admin
NS = f"cbt-csi-{os.getpid()}"
VS = "/apis/snapshot.storage.k8s.io/v1"
TMP = tempfile.mkdtemp(prefix="t-cbt-csi-")
PORT = int(open(os.path.join(D, "storage", "snapmeta.port")).read())
POOLS = int(open(os.path.join(D, "storage", "pools.pid")).read())
ENV = dict(os.environ, KUBECONFIG=box.kubeconfig, FERRY_PASSWORD="ferry-test-password")
T0 = time.time()


def get(path):
    code, _, body = api.get(path)
    return body if code == 200 else None


def create(path, obj, ok=(201,)):
    code, _, body = api.post(path, obj)
    assert code in ok, (path, code, body)
    return body


def ferry(*args, timeout=120):
    r = subprocess.run([FERRY] + [str(a) for a in args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=ENV, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def pool_file(driver, handle, kind):
    return f"/proc/{POOLS}/root{D}/storage/{driver.split('.')[0]}/{kind}/{handle.rsplit('/', 1)[-1]}.img"


def ready(name):
    return wait_until(lambda: ((get(f"{VS}/namespaces/{NS}/volumesnapshots/{name}") or {}).get("status") or {})
                      .get("readyToUse") and get(f"{VS}/namespaces/{NS}/volumesnapshots/{name}"), 30, 0.1)


def snapshot(name, claim):
    create(f"{VS}/namespaces/{NS}/volumesnapshots", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshot", "metadata": {"name": name},
        "spec": {"source": {"persistentVolumeClaimName": claim}}})
    vs = ready(name) or {}
    c = get(f"{VS}/volumesnapshotcontents/{(vs.get('status') or {}).get('boundVolumeSnapshotContentName')}") or {}
    return (c.get("status") or {}).get("snapshotHandle")


def blocks_of(ranges):
    out = set()
    for off, ln in ranges:
        out |= set(range(off // B * B, off + ln, B))
    return out


def read_list(path):
    j = json.load(open(path))
    return j, [tuple(r) for r in j["ranges"]]


def differing_blocks(a, b):
    out = set()
    with open(a, "rb") as fa, open(b, "rb") as fb:
        off = 0
        while True:
            x, y = fa.read(1 << 20), fb.read(1 << 20)
            if not x and not y:
                return out
            for i in range(0, max(len(x), len(y)), B):
                if x[i:i + B] != y[i:i + B]:
                    out.add(off + i)
            off += 1 << 20


def data_blocks(path):
    out = set()
    with open(path, "rb") as f:
        off = 0
        while True:
            x = f.read(1 << 20)
            if not x:
                return out
            for i in range(0, len(x), B):
                if x[i:i + B].count(0) != len(x[i:i + B]):
                    out.add(off + i)
            off += 1 << 20


# ---------------------------------------------------------------- the cluster's side
create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
create("/apis/storage.k8s.io/v1/storageclasses", {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                                                  "metadata": {"name": "cbt-disk-now"}, "provisioner": "disk.csi.kbox.io",
                                                  "volumeBindingMode": "Immediate"}, ok=(201, 409))
for sa in ("backup", "nobody"):
    create(f"/api/v1/namespaces/{NS}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                        "metadata": {"name": sa}})
create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles", {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "snap-reader"},
    "rules": [{"apiGroups": ["snapshot.storage.k8s.io"], "resources": ["volumesnapshots"], "verbs": ["get"]}]})
create(f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/rolebindings", {
    "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "backup-snaps"},
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "snap-reader"},
    "subjects": [{"kind": "ServiceAccount", "name": "backup", "namespace": NS}]})
VOLS = {"vd": ("cbt-disk-now", "disk.csi.kbox.io"), "vh": ("kbox-hostpath", "hostpath.csi.kbox.io")}
for v, (cls, _) in VOLS.items():
    create(f"/api/v1/namespaces/{NS}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": v},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "64Mi"}},
                 "volumeMode": "Block", "storageClassName": cls}})
FILES = {}
for v, (_, drv) in VOLS.items():
    c = wait_until(lambda: ((get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/{v}") or {}).get("status") or {})
                   .get("phase") == "Bound" and get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/{v}"), 30, 0.1)
    if not c:
        print(f"ERROR: claim {v} not bound")
        sys.exit(99)
    pv = get(f"/api/v1/persistentvolumes/{c['spec']['volumeName']}")
    FILES[v] = pool_file(drv, pv["spec"]["csi"]["volumeHandle"], "volumes")
    eq(f"{v}: its backing file is the claim's size", os.path.getsize(FILES[v]), SIZE, REF)

rng = random.Random(17)


def pwrite(path, off, data):
    fd = os.open(path, os.O_WRONLY)
    try:
        os.pwrite(fd, data, off)
        os.fsync(fd)
    finally:
        os.close(fd)


def punch(path, off, ln):
    r = subprocess.run(["fallocate", "--punch-hole", "--keep-size", "-o", str(off), "-l", str(ln), path],
                       stderr=subprocess.PIPE, text=True)
    assert r.returncode == 0, r.stderr


TOUCHED = {}
for v, path in FILES.items():
    # the base: 1 MiB at 4 MiB, 40 random blocks, the last block
    pwrite(path, 4 << 20, rng.randbytes(1 << 20))
    for _ in range(40):
        pwrite(path, rng.randrange(SIZE // B) * B, rng.randbytes(B))
    pwrite(path, SIZE - B, b"L" * B)
SNAP_P = {v: snapshot(f"p-{v}", v) for v in FILES}
for v, path in FILES.items():
    t = set()
    for _ in range(300):  # aligned blocks, some into holes, some over data
        off = rng.randrange(SIZE // B) * B
        pwrite(path, off, rng.randbytes(B))
        t.add(off)
    pwrite(path, 4 * B + 100, b"unaligned")  # 9 bytes inside one block
    t.add(4 * B)
    pwrite(path, (8 << 20) - 10, b"straddles two blocks")
    t |= {(8 << 20) - B, 8 << 20}
    punch(path, (4 << 20) + 64 * B, 16 * B)  # a hole punched into data
    t |= {(4 << 20) + (64 + i) * B for i in range(16)}
    pwrite(path, (4 << 20) + 256 * B, bytes(8 * B))  # data overwritten with zeros
    t |= {(4 << 20) + (256 + i) * B for i in range(8)}
    TOUCHED[v] = t
SNAP_N = {v: snapshot(f"n-{v}", v) for v in FILES}
check("every snapshot is ready with a handle", all(SNAP_P.values()) and all(SNAP_N.values()),
      (SNAP_P, SNAP_N), "handles", REF)
IMG_P = {v: pool_file(VOLS[v][1], SNAP_P[v], "snapshots") for v in FILES}
IMG_N = {v: pool_file(VOLS[v][1], SNAP_N[v], "snapshots") for v in FILES}
print(f"# setup {time.time() - T0:.1f} s", flush=True)

# ---------------------------------------------------------------- the lists, backups, restores
REPO = f"file://{TMP}/repo"
rc, out, err = ferry("init", "--repo", REPO)
eq("a file:// repository", (rc, err), (0, ""), REF)
COMMON = ["-n", NS, "--service-account", f"{NS}/backup", "--address", f"127.0.0.1:{PORT}"]
for v in FILES:
    rc, out, err = ferry("backup", "--repo", REPO, "--volume", v, "--json", IMG_P[v])
    eq(f"{v}: full backup of P's image", (rc, err), (0, ""), REF)
    parent = json.loads(out).get("snapshot_id") if rc == 0 else "0" * 64
    lst = f"{TMP}/{v}.json"
    rc, out, err = ferry("changed-blocks", "csi", f"p-{v}", f"n-{v}", *COMMON, "--parent", parent, "--json",
                         "-o", lst)
    eq(f"{v}: ferry changed-blocks csi p-{v} n-{v}", (rc, err), (0, ""), REF)
    if rc:
        continue
    summ = json.loads(out)
    j, ranges = read_list(lst)
    got = blocks_of(ranges)
    diff = differing_blocks(IMG_P[v], IMG_N[v])
    eq(f"{v}: the list is bound to the parent and sized as the volume", (j["parent"], j["size"]), (parent, SIZE),
       "FORMAT.md Changed-block lists")
    eq(f"{v}: {summ.get('method')} answered", summ.get("method"), "GetMetadataDelta", "KEP-3314")
    check(f"{v}: every byte that differs between P and N is in the list ({len(diff)} blocks)", diff <= got,
          sorted(diff - got)[:10], "nothing missing", REF)
    check(f"{v}: the list names no block that was not touched ({len(got)} blocks, {len(TOUCHED[v])} touched)",
          got <= TOUCHED[v], sorted(got - TOUCHED[v])[:10], "within the touched blocks", REF)
    check(f"{v}: the punched hole and the zeroed range are listed",
          {(4 << 20) + 64 * B, (4 << 20) + 256 * B} <= got, sorted(got)[:20], "both", REF)
    # the same list from the base's handle
    rc, _, err = ferry("changed-blocks", "csi", f"handle:{SNAP_P[v]}", f"n-{v}", *COMMON, "--parent", parent,
                       "--json", "-o", f"{TMP}/{v}-h.json")
    eq(f"{v}: BASE given as handle:<id>: the same list", (rc, err, read_list(f"{TMP}/{v}-h.json")[1] if rc == 0 else None),
       (0, "", ranges), REF)
    # the incremental and its restore
    rc, out, err = ferry("backup", "--repo", REPO, "--volume", v, "--changed-blocks", lst, "--json", IMG_N[v])
    eq(f"{v}: incremental backup of N with the list", (rc, err), (0, ""), REF)
    snap2 = json.loads(out).get("snapshot_id") if rc == 0 else "none"
    rc, _, err = ferry("restore", "--repo", REPO, snap2, f"{TMP}/{v}.restored")
    eq(f"{v}: restore of the incremental", (rc, err), (0, ""), REF)
    same = rc == 0 and subprocess.run(["cmp", "-s", f"{TMP}/{v}.restored", IMG_N[v]]).returncode == 0
    check(f"{v}: the restored image is byte-identical to N", same, None, "cmp", REF)
    os.unlink(f"{TMP}/{v}.restored") if os.path.exists(f"{TMP}/{v}.restored") else None
    # GetMetadataAllocated
    rc, out, err = ferry("changed-blocks", "csi", "--allocated", f"n-{v}", *COMMON, "--parent", parent, "--json",
                         "-o", f"{TMP}/{v}-a.json")
    eq(f"{v}: --allocated n-{v}", (rc, err), (0, ""), REF)
    if rc == 0:
        alloc = blocks_of(read_list(f"{TMP}/{v}-a.json")[1])
        have = data_blocks(IMG_N[v])
        check(f"{v}: --allocated covers every block holding data ({len(have)})", have <= alloc,
              sorted(have - alloc)[:10], "all", "KEP-3314 GetMetadataAllocated")
        ever = data_blocks(IMG_P[v]) | TOUCHED[v]
        check(f"{v}: --allocated names no block never written", alloc <= ever, sorted(alloc - ever)[:10], "none",
              "KEP-3314 GetMetadataAllocated")
print(f"# lists and backups {time.time() - T0:.1f} s", flush=True)


# ---------------------------------------------------------------- a stream that breaks
class Cutter:
    """A TCP proxy to the service that cuts its first connection after `limit` bytes from the server
    (never when None); `sent` counts what it passed on from the server."""

    def __init__(self, limit):
        self.limit = limit
        self.conns = 0
        self.sent = 0
        self.cut = False
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.port = self.ls.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            self.conns += 1
            s = socket.create_connection(("127.0.0.1", PORT))
            budget = [self.limit if self.conns == 1 and self.limit is not None else -1]
            threading.Thread(target=self.pipe, args=(c, s, None), daemon=True).start()
            threading.Thread(target=self.pipe, args=(s, c, budget), daemon=True).start()

    def pipe(self, a, b, budget):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                if budget and budget[0] >= 0:
                    if len(d) >= budget[0]:
                        b.sendall(d[:budget[0]])
                        self.cut = True
                        break
                    budget[0] -= len(d)
                if budget:
                    self.sent += len(d)
                b.sendall(d)
        except OSError:
            pass
        for x in (a, b):
            try:
                x.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            x.close()


def through(cut, v, out):
    r = ferry("changed-blocks", "csi", f"p-{v}", f"n-{v}", "-n", NS, "--service-account", f"{NS}/backup",
              "--address", f"127.0.0.1:{cut.port}", "--max-results", 1, "--parent", "0" * 64, "--json", "-o", out)
    cut.ls.close()
    return r


for v in FILES:
    _, ranges = read_list(f"{TMP}/{v}.json")
    whole = Cutter(None)  # how many bytes the whole answer takes, handshake included
    rc, _, err = through(whole, v, f"{TMP}/{v}-whole.json")
    eq(f"{v}: through the proxy, uncut, one tuple a message", (rc, err), (0, ""), REF)
    check(f"{v}: ... the messages are most of the {whole.sent} bytes", whole.sent > 12000, whole.sent, "> 12000", REF)
    cut = Cutter(whole.sent // 2)  # past the TLS handshake (2-3 KB), inside the stream of messages
    rc, out, err = through(cut, v, f"{TMP}/{v}-cut.json")
    eq(f"{v}: a stream cut after {whole.sent // 2} of {whole.sent} bytes is resumed", (rc, err), (0, ""),
       "KEP-3314 starting_offset")
    if rc == 0:
        eq(f"{v}: ... with the same list", read_list(f"{TMP}/{v}-cut.json")[1], ranges, REF)
        check(f"{v}: ... in more than one call (the proxy cut one)", json.loads(out)["calls"] >= 2 and cut.cut,
              (out, cut.cut, cut.conns), "calls >= 2", REF)

# ---------------------------------------------------------------- refusals
P0 = ["--parent", "0" * 64, "-o", f"{TMP}/refused"]


def refused(what, args, code, words):
    rc, _, err = ferry("changed-blocks", "csi", *args)
    lines = err.strip().splitlines()
    eq(f"refused: {what}: exit {code}, one line", (rc, len(lines)), (code, 1), "README Exit codes")
    check(f"... saying {words!r}", all(w in err for w in words), err.strip(), words, REF)


refused("a service account without get volumesnapshots", ["p-vd", "n-vd", "-n", NS, "--service-account",
        f"{NS}/nobody", "--address", f"127.0.0.1:{PORT}"] + P0, 8,
        ["PERMISSION_DENIED", "not authorized to get volumesnapshots", f"grant service account {NS}/nobody"])
refused("a token for another audience", ["p-vd", "n-vd", *COMMON, "--audience", "another-audience"] + P0, 8,
        ["UNAUTHENTICATED", "audience another-audience"])
rc = subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-subj", "/CN=other-ca", "-days", "1", "-keyout", f"{TMP}/other.key", "-out", f"{TMP}/other.crt"],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
eq("another CA is made", rc, 0, REF)
refused("a CA that did not sign the service's certificate", ["p-vd", "n-vd", *COMMON, "--ca", f"{TMP}/other.crt"] + P0,
        8, ["TLS", "not trusted"])
refused("a base handle that does not exist", ["handle:projects/kbox/global/snapshots/snapshot-nope", "n-vd", *COMMON]
        + P0, 3, ["NOT_FOUND", "snapshot-nope"])
refused("a base of another driver", ["p-vh", "n-vd", *COMMON] + P0, 3, ["NOT_FOUND"])
refused("a base taken after the target", ["n-vh", "p-vh", *COMMON] + P0, 2, ["INVALID_ARGUMENT", "after"])
refused("an unknown target VolumeSnapshot", ["p-vd", "nope", *COMMON] + P0, 3, ["nope"])
refused("a service account not written NS/NAME", ["p-vd", "n-vd", "-n", NS, "--service-account", "backup",
        "--address", f"127.0.0.1:{PORT}"] + P0, 2, ["NAMESPACE/NAME"])
refused("no address answering", ["p-vd", "n-vd", "-n", NS, "--service-account", f"{NS}/backup", "--address",
        "127.0.0.1:1"] + P0, 9, ["127.0.0.1:1"])
check("no list was written by a refused run", not os.path.exists(f"{TMP}/refused"), None, "absent", REF)

api.delete(f"/api/v1/namespaces/{NS}")
shutil.rmtree(TMP, ignore_errors=True)
print(f"# {time.time() - T0:.1f} s", flush=True)
finish()
