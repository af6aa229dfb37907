# SPDX-License-Identifier: MIT
"""warmkit: two clusters and one repository, for the tests of a warm migration (issue 19).

Each cluster is a private box of two-zones.yaml (tests/xfer/xferkit.Env: its own nodes and
storage, `ferry controller` and a `ferry agent` per node as processes under their service
accounts). Both use one file:// repository (a directory under the source's work directory,
which every node sees: /var/tmp is the host's), through a Repository `default` with the
Secret `repo-password`; the target's Repository is ReadOnly and syncs every second.

What a migration's stages do, as calls: a Backup waited for (`backup`), a Backup brought by
sync (`synced`), a Restore waited for (`restore`), a claim given its node (`select_node`), a
snapshot written over a claim as a delta (`start_delta`, `wait_transfers`), a workload scaled
(`scale`), a volume's bytes (`volume_sum`, `fsck`). The application (`make_app`), namespace
shop: a StatefulSet `web` of one replica with two ext4 claims whose pod changes files on both
every 100 ms and serves /data over HTTP behind the Service `web`. `Probe`: requests to an
address from inside a box's node, at 25 Hz, each recorded, so that a window without service
can be measured (`window`). `diagnose`: what a failed step leaves to read.
"""
import hashlib
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
sys.path.insert(0, os.path.join(HERE, "..", "xfer"))
import xferkit  # noqa: E402
from kboxd import nodeutil  # noqa: E402
from kboxtest import check, eq, wait_until  # noqa: E402

CONFIG = os.path.join(HERE, "two-zones.yaml")
NODES = ["node-a1", "node-b1"]
SYS = "ferry-system"
API = "/apis/ferry.io/v1alpha1"
MiB = 1 << 20
DONE = ("Completed", "PartiallyFailed", "Failed", "FailedValidation")

# ------------------------------------------------------------------ the two clusters


def start(ferry, password, prefix, read_only=False, sync_period=None, identity="warm", config=CONFIG,
          nodes=NODES):
    """A cluster: a box of @config (whose nodes are @nodes), ferry's manifests, the Snapshot kind's
    VolumePopulator. The repository comes later (`use_repository`): the source's directory holds
    it."""
    env = xferkit.Env(ferry, config, nodes, password, prefix)
    env.identity = identity
    env.read_only = read_only
    env.sync_period = sync_period
    env.password = password
    r = env.apply_manifests()
    eq(f"{identity}: kubectl apply of ferry's manifests", (r.returncode, r.stderr.strip()[-300:]), (0, ""),
       "k8s/deploy")
    r = env.kubectl("apply", "-f", os.path.join(xferkit.DEPLOY, "populator-snapshots.yaml"))
    eq(f"{identity}: kubectl apply of the Snapshot kind's VolumePopulator", (r.returncode, r.stderr.strip()), (0, ""),
       "control/xfer/README.md")
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/repositories")[0] == 200, 20, 0.1)
    return env


def use_repository(env, url):
    """The Secret and the Repository `default` on @url; the agents and the controller."""
    env.repo = url
    env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": env.password}})
    spec = {"url": url, "passwordSecret": {"name": "repo-password"}}
    if env.read_only:
        spec["accessMode"] = "ReadOnly"
    if env.sync_period:
        spec["syncPeriod"] = env.sync_period
    env.create(f"{API}/namespaces/{SYS}/repositories", {"apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
                                                        "metadata": {"name": "default"}, "spec": spec})
    for n in env.nodes:
        env.start_agent(n)
    env.start_controller(env.identity, "controller.log", extra=["--kube-api-qps", "100", "--kube-api-burst", "200"])
    check(f"{env.identity}: ferry controller leads", wait_until(lambda: env.leader() == env.identity, 20, 0.1),
          env.leader(), env.identity, "control/operator")
    ok = wait_until(lambda: ((env.get(f"{API}/namespaces/{SYS}/repositories/default") or {}).get("status") or {}).get(
        "phase") == "Available", 30, 0.2)
    check(f"{env.identity}: the Repository default is Available", ok,
          (env.get(f"{API}/namespaces/{SYS}/repositories/default") or {}).get("status"), "Available",
          "control/cluster/README.md")


