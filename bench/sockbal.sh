#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/sockbal.sh - what the socket load balancer costs (run as root, by hand;
# never a pass/fail gate). Uses the test driver, build/tests/bpf/t_sockbal_drive.
#
#   bench/sockbal.sh [--drive PATH] [--rounds N] [--connects N] [--out FILE]
#
# 1. Per connect(), from the kernel's own accounting: with
#    kernel.bpf_stats_enabled=1 (restored on exit) the balancer's connect4
#    program and an empty cgroup/connect4 program attached beside it at the
#    same cgroup in the same run (the floor: dispatch plus bpf_stats' clock
#    reads) see the same connects; run_time_ns / run_cnt of each.
# 2. The same connections three ways, interleaved over N rounds: to a backend
#    directly (no balancing at all), to the Service through the balancer, and
#    to the Service through kube-proxy's iptables rules (nat OUTPUT ->
#    KUBE-SERVICES -> KUBE-SVC (statistic random) -> KUBE-SEP DNAT, so every
#    packet is translated and conntrack tracks it); connect() latency (socket
#    to handshake done) p50/p99 and exchanges per second (connect, read the
#    backend's answer, close). The rules stay installed in every round, as on
#    a node where kube-proxy runs beside the balancer.
# 3. Table build time (median of 9) and bytes for 10, 100, 1000 backends, and
#    the kernel's memory for one generation (the map's memlock).
# Client and backends live in two network namespaces made here (veth), the
# client in a cgroup made here. Prints Markdown (and writes it to --out).
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DRIVE=$ROOT/build/tests/bpf/t_sockbal_drive
ROUNDS=5 CONNECTS=5000 OUT=
while [ $# -gt 0 ]; do
    case $1 in
    --drive) DRIVE=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    --connects) CONNECTS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,24p' "$0"; exit 0 ;;
    *) echo "sockbal.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "sockbal.sh: needs root" >&2; exit 1; }
for c in bpftool ip iptables python3; do
    command -v $c >/dev/null || { echo "sockbal.sh: needs $c" >&2; exit 1; }
done
[ -x "$DRIVE" ] || { echo "sockbal.sh: no $DRIVE (ninja -C build)" >&2; exit 1; }

