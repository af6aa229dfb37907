#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Block devices (root): a 256 MiB loop device (--direct-io=on) backed up with
# io_uring + O_DIRECT and restored onto another loop device byte-identical;
# the default volume name of a loop device is its backing file, not its
# number; a device smaller than the volume and a mounted device are refused
# and left untouched.
. "$(dirname "$0")/../lib/t_lib.sh"
t_require_root
t_require_cmd losetup

repo=$(t_repo "$t_tmp/repo")
src=$t_tmp/src.img
truncate -s 256M "$src"
t_region "$src" 0 64 random
t_region "$src" 64 64 text
t_region "$src" 200 40 random
t_loop "$src"
dev=$t_dev

t_expect_rc 0 "backup of a loop device" "$FERRY" backup --repo "$repo" --json "$dev"
sid=$(t_json snapshot_id)
[ "$(t_json io)" = "io_uring+O_DIRECT" ] || t_fail "io mode $(t_json io)"
[ "$(t_json volume)" = "file:$(realpath "$src")" ] || t_fail "loop device identity '$(t_json volume)'"
[ "$(t_json bytes_total)" = $((256 << 20)) ] || t_fail "size $(t_json bytes_total)"
zero=$(t_json bytes_zero)
[ "$zero" -ge $((60 << 20)) ] || t_fail "zero chunks of the device not detected: $zero"

# restore onto a device with old data on it: every byte must be replaced
dst=$t_tmp/dst.img
head -c $((300 << 20)) /dev/urandom > "$dst"
t_loop "$dst"
ddev=$t_dev
t_expect_rc 0 "restore onto a device" "$FERRY" restore --repo "$repo" --json "$sid" "$ddev"
[ "$(t_json io)" = "io_uring+O_DIRECT" ] || t_fail "restore io mode $(t_json io)"
t_ok "the device's first 256 MiB equal the source" cmp -n $((256 << 20)) "$dev" "$ddev"
t_checks=$((t_checks + 1))

# also through pwrite
t_expect_rc 0 "restore onto a device with pwrite" "$FERRY" restore --repo "$repo" --io pread "$sid" "$ddev"
t_ok "pwrite restore equals the source" cmp -n $((256 << 20)) "$dev" "$ddev"

# a device smaller than the volume
small=$t_tmp/small.img
head -c $((100 << 20)) /dev/urandom > "$small"
cp "$small" "$t_tmp/small.orig"
t_loop "$small"
sdev=$t_dev
t_expect_rc 6 "a device smaller than the volume" "$FERRY" restore --repo "$repo" "$sid" "$sdev"
t_expect_err "has 104857600 bytes, the volume 268435456" "small device"
t_ok "the small device is untouched" cmp "$sdev" "$t_tmp/small.orig"

# a mounted device
t_require_cmd mkfs.ext4
mnt=$t_tmp/mnt
mkdir "$mnt"
mkfs.ext4 -q -F "$ddev" || t_error "mkfs.ext4"
mount "$ddev" "$mnt" || t_error "mount"
t_on_exit "umount '$mnt'"
echo precious > "$mnt/file"
sync
t_expect_rc 6 "a mounted device" "$FERRY" restore --repo "$repo" "$sid" "$ddev"
t_expect_err "in use.*unmount" "mounted device"
t_ok "the mounted filesystem is untouched" grep -q precious "$mnt/file"
umount "$mnt"

# a device backed up and restored as an image file: the same bytes
t_expect_rc 0 "restore a device's snapshot to a file" "$FERRY" restore --repo "$repo" "$sid" "$t_tmp/as-file.img"
t_same "device snapshot as a file" "$src" "$t_tmp/as-file.img"
t_done
