#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A file:// repository survives a crash at any point. ferry-test is SIGKILLed
# (FERRY_TEST_CRASH_AT=point:n, datapath/README.md lists the points) at every
# named point of backup, restore, copy, forget and prune, at several n, and
# ferry is killed at seeded random moments of backups, copies and prunes
# (between any two steps of the store's temp file + fsync + rename). After
# each kill:
#  - check --read-data passes (nothing a manifest references is missing or
#    damaged);
#  - every snapshot made before restores byte-identical;
#  - the next run of the same verb succeeds, and what it made restores.
# FERRY_RELIABILITY_LONG=1: every n up to 5 at each point, 40 random kills.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"

dir=$t_tmp/repo
repo=$(t_repo "$dir" --chunk-size 256K)   # small chunks: many points in small volumes
rel_mkvol "$t_tmp/a.img" 6 21
rel_mkvol "$t_tmp/b.img" 6 22
t_expect_rc 0 "first backup" "$FERRY" backup --repo "$repo" --volume a --pack-size 1M --json "$t_tmp/a.img"
keep=("$(t_json snapshot_id)" "$t_tmp/a.img")   # (id image)... that must always restore
cp "$t_tmp/a.img" "$t_tmp/a.0"
keep[1]=$t_tmp/a.0
t_region "$t_tmp/a.img" 1 2 random
nkill=0

