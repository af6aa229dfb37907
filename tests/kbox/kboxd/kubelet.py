# SPDX-License-Identifier: MIT
"""kboxd.kubelet: the kubelet of one simulated node (pid 2 of the node, node.py).

An API client with the node's own credentials (user system:node:NAME, group
system:nodes), as a real kubelet is. It
- registers its Node (labels kubernetes.io/hostname, topology.kubernetes.io/zone
  and region, os/arch; the configured taints; capacity = allocatable; the
  InternalIP on the box's network; nodeInfo), reports Ready and the pressure
  conditions, renews its Lease in kube-node-lease every 10 s (40 s duration)
  and posts node status every nodeStatusReportSeconds (5 minutes, as the
  kubelet's nodeStatusReportFrequency) or when it changes;
- watches the pods bound to it (fieldSelector spec.nodeName=NAME) and runs
  one worker thread per pod (kubelet's pod workers): sandbox, volumes, init
  containers in order, containers, probes, restarts with back-off, status;
- runs graceful deletion: SIGTERM to each container's main process, the
  grace period, then cgroup.kill; the pod's final status (terminal phase),
  then DELETE with gracePeriodSeconds=0 and the uid as precondition;
- runs kube-proxy for its node (kubeproxy.py) with kube-proxy's own token.

Timings are the kubelet's: restart back-off 10 s doubling to 300 s (from each
exit; reset after 10 minutes of running), probe defaults (period 10 s,
timeout 1 s, failure threshold 3), lease 40 s renewed every 10 s. The box
config may shorten the back-off for tests (kubelet.backoffInitialSeconds,
backoffMaxSeconds).

Probes: httpGet and tcpSocket connect from the node's network namespace to
the pod's address, exec runs in the container (its namespaces and cgroup),
as the kubelet does them. Status follows kubelet's generateAPIPodStatus:
conditions PodReadyToStartContainers, Initialized, Ready, ContainersReady
(and the scheduler's PodScheduled), container states with reasons
(ContainerCreating, PodInitializing, CrashLoopBackOff, ErrImagePull,
ImagePullBackOff, CreateContainerConfigError, Completed, Error, OOMKilled,
StartError), containerStatuses sorted by name.
"""
import base64
import datetime
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import sys
import threading
import time
import traceback

from . import cgroups, images, kclient, volumes
from .runtime import Runtime, new_id, signal_pid

VERSION = "v1.32.3-kbox"
AGENT = "kubelet/v1.32.3 (linux/amd64) kubernetes/kbox"
LOG_ROOT = "/var/log/pods"


def ts(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def micro(t=None):
    t = time.time() if t is None else t
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} kubelet: {msg}", flush=True)


def milli(q):
    return int(round(volumes.parse_quantity(q) * 1000)) if q not in (None, "") else 0


def mem_bytes(q):
    return int(volumes.parse_quantity(q)) if q not in (None, "") else 0


def qos_of(pod):
    q = (pod.get("status") or {}).get("qosClass")
    if q:
        return q
    cs = (pod.get("spec") or {}).get("containers") or []
    any_set = False
    guaranteed = True
    for c in cs:
        r = c.get("resources") or {}
        req, lim = r.get("requests") or {}, r.get("limits") or {}
        if req or lim:
            any_set = True
        for k in ("cpu", "memory"):
            if not lim.get(k) or req.get(k, lim.get(k)) != lim.get(k):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def requests_of(c):
    r = c.get("resources") or {}
    req, lim = dict(r.get("requests") or {}), r.get("limits") or {}
    for k, v in lim.items():
        req.setdefault(k, v)  # API defaulting: requests default to limits
    return req, lim


def pod_limits(pod):
    """The pod cgroup's values: sums of requests; limits only when every container has one."""
    cs = (pod.get("spec") or {}).get("containers") or []
    cpu_req = sum(milli(requests_of(c)[0].get("cpu")) for c in cs)
    cpu_lims = [milli(requests_of(c)[1].get("cpu")) for c in cs]
    mem_lims = [mem_bytes(requests_of(c)[1].get("memory")) for c in cs]
    out = {"cpu_shares": cgroups.shares(cpu_req)}
    out["cpu_quota"] = cgroups.quota(sum(cpu_lims)) if cs and all(cpu_lims) else -1
    out["memory"] = sum(mem_lims) if cs and all(mem_lims) else -1
    return out


def container_limits(c):
    req, lim = requests_of(c)
    return {"cpu_shares": cgroups.shares(milli(req.get("cpu"))),
            "cpu_quota": cgroups.quota(milli(lim.get("cpu"))),
            "memory": mem_bytes(lim.get("memory")) or -1}


def expand(s, env):
    """$(VAR) expansion of kubelet (third_party/forked/golang/expansion): $$ escapes."""
    if not isinstance(s, str) or "$" not in s:
        return s
    out = []
    i = 0
    while i < len(s):
        if s[i] == "$" and i + 1 < len(s):
            if s[i + 1] == "$":
                out.append("$")
                i += 2
                continue
            if s[i + 1] == "(":
                j = s.find(")", i + 2)
                if j != -1:
                    name = s[i + 2:j]
                    out.append(env[name] if name in env else s[i:j + 1])
                    i = j + 1
                    continue
        out.append(s[i])
        i += 1
    return "".join(out)


class ConfigError(Exception):
    """CreateContainerConfigError: the container cannot be made from its spec yet."""


class Container:
    def __init__(self, spec, init=False):
        self.spec = spec
        self.name = spec["name"]
        self.init = init
        self.cid = None
        self.popen = None
        self.state = {"waiting": {"reason": "ContainerCreating"}}
        self.last_state = {}
        self.restarts = 0
        self.started_once = False
        self.started_at = None
        self.finished_at = None
        self.exit_code = None
        self.bo_dur = 0.0
        self.bo_last = 0.0
        self.ready = False
        self.started = False  # startup probe passed (or none)
        self.probes = {}
        self.image = None
        self.cgroup = None
        self.oom_before = 0
        self.kill_reason = None
        self.killing_deadline = None

    @property
    def running(self):
        return self.popen is not None and self.popen.poll() is None


class ProbeState:
    def __init__(self, spec, now):
        self.spec = spec
        self.success = 0
        self.failure = 0
        self.result = None
        self.next = now + spec.get("initialDelaySeconds", 0)

    @property
    def period(self):
        return max(1, self.spec.get("periodSeconds", 10))


