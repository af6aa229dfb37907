# SPDX-License-Identifier: MIT
"""kboxd.runtime: the box's container runtime, inside one node (the kubelet's CRI side).

- Sandbox: a process (`sleep infinity`, the pause container) in the pod's own
  network, UTS and IPC namespaces, in a container cgroup of its own under the
  pod's cgroup. Its network: a veth pair, `eth0` in the pod with the pod's
  address as a /32, the node's end (`kbx` + 11 hex digits) holding 169.254.1.1
  and a /32 route to the pod; the pod's default route goes through
  169.254.1.1 (routed, as Calico does). Addresses come from the node's
  podCIDR (host-local IPAM: the next free address after the last one given).
  hostNetwork pods stay in the node's network namespace with the node's address.
- Container: kboxd.spawn with a spec (namespaces to join, the root file system,
  mounts, cgroups, identity, environment, argv); its pid is the container's
  main process. Its exit is seen through a pidfd (ExitWatcher), which wakes
  the pod's worker.
- Cgroups: cgroups.py's layouts under the node's root, in every hierarchy;
  limits written before the first process joins.
- Logs: stdout and stderr of each run of a container go to
  /var/log/pods/<ns>_<name>_<uid>/<container>/<restartCount>.log (plain text;
  the API's pods/log reads them).
Containers share the node's pid namespace (as if every pod had hostPID).
"""
import ipaddress
import json
import os
import secrets
import selectors
import shutil
import signal
import subprocess
import sys
import threading
import time

from . import cgroups

PY = "/usr/bin/python3"
SPAWN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "spawn.py")
RUN = "/run/kbox/containers"
GATEWAY = "169.254.1.1"


def new_id():
    return secrets.token_hex(32)


