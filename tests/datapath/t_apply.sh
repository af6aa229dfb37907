#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Delta apply (ferry restore --onto) onto image files: snapshot N applied onto
# a file that holds P equals N byte for byte, and only the chunks that differ
# were written or zeroed (the job's counts); the way back shrinks the file. A
# target that holds another snapshot, was modified since its stamp or has no
# stamp is refused untouched. A kill at each of the apply's points (and in a
# full restore) leaves the target dirty: the next apply is refused and names
# the fix, and a full restore recovers it. Two applies at once: the second is
# refused.
. "$(dirname "$0")/../lib/t_lib.sh"

M=$((1 << 20))
repo=$(t_repo "$t_tmp/repo")
P=$t_tmp/p.img
N=$t_tmp/n.img
# P: 20 MiB and 300 KiB (a partial last chunk): data, a hole, data, written
# zeros, text, and the partial chunk
truncate -s $((20 * M + 300 * 1024)) "$P"
t_region "$P" 0 4 random
t_region "$P" 8 4 random
t_region "$P" 12 4 zero
t_region "$P" 16 4 text
head -c $((300 * 1024)) /dev/urandom | dd of="$P" bs=1K seek=$((20 * 1024)) conv=notrunc status=none
# N: chunk 1 and chunk 5 (in the hole) new data, chunks 9 and 17 zeroed, the
# last chunk grown to 1 MiB, a new data chunk 21 and a zero tail of 100 KiB
cp --sparse=always "$P" "$N"
t_region "$N" 1 1 random
t_region "$N" 5 1 random
t_region "$N" 9 1 zero
t_region "$N" 17 1 zero
t_region "$N" 20 2 random
truncate -s $((22 * M + 100 * 1024)) "$N"

t_expect_rc 0 "backup of P" "$FERRY" backup --repo "$repo" --volume v --json "$P"
sp=$(t_json snapshot_id)
t_expect_rc 0 "backup of N" "$FERRY" backup --repo "$repo" --volume v --json "$N"
sn=$(t_json snapshot_id)

stamp_of() { python3 -c 'import os,sys; print(os.getxattr(sys.argv[1], "user.ferry.stamp").decode())' "$1" 2>/dev/null; }
# counts KEY=VALUE...: the last result's fields
counts() {
    local kv
    for kv in "$@"; do
        t_checks=$((t_checks + 1))
        [ "$(t_json "${kv%%=*}")" = "${kv#*=}" ] || t_fail "${kv%%=*} is $(t_json "${kv%%=*}"), expected ${kv#*=}: $t_out"
    done
}

T=$t_tmp/t.img
t_expect_rc 0 "full restore of P" "$FERRY" restore --repo "$repo" "$sp" "$T"
stamp_of "$T" | grep -q "^state clean" || t_fail "no clean stamp after a restore: $(stamp_of "$T")"
stamp_of "$T" | grep -q "^snapshot $sp" || t_fail "the stamp does not name P"

t_expect_rc 0 "apply N onto P" "$FERRY" restore --repo "$repo" --json --onto "$sp" "$sn" "$T"
t_same "N applied onto P" "$N" "$T"
counts verb=apply parent="$sp" chunks_total=23 chunks_new=4 chunks_zero=3 chunks_unchanged=16 \
    bytes_written=$((4 * M)) bytes_zero=$((2 * M + 100 * 1024))
stamp_of "$T" | grep -q "^snapshot $sn" || t_fail "the stamp does not name N after the apply"

# and back: the file shrinks to P's size; chunk 5 becomes a hole again
t_expect_rc 0 "apply P onto N" "$FERRY" restore --repo "$repo" --json --onto "$sn" "$sp" "$T"
t_same "P applied onto N" "$P" "$T"
counts chunks_total=21 chunks_new=4 chunks_zero=1 chunks_unchanged=16 bytes_written=$((3 * M + 300 * 1024))

