# SPDX-License-Identifier: MIT
"""kboxd.nodeutil: the box's nodes seen from the host (for `kbox exec` and the tests).

Inside a node, the kubelet knows pids in the node's pid namespace; the host
knows other numbers for the same processes. A container's cgroup directory
lists host pids when read from the host, and /proc/PID/status (NSpid) gives
both numbers, so a container's main process is found from the kubelet's
state file (DIR/nodes/NODE/kubelet/kbox-sandboxes.json) and the box's record.
"""
import json
import os

from . import sweep, sysns


def record(d):
    bid = open(os.path.join(d, "box-id")).read().strip()
    for r in sweep.records():
        if r["id"] == bid:
            return r
    raise LookupError(f"no running box with nodes in {d}")


def cgroup_base(d, hierarchy="unified"):
    """The host path of the box's directory in one hierarchy (its nodes are below it)."""
    for p in record(d)["cgroups"]:
        if f"/sys/fs/cgroup/{hierarchy}/" in p:
            return p
    raise LookupError(f"the box has no directory in the {hierarchy} hierarchy")


def node_netns(d, node):
    return f"kbox-{open(os.path.join(d, 'box-id')).read().strip()}-{node}"


def fabric_netns(d):
    """The box's fabric: the API server's second listener (172.30.0.1:6443), a route to every
    node's pods."""
    return node_netns(d, "fabric")


def sandboxes(d):
    out = {}
    nodes = os.path.join(d, "nodes")
    for n in sorted(os.listdir(nodes)) if os.path.isdir(nodes) else []:
        try:
            with open(os.path.join(nodes, n, "kubelet", "kbox-sandboxes.json")) as f:
                for uid, sb in json.load(f).items():
                    out[uid] = dict(sb, node=n)
        except (OSError, ValueError):
            continue
    return out


def find(d, ns, name):
    for uid, sb in sandboxes(d).items():
        if sb.get("namespace") == ns and sb.get("name") == name:
            return uid, sb
    raise LookupError(f"pod {ns}/{name} has no sandbox on any node of the box in {d}")


def host_pid(cgdir, node_pid):
    """The host pid of the process that is node_pid in its node, among those in cgdir."""
    try:
        procs = open(os.path.join(cgdir, "cgroup.procs")).read().split()
    except OSError:
        return None
    for p in procs:
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("NSpid:") and int(line.split()[-1]) == node_pid:
                    return int(p)
        except OSError:
            continue
    return None


def container_cgroups(d, node, rel):
    """Host paths of a container's directory in every hierarchy."""
    out = []
    for base in record(d)["cgroups"]:
        out.append(f"{base}/{node}{rel}")
    return out


def container_pid(d, ns, name, cname=None, cid=None):
    """-> (host pid of the container's main process, its cgroup directories on the host).
    cid: the container id the caller expects (from the pod's status); another one is an error."""
    uid, sb = find(d, ns, name)
    cs = sb.get("containers") or {}
    if cname is None:
        running = [c for c, v in cs.items() if v.get("pid")]
        if not running:
            raise LookupError(f"pod {ns}/{name} has no running container")
        cname = running[0]
    c = cs.get(cname)
    if not c or not c.get("pid"):
        raise LookupError(f"container {cname} of pod {ns}/{name} is not running")
    if cid and c.get("id") != cid:
        raise LookupError(f"container {cname} of pod {ns}/{name} runs as {c.get('id')}, not {cid}")
    dirs = container_cgroups(d, sb["node"], c["cgroup"])
    v2 = next(p for p in dirs if "/unified/" in p)
    pid = host_pid(v2, c["pid"])
    if pid is None:
        raise LookupError(f"container {cname} of pod {ns}/{name}: its process is gone")
    return pid, dirs


def container_env(pid):
    try:
        raw = open(f"/proc/{pid}/environ", "rb").read()
    except OSError:
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env = {}
    for kv in raw.split(b"\0"):
        if b"=" in kv:
            k, v = kv.split(b"=", 1)
            env[k.decode(errors="replace")] = v.decode(errors="replace")
    return env


def node_pid(d, node):
    """The host pid of a node's pid 1 (its init: node.py), for nsenter -t."""
    return int(open(os.path.join(d, "nodes", node, "init.pid")).read())



def enter_netns(name):
    """The calling thread into the network namespace /run/netns/@name (setns(2) moves the calling
    thread only: a test's thread of its own, for its life). Raises OSError."""
    sysns.setns(f"/run/netns/{name}", sysns.CLONE_NEWNET)
