#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A backup killed (SIGKILL, through the test build's FERRY_TEST_CRASH_AT hook)
# mid-pack, after a pack was completed, after the last pack before the
# manifest, and in the middle of a manifest written in parts, or interrupted
# with SIGINT/SIGTERM, leaves no new snapshot; earlier snapshots still
# restore, and the next backup succeeds. A restore interrupted the same way
# fails with exit 130 and never reports success.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
img=$t_tmp/vol.img
truncate -s 96M "$img"
t_region "$img" 0 40 random
t_region "$img" 40 40 text

t_expect_rc 0 "first backup" "$FERRY" backup --repo "$repo" --volume v --json "$img"
first=$(t_json snapshot_id)
cp "$img" "$t_tmp/first.img"
t_region "$img" 80 16 random

# the test binary names these points (datapath: dp_test_point)
for point in backup-mid-pack:2 backup-pack-done backup-before-manifest backup-manifest-part:3; do
    t_log "crash at $point"
    FERRY_TEST_CRASH_AT=$point FERRY_TEST_MANIFEST_PART=256 t_run \
        "$FERRY_TEST" backup --repo "$repo" --volume v --pack-size 8M --memory 32M "$img"
    t_checks=$((t_checks + 1))
    [ "$t_rc" = 137 ] || t_fail "crash at $point: exit $t_rc, expected 137 (SIGKILL): $t_err"
    grep -q "crashing at ${point%%:*}" <<<"$t_err" || t_fail "the hook at $point did not fire: $t_err"
    [ "$(t_snapcount "$repo")" = 1 ] || t_fail "a crash at $point left a snapshot"
    find "$t_tmp/repo/snapshots" -name '.tmp-*' | grep -q . && t_log "temporary manifest left at $point (never listed)"
done
t_expect_rc 0 "earlier snapshot restores after the crashes" "$FERRY" restore --repo "$repo" "$first" "$t_tmp/r1"
t_same "earlier snapshot after crashes" "$t_tmp/first.img" "$t_tmp/r1"

# the manifest in parts, without a crash: lists and restores (the path the crash cut)
FERRY_TEST_MANIFEST_PART=256 t_run "$FERRY_TEST" backup --repo "$repo" --volume m --json "$img"
[ "$t_rc" = 0 ] || t_fail "backup with a manifest in parts: $t_err"
t_expect_rc 0 "restore of a manifest written in parts" "$FERRY" restore --repo "$repo" --volume m latest "$t_tmp/rm"
t_same "manifest in parts" "$img" "$t_tmp/rm"

# wait_lock OP PID: until a lock of OP held by PID is listed (the crashes above left
# stale backup locks of other pids). The job has then installed its signal handlers: a
# background process of a script starts with SIGINT ignored, so a signal sent before
# (a slow start: a sanitizer build, a loaded machine) would be lost.
wait_lock() {
    for _ in $(seq 200); do
        "$FERRY" unlock --repo "$repo" --list 2>/dev/null | grep " $1 " | grep -q "pid $2 " && return 0
        sleep 0.05
    done
    t_fail "no $1 lock of pid $2 appeared"
}

# SIGINT and SIGTERM in the middle of a backup: exit 130, nothing listed (400 ms a
# chunk, so that a loaded machine is still in the backup when its lock is seen)
for sig in INT TERM; do
    FERRY_TEST_SLEEP_AT=backup-chunk:400 "$FERRY_TEST" backup --repo "$repo" --volume s "$img" \
        >"$t_tmp/sig.out" 2>"$t_tmp/sig.err" &
    pid=$!
    wait_lock backup $pid
    kill -$sig $pid
    wait $pid
    rc=$?
    t_checks=$((t_checks + 1))
    [ "$rc" = 130 ] || t_fail "SIG$sig: exit $rc, expected 130: $(cat "$t_tmp/sig.err")"
    grep -q "interrupted" "$t_tmp/sig.err" || t_fail "SIG$sig: no message: $(cat "$t_tmp/sig.err")"
    [ "$(t_snapcount "$repo" | tr -d '\n')" = 2 ] || t_fail "an interrupted backup left a snapshot"
done

# the next backup succeeds, and stores only what the crashed ones did not complete
t_expect_rc 0 "backup after the crashes" "$FERRY" backup --repo "$repo" --volume v --json "$img"
t_expect_rc 0 "restore of it" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/r2"
t_same "backup after crashes" "$img" "$t_tmp/r2"

# a restore interrupted: exit 130 and no success line
FERRY_TEST_SLEEP_AT=restore-chunk:400 "$FERRY_TEST" restore --repo "$repo" --volume v --json latest "$t_tmp/r3" \
    >"$t_tmp/rs.out" 2>"$t_tmp/rs.err" &
pid=$!
wait_lock restore $pid
kill -INT $pid
wait $pid
rc=$?
t_checks=$((t_checks + 1))
[ "$rc" = 130 ] || t_fail "interrupted restore: exit $rc: $(cat "$t_tmp/rs.err")"
[ -s "$t_tmp/rs.out" ] && t_fail "an interrupted restore printed a result: $(cat "$t_tmp/rs.out")"
# a restore killed outright does not leave a snapshot-shaped lie either: it simply did not finish
FERRY_TEST_CRASH_AT=restore-chunk:5 t_run "$FERRY_TEST" restore --repo "$repo" --volume v latest "$t_tmp/r4"
[ "$t_rc" = 137 ] || t_fail "restore crash hook: exit $t_rc"
t_expect_rc 0 "restore after the killed one" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/r4"
t_same "restore after the killed one" "$img" "$t_tmp/r4"
t_done
