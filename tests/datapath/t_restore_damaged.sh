#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A restore that fails on a damaged manifest touches nothing: the whole
# manifest is verified before the target is created, truncated or written.
# Two damages of a two-segment manifest (9000 records; encrypted repository):
#  - its last segment removed and the footer's checksum recomputed (an
#    independent reader found that only the coverage check catches this:
#    every remaining seal still opens);
#  - one byte flipped near the end (in the last segment's frame).
# Each: exit 4; an existing target keeps its size and every byte; a missing
# one is not created. check --source against it fails as well (exit 4), and
# the undamaged copy still restores.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo" --chunk-size 64K)
img=$t_tmp/v.img
# 9000 chunks of 64 KiB, each with 16 random bytes at its start (unique,
# compressible): one record each, so the manifest has two segments
python3 - "$img" <<'PY'
import os, sys
with open(sys.argv[1], "wb") as f:
    f.truncate(9000 * 65536)
    for i in range(9000):
        f.seek(i * 65536)
        f.write(os.urandom(16))
PY
t_expect_rc 0 "backup" "$FERRY" backup --repo "$repo" --volume v --json "$img"
snap=$(t_json snapshot_id)
manifest=$t_tmp/repo/snapshots/$snap
[ -f "$manifest" ] || t_error "no manifest at $manifest"

# tamper MODE SRC DST: a damaged copy of the manifest (FORMAT.md "Snapshot manifests")
tamper() {
    python3 - "$@" <<'PY'
import hashlib, struct, sys
mode, src, dst = sys.argv[1:]
b = bytearray(open(src, "rb").read())
pos, segs = 16, []
while True:
    flen, nrec = struct.unpack_from("<II", b, pos)
    if flen == 0 and nrec == 0:
        break
    segs.append((pos, 8 + flen, nrec))
    pos += 8 + flen
assert len(segs) == 2 and segs[0][2] == 8192, segs
end = pos  # the end marker
if mode == "drop-last":
    start, length, _ = segs[-1]
    del b[start:start + length]
    b[-36:-4] = hashlib.sha256(bytes(b[:-36])).digest()
elif mode == "flip-near-end":
    b[end - 5] ^= 0x10
open(dst, "wb").write(b)
PY
}

# every byte and the size of the existing target, before and after
pattern=$t_tmp/pattern
head -c 777777 /dev/urandom >"$pattern"
for mode in drop-last flip-near-end; do
    cp -a "$t_tmp/repo" "$t_tmp/bad-$mode"
    tamper "$mode" "$manifest" "$t_tmp/bad-$mode/snapshots/$snap" || t_error "tampering ($mode)"
    bad=file://$t_tmp/bad-$mode
    cp "$pattern" "$t_tmp/existing"
    t_expect_rc 4 "restore onto an existing file ($mode)" "$FERRY" restore --repo "$bad" "$snap" "$t_tmp/existing"
    t_expect_err "manifest" "the error names the manifest ($mode)"
    t_same "the existing target is unchanged ($mode)" "$pattern" "$t_tmp/existing"
    [ "$(stat -c %s "$t_tmp/existing")" = 777777 ] || t_fail "the existing target changed size ($mode)"
    rm -f "$t_tmp/missing"
    t_expect_rc 4 "restore to a new file ($mode)" "$FERRY" restore --repo "$bad" "$snap" "$t_tmp/missing"
    [ ! -e "$t_tmp/missing" ] || t_fail "a restore of a damaged manifest created its target ($mode)"
    t_expect_rc 4 "check --source against it ($mode)" "$FERRY" check --repo "$bad" --source "$img" "$snap"
done

# the undamaged repository restores, onto the existing file too
t_expect_rc 0 "restore of the intact manifest" "$FERRY" restore --repo "$repo" "$snap" "$t_tmp/existing"
t_same "the intact restore" "$img" "$t_tmp/existing"
t_done
