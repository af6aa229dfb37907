#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/demo_cluster.py [BUILD_DIR] - ferry's second main job: an application backed up
and restored in a cluster, end to end, without kubectl (python3-kubernetes and ferry).

1. the cluster in a box (tests/kbox): three nodes in two zones, CSI storage on real loop
   devices with snapshots;
2. ferry's manifests (k8s/deploy, rendered from its kustomization) created with
   python3-kubernetes: the namespace, the CRDs, the service accounts and their rules.
   The controller and the agents then run as the Deployment and the DaemonSet run them,
   under their own service accounts, but as processes of this machine and of each node
   (nsenter into the node's namespaces), so that they share the demo's file://
   repository under /var/tmp; on a real cluster the Repository names an S3 bucket and
   `kubectl apply -k k8s/deploy` (or the chart) runs them as pods;
3. a Repository (encrypted, its password in a Secret), and an application: a namespace
   with a ConfigMap, a Secret, a Service and a StatefulSet of two replicas whose ext4
   claims hold files and their checksums;
4. a Backup of the namespace (objects into the repository's archive, each claim's blocks
   by the agent of its node), the namespace deleted, a Restore of it: the claims filled
   by the agents before they bind, the pods back, every file's checksum verified by the
   restored pods themselves.

Environment: DEMO_DIR (default /var/tmp/ferry-cluster-demo), FERRY (the built binary).
Exit 0 when the restored application verified its data, 1 otherwise.
"""
import base64
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
from kboxtest import Box  # noqa: E402
from kboxd import nodeutil  # noqa: E402

import kubernetes  # noqa: E402  (python3-kubernetes)
from kubernetes import utils  # noqa: E402

BUILD = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build")
FERRY = os.environ.get("FERRY") or os.path.join(BUILD, "control", "ferry")
D = os.environ.get("DEMO_DIR", "/var/tmp/ferry-cluster-demo")
SYS, APP = "ferry-system", "shop"
NODES = ("node-a1", "node-a2", "node-b1")
GROUP, VERSION = "ferry.io", "v1alpha1"
PASSWORD = base64.b64encode(os.urandom(18)).decode()
PROCS = []


def step(what):
    print(f"\n== {what}", flush=True)


def wait(what, fn, timeout, every=0.5):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise SystemExit(f"demo: {what}: not within {timeout} s")


def render():
    """The kustomization of k8s/deploy as kustomize builds it: its resources, its labels on
    every object's metadata, its image tag."""
    kdir = os.path.join(ROOT, "k8s", "deploy")
    k = yaml.safe_load(open(os.path.join(kdir, "kustomization.yaml")))
    labels = {}
    for entry in k.get("labels") or []:
        labels.update(entry.get("pairs") or {})
    tags = {i["name"]: i["newTag"] for i in k.get("images") or []}
    docs = []
    for f in k["resources"]:
        for d in yaml.safe_load_all(open(os.path.join(kdir, f))):
            if not d:
                continue
            d.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
            pod = ((d.get("spec") or {}).get("template") or {}).get("spec") or {}
            for c in pod.get("containers") or []:
                name = c["image"].split(":")[0]
                if name in tags:
                    c["image"] = f"{name}:{tags[name]}"
            docs.append(d)
    return docs


def token_kubeconfig(core, box, sa):
    """A kubeconfig of the box's server with a TokenRequest token of ferry-system/@sa."""
    tr = core.create_namespaced_service_account_token(sa, SYS, {
        "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
        "spec": {"expirationSeconds": 86400}})
    kc = yaml.safe_load(open(box.kubeconfig))
    kc["users"][0]["user"] = {"token": tr.status.token}
    path = os.path.join(D, f"{sa}.kubeconfig")
    with open(path, "w") as f:
        yaml.safe_dump(kc, f)
    os.chmod(path, 0o600)
    return path


def free_port():
    with socket.socket() as so:
        so.bind(("127.0.0.1", 0))
        return so.getsockname()[1]


def start(argv, log, node=None):
    if node:
        argv = ["nsenter", "-t", str(nodeutil.node_pid(BOX.dir, node)), "-m", "-p", "-C", "--"] + argv
    PROCS.append(subprocess.Popen(argv, stdout=open(os.path.join(D, log), "w"), stderr=subprocess.STDOUT,
                                  start_new_session=True))


def stop_all():
    for p in PROCS:
        if p.poll() is None:
            try:
                kids = open(f"/proc/{p.pid}/task/{p.pid}/children").read().split()
            except OSError:
                kids = []
            for k in kids or [str(p.pid)]:
                try:
                    os.kill(int(k), signal.SIGTERM)
                except OSError:
                    pass
    for p in PROCS:
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)


