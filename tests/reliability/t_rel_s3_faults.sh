#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Faults within the retry budget, through tests/s3/s3proxy.py in front of the
# RGW of tests/run, with the ferry command:
#  1. for several seeds, 10 % of the requests fail (503, 500, SlowDown, a
#     reset before the answer, a reset halfway through the request body),
#     with 0-20 ms of latency (one seed: 20-200 ms and spikes of 1.5 s):
#     init, a full and an incremental backup, restore of both, copy to a
#     second repository and restore from it, forget and prune, check
#     --read-data all complete (on the other seeds: init, backup, restore),
#     and every restore is byte-identical;
#  2. one kind of fault at a time: truncated answers, answers that stall
#     halfway (shorter than the deadline), requests never answered (shorter
#     than the deadline), a 200 with an <Error> body on every
#     CompleteMultipartUpload (half of them), wrong ETags (a PUT's ETag is
#     checked against the MD5 of its body), duplicated answers. Those ferry
#     retries must complete; for duplicated answers (a keep-alive connection
#     out of step: a request reads the answer to the one before) a run either
#     completes, with a byte-identical restore, or fails loudly (exit code,
#     message, no snapshot listed) and the next run without faults completes.
# The outcome of each is printed as "outcome: KIND ..." (tests/RELIABILITY.md).
# FERRY_RELIABILITY_LONG=1: 10 seeds.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"
rel_s3_env

base=s3://$FERRY_TEST_S3_BUCKET/t-rel-faults-$$-$RANDOM
rel_mkvol "$t_tmp/v.img" 24 1
cp "$t_tmp/v.img" "$t_tmp/v.0"
t_region "$t_tmp/v.img" 2 2 random
common=(--no-cache --s3-timeout 60s)

# ---- 1. 10 % of requests fail, several seeds; the whole cycle on the first
#      (on every seed with FERRY_RELIABILITY_LONG=1), a backup and its restore on the others
seeds="1 2 3 4 5"
[ "$REL_LONG" = 1 ] && seeds=$(seq 1 10)
total=0
for seed in $seeds; do
    t0=$(date +%s)
    lat=(--latency 0-20)
    [ "$seed" = 2 ] && lat=(--latency 20-200 --spike-rate 0.03 --spike-ms 1500)
    whole=0
    [ "$seed" = 1 ] || [ "$REL_LONG" = 1 ] && whole=1
    rel_proxy_start --seed "$seed" --fail-rate 0.1 --faults 503,500,slowdown,reset,reset-mid "${lat[@]}"
    repo=$base-$seed
    t_expect_rc 0 "seed $seed: init" "$FERRY" init --repo "$repo" --scrypt-n 1024 "${common[@]}"
    t_expect_rc 0 "seed $seed: full backup" "$FERRY" backup --repo "$repo" --volume v --memory 32M --pack-size 16M \
        --state-dir "$t_tmp/state" --json "${common[@]}" "$t_tmp/v.0"
    s1=$(t_json snapshot_id)
    todo=("$s1:$t_tmp/v.0")
    if [ "$whole" = 1 ]; then
        t_expect_rc 0 "seed $seed: incremental backup" "$FERRY" backup --repo "$repo" --volume v --memory 32M \
            --pack-size 16M --state-dir "$t_tmp/state" --json "${common[@]}" "$t_tmp/v.img"
        s2=$(t_json snapshot_id)
        [ "$(t_json parent)" = "$s1" ] || t_fail "seed $seed: the second backup is not incremental: $t_out"
        todo+=("$s2:$t_tmp/v.img")
    fi
    for s in "${todo[@]}"; do
        rm -f "$t_tmp/r.img"
        t_expect_rc 0 "seed $seed: restore ${s:0:16}" "$FERRY" restore --repo "$repo" "${common[@]}" "${s%%:*}" "$t_tmp/r.img"
        t_same "seed $seed: restore under faults" "${s#*:}" "$t_tmp/r.img"
    done
    if [ "$whole" = 1 ]; then
        t_expect_rc 0 "seed $seed: init the copy's target" "$FERRY" init --repo "$repo-copy" --scrypt-n 1024 "${common[@]}"
        t_expect_rc 0 "seed $seed: copy" env FERRY_FROM_PASSWORD="$FERRY_PASSWORD" "$FERRY" copy --from "$repo" \
            --to "$repo-copy" --memory 64M --state-dir "$t_tmp/state" --json "${common[@]}"
        [ "$(t_json snapshots_copied)" = 2 ] || t_fail "seed $seed: copy: $t_out"
        rm -f "$t_tmp/r.img"
        t_expect_rc 0 "seed $seed: restore from the copy" "$FERRY" restore --repo "$repo-copy" "${common[@]}" "$s1" "$t_tmp/r.img"
        t_same "seed $seed: the copy under faults" "$t_tmp/v.0" "$t_tmp/r.img"
        t_expect_rc 0 "seed $seed: forget" "$FERRY" forget --repo "$repo" "${common[@]}" "$s1"
        t_expect_rc 0 "seed $seed: prune" "$FERRY" prune --repo "$repo" --repack-below 100 --json "${common[@]}"
        [ "$(t_json objects_deleted)" -ge 1 ] || t_fail "seed $seed: prune deleted nothing: $t_out"
        t_expect_rc 0 "seed $seed: check --read-data" "$FERRY" check --repo "$repo" --read-data "${common[@]}"
    fi
    n=$(rel_nfaults)
    total=$((total + n))
    t_log "outcome: 10% faults seed $seed ($(printf '%s ' "${lat[@]}")): completed in $(($(date +%s) - t0)) s, $(wc -l <"$rel_px_log") requests, faults: $(rel_faults)"
    rel_proxy_stop
    # what stays restores without the proxy too
    if [ "$whole" = 1 ]; then
        AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT rel_verify "seed $seed: after prune" "$repo" "$s2" "$t_tmp/v.img"
    fi
