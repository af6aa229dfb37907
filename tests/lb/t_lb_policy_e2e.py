#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_lb_policy_e2e: a LoadBalancePolicy's published weights in the agents' tables, end to end
in a box of its own (issue 23, the agents' half).

ferry as shipped (`kubectl apply -k k8s/deploy`, and the LoadBalancePolicy CRD,
k8s/deploy/crd-loadbalancepolicies.yaml) in a one-node box whose pods are real processes
behind kube-proxy's iptables rules. Three kbox/web pods behind a ClusterIP WITHOUT the
annotation ferry.io/socket-lb, and a LoadBalancePolicy naming it. The test writes the
policy's status itself (the status subresource, as the controller would): it is the
controller's output and the agents' input, and this test holds the agents to it.
The controller runs only until the agent is Ready (the agent's pod mounts the TLS Secret
the controller issues), then it is scaled to zero replicas, and its pods are gone before
any policy exists: no `ferry controller` (once its LoadBalancePolicy reconciler is in)
can overwrite the status the test writes. Checks:
- without a policy the Service is kube-proxy's (no table); with the policy and nothing
  published it is balanced with equal weights;
- status 600/300/100 for the three pods: `ferry lb status` and the agent's /metrics show
  those weights and shares 0.6/0.3/0.1, N connections from a client pod are shared so
  (binomial bound below), and kube-proxy's rules see none of them (no DNAT conntrack
  entry);
- the status changed to 100/300/600: the shares follow;
- a second policy naming the Service, newer but first by name: the oldest keeps its
  weights, and the agent says so once in its log, however often the Service is synced
  again;
- the Deployment scaled to 4: the pod the status does not list gets the slow start's
  weight, 10 % of the largest published (60);
- the policy deleted (both): the Service is kube-proxy's again, every connection DNATed.

