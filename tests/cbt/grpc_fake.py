#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A gRPC server that answers wrong on purpose, for tests/cbt/t_cbt_grpc.c: HTTP/2 over TLS
(python3-h2), one connection at a time; the request's path picks the answer. It checks what
every gRPC server needs of a request (POST, content-type application/grpc, te: trailers,
grpc-timeout, one length-prefixed message) and answers INVALID_ARGUMENT when one is missing.
A second port speaks HTTP/1.1 only (ALPN http/1.1).

usage: grpc_fake.py DIR   makes DIR/ca.crt (the CA to trust) and DIR/other.crt (a CA that
signed nothing here), prints "H2PORT H1PORT", and
serves until its stdin closes.
"""
import os
import socket
import ssl
import subprocess
import sys
import threading
import time

import h2.config
import h2.connection
import h2.events

D = sys.argv[1]


def certs():
    ca, key = os.path.join(D, "ca.crt"), os.path.join(D, "ca.key")
    crt, skey = os.path.join(D, "srv.crt"), os.path.join(D, "srv.key")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256", "-days", "1"]
    subprocess.run(["openssl", "req", "-x509", *ec, "-subj", "/CN=fake-ca", "-keyout", key, "-out", ca,
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", *ec, "-subj", "/CN=fake", "-CA", ca, "-CAkey", key,
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", skey, "-out", crt],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["openssl", "req", "-x509", *ec, "-subj", "/CN=other-ca", "-keyout", os.path.join(D, "other.key"),
                    "-out", os.path.join(D, "other.crt")], check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return crt, skey


def msg(body, flag=0, length=None):
    n = len(body) if length is None else length
    return bytes([flag]) + n.to_bytes(4, "big") + body


GRPC = [(":status", "200"), ("content-type", "application/grpc")]


def answer(conn, sid, path, req):
    """-> False to drop the connection without ending the stream."""
    def data(b, end=False):
        conn.send_data(sid, b, end_stream=end)

    def trailers(code, text=None):
        h = [("grpc-status", str(code))] + ([("grpc-message", text)] if text else [])
        conn.send_headers(sid, h, end_stream=True)
    if path == "/t.S/ok":
        conn.send_headers(sid, GRPC)
        m = msg(b"one") + msg(b"") + msg(b"x" * 70000) + msg(b"four")
        for i in range(0, len(m), 7000):  # messages cut across DATA frames
            data(m[i:i + 7000])
        trailers(0)
    elif path == "/t.S/trailers-only":
        conn.send_headers(sid, GRPC + [("grpc-status", "7"), ("grpc-message", "user%20%22x%22 may%20not")],
                          end_stream=True)
    elif path == "/t.S/http503":
        conn.send_headers(sid, [(":status", "503"), ("content-type", "text/plain")])
        data(b"busy", True)
    elif path == "/t.S/no-status":
        conn.send_headers(sid, GRPC)
        data(msg(b"only"), True)
    elif path == "/t.S/html":
        conn.send_headers(sid, [(":status", "200"), ("content-type", "text/html")])
        data(b"<html></html>", True)
    elif path == "/t.S/big":
        conn.send_headers(sid, GRPC)
        data(msg(b"y" * 1000, length=5 << 20))
        trailers(0)
    elif path == "/t.S/cut":
        conn.send_headers(sid, GRPC)
        data(msg(b"whole") + msg(b"half", length=8))
        trailers(0)
    elif path == "/t.S/compressed":
        conn.send_headers(sid, GRPC)
        data(msg(b"zz", flag=1))
        trailers(0)
    elif path == "/t.S/unavailable":
        conn.send_headers(sid, GRPC)
        data(msg(b"first"))
        trailers(14, "going%20away")
    elif path == "/t.S/echo":  # the request message back, after the checks below
        conn.send_headers(sid, GRPC)
        data(msg(req["body"][5:]))
        trailers(0)
    elif path == "/t.S/reset":
        conn.send_headers(sid, GRPC)
        data(msg(b"before the reset"))
        return False
    else:
        conn.send_headers(sid, GRPC + [("grpc-status", "12"), ("grpc-message", "unknown method")], end_stream=True)
    return True


def check(req):
    h = req["headers"]
    body = req["body"]
    if h.get(":method") != "POST" or h.get("content-type") != "application/grpc" or h.get("te") != "trailers" \
            or not h.get("grpc-timeout", "").endswith("m"):
        return f"headers {sorted(h.items())}"
    if len(body) < 5 or body[0] != 0 or int.from_bytes(body[1:5], "big") != len(body) - 5:
        return f"request framing {body[:5].hex()} of {len(body)} bytes"
    return None


def serve_h2(sock, ctx):
    while True:
        raw, _ = sock.accept()
        try:
            s = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError):
            raw.close()
            continue
        conn = h2.connection.H2Connection(config=h2.config.H2Configuration(client_side=False,
                                                                           header_encoding="utf-8"))
        conn.initiate_connection()
        s.sendall(conn.data_to_send())
        reqs, alive = {}, True
        try:
            while alive:
                d = s.recv(65536)
                if not d:
                    break
                for ev in conn.receive_data(d):
                    if isinstance(ev, h2.events.RequestReceived):
                        reqs[ev.stream_id] = {"headers": dict(ev.headers), "body": b""}
                    elif isinstance(ev, h2.events.DataReceived):
                        reqs[ev.stream_id]["body"] += ev.data
                        conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                    elif isinstance(ev, h2.events.StreamEnded):
                        r = reqs.pop(ev.stream_id)
                        bad = check(r)
                        if bad:
                            conn.send_headers(ev.stream_id, GRPC + [("grpc-status", "3"), ("grpc-message", bad)],
                                              end_stream=True)
                        else:
                            alive = answer(conn, ev.stream_id, r["headers"][":path"], r)
                s.sendall(conn.data_to_send())
        except (ssl.SSLError, OSError, h2.exceptions.ProtocolError):
            pass
        if not alive:
            # the "reset" answer: a close with the client's frames unread is a TCP RST, and a
            # RST that reaches the client first discards the message it was sent (seen once
            # in an ASan run): give the client time to read it before the connection goes
            time.sleep(0.2)
        try:
            s.close()
        except OSError:
            pass


def serve_h1(sock, ctx):
    while True:
        raw, _ = sock.accept()
        try:
            s = ctx.wrap_socket(raw, server_side=True)
            s.recv(65536)
            s.sendall(b"HTTP/1.1 200 OK\r\ncontent-type: application/grpc\r\ngrpc-status: 0\r\n"
                      b"content-length: 0\r\nconnection: close\r\n\r\n")
            s.close()
        except (ssl.SSLError, OSError):
            raw.close()


def main():
    crt, key = certs()
    socks = []
    for alpn, fn in ((["h2"], serve_h2), (["http/1.1"], serve_h1)):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(alpn)
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        socks.append(s)
        threading.Thread(target=fn, args=(s, ctx), daemon=True).start()
    print(socks[0].getsockname()[1], socks[1].getsockname()[1], flush=True)
    sys.stdin.read()


main()
