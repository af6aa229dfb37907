# SPDX-License-Identifier: MIT
"""kboxd.kclient: the API client of the box's node components (kubelet, kube-proxy).

They run outside the server, in a node's namespaces, and talk to the box over
HTTPS with the box's CA and a bearer token of their own (user
system:node:<name> in group system:nodes, user system:kube-proxy), as their
real counterparts do with client certificates: every call they make goes
through authentication, RBAC and the audit log like any client's.

- Client.call(method, path, body, ct) -> (code, JSON body); one keep-alive
  connection per thread; a dropped connection is retried once.
- Informer: list, then watch from the list's resourceVersion with bookmarks;
  410 Gone relists, a broken stream re-watches from the last RV seen. It keeps
  a cache {(namespace, name): object} and calls on_event(type, obj) in its own
  thread for every change (and once with type "SYNCED" after each list).
"""
import http.client
import json
import socket
import ssl
import threading
import time
import urllib.parse


class Client:
    def __init__(self, url, ca, token, agent="kbox-node"):
        u = urllib.parse.urlsplit(url)
        self.host = u.hostname
        self.port = u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca)
        self.token = token
        self.agent = agent
        self.local = threading.local()

    def _conn(self, timeout):
        c = getattr(self.local, "conn", None)
        if c is None:
            c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
            self.local.conn = c
        c.timeout = timeout
        if c.sock is not None:
            c.sock.settimeout(timeout)
        return c

    def call(self, method, path, body=None, ct="application/json", query=None, timeout=30):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query)
        h = {"Accept": "application/json", "User-Agent": self.agent, "Authorization": "Bearer " + self.token}
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            h["Content-Type"] = ct
        for attempt in range(3):
            try:
                c = self._conn(timeout)
                c.request(method, path, body=data, headers=h)
                r = c.getresponse()
                raw = r.read()
                break
            except (OSError, http.client.HTTPException):
                try:
                    self.local.conn.close()
                except Exception:
                    pass
                self.local.conn = None
                if attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))
        try:
            js = json.loads(raw) if raw else None
        except ValueError:
            js = raw.decode(errors="replace")
        return r.status, js

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.call("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.call("PUT", path, body, **kw)

    def patch(self, path, body, ct="application/merge-patch+json", **kw):
        return self.call("PATCH", path, body, ct=ct, **kw)

    def delete(self, path, body=None, **kw):
        return self.call("DELETE", path, body, **kw)

    def stream(self, path, query, timeout):
        """A watch: -> iterator of events (dicts); ends when the stream does."""
        path += "?" + urllib.parse.urlencode(query)
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
        c.request("GET", path, headers={"Accept": "application/json", "User-Agent": self.agent,
                                        "Authorization": "Bearer " + self.token})
        r = c.getresponse()
        if r.status != 200:
            data = r.read()
            c.close()
            try:
                yield {"type": "ERROR", "object": json.loads(data)}
            except ValueError:
                yield {"type": "ERROR", "object": {"code": r.status, "message": data.decode(errors="replace")}}
            return
        buf = b""
        try:
            while True:
                chunk = r.read1(65536)
                if not chunk:
                    break
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
        except (OSError, http.client.HTTPException, ValueError):
            return
        finally:
            c.close()


class Informer:
    """List+watch of one collection (path like /api/v1/pods) with a cache."""

    def __init__(self, client, path, on_event, field_selector=None, label_selector=None, name="informer"):
        self.client = client
        self.path = path
        self.on_event = on_event
        self.query = {}
        if field_selector:
            self.query["fieldSelector"] = field_selector
        if label_selector:
            self.query["labelSelector"] = label_selector
        self.cache = {}
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.synced = threading.Event()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self):
        self.thread.start()
        return self

    @staticmethod
    def key(o):
        m = o.get("metadata") or {}
        return (m.get("namespace", ""), m.get("name", ""))

    def items(self):
        with self.lock:
            return list(self.cache.values())

    def get(self, ns, name):
        with self.lock:
            return self.cache.get((ns, name))

    def _list(self):
        code, body = self.client.get(self.path, query=self.query)
        if code != 200:
            raise OSError(f"list {self.path}: {code} {body}")
        new = {self.key(o): o for o in body.get("items") or []}
        with self.lock:
            old = self.cache
            self.cache = new
        for k, o in old.items():
            if k not in new:
                self.on_event("DELETED", o)
        for k, o in new.items():
            prev = old.get(k)
            if prev is None:
                self.on_event("ADDED", o)
            elif prev["metadata"].get("resourceVersion") != o["metadata"].get("resourceVersion"):
                self.on_event("MODIFIED", o)
        self.on_event("SYNCED", None)
        self.synced.set()
        return body["metadata"]["resourceVersion"]

    def _run(self):
        rv = None
        while not self.stop.is_set():
            try:
                if rv is None:
                    rv = self._list()
                q = dict(self.query, watch="true", resourceVersion=rv, allowWatchBookmarks="true",
                         timeoutSeconds="300")
                for ev in self.client.stream(self.path, q, timeout=330):
                    if self.stop.is_set():
                        return
                    t = ev.get("type")
                    o = ev.get("object") or {}
                    if t == "ERROR":
                        if o.get("code") == 410:
                            rv = None
                        else:
                            time.sleep(1)
                        break
                    nrv = (o.get("metadata") or {}).get("resourceVersion")
                    if nrv:
                        rv = nrv
                    if t == "BOOKMARK":
                        continue
                    k = self.key(o)
                    with self.lock:
                        if t == "DELETED":
                            self.cache.pop(k, None)
                        else:
                            self.cache[k] = o
                    self.on_event(t, o)
            except (OSError, ssl.SSLError, socket.timeout, http.client.HTTPException, ValueError) as e:
                if self.stop.is_set():
                    return
                print(f"{self.thread.name}: {e}; retrying", flush=True)
                time.sleep(1)
            except Exception:  # keep informing: a bug in a handler must not stop the node
                import traceback
                traceback.print_exc()
                time.sleep(1)
