#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults beyond the retry budget, through tests/s3/s3proxy.py in front of the
# RGW of tests/run: each run fails loudly (non-zero exit, a message, nothing
# on stdout) within the configured deadline (--s3-timeout 4s), leaves no
# snapshot listed and nothing a snapshot needs deleted, and once the fault
# clears the next run completes:
#  - a dead endpoint (nothing listens: refused) and a black hole (connections
#    accepted, requests never answered: a stall longer than the deadline);
#  - a store that answers every request with 503/500/SlowDown;
#  - a store that goes bad in the middle: a backup and a copy, after some
#    parts were acknowledged (the next run resumes from --state-dir and sends
#    less), a restore, a prune between its two delete requests (the snapshots
#    still restore; the next prune finishes), a forget of two snapshots just
#    before its delete request (both stay).
# The outcome of each is printed as "outcome: ..." (tests/RELIABILITY.md).
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"
rel_s3_env
direct=$FERRY_TEST_S3_ENDPOINT

base=s3://$FERRY_TEST_S3_BUCKET/t-rel-beyond-$$-$RANDOM
repo=$base-main
rel_mkvol "$t_tmp/a.img" 16 11
head -c $((40 << 20)) /dev/urandom >"$t_tmp/big.img"
common=(--no-cache --s3-timeout 4s)
DEADLINE_MS=12000       # 4 s per operation; a failing run may wait on a few in turn
# a run that fails in the middle (--s3-timeout 2s) then aborts its open uploads and releases
# its lock, each an operation of its own with the same deadline
bad=(--no-cache --s3-timeout 2s)
CLEANUP_MS=10000

AWS_ENDPOINT_URL=$direct t_expect_rc 0 "init" "$FERRY" init --repo "$repo" --scrypt-n 1024
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "a first backup" "$FERRY" backup --repo "$repo" --volume a --json "$t_tmp/a.img"
first=$(t_json snapshot_id)

# failed_loudly WHAT WHEN: the command of $t_rc/$t_out/$t_err failed by itself (no
# signal), with a message, and printed no result
failed_loudly() {
    t_checks=$((t_checks + 1))
    [ "$t_rc" != 0 ] || t_fail "$1: succeeded $2: $t_out"
    [ "$t_rc" -lt 128 ] || t_fail "$1: died (exit $t_rc): $t_err"
    grep -q "ferry: error: " <<<"$t_err" || t_fail "$1: exit $t_rc without a message: $t_err"
    [ -z "$t_out" ] || t_fail "$1: failed (exit $t_rc) but printed a result: $t_out"
}
# loud VERB DESC CMD...: CMD fails with a message, within the deadline, printing nothing
loud() {
    local what=$1
    shift
    rel_timed "$@"
    failed_loudly "$what" "against a failing store"
    [ "$rel_ms" -le "$DEADLINE_MS" ] || t_fail "$what: took $rel_ms ms, deadline 4 s per operation"
    t_log "outcome: $what: failed loudly, exit $t_rc in $rel_ms ms: $(tail -1 <<<"$t_err")"
}
# nothing new listed, the first snapshot restores (through the store directly)
intact() {
    local ids
    ids=$(AWS_ENDPOINT_URL=$direct rel_snap_ids "$repo")
    t_checks=$((t_checks + 1))
    [ "$ids" = "$1" ] || t_fail "$2: the repository lists '$ids', expected '$1'"
}

# ---- 1. a dead endpoint and a black hole; a store that always fails
dead_port=$("$REL_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
for mode in refused blackhole failing; do
    case $mode in
    refused) export AWS_ENDPOINT_URL=http://127.0.0.1:$dead_port ;;
    blackhole) rel_proxy_start --fail-rate 1 --faults stall --stall-ms 60000 ;;
    failing) rel_proxy_start --fail-rate 1 --faults 503,500,slowdown --seed 3 ;;
    esac
    loud "$mode: backup" "$FERRY" backup --repo "$repo" --volume a --json "${common[@]}" "$t_tmp/a.img"
    [ "$mode" = refused ] && { [ "$t_rc" = 9 ] || t_fail "refused: exit $t_rc, expected 9 (unreachable)"; }
    # every verb reads the config first: where that waits (black hole) or retries
    # (failing), the other verbs would only repeat it; each goes bad in the middle in 2.
    [ "$mode" = blackhole ] && { rel_proxy_stop; intact "$first" "$mode"; continue; }
    rm -f "$t_tmp/r.img"
    loud "$mode: restore" "$FERRY" restore --repo "$repo" --json "${common[@]}" "$first" "$t_tmp/r.img"
    if [ "$mode" = refused ]; then
        loud "$mode: forget" "$FERRY" forget --repo "$repo" --json "${common[@]}" "$first"
        loud "$mode: prune" "$FERRY" prune --repo "$repo" --json "${common[@]}"
        loud "$mode: check" "$FERRY" check --repo "$repo" --json "${common[@]}"
    fi
    rel_proxy_stop
    intact "$first" "$mode"
