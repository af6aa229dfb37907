#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/cfs-read.sh - what the agent's CFS counters cost per pod at each sample
# (bpf/collector.c cfs_read(): pread() of a cpu.stat kept open, then the parse),
# against opening the file each time. Root: makes PODS pod cgroups with a quota
# in the v1 cpu hierarchy (or under the cgroup v2 mount when it has the cpu
# controller), runs build/tests/bpf/cfs_bench over their cpu.stat, removes them.
# Figures, never a pass/fail gate; say the machine's load with them.
#
#   bench/cfs-read.sh [--bench PATH] [PODS [ROUNDS]]    (100 2000)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/build/tests/bpf/cfs_bench
if [ "${1:-}" = --bench ]; then
    BENCH=$2
    shift 2
fi
PODS=${1:-100}
ROUNDS=${2:-2000}
[ -x "$BENCH" ] || { echo "bench/cfs-read.sh: no $BENCH (ninja -C build tests/bpf/cfs_bench)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "bench/cfs-read.sh: needs root (it makes cgroups)" >&2; exit 2; }
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
if [ -n "$CG2" ] && grep -qw cpu "$CG2/cgroup.controllers" 2>/dev/null; then
    BASE=$CG2/ferry-cfs-bench-$$
    mkdir "$BASE" && echo +cpu >"$CG2/cgroup.subtree_control" && echo +cpu >"$BASE/cgroup.subtree_control"
    quota() { echo "20000 100000" >"$1/cpu.max"; }
else
    CPU1=$(awk '$9 == "cgroup" && $0 ~ /[ ,]cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
    [ -n "$CPU1" ] || { echo "bench/cfs-read.sh: no cpu controller here" >&2; exit 2; }
    BASE=$CPU1/ferry-cfs-bench-$$
    mkdir "$BASE"
    quota() { echo 20000 >"$1/cpu.cfs_quota_us"; }
fi
trap 'find "$BASE" -depth -type d -exec rmdir {} \; 2>/dev/null' EXIT
files=()
for i in $(seq "$PODS"); do
    d=$BASE/pod$i
    mkdir "$d" && quota "$d" || exit 1
    files+=("$d/cpu.stat")
done
echo "# $PODS pods in $BASE; load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
"$BENCH" "$ROUNDS" "${files[@]}"
