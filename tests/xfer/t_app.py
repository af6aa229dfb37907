#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_app: an application backed up by label, its namespace deleted, restored (issue 15).

The box of tests/kbox/three-nodes-storage.yaml (three nodes, two zones, both CSI
drivers), ferry's manifests applied with kubectl (all of the kustomization but the
Deployment and the DaemonSet: `ferry controller` and one `ferry agent` per node run as
their processes, under their service accounts: tests/xfer/xferkit.py), a file://
repository. The application, namespace shop, every object labelled app=shop: a
ConfigMap, a Secret, a Service, a Deployment pinned to zone-b, and a StatefulSet of two
whose ext4 claims (kbox-disk) hold files and their checksums; beside it a ConfigMap
without the label. Checked, as the issue says:
- `ferry backup create -l app=shop --include-namespaces shop --wait` (the CLI, Velero's
  habits): exit 0, Completed, both volumes; the unlabelled ConfigMap not in it; the front
  pod's Velero pre-backup hook annotation a warning (ferry runs no command in pods);
- a file changed (96 MiB written into one replica's claim), a second Backup: the new
  bytes it stores are within 10 % of the bytes changed;
- 160 MiB more in the other claim, the agents slowed to 4 % of a CPU (a cgroup of the
  test's), a third Backup: the controller killed (SIGKILL) once that claim's transfer is
  25 % through, the agent running it once it is further (up to 75 %), both started again:
  the Backup completes, the resumed transfer reports reused bytes, and the repository grows
  by under 1.2x the 160 MiB changed (the pack in flight resumed); its log
  (`ferry backup logs shop-3`, kept in the repository, composed by the second controller)
  names each volume's transfer (Completed, its node, bytes, snapshot; db-1's reused
  bytes) and the record;
- bad input, each a clear reason and a non-zero `--wait` exit, with the repository's
  files and the cluster's claims, snapshots and pods the same before and after: a
  Backup naming a Repository whose password Secret is missing; a Restore from a
  Repository with the wrong password; a Restore whose storageClassMapping names a class
  that does not exist; a selector that matches nothing: Completed, empty, a warning; and
  (at the end, the hostpath driver's VolumeSnapshotClass deleted) a Backup of claims whose
  driver has no class: FailedValidation before any transfer is made;
- the namespace deleted (its volumes go with it: reclaim policy Delete), `ferry restore
  create --from-backup shop-3 --wait`: exit 0 once the claims are filled (the Restore
  waits for them); each restored object equals its original less exactly README.md's
  strip list (and the two labels a restore adds); the unlabelled ConfigMap not back; the
  replicas ready only after each checked every file's sum (and the changed file); every
  pod on a node its affinity and its volume's allow; `ferry restore logs shop-r` names
  each volume filled; then, scaled to 0, each restored ext4 passes e2fsck -fn;
- a Restore of the first Backup into another namespace with storageClassMapping to
  kbox-hostpath (the other driver): Completed, each claim of that class Bound, the
  replicas ready with their files (the first backup's: no changed file);
- claims restored alone (no pod to use them: WaitForFirstConsumer never fills them) with
  itemOperationTimeout 5s: each volume Failed with the reason, the Restore PartiallyFailed.
CI budget: 3 minutes.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import check, eq, finish, wait_until  # noqa: E402
import xferkit  # noqa: E402

T0 = time.time()
REF = "issue 15"
FERRY = xferkit.require(("nsenter", "e2fsck"))

APP, COPY, SYS = "shop", "shop-copy", "ferry-system"
NODES = ["node-a1", "node-a2", "node-b1"]
PASSWORD = "app-test-password"
MiB = 1 << 20
API = "/apis/ferry.io/v1alpha1"
LABELS = {"app": "shop"}
# README.md's strip list, and what a restore adds (the oracle: tests/cluster/striplist.py)
sys.path.insert(0, os.path.join(HERE, "..", "cluster"))
from striplist import ADDED, strip  # noqa: E402
OBJECTS = [("ConfigMap", "/api/v1/namespaces/{ns}/configmaps", "shop-config"),
           ("Secret", "/api/v1/namespaces/{ns}/secrets", "shop-db"),
           ("Service", "/api/v1/namespaces/{ns}/services", "db"),
           ("Deployment", "/apis/apps/v1/namespaces/{ns}/deployments", "front"),
           ("StatefulSet", "/apis/apps/v1/namespaces/{ns}/statefulsets", "db")]
# a replica writes its files once; one that finds them (restored) checks every sum and its name
SCRIPT = ('cd /data; if [ ! -f sums ]; then head -c 16777216 /dev/urandom > blob; echo "$POD_NAME" > who; '
          'mkdir -p dir; i=0; while [ $i -lt 5000 ]; do echo "$POD_NAME $i"; i=$((i + 1)); done > dir/lines; '
          'sha256sum blob who dir/lines > sums.tmp; sync; mv sums.tmp sums; sync; '
          'else sha256sum -c sums > checked || exit 1; test "$(cat who)" = "$POD_NAME" || exit 1; fi; '
          'exec sleep 100000')

env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "three-nodes-storage.yaml"), NODES, PASSWORD,
                  "ferry-app-")
REPO = "file://" + os.path.join(env.work, "repo")
get, create, items = env.get, env.create, env.items


def app_objects():
    lab = dict(LABELS)
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP, "labels": lab}}),
        ("/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "shop-config", "labels": lab, "annotations": {"note": "kept"}}, "data": {"greeting": "hello"}}),
        ("/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {
            "name": "scratch"}, "data": {"not": "selected"}}),
        ("/api/v1/namespaces/{ns}/secrets", {"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": {
            "name": "shop-db", "labels": lab}, "stringData": {"password": "s3cr3t"}}),
        ("/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "db", "labels": lab}, "spec": {"clusterIP": "None", "selector": {"app": "shop", "tier": "db"},
                                                    "ports": [{"port": 5432}]}}),
        ("/apis/apps/v1/namespaces/{ns}/deployments", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "front", "labels": lab}, "spec": {
            "replicas": 1, "selector": {"matchLabels": {"app": "shop", "tier": "front"}},
            "template": {"metadata": {"labels": {"app": "shop", "tier": "front"}, "annotations": {
                "pre.hook.backup.velero.io/command": '["/bin/sh", "-c", "sync"]'}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone",
                                                                 "operator": "In", "values": ["zone-b"]}]}]}}},
                "containers": [{"name": "front", "image": "busybox", "command": ["sleep", "100000"]}]}}}}),
        ("/apis/apps/v1/namespaces/{ns}/statefulsets", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {
            "name": "db", "labels": lab}, "spec": {
            "replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "shop", "tier": "db"}},
            "template": {"metadata": {"labels": {"app": "shop", "tier": "db"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "db", "image": "busybox", "command": ["sh", "-ec", SCRIPT],
                                "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
                                "readinessProbe": {"exec": {"command": ["test", "-f", "/data/sums"]},
                                                   "periodSeconds": 1},
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": lab}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
                "resources": {"requests": {"storage": "512Mi"}}}}]}}),
    ]


