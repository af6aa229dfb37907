# SPDX-License-Identifier: MIT
"""Scenarios of `ferry controller` in the box, each a named function that runs
controller processes under the ferry-controller service account and records
what did not happen as it must (Result.check). tests/operator/t_controller.py
runs them with the manifests as shipped, then again without each RBAC rule.

Timing bounds come from the Lease's specification (CONTROLPLANE.md §6.5,
client-go's leaderelection; k8s/README.md "Leader election and the fence"),
never from what a quiet machine achieves:
- a standby takes over no sooner than leaseDuration after the last renewal
  it saw (safety: the old leader stopped acting renewDeadline after it),
  and, polling every retryPeriod (+20 % jitter) and waking when the lease
  runs out, no later than leaseDuration + 2 x retryPeriod after the kill;
- after a release (SIGTERM), within 2 x retryPeriod (one poll, its jitter,
  the requests);
- a leader that could not renew stops acting at renewDeadline after its last
  successful renewal was sent: the audit log shows no write of it later.
"""
import random
import re
import shutil
import signal
import subprocess
import time

from opkit import NS, WRITE_VERBS, ts_of

# the shipped settings (k8s/deploy/controller.yaml runs the defaults)
LEASE, RENEW, RETRY = 15.0, 10.0, 2.0
MICROTIME = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z"


class Result:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.figures = {}

    def check(self, what, ok, got=None):
        if not ok:
            self.failures.append(what + (f" (got: {got!r})" if got is not None else ""))
        return bool(ok)


def wait_until(fn, timeout, step=0.1, alive=None):
    """fn() until true or @timeout seconds; stops early when @alive (a Proc) exited."""
    end = time.time() + timeout
    while time.time() < end:
        v = fn()
        if v:
            return v
        if alive is not None and alive.p.poll() is not None:
            return fn()
        time.sleep(step)
    return fn()


def lease_spec(env):
    lease = env.lease()
    return (lease or {}).get("spec", {})


def writes_of(entries, proc):
    """Audit entries of writes by @proc (its user agent names its identity)."""
    return [e for e in entries if proc.ua() in e.get("userAgent", "") and e.get("verb") in WRITE_VERBS]


def lease_updates(entries, proc, code=200):
    return [e for e in entries if proc.ua() in e.get("userAgent", "") and e.get("resource") == "leases"
            and e.get("verb") in ("update", "create") and e.get("code") in (code, 201)]


# ------------------------------------------------------------------ scenarios

