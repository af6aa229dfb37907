# SPDX-License-Identifier: MIT
"""kboxd.selectors: label and field selectors, as lists and watches filter with them.

Label selectors take the string grammar of k8s.io/apimachinery/pkg/labels
(`a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`, comma = AND);
a parse error is a 400 as on a real server. Field selectors take `=`, `==`
and `!=` on the fields each resource declares (metadata.name and
metadata.namespace everywhere, the extra ones in its ResourceInfo row, a
CRD's selectableFields); any other field is a 400 "field label not
supported". The LabelSelector object (matchLabels/matchExpressions) is also
rendered as the selector string a Scale's status.selector carries.
"""
import re

from .util import bad_request

_KEY = r"[A-Za-z0-9]([-A-Za-z0-9_./]*[A-Za-z0-9])?"
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|[^\s!=(),]+)")


def _tokens(s):
    out = []
    pos = 0
    s = s.strip()
    while pos < len(s):
        m = _TOKEN.match(s, pos)
        if not m:
            raise bad_request(f"unable to parse requirement: found '{s[pos:]}'")
        tok = m.group(1)
        if tok.isspace() or not tok:
            break
        out.append(tok)
        pos = m.end()
        while pos < len(s) and s[pos].isspace():
            pos += 1
    return out


def parse_labels(s):
    """-> list of (key, op, values); op in = != in notin exists !exists."""
    if not s:
        return []
    toks = _tokens(s)
    reqs = []
    i = 0
    words = ("in", "notin")

    def err(msg):
        return bad_request(f"unable to parse requirement: {msg}")

    while i < len(toks):
        if toks[i] == "!":
            if i + 1 >= len(toks):
                raise err("missing key after '!'")
            reqs.append((toks[i + 1], "!exists", []))
            i += 2
        else:
            key = toks[i]
            if not re.fullmatch(_KEY, key):
                raise err(f"invalid label key \"{key}\"")
            i += 1
            if i >= len(toks) or toks[i] == ",":
                reqs.append((key, "exists", []))
            elif toks[i] in ("=", "=="):
                if i + 1 >= len(toks) or toks[i + 1] == ",":
                    reqs.append((key, "=", [""]))
                    i += 1
                else:
                    reqs.append((key, "=", [toks[i + 1]]))
                    i += 2
            elif toks[i] == "!=":
                if i + 1 >= len(toks) or toks[i + 1] == ",":
                    reqs.append((key, "!=", [""]))
                    i += 1
                else:
                    reqs.append((key, "!=", [toks[i + 1]]))
                    i += 2
            elif toks[i] in words:
                op = toks[i]
                i += 1
                if i >= len(toks) or toks[i] != "(":
                    raise err(f"expected '(' after '{op}'")
                i += 1
                vals = []
                while i < len(toks) and toks[i] != ")":
                    if toks[i] != ",":
                        vals.append(toks[i])
                    i += 1
                if i >= len(toks):
                    raise err("expected ')'")
                i += 1
                reqs.append((key, op, vals))
            else:
                raise err(f"found '{toks[i]}', expected: '=', '!=', '==', 'in', notin'")
        if i < len(toks):
            if toks[i] != ",":
                raise err(f"found '{toks[i]}', expected: ',' or 'end of string'")
            i += 1
    return reqs


def match_reqs(reqs, labels):
    labels = labels or {}
    for key, op, vals in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "=" and not (has and v == vals[0]):
            return False
        if op == "!=" and has and v == vals[0]:
            return False
        if op == "in" and not (has and v in vals):
            return False
        if op == "notin" and has and v in vals:
            return False
        if op == "exists" and not has:
            return False
        if op == "!exists" and has:
            return False
    return True


def selector_object_to_string(sel):
    """metav1.LabelSelector -> the string form (what Scale.status.selector carries)."""
    if sel is None:
        return ""
    parts = []
    for k in sorted((sel.get("matchLabels") or {})):
        parts.append(f"{k}={sel['matchLabels'][k]}")
    for e in sel.get("matchExpressions") or []:
        op = e.get("operator")
        k = e.get("key")
        vals = ",".join(sorted(e.get("values") or []))
        if op == "In":
            parts.append(f"{k} in ({vals})")
        elif op == "NotIn":
            parts.append(f"{k} notin ({vals})")
        elif op == "Exists":
            parts.append(k)
        elif op == "DoesNotExist":
            parts.append(f"!{k}")
    return ",".join(sorted(parts))


def match_selector_object(sel, labels):
    if sel is None:
        return False
    return match_reqs(parse_labels(selector_object_to_string(sel)), labels)


def parse_fields(s, res):
    """-> list of (path, op, value); 400 for a field the resource does not support."""
    if not s:
        return []
    allowed = {"metadata.name", "metadata.namespace"} | set(res.extra_fields)
    out = []
    for part in s.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"([^=!]+)(==|!=|=)(.*)", part)
        if not m:
            raise bad_request(f"invalid selector: '{s}'; can't understand '{part}'")
        path, op, val = m.group(1).strip(), m.group(2), m.group(3).strip()
        if path not in allowed:
            raise bad_request(f'field label not supported: {path}')
        out.append((path, "!=" if op == "!=" else "=", val))
    return out


def field_value(obj, path):
    cur = obj
    for p in path.split("."):
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(p)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    if isinstance(cur, dict) and path.endswith("source"):
        return cur.get("component", "")
    return str(cur)


def match_fields(reqs, obj):
    for path, op, val in reqs:
        v = field_value(obj, path)
        if (v == val) != (op == "="):
            return False
    return True


class Filter:
    """The label + field selector of one list or watch request."""

    def __init__(self, res, label_sel="", field_sel=""):
        self.labels = parse_labels(label_sel)
        self.fields = parse_fields(field_sel, res)

    def __call__(self, obj):
        if obj is None:
            return False
        return match_reqs(self.labels, obj.get("metadata", {}).get("labels")) and \
            match_fields(self.fields, obj)

    @property
    def empty(self):
        return not self.labels and not self.fields
