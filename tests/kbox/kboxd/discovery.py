# SPDX-License-Identifier: MIT
"""kboxd.discovery: /version, discovery (aggregated v2 and legacy) and /openapi/v3.

- /version reports v1.32.x, so version-dispatching clients pick a 1.32 client.
- Discovery: /api, /apis answer the aggregated form
  (`application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList`,
  what kubectl 1.32 asks for first, CONTROLPLANE.md §6.9) when the Accept
  header asks for it, else the legacy APIVersions/APIGroupList;
  /api/v1 and /apis/G/V answer APIResourceList; /apis/G answers APIGroup.
- /openapi/v3 lists one document per group-version; each declares every
  path with its operations, and every write declares the `fieldValidation`,
  `dryRun` and `fieldManager` query parameters: kubectl apply checks that a
  PATCH operation tagged with the kind's x-kubernetes-group-version-kind
  declares `fieldValidation` before it relies on server-side validation
  (otherwise it wants protobuf /openapi/v2, which the box does not serve).
  Schemas come from schema.py (models for built-ins, the CRD's schema for
  custom resources) as components, which is what `kubectl explain` reads.
"""
import hashlib
import json
import re

from . import schema as sch
from .patches import SMP_TABLE
from .resources import SUBRESOURCE_KINDS

VERSION = {"major": "1", "minor": "32", "gitVersion": "v1.32.3-kbox", "gitCommit": "0000000000000000000000000000000000000000",
           "gitTreeState": "clean", "buildDate": "2025-03-11T00:00:00Z", "goVersion": "go1.23.6",
           "compiler": "gc", "platform": "linux/amd64", "emulationMajor": "1", "emulationMinor": "32",
           "minCompatibilityMajor": "1", "minCompatibilityMinor": "31"}
VERSION = {k: v for k, v in VERSION.items() if not k.startswith(("emulation", "minCompat"))}

AGG_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGG_CT_BETA = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"


def wants_aggregated(accept):
    """-> the content type to answer with, or None for legacy discovery."""
    for part in (accept or "").split(","):
        p = part.replace(" ", "")
        if "as=APIGroupDiscoveryList" in p and "g=apidiscovery.k8s.io" in p:
            if "v=v2beta1" in p:
                return AGG_CT_BETA
            if "v=v2" in p:
                return AGG_CT
    return None


def _res_entry(r):
    return {"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced, "kind": r.kind,
            "verbs": r.verbs, **({"shortNames": r.short_names} if r.short_names else {}),
            **({"categories": r.categories} if r.categories else {})}


def resource_list(reg, group, version):
    rows = reg.by_gv.get((group, version))
    if rows is None:
        return None
    out = []
    for r in sorted(rows.values(), key=lambda r: r.plural):
        out.append(_res_entry(r))
        for s in r.subresources:
            g, v, k, verbs = SUBRESOURCE_KINDS.get(s, (None, None, None, ["get"]))
            e = {"name": f"{r.plural}/{s}", "singularName": "", "namespaced": r.namespaced,
                 "kind": k or r.kind, "verbs": verbs}
            if g:
                e["group"] = g
                e["version"] = v
            out.append(e)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}


def api_versions():
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1:6443"}]}


def _group(g, versions):
    vs = [{"groupVersion": f"{g}/{v}", "version": v} for v in versions]
    return {"name": g, "versions": vs, "preferredVersion": vs[0]}


def group_list(reg):
    return {"kind": "APIGroupList", "apiVersion": "v1",
            "groups": [_group(g, vs) for g, vs in reg.groups().items() if g]}


def api_group(reg, g):
    vs = reg.groups().get(g)
    if not vs or not g:
        return None
    d = _group(g, vs)
    d.update({"kind": "APIGroup", "apiVersion": "v1"})
    return d


def _agg_version(reg, g, v):
    res = []
    for r in sorted(reg.by_gv[(g, v)].values(), key=lambda r: r.plural):
        e = {"resource": r.plural, "responseKind": {"group": g, "version": v, "kind": r.kind},
             "scope": "Namespaced" if r.namespaced else "Cluster", "singularResource": r.singular,
             "verbs": r.verbs}
        if r.short_names:
            e["shortNames"] = r.short_names
        if r.categories:
            e["categories"] = r.categories
        subs = []
        for s in r.subresources:
            sg, sv, sk, verbs = SUBRESOURCE_KINDS.get(s, (None, None, None, ["get"]))
            subs.append({"subresource": s, "responseKind": {"group": sg if sg is not None else g,
                                                            "version": sv or v, "kind": sk or r.kind},
                         "verbs": verbs})
        if subs:
            e["subresources"] = subs
        res.append(e)
    return {"version": v, "resources": res, "freshness": "Current"}


