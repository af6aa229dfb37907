#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Corruption of every kind of object, in an encrypted and in an unencrypted
# file:// repository: bits flipped (first, middle, last byte), truncated (by
# one byte, to half, to nothing), deleted, swapped with another object of
# the same kind (or taken from another repository): packs, indexes,
# manifests, the config and the key objects. For each case, a restore of the
# affected snapshot and check --read-data:
#  - never succeed with wrong data: a restore that exits 0 wrote the volume
#    byte-identical (the damage was in bytes nothing reads, e.g. the
#    config's "created"), anything else fails;
#  - for packs, indexes and manifests both fail (exit 3 or 4), and their
#    output names the object (its id); damage to the index copy at the end of
#    a pack (which a restore does not read) is found by check --read-data;
#  - nothing crashes: no exit by a signal, no sanitizer report (CI runs this
#    under ASan and UBSan too).
# Each case prints "outcome: corrupt ..." (tests/RELIABILITY.md).
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"

rel_mkvol "$t_tmp/v.img" 8 41
rel_mkvol "$t_tmp/w.img" 4 42

mkrepo() {  # mkrepo DIR [init options]: two volumes, packs of 1 MiB
    local r
    r=$(t_repo "$1" "${@:2}")
    "$FERRY" backup --repo "$r" --volume v --pack-size 1M "$t_tmp/v.img" >/dev/null || t_error "backup v"
    ls -S $(find "$1/data" -type f) >"$1.vpacks"    # v's packs, largest first
    "$FERRY" backup --repo "$r" --volume w --pack-size 1M "$t_tmp/w.img" >/dev/null || t_error "backup w"
}
mkrepo "$t_tmp/enc"
env FERRY_NEW_PASSWORD=second "$FERRY" key add --repo "file://$t_tmp/enc" --scrypt-n 1024 >/dev/null || t_error "key add"
mkrepo "$t_tmp/enc2"
mkrepo "$t_tmp/plain" --insecure-no-encryption
mkrepo "$t_tmp/plain2" --insecure-no-encryption --chunk-size 256K

