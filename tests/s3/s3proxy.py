#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/s3/s3proxy.py - a fault-injecting, latency-adding HTTP/1.1 proxy for S3 tests.

  s3proxy.py --upstream 127.0.0.1:17480 --port-file F --log F [options]

Sits between an S3 client and the server (loopback only), relays keep-alive
HTTP/1.1 requests and logs each one as a JSON line:
  {"t": secs, "conn": n, "method": "PUT", "target": "/b/k?partNumber=1&...",
   "status": 200, "fault": null|"503"|"500"|"slowdown"|"reset"|"reset-mid"|...,
   "in": request body bytes, "out": response body bytes,
   "md5": whether the request carried Content-MD5, "n": request number}
Options:
  --latency MIN-MAX   sleep a random MIN..MAX ms before relaying each request
  --spike-rate R      with probability R a request waits --spike-ms more
  --spike-ms MS       (default 1500): a latency spike
  --fail-rate R       inject a fault into a request with probability R
  --faults K,K        the kinds to choose from: 503 (SlowDown), 500
                      (InternalError), reset (RST after the request),
                      reset-mid (RST halfway through the request body);
                      and, not among the defaults: stall (the request is
                      read and never answered: the connection is held for
                      --stall-ms, then closed), stall-body (relayed; the
                      answer stops halfway through its body for --stall-ms,
                      then the connection closes), truncate (relayed; the
                      answer is cut halfway, head or body, and the
                      connection closed), error200 (CompleteMultipartUpload
                      only: relayed, and the 200 answer's body replaced by an
                      <Error> InternalError document), etag (PUT only:
                      relayed, the answer's ETag replaced by a wrong one),
                      dup (relayed; the whole answer is sent twice). A kind
                      is drawn among those that apply to the request.
  --fail-match S      only requests whose target contains S get faults
  --schedule N:K,...  the N-th request (counting all, from 1) gets fault K,
                      whatever the rate (a seeded schedule made by the test)
  --fail-from N       every request from the N-th on gets a fault of --faults
                      (a store that goes bad and stays bad)
  --kill-after N      when the N-th request arrives, SIGKILL the process
                      whose pid is in --kill-pid-file (once), and drop it
  --kill-match S      count only requests whose "METHOD TARGET" contains S
                      (e.g. "DELETE /b/repo/snapshots/") for --kill-after
  --kill-pid-file F   (re-read when the N-th request arrives)
  --stall-ms MS       how long a stall lasts (default 30000)
SIGUSR1: every request from now on gets a fault of --faults (the store goes
bad while the test watches); SIGUSR2: no more faults (the fault clears).
  --seed N            for the random choices
  --sndbuf B          SO_SNDBUF towards the client (--bins does not depend on it)
  --bins F            on exit, write "rx|tx START_MS BYTES" lines: bytes that
                      arrived from / left towards clients per 10 ms, for rate
                      checks, at the times the kernel gives (SO_TIMESTAMPING):
                      a byte counts when it crosses the connection, not when
                      the proxy, perhaps late, reads it or queues it in its
                      own send buffer (on loopback, a byte that left has
                      arrived); reads and writes go in pieces of 8 KiB so
                      that a piece's bytes share one time
  --sink              answer PUT/POST/DELETE itself (ETag from the body's MD5),
                      reading every body: a stand-in server for throughput
  --no-delete-objects answer DeleteObjects (POST ?delete) with 501
                      NotImplemented, as stores without it do (fault
                      "notimpl" in the log)
Exits on SIGTERM (writing --bins first).
"""
import argparse
import hashlib
import json
import os
import random
import signal
import socket
import struct
import sys
import threading
import time
import uuid

ap = argparse.ArgumentParser()
ap.add_argument("--upstream", default="")
ap.add_argument("--listen", type=int, default=0)
ap.add_argument("--port-file", required=True)
ap.add_argument("--log", required=True)
ap.add_argument("--latency", default="0-0")
ap.add_argument("--fail-rate", type=float, default=0.0)
ap.add_argument("--faults", default="503,500,slowdown,reset,reset-mid")
ap.add_argument("--fail-match", default="")
ap.add_argument("--seed", type=int, default=1)
ap.add_argument("--spike-rate", type=float, default=0.0)
ap.add_argument("--spike-ms", type=float, default=1500.0)
ap.add_argument("--schedule", default="")
ap.add_argument("--fail-from", type=int, default=0)
ap.add_argument("--kill-after", type=int, default=0)
ap.add_argument("--kill-pid-file", default="")
ap.add_argument("--kill-match", default="")
ap.add_argument("--stall-ms", type=float, default=30000.0)
ap.add_argument("--sndbuf", type=int, default=0)
ap.add_argument("--bins", default="")
ap.add_argument("--sink", action="store_true")
ap.add_argument("--no-delete-objects", action="store_true")
args = ap.parse_args()

lat_lo, lat_hi = (float(x) for x in args.latency.split("-"))
faults = [f for f in args.faults.split(",") if f]
rnd = random.Random(args.seed)
rnd_lock = threading.Lock()
log_lock = threading.Lock()
logf = open(args.log, "a", buffering=1)
bins = {"rx": {}, "tx": {}}
bins_lock = threading.Lock()
t0 = time.time()
conn_ids = iter(range(1, 1 << 30))
schedule = {int(n): k for n, k in (e.split(":", 1) for e in args.schedule.split(",") if e)}
nreq = 0
nkill = 0
RELAYED = ("stall-body", "truncate", "error200", "etag", "dup")


def applies(kind, method, target):
    """Whether fault @kind can be injected into this request."""
    if kind == "error200":     # CompleteMultipartUpload: POST ?uploadId=
        return method == "POST" and "uploadId=" in target and "partNumber=" not in target
    if kind == "etag":
        return method == "PUT"
    return True


def on_usr(signum, _):
    with rnd_lock:
        if signum == signal.SIGUSR1:
            args.fail_from = nreq + 1
        else:
            args.fail_from, args.fail_rate, args.kill_after = 0, 0.0, 0
            schedule.clear()


def choose(method, target):
    """Under rnd_lock: (request number, fault or None, delay in s) for one request."""
    global nreq, nkill
    nreq += 1
    fault = None
    if args.kill_after and args.kill_match in method + " " + target:
        nkill += 1
    if nreq in schedule:
        fault = schedule[nreq]
    elif args.kill_after and nkill == args.kill_after:
        nkill += 1      # once
        fault = "kill"
    elif faults and args.fail_match in target:
        kinds = [k for k in faults if applies(k, method, target)]
        if kinds and (args.fail_from and nreq >= args.fail_from or
                      rnd.random() < args.fail_rate):
            fault = rnd.choice(kinds)
    delay = rnd.uniform(lat_lo, lat_hi) / 1000.0
    if args.spike_rate and rnd.random() < args.spike_rate:
        delay += args.spike_ms / 1000.0
    return nreq, fault, delay


def kill_client():
    try:
        with open(args.kill_pid_file) as f:
            os.kill(int(f.read().split()[0]), signal.SIGKILL)
        return True
    except (OSError, ValueError, IndexError):
        return False


# SO_TIMESTAMPING (linux/net_tstamp.h, linux/errqueue.h): the kernel's own
# times of what a socket sent and received
SO_TIMESTAMPING = 37
TS_FLAGS = (1 << 1 | 1 << 3 | 1 << 4 | 1 << 7 | 1 << 11)  # TX_, RX_SOFTWARE, SOFTWARE, OPT_ID, OPT_TSONLY
SO_EE_ORIGIN_TIMESTAMPING, SCM_TSTAMP_SND = 4, 0
IP_RECVERR = 11
PIECE = 8192    # bytes per write and read of a metered connection


class Meter:
    """What one client connection carried (--bins), timed by the kernel: a
    read's bytes at the time its last one arrived, a write's bytes at the time
    its last one left the socket (on loopback, arrived in the client's). A
    byte is timed late by at most what one read or write of PIECE bytes
    spans, however late the proxy runs."""

    def __init__(self, sock):
        self.sock, self.tx = sock, 0        # bytes timed as sent
        sock.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPING, TS_FLAGS)


meters = {}                     # client socket -> Meter, under meters_lock
meters_lock = threading.Lock()


def stamp(ancdata):
    """(time, key) of a SCM_TIMESTAMPING message: its software time, and the
    sent byte (counted from 0) it is about, or None for a receive."""
    t = key = None
    for level, kind, data in ancdata:
        if level == socket.SOL_SOCKET and kind == SO_TIMESTAMPING and len(data) >= 16:
            sec, nsec = struct.unpack_from("qq", data)
            t = sec + nsec / 1e9
        elif level == socket.IPPROTO_IP and kind == IP_RECVERR and len(data) >= 16:
            _, origin, _, _, _, info, data32 = struct.unpack_from("IBBBBII", data)
            if origin == SO_EE_ORIGIN_TIMESTAMPING and info == SCM_TSTAMP_SND:
                key = data32    # a byte count, modulo 2^32 (tests carry less)
    return t, key


def reap(m):
    """Under meters_lock: count the bytes the kernel says left @m's socket."""
    while True:
        try:
            _, anc, _, _ = m.sock.recvmsg(0, 512, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
        except OSError:     # empty (EAGAIN), or closed
            return
        t, key = stamp(anc)
        if t is not None and key is not None and key + 1 > m.tx:
            account("tx", key + 1 - m.tx, t)
            m.tx = key + 1


def reaper():
    """Times of the last writes of connections that went quiet."""
    while True:
        time.sleep(0.01)
        with meters_lock:
            for m in meters.values():
                reap(m)


def meter_start(sock):
    if args.bins:
        with meters_lock:
            meters[sock] = Meter(sock)


def meter_stop(sock):
    """Before @sock is closed (its file descriptor could name another socket next)."""
    with meters_lock:
        m = meters.pop(sock, None)
        if m:
            reap(m)


def account(kind, n, t):
    if not args.bins or n <= 0:
        return
    b = int(t * 100)
    with bins_lock:
        bins[kind][b] = bins[kind].get(b, 0) + n


def write_bins():
    if not args.bins:
        return
    with meters_lock:
        for m in meters.values():
            reap(m)
    with bins_lock, open(args.bins, "w") as f:
        for kind in ("rx", "tx"):
            for b in sorted(bins[kind]):
                f.write("%s %d %d\n" % (kind, b * 10, bins[kind][b]))


def on_term(*_):
    # requests already answered are logged first (a test reads the log next)
    for _ in range(100):
        with log_lock:
            if not pending[0]:
                break
        time.sleep(0.01)
    write_bins()
    logf.flush()
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)
signal.signal(signal.SIGUSR1, on_usr)
signal.signal(signal.SIGUSR2, on_usr)


class Conn:
    """Buffered reads from a socket."""

    def __init__(self, sock):
        self.s, self.buf = sock, b""

    def fill(self):
        if self.s in meters:
            d, anc, _, _ = self.s.recvmsg(PIECE, 512)
            t, _ = stamp(anc)
            account("rx", len(d), time.time() if t is None else t)
        else:
            d = self.s.recv(65536)
        if not d:
            raise EOFError
        self.buf += d

    def head(self):
        while b"\r\n\r\n" not in self.buf:
            if len(self.buf) > 65536:
                raise ValueError("header too long")
            self.fill()
        h, self.buf = self.buf.split(b"\r\n\r\n", 1)
        return h + b"\r\n\r\n"

    def read(self, n):
        while len(self.buf) < n:
            self.fill()
        d, self.buf = self.buf[:n], self.buf[n:]
        return d

    def chunks(self, n, chunk=65536):
        """Yield exactly n bytes in pieces."""
        while n > 0:
            if not self.buf:
                self.fill()
            d, self.buf = self.buf[:n], self.buf[n:]
            n -= len(d)
            yield d

    def line(self):
        while b"\r\n" not in self.buf:
            self.fill()
        l, self.buf = self.buf.split(b"\r\n", 1)
        return l


def headers_of(head):
    lines = head.decode("latin-1").split("\r\n")
    hdrs = {}
    for l in lines[1:]:
        if ":" in l:
            k, v = l.split(":", 1)
            hdrs[k.strip().lower()] = v.strip()
    return lines[0], hdrs


def rst(sock):
    meter_stop(sock)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def error_reply(code, reason, s3code):
    body = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by '
            's3proxy</Message><RequestId>proxy</RequestId></Error>' % s3code).encode()
    return ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "Connection: keep-alive\r\n\r\n" % (code, reason, len(body))).encode() + body


pending = [0]   # requests read and not yet logged


def log(rec):
    rec["t"] = round(time.time() - t0, 4)
    with log_lock:
        logf.write(json.dumps(rec) + "\n")
        pending[0] -= 1


def send(sock, data):
    m = meters.get(sock)
    if m is None:
        sock.sendall(data)
        return
    # MSG_EOR: TCP does not append the next piece to this one's packet, so
    # each piece keeps its own time (a packet carries the time of its last byte)
    view = memoryview(data)
    for i in range(0, len(view), PIECE):
        sock.sendall(view[i:i + PIECE], socket.MSG_EOR)
        with meters_lock:
            reap(m)


def relay_response(up, client, method):
    """Read one response from upstream and pass it on; return (status, body bytes, keep)."""
    head = up.head()
    status_line, h = headers_of(head)
    status = int(status_line.split()[1])
    send(client, head)
    n = 0
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        pass
    elif "content-length" in h:
        for d in up.chunks(int(h["content-length"])):
            send(client, d)
            n += len(d)
    elif h.get("transfer-encoding", "").lower() == "chunked":
        while True:
            l = up.line()
            size = int(l.split(b";")[0], 16)
            send(client, l + b"\r\n")
            data = up.read(size + 2)
            send(client, data)
            n += size
            if size == 0:
                break
    else:
        while True:
            try:
                up.fill()
            except EOFError:
                break
            send(client, up.buf)
            n += len(up.buf)
            up.buf = b""
        return status, n, False
    return status, n, h.get("connection", "").lower() != "close"


def read_response(up, method):
    """One whole response from upstream: (status, headers, head bytes, body, keep)."""
    head = up.head()
    status_line, h = headers_of(head)
    status = int(status_line.split()[1])
    body, keep = b"", h.get("connection", "").lower() != "close"
    if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
        pass
    elif "content-length" in h:
        body = up.read(int(h["content-length"]))
    elif h.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(up.line().split(b";")[0], 16)
            body += up.read(size + 2)[:size]
            if size == 0:
                break
        # as one plain body from here on
        head = b"\r\n".join(l for l in head.split(b"\r\n")
                             if not l.lower().startswith(b"transfer-encoding:"))
        head = head[:-2] + b"Content-Length: %d\r\n\r\n" % len(body)
    else:
        while True:
            try:
                up.fill()
            except EOFError:
                break
        body, up.buf, keep = up.buf, b"", False
    return status, h, head, body, keep


def set_header(head, name, value):
    """@head with header @name (bytes, lower case) set to @value (bytes)."""
    lines = [l for l in head[:-4].split(b"\r\n") if not l.lower().startswith(name + b":")]
    return b"\r\n".join(lines + [name + b": " + value]) + b"\r\n\r\n"


def relay_faulty(up, csock, method, fault):
    """Relay one response with @fault applied: (status, body bytes, keep upstream, drop client)."""
    status, h, head, body, keep = read_response(up, method)
    if fault == "etag" and "etag" in h:
        head = set_header(head, b"etag", b'"%s"' % hashlib.md5(h["etag"].encode()).hexdigest().encode())
    elif fault == "error200" and status == 200:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
                '<Message>injected by s3proxy after the upstream answered 200</Message>'
                '<RequestId>proxy</RequestId></Error>').encode()
        head = set_header(head, b"content-length", b"%d" % len(body))
    elif fault in ("truncate", "stall-body"):
        cut = head + body[:len(body) // 2] if body else head[:len(head) // 2]
        send(csock, cut)
        if fault == "stall-body":
            time.sleep(args.stall_ms / 1000.0)
        return status, len(cut) - len(head), False, True
    send(csock, head + body)
    if fault == "dup":
        send(csock, head + body)
    return status, len(body), keep, False


def query_names(target):
    return [q.split("=", 1)[0] for q in target.split("?", 1)[1].split("&")] if "?" in target else []


def sink_reply(method, target, body_md5):
    names = [q.split("=", 1)[0] for q in target.split("?", 1)[-1].split("&")]
    if method == "POST" and "uploads" in names:
        body = ('<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult>'
                '<UploadId>%s</UploadId></InitiateMultipartUploadResult>' % uuid.uuid4().hex)
        return 200, body.encode(), ""
    if method == "POST":
        return 200, b"<CompleteMultipartUploadResult><ETag></ETag></CompleteMultipartUploadResult>", ""
    if method == "PUT":
        return 200, b"", '"%s"' % body_md5
    if method == "DELETE":
        return 204, b"", ""
    return 404, b"<Error><Code>NoSuchKey</Code></Error>", ""


def serve(csock):
    cid = next(conn_ids)
    if args.sndbuf:
        csock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sndbuf)
    csock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    meter_start(csock)
    client = Conn(csock)
    up = None
    try:
        while True:
            try:
                head = client.head()
            except EOFError:
                return
            req_line, h = headers_of(head)
            method, target = req_line.split()[0], req_line.split()[1]
            length = int(h.get("content-length", "0"))
            with rnd_lock:
                n, fault, delay = choose(method, target)
            with log_lock:
                pending[0] += 1
            rec = {"conn": cid, "method": method, "target": target, "in": length,
                   "fault": fault, "status": 0, "out": 0, "md5": "content-md5" in h, "n": n}
            if args.no_delete_objects and method == "POST" and "delete" in query_names(target):
                fault = rec["fault"] = "notimpl"
            if fault == "kill":
                rec["killed"] = kill_client()
                log(rec)
                rst(csock)
                return
            if fault == "reset-mid":
                client.read(length // 2)
                log(rec)
                rst(csock)
                return
            if delay:
                time.sleep(delay)
            if fault in ("503", "500", "slowdown", "reset", "stall", "notimpl") or args.sink:
                md5 = hashlib.md5()
                for d in client.chunks(length):
                    md5.update(d)
                if fault == "reset":
                    log(rec)
                    rst(csock)
                    return
                if fault == "stall":
                    log(rec)
                    time.sleep(args.stall_ms / 1000.0)
                    return
                if fault:
                    code, reason, s3code = {"503": (503, "Service Unavailable", "ServiceUnavailable"),
                                            "500": (500, "Internal Server Error", "InternalError"),
                                            "slowdown": (503, "Slow Down", "SlowDown"),
                                            "notimpl": (501, "Not Implemented", "NotImplemented")}[fault]
                    send(csock, error_reply(code, reason, s3code))
                    rec["status"] = code
                    log(rec)
                    continue
                status, body, etag = sink_reply(method, target, md5.hexdigest())
                resp = "HTTP/1.1 %d X\r\nContent-Length: %d\r\n" % (status, len(body))
                if etag:
                    resp += "ETag: %s\r\n" % etag
                send(csock, (resp + "\r\n").encode() + body)
                rec["status"], rec["out"] = status, len(body)
                log(rec)
                continue
            if up is None:
                host, port = args.upstream.rsplit(":", 1)
                us = socket.create_connection((host, int(port)))
                us.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                up = Conn(us)
            up.s.sendall(head)
            for d in client.chunks(length):
                up.s.sendall(d)
            drop = False
            if fault in RELAYED:
                status, nout, keep, drop = relay_faulty(up, csock, method, fault)
            else:
                status, nout, keep = relay_response(up, csock, method)
            rec["status"], rec["out"] = status, nout
            log(rec)
            if drop:
                return
            if not keep:
                up.s.close()
                up = None
    except (EOFError, ConnectionError, OSError, ValueError):
        pass  # the client or the server went away: so does this connection
    finally:
        meter_stop(csock)
        try:
            csock.close()
        except OSError:
            pass
        if up is not None:
            up.s.close()


def main():
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", args.listen))
    ls.listen(256)
    with open(args.port_file + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(args.port_file + ".tmp", args.port_file)
    if args.bins:
        threading.Thread(target=reaper, daemon=True).start()
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