def pair(ferry, password, configs=(CONFIG, CONFIG), nodes=NODES, copy=False):
    """(source, target, repository URL): both clusters on one repository, `ferry init` once; the
    source a box of @configs[0], the target of @configs[1], each with the nodes @nodes. With @copy,
    two repositories, one per cloud (issue 21): the source's (the URL returned), and the target's
    own, `ferry init --copy-keys-from` the source's, in dst.repo; the target also holds the Secret
    COPY_SECRET with the source's password (spec.copy.from of the migration)."""
    src = start(ferry, password, "ferry-warm-src-", identity="warm-source", config=configs[0], nodes=nodes)
    dst = start(ferry, password, "ferry-warm-dst-", read_only=not copy, sync_period="1s", identity="warm-target",
                config=configs[1], nodes=nodes)
    url = "file://" + os.path.join(src.work, "repo")
    r = src.ferry("init", "--repo", url)
    eq("ferry init of the shared file:// repository", (r.returncode, r.stderr.strip()[-200:]), (0, ""),
       "control/repo")
    own = url
    if copy:
        own = "file://" + os.path.join(dst.work, "repo")
        r = subprocess.run([ferry, "init", "--repo", own, "--copy-keys-from", url], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=120,
                           env=dict(dst.env, FERRY_FROM_PASSWORD=password))
        eq("the target's own repository: ferry init --copy-keys-from the source's", (r.returncode,
                                                                                   r.stderr.strip()[-200:]),
           (0, ""), "issue 21: two repositories")
        dst.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
            "name": COPY_SECRET}, "stringData": {"password": password}})
    use_repository(src, url)
    use_repository(dst, own)
    return src, dst, url


COPY_SECRET = "source-repo-password"
SOURCE_ROLE = os.path.join(HERE, "..", "..", "k8s", "deploy", "migrate-source-rbac.yaml")
READER = "ferry-migration-reader"


