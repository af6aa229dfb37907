# SPDX-License-Identifier: MIT
"""t_objects_kbox: a namespace's objects collected by label, the namespace deleted, and the
objects restored from the collected JSON lines (control/cluster: collect.c, restore_plan.c,
restore_apply.c), on the box's API server or a real cluster (FERRY_TEST_KUBECONFIG).

- a Deployment, a Service, a ConfigMap, a Secret and a PVC (of a storage class that does not
  exist, so it stays Pending on any box) and a custom resource carry the test's label; a
  ConfigMap without it and one with velero.io/exclude-from-backup=true are left out; the
  Namespace and the custom resource's CRD come along, and the CRD is deleted with the
  namespace, so the restore makes it first and waits until it is served;
- each restored object equals its original after removing exactly the fields that
  control/cluster/README.md lists (the STRIP table below is that list, written here again as
  the oracle), and carries the ferry.io/backup-name and ferry.io/restore-name labels;
- restored again with namespaceMapping into another namespace: the same, there;
- once more there: existingResourcePolicy none skips what exists (and says when it is the
  same), update puts a changed ConfigMap back;
- a malformed line fails the restore before anything is created.
Usage: t_objects_kbox.py PROBE (tests/cluster/t_objects_probe). Exit 0, 1, 77 or 99.
"""
import json
import os
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import Box, check, eq, finish, wait_until  # noqa: E402

PROBE = sys.argv[1]
REF = "control/cluster/README.md (Restore: what is stripped)"

# The strip list of control/cluster/README.md (the oracle: tests/cluster/striplist.py)
from striplist import ADDED, strip  # noqa: E402


def probe(args, stdin=None):
    r = subprocess.run([PROBE] + args, input=stdin, capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, KUBECONFIG=box.kubeconfig))
    return r.returncode, r.stdout, r.stderr


box = Box()
c = box.admin
label = "objs-" + uuid.uuid4().hex[:8]
ns = box.namespace("objs")
ns2 = ns + "-m"
core = f"/api/v1/namespaces/{ns}"
L = {"app": label}

objs = {
    ("Deployment", "web"): (f"/apis/apps/v1/namespaces/{ns}/deployments", {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": "web", "labels": L, "annotations": {"team": "a"}},
        "spec": {"replicas": 0, "selector": {"matchLabels": L},
                 "template": {"metadata": {"labels": L},
                              "spec": {"containers": [{"name": "c", "image": "ferry:test"}]}}}}),
    ("Service", "web"): (f"{core}/services", {
        "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web", "labels": L},
        "spec": {"selector": L, "ports": [{"port": 80, "targetPort": 8080}]}}),
    ("ConfigMap", "conf"): (f"{core}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "conf", "labels": L},
        "data": {"a.txt": "hello"}}),
    ("Secret", "cred"): (f"{core}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cred", "labels": L},
        "type": "Opaque", "data": {"p": "c2VjcmV0"}}),
    ("PersistentVolumeClaim", "data"): (f"{core}/persistentvolumeclaims", {
        "apiVersion": "v1", "kind": "PersistentVolumeClaim",
        "metadata": {"name": "data", "labels": L},
        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "ferry-test-none",
                 "resources": {"requests": {"storage": "1Gi"}}}}),
}
left_out = {
    "plain": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "plain"}},
    "excluded": {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "excluded",
                              "labels": dict(L, **{"velero.io/exclude-from-backup": "true"})}},
}
# a custom resource: its CRD comes along (cluster-scoped, related), and is restored first
group = f"{label}.ferry-test.io"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": f"widgets.{group}", "labels": L},
       "spec": {"group": group, "scope": "Namespaced",
                "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
                "versions": [{"name": "v1", "served": True, "storage": True,
                              "schema": {"openAPIV3Schema": {
                                  "type": "object", "x-kubernetes-preserve-unknown-fields": True}}}]}}
code, _, b = c.post(CRDS, crd)
if code != 201 or not wait_until(lambda: c.get(f"/apis/{group}/v1")[0] == 200, timeout=30):
    print(f"ERROR: creating the CRD: {code} {b}")
    sys.exit(99)
objs[("CustomResourceDefinition", f"widgets.{group}")] = (CRDS, None)
objs[("Widget", "w1")] = (f"/apis/{group}/v1/namespaces/{ns}/widgets", {
    "apiVersion": f"{group}/v1", "kind": "Widget", "metadata": {"name": "w1", "labels": L},
    "spec": {"size": 3}})
