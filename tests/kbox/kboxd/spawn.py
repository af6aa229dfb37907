# SPDX-License-Identifier: MIT
"""kboxd.spawn: the box's container runtime shim: one process that becomes a pod's
sandbox, a container, or a command run inside a container (exec probes, kbox exec).

The kubelet runs `python3 -I -S spawn.py SPEC.json` with stdout/stderr on the
container's log file and the write end of a pipe. This process is single-threaded, so it
may join and create namespaces (a threaded kubelet may not: sysns.py), then
replaces itself with the container's command (execve): the pid the kubelet
holds is the container's main process. Anything that fails before the execve
is written to that pipe as one line (what the runtime reports as StartError);
a successful execve closes it (close-on-exec) with nothing written.

Spec (JSON): mode sandbox|container|exec; cgroups (directories to join);
join {ns: /proc/PID/ns/NS}; unshare [net, uts, ipc, mnt]; hostname; rootfs
{lower: [...], dir}; mounts [...]; privileged; workdir; uid, gid, groups;
env {...}; argv [...]; fork (exec from outside the node's pid namespace).

The pipe's descriptor number is the spec's errfd.

A container's root: an overlay of its image's layer (if any) over the host's
root file system, upper and work directories in the node's /run (gone with the
node), then proc, sysfs, /dev, /dev/pts, /dev/shm, /run and /tmp of its own,
its volumes (bind mounts with their propagation), /etc/hosts, /etc/hostname and
/etc/resolv.conf, and pivot_root into it, as runc does. Privileged containers
get every device node the node's /dev holds at start and a writable /sys.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from kboxd import sysns  # noqa: E402

ERRFD = 3  # replaced by the spec's errfd


def fail(msg, code=127):
    try:
        os.write(ERRFD, (msg.replace("\n", " ") + "\n").encode())
    except OSError:
        pass
    os._exit(code)


def _mkdirs(p):
    os.makedirs(p, exist_ok=True)


def _touch(p):
    _mkdirs(os.path.dirname(p))
    if not os.path.exists(p):
        os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_CLOEXEC, 0o644))


def secure_join(root, path):
    """root + path with every symlink on the way resolved inside root (runc's securejoin):
    /var/run/secrets in a Debian root is /run/secrets, never the caller's /run."""
    parts = [p for p in path.split("/") if p and p != "."]
    cur = ""
    hops = 0
    while parts:
        p = parts.pop(0)
        if p == "..":
            cur = os.path.dirname(cur)
            continue
        nxt = cur + "/" + p
        full = root + nxt
        if os.path.islink(full):
            hops += 1
            if hops > 40:
                raise OSError(40, f"too many symlinks in {path}")
            link = os.readlink(full)
            parts = [x for x in link.split("/") if x and x != "."] + parts
            if link.startswith("/"):
                cur = ""
            continue
        cur = nxt
    return root + (cur or "/")


def _mount_one(root, m):
    t = m.get("type", "bind")
    dst = secure_join(root, m["dst"])
    if t == "bind":
        src = m["src"]
        if os.path.isdir(src):
            _mkdirs(dst)
        else:
            if os.path.islink(dst) or (os.path.exists(dst) and os.path.isdir(dst)):
                pass
            _touch(dst)
        sysns.bind(src, dst, recursive=m.get("recursive", True), readonly=m.get("ro", False))
        prop = m.get("propagation")
        if prop:
            sysns.propagation(dst, prop, recursive=True)
        return
    _mkdirs(dst)
    if t == "tmpfs":
        flags = sysns.MS_NOSUID | (0 if m.get("dev") else sysns.MS_NODEV)
        sysns.mount("tmpfs", dst, "tmpfs", flags, m.get("options", "mode=755"))
    elif t == "proc":
        sysns.mount("proc", dst, "proc", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC)
    elif t == "sysfs":
        flags = sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC | (0 if m.get("rw") else sysns.MS_RDONLY)
        sysns.mount("sysfs", dst, "sysfs", flags)
    elif t == "devpts":
        sysns.mount("devpts", dst, "devpts", sysns.MS_NOSUID | sysns.MS_NOEXEC,
                    "newinstance,ptmxmode=0666,mode=0620")
    elif t == "mqueue":
        sysns.mount("mqueue", dst, "mqueue", sysns.MS_NOSUID | sysns.MS_NODEV | sysns.MS_NOEXEC)
    else:
        raise OSError(22, f"unknown mount type {t}")


DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


def _devices(dev, privileged):
    """Device nodes in the container's /dev (a tmpfs): the six every container has, or, for a
    privileged one, every device node the node's /dev holds now (a snapshot at start, as
    runc makes it: a device attached later is not there, CONTROLPLANE.md 1.4)."""
    import stat
    names = sorted(os.listdir("/dev")) if privileged else DEVICES
    for n in names:
        try:
            st = os.stat(os.path.join("/dev", n), follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            os.mknod(os.path.join(dev, n), st.st_mode, st.st_rdev)


def _rootfs(spec):
    rf = spec["rootfs"]
    base = rf["dir"]
    upper, work, merged = (os.path.join(base, x) for x in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        _mkdirs(d)
    lower = ":".join(rf["lower"])
    sysns.mount("overlay", merged, "overlay", 0, f"lowerdir={lower},upperdir={upper},workdir={work}")
    for m in ({"type": "proc", "dst": "/proc"}, {"type": "sysfs", "dst": "/sys", "rw": spec.get("privileged")},
              {"type": "tmpfs", "dst": "/dev", "options": "mode=755,size=65536k", "dev": True}):
        _mount_one(merged, m)
    _devices(os.path.join(merged, "dev"), spec.get("privileged"))
    std = [{"type": "devpts", "dst": "/dev/pts"},
           {"type": "tmpfs", "dst": "/dev/shm", "options": "mode=1777,size=65536k"},
           {"type": "tmpfs", "dst": "/run", "options": "mode=755"},
           {"type": "tmpfs", "dst": "/tmp", "options": "mode=1777"}]
    for m in std + list(spec.get("mounts") or []):
        _mount_one(merged, m)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"), ("stdout", "/proc/self/fd/1"),
                         ("stderr", "/proc/self/fd/2"), ("ptmx", "pts/ptmx")):
        try:
            os.symlink(target, os.path.join(merged, "dev", name))
        except FileExistsError:
            pass
    os.chdir(merged)
    sysns.pivot_root(".", ".")
    sysns.umount(".", detach=True)
    os.chdir("/")


def _identity(spec):
    gid = spec.get("gid")
    uid = spec.get("uid")
    if spec.get("groups") is not None or gid is not None:
        os.setgroups([int(g) for g in spec.get("groups") or []])
    if gid is not None:
        os.setgid(int(gid))
    if uid is not None:
        os.setuid(int(uid))


def _which(cmd, env):
    if "/" in cmd:
        return cmd if os.access(cmd, os.X_OK) and not os.path.isdir(cmd) else None
    for d in (env.get("PATH") or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(":"):
        p = os.path.join(d or ".", cmd)
        if os.access(p, os.X_OK) and not os.path.isdir(p):
            return p
    return None


def main(path):
    try:
        with open(path) as f:
            spec = json.load(f)
    except (OSError, ValueError) as e:
        fail(f"spec {path}: {e}")
    global ERRFD
    ERRFD = spec.get("errfd", ERRFD)
    try:
        os.set_inheritable(ERRFD, False)  # closed by the execve: how the kubelet learns it happened
    except OSError:
        pass
    mode = spec.get("mode")
    try:
        for cg in spec.get("cgroups") or []:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write("0")
        fds = {}
        for ns in ("pid", "net", "uts", "ipc", "cgroup", "mnt"):
            p = (spec.get("join") or {}).get(ns)
            if p:
                fds[ns] = os.open(p, os.O_RDONLY | os.O_CLOEXEC)
        for ns in ("pid", "net", "uts", "ipc", "cgroup", "mnt"):
            if ns in fds:
                sysns.setns(fds[ns], sysns.NS_FLAGS[ns])
                os.close(fds[ns])
        flags = 0
        for ns in spec.get("unshare") or []:
            flags |= sysns.NS_FLAGS[ns]
        if flags:
            sysns.unshare(flags)
        if spec.get("hostname"):
            sysns.sethostname(spec["hostname"])
        if "mnt" in (spec.get("unshare") or []):
            sysns.propagation("/", "slave")
        if spec.get("rootfs"):
            _rootfs(spec)
    except OSError as e:
        fail(f"{mode}: {e.strerror or e}")
    env = spec.get("env") or {}
    wd = spec.get("workdir") or "/"
    try:
        os.makedirs(wd, exist_ok=True)
        os.chdir(wd)
    except OSError as e:
        fail(f"chdir to cwd (\"{wd}\") set in config.json failed: {e.strerror}")
    try:
        _identity(spec)
    except OSError as e:
        fail(f"setting the user: {e.strerror}")
    argv = spec.get("argv") or []
    if not argv:
        fail("no command specified")
    exe = _which(argv[0], env)
    if exe is None:
        fail(f"exec: \"{argv[0]}\": " + ("stat " + argv[0] + ": no such file or directory" if "/" in argv[0]
                                         else "executable file not found in $PATH"))
    if spec.get("fork"):  # joined a pid namespace: only a child lands in it
        pid = os.fork()
        if pid:
            _, st = os.waitpid(pid, 0)
            os._exit(os.waitstatus_to_exitcode(st) & 0xFF if os.WIFEXITED(st) else 128 + os.WTERMSIG(st))
    try:
        os.execve(exe, argv, env)
    except OSError as e:
        fail(f"exec: \"{argv[0]}\": {e.strerror}", 126)


if __name__ == "__main__":
    main(sys.argv[1])
