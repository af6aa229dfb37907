# SPDX-License-Identifier: MIT
"""kboxd.node: one simulated node: the namespaces that make it, its init and its kubelet.

`python3 -m kboxd.node NODE.json`, started by the box's server (cluster.py)
with the node's network namespace and cgroup directories already made:

  launcher (host pid namespace)          joins the node's cgroups and network
    |                                    namespace, unshares mount, UTS, IPC,
    |                                    cgroup and pid namespaces, forks:
    +-- init (pid 1 of the node)         mounts the node's file system view,
          |                              reaps orphans, stops with the kubelet
          +-- kubelet (pid 2)            kboxd.kubelet (and kube-proxy)
                +-- pods' processes      kboxd.spawn -> sandbox, containers

In the node's mount namespace (private from the host's: nothing mounted here
shows outside) the host paths of a real node mean this node's own:
- /proc: the node's pid namespace (hostPID pods see the node's processes, and
  /proc/1/root is the node's root, which ferry's agent relies on);
- /sys/fs/cgroup: a tmpfs with the same hierarchies as the host's, mounted
  inside the node's cgroup namespace, so each one's root is the node's
  directory (cgroups.py);
- /sys/fs/bpf: a fresh bpffs (pins are per node);
- /dev: a tmpfs with the usual character devices, devpts and shm of its own
  (block devices the storage driver attaches are added here by it);
- /var/lib/kubelet: the node's DIR/nodes/NAME/kubelet, a shared mount, so
  mounts made below it later reach containers that mount it with
  HostToContainer propagation;
- /var/log: DIR/nodes/NAME/log (pod logs at /var/log/pods/...);
- the binds extensions ask for (cluster.Cluster.node_binds: the storage pools, DIR/storage,
  at /var/lib/kbox-storage);
- /run and /tmp: tmpfs of the node's own;
- the hostname is the node's name.

The launcher dies with the server (PR_SET_PDEATHSIG), init with the launcher,
and the kernel kills every process of a pid namespace when its init exits: a
killed box leaves no process behind, only the directories and named network
namespaces that the next start sweeps (sweep.py).
"""
import json
import os
import signal
import sys

from . import cgroups, sysns

DEVS = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9),
        ("tty", 5, 0), ("loop-control", 10, 237), ("fuse", 10, 229))


