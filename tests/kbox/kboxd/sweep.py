# SPDX-License-Identifier: MIT
"""kboxd.sweep: what a box with nodes leaves on the machine, finding it, and removing it.

A box with nodes makes, in the host's namespaces, only:
- named network namespaces kbox-<id>-fabric and kbox-<id>-<node> (bind mounts
  of nsfs under /run/netns, visible to `ip netns`);
- a cgroup directory kbox-<id> (with the nodes below it) in every hierarchy,
  under the cgroup its server runs in;
- (issue 14) loop devices whose backing files live under its DIR (its storage pools, and
  the volumes on them that nodes attached);
- and, started by `kbox start`, its HTTP/2 front (nghttpx), which outlives a killed server.
Everything else (mounts, processes, veths, iptables rules, bpffs pins) lives in
the nodes' namespaces and goes with them. Before making any of it the server
writes /run/kbox/<id>.json (its pid and start time, its DIR, the names and
paths above); a clean stop removes all of it and the record. A box that was
killed leaves its record behind with a dead owner, and the next box to start
sweeps it (any record whose owner is gone, and any kbox-<id> namespace or
cgroup with no live owner). `kbox leftovers [DIR]` lists what is left (of one
box, or of every box no longer running) and exits 1 if anything is.
"""
import json
import os
import re
import subprocess
import time

from . import cgroups

REG = "/run/kbox"
ID_RE = re.compile(r"kbox-([0-9a-f]{6})(-|$)")


