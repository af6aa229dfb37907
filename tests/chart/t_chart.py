#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""ferry's Helm chart (k8s/chart) renders the objects of its kustomization (k8s/deploy)
(issue 13 §4, "A Helm chart").

- `helm lint --strict` of the chart, with its defaults and with the values below;
- `helm template --include-crds` with the defaults against `kubectl kustomize k8s/deploy`,
  object by object (apiVersion, kind, namespace, name): the same objects, none missing,
  none extra, and each one equal field by field once the three labels the chart adds to
  the metadata of every templated object are taken away, after checking their values:
  helm.sh/chart (NAME-VERSION of Chart.yaml), app.kubernetes.io/managed-by (Helm),
  app.kubernetes.io/instance (the release's name). Nothing else is normalised: the
  kustomization's own label (app.kubernetes.io/part-of), its image tag and every other
  field must come out of the chart as they are (YAML comments aside). CRDs come from the
  chart's crds/ (not templated, so without Helm's labels), which `--sync-crds` writes from
  the CRDs the kustomization lists: a CRD added to the kustomization fails this test until
  the chart has it too, and one in crds/ that the kustomization does not list fails it;
- a render with every value changed (image, pull policy, namespace, controller replicas
  and resources, the agent's nodeSelector, tolerations, resources and kubelet directory):
  each value lands where it should (the DaemonSet's kubelet hostPath volume and its
  mount), and the objects equal the default render with exactly those edits;
- an empty namespace.name takes the release's namespace; empty tolerations render none;
- against the box (FERRY_TEST_KBOX_DIR or FERRY_TEST_KUBECONFIG, as tests/run exports
  them): the changed render with its CRDs, in a namespace of the test's own, passes
  `kubectl apply --server-side --dry-run=server` (strict field validation), every object
  accepted. Without a box that part is left out, and said so.

helm is /usr/local/lib/ferry-kubectl/helm (tests/install-deps.sh), $HELM or helm on PATH;
kubectl >= 1.30 as tests/kbox finds it. Either missing fails the test as root (CI runs
install-deps first) and skips it (77) otherwise.

    tests/chart/t_chart.py --sync-crds     write k8s/chart/crds/ from the kustomization
"""
import atexit
import copy
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("FERRY_SRC") or os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(SRC, "tests", "kbox"))
from kboxtest import Box, check, eq, finish, kubectl_path, skip  # noqa: E402

DEPLOY = os.path.join(SRC, "k8s", "deploy")
CHART = os.path.join(SRC, "k8s", "chart")
CRDS = os.path.join(CHART, "crds")
REF = "issue 13 §4 (the Helm chart)"
RELEASE = "ferry-test"
HOME = tempfile.mkdtemp(prefix="ferry-chart-home-")
atexit.register(shutil.rmtree, HOME, True)
ENV = dict(os.environ, HOME=HOME)
ENV.pop("KUBECONFIG", None)
ENV.pop("HELM_NAMESPACE", None)
ENV.pop("HELM_KUBECONTEXT", None)


def helm_path():
    """helm 3: $HELM, the one tests/install-deps.sh installs, or one on PATH."""
    for c in (os.environ.get("HELM", ""), "/usr/local/lib/ferry-kubectl/helm", shutil.which("helm") or ""):
        if c and os.access(c, os.X_OK):
            try:
                r = subprocess.run([c, "version", "--short"], stdout=subprocess.PIPE,
                                   stderr=subprocess.DEVNULL, text=True, env=ENV, timeout=20)
            except (OSError, subprocess.TimeoutExpired):
                continue
            if r.returncode == 0 and r.stdout.startswith("v3."):
                return c
    return None


def need(what, path):
    if path:
        return path
    why = f"no {what} found: run tests/install-deps.sh (as root)"
    if os.geteuid() != 0:
        skip(why)
    print(f"FAIL: {why}")
    sys.exit(1)


def run(args, stdin=None, env=ENV):
    r = subprocess.run(args, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, env=env, timeout=120)
    return r


def must(args, what):
    r = run(args)
    if r.returncode != 0:
        print(f"FAIL: {what}: exit {r.returncode}: {r.stderr.strip()}")
        sys.exit(1)
    return r.stdout


def documents(text):
    """(source, object) of each YAML document; source is Helm's '# Source:' comment, if any."""
    out = []
    for chunk in re.split(r"(?m)^---[ \t]*$", text):
        obj = yaml.safe_load(chunk)
        if obj is None:
            continue
        m = re.search(r"(?m)^# Source: (\S+)", chunk)
        out.append((m.group(1) if m else None, obj))
    return out


def key(obj):
    md = obj.get("metadata", {})
    return (obj.get("apiVersion"), obj.get("kind"), md.get("namespace", ""), md.get("name"))


def show(k):
    api, kind, ns, name = k
    return f"{kind} {ns + '/' if ns else ''}{name} ({api})"


def diff(a, b, path=""):
    """Where a (the chart's) and b (the kustomization's) differ, as readable lines."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            p = f"{path}.{k}"
            if k not in b:
                out.append(f"{p}: only in the chart: {a[k]!r}")
            elif k not in a:
                out.append(f"{p}: only in the kustomization: {b[k]!r}")
            else:
                out += diff(a[k], b[k], p)
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        out = []
        for i, (x, y) in enumerate(zip(a, b)):
            out += diff(x, y, f"{path}[{i}]")
        return out
    if type(a) is type(b) and a == b:
        return []
    return [f"{path or '.'}: chart {a!r}, kustomization {b!r}"]


def kustomized(kubectl):
    return [o for _, o in documents(must([kubectl, "kustomize", DEPLOY], "kubectl kustomize k8s/deploy"))]


def sync_crds(kubectl):
    """k8s/chart/crds/ := the CRDs the kustomization renders, one file each."""
    crds = [o for o in kustomized(kubectl) if o.get("kind") == "CustomResourceDefinition"]
    want = {}
    for o in crds:
        want[f"{o['metadata']['name']}.yaml"] = (
            "# SPDX-License-Identifier: MIT\n"
            "# Written by tests/chart/t_chart.py --sync-crds from `kubectl kustomize k8s/deploy`\n"
            "# (the kustomization's labels applied): edit k8s/deploy/crd-*.yaml, then sync.\n"
            + yaml.safe_dump(o, sort_keys=False, default_flow_style=False, width=1000))
    if os.path.isdir(CRDS):
        for f in os.listdir(CRDS):
            if f not in want:
                os.unlink(os.path.join(CRDS, f))
                print(f"removed k8s/chart/crds/{f}")
    if want:
        os.makedirs(CRDS, exist_ok=True)
    elif os.path.isdir(CRDS):
        os.rmdir(CRDS)
    for f, text in want.items():
        with open(os.path.join(CRDS, f), "w") as fh:
            fh.write(text)
        print(f"wrote k8s/chart/crds/{f}")
    sys.exit(0)


HELM = need("helm 3 (/usr/local/lib/ferry-kubectl/helm, $HELM or helm on PATH)", helm_path())
KUBECTL = need("kubectl >= 1.30 (/usr/lib/google-cloud-sdk/bin/kubectl.1.32 or "
               "/usr/local/lib/ferry-kubectl/kubectl)", kubectl_path())
if sys.argv[1:] == ["--sync-crds"]:
    sync_crds(KUBECTL)
elif sys.argv[1:]:
    print("usage: t_chart.py [--sync-crds]")
    sys.exit(2)

chart_meta = yaml.safe_load(open(os.path.join(CHART, "Chart.yaml")))
HELM_LABELS = {
    "helm.sh/chart": f"{chart_meta['name']}-{chart_meta['version']}",
    "app.kubernetes.io/managed-by": "Helm",
    "app.kubernetes.io/instance": RELEASE,
}

# ---- lint
r = run([HELM, "lint", "--strict", CHART])
check("helm lint --strict k8s/chart passes", r.returncode == 0 and "0 chart(s) failed" in r.stdout,
      (r.returncode, r.stdout + r.stderr), 0, REF)


def template(*args, crds=False):
    cmd = [HELM, "template", RELEASE, CHART] + (["--include-crds"] if crds else []) + list(args)
    return documents(must(cmd, "helm template " + " ".join(args)))


# ---- defaults against the kustomization
kust = {key(o): o for o in kustomized(KUBECTL)}
chart = {}
for source, obj in template(crds=True):
    k = key(obj)
    check(f"{show(k)} is rendered once by the chart", k not in chart, source, "one object", REF)
    obj = copy.deepcopy(obj)
    labels = obj.get("metadata", {}).get("labels") or {}
    if source and source.startswith(f"{chart_meta['name']}/crds/"):
        eq(f"{show(k)} comes from crds/ as a CustomResourceDefinition", obj.get("kind"),
           "CustomResourceDefinition", REF)
        eq(f"{show(k)} (crds/, not templated) carries none of Helm's labels",
           sorted(set(labels) & set(HELM_LABELS)), [], REF)
    else:
        eq(f"{show(k)} carries Helm's three labels with their values",
           {n: labels.get(n) for n in HELM_LABELS}, HELM_LABELS, REF)
        for n in HELM_LABELS:
            labels.pop(n, None)
    chart[k] = obj

for k in sorted(set(kust) - set(chart), key=str):
    hint = (" (tests/chart/t_chart.py --sync-crds writes k8s/chart/crds/ from the kustomization)"
            if k[1] == "CustomResourceDefinition" else " (add it to k8s/chart/templates/)")
    check(f"{show(k)} of the kustomization is rendered by the chart{hint}", False, "missing", "present", REF)
for k in sorted(set(chart) - set(kust), key=str):
    hint = (" (or tests/chart/t_chart.py --sync-crds takes it out of k8s/chart/crds/)"
            if k[1] == "CustomResourceDefinition" else "")
    check(f"{show(k)} rendered by the chart is in the kustomization too (k8s/deploy/kustomization.yaml){hint}",
          False, "only in the chart", "absent", REF)
for k in sorted(set(chart) & set(kust), key=str):
    d = diff(chart[k], kust[k])
    if not check(f"{show(k)}: the chart's defaults render what the kustomization renders "
                 "(Helm's three labels aside)", not d, ref=REF):
        for line in d:
            print(f"      {line}")
check("the kustomization renders the controller and the agent (the comparison compares something)",
      {"Deployment", "DaemonSet", "Namespace"} <= {k[1] for k in kust}, sorted({k[1] for k in kust}), ref=REF)

# ---- every value changed
VALUES = {
    "image": {"repository": "registry.example.com/storage/ferry", "tag": "1.2.3-rc.1", "pullPolicy": "Always"},
    "namespace": {"name": "ferry-ops", "create": False},
    "controller": {"replicas": 3,
                   "resources": {"requests": {"cpu": "200m", "memory": "48Mi"},
                                 "limits": {"cpu": "1", "memory": "256Mi"}}},
    "agent": {"nodeSelector": {"kubernetes.io/os": "linux", "ferry.io/agent": "true"},
              "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "storage",
                               "effect": "NoSchedule"},
                              {"key": "node.kubernetes.io/not-ready", "operator": "Exists"}],
              "resources": {"requests": {"cpu": "100m", "memory": "128Mi"},
                            "limits": {"cpu": "2", "memory": "1Gi"}},
              "kubeletDir": "/var/snap/microk8s/common/var/lib/kubelet"},
}
vfile = os.path.join(HOME, "values.yaml")
with open(vfile, "w") as f:
    yaml.safe_dump(VALUES, f)
r = run([HELM, "lint", "--strict", CHART, "-f", vfile])
check("helm lint --strict k8s/chart passes with every value changed",
      r.returncode == 0 and "0 chart(s) failed" in r.stdout, (r.returncode, r.stdout + r.stderr), 0, REF)

base = {key(o): o for _, o in template()}
changed = {key(o): o for _, o in template("-f", vfile)}
by_kind = {}
for k, o in changed.items():
    by_kind.setdefault(k[1], []).append(o)
image = f"{VALUES['image']['repository']}:{VALUES['image']['tag']}"
ns = VALUES["namespace"]["name"]
eq("namespace.create=false renders no Namespace", by_kind.get("Namespace", []), [], REF)
eq("namespace.name is every namespaced object's namespace",
   sorted({k[2] for k in changed if k[2]}), [ns], REF)
for kind in ("RoleBinding", "ClusterRoleBinding"):
    for o in by_kind.get(kind, []):
        eq(f"{kind} {o['metadata']['name']}'s subjects are in namespace.name",
           [s.get("namespace") for s in o["subjects"]], [ns] * len(o["subjects"]), REF)
dep = (by_kind.get("Deployment") or [{}])[0]
ds = (by_kind.get("DaemonSet") or [{}])[0]
dep_c = dep.get("spec", {}).get("template", {}).get("spec", {}).get("containers", [{}])[0]
ds_pod = ds.get("spec", {}).get("template", {}).get("spec", {})
ds_c = ds_pod.get("containers", [{}])[0]
eq("controller.replicas is the Deployment's replicas", dep.get("spec", {}).get("replicas"),
   VALUES["controller"]["replicas"], REF)
for what, c in (("controller", dep_c), ("agent", ds_c)):
    eq(f"image.repository:image.tag is the {what}'s image", c.get("image"), image, REF)
    eq(f"image.pullPolicy is the {what}'s imagePullPolicy", c.get("imagePullPolicy"),
       VALUES["image"]["pullPolicy"], REF)
    eq(f"{what}.resources are the {what} container's resources", c.get("resources"),
       VALUES[what]["resources"], REF)
eq("agent.nodeSelector is the DaemonSet's nodeSelector", ds_pod.get("nodeSelector"),
   VALUES["agent"]["nodeSelector"], REF)
eq("agent.tolerations are the DaemonSet's tolerations", ds_pod.get("tolerations"),
   VALUES["agent"]["tolerations"], REF)
kdir = VALUES["agent"]["kubeletDir"]
eq("agent.kubeletDir is the path of the DaemonSet's kubelet hostPath volume",
   [v.get("hostPath", {}).get("path") for v in ds_pod.get("volumes", []) if v.get("name") == "kubelet"], [kdir], REF)
eq("agent.kubeletDir is where the agent mounts it, still with HostToContainer propagation",
   [(m.get("mountPath"), m.get("mountPropagation")) for m in ds_c.get("volumeMounts", [])
    if m.get("name") == "kubelet"], [(kdir, "HostToContainer")], REF)

# and nothing else moved: the default render with exactly these edits
want = {}
for k, o in base.items():
    if o["kind"] == "Namespace":
        continue
    o = copy.deepcopy(o)
    if k[2]:
        o["metadata"]["namespace"] = ns
    for s in o.get("subjects", []):
        s["namespace"] = ns
    if o["kind"] in ("Deployment", "DaemonSet"):
        pod = o["spec"]["template"]["spec"]
        c = pod["containers"][0]
        c["image"] = image
        c["imagePullPolicy"] = VALUES["image"]["pullPolicy"]
    if o["kind"] == "Deployment":
        o["spec"]["replicas"] = VALUES["controller"]["replicas"]
        c["resources"] = VALUES["controller"]["resources"]
    if o["kind"] == "DaemonSet":
        c["resources"] = VALUES["agent"]["resources"]
        pod["tolerations"] = VALUES["agent"]["tolerations"]
        pod["nodeSelector"] = VALUES["agent"]["nodeSelector"]
        for v in pod["volumes"]:
            if v["name"] == "kubelet":
                v["hostPath"]["path"] = kdir
        for m in c["volumeMounts"]:
            if m["name"] == "kubelet":
                m["mountPath"] = kdir
    want[key(o)] = o
eq("with every value changed the chart renders the same objects, in the new namespace",
   sorted(changed, key=str), sorted(want, key=str), REF)
for k in sorted(set(changed) & set(want), key=str):
    d = diff(changed[k], want[k])
    if not check(f"{show(k)}: the values change what they name and nothing else", not d, ref=REF):
        for line in d:
            print(f"      {line.replace('kustomization', 'expected')}")

# ---- the release's namespace; no tolerations
rel = {key(o): o for _, o in template("-n", "ferry-rel", "--set", "namespace.name=",
                                      "--set-json", "agent.tolerations=[]")}
eq("an empty namespace.name is the release's namespace (helm -n), the Namespace object's too",
   sorted({k[2] or k[3] for k in rel if k[2] or k[1] == "Namespace"}), ["ferry-rel"], REF)
ds = next((o for k, o in rel.items() if k[1] == "DaemonSet"), {})
eq("empty agent.tolerations render no tolerations", "tolerations" in ds.get("spec", {}).get("template", {})
   .get("spec", {}), False, REF)

# ---- restore.writeSecrets=false: the agents' Secrets are still created (control/signals/issue.c)
nows = {key(o): o for _, o in template("--set", "restore.writeSecrets=false")}


def rules_of(objs, kind, name):
    return next((o.get("rules", []) for k, o in objs.items() if k[1] == kind and o["metadata"]["name"] == name), [])


def secret_rules(rules):
    return [r for r in rules if "secrets" in r.get("resources", [])]


eq("restore.writeSecrets=false: ClusterRole ferry-controller-restore writes no Secrets",
   secret_rules(rules_of(nows, "ClusterRole", "ferry-controller-restore")), [], REF)
eq("... and the controller's Role creates Secrets in its own namespace instead (the agents' certificate)",
   [r for r in secret_rules(rules_of(nows, "Role", "ferry-controller"))
    if r not in secret_rules(rules_of(base, "Role", "ferry-controller"))],
   [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["create"]}], REF)

# ---- the API server takes every object
if os.environ.get("FERRY_TEST_KBOX_DIR") or os.environ.get("FERRY_TEST_KUBECONFIG"):
    box = Box()
    bns = box.namespace("chart")
    text = must([HELM, "template", RELEASE, CHART, "--include-crds", "-f", vfile,
                 "--set", f"namespace.name={bns}"], "helm template for the dry run")
    objs = documents(text)
    r = run([KUBECTL, "apply", "--server-side", "--dry-run=server", "--field-manager=ferry-chart-test",
             "-f", "-"], stdin=text, env=dict(ENV, KUBECONFIG=box.kubeconfig))
    lines = [ln for ln in r.stdout.splitlines() if ln.endswith("(server dry run)")]
    check(f"kubectl apply --server-side --dry-run=server accepts each of the {len(objs)} objects "
          "of the changed render", r.returncode == 0 and len(lines) == len(objs),
          (r.returncode, r.stdout + r.stderr), f"{len(objs)} lines '... (server dry run)'", REF)
else:
    print("NOTE: no box (FERRY_TEST_KBOX_DIR, FERRY_TEST_KUBECONFIG; tests/run exports them): "
          "the server dry run is left out")

finish()