def scenario_lease(env, r):
    """One candidate: takes the free Lease at once, records an Event, serves its
    endpoints, renews, and releases the Lease on SIGTERM (exit 0)."""
    env.delete_lease()
    a = env.controller("lease-a", identity=False, env={"POD_NAME": "ferry-controller-7d9f-x2x"})
    m = a.wait_line(r"(\S+): leading ferry-system/ferry-controller", LEASE)
    if not r.check("the only candidate leads (a free Lease is taken at the first try)", m, a.text()):
        a.kill()
        return
    ident = m.group(1)
    a.name = ident
    r.check("its identity is $POD_NAME, '_' and a random suffix (client-go: the host name and a UUID)",
            re.fullmatch(r"ferry-controller-7d9f-x2x_[0-9a-f]{8}", ident), ident)
    spec = lease_spec(env)
    r.check("the Lease names it holder", spec.get("holderIdentity") == ident, spec)
    r.check("leaseDurationSeconds is the shipped 15", spec.get("leaseDurationSeconds") == 15, spec)
    r.check("acquireTime and renewTime are MicroTime (RFC 3339, 6 decimals)",
            re.fullmatch(MICROTIME, spec.get("acquireTime", "")) and
            re.fullmatch(MICROTIME, spec.get("renewTime", "")), spec)
    lease_uid = (env.lease() or {}).get("metadata", {}).get("uid")

    def event():
        for e in env.events():
            if e.get("reason") == "LeaderElection" and e.get("note") == f"{ident} became leader":
                return e
        return None
    ev = wait_until(event, 5, alive=a)
    if r.check("an Event records who became the leader (events.k8s.io/v1, as client-go's recorder)", ev,
               [e.get("note") for e in env.events()]):
        reg = ev.get("regarding", {})
        r.check("the Event is about the Lease (kind, name, uid)",
                reg.get("kind") == "Lease" and reg.get("name") == "ferry-controller" and
                reg.get("uid") == lease_uid, reg)
        r.check("the Event names its controller and instance",
                ev.get("reportingController") == "ferry.io/controller" and
                ev.get("reportingInstance") == ident and ev.get("type") == "Normal", ev)
    code, text = a.http("/metrics")
    r.check("/metrics answers 200", code == 200, code)
    r.check("/metrics says this process leads",
            'ferry_controller_leader{lease="ferry-system/ferry-controller"} 1' in text, text[:400])
    r.check("/metrics has the process's own series", "process_resident_memory_bytes " in text)
    promtool = shutil.which("promtool")
    if promtool and code == 200:
        p = subprocess.run([promtool, "check", "metrics"], input=text, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        r.check("promtool check metrics finds nothing to say", p.returncode == 0 and not p.stdout.strip(),
                p.stdout)
    r.check("/healthz answers 200", a.http("/healthz")[0] == 200)
    r.check("/readyz answers 200 once it leads", a.http("/readyz")[0] == 200)
    r.check("an unknown path is 404", a.http("/nope")[0] == 404)
    r.check("a POST is 405", a.http("/metrics", method="POST")[0] == 405)
    # it renews: renewTime moves every retry period, well within the renew deadline
    rt0 = spec.get("renewTime")
    r.check("the leader renews the Lease within its renew deadline",
            wait_until(lambda: lease_spec(env).get("renewTime") not in (None, rt0), RENEW, alive=a),
            lease_spec(env))
    # SIGTERM: the reconcilers stop, the Lease is released (holderIdentity ""), exit 0
    a.signal(signal.SIGTERM)
    rc = a.wait(30)  # the Deployment's terminationGracePeriodSeconds
    r.check("SIGTERM: exit 0", rc == 0, (rc, a.text()[-600:]))
    r.check("SIGTERM: it says it released the Lease", "released lease ferry-system/ferry-controller" in a.text(),
            a.text()[-400:])
    spec = lease_spec(env)
    r.check("the released Lease has no holder and a 1 s duration (client-go's ReleaseOnCancel)",
            spec.get("holderIdentity", "") == "" and spec.get("leaseDurationSeconds") == 1, spec)


def scenario_failover(env, r):
    """A leads, B waits; SIGKILL A: B takes over leaseDuration after A's last renewal,
    within leaseDuration + 2 x retryPeriod of the kill, and A wrote nothing after its
    renew deadline. Then C waits; SIGTERM B: B releases, C takes over within
    2 x retryPeriod."""
    env.delete_lease()
    start = env.audit_size()
    a = env.controller("fail-a")
    if not r.check("A leads", a.wait_line(r"fail-a: leading", LEASE), a.text()):
        return
    # B starts at a random point of A's renewal period: started at once, it would poll
    # in step with A's renewals and see each at once, the quickest takeover there is
    time.sleep(random.uniform(0, 1.2 * RETRY))
    b = env.controller("fail-b")
    if not r.check("B sees A lead", b.wait_line(r"fail-b: the leader is fail-a", LEASE), b.text()):
        return
    r.check("B is ready (a standby is ready to take over)", b.http("/readyz")[0] == 200)
    r.check("B's /metrics says it does not lead",
            b.metric("ferry_controller_leader") == 0.0, b.metric("ferry_controller_leader"))
    # one more renewal of A seen by B, so that B's clock has a record to wait on
    time.sleep(RETRY)
    t_kill = time.time()
    a.p.send_signal(signal.SIGKILL)
    a.wait(5)
    took = b.wait_line(r"fail-b: leading", LEASE + 4 * RETRY)
    r.check("B leads after A is killed", took, b.text()[-400:])
    entries = env.audit(start)
    a_ok = lease_updates(entries, a)
    b_ok = [e for e in lease_updates(entries, b) if ts_of(e) > t_kill]
    if not (r.check("A's renewals are in the audit log", a_ok) and
            r.check("B's takeover is in the audit log", b_ok)):
        return
    last_a, take = ts_of(a_ok[-1]), ts_of(b_ok[0])
    r.figures["failover_after_kill_s"] = round(take - t_kill, 3)
    r.figures["failover_after_last_renewal_s"] = round(take - last_a, 3)
    r.check(f"B took the Lease no sooner than leaseDuration ({LEASE:g} s) after A's last renewal",
            take - last_a >= LEASE - 0.001, round(take - last_a, 3))
    r.check(f"B took the Lease within leaseDuration + 2 x retryPeriod ({LEASE + 2 * RETRY:g} s) of the kill",
            take - t_kill <= LEASE + 2 * RETRY, round(take - t_kill, 3))
    late = [e for e in writes_of(entries, a) if ts_of(e) > last_a + RENEW]
    r.check("the audit log shows no write by A after its renew deadline", not late, late[:3])
    r.check("B records its Event",
            wait_until(lambda: any(e.get("note") == "fail-b became leader" for e in env.events()), 5))
    spec = lease_spec(env)
    r.check("leaseTransitions counts the change of holder", spec.get("leaseTransitions") == 1, spec)

    # a clean stop: the Lease is released and the standby takes it at its next poll
    c = env.controller("fail-c")
    if not r.check("C sees B lead", c.wait_line(r"fail-c: the leader is fail-b", LEASE), c.text()):
        return
    start2 = env.audit_size()
    t_term = time.time()
    b.signal(signal.SIGTERM)
    rc = b.wait(30)
    r.check("SIGTERM: B exits 0", rc == 0, (rc, b.text()[-400:]))
    took = c.wait_line(r"fail-c: leading", LEASE)
    r.check("C leads after B's release", took, c.text()[-400:])
    entries = env.audit(start2)
    c_ok = lease_updates(entries, c)
    if r.check("C's takeover is in the audit log", c_ok):
        take = ts_of(c_ok[0])
        r.figures["takeover_after_sigterm_s"] = round(take - t_term, 3)
        r.check(f"C took the released Lease within 2 x retryPeriod ({2 * RETRY:g} s) of SIGTERM",
                take - t_term <= 2 * RETRY, round(take - t_term, 3))
    spec = lease_spec(env)
    r.check("the Lease names C, after two changes of holder",
            spec.get("holderIdentity") == "fail-c" and spec.get("leaseTransitions") == 2, spec)
    c.signal(signal.SIGTERM)
    r.check("SIGTERM: C exits 0", c.wait(30) == 0, c.text()[-400:])


def scenario_fence(env, r):
    """A leader that cannot renew stops acting: D is stopped (SIGSTOP) past its renew
    deadline, E takes over, D continued (SIGCONT) writes nothing, says why, exits 11.
    Short settings (6 s / 4 s / 1 s, through the flags), the same rules at any scale."""
    lease, renew, retry = 6.0, 4.0, 1.0
    args = ["--lease-duration", "6", "--renew-deadline", "4", "--retry-period", "1"]
    env.delete_lease()
    start = env.audit_size()
    d = env.controller("fence-d", args)
    if not r.check("D leads", d.wait_line(r"fence-d: leading", lease), d.text()):
        return
    e = env.controller("fence-e", args)
    if not r.check("E sees D lead", e.wait_line(r"fence-e: the leader is fence-d", lease), e.text()):
        return
    time.sleep(retry)
    t_stop = time.time()
    d.signal(signal.SIGSTOP)
    took = e.wait_line(r"fence-e: leading", lease + 4 * retry)
    r.check("E leads while D is stopped", took, e.text()[-400:])
    t_cont = time.time()
    d.signal(signal.SIGCONT)
    rc = d.wait(lease)
    r.check("D, continued past its renew deadline, exits 11 (lost the lease)", rc == 11, (rc, d.text()[-600:]))
    r.check("D says it could not renew within its renew deadline and stops",
            re.search(r"error: controller fence-d: lease ferry-system/ferry-controller: fence-d could not "
                      r"renew within 4000 ms \(the renew deadline\): it stops leading", d.text()), d.text()[-600:])
    entries = env.audit(start)
    d_ok = lease_updates(entries, d)
    e_ok = [x for x in lease_updates(entries, e) if ts_of(x) > t_stop]
    if not (r.check("D's renewals are in the audit log", d_ok) and r.check("E's takeover is in the audit log", e_ok)):
        return
    last_d, take = ts_of(d_ok[-1]), ts_of(e_ok[0])
    r.figures["fence_takeover_after_stop_s"] = round(take - t_stop, 3)
    r.check(f"E took the Lease no sooner than leaseDuration ({lease:g} s) after D's last renewal",
            take - last_d >= lease - 0.001, round(take - last_d, 3))
    r.check(f"E took the Lease within leaseDuration + 2 x retryPeriod ({lease + 2 * retry:g} s) of the stop",
            take - t_stop <= lease + 2 * retry, round(take - t_stop, 3))
    late = [x for x in writes_of(entries, d) if ts_of(x) > last_d + renew]
    r.check("the audit log shows no write by D after its renew deadline", not late, late[:3])
    after = [x for x in entries if d.ua() in x.get("userAgent", "") and ts_of(x) > t_cont and
             x.get("verb") in WRITE_VERBS]
    r.check("D sent no write at all once continued", not after, after[:3])
    r.check("E still leads", lease_spec(env).get("holderIdentity") == "fence-e", lease_spec(env))
    e.signal(signal.SIGTERM)
    r.check("SIGTERM: E exits 0", e.wait(30) == 0, e.text()[-400:])


# the order is the order they run in; the least-privilege proof reruns the first that
# used a rule, so the quick one comes first
SCENARIOS = [
    ("controller-lease", scenario_lease),
    ("controller-failover", scenario_failover),
    ("controller-fence", scenario_fence),
]
