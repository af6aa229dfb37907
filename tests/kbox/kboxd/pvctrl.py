# SPDX-License-Identifier: MIT
"""kboxd.pvctrl: claims and volumes: the PV controller, the CSI provisioner, protection,
quota, generic ephemeral volumes, and the scheduler's volume checks.

In the server, as kube-controller-manager's and the CSI sidecars' stand-ins:

- persistentvolume-binder (pkg/controller/volume/persistentvolume): a claim binds to a
  volume pre-bound to it (spec.claimRef, the populators' rebind), else to the smallest
  Available volume of its class that fits (capacity, access modes, volume mode, selector,
  the selected node for WaitForFirstConsumer), else is provisioned: Immediate at once,
  WaitForFirstConsumer once the scheduler wrote `volume.kubernetes.io/selected-node`
  (event WaitForFirstConsumer until then). Binding writes the volume's claimRef
  (pv.kubernetes.io/bound-by-controller), its phase Bound, the claim's volumeName
  (pv.kubernetes.io/bind-completed) and phase Bound with capacity and access modes. A
  claim whose volume went to another claim is Lost (event ClaimLost). A volume whose
  claim is gone is Released, then reclaimed: Retain keeps it, Delete deletes the backing
  volume and the object, Recycle fails (no recycler), as on a cluster.
- external-provisioner (kubernetes-csi/external-provisioner) for the box's two drivers:
  events Provisioning / ProvisioningSucceeded / ProvisioningFailed with its message
  shapes, PVs `pvc-<claim uid>` with the driver's topology as node affinity, from a
  snapshot (dataSource/dataSourceRef VolumeSnapshot: bound, ready, same driver,
  restoreSize <= request, and the volume-mode rule of --prevent-volume-mode-conversion)
  or a clone of a claim; claims whose dataSourceRef names another kind are left to their
  populator. The finalizer external-provisioner.volume.kubernetes.io/finalizer holds a
  Delete volume until its backing volume is gone.
- pvc-protection / pv-protection: the finalizers kubernetes.io/pvc-protection (a claim
  used by a pod that is not terminated stays) and kubernetes.io/pv-protection (a bound
  volume stays), added at creation by admission (StorageObjectInUseProtection).
- resourcequota for claims: status.used of requests.storage, persistentvolumeclaims and
  their per-class forms <class>.storageclass.storage.k8s.io/...; admission refuses a
  claim (or a growth) past `hard` with the apiserver's "exceeded quota" message.
- DefaultStorageClass admission; dataSource and dataSourceRef kept equal when one is set.
- the ephemeral-volume controller: a pod's `ephemeral` volume becomes the claim
  <pod>-<volume>, owned by the pod.
- scheduler plugins (sched.EXTRA_FILTERS / PRE_BIND): VolumeBinding (claims exist,
  immediate claims bound, a bound volume's node affinity, a WaitForFirstConsumer claim's
  driver on the node), NodeVolumeLimits (CSINode allocatable.count per driver) and, before
  binding the pod, selected-node on its WaitForFirstConsumer claims and a wait for them
  to bind (the scheduler's PreBind; a claim still provisioning or being populated leaves
  the pod for the next pass, with no FailedScheduling event).
"""
import random
import time

from . import csi, ctrl
from .util import FieldError, deepcopy, forbidden, invalid, now_time

PV_CTRL = "persistentvolume-controller"
SELECTED = "volume.kubernetes.io/selected-node"
ANN_PROV = "volume.kubernetes.io/storage-provisioner"
ANN_PROV_BETA = "volume.beta.kubernetes.io/storage-provisioner"
PVC_PROTECT = "kubernetes.io/pvc-protection"
PV_PROTECT = "kubernetes.io/pv-protection"
PROV_FIN = "external-provisioner.volume.kubernetes.io/finalizer"
DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ALLOW_MODE = "snapshot.storage.kubernetes.io/allow-volume-mode-change"
SNAP_GROUP = "snapshot.storage.k8s.io"


def request_of(pvc):
    return csi.parse_size((((pvc.get("spec") or {}).get("resources") or {}).get("requests") or {}).get("storage") or 0)


def claim_source(pvc):
    spec = pvc.get("spec") or {}
    return spec.get("dataSourceRef") or spec.get("dataSource")


def is_snapshot_ref(ds):
    return ds.get("kind") == "VolumeSnapshot" and ds.get("apiGroup") == SNAP_GROUP


def is_claim_ref(ds):
    return ds.get("kind") == "PersistentVolumeClaim" and not ds.get("apiGroup")


def pod_claims(pod):
    """Claim names a pod uses (its ephemeral volumes' claims included)."""
    out = []
    for v in (pod.get("spec") or {}).get("volumes") or []:
        if "persistentVolumeClaim" in v:
            out.append(v["persistentVolumeClaim"].get("claimName"))
        elif "ephemeral" in v:
            out.append(f"{pod['metadata']['name']}-{v['name']}")
    return out


def node_matches(affinity, node):
    from .sched import match_term
    terms = ((affinity or {}).get("required") or {}).get("nodeSelectorTerms")
    if not terms:
        return True
    return any(match_term(t, node) for t in terms)


def is_true(v):
    return str(v).lower() == "true"


class ProvisionError(Exception):
    pass


