# SPDX-License-Identifier: MIT
"""kboxd.cluster: the box's nodes, seen from its server: config, network, cgroups, launch, teardown.

Config (DIR/cluster.json, written by `kbox start --nodes N | --config FILE`):

  nodes:                          # one entry per node
  - name: node-1                  # also its hostname and kubernetes.io/hostname
    zone: zone-a                  # topology.kubernetes.io/zone (region: kbox)
    cgroupDriver: cgroupfs        # or systemd: kubelet's two cgroup layouts
    taints: [{key: dedicated, value: infra, effect: NoSchedule}]
    labels: {...}
    capacity: {cpu: "4", memory: 8Gi, pods: "110"}
  kubelet: {backoffInitialSeconds: 10, backoffMaxSeconds: 300, nodeStatusReportSeconds: 300}
  kubeProxy: {minSyncPeriodSeconds: 1, syncDelaySeconds: 0}
  images: [{match: ["*/myimage:*"], entrypoint: [...], binds: [[src, dst]]}, ...]
  storage: {enabled: true, poolSize: 64Gi, snapshotReadySeconds: 1, ...}   # storage.py

The network (all of it inside namespaces of the box's own, so two boxes on one
machine, with the same addresses, never meet, and nothing routes out):

  kbox-<id>-fabric   bridge kbox0 172.30.0.1/24: the API server's second
                     listener (172.30.0.1:6443, the `kubernetes` Service's
                     endpoint); routes 10.244.N.0/24 via node N;
                     `unreachable 10.96.0.0/16` (the service CIDR: a ClusterIP
                     nobody rewrote fails fast with EHOSTUNREACH)
  kbox-<id>-<node>   eth0 172.30.0.(10+N)/24 on the bridge; 10.244.M.0/24 via
                     node M; 10.96.0.0/16 via the fabric; no default route;
                     pods' veths (runtime.py)

The server's certificate carries IP:172.30.0.1 and IP:10.96.0.1 (cli.py), so
in-cluster clients verify it. Node credentials are static tokens minted at
start: system:node:<name> (group system:nodes, bound to the system:node
ClusterRole, standing in for the Node authorizer) and system:kube-proxy (bound
to system:node-proxier), written to the node's kubelet directory.
"""
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time

from . import cgroups, sweep, sysns

# Modules that extend the box with nodes: each is imported in the server (a
# `controllers(box)` function there returns controller threads to run beside the
# scheduler; it runs before the nodes start and may set Cluster.mount_ns, kubelet_extra
# and on_stop) and in every kubelet (importing it may register volumes.PLUGINS /
# NODE_START, sched.EXTRA_FILTERS / PRE_BIND, workloads.CLAIMS_HOOK, api.ADMISSION).
# storage.py: the CSI drivers, PV/PVC binding, snapshots, populators (issue 14).
EXTENSIONS = ["kboxd.storage"]

FABRIC_IP = "172.30.0.1"
API_PORT = 6443
SERVICE_CIDR = "10.96.0.0/16"
CLUSTER_CIDR = "10.244.0.0/16"
PY = "/usr/bin/python3"
HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load(path):
    with open(path) as f:
        text = f.read()
    try:
        cfg = json.loads(text)
    except ValueError:
        import yaml
        cfg = yaml.safe_load(text)
    return normalize(cfg)


def normalize(cfg):
    if not isinstance(cfg, dict) or not isinstance(cfg.get("nodes"), list) or not cfg["nodes"]:
        raise ValueError("the cluster config needs `nodes:`, a non-empty list")
    seen = set()
    out = []
    for i, n in enumerate(cfg["nodes"]):
        if isinstance(n, str):
            n = {"name": n}
        n = dict(n)
        n.setdefault("name", f"node-{i + 1}")
        name = n["name"]
        import re
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", name) or len(name) > 40 or name in seen:
            raise ValueError(f"node name {name!r}: a DNS label of at most 40 characters, unique")
        seen.add(name)
        n.setdefault("zone", "zone-a")
        n.setdefault("region", "kbox")
        n.setdefault("cgroupDriver", "cgroupfs" if i % 2 == 0 else "systemd")
        if n["cgroupDriver"] not in ("cgroupfs", "systemd"):
            raise ValueError(f"node {name}: cgroupDriver is cgroupfs or systemd")
        n.setdefault("taints", [])
        for t in n["taints"]:
            if t.get("effect") not in ("NoSchedule", "PreferNoSchedule", "NoExecute") or not t.get("key"):
                raise ValueError(f"node {name}: a taint needs a key and effect NoSchedule|PreferNoSchedule|NoExecute")
        n.setdefault("labels", {})
        n["capacity"] = dict({"cpu": "4", "memory": "8Gi", "pods": "110"}, **(n.get("capacity") or {}))
        n["index"] = i + 1
        out.append(n)
    if len(out) > 200:
        raise ValueError("at most 200 nodes")
    return {"nodes": out, "kubelet": dict(cfg.get("kubelet") or {}), "kubeProxy": dict(cfg.get("kubeProxy") or {}),
            "images": list(cfg.get("images") or []), "storage": cfg.get("storage", {})}


