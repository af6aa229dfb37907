# SPDX-License-Identifier: MIT
"""t_controller: ferry's manifests and `ferry controller` in a box of their own.

1. k8s/deploy: a server dry run refuses the namespaced objects until
   ferry-system exists (as kube-apiserver does), then accepts every object
   and stores none; the real apply; the manifests' own rules (two replicas,
   probes, downward API, non-root, read-only root; one ClusterRole and one
   Role per process at most (and one ClusterRole per capability of the controller), no
   wildcard, no Secrets cluster-wide but the Backup's list of them; the agent's DaemonSet, privileged
   with its mounts, once k8s/deploy lists it: issue 13 adds it).
2. The controller's scenarios (scenarios_controller.py), each process under
   the ferry-controller service account with a token of its own (TokenRequest)
   and an in-cluster-style kubeconfig.
3. Least privilege from the audit log (rbacproof.py), for the roles of the
   processes these scenarios run (the controller): every rule used, and
   each rule (and each verb of a rule of several) needed: without it, the
   first scenario that used it fails, with a 403 for it in the audit log and
   in the process's own words.
Private boxes: RBAC is changed under them; the proof runs on several side by side
(FERRY_TEST_PROOF_BOXES, default 4). CI budget: 90 s with the other operator tests
(control/operator/README.md).
"""
import atexit
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opkit  # noqa: E402  (it puts tests/kbox on the path)
import kboxtest  # noqa: E402
import rbacproof  # noqa: E402
import scenarios_agenttls  # noqa: E402
import scenarios_controller  # noqa: E402
import scenarios_schedule  # noqa: E402
import scenarios_autoscale  # noqa: E402
import scenarios_backup  # noqa: E402
import scenarios_backupsync  # noqa: E402
import scenarios_restore  # noqa: E402
import scenarios_migrate  # noqa: E402
import scenarios_lb  # noqa: E402
from opkit import DEPLOY, NS  # noqa: E402

check, eq = kboxtest.check, kboxtest.eq
REF = "issue 12 §3; DESIGN.md Deployment"

# every suite whose scenarios run ferry under ferry's manifests adds its list here. The
# proof below reruns, for each rule taken away, the scenarios that used it in this order
# until one fails: every controller runs every informer, so the quick scenarios that
# need a rule most directly come first and the slow lease takeovers last; the Backup's
# before the Schedule's, whose Backups also reach the Backup reconciler (it reads their
# Repository and writes their status without the Schedule's scenario needing it); backup
# sync's first of those: it checks the Repository's status and a deletion's condition,
# which the Backup's scenario also causes without checking them. The agents' certificate
# first: every leader makes sure of its Secrets, so the first scenario creates them
_CTL = dict(scenarios_controller.SCENARIOS)
SCENARIOS = (list(scenarios_agenttls.SCENARIOS) + list(scenarios_autoscale.SCENARIOS) + [("controller-lease", _CTL["controller-lease"])] +
             list(scenarios_backupsync.SCENARIOS) + list(scenarios_backup.SCENARIOS) +
             list(scenarios_restore.SCENARIOS) +
             list(scenarios_schedule.SCENARIOS) + list(scenarios_migrate.SCENARIOS) +
             list(scenarios_lb.SCENARIOS) +
             [(n, f) for n, f in scenarios_controller.SCENARIOS if n != "controller-lease"])
# FERRY_TEST_SCENARIOS=a,b: only those scenarios, and the proof of the rules they use (a
# quick rerun while working on one; the rules no scenario used are then not checked)
ONLY = [n for n in os.environ.get("FERRY_TEST_SCENARIOS", "").split(",") if n]
if ONLY:
    SCENARIOS = [(n, f) for n, f in SCENARIOS if n in ONLY]
