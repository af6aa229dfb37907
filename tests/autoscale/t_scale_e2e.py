#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_scale_e2e: the autoscaler end to end in a box of its own (issue 18 "Tests").

ferry as shipped (`kubectl apply -k k8s/deploy`: the controller's Deployment, the
agent's DaemonSet, the ScalePolicy CRD, their RBAC), in a one-node box whose pods
are real processes in real cgroups behind kube-proxy. A Deployment of CPU-burning
HTTP workers (kbox/web's /burn: a fixed CPU cost per request, requests of 100m)
behind its ClusterIP, and a load generator in the node's network stepping its
request rate. Checks, each naming where it is specified:
- TLS on by default (control/signals/README.md): the controller made the Secrets
  ferry-agent-ca and ferry-agent-tls, the agent mounts the latter and serves its
  page over HTTPS only (port 9443), verified with the CA read from the former under
  the agents' name ferry-agent.ferry-system.svc; another CA is refused before any
  request is sent; the plain metrics port answers 404 for the page; a new
  certificate written into ferry-agent-tls is served by the running agent (the
  kubelet refreshes the mount, the agent looks at the files every minute and
  restarts its listener), without a restart of its container, while the autoscaling
  below goes on;
- the agent's per-pod page (control/signals/signals.h), over that HTTPS, answers
  only the controller's service account with a token for the audience ferry-agent:
  401 without a token and with a token for the API server's audience, 403 for
  another service account, 200 with the node's pods and their values for the
  controller;
- a step up of the load: the controller, fed by the agents' pages, scales the
  workers up within seconds (the decision within the sustain window plus a few
  polls), new replicas take load (each pod's CPU on the page), the scale-up
  policy caps the step (Pods 2 per 15 s here: at most 3 in the first 15 s);
- the load stopped: scale-down waits for its explicit stabilization window (6 s)
  and comes within seconds after it;
- a target an HPA also scales: AbleToScale False ScaledByAnother, naming it, and
  its replicas left alone.
CI budget of the autoscaling suite: 3 minutes. Timing figures go to stdout only.
"""
import base64
import datetime
import json
import os
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
from kboxtest import Client, Objects, apply_ferry, check, e2e_box, e2e_require, eq, finish, ready, wait_until  # noqa: E402
from kboxd import nodeutil  # noqa: E402
from cryptography import x509  # noqa: E402
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID  # noqa: E402

REF = "issue 18 Tests"
NODE = "node-s1"
API = "/apis/ferry.io/v1alpha1"
FERRY, KUBECTL = e2e_require()

T0 = time.time()
box, ENV = e2e_box(NODE, "kbox-e2e-home-")
api = box.admin
D = box.dir
NETNS = nodeutil.node_netns(D, NODE)


objects = Objects(api)
get, create, pods = objects.get, objects.create, objects.pods


def replicas(ns, name):
    return ((get(f"/apis/apps/v1/namespaces/{ns}/deployments/{name}") or {}).get("spec") or {}).get("replicas")


def token(sa, ns, audiences=None):
    spec = {"expirationSeconds": 3600}
    if audiences:
        spec["audiences"] = audiences
    return create(f"/api/v1/namespaces/{ns}/serviceaccounts/{sa}/token",
                  {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec})["status"]["token"]


def in_node(argv, **kw):
    return subprocess.run(["ip", "netns", "exec", NETNS] + argv, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


TLS_NAME = "ferry-agent.ferry-system.svc"
CA_FILE = os.path.join(D, "agent-ca.crt")


def page(ip, tok, ca=CA_FILE, plain=False):
    """(HTTP code, body) of the agent's per-pod page, asked from the node's network:
    over HTTPS as the controller's feed reads it (the agents' name, connected to @ip,
    verified against @ca alone), or on the plain metrics port; code None when curl
    got no answer (its exit status is then the body)."""
    argv = ["curl", "-s", "--max-time", "5", "-o", "/dev/stdout", "-w", "\n%{http_code}"]
    if tok is not None:
        argv += ["-H", f"Authorization: Bearer {tok}"]
    if plain:
        argv += [f"http://{ip}:9464/v1/pods"]
    else:
        argv += ["--cacert", ca, "--connect-to", f"{TLS_NAME}:9443:{ip}:9443",
                 f"https://{TLS_NAME}:9443/v1/pods"]
    r = in_node(argv)
    body, _, code = r.stdout.rpartition("\n")
    if code == "000":
        return None, str(r.returncode)
    return (int(code) if code.isdigit() else None), body


# ---------------------------------------------------------------- ferry as shipped
apply_ferry(KUBECTL, ENV)

# the workers: kbox/web, 20 ms of CPU per /burn request, requests of 100m, behind a ClusterIP
create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
labels = {"app": "burn"}
create("/apis/apps/v1/namespaces/shop/deployments", {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "burn"},
    "spec": {"replicas": 1, "selector": {"matchLabels": labels},
             "template": {"metadata": {"labels": labels}, "spec": {
                 "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "web", "image": "kbox/web:1",
                                 "ports": [{"containerPort": 8080}],
                                 "readinessProbe": {"httpGet": {"path": "/readyz", "port": 8080},
                                                    "periodSeconds": 1},
                                 "resources": {"requests": {"cpu": "100m"}}}]}}}})
svc = create("/api/v1/namespaces/shop/services", {
    "apiVersion": "v1", "kind": "Service", "metadata": {"name": "burn"},
    "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]}})
CLUSTER_IP = svc["spec"]["clusterIP"]
# a target an HPA scales too
create("/apis/apps/v1/namespaces/shop/deployments", {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "other"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "other"}},
             "template": {"metadata": {"labels": {"app": "other"}}, "spec": {
                 "terminationGracePeriodSeconds": 1,
                 "containers": [{"name": "web", "image": "kbox/web:1",
                                 "resources": {"requests": {"cpu": "100m"}}}]}}}})
create("/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers", {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "other-hpa"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"},
             "minReplicas": 1, "maxReplicas": 3}})

ok = wait_until(lambda: any(ready(p) for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent")) and
                any(ready(p) for p in pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-controller")) and
                all(ready(p) for p in pods("shop", "app%3Dburn")) and pods("shop", "app%3Dburn"), 90, 0.3)
check("the agent, a controller and the worker are Ready", ok,
      [(p["metadata"]["name"], ready(p)) for ns, s in (("ferry-system", ""), ("shop", "")) for p in pods(ns, s)],
      "Ready", REF)
print(f"note: everything Ready {time.time() - T0:.1f} s after the start", flush=True)
if not ok:
    finish()
agent = pods("ferry-system", "app.kubernetes.io%2Fname%3Dferry-agent")[0]
AGENT_IP = agent["status"]["podIP"]

# ---------------------------------------------------------------- TLS: the Secrets, the ports
ca_sec, tls_sec = get("/api/v1/namespaces/ferry-system/secrets/ferry-agent-ca"), \
    get("/api/v1/namespaces/ferry-system/secrets/ferry-agent-tls")
check("the controller made the Secrets ferry-agent-ca and ferry-agent-tls (kubernetes.io/tls)",
      ca_sec and tls_sec and tls_sec.get("type") == "kubernetes.io/tls",
      (bool(ca_sec), (tls_sec or {}).get("type")), "both", "control/signals/README.md")
if not (ca_sec and tls_sec):
    finish()
with open(CA_FILE, "wb") as f:
    f.write(base64.b64decode(ca_sec["data"]["ca.crt"]))
agent_c = next(c for c in agent["spec"]["containers"] if c["name"] == "agent")
check("the agent runs with the mounted certificate and declares port 9443",
      "--tls-cert=/etc/ferry/agent-tls/tls.crt" in agent_c.get("args", []) and
      any(p.get("containerPort") == 9443 for p in agent_c.get("ports", [])),
      (agent_c.get("args"), agent_c.get("ports")), "--tls-cert, 9443", "k8s/deploy/agent-daemonset.yaml")
ctl_tok = token("ferry-controller", "ferry-system", ["ferry-agent"])
code, body = page(AGENT_IP, ctl_tok, plain=True)
eq("the plain metrics port answers 404 for the page, even with the controller's token", code, 404,
   "control/signals/README.md")
other_ca = os.path.join(D, "other-ca.crt")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", os.path.join(D, "other-ca.key"), "-out", other_ca, "-subj", "/CN=other",
                "-days", "1", "-batch"], check=True, capture_output=True)
code, body = page(AGENT_IP, ctl_tok, ca=other_ca)
eq("over HTTPS with another CA: no answer (curl 60: the certificate is not verified)", (code, body),
   (None, "60"), "control/signals/README.md")



def served_serial(ip):
    """The serial number of the certificate the agent's TLS port presents (None: none)."""
    r = in_node(["openssl", "s_client", "-connect", f"{ip}:9443", "-servername", TLS_NAME], input="", timeout=10)
    pem = r.stdout[r.stdout.find("-----BEGIN CERTIFICATE-----"):r.stdout.find("-----END CERTIFICATE-----") + 25]
    try:
        return x509.load_pem_x509_certificate(pem.encode()).serial_number
    except ValueError:
        return None


# the renewal: a new certificate of the same CA written into the Secret now, to be served
# by the running agent by the end of the test (the kubelet's refresh, then the agent's look
# at its files every minute); the controller leaves it (of its CA, most of its life left)
ca_crt = x509.load_pem_x509_certificate(base64.b64decode(ca_sec["data"]["ca.crt"]))
ca_key = serialization.load_pem_private_key(base64.b64decode(ca_sec["data"]["ca.key"]), None)
new_key = ec.generate_private_key(ec.SECP256R1())
now = datetime.datetime.now(datetime.timezone.utc)
new_crt = (x509.CertificateBuilder()
           .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, TLS_NAME)]))
           .issuer_name(ca_crt.subject).public_key(new_key.public_key()).serial_number(x509.random_serial_number())
           .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=300))
           .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
           .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
           .add_extension(x509.SubjectAlternativeName([x509.DNSName(TLS_NAME)]), critical=False)
           .sign(ca_key, hashes.SHA256()))
