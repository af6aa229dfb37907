#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry changed-blocks btrfs on a real btrfs on a loop device: the image in a
# subvolume, read-only snapshots before and after random small writes, a
# write into an unwritten range, a punched hole, a zeroed range, a fallocate
# over a hole (no change) and growth. The list from the subvolume trees is
# exact (chunks and 4 KiB blocks), the same from FIEMAP, from the live file
# and with the snapshot directories and --file; the incremental built from it
# restores byte-identical. On a compress-force=zstd mount the tree method
# stays exact while FIEMAP lists everything (it cannot locate compressed
# bytes). Without CAP_SYS_ADMIN, auto falls back to FIEMAP and tree is
# refused. Thousands of extents; refusals.
. "$(dirname "$0")/cbt_lib.sh"

cbt_mkfs btrfs
repo=$(t_repo "$t_tmp/repo")
t_ok "subvolume" btrfs -q subvolume create "$mnt/vol"
python3 "$cbt_py" base "$mnt/vol/disk.img" || t_error "base image"
t_ok "snapshot 0" btrfs -q subvolume snapshot -r "$mnt/vol" "$mnt/s0"
t_expect_rc 0 "full backup of snapshot 0" "$FERRY" backup --repo "$repo" --volume v --json "$mnt/s0/disk.img"
p0=$(t_json snapshot_id)
python3 "$cbt_py" mutate "$mnt/vol/disk.img" 2 "$t_tmp/exp1" || t_error "mutate"
t_ok "snapshot 1" btrfs -q subvolume snapshot -r "$mnt/vol" "$mnt/s1"

cbt_list "tree, snapshot directories" "$t_tmp/l_tree" btrfs "$mnt/s0" "$mnt/s1" --file disk.img --parent "$p0" --json
[ "$(t_json method)" = btrfs-tree ] || t_fail "method $(t_json method), expected btrfs-tree"
cbt_list "tree, files" "$t_tmp/l_files" btrfs "$mnt/s0/disk.img" "$mnt/s1/disk.img" --parent "$p0" --json
cbt_list "fiemap" "$t_tmp/l_fiemap" btrfs "$mnt/s0/disk.img" "$mnt/s1/disk.img" --parent "$p0" --method fiemap --json
[ "$(t_json method)" = fiemap ] || t_fail "method $(t_json method), expected fiemap"
cbt_list "tree, the live file as NEW" "$t_tmp/l_live" btrfs "$mnt/s0/disk.img" "$mnt/vol/disk.img" --parent "$p0"
for l in tree files fiemap live; do
    # copy-on-write per 4 KiB sector, only the sectors written: exact, no slack
    cbt_check "$l" "$t_tmp/l_$l" "$t_tmp/exp1" exact
done
t_ok "tree and fiemap agree" cmp -s "$t_tmp/l_tree" "$t_tmp/l_fiemap"

nchunks=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["chunks"]))' "$t_tmp/exp1")
t_expect_rc 0 "incremental with the list" "$FERRY" backup --repo "$repo" --volume v \
    --changed-blocks "$t_tmp/l_tree" --json "$mnt/s1/disk.img"
p1=$(t_json snapshot_id)
[ "$(t_json parent)" = "$p0" ] || t_fail "incremental parent $(t_json parent), expected $p0"
[ "$(t_json bytes_read)" -le $(((nchunks + 1) << 20)) ] ||
    t_fail "read $(t_json bytes_read) bytes for $nchunks changed chunks"
t_expect_rc 0 "restore of the incremental" "$FERRY" restore --repo "$repo" "$p1" "$t_tmp/r1"
t_same "incremental from the list" "$mnt/s1/disk.img" "$t_tmp/r1"

# without CAP_SYS_ADMIN: auto falls back to FIEMAP, tree is refused
if command -v setpriv >/dev/null; then
    nocap=(setpriv --bounding-set=-sys_admin --inh-caps=-sys_admin)
    t_expect_rc 0 "auto without CAP_SYS_ADMIN" "${nocap[@]}" "$FERRY" changed-blocks btrfs \
        "$mnt/s0/disk.img" "$mnt/s1/disk.img" --parent "$p0" --json -o "$t_tmp/l_nocap"
    [ "$(t_json method)" = fiemap ] || t_fail "without CAP_SYS_ADMIN: method $(t_json method)"
    cbt_check "fallback" "$t_tmp/l_nocap" "$t_tmp/exp1" exact
    t_expect_rc 8 "tree without CAP_SYS_ADMIN" "${nocap[@]}" "$FERRY" changed-blocks btrfs \
        "$mnt/s0/disk.img" "$mnt/s1/disk.img" --parent "$p0" --method tree
    t_expect_err "CAP_SYS_ADMIN" "tree without the capability"
