#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""t_copy: a VolumeTransfer of direction copy, a snapshot carried from one bucket to another by
an agent (issue 21: two repositories, one per cloud).

Two buckets on the RGW of tests/run stand for two clouds: A, the repository the source's ferry
backs up into, and B, made with `ferry init --copy-keys-from A` (another password: blobs move as
they are). Two volumes are backed up into A with the CLI. `ferry controller` and `ferry agent`
run in a two-node box with no S3 credentials of their own: each repository names a
credentialsSecret. Checks:
- two copies made at once, with no spec.node, are placed on different nodes (the one with the
  fewest transfers at work), each Completed with its snapshot's full id, bytes read and stored;
- B then holds both snapshots under the same ids: each restores byte for byte equal to its
  volume, and `ferry check --read-data` of B is clean;
- a copy again of a snapshot B holds completes and stores nothing;
- spec.node places a copy on that node;
- a copy of a Backup's record (spec.record): the snapshot of its volume that B lacks first, then
  the record: B lists the Backup, its objects and its log byte for byte;
- bad input, each Failed with its reason and B unchanged: no spec.from.url, spec.from the same
  repository as spec.repository, a snapshot A does not hold, a spec.from password Secret that
  does not exist.
CI budget: 90 s.
"""
import hashlib
import json
import os
import random
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
import xferkit  # noqa: E402
from kboxtest import check, eq, finish, wait_until  # noqa: E402

T0 = time.time()
REF = "issue 21"
FERRY = xferkit.require()
EP, AK, SK, REGION, S3ENV, admin = xferkit.rgw()

SYS, API = "ferry-system", "/apis/ferry.io/v1alpha1"
NODES = ["node-a1", "node-b1"]
PW_A, PW_B = "copy-test-password-a", "copy-test-password-b"
TAG = f"{os.getpid()}-{random.randrange(1 << 30)}"
BA, BB = f"ferry-cpa-{TAG}", f"ferry-cpb-{TAG}"
URL_A, URL_B = f"s3://{BA}/repo", f"s3://{BB}/repo"
MiB = 1 << 20
VT = f"{API}/namespaces/{SYS}/volumetransfers"


def cli(pw, *args):
    """ferry with the test's credentials (the CLI's, not the agents')."""
    return subprocess.run([FERRY] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(S3ENV, FERRY_PASSWORD=pw), timeout=120)


def snapshots(url, pw):
    r = cli(pw, "snapshots", "--repo", url, "--json")
    return {s["id"]: s for s in json.loads(r.stdout)} if r.returncode == 0 else None


def repo(url, pw_secret):
    return {"url": url, "endpoint": EP, "region": REGION, "passwordSecretRef": {"name": pw_secret},
            "credentialsSecretRef": {"name": "s3-keys"}}


def copy(env, name, snap, volume, **kw):
    spec = {"direction": "copy", "volume": volume, "repository": repo(URL_B, "pw-b"), "from": repo(URL_A, "pw-a")}
    if snap:
        spec["snapshotID"] = snap
    spec.update(kw)
    env.create(VT, {"apiVersion": "ferry.io/v1alpha1", "kind": "VolumeTransfer", "metadata": {"name": name},
                    "spec": spec})


def ended(env, name, t=120):
    return wait_until(lambda: (lambda st: st.get("phase") in ("Completed", "Failed") and st)(
        ((env.get(f"{VT}/{name}") or {}).get("status") or {})), t, 0.2) or \
        ((env.get(f"{VT}/{name}") or {}).get("status") or {})


r = admin("mkbucket", BA, "--", "mkbucket", BB)
eq("two buckets on the RGW, two clouds' repositories", (r.returncode, r.stderr.strip()[-300:]), (0, ""),
   "tests/s3/s3admin.py")