done
t_checks=$((t_checks + 1))
[ "$total" -ge 20 ] || t_fail "only $total faults injected over the seeds: the test proves little"

# ---- 2. one kind at a time: KIND RATE EXPECT(completes|either) [proxy options]
one_kind() {
    local kind=$1 rate=$2 expect=$3 repo=$base-$1 rc
    shift 3
    rel_proxy_start --seed 7 --fail-rate "$rate" --faults "$kind" "$@"
    AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT t_expect_rc 0 "$kind: init" "$FERRY" init --repo "$repo" --scrypt-n 1024
    rel_timed "$FERRY" backup --repo "$repo" --volume v --memory 32M --pack-size 16M --state-dir "$t_tmp/state-$kind" \
        --json "${common[@]}" "$t_tmp/v.img"
    rc=$t_rc
    local err=$t_err faults
    faults=$(rel_faults)
    t_checks=$((t_checks + 1))
    [ "$(rel_nfaults)" -ge 1 ] || t_fail "$kind: no fault was injected"
    if [ "$rc" = 0 ]; then
        sid=$(t_json snapshot_id)
        rm -f "$t_tmp/r.img"
        t_expect_rc 0 "$kind: restore under the same faults" "$FERRY" restore --repo "$repo" "${common[@]}" "$sid" "$t_tmp/r.img"
        t_same "$kind: restore" "$t_tmp/v.img" "$t_tmp/r.img"
        t_log "outcome: $kind: completed in $rel_ms ms (faults: $faults)"
    else
        [ "$expect" = either ] || t_fail "$kind: the backup failed (exit $rc), it should have retried: $err"
        grep -q "ferry: error: " <<<"$err" || t_fail "$kind: failed (exit $rc) without a message: $err"
        [ -z "$(AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT rel_snap_ids "$repo")" ] ||
            t_fail "$kind: a failed backup left a snapshot"
        t_log "outcome: $kind: failed loudly, exit $rc in $rel_ms ms (faults: $faults): $(tail -1 <<<"$err")"
    fi
    rel_proxy_stop
    [ "$rc" = 0 ] && return
    # the fault cleared: the next run completes (resuming what it can)
    AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT t_expect_rc 0 "$kind: backup once the fault cleared" \
        "$FERRY" backup --repo "$repo" --volume v --memory 32M --pack-size 16M --state-dir "$t_tmp/state-$kind" --json \
        "${common[@]}" "$t_tmp/v.img"
    t_log "outcome: $kind: the next run completed, $(t_json bytes_reused) bytes reused"
    AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT rel_verify "$kind: afterwards" "$repo" "$(t_json snapshot_id)" "$t_tmp/v.img"
}
one_kind truncate 0.2 completes
one_kind stall-body 0.05 completes --stall-ms 2000
one_kind stall 0.05 completes --stall-ms 2000
one_kind error200 0.5 completes
one_kind dup 0.2 completes
one_kind etag 0.2 completes
t_done
