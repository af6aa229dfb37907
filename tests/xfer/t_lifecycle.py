#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_lifecycle: Backups that happen by themselves, expire, are deleted under Object Lock, and
are restored from a second cluster (issue 16), on the real RGW of tests/run.

Two buckets are made (s3admin.py): a plain one and one with Object Lock (a GOVERNANCE default
of one day). ferry's controller and agents run with no S3 credentials of their own (none in
their environment): every Repository names a credentialsSecret, and the Secrets' keys are all
they have. The box of tests/kbox/storage.yaml (two nodes); the application, namespace cron: a
claim of kbox-disk and a Deployment's pod that wrote a file and its sum once and rewrites 4 MiB of random
bytes every few seconds (so each Backup stores new data, and forgetting one leaves garbage).
Checked, as the issue says:
- Object Lock: a Backup into the locked bucket completes; `ferry backup delete --yes --wait`
  exits 6 with the date Object Lock keeps the record until (tomorrow's); the Backup stays
  with its finalizer and its Ready condition False, reason ObjectLocked; the record is
  still in the repository;
- a Schedule `0/10 * * * * ?` (Quartz, seconds) with `--keep-last 2` and `--ttl 30s`: it
  fires at least three times; once a third Backup completed the oldest is deleted (its CR
  and its record), while the two kept stay; paused, the kept ones go when their TTL passes:
  no Backup of the schedule, no record, none of their snapshots left; the deletes ask for a
  prune and the controller runs it (Repository status.maintenance: Succeeded, packs
  deleted, bytes freed), and the bucket holds fewer bytes after it than before;
- the controller's /metrics: ferry_backup_total of the schedule's Completed runs and of the
  others, its ferry_backup_last_successful_timestamp_seconds at its last Backup's
  completion, the duration histogram's count, the prunes and the bytes they freed;
- a Backup keep-1 without TTL stays through all of it; a second box pointed at the same
  bucket through a ReadOnly Repository syncs it (Completed, the label naming that
  Repository), restores it with `ferry restore create --from-backup keep-1 --wait`, and the
  restored pod finds its file whole (its sum checked); that controller, which ran no Backup,
  reports keep-1's completion as the last successful one.
CI budget: 3 minutes.
"""
import datetime
import json
import os
import random
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import check, eq, finish, wait_until  # noqa: E402
import xferkit  # noqa: E402

T0 = time.time()
REF = "issue 16"
FERRY = xferkit.require(("nsenter",))
EP, AK, SK, REGION, S3ENV, admin = xferkit.rgw()

APP, SYS, API = "cron", "ferry-system", "/apis/ferry.io/v1alpha1"
NODES = ["node-a1", "node-b1"]
PASSWORD = "lifecycle-test-password"
TAG = f"{os.getpid()}-{random.randrange(1 << 30)}"
PLAIN, LOCKED = f"ferry-lc-{TAG}", f"ferry-lcl-{TAG}"
URL, LURL = f"s3://{PLAIN}/repo", f"s3://{LOCKED}/repo"
# ready once the file is written and summed, or (restored) its sum checked
SCRIPT = ('cd /data; rm -f ok; if [ -f sums ]; then sha256sum -c sums > checked || exit 1; else '
          'head -c 8388608 /dev/urandom > fixed; sha256sum fixed > sums.tmp; sync; mv sums.tmp sums; sync; fi; '
          'touch ok; while :; do head -c 4194304 /dev/urandom > churn.tmp; mv churn.tmp churn; sync; sleep 3; done')


def repo_cli(*args):
    """ferry on a repository, with the test's credentials (the CLI's, not the controller's)."""
    return subprocess.run([FERRY] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(S3ENV, FERRY_PASSWORD=PASSWORD), timeout=120)


def records(url):
    r = repo_cli("backup", "get", "--repo", url, "-o", "json")
    if r.returncode:
        return None
    doc = json.loads(r.stdout)
    return sorted(i.get("name") or (i.get("metadata") or {}).get("name") for i in
                  (doc.get("items") if isinstance(doc, dict) else doc) or [])


def bucket_bytes(bucket, prefix):
    """Bytes of the objects under @prefix, listed with botocore's signer (not ferry's)."""
    code = ("import sys,os,hashlib,urllib.request,urllib.parse,xml.etree.ElementTree as ET\n"
            "from botocore.auth import S3SigV4Auth\nfrom botocore.awsrequest import AWSRequest\n"
            "from botocore.credentials import Credentials\n"
            "ep,b,p=sys.argv[1:4];tot=0;tok=None\n"
            "while True:\n"
            " q='list-type=2&prefix='+urllib.parse.quote(p,safe='')+('&continuation-token='+urllib.parse.quote(tok,safe='') if tok else '')\n"
            " u=f'{ep}/{b}?{q}';r=AWSRequest(method='GET',url=u,headers={'x-amz-content-sha256':hashlib.sha256(b'').hexdigest()})\n"
            " S3SigV4Auth(Credentials(os.environ['AWS_ACCESS_KEY_ID'],os.environ['AWS_SECRET_ACCESS_KEY']),'s3',os.environ['AWS_REGION']).add_auth(r)\n"
            " d=ET.fromstring(urllib.request.urlopen(urllib.request.Request(u,headers=dict(r.headers))).read())\n"
            " tot+=sum(int(e.text) for e in d.iter() if e.tag.endswith('}Size'))\n"
            " t=[e.text for e in d.iter() if e.tag.endswith('}NextContinuationToken')]\n"
            " if not t: break\n"
            " tok=t[0]\n"
            "print(tot)\n")
    r = subprocess.run([sys.executable, "-c", code, EP, bucket, prefix], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True, env=S3ENV, timeout=60)
    return int(r.stdout) if r.returncode == 0 else None


def setup(env, repos):
    """ferry's manifests, the Secrets, @repos (name -> spec), the agents and the controller."""
    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests", (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/repositories")[0] == 200, 20, 0.1)
    env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "repo-password"}, "stringData": {"password": PASSWORD}})
    env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {
        "name": "s3-keys"}, "stringData": {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK}})
    for name, spec in repos.items():
        env.create(f"{API}/namespaces/{SYS}/repositories", {
            "apiVersion": "ferry.io/v1alpha1", "kind": "Repository", "metadata": {"name": name},
            "spec": dict({"endpoint": EP, "region": REGION, "credentialsSecret": {"name": "s3-keys"},
                          "passwordSecret": {"name": "repo-password"}, "syncPeriod": "2s",
                          "maintenanceFrequency": "1s"}, **spec)})
    for n in NODES:
        env.start_agent(n)
    env.start_controller("lc-test", "controller.log", extra=["--kube-api-qps", "100", "--kube-api-burst", "200"])
    check("ferry controller leads", wait_until(lambda: env.leader() == "lc-test", 20, 0.1), None, None, REF)


