# SPDX-License-Identifier: MIT
"""t_migrate_cli: `ferry migrate plan|status` (control/operator/cmd_migrate.c) against the box,
with ferry's manifests applied and `ferry controller` running the Migration reconciler
under its service account. The box is both clusters, as in scenarios_migrate.py (whose
setup this reuses): the source is read through a kubeconfig file given to the CLI, which
stores it in the Secret ferry-migrate-NAME; namespace mappings keep the claims apart.

The CLI runs as a user does: the box's admin kubeconfig, HOME a temporary directory.
- `plan` with the class mapped: exit 0, the table names both claims with their sizes,
  classes, node and zone, "0 error(s)"; the Secret holds the kubeconfig given;
- `plan -o json` of the same name: the Migration, its plan; `status -o yaml` reads back;
- `plan` without the class map, into a namespace with too small a quota: exit 1, the
  findings in the table (NoStorageClass, QuotaExceeded), one error line naming
  PlanHasErrors;
- a kubeconfig with an exec plugin: exit 2 before anything is sent (no Migration, no
  Secret), the line names exec;
- a source that refuses connections: exit 1, the line names SourceUnreachable and the
  timeout given;
- malformed flags (a mapping without ':', a namespace that is no DNS label, no
  --include-namespaces, both or neither source flags, -o xml, a timeout of 0): one line,
  exit 2, nothing made.
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import atexit
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402  (it puts tests/kbox on the path)
import kboxtest  # noqa: E402
import scenarios_migrate as sm  # noqa: E402
from opkit import NS  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 19: ferry migrate plan|status, bad input found at plan time"
API = "/apis/ferry.io/v1alpha1"


def main():
    import base64
    import yaml
    box = kboxtest.Box(private=True)
    env = opkit.Env(box)
    atexit.register(env.close)
    opkit.apply_manifests(env)
    sm._setup(env)
    home = os.path.join(env.tmp, "cli-home")
    os.makedirs(home, exist_ok=True)

    def ferry(*args, timeout=60):
        e = dict(os.environ, HOME=home, KUBECONFIG=box.kubeconfig)
        for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            e.pop(k, None)
        return subprocess.run([env.ferry, "migrate"] + list(args), capture_output=True, text=True,
                              env=e, timeout=timeout, stdin=subprocess.DEVNULL)

    def one_line(what, r, rc, *words):
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        eq(f"{what}: exit {rc}", r.returncode, rc, ref=REF)
        check(f"{what}: one line on stderr, an error",
              len(lines) == 1 and lines[0].startswith("ferry: error: "), r.stderr, ref=REF)
        for w in words:
            check(f"{what}: the line names {w!r}", w in r.stderr, r.stderr, ref=REF)

    def migrations():
        code, _, body = box.admin.get(f"{API}/namespaces/{NS}/migrations")
        return sorted(o["metadata"]["name"] for o in (body or {}).get("items", [])) if code == 200 else None

    def write(name, text):
        p = os.path.join(env.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    good_kc = write("source.kubeconfig", sm._kubeconfig(env))
    exec_kc = write("exec.kubeconfig", sm._kubeconfig(env, user="exec: {apiVersion: client.authentication.k8s.io/v1, "
                                                                 "command: gke-gcloud-auth-plugin}"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused_kc = write("refused.kubeconfig", sm._kubeconfig(env, server=f"https://127.0.0.1:{port}"))
    base = ["--include-namespaces", sm.SRC]

    # malformed flags: nothing is made by any of them
    for what, args, words in (
            ("a mapping without ':'", ["plan", "x", "--source-kubeconfig", good_kc] + base +
             ["--namespace-mappings", "a"], ["SOURCE:TARGET"]),
            ("a namespace that is no DNS label", ["plan", "x", "--source-kubeconfig", good_kc,
                                                 "--include-namespaces", "Bad_NS"], ["spec.namespaces[0]"]),
            ("no --include-namespaces", ["plan", "x", "--source-kubeconfig", good_kc], ["--include-namespaces"]),
            ("neither source flag", ["plan", "x"] + base, ["--source-kubeconfig"]),
            ("both source flags", ["plan", "x", "--source-kubeconfig", good_kc, "--source-secret", "s"] + base,
             ["--source-secret"]),
            ("-o xml", ["plan", "x", "--source-kubeconfig", good_kc, "-o", "xml"] + base, ["json or yaml"]),
            ("a timeout of 0", ["plan", "x", "--source-kubeconfig", good_kc, "--source-timeout", "0"] + base,
             ["--source-timeout"]),
            ("an existing-resource-policy none of the three", ["plan", "x", "--source-kubeconfig", good_kc,
                                                            "--existing-resource-policy", "merge"] + base,
             ["spec.existingResourcePolicy", "\"none\", \"update\", \"fail\""]),
            ("a mapping of a namespace not included", ["plan", "x", "--source-kubeconfig", good_kc] + base +
             ["--namespace-mappings", "other:b"], ["not one of spec.namespaces"]),
            ("an exec plugin in the source's kubeconfig", ["plan", "x", "--source-kubeconfig", exec_kc] + base,
             ["exec", "credential plugin"])):
        r = ferry(*args)
        one_line(what, r, 2, *words)
    eq("nothing was made by the malformed flags", migrations(), [], ref=REF)
    code, _, _ = box.admin.get(f"/api/v1/namespaces/{NS}/secrets/ferry-migrate-x")
    eq("... not even the Secret (the exec kubeconfig was refused before anything was sent)", code, 404, ref=REF)

    a = env.controller("mig-cli")
    if not check("the controller leads", a.wait_line(r"mig-cli: leading", 20), a.text()[-400:], ref=REF):
        kboxtest.finish()

    # a plan without errors
    r = ferry("plan", "shop", "--source-kubeconfig", good_kc, "--namespace-mappings", f"{sm.SRC}:{sm.DST}",
              "--storage-class-mappings", "mig-slow:mig-fast", "--source-timeout", "5", *base)
    eq("plan with the class mapped: exit 0", (r.returncode, r.stderr), (0, ""), ref=REF)
    rows = {ln.split()[1]: ln for ln in r.stdout.splitlines() if ln.startswith(sm.SRC)}
    check("the table names both claims, their sizes, the classes and data-0's node and zone",
          set(rows) == {"data-0", "data-1"} and "64 MiB" in rows["data-0"] and "128 MiB" in rows["data-1"] and
          "mig-slow -> mig-fast" in rows["data-1"] and "mig-node" in rows["data-0"] and
          "zone-a" in rows["data-0"] and f"{sm.SRC}->{sm.DST}" in rows["data-0"], r.stdout, ref=REF)
    check("... and the total, without errors", "2 volume(s), 192 MiB; 0 error(s)" in r.stdout, r.stdout, ref=REF)
    code, _, sec = box.admin.get(f"/api/v1/namespaces/{NS}/secrets/ferry-migrate-shop")
    with open(good_kc) as f:
        check("the Secret ferry-migrate-shop holds the kubeconfig given",
              code == 200 and base64.b64decode((sec.get("data") or {}).get("kubeconfig", "")).decode() == f.read(),
              code, ref=REF)
    r = ferry("plan", "shop", "--source-secret", "ferry-migrate-shop", "--namespace-mappings",
              f"{sm.SRC}:{sm.DST}", "--storage-class-mappings", "mig-slow:mig-fast", "-o", "json", *base)
    try:
        m = json.loads(r.stdout)
    except ValueError:
        m = {}
    check("plan -o json of the same name (its Secret named): the Migration, planned again for its new generation",
          r.returncode == 0 and m.get("kind") == "Migration" and (m.get("status") or {}).get("phase") == "Planned" and
          (m["status"].get("plan") or {}).get("bytes") == 192 * sm.MiB, (r.returncode, r.stderr, m.get("status")),
          ref=REF)
    r = ferry("status", "shop", "-o", "yaml")
    y = yaml.safe_load(r.stdout) if r.returncode == 0 else {}
    check("status -o yaml reads back the same plan", (y.get("status") or {}).get("plan") == (m.get("status") or {}).get("plan"),
          r.stderr, ref=REF)
    r = ferry("status", "shop")
    check("status prints the table and the condition",
          r.returncode == 0 and "data-1" in r.stdout and "Planned: True PlanReady" in r.stdout, r.stdout, ref=REF)

    # findings that block the move
    r = ferry("plan", "small", "--source-kubeconfig", good_kc, "--namespace-mappings", f"{sm.SRC}:{sm.DST_SMALL}",
              *base)
    one_line("plan without the class map into a tight quota", r, 1, "PlanHasErrors")
    check("... the table lists the findings", "NoStorageClass" in r.stdout and "QuotaExceeded" in r.stdout and
          "1 volume(s), 64 MiB; 2 error(s)" in r.stdout, r.stdout, ref=REF)

    # what the target must give the Services, and the pods' image pull secrets
    svc_ns, svc_dst = "mig-svc", "mig-svc-b"
    for ns in (svc_ns,):
        sm._post(env, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})

    def service(ns, name, typ, port=None, chosen=False, pin=None):
        p = {"port": 80} if port is None else {"port": 80, "nodePort": port}
        meta = {"name": name}
        if chosen:
            meta["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                {"spec": {"type": typ, "ports": [p]}})}
        spec = {"type": typ, "selector": {"app": name}, "ports": [p]}
        if pin:
            spec["loadBalancerIP"] = pin
        code, _, out = box.admin.post(f"/api/v1/namespaces/{ns}/services",
                                      {"apiVersion": "v1", "kind": "Service", "metadata": meta, "spec": spec})
        check(f"Service {ns}/{name} made", code == 201, (code, out), ref=REF)
        return (out.get("spec") or {}).get("ports", [{}])[0].get("nodePort") if code == 201 else None

    # the box is both clusters: the nodePort web keeps (its last-applied-configuration names
    # it) is held on "the target" by web itself, in another namespace than it would go to
    kept = service(svc_ns, "web", "NodePort", port=30080, chosen=True)
    picked = service(svc_ns, "metrics", "NodePort")           # the API server's pick
    service(svc_ns, "edge", "LoadBalancer", pin="198.51.100.9")
    service(svc_ns, "front", "LoadBalancer")
    box.admin.patch(f"/api/v1/namespaces/{svc_ns}/services/front/status",
                    {"status": {"loadBalancer": {"ingress": [{"ip": "203.0.113.7"}]}}})
    sm._post(env, f"/api/v1/namespaces/{svc_ns}/secrets",
             {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "regcred"},
              "type": "kubernetes.io/dockerconfigjson",
              "data": {".dockerconfigjson": base64.b64encode(b'{"auths":{}}').decode()}})
    sm._post(env, f"/api/v1/namespaces/{svc_ns}/pods",
             {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web-0"},
              "spec": {"nodeName": "mig-node", "imagePullSecrets": [{"name": "regcred"}, {"name": "gone"}],
                       "containers": [{"name": "web", "image": "registry.a.example/web:1"}]}})
    # a claim whose driver has no default VolumeSnapshotClass (mig-fast's has: mig-snap)
    sm._post(env, "/apis/storage.k8s.io/v1/storageclasses",
             {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "mig-nfs"},
              "provisioner": "nfs.csi.ferry.io"})
    sm._post(env, f"/api/v1/namespaces/{svc_ns}/persistentvolumeclaims",
             {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "shared"},
              "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "mig-nfs",
                       "resources": {"requests": {"storage": str(sm.MiB)}}}})
    box.admin.patch(f"/api/v1/namespaces/{svc_ns}/persistentvolumeclaims/shared/status",
                    {"status": {"phase": "Bound", "accessModes": ["ReadWriteOnce"],
                                "capacity": {"storage": str(sm.MiB)}}})
    # objects the target has already: a ConfigMap and a ServiceAccount of the same names
    # (each namespace's kube-root-ca.crt and default, which the cluster makes, do not count)
    sm._post(env, "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": svc_dst}})
    for ns in (svc_ns, svc_dst):
        sm._post(env, f"/api/v1/namespaces/{ns}/configmaps",
                 {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"ns": ns}})
        sm._post(env, f"/api/v1/namespaces/{ns}/serviceaccounts",
                 {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "app"}})
    # a custom resource the reader may not list (migrate-source-rbac.yaml grants ferry.io's only)
    sm._post(env, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
             {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
              "metadata": {"name": "gadgets.example.io"},
              "spec": {"group": "example.io", "scope": "Namespaced",
                       "names": {"plural": "gadgets", "singular": "gadget", "kind": "Gadget"},
                       "versions": [{"name": "v1", "served": True, "storage": True,
                                     "schema": {"openAPIV3Schema": {"type": "object",
                                                                    "x-kubernetes-preserve-unknown-fields": True}}}]}})
    kboxtest.wait_until(lambda: box.admin.get("/apis/example.io/v1")[0] == 200, 10, 0.1)
    sm._post(env, f"/apis/example.io/v1/namespaces/{svc_ns}/gadgets",
             {"apiVersion": "example.io/v1", "kind": "Gadget", "metadata": {"name": "g1"}})
    # the target's one Ready node is tainted dedicated=db: web-0 does not tolerate it (NoNodeFits),
    # db-0 does (nothing said); a pod of a DaemonSet is not asked about
    sm._post(env, "/api/v1/nodes", {"apiVersion": "v1", "kind": "Node",
                                    "metadata": {"name": "mig-ready", "labels": {"disk": "ssd"}},
                                    "spec": {"taints": [{"key": "dedicated", "value": "db",
                                                         "effect": "NoSchedule"}]}})
    box.admin.patch("/api/v1/nodes/mig-ready/status",
                    {"status": {"conditions": [{"type": "Ready", "status": "True"}]}})
    for name, extra in (("db-0", {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "db",
                                                   "effect": "NoSchedule"}],
                                  "nodeSelector": {"disk": "ssd"}}),
                        ("agent-x", {})):
        meta = {"name": name}
        if name == "agent-x":
            meta["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent",
                                        "uid": "00000000-0000-0000-0000-00000000da00"}]
        sm._post(env, f"/api/v1/namespaces/{svc_ns}/pods",
                 {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
                  "spec": dict({"containers": [{"name": "c", "image": "registry.a.example/c:1"}]}, **extra)})
    r = ferry("plan", "svc", "--source-kubeconfig", good_kc, "--namespace-mappings", f"{svc_ns}:{svc_dst}",
              "--include-namespaces", svc_ns)
    one_line("plan of Services, pull secrets and a claim the target cannot honour", r, 1, "PlanHasErrors")
    found = {}
    for ln in r.stdout.splitlines():
        parts = ln.strip().split(": ", 2)
        if len(parts) == 3:
            found.setdefault(parts[1], []).append(parts[0] + ": " + parts[2])
    check("NodePortTaken: web keeps 30080, which Service mig-svc/web holds on the target",
          any(f.startswith("Error   Service mig-svc/web") and "30080" in f and "Service mig-svc/web holds" in f
              for f in found.get("NodePortTaken", [])) and kept == 30080, (kept, r.stdout), ref=REF)
    check(f"NodePortChanges: metrics' nodePort {picked} is the API server's pick, a warning",
          any(f.startswith("Warning Service mig-svc/metrics") and str(picked) in f
              for f in found.get("NodePortChanges", [])), r.stdout, ref=REF)
    check("LoadBalancerIPPinned (edge names 198.51.100.9) and LoadBalancerAddressChanges (front has 203.0.113.7)",
          any("198.51.100.9" in f for f in found.get("LoadBalancerIPPinned", [])) and
          any("203.0.113.7" in f for f in found.get("LoadBalancerAddressChanges", [])), r.stdout, ref=REF)
    check("ImagePullSecretMissing: web-0 names the Secret gone, which mig-svc does not hold; regcred is there",
          any(f.startswith("Error   Pod mig-svc/web-0") and "Secret gone" in f
              for f in found.get("ImagePullSecretMissing", [])) and
          not any("regcred" in f for f in found.get("ImagePullSecretMissing", [])), r.stdout, ref=REF)
    check("NotSnapshottable: the claim shared's driver nfs.csi.ferry.io has no default VolumeSnapshotClass",
          any(f.startswith("Error   PersistentVolumeClaim mig-svc/shared") and "nfs.csi.ferry.io" in f
              for f in found.get("NotSnapshottable", [])), r.stdout, ref=REF)
    check("ObjectExists: ConfigMap settings and ServiceAccount app, warnings (existingResourcePolicy none)",
          sorted(f.split(":")[0] for f in found.get("ObjectExists", [])) ==
          ["Warning ConfigMap mig-svc/settings", "Warning ServiceAccount mig-svc/app"] and
          "leaves it as it is there" in "".join(found.get("ObjectExists", [])), found.get("ObjectExists"), ref=REF)
    check("NotChecked: the custom resources, which the reader may not list (the view ClusterRole named)",
          any(f.startswith("Warning Cluster source") and "the custom resources in the namespaces" in f and
              "(gadgets.example.io)" in f and "view ClusterRole" in f for f in found.get("NotChecked", [])),
          found.get("NotChecked"), ref=REF)
    check("NoNodeFits (a warning): web-0 tolerates no taint of the one Ready node; db-0 and the DaemonSet's pod not named",
          [f.split(":")[0] for f in found.get("NoNodeFits", [])] == ["Warning Pod mig-svc/web-0"] and
          "tolerates its taints" in "".join(found.get("NoNodeFits", [])), found.get("NoNodeFits"), ref=REF)
    check("... 3 errors in all", "3 error(s)" in r.stdout, r.stdout, ref=REF)
    r = ferry("plan", "svc", "--source-secret", "ferry-migrate-svc", "--namespace-mappings", f"{svc_ns}:{svc_dst}",
              "--include-namespaces", svc_ns, "--existing-resource-policy", "fail")
    check("--existing-resource-policy fail: each object the target has is an error (5 in all)",
          r.returncode == 1 and "5 error(s)" in r.stdout and
          "Error   ConfigMap mig-svc/settings: ObjectExists: " in r.stdout, r.stdout, ref=REF)

    # namespaces by selector: mig-src (two claims) and mig-svc (one) labelled team=mig, found at plan
    # time; namespaceMapping applies to those found; the set is recorded in status.plan.namespaces
    for ns in (sm.SRC, svc_ns):
        box.admin.patch(f"/api/v1/namespaces/{ns}", {"metadata": {"labels": {"team": "mig"}}})
    r = ferry("plan", "by-label", "--source-kubeconfig", good_kc, "--namespace-selector", "team=mig",
              "--namespace-mappings", f"{sm.SRC}:{sm.DST},{svc_ns}:{svc_dst}",
              "--storage-class-mappings", "mig-slow:mig-fast", "-o", "json")
    try:
        m = json.loads(r.stdout)
    except ValueError:
        m = {}
    plan = (m.get("status") or {}).get("plan") or {}
    eq("--namespace-selector team=mig: spec.namespaceSelector's matchLabels",
       (m.get("spec") or {}).get("namespaceSelector"), {"matchLabels": {"team": "mig"}}, ref=REF)
    eq("... the namespaces found, mapped, in status.plan.namespaces",
       plan.get("namespaces"), [{"name": sm.SRC, "targetNamespace": sm.DST},
                                {"name": svc_ns, "targetNamespace": svc_dst}], ref=REF)
    eq("... the claims of both planned", sorted((v["namespace"], v["claim"]) for v in plan.get("volumes") or []),
       [(sm.SRC, "data-0"), (sm.SRC, "data-1"), (svc_ns, "shared")], ref=REF)
    r = ferry("status", "by-label")
    check("status prints the namespaces line", f"Namespaces: {sm.SRC}->{sm.DST}, {svc_ns}->{svc_dst}" in r.stdout,
          r.stdout, ref=REF)
    r = ferry("plan", "by-none", "--source-kubeconfig", good_kc, "--namespace-selector", "team=nobody")
    one_line("a selector that finds no namespace", r, 1, "NoNamespaces", "team=nobody")
    r = ferry("plan", "x", "--source-kubeconfig", good_kc, "--namespace-selector", "team in (a")
    one_line("a malformed --namespace-selector", r, 2, "--namespace-selector")

    # a source that cannot be reached
    t0 = time.time()
    r = ferry("plan", "refused", "--source-kubeconfig", refused_kc, "--source-timeout", "2", *base)
    one_line("a source that refuses connections", r, 1, "SourceUnreachable", "within 2 s")
    print(f"note: plan of an unreachable source returned in {time.time() - t0:.1f} s", flush=True)

    # the live table and the per-volume report, from a status as the controller writes it (the
    # controller stopped: nothing rewrites it). The stages' own rows are proven by t_warm
    a.kill()
    now = time.time()

    def ts(t):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
    st = {"phase": "Syncing", "message": "shop-r3: 1 of 2 volume(s) being written here",
          "recoveryPointTime": ts(now - 125),
          "volumes": [{"namespace": sm.SRC, "pvc": "data-0", "targetNamespace": sm.DST, "seedBytes": 64 * sm.MiB,
                       "syncBytes": 3 * sm.MiB, "finalBytes": sm.MiB},
                      {"namespace": sm.SRC, "pvc": "data-1", "targetNamespace": sm.DST, "seedBytes": 128 * sm.MiB}],
          "progress": {"backup": "shop-r3", "updateTime": ts(now - 2), "volumes": [
              {"namespace": sm.DST, "pvc": "data-0", "stage": "Write", "state": "Running",
               "bytesDone": 16 * sm.MiB, "bytesTotal": 64 * sm.MiB, "bytesPerSecond": 8000000, "etaSeconds": 95,
               "node": "node-a1"},
              {"namespace": sm.DST, "pvc": "data-1", "stage": "Write", "state": "Unchanged",
               "bytesDone": 0, "bytesTotal": 0}]},
          "verify": {"result": "Equal", "volumes": [{"namespace": sm.DST, "pvc": "data-0", "result": "Equal"}]}}
    code, _, body = box.admin.patch(f"{API}/namespaces/{NS}/migrations/shop/status", {"status": st})
    check("a Migration's status with a live table written", code == 200, body, ref=REF)
    r = ferry("status", "shop")
    rows = {ln.split()[1]: ln.split() for ln in r.stdout.splitlines() if ln.startswith(sm.DST + " ")}
    check("status prints what is in flight and a row per volume: stage, state, bytes, MB/s, ETA, lag, node",
          r.returncode == 0 and "In flight: Backup shop-r3" in r.stdout and
          rows.get("data-0", [])[:10] == [sm.DST, "data-0", "Write", "Running", "16", "MiB", "64", "MiB", "8.0",
                                          "1m35s"] and rows["data-0"][10:11] in (["2m05s"], ["2m06s"], ["2m07s"]) and
          rows["data-0"][11:] == ["node-a1"] and rows.get("data-1", [])[2:4] == ["Write", "Unchanged"] and
          rows["data-1"][-1:] == ["-"], (r.stdout[-1200:], rows), ref=REF)
    r = ferry("report", "shop")
    vols = {ln.split()[0]: ln.split() for ln in r.stdout.splitlines() if ln.startswith(sm.DST + "/")}
    eq("report prints each volume's bytes of the seed, the syncs and the final delta, and its verification",
       (r.returncode, vols.get(f"{sm.DST}/data-0"), vols.get(f"{sm.DST}/data-1")),
       (0, [f"{sm.DST}/data-0", "64", "MiB", "3", "MiB", "1", "MiB", "Equal"],
        [f"{sm.DST}/data-1", "128", "MiB", "-", "-", "-"]), ref=REF)
    kboxtest.finish()


if __name__ == "__main__":
    main()
