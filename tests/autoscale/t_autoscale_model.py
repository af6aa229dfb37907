#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/autoscale/t_autoscale_model.py T_AUTOSCALE_TRACE - control/autoscale
against an independent reference model of upstream's controller
(hpa_model.py), on recorded traces, pass by pass at the HPA's 15 s cadence.

Each scenario is a small world: a load over time, a ReplicaSet that creates
and deletes pods as the scale says, pods that are Pending for a while, start
not ready (and may burn CPU while they initialize), become ready, sometimes
flap, fail, or linger while deleting; samples that lag, go missing, or a
metric that cannot be fetched at all. The model drives the world (its
decisions change the pods), and every pass is recorded: the pods, the samples,
the scale's spec.replicas. T_AUTOSCALE_TRACE then replays the recording
through as_decide()/as_scaled(), and every pass must give the same desired
count, the same rescale and the same three condition reasons and statuses.

The scenarios cover steps, spikes and noise, not-ready pods, missing metrics,
two and three metrics, behaviors with Pods/Percent policies, selectPolicy
Min/Disabled, per-direction tolerances, a target scaled to zero and above its
maximum by hand. The test also checks that the traces reached the paths it is
about (scale-ups and scale-downs, stabilization, rate limits, min/max,
failed metrics): a comparison of idle traces would prove nothing.

