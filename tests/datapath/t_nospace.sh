#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Disk full (root): a repository on a small tmpfs fills up during a backup:
# exit 7, no snapshot listed, the earlier snapshot still restores, and after
# space is freed the next backup works; a restore onto a full filesystem
# fails with exit 7 and never reports success.
. "$(dirname "$0")/../lib/t_lib.sh"
t_require_root

small=$t_tmp/small
mkdir "$small"
mount -t tmpfs -o size=48m tmpfs "$small" || t_error "mount tmpfs"
t_on_exit "umount '$small'"
repo=$(t_repo "$small/repo")

img=$t_tmp/a.img
truncate -s 32M "$img"
t_region "$img" 0 24 random
t_expect_rc 0 "a backup that fits" "$FERRY" backup --repo "$repo" --volume a --json "$img"
first=$(t_json snapshot_id)

big=$t_tmp/b.img
truncate -s 64M "$big"
t_region "$big" 0 64 random
t_expect_rc 7 "a backup that does not fit" "$FERRY" backup --repo "$repo" --volume b "$big"
t_expect_err "No space left on device" "disk full message"
[ "$(t_snapcount "$repo")" = 1 ] || t_fail "a failed backup left a snapshot"
t_expect_rc 0 "the earlier snapshot restores" "$FERRY" restore --repo "$repo" "$first" "$t_tmp/a.out"
t_same "earlier snapshot after disk full" "$img" "$t_tmp/a.out"

# restore onto a full filesystem
full=$t_tmp/full
mkdir "$full"
mount -t tmpfs -o size=8m tmpfs "$full" || t_error "mount tmpfs"
t_on_exit "umount '$full'"
t_expect_rc 7 "restore onto a full filesystem" "$FERRY" restore --repo "$repo" --json "$first" "$full/a.out"
t_expect_err "No space left" "restore disk full message"
[ -z "$t_out" ] || t_fail "a failed restore printed a result: $t_out"

# space freed: the next backup works
umount "$small" && mount -t tmpfs -o size=256m tmpfs "$small" || t_error "remount"
repo=$(t_repo "$small/repo")
t_expect_rc 0 "backup once there is space" "$FERRY" backup --repo "$repo" --volume b "$big"
t_done
