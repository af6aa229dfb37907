# SPDX-License-Identifier: MIT
"""t_backup_cli: `ferry backup|restore create|get|describe` (control/operator/cmd_appbackup.c)
against the box, with ferry's manifests applied and `ferry controller` running the Backup
reconciler under its service account (as tests/operator/scenarios_backup.py runs it).

The CLI runs as a user does: the box's admin kubeconfig, HOME a temporary directory.
- `backup create --wait` with a selector, the namespace, a TTL and the Repository: a line
  per change of its progress (stdout is no tty; on a pty one line rewritten in place),
  exit 0 once Completed; the Backup made
  holds the flags' fields (labelSelector.matchLabels, includedNamespaces, ttl "24h0m0s");
- `backup get` (table, -o wide, -o json as a List, -o yaml read back as the same object)
  and `backup describe` (--details, -o yaml);
- the repository's records keep working without a cluster: `backup get --repo URL` and
  FERRY_REPO list the record, with no kubeconfig at all; `backup logs` prints the same
  log from the cluster, with --repo and with FERRY_REPO;
- a Backup naming a Repository that does not exist: `--wait` exits 1 with one line that
  names FailedValidation and the reason;
- `create -o yaml` prints the object and creates nothing; `restore create -o yaml` with
  --namespace-mappings; `restore create` and `restore get|describe` (no Restore
  reconciler here: it stays New);
- malformed flags (a mapping, a selector, a boolean, a list, a policy; logs of two
  names, or with -o): one line on stderr, exit 2, nothing created;
- `backup delete`: refused off a terminal without --yes (exit 2, the Backup kept); with
  --yes --wait it returns once the Backup is gone, its record gone from the repository too
  (the controller's finalizer); a Backup that does not exist is exit 3; `restore delete
  --confirm --wait` deletes a Restore;
- `schedule create` from backup create's flags with --schedule, --time-zone, --keep-*,
  --paused, --skip-immediately: the Schedule's spec; get, describe, unpause, pause,
  delete; a bad cron line, zone or count: one line, exit 2, nothing made.
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import atexit
import json
import os
import pty
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402  (it puts tests/kbox on the path)
import kboxtest  # noqa: E402
from opkit import NS  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 15: CLI with Velero's nouns and kubectl's habits"
APP = "cli-app"
PASSWORD = "cli-password-1"
API = "/apis/ferry.io/v1alpha1"


def main():
    import yaml
    box = kboxtest.Box(private=True)
    env = opkit.Env(box)
    atexit.register(env.close)
    opkit.apply_manifests(env)
    repo_dir = os.path.join(env.tmp, "repo")
    repo = f"file://{repo_dir}"
    home = os.path.join(env.tmp, "cli-home")
    os.makedirs(home, exist_ok=True)

    def ferry(*args, kube=True, extra=None, timeout=60):
        e = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=home)
        for k in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT",
                  "FERRY_REPO"):
            e.pop(k, None)
        if kube:
            e["KUBECONFIG"] = box.kubeconfig
        e.update(extra or {})
        return subprocess.run([env.ferry] + list(args), capture_output=True, text=True,
                              env=e, timeout=timeout, stdin=subprocess.DEVNULL)

    def one_line(what, r, rc, *words):
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        eq(f"{what}: exit {rc}", r.returncode, rc, ref=REF)
        check(f"{what}: one line on stderr, an error",
              len(lines) == 1 and lines[0].startswith("ferry: error: "), r.stderr, ref=REF)
        for w in words:
            check(f"{what}: the line names {w!r}", w in r.stderr, r.stderr, ref=REF)

    def backups():
        code, _, body = box.admin.get(f"{API}/namespaces/{APP}/backups")
        return sorted(o["metadata"]["name"] for o in (body or {}).get("items", [])) \
            if code == 200 else None

    # the repository, its Secret and Repository; the application
    r = ferry("init", "--repo", repo, kube=False)
    if not check("ferry init", r.returncode == 0, r.stderr, ref=REF):
        kboxtest.finish()
    box.admin.post(f"/api/v1/namespaces/{NS}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "cli-repo", "namespace": NS},
        "stringData": {"password": PASSWORD}})
    code, _, body = box.admin.post(f"{API}/namespaces/{NS}/repositories", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Repository",
        "metadata": {"name": "cli-repo", "namespace": NS},
        "spec": {"url": repo, "passwordSecret": {"name": "cli-repo"}}})
    check("the Repository is created", code == 201, body, ref=REF)
    box.admin.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": APP}})
    for name, labels in (("web-config", {"app": "web"}), ("other", {"app": "other"})):
        box.admin.post(f"/api/v1/namespaces/{APP}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": name, "namespace": APP, "labels": labels},
            "data": {"k": "v"}})

    a = env.controller("cli-a")
    if not check("the controller leads", a.wait_line(r"cli-a: leading", 20), a.text()[-400:],
                 ref=REF):
        kboxtest.finish()

    # malformed flags first: nothing is created by any of them
    for what, args, words in (
            ("a mapping without ':'", ["restore", "create", "--from-backup", "b",
                                       "--namespace-mappings", "a"], ["'a'", "FROM:TO"]),
            ("a mapping's source twice", ["restore", "create", "--from-backup", "b",
                                          "--namespace-mappings", "a:b,a:c"], ["twice"]),
            ("a mapping to a name that is no namespace", ["restore", "create", "--from-backup",
                                                          "b", "--namespace-mappings", "a:B_"],
             ["TO is not a namespace"]),
            ("a selector that does not parse", ["backup", "create", "bad", "-n", APP,
                                                "--selector", "app in (web"], ["--selector"]),
            ("a boolean that is none", ["backup", "create", "bad", "-n", APP,
                                        "--snapshot-volumes=maybe"], ["'maybe'"]),
            ("an empty namespace in a list", ["backup", "create", "bad", "-n", APP,
                                              "--include-namespaces", "a,,b"], ["empty item"]),
            ("a TTL that is no duration", ["backup", "create", "bad", "-n", APP,
                                           "--ttl", "soon"], ["--ttl"]),
            ("an existing-resource policy that is none", ["restore", "create", "--from-backup",
                                                          "b", "--existing-resource-policy",
                                                          "merge"], ["none or update"]),
            ("backup create without a NAME", ["backup", "create", "-n", APP], ["NAME"]),
            ("restore create without --from-backup", ["restore", "create", "-n", APP],
             ["--from-backup"]),
            ("backup logs of two names", ["backup", "logs", "a", "b", "-n", APP], ["one NAME"]),
            ("restore logs -o json", ["restore", "logs", "a", "-n", APP, "-o", "json"],
             ["no -o"])):
        one_line(what, ferry(*args), 2, *words)
    eq("no Backup was created by malformed flags", backups(), [], ref=REF)

    # -o yaml prints, creates nothing
    r = ferry("backup", "create", "printed", "-n", APP, "-l", "app=web", "--ttl", "1d", "-o",
              "yaml")
    obj = yaml.safe_load(r.stdout) if r.returncode == 0 else None
    check("create -o yaml prints the Backup", obj and obj.get("kind") == "Backup" and
          obj["metadata"] == {"name": "printed", "namespace": APP} and
          obj["spec"] == {"labelSelector": {"matchLabels": {"app": "web"}}, "ttl": "24h0m0s"},
          (r.returncode, r.stdout, r.stderr), ref=REF)
    eq("create -o yaml creates nothing", backups(), [], ref=REF)

    # --from-schedule: the Schedule's template (its metadata as the Backup's labels)
    code, _, body = box.admin.post(f"{API}/namespaces/{APP}/schedules", {
        "apiVersion": "ferry.io/v1alpha1", "kind": "Schedule",
        "metadata": {"name": "nightly", "namespace": APP},
        "spec": {"schedule": "0 3 * * *", "paused": True,
                 "template": {"includedNamespaces": [APP], "ttl": "72h0m0s",
                              "metadata": {"labels": {"tier": "gold"}}}}})
    check("the Schedule is created", code == 201, body, ref=REF)
    r = ferry("backup", "create", "from-nightly", "-n", APP, "--from-schedule", "nightly",
              "--storage-location", "cli-repo", "-o", "yaml")
    obj = yaml.safe_load(r.stdout) if r.returncode == 0 else None
    check("create --from-schedule: the template, the flags over it, its labels",
          obj and obj["spec"] == {"includedNamespaces": [APP], "ttl": "72h0m0s",
                                  "storageLocation": "cli-repo"} and
          obj["metadata"].get("labels") == {"tier": "gold"}, (r.stdout, r.stderr), ref=REF)
    r = ferry("backup", "create", "x", "-n", APP, "--from-schedule", "absent", "-o", "yaml")
    one_line("create --from-schedule of a Schedule that does not exist", r, 3, "absent")
    box.admin.delete(f"{API}/namespaces/{APP}/schedules/nightly")

    # create --wait until Completed
    t0 = time.time()
    r = ferry("backup", "create", "web-1", "-n", APP, "--selector", "app=web",
              "--include-namespaces", APP, "--storage-location", "cli-repo", "--ttl", "24h",
              "--wait")
    secs = time.time() - t0
    check("backup create --wait: exit 0 once Completed", r.returncode == 0 and
          re.search(r"web-1 completed", r.stdout), (r.returncode, r.stdout, r.stderr,
                                                      a.text()[-600:]), ref=REF)
    lines = [x for x in r.stdout.splitlines() if x.startswith(f"backup {APP}/web-1:")]
    states = [re.sub(r", \d+ s$", "", x) for x in lines]
    check("--wait without a tty: a plain line per change of the progress, the last Completed",
          lines and "Completed" in lines[-1] and "\r" not in r.stdout and
          all(x != y for x, y in zip(states, states[1:])), r.stdout, ref=REF)
    print(f"# backup create --wait: {secs:.1f} s", flush=True)
    code, _, b = box.admin.get(f"{API}/namespaces/{APP}/backups/web-1")
    spec = (b or {}).get("spec") or {}
    check("the Backup holds the flags' fields", spec.get("labelSelector") == {
        "matchLabels": {"app": "web"}} and spec.get("includedNamespaces") == [APP] and
        spec.get("ttl") == "24h0m0s" and spec.get("storageLocation") == "cli-repo", spec,
        ref=REF)
    st = (b or {}).get("status") or {}

    # get: table, wide, json, yaml
    r = ferry("backup", "get", "-n", APP)
    check("backup get: a table with web-1 Completed", r.returncode == 0 and
          re.search(r"^NAME\s+STATUS\s+ERRORS", r.stdout, re.M) and
          re.search(r"^web-1\s+Completed\s+0\s+\d+\s.*cli-repo\s+app=web$", r.stdout, re.M),
          (r.stdout, r.stderr), ref=REF)
    r = ferry("backup", "get", "web-1", "-n", APP, "-o", "wide")
    check("backup get -o wide: items and the record's id", r.returncode == 0 and
          st.get("recordId", "-") in r.stdout and "ITEMS" in r.stdout, (r.stdout, r.stderr),
          ref=REF)
    r = ferry("backup", "get", "-n", APP, "-o", "json")
    try:
        lst = json.loads(r.stdout)
    except ValueError:
        lst = {}
    check("backup get -o json: a List holding web-1", lst.get("kind") == "List" and
          [o["metadata"]["name"] for o in lst.get("items", [])] == ["web-1"],
          (r.stdout[-400:], r.stderr), ref=REF)
    # the controller writes its Ready condition after the phase: compare with the
    # object as read just before and just after
    def fresh():
        return box.admin.get(f"{API}/namespaces/{APP}/backups/web-1")[2]

    b0 = fresh()
    r = ferry("backup", "get", "web-1", "-n", APP, "-o", "yaml")
    y = yaml.safe_load(r.stdout) if r.returncode == 0 else {}
    check("backup get -o yaml: the same object as the API server's",
          y and y["items"][0] in (b0, fresh()), (r.stdout[-600:], r.stderr), ref=REF)
    r = ferry("backup", "describe", "web-1", "-n", APP, "--details")
    check("backup describe --details: phase, selector, storage location, record, items",
          r.returncode == 0 and re.search(r"Phase:\s+Completed", r.stdout) and
          re.search(r"Label selector:\s+app=web", r.stdout) and
          re.search(r"Storage location:\s+cli-repo", r.stdout) and
          st.get("recordId", "-") in r.stdout and re.search(r"Items:\s+\d+ of \d+", r.stdout),
          (r.stdout, r.stderr), ref=REF)
    b0 = fresh()
    r = ferry("backup", "describe", "web-1", "-n", APP, "-o", "yaml")
    check("backup describe -o yaml: the object", r.returncode == 0 and
          yaml.safe_load(r.stdout) in (b0, fresh()), r.stdout[-400:], ref=REF)

    # -n defaults to the context's namespace; -A lists every namespace
    kc = yaml.safe_load(open(box.kubeconfig))
    for c in kc.get("contexts") or []:
        c["context"]["namespace"] = APP
    kc_app = os.path.join(env.tmp, "app.kubeconfig")
    with open(kc_app, "w") as f:
        yaml.safe_dump(kc, f)
    r = ferry("backup", "get", extra={"KUBECONFIG": kc_app})
    check("backup get without -n: the context's namespace",
          r.returncode == 0 and re.search(r"^web-1\s", r.stdout, re.M), (r.stdout, r.stderr),
          ref=REF)
    r = ferry("backup", "get", "-A")
    check("backup get -A: a NAMESPACE column", r.returncode == 0 and
          re.search(rf"^{APP}\s+web-1\s+Completed", r.stdout, re.M), (r.stdout, r.stderr),
          ref=REF)
    r = ferry("backup", "create", "x", "-n", APP, "-o", "json", extra={"FERRY_REPO": repo})
    check("FERRY_REPO exported: create is still the cluster's", r.returncode == 0 and
          json.loads(r.stdout or "{}").get("kind") == "Backup", (r.stdout, r.stderr), ref=REF)

    # the repository's records, without a cluster
    r = ferry("backup", "get", "--repo", repo, "-o", "json", kube=False)
    try:
        recs = json.loads(r.stdout)
    except ValueError:
        recs = []
    check("backup get --repo: the record of web-1, no cluster needed",
          r.returncode == 0 and [x.get("name") for x in recs] == ["web-1"],
          (r.stdout[-300:], r.stderr), ref=REF)
    r = ferry("backup", "describe", "web-1", "-n", APP, kube=False, extra={"FERRY_REPO": repo})
    check("FERRY_REPO selects the repository: describe reads the record",
          r.returncode == 0 and re.search(r"Record:\s+" + (st.get("recordId") or "-"),
                                          r.stdout), (r.stdout, r.stderr), ref=REF)
    # the log: the same from the cluster and from the repository alone
    lc = ferry("backup", "logs", "web-1", "-n", APP)
    lr = ferry("backup", "logs", "web-1", "-n", APP, "--repo", repo, kube=False)
    le = ferry("backup", "logs", "web-1", "-n", APP, kube=False, extra={"FERRY_REPO": repo})
    check("backup logs web-1: the same log from the cluster, with --repo and with FERRY_REPO, "
          "naming its record and its end",
          lc.returncode == 0 and lc.stdout == lr.stdout == le.stdout and
          f"record {st.get('recordId')}" in lc.stdout and
          f"backup {APP}/web-1 ended: Completed" in lc.stdout,
          (lc.returncode, lc.stdout[-600:], lc.stderr, lr.stderr, le.stderr), ref=REF)
    r = ferry("backup", "get", kube=False)
    check("without a repository and without a cluster: an error naming --repo",
          r.returncode != 0 and "--repo" in r.stderr, r.stderr, ref=REF)

    # on a terminal: one line, rewritten in place
    mfd, sfd = pty.openpty()
    e = dict(os.environ, FERRY_PASSWORD=PASSWORD, HOME=home, KUBECONFIG=box.kubeconfig)
    p = subprocess.Popen([env.ferry, "backup", "create", "web-2", "-n", APP, "-l", "app=web",
                          "--include-namespaces", APP, "--storage-location", "cli-repo",
                          "--wait"], stdout=sfd, stderr=subprocess.PIPE, env=e)
    os.close(sfd)
    out = b""
    while True:
        try:
            chunk = os.read(mfd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(mfd)
    rc = p.wait(timeout=60)
    tty = out.decode(errors="replace")
    check("--wait on a tty: exit 0, the progress line rewritten in place (CR, erase line)",
          rc == 0 and "\r\x1b[K" in tty and re.search(r"Completed", tty) and
          "web-2 completed" in tty, (rc, tty[-600:]), ref=REF)

    # a Repository that does not exist
    r = ferry("backup", "create", "no-repo", "-n", APP, "--storage-location", "nope", "--wait")
    one_line("a missing Repository", r, 1, "FailedValidation", "nope")

    # restores: printed, created, listed
    r = ferry("restore", "create", "r-1", "-n", APP, "--from-backup", "web-1",
              "--namespace-mappings", f"{APP}:cli-copy", "--existing-resource-policy", "update",
              "--restore-volumes=false", "--storage-location", "cli-repo", "-o", "yaml")
    obj = yaml.safe_load(r.stdout) if r.returncode == 0 else None
    check("restore create -o yaml: the Restore", obj and obj["kind"] == "Restore" and
          obj["spec"] == {"backupName": "web-1", "namespaceMapping": {APP: "cli-copy"},
                          "existingResourcePolicy": "update", "restoreVolumes": False,
                          "storageLocation": "cli-repo"},
          (r.stdout, r.stderr), ref=REF)
    r = ferry("restore", "create", "r-1", "-n", APP, "--from-backup", "web-1",
              "--namespace-mappings", f"{APP}:cli-copy")
    check("restore create: submitted", r.returncode == 0 and "submitted" in r.stdout,
          (r.stdout, r.stderr), ref=REF)
    code, _, rs = box.admin.get(f"{API}/namespaces/{APP}/restores/r-1")
    check("the Restore holds the mapping", code == 200 and
          rs["spec"].get("namespaceMapping") == {APP: "cli-copy"}, rs, ref=REF)
    r = ferry("restore", "get", "-n", APP)
    check("restore get: r-1 from web-1", r.returncode == 0 and
          re.search(r"^r-1\s+web-1\s", r.stdout, re.M), (r.stdout, r.stderr), ref=REF)
    r = ferry("restore", "describe", "r-1", "-n", APP)
    check("restore describe: the backup and the mapping", r.returncode == 0 and
          re.search(r"Backup:\s+web-1", r.stdout) and f"{APP}:cli-copy" in r.stdout and
          "Scale workloads to zero: false" in r.stdout,
          (r.stdout, r.stderr), ref=REF)
    # scaleWorkloadsToZero (issue 19's seed): the flag, its value, where it belongs
    r = ferry("restore", "create", "r-0", "-n", APP, "--from-backup", "web-1", "--scale-workloads-to-zero",
              "-o", "json")
    obj = json.loads(r.stdout) if r.returncode == 0 else {}
    check("restore create --scale-workloads-to-zero -o json: spec.scaleWorkloadsToZero true",
          (obj.get("spec") or {}).get("scaleWorkloadsToZero") is True, (r.stdout, r.stderr), ref=REF)
    r = ferry("restore", "create", "r-0", "-n", APP, "--from-backup", "web-1", "--scale-workloads-to-zero=maybe")
    one_line("--scale-workloads-to-zero=maybe: a usage error", r, 2, "scale-workloads-to-zero")
    r = ferry("backup", "create", "b-0", "-n", APP, "--scale-workloads-to-zero")
    one_line("backup create --scale-workloads-to-zero: restore's", r, 2, "--scale-workloads-to-zero")
    r = ferry("restore", "describe", "absent", "-n", APP)
    one_line("restore describe of a Restore that does not exist", r, 3, "absent")

    # delete: asked first (refused off a terminal without --yes), then the Backup's record goes
    # with it (its finalizer) and --wait returns once it is gone
    r = ferry("backup", "create", "del-me", "-n", APP, "-l", "app=web", "--include-namespaces", APP,
              "--storage-location", "cli-repo", "--wait")
    check("backup create del-me --wait: Completed", r.returncode == 0, (r.stdout, r.stderr), ref=REF)
    listed = lambda: ferry("backup", "get", "--repo", repo, kube=False).stdout  # noqa: E731
    check("its record is in the repository", "del-me" in listed(), listed(), ref=REF)
    r = ferry("backup", "delete", "del-me", "-n", APP)
    one_line("backup delete without --yes, stdin no terminal", r, 2, "--yes")
    check("... and the Backup is still there", "del-me" in (backups() or []), backups(), ref=REF)
    r = ferry("backup", "delete", "del-me", "-n", APP, "--yes", "--wait")
    check("backup delete --yes --wait: exit 0 once it is gone, said so",
          r.returncode == 0 and 'Backup "del-me" deleted.' in r.stdout, (r.stdout, r.stderr), ref=REF)
    check("the Backup is gone, and its record from the repository (the controller's finalizer)",
          "del-me" not in (backups() or ["del-me"]) and "del-me" not in listed(), (backups(), listed()),
          ref="issue 16: ferry backup delete")
    r = ferry("backup", "delete", "absent", "-n", APP, "--yes")
    one_line("backup delete of a Backup that does not exist", r, 3, "absent")
    r = ferry("backup", "delete", "-n", APP, "--yes")
    one_line("backup delete without a NAME", r, 2, "NAME")
    r = ferry("backup", "get", "web-1", "-n", APP, "--yes")
    one_line("--yes on get", r, 2, "--yes")
    # schedules: made from backup create's flags, listed, described, paused, deleted
    SC = f"{API}/namespaces/{APP}/schedules"
    r = ferry("schedule", "create", "nightly", "-n", APP, "--schedule", "0 3 * * *", "--time-zone",
              "Europe/Paris", "-l", "app=web", "--include-namespaces", APP, "--ttl", "72h",
              "--keep-last", "3", "--keep-daily", "7", "--skip-immediately", "--paused")
    code, _, sc = box.admin.get(f"{SC}/nightly")
    check("schedule create: exit 0, the Schedule holds the cron line, zone, retention and the template "
          "the backup flags make", r.returncode == 0 and code == 200 and sc["spec"] == {
              "schedule": "0 3 * * *", "timeZone": "Europe/Paris", "paused": True, "skipImmediately": True,
              "retention": {"last": 3, "daily": 7},
              "template": {"includedNamespaces": [APP], "labelSelector": {"matchLabels": {"app": "web"}},
                           "ttl": "72h0m0s"}}, (r.stdout, r.stderr, sc), ref="issue 16: ferry schedule")
    r = ferry("schedule", "get", "-n", APP)
    check("schedule get: nightly, its cron line, zone, paused", r.returncode == 0 and re.search(
        r"^nightly\s+\S+\s+0 3 \* \* \*\s+Europe/Paris\s+true\s", r.stdout, re.M), (r.stdout, r.stderr),
        ref="issue 16: ferry schedule")
    r = ferry("schedule", "describe", "nightly", "-n", APP)
    check("schedule describe: the zone and the template", r.returncode == 0 and
          re.search(r"Time zone:\s+Europe/Paris", r.stdout) and '"ttl":"72h0m0s"' in r.stdout,
          (r.stdout, r.stderr), ref="issue 16: ferry schedule")
    r = ferry("schedule", "unpause", "nightly", "-n", APP)
    paused = ((box.admin.get(f"{SC}/nightly")[2] or {}).get("spec") or {}).get("paused")
    check("schedule unpause: spec.paused false", r.returncode == 0 and paused is False, (r.stderr, paused),
          ref="issue 16: ferry schedule")
    r = ferry("schedule", "pause", "nightly", "-n", APP)
    paused = ((box.admin.get(f"{SC}/nightly")[2] or {}).get("spec") or {}).get("paused")
    check("schedule pause: spec.paused true", r.returncode == 0 and paused is True, (r.stderr, paused),
          ref="issue 16: ferry schedule")
    for what, args, words in (
            ("a day of week past 7", ["--schedule", "0 3 * * 8"], ["0 and 7 are Sunday"]),
            ("a zone that does not exist", ["--schedule", "@daily", "--time-zone", "Mars/Base"],
             ["Mars/Base"]),
            ("no --schedule", [], ["--schedule"]),
            ("a retention count that is no number", ["--schedule", "@daily", "--keep-last", "x"],
             ["--keep-last"])):
        r = ferry("schedule", "create", "bad", "-n", APP, *args)
        one_line(f"schedule create with {what}", r, 2, *words)
    check("... and none of them made a Schedule", box.admin.get(f"{SC}/bad")[0] == 404, ref=REF)
    r = ferry("schedule", "delete", "nightly", "-n", APP, "--yes")
    check("schedule delete --yes: the Schedule gone", r.returncode == 0 and
          box.admin.get(f"{SC}/nightly")[0] == 404, (r.stdout, r.stderr), ref="issue 16: ferry schedule")

    r = ferry("restore", "delete", "r-1", "-n", APP, "--confirm", "--wait")
    code, _, _ = box.admin.get(f"{API}/namespaces/{APP}/restores/r-1")
    check("restore delete --confirm --wait: exit 0, the Restore gone",
          r.returncode == 0 and code == 404, (r.stdout, r.stderr, code), ref="issue 16: ferry restore delete")
    kboxtest.finish()


if __name__ == "__main__":
    main()
