#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_warm: a warm migration by the Migration resource (issue 19): `ferry migrate plan`, `start`
(seed while the application runs, sync rounds until one converges), `cutover --wait`, `report`.

Two boxes (tests/migrate/warmkit.py), one file:// repository, the target's Repository
ReadOnly with a 1 s backup sync; in the source a reader account bound to
k8s/deploy/migrate-source-rbac.yaml whose token's kubeconfig `ferry migrate plan` stores in
the target. The application in the source, namespace shop: a StatefulSet `web` of one
replica with two 64 MiB ext4 claims of kbox-disk (WaitForFirstConsumer), its pod changing
files on both every 100 ms and serving /data behind the Service `web`, probed at 25 Hz from
a node of each box; its pods held to zone-a by a nodeSelector, which the migration's
`--node-label-mappings` moves to zone-b in the target. Checked:
- the plan: exit 0, both claims listed;
- seed: Seeding then Syncing; a Backup <name>-seed in the source, the Restore <name> in the
  target with scaleWorkloadsToZero: the StatefulSet there at 0 replicas with
  ferry.io/restore-replicas "1", its claims Bound on a node the Restore chose (no pod ever
  runs), each target PV stamped with its seed snapshot; the source answered throughout (no time
  without an answer of warmkit.OUTAGE_S or more);
- syncs: rounds with bytes written and a verdict, at least one Converged, each round's
  transfers written as deltas (status.volumes naming the snapshot each target volume holds);
  the source keeps the seed's Backup and the last round's, the older ones deleted;
- a round whose Backup ends PartiallyFailed (the source agents' state directories immutable
  for a while: chattr -R +i) goes again under <name>-r<N>-2, the failed Backup deleted;
- cutover --wait: exit 0, Completed; the source fenced (ferry.io/migration,
  ferry.io/migration-replicas "1", ferry.io/autoscaling-paused, replicas 0, no pod); the
  target's StatefulSet at 1, ready, asking for zone-b and running there (issue 21's node
  label mapping: the claims were placed for the rewritten selector), its writer going on from the copied volume (its first
  counter at or past the source's last); each target PV's stamp names the final snapshot,
  and that snapshot restored is the source's volume byte for byte (SHA-256, the source still
  stopped) and clean for e2fsck; ferry's own verification (each target volume snapshotted
  before the target started, read whole after, compared with the final snapshot) Equal, its
  transfers gone; the report's parts (backup: snapshots + read and upload; apply;
  snapshots to verify; start; ready) add up to its window, which the probes' window (the
  source's last answer to the target's first) matches within 1 s;
- no VolumeSnapshot in the target's shop (a Backup leaves ferry's changed-block bases out);
- rollback after the target started: refused, exit 1, naming why;
- the target controller's create restores (migrate-rbac.yaml) used, allowed (audit log).
The figures (seed, rounds, the cutover's parts, the probes' window) are printed as notes.
CI budget: 3 minutes.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import warmkit  # noqa: E402
from warmkit import note, stamp  # noqa: E402
from warmkit import API, NS, SYS, check, eq, wait_until  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 19: warm migration"
# --copy: two repositories, one per cloud (issue 21): the source backs up into its own, the
# target's agents copy each snapshot and the seed's record into the target's (spec.copy)
COPY = "--copy" in sys.argv[1:]
REF_COPY = "issue 21: two repositories"
ZONE = "topology.kubernetes.io/zone"
FERRY = xferkit.require(("nsenter", "e2fsck"))
PASSWORD = "warm-test-password"
PROBE_NODE = "node-b1"
NAME = "shop"
FIG = {}


def mig(dst):
    return dst.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}


def ferry(env, *args, timeout=240):
    r = env.ferry(*args, timeout=timeout)
    note(f"ferry {' '.join(args)}: exit {r.returncode}\n{r.stdout[-2500:]}{r.stderr[-800:]}")
    return r


