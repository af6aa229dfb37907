#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/kbox/images/nodes_client.py CLUSTER_IP PORT N UNALLOCATED_IP (t_nodes' client pod).

N GET /hostname requests to CLUSTER_IP:PORT, a new connection each (so kube-proxy
chooses anew), then one connect to UNALLOCATED_IP:80, timed. Prints one JSON line:
{"ok": answered, "backends": [distinct hostnames], "errors": [...],
 "unallocated_errno": errno, "unallocated_seconds": s}.
"""
import http.client
import json
import socket
import sys
import time

cip, port, n, bad = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
backends, errors, ok = [], [], 0
for _ in range(n):
    try:
        c = http.client.HTTPConnection(cip, port, timeout=5)
        c.request("GET", "/hostname")
        r = c.getresponse()
        body = r.read().decode().strip()
        c.close()
        if r.status == 200:
            ok += 1
            backends.append(body)
    except OSError as e:
        errors.append(str(e))
t = time.time()
s = socket.socket()
s.settimeout(5)
err = None
try:
    s.connect((bad, 80))
except OSError as e:
    err = e.errno
print(json.dumps({"ok": ok, "backends": sorted(set(backends)), "errors": errors, "unallocated_errno": err,
                  "unallocated_seconds": round(time.time() - t, 3)}))
