# SPDX-License-Identifier: MIT
"""kboxd.proto: the few protobuf request bodies real clients send to the box.

kubectl's typed clients (`kubectl auth can-i`, `kubectl create token`) send
`application/vnd.kubernetes.protobuf` bodies and accept JSON answers. The
wire form is the "k8s\\0" magic, then a runtime.Unknown {typeMeta{apiVersion,
kind}, raw, contentEncoding, contentType} whose raw bytes are the object's
message. The messages decoded here are written from the field numbers of
k8s.io/api authorization/v1 and authentication/v1 generated.proto (listed in
MESSAGES); every other protobuf body is 415, like any unknown media type.
"""
from .util import ApiError

MAGIC = b"k8s\x00"
STR, INT, MSG, RSTR, MAP, BMAP, BOOL, RMSG = "s", "i", "m", "rs", "map", "bmap", "b", "rm"

MESSAGES = {
    # authorization/v1
    "SelfSubjectAccessReview": {1: ("metadata", MSG, "ObjectMeta"), 2: ("spec", MSG, "SelfSubjectAccessReviewSpec")},
    "SelfSubjectAccessReviewSpec": {1: ("resourceAttributes", MSG, "ResourceAttributes"),
                                    2: ("nonResourceAttributes", MSG, "NonResourceAttributes")},
    "ResourceAttributes": {1: ("namespace", STR), 2: ("verb", STR), 3: ("group", STR), 4: ("version", STR),
                           5: ("resource", STR), 6: ("subresource", STR), 7: ("name", STR)},
    "NonResourceAttributes": {1: ("path", STR), 2: ("verb", STR)},
    "SelfSubjectRulesReview": {1: ("metadata", MSG, "ObjectMeta"), 2: ("spec", MSG, "SelfSubjectRulesReviewSpec")},
    "SelfSubjectRulesReviewSpec": {1: ("namespace", STR)},
    "SubjectAccessReview": {1: ("metadata", MSG, "ObjectMeta"), 2: ("spec", MSG, "SubjectAccessReviewSpec")},
    "SubjectAccessReviewSpec": {1: ("resourceAttributes", MSG, "ResourceAttributes"),
                                2: ("nonResourceAttributes", MSG, "NonResourceAttributes"),
                                3: ("user", STR), 4: ("groups", RSTR), 6: ("uid", STR)},
    # authentication/v1
    "TokenRequest": {1: ("metadata", MSG, "ObjectMeta"), 2: ("spec", MSG, "TokenRequestSpec")},
    "TokenRequestSpec": {1: ("audiences", RSTR), 4: ("expirationSeconds", INT),
                         3: ("boundObjectRef", MSG, "BoundObjectReference")},
    "BoundObjectReference": {1: ("kind", STR), 2: ("apiVersion", STR), 3: ("name", STR), 4: ("uid", STR)},
    "TokenReview": {1: ("metadata", MSG, "ObjectMeta"), 2: ("spec", MSG, "TokenReviewSpec")},
    "TokenReviewSpec": {1: ("token", STR), 2: ("audiences", RSTR)},
    "ObjectMeta": {1: ("name", STR), 2: ("generateName", STR), 3: ("namespace", STR),
                   11: ("labels", MAP), 12: ("annotations", MAP), 14: ("finalizers", RSTR)},
    # core/v1, the kinds `kubectl create <kind>` sends
    "ConfigMap": {1: ("metadata", MSG, "ObjectMeta"), 2: ("data", MAP), 3: ("binaryData", BMAP),
                  4: ("immutable", BOOL)},
    "Secret": {1: ("metadata", MSG, "ObjectMeta"), 2: ("data", BMAP), 3: ("type", STR),
               4: ("stringData", MAP), 5: ("immutable", BOOL)},
    "Namespace": {1: ("metadata", MSG, "ObjectMeta")},
    "ServiceAccount": {1: ("metadata", MSG, "ObjectMeta"), 4: ("automountServiceAccountToken", BOOL)},
    # rbac/v1, what `kubectl create role|clusterrole|rolebinding|clusterrolebinding` sends
    "PolicyRule": {1: ("verbs", RSTR), 2: ("apiGroups", RSTR), 3: ("resources", RSTR),
                   4: ("resourceNames", RSTR), 5: ("nonResourceURLs", RSTR)},
    "Subject": {1: ("kind", STR), 2: ("apiGroup", STR), 3: ("name", STR), 4: ("namespace", STR)},
    "RoleRef": {1: ("apiGroup", STR), 2: ("kind", STR), 3: ("name", STR)},
    "Role": {1: ("metadata", MSG, "ObjectMeta"), 2: ("rules", RMSG, "PolicyRule")},
    "ClusterRole": {1: ("metadata", MSG, "ObjectMeta"), 2: ("rules", RMSG, "PolicyRule")},
    "RoleBinding": {1: ("metadata", MSG, "ObjectMeta"), 2: ("subjects", RMSG, "Subject"), 3: ("roleRef", MSG, "RoleRef")},
    "ClusterRoleBinding": {1: ("metadata", MSG, "ObjectMeta"), 2: ("subjects", RMSG, "Subject"),
                           3: ("roleRef", MSG, "RoleRef")},
}


