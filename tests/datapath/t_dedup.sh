#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Dedup: a second backup of an unchanged volume stores nothing new; after 1 MiB
# changes at one (unaligned) offset, at most two chunks' worth is stored; a
# second volume with the same content shares every chunk; all restore exactly.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
img=$t_tmp/vol.img
truncate -s 64M "$img"
t_region "$img" 0 24 random
t_region "$img" 24 24 text
t_region "$img" 56 8 random

t_expect_rc 0 "first backup" "$FERRY" backup --repo "$repo" --volume v --json "$img"
s1=$(t_json snapshot_id)
n1=$(t_json chunks_new)
[ "$n1" = 56 ] || t_fail "first backup stored $n1 chunks, expected 56"

t_expect_rc 0 "unchanged backup" "$FERRY" backup --repo "$repo" --volume v --json "$img"
s2=$(t_json snapshot_id)
[ "$(t_json bytes_new)" = 0 ] || t_fail "unchanged backup stored $(t_json bytes_new) bytes"
[ "$(t_json chunks_new)" = 0 ] || t_fail "unchanged backup stored $(t_json chunks_new) chunks"
[ "$(t_json chunks_dedup)" = 56 ] || t_fail "dedup count $(t_json chunks_dedup)"
[ "$s1" != "$s2" ] || t_fail "two backups got one id"

cp "$img" "$t_tmp/v1.img"
head -c $((1 << 20)) /dev/urandom | dd of="$img" bs=1 seek=$(((10 << 20) + 4096 * 7 + 100)) conv=notrunc status=none
t_expect_rc 0 "backup after 1 MiB changed" "$FERRY" backup --repo "$repo" --volume v --json "$img"
s3=$(t_json snapshot_id)
[ "$(t_json chunks_new)" -le 2 ] || t_fail "1 MiB change stored $(t_json chunks_new) chunks"
# two chunks, each with its seal (nonce and tag: 28 bytes)
[ "$(t_json bytes_new)" -le $(((2 << 20) + 2 * 28)) ] || t_fail "1 MiB change stored $(t_json bytes_new) bytes"
[ "$(t_json bytes_new)" -gt 0 ] || t_fail "the change was not stored"

# another volume name, same content: still nothing new
t_expect_rc 0 "same data, other volume" "$FERRY" backup --repo "$repo" --volume w --json "$t_tmp/v1.img"
[ "$(t_json bytes_new)" = 0 ] || t_fail "second volume stored $(t_json bytes_new) bytes"

# every snapshot restores to what it was
t_expect_rc 0 "restore first" "$FERRY" restore --repo "$repo" "$s1" "$t_tmp/r1"
t_same "first snapshot" "$t_tmp/v1.img" "$t_tmp/r1"
t_expect_rc 0 "restore changed" "$FERRY" restore --repo "$repo" "$s3" "$t_tmp/r3"
t_same "changed snapshot" "$img" "$t_tmp/r3"
t_expect_rc 0 "latest of v" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/r4" --json
[ "$(t_json snapshot_id)" = "$s3" ] || t_fail "latest of v is $(t_json snapshot_id), not $s3"

# a volume whose chunks repeat inside it: stored once, restored everywhere
truncate -s 0 "$t_tmp/rep.img"
head -c $((1 << 20)) /dev/urandom > "$t_tmp/block"
for i in $(seq 0 15); do cat "$t_tmp/block"; done > "$t_tmp/rep.img"
t_expect_rc 0 "backup of repeated chunks" "$FERRY" backup --repo "$repo" --volume rep --json "$t_tmp/rep.img"
[ "$(t_json chunks_new)" = 1 ] || t_fail "16 equal chunks stored as $(t_json chunks_new)"
t_expect_rc 0 "restore of repeated chunks" "$FERRY" restore --repo "$repo" --volume rep latest "$t_tmp/rep.out"
t_same "repeated chunks" "$t_tmp/rep.img" "$t_tmp/rep.out"
t_done