def _mounts(cfg):
    sysns.propagation("/", "private")
    sysns.mount("proc", "/proc", "proc", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC)
    sysns.sethostname(cfg["name"])
    sysns.mount("tmpfs", "/sys/fs/cgroup", "tmpfs", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC, "mode=755")
    for name, key in cfg["hierarchies"]:
        mp = os.path.join("/sys/fs/cgroup", name)
        os.mkdir(mp)
        if key == "":
            sysns.mount("cgroup2", mp, "cgroup2", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC)
        else:
            opts = key if not key.startswith("name=") else "none," + key
            sysns.mount("cgroup", mp, "cgroup", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC, opts)
    sysns.mount("bpf", "/sys/fs/bpf", "bpf", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC, "mode=700")
    sysns.mount("tmpfs", "/dev", "tmpfs", sysns.MS_NOSUID, "mode=755,size=65536k")
    for name, major, minor in DEVS:
        os.mknod(os.path.join("/dev", name), 0o666 | 0o020000, os.makedev(major, minor))
    os.mkdir("/dev/pts")
    sysns.mount("devpts", "/dev/pts", "devpts", sysns.MS_NOSUID | sysns.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620")
    os.mkdir("/dev/shm")
    sysns.mount("tmpfs", "/dev/shm", "tmpfs", sysns.MS_NOSUID | sysns.MS_NODEV, "mode=1777")
    for name, target in (("ptmx", "pts/ptmx"), ("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join("/dev", name))
    sysns.bind(cfg["kubeletDir"], "/var/lib/kubelet")
    sysns.propagation("/var/lib/kubelet", "shared", recursive=False)
    sysns.bind(cfg["logDir"], "/var/log")
    for src, dst in cfg.get("binds") or []:  # extensions' (the storage pools at /var/lib/kbox-storage)
        os.makedirs(dst, exist_ok=True)
        sysns.bind(src, dst)
    sysns.mount("tmpfs", "/run", "tmpfs", sysns.MS_NOSUID | sysns.MS_NODEV, "mode=755")
    os.makedirs("/run/kbox/containers", exist_ok=True)
    sysns.mount("tmpfs", "/tmp", "tmpfs", sysns.MS_NOSUID | sysns.MS_NODEV, "mode=1777")


def _init(cfg):
    """pid 1 of the node: mounts, then the kubelet; reaps; exits with the kubelet."""
    sysns.prctl(sysns.PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        _mounts(cfg)
        for name, _ in cfg["hierarchies"]:
            for rel in (cgroups.kubelet_path(cfg["cgroupDriver"]), cgroups.kubepods_path(cfg["cgroupDriver"])):
                cgroups.mkdir(os.path.join("/sys/fs/cgroup", name), rel)
    except OSError as e:
        print(f"kbox node {cfg['name']}: {e}", flush=True)
        os._exit(1)
    kpid = os.fork()
    if kpid == 0:
        sysns.prctl(sysns.PR_SET_PDEATHSIG, signal.SIGKILL)
        for name, _ in cfg["hierarchies"]:
            cgroups.join([os.path.join("/sys/fs/cgroup", name) + cgroups.kubelet_path(cfg["cgroupDriver"])])
        os.execve(cfg["python"], [cfg["python"], "-m", "kboxd.kubelet", "/var/lib/kubelet/kbox-node.json"],
                  dict(os.environ, PYTHONPATH=cfg["kboxdParent"], PYTHONDONTWRITEBYTECODE="1"))
    sysns.set_name("kbox-init")

    def fwd(sig, _frame):
        try:
            os.kill(kpid, sig)
        except OSError:
            pass
    signal.signal(signal.SIGTERM, fwd)
    signal.signal(signal.SIGINT, fwd)
    while True:
        try:
            pid, st = os.wait()
        except ChildProcessError:
            os._exit(0)
        except InterruptedError:
            continue
        if pid == kpid:
            os._exit(os.waitstatus_to_exitcode(st) & 0xFF if os.WIFEXITED(st) else 1)


def main(path):
    with open(path) as f:
        cfg = json.load(f)
    sysns.prctl(sysns.PR_SET_PDEATHSIG, signal.SIGKILL)
    sysns.set_name("kbox-node")
    cgroups.join(cfg["cgroupDirs"])
    sysns.setns(cfg["netns"], sysns.CLONE_NEWNET)
    os.makedirs("/var/lib/kubelet", exist_ok=True)  # the mount point (an empty directory, as on a node)
    if cfg.get("mountNs"):  # made from the storage pools' namespace: the pools are mounted there
        sysns.setns(cfg["mountNs"], sysns.CLONE_NEWNS)
    sysns.unshare(sysns.CLONE_NEWNS | sysns.CLONE_NEWUTS | sysns.CLONE_NEWIPC | sysns.CLONE_NEWCGROUP |
                  sysns.CLONE_NEWPID)
    # opened before the fork: the child shares this mount namespace and mounts its own /tmp
    # (and /run, /dev) over the box's directory, so a file opened after it may not be there
    # (a loaded machine ran the child first: "No such file or directory: .../init.pid")
    # written beside, then renamed over init.pid: a reader never sees it empty (a restart's new pid)
    dfd = os.open(os.path.dirname(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    pidfd = os.open("init.pid.tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644, dir_fd=dfd)
    child = os.fork()
    if child == 0:
        os.close(pidfd)
        os.close(dfd)
        _init(cfg)
        os._exit(1)
    os.write(pidfd, f"{child}\n".encode())  # the node's pid 1 as the host numbers it (nsenter -t, tests)
    os.close(pidfd)
    os.rename("init.pid.tmp", "init.pid", src_dir_fd=dfd, dst_dir_fd=dfd)
    os.close(dfd)

    def fwd(sig, _frame):
        try:
            os.kill(child, sig)
        except OSError:
            pass
    signal.signal(signal.SIGTERM, fwd)
    signal.signal(signal.SIGINT, fwd)
    while True:
        try:
            _, st = os.waitpid(child, 0)
            break
        except InterruptedError:
            continue
    sys.exit(os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else 1)


if __name__ == "__main__":
    main(sys.argv[1])
