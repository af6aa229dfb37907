#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The box's HTTP/2 front (nghttpx, KBOX_H2_URL): what the C client's h2 path will meet.

curl (libcurl + nghttp2, as ferry's client) lists, is refused, and runs two watches
multiplexed on one HTTP/2 connection through it; events stream as they happen and
each watch ends cleanly at its timeoutSeconds (CONTROLPLANE.md §6.1: watches are
newline-delimited JSON over chunked HTTP/1.1 or an HTTP/2 stream).
"""
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, skip  # noqa: E402

box = Box()
if box.real:
    skip("the HTTP/2 front is the box's (nghttpx); a real cluster's is tested by the client suite")
ns = box.namespace("h2")
TOK = box.env["KBOX_ADMIN_TOKEN"]


def curl(*args, token=TOK):
    cmd = ["curl", "-sS", "--http2", "--cacert", box.ca]
    if token:
        cmd += ["-H", f"Authorization: Bearer {token}"]
    return subprocess.run(cmd + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)


r = curl("-w", "\n%{http_version} %{http_code}", box.h2_url + "/version")
body, _, tail = r.stdout.rpartition("\n")
eq("GET /version over the h2 front: HTTP/2 200", tail, "2 200", "issue 12 §1 (HTTP/2 where offered)")
eq("...with the server's version", json.loads(body).get("minor"), "32", "§7.2 item 1")
r = curl("-w", "\n%{http_version} %{http_code}", box.h2_url + f"/api/v1/namespaces/{ns}/configmaps")
body, _, tail = r.stdout.rpartition("\n")
eq("a list over HTTP/2", (tail, json.loads(body).get("kind")), ("2 200", "ConfigMapList"), "§6.2")
r = curl("-w", "\n%{http_code}", box.h2_url + "/api/v1/namespaces", token=None)
body, _, tail = r.stdout.rpartition("\n")
eq("anonymous over HTTP/2 is refused as over HTTP/1.1 (403 Forbidden)", (tail, json.loads(body).get("reason")),
   ("403", "Forbidden"), "§7.2 item 11")
r = curl("-w", "\n%{http_code}", box.h2_url + "/api/v1/namespaces", token="bogus")
eq("a bad token over HTTP/2: 401", r.stdout.rpartition("\n")[2], "401", "§7.2 item 11")

# two watches on one connection (curl --parallel multiplexes over h2)
out1 = os.path.join(box.dir, "h2-w1.out")
out2 = os.path.join(box.dir, "h2-w2.out")
q = "?watch=true&timeoutSeconds=3&allowWatchBookmarks=true"
t0 = time.time()
p = subprocess.Popen(["curl", "-sS", "--http2", "-Z", "--cacert", box.ca, "-H",
                      f"Authorization: Bearer {TOK}", "-w", "%{num_connects} %{http_version}\n",
                      box.h2_url + f"/api/v1/namespaces/{ns}/configmaps" + q, "-o", out1,
                      box.h2_url + f"/api/v1/namespaces/{ns}/secrets" + q, "-o", out2],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
time.sleep(1.0)
box.admin.post(f"/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "via-h2"}, "data": {"a": "1"}})
box.admin.post(f"/api/v1/namespaces/{ns}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                    "metadata": {"name": "via-h2"}, "stringData": {"a": "1"}})
stdout, stderr = p.communicate(timeout=30)
dt = time.time() - t0
lines = stdout.split()
check("both watches ran over HTTP/2, sharing one connection (one connect in all)",
      sorted(lines) == ["0", "1", "2", "2"], stdout + stderr, ref="issue 12 §1 (watches multiplexed on one connection)")
evs1 = [json.loads(x) for x in open(out1).read().splitlines() if x.strip()]
evs2 = [json.loads(x) for x in open(out2).read().splitlines() if x.strip()]
eq("the configmap watch streamed its event over h2",
   [(e["type"], e["object"]["metadata"]["name"]) for e in evs1 if e["type"] == "ADDED" and e["object"]["metadata"]["name"] == "via-h2"],
   [("ADDED", "via-h2")], "§6.1")
eq("the secret watch streamed its event over h2",
   [(e["type"], e["object"]["metadata"]["name"]) for e in evs2 if e["type"] == "ADDED"], [("ADDED", "via-h2")], "§6.1")
check("both ended at timeoutSeconds (3 s), cleanly", p.returncode == 0 and dt < 15, (p.returncode, dt, stderr), ref="§6.1")

finish()