env = None
try:
    r = cli(PW_A, "init", "--repo", URL_A, "--scrypt-n", "1024")
    eq("ferry init of A", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
    r = subprocess.run([FERRY, "init", "--repo", URL_B, "--scrypt-n", "1024", "--copy-keys-from", URL_A],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120,
                       env=dict(S3ENV, FERRY_PASSWORD=PW_B, FERRY_FROM_PASSWORD=PW_A))
    eq("ferry init of B --copy-keys-from A (its own password)", (r.returncode, r.stderr.strip()[-200:]), (0, ""),
       "control/repo")
    env = xferkit.Env(FERRY, os.path.join(HERE, "..", "kbox", "storage.yaml"), NODES, PW_A, "ferry-copy-")
    vols, ids = {}, {}
    rng = random.Random(7)
    for v, size in (("k8s/c1/shop/data-0", 24 * MiB), ("k8s/c1/shop/logs-0", 12 * MiB)):
        img = os.path.join(env.work, v.rsplit("/", 1)[1] + ".img")
        with open(img, "wb") as f:
            f.write(rng.randbytes(size // 2) + bytes(size // 4) + rng.randbytes(size // 4))
        r = cli(PW_A, "backup", "--repo", URL_A, "--volume", v, "--json", img)
        eq(f"backup of {v} into A", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
        ids[v] = json.loads(r.stdout)["snapshot_id"]
        vols[v] = img

    r = env.apply_manifests()
    eq("kubectl apply of ferry's manifests", (r.returncode, r.stderr.strip()[-300:]), (0, ""), REF)
    wait_until(lambda: env.api.get(f"{API}/namespaces/{SYS}/volumetransfers")[0] == 200, 20, 0.1)
    for name, data in (("pw-a", {"password": PW_A}), ("pw-b", {"password": PW_B}),
                       ("s3-keys", {"AWS_ACCESS_KEY_ID": AK, "AWS_SECRET_ACCESS_KEY": SK})):
        env.create(f"/api/v1/namespaces/{SYS}/secrets", {"apiVersion": "v1", "kind": "Secret",
                                                         "metadata": {"name": name}, "stringData": data})
    for n in NODES:
        env.start_agent(n)
    env.start_controller("copy-test", "controller.log")
    check("ferry controller leads", wait_until(lambda: env.leader() == "copy-test", 20, 0.1), None, None, REF)

    # ------------------------------------------------------------ two copies at once, spread
    for i, v in enumerate(vols):
        copy(env, f"copy-{i}", ids[v][:12], v)
    st = {f"copy-{i}": ended(env, f"copy-{i}") for i in range(len(vols))}
    print("note: " + json.dumps({n: {k: s.get(k) for k in ("phase", "node", "snapshotID", "bytesRead", "bytesNew",
                                                          "message")} for n, s in st.items()}), flush=True)
    eq("both copies Completed, each with its snapshot's full id",
       [(s.get("phase"), s.get("snapshotID")) for s in st.values()], [("Completed", ids[v]) for v in vols], REF)
    eq("... placed on different nodes (the one with the fewest transfers at work)",
       sorted(s.get("node") or "" for s in st.values()), NODES, REF)
    check("... each read and stored its snapshot's bytes (random data: stored about as read)",
          all((s.get("bytesRead") or 0) > 4 * MiB and (s.get("bytesNew") or 0) > 4 * MiB for s in st.values()),
          [(s.get("bytesRead"), s.get("bytesNew")) for s in st.values()], "> 4 MiB each", REF)
    got = snapshots(URL_B, PW_B) or {}
    eq("B holds both snapshots under their ids", sorted(got), sorted(ids.values()), REF)
    for v, img in vols.items():
        out = img + ".b"
        r = cli(PW_B, "restore", "--repo", URL_B, "--progress", "none", ids[v], out)
        same = r.returncode == 0 and hashlib.sha256(open(out, "rb").read()).digest() == \
            hashlib.sha256(open(img, "rb").read()).digest()
        check(f"{v} restored from B equals the volume", same, r.stderr.strip()[-200:], "equal", REF)
    r = cli(PW_B, "check", "--repo", URL_B, "--read-data")
    eq("ferry check --read-data of B is clean", (r.returncode, r.stderr.strip()[-200:]), (0, ""), REF)

    # ------------------------------------------------------------ again: nothing stored; spec.node
    v0 = next(iter(vols))
    copy(env, "copy-again", ids[v0], v0, node="node-b1")
    s = ended(env, "copy-again")
    eq("a copy of a snapshot B holds completes on spec.node, storing nothing",
       (s.get("phase"), s.get("node"), s.get("bytesNew")), ("Completed", "node-b1", 0), REF)

    # ------------------------------------------------------------ a Backup's record, its snapshot with it
    # a third volume backed up into A only, and a record naming it (t_record put: as the Backup
    # controller writes one, with its objects and its log)
    img3 = os.path.join(env.work, "cache-0.img")
    with open(img3, "wb") as f:
        f.write(rng.randbytes(6 * MiB))
    r = cli(PW_A, "backup", "--repo", URL_A, "--volume", "k8s/c1/shop/cache-0", "--json", img3)
    eq("backup of a third volume into A", (r.returncode, r.stderr.strip()[-200:]), (0, ""), "control/repo")
    id3 = json.loads(r.stdout)["snapshot_id"] if r.returncode == 0 else "-"
    objs = "".join(json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}",
                                                                                    "namespace": "shop"}},
                              separators=(",", ":")) + "\n" for i in range(30))
    r = subprocess.run([os.environ.get("T_RECORD", "t_record"), "put", URL_A, "shop-seed", id3, str(6 * MiB)],
                       input=objs, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60,
                       env=dict(S3ENV, FERRY_PASSWORD=PW_A, FERRY_TEST_S3_ENDPOINT=EP, FERRY_TEST_S3_REGION=REGION,
                                T_RECORD_LOG="the seed's log\n"))
    eq("a Backup's record shop-seed in A, naming the third volume's snapshot", (r.returncode, r.stderr.strip()[-200:]),
       (0, ""), "tests/datapath/t_record.c")
    copy(env, "copy-record", None, "k8s/c1/shop/cache-0",
         record={"name": "shop-seed", "namespace": SYS, "cluster": "0b7e7e4e-1111-2222-3333-444455556666"})
    s = ended(env, "copy-record")
    eq("a copy of the record: Completed, its id in B given", (s.get("phase"), bool(s.get("recordID")), s.get("message")),
       ("Completed", True, ""), REF)
    eq("... its volume's snapshot copied first: B holds it", id3 in (snapshots(URL_B, PW_B) or {}), True, REF)
    r = cli(PW_B, "backup", "get", "--repo", URL_B, "-o", "json")
    eq("... and B lists the Backup, with its 30 objects and its volume",
       [(x.get("name"), x.get("objects"), [v.get("snapshot") for v in x.get("volumes") or []])
        for x in (json.loads(r.stdout) if r.returncode == 0 else [])], [("shop-seed", 30, [id3])], REF)
    r = cli(PW_B, "backup", "download", "shop-seed", "--repo", URL_B, "--file", "-")
    eq("... its objects byte for byte", (r.returncode, r.stdout), (0, objs), REF)
    r = cli(PW_B, "backup", "logs", "shop-seed", "--repo", URL_B)
    eq("... and its log", (r.returncode, r.stdout), (0, "the seed's log\n"), REF)

    # ------------------------------------------------------------ bad input
    before = snapshots(URL_B, PW_B)
    bad = {
        "bad-nofrom": ({"from": {"passwordSecretRef": {"name": "pw-a"}}}, "spec.from.url is required"),
        "bad-same": ({"from": repo(URL_B, "pw-b")}, "spec.from and spec.repository are the same repository"),
        "bad-snap": ({"snapshotID": "0123456789abcdef"}, "spec.from: snapshot 0123456789abcdef"),
        "bad-record": ({"record": {"name": "no-such"}}, "spec.record: Backup no-such in spec.from"),
        "bad-secret": ({"from": repo(URL_A, "no-such")}, "the password Secret ferry-system/no-such does not exist"),
    }
    for name, (kw, _) in bad.items():
        copy(env, name, ids[v0], v0, **kw)
    for name, (kw, want) in bad.items():
        s = ended(env, name, 60)
        check(f"{name}: Failed, saying {want!r}", s.get("phase") == "Failed" and want in (s.get("message") or ""),
              (s.get("phase"), s.get("message")), want, REF)
    eq("... and B is unchanged", snapshots(URL_B, PW_B), before, REF)
    eq("the controller stops on SIGTERM with exit 0", env.stop_controller(), [0], "control/operator")
finally:
    if env:
        env.close(REF)
    admin("rmbucket", BA, "--", "rmbucket", BB)
print(f"note: {time.time() - T0:.1f} s in all")
finish()
