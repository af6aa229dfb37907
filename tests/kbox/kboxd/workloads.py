# SPDX-License-Identifier: MIT
"""kboxd.workloads: the workload controllers of kube-controller-manager, level-triggered.

ReplicaSet (pkg/controller/replicaset): keeps spec.replicas active pods that
match its selector and have it as controller; adopts matching orphans and
releases pods that stop matching; deletes surplus pods in the upstream order
(unscheduled, then pending, then not ready, then more restarts, then newer
first); status replicas, fullyLabeledReplicas, readyReplicas,
availableReplicas (minReadySeconds), observedGeneration.

Deployment (pkg/controller/deployment): one ReplicaSet per pod template,
named <deployment>-<pod-template-hash>, the hash added to its selector and
template labels; revisions in deployment.kubernetes.io/revision;
RollingUpdate by maxSurge (rounded up) and maxUnavailable (rounded down; 1
when both are 0) as reconcileNewReplicaSet / reconcileOldReplicaSets compute
them; Recreate (old ReplicaSets to 0, their pods gone, then the new one);
paused; revisionHistoryLimit; status and the Available / Progressing
conditions with the upstream reasons (MinimumReplicasAvailable,
NewReplicaSetCreated, ReplicaSetUpdated, NewReplicaSetAvailable,
ProgressDeadlineExceeded), so `kubectl rollout status` works.

StatefulSet (pkg/controller/statefulset): pods <name>-<ordinal> with
hostname and subdomain, labels statefulset.kubernetes.io/pod-name,
apps.kubernetes.io/pod-index and controller-revision-hash; OrderedReady
(create ordinal i only when 0..i-1 are Running and Ready, remove the highest
first, one at a time) or Parallel; failed pods replaced; RollingUpdate from
the highest ordinal down to the partition, one pod at a time; ControllerRevisions;
volumeClaimTemplates become PVCs <template>-<name>-<ordinal> referenced by
the pod (CLAIMS_HOOK lets the storage driver take over their creation:
issue 14).

DaemonSet (pkg/controller/daemon): one pod per node that the pod may run on
(nodeSelector, node affinity, NoSchedule/NoExecute taints against its
tolerations plus the ones the controller adds), pinned by node affinity
`matchFields metadata.name In [node]` and placed by the scheduler;
RollingUpdate with maxUnavailable; status counts.

The pod-template-hash and controller-revision-hash values are FNV-32a of
canonical JSON (ctrl.template_hash), not of Go's printed struct: equal
templates get equal hashes, but the strings differ from a real cluster's.
"""
import math
import time

from . import ctrl, sched, selectors
from .util import deepcopy, now_time, parse_time

CLAIMS_HOOK = None  # fn(ctl, sts, ordinal, claim_name, template) -> None: storage makes the PVC


def int_or_percent(v, total, round_up):
    if v is None:
        return 0
    if isinstance(v, int):
        return v
    s = str(v)
    if s.endswith("%"):
        x = int(s[:-1]) * total / 100.0
        return int(math.ceil(x)) if round_up else int(math.floor(x))
    return int(s)


def sel_match(sel, labels):
    return selectors.match_selector_object(sel, labels or {})


def restarts(pod):
    return sum(c.get("restartCount", 0) for c in (pod.get("status") or {}).get("containerStatuses") or [])


def strip_hash(template, key):
    t = deepcopy(template)
    labels = (t.get("metadata") or {}).get("labels") or {}
    labels.pop(key, None)
    return t


def _set_cond(status, ctype, st, reason, msg, keep_transition=True):
    conds = status.setdefault("conditions", [])
    now = now_time()
    for c in conds:
        if c.get("type") == ctype:
            if c.get("status") != st:
                c["lastTransitionTime"] = now
            if c.get("reason") != reason or c.get("message") != msg or c.get("status") != st:
                c["lastUpdateTime"] = now
            c.update(status=st, reason=reason, message=msg)
            return
    conds.append({"type": ctype, "status": st, "lastUpdateTime": now, "lastTransitionTime": now,
                  "reason": reason, "message": msg})


