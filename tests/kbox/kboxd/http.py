# SPDX-License-Identifier: MIT
"""kboxd.http: the HTTPS front of the box: routing, authentication, RBAC, audit,
fault hooks, content negotiation, and watch streams.

HTTP/1.1 with keep-alive over TLS (the box's own CA); one thread per
connection, so a watch holds a thread, as it holds a goroutine upstream.
(HTTP/2 is nghttpx in front of this port, started by cli.py.)

Watches (CONTROLPLANE.md §6.1) are newline-delimited JSON events in one
chunked response: ADDED/MODIFIED/DELETED, BOOKMARK (allowWatchBookmarks,
every --bookmark-seconds, carrying only the RV up to which all events were
sent), ERROR with a Status (410 Expired when the RV is older than history:
HTTP 200 then the ERROR event, as the watch cache answers). Without an RV (or
RV "0") the watch starts with the current objects as ADDED; with
sendInitialEvents=true it ends them with a BOOKMARK annotated
k8s.io/initial-events-end. An object that stops matching the selectors is
sent as DELETED, one that starts matching as ADDED. The server ends a watch at
timeoutSeconds, or at --watch-max-seconds (a real apiserver closes after
1800-3600 s); a cutWatch fault ends it without the closing chunk.
"""
import http.server
import json
import random
import select
import socket
import ssl
import threading
import time
import urllib.parse
import uuid

from . import discovery, selectors, tables
from .api import Request
from .auth import Attrs, forbidden_message
from .faults import error_for
from .util import ApiError, dumps, method_not_allowed, qualified, truthy

TABLE_HINT = "as=Table"


