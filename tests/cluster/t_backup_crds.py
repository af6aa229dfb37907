# SPDX-License-Identifier: MIT
"""t_backup_crds: k8s/deploy/crd-{repositories,backups,restores}.yaml through kubectl v1.32.

On the box's API server (or a real cluster, FERRY_TEST_KUBECONFIG):
- the three CRDs apply with `kubectl apply --server-side` and become Established;
- valid Repositories, Backups and Restores (Velero's fields, every one the schemas type)
  apply server-side and are stored as written (nothing pruned), defaults filled in;
- the Backup a Schedule's run creates (control/cluster/schedule.c, through
  t_schedule_probe) is taken by the Backup schema as it is;
- wrong types, values outside an enum or a pattern, missing required fields and unknown
  fields are refused by kubectl (422; an undeclared field, 400: server-side apply builds a typed
  patch from the schema), each naming the field;
- the status each kind's controller writes is taken by the status subresource as written;
- `kubectl get ferry` lists the three kinds (their category), with their printer columns.
Usage: t_backup_crds.py PROBE (tests/cluster/t_schedule_probe). Exit 0, 1, 77 or 99.
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import Box, check, eq, finish, kubectl_path, wait_until  # noqa: E402

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (tests/install-deps.sh)")
    sys.exit(77)

KUBECTL = kubectl_path()
if not KUBECTL:
    print("FAIL: no kubectl >= 1.30 found: run tests/install-deps.sh")
    sys.exit(1)
PROBE = sys.argv[1]
DEPLOY = os.path.join(HERE, "..", "..", "k8s", "deploy")
REF = "k8s/deploy/crd-{repositories,backups,restores}.yaml"

box = Box()
c = box.admin
ns = box.namespace("brec")
HOME = tempfile.mkdtemp(prefix="kbox-kubectl-home-")
ENV = dict(os.environ, HOME=HOME, KUBECONFIG=box.kubeconfig)


def k(*args, stdin=None):
    r = subprocess.run([KUBECTL, "-n", ns] + list(args), input=stdin, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=ENV, timeout=60)
    return r.returncode, r.stdout, r.stderr


def table(out):
    return [re.split(r"\s{2,}", line.strip()) for line in out.strip().splitlines()]


# ------------------------------------------------------------------ the CRDs
for kind in ("repositories", "backups", "restores"):
    path = os.path.join(DEPLOY, f"crd-{kind}.yaml")
    rc, out, err = k("apply", "--server-side", "--force-conflicts", "-f", path)
    eq(f"kubectl apply --server-side of crd-{kind}.yaml", (rc, out.strip()),
       (0, f"customresourcedefinition.apiextensions.k8s.io/{kind}.ferry.io serverside-applied"), REF)
    rc, out, err = k("wait", "--for=condition=Established", f"crd/{kind}.ferry.io", "--timeout=30s")
    eq(f"{kind}.ferry.io becomes Established", rc, 0, REF)
for kind in ("repositories", "backups", "restores"):
    served = wait_until(lambda: c.get(f"/apis/ferry.io/v1alpha1/namespaces/{ns}/{kind}")[0] == 200, 20)
    check(f"{kind} are served", served, None, None, REF)
    if not served:
        finish()


def cr(kind, name, spec):
    return {"apiVersion": "ferry.io/v1alpha1", "kind": kind,
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


def apply(obj):
    return k("apply", "--server-side", "-f", "-", stdin=yaml.safe_dump(obj))


def stored(plural, name):
    code, _, body = c.get(f"/apis/ferry.io/v1alpha1/namespaces/{ns}/{plural}/{name}")
    return body if code == 200 else None


SEL = {"matchLabels": {"app": "app2backup"},
       "matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "web"]},
                            {"key": "canary", "operator": "DoesNotExist"}]}
REPO_FULL = {"url": "s3://ferry-test/cluster", "endpoint": "http://127.0.0.1:17480",
             "region": "us-east-1",
             "credentialsSecret": {"name": "s3", "accessKeyIdKey": "id", "secretAccessKeyKey": "key"},
             "passwordSecret": {"name": "repo-password", "key": "pw"},
             "caBundle": "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCg==",
             "accessMode": "ReadOnly", "validationFrequency": "1h30m", "syncPeriod": "30s"}
BACKUP_FULL = {"includedNamespaces": ["app", "db"], "excludedNamespaces": ["kube-system"],
               "includedResources": ["*"], "excludedResources": ["events", "events.events.k8s.io"],
               "includedClusterScopedResources": ["persistentvolumes"],
               "excludedClusterScopedResources": ["nodes"],
               "includedNamespaceScopedResources": ["*"],
               "excludedNamespaceScopedResources": ["pods"],
               "includeClusterResources": None, "labelSelector": SEL,
               "storageLocation": "default", "ttl": "720h0m0s", "snapshotVolumes": True,
               "snapshotMoveData": True, "defaultVolumesToFsBackup": False,
               "allowUnencryptedSecrets": False, "changedBlocks": "hash",
               "volumePolicies": [
                   {"conditions": {"capacity": "0,10Gi", "storageClass": ["slow"],
                                   "pvcLabels": {"skip": "yes"}, "csi": {"driver": "loop.kbox.ferry.io"},
                                   "nfs": {"server": "10.0.0.1", "path": "/export"},
                                   "hostPath": {"path": "/data"}},
                    "action": {"type": "skip"}},
                   {"action": {"type": "snapshot"}}],
               "resourcePolicy": {"kind": "configmap", "name": "policies"},
               "hooks": {"resources": [{"name": "freeze", "pre": [{"exec": {"command": ["true"]}}]}]},
               "csiSnapshotTimeout": "10m", "itemOperationTimeout": "4h",
               "orderedResources": {"pods": "app/a,app/b"}}
RESTORE_FULL = {"backupName": "app-backup", "storageLocation": "default",
                "includedNamespaces": ["app"], "excludedNamespaces": ["other"],
                "includedResources": ["*"], "excludedResources": ["nodes"],
                "includeClusterResources": False, "labelSelector": SEL,
                "namespaceMapping": {"app": "app-restored"},
                "storageClassMapping": {"loop-a": "loop-b"},
                "storageClassMappingConfigMap": "change-storage-class",
                "imageMapping": {"registry.example/app:1": "registry.example/app:2",
                                 "docker.io/": "mirror.example/"},
                "existingResourcePolicy": "update", "restoreVolumes": True, "restorePVs": None,
                "preserveNodePorts": True,
                "restoreStatus": {"includedResources": ["*"], "excludedResources": ["pods"]},
                "hooks": {"resources": []}, "itemOperationTimeout": "1h"}

# ---------------------------------------------------- valid: stored as written
TAKEN = [
    ("Repository", "repositories", "full", REPO_FULL, REPO_FULL),
    ("Repository", "repositories", "least", {"url": "file:///var/lib/ferry"},
     {"url": "file:///var/lib/ferry", "accessMode": "ReadWrite"}),
    ("Backup", "backups", "full", BACKUP_FULL, BACKUP_FULL),
    ("Backup", "backups", "or", {"orLabelSelectors": [{"matchLabels": {"a": "1"}}, {"matchLabels": {"b": "2"}}],
                                 "includeClusterResources": True},
     {"orLabelSelectors": [{"matchLabels": {"a": "1"}}, {"matchLabels": {"b": "2"}}],
      "includeClusterResources": True, "changedBlocks": "auto"}),
    ("Backup", "backups", "empty", {}, {"changedBlocks": "auto"}),
    ("Restore", "restores", "full", RESTORE_FULL, RESTORE_FULL),
    ("Restore", "restores", "least", {"backupName": "app-backup"}, None),
    ("Restore", "restores", "sched", {"scheduleName": "nightly", "existingResourcePolicy": "none"}, None),
]
for kind, plural, name, spec, want in TAKEN:
    rc, out, err = apply(cr(kind, name, spec))
    eq(f"{kind} {name}: kubectl apply --server-side takes it", (rc, out.strip(), err.strip()),
       (0, f"{kind.lower()}.ferry.io/{name} serverside-applied", ""), REF)
    got = stored(plural, name)
    eq(f"{kind} {name}: stored as written (nothing pruned, defaults filled in)",
       got and got.get("spec"), want if want is not None else spec, REF)

# the Backup a Schedule's run creates: spec.template's own fields, as schedule.c writes them
sched = {"apiVersion": "ferry.io/v1alpha1", "kind": "Schedule",
         "metadata": {"name": "nightly", "namespace": ns, "uid": "0b7e7e4e-1111-2222-3333-444455556666"},
         "spec": {"schedule": "@every 1h",
                  "template": dict(BACKUP_FULL, metadata={"labels": {"tier": "db"}})}}
r = subprocess.run([PROBE, str(int(time.time()))], input=json.dumps(sched), capture_output=True,
                   text=True, timeout=30)
if r.returncode != 0:
    print(f"ERROR: the probe failed ({r.returncode}): {r.stderr}")
    sys.exit(99)
backup = json.loads(r.stdout).get("backup")
check("the probe gives the Backup of a Schedule's run", isinstance(backup, dict), r.stdout[:300], None,
      "control/cluster/cluster.h cluster_schedule_backup()")
if isinstance(backup, dict):
    backup["metadata"]["namespace"] = ns
    rc, out, err = apply(backup)
    eq("the Backup a Schedule's run creates applies server-side (strict) as it is", (rc, err.strip()), (0, ""),
       REF + ", control/cluster/schedule.c")
    got = stored("backups", backup["metadata"]["name"])
    eq("...and is stored as written", got and got.get("spec"), backup["spec"], REF)
    eq("...with the schedule's label", got and got["metadata"].get("labels", {}).get("ferry.io/schedule"),
       "nightly", REF)

# ---------------------------------------------------- refused, naming the field
REFUSED = [
    ("Repository", "no url", {"region": "x"}, "spec.url: Required value"),
    ("Repository", "url not a string", {"url": 5}, "spec.url: Invalid value"),
    ("Repository", "http url", {"url": "http://bucket"}, "spec.url: Invalid value"),
    ("Repository", "bad access mode", {"url": "s3://b", "accessMode": "WriteOnly"},
     'spec.accessMode: Unsupported value: "WriteOnly"'),
    ("Repository", "sync period not a duration", {"url": "s3://b", "syncPeriod": "1 minute"},
     "spec.syncPeriod: Invalid value"),
    ("Repository", "secret without a name", {"url": "s3://b", "passwordSecret": {"key": "pw"}},
     "spec.passwordSecret.name: Required value"),
    ("Repository", "unknown field", {"url": "s3://b", "password": "hunter2"}, '.spec.password: field not declared in schema'),
    ("Repository", "no spec", None, "spec: Required value"),
    ("Backup", "namespaces not a list", {"includedNamespaces": "app"}, "spec.includedNamespaces: Invalid value"),
    ("Backup", "tri-state not a boolean", {"includeClusterResources": "auto"},
     "spec.includeClusterResources: Invalid value"),
    ("Backup", "ttl not a duration", {"ttl": "30 days"}, "spec.ttl: Invalid value"),
    ("Backup", "ttl a number", {"ttl": 3600}, "spec.ttl: Invalid value"),
    ("Backup", "selector operator", {"labelSelector": {"matchExpressions": [{"key": "a", "operator": "Is"}]}},
     'spec.labelSelector.matchExpressions[0].operator: Unsupported value: "Is"'),
    ("Backup", "selector label not a string", {"labelSelector": {"matchLabels": {"a": 1}}},
     "spec.labelSelector.matchLabels.a: Invalid value"),
    ("Backup", "or-selector not a list", {"orLabelSelectors": {"matchLabels": {"a": "1"}}},
     "spec.orLabelSelectors: Invalid value"),
    ("Backup", "policy action", {"volumePolicies": [{"action": {"type": "copy"}}]},
     'spec.volumePolicies[0].action.type: Unsupported value: "copy"'),
    ("Backup", "policy without action", {"volumePolicies": [{"conditions": {}}]},
     "spec.volumePolicies[0].action: Required value"),
    ("Backup", "storage classes not a list", {"volumePolicies": [{"conditions": {"storageClass": "slow"},
                                                                  "action": {"type": "skip"}}]},
     "spec.volumePolicies[0].conditions.storageClass: Invalid value"),
    ("Backup", "unknown field", {"includeNamespaces": ["app"]}, '.spec.includeNamespaces: field not declared in schema'),
    ("Backup", "secrets flag not a boolean", {"allowUnencryptedSecrets": "yes"},
     "spec.allowUnencryptedSecrets: Invalid value"),
    ("Restore", "no spec", None, "spec: Required value"),
    ("Restore", "mapping not a map", {"backupName": "b", "namespaceMapping": ["a:b"]},
     "spec.namespaceMapping: Invalid value"),
    ("Restore", "mapping to a number", {"backupName": "b", "namespaceMapping": {"a": 1}},
     "spec.namespaceMapping.a: Invalid value"),
    ("Restore", "mapping to nothing", {"backupName": "b", "storageClassMapping": {"a": ""}},
     "spec.storageClassMapping.a: Invalid value"),
    ("Restore", "existing policy", {"backupName": "b", "existingResourcePolicy": "replace"},
     'spec.existingResourcePolicy: Unsupported value: "replace"'),
    ("Restore", "restoreVolumes not a boolean", {"backupName": "b", "restoreVolumes": "no"},
     "spec.restoreVolumes: Invalid value"),
    ("Restore", "node ports not a boolean", {"backupName": "b", "preserveNodePorts": 1},
     "spec.preserveNodePorts: Invalid value"),
    ("Restore", "unknown field", {"backupName": "b", "namespaceMappings": {"a": "b"}},
     '.spec.namespaceMappings: field not declared in schema'),
]
for i, (kind, what, spec, why) in enumerate(REFUSED):
    obj = cr(kind, f"bad-{i}", spec)
    if spec is None:
        del obj["spec"]
    rc, out, err = apply(obj)
    check(f"{kind}, {what}: refused, naming the field", rc == 1 and why in err, err.strip(), why, REF)
    plural = {"Repository": "repositories", "Backup": "backups", "Restore": "restores"}[kind]
    eq(f"{kind}, {what}: nothing stored", stored(plural, f"bad-{i}"), None, REF)

# ---------------------------------------------------- status, as the controllers write it
COND = [{"type": "Ready", "status": "True", "observedGeneration": 1,
         "lastTransitionTime": "2026-12-06T06:00:00Z", "reason": "Validated", "message": "ok"}]
ID = "ab" * 32
STATUS = [
    ("repositories", "full", {"phase": "Available", "repositoryId": ID, "encryption": "aes-256-gcm",
                              "chunkSize": 1048576, "lastValidationTime": "2026-12-06T06:00:00Z",
                              "message": "", "observedGeneration": 1, "conditions": COND}),
    ("backups", "full", {"phase": "Completed", "validationErrors": [], "warningMessages": ["hooks are not run"],
                         "startTimestamp": "2026-12-06T06:00:00Z",
                         "completionTimestamp": "2026-12-06T06:01:00Z",
                         "expiration": "2027-01-05T06:00:00Z", "errors": 0, "warnings": 1,
                         "formatVersion": "1", "progress": {"totalItems": 12, "itemsBackedUp": 12},
                         "volumeSnapshotsAttempted": 2, "volumeSnapshotsCompleted": 2,
                         "clusterId": "0b7e7e4e-1111-2222-3333-444455556666", "repositoryId": ID,
                         "recordId": "cd" * 32,
                         "volumes": [{"namespace": "app", "pvc": "data-0",
                                      "volume": "k8s/0b7e7e4e-1111-2222-3333-444455556666/app/data-0",
                                      "phase": "Completed", "snapshotId": "ef" * 32, "size": 1 << 30,
                                      "bytesNew": 1 << 20, "message": ""}],
                         "observedGeneration": 1, "conditions": COND}),
    ("restores", "full", {"phase": "PartiallyFailed", "validationErrors": [], "warningMessages": ["w"],
                          "startTimestamp": "2026-12-06T06:00:00Z",
                          "completionTimestamp": "2026-12-06T06:01:00Z", "errors": 1, "warnings": 1,
                          "failureReason": "", "recordId": "cd" * 32,
                          "progress": {"totalItems": 12, "itemsRestored": 11},
                          "volumes": [{"namespace": "app-restored", "pvc": "data-0", "snapshotId": "ef" * 32,
                                       "phase": "Failed", "size": 1 << 30, "bytesDone": 0,
                                       "message": "no such storage class"}],
                          "observedGeneration": 1, "conditions": COND}),
]
for plural, name, status in STATUS:
    code, _, after = c.patch(f"/apis/ferry.io/v1alpha1/namespaces/{ns}/{plural}/{name}/status",
                             {"status": status})
    eq(f"{plural}: the controller's status is taken by the status subresource", code, 200, REF)
    eq(f"{plural}: ...and stored as written", after.get("status") if code == 200 else after, status, REF)
code, _, body = c.patch(f"/apis/ferry.io/v1alpha1/namespaces/{ns}/backups/full/status",
                        {"status": {"phase": "Done"}})
eq("a Backup phase that is not Velero's is refused (422)", code, 422, REF)
code, _, body = c.patch(f"/apis/ferry.io/v1alpha1/namespaces/{ns}/backups/full/status",
                        {"status": {"volumes": [{"namespace": "a", "pvc": "b", "snapshotId": "xyz"}]}})
eq("a volume's snapshot id that is not 64 hex digits is refused (422)", code, 422, REF)

# ---------------------------------------------------- kubectl get ferry, printer columns
rc, out, err = k("get", "ferry")
names = sorted(row[0] for row in table(out) if row and row[0] != "NAME")
for want in ("repository.ferry.io/full", "backup.ferry.io/full", "restore.ferry.io/full"):
    check(f"kubectl get ferry lists {want}", rc == 0 and want in names, names, want, "category ferry")
rc, out, err = k("get", "fbak", "full")
rows = table(out)
eq("kubectl get fbak (short name): the Backup's printer columns", rows[0] if rows else None,
   ["NAME", "PHASE", "REPOSITORY", "ERRORS", "WARNINGS", "STARTED", "EXPIRES", "AGE"], REF)
eq("...its values", rows[1][:5] if len(rows) > 1 else None, ["full", "Completed", "default", "0", "1"], REF)
rc, out, err = k("get", "frepo", "full", "-o", "wide")
rows = table(out)
eq("kubectl get frepo -o wide: the Repository's columns with the priority-1 ones",
   rows[0] if rows else None,
   ["NAME", "URL", "ACCESS", "PHASE", "ENCRYPTION", "REPOSITORY ID", "LAST VALIDATED", "LAST SYNCED",
    "LAST PRUNED", "AGE"], REF)
rc, out, err = k("get", "frestore", "full")
rows = table(out)
eq("kubectl get frestore: the Restore's columns", rows[1][:5] if len(rows) > 1 else None,
   ["full", "app-backup", "PartiallyFailed", "1", "1"], REF)
finish()
