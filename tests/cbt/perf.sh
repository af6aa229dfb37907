#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/cbt/perf.sh [ROUNDS] - the figures of control/cbt/CBT.md, by hand (root;
# not a test): a 2 GiB mixed image (bench/compare's layout: 16 MiB segments
# of real files, hole, real files, random) on XFS on a --direct-io=on loop
# device over tmpfs; 1 % of its chunks changed at random offsets; then, per
# round, in fresh file:// repositories on tmpfs (--no-fsync):
#   full     ferry backup of OLD (the parent)
#   list     ferry changed-blocks xfs OLD NEW + ferry backup --changed-blocks
#   scan     ferry backup of NEW against the same parent, without a list
# "list" and "scan" run in repositories of their own (each after its own
# full backup), so neither finds the other's new chunks stored already.
# FERRY: the ferry binary (default: build/control/ferry). Prints one line per
# run and the medians.
set -euo pipefail
ROUNDS=${1:-3}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
FERRY=${FERRY:-$ROOT/build/control/ferry}
export FERRY_PASSWORD=perf
W=$(mktemp -d /dev/shm/ferry-cbt-perf-XXXXXX)
dev= mnt=$W/mnt
cleanup() {
    mountpoint -q "$mnt" && umount "$mnt"
    [ -n "$dev" ] && losetup -d "$dev"
    rm -rf "$W"
}
trap cleanup EXIT
now() { date +%s.%N; }

truncate -s 3G "$W/fs.img"
dev=$(losetup -f --show --direct-io=on "$W/fs.img")
mkfs.xfs -q -f -m reflink=1 "$dev"
mkdir "$mnt"
mount "$dev" "$mnt"
python3 - "$mnt/live.img" <<'PY'
import os, subprocess, sys
SEG, size = 16 << 20, 2 << 30
tars = [subprocess.Popen(["tar", "-cf", "-", "--sort=name", d], stdout=subprocess.PIPE,
                         stderr=subprocess.DEVNULL, cwd="/") for d in ("usr/lib", "usr/share")]
which = 0
with open(sys.argv[1], "wb") as f:
    f.truncate(size)
    for i in range(size // SEG):
        kind = ("real", "zero", "real", "random")[i % 4]
        if kind == "zero":
            continue
        if kind == "random":
            data = os.urandom(SEG)
        else:
            data = b""
            for _ in range(2):
                src = tars[which].stdout
                while len(data) < SEG:
                    b = src.read(SEG - len(data))
                    if not b:
                        break
                    data += b
                if len(data) == SEG:
                    break
                which ^= 1
            which ^= 1
        os.pwrite(f.fileno(), data, i * SEG)
for t in tars:
    t.kill()
PY
sync
cp --reflink=always "$mnt/live.img" "$mnt/old.img"
# 1 % of the 2048 chunks: 20 chunks, 4-64 KiB of random bytes at a random offset in each
python3 - "$mnt/live.img" <<'PY'
import os, random, sys
rnd = random.Random(42)
fd = os.open(sys.argv[1], os.O_RDWR)
for c in rnd.sample(range(2048), 20):
    n = rnd.randint(4, 64) << 10
    os.pwrite(fd, os.urandom(n), (c << 20) + rnd.randrange(0, (1 << 20) - n))
os.close(fd)
PY
sync
cp --reflink=always "$mnt/live.img" "$mnt/new.img"

declare -A T
runs() { T[$1]="${T[$1]:-} $2"; printf '%-10s %6.3f s\n' "$1" "$2"; }
for r in $(seq "$ROUNDS"); do
    for mode in list scan; do
        repo=file://$W/repo-$r-$mode
        "$FERRY" init --repo "$repo" --scrypt-n 1024 >/dev/null
        t0=$(now)
        parent=$("$FERRY" backup --repo "$repo" --no-fsync --volume v --json "$mnt/old.img" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["snapshot_id"])')
        runs full "$(echo "$(now) - $t0" | bc)"
        if [ "$mode" = list ]; then
            t0=$(now)
            "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/new.img" --parent "$parent" -o "$W/list" >/dev/null
            t1=$(now)
            "$FERRY" backup --repo "$repo" --no-fsync --volume v --parent "$parent" \
                --changed-blocks "$W/list" "$mnt/new.img" >/dev/null
            t2=$(now)
            runs producer "$(echo "$t1 - $t0" | bc)"
            runs list-bkp "$(echo "$t2 - $t1" | bc)"
            runs list "$(echo "$t2 - $t0" | bc)"
        else
            t0=$(now)
            "$FERRY" backup --repo "$repo" --no-fsync --volume v --parent "$parent" "$mnt/new.img" >/dev/null
            runs scan "$(echo "$(now) - $t0" | bc)"
        fi
        rm -rf "$W/repo-$r-$mode"
    done
done
echo "ranges in the list: $(grep -vc '^[#ps]' "$W/list")"
# a fragmented NEW: every other 4 KiB block of the first 512 MiB rewritten
python3 - "$mnt/live.img" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for off in range(0, 512 << 20, 8192):
    os.pwrite(fd, os.urandom(4096), off)
os.close(fd)
PY
sync
cp --reflink=always "$mnt/live.img" "$mnt/frag.img"
t0=$(now)
"$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/frag.img" --parent "$parent" --json -o "$W/list2" |
    python3 -c 'import json,sys; j=json.load(sys.stdin); print("fragmented:", j["ranges"], "ranges,", j["extents_old"], "+", j["extents_new"], "extents,", j["calls"], "FIEMAP calls")'
runs producer-frag "$(echo "$(now) - $t0" | bc)"
echo "list file: $(stat -c %s "$W/list2") bytes; peak RSS of the producer:"
/usr/bin/time -f "  %M KiB, %e s" "$FERRY" changed-blocks xfs "$mnt/old.img" "$mnt/frag.img" --parent "$parent" -o "$W/list3" >/dev/null
for k in full producer list-bkp list scan producer-frag; do
    # shellcheck disable=SC2086
    printf 'median %-10s %6.3f s\n' "$k" "$(printf '%s\n' ${T[$k]} | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')"
done