# the boxes the proof runs on side by side (prove_all())
PROOF_BOXES = int(os.environ.get("FERRY_TEST_PROOF_BOXES", "4"))
# ferry's service accounts, and those whose rules the scenarios here prove rule by rule;
# the agent's rules need the box's nodes and are proven by its own suite
# (tests/kbox/t_agent.py, issue 13)
ACCOUNTS = ("ferry-controller", "ferry-agent")
PROVEN = ("ferry-controller",)
# the controller's volume path (k8s/deploy/xfer-controller-rbac.yaml) needs storage and
# agents, which this box has not: its roles, bound to ferry-controller too, are left out
# here by name and proven by tests/xfer/t_xfer.py from that suite's audit log
# ferry-controller-lb-route (k8s/deploy/lb-route-rbac.yaml): a LoadBalancePolicy's HTTPRoute
# export needs the Gateway API's CRDs, which this box has not; the export's scenario proves it
# ferry-controller-migrate (k8s/deploy/migrate-rbac.yaml): a Migration's seed needs a second
# cluster running ferry: tests/migrate's warm migration proves it
# ferry-controller-restore-nodes (restore-rbac.yaml): the nodes of the claims a Restore with
# scaleWorkloadsToZero fills, which needs storage too: proven by tests/xfer/t_zero.py
# ferry-controller-switch (switch-rbac.yaml): a StatefulSwitch needs storage and agents: proven
# by tests/switch/t_switch.py, whose controller runs under its service account
ELSEWHERE = ("ferry-controller-volumes", "ferry-controller-lb-route", "ferry-controller-migrate",
             "ferry-controller-switch",
             "ferry-controller-restore-nodes")


