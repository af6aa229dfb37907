#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_bulk: a bulk migration (issue 21): three applications of 12 volumes in all, found by a
namespace selector, moved as one Migration between two boxes of three nodes whose storage
classes and node labels differ.

The source (tests/migrate/bulk-source.yaml): nodes labelled disk=ssd (node-a1, node-b1) and
disk=hdd (node-a2), storage classes gold-a and silver-a. The target (bulk-target.yaml): the
same nodes labelled storage=fast (node-a2, node-b1) and storage=slow (node-a1), classes gold-b
and silver-b. In each of shop, blog and crm a StatefulSet `app` of two replicas, each with a
claim `data` (gold-a) and `logs` (silver-a) of 16 MiB ext4 that its pod changes every 100 ms,
a ConfigMap and a Service; shop's pods ask for disk=ssd by nodeSelector, blog's by a required
node affinity (disk In [ssd]), crm's for disk=hdd. The Migration: --namespace-selector
migrate=bulk, --storage-class-mappings gold-a:gold-b,silver-a:silver-b, --node-label-mappings
disk=ssd:storage=fast,disk=hdd:storage=slow; start, sync rounds, cutover --wait. Checked:
- the plan: exit 0, the three namespaces found by their label, 12 volumes, no error;
- crm/app-0's /data left frozen before the migration as a killed agent would leave it (no one
  holds the freeze): the seed's freeze of that claim thaws and freezes it again;
- interrupted in the seed: the source's agent of node-a2 killed while the seed's Backup has
  transfers not over, the target's controller killed while the seed's Restore is InProgress
  with claims made (the next one plans the Restore again: its own claims are no clash), each
  started again a second later; the migration goes on to the end below;
- the live table (status.progress) showed the 12 volumes of a Backup in flight;
- after the cutover, Completed, and in the target: each namespace's ConfigMap and Service;
  each StatefulSet ready at 2 replicas, its pods' nodeSelector / affinity rewritten and every
  pod on a node whose labels satisfy it; each of the 12 claims Bound in its mapped class;
- each target volume equals the stopped source's (the final snapshot restored, SHA-256) and is
  a clean ext4 (e2fsck -fn); ferry's own verification Equal for all 12;
- ferry migrate report: a line per volume, each Equal.
Figures (seed, rounds, cutover window) are printed as notes; bench/ times them.
"""
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import warmkit  # noqa: E402
from warmkit import API, SYS, note  # noqa: E402

sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
sys.path.insert(0, os.path.join(HERE, "..", "xfer"))
import xferkit  # noqa: E402
from kboxtest import check, eq, wait_until  # noqa: E402
from kboxtest import finish  # noqa: E402

T0 = time.time()
REF = "issue 21: bulk migration"
FERRY = xferkit.require(("nsenter", "e2fsck"))
PASSWORD = "bulk-test-password"
NAME = "estate"
NODES = ["node-a1", "node-a2", "node-b1"]
CONFIGS = (os.path.join(HERE, "bulk-source.yaml"), os.path.join(HERE, "bulk-target.yaml"))
APPS = {  # namespace: how its pods ask for their nodes in the source, and in the target
    "shop": ({"nodeSelector": {"disk": "ssd"}}, {"nodeSelector": {"storage": "fast"}}),
    "blog": ({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}},
             {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                 {"matchExpressions": [{"key": "storage", "operator": "In", "values": ["fast"]}]}]}}}}),
    "crm": ({"nodeSelector": {"disk": "hdd"}}, {"nodeSelector": {"storage": "slow"}}),
}
CLASSES = {"data": ("gold-a", "gold-b"), "logs": ("silver-a", "silver-b")}
REPLICAS = 2
LABELS = {"app": "app"}
CLAIMS = [f"{t}-app-{i}" for t in CLASSES for i in range(REPLICAS)]
FIG = {}


def ferry(env, *args, timeout=240):
    r = subprocess.run([FERRY, "migrate"] + list(args), capture_output=True, text=True, env=env.env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    note(f"ferry migrate {' '.join(args)}: exit {r.returncode}\n{r.stdout[-2500:]}{r.stderr[-1500:]}")
    return r


def classes(env, suffix):
    for cls in ("gold", "silver"):
        env.create("/apis/storage.k8s.io/v1/storageclasses", {
            "apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": f"{cls}-{suffix}"},
            "provisioner": "disk.csi.kbox.io", "volumeBindingMode": "WaitForFirstConsumer",
            "reclaimPolicy": "Delete"})


def make_apps(env):
    for ns, (place, _) in APPS.items():
        env.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns, "labels": {"migrate": "bulk"}}})
        env.create(f"/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
                                                           "metadata": {"name": "settings"}, "data": {"app": ns}})
        env.create(f"/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "app", "labels": LABELS}, "spec": {"selector": LABELS, "ports": [
                {"name": "http", "port": 80, "targetPort": 8080}]}})
        env.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "app", "labels": LABELS},
            "spec": {"replicas": REPLICAS, "serviceName": "app", "selector": {"matchLabels": LABELS},
                     "podManagementPolicy": "Parallel",
                     "template": {"metadata": {"labels": LABELS}, "spec": dict({
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "app", "image": "busybox", "command": ["sh", "-ec", warmkit.WRITER],
                                         "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080},
                                                            "periodSeconds": 1},
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                          {"name": "logs", "mountPath": "/logs"}]}]}, **place)},
                     "volumeClaimTemplates": [
                         {"metadata": {"name": t, "labels": LABELS},
                          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": CLASSES[t][0],
                                   "resources": {"requests": {"storage": "16Mi"}}}} for t in CLASSES]}})


def ready(env, timeout):
    def all_ready():
        return all(((env.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/app") or {}).get("status") or {}).get(
            "readyReplicas") == REPLICAS for ns in APPS)
    return wait_until(all_ready, timeout, 0.2)


def pods(env, ns):
    return (env.get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items") or []


def claims(env, ns):
    return {c["metadata"]["name"]: c for c in (env.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims") or {}).get(
        "items") or []}


def fits(node, spec):
    """Whether @node's labels satisfy @spec's nodeSelector and required node affinity (In only)."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    if any(labels.get(k) != v for k, v in (spec.get("nodeSelector") or {}).items()):
        return False
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {}).get(
        "requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")
    if req is None:
        return True
    return any(all(e.get("operator") == "In" and labels.get(e.get("key")) in (e.get("values") or [])
                   for e in t.get("matchExpressions") or []) for t in req)


