#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/bpf-overhead.sh - what the eBPF pod metrics cost (run as root, by hand;
# never a pass/fail gate).
#
#   bench/bpf-overhead.sh [--ferry PATH] [--rounds N] [--seconds S] [--out FILE]
#
# 1. Per event, from the kernel's own accounting: with kernel.bpf_stats_enabled=1
#    (restored on exit) the agent runs while a pipe ping-pong and a loopback
#    TCP transfer generate context switches and packets; run_time_ns/run_cnt of
#    each program gives ns per sched_switch, per wakeup and per packet; an
#    empty sched_switch program attached in the same run shows the floor.
# 2. End to end: a pipe ping-pong (two processes on CPU 0 passing one byte
#    back and forth, two context switches per round trip) for S seconds, without and
#    with the agent, interleaved over N rounds (the machines are noisy); the
#    ratio of round trips per second, median and spread.
# Prints a Markdown table (and writes it to --out).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FERRY=$ROOT/build/control/ferry
ROUNDS=7 SECS=3 OUT=
while [ $# -gt 0 ]; do
    case $1 in
    --ferry) FERRY=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --seconds) SECS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,17p' "$0"; exit 0 ;;
    *) echo "bpf-overhead: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "bpf-overhead: needs root" >&2; exit 1; }
for c in bpftool cc python3; do
    command -v $c >/dev/null || { echo "bpf-overhead: needs $c" >&2; exit 1; }
done

TMP=$(mktemp -d /tmp/ferry-bpf-overhead-XXXXXX)
PORT=$((30000 + $$ % 20000))
PIN=/sys/fs/bpf/ferry-bench-$$
AGENT=
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
cleanup() {
    [ -n "$AGENT" ] && kill "$AGENT" 2>/dev/null && wait "$AGENT" 2>/dev/null
    "$FERRY" agent --cleanup --pin-dir "$PIN" >/dev/null 2>&1
    sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cat >"$TMP/pingpong.c" <<'EOC'
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3, t0, t;
	int a[2], b[2];
	long n = 0;
	char c = 0;
	struct timespec ts;
	cpu_set_t one;
	/* both ends on one CPU: every round trip is two context switches there */
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	if (sched_setaffinity(0, sizeof(one), &one) || pipe(a) || pipe(b))
		return 1;
	pid_t pid = fork();
	if (!pid) {
		close(a[1]);
		close(b[0]);
		while (read(a[0], &c, 1) == 1 && write(b[1], &c, 1) == 1)
			;
		_exit(0);
	}
	close(a[0]);
	close(b[1]);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = ts.tv_sec + ts.tv_nsec / 1e9;
	do {
		for (int i = 0; i < 1000; i++)
			if (write(a[1], &c, 1) != 1 || read(b[0], &c, 1) != 1)
				return 1;
		n += 1000;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		t = ts.tv_sec + ts.tv_nsec / 1e9;
	} while (t - t0 < secs);
	close(a[1]);
	waitpid(pid, NULL, 0);
	printf("%.0f\n", n / (t - t0));
	return 0;
}
EOC
cc -O2 -o "$TMP/pingpong" "$TMP/pingpong.c" || exit 1

agent_start() {
    "$FERRY" agent --metrics-addr "127.0.0.1:$PORT" --pin-dir "$PIN" 2>"$TMP/agent.err" &
    AGENT=$!
    for _ in $(seq 100); do
        curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "bpf-overhead: agent did not start: $(cat "$TMP/agent.err")" >&2
    exit 1
}
agent_stop() {
    kill "$AGENT" 2>/dev/null; wait "$AGENT" 2>/dev/null; AGENT=
    "$FERRY" agent --cleanup --pin-dir "$PIN" >/dev/null 2>&1
}