def check_manifests(env, docs):
    by = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    for kind, name in [("Namespace", NS), ("ServiceAccount", "ferry-controller"),
                       ("ServiceAccount", "ferry-agent"), ("Deployment", "ferry-controller"),
                       ("PriorityClass", "ferry-critical")]:
        check(f"k8s/deploy has {kind} {name}", (kind, name) in by, ref=REF)
    # RBAC: one ClusterRole and one Role per process at most, bound to its service account only;
    # no wildcards, no Secrets cluster-wide
    roles = [d for d in docs if d["kind"] in ("Role", "ClusterRole")]
    for d in roles:
        for i, rule in enumerate(d.get("rules") or []):
            where = f"{d['kind']}/{d['metadata']['name']} rules[{i}]"
            for key in ("apiGroups", "resources", "verbs", "resourceNames", "nonResourceURLs"):
                check(f"{where}: no wildcard in {key}", not any("*" in v for v in rule.get(key) or []),
                      rule, ref=REF)
            # two exceptions, documented in backup-rbac.yaml and restore-rbac.yaml: a Backup
            # lists an application's Secrets and a Restore writes them back (create and patch,
            # never a read), each in a rule of its own that the chart can leave out
            check(f"{where}: no Secrets cluster-wide (but the Backup's list and the Restore's writes)",
                  d["kind"] == "Role" or "secrets" not in (rule.get("resources") or []) or
                  (d["metadata"]["name"] == "ferry-controller-backup" and
                   rule.get("resources") == ["secrets"] and rule.get("verbs") == ["list"]) or
                  (d["metadata"]["name"] == "ferry-controller-restore" and
                   rule.get("resources") == ["secrets"] and rule.get("verbs") == ["create", "patch"]),
                  rule, ref=REF)
    bindings = [b for b in docs if b["kind"] in ("RoleBinding", "ClusterRoleBinding")]
    for b in bindings:
        subjects = [(s.get("kind"), s.get("namespace"), s.get("name")) for s in b.get("subjects") or []]
        check(f"{b['kind']}/{b['metadata']['name']} binds one service account of ferry's",
              len(subjects) == 1 and subjects[0] in [("ServiceAccount", NS, sa) for sa in ACCOUNTS],
              subjects, ref=REF)
    for sa in ACCOUNTS:
        bound = [(b["roleRef"]["kind"], b["roleRef"]["name"]) for b in bindings
                 if any(s.get("name") == sa for s in b.get("subjects") or []) and
                 b["roleRef"]["name"] not in ELSEWHERE]
        # a process without rights yet (the agent until issue 13) has no role at all
        kinds = [k for k, _ in bound]
        # the controller's capabilities that reach beyond its own kinds each have a
        # ClusterRole of their own (ferry-controller-backup: what a Backup reads), so that
        # each can be read, granted and left out alone
        check(f"service account {sa} is bound to one Role and one ClusterRole at most, each its own "
              "(a process's rights in ferry-system, and over the kinds it handles everywhere), "
              "and one ClusterRole per capability of the controller",
              kinds.count("Role") <= 1 and
              len([n for k, n in bound if k == "ClusterRole" and n == sa]) <= 1 and
              all(n == sa or n.startswith(sa + "-") for _, n in bound) and (bound or sa != "ferry-controller"), bound, ref=REF)
    for d in roles:
        users = [b for b in bindings if (b["roleRef"]["kind"], b["roleRef"]["name"]) ==
                 (d["kind"], d["metadata"]["name"])]
        eq(f"{d['kind']}/{d['metadata']['name']} is bound once, to its process", len(users), 1, ref=REF)
    dep = by.get(("Deployment", "ferry-controller"))
    if dep:
        spec = dep["spec"]["template"]["spec"]
        ctr = spec["containers"][0]
        eq("the controller runs two replicas", dep["spec"].get("replicas"), 2, ref=REF)
        eq("the controller runs as its service account", spec.get("serviceAccountName"), "ferry-controller")
        eq("the controller's liveness probe is /healthz", ctr["livenessProbe"]["httpGet"]["path"], "/healthz")
        eq("the controller's readiness probe is /readyz", ctr["readinessProbe"]["httpGet"]["path"], "/readyz")
        env_vars = {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in ctr["env"]}
        eq("POD_NAME and POD_NAMESPACE come from the downward API",
           (env_vars.get("POD_NAME"), env_vars.get("POD_NAMESPACE")), ("metadata.name", "metadata.namespace"))
        check("the controller runs as non-root", spec["securityContext"].get("runAsNonRoot") is True)
        sc = ctr["securityContext"]
        check("the controller's root file system is read-only, no privilege escalation, no capabilities",
              sc.get("readOnlyRootFilesystem") is True and sc.get("allowPrivilegeEscalation") is False and
              sc.get("capabilities", {}).get("drop") == ["ALL"], sc)
        check("the controller has requests and a memory limit",
              ctr["resources"]["requests"].get("cpu") and ctr["resources"]["limits"].get("memory"))
        eq("the controller has the PriorityClass", spec.get("priorityClassName"), "ferry-critical")
    # the agent's DaemonSet comes with the box's nodes (issue 13), in a file of its own
    ds = by.get(("DaemonSet", "ferry-agent"))
    if ds:
        spec = ds["spec"]["template"]["spec"]
        ctr = spec["containers"][0]
        check("the agent is privileged with hostPID",
              ctr["securityContext"].get("privileged") is True and spec.get("hostPID") is True)
        mounts = {m["mountPath"]: m for m in ctr["volumeMounts"]}
        for path in ("/dev", "/sys/fs/bpf", "/sys/fs/cgroup", "/sys/kernel/btf", "/var/lib/kubelet"):
            check(f"the agent mounts {path} (DESIGN.md)", path in mounts, ref="DESIGN.md Deployment")
        eq("the kubelet directory has HostToContainer propagation",
           mounts.get("/var/lib/kubelet", {}).get("mountPropagation"), "HostToContainer", ref="DESIGN.md Deployment")
        eq("NODE_NAME comes from the downward API",
           {e["name"]: e.get("valueFrom", {}).get("fieldRef", {}).get("fieldPath") for e in ctr["env"]}.get("NODE_NAME"),
           "spec.nodeName")
        check("the agent has /healthz and /readyz probes",
              ctr["livenessProbe"]["httpGet"]["path"] == "/healthz" and
              ctr["readinessProbe"]["httpGet"]["path"] == "/readyz")