fi

# thousands of extents
python3 "$cbt_py" sparse "$mnt/vol/disk.img" 4 40 "$t_tmp/exp2" || t_error "sparse writes"
t_ok "snapshot 2" btrfs -q subvolume snapshot -r "$mnt/vol" "$mnt/s2"
cbt_list "tree, 5120 changed extents" "$t_tmp/l2" btrfs "$mnt/s1" "$mnt/s2" --file disk.img --parent "$p1" --json
[ "$(t_json extents_new)" -gt 2048 ] || t_fail "only $(t_json extents_new) extents: no batching tested"
cbt_check "sparse writes (tree)" "$t_tmp/l2" "$t_tmp/exp2" exact
cbt_list "fiemap, 5120 changed extents" "$t_tmp/l2f" btrfs "$mnt/s1" "$mnt/s2" --file disk.img --parent "$p1" --method fiemap
cbt_check "sparse writes (fiemap)" "$t_tmp/l2f" "$t_tmp/exp2" exact
t_expect_rc 0 "second incremental" "$FERRY" backup --repo "$repo" --volume v \
    --changed-blocks "$t_tmp/l2" --json "$mnt/s2/disk.img"
p2=$(t_json snapshot_id)
t_expect_rc 0 "restore of the second incremental" "$FERRY" restore --repo "$repo" "$p2" "$t_tmp/r2"
t_same "second incremental" "$mnt/s2/disk.img" "$t_tmp/r2"

# compressed extents: the tree locates their bytes, FIEMAP cannot
t_ok "compress-force=zstd" mount -o remount,compress-force=zstd "$mnt"
t_ok "subvolume cv" btrfs -q subvolume create "$mnt/cv"
python3 "$cbt_py" base "$mnt/cv/disk.img" text || t_error "base image (compressed)"
t_ok "snapshot c0" btrfs -q subvolume snapshot -r "$mnt/cv" "$mnt/c0"
t_expect_rc 0 "full backup of c0" "$FERRY" backup --repo "$repo" --volume c --json "$mnt/c0/disk.img"
c0=$(t_json snapshot_id)
python3 "$cbt_py" mutate "$mnt/cv/disk.img" 3 "$t_tmp/exp3" || t_error "mutate (compressed)"
t_ok "snapshot c1" btrfs -q subvolume snapshot -r "$mnt/cv" "$mnt/c1"
cbt_list "tree, compressed" "$t_tmp/l3" btrfs "$mnt/c0" "$mnt/c1" --file disk.img --parent "$c0"
cbt_check "compressed (tree)" "$t_tmp/l3" "$t_tmp/exp3" exact
cbt_list "fiemap, compressed" "$t_tmp/l3f" btrfs "$mnt/c0" "$mnt/c1" --file disk.img --parent "$c0" --method fiemap --json
[ "$(t_json bytes_changed)" -ge $((50 << 20)) ] ||
    t_fail "FIEMAP of compressed extents listed only $(t_json bytes_changed) bytes"
t_expect_rc 0 "incremental of the compressed image" "$FERRY" backup --repo "$repo" --volume c \
    --changed-blocks "$t_tmp/l3" --json "$mnt/c1/disk.img"
c1=$(t_json snapshot_id)
t_expect_rc 0 "restore of the compressed incremental" "$FERRY" restore --repo "$repo" "$c1" "$t_tmp/r3"
t_same "compressed incremental" "$mnt/c1/disk.img" "$t_tmp/r3"

# refusals
t_expect_rc 2 "no --parent" "$FERRY" changed-blocks btrfs "$mnt/s0" "$mnt/s1" --file disk.img
t_expect_rc 2 "directories without --file" "$FERRY" changed-blocks btrfs "$mnt/s0" "$mnt/s1" --parent "$p0"
t_expect_err "with --file" "no --file"
t_expect_rc 2 "--file with files" "$FERRY" changed-blocks btrfs "$mnt/s0/disk.img" "$mnt/s1/disk.img" --file x --parent "$p0"
t_expect_rc 2 "the same file twice" "$FERRY" changed-blocks btrfs "$mnt/s1" "$mnt/s1" --file disk.img --parent "$p0"
t_expect_rc 2 "a file not on btrfs" "$FERRY" changed-blocks btrfs "$t_tmp/r1" "$mnt/s1/disk.img" --parent "$p0"
t_expect_err "is not on btrfs" "not btrfs"
t_expect_rc 2 "--method bad" "$FERRY" changed-blocks btrfs "$mnt/s0" "$mnt/s1" --file disk.img --parent "$p0" --method send
t_expect_rc 3 "no such file in the snapshots" "$FERRY" changed-blocks btrfs "$mnt/s0" "$mnt/s1" --file nothing --parent "$p0"
t_done