class PodWorker(threading.Thread):
    def __init__(self, kubelet, pod):
        super().__init__(name="pod-" + pod["metadata"]["name"][:40], daemon=True)
        self.k = kubelet
        self.rt = kubelet.rt
        self.pod = pod
        self.uid = pod["metadata"]["uid"]
        self.ns = pod["metadata"]["namespace"]
        self.pname = pod["metadata"]["name"]
        self.wake = threading.Event()
        self.wake.set()  # the first sync at once
        self.gone = False
        self.sandbox = None
        self.sandbox_error = None
        self.vols = volumes.Volumes(kubelet, pod)
        self.vol_error = None
        self.vols_next = 0.0
        self.containers = {c["name"]: Container(c) for c in (pod.get("spec") or {}).get("containers") or []}
        self.inits = [Container(c, True) for c in (pod.get("spec") or {}).get("initContainers") or []]
        self.start_time = None
        self.sent = None
        self.transitions = {}
        self.finished = False
        self.qos = qos_of(pod)
        self.deadline = None
        self.terminal = False
        prev = {s.get("name"): s for s in (pod.get("status") or {}).get("containerStatuses") or []}
        for c in self.containers.values():  # a node restart: counts go on from the last report
            st = prev.get(c.name) or {}
            if st.get("containerID"):
                c.restarts = st.get("restartCount", 0) + 1

    # ---- events in
    def update(self, pod):
        self.pod = pod
        self.wake.set()

    def delete(self):
        self.gone = True
        self.wake.set()

    def run(self):
        while True:
            timeout = self.next_wake()
            self.wake.wait(timeout)
            self.wake.clear()
            try:
                if self.sync():
                    break
            except Exception as e:  # a worker keeps going: the next sync retries
                traceback.print_exc()
                log(f"pod {self.ns}/{self.pname}: sync failed: {e}")
                time.sleep(1)
        self.k.worker_done(self)

    def next_wake(self):
        now = time.time()
        t = now + 30
        for c in self.all_containers():
            if c.running:
                for p in c.probes.values():
                    t = min(t, p.next)
                if c.killing_deadline:
                    t = min(t, c.killing_deadline)
            elif c.bo_dur and c.finished_at:
                t = min(t, c.finished_at + c.bo_dur)
        if self.vol_error or self.sandbox_error:
            t = min(t, now + 2)
        if self.deadline:
            t = min(t, self.deadline)
        if self.sandbox is not None:
            t = min(t, self.vols_next)
        return max(0.01, t - now)

    def all_containers(self):
        return list(self.inits) + list(self.containers.values())

    # ---- the sync loop
    def sync(self):
        pod = self.pod
        meta = pod["metadata"]
        if self.gone:
            self.stop_all(0)
            self.cleanup()
            self.remove_logs()
            return True
        if meta.get("deletionTimestamp"):
            grace = meta.get("deletionGracePeriodSeconds", 30)
            self.terminate(grace)
            self.cleanup()
            self.report(final=True)
            self.k.delete_pod(pod)
            self.remove_logs()
            return True
        if self.terminal:
            return False
        self.reap()
        if self.sandbox is None:
            if not self.start_sandbox():
                self.report()
                return False
        if time.time() >= self.vols_next:
            self.setup_volumes()
        if self.vol_error:
            self.report()
            return False
        policy = (pod.get("spec") or {}).get("restartPolicy", "Always")
        if not self.run_inits(policy):
            self.report()
            return False
        for c in self.containers.values():
            if not c.running:
                self.maybe_start(c, policy)
        self.probe_all()
        phase = self.phase()
        self.report()
        if phase in ("Succeeded", "Failed"):
            self.terminal = True
            self.stop_all(0)
            self.cleanup(keep_logs=True)
            self.report()
        return False

    def start_sandbox(self):
        spec = self.pod.get("spec") or {}
        hn = spec.get("hostNetwork", False)
        hostname = (spec.get("hostname") or self.pname)[:63]
        try:
            self.sandbox = self.rt.start_sandbox(self.pod, self.uid, self.qos, hn, hostname, pod_limits(self.pod))
            self.sandbox_error = None
            self.start_time = self.start_time or time.time()
            self.k.sandboxes_write(self)
            self.write_etc(hostname)
            return True
        except OSError as e:
            msg = str(e)
            if msg != self.sandbox_error:
                self.k.event(self.pod, "Warning", "FailedCreatePodSandBox", msg)
            self.sandbox_error = msg
            self.start_time = self.start_time or time.time()
            return False

    def write_etc(self, hostname):
        spec = self.pod.get("spec") or {}
        d = os.path.join("/var/lib/kubelet/pods", self.uid)
        os.makedirs(d, exist_ok=True)
        if spec.get("hostNetwork"):
            hosts = open("/etc/hosts").read()
            hostname = self.k.name
        else:
            fq = hostname
            if spec.get("subdomain"):
                fq = f"{hostname}.{spec['subdomain']}.{self.ns}.svc.cluster.local\t{hostname}"
            hosts = ("# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost "
                     "ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\n"
                     f"fe00::2\tip6-allrouters\n{self.sandbox['ip']}\t{fq}\n")
            for ha in spec.get("hostAliases") or []:
                hosts += f"\n# Entries added by HostAliases.\n{ha.get('ip')}\t" + "\t".join(ha.get("hostnames") or []) + "\n"
        with open(os.path.join(d, "etc-hosts"), "w") as f:
            f.write(hosts)
        with open(os.path.join(d, "etc-hostname"), "w") as f:
            f.write(hostname + "\n")
        pol = spec.get("dnsPolicy", "ClusterFirst")
        cfg = spec.get("dnsConfig") or {}
        lines = []
        if pol != "None" and not (spec.get("hostNetwork") and pol == "Default"):
            # no cluster DNS in the box: the search path of ClusterFirst, no nameserver
            lines.append(f"search {self.ns}.svc.cluster.local svc.cluster.local cluster.local")
            lines.append("options ndots:5")
        for ns in cfg.get("nameservers") or []:
            lines.insert(0, f"nameserver {ns}")
        if cfg.get("searches"):
            lines.append("search " + " ".join(cfg["searches"]))
        opts = [o.get("name") + (f":{o['value']}" if o.get("value") else "") for o in cfg.get("options") or []]
        if opts:
            lines.append("options " + " ".join(opts))
        with open(os.path.join(d, "resolv.conf"), "w") as f:
            f.write("\n".join(lines) + "\n")

    def setup_volumes(self):
        try:
            self.vols.setup(self.pod)
            if self.vol_error:
                self.vol_error = None
            self.vols_next = time.time() + self.k.cfg.get("volumeRefreshSeconds", 15)
        except (volumes.NotReady, OSError) as e:
            msg = f"MountVolume.SetUp failed: {e}"
            if msg != self.vol_error:
                self.k.event(self.pod, "Warning", "FailedMount", msg)
            self.vol_error = msg
            self.vols_next = time.time() + 2

    def run_inits(self, policy):
        """-> True when every init container has completed."""
        for c in self.inits:
            if c.state.get("terminated", {}).get("exitCode") == 0 and not c.running:
                continue
            if c.running:
                return False
            if c.state.get("terminated"):  # failed
                if policy == "Never":
                    return False
            self.maybe_start(c, "OnFailure" if policy == "Always" else policy)
            return False
        return True

    def reap(self):
        for c in self.all_containers():
            if c.popen is not None and c.popen.poll() is not None and "running" in c.state:
                self.exited(c)

    def exited(self, c):
        rc = c.popen.returncode
        code = rc if rc >= 0 else 128 - rc
        reason = "Completed" if code == 0 else "Error"
        if c.cgroup and self.rt.memory_oom_kills(c.cgroup) > c.oom_before:
            reason = "OOMKilled"
        self.rt.kill_cgroup(c.cgroup)  # the rest of the container dies with its main process
        self.rt.remove_cgroup(c.cgroup)
        self.rt.remove_container_dir(c.cid)
        c.finished_at = time.time()
        term = {"exitCode": code, "reason": reason, "startedAt": ts(c.started_at), "finishedAt": ts(c.finished_at),
                "containerID": "containerd://" + c.cid}
        msg = self.termination_message(c)
        if msg:
            term["message"] = msg
        c.state = {"terminated": term}
        c.ready = False
        c.killing_deadline = None
        c.popen = None

    def termination_message(self, c):
        p = os.path.join("/var/lib/kubelet/pods", self.uid, "containers", c.name, c.cid or "")
        try:
            with open(p, "rb") as f:
                return f.read(4096).decode(errors="replace")
        except OSError:
            return ""

    def maybe_start(self, c, policy):
        """Start c unless its restart policy or its back-off say no (kubelet doBackOff with
        client-go's flowcontrol.Backoff: in back-off while now - finishedAt < the current
        duration; each restart doubles it, from backoffInitialSeconds to backoffMaxSeconds;
        an entry older than twice the maximum starts over)."""
        now = time.time()
        term = c.state.get("terminated") or c.state.get("_term")
        if term is not None:
            if policy == "Never" or (policy == "OnFailure" and term.get("exitCode") == 0):
                return
            initial = self.k.cfg.get("backoffInitialSeconds", 10)
            mx = self.k.cfg.get("backoffMaxSeconds", 300)
            expired = not c.bo_dur or c.finished_at - c.bo_last > 2 * mx
            if not expired and now - c.finished_at < c.bo_dur:
                if "_term" not in c.state:
                    self.k.event(self.pod, "Warning", "BackOff",
                                 f"Back-off restarting failed container {c.name} in pod "
                                 f"{self.pname}_{self.ns}({self.uid})", c)
                c.last_state = {"terminated": term}
                c.state = {"waiting": {"reason": "CrashLoopBackOff",
                                       "message": f"back-off {int(c.bo_dur)}s restarting failed container={c.name} "
                                                  f"pod={self.pname}_{self.ns}({self.uid})"}, "_term": term}
                return
            c.bo_dur = initial if expired else min(2 * c.bo_dur, mx)
            c.bo_last = c.finished_at
            c.last_state = {"terminated": term}
            c.restarts += 1
        elif c.state.get("waiting", {}).get("reason") in ("ErrImagePull", "ImagePullBackOff"):
            if now < getattr(c, "pull_next", 0):
                return
        self.start_container(c)

    def start_container(self, c):
        spec = c.spec
        img = self.k.images.resolve(spec.get("image"))
        if img is None:
            ref = images.normalize(spec.get("image") or "")
            first = c.state.get("waiting", {}).get("reason") not in ("ErrImagePull", "ImagePullBackOff")
            msg = (f'failed to pull and unpack image "{ref}": failed to resolve reference "{ref}": pull access '
                   f"denied, repository does not exist or may require authorization (the box has no registry; "
                   f"see tests/kbox/kboxd/images.py)")
            c.state = {"waiting": {"reason": "ErrImagePull" if first else "ImagePullBackOff",
                                   "message": msg if first else f'Back-off pulling image "{spec.get("image")}"'}}
            c.pull_dur = min(2 * getattr(c, "pull_dur", 5), 300) if not first else 10
            c.pull_next = time.time() + c.pull_dur
            if first:
                self.k.event(self.pod, "Warning", "Failed", f"Failed to pull image \"{spec.get('image')}\": {msg}", c)
            return
        c.image = img
        try:
            env = self.k.environment(self.pod, spec, img, self.sandbox)
        except ConfigError as e:
            if c.state.get("waiting", {}).get("message") != str(e):
                self.k.event(self.pod, "Warning", "Failed", f"Error: {e}", c)
            c.state = {"waiting": {"reason": "CreateContainerConfigError", "message": str(e)}}
            return
        argv = [expand(a, env) for a in img.argv(spec.get("command"), spec.get("args"))]
        if not argv:
            c.state = {"waiting": {"reason": "CreateContainerError", "message": "no command specified"}}
            return
        self.k.event(self.pod, "Normal", "Pulled", f'Container image "{spec.get("image")}" already present on machine', c)
        c.cid = new_id()
        c.cgroup = cgroups.container_path(self.rt.driver, self.qos, self.uid, c.cid)
        cdirs = self.rt.make_cgroup(c.cgroup)
        cgroups.set_limits(cdirs, **container_limits(spec))
        c.oom_before = 0
        sc = spec.get("securityContext") or {}
        psc = (self.pod.get("spec") or {}).get("securityContext") or {}
        pspec = self.pod.get("spec") or {}
        priv = bool(sc.get("privileged"))
        mounts = self.container_mounts(c, img)
        sspec = {"mode": "container", "cgroups": list(cdirs.values()),
                 "join": {}, "unshare": ["mnt"], "privileged": priv,
                 "rootfs": {"lower": ([img.layer] if img.layer else []) + ["/"]},
                 "mounts": mounts, "env": env, "argv": argv,
                 "workdir": spec.get("workingDir") or img.workdir}
        if not pspec.get("hostNetwork"):
            sspec["join"]["net"] = f"/proc/{self.sandbox['pid']}/ns/net"
            sspec["join"]["uts"] = f"/proc/{self.sandbox['pid']}/ns/uts"
        if not pspec.get("hostIPC"):
            sspec["join"]["ipc"] = f"/proc/{self.sandbox['pid']}/ns/ipc"
        uid = sc.get("runAsUser", psc.get("runAsUser"))
        gid = sc.get("runAsGroup", psc.get("runAsGroup"))
        if uid is not None:
            sspec["uid"] = uid
            sspec["gid"] = gid if gid is not None else 0
            sspec["groups"] = list(psc.get("supplementalGroups") or []) + ([psc["fsGroup"]] if psc.get("fsGroup") is not None else [])
        logp = os.path.join(LOG_ROOT, f"{self.ns}_{self.pname}_{self.uid}", c.name, f"{c.restarts}.log")
        self.k.event(self.pod, "Normal", "Created", f"Created container: {c.name}", c)
        popen, err = self.rt.start_container(c.cid, sspec, logp)
        now = time.time()
        self.k.link_log(self, c, logp)
        if err:
            self.rt.kill_cgroup(c.cgroup)
            self.rt.remove_cgroup(c.cgroup)
            self.rt.remove_container_dir(c.cid)
            c.started_at = now
            c.finished_at = now
            c.state = {"terminated": {"exitCode": 128, "reason": "StartError",
                                      "message": f"failed to create containerd task: failed to create shim task: "
                                                 f"OCI runtime create failed: runc create failed: unable to start "
                                                 f"container process: {err}: unknown",
                                      "startedAt": ts(0), "finishedAt": ts(now),
                                      "containerID": "containerd://" + c.cid}}
            self.k.event(self.pod, "Warning", "Failed", "Error: " + c.state["terminated"]["message"], c)
            return
        c.popen = popen
        c.started_at = now
        c.started_once = True
        c.state = {"running": {"startedAt": ts(now)}}
        c.ready = False
        c.started = "startupProbe" not in spec
        c.probes = {}
        for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
            if spec.get(kind):
                c.probes[kind] = ProbeState(spec[kind], now)
        if "readinessProbe" not in spec:
            c.ready = c.started
        self.k.event(self.pod, "Normal", "Started", f"Started container {c.name}", c)
        self.rt.exits.watch(popen.pid, self.wake.set)

    def container_mounts(self, c, img):
        spec = c.spec
        pod_dir = os.path.join("/var/lib/kubelet/pods", self.uid)
        out = []
        for src, dst in img.binds:
            out.append({"type": "bind", "src": src, "dst": dst, "ro": True})
        vm = sorted(spec.get("volumeMounts") or [], key=lambda m: m.get("mountPath", "").count("/"))
        for m in vm:
            src = self.vols.paths.get(m.get("name"))
            if src is None:
                continue
            if m.get("subPath") or m.get("subPathExpr"):
                sub = m.get("subPath") or m.get("subPathExpr")
                src = os.path.join(src, sub.lstrip("/"))
                if not os.path.exists(src):
                    os.makedirs(src, exist_ok=True)
            prop = {"HostToContainer": "slave", "Bidirectional": "shared"}.get(m.get("mountPropagation"), "private")
            out.append({"type": "bind", "src": src, "dst": m["mountPath"], "ro": bool(m.get("readOnly")),
                        "propagation": prop})
        # a privileged container gets every device of the node instead: its volumeDevices are
        # ignored, as on a real kubelet (kubernetes#85624, CONTROLPLANE.md §1.4)
        privileged = bool((spec.get("securityContext") or {}).get("privileged"))
        for d in [] if privileged else spec.get("volumeDevices") or []:
            src = self.vols.paths.get(d.get("name"))
            if src:
                out.append({"type": "bind", "src": src, "dst": d["devicePath"], "recursive": False})
        out.append({"type": "bind", "src": os.path.join(pod_dir, "etc-hosts"), "dst": "/etc/hosts"})
        out.append({"type": "bind", "src": os.path.join(pod_dir, "etc-hostname"), "dst": "/etc/hostname"})
        out.append({"type": "bind", "src": os.path.join(pod_dir, "resolv.conf"), "dst": "/etc/resolv.conf"})
        tm = spec.get("terminationMessagePath") or "/dev/termination-log"
        tdir = os.path.join(pod_dir, "containers", c.name)
        os.makedirs(tdir, exist_ok=True)
        tfile = os.path.join(tdir, c.cid)
        open(tfile, "w").close()
        out.append({"type": "bind", "src": tfile, "dst": tm})
        return out

    # ---- probes
    def probe_all(self):
        now = time.time()
        for c in list(self.containers.values()) + [x for x in self.inits if x.spec.get("restartPolicy") == "Always"]:
            if not c.running:
                continue
            for kind in ("startupProbe", "livenessProbe", "readinessProbe"):
                p = c.probes.get(kind)
                if p is None or now < p.next:
                    continue
                if kind != "startupProbe" and not c.started:
                    continue
                if kind == "startupProbe" and c.started:
                    continue
                ok, why = self.k.probe(self, c, p.spec)
                p.next = time.time() + p.period
                if ok:
                    p.success += 1
                    p.failure = 0
                    if p.success >= (p.spec.get("successThreshold", 1) if kind == "readinessProbe" else 1):
                        p.result = True
                else:
                    p.failure += 1
                    p.success = 0
                    what = {"startupProbe": "Startup", "livenessProbe": "Liveness",
                            "readinessProbe": "Readiness"}[kind]
                    self.k.event(self.pod, "Warning", "Unhealthy", f"{what} probe failed: {why}", c)
                    if p.failure >= p.spec.get("failureThreshold", 3):
                        p.result = False
                if kind == "startupProbe" and p.result:
                    c.started = True
                    if "readinessProbe" not in c.spec:
                        c.ready = True
                if kind == "readinessProbe" and p.result is not None:
                    c.ready = bool(p.result)
                if kind in ("livenessProbe", "startupProbe") and p.result is False:
                    what = "liveness" if kind == "livenessProbe" else "startup"
                    self.k.event(self.pod, "Normal", "Killing",
                                 f"Container {c.name} failed {what} probe, will be restarted", c)
                    grace = p.spec.get("terminationGracePeriodSeconds",
                                       (self.pod.get("spec") or {}).get("terminationGracePeriodSeconds", 30))
                    self.kill_container(c, grace)
                    break

    def kill_container(self, c, grace):
        """SIGTERM, wait up to grace (the worker stays in this pod), then cgroup.kill."""
        if not c.running:
            return
        signal_pid(c.popen.pid, signal.SIGTERM)
        try:
            c.popen.wait(max(0, grace))
        except Exception:
            self.rt.kill_cgroup(c.cgroup)
            c.popen.wait()
        self.exited(c)

    # ---- termination
    def stop_all(self, grace):
        running = [c for c in self.all_containers() if c.running]
        for c in running:
            if grace > 0:
                self.k.event(self.pod, "Normal", "Killing", f"Stopping container {c.name}", c)
                self.pre_stop(c)
            signal_pid(c.popen.pid, signal.SIGTERM if grace > 0 else signal.SIGKILL)
        deadline = time.time() + max(0, grace)
        for c in running:
            left = deadline - time.time()
            try:
                c.popen.wait(max(0.0, left))
            except Exception:
                pass
            if c.popen.poll() is None:
                self.rt.kill_cgroup(c.cgroup)
                c.popen.wait()
            self.exited(c)

    def pre_stop(self, c):
        h = ((c.spec.get("lifecycle") or {}).get("preStop") or {})
        if h.get("exec"):
            self.k.run_exec(self, c, h["exec"].get("command") or [], 30)
        elif h.get("sleep"):
            time.sleep(min(h["sleep"].get("seconds", 0), 30))

    def terminate(self, grace):
        self.stop_all(grace)

    def cleanup(self, keep_logs=True):
        if self.sandbox is not None:
            self.rt.stop_sandbox(self.sandbox)
            self.sandbox = None
            self.k.sandboxes_write(self)
        self.vols.teardown()

    def remove_logs(self):
        """A deleted pod's logs go with it (the kubelet's container GC)."""
        import shutil
        shutil.rmtree(os.path.join(LOG_ROOT, f"{self.ns}_{self.pname}_{self.uid}"), ignore_errors=True)
        d = "/var/log/containers"
        for c in self.all_containers():
            try:
                for f in os.listdir(d):
                    if f.startswith(f"{self.pname}_{self.ns}_{c.name}-"):
                        os.unlink(os.path.join(d, f))
            except OSError:
                pass

    # ---- status
    def phase(self):
        spec = self.pod.get("spec") or {}
        policy = spec.get("restartPolicy", "Always")
        if any(not (c.state.get("terminated", {}).get("exitCode") == 0 and not c.running) for c in self.inits):
            if policy == "Never" and any(c.state.get("terminated", {}).get("exitCode", 0) != 0 for c in self.inits):
                return "Failed"
            return "Pending"
        cs = list(self.containers.values())
        running = sum(1 for c in cs if c.running)
        waiting_fresh = sum(1 for c in cs if "waiting" in c.state and not c.started_once)
        terminated = [c for c in cs if not c.running and (c.state.get("terminated") or c.state.get("_term"))]
        if waiting_fresh:
            return "Pending" if not running else "Running"
        if running:
            return "Running"
        if len(terminated) == len(cs) and cs:
            codes = [(c.state.get("terminated") or c.state.get("_term")).get("exitCode") for c in terminated]
            if policy == "Always":
                return "Running"
            if policy == "OnFailure":
                return "Succeeded" if all(x == 0 for x in codes) else "Running"
            return "Succeeded" if all(x == 0 for x in codes) else "Failed"
        return "Pending"

    def cstatus(self, c):
        st = {k: v for k, v in c.state.items() if not k.startswith("_")}
        out = {"name": c.name, "state": st, "lastState": c.last_state, "ready": bool(c.ready and c.running),
               "restartCount": c.restarts, "image": images.normalize(c.spec.get("image") or "").replace("docker.io/library/", "docker.io/library/"),
               "imageID": c.image.image_id if c.image else "", "started": bool(c.running and c.started)}
        if c.cid and (c.running or "terminated" in c.state or "_term" in c.state):
            out["containerID"] = "containerd://" + c.cid
        if c.init:
            out.pop("started")
        return out

    def _cond(self, ctype, ok, reason=None, message=None, now=None):
        prev = self.transitions.get(ctype)
        status = "True" if ok else "False"
        if prev is None or prev[0] != status:
            self.transitions[ctype] = (status, ts(now))
        c = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": self.transitions[ctype][1]}
        if not ok and reason:
            c["reason"] = reason
            if message:
                c["message"] = message
        return c

    def status(self, final=False):
        pod = self.pod
        now = time.time()
        phase = self.phase()
        if final:
            codes = [(c.state.get("terminated") or {}).get("exitCode", 0) for c in self.containers.values()]
            phase = "Succeeded" if all(x == 0 for x in codes) else "Failed"
        cs = sorted(self.containers.values(), key=lambda c: c.name)
        inits_done = all(c.state.get("terminated", {}).get("exitCode") == 0 for c in self.inits)
        not_ready = [c.name for c in cs if not (c.ready and c.running)]
        sandbox_ok = self.sandbox is not None
        conds = [self._cond("PodReadyToStartContainers", sandbox_ok, now=now)]
        if self.inits:
            pend = [c.name for c in self.inits if c.state.get("terminated", {}).get("exitCode") != 0]
            conds.append(self._cond("Initialized", inits_done, "ContainersNotInitialized",
                                    f"containers with incomplete status: [{' '.join(pend)}]", now))
        else:
            conds.append(self._cond("Initialized", True, now=now))
        ready = not not_ready and phase == "Running"
        if phase == "Succeeded":
            reason, msg = "PodCompleted", None
        else:
            reason, msg = "ContainersNotReady", f"containers with unready status: [{' '.join(not_ready)}]"
        conds.append(self._cond("Ready", ready, reason, msg, now))
        conds.append(self._cond("ContainersReady", not not_ready, reason, msg, now))
        for c in (pod.get("status") or {}).get("conditions") or []:
            if c.get("type") == "PodScheduled":
                conds.append(c)
        st = {"phase": phase, "conditions": conds, "hostIP": self.k.node_ip, "hostIPs": [{"ip": self.k.node_ip}],
              "qosClass": self.qos, "containerStatuses": [self.cstatus(c) for c in cs]}
        ip = self.sandbox["ip"] if self.sandbox else (pod.get("status") or {}).get("podIP")
        if ip:
            st["podIP"] = ip
            st["podIPs"] = [{"ip": ip}]
        if self.start_time:
            st["startTime"] = ts(self.start_time)
        if self.inits:
            st["initContainerStatuses"] = [self.cstatus(c) for c in self.inits]
        return st

    def report(self, final=False):
        st = self.status(final)
        if st == self.sent:
            return
        if self.k.patch_status(self.pod, st):
            self.sent = st


