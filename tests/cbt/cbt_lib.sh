# SPDX-License-Identifier: MIT
# tests/cbt/cbt_lib.sh - what the changed-block tests share. Source it first;
# it sources tests/lib/t_lib.sh.
#
# cbt_mkfs xfs|btrfs: a fresh filesystem on a loop device (--direct-io=on)
# over a sparse file in $t_tmp, mounted at $mnt; unmounted and detached at
# exit, also on failure. (t_loop registers its cleanup in a subshell when
# called as $(t_loop ...), so the device is attached here instead.)
. "$(dirname "$0")/../lib/t_lib.sh"

cbt_py="$(dirname "$0")/cbt_files.py"
mnt=$t_tmp/mnt

cbt_mkfs() {
    local fs=$1 img=$t_tmp/fs.img dev
    t_require_root
    case $fs in
    xfs)   t_require_cmd mkfs.xfs; t_require_cmd xfs_io ;;
    btrfs) t_require_cmd mkfs.btrfs; t_require_cmd btrfs ;;
    esac
    t_require_cmd losetup
    t_require_cmd fallocate
    grep -qw "$fs" /proc/filesystems || modprobe "$fs" 2>/dev/null ||
        t_skip "the kernel has no $fs"
    truncate -s 2G "$img" || t_error "truncate $img"
    dev=$(losetup -f --show --direct-io=on "$img") || t_error "losetup $img"
    t_on_exit "losetup -d $dev"
    case $fs in
    xfs)   mkfs.xfs -q -f -m reflink=1 "$dev" || t_error "mkfs.xfs $dev" ;;
    btrfs) mkfs.btrfs -q -f "$dev" >/dev/null 2>&1 || t_error "mkfs.btrfs $dev" ;;
    esac
    mkdir -p "$mnt"
    mount "$dev" "$mnt" || t_error "mount $dev"
    t_on_exit "umount '$mnt' || umount -l '$mnt'"
}

# cbt_check DESC LIST EXPECT SLACK: the list covers the writes (cbt_files.py check)
cbt_check() {
    t_checks=$((t_checks + 1))
    local r
    r=$(python3 "$cbt_py" check "$2" "$3" "$4" 2>&1) || t_fail "$1: $r"
    t_log "$1: $r"
}

# cbt_list DESC OUT ARGS...: ferry changed-blocks ARGS -o OUT must succeed
cbt_list() {
    local desc=$1 out=$2; shift 2
    t_expect_rc 0 "$desc" "$FERRY" changed-blocks "$@" -o "$out"
}
