#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_switch_analysis: a StatefulSwitch's analyses, and copyMethod Clone (issue 20: "pre-promotion
analysis on a throwaway clone of green's volumes (green pods on the clone, writes discarded,
HTTP checks and thresholds on the agents' per-pod metrics) while blue serves"; "post-promotion
analysis can roll back"; "Promotion blocked by failing analysis").

The box and the application of switchkit.py (records.py in the StatefulSet db behind the Service
db), a Writer through the Service from node-b1 the whole time; the agent DaemonSet of k8s/deploy
as the box's pods (their per-pod pages over TLS, read by the controller in the box's fabric: the
values an analysis's metrics are checked against). Three switches:
1. spec.analysis {durationSeconds 4, http [/healthz:8080], metrics [cpu max 4, memory max 1Gi]},
   autoPromotionEnabled: once a round converged, status.analysis goes Cloning, Starting, Running,
   Successful, each metric measured on the preview's pod by its node's agent and never out of
   bounds; meanwhile the preview pod db-green-preview-0 runs green's image (VERSION green) on a
   clone, the active Service keeps blue's revision (no preview pod among its endpoints), and a
   write made straight to the preview pod is acknowledged; then the switch promotes by itself
   (green serves), the clone and the preview are gone, and green's store does not hold the
   preview's write (it was discarded). spec.postPromotionAnalysis {metrics [memory max 1Ki]}
   (no process's working set is that small) fails at its first measurement of db-green-0: the
   switch rolls back by itself (Discard), status.rollback.reason naming the metric, the value and
   the bound, a Warning Event PostPromotionAnalysisFailed, blue serving again.
2. spec.analysis with an http check of a path records.py answers 404: Failed, the switch Paused
   with health Degraded and "promotion blocked", an Event AnalysisFailed; spec.promote then
   changes nothing (a Warning Event PromotionRefused, blue still serving, no cutover); spec.abort:
   Aborted, the clone, the preview and green's claims gone, the selector the user's again.
3. copyMethod Clone (no seed, no rounds: green's claims cloned from blue's in the cutover, blue
   stopped) with an HPA on blue and spec.postPromotionAnalysis {4 s, http /healthz, cpu max 4}:
   Paused at once, the HPA held at blue's replicas (min = max = 1, its own bounds in
   status.autoscalers); promote; the HPA now targets green with its bounds back; every write
   blue acknowledged is in green's store; the writer's window and status.writeUnavailableSeconds
   printed beside the Repository method's; the post-promotion analysis passes (the switch stays
   Promoted, its check pod gone); rollback (Discard): the HPA back on blue.
Throughout: blue (then green) acknowledged the writer's writes but in the cutover windows, and
every acknowledged write is stored. CI budget: within issue 20's 4 minutes for the switch suite.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import switchkit as sk  # noqa: E402
from switchkit import API, NS, NAME, check, eq, note, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 20: pre-promotion analysis"
FERRY = xferkit.require(("nsenter",))
NODE = "node-b1"
SW = f"{API}/namespaces/{NS}/statefulswitches"
PREVIEW = NAME + "-green-preview"


def switch(env):
    return env.get(f"{SW}/{NAME}") or {}


def status(env):
    return switch(env).get("status") or {}


def events(env, reason):
    items = (env.get(f"/apis/events.k8s.io/v1/namespaces/{NS}/events") or {}).get("items") or []
    return [e for e in items if e.get("reason") == reason and (e.get("regarding") or {}).get("name") == NAME]


def endpoints(env):
    """The pod names of the Service's ready endpoints."""
    out = []
    sl = env.get(f"/apis/discovery.k8s.io/v1/namespaces/{NS}/endpointslices?labelSelector="
                 f"kubernetes.io/service-name={NAME}") or {}
    for s in sl.get("items") or []:
        for e in s.get("endpoints") or []:
            if (e.get("conditions") or {}).get("ready", True):
                out.append((e.get("targetRef") or {}).get("name"))
    return out


