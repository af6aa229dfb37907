#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The box's REST semantics, checked over raw HTTPS against kube-apiserver's documented behaviour.

Each check names the behaviour and its source: CONTROLPLANE.md §6 (facts a client
relies on) or the Kubernetes API reference / API concepts pages (kubernetes.io
"API Concepts", "Server-Side Apply", "Garbage Collection"). Runs in a namespace of
its own on the shared box, or on a real cluster when FERRY_TEST_KUBECONFIG is set
(the box-only parts, marked, are skipped there).
"""
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, wait_until  # noqa: E402

AC = "kubernetes.io API Concepts"
SSA = "kubernetes.io Server-Side Apply"
GC = "kubernetes.io Garbage Collection"
box = Box()
c = box.admin
ns = box.namespace("rest")
CM = f"/api/v1/namespaces/{ns}/configmaps"
DEP = f"/apis/apps/v1/namespaces/{ns}/deployments"


def cm(name, data=None, **meta):
    m = {"name": name} if name else {}
    m.update(meta)
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": m, "data": data or {"a": "1"}}


def deployment(name, replicas=1, labels=None):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox:1.36",
                                                           "env": [{"name": "A", "value": "1"}]}]}}}}


# ---- create, server-set metadata (§6.3; API reference ObjectMeta)
code, _, a = c.post(CM, cm("a"))
eq("create answers 201 Created", code, 201, AC)
m = a["metadata"]
check("create sets metadata.uid", bool(m.get("uid")), m)
check("create sets a numeric string resourceVersion", m.get("resourceVersion", "").isdigit(), m, ref=AC)
check("create sets creationTimestamp (RFC 3339, UTC)", m.get("creationTimestamp", "").endswith("Z"), m)
eq("namespace comes from the URL", m.get("namespace"), ns)
code, _, b = c.post(CM, cm("b"))
check("resourceVersion is one cluster-wide counter: a later write has a larger RV",
      int(b["metadata"]["resourceVersion"]) > int(m["resourceVersion"]), (m["resourceVersion"], b["metadata"]["resourceVersion"]), ref=AC)
code, _, g = c.post(CM, cm(None, generateName="gen-"))
check("generateName: the server appends 5 random characters",
      code == 201 and g["metadata"]["name"].startswith("gen-") and len(g["metadata"]["name"]) == 9, g.get("metadata"),
      ref="API reference ObjectMeta.generateName")
code, _, body = c.post(CM, cm("a"))
eq("create of an existing name: 409 AlreadyExists", (code, body.get("reason")), (409, "AlreadyExists"), "§6.3")
eq("AlreadyExists message names the resource", body.get("message"), 'configmaps "a" already exists', "§6.4")
eq("AlreadyExists details", body.get("details"), {"name": "a", "kind": "configmaps"}, "§6.4")
code, _, body = c.post(CM, cm("x", namespace="other"))
eq("body namespace differs from the URL's: 400 BadRequest", (code, body.get("reason")), (400, "BadRequest"), "§7.2 item 2")
code, _, body = c.post(CM, cm("Bad_Name"))
eq("invalid name: 422 Invalid", (code, body.get("reason")), (422, "Invalid"), "§6.4")
eq("422 cause names metadata.name", [x.get("field") for x in body.get("details", {}).get("causes", [])], ["metadata.name"])
code, _, body = c.post(f"/api/v1/namespaces/nope-{ns}/configmaps", cm("x"))
eq("create in a missing namespace: 404 NotFound naming the namespace", (code, body.get("message")),
   (404, f'namespaces "nope-{ns}" not found'), AC)
code, _, body = c.get(CM + "/missing")
eq("get of a missing object: 404 NotFound", (code, body.get("reason"), body.get("message")),
   (404, "NotFound", 'configmaps "missing" not found'), "§6.4")
code, _, body = c.put(CM, cm("a"))
eq("PUT on a collection: 405 MethodNotAllowed", (code, body.get("reason")), (405, "MethodNotAllowed"), "§7.2 item 2")
code, _, body = c.post(CM, "{not json", ct="application/json")
eq("a body that does not parse: 400", code, 400)
code, _, body = c.post(CM, cm("ct"), ct="text/csv")
eq("an unknown request media type: 415", (code, body.get("reason")), (415, "UnsupportedMediaType"), AC)

# ---- update, optimistic concurrency, generation (§6.3)
code, _, a2 = c.put(CM + "/a", dict(cm("a", {"a": "2"}), metadata=dict(a["metadata"])))
eq("PUT with the current resourceVersion: 200", code, 200, "§6.3")
check("an update takes a new resourceVersion", int(a2["metadata"]["resourceVersion"]) > int(a["metadata"]["resourceVersion"]))
code, _, body = c.put(CM + "/a", dict(cm("a", {"a": "3"}), metadata=dict(a["metadata"])))
eq("PUT with a stale resourceVersion: 409 Conflict", (code, body.get("reason")), (409, "Conflict"), "§6.3")
eq("Conflict message", body.get("message"), 'Operation cannot be fulfilled on configmaps "a": the object has been '
   'modified; please apply your changes to the latest version and try again', "§6.3")
code, _, body = c.put(CM + "/a", cm("zzz"))
eq("PUT whose body names another object: 400 BadRequest", (code, body.get("reason")), (400, "BadRequest"), "§7.2 item 2")
code, _, same = c.put(CM + "/a", dict(cm("a", {"a": "2"}), metadata={"name": "a", "resourceVersion": a2["metadata"]["resourceVersion"]}))
eq("an update that changes nothing keeps the resourceVersion (no write)", same["metadata"]["resourceVersion"],
   a2["metadata"]["resourceVersion"], AC)
code, _, d = c.post(DEP, deployment("d1"))
eq("a Deployment starts at generation 1", d["metadata"].get("generation"), 1, "API reference ObjectMeta.generation")
code, _, d2 = c.patch(DEP + "/d1", {"metadata": {"labels": {"x": "y"}}})
eq("a metadata-only change keeps generation", d2["metadata"].get("generation"), 1, "§6.3")
code, _, d3 = c.patch(DEP + "/d1", {"spec": {"replicas": 2}})
eq("a spec change bumps generation", d3["metadata"].get("generation"), 2, "§6.3")
code, _, d4 = c.patch(DEP + "/d1", {"status": {"replicas": 9}})
check("a write to the main resource ignores status", (d4.get("status") or {}).get("replicas") != 9, d4.get("status"), ref="§6.3")
code, _, d5 = c.patch(DEP + "/d1/status", {"status": {"replicas": 2}, "spec": {"replicas": 7}})
eq("a write to /status changes status", d5.get("status", {}).get("replicas"), 2, "§6.3")
eq("a write to /status ignores spec", d5["spec"]["replicas"], 2, "§6.3")
eq("a write to /status keeps generation", d5["metadata"]["generation"], 2, "§6.3")

# ---- scale subresource (§6.3)
code, _, sc = c.get(DEP + "/d1/scale")
eq("GET /scale answers an autoscaling/v1 Scale", (code, sc.get("apiVersion"), sc.get("kind")), (200, "autoscaling/v1", "Scale"), "§6.3")
eq("Scale.spec.replicas mirrors the Deployment", sc["spec"].get("replicas"), 2, "§6.3")
eq("Scale.status.selector is the label selector as a string", sc["status"].get("selector"), "app=d1", "§6.3 (HPA needs the string)")
code, _, sc2 = c.patch(DEP + "/d1/scale", {"spec": {"replicas": 5}})
eq("kubectl scale's merge patch on /scale sets replicas", (code, sc2["spec"].get("replicas")), (200, 5), "§6.3")
code, _, d6 = c.get(DEP + "/d1")
eq("the Deployment's spec.replicas follows /scale", d6["spec"]["replicas"], 5, "§6.3")
code, _, body = c.put(DEP + "/d1/scale", dict(sc, spec={"replicas": 1}))
eq("PUT /scale with a stale resourceVersion: 409", code, 409, "§6.3")
code, _, d7 = c.get(DEP + "/d1")
scale_mf = [e for e in d7["metadata"].get("managedFields", []) if e.get("subresource") == "scale"]
eq("a write through /scale is recorded in the parent's managedFields with subresource scale",
   [(e["manager"], e["operation"], e["fieldsV1"]) for e in scale_mf], [("kbox-test", "Update", {"f:spec": {"f:replicas": {}}})],
   "Server-Side Apply (scale subresource)")
c.patch(DEP + "/sa", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sa"},
                      "spec": dict(deployment("sa", 2)["spec"])}, ct="application/apply-patch+yaml",
        query={"fieldManager": "gitops"})
code, _, body = c.patch(DEP + "/sa/scale", {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "sa"},
                                            "spec": {"replicas": 4}}, ct="application/apply-patch+yaml",
                        query={"fieldManager": "ferry-autoscale"})
eq("apply on /scale of replicas another manager applied: 409 naming it", (code, body.get("message")),
   (409, 'Apply failed with 1 conflict: conflict with "gitops" using apps/v1: .spec.replicas'), "DESIGN.md Ownership")
code, _, body = c.patch(DEP + "/sa/scale", {"apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "sa"},
                                            "spec": {"replicas": 4}}, ct="application/apply-patch+yaml",
                        query={"fieldManager": "ferry-autoscale", "force": "true"})
eq("apply on /scale with force sets replicas", (code, body.get("spec", {}).get("replicas")), (200, 4), "Server-Side Apply")
code, _, body = c.patch(DEP + "/sa", {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "sa"},
                                      "spec": dict(deployment("sa", 3)["spec"])}, ct="application/apply-patch+yaml",
                        query={"fieldManager": "gitops"})
eq("...and now the main resource's apply of replicas conflicts with the /scale manager", (code, body.get("message")),
   (409, 'Apply failed with 1 conflict: conflict with "ferry-autoscale" using apps/v1: .spec.replicas'),
   "DESIGN.md Ownership")

# ---- patches (§6.3)
code, _, p = c.patch(CM + "/a", {"data": {"a": None, "b": "2"}})
eq("merge patch: null deletes a key, others merge", p.get("data"), {"b": "2"}, "§6.3 (RFC 7386)")
code, _, p = c.patch(CM + "/a", [{"op": "test", "path": "/data/b", "value": "2"},
                                 {"op": "replace", "path": "/data/b", "value": "3"}], ct="application/json-patch+json")
eq("JSON patch with a passing test op applies", (code, p.get("data")), (200, {"b": "3"}), "§6.3 (RFC 6902)")
code, _, body = c.patch(CM + "/a", [{"op": "test", "path": "/data/b", "value": "nope"}], ct="application/json-patch+json")
eq("JSON patch with a failing test op: 422 Invalid", (code, body.get("reason")), (422, "Invalid"), "§6.3 (test = CAS)")
code, _, p = c.patch(DEP + "/d1", {"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "s:1"}]}}}},
                     ct="application/strategic-merge-patch+json")
eq("strategic merge: containers merge by name (patchMergeKey name)",
   [x["name"] for x in p["spec"]["template"]["spec"]["containers"]], ["c", "side"], "k8s.io/api core/v1 PodSpec.Containers tags")
code, _, p = c.patch(DEP + "/d1", {"spec": {"template": {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}}}},
                     ct="application/strategic-merge-patch+json")
eq("strategic merge: $patch delete removes one list element",
   [x["name"] for x in p["spec"]["template"]["spec"]["containers"]], ["c"], "SMP directives")
code, _, p = c.patch(DEP + "/d1", {"spec": {"template": {"spec": {"containers": [{"name": "c", "env": [{"name": "B", "value": "2"}]}]}}}},
                     ct="application/strategic-merge-patch+json")
eq("strategic merge: env merges by name inside a merged container",
   [e["name"] for e in p["spec"]["template"]["spec"]["containers"][0]["env"]], ["A", "B"], "core/v1 Container.Env tags")
code, _, p = c.patch(f"/api/v1/namespaces/{ns}/configmaps/a", {"metadata": {"finalizers": ["x.io/a"]}},
                     ct="application/strategic-merge-patch+json")
code, _, p = c.patch(f"/api/v1/namespaces/{ns}/configmaps/a", {"metadata": {"finalizers": ["x.io/b"]}},
                     ct="application/strategic-merge-patch+json")
eq("strategic merge: finalizers (patchStrategy merge, primitive list) are unioned",
   p["metadata"].get("finalizers"), ["x.io/a", "x.io/b"], "meta/v1 ObjectMeta.Finalizers tags")
c.patch(CM + "/a", {"metadata": {"finalizers": None}})
code, _, body = c.patch(CM + "/a", "{}", ct="application/x-unknown")
eq("an unknown patch type: 415", code, 415, "§6.3")

# ---- server-side apply (§6.3, Server-Side Apply)
APPLY = "application/apply-patch+yaml"
svc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
       "spec": {"selector": {"color": "blue"}, "ports": [{"port": 80}]}}
SVC = f"/api/v1/namespaces/{ns}/services"
code, _, s = c.patch(SVC + "/s1", svc, ct=APPLY, query={"fieldManager": "gitops"})
eq("apply creates a missing object: 201", code, 201, SSA)
mf = s["metadata"].get("managedFields") or []
eq("apply records an Apply entry for its manager", [(e["manager"], e["operation"]) for e in mf], [("gitops", "Apply")], SSA)
check("the Apply entry owns spec.selector.color",
      "f:color" in json.dumps(mf[0].get("fieldsV1", {})) if mf else False, mf, ref=SSA)
code, _, body = c.patch(SVC + "/s1", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
                                      "spec": {"selector": {"color": "green"}}}, ct=APPLY, query={"fieldManager": "ferry-bluegreen"})
eq("apply of a field another manager owns, other value: 409 Conflict", (code, body.get("reason")), (409, "Conflict"), "§6.3, DESIGN.md Ownership")
check("the conflict names the owning manager and the field",
      'conflict with "gitops"' in body.get("message", "") and ".spec.selector.color" in body.get("message", ""),
      body.get("message"), ref=SSA)
eq("the conflict's cause is FieldManagerConflict on that field",
   [(x.get("reason"), x.get("field")) for x in body.get("details", {}).get("causes", [])],
   [("FieldManagerConflict", ".spec.selector.color")], SSA)
code, _, s2 = c.patch(SVC + "/s1", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1"},
                                    "spec": {"selector": {"color": "green"}}}, ct=APPLY,
                      query={"fieldManager": "ferry-bluegreen", "force": "true"})
eq("force=true takes the field", (code, s2["spec"]["selector"]), (200, {"color": "green"}), SSA)
owners = {e["manager"]: json.dumps(e.get("fieldsV1")) for e in s2["metadata"]["managedFields"]}
check("after force, the old manager no longer owns the field", "f:color" not in owners.get("gitops", ""), owners, ref=SSA)
code, _, body = c.patch(SVC + "/s1", svc, ct=APPLY)
eq("apply without fieldManager: 400", code, 400, "§6.3 (fieldManager mandatory)")
code, _, s3 = c.patch(SVC + "/s1", {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s1", "labels": {"l": "1"}},
                                    "spec": {"ports": [{"port": 80}]}}, ct=APPLY, query={"fieldManager": "gitops"})
eq("a field its manager stops applying is removed when nobody else owns it",
   (code, "l" in s3["metadata"].get("labels", {}), s3["spec"].get("selector")), (200, True, {"color": "green"}), SSA)
code, _, s4 = c.patch(SVC + "/s1", {"spec": {"selector": {"color": "red"}}}, ct="application/merge-patch+json",
                      query={"fieldManager": "hpa-like"})
ops = sorted((e["manager"], e["operation"]) for e in s4["metadata"]["managedFields"])
check("an Update (merge patch) records its manager with operation Update", ("hpa-like", "Update") in ops, ops, ref=SSA)

# an atomic list (Service spec.externalIPs, +listType=atomic; HTTPRoute spec.rules is one too):
# owned as one field; the same value applied by a second manager is shared, not a conflict,
# and force takes nothing then; an Update that changes it takes it from every other owner
def owners_of(obj, field):
    return sorted((e["manager"], e["operation"]) for e in obj["metadata"].get("managedFields", [])
                  if f'"f:{field}"' in json.dumps(e.get("fieldsV1", {})))


def svc_ips(ips):
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s2"},
            "spec": {"ports": [{"port": 80}], "externalIPs": ips}}


code, _, a = c.patch(SVC + "/s2", svc_ips(["192.0.2.1"]), ct=APPLY, query={"fieldManager": "author"})
code, _, a = c.patch(SVC + "/s2", svc_ips(["192.0.2.1"]), ct=APPLY, query={"fieldManager": "second"})
eq("an atomic list applied again with the same value by another manager: shared, no conflict",
   (code, owners_of(a, "externalIPs")), (200, [("author", "Apply"), ("second", "Apply")]), SSA)
code, _, body = c.patch(SVC + "/s2", svc_ips(["192.0.2.2"]), ct=APPLY, query={"fieldManager": "second"})
check("an atomic list with one element changed conflicts on the whole list",
      code == 409 and body.get("message", "").endswith(".spec.externalIPs"), (code, body.get("message")), ref=SSA)
code, _, a = c.patch(SVC + "/s2", svc_ips(["192.0.2.1"]), ct=APPLY,
                     query={"fieldManager": "second", "force": "true"})
eq("force with the same value takes nothing: both still own it",
   (code, owners_of(a, "externalIPs")), (200, [("author", "Apply"), ("second", "Apply")]), SSA)
code, _, a = c.patch(SVC + "/s2", {"spec": {"externalIPs": ["192.0.2.3"]}}, ct="application/merge-patch+json",
                     query={"fieldManager": "editor"})
eq("an Update changing the atomic list takes it from every other owner",
   (code, owners_of(a, "externalIPs")), (200, [("editor", "Update")]), SSA)

# ---- nodePorts: one range for the whole cluster (Service "type NodePort"; portallocator)
SVCREF = "kubernetes.io Service, type NodePort"


def svc_np(name, np=None, typ="NodePort"):
    port = {"port": 80} if np is None else {"port": 80, "nodePort": np}
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name},
            "spec": {"type": typ, "selector": {"app": name}, "ports": [port]}}


code, _, n1 = c.post(SVC, svc_np("np1"))
got = ((n1.get("spec") or {}).get("ports") or [{}])[0].get("nodePort") if code == 201 else None
check("a NodePort Service without one is given a nodePort from 30000-32767",
      isinstance(got, int) and 30000 <= got <= 32767, (code, got), ref=SVCREF)
code, _, body = c.post(SVC, svc_np("np2", got))
check("another Service asking for the same nodePort: 422, provided port is already allocated",
      code == 422 and f"spec.ports[0].nodePort: Invalid value: {got}: provided port is already allocated"
      in body.get("message", ""), (code, body.get("message")), ref=SVCREF)
code, _, body = c.post(SVC, svc_np("np3", 80))
check("a nodePort outside the range: 422 naming the range",
      code == 422 and "The range of valid ports is 30000-32767" in body.get("message", ""),
      (code, body.get("message")), ref=SVCREF)
code, _, body = c.post(SVC, svc_np("np4", 30999, typ="ClusterIP"))
check("a nodePort on a ClusterIP Service: 422 Forbidden",
      code == 422 and "nodePort: Forbidden: may not be used when `type` is 'ClusterIP'" in body.get("message", ""),
      (code, body.get("message")), ref=SVCREF)
if n1:
    n1["spec"]["ports"] = [{"port": 80}]
    code, _, n1b = c.put(SVC + "/np1", n1)
    eq("a PUT that leaves the nodePort out keeps the one allocated",
       (code, ((n1b.get("spec") or {}).get("ports") or [{}])[0].get("nodePort")), (200, got), SVCREF)
c.delete(SVC + "/np1")
code, _, n2 = c.post(SVC, svc_np("np2", got))
eq("once its Service is deleted, the nodePort can be asked for again", code, 201, SVCREF)
c.delete(SVC + "/np2")

# ---- dryRun=All (§7.2; API concepts "Dry-run")
code, _, dr = c.post(CM, cm("dry"), query={"dryRun": "All"})
eq("dryRun create answers 201 with the object", (code, dr["metadata"]["name"]), (201, "dry"), AC)
code, _, _ = c.get(CM + "/dry")
eq("dryRun create stores nothing", code, 404, AC)
code, _, dd = c.delete(CM + "/a", query={"dryRun": "All"})
code2, _, _ = c.get(CM + "/a")
eq("dryRun delete deletes nothing", (code, code2), (200, 200), AC)
code, _, body = c.post(CM, cm("dry2"), query={"dryRun": "Some"})
eq("an unknown dryRun value: 400", code, 400, AC)

# ---- field validation (API concepts "Field validation")
bad = cm("fv")
bad["spec"] = {"oops": 1}
code, _, body = c.post(CM, bad, query={"fieldValidation": "Strict"})
eq("fieldValidation=Strict rejects an unknown field: 400", (code, body.get("reason")), (400, "BadRequest"), AC)
check("the message names the unknown field", 'unknown field "spec"' in body.get("message", ""), body.get("message"), ref=AC)
code, hdrs, body = c.post(CM, bad, query={"fieldValidation": "Warn"})
check("fieldValidation=Warn stores the object and warns", code == 201 and "unknown field" in (hdrs.get("Warning") or ""),
      (code, hdrs.get("Warning")), ref=AC)
check("the unknown field is dropped", "spec" not in body, body, ref=AC)

# ---- lists: selectors, pagination, RV semantics (§6.2)
for i in range(5):
    c.post(CM, cm(f"l{i}", **{"labels": {"tier": "a" if i < 3 else "b", "n": str(i)}}))
code, _, lst = c.get(CM, query={"labelSelector": "tier=a"})
eq("label selector =", [o["metadata"]["name"] for o in lst["items"]], ["l0", "l1", "l2"], "§6.2")
code, _, lst = c.get(CM, query={"labelSelector": "tier!=a,n"})
eq("label selector != and exists", [o["metadata"]["name"] for o in lst["items"]], ["l3", "l4"], "§6.2")
code, _, lst = c.get(CM, query={"labelSelector": "n in (1,4),tier notin (b)"})
eq("label selector in / notin", [o["metadata"]["name"] for o in lst["items"]], ["l1"], "§6.2")
code, _, lst = c.get(CM, query={"labelSelector": "tier,!n"})
eq("label selector !key", [o["metadata"]["name"] for o in lst["items"]], [], "§6.2")
code, _, body = c.get(CM, query={"labelSelector": "a in b"})
eq("a label selector that does not parse: 400", code, 400, "§6.2")
code, _, lst = c.get(CM, query={"fieldSelector": "metadata.name=l2"})
eq("field selector metadata.name", [o["metadata"]["name"] for o in lst["items"]], ["l2"], "§6.2")
code, _, body = c.get(CM, query={"fieldSelector": "data.a=1"})
eq("an unsupported field selector: 400", code, 400, "§6.2")
code, _, p1 = c.get(CM, query={"limit": "2", "labelSelector": "n"})
check("limit cuts the list and returns a continue token", len(p1["items"]) == 2 and p1["metadata"].get("continue"),
      p1.get("metadata"), ref="§6.2")
eq("remainingItemCount counts what is left", p1["metadata"].get("remainingItemCount"), 3, AC)
c.post(CM, cm("l5", **{"labels": {"tier": "a", "n": "5"}}))
code, _, p2 = c.get(CM, query={"limit": "10", "labelSelector": "n", "continue": p1["metadata"]["continue"]})
eq("every page shares the first page's resourceVersion", p2["metadata"]["resourceVersion"], p1["metadata"]["resourceVersion"], "§6.2")
eq("later pages show the list as of the first page (l5 created after it is absent)",
   [o["metadata"]["name"] for o in p2["items"]], ["l2", "l3", "l4"], "§6.2")
code, _, now = c.get(CM, query={"resourceVersion": p1["metadata"]["resourceVersion"], "resourceVersionMatch": "Exact",
                                 "labelSelector": "n"})
eq("resourceVersionMatch=Exact lists the state at that RV", [o["metadata"]["name"] for o in now["items"]],
   ["l0", "l1", "l2", "l3", "l4"], AC)
code, _, old_l = c.get(CM, query={"resourceVersion": p1["metadata"]["resourceVersion"], "limit": "50", "labelSelector": "n"})
eq("an RV with a limit and no resourceVersionMatch is served Exact (legacy rule)",
   ([o["metadata"]["name"] for o in old_l["items"]], old_l["metadata"]["resourceVersion"]),
   (["l0", "l1", "l2", "l3", "l4"], p1["metadata"]["resourceVersion"]), AC + " (resourceVersion semantics table)")
code, _, body = c.get(CM, query={"resourceVersionMatch": "Exact"})
eq("resourceVersionMatch without resourceVersion: 422", code, 422, AC)
code, _, body = c.get(CM, query={"resourceVersion": str(10 ** 9), "resourceVersionMatch": "NotOlderThan"})
eq("NotOlderThan a future RV: 504 Timeout (ResourceVersionTooLarge) after waiting", (code, body.get("reason")), (504, "Timeout"), AC)
code, _, rv0 = c.get(CM, query={"resourceVersion": "0", "limit": "1"})
check("resourceVersion=0 is served whole from the cache: limit ignored", len(rv0["items"]) > 1, len(rv0["items"]),
      ref="§6.2 (kubernetes#118394)")
code, _, body = c.get(CM, query={"continue": "not-a-token!"})
eq("a garbage continue token: 400", code, 400, AC)

# ---- finalizers, deletion, preconditions (§6.3)
c.post(CM, cm("fin", finalizers=["example.com/hold"]))
code, _, fo = c.delete(CM + "/fin")
check("DELETE of an object with finalizers answers 200 with deletionTimestamp set",
      code == 200 and fo.get("metadata", {}).get("deletionTimestamp"), (code, fo.get("metadata")), ref="§6.3")
code, _, body = c.patch(CM + "/fin", {"metadata": {"finalizers": ["example.com/hold", "example.com/new"]}})
eq("no finalizer may be added once deletionTimestamp is set: 422", code, 422, "API reference ObjectMeta.finalizers")
code, _, body = c.patch(CM + "/fin", {"metadata": {"finalizers": None}})
code, _, _ = c.get(CM + "/fin")
eq("the object goes when its last finalizer is removed", code, 404, "§6.3")
c.post(CM, cm("pre"))
code, _, body = c.delete(CM + "/pre", {"preconditions": {"uid": "00000000-0000-0000-0000-000000000000"}})
eq("DELETE with a wrong uid precondition: 409 Conflict", (code, body.get("reason")), (409, "Conflict"), "§6.3")
code, _, body = c.delete(CM + "/pre", {"preconditions": {"resourceVersion": "1"}})
eq("DELETE with a stale resourceVersion precondition: 409 Conflict", code, 409, "§6.3")
code, _, body = c.delete(CM + "/pre")
eq("DELETE answers a Success Status for kinds that do not return the object",
   (code, body.get("kind"), body.get("status"), body.get("details", {}).get("name")), (200, "Status", "Success", "pre"), AC)

eq("a ConfigMap has no metadata.generation (its strategy does not track one)", "generation" in a["metadata"], False,
   "API reference ObjectMeta.generation")
code, _, dg = c.post(DEP, deployment("dg"))
c.patch(DEP + "/dg", {"metadata": {"finalizers": ["example.com/hold"]}})
code, _, dg2 = c.delete(DEP + "/dg")
eq("deletion with finalizers bumps generation of a kind that tracks it", dg2["metadata"]["generation"], 2,
   "apiserver markAsDeleting")
c.patch(DEP + "/dg", {"metadata": {"finalizers": None}})

# ---- pods: graceful deletion on a node (pod strategy CheckGracefulDelete)
PO = f"/api/v1/namespaces/{ns}/pods"
node = f"node-{ns}"
c.post("/api/v1/nodes", {"apiVersion": "v1", "kind": "Node", "metadata": {"name": node}})
c.post(PO, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "bound"},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "busybox"}]}})
c.post(PO, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "unbound"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}})
code, _, lst = c.get(PO, query={"fieldSelector": f"spec.nodeName={node}"})
eq("pods by spec.nodeName (what each agent watches)", [o["metadata"]["name"] for o in lst["items"]], ["bound"], "§6.2")
code, _, lst = c.get(PO, query={"fieldSelector": "status.phase=Pending,spec.nodeName="})
eq("pods by status.phase and an empty spec.nodeName (unscheduled)", [o["metadata"]["name"] for o in lst["items"]],
   ["unbound"], "§6.2")
code, _, pb = c.delete(PO + "/bound")
eq("a pod bound to a node is deleted gracefully: deletionGracePeriodSeconds from its spec (30)",
   (code, pb["metadata"].get("deletionGracePeriodSeconds"), c.get(PO + "/bound")[0]), (200, 30, 200), AC)
code, _, _ = c.delete(PO + "/bound", query={"gracePeriodSeconds": "0"})
eq("gracePeriodSeconds=0 (what the kubelet sends when the pod stopped) deletes it", c.get(PO + "/bound")[0], 404, AC)
code, _, _ = c.delete(PO + "/unbound")
eq("a pod not bound to a node goes at once", c.get(PO + "/unbound")[0], 404, AC)
c.delete(f"/api/v1/nodes/{node}")

# ---- garbage collection (§7.2 item 8; Garbage Collection)
code, _, owner = c.post(CM, cm("owner"))
ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
c.post(CM, cm("dep1", ownerReferences=[ref]))
c.post(CM, cm("dep2", ownerReferences=[dict(ref, blockOwnerDeletion=True)], finalizers=["example.com/slow"]))
code, _, fg = c.delete(CM + "/owner", {"propagationPolicy": "Foreground"})
check("Foreground: the owner stays with the foregroundDeletion finalizer while dependents exist",
      code == 200 and "foregroundDeletion" in fg["metadata"].get("finalizers", []), fg.get("metadata"), ref=GC)
eq("Foreground: a dependent without a finalizer is deleted",
   wait_until(lambda: c.get(CM + "/dep1")[0] == 404), True, GC)
time.sleep(0.5)
eq("Foreground: the owner waits for a blocking dependent", c.get(CM + "/owner")[0], 200, GC)
c.patch(CM + "/dep2", {"metadata": {"finalizers": None}})
eq("Foreground: the owner goes once its blocking dependents are gone",
   wait_until(lambda: c.get(CM + "/owner")[0] == 404), True, GC)
code, _, o2 = c.post(CM, cm("owner2"))
ref2 = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner2", "uid": o2["metadata"]["uid"]}
c.post(CM, cm("dep3", ownerReferences=[ref2]))
c.delete(CM + "/owner2", {"propagationPolicy": "Orphan"})
eq("Orphan: the owner goes", wait_until(lambda: c.get(CM + "/owner2")[0] == 404), True, GC)
code, _, d3 = c.get(CM + "/dep3")
eq("Orphan: the dependent stays, without the owner reference", (code, d3["metadata"].get("ownerReferences")), (200, None), GC)
code, _, o3 = c.post(CM, cm("owner3"))
c.post(CM, cm("dep4", ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "owner3", "uid": o3["metadata"]["uid"]}]))
c.delete(CM + "/owner3")
eq("Background: a dependent of a deleted owner is collected", wait_until(lambda: c.get(CM + "/dep4")[0] == 404), True, GC)
other = box.namespace("gc-other")
code, _, xo = c.post(f"/api/v1/namespaces/{other}/configmaps", cm("xowner"))
c.post(CM, cm("crossdep", ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "xowner",
                                            "uid": xo["metadata"]["uid"]}]))
eq("an owner in another namespace counts as absent: the dependent is deleted",
   wait_until(lambda: c.get(CM + "/crossdep")[0] == 404), True, "DESIGN.md Names; " + GC)
c.post(CM, cm("dangling", ownerReferences=[{"apiVersion": "v1", "kind": "ConfigMap", "name": "ghost",
                                            "uid": "11111111-2222-3333-4444-555555555555"}]))
eq("a dependent whose owner never existed is deleted", wait_until(lambda: c.get(CM + "/dangling")[0] == 404), True, GC)

# ---- namespace deletion (§7.2 item 8)
gone = box.namespace("gone")
c.post(f"/api/v1/namespaces/{gone}/configmaps", cm("inside"))
code, _, nso = c.delete(f"/api/v1/namespaces/{gone}")
eq("a deleted namespace turns Terminating", (code, nso.get("status", {}).get("phase")), (200, "Terminating"), AC)
code, _, body = c.post(f"/api/v1/namespaces/{gone}/configmaps", cm("late"))
check("creating in a terminating namespace: 403 Forbidden (NamespaceTerminating) or 404 once gone",
      (code, body.get("reason")) in ((403, "Forbidden"), (404, "NotFound")), (code, body), ref=AC)
eq("the namespace and its content go", wait_until(lambda: c.get(f"/api/v1/namespaces/{gone}")[0] == 404), True, AC)

# ---- leases: MicroTime (§6.5)
LE = f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases"
rt = "2026-01-02T03:04:05.123456Z"
code, _, le = c.post(LE, {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "metadata": {"name": "leader"},
                          "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15, "renewTime": rt, "acquireTime": rt,
                                   "leaseTransitions": 0}})
eq("a Lease keeps renewTime as MicroTime (microseconds)", (code, le["spec"].get("renewTime")), (201, rt), "§6.5")
stale = dict(le)
code, _, le2 = c.put(LE + "/leader", dict(le, spec=dict(le["spec"], holderIdentity="b")))
code, _, body = c.put(LE + "/leader", dict(stale, spec=dict(stale["spec"], holderIdentity="c")))
eq("two candidates renewing with the same RV: the second gets 409", code, 409, "§6.5")
code, _, le3 = c.patch(LE + "/leader", {"spec": {"renewTime": "2026-01-02T03:04:06Z"}})
eq("MicroTime is written back with six fractional digits", le3["spec"].get("renewTime"), "2026-01-02T03:04:06.000000Z",
   "API reference meta/v1 MicroTime")
code, _, body = c.patch(LE + "/leader", {"spec": {"renewTime": "yesterday"}})
eq("a MicroTime that does not parse: 400", code, 400, "API reference meta/v1 MicroTime")

# ---- deletecollection (API reference: delete collection)
code, _, body = c.delete(CM, query={"labelSelector": "tier=b"})
eq("DELETE on a collection with a selector deletes what matches",
   (code, sorted(o["metadata"]["name"] for o in c.get(CM, query={"labelSelector": "tier"})[2]["items"])),
   (200, ["l0", "l1", "l2", "l5"]), "API reference deletecollection")

# ---- events: involvedObject field selectors (§7.2 item 6)
EV = f"/api/v1/namespaces/{ns}/events"
for obj in ("a", "b"):
    c.post(EV, {"apiVersion": "v1", "kind": "Event", "metadata": {"name": f"ev-{obj}"}, "reason": "Tested",
                "message": "m", "type": "Normal", "involvedObject": {"kind": "ConfigMap", "name": obj, "namespace": ns}})
code, _, lst = c.get(EV, query={"fieldSelector": "involvedObject.kind=ConfigMap,involvedObject.name=b"})
eq("Events by involvedObject.kind and .name", [o["metadata"]["name"] for o in lst["items"]], ["ev-b"],
   "API reference: Event field selectors")
EV1 = f"/apis/events.k8s.io/v1/namespaces/{ns}/events"
code, _, e1 = c.post(EV1, {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "ev-v1"},
                           "eventTime": "2026-01-01T00:00:00.000001Z", "reportingController": "ferry.io/controller",
                           "reportingInstance": "ferry-0", "action": "Backup", "reason": "Started", "type": "Normal",
                           "note": "backup started", "regarding": {"kind": "ConfigMap", "name": "c", "namespace": ns}})
eq("an events.k8s.io/v1 Event is created", (code, e1.get("note"), e1.get("regarding", {}).get("name")),
   (201, "backup started", "c"), "API reference events.k8s.io/v1 Event")
code, _, ce = c.get(EV + "/ev-v1")
eq("...and is the same object through core/v1 (note -> message, regarding -> involvedObject, "
   "reportingController -> reportingComponent)",
   (code, ce.get("message"), ce.get("involvedObject", {}).get("name"), ce.get("reportingComponent"),
    ce["metadata"]["resourceVersion"]),
   (200, "backup started", "c", "ferry.io/controller", e1["metadata"]["resourceVersion"]),
   "k8s.io/kubernetes pkg/apis/events/v1 conversion")
code, _, lst = c.get(EV1, query={"fieldSelector": "regarding.name=b"})
eq("a core Event listed through events.k8s.io/v1 with a regarding.name selector",
   [(o["metadata"]["name"], o.get("note")) for o in lst["items"]], [("ev-b", "m")], "API reference events.k8s.io/v1")

# ---- discovery, /version, OpenAPI (§7.2 item 1, §6.9)
code, _, v = c.get("/version")
eq("/version reports 1.32", (code, v.get("major"), v.get("minor")), (200, "1", "32"), "§7.2 item 1")
AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
code, h, agg = c.get("/apis", headers={"Accept": AGG + ",application/json"})
eq("aggregated discovery answers in its own media type", (code, h.get("Content-Type")), (200, AGG), "§6.9")
apps = next((g for g in agg.get("items", []) if g["metadata"]["name"] == "apps"), None)
dres = {r["resource"]: r for r in apps["versions"][0]["resources"]} if apps else {}
eq("aggregated discovery: deployments with shortNames and the scale subresource as autoscaling/v1 Scale",
   (dres.get("deployments", {}).get("shortNames"),
    [(s["subresource"], s["responseKind"]["kind"]) for s in dres.get("deployments", {}).get("subresources", [])]),
   (["deploy"], [("status", "Deployment"), ("scale", "Scale")]), "API reference APIGroupDiscovery")
code, h, legacy = c.get("/api", headers={"Accept": "application/json"})
eq("legacy discovery when aggregated is not asked for", (legacy.get("kind"), legacy.get("versions")),
   ("APIVersions", ["v1"]), "§6.9 fallback")
code, _, rl = c.get("/apis/apps/v1")
eq("APIResourceList lists subresources as resource/sub", sorted(r["name"] for r in rl["resources"] if r["name"].startswith("deployments")),
   ["deployments", "deployments/scale", "deployments/status"], "API reference APIResourceList")

# ---- a CRD: selectableFields, status and scale, generation, OpenAPI, deletion (§7.2 item 9)
grp = f"{ns}.kbox.ferry.io"
crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
       "metadata": {"name": f"transfers.{grp}"},
       "spec": {"group": grp, "scope": "Namespaced",
                "names": {"plural": "transfers", "singular": "transfer", "kind": "Transfer"},
                "versions": [{"name": "v1alpha1", "served": True, "storage": True,
                              "selectableFields": [{"jsonPath": ".spec.node"}],
                              "subresources": {"status": {}, "scale": {"specReplicasPath": ".spec.replicas",
                                                                       "statusReplicasPath": ".status.replicas"}},
                              "additionalPrinterColumns": [{"name": "Node", "type": "string", "jsonPath": ".spec.node"}],
                              "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                                  "spec": {"type": "object", "properties": {
                                      "node": {"type": "string"}, "replicas": {"type": "integer"},
                                      "bytes": {"type": "integer", "default": 0}}},
                                  "status": {"type": "object", "properties": {"phase": {"type": "string"},
                                                                              "replicas": {"type": "integer"}}}}}}}]}}
code, _, body = c.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
eq("a CRD is created", code, 201, "API reference CRD")
TX = f"/apis/{grp}/v1alpha1/namespaces/{ns}/transfers"
code, _, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(c.get(TX)), 10) or (None, None, None)
eq("its resource is served once Established", code, 200, "API reference CRD conditions")
for node in ("n1", "n2"):
    c.post(TX, {"apiVersion": f"{grp}/v1alpha1", "kind": "Transfer", "metadata": {"name": f"t-{node}"},
                "spec": {"node": node, "replicas": 1}, "status": {"phase": "Ignored"}})
code, _, t1 = c.get(TX + "/t-n1")
eq("create of a CR ignores status when the status subresource is on", t1.get("status"), None, "§6.3")
eq("CR defaults are applied", t1["spec"].get("bytes"), 0, "CRD structural schema defaults")
code, _, lst = c.get(TX, query={"fieldSelector": "spec.node=n2"})
eq("a CRD's selectableFields work as field selectors", [o["metadata"]["name"] for o in lst["items"]], ["t-n2"], "§6.2 (GA 1.32)")
code, _, body = c.get(TX, query={"fieldSelector": "spec.replicas=1"})
eq("a field that is not selectable: 400", code, 400, "§6.2")
code, _, t1s = c.patch(TX + "/t-n1/status", {"status": {"phase": "Running"}})
eq("/status of a CR: status changes, generation does not", (t1s["status"], t1s["metadata"]["generation"]),
   ({"phase": "Running"}, 1), "§6.3")
code, _, t1b = c.patch(TX + "/t-n1", {"metadata": {"annotations": {"a": "b"}}})
eq("a metadata change of a CR keeps generation", t1b["metadata"]["generation"], 1, "§6.3")
code, _, t1c = c.patch(TX + "/t-n1", {"spec": {"node": "n3"}})
eq("a spec change of a CR bumps generation", t1c["metadata"]["generation"], 2, "§6.3")
code, _, body = c.put(TX + "/t-n1", dict(t1c, metadata={k: v for k, v in t1c["metadata"].items() if k != "resourceVersion"}))
eq("PUT of a CR without resourceVersion: 422 (no unconditional update)", code, 422, "§6.3")
code, _, body = c.patch(TX + "/t-n1", {"spec": {"node": "x"}}, ct="application/strategic-merge-patch+json")
eq("strategic merge on a CR: 415", (code, body.get("reason")), (415, "UnsupportedMediaType"), "§6.3")
code, _, sc = c.get(TX + "/t-n1/scale")
eq("a CR's /scale follows its specReplicasPath", (code, sc["spec"].get("replicas")), (200, 1), "§6.3")
code, _, tbl = c.get(TX, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"})
eq("Table rendering: Name plus the CRD's printer columns", [col["name"] for col in tbl.get("columnDefinitions", [])],
   ["Name", "Node"], "§6.9; CRD additionalPrinterColumns")
eq("Table rows carry the cells", [r["cells"] for r in tbl.get("rows", [])], [["t-n1", "n3"], ["t-n2", "n2"]], "meta/v1 Table")
code, _, root = c.get("/openapi/v3")
url = root.get("paths", {}).get(f"apis/{grp}/v1alpha1", {}).get("serverRelativeURL")
code, _, doc = c.get(url) if url else (None, None, {})
patch_op = doc.get("paths", {}).get(f"/apis/{grp}/v1alpha1/namespaces/{{namespace}}/transfers/{{name}}", {}).get("patch", {})
check("OpenAPI v3: the CR's PATCH operation declares fieldValidation (what kubectl apply checks)",
      any(p.get("name") == "fieldValidation" and p.get("in") == "query" for p in patch_op.get("parameters", [])),
      patch_op.get("parameters"), ref="§6.9")
eq("...and is tagged with the kind", patch_op.get("x-kubernetes-group-version-kind"),
   {"group": grp, "version": "v1alpha1", "kind": "Transfer"}, "§6.9")
schemas = doc.get("components", {}).get("schemas", {})
tx_schema = next((s for s in schemas.values() if s.get("x-kubernetes-group-version-kind") ==
                  [{"group": grp, "version": "v1alpha1", "kind": "Transfer"}]), {})
eq("OpenAPI v3 carries the CRD's schema", sorted(tx_schema.get("properties", {}).get("spec", {}).get("properties", {})),
   ["bytes", "node", "replicas"], "§7.2 item 9")
code, _, body = c.delete(f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/transfers.{grp}")
eq("deleting a CRD removes its custom resources, then stops serving them",
   wait_until(lambda: c.get(TX)[0] == 404, 10), True, "API reference CRD (customresourcecleanup finalizer)")

if not box.real:
    # ---- the box's admin-only parts: tokens, RBAC, audit
    # TokenRequest, TokenReview (§6.6; API reference TokenRequest)
    c.post(f"/api/v1/namespaces/{ns}/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "bot"}})
    code, _, tr = c.post(f"/api/v1/namespaces/{ns}/serviceaccounts/bot/token",
                         {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 600}})
    eq("TokenRequest: 201 with a token and its expiry", (code, bool(tr.get("status", {}).get("token")),
                                                         bool(tr.get("status", {}).get("expirationTimestamp"))), (201, True, True), "§6.6")
    code, _, body = c.post(f"/api/v1/namespaces/{ns}/serviceaccounts/bot/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": {"expirationSeconds": 60}})
    eq("TokenRequest under 10 minutes: 422", code, 422, "API reference TokenRequestSpec.expirationSeconds")
    tok = tr["status"]["token"]
    code, _, rv = c.post("/apis/authentication.k8s.io/v1/tokenreviews",
                         {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": tok}})
    eq("TokenReview authenticates the token as the service account",
       (rv["status"].get("authenticated"), rv["status"].get("user", {}).get("username")),
       (True, f"system:serviceaccount:{ns}:bot"), "DESIGN.md Talking")
    check("TokenReview lists the service-account groups",
          f"system:serviceaccounts:{ns}" in rv["status"]["user"].get("groups", []), rv["status"])
    bot = c.with_token(tok)
    code, _, body = bot.get(CM)
    eq("RBAC denies by default: 403 Forbidden", (code, body.get("reason")), (403, "Forbidden"), "§7.2 item 11")
    eq("the 403 message names user, verb, resource and namespace", body.get("message"),
       f'configmaps is forbidden: User "system:serviceaccount:{ns}:bot" cannot list resource "configmaps" in API group "" in the namespace "{ns}"',
       "kube-apiserver RBAC denial")
    RB = f"/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}"
    c.post(RB + "/roles", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "cm-reader"},
                           "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "list"]},
                                     {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["patch"],
                                      "resourceNames": ["d1"]}]})
    c.post(RB + "/rolebindings", {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                                  "metadata": {"name": "bot-reads"},
                                  "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cm-reader"},
                                  "subjects": [{"kind": "ServiceAccount", "name": "bot", "namespace": ns}]})
    eq("a RoleBinding grants its Role's rules", bot.get(CM)[0], 200, "§7.2 item 11")
    eq("the rule does not grant other verbs", bot.delete(CM + "/l0")[0], 403, "§7.2 item 11")
    eq("a subresource rule with resourceNames grants that object", bot.patch(DEP + "/d1/scale", {"spec": {"replicas": 1}})[0], 200, "RBAC")
    eq("...and not the main resource", bot.patch(DEP + "/d1", {"spec": {"replicas": 1}})[0], 403, "RBAC")
    code, _, ssar = bot.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                             {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                              "spec": {"resourceAttributes": {"namespace": ns, "verb": "list", "resource": "configmaps"}}})
    eq("SelfSubjectAccessReview answers allowed for a granted verb", (code, ssar["status"].get("allowed")), (201, True), "API reference SSAR")
    code, _, ssar = bot.post("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
                             {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
                              "spec": {"resourceAttributes": {"namespace": ns, "verb": "delete", "resource": "configmaps"}}})
    eq("SelfSubjectAccessReview answers denied for another", ssar["status"].get("allowed"), False, "API reference SSAR")
    code, _, body = c.with_token("not-a-token").get(CM)
    eq("an unknown bearer token: 401 Unauthorized", (code, body.get("reason")), (401, "Unauthorized"), "§7.2 item 11")
    c.delete(f"/api/v1/namespaces/{ns}/serviceaccounts/bot")
    eq("a token stops working when its service account is deleted", bot.get(CM)[0], 401, "§6.6 bound tokens")
    user_tok = box.token_for("alice", ["devs"])
    c.post("/apis/rbac.authorization.k8s.io/v1/clusterroles",
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": f"{ns}-ns-reader"},
            "rules": [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get"]}]})
    c.post("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
           {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": f"{ns}-devs"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"{ns}-ns-reader"},
            "subjects": [{"kind": "Group", "name": "devs", "apiGroup": "rbac.authorization.k8s.io"}]})
    alice = c.with_token(user_tok)
    eq("a ClusterRoleBinding to a Group grants its members", alice.get(f"/api/v1/namespaces/{ns}")[0], 200, "RBAC")
    eq("anonymous may read /version (system:public-info-viewer)", c.with_token(None).get("/version")[0], 200, "RBAC bootstrap roles")
    eq("anonymous may not list namespaces", c.with_token(None).get("/api/v1/namespaces")[0], 403, "RBAC bootstrap roles")
    c.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/{ns}-devs")
    c.delete(f"/apis/rbac.authorization.k8s.io/v1/clusterroles/{ns}-ns-reader")
    # audit (§7.2 item 11; issue 12 RBAC least privilege)
    log = box.audit()
    mine = [r for r in log if r.get("user") == f"system:serviceaccount:{ns}:bot"]
    allowed = [r for r in mine if r["decision"] == "allow" and r.get("resource") == "configmaps" and r["verb"] == "list"]
    check("the audit log records an allowed request with the rule that allowed it",
          bool(allowed) and allowed[-1]["rule"] == f"RoleBinding/{ns}/bot-reads Role/cm-reader rules[0]",
          allowed[-1:] if allowed else mine[-3:], ref="issue 12 §2")
    denied = [r for r in mine if r["decision"] == "deny" and r["verb"] == "delete"]
    check("the audit log records a denied request with its code",
          bool(denied) and denied[-1]["code"] == 403 and denied[-1]["name"] == "l0", denied[-1:], ref="issue 12 §2")
    sub = [r for r in mine if r.get("subresource") == "scale"]
    check("the audit log names the subresource", bool(sub) and sub[-1]["resource"] == "deployments", sub[-1:])

finish()
