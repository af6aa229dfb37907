# SPDX-License-Identifier: MIT
"""kboxd.resources: what the box serves, one row per resource.

A ResourceInfo says everything the rest of the box needs about one resource:
its group/version/kind, plural and short names, scope, verbs, subresources,
extra field selectors, the python3-kubernetes model its schema comes from
(built-ins) or the CRD that defines it. Discovery, OpenAPI, RBAC attributes,
Table rendering and the REST handlers all read these rows, so adding a kind
is adding a row. Custom resources get rows built from their CRD when the CRD
becomes Established, and lose them when it is deleted.

The rows follow `kubectl api-resources` of a v1.32 cluster (names, short
names, verbs); the snapshot.storage.k8s.io kinds are CRDs on a real cluster,
so the box installs them as CRDs (store.py bootstrap) rather than rows here.
"""

import threading

_lock = threading.Lock()  # one writer at a time; readers never lock (copy-on-write)
RW = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
CREATE_ONLY = ["create"]


class ResourceInfo:
    def __init__(self, group, version, plural, kind, namespaced, short=(), cats=(), verbs=None,
                 subs=(), model=None, fields=(), singular=None, crd=None, scale=None,
                 storage_version=None, versions=None):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short_names = list(short)
        self.categories = list(cats)
        self.verbs = list(verbs if verbs is not None else RW)
        self.subresources = list(subs)
        self.model = model
        self.extra_fields = list(fields)  # field selectors beyond metadata.name/namespace
        self.singular = singular or kind.lower()
        self.crd = crd
        self.scale = scale  # {specReplicasPath, statusReplicasPath, labelSelectorPath}
        # all versions served (CRDs may serve several, conversion None)
        self.versions = versions or [version]
        # where the objects live in the store: events.k8s.io/v1 Events are core Events seen
        # through a conversion (one object, two APIs), as on a real cluster
        self.store_key = (group, plural)

    @property
    def gv(self):
        return f"{self.group}/{self.version}" if self.group else self.version

    def api_version(self, version=None):
        v = version or self.version
        return f"{self.group}/{v}" if self.group else v

    @property
    def key(self):
        return (self.group, self.plural)

    @property
    def builtin(self):
        return self.crd is None

    @property
    def has_status(self):
        return "status" in self.subresources

    def __repr__(self):
        return f"<{self.plural}.{self.group}>"


def _deploy_scale():
    return {"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas",
            "labelSelectorPath": ".status.selector"}


