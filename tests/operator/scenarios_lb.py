# SPDX-License-Identifier: MIT
"""The LoadBalancePolicy reconciler (control/lb/reconcile.c) in `ferry controller`, run by
tests/operator/t_controller.py under the ferry-controller service account with the
manifests as shipped, then again without each rule it uses (least privilege: get, list,
watch of loadbalancepolicies, update and patch of their status; the get of services,
list of endpointslices and of pods it shares with the Restore's, the Backup's and the
autoscaler's roles).

The box has no nodes and no agents: the Service's three pods are objects whose status
is written here (Running, Ready for a minute, a pod IP), their EndpointSlice too (as the
EndpointSlice controller would write it, targetRef to each pod), and the agent is a
stand-in of this file: a pod of ferry-system labelled as the agents' DaemonSet's pods,
with a loopback address of its own as its pod IP, and at that address on the agents'
TLS port a page (signals.h's format) served with the certificate the controller issued
into the Secret ferry-agent-tls, so that the controller's feed reads it as it reads an
agent: HTTPS, its CA, the agents' name. The page says web-0 uses 0.45 of its 0.5-core
request, web-1 0.1 of 0.5, and web-2 (BestEffort: the 1-core default) 0.1. Checked:
- status.backends lists the three pod IPs with their pods, node, ready, weight, share,
  score and reason, in the CRD's shape; the busy pod's weight is the least (its score
  0.2 of its headroom), the BestEffort pod's reason names the default; readyBackends 3,
  lastUpdateTime, observedGeneration; Ready True Published;
- `ferry lb get` (the table, -n), `ferry lb get NAME --json` (the object as stored) and
  `ferry lb describe NAME` (each backend: pod, address, node, ready, weight, share,
  score, reason; the conditions) against the box as a user runs them; a policy that
  does not exist: exit 3;
- a spec that decodes to no signal (cpu None, no runQueue): Ready False InvalidSpec,
  naming spec.cpu;
- a Service that does not exist: Ready False ServiceNotFound, naming it.
"""
import datetime
import json
import os
import random
import ssl
import string
import subprocess
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from scenarios_controller import LEASE, wait_until

API = "/apis/ferry.io/v1alpha1"
AGENT_NS = "ferry-system"
AGENT_TLS_PORT = 9443


def _post(env, path, body):
    code, _, out = env.admin.post(path, body)
    if code not in (200, 201):
        raise RuntimeError(f"POST {path}: {code} {out}")
    return out


def _ns(env):
    name = "lb-" + "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    _post(env, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _stamp(seconds_ago):
    t = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds_ago)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _pod(env, ns, name, labels, ip, cpu=None):
    res = {"requests": {"cpu": cpu}} if cpu else {}
    pod = _post(env, f"/api/v1/namespaces/{ns}/pods",
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
                 "spec": {"nodeName": "lb-node",
                          "containers": [{"name": "web", "image": "ferry.io/ferry:0.1.0", "resources": res}]}})
    code, _, out = env.admin.patch(f"/api/v1/namespaces/{ns}/pods/{name}/status", {"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}], "hostIP": "10.0.0.1",
        "startTime": _stamp(120),
        "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": _stamp(60)}]}})
    if code != 200:
        raise RuntimeError(f"pod {ns}/{name} status: {code} {out}")
    return pod["metadata"]["uid"]


def _policy(env, ns, name, spec):
    _post(env, f"{API}/namespaces/{ns}/loadbalancepolicies",
          {"apiVersion": "ferry.io/v1alpha1", "kind": "LoadBalancePolicy", "metadata": {"name": name},
           "spec": spec})


def _get(env, ns, name):
    code, _, body = env.admin.get(f"{API}/namespaces/{ns}/loadbalancepolicies/{name}")
    return body if code == 200 else {}