# mutate OP FILE [OTHER]: flip-first|flip-mid|flip-last|trunc-1|trunc-half|trunc-0|delete|
#   delete-both|swap|replace
mutate() {
    "$REL_PY" - "$@" <<'PY'
import os, sys
op, f = sys.argv[1], sys.argv[2]
b = bytearray(open(f, "rb").read())
if op.startswith("flip-"):
    i = {"first": 0, "mid": len(b) // 2, "last": len(b) - 1}[op[5:]]
    b[i] ^= 0x04
elif op == "trunc-1":
    b = b[:-1]
elif op == "trunc-half":
    b = b[:len(b) // 2]
elif op == "trunc-0":
    b = b""
elif op == "delete":
    os.unlink(f)
    sys.exit(0)
elif op == "delete-both":
    os.unlink(f)
    os.unlink(sys.argv[3])
    sys.exit(0)
elif op == "swap":
    o = sys.argv[3]
    ob = open(o, "rb").read()
    open(o, "wb").write(b)
    b = ob
elif op == "replace":
    b = open(sys.argv[3], "rb").read()
open(f, "wb").write(b)
PY
}

ncase=0
# one REPO KIND OP EXPECT PATTERN FILE [OTHER]: copy REPO, mutate, restore volume v and check
#   EXPECT: detect (restore and check fail) | either (fail, or restore byte-identical) |
#           check (either for the restore, and check fails: bytes a restore does not read) |
#           restore (the restore fails; check may pass: a deleted manifest is a forgotten snapshot)
#   PATTERN: what the failing output must name (grep -E), "" for no requirement
one() {
    local repo=$1 kind=$2 op=$3 expect=$4 pat=$5 f=$6 o=${7:-} c=$t_tmp/case rr rc_c out
    rm -rf "$c" "$t_tmp/r.img"
    cp -a "$t_tmp/$repo" "$c"
    f=$c/${f#"$t_tmp/$repo/"}
    [ -z "$o" ] || [[ "$o" != "$t_tmp/$repo/"* ]] || o=$c/${o#"$t_tmp/$repo/"}
    mutate "$op" "$f" $o || t_error "mutate $op $f"
    ncase=$((ncase + 1))
    t_run "$FERRY" restore --repo "file://$c" --volume v --json latest "$t_tmp/r.img"
    rr=$t_rc
    out="$t_out $t_err"
    t_checks=$((t_checks + 1))
    [ "$rr" -lt 128 ] || t_fail "$repo $kind $op: restore died (exit $rr): $t_err"
    grep -Eq "AddressSanitizer|runtime error|LeakSanitizer" <<<"$t_err" && t_fail "$repo $kind $op: sanitizer: $t_err"
    if [ "$rr" = 0 ]; then
        [ "$expect" != detect ] && [ "$expect" != restore ] || t_fail "$repo $kind $op: the restore succeeded: $t_out"
        t_same "$repo $kind $op: a restore that succeeded" "$t_tmp/v.img" "$t_tmp/r.img"
    else
        [ -z "$t_out" ] || t_fail "$repo $kind $op: a failed restore printed a result: $t_out"
        [ -z "$pat" ] || grep -Eq -- "$pat" <<<"$t_err" || t_fail "$repo $kind $op: the restore's error does not name /$pat/: $t_err"
    fi
    local rerr=$t_err
    t_run "$FERRY" check --repo "file://$c" --read-data
    rc_c=$t_rc
    t_checks=$((t_checks + 1))
    [ "$rc_c" -lt 128 ] || t_fail "$repo $kind $op: check died (exit $rc_c): $t_err"
    grep -Eq "AddressSanitizer|runtime error|LeakSanitizer" <<<"$t_err" && t_fail "$repo $kind $op: sanitizer: $t_err"
    if [ "$expect" = detect ] || [ "$expect" = check ]; then
        [ "$rc_c" != 0 ] || t_fail "$repo $kind $op: check --read-data passed: $t_out"
        [ -z "$pat" ] || grep -Eq -- "$pat" <<<"$t_out $t_err" || t_fail "$repo $kind $op: check does not name /$pat/: $t_out $t_err"
    fi
    t_log "outcome: corrupt $repo $kind $op: restore exit $rr, check exit $rc_c: $(head -c 160 <<<"$(grep -m1 -E 'error|problem|warning' <<<"$rerr"$'\n'"$t_out"$'\n'"$t_err")")"
}

for repo in enc plain; do
    d=$t_tmp/$repo
    vid=$("$FERRY" snapshots --repo "file://$d" --volume v --json | "$REL_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    wid=$("$FERRY" snapshots --repo "file://$d" --volume w --json | "$REL_PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    # two packs of v: the largest and the next
    packs=($(cat "$d.vpacks"))
    p1=${packs[0]} p2=${packs[1]}
    n1=$(basename "$p1") n2=$(basename "$p2")
    for op in flip-first flip-mid trunc-half trunc-0 delete; do
        one $repo pack $op detect "${n1:0:16}|data/" "$p1"
    done
    # the last bytes of a pack are its copy of the index: a restore reads index/ instead
    for op in flip-last trunc-1; do
        one $repo pack $op check "${n1:0:16}|data/" "$p1"
    done
    one $repo pack swap detect "${n1:0:16}|${n2:0:16}|data/" "$p1" "$p2"
    i1=$d/index/$n1 i2=$d/index/$n2
    for op in flip-first flip-mid flip-last trunc-1 trunc-half trunc-0 delete; do
        one $repo index $op detect "${n1:0:16}|index" "$i1"
    done
    one $repo index swap detect "${n1:0:16}|${n2:0:16}|index" "$i1" "$i2"
    m=$d/snapshots/$vid
    for op in flip-first flip-mid flip-last trunc-1 trunc-half trunc-0; do
        one $repo manifest $op detect "${vid:0:16}|no snapshot of volume" "$m"
    done
    one $repo manifest delete restore "no snapshot of volume" "$m"
    one $repo manifest swap detect "${vid:0:16}|${wid:0:16}|no snapshot of volume" "$m" "$d/snapshots/$wid"
    for op in flip-first flip-mid flip-last trunc-1 trunc-half trunc-0 delete; do
        one $repo config $op either "config|repository" "$d/config"
    done
    one $repo config replace either "config|repository|chunk" "$d/config" "$t_tmp/${repo}2/config"
done
# key objects (the encrypted repository has two: one per password)
keys=($(find "$t_tmp/enc/keys" -type f))
for op in flip-first flip-mid flip-last trunc-1 trunc-half trunc-0; do
    for k in "${keys[@]}"; do
        one enc key-$(basename "$k" | head -c 8) $op either "key" "$k"
    done
done
one enc keys delete-both either "key" "${keys[0]}" "${keys[1]}"
one enc key swap either "key" "${keys[0]}" "${keys[1]}"
# a key object of another repository with the same password: it opens, to another master key
for k in "${keys[@]}"; do
    one enc key-$(basename "$k" | head -c 8) replace either "key|decrypt" "$k" "$(find "$t_tmp/enc2/keys" -type f | head -1)"
done
t_log "outcome: corrupt: $ncase cases, none restored wrong data, nothing crashed"
t_done
