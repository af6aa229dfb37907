#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry bench at tiny sizes on file://: every scenario's JSON matches
# bench/SCHEMA.md with non-zero figures, the table names every stage, the
# generator is deterministic and its kinds compress as documented, --duration
# cycles, --source is read and left alone, and nothing is left behind unless
# --keep. Timings are printed, never judged.
. "$(dirname "$0")/../lib/t_lib.sh"

: "${FERRY_SRC:?FERRY_SRC is not set: run the tests with 'meson test' or tests/run}"
schema=$FERRY_SRC/bench/SCHEMA.md
check=$FERRY_SRC/tests/bench/check_schema.py
work=$t_tmp/work
repo=$t_tmp/repo
mkdir -p "$work" "$repo"
tiny=(--size 3M --chunk-size 64K --object-size 1M --part-size 256K --block-size 64K
      --workdir "$work" --no-fsync)

# left_behind: anything bench wrote that is still there
left_behind() {
    find "$work" "$repo" -mindepth 1 | head -5
}

# ---- every scenario, JSON
t_expect_rc 0 "bench all --json" "$FERRY" bench "${tiny[@]}" --repo "file://$repo" --json all
printf '%s\n' "$t_out" >"$t_tmp/all.json"
t_ok "the JSON of all scenarios matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/all.json" --expect-ok --nonzero
[ "$(t_json scenarios)" = "['read', 'hash', 'compress', 'encrypt', 'put', 'get', 'backup', 'restore']" ] ||
    t_fail "scenarios: $(t_json scenarios)"
[ "$(t_json cleanup.done)" = true ] || t_fail "cleanup.done is $(t_json cleanup.done)"
[ "$(t_json cleanup.files_removed)" = 2 ] || t_fail "cleanup.files_removed is $(t_json cleanup.files_removed)"
[ "$(t_json cleanup.objects_deleted)" -gt 3 ] || t_fail "cleanup.objects_deleted is $(t_json cleanup.objects_deleted)"
[ -z "$(left_behind)" ] || t_fail "bench left files behind: $(left_behind)"
python3 - "$t_tmp/all.json" <<'PY' || t_fail "figures of the all run"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["name"]: s for s in d["stages"]}
size = 3 << 20
for n in ("read", "hash", "compress", "encrypt", "put", "get", "backup", "restore"):
    assert st[n]["bytes_in"] == size, (n, st[n]["bytes_in"])
assert st["hash"]["bytes_stored"] == 32 * (size >> 16), st["hash"]["bytes_stored"]
assert st["encrypt"]["bytes_stored"] == size + 28 * (size >> 16), st["encrypt"]["bytes_stored"]
assert st["compress"]["bytes_stored"] < size, "mixed data did not compress"
assert st["read"]["objects"] == size >> 16 and st["read"]["latency_ms"]["count"] == size >> 16
assert st["put"]["objects"] == 3 and st["put"]["latency_ms"]["count"] == 12  # 3 x 4 parts
assert st["get"]["objects"] == 12
assert st["backup"]["detail"]["snapshot_id"] == st["restore"]["detail"]["snapshot_id"]
assert st["backup"]["detail"]["bytes_zero"] > 0, "mixed data has zero regions"
assert st["backup"]["bytes_stored"] < size
assert st["backup"]["detail"]["encrypted"] is True and st["restore"]["detail"]["encrypted"] is True
for s in d["stages"]:
    print(f"# {s['name']:9s} {s['mb_per_s_in']:9.1f} MB/s in {s['cpu_s_per_gb']:6.2f} CPU s/GB")
PY
t_checks=$((t_checks + 1))

# ---- the table
t_expect_rc 0 "bench hash compress (table)" "$FERRY" bench "${tiny[@]}" hash compress
grep -q '^stage .*MB/s in.*MB/s stored.*p99 ms.*CPU s/GB.*RSS MiB' <<<"$t_out" || t_fail "table header: $t_out"
for s in hash compress; do
    grep -q "^$s " <<<"$t_out" || t_fail "table lacks $s: $t_out"
done
t_checks=$((t_checks + 1))

# ---- one scenario alone: restore makes its own backup first
t_expect_rc 0 "bench restore alone" "$FERRY" bench "${tiny[@]}" --json --data text restore
printf '%s\n' "$t_out" >"$t_tmp/restore.json"
t_ok "the JSON of restore alone matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/restore.json" --expect-ok --nonzero
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "setup_seconds" in d["stages"][0]["detail"]' \
    "$t_tmp/restore.json" || t_fail "restore alone does not report its setup backup"
[ -z "$(left_behind)" ] || t_fail "restore alone left files behind: $(left_behind)"

# ---- --encryption off: a repository in the clear
t_expect_rc 0 "bench --encryption off" "$FERRY" bench "${tiny[@]}" --json --encryption off backup restore
printf '%s\n' "$t_out" >"$t_tmp/clear.json"
t_ok "the JSON of an --encryption off run matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/clear.json" --expect-ok --nonzero
python3 -c 'import json,sys
d=json.load(open(sys.argv[1])); assert d["options"]["encryption"] is False
assert [s["detail"]["encrypted"] for s in d["stages"]] == [False, False]' "$t_tmp/clear.json" ||
    t_fail "--encryption off: the repository is encrypted"
