# SPDX-License-Identifier: MIT
"""kboxd.sched: the box's kube-scheduler: pending pods onto nodes, by the default plugins' rules.

For each pod without spec.nodeName whose schedulerName is default-scheduler,
oldest first:
- Filter (each node must pass all, in the default profile's order; the
  first that fails is the node's reason): NodeUnschedulable
  (spec.unschedulable unless tolerated), NodeName, TaintToleration
  (NoSchedule and NoExecute taints must be tolerated), NodeAffinity
  (nodeSelector and requiredDuringSchedulingIgnoredDuringExecution:
  matchExpressions In, NotIn, Exists, DoesNotExist, Gt, Lt on labels;
  matchFields metadata.name), NodePorts (hostPort conflicts),
  NodeResourcesFit (cpu, memory and pod count requested by the node's
  non-terminal pods plus this one within allocatable; requests default to
  limits), then every function in EXTRA_FILTERS;
- Score (0-100 per plugin, weighted as the default profile weighs them):
  NodeAffinity preferred terms (2), TaintToleration: PreferNoSchedule taints
  not tolerated (3), PodTopologySpread's system defaults: fewer pods of the
  same owner on the node and in its zone (2), NodeResourcesFit
  LeastAllocated (1); ties broken at random, as the scheduler does;
- PreBind: every function in PRE_BIND (may refuse), then Bind through
  pods/NAME/binding (spec.nodeName, condition PodScheduled) and the
  `Scheduled` event "Successfully assigned NS/POD to NODE".
A pod no node fits gets PodScheduled=False, reason Unschedulable and the
scheduler's message ("0/3 nodes are available: 1 node(s) had untolerated
taint {dedicated: infra}, 2 Insufficient cpu. preemption: ..."), and a
FailedScheduling event; it is retried when pods or nodes change.

Storage (issue 14) plugs in here: EXTRA_FILTERS gets the VolumeBinding
(unbound WaitForFirstConsumer claims, PV node affinity), VolumeZone and
NodeVolumeLimits (CSINode allocatable.count) checks as
fn(ctx, pod, node) -> None or a reason string ("node(s) exceed max volume
count"); PRE_BIND gets the step that writes volume.kubernetes.io/selected-node
on the pod's WaitForFirstConsumer claims, fn(ctx, pod, node) -> None or a
reason to retry later, or WAIT to retry without a FailedScheduling event (the real
scheduler's binding cycle waits for the claims to bind). ctx is the Scheduler.
"""
import random
import time

from . import ctrl
from .util import ApiError, deepcopy, now_time
from .volumes import parse_quantity

EXTRA_FILTERS = []
PRE_BIND = []
WAIT = "(waiting in PreBind)"  # a PRE_BIND answer: not yet (volumes binding), retry quietly next pass
BIND_TIMEOUT_S = 600  # the VolumeBinding plugin's bindTimeoutSeconds: how long a pod is held there


def _labels(node):
    return node["metadata"].get("labels") or {}


def match_expr(e, labels):
    k, op, vals = e.get("key"), e.get("operator"), e.get("values") or []
    has = k in labels
    v = labels.get(k)
    if op == "In":
        return has and v in vals
    if op == "NotIn":
        return not has or v not in vals
    if op == "Exists":
        return has
    if op == "DoesNotExist":
        return not has
    if op in ("Gt", "Lt"):
        try:
            a, b = int(v), int(vals[0])
        except (TypeError, ValueError, IndexError):
            return False
        return a > b if op == "Gt" else a < b
    return False


def match_term(term, node):
    """One NodeSelectorTerm: all of its expressions and fields (an empty term matches nothing)."""
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False
    labels = _labels(node)
    if not all(match_expr(e, labels) for e in exprs):
        return False
    return all(match_expr(f, {"metadata.name": node["metadata"]["name"]}) for f in fields)


def affinity_ok(pod, node):
    spec = pod.get("spec") or {}
    labels = _labels(node)
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = req.get("nodeSelectorTerms")
    if terms is not None:
        return any(match_term(t, node) for t in terms)
    return True


def tolerates(tols, taint):
    for t in tols or []:
        if t.get("effect") and t.get("effect") != taint.get("effect"):
            continue
        op = t.get("operator") or "Equal"
        if not t.get("key"):
            if op == "Exists":
                return True
            continue
        if t.get("key") != taint.get("key"):
            continue
        if op == "Exists" or t.get("value", "") == taint.get("value", ""):
            return True
    return False


