#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_warm_resume: a warm migration that resumes (issue 19, "Resume" and its second test), and
rollback before and during a cutover.

Two boxes (tests/migrate/warmkit.py) on one file:// repository, the application of t_warm.py
(a StatefulSet `web` of one replica, two 64 MiB ext4 claims its pod changes every 100 ms).

Rollback first, on two Migrations of the running application seeded at once (namespaces mapped
to rb and rb2 here, so that the main migration's claims are free; each claim backed up by two
Backups at once in the source):
- rb, rolled back while it syncs (before any cutover): RolledBack; the source's StatefulSet at
  its replica, no annotation of ferry's, serving (a probe from a node of the source);
- rb2, cut over until the source is fenced and stopped (status.cutover.sourceStoppedTime), the
  target's controller killed there so that the rollback lands before the target starts,
  `ferry migrate rollback rb2`, the controller started again: RolledBack, no targetStartTime;
  the source unfenced (annotations gone), at its replica, serving; the target's StatefulSet of
  rb2 still at zero, no pod.
Then the migration shop, interrupted at every stage:
- seed: an agent of the source killed while it uploads a volume of the seed's Backup (its
  VolumeTransfer Running), started again a second later; the target's controller killed once
  the seed's Restore is made, started again;
- sync: an agent of the target killed while it writes a round's delta (the round's
  VolumeTransfer Running); the target's controller killed in round 2; the source cluster
  restarted in round 3 (`kbox restart`: the API server with its state kept, its nodes
  rebooted, so the source's agents, controller and application start again as they would);
  the source's API server away for 8 s for ferry and the migration's reader (a kbox "down"
  fault: requests and watches cut, the nodes going on) from the instant a later round's
  transfer runs there: that transfer completes, its final status buffered by its agent and
  written once the server is back, not run again; then an agent of the source killed under a
  later round's transfer with bytes of its volume done (32 MiB written first, the agents
  slowed), started again: that transfer completes, reusing what the killed run stored;
- cutover: the target's controller killed once the source stopped (sourceStoppedTime), before
  Completed.
