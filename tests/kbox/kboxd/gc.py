# SPDX-License-Identifier: MIT
"""kboxd.gc: the controllers that run inside every real control plane and that API
clients depend on: garbage collector, namespace lifecycle, CRD cleanup, and the
per-namespace `default` ServiceAccount and `kube-root-ca.crt` ConfigMap.

They run in one thread of the box, woken by store events (and every second),
and write through api.py like any client (as a system:masters user), so their
writes get RVs, events, finalizer rules and audit lines of their own.

Garbage collection follows the kube-controller-manager GC:
- an owner is absent when no object of its kind and name has its uid; a
  namespaced dependent's owner is looked up in the dependent's namespace only,
  and a cluster-scoped dependent cannot have a namespaced owner: such
  references count as absent, so the dependent is deleted (what a real
  cluster does to cross-namespace owner references);
- a dependent whose owners are all absent is deleted (background); one with
  some owners left loses its references to the absent ones;
- Foreground: the owner keeps deletionTimestamp and the `foregroundDeletion`
  finalizer; its dependents are deleted (foreground themselves when they have
  blockOwnerDeletion) and the finalizer goes when no dependent with
  blockOwnerDeletion=true remains;
- Orphan: the `orphan` finalizer; the owner's references are removed from
  its dependents, then the finalizer.
Namespaces: a deleted namespace is Terminating; everything in it is deleted,
then the `kubernetes` spec finalizer is removed and the namespace goes. A
deleted CRD loses all its custom resources first
(customresourcecleanup.apiextensions.k8s.io).

Later simulated controllers (scheduler, kubelets, workload controllers)
belong in modules of their own with the same shape: subscribe to the store,
write through the API.
"""
import threading
import time

from .util import ApiError

GROUP_RBAC = "rbac.authorization.k8s.io"