def ready(ns, timeout):
    sts = f"/apis/apps/v1/namespaces/{ns}/statefulsets/db"
    return wait_until(lambda: ((get(sts) or {}).get("status") or {}).get("readyReplicas") == 2, timeout, 0.2)


def pods_of(ns):
    return (get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items") or []


def holds(terms, node):
    """Whether @node satisfies one of the nodeSelectorTerms @terms (operator In)."""
    labels = dict(node["metadata"].get("labels") or {})
    fields = {"metadata.name": node["metadata"]["name"]}
    return any(all(labels.get(e["key"]) in e.get("values", []) for e in t.get("matchExpressions") or []) and
               all(fields.get(e["key"]) in e.get("values", []) for e in t.get("matchFields") or []) for t in terms)


def placed_well(ns):
    """(pod, whether its node satisfies its own required affinity and its claims' PVs')."""
    out = []
    for p in pods_of(ns):
        node = get(f"/api/v1/nodes/{p['spec'].get('nodeName')}") or {"metadata": {"name": ""}}
        terms = [(((p["spec"].get("affinity") or {}).get("nodeAffinity") or {}).get(
            "requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms")]
        for v in p["spec"].get("volumes") or []:
            if v.get("persistentVolumeClaim"):
                c = get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{v['persistentVolumeClaim']['claimName']}")
                pv = get(f"/api/v1/persistentvolumes/{((c or {}).get('spec') or {}).get('volumeName')}") or {}
                terms.append((((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required") or {}).get(
                    "nodeSelectorTerms"))
        ok = all(holds(t, node) for t in terms if t)
        out.append((p["metadata"]["name"], ok))
        if not ok:
            print(f"note: {p['metadata']['name']} on {node['metadata']['name']} "
                  f"{node['metadata'].get('labels')}: terms {terms}", flush=True)
    return sorted(out)


def world():
    """What bad input must leave as it was: the repository's files, the claims, snapshots and pods."""
    repo = sorted(os.path.relpath(os.path.join(d, f), REPO[7:]) for d, _, fs in os.walk(REPO[7:]) for f in fs)
    return (repo, sorted(items(f"/api/v1/namespaces/{ns}/persistentvolumeclaims") for ns in (APP, SYS)),
            items("/apis/snapshot.storage.k8s.io/v1/volumesnapshots"),
            items("/apis/snapshot.storage.k8s.io/v1/volumesnapshotcontents"),
            sorted(p["metadata"]["name"] for ns in (APP, SYS) for p in pods_of(ns)))


def write_beside(pod, claim, script):
    """A pod on @pod's node that runs @script on @claim at /data (beside the replica, which holds
    it: ReadWriteOnce is per node), then exits; deleted after."""
    create(f"/api/v1/namespaces/{APP}/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "writer"},
        "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In",
                                       "values": [pod["spec"]["nodeName"]]}]}]}}},
                 "containers": [{"name": "c", "image": "busybox", "command": ["sh", "-ec", script],
                                 "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": claim}}]}})
    wrote = wait_until(lambda: ((get(f"/api/v1/namespaces/{APP}/pods/writer") or {}).get("status") or {}).get(
        "phase") in ("Succeeded", "Failed") and get(f"/api/v1/namespaces/{APP}/pods/writer")["status"]["phase"],
        60, 0.2)
    eq(f"a pod beside {pod['metadata']['name']} wrote into {claim} (new random bytes and the new sums)", wrote,
       "Succeeded", REF)
    env.api.delete(f"/api/v1/namespaces/{APP}/pods/writer", {"gracePeriodSeconds": 0})
    wait_until(lambda: env.api.get(f"/api/v1/namespaces/{APP}/pods/writer")[0] == 404, 30, 0.1)


