# SPDX-License-Identifier: MIT
"""kboxd.cli: `kbox start|stop|restart|status DIR`, the box as tests and people use it.

start DIR [--port N] [--h2-port N] [server options]:
  makes DIR, on first use a CA and a server certificate (openssl CLI, EC
  P-256, SANs 127.0.0.1, ::1, localhost and the kubernetes.default names) and
  an admin token; starts the server (python3 -m kboxd.main, its own session,
  log in DIR/kbox.log) and nghttpx in front of it for HTTP/2 (h2 over TLS,
  same CA; log in DIR/nghttpx.log); waits until /readyz answers (10 s, then
  fails naming the log); writes DIR/admin.kubeconfig, DIR/ca.crt,
  DIR/admin.token and DIR/env (KBOX_URL, KBOX_H2_URL, KBOX_KUBECONFIG,
  KBOX_ADMIN_TOKEN, KBOX_DIR); prints KUBECONFIG=DIR/admin.kubeconfig.
  Ports: --port N, else the one a previous start used (DIR/port), else a free
  one the server binds itself. Options are remembered in DIR/options for restart.
  With --nodes N or --config FILE (cluster.py) the box also has nodes:
  start waits (60 s) until every node is Ready and prints their names.
stop DIR: SIGTERM to both (SIGKILL after 5 s, 40 s with nodes); the state stays.
restart DIR: stop, then start with the same ports, options and state.
status DIR: exit 0 when the box answers, 1 otherwise.
leftovers [DIR]: what a box with nodes left on the machine (sweep.py): of the
  box in DIR, or of every box no longer running; exit 1 when anything is.
exec DIR NAMESPACE/POD [-c CONTAINER] -- CMD...: run CMD in a running
  container (its namespaces, cgroup and root), stdin/stdout/stderr passed
  through; exits with its status.
"""
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time

PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def die(msg):
    print(f"kbox: {msg}", file=sys.stderr)
    sys.exit(1)


def _run(cmd, cwd):
    r = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        die(f"{' '.join(cmd)} failed: {r.stdout.strip()}")


SANS = ("IP:127.0.0.1,IP:::1,IP:10.96.0.1,IP:172.30.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,"
        "DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local")


def make_pki(d):
    """The box's CA and serving certificate: two openssl runs (OpenSSL 3's `req -x509 -CA`
    signs directly), EC P-256, each from a config of its own (not the system's)."""
    if os.path.exists(os.path.join(d, "server.crt")):
        return
    with open(os.path.join(d, "ca.cnf"), "w") as f:
        f.write("[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n[dn]\nCN=kbox-ca\n"
                "[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
                "subjectKeyIdentifier=hash\n")
    with open(os.path.join(d, "server.cnf"), "w") as f:
        f.write("[req]\ndistinguished_name=dn\nx509_extensions=v3\nprompt=no\n[dn]\nCN=kube-apiserver\n"
                "[v3]\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
                f"extendedKeyUsage=serverAuth\nsubjectAltName={SANS}\nsubjectKeyIdentifier=hash\n"
                "authorityKeyIdentifier=keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-sha256", "-days", "3650"]
    _run(["openssl", "req", "-x509", "-config", "ca.cnf"] + ec + ["-keyout", "ca.key", "-out", "ca.crt"], d)
    _run(["openssl", "req", "-x509", "-config", "server.cnf"] + ec +
         ["-CA", "ca.crt", "-CAkey", "ca.key", "-keyout", "server.key", "-out", "server.crt"], d)
    for f in ("ca.key", "server.key"):
        os.chmod(os.path.join(d, f), 0o600)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def _pid(d, name):
    try:
        return int(open(os.path.join(d, name)).read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:  # a zombie is not alive
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def _ctx(d):
    return ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))


def ready(d, port, timeout=1.0, ctx=None):
    import http.client
    try:
        c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx or _ctx(d), timeout=timeout)
        c.request("GET", "/readyz")
        ok = c.getresponse().status == 200
        c.close()
        return ok
    except (OSError, ssl.SSLError, http.client.HTTPException):
        return False


