#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/switch/records.py: the switch tests' stateful service (image kbox/records, tests/switch/box.yaml).

Records live in files on the volume at $DATA_DIR (default /data): records/<writer>, one line
"<seq>\\n" per write, appended. A write is answered 200 only once its line is on the volume
(write(2), then fsync(2) of the file; the directory fsynced when a writer's file is made).
At start the files are read (a last line without its newline, a write torn by a crash, is cut
off) before the port is opened, so a copy of the volume (green started on blue's data) serves
everything the copy holds.

POST /write?writer=W&seq=N   append (W, N) durably; 200 once fsynced
GET  /read?writer=W          the highest seq stored for W (-1: none)
GET  /all?writer=W           every seq stored for W, as ranges "a-b,c,d-e" (in "seqs")
GET  /healthz                200 once the files are read
GET  /version                $VERSION
POST /pad?mib=N[&name=P]     N MiB of new random bytes written over $DATA_DIR/padding/P (default
                             "pad") from its start, the file cut to N MiB, fsynced: N MiB of the
                             volume changed at once (the switch bench's "changed since the last
                             sync"); 200 {"name", "bytes", "seconds"} once durable. N 0..4096
Every 200 answers JSON {"pod", "version", "boot", ...}: the pod (its hostname), $VERSION (the
image row's env: blue and green are told apart), boot (random per process start: a restart of
the same pod is told apart). W and P are [A-Za-z0-9_.-]{1,64} (not "." or ".."), N an
integer >= 0; else 400.
$PORT (default 8080). Each request is one line on stdout only when it fails (the pod's log).
"""
import http.server
import json
import os
import re
import socket
import sys
import threading
import time
import urllib.parse

DATA = os.environ.get("DATA_DIR", "/data")
DIR = os.path.join(DATA, "records")
PAD = os.path.join(DATA, "padding")
PAD_MAX_MIB = 4096
MiB = 1 << 20
VERSION = os.environ.get("VERSION", "")
POD = socket.gethostname()
BOOT = os.urandom(6).hex()
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
DIGITS = re.compile(r"[0-9]{1,5}")


class Store:
    """The writers' files: an fd each (O_APPEND), the highest durable seq each."""

    def __init__(self, root):
        self.root = root
        self.lock = threading.Lock()
        self.fds = {}
        self.high = {}
        os.makedirs(root, exist_ok=True)
        for w in sorted(os.listdir(root)):
            if NAME.fullmatch(w):
                self.high[w] = self._recover(os.path.join(root, w))

    @staticmethod
    def _recover(path):
        """The highest seq in @path, a torn last line cut off (and the cut made durable)."""
        with open(path, "rb") as f:
            data = f.read()
        keep = data.rfind(b"\n") + 1
        if keep < len(data):
            with open(path, "r+b") as f:
                f.truncate(keep)
                os.fsync(f.fileno())
        return max((int(x) for x in data[:keep].split() if x.isdigit()), default=-1)

    def _fd(self, w):
        """The append fd of writer @w (under the lock); a new file's entry made durable."""
        fd = self.fds.get(w)
        if fd is None:
            fresh = not os.path.exists(os.path.join(self.root, w))
            fd = os.open(os.path.join(self.root, w), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if fresh:
                d = os.open(self.root, os.O_RDONLY | os.O_DIRECTORY)
                try:
                    os.fsync(d)
                finally:
                    os.close(d)
            self.fds[w] = fd
        return fd

    def write(self, w, seq):
        line = f"{seq}\n".encode()
        with self.lock:
            fd = self._fd(w)
            n = os.write(fd, line)  # O_APPEND: one line, never interleaved
        if n != len(line):
            raise OSError("short write")
        os.fsync(fd)  # outside the lock: concurrent writes share the journal's commits
        with self.lock:
            self.high[w] = max(self.high.get(w, -1), seq)

    def read(self, w):
        with self.lock:
            return self.high.get(w, -1)

    def all(self, w):
        """Every seq in @w's file (lines complete on it), sorted, as ranges."""
        try:
            with open(os.path.join(self.root, w), "rb") as f:
                data = f.read()
        except FileNotFoundError:
            return ""
        seqs = sorted({int(x) for x in data[:data.rfind(b"\n") + 1].split() if x.isdigit()})
        out, i = [], 0
        while i < len(seqs):
            j = i
            while j + 1 < len(seqs) and seqs[j + 1] == seqs[j] + 1:
                j += 1
            out.append(str(seqs[i]) if i == j else f"{seqs[i]}-{seqs[j]}")
            i = j + 1
        return ",".join(out)


def pad(name, mib):
    """@mib MiB of new random bytes written over PAD/@name from offset 0 (the same blocks each
    time: a rewrite, not an allocation elsewhere), the file cut to @mib MiB, fsynced (and the
    directory, when the file is new)."""
    os.makedirs(PAD, exist_ok=True)
    path = os.path.join(PAD, name)
    fresh = not os.path.exists(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        for i in range(mib):
            buf = os.urandom(MiB)
            if os.pwrite(fd, buf, i * MiB) != len(buf):
                raise OSError("short write")
        os.ftruncate(fd, mib * MiB)
        os.fsync(fd)
    finally:
        os.close(fd)
    if fresh:
        d = os.open(PAD, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(d)
        finally:
            os.close(d)


STORE = None


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    # the listen backlog: while the process stalls (a busy machine, a slow fsync) the kernel still
    # takes the writers' connections (100 a second), answered late rather than dropped
    request_queue_size = 1024


class H(http.server.BaseHTTPRequestHandler):
    server_version = "records/1"
    protocol_version = "HTTP/1.0"

    def log_message(self, fmt, *args):
        pass

    def reply(self, code, obj):
        body = (json.dumps(dict(obj, pod=POD, version=VERSION, boot=BOOT)) + "\n").encode()
        if code != 200:
            print(f"{self.command} {self.path}: {code} {obj}", flush=True)
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def args(self):
        u = urllib.parse.urlsplit(self.path)
        return u.path, dict(urllib.parse.parse_qsl(u.query))

    def writer(self, q):
        w = q.get("writer", "")
        return w if NAME.fullmatch(w) else None

    def do_GET(self):
        p, q = self.args()
        if p == "/healthz":
            self.reply(200, {"ok": True})
        elif p == "/version":
            self.reply(200, {})
        elif p in ("/read", "/all"):
            w = self.writer(q)
            if w is None:
                self.reply(400, {"error": "writer: [A-Za-z0-9_.-]{1,64}"})
            elif p == "/read":
                self.reply(200, {"writer": w, "seq": STORE.read(w)})
            else:
                self.reply(200, {"writer": w, "seqs": STORE.all(w)})
        else:
            self.reply(404, {"error": "not found"})

    def pad(self, q):
        name, mib = q.get("name", "pad"), q.get("mib", "")
        if not NAME.fullmatch(name) or name in (".", "..") or not DIGITS.fullmatch(mib) or int(mib) > PAD_MAX_MIB:
            self.reply(400, {"error": f"name: [A-Za-z0-9_.-]{{1,64}}, mib: an integer 0..{PAD_MAX_MIB}"})
            return
        t = time.monotonic()
        try:
            pad(name, int(mib))
        except OSError as e:
            self.reply(500, {"error": str(e)})
            return
        self.reply(200, {"name": name, "bytes": int(mib) * MiB, "seconds": round(time.monotonic() - t, 3)})

    def do_POST(self):
        p, q = self.args()
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            self.rfile.read(min(n, 1 << 16))
        if p == "/pad":
            self.pad(q)
            return
        if p != "/write":
            self.reply(404, {"error": "not found"})
            return
        w, seq = self.writer(q), q.get("seq", "")
        if w is None or not seq.isdigit() or len(seq) > 18:
            self.reply(400, {"error": "writer: [A-Za-z0-9_.-]{1,64}, seq: an integer >= 0"})
            return
        try:
            STORE.write(w, int(seq))
        except OSError as e:
            self.reply(500, {"error": str(e)})
            return
        self.reply(200, {"writer": w, "seq": int(seq)})


def main():
    global STORE
    STORE = Store(DIR)
    srv = Server(("0.0.0.0", int(os.environ.get("PORT", "8080"))), H)
    print(f"records {VERSION} boot {BOOT} on {POD}: {len(STORE.high)} writers "
          f"{ {w: s for w, s in STORE.high.items()} }", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