The bound on the shares: with a random draw per connection (no session affinity), each
of N connections goes to backend i with probability p_i, the share of the Maglev
table's slots, which is within 1 % (relative) of w_i / W (bpf/ebpf_lb.h,
ebpf_maglev_size()). The count of backend i is Binomial(N, p_i): the test takes
|count/N - w_i/W| <= 0.01 w_i/W + 4.5 sqrt(w_i/W (1 - w_i/W) / N). A two-sided 4.5 sigma
bound fails by chance less than 7e-6 times per backend (the normal approximation; N p_i
>= 40 here), under 5e-5 for the test's 6 bounds; and it tells the weights apart: at N =
400 the bounds for 0.1, 0.3 and 0.6 are [0.032, 0.169], [0.194, 0.406] and [0.484,
0.716], while equal weights would give 0.333 each and the swapped ones 0.6 and 0.1.
CI budget: within the lb suite's 2 minutes (about 40-60 s with the box). Timing figures go
to stdout only.
"""
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
from kboxtest import Box, check, eq, finish, kubectl_path, skip, wait_until  # noqa: E402
from kboxd import nodeutil  # noqa: E402

REF = "issue 23: the agents program the published weights"
NODE = "node-p1"
NS = "shop"
N = 400  # connections per round of shares
Z = 4.5  # sigmas of the binomial bound
if os.geteuid() != 0:
    skip("the box's nodes need root (namespaces, cgroups, mounts, iptables, BPF)")
if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
    skip("runs the box's own nodes; FERRY_TEST_KUBECONFIG names a real cluster")
if not os.path.exists("/sys/kernel/btf/vmlinux"):
    skip("no kernel BTF (/sys/kernel/btf/vmlinux): the balancer cannot load")
FERRY = os.environ.get("FERRY", "")
if not (FERRY and os.access(FERRY, os.X_OK)):
    print("ERROR: FERRY must name the built ferry binary (meson test sets it)")
    sys.exit(99)
KUBECTL = kubectl_path()
if not KUBECTL:
    skip("needs kubectl >= 1.30 (tests/install-deps.sh)")

T0 = time.time()
cfg = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
cfg.write(f"nodes:\n- name: {NODE}\n  zone: zone-a\n  cgroupDriver: cgroupfs\n")
cfg.close()
box = Box(private=True, args=["--config", cfg.name])
api = box.admin
D = box.dir
NETNS = nodeutil.node_netns(D, NODE)
ENV = dict(os.environ, HOME=tempfile.mkdtemp(prefix="kbox-lbp-home-"), KUBECONFIG=box.kubeconfig)
print(f"note: box up in {time.time() - T0:.1f} s", flush=True)
POLICIES = f"/apis/ferry.io/v1alpha1/namespaces/{NS}/loadbalancepolicies"

# the client, run in a pod's container: n connections to ip:port, GET /hostname on each
CLIENT = r"""
import errno, json, socket, sys
ip, port, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
out = {"backends": {}, "errors": {}}
for _ in range(n):
    s = socket.socket()
    s.settimeout(3)
    try:
        s.connect((ip, port))
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
print(json.dumps(out))
"""


def get(path):
    code, _, body = api.get(path)
    return body if code == 200 else None


def create(path, obj):
    code, _, body = api.post(path, obj)
    if code != 201:
        print(f"ERROR: POST {path}: {code} {body}")
        sys.exit(99)
    return body


def ready(p):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in ((p or {}).get("status") or {}).get("conditions") or [])


def pods(ns, selector):
    return (get(f"/api/v1/namespaces/{ns}/pods?labelSelector={selector}") or {}).get("items") or []


def connect(pod, ip, port, n):
    argv = [os.path.join(SRC, "tests", "kbox", "kbox"), "exec", D, f"{NS}/{pod}", "--",
            "/usr/bin/python3", "-c", CLIENT, ip, str(port), str(n)]
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    try:
        return json.loads(r.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"backends": {}, "errors": {"exec": r.returncode}, "stderr": r.stderr[-300:]}


def lb_status():
    """`ferry lb status` in the node (its own bpffs)."""
    r = subprocess.run(["nsenter", "-t", str(nodeutil.node_pid(D, NODE)), "-m", "-p", FERRY, "lb", "status"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    return r.stdout + r.stderr


def table(status, ip, port=80):
    """backend address -> weight in the table of ip:port/tcp, or None if it is not there"""
    lines = status.splitlines()
    for i, line in enumerate(lines):
        if line.startswith(f"service {ip}:{port}/tcp "):
            out = {}
            for b in lines[i + 1:]:
                m = re.match(r"  backend (\S+) weight (\d+) ", b)
                if not m:
                    break
                out[m.group(1).rsplit(":", 1)[0]] = int(m.group(2))
            return out
    return None


def agent():
    return next((p for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent") if ready(p)), None)


def metrics(ip, port=80):
    """backend address -> (ferry_lb_backend_weight, ferry_lb_backend_share) on the agent's /metrics"""
    a = agent()
    if not a:
        return {}
    r = subprocess.run(["ip", "netns", "exec", NETNS, "curl", "-s", "-f", "--max-time", "5",
                        f"http://{a['status']['podIP']}:9464/metrics"], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r'ferry_lb_backend_(weight|share)\{service="' + NS + r'/web",port="http",address="' +
                     re.escape(f"{ip}:{port}/tcp") + r'",backend="([^"]+)"\} (\S+)$', line)
        if m:
            be = m.group(2).rsplit(":", 1)[0]
            w, sh = out.get(be, (None, None))
            out[be] = (float(m.group(3)), sh) if m.group(1) == "weight" else (w, float(m.group(3)))
    return out


def metrics_are(ip, want):
    """/metrics shows exactly the weights @want (address -> weight) and each share w / sum"""
    total = sum(want.values())
    m = metrics(ip)
    ok = sorted(m) == sorted(want) and all(
        m[a][0] == w and m[a][1] is not None and abs(m[a][1] - w / total) < 1e-4 for a, w in want.items())
    return m if ok else None


