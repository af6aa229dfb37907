#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Delta apply onto a block device (root: a loop device with old data past
# the volume): the stamp is kept in a file (--stamp), an apply without one is
# refused, N applied onto P equals N over N's size (BLKZEROOUT for the zero
# chunks, a grown last chunk and data past P's size), only the changed chunks
# are written; a device holding another snapshot is refused untouched; a kill
# mid-apply leaves it dirty and refused, and a full restore recovers it.
. "$(dirname "$0")/../lib/t_lib.sh"
t_require_root
t_require_cmd losetup

M=$((1 << 20))
repo=$(t_repo "$t_tmp/repo")
P=$t_tmp/p.img
N=$t_tmp/n.img
truncate -s $((12 * M + 256 * 1024)) "$P"
t_region "$P" 0 3 random
t_region "$P" 6 3 text
head -c $((256 * 1024)) /dev/urandom | dd of="$P" bs=1K seek=$((12 * 1024)) conv=notrunc status=none
cp --sparse=always "$P" "$N"
t_region "$N" 1 1 random
t_region "$N" 4 1 random
t_region "$N" 7 1 zero
t_region "$N" 12 2 random
truncate -s $((14 * M + 64 * 1024)) "$N"
t_expect_rc 0 "backup of P" "$FERRY" backup --repo "$repo" --volume v --json "$P"
sp=$(t_json snapshot_id)
t_expect_rc 0 "backup of N" "$FERRY" backup --repo "$repo" --volume v --json "$N"
sn=$(t_json snapshot_id)

# a 16 MiB device full of old data
head -c $((16 * M)) /dev/urandom >"$t_tmp/dev.img"
t_loop "$t_tmp/dev.img"
dev=$t_dev
stamp=$t_tmp/dev.stamp

t_expect_rc 0 "full restore of P onto the device" "$FERRY" restore --repo "$repo" --stamp "$stamp" "$sp" "$dev"
t_ok "the device's stamp names P" grep -q "^snapshot $sp" "$stamp"
t_expect_rc 6 "an apply onto a device without --stamp" "$FERRY" restore --repo "$repo" --onto "$sp" "$sn" "$dev"
t_expect_err "block device.*--stamp FILE" "no stamp file"
t_expect_rc 0 "apply N onto the device" "$FERRY" restore --repo "$repo" --json --stamp "$stamp" --onto "$sp" "$sn" "$dev"
t_ok "the device holds N" cmp -n $((14 * M + 64 * 1024)) "$N" "$dev"
for kv in chunks_total=15 chunks_new=4 chunks_zero=2 chunks_unchanged=9 bytes_written=$((4 * M)); do
    t_checks=$((t_checks + 1))
    [ "$(t_json "${kv%%=*}")" = "${kv#*=}" ] || t_fail "${kv%%=*} is $(t_json "${kv%%=*}"), expected ${kv#*=}: $t_out"
done
t_ok "the device's stamp names N" grep -q "^snapshot $sn" "$stamp"

# holding another snapshot: refused, untouched
sum=$(sha256sum <"$dev")
t_expect_rc 6 "an apply onto a device that holds another snapshot" "$FERRY" restore --repo "$repo" --stamp "$stamp" --onto "$sp" "$sn" "$dev"
t_expect_err "holds snapshot ${sn:0:16}, not ${sp:0:16}" "another snapshot"
t_ok "refused device untouched" [ "$(sha256sum <"$dev")" = "$sum" ]

# a kill mid-apply: dirty, refused, recovered by a full restore
t_expect_rc 0 "apply P onto N" "$FERRY" restore --repo "$repo" --stamp "$stamp" --onto "$sn" "$sp" "$dev"
t_ok "the device holds P" cmp -n $((12 * M + 256 * 1024)) "$P" "$dev"
FERRY_TEST_CRASH_AT=apply-chunk:2 t_run "$FERRY_TEST" restore --repo "$repo" --stamp "$stamp" --onto "$sp" "$sn" "$dev"
[ "$t_rc" = 137 ] || t_fail "crash at apply-chunk: exit $t_rc: $t_err"
t_ok "dirty after the crash" grep -q "^state dirty" "$stamp"
t_expect_rc 6 "an apply onto a dirty device" "$FERRY" restore --repo "$repo" --stamp "$stamp" --onto "$sp" "$sn" "$dev"
t_expect_err "is dirty.*restore it in full" "dirty device"
t_expect_rc 0 "full restore after the crash" "$FERRY" restore --repo "$repo" --stamp "$stamp" "$sn" "$dev"
t_ok "the device holds N after the recovery" cmp -n $((14 * M + 64 * 1024)) "$N" "$dev"
t_done