class Controllers:
    def __init__(self, api, ca_pem):
        self.api = api
        self.store = api.store
        self.reg = api.reg
        self.ca_pem = ca_pem
        self.wake = threading.Event()
        self.stop = threading.Event()
        self.store.subscribe(lambda ev: self.wake.set())
        self.thread = threading.Thread(target=self._run, name="controllers", daemon=True)

    def start(self):
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            self.wake.wait(1.0)
            self.wake.clear()
            time.sleep(0.02)  # let a burst of writes land before one pass
            try:
                self.pass_once()
            except Exception as e:  # a controller keeps running, as in a real control plane
                import traceback
                traceback.print_exc()
                print(f"kbox: controller pass failed: {e}", flush=True)

    # ---- helpers
    def _req(self, res, ns, name, method="DELETE", body=None, query=None):
        r = self.api.system_request(res, ns, name, method, body)
        if query:
            r.query = {k: [v] for k, v in query.items()}
        return r

    def _delete(self, res, ns, name, policy="Background", uid=None):
        body = {"propagationPolicy": policy}
        if uid:
            body["preconditions"] = {"uid": uid}
        try:
            self.api.delete(self._req(res, ns, name), body)
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    def _update(self, res, obj):
        m = obj["metadata"]
        r = self._req(res, m.get("namespace", ""), m["name"], "PUT")
        r.headers["User-Agent"] = "kbox-controller"
        try:
            with self.store.lock:
                old = self.store.get(self.api.key(res, m.get("namespace", ""), m["name"]))
                if old is None or old["metadata"]["resourceVersion"] != m["resourceVersion"]:
                    return
                self.api.write(r, old, obj, "kbox-controller", "Update")
        except ApiError as e:
            if e.code not in (404, 409):
                raise

    def _res_of(self, api_version, kind):
        return self.reg.by_kind(api_version, kind) or self._by_group_kind(api_version, kind)

    def _by_group_kind(self, api_version, kind):
        g = api_version.rpartition("/")[0]
        for r in self.reg.rows.values():
            if r.group == g and r.kind == kind:
                return r
        return None

    # ---- one pass of every controller
    def pass_once(self):
        with self.store.lock:
            objs = list(self.store.objs.items())
        self.namespaces(objs)
        self.crd_cleanup(objs)
        self.garbage_collect(objs)

    def namespaces(self, objs):
        nss = [o for k, o in objs if k[0] == "" and k[1] == "namespaces"]
        nsres = self.reg.lookup("", "v1", "namespaces")
        for ns in nss:
            name = ns["metadata"]["name"]
            if ns["metadata"].get("deletionTimestamp"):
                left = [(k, o) for k, o in objs if k[2] == name and k[1] != "namespaces"]
                for k, o in left:
                    res = self.reg.rows.get((k[0], k[1]))
                    if res is not None and not o["metadata"].get("deletionTimestamp"):
                        self._delete(res, name, k[3])
                if not left and "kubernetes" in ((ns.get("spec") or {}).get("finalizers") or []):
                    new = dict(ns)
                    new["spec"] = dict(ns.get("spec") or {})
                    new["spec"]["finalizers"] = [f for f in new["spec"]["finalizers"] if f != "kubernetes"]
                    import copy
                    new = copy.deepcopy(new)
                    new["status"] = {"phase": "Terminating"}
                    with self.store.lock:
                        cur = self.store.get(("", "namespaces", "", name))
                        if cur is None or cur["metadata"]["resourceVersion"] != ns["metadata"]["resourceVersion"]:
                            continue
                        if not new["spec"]["finalizers"] and not new["metadata"].get("finalizers"):
                            self.store.delete(("", "namespaces", "", name))
                        else:
                            self.store.commit(("", "namespaces", "", name), new, "MODIFIED")
                continue
            self._ns_defaults(name, objs)
        del nsres

    def _ns_defaults(self, ns, objs):
        if ("", "serviceaccounts", ns, "default") not in dict(objs):
            self._create("serviceaccounts", ns, {"apiVersion": "v1", "kind": "ServiceAccount",
                                                 "metadata": {"name": "default", "namespace": ns}})
        if self.ca_pem and ("", "configmaps", ns, "kube-root-ca.crt") not in dict(objs):
            self._create("configmaps", ns, {"apiVersion": "v1", "kind": "ConfigMap",
                                            "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                                                         "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                                            "data": {"ca.crt": self.ca_pem}})

    def _create(self, plural, ns, obj):
        import json
        res = self.reg.lookup("", "v1", plural)
        r = self._req(res, ns, "", "POST", obj)
        r.headers["Content-Type"] = "application/json"
        r.body = json.dumps(obj).encode()
        try:
            self.api.create(r)
        except ApiError as e:
            if e.code not in (409, 403, 404):
                raise

    def crd_cleanup(self, objs):
        for k, crd in objs:
            if k[1] != "customresourcedefinitions" or not crd["metadata"].get("deletionTimestamp"):
                continue
            spec = crd.get("spec") or {}
            g, plural = spec.get("group"), (spec.get("names") or {}).get("plural")
            res = self.reg.rows.get((g, plural))
            left = [(kk, o) for kk, o in objs if kk[0] == g and kk[1] == plural]
            for kk, o in left:
                if res is not None and not o["metadata"].get("deletionTimestamp"):
                    self._delete(res, kk[2], kk[3])
            fins = crd["metadata"].get("finalizers") or []
            if not left and "customresourcecleanup.apiextensions.k8s.io" in fins:
                import copy
                new = copy.deepcopy(crd)
                new["metadata"]["finalizers"] = [f for f in fins if f != "customresourcecleanup.apiextensions.k8s.io"]
                crdres = self.reg.lookup("apiextensions.k8s.io", "v1", "customresourcedefinitions")
                self._update(crdres, new)
                if not new["metadata"]["finalizers"]:
                    self.reg.set_crd(dict(new, status={}))

    def garbage_collect(self, objs):
        import copy
        by_uid = {o["metadata"].get("uid"): (k, o) for k, o in objs}
        dependents = {}
        for k, o in objs:
            for ref in o["metadata"].get("ownerReferences") or []:
                dependents.setdefault(ref.get("uid"), []).append((k, o))

        def owner_present(k, ref):
            hit = by_uid.get(ref.get("uid"))
            if hit is None:
                return None
            ok, oo = hit
            ores = self.reg.rows.get((ok[0], ok[1]))
            if ores is None or oo.get("kind", ores.kind) != ref.get("kind") and ores.kind != ref.get("kind"):
                return None
            if ok[3] != ref.get("name"):
                return None
            if ores.namespaced:
                if not k[2] or ok[2] != k[2]:
                    return None  # cross-namespace or cluster-scoped dependent: unresolvable
            return oo

        # owners being deleted: foreground / orphan finalizers
        for k, o in objs:
            m = o["metadata"]
            if not m.get("deletionTimestamp"):
                continue
            fins = m.get("finalizers") or []
            res = self.reg.rows.get((k[0], k[1]))
            if res is None:
                continue
            deps = dependents.get(m.get("uid"), [])
            if "orphan" in fins:
                for dk, do in deps:
                    dres = self.reg.rows.get((dk[0], dk[1]))
                    nd = copy.deepcopy(do)
                    nd["metadata"]["ownerReferences"] = [r for r in nd["metadata"].get("ownerReferences") or []
                                                         if r.get("uid") != m.get("uid")]
                    if not nd["metadata"]["ownerReferences"]:
                        del nd["metadata"]["ownerReferences"]
                    self._update(dres, nd)
                new = copy.deepcopy(o)
                new["metadata"]["finalizers"] = [f for f in fins if f != "orphan"]
                self._update(res, new)
                continue
            if "foregroundDeletion" in fins:
                blocking = False
                for dk, do in deps:
                    dres = self.reg.rows.get((dk[0], dk[1]))
                    ref = next(r for r in do["metadata"]["ownerReferences"] if r.get("uid") == m.get("uid"))
                    if owner_present(dk, ref) is None:
                        continue
                    if ref.get("blockOwnerDeletion"):
                        blocking = True
                    if dres is not None and not do["metadata"].get("deletionTimestamp"):
                        self._delete(dres, dk[2], dk[3], "Foreground" if ref.get("blockOwnerDeletion") else "Background",
                                     do["metadata"].get("uid"))
                if not blocking:
                    new = copy.deepcopy(o)
                    new["metadata"]["finalizers"] = [f for f in fins if f != "foregroundDeletion"]
                    self._update(res, new)

        # dependents whose owners are absent
        for k, o in objs:
            refs = o["metadata"].get("ownerReferences") or []
            if not refs or o["metadata"].get("deletionTimestamp"):
                continue
            res = self.reg.rows.get((k[0], k[1]))
            if res is None:
                continue
            present = [r for r in refs if owner_present(k, r) is not None]
            if not present:
                self._delete(res, k[2], k[3], "Background", o["metadata"].get("uid"))
            elif len(present) != len(refs):
                new = copy.deepcopy(o)
                new["metadata"]["ownerReferences"] = present
                self._update(res, new)