def dnat_flows(ip):
    """the node's conntrack entries whose original destination is ip: kube-proxy's DNATs (a
    connection balanced at connect() is addressed to its pod from the start); each stays longer
    (TIME_WAIT, 120 s) than this test runs"""
    r = subprocess.run(["ip", "netns", "exec", NETNS, "cat", "/proc/net/nf_conntrack"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
    flows = set()
    for line in r.stdout.splitlines():
        m = re.search(r"src=(\S+) dst=(\S+) sport=(\d+) dport=(\d+)", line)
        if m and m.group(2) == ip:
            flows.add((m.group(1), m.group(3), m.group(4)))
    return flows


def proxy_synced(ips):
    """kube-proxy's last sync programmed exactly @ips for shop/web:http (kbox-proxy.json)"""
    try:
        st = json.load(open(os.path.join(D, "nodes", NODE, "kubelet", "kbox-proxy.json")))
    except (OSError, ValueError):
        return False
    return sorted(e.rsplit(":", 1)[0] for e in st.get("services", {}).get(f"{NS}/web:http", [])) == sorted(ips)


def publish(policy, weights):
    """write the policy's status as the controller would: weights by pod name"""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    bes = [{"pod": n, "address": WEB[n], "node": NODE, "ready": True, "weight": w,
            "share": w / sum(weights.values())} for n, w in sorted(weights.items())]
    code, _, body = api.patch(f"{POLICIES}/{policy}/status",
                              {"status": {"lastUpdateTime": now, "readyBackends": len(bes), "backends": bes}})
    eq(f"the test writes {policy}'s status (the status subresource): "
       + " ".join(f"{n}={w}" for n, w in sorted(weights.items())), code, 200, "crd-loadbalancepolicies.yaml status")


def shares_within(c, weights, what):
    """the connections of @c (pod name -> count) against @weights (pod name -> weight)"""
    n = sum(c["backends"].values())
    total = sum(weights.values())
    rows, ok = [], n == N and not c["errors"]
    for name, w in sorted(weights.items()):
        p = w / total
        got = c["backends"].get(name, 0) / N
        bound = 0.01 * p + Z * math.sqrt(p * (1 - p) / N)
        rows.append(f"{name} {got:.3f} (want {p:.3f} +- {bound:.3f})")
        ok = ok and abs(got - p) <= bound
    check(f"{what}: {N} connections, every one answered, shared as the weights within the binomial bound",
          ok, (n, c["errors"], rows), f"{N}, no errors, each within {Z} sigma", REF)


def agent_log():
    """what the agent's container wrote (the box's kubelet keeps it under DIR/nodes/NODE/log/pods)"""
    out = ""
    base = os.path.join(D, "nodes", NODE, "log", "pods")
    for d in os.listdir(base) if os.path.isdir(base) else []:
        if d.startswith("ferry-system_ferry-agent-"):
            for root, _, files in os.walk(os.path.join(base, d)):
                for f in sorted(files):
                    try:
                        out += open(os.path.join(root, f), errors="replace").read()
                    except OSError:
                        pass
    return out


# ---------------------------------------------------------------- ferry as shipped, without a controller
r = subprocess.run([KUBECTL, "apply", "-f", os.path.join(SRC, "k8s", "deploy", "namespace.yaml"),
                    "-f", os.path.join(SRC, "k8s", "deploy", "crd-loadbalancepolicies.yaml")],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, timeout=60)
r2 = subprocess.run([KUBECTL, "apply", "-k", os.path.join(SRC, "k8s", "deploy")],
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, timeout=120)
eq("kubectl apply the LoadBalancePolicy CRD and -k k8s/deploy", (r.returncode, r.stderr.strip(), r2.returncode,
                                                                  r2.stderr.strip()), (0, "", 0, ""), "k8s/deploy")

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
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
    "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": "http"}]}})
VIP = svc["spec"]["clusterIP"]
create(f"/api/v1/namespaces/{NS}/pods", {
    "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"},
    "spec": {"terminationGracePeriodSeconds": 0,
             "containers": [{"name": "app", "image": "python:3", "command": ["sleep", "100000"]}]}})