def write_outputs(d, port, h2port):
    tok = open(os.path.join(d, "admin.token")).read().strip()
    import base64
    ca = base64.b64encode(open(os.path.join(d, "ca.crt"), "rb").read()).decode()
    kc = {"apiVersion": "v1", "kind": "Config", "current-context": "kbox",
          "clusters": [{"name": "kbox", "cluster": {"server": f"https://127.0.0.1:{port}",
                                                    "certificate-authority-data": ca}}],
          "users": [{"name": "kbox-admin", "user": {"token": tok}}],
          "contexts": [{"name": "kbox", "context": {"cluster": "kbox", "user": "kbox-admin", "namespace": "default"}}],
          "preferences": {}}
    p = os.path.join(d, "admin.kubeconfig")
    with open(p + ".tmp", "w") as f:
        json.dump(kc, f, indent=1)
    os.chmod(p + ".tmp", 0o600)
    os.replace(p + ".tmp", p)
    with open(os.path.join(d, "env.tmp"), "w") as f:
        f.write(f"KBOX_DIR={d}\nKBOX_URL=https://127.0.0.1:{port}\nKBOX_H2_URL=https://127.0.0.1:{h2port}\n"
                f"KBOX_KUBECONFIG={p}\nKBOX_CA={os.path.join(d, 'ca.crt')}\nKBOX_ADMIN_TOKEN={tok}\n")
    os.replace(os.path.join(d, "env.tmp"), os.path.join(d, "env"))


def start(d, port=None, h2port=None, extra=None):
    os.makedirs(d, exist_ok=True)
    d = os.path.abspath(d)
    if _alive(_pid(d, "kbox.pid")):
        die(f"a box is already running from {d} (kbox stop {d})")
    make_pki(d)
    tp = os.path.join(d, "admin.token")
    if not os.path.exists(tp):
        with open(tp, "w") as f:
            f.write(secrets.token_hex(24) + "\n")
        os.chmod(tp, 0o600)
    optp = os.path.join(d, "options")
    saved = json.load(open(optp)) if os.path.exists(optp) else {}
    if port is None:
        port = saved.get("port") or 0
    if h2port is None:
        h2port = saved.get("h2port") or 0
    extra = extra if extra is not None else saved.get("extra", [])
    portf = os.path.join(d, "port")
    if os.path.exists(portf):
        os.unlink(portf)
    log = open(os.path.join(d, "kbox.log"), "a")
    env = dict(os.environ, PYTHONPATH=HERE)
    p = subprocess.Popen([PY, "-m", "kboxd.main", "--dir", d, "--port", str(port)] + list(extra),
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
                         start_new_session=True, cwd=d)
    with open(os.path.join(d, "kbox.pid"), "w") as f:
        f.write(f"{p.pid}\n")
    deadline = time.time() + 10
    ctx = _ctx(d)
    h2 = None
    while time.time() < deadline:
        if p.poll() is not None:
            die(f"the box exited at start (code {p.returncode}): " + _tail(d, "kbox.log", 1).strip() +
                f" (log: {d}/kbox.log)")
        if os.path.exists(portf):
            port = int(open(portf).read())
            if h2 is None:  # nghttpx starts while the box finishes starting (it connects lazily)
                h2port = h2port or free_port()
                h2 = _start_h2(d, port, h2port)
            if ready(d, port, 0.5, ctx):
                break
        time.sleep(0.02)
    else:
        p.kill()
        die(f"the box did not answer within 10 s; see {d}/kbox.log:\n" + _tail(d, "kbox.log"))
    _wait_h2(d, h2, h2port)
    with open(optp, "w") as f:
        json.dump({"port": port, "h2port": h2port, "extra": extra}, f)
    write_outputs(d, port, h2port)
    if "--cluster-config" in extra:
        _wait_nodes(d, port, ctx, p)
    print(f"KUBECONFIG={d}/admin.kubeconfig")


