# SPDX-License-Identifier: MIT
"""rbacproof: least privilege of ferry's manifests, proven from the box's audit log.

The box records, for every request it allows, the rule that allowed it
("RoleBinding/ferry-system/ferry-controller Role/ferry-controller rules[1]").
Scenarios (named functions that run ferry's processes under their service
accounts and check what they must do) run against manifests applied as
shipped; then:

1. used: every rule of every Role and ClusterRole of k8s/deploy must have
   allowed each of its verbs on each of its resources (and names) at least
   once. A rule no scenario needed is more than what runs;
2. needed: for each rule, the manifests minus that rule (and, for rules of
   several verbs, minus each verb) are put in place, and the first scenario
   that used the rule runs again: it must fail, and the audit log of that
   run must hold a 403 for the verb and resource taken away.

Nothing here knows which rule serves what: the audit log of the full run
says which scenario used which rule. A capability that arrives adds its
rules to the manifests and its scenarios to the list the test runs.
"""
import copy

RBAC = "rbac.authorization.k8s.io"


class Rule:
    def __init__(self, doc, index):
        r = doc["rules"][index]
        self.doc = doc
        self.kind = doc["kind"]  # Role or ClusterRole
        self.role = doc["metadata"]["name"]
        self.ns = doc["metadata"].get("namespace", "")
        self.index = index
        self.groups = r.get("apiGroups") or []
        self.resources = r.get("resources") or []
        self.names = r.get("resourceNames") or []
        self.verbs = r.get("verbs") or []
        self.nonresource = r.get("nonResourceURLs") or []

    def __str__(self):
        where = f"{self.kind}/{self.ns + '/' if self.ns else ''}{self.role} rules[{self.index}]"
        names = f" {self.names}" if self.names else ""
        return f"{where} ({','.join(self.verbs)} {','.join(self.resources or self.nonresource)}{names})"

    def allowed(self, e):
        """Whether audit entry @e was allowed by this rule."""
        if e.get("decision") != "allow" or not e.get("rule"):
            return False
        parts = e["rule"].split(" ")
        if len(parts) != 3 or parts[1] != f"{self.kind}/{self.role}" or parts[2] != f"rules[{self.index}]":
            return False
        binding = parts[0].split("/")
        if self.kind == "Role":  # RoleBinding/NS/NAME: the Role lives in the binding's namespace
            return binding[0] == "RoleBinding" and len(binding) == 3 and binding[1] == self.ns
        return True

    def needs(self, verbs=None):
        """(verb, resource, name) each of which some request must have used."""
        out = []
        for v in verbs or self.verbs:
            for r in self.resources or self.nonresource:
                for n in (self.names if v not in ("create", "list", "watch", "deletecollection") else []) or [None]:
                    out.append((v, r, n))
        return out

    def denied(self, e, verbs=None):
        """Whether @e is a 403 of a request this rule (or its @verbs) would have allowed."""
        if e.get("code") != 403 or e.get("verb") not in (verbs or self.verbs):
            return False
        res = e.get("resource", "") + ("/" + e["subresource"] if e.get("subresource") else "")
        if self.resources:
            if e.get("apiGroup", "") not in self.groups or res not in self.resources:
                return False
            if self.kind == "Role" and e.get("namespace") != self.ns:
                return False
            return not self.names or e.get("name") in self.names or e.get("verb") == "create"
        return e.get("path") in self.nonresource


def _resource_of(e):
    return e.get("resource", "") + ("/" + e["subresource"] if e.get("subresource") else "")


def covered(rule, need, entries):
    v, r, n = need
    for e in entries:
        if not rule.allowed(e) or e.get("verb") != v:
            continue
        if rule.resources and _resource_of(e) != r:
            continue
        if rule.nonresource and e.get("path") != r:
            continue
        if n is not None and e.get("name") != n:
            continue
        return True
    return False


def rules_of(docs, accounts=None):
    """Every rule of the Roles and ClusterRoles among @docs; with @accounts, only of
    the roles that @docs bind to one of those service accounts."""
    bound = None
    if accounts is not None:
        bound = {(b["roleRef"]["kind"], b["roleRef"]["name"]) for b in docs
                 if b.get("kind") in ("RoleBinding", "ClusterRoleBinding") and
                 any(s.get("kind") == "ServiceAccount" and s.get("name") in accounts
                     for s in b.get("subjects") or [])}
    out = []
    for d in docs:
        if d.get("apiVersion", "").startswith(RBAC) and d.get("kind") in ("Role", "ClusterRole"):
            if bound is not None and (d["kind"], d["metadata"]["name"]) not in bound:
                continue
            for i in range(len(d.get("rules") or [])):
                out.append(Rule(d, i))
    return out


def variants(rule):
    """(label, verbs taken away, the role's document without them)."""
    out = []
    doc = copy.deepcopy(rule.doc)
    del doc["rules"][rule.index]
    out.append((f"without {rule}", list(rule.verbs), doc))
    if len(rule.verbs) > 1:
        for v in rule.verbs:
            doc = copy.deepcopy(rule.doc)
            doc["rules"][rule.index]["verbs"] = [x for x in rule.verbs if x != v]
            out.append((f"without verb {v} of {rule}", [v], doc))
    return out


def role_path(doc):
    name = doc["metadata"]["name"]
    if doc["kind"] == "Role":
        return f"/apis/{RBAC}/v1/namespaces/{doc['metadata']['namespace']}/roles/{name}"
    return f"/apis/{RBAC}/v1/clusterroles/{name}"


def put_role(admin, doc):
    """Replace the Role or ClusterRole as @doc says (the box evaluates RBAC at each request)."""
    path = role_path(doc)
    code, _, cur = admin.get(path)
    if code != 200:
        raise RuntimeError(f"GET {path}: {code} {cur}")
    new = copy.deepcopy(doc)
    new["metadata"] = dict(cur["metadata"])
    new["rules"] = doc.get("rules") or []
    code, _, body = admin.put(path, new)
    if code != 200:
        raise RuntimeError(f"PUT {path}: {code} {body}")
