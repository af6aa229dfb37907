# SPDX-License-Identifier: MIT
"""xferkit: ferry's controller and agents run against a box with storage, as the
Deployment and the DaemonSet run them (their service accounts, ferry-system), but as
processes of this machine and of each node (nsenter into the node's mount, pid and
cgroup namespaces), so that they share a file:// repository under /var/tmp (each node
has a /tmp of its own). For the end-to-end tests of the volume path (tests/xfer).
"""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import yaml

from kboxtest import Box, Client, check, kubectl_path, skip, wait_until
from kboxd import nodeutil

SYS = "ferry-system"
DEPLOY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "k8s", "deploy")
# a short lease: a controller killed is followed within seconds (the fence as shipped)
LEASE_ARGS = ["--lease-duration", "4", "--renew-deadline", "3", "--retry-period", "1"]


def require(tools=()):
    """What a test of the volume path needs, else skip (no root, a real cluster) or fail:
    the built ferry (meson sets FERRY), kubectl 1.30 or newer, @tools. Return: FERRY."""
    if os.geteuid() != 0:
        skip("the box's storage and nodes need root")
    if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
        skip("runs the agents in the box's nodes; FERRY_TEST_KUBECONFIG names a real cluster")
    ferry = os.environ.get("FERRY", "")
    missing = [] if ferry and os.access(ferry, os.X_OK) else ["FERRY must name the built binary (meson test sets it)"]
    missing += [f"{t} is missing: run tests/install-deps.sh" for t in tools if not shutil.which(t)]
    if not kubectl_path():
        missing.append("kubectl 1.30 or newer is needed (tests/install-deps.sh)")
    for m in missing:
        print(f"FAIL: {m}")
    if missing:
        sys.exit(1)
    return ferry


def rgw():
    """The RGW of tests/run (else FAIL, exit 1): (endpoint, access key, secret key, region, the
    environment of a process that uses them, admin(*args) running tests/s3/s3admin.py). This
    process's own AWS_* settings are dropped: ferry's controller and agents started from it get
    S3 credentials only from the Secrets a test gives them."""
    names = ("FERRY_TEST_S3_ENDPOINT", "FERRY_TEST_S3_ACCESS_KEY", "FERRY_TEST_S3_SECRET_KEY", "FERRY_TEST_S3_REGION")
    missing = [v for v in names if not os.environ.get(v)]
    if missing:
        print(f"FAIL: {', '.join(missing)} not set: run the S3 tests through tests/run, which starts the RGW")
        sys.exit(1)
    ep, ak, sk, region = (os.environ[v] for v in names)
    for v in list(os.environ):
        if v.startswith("AWS_"):
            del os.environ[v]
    env = dict(os.environ, AWS_ACCESS_KEY_ID=ak, AWS_SECRET_ACCESS_KEY=sk, AWS_REGION=region, AWS_ENDPOINT_URL=ep)

    def admin(*args):
        return subprocess.run([sys.executable, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "s3",
                                                            "s3admin.py"), ep] + list(args),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, timeout=120)
    return ep, ak, sk, region, env, admin