class PVController(ctrl.Controller):
    kinds = (("", "persistentvolumeclaims"), ("", "persistentvolumes"), ("storage.k8s.io", "storageclasses"),
             ("", "pods"), (SNAP_GROUP, "volumesnapshots"), (SNAP_GROUP, "volumesnapshotcontents"),
             ("", "resourcequotas"))
    agent = "kube-controller-manager/v1.32.3 (linux/amd64) kubernetes/kbox/persistent-volume-binder"
    name_ = "pv-controller"
    period = 5.0

    def __init__(self, box, pools):
        super().__init__(box)
        self.pools = pools
        self.prov_id = f"{int(time.time() * 1000)}-{random.randint(1000, 9999)}-kbox"
        self.said = {}
        self.backoff = {}  # claim uid -> (next attempt, delay)

    def once(self, obj, reason, message, typ="Normal", component=PV_CTRL):
        """An event the controller repeats while the state lasts: at most every 15 s, as its
        resync does (aggregated into one Event with a count)."""
        key = (obj["metadata"].get("uid"), reason, message)
        if time.time() - self.said.get(key, 0) < 15:
            return
        self.said[key] = time.time()
        if len(self.said) > 5000:
            self.said.clear()
        self.event(obj, typ, reason, message, component=component)

    # ---- the pass
    def pass_once(self):
        self.ephemeral()
        pvcs = self.objs("", "persistentvolumeclaims")
        pvs = {p["metadata"]["name"]: p for p in self.objs("", "persistentvolumes")}
        classes = {c["metadata"]["name"]: c for c in self.objs("storage.k8s.io", "storageclasses")}
        pvcs.sort(key=lambda c: c["metadata"].get("creationTimestamp", ""))
        for pvc in pvcs:
            self.guard(self.sync_claim, pvc, pvs, classes)
        claims = {(c["metadata"]["namespace"], c["metadata"]["name"]): c
                  for c in self.objs("", "persistentvolumeclaims")}
        for pv in self.objs("", "persistentvolumes"):
            self.guard(self.sync_volume, pv, claims)
        self.quotas()

    def guard(self, fn, obj, *args):
        """One object's failure is logged and retried next pass; the others go on."""
        try:
            fn(obj, *args)
        except Exception as e:
            import traceback
            traceback.print_exc()
            print(f"kbox: {self.name_}: {obj['metadata']['name']}: {e}", flush=True)
            self.wake.set()
            time.sleep(0.2)

    # ---- claims
    def sync_claim(self, pvc, pvs, classes):
        m = pvc["metadata"]
        spec = pvc.get("spec") or {}
        if m.get("deletionTimestamp"):
            self.protect_claim(pvc)
            return
        vn = spec.get("volumeName")
        phase = (pvc.get("status") or {}).get("phase")
        if vn:
            pv = pvs.get(vn)
            if pv is None:
                if phase == "Bound":
                    self.claim_phase(pvc, "Lost")
                    self.once(pvc, "ClaimLost", "Bound claim has lost reference to PersistentVolume. "
                                                "Data on the volume is lost!", "Warning")
                return
            ref = (pv.get("spec") or {}).get("claimRef")
            if ref is None or (not ref.get("uid") and ref.get("name") == m["name"]
                               and ref.get("namespace") == m["namespace"]):
                why = self.unfit(pv, pvc)
                if why:
                    self.once(pvc, "FailedBinding", f"Cannot bind to requested volume \"{vn}\": {why}", "Warning")
                    return
                pv = self.bind_volume(pv, pvc)
                if pv is not None:
                    self.bind_claim(pvc, pv, by_controller=False)
            elif ref.get("uid") == m["uid"]:
                if phase != "Bound" or (pv.get("status") or {}).get("phase") != "Bound":
                    self.volume_phase(pv, "Bound")
                    self.bind_claim(pvc, pv, by_controller=False)
            elif phase == "Bound" or (m.get("annotations") or {}).get("pv.kubernetes.io/bind-completed"):
                if phase != "Lost":
                    self.claim_phase(pvc, "Lost")
                    self.once(pvc, "ClaimLost", "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                              "Warning")
            else:
                self.once(pvc, "FailedBinding", f"volume \"{vn}\" already bound to a different claim.", "Warning")
            return
        # a volume pre-bound to this claim (a populator's rebind, or an administrator's)
        for pv in pvs.values():
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if ref.get("namespace") == m["namespace"] and ref.get("name") == m["name"] and \
                    ref.get("uid") in (None, "", m["uid"]) and not pv["metadata"].get("deletionTimestamp"):
                if self.unfit(pv, pvc):
                    continue
                if not ref.get("uid"):
                    pv = self.bind_volume(pv, pvc)
                    if pv is None:
                        return
                self.volume_phase(pv, "Bound")
                self.bind_claim(pvc, pv, by_controller=True)
                return
        scn = spec.get("storageClassName")
        sc = classes.get(scn) if scn else None
        wffc = sc is not None and sc.get("volumeBindingMode") == "WaitForFirstConsumer"
        sel = (m.get("annotations") or {}).get(SELECTED)
        if not wffc or sel:
            pv = self.find_match(pvc, pvs, sel)
            if pv is not None:
                pv = self.bind_volume(pv, pvc)
                if pv is not None:
                    pvs[pv["metadata"]["name"]] = pv
                    self.volume_phase(pv, "Bound")
                    self.bind_claim(pvc, pv, by_controller=True)
                return
        if scn and sc is None:
            self.once(pvc, "ProvisioningFailed", f'storageclass.storage.k8s.io "{scn}" not found', "Warning")
            return
        if sc is None:
            self.once(pvc, "FailedBinding", "no persistent volumes available for this claim and no storage class is set")
            return
        prov = sc.get("provisioner", "")
        if wffc and not sel:
            self.once(pvc, "WaitForFirstConsumer", "waiting for first consumer to be created before binding")
            return
        if prov == "kubernetes.io/no-provisioner":
            self.once(pvc, "FailedBinding", "no persistent volumes available for this claim and no storage class is set"
                      if not scn else "no persistent volumes available for this claim", "Warning")
            return
        ann = m.get("annotations") or {}
        if ann.get(ANN_PROV) != prov or ann.get(ANN_PROV_BETA) != prov:
            new = deepcopy(pvc)
            new["metadata"].setdefault("annotations", {}).update({ANN_PROV: prov, ANN_PROV_BETA: prov})
            pvc = self.update("", "v1", "persistentvolumeclaims", new)
            if pvc is None:
                return
        self.once(pvc, "ExternalProvisioning",
                  f"Waiting for a volume to be created either by the external provisioner '{prov}' or manually by the "
                  "system administrator. If volume creation is delayed, please verify that the provisioner is running "
                  "and correctly registered.")
        if prov not in csi.DRIVERS:
            return
        ds = claim_source(pvc)
        if ds and not (is_snapshot_ref(ds) or is_claim_ref(ds)):
            return  # a populator's: external-provisioner leaves it alone
        self.provision(pvc, sc, sel, pvs)

    def unfit(self, pv, pvc):
        """Why pv cannot serve pvc (checkVolumeSatisfyClaim), or None."""
        ps, cs = pv.get("spec") or {}, pvc.get("spec") or {}
        if csi.parse_size((ps.get("capacity") or {}).get("storage") or 0) < request_of(pvc):
            return "requested PV is too small"
        if (ps.get("storageClassName") or "") != (cs.get("storageClassName") or ""):
            return "storageClassName does not match"
        if (ps.get("volumeMode") or "Filesystem") != (cs.get("volumeMode") or "Filesystem"):
            return "incompatible volumeMode"
        if not set(cs.get("accessModes") or []) <= set(ps.get("accessModes") or []):
            return "incompatible accessMode"
        return None

    def find_match(self, pvc, pvs, sel_node):
        from .selectors import match_selector_object
        best = None
        node = self.store.get(("", "nodes", "", sel_node)) if sel_node else None
        sel = (pvc.get("spec") or {}).get("selector")
        for pv in pvs.values():
            if (pv.get("spec") or {}).get("claimRef") or pv["metadata"].get("deletionTimestamp"):
                continue
            if (pv.get("status") or {}).get("phase") not in (None, "Available", "Pending"):
                continue
            if self.unfit(pv, pvc):
                continue
            if sel and not match_selector_object(sel, pv["metadata"].get("labels") or {}):
                continue
            if node is not None and not node_matches(pv["spec"].get("nodeAffinity"), node):
                continue
            size = csi.parse_size(pv["spec"]["capacity"]["storage"])
            if best is None or size < best[0]:
                best = (size, pv)
        return best[1] if best else None

    def bind_volume(self, pv, pvc):
        new = deepcopy(pv)
        m = pvc["metadata"]
        ref = (new["spec"].get("claimRef") or {})
        if not ref.get("uid"):
            new["metadata"].setdefault("annotations", {})["pv.kubernetes.io/bound-by-controller"] = "yes"
        new["spec"]["claimRef"] = {"kind": "PersistentVolumeClaim", "namespace": m["namespace"], "name": m["name"],
                                   "uid": m["uid"], "apiVersion": "v1", "resourceVersion": m["resourceVersion"]}
        return self.update("", "v1", "persistentvolumes", new)

    def bind_claim(self, pvc, pv, by_controller):
        new = deepcopy(pvc)
        ann = new["metadata"].setdefault("annotations", {})
        changed = False
        if new["spec"].get("volumeName") != pv["metadata"]["name"]:
            new["spec"]["volumeName"] = pv["metadata"]["name"]
            if by_controller:
                ann["pv.kubernetes.io/bound-by-controller"] = "yes"
            changed = True
        if ann.get("pv.kubernetes.io/bind-completed") != "yes":
            ann["pv.kubernetes.io/bind-completed"] = "yes"
            changed = True
        if changed:
            new = self.update("", "v1", "persistentvolumeclaims", new)
            if new is None:
                return
        st = {"phase": "Bound", "accessModes": deepcopy(pv["spec"].get("accessModes") or []),
              "capacity": deepcopy(pv["spec"].get("capacity") or {})}
        if {k: (new.get("status") or {}).get(k) for k in st} != st:
            new = deepcopy(new)
            new["status"] = dict(new.get("status") or {}, **st)
            self.update("", "v1", "persistentvolumeclaims", new, "status")

    def claim_phase(self, pvc, phase):
        new = deepcopy(pvc)
        new["status"] = dict(new.get("status") or {}, phase=phase)
        self.update("", "v1", "persistentvolumeclaims", new, "status")

    def volume_phase(self, pv, phase, message=None):
        cur = self.store.get(("", "persistentvolumes", "", pv["metadata"]["name"])) or pv
        st = cur.get("status") or {}
        if st.get("phase") == phase and st.get("message") == message:
            return cur
        new = deepcopy(cur)
        new["status"] = {"phase": phase, "lastPhaseTransitionTime": now_time()}
        if message:
            new["status"]["message"] = message
        return self.update("", "v1", "persistentvolumes", new, "status")

    def protect_claim(self, pvc):
        fins = pvc["metadata"].get("finalizers") or []
        if PVC_PROTECT not in fins:
            return
        ns, name = pvc["metadata"]["namespace"], pvc["metadata"]["name"]
        for pod in self.objs("", "pods", ns):
            if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
                continue
            if name in pod_claims(pod):
                return
        new = deepcopy(pvc)
        new["metadata"]["finalizers"] = [f for f in fins if f != PVC_PROTECT]
        self.update("", "v1", "persistentvolumeclaims", new)

    # ---- provisioning (external-provisioner)
    def provision(self, pvc, sc, sel_node, pvs):
        m = pvc["metadata"]
        prov = sc["provisioner"]
        drv = csi.DRIVERS[prov]
        pool = self.pools.get(prov)
        comp = f"{prov}_csi-{drv.pool}-controller-0_{self.prov_id}"
        pvname = f"pvc-{m['uid']}"
        if pvname in pvs:
            return
        due, delay = self.backoff.get(m["uid"], (0, 0))
        if time.time() < due:
            return  # the provisioner's rate-limited retry (1 s doubling; 15 s at most here, 5 min upstream)
        self.event(pvc, "Normal", "Provisioning",
                   f'External provisioner is provisioning volume for claim "{m["namespace"]}/{m["name"]}"', component=comp)
        spec = pvc.get("spec") or {}
        mode = spec.get("volumeMode") or "Filesystem"
        try:
            size = request_of(pvc)
            if not size:
                raise ProvisionError(f"claim Spec.Resources.Requests[storage] not found for claim {m['name']}")
            source = None
            ds = claim_source(pvc)
            if ds:
                try:
                    if is_snapshot_ref(ds):
                        source = ("snapshot", self.snapshot_source(pvc, sc, ds, size))
                    else:
                        source = ("volume", self.clone_source(pvc, sc, ds, size))
                except ProvisionError as e:
                    raise ProvisionError(f"error getting handle for DataSource Type {ds.get('kind')} by Name "
                                         f"{ds.get('name')}: {e}")
            topo = self.topology(drv, sc, sel_node)
            res = pool.create_volume(pvname, size, topo, source)
        except (csi.CsiError, ProvisionError) as e:
            why = f"rpc error: code = {e.code} desc = {e.message}" if isinstance(e, csi.CsiError) else str(e)
            self.event(pvc, "Warning", "ProvisioningFailed",
                       f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": {why}', component=comp)
            delay = min(max(delay * 2, 1), 15)
            self.backoff[m["uid"]] = (time.time() + delay, delay)
            return
        self.backoff.pop(m["uid"], None)
        params = sc.get("parameters") or {}
        csi_src = {"driver": prov, "volumeHandle": res["volume_id"],
                   "volumeAttributes": {"storage.kubernetes.io/csiProvisionerIdentity": self.prov_id}}
        if mode == "Filesystem":
            csi_src["fsType"] = params.get("csi.storage.k8s.io/fstype", "ext4")
        reclaim = sc.get("reclaimPolicy") or "Delete"
        pv = {"apiVersion": "v1", "kind": "PersistentVolume",
              "metadata": {"name": pvname, "annotations": {
                  "pv.kubernetes.io/provisioned-by": prov,
                  "volume.kubernetes.io/provisioner-deletion-secret-name": "",
                  "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""},
                  "finalizers": [PROV_FIN] if reclaim == "Delete" else []},
              "spec": {"accessModes": deepcopy(spec.get("accessModes") or ["ReadWriteOnce"]),
                       "capacity": {"storage": csi.quantity(res["capacity_bytes"])},
                       "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "namespace": m["namespace"],
                                    "name": m["name"], "uid": m["uid"], "resourceVersion": m["resourceVersion"]},
                       "csi": csi_src, "persistentVolumeReclaimPolicy": reclaim,
                       "storageClassName": sc["metadata"]["name"], "volumeMode": mode,
                       "nodeAffinity": {"required": {"nodeSelectorTerms": [{"matchExpressions": [
                           {"key": k, "operator": "In", "values": [v]}]} for k, v in res["accessible_topology"].items()]}}}}
        if sc.get("mountOptions"):
            pv["spec"]["mountOptions"] = list(sc["mountOptions"])
        if self.create("", "v1", "persistentvolumes", "", pv) is not None:
            pvs[pvname] = pv
            self.event(pvc, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {pvname}",
                       component=comp)

    def topology(self, drv, sc, sel_node):
        key = drv.topology_key
        nodes = self.objs("", "nodes")
        if sel_node:
            node = next((n for n in nodes if n["metadata"]["name"] == sel_node), None)
            if node is None:
                raise ProvisionError(f'failed to get target node: node "{sel_node}" not found')
            v = (node["metadata"].get("labels") or {}).get(key)
            if v is None:
                raise ProvisionError(f"topology key {key} not found in the labels of node {sel_node}")
            return {key: v}
        vals = set()
        for t in sc.get("allowedTopologies") or []:
            for e in t.get("matchLabelExpressions") or []:
                if e.get("key") == key:
                    vals |= set(e.get("values") or [])
        if not vals:
            vals = {(n["metadata"].get("labels") or {}).get(key) for n in nodes} - {None}
        if not vals:
            raise ProvisionError("no available topology found")
        return {key: random.choice(sorted(vals))}

    def snapshot_source(self, pvc, sc, ds, size):
        """getSnapshotSource: the snapshot handle, or why not."""
        ns = ds.get("namespace") or pvc["metadata"]["namespace"]
        vs = self.store.get((SNAP_GROUP, "volumesnapshots", ns, ds["name"]))
        if vs is None:
            raise ProvisionError(f"error getting snapshot {ds['name']} from api server: "
                                 f'volumesnapshots.snapshot.storage.k8s.io "{ds["name"]}" not found')
        if vs["metadata"].get("deletionTimestamp") and \
                "snapshot.storage.kubernetes.io/volumesnapshot-as-source-protection" not in vs["metadata"].get("finalizers", []):
            raise ProvisionError(f"snapshot {ds['name']} is being deleted")
        st = vs.get("status") or {}
        not_bound = f"snapshot {ds['name']} not bound"
        if not st.get("boundVolumeSnapshotContentName"):
            raise ProvisionError(not_bound)
        vsc = self.store.get((SNAP_GROUP, "volumesnapshotcontents", "", st["boundVolumeSnapshotContentName"]))
        if vsc is None:
            raise ProvisionError(not_bound)
        ref = (vsc.get("spec") or {}).get("volumeSnapshotRef") or {}
        if ref.get("uid") != vs["metadata"]["uid"] or ref.get("namespace") != ns or ref.get("name") != ds["name"]:
            raise ProvisionError(not_bound)
        if vsc["spec"].get("driver") != sc.get("provisioner"):
            raise ProvisionError(not_bound)
        if not st.get("readyToUse"):
            raise ProvisionError(f"snapshot {ds['name']} is not Ready")
        handle = (vsc.get("status") or {}).get("snapshotHandle")
        if not handle:
            raise ProvisionError(f"snapshot handle {ds['name']} is not available")
        if st.get("restoreSize") is not None:
            rs = csi.parse_size(st["restoreSize"])
            if size < rs:
                raise ProvisionError(f"requested volume size {size} is less than the size {rs} for the source "
                                     f"snapshot {ds['name']}")
        src_mode = vsc["spec"].get("sourceVolumeMode")
        mode = (pvc.get("spec") or {}).get("volumeMode") or "Filesystem"
        if src_mode and src_mode != mode:
            who = f"requested volume {pvc['metadata']['namespace']}/{pvc['metadata']['name']} modifies the mode of " \
                  "the source volume but does not have permission to do so."
            allow = (vsc["metadata"].get("annotations") or {}).get(ALLOW_MODE)
            if allow is None:
                raise ProvisionError(f"{who} {ALLOW_MODE} annotation is not present on snapshotcontent "
                                     f"{vsc['metadata']['name']}")
            if allow.lower() not in ("1", "t", "true", "0", "f", "false"):
                raise ProvisionError(f"{who} failed to convert {ALLOW_MODE} annotation value to boolean with error: "
                                     f'strconv.ParseBool: parsing "{allow}": invalid syntax')
            if allow.lower() in ("0", "f", "false"):
                raise ProvisionError(f"{who} {ALLOW_MODE} is set to false on snapshotcontent {vsc['metadata']['name']}")
        return handle

    def clone_source(self, pvc, sc, ds, size):
        ns = pvc["metadata"]["namespace"]
        src = self.store.get(("", "persistentvolumeclaims", ns, ds["name"]))
        if src is None:
            raise ProvisionError(f"error getting PVC {ns}/{ds['name']} from api server: "
                                 f'persistentvolumeclaims "{ds["name"]}" not found')
        if (src.get("status") or {}).get("phase") != "Bound":
            raise ProvisionError(f"the PVC {ds['name']} not bound")
        if (src.get("spec") or {}).get("storageClassName") != sc["metadata"]["name"]:
            raise ProvisionError("the source PVC and destination PVCs must be in the same storage class for cloning. "
                                 f"Source is in {src['spec'].get('storageClassName')}, but new PVC is in "
                                 f"{sc['metadata']['name']}")
        if request_of(src) > size:
            raise ProvisionError("error, new PVC request must be greater than or equal in size to the specified PVC "
                                 f"data source, requested {size} but source is {request_of(src)}")
        pv = self.store.get(("", "persistentvolumes", "", src["spec"]["volumeName"]))
        if pv is None:
            raise ProvisionError(f"error getting PV {src['spec']['volumeName']} from api server")
        a = (src.get("spec") or {}).get("volumeMode") or "Filesystem"
        b = (pvc.get("spec") or {}).get("volumeMode") or "Filesystem"
        if a != b:
            raise ProvisionError("the source PVC and destination PVCs must have the same volume mode for cloning.  "
                                 f"Source is {a}, but new PVC requested {b}")
        return pv["spec"]["csi"]["volumeHandle"]

    # ---- volumes
    def sync_volume(self, pv, claims):
        m = pv["metadata"]
        spec = pv.get("spec") or {}
        ref = spec.get("claimRef") or {}
        claim = claims.get((ref.get("namespace"), ref.get("name"))) if ref else None
        live = claim is not None and ref.get("uid") and claim["metadata"]["uid"] == ref.get("uid")
        if m.get("deletionTimestamp"):
            fins = list(m.get("finalizers") or [])
            keep = []
            for f in fins:
                if f == PROV_FIN and not live:
                    if spec.get("persistentVolumeReclaimPolicy") == "Delete":
                        self.delete_backing(pv)
                    continue
                if f == PV_PROTECT and not live:
                    continue
                keep.append(f)
            if keep != fins:
                new = deepcopy(pv)
                new["metadata"]["finalizers"] = keep
                self.update("", "v1", "persistentvolumes", new)
            return
        phase = (pv.get("status") or {}).get("phase")
        if not ref or not ref.get("uid"):
            if phase != "Available":
                self.volume_phase(pv, "Available")
            return
        if live:
            cvn = (claim.get("spec") or {}).get("volumeName")
            if cvn and cvn != m["name"] and (m.get("annotations") or {}).get("pv.kubernetes.io/bound-by-controller"):
                new = deepcopy(pv)  # the claim went to another volume: unbind this one
                new["spec"].pop("claimRef", None)
                new["metadata"]["annotations"].pop("pv.kubernetes.io/bound-by-controller", None)
                self.update("", "v1", "persistentvolumes", new)
            elif phase != "Bound":
                self.volume_phase(pv, "Bound")
            return
        policy = spec.get("persistentVolumeReclaimPolicy") or "Retain"
        if phase not in ("Released", "Failed"):
            pv = self.volume_phase(pv, "Released") or pv
        if phase == "Failed":
            return
        if policy == "Delete":
            drv = (spec.get("csi") or {}).get("driver")
            if drv not in csi.DRIVERS:
                self.volume_phase(pv, "Failed", "error getting deleter volume plugin for volume "
                                                f'"{m["name"]}": no deletable volume plugin matched')
                self.once(pv, "VolumeFailedDelete", "error getting deleter volume plugin for volume "
                                                    f'"{m["name"]}": no deletable volume plugin matched', "Warning")
                return
            self.delete_backing(pv)
            cur = self.store.get(("", "persistentvolumes", "", m["name"]))
            if cur is not None and PROV_FIN in (cur["metadata"].get("finalizers") or []):
                new = deepcopy(cur)
                new["metadata"]["finalizers"] = [f for f in new["metadata"]["finalizers"] if f != PROV_FIN]
                self.update("", "v1", "persistentvolumes", new)
            self.delete("", "v1", "persistentvolumes", pv)
        elif policy == "Recycle":
            self.volume_phase(pv, "Failed", "No recycler plugin found for the volume!")
            self.once(pv, "VolumeFailedRecycle", "No recycler plugin found for the volume!", "Warning")

    def delete_backing(self, pv):
        c = (pv.get("spec") or {}).get("csi") or {}
        pool = self.pools.get(c.get("driver"))
        if pool is not None and c.get("volumeHandle") and \
                (pv["metadata"].get("annotations") or {}).get("pv.kubernetes.io/provisioned-by") == c.get("driver"):
            pool.delete_volume(c["volumeHandle"])

    # ---- generic ephemeral volumes (pkg/controller/volume/ephemeral)
    def ephemeral(self):
        for pod in self.objs("", "pods"):
            if pod["metadata"].get("deletionTimestamp"):
                continue
            for v in (pod.get("spec") or {}).get("volumes") or []:
                if "ephemeral" not in v:
                    continue
                ns = pod["metadata"]["namespace"]
                name = f"{pod['metadata']['name']}-{v['name']}"
                if self.store.get(("", "persistentvolumeclaims", ns, name)) is not None:
                    continue
                tmpl = (v["ephemeral"] or {}).get("volumeClaimTemplate") or {}
                tm = tmpl.get("metadata") or {}
                pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                       "metadata": {"name": name, "namespace": ns, "labels": dict(tm.get("labels") or {}),
                                    "annotations": dict(tm.get("annotations") or {}),
                                    "ownerReferences": [dict(ctrl.owner_ref(pod, "Pod", "v1"))]},
                       "spec": deepcopy(tmpl.get("spec") or {})}
                self.create("", "v1", "persistentvolumeclaims", ns, pvc)

    # ---- resource quota (claims only)
    def quotas(self):
        for q in self.objs("", "resourcequotas"):
            hard = (q.get("spec") or {}).get("hard") or {}
            used = usage(self.store, q["metadata"]["namespace"], hard)
            if not used:
                continue
            st = q.get("status") or {}
            want_used = dict(st.get("used") or {}, **used)
            if st.get("hard") == hard and st.get("used") == want_used:
                continue
            new = deepcopy(q)
            new["status"] = {"hard": deepcopy(hard), "used": want_used}
            self.update("", "v1", "resourcequotas", new, "status")


QUOTA_KEYS = ("requests.storage", "persistentvolumeclaims", "count/persistentvolumeclaims")


def _tracked(key):
    return key in QUOTA_KEYS or (".storageclass.storage.k8s.io/" in key and
                                 key.split("/", 1)[1] in ("requests.storage", "persistentvolumeclaims"))


def claim_usage(pvc):
    cls = (pvc.get("spec") or {}).get("storageClassName") or ""
    size = request_of(pvc)
    out = {"requests.storage": size, "persistentvolumeclaims": 1, "count/persistentvolumeclaims": 1}
    if cls:
        out[f"{cls}.storageclass.storage.k8s.io/requests.storage"] = size
        out[f"{cls}.storageclass.storage.k8s.io/persistentvolumeclaims"] = 1
    return out


def usage(store, ns, hard, skip=None):
    """{resource: quantity string} for the claim resources in hard."""
    keys = [k for k in hard if _tracked(k)]
    if not keys:
        return {}
    tot = {k: 0 for k in keys}
    items, _ = store.list("", "persistentvolumeclaims", ns)
    for c in items:
        if skip and c["metadata"]["name"] == skip:
            continue
        u = claim_usage(c)
        for k in keys:
            tot[k] += u.get(k, 0)
    return {k: (csi.quantity(v) if "storage" in k.rsplit("/", 1)[-1] else str(v)) for k, v in tot.items()}


# ---------------------------------------------------------------- admission
def admission(api, req, obj, old):
    res = req.res
    if res.group != "":
        return
    if res.plural == "persistentvolumes" and old is None:
        fins = obj["metadata"].setdefault("finalizers", [])
        if PV_PROTECT not in fins:
            fins.append(PV_PROTECT)
        return
    if res.plural != "persistentvolumeclaims":
        return
    spec = obj.setdefault("spec", {})
    m = obj["metadata"]
    if old is None:
        if "storageClassName" not in spec:  # DefaultStorageClass (an explicit "" means none)
            items, _ = api.store.list("storage.k8s.io", "storageclasses")
            defaults = [c for c in items if is_true((c["metadata"].get("annotations") or {}).get(DEFAULT_CLASS))]
            if defaults:
                defaults.sort(key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]))
                spec["storageClassName"] = defaults[-1]["metadata"]["name"]
        fins = m.setdefault("finalizers", [])
        if PVC_PROTECT not in fins:
            fins.append(PVC_PROTECT)
        ds, dsr = spec.get("dataSource"), spec.get("dataSourceRef")
        if ds and not dsr:
            spec["dataSourceRef"] = {k: v for k, v in ds.items() if k in ("apiGroup", "kind", "name")}
        elif dsr and not ds and not dsr.get("namespace"):
            spec["dataSource"] = {k: v for k, v in dsr.items() if k in ("apiGroup", "kind", "name")}
        errs = []
        if not spec.get("accessModes"):
            errs.append(FieldError("FieldValueRequired", "spec.accessModes", "at least 1 access mode is required"))
        if not (((spec.get("resources") or {}).get("requests") or {}).get("storage")):
            errs.append(FieldError("FieldValueRequired", "spec.resources[storage]", ""))
        if errs:
            raise invalid(res, "PersistentVolumeClaim", m.get("name", ""), errs)
    grow = request_of(obj) - (request_of(old) if old else 0)
    if old is not None and grow <= 0:
        return
    check_quota(api, req, obj, old)