# the application's pods: a new claim gets files and their checksums; a restored claim
# (it has the checksums) is checked against them, and the pod says which in its log
APP_SCRIPT = ("if [ -f /data/sums ]; then cd /data && sha256sum -c sums >/dev/null && echo VERIFIED $(wc -l < sums) "
              "|| echo CORRUPT; else head -c 8388608 /dev/urandom > /data/blob && hostname > /data/who && "
              "mkdir -p /data/dir && echo hello > /data/dir/hello && cd /data && "
              "sha256sum blob who dir/hello > sums && sync && echo WROTE; fi; exec sleep 1000000")


def app_objects():
    labels = {"app": "shop"}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP, "labels": labels}},
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "shop-config", "namespace": APP,
                                                               "labels": labels},
         "data": {"greeting": "hello from the shop"}},
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "shop-db", "namespace": APP, "labels": labels},
         "stringData": {"password": "s3cr3t"}},
        {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "db", "namespace": APP, "labels": labels},
         "spec": {"clusterIP": "None", "selector": labels, "ports": [{"port": 5432}]}},
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db", "namespace": APP,
                                                                      "labels": labels},
         "spec": {"serviceName": "db", "replicas": 2, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"terminationGracePeriodSeconds": 1,
                                        "containers": [{"name": "db", "image": "busybox",
                                                        "command": ["sh", "-c", APP_SCRIPT],
                                                        "volumeMounts": [{"name": "data", "mountPath": "/data"}]}]}},
                  # 512 MiB: below it mkfs.ext4 picks 1 KiB blocks
                  "volumeClaimTemplates": [{"metadata": {"name": "data", "labels": labels},
                                            "spec": {"accessModes": ["ReadWriteOnce"],
                                                     "storageClassName": "kbox-disk",
                                                     "resources": {"requests": {"storage": "512Mi"}}}}]}},
    ]


def pod_says(core, name):
    try:
        return core.read_namespaced_pod_log(name, APP).strip().splitlines()
    except kubernetes.client.exceptions.ApiException:
        return []


def wait_phase(co, plural, name, timeout):
    def done():
        o = co.get_namespaced_custom_object(GROUP, VERSION, SYS, plural, name)
        st = o.get("status") or {}
        prog = st.get("progress") or {}
        line = f"  {plural[:-1]} {name}: {st.get('phase', 'New')}"
        if prog:
            line += f", {prog.get('itemsBackedUp', prog.get('itemsRestored', 0))} objects"
            if "volumesTotal" in prog:
                line += f", volumes {prog.get('volumesDone', 0)}/{prog['volumesTotal']}"
        vols = st.get("volumes") or []
        if plural == "restores" and vols:
            line += f", volumes {sum(v.get('phase') == 'Completed' for v in vols)}/{len(vols)} filled"
        if line != getattr(done, "last", None):
            print(line, flush=True)
            done.last = line
        return st if st.get("phase") in ("Completed", "PartiallyFailed", "Failed", "FailedValidation") else None
    return wait(f"{plural[:-1]} {name}", done, timeout)


