# SPDX-License-Identifier: MIT
"""kboxd.patches: the four PATCH content types, and field ownership (managedFields).

- application/merge-patch+json: RFC 7386 (null deletes, lists replaced whole).
- application/json-patch+json: RFC 6902 (add/remove/replace/move/copy/test);
  a failed op answers 422 Invalid "the server rejected our request due to an
  error in our request", as kube-apiserver wraps json-patch errors.
- application/strategic-merge-patch+json: built-in kinds only, lists merged per
  SMP_TABLE below (each row is the patchStrategy/patchMergeKey struct tag of the
  upstream Go type, k8s.io/api <group>/<version>/types.go, named in the row);
  a list not in the table is replaced whole, as its Go field has no tag.
  Directives: $patch (replace/delete/merge), $retainKeys, $setElementOrder/,
  $deleteFromPrimitiveList/. Custom resources: 415 (api.py), never a silent merge.
- application/apply-patch+yaml: server-side apply. Fields are tracked per
  manager in metadata.managedFields (FieldsV1); applying a field another
  manager owns with a different value is a 409 naming manager and fields
  unless force=true; fields a manager stops applying are removed unless
  someone else owns them. Lists merge by the schema's x-kubernetes-list-type
  (CRDs) or, for built-ins, by the SMP table (merge+key -> map, merge on a
  primitive list -> set); anything else is atomic.
"""
import copy
import json

from .schema import child, model_schema
from .util import ApiError, bad_request

