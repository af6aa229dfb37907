#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Byte-identical round trips through a file:// repository: a sparse 1 GiB image,
# a mix of zero, random and compressible regions of a size that is not a multiple
# of the chunk size, a 0-byte source, compression off, a repository with 64 KiB
# chunks; the JSON of backup, restore and snapshots; FERRY_REPO and -o json.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")

# 1 GiB sparse: a few data extents, the rest holes
img=$t_tmp/sparse.img
truncate -s 1G "$img"
t_region "$img" 3 2 random
t_region "$img" 500 5 text
t_region "$img" 1021 3 random
t_expect_rc 0 "backup of a sparse image" "$FERRY" backup --repo "$repo" --volume sparse --json "$img"
sid=$(t_json snapshot_id)
[ "$(t_json bytes_total)" = 1073741824 ] || t_fail "bytes_total $(t_json bytes_total)"
zero=$(t_json bytes_zero)
[ "$zero" -ge $(((1024 - 12) << 20)) ] || t_fail "bytes_zero $zero: holes were not recorded as zero"
read_=$(t_json bytes_read)
[ "$read_" -le $((16 << 20)) ] || t_fail "bytes_read $read_: holes were read"
for f in volume bytes_new chunks_total chunks_new seconds mb_per_s; do
    t_json $f >/dev/null || t_fail "backup JSON lacks $f: $t_out"
done
[ "$(t_json volume)" = sparse ] || t_fail "volume $(t_json volume)"
[ "$(t_json chunks_total)" = 1024 ] || t_fail "chunks_total $(t_json chunks_total)"
t_expect_rc 0 "restore of the sparse image" "$FERRY" restore --repo "$repo" --json "$sid" "$t_tmp/sparse.out"
[ "$(t_json snapshot_id)" = "$sid" ] || t_fail "restore names snapshot $(t_json snapshot_id)"
[ "$(t_json bytes_written)" -le $((16 << 20)) ] || t_fail "restore wrote the holes"
t_same "sparse round trip" "$img" "$t_tmp/sparse.out"
alloc=$(du -k "$t_tmp/sparse.out" | cut -f1)
[ "$alloc" -lt $((64 * 1024)) ] || t_fail "restored image is not sparse ($alloc KiB allocated)"
rm -f "$t_tmp/sparse.out"

# mixed regions, size 100 MiB + 12345 bytes (not a multiple of the chunk size)
img=$t_tmp/mixed.img
truncate -s $(((100 << 20) + 12345)) "$img"
t_region "$img" 0 20 random
t_region "$img" 20 10 zero
t_region "$img" 30 40 text
t_region "$img" 80 20 random
printf 'tail-bytes-after-the-last-full-chunk' | dd of="$img" bs=1 seek=$(((100 << 20) + 100)) conv=notrunc status=none
export FERRY_REPO=$repo
t_expect_rc 0 "backup of a mixed image (FERRY_REPO, -o json)" "$FERRY" backup --volume mixed -o json --label app=db --label tier=gold "$img"
mid=$(t_json snapshot_id)
new=$(t_json bytes_new)
[ "$new" -lt $(((100 << 20) - (20 << 20))) ] || t_fail "text was not compressed: $new bytes stored"
t_expect_rc 0 "restore by prefix" "$FERRY" restore "${mid:0:12}" "$t_tmp/mixed.out"
t_same "mixed round trip" "$img" "$t_tmp/mixed.out"
[ "$(stat -c %s "$t_tmp/mixed.out")" = $(((100 << 20) + 12345)) ] || t_fail "restored size"
unset FERRY_REPO

# restore over an existing, larger file: it becomes exactly the volume
head -c $((150 << 20)) /dev/urandom > "$t_tmp/mixed.out"
t_expect_rc 0 "restore over an existing file" "$FERRY" restore --repo "$repo" --volume mixed latest "$t_tmp/mixed.out"
t_same "restore over an existing file" "$img" "$t_tmp/mixed.out"

# the restore goes through pwrite as well as io_uring, buffered as well as O_DIRECT
t_expect_rc 0 "restore with pwrite, buffered" "$FERRY" restore --repo "$repo" --io pread --direct-io off --json "$mid" "$t_tmp/mixed.pw"
grep -q '"io":"pwrite (buffered)"' <<<"$t_out" || t_fail "io mode not reported: $t_out"
t_same "pwrite round trip" "$img" "$t_tmp/mixed.pw"
t_expect_rc 0 "backup with pread" "$FERRY" backup --repo "$repo" --volume mixed --io pread --json "$img"
grep -q '"io":"pread+O_DIRECT"' <<<"$t_out" || t_fail "io mode not reported: $t_out"
[ "$(t_json bytes_new)" = 0 ] || t_fail "the same data through pread stored $(t_json bytes_new) new bytes"
rm -f "$t_tmp/mixed.pw"

# labels and listing
t_expect_rc 0 "snapshots --json" "$FERRY" snapshots --repo "$repo" --json --volume mixed
python3 - "$mid" <<PY || t_fail "snapshots JSON: $t_out"
import json, sys
l = json.loads('''$t_out''')
assert len(l) == 2, l
s = [x for x in l if x["id"] == sys.argv[1]][0]
assert s["labels"] == {"app": "db", "tier": "gold"}, s["labels"]
assert s["size"] == 100 * 2**20 + 12345 and s["volume"] == "mixed"
PY
t_expect_rc 0 "snapshots table" "$FERRY" snapshots --repo "$repo"
grep -q "^${sid:0:16} .* sparse " <<<"$t_out" || t_fail "table lacks the sparse snapshot: $t_out"
grep -q "app=db,tier=gold" <<<"$t_out" || t_fail "table lacks labels: $t_out"

# 0-byte source
: > "$t_tmp/empty.img"
t_expect_rc 0 "backup of a 0-byte source" "$FERRY" backup --repo "$repo" --volume empty --json "$t_tmp/empty.img"
[ "$(t_json chunks_total)" = 0 ] || t_fail "chunks of an empty volume"
t_expect_rc 0 "restore of a 0-byte volume" "$FERRY" restore --repo "$repo" --volume empty latest "$t_tmp/empty.out"
[ -f "$t_tmp/empty.out" ] && [ "$(stat -c %s "$t_tmp/empty.out")" = 0 ] || t_fail "empty restore"

# compression off; and a repository with 64 KiB chunks
t_expect_rc 0 "init with 64K chunks" "$FERRY" init --repo "file://$t_tmp/repo64" --chunk-size 64K --json
[ "$(t_json chunk_size)" = 65536 ] || t_fail "chunk size $(t_json chunk_size)"
t_expect_rc 0 "backup, compression off" "$FERRY" backup --repo "file://$t_tmp/repo64" --compression off --threads 3 --json "$img"
[ "$(t_json bytes_new)" -ge $((80 << 20)) ] || t_fail "compression off stored $(t_json bytes_new) bytes"
vol=$(t_json volume)
[ "$vol" = "file:$(realpath "$img")" ] || t_fail "default volume identity '$vol'"
t_expect_rc 0 "restore, 64K chunks" "$FERRY" restore --repo "file://$t_tmp/repo64" --threads 1 latest "$t_tmp/mixed64.out"
t_same "64K-chunk round trip" "$img" "$t_tmp/mixed64.out"

t_done
