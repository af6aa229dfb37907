#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/delta-apply.sh - a delta apply (ferry restore --onto) against a full
# restore of the same snapshot, for 1 % of a sparse volume changed.
#
#   bench/delta-apply.sh --ferry FERRY [--sizes "1 4"] [--data PERCENT] [--rounds N]
#
# For each size (GiB): an image file with PERCENT % (default 10) of it
# random data in 1 MiB pieces, the rest holes, is backed up (P); 1 % of its
# chunks get new random data and it is backed up again (N); both into a
# file:// repository in $TMPDIR. Then, interleaved for each round: a full
# restore of N onto a fresh file, and P restored in full (not timed) and N
# applied onto it (timed). Prints per size and round: seconds of each,
# bytes written of each against the bytes changed, and the load average
# when it ran (the machine is shared: read the figures with it).
set -uo pipefail

FERRY= SIZES="1 4" DATA=10 ROUNDS=1
while [ $# -gt 0 ]; do
    case $1 in
    --ferry) FERRY=$2; shift 2 ;;
    --sizes) SIZES=$2; shift 2 ;;
    --data) DATA=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 --ferry FERRY [--sizes \"1 4\"] [--data PERCENT] [--rounds N]" >&2; exit 2 ;;
    esac
done
[ -x "$FERRY" ] || { echo "$0: --ferry names the ferry binary" >&2; exit 2; }
export FERRY_PASSWORD=bench-password
tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-delta-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT

field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read().strip().splitlines()[-1])[sys.argv[1]])' "$1"; }
now() { date +%s.%N; }

printf '%-5s %-5s %10s %10s %12s %14s %14s %s\n' GiB round full_s apply_s changed_MB full_written_MB apply_written_MB load
for g in $SIZES; do
    repo=file://$tmp/repo-$g
    "$FERRY" init --repo "$repo" --scrypt-n 1024 >/dev/null || exit 1
    img=$tmp/vol.img
    rm -f "$img"
    truncate -s "${g}G" "$img"
    # P: DATA % random, 1 MiB pieces at random chunk indexes; N: 1 % of the chunks rewritten
    changed=$(/usr/bin/python3 - "$img" "$g" "$DATA" <<'PY'
import os, random, sys
path, g, data = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = g << 10
rnd = random.Random(1)
fd = os.open(path, os.O_WRONLY)
for i in rnd.sample(range(n), n * data // 100):
    os.pwrite(fd, os.urandom(1 << 20), i << 20)
os.close(fd)
PY
)
    "$FERRY" backup --repo "$repo" --volume v --json "$img" >"$tmp/p.json" || exit 1
    sp=$(field snapshot_id <"$tmp/p.json")
    changed=$(/usr/bin/python3 - "$img" "$g" <<'PY'
import os, random, sys
path, g = sys.argv[1], int(sys.argv[2])
n = g << 10
rnd = random.Random(2)
fd = os.open(path, os.O_WRONLY)
k = max(1, n // 100)
for i in rnd.sample(range(n), k):
    os.pwrite(fd, os.urandom(1 << 20), i << 20)
os.close(fd)
print(k << 20)
PY
)
    "$FERRY" backup --repo "$repo" --volume v --json "$img" >"$tmp/n.json" || exit 1
    sn=$(field snapshot_id <"$tmp/n.json")
    rm -f "$img"
    for r in $(seq "$ROUNDS"); do
        rm -f "$tmp/full.img" "$tmp/delta.img"
        sync
        t0=$(now)
        "$FERRY" restore --repo "$repo" --json "$sn" "$tmp/full.img" >"$tmp/full.json" || exit 1
        t1=$(now)
        full_w=$(field bytes_written <"$tmp/full.json")
        rm -f "$tmp/full.img"
        "$FERRY" restore --repo "$repo" "$sp" "$tmp/delta.img" >/dev/null || exit 1
        sync
        t2=$(now)
        "$FERRY" restore --repo "$repo" --json --onto "$sp" "$sn" "$tmp/delta.img" >"$tmp/apply.json" || exit 1
        t3=$(now)
        apply_w=$(field bytes_written <"$tmp/apply.json")
        apply_z=$(field bytes_zero <"$tmp/apply.json")
        printf '%-5s %-5s %10.2f %10.2f %12.1f %14.1f %14.1f %s\n' "$g" "$r" \
            "$(echo "$t1 - $t0" | bc)" "$(echo "$t3 - $t2" | bc)" \
            "$(echo "$changed / 1000000" | bc -l)" "$(echo "$full_w / 1000000" | bc -l)" \
            "$(echo "($apply_w + $apply_z) / 1000000" | bc -l)" "$(cut -d' ' -f1-3 /proc/loadavg)"
        rm -f "$tmp/delta.img"
    done
    rm -rf "$tmp/repo-$g"
done
