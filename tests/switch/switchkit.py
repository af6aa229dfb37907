# SPDX-License-Identifier: MIT
"""switchkit: a box, the records service, and the traffic that measures a blue/green switch (issue 20).

The cluster (`start`): a private box of box.yaml (tests/xfer/xferkit.Env: two nodes with
storage, `ferry controller` and a `ferry agent` per node as processes under their service
accounts), ferry's manifests applied, a file:// repository under the work directory (every
node sees /var/tmp) through the Repository `default` and its Secret `repo-password`.

The application (`make_app`), namespace shop: the StatefulSet `db` (one replica, the claim
template `data` of 64 MiB kbox-disk, image kbox/records:blue, readiness on /healthz) behind
the ClusterIP Service `db` (port 80 -> 8080). records.py keeps each writer's records in a file
on the volume and answers each write only once it is fsynced.

The traffic, each a thread of its own inside a node's network namespace (the box's addresses
are reached only from there; setns(2) moves the calling thread only), non-blocking sockets,
one new connection a request, each with a timeout of 1 s and no retry, OPEN LOOP: requests go
at the instants of a fixed schedule whatever the earlier ones are doing:
- `Writer`: POST /write every 10 ms to the Service's ClusterIP, seq 1, 2, ...;
- `Reader`: GET /read of a writer's highest seq, every 50 ms, through the Service;
- `DirectProbe`: POST /write to each of blue's and green's pods at its own address (the pods
  listed from the API every 100 ms), to learn whether both ever accepted a write at once.
Every request is a `Rec` (monotonic send and answer instants, ok, the answer: pod, version,
boot). What they saw is judged by plain functions that a test can also feed a made-up history:
`window`, `history_problems`, `overlaps`.
"""
import errno
import json
import os
import selectors
import socket
import sys
import tempfile
import threading
import time

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
sys.path.insert(0, os.path.join(HERE, "..", "xfer"))
import xferkit  # noqa: E402
from kboxd import nodeutil  # noqa: E402
from kboxtest import Client, check, eq, wait_until  # noqa: E402

CONFIG = os.path.join(HERE, "box.yaml")
NODES = ["node-a1", "node-b1"]
SYS = "ferry-system"
API = "/apis/ferry.io/v1alpha1"
NS = "shop"
NAME = "db"
BLUE_IMAGE = "kbox/records:blue"
GREEN_IMAGE = "kbox/records:green"
LABELS = {"app": "db"}
PORT = 8080


def note(msg):
    print(f"note: {msg}", flush=True)


# ------------------------------------------------------------------ the cluster


def box_config():
    """box.yaml with each image row's relative bind source made absolute (against this
    directory), written as JSON to a file of its own. Return: its path."""
    cfg = yaml.safe_load(open(CONFIG))
    for row in cfg.get("images") or []:
        row["binds"] = [[b[0] if os.path.isabs(b[0]) else os.path.normpath(os.path.join(HERE, b[0])), b[1]]
                        for b in row.get("binds") or []]
    fd, path = tempfile.mkstemp(prefix="ferry-switch-box-", suffix=".json", dir="/var/tmp")
    with os.fdopen(fd, "w") as f:
        json.dump(cfg, f)
    return path