Checked: each interruption happened in its stage (the phase and object seen at the kill); the
migration completes; the interrupted transfers completed under the same name; each target PV's
stamp names the final snapshot, and that snapshot restored is the stopped source's volume byte
for byte and clean for e2fsck; the byte bound (per volume: uploaded <= the seed's stored bytes +
the deltas + one pack per interruption of that volume's uploads), its parts read from the
source's transfers (bytesNew of each run, a run killed counted as far as its last status went)
and from the Backups (status.volumes[].bytesNew), and checked against the repository (the bytes
its data/ grew by, .tmp- files of an interrupted upload included, at most what the Backups
stored plus one pack per interruption); each round's read (bytesRead) is its changed blocks,
not the volume. The figures are printed as notes. CI budget: 3 minutes.
"""
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import warmkit  # noqa: E402
from warmkit import note, stamp  # noqa: E402
from warmkit import API, NS, SYS, check, eq, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxd import nodeutil  # noqa: E402
from kboxtest import KBOX, finish  # noqa: E402

T0 = time.time()
REF = "issue 19: warm migration, Resume"
FERRY = xferkit.require(("nsenter", "e2fsck"))
PASSWORD = "warm-resume-password"
PROBE_NODE = "node-b1"
NAME = "shop"
PACK = 64 << 20  # DP_PACK_SIZE_DEFAULT: what the agents upload in one object
ARCHIVE = 64 << 10  # a claims-only Backup's object archive, at most
SLOW = 10  # percent of a CPU for the agents until the kill
DOWN_S = 8  # the source's API server away for ferry
CTRL_EXTRA = ["--kube-api-qps", "100", "--kube-api-burst", "200"]
FIG = {}
KILLS = []  # (seconds since start, who, where it hit)


def mig(env, name=NAME):
    return env.get(f"{API}/namespaces/{SYS}/migrations/{name}") or {}


def mst(env, name=NAME):
    return mig(env, name).get("status") or {}


def ferry(env, *args, timeout=120):
    r = env.ferry(*args, timeout=timeout)
    note(f"ferry {' '.join(args)}: exit {r.returncode}\n{r.stdout[-1500:]}{r.stderr[-800:]}")
    return r


def sts_of(env, ns=NS):
    return env.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/web") or {}


def fence_of(env):
    """(replicas, the ferry.io/ annotations) of the source's StatefulSet."""
    s = sts_of(env)
    ann = s.get("metadata", {}).get("annotations") or {}
    return s.get("spec", {}).get("replicas"), sorted(k for k in ann if k.startswith("ferry.io/"))


def serving(env):
    """Whether the source's Service answers a probe from a node (a fresh probe: a restarted box
    has namespaces of its own)."""
    p = warmkit.Probe(env, PROBE_NODE, warmkit.service_ip(env)).start()
    try:
        return bool(wait_until(p.last_ok, 30, 0.1))
    finally:
        p.stop()


def restart_controller(env, where):
    """SIGKILL to @env's controller, a second down, a new one (its own log)."""
    KILLS.append((round(time.time() - T0, 1), f"{env.identity} controller", where))
    env.kill_controller()
    time.sleep(1)
    env.start_controller(env.identity, f"controller-{len(KILLS)}.log", extra=CTRL_EXTRA)
    note(f"killed {env.identity}'s controller {where}; started again")


class Transfers:
    """Every status of the VolumeTransfers of one cluster, as its watch sees them; @kill(o) true
    for a transfer the agent of its node is killed under (once, while it is Running)."""

    def __init__(self, env, kill=None, what=""):
        self.env, self.kill, self.what = env, kill, what
        self.seen = {}  # name -> [(t, phase, status)]
        self.spec = {}
        self.killed = None  # (name, t, status)
        self.lock = threading.Lock()

    def __call__(self, o):
        try:
            name = o["metadata"]["name"]
            s = o.get("status") or {}
            with self.lock:
                self.seen.setdefault(name, []).append((time.time(), s.get("phase"), s))
                self.spec[name] = (o.get("spec") or {}, (o["metadata"].get("annotations") or {}))
                go = self.kill and not self.killed and s.get("phase") == "Running" and s.get("node") and \
                    self.kill(o)
                if go:
                    self.killed = (name, time.time(), s)
            if go:
                node = s["node"]
                KILLS.append((round(time.time() - T0, 1), f"{self.env.identity} agent of {node}",
                              f"{self.what}: VolumeTransfer {name} Running, {s.get('bytesDone')} of "
                              f"{s.get('bytesTotal')} bytes done"))
                self.env.kill_agent(node)
                time.sleep(1)
                self.env.start_agent(node)  # not throttled: a node's agent restarted
                self.env.throttle([], None)  # the other one's limit lifted too
                note(f"killed the agent of {node} of {self.env.identity} under {name}; started again")
        except Exception as e:  # the watch goes on
            note(f"watch of {self.env.identity}'s transfers: {e!r}")

    def last(self, name):
        with self.lock:
            ev = self.seen.get(name) or []
            return ev[-1] if ev else (None, None, {})

    def names(self, pred=lambda name, spec, ann: True):
        with self.lock:
            return [n for n, (sp, ann) in self.spec.items() if pred(n, sp, ann)]

    def runs(self, name, cuts):
        """The largest bytesNew of each run of transfer @name, its runs split at times @cuts."""
        with self.lock:
            ev = list(self.seen.get(name) or [])
        out, edges = [], sorted(cuts) + [float("inf")]
        for i, e in enumerate(edges):
            lo = edges[i - 1] if i else 0.0
            vals = [s.get("bytesNew") or 0 for t, _, s in ev if lo <= t < e]
            if vals:
                out.append(max(vals))
        return out


class Backups:
    """The last status of each Backup of one Migration in the source, as its watch sees them: a
    round's Backup is deleted there once a later round holds the volumes."""

    def __init__(self, name):
        self.name, self.last, self.lock = name, {}, threading.Lock()

    def __call__(self, o):
        if (o["metadata"].get("labels") or {}).get("ferry.io/migration") != self.name:
            return
        with self.lock:
            if o.get("status"):
                self.last[o["metadata"]["name"]] = o["status"]

    def all(self, env):
        with self.lock:
            return {**self.last, **backups_of(env, self.name)}


def thaw_all(env):
    """FITHAW of every pod's CSI mount on @env's nodes (a freeze a killed agent left would hang the
    writer, and its cgroup with it, past the box's stop); not frozen: EINVAL, ignored."""
    for node in warmkit.NODES:
        try:
            pid = nodeutil.node_pid(env.box.dir, node)
        except Exception:
            continue
        subprocess.run(["nsenter", "-t", str(pid), "-m", "--", "sh", "-c",
                        "for m in /var/lib/kubelet/pods/*/volumes/kubernetes.io~csi/*/mount; do "
                        "fsfreeze -u $m 2>/dev/null; done"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=20)


def backups_of(env, name):
    """{Backup name: status} of the source's Backups of Migration @name."""
    body = env.get(f"{API}/namespaces/{SYS}/backups?labelSelector=ferry.io/migration%3D{name}") or {}
    return {b["metadata"]["name"]: b.get("status") or {} for b in body.get("items") or []}


def big_change(src):
    """32 MiB of the application's data volume rewritten and the source's agents slowed, so that a
    round's transfer lasts seconds. Return: the round it lands in or before (the one in progress
    or next)."""
    rn = mst(dst).get("round") or 4
    subprocess.run([KBOX, "exec", src.box.dir, f"{NS}/web-0", "--", "sh", "-c",
                    "dd if=/dev/urandom of=/data/big bs=1M count=32 conv=notrunc 2>/dev/null && sync"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    src.throttle([src.agent_pid(n) for n in warmkit.NODES], SLOW)
    return rn


def rounds_from(tx, rn):
    """The names of the source's transfers of shop's round Backups from round @rn on."""
    def round_of(ann):
        m = re.match(rf"^{SYS}/{NAME}-r(\d+)", ann.get("ferry.io/backup") or "")
        return int(m[1]) if m else 0
    return tx.names(lambda n, sp, ann: round_of(ann) >= rn)


def restart_source(src):
    """The source cluster restarted: `kbox restart` (the API server stops and starts with its
    state; the nodes reboot, so the agents running in them and their pods go), then the agents
    and the controller started again as the DaemonSet and the Deployment would."""
    KILLS.append((round(time.time() - T0, 1), "the source cluster (kbox restart)", "restart"))
    t = time.time()

    def pid_of(n):
        try:
            return nodeutil.node_pid(src.box.dir, n)
        except (OSError, ValueError):  # not there yet, or being written
            return 0
    old = {n: pid_of(n) for n in warmkit.NODES}
    src.kill_controller()
    r = src.box.kbox("restart")
    if r.returncode:  # `kbox start` waits 10 s for the server; a loaded machine may need longer once
        note(f"kbox restart: {r.stderr.strip()[-300:]}; kbox start again")
        r = src.box.kbox("start")
    eq("kbox restart of the source", (r.returncode, r.stderr.strip()[-300:]), (0, ""), "tests/kbox/README.md")
    src.api = src.box.admin = src.box.admin.with_token(src.box.admin.token)

    def booted():  # the Nodes say Ready from the state kept; each node's new init is what counts
        return all(pid_of(n) > 0 and pid_of(n) != old[n] and os.path.exists(f"/proc/{pid_of(n)}")
                   for n in warmkit.NODES)
    check("the source's nodes booted again", wait_until(booted, 60, 0.1), None, True, "tests/kbox/README.md")
    for node in warmkit.NODES:
        p = src.agents.get(node)
        if p and p.poll() is None:
            src.kill_agent(node)
        src.start_agent(node)
    src.start_controller(src.identity, f"controller-{len(KILLS)}.log", extra=CTRL_EXTRA)
    check("the source's controller leads again", wait_until(lambda: src.leader() == src.identity, 30, 0.2),
          src.leader(), src.identity, "control/operator")
    FIG["source restart s"] = round(time.time() - t, 1)
    note(f"the source restarted in {FIG['source restart s']} s")


src = dst = None
stop = threading.Event()
# meson's timeout is a SIGTERM: the boxes and processes still go (finally), and no frozen volume stays
signal.signal(signal.SIGTERM, lambda *_: sys.exit(124))
try:
    src, dst, REPO = warmkit.pair(FERRY, PASSWORD)
    warmkit.make_app(src)
    check("the application runs in the source", warmkit.ready(src), warmkit.pods(src), ["web-0"], REF)
    kc = warmkit.reader_kubeconfig(src)

    # ------------------------------------------------------------ rollback: rb while it syncs, rb2 in its cutover
    def migrate(name):
        r = ferry(dst, "migrate", "plan", name, "--source-kubeconfig", kc, "--include-namespaces", NS,
                  "--namespace-mappings", f"{NS}:{name}")
        eq(f"ferry migrate plan {name}: exit 0", r.returncode, 0, REF)
        r = ferry(dst, "migrate", "start", name, "--sync-interval", "1", "--cutover-bound", "30")
        eq(f"ferry migrate start {name}: exit 0", r.returncode, 0, REF)

    def settled(name):
        """Until the source's Backups of Migration @name have ended."""
        wait_until(lambda: all(b.get("phase") in warmkit.DONE for b in backups_of(src, name).values()), 60, 0.2)

    # both seeded at once (two Backups of each claim at once in the source's agents), rb2 cut over
    # once rb is rolled back
    migrate("rb")
    migrate("rb2")
    wait_until(lambda: mst(dst, "rb").get("phase") not in (None, "Planned", "Seeding"), 90, 0.1)
    st = mst(dst, "rb")
    eq("rb syncs (its seed done)", (st.get("phase"), st.get("message")), ("Syncing", st.get("message")), REF)
    r = ferry(dst, "migrate", "rollback", "rb", "--wait-timeout", "30")
    eq("rollback of rb while it syncs: exit 0, RolledBack", (r.returncode, mst(dst, "rb").get("phase")),
       (0, "RolledBack"), REF)
    eq("... the source untouched: at its replica, no annotation of ferry's", fence_of(src), (1, []), REF)
    check("... and serving", serving(src), None, True, REF)
    settled("rb")

    r = ferry(dst, "migrate", "cutover", "rb2")
    eq("ferry migrate cutover rb2 (at its first converged round): exit 0", r.returncode, 0, REF)
    wait_until(lambda: (mst(dst, "rb2").get("cutover") or {}).get("sourceStoppedTime") or
               mst(dst, "rb2").get("phase") in ("Failed", "Completed"), 120, 0.05)
    st = mst(dst, "rb2")
    check("rb2: the cutover fenced and stopped the source (sourceStoppedTime)",
          (st.get("cutover") or {}).get("sourceStoppedTime") and not (st.get("cutover") or {}).get("targetStartTime"),
          (st.get("phase"), st.get("message"), st.get("cutover")), None, REF)
    eq("... the source fenced: at zero, annotated", fence_of(src),
       (0, ["ferry.io/autoscaling-paused", "ferry.io/migration", "ferry.io/migration-replicas"]), REF)
    KILLS.append((round(time.time() - T0, 1), "warm-target controller", "rb2's cutover, the source stopped"))
    dst.kill_controller()
    rb = subprocess.Popen([FERRY, "migrate", "rollback", "rb2", "--wait-timeout", "60"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, env=dst.env)
    time.sleep(1)
    dst.start_controller(dst.identity, f"controller-{len(KILLS)}.log", extra=CTRL_EXTRA)
    out, err = rb.communicate(timeout=90)
    st = mst(dst, "rb2")
    note(f"ferry migrate rollback rb2: exit {rb.returncode}\n{out[-800:]}{err[-400:]}")
    eq("rollback of rb2 during its cutover (the source fenced, the target not started): exit 0, RolledBack, "
       "no targetStartTime", (rb.returncode, st.get("phase"), (st.get("cutover") or {}).get("targetStartTime")),
       (0, "RolledBack", None), REF)
    eq("... the source unfenced: at its replica, ferry's annotations gone", fence_of(src), (1, []), REF)
    check("... its pod ready again", warmkit.ready(src, 60), warmkit.pods(src), ["web-0"], REF)
    check("... and serving", serving(src), None, True, REF)
    eq("... rb2's StatefulSet in the target still at zero, no pod there",
       (sts_of(dst, "rb2").get("spec", {}).get("replicas"),
        [p["metadata"]["name"] for p in (dst.get("/api/v1/namespaces/rb2/pods") or {}).get("items") or []]),
       (0, []), REF)
    # what rb2's cutover left running in the source (its final Backup) ends before shop's bytes are counted
    settled("rb2")
    FIG["rollbacks done s"] = round(time.time() - T0, 1)

    # ------------------------------------------------------------ shop: interrupted at every stage
    base = warmkit.repo_bytes(REPO)
    mine = re.compile(rf"^{NAME}-r\d+-\d+$")
    stx = Transfers(src, lambda o: ((o["metadata"].get("annotations") or {}).get("ferry.io/backup") ==
                                    f"{SYS}/{NAME}-seed"), "the seed's Backup")
    dtx = Transfers(dst, lambda o: bool(mine.match(o["metadata"]["name"])), "a sync round's delta")
    # the agents slowed (xferkit.throttle) until one is killed, so that the kill lands while the
    # volume's job runs (its status Running: the job started; a small delta ends within a second)
    src.throttle([src.agent_pid(n) for n in warmkit.NODES], SLOW)
    src.watch(f"{API}/namespaces/{SYS}/volumetransfers", stx, stop)
    sbk = Backups(NAME)
    src.watch(f"{API}/namespaces/{SYS}/backups", sbk, stop)
    dst.watch(f"{API}/namespaces/{SYS}/volumetransfers", dtx, stop)
    time.sleep(0.5)
    t_start = time.time()
    r = ferry(dst, "migrate", "plan", NAME, "--source-kubeconfig", kc, "--include-namespaces", NS)
    eq("ferry migrate plan shop: exit 0", r.returncode, 0, REF)
    r = ferry(dst, "migrate", "start", NAME, "--sync-interval", "1", "--cutover-bound", "30")
    eq("ferry migrate start shop: exit 0", r.returncode, 0, REF)
    where = {}
    wait_until(lambda: mst(dst).get("phase") not in (None, "Planned"), 30, 0.05)

    def restore_made():
        return dst.get(f"{API}/namespaces/{SYS}/restores/{NAME}") is not None or mst(dst).get("phase") != "Seeding"
    wait_until(restore_made, 90, 0.05)
    rs = dst.get(f"{API}/namespaces/{SYS}/restores/{NAME}")
    where["seed"] = (mst(dst).get("phase"), rs is not None)
    restart_controller(dst, f"in the seed (Migration {where['seed'][0]}, its Restore made, "
                            f"{((rs or {}).get('status') or {}).get('phase') or 'New'})")

    def in_round(n):
        st = mst(dst)
        return st.get("phase") != "Syncing" and st.get("phase") not in ("Seeding", None) or \
            (st.get("round") == n and st.get("roundStartTime"))
    src.throttle([], None)
    wait_until(lambda: mst(dst).get("phase") != "Seeding", 90, 0.05)
    dst.throttle([dst.agent_pid(n) for n in warmkit.NODES], SLOW)
    wait_until(lambda: in_round(2), 90, 0.05)
    st = mst(dst)
    where["round 2"] = (st.get("phase"), st.get("round"), bool(st.get("roundStartTime")))
    restart_controller(dst, f"in sync round {st.get('round')} ({st.get('phase')})")
    wait_until(lambda: in_round(3), 60, 0.05)
    # once round 3's transfers in the source are past their freeze (an agent killed between FIFREEZE
    # and FITHAW leaves the filesystem frozen: nothing else thaws it, and the writer hangs)
    def r3_thawed():
        ns = stx.names(lambda n, sp, ann: ann.get("ferry.io/backup") == f"{SYS}/{NAME}-r3")
        return len(ns) == len(warmkit.CLAIMS) and all(
            ((stx.last(n)[2] or {}).get("freeze") or {}).get("state") in ("Thawed", "Skipped", "Failed") or
            stx.last(n)[1] in ("Attaching", "Running", "Completed", "Failed") for n in ns)
    wait_until(r3_thawed, 30, 0.02)
    st = mst(dst)
    where["round 3"] = (st.get("phase"), st.get("round"), bool(st.get("roundStartTime")))
    r3 = {n: stx.last(n)[1] for n in stx.names(lambda n, sp, ann: ann.get("ferry.io/backup") == f"{SYS}/{NAME}-r3")}
    src.throttle([], None)
    t_restart = time.time()
    restart_source(src)
    check("the target's agent was killed under a round's delta",
          wait_until(lambda: dtx.killed, 40, 0.1), dtx.killed, "a kill", REF)
    # round 3 ends after the restart; then the cutover, at the next round that converges
    wait_until(lambda: (mst(dst).get("round") or 0) >= 4 or mst(dst).get("phase") == "Failed", 90, 0.2)

    # the source's API server away (kbox fault "down") for its ferry (the agents, the controller) and
    # the migration's reader, DOWN_S seconds from the instant a round's transfer in the source moves
    # bytes (Running, bytesTotal set: past its setup's reads): 32 MiB written into the application's
    # volume first, the agents slowed, so that this transfer lasts a few seconds and ends meanwhile,
    # its final status kept by its agent and written once the server is back, not run again. The
    # source's controller loses its lease (renew deadline 3 s) and exits: started again, as its
    # Deployment would. A transfer that ended before the fault landed leaves the next try (3 at most).
    down, t_down, held, ended, logs = [], 0.0, False, False, ""
    for attempt in range(3):
        rn = big_change(src)

        def moving():
            return [n for n in rounds_from(stx, rn) if stx.last(n)[1] == "Running" and
                    (stx.last(n)[2] or {}).get("bytesTotal")]
        down = wait_until(moving, 30, 0.01) or []
        marks = {n: os.path.getsize(os.path.join(src.work, f"agent-{n}.log")) for n in warmkit.NODES}
        src.box.fault(action="down", userRegex="system:serviceaccount:ferry-system:.*", seconds=DOWN_S)
        t_down = time.time()
        KILLS.append((round(t_down - T0, 1), "the source's API server (down)",
                      f"{DOWN_S} s, VolumeTransfer(s) {down} Running"))
        time.sleep(DOWN_S)
        src.box.clear_faults()
        src.throttle([], None)
        # its lease lost 3 s in, the controller exits (it may take a while to close): its Deployment's part
        if src.ctrl and wait_until(lambda: src.ctrl[-1].poll() is not None, 30, 0.1):
            note(f"the source's controller exited in the outage (exit {src.ctrl[-1].returncode}); started again")
            src.start_controller(src.identity, f"controller-{len(KILLS)}.log", extra=CTRL_EXTRA)
        ended = wait_until(lambda: all(stx.last(n)[1] in ("Completed", "Failed") for n in down), 60, 0.1)
        # held: the final status of one of them first seen after the server came back
        held = bool(down) and any(next((t for t, ph, _ in stx.seen[n] if ph in ("Completed", "Failed")), 0) >=
                                  t_down + DOWN_S - 0.2 for n in down)
        logs = "".join(open(os.path.join(src.work, f"agent-{n}.log")).read()[marks[n]:] for n in warmkit.NODES)
        if held and "final status written" in logs or attempt == 2:
            break
        note(f"try {attempt + 1}: the transfers {down} of round {rn} or later ended outside the outage; again")
    check("the source's API server down: a round's transfer moving bytes then ended Completed",
          down and ended and all(stx.last(n)[1] == "Completed" for n in down),
          {n: stx.last(n)[1] for n in down}, "Completed", REF)
    check("... its agent kept its final status through the outage and wrote it once the server was back",
          held and re.search(r"transfer \S+: its final status written after \d+ more tries", logs) is not None,
          logs[-1500:], "a buffered status", REF)
    check("... and it ran once (no second start for it in the agents' logs)",
          all(logs.count(f"transfer {n}: backup of") <= 1 for n in down), None, None, REF)
    FIG["source API down s"] = DOWN_S

    # an agent of the source killed with bytes of a volume done: 32 MiB written again, the agents
    # slowed, the kill once a round's transfer reports bytesDone > 0; its next run reuses what the
    # killed one stored (the pack term of the bound: "lost" below)
    t_mid, mid = 0.0, None
    for attempt in range(2):
        rn = big_change(src)

        def half_done():
            return next(((n, stx.last(n)[2]) for n in rounds_from(stx, rn) if stx.last(n)[1] == "Running" and
                         0 < ((stx.last(n)[2] or {}).get("bytesDone") or 0) < ((stx.last(n)[2] or {}).get("bytesTotal")
                                                                             or 0)), None)
        mid = wait_until(half_done, 30, 0.01)
        if mid:
            node = mid[1].get("node")
            t_mid = time.time()
            KILLS.append((round(t_mid - T0, 1), f"warm-source agent of {node}",
                          f"a round's transfer {mid[0]}: {mid[1].get('bytesDone')} of {mid[1].get('bytesTotal')} "
                          f"bytes done, {mid[1].get('bytesNew')} stored"))
            src.kill_agent(node)
            time.sleep(1)
            src.start_agent(node)
        src.throttle([], None)
        if mid:
            break
        note(f"try {attempt + 1}: no transfer of round {rn} or later seen half done; again")
    check("an agent of the source killed with bytes of a volume done", mid, KILLS[-1:], "a kill", REF)
    check("... its transfer completed under its own name",
          mid and wait_until(lambda: stx.last(mid[0])[1] == "Completed", 60, 0.1), mid and stx.last(mid[0])[:2],
          "Completed", REF)
    dst.throttle([], None)
    r = ferry(dst, "migrate", "cutover", NAME)
    eq("ferry migrate cutover shop: exit 0", r.returncode, 0, REF)
    wait_until(lambda: (mst(dst).get("cutover") or {}).get("sourceStoppedTime") or
               mst(dst).get("phase") in ("Failed", "Completed"), 120, 0.05)
    st = mst(dst)
    where["cutover"] = (st.get("phase"), bool((st.get("cutover") or {}).get("sourceStoppedTime")),
                        bool((st.get("cutover") or {}).get("targetStartTime")))
    restart_controller(dst, "in the cutover (the source stopped, the final backup next)")
    wait_until(lambda: mst(dst).get("phase") in ("Completed", "Failed", "RolledBack"), 120, 0.2)
    FIG["shop s"] = round(time.time() - t_start, 1)
    stop.set()
    st = mst(dst)
    note("status: " + json.dumps({k: st.get(k) for k in ("phase", "message", "seed", "rounds", "volumes", "cutover",
                                                          "conditions")})[:4000])
    note("interruptions: " + json.dumps(KILLS))
    if st.get("phase") != "Completed":
        for env in (dst, src):
            for f in sorted(os.listdir(env.work)):
                if f.startswith("controller") and f.endswith(".log"):
                    note(f"{env.identity} {f}:\n" + open(os.path.join(env.work, f), errors="replace").read()[-2500:])

    eq("the target's controller was killed in the seed (the Restore made, the Migration Seeding)",
       where["seed"], ("Seeding", True), REF)
    eq("... in sync round 2 (Syncing, the round started)", where["round 2"], ("Syncing", 2, True), REF)
    eq("the source restarted in sync round 3 (Syncing, the round started)", where["round 3"], ("Syncing", 3, True),
       REF)
    check("... while round 3's Backup moved its volumes (a transfer of it not yet Completed)",
          r3 and any(p != "Completed" for p in r3.values()), r3, None, REF)
    eq("the target's controller was killed in the cutover (the source stopped, the target not started)",
       where["cutover"], ("CuttingOver", True, False), REF)
    check("an agent of the source was killed while it uploaded a volume of the seed", stx.killed, stx.killed,
          "a kill", REF)
    eq("the migration completes", st.get("phase"), "Completed", REF)
    for tx, label in ((stx, "the source's seed transfer"), (dtx, "the target's delta")):
        if tx.killed:
            eq(f"{label} whose agent was killed completed under the same name", tx.last(tx.killed[0])[1],
               "Completed", REF)

    # ------------------------------------------------------------ the bytes: right
    dpvs = warmkit.claim_pvs(dst)
    final = {v.get("pvc"): v.get("snapshotID") for v in st.get("volumes") or []}
    eq("each target PV's stamp names the final snapshot", {c: stamp(dst, pv).get("snapshot") for c, pv in dpvs.items()},
       {c: final.get(c) for c in warmkit.CLAIMS}, REF)
    spvs = warmkit.claim_pvs(src)
    same, clean = {}, {}
    for c in warmkit.CLAIMS:
        img = os.path.join(src.work, f"final-{c}.img")
        rr = src.ferry("restore", "--repo", REPO, "--progress", "none", final.get(c) or "none", img, timeout=120)
        same[c] = rr.returncode == 0 and xferkit.sha256(img) == warmkit.volume_sum(src, spvs[c])
        clean[c] = rr.returncode == 0 and subprocess.run(["e2fsck", "-fn", img], stdout=subprocess.DEVNULL,
                                                         stderr=subprocess.DEVNULL).returncode == 0
        if os.path.exists(img):
            os.unlink(img)
    eq("the final snapshot restored is the stopped source's volume byte for byte", same,
       {c: True for c in warmkit.CLAIMS}, REF)
    eq("... and a clean ext4 (e2fsck -fn)", clean, {c: True for c in warmkit.CLAIMS}, "e2fsck(8)")

    # ------------------------------------------------------------ the bytes: not sent again
    # a Backup deleted while another runs waits for the repository's lock (5 s at a time)
    wait_until(lambda: sorted(backups_of(src, NAME)) == [f"{NAME}-final", f"{NAME}-seed"], 30, 0.5)
    left = sorted(backups_of(src, NAME))
    eq("the source keeps the seed's and the final Backup of shop (the rounds' deleted)", left,
       [f"{NAME}-final", f"{NAME}-seed"], REF)
    bks = sbk.all(src)
    order = [f"{NAME}-seed"] + sorted((b for b in bks if re.match(rf"^{NAME}-r\d+$", b)),
                                      key=lambda b: int(b.rsplit("r", 1)[1])) + [f"{NAME}-final"]
    eq("the source's Backups of shop: the seed, the rounds, the final one, each Completed",
       [(b, bks.get(b, {}).get("phase")) for b in order], [(b, "Completed") for b in order], REF)
    per = {c: {"seed": 0, "deltas": 0, "reads": []} for c in warmkit.CLAIMS}
    for b in order:
        for v in bks.get(b, {}).get("volumes") or []:
            c = v.get("pvc")
            if c not in per:
                continue
            per[c]["seed" if b.endswith("-seed") else "deltas"] += v.get("bytesNew") or 0
            if not b.endswith("-seed"):
                per[c]["reads"].append((b, v.get("bytesRead"), v.get("changedBlocksUsed"), v.get("size")))
    # what was uploaded per volume: each run of each of its source transfers, as far as its status went
    cuts = [t for t in (stx.killed and stx.killed[1], t_restart, t_mid) if t]
    for c in warmkit.CLAIMS:
        mine_c = stx.names(lambda n, sp, ann: (sp.get("source") or {}).get("persistentVolumeClaim") == c and
                           (ann.get("ferry.io/backup") or "").startswith(f"{SYS}/{NAME}-"))
        runs = {n: stx.runs(n, [t for t in cuts if stx.seen[n][0][0] < t < stx.seen[n][-1][0]]) for n in mine_c}
        per[c]["uploaded"] = sum(sum(x) for x in runs.values())
        per[c]["interruptions"] = sum(len(x) - 1 for x in runs.values())
        per[c]["lost"] = sum(sum(x[:-1]) for x in runs.values())  # what the killed runs had stored
        per[c]["transfers"] = len(mine_c)
        per[c]["bound"] = per[c]["seed"] + per[c]["deltas"] + per[c]["interruptions"] * PACK
    FIG["per volume"] = per
    eq("every Backup's volume was seen uploading by the source's transfers (seed, rounds, final)",
       {c: per[c]["transfers"] >= len(order) for c in per}, {c: True for c in per}, REF)
    check("per volume: uploaded <= the seed's stored bytes + the deltas + one pack per interruption",
          all(per[c]["uploaded"] <= per[c]["bound"] for c in per),
          {c: (per[c]["uploaded"], per[c]["bound"]) for c in per}, "<=", REF)
    grown = {k: warmkit.repo_bytes(REPO)[k] - base[k] for k in base}
    stored = sum(per[c]["seed"] + per[c]["deltas"] for c in per)
    kills_up = sum(per[c]["interruptions"] for c in per)
    lost = sum(per[c]["lost"] for c in per)
    # the repository's own bytes beside the chunks: each pack's index and tail, each Backup's object archive
    meta = grown["index"] + 8 * grown["packs"] + ARCHIVE * len(bks)
    FIG["repository"] = {"data grew": grown["data"], "index grew": grown["index"], "packs": grown["packs"],
                         "stored by the Backups": stored, "interrupted uploads": kills_up,
                         "stored by the killed runs": lost, "beyond what the Backups stored": grown["data"] - stored,
                         "metadata allowance": meta}
    check("the repository: its data grew by at least what the Backups stored and at most that plus one pack "
          "per interrupted upload", stored <= grown["data"] <= stored + meta + kills_up * PACK,
          FIG["repository"], None, REF)
    # a run killed with bytes done (t_mid) may have stored up to a pack more than its last status said
    inflight = PACK if t_mid else 0
    FIG["repository"]["in flight at a kill, at most"] = inflight
    check("... and by no more than its metadata, what the killed runs had stored and what the one killed with "
          "bytes done had in flight: nothing stored twice",
          grown["data"] - stored <= meta + lost + inflight, FIG["repository"], None, REF)
    whole = [(c, x) for c in per for x in per[c]["reads"] if x[1] is not None and x[3] and x[1] >= x[3]]
    eq("no round read a whole volume again (each read its changed blocks)", whole, [], REF)
finally:
    stop.set()
    keep = os.environ.get("FERRY_TEST_KEEP_LOGS")
    for env in (src, dst) if keep else ():
        if env:
            subprocess.run(f"mkdir -p {keep}/{env.identity} && cp {env.work}/*.log {keep}/{env.identity}/",
                           shell=True)
    for env in (src, dst):
        if env:
            if getattr(env, "cgroups", None):
                env.throttle([], None)
            thaw_all(env)
    warmkit.close([src, dst], REF)
note("interruptions: " + json.dumps(KILLS))
note("figures: " + json.dumps(FIG))
note(f"{time.time() - T0:.1f} s in all")
finish()