def main():
    global BOX
    if os.geteuid() != 0:
        raise SystemExit("demo: run as root (the box's nodes, cgroups and loop devices)")
    if not os.access(FERRY, os.X_OK):
        raise SystemExit(f"demo: {FERRY} not built (meson setup build && ninja -C build)")
    shutil.rmtree(D, ignore_errors=True)
    os.makedirs(D)
    repo = f"file://{D}/repo"

    step("the cluster in a box: three nodes in two zones, CSI storage on loop devices")
    os.environ["FERRY"] = FERRY  # the box's image table: ferry's image runs this binary
    BOX = Box(private=True, args=["--config", os.path.join(ROOT, "tests", "kbox", "three-nodes-storage.yaml")])
    api = kubernetes.config.new_client_from_config(config_file=BOX.kubeconfig)
    core = kubernetes.client.CoreV1Api(api)
    co = kubernetes.client.CustomObjectsApi(api)
    print(f"  API server {BOX.url}; kubeconfig {BOX.kubeconfig}")

    step("ferry's manifests (k8s/deploy) with python3-kubernetes")
    docs = render()
    for d in docs:
        if d["kind"] in ("Deployment", "DaemonSet"):
            print(f"  {d['kind']} {d['metadata']['name']}: run below as processes (the demo's repository "
                  "is a directory of this machine)")
            continue
        utils.create_from_dict(api, d)
        print(f"  created {d['kind']} {d['metadata'].get('namespace', '') + '/' if d['metadata'].get('namespace') else ''}"
              f"{d['metadata']['name']}")
    time.sleep(1)  # the CRDs served

    step("the repository: file:// under the demo's directory, encrypted")
    env = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=D)
    subprocess.run([FERRY, "init", "--repo", repo], env=env, check=True)
    core.create_namespaced_secret(SYS, {"apiVersion": "v1", "kind": "Secret",
                                        "metadata": {"name": "repo-password"},
                                        "stringData": {"password": PASSWORD}})
    co.create_namespaced_custom_object(GROUP, VERSION, SYS, "repositories", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Repository", "metadata": {"name": "default"},
        "spec": {"url": repo, "passwordSecret": {"name": "repo-password"}}})

    step("ferry controller and one ferry agent per node, under their service accounts")
    ctl_kc = token_kubeconfig(core, BOX, "ferry-controller")
    agent_kc = token_kubeconfig(core, BOX, "ferry-agent")
    start([FERRY, "-v", "controller", "--kubeconfig", ctl_kc, "-n", SYS, "--identity", "demo",
           "--metrics-addr", f"127.0.0.1:{free_port()}"], "controller.log")
    for n in NODES:
        start([FERRY, "-v", "agent", "--kubeconfig", agent_kc, "--node-name", n, "--no-pin", "--no-net",
               "--metrics-addr", f"127.0.0.1:{free_port()}", "--max-transfers", "4", "--memory", "64M"],
              f"agent-{n}.log", node=n)
    print(f"  logs in {D}/controller.log and {D}/agent-*.log")

    step("the application: namespace shop, a ConfigMap, a Secret, a Service, a StatefulSet of two")
    for o in app_objects():
        utils.create_from_dict(api, o)
    pods = ("db-0", "db-1")
    wait("the StatefulSet's pods wrote their files", lambda: all("WROTE" in pod_says(core, p) for p in pods), 180)
    for p in pods:
        pod = core.read_namespaced_pod(p, APP)
        print(f"  {p} on {pod.spec.node_name}: wrote 8 MiB and its checksums")

    step("ferry backs the namespace up: a Backup (in ferry-system, as Velero keeps its own)")
    co.create_namespaced_custom_object(GROUP, VERSION, SYS, "backups", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Backup", "metadata": {"name": "shop-1"},
        "spec": {"includedNamespaces": [APP], "ttl": "720h"}})
    try:
        st = wait_phase(co, "backups", "shop-1", 300)
    except SystemExit:
        for vt in co.list_namespaced_custom_object(GROUP, VERSION, SYS, "volumetransfers")["items"]:
            print(f"  VolumeTransfer {vt['metadata']['name']}: {vt.get('status')}")
        for ns in (APP, SYS):
            for vs in co.list_namespaced_custom_object("snapshot.storage.k8s.io", "v1", ns,
                                                       "volumesnapshots")["items"]:
                print(f"  VolumeSnapshot {ns}/{vs['metadata']['name']}: {vs.get('spec')} {vs.get('status')}")
        print(f"  processes: {[p.poll() for p in PROCS]}")
        raise
    if st.get("phase") != "Completed":
        raise SystemExit(f"demo: the Backup ended {st.get('phase')}: {st}")
    print(f"  record {st.get('recordId', '')[:16]}…  {st.get('progress')}")
    r = subprocess.run([FERRY, "backup", "describe", "shop-1", "-n", SYS, "--repo", repo], env=env,
                       stdout=subprocess.PIPE, text=True)
    print("\n".join("  " + line for line in r.stdout.splitlines()[:12]))

    step("disaster: the namespace is deleted")
    core.delete_namespace(APP)

    def gone():
        try:
            core.read_namespace(APP)
            return False
        except kubernetes.client.exceptions.ApiException as e:
            return e.status == 404
    wait("the namespace is gone", gone, 120)
    print("  namespace shop, its pods and claims are gone")

    step("ferry restores it: a Restore of the Backup")
    co.create_namespaced_custom_object(GROUP, VERSION, SYS, "restores", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Restore", "metadata": {"name": "shop-1"},
        "spec": {"backupName": "shop-1"}})
    st = wait_phase(co, "restores", "shop-1", 300)
    if st.get("phase") != "Completed":
        raise SystemExit(f"demo: the Restore ended {st.get('phase')}: {st}")
    for v in st.get("volumes") or []:
        print(f"  claim {v.get('namespace')}/{v.get('pvc')}: {v.get('phase')}, {v.get('bytesDone', 0) >> 20} MiB "
              f"written by the agent: {v.get('message')}")
    ok = wait("the restored pods checked their files",
              lambda: all(any(w in " ".join(pod_says(core, p)) for w in ("VERIFIED", "CORRUPT", "WROTE"))
                          for p in pods), 300)
    bad = [p for p in pods if "VERIFIED" not in " ".join(pod_says(core, p))]
    for p in pods:
        print(f"  {p}: {' '.join(pod_says(core, p))}")
    cm = core.read_namespaced_config_map("shop-config", APP)
    print(f"  ConfigMap shop-config: {cm.data}")
    if bad or not ok:
        raise SystemExit(f"demo: {bad} did not verify their restored files")
    print(f"\ndemo: done: the application came back with every file's checksum verified; repository {repo}")


if __name__ == "__main__":
    BOX = None
    try:
        main()
    finally:
        stop_all()
        if BOX:
            BOX.close()
