#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_harness: the switch tests' measuring tools measure what they claim (issue 20, "Definitions
the tests use"), before any switch: the write-unavailable window, failed writes, lost
acknowledged writes, stale reads, and two sides accepting writes at once.

The box of tests/switch/switchkit.py (two nodes with storage, ferry's controller and agents,
the Repository default); the application: namespace shop, the StatefulSet db (records.py on a
64 MiB kbox-disk claim) behind the Service db. From node-b1's network namespace, open loop: a
Writer (a write every 10 ms through the ClusterIP, 1 s timeout, no retry), a Reader (every
50 ms), a DirectProbe (writes to db's pod at its own address). Checked:
- steady (about 5 s): about 100 writes a second, each acknowledged, none failed or timed out,
  the schedule kept; every answer from the first pod's process (one boot);
- db scaled to 0 and back to 1 by hand (a merge patch of spec.replicas, the pod waited for gone
  between): the window (the restarted process's first acknowledgement less the old process's
  last) is positive; every write sent inside it failed, and there are as many as the window
  holds at 100 a second (within 20 %, +-3); the service comes back and acknowledges again;
- after it: every acknowledged seq is stored (GET /all through the Service, from the new
  process's files: the volume kept them), and every read answered at least the highest seq
  acknowledged before it was sent; the DirectProbe saw only blue, no pod accepting in the gap,
  no overlap;
- the judges themselves, fed made-up histories: a lost acknowledged write, a stale read, and
  an overlap of blue's and green's acceptances are each reported; a clean history is not;
  window() is exact on a made-up history and negative when blue answered after green.
The timeline (patch, pod gone, kube-proxy's rules on each node, ready, first acknowledgement)
is printed as notes. CI budget: 90 s.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import switchkit as sk  # noqa: E402
from switchkit import Rec, check, eq, note, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 20: Definitions the tests use"
FERRY = xferkit.require(("nsenter",))
NODE = "node-b1"
FIG = {}


def judges():
    """The judges on made-up histories (no cluster needed)."""
    def w(seq, sent, acked, version="blue", ok=True):
        return Rec(seq, sent, acked=acked, ok=ok, err=None if ok else "ECONNREFUSED",
                   ans={"seq": seq, "version": version, "pod": "db-0"} if ok else None)

    def rd(sent, seq):
        return Rec(0, sent, acked=sent + 0.002, ok=True, ans={"seq": seq, "version": "blue", "pod": "db-0"})
    writes = [w(1, 0.00, 0.01), w(2, 0.01, 0.02), w(3, 0.02, None, ok=False), w(4, 0.03, 0.50, "green"),
              w(5, 0.04, 0.51, "green")]
    good_reads = [rd(0.005, -1), rd(0.015, 1), rd(0.025, 2), rd(0.6, 5)]
    eq("judge: a clean history has no problems", sk.history_problems(writes, good_reads, {1, 2, 4, 5}), [], REF)
    p = sk.history_problems(writes, good_reads, {1, 2, 5})
    check("judge: an acknowledged write missing from the store is reported (seq 4)",
          len(p) == 1 and "not stored" in p[0] and "[4]" in p[0], p, "seq 4 not stored", REF)
    p = sk.history_problems(writes, good_reads + [rd(0.7, 2)], {1, 2, 4, 5})
    check("judge: a read answering 2 after 5 was acknowledged is a stale read", len(p) == 1 and "stale" in p[0],
          p, "1 stale read", REF)
    p = sk.history_problems(writes, [rd(0.015, 0)], {1, 2, 4, 5})
    check("judge: a read sent just after seq 1's acknowledgement answering 0 is stale", len(p) == 1, p, None, REF)
    p = sk.history_problems(writes, [rd(0.0099, 0)], {1, 2, 4, 5})
    eq("judge: a read sent before seq 1's acknowledgement may answer 0", p, [], REF)
    got, b, g = sk.window(writes)
    check("judge: window() is the first green acknowledgement less the last blue one (0.50 - 0.02)",
          got is not None and abs(got - 0.48) < 1e-9 and b.seq == 2 and g.seq == 4, (got, b, g), 0.48, REF)
    late = writes + [w(6, 0.05, 0.55, "blue")]
    got, _, _ = sk.window(late)
    check("judge: blue answering after green gives a negative window", got is not None and got < 0, got, "< 0", REF)
    eq("judge: a side that never answered gives no window", sk.window(writes[:2])[0], None, REF)
    eq("judge: ranges parsed", sorted(sk.parse_ranges("1-3,5,7-8")), [1, 2, 3, 5, 7, 8], REF)
    acc = [("blue", 0.0, 0.01, "db-0"), ("blue", 1.0, 1.2, "db-0"), ("green", 1.1, 1.15, "db-green-0")]
    eq("judge: blue and green accepting inside one span overlap", len(sk.overlaps(acc)), 1, REF)
    eq("judge: blue's last acceptance before green's first: no overlap",
       sk.overlaps([("blue", 0.0, 0.01, "db-0"), ("green", 0.02, 0.03, "db-green-0")]), [], REF)


def boot_of(recs):
    return {r.ans.get("boot") for r in recs if r.ok}


env = None
loops = []
try:
    judges()
    env = sk.start(FERRY, "switch-test-password")
    FIG["box and ferry started s"] = round(time.time() - T0, 1)
    sk.make_app(env)
    ok = sk.ready(env)
    FIG["db ready s"] = round(time.time() - T0, 1)
    if not ok:
        sk.diagnose(env, "db not ready")
    check("the application's StatefulSet db is ready", ok, (sk.sts(env).get("status")), "readyReplicas 1", REF)
    ip = sk.service_ip(env)
    proxy = sk.ProxyWatch(env).start()
    writer = sk.Writer(env, NODE, ip).start()
    reader = sk.Reader(env, NODE, ip).start()
    probe = sk.DirectProbe(env, NODE).start()
    loops = [writer, reader, probe]
    check("the writer and reader run in the node's network namespace", not writer.error and not reader.error,
          (writer.error, reader.error), None, REF)
    # the StatefulSet's ready replica is not yet a node's rules (kube-proxy syncs within a second):
    # the steady part starts at the first acknowledged write
    check("the writer's first write is acknowledged", wait_until(writer.acked, 20, 0.05), writer.recs[-3:], None, REF)
    t_start = writer.acked()[0].sent
    FIG["writes refused before the first acknowledgement (the rules not yet synced)"] = writer.counts(
        None, t_start)["failed"]
    time.sleep(5)

    # ------------------------------------------------------------ steady: everything acknowledged
    t_scale0 = time.monotonic()
    steady = writer.counts(t_start, t_scale0 - 1.0)
    note(f"steady: {steady}, schedule behind at most {writer.behind * 1000:.1f} ms, "
         f"errors {writer.errors(t_start, t_scale0 - 1.0)}")
    check("steady: about 100 writes a second, every one acknowledged, none failed or timed out",
          steady["sent"] >= 300 and 90 <= steady["rate"] <= 110 and steady["acked"] == steady["sent"], steady,
          "rate ~100, acked == sent", REF)
    boots = boot_of(writer.recs)
    eq("steady: every answer came from one process of db-0", len(boots), 1, REF)
    b0 = next(iter(boots))
    FIG["steady"] = steady

    # ------------------------------------------------------------ by hand: db to 0 and back
    sk.scale(env, 0)
    gone = wait_until(lambda: not sk.pods(env), 60, 0.05)
    t_gone = time.monotonic()
    check("db scaled to 0: its pod is gone", gone, [p["metadata"]["name"] for p in sk.pods(env)], [], REF)
    sk.scale(env, 1)
    t_scale1 = time.monotonic()
    ok = sk.ready(env)
    t_ready = time.monotonic()
    if not ok:
        sk.diagnose(env, "db not ready again")
    check("db scaled back to 1: ready again", ok, sk.sts(env).get("status"), "readyReplicas 1", REF)
    wait_until(lambda: any(r.ok and r.ans.get("boot") != b0 for r in writer.done()), 20, 0.05)
    time.sleep(2)
    for lp in loops:
        lp.stop()
    proxy.stop()
    t_end = time.monotonic()

    win, last_blue, first_green = sk.window(writer.recs, blue=lambda a: a.get("boot") == b0,
                                            green=lambda a: a.get("boot") != b0)
    FIG["window s"] = win and round(win, 3)
    check("the window (the new process's first acknowledgement less the old one's last) is positive",
          win is not None and win > 0, (win, last_blue, first_green), "> 0", REF)
    if win:
        inside = writer.counts(last_blue.acked, first_green.sent)
        FIG["inside the window"] = inside
        FIG["errors inside"] = writer.errors(last_blue.acked, first_green.sent)
        expect = (first_green.sent - last_blue.acked) / writer.period
        check("every write sent inside the window failed (refused or timed out), none acknowledged",
              inside["sent"] > 0 and inside["acked"] == 0 and inside["failed"] + inside["timeout"] == inside["sent"],
              inside, "all failed", REF)
        check("... as many as the window holds at 100 a second (within 20 %, +-3)",
              abs(inside["sent"] - expect) <= 0.2 * expect + 3, (inside["sent"], round(expect)), None, REF)
    whole = writer.counts()
    FIG["whole run"] = whole
    check("failed writes were counted", whole["failed"] + whole["timeout"] > 0, whole, "> 0 failed", REF)
    check("the schedule was kept: no write started more than 50 ms after its instant",
          writer.behind < 0.05, round(writer.behind, 3), "< 0.05", REF)

    # ------------------------------------------------------------ nothing acknowledged lost, no stale read
    stored, ans = sk.read_all(env, NODE, writer.name, ip)
    check("GET /all through the Service answers (from the restarted process)", stored is not None and
          ans.get("boot") != b0, ans, None, REF)
    probs = sk.history_problems(writer.recs, reader.recs, stored or set())
    eq("every acknowledged seq is stored, and every read answered at least the highest acknowledged before it",
       probs, [], REF)
    rc = reader.counts()
    FIG["reads"] = rc
    check("the reader read (ok before and after) and failed inside the window", rc["acked"] > 50 and
          (rc["failed"] + rc["timeout"]) > 0, rc, None, REF)
    acc = probe.accepted()
    roles = sorted({a[0] for a in acc})
    eq("the direct probe reached only blue (no green StatefulSet here)", roles, ["blue"], REF)
    old = [a for a in probe.done() if a.ok and a.ans.get("boot") == b0]
    new = [a for a in probe.done() if a.ok and a.ans.get("boot") != b0]
    check("the direct probe: the old process accepted nothing after the new one first did",
          old and new and max(a.acked for a in old) < min(a.sent for a in new),
          (len(old), len(new)), None, REF)
    eq("the direct probe saw no overlap", probe.overlaps(), [], REF)

    # ------------------------------------------------------------ the timeline, for the switch's reader
    def rel(t):
        return round(t - t_scale0, 3) if t is not None else None
    FIG["timeline s"] = {
        "patch replicas 0": 0.0, "last old ack": rel(last_blue and last_blue.acked),
        "pod gone (API)": rel(t_gone), "patch replicas 1": rel(t_scale1), "ready (API)": rel(t_ready),
        "first new ack": rel(first_green and first_green.acked),
        "kube-proxy": [(rel(t), n, eps) for t, n, eps in proxy.changes if t >= t_scale0 - 0.5]}
except Exception:
    if env:
        sk.diagnose(env, "exception")
    raise
finally:
    for lp in loops:
        lp.stop()
    sk.close(env, REF)
note("figures: " + json.dumps(FIG))
note(f"{time.time() - T0:.1f} s in all")
finish()
