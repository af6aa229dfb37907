# SPDX-License-Identifier: MIT
"""kboxd.populators: volume populators (KEP-1495, CONTROLPLANE.md §2.3), as
kubernetes-csi/lib-volume-populator's populator-machinery and volume-data-source-validator
do them.

- The box's own populator, for VolumeSeed (populator.kbox.io/v1alpha1, namespaced;
  spec.fileName and spec.fileContents, as lib-volume-populator's "hello" example): a
  claim whose dataSourceRef names a VolumeSeed (the provisioner leaves it alone) gets,
  once its WaitForFirstConsumer node is chosen (selected-node), the finalizer
  populator.kbox.io/populate-target-protection; the claim PVC' `prime-<claim uid>` in the
  namespace kbox-populator (same modes, resources, class, volume mode, selected-node);
  the pod `populate-<claim uid>` there (busybox, container `populate`, restartPolicy Never,
  the volume `target` at /mnt or the device at /dev/block, spec.nodeName the selected
  node) which writes the file (Filesystem) or the contents at offset 0 (Block); when it
  has Succeeded, PV' is patched (strategic merge) to claimRef the claim (namespace, name,
  uid, resourceVersion) with the annotation populator.kbox.io/populated-from
  <namespace>/<seed>; the PV controller binds the claim and marks PVC' Lost; then the pod
  and PVC' are deleted, the finalizer removed and the event PopulatorFinished written.
  Events PopulatorCreated / PopulatorFailed (a failed pod is deleted and made again) as
  the machinery words them, from the component populator.kbox.io-populator.
- The VolumePopulator CRD (populator.storage.k8s.io/v1beta1) with one object naming
  VolumeSeed; a claim whose dataSourceRef names a kind no VolumePopulator registers (nor
  a PersistentVolumeClaim or VolumeSnapshot) gets the validator's Warning
  UnrecognizedDataSourceKind and stays Pending.
"""
from . import ctrl
from .util import ApiError, deepcopy

GROUP = "populator.kbox.io"
KIND = "VolumeSeed"
PLURAL = "volumeseeds"
NS = "kbox-populator"
PREFIX = "populator.kbox.io"
FINALIZER = PREFIX + "/populate-target-protection"
POPULATED_FROM = PREFIX + "/populated-from"
COMPONENT = PREFIX + "-populator"
SELECTED = "volume.kubernetes.io/selected-node"