src = dst = None
probes = []
try:
    src, dst, REPO = warmkit.pair(FERRY, PASSWORD, copy=COPY)
    copies = {}  # the target's VolumeTransfers of direction copy: name -> (phase, node)

    def saw(o):
        if (o.get("spec") or {}).get("direction") == "copy":
            st_ = o.get("status") or {}
            copies[o["metadata"]["name"]] = (st_.get("phase"), st_.get("node"), st_.get("bytesNew"),
                                             o["metadata"].get("creationTimestamp"))
    if COPY:
        dst.watch(f"{API}/namespaces/{SYS}/volumetransfers", saw)
    audit_mark = len(dst.box.audit())
    # the application held to zone-a in the source; the migration's node label mapping moves it
    # to zone-b in the target (issue 21's transforms: a nodeLabelMap)
    warmkit.make_app(src, node_selector={ZONE: "zone-a"})
    check("the application runs in the source", warmkit.ready(src), warmkit.pods(src), ["web-0"], REF)
    sprobe = warmkit.Probe(src, PROBE_NODE, warmkit.service_ip(src)).start()
    probes.append(sprobe)
    check("the probe reaches the source's Service", wait_until(sprobe.last_ok, 20, 0.1),
          sprobe.error or sprobe.samples[-3:], "an answer", REF)
    kc = warmkit.reader_kubeconfig(src)

    # ------------------------------------------------------------ custom resources, before the plan
    # A Widget in shop: its CRD (v1beta1 and v1 served, v1 the preferred) only in the source, then
    # in the target serving v1beta1 alone; the reader may list widgets (as the view ClusterRole
    # an operator extends would let it)
    def crd(versions):
        return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                "metadata": {"name": "widgets.example.io"},
                "spec": {"group": "example.io", "scope": "Namespaced",
                         "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                         "versions": [{"name": v, "served": True, "storage": v == versions[-1],
                                       "schema": {"openAPIV3Schema": {"type": "object",
                                                                      "x-kubernetes-preserve-unknown-fields": True}}}
                                      for v in versions]}}
    src.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(["v1beta1", "v1"]))
    wait_until(lambda: src.get("/apis/example.io/v1") is not None, 10, 0.1)
    src.create(f"/apis/example.io/v1/namespaces/{NS}/widgets",
               {"apiVersion": "example.io/v1", "kind": "Widget", "metadata": {"name": "w1"}})
    src.create("/apis/rbac.authorization.k8s.io/v1/clusterroles", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "widget-view"},
        "rules": [{"apiGroups": ["example.io"], "resources": ["widgets"], "verbs": ["list"]}]})
    src.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "widget-view"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "widget-view"},
        "subjects": [{"kind": "ServiceAccount", "name": warmkit.READER, "namespace": SYS}]})
    r = ferry(dst, "migrate", "plan", "crd-check", "--source-kubeconfig", kc, "--include-namespaces", NS)
    check("a custom resource whose CRD the target lacks: exit 1, CRDMissing naming widgets.example.io and v1",
          r.returncode == 1 and "CustomResourceDefinition widgets.example.io: CRDMissing: " in r.stdout and
          "Widget objects (v1)" in r.stdout, r.stdout[-1500:], "CRDMissing", REF)
    dst.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd(["v1beta1"]))
    r = ferry(dst, "migrate", "plan", "crd-check-2", "--source-kubeconfig", kc, "--include-namespaces", NS)
    check("... the target's CRD serving v1beta1 alone: APIVersionMissing, the move carrying v1",
          r.returncode == 1 and "widgets.example.io: APIVersionMissing: " in r.stdout and "move as v1" in r.stdout,
          r.stdout[-1500:], "APIVersionMissing", REF)
    for name in ("crd-check", "crd-check-2"):
        dst.api.delete(f"{API}/namespaces/{SYS}/migrations/{name}")
    code, _, _ = src.api.delete(f"/apis/example.io/v1/namespaces/{NS}/widgets/w1")
    eq("the Widget deleted in the source (the migration below moves no custom resource)", code, 200, REF)

    # ------------------------------------------------------------ the plan, then start
    t_app = time.time()
    # the application's namespace found by its label (issue 21: a plan of namespaces by selector):
    # the stages move the set the plan recorded in status.plan.namespaces
    src.api.patch(f"/api/v1/namespaces/{NS}", {"metadata": {"labels": {"migrate": "shop"}}})
    r = ferry(dst, "migrate", "plan", NAME, "--source-kubeconfig", kc, "--namespace-selector", "migrate=shop",
              "--node-label-mappings", f"{ZONE}=zone-a:{ZONE}=zone-b")
    eq("ferry migrate plan: exit 0, both claims listed", (r.returncode, all(c in r.stdout for c in warmkit.CLAIMS)),
       (0, True), REF)
    eq("... namespace shop found by --namespace-selector migrate=shop",
       ((mig(dst).get("status") or {}).get("plan") or {}).get("namespaces"),
       [{"name": NS, "targetNamespace": NS}], REF)
    r = ferry(dst, "migrate", "start", NAME, "--sync-interval", "1", "--cutover-bound", "30",
              *(["--copy-from", REPO, "--copy-password-secret", warmkit.COPY_SECRET] if COPY else []))
    eq("ferry migrate start: exit 0", r.returncode, 0, REF)
    phases = []
    live = []  # each status.progress seen (the live table)

    def until_rounds():
        m = mig(dst)
        if (m.get("status") or {}).get("progress"):
            live.append(m["status"]["progress"])
        p = (m.get("status") or {}).get("phase")
        if p and (not phases or phases[-1] != p):
            phases.append(p)
        rounds = (m.get("status") or {}).get("rounds") or []
        return p in ("Failed",) or (len(rounds) >= 3 and any(x.get("verdict") == "Converged" for x in rounds))
    wait_until(lambda: until_rounds() or phases[-1:] == ["Syncing"], 120, 0.1)

    # ------------------------------------------------------------ a round whose Backup fails is run again
    # the source agents' state directories made immutable (chattr -R +i: a node's disk gone
    # read-only): their backups cannot journal an upload, the round's Backup ends
    # PartiallyFailed; freed once the migration says it goes again, before its next try
    locked = [os.path.join(src.work, d) for d in os.listdir(src.work) if d.startswith("state-")]
    subprocess.run(["chattr", "-R", "+i"] + locked, check=True)
    try:
        said = wait_until(lambda: "the round again" in ((mig(dst).get("status") or {}).get("message") or ""), 60, 0.1)
    finally:
        subprocess.run(["chattr", "-R", "-i"] + locked, check=True)
    st = mig(dst).get("status") or {}
    note("a failed round: " + json.dumps({k: st.get(k) for k in ("phase", "message", "round", "roundAttempt",
                                                                 "roundRetryTime")}))
    check("a round's Backup that ended PartiallyFailed: the round goes again (try 2 of 3), saying why",
          said and st.get("phase") == "Syncing" and st.get("roundAttempt") == 2 and "PartiallyFailed" in
          st.get("message", ""), st.get("message"), "try 2", REF)
    failed_round = st.get("round")
    retried = f"{NAME}-r{failed_round}-2"
    wait_until(lambda: any(x.get("backup") == retried for x in (mig(dst).get("status") or {}).get("rounds") or [])
               or (mig(dst).get("status") or {}).get("phase") == "Failed", 90, 0.2)
    st = mig(dst).get("status") or {}
    check(f"... its second try {retried} completed the round, and the migration goes on",
          st.get("phase") == "Syncing" and any(x.get("backup") == retried for x in st.get("rounds") or []) and
          "roundAttempt" not in st, (st.get("phase"), st.get("message"), [x.get("backup") for x in st.get("rounds") or []]),
          None, REF)
    check(f"... and the failed try's Backup {NAME}-r{failed_round} is gone from the source",
          wait_until(lambda: src.get(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/backups/{NAME}-r{failed_round}") is None,
                     30, 0.2), None, None, REF)

    wait_until(until_rounds, 150, 0.2)
    st = mig(dst).get("status") or {}
    note("status before the cutover: " + json.dumps({k: st.get(k) for k in ("phase", "message", "seed", "rounds",
                                                                            "volumes", "conditions")})[:3000])
    if st.get("phase") != "Syncing":
        for env in (dst, src):
            log = os.path.join(env.work, "controller.log")
            if os.path.exists(log):
                note(f"{env.identity} controller.log:\n" + open(log).read()[-3000:])
    eq("the Migration went Seeding, then Syncing", [p for p in phases if p in ("Seeding", "Syncing")][:2],
       ["Seeding", "Syncing"], REF)
    rounds = st.get("rounds") or []
    check("sync rounds ran, each with its bytes, seconds and verdict; one Converged",
          len(rounds) >= 2 and all(isinstance(x.get("bytesWritten"), int) and x.get("verdict") for x in rounds) and
          any(x.get("verdict") == "Converged" for x in rounds),
          [(x.get("round"), x.get("bytesWritten"), x.get("seconds"), x.get("verdict")) for x in rounds], None, REF)
    check("some round wrote a delta (the writer changed the volumes)", any(x.get("bytesWritten") for x in rounds),
          rounds, None, REF)
    last = rounds[-1] if rounds else {}
    eq("status.recoveryPointTime: the start of the last applied round (the recovery point while it syncs)",
       st.get("recoveryPointTime"), last.get("startTime"), REF)
    r = ferry(dst, "migrate", "status", NAME)
    check("ferry migrate status prints the recovery point and its age",
          r.returncode == 0 and f"Recovery point: {last.get('startTime')} (" in r.stdout, r.stdout[-800:], None, REF)
    FIG["rounds"] = [(x.get("round"), x.get("bytesWritten"), x.get("seconds"), x.get("verdict")) for x in rounds]
    FIG["seed done s"] = round(time.time() - t_app, 1)
    sts = dst.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web") or {}
    eq("seed: the target's StatefulSet is at 0 replicas, its count kept in ferry.io/restore-replicas",
       (sts.get("spec", {}).get("replicas"), (sts.get("metadata", {}).get("annotations") or {}).get(
           "ferry.io/restore-replicas")), (0, "1"), REF)
    eq("seed: no pod in the target's shop", warmkit.pods(dst), [], REF)
    dpvs = warmkit.claim_pvs(dst)
    held = {v.get("pvc"): v.get("snapshotID") for v in st.get("volumes") or []}
    eq("each target claim is bound, its PV's stamp naming the snapshot status.volumes says it holds",
       {c: (stamp(dst, pv).get("state"), stamp(dst, pv).get("snapshot")) for c, pv in dpvs.items() if pv},
       {c: ("clean", held.get(c)) for c in warmkit.CLAIMS}, "datapath/FORMAT.md: Target stamps")
    gap = sprobe.longest_gap(t_app)
    check(f"the source's Service answered through the seed and the syncs: no time without an answer of "
          f"{warmkit.OUTAGE_S} s or more", gap is not None and gap < warmkit.OUTAGE_S,
          (gap and round(gap, 3), f"{sprobe.failures(t_app)} probe(s) failed"), f"< {warmkit.OUTAGE_S} s", REF)
    want = sorted([f"{NAME}-seed", rounds[-1].get("backup")])
    wait_until(lambda: sorted(src.items(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/backups")) == want, 20, 0.2)
    names = sorted(src.items(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/backups"))
    eq("the source keeps the seed's Backup and the last round's only (older rounds' deleted)",
       names, want, REF)

    # ------------------------------------------------------------ cutover
    t_cut = time.time()
    last_src = sprobe.last_ok()
    dprobe = warmkit.Probe(dst, PROBE_NODE, warmkit.service_ip(dst)).start()
    probes.append(dprobe)
    r = ferry(dst, "migrate", "cutover", NAME, "--wait", "--wait-timeout", "120")
    eq("ferry migrate cutover --wait: exit 0", r.returncode, 0, REF)
    first = wait_until(lambda: dprobe.first_ok(t_cut), 30, 0.02)
    last_src = sprobe.last_ok(time.time()) or last_src
    m = mig(dst)
    st = m.get("status") or {}
    cut = st.get("cutover") or {}
    note("cutover: " + json.dumps(cut))
    eq("the Migration is Completed", st.get("phase"), "Completed", REF)
    want = sorted([f"{NAME}-seed", cut.get("backup") or "?"])
    wait_until(lambda: sorted(src.items(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/backups")) == want, 20, 0.2)
    eq("the source keeps the seed's and the final Backup (status.cutover.backup); the rounds' are deleted",
       sorted(src.items(f"/apis/ferry.io/v1alpha1/namespaces/{SYS}/backups")), [f"{NAME}-final", f"{NAME}-seed"], REF)
    ssts = src.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web") or {}
    ann = ssts.get("metadata", {}).get("annotations") or {}
    eq("the source is fenced: annotated, at 0 replicas, no pod",
       (ann.get("ferry.io/migration"), ann.get("ferry.io/migration-replicas"), ann.get("ferry.io/autoscaling-paused"),
        ssts.get("spec", {}).get("replicas"), warmkit.pods(src)), (NAME, "1", "true", 0, []), REF)
    sts = dst.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web") or {}
    eq("the target's StatefulSet runs its replica, ready, the annotation gone",
       (sts.get("spec", {}).get("replicas"), sts.get("status", {}).get("readyReplicas"),
        (sts.get("metadata", {}).get("annotations") or {}).get("ferry.io/restore-replicas")), (1, 1, None), REF)
    pod = dst.get(f"/api/v1/namespaces/{NS}/pods/web-0") or {}
    node = dst.get(f"/api/v1/nodes/{(pod.get('spec') or {}).get('nodeName')}") or {}
    eq("the node label mapping: the target's pods ask for zone-b and run there (the claims placed with them)",
       (((sts.get("spec") or {}).get("template") or {}).get("spec", {}).get("nodeSelector"),
        ((node.get("metadata") or {}).get("labels") or {}).get(ZONE)), ({ZONE: "zone-b"}, "zone-b"),
       "issue 21: transforms (nodeLabelMap)")
    check("the target's writer goes on from the copied volume: its first counter at or past the source's last",
          first and last_src and int(first[2]) >= int(last_src[2]), (last_src, first), ">=", REF)
    final = {v.get("pvc"): v.get("snapshotID") for v in st.get("volumes") or []}
    eq("each target PV's stamp names the final snapshot",
       {c: stamp(dst, pv).get("snapshot") for c, pv in dpvs.items()}, {c: final.get(c) for c in warmkit.CLAIMS}, REF)
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
    eq("what the target received (the final snapshot, restored) is the stopped source's volume byte for byte",
       same, {c: True for c in warmkit.CLAIMS}, REF)
    eq("... and a clean ext4 (e2fsck -fn)", clean, {c: True for c in warmkit.CLAIMS}, "e2fsck(8)")
    if COPY:
        note("copies: " + json.dumps(copies))
        seed_c = {n: c for n, c in copies.items() if n.startswith(f"{NAME}-seed-")}
        eq("the seed: each volume's snapshot, then the Backup's record, copied into the target's repository by "
           "an agent here (Completed, on a node)",
           sorted((re.sub(r"-c[0-9a-f]{10}$", "-c", n), c[0], bool(c[1])) for n, c in seed_c.items()),
           sorted([(f"{NAME}-seed-c", "Completed", True)] * len(warmkit.CLAIMS) +
                  [(f"{NAME}-seed-rec", "Completed", True)]), REF_COPY)
        fin = {n: c for n, c in copies.items() if n.startswith(f"{NAME}-final-c")}
        check("the cutover: the final Backup's changed volumes copied before their deltas (Completed, on a node)",
              fin and all(c[0] == "Completed" and c[1] for c in fin.values()), fin, "a copy per changed volume",
              REF_COPY)
        fb = ((src.get(f"{API}/namespaces/{SYS}/backups/{NAME}-final") or {}).get("status") or {})
        note(f"the final Backup completed at {fb.get('completionTimestamp')}; its copies made at "
             f"{sorted(c[3] for c in fin.values())} (one made before: copied while the other volume was read)")
        r = dst.ferry("snapshots", "--repo", dst.repo, "--json")
        have = {x["id"] for x in json.loads(r.stdout)} if r.returncode == 0 else set()
        eq("the target's repository holds each final snapshot (the source's repository is not read here)",
           {c: final.get(c) in have for c in warmkit.CLAIMS}, {c: True for c in warmkit.CLAIMS}, REF_COPY)
        check("no copy is left once its round is applied",
              wait_until(lambda: not [n for n in dst.items(f"{API}/namespaces/{SYS}/volumetransfers")
                                      if re.search(r"-c[0-9a-f]{10}$|-rec$", n)], 20, 0.2),
              dst.items(f"{API}/namespaces/{SYS}/volumetransfers"), None, REF_COPY)
    ver = st.get("verify") or {}
    note("verify: " + json.dumps(ver))
    eq("after the target was ready, each target volume was compared whole with the final snapshot: Equal",
       (ver.get("result"), sorted((v.get("pvc"), v.get("result"), v.get("snapshotID")) for v in ver.get("volumes") or [])),
       ("Equal", sorted((c, "Equal", final.get(c)) for c in warmkit.CLAIMS)), REF)
    check("... the snapshots for it cut before the target started (verifyCutTime <= targetStartTime)",
          cut.get("verifyCutTime") and cut.get("targetStartTime") and cut["verifyCutTime"] <= cut["targetStartTime"],
          cut, None, REF)
    check("... and its transfers are gone once Completed",
          wait_until(lambda: not [n for n in dst.items(f"{API}/namespaces/{SYS}/volumetransfers") if "-verify-" in n],
                     20, 0.2), dst.items(f"{API}/namespaces/{SYS}/volumetransfers"), None, REF)
    FIG["verify"] = {k: ver.get(k) for k in ("result", "seconds", "bytesRead")}
    parts = [cut.get(k) for k in ("backupSeconds", "applySeconds", "verifySnapshotSeconds", "startSeconds",
                                  "readySeconds")]
    check("the report's parts (backup, apply, snapshots to verify, start, ready) add up to its window",
          all(isinstance(p, (int, float)) for p in parts) and isinstance(cut.get("windowSeconds"), (int, float)) and
          abs(sum(parts) - cut["windowSeconds"]) < 0.01, cut, None, REF)
    gap = warmkit.window(sprobe, dprobe, t_cut)
    FIG["probe window s"] = gap and round(gap, 2)
    FIG["report"] = {k: cut.get(k) for k in ("quiesceSeconds", "backupSeconds", "snapshotSeconds", "readUploadSeconds",
                                            "applySeconds", "verifySnapshotSeconds", "startSeconds", "readySeconds",
                                            "windowSeconds")}
    whole = (cut.get("quiesceSeconds") or 0) + (cut.get("windowSeconds") or 0)
    check("the probes' window (the source's last answer to the target's first) is the report's quiesce and "
          "window within 1 s", gap is not None and abs(gap - whole) < 1, (gap, whole), None, REF)
    check("... and the backup's parts: its snapshots and its read and upload add up to it",
          isinstance(cut.get("snapshotSeconds"), (int, float)) and
          abs(cut["snapshotSeconds"] + cut.get("readUploadSeconds", 0) - cut.get("backupSeconds", 0)) < 0.01,
          cut, None, REF)
    eq("no VolumeSnapshot in the target's shop",
       dst.items(f"/apis/snapshot.storage.k8s.io/v1/namespaces/{NS}/volumesnapshots"), [], REF)
    r = ferry(dst, "migrate", "report", NAME)
    check("ferry migrate report: the rounds and the cutover's parts",
          r.returncode == 0 and "Converged" in r.stdout and "window" in r.stdout, r.stdout[-800:], None, REF)

    # ------------------------------------------------------------ the live table, the bytes per volume
    rows = [x for p in live for x in p.get("volumes") or []]
    note(f"live table: {len(live)} status.progress seen, e.g. " + json.dumps(live[len(live) // 2:][:1]))
    check("the live table (status.progress) showed the rounds' volumes read and uploaded in the source (Backup) "
          "and written here (Write), each with its bytes, and a rate",
          any(x.get("stage") == "Backup" and (x.get("bytesTotal") or 0) > 0 for x in rows) and
          any(x.get("stage") == "Write" and (x.get("bytesTotal") or 0) > 0 for x in rows) and
          any((x.get("bytesPerSecond") or 0) > 0 for x in rows) and
          {x.get("pvc") for x in rows} == set(warmkit.CLAIMS),
          sorted({(x.get("stage"), x.get("state")) for x in rows}), "Backup and Write rows", "issue 21: a live table")
    check("... naming the Backup they move (the seed's, a round's, the final one)",
          live and all(re.fullmatch(rf"{NAME}-(seed|final|r\d+(-\d+)?)", p.get("backup") or "") for p in live),
          sorted({p.get("backup") for p in live}), None, "issue 21: a live table")
    eq("... and gone once the migration is Completed", "progress" in st, False, "issue 21: a live table")
    vols = st.get("volumes") or []
    eq("status.volumes: the bytes the sync rounds wrote onto each volume add up to the rounds' bytes",
       sum(v.get("syncBytes") or 0 for v in vols), sum(x.get("bytesWritten") or 0 for x in st.get("rounds") or []),
       "issue 21: a report per volume")
    check("... each with the seed's bytes (its data) and the final delta's",
          all((v.get("seedBytes") or 0) > 0 and isinstance(v.get("finalBytes"), int) for v in vols) and
          {v.get("pvc") for v in vols} == set(warmkit.CLAIMS), vols, None, "issue 21: a report per volume")
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.startswith(f"{NS}/")]
    eq("ferry migrate report prints each volume's bytes per stage and its verification",
       sorted((ln[0], ln[-1]) for ln in lines), sorted((f"{NS}/{c}", "Equal") for c in warmkit.CLAIMS),
       "issue 21: a report per volume")

    # ------------------------------------------------------------ rollback after the start: refused
    r = ferry(dst, "migrate", "rollback", NAME, "--wait-timeout", "20")
    check("rollback once the target runs: refused, exit 1, saying only a migration the other way moves it back",
          r.returncode == 1 and "other way" in r.stderr, (r.returncode, r.stderr[-400:]), None, REF)
    eq("... and the source stays stopped", warmkit.pods(src), [], REF)

    # ------------------------------------------------------------ the target's rights
    aud = dst.box.audit()[audit_mark:]
    made = [(a.get("verb"), a.get("decision")) for a in aud
            if a.get("user") == "system:serviceaccount:ferry-system:ferry-controller" and
            a.get("resource") == "restores" and a.get("verb") == "create"]
    eq("the target controller made the seed's Restore under migrate-rbac.yaml (create restores, allowed)",
       sorted(set(made)), [("create", "allow")], "k8s/deploy/migrate-rbac.yaml")
finally:
    for p in probes:
        p.stop()
    warmkit.close([src, dst], REF)
note("figures: " + json.dumps(FIG))
note(f"{time.time() - T0:.1f} s in all")
finish()