# after_kill DESC: the invariants after a kill
after_kill() {
    local i
    t_expect_rc 0 "$1: check --read-data" "$FERRY" check --repo "$repo" --read-data
    for ((i = 0; i < ${#keep[@]}; i += 2)); do
        rm -f "$t_tmp/k.img"
        t_expect_rc 0 "$1: restore ${keep[i]:0:16}" "$FERRY" restore --repo "$repo" "${keep[i]}" "$t_tmp/k.img"
        t_same "$1: earlier snapshot ${keep[i]:0:16}" "${keep[i + 1]}" "$t_tmp/k.img"
    done
}

# crash POINT:N DESC CMD...: CMD is killed at POINT:N
crash() {
    local at=$1 desc=$2
    shift 2
    FERRY_TEST_CRASH_AT=$at t_run env "$@"
    t_checks=$((t_checks + 1))
    [ "$t_rc" = 137 ] || t_fail "$desc: crash at $at: exit $t_rc, expected 137 (the point was not reached?): $t_err"
    grep -q "crashing at ${at%%:*}" <<<"$t_err" || t_fail "$desc: the hook at $at did not fire: $t_err"
    nkill=$((nkill + 1))
}

ns() {  # ns N...: the n to try at a point (every n up to 5 in the long run)
    if [ "$REL_LONG" = 1 ]; then seq 1 5; else printf "%s\n" "$@"; fi
}
# new data for each backup: 3 MiB (the whole 6 in the long run, so that each
# point of a pack is reached 5 times)
newmib=3
[ "$REL_LONG" = 1 ] && newmib=6

# ---- backup (packs of 1 MiB, the manifest in small parts: many points per run)
bk=(FERRY_TEST_MANIFEST_PART=256 "$FERRY_TEST" backup --repo "$repo" --volume a --pack-size 1M --memory 32M "$t_tmp/a.img")
for p in backup-chunk lock-written backup-mid-pack pack-completing pack-completed backup-pack-done \
    backup-manifest-part backup-before-manifest backup-committed; do
    case $p in
    backup-chunk | backup-mid-pack | pack-completing | pack-completed | backup-pack-done) list=$(ns 1 3) ;;
    backup-manifest-part) list=$(ns 1 2) ;;
    *) list=1 ;;
    esac
    for n in $list; do
        t_region "$t_tmp/a.img" 0 $newmib random     # new data: each run has packs to write
        crash "$p:$n" "backup" "${bk[@]}"
        [ $p = backup-committed ] || [ "$(t_snapcount "$repo")" = $((${#keep[@]} / 2)) ] ||
            t_fail "a backup killed at $p:$n left a snapshot"
        after_kill "backup killed at $p:$n"
    done
done
# killed after its manifest was committed: the snapshot is there and whole
committed=$(rel_snap_ids "$repo" | tail -1)
t_checks=$((t_checks + 1))
[ "$committed" != "${keep[0]}" ] || t_fail "a backup killed at backup-committed left no snapshot"
cp "$t_tmp/a.img" "$t_tmp/a.1"
keep+=("$committed" "$t_tmp/a.1")
t_expect_rc 0 "the next backup" "$FERRY" backup --repo "$repo" --volume a --json "$t_tmp/a.img"
keep+=("$(t_json snapshot_id)" "$t_tmp/a.img")
after_kill "after the backups"
t_log "outcome: backup: $nkill kills at 9 points"

# ---- restore: killed while writing, and before its fsync; never a success line
for at in $(ns 1 4 | sed 's/^/restore-chunk:/') restore-written:1; do
    rm -f "$t_tmp/t.img"
    crash "$at" "restore" "$FERRY_TEST" restore --repo "$repo" --json "${keep[0]}" "$t_tmp/t.img"
    t_checks=$((t_checks + 1))
    [ -z "$t_out" ] || t_fail "a restore killed at $at printed a result: $t_out"
    t_expect_rc 0 "the restore after one killed at $at" "$FERRY" restore --repo "$repo" "${keep[0]}" "$t_tmp/t.img"
    t_same "restore after a kill at $at" "${keep[1]}" "$t_tmp/t.img"
done

# ---- copy into a second repository (2 snapshots of a, 1 of b: several packs)
t_expect_rc 0 "backup b" "$FERRY" backup --repo "$repo" --volume b --pack-size 1M --json "$t_tmp/b.img"
keep+=("$(t_json snapshot_id)" "$t_tmp/b.img")
dst=$(t_repo "$t_tmp/dst" --chunk-size 256K)
export FERRY_FROM_PASSWORD=$FERRY_PASSWORD
k0=$nkill
# (in this order: each kill leaves less to copy, and the next run resumes the pack in
# flight from its journal, so by the last point one snapshot may be all that is left)
for at in $(printf "%s\n" 1 2 | sed 's/^/copy-mid-pack:/') pack-completing:1 pack-completed:1 copy-pack-done:1 \
    copy-before-manifest:1 copy-committed:1; do
    crash "$at" "copy" "$FERRY_TEST" copy --from "$repo" --to "$dst" --memory 64M
    t_expect_rc 0 "check the copy's target after a kill at $at" "$FERRY" check --repo "$dst" --read-data
    after_kill "copy killed at $at"
done
t_expect_rc 0 "the copy after the kills" "$FERRY" copy --from "$repo" --to "$dst" --memory 64M --json
for ((i = 0; i < ${#keep[@]}; i += 2)); do
    rm -f "$t_tmp/k.img"
    t_expect_rc 0 "restore ${keep[i]:0:16} from the copy" "$FERRY" restore --repo "$dst" "${keep[i]}" "$t_tmp/k.img"
    t_same "the copy of ${keep[i]:0:16}" "${keep[i + 1]}" "$t_tmp/k.img"
done
t_log "outcome: copy: $((nkill - k0)) kills"

# ---- forget: three snapshots at once, killed after the first deletion. One of them (x)
# shares half its only pack with y, which stays: prune will repack that pack.
head -c $((4 << 20)) /dev/urandom >"$t_tmp/x.img"
{ head -c $((2 << 20)) "$t_tmp/x.img"; head -c $((2 << 20)) /dev/urandom; } >"$t_tmp/y.img"
t_expect_rc 0 "backup x" "$FERRY" backup --repo "$repo" --volume x --json "$t_tmp/x.img"
x=$(t_json snapshot_id)
t_expect_rc 0 "backup y" "$FERRY" backup --repo "$repo" --volume y --json "$t_tmp/y.img"
keep+=("$(t_json snapshot_id)" "$t_tmp/y.img")
n0=$(t_snapcount "$repo")
gone=("${keep[2]}" "${keep[4]}" "$x")
crash forget-deleted:1 "forget" "$FERRY_TEST" forget --repo "$repo" "${gone[@]}"
t_checks=$((t_checks + 1))
[ "$(t_snapcount "$repo")" = $((n0 - 1)) ] || t_fail "a forget killed after one deletion deleted $((n0 - $(t_snapcount "$repo")))"
left=()
for s in "${gone[@]}"; do rel_snap_ids "$repo" | grep "$s" >/dev/null && left+=("$s"); done
t_expect_rc 0 "the forget after the killed one" "$FERRY" forget --repo "$repo" "${left[@]}"
keep=("${keep[0]}" "${keep[1]}" "${keep[6]}" "${keep[7]}" "${keep[8]}" "${keep[9]}")
after_kill "after the forget"

# ---- prune: at every step; repacking (--repack-below 100 rewrites what is partly dead)
k0=$nkill
for at in prune-locked:1 prune-planned:1 prune-repacked:1 $(ns 1 2 4 | sed 's/^/prune-deleted:/'); do
    cp -a "$dir" "$t_tmp/before-prune"
    crash "$at" "prune" "$FERRY_TEST" prune --repo "$repo" --repack-below 100
    after_kill "prune killed at $at"
    # back to the repository before this prune, so that each point is reached
    rm -rf "$dir" && mv "$t_tmp/before-prune" "$dir"
done
t_expect_rc 0 "the prune after the kills" "$FERRY" prune --repo "$repo" --repack-below 100 --json
[ "$(t_json objects_deleted)" -ge 2 ] || t_fail "the prune deleted nothing: $t_out"
after_kill "after the prune"
t_log "outcome: prune: $((nkill - k0)) kills"

# ---- killed at random moments (the release binary, no hooks), seeded
rel_mkvol "$t_tmp/big.img" 32 23
rounds=8
[ "$REL_LONG" = 1 ] && rounds=40
RANDOM=7
for ((r = 0; r < rounds; r++)); do
    case $((r % 4)) in
    0 | 1) cmd=("$FERRY" backup --repo "$repo" --volume big --pack-size 2M "$t_tmp/big.img") ;;
    2) cmd=("$FERRY" copy --from "$repo" --to "$dst" --memory 64M) ;;
    3) cmd=("$FERRY" prune --repo "$repo" --repack-below 100) ;;
    esac
    ms=$((RANDOM % 300 + 10))
    "${cmd[@]}" >/dev/null 2>&1 &
    pid=$!
    sleep "$(printf '0.%03d' "$ms")"
    kill -KILL $pid 2>/dev/null && nkill=$((nkill + 1))
    wait $pid 2>/dev/null
    after_kill "${cmd[1]} killed after $ms ms"
    t_expect_rc 0 "check the copy's target after a kill" "$FERRY" check --repo "$dst" --read-data
done
t_expect_rc 0 "a backup after the random kills" "$FERRY" backup --repo "$repo" --volume big --json "$t_tmp/big.img"
keep+=("$(t_json snapshot_id)" "$t_tmp/big.img")
after_kill "at the end"
t_log "outcome: file:// crashes: $nkill kills in all, the repository checked clean after each"
t_done
