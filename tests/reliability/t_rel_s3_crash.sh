#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Crashes over s3:// (the RGW of tests/run): tests/s3/s3proxy.py SIGKILLs
# ferry when the N-th request of a backup, a copy, a restore, a forget or a
# prune reaches it (--kill-after; a forget or prune at its DeleteObjects
# requests), for N spread over the requests the same
# run makes without a kill. After each kill:
#  - check --read-data passes, and every earlier snapshot restores
#    byte-identical (nothing a manifest references was deleted);
#  - the next run of the same verb succeeds (backup and copy resume from
#    --state-dir) and what it made restores byte-identical.
# FERRY_RELIABILITY_LONG=1: eight N per verb instead of two or three.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"
rel_s3_env
direct=$FERRY_TEST_S3_ENDPOINT
name=t-rel-crash-$$-$RANDOM
repo=s3://$FERRY_TEST_S3_BUCKET/$name
dst=$repo-copy
path=/$FERRY_TEST_S3_BUCKET/$name    # of the repository's keys, in the requests' targets
common=(--no-cache --memory 32M)
export FERRY_FROM_PASSWORD=$FERRY_PASSWORD

rel_mkvol "$t_tmp/a.img" 24 31
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "init" "$FERRY" init --repo "$repo" --scrypt-n 1024
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "init the copy's target" "$FERRY" init --repo "$dst" --scrypt-n 1024
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "first backup" "$FERRY" backup --repo "$repo" --volume base --json \
    "${common[@]}" "$t_tmp/a.img"
cp "$t_tmp/a.img" "$t_tmp/a.0"
keep=("$(t_json snapshot_id)" "$t_tmp/a.0")
nkill=0

