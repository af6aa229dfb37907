# SPDX-License-Identifier: MIT
"""kboxd.snapshots: VolumeSnapshots, as the snapshot-controller and the csi-snapshotter sidecar
of kubernetes-csi/external-snapshotter handle them (snapshot.storage.k8s.io/v1, CONTROLPLANE.md §2.1).

- Dynamic: a VolumeSnapshot of a bound claim gets its class (spec.volumeSnapshotClassName, or
  the default class of the claim's driver, written into the spec), a VolumeSnapshotContent
  `snapcontent-<snapshot uid>` (volumeSnapshotRef with uid, driver, deletionPolicy from the
  class, source.volumeHandle, sourceVolumeMode), status.boundVolumeSnapshotContentName and
  readyToUse false (event CreatingSnapshot). The sidecar cuts the snapshot (a reflink copy:
  csi.Pool.create_snapshot) and writes the content's status (snapshotHandle, creationTime in
  ns, restoreSize in bytes, readyToUse false), and after `snapshotReadySeconds` (box config
  `storage:`, default 1 s: the upload phase of a cloud snapshot) readyToUse true; the
  controller copies it to the snapshot (creationTime as a time, restoreSize as a quantity;
  events SnapshotCreated, SnapshotReady). The claim carries
  snapshot.storage.kubernetes.io/pvc-as-source-protection until the cut.
- Pre-provisioned: a content with source.snapshotHandle and a volumeSnapshotRef, bound by a
  snapshot whose source.volumeSnapshotContentName names it (the ref's uid is then filled);
  the sidecar reads the snapshot's size and time from the driver.
- Deletion: a snapshot's finalizers (volumesnapshot-as-source-protection while a claim is
  being provisioned from it, volumesnapshot-bound-protection) hold it until its content is
  deleted (deletionPolicy Delete: the snapshot's file goes too) or, for Retain, left
  unbound; the content's volumesnapshotcontent-bound-protection until the sidecar deleted
  the snapshot.
"""
import datetime
import time

from . import csi, ctrl
from .util import deepcopy

G = "snapshot.storage.k8s.io"
V = "v1"
FIN_SOURCE = "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection"
FIN_BOUND = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
FIN_CONTENT = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
FIN_PVC = "snapshot.storage.kubernetes.io/pvc-as-source-protection"
ANN_CREATING = "snapshot.storage.kubernetes.io/volumesnapshot-being-created"
ANN_DELETING = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
DEFAULT = "snapshot.storage.kubernetes.io/is-default-class"
CTRL = "snapshot-controller"


