# SPDX-License-Identifier: MIT
"""The Restore reconciler of `ferry controller` (control/cluster/restore_ctl.c) in the
box, under the shipped manifests: t_controller.py runs it with the other scenarios,
then again without each RBAC rule it uses (so each step returns at its first failure:
a rerun without a rule ends early).

An encrypted file:// repository in the test's temporary directory, its Repositories
(the right password, and a wrong one), a namespace with a ConfigMap, a Deployment, a
Service, a ServiceAccount, a Secret, a StatefulSet, a DaemonSet, a Job, a CronJob, a
PodDisruptionBudget, a HorizontalPodAutoscaler, a LimitRange and a ResourceQuota, backed up by a Backup of its own namespace (the Backups and
Restores live in another namespace, as Velero keeps them in its own). Checked, as
control/cluster/cluster.h "THE RESTORE RECONCILER" says:
- bad input, each FailedValidation with the reason in validationErrors and in a False
  Ready condition, writing nothing: a Backup that does not exist, a Repository whose
  Secret holds a wrong password, a storage class in storageClassMapping that does not
  exist (its target namespace is never made);
- the namespace deleted, a Restore: Completed, every object back and equal to its
  original after removing exactly the fields of README.md's strip list (and the two labels
  a restore adds); counts, times, the record's id, the Ready condition True;
- the same Restore again over what it made (existingResourcePolicy none): every object
  found as the backup has it, counted restored, and the Secret (written, never read by
  the controller) left uncompared: the one warning;
- a ConfigMap and the Secret changed, and a label of each workload and policy object,
  existingResourcePolicy update: each put back to the backup's content;
- namespaceMapping into another namespace: the objects there, equal to the originals;
- the Restores' logs (cluster.h "LOGS"): `ferry restore logs` of r1 and of r2 with the
  user's kubeconfig prints each one's own (its start, the Backup and record, the
  objects restored, r2's warning with its reason, its end), kept beside the Backup's
  record as logs/<record id>.<64 hex digits>, one per Restore that ended; a refused
  Restore and an unknown one are a one-line error and a non-zero exit.
"""
import os
import re
import subprocess
import sys

from opkit import NS
from scenarios_backupsync import drop_backups
from scenarios_controller import LEASE, wait_until

APP_NS = "restore-app"  # the application
MAPPED_NS = "restore-app2"  # namespaceMapping's target
NEVER_NS = "restore-app3"  # the target of the refused mapping: never made
CTL_NS = "restore-op"  # the Backup and the Restores
API = "/apis/ferry.io/v1alpha1"
B = f"{API}/namespaces/{CTL_NS}/backups"
RS = f"{API}/namespaces/{CTL_NS}/restores"
R = f"{API}/namespaces/{NS}/repositories"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"
PASSWORD = "restore-op-password-1"
HEX64 = r"[0-9a-f]{64}"
DONE = ("Completed", "PartiallyFailed", "Failed", "FailedValidation")

# the application's objects: (kind, API path of the collection under /namespaces/NS, name)
OBJECTS = [("ConfigMap", "/api/v1/namespaces/{ns}/configmaps", "app-config"),
           ("Deployment", "/apis/apps/v1/namespaces/{ns}/deployments", "app"),
           ("Service", "/api/v1/namespaces/{ns}/services", "app"),
           ("ServiceAccount", "/api/v1/namespaces/{ns}/serviceaccounts", "app-sa"),
           ("Secret", "/api/v1/namespaces/{ns}/secrets", "app-secret"),
           ("StatefulSet", "/apis/apps/v1/namespaces/{ns}/statefulsets", "db"),
           ("DaemonSet", "/apis/apps/v1/namespaces/{ns}/daemonsets", "agent"),
           ("Job", "/apis/batch/v1/namespaces/{ns}/jobs", "migrate"),
           ("CronJob", "/apis/batch/v1/namespaces/{ns}/cronjobs", "nightly"),
           ("PodDisruptionBudget", "/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", "app"),
           ("HorizontalPodAutoscaler", "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", "app"),
           ("LimitRange", "/api/v1/namespaces/{ns}/limitranges", "limits"),
           ("ResourceQuota", "/api/v1/namespaces/{ns}/resourcequotas", "quota")]
# the objects whose label `changed` existingResourcePolicy update puts back (a patch each)
LABELLED = ("DaemonSet", "Job", "CronJob", "PodDisruptionBudget", "HorizontalPodAutoscaler", "LimitRange",
            "ResourceQuota")

# README.md's strip list (the oracle, written again: tests/cluster/striplist.py)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "cluster"))
from striplist import ADDED, strip  # noqa: E402


