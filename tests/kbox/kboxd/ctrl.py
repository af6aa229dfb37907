# SPDX-License-Identifier: MIT
"""kboxd.ctrl: what the box's kube-controller-manager and kube-scheduler stand-ins share.

Each controller is a thread that subscribes to the store (the callback only
sets a flag, as store.py requires), and on a change to the kinds it watches
(or every `period` seconds) makes one level-triggered pass over the store:
read the objects, compute what should be, write the difference through
api.Api as a system user. Its writes carry the component's name as field
manager (`kube-controller-manager`, `kube-scheduler`), get resourceVersions,
watch events and audit-free system entries like any write; a write that
loses a race (409) is simply redone by the next pass.

These controllers run only in a box with nodes (a box without nodes is an
API server alone, as envtest is): sched.py, workloads.py, endpointslices.py.
"""
import json
import random
import threading
import time
import traceback

from .util import ApiError, deepcopy, now_time


def rand5():
    return "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def is_ready(pod):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c.get("status") == "True"
    return False


def ready_since(pod):
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready" and c.get("status") == "True":
            from .util import parse_time
            t = parse_time(c.get("lastTransitionTime"))
            return t.timestamp() if t else 0
    return None


def is_available(pod, min_ready):
    since = ready_since(pod)
    return since is not None and (min_ready <= 0 or time.time() - since >= min_ready)


def terminating(o):
    return bool(o["metadata"].get("deletionTimestamp"))


def active(pod):
    return not terminating(pod) and (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed")


def controller_of(o):
    for r in o["metadata"].get("ownerReferences") or []:
        if r.get("controller"):
            return r
    return None


def owner_ref(o, kind, api_version="apps/v1"):
    return {"apiVersion": api_version, "kind": kind, "name": o["metadata"]["name"], "uid": o["metadata"]["uid"],
            "controller": True, "blockOwnerDeletion": True}


class Controller(threading.Thread):
    kinds = ()          # (group, plural) whose changes wake the controller
    agent = "kube-controller-manager/v1.32.3 (linux/amd64) kubernetes/kbox/"
    period = 5.0
    name_ = "controller"

    def __init__(self, box):
        super().__init__(name=self.name_, daemon=True)
        self.box = box
        self.api = box.api
        self.store = box.store
        self.reg = box.reg
        self.wake = threading.Event()
        self.stop = threading.Event()
        kinds = set(self.kinds)
        self.store.subscribe(lambda ev: self.wake.set() if ev.key[:2] in kinds else None)
        self.last_events = {}

    def run(self):
        while not self.stop.is_set():
            self.wake.wait(self.period)
            self.wake.clear()
            time.sleep(0.03)  # a burst of writes, one pass
            try:
                self.pass_once()
            except Exception as e:  # a controller keeps running, as in a real control plane
                traceback.print_exc()
                print(f"kbox: {self.name_} pass failed: {e}", flush=True)
                time.sleep(0.5)

    def pass_once(self):
        raise NotImplementedError

    # ---- reads
    def objs(self, group, plural, ns=None):
        items, _ = self.store.list(group, plural, ns)
        return items

    # ---- writes
    def _req(self, group, version, plural, ns, name, method, body=None, sub=""):
        res = self.reg.lookup(group, version, plural)
        r = self.api.system_request(res, ns, name, method, body, sub)
        r.headers["User-Agent"] = self.agent
        r.headers["Content-Type"] = "application/json"
        return r

    def create(self, group, version, plural, ns, obj):
        r = self._req(group, version, plural, ns, "", "POST", obj)
        try:
            return self.api.create(r)[1]
        except ApiError as e:
            if e.code in (404, 403, 409):  # namespace gone / terminating, or a name race
                return None
            raise

    def update(self, group, version, plural, obj, sub=""):
        m = obj["metadata"]
        r = self._req(group, version, plural, m.get("namespace", ""), m["name"], "PUT", obj, sub)
        try:
            return self.api.update(r)[1]
        except ApiError as e:
            if e.code in (404, 409, 422):
                if e.code == 422:
                    print(f"kbox: {self.name_}: update of {plural} {m['name']} refused: {e.message}", flush=True)
                return None
            raise

    def delete(self, group, version, plural, obj, grace=None, policy=None):
        m = obj["metadata"]
        body = {"preconditions": {"uid": m["uid"]}}
        if grace is not None:
            body["gracePeriodSeconds"] = grace
        if policy:
            body["propagationPolicy"] = policy
        r = self._req(group, version, plural, m.get("namespace", ""), m["name"], "DELETE")
        try:
            self.api.delete(r, body)
            return True
        except ApiError as e:
            if e.code in (404, 409):
                return False
            raise

    def event(self, obj, typ, reason, message, component="kube-controller-manager", api_version=None):
        """A core/v1 Event about obj (repeats within a minute count up, as the recorder's
        correlator does)."""
        m = obj["metadata"]
        ns = m.get("namespace") or "default"
        key = (m.get("uid"), reason, message)
        now = now_time()
        prev = self.last_events.get(key)
        if prev is not None and time.time() - prev[1] < 60:
            cur = self.store.get(("", "events", ns, prev[0]))
            if cur is not None:
                new = deepcopy(cur)
                new["count"] = new.get("count", 1) + 1
                new["lastTimestamp"] = now
                self.update("", "v1", "events", new)
                self.last_events[key] = (prev[0], time.time())
                return
        name = f"{m['name']}.{time.time_ns():x}"
        ev = {"apiVersion": "v1", "kind": "Event", "metadata": {"name": name, "namespace": ns},
              "involvedObject": {"apiVersion": api_version or obj.get("apiVersion", "v1"),
                                 "kind": obj.get("kind"), "name": m["name"], "namespace": m.get("namespace", ""),
                                 "uid": m.get("uid"), "resourceVersion": m.get("resourceVersion")},
              "reason": reason, "message": message, "type": typ, "source": {"component": component},
              "firstTimestamp": now, "lastTimestamp": now, "count": 1, "reportingComponent": component,
              "reportingInstance": ""}
        self.create("", "v1", "events", ns, ev)
        self.last_events[key] = (name, time.time())
        if len(self.last_events) > 5000:
            self.last_events.clear()


def canonical(o):
    return json.dumps(o, sort_keys=True, separators=(",", ":"))


def fnv32a(data):
    h = 0x811c9dc5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xffffffff
    return h


def safe_encode(n):
    """k8s.io/apimachinery/pkg/util/rand.SafeEncodeString of the decimal form of n."""
    alnum = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alnum[ord(c) % len(alnum)] for c in str(n))


def template_hash(template, collision=0):
    """The pod-template-hash/controller-revision-hash label: FNV-32a of the template, as the
    controllers compute it (they hash Go's printed struct; this hashes canonical JSON, so the
    value differs from a real cluster's while behaving the same: equal templates, equal hash)."""
    data = canonical(template).encode()
    if collision:
        data += str(collision).encode()
    return safe_encode(fnv32a(data))