def check_quota(api, req, obj, old):
    ns = obj["metadata"].get("namespace") or req.ns
    name = obj["metadata"].get("name", "")
    items, _ = api.store.list("", "resourcequotas", ns)
    new_u = claim_usage(obj)
    old_u = claim_usage(old) if old else {}
    for q in sorted(items, key=lambda x: x["metadata"]["name"]):
        hard = (q.get("spec") or {}).get("hard") or {}
        cur = usage(api.store, ns, hard, skip=name)
        over = []
        for k in sorted(hard):
            if not _tracked(k) or k not in new_u:
                continue
            delta = new_u[k] - old_u.get(k, 0)
            if delta <= 0:
                continue
            used = csi.parse_size(cur.get(k, 0))
            if used + new_u[k] > csi.parse_size(hard[k]):
                over.append((k, new_u[k] if "storage" in k.rsplit("/", 1)[-1] else delta, used, hard[k]))
        if over:
            def fmt(k, v):
                return csi.quantity(v) if "storage" in k.rsplit("/", 1)[-1] else str(v)
            raise forbidden(f'persistentvolumeclaims "{name}" is forbidden: exceeded quota: {q["metadata"]["name"]}, '
                            "requested: " + ",".join(f"{k}={fmt(k, r)}" for k, r, u, h in over) +
                            ", used: " + ",".join(f"{k}={fmt(k, u)}" for k, r, u, h in over) +
                            ", limited: " + ",".join(f"{k}={h}" for k, r, u, h in over), req.res, name)


