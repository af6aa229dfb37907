# SPDX-License-Identifier: MIT
"""opkit: running ferry's processes in the cluster in a box, as pods would.

- Env: a box (tests/kbox/kboxtest.py), ferry's manifests applied to it with
  kubectl (`apply -k k8s/deploy`), and everything a scenario needs: service
  account tokens from TokenRequest, an in-cluster-style kubeconfig per
  process (a token file, which the client re-reads, and the box's CA file),
  the audit log read back.
- Proc: one `ferry controller` (later `ferry agent`) under a service
  account, its log in a file, its /metrics, signals, exit status.
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("FERRY_SRC") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
import kboxtest  # noqa: E402

DEPLOY = os.path.join(SRC, "k8s", "deploy")
NS = "ferry-system"
WRITE_VERBS = ("create", "update", "patch", "delete", "deletecollection")


def ts_of(entry):
    """An audit line's time as seconds since the epoch."""
    t = entry["ts"]
    if isinstance(t, (int, float)):
        return t / 1e6
    return datetime.datetime.strptime(t, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


class Env:
    """A box with ferry's manifests applied, and the means to run ferry in it."""

    def __init__(self, box, tmp=None):
        self.box = box
        self.admin = box.admin
        self.tmp = tmp or tempfile.mkdtemp(prefix="ferry-op-")
        self.ferry = os.environ.get("FERRY") or os.path.join(SRC, "build", "control", "ferry")
        if not os.access(self.ferry, os.X_OK):
            print(f"ERROR: no ferry binary at {self.ferry} (run under meson test or tests/run)")
            sys.exit(99)
        self.kubectl = kboxtest.kubectl_path()
        self.home = os.path.join(self.tmp, "home")
        os.makedirs(self.home, exist_ok=True)
        self.procs = []

    # ---- kubectl, with a private HOME (its discovery cache) and the admin kubeconfig
    def kubectl_run(self, *args, check=False):
        if not self.kubectl:
            kboxtest.skip("needs kubectl >= 1.30 (/usr/lib/google-cloud-sdk/bin/kubectl.1.32; tests/install-deps.sh)")
        env = dict(os.environ, HOME=self.home, KUBECONFIG=self.box.kubeconfig)
        r = subprocess.run([self.kubectl] + list(args), stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, env=env, timeout=120)
        if check and r.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {r.stderr.strip()}")
        return r

    def manifests(self):
        """ferry's objects as kustomize builds them (dicts)."""
        import yaml
        out = self.kubectl_run("kustomize", DEPLOY, check=True).stdout
        return [d for d in yaml.safe_load_all(out) if d]

    # ---- service accounts
    def token(self, sa, ns=NS, seconds=3600):
        code, _, body = self.admin.post(f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                                        {"apiVersion": "authentication.k8s.io/v1",
                                         "kind": "TokenRequest",
                                         "spec": {"expirationSeconds": seconds}})
        if code != 201:
            raise RuntimeError(f"TokenRequest for {ns}/{sa}: {code} {body}")
        return body["status"]["token"]

    def kubeconfig_for(self, name, sa, ns=NS, token=None):
        """An in-cluster-style kubeconfig: the box's CA file and a token file (re-read by
        the client), as a pod's service account mount provides them."""
        d = os.path.join(self.tmp, name)
        os.makedirs(d, exist_ok=True)
        tok = os.path.join(d, "token")
        with open(tok, "w") as f:
            f.write(token if token is not None else self.token(sa, ns))
        os.chmod(tok, 0o600)
        kc = os.path.join(d, "kubeconfig")
        with open(kc, "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: in-cluster\n"
                    f"clusters:\n- name: box\n  cluster:\n    server: {self.box.url}\n"
                    f"    certificate-authority: {self.box.ca}\n"
                    f"users:\n- name: sa\n  user:\n    tokenFile: {tok}\n"
                    "contexts:\n- name: in-cluster\n  context:\n    cluster: box\n"
                    f"    user: sa\n    namespace: {ns}\n")
        return kc

    # ---- objects
    def lease(self, name="ferry-controller", ns=NS):
        code, _, body = self.admin.get(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}")
        return body if code == 200 else None

    def delete_lease(self, name="ferry-controller", ns=NS):
        self.admin.delete(f"/apis/coordination.k8s.io/v1/namespaces/{ns}/leases/{name}")

    def events(self, ns=NS):
        code, _, body = self.admin.get(f"/apis/events.k8s.io/v1/namespaces/{ns}/events")
        return body.get("items", []) if code == 200 else []

    # ---- the audit log
    def audit_size(self):
        try:
            return os.path.getsize(os.path.join(self.box.dir, "audit.log"))
        except OSError:
            return 0

    def audit(self, start=0, end=None):
        """Audit entries from byte @start to @end of DIR/audit.log."""
        out = []
        with open(os.path.join(self.box.dir, "audit.log"), "rb") as f:
            f.seek(start)
            data = f.read() if end is None else f.read(max(0, end - start))
        for line in data.decode().splitlines():
            if line.strip():
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
        return out

    def controller(self, name, args=(), sa="ferry-controller", env=None, identity=True):
        p = Proc(self, name, ["controller"] + (["--identity", name] if identity else []) +
                 ["--metrics-addr", "127.0.0.1:0"] + list(args), sa=sa, env=env)
        self.procs.append(p)
        return p

    def close(self):
        for p in self.procs:
            p.kill()
        shutil.rmtree(self.tmp, ignore_errors=True)


class Proc:
    """One ferry process under a service account; its stderr in a file."""

    def __init__(self, envr, name, argv, sa, env=None):
        self.name = name
        self.envr = envr
        self.kubeconfig = envr.kubeconfig_for(name, sa)
        self.log_path = os.path.join(envr.tmp, name, "log")
        e = dict(os.environ)
        for k in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT", "POD_NAME",
                  "POD_NAMESPACE"):
            e.pop(k, None)
        e.update(env or {})
        self.argv = [envr.ferry] + argv + ["--kubeconfig", self.kubeconfig]
        self.log = open(self.log_path, "w")
        self.started = time.time()
        self.p = subprocess.Popen(self.argv, stdout=self.log, stderr=subprocess.STDOUT, env=e)
        self.rc = None

    def text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_line(self, pattern, timeout):
        """Wait until a log line matches @pattern (a regex); -> the match or None."""
        rx = re.compile(pattern)
        end = time.time() + timeout
        while True:
            m = rx.search(self.text())
            if m or time.time() > end:
                return m
            if self.p.poll() is not None:
                m = rx.search(self.text())
                return m
            time.sleep(0.05)

    def port(self, timeout=15):
        m = self.wait_line(r"\(port (\d+)\)", timeout)
        return int(m.group(1)) if m else None

    def http(self, path, method="GET"):
        port = self.port()
        if not port:
            return None, ""
        req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method)
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except (urllib.error.URLError, OSError) as e:
            return None, str(e)

    def metric(self, name):
        """The value of the first sample of @name (with any labels), or None."""
        code, text = self.http("/metrics")
        if code != 200:
            return None
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                return float(line.rsplit(" ", 1)[1])
        return None

    def signal(self, sig):
        if self.p.poll() is None:
            self.p.send_signal(sig)

    def wait(self, timeout):
        try:
            self.rc = self.p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stacks()
            return None
        return self.rc

    def stacks(self):
        """A process that did not exit in time: every thread's stack into its log (gdb,
        where installed), so that a hang says where it is."""
        gdb = shutil.which("gdb")
        if not gdb or self.p.poll() is not None:
            return
        try:
            r = subprocess.run([gdb, "-p", str(self.p.pid), "-batch", "-nx", "-ex", "thread apply all bt"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=60)
            out = r.stdout
        except (OSError, subprocess.TimeoutExpired) as e:
            out = f"gdb: {e!r}"
        lines = [l for l in out.splitlines() if l.startswith(("Thread ", "#"))]
        self.log.write("\n# not exited in time; its threads:\n" + "\n".join(lines) + "\n")
        self.log.flush()
        print(f"note: {self.name} did not exit in time; its threads:\n" + "\n".join(lines[:80]), flush=True)

    def kill(self):
        if self.p.poll() is None:
            try:
                self.p.send_signal(signal.SIGCONT)
                self.p.kill()
            except ProcessLookupError:
                pass
            self.p.wait()
        self.log.close()

    def ua(self):
        """How this process shows in the audit log: its user agent names its identity."""
        return f"({self.name})"


def apply_manifests(env):
    """kubectl apply -k k8s/deploy, the namespace first (a server refuses namespaced objects
    of a namespace that does not exist yet, dry run or not)."""
    env.kubectl_run("apply", "-f", os.path.join(DEPLOY, "namespace.yaml"), check=True)
    env.kubectl_run("apply", "-k", DEPLOY, check=True)