def _items(env, path):
    code, _, body = env.admin.get(path)
    return (body or {}).get("items", []) if code == 200 else []


def _gone(env, ns):
    return env.admin.get(f"/api/v1/namespaces/{ns}")[0] == 404


def _reset(env):
    for o in _items(env, RS):
        env.admin.delete(f"{RS}/{o['metadata']['name']}")
    # the Backups carry the controller's finalizer, and no controller runs here
    drop_backups(env, B)
    for name in ("restore-op", "restore-op-badpw"):
        env.admin.delete(f"{R}/{name}")
        env.admin.delete(f"{SECRETS}/{name}")
    for ns in (APP_NS, MAPPED_NS, NEVER_NS):
        env.admin.delete(f"/api/v1/namespaces/{ns}")
    wait_until(lambda: not _items(env, RS) and not _items(env, B) and
               all(_gone(env, ns) for ns in (APP_NS, MAPPED_NS)), 60, step=0.2)


def _ferry(env, *args):
    e = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=env.tmp)
    return subprocess.run([env.ferry] + list(args), capture_output=True, text=True, env=e,
                          timeout=30)


def _logs(env, name):
    """ferry restore logs as a user runs it: the admin kubeconfig, no FERRY_PASSWORD."""
    e = dict(os.environ, HOME=env.tmp)
    e.pop("FERRY_PASSWORD", None)
    return subprocess.run([env.ferry, "restore", "logs", name, "-n", CTL_NS,
                           "--kubeconfig", env.box.kubeconfig],
                          capture_output=True, text=True, env=e, timeout=30)


def _ready(obj):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return {}


def _get(env, path, name):
    return env.admin.get(f"{path}/{name}")[2] or {}


def _done(env, path, name, a, timeout):
    """Wait until the object's phase is final and its Ready condition written."""
    wait_until(lambda: (_get(env, path, name).get("status") or {}).get("phase") in DONE and
               _ready(_get(env, path, name)).get("status") in ("True", "False"),
               timeout, step=0.2, alive=a)
    return _get(env, path, name)


def _app(env, repo_dir):
    """The repository, its Repositories and Secrets, the application."""
    r = _ferry(env, "init", "--repo", f"file://{repo_dir}")
    if r.returncode:
        return f"ferry init: {r.stderr[-300:]}"
    for ns in (APP_NS, CTL_NS):
        env.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                              "metadata": {"name": ns}})
    for name, pw in (("restore-op", PASSWORD), ("restore-op-badpw", "not-the-password")):
        env.admin.post(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                                 "metadata": {"name": name, "namespace": NS},
                                 "stringData": {"password": pw}})
        code, _, body = env.admin.post(R, {
            "apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
            "metadata": {"name": name, "namespace": NS},
            "spec": {"url": f"file://{repo_dir}", "passwordSecret": {"name": name}}})
        if code != 201:
            return f"Repository {name}: {code} {body}"
    objs = {
        "ConfigMap": {"apiVersion": "v1", "kind": "ConfigMap",
                      "metadata": {"name": "app-config", "labels": {"app": "app"},
                                   "annotations": {"note": "kept"}},
                      "data": {"greeting": "hello"}},
        "Deployment": {"apiVersion": "apps/v1", "kind": "Deployment",
                       "metadata": {"name": "app", "labels": {"app": "app"}},
                       "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "app"}},
                                "template": {"metadata": {"labels": {"app": "app"}},
                                             "spec": {"serviceAccountName": "app-sa",
                                                      "containers": [{"name": "app",
                                                                      "image": "busybox"}]}}}},
        "Service": {"apiVersion": "v1", "kind": "Service",
                    "metadata": {"name": "app", "labels": {"app": "app"}},
                    "spec": {"selector": {"app": "app"},
                             "ports": [{"port": 80, "targetPort": 8080}]}},
        "ServiceAccount": {"apiVersion": "v1", "kind": "ServiceAccount",
                           "metadata": {"name": "app-sa", "labels": {"app": "app"}}},
        "Secret": {"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                   "metadata": {"name": "app-secret", "labels": {"app": "app"}},
                   "stringData": {"token": "s3cr3t-token"}},
        "StatefulSet": {"apiVersion": "apps/v1", "kind": "StatefulSet",
                        "metadata": {"name": "db", "labels": {"app": "db"}},
                        "spec": {"replicas": 1, "serviceName": "db",
                                 "selector": {"matchLabels": {"app": "db"}},
                                 "template": {"metadata": {"labels": {"app": "db"}},
                                              "spec": {"containers": [{"name": "db",
                                                                       "image": "busybox"}]}}}},
        "DaemonSet": {"apiVersion": "apps/v1", "kind": "DaemonSet",
                      "metadata": {"name": "agent", "labels": {"app": "agent", "state": "kept"}},
                      "spec": {"selector": {"matchLabels": {"app": "agent"}},
                               "template": {"metadata": {"labels": {"app": "agent"}},
                                            "spec": {"containers": [{"name": "agent",
                                                                     "image": "busybox"}]}}}},
        "Job": {"apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"name": "migrate", "labels": {"app": "migrate", "state": "kept"}},
                "spec": {"backoffLimit": 2,
                         "template": {"spec": {"restartPolicy": "Never",
                                               "containers": [{"name": "m", "image": "busybox",
                                                               "command": ["sleep", "100000"]}]}}}},
        "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob",
                    "metadata": {"name": "nightly", "labels": {"app": "nightly", "state": "kept"}},
                    "spec": {"schedule": "0 3 * * *", "suspend": True,
                             "jobTemplate": {"spec": {"template": {"spec": {
                                 "restartPolicy": "Never",
                                 "containers": [{"name": "n", "image": "busybox"}]}}}}}},
        "PodDisruptionBudget": {"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                                "metadata": {"name": "app", "labels": {"app": "app", "state": "kept"}},
                                "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "app"}}}},
        "HorizontalPodAutoscaler": {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "app", "labels": {"app": "app", "state": "kept"}},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "app"},
                     "minReplicas": 1, "maxReplicas": 3,
                     "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}]}},
        "LimitRange": {"apiVersion": "v1", "kind": "LimitRange",
                       "metadata": {"name": "limits", "labels": {"app": "app", "state": "kept"}},
                       "spec": {"limits": [{"type": "Container", "max": {"memory": "1Gi"}}]}},
        "ResourceQuota": {"apiVersion": "v1", "kind": "ResourceQuota",
                          "metadata": {"name": "quota", "labels": {"app": "app", "state": "kept"}},
                          "spec": {"hard": {"configmaps": "100"}}},
    }
    for kind, path, _ in OBJECTS:
        code, _, body = env.admin.post(path.format(ns=APP_NS), objs[kind])
        if code != 201:
            return f"{kind}: {code} {body}"
    return None


