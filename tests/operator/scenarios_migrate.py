# SPDX-License-Identifier: MIT
"""The Migration reconciler of `ferry controller` (control/migrate/migrate_ctl.c): the plan
stage, in the box, under the shipped manifests (t_controller.py runs it with the other
scenarios, then again without each RBAC rule it uses).

The box is both clusters: the source is read through a kubeconfig Secret holding the token
of a reader bound to k8s/deploy/migrate-source-rbac.yaml (as a user sets it up in the
source), the target is the controller's own; spec.namespaceMapping sends the application's
namespace to another one, so the claims do not collide with themselves. Checked (issue 19,
"Bad input found at plan time, before any data moves, each with its reason"):
- a plan of two bound claims, one of them mapped to another class: phase Planned, both
  volumes with their sizes, target classes, the node and zone of the pod that mounts one,
  the source's address and version; the condition Planned True PlanReady; nothing written
  to the source;
- the same without the class map, into a namespace whose ResourceQuota is too small:
  PlanFailed with NoStorageClass (naming the class and the target's classes) and
  QuotaExceeded, the condition False PlanHasErrors;
- a kubeconfig with an exec plugin: refused at plan time, NotSelfContained, naming exec;
- an unreachable source, refused (a closed port) and a black hole (a listener that never
  answers): SourceUnreachable, the timeout stated, each within the timeout and a margin;
- a Secret that does not exist: KubeconfigSecretNotFound.
"""
import base64
import os
import socket
import time

from scenarios_controller import LEASE, wait_until

API = "/apis/ferry.io/v1alpha1"
NS = "ferry-system"
SRC = "mig-src"
DST = "mig-dst"
DST_SMALL = "mig-small"
READER = "mig-reader"
HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROLE = os.path.join(HERE, "..", "..", "k8s", "deploy", "migrate-source-rbac.yaml")
MiB = 1 << 20


def _post(env, path, body):
    code, _, out = env.admin.post(path, body)
    if code not in (200, 201, 409):
        raise RuntimeError(f"POST {path}: {code} {out}")
    return out


def _setup(env):
    import yaml
    with open(SOURCE_ROLE) as f:
        _post(env, "/apis/rbac.authorization.k8s.io/v1/clusterroles", yaml.safe_load(f))
    for ns in (SRC, DST, DST_SMALL):
        _post(env, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    _post(env, f"/api/v1/namespaces/{NS}/serviceaccounts",
          {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": READER}})
    _post(env, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
          {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
           "metadata": {"name": READER},
           "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                       "name": "ferry-migration-source"},
           "subjects": [{"kind": "ServiceAccount", "name": READER, "namespace": NS}]})
    _post(env, "/apis/storage.k8s.io/v1/storageclasses",
          {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "mig-fast"},
           "provisioner": "disk.csi.ferry.io", "volumeBindingMode": "WaitForFirstConsumer"})
    # the seed snapshots a claim through its driver's default VolumeSnapshotClass
    _post(env, "/apis/snapshot.storage.k8s.io/v1/volumesnapshotclasses",
          {"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
           "metadata": {"name": "mig-snap",
                        "annotations": {"snapshot.storage.kubernetes.io/is-default-class": "true"}},
           "driver": "disk.csi.ferry.io", "deletionPolicy": "Delete"})
    _post(env, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                 "metadata": {"name": "mig-node",
                                              "labels": {"topology.kubernetes.io/zone": "zone-a"}}})
    for name, cls, size in (("data-0", "mig-fast", 64 * MiB), ("data-1", "mig-slow", 128 * MiB)):
        _post(env, f"/api/v1/namespaces/{SRC}/persistentvolumeclaims",
              {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name},
               "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": cls,
                        "resources": {"requests": {"storage": str(size)}}}})
        env.admin.patch(f"/api/v1/namespaces/{SRC}/persistentvolumeclaims/{name}/status",
                        {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                    "capacity": {"storage": str(size)}}})
    _post(env, f"/api/v1/namespaces/{SRC}/pods",
          {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "app-0"},
           "spec": {"nodeName": "mig-node",
                    "containers": [{"name": "app", "image": "ferry.io/ferry:0.1.0"}],
                    "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data-0"}}]}})
    _post(env, f"/api/v1/namespaces/{DST}/resourcequotas",
          {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "room"},
           "spec": {"hard": {"requests.storage": "1Gi"}}})
    _post(env, f"/api/v1/namespaces/{DST_SMALL}/resourcequotas",
          {"apiVersion": "v1", "kind": "ResourceQuota", "metadata": {"name": "tight"},
           "spec": {"hard": {"requests.storage": "32Mi"}}})


