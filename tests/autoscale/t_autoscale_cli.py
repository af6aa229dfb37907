#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_autoscale_cli: `ferry autoscale create|get|describe` against the box (or
FERRY_TEST_KUBECONFIG's cluster): create makes the ScalePolicy kubectl autoscale
would make an HPA of (one CPU metric), a dry run stores nothing, what the
controller's decoder refuses is refused before anything is sent (exit 2, one
line), a name taken is refused by the server; get prints kubectl's HPA columns
(and -A the namespace); describe the spec and the status; an unknown command
and a missing NAME are usage errors."""
import os
import subprocess
import sys
import tempfile
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
from kboxtest import Box, check, eq, finish, kubectl_path, skip  # noqa: E402

FERRY = os.environ.get("FERRY", "")
if not (FERRY and os.access(FERRY, os.X_OK)):
    print("ERROR: FERRY must name the built ferry binary (meson test sets it)")
    sys.exit(99)
KUBECTL = kubectl_path()
if not KUBECTL:
    skip("needs kubectl >= 1.30 to install the CRD (tests/install-deps.sh)")
REF = "issue 18 §2: ferry autoscale create|get|describe"
box = Box()
api = box.admin
ENV = dict(os.environ, HOME=tempfile.mkdtemp(prefix="as-cli-home-"), KUBECONFIG=box.kubeconfig)
r = subprocess.run([KUBECTL, "apply", "--server-side", "-f", os.path.join(SRC, "k8s", "deploy", "crd-scalepolicy.yaml")],
                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV, timeout=60)
eq("the ScalePolicy CRD is installed", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "k8s/deploy")
NS = "ascli-" + uuid.uuid4().hex[:6]
code, _, _ = api.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}})
eq("a namespace of the test's own", code, 201, "setup")


def ferry(*args):
    return subprocess.run([FERRY, "autoscale"] + list(args) + ["--kubeconfig", box.kubeconfig, "-n", NS],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


def sp(name):
    code, _, body = api.get(f"/apis/ferry.io/v1alpha1/namespaces/{NS}/scalepolicies/{name}")
    return body if code == 200 else None


r = ferry("create", "web", "--target", "deployment/web", "--min", "2", "--max", "6", "--cpu", "60", "--sustain", "5")
eq("create: exit 0, kubectl's words", (r.returncode, r.stdout), (0, "scalepolicy.ferry.io/web created\n"), REF)
o = sp("web") or {}
eq("the ScalePolicy is an HPA spec with one CPU metric, and ferry's three fields",
   o.get("spec"), {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                   "minReplicas": 2, "maxReplicas": 6,
                   "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
                       "type": "Utilization", "averageUtilization": 60}}}],
                   "mode": "Active", "sustainWindowSeconds": 5, "sustainRule": "Held"}, REF)
r = ferry("create", "dry", "--target", "statefulset/db", "--max", "3", "--shadow", "--dry-run")
eq("create --dry-run: exit 0, says so", (r.returncode, r.stdout),
   (0, "scalepolicy.ferry.io/dry created (server dry run)\n"), REF)
eq("... and stores nothing", sp("dry"), None, "API reference: dryRun")
r = ferry("create", "web", "--target", "deployment/web", "--max", "3")
check("a name taken: refused by the server, non-zero, one line", r.returncode != 0 and "already exists" in r.stderr and
      r.stderr.count("\n") == 1, (r.returncode, r.stderr), "AlreadyExists", REF)
for args, why in ((["create", "x", "--target", "deployment/web", "--min", "5", "--max", "3"], "maxReplicas"),
                  (["create", "x", "--target", "deployment/web", "--max", "3", "--sustain", "61"], "sustainWindowSeconds"),
                  (["create", "x", "--target", "web", "--max", "3"], "KIND/NAME"),
                  (["create", "x", "--target", "cronjob/web", "--max", "3"], "KIND"),
                  (["create", "x", "--target", "deployment/web"], "--max"),
                  (["create", "x", "--target", "deployment/web", "--max", "0"], "whole number"),
                  (["create", "--target", "deployment/web", "--max", "3"], "NAME"),
                  (["frobnicate"], "unknown command"),
                  (["describe"], "NAME")):
    r = ferry(*args)
    check(f"ferry autoscale {' '.join(args)}: exit 2, one line naming {why}",
          r.returncode == 2 and why in r.stderr and r.stdout == "", (r.returncode, r.stderr), why, "bad input")
eq("... and none of them stored anything", sp("x"), None, "bad input")
r = ferry("get")
lines = r.stdout.splitlines()
eq("get: exit 0, a header and one row", (r.returncode, len(lines)), (0, 2), REF)
if len(lines) == 2:
    eq("get's columns are kubectl's for an HPA, and MODE", lines[0].split(),
       ["NAME", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "MODE", "AGE"], REF)
    eq("get's row", lines[1].split()[:7], ["web", "Deployment/web", "<unknown>/60%", "2", "6", "0", "Active"], REF)
r = ferry("get", "-A")
check("get -A: the NAMESPACE column, this namespace's row among them",
      r.returncode == 0 and r.stdout.startswith("NAMESPACE") and any(l.split()[:2] == [NS, "web"] for l in r.stdout.splitlines()),
      r.stdout[-300:], "NAMESPACE", REF)
r = ferry("get", "nope")
check("get of a name that is not there: non-zero, one line naming it", r.returncode != 0 and "nope" in r.stderr,
      (r.returncode, r.stderr), "not found", REF)
r = ferry("describe", "web")
check("describe: the reference, the bounds, the mode, the window", r.returncode == 0 and all(
    s in r.stdout for s in ("Reference:         Deployment/web", "Min replicas:      2", "Max replicas:      6",
                            "Mode:              Active", "Sustain window:    5 s (Held)", "Conditions:")),
      r.stdout, "describe", REF)
r = ferry("create", "avg", "--target", "deployment/web", "--max", "4", "--sustain", "3", "--mean")
eq("create --mean: the Mean rule", (r.returncode, (sp("avg") or {}).get("spec", {}).get("sustainRule")), (0, "Mean"),
   REF)
r = ferry("describe", "avg")
check("describe: the window and its rule", r.returncode == 0 and "Sustain window:    3 s (Mean)" in r.stdout,
      r.stdout, "describe", REF)
api.delete(f"/api/v1/namespaces/{NS}")
finish()
