# SPDX-License-Identifier: MIT
"""striplist: README.md's strip list ("Application restore in a cluster: what a restore
strips"), written again for the tests as the oracle a restored object is held to: an
object restored equals its original once both went through strip(). One copy for
tests/cluster/t_objects_kbox.py, tests/operator/scenarios_restore.py and tests/xfer/t_app.py.
"""
import copy

META = ["generateName", "selfLink", "uid", "resourceVersion", "generation", "creationTimestamp",
        "deletionTimestamp", "deletionGracePeriodSeconds", "ownerReferences", "managedFields"]
PVC_ANN = ["pv.kubernetes.io/bind-completed", "pv.kubernetes.io/bound-by-controller",
           "volume.beta.kubernetes.io/storage-provisioner",
           "volume.kubernetes.io/storage-provisioner", "volume.kubernetes.io/selected-node"]
# what a restore adds: the labels naming the backup and the restore
ADDED = ["ferry.io/backup-name", "ferry.io/restore-name"]


def strip(o, ns=None):
    """@o less the strip list and the labels a restore adds (in namespace @ns when given:
    namespaceMapping); a Deployment's revision annotation, its controller's, goes too."""
    o = copy.deepcopy(o)
    md = o["metadata"]
    for k in META:
        md.pop(k, None)
    o.pop("status", None)
    if o["kind"] == "Service":
        if o["spec"].get("clusterIP") != "None":
            o["spec"].pop("clusterIP", None)
            o["spec"].pop("clusterIPs", None)
        for p in o["spec"].get("ports", []):
            p.pop("nodePort", None)
        o["spec"].pop("healthCheckNodePort", None)
    if o["kind"] == "PersistentVolumeClaim":
        for a in PVC_ANN:
            (md.get("annotations") or {}).pop(a, None)
        o["spec"].pop("volumeName", None)  # its PV is not restored: re-provisioned
    for a in ADDED:
        (md.get("labels") or {}).pop(a, None)
    (md.get("annotations") or {}).pop("deployment.kubernetes.io/revision", None)
    for k in ("labels", "annotations"):
        if md.get(k) == {}:
            del md[k]
    if ns:
        md["namespace"] = ns
    return o