old_serial = served_serial(AGENT_IP)
check("the agent presents the Secret's certificate",
      old_serial == x509.load_pem_x509_certificate(base64.b64decode(tls_sec["data"]["tls.crt"])).serial_number,
      old_serial, "tls.crt's serial", "control/signals/README.md")
tls_sec["data"]["tls.crt"] = base64.b64encode(new_crt.public_bytes(serialization.Encoding.PEM)).decode()
tls_sec["data"]["tls.key"] = base64.b64encode(new_key.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())).decode()
code, _, body = api.put("/api/v1/namespaces/ferry-system/secrets/ferry-agent-tls", tls_sec)
eq("a new certificate of the CA written into ferry-agent-tls", code, 200, "control/signals/README.md")
T_RENEW = time.time()

# ---------------------------------------------------------------- the page and who may read it
code, body = page(AGENT_IP, None)
eq("the per-pod page without a token: 401", code, 401, "control/signals/signals.h")
code, body = page(AGENT_IP, token("ferry-controller", "ferry-system"))
eq("... with the controller's token for the API server's audience: 401 (the audience is ferry-agent)",
   code, 401, "control/signals/signals.h; TokenReview spec.audiences")
create("/api/v1/namespaces/shop/serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                    "metadata": {"name": "nosy"}})
code, body = page(AGENT_IP, token("nosy", "shop", ["ferry-agent"]))
eq("... with another service account's token for ferry-agent: 403", code, 403, "control/signals/signals.h")
check("... which names the identity refused", "system:serviceaccount:shop:nosy" in body, body[:200], "named", REF)


def doc():
    code, body = page(AGENT_IP, ctl_tok)
    try:
        return json.loads(body) if code == 200 else None
    except ValueError:
        return None


d = wait_until(lambda: (lambda x: x if x and any(p["namespace"] == "shop" for p in x["pods"]) else None)(doc()), 10, 0.3)
check("the controller's token for ferry-agent reads the page: 200, JSON", d, page(AGENT_IP, ctl_tok), "200", REF)
if d:
    eq("the page names its node", d.get("node"), NODE, REF)
    node_pods = sorted(p["metadata"]["uid"] for p in (get(f"/api/v1/pods?fieldSelector=spec.nodeName%3D{NODE}") or {})
                       .get("items", []) if p["status"].get("phase") == "Running")
    check("the page's pods are pods of the node", {p["uid"] for p in d["pods"]} <= set(node_pods),
          sorted(p["uid"] for p in d["pods"]), node_pods, REF)
    check("each pod has eight values, CPU and memory (its working set, over 64 KiB) among them, and the sample an "
          "age under 2 s",
          all(len(p["v"]) == 8 and p["v"][0] is not None and (p["v"][1] or 0) > 65536 * 1000 for p in d["pods"]) and
          0 <= d["age_ms"] < 2000, d["pods"][:2], "8 values, age < 2 s", REF)

# ---------------------------------------------------------------- the ScalePolicies
create(f"{API}/namespaces/shop/scalepolicies", {
    "apiVersion": "ferry.io/v1alpha1", "kind": "ScalePolicy", "metadata": {"name": "burn"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "burn"},
             "minReplicas": 1, "maxReplicas": 4,
             "metrics": [{"type": "Resource", "resource": {
                 "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
             "behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 15}]},
                          "scaleDown": {"stabilizationWindowSeconds": 6}},
             "sustainWindowSeconds": 2}})
create(f"{API}/namespaces/shop/scalepolicies", {
    "apiVersion": "ferry.io/v1alpha1", "kind": "ScalePolicy", "metadata": {"name": "other"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"},
             "minReplicas": 1, "maxReplicas": 4}})


def cond(name, ctype):
    sp = get(f"{API}/namespaces/shop/scalepolicies/{name}") or {}
    return next((c for c in (sp.get("status") or {}).get("conditions") or [] if c.get("type") == ctype), None)


c = wait_until(lambda: (lambda x: x if x and x.get("reason") == "ScaledByAnother" else None)(cond("other", "AbleToScale")),
               15, 0.3)
check("a target an HPA scales: AbleToScale False ScaledByAnother naming the HPA",
      c and c.get("status") == "False" and "other-hpa" in c.get("message", ""), c, "ScaledByAnother other-hpa", REF)
eq("... and its replicas are left alone", replicas("shop", "other"), 1, REF)
c = wait_until(lambda: (lambda x: x if x and x.get("status") == "True" else None)(cond("burn", "ScalingActive")), 15, 0.3)
check("with an idle worker the controller reads its CPU from the agents: ScalingActive True", c,
      get(f"{API}/namespaces/shop/scalepolicies/burn").get("status"), "True", REF)
eq("... and leaves it at one replica", replicas("shop", "burn"), 1, REF)

# ---------------------------------------------------------------- the load
RATE = os.path.join(D, "rate")
with open(RATE, "w") as f:
    f.write("0")
LOADGEN = r"""
import sys, threading, time, urllib.request
url, rate_file = sys.argv[1], sys.argv[2]
def one():
    try:
        urllib.request.urlopen(url, timeout=5).read()
    except Exception:
        pass
next_t = time.time()
while True:
    try:
        rate = float(open(rate_file).read() or 0)
    except (OSError, ValueError):
        rate = 0
    if rate <= 0:
        time.sleep(0.1)
        next_t = time.time()
        continue
    threading.Thread(target=one, daemon=True).start()
    next_t += 1.0 / rate
    time.sleep(max(0, next_t - time.time()))
"""
gen = subprocess.Popen(["ip", "netns", "exec", NETNS, "/usr/bin/python3", "-c", LOADGEN,
                        f"http://{CLUSTER_IP}/burn?ms=20", RATE], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
stop = threading.Event()
history = []  # (t, replicas)


def watch():
    own = None
    while not stop.is_set():
        try:
            if own is None:
                own = Client(box.url, box.ca, box.env["KBOX_ADMIN_TOKEN"])  # a client is one connection
            code, _, body = own.get("/apis/apps/v1/namespaces/shop/deployments/burn")
            n = (body.get("spec") or {}).get("replicas") if code == 200 and isinstance(body, dict) else None
        except Exception as e:  # a connection the server closed: a new one next time
            print(f"note: the replicas' watch: {e!r}", flush=True)
            own, n = None, None
        history.append((time.time(), n))
        time.sleep(0.2)


w = threading.Thread(target=watch, daemon=True)
w.start()
t_up = time.time()
try:
    # 10 requests a second of 20 ms: 200m on one replica, 200 % of its request
    t_up = time.time()
    with open(RATE, "w") as f:
        f.write("10")
    up = wait_until(lambda: (replicas("shop", "burn") or 1) > 1, 20, 0.2)
    t_dec = time.time()
    check("a sustained step up of the load scales the workers up within 20 s", up, replicas("shop", "burn"),
          "> 1", REF)
    print(f"note: step up -> decision {t_dec - t_up:.1f} s (sustain window 2 s, agents and controller at 1 Hz)",
          flush=True)
    # 200 % of the request on one replica asks for 4; the Pods policy allows 2 more per 15 s
    wait_until(lambda: replicas("shop", "burn") == 3, 10, 0.2)
    first = [n for t, n in history if t_dec - 1 <= t <= t_dec + 14 and n is not None]
    check("the scale-up policy (Pods: 2 per 15 s) caps the replicas at 3 in the 15 s after the first step",
          first and max(first) <= 3, sorted(set(first)), "<= 3", "HPA behavior: scaling policies")
    ok = wait_until(lambda: len([p for p in pods("shop", "app%3Dburn") if ready(p)]) >= 2, 30, 0.3)
    check("the new replicas turn Ready", ok, [(p["metadata"]["name"], ready(p)) for p in pods("shop", "app%3Dburn")],
          ">= 2 Ready", REF)
    print(f"note: decision -> {len([p for p in pods('shop', 'app%3Dburn') if ready(p)])} Ready "
          f"{time.time() - t_dec:.1f} s", flush=True)
    uids = {p["metadata"]["uid"] for p in pods("shop", "app%3Dburn") if ready(p)}

    def busy():
        x = doc()
        got = {p["uid"]: p["v"][0] for p in (x or {}).get("pods", []) if p["uid"] in uids}
        return got if len(got) == len(uids) and all(v and v >= 10 for v in got.values()) else None
    got = wait_until(busy, 10, 0.5)
    check("the new replicas take load: each Ready worker burns at least 10m of CPU (the agent's page)", got,
          {p["name"]: p["v"][0] for p in (doc() or {}).get("pods", []) if p["uid"] in uids}, ">= 10m each", REF)
    time.sleep(2)
    # the load stops: down to one replica, no sooner than the 6 s window after it
    burn_uids = {p["metadata"]["uid"] for p in pods("shop", "app%3Dburn")}
    total = sum(p["v"][0] or 0 for p in (doc() or {}).get("pods", []) if p["uid"] in burn_uids)
    t_stop = time.time()
    r_stop = replicas("shop", "burn")
    with open(RATE, "w") as f:
        f.write("0")
    down = wait_until(lambda: replicas("shop", "burn") == 1, 30, 0.2)
    t_seen = time.time()
    t_down = min([t for t, n in history if t > t_stop and n == 1] + [t_seen])
    check("the load stopped: scaled down to minReplicas within 30 s", down, replicas("shop", "burn"), 1, REF)
    # the window holds the highest recommendation of the last 6 s: if the workers burnt
    # more than 1.2 x the 50m one replica is sized for just before the stop, the pass
    # then recommended more than one replica, so one replica comes no sooner than 6 s
    # later (on a machine so loaded that the workers' CPU had fallen below that, the
    # recommendation fell earlier: nothing to hold then)
    print(f"note: the workers burnt {total}m in all just before the stop", flush=True)
    if r_stop and r_stop > 1 and total > 60:
        check("... not before the scale-down stabilization window (6 s) has passed", t_down - t_stop >= 6.0,
              round(t_down - t_stop, 1), ">= 6 s", "HPA behavior: stabilizationWindowSeconds")
    else:
        print(f"note: the load had fallen before it stopped ({total}m, {r_stop} replicas): the window "
              "is not checked", flush=True)
    print(f"note: load stopped -> scaled down {t_down - t_stop:.1f} s (window 6 s, sustain 2 s)", flush=True)
    # the controller scales first and writes the ScalePolicy's status after: a read
    # between the two sees the decision before, so the status gets a few seconds

    def last():
        d = (get(f"{API}/namespaces/shop/scalepolicies/burn") or {}).get("status", {}).get("lastDecision", {})
        return (d.get("desiredReplicas"), d.get("applied"))
    wait_until(lambda: last() == (1, True), 5, 0.2)
    eq("the ScalePolicy's last decision is the scale-down, applied", last(), (1, True), REF)
    ev = [e for e in (get("/apis/events.k8s.io/v1/namespaces/shop/events") or {}).get("items", [])
          if e.get("reason") == "SuccessfulRescale"]
    check("SuccessfulRescale Events in the HPA's words (New size: N; reason: ...)",
          len(ev) >= 2 and all(e.get("note", "").startswith("New size: ") for e in ev),
          [e.get("note") for e in ev], ">= 2", "HPA events")
finally:
    stop.set()
    gen.kill()
    gen.wait()
# ---------------------------------------------------------------- the renewal, served
# the kubelet's refresh of the mount (seconds in the box, about a minute on a real node)
# and the agent's look at its files every minute: 90 s from the write at most
renewed = wait_until(lambda: served_serial(AGENT_IP) == new_crt.serial_number, max(1, T_RENEW + 90 - time.time()), 1)
print(f"note: the new certificate served {time.time() - T_RENEW:.1f} s after the Secret's update", flush=True)
check("the running agent serves the new certificate within 90 s of the Secret's update (mount refresh + 60 s look)",
      renewed, served_serial(AGENT_IP), new_crt.serial_number, "control/signals/README.md")
agent_now = get(f"/api/v1/namespaces/ferry-system/pods/{agent['metadata']['name']}") or {}
eq("... without a restart of the agent's container (restartCount 0)",
   [c.get("restartCount") for c in (agent_now.get("status") or {}).get("containerStatuses") or []], [0],
   "control/agent/tlsreload.h")
check("... and the page reads with the Secret's CA after it", doc(), page(AGENT_IP, ctl_tok), "200",
      "control/signals/README.md")
print("note: replicas over time (s after the step up):",
      [(round(t - t_up, 1), n) for i, (t, n) in enumerate(history) if i == 0 or history[i - 1][1] != n],
      f"{time.time() - T0:.1f} s in all", flush=True)
finish()
