# SPDX-License-Identifier: MIT
"""kboxd.util: the error type every layer raises, and the Status bodies it becomes.

kube-apiserver answers every failure with a meta/v1 Status whose `reason` and
`code` clients act on (CONTROLPLANE.md §6.4). Each constructor below builds one
reason with the message shape the real server uses, so the box's errors read
like a cluster's and a client's error table meets the same (code, reason)
pairs. Times are RFC 3339 in UTC, whole seconds (Time) or microseconds
(MicroTime), as meta/v1 serialises them.
"""
import copy
import datetime
import json


def now_time():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def now_micro():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(s):
    """RFC 3339 (Time or MicroTime) -> aware datetime, None when absent or bad."""
    if not s or not isinstance(s, str):
        return None
    try:
        return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        return None


def deepcopy(o):
    return copy.deepcopy(o)


def dumps(o):
    return json.dumps(o, separators=(",", ":"))


class ApiError(Exception):
    """A failure that becomes one Status answer (and, for watches, an ERROR event)."""

    def __init__(self, code, reason, message, details=None, headers=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self):
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
              "message": self.message, "reason": self.reason, "code": self.code}
        if self.details:
            st["details"] = self.details
        if not self.reason:
            del st["reason"]
        return st


def qualified(res):
    """'pods' for the core group, 'deployments.apps' otherwise (how messages name a resource)."""
    return res.plural + ("." + res.group if res.group else "")


def _details(res, name, **kw):
    d = {}
    if name:
        d["name"] = name
    if res is not None:
        if res.group:
            d["group"] = res.group
        d["kind"] = res.plural
    d.update(kw)
    return d


def not_found(res, name):
    return ApiError(404, "NotFound", f'{qualified(res)} "{name}" not found', _details(res, name))


def namespace_not_found(ns):
    return ApiError(404, "NotFound", f'namespaces "{ns}" not found', {"name": ns, "kind": "namespaces"})


def already_exists(res, name):
    return ApiError(409, "AlreadyExists", f'{qualified(res)} "{name}" already exists', _details(res, name))


def conflict(res, name, why="the object has been modified; please apply your changes to the "
             "latest version and try again"):
    return ApiError(409, "Conflict", f'Operation cannot be fulfilled on {qualified(res)} "{name}": {why}',
                    _details(res, name))


def bad_request(msg):
    return ApiError(400, "BadRequest", msg)


def method_not_allowed():
    return ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")


def unsupported_media(accepted):
    return ApiError(415, "UnsupportedMediaType", "the body of the request was in an unknown format - "
                    "accepted media types include: " + ", ".join(accepted))


def expired(msg):
    return ApiError(410, "Expired", msg)


def gone_too_old(rv, oldest):
    return ApiError(410, "Expired", f"too old resource version: {rv} ({oldest})")


def unauthorized():
    return ApiError(401, "Unauthorized", "Unauthorized")


def too_many_requests(retry_after):
    return ApiError(429, "TooManyRequests", "Too many requests, please try again later.",
                    {"retryAfterSeconds": int(retry_after)}, {"Retry-After": str(int(retry_after))})


def internal(msg):
    return ApiError(500, "InternalError", f"Internal error occurred: {msg}",
                    {"causes": [{"message": msg}]})


def unavailable(msg="the server is currently unable to handle the request"):
    return ApiError(503, "ServiceUnavailable", msg)


class FieldError:
    """One cause of a 422: field path, reason (FieldValueRequired...), and its message."""

    TEXT = {"FieldValueRequired": "Required value", "FieldValueInvalid": "Invalid value",
            "FieldValueNotSupported": "Unsupported value", "FieldValueForbidden": "Forbidden",
            "FieldValueDuplicate": "Duplicate value", "FieldValueTypeInvalid": "Invalid value",
            "FieldValueTooLong": "Too long", "FieldValueTooMany": "Too many"}

    def __init__(self, reason, field, detail=""):
        self.reason = reason
        self.field = field
        self.detail = detail

    def text(self):
        if self.reason == "FieldValueRequired":
            return "Required value" + (f": {self.detail}" if self.detail else "")
        if self.reason == "FieldValueForbidden":
            return "Forbidden: " + self.detail if self.detail else "Forbidden"
        return self.detail if self.detail else self.TEXT.get(self.reason, "Invalid value")


def invalid(res, kind, name, errors):
    """422 Invalid: '<Kind>[.group] "<name>" is invalid: <field>: <text>[, ...]'."""
    parts = [f"{e.field}: {e.text()}" for e in errors]
    gk = kind + ("." + res.group if res is not None and res.group else "")
    msg = f'{gk} "{name}" is invalid: ' + (parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]")
    det = {"name": name, "kind": kind,
           "causes": [{"reason": e.reason, "message": e.text(), "field": e.field} for e in errors]}
    if res is not None and res.group:
        det["group"] = res.group
    return ApiError(422, "Invalid", msg, det)


def forbidden(msg, res=None, name=None):
    return ApiError(403, "Forbidden", msg, _details(res, name) if res is not None else None)


def success_status(res, name, uid):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": _details(res, name, uid=uid)}


def truthy(v):
    """A boolean query parameter as Go's strconv.ParseBool reads it."""
    return v in ("1", "t", "T", "true", "TRUE", "True")
