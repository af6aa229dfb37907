# SPDX-License-Identifier: MIT
"""kboxd.cgroups: the cgroup trees of the box's nodes and pods, on the hybrid layout.

These machines mount cgroup v1 hierarchies (cpu, cpuacct, cpuset, memory, pids,
devices, freezer, blkio, name=systemd) under /sys/fs/cgroup and cgroup2 at
/sys/fs/cgroup/unified with no controllers but hugetlb (ENV.md). A node of the
box is a directory `kbox-<box id>/<node>` made in every hierarchy, under the
cgroup the box's server runs in (so a limit put on whoever started the box
still holds), and a cgroup namespace rooted there: inside the node,
/sys/fs/cgroup looks like a machine's own, with the same mounts, and kubelet's
paths start at its root.

Pods and containers get a directory in every hierarchy too (what runc and
kubelet's cgroupfs manager do on v1), laid out as kubelet's two cgroup drivers
lay them out (pkg/kubelet/cm/cgroup_manager_linux.go, pod_container_manager_linux.go):

  cgroupfs: /kubepods[/burstable|/besteffort]/pod<uid>/<container id>
  systemd:  /kubepods.slice[/kubepods-<qos>.slice]/kubepods[-<qos>]-pod<uid with _>.slice/
            cri-containerd-<container id>.scope

Guaranteed pods sit directly under kubepods. Requests and limits are written
to the v1 controllers as kubelet converts them (pkg/kubelet/cm/helpers_linux.go):
cpu.shares = milliCPU*1024/1000 (at least 2), cpu.cfs_quota_us =
milliCPU*period/1000 (at least 1000 us) with cpu.cfs_period_us = 100000,
memory.limit_in_bytes; the pod's cgroup gets the sums, a limit only when every
container has one. BPF programs key on the cgroup v2 id (the inode of the
directory in /sys/fs/cgroup/unified), so every process of a container is in its
directory in every hierarchy, v2 included. Killing uses cgroup.kill of the v2
directory (it covers the subtree), then rmdir bottom-up everywhere.
"""
import errno
import os
import signal
import time

ROOT = "/sys/fs/cgroup"
CPU_PERIOD = 100000
MIN_SHARES = 2
MAX_SHARES = 262144
MIN_QUOTA = 1000


def hierarchies(mountinfo="/proc/self/mountinfo"):
    """The cgroup mounts of this mount namespace -> {mount dir name: (mountpoint, options key)}.

    The key is how /proc/PID/cgroup names the hierarchy: "cpu", "name=systemd", "" (v2)."""
    out = {}
    with open(mountinfo) as f:
        for line in f:
            pre, _, post = line.partition(" - ")
            fields = pre.split()
            fs = post.split()
            if len(fs) < 3 or fs[0] not in ("cgroup", "cgroup2"):
                continue
            mp = fields[4]
            if fs[0] == "cgroup2":
                key = ""
            else:
                opts = [o for o in fs[2].split(",") if o not in ("rw", "ro") and not o.startswith("release_agent")
                        and o not in ("nosuid", "nodev", "noexec", "relatime", "clone_children", "noprefix",
                                      "xattr", "cpuset_v2_mode")]
                key = ",".join(opts)
            out[os.path.basename(mp)] = (mp, key)
    return out


