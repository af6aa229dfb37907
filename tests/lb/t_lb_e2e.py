#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_lb_e2e: the socket load balancer in Kubernetes, end to end in a box of its own
(issue 22 "Tests", the Kubernetes half).

ferry as shipped (`kubectl apply -k k8s/deploy`: the agent's DaemonSet and its RBAC) in
a one-node box whose pods are real processes in real cgroups and network namespaces
behind kube-proxy's iptables rules. Three kbox/web pods behind a ClusterIP annotated
ferry.io/socket-lb: "true"; clients are pods of the box (its namespaces have no route
out of the machine), run with `kbox exec` in their container's cgroup. Checks:
- the agent programs the Service (`ferry lb status` in the node: 3 backends, the pods'
  addresses), and a client pod's connections are balanced by ferry: answers from all
  three pods, getpeername() is the ClusterIP, and the node has no conntrack entry
  addressed to the ClusterIP for them (kube-proxy's DNAT would make one per connection);
- the Deployment scaled 3 -> 2: once the table has 2 backends, no connection reaches
  the removed pod;
- a pod with a mesh sidecar (a container named istio-proxy) is left alone: its
  connections go through kube-proxy's rules (one DNAT conntrack entry each),
  and `ferry lb status` lists one skipped cgroup;
- an annotated Service without ready endpoints: connect() fails with ECONNREFUSED at
  once (under 1 s), the table says refused, and the client pod sent no SYN; deleted, it
  leaves the table;
- the annotation removed: the agent removes the Service and kube-proxy serves it;
- the annotation back, and a Service with sessionAffinity ClientIP: one client pod's
  connections all reach one pod;
- the agent's pod deleted: while the DaemonSet replaces it, the pinned balancer goes on
  (no DNAT), and the new agent takes the table over (scaled back to 3: 3 backends);
- `ferry lb disable` (annotation back on first): pins gone, kube-proxy serves again.
CI budget of the suite: 2 minutes. Timing figures go to stdout only.
"""
import json
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
from kboxtest import Objects, apply_ferry, check, e2e_box, e2e_require, eq, finish, ready, wait_until  # noqa: E402
from kboxd import nodeutil  # noqa: E402

REF = "issue 22 Tests"
NODE = "node-l1"
NS = "shop"
N = 60  # connections per round
FERRY, KUBECTL = e2e_require(btf=True)

T0 = time.time()
box, ENV = e2e_box(NODE, "kbox-lb-home-")
api = box.admin
D = box.dir
NETNS = nodeutil.node_netns(D, NODE)

# the client, run in a pod's container: N connections to IP:PORT, GET /hostname on each
CLIENT = r"""
import errno, json, socket, sys, time
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {"backends": {}, "errors": {}, "peer_bad": 0, "ms_max": 0.0}
def tx():
    return int(open("/sys/class/net/eth0/statistics/tx_packets").read())
tx0 = tx()
for _ in range(n):
    t = time.monotonic()
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((ip, port))
        if s.getpeername() != (ip, port):
            out["peer_bad"] += 1
        s.sendall(b"GET /hostname HTTP/1.0\r\nHost: web\r\n\r\n")
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        name = data.split(b"\r\n\r\n", 1)[-1].decode().strip()
        out["backends"][name] = out["backends"].get(name, 0) + 1
    except OSError as e:
        k = errno.errorcode.get(e.errno, str(e)) if e.errno else type(e).__name__
        out["errors"][k] = out["errors"].get(k, 0) + 1
    finally:
        s.close()
    out["ms_max"] = max(out["ms_max"], (time.monotonic() - t) * 1e3)
out["tx_packets"] = tx() - tx0
print(json.dumps(out))
"""


objects = Objects(api)
get, create, pods = objects.get, objects.create, objects.pods


def connect(pod, ip, port, n, container=None):
    argv = [os.path.join(SRC, "tests", "kbox", "kbox"), "exec", D, f"{NS}/{pod}"]
    if container:
        argv += ["-c", container]
    r = subprocess.run(argv + ["--", "/usr/bin/python3", "-c", CLIENT, ip, str(port), str(n)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"backends": {}, "errors": {"exec": r.returncode}, "stderr": r.stderr[-300:], "peer_bad": 0}


def lb_status():
    """`ferry lb status` in the node (its own bpffs)."""
    r = subprocess.run(["nsenter", "-t", str(nodeutil.node_pid(D, NODE)), "-m", "-p", FERRY, "lb", "status"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return r.stdout + r.stderr


def lb_shares(ip, port=80):
    """backend address -> ferry_lb_backend_share on the agent's /metrics for ip:port/tcp"""
    agents = [p for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent") if ready(p)]
    if not agents:
        return {}
    r = subprocess.run(["ip", "netns", "exec", nodeutil.node_netns(D, NODE), "curl", "-s", "-f", "--max-time", "5",
                        f"http://{agents[0]['status']['podIP']}:9464/metrics"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r'ferry_lb_backend_share\{.*address="' + re.escape(f"{ip}:{port}/tcp") +
                     r'",backend="([^"]+)"\} (\S+)$', line)
        if m:
            out[m.group(1).rsplit(":", 1)[0]] = float(m.group(2))
    return out


def backends_of(status, ip, port=80):
    """the backends the table of ip:port/tcp holds, or None if it is not there"""
    lines = status.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"service {ip}:{port}/tcp "):
            bes = []
            for b in lines[i + 1:]:
                if not b.startswith("  backend "):
                    break
                bes.append(b.split()[1].rsplit(":", 1)[0])
            return sorted(bes)
    return None


def dnat_flows(ip):
    """the node's conntrack entries whose original destination is ip: kube-proxy's DNATs (a
    connection balanced at connect() is addressed to its pod from the start). Each one stays
    (TIME_WAIT: 120 s) longer than this test runs. (iptables counters would not do: each
    kube-proxy sync rewrites the rules and resets them.)"""
    r = subprocess.run(["ip", "netns", "exec", NETNS, "cat", "/proc/net/nf_conntrack"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    flows = set()
    for line in r.stdout.splitlines():
        m = re.search(r"src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)", line)
        if m and m.group(2) == ip:
            flows.add((m.group(1), m.group(3), m.group(4)))
    return flows


def proxy_synced(ips):
    """kube-proxy's last sync programmed exactly @ips for shop/web:http (kbox-proxy.json): its rules
    lag the EndpointSlice by up to its 1 s minimum sync period, and a round through them before
    that can be DNATed to a pod already gone (ENETUNREACH)"""
    try:
        st = json.load(open(os.path.join(D, "nodes", NODE, "kubelet", "kbox-proxy.json")))
    except (OSError, ValueError):
        return False
    return sorted(e.rsplit(":", 1)[0] for e in st.get("services", {}).get(f"{NS}/web:http", [])) == sorted(ips)


def annotate(name, value):
    code, _, body = api.patch(f"/api/v1/namespaces/{NS}/services/{name}",
                              {"metadata": {"annotations": {"ferry.io/socket-lb": value}}})
    assert code == 200, (code, body)


# ---------------------------------------------------------------- ferry as shipped
apply_ferry(KUBECTL, ENV)

create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
labels = {"app": "web"}
create(f"/apis/apps/v1/namespaces/{NS}/deployments", {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {"replicas": 3, "selector": {"matchLabels": labels},
             "template": {"metadata": {"labels": labels}, "spec": {
                 "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "web", "image": "kbox/web:1",
                                 "ports": [{"name": "http", "containerPort": 8080}],
                                 "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080},
                                                    "periodSeconds": 1}}]}}}})
svc = create(f"/api/v1/namespaces/{NS}/services", {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "annotations": {"ferry.io/socket-lb": "true"}},
    "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
VIP = svc["spec"]["clusterIP"]
empty = create(f"/api/v1/namespaces/{NS}/services", {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "empty", "annotations": {"ferry.io/socket-lb": "true"}},
    "spec": {"selector": {"app": "nobody"}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
EMPTY_VIP = empty["spec"]["clusterIP"]
sleeper = {"name": "app", "image": "python:3", "command": ["sleep", "100000"]}
create(f"/api/v1/namespaces/{NS}/pods", {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
                                         "spec": {"terminationGracePeriodSeconds": 0, "containers": [sleeper]}})
create(f"/api/v1/namespaces/{NS}/pods", {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "meshed"},
    "spec": {"terminationGracePeriodSeconds": 0,
             "containers": [sleeper, {"name": "istio-proxy", "image": "python:3", "command": ["sleep", "100000"]}]}})

ok = wait_until(lambda: any(ready(p) for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent")) and
                len([p for p in pods(NS, "app%3Dweb") if ready(p)]) == 3 and
                ready(get(f"/api/v1/namespaces/{NS}/pods/client")) and
                ready(get(f"/api/v1/namespaces/{NS}/pods/meshed")), 90, 0.3)
check("the agent, three web pods and the two client pods are Ready", ok,
      [(p["metadata"]["name"], ready(p)) for ns in ("ferry-system", NS) for p in pods(ns, "")], "Ready", REF)
print(f"note: everything Ready {time.time() - T0:.1f} s after the start", flush=True)
if not ok:
    finish()
WEB = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods(NS, "app%3Dweb")}

# ---------------------------------------------------------------- balanced by ferry
st = wait_until(lambda: (lambda s: s if backends_of(s, VIP) == sorted(WEB.values()) else None)(lb_status()), 20, 0.3)
check("ferry lb status in the node: the Service's ClusterIP with the three pods as backends", st,
      lb_status(), f"{VIP}:80 -> {sorted(WEB.values())}", REF)
print(f"note: programmed {time.time() - T0:.1f} s after the start", flush=True)
sh = wait_until(lambda: (lambda x: x if len(x) == 3 else None)(lb_shares(VIP)), 5, 0.3) or {}
check("the agent's /metrics gives each of the three pods ferry_lb_backend_share 1/3 of the ClusterIP's port",
      sorted(sh) == sorted(WEB.values()) and all(abs(v - 1 / 3) < 1e-3 for v in sh.values()), sh, "1/3 each",
      "issue 23: per-backend share series on the agents' /metrics")
before = dnat_flows(VIP)
c = connect("client", VIP, 80, N)
print("note: balanced:", json.dumps(c), flush=True)
eq("a client pod's connections to the ClusterIP: all answered, by all three pods",
   (sum(c["backends"].values()), sorted(c["backends"]), c["errors"]), (N, sorted(WEB), {}), REF)
eq("... getpeername() is the ClusterIP on every one", c["peer_bad"], 0, "bpf/ebpf_lb.h getpeername4")
eq("... and the node has no conntrack entry for the ClusterIP from them (no DNAT by kube-proxy)",
   len(dnat_flows(VIP) - before), 0, REF)

# ---------------------------------------------------------------- a pod with a mesh sidecar
st = wait_until(lambda: (lambda s: s if "skipped cgroup " in s else None)(lb_status()), 10, 0.2)
check("ferry lb status lists the meshed pod's cgroup as skipped", st, lb_status(), "skipped cgroup", REF)
check("kube-proxy has the three pods", wait_until(lambda: proxy_synced(WEB.values()), 10, 0.2), None, None, REF)
before = dnat_flows(VIP)
c = connect("meshed", VIP, 80, 20, container="app")
print("note: meshed:", json.dumps(c), flush=True)
eq("the meshed pod's connections are served ...", (sum(c["backends"].values()), c["errors"]), (20, {}), REF)
eq("... through kube-proxy's rules: one DNAT (conntrack entry to the ClusterIP) per connection",
   len(dnat_flows(VIP) - before), 20, REF)

# ---------------------------------------------------------------- no ready endpoints
st = wait_until(lambda: (lambda s: s if f"service {EMPTY_VIP}:80/tcp" in s else None)(lb_status()), 10, 0.2)
check("the Service without endpoints is in the table, refusing", st and re.search(
    re.escape(f"service {EMPTY_VIP}:80/tcp") + r".*refused", st), lb_status(), "refused", REF)
c = connect("client", EMPTY_VIP, 80, 3)
print("note: no endpoints:", json.dumps(c), flush=True)
eq("connect() to it fails with ECONNREFUSED ...", c["errors"], {"ECONNREFUSED": 3}, "bpf/ebpf_lb.h connect4")
check("... at once (each under 1 s)", c.get("ms_max", 1e9) < 1000, c.get("ms_max"), "< 1000 ms", REF)
check("... refused by ferry in connect(), not by kube-proxy's reject rule: the pod sent no SYN (its eth0 "
      "counted fewer packets than the 3 connects would have sent)", c.get("tx_packets", 99) < 3,
      c.get("tx_packets"), "< 3", REF)

code, _, _ = api.delete(f"/api/v1/namespaces/{NS}/services/empty")
eq("delete that Service", code, 200, "services")
st = wait_until(lambda: (lambda s: s if s.startswith("socket load balancer: on") and
                         f"service {EMPTY_VIP}:" not in s else None)(lb_status()), 10, 0.2)
check("... and the agent removes it from the table", st, lb_status(), f"no {EMPTY_VIP}", REF)

# ---------------------------------------------------------------- scaled 3 -> 2
code, _, body = api.patch(f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale", {"spec": {"replicas": 2}})
eq("scale the Deployment to 2", code, 200, "scale subresource")
t_scale = time.time()
st = wait_until(lambda: (lambda s: s if len(backends_of(s, VIP) or []) == 2 else None)(lb_status()), 20, 0.2)
check("the table has two backends after the scale-down", st, lb_status(), "2 backends", REF)
print(f"note: scale-down in the table {time.time() - t_scale:.1f} s after the scale call", flush=True)
sh = wait_until(lambda: (lambda x: x if len(x) == 2 else None)(lb_shares(VIP)), 5, 0.3) or {}
check("... and /metrics gives the two left a share of 1/2 each",
      sorted(sh) == sorted(backends_of(st or "", VIP) or []) and all(abs(v - 0.5) < 1e-3 for v in sh.values()),
      sh, "1/2 each", "issue 23: per-backend share series on the agents' /metrics")
kept = backends_of(st or "", VIP) or []
removed = sorted(n for n, ip in WEB.items() if ip not in kept)
c = connect("client", VIP, 80, N)
print("note: after the scale-down:", json.dumps(c), removed, flush=True)
eq("one pod left the table", len(removed), 1, REF)
eq("after the swap no connection reaches the removed pod, all are answered by the two others",
   (sum(c["backends"].values()), c["errors"], sorted(set(c["backends"]) & set(removed)), len(c["backends"])),
   (N, {}, [], 2), REF)

# ---------------------------------------------------------------- the annotation removed
annotate("web", "false")
st = wait_until(lambda: (lambda s: s if backends_of(s, VIP) is None else None)(lb_status()), 20, 0.2)
check("annotation false: the agent removes the Service from the table", st, lb_status(), "absent", REF)
check("kube-proxy has the two pods left", wait_until(lambda: proxy_synced(kept), 10, 0.2), None, None, REF)
before = dnat_flows(VIP)
c = connect("client", VIP, 80, 20)
print("note: opted out:", json.dumps(c), flush=True)
eq("... and kube-proxy serves it: every connection answered, each DNATed by its rules",
   (sum(c["backends"].values()), c["errors"], len(dnat_flows(VIP) - before)), (20, {}, 20), REF)

# ---------------------------------------------------------------- annotation back; session affinity
annotate("web", "true")
st = wait_until(lambda: (lambda s: s if backends_of(s, VIP) else None)(lb_status()), 20, 0.2)
check("annotation true again: balanced again", st, lb_status(), "present", REF)
aff = create(f"/api/v1/namespaces/{NS}/services", {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "sticky", "annotations": {"ferry.io/socket-lb": "true"}},
    "spec": {"selector": labels, "sessionAffinity": "ClientIP",
             "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
AFF_VIP = aff["spec"]["clusterIP"]
st = wait_until(lambda: (lambda s: s if len(backends_of(s, AFF_VIP) or []) == 2 else None)(lb_status()), 20, 0.2)
check("a Service with sessionAffinity ClientIP is programmed", st, lb_status(), "2 backends", REF)
c = connect("client", AFF_VIP, 80, 30)
print("note: affinity:", json.dumps(c), flush=True)
eq("... and the client pod's 30 connections all go to one pod", (sum(c["backends"].values()), len(c["backends"])),
   (30, 1), "bpf/ebpf_lb.h affinity")

# ---------------------------------------------------------------- ferry lb disable
# ---------------------------------------------------------------- the agent restarted
old = pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent")
code, _, _ = api.delete(f"/api/v1/namespaces/ferry-system/pods/{old[0]['metadata']['name']}")
eq("delete the agent's pod (the DaemonSet makes another)", code, 200, "pods")
before = dnat_flows(VIP)
c = connect("client", VIP, 80, 20)
print("note: agent restarting:", json.dumps(c), flush=True)
eq("while the agent restarts the pinned balancer goes on: all answered, none DNATed by kube-proxy",
   (sum(c["backends"].values()), c["errors"], len(dnat_flows(VIP) - before)), (20, {}, 0), "bpf/ebpf_lb.h pins")
ok = wait_until(lambda: any(ready(p) and p["metadata"]["uid"] != old[0]["metadata"]["uid"]
                            for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent")), 60, 0.3)
check("a new agent is Ready", ok, None, None, REF)
code, _, body = api.patch(f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale", {"spec": {"replicas": 3}})
st = wait_until(lambda: (lambda s: s if len(backends_of(s, VIP) or []) == 3 else None)(lb_status()), 30, 0.2)
check("... and it takes the table over: scaled back to 3, the table has 3 backends", st, lb_status(), "3", REF)

r = subprocess.run(["nsenter", "-t", str(nodeutil.node_pid(D, NODE)), "-m", "-p", FERRY, "lb", "disable"],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
eq("ferry lb disable in the node", (r.returncode, r.stderr.strip()), (0, ""), "README ferry lb")
check("... ferry lb status says off", lb_status().startswith("socket load balancer: off"), lb_status(), "off", REF)
now = [p["status"]["podIP"] for p in pods(NS, "app%3Dweb") if ready(p)]
check("kube-proxy has the three pods", wait_until(lambda: proxy_synced(now), 10, 0.2), now, None, REF)
before = dnat_flows(VIP)
c = connect("client", VIP, 80, 20)
print("note: disabled:", json.dumps(c), flush=True)
eq("... and kube-proxy serves the Service: every connection answered, each DNATed by its rules",
   (sum(c["backends"].values()), c["errors"], len(dnat_flows(VIP) - before)), (20, {}, 20), REF)

print(f"t_lb_e2e: {time.time() - T0:.1f} s")
finish()