HPA = f"/apis/autoscaling/v2/namespaces/{NS}/horizontalpodautoscalers"


def hpa(env):
    """(target, minReplicas, maxReplicas) of the HPA db."""
    sp = (env.get(f"{HPA}/{NAME}") or {}).get("spec") or {}
    return ((sp.get("scaleTargetRef") or {}).get("name"), sp.get("minReplicas"), sp.get("maxReplicas"))


def make_switch(env, analysis, **spec):
    body = {"workloadRef": {"name": NAME}, "activeService": NAME, "image": {"records": sk.GREEN_IMAGE},
            "syncIntervalSeconds": 2, "scaleDownDelaySeconds": 60, "analysis": analysis}
    body.update(spec)
    body = {k: v for k, v in body.items() if v is not None}
    code, _, res = env.api.post(SW, {"apiVersion": "ferry.io/v1alpha1", "kind": "StatefulSwitch",
                                     "metadata": {"name": NAME}, "spec": body})
    eq("the StatefulSwitch made", code, 201, REF)


def metrics_of(st, which="analysis"):
    """{name: (measurements, failures)} of status.<which>.metrics"""
    return {m.get("name"): (m.get("measurements"), m.get("failures"))
            for m in (st.get(which) or {}).get("metrics") or []}


def passing(env, ip, writer):
    # the analysis's thresholds hold (records.py idles well under 4 CPUs and 1 GiB); after the
    # switch, one no process meets (a working set under 1 KiB) fails at the first measurement
    make_switch(env, {"durationSeconds": 4, "http": [{"path": "/healthz", "port": sk.PORT}],
                      "metrics": [{"name": "cpu", "max": "4"}, {"name": "memory", "max": "1Gi"}]},
                postPromotionAnalysis={"durationSeconds": 10, "metrics": [{"name": "memory", "max": "1Ki"}]})
    seen = []

    def phase_of_analysis():
        p = status(env).get("analysis", {}).get("phase")
        if p and (not seen or seen[-1] != p):
            seen.append(p)
        return p == "Running"
    running = wait_until(phase_of_analysis, 120, 0.1)
    if not running:
        sk.diagnose(env, "analysis not Running")
    check("pass: the analysis runs (Cloning, Starting, Running)", running, (seen, status(env).get("message")),
          "Running", REF)
    pods = [p for p in sk.pods(env, PREVIEW)]
    pip = pods and (pods[0].get("status") or {}).get("podIP")
    ans, err = sk.call(env, NODE, "GET", "/version", pip, sk.PORT, timeout=0) if pip else (None, "no pod")
    eq("pass: the preview pod runs green's image on the clone", (ans or {}).get("version") or err, "green", REF)
    claims = [(c["metadata"]["name"], (c["spec"].get("dataSource") or {}).get("name"))
              for c in (env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims") or {}).get("items") or []
              if c["metadata"]["name"].startswith("data-" + PREVIEW)]
    eq("pass: the preview's claim is a clone of green's claim", claims,
       [(f"data-{PREVIEW}-0", f"data-{NAME}-green-0")], REF)
    ans, err = sk.call(env, NODE, "POST", "/write?writer=preview&seq=1", pip, sk.PORT, timeout=0) if pip else \
        (None, "no pod")
    eq("pass: a write straight to the preview pod is acknowledged", (ans is not None, err), (True, None), REF)
    eps = endpoints(env)
    check("pass: the active Service's endpoints are blue's only (the preview is not among them)",
          eps and all(e.startswith(NAME + "-") and not e.startswith(NAME + "-green") for e in eps), eps,
          [f"{NAME}-0"], REF)
    ok = wait_until(lambda: phase_of_analysis() or status(env).get("phase") == "Promoted", 120, 0.1) and \
        wait_until(lambda: status(env).get("phase") == "Promoted", 120, 0.1)
    if not ok:
        sk.diagnose(env, "not Promoted")
    check("pass: Successful, then the switch promoted itself (autoPromotionEnabled)", ok and
          "Successful" in seen + [status(env).get("analysis", {}).get("phase")],
          (seen, status(env).get("analysis"), status(env).get("phase")), "Promoted", REF)
    st = status(env)
    eq("pass: status.analysis", {k: (st.get("analysis") or {}).get(k) for k in ("phase", "cleanedUp")},
       {"phase": "Successful", "cleanedUp": True}, REF)
    eq("pass: the preview and its clone are gone", (sk.sts(env, PREVIEW), env.get(
        f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data-{PREVIEW}-0")), ({}, None), REF)
    wait_until(lambda: any(r.ok and r.ans.get("version") == "green" for r in writer.done()), 20, 0.05)
    stored, ans = sk.read_all(env, NODE, "preview", ip)
    eq("pass: green's store holds nothing of the preview's write (the clone was discarded)",
       (sorted(stored or []), (ans or {}).get("version")), ([], "green"), REF)
    got = metrics_of(st)
    check("pass: both metrics measured on the preview's pod by its node's agent, none out of bounds",
          set(got) == {"cpu", "memory"} and all(m and m >= 2 and f == 0 for m, f in got.values()), got,
          "{cpu: (>= 2, 0), memory: (>= 2, 0)}", "issue 20: thresholds on the agents' per-pod metrics")
    note(f"analysis: {json.dumps(st.get('analysis'))}")
    # the post-promotion analysis fails: the switch rolls back by itself (Discard)
    ok = wait_until(lambda: status(env).get("phase") in ("RolledBack", "Failed"), 90, 0.1)
    st = status(env)
    eq("post: the failed post-promotion analysis rolled the switch back by itself", st.get("phase"), "RolledBack",
       "issue 20: post-promotion analysis can roll back")
    reason = (st.get("rollback") or {}).get("reason") or ""
    check("post: status.rollback.reason names the metric, its value and the bound",
          "memory" in reason and "above max 1024 " in reason, reason, "metric memory ... above max 1024", REF)
    eq("post: status.postAnalysis", ((st.get("postAnalysis") or {}).get("phase"),
                                     metrics_of(st, "postAnalysis").get("memory", (0, 0))[1] >= 1),
       ("Failed", True), REF)
    check("post: a Warning Event PostPromotionAnalysisFailed",
          wait_until(lambda: events(env, "PostPromotionAnalysisFailed"), 10, 0.2), None, None, REF)
    eps = endpoints(env)
    check("post: blue serves again (the Service's endpoints are blue's)",
          eps and all(not e.startswith(NAME + "-green") for e in eps), eps, [f"{NAME}-0"], REF)
    note(f"post-promotion analysis: {json.dumps(st.get('postAnalysis'))}; rollback {json.dumps(st.get('rollback'))}")


def failing(env, writer):
    make_switch(env, {"durationSeconds": 3, "http": [{"path": "/no-such-page", "port": sk.PORT}]},
                autoPromotionEnabled=False)
    ok = wait_until(lambda: (status(env).get("analysis") or {}).get("phase") == "Failed", 150, 0.2)
    if not ok:
        sk.diagnose(env, "analysis not Failed")
    st = status(env)
    check("fail: the analysis failed", ok, st.get("analysis"), "Failed", REF)
    ok = wait_until(lambda: status(env).get("health") == "Degraded", 30, 0.2)
    st = status(env)
    eq("fail: Paused, Degraded to Argo CD, promotion blocked",
       (st.get("phase"), st.get("health"), "promotion blocked" in (st.get("message") or "")),
       ("Paused", "Degraded", True), REF)
    check("fail: an Event AnalysisFailed", wait_until(lambda: events(env, "AnalysisFailed"), 10, 0.2), None,
          None, REF)
    t = time.monotonic()
    eq("fail: promote asked", env.api.patch(f"{SW}/{NAME}", {"spec": {"promote": True}})[0], 200, REF)
    check("fail: a Warning Event PromotionRefused", wait_until(lambda: events(env, "PromotionRefused"), 20, 0.2),
          None, None, REF)
    time.sleep(3)
    st = status(env)
    eq("fail: still Paused, no cutover", (st.get("phase"), st.get("cutover")), ("Paused", None), REF)
    check("fail: blue acknowledged every write after the promote was asked", all(
        r.ok and r.ans.get("version") == "blue" for r in writer.done() if r.sent >= t and r.acked),
        None, None, REF)
    eq("fail: abort asked", env.api.patch(f"{SW}/{NAME}", {"spec": {"abort": True}})[0], 200, REF)
    ok = wait_until(lambda: status(env).get("phase") in ("Aborted", "Failed"), 90, 0.2)
    eq("fail: Aborted", status(env).get("phase"), "Aborted", REF)
    left = [c["metadata"]["name"] for c in (env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims") or {}).get(
        "items") or [] if c["metadata"]["name"].startswith(f"data-{NAME}-green")]
    eq("fail: green's claims and the clone gone, the preview gone", (left, sk.sts(env, PREVIEW)), ([], {}), REF)
    eq("fail: the Service's selector the user's again", ((env.get(f"/api/v1/namespaces/{NS}/services/{NAME}") or {})
                                                         .get("spec") or {}).get("selector"), sk.LABELS, REF)


def cloned(env, ip):
    w = sk.Writer(env, NODE, ip, name="wc")
    w.start()
    try:
        wait_until(lambda: any(r.ok for r in w.done()), 30, 0.05)
        env.create(HPA, {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                         "metadata": {"name": NAME}, "spec": {
                             "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": NAME},
                             "minReplicas": 1, "maxReplicas": 3, "metrics": [{"type": "Resource", "resource": {
                                 "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}})
        make_switch(env, None, copyMethod="Clone", autoPromotionEnabled=False,
                    postPromotionAnalysis={"durationSeconds": 4, "http": [{"path": "/healthz", "port": sk.PORT}],
                                           "metrics": [{"name": "cpu", "max": "4"}]})
        ok = wait_until(lambda: status(env).get("phase") in ("Paused", "Failed"), 60, 0.1)
        eq("clone: Paused at once (nothing to seed)", status(env).get("phase"), "Paused", REF)
        eq("clone: blue's HPA held at blue's replicas during the switch (recorded in status.autoscalers)",
           (hpa(env), status(env).get("autoscalers")),
           ((NAME, 1, 1), [{"kind": "HorizontalPodAutoscaler", "name": NAME, "minReplicas": 1, "maxReplicas": 3}]),
           REF)
        eq("clone: promote asked", env.api.patch(f"{SW}/{NAME}", {"spec": {"promote": True}})[0], 200, REF)
        ok = wait_until(lambda: status(env).get("phase") in ("Promoted", "Failed"), 120, 0.1)
        if not ok or status(env).get("phase") != "Promoted":
            sk.diagnose(env, "clone: not Promoted")
        st = status(env)
        eq("clone: Promoted", st.get("phase"), "Promoted", REF)
        eq("clone: no round ran (the cutover cloned)", [r.get("verdict") for r in st.get("rounds") or []],
           ["Clone"], REF)
        claim = env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/data-{NAME}-green-0") or {}
        eq("clone: green's claim is a clone of blue's", (claim.get("spec") or {}).get("dataSource"),
           {"kind": "PersistentVolumeClaim", "name": f"data-{NAME}-0"}, REF)
        wait_until(lambda: any(r.ok and r.ans.get("version") == "green" for r in w.done()), 20, 0.05)
        time.sleep(1)
        win, _, _ = sk.window(w.recs)
        note(f"clone: the writer's window {win and round(win, 3)} s, writeUnavailableSeconds "
             f"{st.get('writeUnavailableSeconds')}, cutover {json.dumps(st.get('cutover'))}")
        check("clone: the writer's window is positive and within the bound", win is not None and 0 < win <= 30,
              win, "0 < window <= 30", REF)
        stored, ans = sk.read_all(env, NODE, w.name, ip)
        eq("clone: green serves every write acknowledged (blue's and its own), no stale read",
           ((ans or {}).get("version"), sk.history_problems(w.done(), [], stored or set())), ("green", []), REF)
        eq("clone: the HPA carried over to green, its bounds given back", hpa(env), (f"{NAME}-green", 1, 3), REF)
        ok = wait_until(lambda: (status(env).get("postAnalysis") or {}).get("phase") in ("Successful", "Failed"),
                        30, 0.2)
        st = status(env)
        eq("clone: the post-promotion analysis passed (green's pod: /healthz, cpu), the switch still Promoted",
           ((st.get("postAnalysis") or {}).get("phase"), st.get("phase"),
            metrics_of(st, "postAnalysis").get("cpu", (0, 0))[0] >= 1), ("Successful", "Promoted", True), REF)
        check("clone: its check pod is gone", wait_until(lambda: not [
            p for p in (env.get(f"/api/v1/namespaces/{sk.SYS}/pods") or {}).get("items") or []
            if p["metadata"]["name"].endswith("-postcheck")], 20, 0.2), None, None, REF)
        eq("clone: rollback asked", env.api.patch(f"{SW}/{NAME}", {"spec": {"rollback": True}})[0], 200, REF)
        ok = wait_until(lambda: status(env).get("phase") in ("RolledBack", "Failed"), 90, 0.1)
        eq("clone: rolled back", status(env).get("phase"), "RolledBack", REF)
        eq("clone: the HPA back on blue", hpa(env), (NAME, 1, 3), REF)
    finally:
        w.stop()


env = None
writer = None
try:
    env = sk.start(FERRY, "switch-analysis-password", identity="switch-analysis", prefix="ferry-swan-",
                   signals=True)
    sk.make_app(env)
    ok = sk.ready(env)
    check("the application's StatefulSet db is ready", ok, sk.sts(env).get("status"), "readyReplicas 1", REF)
    sk.agents_ready(env)
    ip = sk.service_ip(env)
    writer = sk.Writer(env, NODE, ip, name="wa")
    writer.start()
    wait_until(lambda: any(r.ok for r in writer.done()), 30, 0.05)
    t = time.time()
    note(f"the box, ferry and the application: {t - T0:.1f} s")
    passing(env, ip, writer)
    eq("the first switch deleted", env.api.delete(f"{SW}/{NAME}")[0], 200, REF)
    wait_until(lambda: not switch(env), 30, 0.2)
    note(f"the first switch: {time.time() - t:.1f} s")
    t = time.time()
    failing(env, writer)
    eq("the second switch deleted", env.api.delete(f"{SW}/{NAME}")[0], 200, REF)
    wait_until(lambda: not switch(env), 30, 0.2)
    note(f"the second switch: {time.time() - t:.1f} s")
    t = time.time()
    cloned(env, ip)
    note(f"the third switch: {time.time() - t:.1f} s")
    writer.stop()
    stored, ans = sk.read_all(env, NODE, writer.name, ip)
    blue_w = [r for r in writer.done() if not r.ok or r.ans.get("version") == "blue"]
    eq("every write blue acknowledged is stored (the rollback was Discard: green's are not)",
       sk.history_problems(blue_w, [], stored or set()), [], REF)
    note(f"writes: {writer.counts()}")
except Exception:
    if env:
        sk.diagnose(env, "exception")
    raise
finally:
    if writer:
        writer.stop()
    sk.close(env, REF)
note(f"{time.time() - T0:.1f} s in all")
finish()