# ---------------------------------------------------------------- scheduler plugins
def _claims_of(s, pod):
    ns = pod["metadata"]["namespace"]
    return [(c, s.store.get(("", "persistentvolumeclaims", ns, c))) for c in pod_claims(pod)]


def volume_binding(s, pod, node):
    """VolumeBinding's Filter (its PreFilter's refusals too, which fail every node alike)."""
    for name, pvc in _claims_of(s, pod):
        if pvc is None:
            if any(name == f"{pod['metadata']['name']}-{v['name']}" for v in (pod.get("spec") or {}).get("volumes") or []
                   if "ephemeral" in v):
                return f'waiting for ephemeral volume controller to create the persistentvolumeclaim "{name}"'
            return f'persistentvolumeclaim "{name}" not found'
        if pvc["metadata"].get("deletionTimestamp"):
            return f'persistentvolumeclaim "{name}" is being deleted'
        vn = (pvc.get("spec") or {}).get("volumeName")
        if vn:
            pv = s.store.get(("", "persistentvolumes", "", vn))
            if pv is None:
                return "pvc(s) bound to non-existent pv(s)"
            if not node_matches((pv.get("spec") or {}).get("nodeAffinity"), node):
                return "node(s) had volume node affinity conflict"
            continue
        scn = (pvc.get("spec") or {}).get("storageClassName")
        sc = s.store.get(("storage.k8s.io", "storageclasses", "", scn)) if scn else None
        if sc is None or sc.get("volumeBindingMode") != "WaitForFirstConsumer":
            return "pod has unbound immediate PersistentVolumeClaims"
        prov = sc.get("provisioner")
        if prov in csi.DRIVERS:
            cn = s.store.get(("storage.k8s.io", "csinodes", "", node["metadata"]["name"]))
            drivers = {d.get("name") for d in ((cn or {}).get("spec") or {}).get("drivers") or []}
            if prov not in drivers:
                return "node(s) did not have enough free storage"
            key = csi.DRIVERS[prov].topology_key
            if key not in (node["metadata"].get("labels") or {}):
                return "node(s) didn't find available persistent volumes to bind"
            ok = True
            for t in sc.get("allowedTopologies") or []:
                ok = False
                if all((node["metadata"].get("labels") or {}).get(e.get("key")) in (e.get("values") or [])
                       for e in t.get("matchLabelExpressions") or []):
                    ok = True
                    break
            if not ok:
                return "node(s) didn't find available persistent volumes to bind"
    return None