class Kubelet:
    def __init__(self, cfg):
        self.cfg = cfg
        self.name = cfg["name"]
        self.node_ip = cfg["nodeIP"]
        import importlib
        for name in cfg.get("extensions") or []:  # cluster.EXTENSIONS: volume plugins and the like
            importlib.import_module(name)
        tok = open(cfg["kubeletToken"]).read().strip()
        self.client = kclient.Client(cfg["apiURL"], cfg["ca"], tok, AGENT)
        rows = list(cfg.get("images") or []) + images.default_rows(cfg.get("ferry"))
        images.make_layers(cfg["layersDir"])  # in the node's /run: gone with the node
        self.images = images.Table(rows, cfg["layersDir"])
        self.rt = Runtime(cfg)
        self.workers = {}
        self.lock = threading.Lock()
        self.node_uid = None
        self.services = None
        self.state_path = os.path.join("/var/lib/kubelet", "kbox-sandboxes.json")
        self.events = {}
        self.sb_lock = threading.Lock()

    # ---- node
    def node_object(self):
        c = self.cfg
        labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
                  "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": self.name, "kubernetes.io/os": "linux"}
        if c.get("zone"):
            labels["topology.kubernetes.io/zone"] = c["zone"]
        if c.get("region"):
            labels["topology.kubernetes.io/region"] = c["region"]
        labels.update(c.get("labels") or {})
        spec = {"podCIDR": c["podCIDR"], "podCIDRs": [c["podCIDR"]]}
        if c.get("taints"):
            spec["taints"] = c["taints"]
        return {"apiVersion": "v1", "kind": "Node",
                "metadata": {"name": self.name, "labels": labels,
                             "annotations": {"node.alpha.kubernetes.io/ttl": "0",
                                             "volumes.kubernetes.io/controller-managed-attach-detach": "true",
                                             "kbox.ferry.io/cgroup-driver": c["cgroupDriver"]}},
                "spec": spec, "status": self.node_status()}

    def node_status(self):
        c = self.cfg
        cap = {"cpu": str(c["capacity"].get("cpu", "4")), "memory": str(c["capacity"].get("memory", "8Gi")),
               "pods": str(c["capacity"].get("pods", "110")),
               "ephemeral-storage": str(c["capacity"].get("ephemeral-storage", "64Gi")), "hugepages-2Mi": "0"}
        now = ts()
        if not hasattr(self, "_ready_since"):
            self._ready_since = now

        def cond(t, st, reason, msg):
            return {"type": t, "status": st, "lastHeartbeatTime": now, "lastTransitionTime": self._ready_since,
                    "reason": reason, "message": msg}
        boot = open("/proc/sys/kernel/random/boot_id").read().strip()
        return {"capacity": cap, "allocatable": dict(cap),
                "conditions": [cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
                               cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
                               cond("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
                               cond("Ready", "True", "KubeletReady", "kubelet is posting ready status")],
                "addresses": [{"type": "InternalIP", "address": self.node_ip}, {"type": "Hostname", "address": self.name}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
                "nodeInfo": {"machineID": hashlib.md5(self.name.encode()).hexdigest(),
                             "systemUUID": str(__import__("uuid").uuid5(__import__("uuid").NAMESPACE_DNS, self.name)),
                             "bootID": boot, "kernelVersion": os.uname().release,
                             "osImage": "Debian GNU/Linux 12 (bookworm)",
                             "containerRuntimeVersion": "containerd://1.7.24-kbox", "kubeletVersion": VERSION,
                             "kubeProxyVersion": VERSION, "operatingSystem": "linux", "architecture": "amd64"}}

    def register(self):
        while True:
            code, body = self.client.post("/api/v1/nodes", self.node_object())
            if code == 201:
                self.node_uid = body["metadata"]["uid"]
                log(f"registered node {self.name}")
                return
            if code == 409:
                code, body = self.client.get(f"/api/v1/nodes/{self.name}")
                if code == 200:
                    self.node_uid = body["metadata"]["uid"]
                    self.post_status()
                    return
            log(f"registering node: {code} {body}")
            time.sleep(1)

    def post_status(self):
        code, body = self.client.patch(f"/api/v1/nodes/{self.name}/status", {"status": self.node_status()})
        if code != 200:
            log(f"node status: {code} {body}")

    def lease_loop(self):
        path = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{self.name}"
        dur = self.cfg.get("leaseDurationSeconds", 40)
        every = dur / 4.0
        report = self.cfg.get("nodeStatusReportSeconds", 300)
        next_report = time.time() + report
        while True:
            try:
                code, lease = self.client.get(path)
                spec = {"holderIdentity": self.name, "leaseDurationSeconds": dur, "renewTime": micro()}
                if code == 404:
                    self.client.post("/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
                                     {"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                      "metadata": {"name": self.name, "namespace": "kube-node-lease",
                                                   "ownerReferences": [{"apiVersion": "v1", "kind": "Node",
                                                                        "name": self.name, "uid": self.node_uid}]},
                                      "spec": spec})
                elif code == 200:
                    lease["spec"].update(spec)
                    self.client.put(path, lease)
                if time.time() >= next_report:
                    self.post_status()
                    next_report = time.time() + report
            except Exception as e:
                log(f"lease: {e}")
            time.sleep(every)

    # ---- pods
    def on_pod(self, typ, pod):
        if typ == "SYNCED":
            with self.lock:
                uids = {p["metadata"]["uid"] for p in self.pods.items()}
                for uid, w in list(self.workers.items()):
                    if uid not in uids:
                        w.delete()
            return
        uid = pod["metadata"]["uid"]
        with self.lock:
            w = self.workers.get(uid)
            if typ == "DELETED":
                if w is not None:
                    w.delete()
                return
            if w is None:
                if pod["metadata"].get("deletionTimestamp") and not (pod.get("status") or {}).get("containerStatuses"):
                    # never started here: nothing to stop, finish the deletion at once
                    threading.Thread(target=self.delete_pod, args=(pod,), daemon=True).start()
                    return
                if (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed") and \
                        not pod["metadata"].get("deletionTimestamp"):
                    return
                w = PodWorker(self, pod)
                self.workers[uid] = w
                w.start()
                return
            w.update(pod)

    def worker_done(self, w):
        with self.lock:
            if self.workers.get(w.uid) is w:
                del self.workers[w.uid]

    def sandboxes_write(self, _w=None):
        """Where each pod's sandbox runs (read by `kbox exec` and the tests): uid -> pid, ip."""
        with self.sb_lock:
            d = {}
            with self.lock:
                ws = list(self.workers.values())
            for w in ws:
                sb = w.sandbox
                if sb is None:
                    continue
                cs = {}
                for c in w.all_containers():
                    p = c.popen  # read once: the pod's worker may clear it meanwhile
                    if c.cid:
                        cs[c.name] = {"id": c.cid, "pid": p.pid if p is not None and p.returncode is None else None,
                                      "cgroup": c.cgroup}
                d[w.uid] = {"pid": sb["pid"], "ip": sb["ip"], "namespace": w.ns, "name": w.pname, "containers": cs}
            tmp = self.state_path + ".tmp"
            with open(tmp, "w") as f:
                json.dump(d, f)
            os.replace(tmp, self.state_path)

    def patch_status(self, pod, st):
        m = pod["metadata"]
        self.sandboxes_write()  # before the API shows it: whoever reads the status finds the file current
        code, body = self.client.patch(f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}/status",
                                       {"metadata": {"uid": m["uid"]}, "status": st})
        if code in (200, 404):
            return True
        log(f"pod status {m['namespace']}/{m['name']}: {code} {body}")
        return False

    def delete_pod(self, pod):
        m = pod["metadata"]
        code, body = self.client.delete(f"/api/v1/namespaces/{m['namespace']}/pods/{m['name']}",
                                        {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0,
                                         "preconditions": {"uid": m["uid"]}})
        if code not in (200, 404, 409):
            log(f"delete pod {m['namespace']}/{m['name']}: {code} {body}")

    def get_object(self, plural, ns, name):
        code, body = self.client.get(f"/api/v1/namespaces/{ns}/{plural}/{name}")
        if code == 200:
            return body
        if code == 404:
            return None
        raise OSError(f"get {plural} {ns}/{name}: {code} {(body or {}).get('message') if isinstance(body, dict) else body}")

    def request_token(self, pod, audience, seconds):
        m = pod["metadata"]
        sa = (pod.get("spec") or {}).get("serviceAccountName") or "default"
        body = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
                "spec": {"expirationSeconds": seconds,
                         "boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": m["name"], "uid": m["uid"]}}}
        if audience:
            body["spec"]["audiences"] = [audience]
        code, r = self.client.post(f"/api/v1/namespaces/{m['namespace']}/serviceaccounts/{sa}/token", body)
        if code != 201:
            raise volumes.NotReady(f"failed to fetch token: {(r or {}).get('message') if isinstance(r, dict) else r}")
        exp = datetime.datetime.fromisoformat(r["status"]["expirationTimestamp"].replace("Z", "+00:00")).timestamp()
        return r["status"]["token"], exp

    def event(self, pod, typ, reason, message, c=None):
        """A core/v1 Event; a repeat of the same one counts up (count, lastTimestamp) at most
        every 5 s instead of making a new object, as the recorder's correlator aggregates."""
        m = pod["metadata"]
        now = ts()
        key = (m["uid"], reason, message, c.name if c is not None else "")
        with self.lock:
            prev = self.events.get(key)
            if prev is not None:
                prev["count"] += 1
                if time.time() - prev["sent"] < 5:
                    return
                prev["sent"] = time.time()
                name, count = prev["name"], prev["count"]
        if prev is not None:
            try:
                self.client.patch(f"/api/v1/namespaces/{m['namespace']}/events/{name}",
                                  {"count": count, "lastTimestamp": now})
            except OSError:
                pass
            return
        obj = {"apiVersion": "v1", "kind": "Pod", "namespace": m["namespace"], "name": m["name"], "uid": m["uid"],
               "resourceVersion": m.get("resourceVersion", "")}
        if c is not None:
            obj["fieldPath"] = f"spec.{'initContainers' if c.init else 'containers'}{{{c.name}}}"
        name = f"{m['name']}.{time.time_ns():x}"
        ev = {"apiVersion": "v1", "kind": "Event",
              "metadata": {"name": name, "namespace": m["namespace"]},
              "involvedObject": obj, "reason": reason, "message": message, "type": typ,
              "source": {"component": "kubelet", "host": self.name}, "firstTimestamp": now, "lastTimestamp": now,
              "count": 1, "reportingComponent": "kubelet", "reportingInstance": self.name}
        with self.lock:
            if len(self.events) > 2000:
                self.events.clear()
            self.events[key] = {"name": name, "count": 1, "sent": time.time()}
        try:
            self.client.post(f"/api/v1/namespaces/{m['namespace']}/events", ev)
        except OSError:
            pass

    def link_log(self, w, c, path):
        d = "/var/log/containers"
        os.makedirs(d, exist_ok=True)
        try:
            os.symlink(path, os.path.join(d, f"{w.pname}_{w.ns}_{c.name}-{c.cid}.log"))
        except OSError:
            pass

    # ---- environment (kubelet_pods.go makeEnvironmentVariables)
    def environment(self, pod, c, img, sandbox):
        ns = pod["metadata"]["namespace"]
        spec = pod.get("spec") or {}
        env = dict(img.env)
        env["HOSTNAME"] = self.name if spec.get("hostNetwork") else (spec.get("hostname") or pod["metadata"]["name"])[:63]
        env.setdefault("HOME", "/root")
        svcenv = {}
        for svc in self.service_env_sources(ns, spec.get("enableServiceLinks", True)):
            svcenv.update(service_env(svc))
        env.update(svcenv)
        cache = {}

        def obj(plural, name):
            if (plural, name) not in cache:
                cache[(plural, name)] = self.get_object(plural, ns, name)
            return cache[(plural, name)]

        def data_of(o, plural):
            d = dict(o.get("data") or {})
            if plural == "secrets":
                d = {k: base64.b64decode(v).decode(errors="replace") for k, v in d.items()}
            return d
        for ef in c.get("envFrom") or []:
            for key, plural in (("configMapRef", "configmaps"), ("secretRef", "secrets")):
                ref = ef.get(key)
                if not ref:
                    continue
                o = obj(plural, ref.get("name"))
                if o is None:
                    if ref.get("optional"):
                        continue
                    raise ConfigError(f"{plural[:-1]} \"{ref.get('name')}\" not found")
                for k, v in data_of(o, plural).items():
                    if re.fullmatch(r"[-._a-zA-Z][-._a-zA-Z0-9]*", ef.get("prefix", "") + k):
                        env[ef.get("prefix", "") + k] = v
        defined = dict(env)
        for e in c.get("env") or []:
            name = e.get("name")
            if "valueFrom" not in e:
                v = expand(e.get("value", ""), defined)
            else:
                vf = e["valueFrom"]
                if "fieldRef" in vf:
                    p = dict(pod)
                    p["status"] = dict(pod.get("status") or {}, hostIP=self.node_ip, hostIPs=[{"ip": self.node_ip}],
                                       podIP=sandbox["ip"], podIPs=[{"ip": sandbox["ip"]}])
                    v = volumes.field_ref(p, vf["fieldRef"].get("fieldPath", ""))
                elif "resourceFieldRef" in vf:
                    v = volumes.resource_ref(pod, vf["resourceFieldRef"], c.get("name"))
                else:
                    key, plural = ("configMapKeyRef", "configmaps") if "configMapKeyRef" in vf else ("secretKeyRef", "secrets")
                    ref = vf.get(key) or {}
                    o = obj(plural, ref.get("name"))
                    if o is None:
                        if ref.get("optional"):
                            continue
                        raise ConfigError(f"{plural[:-1]} \"{ref.get('name')}\" not found")
                    d = data_of(o, plural)
                    if ref.get("key") not in d:
                        if ref.get("optional"):
                            continue
                        raise ConfigError(f"couldn't find key {ref.get('key')} in {'ConfigMap' if plural == 'configmaps' else 'Secret'} {ns}/{ref.get('name')}")
                    v = d[ref["key"]]
            env[name] = v
            defined[name] = v
        return env

    def service_env_sources(self, ns, links):
        out = []
        for s in self.services.items() if self.services else []:
            m = s["metadata"]
            ip = (s.get("spec") or {}).get("clusterIP")
            if not ip or ip == "None":
                continue
            master = m.get("namespace") == "default" and m.get("name") == "kubernetes"
            if (m.get("namespace") == ns and links) or master:
                out.append(s)
        out.sort(key=lambda s: s["metadata"]["name"] == "kubernetes")  # the master service last
        return out

    # ---- probes and exec
    def probe(self, w, c, spec):
        timeout = max(1, spec.get("timeoutSeconds", 1))
        ip = w.sandbox["ip"] if w.sandbox else None

        def port_of(p):
            if isinstance(p, int) or (isinstance(p, str) and p.isdigit()):
                return int(p)
            for cp in c.spec.get("ports") or []:
                if cp.get("name") == p:
                    return cp.get("containerPort")
            return None
        if "httpGet" in spec:
            h = spec["httpGet"]
            port = port_of(h.get("port"))
            host = h.get("host") or ip
            path = h.get("path") or "/"
            try:
                if (h.get("scheme") or "HTTP").upper() == "HTTPS":
                    import ssl
                    conn = http.client.HTTPSConnection(host, port, timeout=timeout,
                                                       context=ssl._create_unverified_context())
                else:
                    conn = http.client.HTTPConnection(host, port, timeout=timeout)
                hdrs = {"User-Agent": "kube-probe/1.32", "Accept": "*/*"}
                for hh in h.get("httpHeaders") or []:
                    hdrs[hh.get("name")] = hh.get("value")
                conn.request("GET", path, headers=hdrs)
                r = conn.getresponse()
                r.read(10240)
                conn.close()
                if 200 <= r.status < 400:
                    return True, ""
                return False, f"HTTP probe failed with statuscode: {r.status}"
            except (OSError, http.client.HTTPException) as e:
                return False, f'Get "http://{host}:{port}{path}": {e}'
        if "tcpSocket" in spec:
            t = spec["tcpSocket"]
            port = port_of(t.get("port"))
            host = t.get("host") or ip
            try:
                socket.create_connection((host, port), timeout).close()
                return True, ""
            except OSError as e:
                return False, f"dial tcp {host}:{port}: {e.strerror or e}"
        if "exec" in spec:
            code, out = self.run_exec(w, c, spec["exec"].get("command") or [], timeout)
            if code == 0:
                return True, ""
            if code is None:
                return False, f"command timed out: \"{' '.join(spec['exec'].get('command') or [])}\" timed out after {timeout}s"
            return False, (out or "").strip()[-1024:] or f"command terminated with exit code {code}"
        return False, "the box's kubelet supports httpGet, tcpSocket and exec probes"

    def run_exec(self, w, c, argv, timeout):
        if not c.running or not argv:
            return -1, "container not running"
        env = dict(c.image.env) if c.image else {}
        env["HOSTNAME"] = w.pname
        cdirs = self.rt.dirs(c.cgroup).values()
        return self.rt.exec_in(c.popen.pid, cdirs, argv, env, timeout, c.spec.get("workingDir") or "/")

    # ---- main
    def run(self):
        self.register()
        for fn in volumes.NODE_START:  # the storage driver's registration (CSINode)
            try:
                fn(self)
            except Exception as e:
                log(f"node start hook {fn.__module__}: {e}")
        threading.Thread(target=self.lease_loop, name="lease", daemon=True).start()
        self.services = kclient.Informer(self.client, "/api/v1/services", lambda t, o: None, name="services").start()
        self.services.synced.wait(30)
        self.pods = kclient.Informer(self.client, "/api/v1/pods", self.on_pod,
                                     field_selector=f"spec.nodeName={self.name}", name="pods")
        if self.cfg.get("kubeProxy", {}).get("enabled", True):
            from . import kubeproxy
            kubeproxy.start(self.cfg)
        self.pods.start()
        stop = threading.Event()

        def term(*_):
            stop.set()
        signal.signal(signal.SIGTERM, term)
        signal.signal(signal.SIGINT, term)
        while not stop.wait(1):
            pass
        self.shutdown()

    def shutdown(self):
        """The node goes away: every pod's processes, cgroups and volumes (not the API objects)."""
        log("shutting down: stopping every pod")
        with self.lock:
            ws = list(self.workers.values())
        for w in ws:
            for c in w.all_containers():
                if c.running:
                    self.rt.kill_cgroup(c.cgroup)
        for w in ws:
            try:
                for c in w.all_containers():
                    if c.popen is not None:
                        c.popen.wait(5)
                        w.exited(c)
                w.cleanup()
            except Exception as e:
                log(f"shutdown {w.ns}/{w.pname}: {e}")
        for name, mp in self.rt.mounts.items():
            left = cgroups.rmtree(mp + cgroups.kubepods_path(self.rt.driver))
            if left:
                log(f"cgroups left: {left}")
        log("stopped")
        os._exit(0)