def deploy(env):
    ns_path = os.path.join(DEPLOY, "namespace.yaml")
    r = env.kubectl_run("apply", "--dry-run=server", "-k", DEPLOY)
    check("a server dry run before ferry-system exists refuses its namespaced objects: 404, namespace not found "
          "(kube-apiserver's NamespaceLifecycle admission; create the namespace first)",
          r.returncode != 0 and 'namespaces "ferry-system" not found' in r.stderr, r.stderr[-300:],
          ref="API reference: dryRun; NamespaceLifecycle")
    env.kubectl_run("apply", "-f", ns_path, check=True)
    docs = env.manifests()
    r = env.kubectl_run("apply", "--dry-run=server", "-k", DEPLOY)
    check("kubectl apply --dry-run=server -k k8s/deploy accepts everything", r.returncode == 0, r.stderr,
          ref=REF)
    eq("the server dry run answers for every object", r.stdout.count("(server dry run)"), len(docs), ref=REF)
    code, _, _ = env.admin.get(f"/apis/apps/v1/namespaces/{NS}/deployments/ferry-controller")
    eq("a server dry run stores nothing", code, 404, ref="API reference: dryRun")
    r = env.kubectl_run("apply", "-k", DEPLOY)
    check("kubectl apply -k k8s/deploy", r.returncode == 0, r.stderr, ref=REF)
    for path in (f"/apis/apps/v1/namespaces/{NS}/deployments/ferry-controller",
                 f"/apis/rbac.authorization.k8s.io/v1/namespaces/{NS}/roles/ferry-controller",
                 f"/api/v1/namespaces/{NS}/serviceaccounts/ferry-agent",
                 f"/api/v1/namespaces/{NS}/serviceaccounts/ferry-controller"):
        eq(f"applied: {path}", env.admin.get(path)[0], 200, ref=REF)
    if any(d["kind"] == "DaemonSet" for d in docs):
        eq("applied: the agent's DaemonSet",
           env.admin.get(f"/apis/apps/v1/namespaces/{NS}/daemonsets/ferry-agent")[0], 200, ref=REF)
    check_manifests(env, docs)
    return docs


def clear_logs(env):
    for d in os.listdir(env.tmp):
        lp = os.path.join(env.tmp, d, "log")
        if os.path.exists(lp):
            os.unlink(lp)


def run_scenario(env, name, fn):
    r = scenarios_controller.Result(name)
    t0 = time.time()
    try:
        fn(env, r)
    except Exception as e:  # a scenario that crashed failed
        r.failures.append(f"raised {e!r}")
    finally:
        for p in env.procs:
            p.kill()
        env.procs = []
    r.figures["seconds"] = round(time.time() - t0, 1)
    return r


def prove(env, job):
    """One rule (or verb) taken away in @env's box: the scenarios that used it, in order,
    until one fails; (its name, its Result, its audit entries, the processes' logs)."""
    rule, _, _, doc, names = job
    fns = dict(SCENARIOS)
    for name in names:
        clear_logs(env)
        rbacproof.put_role(env.admin, doc)
        start = env.audit_size()
        r = run_scenario(env, name, fns[name])
        entries = env.audit(start)
        rbacproof.put_role(env.admin, rule.doc)
        if r.failures:
            break
    logs = "".join(open(os.path.join(env.tmp, d, "log")).read()
                   for d in os.listdir(env.tmp) if os.path.exists(os.path.join(env.tmp, d, "log")))
    return name, r, entries, logs


