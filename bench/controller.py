#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/controller.py [--kills N] [--terms N] [--idle SECONDS] [--json FILE]

What `ferry controller` costs and how fast it fails over, against a cluster in a box of
its own with ferry's manifests applied and each process under the ferry-controller
service account (the set-up of tests/operator/t_controller.py). Figures, not a test.

- failover after SIGKILL, with the shipped 15 s / 10 s / 2 s: the standby starts at a
  random point of the leader's renewal period, and the leader is killed at a random
  point of it; the time from the kill to the standby's first successful write of the
  Lease (the box's audit log), and from the dead leader's last renewal to it. Each
  round's standby is the next round's leader;
- takeover after SIGTERM (the Lease released);
- idle cost of a leader and of a standby with no reconcilers: CPU (utime + stime from
  /proc over the window), resident memory, API requests per minute.
Run by hand (about 20 s per kill); say how loaded the machine was.
"""
import argparse
import json
import os
import random
import signal
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "operator"))
import opkit  # noqa: E402
import kboxtest  # noqa: E402
from scenarios_controller import lease_updates  # noqa: E402
from opkit import ts_of  # noqa: E402


def proc_cpu_rss(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    rss = hwm = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1]) * 1024
            elif line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) * 1024
    return cpu, rss, hwm


def summary(xs):
    return {"n": len(xs), "median": round(statistics.median(xs), 3), "min": round(min(xs), 3),
            "max": round(max(xs), 3)} if xs else {"n": 0}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=5)
    ap.add_argument("--terms", type=int, default=5)
    ap.add_argument("--idle", type=float, default=60)
    ap.add_argument("--json")
    a = ap.parse_args()
    os.environ.setdefault("FERRY", os.path.join(os.path.dirname(HERE), "build", "control", "ferry"))
    load0 = open("/proc/loadavg").read().split()[:3]
    box = kboxtest.Box(private=True)
    env = opkit.Env(box)
    opkit.apply_manifests(env)
    env.delete_lease()
    n = 0

    def start():
        nonlocal n
        n += 1
        return env.controller(f"bench-{n}")

    leader = start()
    assert leader.wait_line(rf"{leader.name}: leading", 20), leader.text()
    kill_s, renew_s = [], []
    for i in range(a.kills):
        # a standby started right after a takeover polls in step with the new leader's
        # renewals and sees each at once; at a random phase it sees one up to 1.2 x the
        # retry period late, as a standby that has run for a while does
        time.sleep(random.uniform(0, 2.4))
        standby = start()
        assert standby.wait_line(rf"{standby.name}: the leader is {leader.name}", 20), standby.text()
        time.sleep(2 + random.uniform(0, 2))  # a random point of the renewal period
        mark = env.audit_size()
        t_kill = time.time()
        leader.p.send_signal(signal.SIGKILL)
        leader.wait(5)
        assert standby.wait_line(rf"{standby.name}: leading", 40), standby.text()
        entries = env.audit(0)
        last = ts_of(lease_updates(entries, leader)[-1])
        take = ts_of([e for e in lease_updates(env.audit(mark), standby)][0])
        kill_s.append(take - t_kill)
        renew_s.append(take - last)
        print(f"# kill {i + 1}: takeover {take - t_kill:.3f} s after the kill, "
              f"{take - last:.3f} s after the last renewal", flush=True)
        leader = standby
    term_s = []
    for i in range(a.terms):
        time.sleep(random.uniform(0, 2.4))
        standby = start()
        assert standby.wait_line(rf"{standby.name}: the leader is {leader.name}", 20), standby.text()
        time.sleep(random.uniform(0, 2))
        mark = env.audit_size()
        t_term = time.time()
        leader.signal(signal.SIGTERM)
        leader.wait(30)
        assert standby.wait_line(rf"{standby.name}: leading", 20), standby.text()
        take = ts_of(lease_updates(env.audit(mark), standby)[0])
        term_s.append(take - t_term)
        print(f"# term {i + 1}: takeover {take - t_term:.3f} s after SIGTERM", flush=True)
        leader = standby
    # idle: the leader and one standby, no reconcilers
    standby = start()
    assert standby.wait_line(rf"{standby.name}: the leader is {leader.name}", 20), standby.text()
    time.sleep(3)
    c0 = {p.name: proc_cpu_rss(p.p.pid) for p in (leader, standby)}
    r0 = {p.name: p.metric("ferry_controller_api_requests_total") for p in (leader, standby)}
    time.sleep(a.idle)
    idle = {}
    for role, p in (("leader", leader), ("standby", standby)):
        cpu, rss, hwm = proc_cpu_rss(p.p.pid)
        reqs = p.metric("ferry_controller_api_requests_total") - r0[p.name]
        idle[role] = {"cpu_percent": round(100 * (cpu - c0[p.name][0]) / a.idle, 3),
                      "rss_mib": round(rss / 2**20, 1), "peak_rss_mib": round(hwm / 2**20, 1),
                      "api_requests_per_min": round(reqs * 60 / a.idle, 1)}
    load1 = open("/proc/loadavg").read().split()[:3]
    out = {"failover_after_kill_s": summary(kill_s), "failover_after_last_renewal_s": summary(renew_s),
           "takeover_after_sigterm_s": summary(term_s), "idle_seconds": a.idle, "idle": idle,
           "load_before": load0, "load_after": load1, "cpus": os.cpu_count(),
           "settings": "lease 15 s, renew deadline 10 s, retry period 2 s"}
    print(json.dumps(out, indent=2))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(out, f, indent=2)
    env.close()


if __name__ == "__main__":
    main()