# (python3-kubernetes model, field) -> (strategy, merge key or None, extra SSA map keys)
SMP_TABLE = {
    # k8s.io/apimachinery/pkg/apis/meta/v1/types.go ObjectMeta
    ("V1ObjectMeta", "finalizers"): ("merge", None),  # patchStrategy:"merge"
    ("V1ObjectMeta", "ownerReferences"): ("merge", "uid"),  # patchStrategy:"merge" patchMergeKey:"uid"
    # k8s.io/api/core/v1/types.go PodSpec
    ("V1PodSpec", "volumes"): ("merge,retainKeys", "name"),  # patchMergeKey:"name" patchStrategy:"merge,retainKeys"
    ("V1PodSpec", "initContainers"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1PodSpec", "containers"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1PodSpec", "ephemeralContainers"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1PodSpec", "imagePullSecrets"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1PodSpec", "hostAliases"): ("merge", "ip"),  # patchMergeKey:"ip" patchStrategy:"merge"
    ("V1PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey"),  # patchMergeKey:"topologyKey" patchStrategy:"merge"
    ("V1PodSpec", "resourceClaims"): ("merge,retainKeys", "name"),  # patchMergeKey:"name" patchStrategy:"merge,retainKeys"
    ("V1PodSpec", "schedulingGates"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    # core/v1 Container and EphemeralContainerCommon
    ("V1Container", "ports"): ("merge", "containerPort"),  # patchMergeKey:"containerPort" patchStrategy:"merge"
    ("V1Container", "env"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1Container", "volumeMounts"): ("merge", "mountPath"),  # patchMergeKey:"mountPath" patchStrategy:"merge"
    ("V1Container", "volumeDevices"): ("merge", "devicePath"),  # patchMergeKey:"devicePath" patchStrategy:"merge"
    ("V1EphemeralContainer", "ports"): ("merge", "containerPort"),
    ("V1EphemeralContainer", "env"): ("merge", "name"),
    ("V1EphemeralContainer", "volumeMounts"): ("merge", "mountPath"),
    ("V1EphemeralContainer", "volumeDevices"): ("merge", "devicePath"),
    # core/v1 PodStatus
    ("V1PodStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1PodStatus", "podIPs"): ("merge", "ip"),  # patchMergeKey:"ip" patchStrategy:"merge"
    ("V1PodStatus", "hostIPs"): ("merge", "ip"),  # patchMergeKey:"ip" patchStrategy:"merge"
    # core/v1 ServiceSpec, ServiceAccount, Node, PVC, Namespace
    ("V1ServiceSpec", "ports"): ("merge", "port"),  # patchMergeKey:"port" patchStrategy:"merge"
    ("V1ServiceAccount", "secrets"): ("merge", "name"),  # patchMergeKey:"name" patchStrategy:"merge"
    ("V1NodeSpec", "podCIDRs"): ("merge", None),  # patchStrategy:"merge"
    ("V1NodeStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1NodeStatus", "addresses"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1PersistentVolumeClaimStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1NamespaceStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    # k8s.io/api/apps/v1/types.go
    ("V1DeploymentSpec", "strategy"): ("retainKeys", None),  # patchStrategy:"retainKeys"
    ("V1DeploymentStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1StatefulSetStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1DaemonSetStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    ("V1ReplicaSetStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    # k8s.io/api/batch/v1/types.go
    ("V1JobStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
    # k8s.io/api/policy/v1/types.go
    ("V1PodDisruptionBudgetStatus", "conditions"): ("merge", "type"),  # patchMergeKey:"type" patchStrategy:"merge"
}

# server-side apply's list-map keys where they are more than the SMP merge key
# (+listMapKey markers on the same Go fields)
SSA_MAP_KEYS = {
    ("V1Container", "ports"): ["containerPort", "protocol"],
    ("V1ServiceSpec", "ports"): ["port", "protocol"],
}

JSON_INVALID = "the server rejected our request due to an error in our request"


def _model(node):
    return node.get("x-kbox-model") if isinstance(node, dict) else None


# ---- RFC 7386
def merge_patch(orig, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


# ---- RFC 6902
def _ptr(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", JSON_INVALID)
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, dict) and p in cur:
            cur = cur[p]
        elif isinstance(cur, list) and p.isdigit() and int(p) < len(cur):
            cur = cur[int(p)]
        else:
            raise ApiError(422, "Invalid", JSON_INVALID)
    return cur


def json_patch(doc, ops):
    if not isinstance(ops, list):
        raise bad_request("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op:
            raise bad_request("Unexpected kind: <nil>")
        kind = op["op"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise ApiError(422, "Invalid", JSON_INVALID)
        path = _ptr(op.get("path", ""))
        if kind == "test":
            if _walk(doc, path) != op["value"]:
                raise ApiError(422, "Invalid", JSON_INVALID)
            continue
        if kind in ("move", "copy"):
            src = _ptr(op.get("from", ""))
            val = copy.deepcopy(_walk(doc, src))
            if kind == "move":
                doc = _remove(doc, src)
            doc = _add(doc, path, val)
        elif kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _walk(doc, path)
            doc = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        else:
            raise bad_request(f"Unexpected kind: {kind}")
    return doc


def _add(doc, parts, val):
    if not parts:
        return val
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        parent[last] = val
    elif isinstance(parent, list):
        if last == "-":
            parent.append(val)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), val)
        else:
            raise ApiError(422, "Invalid", JSON_INVALID)
    else:
        raise ApiError(422, "Invalid", JSON_INVALID)
    return doc


def _remove(doc, parts):
    if not parts:
        raise ApiError(422, "Invalid", JSON_INVALID)
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict) and last in parent:
        del parent[last]
    elif isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
        del parent[int(last)]
    else:
        raise ApiError(422, "Invalid", JSON_INVALID)
    return doc


# ---- strategic merge patch
def strategic_merge(orig, patch, schema):
    if not isinstance(patch, dict):
        raise bad_request("json: cannot unmarshal array into Go value of type map[string]interface {}")
    return _smp(orig if isinstance(orig, dict) else {}, patch, schema)


def _smp(orig, patch, node):
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = copy.deepcopy(orig) if isinstance(orig, dict) else {}
    model = _model(node)
    orders = {}
    for k, v in patch.items():
        if k in ("$patch", "$retainKeys"):
            continue
        if k.startswith("$setElementOrder/"):
            orders[k.split("/", 1)[1]] = v
            continue
        if k.startswith("$deleteFromPrimitiveList/"):
            f = k.split("/", 1)[1]
            if isinstance(out.get(f), list):
                out[f] = [x for x in out[f] if x not in v]
            continue
        sub = child(node, k)
        if v is None:
            out.pop(k, None)
        elif isinstance(v, dict):
            r = _smp(out.get(k), v, sub)
            if r is None:
                out.pop(k, None)
            else:
                out[k] = r
        elif isinstance(v, list):
            rule = SMP_TABLE.get((model, k))
            if rule and "merge" in rule[0].split(","):
                out[k] = _merge_list(out.get(k), v, rule[1], sub.get("items") if isinstance(sub, dict) else None)
            else:
                out[k] = copy.deepcopy([x for x in v if not (isinstance(x, dict) and "$patch" in x)])
        else:
            out[k] = copy.deepcopy(v)
    if "$retainKeys" in patch:
        keep = set(patch["$retainKeys"] or [])
        for k in list(out):
            if k not in keep and k not in patch:
                del out[k]
    for f, order in orders.items():
        if isinstance(out.get(f), list) and isinstance(order, list):
            out[f] = _reorder(out[f], order, SMP_TABLE.get((model, f), ("", None))[1])
    return out


def _merge_list(orig, patch, key, item_node):
    orig = copy.deepcopy(orig) if isinstance(orig, list) else []
    if any(isinstance(x, dict) and x.get("$patch") == "replace" for x in patch):
        return [copy.deepcopy(x) for x in patch if not (isinstance(x, dict) and "$patch" in x)]
    if key is None:  # primitive list, merge = union in order
        for x in patch:
            if x not in orig:
                orig.append(copy.deepcopy(x))
        return orig
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item} does not contain declared merge key: {key}")
        idx = next((i for i, o in enumerate(orig) if isinstance(o, dict) and o.get(key) == item[key]), None)
        if item.get("$patch") == "delete":
            if idx is not None:
                del orig[idx]
            continue
        if idx is None:
            orig.append(_smp({}, item, item_node))
        else:
            orig[idx] = _smp(orig[idx], item, item_node)
    return orig


def _reorder(lst, order, key):
    def ident(x):
        return x.get(key) if key and isinstance(x, dict) else x
    pos = {json.dumps(o.get(key) if key and isinstance(o, dict) else o, sort_keys=True): i
           for i, o in enumerate(order)}
    return sorted(lst, key=lambda x: pos.get(json.dumps(ident(x), sort_keys=True), len(pos)))


# ---- server-side apply: field sets
SKIP_META = {"name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp",
             "deletionTimestamp", "deletionGracePeriodSeconds", "managedFields", "selfLink",
             "generateName"}


def _list_info(parent_node, field, node, builtin):
    """-> ('map', keys) | ('set', None) | ('atomic', None) for the list at parent.field."""
    if builtin:
        model = _model(parent_node)
        rule = SMP_TABLE.get((model, field))
        if rule and "merge" in rule[0].split(","):
            if rule[1] is None:
                return ("set", None)
            return ("map", SSA_MAP_KEYS.get((model, field), [rule[1]]))
        return ("atomic", None)
    if isinstance(node, dict):
        lt = node.get("x-kubernetes-list-type", "atomic")
        if lt == "map":
            return ("map", node.get("x-kubernetes-list-map-keys", []))
        if lt == "set":
            return ("set", None)
    return ("atomic", None)


def _is_atomic_map(node):
    return isinstance(node, dict) and (node.get("x-kubernetes-map-type") == "atomic")


def _kenc(item, keys):
    return "k:" + json.dumps({k: item.get(k) for k in sorted(keys) if k in item},
                             separators=(",", ":"), sort_keys=True)


def fieldset(obj, schema, builtin, skip_status=False):
    """Leaf paths (tuples of 'f:..', 'k:..', 'v:..' and '.') of an applied or updated object."""
    out = set()
    for k, v in obj.items():
        if k in ("apiVersion", "kind"):
            continue
        if k == "status" and skip_status:
            continue
        if k == "metadata":
            if isinstance(v, dict):
                meta_node = model_schema("V1ObjectMeta") if schema is not None else None
                for mk, mv in v.items():
                    if mk in SKIP_META:
                        continue
                    _fs(mv, child(meta_node, mk), ("f:metadata", "f:" + mk), out, builtin, meta_node, mk)
            continue
        _fs(v, child(schema, k), ("f:" + k,), out, builtin, schema, k)
    return out


def _fs(v, node, path, out, builtin, parent_node, field):
    if isinstance(v, dict) and v and not _is_atomic_map(node) and not (
            isinstance(node, dict) and node.get("x-kubernetes-preserve-unknown-fields") and "properties" not in node and not builtin):
        for k, x in v.items():
            _fs(x, child(node, k), path + ("f:" + k,), out, builtin, node, k)
        return
    if isinstance(v, list) and v:
        kind, keys = _list_info(parent_node, field, node, builtin)
        item = node.get("items") if isinstance(node, dict) else None
        if kind == "map":
            for it in v:
                if isinstance(it, dict):
                    p = path + (_kenc(it, keys),)
                    out.add(p + (".",))
                    for k, x in it.items():
                        _fs(x, child(item, k), p + ("f:" + k,), out, builtin, item, k)
            return
        if kind == "set":
            for it in v:
                out.add(path + ("v:" + json.dumps(it, separators=(",", ":")),))
            return
    out.add(path)


def encode_fields(paths):
    root = {}
    for p in sorted(paths):
        cur = root
        for el in p:
            cur = cur.setdefault(el, {})
    return root


def decode_fields(fv):
    out = set()

    def rec(d, path):
        if not d:
            out.add(path)
            return
        for k, x in d.items():
            if k == ".":
                out.add(path + (".",))
            else:
                rec(x, path + (k,))
    rec(fv or {}, ())
    return out


def value_at(obj, path):
    """The value at a field path, or a sentinel when absent."""
    cur = obj
    for el in path:
        if el == ".":
            return cur
        if el.startswith("f:"):
            if not isinstance(cur, dict) or el[2:] not in cur:
                return _ABSENT
            cur = cur[el[2:]]
        elif el.startswith("k:"):
            want = json.loads(el[2:])
            if not isinstance(cur, list):
                return _ABSENT
            cur = next((x for x in cur if isinstance(x, dict) and all(x.get(k) == w for k, w in want.items())),
                       _ABSENT)
            if cur is _ABSENT:
                return _ABSENT
        elif el.startswith("v:"):
            want = json.loads(el[2:])
            return want if isinstance(cur, list) and want in cur else _ABSENT
    return cur


class _Absent:
    def __repr__(self):
        return "<absent>"


_ABSENT = _Absent()


def path_str(p):
    """A field path as conflicts name it: .spec.replicas, .spec.containers[name="c"].image."""
    s = ""
    for el in p:
        if el == ".":
            continue
        if el.startswith("f:"):
            s += "." + el[2:]
        elif el.startswith("k:"):
            d = json.loads(el[2:])
            s += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in d.items()) + "]"
        elif el.startswith("v:"):
            s += "[=" + el[2:] + "]"
    return s


def remove_path(obj, p):
    """Remove the field (or list item) at path p from obj, if present."""
    if not p:
        return
    if p[-1] == ".":
        p = p[:-1]
    parent = value_at(obj, p[:-1]) if len(p) > 1 else obj
    el = p[-1]
    if parent is _ABSENT:
        return
    if el.startswith("f:") and isinstance(parent, dict):
        parent.pop(el[2:], None)
    elif el.startswith("k:") and isinstance(parent, list):
        want = json.loads(el[2:])
        parent[:] = [x for x in parent if not (isinstance(x, dict) and all(x.get(k) == w for k, w in want.items()))]
    elif el.startswith("v:") and isinstance(parent, list):
        want = json.loads(el[2:])
        parent[:] = [x for x in parent if x != want]


def apply_merge(live, applied, node, builtin, parent_node=None, field=None):
    """Merge an applied configuration into the live object (maps deep, lists by list type)."""
    if isinstance(applied, dict) and isinstance(live, dict) and not _is_atomic_map(node):
        out = copy.deepcopy(live)
        for k, v in applied.items():
            out[k] = apply_merge(live.get(k), v, child(node, k), builtin, node, k)
        return out
    if isinstance(applied, list) and isinstance(live, list):
        kind, keys = _list_info(parent_node, field, node, builtin)
        item = node.get("items") if isinstance(node, dict) else None
        if kind == "map":
            out = copy.deepcopy(live)
            for it in applied:
                if not isinstance(it, dict):
                    continue
                idx = next((i for i, o in enumerate(out) if isinstance(o, dict)
                            and all(o.get(k) == it.get(k) for k in keys)), None)
                if idx is None:
                    out.append(copy.deepcopy(it))
                else:
                    out[idx] = apply_merge(out[idx], it, item, builtin)
            return out
        if kind == "set":
            out = copy.deepcopy(live)
            for it in applied:
                if it not in out:
                    out.append(copy.deepcopy(it))
            return out
    return copy.deepcopy(applied)


def changed_paths(old, new, schema, builtin, skip_status):
    """Leaf paths of `new` whose value differs from `old` (what an Update takes ownership of)."""
    fs_new = fieldset(new, schema, builtin, skip_status)
    return {p for p in fs_new if value_at(old, p) != value_at(new, p)}, fs_new


class Conflict(Exception):
    pass


def managers_of(obj):
    return (obj or {}).get("metadata", {}).get("managedFields") or []


def update_managed(old, new, manager, operation, api_version, schema, builtin, subresource,
                   now, skip_status):
    """Record an Update by `manager` in new.metadata.managedFields (old may be None)."""
    mfs = copy.deepcopy(managers_of(old)) if old is not None else []
    if old is None:
        changed = fieldset(new, schema, builtin, skip_status)
    else:
        changed, _ = changed_paths(old, new, schema, builtin, skip_status)
    fs_new_all = fieldset(new, schema, builtin, False)
    entries = []
    mine = None
    for e in mfs:
        paths = decode_fields(e.get("fieldsV1"))
        is_mine = e.get("manager") == manager and e.get("operation") == operation and \
            e.get("subresource", "") == (subresource or "")
        if is_mine:
            mine = (e, paths)
            continue
        paths = {p for p in paths if p not in changed and _still_there(p, fs_new_all, new)}
        if paths:
            e["fieldsV1"] = encode_fields(paths)
            entries.append(e)
    own = set(mine[1]) if mine else set()
    own = {p for p in own if _still_there(p, fs_new_all, new)} | changed
    if own:
        e = {"manager": manager, "operation": operation, "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": encode_fields(own)}
        if subresource:
            e["subresource"] = subresource
        if mine and not changed:
            e["time"] = mine[0].get("time", now)
        entries.append(e)
    new["metadata"]["managedFields"] = entries


def _still_there(p, fs_all, obj):
    return value_at(obj, p) is not _ABSENT


def server_side_apply(live, applied, manager, force, api_version, schema, builtin, now, skip_status,
                      subresource=""):
    """-> new object with managedFields; raises ApiError 409 on conflicts without force."""
    f_applied = fieldset(applied, schema, builtin, skip_status)
    mfs = copy.deepcopy(managers_of(live)) if live else []
    conflicts = []  # (path, manager entry)
    prev_mine = set()
    others = []
    for e in mfs:
        paths = decode_fields(e.get("fieldsV1"))
        if e.get("manager") == manager and e.get("operation") == "Apply" and \
                e.get("subresource", "") == subresource:
            prev_mine = paths
            continue
        others.append((e, paths))
        for p in paths & f_applied:
            if p[-1] == ".":
                continue
            if value_at(live, p) != value_at(applied, p):
                conflicts.append((p, e))
    if conflicts and not force:
        by = {}
        for p, e in conflicts:
            by.setdefault((e["manager"], e.get("apiVersion", "")), []).append(path_str(p))
        n = len(conflicts)
        if n == 1:
            (m, av), fs = next(iter(by.items()))
            msg = f'Apply failed with 1 conflict: conflict with "{m}" using {av}: {fs[0]}'
        else:
            parts = []
            for (m, av), fs in by.items():
                parts.append(f'conflicts with "{m}" using {av}:\n' + "\n".join(f"- {x}" for x in sorted(fs)))
            msg = f"Apply failed with {n} conflicts: " + "\n".join(parts)
        causes = [{"reason": "FieldManagerConflict", "message": f'conflict with "{e["manager"]}" using {e.get("apiVersion", "")}',
                   "field": path_str(p)} for p, e in conflicts]
        raise ApiError(409, "Conflict", msg, {"causes": causes})
    base = copy.deepcopy(live) if live else {}
    merged = apply_merge(base, {k: v for k, v in applied.items() if k != "metadata"}, schema, builtin)
    meta = merged.setdefault("metadata", {})
    ameta = applied.get("metadata") or {}
    for k, v in ameta.items():
        if k in SKIP_META and k not in ("name", "namespace", "generateName"):
            continue
        mn = model_schema("V1ObjectMeta") if schema is not None else None
        meta[k] = apply_merge(meta.get(k), v, child(mn, k), True, mn, k)
    # fields this manager applied before and no longer applies: removed unless owned by another
    owned_by_others = set()
    conflict_paths = {p for p, _ in conflicts}
    for e, paths in others:
        owned_by_others |= paths - (conflict_paths if force else set())
    for p in sorted(prev_mine - f_applied, key=len, reverse=True):
        if p in owned_by_others or any(q[:len(p)] == p for q in owned_by_others):
            continue
        if any(q[:len(p)] == p for q in f_applied):
            continue
        remove_path(merged, p)
    entries = []
    for e, paths in others:
        if force:
            paths = paths - conflict_paths
        paths = {p for p in paths if value_at(merged, p) is not _ABSENT}
        if paths:
            e["fieldsV1"] = encode_fields(paths)
            entries.append(e)
    if f_applied:
        e = {"manager": manager, "operation": "Apply", "apiVersion": api_version, "time": now,
             "fieldsType": "FieldsV1", "fieldsV1": encode_fields(f_applied)}
        if subresource:
            e["subresource"] = subresource
        entries.append(e)
    merged["metadata"]["managedFields"] = entries
    return merged