for (kind, name), (path, body) in objs.items():
    if body is None:
        continue
    code, _, b = c.post(path, body)
    if code != 201:
        print(f"ERROR: creating {kind} {name}: {code} {b}")
        sys.exit(99)
for name, body in left_out.items():
    code, _, b = c.post(f"{core}/configmaps", body)
    if code != 201:
        print(f"ERROR: creating ConfigMap {name}: {code} {b}")
        sys.exit(99)
time.sleep(1)  # controllers settle (a Deployment's status, the revision annotation)

# ---- collect by label
spec = {"labelSelector": {"matchLabels": L}, "includedNamespaces": [ns]}
rc, out, err = probe(["collect", json.dumps(spec)])
if rc != 0:
    print(f"ERROR: collect failed: {err}")
    sys.exit(99)
lines = [json.loads(x) for x in out.splitlines()]
got = {(o["kind"], o["metadata"]["name"]) for o in lines}
originals = {}
for (kind, name), (path, _) in objs.items():
    code, _, o = c.get(f"{path}/{name}")
    originals[(kind, name)] = o
    check(f"collect by label takes the {kind}", (kind, name) in got, sorted(got), (kind, name),
          "resource-filtering.md --selector")
check("the CRD of a custom resource in scope comes along", ("CustomResourceDefinition",
      f"widgets.{group}") in got, sorted(got), None, "velero#2673")
check("the namespace of the objects comes along", ("Namespace", ns) in got, sorted(got),
      ("Namespace", ns), "resource-filtering.md: namespaces of the items backed up")
check("an object without the label is left out", ("ConfigMap", "plain") not in got, sorted(got),
      None, "resource-filtering.md --selector")
check("velero.io/exclude-from-backup=true is left out even with the label",
      ("ConfigMap", "excluded") not in got, sorted(got), None, "resource-filtering.md")
check("nothing from other namespaces", all(o["metadata"].get("namespace", ns) == ns for o in lines),
      sorted(got), None, "resource-filtering.md --include-namespaces")
vols = [json.loads(x[len("VOLUME "):]) for x in err.splitlines() if x.startswith("VOLUME ")]
eq("one volume per PVC taken, and a Pending PVC is no snapshot",
   [(v["pvc"], v["snapshottable"]) for v in vols], [("data", False)], "issue 15")
check("a warning names the PVC that is not bound",
      any("data" in x and "not bound" in x for x in err.splitlines() if x.startswith("WARNING")),
      err, "not bound", "issue 15: a warning per volume that cannot be snapshotted")
check("lines are the objects as served (status and all)",
      all("resourceVersion" in o["metadata"] for o in lines), None, None, "cluster.h COLLECTION")

# ---- a selection that matches nothing, and a resource name that names nothing: warnings
rc, o2, e2 = probe(["collect", json.dumps({"labelSelector": {"matchLabels": {"app": label + "-none"}},
                                           "includedNamespaces": [ns]})])
eq("a selector that matches nothing: no object, a warning, no failure",
   (rc, o2, "matched no object" in e2), (0, "", True), "issue 15: bad input")
rc, o2, e2 = probe(["collect", json.dumps({"includedResources": ["configmaps", "nosuchthings"],
                                           "labelSelector": {"matchLabels": L},
                                           "includedNamespaces": [ns]})])
eq("includedResources: only those, and a warning for a name that is no resource",
   (rc, sorted(json.loads(x)["metadata"]["name"] for x in o2.splitlines() if
               json.loads(x)["kind"] == "ConfigMap"), "nosuchthings" in e2),
   (0, ["conf"], True), "resource-filtering.md --include-resources")

# ---- a malformed line: refused before anything is created
rc, out2, err2 = probe(["restore", json.dumps({"namespaceMapping": {ns: ns2}})],
                       out + "{\"kind\":\"ConfigMap\"}\n")
check("a malformed line fails the restore with its line number",
      rc == 1 and f"line {len(lines) + 1}:" in err2 and not out2, (rc, err2, out2), None,
      "COMMON.md: bad input, clear error")
code, _, _ = c.get(f"/api/v1/namespaces/{ns2}")
eq("...and nothing was created", code, 404, "COMMON.md: loses no data")

# ---- delete the namespace, restore
c.delete(f"/api/v1/namespaces/{ns}")
c.delete(f"{CRDS}/widgets.{group}")
if not wait_until(lambda: c.get(f"/api/v1/namespaces/{ns}")[0] == 404 and
                  c.get(f"{CRDS}/widgets.{group}")[0] == 404, timeout=60, step=0.5):
    print("ERROR: the namespace and the CRD were not deleted within 60 s")
    sys.exit(99)


