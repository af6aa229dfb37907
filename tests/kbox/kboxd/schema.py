# SPDX-License-Identifier: MIT
"""kboxd.schema: schemas of what the box stores, and what a real server does with them.

Two sources of schemas:
- built-in kinds: derived from the python3-kubernetes models (generated from
  the upstream OpenAPI; Debian's 22.6 is Kubernetes 1.22), plus ADDITIONS, a
  hand-kept list of the fields added in 1.23-1.32 to the kinds ferry touches
  (accepted, not looked into). A field in neither is unknown, as it would be
  to a 1.32 server decoding into its Go structs;
- custom resources: the CRD version's openAPIV3Schema (structural schema).

What is done with them, as kube-apiserver does:
- unknown fields are dropped (built-ins: the JSON decoder; CRs: structural
  pruning, unless x-kubernetes-preserve-unknown-fields) and reported to the
  request's fieldValidation (Ignore / Warn: a Warning header / Strict: 400);
- CR defaults are applied, then `required`, types, enums, bounds, patterns and
  list-type uniqueness are checked (422 with one cause per field);
- the same schemas feed /openapi/v3 (kubectl explain, apply validation).
"""
import re
import threading

from .util import FieldError

_models = None


def _m():
    global _models
    if _models is None:
        import kubernetes.client.models as m
        _models = m
    return _models


# fields newer than python3-kubernetes 22.6 (Kubernetes 1.22) that a 1.32 server knows,
# per model: accepted as-is (no deeper schema)
ADDITIONS = {
    "V1ObjectMeta": [],
    "V1PodSpec": ["hostUsers", "os", "schedulingGates", "resourceClaims", "resources"],
    "V1Container": ["resizePolicy", "restartPolicy"],
    "V1EphemeralContainer": ["resizePolicy", "restartPolicy"],
    "V1PodStatus": ["hostIPs", "resize", "resourceClaimStatuses"],
    "V1ContainerStatus": ["allocatedResources", "allocatedResourcesStatus", "resources", "user",
                          "volumeMounts", "stopSignal"],
    "V1Probe": ["grpc"],
    "V1LifecycleHandler": ["sleep"],
    "V1Handler": ["sleep"],
    "V1SecurityContext": ["appArmorProfile"],
    "V1PodSecurityContext": ["appArmorProfile", "supplementalGroupsPolicy", "seLinuxChangePolicy"],
    "V1VolumeMount": ["recursiveReadOnly"],
    "V1Volume": ["image"],
    "V1TopologySpreadConstraint": ["matchLabelKeys", "minDomains", "nodeAffinityPolicy",
                                   "nodeTaintsPolicy"],
    "V1StatefulSetSpec": ["persistentVolumeClaimRetentionPolicy", "ordinals"],
    "V1StatefulSetStatus": ["availableReplicas"],
    "V1ServiceSpec": ["trafficDistribution"],
    "V1ServicePort": [],
    "V1PersistentVolumeClaimSpec": ["volumeAttributesClassName"],
    "V1PersistentVolumeClaimStatus": ["allocatedResources", "allocatedResourceStatuses",
                                      "currentVolumeAttributesClassName", "modifyVolumeStatus"],
    "V1PersistentVolumeSpec": ["volumeAttributesClassName"],
    "V1PersistentVolumeStatus": ["lastPhaseTransitionTime"],
    "V1JobSpec": ["podFailurePolicy", "backoffLimitPerIndex", "maxFailedIndexes",
                  "podReplacementPolicy", "managedBy", "successPolicy"],
    "V1JobStatus": ["ready", "failedIndexes", "terminating"],
    "V1CronJobSpec": ["timeZone"],
    "V1DeploymentStatus": ["terminatingReplicas"],
    "V1ReplicaSetStatus": ["terminatingReplicas"],
    "V1CustomResourceDefinitionVersion": ["selectableFields"],
    "V1JSONSchemaProps": ["x-kubernetes-validations"],
    "V1NodeStatus": ["features", "runtimeHandlers"],
    "V1NodeSystemInfo": ["swap"],
    "V1LeaseSpec": ["strategy", "preferredHolder"],
    "V1CSIDriverSpec": ["seLinuxMount", "nodeAllocatableUpdatePeriodSeconds"],
    "V1EndpointHints": ["forNodes"],
    "V1PodDisruptionBudgetSpec": ["unhealthyPodEvictionPolicy"],
    "V1ServiceAccountTokenProjection": [],
}

