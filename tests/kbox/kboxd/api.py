# SPDX-License-Identifier: MIT
"""kboxd.api: the REST semantics of kube-apiserver over the store (no HTTP here).

One function per verb (get, list, watch, create, update, patch, delete,
deletecollection) plus the subresources (status, scale, token, finalize) and
the review kinds. Each follows the apiserver's generic registry as
CONTROLPLANE.md §6 describes it:
- server-set metadata: uid, resourceVersion (the store's counter),
  creationTimestamp, generation (bumped on spec changes only; for custom
  resources on any change outside metadata and status; and when graceful
  deletion sets deletionTimestamp), generateName (+5 random characters),
  namespace from the URL (400 when the body names another);
- writes to a resource with a status subresource keep the old status; writes
  to /status keep everything but status; /scale reads and writes
  autoscaling/v1 Scale with the string status.selector;
- optimistic concurrency: a stale metadata.resourceVersion is 409 Conflict;
  custom resources need one on PUT (422), as their strategy refuses
  unconditional updates; an update that changes nothing writes nothing (no new RV);
- finalizers: DELETE sets deletionTimestamp and answers 200 with the object;
  the object goes when its last finalizer does; no finalizer may be added
  once it is set; DELETE preconditions (uid, resourceVersion) -> 409;
  propagationPolicy Foreground/Orphan become the foregroundDeletion/orphan
  finalizers that gc.py resolves, Background leaves the dependents to gc.py;
- fieldValidation Ignore/Warn/Strict on unknown fields, CR defaults and
  schema validation (422), dryRun=All on every write (nothing stored, no RV);
- creating in a missing namespace is 404, in a terminating one 403.
"""
import base64
import json
import random
import re
import time
import uuid

from . import patches, schema, selectors
from .auth import AUDIENCE, Attrs
from .resources import REVIEWS
from .util import (ApiError, FieldError, already_exists, bad_request, conflict, deepcopy, invalid,
                   method_not_allowed, namespace_not_found, not_found, now_time, success_status, truthy,
                   unsupported_media)

DNS1123_SUB = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
DNS1035_LABEL = re.compile(r"[a-z]([-a-z0-9]*[a-z0-9])?")
LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")
LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")

SUB_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or "
           "'.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used "
           "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')")
LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
             "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex "
             "used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
DNS1035_MSG = ("a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with "
               "an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or "
               "'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')")

# kinds whose names are DNS labels rather than subdomains
LABEL_NAMED = {"namespaces"}
DNS1035_NAMED = {"services"}
# built-in kinds whose strategies track metadata.generation (others never show one)
GENERATION_KINDS = {"deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs",
                    "poddisruptionbudgets", "horizontalpodautoscalers", "customresourcedefinitions"}
# admission plugins of extensions (storage.py: DefaultStorageClass, StorageObjectInUseProtection,
# ResourceQuota for claims): fn(api, req, obj, old) on every create (old None) and every
# update but of status, before validation; may change obj or raise ApiError
ADMISSION = []
# kinds whose PUT creates a missing object (AllowCreateOnUpdate in their strategies)
CREATE_ON_UPDATE = {"leases", "endpoints", "events"}
# kinds whose DELETE answers the deleted object rather than a Status (ReturnDeletedObject)
RETURN_DELETED = {"pods", "services"}