def restore(opts, name):
    rc, out, err = probe(["restore", json.dumps(opts), name], out_lines)
    if rc != 0:
        print(f"ERROR: restore failed: {err}")
        sys.exit(99)
    return [json.loads(x) for x in out.splitlines()]


def compare(target, restore_name, what):
    for (kind, name), o in originals.items():
        if kind == "CustomResourceDefinition" and target != ns:
            continue  # restored once: it existed at the mapped restore
        path = objs[(kind, name)][0].replace(f"/namespaces/{ns}/", f"/namespaces/{target}/")
        code, _, r = c.get(f"{path}/{name}")
        if not eq(f"{what}: the {kind} exists", code, 200, REF):
            continue
        eq(f"{what}: the {kind} carries the backup's and the restore's names",
           [r["metadata"].get("labels", {}).get(a) for a in ADDED], ["b1", restore_name], REF)
        want = strip(o)
        if "namespace" in want["metadata"]:
            want["metadata"]["namespace"] = target
        eq(f"{what}: the {kind} equals its original less the strip list", strip(r), want, REF)


out_lines = out
res = restore({"backupName": "b1"}, "r1")
outcomes = {(x["kind"], x["name"]): x["outcome"] for x in res}
eq("every object collected has an outcome", len(res), len(lines), "cluster.h APPLYING A PLAN")
check("every object is created", all(v == "Created" for v in outcomes.values()), outcomes, None,
      "cluster.h APPLYING A PLAN")
tiers = [x["tier"] for x in res]
FIRST = ["CustomResourceDefinition", "Namespace", "PersistentVolumeClaim", "Secret", "ConfigMap",
         "Service"]
kinds = [x["kind"] for x in res]  # a real cluster's controllers may add a ReplicaSet
eq("outcomes come tier by tier: the CRD, the Namespace, the PVC, the Secret, the ConfigMap, the "
   "Service, then the rest", ([k for k in kinds if k in FIRST],
                              sorted(k for k in kinds[kinds.index("Service") + 1:])),
   (FIRST, ["Deployment", "Widget"]), "config.go defaultRestorePriorities")
check("tiers never go back", tiers == sorted(tiers), tiers, None, "restore priorities")
compare(ns, "r1", "restore")

# ---- again into another namespace
res = restore({"backupName": "b1", "namespaceMapping": {ns: ns2}}, "r2")
check("with namespaceMapping every object is created (the CRD exists: skipped, the same)",
      all(x["outcome"] == ("SkippedExists" if x["kind"] == "CustomResourceDefinition" else "Created")
          for x in res), res, None, "restore-reference.md")
check("...in the mapped namespace", all(x["namespace"] in ("", ns2) for x in res) and
      any(x["kind"] == "Namespace" and x["name"] == ns2 for x in res), res, None,
      "restore-reference.md --namespace-mappings")
compare(ns2, "r2", "namespaceMapping")

# ---- existing objects: none skips, update patches
res = restore({"backupName": "b1", "namespaceMapping": {ns: ns2}}, "r2")
check("existingResourcePolicy none: every object that exists is skipped",
      all(x["outcome"] == "SkippedExists" for x in res), res, None, "restore-reference.md")
same = {x["name"] for x in res if "the same" in x["reason"]}
check("...and says so when it equals the backup's", {"conf", "cred"} <= same, same, None,
      "restore.go: no warning for an identical object")
c.patch(f"/api/v1/namespaces/{ns2}/configmaps/conf", {"data": {"a.txt": "changed"}})
res = restore({"backupName": "b1", "namespaceMapping": {ns: ns2}}, "r2")
eq("none leaves the changed ConfigMap as it is",
   c.get(f"/api/v1/namespaces/{ns2}/configmaps/conf")[2]["data"], {"a.txt": "changed"},
   "restore-reference.md")
check("...with a warning that it differs",
      any(x["name"] == "conf" and "differs" in x["reason"] for x in res), res, None,
      "restore-reference.md")
res = restore({"backupName": "b1", "namespaceMapping": {ns: ns2},
               "existingResourcePolicy": "update"}, "r2")
eq("update: the ConfigMap is patched back to the backup's content",
   (c.get(f"/api/v1/namespaces/{ns2}/configmaps/conf")[2]["data"],
    [x["outcome"] for x in res if x["name"] == "conf"]), ({"a.txt": "hello"}, ["Updated"]),
   "restore-reference.md --existing-resource-policy=update")

c.delete(f"/api/v1/namespaces/{ns}")
c.delete(f"/api/v1/namespaces/{ns2}")
c.delete(f"{CRDS}/widgets.{group}")
finish()
