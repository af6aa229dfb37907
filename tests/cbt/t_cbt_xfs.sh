#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry changed-blocks xfs on a real XFS (reflink=1) on a loop device: OLD is
# a reflink copy taken with the parent snapshot; after random small writes,
# a write into an unwritten range, a punched hole, a zeroed range, a
# fallocate over a hole (no change) and growth, the list covers exactly the
# chunks written (and, at 4 KiB, the blocks), whether NEW is the live file or
# a fresh reflink copy of it (every extent shared again); the incremental
# built from it restores byte-identical. Then thousands of extents (FIEMAP in
# batches), the JSON form, and the refusals.
. "$(dirname "$0")/cbt_lib.sh"

cbt_mkfs xfs
repo=$(t_repo "$t_tmp/repo")
live=$mnt/live.img

# round 1: the parent is a backup of OLD, a reflink copy of the live image
python3 "$cbt_py" base "$live" || t_error "base image"
t_ok "reflink OLD" cp --reflink=always "$live" "$mnt/old.img"
t_expect_rc 0 "full backup of OLD" "$FERRY" backup --repo "$repo" --volume v --json "$mnt/old.img"
p1=$(t_json snapshot_id)
python3 "$cbt_py" mutate "$live" 1 "$t_tmp/exp1" || t_error "mutate"
t_ok "reflink NEW" cp --reflink=always "$live" "$mnt/new.img"

cbt_list "list against the live file" "$t_tmp/l_live" xfs "$mnt/old.img" "$live" --parent "$p1"
cbt_list "list against a fresh reflink" "$t_tmp/l_new" xfs "$mnt/old.img" "$mnt/new.img" --parent "$p1"
# block granularity: XFS copies on write per 4 KiB block and remaps only the
# blocks written, so the list is exact there and no chunk slack is needed
cbt_check "live file" "$t_tmp/l_live" "$t_tmp/exp1" exact
cbt_check "fresh reflink" "$t_tmp/l_new" "$t_tmp/exp1" exact
t_ok "the same list for the live file and its reflink" cmp -s "$t_tmp/l_live" "$t_tmp/l_new"
grep -q "^parent $p1\$" "$t_tmp/l_new" || t_fail "the list is not bound to $p1"

nchunks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["chunks"]))' "$t_tmp/exp1")
t_expect_rc 0 "incremental with the list" "$FERRY" backup --repo "$repo" --volume v \
    --changed-blocks "$t_tmp/l_new" --json "$mnt/new.img"
p2=$(t_json snapshot_id)
[ "$(t_json parent)" = "$p1" ] || t_fail "incremental parent $(t_json parent), expected $p1"
[ "$(t_json bytes_read)" -le $(((nchunks + 1) << 20)) ] ||
    t_fail "read $(t_json bytes_read) bytes for $nchunks changed chunks"
t_expect_rc 0 "restore of the incremental" "$FERRY" restore --repo "$repo" "$p2" "$t_tmp/r2"
t_same "incremental from the list" "$mnt/new.img" "$t_tmp/r2"

# round 2: thousands of extents, every other 4 KiB block of 40 MiB rewritten
rm -f "$mnt/old.img"
t_ok "reflink OLD 2" cp --reflink=always "$mnt/new.img" "$mnt/old.img"
python3 "$cbt_py" sparse "$live" 4 40 "$t_tmp/exp2" || t_error "sparse writes"
t_ok "reflink NEW 2" cp --reflink=always "$live" "$mnt/new2.img"
t_expect_rc 0 "list of 5120 ranges (JSON)" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" \
    --parent "$p2" --json -o "$t_tmp/l2.json"
[ "$(t_json ranges)" -ge 5120 ] || t_fail "expected >= 5120 ranges, got $(t_json ranges)"
[ "$(t_json extents_new)" -gt $((2 * 512)) ] || t_fail "only $(t_json extents_new) extents: no batching tested"
cbt_check "sparse writes" "$t_tmp/l2.json" "$t_tmp/exp2" exact
t_expect_rc 0 "incremental with the JSON list" "$FERRY" backup --repo "$repo" --volume v \
    --changed-blocks "$t_tmp/l2.json" --json "$mnt/new2.img"
p3=$(t_json snapshot_id)
t_expect_rc 0 "restore of the second incremental" "$FERRY" restore --repo "$repo" "$p3" "$t_tmp/r3"
t_same "incremental from the JSON list" "$mnt/new2.img" "$t_tmp/r3"

# the producer's refusals
t_expect_rc 2 "no --parent" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img"
t_expect_err "--parent is required" "no --parent"
t_expect_rc 2 "a short id without a repository" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" --parent "${p2:0:12}"
t_expect_rc 2 "a file not on XFS" "$FERRY" changed-blocks xfs "$t_tmp/r3" "$mnt/new2.img" --parent "$p2"
t_expect_err "is not on XFS" "not XFS"
t_expect_rc 2 "the same file twice" "$FERRY" changed-blocks xfs "$mnt/new2.img" "$mnt/new2.img" --parent "$p2"
t_expect_rc 3 "a missing OLD" "$FERRY" changed-blocks xfs "$mnt/nothing" "$mnt/new2.img" --parent "$p2"
t_expect_rc 2 "a directory" "$FERRY" changed-blocks xfs "$mnt" "$mnt/new2.img" --parent "$p2"
t_expect_rc 2 "an unknown producer" "$FERRY" changed-blocks ext4 "$mnt/old.img" "$mnt/new2.img" --parent "$p2"
t_expect_rc 2 "--file is btrfs's" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" --parent "$p2" --file x
# with the repository: a prefix resolves; a parent of another size is refused
t_expect_rc 0 "--parent prefix with --repo" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" \
    --repo "$repo" --parent "${p2:0:12}" -o "$t_tmp/l3"
t_ok "the prefix resolved to the same list" cmp -s "$t_tmp/l3" <(python3 -c 'import json,sys
j=json.load(open(sys.argv[1])); print("# ferry changed-blocks v1"); print("parent", j["parent"]); print("size", j["size"])
for o, n in j["ranges"]: print(o, n)
print("end", len(j["ranges"]))' "$t_tmp/l2.json")
t_expect_rc 3 "an unknown parent" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" --repo "$repo" --parent 0123456789abcdef
t_expect_rc 6 "a parent of another size than OLD" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new2.img" \
    --repo "$repo" --parent "$p1"
t_expect_err "is not what the parent was made from" "parent size"
# a list for the wrong parent is refused by backup (p3 is the volume's newest)
cbt_list "a list bound to an older snapshot" "$t_tmp/l_wrong" xfs "$mnt/old.img" "$mnt/new2.img" --parent "$p2"
t_expect_rc 6 "backup with a list for another parent" "$FERRY" backup --repo "$repo" --volume v \
    --changed-blocks "$t_tmp/l_wrong" "$mnt/new2.img"
[ ! -e "$t_tmp/l_wrong.tmp.$$" ] || t_fail "a temporary list was left"
t_done
