#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_switch_faults: a StatefulSwitch's failures under live traffic (issue 20, "Tests": a switch
refused because the predicted window would not fit, a deadline abort mid-cutover, the controller
killed mid-cutover; scaling refused, abort while Syncing). Meson test `switch-faults`
(tests/switch/meson.build); by hand: FERRY=build/control/ferry tests/switch/t_switch_faults.py

One box and the application of tests/switch/switchkit.py (records.py as kbox/records:blue in the
StatefulSet db behind the Service db); the switches one after the other, each the StatefulSwitch
db (image records -> kbox/records:green, syncIntervalSeconds 2), each under a Writer of its own
(every 10 ms through the ClusterIP, 1 s timeout, no retry), a Reader (every 50 ms) and a
DirectProbe (writes to db's and db-green's pods at their own addresses), from node-b1. After
each: every acknowledged seq stored (GET /all through the Service once the traffic stopped),
no stale read, no instant at which blue and green both accepted a write.
1. refused: maxWriteUnavailableSeconds 1 (a round here takes seconds, so every prediction
   exceeds it) and spec.promote true: rounds go on, each verdict after the first TooSlow, a
   Warning Event PromotionRefused, never CuttingOver, blue acknowledging every write; meanwhile
   blue's StatefulSet scaled to 2 by hand: set back to 1 with a Warning Event ScaleRefused; then
   spec.abort: Aborted, green's claims and the switch's VolumeTransfers gone (no green
   StatefulSet), the Service's selector the user's again, blue's ferry.io/ annotations gone;
2. deadline: cutoverDeadlineSeconds 2 (the final delta alone takes longer), autoPromotionEnabled
   and spec.promote true: the cutover aborted (status.lastAbort with its reason, a Warning Event
   CutoverAborted, one, Syncing again, spec.promote false), blue acknowledging again; the next
   converged round waits for spec.promote (Paused: autoPromotion does not try again by itself);
   then cutoverDeadlineSeconds 60 and spec.promote: Promoted, green acknowledging; nothing lost
   across both; then a rollback (Discard) so that blue serves for the next;
3. the controller killed (SIGKILL) mid-cutover, once status.cutover.blueStoppedTime is set (a
   watch of the switch), started again a second later: Promoted, never both sides accepting,
   nothing lost.
