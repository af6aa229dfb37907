#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Watches, fault hooks, compaction and restarts, on a private box (it injects faults and restarts).

Each check names the behaviour (CONTROLPLANE.md §6.1 watch, §6.2 lists, §6.4 errors,
§7.2 items 7 and 12, or the API concepts page) it holds the box to.
"""
import http.client
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, wait_until  # noqa: E402

AC = "kubernetes.io API Concepts"
box = Box(private=True, args=["--bookmark-seconds", "0.5", "--watch-max-seconds", "2"])
c = box.admin
ns = box.namespace("w")
CM = f"/api/v1/namespaces/{ns}/configmaps"


def cm(name, labels=None, data="1"):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": labels or {}}, "data": {"a": data}}


def take(it, n, types=("ADDED", "MODIFIED", "DELETED", "ERROR", "_BROKEN")):
    out = []
    for ev in it:
        if ev.get("type") in types:
            out.append(ev)
        if len(out) >= n:
            break
    return out


def names(evs):
    return [(e["type"], e["object"]["metadata"]["name"]) for e in evs]


wait_until(lambda: c.get(CM + "/kube-root-ca.crt")[0] == 200)  # the namespace controller's, first
code, _, a = c.post(CM, cm("a", {"x": "1"}))
rv_a = a["metadata"]["resourceVersion"]
c.post(CM, cm("b", {"x": "1"}))
c.patch(CM + "/a", {"data": {"a": "2"}})

# ---- replay from a resourceVersion (§6.1)
st, _, it = c.watch(CM, {"resourceVersion": rv_a, "timeoutSeconds": "5"})
evs = take(it, 2)
eq("watch from RV replays the events strictly after it, in order", names(evs), [("ADDED", "b"), ("MODIFIED", "a")], "§6.1")
check("each event's object carries its resourceVersion",
      int(evs[1]["object"]["metadata"]["resourceVersion"]) > int(evs[0]["object"]["metadata"]["resourceVersion"]), evs)

# ---- no RV: current state as ADDED, then changes (API concepts "Efficient detection of changes")
st, _, it = c.watch(CM, {"timeoutSeconds": "5", "labelSelector": "x=1"})
got = take(it, 2)
eq("watch without RV starts with every current object as ADDED", sorted(names(got)), [("ADDED", "a"), ("ADDED", "b")], AC)

# ---- selector transitions (§6.1)
st, _, it = c.watch(CM, {"resourceVersion": str(int(a["metadata"]["resourceVersion"])), "labelSelector": "x=1",
                         "timeoutSeconds": "5"})
c.patch(CM + "/b", {"metadata": {"labels": {"x": "2"}}})
c.patch(CM + "/b", {"metadata": {"labels": {"x": "1"}}})
evs = take(it, 4)
eq("an object that stops matching the selector arrives as DELETED, then ADDED when it matches again",
   names(evs)[-2:], [("DELETED", "b"), ("ADDED", "b")], "§6.1")

st, _, it = c.watch(CM, {"resourceVersion": str(10 ** 9), "timeoutSeconds": "10"})
evs = list(it)
eq("a watch from a future RV: after a short wait, an ERROR event (Timeout, ResourceVersionTooLarge)",
   [(e["type"], e["object"].get("code"), e["object"].get("reason")) for e in evs], [("ERROR", 504, "Timeout")],
   "API concepts: resource versions")

# ---- bookmarks, timeoutSeconds (§6.1)
st, _, it = c.watch(CM, {"resourceVersion": "0", "allowWatchBookmarks": "true", "timeoutSeconds": "2"})
t0 = time.time()
all_evs = list(it)
types = [e["type"] for e in all_evs]
check("allowWatchBookmarks brings BOOKMARK events (every 0.5 s here)", "BOOKMARK" in types, types, ref="§6.1")
bm = [e for e in all_evs if e["type"] == "BOOKMARK"][-1]["object"]
eq("a BOOKMARK object carries only metadata.resourceVersion", (sorted(bm["metadata"]), bm.get("kind")),
   (["resourceVersion"], "ConfigMap"), "§6.1")
check("the server ends the watch at timeoutSeconds with a clean end of stream",
      "_BROKEN" not in types and time.time() - t0 < 10, (types[-3:], time.time() - t0), ref="§6.1")
st, _, it = c.watch(CM, {"resourceVersion": "0", "timeoutSeconds": "2"})
eq("no BOOKMARK unless asked for", [e["type"] for e in it if e["type"] == "BOOKMARK"], [], "§6.1")
t0 = time.time()
st, _, it = c.watch(CM, {"resourceVersion": "0"}, timeout=30)
types = [e["type"] for e in it]
dt = time.time() - t0
check("without timeoutSeconds the server closes the watch itself, cleanly, after its limit "
      "(--watch-max-seconds 2: between 2 and 4 s of watching)", "_BROKEN" not in types and dt >= 2.0 and dt < 20,
      (types[-2:], dt), ref="§6.1 (apiserver closes after [1,2]x min-request-timeout)")

# ---- streaming list: sendInitialEvents (§6.1, KEP-3157)
st, _, it = c.watch(CM, {"sendInitialEvents": "true", "resourceVersionMatch": "NotOlderThan",
                         "allowWatchBookmarks": "true", "resourceVersion": "", "timeoutSeconds": "3"})
evs = []
for e in it:
    evs.append(e)
    if e["type"] == "BOOKMARK":
        break
eq("sendInitialEvents: synthetic ADDED for each object, then one BOOKMARK", [e["type"] for e in evs[:-1]],
   ["ADDED"] * len(c.get(CM)[2]["items"]), "§6.1")
eq("the BOOKMARK is annotated k8s.io/initial-events-end", evs[-1]["object"]["metadata"].get("annotations"),
   {"k8s.io/initial-events-end": "true"}, "§6.1")
st, _, it = c.watch(CM, {"sendInitialEvents": "true", "timeoutSeconds": "1"})
eq("sendInitialEvents without resourceVersionMatch=NotOlderThan: 422", st, 422, AC)

# ---- 410: compaction (§6.1, §6.2; issue 12 fault hooks)
code, _, p1 = c.get(CM, query={"limit": "1"})
c.post(CM, cm("after-page-1"))  # etcd keeps the compaction revision itself readable: move past it
code, _, cp = c.post("/kbox/v1/compact", {})
eq("POST /kbox/v1/compact answers 200", code, 200, "issue 12 §2")
st, _, it = c.watch(CM, {"resourceVersion": rv_a, "timeoutSeconds": "2"})
evs = list(it)
eq("a watch from a compacted RV gets HTTP 200 then one ERROR event", (st, [e["type"] for e in evs]), (200, ["ERROR"]), "§6.1")
eq("the ERROR event's object is Status 410 Expired", (evs[0]["object"].get("code"), evs[0]["object"].get("reason")),
   (410, "Expired"), "§6.1")
code, _, body = c.get(CM, query={"limit": "1", "continue": p1["metadata"]["continue"]})
eq("a continue token from before compaction: 410 Expired", (code, body.get("reason")), (410, "Expired"), "§6.2")
box.fault(verb="watch", pathRegex="/configmaps$", count=1, action="status", code=410)
st, _, it = c.watch(CM, {"resourceVersion": "1", "timeoutSeconds": "1"})
eq("fault hook: 410 on the watch request itself", st, 410, "§6.1")

# ---- history by age: continue tokens and watch positions expire (§6.1, §6.2: ~5 min upstream)
young = Box(private=True, args=["--history-seconds", "2"])
yc = young.admin
YCM = "/api/v1/namespaces/default/configmaps"
yc.post(YCM, cm("y1"))
yc.post(YCM, cm("y2"))
code, _, yp = yc.get(YCM, query={"limit": "1"})
yc.post(YCM, cm("y3"))
time.sleep(2.5)
yc.post(YCM, cm("y4"))  # history is trimmed as writes arrive
code, _, body = yc.get(YCM, query={"limit": "1", "continue": yp["metadata"]["continue"]})
eq("a continue token older than the history (--history-seconds 2): 410 Expired", (code, body.get("reason")),
   (410, "Expired"), "§6.2")
st, _, it = yc.watch(YCM, {"resourceVersion": yp["metadata"]["resourceVersion"], "timeoutSeconds": "2"})
eq("a watch from a position older than the history: ERROR 410", [(e["type"], e["object"].get("code")) for e in it],
   [("ERROR", 410)], "§6.1")
young.close()

# ---- fault hooks (§6.4, §7.2 item 12)
box.fault(verb="list", pathRegex=f"/namespaces/{ns}/configmaps$", count=2, action="status", code=429, retryAfter=2)
code, hdrs, body = c.get(CM)
eq("429 with Retry-After and a TooManyRequests Status", (code, hdrs.get("Retry-After"), body.get("reason")),
   (429, "2", "TooManyRequests"), "§6.4")
eq("the Status carries details.retryAfterSeconds", body.get("details", {}).get("retryAfterSeconds"), 2, "§6.4")
eq("count=2: the second request is refused too", c.get(CM)[0], 429, "issue 12 §2")
eq("the third goes through", c.get(CM)[0], 200, "issue 12 §2")
box.fault(verb="get", pathRegex="/configmaps/a$", count=1, action="status", code=500)
code, _, body = c.get(CM + "/a")
eq("500 InternalError", (code, body.get("reason")), (500, "InternalError"), "§6.4")
box.fault(verb="create", pathRegex="/configmaps", count=1, action="status", code=503)
code, _, body = c.post(CM, cm("never"))
eq("503 ServiceUnavailable on a write, and nothing is written", (code, body.get("reason"), c.get(CM + "/never")[0]),
   (503, "ServiceUnavailable", 404), "§6.4")
box.fault(verb="get", pathRegex="/configmaps/a$", count=1, action="delay", seconds=1.0)
t0 = time.time()
code, _, _ = c.get(CM + "/a")
dt = time.time() - t0
check("delay: the answer comes, late", code == 200 and dt >= 1.0, (code, dt), ref="issue 12 §2")
box.fault(verb="watch", pathRegex="/configmaps$", count=1, action="cutWatch", afterEvents=1)
st, _, it = c.watch(CM, {"resourceVersion": "0", "timeoutSeconds": "5"})
evs = list(it)
eq("cutWatch: one event, then the stream breaks without its final chunk", [e["type"] for e in evs], ["ADDED", "_BROKEN"], "§7.2 item 12")
# down: the API server away for some users (a restart as its clients see it), the others served
alice = c.with_token(box.token_for("alice", ["system:masters"]))
st, _, it = alice.watch(CM, {"resourceVersion": "0", "timeoutSeconds": "30"})
first = take(it, 1)
box.fault(action="down", userRegex="ali.*", seconds=2)
t0 = time.time()
rest = list(it)
eq("down: an open watch of the user is cut within a second, without its final chunk",
   ([e["type"] for e in first], [e["type"] for e in rest][-1:], time.time() - t0 < 1.5), (["ADDED"], ["_BROKEN"], True),
   "issue 19 (an API server restarted)")
try:
    code = alice.get(CM)[0]
except (OSError, http.client.HTTPException) as e:
    code = type(e).__name__
check("down: a request of the user gets no answer (the connection closed)", not isinstance(code, int), code,
      ref="issue 19")
eq("down: another user is served meanwhile", c.get(CM)[0], 200, "issue 19")
wait_until(lambda: time.time() - t0 > 2.1, 5, 0.1)
eq("down: after its seconds the user is served again", alice.get(CM)[0], 200, "issue 19")
box.fault(verb="*", pathRegex="/configmaps", count=0, action="status", code=503)
box.clear_faults()
eq("DELETE /kbox/v1/faults clears the rules", c.get(CM)[0], 200, "issue 12 §2")
user = c.with_token(box.token_for("mallory"))
eq("the hooks are admin-only", user.post("/kbox/v1/compact", {})[0], 403, "issue 12 §2")

# ---- restart: state, counter and history survive (issue 12 §2)
code, _, before = c.post(CM, cm("persist"))
rv_before = before["metadata"]["resourceVersion"]
c.patch(CM + "/persist", {"data": {"a": "after"}})
r = box.kbox("restart")
eq("kbox restart succeeds", r.returncode, 0, "issue 12 §2")
c = box.admin = box.admin.with_token(box.admin.token)
code, _, after = c.get(CM + "/persist")
eq("objects survive a restart", (code, after.get("data")), (200, {"a": "after"}), "issue 12 §2")
code, _, n = c.post(CM, cm("post-restart"))
check("the resourceVersion counter continues after a restart",
      int(n["metadata"]["resourceVersion"]) > int(after["metadata"]["resourceVersion"]), n["metadata"], ref="§6.1")
st, _, it = c.watch(CM, {"resourceVersion": rv_before, "timeoutSeconds": "3"})
evs = take(it, 2)
eq("a watch resumes across a restart from an RV in history", names(evs),
   [("MODIFIED", "persist"), ("ADDED", "post-restart")], "§6.1 (reconnect from the last RV)")

finish()