def _originals(env):
    return {k: _get(env, p.format(ns=APP_NS), n) for k, p, n in OBJECTS}


def _restore(env, name, spec):
    code, _, body = env.admin.post(RS, {"apiVersion": "ferry.io/v1alpha1", "kind": "Restore",
                                        "metadata": {"name": name, "namespace": CTL_NS},
                                        "spec": spec})
    return None if code == 201 else f"Restore {name}: {code} {body}"


def _same(env, orig, ns, restore):
    """[] when each object in @ns equals its original less the strip list and carries the
    backup's and @restore's names; else what differs."""
    bad = []
    for kind, path, name in OBJECTS:
        got = _get(env, path.format(ns=ns), name)
        if not got:
            bad.append(f"{kind} {ns}/{name}: missing")
            continue
        labels = (got["metadata"].get("labels") or {})
        if [labels.get(a) for a in ADDED] != ["app", restore]:
            bad.append(f"{kind}: labels {labels}")
        if strip(got) != strip(orig[kind], ns):
            bad.append(f"{kind}: {strip(got)} != {strip(orig[kind], ns)}")
    return bad


def scenario_restore(env, r):
    _reset(env)
    env.delete_lease()
    try:
        _scenario(env, r)
    finally:  # nothing left for the scenarios after it, whatever failed
        for p in env.procs:
            p.kill()
        _reset(env)