def _cond(p, ctype="Ready"):
    for c in (p.get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return {}


class _Agent:
    """A page at ADDR:9443 over TLS with the agents' certificate, as ferry agent serves it."""

    def __init__(self, env, addr, pods):
        import base64
        code, _, sec = env.admin.get(f"/api/v1/namespaces/{AGENT_NS}/secrets/ferry-agent-tls")
        if code != 200:
            raise RuntimeError(f"secret ferry-agent-tls: {code}")
        self.dir = tempfile.mkdtemp(prefix="lb-agent-")
        crt, key = os.path.join(self.dir, "tls.crt"), os.path.join(self.dir, "tls.key")
        for path, k in ((crt, "tls.crt"), (key, "tls.key")):
            with open(path, "wb") as f:
                f.write(base64.b64decode(sec["data"][k]))
        self.pods, self.reads, self.seq = pods, 0, 0
        agent = self

        class Page(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                agent.seq += 1
                agent.reads += 1
                body = json.dumps({"node": "lb-node", "seq": agent.seq, "interval_ms": 1000, "age_ms": 50,
                                   "pods": agent.pods}).encode()
                self.send_response(200 if self.path == "/v1/pods" else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *a):
                pass

        self.httpd = ThreadingHTTPServer((addr, AGENT_TLS_PORT), Page)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


def _ferry(env, *args):
    home = os.path.join(env.tmp, "lb-cli-home")
    os.makedirs(home, exist_ok=True)
    e = dict(os.environ, HOME=home, KUBECONFIG=env.box.kubeconfig)
    for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
        e.pop(k, None)
    return subprocess.run([env.ferry, "lb"] + list(args), capture_output=True, text=True, env=e,
                          timeout=60, stdin=subprocess.DEVNULL)


def scenario_lb(env, r):
    agent = None
    agent_pod = "lb-agent-" + "".join(random.choice(string.ascii_lowercase) for _ in range(5))
    try:
        agent = _scenario(env, r, agent_pod)
    finally:
        for p in env.procs:
            p.kill()
        if agent:
            agent.close()
        env.admin.delete(f"/api/v1/namespaces/{AGENT_NS}/pods/{agent_pod}")


def _scenario(env, r, agent_pod):
    env.delete_lease()
    ns = _ns(env)
    labels = {"app": "web"}
    ips = {"web-0": "10.244.7.10", "web-1": "10.244.7.11", "web-2": "10.244.7.12"}
    uids = {"web-0": _pod(env, ns, "web-0", labels, ips["web-0"], "500m"),
            "web-1": _pod(env, ns, "web-1", labels, ips["web-1"], "500m"),
            "web-2": _pod(env, ns, "web-2", labels, ips["web-2"])}  # BestEffort
    _post(env, f"/api/v1/namespaces/{ns}/services",
          {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": labels, "ports": [{"name": "http", "port": 80, "targetPort": 8080}]}})
    _post(env, f"/apis/discovery.k8s.io/v1/namespaces/{ns}/endpointslices",
          {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
           "metadata": {"name": "web-x1", "labels": {"kubernetes.io/service-name": "web"}},
           "addressType": "IPv4", "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
           "endpoints": [{"addresses": [ips[p]], "conditions": {"ready": True}, "nodeName": "lb-node",
                          "targetRef": {"kind": "Pod", "namespace": ns, "name": p, "uid": uids[p]}}
                         for p in sorted(ips)]})
    # the agent stand-in: a pod of the agents' DaemonSet's label with a loopback address
    addr = f"127.{random.randint(64, 250)}.{random.randint(1, 250)}.{random.randint(2, 250)}"
    _post(env, f"/api/v1/namespaces/{AGENT_NS}/pods",
          {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": agent_pod, "labels": {"app.kubernetes.io/name": "ferry-agent"}},
           "spec": {"nodeName": "lb-node", "containers": [{"name": "agent", "image": "ferry.io/ferry:0.1.0"}]}})
    code, _, out = env.admin.patch(f"/api/v1/namespaces/{AGENT_NS}/pods/{agent_pod}/status",
                                   {"status": {"phase": "Running", "podIP": addr, "podIPs": [{"ip": addr}]}})
    if not r.check("the agent stand-in's pod has its address", code == 200, (code, out)):
        return None

    _policy(env, ns, "web", {"service": "web"})
    _policy(env, ns, "nosignal", {"service": "web", "cpu": "None"})
    a = env.controller("lb-a")
    if not r.check("the controller leads", a.wait_line(r"lb-a: leading", LEASE), a.text()[-400:]):
        return None
    # the leader makes sure of the agents' certificate at its start: serve the page with it
    if not r.check("the agents' certificate is issued",
                   wait_until(lambda: env.admin.get(f"/api/v1/namespaces/{AGENT_NS}/secrets/ferry-agent-tls")[0]
                              == 200, 10, alive=a), a.text()[-400:]):
        return None

    def pod(name, cpu_m, runq_ms):
        return {"namespace": ns, "name": name, "uid": uids[name],
                "v": [cpu_m, None, runq_ms, runq_ms, None, None, None, None]}
    agent = _Agent(env, addr, [pod("web-0", 450, 1), pod("web-1", 100, 1), pod("web-2", 100, 1)])

    # the weights: published once the feed has read the page (the first publication may
    # come before it, NoSignals with equal weights; the measured ones follow a period later)
    t0 = time.time()

    def published():
        p = _get(env, ns, "web")
        bs = (p.get("status") or {}).get("backends") or []
        return p if _cond(p).get("reason") == "Published" and len(bs) == 3 and \
            all(b.get("reason", "").startswith("CPU ") for b in bs) else None
    p = wait_until(published, 30, alive=a)
    r.figures["published_s"] = round(time.time() - t0, 1)
    # made once the controller has reconciled "web", so after its first list of the
    # policies (not merely after it leads): only its watch brings this one in
    _policy(env, ns, "missing", {"service": "nope"})
    if not r.check("the weights are published: Ready True Published, three backends", p,
                   (_get(env, ns, "web").get("status"), agent.reads, a.text()[-800:])):
        return agent
    st = p["status"]
    by = {b.get("pod"): b for b in st["backends"]}
    r.check("each backend: its pod, its address (the pod IP), node, ready, weight, share, score, reason",
            set(by) == set(ips) and all(by[n].get("address") == ips[n] and by[n].get("node") == "lb-node" and
                                        by[n].get("ready") is True and isinstance(by[n].get("weight"), int) and
                                        isinstance(by[n].get("share"), (int, float)) and
                                        isinstance(by[n].get("score"), (int, float)) and by[n].get("reason")
                                        for n in ips), st["backends"])
    w = {n: by[n]["weight"] for n in by}
    r.check("the busy pod (0.45 of 0.5 cores) weighs least; the others near the largest (1000)",
            w["web-0"] < w["web-1"] and w["web-0"] < w["web-2"] and max(w.values()) == 1000 and
            w["web-1"] >= 600, w)
    r.check("its reason states the CPU against its request",
            "0.450 of 0.500 cores (request)" in by["web-0"]["reason"], by["web-0"]["reason"])
    r.check("the BestEffort pod is taken at the 1-core default, and says so",
            "of 1.000 cores (BestEffort default)" in by["web-2"]["reason"], by["web-2"]["reason"])
    r.check("the shares sum to 1", abs(sum(b["share"] for b in st["backends"]) - 1) < 0.01, st["backends"])
    r.check("readyBackends 3, lastUpdateTime, observedGeneration the spec's",
            st.get("readyBackends") == 3 and st.get("lastUpdateTime") and
            st.get("observedGeneration") == p["metadata"].get("generation"), st)
    r.check("Ready is True", _cond(p).get("status") == "True", _cond(p))
    r.check("the feed read the stand-in agent (HTTPS with the issued certificate)", agent.reads > 0, agent.reads)

    c = wait_until(lambda: (lambda x: x if x.get("reason") else None)(_cond(_get(env, ns, "nosignal"))), 10, alive=a)
    r.check("cpu None without runQueue: Ready False InvalidSpec naming spec.cpu",
            (c or {}).get("status") == "False" and (c or {}).get("reason") == "InvalidSpec" and
            "spec.cpu" in (c or {}).get("message", ""), c)
    c = wait_until(lambda: (lambda x: x if x.get("reason") else None)(_cond(_get(env, ns, "missing"))), 10, alive=a)
    r.check("a Service that does not exist: Ready False ServiceNotFound naming it",
            (c or {}).get("status") == "False" and (c or {}).get("reason") == "ServiceNotFound" and
            f"{ns}/nope" in (c or {}).get("message", ""), c)

    # the CLI, as a user runs it
    g = _ferry(env, "get", "-n", ns)
    lines = g.stdout.splitlines()
    r.check("ferry lb get: a table of the three policies, web with its Service, 3/3 and Published",
            g.returncode == 0 and lines and lines[0].split()[:3] == ["NAME", "SERVICE", "CPU"] and
            any(ln.split()[:2] == ["web", "web"] and "3" in ln and "Published" in ln for ln in lines) and
            any(ln.startswith("missing") and "ServiceNotFound" in ln for ln in lines), (g.returncode, g.stdout, g.stderr))
    j = _ferry(env, "get", "web", "-n", ns, "--json")
    try:
        obj = json.loads(j.stdout)
    except ValueError:
        obj = {}
    r.check("ferry lb get NAME --json: the object with its backends",
            j.returncode == 0 and obj.get("kind") == "LoadBalancePolicy" and
            len((obj.get("status") or {}).get("backends") or []) == 3, (j.returncode, j.stdout[:300], j.stderr))
    d = _ferry(env, "describe", "web", "-n", ns)
    out = d.stdout
    r.check("ferry lb describe: each backend's pod, address, node, ready, weight and reason; the conditions",
            d.returncode == 0 and all(n in out and ips[n] in out for n in ips) and "lb-node" in out and
            all(f" {w[n]} " in out for n in w) and "(BestEffort default)" in out and
            "Published" in out and "Conditions:" in out and "Service:           web" in out,
            (d.returncode, out, d.stderr))
    n = _ferry(env, "describe", "nothere", "-n", ns)
    r.check("ferry lb describe of a policy that does not exist: exit 3, one error line",
            n.returncode == 3 and "nothere" in n.stderr and n.stderr.count("\n") == 1, (n.returncode, n.stderr))
    return agent


SCENARIOS = [
    ("lb", scenario_lb),
]
