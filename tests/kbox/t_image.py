#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ferry's image, built here without a registry, runs the agent as the DaemonSet does
(issue 13 §4, "The image").

- a Debian 12 base: `mmdebstrap` with the runtime packages k8s/deploy/Containerfile
  lists, imported with `podman import` (cached: the tarball in FERRY_TEST_CACHE, default
  /var/tmp/ferry-test-cache, and the image localhost/ferry-test-base:<hash of the list>,
  both rebuilt when the list changes);
- `podman build` of k8s/deploy/Containerfile over it with the built ferry (runc, explicit
  ulimits: crun refuses the hybrid cgroup layout, and these machines lack
  CAP_SYS_RESOURCE); its entrypoint is ferry;
- the container runs what k8s/deploy/agent-daemonset.yaml runs, privileged, hostPID, with
  the DaemonSet's hostPath mounts (read-only and HostToContainer as the manifest says; the
  kubelet directory is the box node's), its args, NODE_NAME, and in-cluster configuration:
  a service-account directory with a TokenRequest token of ferry-system/ferry-agent (RBAC
  from agent-pods-rbac.yaml) and KUBERNETES_SERVICE_HOST/PORT at the box;
- /readyz turns 200, /metrics serves the box's pods on that node with their names, and
  SIGTERM (podman stop) ends it with exit 0;
- no podman call uses a CNI network (none or host): the host's forwarding and links are
  left as they were.
