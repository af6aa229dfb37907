#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_zero: a Restore with scaleWorkloadsToZero, a migration's seed (issue 19).

The box of tests/kbox/three-nodes-storage.yaml (node-a1 and node-a2 in zone-a, node-b1 in
zone-b; kbox-disk binds WaitForFirstConsumer), ferry's manifests applied with kubectl,
`ferry controller` and one `ferry agent` per node as processes under their service accounts
(tests/xfer/xferkit.py), a file:// repository. The application, namespace src: a Deployment
front pinned to zone-b mounting the ext4 claim front-data, and a StatefulSet db of 2 whose
ext4 claims data-db-N hold files and their sums. Backed up; node-a1 cordoned; then
`ferry restore create --namespace-mappings src:dst --scale-workloads-to-zero --wait`:
- exit 0, Completed, each of the three volumes Completed (filled by the populator without a
  pod: the Restore chose each claim's node), no error;
- front and db at spec.replicas 0, ferry.io/restore-replicas "1" and "2";
- each claim's volume.kubernetes.io/selected-node is where the rules put it: data-db-0 in
  zone-a but not on the cordoned node-a1 (node-a2), data-db-1 in the other zone (node-b1),
  front-data where front's affinity allows (node-b1); each Bound, its PV in that node's zone;
- no pod of dst existed at any moment until then (a watch from before the Restore);
- `ferry restore describe` says "Scale workloads to zero: true";
- scaled back to the annotated counts, the replicas run on their claims' nodes and are ready
  only once each checked every file's sum (and a StatefulSet replica its own name);
- ClusterRole ferry-controller-restore-nodes: both its rules used by the controller (audit
  log); without its csinodes rule a Restore says the volume limits are not counted (and the
  box answered 403), without its binding one says no node was chosen, its claims created
  without one (403 for list nodes).
CI budget: 60 s.
"""
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
sys.path.insert(0, os.path.join(HERE, "..", "operator"))
import rbacproof  # noqa: E402
import xferkit  # noqa: E402
from kboxtest import check, eq, finish, wait_until  # noqa: E402

T0 = time.time()
REF = "issue 19: seed, the workloads at zero"
FERRY = xferkit.require(("nsenter",))

SRC, DST, SYS = "src", "dst", "ferry-system"
NODES = ["node-a1", "node-a2", "node-b1"]
PASSWORD = "zero-test-password"
API = "/apis/ferry.io/v1alpha1"
SA = "system:serviceaccount:ferry-system:ferry-controller"
SEL = "volume.kubernetes.io/selected-node"
# a replica writes its files once; one that finds them (restored) checks every sum (and, with
# WHO set, that the volume is its own), then says so in /data/ok (its readiness)
SCRIPT = ('cd /data; if [ ! -f sums ]; then head -c 2097152 /dev/urandom > blob; echo "$POD_NAME" > who; '
          'i=0; while [ $i -lt 2000 ]; do echo "$POD_NAME $i"; i=$((i + 1)); done > lines; '
          'sha256sum blob who lines > sums.tmp; sync; mv sums.tmp sums; sync; '
          'else sha256sum -c sums > checked || exit 1; '
          'if [ -n "$WHO" ]; then test "$(cat who)" = "$POD_NAME" || exit 1; fi; fi; '
          'touch ok; exec sleep 100000')

env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "three-nodes-storage.yaml"), NODES, PASSWORD,
                  "ferry-zero-")
REPO = "file://" + os.path.join(env.work, "repo")
get, create = env.get, env.create


def container(who):
    return [{"name": "c", "image": "busybox", "command": ["sh", "-ec", SCRIPT],
             "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}] +
             ([{"name": "WHO", "value": "1"}] if who else []),
             "readinessProbe": {"exec": {"command": ["test", "-f", "/data/ok"]}, "periodSeconds": 1},
             "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]


def claim_spec():
    # 512Mi: mke2fs makes 1 KiB blocks below that, which the box's 4 KiB loop devices do not
    # mount once restored (sparse: the transfers move the files, not the size)
    return {"accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
            "resources": {"requests": {"storage": "512Mi"}}}


def app():
    lab = {"app": "zero"}
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SRC}}),
        ("/api/v1/namespaces/{ns}/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "front-data"},
            "spec": claim_spec()}),
        ("/apis/apps/v1/namespaces/{ns}/deployments", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {
            "name": "front", "labels": lab}, "spec": {
            "replicas": 1, "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": {"app": "zero", "tier": "front"}},
            "template": {"metadata": {"labels": {"app": "zero", "tier": "front"}}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                    "nodeSelectorTerms": [{"matchExpressions": [{"key": "topology.kubernetes.io/zone",
                                                                 "operator": "In", "values": ["zone-b"]}]}]}}},
                "containers": container(False),
                "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "front-data"}}]}}}}),
        ("/apis/apps/v1/namespaces/{ns}/statefulsets", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {
            "name": "db", "labels": lab}, "spec": {
            "replicas": 2, "serviceName": "db", "podManagementPolicy": "Parallel",
            "selector": {"matchLabels": {"app": "zero", "tier": "db"}},
            "template": {"metadata": {"labels": {"app": "zero", "tier": "db"}}, "spec": {
                "terminationGracePeriodSeconds": 1, "containers": container(True)}},
            "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": claim_spec()}]}}),
    ]


def ready(ns, front=1, db=2, timeout=60):
    def ok():
        d = ((get(f"/apis/apps/v1/namespaces/{ns}/deployments/front") or {}).get("status") or {})
        s = ((get(f"/apis/apps/v1/namespaces/{ns}/statefulsets/db") or {}).get("status") or {})
        return d.get("readyReplicas", 0) == front and s.get("readyReplicas", 0) == db
    return wait_until(ok, timeout, 0.2)


def pods_of(ns):
    return (get(f"/api/v1/namespaces/{ns}/pods") or {}).get("items") or []


def claims_of(ns):
    return {c["metadata"]["name"]: c for c in (get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims") or {}).get(
        "items") or []}


def restore_status(name):
    return (get(f"{API}/namespaces/{SYS}/restores/{name}") or {}).get("status") or {}


def restore_over(name, timeout):
    return wait_until(lambda: restore_status(name).get("phase") in (
        "Completed", "PartiallyFailed", "Failed", "FailedValidation") and restore_status(name), timeout, 0.2) or \
        restore_status(name)


def pv_zone(pv):
    for t in (((pv or {}).get("spec") or {}).get("nodeAffinity") or {}).get("required", {}).get(
            "nodeSelectorTerms") or []:
        for e in t.get("matchExpressions") or []:
            if e.get("key") == "topology.kubernetes.io/zone":
                return e.get("values", [None])[0]
    return None


def zone_of(node):
    return ((get(f"/api/v1/nodes/{node}") or {}).get("metadata") or {}).get("labels", {}).get(
        "topology.kubernetes.io/zone")


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
    create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                     "metadata": {"name": "default"},
                                                     "spec": {"url": REPO, "passwordSecret": {"name": "repo-password"}}})
    for n in NODES:
        env.start_agent(n)
    env.start_controller("zero-test", "controller.log", extra=["--kube-api-qps", "100", "--kube-api-burst", "200"])
    for path, obj in app():
        create(path.format(ns=SRC), obj)
    check("ferry controller leads", wait_until(lambda: env.leader() == "zero-test", 20, 0.1), None, None, REF)
    check("the application runs: front and both replicas wrote their files", ready(SRC),
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in pods_of(SRC)], None, REF)
    print(f"note: {time.time() - T0:.1f} s: the application is ready", flush=True)

    # ------------------------------------------------------------ the backup (the seed's)
    r = env.ferry("backup", "create", "seed", "-n", SYS, "--include-namespaces", SRC, "--wait", timeout=120)
    st = (get(f"{API}/namespaces/{SYS}/backups/seed") or {}).get("status") or {}
    eq("ferry backup create seed --include-namespaces src --wait: Completed with the three volumes",
       (r.returncode, st.get("phase"), sorted(v.get("pvc") for v in st.get("volumes") or [])),
       (0, "Completed", ["data-db-0", "data-db-1", "front-data"]), REF)
    print(f"note: {time.time() - T0:.1f} s: backed up", flush=True)

    # ------------------------------------------------------------ the restore, workloads at zero
    env.api.patch("/api/v1/nodes/node-a1", {"spec": {"unschedulable": True}})
    seen = []
    stop_watch = __import__("threading").Event()
    env.watch(f"/api/v1/namespaces/{DST}/pods", lambda o: seen.append(o.get("metadata", {}).get("name")),
              stop_watch)
    audit0 = len(env.box.audit())
    t = time.time()
    r = env.ferry("restore", "create", "seed-r", "--from-backup", "seed", "-n", SYS, "--namespace-mappings",
                  f"{SRC}:{DST}", "--scale-workloads-to-zero", "--wait", timeout=120)
    rst = restore_status("seed-r")
    print(f"note: seed-r: exit {r.returncode} in {time.time() - t:.1f} s: {r.stderr.strip()[-300:]} "
          f"{json.dumps({k: v for k, v in rst.items() if k != 'conditions'})[:1500]}", flush=True)
    eq("ferry restore create --scale-workloads-to-zero --wait: exit 0 once every claim is filled without a pod: "
       "Completed, each volume Completed, no error",
       (r.returncode, rst.get("phase"), rst.get("errors"),
        sorted((v.get("pvc"), v.get("phase")) for v in rst.get("volumes") or [])),
       (0, "Completed", 0, [("data-db-0", "Completed"), ("data-db-1", "Completed"), ("front-data", "Completed")]),
       REF)
    dep = get(f"/apis/apps/v1/namespaces/{DST}/deployments/front") or {}
    sts = get(f"/apis/apps/v1/namespaces/{DST}/statefulsets/db") or {}
    eq("front and db restored at spec.replicas 0, the backup's counts in ferry.io/restore-replicas",
       [((o.get("spec") or {}).get("replicas"), ((o.get("metadata") or {}).get("annotations") or {}).get(
           "ferry.io/restore-replicas")) for o in (dep, sts)], [(0, "1"), (0, "2")], REF)
    claims = claims_of(DST)
    chosen = {n: (c["metadata"].get("annotations") or {}).get(SEL) for n, c in claims.items()}
    eq("each claim's node as the rules put it: db's replicas spread over the zones (node-a1 cordoned: "
       "node-a2), front's where its affinity allows (zone-b)", chosen,
       {"data-db-0": "node-a2", "data-db-1": "node-b1", "front-data": "node-b1"}, REF)
    eq("each claim Bound, its volume in its chosen node's zone",
       sorted((n, (c.get("status") or {}).get("phase"),
               pv_zone(get(f"/api/v1/persistentvolumes/{c['spec'].get('volumeName')}")) == zone_of(chosen[n]))
              for n, c in claims.items()),
       [(n, "Bound", True) for n in sorted(chosen)], REF)
    eq("no pod of the restored workloads existed at any moment (a watch of dst from before the Restore)",
       sorted(set(n for n in seen if n)) + [p["metadata"]["name"] for p in pods_of(DST)], [], REF)
    r = env.ferry("restore", "describe", "seed-r", "-n", SYS)
    check("ferry restore describe says the Restore scaled the workloads to zero",
          r.returncode == 0 and "Scale workloads to zero: true" in r.stdout, (r.returncode, r.stdout[-800:]),
          None, REF)
    print(f"note: {time.time() - T0:.1f} s: restored at zero", flush=True)

    # ------------------------------------------------------------ the cutover's part: scaled back
    stop_watch.set()
    for path, o in ((f"/apis/apps/v1/namespaces/{DST}/deployments/front", dep),
                    (f"/apis/apps/v1/namespaces/{DST}/statefulsets/db", sts)):
        env.api.patch(path, {"spec": {"replicas": int(o["metadata"]["annotations"]["ferry.io/restore-replicas"])}})
    check("scaled back to the annotated counts, the replicas are ready: each checked every file's sum "
          "(db's its own name too)", ready(DST),
          [(p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in pods_of(DST)], None, REF)
    if not ready(DST, timeout=0.1):  # what the pods wait for
        for p in pods_of(DST):
            print("note: pod", p["metadata"]["name"], p["spec"].get("nodeName"),
                  json.dumps(p.get("status"))[:800], flush=True)
        for e in (get(f"/api/v1/namespaces/{DST}/events") or {}).get("items") or []:
            print("note: event:", (e.get("involvedObject") or {}).get("name"), e.get("reason"),
                  (e.get("message") or "")[-400:], flush=True)
    on = {}
    for p in pods_of(DST):
        vol = next((v["persistentVolumeClaim"]["claimName"] for v in p["spec"].get("volumes") or []
                    if v.get("persistentVolumeClaim")), None)
        on[vol] = p["spec"].get("nodeName")
    eq("each replica runs on the node chosen for its claim", on, chosen, REF)
    print(f"note: {time.time() - T0:.1f} s: scaled back", flush=True)

    # ------------------------------------------------------------ the rules of ferry-controller-restore-nodes
    import yaml
    docs = [d for d in yaml.safe_load_all(open(os.path.join(xferkit.DEPLOY, "restore-rbac.yaml"))) if d]
    rules = [r_ for r_ in rbacproof.rules_of(docs) if r_.role == "ferry-controller-restore-nodes"]
    aud = [a for a in env.box.audit()[audit0:] if a.get("user") == SA]
    eq("each rule of ClusterRole ferry-controller-restore-nodes was used by the controller (list nodes, list "
       "csinodes)", [f"{rule}: {need}" for rule in rules for need in rule.needs()
                     if not rbacproof.covered(rule, need, aud)], [], "issue 12 §3: least privilege")
    csi_rule = next(r_ for r_ in rules if "csinodes" in r_.resources)
    rbacproof.put_role(env.api, rbacproof.variants(csi_rule)[0][2])
    mark = len(env.box.audit())
    create(f"{API}/namespaces/{SYS}/restores", {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                                "metadata": {"name": "no-csinodes"},
                                                "spec": {"backupName": "seed", "namespaceMapping": {SRC: "dst2"},
                                                         "scaleWorkloadsToZero": True}})
    st = restore_over("no-csinodes", 60)
    refused = {(a.get("verb"), a.get("resource")) for a in env.box.audit()[mark:]
               if a.get("code") == 403 and a.get("user") == SA}
    check("without the csinodes rule (403 list csinodes) the Restore completes and warns that the volume "
          "limits are not counted",
          st.get("phase") == "Completed" and ("list", "csinodes") in refused and
          any("volume limits are not counted" in m for m in st.get("warningMessages") or []),
          (st.get("phase"), sorted(refused), st.get("warningMessages")), None, "restore-rbac.yaml")
    env.api.delete("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/ferry-controller-restore-nodes")
    mark = len(env.box.audit())
    create(f"{API}/namespaces/{SYS}/restores", {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                                "metadata": {"name": "no-nodes"},
                                                "spec": {"backupName": "seed", "namespaceMapping": {SRC: "dst3"},
                                                         "scaleWorkloadsToZero": True,
                                                         "itemOperationTimeout": "2s"}})
    st = restore_over("no-nodes", 30)
    refused = {(a.get("verb"), a.get("resource")) for a in env.box.audit()[mark:]
               if a.get("code") == 403 and a.get("user") == SA}
    check("without ferry-controller-restore-nodes (403 list nodes) the Restore warns that no node was chosen, "
          "its claims are created without one and wait (itemOperationTimeout 2s: PartiallyFailed)",
          st.get("phase") == "PartiallyFailed" and ("list", "nodes") in refused and
          any("no node chosen for the claims" in m for m in st.get("warningMessages") or []) and
          not [c for c in claims_of("dst3").values() if SEL in (c["metadata"].get("annotations") or {})],
          (st.get("phase"), sorted(refused), st.get("warningMessages")), None, "restore-rbac.yaml")
    env.api.patch("/api/v1/nodes/node-a1", {"spec": {"unschedulable": False}})
    eq("the controller stops on SIGTERM with exit 0", env.stop_controller(), [0], "control/operator")
finally:
    env.close(REF)
print(f"note: {time.time() - T0:.1f} s in all")
finish()
