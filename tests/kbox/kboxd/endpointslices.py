# SPDX-License-Identifier: MIT
"""kboxd.endpointslices: the EndpointSlice controller (pkg/controller/endpointslice).

For every Service with a selector (not ExternalName): the pods of its
namespace that match, are not finished and have an address become
endpoints of slices named <service>-<5 random> with the labels
kubernetes.io/service-name=<service> and
endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io, the
Service as controlling owner, addressType IPv4, at most 100 endpoints per
slice, one slice per distinct set of resolved ports (a named targetPort is
looked up in each pod's containers, so pods that number it differently get
slices of their own). Each endpoint: addresses [podIP], conditions
ready = the pod's Ready condition and not terminating (true for every pod
when publishNotReadyAddresses), serving = Ready regardless of termination,
terminating = deletionTimestamp set (terminating pods stay listed, as since
1.26); nodeName, zone (the node's topology.kubernetes.io/zone) and
targetRef (the Pod). Slices the controller does not manage (no managed-by
label of its own) are left alone; a Service's slices go with it (garbage
collector, owner reference).
"""
from . import ctrl
from .util import deepcopy

MANAGED_BY = "endpointslice-controller.k8s.io"
MAX = 100


def _resolve(port, pod):
    tp = port.get("targetPort", port.get("port"))
    if isinstance(tp, int) or (isinstance(tp, str) and tp.isdigit()):
        return int(tp)
    for c in (pod.get("spec") or {}).get("containers") or []:
        for cp in c.get("ports") or []:
            if cp.get("name") == tp and (cp.get("protocol") or "TCP") == (port.get("protocol") or "TCP"):
                return cp.get("containerPort")
    return None


class EndpointSlices(ctrl.Controller):
    kinds = (("", "services"), ("", "pods"), ("discovery.k8s.io", "endpointslices"), ("", "nodes"))
    name_ = "endpointslice-controller"
    period = 10.0

    def pass_once(self):
        pods = self.objs("", "pods")
        zones = {n["metadata"]["name"]: (n["metadata"].get("labels") or {}).get("topology.kubernetes.io/zone")
                 for n in self.objs("", "nodes")}
        slices = {}
        for sl in self.objs("discovery.k8s.io", "endpointslices"):
            lab = sl["metadata"].get("labels") or {}
            if lab.get("endpointslice.kubernetes.io/managed-by") == MANAGED_BY:
                slices.setdefault((sl["metadata"]["namespace"], lab.get("kubernetes.io/service-name")), []).append(sl)
        by_ns = {}
        for p in pods:
            by_ns.setdefault(p["metadata"]["namespace"], []).append(p)
        for svc in self.objs("", "services"):
            spec = svc.get("spec") or {}
            if not spec.get("selector") or spec.get("type") == "ExternalName" or ctrl.terminating(svc):
                continue
            m = svc["metadata"]
            self.sync(svc, by_ns.get(m["namespace"], []), slices.get((m["namespace"], m["name"]), []), zones)

    def desired(self, svc, pods, zones):
        spec = svc.get("spec") or {}
        sel = spec.get("selector") or {}
        pna = spec.get("publishNotReadyAddresses", False)
        groups = {}
        for p in sorted(pods, key=lambda p: p["metadata"]["name"]):
            labels = p["metadata"].get("labels") or {}
            if any(labels.get(k) != v for k, v in sel.items()):
                continue
            st = p.get("status") or {}
            if st.get("phase") in ("Succeeded", "Failed") or not st.get("podIP"):
                continue
            ports = []
            for sp in spec.get("ports") or []:
                n = _resolve(sp, p)
                if n is None:
                    continue
                e = {"name": sp.get("name", ""), "port": n, "protocol": sp.get("protocol") or "TCP"}
                if sp.get("appProtocol"):
                    e["appProtocol"] = sp["appProtocol"]
                ports.append(e)
            key = ctrl.canonical(ports)
            term = ctrl.terminating(p)
            ready = ctrl.is_ready(p)
            ep = {"addresses": [st["podIP"]],
                  "conditions": {"ready": (ready and not term) or pna, "serving": ready or pna,
                                 "terminating": term},
                  "targetRef": {"kind": "Pod", "namespace": p["metadata"]["namespace"], "name": p["metadata"]["name"],
                                "uid": p["metadata"]["uid"]}}
            node = (p.get("spec") or {}).get("nodeName")
            if node:
                ep["nodeName"] = node
                if zones.get(node):
                    ep["zone"] = zones[node]
            groups.setdefault(key, (ports, []))[1].append(ep)
        out = []
        for key, (ports, eps) in sorted(groups.items()):
            for i in range(0, len(eps), MAX):
                out.append((key, ports, eps[i:i + MAX]))
        if not out:  # a service without endpoints still has one (the placeholder, empty)
            out.append((None, [], []))
        return out

    def sync(self, svc, pods, have, zones):
        m = svc["metadata"]
        want = self.desired(svc, pods, zones)
        have = sorted(have, key=lambda s: s["metadata"]["name"])
        used = set()
        for key, ports, eps in want:
            match = None
            for sl in have:
                if id(sl) in used:
                    continue
                if key is None or ctrl.canonical(sl.get("ports") or []) == key:
                    match = sl
                    break
            if match is None:
                for sl in have:  # reuse any slice left over rather than create and delete
                    if id(sl) not in used:
                        match = sl
                        break
            labels = dict((m.get("labels") or {}), **{"kubernetes.io/service-name": m["name"],
                                                      "endpointslice.kubernetes.io/managed-by": MANAGED_BY})
            labels.pop("service.kubernetes.io/headless", None)
            if (svc.get("spec") or {}).get("clusterIP") == "None":
                labels["service.kubernetes.io/headless"] = ""
            body = {"addressType": "IPv4", "endpoints": eps, "ports": ports}
            if match is None:
                self.create("discovery.k8s.io", "v1", "endpointslices", m["namespace"], dict(body, **{
                    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
                    "metadata": {"generateName": m["name"] + "-", "namespace": m["namespace"], "labels": labels,
                                 "ownerReferences": [ctrl.owner_ref(svc, "Service", "v1")]}}))
                continue
            used.add(id(match))
            cur = {"addressType": match.get("addressType"), "endpoints": match.get("endpoints") or [],
                   "ports": match.get("ports") or []}
            if cur != body or (match["metadata"].get("labels") or {}) != labels:
                new = deepcopy(match)
                new.update(body)
                new["metadata"]["labels"] = labels
                self.update("discovery.k8s.io", "v1", "endpointslices", new)
        for sl in have:
            if id(sl) not in used:
                self.delete("discovery.k8s.io", "v1", "endpointslices", sl)
