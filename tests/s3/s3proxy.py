#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""tests/s3/s3proxy.py - a fault-injecting, latency-adding HTTP/1.1 proxy for S3 tests.

  s3proxy.py --upstream 127.0.0.1:17480 --port-file F --log F [options]

Sits between an S3 client and the server (loopback only), relays keep-alive
HTTP/1.1 requests and logs each one as a JSON line:
  {"t": secs, "conn": n, "method": "PUT", "target": "/b/k?partNumber=1&...",
   "status": 200, "fault": null|"503"|"500"|"slowdown"|"reset"|"reset-mid",
   "in": request body bytes, "out": response body bytes,
   "md5": whether the request carried Content-MD5}
Options:
  --latency MIN-MAX   sleep a random MIN..MAX ms before relaying each request
  --fail-rate R       inject a fault into a request with probability R
  --faults K,K        the kinds to choose from: 503 (SlowDown), 500
                      (InternalError), reset (RST after the request),
                      reset-mid (RST halfway through the request body)
  --fail-match S      only requests whose target contains S get faults
  --seed N            for the random choices
  --sndbuf B          SO_SNDBUF towards the client (so a byte counted as sent
                      has left the proxy: download caps are measured honestly)
  --bins F            on exit, write "rx|tx START_MS BYTES" lines: bytes read
                      from / written to clients per 10 ms, for rate checks
  --sink              answer PUT/POST/DELETE itself (ETag from the body's MD5),
                      reading every body: a stand-in server for throughput
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
ap.add_argument("--sndbuf", type=int, default=0)
ap.add_argument("--bins", default="")
ap.add_argument("--sink", action="store_true")
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


def account(kind, n):
    if not args.bins or n <= 0:
        return
    b = int(time.time() * 100)
    with bins_lock:
        bins[kind][b] = bins[kind].get(b, 0) + n


def write_bins():
    if not args.bins:
        return
    with bins_lock, open(args.bins, "w") as f:
        for kind in ("rx", "tx"):
            for b in sorted(bins[kind]):
                f.write("%s %d %d\n" % (kind, b * 10, bins[kind][b]))


def on_term(*_):
    write_bins()
    logf.flush()
    sys.exit(0)


signal.signal(signal.SIGTERM, on_term)


class Conn:
    """Buffered reads from a socket."""

    def __init__(self, sock, kind=None):
        self.s, self.buf, self.kind = sock, b"", kind

    def fill(self):
        d = self.s.recv(65536)
        if self.kind:
            account(self.kind, len(d))
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
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def error_reply(code, reason, s3code):
    body = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>injected by '
            's3proxy</Message><RequestId>proxy</RequestId></Error>' % s3code).encode()
    return ("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
            "Connection: keep-alive\r\n\r\n" % (code, reason, len(body))).encode() + body


def log(rec):
    rec["t"] = round(time.time() - t0, 4)
    with log_lock:
        logf.write(json.dumps(rec) + "\n")


def send(sock, data):
    sock.sendall(data)
    account("tx", len(data))


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
    client = Conn(csock, "rx")
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
                fault = None
                if faults and args.fail_match in target and rnd.random() < args.fail_rate:
                    fault = rnd.choice(faults)
                delay = rnd.uniform(lat_lo, lat_hi) / 1000.0
            rec = {"conn": cid, "method": method, "target": target, "in": length,
                   "fault": fault, "status": 0, "out": 0, "md5": "content-md5" in h}
            if fault == "reset-mid":
                client.read(length // 2)
                log(rec)
                rst(csock)
                return
            if delay:
                time.sleep(delay)
            if fault in ("503", "500", "slowdown", "reset") or args.sink:
                md5 = hashlib.md5()
                for d in client.chunks(length):
                    md5.update(d)
                if fault == "reset":
                    log(rec)
                    rst(csock)
                    return
                if fault:
                    code, reason, s3code = {"503": (503, "Service Unavailable", "ServiceUnavailable"),
                                            "500": (500, "Internal Server Error", "InternalError"),
                                            "slowdown": (503, "Slow Down", "SlowDown")}[fault]
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
            status, n, keep = relay_response(up, csock, method)
            rec["status"], rec["out"] = status, n
            log(rec)
            if not keep:
                up.s.close()
                up = None
    except (EOFError, ConnectionError, OSError, ValueError):
        pass  # the client or the server went away: so does this connection
    finally:
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
    while True:
        c, _ = ls.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()


main()