def rfc3339_ns(ns):
    return datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SnapshotController(ctrl.Controller):
    kinds = ((G, "volumesnapshots"), (G, "volumesnapshotcontents"), (G, "volumesnapshotclasses"),
             ("", "persistentvolumeclaims"), ("", "persistentvolumes"))
    agent = "snapshot-controller/v8.2.0 (linux/amd64) kubernetes/kbox"
    name_ = "snapshot-controller"
    period = 0.5

    def __init__(self, box, pools, ready_seconds=1.0):
        super().__init__(box)
        self.pools = pools
        self.ready_seconds = float(ready_seconds)

    def pass_once(self):
        contents = self.objs(G, "volumesnapshotcontents")
        # the sidecar polls a snapshot that is not ready yet; otherwise the changes wake it
        self.period = 0.5 if any(not (c.get("status") or {}).get("readyToUse") for c in contents) else 10.0
        for vsc in contents:
            self.guard(self.sync_content, vsc)
        for vs in self.objs(G, "volumesnapshots"):
            self.guard(self.sync_snapshot, vs)
        self.pvc_protection()

    def guard(self, fn, obj):
        try:
            fn(obj)
        except Exception as e:
            import traceback
            traceback.print_exc()
            print(f"kbox: {self.name_}: {obj['metadata']['name']}: {e}", flush=True)
            time.sleep(0.2)

    # ---- helpers
    def status(self, obj, plural, st):
        new = deepcopy(obj)
        new["status"] = st
        return self.update(G, V, plural, new, "status")

    def set_finalizers(self, obj, plural, fins, group=G, version=V):
        if list(obj["metadata"].get("finalizers") or []) == fins:
            return obj
        new = deepcopy(obj)
        new["metadata"]["finalizers"] = fins
        return self.update(group, version, plural, new)

    def vs_error(self, vs, msg):
        st = dict(vs.get("status") or {})
        if (st.get("error") or {}).get("message") == msg:
            return
        st["error"] = {"message": msg, "time": ctrl.now_time()}
        st.setdefault("readyToUse", False)
        self.status(vs, "volumesnapshots", st)
        self.event(vs, "Warning", "SnapshotCreationFailed" if "class" not in msg else "GetSnapshotClassFailed",
                   msg, component=CTRL)

    # ---- the sidecar's part: contents
    def sync_content(self, vsc):
        m = vsc["metadata"]
        spec = vsc.get("spec") or {}
        pool = self.pools.get(spec.get("driver"))
        if pool is None:
            return
        st = vsc.get("status") or {}
        if m.get("deletionTimestamp"):
            fins = m.get("finalizers") or []
            if FIN_CONTENT in fins:
                ref = spec.get("volumeSnapshotRef") or {}
                vs = self.store.get((G, "volumesnapshots", ref.get("namespace"), ref.get("name")))
                if vs is not None and vs["metadata"]["uid"] == ref.get("uid") and \
                        not vs["metadata"].get("deletionTimestamp"):
                    return  # still bound to a live snapshot
                if spec.get("deletionPolicy") == "Delete" and st.get("snapshotHandle"):
                    pool.delete_snapshot(st["snapshotHandle"])
                self.set_finalizers(vsc, "volumesnapshotcontents", [f for f in fins if f != FIN_CONTENT])
            return
        src = spec.get("source") or {}
        ref = spec.get("volumeSnapshotRef") or {}
        if ref.get("uid") and FIN_CONTENT not in (m.get("finalizers") or []):
            vsc = self.set_finalizers(vsc, "volumesnapshotcontents", list(m.get("finalizers") or []) + [FIN_CONTENT])
            if vsc is None:
                return
        if src.get("volumeHandle") and not st.get("snapshotHandle"):
            if not ref.get("uid"):
                return
            try:
                res = pool.create_snapshot(src["volumeHandle"], f"snapshot-{ref['uid']}")
            except csi.CsiError as e:
                self.status(vsc, "volumesnapshotcontents", {"readyToUse": False, "error": {
                    "message": f"Failed to check and update snapshot content: failed to take snapshot of the volume "
                               f"{src['volumeHandle']}: \"rpc error: code = {e.code} desc = {e.message}\"",
                    "time": ctrl.now_time()}})
                return
            self.status(vsc, "volumesnapshotcontents", {
                "snapshotHandle": res["snapshot_id"], "creationTime": res["creation_time"],
                "restoreSize": res["size_bytes"], "readyToUse": self.ready_seconds <= 0})
            cur = self.store.get((G, "volumesnapshotcontents", "", m["name"]))
            if cur is not None and ANN_CREATING in (cur["metadata"].get("annotations") or {}):
                new = deepcopy(cur)
                del new["metadata"]["annotations"][ANN_CREATING]
                self.update(G, V, "volumesnapshotcontents", new)
            return
        if src.get("snapshotHandle") and not st.get("snapshotHandle"):
            meta = pool.snapshot(src["snapshotHandle"])
            if meta is None:
                self.status(vsc, "volumesnapshotcontents", {"readyToUse": False, "error": {
                    "message": f"Failed to check and update snapshot content: failed to list snapshot for content "
                               f"{m['name']}: \"rpc error: code = NotFound desc = snapshot {src['snapshotHandle']} "
                               "not found\"", "time": ctrl.now_time()}})
                return
            self.status(vsc, "volumesnapshotcontents", {
                "snapshotHandle": src["snapshotHandle"], "creationTime": meta["created"],
                "restoreSize": meta["size"], "readyToUse": True})
            return
        if st.get("snapshotHandle") and not st.get("readyToUse"):
            if time.time_ns() >= st.get("creationTime", 0) + int(self.ready_seconds * 1e9):
                self.status(vsc, "volumesnapshotcontents", dict(st, readyToUse=True))

    # ---- the controller's part: snapshots
    def sync_snapshot(self, vs):
        m = vs["metadata"]
        ns, name = m["namespace"], m["name"]
        spec = vs.get("spec") or {}
        src = spec.get("source") or {}
        st = vs.get("status") or {}
        bound = st.get("boundVolumeSnapshotContentName")
        vsc = self.store.get((G, "volumesnapshotcontents", "", bound)) if bound else None
        if m.get("deletionTimestamp"):
            self.delete_snapshot(vs, vsc)
            return
        fins = list(m.get("finalizers") or [])
        want = fins + [f for f in (FIN_SOURCE, FIN_BOUND) if f not in fins]
        if want != fins:
            vs = self.set_finalizers(vs, "volumesnapshots", want)
            if vs is None:
                return
        if not bound:
            if src.get("persistentVolumeClaimName"):
                self.bind_dynamic(vs)
            elif src.get("volumeSnapshotContentName"):
                self.bind_static(vs)
            return
        if vsc is None:
            if st.get("readyToUse") is not False or not (st.get("error") or {}).get("message", "").startswith("VolumeSnapshotContent is missing"):
                self.status(vs, "volumesnapshots", dict(st, readyToUse=False, error={
                    "message": "VolumeSnapshotContent is missing", "time": ctrl.now_time()}))
                self.event(vs, "Warning", "SnapshotContentMissing", "VolumeSnapshotContent is missing", component=CTRL)
            return
        cst = vsc.get("status") or {}
        want = dict(st)
        want["boundVolumeSnapshotContentName"] = bound
        if cst.get("creationTime") is not None:
            want["creationTime"] = rfc3339_ns(cst["creationTime"])
        if cst.get("restoreSize") is not None:
            want["restoreSize"] = csi.quantity(cst["restoreSize"])
        want["readyToUse"] = bool(cst.get("readyToUse"))
        if cst.get("error"):
            want["error"] = cst["error"]
        else:
            want.pop("error", None)
        if want != st:
            if "creationTime" in want and "creationTime" not in st:
                self.event(vs, "Normal", "SnapshotCreated", f"Snapshot {ns}/{name} was successfully created by the CSI "
                           "driver.", component=CTRL)
            if want["readyToUse"] and not st.get("readyToUse"):
                self.event(vs, "Normal", "SnapshotReady", f"Snapshot {ns}/{name} is ready to use.", component=CTRL)
            self.status(vs, "volumesnapshots", want)

    def default_class(self, driver):
        for c in self.objs(G, "volumesnapshotclasses"):
            if c.get("driver") == driver and str((c["metadata"].get("annotations") or {}).get(DEFAULT)).lower() == "true":
                return c
        return None

    def bind_dynamic(self, vs):
        m = vs["metadata"]
        ns, name = m["namespace"], m["name"]
        spec = vs.get("spec") or {}
        claim = spec["source"]["persistentVolumeClaimName"]
        pvc = self.store.get(("", "persistentvolumeclaims", ns, claim))
        if pvc is None:
            return self.vs_error(vs, f"Failed to create snapshot content with error snapshot controller failed to "
                                     f'update {ns}/{name} on API server: cannot get claim from snapshot: '
                                     f'persistentvolumeclaim "{claim}" not found')
        vn = (pvc.get("spec") or {}).get("volumeName")
        pv = self.store.get(("", "persistentvolumes", "", vn)) if vn else None
        if pv is None or (pvc.get("status") or {}).get("phase") != "Bound":
            return self.vs_error(vs, f"the PVC {claim} is not yet bound to a PV, will not attempt to take a snapshot")
        drv = ((pv.get("spec") or {}).get("csi") or {}).get("driver")
        cname = spec.get("volumeSnapshotClassName")
        if cname:
            cls = self.store.get((G, "volumesnapshotclasses", "", cname))
            if cls is None:
                return self.vs_error(vs, f"Failed to get snapshot class with error volumesnapshotclass.snapshot."
                                         f'storage.k8s.io "{cname}" not found')
        else:
            cls = self.default_class(drv)
            if cls is None:
                return self.vs_error(vs, "Failed to set default snapshot class with error cannot find default "
                                         "snapshot class")
            new = deepcopy(vs)
            new["spec"]["volumeSnapshotClassName"] = cls["metadata"]["name"]
            vs = self.update(G, V, "volumesnapshots", new)
            if vs is None:
                return
        if cls.get("driver") != drv:
            return self.vs_error(vs, f"Failed to create snapshot content with error snapshot controller failed to "
                                     f"update {ns}/{name} on API server: the snapshot class driver {cls.get('driver')} "
                                     f"does not match the volume's driver {drv}")
        fins = pvc["metadata"].get("finalizers") or []
        if FIN_PVC not in fins:
            self.set_finalizers(pvc, "persistentvolumeclaims", list(fins) + [FIN_PVC], "", "v1")
        cname = f"snapcontent-{m['uid']}"
        vsc = {"apiVersion": f"{G}/{V}", "kind": "VolumeSnapshotContent",
               "metadata": {"name": cname, "annotations": {ANN_CREATING: "yes"}},
               "spec": {"volumeSnapshotRef": {"kind": "VolumeSnapshot", "apiVersion": f"{G}/{V}", "namespace": ns,
                                              "name": name, "uid": m["uid"], "resourceVersion": m["resourceVersion"]},
                        "driver": drv, "deletionPolicy": cls.get("deletionPolicy", "Delete"),
                        "source": {"volumeHandle": pv["spec"]["csi"]["volumeHandle"]},
                        "volumeSnapshotClassName": cls["metadata"]["name"],
                        "sourceVolumeMode": pv["spec"].get("volumeMode") or "Filesystem"}}
        if self.store.get((G, "volumesnapshotcontents", "", cname)) is None:
            if self.create(G, V, "volumesnapshotcontents", "", vsc) is None:
                return
        self.event(vs, "Normal", "CreatingSnapshot", f"Waiting for a snapshot {ns}/{name} to be created by the CSI "
                   "driver.", component=CTRL)
        self.status(vs, "volumesnapshots", {"boundVolumeSnapshotContentName": cname, "readyToUse": False})

    def bind_static(self, vs):
        m = vs["metadata"]
        cname = vs["spec"]["source"]["volumeSnapshotContentName"]
        vsc = self.store.get((G, "volumesnapshotcontents", "", cname))
        if vsc is None:
            return self.vs_error(vs, "VolumeSnapshotContent is missing")
        ref = (vsc.get("spec") or {}).get("volumeSnapshotRef") or {}
        if ref.get("name") != m["name"] or ref.get("namespace") != m["namespace"] or \
                ref.get("uid") not in (None, "", m["uid"]):
            return self.vs_error(vs, f"Snapshot failed to bind VolumeSnapshotContent, VolumeSnapshotContent "
                                     f"[{cname}] is bound to a different snapshot")
        if not ref.get("uid"):
            new = deepcopy(vsc)
            new["spec"]["volumeSnapshotRef"] = dict(ref, uid=m["uid"], resourceVersion=m["resourceVersion"],
                                                    kind="VolumeSnapshot", apiVersion=f"{G}/{V}")
            if self.update(G, V, "volumesnapshotcontents", new) is None:
                return
        self.status(vs, "volumesnapshots", {"boundVolumeSnapshotContentName": cname, "readyToUse": False})

    def delete_snapshot(self, vs, vsc):
        m = vs["metadata"]
        fins = list(m.get("finalizers") or [])
        if FIN_SOURCE in fins and not self.in_use_as_source(vs):
            fins.remove(FIN_SOURCE)
        if FIN_BOUND in fins:
            if vsc is None or (vsc.get("spec") or {}).get("deletionPolicy") != "Delete":
                fins.remove(FIN_BOUND)
            elif not vsc["metadata"].get("deletionTimestamp"):
                new = deepcopy(vsc)
                new["metadata"].setdefault("annotations", {})[ANN_DELETING] = "yes"
                if self.update(G, V, "volumesnapshotcontents", new) is not None:
                    self.delete(G, V, "volumesnapshotcontents", new)
            else:
                fins.remove(FIN_BOUND)
        if fins != (m.get("finalizers") or []) and FIN_SOURCE not in fins:
            self.set_finalizers(vs, "volumesnapshots", fins)
        elif fins != (m.get("finalizers") or []):
            self.set_finalizers(vs, "volumesnapshots", fins)

    def in_use_as_source(self, vs):
        for pvc in self.objs("", "persistentvolumeclaims", vs["metadata"]["namespace"]):
            spec = pvc.get("spec") or {}
            ds = spec.get("dataSourceRef") or spec.get("dataSource") or {}
            if ds.get("kind") == "VolumeSnapshot" and ds.get("name") == vs["metadata"]["name"] and \
                    (pvc.get("status") or {}).get("phase") == "Pending" and not spec.get("volumeName"):
                return True
        return False

    def pvc_protection(self):
        taking = set()
        for vs in self.objs(G, "volumesnapshots"):
            claim = ((vs.get("spec") or {}).get("source") or {}).get("persistentVolumeClaimName")
            if claim and not (vs.get("status") or {}).get("creationTime") and not vs["metadata"].get("deletionTimestamp"):
                taking.add((vs["metadata"]["namespace"], claim))
        for pvc in self.objs("", "persistentvolumeclaims"):
            fins = pvc["metadata"].get("finalizers") or []
            if FIN_PVC in fins and (pvc["metadata"]["namespace"], pvc["metadata"]["name"]) not in taking:
                self.set_finalizers(pvc, "persistentvolumeclaims", [f for f in fins if f != FIN_PVC], "", "v1")