def _wait_nodes(d, port, ctx, proc, timeout=60):
    """Until every configured node is Ready (its kubelet registered and reported)."""
    import http.client
    want = [n["name"] for n in json.load(open(os.path.join(d, "cluster.json")))["nodes"]]
    tok = open(os.path.join(d, "admin.token")).read().strip()
    deadline = time.time() + timeout
    ready = []
    while time.time() < deadline:
        if proc.poll() is not None:
            die("the box exited while its nodes started: " + _tail(d, "kbox.log", 3).strip())
        try:
            c = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=5)
            c.request("GET", "/api/v1/nodes", headers={"Authorization": "Bearer " + tok})
            items = json.loads(c.getresponse().read()).get("items") or []
            c.close()
        except (OSError, ValueError, http.client.HTTPException):
            items = []
        ready = [n["metadata"]["name"] for n in items
                 if any(x.get("type") == "Ready" and x.get("status") == "True"
                        for x in (n.get("status") or {}).get("conditions") or [])]
        if all(w in ready for w in want):
            print("nodes: " + " ".join(want))
            return
        time.sleep(0.2)
    missing = [w for w in want if w not in ready]
    die(f"nodes not Ready within {timeout} s: {' '.join(missing)}; see {d}/nodes/<node>/node.log")


def _tail(d, name, n=20):
    try:
        return "".join(open(os.path.join(d, name)).readlines()[-n:])
    except OSError:
        return ""


def _start_h2(d, port, h2port):
    cmd = ["nghttpx", "--conf=/dev/null", f"--frontend=127.0.0.1,{h2port}",
           f"--backend=127.0.0.1,{port};;tls;sni=localhost", f"--cacert={d}/ca.crt", "--single-process",
           "--no-ocsp", "--no-via", "--backend-read-timeout=24h", "--backend-write-timeout=24h",
           "--frontend-http2-read-timeout=24h", "--frontend-read-timeout=24h",
           "--backend-keep-alive-timeout=2m", f"--errorlog-file={d}/nghttpx.log",
           f"{d}/server.key", f"{d}/server.crt"]
    log = open(os.path.join(d, "nghttpx.log"), "a")
    try:
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                             start_new_session=True)
    except FileNotFoundError:
        print("kbox: nghttpx not found (apt-get install nghttp2-proxy): no HTTP/2 front", file=sys.stderr)
        return None
    with open(os.path.join(d, "nghttpx.pid"), "w") as f:
        f.write(f"{p.pid}\n")
    return p


def _wait_h2(d, p, h2port):
    if p is None:
        return
    deadline = time.time() + 5
    while time.time() < deadline:
        if p.poll() is not None:
            die(f"nghttpx exited at start; see {d}/nghttpx.log:\n" + _tail(d, "nghttpx.log"))
        try:
            socket.create_connection(("127.0.0.1", h2port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    die(f"nghttpx did not listen on {h2port} within 5 s; see {d}/nghttpx.log")


def _stop_pid(d, name, timeout=5):
    pid = _pid(d, name)
    if not _alive(pid):
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except OSError:
        return
    deadline = time.time() + timeout
    while time.time() < deadline and _alive(pid):
        time.sleep(0.05)
    if _alive(pid):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
        while _alive(pid):
            time.sleep(0.02)


def stop(d):
    d = os.path.abspath(d)
    _stop_pid(d, "nghttpx.pid")
    _stop_pid(d, "kbox.pid", 40 if os.path.exists(os.path.join(d, "cluster.json")) else 5)
    for f in ("kbox.pid", "nghttpx.pid"):
        try:
            os.unlink(os.path.join(d, f))
        except OSError:
            pass


def main(argv):
    import argparse
    if argv[:1] == ["exec"]:
        return exec_cmd(argv[1:])
    if argv[:1] == ["leftovers"]:
        return leftovers_cmd(argv[1:])
    p = argparse.ArgumentParser(prog="kbox", description="the cluster in a box: a stand-in Kubernetes API server")
    p.add_argument("cmd", choices=["start", "stop", "restart", "status"])
    p.add_argument("dir")
    p.add_argument("--nodes", type=int, help="N nodes node-1..N (one zone, cgroup drivers alternating)")
    p.add_argument("--config", help="a cluster config (YAML or JSON) naming the nodes (kboxd/cluster.py)")
    p.add_argument("--port", type=int)
    p.add_argument("--h2-port", type=int)
    p.add_argument("--bookmark-seconds", type=float)
    p.add_argument("--history-seconds", type=float)
    p.add_argument("--watch-max-seconds", type=float)
    a = p.parse_args(argv)
    extra = []
    if a.nodes is not None or a.config:
        if a.cmd not in ("start", "restart"):
            die("--nodes and --config go with start")
        from . import cluster
        try:
            cfg = cluster.load(a.config) if a.config else cluster.simple(a.nodes)
        except (OSError, ValueError) as e:
            die(f"cluster config: {e}")
        if os.geteuid() != 0:
            die("a box with nodes needs root (namespaces, cgroups, mounts)")
        d = os.path.abspath(a.dir)
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "cluster.json"), "w") as f:
            json.dump(cfg, f, indent=1)
        extra += ["--cluster-config", os.path.join(d, "cluster.json")]
    for opt in ("bookmark_seconds", "history_seconds", "watch_max_seconds"):
        v = getattr(a, opt)
        if v is not None:
            extra += ["--" + opt.replace("_", "-"), str(v)]
    try:
        run(a, extra)
    except OSError as e:
        die(f"{a.cmd} {a.dir}: {e.strerror or e}" + (f": {e.filename}" if getattr(e, "filename", None) else ""))