# requests CMD...: how many requests CMD makes through a proxy without faults, in $total
requests() {
    rel_proxy_start
    t_expect_rc 0 "a run without a kill: $*" "$@"
    rel_proxy_stop
    total=$(wc -l <"$rel_px_log")
}
# fractions TOTAL: the N to kill at
fractions() {
    local total=$1 f
    if [ "$REL_LONG" = 1 ]; then set -- 10 20 35 50 65 75 85 95; else shift; set -- "$@"; fi
    for f in "$@"; do echo $((total * f / 100 > 2 ? total * f / 100 : 3)); done
}
# kill_at [MATCH:]N DESC CMD...: CMD is SIGKILLed by the proxy at its N-th request (whose
# "METHOD TARGET" holds MATCH)
kill_at() {
    local n=${1##*:} match= desc=$2 pid
    [ "$1" = "$n" ] || match=${1%:*}
    shift 2
    rel_proxy_start --kill-after "$n" --kill-match "$match" --kill-pid-file "$t_tmp/pid"
    rm -f "$t_tmp/pid"
    "$@" >"$t_tmp/k.out" 2>"$t_tmp/k.err" &
    pid=$!
    echo $pid >"$t_tmp/pid"
    wait $pid
    t_rc=$?
    rel_proxy_stop
    t_checks=$((t_checks + 1))
    if [ "$t_rc" = 0 ] && [ "${rel_may_finish:-0}" = 1 ] && ! grep -q '"killed": true' "$rel_px_log"; then
        # (the long run's later kills of a resumed copy: less was left than the N-th request)
        t_log "$desc: finished before request $n"
        return 0
    fi
    [ "$t_rc" = 137 ] || t_fail "$desc: killed at request $n: exit $t_rc, expected 137: $(cat "$t_tmp/k.err")"
    grep -q '"killed": true' "$rel_px_log" || t_fail "$desc: the proxy did not kill it"
    [ -s "$t_tmp/k.out" ] && t_fail "$desc: a killed run printed a result: $(cat "$t_tmp/k.out")"
    nkill=$((nkill + 1))
}
after_kill() {
    local i
    export AWS_ENDPOINT_URL=$direct
    t_expect_rc 0 "$1: check --read-data" "$FERRY" check --repo "$repo" --read-data --no-cache
    for ((i = 0; i < ${#keep[@]}; i += 2)); do
        rm -f "$t_tmp/v.img"
        t_expect_rc 0 "$1: restore ${keep[i]:0:16}" "$FERRY" restore --repo "$repo" --no-cache "${keep[i]}" "$t_tmp/v.img"
        t_same "$1: earlier snapshot ${keep[i]:0:16}" "${keep[i + 1]}" "$t_tmp/v.img"
    done
}

# ---- backup: 16 MiB of new data each time (packs of 16 MiB, parts of 8 MiB)
t_region "$t_tmp/a.img" 0 16 random
requests "$FERRY" backup --repo "$repo" --volume scratch --pack-size 16M "${common[@]}" "$t_tmp/a.img"
t_log "a backup makes $total requests"
# at half of the requests (more with FERRY_RELIABILITY_LONG=1), at the 1st and 2nd part, at a pack's Complete, at the
# first index, at the manifest
more=()
[ "$REL_LONG" = 1 ] && more=(partNumber=:2 partNumber=:3)
for n in $(fractions "$total" 50) partNumber=:1 "${more[@]}" "?uploadId=:1" "PUT $path/index/:1" \
    "PUT $path/snapshots/:1"; do
    t_region "$t_tmp/a.img" 0 16 random
    kill_at "$n" "backup" "$FERRY" backup --repo "$repo" --volume a --pack-size 16M --state-dir "$t_tmp/state" \
        --json "${common[@]}" "$t_tmp/a.img"
    after_kill "backup killed at request $n of $total"
    t_expect_rc 0 "the backup after a kill at request $n" "$FERRY" backup --repo "$repo" --volume a --pack-size 16M \
        --state-dir "$t_tmp/state" --json "${common[@]}" "$t_tmp/a.img"
    t_log "outcome: backup killed at request $n of $total: the next run completed, $(t_json bytes_reused) bytes reused"
    # what must restore: the first snapshot and the last (the images of the others go)
    [ ${#keep[@]} -lt 4 ] || rm -f "${keep[3]}"
    [ ${#keep[@]} -lt 4 ] || keep=("${keep[0]}" "${keep[1]}")
    cp "$t_tmp/a.img" "$t_tmp/a.$nkill"
    keep+=("$(t_json snapshot_id)" "$t_tmp/a.$nkill")
done
# the copy below copies what stays: the first snapshot and the last of a
t_expect_rc 0 "forget the others" "$FERRY" forget --repo "$repo" --no-cache --volume a --keep-last 1
scratch=$("$FERRY" snapshots --repo "$repo" --no-cache --volume scratch --json |
    "$REL_PY" -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]')
t_expect_rc 0 "forget the scratch snapshot" "$FERRY" forget --repo "$repo" --no-cache $scratch
t_expect_rc 0 "prune" "$FERRY" prune --repo "$repo" --no-cache

# ---- copy into a second repository
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "init a scratch target" "$FERRY" init --repo "$dst-scratch" --scrypt-n 1024
requests "$FERRY" copy --from "$repo" --to "$dst-scratch" --memory 64M --no-cache
t_log "a copy makes $total requests"
more=()
[ "$REL_LONG" = 1 ] && more=($(fractions "$total" 40)) && rel_may_finish=1
k0=$nkill
for n in "${more[@]}" partNumber=:2 "PUT $path-copy/snapshots/:1"; do
    kill_at "$n" "copy" "$FERRY" copy --from "$repo" --to "$dst" --memory 64M --state-dir "$t_tmp/cstate" --no-cache
    after_kill "copy killed at request $n of $total"
    t_expect_rc 0 "check the copy's target" "$FERRY" check --repo "$dst" --read-data --no-cache
done
rel_may_finish=0
t_expect_rc 0 "the copy after the kills" "$FERRY" copy --from "$repo" --to "$dst" --memory 64M \
    --state-dir "$t_tmp/cstate" --no-cache --json
t_log "outcome: copy killed $((nkill - k0)) times: the next run completed, $(t_json bytes_reused) bytes reused"
for ((i = 0; i < ${#keep[@]}; i += 2)); do
    rm -f "$t_tmp/v.img"
    t_expect_rc 0 "restore ${keep[i]:0:16} from the copy" "$FERRY" restore --repo "$dst" --no-cache "${keep[i]}" "$t_tmp/v.img"
    t_same "the copy of ${keep[i]:0:16}" "${keep[i + 1]}" "$t_tmp/v.img"
done

# ---- restore: killed in the middle, never a success line; the next one is whole
requests "$FERRY" restore --repo "$repo" "${common[@]}" "${keep[2]}" "$t_tmp/r.img"
n="GET $path/data/:2"
rm -f "$t_tmp/r.img"
kill_at "$n" "restore" "$FERRY" restore --repo "$repo" "${common[@]}" --json "${keep[2]}" "$t_tmp/r.img"
AWS_ENDPOINT_URL=$direct t_expect_rc 0 "the restore after a kill at request $n" "$FERRY" restore --repo "$repo" \
    "${common[@]}" "${keep[2]}" "$t_tmp/r.img"
t_same "the restore after a kill" "${keep[3]}" "$t_tmp/r.img"

# ---- forget two snapshots (the last of a, and one of f), killed at its delete request (one
# DeleteObjects for both: the store never sees it, both stay), then forgotten for good
rel_mkvol "$t_tmp/f.img" 8 32
t_expect_rc 0 "backup f" "$FERRY" backup --repo "$repo" --volume f --json "${common[@]}" "$t_tmp/f.img"
keep+=("$(t_json snapshot_id)" "$t_tmp/f.img")
kill_at "?delete=:1" "forget" "$FERRY" forget --repo "$repo" --no-cache "${keep[2]}" "${keep[4]}"
t_log "forget killed at its delete request: $(rel_snap_ids "$repo" | wc -l) snapshots listed"
keep2=()
for ((i = 0; i < ${#keep[@]}; i += 2)); do
    rel_snap_ids "$repo" | grep "${keep[i]}" >/dev/null && keep2+=("${keep[i]}" "${keep[i + 1]}")
done
t_checks=$((t_checks + 1))
[ ${#keep2[@]} = 6 ] || t_fail "a forget killed before its delete request left $((${#keep2[@]} / 2)) of 3 snapshots"
after_kill "after the killed forget"
t_expect_rc 0 "the forget after the kill" "$FERRY" forget --repo "$repo" --no-cache "${keep[2]}" "${keep[4]}"
keep=("${keep[0]}" "${keep[1]}")

# ---- prune: killed at its first delete request (the indexes: nothing deleted), and at its
# second (the packs: their indexes are gone, the packs stay for the next prune)
for n in "?delete=:1" "?delete=:2"; do
    kill_at "$n" "prune" "$FERRY" prune --repo "$repo" --no-cache --repack-below 100
    keep2=()
    for ((i = 0; i < ${#keep[@]}; i += 2)); do
        AWS_ENDPOINT_URL=$direct rel_snap_ids "$repo" | grep "${keep[i]}" >/dev/null && keep2+=("${keep[i]}" "${keep[i + 1]}")
    done
    keep=("${keep2[@]}")
    after_kill "prune killed at request $n"
done
t_expect_rc 0 "the prune after the kills" "$FERRY" prune --repo "$repo" --no-cache --repack-below 100 --json
t_expect_rc 0 "stats" "$FERRY" stats --repo "$repo" --no-cache --json
[ "$(t_json unreferenced_chunks)" = 0 ] || t_fail "the prune after the kills left garbage: $t_out"
after_kill "at the end"
t_log "outcome: s3:// crashes: $nkill kills through the proxy, the repository checked clean after each"
t_done