def differing_blocks(a, b, most=12):
    """The first @most 4 KiB block numbers at which files @a and @b differ."""
    out, i = [], 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while len(out) < most:
            x, y = fa.read(4096), fb.read(4096)
            if not x and not y:
                break
            if x != y:
                out.append(i)
            i += 1
    return out


def node_logs(env, words=("teardown", "unstage", "umount", "freeze", "thaw", "Traceback")):
    for n in NODES:
        p = os.path.join(env.box.dir, "nodes", n, "node.log")
        if os.path.exists(p):
            lines = [ln for ln in open(p, errors="replace").read().splitlines() if any(w in ln for w in words)]
            note(f"{env.identity} {n} node.log ({len(lines)} lines of {words}):\n" + "\n".join(lines[-30:]))


def pod_pid(uid, mount):
    """A process of the pod whose uid is @uid (its cgroup names it) that sees @mount, or None."""
    key = uid.replace("-", "_")
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                if key in open(f"/proc/{d}/cgroup").read() and \
                        any(ln.split()[4] == mount for ln in open(f"/proc/{d}/mountinfo")):
                    return int(d)
            except (OSError, IndexError):
                pass
    return None


def fsfreeze(pid, path, how):
    """fsfreeze --@how @path in the mount namespace of process @pid (the node's image has it)."""
    return subprocess.run(["nsenter", "-t", str(pid), "-m", "fsfreeze", f"--{how}", path],
                          capture_output=True, text=True, timeout=20)


def mig(env):
    return env.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}


