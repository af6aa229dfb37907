# SPDX-License-Identifier: MIT
"""kboxd.bootstrap: what a fresh cluster already holds when its first client arrives.

The namespaces default, kube-system, kube-public and kube-node-lease; the RBAC
bootstrap roles (auth.bootstrap_rbac); and the CSI snapshot CRDs
(snapshot.storage.k8s.io/v1 VolumeSnapshot, VolumeSnapshotContent,
VolumeSnapshotClass), which a real cluster gets from external-snapshotter as
CRDs, so they behave as custom resources do (no strategic merge, structural
pruning, status subresource). Their schemas are written from the field list
of external-snapshotter client/apis/volumesnapshot/v1/types.go
(CONTROLPLANE.md §2.1), printer columns included.
"""
from .auth import bootstrap_rbac

S = {"type": "string"}
B = {"type": "boolean"}
I64 = {"type": "integer", "format": "int64"}
QTY = {"x-kubernetes-int-or-string": True, "anyOf": [{"type": "integer"}, {"type": "string"}]}
ERR = {"type": "object", "properties": {"message": S, "time": {"type": "string", "format": "date-time"}}}
PARAMS = {"type": "object", "additionalProperties": S}


def _crd(plural, kind, scope, short, spec, status, cols, required=("spec",), cats=()):
    props = {"apiVersion": S, "kind": S, "metadata": {"type": "object"}, "spec": spec}
    if status:
        props["status"] = status
    v = {"name": "v1", "served": True, "storage": True,
         "schema": {"openAPIV3Schema": {"type": "object", "properties": props, "required": list(required)}},
         "additionalPrinterColumns": cols}
    if status:
        v["subresources"] = {"status": {}}
    return {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
            "metadata": {"name": f"{plural}.snapshot.storage.k8s.io",
                         "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes-csi/external-snapshotter/pull/814"}},
            "spec": {"group": "snapshot.storage.k8s.io", "scope": scope,
                     "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "listKind": kind + "List",
                               "shortNames": list(short), **({"categories": list(cats)} if cats else {})},
                     "versions": [v]}}


def snapshot_crds():
    vs_spec = {"type": "object", "required": ["source"], "properties": {
        "source": {"type": "object", "properties": {"persistentVolumeClaimName": S,
                                                    "volumeSnapshotContentName": S}},
        "volumeSnapshotClassName": S}}
    vs_status = {"type": "object", "properties": {
        "boundVolumeSnapshotContentName": S, "creationTime": {"type": "string", "format": "date-time"},
        "error": ERR, "readyToUse": B, "restoreSize": QTY, "volumeGroupSnapshotName": S}}
    vsc_spec = {"type": "object", "required": ["deletionPolicy", "driver", "source", "volumeSnapshotRef"],
                "properties": {
                    "deletionPolicy": {"type": "string", "enum": ["Delete", "Retain"]},
                    "driver": S,
                    "source": {"type": "object", "properties": {"snapshotHandle": S, "volumeHandle": S}},
                    "sourceVolumeMode": S,
                    "volumeSnapshotClassName": S,
                    "volumeSnapshotRef": {"type": "object", "x-kubernetes-map-type": "atomic", "properties": {
                        "apiVersion": S, "fieldPath": S, "kind": S, "name": S, "namespace": S,
                        "resourceVersion": S, "uid": S}}}}
    vsc_status = {"type": "object", "properties": {
        "creationTime": I64, "error": ERR, "readyToUse": B, "restoreSize": {"type": "integer", "format": "int64", "minimum": 0},
        "snapshotHandle": S, "volumeGroupSnapshotHandle": S}}
    cls_spec_props = {"driver": S, "parameters": PARAMS, "deletionPolicy": {"type": "string", "enum": ["Delete", "Retain"]}}
    c = [
        _crd("volumesnapshots", "VolumeSnapshot", "Namespaced", ["vs"], vs_spec, vs_status, [
            {"name": "ReadyToUse", "type": "boolean", "jsonPath": ".status.readyToUse",
             "description": "Indicates if the snapshot is ready to be used to restore a volume."},
            {"name": "SourcePVC", "type": "string", "jsonPath": ".spec.source.persistentVolumeClaimName",
             "description": "If a new snapshot needs to be created, this contains the name of the source PVC from which this snapshot was (or will be) created."},
            {"name": "SourceSnapshotContent", "type": "string", "jsonPath": ".spec.source.volumeSnapshotContentName",
             "description": "If a snapshot already exists, this contains the name of the existing VolumeSnapshotContent object representing the existing snapshot."},
            {"name": "RestoreSize", "type": "string", "jsonPath": ".status.restoreSize",
             "description": "Represents the minimum size of volume required to rehydrate from this snapshot."},
            {"name": "SnapshotClass", "type": "string", "jsonPath": ".spec.volumeSnapshotClassName",
             "description": "The name of the VolumeSnapshotClass requested by the VolumeSnapshot."},
            {"name": "SnapshotContent", "type": "string", "jsonPath": ".status.boundVolumeSnapshotContentName",
             "description": "Name of the VolumeSnapshotContent object to which the VolumeSnapshot object intends to bind to. Please note that verification of binding actually requires checking both VolumeSnapshot and VolumeSnapshotContent to ensure both are pointing at each other. Binding MUST be verified prior to usage of this object."},
            {"name": "CreationTime", "type": "date", "jsonPath": ".status.creationTime",
             "description": "Timestamp when the point-in-time snapshot was taken by the underlying storage system."},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]),
        _crd("volumesnapshotcontents", "VolumeSnapshotContent", "Cluster", ["vsc", "vscs"], vsc_spec, vsc_status, [
            {"name": "ReadyToUse", "type": "boolean", "jsonPath": ".status.readyToUse"},
            {"name": "RestoreSize", "type": "integer", "jsonPath": ".status.restoreSize"},
            {"name": "DeletionPolicy", "type": "string", "jsonPath": ".spec.deletionPolicy"},
            {"name": "Driver", "type": "string", "jsonPath": ".spec.driver"},
            {"name": "VolumeSnapshotClass", "type": "string", "jsonPath": ".spec.volumeSnapshotClassName"},
            {"name": "VolumeSnapshot", "type": "string", "jsonPath": ".spec.volumeSnapshotRef.name"},
            {"name": "VolumeSnapshotNamespace", "type": "string", "jsonPath": ".spec.volumeSnapshotRef.namespace"},
            {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}]),
    ]
    cls = _crd("volumesnapshotclasses", "VolumeSnapshotClass", "Cluster", ["vsclass", "vsclasses"],
               {"type": "object"}, None, [
                   {"name": "Driver", "type": "string", "jsonPath": ".driver"},
                   {"name": "DeletionPolicy", "type": "string", "jsonPath": ".deletionPolicy"},
                   {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}],
               required=("deletionPolicy", "driver"))
    props = cls["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    del props["spec"]
    props.update(cls_spec_props)
    c.append(cls)
    return c


def initial_objects():
    """-> [(plural path, object)] in creation order."""
    out = []
    for ns in ("default", "kube-system", "kube-public", "kube-node-lease"):
        out.append((("", "v1", "namespaces"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}))
    for o in bootstrap_rbac():
        plural = {"ClusterRole": "clusterroles", "ClusterRoleBinding": "clusterrolebindings"}[o["kind"]]
        out.append((("rbac.authorization.k8s.io", "v1", plural), o))
    for c in snapshot_crds():
        out.append((("apiextensions.k8s.io", "v1", "customresourcedefinitions"), c))
    out.append((("", "v1", "services"), KUBERNETES_SERVICE))
    return out


# the master service kube-apiserver keeps in `default` (its endpoints: cluster.py, when the box has nodes)
KUBERNETES_SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "kubernetes", "namespace": "default",
                 "labels": {"component": "apiserver", "provider": "kubernetes"}},
    "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP", "sessionAffinity": "None",
             "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]}}


