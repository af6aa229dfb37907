# SPDX-License-Identifier: MIT
"""kboxd.main: the box's server process (`python3 -m kboxd.main --dir DIR`).

Builds the store (replaying DIR/state), the resource registry (re-serving
every Established CRD it holds), authentication, RBAC, audit, fault hooks and
the in-process controllers, creates the bootstrap objects on a first start,
binds the HTTPS port (a free one when --port is 0) and writes it to
DIR/port, which is how `kbox start` learns where the box listens. SIGTERM
stops it cleanly (the WAL is flushed on every write anyway).
"""
import argparse
import os
import signal
import subprocess
import sys
import threading

from . import api as apimod
from . import bootstrap, gc, http
from .auth import Audit, Authenticator, Authorizer
from .faults import Faults
from .resources import Registry
from .store import Store


class Box:
    def __init__(self, d, opts):
        self.dir = d
        self.opts = opts
        self.store = Store(os.path.join(d, "state"), history_seconds=opts.history_seconds)
        self.reg = Registry()
        for (g, p, ns, n), o in list(self.store.objs.items()):
            if p == "customresourcedefinitions" and g == "apiextensions.k8s.io":
                self.reg.set_crd(o)
        self.authn = Authenticator(d, self.store)
        self.authz = Authorizer(self.store)
        self.audit = Audit(os.path.join(d, "audit.log"))
        self.faults = Faults()
        self.api = apimod.Api(self.store, self.reg, self.authn, self.authz, opts)
        ca = os.path.join(d, "ca.crt")
        self.controllers = gc.Controllers(self.api, open(ca).read() if os.path.exists(ca) else "")
        if self.store.rv == 0:
            self.bootstrap()
        self.cluster = None
        if getattr(opts, "cluster_config", None):
            from . import cluster
            self.cluster = cluster.Cluster(self, cluster.load(opts.cluster_config))

    def ensure(self, group, version, plural, obj, replace=False):
        """Create obj through the API unless it exists (replace: make it equal to obj)."""
        import json
        from .util import ApiError
        res = self.reg.lookup(group, version, plural)
        m = obj["metadata"]
        ns = m.get("namespace", "") if res.namespaced else ""
        cur = self.store.get(self.api.key(res, ns, m["name"]))
        if cur is not None and not replace:
            return
        r = self.api.system_request(res, ns, "" if cur is None else m["name"], "POST" if cur is None else "PUT", obj)
        r.headers["Content-Type"] = "application/json"
        r.query = {"fieldManager": ["kube-apiserver"]}
        try:
            if cur is None:
                self.api.create(r)
            else:
                body = json.loads(json.dumps(obj))
                body["metadata"]["resourceVersion"] = cur["metadata"]["resourceVersion"]
                r.body = json.dumps(body).encode()
                self.api.update(r)
        except ApiError as e:
            if e.code != 409:
                raise

    def bootstrap(self):
        for (g, v, plural), obj in bootstrap.initial_objects():
            res = self.reg.lookup(g, v, plural)
            r = self.api.system_request(res, obj["metadata"].get("namespace", ""), "", "POST", obj)
            r.headers["Content-Type"] = "application/json"
            r.query = {"fieldManager": ["kube-apiserver"]}
            self.api.create(r)


def main(argv=None):
    p = argparse.ArgumentParser(prog="kboxd")
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--bind", default="127.0.0.1")
    p.add_argument("--bookmark-seconds", type=float, default=60.0)
    p.add_argument("--history-seconds", type=float, default=300.0)
    p.add_argument("--watch-max-seconds", type=float, default=1800.0)
    p.add_argument("--verbose", action="store_true")
    p.add_argument("--cluster-config", help="DIR/cluster.json: the box's nodes (cluster.py)")
    opts = p.parse_args(argv)
    d = os.path.abspath(opts.dir)
    box = Box(d, opts)
    try:
        srv = http.serve(box, opts.bind, opts.port, os.path.join(d, "server.crt"), os.path.join(d, "server.key"))
    except OSError as e:
        print(f"kbox: cannot listen on {opts.bind}:{opts.port}: {e.strerror} (start it with another --port)",
              flush=True)
        return 1
    port = srv.server_address[1]
    if box.cluster is not None:
        try:
            box.cluster.start()
        except (OSError, ValueError, subprocess.CalledProcessError) as e:
            print(f"kbox: cannot make the box's nodes: {e}", flush=True)
            box.cluster.stop()
            return 1
        http.run_in_thread(http.Server(box.cluster.listener.getsockname(), box, srv.ctx, box.cluster.listener))
    tmp = os.path.join(d, "port.tmp")
    with open(tmp, "w") as f:
        f.write(f"{port}\n")
    os.replace(tmp, os.path.join(d, "port"))
    box.controllers.start()
    if box.cluster is not None:
        from . import endpointslices, sched, workloads
        import importlib
        box.node_controllers = [sched.Scheduler(box), endpointslices.EndpointSlices(box)] + \
            workloads.all_controllers(box)
        for name in box.cluster.extensions():
            mod = importlib.import_module(name)
            if hasattr(mod, "controllers"):
                box.node_controllers += list(mod.controllers(box))
        for c in box.node_controllers:
            c.start()
        box.cluster.launch_all()
    done = threading.Event()

    def stop(*_):
        done.set()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    http.run_in_thread(srv)
    print(f"kbox: serving https://{opts.bind}:{port} from {d} (rv {box.store.rv})", flush=True)
    # warm the python3-kubernetes models (schemas) while nobody waits on them
    threading.Thread(target=lambda: __import__("kboxd.schema").schema.model_schema("V1Pod"), daemon=True).start()
    done.wait()
    if box.cluster is not None:
        box.cluster.stop()
    box.controllers.stop.set()
    with box.store.lock:
        box.store.close()
    print("kbox: stopped", flush=True)
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
