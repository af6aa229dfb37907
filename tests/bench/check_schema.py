#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Check `ferry bench --json` output against the tables of bench/SCHEMA.md.

    check_schema.py SCHEMA.md OUTPUT.json [--expect-ok] [--nonzero]

Every field the document has must be in SCHEMA.md with the type it has there;
every field SCHEMA.md lists must be present (detail fields: in the stages
named, unless marked '?'); --nonzero also wants non-zero figures from every
successful stage. Exit 0 when it matches, 1 with one line per mismatch.
"""
import json
import re
import sys

ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([a-z|\\]+)\s*\|(.*)$")


def load_schema(path):
    """{path: (types, stages or None)} from the field tables."""
    fields = {}
    for line in open(path, encoding="utf-8"):
        m = ROW.match(line.strip())
        if not m:
            continue
        name, types = m.group(1), m.group(2).replace("\\", "").split("|")
        stages = None
        if name.startswith("stages[].detail."):
            cols = [c.strip() for c in m.group(3).split("|")]
            stages = {}
            for s in cols[0].split():
                stages[s.rstrip("?")] = not s.endswith("?")  # required?
        fields[name] = (types, stages)
    return fields


def type_ok(v, types):
    for t in types:
        if t == "null" and v is None:
            return True
        if t == "string" and isinstance(v, str):
            return True
        if t == "bool" and isinstance(v, bool):
            return True
        if t == "number" and isinstance(v, (int, float)) and not isinstance(v, bool):
            return True
        if t == "integer" and isinstance(v, (int, float)) and not isinstance(v, bool) \
                and float(v).is_integer():
            return True
        if t == "object" and isinstance(v, dict):
            return True
        if t == "array" and isinstance(v, list):
            return True
    return False


def walk(v, path, out):
    """(schema path, value) of every field, arrays as []."""
    if isinstance(v, dict):
        for k, x in v.items():
            p = f"{path}.{k}" if path else k
            out.append((p, x))
            walk(x, p, out)
    elif isinstance(v, list):
        for x in v:
            if isinstance(x, (dict, list)):
                walk(x, path + "[]", out)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    expect_ok = "--expect-ok" in sys.argv
    nonzero = "--nonzero" in sys.argv
    schema = load_schema(args[0])
    doc = json.loads(open(args[1], encoding="utf-8").read())
    errs = []
    if not schema:
        errs.append(f"no field tables found in {args[0]}")

    # every field present is documented, with its type
    seen = []
    walk(doc, "", seen)
    for p, v in seen:
        if p not in schema:
            errs.append(f"{p}: not in SCHEMA.md")
        elif not type_ok(v, schema[p][0]):
            errs.append(f"{p}: {json.dumps(v)[:60]} is not {'|'.join(schema[p][0])}")

    # every documented field is present where it must be
    def has(obj, dotted):
        for k in dotted.split("."):
            if not isinstance(obj, dict) or k not in obj:
                return False
            obj = obj[k]
        return True

    stages = doc.get("stages", [])
    for name, (types, st_req) in schema.items():
        if name.startswith("stages[].detail."):
            key = name[len("stages[].detail."):]
            for s in stages:
                d = s.get("detail", {})
                if s.get("name") in st_req:
                    if st_req[s["name"]] and s.get("ok") and key not in d:
                        errs.append(f"stage {s['name']}: detail.{key} missing")
                elif key in d:
                    errs.append(f"stage {s.get('name')}: detail.{key} is not one of its fields")
        elif name.startswith("stages[].samples[]."):
            key = name[len("stages[].samples[]."):]
            for s in stages:
                for smp in s.get("samples", []):
                    if key not in smp:
                        errs.append(f"stage {s.get('name')}: a sample lacks {key}")
        elif name.startswith("stages[].latency_ms."):
            key = name[len("stages[].latency_ms."):]
            for s in stages:
                if isinstance(s.get("latency_ms"), dict) and key not in s["latency_ms"]:
                    errs.append(f"stage {s.get('name')}: latency_ms.{key} missing")
        elif name.startswith("stages[]."):
            key = name[len("stages[]."):]
            for s in stages:
                if key not in s:
                    errs.append(f"stage {s.get('name')}: {key} missing")
        elif not has(doc, name):
            errs.append(f"{name}: missing")

    if doc.get("schema") != "ferry-bench/1":
        errs.append(f"schema is {doc.get('schema')!r}")
    if [s.get("name") for s in stages] != doc.get("scenarios"):
        errs.append("stages are not in scenarios order")
    if expect_ok:
        for s in stages:
            if not s.get("ok"):
                errs.append(f"stage {s.get('name')} failed: {s.get('error')}")
        if not doc.get("ok"):
            errs.append("ok is false")
    if nonzero:
        for s in stages:
            if not s.get("ok"):
                continue
            n = s["name"]
            for k in ("seconds", "bytes_in", "bytes_stored", "mb_per_s_in", "mb_per_s_stored",
                      "objects", "objects_per_s", "peak_rss_bytes"):
                if not s.get(k, 0) > 0:
                    errs.append(f"stage {n}: {k} is {s.get(k)}")
            if not s.get("samples"):
                errs.append(f"stage {n}: no samples")
            elif s["samples"][-1]["bytes"] != s["bytes_in"] and n not in ("backup", "restore"):
                errs.append(f"stage {n}: the last sample ({s['samples'][-1]['bytes']}) is not bytes_in")
            lat = s.get("latency_ms")
            if n in ("backup", "restore"):
                if lat is not None:
                    errs.append(f"stage {n}: latency_ms should be null")
            elif not lat or not lat["count"] > 0 or not 0 < lat["p50"] <= lat["p90"] <= \
                    lat["p99"] <= lat["max"]:
                errs.append(f"stage {n}: latency_ms {lat}")
            if s.get("cpu_user_s", -1) < 0 or s.get("cpu_sys_s", -1) < 0:
                errs.append(f"stage {n}: negative CPU time")
            if "verified" in s.get("detail", {}) and s["detail"]["verified"] is not True:
                errs.append(f"stage {n}: not verified")
        cpu = sum(s.get("cpu_user_s", 0) + s.get("cpu_sys_s", 0) for s in stages)
        if stages and not cpu > 0:
            errs.append("no CPU time in any stage")
    for e in errs:
        print(e)
    return 1 if errs else 0


if __name__ == "__main__":
    sys.exit(main())
