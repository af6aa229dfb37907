#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/migrate-bulk.sh - a bulk migration's aggregate rate as simulated nodes
# are added, the per-node limit on transfers in flight, each sync round's bytes
# against the bytes changed, and the cutover's window (issue 21, "Measured");
# root, by hand, never a pass/fail gate.
#
#   bench/migrate-bulk.sh [--nodes 1,2,3] [--pods-per-node 3] [--fill-mib 48] [--copy] [--out FILE]
#
# --copy: two repositories, one per cloud (spec.copy), and the copies' overlap with the
# backups and restores measured too.
#
# Each point brings two boxes of N nodes up (tests/migrate/warmkit.py) and down
# again; bench/migrate/bulk.py says what runs in them (about 2-4 minutes a
# point here). Writes Markdown (the machine, the load before and after, the
# command, the table) to --out, default bench/results/migrate-bulk-<date>.md,
# the figures as JSON beside it, and the run's log to /tmp/migrate-bulk-<date>.log.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
NODES=1,2,3 PER=3 FILL=48 OUT= COPY=()
while [ $# -gt 0 ]; do
    case $1 in
    --nodes) NODES=$2; shift 2 ;;
    --pods-per-node) PER=$2; shift 2 ;;
    --fill-mib) FILL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    --copy) COPY=(--copy); shift ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    *) echo "migrate-bulk.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "migrate-bulk.sh: needs root (the boxes' nodes and storage)" >&2; exit 1; }
FERRY=${FERRY:-$ROOT/build/control/ferry}
[ -x "$FERRY" ] || { echo "migrate-bulk.sh: no $FERRY (ninja -C build)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "migrate-bulk.sh: needs /usr/bin/python3 (Debian's)" >&2; exit 1; }
STAMP=$(date -u +%Y%m%d-%H%M)
[ -n "$OUT" ] || OUT=$ROOT/bench/results/migrate-bulk-$STAMP.md
JSON=${OUT%.md}.json
LOG=/tmp/migrate-bulk-$STAMP.log
TMP=$(mktemp -d /tmp/ferry-mbulk-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

UP_START=$(uptime)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
CMD=(/usr/bin/python3 "$ROOT/bench/migrate/bulk.py" --nodes "$NODES" --pods-per-node "$PER" --fill-mib "$FILL"
     "${COPY[@]}" --md "$TMP/table.md" --json "$JSON")
FERRY=$FERRY "${CMD[@]}" 2>&1 | tee "$LOG" >&2
RC=${PIPESTATUS[0]}
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
UP_END=$(uptime)
T_END=$(date +%s)
[ -s "$TMP/table.md" ] || { echo "migrate-bulk.sh: no table (exit $RC); the log: $LOG" >&2; exit 1; }

MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
    echo "## Bulk migration: the aggregate rate as nodes are added"
    echo
    echo "$(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)," \
        "$(uname -r), $(nproc) vCPUs ($MODEL), $MEM, $((T_END - T_START)) s."
    echo "Load average (1/5/15 min) at the start $LOAD_START, at the end $LOAD_END."
    echo "\`uptime\` before: \`$(echo "$UP_START" | sed 's/^ *//')\`; after: \`$(echo "$UP_END" | sed 's/^ *//')\`."
    echo
    echo "Command: \`bench/migrate-bulk.sh --nodes $NODES --pods-per-node $PER --fill-mib $FILL${COPY[*]:+ ${COPY[*]}}\`, which ran"
    echo "\`${CMD[*]}\`" | sed "s|$ROOT/||g; s|$TMP/table.md|table.md|; s|--json [^ \`]*|--json $(basename "$JSON")|"
    echo "with \`FERRY=$(echo "$FERRY" | sed "s|$ROOT/||")\`; every figure in \`$(basename "$JSON")\` beside this file."
    echo
    echo "- Per point two boxes of N nodes (tests/migrate/warmkit.py: the kbox-disk driver's volumes sparse files on"
    echo "  an XFS pool on a loop device, \`ferry controller\` and one agent per node as processes, each agent at"
    echo "  \`--max-transfers 4\`), one file:// repository on this machine's disk. All of it shares this machine's"
    echo "  $(nproc) vCPUs: more nodes add work, not cores, so the rate is expected to hold, not to grow."
    echo "- Per node a namespace with $PER pods held to it, each with a 256 MiB data claim filled with $FILL MiB of random"
    echo "  bytes (incompressible) and a 16 MiB logs claim; each pod rewrites the first MiB of its data every 2 s."
    echo "- One Migration of every namespace; seed s: its start to its seed's completion (the source's Backup, backup"
    echo "  sync, the target's Restore); MB/s: the bytes filled over those seconds (backup and restore over their own)."
    echo "  Most in flight: the most VolumeTransfers Running at once on one node, sampled every 0.2 s. Rounds: each"
    echo "  sync round's bytes written onto the target against the bytes changed (1 MiB a data volume)."
    if [ ${#COPY[@]} -gt 0 ]; then
        echo "- Two repositories (spec.copy): the source's file:// repository and the target's, made with"
        echo "  \`--copy-keys-from\`; the target's agents copy each snapshot (VolumeTransfers of direction copy). A copy"
        echo "  span: its first copy made to its last Completed; overlap: the seconds it shares with the Backup's"
        echo "  (or the Restore's) own start and completion."
    fi
    echo
    cat "$TMP/table.md"
} >"$OUT"
cat "$OUT"
exit $RC
