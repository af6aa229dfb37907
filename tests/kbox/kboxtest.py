# SPDX-License-Identifier: MIT
"""kboxtest: what the box's fidelity tests share.

- Box: the shared box (FERRY_TEST_KBOX_DIR, started by tests/run) or a
  private one in a temp dir (for tests that inject faults, restart it, or
  run alone under `meson test`); a real cluster when FERRY_TEST_KUBECONFIG
  names one (then `box.real` is True and box-only checks skip).
- Client: HTTPS with the box's CA and a bearer token; every call returns
  (code, headers, body as JSON or text); watch() yields events as they arrive.
- check(): one assertion that names the behaviour it checks and where that
  behaviour is specified; a failure prints what was expected and what came.
- the end-to-end tests' pieces (tests/lb/t_lb_e2e.py, t_lb_balance_e2e.py,
  tests/autoscale/t_scale_e2e.py: ferry as shipped in a private box of one
  node whose pods are real processes): e2e_require(), e2e_box(),
  apply_ferry(), Objects (get, create, pods) and ready().
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import atexit
import base64
import http.client
import json
import os
import shutil
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
KBOX = os.path.join(HERE, "kbox")
FAILED = []
PASSED = [0]


def check(behaviour, ok, got=None, want=None, ref="CONTROLPLANE.md §6"):
    if ok:
        PASSED[0] += 1
        return True
    FAILED.append(behaviour)
    msg = f"FAIL: {behaviour} [{ref}]"
    if want is not None or got is not None:
        msg += f"\n      want: {want!r}\n      got:  {got!r}"
    print(msg, flush=True)
    return False


def eq(behaviour, got, want, ref="CONTROLPLANE.md §6"):
    return check(behaviour, got == want, got, want, ref)


def finish():
    print(f"{PASSED[0]} checks passed, {len(FAILED)} failed")
    sys.exit(1 if FAILED else 0)


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(77)


def status_of(body):
    return (body.get("code"), body.get("reason")) if isinstance(body, dict) else (None, None)


class Client:
    def __init__(self, url, ca, token=None):
        u = urllib.parse.urlsplit(url)
        self.host = u.hostname
        self.port = u.port or 443
        self.ctx = ssl.create_default_context(cafile=ca) if ca else ssl._create_unverified_context()
        self.token = token
        self.conn = None

    def with_token(self, token):
        c = Client.__new__(Client)
        c.host, c.port, c.ctx, c.token, c.conn = self.host, self.port, self.ctx, token, None
        return c

    def _conn(self):
        if self.conn is None:
            self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=30)
        return self.conn

    def req(self, method, path, body=None, ct="application/json", headers=None, query=None):
        if query:
            path += ("&" if "?" in path else "?") + urllib.parse.urlencode(query, doseq=True)
        h = {"Accept": "application/json", "User-Agent": "kbox-test/1.0"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if body is not None:
            if not isinstance(body, (bytes, str)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode()
            h["Content-Type"] = ct
        h.update(headers or {})
        for attempt in range(2):
            try:
                c = self._conn()
                c.request(method, path, body=body, headers=h)
                r = c.getresponse()
                data = r.read()
                break
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.conn = None
                if attempt:
                    raise
        try:
            js = json.loads(data) if data else None
        except ValueError:
            js = data.decode(errors="replace")
        return r.status, r.headers, js

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.req("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.req("PUT", path, body, **kw)

    def patch(self, path, body, ct="application/merge-patch+json", **kw):
        return self.req("PATCH", path, body, ct=ct, **kw)

    def delete(self, path, body=None, **kw):
        return self.req("DELETE", path, body, **kw)

    def watch(self, path, query, timeout=10):
        """-> (status, headers, iterator of events (dicts)); the iterator ends with the stream."""
        q = dict(query, watch="true")
        path += "?" + urllib.parse.urlencode(q)
        c = http.client.HTTPSConnection(self.host, self.port, context=self.ctx, timeout=timeout)
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        c.request("GET", path, headers=h)
        r = c.getresponse()

        def events():
            buf = b""
            try:
                while True:
                    chunk = r.read1(65536) if hasattr(r, "read1") else r.read(1)
                    if not chunk:
                        break
                    buf += chunk
                    while b"\n" in buf:
                        line, buf = buf.split(b"\n", 1)
                        if line.strip():
                            yield json.loads(line)
            except (http.client.IncompleteRead, ConnectionError, ssl.SSLError) as e:
                yield {"type": "_BROKEN", "error": repr(e)}
            finally:
                c.close()
        if r.status != 200:
            data = r.read()
            c.close()
            return r.status, r.headers, iter([json.loads(data)] if data else [])
        return r.status, r.headers, events()


class Box:
    """A box to test against: the shared one, a private one, or a real cluster."""

    def __init__(self, private=False, args=()):
        self.real = False
        self.dir = None
        self.private = False
        real = os.environ.get("FERRY_TEST_KUBECONFIG")
        shared = os.environ.get("FERRY_TEST_KBOX_DIR")
        if real and not os.environ.get("FERRY_TEST_KBOX_DIR"):
            if private:
                skip("this test needs the box's own hooks (faults, restart, options); "
                     "FERRY_TEST_KUBECONFIG names a real cluster")
            self._from_kubeconfig(real)
            self.real = True
            return
        if shared and not private and not args:
            self.dir = shared
        else:
            self.dir = tempfile.mkdtemp(prefix="kbox-test-")
            self.private = True
            r = subprocess.run([KBOX, "start", self.dir] + list(args), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                print(f"ERROR: kbox start failed: {r.stderr}")
                sys.exit(99)
            atexit.register(self.close)
        env = dict(line.split("=", 1) for line in open(os.path.join(self.dir, "env")).read().split("\n") if "=" in line)
        self.env = env
        self.url = env["KBOX_URL"]
        self.h2_url = env["KBOX_H2_URL"]
        self.ca = env["KBOX_CA"]
        self.kubeconfig = env["KBOX_KUBECONFIG"]
        self.admin = Client(self.url, self.ca, env["KBOX_ADMIN_TOKEN"])

    def _from_kubeconfig(self, path):
        import yaml
        kc = yaml.safe_load(open(path))
        ctx = next(c["context"] for c in kc["contexts"] if c["name"] == kc["current-context"])
        cl = next(c["cluster"] for c in kc["clusters"] if c["name"] == ctx["cluster"])
        us = next(u["user"] for u in kc["users"] if u["name"] == ctx["user"])
        ca = None
        if cl.get("certificate-authority-data"):
            fd, ca = tempfile.mkstemp(suffix=".crt")
            os.write(fd, base64.b64decode(cl["certificate-authority-data"]))
            os.close(fd)
        elif cl.get("certificate-authority"):
            ca = cl["certificate-authority"]
        if not us.get("token"):
            skip("FERRY_TEST_KUBECONFIG: these tests need a bearer-token user")
        self.url = cl["server"]
        self.ca = ca
        self.kubeconfig = path
        self.admin = Client(self.url, ca, us["token"])

    def kbox(self, *args):
        return subprocess.run([KBOX] + list(args) + [self.dir], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)

    def fault(self, **rule):
        code, _, body = self.admin.post("/kbox/v1/faults", rule)
        assert code == 201, body

    def clear_faults(self):
        self.admin.delete("/kbox/v1/faults")

    def token_for(self, user, groups=()):
        code, _, body = self.admin.post("/kbox/v1/tokens", {"user": user, "groups": list(groups)})
        assert code == 201, body
        return body["token"]

    def namespace(self, prefix="t"):
        """A fresh namespace for this test (deleted at exit)."""
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        code, _, body = self.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                              "metadata": {"name": name}})
        assert code == 201, body
        atexit.register(lambda: self.admin.with_token(self.admin.token).delete(f"/api/v1/namespaces/{name}"))
        return name

    def audit(self):
        out = []
        for line in open(os.path.join(self.dir, "audit.log")):
            out.append(json.loads(line))
        return out

    def close(self):
        if self.private and self.dir:
            self.kbox("stop")
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None


def kubectl_path():
    """kubectl >= 1.30: the versioned binary beside the dispatcher, or one on PATH."""
    cands = [os.environ.get("KUBECTL", ""), "/usr/lib/google-cloud-sdk/bin/kubectl.1.32",
             "/usr/local/lib/ferry-kubectl/kubectl", shutil.which("kubectl") or ""]
    for c in cands:
        if c and os.access(c, os.X_OK):
            try:
                out = subprocess.run([c, "version", "--client", "-o", "json"], stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True, env=dict(os.environ, HOME=tempfile.gettempdir()),
                                     timeout=20).stdout
                v = json.loads(out)["clientVersion"]
                if int(v["major"]) == 1 and int(v["minor"].rstrip("+")) >= 30:
                    return c
            except (ValueError, KeyError, OSError, subprocess.TimeoutExpired):
                continue
    return None


def wait_until(fn, timeout=10.0, step=0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = fn()
        if v:
            return v
        time.sleep(step)
    return fn()


# ---------------------------------------------------------------- end to end

SRC = os.path.dirname(os.path.dirname(HERE))


def e2e_require(btf=False):
    """The skips of an end-to-end test: root (the box's nodes), not a real cluster, and with
    @btf the kernel's BTF (the balancer). Then (FERRY, KUBECTL): the built ferry (exit 99
    without it: meson test sets FERRY) and kubectl >= 1.30 (a skip without)."""
    if os.geteuid() != 0:
        skip("the box's nodes need root (namespaces, cgroups, mounts, iptables, BPF)")
    if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
        skip("runs the box's own nodes; FERRY_TEST_KUBECONFIG names a real cluster")
    if btf and not os.path.exists("/sys/kernel/btf/vmlinux"):
        skip("no kernel BTF (/sys/kernel/btf/vmlinux): the balancer cannot load")
    ferry = os.environ.get("FERRY", "")
    if not (ferry and os.access(ferry, os.X_OK)):
        print("ERROR: FERRY must name the built ferry binary (meson test sets it)")
        sys.exit(99)
    kubectl = kubectl_path()
    if not kubectl:
        skip("needs kubectl >= 1.30 (tests/install-deps.sh)")
    return ferry, kubectl


def e2e_box(node, home_prefix):
    """A private box of one node @node (zone zone-a, the cgroupfs driver), and the environment
    for kubectl and ferry against it: a HOME of its own (@home_prefix), KUBECONFIG the box's.
    Returns (box, env); prints how long the box took to come up."""
    t0 = time.time()
    cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    cfg.write(f"nodes:\n- name: {node}\n  zone: zone-a\n  cgroupDriver: cgroupfs\n")
    cfg.close()
    box = Box(private=True, args=["--config", cfg.name])
    env = dict(os.environ, HOME=tempfile.mkdtemp(prefix=home_prefix), KUBECONFIG=box.kubeconfig)
    print(f"note: box up in {time.time() - t0:.1f} s", flush=True)
    return box, env


def apply_ferry(kubectl, env):
    """ferry as shipped: k8s/deploy/namespace.yaml, then `kubectl apply -k k8s/deploy`; a check
    that both applied without a word on stderr."""
    r = subprocess.run([kubectl, "apply", "-f", os.path.join(SRC, "k8s", "deploy", "namespace.yaml")],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=60)
    r2 = subprocess.run([kubectl, "apply", "-k", os.path.join(SRC, "k8s", "deploy")],
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    eq("kubectl apply -k k8s/deploy", (r.returncode, r2.returncode, r2.stderr.strip()), (0, 0, ""), "k8s/deploy")


def ready(obj):
    """whether @obj (a pod, a node) has the condition Ready True"""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in ((obj or {}).get("status") or {}).get("conditions") or [])


class Objects:
    """The objects of a box as the end-to-end tests read and make them, through @client."""

    def __init__(self, client):
        self.client = client

    def get(self, path):
        """the object at @path, None unless 200"""
        code, _, body = self.client.get(path)
        return body if code == 200 else None

    def create(self, path, obj):
        """POST @obj to @path: the object made; anything but 201 is an error of the test (99)"""
        code, _, body = self.client.post(path, obj)
        if code != 201:
            print(f"ERROR: POST {path}: {code} {body}")
            sys.exit(99)
        return body

    def pods(self, ns, selector):
        """the pods of @ns that the (URL-encoded) label @selector selects"""
        return (self.get(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}") or {}).get("items") or []
