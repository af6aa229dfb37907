# SPDX-License-Identifier: MIT
"""kboxd.store: the box's etcd: objects, one resourceVersion counter, history, watches, WAL.

Every write takes the next value of one cluster-wide counter as its
resourceVersion (etcd's revision), so RVs are comparable across kinds, as
client caches assume. Each write is also an event kept in a bounded history
(by count and by age, like etcd compaction, default 5 minutes): watches
replay from it, and lists at an older RV (continue tokens, resourceVersionMatch
=Exact) are answered by rolling the current state back through it. Anything
older than the history is gone: 410 Expired. `compact()` forgets all history
at once (the forced-compaction fault hook).

Durability: each event is appended to DIR/state/wal.jsonl before it is
visible; at start the snapshot plus the WAL are replayed (objects, counter and
history, so a watch can resume across a restart of the box as it can across
an apiserver restart), then folded into a new snapshot. The store knows
nothing of HTTP or kinds: keys are (group, plural, namespace, name).

In-process controllers (garbage collector, namespace controller, and later
the simulated nodes' controllers) subscribe() to events; callbacks run under
the store lock and must only enqueue.
"""
import collections
import json
import os
import queue
import threading
import time

from .util import ApiError, expired, gone_too_old


class Event:
    __slots__ = ("rv", "type", "key", "obj", "prev", "ts")

    def __init__(self, rv, type_, key, obj, prev, ts):
        self.rv = rv
        self.type = type_
        self.key = key
        self.obj = obj
        self.prev = prev
        self.ts = ts


class Watcher:
    """One watch's feed: events of one resource (and namespace), in RV order."""

    def __init__(self, store, group, plural, ns):
        self.store = store
        self.group = group
        self.plural = plural
        self.ns = ns
        self.q = queue.Queue()
        self.closed = False

    def wants(self, ev):
        g, p, ns, _ = ev.key
        return g == self.group and p == self.plural and (self.ns is None or ns == self.ns)

    def get(self, timeout):
        try:
            return self.q.get(timeout=timeout)
        except queue.Empty:
            return None

    def close(self):
        self.store._unwatch(self)