def aggregated(reg, core, ct):
    items = []
    for g, vs in reg.groups().items():
        if (g == "") != core:
            continue
        item = {"metadata": {"name": g, "creationTimestamp": None},
                "versions": [_agg_version(reg, g, v) for v in vs]}
        items.append(item)
    api_v = "apidiscovery.k8s.io/v2beta1" if "v2beta1" in ct else "apidiscovery.k8s.io/v2"
    return {"kind": "APIGroupDiscoveryList", "apiVersion": api_v, "metadata": {}, "items": items}


# ---- OpenAPI v3
def _gv_path(g, v):
    return f"api/{v}" if not g else f"apis/{g}/{v}"


def openapi_root(reg):
    paths = {}
    for g, vs in reg.groups().items():
        for v in vs:
            p = _gv_path(g, v)
            paths[p] = {"serverRelativeURL": f"/openapi/v3/{p}?hash={_hash(reg, g, v)}"}
    return {"paths": paths}


def _hash(reg, g, v):
    h = hashlib.sha512()
    for r in sorted(reg.by_gv.get((g, v), {}).values(), key=lambda r: r.plural):
        h.update(r.plural.encode())
        if r.crd is not None:
            h.update(json.dumps(r.crd.get("spec"), sort_keys=True).encode())
    return h.hexdigest()[:128].upper()


class _Components:
    def __init__(self):
        self.schemas = {}

    def ref(self, s, gvk=None, name=None):
        """Turn a model schema into components (+ $ref), keeping patch-strategy extensions."""
        if not isinstance(s, dict):
            return s
        model = s.get("x-kbox-model")
        if model and not gvk:
            # the Go type's name, as kubectl explain shows it (V1Container -> Container)
            cname = "io.k8s.kbox." + re.sub(r"^[A-Za-z]*?V\d+(?:alpha\d+|beta\d+)?(?=[A-Z])", "", model)
            if cname not in self.schemas:
                self.schemas[cname] = {}
                self.schemas[cname] = self._conv(s, model)
            return {"$ref": f"#/components/schemas/{cname}"}
        out = self._conv(s, model)
        if gvk:
            out["x-kubernetes-group-version-kind"] = [gvk]
            self.schemas[name] = out
            return {"$ref": f"#/components/schemas/{name}"}
        return out

    def _conv(self, s, model):
        out = {k: v for k, v in s.items() if k not in ("properties", "items", "additionalProperties", "x-kbox-model",
                                                        "x-kbox-descriptions")}
        descs = s.get("x-kbox-descriptions") or {}
        if "properties" in s:
            out["properties"] = {}
            for k, p in s["properties"].items():
                c = self.ref(p)
                if k in descs:
                    c = dict(c, description=descs[k]) if "$ref" not in c else {"allOf": [c], "description": descs[k]}
                rule = SMP_TABLE.get((model, k))
                if rule:
                    c = dict(c) if "$ref" not in c else {"allOf": [c]}
                    c["x-kubernetes-patch-strategy"] = rule[0]
                    if rule[1]:
                        c["x-kubernetes-patch-merge-key"] = rule[1]
                out["properties"][k] = c
        if isinstance(s.get("items"), dict):
            out["items"] = self.ref(s["items"])
        if isinstance(s.get("additionalProperties"), dict):
            out["additionalProperties"] = self.ref(s["additionalProperties"])
        return out


def _qp(name, desc, typ="string", unique=True):
    return {"name": name, "in": "query", "description": desc, "schema": {"type": typ, "uniqueItems": unique}}


FV = _qp("fieldValidation", "fieldValidation instructs the server on how to handle objects in the request "
         "(POST/PUT/PATCH) containing unknown or duplicate fields. Valid values are: - Ignore - Warn - Strict")
DRY = _qp("dryRun", "When present, indicates that modifications should not be persisted. Valid values are: - All")
FM = _qp("fieldManager", "fieldManager is a name associated with the actor or entity that is making these changes.")
FORCE = _qp("force", "Force is going to \"force\" Apply requests.", "boolean")
LISTQ = [_qp("labelSelector", "A selector to restrict the list of returned objects by their labels."),
         _qp("fieldSelector", "A selector to restrict the list of returned objects by their fields."),
         _qp("limit", "limit is a maximum number of responses to return for a list call.", "integer"),
         _qp("continue", "The continue option should be set when retrieving more results from the server."),
         _qp("resourceVersion", "resourceVersion sets a constraint on what resource versions a request may be served from."),
         _qp("resourceVersionMatch", "resourceVersionMatch determines how resourceVersion is applied to list calls."),
         _qp("watch", "Watch for changes to the described resources.", "boolean"),
         _qp("allowWatchBookmarks", "allowWatchBookmarks requests watch events with type \"BOOKMARK\".", "boolean"),
         _qp("sendInitialEvents", "`sendInitialEvents=true` may be set together with `watch=true`.", "boolean"),
         _qp("timeoutSeconds", "Timeout for the list/watch call.", "integer")]
