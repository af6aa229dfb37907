#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/restore-objects.py [--objects N] [--threads T] [--runs R] [--build DIR]

Objects restored per second by a ferry Restore, against the same objects created by
python3-kubernetes from T threads at once, against the same cluster in a box in the same
run (issue 15, "Measured"; Velero restores about 10 objects/s on a real API server:
shared/research/CONTROLPLANE.md §10).

One private box (tests/kbox); ferry's CRDs and rules created from k8s/deploy; `ferry
controller` on this machine under its service account with an encrypted file://
repository. Per run:
  1. a namespace of N objects (ConfigMaps, Services, ServiceAccounts and Deployments), made by the admin, then a Backup of it (in ferry-system);
  2. the namespace deleted; a Restore: seconds from its creation to Completed
     (startTimestamp to completionTimestamp, and as seen from here);
  3. the namespace deleted again; the same objects, as the backup holds them less
     Velero's strip list (what the Restore sent), created by python3-kubernetes from T
     threads: seconds for all of them.
Prints one line per run and the medians with their ratio. Timing only: no pass/fail.
--qps N runs the controller with --kube-api-qps N: a Restore's pace is its client's rate
limit (20 requests/s by default, as Velero's --client-qps), not the box's.
Needs root? No; needs python3-kubernetes, PyYAML and a built ferry.
"""
import argparse
import base64
import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
sys.path.insert(0, os.path.join(ROOT, "tests"))
from kboxtest import Box  # noqa: E402
from demo_cluster import render, token_kubeconfig, free_port  # noqa: E402
import demo_cluster  # noqa: E402

import kubernetes  # noqa: E402
from kubernetes import utils  # noqa: E402

GROUP, VERSION, SYS, NS = "ferry.io", "v1alpha1", "ferry-system", "bench-app"


def objects(n):
    out = []
    for i in range(n):
        k = i % 5
        meta = {"name": f"o{i}", "namespace": NS, "labels": {"app": "bench", "i": str(i)}}
        if k == 0:
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "data": {"k": "v" * 200, "i": str(i)}})
        elif k == 1:  # a second ConfigMap shape (Secrets: the restore role grants no create yet)
            out.append({"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
                        "binaryData": {"p": base64.b64encode(os.urandom(32)).decode()}})
        elif k == 2:
            out.append({"apiVersion": "v1", "kind": "Service", "metadata": meta,
                        "spec": {"selector": {"app": f"x{i}"}, "ports": [{"port": 80}]}})
        elif k == 3:
            out.append({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta})
        else:
            out.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                        "spec": {"replicas": 0, "selector": {"matchLabels": {"d": f"o{i}"}},
                                 "template": {"metadata": {"labels": {"d": f"o{i}"}},
                                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}})
    return out


def wait(fn, timeout, every=0.05):
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        time.sleep(every)
    raise SystemExit("bench: timed out")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=500)
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--build", default=os.path.join(ROOT, "build"))
    ap.add_argument("--qps", type=int, default=0,
                    help="the controller's --kube-api-qps (burst 1.5x; 0: its default, 20 as Velero's)")
    a = ap.parse_args()
    ferry = os.environ.get("FERRY") or os.path.join(a.build, "control", "ferry")
    work = tempfile.mkdtemp(prefix="ferry-bench-restore-", dir="/var/tmp")
    demo_cluster.D = work
    box = Box(private=True)
    procs = []
    try:
        api = kubernetes.config.new_client_from_config(config_file=box.kubeconfig)
        core = kubernetes.client.CoreV1Api(api)
        co = kubernetes.client.CustomObjectsApi(api)
        for d in render():
            if d["kind"] not in ("Deployment", "DaemonSet"):
                utils.create_from_dict(api, d)
        time.sleep(1)
        pw = base64.b64encode(os.urandom(18)).decode()
        repo = f"file://{work}/repo"
        subprocess.run([ferry, "init", "--repo", repo], env=dict(os.environ, FERRY_PASSWORD=pw, HOME=work),
                       check=True, stdout=subprocess.DEVNULL)
        core.create_namespaced_secret(SYS, {"metadata": {"name": "repo-password"}, "stringData": {"password": pw}})
        co.create_namespaced_custom_object(GROUP, VERSION, SYS, "repositories", {
            "apiVersion": f"{GROUP}/{VERSION}", "kind": "Repository", "metadata": {"name": "default"},
            "spec": {"url": repo, "passwordSecret": {"name": "repo-password"}}})
        kc = token_kubeconfig(core, box, "ferry-controller")
        qps = ["--kube-api-qps", str(a.qps), "--kube-api-burst", str(a.qps * 3 // 2)] if a.qps else []
        procs.append(subprocess.Popen([ferry, "controller", "--kubeconfig", kc, "-n", SYS, "--identity", "bench",
                                       "--metrics-addr", f"127.0.0.1:{free_port()}"] + qps,
                                      stdout=open(os.path.join(work, "controller.log"), "w"),
                                      stderr=subprocess.STDOUT))
        objs = objects(a.objects)
        load = os.getloadavg()[0]
        rows = []
        for run in range(a.runs):
            core.create_namespace({"metadata": {"name": NS}})
            with concurrent.futures.ThreadPoolExecutor(a.threads) as ex:
                list(ex.map(lambda o: utils.create_from_dict(api, o), objs))
            name = f"b{run}"
            co.create_namespaced_custom_object(GROUP, VERSION, SYS, "backups", {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "Backup", "metadata": {"name": name},
                "spec": {"includedNamespaces": [NS]}})
            wait(lambda: (co.get_namespaced_custom_object(GROUP, VERSION, SYS, "backups", name).get("status")
                          or {}).get("phase") == "Completed", 600)
            core.delete_namespace(NS)
            wait(lambda: NS not in [n.metadata.name for n in core.list_namespace().items], 300)
            t0 = time.time()
            co.create_namespaced_custom_object(GROUP, VERSION, SYS, "restores", {
                "apiVersion": f"{GROUP}/{VERSION}", "kind": "Restore", "metadata": {"name": name},
                "spec": {"backupName": name}})
            st = wait(lambda: (lambda s: s if s.get("phase") in ("Completed", "PartiallyFailed", "Failed",
                                                                  "FailedValidation") else None)(
                (co.get_namespaced_custom_object(GROUP, VERSION, SYS, "restores", name).get("status") or {})),
                600, 0.02)
            t_ferry = time.time() - t0
            restored = (st.get("progress") or {}).get("itemsRestored") or st.get("itemsRestored") or 0
            # python3-kubernetes creates what the Restore sent: the objects as made, which is
            # what the backup holds less Velero's strip list
            got = objs
            core.delete_namespace(NS)
            wait(lambda: NS not in [n.metadata.name for n in core.list_namespace().items], 300)
            t0 = time.time()
            core.create_namespace({"metadata": {"name": NS}})
            with concurrent.futures.ThreadPoolExecutor(a.threads) as ex:
                list(ex.map(lambda o: utils.create_from_dict(api, o), got))
            t_py = time.time() - t0
            rows.append((t_ferry, t_py, restored, st.get("phase")))
            print(f"run {run + 1}: ferry Restore {len(objs) + 1} objects ({restored} counted, {st.get('phase')}) "
                  f"in {t_ferry:.2f} s = {(len(objs) + 1) / t_ferry:.0f}/s; python3-kubernetes x{a.threads} "
                  f"in {t_py:.2f} s = {(len(objs) + 1) / t_py:.0f}/s", flush=True)
            core.delete_namespace(NS)
            wait(lambda: NS not in [n.metadata.name for n in core.list_namespace().items], 300)
        mf = statistics.median(r[0] for r in rows)
        mp = statistics.median(r[1] for r in rows)
        n = len(objs) + 1
        print(json.dumps({"objects": n, "threads": a.threads, "runs": a.runs, "controller_qps": a.qps or 20,
                          "load1_at_start": round(load, 2),
                          "ferry_objects_per_s": round(n / mf, 1), "python_objects_per_s": round(n / mp, 1),
                          "ferry_over_python": round(mp / mf, 2)}))
    finally:
        for p in procs:
            p.terminate()
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
        box.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