def _varint(b, i):
    shift = 0
    v = 0
    while True:
        if i >= len(b):
            raise ValueError("truncated varint")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        if not c & 0x80:
            return v, i
        shift += 7
        if shift > 70:
            raise ValueError("varint too long")


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(b, i)
        elif wt == 2:
            n, i = _varint(b, i)
            if i + n > len(b):
                raise ValueError("truncated field")
            v = b[i:i + n]
            i += n
        elif wt == 1:
            v = b[i:i + 8]
            i += 8
        elif wt == 5:
            v = b[i:i + 4]
            i += 4
        else:
            raise ValueError(f"wire type {wt}")
        yield num, wt, v


def _decode(b, msg):
    spec = MESSAGES[msg]
    out = {}
    for num, wt, v in _fields(b):
        f = spec.get(num)
        if f is None:
            continue
        name, kind = f[0], f[1]
        if kind == STR and wt == 2:
            s = v.decode()
            if s:
                out[name] = s
        elif kind == RSTR and wt == 2:
            out.setdefault(name, []).append(v.decode())
        elif kind == INT and wt == 0:
            out[name] = v
        elif kind == BOOL and wt == 0:
            out[name] = bool(v)
        elif kind in (MAP, BMAP) and wt == 2:
            e = dict((n, x) for n, _, x in _fields(v))
            val = e.get(2, b"")
            if kind == BMAP:
                import base64
                val = base64.b64encode(val).decode()
            else:
                val = val.decode()
            out.setdefault(name, {})[e.get(1, b"").decode()] = val
        elif kind == MSG and wt == 2:
            out[name] = _decode(v, f[2])
        elif kind == RMSG and wt == 2:
            out.setdefault(name, []).append(_decode(v, f[2]))
    return out


def decode(body):
    """protobuf envelope -> the object as JSON would carry it; ApiError 415/400 otherwise."""
    if not body.startswith(MAGIC):
        raise ApiError(400, "BadRequest", "protobuf body without the k8s magic prefix")
    try:
        env = dict((n, v) for n, _, v in _fields(body[4:]))
        tm = dict((n, v) for n, _, v in _fields(env.get(1, b"")))
        api_version = tm.get(1, b"").decode()
        kind = tm.get(2, b"").decode()
        if kind not in MESSAGES:
            raise ApiError(415, "UnsupportedMediaType",
                           "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml")
        obj = _decode(env.get(2, b""), kind)
    except ValueError as e:
        raise ApiError(400, "BadRequest", f"error decoding protobuf body: {e}")
    obj["apiVersion"] = api_version
    obj["kind"] = kind
    obj.setdefault("metadata", {})
    return obj