class Store:
    def __init__(self, statedir, history_max=20000, history_seconds=300.0):
        self.lock = threading.RLock()
        self.cond = threading.Condition(self.lock)
        self.objs = {}
        self.rv = 0
        self.history = collections.deque()
        self.history_max = history_max
        self.history_seconds = history_seconds
        self.compacted = 0  # events with rv > compacted are in history (or none happened)
        self.watchers = set()
        self.listeners = []
        self.statedir = statedir
        self.wal = None
        if statedir:
            os.makedirs(statedir, exist_ok=True)
            self._load()

    # ---- persistence
    def _load(self):
        snap = os.path.join(self.statedir, "snapshot.json")
        walp = os.path.join(self.statedir, "wal.jsonl")
        if os.path.exists(snap):
            with open(snap) as f:
                s = json.load(f)
            self.rv = s["rv"]
            self.compacted = s["compacted"]
            for k, o in s["objects"]:
                self.objs[tuple(k)] = o
            for e in s["history"]:
                self.history.append(Event(e["rv"], e["t"], tuple(e["k"]), e["o"], e.get("p"), e["ts"]))
        if os.path.exists(walp):
            with open(walp) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        break  # a torn last line: the write it held never answered
                    if e.get("t") == "COMPACT":
                        self.history.clear()
                        self.compacted = e["rv"]
                        continue
                    k = tuple(e["k"])
                    self.rv = max(self.rv, e["rv"])
                    if e["t"] == "DELETED":
                        self.objs.pop(k, None)
                    else:
                        self.objs[k] = e["o"]
                    self.history.append(Event(e["rv"], e["t"], k, e["o"], e.get("p"), e["ts"]))
        self._trim(time.time())
        self._write_snapshot()
        self.wal = open(walp, "w")

    def _write_snapshot(self):
        snap = os.path.join(self.statedir, "snapshot.json")
        tmp = snap + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"rv": self.rv, "compacted": self.compacted,
                       "objects": [[list(k), o] for k, o in self.objs.items()],
                       "history": [{"rv": e.rv, "t": e.type, "k": list(e.key), "o": e.obj,
                                    "p": e.prev, "ts": e.ts} for e in self.history]}, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, snap)

    def _log(self, rec):
        if self.wal:
            self.wal.write(json.dumps(rec, separators=(",", ":")) + "\n")
            self.wal.flush()

    # ---- reads
    def get(self, key):
        with self.lock:
            return self.objs.get(key)

    def list(self, group, plural, ns=None):
        """Current objects of one resource, sorted by (namespace, name); -> (objs, rv)."""
        with self.lock:
            out = [o for k, o in self.objs.items()
                   if k[0] == group and k[1] == plural and (ns is None or k[2] == ns)]
            rv = self.rv
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out, rv

    def list_at(self, group, plural, ns, rv, what="list"):
        """The objects as they were at `rv` (rolled back through history); 410 if forgotten."""
        with self.lock:
            if rv > self.rv:
                raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {self.rv}",
                               {"causes": [{"reason": "ResourceVersionTooLarge",
                                            "message": "Too large resource version"}],
                                "retryAfterSeconds": 1})
            if rv < self.compacted:
                if what == "continue":
                    raise expired("The provided continue parameter is too old to display a consistent "
                                  "list result. You can start a new list without the continue parameter, "
                                  "or use the continue token in this response to retrieve the remainder "
                                  "of the results. Continuing with the provided token results in an "
                                  "inconsistent list - objects that were created, modified, or deleted "
                                  "between the time the first chunk was returned and now may show up in "
                                  "the list.")
                raise expired("The resourceVersion for the provided list is too old.")
            cur = {k: o for k, o in self.objs.items()
                   if k[0] == group and k[1] == plural and (ns is None or k[2] == ns)}
            for ev in reversed(self.history):
                if ev.rv <= rv:
                    break
                k = ev.key
                if k[0] != group or k[1] != plural or (ns is not None and k[2] != ns):
                    continue
                if ev.type == "ADDED":
                    cur.pop(k, None)
                else:
                    cur[k] = ev.prev
        out = [o for o in cur.values() if o is not None]
        out.sort(key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]))
        return out

    def wait_for_rv(self, rv, timeout=3.0):
        """NotOlderThan a future RV: wait a little for it, as the watch cache does; 504 after."""
        deadline = time.time() + timeout
        with self.lock:
            while self.rv < rv:
                left = deadline - time.time()
                if left <= 0:
                    raise ApiError(504, "Timeout", f"Too large resource version: {rv}, current: {self.rv}",
                                   {"causes": [{"reason": "ResourceVersionTooLarge",
                                                "message": "Too large resource version"}],
                                    "retryAfterSeconds": 1})
                self.cond.wait(left)

    # ---- writes
    def commit(self, key, obj, type_=None):
        """Store obj under key with the next RV; type_ ADDED/MODIFIED inferred. -> stored obj."""
        with self.lock:
            prev = self.objs.get(key)
            if type_ is None:
                type_ = "MODIFIED" if prev is not None else "ADDED"
            self.rv += 1
            obj["metadata"]["resourceVersion"] = str(self.rv)
            if type_ == "DELETED":
                self.objs.pop(key, None)
            else:
                self.objs[key] = obj
            ts = time.time()
            ev = Event(self.rv, type_, key, obj, prev, ts)
            self._log({"rv": self.rv, "t": type_, "k": list(key), "o": obj, "p": prev, "ts": ts})
            self.history.append(ev)
            self._trim(ts)
            for w in list(self.watchers):
                if w.wants(ev):
                    w.q.put(ev)
            for fn in self.listeners:
                fn(ev)
            self.cond.notify_all()
            return obj

    def delete(self, key):
        with self.lock:
            obj = self.objs.get(key)
            if obj is None:
                return None
            return self.commit(key, json.loads(json.dumps(obj)), "DELETED")

    def _trim(self, now):
        while self.history and (len(self.history) > self.history_max or
                                now - self.history[0].ts > self.history_seconds):
            self.compacted = self.history.popleft().rv

    def compact(self):
        """Forget all history: every older RV (watch, continue, Exact list) is now 410."""
        with self.lock:
            self.history.clear()
            self.compacted = self.rv
            self._log({"t": "COMPACT", "rv": self.rv})
            for w in list(self.watchers):
                w.q.put("COMPACTED")

    def bump_bookmark_rv(self):
        with self.lock:
            return self.rv

    # ---- watches
    def watch(self, group, plural, ns, since_rv):
        """A Watcher fed with every event after since_rv (None: from now). 410 if too old."""
        with self.lock:
            w = Watcher(self, group, plural, ns)
            if since_rv is not None and since_rv < self.rv:
                if since_rv < self.compacted:
                    raise gone_too_old(since_rv, self.compacted + 1)
                for ev in self.history:
                    if ev.rv > since_rv and w.wants(ev):
                        w.q.put(ev)
            self.watchers.add(w)
            return w

    def _unwatch(self, w):
        with self.lock:
            self.watchers.discard(w)
            w.closed = True

    def subscribe(self, fn):
        with self.lock:
            self.listeners.append(fn)

    def close(self):
        with self.lock:
            if self.wal:
                self.wal.close()
                self.wal = None