def _kubeconfig(env, server=None, user=None):
    with open(env.box.ca, "rb") as f:
        ca = base64.b64encode(f.read()).decode()
    if user is None:
        user = f"token: {env.token(READER)}"
    return ("apiVersion: v1\nkind: Config\ncurrent-context: src\n"
            f"clusters:\n- name: a\n  cluster:\n    server: {server or env.box.url}\n"
            f"    certificate-authority-data: {ca}\n"
            f"users:\n- name: r\n  user:\n    {user}\n"
            "contexts:\n- name: src\n  context: {cluster: a, user: r}\n")


def _secret(env, name, kc):
    env.admin.delete(f"/api/v1/namespaces/{NS}/secrets/{name}")
    _post(env, f"/api/v1/namespaces/{NS}/secrets",
          {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name},
           "data": {"kubeconfig": base64.b64encode(kc.encode()).decode()}})


def _migration(env, name, secret, dst, classes=None, timeout=None):
    spec = {"source": {"kubeconfigSecretRef": {"name": secret}}, "namespaces": [SRC],
            "namespaceMapping": {SRC: dst}}
    if classes:
        spec["storageClassMapping"] = classes
    if timeout:
        spec["source"]["timeoutSeconds"] = timeout
    env.admin.delete(f"{API}/namespaces/{NS}/migrations/{name}")
    wait_until(lambda: env.admin.get(f"{API}/namespaces/{NS}/migrations/{name}")[0] == 404, 5)
    _post(env, f"{API}/namespaces/{NS}/migrations",
          {"apiVersion": "ferry.io/v1alpha1", "kind": "Migration", "metadata": {"name": name}, "spec": spec})


def _get(env, name):
    code, _, body = env.admin.get(f"{API}/namespaces/{NS}/migrations/{name}")
    return body if code == 200 else {}


