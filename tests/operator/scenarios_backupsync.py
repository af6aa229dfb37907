# SPDX-License-Identifier: MIT
"""Deleting a Backup and backup sync (control/cluster/backup_delete.c, repo_ctl.c) in the
box, under the shipped manifests: t_controller.py runs it with the other scenarios, then
again without each RBAC rule it uses.

An encrypted file:// repository in the test's temporary directory (the controller runs
here, as a local process), its password in a Secret of ferry-system, and a Repository
sync-a syncing every second; a namespace with a ConfigMap. Checked, as
control/cluster/cluster.h says:
- the Repository is validated: phase Available, lastValidationTime, its id, the Ready
  condition True (reason Available); a sync writes status.sync;
- two Backups end Completed, each with the finalizer ferry.io/backup-record;
- a user deletes the first: its record is gone from the repository (`ferry backup get
  --repo`), the finalizer removed, the Backup gone;
- the second deleted with ferry.io/keep-record=true: the Backup goes, its record stays,
  and sync makes it again: phase Completed, the record's id, the label naming the
  Repository, the finalizer;
- a cluster that has only the repository (the Backup deleted without its record, the
  Repository sync-a gone): a ReadOnly Repository sync-ro syncs it back, with
  spec.storageLocation sync-ro; deleting it is refused (the Ready condition False,
  reason RepositoryReadOnly), the finalizer and the record stay.
"""
import json
import os
import subprocess
import time

from opkit import NS
from scenarios_controller import LEASE, wait_until

APP_NS = "bsync-op"
API = "/apis/ferry.io/v1alpha1"
B = f"{API}/namespaces/{APP_NS}/backups"
R = f"{API}/namespaces/{NS}/repositories"
SECRETS = f"/api/v1/namespaces/{NS}/secrets"
PASSWORD = "bsync-op-password-1"
FINALIZER = "ferry.io/backup-record"
DONE = ("Completed", "PartiallyFailed", "Failed", "FailedValidation")


def _items(env, path):
    code, _, body = env.admin.get(path)
    return (body or {}).get("items", []) if code == 200 else []


def drop_backups(env, path):
    """Every Backup under @path deleted, its finalizers first (no controller may run)."""
    for o in _items(env, path):
        name = o["metadata"]["name"]
        if o["metadata"].get("finalizers"):
            env.admin.patch(f"{path}/{name}", {"metadata": {"finalizers": None}})
        env.admin.delete(f"{path}/{name}")
    wait_until(lambda: not _items(env, path), 10)


def _reset(env):
    env.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": APP_NS}})
    drop_backups(env, B)
    for name in ("sync-a", "sync-ro"):
        env.admin.delete(f"{R}/{name}")
    env.admin.delete(f"{SECRETS}/bsync-op")
    env.admin.delete(f"/api/v1/namespaces/{APP_NS}/configmaps/app-config")


def _ferry(env, *args):
    e = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=env.tmp)
    return subprocess.run([env.ferry] + list(args), capture_output=True, text=True, env=e,
                          timeout=30)


def _records(env, repo):
    g = _ferry(env, "backup", "get", "--repo", repo, "-o", "json")
    try:
        return sorted((x.get("name"), x.get("id")) for x in json.loads(g.stdout)) if g.returncode == 0 else None
    except ValueError:
        return None