B = ResourceInfo
BUILTINS = [
    # core/v1
    B("", "v1", "namespaces", "Namespace", False, ["ns"], subs=["status", "finalize"],
      verbs=["create", "delete", "get", "list", "patch", "update", "watch"], model="V1Namespace",
      fields=["status.phase"]),
    B("", "v1", "pods", "Pod", True, ["po"], ["all"], subs=["status", "ephemeralcontainers", "binding", "log"],
      model="V1Pod", fields=["spec.nodeName", "spec.restartPolicy", "spec.schedulerName",
                             "spec.serviceAccountName", "spec.hostNetwork", "status.phase",
                             "status.podIP", "status.nominatedNodeName"]),
    B("", "v1", "services", "Service", True, ["svc"], ["all"], subs=["status"], model="V1Service",
      fields=["spec.clusterIP", "spec.type"]),
    B("", "v1", "endpoints", "Endpoints", True, ["ep"], model="V1Endpoints", singular="endpoints"),
    B("", "v1", "configmaps", "ConfigMap", True, ["cm"], model="V1ConfigMap"),
    B("", "v1", "secrets", "Secret", True, model="V1Secret", fields=["type"]),
    B("", "v1", "serviceaccounts", "ServiceAccount", True, ["sa"], subs=["token"],
      model="V1ServiceAccount"),
    B("", "v1", "nodes", "Node", False, ["no"], subs=["status"], model="V1Node",
      fields=["spec.unschedulable"]),
    B("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", True, ["pvc"], subs=["status"],
      model="V1PersistentVolumeClaim"),
    B("", "v1", "persistentvolumes", "PersistentVolume", False, ["pv"], subs=["status"],
      model="V1PersistentVolume"),
    B("", "v1", "events", "Event", True, ["ev"], model="CoreV1Event",
      fields=["involvedObject.kind", "involvedObject.namespace", "involvedObject.name",
              "involvedObject.uid", "involvedObject.apiVersion", "involvedObject.resourceVersion",
              "involvedObject.fieldPath", "reason", "reportingComponent", "source", "type"]),
    B("", "v1", "resourcequotas", "ResourceQuota", True, ["quota"], subs=["status"],
      model="V1ResourceQuota"),
    B("", "v1", "limitranges", "LimitRange", True, ["limits"], model="V1LimitRange"),
    # apps/v1
    B("apps", "v1", "deployments", "Deployment", True, ["deploy"], ["all"], subs=["status", "scale"],
      model="V1Deployment", scale=_deploy_scale()),
    B("apps", "v1", "replicasets", "ReplicaSet", True, ["rs"], ["all"], subs=["status", "scale"],
      model="V1ReplicaSet", scale=_deploy_scale()),
    B("apps", "v1", "statefulsets", "StatefulSet", True, ["sts"], ["all"], subs=["status", "scale"],
      model="V1StatefulSet", scale=_deploy_scale()),
    B("apps", "v1", "daemonsets", "DaemonSet", True, ["ds"], ["all"], subs=["status"],
      model="V1DaemonSet"),
    B("apps", "v1", "controllerrevisions", "ControllerRevision", True, model="V1ControllerRevision"),
    # batch/v1
    B("batch", "v1", "jobs", "Job", True, cats=["all"], subs=["status"], model="V1Job"),
    B("batch", "v1", "cronjobs", "CronJob", True, ["cj"], ["all"], subs=["status"], model="V1CronJob"),
    # autoscaling, policy
    B("autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", True, ["hpa"],
      ["all"], subs=["status"], model=None),
    B("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", True, ["pdb"], subs=["status"],
      model="V1PodDisruptionBudget"),
    # coordination, discovery, events
    B("coordination.k8s.io", "v1", "leases", "Lease", True, model="V1Lease"),
    B("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True, model="V1EndpointSlice",
      fields=["addressType"]),
    B("events.k8s.io", "v1", "events", "Event", True, ["ev"], model="EventsV1Event",
      fields=["regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid",
              "reason", "type", "reportingController"]),
    # storage
    B("storage.k8s.io", "v1", "storageclasses", "StorageClass", False, ["sc"], model="V1StorageClass"),
    B("storage.k8s.io", "v1", "csinodes", "CSINode", False, model="V1CSINode"),
    B("storage.k8s.io", "v1", "csidrivers", "CSIDriver", False, model="V1CSIDriver"),
    B("storage.k8s.io", "v1", "volumeattachments", "VolumeAttachment", False, subs=["status"],
      model="V1VolumeAttachment"),
    # rbac
    B("rbac.authorization.k8s.io", "v1", "roles", "Role", True, model="V1Role"),
    B("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", True, model="V1RoleBinding"),
    B("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", False, model="V1ClusterRole"),
    B("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", False,
      model="V1ClusterRoleBinding"),
    # CRDs, priority classes
    B("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", False,
      ["crd", "crds"], subs=["status"], model="V1CustomResourceDefinition"),
    B("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", False, ["pc"],
      model="V1PriorityClass"),
    # reviews (create only, never stored)
    B("authorization.k8s.io", "v1", "selfsubjectaccessreviews", "SelfSubjectAccessReview", False,
      verbs=CREATE_ONLY, model="V1SelfSubjectAccessReview"),
    B("authorization.k8s.io", "v1", "selfsubjectrulesreviews", "SelfSubjectRulesReview", False,
      verbs=CREATE_ONLY, model="V1SelfSubjectRulesReview"),
    B("authorization.k8s.io", "v1", "subjectaccessreviews", "SubjectAccessReview", False,
      verbs=CREATE_ONLY, model="V1SubjectAccessReview"),
    B("authorization.k8s.io", "v1", "localsubjectaccessreviews", "LocalSubjectAccessReview", True,
      verbs=CREATE_ONLY, model="V1LocalSubjectAccessReview"),
    B("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", False, verbs=CREATE_ONLY,
      model="V1TokenReview"),
    B("authentication.k8s.io", "v1", "selfsubjectreviews", "SelfSubjectReview", False,
      verbs=CREATE_ONLY, model=None),
]

# kinds that are answered, never stored
REVIEWS = {"selfsubjectaccessreviews", "selfsubjectrulesreviews", "subjectaccessreviews",
           "localsubjectaccessreviews", "tokenreviews", "selfsubjectreviews"}