def service_env(svc):
    """Docker-links style variables for one service (kubelet envvars.FromServices)."""
    name = svc["metadata"]["name"].upper().replace("-", "_")
    spec = svc.get("spec") or {}
    ip = spec.get("clusterIP")
    ports = spec.get("ports") or []
    out = {f"{name}_SERVICE_HOST": ip}
    if not ports:
        return out
    out[f"{name}_SERVICE_PORT"] = str(ports[0].get("port"))
    for p in ports:
        if p.get("name"):
            out[f"{name}_SERVICE_PORT_{p['name'].upper().replace('-', '_')}"] = str(p.get("port"))
    proto = (ports[0].get("protocol") or "TCP").lower()
    out[f"{name}_PORT"] = f"{proto}://{ip}:{ports[0].get('port')}"
    for p in ports:
        proto_u = (p.get("protocol") or "TCP").upper()
        proto = proto_u.lower()
        pre = f"{name}_PORT_{p.get('port')}_{proto_u}"
        out[pre] = f"{proto}://{ip}:{p.get('port')}"
        out[pre + "_PROTO"] = proto
        out[pre + "_PORT"] = str(p.get("port"))
        out[pre + "_ADDR"] = ip
    return out


def main(path):
    with open(path) as f:
        cfg = json.load(f)
    sys.stdout.reconfigure(line_buffering=True)
    import faulthandler
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1: every thread's stack in node.log
    Kubelet(cfg).run()


if __name__ == "__main__":
    main(sys.argv[1])
