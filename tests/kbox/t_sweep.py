#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""A box with nodes that is killed leaves no process, and the next box sweeps what it left.

A one-node box with a running pod; its server gets SIGKILL (no teardown runs):
- every process of the box goes with it (the launcher dies with the server, the node's
  init with the launcher, the node's processes with its pid namespace): its cgroup
  directories hold no task within a few seconds;
- what lives in the host's namespaces is still there, and `kbox leftovers` lists it
  (named network namespaces, cgroup directories, the record) and exits 1;
- the next box to start sweeps it (its log says so) and `kbox leftovers DIR` of the
  killed box is empty; that box's own stop leaves nothing either.
Issue 13 §2 ("sweeps leftovers of a killed run at start; a check says nothing is left").
"""
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Client, check, eq, finish, skip, wait_until  # noqa: E402
from kboxd import cgroups, sweep  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
KBOX = os.path.join(HERE, "kbox")
REF = "issue 13 §2"
if os.geteuid() != 0:
    skip("the box's nodes need root")
if os.environ.get("FERRY_TEST_KUBECONFIG") and not os.environ.get("FERRY_TEST_KBOX_DIR"):
    skip("checks the box's own nodes; FERRY_TEST_KUBECONFIG names a real cluster")

dirs = [tempfile.mkdtemp(prefix="kbox-sweep-") for _ in range(2)]


def kbox(*args):
    return subprocess.run([KBOX] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


try:
    a, b = dirs
    r = kbox("start", a, "--nodes", "1")
    if r.returncode != 0:
        print(f"ERROR: kbox start: {r.stderr}")
        sys.exit(99)
    aid = open(os.path.join(a, "box-id")).read().strip()
    env = dict(line.split("=", 1) for line in open(os.path.join(a, "env")).read().splitlines() if "=" in line)
    api = Client(env["KBOX_URL"], env["KBOX_CA"], env["KBOX_ADMIN_TOKEN"])
    code, _, body = api.post("/api/v1/namespaces/default/pods", {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "sleeper"},
        "spec": {"containers": [{"name": "c", "image": "busybox", "command": ["sleep", "100000"]}]}})
    eq("a pod is created on the box to be killed", code, 201, REF)
    rec = next(r for r in sweep.records() if r["id"] == aid)
    v2 = next(p for p in rec["cgroups"] if "/unified/" in p)
    ok = wait_until(lambda: any(len(cgroups.procs(d)) for d, _, _ in os.walk(os.path.join(v2, "node-1", "kubepods"))),
                    30, 0.2)
    check("the killed box's pod was running (its container in the node's kubepods tree)", ok, None, None, REF)
    procs = cgroups.subtree_procs(v2)
    check("the box's processes are in its cgroup directories", len(procs) >= 4, len(procs), ">= 4 (launcher, init, kubelet, pod)", REF)
    os.kill(int(open(os.path.join(a, "kbox.pid")).read()), signal.SIGKILL)
    ok = wait_until(lambda: not cgroups.subtree_procs(v2), 10, 0.1)
    eq("SIGKILL to the server: within 10 s no process of the box is left", cgroups.subtree_procs(v2), [], REF)
    left = kbox("leftovers")
    check("kbox leftovers lists the killed box's namespaces, cgroups and record, and exits 1",
          left.returncode == 1 and f"netns kbox-{aid}-fabric" in left.stdout and f"netns kbox-{aid}-node-1" in left.stdout
          and f"cgroup {v2}" in left.stdout and f"record /run/kbox/{aid}.json" in left.stdout,
          (left.returncode, left.stdout), "exit 1 naming them", REF)
    r = kbox("start", b, "--nodes", "1")
    eq("the next box starts", r.returncode, 0, REF)
    log = open(os.path.join(b, "kbox.log")).read()
    check("... and sweeps the killed box's leftovers at start", f"swept the leftovers of box {aid}" in log, log[-500:],
          f"swept the leftovers of box {aid}", REF)
    left = kbox("leftovers", a)
    eq("nothing of the killed box is left", (left.returncode, left.stdout), (0, ""), REF)
    h2 = int(open(os.path.join(a, "nghttpx.pid")).read())

    def gone(pid):
        try:
            return open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] == "Z"
        except OSError:
            return True
    check("... nor its HTTP/2 front (nghttpx outlives the server; the sweep stops it)", wait_until(lambda: gone(h2), 5, 0.1),
          h2, "gone", REF)
    kbox("stop", b)
    left = kbox("leftovers", b)
    eq("nothing of the second box is left after its stop", (left.returncode, left.stdout), (0, ""), REF)
finally:
    for d in dirs:
        kbox("stop", d)
        subprocess.run(["rm", "-rf", d])
finish()