ANY = {"x-kubernetes-preserve-unknown-fields": True}
_builtin_cache = {}


def _type_schema(t, depth):
    if t in ("str", "date"):
        return {"type": "string"}
    if t == "datetime":
        return {"type": "string", "format": "date-time"}
    if t == "int":
        return {"type": "integer", "format": "int64"}
    if t == "float":
        return {"type": "number", "format": "double"}
    if t == "bool":
        return {"type": "boolean"}
    if t == "object":
        return dict(ANY)
    m = re.fullmatch(r"list\[(.*)\]", t)
    if m:
        return {"type": "array", "items": _type_schema(m.group(1), depth)}
    m = re.fullmatch(r"dict\(str, (.*)\)", t)
    if m:
        return {"type": "object", "additionalProperties": _type_schema(m.group(1), depth)}
    return _model_schema(t, depth + 1)


_build_lock = threading.RLock()


def model_schema(name, depth=0):
    """OpenAPI v3 schema of a python3-kubernetes model (recursive, cached). Built under a
    lock: a schema is cached half-built as a recursion guard, which only the building
    thread may see (the start-up warm-up thread builds while requests arrive)."""
    with _build_lock:
        return _model_schema(name, depth)


def _model_schema(name, depth):
    if name in _builtin_cache:
        return _builtin_cache[name]
    cls = getattr(_m(), name, None)
    if cls is None or depth > 40:
        return dict(ANY)
    s = {"type": "object", "properties": {}, "x-kbox-model": name}
    _builtin_cache[name] = s  # recursion guard (JSONSchemaProps refers to itself)
    for attr, t in cls.openapi_types.items():
        s["properties"][cls.attribute_map[attr]] = _type_schema(t, depth)
        desc = _description(cls, attr)
        if desc:  # kept aside: model nodes are shared, the walkers must not meet wrappers
            s.setdefault("x-kbox-descriptions", {})[cls.attribute_map[attr]] = desc
    for extra in ADDITIONS.get(name, []):
        s["properties"].setdefault(extra, dict(ANY))
    if name == "V1ObjectMeta":
        s["properties"].pop("clusterName", None)  # removed in 1.25
    return s


def _description(cls, attr):
    """The field's text from the generated model's property docstring (what kubectl explain prints)."""
    doc = getattr(getattr(cls, attr, None), "__doc__", None) or ""
    parts = [p.strip() for p in doc.split("\n\n")]
    if len(parts) >= 3 and parts[1] and not parts[1].startswith(":return"):
        return parts[1].replace("  # noqa: E501", "").strip()
    return ""


def builtin_schema(res):
    if not res.model:
        return None
    return model_schema(res.model)


def crd_schema(res, version):
    v = res.crd and next((x for x in res.crd["spec"].get("versions", []) if x["name"] == version), None)
    if not v:
        return None
    return (v.get("schema") or {}).get("openAPIV3Schema")


def schema_for(res, version):
    return crd_schema(res, version) if res.crd else builtin_schema(res)


# ---- pruning (unknown fields)
def prune(obj, schema):
    """Drop fields the schema does not declare; -> list of their paths ('.spec.foo')."""
    unknown = []
    if schema is None:
        return unknown
    _prune(obj, schema, "", unknown, root=True)
    return unknown


