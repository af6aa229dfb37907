# SPDX-License-Identifier: MIT
"""t_schedule_crd: k8s/deploy/crd-schedules.yaml and control/cluster's reader, held against each other.

On the box's API server (or a real cluster, FERRY_TEST_KUBECONFIG), with the CRD applied:
- every Schedule the reader takes, the API server stores as written (nothing pruned), and
  the status the planner writes for it is stored as written and reads back the same;
- what the schema refuses (types, bounds, required fields; unknown fields under
  fieldValidation=Strict, what kubectl sends), the reader refuses too;
- what only the controller can refuse (the schedule language, a zone that exists, label
  syntax, owner references) is stored, and refused by the reader as FailedValidation, whose
  status the API server takes;
- spec.template keeps the Backup's own fields, and the Backup a run creates carries them.
Usage: t_schedule_crd.py PROBE (tests/cluster/t_schedule_probe). Exit 0, 1, 77 or 99.
"""
import copy
import json
import os
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "kbox"))
from kboxtest import Box, check, eq, finish, wait_until  # noqa: E402

try:
    import yaml
except ImportError:
    print("SKIP: python3-yaml is not installed (tests/install-deps.sh)")
    sys.exit(77)

REF = "k8s/deploy/crd-schedules.yaml, control/cluster/cluster.h"
PROBE = sys.argv[1]
CRD_FILE = os.path.join(HERE, "..", "..", "k8s", "deploy", "crd-schedules.yaml")
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def probe(obj, now=None):
    r = subprocess.run([PROBE, str(int(now if now is not None else time.time()))],
                       input=json.dumps(obj), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        print(f"ERROR: the probe failed ({r.returncode}): {r.stderr}")
        sys.exit(99)
    return json.loads(r.stdout)


def strip_nulls(v):
    """What a merge patch leaves in the object: its nulls are deletions."""
    if isinstance(v, dict):
        return {k: strip_nulls(x) for k, x in v.items() if x is not None}
    return v


box = Box()
c = box.admin
crd = yaml.safe_load(open(CRD_FILE))
code, _, body = c.post(CRDS, crd)
if code == 409:  # the shared box or a real cluster has it from an earlier run: replace it
    _, _, old = c.get(f"{CRDS}/schedules.ferry.io")
    crd["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"]
    code, _, body = c.put(f"{CRDS}/schedules.ferry.io", crd)
check("the Schedule CRD is taken", code in (200, 201), code, "201", REF)
ns = box.namespace("sched")
S = f"/apis/ferry.io/v1alpha1/namespaces/{ns}/schedules"
served = wait_until(lambda: c.get(S)[0] == 200, 20)
check("schedules are served once the CRD is Established", served, None, None, REF)
if not served:
    finish()
STRICT = {"fieldValidation": "Strict"}


def manifest(name, spec):
    return {"apiVersion": "ferry.io/v1alpha1", "kind": "Schedule",
            "metadata": {"name": name, "namespace": ns}, "spec": spec}


# ------------------------------------------------ taken by both, stored as written
TAKEN = [
    ("full", {"schedule": "30 2 * * *", "timeZone": "America/New_York", "paused": False,
              "skipImmediately": True, "useOwnerReferencesInBackup": False,
              "template": {"ttl": "720h", "includedNamespaces": ["app"],
                           "labelSelector": {"matchLabels": {"app": "pg"}},
                           "metadata": {"labels": {"tier": "db", "app.kubernetes.io/name": "pg"}}},
              "retention": {"last": 2, "hourly": 0, "daily": 7, "weekly": 4, "monthly": 12,
                            "yearly": 1000000}}),
    ("least", {"schedule": "@daily"}),
    ("quartz", {"schedule": "0/10 * * * * ?", "template": {"ttl": "30s"}, "retention": {"last": 2}}),
    ("every", {"schedule": "CRON_TZ=Europe/Berlin @every 1h30m", "paused": True}),
]
for name, spec in TAKEN:
    m = manifest(name, spec)
    p = probe(m)
    eq(f"{name}: the reader takes it", (p["ret"], p.get("invalid"), p.get("why")), (0, False, ""), REF)
    code, _, stored = c.post(S, m, query=STRICT)
    eq(f"{name}: the API server takes it under fieldValidation=Strict", code, 201, REF)
    if code != 201:
        continue
    eq(f"{name}: stored as written (nothing pruned)", stored["spec"], spec, REF)
    p = probe(stored)
    eq(f"{name}: the reader takes what was stored", (p["ret"], p["invalid"]), (0, False), REF)
    code, _, after = c.patch(f"{S}/{name}/status", p["patch"])
    eq(f"{name}: the planned status is taken by the status subresource", code, 200, REF)
    if code != 200:
        print(f"      the patch: {json.dumps(p['patch'])}\n      the answer: {after}")
        continue
    eq(f"{name}: the status is stored as written", after.get("status"),
       strip_nulls(p["patch"])["status"], REF)
    again = probe(after)
    eq(f"{name}: the status reads back the same", again["read"], p["patch"], REF)
    if name == "full":
        eq("the Backup of a run keeps the template's own fields",
           (again["backup"]["spec"].get("includedNamespaces"),
            again["backup"]["spec"].get("labelSelector"), again["backup"]["spec"].get("ttl"),
            again["backup"]["metadata"]["labels"].get("ferry.io/schedule"),
            again["backup"]["metadata"]["labels"].get("tier")),
           (["app"], {"matchLabels": {"app": "pg"}}, "720h", "full", "db"), REF)

# ------------------------------------------------ refused by the schema, and by the reader
REFUSED = [
    ("no schedule", {"timeZone": "UTC"}, 422),
    ("schedule not a string", {"schedule": 5}, 422),
    ("schedule too long", {"schedule": "*" * 1100}, 422),
    ("zone not a string", {"schedule": "@daily", "timeZone": 3}, 422),
    ("zone too long", {"schedule": "@daily", "timeZone": "Z" * 300}, 422),
    ("paused not a boolean", {"schedule": "@daily", "paused": "yes"}, 422),
    ("skipImmediately not a boolean", {"schedule": "@daily", "skipImmediately": 1}, 422),
    ("a negative count", {"schedule": "@daily", "retention": {"daily": -1}}, 422),
    ("a count too large", {"schedule": "@daily", "retention": {"weekly": 1000001}}, 422),
    ("a fractional count", {"schedule": "@daily", "retention": {"daily": 1.5}}, 422),
    ("a count as a string", {"schedule": "@daily", "retention": {"last": "7"}}, 422),
    ("ttl not a string", {"schedule": "@daily", "template": {"ttl": 720}}, 422),
    ("template not an object", {"schedule": "@daily", "template": "x"}, 422),
    ("a label value not a string", {"schedule": "@daily",
                                    "template": {"metadata": {"labels": {"k": 5}}}}, 422),
    ("a typo in spec", {"schedule": "@daily", "schedul": "@hourly"}, 400),
    ("a typo in retention", {"schedule": "@daily", "retention": {"dayly": 7}}, 400),
    ("annotations in the template's metadata",
     {"schedule": "@daily", "template": {"metadata": {"annotations": {"a": "b"}}}}, 400),
]
for i, (what, spec, want) in enumerate(REFUSED):
    m = manifest(f"refused-{i}", spec)
    code, _, body = c.post(S, m, query=STRICT)
    eq(f"{what}: the API server refuses it", code, want, REF)
    p = probe(m)
    check(f"{what}: the reader refuses it too", p["ret"] != 0 or p.get("invalid"), p, "refused", REF)

# ------------------------------------------------ stored, and FailedValidation by the controller
SEMANTIC = [
    ("a minute out of range", {"schedule": "61 * * * *"}, "spec.schedule: minute '61'"),
    ("a Quartz expression without '?'", {"schedule": "0 0 1 * * *"}, "spec.schedule: 6-7 fields are Quartz"),
    ("a zone that does not exist", {"schedule": "@daily", "timeZone": "Mars/Olympus"},
     "spec.timeZone: unknown time zone 'Mars/Olympus'"),
    ("the zone given twice", {"schedule": "CRON_TZ=UTC @daily", "timeZone": "Europe/Berlin"},
     "the zone is given twice"),
    ("a ttl that is not a duration", {"schedule": "@daily", "template": {"ttl": "10 days"}},
     "spec.template.ttl: "),
    ("a label key Kubernetes refuses", {"schedule": "@daily",
                                        "template": {"metadata": {"labels": {"bad key!": "v"}}}},
     "'bad key!' is not a label key"),
    ("owner references", {"schedule": "@daily", "useOwnerReferencesInBackup": True},
     "spec.useOwnerReferencesInBackup: true is refused"),
]
for i, (what, spec, why) in enumerate(SEMANTIC):
    name = f"semantic-{i}"
    code, _, stored = c.post(S, manifest(name, spec), query=STRICT)
    eq(f"{what}: the API server stores it (no schema says this)", code, 201, REF)
    if code != 201:
        continue
    p = probe(stored)
    check(f"{what}: the reader refuses it as FailedValidation, with the reason",
          p["ret"] == 0 and p["invalid"] and why in p["why"], p.get("why"), why, REF)
    code, _, after = c.patch(f"{S}/{name}/status", p["patch"])
    eq(f"{what}: the FailedValidation status is taken",
       (code, after.get("status", {}).get("phase"), after.get("status", {}).get("validationErrors")),
       (200, "FailedValidation", [p["why"]]), REF)

# a status the schema does not know is refused: the enum holds the phases the reader writes
code, _, body = c.patch(f"{S}/least/status", {"status": {"phase": "Running"}})
eq("a phase outside the four is refused by the status schema", code, 422, REF)
finish()
