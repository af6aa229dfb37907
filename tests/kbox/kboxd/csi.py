# SPDX-License-Identifier: MIT
"""kboxd.csi: the box's two CSI drivers, their pools, and what they do on a node.

Each driver keeps its volumes as sparse files on a pool of its own: an XFS file
system with reflink (`mkfs.xfs -m reflink=1`) on a sparse image DIR/storage/<pool>.xfs,
attached as a loop device (direct I/O) and mounted at DIR/storage/<pool>. A snapshot is
a reflink copy of the volume's file (FICLONE: no data copied, extents shared), a volume
restored from it a reflink copy of the snapshot's; the blocks that differ between two
snapshots of a volume are those whose physical extents differ (FIEMAP), which the
SnapshotMetadata service (snapmeta.py) reports.

| driver | volumeHandle | snapshotHandle | topology key (PV node affinity) | CBT blocks |
|---|---|---|---|---|
| disk.csi.kbox.io | projects/kbox/zones/<zone>/disks/pvc-<uid> | projects/kbox/global/snapshots/snapshot-<uid> | topology.kubernetes.io/zone | FIXED_LENGTH 4 KiB |
| hostpath.csi.kbox.io | a UUID | a UUID | topology.hostpath.csi/node | VARIABLE_LENGTH |

The pools are mounted in a mount namespace of their own, held by a small helper
process (`python3 -m kboxd.csi pools CONFIG`, started by the server before the nodes):
nothing of them shows in the host's mount table (another box's nodes, made later by
copying the host's mounts, would otherwise hold them), the nodes are made from that
namespace (cluster.Cluster.mount_ns) and bind DIR/storage at /var/lib/kbox-storage
(their /tmp, where DIR usually is, is a tmpfs of their own), and the server reaches the
files through /proc/<helper>/root. When the helper
and the nodes are gone the pools unmount and their loop devices clear themselves
(autoclear); loop devices a node attached are detached by their kubelet, by `kbox stop`
or by the sweep (sweep.loops_under follows a pool's loop device to the volumes on it).

On a node (the kubelet imports this module through storage.py), NodeStage and
NodePublish, as kubelet's CSI plugin and a hostpath-style driver lay them out:
- Filesystem: the volume's file on a loop device (`losetup --direct-io=on`), `mkfs.ext4
  -F -m0` when blkid finds no file system (mount-utils' formatAndMount), mounted at
  plugins/kubernetes.io/csi/<driver>/<sha256(volumeHandle)>/globalmount, bound at
  pods/<uid>/volumes/kubernetes.io~csi/<pv>/mount (vol_data.json beside it);
- Block: the loop device bound on the file
  plugins/kubernetes.io/csi/volumeDevices/publish/<pv>/<pod uid>, that bound again at
  plugins/kubernetes.io/csi/volumeDevices/<pv>/dev/<pod uid> (the global map), and the
  symlink pods/<uid>/volumeDevices/kubernetes.io~csi/<pv> to the publish path.
The node's /dev is a tmpfs: the driver makes /dev/loopN there when it attaches one.
"""
import fcntl
import hashlib
import json
import os
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import uuid

BLOCK = 4096
FS_IOC_FIEMAP = 0xC020660B
FICLONE = 0x40049409
LOOP_CTL_GET_FREE = 0x4C82
FIEMAP_FLAG_SYNC = 0x1
FIEMAP_EXTENT_LAST = 0x1
FIEMAP_EXTENT_UNWRITTEN = 0x800
UUID_NS = uuid.UUID("6b0a1f3e-9c1d-4c7e-8f57-6b626f78632e")