CI budget: 1-2 min with the base cached; the first run adds mmdebstrap (20 s on a quiet
machine, minutes on a loaded one).
"""
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import yaml

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, skip, wait_until  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
DEPLOY = os.path.join(HERE, "..", "..", "k8s", "deploy")
REF = "issue 13 §4 (the image)"
T0 = time.time()
if os.geteuid() != 0:
    skip("podman with host mounts, BPF and the box's nodes need root")
if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
    skip("runs against the box's own node; FERRY_TEST_KUBECONFIG names a real cluster")
FERRY = os.environ.get("FERRY", "")
if not (FERRY and os.access(FERRY, os.X_OK)):
    print("FAIL: FERRY must name the built ferry binary (meson test sets it)")
    sys.exit(1)
for tool in ("podman", "runc", "mmdebstrap"):
    if not shutil.which(tool):
        print(f"FAIL: {tool} is missing: run tests/install-deps.sh")
        sys.exit(1)
PODMAN = ["podman", "--runtime", "runc"]
ULIMITS = ["--ulimit", "nofile=16384:16384", "--ulimit", "nproc=8192:8192"]


def run(cmd, timeout=300, **kw):
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=timeout, **kw)


# podman's default network (CNI's bridge) would turn on the host's IPv4 forwarding, which
# every new network namespace inherits, and add a bridge and FORWARD rules: every podman
# call here has --network none or host, and the end checks that the host is as it was


def host_net():
    fwd = open("/proc/sys/net/ipv4/ip_forward").read().strip()
    links = sorted(l.split(":")[1].strip().split("@")[0] for l in run(["ip", "-o", "link"]).stdout.splitlines()
                   if l.split(":")[1].strip().startswith("cni"))
    return fwd, links


NET0 = host_net()

# ---------------------------------------------------------------- the base, without a registry
cf = open(os.path.join(DEPLOY, "Containerfile")).read()
m = re.search(r'^ARG PACKAGES="([^"]+)"', cf, re.M)
check("the Containerfile names its Debian 12 runtime packages (ARG PACKAGES)", m is not None, None, None, REF)
pkgs = m.group(1).split() if m else []
key = hashlib.sha256(" ".join(sorted(pkgs)).encode()).hexdigest()[:12]
cache = os.environ.get("FERRY_TEST_CACHE", "/var/tmp/ferry-test-cache")
os.makedirs(cache, exist_ok=True)
tar = os.path.join(cache, f"debian12-ferry-base-{key}.tar")
base = f"localhost/ferry-test-base:{key}"
if run(PODMAN + ["image", "exists", base]).returncode != 0:
    if not os.path.exists(tar):
        t = time.time()
        part = tar[:-len(".tar")] + ".partial.tar"  # mmdebstrap picks the format by the suffix
        r = run(["mmdebstrap", "--quiet", "--variant=apt", "--include=" + ",".join(pkgs), "bookworm", part],
                timeout=900)
        if r.returncode != 0:
            print(f"ERROR: mmdebstrap failed (Debian's mirror unreachable?): {r.stderr[-800:]}")
            sys.exit(99)
        os.rename(part, tar)
        print(f"note: mmdebstrap made the base in {time.time() - t:.0f} s")
    r = run(PODMAN + ["import", tar, base])
    if not check("podman import of the mmdebstrap rootfs", r.returncode == 0, r.stderr[-300:], "exit 0", REF):
        finish()

# ---------------------------------------------------------------- the image
tag = f"ferry.io/ferry:kbox-test-{uuid.uuid4().hex[:8]}"
ctx = tempfile.mkdtemp(prefix="ferry-image-ctx-")
shutil.copy2(FERRY, os.path.join(ctx, "ferry"))
box = None
sa = None
tls = None
name = f"ferry-agent-test-{uuid.uuid4().hex[:8]}"
try:
    t = time.time()
    r = run(PODMAN + ["build", "--quiet", "--network=none"] + ULIMITS +
            ["--build-arg", f"BASE={base}", "-f", os.path.join(DEPLOY, "Containerfile"), "-t", tag, ctx])
    if not eq("podman build of k8s/deploy/Containerfile over the Debian 12 base, with no network",
              (r.returncode, r.stderr.strip()[-500:]), (0, ""), REF):
        finish()
    print(f"note: podman build took {time.time() - t:.1f} s")
    r = run(PODMAN + ["image", "inspect", "--format", "{{json .Config.Entrypoint}}", tag])
    eq("the image's entrypoint is ferry", r.stdout.strip(), '["/usr/local/bin/ferry"]', REF)
    r = run(PODMAN + ["run", "--rm", "--network=none"] + ULIMITS + [tag, "--version"])
    eq("ferry runs in it (every library it links is there)", (r.returncode, r.stdout.strip()), (0, "ferry 0.1.0"), REF)

    # ------------------------------------------------------------ a box and the DaemonSet's pod spec
    box = Box(private=True, args=["--nodes", "1"])
    api = box.admin
    for path, obj in (("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "ferry-system"}}),
                      ("/api/v1/namespaces/ferry-system/serviceaccounts",
                       {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "ferry-agent"}}),
                      ("/api/v1/namespaces/default/pods",
                       {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
                        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "100000"]}]}})):
        code, _, body = api.post(path, obj)
        assert code == 201, (path, code, body)
    for doc in yaml.safe_load_all(open(os.path.join(DEPLOY, "agent-pods-rbac.yaml"))):
        plural = doc["kind"].lower() + "s"
        code, _, body = api.post(f"/apis/rbac.authorization.k8s.io/v1/{plural}", doc)
        assert code == 201, (plural, code, body)
    ds = yaml.safe_load(open(os.path.join(DEPLOY, "agent-daemonset.yaml")))
    pod = ds["spec"]["template"]["spec"]
    ctr = pod["containers"][0]
    code, _, tr = api.post("/api/v1/namespaces/ferry-system/serviceaccounts/ferry-agent/token",
                           {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                            "spec": {"expirationSeconds": 3600}})
    eq("a TokenRequest token for ferry-system/ferry-agent", code, 201, "TokenRequest")
    sa = tempfile.mkdtemp(prefix="ferry-image-sa-")
    open(os.path.join(sa, "token"), "w").write(tr["status"]["token"])
    shutil.copy(box.ca, os.path.join(sa, "ca.crt"))
    open(os.path.join(sa, "namespace"), "w").write("ferry-system")
    ok = wait_until(lambda: (api.get("/api/v1/namespaces/default/pods/sleeper")[2].get("status") or {}).get("phase") == "Running",
                    60, 0.3)
    check("the box's pod runs", ok, None, None, "kbox")

    # the DaemonSet's mounts: hostPath -> mountPath, readOnly -> ro, HostToContainer -> rslave;
    # the kubelet directory is the node's
    # the Secret ferry-agent-tls (the controller issues it: tests/operator's agent-tls) as
    # the kubelet would mount it, its certificate made here with the openssl command
    tls = tempfile.mkdtemp(prefix="ferry-image-tls-")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", f"{tls}/tls.key", "-out", f"{tls}/tls.crt", "-subj", "/CN=ferry-agent.ferry-system.svc",
                    "-addext", "subjectAltName=DNS:ferry-agent.ferry-system.svc", "-days", "2", "-batch"],
                   check=True, capture_output=True)
    vols = {v["name"]: v["hostPath"]["path"] if "hostPath" in v else tls for v in pod["volumes"]}
    mounts = []
    for vm in ctr["volumeMounts"]:
        src = vols[vm["name"]]
        if src == "/var/lib/kubelet":
            src = os.path.join(box.dir, "nodes", "node-1", "kubelet")
        opts = ["ro"] if vm.get("readOnly") else []
        if vm.get("mountPropagation") == "HostToContainer":
            opts.append("rslave")
        mounts += ["-v", f"{src}:{vm['mountPath']}" + (":" + ",".join(opts) if opts else "")]
    mounts += ["-v", f"{sa}:/var/run/secrets/kubernetes.io/serviceaccount:ro"]
    with socket.socket() as so, socket.socket() as so2:
        so.bind(("127.0.0.1", 0))
        so2.bind(("127.0.0.1", 0))
        port, tls_port = so.getsockname()[1], so2.getsockname()[1]
    api_port = box.url.rsplit(":", 1)[1]
    flags = (["--privileged"] if ctr["securityContext"].get("privileged") else []) + \
        (["--pid=host"] if pod.get("hostPID") else [])
    # host network: the box's API and the metrics port on the host's loopback; the DaemonSet's
    # args, then free ports (metrics, TLS) and no pins (none left on the host)
    r = run(PODMAN + ["run", "-d", "--name", name, "--network=host"] + flags + ULIMITS + mounts +
            ["-e", "NODE_NAME=node-1", "-e", "KUBERNETES_SERVICE_HOST=127.0.0.1", "-e", f"KUBERNETES_SERVICE_PORT={api_port}",
             tag] + ctr["args"] + ["--metrics-addr", f"127.0.0.1:{port}", "--tls-addr", f"127.0.0.1:{tls_port}",
                                   "--no-pin"])
    if not eq("podman run: privileged, hostPID, the DaemonSet's mounts, args and NODE_NAME, in-cluster configuration",
              (r.returncode, r.stderr.strip()[-500:]), (0, ""), REF):
        finish()

    def http(path):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, ""
        except OSError:
            return 0, ""

    ok = wait_until(lambda: http("/readyz")[0] == 200, 30, 0.3)
    check("/readyz answers 200 (the first sample after the first list of node-1's pods)", ok,
          run(PODMAN + ["logs", name]).stderr[-500:], "200", REF)
    uid = api.get("/api/v1/namespaces/default/pods/sleeper")[2]["metadata"]["uid"]
    want = {p["metadata"]["uid"]: (p["metadata"]["namespace"], p["metadata"]["name"])
            for p in api.get("/api/v1/pods?fieldSelector=spec.nodeName%3Dnode-1")[2]["items"]}

    def series():
        return {m.group(1): (m.group(2), m.group(3)) for m in re.finditer(
            r'^ferry_pod_cpu_usage_seconds_total\{pod_uid="([^"]+)",namespace="([^"]+)",pod="([^"]+)"\}', http("/metrics")[1], re.M)}

    ok = wait_until(lambda: series() == want, 10, 0.3)
    got = series()
    eq("/metrics serves the box's pods on node-1, each with its namespace and name", got, want, REF)
    check("... the sleeper pod among them", got.get(uid) == ("default", "sleeper"), got.get(uid), ("default", "sleeper"), REF)
    r = run(PODMAN + ["stop", "-t", "20", name])
    r = run(PODMAN + ["inspect", "--format", "{{.State.ExitCode}}", name])
    eq("podman stop (SIGTERM): the agent exits 0", r.stdout.strip(), "0", "ferry agent")
finally:
    run(PODMAN + ["rm", "-f", name])
    run(PODMAN + ["rmi", "-f", tag])
    shutil.rmtree(ctx, ignore_errors=True)
    if sa:
        shutil.rmtree(sa, ignore_errors=True)
    if tls:
        shutil.rmtree(tls, ignore_errors=True)
    if box is not None:
        box.close()
eq("the host's IPv4 forwarding and links are as before (no CNI bridge)", host_net(), NET0, "tests/kbox/t_image.py")
print(f"t_image: {time.time() - T0:.1f} s")
finish()