def _ready(obj):
    for c in (obj.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return {}


def _get(env, path):
    code, _, body = env.admin.get(path)
    return body if code == 200 else {}


def _repository(env, name, mode):
    return env.admin.post(R, {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
        "metadata": {"name": name, "namespace": NS},
        "spec": {"url": f"file://{os.path.join(env.tmp, 'bsync-op-repo')}", "accessMode": mode,
                 "syncPeriod": "1s", "passwordSecret": {"name": "bsync-op"}}})


def scenario_backupsync(env, r):
    _reset(env)
    env.delete_lease()
    try:
        _scenario(env, r)
    finally:  # nothing left for the scenarios after it, whatever failed
        for p in env.procs:
            p.kill()
        _reset(env)


def _scenario(env, r):
    repo_dir = os.path.join(env.tmp, "bsync-op-repo")
    subprocess.run(["rm", "-rf", repo_dir], check=True)
    repo = f"file://{repo_dir}"
    i = _ferry(env, "init", "--repo", repo)
    if not r.check("ferry init", i.returncode == 0, i.stderr[-300:]):
        return
    env.admin.post(SECRETS, {"apiVersion": "v1", "kind": "Secret",
                             "metadata": {"name": "bsync-op", "namespace": NS},
                             "stringData": {"password": PASSWORD}})
    env.admin.post(f"/api/v1/namespaces/{APP_NS}/configmaps", {
        "apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "app-config", "namespace": APP_NS}, "data": {"k": "v"}})
    code, _, body = _repository(env, "sync-a", "ReadWrite")
    if not r.check("the Repository sync-a is made", code == 201, (code, body)):
        return
    a = env.controller("bsync-a")
    if not r.check("the controller leads", a.wait_line(r"bsync-a: leading", LEASE), a.text()[-400:]):
        return

    # validation
    ok = wait_until(lambda: (_get(env, f"{R}/sync-a").get("status") or {}).get("phase") == "Available" and
                    _ready(_get(env, f"{R}/sync-a")).get("reason") == "Available", 5, alive=a)
    st = _get(env, f"{R}/sync-a").get("status") or {}
    r.check("sync-a: phase Available, lastValidationTime, its id, encryption, the Ready condition "
            "True (Available), a sync done", ok and st.get("lastValidationTime") and
            len(st.get("repositoryId") or "") == 64 and st.get("encryption") == "aes-256-gcm" and
            _ready(_get(env, f"{R}/sync-a")).get("status") == "True" and
            (st.get("sync") or {}).get("lastSyncTime"), (st, a.text()[-600:]))

    # two Backups, each with the finalizer
    for name in ("bs-1", "bs-2"):
        env.admin.post(B, {"apiVersion": "ferry.io/v1alpha1", "kind": "Backup",
                           "metadata": {"name": name, "namespace": APP_NS},
                           "spec": {"includedNamespaces": [APP_NS],
                                    "includedResources": ["configmaps"],
                                    "storageLocation": "sync-a"}})
    done = wait_until(lambda: all((_get(env, f"{B}/{n}").get("status") or {}).get("phase") in DONE
                                  for n in ("bs-1", "bs-2")), 20, step=0.2, alive=a)
    b1, b2 = _get(env, f"{B}/bs-1"), _get(env, f"{B}/bs-2")
    if not r.check("both Backups end Completed, with no warning, each with the finalizer "
                   "ferry.io/backup-record",
                   done and all((b.get("status") or {}).get("phase") == "Completed" and
                                (b.get("status") or {}).get("warnings") == 0 and
                                FINALIZER in (b["metadata"].get("finalizers") or []) for b in (b1, b2)),
                   ([b1.get("status"), b2.get("status")], a.text()[-800:])):
        return
    id1, id2 = b1["status"].get("recordId"), b2["status"].get("recordId")
    r.check("their records are in the repository", _records(env, repo) == sorted([("bs-1", id1), ("bs-2", id2)]),
            _records(env, repo))

    # a user's delete: the record goes, then the finalizer, then the Backup
    env.admin.delete(f"{B}/bs-1")
    gone = wait_until(lambda: env.admin.get(f"{B}/bs-1")[0] == 404, 10, alive=a)
    r.check("deleted by a user: the Backup goes once its record is forgotten, the other record stays",
            gone and _records(env, repo) == [("bs-2", id2)], (_records(env, repo), a.text()[-600:]))

    # deleted alone (keep-record): sync makes it again
    uid2 = b2["metadata"]["uid"]
    env.admin.patch(f"{B}/bs-2", {"metadata": {"annotations": {"ferry.io/keep-record": "true"}}})
    env.admin.delete(f"{B}/bs-2")

    def back(repo_name, old_uid):
        b = _get(env, f"{B}/bs-2")
        return b if (b.get("metadata", {}).get("uid") not in (None, old_uid) and
                     (b.get("status") or {}).get("phase") == "Completed" and
                     (b["metadata"].get("labels") or {}).get("ferry.io/repository") == repo_name) else None
    b = wait_until(lambda: back("sync-a", uid2), 10, step=0.2, alive=a)
    r.check("deleted with ferry.io/keep-record: its record stays, and sync makes it again, "
            "Completed, naming the record, labelled with the Repository, with the finalizer",
            b and _records(env, repo) == [("bs-2", id2)] and b["status"].get("recordId") == id2 and
            (b["metadata"].get("annotations") or {}).get("ferry.io/record") == id2 and
            FINALIZER in (b["metadata"].get("finalizers") or []) and
            b["spec"].get("storageLocation") == "sync-a", (b, a.text()[-600:]))
    if not b:
        return
    st = _get(env, f"{R}/sync-a").get("status") or {}
    r.check("sync-a's status counts the records, the log names the Backup made",
            (st.get("sync") or {}).get("records") == 1 and
            "Backup bsync-op/bs-2 synced from record" in a.text(), (st, a.text()[-400:]))

    # a cluster that has only the repository: a ReadOnly Repository brings it back
    env.admin.delete(f"{R}/sync-a")
    wait_until(lambda: env.admin.get(f"{R}/sync-a")[0] == 404, 5)
    time.sleep(1)  # a sync of sync-a begun before its deletion ends (it makes nothing more)
    uid3 = b["metadata"]["uid"]
    env.admin.patch(f"{B}/bs-2", {"metadata": {"finalizers": None}})
    env.admin.delete(f"{B}/bs-2")
    wait_until(lambda: env.admin.get(f"{B}/bs-2")[0] == 404, 5)
    code, _, body = _repository(env, "sync-ro", "ReadOnly")
    if not r.check("the ReadOnly Repository sync-ro is made", code == 201, (code, body)):
        return
    b = wait_until(lambda: back("sync-ro", uid3), 10, step=0.2, alive=a)
    r.check("a ReadOnly Repository syncs it back, spec.storageLocation naming it",
            b and b["status"].get("recordId") == id2 and b["spec"].get("storageLocation") == "sync-ro",
            (b, _get(env, f"{R}/sync-ro").get("status"), a.text()[-600:]))
    if not b:
        return

    # deleting it: refused, the finalizer and the record stay
    env.admin.delete(f"{B}/bs-2")
    cond = wait_until(lambda: _ready(_get(env, f"{B}/bs-2")).get("reason") == "RepositoryReadOnly" and
                      _ready(_get(env, f"{B}/bs-2")), 5, alive=a)
    b = _get(env, f"{B}/bs-2")
    r.check("deleting a Backup of a ReadOnly Repository is refused: the Ready condition False, "
            "RepositoryReadOnly, naming it; the finalizer and the record stay",
            cond and cond.get("status") == "False" and "ReadOnly" in (cond.get("message") or "") and
            b.get("metadata", {}).get("deletionTimestamp") and
            FINALIZER in (b.get("metadata", {}).get("finalizers") or []) and
            _records(env, repo) == [("bs-2", id2)], (cond, b.get("metadata"), a.text()[-600:]))


SCENARIOS = [
    ("backupsync", scenario_backupsync),
]