PATCH_TYPES = ["application/json-patch+json", "application/merge-patch+json",
               "application/strategic-merge-patch+json", "application/apply-patch+yaml"]


def _op(action, gvk, op_id, ref, params, body=False, patch=False, code="200", builtin=True):
    o = {"operationId": op_id, "parameters": params,
         "responses": {code: {"description": "OK", "content": {"application/json": {"schema": ref}}},
                       "401": {"description": "Unauthorized"}},
         "x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk}
    if body:
        cts = [t for t in PATCH_TYPES if builtin or "strategic" not in t] if patch else ["application/json"]
        o["requestBody"] = {"content": {ct: {"schema": ref if not patch else {"type": "object"}} for ct in cts},
                            "required": True}
    return o


def openapi_gv(reg, g, v):
    rows = reg.by_gv.get((g, v))
    if rows is None:
        return None
    comp = _Components()
    paths = {}
    prefix = "/" + _gv_path(g, v)
    for r in sorted(rows.values(), key=lambda r: r.plural):
        gvk = {"group": g, "version": v, "kind": r.kind}
        name = (f"io.k8s.api.{(g.split('.')[0] if g else 'core')}.{v}.{r.kind}" if r.builtin
                else ".".join(reversed(g.split("."))) + f".{v}.{r.kind}")
        s = sch.schema_for(r, v)
        if r.crd is not None:
            s = dict(s or {"type": "object"})
            props = dict(s.get("properties") or {})
            props.setdefault("apiVersion", {"type": "string", "description": "APIVersion defines the versioned schema of this representation of an object."})
            props.setdefault("kind", {"type": "string", "description": "Kind is a string value representing the REST resource this object represents."})
            props["metadata"] = sch.model_schema("V1ObjectMeta")
            s["properties"] = props
        elif s is None:
            s = {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
        ref = comp.ref(s, gvk, name)
        list_ref = {"type": "object", "properties": {"items": {"type": "array", "items": ref}}}
        kind_path = f"{prefix}/namespaces/{{namespace}}/{r.plural}" if r.namespaced else f"{prefix}/{r.plural}"
        base_params = [{"name": "namespace", "in": "path", "required": True, "schema": {"type": "string"}}] \
            if r.namespaced else []
        name_param = [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}]
        coll = {"parameters": base_params}
        item = {"parameters": base_params + name_param}
        if "list" in r.verbs:
            coll["get"] = _op("list", gvk, f"list{r.kind}", list_ref, LISTQ)
        if "create" in r.verbs:
            coll["post"] = _op("post", gvk, f"create{r.kind}", ref, [DRY, FM, FV], body=True, code="201")
        if "deletecollection" in r.verbs:
            coll["delete"] = _op("deletecollection", gvk, f"deleteCollection{r.kind}", ref, [DRY] + LISTQ)
        if "get" in r.verbs:
            item["get"] = _op("get", gvk, f"read{r.kind}", ref, [])
            item["put"] = _op("put", gvk, f"replace{r.kind}", ref, [DRY, FM, FV], body=True)
            item["patch"] = _op("patch", gvk, f"patch{r.kind}", ref, [DRY, FM, FV, FORCE], body=True,
                                patch=True, builtin=r.builtin)
            item["delete"] = _op("delete", gvk, f"delete{r.kind}", ref, [DRY])
        paths[kind_path] = coll
        if "get" in r.verbs:
            paths[kind_path + "/{name}"] = item
        if r.namespaced and "list" in r.verbs:
            paths[f"{prefix}/{r.plural}"] = {"get": _op("list", gvk, f"list{r.kind}ForAllNamespaces", list_ref, LISTQ)}
        for sub in r.subresources:
            sp = {"parameters": base_params + name_param}
            if sub == "status":
                sp["get"] = _op("get", gvk, f"read{r.kind}Status", ref, [])
                sp["put"] = _op("put", gvk, f"replace{r.kind}Status", ref, [DRY, FM, FV], body=True)
                sp["patch"] = _op("patch", gvk, f"patch{r.kind}Status", ref, [DRY, FM, FV, FORCE], body=True,
                                  patch=True, builtin=r.builtin)
            elif sub == "scale":
                sgvk = {"group": "autoscaling", "version": "v1", "kind": "Scale"}
                sref = {"type": "object", "properties": {"spec": {"type": "object", "properties": {"replicas": {"type": "integer"}}}}}
                sp["get"] = _op("get", sgvk, f"read{r.kind}Scale", sref, [])
                sp["put"] = _op("put", sgvk, f"replace{r.kind}Scale", sref, [DRY, FM, FV], body=True)
                sp["patch"] = _op("patch", sgvk, f"patch{r.kind}Scale", sref, [DRY, FM, FV, FORCE], body=True, patch=True)
            else:
                continue
            paths[f"{kind_path}/{{name}}/{sub}"] = sp
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.3-kbox"},
            "paths": paths, "components": {"schemas": comp.schemas}}
