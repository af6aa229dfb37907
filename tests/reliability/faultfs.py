#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/reliability/faultfs.py - a FUSE passthrough that fails chosen I/O.

  faultfs.py BACKING_DIR MOUNTPOINT RULES_FILE LOG_FILE

Mounts BACKING_DIR at MOUNTPOINT (foreground; unmount with umount, as root),
with direct_io, so that every read and write of a file reaches this process
whatever the kernel caches: io_uring, O_DIRECT and buffered I/O alike (an
LD_PRELOAD shim could not see io_uring). RULES_FILE is read again whenever
it changes; one rule a line:

  read  SUBSTR OFFSET   a read of a file whose path holds SUBSTR that covers
                        byte OFFSET fails with EIO
  write SUBSTR OFFSET   the same for writes
  fsync SUBSTR          fsync (and fdatasync) of such a file fails with EIO
  create SUBSTR         creating such a file fails with ENOSPC

Every fault injected is appended to LOG_FILE as "OP PATH OFFSET".
Needs Debian's python3-fusepy (libfuse2).
"""
import errno
import os
import sys
import threading

from fusepy import FUSE, FuseOSError, Operations

backing, mountpoint, rules_path, log_path = sys.argv[1:5]
lock = threading.Lock()
rules, rules_stamp = [], None


def current_rules():
    global rules, rules_stamp
    try:
        st = os.stat(rules_path)
        stamp = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        stamp = None
    with lock:
        if stamp != rules_stamp:
            rules_stamp, rules = stamp, []
            if stamp:
                for line in open(rules_path):
                    f = line.split()
                    if len(f) >= 2:
                        rules.append((f[0], f[1], int(f[2]) if len(f) > 2 else -1))
        return rules


def fault(op, path, off=0, size=0):
    for kind, sub, at in current_rules():
        if kind != op or sub not in path:
            continue
        if op in ("read", "write") and not off <= at < off + max(size, 1):
            continue
        with lock, open(log_path, "a") as f:
            f.write("%s %s %d\n" % (op, path, off))
        raise FuseOSError(errno.ENOSPC if op == "create" else errno.EIO)


class FaultFS(Operations):
    def _p(self, path):
        return os.path.join(backing, path.lstrip("/"))

    def getattr(self, path, fh=None):
        st = os.lstat(self._p(path)) if fh is None else os.fstat(fh)
        return {k: getattr(st, k) for k in ("st_mode", "st_nlink", "st_uid", "st_gid", "st_size",
                                            "st_atime", "st_mtime", "st_ctime", "st_blocks")}

    def readdir(self, path, fh):
        return [".", ".."] + os.listdir(self._p(path))

    def access(self, path, mode):
        if not os.access(self._p(path), mode):
            raise FuseOSError(errno.EACCES)

    def statfs(self, path):
        st = os.statvfs(self._p(path))
        return {k: getattr(st, k) for k in ("f_bavail", "f_bfree", "f_blocks", "f_bsize", "f_favail",
                                            "f_ffree", "f_files", "f_flag", "f_frsize", "f_namemax")}

    def mkdir(self, path, mode):
        os.mkdir(self._p(path), mode)

    def rmdir(self, path):
        os.rmdir(self._p(path))

    def unlink(self, path):
        os.unlink(self._p(path))

    def rename(self, old, new):
        os.rename(self._p(old), self._p(new))

    def link(self, target, source):
        os.link(self._p(source), self._p(target))

    def chmod(self, path, mode):
        os.chmod(self._p(path), mode)

    def chown(self, path, uid, gid):
        os.chown(self._p(path), uid, gid)

    def utimens(self, path, times=None):
        os.utime(self._p(path), times)

    def truncate(self, path, length, fh=None):
        if fh is None:
            os.truncate(self._p(path), length)
        else:
            os.ftruncate(fh, length)

    def open(self, path, flags):
        return os.open(self._p(path), flags & ~os.O_DIRECT)

    def create(self, path, mode, fi=None):
        fault("create", path)
        return os.open(self._p(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)

    def read(self, path, size, offset, fh):
        fault("read", path, offset, size)
        return os.pread(fh, size, offset)

    def write(self, path, data, offset, fh):
        fault("write", path, offset, len(data))
        return os.pwrite(fh, data, offset)

    def fsync(self, path, datasync, fh):
        fault("fsync", path)
        os.fsync(fh)

    def flush(self, path, fh):
        pass

    def release(self, path, fh):
        os.close(fh)


if __name__ == "__main__":
    FUSE(FaultFS(), mountpoint, foreground=True, nothreads=False, direct_io=True,
         default_permissions=True)