def crds():
    s = {"type": "string"}
    seed = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{PLURAL}.{GROUP}"},
            "spec": {"group": GROUP, "scope": "Namespaced",
                     "names": {"plural": PLURAL, "singular": "volumeseed", "kind": KIND, "listKind": KIND + "List"},
                     "versions": [{"name": "v1alpha1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                         "type": "object", "required": ["spec"], "properties": {
                             "apiVersion": s, "kind": s, "metadata": {"type": "object"},
                             "spec": {"type": "object", "required": ["fileName", "fileContents"],
                                      "properties": {"fileName": s, "fileContents": s}}}}}}]}}
    vp = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
          "metadata": {"name": "volumepopulators.populator.storage.k8s.io",
                       "annotations": {"api-approved.kubernetes.io":
                                       "https://github.com/kubernetes/enhancements/pull/2934"}},
          "spec": {"group": "populator.storage.k8s.io", "scope": "Cluster",
                   "names": {"plural": "volumepopulators", "singular": "volumepopulator", "kind": "VolumePopulator",
                             "listKind": "VolumePopulatorList"},
                   "versions": [{"name": "v1beta1", "served": True, "storage": True,
                                 "additionalPrinterColumns": [
                                     {"name": "SourceKind", "type": "string", "jsonPath": ".sourceKind"},
                                     {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
                                 "schema": {"openAPIV3Schema": {
                                     "type": "object", "required": ["sourceKind"], "properties": {
                                         "apiVersion": s, "kind": s, "metadata": {"type": "object"},
                                         "sourceKind": {"type": "object", "required": ["kind"],
                                                        "properties": {"group": s, "kind": s}}}}}}]}}
    return [seed, vp]


def install(box):
    for c in crds():
        box.ensure("apiextensions.k8s.io", "v1", "customresourcedefinitions", c)
    box.ensure("", "v1", "namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
    box.ensure("populator.storage.k8s.io", "v1beta1", "volumepopulators", {
        "apiVersion": "populator.storage.k8s.io/v1beta1", "kind": "VolumePopulator",
        "metadata": {"name": "kbox-volume-seed"}, "sourceKind": {"group": GROUP, "kind": KIND}})


class Populators(ctrl.Controller):
    kinds = (("", "persistentvolumeclaims"), ("", "persistentvolumes"), ("", "pods"), (GROUP, PLURAL),
             ("populator.storage.k8s.io", "volumepopulators"))
    agent = "kbox-volume-seed-populator/v1.3.0 (linux/amd64) kubernetes/kbox"
    name_ = "populators"
    period = 5.0

    def pass_once(self):
        kinds = {((v.get("sourceKind") or {}).get("group", ""), (v.get("sourceKind") or {}).get("kind"))
                 for v in self.objs("populator.storage.k8s.io", "volumepopulators")}
        for pvc in self.objs("", "persistentvolumeclaims"):
            ds = (pvc.get("spec") or {}).get("dataSourceRef") or {}
            if not ds.get("kind") or pvc["metadata"]["namespace"] == NS:
                continue
            gk = (ds.get("apiGroup") or "", ds["kind"])
            if gk in (("", "PersistentVolumeClaim"), ("snapshot.storage.k8s.io", "VolumeSnapshot")):
                continue
            if gk not in kinds:
                if (pvc.get("status") or {}).get("phase") == "Pending":
                    self.event(pvc, "Warning", "UnrecognizedDataSourceKind", "The datasource for this PVC does not match "
                               "any registered VolumePopulator", component="volume-data-source-validator")
                continue
            if gk == (GROUP, KIND):
                try:
                    self.sync(pvc, ds)
                except Exception as e:
                    import traceback
                    traceback.print_exc()
                    print(f"kbox: populator: {pvc['metadata']['name']}: {e}", flush=True)

    def patch_finalizer(self, pvc, want):
        fins = list(pvc["metadata"].get("finalizers") or [])
        if (FINALIZER in fins) == want:
            return pvc
        new = deepcopy(pvc)
        new["metadata"]["finalizers"] = fins + [FINALIZER] if want else [f for f in fins if f != FINALIZER]
        return self.update("", "v1", "persistentvolumeclaims", new)

    def sync(self, pvc, ds):
        """syncPvc of populator-machinery, one step a pass."""
        m = pvc["metadata"]
        spec = pvc.get("spec") or {}
        seed = self.store.get((GROUP, PLURAL, m["namespace"], ds.get("name")))
        if seed is None:
            return  # called again when the data source exists
        wffc, node = False, None
        scn = spec.get("storageClassName")
        if scn:
            sc = self.store.get(("storage.k8s.io", "storageclasses", "", scn))
            if sc is None:
                return
            if sc.get("volumeBindingMode") == "WaitForFirstConsumer":
                wffc = True
                node = (m.get("annotations") or {}).get(SELECTED)
                if not node:
                    return
        pod_name = f"populate-{m['uid']}"
        prime_name = f"prime-{m['uid']}"
        pod = self.store.get(("", "pods", NS, pod_name))
        prime = self.store.get(("", "persistentvolumeclaims", NS, prime_name))
        if not spec.get("volumeName") and prime is None:
            prime = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                     "metadata": {"name": prime_name, "namespace": NS},
                     "spec": {k: deepcopy(spec[k]) for k in ("accessModes", "resources", "storageClassName", "volumeMode")
                              if k in spec}}
            if wffc:
                prime["metadata"]["annotations"] = {SELECTED: node}
            prime = self.create("", "v1", "persistentvolumeclaims", NS, prime)
            if prime is None:
                self.event(pvc, "Warning", "PopulatorPVCPrimeCreationError", "Failed to create populator PVC prime",
                           component=COMPONENT)
                return
        if not spec.get("volumeName"):
            pvc = self.patch_finalizer(pvc, True)
            if pvc is None:
                return
            if pod is None:
                block = spec.get("volumeMode") == "Block"
                s = seed.get("spec") or {}
                c = {"name": "populate", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent"}
                if block:
                    c["command"] = ["sh", "-c", 'printf %s "$1" | dd of=/dev/block conv=notrunc,fsync status=none', "--",
                                    s.get("fileContents", "")]
                    c["volumeDevices"] = [{"name": "target", "devicePath": "/dev/block"}]
                else:
                    c["command"] = ["sh", "-c", 'printf %s "$1" > "/mnt/$2" && sync', "--", s.get("fileContents", ""),
                                    s.get("fileName", "")]
                    c["volumeMounts"] = [{"name": "target", "mountPath": "/mnt"}]
                pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod_name, "namespace": NS},
                       "spec": {"containers": [c], "restartPolicy": "Never", "automountServiceAccountToken": False,
                                "volumes": [{"name": "target", "persistentVolumeClaim": {"claimName": prime_name}}]}}
                if wffc:
                    pod["spec"]["nodeName"] = node
                if self.create("", "v1", "pods", NS, pod) is None:
                    self.event(pvc, "Warning", "PopulatorCreationError", "Failed to create populator pod",
                               component=COMPONENT)
                    return
                self.event(pvc, "Normal", "PopulatorCreated", "Populator started", component=COMPONENT)
                return
            phase = (pod.get("status") or {}).get("phase")
            if phase != "Succeeded":
                if phase == "Failed":
                    self.event(pvc, "Warning", "PopulatorFailed", f"Populator failed: {(pod.get('status') or {}).get('message', '')}",
                               component=COMPONENT)
                    self.delete("", "v1", "pods", pod)
                return
            if prime is None or not (prime.get("spec") or {}).get("volumeName"):
                return
            pv = self.store.get(("", "persistentvolumes", "", prime["spec"]["volumeName"]))
            if pv is None:
                return
            ref = (pv.get("spec") or {}).get("claimRef") or {}
            if (ref.get("name"), ref.get("namespace"), ref.get("uid")) != (m["name"], m["namespace"], m["uid"]):
                body = {"metadata": {"name": pv["metadata"]["name"],
                                     "annotations": {POPULATED_FROM: f"{m['namespace']}/{ds.get('name')}"}},
                        "spec": {"claimRef": {"namespace": m["namespace"], "name": m["name"], "uid": m["uid"],
                                              "resourceVersion": m["resourceVersion"]}}}
                r = self._req("", "v1", "persistentvolumes", "", pv["metadata"]["name"], "PATCH", body)
                r.headers["Content-Type"] = "application/strategic-merge-patch+json"
                try:
                    self.api.patch(r)
                except ApiError as e:
                    if e.code not in (404, 409):
                        raise
                return  # the bind controller acknowledges the switch first
        if prime is not None and (prime.get("status") or {}).get("phase") != "Lost":
            return
        if prime is None and pod is None and FINALIZER not in (m.get("finalizers") or []):
            return  # done before
        self.event(pvc, "Normal", "PopulatorFinished", "Populator finished", component=COMPONENT)
        if pod is not None:
            self.delete("", "v1", "pods", pod)
        if prime is not None:
            self.delete("", "v1", "persistentvolumeclaims", prime)
        self.patch_finalizer(pvc, False)