# An empty tp_btf/sched_switch program, attached beside the agent's during the
# same run: the floor of the measure (dispatch plus bpf_stats' own clock reads).
cat >"$TMP/empty.bpf.c" <<'EOC'
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
char LICENSE[] SEC("license") = "GPL";
SEC("tp_btf/sched_switch")
int BPF_PROG(empty_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return 0;
}
EOC
cat >"$TMP/empty.c" <<'EOC'
#include <bpf/libbpf.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
	struct bpf_object *o = bpf_object__open_file(argv[1], NULL);
	struct bpf_program *p;

	if (!o || bpf_object__load(o))
		return 1;
	bpf_object__for_each_program(p, o)
		if (!bpf_program__attach(p))
			return 1;
	sleep((unsigned int)atoi(argv[2]));
	return 0;
}
EOC
BASE=
if clang -g -O2 -target bpf -I"$ROOT/bpf/vmlinux/x86" -c "$TMP/empty.bpf.c" -o "$TMP/empty.bpf.o" 2>/dev/null &&
    cc -O2 -o "$TMP/empty" "$TMP/empty.c" -lbpf 2>/dev/null; then
    BASE=$TMP/empty
fi

# ---- 1. ns per event
sysctl -qw kernel.bpf_stats_enabled=1
agent_start
BASE_PID=
[ -n "$BASE" ] && { "$BASE" "$TMP/empty.bpf.o" $((3 * ${SECS%.*} + 5)) & BASE_PID=$!; sleep 0.5; }
"$TMP/pingpong" "$SECS" >/dev/null
python3 - "$SECS" <<'EOP'
import socket, sys, threading, time
secs = float(sys.argv[1])
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
def sink():
    c, _ = ls.accept()
    while c.recv(1 << 16):
        pass
t = threading.Thread(target=sink); t.start()
s = socket.create_connection(ls.getsockname()); buf = b"x" * 1448
end = time.time() + secs
while time.time() < end:
    s.send(buf)
s.close(); t.join()
EOP
bpftool prog show -j >"$TMP/progs.json"
[ -n "$BASE_PID" ] && kill "$BASE_PID" 2>/dev/null
agent_stop
sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
python3 - "$TMP/progs.json" >"$TMP/per-event.md" <<'EOP'
import json, sys
progs = [p for p in json.load(open(sys.argv[1]))
         if p.get("name", "").startswith("podstat_") or p.get("name") == "empty_switch"]
print("| program | events | ns per event |")
print("|---|---:|---:|")
for p in sorted(progs, key=lambda p: p["name"]):
    cnt, ns = p.get("run_cnt", 0), p.get("run_time_ns", 0)
    print("| %s | %d | %.0f |" % (p["name"], cnt, ns / cnt if cnt else 0))
EOP

# ---- 2. pipe ping-pong, interleaved
: >"$TMP/rounds"
if [ "$ROUNDS" = 0 ]; then
    cat "$TMP/per-event.md"
    exit 0
fi
for ((r = 1; r <= ROUNDS; r++)); do
    off=$("$TMP/pingpong" "$SECS")
    agent_start
    on=$("$TMP/pingpong" "$SECS")
    agent_stop
    echo "$off $on" >>"$TMP/rounds"
    echo "round $r: without $off/s, with $on/s" >&2
done
python3 - "$TMP/rounds" "$SECS" >"$TMP/pingpong.md" <<'EOP'
import statistics, sys
rows = [tuple(map(float, l.split())) for l in open(sys.argv[1])]
ratios = sorted(on / off for off, on in rows)
offs = [r[0] for r in rows]; ons = [r[1] for r in rows]
print("| pipe ping-pong (%s s, %d interleaved rounds) | value |" % (sys.argv[2], len(rows)))
print("|---|---:|")
print("| round trips/s without the agent, median | %.0f |" % statistics.median(offs))
print("| round trips/s with the agent, median | %.0f |" % statistics.median(ons))
print("| ratio with/without, median | %.3f |" % statistics.median(ratios))
print("| ratio, min .. max | %.3f .. %.3f |" % (ratios[0], ratios[-1]))
EOP
{
    echo "## eBPF overhead ($(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%d))"
    echo
    cat "$TMP/per-event.md"
    echo
    cat "$TMP/pingpong.md"
} | tee ${OUT:+"$OUT"}