def simple(n):
    """--nodes N: node-1..N in one zone, cgroup drivers alternating."""
    return normalize({"nodes": [{"name": f"node-{i + 1}"} for i in range(n)]})


def ip_batch(netns, cmds):
    args = ["ip"] + (["-n", netns] if netns else []) + ["-b", "-"]
    r = subprocess.run(args, input="\n".join(cmds) + "\n", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        raise OSError(f"ip {'-n ' + netns if netns else ''}: {r.stderr.strip()}")


class NetnsThread:
    """Run code in another network namespace from the calling thread, and come back."""

    def __init__(self, path):
        self.path = path

    def __enter__(self):
        self.home = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        sysns.setns(self.path, sysns.CLONE_NEWNET)
        return self

    def __exit__(self, *a):
        sysns.setns(self.home, sysns.CLONE_NEWNET)
        os.close(self.home)


def sysctl(path, kv):
    with NetnsThread(path):
        for k, v in kv.items():
            with open("/proc/sys/" + k.replace(".", "/"), "w") as f:
                f.write(str(v))


class Cluster:
    def __init__(self, box, cfg):
        self.box = box
        self.dir = box.dir
        self.cfg = cfg
        self.id = secrets.token_hex(3)
        self.prefix = f"kbox-{self.id}"
        self.fabric = f"{self.prefix}-fabric"
        self.procs = {}
        self.hier = cgroups.hierarchies()
        own = cgroups.own_paths()
        self.bases = {name: mp + own.get(key, "/").rstrip("/") + "/" + self.prefix
                      for name, (mp, key) in self.hier.items() if key in own}
        self.stopping = False
        self.mount_ns = None     # a mount namespace the nodes are made from (the storage pools')
        self.kubelet_extra = {}  # keys added to every kubelet's config
        self.node_binds = []     # [host path, node path]: bound in every node
        self.on_stop = []        # called once the nodes are gone, before the sweep

    @staticmethod
    def extensions():
        return list(EXTENSIONS)

    def node_netns(self, n):
        return f"{self.prefix}-{n['name']}"

    # ---- start
    def start(self):
        for bid, left in sweep.sweep():
            print(f"kbox: swept the leftovers of box {bid}" + (f" (left: {left})" if left else ""), flush=True)
        sweep.write_record({"id": self.id, "pid": os.getpid(), "start": sweep.proc_start(os.getpid()),
                            "dir": self.dir, "netns": [self.fabric] + [self.node_netns(n) for n in self.cfg["nodes"]],
                            "cgroups": sorted(self.bases.values())})
        with open(os.path.join(self.dir, "box-id"), "w") as f:
            f.write(self.id + "\n")
        for name, base in self.bases.items():
            mp = self.hier[name][0]
            cgroups.mkdir(mp, base[len(mp):])
        self.network()
        self.listener = self.api_socket()

    def launch_all(self):
        """After the server answers on the fabric: RBAC, endpoints, tokens, the nodes."""
        self.api_objects()
        for n in self.cfg["nodes"]:
            self.launch(n)
        threading.Thread(target=self.watch_nodes, name="nodes", daemon=True).start()

    def network(self):
        nodes = self.cfg["nodes"]
        subprocess.run(["ip", "netns", "add", self.fabric], check=True)
        for n in nodes:
            subprocess.run(["ip", "netns", "add", self.node_netns(n)], check=True)
        cmds = ["link set lo up", "link add kbox0 type bridge", f"addr add {FABRIC_IP}/24 dev kbox0",
                "link set kbox0 up", f"route add unreachable {SERVICE_CIDR}"]
        for n in nodes:
            i = n["index"]
            cmds += [f"link add n{i} type veth peer name eth0 netns {self.node_netns(n)}",
                     f"link set n{i} master kbox0", f"link set n{i} up",
                     f"route add 10.244.{i}.0/24 via 172.30.0.{10 + i}"]
        ip_batch(self.fabric, cmds)
        # icmp_ratelimit 0: a new inet peer starts with no tokens, so the kernel would drop the
        # first ICMP unreachable to each pod and a failing connect would wait for SYN retries
        fwd = {"net.ipv4.ip_forward": 1, "net.ipv4.conf.all.rp_filter": 0, "net.ipv4.conf.default.rp_filter": 0,
               "net.ipv4.icmp_ratelimit": 0}
        sysctl(f"/run/netns/{self.fabric}", fwd)
        for n in nodes:
            i = n["index"]
            cmds = ["link set lo up", f"addr add 172.30.0.{10 + i}/24 dev eth0", "link set eth0 up",
                    f"route add {SERVICE_CIDR} via {FABRIC_IP}"]
            for m in nodes:
                if m is not n:
                    cmds.append(f"route add 10.244.{m['index']}.0/24 via 172.30.0.{10 + m['index']}")
            ip_batch(self.node_netns(n), cmds)
            sysctl(f"/run/netns/{self.node_netns(n)}", fwd)

    def api_socket(self):
        with NetnsThread(f"/run/netns/{self.fabric}"):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((FABRIC_IP, API_PORT))
            s.listen(128)
        return s

    def api_objects(self):
        """RBAC for node components, the kubernetes Service's endpoints, node tokens."""
        from . import bootstrap
        for (g, v, plural), obj in bootstrap.node_rbac():
            self.box.ensure(g, v, plural, obj)
        ep_addr = {"addresses": [FABRIC_IP], "conditions": {"ready": True}}
        self.box.ensure("discovery.k8s.io", "v1", "endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"kubernetes.io/service-name": "kubernetes"}},
            "addressType": "IPv4", "endpoints": [ep_addr],
            "ports": [{"name": "https", "port": API_PORT, "protocol": "TCP"}]}, replace=True)
        self.box.ensure("", "v1", "endpoints", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": "kubernetes", "namespace": "default",
                         "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
            "subsets": [{"addresses": [{"ip": FABRIC_IP}],
                         "ports": [{"name": "https", "port": API_PORT, "protocol": "TCP"}]}]}, replace=True)

    def launch(self, n):
        nd = os.path.join(self.dir, "nodes", n["name"])
        kd = os.path.join(nd, "kubelet")
        ld = os.path.join(nd, "log")
        for d in (kd, ld, os.path.join(kd, "pki")):
            os.makedirs(d, exist_ok=True)
        with open(os.path.join(self.dir, "ca.crt")) as f, open(os.path.join(kd, "pki", "ca.crt"), "w") as g:
            g.write(f.read())
        for who, user, groups in (("kubelet", f"system:node:{n['name']}", ["system:nodes"]),
                                  ("kube-proxy", "system:kube-proxy", [])):
            tok = self.box.authn.mint_static(user, groups)
            p = os.path.join(kd, f"{who}.token")
            with open(p, "w") as f:
                f.write(tok + "\n")
            os.chmod(p, 0o600)
        i = n["index"]
        kcfg = dict(n, nodeIP=f"172.30.0.{10 + i}", podCIDR=f"10.244.{i}.0/24", clusterCIDR=CLUSTER_CIDR,
                    apiURL=f"https://{FABRIC_IP}:{API_PORT}", ca="/var/lib/kubelet/pki/ca.crt",
                    kubeletToken="/var/lib/kubelet/kubelet.token", kubeProxyToken="/var/lib/kubelet/kube-proxy.token",
                    layersDir="/run/kbox/layers", ferry=os.environ.get("FERRY") or "",
                    images=self.cfg["images"], kubeProxy=self.cfg["kubeProxy"], extensions=list(EXTENSIONS),
                    **self.cfg["kubelet"])
        kcfg.update(self.kubelet_extra)
        with open(os.path.join(kd, "kbox-node.json"), "w") as f:
            json.dump(kcfg, f, indent=1)
        hier = sorted((name, key) for name, (mp, key) in self.hier.items())
        ncfg = {"name": n["name"], "netns": f"/run/netns/{self.node_netns(n)}", "cgroupDriver": n["cgroupDriver"],
                "cgroupDirs": [], "hierarchies": hier, "kubeletDir": kd, "logDir": ld, "python": PY,
                "kboxdParent": HERE, "mountNs": self.mount_ns, "binds": self.node_binds}
        for name, base in self.bases.items():
            mp = self.hier[name][0]
            ncfg["cgroupDirs"].append(cgroups.mkdir(mp, base[len(mp):] + "/" + n["name"]))
        path = os.path.join(nd, "node.json")
        with open(path, "w") as f:
            json.dump(ncfg, f, indent=1)
        logf = open(os.path.join(nd, "node.log"), "a")
        p = subprocess.Popen([PY, "-m", "kboxd.node", path], stdout=logf, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONPATH=HERE), cwd=nd,
                             start_new_session=True)
        logf.close()
        self.procs[n["name"]] = p

    def watch_nodes(self):
        """A node whose kubelet died is a crashed machine: say so in the box's log."""
        while not self.stopping:
            for name, p in list(self.procs.items()):
                if p.poll() is not None and not self.stopping:
                    print(f"kbox: node {name} stopped (exit {p.returncode}); see "
                          f"{self.dir}/nodes/{name}/node.log", flush=True)
                    del self.procs[name]
            time.sleep(1)

    # ---- stop
    def stop(self, timeout=20):
        self.stopping = True
        for p in self.procs.values():
            try:
                p.send_signal(signal.SIGTERM)
            except OSError:
                pass
        deadline = time.time() + timeout
        for name, p in self.procs.items():
            try:
                p.wait(max(0.1, deadline - time.time()))
            except subprocess.TimeoutExpired:
                print(f"kbox: node {name} did not stop in {timeout} s: killed", flush=True)
                p.kill()
                p.wait()
        if getattr(self, "listener", None) is not None:
            self.listener.close()
        for fn in self.on_stop:
            try:
                fn()
            except Exception as e:
                print(f"kbox: at stop: {e}", flush=True)
        left = sweep.clean({"id": self.id, "dir": self.dir, "netns": [self.fabric] +
                            [self.node_netns(n) for n in self.cfg["nodes"]], "cgroups": sorted(self.bases.values())})
        if left:
            print(f"kbox: left behind: {left}", file=sys.stderr, flush=True)
        return left
