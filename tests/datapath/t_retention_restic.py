#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""tests/datapath/t_retention_restic.py T_RETENTION - ferry's retention against
restic 0.14's `forget`, on the times of tests/datapath/t_retention.c's table.

Every row t_retention --dump marks for restic becomes snapshots of a local
restic repository, made with `restic backup --time` at the row's times (TZ=UTC;
a row's group is the snapshot's host, the row is a tag, and a time that several
rows use is one snapshot with several tags). `restic forget --dry-run --json
--tag ROW --group-by host` with the row's counting rules must keep exactly what
ferry keeps. The deliberate differences (README "forget"):
  - ferry's --ttl is an expiry, measured from now: a row with a TTL must keep
    what restic keeps without it, less what has expired; with a TTL and no
    count, restic's policy is empty (it keeps everything), so ferry must keep
    exactly what has not expired;
  - restic's --keep-within (measured from the newest snapshot) has no
    counterpart in ferry and is not run.
Rows of equal times are not compared (restic orders them as it finds them).

restic derives its key with scrypt at a cost calibrated to ~0.5 s a command;
this throwaway repository's key is re-wrapped with a trivial cost (restic's
key file format: scrypt, then AES-256-CTR and Poly1305-AES over the master
key), so the ~120 restic commands take seconds, not minutes.
Exit 0 pass, 1 fail, 99 when it cannot run (restic 0.14, python3-cryptography:
tests/install-deps.sh).
"""
import base64
import concurrent.futures
import glob
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile


def fail(msg):
    print("FAIL: " + msg, flush=True)
    sys.exit(1)


def error(msg):
    print("ERROR: " + msg, flush=True)
    sys.exit(99)


try:
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    from cryptography.hazmat.primitives.poly1305 import Poly1305
except ImportError:
    error("python3-cryptography is not installed (tests/install-deps.sh)")


def poly1305_aes(msg, nonce, k, r):
    enc = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
    return Poly1305.generate_tag(r + enc.update(nonce) + enc.finalize(), msg)


def key_material(password, key):
    d = hashlib.scrypt(password, salt=base64.b64decode(key["salt"]), n=key["N"], r=key["r"],
                       p=key["p"], maxmem=512 << 20, dklen=64)
    r = bytearray(d[48:64])  # Poly1305's r, clamped
    for i in (3, 7, 11, 15):
        r[i] &= 15
    for i in (4, 8, 12):
        r[i] &= 252
    return d[:32], d[32:48], bytes(r)


def cheap_key(repo, password):
    """Re-wrap the repository's master key under the same password with scrypt N=16."""
    [path] = glob.glob(os.path.join(repo, "keys", "*"))
    with open(path) as f:
        key = json.load(f)
    data = base64.b64decode(key["data"])
    enc, k, r = key_material(password, key)
    iv, ct, tag = data[:16], data[16:-16], data[-16:]
    if poly1305_aes(ct, iv, k, r) != tag:
        error("restic's key file is not what this test knows (scrypt + AES-CTR + Poly1305-AES)")
    dec = Cipher(algorithms.AES(enc), modes.CTR(iv)).decryptor()
    master = dec.update(ct) + dec.finalize()
    key.update(N=16, r=1, p=1, salt=base64.b64encode(os.urandom(64)).decode())
    enc, k, r = key_material(password, key)
    iv = os.urandom(16)
    e = Cipher(algorithms.AES(enc), modes.CTR(iv)).encryptor()
    ct = e.update(master) + e.finalize()
    key["data"] = base64.b64encode(iv + ct + poly1305_aes(ct, iv, k, r)).decode()
    buf = json.dumps(key).encode()
    with open(os.path.join(repo, "keys", hashlib.sha256(buf).hexdigest()), "wb") as f:
        f.write(buf)
    os.remove(path)


def main():
    if len(sys.argv) != 2:
        error("usage: t_retention_restic.py T_RETENTION")
    restic = shutil.which("restic")
    if not restic:
        error("restic is not installed (tests/install-deps.sh)")
    version = subprocess.run([restic, "version"], capture_output=True, text=True).stdout
    if not version.startswith("restic 0.14."):
        # restic 0.17 also keeps the oldest snapshot while a count is left: other rules
        error("the table is checked against restic 0.14 (Debian 12), not: " + version.strip())
    rows = [json.loads(line) for line in
            subprocess.run([sys.argv[1], "--dump"], capture_output=True, text=True,
                           check=True).stdout.splitlines()]
    tmp = tempfile.mkdtemp(prefix="ferry-t_retention_restic-")
    try:
        run(restic, rows, tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def run(restic, rows, tmp):
    repo, src = os.path.join(tmp, "repo"), os.path.join(tmp, "src")
    os.mkdir(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("ferry\n")
    # one Go thread per restic: ~125 short commands, several at a time
    env = dict(os.environ, TZ="UTC", RESTIC_REPOSITORY=repo, RESTIC_PASSWORD="ferry-test",
               RESTIC_CACHE_DIR=os.path.join(tmp, "cache"), GOMAXPROCS="1")

    def restic_run(*args):
        # no locks: nothing prunes this repository, and forget --dry-run would lock it
        p = subprocess.run([restic, "--no-cache", "--no-lock", *args], env=env,
                           capture_output=True, text=True)
        if p.returncode:
            error("restic %s: %s" % (" ".join(args), p.stderr.strip()))
        return p.stdout

    restic_run("init")
    cheap_key(repo, b"ferry-test")

    compared = [r for r in rows if r["restic"]]
    tags = {}  # (group, time) -> the rows that have a snapshot then
    for r in compared:
        for s in r["snaps"]:
            tags.setdefault((s["group"], s["time"]), set()).add("row%d" % r["row"])
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda gt: restic_run(
            "backup", "-q", "--time", gt[1], "--host", gt[0],
            *[a for t in sorted(tags[gt]) for a in ("--tag", t)], src), tags))

    def compare(r):
        expired = {(s["group"], s["time"]) for s in r["snaps"] if s["expired"]}
        ferry = {(s["group"], s["time"]) for s in r["snaps"] if s["keep"]}
        flags = [a for name, n in zip(("last", "hourly", "daily", "weekly", "monthly", "yearly"),
                                      r["keep"]) if n
                 for a in ("--keep-" + name, str(n))]
        if not flags:  # a TTL alone: restic's policy is empty and keeps everything
            kept = {(s["group"], s["time"]) for s in r["snaps"]}
        else:
            out = restic_run("forget", "--dry-run", "--json", "--group-by", "host",
                             "--tag", "row%d" % r["row"], *flags)
            kept = {(g["host"], k["time"].replace("T", " ").rstrip("Z"))
                    for g in json.loads(out or "[]") for k in g["keep"] or []}
        want = kept - expired
        if ferry != want:
            return "row %d (%s): ferry keeps %s, restic %s%s" % (
                r["row"], r["name"], sorted(ferry), sorted(kept),
                " less the expired %s" % sorted(expired) if expired else "")
        return None

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        problems = [p for p in pool.map(compare, compared) if p]
    if problems:
        fail("\n".join(problems))
    print("PASS: %d rows keep what restic 0.14 keeps (%d snapshots; %d rows not compared)"
          % (len(compared), len(tags), len(rows) - len(compared)), flush=True)


if __name__ == "__main__":
    main()
