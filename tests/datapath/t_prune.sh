#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# prune's report and its failures (file://):
# - its summary counts what it deleted: a pack that stays because it is
#   mostly live keeps its dead chunks, and they are not counted as removed
#   (index entries after = before - chunks_removed, and the unreferenced
#   chunks stats still sees are exactly the ones prune left);
# - a key the store refuses to delete is named, with the store's detail, the
#   others are deleted, prune fails (and says so), the repository checks
#   clean, and the next prune deletes what was left. A pack is never deleted
#   while its index could not be.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")

# pack A: chunks 0-3, pack B: chunks 4-7 (4 MiB packs of 1 MiB random chunks, one worker and
# one read in flight: in order; with more reads in flight they complete in any order, and a live
# chunk landed in pack B once in six runs)
img=$t_tmp/v.img
truncate -s 12M "$img"
t_region "$img" 0 8 random
t_expect_rc 0 "backup 1" "$FERRY" backup --repo "$repo" --volume v --pack-size 4M --threads 1 \
    --queue-depth 1 "$img"
first=$("$FERRY" snapshots --repo "$repo" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
# chunks 2 and 3 change (half of pack A dies), chunks 4-7 all change (pack B dies)
t_region "$img" 2 6 random
t_expect_rc 0 "backup 2" "$FERRY" backup --repo "$repo" --volume v --pack-size 4M --threads 1 \
    --queue-depth 1 "$img"
t_expect_rc 0 "forget backup 1" "$FERRY" forget --repo "$repo" "$first"

stats() { # stats FIELD, or "index": the index entries (each a live chunk or an unreferenced one)
    t_expect_rc 0 "stats" "$FERRY" stats --repo "$repo" --json
    if [ "$1" = index ]; then
        echo $(($(t_json unique_chunks) + $(t_json unreferenced_chunks)))
    else
        t_json "$1"
    fi
}
idx0=$(stats index)
dead0=$(stats unreferenced_chunks)
[ "$dead0" = 6 ] || t_fail "expected 6 unreferenced chunks after the forget, stats says $dead0"

t_expect_rc 0 "prune --dry-run" "$FERRY" prune --repo "$repo" --dry-run --json
dry_removed=$(t_json chunks_removed)
t_expect_rc 0 "prune (pack A is half live: kept)" "$FERRY" prune --repo "$repo" --json
removed=$(t_json chunks_removed)
[ "$(t_json packs_deleted)" = 1 ] || t_fail "pack B has no live chunk and must go: $t_out"
[ "$removed" = "$dry_removed" ] || t_fail "the dry run said $dry_removed chunks, prune removed $removed"
idx1=$(stats index)
dead1=$(stats unreferenced_chunks)
[ "$dead1" = 2 ] || t_fail "pack A keeps its 2 dead chunks, stats says $dead1 unreferenced"
[ "$((idx0 - idx1))" = "$removed" ] ||
    t_fail "prune says $removed chunks removed, the indexes lost $((idx0 - idx1)) ($idx0 -> $idx1)"
[ "$((dead0 - dead1))" = "$removed" ] ||
    t_fail "prune says $removed chunks removed, unreferenced went $dead0 -> $dead1"
t_expect_rc 0 "prune --repack-below 100 removes the rest" "$FERRY" prune --repo "$repo" --repack-below 100 --json
[ "$(t_json chunks_removed)" = 2 ] && [ "$(t_json packs_repacked)" = 1 ] || t_fail "repack: $t_out"
[ "$(stats unreferenced_chunks)" = 0 ] || t_fail "unreferenced chunks left after the repack"
t_expect_rc 0 "restore after the prunes" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/r"
t_same "after the prunes" "$img" "$t_tmp/r"

# a pack the store cannot delete (immutable: even root's unlink fails)
t_require_cmd chattr
t_region "$img" 0 8 random
t_expect_rc 0 "backup 3" "$FERRY" backup --repo "$repo" --volume v --pack-size 4M --threads 1 "$img"
ids=$("$FERRY" snapshots --repo "$repo" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)[:-1]))')
t_expect_rc 0 "forget all but the last" "$FERRY" forget --repo "$repo" $ids
npacks=$(find "$t_tmp/repo/data" -type f | wc -l)
# the oldest pack: backup 3 referenced none of the older ones
stuck=$(ls -tr $(find "$t_tmp/repo/data" -type f) | head -1)
stuck_key=data/${stuck#"$t_tmp/repo/data/"}
chattr +i "$stuck" 2>/dev/null || t_skip "chattr +i refused here (${TMPDIR:-/tmp})"
t_on_exit "chattr -i '$stuck'"
t_expect_rc 8 "prune with a pack it cannot delete (EPERM: exit 8)" "$FERRY" prune --repo "$repo"
t_expect_err "deleting $stuck_key: " "the refused key is named with the store's detail"
[ -e "$stuck" ] || t_fail "$stuck is gone"
left=$(find "$t_tmp/repo/data" -type f | wc -l)
[ "$left" -lt "$npacks" ] || t_fail "nothing else was deleted ($left of $npacks packs left)"
t_expect_rc 0 "check after a failed prune" "$FERRY" check --repo "$repo" --read-data
chattr -i "$stuck"
t_expect_rc 0 "the next prune deletes it" "$FERRY" prune --repo "$repo" --json
[ ! -e "$stuck" ] || t_fail "$stuck survived the second prune"
[ "$(t_json packs_orphaned)" = 1 ] || t_fail "the pack left without its index is an orphan now: $t_out"
t_expect_rc 0 "restore at the end" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/r2"
t_same "at the end" "$img" "$t_tmp/r2"
t_done
