#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/migrate/bulk.py [--nodes 1,2,3] [--pods-per-node 3] [--fill-mib 48] [--copy] [--md FILE] [--json FILE]

A bulk migration's aggregate rate as simulated nodes are added (issue 21, "Measured"). Run
by bench/migrate-bulk.sh (root; the built ferry in build/ or $FERRY).

Per point (N nodes), two boxes of N nodes each (tests/migrate/warmkit.py: nodes, storage,
`ferry controller` and an agent per node as processes, agents at --max-transfers 4; one
file:// repository; the target's Repository ReadOnly, synced every second), brought down at
the end of the point. In the source one namespace per node, `app-<k>`: a StatefulSet of
--pods-per-node replicas held to node k (kubernetes.io/hostname), each pod with a `data`
claim (256 MiB) it fills once with --fill-mib MiB of random bytes and a `logs` claim (16
MiB); then every 2 s it rewrites the first MiB of the filled file (fsync), so that a sync
round's changed bytes are 1 MiB a data volume whatever the round's length. The work per node
is fixed: with more nodes there is more to move, and the aggregate rate should not fall.

One Migration of every namespace (--namespace-selector), `start --sync-interval 1`, two sync
rounds, then `cutover --wait`. Measured: the seed (the Migration's start to its seed's
completion; of it the source's Backup and the target's Restore by their own timestamps) and
its aggregate MB/s (the bytes filled over the seed's seconds); the most VolumeTransfers
Running at once on one node in each cluster (sampled every 0.2 s: the per-node limit is 4);
each sync round's bytes written against the bytes changed; the cutover's window. Timing
only: no pass/fail. A point that fails is a row saying where and why.

--copy: two repositories, one per cloud (spec.copy): the source backs up into its own, the
target's agents copy each snapshot into the target's. Also measured then: the seed's copies
(first made to last Completed, and MB/s over the filled bytes) and how long they overlapped
the seed's Backup and Restore; the same for the final Backup's copies inside the window.
"""
import argparse
import json
import os
import sys
import tempfile
import threading
import time
import traceback

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "migrate"))
sys.path.insert(0, os.path.join(ROOT, "tests", "kbox"))
sys.path.insert(0, os.path.join(ROOT, "tests", "xfer"))
import warmkit  # noqa: E402
from warmkit import API, SYS, wait_until  # noqa: E402
from kboxtest import Client  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from window import need, say  # noqa: E402  (window.py's progress lines and failed points)

MiB = 1 << 20
PASSWORD = "bench-bulk-password"
NAME = "bulk"


def config(n, path):
    with open(path, "w") as f:
        f.write("nodes:\n")
        for k in range(1, n + 1):
            f.write(f"- name: node-{k}\n  zone: zone-{'ab'[k % 2]}\n  cgroupDriver: {('cgroupfs', 'systemd')[k % 2]}\n")
        f.write("storage:\n  poolSize: 64Gi\n  snapshotReadySeconds: 1\n")


def writer(fill_mib):
    return (
        f'cd /data; [ -f fill.done ] || {{ dd if=/dev/urandom of=fill bs=1M count={fill_mib} conv=fsync 2>/dev/null; '
        'touch fill.done; }; '
        'echo app > index.html; httpd -p 8080 -h /data; '
        'while :; do dd if=/dev/urandom of=fill bs=1M count=1 conv=notrunc,fsync 2>/dev/null; '
        'date +%s >> /logs/journal; sleep 2; done')


def make_apps(env, n, per_node, fill_mib):
    labels = {"app": "app"}
    for k in range(1, n + 1):
        ns = f"app-{k}"
        env.create("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace",
                                          "metadata": {"name": ns, "labels": {"migrate": "bench"}}})
        env.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "app", "labels": labels},
            "spec": {"replicas": per_node, "serviceName": "app", "selector": {"matchLabels": labels},
                     "podManagementPolicy": "Parallel",
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "nodeSelector": {"kubernetes.io/hostname": f"node-{k}"},
                         "containers": [{"name": "app", "image": "busybox",
                                         "command": ["sh", "-ec", writer(fill_mib)],
                                         "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080},
                                                            "periodSeconds": 1},
                                         "volumeMounts": [{"name": "data", "mountPath": "/data"},
                                                          {"name": "logs", "mountPath": "/logs"}]}]}},
                     "volumeClaimTemplates": [
                         {"metadata": {"name": c, "labels": labels},
                          "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "kbox-disk",
                                   "resources": {"requests": {"storage": size}}}}
                         for c, size in (("data", "256Mi"), ("logs", "16Mi"))]}})


def all_ready(env, n, per_node):
    return all(((env.get(f"/apis/apps/v1/namespaces/app-{k}/statefulsets/app") or {}).get("status") or {}).get(
        "readyReplicas") == per_node for k in range(1, n + 1))


class InFlight:
    """The most VolumeTransfers Running at once on one node of @env, sampled every 0.2 s."""

    def __init__(self, env):
        self.env, self.most, self.stop = env, {}, threading.Event()
        self.th = threading.Thread(target=self.run, daemon=True)
        self.th.start()

    def run(self):
        # a client of its own: one connection is not for two threads
        c = Client(self.env.box.url, self.env.box.ca, self.env.box.env["KBOX_ADMIN_TOKEN"])
        while not self.stop.is_set():
            per = {}
            try:
                code, _, body = c.get(f"{API}/namespaces/{SYS}/volumetransfers")
            except OSError:
                code, body = 0, None
            for v in (body if code == 200 else {}).get("items") or []:
                s = v.get("status") or {}
                if s.get("phase") == "Running" and s.get("node"):
                    per[s["node"]] = per.get(s["node"], 0) + 1
            for node, k in per.items():
                self.most[node] = max(self.most.get(node, 0), k)
            time.sleep(0.2)

    def end(self):
        self.stop.set()
        self.th.join(5)
        return max(self.most.values(), default=0)


def ts(s):
    from datetime import datetime
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp() if s else None


def ferry(env, *args, timeout=600):
    import subprocess
    r = subprocess.run([env.ferry_bin, "migrate"] + list(args), capture_output=True, text=True, env=env.env,
                       timeout=timeout, stdin=subprocess.DEVNULL)
    if r.returncode:
        say(f"ferry migrate {' '.join(args)}: exit {r.returncode}: {r.stderr.strip()[-400:]}")
    return r


def span(xs):
    """(first start, last end) of @xs, (start, end) pairs with None where not known."""
    starts = [a for a, _ in xs if a]
    ends = [b for _, b in xs if b]
    return (min(starts), max(ends)) if starts and ends else (None, None)


def overlap(a, b):
    """Seconds the spans @a and @b share."""
    if None in a or None in b:
        return None
    return round(max(0.0, min(a[1], b[1]) - max(a[0], b[0])), 1)


def copy_figures(row, copies, prefix, backup, restore=None):
    """The copies named @prefix*: their span, and its overlap with @backup's (and @restore's)."""
    mine = [(ts(c.get("created")), ts(c.get("done"))) for n, c in copies.items() if n.startswith(prefix)]
    cs = span(mine)
    key = prefix.rstrip("-c").rsplit("-", 1)[-1]
    if cs[0] is None:
        row[f"{key} copies"] = 0
        return
    bs = (ts(backup.get("startTimestamp")), ts(backup.get("completionTimestamp")))
    row[f"{key} copies"] = len(mine)
    row[f"{key} copy s"] = round(cs[1] - cs[0], 1)
    row[f"{key} copy overlapping its backup s"] = overlap(cs, bs)
    if restore is not None:
        rs = (ts(restore.get("startTimestamp")), ts(restore.get("completionTimestamp")))
        row[f"{key} copy overlapping the restore s"] = overlap(cs, rs)


def point(ferry_bin, n, per_node, fill_mib, tmp, copy=False):
    row = {"nodes": n, "volumes": 2 * n * per_node, "filled MiB": n * per_node * fill_mib, "copy": copy}
    src = dst = None
    copies = {}
    stop = threading.Event()
    try:
        cfg = os.path.join(tmp, f"nodes-{n}.yaml")
        config(n, cfg)
        nodes = [f"node-{k}" for k in range(1, n + 1)]
        t = time.time()
        src, dst, repo = warmkit.pair(ferry_bin, PASSWORD, (cfg, cfg), nodes, copy=copy)

        def saw(o):
            if (o.get("spec") or {}).get("direction") == "copy":
                st_ = o.get("status") or {}
                c = copies.setdefault(o["metadata"]["name"], {"created": o["metadata"].get("creationTimestamp")})
                c.update({"done": st_.get("completionTime"), "node": st_.get("node"), "bytes": st_.get("bytesNew")})
        if copy:
            dst.watch(f"{API}/namespaces/{SYS}/volumetransfers", saw, stop)
        row["boxes up s"] = round(time.time() - t, 1)
        make_apps(src, n, per_node, fill_mib)
        t = time.time()
        need(wait_until(lambda: all_ready(src, n, per_node), 300, 0.5), "the applications filled and ready")
        row["filled s"] = round(time.time() - t, 1)
        say(f"{n} node(s): {row['volumes']} volumes, {row['filled MiB']} MiB filled in {row['filled s']} s")
        kc = warmkit.reader_kubeconfig(src)
        need(ferry(dst, "plan", NAME, "--source-kubeconfig", kc, "--namespace-selector", "migrate=bench")
             .returncode == 0, "the plan")
        sflight, dflight = InFlight(src), InFlight(dst)
        need(ferry(dst, "start", NAME, "--sync-interval", "1", "--cutover-bound", "120",
                   *(["--copy-from", repo, "--copy-password-secret", warmkit.COPY_SECRET] if copy else []))
             .returncode == 0, "start")

        def mig():
            return (dst.get(f"{API}/namespaces/{SYS}/migrations/{NAME}") or {}).get("status") or {}
        need(wait_until(lambda: mig().get("phase") == "Failed" or len(mig().get("rounds") or []) >= 2, 900, 0.5),
             "two sync rounds")
        st = mig()
        need(st.get("phase") == "Syncing", f"phase {st.get('phase')}: {st.get('message')}")
        seed = st.get("seed") or {}
        bst = (src.get(f"{API}/namespaces/{SYS}/backups/{NAME}-seed") or {}).get("status") or {}
        rst = (dst.get(f"{API}/namespaces/{SYS}/restores/{NAME}") or {}).get("status") or {}
        seed_s = ts(seed.get("completionTime")) - ts(st.get("startTime"))
        b_s = ts(bst.get("completionTimestamp")) - ts(bst.get("startTimestamp"))
        r_s = ts(rst.get("completionTimestamp")) - ts(rst.get("startTimestamp"))
        row.update({"seed s": round(seed_s, 1), "backup s": round(b_s, 1), "restore s": round(r_s, 1),
                    "seed MB/s": round(row["filled MiB"] * MiB / 1e6 / seed_s, 1),
                    "backup MB/s": round(row["filled MiB"] * MiB / 1e6 / b_s, 1),
                    "restore MB/s": round(row["filled MiB"] * MiB / 1e6 / r_s, 1)})
        if copy:
            copy_figures(row, copies, f"{NAME}-seed-c", bst, rst)
        rounds = (st.get("rounds") or [])[:2]
        row["rounds"] = [{"MiB written": round((x.get("bytesWritten") or 0) / MiB, 1), "s": x.get("seconds")}
                         for x in rounds]
        row["changed MiB a round"] = n * per_node  # 1 MiB of each data volume
        row["most in flight a node (source)"] = sflight.end()
        t = time.time()
        r = ferry(dst, "cutover", NAME, "--wait", "--wait-timeout", "600")
        row["most in flight a node (target)"] = dflight.end()
        st = mig()
        need(r.returncode == 0 and st.get("phase") == "Completed", f"cutover: {st.get('phase')}: {st.get('message')}")
        row["cutover s"] = round(time.time() - t, 1)
        cut = st.get("cutover") or {}
        row["window s"] = cut.get("windowSeconds")
        row["window parts s"] = {k[:-len("Seconds")]: cut.get(k) for k in (
            "backupSeconds", "snapshotSeconds", "applySeconds", "verifySnapshotSeconds", "startSeconds",
            "readySeconds") if isinstance(cut.get(k), (int, float))}
        if copy:
            fst = (src.get(f"{API}/namespaces/{SYS}/backups/{NAME}-final") or {}).get("status") or {}
            copy_figures(row, copies, f"{NAME}-final-c", fst)
            row["copy nodes"] = sorted({c.get("node") for c in copies.values() if c.get("node")})
        say(f"{n} node(s): {json.dumps(row)}")
    except Exception as e:  # a row saying where
        row["failed"] = f"{type(e).__name__}: {e}"
        say(f"{n} node(s) failed: {row['failed']}\n{traceback.format_exc()[-1500:]}")
    finally:
        stop.set()
        warmkit.close([src, dst], "bench")
    return row


def parts(r):
    p = r.get("window parts s") or {}

    def f(k):
        return f"{p[k]:.1f}" if isinstance(p.get(k), (int, float)) else "-"
    return (f"{f('backup')} ({f('snapshot')}) / {f('apply')} / {f('verifySnapshot')} / "
            f"{(p.get('start') or 0) + (p.get('ready') or 0):.1f}")


def copy_table(rows):
    out = ["| nodes | seed: copies | copy s | overlapping its backup s | overlapping the restore s | "
           "final: copies | copy s | overlapping its backup s | window s | nodes that copied |",
           "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("failed"):
            continue
        out.append(f"| {r['nodes']} | {r.get('seed copies')} | {r.get('seed copy s')} | "
                   f"{r.get('seed copy overlapping its backup s')} | {r.get('seed copy overlapping the restore s')} | "
                   f"{r.get('final copies')} | {r.get('final copy s')} | "
                   f"{r.get('final copy overlapping its backup s')} | {r.get('window s')} | "
                   f"{', '.join(r.get('copy nodes') or [])} |")
    return "\n".join(out) + "\n"


def table(rows):
    out = ["| nodes | volumes | filled MiB | seed s | seed MB/s | backup MB/s | restore MB/s | "
           "most in flight a node (source, target; limit 4) | rounds: MiB written (changed) | window s | "
           "of it: final backup (its snapshots, copies, holders) / apply / snapshots to verify / start + ready |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r.get("failed"):
            out.append(f"| {r['nodes']} | {r['volumes']} | failed: {r['failed'][:200]} ||||||||| |")
            continue
        rw = ", ".join(f"{x['MiB written']} ({r['changed MiB a round']})" for x in r.get("rounds") or [])
        out.append(f"| {r['nodes']} | {r['volumes']} | {r['filled MiB']} | {r['seed s']} | {r['seed MB/s']} | "
                   f"{r['backup MB/s']} | {r['restore MB/s']} | {r['most in flight a node (source)']}, "
                   f"{r['most in flight a node (target)']} | {rw} | {r.get('window s')} | {parts(r)} |")
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--nodes", default="1,2,3")
    ap.add_argument("--pods-per-node", type=int, default=3)
    ap.add_argument("--fill-mib", type=int, default=48)
    ap.add_argument("--copy", action="store_true")
    ap.add_argument("--md")
    ap.add_argument("--json")
    a = ap.parse_args()
    ferry_bin = os.environ.get("FERRY") or os.path.join(ROOT, "build", "control", "ferry")
    rows = []
    with tempfile.TemporaryDirectory(prefix="ferry-bulk-") as tmp:
        for n in [int(x) for x in a.nodes.split(",")]:
            rows.append(point(ferry_bin, n, a.pods_per_node, a.fill_mib, tmp, a.copy))
    md = table(rows)
    if a.copy:
        md += "\nThe copies (two repositories, spec.copy):\n\n" + copy_table(rows)
    print(md, flush=True)
    if a.md:
        open(a.md, "w").write(md)
    if a.json:
        json.dump({"rows": rows, "pods per node": a.pods_per_node, "fill MiB": a.fill_mib, "copy": a.copy},
                  open(a.json, "w"),
                  indent=1)


if __name__ == "__main__":
    main()