def start(ferry, password, identity="switch", prefix="ferry-switch-", signals=False):
    """The cluster: a box of box.yaml, ferry's manifests and the Snapshot kind's VolumePopulator,
    `ferry init` of a file:// repository in the work directory, its Secret and Repository
    `default`, an agent per node, the controller (leading). With @signals the per-pod values an
    analysis reads as a real cluster has them: the agent DaemonSet of k8s/deploy as the box's
    pods (`--max-transfers=0`: the processes do the transfers), their page over TLS with the
    certificate the controller issues, and the controller in the box's fabric, where the pods'
    addresses route. Return: the xferkit.Env (env.repo: the repository's URL)."""
    cfg = box_config()
    try:
        env = xferkit.Env(ferry, cfg, NODES, password, prefix)
    finally:
        os.unlink(cfg)  # the box has read it
    env.identity = identity
    env.password = password
    env.signals = signals
    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests", (r.returncode, r.stderr.strip()[-300:]), (0, ""), "k8s/deploy")
    r = env.kubectl("apply", "-f", os.path.join(xferkit.DEPLOY, "populator-snapshots.yaml"))
    eq("kubectl apply of the Snapshot kind's VolumePopulator", (r.returncode, r.stderr.strip()), (0, ""),
       "control/xfer/README.md")
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/repositories")[0] == 200, 20, 0.1)
    env.repo = "file://" + os.path.join(env.work, "repo")
    r = env.ferry("init", "--repo", env.repo)
    eq("ferry init of the file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
    env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": password}})
    env.create(f"{API}/namespaces/{SYS}/repositories", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Repository", "metadata": {"name": "default"},
        "spec": {"url": env.repo, "passwordSecret": {"name": "repo-password"}}})
    for n in NODES:
        env.start_agent(n)
    if signals:  # the token the Deployment's projected volume holds (audience ferry-agent)
        code, _, body = env.api.post(f"/api/v1/namespaces/{SYS}/serviceaccounts/ferry-controller/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"audiences": ["ferry-agent"], "expirationSeconds": 3600}})
        eq("a token of the controller for the agents' pages", code, 201, "control/signals")
        path = os.path.join(env.work, "agent-token")
        with open(path, "w") as f:
            f.write(body["status"]["token"])
        env.env["FERRY_AGENT_TOKEN_FILE"] = path
    env.start_controller(identity, "controller.log", extra=["--kube-api-qps", "100", "--kube-api-burst", "200"],
                         fabric=signals)
    check("ferry controller leads", wait_until(lambda: env.leader() == identity, 20, 0.1), env.leader(), identity,
          "control/operator")
    if signals:
        agents(env)
    ok = wait_until(lambda: repository_phase(env) == "Available", 30, 0.2)
    check("the Repository default is Available", ok, repository_phase(env), "Available", "control/cluster/README.md")
    return env


def agents(env):
    """The agent DaemonSet as shipped, but for --max-transfers=0 (no volume transfers: the
    processes of xferkit do them); agents_ready() waits for them (their first sample in)."""
    ds = yaml.safe_load(open(os.path.join(xferkit.DEPLOY, "agent-daemonset.yaml")))
    c = ds["spec"]["template"]["spec"]["containers"][0]
    c["args"] = ["--max-transfers=0" if a.startswith("--max-transfers") else a for a in c["args"]]
    path = os.path.join(env.work, "agent-daemonset.yaml")
    with open(path, "w") as f:
        yaml.safe_dump(ds, f)
    r = env.kubectl("apply", "-f", path)
    eq("kubectl apply of the agent DaemonSet (--max-transfers=0)", (r.returncode, r.stderr.strip()[-300:]), (0, ""),
       "k8s/deploy/agent-daemonset.yaml")


def agents_ready(env):
    """A check that every node's agent pod (start(signals=True)) turns Ready within 90 s."""
    def up():
        items = (env.get(f"/api/v1/namespaces/{SYS}/pods?labelSelector=app.kubernetes.io%2Fname%3Dferry-agent")
                 or {}).get("items") or []
        return len([p for p in items if any(c.get("type") == "Ready" and c.get("status") == "True"
                                            for c in (p.get("status") or {}).get("conditions") or [])]) == len(NODES)
    ok = wait_until(up, 90, 0.5)
    check("every node's agent pod is Ready (the per-pod page)", ok, None, len(NODES), "control/signals")


def repository_phase(env):
    return ((env.get(f"{API}/namespaces/{SYS}/repositories/default") or {}).get("status") or {}).get("phase")


def close(env, ref):
    if env:
        try:
            if getattr(env, "signals", False):
                # the agent pods deleted as a node drains them (SIGTERM, their grace): a box
                # stopped with them running waits for each (about 20 s)
                env.api.delete(f"/apis/apps/v1/namespaces/{SYS}/daemonsets/ferry-agent")
                wait_until(lambda: not (env.get(f"/api/v1/namespaces/{SYS}/pods?labelSelector="
                                                "app.kubernetes.io%2Fname%3Dferry-agent") or {}).get("items"), 30, 0.2)
            env.close(ref)
        except Exception as e:  # the box still goes
            note(f"closing: {e!r}")


# ------------------------------------------------------------------ the application

STS = f"/apis/apps/v1/namespaces/{NS}/statefulsets"


def app_objects(image=BLUE_IMAGE, size="64Mi", storage_class="kbox-disk"):
    """(path, object) to create, in order: the namespace, the Service, the StatefulSet."""
    return [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        (f"/api/v1/namespaces/{NS}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": NAME, "labels": LABELS}, "spec": {"type": "ClusterIP", "selector": LABELS, "ports": [
                {"name": "http", "port": 80, "targetPort": PORT}]}}),
        (STS, {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": NAME, "labels": LABELS}, "spec": {
            "replicas": 1, "serviceName": NAME, "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS}, "spec": {
                "terminationGracePeriodSeconds": 5,
                "containers": [{"name": "records", "image": image, "ports": [{"containerPort": PORT, "name": "http"}],
                                "readinessProbe": {"httpGet": {"path": "/healthz", "port": PORT},
                                                   "periodSeconds": 1, "timeoutSeconds": 1},
                                "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": LABELS}, "spec": {
                "accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
                "resources": {"requests": {"storage": size}}}}]}}),
    ]