def volume_limits(s, pod, node):
    """NodeVolumeLimits (CSI): the node's unique volumes per driver, with this pod's, within
    its CSINode's allocatable.count."""
    cn = s.store.get(("storage.k8s.io", "csinodes", "", node["metadata"]["name"]))
    limits = {d.get("name"): (d.get("allocatable") or {}).get("count")
              for d in ((cn or {}).get("spec") or {}).get("drivers") or []}
    limits = {k: v for k, v in limits.items() if v is not None}
    if not limits:
        return None

    def handles(p):
        out = set()
        for name, pvc in _claims_of(s, p):
            if pvc is None:
                continue
            vn = (pvc.get("spec") or {}).get("volumeName")
            pv = s.store.get(("", "persistentvolumes", "", vn)) if vn else None
            if pv is not None and (pv.get("spec") or {}).get("csi"):
                out.add((pv["spec"]["csi"]["driver"], pv["spec"]["csi"]["volumeHandle"]))
            elif pv is None:
                scn = (pvc.get("spec") or {}).get("storageClassName")
                sc = s.store.get(("storage.k8s.io", "storageclasses", "", scn)) if scn else None
                if sc is not None:
                    out.add((sc.get("provisioner"), f"{p['metadata']['namespace']}/{name}"))
        return out
    new = handles(pod)
    if not any(d in limits for d, _ in new):
        return None
    have = set()
    for p in s.objs("", "pods"):
        if (p.get("spec") or {}).get("nodeName") == node["metadata"]["name"] and ctrl.active(p):
            have |= handles(p)
    for drv, n in limits.items():
        if len({h for d, h in have | new if d == drv}) > n:
            return "node(s) exceed max volume count"
    return None