def own_paths(pid="self"):
    """-> {key: path} from /proc/PID/cgroup (key as hierarchies() gives it)."""
    out = {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, ctl, path = line.rstrip("\n").split(":", 2)
            out[ctl] = path
    return out


def _write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


def _read(path, default=None):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return default


def mkdir(mountpoint, rel):
    """Make mountpoint/rel (and its parents); cpuset copies cpus/mems from the parent, as
    a v1 cpuset needs before a task can join."""
    parts = [p for p in rel.split("/") if p]
    cur = mountpoint
    for p in parts:
        parent = cur
        cur = os.path.join(cur, p)
        try:
            os.mkdir(cur)
        except FileExistsError:
            continue
        if os.path.exists(os.path.join(cur, "cpuset.cpus")):
            for f in ("cpuset.cpus", "cpuset.mems"):
                v = _read(os.path.join(parent, f), "")
                if v and not _read(os.path.join(cur, f)):
                    _write(os.path.join(cur, f), v)
    return cur


def join(paths, pid=0):
    """Move a process (0: the caller) into each directory of `paths`."""
    for p in paths:
        _write(os.path.join(p, "cgroup.procs"), pid)


def procs(path):
    v = _read(os.path.join(path, "cgroup.procs"), "")
    return [int(x) for x in v.split()] if v else []


def subtree_procs(path):
    out = []
    for d, dirs, files in os.walk(path):
        out += procs(d)
    return out


def kill(v2path, v1paths=(), timeout=5.0):
    """Kill every process of a subtree: cgroup.kill on v2, SIGKILL for anything left in v1
    directories (a process outside the v2 subtree), until none is left. -> True when empty."""
    if os.path.exists(os.path.join(v2path, "cgroup.kill")):
        try:
            _write(os.path.join(v2path, "cgroup.kill"), 1)
        except OSError:
            pass
    deadline = time.time() + timeout
    while True:
        left = []
        for p in (v2path,) + tuple(v1paths):
            if os.path.isdir(p):
                left += subtree_procs(p)
        if not left:
            return True
        for pid in set(left):
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        if time.time() > deadline:
            return False
        time.sleep(0.02)


def rmtree(path):
    """rmdir a cgroup directory and everything below it (bottom-up). -> [dirs left]."""
    left = []
    if not os.path.isdir(path):
        return left
    for d, dirs, files in os.walk(path, topdown=False):
        for _ in range(50):
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError as e:
                if e.errno != errno.EBUSY:
                    left.append(d)
                    break
                time.sleep(0.02)  # a killed task still leaving
        else:
            left.append(d)
    return left


# ---- resources (kubelet pkg/kubelet/cm/helpers_linux.go)
def shares(milli):
    if not milli:
        return MIN_SHARES
    return max(MIN_SHARES, min(MAX_SHARES, milli * 1024 // 1000))


def quota(milli, period=CPU_PERIOD):
    if not milli:
        return -1
    return max(MIN_QUOTA, milli * period // 1000)


def set_limits(dirs, cpu_shares=None, cpu_quota=None, memory=None, pids=None):
    """Write the v1 controllers' files that exist in `dirs` (a {mount name: dir} map)."""
    cpu = dirs.get("cpu")
    if cpu:
        if cpu_shares is not None:
            _write(os.path.join(cpu, "cpu.shares"), cpu_shares)
        if cpu_quota is not None:
            _write(os.path.join(cpu, "cpu.cfs_period_us"), CPU_PERIOD)
            _write(os.path.join(cpu, "cpu.cfs_quota_us"), cpu_quota)
    mem = dirs.get("memory")
    if mem and memory is not None:
        _write(os.path.join(mem, "memory.limit_in_bytes"), memory if memory > 0 else -1)
    pd = dirs.get("pids")
    if pd and pids is not None:
        _write(os.path.join(pd, "pids.max"), pids if pids > 0 else "max")


# ---- kubelet's layouts
QOS = ("guaranteed", "burstable", "besteffort")


def pod_path(driver, qos, uid):
    """The pod's directory below the node's cgroup root (leading '/')."""
    qos = qos.lower()
    if driver == "systemd":
        u = uid.replace("-", "_")
        if qos == "guaranteed":
            return f"/kubepods.slice/kubepods-pod{u}.slice"
        return f"/kubepods.slice/kubepods-{qos}.slice/kubepods-{qos}-pod{u}.slice"
    if qos == "guaranteed":
        return f"/kubepods/pod{uid}"
    return f"/kubepods/{qos}/pod{uid}"


def container_path(driver, qos, uid, cid):
    if driver == "systemd":
        return pod_path(driver, qos, uid) + f"/cri-containerd-{cid}.scope"
    return pod_path(driver, qos, uid) + f"/{cid}"


def kubepods_path(driver):
    return "/kubepods.slice" if driver == "systemd" else "/kubepods"


def qos_path(driver, qos):
    qos = qos.lower()
    if qos == "guaranteed":
        return kubepods_path(driver)
    if driver == "systemd":
        return f"/kubepods.slice/kubepods-{qos}.slice"
    return f"/kubepods/{qos}"


def kubelet_path(driver):
    return "/system.slice/kubelet.service"