class CsiError(Exception):
    """A CSI call failed: code is the gRPC status name the driver would answer with."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code
        self.message = message


class Driver:
    def __init__(self, name, pool, topology_key, cbt_type, max_volumes):
        self.name = name
        self.pool = pool
        self.topology_key = topology_key
        self.cbt_type = cbt_type  # BlockMetadataType of the SnapshotMetadata service
        self.max_volumes = max_volumes

    def volume_handle(self, name, topology):
        if self.name.startswith("disk."):
            return f"projects/kbox/zones/{topology.get(self.topology_key, 'zone-a')}/disks/{name}"
        return str(uuid.uuid5(UUID_NS, self.name + "/" + name))

    def snapshot_handle(self, name):
        if self.name.startswith("disk."):
            return f"projects/kbox/global/snapshots/{name}"
        return str(uuid.uuid5(UUID_NS, self.name + "/snapshot/" + name))

    @staticmethod
    def file_id(handle):
        fid = handle.rsplit("/", 1)[-1]
        if not re.fullmatch(r"[A-Za-z0-9][-A-Za-z0-9_.]{0,200}", fid):
            raise CsiError("InvalidArgument", f"malformed handle {handle!r}")
        return fid


DRIVERS = {d.name: d for d in (
    Driver("disk.csi.kbox.io", "disk", "topology.kubernetes.io/zone", "FIXED_LENGTH", 16),
    Driver("hostpath.csi.kbox.io", "hostpath", "topology.hostpath.csi/node", "VARIABLE_LENGTH", 0),
)}


def configure(storage_cfg):
    """Apply the box config's `storage:` (max volumes per node) to DRIVERS."""
    for name, d in ((storage_cfg or {}).get("drivers") or {}).items():
        if name in DRIVERS and "maxVolumesPerNode" in (d or {}):
            DRIVERS[name].max_volumes = int(d["maxVolumesPerNode"])


def parse_size(q):
    from .volumes import parse_quantity
    return int(parse_quantity(q))