done
# a store that fails forever as the target of a copy: the copy fails, the source is untouched
src=$(t_repo "$t_tmp/src")
"$FERRY" backup --repo "$src" --volume c --json "$t_tmp/a.img" >"$t_tmp/c.json" || t_error "backup into $src"
csnap=$(t_out=$(cat "$t_tmp/c.json") t_json snapshot_id)
rel_proxy_start --fail-rate 1 --faults 503,reset --seed 4
loud "failing: copy" env FERRY_FROM_PASSWORD="$FERRY_PASSWORD" "$FERRY" copy --from "$src" --to "$repo" --json "${common[@]}"
rel_proxy_stop
intact "$first" "failing copy"

# ---- 2. a store that goes bad in the middle, then recovers
# bad_after WHAT N PAT... -- CMD...: run CMD; once N lines of the proxy's log hold every PAT,
# every request fails; CMD must then fail loudly within the deadline
bad_after() {
    local what=$1 n=$2 pats=() pid t0
    shift 2
    while [ "$1" != -- ]; do pats+=("$1"); shift; done
    shift
    "$@" >"$t_tmp/bg.out" 2>"$t_tmp/bg.err" &
    pid=$!
    rel_wait_log "$n" "${pats[@]}"
    rel_proxy_bad
    t0=$(date +%s%N)
    wait $pid
    t_rc=$?
    rel_ms=$((($(date +%s%N) - t0) / 1000000))
    t_out=$(cat "$t_tmp/bg.out") t_err=$(cat "$t_tmp/bg.err")
    failed_loudly "$what" "although the store went bad"
    [ "$rel_ms" -le "$CLEANUP_MS" ] || t_fail "$what: took $rel_ms ms after the store went bad, deadline 2 s per operation"
    t_log "outcome: $what: failed loudly, exit $t_rc $rel_ms ms after the store went bad: $(tail -1 <<<"$t_err")"
}
part_put=('"method": "PUT"' 'partNumber=' '/data/' '"status": 200')

# backup: three parts acknowledged (each waits 300 ms after it is queued), then every
# request fails (503, 500, resets, stalls); once the store recovers, the next run resumes
rel_proxy_start --faults 503,500,reset,stall --stall-ms 60000 --seed 5
bad_after "bad mid-backup: backup" 3 "${part_put[@]}" -- env FERRY_TEST_SLEEP_AT=backup-mid-pack:300 \
    "$FERRY_TEST" backup --repo "$repo" --volume big --memory 64M --state-dir "$t_tmp/state" --json \
    "${bad[@]}" "$t_tmp/big.img"
intact "$first" "a backup that failed in the middle"
ls "$t_tmp"/state/*/*/*.journal >/dev/null 2>&1 || t_fail "the failed backup left no journal to resume from"
rel_proxy_clear
t_expect_rc 0 "the backup once the store recovered" "$FERRY" backup --repo "$repo" --volume big --memory 64M \
    --state-dir "$t_tmp/state" --json "${common[@]}" "$t_tmp/big.img"
big=$(t_json snapshot_id)
reused=$(t_json bytes_reused)
t_checks=$((t_checks + 1))
[ "$reused" -ge $((3 * (7 << 20))) ] || t_fail "the next backup reused $reused bytes of three parts: it did not resume"
t_log "outcome: bad mid-backup: the next run resumed, $reused bytes reused"
rel_proxy_stop
AWS_ENDPOINT_URL=$direct rel_verify "after the resumed backup" "$repo" "$first" "$t_tmp/a.img" "$big" "$t_tmp/big.img"

# copy: the same, into a fresh target
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "init the copy's target" "$FERRY" init --repo "$base-copy" --scrypt-n 1024
rel_proxy_start --faults 503,500,reset --seed 6
bad_after "bad mid-copy: copy" 3 "${part_put[@]}" -- env FERRY_TEST_SLEEP_AT=copy-mid-pack:300 \
    FERRY_FROM_PASSWORD="$FERRY_PASSWORD" "$FERRY_TEST" copy --from "$repo" --to "$base-copy" --memory 64M \
    --state-dir "$t_tmp/cstate" --json "${bad[@]}"
