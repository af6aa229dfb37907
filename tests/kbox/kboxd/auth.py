# SPDX-License-Identifier: MIT
"""kboxd.auth: who is calling (bearer tokens), may they (RBAC), and the audit log.

Authentication, as a kubeadm cluster does it:
- no Authorization header: system:anonymous in group system:unauthenticated
  (RBAC then lets it read /version, /healthz... and nothing else);
- the admin token (DIR/admin.token): user kbox-admin in system:masters,
  which the authorizer lets through, as a real cluster's admin certificate;
- service-account tokens that TokenRequest issued: JWTs (HS256 with a key in
  DIR; a real issuer signs RS256, clients treat both as opaque) with the
  claims of a bound token (sub system:serviceaccount:NS:NAME, aud, exp,
  kubernetes.io.serviceaccount.uid). They stop working when they expire or
  their service account (or bound pod) is gone or was re-created with
  another uid, as on a real cluster;
- tokens for arbitrary users/groups that the admin mints at /kbox/v1/tokens
  (so tests can act as a user a RoleBinding names);
- any other token: 401.

Authorization denies by default and is evaluated at each request from the
Role/ClusterRole/RoleBinding/ClusterRoleBinding objects in the store (no
cache to go stale): verbs, apiGroups, resources incl. "res/sub" and "*/sub",
resourceNames, nonResourceURLs with a trailing "*", and aggregated
ClusterRoles (aggregationRule, resolved at evaluation). Bootstrap roles (cluster-admin,
system:discovery, system:basic-user, system:public-info-viewer) are created
at first start as kube-apiserver's RBAC bootstrap does.

Audit: one JSON line per request in DIR/audit.log with ts (microseconds), user,
groups, verb, apiGroup, resource, subresource, namespace, name (or path),
decision, code, the rule that allowed it ("ClusterRoleBinding/x ClusterRole/y
rules[2]"), userAgent, sourceIP and auditID (the Audit-Id response header),
so tests can prove least privilege: which rules were used, what was denied.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time

from .selectors import match_selector_object

AUDIENCE = "https://kubernetes.default.svc.cluster.local"
ISSUER = "https://kubernetes.default.svc.cluster.local"


def _b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b"=").decode()


def _unb64(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


class User:
    def __init__(self, name, groups, uid="", extra=None, token_claims=None):
        self.name = name
        self.groups = groups
        self.uid = uid
        self.extra = extra or {}
        self.claims = token_claims

    def info(self):
        d = {"username": self.name, "groups": self.groups}
        if self.uid:
            d["uid"] = self.uid
        if self.extra:
            d["extra"] = self.extra
        return d


ANONYMOUS = User("system:anonymous", ["system:unauthenticated"])


class Authenticator:
    def __init__(self, dirpath, store):
        self.dir = dirpath
        self.store = store
        self.admin_token = open(os.path.join(dirpath, "admin.token")).read().strip()
        kp = os.path.join(dirpath, "state", "signing.key")
        if not os.path.exists(kp):
            with open(kp, "w") as f:
                f.write(secrets.token_hex(32))
            os.chmod(kp, 0o600)
        self.key = bytes.fromhex(open(kp).read().strip())
        self.static_path = os.path.join(dirpath, "state", "tokens.json")
        self.static = json.load(open(self.static_path)) if os.path.exists(self.static_path) else {}
        self.lock = threading.Lock()

    def mint_static(self, user, groups):
        tok = "kbox-" + secrets.token_hex(20)
        with self.lock:
            self.static[tok] = {"user": user, "groups": list(groups)}
            tmp = self.static_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(self.static, f)
            os.replace(tmp, self.static_path)
        return tok

    def issue(self, ns, sa, sa_uid, audiences, seconds, bound=None):
        now = int(time.time())
        claims = {"aud": audiences, "exp": now + seconds, "iat": now, "nbf": now, "iss": ISSUER,
                  "sub": f"system:serviceaccount:{ns}:{sa}", "jti": secrets.token_hex(8),
                  "kubernetes.io": {"namespace": ns, "serviceaccount": {"name": sa, "uid": sa_uid}}}
        if bound:
            claims["kubernetes.io"][bound["kind"].lower()] = {"name": bound["name"], "uid": bound.get("uid", "")}
        head = _b64(json.dumps({"alg": "HS256", "kid": "kbox", "typ": "JWT"}).encode())
        body = _b64(json.dumps(claims, separators=(",", ":")).encode())
        sig = _b64(hmac.new(self.key, f"{head}.{body}".encode(), hashlib.sha256).digest())
        return f"{head}.{body}.{sig}", claims["exp"]

    def verify_jwt(self, tok, audiences=None):
        """-> (User, audiences) or (None, error text)."""
        parts = tok.split(".")
        if len(parts) != 3:
            return None, "invalid bearer token"
        want = _b64(hmac.new(self.key, f"{parts[0]}.{parts[1]}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(want, parts[2]):
            return None, "invalid bearer token, square/go-jose: error in cryptographic primitive"
        try:
            c = json.loads(_unb64(parts[1]))
        except ValueError:
            return None, "invalid bearer token"
        if c.get("exp", 0) < time.time():
            return None, "invalid bearer token, service account token has expired"
        auds = c.get("aud") or []
        want_auds = audiences or [AUDIENCE]
        common = [a for a in auds if a in want_auds]
        if not common:
            return None, "invalid bearer token, token audiences " + json.dumps(auds) + \
                " is invalid for the target audiences " + json.dumps(want_auds)
        k = c.get("kubernetes.io", {})
        ns = k.get("namespace", "")
        sa = k.get("serviceaccount", {})
        obj = self.store.get(("", "serviceaccounts", ns, sa.get("name", "")))
        if obj is None or obj["metadata"]["uid"] != sa.get("uid"):
            return None, "invalid bearer token, service account " + f"{ns}/{sa.get('name')} has been deleted"
        extra = {}
        for kind, plural in (("pod", "pods"), ("secret", "secrets")):
            if kind in k:
                b = self.store.get(("", plural, ns, k[kind]["name"]))
                if b is None or (k[kind].get("uid") and b["metadata"]["uid"] != k[kind]["uid"]):
                    return None, f"invalid bearer token, {kind} {ns}/{k[kind]['name']} has been deleted"
                extra[f"authentication.kubernetes.io/{kind}-name"] = [k[kind]["name"]]
                extra[f"authentication.kubernetes.io/{kind}-uid"] = [k[kind].get("uid", "")]
        extra["authentication.kubernetes.io/credential-id"] = ["JTI=" + c.get("jti", "")]
        u = User(c["sub"], ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"],
                 sa.get("uid", ""), extra, c)
        return u, common

    def authenticate(self, header):
        """-> User, or None for 401."""
        if not header:
            return ANONYMOUS
        scheme, _, tok = header.strip().partition(" ")
        if scheme.lower() != "bearer":  # the scheme is case-insensitive (python3-kubernetes sends "bearer")
            return None
        tok = tok.strip()
        if hmac.compare_digest(tok, self.admin_token):
            return User("kbox-admin", ["system:masters", "system:authenticated"])
        st = self.static.get(tok)
        if st:
            return User(st["user"], list(st["groups"]) + ["system:authenticated"])
        u, _ = self.verify_jwt(tok)
        return u


class Attrs:
    """The request attributes RBAC decides on (authorizer.Attributes)."""

    def __init__(self, verb, group="", resource="", subresource="", namespace="", name="", path=None):
        self.verb = verb
        self.group = group
        self.resource = resource
        self.subresource = subresource
        self.namespace = namespace
        self.name = name
        self.path = path  # non-resource request when set

    @property
    def resource_request(self):
        return self.path is None


def _subject_matches(subj, user, binding_ns):
    kind = subj.get("kind")
    if kind == "User":
        return subj.get("name") == user.name
    if kind == "Group":
        return subj.get("name") in user.groups
    if kind == "ServiceAccount":
        ns = subj.get("namespace") or binding_ns
        return user.name == f"system:serviceaccount:{ns}:{subj.get('name')}"
    return False


def _has(lst, v):
    return "*" in (lst or []) or v in (lst or [])


def rule_matches(rule, a):
    if not _has(rule.get("verbs"), a.verb):
        return False
    if a.resource_request:
        if rule.get("nonResourceURLs") and not rule.get("resources"):
            return False
        if not _has(rule.get("apiGroups"), a.group):
            return False
        res = a.resource + ("/" + a.subresource if a.subresource else "")
        ok = False
        for r in rule.get("resources") or []:
            if r == "*" or r == res or (a.subresource and r == "*/" + a.subresource):
                ok = True
                break
        if not ok:
            return False
        names = rule.get("resourceNames")
        if names:
            return bool(a.name) and a.name in names
        return True
    for u in rule.get("nonResourceURLs") or []:
        if u == "*" or u == a.path or (u.endswith("*") and a.path.startswith(u[:-1])):
            return True
    return False


class Authorizer:
    def __init__(self, store):
        self.store = store

    def _cluster_role_rules(self, name):
        cr = self.store.get(("rbac.authorization.k8s.io", "clusterroles", "", name))
        if cr is None:
            return []
        rules = list(cr.get("rules") or [])
        agg = cr.get("aggregationRule")
        if agg:
            all_cr, _ = self.store.list("rbac.authorization.k8s.io", "clusterroles")
            for other in all_cr:
                if other["metadata"]["name"] == name:
                    continue
                for sel in agg.get("clusterRoleSelectors") or []:
                    if match_selector_object(sel, other["metadata"].get("labels")):
                        rules.extend(other.get("rules") or [])
                        break
        return rules

    def _role_rules(self, ref, ns):
        if ref.get("kind") == "ClusterRole":
            return self._cluster_role_rules(ref.get("name"))
        r = self.store.get(("rbac.authorization.k8s.io", "roles", ns, ref.get("name")))
        return list(r.get("rules") or []) if r else []

    def authorize(self, user, a):
        """-> (allowed, rule text or None)."""
        if "system:masters" in user.groups:
            return True, "Group system:masters"
        crbs, _ = self.store.list("rbac.authorization.k8s.io", "clusterrolebindings")
        for b in crbs:
            if not any(_subject_matches(s, user, "") for s in b.get("subjects") or []):
                continue
            ref = b.get("roleRef", {})
            for i, r in enumerate(self._cluster_role_rules(ref.get("name"))):
                if rule_matches(r, a):
                    return True, f"ClusterRoleBinding/{b['metadata']['name']} ClusterRole/{ref.get('name')} rules[{i}]"
        if a.resource_request and a.namespace:
            rbs, _ = self.store.list("rbac.authorization.k8s.io", "rolebindings", a.namespace)
            for b in rbs:
                if not any(_subject_matches(s, user, a.namespace) for s in b.get("subjects") or []):
                    continue
                ref = b.get("roleRef", {})
                for i, r in enumerate(self._role_rules(ref, a.namespace)):
                    if rule_matches(r, a):
                        return True, (f"RoleBinding/{a.namespace}/{b['metadata']['name']} "
                                      f"{ref.get('kind')}/{ref.get('name')} rules[{i}]")
        return False, None

    def reason(self, rule):
        if not rule:
            return ""
        if rule.startswith("Group "):
            return ""
        parts = rule.split()
        return f'RBAC: allowed by {parts[0].split("/")[0]} "{parts[0].split("/")[-1]}" of ' \
               f'{parts[1].split("/")[0]} "{parts[1].split("/")[1]}"'

    def rules_for(self, user, ns):
        """(resourceRules, nonResourceRules) as a SelfSubjectRulesReview reports them."""
        if "system:masters" in user.groups:
            return ([{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
                    [{"verbs": ["*"], "nonResourceURLs": ["*"]}])
        rules = []
        crbs, _ = self.store.list("rbac.authorization.k8s.io", "clusterrolebindings")
        for b in crbs:
            if any(_subject_matches(s, user, "") for s in b.get("subjects") or []):
                rules += self._cluster_role_rules(b.get("roleRef", {}).get("name"))
        if ns:
            rbs, _ = self.store.list("rbac.authorization.k8s.io", "rolebindings", ns)
            for b in rbs:
                if any(_subject_matches(s, user, ns) for s in b.get("subjects") or []):
                    rules += self._role_rules(b.get("roleRef", {}), ns)
        res = []
        nonres = []
        for r in rules:
            if r.get("nonResourceURLs"):
                nonres.append({"verbs": r.get("verbs", []), "nonResourceURLs": r["nonResourceURLs"]})
            else:
                d = {"verbs": r.get("verbs", []), "apiGroups": r.get("apiGroups", []),
                     "resources": r.get("resources", [])}
                if r.get("resourceNames"):
                    d["resourceNames"] = r["resourceNames"]
                res.append(d)
        return res, nonres


def forbidden_message(user, a, res_label):
    if not a.resource_request:
        return f'forbidden: User "{user.name}" cannot {a.verb} path "{a.path}"'
    res = a.resource + ("/" + a.subresource if a.subresource else "")
    where = f'in the namespace "{a.namespace}"' if a.namespace else "at the cluster scope"
    head = f'{res_label} "{a.name}" is forbidden' if a.name else f"{res_label} is forbidden"
    return f'{head}: User "{user.name}" cannot {a.verb} resource "{res}" in API group "{a.group}" {where}'


class Audit:
    def __init__(self, path):
        self.f = open(path, "a")
        self.lock = threading.Lock()

    def log(self, user, a, allowed, code, rule, extra=None):
        import datetime
        rec = {"ts": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
               "user": user.name, "groups": user.groups, "verb": a.verb}
        if a.resource_request:
            rec.update({"apiGroup": a.group, "resource": a.resource, "subresource": a.subresource,
                        "namespace": a.namespace, "name": a.name})
        else:
            rec["path"] = a.path
        rec.update({"decision": "allow" if allowed else "deny", "code": code, "rule": rule})
        if extra:
            rec.update(extra)
        line = json.dumps(rec, separators=(",", ":")) + "\n"
        with self.lock:
            self.f.write(line)
            self.f.flush()


def bootstrap_rbac():
    """The RBAC objects kube-apiserver creates at first start (the ones a client meets)."""
    lab = {"kubernetes.io/bootstrapping": "rbac-defaults"}
    ann = {"rbac.authorization.kubernetes.io/autoupdate": "true"}

    def cr(name, rules):
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                "metadata": {"name": name, "labels": dict(lab), "annotations": dict(ann)}, "rules": rules}

    def crb(name, role, subjects):
        return {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
                "metadata": {"name": name, "labels": dict(lab), "annotations": dict(ann)},
                "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
                "subjects": subjects}

    grp = "rbac.authorization.k8s.io"
    return [
        cr("cluster-admin", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]},
                             {"nonResourceURLs": ["*"], "verbs": ["*"]}]),
        cr("system:discovery", [{"nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz",
                                                     "/livez", "/openapi", "/openapi/*", "/readyz",
                                                     "/version", "/version/"], "verbs": ["get"]}]),
        cr("system:basic-user", [
            {"apiGroups": ["authorization.k8s.io"],
             "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"], "verbs": ["create"]},
            {"apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"], "verbs": ["create"]}]),
        cr("system:public-info-viewer", [{"nonResourceURLs": ["/healthz", "/livez", "/readyz", "/version",
                                                              "/version/"], "verbs": ["get"]}]),
        crb("cluster-admin", "cluster-admin", [{"apiGroup": grp, "kind": "Group", "name": "system:masters"}]),
        crb("system:discovery", "system:discovery",
            [{"apiGroup": grp, "kind": "Group", "name": "system:authenticated"}]),
        crb("system:basic-user", "system:basic-user",
            [{"apiGroup": grp, "kind": "Group", "name": "system:authenticated"}]),
        crb("system:public-info-viewer", "system:public-info-viewer",
            [{"apiGroup": grp, "kind": "Group", "name": "system:authenticated"},
             {"apiGroup": grp, "kind": "Group", "name": "system:unauthenticated"}]),
    ]
