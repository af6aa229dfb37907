# SPDX-License-Identifier: MIT
"""kboxd.sysns: the system calls a node and its pods are made of (ctypes over libc).

unshare, setns, mount, umount2, pivot_root, sethostname, prctl, and the
constants they take. Every wrapper raises OSError with errno and what it was
doing, so a failure names the mount or namespace that failed.

Rules the callers follow (kernel, not Python): setns(CLONE_NEWNS) and
unshare(CLONE_NEWNS) need a process that shares its fs_struct with nobody,
i.e. a single-threaded one; unshare(CLONE_NEWPID) and setns(CLONE_NEWPID)
change only where the caller's *children* go; a cgroup namespace's root is
the caller's cgroup at the moment of unshare(CLONE_NEWCGROUP). So namespace
work happens at the start of a process, before it starts threads (node.py,
spawn.py), never in the multithreaded kubelet itself.
"""
import ctypes
import ctypes.util
import os

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_MOVE = 8192
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_SLAVE = 1 << 19
MS_SHARED = 1 << 20
MNT_DETACH = 2

PR_SET_PDEATHSIG = 1
PR_SET_NAME = 15
PR_SET_CHILD_SUBREAPER = 36

SYS_pivot_root = 155  # x86_64

NS_FLAGS = {"net": CLONE_NEWNET, "uts": CLONE_NEWUTS, "ipc": CLONE_NEWIPC, "mnt": CLONE_NEWNS,
            "pid": CLONE_NEWPID, "cgroup": CLONE_NEWCGROUP}

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
_libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
_libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
_libc.unshare.argtypes = [ctypes.c_int]
_libc.setns.argtypes = [ctypes.c_int, ctypes.c_int]
_libc.sethostname.argtypes = [ctypes.c_char_p, ctypes.c_size_t]
_libc.prctl.argtypes = [ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong]
_libc.syscall.restype = ctypes.c_long


def _b(s):
    return s.encode() if isinstance(s, str) else s


def _check(r, what):
    if r != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"{what}: {os.strerror(e)}")


def unshare(flags):
    _check(_libc.unshare(flags), f"unshare({flags:#x})")


def setns(path_or_fd, nstype=0):
    fd = os.open(path_or_fd, os.O_RDONLY | os.O_CLOEXEC) if isinstance(path_or_fd, str) else path_or_fd
    try:
        _check(_libc.setns(fd, nstype), f"setns({path_or_fd})")
    finally:
        if isinstance(path_or_fd, str):
            os.close(fd)


def mount(src, target, fstype=None, flags=0, data=None):
    _check(_libc.mount(_b(src) if src else None, _b(target), _b(fstype) if fstype else None, flags,
                       _b(data) if data else None),
           f"mount {fstype or ''} {src or ''} on {target}".replace("  ", " "))


def bind(src, target, recursive=True, readonly=False):
    mount(src, target, None, MS_BIND | (MS_REC if recursive else 0))
    if readonly:
        mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | (MS_REC if recursive else 0))


def propagation(target, kind, recursive=True):
    flag = {"private": MS_PRIVATE, "slave": MS_SLAVE, "shared": MS_SHARED}[kind]
    mount(None, target, None, flag | (MS_REC if recursive else 0))


def umount(target, detach=True):
    _check(_libc.umount2(_b(target), MNT_DETACH if detach else 0), f"umount {target}")


def pivot_root(new_root, put_old):
    r = _libc.syscall(SYS_pivot_root, _b(new_root), _b(put_old))
    _check(0 if r == 0 else -1, f"pivot_root {new_root}")


def sethostname(name):
    b = _b(name)
    _check(_libc.sethostname(b, len(b)), f"sethostname {name}")


def prctl(option, arg):
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def set_name(name):
    """The thread/process name ps and /proc/PID/comm show (15 bytes)."""
    buf = ctypes.create_string_buffer(_b(name)[:15])
    _libc.prctl(PR_SET_NAME, ctypes.cast(buf, ctypes.c_void_p).value or 0, 0, 0, 0)
