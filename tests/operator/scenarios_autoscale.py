# SPDX-License-Identifier: MIT
"""Scenarios of the ScalePolicy reconciler (control/autoscale) in `ferry controller`,
run by tests/operator/t_controller.py under the ferry-controller service account
with the manifests as shipped, then again without each of the ClusterRole's rules
(least privilege: each rule used here is needed here).

The scenario scales on the path that needs no per-pod signal (a target below
minReplicas: upstream's "Current number of replicas below Spec.MinReplicas"),
so it holds the reconciler and its rights without the agents; the signals
themselves are tests/autoscale/'s. What it checks, as the HPA does it
(kubernetes pkg/controller/podautoscaler/horizontal.go, CONTROLPLANE.md §8):
- the policy's target is scaled to minReplicas by server-side apply
  (field manager ferry-autoscale, DESIGN.md "Ownership"), within seconds;
- the ScalePolicy's status: desiredReplicas, lastScaleTime, AbleToScale True
  SucceededRescale; an Event SuccessfulRescale "New size: 2; reason: ...";
- a ScalePolicy created while the controller runs is picked up (the watch);
  its target, scaled by a HorizontalPodAutoscaler too, is refused: AbleToScale
  False ScaledByAnother naming the HPA, and its replicas are left alone;
- a deleted ScalePolicy is forgotten and the process stops cleanly.
"""
import random
import string
import time

from scenarios_controller import LEASE, wait_until

API = "/apis/ferry.io/v1alpha1"


def _ns(env):
    name = "as-" + "".join(random.choice(string.ascii_lowercase) for _ in range(6))
    code, _, body = env.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                                          "metadata": {"name": name}})
    if code != 201:
        raise RuntimeError(f"namespace {name}: {code} {body}")
    return name


def _deployment(env, ns, name, replicas):
    labels = {"app": name}
    body = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "web", "image": "ferry.io/ferry:0.1.0",
                                                           "resources": {"requests": {"cpu": "100m"}}}]}}}}
    code, _, out = env.admin.post(f"/apis/apps/v1/namespaces/{ns}/deployments", body)
    if code != 201:
        raise RuntimeError(f"deployment {ns}/{name}: {code} {out}")


def _policy(env, ns, name, target, lo, hi):
    body = {"apiVersion": "ferry.io/v1alpha1", "kind": "ScalePolicy", "metadata": {"name": name},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": target},
                     "minReplicas": lo, "maxReplicas": hi,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}]}}
    code, _, out = env.admin.post(f"{API}/namespaces/{ns}/scalepolicies", body)
    if code != 201:
        raise RuntimeError(f"scalepolicy {ns}/{name}: {code} {out}")


def _get(env, path):
    code, _, body = env.admin.get(path)
    return body if code == 200 else None


def _replicas(env, ns, name):
    d = _get(env, f"/apis/apps/v1/namespaces/{ns}/deployments/{name}")
    return (d or {}).get("spec", {}).get("replicas")


