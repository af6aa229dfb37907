# SPDX-License-Identifier: MIT
"""t_migrate_cli: `ferry migrate plan|status` (control/operator/cmd_migrate.c) against the box,
with ferry's manifests applied and `ferry controller` running the Migration reconciler
under its service account. The box is both clusters, as in scenarios_migrate.py (whose
setup this reuses): the source is read through a kubeconfig file given to the CLI, which
stores it in the Secret ferry-migrate-NAME; namespace mappings keep the claims apart.

The CLI runs as a user does: the box's admin kubeconfig, HOME a temporary directory.
- `plan` with the class mapped: exit 0, the table names both claims with their sizes,
  classes, node and zone, "0 error(s)"; the Secret holds the kubeconfig given;
- `plan -o json` of the same name: the Migration, its plan; `status -o yaml` reads back;
- `plan` without the class map, into a namespace with too small a quota: exit 1, the
  findings in the table (NoStorageClass, QuotaExceeded), one error line naming
  PlanHasErrors;
- a kubeconfig with an exec plugin: exit 2 before anything is sent (no Migration, no
  Secret), the line names exec;
- a source that refuses connections: exit 1, the line names SourceUnreachable and the
  timeout given;
- malformed flags (a mapping without ':', a namespace that is no DNS label, no
  --include-namespaces, both or neither source flags, -o xml, a timeout of 0): one line,
  exit 2, nothing made.
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import atexit
import json
import os
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402  (it puts tests/kbox on the path)
import kboxtest  # noqa: E402
import scenarios_migrate as sm  # noqa: E402
from opkit import NS  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 19: ferry migrate plan|status, bad input found at plan time"
API = "/apis/ferry.io/v1alpha1"


def main():
    import base64
    import yaml
    box = kboxtest.Box(private=True)
    env = opkit.Env(box)
    atexit.register(env.close)
    opkit.apply_manifests(env)
    sm._setup(env)
    home = os.path.join(env.tmp, "cli-home")
    os.makedirs(home, exist_ok=True)

    def ferry(*args, timeout=60):
        e = dict(os.environ, HOME=home, KUBECONFIG=box.kubeconfig)
        for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            e.pop(k, None)
        return subprocess.run([env.ferry, "migrate"] + list(args), capture_output=True, text=True,
                              env=e, timeout=timeout, stdin=subprocess.DEVNULL)

    def one_line(what, r, rc, *words):
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        eq(f"{what}: exit {rc}", r.returncode, rc, ref=REF)
        check(f"{what}: one line on stderr, an error",
              len(lines) == 1 and lines[0].startswith("ferry: error: "), r.stderr, ref=REF)
        for w in words:
            check(f"{what}: the line names {w!r}", w in r.stderr, r.stderr, ref=REF)

    def migrations():
        code, _, body = box.admin.get(f"{API}/namespaces/{NS}/migrations")
        return sorted(o["metadata"]["name"] for o in (body or {}).get("items", [])) if code == 200 else None

    def write(name, text):
        p = os.path.join(env.tmp, name)
        with open(p, "w") as f:
            f.write(text)
        return p

    good_kc = write("source.kubeconfig", sm._kubeconfig(env))
    exec_kc = write("exec.kubeconfig", sm._kubeconfig(env, user="exec: {apiVersion: client.authentication.k8s.io/v1, "
                                                                 "command: gke-gcloud-auth-plugin}"))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused_kc = write("refused.kubeconfig", sm._kubeconfig(env, server=f"https://127.0.0.1:{port}"))
    base = ["--include-namespaces", sm.SRC]

    # malformed flags: nothing is made by any of them
    for what, args, words in (
            ("a mapping without ':'", ["plan", "x", "--source-kubeconfig", good_kc] + base +
             ["--namespace-mappings", "a"], ["SOURCE:TARGET"]),
            ("a namespace that is no DNS label", ["plan", "x", "--source-kubeconfig", good_kc,
                                                 "--include-namespaces", "Bad_NS"], ["spec.namespaces[0]"]),
            ("no --include-namespaces", ["plan", "x", "--source-kubeconfig", good_kc], ["--include-namespaces"]),
            ("neither source flag", ["plan", "x"] + base, ["--source-kubeconfig"]),
            ("both source flags", ["plan", "x", "--source-kubeconfig", good_kc, "--source-secret", "s"] + base,
             ["--source-secret"]),
            ("-o xml", ["plan", "x", "--source-kubeconfig", good_kc, "-o", "xml"] + base, ["json or yaml"]),
            ("a timeout of 0", ["plan", "x", "--source-kubeconfig", good_kc, "--source-timeout", "0"] + base,
             ["--source-timeout"]),
            ("a mapping of a namespace not included", ["plan", "x", "--source-kubeconfig", good_kc] + base +
             ["--namespace-mappings", "other:b"], ["not one of spec.namespaces"]),
            ("an exec plugin in the source's kubeconfig", ["plan", "x", "--source-kubeconfig", exec_kc] + base,
             ["exec", "credential plugin"])):
        r = ferry(*args)
        one_line(what, r, 2, *words)
    eq("nothing was made by the malformed flags", migrations(), [], ref=REF)
    code, _, _ = box.admin.get(f"/api/v1/namespaces/{NS}/secrets/ferry-migrate-x")
    eq("... not even the Secret (the exec kubeconfig was refused before anything was sent)", code, 404, ref=REF)

    a = env.controller("mig-cli")
    if not check("the controller leads", a.wait_line(r"mig-cli: leading", 20), a.text()[-400:], ref=REF):
        kboxtest.finish()

    # a plan without errors
    r = ferry("plan", "shop", "--source-kubeconfig", good_kc, "--namespace-mappings", f"{sm.SRC}:{sm.DST}",
              "--storage-class-mappings", "mig-slow:mig-fast", "--source-timeout", "5", *base)
    eq("plan with the class mapped: exit 0", (r.returncode, r.stderr), (0, ""), ref=REF)
    rows = {ln.split()[1]: ln for ln in r.stdout.splitlines() if ln.startswith(sm.SRC)}
    check("the table names both claims, their sizes, the classes and data-0's node and zone",
          set(rows) == {"data-0", "data-1"} and "64 MiB" in rows["data-0"] and "128 MiB" in rows["data-1"] and
          "mig-slow -> mig-fast" in rows["data-1"] and "mig-node" in rows["data-0"] and
          "zone-a" in rows["data-0"] and f"{sm.SRC}->{sm.DST}" in rows["data-0"], r.stdout, ref=REF)
    check("... and the total, without errors", "2 volume(s), 192 MiB; 0 error(s)" in r.stdout, r.stdout, ref=REF)
    code, _, sec = box.admin.get(f"/api/v1/namespaces/{NS}/secrets/ferry-migrate-shop")
    with open(good_kc) as f:
        check("the Secret ferry-migrate-shop holds the kubeconfig given",
              code == 200 and base64.b64decode((sec.get("data") or {}).get("kubeconfig", "")).decode() == f.read(),
              code, ref=REF)
    r = ferry("plan", "shop", "--source-secret", "ferry-migrate-shop", "--namespace-mappings",
              f"{sm.SRC}:{sm.DST}", "--storage-class-mappings", "mig-slow:mig-fast", "-o", "json", *base)
    try:
        m = json.loads(r.stdout)
    except ValueError:
        m = {}
    check("plan -o json of the same name (its Secret named): the Migration, planned again for its new generation",
          r.returncode == 0 and m.get("kind") == "Migration" and (m.get("status") or {}).get("phase") == "Planned" and
          (m["status"].get("plan") or {}).get("bytes") == 192 * sm.MiB, (r.returncode, r.stderr, m.get("status")),
          ref=REF)
    r = ferry("status", "shop", "-o", "yaml")
    y = yaml.safe_load(r.stdout) if r.returncode == 0 else {}
    check("status -o yaml reads back the same plan", (y.get("status") or {}).get("plan") == (m.get("status") or {}).get("plan"),
          r.stderr, ref=REF)
    r = ferry("status", "shop")
    check("status prints the table and the condition",
          r.returncode == 0 and "data-1" in r.stdout and "Planned: True PlanReady" in r.stdout, r.stdout, ref=REF)

    # findings that block the move
    r = ferry("plan", "small", "--source-kubeconfig", good_kc, "--namespace-mappings", f"{sm.SRC}:{sm.DST_SMALL}",
              *base)
    one_line("plan without the class map into a tight quota", r, 1, "PlanHasErrors")
    check("... the table lists the findings", "NoStorageClass" in r.stdout and "QuotaExceeded" in r.stdout and
          "1 volume(s), 64 MiB; 2 error(s)" in r.stdout, r.stdout, ref=REF)

    # a source that cannot be reached
    t0 = time.time()
    r = ferry("plan", "refused", "--source-kubeconfig", refused_kc, "--source-timeout", "2", *base)
    one_line("a source that refuses connections", r, 1, "SourceUnreachable", "within 2 s")
    print(f"note: plan of an unreachable source returned in {time.time() - t0:.1f} s", flush=True)
    kboxtest.finish()


if __name__ == "__main__":
    main()
