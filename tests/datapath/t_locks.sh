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
#    and whose snapshots restore; the next prune finishes the job;
#  - two backups of one volume with one state directory at once (two Backups
#    of one claim in one agent) each keep their own upload journals: both
#    complete; a killed one's journals are resumed by the next run.
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

# 1. a backup in progress (one worker, 1.5 s a chunk: 18 s for its 12 chunks, long enough
#    for the four commands below in a sanitizer build on a loaded machine; with a worker
#    per CPU and 1 s a chunk it finished first at a load of 15): prune and forget wait
#    their turn
FERRY_TEST_SLEEP_AT=backup-chunk:1500 "$FERRY_TEST" backup --repo "$repo" --volume a --threads 1 \
    "$t_tmp/a.img" >"$t_tmp/bk.out" 2>"$t_tmp/bk.err" &
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

# 6. two backups of one volume, one state directory: the second starts while the
#    first's pack upload is open (its journal written), neither takes over the other's
state=$t_tmp/state
head -c $((40 << 20)) /dev/urandom > "$t_tmp/c.img"
head -c $((40 << 20)) /dev/urandom > "$t_tmp/c2.img"
FERRY_TEST_SLEEP_AT=backup-mid-pack:300 "$FERRY_TEST" backup --repo "$repo" --volume c \
    --memory 64M --state-dir "$state" "$t_tmp/c.img" >"$t_tmp/c1.out" 2>&1 &
c1=$!
for _ in $(seq 100); do
    ls "$state"/*/*/*.journal >/dev/null 2>&1 && break
    sleep 0.1
done
ls "$state"/*/*/*.journal >/dev/null 2>&1 || t_fail "the first backup wrote no journal: $(find "$state")"
t_expect_rc 0 "a second backup of the volume at once" "$FERRY" backup --repo "$repo" --volume c \
    --memory 64M --state-dir "$state" "$t_tmp/c2.img"
wait $c1 || t_fail "the first backup failed beside the second: $(cat "$t_tmp/c1.out")"
[ "$(find "$state" -mindepth 2 -maxdepth 2 -type d | wc -l)" = 2 ] ||
    t_fail "not one journal directory per run: $(find "$state" -type d)"
t_expect_rc 0 "snapshots of c" "$FERRY" snapshots --repo "$repo" --volume c --json
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$t_out")" = 2 ] ||
    t_fail "not two snapshots of c: $t_out"
# each snapshot restores to one of the two images, and not both to the same
ids=$(python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))' <<<"$t_out")
got=
for id in $ids; do
    "$FERRY" restore --repo "$repo" --volume c "$id" "$t_tmp/rc" >/dev/null 2>&1 || t_fail "restore $id"
    if cmp -s "$t_tmp/rc" "$t_tmp/c.img"; then got="$got c"
    elif cmp -s "$t_tmp/rc" "$t_tmp/c2.img"; then got="$got c2"
    else t_fail "snapshot $id of c is neither image"; fi
    rm -f "$t_tmp/rc"
done
[ "$(tr ' ' '\n' <<<"$got" | sort | xargs)" = "c c2" ] || t_fail "the two runs' snapshots hold:$got"
t_expect_rc 0 "check --read-data after two runs at once" "$FERRY" check --repo "$repo" --read-data
# a run killed mid-pack leaves its directory unlocked: the next run resumes it
head -c $((40 << 20)) /dev/urandom > "$t_tmp/d.img"
FERRY_TEST_SLEEP_AT=backup-mid-pack:200 FERRY_TEST_CRASH_AT=backup-mid-pack:3 t_run \
    "$FERRY_TEST" backup --repo "$repo" --volume d --memory 64M --state-dir "$state" "$t_tmp/d.img"
[ "$t_rc" = 137 ] || t_fail "crash hook: exit $t_rc: $t_err"
t_expect_rc 0 "the next run of d" "$FERRY" backup --repo "$repo" --volume d --memory 64M \
    --state-dir "$state" --json "$t_tmp/d.img"
[ "$(t_json bytes_reused)" -ge $((2 * (8 << 20))) ] || t_fail "the killed run's parts were not reused: $t_out"
t_log "two runs at once: both completed; a killed run's $(t_json bytes_reused) bytes reused"
t_done