FERRY_AUTOSCALE_SEED=N runs other random traces; the default seeds are fixed.
Exit 0 pass, 1 fail (the first differing pass, with its context), 99 error.
"""
import json
import os
import random
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import hpa_model  # noqa: E402

STEP_MS = 15000
S = 1000
RUNQ = "ferry_runqueue_wait_p99_seconds"
RX = "ferry_network_receive_bytes_per_second"


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def error(msg):
    print("ERROR: " + msg, flush=True)
    sys.exit(99)


def steps_load(rng, base, levels, dwell_s, duration_s):
    """Piecewise-constant load: a new level every dwell (randomized)."""
    edges = []
    t = 0
    while t < duration_s:
        edges.append((t, base * rng.choice(levels)))
        t += rng.randint(dwell_s[0], dwell_s[1])
    def load(ts):
        v = edges[0][1]
        for (t0, lv) in edges:
            if ts >= t0:
                v = lv
        return v
    return load


def with_idle(load, t0, t1):
    """No load at all between t0 and t1 (s): a proposal of 0, under minReplicas."""
    return lambda ts: 0 if t0 <= ts < t1 else load(ts)


def with_spikes(rng, load, duration_s, n, height):
    spikes = [(rng.uniform(0, duration_s), rng.uniform(1, 5)) for _ in range(n)]
    def f(ts):
        v = load(ts)
        for (t0, d) in spikes:
            if t0 <= ts < t0 + d:
                v *= height
        return v
    return f


class World:
    """Pods of one ReplicaSet and what the feed says about them."""

    def __init__(self, rng, sc, t0):
        self.rng = rng
        self.sc = sc
        self.t0 = t0
        self.pods = []
        self.next = 0
        self.spec = sc["start"]
        for _ in range(self.spec):
            self.add(t0 - 3600 * S, settled=True)

    def add(self, t, settled=False):
        rng, sc = self.rng, self.sc
        pend = 0 if settled else rng.uniform(*sc["pending_s"]) * S
        ready = 0 if settled else rng.uniform(*sc["ready_s"]) * S
        self.pods.append({"name": "p%d" % self.next, "created": t, "running_at": t + pend,
                          "ready_at": t + pend + ready, "deleting": False, "gone_at": None,
                          "failed": False, "flap_until": -1})
        self.next += 1

    def active(self):
        return [p for p in self.pods if not p["deleting"] and not p["failed"]]

    def advance(self, t):
        rng, sc = self.rng, self.sc
        self.pods = [p for p in self.pods if p["gone_at"] is None or p["gone_at"] > t]
        for p in self.pods:
            if p["failed"] or p["deleting"]:
                continue
            if p["running_at"] <= t and rng.random() < sc.get("fail_p", 0):
                p["failed"] = True
                p["gone_at"] = t + sc["grace_s"] * S
            elif p["ready_at"] <= t and rng.random() < sc.get("flap_p", 0):
                p["flap_until"] = t + rng.uniform(5, 40) * S
                p["flap_since"] = t
        for (at_s, spec) in sc.get("manual", []):
            if self.t0 + at_s * S <= t < self.t0 + at_s * S + STEP_MS:
                self.spec = spec
        # the ReplicaSet: as many active pods as the scale says, the newest go first
        act = self.active()
        for _ in range(self.spec - len(act)):
            self.add(t)
        for p in sorted(act, key=lambda p: p["created"], reverse=True)[:max(0, len(act) - self.spec)]:
            p["deleting"] = True
            p["gone_at"] = t + sc["grace_s"] * S

    def status(self, p, t):
        if p["failed"]:
            return {"phase": "Failed", "deleting": p["deleting"], "ready": "False",
                    "ready_since": p["running_at"], "start": p["running_at"]}
        if t < p["running_at"]:
            return {"phase": "Pending", "deleting": p["deleting"], "ready": None,
                    "ready_since": 0, "start": None}
        st = {"phase": "Running", "deleting": p["deleting"], "start": p["running_at"]}
        if t < p["ready_at"]:
            st.update(ready="False", ready_since=p["running_at"])
        elif t < p["flap_until"]:
            st.update(ready="False", ready_since=p["flap_since"])
        else:
            st.update(ready="True", ready_since=max(p["ready_at"], p.get("flap_until", -1)))
        return st

    def observe(self, t, metrics):
        rng, sc = self.rng, self.sc
        sts = [self.status(p, t) for p in self.pods]
        serving = [i for i, st in enumerate(sts) if st["phase"] == "Running" and
                   st["ready"] == "True" and not st["deleting"]]
        demand = sc["load"]((t - self.t0) / S)
        share = demand / max(1, len(serving))
        out = []
        for m in metrics:
            fetch_err = -110 if rng.random() < sc.get("fetch_err_p", 0) else 0
            samples, requests = [], []
            for i, st in enumerate(sts):
                requests.append(sc["request"] if m.get("resource") == "cpu" else
                                sc.get("mem_request") if m.get("resource") == "memory" else None)
                if st["phase"] == "Pending" or rng.random() < sc.get("missing_p", 0):
                    samples.append(None)
                    continue
                if i in serving:
                    cpu = share * (1 + rng.uniform(-sc["noise"], sc["noise"]))
                elif st["phase"] == "Running" and not st["deleting"]:
                    cpu = sc["request"] * sc.get("burst", 0)
                else:
                    cpu = share / 2
                if m.get("resource") == "memory":
                    v = int((150 * 2**20 + cpu * 100 * 2**10) * 1000)
                elif m["type"] == "Pods" and m["name"] == RUNQ:
                    u = cpu / sc["request"]
                    v = int(1000 * (0.0005 + 0.01 * max(0.0, u - 0.4) ** 2) * 1000)  # ms
                elif m["type"] == "Pods":
                    v = int(cpu * 2000 * 1000)  # bytes/s, as milli-units
                else:
                    v = int(cpu)
                lag = rng.uniform(*sc["lag_s"]) * S
                samples.append({"value": v, "ts": int(t - lag), "win": sc["win_ms"]})
            out.append({"fetch_err": fetch_err, "samples": samples, "requests": requests})
        return sts, out


def cond(c):
    if c is None:
        return "-"
    return "%s/%s" % (c["reason"], "T" if c["status"] else "F")


def record(sc, seed, path):
    """Run the model in the world; write the trace; return the model's lines."""
    rng = random.Random(seed)
    pol = sc["policy"]
    ctl = hpa_model.Controller(tolerance=pol["tolerance"],
                               downscale_window=pol["downscale_window_ms"],
                               cpu_init_period=pol["cpu_init_ms"],
                               readiness_delay=pol["readiness_delay_ms"])
    sc["load"] = sc["make_load"](rng, sc["duration_s"])
    t0 = 10**9 + rng.randint(0, STEP_MS - 1)  # the loop's phase
    world = World(rng, sc, t0)
    lines = []
    with open(path, "w") as f:
        f.write(json.dumps({"policy": pol}) + "\n")
        for k in range(sc["duration_s"] * S // STEP_MS):
            t = t0 + k * STEP_MS
            world.advance(t)
            sts, obs = world.observe(t, pol["metrics"])
            f.write(json.dumps({"t": t, "spec": world.spec, "pods": sts, "metrics": obs}) + "\n")
            pods = {p["name"]: dict(st) for p, st in zip(world.pods, sts)}
            names = [p["name"] for p in world.pods]
            mobs = [{"fetch_err": m["fetch_err"],
                     "samples": dict(zip(names, m["samples"])),
                     "requests": dict(zip(names, m["requests"]))} for m in obs]
            hpa = {"min": pol["min"], "max": pol["max"], "metrics": pol["metrics"],
                   "behavior": pol["behavior"]}
            r = ctl.reconcile(hpa, {"spec": world.spec}, pods, {"metrics": mobs}, t)
            c = r["conditions"]
            lines.append("%d %d %d %s %s %s" % (t, r["desired"], int(r["rescale"]),
                                                cond(c.get("AbleToScale")),
                                                cond(c.get("ScalingActive")),
                                                cond(c.get("ScalingLimited"))))
            if r["rescale"]:
                world.spec = r["desired"]
    return lines


def policy(metrics, mn=1, mx=20, behavior=None, tolerance=0.1, downscale_s=300):
    return {"min": mn, "max": mx, "tolerance": tolerance, "downscale_window_ms": downscale_s * S,
            "cpu_init_ms": 300 * S, "readiness_delay_ms": 30 * S, "metrics": metrics,
            "behavior": behavior}


CPU50 = {"type": "Resource", "resource": "cpu", "target": "Utilization", "utilization": 50}
BASE = {"pending_s": (1, 6), "ready_s": (5, 20), "burst": 0.3, "noise": 0.05,
        "lag_s": (0, 10), "win_ms": 15000, "request": 500, "grace_s": 30, "duration_s": 2700}

SCENARIOS = [
    dict(BASE, name="steps, cpu utilization, no behavior", start=2, policy=policy([CPU50]),
         make_load=lambda rng, d: with_idle(
             steps_load(rng, 500, [0.5, 1, 2, 4, 8, 3], (120, 600), d), 1800, 2250)),
    dict(BASE, name="spikes and noise, the default behavior", start=3, noise=0.25,
         policy=policy([dict(CPU50, utilization=60)], behavior={}),
         make_load=lambda rng, d: with_spikes(
             rng, steps_load(rng, 400, [1, 2, 3, 1.5], (200, 500), d), d, 40, 3)),
    dict(BASE, name="not-ready pods: slow readiness, CPU bursts, flaps", start=2,
         ready_s=(20, 150), burst=1.6, flap_p=0.03, lag_s=(0, 40), win_ms=60000,
         policy=policy([{"type": "Resource", "resource": "cpu", "target": "AverageValue",
                         "value": 300}], mx=30),
         make_load=lambda rng, d: steps_load(rng, 300, [1, 3, 6, 2, 9], (150, 700), d)),
    dict(BASE, name="missing samples, failed fetches, failed and deleting pods, two metrics",
         start=3, missing_p=0.2, fetch_err_p=0.04, fail_p=0.01, grace_s=45,
         policy=policy([dict(CPU50, utilization=150), {"type": "Pods", "name": RUNQ, "target": "AverageValue",
                                "value": 4}], mx=25),
         make_load=lambda rng, d: steps_load(rng, 1500, [0.5, 2, 5, 1, 7], (150, 600), d)),
    dict(BASE, name="behavior policies, selectPolicy Min, per-direction tolerances", start=2,
         noise=0.15,
         policy=policy([CPU50], mx=40, behavior={
             "scaleUp": {"stabilizationWindowSeconds": 30, "selectPolicy": "Min",
                         "policies": [{"type": "Pods", "value": 2, "periodSeconds": 60},
                                      {"type": "Percent", "value": 50, "periodSeconds": 30}],
                         "tolerance": 0.05},
             "scaleDown": {"stabilizationWindowSeconds": 60,
                           "policies": [{"type": "Percent", "value": 20, "periodSeconds": 30},
                                        {"type": "Pods", "value": 1, "periodSeconds": 15}],
                           "tolerance": 0.15}}),
         make_load=lambda rng, d: steps_load(rng, 500, [1, 4, 10, 2, 15, 6], (120, 500), d)),
    dict(BASE, name="scale-down disabled, a target scaled to 0 and above max by hand", start=3,
         manual=[(600, 0), (900, 3), (1500, 30), (2100, 1)],
         policy=policy([CPU50], mn=2, mx=15, behavior={
             "scaleUp": {"selectPolicy": "Max",
                         "policies": [{"type": "Percent", "value": 100, "periodSeconds": 60}]},
             "scaleDown": {"selectPolicy": "Disabled"}}),
         make_load=lambda rng, d: steps_load(rng, 500, [1, 3, 6, 2], (150, 500), d)),
    dict(BASE, name="ContainerResource cpu, memory and network, a 2 min window", start=4,
         mem_request=256 * 2**20 * 1000, missing_p=0.05,
         policy=policy([{"type": "ContainerResource", "resource": "cpu", "name": "app",
                         "target": "Utilization", "utilization": 70},
                        {"type": "Resource", "resource": "memory", "target": "AverageValue",
                         "value": 200 * 2**20 * 1000},
                        {"type": "Pods", "name": RX, "target": "AverageValue",
                         "value": 600 * 1000 * 1000}], mx=30, tolerance=0.05, downscale_s=120),
         make_load=lambda rng, d: steps_load(rng, 600, [0.5, 1, 3, 5, 2], (100, 400), d)),
]

# what the traces must have reached, over all scenarios
REQUIRED = ["SucceededRescale/T", "ScaleDownStabilized/T", "ReadyForNewScale/T",
            "ValidMetricFound/T", "ScalingDisabled/F", "DesiredWithinRange/F",
            "ScaleUpLimit/T", "ScaleDownLimit/T", "TooManyReplicas/T", "TooFewReplicas/T",
            "FailedGetResourceMetric/F"]


def main():
    if len(sys.argv) != 2:
        error("usage: t_autoscale_model.py T_AUTOSCALE_TRACE")
    driver = sys.argv[1]
    base_seed = int(os.environ.get("FERRY_AUTOSCALE_SEED", "18"))
    seen = set()
    passes = ups = downs = 0
    with tempfile.TemporaryDirectory(prefix="ferry-autoscale-") as tmp:
        for i, sc in enumerate(SCENARIOS):
            path = os.path.join(tmp, "trace%d.jsonl" % i)
            want = record(sc, base_seed * 1000 + i, path)
            res = subprocess.run([driver, path], capture_output=True, text=True)
            if res.returncode != 0:
                error("%s: %s exited %d: %s" % (sc["name"], driver, res.returncode,
                                                res.stdout + res.stderr))
            got = res.stdout.splitlines()
            for k, (w, g) in enumerate(zip(want, got)):
                if w != g:
                    fail("%s (seed %d): pass %d differs\n  model: %s\n  C:     %s\n"
                         "  (t desired rescale AbleToScale ScalingActive ScalingLimited)"
                         % (sc["name"], base_seed * 1000 + i, k, w, g))
            if len(want) != len(got):
                fail("%s: %d passes from the model, %d from C" % (sc["name"], len(want),
                                                                  len(got)))
            prev = None
            for line in want:
                f = line.split()
                seen.update(f[3:])
                if f[2] == "1" and prev is not None:
                    ups += int(f[1]) > prev
                    downs += int(f[1]) < prev
                if int(f[1]) >= 0:
                    prev = int(f[1])
            passes += len(want)
            print("%-75s %3d passes agree" % (sc["name"], len(want)), flush=True)
    missing = [r for r in REQUIRED if r not in seen]
    if missing:
        fail("the traces never reached %s: the comparison is too weak" % ", ".join(missing))
    if ups < 10 or downs < 10:
        fail("only %d scale-ups and %d scale-downs in the traces" % (ups, downs))
    print("t_autoscale_model: %d passes, %d scale-ups, %d scale-downs, the same decisions"
          % (passes, ups, downs))


if __name__ == "__main__":
    main()