def quantity(n):
    """Bytes as resource.NewQuantity(n, BinarySI) prints them: 1073741824 -> 1Gi."""
    n = int(n)
    if n == 0:
        return "0"
    for suf, sh in (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if n % (1 << sh) == 0:
            return f"{n >> sh}{suf}"
    return str(n)


# ---------------------------------------------------------------- extents
def fiemap(fd, start=0, length=None):
    """-> [(logical, physical, length, flags)] of an open file, synced first."""
    out = []
    n = 512
    end = os.fstat(fd).st_size if length is None else start + length
    pos = start
    while pos < end:
        buf = bytearray(32 + 56 * n)
        struct.pack_into("QQIIII", buf, 0, pos, end - pos, FIEMAP_FLAG_SYNC, 0, n, 0)
        fcntl.ioctl(fd, FS_IOC_FIEMAP, buf, True)
        mapped = struct.unpack_from("I", buf, 20)[0]
        if mapped == 0:
            break
        last = False
        for i in range(mapped):
            lo, ph, ln, _, _, fl = struct.unpack_from("QQQQQI", buf, 32 + 56 * i)
            out.append((lo, ph, ln, fl))
            pos = lo + ln
            last = bool(fl & FIEMAP_EXTENT_LAST)
        if last:
            break
    return out


def _data_extents(ext, size):
    """Written extents (unwritten ones read as zeros), clipped to size: [(lo, hi, physical - lo)]."""
    out = []
    for lo, ph, ln, fl in ext:
        if fl & FIEMAP_EXTENT_UNWRITTEN or lo >= size:
            continue
        out.append((lo, min(lo + ln, size), ph - lo))
    return out


def allocated_ranges(ext, size):
    """[(offset, length)] holding data, adjacent extents merged."""
    out = []
    for lo, hi, _ in _data_extents(ext, size):
        if out and out[-1][0] + out[-1][1] == lo:
            out[-1] = (out[-1][0], hi - out[-1][0])
        else:
            out.append((lo, hi - lo))
    return out


def changed_ranges(base, target, size):
    """[(offset, length)] where target's data differs from base's: a range mapped in one and
    not the other, or mapped to other physical blocks (a reflink copy shares them until one
    side is written, and the base snapshot's blocks stay allocated while it exists, so a
    rewritten block never lands on its old place)."""
    a = _data_extents(base, size)
    b = _data_extents(target, size)
    cuts = sorted({0, size} | {x for lo, hi, _ in a + b for x in (lo, hi)})

    def at(exts):
        i = 0
        res = []
        for c0, c1 in zip(cuts, cuts[1:]):
            while i < len(exts) and exts[i][1] <= c0:
                i += 1
            res.append(exts[i][2] if i < len(exts) and exts[i][0] <= c0 < exts[i][1] else None)
        return res
    out = []
    for (c0, c1), x, y in zip(zip(cuts, cuts[1:]), at(a), at(b)):
        if x != y:
            if out and out[-1][0] + out[-1][1] == c0:
                out[-1] = (out[-1][0], c1 - out[-1][0])
            else:
                out.append((c0, c1 - c0))
    return out


def reflink(src, dst, size=None):
    """dst: a reflink copy of src (FICLONE), grown to size if larger."""
    fi = os.open(src, os.O_RDONLY | os.O_CLOEXEC)
    try:
        fo = os.open(dst + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
        try:
            fcntl.ioctl(fo, FICLONE, fi)
            if size and size > os.fstat(fo).st_size:
                os.ftruncate(fo, size)
            os.fsync(fo)
        finally:
            os.close(fo)
    finally:
        os.close(fi)
    os.rename(dst + ".tmp", dst)


# ---------------------------------------------------------------- pools (the controller side)
class Pool:
    """One driver's pool as the server sees it: files under root + mountpoint.
    Thread-safe (one lock per pool); every call is one CSI controller RPC."""

    def __init__(self, driver, mnt, root, size):
        self.driver = driver
        self.mnt = mnt
        self.root = root
        self.size = size
        self.lock = threading.Lock()

    def path(self, kind, fid, ext=".img"):
        return f"{self.root}{self.mnt}/{kind}/{fid}{ext}"

    def _meta(self, kind, fid):
        try:
            with open(self.path(kind, fid, ".json")) as f:
                return json.load(f)
        except FileNotFoundError:
            return None

    def _write_meta(self, kind, fid, meta):
        p = self.path(kind, fid, ".json")
        with open(p + ".tmp", "w") as f:
            json.dump(meta, f)
        os.rename(p + ".tmp", p)

    def volume(self, handle):
        return self._meta("volumes", Driver.file_id(handle))

    def snapshot(self, handle):
        return self._meta("snapshots", Driver.file_id(handle))

    def create_volume(self, name, size, topology, source=None):
        """CreateVolume: -> {volume_id, capacity_bytes, accessible_topology}. Idempotent by name.
        source: ("snapshot", handle) or ("volume", handle): a reflink copy of it."""
        size = (int(size) + BLOCK - 1) // BLOCK * BLOCK
        if size <= 0:
            raise CsiError("InvalidArgument", "the capacity must be positive")
        if size > self.size:
            raise CsiError("OutOfRange", f"requested size {size} exceeds the pool's capacity {self.size}")
        handle = self.driver.volume_handle(name, topology)
        fid = Driver.file_id(handle)
        with self.lock:
            cur = self._meta("volumes", fid)
            if cur is not None:
                if cur["name"] != name or cur["capacity"] != size:
                    raise CsiError("AlreadyExists", f"volume {name} exists with another size")
                return self._answer(cur)
            p = self.path("volumes", fid)
            if source is None:
                with open(p + ".tmp", "wb") as f:
                    f.truncate(size)
                os.rename(p + ".tmp", p)
            else:
                kind, sh = source
                meta = self.snapshot(sh) if kind == "snapshot" else self.volume(sh)
                if meta is None:
                    raise CsiError("NotFound", f"source {kind} {sh} not found")
                have = meta["size"] if kind == "snapshot" else meta["capacity"]
                if have > size:
                    raise CsiError("OutOfRange", f"requested size {size} is less than the source's {have}")
                reflink(self.path("snapshots" if kind == "snapshot" else "volumes", Driver.file_id(sh)), p, size)
            cur = {"handle": handle, "name": name, "capacity": size, "topology": topology,
                   "created": time.time_ns(), "source": list(source) if source else None}
            self._write_meta("volumes", fid, cur)
        return self._answer(cur)

    @staticmethod
    def _answer(meta):
        return {"volume_id": meta["handle"], "capacity_bytes": meta["capacity"],
                "accessible_topology": meta["topology"]}

    def delete_volume(self, handle):
        fid = Driver.file_id(handle)
        with self.lock:
            for ext in (".img", ".json"):
                try:
                    os.unlink(self.path("volumes", fid, ext))
                except FileNotFoundError:
                    pass

    def create_snapshot(self, source_handle, name):
        """CreateSnapshot: a reflink copy of the volume's file now (the cut), idempotent by name.
        -> {snapshot_id, size_bytes, creation_time (ns), source_volume_id}."""
        handle = self.driver.snapshot_handle(name)
        fid = Driver.file_id(handle)
        with self.lock:
            cur = self._meta("snapshots", fid)
            if cur is None:
                vol = self.volume(source_handle)
                if vol is None:
                    raise CsiError("NotFound", f"source volume {source_handle} not found")
                reflink(self.path("volumes", Driver.file_id(source_handle)), self.path("snapshots", fid))
                cur = {"handle": handle, "name": name, "source": source_handle, "size": vol["capacity"],
                       "created": time.time_ns()}
                self._write_meta("snapshots", fid, cur)
            elif cur["source"] != source_handle:
                raise CsiError("AlreadyExists", f"snapshot {name} exists for another volume")
        return {"snapshot_id": handle, "size_bytes": cur["size"], "creation_time": cur["created"],
                "source_volume_id": cur["source"]}

    def delete_snapshot(self, handle):
        fid = Driver.file_id(handle)
        with self.lock:
            for ext in (".img", ".json"):
                try:
                    os.unlink(self.path("snapshots", fid, ext))
                except FileNotFoundError:
                    pass

    def snapshot_extents(self, handle):
        meta = self.snapshot(handle)
        if meta is None:
            raise CsiError("NotFound", f"snapshot {handle} not found")
        fd = os.open(self.path("snapshots", Driver.file_id(handle)), os.O_RDONLY | os.O_CLOEXEC)
        try:
            return meta, fiemap(fd)
        finally:
            os.close(fd)


class Pools:
    """The server's side of both pools: the helper holding their mounts, and one Pool each."""

    def __init__(self, d, storage_cfg):
        self.dir = os.path.join(d, "storage")
        self.cfg = storage_cfg or {}
        self.size = parse_size(self.cfg.get("poolSize", "64Gi"))
        self.proc = None
        self.pools = {}

    def start(self):
        os.makedirs(self.dir, exist_ok=True)
        cfg = {"dir": self.dir, "size": self.size, "pools": sorted(d.pool for d in DRIVERS.values())}
        py = "/usr/bin/python3"
        here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        log = open(os.path.join(self.dir, "pools.log"), "a")
        self.proc = subprocess.Popen([py, "-m", "kboxd.csi", "pools", json.dumps(cfg)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=log, env=dict(os.environ, PYTHONPATH=here),
                                     cwd=self.dir)
        log.close()
        line = self.proc.stdout.readline().decode().strip()
        if line != "ready":
            self.proc.wait()
            raise OSError(f"the storage pools did not come up: {line or 'no answer'} (see {self.dir}/pools.log)")
        with open(os.path.join(self.dir, "pools.pid"), "w") as f:
            f.write(f"{self.proc.pid}\n")
        root = f"/proc/{self.proc.pid}/root"
        for d in DRIVERS.values():
            self.pools[d.name] = Pool(d, os.path.join(self.dir, d.pool), root, self.size)
        return f"/proc/{self.proc.pid}/ns/mnt"

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def get(self, driver):
        return self.pools.get(driver)


def _run(cmd, what):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise OSError(f"{what}: {' '.join(cmd)}: {r.stderr.strip() or r.stdout.strip()}")
    return r.stdout


def pools_main(cfg):
    """The helper: a mount namespace of its own holding the pools' mounts, until its stdin
    closes (the server stops or dies) or the server dies (PDEATHSIG)."""
    from . import sysns
    sysns.prctl(sysns.PR_SET_PDEATHSIG, signal.SIGTERM)
    sysns.set_name("kbox-pools")
    sysns.unshare(sysns.CLONE_NEWNS)
    sysns.propagation("/", "private")
    try:
        for name in cfg["pools"]:
            img = os.path.join(cfg["dir"], name + ".xfs")
            mnt = os.path.join(cfg["dir"], name)
            if not os.path.exists(img):
                with open(img + ".tmp", "wb") as f:
                    f.truncate(cfg["size"])
                _run(["mkfs.xfs", "-q", "-m", "reflink=1", img + ".tmp"], "mkfs")
                os.rename(img + ".tmp", img)
            dev = _run(["losetup", "--direct-io=on", "-f", "--show", img], "attach the pool").strip()
            try:
                os.makedirs(mnt, exist_ok=True)
                _run(["mount", "-t", "xfs", dev, mnt], "mount the pool")
            finally:
                # detaching a device in use marks it autoclear: it goes when the pool unmounts
                subprocess.run(["losetup", "-d", dev], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for sub in ("volumes", "snapshots"):
                os.makedirs(os.path.join(mnt, sub), exist_ok=True)
    except OSError as e:
        print(f"error: {e}", flush=True)
        sys.exit(1)
    print("ready", flush=True)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    sys.stdin.buffer.read()
    os._exit(0)


# ---------------------------------------------------------------- the node side
KUBELET = "/var/lib/kubelet"
CSI_DIR = KUBELET + "/plugins/kubernetes.io/csi"


def _loop_attach(path, readonly=False):
    """A loop device for path with direct I/O, its node made in this node's /dev.

    Its logical sector size is 512, the pools' own, always. Left to itself the loop driver
    takes the backing file's direct-I/O alignment (STATX_DIOALIGN), and XFS reports its block
    size (4 KiB) for a file that shares extents: a volume that has been snapshotted, or was
    restored from a snapshot, would come up with 4 KiB sectors and an ext4 made on it before
    with 1 KiB blocks (mkfs.ext4's choice under 512 MiB) would no longer mount ("bad block
    size 1024"). A disk keeps its sector size when its cloud snapshots it. On such a file the
    kernel then does the loop's I/O through the page cache (its DIO reads 0); the snapshot's
    FICLONE writes back the file's dirty pages first, so a cut stays as consistent."""
    last = ""
    for _ in range(20):
        fd = os.open("/dev/loop-control", os.O_RDWR | os.O_CLOEXEC)
        try:
            n = fcntl.ioctl(fd, LOOP_CTL_GET_FREE)
        finally:
            os.close(fd)
        dev = f"/dev/loop{n}"
        if not os.path.exists(dev):
            try:
                os.mknod(dev, 0o660 | 0o060000, os.makedev(7, n))
                os.chmod(dev, 0o660)
            except FileExistsError:
                pass
        r = subprocess.run(["losetup", "--direct-io=on", "--sector-size", "512"] + (["-r"] if readonly else []) +
                           [dev, path],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode == 0:
            return dev
        last = r.stderr.strip()
        time.sleep(0.05)  # another node took it meanwhile
    raise OSError(f"cannot attach {path} to a loop device: {last}")


def _loop_detach(dev):
    subprocess.run(["losetup", "-d", dev], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(50):  # the device clears once its last opener is gone
        try:
            with open(f"/sys/block/{os.path.basename(dev)}/loop/backing_file") as f:
                f.read()
        except OSError:
            break
        time.sleep(0.02)


def _mounted(path):
    with open("/proc/self/mountinfo") as f:
        return any(line.split()[4] == path for line in f)


def _umount(path):
    from . import sysns
    while _mounted(path):
        sysns.umount(path, detach=False)


def _touch(p):
    os.makedirs(os.path.dirname(p), exist_ok=True)
    if not os.path.exists(p):
        open(p, "a").close()


class NodePlugin:
    """volumes.PLUGINS["persistentVolumeClaim"] and ["ephemeral"]: NodeStage/NodePublish as
    the kubelet and the driver do them, for the pods of one node."""

    def __init__(self):
        self.dir = None      # DIR/storage: the pools' mount points (the same path in every node)
        self.lock = threading.Lock()
        self.staged = {}     # pv name -> {"dev", "mode", "path" (globalmount), "pods": set(uid)}
        self.published = {}  # (pod uid, volume name) -> {"pv", "mode", "target", "extra": [...]}

    # kubelet reads
    @staticmethod
    def _claim_name(pod, vol):
        if "ephemeral" in vol:
            return f"{pod['metadata']['name']}-{vol['name']}"
        return (vol.get("persistentVolumeClaim") or {}).get("claimName")

    def setup(self, k, pod, vol):
        uid = pod["metadata"]["uid"]
        key = (uid, vol["name"])
        with self.lock:
            if key in self.published:
                return self.published[key]["target"]
        ns = pod["metadata"]["namespace"]
        claim = self._claim_name(pod, vol)
        from .volumes import NotReady
        pvc = k.get_object("persistentvolumeclaims", ns, claim)
        if pvc is None:
            raise NotReady(f"persistentvolumeclaim \"{claim}\" not found")
        if "ephemeral" in vol and not any(r.get("uid") == uid for r in pvc["metadata"].get("ownerReferences") or []):
            raise NotReady(f"PVC {ns}/{claim} was not created for pod {ns}/{pod['metadata']['name']} (pod is not owner)")
        pvname = (pvc.get("spec") or {}).get("volumeName")
        if not pvname or (pvc.get("status") or {}).get("phase") != "Bound":
            raise NotReady(f"error processing PVC {ns}/{claim}: PVC is not bound")
        code, pv = k.client.get(f"/api/v1/persistentvolumes/{pvname}")
        if code != 200:
            raise NotReady(f"error processing PVC {ns}/{claim}: failed to fetch PV {pvname} from API server: {code}")
        csi = (pv.get("spec") or {}).get("csi") or {}
        drv = DRIVERS.get(csi.get("driver"))
        if drv is None:
            raise NotReady(f"kubernetes.io/csi: mounter.SetUpAt failed to get CSI client: driver name "
                           f"{csi.get('driver')} not found in the list of registered CSI drivers")
        mode = pv["spec"].get("volumeMode") or "Filesystem"
        ro = bool((vol.get("persistentVolumeClaim") or {}).get("readOnly")) or bool(csi.get("readOnly"))
        path = os.path.join(self.dir, drv.pool, "volumes", Driver.file_id(csi["volumeHandle"]) + ".img")
        with self.lock:
            st = self.staged.get(pvname)
            if st is None:
                st = self._stage(drv, pv, csi, mode, path)
                self.staged[pvname] = st
            try:
                pub = self._publish(k, drv, pod, pv, csi, mode, st, ro)
            except Exception:
                if not st["pods"]:
                    self._unstage(pvname, st)
                    del self.staged[pvname]
                raise
            st["pods"].add(uid)
            self.published[key] = pub
            return pub["target"]

    def _stage(self, drv, pv, csi, mode, path):
        if not os.path.exists(path):
            raise OSError(f"rpc error: code = NotFound desc = volume {csi['volumeHandle']} does not exist")
        dev = _loop_attach(path)
        st = {"dev": dev, "mode": mode, "pods": set(), "path": None, "driver": drv.name}
        if mode == "Block":
            os.makedirs(f"{CSI_DIR}/volumeDevices/staging/{pv['metadata']['name']}", exist_ok=True)
            return st
        try:
            gm = f"{CSI_DIR}/{drv.name}/{hashlib.sha256(csi['volumeHandle'].encode()).hexdigest()}/globalmount"
            os.makedirs(gm, exist_ok=True)
            with open(os.path.join(os.path.dirname(gm), "vol_data.json"), "w") as f:
                json.dump({"driverName": drv.name, "volumeHandle": csi["volumeHandle"]}, f)
            fstype = csi.get("fsType") or "ext4"
            r = subprocess.run(["blkid", "-p", "-s", "TYPE", "-o", "value", dev], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
            have = r.stdout.strip()
            if not have:
                _run([f"mkfs.{fstype}", "-F", "-m0", "-q", dev] if fstype.startswith("ext") else
                     [f"mkfs.{fstype}", dev], "format the volume")
            elif have != fstype:
                raise OSError(f"failed to mount the volume as \"{fstype}\", it already contains {have}")
            opts = ",".join(pv["spec"].get("mountOptions") or [])
            _run(["mount", "-t", fstype] + (["-o", opts] if opts else []) + [dev, gm], "mount the volume")
            st["path"] = gm
            # detached while mounted: autoclear, so the device goes with the last mount of it (the
            # unstage, or the node's mount namespace when the node dies)
            subprocess.run(["losetup", "-d", dev], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except Exception:
            _loop_detach(dev)
            raise
        return st

    def _publish(self, k, drv, pod, pv, csi, mode, st, ro):
        uid = pod["metadata"]["uid"]
        pvname = pv["metadata"]["name"]
        if mode == "Block":
            pub = f"{CSI_DIR}/volumeDevices/publish/{pvname}/{uid}"
            gmap = f"{CSI_DIR}/volumeDevices/{pvname}/dev/{uid}"
            link = f"{KUBELET}/pods/{uid}/volumeDevices/kubernetes.io~csi/{pvname}"
            _touch(pub)
            if not _mounted(pub):
                _run(["mount", "--bind", st["dev"], pub], "publish the device")
            _touch(gmap)
            if not _mounted(gmap):
                _run(["mount", "--bind", pub, gmap], "map the device")
            os.makedirs(os.path.dirname(link), exist_ok=True)
            if os.path.lexists(link):
                os.unlink(link)
            os.symlink(pub, link)
            return {"pv": pvname, "mode": mode, "target": pub, "extra": [gmap], "link": link}
        vd = f"{KUBELET}/pods/{uid}/volumes/kubernetes.io~csi/{pvname}"
        target = vd + "/mount"
        os.makedirs(target, exist_ok=True)
        with open(vd + "/vol_data.json", "w") as f:
            json.dump({"attachmentID": "", "driverName": drv.name, "nodeName": k.name,
                       "specVolID": pvname, "volumeHandle": csi["volumeHandle"],
                       "volumeLifecycleMode": "Persistent"}, f)
        if not _mounted(target):
            _run(["mount", "--bind", st["path"], target], "publish the volume")
            if ro:
                _run(["mount", "-o", "remount,bind,ro", target], "publish read-only")
        return {"pv": pvname, "mode": mode, "target": target, "extra": [], "link": None}

    def teardown(self, k, pod, vol):
        key = (pod["metadata"]["uid"], vol["name"])
        with self.lock:
            pub = self.published.pop(key, None)
            if pub is None:
                return
            for p in [pub["target"]] + pub["extra"]:
                _umount(p)
                try:
                    if os.path.isdir(p):
                        os.rmdir(p)
                    else:
                        os.unlink(p)
                except OSError:
                    pass
            if pub["link"] and os.path.lexists(pub["link"]):
                os.unlink(pub["link"])
            if pub["mode"] != "Block":
                try:
                    os.unlink(os.path.join(os.path.dirname(pub["target"]), "vol_data.json"))
                    os.rmdir(os.path.dirname(pub["target"]))
                except OSError:
                    pass
            st = self.staged.get(pub["pv"])
            if st is not None:
                st["pods"].discard(key[0])
                if not st["pods"]:
                    self._unstage(pub["pv"], st)
                    del self.staged[pub["pv"]]

    def _unstage(self, pvname, st):
        if st["path"]:
            _umount(st["path"])
            try:
                os.rmdir(st["path"])
                os.unlink(os.path.join(os.path.dirname(st["path"]), "vol_data.json"))
                os.rmdir(os.path.dirname(st["path"]))
            except OSError:
                pass
        else:
            for p in (f"{CSI_DIR}/volumeDevices/staging/{pvname}", f"{CSI_DIR}/volumeDevices/publish/{pvname}",
                      f"{CSI_DIR}/volumeDevices/{pvname}/dev", f"{CSI_DIR}/volumeDevices/{pvname}"):
                try:
                    os.rmdir(p)
                except OSError:
                    pass
        _loop_detach(st["dev"])
        try:
            os.unlink(st["dev"])
        except OSError:
            pass


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "pools":
        pools_main(json.loads(sys.argv[2]))
    else:
        print("usage: python3 -m kboxd.csi pools CONFIG_JSON", file=sys.stderr)
        sys.exit(2)