def make_app(env):
    for path, obj in app_objects():
        env.create(path, obj)


def sts(env, name=NAME):
    return env.get(f"{STS}/{name}") or {}


def ready(env, name=NAME, replicas=1, timeout=120):
    return wait_until(lambda: (sts(env, name).get("status") or {}).get("readyReplicas") == replicas, timeout, 0.1)


def pods(env, owner=None):
    """The namespace's pods (of the StatefulSet @owner only, if given)."""
    out = []
    for p in (env.get(f"/api/v1/namespaces/{NS}/pods") or {}).get("items") or []:
        refs = [r.get("name") for r in p["metadata"].get("ownerReferences") or [] if r.get("kind") == "StatefulSet"]
        if owner is None or owner in refs:
            out.append(p)
    return out


def scale(env, replicas, name=NAME):
    """spec.replicas of the StatefulSet @name by a merge patch. Return: the API's code."""
    code, _, body = env.api.patch(f"{STS}/{name}", {"spec": {"replicas": replicas}})
    assert code == 200, (code, body)
    return code


def service_ip(env, name=NAME):
    return ((env.get(f"/api/v1/namespaces/{NS}/services/{name}") or {}).get("spec") or {}).get("clusterIP")


def proxy_state(env, node, service=f"{NS}/{NAME}:http"):
    """(lastSync, endpoints programmed for @service) of kube-proxy's last sync on @node
    (kbox-proxy.json: what the node's rules are, where an EndpointSlice alone says nothing)."""
    try:
        st = json.load(open(os.path.join(env.box.dir, "nodes", node, "kubelet", "kbox-proxy.json")))
    except (OSError, ValueError):
        return None, None
    return st.get("lastSync"), (st.get("services") or {}).get(service)


class ProxyWatch:
    """kube-proxy's programmed endpoints of the Service on each node, polled every 20 ms from a
    thread: `changes` [(monotonic time, node, endpoints)] whenever a node's list changes."""

    def __init__(self, env, nodes=NODES):
        self.env, self.nodes = env, nodes
        self.changes = []
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._th.start()
        return self

    def stop(self):
        self._stop.set()
        self._th.join(5)

    def _run(self):
        last = {}
        while not self._stop.is_set():
            for n in self.nodes:
                _, eps = proxy_state(self.env, n)
                if n not in last or last[n] != eps:
                    last[n] = eps
                    self.changes.append((time.monotonic(), n, eps))
            time.sleep(0.02)


