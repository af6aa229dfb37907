# SPDX-License-Identifier: MIT
"""kboxd.kubeproxy: kube-proxy (iptables mode) for one node, in the node's network namespace.

It watches Services and EndpointSlices with its own credentials (user
system:kube-proxy, bound to the system:node-proxier ClusterRole as on a
kubeadm cluster) and writes the rules of kube-proxy's iptables proxier
(pkg/proxy/iptables/proxier.go) with one iptables-restore --noflush per
table, in the same chain shape and names:

  nat:    PREROUTING, OUTPUT -> KUBE-SERVICES
          KUBE-SERVICES -d <clusterIP> -p tcp --dport P -> KUBE-SVC-<hash>
          KUBE-SVC-<hash> ! -s <cluster CIDR> -> KUBE-MARK-MASQ
          KUBE-SVC-<hash> -m statistic --mode random --probability 1/(n-i) -> KUBE-SEP-<hash>
                          (-m recent for sessionAffinity: ClientIP)
          KUBE-SEP-<hash> -s <endpoint> -> KUBE-MARK-MASQ (hairpin); DNAT --to-destination ip:port
          POSTROUTING -> KUBE-POSTROUTING: MASQUERADE what KUBE-MARK-MASQ marked (0x4000)
  filter: INPUT, FORWARD, OUTPUT (ctstate NEW) -> KUBE-SERVICES:
          REJECT (icmp-port-unreachable) for a service port with no endpoints

KUBE-SVC-/KUBE-SEP- names are "KUBE-SVC-" + base32(sha256(servicePortName +
protocol))[:16] and "KUBE-SEP-" + base32(sha256(servicePortName + protocol +
endpoint))[:16], servicePortName being "ns/name" or "ns/name:port", so
`default/kubernetes:https` is KUBE-SVC-NPX46M4PTMTKRN6Y as on any cluster.
Endpoints: ready ones; if none is ready, serving terminating ones (kube-proxy's
terminating fallback); internalTrafficPolicy: Local keeps this node's only.

Syncs follow the BoundedFrequencyRunner: a change syncs after
kubeProxy.syncDelaySeconds (default 0; lets a test hold rules stale on purpose)
and no sooner than kubeProxy.minSyncPeriodSeconds (default 1, kube-proxy's
--iptables-min-sync-period) after the previous sync, and every 30 s anyway.
Each sync writes /var/lib/kubelet/kbox-proxy.json (host: DIR/nodes/NAME/kubelet/):
time, count, and the endpoints programmed per service port, which is how a
test learns that a node's data path changed (an EndpointSlice alone does not
prove it).
"""
import base64
import hashlib
import json
import os
import subprocess
import threading
import time

from . import kclient

AGENT = "kube-proxy/v1.32.3 (linux/amd64) kubernetes/kbox"
MASQ = "0x4000"


def _hash(s):
    return base64.b32encode(hashlib.sha256(s.encode()).digest()).decode()[:16]


def svc_chain(spn, proto):
    return "KUBE-SVC-" + _hash(spn + proto.lower())


def sep_chain(spn, proto, ep):
    return "KUBE-SEP-" + _hash(spn + proto.lower() + ep)


def port_name(ns, name, port):
    return f"{ns}/{name}" + (f":{port}" if port else "")


def endpoints_for(svc, port, slices, node):
    """kube-proxy's choice of endpoints for one service port -> sorted ["ip:port", ...]."""
    ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
    ready, term = set(), set()
    local_only = (svc.get("spec") or {}).get("internalTrafficPolicy") == "Local"
    for sl in slices:
        m = sl["metadata"]
        if m.get("namespace") != ns or (m.get("labels") or {}).get("kubernetes.io/service-name") != name:
            continue
        if sl.get("addressType", "IPv4") != "IPv4":
            continue
        pnum = None
        for p in sl.get("ports") or []:
            if (p.get("name") or "") == (port.get("name") or "") and \
                    (p.get("protocol") or "TCP") == (port.get("protocol") or "TCP"):
                pnum = p.get("port")
        if pnum is None:
            continue
        for ep in sl.get("endpoints") or []:
            if local_only and ep.get("nodeName") != node:
                continue
            c = ep.get("conditions") or {}
            r = c.get("ready", True) is not False
            serving = c.get("serving", r) is not False
            terminating = c.get("terminating", False) is True
            for a in ep.get("addresses") or []:
                if r and not terminating:
                    ready.add(f"{a}:{pnum}")
                elif serving and terminating:
                    term.add(f"{a}:{pnum}")
    return sorted(ready or term, key=lambda e: (tuple(int(x) for x in e.split(":")[0].split(".")), int(e.split(":")[1])))