TMP=$(mktemp -d /tmp/ferry-sockbal-bench-XXXXXX)
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CG=$CG2/ferry-sockbal-bench-$$
PIN=/sys/fs/bpf/ferry-sockbal-bench-$$
NS_C=ferry-sbbc-$$ NS_B=ferry-sbbb-$$
VIP=10.96.0.10
OLD_STATS=$(sysctl -n kernel.bpf_stats_enabled)
PIDS=()
cleanup() {
    local p
    sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
    "$DRIVE" detach "$PIN" >/dev/null 2>&1
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    [ -d "$CG" ] && { echo 1 >"$CG/cgroup.kill"; sleep 0.2; rmdir "$CG"; } 2>/dev/null
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mkdir "$CG" || exit 1

# the network: as tests/bpf/sockbal_lib.sh, with the service CIDR routed
# through the backend namespace (kube-proxy's rules need a route to translate)
ip netns add "$NS_C" && ip netns add "$NS_B" || exit 1
ip link add "sbbc$$" type veth peer name "sbbb$$" || exit 1
ip link set "sbbc$$" netns "$NS_C" && ip link set "sbbb$$" netns "$NS_B"
ip -n "$NS_C" link set lo up && ip -n "$NS_C" link set "sbbc$$" up
ip -n "$NS_C" addr add 10.200.0.1/24 dev "sbbc$$"
ip -n "$NS_B" link set lo up && ip -n "$NS_B" link set "sbbb$$" up
ip -n "$NS_B" addr add 10.200.0.2/24 dev "sbbb$$"
for i in 1 2 3; do ip -n "$NS_B" addr add "10.200.1.$i/32" dev lo; done
ip -n "$NS_C" route add 10.200.1.0/24 via 10.200.0.2
ip -n "$NS_C" route add 10.96.0.0/16 via 10.200.0.2
ip netns exec "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
ipt() { ip netns exec "$NS_C" iptables -w -t nat "$@"; }
ipt -N KUBE-SERVICES
ipt -A OUTPUT -j KUBE-SERVICES
ipt -N KUBE-SVC-BENCH
ipt -A KUBE-SERVICES -d $VIP/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-BENCH
for i in 1 2 3; do ipt -N KUBE-SEP-BENCH$i; ipt -A KUBE-SEP-BENCH$i -p tcp -m tcp -j DNAT --to-destination 10.200.1.$i:8080; done
ipt -A KUBE-SVC-BENCH -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-BENCH1
ipt -A KUBE-SVC-BENCH -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BENCH2
ipt -A KUBE-SVC-BENCH -j KUBE-SEP-BENCH3

ip netns exec "$NS_B" "$DRIVE" serve 8080 10.200.1.1 10.200.1.2 10.200.1.3 >"$TMP/serve" 2>&1 &
PIDS+=($!)
sleep 0.5
client() { sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CG" "$DRIVE" "$@"; }
attach() {
    "$DRIVE" attach "$CG" "$PIN" connect,peer >/dev/null 2>"$TMP/attach.err" || { cat "$TMP/attach.err" >&2; exit 1; }
    "$DRIVE" set "$CG" "$PIN" $VIP 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1 || exit 1
}
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# ---- 1. ns per connect(), against an empty program in the same run
attach
"$DRIVE" empty "$CG" 3600 >"$TMP/empty" &
EMPTY=$!
PIDS+=($EMPTY)
for _ in $(seq 50); do grep -q attached "$TMP/empty" && break; sleep 0.1; done
sysctl -qw kernel.bpf_stats_enabled=1
client connect "/var/run/netns/$NS_C" $VIP 80 "$CONNECTS" tcp >"$TMP/stats.conn"
bpftool prog show -j >"$TMP/progs.json"
sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
kill "$EMPTY" 2>/dev/null
python3 - "$TMP/progs.json" >"$TMP/per-connect.md" <<'EOP'
import json, sys
progs = [p for p in json.load(open(sys.argv[1]))
         if p.get("name") in ("sockbal_connect4", "empty_connect4") and p.get("run_cnt")]
print("| program | connects seen | ns per connect() |")
print("|---|---:|---:|")
for p in sorted(progs, key=lambda p: p["name"]):
    cnt, ns = p.get("run_cnt", 0), p.get("run_time_ns", 0)
    print("| %s | %d | %.0f |" % (p["name"], cnt, ns / cnt if cnt else 0))
EOP
"$DRIVE" detach "$PIN" >/dev/null

# ---- 2. direct, balancer, kube-proxy: interleaved rounds
: >"$TMP/rounds"
for ((r = 1; r <= ROUNDS; r++)); do
    client connect "/var/run/netns/$NS_C" 10.200.1.2 8080 "$CONNECTS" tcp >"$TMP/direct"
    attach
    client connect "/var/run/netns/$NS_C" $VIP 80 "$CONNECTS" tcp >"$TMP/bpf"
    "$DRIVE" detach "$PIN" >/dev/null
    client connect "/var/run/netns/$NS_C" $VIP 80 "$CONNECTS" tcp >"$TMP/kp"
    for w in direct bpf kp; do
        [ "$(val "$TMP/$w" total)" = "$CONNECTS" ] && ! grep -q '^error' "$TMP/$w" ||
            { echo "sockbal.sh: round $r, $w: $(tr '\n' ' ' <"$TMP/$w")" >&2; exit 1; }
        echo "$r $w $(val "$TMP/$w" connect_us_p50) $(val "$TMP/$w" connect_us_p99) $(val "$TMP/$w" exchanges_per_s)" >>"$TMP/rounds"
    done
    echo "round $r: $(grep "^$r " "$TMP/rounds" | cut -d' ' -f2- | tr '\n' ';')" >&2
done
python3 - "$TMP/rounds" "$CONNECTS" >"$TMP/paths.md" <<'EOP'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
by = {}
for r, w, p50, p99, rate in rows:
    by.setdefault(w, []).append((float(p50), float(p99), float(rate)))
names = {"direct": "a backend directly (no balancing)", "bpf": "Service, socket load balancer",
         "kp": "Service, kube-proxy iptables DNAT + conntrack"}
print("| path (%s connects per round, %d rounds, medians) | connect() p50 µs | connect() p99 µs | exchanges/s |" % (sys.argv[2], len(by["bpf"])))
print("|---|---:|---:|---:|")
for w in ("direct", "bpf", "kp"):
    v = by[w]
    print("| %s | %.1f | %.1f | %.0f |" % (names[w], statistics.median(x[0] for x in v),
          statistics.median(x[1] for x in v), statistics.median(x[2] for x in v)))
rounds = sorted({r for r, *_ in rows})
ratio = lambda a, b, i: statistics.median([dict((w, (float(p50), float(p99), float(rt))) for rr, w, p50, p99, rt in rows if rr == r)[a][i] /
                                            dict((w, (float(p50), float(p99), float(rt))) for rr, w, p50, p99, rt in rows if rr == r)[b][i] for r in rounds])
print()
print("kube-proxy / balancer, paired by round (medians): connect p50 %.2fx, p99 %.2fx; exchanges/s %.2fx" %
      (ratio("kp", "bpf", 0), ratio("kp", "bpf", 1), ratio("kp", "bpf", 2)))
EOP

# ---- 3. tables
{
    echo "| backends | table | m | build ms (median of 9) | generation bytes (rows) | kernel memlock of the generation |"
    echo "|---:|---|---:|---:|---:|---:|"
    for n in 10 100 1000; do
        "$DRIVE" build $n 9 >"$TMP/build.$n"
        "$DRIVE" genmem "$CG" "$PIN" $n >"$TMP/genmem.$n" 2>/dev/null
        for kind in random affinity; do
            read -r m ms bytes <<<"$(awk -v k=$kind '$2 == k { print $6, $8, $10 }' "$TMP/build.$n")"
            mem=$(awk -v k=$kind '$2 == k { print $8 }' "$TMP/genmem.$n")
            echo "| $n | $kind | $m | $ms | $bytes | $mem |"
        done
    done
} >"$TMP/tables.md"
"$DRIVE" detach "$PIN" >/dev/null 2>&1

{
    echo "## Socket load balancer ($(uname -r), $(nproc) CPUs, $(date -u +%Y-%m-%d), load average $(cut -d' ' -f1-3 /proc/loadavg))"
    echo
    cat "$TMP/per-connect.md"
    echo
    cat "$TMP/paths.md"
    echo
    cat "$TMP/tables.md"
} | tee ${OUT:+"$OUT"}
