#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
# tests/bpf/tcp_xfer.py - a known amount of TCP traffic for the network test.
#   tcp_xfer.py serve ADDR PORT REPLY_BYTES   accept one connection, read to EOF,
#                                             answer REPLY_BYTES, close; print bytes read
#   tcp_xfer.py send ADDR PORT BYTES          connect, send BYTES, shut down writing,
#                                             read the reply to EOF; print bytes read
import socket
import sys

mode, addr, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
chunk = b"\xa5" * 65536


def send_all(s, n):
    while n > 0:
        k = s.send(chunk[:min(n, len(chunk))])
        n -= k


def read_all(s):
    got = 0
    while True:
        b = s.recv(1 << 20)
        if not b:
            return got
        got += len(b)


if mode == "serve":
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((addr, port))
    ls.listen(1)
    ls.settimeout(30)
    c, _ = ls.accept()
    c.settimeout(30)
    got = read_all(c)
    send_all(c, n)
    c.shutdown(socket.SHUT_WR)
    read_all(c)  # the peer's close
    c.close()
    ls.close()
    print(got)
else:
    s = socket.create_connection((addr, port), timeout=30)
    send_all(s, n)
    s.shutdown(socket.SHUT_WR)
    got = read_all(s)
    s.close()
    print(got)