# subresource -> (group, version, kind, verbs) as aggregated discovery reports it
SUBRESOURCE_KINDS = {
    "status": (None, None, None, ["get", "patch", "update"]),
    "scale": ("autoscaling", "v1", "Scale", ["get", "patch", "update"]),
    "token": ("authentication.k8s.io", "v1", "TokenRequest", ["create"]),
    "finalize": (None, None, None, ["update"]),
    "ephemeralcontainers": (None, None, None, ["get", "patch", "update"]),
    "binding": (None, None, "Binding", ["create"]),
    "log": (None, None, "Pod", ["get"]),
}


EVENTS_V1 = next(r for r in BUILTINS if r.group == "events.k8s.io")
EVENTS_V1.store_key = ("", "events")


class Registry:
    """The set of served resources: built-ins plus one row per Established CRD version."""

    def __init__(self):
        self.rows = {}  # (group, plural) -> ResourceInfo
        self.by_gv = {}  # (group, version) -> {plural: ResourceInfo}
        for r in BUILTINS:
            self._add(r)

    # copy-on-write: request threads iterate these dicts while a CRD is being (un)served,
    # so a change builds new dicts and swaps them in (one reference assignment each)
    def _add(self, r):
        rows = dict(self.rows)
        rows[r.key] = r
        by_gv = dict(self.by_gv)
        for v in r.versions:
            d = dict(by_gv.get((r.group, v), {}))
            d[r.plural] = r
            by_gv[(r.group, v)] = d
        self.rows, self.by_gv = rows, by_gv

    def _remove(self, key):
        r = self.rows.get(key)
        if r is None:
            return
        rows = dict(self.rows)
        rows.pop(key, None)
        by_gv = dict(self.by_gv)
        for v in r.versions:
            d = dict(by_gv.get((r.group, v), {}))
            d.pop(r.plural, None)
            if d:
                by_gv[(r.group, v)] = d
            else:
                by_gv.pop((r.group, v), None)
        self.rows, self.by_gv = rows, by_gv

    def lookup(self, group, version, plural):
        d = self.by_gv.get((group, version))
        return d.get(plural) if d else None

    def by_kind(self, api_version, kind):
        g, _, v = api_version.rpartition("/")
        for r in self.by_gv.get((g, v), {}).values():
            if r.kind == kind:
                return r
        return None

    def groups(self):
        """{group: [versions, preferred first]} in a stable order (core first)."""
        out = {}
        for (g, v) in self.by_gv:
            out.setdefault(g, [])
            if v not in out[g]:
                out[g].append(v)
        for g, vs in out.items():
            vs.sort(key=version_priority)
        return dict(sorted(out.items(), key=lambda kv: (kv[0] != "", kv[0])))

    def set_crd(self, crd):
        """Serve (or stop serving) the resource a CRD defines, per its spec and conditions."""
        with _lock:
            self._set_crd(crd)

    def _set_crd(self, crd):
        spec = crd.get("spec", {})
        names = spec.get("names", {})
        key = (spec.get("group", ""), names.get("plural", ""))
        self._remove(key)
        established = any(c.get("type") == "Established" and c.get("status") == "True"
                          for c in crd.get("status", {}).get("conditions", []))
        if not established or crd.get("metadata", {}).get("deletionTimestamp"):
            return
        served = [v for v in spec.get("versions", []) if v.get("served", True)]
        if not served:
            return
        served.sort(key=lambda v: version_priority(v["name"]))
        storage = next((v["name"] for v in spec.get("versions", []) if v.get("storage")), served[0]["name"])
        first = served[0]
        subs = []
        scale = None
        sr = first.get("subresources") or {}
        if "status" in sr:
            subs.append("status")
        if "scale" in sr:
            subs.append("scale")
            scale = sr["scale"]
        fields = [f["jsonPath"].lstrip(".") for f in first.get("selectableFields", [])]
        r = ResourceInfo(spec["group"], first["name"], names["plural"], names["kind"],
                         spec.get("scope") == "Namespaced", names.get("shortNames", []),
                         names.get("categories", []), subs=subs, fields=fields,
                         singular=names.get("singular") or names["kind"].lower(), crd=crd,
                         scale=scale, storage_version=storage,
                         versions=[v["name"] for v in served])
        self._add(r)

    def crd_version(self, r, version):
        for v in r.crd["spec"].get("versions", []):
            if v["name"] == version:
                return v
        return None


def version_priority(v):
    """Kubernetes version ordering: GA > beta > alpha, then by numbers, descending."""
    import re
    m = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", v)
    if not m:
        return (3, 0, 0, v)
    major = int(m.group(1))
    stage = {"alpha": 2, "beta": 1, None: 0}[m.group(2)]
    minor = int(m.group(3) or 0)
    return (stage, -major, -minor, v)
