#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/faults.py - ferry's upload under failing requests, against the same upload without.

    bench/faults.py [--size 1G] [--rounds 3] [--rates 0.01,0.05] [--stall-rate 0.01]
                    [--stall-ms 5000] [--ferry PATH] [--out DIR]

Starts the nginx upload sink (tests/s3-server.sh) and, per run, tests/s3/s3proxy.py
in front of it on loopback, and times `ferry bench put` (64 MiB objects, 16 MiB
parts, 8 in flight) through the proxy:

  clean        no fault: the figure the others are held against (the proxy in the
               path costs the same in every run)
  fast f       a fraction f of requests fails fast: 503 SlowDown, 500
               InternalError, or a TCP reset after the request (before any answer)
  stall f      a fraction f of requests is read and never answered: the proxy
               holds the connection --stall-ms, then closes it

in rounds, the order rotated each round. Per rate it prints the median MB/s, the
median of the paired ratio (the run / the clean run of the same round), the bound
the issue sets for fast failures (1 - 2f), and the faults the proxy injected (each
one a request ferry had to send again). A stall costs a request min(--stall-ms, the low-speed
limit: 60 s under 1 byte/s), then a retry; stalls are reported, not held to the
bound. Writes a Markdown table into --out (bench/results/ by default).
"""
import argparse
import datetime
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AK, SK = "ferryfaultsak", "ferryfaultssecret0123456789"


def log(msg):
    print(f"[faults] {msg}", file=sys.stderr, flush=True)


def free_port(start):
    import socket
    for port in range(start, start + 500):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise SystemExit("no free loopback port")


def parse_size(s):
    mult = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    s = s.strip().upper().removesuffix("IB").removesuffix("B")
    return int(float(s[:-1]) * mult[s[-1]]) if s[-1] in mult else int(s)


class Proxy:
    def __init__(self, work, upstream, rate, faults, seed, stall_ms):
        self.dir = tempfile.mkdtemp(prefix="proxy-", dir=work)
        self.log = os.path.join(self.dir, "log")
        pf = os.path.join(self.dir, "port")
        cmd = [sys.executable, os.path.join(ROOT, "tests", "s3", "s3proxy.py"), "--upstream", upstream,
               "--port-file", pf, "--log", self.log, "--fail-rate", str(rate), "--seed", str(seed),
               "--stall-ms", str(stall_ms)]
        if faults:
            cmd += ["--faults", faults]
        self.p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if os.path.exists(pf) and open(pf).read().strip():
                break
            time.sleep(0.05)
        else:
            self.stop()
            raise SystemExit("s3proxy.py did not start")
        self.port = int(open(pf).read())

    def faults(self):
        n, kinds = 0, {}
        try:
            for line in open(self.log):
                d = json.loads(line)
                n += 1
                if d.get("fault"):
                    kinds[d["fault"]] = kinds.get(d["fault"], 0) + 1
        except (OSError, ValueError):
            pass
        return n, kinds

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()


def ferry_version(ferry):
    r = subprocess.run([ferry, "version"], capture_output=True, text=True)
    return ((r.stdout or r.stderr).strip().splitlines() or ["ferry (version unknown)"])[0]


def put(args, port, rnd, name):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=AK, AWS_SECRET_ACCESS_KEY=SK, AWS_REGION="us-east-1")
    for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "FERRY_REPO"):
        env.pop(k, None)
    t0 = time.monotonic()
    r = subprocess.run([args.ferry, "bench", "--json", "--size", str(args.size), "--repo",
                        f"s3://ferry-faults/r{rnd}-{name}", "--s3-endpoint", f"http://127.0.0.1:{port}",
                        "--workdir", args.workdir, "put"], env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    try:
        st = json.loads(r.stdout)["stages"][0]
    except (ValueError, KeyError, IndexError):
        return {"ok": False, "error": (r.stderr.strip().splitlines() or ["no output"])[-1], "wall": wall}
    if not st.get("ok"):
        return {"ok": False, "error": st.get("error"), "wall": wall}
    return {"ok": True, "mb_per_s": st["mb_per_s_in"], "cpu_s_per_gb": st.get("cpu_s_per_gb"),
            "wall": wall}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--size", default="1G")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rates", default="0.01,0.05", help="fractions of requests that fail fast")
    ap.add_argument("--stall-rate", type=float, default=0.01, help="0: no stall runs")
    ap.add_argument("--stall-ms", type=int, default=5000)
    ap.add_argument("--ferry", default=os.path.join(ROOT, "build", "control", "ferry"))
    ap.add_argument("--workdir", default="/dev/shm")
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    args = ap.parse_args()
    args.size = parse_size(args.size)
    if not os.access(args.ferry, os.X_OK):
        raise SystemExit(f"{args.ferry} is not built")
    rates = [float(x) for x in args.rates.split(",") if x.strip()]
    if any(not 0 < r < 1 for r in rates) or not 0 <= args.stall_rate < 1:
        raise SystemExit("--rates and --stall-rate are fractions below 1")
    runs = [("clean", 0.0, None)] + [(f"fast {r:g}", r, "503,500,reset") for r in rates]
    if args.stall_rate:
        runs.append((f"stall {args.stall_rate:g}", args.stall_rate, "stall"))

    work = tempfile.mkdtemp(prefix="ferry-faults-")
    script = os.path.join(ROOT, "tests", "s3-server.sh")
    sink_port = free_port(17950)
    sink_env = dict(os.environ, S3_BACKEND="sink", S3_DIR=os.path.join(work, "sink"))
    r = subprocess.run([script, "start", str(sink_port), AK, SK], env=sink_env, capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"the sink did not start: {r.stderr.strip()[-300:]}")
    res = {name: [] for name, _, _ in runs}
    start = datetime.datetime.now(datetime.timezone.utc)
    try:
        for rnd in range(args.rounds):
            order = runs[rnd % len(runs):] + runs[:rnd % len(runs)]
            for name, rate, faults in order:
                px = Proxy(work, f"127.0.0.1:{sink_port}", rate, faults, 1000 + rnd, args.stall_ms)
                try:
                    x = put(args, px.port, rnd, name.replace(" ", "-"))
                finally:
                    px.stop()
                x["requests"], x["faults"] = px.faults()
                x["round"] = rnd
                res[name].append(x)
                log(f"round {rnd + 1} {name:12s} " + (f"{x['mb_per_s']:7.1f} MB/s, {x['requests']} requests, "
                                                       f"faults {x['faults']}"
                                                       if x["ok"] else f"FAILED: {x['error']}"))
                shutil.rmtree(px.dir, ignore_errors=True)
    finally:
        subprocess.run([script, "stop", str(sink_port)], env=sink_env, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)

    clean = {x["round"]: x["mb_per_s"] for x in res["clean"] if x["ok"]}
    lines = [f"# bench/faults.py, {start.strftime('%Y-%m-%d %H:%M')} UTC",
             "",
             f"`ferry bench put` of {args.size >> 20} MiB (64 MiB objects, 16 MiB parts, 8 in flight) to the nginx "
             f"sink through tests/s3/s3proxy.py, {args.rounds} rounds, order rotated; stall {args.stall_ms} ms; "
             f"ferry's low-speed limit 60 s; {os.cpu_count()} vCPUs; {ferry_version(args.ferry)}.",
             "",
             "| run | MB/s (median) | min-max | / clean (paired median) | bound 1-2f | faults injected "
             "(median per run; each one retried) | requests |",
             "|---|---|---|---|---|---|---|"]
    for name, rate, faults in runs:
        ok = [x for x in res[name] if x["ok"]]
        failed = [x for x in res[name] if not x["ok"]]
        if not ok:
            lines.append(f"| {name} | FAILED: {failed[0]['error'] if failed else 'no run'} | | | | | |")
            continue
        mbs = [x["mb_per_s"] for x in ok]
        q = [x["mb_per_s"] / clean[x["round"]] for x in ok if x["round"] in clean]
        nf = statistics.median(sum(x["faults"].values()) for x in ok)
        bound = f"{1 - 2 * rate:.2f}" if faults and faults != "stall" else ("(reported)" if faults else "")
        lines.append(f"| {name} | {statistics.median(mbs):.0f} | {min(mbs):.0f}-{max(mbs):.0f} | "
                     f"{statistics.median(q):.3f} | {bound} | {nf:g} | "
                     f"{statistics.median(x['requests'] for x in ok):g} |"
                     + (f" ({len(failed)} run(s) failed: {failed[0]['error']})" if failed else ""))
    text = "\n".join(lines) + "\n"
    print(text)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, f"faults-{start.strftime('%Y%m%d-%H%M')}.md")
    with open(path, "w") as f:
        f.write(text)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