def pre_bind(s, pod, node):
    """The VolumeBinding PreBind: selected-node on the pod's WaitForFirstConsumer claims, then
    wait (bounded) until they are bound."""
    pending = []
    for name, pvc in _claims_of(s, pod):
        if pvc is None:
            continue
        vn = (pvc.get("spec") or {}).get("volumeName")
        if vn:
            # bound since the Filter ran (a provisioner or populator was quicker): its PV must
            # allow this node, as BindPodVolumes checks, else the pod is placed again
            pv = s.store.get(("", "persistentvolumes", "", vn))
            if pv is None or not node_matches((pv.get("spec") or {}).get("nodeAffinity"), node):
                return "running PreBind plugin \"VolumeBinding\": node(s) had volume node affinity conflict"
            continue
        if ((pvc["metadata"].get("annotations") or {}).get(SELECTED) != node["metadata"]["name"]):
            new = deepcopy(pvc)
            new["metadata"].setdefault("annotations", {})[SELECTED] = node["metadata"]["name"]
            if s.update("", "v1", "persistentvolumeclaims", new) is None:
                return "running PreBind plugin \"VolumeBinding\": the claim changed, retrying"
        pending.append(name)
    deadline = time.time() + 2
    ns = pod["metadata"]["namespace"]
    while pending and time.time() < deadline:
        pending = [c for c in pending if (((s.store.get(("", "persistentvolumeclaims", ns, c)) or {}).get("status") or {})
                                          .get("phase") != "Bound")]
        if pending:
            time.sleep(0.05)
    if pending:
        from .sched import WAIT
        return WAIT  # provisioning or a populator still at work: the next pass looks again
    for name, pvc in _claims_of(s, pod):
        vn = ((pvc or {}).get("spec") or {}).get("volumeName")
        pv = s.store.get(("", "persistentvolumes", "", vn)) if vn else None
        if vn and (pv is None or not node_matches((pv.get("spec") or {}).get("nodeAffinity"), node)):
            return "running PreBind plugin \"VolumeBinding\": node(s) had volume node affinity conflict"
    return None