def run(cmd, input_=None, check=True):
    r = subprocess.run(cmd, input=input_, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise OSError(f"{' '.join(cmd[:4])}: {r.stderr.strip() or r.stdout.strip()}")
    return r


class ExitWatcher:
    """pidfds of running containers in one selector; a callback when one exits."""

    def __init__(self):
        self.sel = selectors.DefaultSelector()
        self.r, self.w = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self.sel.register(self.r, selectors.EVENT_READ, None)
        self.lock = threading.Lock()
        threading.Thread(target=self._run, name="exits", daemon=True).start()

    def watch(self, pid, cb):
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            cb()
            return
        with self.lock:
            self.sel.register(fd, selectors.EVENT_READ, cb)
        os.write(self.w, b"x")

    def _run(self):
        while True:
            for key, _ in self.sel.select():
                if key.data is None:
                    try:
                        os.read(self.r, 4096)
                    except BlockingIOError:
                        pass
                    continue
                with self.lock:
                    self.sel.unregister(key.fd)
                os.close(key.fd)
                try:
                    key.data()
                except Exception:
                    import traceback
                    traceback.print_exc()


class IPAM:
    def __init__(self, cidr):
        self.net = ipaddress.ip_network(cidr)
        self.used = set()
        self.last = None
        self.lock = threading.Lock()

    def allocate(self):
        hosts = list(self.net.hosts())[1:]  # .1 is the node's, as host-local's gateway
        with self.lock:
            start = 0
            if self.last is not None and self.last in hosts:
                start = hosts.index(self.last) + 1
            for i in range(len(hosts)):
                ip = hosts[(start + i) % len(hosts)]
                if ip not in self.used:
                    self.used.add(ip)
                    self.last = ip
                    return str(ip)
        raise OSError("no free address in " + str(self.net))

    def release(self, ip):
        with self.lock:
            self.used.discard(ipaddress.ip_address(ip))


class Runtime:
    def __init__(self, node):
        self.node = node  # node config dict
        self.driver = node["cgroupDriver"]
        hs = cgroups.hierarchies()
        self.mounts = {name: mp for name, (mp, key) in hs.items()}
        self.v2 = next(name for name, (mp, key) in hs.items() if key == "")
        self.ipam = IPAM(node["podCIDR"])
        self.exits = ExitWatcher()
        os.makedirs(RUN, exist_ok=True)

    # ---- cgroups
    def dirs(self, rel):
        return {name: mp + rel for name, mp in self.mounts.items()}

    def make_cgroup(self, rel):
        for name, mp in self.mounts.items():
            cgroups.mkdir(mp, rel)
        return self.dirs(rel)

    def kill_cgroup(self, rel, timeout=5.0):
        d = self.dirs(rel)
        v2 = d.pop(self.v2)
        return cgroups.kill(v2, tuple(d.values()), timeout)

    def remove_cgroup(self, rel):
        left = []
        for name, mp in self.mounts.items():
            left += cgroups.rmtree(mp + rel)
        return left

    def pod_cgroup(self, uid, qos, pod_limits):
        rel = cgroups.pod_path(self.driver, qos, uid)
        self.make_cgroup(cgroups.qos_path(self.driver, qos))
        if qos.lower() == "besteffort":
            cgroups.set_limits(self.dirs(cgroups.qos_path(self.driver, qos)), cpu_shares=cgroups.MIN_SHARES)
        d = self.make_cgroup(rel)
        cgroups.set_limits(d, **pod_limits)
        return rel

    # ---- sandbox
    def start_sandbox(self, pod, uid, qos, host_network, hostname, pod_limits):
        """-> dict(cid, popen, pid, ip, veth, cgroup)."""
        prel = self.pod_cgroup(uid, qos, pod_limits)
        cid = new_id()
        crel = cgroups.container_path(self.driver, qos, uid, cid)
        cdirs = self.make_cgroup(crel)
        cgroups.set_limits(cdirs, cpu_shares=cgroups.MIN_SHARES)
        spec = {"mode": "sandbox", "cgroups": list(cdirs.values()), "argv": ["/usr/bin/sleep", "infinity"],
                "unshare": ["ipc"] + ([] if host_network else ["net", "uts"]), "env": {"PATH": "/usr/bin:/bin"}}
        if not host_network:
            spec["hostname"] = hostname
        p, err = self._spawn(cid, spec, subprocess.DEVNULL)
        if err:
            self.kill_cgroup(prel)
            self.remove_cgroup(prel)
            raise OSError(f"failed to create pod sandbox: {err}")
        sb = {"cid": cid, "popen": p, "pid": p.pid, "cgroup": prel, "ccgroup": crel, "ip": None, "veth": None}
        if host_network:
            sb["ip"] = self.node["nodeIP"]
            return sb
        try:
            ip = self.ipam.allocate()
            sb["ip"] = ip
            veth = "kbx" + cid[:11]
            sb["veth"] = veth
            run(["ip", "-b", "-"], f"link add {veth} mtu 1500 type veth peer name eth0 netns {p.pid}\n"
                                  f"link set {veth} up\naddr add {GATEWAY}/32 dev {veth}\n"
                                  f"route add {ip}/32 dev {veth} scope link\n")
            run(["nsenter", f"--net=/proc/{p.pid}/ns/net", "ip", "-b", "-"],
                f"link set lo up\naddr add {ip}/32 dev eth0\nlink set eth0 up\n"
                f"route add {GATEWAY} dev eth0 scope link\nroute add default via {GATEWAY} dev eth0\n")
        except OSError as e:
            self.stop_sandbox(sb)
            raise OSError(f"failed to set up the pod's network: {e}")
        return sb

    def stop_sandbox(self, sb):
        if sb is None:
            return
        try:
            sb["popen"].kill()
        except OSError:
            pass
        self.kill_cgroup(sb["cgroup"])
        try:
            sb["popen"].wait(5)
        except subprocess.TimeoutExpired:
            pass
        if sb.get("veth"):  # gone with the pod's namespace; make sure
            run(["ip", "link", "del", sb["veth"]], check=False)
        left = self.remove_cgroup(sb["cgroup"])
        if sb.get("ip") and sb.get("veth"):
            self.ipam.release(sb["ip"])
        if left:
            print(f"kubelet: cgroups left after stopping pod sandbox: {left}", flush=True)

    # ---- containers
    def _spawn(self, cid, spec, out, log_path=None):
        r, w = os.pipe2(os.O_CLOEXEC)
        spec["errfd"] = w
        path = os.path.join(RUN, cid + ".json")
        with open(path, "w") as f:
            json.dump(spec, f)
        try:
            p = subprocess.Popen([PY, "-I", "-S", SPAWN, path], stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=out if out is not subprocess.DEVNULL else subprocess.DEVNULL,
                                 pass_fds=(w,), close_fds=True)
        finally:
            os.close(w)
        chunks = []
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            chunks.append(b)
        os.close(r)
        err = b"".join(chunks).decode(errors="replace").strip()
        if err:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
        try:
            os.unlink(path)
        except OSError:
            pass
        return p, err

    def start_container(self, cid, spec, log_path):
        """spec as spawn.py takes it (without errfd); -> (popen, error text or "")."""
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        out = open(log_path, "ab")
        try:
            spec.setdefault("rootfs", {})["dir"] = os.path.join(RUN, cid)
            return self._spawn(cid, spec, out)
        finally:
            out.close()

    def remove_container_dir(self, cid):
        shutil.rmtree(os.path.join(RUN, cid), ignore_errors=True)

    def exec_in(self, target_pid, cgroup_dirs, argv, env, timeout, workdir="/"):
        """Run argv in a running container's namespaces and cgroup: -> (exit code, output)."""
        cid = new_id()
        spec = {"mode": "exec", "cgroups": list(cgroup_dirs),
                "join": {ns: f"/proc/{target_pid}/ns/{ns}" for ns in ("net", "uts", "ipc", "mnt")},
                "argv": argv, "env": env, "workdir": workdir}
        r, w = os.pipe2(os.O_CLOEXEC)
        spec["errfd"] = w
        path = os.path.join(RUN, cid + ".json")
        with open(path, "w") as f:
            json.dump(spec, f)
        try:
            p = subprocess.Popen([PY, "-I", "-S", SPAWN, path], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, pass_fds=(w,))
        finally:
            os.close(w)
        try:
            out, _ = p.communicate(timeout=timeout)
            code = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, _ = p.communicate()
            code = None
        err = b""
        while True:
            b = os.read(r, 4096)
            if not b:
                break
            err += b
        os.close(r)
        try:
            os.unlink(path)
        except OSError:
            pass
        if err:
            return -1, err.decode(errors="replace").strip()
        return code, out.decode(errors="replace")

    def memory_oom_kills(self, rel):
        mem = self.mounts.get("memory")
        if not mem:
            return 0
        try:
            with open(os.path.join(mem + rel, "memory.oom_control")) as f:
                for line in f:
                    if line.startswith("oom_kill "):
                        return int(line.split()[1])
        except OSError:
            pass
        return 0


def signal_pid(pid, sig=signal.SIGTERM):
    try:
        os.kill(pid, sig)
        return True
    except OSError:
        return False


def now():
    return time.time()


def log(msg):
    print(f"kubelet: {msg}", file=sys.stdout, flush=True)