src = dst = None
pid = None
try:
    src, dst, REPO = warmkit.pair(FERRY, PASSWORD, CONFIGS, NODES)
    classes(src, "a")
    classes(dst, "b")
    make_apps(src)
    t = time.time()
    ok = ready(src, 180)
    FIG["apps ready s"] = round(time.time() - t, 1)
    if not check("the three applications run in the source, 2 ready replicas each", ok,
                 {ns: [(p["metadata"]["name"], p["spec"].get("nodeName"), (p.get("status") or {}).get("phase"))
                       for p in pods(src, ns)] for ns in APPS}, None, REF):
        for ns in APPS:
            warmkit.diagnose(src, ns)
        finish()
    kc = warmkit.reader_kubeconfig(src)
    # crm's app-0 with its data volume left frozen as an agent killed between its FIFREEZE and
    # its status leaves it (no one here holds the freeze): the seed's freeze of that claim must
    # thaw it and freeze it again, or the writer stays blocked and the volume never unmounts
    pod0 = (src.get("/api/v1/namespaces/crm/pods/app-0") or {}).get("metadata") or {}
    pid = pod_pid(pod0.get("uid") or "?", "/data")
    r = fsfreeze(pid, "/data", "freeze") if pid else None
    eq("crm/app-0's /data frozen from inside its pod (a freeze no agent holds)", r and (r.returncode, r.stderr),
       (0, ""), REF)

    # ------------------------------------------------------------ the plan
    r = ferry(dst, "plan", NAME, "--source-kubeconfig", kc, "--namespace-selector", "migrate=bulk",
              "--storage-class-mappings", "gold-a:gold-b,silver-a:silver-b",
              "--node-label-mappings", "disk=ssd:storage=fast,disk=hdd:storage=slow")
    plan = (mig(dst).get("status") or {}).get("plan") or {}
    eq("the plan: exit 0, the three namespaces found by their label, 12 volumes, no error",
       (r.returncode, sorted(n.get("name") for n in plan.get("namespaces") or []), len(plan.get("volumes") or []),
        plan.get("errors")), (0, sorted(APPS), 12, 0), REF)
    eq("... each volume in its mapped class",
       sorted({(v.get("storageClass"), v.get("targetStorageClass")) for v in plan.get("volumes") or []}),
       sorted(CLASSES.values()), REF)

    # ------------------------------------------------------------ start, sync, cutover
    t_start = time.time()
    # the target's agents slowed until its controller is killed: the seed's Restore then lasts
    # long enough, with its claims made, for the kill to land there on a busy machine too
    dst.throttle([dst.agent_pid(n) for n in dst.nodes], 20)
    r = ferry(dst, "start", NAME, "--sync-interval", "1", "--cutover-bound", "60")
    eq("ferry migrate start: exit 0", r.returncode, 0, REF)
    live, kills = [], []

    def interrupt():
        """The source's agent of node-a2 (crm's four volumes) killed while the seed's Backup has
        transfers not over; the target's controller killed while the seed's Restore is
        InProgress. Each started again a second later."""
        if not any(k[0] == "source agent" for k in kills):
            b = (src.get(f"{API}/namespaces/{SYS}/backups/{NAME}-seed") or {}).get("status") or {}
            pr = b.get("progress") or {}
            if b.get("phase") == "InProgress" and (pr.get("volumesDone") or 0) < (pr.get("volumesTotal") or 0):
                src.kill_agent("node-a2")
                time.sleep(1)
                src.start_agent("node-a2")
                kills.append(("source agent", f"the seed's Backup InProgress, {pr.get('volumesDone')} of "
                              f"{pr.get('volumesTotal')} volumes over, {pr.get('bytesDone')} bytes done"))
        if not any(k[0] == "target controller" for k in kills):
            rs = (dst.get(f"{API}/namespaces/{SYS}/restores/{NAME}") or {}).get("status") or {}
            made = [c for ns in APPS for c in claims(dst, ns)]
            if rs.get("phase") == "InProgress" and made:
                dst.kill_controller()
                time.sleep(1)
                dst.start_controller(dst.identity, "controller-2.log",
                                     extra=["--kube-api-qps", "100", "--kube-api-burst", "200"])
                kills.append(("target controller", f"the seed's Restore InProgress, {len(made)} claim(s) made"))
                note("killed the target's controller in the seed's Restore; started again")
                dst.throttle([], None)
            elif rs.get("phase") in ("Completed", "PartiallyFailed", "Failed"):
                dst.throttle([], None)  # missed: the check below says so

    def rounds_in():
        st = mig(dst).get("status") or {}
        if st.get("progress"):
            live.append(st["progress"])
        interrupt()
        return st.get("phase") == "Failed" or any(x.get("verdict") == "Converged" for x in st.get("rounds") or [])
    wait_until(rounds_in, 240, 0.2)
    st = mig(dst).get("status") or {}
    FIG["seed and rounds s"] = round(time.time() - t_start, 1)
    FIG["rounds"] = [(x.get("round"), x.get("bytesWritten"), x.get("seconds"), x.get("verdict"))
                     for x in st.get("rounds") or []]
    if not check("seeded and synced: a round Converged", st.get("phase") == "Syncing" and FIG["rounds"],
                 {k: st.get(k) for k in ("phase", "message", "rounds")}, "Syncing", REF):
        for log in ("controller.log", "controller-2.log"):
            if os.path.exists(os.path.join(dst.work, log)):
                note(f"target {log}:\n" + open(os.path.join(dst.work, log)).read()[-4000:])
        finish()
    note(f"interruptions: {kills}")
    eq("interrupted mid plan: the source's agent of a node in the seed's Backup, the target's controller "
       "in its Restore", [k[0] for k in kills], ["source agent", "target controller"],
       "issue 21: kill the controller and an agent mid plan")
    widest = max((p.get("volumes") or [] for p in live), key=len, default=[])
    eq("the live table showed the 12 volumes of a Backup in flight",
       len({(x.get("namespace"), x.get("pvc")) for x in widest}), 12, "issue 21: a live table")

    t_cut = time.time()
    r = ferry(dst, "cutover", NAME, "--wait", "--wait-timeout", "150")
    st = mig(dst).get("status") or {}
    FIG["cutover s"] = round(time.time() - t_cut, 1)
    FIG["window s"] = (st.get("cutover") or {}).get("windowSeconds")
    eq("ferry migrate cutover --wait: exit 0, Completed", (r.returncode, st.get("phase")), (0, "Completed"), REF)

    # ------------------------------------------------------------ the target, object by object
    eq("each namespace's ConfigMap and Service are in the target",
       {ns: (((dst.get(f"/api/v1/namespaces/{ns}/configmaps/settings") or {}).get("data") or {}).get("app"),
             bool(dst.get(f"/api/v1/namespaces/{ns}/services/app"))) for ns in APPS},
       {ns: (ns, True) for ns in APPS}, REF)
    ok = ready(dst, 60)
    check("each StatefulSet runs its 2 replicas in the target, ready", ok,
          {ns: ((dst.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/app") or {}).get("status")) for ns in APPS},
          None, REF)
    nodes = {n["metadata"]["name"]: n for n in (dst.get("/api/v1/nodes") or {}).get("items") or []}
    got, want, placed = {}, {}, {}
    for ns, (_, place) in APPS.items():
        tpl = (((dst.get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/app") or {}).get("spec") or {}).get(
            "template") or {}).get("spec") or {}
        got[ns] = {k: tpl.get(k) for k in place}
        want[ns] = place
        placed[ns] = sorted((p["spec"].get("nodeName"), fits(nodes.get(p["spec"].get("nodeName")) or {}, tpl))
                            for p in pods(dst, ns))
    eq("each StatefulSet's pods ask for the mapped node labels (nodeSelector, required node affinity)",
       got, want, "issue 21: transforms (nodeLabelMap)")
    check("... and every pod runs on a node whose labels satisfy them",
          all(len(v) == REPLICAS and all(f for _, f in v) for v in placed.values()), placed, None,
          "issue 21: transforms (nodeLabelMap)")
    eq("each of the 12 claims is Bound in the target, in its mapped class",
       {ns: {c: ((o.get("status") or {}).get("phase"), o["spec"].get("storageClassName"))
             for c, o in claims(dst, ns).items()} for ns in APPS},
       {ns: {c: ("Bound", CLASSES[c.split("-")[0]][1]) for c in CLAIMS} for ns in APPS}, REF)

    # ------------------------------------------------------------ the bytes
    final = {(v.get("targetNamespace"), v.get("pvc")): v.get("snapshotID") for v in st.get("volumes") or []}
    same, clean = {}, {}
    for ns in APPS:
        spvs = {c: o["spec"].get("volumeName") for c, o in claims(src, ns).items()}
        for c in CLAIMS:
            img = os.path.join(src.work, f"final-{ns}-{c}.img")
            rr = src.ferry("restore", "--repo", REPO, "--progress", "none", final.get((ns, c)) or "none", img,
                           timeout=120)
            same[f"{ns}/{c}"] = rr.returncode == 0 and xferkit.sha256(img) == warmkit.volume_sum(src, spvs.get(c))
            if rr.returncode == 0 and not same[f"{ns}/{c}"]:
                note(f"{ns}/{c} ({spvs.get(c)}): 4 KiB blocks that differ from the source's: "
                     f"{differing_blocks(img, src.volume_file(spvs.get(c)))}")
            clean[f"{ns}/{c}"] = rr.returncode == 0 and subprocess.run(
                ["e2fsck", "-fn", img], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
            if os.path.exists(img):
                os.unlink(img)
    if not eq("each of the 12 volumes the target received (the final snapshot, restored) is the stopped source's, "
              "byte for byte", same, {k: True for k in same}, REF):
        note("cutover: " + json.dumps(st.get("cutover")))
        node_logs(src)
    eq("... 12 of them", len(same), 12, REF)
    eq("... each a clean ext4 (e2fsck -fn)", clean, {k: True for k in clean}, "e2fsck(8)")
    ver = st.get("verify") or {}
    eq("ferry's verification: each of the 12 target volumes Equal to its final snapshot",
       (ver.get("result"), len([v for v in ver.get("volumes") or [] if v.get("result") == "Equal"])), ("Equal", 12),
       REF)
    r = ferry(dst, "report", NAME)
    lines = [ln.split() for ln in r.stdout.splitlines() if ln.split("/")[0] in APPS and "/" in ln.split()[0]]
    eq("ferry migrate report: a line per volume, each Equal", (r.returncode, len(lines), {ln[-1] for ln in lines}),
       (0, 12, {"Equal"}), "issue 21: a report per volume")
finally:
    if pid:  # a failure above must not leave the mount frozen for good
        fsfreeze(pid, "/data", "unfreeze")
    warmkit.close([src, dst], REF)
    note(f"figures: {json.dumps(FIG)}; {time.time() - T0:.0f} s in all")
finish()