def du(path):
    return sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(path) for f in fs)


def backup(name, *args):
    return env.ferry("backup", "create", name, "-n", SYS, "--wait", *args, timeout=300)


def status(kind, name):
    return (get(f"{API}/namespaces/{SYS}/{kind}/{name}") or {}).get("status") or {}


try:
    # ------------------------------------------------------------ ferry, the repository, the application
    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests (the kustomization but the Deployment and the DaemonSet)",
       (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/restores")[0] == 200, 20, 0.1)
    r = env.ferry("init", "--repo", REPO)
    eq("ferry init of the file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
    create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": PASSWORD}})
    create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "wrong-password"}, "stringData": {"password": "not-" + PASSWORD}})
    for name, secret in (("default", "repo-password"), ("badpw", "wrong-password"), ("nopw", "no-such-secret")):
        create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                         "metadata": {"name": name},
                                                         "spec": {"url": REPO, "passwordSecret": {"name": secret}}})
    for n in NODES:
        env.start_agent(n)
    env.start_controller("app-test", "controller.log", extra=["--kube-api-qps", "100", "--kube-api-burst", "200"])
    check("ferry controller leads", wait_until(lambda: env.leader() == "app-test", 20, 0.1), None, None, REF)
    for path, obj in app_objects():
        create(path.format(ns=APP), obj)
    check("the application runs: both replicas wrote their files", ready(APP, 120),
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in pods_of(APP)], None, REF)
    orig = {k: get(f"{p.format(ns=APP)}/{n}") for k, p, n in OBJECTS}

    # ------------------------------------------------------------ the first backup, by label, with the CLI
    t = time.time()
    r = backup("shop-1", "-l", "app=shop", "--include-namespaces", APP)
    st1 = status("backups", "shop-1")
    print(f"note: shop-1: exit {r.returncode} in {time.time() - t:.1f} s; {r.stdout.strip()[-300:]} "
          f"{r.stderr.strip()[-300:]}", flush=True)
    eq("ferry backup create -l app=shop --include-namespaces shop --wait: exit 0, Completed, both volumes",
       (r.returncode, st1.get("phase"), st1.get("volumeSnapshotsCompleted"), st1.get("errors")),
       (0, "Completed", 2, 0), REF)
    hooks = [m for m in st1.get("warningMessages") or [] if "Velero backup hook annotations" in m]
    check("the front pod's Velero exec hook annotation is a warning of the Backup, not run",
          len(hooks) == 1 and "Pod shop/front-" in hooks[0], st1.get("warningMessages"), "one warning", REF)
    r = env.ferry("backup", "describe", "shop-1", "-n", SYS, "--repo", REPO, "-o", "json")
    rec = json.loads(r.stdout) if r.returncode == 0 else {}
    print("note: shop-1's record:", json.dumps({k: v for k, v in rec.items() if k != "volumes"})[:600])

    # ------------------------------------------------------------ a change, and the second backup
    db0 = next(p for p in pods_of(APP) if p["metadata"]["name"] == "db-0")
    CHANGED = 96 * MiB
    write_beside(db0, "data-db-0", f"head -c {CHANGED} /dev/urandom > /data/changed; cd /data; "
                                   "sha256sum blob who dir/lines changed > sums.tmp; sync; mv sums.tmp sums; sync")
    r = backup("shop-2", "-l", "app=shop", "--include-namespaces", APP)
    st2 = status("backups", "shop-2")
    ids = {v.get("snapshotId") for v in st2.get("volumes") or []}
    r2 = env.ferry("snapshots", "--repo", REPO, "--json")
    snaps = json.loads(r2.stdout) if r2.returncode == 0 else []
    snaps = snaps.get("snapshots", []) if isinstance(snaps, dict) else snaps
    raw_new = sum(s.get("bytes_new", 0) for s in snaps if s.get("id") in ids)
    # what the Backup stored anew (compressed and sealed), as its status says it
    stored = sum(v.get("bytesNew", 0) for v in st2.get("volumes") or [])
    print(f"note: shop-2: {json.dumps(st2.get('volumes'))[:900]}", flush=True)
    print(f"note: shop-2 stored {stored} new bytes for {CHANGED} changed: {stored / CHANGED:.3f}x (its snapshots' "
          f"manifests count {raw_new}: {raw_new / CHANGED:.3f}x)", flush=True)
    check("the Backup's status says per volume what its backup stored anew and how long it ran (its "
          "record's bytes_stored and milliseconds): db-0's change, next to nothing for db-1 (unchanged but "
          "for what a mounted ext4 writes)",
          sorted((v.get("pvc"), v.get("bytesNew", -1) >= CHANGED if v.get("pvc") == "data-db-0" else
                  0 <= v.get("bytesNew", -1) < MiB, v.get("milliseconds", 0) > 0)
                 for v in st2.get("volumes") or []) == [("data-db-0", True, True), ("data-db-1", True, True)] and
          all("bytesNew" in v for v in st2.get("volumes") or []),
          st2.get("volumes"), None, REF)
    r = env.ferry("backup", "describe", "shop-2", "-n", SYS, "--details")
    check("backup describe --details: each volume's new bytes, seconds and MB/s",
          r.returncode == 0 and len(re.findall(r"MB new, [0-9.]+ s, [0-9]+ MB/s", r.stdout)) == 2,
          (r.stdout[-800:], r.stderr[-300:]), None, REF)
    eq("the second Backup completes", (r.returncode, st2.get("phase")), (0, "Completed"), REF)
    check("it stores within 10 % of the bytes the test changed (96 MiB of random bytes in one claim)",
          CHANGED <= stored <= CHANGED * 1.10 if stored else None, stored, f"{CHANGED}..{int(CHANGED * 1.1)}", REF)

    # ------------------------------------------------------------ the controller, then an agent, killed mid-transfer
    # 160 MiB more into db-1's claim, the agents slowed to a few percent of a CPU so that the
    # transfer of that claim lasts seconds: the controller is killed once it is 25 % through, the
    # agent running it once it is further on (up to 75 %); both come back
    MORE = 160 * MiB
    db1 = next(p for p in pods_of(APP) if p["metadata"]["name"] == "db-1")
    write_beside(db1, "data-db-1", f"head -c {MORE} /dev/urandom > /data/more; cd /data; "
                                   "sha256sum blob who dir/lines more > sums.tmp; sync; mv sums.tmp sums; sync")
    env.throttle([env.agent_pid(n) for n in NODES], 4)
    du0 = du(REPO[7:])
    create(f"{API}/namespaces/{SYS}/backups", {"apiVersion": "ferry.io/v1alpha1", "kind": "Backup",
                                               "metadata": {"name": "shop-3"},
                                               "spec": {"includedNamespaces": [APP],
                                                        "labelSelector": {"matchLabels": LABELS}}})
    seen = {}  # the db-1 transfer: its last status

    def db1_vt():
        for vt in (get(f"{API}/namespaces/{SYS}/volumetransfers") or {}).get("items") or []:
            if (vt["spec"].get("source") or {}).get("persistentVolumeClaim") == "data-db-1" and \
                    vt["metadata"]["name"].startswith("bk-"):
                seen.update(name=vt["metadata"]["name"], status=vt.get("status") or {})
                return vt
        return None

    def through(lo):
        st = ((db1_vt() or {}).get("status") or {})
        f = st.get("bytesDone", 0) / st["bytesTotal"] if st.get("bytesTotal") else 0
        return f >= lo and st.get("phase") == "Running" and f
    f1 = wait_until(lambda: through(0.25), 120, 0.05)
    env.kill_controller()
    env.start_controller("app-test-2", "controller-2.log", extra=["--kube-api-qps", "100"])
    f2 = wait_until(lambda: through((f1 or 0.25) + 0.1), 120, 0.05)
    node = seen.get("status", {}).get("node")
    if node:
        env.kill_agent(node)
        time.sleep(1)
        env.start_agent(node)
    print(f"note: shop-3: the controller killed at {f1 or 0:.2f} of the transfer {seen.get('name')}, the agent of "
          f"{node} at {f2 or 0:.2f}", flush=True)
    check("the controller was killed, then the agent running the transfer, each 25-75 % through its bytes",
          f1 and f2 and 0.25 <= f1 <= 0.75 and 0.25 <= f2 <= 0.75 and node, (f1, f2, node), "0.25..0.75", REF)
    env.throttle([env.agent_pid(n) for n in NODES if n != node], None)
    st3 = wait_until(lambda: status("backups", "shop-3").get("phase") in (
        "Completed", "PartiallyFailed", "Failed") and (db1_vt() or True) and status("backups", "shop-3"), 180, 0.2) \
        or status("backups", "shop-3")
    last = seen.get("status") or {}
    print(f"note: shop-3: {st3.get('phase')}; the db-1 transfer's last status: "
          f"{json.dumps({k: v for k, v in last.items() if k not in ('journal', 'conditions', 'holder')})[:700]}",
          flush=True)
    eq("the Backup completes through both kills", (st3.get("phase"), st3.get("errors")), ("Completed", 0), REF)
    check("the resumed transfer reports bytes reused from its interrupted run", last.get("bytesReused", 0) > 0,
          last.get("bytesReused"), "> 0", REF)
    ids = {v.get("snapshotId") for v in st3.get("volumes") or [] if v.get("pvc") == "data-db-1"}
    r2 = env.ferry("snapshots", "--repo", REPO, "--json")
    snaps = json.loads(r2.stdout) if r2.returncode == 0 else []
    snaps = snaps.get("snapshots", []) if isinstance(snaps, dict) else snaps
    stored3 = sum(s.get("bytes_new", 0) for s in snaps if s.get("id") in ids)
    grew = du(REPO[7:]) - du0
    print(f"note: shop-3: the repository grew {grew} bytes; db-1's snapshot stores {stored3}: "
          f"{grew / max(stored3, 1):.3f}x", flush=True)
    # the killed agent's pack in flight resumes from its journal (the parts whose digest still
    # matches are kept: s3/store_file.c), so only the part it was writing is written again. The
    # change is MORE random bytes: what the repository must store for it, whichever run stored
    # it (the final run counts what the killed one stored as reused, not new)
    print(f"note: shop-3: the repository grew {grew / MORE:.3f}x the {MORE} bytes changed", flush=True)
    if node:
        log = open(os.path.join(env.work, f"agent-{node}.log"), errors="replace").read()
        print("note: the restarted agent: " + "; ".join(re.findall(r"resuming [^\n]*", log)[:3]), flush=True)
    check("the bytes written to the repository stay under 1.2x the bytes the change stores (the pack in "
          "flight resumed, not written again), records included",
          grew <= 1.2 * MORE, (grew, MORE, stored3, round(grew / MORE, 3)), "<= 1.2x", REF)
    # its log, composed by the controller that finished it, from the transfers' status
    r = env.ferry("backup", "logs", "shop-3", "-n", SYS)
    vol = {m.group(1): m for m in re.finditer(
        r'level=info msg="volume shop/(data-db-[01]): Completed on node (node-\w+): (\d+) bytes, (\d+) new, '
        r'(\d+) reused, ([0-9.]+) s, [0-9.]+ MB/s, snapshot ([0-9a-f]{64}), parent ', r.stdout)}
    snap3 = {v.get("pvc"): v.get("snapshotId") for v in st3.get("volumes") or []}
    print(f"note: shop-3's log ({len(r.stdout.splitlines())} lines): {r.stderr.strip()[-300:]}\n" +
          "\n".join("  " + x[:400] for x in r.stdout.splitlines()), flush=True)
    check("ferry backup logs shop-3 (a controller restarted mid-run): each volume's transfer Completed with its "
          "node, bytes, seconds and snapshot, db-1's reused bytes, the record, the end",
          r.returncode == 0 and sorted(vol) == ["data-db-0", "data-db-1"] and
          all(vol[p].group(7) == snap3.get(p) and float(vol[p].group(6)) > 0 for p in vol) and
          int(vol["data-db-1"].group(5)) > 0 and
          f"record {st3.get('recordId')}" in r.stdout and "backup ferry-system/shop-3 ended: Completed" in r.stdout,
          (r.returncode, r.stdout[-1500:], r.stderr[-300:]), None, REF)

    # ------------------------------------------------------------ bad input: a reason, exit 1, nothing changed
    before = world()
    r = backup("bad-nopw", "-l", "app=shop", "--include-namespaces", APP, "--storage-location", "nopw")
    eq("a Backup whose Repository names a missing password Secret: exit 1, FailedValidation, the Secret named",
       (r.returncode, status("backups", "bad-nopw").get("phase"), "no-such-secret" in r.stderr), (1,
                                                                                                  "FailedValidation",
                                                                                                  True), REF)
    print("note:", r.stderr.strip()[-300:])
    r = env.ferry("restore", "create", "bad-pw", "--from-backup", "shop-1", "-n", SYS, "--storage-location",
                  "badpw", "--namespace-mappings", f"{APP}:never", "--wait")
    eq("a Restore from a Repository with the wrong password: exit 1, FailedValidation, 'password' said",
       (r.returncode, status("restores", "bad-pw").get("phase"), "password" in r.stderr), (1, "FailedValidation",
                                                                                          True), REF)
    print("note:", r.stderr.strip()[-300:])
    create(f"{API}/namespaces/{SYS}/restores", {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                                "metadata": {"name": "bad-class"},
                                                "spec": {"backupName": "shop-1", "namespaceMapping": {APP: "never"},
                                                         "storageClassMapping": {"kbox-disk": "no-such-class"}}})
    st = wait_until(lambda: status("restores", "bad-class").get("phase") in ("FailedValidation", "Completed") and
                    status("restores", "bad-class"), 30, 0.2) or {}
    eq("a Restore whose storageClassMapping names a class that does not exist: FailedValidation naming it",
       (st.get("phase"), "no-such-class" in " ".join(st.get("validationErrors") or [])), ("FailedValidation", True),
       REF)
    r = backup("nothing", "-l", "app=nothing", "--include-namespaces", APP)
    st = status("backups", "nothing")
    eq("a selector that matches nothing: Completed, empty, no volume, a warning saying so",
       (r.returncode, st.get("phase"), (st.get("progress") or {}).get("itemsBackedUp", 0),
        st.get("volumeSnapshotsAttempted", 0), st.get("warnings", 0) >= 1), (0, "Completed", 0, 0, True), REF)
    print("note: nothing:", st.get("warningMessages"))
    after = world()
    # (the empty Backup's record is the one thing that may add to the repository)
    grown = sorted(set(after[0]) - set(before[0]))
    eq("the refused Backups and Restores changed nothing: no file of the repository gone, the claims, "
       "snapshots and pods as they were", (sorted(set(before[0]) - set(after[0])),) + after[1:],
       ([],) + before[1:], REF)
    check("... and the repository grew only by the empty Backup's record (a few files)", len(grown) <= 6, grown,
          None, REF)
    check("the never namespace of the refused Restores was not made", get("/api/v1/namespaces/never") is None,
          None, None, REF)

    # ------------------------------------------------------------ disaster, and the restore
    env.api.delete(f"/api/v1/namespaces/{APP}")
    check("the namespace shop is deleted, its claims and volumes with it",
          wait_until(lambda: get(f"/api/v1/namespaces/{APP}") is None, 120, 0.2), None, None, REF)
    t = time.time()
    r = env.ferry("restore", "create", "shop-r", "--from-backup", "shop-3", "-n", SYS, "--wait", timeout=300)
    rst = status("restores", "shop-r")
    print(f"note: shop-r: exit {r.returncode} in {time.time() - t:.1f} s; "
          f"{json.dumps({k: v for k, v in rst.items() if k != 'conditions'})[:1200]}", flush=True)
    eq("ferry restore create --from-backup shop-3 --wait: exit 0 once the claims are filled: Completed, each "
       "volume Completed, no error",
       (r.returncode, rst.get("phase"), rst.get("errors"), sorted((v.get("pvc"), v.get("phase")) for v in
                                                                  rst.get("volumes") or [])),
       (0, "Completed", 0, [("data-db-0", "Completed"), ("data-db-1", "Completed")]), REF)
    bad = []
    for kind, path, name in OBJECTS:
        got = get(f"{path.format(ns=APP)}/{name}")
        if not got:
            bad.append(f"{kind}: missing")
            continue
        if [(got["metadata"].get("labels") or {}).get(a) for a in ADDED] != ["shop-3", "shop-r"]:
            bad.append(f"{kind}: labels {got['metadata'].get('labels')}")
        if strip(got) != strip(orig[kind]):
            bad.append(f"{kind}: {json.dumps(strip(got))} != {json.dumps(strip(orig[kind]))}")
    eq("each restored object equals its original less exactly the strip list, with the backup's and the "
       "restore's names as labels", bad, [], "README.md: what a restore strips")
    eq("the ConfigMap without the label was not backed up, so not restored",
       get(f"/api/v1/namespaces/{APP}/configmaps/scratch"), None, REF)
    check("the restored replicas are ready: each checked every file's sum (db-0's changed file and db-1's "
          "file written before the interrupted backup too)",
          ready(APP, 120), [(p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in pods_of(APP)],
          None, REF)
    wait_until(lambda: len(pods_of(APP)) == 3 and all(
        (p.get("status") or {}).get("phase") == "Running" for p in pods_of(APP)), 60, 0.2)
    r = env.ferry("restore", "logs", "shop-r", "-n", SYS)
    print("note: shop-r's log:\n" + "\n".join("  " + x[:400] for x in r.stdout.splitlines()), flush=True)
    check("ferry restore logs shop-r: each volume filled, the end",
          r.returncode == 0 and len(re.findall(r'msg="volume shop/data-db-[01]: Completed: filled from its snapshot',
                                               r.stdout)) == 2 and
          "restore ferry-system/shop-r ended: Completed" in r.stdout,
          (r.returncode, r.stdout[-1200:], r.stderr[-300:]), None, REF)
    eq("every pod runs on a node that its affinity and its volume's allow (front in zone-b)", placed_well(APP),
       sorted([("db-0", True), ("db-1", True)] + [(p["metadata"]["name"], True) for p in pods_of(APP)
                                                  if p["metadata"]["name"].startswith("front-")]), REF)
    # scaled to 0, each restored volume unmounted: e2fsck of its file
    claims = {c["metadata"]["name"]: c["spec"]["volumeName"] for c in
              (get(f"/api/v1/namespaces/{APP}/persistentvolumeclaims") or {}).get("items") or []}
    env.api.patch(f"/apis/apps/v1/namespaces/{APP}/statefulsets/db", {"spec": {"replicas": 0}})
    wait_until(lambda: not [p for p in pods_of(APP) if p["metadata"]["name"].startswith("db-")], 60, 0.2)
    fsck = []
    for c in sorted(claims):
        img = env.volume_file(claims[c])
        gone = env.unmounted(img)
        r = subprocess.run(["e2fsck", "-fn", img], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        fsck.append((c, bool(gone), r.returncode))
        if r.returncode:
            print("note:", c, r.stdout[-600:])
    eq("each restored ext4 passes e2fsck -fn once unmounted", fsck,
       [(c, True, 0) for c in sorted(claims)], "e2fsck(8)")

    # ------------------------------------------------------------ into another namespace, the other driver
    create(f"{API}/namespaces/{SYS}/restores", {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                                "metadata": {"name": "shop-copy"},
                                                "spec": {"backupName": "shop-1", "namespaceMapping": {APP: COPY},
                                                         "storageClassMapping": {"kbox-disk": "kbox-hostpath"}}})
    t = time.time()
    st = wait_until(lambda: status("restores", "shop-copy").get("phase") in (
        "Completed", "PartiallyFailed", "Failed", "FailedValidation") and status("restores", "shop-copy"), 180,
        0.2) or status("restores", "shop-copy")
    print(f"note: shop-copy: {st.get('phase')} in {time.time() - t:.1f} s; "
          f"{json.dumps({k: v for k, v in st.items() if k != 'conditions'})[:1200]}", flush=True)
    eq("a Restore of shop-1 into shop-copy with storageClassMapping kbox-disk: kbox-hostpath completes",
       (st.get("phase"), st.get("errors")), ("Completed", 0), REF)
    eq("its claims are of kbox-hostpath (the other driver), Bound",
       sorted((c["metadata"]["name"], c["spec"].get("storageClassName"), (c.get("status") or {}).get("phase"))
              for c in (get(f"/api/v1/namespaces/{COPY}/persistentvolumeclaims") or {}).get("items") or []),
       [("data-db-0", "kbox-hostpath", "Bound"), ("data-db-1", "kbox-hostpath", "Bound")], REF)
    check("its replicas are ready, each having checked its files", ready(COPY, 120),
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in pods_of(COPY)], None, REF)
    eq("... each on a node its volume allows", [x for x in placed_well(COPY) if x[0].startswith("db-")],
       [("db-0", True), ("db-1", True)], REF)
    # claims restored without what would use them (WaitForFirstConsumer: never filled) and a 5 s
    # itemOperationTimeout: each volume Failed, saying why, the Restore PartiallyFailed
    create(f"{API}/namespaces/{SYS}/restores", {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                                "metadata": {"name": "shop-nopod"},
                                                "spec": {"backupName": "shop-1", "namespaceMapping": {APP: "nopod"},
                                                         "includedResources": ["persistentvolumeclaims"],
                                                         "itemOperationTimeout": "5s"}})
    st = wait_until(lambda: status("restores", "shop-nopod").get("phase") in (
        "Completed", "PartiallyFailed", "Failed", "FailedValidation") and status("restores", "shop-nopod"), 60,
        0.5) or status("restores", "shop-nopod")
    eq("claims no pod uses, itemOperationTimeout 5s: PartiallyFailed, each volume Failed saying why, an error each",
       (st.get("phase"), st.get("errors"), sorted((v.get("pvc"), v.get("phase"), "itemOperationTimeout 5s" in
                                                    (v.get("message") or "")) for v in st.get("volumes") or [])),
       ("PartiallyFailed", 2, [("data-db-0", "Failed", True), ("data-db-1", "Failed", True)]), REF)
    # a bound claim whose driver has no VolumeSnapshotClass: refused before anything is made
    VSC = "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses"
    hp = [c for c in (get(VSC) or {}).get("items") or [] if c.get("driver") == "hostpath.csi.kbox.io"]
    for c in hp:
        env.api.delete(f"{VSC}/{c['metadata']['name']}")
    wait_until(lambda: not [c for c in (get(VSC) or {}).get("items") or []
                            if c.get("driver") == "hostpath.csi.kbox.io"], 20, 0.2)
    before = world()
    r = backup("bad-noclass", "--include-namespaces", COPY)
    st = status("backups", "bad-noclass")
    after = world()
    print(f"note: bad-noclass: exit {r.returncode}: {r.stderr.strip()[-300:]}", flush=True)
    check("a Backup of claims whose driver has no VolumeSnapshotClass: FailedValidation naming the claim, the "
          "driver and the fix, a non-zero --wait exit, and the repository, claims, snapshots and pods as before",
          r.returncode != 0 and st.get("phase") == "FailedValidation" and
          "no VolumeSnapshotClass for its driver hostpath.csi.kbox.io" in (st.get("validationErrors") or [""])[0]
          and before == after, (r.returncode, st.get("phase"), st.get("validationErrors")), "refused", REF)
    for c in hp:
        c["metadata"] = {"name": c["metadata"]["name"], "labels": c["metadata"].get("labels") or {},
                         "annotations": c["metadata"].get("annotations") or {}}
        create(VSC, c)
    eq("the controller stops on SIGTERM with exit 0", env.stop_controller(), [0], "control/operator")
finally:
    env.close(REF)
print(f"note: {time.time() - T0:.1f} s in all")
finish()