class Env:
    """A private box of @config, ferry's binary @ferry, a work directory, processes."""

    def __init__(self, ferry, config, nodes, password, prefix):
        self.ferry_bin = ferry
        self.nodes = list(nodes)
        self.work = tempfile.mkdtemp(prefix=prefix, dir="/var/tmp")
        os.environ["FERRY"] = ferry  # the box's image table: ferry's image (the holder pods) runs it
        self.box = Box(private=True, args=["--config", config])
        self.api = self.box.admin
        self.env = dict(os.environ, HOME=tempfile.mkdtemp(prefix="home-", dir=self.work),
                        KUBECONFIG=self.box.kubeconfig, FERRY_PASSWORD=password)
        self.agents = {}  # node -> Popen (nsenter, the agent its child)
        self.ctrl = []
        self.kubectl_bin = kubectl_path()
        self.kc = {}

    # ---------------------------------------------------------------- the API
    def get(self, path):
        code, _, body = self.api.get(path)
        return body if code == 200 else None

    def create(self, path, obj):
        code, _, body = self.api.post(path, obj)
        assert code == 201, (path, code, body)
        return body

    def items(self, path):
        return [x["metadata"]["name"] for x in (self.get(path) or {}).get("items") or []]

    def kubectl(self, *args):
        return subprocess.run([self.kubectl_bin] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=self.env, timeout=60)

    def ferry(self, *args, timeout=120):
        return subprocess.run([self.ferry_bin] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=self.env, timeout=timeout)

    # ---------------------------------------------------------------- ferry's manifests
    def apply_manifests(self, files=None):
        """kubectl apply of the kustomization's files (all but the Deployment and the DaemonSet:
        the processes here stand for them), or of @files."""
        if files is None:
            k = yaml.safe_load(open(os.path.join(DEPLOY, "kustomization.yaml")))
            files = [f for f in k["resources"] if f not in ("controller.yaml", "agent-daemonset.yaml")]
        return self.kubectl("apply", *sum((["-f", os.path.join(DEPLOY, f)] for f in files), []))

    def kubeconfig_for(self, sa, server=None):
        """A kubeconfig of the box's server (or @server) with @sa's token (TokenRequest), in the
        work directory."""
        if (sa, server) in self.kc:
            return self.kc[(sa, server)]
        code, _, body = self.api.post(f"/api/v1/namespaces/{SYS}/serviceaccounts/{sa}/token",
                                      {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                                       "spec": {"expirationSeconds": 3600}})
        assert code == 201, body
        kc = yaml.safe_load(open(self.box.kubeconfig))
        kc["users"][0]["user"] = {"token": body["status"]["token"]}
        if server:
            kc["clusters"][0]["cluster"]["server"] = server
        path = os.path.join(self.work, f"{sa}{'-' + str(len(self.kc)) if server else ''}.kubeconfig")
        with open(path, "w") as f:
            yaml.safe_dump(kc, f)
        self.kc[(sa, server)] = path
        return path

    # ---------------------------------------------------------------- the processes
    def start_agent(self, node, extra=(), binary=None, env=None):
        """ferry agent in @node's namespaces, with the agent's service account, the box's
        SnapshotMetadata service at its host address; its log appended to agent-<node>.log.
        @binary in place of ferry (FERRY_TEST: the crash points), @env added to its environment."""
        log = open(os.path.join(self.work, f"agent-{node}.log"), "a")
        state = os.path.join(self.work, f"state-{node}")
        os.makedirs(state, exist_ok=True)
        # the box's SnapshotMetadata service where this machine reaches it (the agents run in
        # the host's network: its ClusterIP is for pods)
        port = os.path.join(self.box.dir, "storage", "snapmeta.port")
        if os.path.exists(port) and "--snapshot-metadata-address" not in extra:
            extra = ["--snapshot-metadata-address", "127.0.0.1:" + open(port).read().strip()] + list(extra)
        self.agents[node] = subprocess.Popen(
            ["nsenter", "-t", str(nodeutil.node_pid(self.box.dir, node)), "-m", "-p", "-C", "--",
             binary or self.ferry_bin,
             "-v", "agent", "--kubeconfig", self.kubeconfig_for("ferry-agent"), "--node-name", node, "--no-pin",
             "--no-net", "--metrics-addr", "127.0.0.1:0", "--max-transfers", "4", "--memory", "64M",
             "--state-dir", state] + list(extra), stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            env=dict(os.environ, **env) if env else None)
        return self.agents[node]

    def _agent_pids(self, node):
        p = self.agents.get(node)
        try:
            return [int(k) for k in open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()]
        except (OSError, AttributeError):
            return []

    def kill_agent(self, node):
        """SIGKILL to @node's agent (a node losing its agent mid-transfer); nsenter then exits."""
        for k in self._agent_pids(node):
            os.kill(k, signal.SIGKILL)
        self.agents[node].wait(20)

    def start_controller(self, identity, log, verbose=True, extra=(), fabric=False):
        """ferry controller as the Deployment's container runs it (its service account, ferry-system).
        @fabric: in the box's fabric network namespace, where pods' addresses route (the agents'
        pages), talking to the API server's listener there."""
        pre, kc = [], self.kubeconfig_for("ferry-controller")
        if fabric:
            pre = ["ip", "netns", "exec", nodeutil.fabric_netns(self.box.dir)]
            kc = self.kubeconfig_for("ferry-controller", "https://172.30.0.1:6443")
        self.ctrl.append(subprocess.Popen(
            pre + [self.ferry_bin] + (["-v"] if verbose else []) +
            ["controller", "--kubeconfig", kc, "-n", SYS, "--identity",
             identity, "--metrics-addr", "127.0.0.1:0"] + LEASE_ARGS + list(extra),
            stdout=open(os.path.join(self.work, log), "w"), stderr=subprocess.STDOUT, env=self.env))
        return self.ctrl[-1]

    def controller_metrics(self, log="controller.log"):
        """The controller's /metrics page (its port from the "(port N)" of its log), or ""."""
        import re
        import urllib.request
        try:
            m = re.search(r"\(port (\d+)\)", open(os.path.join(self.work, log), errors="replace").read())
            with urllib.request.urlopen(f"http://127.0.0.1:{m.group(1)}/metrics", timeout=5) as r:
                return r.read().decode()
        except (OSError, AttributeError):
            return ""

    def leader(self):
        return ((self.get(f"/apis/coordination.k8s.io/v1/namespaces/{SYS}/leases/ferry-controller") or {}).get(
            "spec") or {}).get("holderIdentity")

    def kill_controller(self):
        for p in self.ctrl:
            p.kill()
            p.wait()
        self.ctrl.clear()

    def stop_controller(self):
        """SIGTERM: the controller stops its reconcilers, releases the Lease, exits 0."""
        for p in self.ctrl:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
        rcs = [p.returncode for p in self.ctrl]
        self.ctrl.clear()
        return rcs

    def stop_agents(self, ref):
        """SIGTERM to each agent: exit 0, and under ASan+UBSan nothing reported."""
        for node, p in self.agents.items():
            if p.poll() is None:
                for k in self._agent_pids(node):
                    os.kill(k, signal.SIGTERM)
                try:
                    p.wait(20)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        for node, p in self.agents.items():
            log = open(os.path.join(self.work, f"agent-{node}.log"), errors="replace").read()
            bad = [line for line in log.splitlines() if "Sanitizer" in line or "runtime error" in line]
            check(f"the agent of {node} stops on SIGTERM with exit 0 and no sanitizer report",
                  p.returncode == 0 and not bad, (p.returncode, bad[:5]), (0, []), ref)
        self.agents.clear()

    def close(self, ref):
        self.stop_controller()
        self.stop_agents(ref)
        self._unthrottle_all()
        self.box.close()
        shutil.rmtree(self.work, ignore_errors=True)

    def agent_pid(self, node):
        pids = self._agent_pids(node)
        return pids[0] if pids else None

    def watch(self, path, fn, stop=None):
        """fn(object) for every event of a watch of @path, from a thread of its own, the watch
        opened again (from the last resourceVersion) whenever it ends, until @stop is set
        (a threading.Event; None: for the process's life). Return: the thread."""
        import threading

        def run():
            w = Client(self.box.url, self.box.ca, self.box.env["KBOX_ADMIN_TOKEN"])
            rv = None
            while not (stop and stop.is_set()):
                q = {"timeoutSeconds": "2" if stop else "300", "allowWatchBookmarks": "false"}
                if rv:
                    q["resourceVersion"] = rv
                try:
                    code, _, events = w.watch(path, q, timeout=330)
                except OSError:
                    time.sleep(0.1)
                    continue
                if code != 200:
                    time.sleep(0.1)
                    continue
                for ev in events:
                    o = ev.get("object") or {}
                    if ev.get("type") in ("_BROKEN", "ERROR"):
                        rv = None
                        break
                    rv = o.get("metadata", {}).get("resourceVersion", rv)
                    fn(o)
        th = threading.Thread(target=run, daemon=True)
        th.start()
        return th

    # ---------------------------------------------------------------- a slower machine
    def throttle(self, pids, percent):
        """@pids (and their threads) limited to @percent of one CPU by a cgroup of the test's own
        (cpu.max on cgroup v2, cpu.cfs_quota_us on v1), so that a transfer lasts long enough to be
        interrupted where the test chooses; percent None lifts the limit."""
        v2 = os.path.exists("/sys/fs/cgroup/cgroup.controllers")
        base = "/sys/fs/cgroup" if v2 else "/sys/fs/cgroup/cpu"
        cg = os.path.join(base, "ferry-test-slow-" + os.path.basename(self.work))
        os.makedirs(cg, exist_ok=True)
        self.cgroups = getattr(self, "cgroups", set()) | {cg}
        if v2:
            with open("/sys/fs/cgroup/cgroup.subtree_control", "w") as f:
                f.write("+cpu")
            with open(os.path.join(cg, "cpu.max"), "w") as f:
                f.write("max 100000" if percent is None else f"{int(percent * 1000)} 100000")
        else:
            with open(os.path.join(cg, "cpu.cfs_period_us"), "w") as f:
                f.write("100000")
            with open(os.path.join(cg, "cpu.cfs_quota_us"), "w") as f:
                f.write("-1" if percent is None else str(int(percent * 1000)))
        for pid in pids:
            with open(os.path.join(cg, "cgroup.procs"), "w") as f:
                f.write(str(pid))

    def _unthrottle_all(self):
        for cg in getattr(self, "cgroups", ()):
            parent = os.path.dirname(cg)
            try:
                for pid in open(os.path.join(cg, "cgroup.procs")).read().split():
                    try:
                        with open(os.path.join(parent, "cgroup.procs"), "w") as f:
                            f.write(pid)
                    except OSError:
                        pass
                os.rmdir(cg)
            except OSError:
                pass

    # ---------------------------------------------------------------- volumes
    def volume_file(self, pv_name):
        """The backing file of the kbox-disk or kbox-hostpath volume of PV @pv_name, seen from
        the host through the pools' namespace."""
        pools = int(open(os.path.join(self.box.dir, "storage", "pools.pid")).read())
        pv = self.get(f"/api/v1/persistentvolumes/{pv_name}")
        driver = pv["spec"]["csi"]["driver"].split(".")[0]
        handle = pv["spec"]["csi"]["volumeHandle"].rsplit("/", 1)[-1]
        return f"/proc/{pools}/root{self.box.dir}/storage/{driver}/volumes/{handle}.img"

    def unmounted(self, img, timeout=30):
        """Whether no loop device holds @img any more (its last mount gone), within @timeout."""
        return wait_until(lambda: not loops_of(img), timeout, 0.1)


def sha256(path):
    """The SHA-256 of a file or a device, read 4 MiB at a time."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while True:
            b = f.read(4 << 20)
            if not b:
                return h.hexdigest()
            h.update(b)


def loops_of(img):
    """The loop devices whose backing file is named @img (any mount namespace)."""
    import glob
    out = []
    for d in glob.glob("/sys/block/loop*/loop/backing_file"):
        try:
            if os.path.basename(open(d).read().strip().replace(" (deleted)", "")) == os.path.basename(img):
                out.append(d.split("/")[3])
        except OSError:
            pass
    return out