The figures (windows, the aborted cutover's instants, the kill's, the Events) are printed as
notes. About 75 s on the 2-CPU machine.
"""
import json
import os
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import switchkit as sk  # noqa: E402
from switchkit import API, NS, NAME, SYS, check, eq, note, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 20: blue/green switchover with state (failures)"
FERRY = xferkit.require(("nsenter",))
NODE = "node-b1"
GREEN = NAME + "-green"
SW = f"{API}/namespaces/{NS}/statefulswitches"
CTRL_EXTRA = ["--kube-api-qps", "100", "--kube-api-burst", "200"]
ANNS = ("ferry.io/switch", "ferry.io/switch-replicas", "ferry.io/autoscaling-paused")
FIG = {}
PHASES = []  # (monotonic time, phase) of every change of NAME's phase the watch saw
KILL = {"armed": threading.Event(), "hit": threading.Event(), "status": None}


def switch(env):
    return env.get(f"{SW}/{NAME}") or {}


def status(env):
    return switch(env).get("status") or {}


def phase(env):
    return status(env).get("phase")


def watch_switches(env):
    """A watch of the namespace's StatefulSwitches: NAME's phase changes in PHASES; once KILL is
    armed, the first status with cutover.blueStoppedTime kept and KILL["hit"] set."""
    def seen(obj):
        if obj.get("metadata", {}).get("name") != NAME:
            return
        st = obj.get("status") or {}
        p = st.get("phase")
        if p and (not PHASES or PHASES[-1][1] != p):
            PHASES.append((time.monotonic(), p))
        if KILL["armed"].is_set() and not KILL["hit"].is_set() and \
                (st.get("cutover") or {}).get("blueStoppedTime"):
            KILL["status"] = (time.monotonic(), st)
            KILL["hit"].set()
    env.watch(SW, seen)


def phases_since(mark):
    return [p for _, p in PHASES[mark:]]


def wait_phase(env, want, timeout):
    wait_until(lambda: phase(env) in tuple(want) + ("Failed",), timeout, 0.1)
    time.sleep(0.2)  # the watch's event of the last change
    return phase(env)


def make_switch(env, **extra):
    spec = {"workloadRef": {"name": NAME}, "activeService": NAME, "image": {"records": sk.GREEN_IMAGE},
            "syncIntervalSeconds": 2, "scaleDownDelaySeconds": 30}
    spec.update(extra)
    return env.create(SW, {"apiVersion": "ferry.io/v1alpha1", "kind": "StatefulSwitch",
                           "metadata": {"name": NAME}, "spec": spec})


def patch_spec(env, spec):
    code, _, body = env.api.patch(f"{SW}/{NAME}", {"spec": spec})
    eq(f"patch of the switch's spec {spec}", code, 200, REF)


def delete_switch(env, label):
    code, _, _ = env.api.delete(f"{SW}/{NAME}")
    eq(f"{label}: the switch deleted", code, 200, REF)
    check(f"{label}: the switch is gone", wait_until(lambda: not switch(env), 30, 0.2), None, None, REF)


def events(env, uid):
    """(type, reason, note) of the Events about the switch of @uid, oldest first."""
    items = (env.get(f"/apis/events.k8s.io/v1/namespaces/{NS}/events") or {}).get("items") or []
    items = [e for e in items if (e.get("regarding") or {}).get("uid") == uid]
    items.sort(key=lambda e: e.get("eventTime") or e["metadata"].get("creationTimestamp") or "")
    return [(e.get("type"), e.get("reason"), e.get("note")) for e in items]


def reasons(env, uid, type_="Warning"):
    return [r for t, r, _ in events(env, uid) if t == type_]


def selector(env):
    return ((env.get(f"/api/v1/namespaces/{NS}/services/{NAME}") or {}).get("spec") or {}).get("selector") or {}


def revision(env, name):
    return (sk.sts(env, name).get("status") or {}).get("updateRevision")


def labelled(env, path, uid):
    q = f"?labelSelector=ferry.io%2Fswitch-uid%3D{uid}"
    return [x["metadata"]["name"] for x in (env.get(path + q) or {}).get("items") or []]


def controller_logs(env):
    for f in sorted(os.listdir(env.work)):
        if f.startswith("controller"):
            note(f"{f}:\n" + open(os.path.join(env.work, f), errors="replace").read()[-3000:])


def diagnose(env, label):
    note(f"{label}: the switch's status: {json.dumps(status(env))[:3000]}")
    sk.diagnose(env, label)
    controller_logs(env)


def rnd(x):
    return None if x is None else round(x, 3)


class Traffic:
    """A Writer (w-@label), its Reader and a DirectProbe from NODE, started at once."""

    def __init__(self, env, ip, label):
        self.env, self.ip, self.label = env, ip, label
        self.writer = sk.Writer(env, NODE, ip, name=f"w-{label}").start()
        self.reader = sk.Reader(env, NODE, ip, writer=f"w-{label}").start()
        self.probe = sk.DirectProbe(env, NODE, blue=NAME, green=GREEN).start()
        self.stopped = False
        check(f"{label}: the writer's first write is acknowledged", wait_until(self.writer.acked, 20, 0.05),
              self.writer.recs[-3:], None, REF)

    def stop(self):
        if not self.stopped:
            for lp in (self.writer, self.reader, self.probe):
                lp.stop()
            self.stopped = True

    def acked_by(self, version, since):
        """Whether a write sent at or after @since was acknowledged by @version."""
        return any(r.ok and r.sent >= since and r.ans.get("version") == version for r in self.writer.done())

    def judge(self, version):
        """The traffic stopped, then: the Service answers from @version; every acknowledged seq
        stored, no stale read, no overlap of blue's and green's acceptances."""
        self.stop()
        stored, ans = sk.read_all(self.env, NODE, self.writer.name, self.ip)
        eq(f"{self.label}: GET /all through the Service is {version}'s",
           (ans or {}).get("version") if stored is not None else ans, version, REF)
        eq(f"{self.label}: every acknowledged seq is stored, no stale read",
           sk.history_problems(self.writer.done(), self.reader.done(), stored or set()), [], REF)
        eq(f"{self.label}: blue and green never accepted writes at once (direct probe)", self.probe.overlaps(),
           [], REF)
        return {"writes": self.writer.counts(), "errors": self.writer.errors(),
                "probe roles": sorted({a[0] for a in self.probe.accepted()})}


# ------------------------------------------------------------------ 1. refused; scaling; abort


def refused(env, ip):
    label = "refused"
    fig = {}
    tr = Traffic(env, ip, label)
    try:
        mark = len(PHASES)
        t_create = time.monotonic()
        uid = make_switch(env, maxWriteUnavailableSeconds=1, promote=True)["metadata"]["uid"]
        ok = wait_until(lambda: phase(env) == "Syncing", 60, 0.1)
        if not ok:
            diagnose(env, f"{label}: not Syncing")
        check(f"{label}: the switch seeded green and syncs", ok, phase(env), "Syncing", REF)

        # scaling blue during the switch is refused
        t_scale = time.monotonic()
        sk.scale(env, 2)
        ok = wait_until(lambda: (sk.sts(env).get("spec") or {}).get("replicas") == 1 and
                        "ScaleRefused" in reasons(env, uid), 20, 0.05)
        fig["scale set back after s"] = rnd(time.monotonic() - t_scale)
        check(f"{label}: blue scaled to 2 during the switch is set back to 1, a Warning Event ScaleRefused", ok,
              ((sk.sts(env).get("spec") or {}).get("replicas"), reasons(env, uid)), "1, ScaleRefused", REF)
        fig["blue's pods after the scale"] = sorted(p["metadata"]["name"] for p in sk.pods(env, NAME))
        check(f"{label}: blue back at one pod", wait_until(lambda: len(sk.pods(env, NAME)) == 1, 30, 0.1),
              [p["metadata"]["name"] for p in sk.pods(env, NAME)], "one", REF)

        # every prediction exceeds the bound: promote is refused, round after round
        def too_slow():
            return sum(r.get("verdict") == "TooSlow" for r in status(env).get("rounds") or []) >= 2
        ok = wait_until(too_slow, 60, 0.2)
        st = status(env)
        fig["rounds"] = [(r.get("round"), r.get("verdict"), r.get("bytes"), rnd(r.get("seconds")),
                          rnd(r.get("predictedSeconds"))) for r in st.get("rounds") or []]
        fig["prediction"] = st.get("prediction")
        if not ok:
            diagnose(env, f"{label}: no TooSlow rounds")
        check(f"{label}: two rounds' verdicts TooSlow", ok, fig["rounds"], ">= 2 TooSlow", REF)
        eq(f"{label}: every round after the seed and the first is TooSlow",
           [v for _, v, *_ in fig["rounds"][2:] if v != "TooSlow"], [], REF)
        check(f"{label}: each prediction exceeds maxWriteUnavailableSeconds 1",
              all(p > 1 for *_, p in fig["rounds"][1:]), fig["rounds"], "predictedSeconds > 1", REF)
        check(f"{label}: a Warning Event PromotionRefused", "PromotionRefused" in reasons(env, uid),
              events(env, uid), "PromotionRefused", REF)
        eq(f"{label}: it never cut over (Seeding, Syncing only)",
           sorted(set(phases_since(mark)) - {"Pending"}), ["Seeding", "Syncing"], REF)
        eq(f"{label}: still Syncing", phase(env), "Syncing", REF)
        t_abort = time.monotonic()
        w = tr.writer.counts(t_create, t_abort)
        fig["writes while refused"] = w
        gap = sk.longest_gap([r for r in tr.writer.done() if t_create <= r.sent < t_abort])
        check(f"{label}: blue served while the switch was refused: no gap of 0.5 s between acknowledged "
              "writes, at most 5 % failed (the box's network drops an odd connection)", w["sent"] > 0 and
              gap < sk.STEADY_GAP and w["sent"] - w["acked"] <= w["sent"] // 20,
              (w, tr.writer.errors(t_create, t_abort), gap), "gap < 0.5 s", REF)

        # abort while Syncing
        patch_spec(env, {"abort": True})
        p = wait_phase(env, ("Aborted",), 60)
        fig["abort s"] = rnd(time.monotonic() - t_abort)
        if p != "Aborted":
            diagnose(env, f"{label}: not Aborted")
        eq(f"{label}: spec.abort while Syncing: Aborted", p, "Aborted", REF)
        eq(f"{label}: green's claims gone", labelled(env, f"/api/v1/namespaces/{NS}/persistentvolumeclaims", uid),
           [], REF)
        eq(f"{label}: the switch's VolumeTransfers gone",
           labelled(env, f"{API}/namespaces/{SYS}/volumetransfers", uid), [], REF)
        eq(f"{label}: no green StatefulSet", sk.sts(env, GREEN), {}, REF)
        eq(f"{label}: the Service's selector is the user's again", selector(env), sk.LABELS, REF)
        ann = sk.sts(env).get("metadata", {}).get("annotations") or {}
        eq(f"{label}: blue's ferry.io/ switch annotations gone", sorted(k for k in ann if k in ANNS), [], REF)
        eq(f"{label}: blue at 1 replica", (sk.sts(env).get("spec") or {}).get("replicas"), 1, REF)
        time.sleep(1)
        fig["claims"] = sorted(x["metadata"]["name"] for x in (env.get(
            f"/api/v1/namespaces/{NS}/persistentvolumeclaims") or {}).get("items") or [])
        fig["failed writes sent after the abort's patch s"] = [
            rnd(f(r.sent for r in tr.writer.done() if not r.ok) - t_abort) for f in (min, max)] \
            if any(not r.ok for r in tr.writer.done()) else None
    finally:
        tr.stop()
    fig["pods that accepted direct writes"] = sorted({a[3] for a in tr.probe.accepted()})
    fig["pods that answered the writer"] = sorted({r.ans.get("pod") for r in tr.writer.done() if r.ok})
    fig.update(tr.judge("blue"))
    eq(f"{label}: only blue accepted writes", fig["probe roles"], ["blue"], REF)
    delete_switch(env, label)
    return fig


# ------------------------------------------------------------------ 2. deadline abort


def deadline(env, ip):
    label = "deadline"
    fig = {}
    tr = Traffic(env, ip, label)
    try:
        mark = len(PHASES)
        uid = make_switch(env, cutoverDeadlineSeconds=2, autoPromotionEnabled=True, promote=True)["metadata"]["uid"]
        ok = wait_until(lambda: status(env).get("lastAbort"), 90, 0.05)
        st = status(env)
        sp = switch(env).get("spec") or {}
        if not ok:
            diagnose(env, f"{label}: no abort")
        t_abort = next((t for t, p in reversed(PHASES) if p == "Syncing"), None) if ok else None
        la = st.get("lastAbort") or {}
        fig["lastAbort"] = la
        check(f"{label}: status.lastAbort with its reason (the deadline)", "cutoverDeadlineSeconds" in
              (la.get("reason") or ""), la, "reason: ... cutoverDeadlineSeconds ...", REF)
        eq(f"{label}: the phases: CuttingOver, then Syncing again",
           [p for p in phases_since(mark) if p in ("CuttingOver", "Syncing", "Promoted")][-2:],
           ["CuttingOver", "Syncing"], REF)
        check(f"{label}: a Warning Event CutoverAborted", wait_until(
            lambda: "CutoverAborted" in reasons(env, uid), 5, 0.1), events(env, uid), "CutoverAborted", REF)
        check(f"{label}: spec.promote is false after the abort", sp.get("promote") is False, sp.get("promote"),
              False, REF)
        t_now = time.monotonic()
        ok = wait_until(lambda: tr.acked_by("blue", t_now), 30, 0.05)
        if not ok:
            diagnose(env, f"{label}: blue does not serve again")
        check(f"{label}: blue acknowledges writes again after the abort", ok, phases_since(mark), None, REF)
        t_back = time.monotonic()
        # blue's outage: its last acknowledgement before the cutover to its first after the abort
        cut = next((t for t, p in PHASES[mark:] if p == "CuttingOver"), None)
        before = [r for r in tr.writer.done() if r.ok and t_abort and r.acked <= t_abort]
        after = [r for r in tr.writer.done() if r.ok and t_abort and r.sent >= t_abort]
        if before and after:
            fig["blue's outage s"] = rnd(min(r.acked for r in after) - max(r.acked for r in before))
            fig["writes in the outage"] = tr.writer.counts(max(r.acked for r in before), min(r.sent for r in after))
        fig["abort after the cutover began s"] = rnd(t_abort - cut) if t_abort and cut else None
        eq(f"{label}: no green acknowledgement yet", [r.seq for r in tr.writer.done()
                                                     if r.ok and r.ans.get("version") == "green"][:5], [], REF)

        # an aborted cutover is not tried again by itself: the next converged round waits for promote
        after = next((i for i in range(len(PHASES) - 1, mark - 1, -1) if PHASES[i][1] == "Syncing"), len(PHASES))
        wait_until(lambda: phase(env) == "Paused" or "CuttingOver" in phases_since(after), 30, 0.1)
        time.sleep(0.5)
        eq(f"{label}: after the abort, the next converged round waits for spec.promote (Paused, no new cutover)",
           (phase(env), [p for p in phases_since(after) if p in ("CuttingOver", "Paused")][:2]),
           ("Paused", ["Paused"]), REF)
        eq(f"{label}: one Warning Event CutoverAborted for the one abort", reasons(env, uid).count("CutoverAborted"),
           1, REF)

        # the deadline raised, promote again
        t_promote = time.monotonic()
        patch_spec(env, {"cutoverDeadlineSeconds": 60, "promote": True})
        p = wait_phase(env, ("Promoted",), 90)
        if p != "Promoted":
            diagnose(env, f"{label}: not Promoted")
        eq(f"{label}: with cutoverDeadlineSeconds 60: Promoted", p, "Promoted", REF)
        fig["promote s"] = rnd(time.monotonic() - t_promote)
        c0 = next((t for t, p in PHASES[mark:] if p == "CuttingOver"), 0)
        fig["phases"] = [(rnd(t - c0), p) for t, p in PHASES[mark:]]
        fig["events"] = [(r, (n or "")[:90]) for _, r, n in events(env, uid)]
        check(f"{label}: green acknowledges writes", wait_until(lambda: tr.acked_by("green", t_promote), 20, 0.05),
              None, None, REF)
        time.sleep(1)
        st = status(env)
        win, _, _ = sk.window([r for r in tr.writer.done() if r.sent >= t_back])
        fig["window s"] = rnd(win)
        fig["writeUnavailableSeconds"] = st.get("writeUnavailableSeconds")
        fig["aborts"] = reasons(env, uid).count("CutoverAborted")
        bound = (switch(env).get("spec") or {}).get("maxWriteUnavailableSeconds", 30)
        check(f"{label}: the promote's window is positive and within the bound", win is not None and
              0 < win <= bound, win, f"0 < window <= {bound}", REF)
        eq(f"{label}: the Service's selector on green's revision", selector(env).get("controller-revision-hash"),
           revision(env, GREEN), REF)
    finally:
        tr.stop()
    fig.update(tr.judge("green"))

    # back to blue for the next switch
    patch_spec(env, {"rollback": True})
    p = wait_phase(env, ("RolledBack",), 90)
    if p != "RolledBack":
        diagnose(env, f"{label}: not RolledBack")
    eq(f"{label}: rolled back (Discard)", p, "RolledBack", REF)
    check(f"{label}: green's StatefulSet gone", wait_until(lambda: not sk.sts(env, GREEN), 30, 0.2), None, None, REF)
    delete_switch(env, label)
    return fig


# ------------------------------------------------------------------ 3. the controller killed mid-cutover


def killed(env, ip):
    label = "killed"
    fig = {}
    tr = Traffic(env, ip, label)
    try:
        mark = len(PHASES)
        KILL["armed"].set()
        make_switch(env, autoPromotionEnabled=True)
        cut = {}
        hit = KILL["hit"].wait(90)
        if hit:
            t_kill = time.monotonic()
            env.kill_controller()
            t_seen, st = KILL["status"]
            cut = st.get("cutover") or {}
            fig["kill after the watch saw blueStoppedTime s"] = rnd(t_kill - t_seen)
            fig["status at the kill"] = {"phase": st.get("phase"), "message": st.get("message"),
                                         "cutover": cut, "roundActive": st.get("roundActive")}
            time.sleep(1)
            env.start_controller(env.identity, "controller-2.log", extra=CTRL_EXTRA)
            note(f"{label}: the controller killed mid-cutover ({st.get('message')}); started again")
        else:
            diagnose(env, f"{label}: no cutover")
        check(f"{label}: the controller killed once blue had stopped, before the switch", hit and
              "switchTime" not in cut and "deltaDoneTime" not in cut, hit and cut, "blueStoppedTime only", REF)
        p = wait_phase(env, ("Promoted",), 90)
        if p != "Promoted":
            diagnose(env, f"{label}: not Promoted")
        eq(f"{label}: a new controller finishes the cutover: Promoted", p, "Promoted", REF)
        eq(f"{label}: the phases after the kill end CuttingOver, Promoted",
           [p for p in phases_since(mark) if p in ("CuttingOver", "Syncing", "Promoted")][-2:],
           ["CuttingOver", "Promoted"], REF)
        check(f"{label}: green acknowledges writes", wait_until(lambda: tr.acked_by("green", 0), 20, 0.05),
              None, None, REF)
        time.sleep(1)
        st = status(env)
        win, _, _ = sk.window(tr.writer.done())
        fig["window s"] = rnd(win)
        fig["writeUnavailableSeconds"] = st.get("writeUnavailableSeconds")
        fig["cutover"] = st.get("cutover")
        check(f"{label}: the window is positive (blue answered nothing after green did)", win is not None and
              win > 0, win, "> 0", REF)
        eq(f"{label}: the Service's selector on green's revision", selector(env).get("controller-revision-hash"),
           revision(env, GREEN), REF)
    finally:
        KILL["armed"].clear()
        tr.stop()
    fig.update(tr.judge("green"))
    return fig


env = None
try:
    env = sk.start(FERRY, "switch-faults-password")
    sk.make_app(env)
    ok = sk.ready(env)
    if not ok:
        sk.diagnose(env, "db not ready")
    check("the application's StatefulSet db is ready", ok, sk.sts(env).get("status"), "readyReplicas 1", REF)
    ip = sk.service_ip(env)
    watch_switches(env)
    for name, fn in (("refused", refused), ("deadline", deadline), ("killed", killed)):
        t = time.time()
        FIG[name] = fn(env, ip)
        FIG[name]["seconds"] = round(time.time() - t, 1)
        note(f"{name}: {json.dumps(FIG[name])}")
except Exception:
    if env:
        diagnose(env, "exception")
    raise
finally:
    sk.close(env, REF)
note(f"{time.time() - T0:.1f} s in all")
finish()