def rules(services, slices, node, cluster_cidr):
    """-> (nat text, filter text, {servicePortName: [endpoints]}, set of chains) for one sync."""
    nat_chains = ["KUBE-SERVICES", "KUBE-POSTROUTING", "KUBE-MARK-MASQ", "KUBE-NODEPORTS"]
    nat, flt = [], []
    programmed = {}
    for svc in sorted(services, key=lambda s: (s["metadata"]["namespace"], s["metadata"]["name"])):
        spec = svc.get("spec") or {}
        ip = spec.get("clusterIP")
        if not ip or ip == "None" or spec.get("type") == "ExternalName":
            continue
        ns, name = svc["metadata"]["namespace"], svc["metadata"]["name"]
        affinity = spec.get("sessionAffinity") == "ClientIP"
        aff_secs = (((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds") or 10800)
        for port in spec.get("ports") or []:
            proto = (port.get("protocol") or "TCP").lower()
            if proto not in ("tcp", "udp"):
                continue
            spn = port_name(ns, name, port.get("name"))
            eps = endpoints_for(svc, port, slices, node)
            programmed[spn] = eps
            match = f"-m {proto} -p {proto} -d {ip}/32 --dport {port.get('port')}"
            if not eps:
                flt.append(f'-A KUBE-SERVICES -m comment --comment "{spn} has no endpoints" {match} '
                           f"-j REJECT --reject-with icmp-port-unreachable")
                continue
            sc = svc_chain(spn, proto)
            nat_chains.append(sc)
            nat.append(f'-A KUBE-SERVICES -m comment --comment "{spn} cluster IP" {match} -j {sc}')
            nat.append(f'-A {sc} -m comment --comment "{spn} cluster IP" {match} ! -s {cluster_cidr} -j KUBE-MARK-MASQ')
            seps = [(ep, sep_chain(spn, proto, ep)) for ep in eps]
            if affinity:
                for ep, ch in seps:
                    nat.append(f'-A {sc} -m comment --comment "{spn} -> {ep}" -m recent --name {ch} '
                               f"--mask 255.255.255.255 --rsource --rcheck --seconds {aff_secs} --reap -j {ch}")
            n = len(seps)
            for i, (ep, ch) in enumerate(seps):
                prob = "" if i == n - 1 else f" -m statistic --mode random --probability {1.0 / (n - i):.10f}"
                nat.append(f'-A {sc} -m comment --comment "{spn} -> {ep}"{prob} -j {ch}')
            for ep, ch in seps:
                nat_chains.append(ch)
                eip = ep.split(":")[0]
                nat.append(f'-A {ch} -m comment --comment {spn} -s {eip}/32 -j KUBE-MARK-MASQ')
                aff = f" -m recent --name {ch} --mask 255.255.255.255 --rsource --set" if affinity else ""
                nat.append(f"-A {ch} -m comment --comment {spn}{aff} -m {proto} -p {proto} -j DNAT --to-destination {ep}")
    nat.append('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last '
               'rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS')
    nat = [f"-A KUBE-POSTROUTING -m mark ! --mark {MASQ}/{MASQ} -j RETURN",
           f"-A KUBE-POSTROUTING -j MARK --xor-mark {MASQ}",
           '-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE '
           "--random-fully",
           f"-A KUBE-MARK-MASQ -j MARK --or-mark {MASQ}"] + nat
    return nat, flt, programmed, nat_chains


JUMPS_NAT = ['-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
             '-A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
             '-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING']
JUMPS_FILTER = [f'-A {c} -m conntrack --ctstate NEW -m comment --comment "kubernetes service portals" -j KUBE-SERVICES'
                for c in ("INPUT", "FORWARD", "OUTPUT")]


class KubeProxy:
    def __init__(self, cfg):
        self.cfg = cfg
        self.node = cfg["name"]
        kp = cfg.get("kubeProxy") or {}
        self.delay = float(kp.get("syncDelaySeconds", 0))
        self.min_sync = float(kp.get("minSyncPeriodSeconds", 1))
        self.cluster_cidr = cfg.get("clusterCIDR", "10.244.0.0/16")
        tok = open(cfg["kubeProxyToken"]).read().strip()
        self.client = kclient.Client(cfg["apiURL"], cfg["ca"], tok, AGENT)
        self.dirty = threading.Event()
        self.chains = set()
        self.jumped = False
        self.syncs = 0
        self.last = 0.0
        self.status_path = "/var/lib/kubelet/kbox-proxy.json"

    def start(self):
        self.svcs = kclient.Informer(self.client, "/api/v1/services", self.changed, name="proxy-services").start()
        self.slices = kclient.Informer(self.client, "/apis/discovery.k8s.io/v1/endpointslices", self.changed,
                                       name="proxy-slices").start()
        threading.Thread(target=self.loop, name="kube-proxy", daemon=True).start()

    def changed(self, typ, obj):
        self.dirty.set()

    def loop(self):
        self.svcs.synced.wait(30)
        self.slices.synced.wait(30)
        while True:
            self.dirty.wait(30)
            if self.delay:
                time.sleep(self.delay)
            wait = self.last + self.min_sync - time.time()
            if wait > 0:
                time.sleep(wait)
            self.dirty.clear()
            try:
                self.sync()
            except Exception as e:
                print(f"kube-proxy: sync failed: {e}", flush=True)
                time.sleep(1)
                self.dirty.set()

    def sync(self):
        nat, flt, programmed, chains = rules(self.svcs.items(), self.slices.items(), self.node, self.cluster_cidr)
        stale = sorted(c for c in self.chains if c not in chains)
        text = ["*nat"] + [f":{c} - [0:0]" for c in chains + stale] + nat + \
            (JUMPS_NAT if not self.jumped else []) + [f"-X {c}" for c in stale] + ["COMMIT"]
        text += ["*filter", ":KUBE-SERVICES - [0:0]"] + flt + (JUMPS_FILTER if not self.jumped else []) + ["COMMIT"]
        r = subprocess.run(["iptables-restore", "-w", "--noflush"], input="\n".join(text) + "\n",
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if r.returncode != 0:
            raise OSError(f"iptables-restore: {r.stderr.strip()}")
        self.jumped = True
        self.chains = set(chains)
        self.syncs += 1
        self.last = time.time()
        tmp = self.status_path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"lastSync": self.last, "syncs": self.syncs, "services": programmed}, f)
        os.replace(tmp, self.status_path)


def start(cfg):
    KubeProxy(cfg).start()
