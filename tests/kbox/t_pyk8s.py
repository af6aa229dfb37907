#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""python3-kubernetes (Debian's 22.6) lists, watches and deserialises every kind the box serves.

For each kind: a minimal valid object (written from the API reference's required
fields) is created through the typed API, listed back into its model class (the
generated models refuse a missing required field, so a wrong shape fails here),
and watched from the RV before its creation (the ADDED event must deserialise
into the same class). Custom resources go through CustomObjectsApi; kinds newer
than the client (autoscaling/v2) and the check that discovery lists every served
resource go through the dynamic client, which reads the box's discovery.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish  # noqa: E402

import kubernetes  # noqa: E402
from kubernetes import client, config, dynamic, watch  # noqa: E402

box = Box()
ns = box.namespace("pyk8s")
config.load_kube_config(box.kubeconfig)
api = client.ApiClient()
REF = "python3-kubernetes models / API reference"


def snake(kind):
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", kind)
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s).lower()


META = lambda name: {"name": name}  # noqa: E731
POD_SPEC = {"containers": [{"name": "c", "image": "busybox:1.36"}]}
TEMPLATE = {"metadata": {"labels": {"app": "x"}}, "spec": POD_SPEC}
SEL = {"matchLabels": {"app": "x"}}
NS_KINDS = [
    (client.CoreV1Api, "Pod", {"spec": POD_SPEC}),
    (client.CoreV1Api, "Service", {"spec": {"ports": [{"port": 80}], "selector": {"app": "x"}}}),
    (client.CoreV1Api, "Endpoints", {"subsets": [{"addresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]}),
    (client.CoreV1Api, "ConfigMap", {"data": {"a": "b"}}),
    (client.CoreV1Api, "Secret", {"stringData": {"a": "b"}}),
    (client.CoreV1Api, "ServiceAccount", {}),
    (client.CoreV1Api, "PersistentVolumeClaim", {"spec": {"accessModes": ["ReadWriteOnce"],
                                                          "resources": {"requests": {"storage": "1Gi"}}}}),
    # with eventTime: the same object is listed through events.k8s.io/v1 below, whose
    # python model refuses a null eventTime
    (client.CoreV1Api, "Event", {"involvedObject": {"kind": "Pod", "name": "p", "namespace": ns},
                                 "reason": "Test", "message": "m", "type": "Normal", "action": "Test",
                                 "eventTime": "2026-01-01T00:00:00.000001Z", "reportingComponent": "ferry.io/test",
                                 "reportingInstance": "i"}),
    (client.CoreV1Api, "ResourceQuota", {"spec": {"hard": {"pods": "10"}}}),
    (client.CoreV1Api, "LimitRange", {"spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}}]}}),
    (client.AppsV1Api, "Deployment", {"spec": {"selector": SEL, "template": TEMPLATE}}),
    (client.AppsV1Api, "ReplicaSet", {"spec": {"selector": SEL, "template": TEMPLATE}}),
    (client.AppsV1Api, "StatefulSet", {"spec": {"selector": SEL, "template": TEMPLATE, "serviceName": "s"}}),
    (client.AppsV1Api, "DaemonSet", {"spec": {"selector": SEL, "template": TEMPLATE}}),
    (client.AppsV1Api, "ControllerRevision", {"revision": 1, "data": {"a": 1}}),
    (client.BatchV1Api, "Job", {"spec": {"template": {"spec": dict(POD_SPEC, restartPolicy="Never")}}}),
    (client.BatchV1Api, "CronJob", {"spec": {"schedule": "*/5 * * * *", "jobTemplate": {
        "spec": {"template": {"spec": dict(POD_SPEC, restartPolicy="Never")}}}}}),
    (client.PolicyV1Api, "PodDisruptionBudget", {"spec": {"minAvailable": 1, "selector": SEL}}),
    (client.CoordinationV1Api, "Lease", {"spec": {"holderIdentity": "a", "leaseDurationSeconds": 15,
                                                  "renewTime": "2026-01-01T00:00:00.000001Z"}}),
    (client.DiscoveryV1Api, "EndpointSlice", {"addressType": "IPv4", "endpoints": [{"addresses": ["10.0.0.1"]}],
                                              "ports": [{"port": 80}]}),
    (client.EventsV1Api, "Event", {"eventTime": "2026-01-01T00:00:00.000001Z", "reportingController": "ferry.io/test",
                                   "reportingInstance": "i", "action": "Test", "reason": "Test", "type": "Normal",
                                   "regarding": {"kind": "Pod", "name": "p", "namespace": ns}}),
    (client.RbacAuthorizationV1Api, "Role", {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
    (client.RbacAuthorizationV1Api, "RoleBinding", {"roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                                                    "subjects": [{"kind": "ServiceAccount", "name": "default", "namespace": ns}]}),
]
CLUSTER_KINDS = [
    (client.CoreV1Api, "Node", {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
    (client.CoreV1Api, "PersistentVolume", {"spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"],
                                                     "hostPath": {"path": "/tmp"}}}),
    (client.StorageV1Api, "StorageClass", {"provisioner": "kbox.ferry.io"}),
    (client.StorageV1Api, "CSINode", {"spec": {"drivers": [{"name": "kbox.ferry.io", "nodeID": "n1",
                                                            "allocatable": {"count": 8}}]}}),
    (client.StorageV1Api, "CSIDriver", {"spec": {"attachRequired": False}}),
    (client.StorageV1Api, "VolumeAttachment", {"spec": {"attacher": "kbox.ferry.io", "nodeName": "n1",
                                                        "source": {"persistentVolumeName": "pv"}}}),
    (client.RbacAuthorizationV1Api, "ClusterRole", {"rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}]}),
    (client.RbacAuthorizationV1Api, "ClusterRoleBinding", {"roleRef": {"apiGroup": "rbac.authorization.k8s.io",
                                                                       "kind": "ClusterRole", "name": "r"},
                                                           "subjects": [{"kind": "Group", "name": "g",
                                                                         "apiGroup": "rbac.authorization.k8s.io"}]}),
    (client.SchedulingV1Api, "PriorityClass", {"value": 1000, "description": "test"}),
]

suffix = ns.split("-")[-1]
for cls, kind, body in NS_KINDS + CLUSTER_KINDS:
    a = cls(api)
    namespaced = (cls, kind, body) in NS_KINDS
    sn = snake(kind)
    # core and events.k8s.io Events are one resource: two names
    name = f"k-{suffix}" if cls is not client.EventsV1Api else f"k1-{suffix}"
    obj = dict(body, metadata=META(name))
    try:
        if namespaced:
            lst0 = getattr(a, f"list_namespaced_{sn}")(ns)
            created = getattr(a, f"create_namespaced_{sn}")(ns, obj)
            lst = getattr(a, f"list_namespaced_{sn}")(ns)
            wfn, wargs = getattr(a, f"list_namespaced_{sn}"), (ns,)
        else:
            lst0 = getattr(a, f"list_{sn}")()
            created = getattr(a, f"create_{sn}")(obj)
            lst = getattr(a, f"list_{sn}")()
            wfn, wargs = getattr(a, f"list_{sn}"), ()
    except (kubernetes.client.ApiException, ValueError, TypeError, AttributeError) as e:
        check(f"{kind} ({cls.__name__}): create and list deserialise", False, repr(e)[:400], ref=REF)
        continue
    check(f"{kind}: create answers a {type(created).__name__} with server-set metadata",
          created.metadata.name == name and created.metadata.uid and created.metadata.creation_timestamp is not None,
          created.metadata, ref=REF)
    eq(f"{kind}: the typed list holds it", [i.metadata.name for i in lst.items if i.metadata.name == name], [name], REF)
    w = watch.Watch()
    first = None
    try:
        for ev in w.stream(wfn, *wargs, resource_version=lst0.metadata.resource_version, timeout_seconds=5):
            if ev["object"].metadata.name == name:
                first = ev
                w.stop()
    except (kubernetes.client.ApiException, ValueError) as e:
        first = {"type": repr(e), "object": None}
    check(f"{kind}: a watch from the list's RV replays ADDED into the model class",
          first is not None and first["type"] == "ADDED" and type(first["object"]) is type(created),
          first and (first["type"], type(first["object"]).__name__), ref="§6.1")

# custom resources (VolumeSnapshot etc. are CRDs on a real cluster too)
co = client.CustomObjectsApi(api)
g = "snapshot.storage.k8s.io"
co.create_cluster_custom_object(g, "v1", "volumesnapshotclasses", {
    "apiVersion": f"{g}/v1", "kind": "VolumeSnapshotClass", "metadata": {"name": f"vsc-{suffix}"},
    "driver": "kbox.ferry.io", "deletionPolicy": "Delete"})
vs = co.create_namespaced_custom_object(g, "v1", ns, "volumesnapshots", {
    "apiVersion": f"{g}/v1", "kind": "VolumeSnapshot", "metadata": {"name": "snap"},
    "spec": {"source": {"persistentVolumeClaimName": f"k-{suffix}"}, "volumeSnapshotClassName": f"vsc-{suffix}"}})
eq("VolumeSnapshot through CustomObjectsApi", vs["spec"]["source"], {"persistentVolumeClaimName": f"k-{suffix}"},
   "external-snapshotter v1 types")
vsc = co.create_cluster_custom_object(g, "v1", "volumesnapshotcontents", {
    "apiVersion": f"{g}/v1", "kind": "VolumeSnapshotContent", "metadata": {"name": f"content-{suffix}"},
    "spec": {"deletionPolicy": "Retain", "driver": "kbox.ferry.io", "source": {"snapshotHandle": "h1"},
             "volumeSnapshotRef": {"name": "snap", "namespace": ns}}})
st = co.patch_cluster_custom_object_status(g, "v1", "volumesnapshotcontents", f"content-{suffix}",
                                           {"status": {"readyToUse": True, "restoreSize": 1073741824,
                                                       "creationTime": 1767225600000000000}})
eq("VolumeSnapshotContent status keeps int64 creationTime and restoreSize",
   (st["status"]["restoreSize"], st["status"]["creationTime"]), (1073741824, 1767225600000000000), "CONTROLPLANE.md §2.1")
w = watch.Watch()
evs = []
for ev in w.stream(co.list_namespaced_custom_object, g, "v1", ns, "volumesnapshots", timeout_seconds=5):
    evs.append((ev["type"], ev["object"]["metadata"]["name"]))
    w.stop()
eq("a watch of a custom resource through CustomObjectsApi", evs, [("ADDED", "snap")], "§6.1")

# reviews, token requests
core = client.CoreV1Api(api)
tr = core.create_namespaced_service_account_token("default", ns, {"spec": {"audiences": ["ferry"], "expirationSeconds": 600}})
check("TokenRequest deserialises (AuthenticationV1TokenRequest)", bool(tr.status.token) and tr.status.expiration_timestamp,
      tr.status, ref="API reference TokenRequest")
rv = client.AuthenticationV1Api(api).create_token_review({"spec": {"token": tr.status.token, "audiences": ["ferry"]}})
eq("TokenReview (V1TokenReview) with the token's audience", (rv.status.authenticated, rv.status.user.username),
   (True, f"system:serviceaccount:{ns}:default"), "API reference TokenReview")
ssar = client.AuthorizationV1Api(api).create_self_subject_access_review(
    {"spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "namespace": ns}}})
eq("SelfSubjectAccessReview (V1SelfSubjectAccessReview)", ssar.status.allowed, True, "API reference SSAR")

# the dynamic client: discovery lists every kind, and kinds newer than the typed client
dyn = dynamic.DynamicClient(api)
hpa_api = dyn.resources.get(api_version="autoscaling/v2", kind="HorizontalPodAutoscaler")
h = hpa_api.create(namespace=ns, body={"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                       "metadata": {"name": "h"},
                                       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                                   "name": f"k-{suffix}"},
                                                "minReplicas": 1, "maxReplicas": 3}})
eq("autoscaling/v2 HPA through the dynamic client (discovery-driven)", h.spec.maxReplicas, 3, "API reference HPA v2")
served = set()
for r in dyn.resources.search():
    if "/" not in (r.name or "/"):
        served.add((r.group_version, r.kind))
want = {("v1", k) for k in ("Pod", "Service", "ConfigMap", "Node", "Namespace", "Event")} | \
       {("apps/v1", "Deployment"), ("coordination.k8s.io/v1", "Lease"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
        ("events.k8s.io/v1", "Event"), ("storage.k8s.io/v1", "CSINode"), ("scheduling.k8s.io/v1", "PriorityClass"),
        ("apiextensions.k8s.io/v1", "CustomResourceDefinition")}
eq("the dynamic client's discovery finds the kinds ferry uses", sorted(want - served), [], "§7.2 item 1")

finish()
