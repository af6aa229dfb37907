#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/switch-window.sh - the write-unavailable window of a blue/green switch of a
# StatefulSet with its volume against the bytes changed since the last sync, beside the same
# switch done by hand (snapshot, restore into a new claim, scale, patch) and a stop-copy-start
# of the same volume, in one run on one box (issue 20, "Measured"); root, by hand, never a
# pass/fail gate.
#
#   bench/switch-window.sh [--quick] [--size Q] [--changed MIB,...] [--reps N] [--out FILE]
#
#   full run  --size 256Mi, 50 % filled, changed 0,16,64 MiB, 2 rounds of every way: about 6 minutes
#   --quick   --size 64Mi, 50 % filled, changed 0,16 MiB, 1 round: about 2 minutes
# One box (tests/switch/switchkit.py: two nodes, storage, `ferry controller` and agents as
# processes, one file:// repository under /var/tmp), the records service in the StatefulSet
# db; bench/switch/window.py says what runs in it. Each way is measured under a writer of its
# own (a write every 10 ms through the Service, 1 s timeout, no retry).
# Writes Markdown (the machine, the load before and after, the commands, the table) to --out,
# default bench/results/switch-window-<date>[-quick].md, every figure as JSON beside it, and
# the run's log to /tmp/switch-window-<date>[-quick].log.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 SIZE='' CHANGED='' REPS='' OUT='' ARGS=$*
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; shift ;;
    --size) SIZE=$2; shift 2 ;;
    --changed) CHANGED=$2; shift 2 ;;
    --reps) REPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,20p' "$0"; exit 0 ;;
    *) echo "switch-window.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "switch-window.sh: needs root (the box's nodes and storage)" >&2; exit 1; }
FERRY=${FERRY:-$ROOT/build/control/ferry}
[ -x "$FERRY" ] || { echo "switch-window.sh: no $FERRY (ninja -C build)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "switch-window.sh: needs /usr/bin/python3 (Debian's)" >&2; exit 1; }
if [ $QUICK = 1 ]; then
    : "${SIZE:=64Mi}" "${CHANGED:=0,16}" "${REPS:=1}"
    RUN="--quick ($SIZE, changed $CHANGED MiB, $REPS round)"
else
    : "${SIZE:=256Mi}" "${CHANGED:=0,16,64}" "${REPS:=2}"
    RUN="full run ($SIZE, changed $CHANGED MiB, $REPS rounds)"
fi
STAMP=$(date -u +%Y%m%d-%H%M)
SUFFIX=$([ $QUICK = 1 ] && echo -quick)
[ -n "$OUT" ] || OUT=$ROOT/bench/results/switch-window-$STAMP$SUFFIX.md
JSON=${OUT%.md}.json
LOG=/tmp/switch-window-$STAMP$SUFFIX.log
TMP=$(mktemp -d /tmp/ferry-swin-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

DF_START=$(df -h --output=size,used,avail /var/tmp | tail -n 1 | awk '{print $3 " free of " $1}')
UP_START=$(uptime)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
echo "switch-window.sh: $SIZE, changed $CHANGED MiB, $REPS round(s); /var/tmp: $DF_START; $UP_START" >&2
CMD=(/usr/bin/python3 "$ROOT/bench/switch/window.py" --size "$SIZE" --changed "$CHANGED" --reps "$REPS"
     --md "$TMP/table.md" --json "$JSON")
FERRY=$FERRY "${CMD[@]}" 2>&1 | tee "$LOG" >&2
RC=${PIPESTATUS[0]}
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
UP_END=$(uptime)
T_END=$(date +%s)
[ -s "$TMP/table.md" ] || { echo "switch-window.sh: no table (exit $RC); the log: $LOG" >&2; exit 1; }

MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
    echo "## Blue/green switch with state: the write-unavailable window against the bytes changed"
    echo
    echo "$(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)," \
        "$(uname -r), $(nproc) vCPUs ($MODEL), $MEM, $RUN, $((T_END - T_START)) s."
    echo "Load average (1/5/15 min) at the start $LOAD_START, at the end $LOAD_END (other engineers' builds and tests share the machine)."
    echo "\`uptime\` before: \`${UP_START#"${UP_START%%[! ]*}"}\`; after: \`${UP_END#"${UP_END%%[! ]*}"}\`."
    echo
    echo "Commands: \`bench/switch-window.sh${ARGS:+ $ARGS}\`, which ran"
    echo "\`${CMD[*]}\`" | sed "s|$ROOT/||g; s|$TMP/table.md|table.md|; s|--json [^ \`]*|--json $(basename "$JSON")|"
    echo "with \`FERRY=${FERRY#"$ROOT"/}\`; every figure in \`$(basename "$JSON")\` beside this file."
    echo
    echo "- One box (tests/switch/switchkit.py: two nodes, the kbox-disk driver's volumes sparse files on an XFS pool"
    echo "  (a snapshot, and a claim restored from one, is a reflink: no data copied), \`ferry controller\` and one agent per node as processes,"
    echo "  a file:// repository on this machine's disk). The StatefulSet db (records.py, one replica) on one $SIZE ext4"
    echo "  claim, half of it filled once with random bytes, behind the ClusterIP Service db."
    echo "- Each row: a writer of its own from a node, a write every 10 ms through the Service, 1 s timeout, no retry;"
    echo "  window: green's first acknowledgement less blue's last; failed writes: refused, error answers and (in"
    echo "  parentheses) timed out, from the action on; lost: acknowledged writes green's store lacks afterwards."
    echo "- switch: the StatefulSwitch (autoPromotionEnabled false, syncIntervalSeconds 10); once Paused and a round"
    echo "  ended, \"changed\" MiB written over one file on blue's volume (POST /pad), then spec.promote. Controller's"
    echo "  figure: status.writeUnavailableSeconds; parts from status.cutover (stop: blue's pod gone; final round;"
    echo "  green: created until ready; patch: the selector; endpoints: green's endpoints ready); the final round's"
    echo "  bytes and seconds from status.rounds[-1]. Rolled back (Discard) and deleted after each."
    echo "- by hand: db scaled to 0, a VolumeSnapshot of its claim, a claim from it (dataSource) named as db-green's"
    echo "  StatefulSet uses it, db-green created (new image) and ready, the Service's selector patched."
    echo "- stop-copy-start: db scaled to 0, the whole volume backed up into the repository (VolumeTransfer,"
    echo "  changedBlocks hash) and restored whole over db-green's empty claim (made beforehand), db-green created"
    echo "  and ready, the selector patched. Ratios: the by-hand and stop-copy-start medians over each switch's window."
    echo
    cat "$TMP/table.md"
} >"$OUT"
cat "$OUT"
exit "$RC"