class ReplicaSets(ctrl.Controller):
    kinds = (("apps", "replicasets"), ("", "pods"))
    name_ = "replicaset-controller"

    def pass_once(self):
        pods = self.objs("", "pods")
        by_ns = {}
        for p in pods:
            by_ns.setdefault(p["metadata"]["namespace"], []).append(p)
        for rs in self.objs("apps", "replicasets"):
            self.sync(rs, by_ns.get(rs["metadata"]["namespace"], []))

    def sync(self, rs, pods):
        m = rs["metadata"]
        spec = rs.get("spec") or {}
        sel = spec.get("selector") or {}
        uid = m["uid"]
        owned = []
        for p in pods:
            ref = ctrl.controller_of(p)
            match = sel_match(sel, p["metadata"].get("labels"))
            if ref is None and match and ctrl.active(p) and not ctrl.terminating(rs):
                new = deepcopy(p)  # adopt
                new["metadata"].setdefault("ownerReferences", []).append(ctrl.owner_ref(rs, "ReplicaSet"))
                if self.update("", "v1", "pods", new):
                    owned.append(new)
                continue
            if ref is not None and ref.get("uid") == uid:
                if not match:  # release
                    new = deepcopy(p)
                    new["metadata"]["ownerReferences"] = [r for r in new["metadata"]["ownerReferences"]
                                                          if r.get("uid") != uid]
                    self.update("", "v1", "pods", new)
                    continue
                owned.append(p)
        act = [p for p in owned if ctrl.active(p)]
        want = spec.get("replicas", 1)
        if not ctrl.terminating(rs):
            if len(act) < want:
                for _ in range(want - len(act)):
                    self.create_pod(rs)
            elif len(act) > want:
                def rank(p):
                    st = p.get("status") or {}
                    phase = {"Pending": 0, "Unknown": 1, "Running": 2}.get(st.get("phase"), 0)
                    return (bool((p.get("spec") or {}).get("nodeName")), phase, ctrl.is_ready(p), -restarts(p),
                            [-ord(c) for c in p["metadata"].get("creationTimestamp", "")])
                for p in sorted(act, key=rank)[:len(act) - want]:
                    self.delete("", "v1", "pods", p)
                    self.event(rs, "Normal", "SuccessfulDelete", f"Deleted pod: {p['metadata']['name']}")
        min_ready = spec.get("minReadySeconds", 0)
        tl = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
        status = {"replicas": len(act),
                  "fullyLabeledReplicas": sum(1 for p in act if all((p["metadata"].get("labels") or {}).get(k) == v
                                                                    for k, v in tl.items())),
                  "readyReplicas": sum(1 for p in act if ctrl.is_ready(p)),
                  "availableReplicas": sum(1 for p in act if ctrl.is_available(p, min_ready)),
                  "observedGeneration": m.get("generation", 1)}
        for k in ("readyReplicas", "availableReplicas", "fullyLabeledReplicas"):
            if not status[k]:
                del status[k]
        if status != rs.get("status"):
            new = deepcopy(rs)
            new["status"] = status
            self.update("apps", "v1", "replicasets", new, "status")
        if min_ready and any(ctrl.is_ready(p) and not ctrl.is_available(p, min_ready) for p in act):
            self.wake.set()  # count them available when minReadySeconds has passed

    def create_pod(self, owner, kind="ReplicaSet", name_prefix=None, extra_labels=None, spec_fn=None):
        t = deepcopy((owner.get("spec") or {}).get("template") or {})
        meta = t.get("metadata") or {}
        labels = dict(meta.get("labels") or {}, **(extra_labels or {}))
        pmeta = {"generateName": (name_prefix or owner["metadata"]["name"]) + "-",
                 "namespace": owner["metadata"]["namespace"], "labels": labels,
                 "ownerReferences": [ctrl.owner_ref(owner, kind)]}
        if meta.get("annotations"):
            pmeta["annotations"] = meta["annotations"]
        pod = {"apiVersion": "v1", "kind": "Pod", "metadata": pmeta, "spec": t.get("spec") or {}}
        if spec_fn:
            spec_fn(pod)
        created = self.create("", "v1", "pods", owner["metadata"]["namespace"], pod)
        if created is not None:
            self.event(owner, "Normal", "SuccessfulCreate", f"Created pod: {created['metadata']['name']}")
        return created