def app(env, restored=False):
    lab = {"app": "cron"}
    if not restored:
        env.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": APP, "labels": lab}})
        env.create(f"/api/v1/namespaces/{APP}/persistentvolumeclaims", {
            "apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": "data", "labels": lab},
            "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
                     "resources": {"requests": {"storage": "64Mi"}}}})
        env.create(f"/apis/apps/v1/namespaces/{APP}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "writer", "labels": lab},
            "spec": {"replicas": 1, "strategy": {"type": "Recreate"}, "selector": {"matchLabels": lab},
                     "template": {"metadata": {"labels": lab}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "w", "image": "busybox", "command": ["sh", "-ec", SCRIPT],
                                         "readinessProbe": {"exec": {"command": ["test", "-f", "/data/ok"]},
                                                            "periodSeconds": 1},
                                         "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
                         "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}}})
    return wait_until(lambda: ((env.get(f"/apis/apps/v1/namespaces/{APP}/deployments/writer") or {}).get(
        "status") or {}).get("readyReplicas") == 1, 120, 0.3)


def samples(page):
    """{(name, frozenset of labels): value} of a Prometheus text page."""
    out = {}
    for line in page.splitlines():
        m = re.match(r'^([a-z_]+)(?:\{(.*)\})? (\S+)$', line)
        if m:
            lb = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2) or ""))
            out[(m.group(1), lb)] = float(m.group(3))
    return out


def backups(env, sched):
    return {b["metadata"]["name"]: b for b in (env.get(
        f"{API}/namespaces/{SYS}/backups?labelSelector=ferry.io%2Fschedule%3D{sched}") or {}).get("items") or []}


r = admin("mkbucket", PLAIN, "--", "mkbucket", LOCKED, "--object-lock-days", "1")
eq("two buckets on the RGW: a plain one, one with Object Lock (GOVERNANCE, 1 day)",
   (r.returncode, r.stderr.strip()[-300:]), (0, ""), "tests/s3/s3admin.py")
