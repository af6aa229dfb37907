#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Fallbacks are forced, not assumed (root; runs alone): with io_uring disabled
# system-wide (kernel.io_uring_disabled=2, restored afterwards even on
# failure) backup and restore still round-trip through pread/pwrite and say
# so; a source and a target on ramfs (which refuses O_DIRECT; tmpfs accepts
# it) round-trip with buffered I/O and say so.
. "$(dirname "$0")/../lib/t_lib.sh"
t_require_root

repo=$(t_repo "$t_tmp/repo")
img=$t_tmp/vol.img
truncate -s $(((24 << 20) + 777)) "$img"
t_region "$img" 0 8 random
t_region "$img" 8 8 text

if [ -e /proc/sys/kernel/io_uring_disabled ]; then
    old=$(cat /proc/sys/kernel/io_uring_disabled)
    t_on_exit "sysctl -qw kernel.io_uring_disabled=$old"
    sysctl -qw kernel.io_uring_disabled=2 || t_error "cannot set kernel.io_uring_disabled"
    t_expect_rc 0 "backup with io_uring disabled" "$FERRY" backup --repo "$repo" --volume u --json "$img"
    t_expect_err "notice: io_uring is not available.*pread" "io_uring fallback notice"
    grep -q '"io":"pread+O_DIRECT"' <<<"$t_out" || t_fail "io mode: $t_out"
    t_expect_rc 0 "restore with io_uring disabled" "$FERRY" restore --repo "$repo" --volume u --json latest "$t_tmp/u.out"
    t_expect_err "notice: io_uring is not available.*pwrite" "io_uring fallback notice (restore)"
    t_same "io_uring disabled round trip" "$img" "$t_tmp/u.out"
    sysctl -qw kernel.io_uring_disabled="$old"
else
    t_log "kernel.io_uring_disabled does not exist here: only the ramfs fallback is tested"
fi

rdir=$t_tmp/ramfs
mkdir "$rdir"
mount -t ramfs ramfs "$rdir" || t_skip "ramfs cannot be mounted here"
t_on_exit "umount '$rdir'"
cp "$img" "$rdir/vol.img"
t_expect_rc 0 "backup from ramfs" "$FERRY" backup --repo "$repo" --volume r --json "$rdir/vol.img"
t_expect_err "notice: $rdir/vol.img refuses O_DIRECT: using buffered I/O" "O_DIRECT fallback notice"
grep -q '"io":"io_uring (buffered)"' <<<"$t_out" || t_fail "io mode: $t_out"
t_expect_rc 0 "restore to ramfs" "$FERRY" restore --repo "$repo" --volume r --json latest "$rdir/out.img"
t_expect_err "refuses O_DIRECT" "O_DIRECT fallback notice (restore)"
t_same "ramfs round trip" "$img" "$rdir/out.img"
t_done