def _cond(m):
    for c in (m.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Planned":
            return c
    return {}


def _cleanup(env):
    for n in ("m-good", "m-bad", "m-exec", "m-refused", "m-hole", "m-nosecret"):
        env.admin.delete(f"{API}/namespaces/{NS}/migrations/{n}")
    for s in ("mig-kc", "mig-exec", "mig-refused", "mig-hole"):
        env.admin.delete(f"/api/v1/namespaces/{NS}/secrets/{s}")


def scenario_migrate(env, r):
    hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        _scenario(env, r, hole)
    finally:
        hole.close()
        for p in env.procs:
            p.kill()
        _cleanup(env)


def _scenario(env, r, hole):
    _setup(env)
    env.delete_lease()
    _secret(env, "mig-kc", _kubeconfig(env))
    _migration(env, "m-good", "mig-kc", DST, classes={"mig-slow": "mig-fast"})
    a = env.controller("mig-a")
    if not r.check("the controller leads", a.wait_line(r"mig-a: leading", LEASE), a.text()[-400:]):
        return
    audit0 = env.audit_size()

    m = wait_until(lambda: (lambda x: x if (x.get("status") or {}).get("phase") else None)(_get(env, "m-good")),
                   10, alive=a)
    st = (m or {}).get("status") or {}
    plan = st.get("plan") or {}
    if not r.check("a plan: phase Planned", st.get("phase") == "Planned",
                   (_get(env, "m-good"), a.p.poll(), a.text()[-600:])):
        return
    vols = {v.get("claim"): v for v in plan.get("volumes") or []}
    r.check("both claims are in it with their sizes and target classes (data-1's mapped), into the mapped namespace",
            set(vols) == {"data-0", "data-1"} and vols["data-0"].get("bytes") == 64 * MiB and
            vols["data-1"].get("bytes") == 128 * MiB and
            all(v.get("targetStorageClass") == "mig-fast" and v.get("targetNamespace") == DST
                for v in vols.values()) and
            vols["data-1"].get("storageClass") == "mig-slow", plan.get("volumes"))
    r.check("the claim a pod mounts names that pod, its node and the node's zone",
            (vols.get("data-0") or {}).get("usedBy") == "app-0" and vols["data-0"].get("node") == "mig-node" and
            vols["data-0"].get("zone") == "zone-a" and "node" not in vols.get("data-1", {}), vols.get("data-0"))
    # the box runs no kubelet of its own here, so no node of "the target" is Ready: the one finding
    # says app-0 would wait for one (a Warning: an autoscaler may add it)
    found = [(f.get("severity"), f.get("object"), f.get("reason")) for f in plan.get("findings") or []]
    r.check("the plan's total, no finding but NoNodeFits for app-0, the source's address and both versions",
            plan.get("bytes") == 192 * MiB and plan.get("errors") == 0 and
            found == [("Warning", "Pod mig-src/app-0", "NoNodeFits")] and
            "no node of the target is Ready" in plan["findings"][0].get("message", "") and
            plan.get("sourceServer") == env.box.url and plan.get("sourceVersion") and plan.get("targetVersion"),
            plan)
    c = wait_until(lambda: _cond(_get(env, "m-good")), 5, alive=a)
    r.check("the condition Planned is True, PlanReady, and status.observedGeneration is the spec's",
            c.get("status") == "True" and c.get("reason") == "PlanReady" and
            st.get("observedGeneration") == (m.get("metadata") or {}).get("generation"), (c, st))
    src_writes = [e for e in env.audit(audit0)
                  if (e.get("user") or "").endswith(f":{READER}") and e.get("verb") not in ("get", "list", "watch")]
    r.check("the source is only read (the reader's requests are get and list)", not src_writes, src_writes[:3])

    # no class map, into a namespace whose quota is too small
    _migration(env, "m-bad", "mig-kc", DST_SMALL)
    m = wait_until(lambda: (lambda x: x if (x.get("status") or {}).get("phase") else None)(_get(env, "m-bad")),
                   10, alive=a)
    st = (m or {}).get("status") or {}
    found = {f.get("reason"): f for f in (st.get("plan") or {}).get("findings") or []}
    r.check("without the class map: PlanFailed, NoStorageClass naming the class and the target's classes",
            st.get("phase") == "PlanFailed" and "NoStorageClass" in found and
            found["NoStorageClass"].get("object") == f"PersistentVolumeClaim {SRC}/data-1" and
            "mig-slow" in found["NoStorageClass"].get("message", "") and
            "mig-fast" in found["NoStorageClass"].get("message", ""), st)
    r.check("... and QuotaExceeded for the 64 MiB that still move into 32Mi",
            found.get("QuotaExceeded", {}).get("object") == f"ResourceQuota {DST_SMALL}/tight" and
            "64 MiB" in found.get("QuotaExceeded", {}).get("message", ""), found.get("QuotaExceeded"))
    c = wait_until(lambda: _cond(_get(env, "m-bad")), 5, alive=a)
    r.check("the condition Planned is False, PlanHasErrors, naming the first finding",
            c.get("status") == "False" and c.get("reason") == "PlanHasErrors" and
            "NoStorageClass" in c.get("message", ""), c)

    # kubeconfigs that cannot be used, and sources that cannot be reached
    _secret(env, "mig-exec", _kubeconfig(env, user="exec: {apiVersion: client.authentication.k8s.io/v1, "
                                                  "command: aws, args: [eks, get-token]}"))
    _migration(env, "m-exec", "mig-exec", DST)
    c = wait_until(lambda: (lambda x: x if x.get("status") == "False" else None)(_cond(_get(env, "m-exec"))), 10,
                   alive=a)
    r.check("an exec plugin in the kubeconfig: refused before anything moves, NotSelfContained, naming exec",
            (c or {}).get("reason") == "NotSelfContained" and "exec" in (c or {}).get("message", ""), c)
    _migration(env, "m-nosecret", "mig-none", DST)
    c = wait_until(lambda: (lambda x: x if x.get("status") == "False" else None)(_cond(_get(env, "m-nosecret"))),
                   10, alive=a)
    r.check("a Secret that does not exist: KubeconfigSecretNotFound, naming it",
            (c or {}).get("reason") == "KubeconfigSecretNotFound" and "mig-none" in (c or {}).get("message", ""), c)
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connect() is refused
    _secret(env, "mig-refused", _kubeconfig(env, server=f"https://127.0.0.1:{port}"))
    t0 = time.time()
    _migration(env, "m-refused", "mig-refused", DST, timeout=2)
    c = wait_until(lambda: (lambda x: x if x.get("status") == "False" else None)(_cond(_get(env, "m-refused"))), 10,
                   alive=a)
    r.check("a source that refuses connections: SourceUnreachable, the timeout stated",
            (c or {}).get("reason") == "SourceUnreachable" and "within 2 s" in (c or {}).get("message", ""), c)
    hole.bind(("127.0.0.1", 0))
    hole.listen(16)  # connects complete in the kernel's backlog; nothing ever answers
    _secret(env, "mig-hole", _kubeconfig(env, server=f"https://127.0.0.1:{hole.getsockname()[1]}"))
    t0 = time.time()
    _migration(env, "m-hole", "mig-hole", DST, timeout=2)
    c = wait_until(lambda: (lambda x: x if x.get("status") == "False" else None)(_cond(_get(env, "m-hole"))), 15,
                   alive=a)
    took = time.time() - t0
    r.check("a source that never answers (a black hole): SourceUnreachable within the 2 s timeout and a margin",
            (c or {}).get("reason") == "SourceUnreachable" and "within 2 s" in (c or {}).get("message", "") and
            took < 9, (c, round(took, 1)))
    print(f"note: black-hole source reported SourceUnreachable {took:.1f} s after the Migration was created "
          "(timeoutSeconds 2)", flush=True)


SCENARIOS = [
    ("migrate", scenario_migrate),
]