env = None
try:
    for url in (URL, LURL):
        r = repo_cli("init", "--repo", url, "--scrypt-n", "1024")
        eq(f"ferry init --repo {url}", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
    env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PASSWORD, "ferry-lc-")
    setup(env, {"default": {"url": URL}, "locked": {"url": LURL}})
    check("the application runs: its file written and summed", app(env), None, None, REF)
    sel = ["-l", "app=cron", "--include-namespaces", APP]

    # ------------------------------------------------------------ Object Lock refuses a delete
    r = env.ferry("backup", "create", "lk-1", "-n", SYS, "--storage-location", "locked", "--wait", *sel, timeout=300)
    eq("a Backup into the Object Lock bucket completes (the controller and agents with the credentialsSecret's "
       "keys only)", (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    r = env.ferry("backup", "delete", "lk-1", "-n", SYS, "--yes", "--wait", timeout=120)
    tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
    print(f"note: delete under Object Lock: exit {r.returncode}: {r.stderr.strip()[-400:]}", flush=True)
    check("ferry backup delete --yes --wait under Object Lock exits 6 naming the retain-until date (tomorrow)",
          r.returncode == 6 and "Object Lock" in r.stderr and tomorrow in r.stderr, (r.returncode, r.stderr[-300:]),
          f"6, ... until {tomorrow}...", REF)
    b = env.get(f"{API}/namespaces/{SYS}/backups/lk-1") or {}
    ready = next((c for c in (b.get("status") or {}).get("conditions") or [] if c.get("type") == "Ready"), {})
    eq("... the Backup stays, being deleted, with its finalizer; Ready False, reason ObjectLocked",
       (bool(b.get("metadata", {}).get("deletionTimestamp")), "ferry.io/backup-record" in
        (b.get("metadata", {}).get("finalizers") or []), ready.get("status"), ready.get("reason")),
       (True, True, "False", "ObjectLocked"), REF)
    eq("... and its record is still in the repository", records(LURL), ["lk-1"], REF)
    # let it go without its record (the bucket is removed at the end, bypassing GOVERNANCE)
    env.api.patch(f"{API}/namespaces/{SYS}/backups/lk-1", {"metadata": {"annotations": {"ferry.io/keep-record": "true"}}})
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/backups/lk-1")[0] == 404, 30, 0.3)

    # ------------------------------------------------------------ a Backup that stays; a schedule
    r = env.ferry("backup", "create", "keep-1", "-n", SYS, "--wait", *sel, timeout=300)
    eq("a Backup keep-1 without TTL completes", (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    before_sched = bucket_bytes(PLAIN, "repo/")
    r = env.ferry("schedule", "create", "every10", "-n", SYS, "--schedule", "0/10 * * * * ?", "--keep-last", "2",
                  "--ttl", "30s", *sel)
    eq("ferry schedule create every10 --schedule '0/10 * * * * ?' --keep-last 2 --ttl 30s",
       (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    seen, gone_early, done_at = {}, None, {}
    t_sched = time.time()
    while time.time() - t_sched < 75:
        now = backups(env, "every10")
        for n, b in now.items():
            seen.setdefault(n, b["metadata"]["uid"])
            if (b.get("status") or {}).get("phase") in ("Completed", "PartiallyFailed") and n not in done_at:
                done_at[n] = time.time()
        if len(done_at) >= 3:
            first = sorted(done_at)[0]
            if gone_early is None and first not in now:
                gone_early = {"deleted": first, "left": sorted(now)}
            if gone_early:
                break
        time.sleep(0.5)
    print(f"note: the schedule's Backups: {sorted(seen)}; completed {sorted(done_at)}; {gone_early}", flush=True)
    check("the schedule fired at least three times, each run one Backup named <schedule>-<run, UTC>",
          len(done_at) >= 3 and all(re.fullmatch(r"every10-\d{14}", n) for n in seen), sorted(seen), ">= 3", REF)
    check("once a third completed, keep-last 2 deleted the oldest and kept the two newer ones",
          gone_early is not None and gone_early["deleted"] == sorted(done_at)[0] and
          sorted(done_at)[1:3] == [n for n in gone_early["left"] if n in sorted(done_at)[1:3]],
          gone_early, "the oldest gone, the next two there", REF)
    recs = records(URL) or []
    check("... its record gone from the repository with it", gone_early and gone_early["deleted"] not in recs,
          recs, f"without {gone_early and gone_early['deleted']}", REF)
    r = env.ferry("schedule", "pause", "every10", "-n", SYS)
    eq("ferry schedule pause every10", r.returncode, 0, REF)
    ok = wait_until(lambda: not backups(env, "every10"), 60, 0.5)
    check("paused, the kept Backups go when their 30 s TTL passes: none of the schedule's left", ok,
          sorted(backups(env, "every10")), "[]", REF)
    recs = records(URL) or []
    eq("... nor a record of them: keep-1's alone is left", recs, ["keep-1"], REF)
    r = repo_cli("snapshots", "--repo", URL, "--json")
    snaps = json.loads(r.stdout) if r.returncode == 0 else []
    snaps = snaps.get("snapshots", []) if isinstance(snaps, dict) else snaps
    keep_ids = {v.get("snapshotId") for v in ((env.get(f"{API}/namespaces/{SYS}/backups/keep-1") or {}).get(
        "status") or {}).get("volumes") or []}
    eq("... nor any of their snapshots: the repository holds keep-1's only",
       sorted(s.get("id") for s in snaps), sorted(keep_ids), REF)

    def maint():
        return ((env.get(f"{API}/namespaces/{SYS}/repositories/default") or {}).get("status") or {}).get(
            "maintenance") or {}
    last_ask = maint().get("pruneRequestedTime") or ""
    ok = wait_until(lambda: maint().get("lastPruneResult") == "Succeeded" and
                    (maint().get("lastPruneTime") or "") >= last_ask, 30, 0.5)
    m = maint()
    print(f"note: the Repository's maintenance: {json.dumps(m)}", flush=True)
    check("the deletes asked for a prune and the controller ran it: Succeeded, packs deleted, bytes freed",
          ok and m.get("packsDeleted", 0) > 0 and m.get("bytesFreed", 0) > 0, m, "Succeeded, > 0", REF)
    after = bucket_bytes(PLAIN, "repo/")
    print(f"note: the bucket's repo/: {before_sched} bytes before the schedule, {after} after the prune", flush=True)
    check("... and the bucket holds no more than before the schedule ran (its Backups' data freed)",
          after is not None and before_sched is not None and after <= before_sched * 1.05, (before_sched, after),
          "after <= before (+5 %)", REF)
    sm = samples(env.controller_metrics())
    done_every = max(done_at.values()) if done_at else 0
    got = {"every10 Completed": sm.get(("ferry_backup_total", frozenset({("schedule", "every10"),
                                                                          ("phase", "Completed")}))),
           "no schedule Completed": sm.get(("ferry_backup_total", frozenset({("schedule", ""),
                                                                               ("phase", "Completed")}))),
           "every10 last success": sm.get(("ferry_backup_last_successful_timestamp_seconds",
                                            frozenset({("schedule", "every10")}))),
           "every10 durations": sm.get(("ferry_backup_duration_seconds_count", frozenset({("schedule", "every10")}))),
           "prunes": sm.get(("ferry_repository_prunes_total", frozenset({("repository", "default"),
                                                                         ("result", "Succeeded")}))),
           "pruned bytes": sm.get(("ferry_repository_pruned_bytes_total", frozenset({("repository", "default")})))}
    print(f"note: the controller's backup metrics: {got}", flush=True)
    check("the controller's /metrics: the schedule's Completed runs (>= 3) and the others' (lk-1, keep-1), "
          "its last success within the seconds its third Backup was seen completed, as many durations, the "
          "prunes (>= 1) and at least the bytes the last one freed",
          (got["every10 Completed"] or 0) >= 3 and got["no schedule Completed"] == 2 and
          abs((got["every10 last success"] or 0) - done_every) < 10 and
          got["every10 durations"] == got["every10 Completed"] and (got["prunes"] or 0) >= 1 and
          (got["pruned bytes"] or 0) >= m.get("bytesFreed", 1), got, "as said", REF)
    eq("the controller stops on SIGTERM with exit 0", env.stop_controller(), [0], "control/operator")
    env.close(REF)
    env = None

    # ------------------------------------------------------------ a second cluster, the same bucket
    env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PASSWORD, "ferry-lc2-")
    env.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": APP}})
    setup(env, {"old": {"url": URL, "accessMode": "ReadOnly"}})
    ok = wait_until(lambda: ((env.get(f"{API}/namespaces/{SYS}/backups/keep-1") or {}).get("status") or {}).get(
        "phase") == "Completed", 30, 0.5)
    b = env.get(f"{API}/namespaces/{SYS}/backups/keep-1") or {}
    eq("a second box with a ReadOnly Repository on the same bucket syncs keep-1: Completed, labelled with it",
       (ok, (b.get("metadata", {}).get("labels") or {}).get("ferry.io/repository"), b.get("spec", {}).get(
           "storageLocation")), (True, "old", "old"), REF)
    r = env.ferry("restore", "create", "keep-1-back", "--from-backup", "keep-1", "-n", SYS, "--wait", timeout=300)
    eq("ferry restore create --from-backup keep-1 --wait there: exit 0", (r.returncode, r.stderr.strip()[-300:]),
       (0, ""), REF)
    check("the restored pod finds its file whole (sha256sum -c of the sums it wrote) and is Ready",
          app(env, restored=True), None, None, REF)
    kt = ((env.get(f"{API}/namespaces/{SYS}/backups/keep-1") or {}).get("status") or {}).get("completionTimestamp")
    sm = samples(env.controller_metrics())
    got = sm.get(("ferry_backup_last_successful_timestamp_seconds", frozenset({("schedule", "")})))
    want = datetime.datetime.strptime(kt, "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() if kt else None
    eq("a controller that ran no Backup reports the synced keep-1's completion as the last successful one",
       got, want, REF)
    eq("the controller stops on SIGTERM with exit 0", env.stop_controller(), [0], "control/operator")
finally:
    if env:
        env.close(REF)
    admin("rmbucket", PLAIN, "--", "rmbucket", LOCKED)
print(f"note: {time.time() - T0:.1f} s in all")
finish()