def proc_start(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def records():
    out = []
    try:
        names = os.listdir(REG)
    except FileNotFoundError:
        return out
    for n in names:
        if not n.endswith(".json"):
            continue
        try:
            with open(os.path.join(REG, n)) as f:
                out.append(json.load(f))
        except (OSError, ValueError):
            continue
    return out


def alive(rec):
    """The record's owner still runs (same pid, same start time, not a zombie nobody reaped)."""
    pid = rec.get("pid")
    if not pid or proc_start(pid) != rec.get("start"):
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def write_record(rec):
    os.makedirs(REG, exist_ok=True)
    p = os.path.join(REG, rec["id"] + ".json")
    with open(p + ".tmp", "w") as f:
        json.dump(rec, f)
    os.replace(p + ".tmp", p)


def drop_record(box_id):
    try:
        os.unlink(os.path.join(REG, box_id + ".json"))
    except FileNotFoundError:
        pass


def netns_names():
    try:
        return sorted(os.listdir("/run/netns"))
    except FileNotFoundError:
        return []


def _cgroup_roots():
    return [mp for name, (mp, key) in cgroups.hierarchies().items()]


def cgroup_dirs(box_id=None, depth=4):
    """kbox-<id> directories in every hierarchy (any id when box_id is None)."""
    out = []
    for root in _cgroup_roots():
        stack = [(root, 0)]
        while stack:
            d, lvl = stack.pop()
            try:
                entries = os.scandir(d)
            except OSError:
                continue
            with entries:
                for e in entries:
                    if not e.is_dir(follow_symlinks=False):
                        continue
                    m = re.fullmatch(r"kbox-([0-9a-f]{6})", e.name)
                    if m:
                        if box_id is None or m.group(1) == box_id:
                            out.append(e.path)
                    elif lvl < depth:
                        stack.append((e.path, lvl + 1))
    return out


def loops_under(d):
    """Loop devices whose backing file lives under d, and those whose backing file lives on
    one of them (a volume on a storage pool: once the pool's mount namespace is gone its path
    no longer reads as under d), the latter first: the order to detach them in."""
    if not d:
        return []
    r = subprocess.run(["losetup", "-J", "-a", "-O", "NAME,MAJ:MIN,BACK-MAJ:MIN,BACK-FILE"], stdout=subprocess.PIPE,
                       stderr=subprocess.DEVNULL, text=True)
    try:
        rows = [{k: (v or "").strip() for k, v in x.items()} for x in json.loads(r.stdout or "{}").get("loopdevices", [])]
    except ValueError:
        return []
    mine = [x for x in rows if x.get("back-file", "").startswith(d.rstrip("/") + "/")]
    out = [x["name"] for x in mine]
    devs = {x["maj:min"] for x in mine}
    while devs:
        above = [x for x in rows if x.get("back-maj:min") in devs and x["name"] not in out]
        out = [x["name"] for x in above] + out
        devs = {x["maj:min"] for x in above}
    return out


def mounts_of(box_id, d):
    out = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fs = line.split()
            mp = fs[4]
            if (box_id and f"kbox-{box_id}" in mp) or (d and (mp.startswith(d.rstrip("/") + "/") or mp == d)):
                out.append(mp)
    return out


def remove_cgroup_tree(path):
    """Kill what runs in a kbox-<id> directory (all hierarchies hold the same tasks) and remove it."""
    for p in cgroups.subtree_procs(path):
        try:
            os.kill(p, 9)
        except OSError:
            pass
    if os.path.exists(os.path.join(path, "cgroup.kill")):
        try:
            with open(os.path.join(path, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
    return cgroups.rmtree(path)


def _stray_front(d):
    """The HTTP/2 front (nghttpx, started by `kbox start` in a session of its own) of a box
    whose server died: stop it if it still serves that DIR."""
    if not d:
        return
    try:
        pid = int(open(os.path.join(d, "nghttpx.pid")).read())
        cmd = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except (OSError, ValueError):
        return
    if cmd and os.path.basename(cmd[0]) == b"nghttpx" and any(d.encode() + b"/" in a for a in cmd):
        try:
            os.kill(pid, 15)
        except OSError:
            pass


def clean(rec):
    """Remove what a (dead) box recorded. -> list of what could not be removed."""
    left = []
    _stray_front(rec.get("dir"))
    for ns in rec.get("netns") or []:
        if ns in netns_names():
            r = subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            if r.returncode != 0:
                left.append(f"netns {ns}: {r.stderr.strip()}")
    for d in sorted(rec.get("cgroups") or [], key=lambda p: "unified" in p, reverse=True):
        left += [f"cgroup {x}" for x in remove_cgroup_tree(d)]
    for dev in loops_under(rec.get("dir")):
        subprocess.run(["losetup", "-d", dev], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # a device still open (a pool whose mount namespace is going away) clears itself when closed
    deadline = time.time() + 5
    while loops_under(rec.get("dir")) and time.time() < deadline:
        time.sleep(0.05)
    left += [f"loop {x}" for x in loops_under(rec.get("dir"))]
    if not left:
        drop_record(rec["id"])
    return left


def sweep():
    """Clean every box whose owner is gone. -> [(id, leftovers)] for the log."""
    done = []
    live = set()
    for rec in records():
        if alive(rec):
            live.add(rec["id"])
            continue
        done.append((rec["id"], clean(rec)))
    for ns in netns_names():
        m = ID_RE.match(ns)
        if m and m.group(1) not in live:
            subprocess.run(["ip", "netns", "del", ns], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            done.append((m.group(1), []))
    for d in cgroup_dirs():
        bid = os.path.basename(d)[5:]
        if bid not in live:
            remove_cgroup_tree(d)
            done.append((bid, []))
    return done


def leftovers(box_id=None, d=None):
    """What is left of one box (box_id, DIR) or, with neither, of every box not running."""
    live = {r["id"] for r in records() if alive(r)}
    out = []

    def mine(bid):
        return bid == box_id if box_id else bid not in live
    for ns in netns_names():
        m = ID_RE.match(ns)
        if m and mine(m.group(1)):
            out.append(f"netns {ns}")
    for c in cgroup_dirs():
        if mine(os.path.basename(c)[5:]):
            out.append(f"cgroup {c}")
    for rec in records():
        if mine(rec["id"]):
            out.append(f"record {REG}/{rec['id']}.json")
            for mp in mounts_of(rec["id"], rec.get("dir")):
                out.append(f"mount {mp}")
            for dev in loops_under(rec.get("dir")):
                out.append(f"loop {dev}")
    if box_id or d:
        for mp in mounts_of(box_id, d):
            if f"mount {mp}" not in out:
                out.append(f"mount {mp}")
        for dev in loops_under(d):
            if f"loop {dev}" not in out:
                out.append(f"loop {dev}")
    return out
