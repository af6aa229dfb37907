#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/migrate-window.sh - the cutover window of a warm migration against
# volume size and changed fraction, beside the same application moved
# stop-copy-start (issue 19, "Measured"); root, by hand, never a pass/fail gate.
#
#   bench/migrate-window.sh [--quick] [--points GIB:PCT,...] [--fill PCT] [--out FILE]
#
# Points (volume size in GiB : percent of it changed between sync rounds):
#   full run  1:1,4:1,16:1 (size at 1 % changed), 1:0.1,1:10 (changed fraction
#             at 1 GiB; 1:1 is shared): about 10-20 minutes
#   --quick   1:1,4:1: about 3-6 minutes
# Each point brings two boxes up (tests/migrate/warmkit.py: nodes, storage,
# `ferry controller` and agents as processes, one file:// repository under
# /var/tmp) and down again; bench/migrate/window.py says what runs in them.
# The application's data claim is filled to --fill % (default 25) with random
# bytes; the volumes are sparse files, so the disk a point needs is about six
# times the fill (both applications, both sides, the repository): checked with
# df before each point, a point that does not fit is skipped and says so.
# Writes Markdown (the machine, the load before and after, the commands, the
# table) to --out, default bench/results/migrate-window-<date>[-quick].md, the
# figures as JSON beside it, and the run's log to /tmp/migrate-window-<date>.log.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
QUICK=0 POINTS= FILL=25 OUT= RUN=
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; shift ;;
    --points) POINTS=$2; shift 2 ;;
    --fill) FILL=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,22p' "$0"; exit 0 ;;
    *) echo "migrate-window.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "migrate-window.sh: needs root (the boxes' nodes and storage)" >&2; exit 1; }
FERRY=${FERRY:-$ROOT/build/control/ferry}
[ -x "$FERRY" ] || { echo "migrate-window.sh: no $FERRY (ninja -C build)" >&2; exit 1; }
[ -x /usr/bin/python3 ] || { echo "migrate-window.sh: needs /usr/bin/python3 (Debian's)" >&2; exit 1; }
if [ -n "$POINTS" ]; then
    RUN="points $POINTS"
elif [ $QUICK = 1 ]; then
    POINTS=1:1,4:1 RUN=--quick
else
    POINTS=1:1,4:1,16:1,1:0.1,1:10 RUN="full run"
fi
STAMP=$(date -u +%Y%m%d-%H%M)
[ -n "$OUT" ] || OUT=$ROOT/bench/results/migrate-window-$STAMP$([ $QUICK = 1 ] && echo -quick).md
JSON=${OUT%.md}.json
LOG=/tmp/migrate-window-$STAMP$([ $QUICK = 1 ] && echo -quick).log
TMP=$(mktemp -d /tmp/ferry-mwin-XXXXXX)
trap 'rm -rf "$TMP"' EXIT

DF_START=$(df -h --output=size,used,avail /var/tmp | tail -n 1 | awk '{print $3 " free of " $1}')
UP_START=$(uptime)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
echo "migrate-window.sh: points $POINTS, fill $FILL %; /var/tmp: $DF_START; $UP_START" >&2
CMD=(/usr/bin/python3 "$ROOT/bench/migrate/window.py" --points "$POINTS" --fill "$FILL"
     --md "$TMP/table.md" --json "$JSON")
FERRY=$FERRY "${CMD[@]}" 2>&1 | tee "$LOG" >&2
RC=${PIPESTATUS[0]}
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
UP_END=$(uptime)
T_END=$(date +%s)
[ -s "$TMP/table.md" ] || { echo "migrate-window.sh: no table (exit $RC); the log: $LOG" >&2; exit 1; }

MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
MEM=$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)
{
    echo "## Warm migration: the cutover window against volume size and changed fraction"
    echo
    echo "$(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)," \
        "$(uname -r), $(nproc) vCPUs ($MODEL), $MEM, $RUN, $((T_END - T_START)) s."
    echo "Load average (1/5/15 min) at the start $LOAD_START, at the end $LOAD_END (other engineers' builds and tests share the machine)."
    echo "\`uptime\` before: \`$(echo "$UP_START" | sed 's/^ *//')\`; after: \`$(echo "$UP_END" | sed 's/^ *//')\`."
    echo "/var/tmp (the boxes, their pools and the repository): $DF_START at the start."
    echo
    echo "Commands: \`bench/migrate-window.sh$([ $QUICK = 1 ] && echo " --quick")$([ "$RUN" = "points $POINTS" ] && echo " --points $POINTS")\`, which ran"
    echo "\`${CMD[*]}\`" | sed "s|$ROOT/||g; s|$TMP/table.md|table.md|; s|--json [^ \`]*|--json $(basename "$JSON")|"
    echo "with \`FERRY=$(echo "$FERRY" | sed "s|$ROOT/||")\`; every figure in \`$(basename "$JSON")\` beside this file."
    echo
    echo "- Per point two boxes (tests/migrate/warmkit.py: two nodes in two zones each, the kbox-disk driver's volumes"
    echo "  sparse files on an XFS pool on a loop device, \`ferry controller\` and one agent per node as processes), one"
    echo "  file:// repository on this machine's disk, the target's Repository ReadOnly with a 1 s backup sync."
    echo "- The application (two copies in the source, \`shop\` moved warm, \`cold\` stop-copy-start): a StatefulSet of one"
    echo "  replica, two ext4 claims of the point's size; its pod fills $FILL % of the data claim with random bytes once,"
    echo "  then every 2 s writes new random bytes over the first \"changed\" % of the volume's size (in that file, fsync)"
    echo "  and appends to the logs claim; HTTP probed at 25 Hz from a node of each box."
    echo "- Warm: \`ferry migrate plan\`, \`start --sync-interval 1 --cutover-bound 120\`, rounds until one Converged,"
    echo "  \`cutover --wait\`. The parts are status.cutover's: quiesce (fence to the source's last pod gone), backup"
    echo "  (the final Backup of the claims in the source; in parentheses its longest volume's read and upload), apply"
    echo "  (the final deltas written onto the target's claims), snapshots to verify (each target claim snapshotted"
    echo "  before the target starts, read whole and compared with the final snapshot after: 0 with --skip-verify),"
    echo "  start (the target scaled up until a pod runs; + ready: until every replica is ready); the report's window"
    echo "  is backup + apply + snapshots to verify + start + ready. Window (probe): the source's last answer to the"
    echo "  target's first."
    echo "- Stop-copy-start: the source scaled to 0, one Backup of the namespace with its volumes, backup sync to the"
    echo "  target, one Restore there with its volumes (the claims given a node as the Migration's seed does), the"
    echo "  StatefulSet scaled to 1; window (probe) as above, and its parts from outside. Ratio: its window over warm's."
    echo
    cat "$TMP/table.md"
} >"$OUT"
cat "$OUT"
exit $RC