def run(a, extra):
    if a.cmd == "start":
        start(a.dir, a.port, a.h2_port, extra or None)
    elif a.cmd == "stop":
        stop(a.dir)
    elif a.cmd == "restart":
        stop(a.dir)
        start(a.dir, a.port, a.h2_port, extra or None)
    elif a.cmd == "status":
        d = os.path.abspath(a.dir)
        try:
            port = int(open(os.path.join(d, "port")).read())
        except (OSError, ValueError):
            sys.exit(1)
        sys.exit(0 if ready(d, port) else 1)


def leftovers_cmd(argv):
    from . import sweep
    box_id = None
    d = None
    if argv:
        d = os.path.abspath(argv[0])
        try:
            box_id = open(os.path.join(d, "box-id")).read().strip()
        except OSError:
            box_id = None
    left = sweep.leftovers(box_id, d) if d else sweep.leftovers()
    for x in left:
        print(x)
    sys.exit(1 if left else 0)


def exec_cmd(argv):
    """kbox exec DIR NS/POD [-c C] -- CMD...: join a container from the host (host pids)."""
    if "--" not in argv or len(argv) < 3:
        die("usage: kbox exec DIR NAMESPACE/POD [-c CONTAINER] -- CMD...")
    i = argv.index("--")
    head, cmd = argv[:i], argv[i + 1:]
    d = os.path.abspath(head[0])
    target = head[1]
    cname = head[head.index("-c") + 1] if "-c" in head else None
    ns, _, name = target.partition("/")
    from . import nodeutil
    try:
        pid, cg = nodeutil.container_pid(d, ns, name, cname)
    except LookupError as e:
        die(str(e))
    spec = {"mode": "exec", "cgroups": cg, "fork": True,
            "join": {n: f"/proc/{pid}/ns/{n}" for n in ("pid", "cgroup", "net", "uts", "ipc", "mnt")},
            "argv": cmd, "env": nodeutil.container_env(pid)}
    import tempfile
    r, w = os.pipe()
    fd, path = tempfile.mkstemp(prefix="kbox-exec-", suffix=".json")
    spec["errfd"] = w
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    p = subprocess.Popen([PY, "-I", "-S", os.path.join(HERE, "kboxd", "spawn.py"), path], pass_fds=(w,))
    os.close(w)
    err = b""
    while True:
        b = os.read(r, 4096)
        if not b:
            break
        err += b
    rc = p.wait()
    os.unlink(path)
    if err:
        die(err.decode(errors="replace").strip())
    sys.exit(rc)