def reader_kubeconfig(src):
    """The source's reader: migrate-source-rbac.yaml applied, bound to a service account whose
    token's kubeconfig is returned (as its header tells a user to do)."""
    r = src.kubectl("apply", "-f", SOURCE_ROLE)
    eq("source: kubectl apply of migrate-source-rbac.yaml", (r.returncode, r.stderr.strip()), (0, ""),
       "issue 19: warm migration")
    src.create(f"/api/v1/namespaces/{SYS}/serviceaccounts",
               {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": READER}})
    src.create("/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", {
        "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": READER},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ferry-migration-source"},
        "subjects": [{"kind": "ServiceAccount", "name": READER, "namespace": SYS}]})
    return src.kubeconfig_for(READER)


def repo_bytes(url):
    """{"data": bytes of data/ (packs, and the .tmp- files an interrupted upload leaves), "index":
    bytes of index/, "packs": complete packs (those with an index/ object)} of the file://
    repository @url: what was uploaded into it, since nothing here deletes from it."""
    root = url[len("file://"):]
    out = {"data": 0, "index": 0, "packs": 0}
    for sub in ("data", "index"):
        for d, _, files in os.walk(os.path.join(root, sub)):
            for f in files:
                try:
                    out[sub] += os.path.getsize(os.path.join(d, f))
                except OSError:
                    pass
                out["packs"] += sub == "index"
    return out


def close(envs, ref):
    """Each cluster's processes and box, the last first (the first holds the repository)."""
    for env in reversed([e for e in envs if e]):
        try:
            env.close(ref)
        except Exception as e:  # the others still go
            print(f"note: closing {getattr(env, 'identity', '?')}: {e!r}", flush=True)


# ------------------------------------------------------------------ the application

NS = "shop"
LABELS = {"app": "web"}
CLAIMS = ["data-web-0", "logs-web-0"]
# the file served at /count is the writer's counter; it goes on where a copy of the volumes left it
WRITER = (
    'cd /data; [ -f index.html ] || echo "shop web" > index.html; httpd -p 8080 -h /data; '
    'i=$(cat count 2>/dev/null || echo 0); '
    'while :; do i=$((i + 1)); '
    'dd if=/dev/urandom of=/data/f$((i % 4)) bs=4096 count=1 seek=$(( (i / 4) % 256 )) conv=notrunc,fsync '
    '2>/dev/null; '
    'echo "$i $(date +%s)" | dd of=/logs/journal oflag=append conv=notrunc,fsync 2>/dev/null; '
    'head -c 2048 /dev/urandom > /logs/last.tmp; mv /logs/last.tmp /logs/last; '
    'echo $i > count.tmp; mv count.tmp count; sleep 0.1; done')


def app_objects(size="64Mi", storage_class="kbox-disk", node_selector=None):
    """(path, object) to create, in order: the namespace, the Service, the StatefulSet (its pods
    with @node_selector, if any)."""
    claim = {"accessModes": ["ReadWriteOnce"], "storageClassName": storage_class,
             "resources": {"requests": {"storage": size}}}
    objs = [
        ("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}}),
        (f"/api/v1/namespaces/{NS}/services", {"apiVersion": "v1", "kind": "Service", "metadata": {
            "name": "web", "labels": LABELS}, "spec": {"selector": LABELS, "ports": [
                {"name": "http", "port": 80, "targetPort": 8080}]}}),
        (f"/apis/apps/v1/namespaces/{NS}/statefulsets", {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {
            "name": "web", "labels": LABELS}, "spec": {
            "replicas": 1, "serviceName": "web", "selector": {"matchLabels": LABELS},
            "template": {"metadata": {"labels": LABELS}, "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [{"name": "web", "image": "busybox", "command": ["sh", "-ec", WRITER],
                                "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080},
                                                   "periodSeconds": 1},
                                "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                 {"name": "logs", "mountPath": "/logs"}]}]}},
            "volumeClaimTemplates": [{"metadata": {"name": n, "labels": LABELS}, "spec": claim}
                                     for n in ("data", "logs")]}}),
    ]
    if node_selector:
        objs[2][1]["spec"]["template"]["spec"]["nodeSelector"] = dict(node_selector)
    return objs


def make_app(env, node_selector=None):
    for path, obj in app_objects(node_selector=node_selector):
        env.create(path, obj)


def ready(env, timeout=120):
    sts = f"/apis/apps/v1/namespaces/{NS}/statefulsets/web"
    return wait_until(lambda: ((env.get(sts) or {}).get("status") or {}).get("readyReplicas") == 1, timeout, 0.2)


def pods(env):
    return [p["metadata"]["name"] for p in (env.get(f"/api/v1/namespaces/{NS}/pods") or {}).get("items") or []]


def scale(env, replicas, timeout=60):
    """The StatefulSet web at @replicas; with 0, waited for until its pod is gone. Return: seconds."""
    t = time.time()
    code, _, body = env.api.patch(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web", {"spec": {"replicas": replicas}})
    assert code == 200, (code, body)
    if replicas == 0:
        wait_until(lambda: not pods(env), timeout, 0.05)
    return time.time() - t


def service_ip(env, name="web"):
    return ((env.get(f"/api/v1/namespaces/{NS}/services/{name}") or {}).get("spec") or {}).get("clusterIP")


def claim_pvs(env):
    """{claim: its PV's name} of the application's claims."""
    out = {}
    for c in CLAIMS:
        out[c] = ((env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims/{c}") or {}).get("spec") or {}).get(
            "volumeName")
    return out


# ------------------------------------------------------------------ the stages as calls


def status(env, kind, name):
    return (env.get(f"{API}/namespaces/{SYS}/{kind}/{name}") or {}).get("status") or {}


def backup(env, name, timeout=120, **spec):
    """A Backup of the namespace (@spec added), waited for. Return: (status, seconds)."""
    t = time.time()
    env.create(f"{API}/namespaces/{SYS}/backups", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Backup", "metadata": {"name": name},
        "spec": dict({"includedNamespaces": [NS], "storageLocation": "default"}, **spec)})
    st = wait_until(lambda: status(env, "backups", name).get("phase") in DONE and status(env, "backups", name),
                    timeout, 0.1) or status(env, "backups", name)
    return st, time.time() - t


def synced(env, name, timeout=30):
    """The Backup @name as backup sync brings it (Completed). Return: (status, seconds)."""
    t = time.time()
    st = wait_until(lambda: status(env, "backups", name).get("phase") in DONE and status(env, "backups", name),
                    timeout, 0.1) or status(env, "backups", name)
    return st, time.time() - t


def restore(env, name, backup_name, timeout=120, during=None, **spec):
    """A Restore of @backup_name (@spec added), waited for; @during() called while it runs
    (until it returns true). Return: (status, seconds)."""
    t = time.time()
    env.create(f"{API}/namespaces/{SYS}/restores", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Restore", "metadata": {"name": name},
        "spec": dict({"backupName": backup_name}, **spec)})
    todo = [during] if during else []

    def done():
        if todo and todo[0]():
            todo.clear()
        st = status(env, "restores", name)
        return st.get("phase") in DONE and st
    st = wait_until(done, timeout, 0.1) or status(env, "restores", name)
    return st, time.time() - t


def note(msg):
    print(f"note: {msg}", flush=True)


def stamp(env, pv):
    """The ferry.io/stamp of PV @pv (what its volume holds) as a dict of its lines."""
    text = ((env.get(f"/api/v1/persistentvolumes/{pv}") or {}).get("metadata", {}).get("annotations") or {}).get(
        "ferry.io/stamp") or ""
    return dict(ln.split(" ", 1) for ln in text.splitlines() if " " in ln)


def select_node(env, node, claims=CLAIMS, ns=NS):
    """Each of @claims that exists and has no node: volume.kubernetes.io/selected-node @node (what
    the scheduler writes for a WaitForFirstConsumer claim once its pod is placed; here no pod
    will come until the cutover). Return: whether every one of @claims has it now."""
    have = 0
    for c in claims:
        path = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{c}"
        obj = env.get(path)
        if not obj:
            continue
        if (obj["metadata"].get("annotations") or {}).get("volume.kubernetes.io/selected-node") != node:
            code, _, _ = env.api.patch(path, {"metadata": {"annotations": {
                "volume.kubernetes.io/selected-node": node}}})
            if code != 200:
                continue
        have += 1
    return have == len(claims)


def start_delta(env, name, volume, snap, onto, claim):
    """A VolumeTransfer @name in ferry-system that writes @snap of @volume over @claim, only the
    chunks in which it differs from @onto (None: the whole snapshot). Return: when it was made
    (for `wait_transfers`)."""
    spec = {"direction": "restore", "volume": volume, "snapshotID": snap,
            "repository": {"name": "default", "url": env.repo, "passwordSecretRef": {"name": "repo-password"}},
            "target": {"namespace": NS, "persistentVolumeClaim": claim, "overwrite": True}}
    if onto:
        spec["onto"] = onto
    t = time.time()
    env.create(f"{API}/namespaces/{SYS}/volumetransfers", {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer",
                                                           "metadata": {"name": name}, "spec": spec})
    return t


def wait_transfers(env, started, timeout=90):
    """{name: (status, seconds to Completed/Failed, seconds until cleaned up)} of the transfers
    @started ({name: start time}), all waited for."""
    out, ended = {}, {}
    deadline = time.time() + timeout
    while len(out) < len(started) and time.time() < deadline:
        for name, t in started.items():
            if name in out:
                continue
            st = status(env, "volumetransfers", name)
            if st.get("phase") in ("Completed", "Failed") and name not in ended:
                ended[name] = time.time() - t
            if name in ended and st.get("cleanedUp"):
                out[name] = (st, ended[name], time.time() - t)
        time.sleep(0.05)
    for name in started:
        if name not in out:
            out[name] = (status(env, "volumetransfers", name), ended.get(name), None)
    return out


# ------------------------------------------------------------------ volumes


def volume_sum(env, pv, timeout=30):
    """SHA-256 of the backing file of PV @pv once no loop device holds it (None if one still does)."""
    img = env.volume_file(pv)
    if not env.unmounted(img, timeout):
        return None
    h = hashlib.sha256()
    with open(img, "rb") as f:
        while True:
            b = f.read(4 * MiB)
            if not b:
                return h.hexdigest()
            h.update(b)


def fsck(env, pv):
    """(exit status, output tail) of e2fsck -fn (read-only) of PV @pv's backing file."""
    r = subprocess.run(["e2fsck", "-fn", env.volume_file(pv)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=60)
    return r.returncode, r.stdout[-600:]


# ------------------------------------------------------------------ the probe



# a time without an answer this long is an outage: many of the probe's periods and timeouts, far
# below any stop (a scale-down, a fence); a single probe timed out on a busy 2-core machine is not
OUTAGE_S = 1.0


class Probe:
    """GET http://@host:@port@path from a thread of its own inside the network namespace of
    @env's node @node (the box's addresses are reached only from there: tests/kbox/README.md
    "The network"), every 1/@hz s, each answer recorded as (time, ok, body): ok when the status is
    200. A request that gets nothing within @timeout s fails. start() / stop()."""

    def __init__(self, env, node, host, port=80, path="/count", hz=25, timeout=0.2):
        self.netns = nodeutil.node_netns(env.box.dir, node)
        self.host, self.port, self.path = host, port, path
        self.period, self.timeout = 1.0 / hz, timeout
        self.samples = []
        self.error = None
        self._stop = threading.Event()
        self._th = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self._th.start()
        return self

    def stop(self):
        self._stop.set()
        self._th.join(10)

    def _once(self):
        try:
            with socket.create_connection((self.host, self.port), timeout=self.timeout) as s:
                s.settimeout(self.timeout)
                s.sendall(f"GET {self.path} HTTP/1.0\r\nHost: {self.host}\r\n\r\n".encode())
                data = b""
                while True:
                    b = s.recv(4096)
                    if not b:
                        break
                    data += b
        except OSError:
            return False, None
        head, _, body = data.partition(b"\r\n\r\n")
        ok = head.startswith(b"HTTP/1.") and head.split(b" ", 2)[1:2] == [b"200"]
        return ok, body.decode(errors="replace").strip() if ok else None

    def _run(self):
        # setns(2) of a network namespace moves the calling thread only: this one, for its life
        try:
            nodeutil.enter_netns(self.netns)
        except OSError as e:
            self.error = e
            return
        nxt = time.time()
        while not self._stop.is_set():
            t = time.time()
            ok, body = self._once()
            self.samples.append((t, ok, body))
            nxt += self.period
            time.sleep(max(0.0, nxt - time.time()))

    # ---------------------------------------------------------------- what it saw
    def last_ok(self, before=None):
        """The last sample that succeeded (before time @before): (time, ok, body) or None."""
        return next((s for s in reversed(list(self.samples)) if s[1] and (before is None or s[0] < before)), None)

    def first_ok(self, after=0.0):
        return next((s for s in list(self.samples) if s[1] and s[0] >= after), None)

    def failures(self, since=0.0, until=None):
        return sum(1 for s in list(self.samples) if not s[1] and s[0] >= since and (until is None or s[0] < until))

    def longest_gap(self, since=0.0, until=None):
        """The longest time without an answer in [@since, @until): from one success (or @since) to
        the next (or the last sample). A probe that timed out on a busy machine is a gap of its
        period plus its timeout; a service that stopped answering, one as long as it was down."""
        s = [x for x in list(self.samples) if x[0] >= since and (until is None or x[0] < until)]
        if not s:
            return None
        gap, last = 0.0, since
        for t, ok, _ in s:
            if ok:
                gap, last = max(gap, t - last), t
        return max(gap, s[-1][0] - last) if not s[-1][1] else gap

    def rate(self):
        """Requests a second over the probe's life."""
        s = list(self.samples)
        return (len(s) - 1) / (s[-1][0] - s[0][0]) if len(s) > 1 and s[-1][0] > s[0][0] else 0.0


def window(before, after, t):
    """Seconds without service around a switch after time @t from Probe @before to Probe @after:
    from @before's last success before @after's first success after @t to that success (None if
    either lacks one). The switch may come well after @t (a cutover waits for a converged round)."""
    b = after.first_ok(t)
    a = before.last_ok(b[0]) if b else None
    return (b[0] - a[0]) if a and b else None


def diagnose(env, label):
    """What a failed step leaves to read: the StatefulSet's status, each pod's phase, conditions
    and container states, the claims, the namespace's last events."""
    print(f"note: {label}: {getattr(env, 'identity', '')} diagnosis", flush=True)
    sts = env.get(f"/apis/apps/v1/namespaces/{NS}/statefulsets/web") or {}
    print(f"  statefulset: spec.replicas {sts.get('spec', {}).get('replicas')} status {sts.get('status')}", flush=True)
    for p in (env.get(f"/api/v1/namespaces/{NS}/pods") or {}).get("items") or []:
        s = p.get("status") or {}
        print(f"  pod {p['metadata']['name']} on {p['spec'].get('nodeName')}: {s.get('phase')} "
              f"{[(c.get('type'), c.get('status'), c.get('reason')) for c in s.get('conditions') or []]} "
              f"{[c.get('state') for c in s.get('containerStatuses') or []]} ip {s.get('podIP')}", flush=True)
    for c in (env.get(f"/api/v1/namespaces/{NS}/persistentvolumeclaims") or {}).get("items") or []:
        print(f"  claim {c['metadata']['name']}: {(c.get('status') or {}).get('phase')} {c['spec'].get('volumeName')}"
              f" {c['metadata'].get('annotations')}", flush=True)
    ev = (env.get(f"/api/v1/namespaces/{NS}/events") or {}).get("items") or []
    for e in ev[-15:]:
        print(f"  event {e.get('involvedObject', {}).get('kind')}/{e.get('involvedObject', {}).get('name')}: "
              f"{e.get('reason')}: {e.get('message')}", flush=True)
    svc = env.get(f"/api/v1/namespaces/{NS}/services/web") or {}
    print(f"  service web: {svc.get('spec')}", flush=True)