ok = wait_until(lambda: agent() and len([p for p in pods(NS, "app%3Dweb") if ready(p)]) == 3 and
                ready(get(f"/api/v1/namespaces/{NS}/pods/client")), 90, 0.3)
check("the agent, three web pods and the client are Ready", ok,
      [(p["metadata"]["name"], ready(p)) for ns in ("ferry-system", NS) for p in pods(ns, "")], "Ready", REF)
print(f"note: everything Ready {time.time() - T0:.1f} s after the start", flush=True)
if not ok:
    finish()
# The status is the test's to write: no controller may publish over it. (It ran until now: the
# agent's pod waits for the TLS Secret it issues.)
code, _, body = api.patch("/apis/apps/v1/namespaces/ferry-system/deployments/ferry-controller/scale",
                          {"spec": {"replicas": 0}})
eq("scale the controller to 0 (the test writes the policies' status itself)", code, 200, "scale subresource")
ok = wait_until(lambda: not pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-controller"), 40, 0.3)
check("... and no controller pod is left before a policy exists", ok,
      [p["metadata"]["name"] for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-controller")], "none", REF)
print(f"note: controller gone {time.time() - T0:.1f} s after the start", flush=True)
WEB = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods(NS, "app%3Dweb")}
NAMES = sorted(WEB)
IPS = lambda ws: {WEB[n]: w for n, w in ws.items()}  # noqa: E731

# ---------------------------------------------------------------- no annotation, no policy
st = wait_until(lambda: (lambda s: s if s.startswith("socket load balancer: on") else None)(lb_status()), 20, 0.3)
check("the agent is in sync, and the Service (no annotation, no policy) is not in the table",
      st and table(st, VIP) is None, st, "absent", "control/lb/README.md Opting in")

# ---------------------------------------------------------------- the policy, nothing published
create(POLICIES, {"apiVersion": "ferry.io/v1alpha1", "kind": "LoadBalancePolicy", "metadata": {"name": "web"},
                  "spec": {"service": "web"}})
st = wait_until(lambda: (lambda s: s if table(s, VIP) == IPS({n: 1 for n in NAMES}) else None)(lb_status()), 20, 0.2)
check("a LoadBalancePolicy names the Service: balanced, equal weights while nothing is published", st,
      lb_status(), "3 backends, weight 1", REF)
print(f"note: policy programmed {time.time() - T0:.1f} s after the start", flush=True)

# ---------------------------------------------------------------- 600/300/100
W1 = dict(zip(NAMES, (600, 300, 100)))
publish("web", W1)
t = time.time()
st = wait_until(lambda: (lambda s: s if table(s, VIP) == IPS(W1) else None)(lb_status()), 20, 0.2)
check("ferry lb status: the table has the published weights", st, lb_status(), IPS(W1), REF)
print(f"note: weights in the table {time.time() - t:.2f} s after the status write", flush=True)
m = wait_until(lambda: metrics_are(VIP, IPS(W1)), 5, 0.3)
check("the agent's /metrics: ferry_lb_backend_weight 600/300/100 and ferry_lb_backend_share 0.6/0.3/0.1", m,
      metrics(VIP), IPS(W1), "issue 23: per-backend share series on the agents' /metrics")
before = dnat_flows(VIP)
t = time.time()
c = connect("client", VIP, 80, N)
print(f"note: 600/300/100 ({time.time() - t:.1f} s):", json.dumps(c), flush=True)
shares_within(c, W1, "600/300/100")
eq("... and the node has no conntrack entry for the ClusterIP from them (kube-proxy's rules saw no packet)",
   len(dnat_flows(VIP) - before), 0, REF)

# ---------------------------------------------------------------- 100/300/600
W2 = dict(zip(NAMES, (100, 300, 600)))
publish("web", W2)
st = wait_until(lambda: (lambda s: s if table(s, VIP) == IPS(W2) else None)(lb_status()), 20, 0.2)
check("the status changed to 100/300/600: the table follows", st, lb_status(), IPS(W2), REF)
m = wait_until(lambda: metrics_are(VIP, IPS(W2)), 5, 0.3)
check("... and /metrics: shares 0.1/0.3/0.6", m, metrics(VIP), IPS(W2), REF)
before = dnat_flows(VIP)
c = connect("client", VIP, 80, N)
print("note: 100/300/600:", json.dumps(c), flush=True)
shares_within(c, W2, "100/300/600")
eq("... none through kube-proxy's rules", len(dnat_flows(VIP) - before), 0, REF)

# ---------------------------------------------------------------- a second policy: the oldest wins
# creationTimestamp has whole seconds: a second later the new one is newer, and its name sorts
# first, so a choice by name alone would take it
time.sleep(1.1)
create(POLICIES, {"apiVersion": "ferry.io/v1alpha1", "kind": "LoadBalancePolicy", "metadata": {"name": "a-web"},
                  "spec": {"service": "web"}})
publish("a-web", dict(zip(NAMES, (5, 5, 5))))
publish("a-web", dict(zip(NAMES, (7, 7, 7))))  # each queues the Service again
LINE = f"lb: service {NS}/web: 2 loadbalancepolicies name it: the oldest, web, is used"
ok = wait_until(lambda: LINE in agent_log(), 10, 0.2)
check("a second, newer policy naming the Service: the agent logs which one it uses", ok,
      [ln for ln in agent_log().splitlines() if "loadbalancepolic" in ln], LINE, REF)
time.sleep(1.0)  # both status writes synced the Service by now (each under 0.2 s above)
eq("... once, however often the Service is synced again",
   agent_log().count("loadbalancepolicies name it"), 1, REF)
eq("... and the oldest's weights stay", table(lb_status(), VIP), IPS(W2), REF)
code, _, _ = api.delete(f"{POLICIES}/a-web")
eq("delete the second policy", code, 200, "loadbalancepolicies")

# ---------------------------------------------------------------- a pod the status does not list
code, _, _ = api.patch(f"/apis/apps/v1/namespaces/{NS}/deployments/web/scale", {"spec": {"replicas": 4}})
eq("scale the Deployment to 4", code, 200, "scale subresource")
ok = wait_until(lambda: len([p for p in pods(NS, "app%3Dweb") if ready(p)]) == 4, 30, 0.3)
check("a fourth pod is Ready", ok, None, None, REF)
NEW = {p["metadata"]["name"]: p["status"]["podIP"] for p in pods(NS, "app%3Dweb") if p["metadata"]["name"] not in WEB}
W4 = dict(IPS(W2), **{ip: 60 for ip in NEW.values()})
st = wait_until(lambda: (lambda s: s if table(s, VIP) == W4 else None)(lb_status()), 20, 0.2)
check("the pod the status does not list gets the slow start's weight: 10 % of the largest published, 60",
      st and len(NEW) == 1, lb_status(), W4, "control/lb/lb.h lb_published_weight()")
m = wait_until(lambda: metrics_are(VIP, W4), 5, 0.3)
check("... and /metrics: its share 60/1060", m, metrics(VIP), W4, REF)

# ---------------------------------------------------------------- the policy deleted: kube-proxy's again
code, _, _ = api.delete(f"{POLICIES}/web")
eq("delete the policy", code, 200, "loadbalancepolicies")
st = wait_until(lambda: (lambda s: s if s.startswith("socket load balancer: on") and table(s, VIP) is None
                         else None)(lb_status()), 20, 0.2)
check("the agent removes the Service from the table", st, lb_status(), "absent", REF)
now = [p["status"]["podIP"] for p in pods(NS, "app%3Dweb") if ready(p)]
check("kube-proxy has the four pods", wait_until(lambda: proxy_synced(now), 10, 0.2), now, None, REF)
before = dnat_flows(VIP)
c = connect("client", VIP, 80, 20)
print("note: no policy:", json.dumps(c), flush=True)
eq("... and kube-proxy serves it: every connection answered, each DNATed by its rules",
   (sum(c["backends"].values()), c["errors"], len(dnat_flows(VIP) - before)), (20, {}, 20), REF)

print(f"t_lb_policy_e2e: {time.time() - T0:.1f} s")
finish()
