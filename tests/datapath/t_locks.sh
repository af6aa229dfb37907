#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Concurrency, made deterministic with the test build's pause points
# (FERRY_TEST_SLEEP_AT) instead of hoping a race happens:
#  - while a backup holds its shared lock, prune and forget are refused (exit
#    6) and another backup runs; afterwards prune works and nothing is lost;
#  - while a prune holds its exclusive lock, backups and restores are refused;
#  - two takers that write their locks at the same moment both see each
#    other: neither proceeds alone into the other;
#  - the lock of a killed process is stale: prune proceeds, unlock removes it;
#  - a prune killed between deletions leaves a repository that checks clean
#    and whose snapshots restore; the next prune finishes the job.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
for v in a b; do
    truncate -s 16M "$t_tmp/$v.img"
    t_region "$t_tmp/$v.img" 0 12 random
    t_expect_rc 0 "backup $v" "$FERRY" backup --repo "$repo" --volume "$v" --pack-size 2M "$t_tmp/$v.img"
done
t_region "$t_tmp/a.img" 0 12 random

wait_for_lock() {   # until a lock of OPERATION is listed
    for _ in $(seq 100); do
        "$FERRY" unlock --repo "$repo" --list 2>/dev/null | grep -q " $1 " && return 0
        sleep 0.1
    done
    t_fail "no $1 lock appeared"
}

# 1. a backup in progress: prune and forget wait their turn
FERRY_TEST_SLEEP_AT=backup-chunk:1000 "$FERRY_TEST" backup --repo "$repo" --volume a "$t_tmp/a.img" \
    >"$t_tmp/bk.out" 2>"$t_tmp/bk.err" &
bk=$!
wait_for_lock backup
t_expect_rc 6 "prune while a backup runs" "$FERRY" prune --repo "$repo"
t_expect_err "locked .*by backup" "prune refused"
sa=$("$FERRY" snapshots --repo "$repo" --volume a --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
t_expect_rc 6 "forget while a backup runs" "$FERRY" forget --repo "$repo" "$sa"
# the paused backup may have finished by now on a loaded machine (a third snapshot):
# what matters is that the one forget named is still there
"$FERRY" snapshots --repo "$repo" --json | grep -q "\"$sa\"" || t_fail "a refused forget removed a snapshot"
t_expect_rc 0 "a second backup alongside" "$FERRY" backup --repo "$repo" --volume b "$t_tmp/b.img"
wait $bk || t_fail "the paused backup failed: $(cat "$t_tmp/bk.err")"
t_expect_rc 0 "prune after the backup" "$FERRY" prune --repo "$repo"
t_expect_rc 0 "the backup that ran during the refusals restores" "$FERRY" restore --repo "$repo" --volume a latest "$t_tmp/ra"
t_same "backup during refused prune" "$t_tmp/a.img" "$t_tmp/ra"

# 2. a prune in progress: backups and restores wait their turn
FERRY_TEST_SLEEP_AT=prune-locked:3000 "$FERRY_TEST" prune --repo "$repo" >"$t_tmp/pr.out" 2>&1 &
pr=$!
wait_for_lock prune
t_expect_rc 6 "backup while a prune runs" "$FERRY" backup --repo "$repo" --volume a "$t_tmp/a.img"
t_expect_err "locked exclusively by prune" "backup refused"
t_expect_rc 6 "restore while a prune runs" "$FERRY" restore --repo "$repo" --volume a latest "$t_tmp/x"
wait $pr || t_fail "the paused prune failed: $(cat "$t_tmp/pr.out")"
[ "$(t_snapcount "$repo")" = 4 ] || t_fail "a refused backup left a snapshot"

# 3. two takers at the same moment: each sees the other's lock, neither goes on alone
FERRY_TEST_SLEEP_AT=lock-written:1500 "$FERRY_TEST" prune --repo "$repo" >"$t_tmp/p3.out" 2>&1 &
p3=$!
FERRY_TEST_SLEEP_AT=lock-written:1500 "$FERRY_TEST" backup --repo "$repo" --volume b "$t_tmp/b.img" >"$t_tmp/b3.out" 2>&1 &
b3=$!
wait $p3; rp=$?
wait $b3; rb=$?
t_checks=$((t_checks + 1))
[ $rp = 0 ] && [ $rb = 0 ] && t_fail "an exclusive and a shared lock were both taken"
[ $rp = 0 ] || [ $rp = 6 ] || t_fail "racing prune: exit $rp: $(cat "$t_tmp/p3.out")"
[ $rb = 0 ] || [ $rb = 6 ] || t_fail "racing backup: exit $rb: $(cat "$t_tmp/b3.out")"
t_log "racing takers: prune exit $rp, backup exit $rb"
t_expect_rc 0 "no lock is left behind" "$FERRY" unlock --repo "$repo" --list --json
[ "$t_out" = "[]" ] || t_fail "locks left: $t_out"

# 4. a killed backup's lock is stale
FERRY_TEST_CRASH_AT=backup-chunk:3 t_run "$FERRY_TEST" backup --repo "$repo" --volume a "$t_tmp/a.img"
[ "$t_rc" = 137 ] || t_fail "crash hook: exit $t_rc"
t_expect_rc 0 "unlock --list" "$FERRY" unlock --repo "$repo" --list
grep -q "shared .*backup.*(stale)" <<<"$t_out" || t_fail "the dead backup's lock is not stale: $t_out"
t_expect_rc 0 "prune past a stale lock" "$FERRY" prune --repo "$repo"
t_expect_rc 0 "unlock" "$FERRY" unlock --repo "$repo"
grep -q "removed 1 lock" <<<"$t_out" || t_fail "unlock: $t_out"

# 5. a prune killed between deletions
"$FERRY" forget --repo "$repo" --volume a --keep-last 1 >/dev/null || t_error "forget"
FERRY_TEST_CRASH_AT=prune-deleted:2 t_run "$FERRY_TEST" prune --repo "$repo" --repack-below 100
[ "$t_rc" = 137 ] || t_fail "prune crash hook: exit $t_rc: $t_err"
"$FERRY" unlock --repo "$repo" >/dev/null
t_expect_rc 0 "check after a killed prune" "$FERRY" check --repo "$repo" --read-data
t_expect_rc 0 "restore after a killed prune" "$FERRY" restore --repo "$repo" --volume a latest "$t_tmp/ra2"
t_same "a after a killed prune" "$t_tmp/a.img" "$t_tmp/ra2"
t_expect_rc 0 "the next prune" "$FERRY" prune --repo "$repo" --json
t_expect_rc 0 "restore b at the end" "$FERRY" restore --repo "$repo" --volume b latest "$t_tmp/rb"
t_same "b at the end" "$t_tmp/b.img" "$t_tmp/rb"
t_expect_rc 0 "stats at the end" "$FERRY" stats --repo "$repo" --json
[ "$(t_json unreferenced_chunks)" = 0 ] || t_fail "the second prune left garbage: $t_out"
t_done