def diagnose(env, label):
    """What a failed step leaves to read: the StatefulSets, pods, claims, Service, last events."""
    note(f"{label}: diagnosis")
    for s in (env.get(STS) or {}).get("items") or []:
        print(f"  statefulset {s['metadata']['name']}: replicas {s['spec'].get('replicas')} "
              f"status {s.get('status')}", flush=True)
    for p in pods(env):
        s = p.get("status") or {}
        print(f"  pod {p['metadata']['name']} on {p['spec'].get('nodeName')}: {s.get('phase')} "
              f"{[(c.get('type'), c.get('status')) for c in s.get('conditions') or []]} "
              f"{[c.get('state') for c in s.get('containerStatuses') or []]} ip {s.get('podIP')}", flush=True)
    for c in (env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims") or {}).get("items") or []:
        print(f"  claim {c['metadata']['name']}: {(c.get('status') or {}).get('phase')} {c['spec'].get('volumeName')}",
              flush=True)
    print(f"  service {NAME}: {(env.get(f'/api/v1/namespaces/{NS}/services/{NAME}') or {}).get('spec')}", flush=True)
    for e in ((env.get(f"/api/v1/namespaces/{NS}/events") or {}).get("items") or [])[-15:]:
        print(f"  event {e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}: "
              f"{e.get('reason')}: {e.get('message')}", flush=True)


# ------------------------------------------------------------------ the traffic



class Rec:
    """One request: what it was (seq, target role), when it went and when its answer came
    (time.monotonic(); acked None when none came), ok (HTTP 200), err (why not: "timeout",
    an errno name, "HTTP <code>"), ans (the answer's JSON: pod, version, boot, seq)."""
    __slots__ = ("seq", "role", "sched", "sent", "acked", "ok", "err", "ans")

    def __init__(self, seq, sent, role=None, sched=None, acked=None, ok=False, err=None, ans=None):
        self.seq, self.role, self.sched, self.sent = seq, role, sched if sched is not None else sent, sent
        self.acked, self.ok, self.err, self.ans = acked, ok, err, ans

    def __repr__(self):
        return (f"Rec(seq={self.seq}, role={self.role}, sent={self.sent:.3f}, "
                f"acked={None if self.acked is None else round(self.acked, 3)}, ok={self.ok}, err={self.err}, "
                f"ans={self.ans})")


class _Flight:
    __slots__ = ("rec", "sock", "out", "inp", "deadline")


class Loop:
    """Open-loop HTTP requests from a thread of its own inside @env's node @node's network
    namespace: every @period s the requests `plan(seq)` names ([(host, port, method, path,
    role)]) are started, whatever the earlier ones are doing (non-blocking sockets, one
    selector), each a new connection, failed after @timeout s without its answer, never retried.
    `recs`: every request's Rec, in start order. start() returns once the thread is in the
    namespace; stop() stops starting new ones and waits for those in flight (their timeout)."""

    def __init__(self, env, node, period, timeout=1.0):
        self.netns = nodeutil.node_netns(env.box.dir, node)
        self.period, self.timeout = period, timeout
        self.recs = []
        self.error = None
        self.behind = 0.0  # the latest start after its instant in the schedule (s)
        self._stop = threading.Event()
        self._in = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def plan(self, seq):
        raise NotImplementedError

    def start(self):
        self._th.start()
        self._in.wait(5)
        return self

    def stop(self):
        self._stop.set()
        self._th.join(self.timeout + 10)

    def _enter(self):
        nodeutil.enter_netns(self.netns)

    def _run(self):
        try:
            self._enter()
        except OSError as e:
            self.error = e
            self._in.set()
            return
        self._in.set()
        sel = selectors.DefaultSelector()
        flights = set()
        seq = 0
        nxt = time.monotonic()
        while not self._stop.is_set() or flights:
            now = time.monotonic()
            while not self._stop.is_set() and now >= nxt:
                seq += 1
                self.behind = max(self.behind, now - nxt)
                for host, port, method, path, role in self.plan(seq):
                    self._launch(sel, flights, Rec(seq, time.monotonic(), role, nxt), host, port, method, path)
                nxt += self.period
                now = time.monotonic()
            wait = (nxt - now) if not self._stop.is_set() else 0.05
            if flights:
                wait = min(wait, min(f.deadline for f in flights) - now)
            for key, mask in sel.select(max(0.0, wait)):
                self._event(sel, flights, key.data, mask)
            now = time.monotonic()
            for f in [f for f in flights if now >= f.deadline]:
                self._end(sel, flights, f, "timeout")
        sel.close()

    def _launch(self, sel, flights, rec, host, port, method, path):
        self.recs.append(rec)
        f = _Flight()
        f.rec, f.inp, f.deadline = rec, b"", rec.sent + self.timeout
        f.out = f"{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n".encode()
        try:
            f.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        except OSError as e:
            rec.err = errno.errorcode.get(e.errno, str(e))
            return
        f.sock.setblocking(False)
        e = f.sock.connect_ex((host, port))
        if e not in (0, errno.EINPROGRESS):
            f.sock.close()
            rec.err = errno.errorcode.get(e, str(e))
            return
        flights.add(f)
        sel.register(f.sock, selectors.EVENT_WRITE, f)

    def _end(self, sel, flights, f, err):
        flights.discard(f)
        try:
            sel.unregister(f.sock)
        except (KeyError, ValueError):
            pass
        f.sock.close()
        rec = f.rec
        if err:
            rec.err = err
            return
        rec.acked = time.monotonic()
        head, _, body = f.inp.partition(b"\r\n\r\n")
        code = head.split(b" ", 2)[1:2]
        try:
            rec.ans = json.loads(body)
        except ValueError:
            rec.ans = None
        rec.ok = code == [b"200"] and isinstance(rec.ans, dict)
        if not rec.ok:
            rec.err = f"HTTP {code[0].decode(errors='replace') if code else '?'}"

    def _event(self, sel, flights, f, mask):
        try:
            if f.out:
                e = f.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if e:
                    self._end(sel, flights, f, errno.errorcode.get(e, str(e)))
                    return
                n = f.sock.send(f.out)
                f.out = f.out[n:]
                if not f.out:
                    sel.modify(f.sock, selectors.EVENT_READ, f)
                return
            b = f.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            self._end(sel, flights, f, errno.errorcode.get(e.errno, str(e)))
            return
        if b:
            f.inp += b
        else:
            self._end(sel, flights, f, None)

    # ---------------------------------------------------------------- what it saw
    def done(self):
        """The requests finished (answered or failed), in start order."""
        return [r for r in list(self.recs) if r.acked is not None or r.err is not None]

    def counts(self, since=None, until=None, blocked=0.1):
        """{sent, acked, failed (an error or a non-200 answer before the timeout), timeout,
        blocked (acked, but more than @blocked s after it went), rate (sent a second)} of the
        requests sent in [@since, @until) (monotonic)."""
        rs = [r for r in self.done() if (since is None or r.sent >= since) and (until is None or r.sent < until)]
        out = {"sent": len(rs), "acked": sum(r.ok for r in rs),
               "failed": sum(1 for r in rs if not r.ok and r.err != "timeout"),
               "timeout": sum(1 for r in rs if r.err == "timeout"),
               "blocked": sum(1 for r in rs if r.ok and r.acked - r.sent > blocked)}
        span = (rs[-1].sent - rs[0].sent) if len(rs) > 1 else 0
        out["rate"] = round((len(rs) - 1) / span, 1) if span > 0 else 0.0
        return out

    def errors(self, since=None, until=None):
        """{err: count} of the failed requests sent in [@since, @until)."""
        out = {}
        for r in self.done():
            if not r.ok and (since is None or r.sent >= since) and (until is None or r.sent < until):
                out[r.err] = out.get(r.err, 0) + 1
        return out


class Writer(Loop):
    """POST /write?writer=@name&seq=N to @host:@port (the Service's ClusterIP) every @period s
    (10 ms), N = 1, 2, ... from @node's network namespace."""

    def __init__(self, env, node, host, name="w1", port=80, period=0.01, timeout=1.0):
        super().__init__(env, node, period, timeout)
        self.name, self.host, self.port = name, host, port

    def plan(self, seq):
        return [(self.host, self.port, "POST", f"/write?writer={self.name}&seq={seq}", None)]

    def acked(self):
        return [r for r in self.done() if r.ok]


class Reader(Loop):
    """GET /read?writer=@writer (the highest seq stored) from @host:@port every @period s."""

    def __init__(self, env, node, host, writer="w1", port=80, period=0.05, timeout=1.0):
        super().__init__(env, node, period, timeout)
        self.writer, self.host, self.port = writer, host, port

    def plan(self, seq):
        return [(self.host, self.port, "GET", f"/read?writer={self.writer}", None)]


class DirectProbe(Loop):
    """POST /write to every pod of the StatefulSets @blue and @green at its own address (port
    8080), every @period s, writer "direct-<role>"; the pods' addresses listed from the API
    every 100 ms by a second thread (its own client). `accepted()`: (role, sent, acked, pod) of
    each write a pod accepted; `overlaps()` of those."""

    def __init__(self, env, node, blue=NAME, green=NAME + "-green", period=0.01, timeout=1.0):
        super().__init__(env, node, period, timeout)
        self.env, self.roles = env, {blue: "blue", green: "green"}
        self.targets = {}  # role -> [pod IP]
        self._api = Client(env.box.url, env.box.ca, env.box.env["KBOX_ADMIN_TOKEN"])
        self._lister = threading.Thread(target=self._list, daemon=True)

    def start(self):
        self._lister.start()
        return super().start()

    def _list(self):
        while not self._stop.is_set():
            try:
                code, _, body = self._api.get(f"/api/v1/namespaces/{NS}/pods")
            except OSError:
                code = None
            if code == 200:
                t = {}
                for p in body.get("items") or []:
                    ip = (p.get("status") or {}).get("podIP")
                    for r in p["metadata"].get("ownerReferences") or []:
                        role = self.roles.get(r.get("name")) if r.get("kind") == "StatefulSet" else None
                        if role and ip:
                            t.setdefault(role, []).append(ip)
                self.targets = t
            self._stop.wait(0.1)

    def plan(self, seq):
        return [(ip, PORT, "POST", f"/write?writer=direct-{role}&seq={seq}", role)
                for role, ips in sorted(self.targets.items()) for ip in ips]

    def accepted(self):
        return [(r.role, r.sent, r.acked, r.ans.get("pod")) for r in self.done() if r.ok]

    def overlaps(self):
        return overlaps(self.accepted())


# ------------------------------------------------------------------ the judges


def _is(side):
    """A predicate on an answer: @side itself if callable, else `version == side`."""
    return side if callable(side) else (lambda ans: ans.get("version") == side)


def window(recs, blue="blue", green="green"):
    """The write-unavailable window of a writer's @recs: the instant the first write green
    acknowledged was answered, less the instant the last write blue acknowledged was answered
    (monotonic; negative when blue acknowledged after green had), with @blue and @green
    predicates on an answer or the VERSION each answers. Return: (seconds, last blue Rec, first
    green Rec), (None, ...) when a side never acknowledged."""
    acked = [r for r in recs if r.ok and r.ans]
    g = min((r for r in acked if _is(green)(r.ans)), key=lambda r: r.acked, default=None)
    b = max((r for r in acked if _is(blue)(r.ans)), key=lambda r: r.acked, default=None)
    return (g.acked - b.acked if g and b else None), b, g


def parse_ranges(text):
    """The set of seqs of /all's "a-b,c" ranges."""
    out = set()
    for part in (text or "").split(","):
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    return out


def history_problems(writes, reads, stored):
    """What a writer's and a reader's history break, as lines (none: both rules hold):
    - every acknowledged seq is in @stored (the seqs the service holds at the end);
    - every read answered a seq >= the highest seq acknowledged before the read was sent.
    @writes, @reads: Recs (a read's answer "seq"); @stored: a set of seqs."""
    out = []
    acked = sorted((r for r in writes if r.ok), key=lambda r: r.acked)
    lost = sorted(r.seq for r in acked if r.seq not in stored)
    if lost:
        # who acknowledged them and when (the writer's monotonic clock), to place them among a
        # switch's instants
        who = [(r.seq, r.ans.get("version"), r.ans.get("pod"), r.ans.get("boot"), round(r.sent, 3), round(r.acked, 3))
               for r in acked if r.seq in set(lost[:5])]
        out.append(f"{len(lost)} acknowledged writes not stored: seqs {lost[:10]}{'...' if len(lost) > 10 else ''}"
                   f" (seq, version, pod, boot, sent, acked: {who}; the last acknowledged: "
                   f"{[(r.seq, r.ans.get('version'), round(r.acked, 3)) for r in acked[-3:]]})")
    high, i, stale = -1, 0, []
    for rd in sorted((r for r in reads if r.ok), key=lambda r: r.sent):
        while i < len(acked) and acked[i].acked < rd.sent:
            high = max(high, acked[i].seq)
            i += 1
        got = rd.ans.get("seq")
        if not isinstance(got, int) or got < high:
            stale.append((round(rd.sent, 3), got, high, rd.ans.get("pod"), rd.ans.get("version")))
    if stale:
        out.append(f"{len(stale)} stale reads (sent, answered, acknowledged before, pod, version): {stale[:5]}")
    return out


def overlaps(accepted):
    """Pairs of writes, one accepted by blue and one by green, whose [sent, acked] spans meet:
    both sides took writes at once. @accepted: (role, sent, acked, pod) as DirectProbe keeps."""
    blue = sorted((a for a in accepted if a[0] == "blue"), key=lambda a: a[1])
    green = sorted((a for a in accepted if a[0] == "green"), key=lambda a: a[1])
    out = []
    for g in green:
        out += [(b, g) for b in blue if b[1] <= g[2] and g[1] <= b[2]]
    return out


def call(env, node, method, path, host, port=80, timeout=5.0, io_timeout=2.0):
    """One HTTP request @method @path to @host:@port from inside @node's network namespace (a
    thread of its own), tried again until a 200 answer or @timeout s have passed (0: once), each
    try given @io_timeout s. Return: (the answer's JSON, None) or (None, the last error)."""
    out = {}

    def run():
        try:
            nodeutil.enter_netns(nodeutil.node_netns(env.box.dir, node))
            end = time.monotonic() + timeout
            while True:
                try:
                    with socket.create_connection((host, port), timeout=io_timeout) as s:
                        s.sendall(f"{method} {path} HTTP/1.0\r\nHost: {host}\r\nContent-Length: 0\r\n\r\n"
                                  .encode())
                        data = b""
                        while True:
                            b = s.recv(65536)
                            if not b:
                                break
                            data += b
                    head, _, body = data.partition(b"\r\n\r\n")
                    if head.split(b" ", 2)[1:2] == [b"200"]:
                        out["ans"] = json.loads(body)
                        return
                    out["err"] = head[:100]
                except (OSError, ValueError) as e:
                    out["err"] = repr(e)
                if time.monotonic() > end:
                    return
                time.sleep(0.1)
        except OSError as e:
            out["err"] = repr(e)
    th = threading.Thread(target=run, daemon=True)
    th.start()
    th.join(timeout + io_timeout + 5)
    return out.get("ans"), (None if "ans" in out else out.get("err", "no answer"))


def read_all(env, node, writer, host, port=80, timeout=5.0):
    """GET /all?writer=@writer from @host:@port inside @node's network namespace, tried until an
    answer (or @timeout s). Return: (the set of seqs stored, the answer) or (None, the error)."""
    ans, err = call(env, node, "GET", f"/all?writer={writer}", host, port, timeout)
    if ans is not None:
        return parse_ranges(ans.get("seqs")), ans
    return None, err


STEADY_GAP = 0.5  # s: a freeze or a stop of a side lasts a second or more


def longest_gap(recs):
    """The longest time between the sends of two writes acknowledged one after the other (the
    stretch in which none was): seconds."""
    sent = sorted(r.sent for r in recs if r.ok)
    return max((b - a for a, b in zip(sent, sent[1:])), default=float("inf"))