def _prune(v, s, path, unknown, root=False):
    if s is None or s.get("x-kubernetes-preserve-unknown-fields") and "properties" not in s:
        return
    if isinstance(v, dict):
        props = s.get("properties")
        addl = s.get("additionalProperties")
        if root:
            for k in ("apiVersion", "kind"):
                if k in v and not isinstance(v[k], str):
                    pass
            if "metadata" in v and isinstance(v["metadata"], dict):
                _prune(v["metadata"], model_schema("V1ObjectMeta"), ".metadata", unknown)
        if props is not None:
            for k in list(v.keys()):
                if root and k in ("apiVersion", "kind", "metadata"):
                    continue
                if k in props:
                    _prune(v[k], props[k], f"{path}.{k}", unknown)
                elif isinstance(addl, dict):
                    _prune(v[k], addl, f"{path}.{k}", unknown)
                elif s.get("x-kubernetes-preserve-unknown-fields") or addl is True:
                    continue
                else:
                    unknown.append(f"{path}.{k}")
                    del v[k]
        elif isinstance(addl, dict):
            for k in v:
                _prune(v[k], addl, f"{path}.{k}", unknown)
        if s.get("x-kubernetes-embedded-resource") and "metadata" in v and isinstance(v["metadata"], dict):
            _prune(v["metadata"], model_schema("V1ObjectMeta"), path + ".metadata", unknown)
    elif isinstance(v, list):
        items = s.get("items")
        if isinstance(items, dict):
            for i, x in enumerate(v):
                _prune(x, items, f"{path}[{i}]", unknown)


# ---- defaulting (CRDs)
def apply_defaults(v, s):
    if not isinstance(s, dict):
        return
    if isinstance(v, dict):
        props = s.get("properties") or {}
        for k, ps in props.items():
            if k not in v and isinstance(ps, dict) and "default" in ps:
                import copy
                v[k] = copy.deepcopy(ps["default"])
        for k, x in v.items():
            if k in props:
                apply_defaults(x, props[k])
            elif isinstance(s.get("additionalProperties"), dict):
                apply_defaults(x, s["additionalProperties"])
    elif isinstance(v, list) and isinstance(s.get("items"), dict):
        for x in v:
            apply_defaults(x, s["items"])


# ---- validation (CRDs)
def _jtype(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, int):
        return "integer"
    if isinstance(v, float):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def _show(v):
    import json
    return json.dumps(v) if isinstance(v, str) else str(v).lower() if isinstance(v, bool) else str(v)


def validate(obj, schema):
    """-> list of FieldError for a custom resource against its structural schema."""
    errs = []
    if schema:
        body = {k: v for k, v in obj.items() if k not in ("apiVersion", "kind", "metadata")}
        s = dict(schema)
        props = dict(s.get("properties") or {})
        for k in ("apiVersion", "kind", "metadata"):
            props.pop(k, None)
        s["properties"] = props
        s["required"] = [r for r in s.get("required", []) if r not in ("apiVersion", "kind", "metadata")]
        _validate(body, s, "", errs)
    return errs