class Deployments(ctrl.Controller):
    kinds = (("apps", "deployments"), ("apps", "replicasets"), ("", "pods"))
    name_ = "deployment-controller"

    def pass_once(self):
        rss = self.objs("apps", "replicasets")
        for d in self.objs("apps", "deployments"):
            if ctrl.terminating(d):
                continue
            uid = d["metadata"]["uid"]
            mine = [r for r in rss if r["metadata"]["namespace"] == d["metadata"]["namespace"]
                    and (ctrl.controller_of(r) or {}).get("uid") == uid]
            self.sync(d, mine)

    def sync(self, d, rss):
        spec = d.get("spec") or {}
        want = spec.get("replicas", 1)
        tmpl = spec.get("template") or {}
        h = ctrl.template_hash(tmpl, (d.get("status") or {}).get("collisionCount", 0))
        new = None
        for r in rss:
            if strip_hash((r.get("spec") or {}).get("template") or {}, "pod-template-hash") == tmpl:
                new = r
        olds = sorted([r for r in rss if r is not new], key=lambda r: r["metadata"].get("creationTimestamp", ""))

        def rev(r):
            try:
                return int((r["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision", "0"))
            except ValueError:
                return 0
        max_rev = max([rev(r) for r in olds] or [0])
        strategy = (spec.get("strategy") or {}).get("type", "RollingUpdate")
        ru = (spec.get("strategy") or {}).get("rollingUpdate") or {}
        surge = int_or_percent(ru.get("maxSurge", "25%"), want, True) if strategy == "RollingUpdate" else 0
        unavail = int_or_percent(ru.get("maxUnavailable", "25%"), want, False) if strategy == "RollingUpdate" else 0
        if strategy == "RollingUpdate" and surge == 0 and unavail == 0:
            unavail = 1
        created = False
        if new is None and not spec.get("paused"):
            new = self.create_rs(d, tmpl, h, max_rev + 1, want, surge, olds, strategy)
            created = new is not None
            if new is None:
                return
        if spec.get("paused"):
            self.status(d, new, olds, want, unavail, created)
            return
        if new is not None and rev(new) <= max_rev:  # an old template came back: it is the newest again
            n2 = deepcopy(new)
            n2["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(max_rev + 1)
            new = self.update("apps", "v1", "replicasets", n2) or new
        old_total = sum((r.get("spec") or {}).get("replicas", 0) for r in olds)
        if strategy == "Recreate":
            for r in olds:
                if (r.get("spec") or {}).get("replicas", 0):
                    self.scale(d, r, 0)
            old_pods = sum((r.get("status") or {}).get("replicas", 0) for r in olds)
            if old_total == 0 and old_pods == 0 and new["spec"].get("replicas", 0) != want:
                new = self.scale(d, new, want) or new
        else:
            cur_new = (new.get("spec") or {}).get("replicas", 0)
            if not olds or old_total == 0:
                if cur_new != want:
                    new = self.scale(d, new, want) or new
            else:
                # reconcileNewReplicaSet
                if cur_new > want:
                    new = self.scale(d, new, want) or new
                elif cur_new < want:
                    total = cur_new + old_total
                    up = min(want + surge - total, want - cur_new)
                    if up > 0:
                        new = self.scale(d, new, cur_new + up) or new
                # reconcileOldReplicaSets
                all_total = (new.get("spec") or {}).get("replicas", 0) + old_total
                min_avail = want - unavail
                new_unavail = (new.get("spec") or {}).get("replicas", 0) - \
                    (new.get("status") or {}).get("availableReplicas", 0)
                max_down = all_total - min_avail - new_unavail
                if max_down > 0:
                    # first the old replicas that are not available (cleanupUnhealthyReplicas)
                    for r in olds:
                        rr = (r.get("spec") or {}).get("replicas", 0)
                        bad = rr - (r.get("status") or {}).get("availableReplicas", 0)
                        if max_down <= 0 or rr == 0 or bad <= 0:
                            continue
                        down = min(bad, max_down)
                        self.scale(d, r, rr - down)
                        max_down -= down
                        r["spec"]["replicas"] = rr - down
                    avail = sum((r.get("status") or {}).get("availableReplicas", 0) for r in olds) + \
                        (new.get("status") or {}).get("availableReplicas", 0)
                    total_down = min(max_down, avail - min_avail)
                    for r in olds:
                        rr = (r.get("spec") or {}).get("replicas", 0)
                        if total_down <= 0 or rr == 0:
                            continue
                        down = min(rr, total_down)
                        self.scale(d, r, rr - down)
                        total_down -= down
        self.cleanup(d, olds)
        self.status(d, new, olds, want, unavail, created)

    def create_rs(self, d, tmpl, h, revision, want, surge, olds, strategy):
        m = d["metadata"]
        t = deepcopy(tmpl)
        t.setdefault("metadata", {}).setdefault("labels", {})["pod-template-hash"] = h
        sel = deepcopy((d.get("spec") or {}).get("selector") or {})
        sel.setdefault("matchLabels", {})["pod-template-hash"] = h
        old_total = sum((r.get("spec") or {}).get("replicas", 0) for r in olds)
        if strategy == "Recreate" or old_total == 0:
            replicas = want if not old_total else 0
        else:
            replicas = max(0, min(want, want + surge - old_total))
        ann = {"deployment.kubernetes.io/revision": str(revision),
               "deployment.kubernetes.io/desired-replicas": str(want),
               "deployment.kubernetes.io/max-replicas": str(want + surge)}
        rs = {"apiVersion": "apps/v1", "kind": "ReplicaSet",
              "metadata": {"name": f"{m['name']}-{h}", "namespace": m["namespace"],
                           "labels": dict(t["metadata"]["labels"]), "annotations": ann,
                           "ownerReferences": [ctrl.owner_ref(d, "Deployment")]},
              "spec": {"replicas": replicas, "minReadySeconds": (d.get("spec") or {}).get("minReadySeconds", 0),
                       "selector": sel, "template": t}}
        out = self.create("apps", "v1", "replicasets", m["namespace"], rs)
        if out is not None:
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled up replica set {out['metadata']['name']} from 0 to {replicas}")
            nd = deepcopy(self.store.get(("apps", "deployments", m["namespace"], m["name"])) or d)
            if (nd["metadata"].get("annotations") or {}).get("deployment.kubernetes.io/revision") != str(revision):
                nd["metadata"].setdefault("annotations", {})["deployment.kubernetes.io/revision"] = str(revision)
                self.update("apps", "v1", "deployments", nd)
        return out

    def scale(self, d, rs, n):
        cur = self.store.get(("apps", "replicasets", rs["metadata"]["namespace"], rs["metadata"]["name"]))
        if cur is None:
            return None
        old = (cur.get("spec") or {}).get("replicas", 0)
        if old == n:
            return cur
        new = deepcopy(cur)
        new["spec"]["replicas"] = n
        ann = new["metadata"].setdefault("annotations", {})
        want = (d.get("spec") or {}).get("replicas", 1)
        ann["deployment.kubernetes.io/desired-replicas"] = str(want)
        out = self.update("apps", "v1", "replicasets", new)
        if out is not None:
            self.event(d, "Normal", "ScalingReplicaSet",
                       f"Scaled {'up' if n > old else 'down'} replica set {rs['metadata']['name']} from {old} to {n}")
        return out

    def cleanup(self, d, olds):
        limit = (d.get("spec") or {}).get("revisionHistoryLimit", 10)
        dead = [r for r in olds if (r.get("spec") or {}).get("replicas", 0) == 0
                and (r.get("status") or {}).get("replicas", 0) == 0 and not ctrl.terminating(r)]
        for r in dead[:max(0, len(dead) - limit)]:
            self.delete("apps", "v1", "replicasets", r)

    def status(self, d, new, olds, want, unavail, created):
        allrs = ([new] if new else []) + olds
        st = dict(d.get("status") or {})
        prev = deepcopy(st)
        replicas = sum((r.get("status") or {}).get("replicas", 0) for r in allrs)
        updated = (new.get("status") or {}).get("replicas", 0) if new else 0
        ready = sum((r.get("status") or {}).get("readyReplicas", 0) for r in allrs)
        avail = sum((r.get("status") or {}).get("availableReplicas", 0) for r in allrs)
        spec_total = sum((r.get("spec") or {}).get("replicas", 0) for r in allrs)
        st.update(observedGeneration=d["metadata"].get("generation", 1), replicas=replicas, updatedReplicas=updated,
                  readyReplicas=ready, availableReplicas=avail, unavailableReplicas=max(0, spec_total - avail))
        for k in ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas", "unavailableReplicas"):
            if not st[k]:
                del st[k]
        if avail >= want - unavail:
            _set_cond(st, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability.")
        else:
            _set_cond(st, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.")
        if new is not None:
            nn = new["metadata"]["name"]
            nst = new.get("status") or {}
            complete = (updated == want and replicas == want and nst.get("availableReplicas", 0) == want
                        and (new.get("spec") or {}).get("replicas", 0) == want)
            if (d.get("spec") or {}).get("paused"):
                _set_cond(st, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused")
            elif complete:
                _set_cond(st, "Progressing", "True", "NewReplicaSetAvailable", f'ReplicaSet "{nn}" has successfully progressed.')
            elif created:
                _set_cond(st, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{nn}"')
            else:
                cond = next((c for c in st.get("conditions") or [] if c.get("type") == "Progressing"), None)
                keys = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
                progressed = any(prev.get(k) != st.get(k) for k in keys)
                deadline = (d.get("spec") or {}).get("progressDeadlineSeconds", 600)
                last = parse_time((cond or {}).get("lastUpdateTime"))
                if progressed or cond is None or cond.get("reason") == "NewReplicaSetAvailable":
                    _set_cond(st, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{nn}" is progressing.')
                elif last is not None and time.time() - last.timestamp() > deadline and \
                        cond.get("reason") != "ProgressDeadlineExceeded":
                    _set_cond(st, "Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{nn}" has timed out progressing.')
        order = {"Available": 0, "Progressing": 1}
        st["conditions"] = sorted(st.get("conditions") or [], key=lambda c: order.get(c.get("type"), 9))
        if st != prev:
            nd = deepcopy(d)
            nd["status"] = st
            self.update("apps", "v1", "deployments", nd, "status")


def _revision(ctl, owner, kind, tmpl_field, h, number):
    """The ControllerRevision <name>-<hash> holding the owner's template (kubectl rollout history)."""
    m = owner["metadata"]
    name = f"{m['name']}-{h}"
    if ctl.store.get(("apps", "controllerrevisions", m["namespace"], name)) is not None:
        return
    data = {"spec": {"template": dict(deepcopy(tmpl_field), **{"$patch": "replace"})}}
    labels = dict(((owner.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})
    labels["controller-revision-hash"] = h
    ctl.create("apps", "v1", "controllerrevisions", m["namespace"], {
        "apiVersion": "apps/v1", "kind": "ControllerRevision",
        "metadata": {"name": name, "namespace": m["namespace"], "labels": labels,
                     "ownerReferences": [ctrl.owner_ref(owner, kind)]},
        "data": data, "revision": number})


class StatefulSets(ReplicaSets):
    kinds = (("apps", "statefulsets"), ("", "pods"))
    name_ = "statefulset-controller"

    def pass_once(self):
        pods = self.objs("", "pods")
        for s in self.objs("apps", "statefulsets"):
            if ctrl.terminating(s):
                continue
            uid = s["metadata"]["uid"]
            mine = {p["metadata"]["name"]: p for p in pods if p["metadata"]["namespace"] == s["metadata"]["namespace"]
                    and (ctrl.controller_of(p) or {}).get("uid") == uid}
            self.sync_sts(s, mine)

    def sync_sts(self, s, pods):
        m = s["metadata"]
        spec = s.get("spec") or {}
        want = spec.get("replicas", 1)
        name = m["name"]
        tmpl = spec.get("template") or {}
        h = ctrl.template_hash(tmpl)
        st = s.get("status") or {}
        revs = sorted(x.get("revision", 0) for x in self.objs("apps", "controllerrevisions", m["namespace"])
                      if (ctrl.controller_of(x) or {}).get("uid") == m["uid"])
        _revision(self, s, "StatefulSet", tmpl, f"{h}", (revs[-1] + 1) if revs else 1)
        parallel = spec.get("podManagementPolicy") == "Parallel"
        partition = ((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition", 0)
        on_delete = (spec.get("updateStrategy") or {}).get("type") == "OnDelete"

        def healthy(p):
            return p is not None and ctrl.active(p) and (p.get("status") or {}).get("phase") == "Running" and ctrl.is_ready(p)
        blocked = False
        for i in range(want):
            pn = f"{name}-{i}"
            p = pods.get(pn)
            if p is not None and (p.get("status") or {}).get("phase") in ("Failed", "Succeeded") and not ctrl.terminating(p):
                self.delete("", "v1", "pods", p)
                self.event(s, "Normal", "SuccessfulDelete", f"delete Pod {pn} in StatefulSet {name} successful",
                           api_version="apps/v1")
                blocked = True
                continue
            if p is None:
                if blocked and not parallel:
                    break
                self.create_member(s, i, h)
                if not parallel:
                    blocked = True
                continue
            if not healthy(p) and not parallel:
                blocked = True
        # scale down: the highest ordinals first, one at a time unless Parallel
        extra = sorted((p for pn, p in pods.items() if _ordinal(pn, name) is not None and _ordinal(pn, name) >= want),
                       key=lambda p: -_ordinal(p["metadata"]["name"], name))
        for p in extra:
            if not ctrl.terminating(p):
                self.delete("", "v1", "pods", p)
                self.event(s, "Normal", "SuccessfulDelete", f"delete Pod {p['metadata']['name']} in StatefulSet "
                                                            f"{name} successful", api_version="apps/v1")
            if not parallel:
                break
        # rolling update: highest ordinal down to the partition, one at a time when all are healthy
        members = [pods.get(f"{name}-{i}") for i in range(want)]
        if not on_delete and not extra and all(healthy(p) for p in members) and members:
            for i in range(want - 1, partition - 1, -1):
                p = members[i]
                if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != f"{name}-{h}":
                    self.delete("", "v1", "pods", p)
                    break
        live = [p for p in pods.values() if ctrl.active(p)]
        cur_rev = st.get("currentRevision") or f"{name}-{h}"
        updated = sum(1 for p in live if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == f"{name}-{h}")
        if updated == want and len(live) == want:
            cur_rev = f"{name}-{h}"
        status = {"observedGeneration": m.get("generation", 1), "replicas": len(live),
                  "readyReplicas": sum(1 for p in live if ctrl.is_ready(p)),
                  "currentReplicas": sum(1 for p in live if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == cur_rev),
                  "updatedReplicas": updated,
                  "availableReplicas": sum(1 for p in live if ctrl.is_available(p, spec.get("minReadySeconds", 0))),
                  "currentRevision": cur_rev, "updateRevision": f"{name}-{h}", "collisionCount": 0}
        for k in ("readyReplicas", "currentReplicas", "updatedReplicas"):
            if not status[k]:
                del status[k]
        if status != st:
            ns = deepcopy(s)
            ns["status"] = status
            self.update("apps", "v1", "statefulsets", ns, "status")

    def create_member(self, s, i, h):
        m = s["metadata"]
        spec = s.get("spec") or {}
        pn = f"{m['name']}-{i}"
        labels = {"statefulset.kubernetes.io/pod-name": pn, "apps.kubernetes.io/pod-index": str(i),
                  "controller-revision-hash": f"{m['name']}-{h}"}

        def fill(pod):
            pod["metadata"].pop("generateName", None)
            pod["metadata"]["name"] = pn
            pod["spec"]["hostname"] = pn
            if spec.get("serviceName"):
                pod["spec"]["subdomain"] = spec["serviceName"]
            vols = pod["spec"].setdefault("volumes", [])
            for ct in spec.get("volumeClaimTemplates") or []:
                cn = f"{ct['metadata']['name']}-{m['name']}-{i}"
                vols[:] = [v for v in vols if v.get("name") != ct["metadata"]["name"]]
                vols.append({"name": ct["metadata"]["name"], "persistentVolumeClaim": {"claimName": cn}})
                self.claim(s, i, cn, ct)
        self.create_pod(s, "StatefulSet", extra_labels=labels, spec_fn=fill)

    def claim(self, s, i, cn, ct):
        if CLAIMS_HOOK is not None:
            return CLAIMS_HOOK(self, s, i, cn, ct)
        m = s["metadata"]
        if self.store.get(("", "persistentvolumeclaims", m["namespace"], cn)) is not None:
            return
        pvc = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": cn, "namespace": m["namespace"],
                            "labels": dict(((s.get("spec") or {}).get("selector") or {}).get("matchLabels") or {})},
               "spec": deepcopy(ct.get("spec") or {})}
        pol = (s.get("spec") or {}).get("persistentVolumeClaimRetentionPolicy") or {}
        if pol.get("whenDeleted") == "Delete":
            pvc["metadata"]["ownerReferences"] = [dict(ctrl.owner_ref(s, "StatefulSet"), controller=False)]
        self.create("", "v1", "persistentvolumeclaims", m["namespace"], pvc)


def _ordinal(pod_name, sts_name):
    if not pod_name.startswith(sts_name + "-"):
        return None
    tail = pod_name[len(sts_name) + 1:]
    return int(tail) if tail.isdigit() else None


DS_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


class DaemonSets(ReplicaSets):
    kinds = (("apps", "daemonsets"), ("", "pods"), ("", "nodes"))
    name_ = "daemonset-controller"

    def pass_once(self):
        pods = self.objs("", "pods")
        nodes = self.objs("", "nodes")
        for ds in self.objs("apps", "daemonsets"):
            if ctrl.terminating(ds):
                continue
            uid = ds["metadata"]["uid"]
            mine = [p for p in pods if p["metadata"]["namespace"] == ds["metadata"]["namespace"]
                    and (ctrl.controller_of(p) or {}).get("uid") == uid]
            self.sync_ds(ds, mine, nodes)

    @staticmethod
    def node_of(p):
        nn = (p.get("spec") or {}).get("nodeName")
        if nn:
            return nn
        terms = ((((p.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                 .get("requiredDuringSchedulingIgnoredDuringExecution") or {}).get("nodeSelectorTerms") or []
        for t in terms:
            for f in t.get("matchFields") or []:
                if f.get("key") == "metadata.name" and f.get("values"):
                    return f["values"][0]
        return None

    def sync_ds(self, ds, pods, nodes):
        m = ds["metadata"]
        spec = ds.get("spec") or {}
        tmpl = spec.get("template") or {}
        h = ctrl.template_hash(tmpl)
        revs = sorted(x.get("revision", 0) for x in self.objs("apps", "controllerrevisions", m["namespace"])
                      if (ctrl.controller_of(x) or {}).get("uid") == m["uid"])
        _revision(self, ds, "DaemonSet", tmpl, h, (revs[-1] + 1) if revs else 1)
        probe = {"metadata": {}, "spec": deepcopy(tmpl.get("spec") or {})}
        probe["spec"]["tolerations"] = list(probe["spec"].get("tolerations") or []) + DS_TOLERATIONS
        by_node = {}
        for p in pods:
            by_node.setdefault(self.node_of(p), []).append(p)
        desired = [n for n in nodes if sched.run_on(probe, n)]
        want_names = {n["metadata"]["name"] for n in desired}
        for n in desired:
            nn = n["metadata"]["name"]
            live = [p for p in by_node.get(nn, []) if ctrl.active(p)]
            failed = [p for p in by_node.get(nn, []) if (p.get("status") or {}).get("phase") == "Failed"
                      and not ctrl.terminating(p)]
            for p in failed:
                self.delete("", "v1", "pods", p)
            if not live and not any(ctrl.terminating(p) for p in by_node.get(nn, [])):
                self.create_daemon_pod(ds, nn, h)
            for p in sorted(live, key=lambda p: p["metadata"].get("creationTimestamp", ""))[1:]:
                self.delete("", "v1", "pods", p)
        misscheduled = 0
        for nn, ps in by_node.items():
            if nn not in want_names:
                for p in ps:
                    if ctrl.active(p):
                        misscheduled += 1
                        self.delete("", "v1", "pods", p)
        # rolling update: maxUnavailable old pods at a time, when the rest are available
        ru = (spec.get("updateStrategy") or {}).get("rollingUpdate") or {}
        if (spec.get("updateStrategy") or {}).get("type", "RollingUpdate") == "RollingUpdate":
            max_un = int_or_percent(ru.get("maxUnavailable", 1), len(desired), False) or 1
            live = [p for p in pods if ctrl.active(p) and self.node_of(p) in want_names]
            unavailable = len(desired) - sum(1 for p in live if ctrl.is_available(p, spec.get("minReadySeconds", 0)))
            old = [p for p in live if (p["metadata"].get("labels") or {}).get("controller-revision-hash") != h]
            budget = max_un - max(0, unavailable)
            for p in sorted(old, key=lambda p: ctrl.is_ready(p)):
                if budget <= 0 and ctrl.is_ready(p):
                    break
                self.delete("", "v1", "pods", p)
                budget -= 1
        live = [p for p in pods if ctrl.active(p)]
        on = [p for p in live if self.node_of(p) in want_names and (p.get("spec") or {}).get("nodeName")]
        status = {"currentNumberScheduled": len({self.node_of(p) for p in on}),
                  "numberMisscheduled": misscheduled,
                  "desiredNumberScheduled": len(desired),
                  "numberReady": sum(1 for p in on if ctrl.is_ready(p)),
                  "observedGeneration": m.get("generation", 1),
                  "updatedNumberScheduled": sum(1 for p in on if (p["metadata"].get("labels") or {}).get("controller-revision-hash") == h),
                  "numberAvailable": sum(1 for p in on if ctrl.is_available(p, spec.get("minReadySeconds", 0)))}
        status["numberUnavailable"] = max(0, len(desired) - status["numberAvailable"])
        for k in ("numberAvailable", "numberUnavailable", "updatedNumberScheduled"):
            if not status[k]:
                del status[k]
        if status != ds.get("status"):
            nd = deepcopy(ds)
            nd["status"] = status
            self.update("apps", "v1", "daemonsets", nd, "status")

    def create_daemon_pod(self, ds, node, h):
        gen = str(ds["metadata"].get("generation", 1))

        def fill(pod):
            spec = pod["spec"]
            tols = list(spec.get("tolerations") or [])
            for t in DS_TOLERATIONS:
                if t not in tols:
                    tols.append(dict(t))
            if spec.get("hostNetwork"):
                t = {"key": "node.kubernetes.io/network-unavailable", "operator": "Exists", "effect": "NoSchedule"}
                if t not in tols:
                    tols.append(t)
            spec["tolerations"] = tols
            aff = spec.setdefault("affinity", {}).setdefault("nodeAffinity", {})
            req = aff.setdefault("requiredDuringSchedulingIgnoredDuringExecution", {})
            terms = req.get("nodeSelectorTerms") or [{}]
            out = []
            for t in terms:  # ReplaceDaemonSetPodNodeNameNodeAffinity
                t = dict(t)
                t["matchFields"] = [{"key": "metadata.name", "operator": "In", "values": [node]}]
                out.append(t)
            req["nodeSelectorTerms"] = out
        self.create_pod(ds, "DaemonSet", extra_labels={"controller-revision-hash": h, "pod-template-generation": gen},
                        spec_fn=fill)


def all_controllers(box):
    return [ReplicaSets(box), Deployments(box), StatefulSets(box), DaemonSets(box)]