def prove_all(env, jobs):
    """prove() for every job, on @env's box and PROOF_BOXES - 1 more of their own, each
    with the manifests applied: the scenarios mostly wait (leases, reconciles), so boxes
    side by side take a fraction of the time of one. Results in the order of @jobs."""
    nbox = max(1, min(PROOF_BOXES, len(jobs)))
    envs = [env]
    lock = threading.Lock()

    def add_box():
        e = opkit.Env(kboxtest.Box(private=True))
        opkit.apply_manifests(e)
        with lock:
            envs.append(e)

    starters = [threading.Thread(target=add_box) for _ in range(nbox - 1)]
    for t in starters:
        t.start()
    for t in starters:
        t.join()
    for e in envs[1:]:
        atexit.register(e.close)
    todo = list(enumerate(jobs))
    results = [None] * len(jobs)

    def worker(e):
        while True:
            with lock:
                if not todo:
                    return
                k, job = todo.pop(0)
            try:
                results[k] = prove(e, job)
            except Exception as ex:  # a box that broke: the job is reported failed to prove
                results[k] = ("-", scenarios_controller.Result("-"), [], f"raised {ex!r}")

    threads = [threading.Thread(target=worker, args=(e,)) for e in envs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main():
    box = kboxtest.Box(private=True)
    env = opkit.Env(box)
    atexit.register(env.close)
    docs = deploy(env)
    if kboxtest.FAILED:
        kboxtest.finish()

    # the scenarios, with the manifests as shipped
    slices = {}
    for name, fn in SCENARIOS:
        start = env.audit_size()
        r = run_scenario(env, name, fn)
        slices[name] = env.audit(start)
        for f in r.failures:
            check(f"{name}: {f}", False, ref="CONTROLPLANE.md §6.5")
        kboxtest.PASSED[0] += not r.failures
        print(f"# {name}: {'ok' if not r.failures else 'FAILED'} {r.figures}", flush=True)

    # least privilege: every rule of the processes run here used by some scenario...
    rules = [r for r in rbacproof.rules_of(docs, PROVEN) if r.role not in ELSEWHERE]
    users_of = {}  # (rule, verb) -> the scenarios that used it, in order
    for rule in rules:
        for need in rule.needs():
            users = [n for n, _ in SCENARIOS if rbacproof.covered(rule, need, slices[n])]
            if not ONLY:
                check(f"{rule}: {need[0]} {need[1]}{' ' + need[2] if need[2] else ''} is used by a "
                      "scenario", users, ref="issue 12 §3: least privilege")
            users_of.setdefault((rule, need[0]), [])
            users_of[(rule, need[0])] += [u for u in users if u not in users_of[(rule, need[0])]]
    # ...and needed: without it (or one of its verbs), the first scenario that used what
    # was taken away fails with a 403 for it
    jobs = []
    for rule in rules:
        for label, verbs, doc in rbacproof.variants(rule):
            used = {u for v in verbs for u in users_of.get((rule, v), [])}
            if used and "watch" in verbs:
                # the audit log writes a watch when it ends: in the slice of a later
                # scenario than the one whose controller opened it
                used = {n for n, _ in SCENARIOS}
            if used:
                jobs.append((rule, label, verbs, doc, [n for n, _ in SCENARIOS if n in used]))
    for (rule, label, verbs, _, _), (name, r, entries, logs) in zip(jobs, prove_all(env, jobs)):
        denied = [e for e in entries if rule.denied(e, verbs)]
        check(f"{label}: scenario {name} fails", r.failures, ref="issue 12 §3: least privilege")
        check(f"{label}: the audit log holds a 403 for {'/'.join(verbs)} {','.join(rule.resources)}",
              denied, [(e.get('verb'), e.get('resource'), e.get('code')) for e in entries
                       if e.get('code') == 403][:5], ref="issue 12 §3: least privilege")
        check(f"{label}: ferry says forbidden, naming the verb", any(
            f"forbidden: grant '{v}'" in logs for v in verbs), ref="issue 12: bad input")
        print(f"# {label}: {name} fails with {len(r.failures)} failed checks, "
              f"first: {r.failures[0] if r.failures else '-'}", flush=True)
    kboxtest.finish()


if __name__ == "__main__":
    main()