# refused, untouched: another snapshot than the one it holds
sum=$(sha256sum <"$T")
st=$(stamp_of "$T")
t_expect_rc 6 "apply onto a target that holds another snapshot" "$FERRY" restore --repo "$repo" --onto "$sn" "$sp" "$T"
t_expect_err "holds snapshot ${sp:0:16}, not ${sn:0:16}.*restore it in full" "another snapshot"
t_ok "refused target untouched" [ "$(sha256sum <"$T")" = "$sum" ]
t_ok "refused target's stamp untouched" [ "$(stamp_of "$T")" = "$st" ]
# modified since its stamp
printf x | dd of="$T" bs=1 seek=100 conv=notrunc status=none
t_expect_rc 6 "apply onto a modified target" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$T"
t_expect_err "changed since it was stamped" "modified target"
# no stamp at all (a copy that did not keep the attribute)
cp "$P" "$t_tmp/copy.img"
t_expect_rc 6 "apply onto an unstamped file" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$t_tmp/copy.img"
t_expect_err "no snapshot is known to be on it; restore it in full" "unstamped"
t_same "unstamped target untouched" "$P" "$t_tmp/copy.img"
t_expect_rc 3 "apply onto a missing target" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$t_tmp/none.img"
[ -e "$t_tmp/none.img" ] && t_fail "an apply created its target"

# the stamp in a file of its own
t_expect_rc 0 "restore with --stamp" "$FERRY" restore --repo "$repo" --stamp "$t_tmp/s" "$sp" "$t_tmp/f.img"
t_ok "stamp file written" grep -q "^snapshot $sp" "$t_tmp/s"
t_expect_rc 0 "apply with --stamp" "$FERRY" restore --repo "$repo" --stamp "$t_tmp/s" --onto "$sp" "$sn" "$t_tmp/f.img"
t_same "apply with --stamp" "$N" "$t_tmp/f.img"

# one apply at a time: a second one while the first holds the target is refused
t_expect_rc 0 "restore of P before two applies" "$FERRY" restore --repo "$repo" "$sp" "$T"
FERRY_TEST_SLEEP_AT=apply-dirty:10000 "$FERRY_TEST" restore --repo "$repo" --onto "$sp" "$sn" "$T" \
    >"$t_tmp/a1.out" 2>"$t_tmp/a1.err" &
pid=$!
for _ in $(seq 300); do stamp_of "$T" | grep -q "^state dirty" && break; sleep 0.05; done
t_expect_rc 6 "a second apply at once" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$T"
t_expect_err "another apply onto it is running" "two applies"
wait $pid || t_fail "the first apply failed: $(cat "$t_tmp/a1.err")"
t_same "the first apply" "$N" "$T"

# kills: each leaves the target dirty, refused, and a full restore recovers it
for point in apply-dirty apply-zeroed:2 apply-chunk:2 apply-written apply-synced restore-chunk:3; do
    t_log "crash at $point"
    t_expect_rc 0 "restore of P before $point" "$FERRY" restore --repo "$repo" "$sp" "$T"
    if [ "${point%%-*}" = apply ]; then
        FERRY_TEST_CRASH_AT=$point t_run "$FERRY_TEST" restore --repo "$repo" --onto "$sp" "$sn" "$T"
    else
        FERRY_TEST_CRASH_AT=$point t_run "$FERRY_TEST" restore --repo "$repo" "$sn" "$T"
    fi
    t_checks=$((t_checks + 1))
    [ "$t_rc" = 137 ] || t_fail "crash at $point: exit $t_rc, expected 137: $t_err"
    grep -q "crashing at ${point%%:*}" <<<"$t_err" || t_fail "the hook at $point did not fire: $t_err"
    stamp_of "$T" | grep -q "^state dirty" || t_fail "not dirty after a crash at $point: $(stamp_of "$T")"
    t_expect_rc 6 "apply after a crash at $point" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$T"
    t_expect_err "is dirty: a .* of snapshot ${sn:0:16} did not finish.*restore it in full \(ferry restore $sn" "dirty at $point"
    t_expect_rc 0 "full restore after a crash at $point" "$FERRY" restore --repo "$repo" "$sn" "$T"
    t_same "full restore after a crash at $point" "$N" "$T"
done
# recovered for good: the next apply goes
t_expect_rc 0 "apply after the recovery" "$FERRY" restore --repo "$repo" --onto "$sn" "$sp" "$T"
t_same "apply after the recovery" "$P" "$T"
t_done
