# SPDX-License-Identifier: MIT
"""t_switch_cli: `ferry switch start|status|promote|abort|rollback|list`
(control/operator/cmd_switch.c) against a box of its own with the StatefulSwitch CRD
(k8s/deploy/crd-statefulswitches.yaml) and no controller: what the CLI writes is read back
through the API, and the status a controller would write is written by the test (the
status subresource, as admin).

The CLI runs as a user does: HOME a temporary directory, a kubeconfig whose context names
the test's namespace (so that the default namespace is the context's).
- malformed input (an unknown option, --image without '=', bad numbers, bad enums, names
  that are no DNS label, an option of another verb, -o xml, a missing NAME): exit 2, one
  line on stderr, and no request at all from the CLI in the box's audit log;
- start with every option: exit 0, the object's spec is exactly what the options say
  (read back); start with the two required ones: only those fields (and the CRD's
  defaults), in the context's namespace;
- a second start of the same name: exit 6, one line naming the switch, the object as it was;
- status without a status: the phase unknown and the hint; with a status written by the
  test: phase, health, message, blue and green, the last five rounds (not older ones),
  the prediction, the cutover's instants, writeUnavailableSeconds;
- status -o json and -o yaml: the status written, the same;
- promote, abort, rollback --mode: each sets its field and changes nothing else in the
  spec; on a switch that ended (Completed): exit 6, nothing patched; on a name that does
  not exist: exit 3;
- -n against the context's namespace; list and list -o json.
Tests exit 0 pass, 1 fail, 77 skip, 99 error (COMMON.md).
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402  (it puts tests/kbox on the path)
import kboxtest  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 20: ferry switch start|status|promote|abort|rollback"
API = "/apis/ferry.io/v1alpha1"
CRD = os.path.join(opkit.DEPLOY, "crd-statefulswitches.yaml")


def main():
    import yaml
    box = kboxtest.Box(private=True)
    ferry_bin = os.environ.get("FERRY") or os.path.join(opkit.SRC, "build", "control", "ferry")
    if not os.access(ferry_bin, os.X_OK):
        print(f"ERROR: no ferry binary at {ferry_bin} (run under meson test or tests/run)")
        sys.exit(99)
    with open(CRD) as f:
        crd = yaml.safe_load(f)
    code, _, body = box.admin.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
    if code != 201:
        print(f"ERROR: the CRD was refused: {code} {body}")
        sys.exit(99)
    ns = box.namespace("sw")
    other = box.namespace("sw-other")
    ok = kboxtest.wait_until(lambda: box.admin.get(f"{API}/namespaces/{ns}/statefulswitches")[0] == 200,
                             timeout=10)
    if not ok:
        print("ERROR: the StatefulSwitch kind is not served")
        sys.exit(99)

    tmp = tempfile.mkdtemp(prefix="ferry-sw-cli-")
    home = os.path.join(tmp, "home")
    os.makedirs(home)
    with open(box.kubeconfig) as f:
        kc = yaml.safe_load(f)
    for c in kc["contexts"]:
        c["context"]["namespace"] = ns
    kc_path = os.path.join(tmp, "ctx.kubeconfig")
    with open(kc_path, "w") as f:
        yaml.safe_dump(kc, f)

    def ferry(*args, kubeconfig=kc_path):
        e = dict(os.environ, HOME=home, KUBECONFIG=kubeconfig)
        for k in ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT"):
            e.pop(k, None)
        return subprocess.run([ferry_bin, "switch"] + list(args), capture_output=True, text=True,
                              env=e, timeout=60, stdin=subprocess.DEVNULL)

    def one_line(what, r, rc, *words):
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        eq(f"{what}: exit {rc}", r.returncode, rc, ref=REF)
        check(f"{what}: one line on stderr, an error",
              len(lines) == 1 and lines[0].startswith("ferry: error: "), r.stderr, ref=REF)
        for w in words:
            check(f"{what}: the line names {w!r}", w in r.stderr, r.stderr, ref=REF)

    def obj(name, namespace=ns):
        code, _, body = box.admin.get(f"{API}/namespaces/{namespace}/statefulswitches/{name}")
        return body if code == 200 else None

    def names(namespace):
        code, _, body = box.admin.get(f"{API}/namespaces/{namespace}/statefulswitches")
        return sorted(o["metadata"]["name"] for o in (body or {}).get("items", [])) if code == 200 else None

    def cli_requests():
        return [e for e in box.audit() if e.get("userAgent", "").startswith("ferry/")]

    def write_status(name, status):
        code, _, body = box.admin.patch(f"{API}/namespaces/{ns}/statefulswitches/{name}/status",
                                        {"status": status})
        if code != 200:
            print(f"ERROR: status patch refused: {code} {body}")
            sys.exit(99)

    # ---- malformed input: one line, exit 2, not one request sent
    base = ["start", "db-switch", "--workload", "db", "--service", "web"]
    for what, args, words in (
            ("no verb", [], ["start, status"]),
            ("an unknown verb", ["flip", "x"], ["flip"]),
            ("an unknown option", base + ["--bogus"], ["--bogus"]),
            ("an unknown short option", base + ["-x"], ["-x"]),
            ("an option without its value", base + ["--sync-interval"], ["--sync-interval"]),
            ("--image without '='", base + ["--image", "app"], ["CONTAINER=IMAGE"]),
            ("--image without a container", base + ["--image", "=reg/app:2"], ["CONTAINER=IMAGE"]),
            ("--image without an image", base + ["--image", "app="], ["CONTAINER=IMAGE"]),
            ("--image with a container that is no DNS label", base + ["--image", "App=reg/app:2"], ["App"]),
            ("--image of one container twice", base + ["--image", "app=a:1", "--image", "app=a:2"], ["twice"]),
            ("--image with a blank in the image", base + ["--image", "app=reg/app 2"], ["blank"]),
            ("--sync-interval 0", base + ["--sync-interval", "0"], ["--sync-interval"]),
            ("--sync-interval not a whole number", base + ["--sync-interval", "1.5"], ["--sync-interval"]),
            ("--sync-interval negative", base + ["--sync-interval=-3"], ["--sync-interval"]),
            ("--max-window with an exponent", base + ["--max-window", "1e3"], ["--max-window"]),
            ("--max-window below 1", base + ["--max-window", "0.5"], ["--max-window"]),
            ("--deadline not a number", base + ["--deadline", "soon"], ["--deadline"]),
            ("--deadline nan", base + ["--deadline", "nan"], ["--deadline"]),
            ("--scale-down-delay with a unit", base + ["--scale-down-delay", "30s"], ["--scale-down-delay"]),
            ("--auto-promotion-seconds negative", base + ["--auto-promotion-seconds=-1"],
             ["--auto-promotion-seconds"]),
            ("--rollback-mode in lower case", base + ["--rollback-mode", "discard"], ["Discard or KeepGreenWrites"]),
            ("--release of no kind", base + ["--release", "Keep"], ["Retain or Delete"]),
            ("--copy-method of no kind", base + ["--copy-method", "clone"], ["Repository or Clone"]),
            ("-o xml", base + ["-o", "xml"], ["json or yaml"]),
            ("a NAME that is no DNS label", ["start", "DB_Switch", "--workload", "db", "--service", "web"],
             ["DB_Switch"]),
            ("a NAME longer than 63", ["start", "a" * 64, "--workload", "db", "--service", "web"], ["NAME"]),
            ("--workload that is no DNS label", ["start", "x", "--workload", "db.0", "--service", "web"],
             ["--workload"]),
            ("--service that starts with a digit", ["start", "x", "--workload", "db", "--service", "9web"],
             ["--service"]),
            ("--green-name that is blue", base + ["--green-name", "db"], ["--green-name"]),
            ("a default green name too long", ["start", "x", "--workload", "d" * 60, "--service", "web"],
             ["--green-name"]),
            ("--repository that is no DNS subdomain", base + ["--repository", "Repo_A"], ["--repository"]),
            ("-n that is no namespace", base + ["-n", "Bad_NS"], ["Bad_NS"]),
            ("start without --service", ["start", "x", "--workload", "db"], ["--service"]),
            ("start without NAME", ["start", "--workload", "db", "--service", "web"], ["one NAME"]),
            ("two NAMEs", ["promote", "a", "b"], ["one NAME"]),
            ("start's option with promote", ["promote", "db-switch", "--workload", "db"], ["--workload"]),
            ("--mode with promote", ["promote", "db-switch", "--mode", "Discard"], ["--mode"]),
            ("--mode of no kind", ["rollback", "db-switch", "--mode", "Keep"], ["Discard or KeepGreenWrites"]),
            ("-o with abort", ["abort", "db-switch", "-o", "json"], ["-o"]),
            ("list with a NAME", ["list", "db-switch"], ["NAME"])):
        r = ferry(*args)
        one_line(what, r, 2, *words)
        check(f"{what}: nothing on stdout", r.stdout == "", r.stdout, ref=REF)
    eq("nothing was made by the malformed input", (names(ns), names("default")), ([], []), ref=REF)
    eq("... no request at all was sent (the box's audit log)", len(cli_requests()), 0, ref=REF)

    # ---- start: every option
    r = ferry("start", "db-switch", "--workload", "db", "--service", "web", "--preview-service", "web-preview",
              "--image", "app=registry.example/app:2.0", "--image", "sidecar=registry.example/side@sha256:" + "a" * 64,
              "--green-name", "db-next", "--repository", "repo-a.example", "--sync-interval", "15",
              "--max-window", "12.5", "--deadline", "40", "--no-auto-promote", "--auto-promotion-seconds", "600",
              "--scale-down-delay", "120", "--rollback-mode", "KeepGreenWrites", "--release", "Delete",
              "--copy-method", "Clone")
    eq("start with every option: exit 0, nothing on stderr", (r.returncode, r.stderr), (0, ""), ref=REF)
    check("... the line names the switch, blue, green and the Service",
          f"{ns}/db-switch" in r.stdout and "db -> db-next" in r.stdout and "web" in r.stdout, r.stdout, ref=REF)
    o = obj("db-switch")
    want = {"workloadRef": {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "db"},
            "activeService": "web", "previewService": "web-preview", "greenName": "db-next",
            "image": {"app": "registry.example/app:2.0", "sidecar": "registry.example/side@sha256:" + "a" * 64},
            "repository": "repo-a.example", "syncIntervalSeconds": 15, "maxWriteUnavailableSeconds": 12.5,
            "cutoverDeadlineSeconds": 40, "autoPromotionEnabled": False, "autoPromotionSeconds": 600,
            "scaleDownDelaySeconds": 120, "rollbackMode": "KeepGreenWrites", "releasePolicy": "Delete",
            "copyMethod": "Clone"}
    eq("... the spec read back is what the options say, in the context's namespace",
       (o or {}).get("spec"), want, ref=REF)
    creates = [e for e in cli_requests() if e.get("verb") == "create"]
    check("... one create, of statefulswitches", len(creates) == 1 and creates[0].get("resource") == "statefulswitches",
          creates, ref=REF)

    # ---- start: the required options only
    r = ferry("start", "cache-switch", "--workload", "cache-green", "--service", "cache")
    eq("start with --workload and --service only: exit 0", (r.returncode, r.stderr), (0, ""), ref=REF)
    check("... green's default name: blue's without -green", "cache-green -> cache " in r.stdout, r.stdout, ref=REF)
    spec = (obj("cache-switch") or {}).get("spec") or {}
    defaults = {"repository", "syncIntervalSeconds", "maxWriteUnavailableSeconds", "autoPromotionEnabled",
                "rollbackMode", "scaleDownDelaySeconds", "releasePolicy", "copyMethod"}
    check("... only the fields given (and the CRD's defaults)",
          spec.get("workloadRef", {}).get("name") == "cache-green" and spec.get("activeService") == "cache" and
          set(spec) - defaults == {"workloadRef", "activeService"} and spec.get("autoPromotionEnabled", True) is True,
          spec, ref=REF)

    # ---- a second start of the same name
    rv = (obj("db-switch") or {}).get("metadata", {}).get("resourceVersion")
    r = ferry("start", "db-switch", "--workload", "other", "--service", "web")
    one_line("a second start of db-switch", r, 6, "db-switch", "exists")
    eq("... the switch as it was", (obj("db-switch") or {}).get("metadata", {}).get("resourceVersion"), rv, ref=REF)

    # ---- status
    r = ferry("status", "db-switch")
    check("status without a status: exit 0, no phase, the hint",
          r.returncode == 0 and "db-switch: -" in r.stdout and "No status yet" in r.stdout and
          "StatefulSet db\n" in r.stdout and "db-next" in r.stdout, (r.returncode, r.stdout, r.stderr), ref=REF)
    rounds = [{"round": i, "bytes": i * 1048576, "seconds": 0.5 + i, "verdict": "First" if i == 1 else
               ("Converged" if i == 7 else "NotConverging")} for i in range(1, 8)]
    status = {"observedGeneration": 1, "phase": "Syncing", "health": "Progressing",
              "message": "round 7 converged: 7 MiB in 7.5 s",
              "blue": {"name": "db"}, "green": {"name": "db-next"}, "round": 7, "rounds": rounds,
              "prediction": {"windowSeconds": 3.25, "quiesceSeconds": 1.0, "deltaSeconds": 1.5,
                             "startSeconds": 0.75},
              "cutover": {"startTime": "2026-12-07T10:00:00.000001Z", "blueStoppedTime": "2026-12-07T10:00:01.250000Z",
                          "deltaDoneTime": "2026-12-07T10:00:02.500000Z",
                          "greenStartTime": "2026-12-07T10:00:02.600000Z",
                          "greenReadyTime": "2026-12-07T10:00:03.100000Z",
                          "switchTime": "2026-12-07T10:00:03.150000Z",
                          "endpointsReadyTime": "2026-12-07T10:00:03.300000Z"},
              "writeUnavailableSeconds": 3.299999}
    write_status("db-switch", status)
    r = ferry("status", "db-switch")
    out = r.stdout
    eq("status with a status: exit 0", (r.returncode, r.stderr), (0, ""), ref=REF)
    check("... phase and health", "db-switch: Syncing (Progressing)" in out, out, ref=REF)
    check("... the message", "round 7 converged: 7 MiB in 7.5 s" in out, out, ref=REF)
    check("... blue and green", "StatefulSet db\n" in out and "StatefulSet db-next" in out, out, ref=REF)
    rows = {ln.split()[0]: ln for ln in out.splitlines() if ln.startswith("  ") and ln.split()[0].isdigit()}
    eq("... the last five rounds, not older ones", sorted(rows), ["3", "4", "5", "6", "7"], ref=REF)
    check("... each round's bytes, seconds and verdict",
          "7.0 MiB" in rows.get("7", "") and "7.500" in rows.get("7", "") and "Converged" in rows.get("7", "") and
          "NotConverging" in rows.get("3", ""), rows, ref=REF)
    check("... the prediction", "3.250 s" in out and "1.500 s" in out, out, ref=REF)
    check("... the cutover's instants", all(v in out for v in status["cutover"].values()), out, ref=REF)
    check("... writeUnavailableSeconds", "Write-unavailable: 3.300 s" in out, out, ref=REF)
    check("... each instant's time from the start", "(+1.250 s)" in out and "(+3.300 s)" in out, out, ref=REF)
    check("... the spec's promotion and rollback window",
          "600 s after a round converged" in out and "rollback window 120 s (KeepGreenWrites)" in out and
          "then blue's objects deleted" in out, out, ref=REF)
    check("... 'the last 5 of 7' rounds", "Rounds (the last 5 of 7)" in out, out, ref=REF)
    r = ferry("status", "db-switch", "-o", "json")
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    check("status -o json: the object, the status written round-trips",
          r.returncode == 0 and j.get("kind") == "StatefulSwitch" and j.get("status") == status, j.get("status"),
          ref=REF)
    r = ferry("status", "db-switch", "-o", "yaml")
    y = (yaml.safe_load(r.stdout) or {}) if r.returncode == 0 else {}
    check("status -o yaml: the same", y.get("status") == status and y.get("spec") == want, y, ref=REF)

    # ---- -n and the context's namespace
    r = ferry("status", "db-switch", "-n", ns, kubeconfig=box.kubeconfig)
    check("-n NS with a context of another namespace: the switch there",
          r.returncode == 0 and "Syncing" in r.stdout, (r.returncode, r.stderr), ref=REF)
    r = ferry("status", "db-switch", kubeconfig=box.kubeconfig)
    one_line("status in the context's namespace, where there is none", r, 3, "db-switch", "default")
    r = ferry("promote", "db-switch", "-n", other)
    one_line("promote in a namespace without it", r, 3, "db-switch", other)

    # ---- promote, abort, rollback: each its field, nothing else
    for verb, extra, fields in (("promote", [], {"promote": True}),
                                ("abort", [], {"abort": True}),
                                ("rollback", ["--mode", "Discard"], {"rollback": True, "rollbackMode": "Discard"})):
        before = copy.deepcopy((obj("db-switch") or {}).get("spec") or {})
        r = ferry(verb, "db-switch", *extra)
        eq(f"{verb}: exit 0", (r.returncode, r.stderr), (0, ""), ref=REF)
        check("... the line names the switch and its phase", f"{ns}/db-switch" in r.stdout and "Syncing" in r.stdout,
              r.stdout, ref=REF)
        after = (obj("db-switch") or {}).get("spec") or {}
        before.update(fields)
        eq(f"... spec {', '.join(fields)} set, nothing else changed", after, before, ref=REF)
    r = ferry("rollback", "cache-switch")
    spec = (obj("cache-switch") or {}).get("spec") or {}
    check("rollback without --mode: spec.rollback, the mode left as it was",
          r.returncode == 0 and spec.get("rollback") is True and spec.get("rollbackMode", "Discard") == "Discard",
          (r.returncode, r.stderr, spec), ref=REF)
    r = ferry("promote", "nosuch")
    one_line("promote of a switch that does not exist", r, 3, "nosuch")
    write_status("cache-switch", {"phase": "Completed", "health": "Healthy", "message": "switched"})
    rv = (obj("cache-switch") or {}).get("metadata", {}).get("resourceVersion")
    for verb in ("promote", "abort", "rollback"):
        r = ferry(verb, "cache-switch")
        one_line(f"{verb} of a switch that has ended", r, 6, "Completed")
    eq("... nothing patched", (obj("cache-switch") or {}).get("metadata", {}).get("resourceVersion"), rv, ref=REF)

    # ---- list
    r = ferry("list")
    lines = r.stdout.splitlines()
    check("list: a head and a row per switch, with phase and blue",
          r.returncode == 0 and lines and lines[0].split()[:3] == ["NAME", "PHASE", "HEALTH"] and
          any(ln.split()[:5] == ["db-switch", "Syncing", "Progressing", "db", "db-next"] for ln in lines) and
          any(ln.split()[:5] == ["cache-switch", "Completed", "Healthy", "cache-green", "cache"] for ln in lines),
          r.stdout, ref=REF)
    r = ferry("list", "-o", "json")
    try:
        lj = json.loads(r.stdout)
    except ValueError:
        lj = {}
    eq("list -o json: a List of both", sorted(i["metadata"]["name"] for i in lj.get("items", [])),
       ["cache-switch", "db-switch"], ref=REF)
    r = ferry("list", "-n", other)
    check("list of a namespace without any: exit 0, said on stderr",
          r.returncode == 0 and r.stdout == "" and "No StatefulSwitches" in r.stderr, (r.stdout, r.stderr), ref=REF)
    r = ferry("start", "web-switch", "-n", other, "--workload", "web", "--service", "web", "-o", "json")
    try:
        j = json.loads(r.stdout)
    except ValueError:
        j = {}
    check("start -n NS -o json: the object made, as the server answered (its uid), in NS",
          r.returncode == 0 and j.get("metadata", {}).get("namespace") == other and
          j.get("metadata", {}).get("uid") == (obj("web-switch", other) or {}).get("metadata", {}).get("uid") and
          j.get("spec", {}).get("workloadRef", {}).get("name") == "web", (r.returncode, r.stderr, j), ref=REF)
    kboxtest.finish()


if __name__ == "__main__":
    main()