def node_rbac():
    """What kube-apiserver's bootstrap policy gives node components (plugin/pkg/auth/authorizer/
    rbac/bootstrappolicy/policy.go: NodeRules, system:node-proxier), trimmed to the kinds the box
    serves. The system:node binding to the group system:nodes stands in for the Node authorizer
    (which would also limit a kubelet to its own node's pods, secrets and configmaps)."""
    grp = "rbac.authorization.k8s.io"
    lab = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    ann = {"rbac.authorization.kubernetes.io/autoupdate": "true"}
    node = [
        {"apiGroups": ["authentication.k8s.io"], "resources": ["tokenreviews"], "verbs": ["create"]},
        {"apiGroups": ["authorization.k8s.io"], "resources": ["localsubjectaccessreviews", "subjectaccessreviews"],
         "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["services"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["create", "get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes/status"], "verbs": ["patch", "update"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["delete", "patch", "update"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["create", "delete"]},
        {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch", "update"]},
        {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
        {"apiGroups": [""], "resources": ["configmaps", "secrets"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims", "persistentvolumes"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["endpoints"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["persistentvolumeclaims/status"], "verbs": ["get", "patch", "update"]},
        {"apiGroups": [""], "resources": ["serviceaccounts/token"], "verbs": ["create"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["volumeattachments"], "verbs": ["get"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["csidrivers"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["storage.k8s.io"], "resources": ["csinodes"], "verbs": ["create", "delete", "get", "patch", "update"]},
        {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "verbs": ["create", "delete", "get", "patch", "update"]},
    ]
    proxier = [
        {"apiGroups": [""], "resources": ["endpoints", "services"], "verbs": ["list", "watch"]},
        {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["", "events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch", "update"]},
        {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["list", "watch"]},
    ]

    def cr(name, rules):
        return (grp, "v1", "clusterroles"), {"apiVersion": grp + "/v1", "kind": "ClusterRole",
                                             "metadata": {"name": name, "labels": dict(lab), "annotations": dict(ann)},
                                             "rules": rules}

    def crb(name, subj):
        return (grp, "v1", "clusterrolebindings"), {
            "apiVersion": grp + "/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": name, "labels": dict(lab), "annotations": dict(ann)},
            "roleRef": {"apiGroup": grp, "kind": "ClusterRole", "name": name}, "subjects": [subj]}
    return [cr("system:node", node), cr("system:node-proxier", proxier),
            crb("system:node", {"apiGroup": grp, "kind": "Group", "name": "system:nodes"}),
            crb("system:node-proxier", {"apiGroup": grp, "kind": "User", "name": "system:kube-proxy"})]