# the status a new object shows: Go's zero values of the status fields without omitempty
ZERO_STATUS = {
    "replicasets": {"replicas": 0},  # apps/v1 ReplicaSetStatus.Replicas `json:"replicas"`
    "statefulsets": {"replicas": 0, "availableReplicas": 0},  # StatefulSetStatus
    "daemonsets": {"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                   "numberReady": 0},  # apps/v1 DaemonSetStatus
    "poddisruptionbudgets": {"disruptionsAllowed": 0, "currentHealthy": 0, "desiredHealthy": 0,
                             "expectedPods": 0},  # policy/v1 PodDisruptionBudgetStatus
    "volumeattachments": {"attached": False},  # storage/v1 VolumeAttachmentStatus.Attached
    "horizontalpodautoscalers": {"desiredReplicas": 0},  # autoscaling/v2 HPAStatus.DesiredReplicas
}

# metav1.MicroTime fields: always written back with six fractional digits (RFC 3339 micro)
MICRO_TIMES = {
    "leases": (("spec", "acquireTime"), ("spec", "renewTime")),  # coordination/v1 LeaseSpec
    "events": (("eventTime",), ("series", "lastObservedTime")),  # core/v1 and events/v1 Event
}

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
JSONP = "application/json-patch+json"
SMP = "application/strategic-merge-patch+json"


class Request:
    """What the HTTP layer hands in: one parsed API request."""

    def __init__(self, method, res, version, ns, name, sub, query, headers, body, user):
        self.method = method
        self.res = res
        self.version = version
        self.ns = ns
        self.name = name
        self.sub = sub
        self.query = query
        self.headers = headers
        self.body = body
        self.user = user
        self.warnings = []

    def q(self, k, default=None):
        v = self.query.get(k)
        return v[0] if v else default

    @property
    def dry_run(self):
        vals = self.query.get("dryRun", [])
        for v in vals:
            if v != "All":
                raise bad_request(f"unsupported dry run value \"{v}\"")
        return bool(vals)

    @property
    def content_type(self):
        return (self.headers.get("Content-Type") or "application/json").split(";")[0].strip().lower()

    def manager(self, required=False):
        m = self.q("fieldManager")
        if m:
            if len(m) > 128:
                raise invalid(None, "", "", [FieldError("FieldValueTooLong", "fieldManager", "Too long: may not be longer than 128")])
            return m
        if required:
            raise bad_request("PATCH /apply requires fieldManager")  # see below
        ua = self.headers.get("User-Agent") or "unknown"
        return ua.split("/")[0][:128]


def _rand5():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def parse_body(req):
    ct = req.content_type
    if not req.body:
        raise bad_request("the body of the request was empty")
    if ct == "application/vnd.kubernetes.protobuf":
        from . import proto
        return proto.decode(req.body)
    if ct not in ("application/json", "application/yaml", APPLY, MERGE, JSONP, SMP, "text/plain", ""):
        raise unsupported_media(["application/json", "application/yaml", "application/vnd.kubernetes.protobuf"])
    if ct in ("application/yaml", APPLY):
        import yaml
        try:
            return yaml.safe_load(req.body)
        except yaml.YAMLError as e:
            raise bad_request(f"error decoding YAML: {e}")
    try:
        return json.loads(req.body)
    except ValueError as e:
        raise bad_request(f"Object 'Kind' is missing in '{req.body[:80]!r}': {e}")


NODE_PORT_MIN, NODE_PORT_MAX = 30000, 32767  # --service-node-port-range's default


class Api:
    def __init__(self, store, registry, authn, authz, opts):
        self.store = store
        self.reg = registry
        self.authn = authn
        self.authz = authz
        self.opts = opts
        self.service_ips = set()

    # ---- helpers
    def view(self, res, obj):
        """The object as seen through res (events.k8s.io/v1 over core Events), for selectors."""
        if obj is None or res.store_key == res.key:
            return obj
        return convert_event(obj, to_v1=True)

    def _schema(self, req):
        """The schema for managedFields; the box's own bootstrap writes skip it (start-up time)."""
        if getattr(req, "trusted", False):
            return None
        return schema.schema_for(req.res, req.version)

    def key(self, res, ns, name):
        return res.store_key + (ns if res.namespaced else "", name)

    def out(self, res, obj, version):
        """The object as a client at `version` sees it (CR versions convert with strategy None)."""
        if obj is None:
            return None
        o = deepcopy(obj)
        if res.crd is not None:
            o["apiVersion"] = res.api_version(version)
        if res.store_key != res.key:
            o = convert_event(o, to_v1=True)
        head = {"apiVersion": o.pop("apiVersion", res.api_version(version)), "kind": o.pop("kind", res.kind)}
        head.update(o)
        return head

    def _check_ns(self, req):
        if not req.res.namespaced:
            return
        if not req.ns:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        nso = self.store.get(("", "namespaces", "", req.ns))
        if nso is None:
            raise namespace_not_found(req.ns)
        if nso["metadata"].get("deletionTimestamp"):
            raise ApiError(403, "Forbidden",
                           f'{req.res.plural} "{req.name or ""}" is forbidden: unable to create new content in '
                           f'namespace {req.ns} because it is being terminated',
                           {"name": req.name or "", "kind": req.res.plural,
                            "causes": [{"reason": "NamespaceTerminating",
                                        "message": f"namespace {req.ns} is being terminated",
                                        "field": "metadata.namespace"}]})

    def _field_validation(self, req, obj, version):
        """Prune unknown fields; Strict -> 400, Warn (the default) -> Warning headers."""
        mode = req.q("fieldValidation", "Warn")
        if getattr(req, "trusted", False):
            return
        if mode not in ("Ignore", "Warn", "Strict"):
            raise bad_request(f'fieldValidation parameter unsupported: "{mode}". Valid values: Ignore, Warn, Strict')
        sch = schema.schema_for(req.res, version)
        unknown = schema.prune(obj, sch) if sch else []
        # duplicate fields cannot be seen after json.loads; unknown fields can
        if unknown:
            msgs = [f'unknown field "{u.lstrip(".")}"' for u in unknown]
            if mode == "Strict":
                if req.content_type == APPLY:
                    raise bad_request(", ".join(f"{u}: field not declared in schema" for u in unknown))
                raise bad_request("strict decoding error: " + ", ".join(msgs))
            if mode == "Warn":
                req.warnings.extend(msgs)

    def _validate(self, res, obj, old=None):
        errs = []
        meta = obj.get("metadata") or {}
        name = meta.get("name", "")
        if not name:
            errs.append(FieldError("FieldValueRequired", "metadata.name", "name or generateName is required"))
        elif res.plural in LABEL_NAMED:
            if not DNS1123_LABEL.fullmatch(name) or len(name) > 63:
                errs.append(FieldError("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {LABEL_MSG}'))
        elif res.plural in DNS1035_NAMED:
            if not DNS1035_LABEL.fullmatch(name) or len(name) > 63:
                errs.append(FieldError("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {DNS1035_MSG}'))
        elif res.plural in ("roles", "clusterroles", "rolebindings", "clusterrolebindings"):
            if "/" in name or "%" in name or name in (".", ".."):
                errs.append(FieldError("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": may not contain "/"'))
        elif not DNS1123_SUB.fullmatch(name) or len(name) > 253:
            errs.append(FieldError("FieldValueInvalid", "metadata.name", f'Invalid value: "{name}": {SUB_MSG}'))
        for fld in ("labels",):
            for k, v in (meta.get(fld) or {}).items():
                kname = k.split("/")[-1]
                if not LABEL_NAME.fullmatch(kname) or len(kname) > 63 or k.count("/") > 1:
                    errs.append(FieldError("FieldValueInvalid", "metadata.labels", f'Invalid value: "{k}": name part must consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'))
                if not isinstance(v, str) or not LABEL_VALUE.fullmatch(v) or len(v) > 63:
                    errs.append(FieldError("FieldValueInvalid", "metadata.labels", f'Invalid value: "{v}": a valid label must be an empty string or consist of alphanumeric characters, \'-\', \'_\' or \'.\', and must start and end with an alphanumeric character'))
        for i, o in enumerate(meta.get("ownerReferences") or []):
            for f in ("apiVersion", "kind", "name", "uid"):
                if not o.get(f):
                    errs.append(FieldError("FieldValueRequired" if f != "uid" else "FieldValueInvalid",
                                           f"metadata.ownerReferences.{f}" if f != "uid" else "metadata.ownerReferences.uid",
                                           "" if f != "uid" else 'Invalid value: "": uid must not be empty'))
        if old is not None and old["metadata"].get("deletionTimestamp"):
            newf = [f for f in meta.get("finalizers") or [] if f not in (old["metadata"].get("finalizers") or [])]
            if newf:
                errs.append(FieldError("FieldValueForbidden", "metadata.finalizers",
                                       "no new finalizers can be added if the object is being deleted, found new finalizers []string{"
                                       + ", ".join(json.dumps(f) for f in newf) + "}"))
        errs += self._validate_kind(res, obj, old)
        if res.crd is not None:
            ver = obj.get("apiVersion", "").split("/")[-1]
            errs += schema.validate(obj, schema.crd_schema(res, ver))
        if errs:
            raise invalid(res, res.kind, name, errs)

    def _validate_kind(self, res, obj, old):
        errs = []
        spec = obj.get("spec") or {}
        p = res.plural
        if p == "pods":
            cs = spec.get("containers")
            if not cs:
                errs.append(FieldError("FieldValueRequired", "spec.containers", ""))
            for i, c in enumerate(cs or []):
                if not c.get("name"):
                    errs.append(FieldError("FieldValueRequired", f"spec.containers[{i}].name", ""))
                if not c.get("image") and old is None:
                    errs.append(FieldError("FieldValueRequired", f"spec.containers[{i}].image", ""))
        if p in ("deployments", "replicasets", "statefulsets", "daemonsets"):
            sel = spec.get("selector")
            if not sel:
                errs.append(FieldError("FieldValueRequired", "spec.selector", ""))
            else:
                tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
                if not selectors.match_selector_object(sel, tl):
                    errs.append(FieldError("FieldValueInvalid", "spec.template.metadata.labels",
                                           f"Invalid value: map[string]string{{{', '.join(f'{json.dumps(k)}:{json.dumps(v)}' for k, v in sorted(tl.items()))}}}: `selector` does not match template `labels`"))
                if old is not None and old.get("spec", {}).get("selector") != sel:
                    errs.append(FieldError("FieldValueInvalid", "spec.selector",
                                           "Invalid value: " + json.dumps(sel) + ": field is immutable"))
            r = spec.get("replicas")
            if isinstance(r, int) and r < 0:
                errs.append(FieldError("FieldValueInvalid", "spec.replicas", f"Invalid value: {r}: must be greater than or equal to 0"))
        if p == "leases":
            d = spec.get("leaseDurationSeconds")
            if d is not None and d <= 0:
                errs.append(FieldError("FieldValueInvalid", "spec.leaseDurationSeconds", f"Invalid value: {d}: must be greater than 0"))
        if p in ("configmaps", "secrets") and old is not None and old.get("immutable"):
            for f in ("data", "binaryData", "stringData"):
                if obj.get(f) != old.get(f):
                    errs.append(FieldError("FieldValueForbidden", f, "field is immutable when `immutable` is set"))
        if p == "services":
            errs += self._node_port_errors(obj)
        if p == "services" and old is not None:
            oc = (old.get("spec") or {}).get("clusterIP")
            if oc and spec.get("clusterIP") not in (oc, None, ""):
                errs.append(FieldError("FieldValueInvalid", "spec.clusterIP", f'Invalid value: "{spec.get("clusterIP")}": field is immutable'))
        if p == "customresourcedefinitions":
            names = spec.get("names") or {}
            want = f"{names.get('plural', '')}.{spec.get('group', '')}"
            if obj["metadata"].get("name") != want:
                errs.append(FieldError("FieldValueInvalid", "metadata.name",
                                       f'Invalid value: "{obj["metadata"].get("name")}": must be spec.names.plural+"."+spec.group'))
            vs = spec.get("versions") or []
            if not vs:
                errs.append(FieldError("FieldValueInvalid", "spec.versions", "Invalid value: null: must have exactly one version marked as storage version"))
            elif sum(1 for v in vs if v.get("storage")) != 1:
                errs.append(FieldError("FieldValueInvalid", "spec.versions", "Invalid value: " + json.dumps(vs)[:60] + ": must have exactly one version marked as storage version"))
            for i, v in enumerate(vs):
                if not (v.get("schema") or {}).get("openAPIV3Schema"):
                    errs.append(FieldError("FieldValueRequired", f"spec.versions[{i}].schema.openAPIV3Schema", "schemas are required"))
            if spec.get("scope") not in ("Namespaced", "Cluster"):
                errs.append(FieldError("FieldValueNotSupported", "spec.scope",
                                       f'Unsupported value: {json.dumps(spec.get("scope"))}: supported values: "Cluster", "Namespaced"'))
        return errs

    def _defaults(self, res, obj, old=None):
        """Built-in defaulting (the fields clients expect to read back) and CR schema defaults."""
        p = res.plural
        spec = obj.get("spec")
        if res.crd is not None:
            ver = obj.get("apiVersion", "").split("/")[-1]
            schema.apply_defaults(obj, schema.crd_schema(res, ver))
            return
        for path in MICRO_TIMES.get(p, ()):
            _normalize_micro(obj, path)
        if p == "namespaces":
            obj["metadata"].setdefault("labels", {})["kubernetes.io/metadata.name"] = obj["metadata"]["name"]
            obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        if p == "pods" and isinstance(spec, dict):
            _pod_defaults(spec)
        if p in ("deployments", "replicasets", "statefulsets", "daemonsets", "jobs") and isinstance(spec, dict):
            if p != "daemonsets" and p != "jobs":
                spec.setdefault("replicas", 1)
            if p == "deployments":
                spec.setdefault("strategy", {"type": "RollingUpdate",
                                             "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}})
                spec.setdefault("revisionHistoryLimit", 10)
                spec.setdefault("progressDeadlineSeconds", 600)
            if p == "statefulsets":
                spec.setdefault("podManagementPolicy", "OrderedReady")
                spec.setdefault("updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}})
                spec.setdefault("revisionHistoryLimit", 10)
                spec.setdefault("persistentVolumeClaimRetentionPolicy",
                                {"whenDeleted": "Retain", "whenScaled": "Retain"})
            if p == "daemonsets":
                spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                                   "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
                spec.setdefault("revisionHistoryLimit", 10)
            tps = (spec.get("template") or {}).get("spec")
            if isinstance(tps, dict):
                _pod_defaults(tps)
        if p == "services" and isinstance(spec, dict):
            spec.setdefault("type", "ClusterIP")
            spec.setdefault("sessionAffinity", "None")
            for port in spec.get("ports") or []:
                port.setdefault("protocol", "TCP")
                if "targetPort" not in port and "port" in port:
                    port["targetPort"] = port["port"]
            if spec["type"] != "ExternalName" and not spec.get("clusterIP"):
                spec["clusterIP"] = self._alloc_ip()
                spec["clusterIPs"] = [spec["clusterIP"]]
            if spec["type"] in ("NodePort", "LoadBalancer"):
                self._alloc_node_ports(obj, old)
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if p == "persistentvolumeclaims" and isinstance(spec, dict):
            spec.setdefault("volumeMode", "Filesystem")
        if p == "persistentvolumes" and isinstance(spec, dict):
            spec.setdefault("volumeMode", "Filesystem")
            spec.setdefault("persistentVolumeReclaimPolicy", "Retain")
        if p == "secrets":
            obj.setdefault("type", "Opaque")
            sd = obj.pop("stringData", None)  # write-only: merged into data, as the apiserver stores it
            if isinstance(sd, dict):
                data = obj.setdefault("data", {}) or {}
                obj["data"] = data
                for k, v in sd.items():
                    data[k] = base64.b64encode(str(v).encode()).decode()
        if p == "storageclasses":
            obj.setdefault("reclaimPolicy", "Delete")
            obj.setdefault("volumeBindingMode", "Immediate")
        if p == "priorityclasses":
            obj.setdefault("preemptionPolicy", "PreemptLowerPriority")

    def _sa_admission(self, pod):
        """The ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount): the
        default service account, and the projected kube-api-access-<5> volume (token,
        kube-root-ca.crt, namespace) mounted read-only at the well-known path in every
        container, unless automountServiceAccountToken is false on the pod or its account."""
        spec = pod.setdefault("spec", {})
        if not spec.get("serviceAccountName"):
            spec["serviceAccountName"] = spec.get("serviceAccount") or "default"
        spec["serviceAccount"] = spec["serviceAccountName"]
        sa = self.store.get(("", "serviceaccounts", pod["metadata"].get("namespace", ""), spec["serviceAccountName"]))
        auto = spec.get("automountServiceAccountToken")
        if auto is None and sa is not None:
            auto = sa.get("automountServiceAccountToken")
        if auto is False:
            return
        path = "/var/run/secrets/kubernetes.io/serviceaccount"
        cs = [c for k in ("initContainers", "containers") for c in spec.get(k) or [] if isinstance(c, dict)]
        if any(m.get("mountPath") == path for c in cs for m in c.get("volumeMounts") or []):
            return
        name = "kube-api-access-" + _rand5()
        spec.setdefault("volumes", []).append({"name": name, "projected": {"defaultMode": 420, "sources": [
            {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
            {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
            {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1",
                                                                          "fieldPath": "metadata.namespace"}}]}}]}})
        for c in cs:
            c.setdefault("volumeMounts", []).append({"name": name, "mountPath": path, "readOnly": True})

    def bind(self, req):
        """POST pods/NAME/binding (the scheduler's write): spec.nodeName once, PodScheduled True."""
        body = parse_body(req)
        if not isinstance(body, dict) or not (body.get("target") or {}).get("name"):
            raise invalid(None, "Binding", req.name, [FieldError("FieldValueRequired", "target.name", "")])
        node = body["target"]["name"]
        key = self.key(req.res, req.ns, req.name)
        with self.store.lock:
            old = self.store.get(key)
            if old is None:
                raise not_found(req.res, req.name)
            uid = (body.get("metadata") or {}).get("uid")
            if uid and uid != old["metadata"]["uid"]:
                raise conflict(req.res, req.name, f"Precondition failed: UID in precondition: {uid}, "
                                                  f"UID in object meta: {old['metadata']['uid']}")
            if old["metadata"].get("deletionTimestamp"):
                raise conflict(req.res, req.name, f"pod {req.name} is being deleted, cannot be assigned to a host")
            if (old.get("spec") or {}).get("nodeName"):
                raise conflict(req.res, req.name, f"pod {req.name} is already assigned to node "
                                                  f"\"{old['spec']['nodeName']}\"")
            new = deepcopy(old)
            new["spec"]["nodeName"] = node
            st = new.setdefault("status", {})
            conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
            conds.append({"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                          "lastTransitionTime": now_time()})
            st["conditions"] = conds
            if req.dry_run:
                return success_status(req.res, req.name, old["metadata"]["uid"])
            self.store.commit(key, new, "MODIFIED")
        return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}

    def _node_ports_held(self, obj):
        """The nodePorts the cluster's other Services hold: {port: "ns/name"} (one range for all)."""
        me = (obj["metadata"].get("namespace"), obj["metadata"].get("name"))
        held = {}
        svcs, _ = self.store.list("", "services")
        for s in svcs:
            if (s["metadata"].get("namespace"), s["metadata"].get("name")) == me:
                continue
            for port in (s.get("spec") or {}).get("ports") or []:
                if isinstance(port.get("nodePort"), int):
                    held[port["nodePort"]] = f'{s["metadata"].get("namespace")}/{s["metadata"].get("name")}'
        return held

    def _alloc_node_ports(self, obj, old):
        """A NodePort or LoadBalancer Service's ports each get a nodePort from 30000-32767: the one
        the request names, else the one the old object had for that port, else a free one
        (portallocator, service REST's patchAllocatedValues)."""
        held = None
        was = {(p.get("port"), p.get("protocol", "TCP")): p.get("nodePort")
               for p in ((old or {}).get("spec") or {}).get("ports") or []}
        for port in obj["spec"].get("ports") or []:
            if port.get("nodePort"):
                continue
            prev = was.get((port.get("port"), port.get("protocol", "TCP")))
            if prev:
                port["nodePort"] = prev
                continue
            if held is None:
                held = set(self._node_ports_held(obj))
            taken = held | {q.get("nodePort") for q in obj["spec"].get("ports") or []}
            free = [n for n in range(NODE_PORT_MIN, NODE_PORT_MAX + 1) if n not in taken]
            if free:
                port["nodePort"] = random.choice(free)

    def _node_port_errors(self, obj):
        spec = obj.get("spec") or {}
        errs, held = [], None
        for i, port in enumerate(spec.get("ports") or []):
            n = port.get("nodePort")
            if n is None:
                continue
            field = f"spec.ports[{i}].nodePort"
            if spec.get("type") not in ("NodePort", "LoadBalancer"):
                errs.append(FieldError("FieldValueForbidden", field,
                                       f"may not be used when `type` is '{spec.get('type', 'ClusterIP')}'"))
            elif not isinstance(n, int) or not NODE_PORT_MIN <= n <= NODE_PORT_MAX:
                errs.append(FieldError("FieldValueInvalid", field,
                                       f"Invalid value: {n}: provided port is not in the valid range. "
                                       f"The range of valid ports is {NODE_PORT_MIN}-{NODE_PORT_MAX}"))
            else:
                if held is None:
                    held = self._node_ports_held(obj)
                if n in held:
                    errs.append(FieldError("FieldValueInvalid", field,
                                           f"Invalid value: {n}: provided port is already allocated"))
        return errs

    def _alloc_ip(self):
        if not self.service_ips:
            svcs, _ = self.store.list("", "services")
            self.service_ips = {(s.get("spec") or {}).get("clusterIP") for s in svcs}
            self.service_ips |= {"10.96.0.1", "10.96.0.10"}  # the kubernetes and (absent) DNS services
        while True:
            ip = f"10.96.{random.randint(0, 255)}.{random.randint(2, 254)}"
            if ip not in self.service_ips:
                self.service_ips.add(ip)
                return ip

    def _initial_status(self, res, obj):
        p = res.plural
        if not res.has_status:
            return
        if p == "namespaces":
            obj["status"] = {"phase": "Active"}
        elif p == "pods":
            obj["status"] = {"phase": "Pending", "qosClass": _qos(obj.get("spec") or {})}
        elif p == "persistentvolumeclaims":
            obj["status"] = {"phase": "Pending"}
        elif p == "persistentvolumes":
            obj["status"] = {"phase": "Pending"}
        elif p == "services":
            obj["status"] = {"loadBalancer": {}}
        elif p in ("customresourcedefinitions", "nodes"):
            pass  # a node registers with its status, as the kubelet does
        elif res.crd is not None:
            obj.pop("status", None)
        else:
            obj["status"] = deepcopy(ZERO_STATUS.get(p, {}))

    def _spec_changed(self, res, old, new):
        if res.crd is not None or res.plural in ("customresourcedefinitions",):
            strip = ("metadata", "status")
            return {k: v for k, v in old.items() if k not in strip} != \
                {k: v for k, v in new.items() if k not in strip}
        if "spec" in old or "spec" in new:
            return old.get("spec") != new.get("spec")
        return False

    def _check_kind(self, req, obj):
        res = req.res
        if not isinstance(obj, dict):
            raise bad_request("Object 'Kind' is missing in the request body")
        kind = obj.get("kind")
        av = obj.get("apiVersion")
        if kind and kind != res.kind:
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version "
                              f"({res.api_version(req.version)})" if av != res.api_version(req.version) else
                              f"the object provided is unrecognized (must be of type {res.kind}): "
                              f"couldn't get version/kind; json parse error")
        if av and av != res.api_version(req.version):
            raise bad_request(f"the API version in the data ({av}) does not match the expected API version "
                              f"({res.api_version(req.version)})")
        obj["apiVersion"] = res.api_version(req.version)
        obj["kind"] = res.kind
        if not isinstance(obj.get("metadata", {}), dict):
            raise bad_request("metadata must be an object")
        obj.setdefault("metadata", {})

    # ---- GET
    def get(self, req):
        if req.sub == "scale":
            return self.get_scale(req)
        o = self.store.get(self.key(req.res, req.ns, req.name))
        if o is None:
            raise not_found(req.res, req.name)
        return self.out(req.res, o, req.version)

    # ---- LIST
    def list(self, req):
        res = req.res
        flt = selectors.Filter(res, req.q("labelSelector", ""), req.q("fieldSelector", ""))
        rv = req.q("resourceVersion")
        match = req.q("resourceVersionMatch")
        limit = req.q("limit")
        cont = req.q("continue")
        ns = req.ns if res.namespaced and req.ns else None
        try:
            limit = int(limit) if limit else 0
        except ValueError:
            raise bad_request(f'invalid value for limit: "{limit}"')
        if match and match not in ("NotOlderThan", "Exact"):
            raise bad_request(f'resourceVersionMatch: Unsupported value: "{match}": supported values: "Exact", "NotOlderThan"')
        if match and not rv:
            raise invalid(None, "ListOptions", "", [FieldError("FieldValueForbidden", "resourceVersionMatch",
                                                               "resourceVersionMatch is forbidden unless resourceVersion is provided")])
        if cont and rv and rv != "0":
            raise invalid(None, "ListOptions", "", [FieldError("FieldValueForbidden", "resourceVersion",
                                                               "specifying resource version is not allowed when using continue")])
        start_after = None
        if cont:
            try:
                tok = json.loads(base64.b64decode(cont))
                list_rv = int(tok["rv"])
                start_after = tok["start"]
            except (ValueError, KeyError, TypeError):
                raise bad_request("continue key is not valid: illegal base64 data at input byte 0")
            items = self.store.list_at(*res.store_key, ns, list_rv, "continue")
        elif rv and rv != "0" and (match == "Exact" or (not match and limit)):
            # Exact, or the legacy rule: an RV with a limit and no resourceVersionMatch is Exact
            list_rv = _parse_rv(rv)
            items = self.store.list_at(*res.store_key, ns, list_rv)
        else:
            if rv and rv != "0":
                self.store.wait_for_rv(_parse_rv(rv))
            items, list_rv = self.store.list(*res.store_key, ns)
            if rv == "0" and not match == "Exact":
                limit = 0  # the watch cache serves RV=0 whole, ignoring limit (kubernetes#118394)
        items = [o for o in items if flt(self.view(res, o))]
        if start_after is not None:
            items = [o for o in items if _okey(o) > tuple(start_after)]
        out_meta = {"resourceVersion": str(list_rv)}
        if limit and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            out_meta["continue"] = base64.b64encode(json.dumps(
                {"rv": list_rv, "start": list(_okey(items[-1]))}).encode()).decode()
            out_meta["remainingItemCount"] = rest
        outs = []
        for o in items:
            x = self.out(res, o, req.version)
            if res.crd is None:
                x.pop("apiVersion", None)
                x.pop("kind", None)
            outs.append(x)
        return {"kind": res.kind + "List", "apiVersion": res.api_version(req.version),
                "metadata": out_meta, "items": outs}

    # ---- CREATE
    def create(self, req, managed=None):
        res = req.res
        if res.plural in REVIEWS:
            return 201, self.review(req)
        if req.sub == "token" and res.plural == "serviceaccounts":
            return 201, self.token_request(req)
        if req.sub == "binding" and res.plural == "pods":
            return 201, self.bind(req)
        if req.sub:
            raise method_not_allowed()
        obj = parse_body(req)
        self._check_kind(req, obj)
        meta = obj["metadata"]
        if res.namespaced:
            if meta.get("namespace") and meta["namespace"] != req.ns:
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            meta["namespace"] = req.ns
        else:
            meta.pop("namespace", None)
        self._check_ns(req)
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = meta["generateName"] + _rand5()
        self._field_validation(req, obj, req.version)
        for k in ("uid", "resourceVersion", "generation", "creationTimestamp", "deletionTimestamp",
                  "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(k, None)
        self._defaults(res, obj)
        if res.plural == "pods":
            self._sa_admission(obj)
        for fn in ADMISSION:
            fn(self, req, obj, None)
        self._validate(res, obj)
        self._initial_status(res, obj)
        if res.plural == "customresourcedefinitions":
            _crd_init(obj)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_time()
        if res.crd is not None or res.plural in GENERATION_KINDS:
            meta["generation"] = 1
        meta.pop("managedFields", None)
        if managed is not None:
            meta["managedFields"] = managed  # server-side apply created it: owned by the Apply
        else:
            patches.update_managed(None, obj, req.manager(), "Update", res.api_version(req.version),
                                   self._schema(req), res.builtin, "", now_time(), False)
        key = self.key(res, req.ns, meta["name"])
        if res.store_key != res.key:
            obj = convert_event(obj, to_v1=False)
        with self.store.lock:
            if self.store.get(key) is not None:
                raise already_exists(res, meta["name"])
            if req.dry_run:
                return 201, self.out(res, obj, req.version)
            self.store.commit(key, obj, "ADDED")
        if res.plural == "customresourcedefinitions":
            self.reg.set_crd(obj)
        return 201, self.out(res, obj, req.version)

    # ---- UPDATE (PUT) and PATCH share write()
    def update(self, req):
        res = req.res
        if req.sub == "scale":
            return self.update_scale(req, parse_body(req))
        if req.sub not in ("", "status", "finalize"):
            raise method_not_allowed()
        obj = parse_body(req)
        self._check_kind(req, obj)
        meta = obj["metadata"]
        if meta.get("name") and meta["name"] != req.name:
            raise bad_request(f"the name of the object ({meta['name']}) does not match the name on the URL ({req.name})")
        if res.namespaced and meta.get("namespace") and meta["namespace"] != req.ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        meta["name"] = req.name
        self._field_validation(req, obj, req.version)
        key = self.key(res, req.ns, req.name)
        with self.store.lock:
            old = self.store.get(key)
            if old is None:
                if res.plural in CREATE_ON_UPDATE and not req.sub:
                    req.body = json.dumps(obj).encode()
                    return self.create(req)
                raise not_found(res, req.name)
            if not meta.get("resourceVersion"):
                if res.crd is not None:
                    raise invalid(res, res.kind, req.name, [FieldError(
                        "FieldValueInvalid", "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update")])
            return 200, self.write(req, old, obj, req.manager(), "Update")

    def write(self, req, old, new, manager, operation, force=False, applied=None):
        """Finish an update of `old` into `new` (PUT, PATCH, apply): the shared rules. -> obj out."""
        res = req.res
        key = self.key(res, req.ns, req.name)
        if res.store_key != res.key and new.get("apiVersion") == res.api_version():
            new = convert_event(new, to_v1=False)
        meta = new.setdefault("metadata", {})
        rv = meta.get("resourceVersion")
        if rv and rv != old["metadata"]["resourceVersion"]:
            raise conflict(res, req.name)
        if meta.get("uid") and meta["uid"] != old["metadata"]["uid"]:
            raise conflict(res, req.name, f"Precondition failed: UID in precondition: {meta['uid']}, "
                                          f"UID in object meta: {old['metadata']['uid']}")
        if res.namespaced:
            meta["namespace"] = req.ns
        else:
            meta.pop("namespace", None)
        meta["name"] = req.name
        for k in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if k in old["metadata"]:
                meta[k] = old["metadata"][k]
            else:
                meta.pop(k, None)
        if req.sub == "status":
            keep = deepcopy(old)
            if "status" in new:
                keep["status"] = new["status"]
            else:
                keep.pop("status", None)
            keep["metadata"]["managedFields"] = meta.get("managedFields", old["metadata"].get("managedFields"))
            new = keep
            meta = new["metadata"]
        elif req.sub == "finalize":
            keep = deepcopy(old)
            keep.setdefault("spec", {})["finalizers"] = (new.get("spec") or {}).get("finalizers", [])
            new = keep
            meta = new["metadata"]
        elif res.has_status:
            if "status" in old:
                new["status"] = deepcopy(old["status"])
            else:
                new.pop("status", None)
        self._defaults(res, new, old)
        if req.sub != "status":
            for fn in ADMISSION:
                fn(self, req, new, old)
        self._validate(res, new, old)
        if self._spec_changed(res, old, new) and "generation" in meta:
            meta["generation"] = old["metadata"].get("generation", 1) + 1
        if operation == "Update":
            patches.update_managed(old, new, manager, "Update", res.api_version(req.version),
                                   self._schema(req), res.builtin, req.sub,
                                   now_time(), res.has_status and req.sub != "status")
        meta["resourceVersion"] = old["metadata"]["resourceVersion"]
        if _same(old, new):
            return self.out(res, old, req.version)
        if req.dry_run:
            return self.out(res, new, req.version)
        if meta.get("deletionTimestamp") and not meta.get("finalizers") and \
                not (res.plural == "namespaces" and (new.get("spec") or {}).get("finalizers")):
            self.store.commit(key, new, "MODIFIED")
            self.store.delete(key)
            return self.out(res, new, req.version)
        self.store.commit(key, new, "MODIFIED")
        if res.plural == "customresourcedefinitions":
            self.reg.set_crd(new)
        return self.out(res, new, req.version)

    # ---- PATCH
    def patch(self, req):
        res = req.res
        ct = req.content_type
        accepted = [JSONP, MERGE, APPLY] + ([SMP] if res.builtin else [])
        if ct not in accepted:
            raise unsupported_media(accepted if res.builtin else [JSONP, MERGE, APPLY])
        if not req.body:
            raise bad_request("the body of the request was empty")
        if req.sub == "scale" and ct == APPLY:
            return 200, self.apply_scale(req)
        if req.sub == "scale":
            cur = self.get_scale(req)
            new = self._apply_patch(req, cur, ct, None, "scale")
            return 200, self.update_scale(req, new)
        if req.sub not in ("", "status"):
            raise method_not_allowed()
        key = self.key(res, req.ns, req.name)
        with self.store.lock:
            old = self.store.get(key)
            if ct == APPLY:
                return self.apply(req, old)
            if old is None:
                raise not_found(res, req.name)
            cur = self.out(res, old, req.version)
            new = self._apply_patch(req, cur, ct, schema.schema_for(res, req.version), "")
            if not isinstance(new, dict):
                raise bad_request("the patch did not produce an object")
            self._check_kind(req, new)
            meta = new["metadata"]
            if meta.get("name") != req.name:
                raise bad_request(f"the name of the object ({meta.get('name')}) does not match the name on the URL ({req.name})")
            if res.namespaced and meta.get("namespace") not in (None, req.ns):
                raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
            self._field_validation(req, new, req.version)
            if not meta.get("resourceVersion"):
                meta["resourceVersion"] = old["metadata"]["resourceVersion"]
            return 200, self.write(req, old, new, req.manager(), "Update")

    def _apply_patch(self, req, cur, ct, sch, what):
        try:
            body = json.loads(req.body)
        except ValueError as e:
            raise bad_request(f"error decoding patch: {e}")
        if ct == MERGE:
            if not isinstance(body, dict):
                raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
            return patches.merge_patch(cur, body)
        if ct == JSONP:
            return patches.json_patch(cur, body)
        if ct == SMP:
            if what == "scale":
                return patches.merge_patch(cur, body)
            return patches.strategic_merge(cur, body, sch)
        raise unsupported_media([JSONP, MERGE, APPLY])

    def apply(self, req, old):
        res = req.res
        applied = parse_body(req)
        manager = req.q("fieldManager")
        if not manager:
            raise bad_request("PATCH /apply requires fieldManager")
        force = truthy(req.q("force"))
        if not isinstance(applied, dict):
            raise bad_request("error decoding YAML: the applied configuration must be an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            raise bad_request("invalid object type: /, Kind=")
        self._check_kind(req, applied)
        ameta = applied["metadata"]
        if ameta.get("name") and ameta["name"] != req.name:
            raise bad_request(f"the name of the object ({ameta['name']}) does not match the name on the URL ({req.name})")
        if res.namespaced and ameta.get("namespace") and ameta["namespace"] != req.ns:
            raise bad_request("the namespace of the provided object does not match the namespace sent on the request")
        if ameta.get("managedFields"):
            raise bad_request("metadata.managedFields must be nil")
        self._field_validation(req, applied, req.version)
        sch = schema.schema_for(res, req.version)
        skip_status = res.has_status and req.sub != "status"
        if req.sub == "status":
            applied = {k: v for k, v in applied.items() if k in ("apiVersion", "kind", "metadata", "status")}
        if old is None:
            if req.sub:
                raise not_found(res, req.name)
            new = patches.server_side_apply(None, applied, manager, force, res.api_version(req.version),
                                            sch, res.builtin, now_time(), skip_status)
            new["apiVersion"] = res.api_version(req.version)
            new["kind"] = res.kind
            new["metadata"]["name"] = req.name
            new["metadata"].pop("resourceVersion", None)
            mf = new["metadata"].pop("managedFields", [])
            req.body = json.dumps(new).encode()
            hdrs = dict(req.headers)
            hdrs["Content-Type"] = "application/json"
            creq = _clone(req, hdrs, manager)
            return self.create(creq, managed=mf)
        cur = self.out(res, old, req.version)
        new = patches.server_side_apply(cur, applied, manager, force, res.api_version(req.version), sch,
                                        res.builtin, now_time(), skip_status, req.sub)
        if ameta.get("resourceVersion"):
            new["metadata"]["resourceVersion"] = ameta["resourceVersion"]
        else:
            new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
        return 200, self.write(req, old, new, manager, "Apply")

    # ---- scale
    def _scale_paths(self, res):
        if not res.scale:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        return res.scale

    def get_scale(self, req):
        res = req.res
        sp = self._scale_paths(res)
        o = self.store.get(self.key(res, req.ns, req.name))
        if o is None:
            raise not_found(res, req.name)
        spec_r = _get_path(o, sp["specReplicasPath"])
        stat_r = _get_path(o, sp.get("statusReplicasPath", ".status.replicas"))
        if res.builtin:
            sel = selectors.selector_object_to_string((o.get("spec") or {}).get("selector"))
        else:
            sel = _get_path(o, sp["labelSelectorPath"]) if sp.get("labelSelectorPath") else None
        m = o["metadata"]
        scale = {"kind": "Scale", "apiVersion": "autoscaling/v1",
                 "metadata": {"name": m["name"], "uid": m["uid"], "resourceVersion": m["resourceVersion"],
                              "creationTimestamp": m["creationTimestamp"]},
                 "spec": {}, "status": {"replicas": stat_r or 0}}
        if res.namespaced:
            scale["metadata"]["namespace"] = m["namespace"]
        if spec_r is not None:
            scale["spec"]["replicas"] = spec_r
        if sel:
            scale["status"]["selector"] = sel
        return scale

    def update_scale(self, req, scale, apply_manager=None, force=False):
        """PUT/PATCH/apply on /scale: only the replicas path of the parent changes. Its
        ownership is recorded in the parent's managedFields with subresource "scale" (the
        apiserver's ScaleHandler), so apply on /scale conflicts with, e.g., a GitOps tool
        that applied spec.replicas on the main resource."""
        res = req.res
        sp = self._scale_paths(res)
        if not isinstance(scale, dict):
            raise bad_request("Scale must be an object")
        r = (scale.get("spec") or {}).get("replicas")
        key = self.key(res, req.ns, req.name)
        with self.store.lock:
            old = self.store.get(key)
            if old is None:
                raise not_found(res, req.name)
            if scale.get("metadata", {}).get("name") not in (None, req.name):
                raise bad_request(f"the name of the object ({scale['metadata']['name']}) does not match the name on the URL ({req.name})")
            srv = (scale.get("metadata") or {}).get("resourceVersion")
            if srv and srv != old["metadata"]["resourceVersion"]:
                raise conflict(res, req.name)
            if not isinstance(r, int) or isinstance(r, bool):
                raise invalid(None, "Scale", req.name, [FieldError("FieldValueRequired", "spec.replicas", "")])
            if r < 0:
                raise invalid(None, "Scale", req.name, [FieldError("FieldValueInvalid", "spec.replicas",
                                                                   f"Invalid value: {r}: must be greater than or equal to 0")])
            new = deepcopy(old)
            cur = _get_path(old, sp["specReplicasPath"])
            _set_path(new, sp["specReplicasPath"], r)
            manager = apply_manager or req.manager()
            op = "Apply" if apply_manager else "Update"
            fpath = tuple("f:" + x for x in sp["specReplicasPath"].lstrip(".").split("."))
            entries, conflicts, mine = [], [], None
            for e in deepcopy(old["metadata"].get("managedFields") or []):
                if e.get("manager") == manager and e.get("operation") == op and e.get("subresource") == "scale":
                    mine = e
                    continue
                paths = patches.decode_fields(e.get("fieldsV1"))
                if fpath in paths and cur != r:
                    if apply_manager and not force:
                        conflicts.append(e)
                    paths.discard(fpath)
                if paths:
                    e["fieldsV1"] = patches.encode_fields(paths)
                    entries.append(e)
            if conflicts:
                fld = sp["specReplicasPath"]
                if len(conflicts) == 1:
                    e = conflicts[0]
                    msg = f'Apply failed with 1 conflict: conflict with "{e["manager"]}" using {e.get("apiVersion", "")}: {fld}'
                else:
                    msg = f"Apply failed with {len(conflicts)} conflicts: " + "\n".join(
                        f'conflicts with "{e["manager"]}" using {e.get("apiVersion", "")}:\n- {fld}' for e in conflicts)
                raise ApiError(409, "Conflict", msg, {"causes": [
                    {"reason": "FieldManagerConflict", "field": fld,
                     "message": f'conflict with "{e["manager"]}" using {e.get("apiVersion", "")}'} for e in conflicts]})
            if apply_manager or cur != r or mine is not None:
                entries.append({"manager": manager, "operation": op, "apiVersion": res.api_version(req.version),
                                "time": now_time(), "fieldsType": "FieldsV1",
                                "fieldsV1": patches.encode_fields({fpath}), "subresource": "scale"})
            new["metadata"]["managedFields"] = entries
            sreq = _clone(req, req.headers, manager)
            sreq.sub = ""
            sreq.dry_run  # validate the dryRun values
            self.write(sreq, old, new, manager, "Apply")  # managedFields done here
        return self.get_scale(req) if not req.dry_run else dict(scale, spec={"replicas": r})

    def apply_scale(self, req):
        applied = parse_body(req)
        manager = req.q("fieldManager")
        if not manager:
            raise bad_request("PATCH /apply requires fieldManager")
        if not isinstance(applied, dict) or applied.get("kind") not in (None, "Scale") or \
                applied.get("apiVersion") not in (None, "autoscaling/v1"):
            raise bad_request("the applied configuration of a scale subresource must be an autoscaling/v1 Scale")
        return self.update_scale(req, applied, manager, truthy(req.q("force")))

    # ---- DELETE
    def delete(self, req, opts=None):
        res = req.res
        if req.sub:
            raise method_not_allowed()
        if opts is None:
            opts = {}
            if req.body:
                try:
                    opts = json.loads(req.body)
                except ValueError:
                    raise bad_request("error decoding DeleteOptions")
        if req.q("propagationPolicy"):
            opts["propagationPolicy"] = req.q("propagationPolicy")
        if req.q("gracePeriodSeconds"):
            opts["gracePeriodSeconds"] = int(req.q("gracePeriodSeconds"))
        pol = opts.get("propagationPolicy")
        if opts.get("orphanDependents") is True:
            pol = pol or "Orphan"
        elif opts.get("orphanDependents") is False:
            pol = pol or "Background"
        if pol not in (None, "Orphan", "Background", "Foreground"):
            raise invalid(None, "DeleteOptions", "", [FieldError(
                "FieldValueNotSupported", "propagationPolicy",
                f'Unsupported value: "{pol}": supported values: "Foreground", "Background", "Orphan", "nil"')])
        key = self.key(res, req.ns, req.name)
        with self.store.lock:
            old = self.store.get(key)
            if old is None:
                raise not_found(res, req.name)
            pre = opts.get("preconditions") or {}
            if pre.get("uid") and pre["uid"] != old["metadata"]["uid"]:
                raise conflict(res, req.name, f"Precondition failed: UID in precondition: {pre['uid']}, "
                                              f"UID in object meta: {old['metadata']['uid']}")
            if pre.get("resourceVersion") and pre["resourceVersion"] != old["metadata"]["resourceVersion"]:
                raise conflict(res, req.name, f"Precondition failed: ResourceVersion in precondition: "
                                              f"{pre['resourceVersion']}, ResourceVersion in object meta: "
                                              f"{old['metadata']['resourceVersion']}")
            new = deepcopy(old)
            meta = new["metadata"]
            fins = list(meta.get("finalizers") or [])
            if pol == "Foreground" and "foregroundDeletion" not in fins:
                fins.append("foregroundDeletion")
                fins = [f for f in fins if f != "orphan"]
            if pol == "Orphan" and "orphan" not in fins:
                fins.append("orphan")
                fins = [f for f in fins if f != "foregroundDeletion"]
            if res.plural == "namespaces":
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = now_time()
                    meta["deletionGracePeriodSeconds"] = 0
                new.setdefault("status", {})["phase"] = "Terminating"
                meta["finalizers"] = fins or meta.get("finalizers")
                if not meta.get("finalizers"):
                    meta.pop("finalizers", None)
                if req.dry_run:
                    return 200, self.out(res, new, req.version)
                if not _same(old, new):
                    self.store.commit(key, new, "MODIFIED")
                return 200, self.out(res, new, req.version)
            if res.plural == "pods" and not fins:
                grace = self._pod_grace(old, opts)
                if grace > 0:  # graceful: the kubelet of its node deletes it (with grace 0) when stopped
                    when = _time_in(grace)
                    if meta.get("deletionTimestamp") and meta.get("deletionGracePeriodSeconds", 0) <= grace:
                        return 200, self.out(res, old, req.version)
                    meta["deletionTimestamp"] = when
                    meta["deletionGracePeriodSeconds"] = grace
                    if meta.get("generation", 0) > 0:  # BeforeDelete/markAsDeleting bump it
                        meta["generation"] += 1
                    if req.dry_run:
                        return 200, self.out(res, new, req.version)
                    self.store.commit(key, new, "MODIFIED")
                    return 200, self.out(res, new, req.version)
            if res.plural == "customresourcedefinitions" and \
                    "customresourcecleanup.apiextensions.k8s.io" not in fins:
                fins.append("customresourcecleanup.apiextensions.k8s.io")
            if fins:
                if not meta.get("deletionTimestamp"):
                    meta["deletionTimestamp"] = now_time()
                    meta["deletionGracePeriodSeconds"] = 0
                    if meta.get("generation", 0) > 0:  # BeforeDelete/markAsDeleting bump it
                        meta["generation"] += 1
                meta["finalizers"] = fins
                if req.dry_run:
                    return 200, self.out(res, new, req.version)
                if not _same(old, new):
                    self.store.commit(key, new, "MODIFIED")
                return 200, self.out(res, new, req.version)
            if req.dry_run:
                return 200, (self.out(res, old, req.version) if res.plural in RETURN_DELETED or res.crd
                             else success_status(res, req.name, old["metadata"]["uid"]))
            gone = self.store.delete(key)
        if res.plural == "customresourcedefinitions":
            self.reg.set_crd(dict(gone, status={}))
        if res.plural in RETURN_DELETED or res.crd is not None:
            return 200, self.out(res, gone, req.version)
        return 200, success_status(res, req.name, old["metadata"]["uid"])

    def _pod_grace(self, pod, opts):
        """Seconds of graceful deletion, or 0 for at once: pods not bound to a node, finished
        pods and gracePeriodSeconds=0 go at once (pod strategy CheckGracefulDelete). A pod is
        graceful only when its node exists as a Node (a box without nodes has no kubelet to
        finish the deletion; a node's kubelet deletes with grace 0 once the pod stopped)."""
        spec = pod.get("spec") or {}
        node = spec.get("nodeName")
        if not node or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
            return 0
        if self.store.get(("", "nodes", "", node)) is None:
            return 0
        g = opts.get("gracePeriodSeconds")
        if g is None:
            g = spec.get("terminationGracePeriodSeconds", 30)
        return max(int(g), 0)

    def deletecollection(self, req):
        res = req.res
        lst = self.list(req)
        out = []
        for it in lst["items"]:
            r2 = _clone(req, req.headers, "")
            r2.name = it["metadata"]["name"]
            r2.ns = it["metadata"].get("namespace", req.ns)
            try:
                _, o = self.delete(r2)
                out.append(o)
            except ApiError as e:
                if e.code != 404:
                    raise
        return {"kind": res.kind + "List", "apiVersion": res.api_version(req.version),
                "metadata": {"resourceVersion": str(self.store.rv)},
                "items": [o for o in out if o.get("kind") != "Status"]}

    # ---- reviews and tokens
    def review(self, req):
        obj = parse_body(req)
        self._check_kind(req, obj)
        spec = obj.get("spec") or {}
        p = req.res.plural
        obj.setdefault("metadata", {})["creationTimestamp"] = None
        if p in ("selfsubjectaccessreviews", "subjectaccessreviews", "localsubjectaccessreviews"):
            if p == "selfsubjectaccessreviews":
                user = req.user
            else:
                from .auth import User
                user = User(spec.get("user", ""), list(spec.get("groups") or []), spec.get("uid", ""))
            ra = spec.get("resourceAttributes")
            nra = spec.get("nonResourceAttributes")
            if ra:
                if p == "localsubjectaccessreviews" and ra.get("namespace") not in (None, "", req.ns):
                    raise bad_request("spec.resourceAttributes.namespace must match the request namespace")
                a = Attrs(ra.get("verb", ""), ra.get("group", ""), ra.get("resource", ""),
                          ra.get("subresource", ""), ra.get("namespace", "") or (req.ns or ""), ra.get("name", ""))
            elif nra:
                a = Attrs(nra.get("verb", ""), path=nra.get("path", ""))
            else:
                raise invalid(req.res, req.res.kind, "", [FieldError(
                    "FieldValueInvalid", "spec.resourceAttributes",
                    "Invalid value: \"null\": exactly one of nonResourceAttributes or resourceAttributes must be specified")])
            ok, rule = self.authz.authorize(user, a)
            obj["status"] = {"allowed": ok}
            if ok and self.authz.reason(rule):
                obj["status"]["reason"] = self.authz.reason(rule)
            return obj
        if p == "selfsubjectrulesreviews":
            ns = spec.get("namespace", "")
            rr, nr = self.authz.rules_for(req.user, ns)
            obj["status"] = {"resourceRules": rr, "nonResourceRules": nr, "incomplete": False}
            return obj
        if p == "tokenreviews":
            tok = spec.get("token", "")
            u = None
            auds = spec.get("audiences") or None
            if tok == self.authn.admin_token:
                u = self.authn.authenticate("Bearer " + tok)
                got = auds or [AUDIENCE]
                err = ""
            else:
                u, got = self.authn.verify_jwt(tok, auds)
                err = "" if u else got
            if u:
                obj["status"] = {"authenticated": True, "user": u.info(), "audiences": got}
            else:
                obj["status"] = {"user": {}, "error": err or "invalid bearer token"}
            return obj
        if p == "selfsubjectreviews":
            obj["status"] = {"userInfo": req.user.info()}
            return obj
        raise method_not_allowed()

    def token_request(self, req):
        body = parse_body(req)
        if not isinstance(body, dict):
            raise bad_request("TokenRequest must be an object")
        sa = self.store.get(("", "serviceaccounts", req.ns, req.name))
        if sa is None:
            raise not_found(req.res, req.name)
        spec = body.get("spec") or {}
        secs = spec.get("expirationSeconds") or 3600
        if secs < 600:
            raise invalid(None, "TokenRequest", req.name, [FieldError(
                "FieldValueInvalid", "spec.expirationSeconds",
                f"Invalid value: {secs}: may not specify a duration less than 10 minutes")])
        if secs > 2 ** 32:
            raise invalid(None, "TokenRequest", req.name, [FieldError(
                "FieldValueTooLong", "spec.expirationSeconds", "Too long: may not specify a duration larger than 2^32 seconds")])
        auds = spec.get("audiences") or [AUDIENCE]
        bound = spec.get("boundObjectRef")
        if bound:
            plural = {"Pod": "pods", "Secret": "secrets"}.get(bound.get("kind"))
            if not plural:
                raise bad_request(f"cannot bind token to object of type {bound.get('kind')}")
            bo = self.store.get(("", plural, req.ns, bound.get("name", "")))
            if bo is None:
                raise not_found(self.reg.lookup("", "v1", plural), bound.get("name", ""))
            if bound.get("uid") and bound["uid"] != bo["metadata"]["uid"]:
                raise conflict(self.reg.lookup("", "v1", plural), bound["name"],
                               f"the UID in the bound object reference ({bound['uid']}) does not match the "
                               f"UID in record. The object might have been deleted and then recreated")
            bound = dict(bound, uid=bo["metadata"]["uid"])
        tok, exp = self.authn.issue(req.ns, req.name, sa["metadata"]["uid"], auds, secs, bound)
        return {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                "metadata": {"name": req.name, "namespace": req.ns, "creationTimestamp": now_time()},
                "spec": {"audiences": auds, "expirationSeconds": secs, "boundObjectRef": bound},
                "status": {"token": tok, "expirationTimestamp":
                           time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(exp))}}

    # ---- internal writes (controllers)
    def system_request(self, res, ns, name, method="DELETE", body=None, sub=""):
        from .auth import User
        r = Request(method, res, res.version, ns, name, sub, {}, {"User-Agent": "kbox-controller"},
                    json.dumps(body).encode() if body is not None else b"", User("system:kbox", ["system:masters"]))
        r.trusted = True
        return r


def _clone(req, headers, manager):
    q = dict(req.query)
    if manager:
        q["fieldManager"] = [manager]
    r = Request(req.method, req.res, req.version, req.ns, req.name, req.sub, q, headers, req.body, req.user)
    r.warnings = req.warnings
    return r


def _okey(o):
    return (o["metadata"].get("namespace", ""), o["metadata"]["name"])


def _parse_rv(rv):
    try:
        v = int(rv)
        if v < 0:
            raise ValueError
        return v
    except ValueError:
        raise ApiError(400, "BadRequest",
                       f"resourceVersion: Invalid value: \"{rv}\": strconv.ParseUint: parsing \"{rv}\": invalid syntax")


def _strip_times(mfs):
    return [{k: v for k, v in e.items() if k != "time"} for e in mfs or []]


def _same(a, b):
    a2 = deepcopy(a)
    b2 = deepcopy(b)
    a2["metadata"]["managedFields"] = _strip_times(a2["metadata"].get("managedFields"))
    b2["metadata"]["managedFields"] = _strip_times(b2["metadata"].get("managedFields"))
    if not a2["metadata"]["managedFields"]:
        a2["metadata"].pop("managedFields")
    if not b2["metadata"]["managedFields"]:
        b2["metadata"].pop("managedFields")
    return a2 == b2


def _get_path(o, path):
    cur = o
    for p in path.lstrip(".").split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(p)
    return cur


def _set_path(o, path, v):
    parts = path.lstrip(".").split(".")
    cur = o
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = v


def _pod_defaults(spec):
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    if "serviceAccountName" in spec or "serviceAccount" in spec:
        spec.setdefault("serviceAccountName", spec.get("serviceAccount"))
        spec.setdefault("serviceAccount", spec.get("serviceAccountName"))
    spec.setdefault("enableServiceLinks", True)
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        if not isinstance(c, dict):
            continue
        img = c.get("image") or ""
        tag = img.rsplit(":", 1)[-1] if ":" in img.rsplit("/", 1)[-1] else "latest"
        c.setdefault("imagePullPolicy", "Always" if tag == "latest" and "@" not in img else "IfNotPresent")
        c.setdefault("terminationMessagePath", "/dev/termination-log")
        c.setdefault("terminationMessagePolicy", "File")
        c.setdefault("resources", {})
        for p in c.get("ports") or []:
            p.setdefault("protocol", "TCP")


def _qos(spec):
    cs = spec.get("containers") or []
    req = any((c.get("resources") or {}).get("requests") or (c.get("resources") or {}).get("limits") for c in cs)
    if not req:
        return "BestEffort"
    guaranteed = all(
        (c.get("resources") or {}).get("limits", {}).get(r) and
        (c.get("resources") or {}).get("requests", {}).get(r, (c.get("resources") or {}).get("limits", {}).get(r)) ==
        (c.get("resources") or {}).get("limits", {}).get(r)
        for c in cs for r in ("cpu", "memory"))
    return "Guaranteed" if guaranteed else "Burstable"


def _crd_init(obj):
    spec = obj.get("spec") or {}
    names = dict(spec.get("names") or {})
    names.setdefault("singular", names.get("kind", "").lower())
    names.setdefault("listKind", names.get("kind", "") + "List")
    spec["names"] = names
    for v in spec.get("versions") or []:
        v.setdefault("served", True)
    t = now_time()
    obj["status"] = {
        "acceptedNames": names,
        "conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
             "message": "no conflicts found", "lastTransitionTime": t},
            {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
             "message": "the initial names have been accepted", "lastTransitionTime": t}],
        "storedVersions": [v["name"] for v in spec.get("versions") or [] if v.get("storage")]}
    spec.setdefault("conversion", {"strategy": "None"})


def _normalize_micro(obj, path):
    cur = obj
    for p in path[:-1]:
        cur = cur.get(p) if isinstance(cur, dict) else None
    if not isinstance(cur, dict) or cur.get(path[-1]) in (None, ""):
        return
    v = cur[path[-1]]
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d+)?(Z|[+-]\d{2}:\d{2})", v) if isinstance(v, str) else None
    if not m:
        raise bad_request(f'parsing time "{v}" as "2006-01-02T15:04:05.000000Z07:00": cannot parse "{v}" as "2006"')
    import datetime
    frac = ((m.group(2) or ".")[1:] + "000000")[:6]
    t = datetime.datetime.fromisoformat(m.group(1) + "." + frac + ("+00:00" if m.group(3) == "Z" else m.group(3)))
    cur[path[-1]] = t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _time_in(seconds):
    import datetime
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=seconds)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


# events.k8s.io/v1 <-> core/v1 Event field names (k8s.io/kubernetes pkg/apis/events/v1 conversion)
_EV_FIELDS = (("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
              ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
              ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"))


def convert_event(o, to_v1):
    out = {}
    for k, v in o.items():
        for core, v1 in _EV_FIELDS:
            if to_v1 and k == core:
                k = v1
                break
            if not to_v1 and k == v1:
                k = core
                break
        out[k] = v
    out["apiVersion"] = "events.k8s.io/v1" if to_v1 else "v1"
    out["kind"] = "Event"
    if to_v1 and isinstance(out.get("deprecatedSource"), dict) and not any(out["deprecatedSource"].values()):
        out.pop("deprecatedSource")
    return out