def _cond(sp, ctype):
    for c in ((sp or {}).get("status") or {}).get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def scenario_autoscale(env, r):
    """A ScalePolicy scales its Deployment up to minReplicas; one whose target an HPA
    scales is refused with ScaledByAnother; a deleted one is forgotten."""
    env.delete_lease()
    ns = _ns(env)
    _deployment(env, ns, "web", 1)
    _deployment(env, ns, "other", 1)
    code, _, out = env.admin.post(f"/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "other-hpa"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "other"},
                 "minReplicas": 1, "maxReplicas": 3}})
    if not r.check("the HPA is created", code == 201, (code, out)):
        return
    _policy(env, ns, "web", "web", 2, 4)
    a = env.controller("as-a")
    if not r.check("the controller leads", a.wait_line(r"as-a: leading .*; \d+ reconcilers?\b", LEASE), a.text()):
        return
    t0 = time.time()
    # the first pass runs once the informer listed the ScalePolicy; a failed run (the
    # least-privilege proof takes a right away) ends here rather than waiting on the rest
    up = wait_until(lambda: _replicas(env, ns, "web") == 2, 5, alive=a)
    r.figures["scaled_to_min_s"] = round(time.time() - t0, 2)
    if not r.check("the Deployment below minReplicas is scaled to 2 within 5 s", up,
                   (_replicas(env, ns, "web"), a.text()[-600:])):
        return
    dep = _get(env, f"/apis/apps/v1/namespaces/{ns}/deployments/web") or {}
    owners = [(m.get("manager"), m.get("operation")) for m in dep.get("metadata", {}).get("managedFields") or []
              if "f:replicas" in (m.get("fieldsV1", {}).get("f:spec") or {})]
    r.check("spec.replicas is applied by field manager ferry-autoscale (DESIGN.md Ownership)",
            ("ferry-autoscale", "Apply") in owners, owners)

    def scaled_status():
        sp = _get(env, f"{API}/namespaces/{ns}/scalepolicies/web")
        return sp if (sp or {}).get("status", {}).get("desiredReplicas") == 2 else None
    sp = wait_until(scaled_status, 5, alive=a)
    if r.check("the ScalePolicy's status: desiredReplicas 2", sp,
               _get(env, f"{API}/namespaces/{ns}/scalepolicies/web")):
        st = sp["status"]
        r.check("the status has lastScaleTime", st.get("lastScaleTime"), st)
        r.check("lastDecision: 1 -> 2, applied, with the HPA's reason",
                st.get("lastDecision", {}).get("applied") is True and
                (st["lastDecision"].get("currentReplicas"), st["lastDecision"].get("desiredReplicas"),
                 st["lastDecision"].get("reason")) ==
                (1, 2, "Current number of replicas below Spec.MinReplicas"), st.get("lastDecision"))
        # the pass that scaled says SucceededRescale; the next ones SucceededGetScale
        c = _cond(sp, "AbleToScale") or {}
        r.check("AbleToScale True (SucceededRescale, then SucceededGetScale)", c.get("status") == "True" and
                c.get("reason") in ("SucceededRescale", "SucceededGetScale"), c)

    def rescale_event():
        for e in env.events(ns):
            if e.get("reason") == "SuccessfulRescale":
                return e
        return None
    ev = wait_until(rescale_event, 5, alive=a)
    if r.check("an Event SuccessfulRescale on the ScalePolicy", ev, env.events(ns)):
        r.check("its note is the HPA's wording",
                ev.get("note") == "New size: 2; reason: Current number of replicas below Spec.MinReplicas",
                ev.get("note"))
        r.check("it is about the ScalePolicy", ev.get("regarding", {}).get("kind") == "ScalePolicy" and
                ev.get("regarding", {}).get("name") == "web", ev.get("regarding"))

    # created while the controller runs (seen through the watch), on a target an HPA scales
    _policy(env, ns, "other", "other", 2, 4)

    def refused():
        sp = _get(env, f"{API}/namespaces/{ns}/scalepolicies/other")
        c = _cond(sp, "AbleToScale")
        return c if c and c.get("reason") == "ScaledByAnother" else None
    c = wait_until(refused, 5, alive=a)
    if r.check("a target an HPA scales: AbleToScale False ScaledByAnother", c,
               _get(env, f"{API}/namespaces/{ns}/scalepolicies/other")):
        r.check("the condition is False and names the HPA",
                c.get("status") == "False" and "other-hpa" in c.get("message", ""), c)
    r.check("the HPA's target is left at 1 replica", _replicas(env, ns, "other") == 1,
            _replicas(env, ns, "other"))

    code, _, _ = env.admin.delete(f"{API}/namespaces/{ns}/scalepolicies/web")
    r.check("the ScalePolicy is deleted", code == 200, code)
    time.sleep(1.5)
    r.check("the controller runs on after a deletion", a.p.poll() is None, a.text()[-400:])
    a.signal(15)
    r.check("SIGTERM: exit 0", a.wait(30) == 0, a.text()[-400:])
    env.admin.delete(f"/api/v1/namespaces/{ns}")


SCENARIOS = [
    ("autoscale-minreplicas", scenario_autoscale),
]