[ -z "$(AWS_ENDPOINT_URL=$direct rel_snap_ids "$base-copy")" ] || t_log "the failed copy had copied a snapshot before"
rel_proxy_clear
t_expect_rc 0 "the copy once the store recovered" env FERRY_FROM_PASSWORD="$FERRY_PASSWORD" "$FERRY" copy \
    --from "$repo" --to "$base-copy" --memory 64M --state-dir "$t_tmp/cstate" --json "${common[@]}"
t_log "outcome: bad mid-copy: the next run completed, $(t_json bytes_reused) bytes reused, $(t_json snapshots_copied) snapshots copied"
[ "$(t_json bytes_reused)" -gt 0 ] || t_fail "the copy did not resume: $t_out"
rel_proxy_stop
AWS_ENDPOINT_URL=$direct rel_verify "the copy" "$base-copy" "$first" "$t_tmp/a.img" "$big" "$t_tmp/big.img"

# restore: goes bad after a few ranged reads of packs
rel_proxy_start --faults 503,reset,stall --stall-ms 60000 --seed 7
rm -f "$t_tmp/r.img"
bad_after "bad mid-restore: restore" 2 '"method": "GET"' '/data/' -- env FERRY_TEST_SLEEP_AT=restore-chunk:20 \
    "$FERRY_TEST" restore --repo "$repo" --memory 64M --json "${bad[@]}" "$big" "$t_tmp/r.img"
rel_proxy_clear
rm -f "$t_tmp/r.img"
t_expect_rc 0 "the restore once the store recovered" "$FERRY" restore --repo "$repo" --memory 64M --json \
    "${common[@]}" "$big" "$t_tmp/r.img"
t_same "the restore once the store recovered" "$t_tmp/big.img" "$t_tmp/r.img"
t_log "outcome: bad mid-restore: the next run completed"

# forget of two snapshots: the store goes bad just before its delete request (one
# DeleteObjects for both): it fails, and both snapshots stay
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "one more backup" "$FERRY" backup --repo "$repo" --volume a --json \
    "${common[@]}" "$t_tmp/a.img"
third=$(t_json snapshot_id)
bad_after "bad mid-forget: forget" 1 '"method": "GET"' 'versioning' -- env FERRY_TEST_SLEEP_AT=forget-deleting:1000 \
    "$FERRY_TEST" forget --repo "$repo" --json "${bad[@]}" "$big" "$third"
rel_proxy_clear
left=$(AWS_ENDPOINT_URL=$direct rel_snap_ids "$repo" | tr '\n' ' ')
t_log "after the failed forget the repository lists: $left"
AWS_ENDPOINT_URL=$direct "$FERRY" unlock --repo "$repo" --no-cache >/dev/null
still=()
for s in "$big" "$third"; do grep -q "$s" <<<"$left" && still+=("$s"); done
t_checks=$((t_checks + 1))
[ ${#still[@]} = 2 ] || t_fail "the failed forget deleted $((2 - ${#still[@]})) of 2 snapshots, expected none"
t_expect_rc 0 "forget once the store recovered" "$FERRY" forget --repo "$repo" "${common[@]}" "${still[@]}"
intact "$first" "forget"
t_log "outcome: bad mid-forget: the next run completed"

# prune: the store goes bad after its first delete request (the indexes; each deleted waits
# 500 ms), so the packs' request fails: their indexes are gone, the packs stay for the next prune
bad_after "bad mid-prune: prune" 1 '"method": "POST"' '?delete=' '"status": 200' -- \
    env FERRY_TEST_SLEEP_AT=prune-deleted:500 "$FERRY_TEST" prune --repo "$repo" --json "${bad[@]}"
rel_proxy_stop
AWS_ENDPOINT_URL=$direct "$FERRY" unlock --repo "$repo" --no-cache >/dev/null
AWS_ENDPOINT_URL=$direct rel_verify "after a prune that failed in the middle" "$repo" "$first" "$t_tmp/a.img"
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "prune once the store recovered" "$FERRY" prune --repo "$repo" --json "${common[@]}"
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "stats" "$FERRY" stats --repo "$repo" --json --no-cache
[ "$(t_json unreferenced_chunks)" = 0 ] || t_fail "the second prune left garbage: $t_out"
t_log "outcome: bad mid-prune: the next run completed"
AWS_ENDPOINT_URL=$direct rel_verify "at the end" "$repo" "$first" "$t_tmp/a.img"
t_done