t_expect_rc 2 "--encryption maybe" "$FERRY" bench "${tiny[@]}" --encryption maybe backup

# ---- the generator: deterministic, and each kind as documented
ratio() { # KIND SEED: compress ratio
    "$FERRY" bench "${tiny[@]}" --json --data "$1" --seed "$2" compress |
        python3 -c 'import json,sys; print(json.load(sys.stdin)["stages"][0]["bytes_stored"])'
}
a=$(ratio text 7) b=$(ratio text 7) c=$(ratio text 8)
[ -n "$a" ] && [ "$a" = "$b" ] || t_fail "the same seed gave $a and $b stored bytes"
[ "$a" != "$c" ] || t_fail "seeds 7 and 8 gave the same data ($a stored bytes)"
size=$((3 << 20))
[ "$a" -lt $((size / 2)) ] && [ "$a" -gt $((size / 8)) ] || t_fail "text stored as $a of $size bytes"
r=$(ratio random 1)
[ "$r" = "$size" ] || t_fail "random data stored as $r of $size bytes"
z=$(ratio zero 1)
[ "$z" -lt $((size / 100)) ] || t_fail "zero data stored as $z of $size bytes"
t_checks=$((t_checks + 1))

# ---- --duration cycles over --size
t_expect_rc 0 "bench --duration 1s hash" "$FERRY" bench "${tiny[@]}" --json --duration 1s hash
printf '%s\n' "$t_out" >"$t_tmp/dur.json"
t_ok "the JSON of a --duration run matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/dur.json" --expect-ok --nonzero
python3 -c 'import json,sys
s=json.load(open(sys.argv[1]))["stages"][0]
assert s["seconds"] >= 1.0 and s["bytes_in"] > 3 << 20, (s["seconds"], s["bytes_in"])
assert len(s["samples"]) >= 1' "$t_tmp/dur.json" || t_fail "--duration did not cycle for a second"

# ---- --source: read and backed up, never removed
src=$t_tmp/user.img
t_region "$src" 0 2 random
t_region "$src" 2 1 text
t_expect_rc 0 "bench --source read backup restore" "$FERRY" bench "${tiny[@]}" --json --source "$src" read backup restore
printf '%s\n' "$t_out" >"$t_tmp/src.json"
t_ok "the JSON of a --source run matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/src.json" --expect-ok --nonzero
[ "$(t_json options.source)" = "$src" ] || t_fail "options.source $(t_json options.source)"
[ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stages"][0]["detail"]["source"])' "$t_tmp/src.json")" = "$src" ] ||
    t_fail "read did not read --source"
[ -f "$src" ] && [ "$(stat -c %s "$src")" = $((3 << 20)) ] || t_fail "--source was removed or changed"
[ -z "$(left_behind)" ] || t_fail "the --source run left files behind: $(left_behind)"

# ---- --keep leaves the run's directory and prefix, and says where
t_expect_rc 0 "bench --keep" "$FERRY" bench "${tiny[@]}" --repo "file://$repo" --json --keep put backup
printf '%s\n' "$t_out" >"$t_tmp/keep.json"
t_ok "the JSON of a --keep run matches SCHEMA.md" python3 "$check" "$schema" "$t_tmp/keep.json" --expect-ok
kept=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["cleanup"]["kept"]))' "$t_tmp/keep.json")
[ "$(t_json cleanup.done)" = false ] || t_fail "--keep: cleanup.done is true"
for k in $kept; do
    [ -e "${k#file://}" ] || t_fail "--keep: $k is gone"
done
[ -n "$(find "$repo" -path '*ferry-bench-*/put/*' -type f)" ] || t_fail "--keep: no put objects in $repo"
"$FERRY" snapshots --repo "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cleanup"]["kept"][1])' "$t_tmp/keep.json")/repo" --json |
    python3 -c 'import json,sys; assert len(json.load(sys.stdin)) == 1' || t_fail "--keep: the backup's repository does not list its snapshot"
rm -rf "$work"/* "$repo"/*
t_checks=$((t_checks + 1))

# ---- bad command lines
t_expect_rc 2 "no scenario" "$FERRY" bench "${tiny[@]}"
t_expect_err "no SCENARIO" "no scenario"
t_expect_rc 2 "unknown scenario" "$FERRY" bench "${tiny[@]}" hash fly
t_expect_err "unknown scenario 'fly'" "unknown scenario"
t_expect_rc 2 "--block-size not a multiple of 4K" "$FERRY" bench "${tiny[@]}" --block-size 5000 read
t_expect_rc 2 "--data unknown" "$FERRY" bench "${tiny[@]}" --data lorem hash
t_expect_rc 2 "--chunk-size not a power of two" "$FERRY" bench "${tiny[@]}" --chunk-size 96K hash
t_expect_rc 0 "--help" "$FERRY" bench --help
grep -q "AES-256-GCM" <<<"$t_out" || t_fail "--help does not name the cipher of encrypt"
[ -z "$(left_behind)" ] || t_fail "usage errors left files behind: $(left_behind)"

t_done