def _validate(v, s, path, errs):
    if not isinstance(s, dict):
        return
    p = path.lstrip(".") or "<root>"
    if v is None:
        if not s.get("nullable") and s.get("type"):
            errs.append(FieldError("FieldValueTypeInvalid", p,
                                   f'Invalid value: "null": {p} in body must be of type {s["type"]}: "null"'))
        return
    t = s.get("type")
    jt = _jtype(v)
    if s.get("x-kubernetes-int-or-string"):
        if jt not in ("integer", "string"):
            errs.append(FieldError("FieldValueTypeInvalid", p,
                                   f'Invalid value: "{jt}": {p} in body must be of type integer,string: "{jt}"'))
            return
    elif t and not (t == jt or (t == "number" and jt == "integer")):
        errs.append(FieldError("FieldValueTypeInvalid", p,
                               f'Invalid value: "{jt}": {p} in body must be of type {t}: "{jt}"'))
        return
    if "enum" in s and v not in s["enum"]:
        sup = ", ".join(_show(x) for x in s["enum"])
        errs.append(FieldError("FieldValueNotSupported", p,
                               f"Unsupported value: {_show(v)}: supported values: {sup}"))
    if jt in ("integer", "number"):
        if "minimum" in s and (v < s["minimum"] or (s.get("exclusiveMinimum") and v == s["minimum"])):
            op = "greater than" if s.get("exclusiveMinimum") else "greater than or equal to"
            errs.append(FieldError("FieldValueInvalid", p,
                                   f"Invalid value: {v}: {p} in body should be {op} {s['minimum']}"))
        if "maximum" in s and (v > s["maximum"] or (s.get("exclusiveMaximum") and v == s["maximum"])):
            op = "less than" if s.get("exclusiveMaximum") else "less than or equal to"
            errs.append(FieldError("FieldValueInvalid", p,
                                   f"Invalid value: {v}: {p} in body should be {op} {s['maximum']}"))
    if jt == "string":
        if "maxLength" in s and len(v) > s["maxLength"]:
            errs.append(FieldError("FieldValueTooLong", p, f"Too long: may not be more than {s['maxLength']} bytes"))
        if "minLength" in s and len(v) < s["minLength"]:
            errs.append(FieldError("FieldValueInvalid", p,
                                   f'Invalid value: "{v}": {p} in body should be at least {s["minLength"]} chars long'))
        if "pattern" in s and not re.search(s["pattern"], v):
            errs.append(FieldError("FieldValueInvalid", p,
                                   f'Invalid value: "{v}": {p} in body should match \'{s["pattern"]}\''))
    if jt == "object":
        for r in s.get("required", []):
            if r not in v:
                errs.append(FieldError("FieldValueRequired", f"{path}.{r}".lstrip("."), ""))
        props = s.get("properties") or {}
        for k, x in v.items():
            if k in props:
                _validate(x, props[k], f"{path}.{k}", errs)
            elif isinstance(s.get("additionalProperties"), dict):
                _validate(x, s["additionalProperties"], f"{path}.{k}", errs)
        if "maxProperties" in s and len(v) > s["maxProperties"]:
            errs.append(FieldError("FieldValueTooMany", p, f"Too many: {len(v)}: must have at most {s['maxProperties']} items"))
    if jt == "array":
        if "maxItems" in s and len(v) > s["maxItems"]:
            errs.append(FieldError("FieldValueTooMany", p, f"Too many: {len(v)}: must have at most {s['maxItems']} items"))
        if "minItems" in s and len(v) < s["minItems"]:
            errs.append(FieldError("FieldValueInvalid", p,
                                   f"Invalid value: {len(v)}: {p} in body should have at least {s['minItems']} items"))
        lt = s.get("x-kubernetes-list-type")
        if lt == "set":
            seen = []
            for i, x in enumerate(v):
                if x in seen:
                    errs.append(FieldError("FieldValueDuplicate", f"{p}[{i}]", f"Duplicate value: {_show(x)}"))
                seen.append(x)
        elif lt == "map":
            keys = s.get("x-kubernetes-list-map-keys", [])
            seen = []
            for i, x in enumerate(v):
                if isinstance(x, dict):
                    kv = {k: x.get(k) for k in keys}
                    if kv in seen:
                        import json
                        errs.append(FieldError("FieldValueDuplicate", f"{p}[{i}]",
                                               f"Duplicate value: {json.dumps(kv, separators=(',', ':'))}"))
                    seen.append(kv)
        if isinstance(s.get("items"), dict):
            for i, x in enumerate(v):
                _validate(x, s["items"], f"{path}[{i}]", errs)


def list_type(schema_node):
    """(listType, mapKeys) of an array schema node, for server-side apply merging."""
    if not isinstance(schema_node, dict):
        return ("atomic", [])
    return (schema_node.get("x-kubernetes-list-type", "atomic"),
            schema_node.get("x-kubernetes-list-map-keys", []))


def child(schema_node, key):
    if not isinstance(schema_node, dict):
        return None
    props = schema_node.get("properties")
    if props and key in props:
        return props[key]
    a = schema_node.get("additionalProperties")
    return a if isinstance(a, dict) else None