def untolerated(pod, node, effects=("NoSchedule", "NoExecute")):
    tols = (pod.get("spec") or {}).get("tolerations") or []
    taints = list((node.get("spec") or {}).get("taints") or [])
    if (node.get("spec") or {}).get("unschedulable"):
        taints.append({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"})
    for t in taints:
        if t.get("effect") in effects and not tolerates(tols, t):
            return t
    return None


def pod_requests(pod):
    cpu = mem = 0.0
    spec = pod.get("spec") or {}
    for c in spec.get("containers") or []:
        r = c.get("resources") or {}
        req = dict(r.get("limits") or {}, **(r.get("requests") or {}))
        cpu += parse_quantity(req.get("cpu", 0))
        mem += parse_quantity(req.get("memory", 0))
    for c in spec.get("initContainers") or []:  # the largest init container, if larger
        r = c.get("resources") or {}
        req = dict(r.get("limits") or {}, **(r.get("requests") or {}))
        cpu = max(cpu, parse_quantity(req.get("cpu", 0)))
        mem = max(mem, parse_quantity(req.get("memory", 0)))
    return cpu, mem


def host_ports(pod):
    out = set()
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.add((p.get("protocol", "TCP"), p["hostPort"]))
    return out


def taint_text(t):
    return "{" + t.get("key", "") + (": " + t["value"] if t.get("value") else "") + "}"


def count(usage, placed, pod, node):
    """@pod, on @node, counted in the node's @usage (cpu, memory, pods, host ports) and in
    @placed (its controller's pods' nodes, for spreading)."""
    c, m = pod_requests(pod)
    u = usage[node]
    u[0] += c
    u[1] += m
    u[2] += 1
    u[3] |= host_ports(pod)
    ref = ctrl.controller_of(pod)
    if ref:
        placed.setdefault(ref.get("uid"), []).append(node)


class Scheduler(ctrl.Controller):
    kinds = (("", "pods"), ("", "nodes"))
    agent = "kube-scheduler/v1.32.3 (linux/amd64) kubernetes/kbox/scheduler"
    name_ = "scheduler"
    period = 2.0

    def __init__(self, box):
        super().__init__(box)
        self.reported = {}
        # pods held in PreBind (their claims binding) -> (the node, since when): the real
        # scheduler's binding cycle keeps a pod on its node for up to bindTimeoutSeconds (600 s)
        # while it waits, without filtering again (a node NotReady for a moment, a volume count),
        # so a populator or provisioner working for the selected node is never outrun by a new
        # choice; only the PreBind's own checks (the bound PV's affinity) can send it elsewhere
        self.held = {}

    def pass_once(self):
        pods = self.objs("", "pods")
        pending = [p for p in pods if not (p.get("spec") or {}).get("nodeName") and ctrl.active(p)
                   and (p.get("spec") or {}).get("schedulerName", "default-scheduler") == "default-scheduler"]
        live = {p["metadata"].get("uid") for p in pending}
        self.held = {u: n for u, n in self.held.items() if u in live}
        if not pending:
            return
        nodes = self.objs("", "nodes")
        usage = {n["metadata"]["name"]: [0.0, 0.0, 0, set()] for n in nodes}
        placed = {}
        for p in pods:
            nn = (p.get("spec") or {}).get("nodeName")
            if nn in usage and ctrl.active(p):
                count(usage, placed, p, nn)
        zone = {n["metadata"]["name"]: _labels(n).get("topology.kubernetes.io/zone", "") for n in nodes}
        pending.sort(key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"]))
        for pod in pending:
            uid = pod["metadata"].get("uid")
            hold = self.held.get(uid)
            if hold and time.time() - hold[1] < BIND_TIMEOUT_S:
                best = next((n for n in nodes if n["metadata"]["name"] == hold[0]), None)
                if best is not None:
                    self.place(pod, best, usage, placed, len(nodes))
                    continue
            self.held.pop(uid, None)
            ok, reasons = [], {}
            for n in nodes:
                why = self.filter(pod, n, usage[n["metadata"]["name"]])
                if why is None:
                    ok.append(n)
                else:
                    reasons[why] = reasons.get(why, 0) + 1
            if not ok:
                self.unschedulable(pod, len(nodes), reasons)
                continue
            self.place(pod, self.score(pod, ok, usage, placed, zone), usage, placed, len(nodes))

    def place(self, pod, best, usage, placed, nodes_n):
        """The binding cycle of @pod on node @best: PreBind (held there while it waits), then the
        bind."""
        uid = pod["metadata"].get("uid")
        node = best["metadata"]["name"]
        why = None
        for fn in PRE_BIND:
            why = fn(self, pod, best)
            if why:
                break
        if why is WAIT:
            self.held.setdefault(uid, (node, time.time()))
            return
        self.held.pop(uid, None)
        if why:
            self.unschedulable(pod, nodes_n, {why: 1})
            return
        if self.bind(pod, node):
            count(usage, placed, pod, node)

    def filter(self, pod, node, use):
        spec = node.get("spec") or {}
        if spec.get("unschedulable") and not tolerates((pod.get("spec") or {}).get("tolerations"),
                                                       {"key": "node.kubernetes.io/unschedulable",
                                                        "effect": "NoSchedule"}):
            return "node(s) were unschedulable"
        # the default profile's filter order, the first failure names the node's reason
        # (framework.RunFilterPlugins): TaintToleration, NodeAffinity, NodePorts, NodeResourcesFit
        t = untolerated(pod, node)
        if t is not None:
            return f"node(s) had untolerated taint {taint_text(t)}"
        if not affinity_ok(pod, node):
            return "node(s) didn't match Pod's node affinity/selector"
        if host_ports(pod) & use[3]:
            return "node(s) didn't have free ports for the requested pod ports"
        alloc = (node.get("status") or {}).get("allocatable") or {}
        cpu, mem = pod_requests(pod)
        if use[2] + 1 > int(parse_quantity(alloc.get("pods", 110))):
            return "Too many pods"
        if cpu and use[0] + cpu > parse_quantity(alloc.get("cpu", 0)) + 1e-9:
            return "Insufficient cpu"
        if mem and use[1] + mem > parse_quantity(alloc.get("memory", 0)):
            return "Insufficient memory"
        for fn in EXTRA_FILTERS:
            why = fn(self, pod, node)
            if why:
                return why
        return None

    def score(self, pod, nodes, usage, placed, zone):
        spec = pod.get("spec") or {}
        pref = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
        ref = ctrl.controller_of(pod)
        mine = placed.get(ref.get("uid"), []) if ref else []

        def norm(vals, reverse=False):
            mx = max(vals.values()) if vals else 0
            if mx <= 0:
                return {k: (100 if reverse else 0) for k in vals}
            return {k: (100 - 100 * v / mx if reverse else 100 * v / mx) for k, v in vals.items()}
        names = [n["metadata"]["name"] for n in nodes]
        aff = {n["metadata"]["name"]: sum(t.get("weight", 0) for t in pref
                                          if match_term(t.get("preference") or {}, n)) for n in nodes}
        taint = {n["metadata"]["name"]: sum(1 for t in (n.get("spec") or {}).get("taints") or []
                                            if t.get("effect") == "PreferNoSchedule"
                                            and not tolerates(spec.get("tolerations"), t)) for n in nodes}
        spread = {nm: mine.count(nm) * 2 + sum(1 for x in mine if zone.get(x) == zone.get(nm)) for nm in names}
        free = {}
        for n in nodes:
            nm = n["metadata"]["name"]
            alloc = (n.get("status") or {}).get("allocatable") or {}
            c, m = pod_requests(pod)
            ac, am = parse_quantity(alloc.get("cpu", 1)) or 1, parse_quantity(alloc.get("memory", 1)) or 1
            free[nm] = ((ac - usage[nm][0] - c) / ac + (am - usage[nm][1] - m) / am) * 50
        a, t, s = norm(aff), norm(taint, True), norm(spread, True)
        total = {nm: 2 * a[nm] + 3 * t[nm] + 2 * s[nm] + free[nm] for nm in names}
        best = max(total.values())
        cands = [n for n in nodes if total[n["metadata"]["name"]] >= best - 1e-6]
        return random.choice(cands)

    def bind(self, pod, node):
        m = pod["metadata"]
        r = self._req("", "v1", "pods", m["namespace"], m["name"], "POST",
                      {"apiVersion": "v1", "kind": "Binding", "metadata": {"name": m["name"], "uid": m["uid"]},
                       "target": {"apiVersion": "v1", "kind": "Node", "name": node}}, "binding")
        try:
            self.api.create(r)
        except ApiError as e:
            if e.code in (404, 409):
                return False
            raise
        self.reported.pop(m["uid"], None)
        self.event(pod, "Normal", "Scheduled", f"Successfully assigned {m['namespace']}/{m['name']} to {node}",
                   component="default-scheduler")
        return True

    def unschedulable(self, pod, n, reasons):
        m = pod["metadata"]
        parts = sorted(f"{c} {r}" for r, c in reasons.items())
        msg = (f"0/{n} nodes are available: " + ", ".join(parts) + ". preemption: 0/{n} nodes are available: "
               f"{n} Preemption is not helpful for scheduling.".replace("{n}", str(n)))
        if self.reported.get(m["uid"]) == msg:
            return
        self.reported[m["uid"]] = msg
        cur = self.store.get(("", "pods", m["namespace"], m["name"]))
        if cur is None or cur["metadata"]["uid"] != m["uid"]:
            return
        new = deepcopy(cur)
        st = new.setdefault("status", {})
        conds = [c for c in st.get("conditions") or [] if c.get("type") != "PodScheduled"]
        conds.append({"type": "PodScheduled", "status": "False", "lastProbeTime": None,
                      "lastTransitionTime": now_time(), "reason": "Unschedulable", "message": msg})
        st["conditions"] = conds
        self.update("", "v1", "pods", new, "status")
        self.event(pod, "Warning", "FailedScheduling", msg, component="default-scheduler")


def run_on(pod, node):
    """Whether the scheduler's node filters (bar resources) let pod run on node: the DaemonSet
    controller's nodeShouldRunDaemonPod."""
    return affinity_ok(pod, node) and untolerated(pod, node) is None

