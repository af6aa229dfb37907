#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_records: records.py (the switch tests' service) as a process on loopback, no box: writes and
reads, and POST /pad (bench/switch-window.sh writes N MiB into the volume with it just before a
promote). Meson test `switch-records` (suite unit); by hand: tests/switch/t_records.py

Checked: a write answered 200 is read back; /pad?mib=2 leaves padding/pad of exactly 2 MiB of
bytes that are not all one value, answered with its bytes; again: the same file (inode) with
other bytes (the blocks rewritten, nothing appended); mib=1 cuts it to 1 MiB; mib=0 to 0; a
name of its own (padding/fill); the records untouched by all that and recovered after a
restart of the process, which ignores padding/; malformed queries (mib missing, empty,
negative, not a number, a Unicode digit, over 4096, six digits; names "..", ".", with a slash,
65 characters) refused with 400 and nothing written; GET /pad and an unknown path 404.
"""
import hashlib
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import check, eq, finish, wait_until  # noqa: E402

REF = "tests/switch/records.py"
MiB = 1 << 20


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def call(port, method, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        c.request(method, path)
        r = c.getresponse()
        body = r.read()
        try:
            return r.status, json.loads(body)
        except ValueError:
            return r.status, body
    finally:
        c.close()


def start(data, port):
    p = subprocess.Popen([sys.executable, os.path.join(HERE, "records.py")], stdout=subprocess.PIPE,
                         stderr=subprocess.STDOUT, env=dict(os.environ, DATA_DIR=data, PORT=str(port),
                                                            VERSION="blue"))

    def up():
        try:
            return call(port, "GET", "/healthz")[0] == 200
        except OSError:
            return False
    check("records.py answers /healthz", wait_until(up, 20, 0.05), p.poll(), None, REF)
    return p


def stop(p):
    p.terminate()
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()


def digest(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


data = tempfile.mkdtemp(prefix="ferry-records-")
pad = os.path.join(data, "padding", "pad")
port = free_port()
proc = start(data, port)
try:
    for seq in (1, 2, 3):
        code, ans = call(port, "POST", f"/write?writer=w1&seq={seq}")
        eq(f"write seq {seq} answered 200", code, 200, REF)
    eq("read: the highest seq", call(port, "GET", "/read?writer=w1")[1].get("seq"), 3, REF)

    code, ans = call(port, "POST", "/pad?mib=2")
    eq("/pad?mib=2: 200 with its name and bytes", (code, ans.get("name"), ans.get("bytes"), ans.get("version")),
       (200, "pad", 2 * MiB, "blue"), REF)
    eq("padding/pad is exactly 2 MiB", os.path.getsize(pad), 2 * MiB, REF)
    first = open(pad, "rb").read()
    check("... of bytes that are not all one value (new random bytes)", len(set(first[:4096])) > 100 and
          len(set(first[-4096:])) > 100, len(set(first[:4096])), "> 100 distinct", REF)
    ino = os.stat(pad).st_ino
    code, ans = call(port, "POST", "/pad?mib=2&name=pad")
    eq("/pad again: 200", code, 200, REF)
    second = open(pad, "rb").read()
    eq("... the same file, still 2 MiB (rewritten, nothing appended)", (os.stat(pad).st_ino, len(second)),
       (ino, 2 * MiB), REF)
    check("... with other bytes in both MiB", first[:MiB] != second[:MiB] and first[MiB:] != second[MiB:],
          None, None, REF)
    code, ans = call(port, "POST", "/pad?mib=1")
    eq("/pad?mib=1 cuts the file to 1 MiB", (code, ans.get("bytes"), os.path.getsize(pad)), (200, MiB, MiB), REF)
    code, ans = call(port, "POST", "/pad?mib=0")
    eq("/pad?mib=0 leaves it empty", (code, ans.get("bytes"), os.path.getsize(pad)), (200, 0, 0), REF)
    code, ans = call(port, "POST", "/pad?mib=1&name=fill")
    eq("/pad with a name of its own: padding/fill", (code, ans.get("name"),
                                                     os.path.getsize(os.path.join(data, "padding", "fill"))),
       (200, "fill", MiB), REF)

    before = sorted(os.listdir(os.path.join(data, "padding")))
    fill = digest(os.path.join(data, "padding", "fill"))
    for q in ("", "mib=", "mib=-1", "mib=abc", "mib=1.5", "mib=" + urllib.parse.quote("\u00b2"),
              "mib=" + urllib.parse.quote("\u0661"), "mib=4097", "mib=100000", "mib=1%0A",
              "mib=1&name=..", "mib=1&name=.", "mib=1&name=a%2Fb", "mib=1&name=" + "x" * 65,
              "mib=1&name=%00", "mib=1&name=a%20b"):
        code, ans = call(port, "POST", f"/pad?{q}")
        eq(f"/pad?{q} refused with 400", code, 400, REF)
    eq("... nothing made or written by them", (sorted(os.listdir(os.path.join(data, "padding"))),
                                               digest(os.path.join(data, "padding", "fill"))), (before, fill), REF)
    eq("GET /pad: 404", call(port, "GET", "/pad?mib=1")[0], 404, REF)
    eq("POST /other: 404", call(port, "POST", "/other?mib=1")[0], 404, REF)
    eq("the records untouched by the padding", call(port, "GET", "/all?writer=w1")[1].get("seqs"), "1-3", REF)

    stop(proc)
    proc = start(data, port)
    eq("after a restart: the records recovered, padding/ not taken for a writer",
       (call(port, "GET", "/all?writer=w1")[1].get("seqs"), call(port, "GET", "/read?writer=pad")[1].get("seq")),
       ("1-3", -1), REF)
    t = time.monotonic()
    code, ans = call(port, "POST", "/pad?mib=8&name=big")
    eq("/pad?mib=8 after the restart", (code, os.path.getsize(os.path.join(data, "padding", "big"))),
       (200, 8 * MiB), REF)
    print(f"note: 8 MiB padded in {time.monotonic() - t:.2f} s (the answer says {ans.get('seconds')} s)")
finally:
    stop(proc)
    subprocess.run(["rm", "-rf", data])
finish()