def _not_found():
    return ApiError(404, "NotFound", "the server could not find the requested resource", {})


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def version_string(self):
        return "kbox"

    def log_message(self, fmt, *args):
        if self.server.box.opts.verbose:
            super().log_message(fmt, *args)

    def do_GET(self):
        self.dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_GET

    # ---- plumbing
    def _body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            out = b""
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline().strip():
                        pass
                    return out
                out += self.rfile.read(n)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def send_json(self, code, obj, extra=None, ct="application/json"):
        body = (dumps(obj) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", ct)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        for k, v in (extra or {}).items():
            if isinstance(v, list):
                for x in v:
                    self.send_header(k, x)
            else:
                self.send_header(k, v)
        # head and body in one write: two small writes meet Nagle and delayed ACKs (40 ms)
        self._headers_buffer.append(b"\r\n")
        if self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()
        self.code = code

    def send_error_status(self, e):
        self.send_json(e.code, e.status(), e.headers)

    # ---- dispatch
    def dispatch(self):
        box = self.server.box
        self.audit_id = str(uuid.uuid4())
        self.code = 0
        u = urllib.parse.urlsplit(self.path)
        path = u.path
        query = urllib.parse.parse_qs(u.query, keep_blank_values=True)
        try:
            body = self._body()
        except (ValueError, OSError):
            self.send_error_status(ApiError(400, "BadRequest", "malformed request body"))
            return
        user = box.authn.authenticate(self.headers.get("Authorization"))
        attrs = None
        rule = None
        try:
            if user is None:
                box.audit.log(_Anon(), Attrs(self.command.lower(), path=path), False, 401, None)
                raise ApiError(401, "Unauthorized", "Unauthorized")
            user = self.impersonate(user)
            if not path.startswith("/kbox/") and box.faults.down(user.name):
                self._vanish()
                return
            if path.startswith("/kbox/"):
                attrs = Attrs(self.command.lower(), path=path)
                if "system:masters" not in user.groups:
                    raise ApiError(403, "Forbidden", f'forbidden: User "{user.name}" cannot use the box\'s hooks')
                rule = "Group system:masters"
                self.kbox_admin(path, body)
                return
            route = self.route(path, query)
            if route[0] != "api":
                attrs = Attrs("get" if self.command in ("GET", "HEAD") else self.command.lower(), path=path)
                ok, rule = box.authz.authorize(user, attrs)
                if not ok:
                    raise ApiError(403, "Forbidden", forbidden_message(user, attrs, ""), {})
                if self.command not in ("GET", "HEAD"):
                    raise method_not_allowed()
                self.nonresource(route, query)
                return
            _, res, version, ns, name, sub = route
            verb = self.verb_of(res, name, sub, query)
            attrs = Attrs(verb, res.group, res.plural, sub, ns or "", name or "")
            ok, rule = box.authz.authorize(user, attrs)
            if not ok:
                label = qualified(res)
                raise ApiError(403, "Forbidden", forbidden_message(user, attrs, label),
                               {**({"name": name} if name else {}), **({"group": res.group} if res.group else {}),
                                "kind": res.plural})
            f = box.faults.take(verb, path)
            if f is not None:
                if f.action == "delay":
                    time.sleep(f.seconds)
                else:
                    raise error_for(f)
            req = Request(self.command, res, version, ns, name, sub, query, self.headers, body, user)
            self.api_call(verb, req, path)
        except ApiError as e:
            if not self.code:
                self.send_error_status(e)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # a bug in the box: 500 with the text, and the trace in the log
            import traceback
            traceback.print_exc()
            if not self.code:
                self.send_error_status(ApiError(500, "InternalError", f"Internal error occurred: {e}"))
        finally:
            if attrs is not None and user is not None:
                box.audit.log(user, attrs, bool(rule), self.code or 0, rule,
                              {"userAgent": self.headers.get("User-Agent", ""),
                               "sourceIP": self.client_address[0], "auditID": self.audit_id})

    def impersonate(self, user):
        """Impersonate-User/-Group headers: allowed by the `impersonate` verb, as upstream."""
        box = self.server.box
        name = self.headers.get("Impersonate-User")
        groups = self.headers.get_all("Impersonate-Group") or []
        if not name:
            if groups:
                raise ApiError(500, "InternalError", "Internal error occurred: requested [Impersonate-Group] without impersonating a user")
            return user
        from .auth import User
        checks = []
        if name.startswith("system:serviceaccount:") and name.count(":") == 3:
            _, _, ns, sa = name.split(":")
            checks.append(Attrs("impersonate", "", "serviceaccounts", ns, sa))
            base = ["system:serviceaccounts", f"system:serviceaccounts:{ns}"]
        else:
            checks.append(Attrs("impersonate", "", "users", "", name))
            base = []
        for g in groups:
            checks.append(Attrs("impersonate", "", "groups", "", g))
        for a in checks:
            ok, rule = box.authz.authorize(user, a)
            box.audit.log(user, a, ok, 0 if ok else 403, rule)
            if not ok:
                raise ApiError(403, "Forbidden", forbidden_message(user, a, a.resource), {"name": a.name, "kind": a.resource})
        all_groups = list(groups) + [g for g in base if g not in groups]
        if name != "system:anonymous" and "system:authenticated" not in all_groups:
            all_groups.append("system:authenticated")
        return User(name, all_groups)

    def route(self, path, query):
        box = self.server.box
        if path in ("/healthz", "/livez", "/readyz", "/version", "/version/"):
            return ("plain", path)
        parts = [p for p in path.split("/") if p]
        if not parts:
            return ("root",)
        if parts[0] == "openapi":
            return ("openapi", parts[1:])
        if parts[0] == "api":
            if len(parts) == 1:
                return ("disc-core",)
            g, v, rest = "", parts[1], parts[2:]
        elif parts[0] == "apis":
            if len(parts) == 1:
                return ("disc-groups",)
            if len(parts) == 2:
                return ("disc-group", parts[1])
            g, v, rest = parts[1], parts[2], parts[3:]
        else:
            raise _not_found()
        if not rest:
            return ("disc-gv", g, v)
        ns = None
        if rest[0] == "namespaces" and len(rest) >= 3 and rest[2] not in ("status", "finalize"):
            ns = rest[1]
            rest = rest[2:]
        if len(rest) > 3:
            raise _not_found()
        res = box.reg.lookup(g, v, rest[0])
        if res is None:
            raise _not_found()
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else ""
        if res.plural == "namespaces" and ns is None and name:
            pass
        elif res.namespaced and ns is None and name:
            raise _not_found()
        if not res.namespaced and ns is not None:
            raise _not_found()
        if sub and sub not in res.subresources:
            raise _not_found()
        return ("api", res, v, ns, name, sub)

    def verb_of(self, res, name, sub, query):
        m = self.command
        watch = truthy(query.get("watch", [""])[0])
        if m in ("GET", "HEAD"):
            verb = "watch" if watch and not sub else ("get" if name else "list")
        elif m == "POST":
            verb = "create"
            if name and not sub:
                raise method_not_allowed()
        elif m == "PUT":
            verb = "update"
            if not name:
                raise method_not_allowed()
        elif m == "PATCH":
            verb = "patch"
            if not name:
                raise method_not_allowed()
        elif m == "DELETE":
            verb = "delete" if name else "deletecollection"
        else:
            raise method_not_allowed()
        if sub:
            return verb
        if verb not in res.verbs:
            raise method_not_allowed()
        return verb

    # ---- non-resource endpoints
    def nonresource(self, route, query):
        box = self.server.box
        kind = route[0]
        accept = self.headers.get("Accept", "")
        if kind == "plain":
            if route[1].startswith("/version"):
                self.send_json(200, discovery.VERSION)
            else:
                body = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.code = 200
            return
        if kind == "root":
            self.send_json(200, {"paths": ["/api", "/api/v1", "/apis", "/healthz", "/livez", "/openapi/v3",
                                           "/readyz", "/version"] +
                                 [f"/apis/{g}/{v}" for g, vs in box.reg.groups().items() if g for v in vs]})
            return
        if kind == "disc-core":
            ct = discovery.wants_aggregated(accept)
            if ct:
                self.send_json(200, discovery.aggregated(box.reg, True, ct), ct=ct)
            else:
                self.send_json(200, discovery.api_versions())
            return
        if kind == "disc-groups":
            ct = discovery.wants_aggregated(accept)
            if ct:
                self.send_json(200, discovery.aggregated(box.reg, False, ct), ct=ct)
            else:
                self.send_json(200, discovery.group_list(box.reg))
            return
        if kind == "disc-group":
            g = discovery.api_group(box.reg, route[1])
            if g is None:
                raise _not_found()
            self.send_json(200, g)
            return
        if kind == "disc-gv":
            rl = discovery.resource_list(box.reg, route[1], route[2])
            if rl is None:
                raise _not_found()
            self.send_json(200, rl)
            return
        if kind == "openapi":
            rest = route[1]
            if rest == ["v3"]:
                self.send_json(200, discovery.openapi_root(box.reg))
                return
            if len(rest) >= 3 and rest[0] == "v3":
                gvp = rest[1:]
                if gvp[0] == "api" and len(gvp) == 2:
                    doc = discovery.openapi_gv(box.reg, "", gvp[1])
                elif gvp[0] == "apis" and len(gvp) == 3:
                    doc = discovery.openapi_gv(box.reg, gvp[1], gvp[2])
                else:
                    doc = None
                if doc is not None:
                    self.send_json(200, doc, {"Cache-Control": "public, immutable"} if query.get("hash") else None)
                    return
            raise _not_found()
        raise _not_found()

    # ---- box admin endpoints
    def kbox_admin(self, path, body):
        box = self.server.box
        m = self.command
        if path == "/kbox/v1/faults":
            if m == "POST":
                try:
                    d = json.loads(body or b"{}")
                except ValueError:
                    raise ApiError(400, "BadRequest", "fault body is not JSON")
                box.faults.add(d)
                self.send_json(201, {"faults": box.faults.list()})
            elif m == "DELETE":
                box.faults.clear()
                self.send_json(200, {"faults": []})
            elif m == "GET":
                self.send_json(200, {"faults": box.faults.list()})
            else:
                raise method_not_allowed()
        elif path == "/kbox/v1/compact" and m == "POST":
            box.store.compact()
            self.send_json(200, {"compactedResourceVersion": str(box.store.compacted)})
        elif path == "/kbox/v1/tokens" and m == "POST":
            try:
                d = json.loads(body or b"{}")
                user = d["user"]
            except (ValueError, KeyError):
                raise ApiError(400, "BadRequest", 'token body: {"user": NAME, "groups": [...]}')
            tok = box.authn.mint_static(user, d.get("groups") or [])
            self.send_json(201, {"token": tok, "user": user})
        else:
            raise _not_found()

    # ---- API calls
    def wants_table(self):
        return TABLE_HINT in (self.headers.get("Accept") or "").replace(" ", "")

    def check_accept(self):
        acc = self.headers.get("Accept") or ""
        if acc and "json" not in acc and "*/*" not in acc and "yaml" not in acc:
            raise ApiError(406, "NotAcceptable", "only the following media types are accepted: application/json, application/yaml")

    def api_call(self, verb, req, path):
        box = self.server.box
        api = box.api
        res = req.res
        self.check_accept()
        extra = {}

        def warn():
            if req.warnings:
                extra["Warning"] = [f'299 - "{w}"'.replace('"unknown', '"unknown') for w in
                                    [w.replace('"', '\\"') for w in req.warnings]]
        if verb == "watch":
            return self.watch(req, path)
        if verb == "get" and req.sub == "log":
            return self.pod_log(req)
        if verb == "get":
            obj = api.get(req)
            if self.wants_table() and not req.sub:
                obj = tables.table(res, req.version, [obj], {"resourceVersion": obj["metadata"]["resourceVersion"]})
            self.send_json(200, obj)
        elif verb == "list":
            lst = api.list(req)
            if self.wants_table():
                items = lst["items"]
                lst = tables.table(res, req.version, items, lst["metadata"],
                                   req.q("includeObject", "Metadata") != "None")
            self.send_json(200, lst)
        elif verb == "create":
            code, obj = api.create(req)
            warn()
            self.send_json(code, obj, extra)
        elif verb == "update":
            code, obj = api.update(req)
            warn()
            self.send_json(code, obj, extra)
        elif verb == "patch":
            code, obj = api.patch(req)
            warn()
            self.send_json(code, obj, extra)
        elif verb == "delete":
            code, obj = api.delete(req)
            self.send_json(code, obj)
        elif verb == "deletecollection":
            self.send_json(200, api.deletecollection(req))
        else:
            raise method_not_allowed()

    def pod_log(self, req):
        """GET pods/NAME/log: the kubelet's log file of the container's current (or previous)
        run, read from DIR/nodes/<node>/log/pods/... (a real apiserver asks the kubelet)."""
        import os
        box = self.server.box
        pod = box.store.get(("", "pods", req.ns, req.name))
        if pod is None:
            raise ApiError(404, "NotFound", f'pods "{req.name}" not found', {"name": req.name, "kind": "pods"})
        spec = pod.get("spec") or {}
        names = [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])]
        cname = req.q("container")
        if not cname:
            if len(spec.get("containers") or []) != 1:
                raise ApiError(400, "BadRequest", f"a container name must be specified for pod {req.name}, "
                                                  f"choose one of: [{' '.join(names)}]")
            cname = spec["containers"][0]["name"]
        if cname not in names:
            raise ApiError(400, "BadRequest", f"container {cname} is not valid for pod {req.name}")
        st = pod.get("status") or {}
        cs = next((c for c in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
                   if c.get("name") == cname), None)
        previous = truthy(req.q("previous"))
        node = spec.get("nodeName")
        if not node or cs is None or (not cs.get("containerID") and not cs.get("lastState")):
            why = ((cs or {}).get("state") or {}).get("waiting", {}).get("reason", "ContainerCreating")
            raise ApiError(400, "BadRequest", f'container "{cname}" in pod "{req.name}" is waiting to start: {why}')
        n = cs.get("restartCount", 0) - (1 if previous else 0)
        if previous and not cs.get("lastState"):
            raise ApiError(400, "BadRequest", f'previous terminated container "{cname}" in pod "{req.name}" not found')
        p = os.path.join(box.dir, "nodes", node, "log", "pods", f"{req.ns}_{req.name}_{pod['metadata']['uid']}",
                         cname, f"{n}.log")
        try:
            with open(p, "rb") as f:
                data = f.read()
        except OSError:
            data = b""
        tail = req.q("tailLines")
        if tail is not None and tail.isdigit():
            lines = data.splitlines(keepends=True)
            data = b"".join(lines[-int(tail):]) if int(tail) else b""
        lim = req.q("limitBytes")
        if lim and lim.isdigit():
            data = data[:int(lim)]
        if not truthy(req.q("follow")) or previous:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Audit-Id", self.audit_id)
            self.end_headers()
            self.wfile.write(data)
            self.code = 200
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Audit-Id", self.audit_id)
        self.end_headers()
        self.code = 200
        try:
            if data:
                self._chunk(data)
            pos = os.path.getsize(p) if os.path.exists(p) else 0
            while not self._peer_closed():
                cur = box.store.get(("", "pods", req.ns, req.name))
                if cur is None or cur["metadata"]["uid"] != pod["metadata"]["uid"]:
                    break
                c2 = next((c for c in (cur.get("status") or {}).get("containerStatuses") or []
                           if c.get("name") == cname), {})
                try:
                    size = os.path.getsize(p)
                except OSError:
                    size = pos
                if size > pos:
                    with open(p, "rb") as f:
                        f.seek(pos)
                        self._chunk(f.read(size - pos))
                    pos = size
                elif c2.get("restartCount", 0) != n or "running" not in (c2.get("state") or {}):
                    break
                time.sleep(0.2)
            self._chunk(b"")
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True

    def _chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def watch(self, req, path):
        box = self.server.box
        api = box.api
        store = box.store
        res = req.res
        flt = selectors.Filter(res, req.q("labelSelector", ""), req.q("fieldSelector", ""))
        if req.name:
            flt.fields.append(("metadata.name", "=", req.name))
        rv = req.q("resourceVersion")
        bookmarks = truthy(req.q("allowWatchBookmarks"))
        initial = req.q("sendInitialEvents")
        match = req.q("resourceVersionMatch")
        if truthy(initial):
            errs = []
            from .util import FieldError, invalid
            if match != "NotOlderThan":
                errs.append(FieldError("FieldValueForbidden", "resourceVersionMatch",
                                       "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"))
            if not bookmarks:
                errs.append(FieldError("FieldValueForbidden", "allowWatchBookmarks",
                                       "sendInitialEvents requires setting allowWatchBookmarks to true"))
            if errs:
                raise invalid(None, "ListOptions", "", errs)
        elif match:
            from .util import FieldError, invalid
            raise invalid(None, "ListOptions", "", [FieldError(
                "FieldValueForbidden", "resourceVersionMatch",
                "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided")])
        try:
            timeout = float(req.q("timeoutSeconds")) if req.q("timeoutSeconds") else None
        except ValueError:
            raise ApiError(400, "BadRequest", "invalid timeoutSeconds")
        maxs = box.opts.watch_max_seconds
        limit = timeout if timeout is not None else random.uniform(maxs, 2 * maxs)
        deadline = time.time() + limit
        ns = req.ns if res.namespaced and req.ns else None
        send_initial = truthy(initial) or (initial is None and (not rv or rv == "0"))
        err = None
        initial_objs = []
        w = None
        since = None
        if not send_initial:
            try:
                since = int(rv)
            except ValueError:
                raise ApiError(400, "BadRequest", f'invalid resource version "{rv}"')
            if since > store.rv:
                try:  # a future RV: wait a little for it, as the watch cache does, then an error
                    store.wait_for_rv(since)
                except ApiError as e:
                    err = e
        start_rv = since or 0
        with store.lock:
            if send_initial:
                objs, cur = store.list(*res.store_key, ns)
                initial_objs = [o for o in objs if flt(api.view(res, o))]
                w = store.watch(*res.store_key, ns, None)
                start_rv = cur
            elif err is None:
                try:
                    w = store.watch(*res.store_key, ns, since)
                except ApiError as e:
                    err = e
        cut = box.faults.take("watch", path, "cutWatch")
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.send_header("Audit-Id", self.audit_id)
        self.end_headers()
        self.code = 200
        table = self.wants_table()
        sent = [0]
        last_rv = [start_rv]

        def emit(typ, obj):
            if typ in ("ADDED", "MODIFIED", "DELETED"):
                o = api.out(res, obj, req.version)
                if table:
                    o = tables.table(res, req.version, [o], {"resourceVersion": o["metadata"]["resourceVersion"]})
            else:
                o = obj
            self._chunk((dumps({"type": typ, "object": o}) + "\n").encode())
            if typ in ("ADDED", "MODIFIED", "DELETED"):
                sent[0] += 1
                if cut is not None and sent[0] >= cut.after_events:
                    raise _Cut()

        def bookmark(rv_, annotations=None):
            meta = {"resourceVersion": str(rv_)}
            if annotations:
                meta["annotations"] = annotations
            emit("BOOKMARK", {"kind": res.kind, "apiVersion": res.api_version(req.version), "metadata": meta})
        try:
            if err is not None:
                emit("ERROR", err.status())
                self._chunk(b"")
                return
            if cut is not None and cut.after_events == 0:
                raise _Cut()
            for o in initial_objs:
                emit("ADDED", o)
            if truthy(initial):
                bookmark(start_rv, {"k8s.io/initial-events-end": "true"})
            next_bm = time.time() + box.opts.bookmark_seconds
            while True:
                now = time.time()
                if now >= deadline:
                    break
                if self._peer_closed():
                    return
                if box.faults.down(req.user.name):
                    raise _Cut()
                ev = w.get(min(1.0, deadline - now, max(0.01, next_bm - now)))
                if ev is None:
                    if bookmarks and time.time() >= next_bm:
                        with store.lock:
                            if w.q.empty():
                                cur = store.rv
                            else:
                                cur = None
                        if cur is not None:
                            bookmark(max(cur, last_rv[0]))
                        next_bm = time.time() + box.opts.bookmark_seconds
                    continue
                last_rv[0] = ev.rv
                m_old = flt(api.view(res, ev.prev)) if ev.prev is not None else False
                m_new = flt(api.view(res, ev.obj))
                if ev.type == "ADDED":
                    if m_new:
                        emit("ADDED", ev.obj)
                elif ev.type == "MODIFIED":
                    if m_old and m_new:
                        emit("MODIFIED", ev.obj)
                    elif m_new:
                        emit("ADDED", ev.obj)
                    elif m_old:
                        emit("DELETED", ev.obj)
                elif ev.type == "DELETED":
                    if m_old or m_new:
                        emit("DELETED", ev.obj)
            self._chunk(b"")
        except _Cut:
            self.close_connection = True
            try:
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError, OSError):
            self.close_connection = True
        finally:
            if w is not None:
                w.close()

    def _vanish(self):
        """No answer: the connection closed, as a server that went away leaves it."""
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def _peer_closed(self):
        try:
            r, _, _ = select.select([self.connection], [], [], 0)
            if not r:
                return False
            if isinstance(self.connection, ssl.SSLSocket):
                self.connection.setblocking(False)
                try:
                    data = self.connection.recv(1)
                except ssl.SSLWantReadError:
                    return False
                finally:
                    self.connection.setblocking(True)
                return data == b""
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True


class _Cut(Exception):
    pass


class _Anon:
    name = ""
    groups = []


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, box, ctx, sock=None):
        self.box = box
        self.ctx = ctx
        if sock is None:
            super().__init__(addr, Handler)
        else:  # a socket bound elsewhere (the nodes' network: cluster.py)
            super().__init__(addr, Handler, bind_and_activate=False)
            self.socket.close()
            self.socket = sock

    def finish_request(self, request, client_address):
        # the TLS handshake runs in the connection's thread, not in the accept loop
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ctx is not None:
            request.settimeout(30)
            try:
                request = self.ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
            request.settimeout(None)
        self.RequestHandlerClass(request, client_address, self)

    def shutdown_request(self, request):
        try:
            request.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        request.close()


def serve(box, host, port, certfile, keyfile):
    ctx = None
    if certfile:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certfile, keyfile)
        ctx.set_alpn_protocols(["http/1.1"])
    srv = Server((host, port), box, ctx)
    return srv


def run_in_thread(srv):
    t = threading.Thread(target=srv.serve_forever, name="http", daemon=True)
    t.start()
    return t