def _scenario(env, r):
    repo_dir = os.path.join(env.tmp, "restore-op-repo")
    if os.path.exists(repo_dir):
        subprocess.run(["rm", "-rf", repo_dir], check=True)
    why = _app(env, repo_dir)
    if not r.check("the repository, its Repositories and the application are made", why is None,
                   why):
        return
    a = env.controller("restore-a", ["--kube-api-qps", "50", "--kube-api-burst", "100"])
    if not r.check("the controller leads", a.wait_line(r"restore-a: leading", LEASE),
                   a.text()[-400:]):
        return
    code, _, body = env.admin.post(B, {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Backup",
        "metadata": {"name": "app", "namespace": CTL_NS},
        "spec": {"includedNamespaces": [APP_NS], "storageLocation": "restore-op"}})
    if not r.check("the Backup is made", code == 201, body):
        return
    st = (_done(env, B, "app", a, 15).get("status") or {})
    if not r.check("the Backup of the namespace ends Completed", st.get("phase") == "Completed",
                   (st, a.text()[-800:])):
        return
    record = st.get("recordId")
    orig = _originals(env)  # as the Backup read them
    r.figures["backed up"] = (st.get("progress") or {}).get("itemsBackedUp")

    # bad input: FailedValidation with the reason, nothing written
    bad = (("r-no-backup", {"backupName": "nope"}, f"the Backup {CTL_NS}/nope does not exist"),
           ("r-bad-password", {"backupName": "app", "storageLocation": "restore-op-badpw"},
            "password of its Secret is wrong"),
           ("r-bad-class", {"backupName": "app", "namespaceMapping": {APP_NS: NEVER_NS},
                            "storageClassMapping": {"standard": "no-such-class"}},
            "the storage class no-such-class does not exist"))
    for name, spec, _ in bad:
        why = _restore(env, name, spec)
        if not r.check(f"Restore {name} is made", why is None, why):
            return
    for name, _, said in bad:
        o = _done(env, RS, name, a, 10)
        st, cond = o.get("status") or {}, _ready(o)
        if not r.check(f"{name}: FailedValidation, the reason in validationErrors and in the "
                       "Ready condition (False, FailedValidation)",
                       st.get("phase") == "FailedValidation" and
                       said in (st.get("validationErrors") or [""])[0] and
                       cond.get("status") == "False" and cond.get("reason") == "FailedValidation" and
                       said in (cond.get("message") or ""), (st, cond, a.text()[-600:])):
            return
    written = [o["metadata"]["name"] for o in _items(env, f"/api/v1/namespaces/{APP_NS}/configmaps")
               if (o["metadata"].get("labels") or {}).get("ferry.io/restore-name")]
    if not r.check("the refused Restores wrote nothing: no object labelled by a restore, no "
                   "mapped namespace", not written and _gone(env, NEVER_NS), written):
        return

    # the namespace deleted, restored
    env.admin.delete(f"/api/v1/namespaces/{APP_NS}")
    if not r.check("the namespace is deleted", wait_until(lambda: _gone(env, APP_NS), 60, step=0.2)):
        return
    if not r.check("Restore r1 is made", _restore(env, "r1", {"backupName": "app"}) is None):
        return
    o = _done(env, RS, "r1", a, 15)
    st, cond = o.get("status") or {}, _ready(o)
    prog = st.get("progress") or {}
    if not r.check("r1 ends Completed, every item restored, no error",
                   st.get("phase") == "Completed" and st.get("errors") == 0 and
                   prog.get("totalItems") and prog.get("itemsRestored") == prog.get("totalItems"),
                   (st, a.text()[-800:])):
        return
    r.check("r1's status: start and completion times, the record's id; Ready True, Completed",
            st.get("startTimestamp") and st.get("completionTimestamp") and
            st.get("recordId") == record and re.fullmatch(HEX64, record or "") and
            cond.get("status") == "True" and cond.get("reason") == "Completed", (st, cond))
    diff = _same(env, orig, APP_NS, "r1")
    if not r.check("each restored object equals its original less the strip list", not diff, diff):
        return

    # again over what it made: found as the backup has it, no warning
    if not r.check("Restore r2 is made", _restore(env, "r2", {"backupName": "app"}) is None):
        return
    st = (_done(env, RS, "r2", a, 15).get("status") or {})
    prog = st.get("progress") or {}
    uncompared = [m for m in st.get("warningMessages") or [] if m.startswith(
        f"Secret {APP_NS}/app-secret: exists, left uncompared (existingResourcePolicy update would write "
        f"it): get secrets/app-secret in namespace {APP_NS}: forbidden: grant 'get' on 'secrets'")]
    if not r.check("r2 over r1's objects: Completed, each found as the backup has it but the Secret, "
                   "which the controller may write and not read: the one warning",
                   st.get("phase") == "Completed" and st.get("warnings") == 1 and uncompared and
                   st.get("errors") == 0 and prog.get("itemsRestored") == prog.get("totalItems") - 1,
                   (st, a.text()[-800:])):
        return

    # each Restore's log, beside the Backup's record
    l1, l2 = _logs(env, "r1"), _logs(env, "r2")
    # the counts the log ends with are the status's (a pass run again, as after a controller
    # that died midway, finds its objects there: restored, the Secret a warning)
    s1 = _get(env, RS, "r1").get("status") or {}
    counts = re.search(r"objects: (\d+) of (\d+) restored, (\d+) warnings, 0 errors", l1.stdout)
    r.check("ferry restore logs r1: its start, the Backup and record, the objects (as its status counts "
            "them), its end",
            l1.returncode == 0 and f"restore {CTL_NS}/r1 started" in l1.stdout and
            f"from Backup {CTL_NS}/app: record {record}" in l1.stdout and counts and
            [int(x) for x in counts.groups()] == [(s1.get("progress") or {}).get("itemsRestored"),
                                                  (s1.get("progress") or {}).get("totalItems"),
                                                  s1.get("warnings")] and
            f'level=info msg="restore {CTL_NS}/r1 ended: Completed"' in l1.stdout and
            "r2" not in l1.stdout, (l1.returncode, l1.stdout[-1200:], l1.stderr[-300:]))
    r.check("ferry restore logs r2: its own, the uncompared Secret a warning with its reason",
            l2.returncode == 0 and f"restore {CTL_NS}/r2 started" in l2.stdout and
            re.search(r'level=warning msg="Secret ' + APP_NS + r'/app-secret: exists, left '
                      r'uncompared', l2.stdout) and "czNjcjN0" not in l2.stdout and
            f"restore {CTL_NS}/r2 ended: Completed" in l2.stdout,
            (l2.returncode, l2.stdout[-1200:], l2.stderr[-300:]))
    logs_dir = os.path.join(repo_dir, "logs")
    files = sorted(f for f in os.listdir(logs_dir) if not f.startswith(".")) \
        if os.path.isdir(logs_dir) else []
    r.check("the repository holds the Backup's log and one per Restore that ended "
            "(logs/<record id>.<64 hex digits>)",
            len(files) == 3 and record in files and
            sum(bool(re.fullmatch(re.escape(record or "-") + r"\.[0-9a-f]{64}", f))
                for f in files) == 2, files)
    for name, said in (("r-no-backup", f"Restore {CTL_NS}/r-no-backup has no log"),
                       ("nope", f"no Restore {CTL_NS}/nope")):
        lg = _logs(env, name)
        r.check(f"ferry restore logs {name}: a one-line error, a non-zero exit",
                lg.returncode != 0 and not lg.stdout and said in lg.stderr and
                len(lg.stderr.strip().splitlines()) == 1, (lg.returncode, lg.stderr))

    # a change put back by existingResourcePolicy update
    cm = f"/api/v1/namespaces/{APP_NS}/configmaps/app-config"
    sec = f"/api/v1/namespaces/{APP_NS}/secrets/app-secret"
    env.admin.patch(cm, {"data": {"greeting": "changed"}})
    env.admin.patch(sec, {"stringData": {"token": "changed"}})
    paths = {k: f"{p.format(ns=APP_NS)}/{n}" for k, p, n in OBJECTS if k in LABELLED}
    for path in paths.values():
        env.admin.patch(path, {"metadata": {"labels": {"state": "changed"}}})
    if not r.check("Restore r3 is made", _restore(env, "r3", {"backupName": "app",
                                                              "existingResourcePolicy": "update"})
                   is None):
        return
    st = (_done(env, RS, "r3", a, 15).get("status") or {})
    data = (env.admin.get(cm)[2] or {}).get("data")
    token = ((env.admin.get(sec)[2] or {}).get("data") or {}).get("token")
    states = {k: (((env.admin.get(p)[2] or {}).get("metadata") or {}).get("labels") or {}).get("state")
              for k, p in paths.items()}
    if not r.check("r3 (existingResourcePolicy update): Completed, the changed ConfigMap and Secret back, "
                   "and each workload's and policy's label",
                   st.get("phase") == "Completed" and st.get("errors") == 0 and
                   data == {"greeting": "hello"} and token == "czNjcjN0LXRva2Vu" and
                   set(states.values()) == {"kept"},
                   (st, data, token, states, a.text()[-800:])):
        return

    # namespaceMapping into another namespace
    if not r.check("Restore r4 is made", _restore(env, "r4", {
            "backupName": "app", "namespaceMapping": {APP_NS: MAPPED_NS}}) is None):
        return
    st = (_done(env, RS, "r4", a, 15).get("status") or {})
    if not r.check("r4 (namespaceMapping): Completed", st.get("phase") == "Completed" and
                   st.get("errors") == 0, (st, a.text()[-800:])):
        return
    diff = _same(env, orig, MAPPED_NS, "r4")
    r.check("each object in the mapped namespace equals its original less the strip list",
            not diff, diff)


SCENARIOS = [
    ("restore", scenario_restore),
]
