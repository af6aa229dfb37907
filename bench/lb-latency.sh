#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/lb-latency.sh - request latency behind each balancer with one of three
# backends degraded (issue 23, "Measured"); root, by hand, never a pass/fail gate.
#
#   bench/lb-latency.sh [--quick] [--cell S] [--period S] [--out FILE]
#
# Three HTTP/1.1 backends (build/bench/lb/lb_bench serve: one thread, BURN_US of
# its own CPU per request), each in a cgroup of its own capped at CAP CPU
# (quota per 10 ms period); B1 and B2 pinned to CPU 0, B3 to CPU 1 (taskset),
# so a burner pinned to CPU 1 touches B3 only. Client, proxies and the weights
# loop are not pinned and run in cgroups of weight 10x a backend's, so the
# measuring side is not what the burner slows. One backend (B3) degraded, two
# cases: own-limit (its quota 0.3 CPU per 100 ms, a burner inside its cgroup)
# and neighbour (a burner outside it, on CPU 1, in a cgroup of weight 2.5x a
# backend's: a 1-CPU pod beside a 400m one, as the kubelet weighs them).
#
# Balancers, each cell (case, load, client mode) running all of them in a
# rotated order on the same request schedule:
#   kube-proxy   iptables nat rules as kube-proxy writes them (statistic random)
#   equal        ferry's socket balancer, equal weights (the control)
#   weights      ferry's socket balancer, weights from lb_weights() (control/lb)
#                over each backend cgroup's CPU, CFS throttling and its tasks'
#                run-queue wait (schedstat), every PERIOD s; the loop runs only
#                during its own cells (its inputs are its own traffic)
#   nginx        `random two least_conn` (an L7 proxy, per request)
#   haproxy      `balance leastconn`
# Open-loop load (lb_bench load: a Poisson schedule fixed in advance, latency
# from each request's scheduled time) at 50 % and 80 % of the healthy capacity
# measured first (closed loop, keep-alive, straight to the backends), one
# connection per request and keep-alive (a pool of KA_CONNS connections opened
# at the start). Prints Markdown (and writes it to --out); the weights loop's
# publications go to FILE.weights.log beside it.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
LBB=$ROOT/build/bench/lb/lb_bench
DRIVE=$ROOT/build/tests/bpf/t_sockbal_drive
CELL=10 WARM=2 PERIOD=5 WWARM=15 CAPS=3 OUT= QUICK=0
BURN_US=1000 CAP=0.4 KA_CONNS=32 TIMEOUT=2
while [ $# -gt 0 ]; do
    case $1 in
    --quick) QUICK=1; CELL=2.5; WARM=0.5; PERIOD=1; WWARM=4; CAPS=2; shift ;;
    --cell) CELL=$2; shift 2 ;;
    --period) PERIOD=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,32p' "$0"; exit 0 ;;
    *) echo "lb-latency.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" = 0 ] || { echo "lb-latency.sh: needs root" >&2; exit 1; }
for c in ip iptables taskset python3; do
    command -v $c >/dev/null || { echo "lb-latency.sh: needs $c" >&2; exit 1; }
done
[ -x "$LBB" ] && [ -x "$DRIVE" ] || { echo "lb-latency.sh: no $LBB or $DRIVE (ninja -C build)" >&2; exit 1; }
# bench-only packages: the two L7 proxies (Debian: apt-get install nginx haproxy)
BALS="kube-proxy equal weights"
NOTES=()
for p in nginx haproxy; do
    if command -v $p >/dev/null || [ -x /usr/sbin/$p ]; then
        BALS="$BALS $p"
    else
        NOTES+=("$p is not installed (apt-get install $p): its rows are left out")
        echo "lb-latency.sh: $p is not installed (apt-get install $p); going on without it" >&2
    fi
done
[ "$(nproc)" -ge 2 ] || { echo "lb-latency.sh: needs 2 CPUs (B3 alone on CPU 1)" >&2; exit 1; }

# IPVS: not in these kernels; say what was found
if command -v modprobe >/dev/null && modprobe ip_vs 2>/dev/null; then
    IPVS="modprobe ip_vs: loaded (IPVS exists here, but is not measured by this bench)"
elif [ -e /proc/net/ip_vs ] || [ -d /sys/module/ip_vs ]; then
    IPVS="ip_vs is built in here (not measured by this bench)"
else
    why="no modprobe"
    command -v modprobe >/dev/null && why="modprobe ip_vs failed"
    cfg=$(zcat /proc/config.gz 2>/dev/null | grep -E '^(# )?CONFIG_IP_VS[ =]' || true)
    IPVS="IPVS is not in this kernel ($why; no /proc/net/ip_vs; /proc/config.gz: ${cfg:-no CONFIG_IP_VS line}): kube-proxy's ipvs mode cannot run here"
fi

TMP=$(mktemp -d /tmp/ferry-lblat-XXXXXX)
CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
CPU1=$(awk '$9 == "cgroup" && $NF ~ /(^|,)cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
REL=ferry-lblat-$$
PIN=/sys/fs/bpf/ferry-lblat-$$
NS_C=ferry-lblc-$$ NS_B=ferry-lblb-$$
VIP_EQ=10.96.0.10 VIP_W=10.96.0.11 VIP_KP=10.96.0.12
PIDS=()
WEIGH=
cleanup() {
    local p d
    [ -n "$WEIGH" ] && kill "$WEIGH" 2>/dev/null
    "$DRIVE" detach "$PIN" >/dev/null 2>&1
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    [ -f "$TMP/nginx.pid" ] && kill "$(cat "$TMP/nginx.pid")" 2>/dev/null
    if [ -d "$CG2/$REL" ]; then
        for d in "$CG2/$REL"/*/; do echo 1 >"$d/cgroup.kill" 2>/dev/null; done
        sleep 0.3
        for d in "$CG2/$REL"/*/ "$CG2/$REL"; do rmdir "$d" 2>/dev/null; done
    fi
    if [ -n "$CPU1" ] && [ -d "$CPU1/$REL" ]; then
        for d in "$CPU1/$REL"/*/ "$CPU1/$REL"; do rmdir "$d" 2>/dev/null; done
    fi
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
    rm -rf "$TMP" "$PIN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf

# ---- cgroups: v2 (the balancer attaches there; cpu.max and cpu.weight where
# its cpu controller is enabled), else the v1 cpu hierarchy for quota and shares
V2CPU=0
grep -qw cpu "$CG2/cgroup.controllers" 2>/dev/null && V2CPU=1
[ $V2CPU = 1 ] || [ -n "$CPU1" ] || { echo "lb-latency.sh: no cpu controller (v2 or v1)" >&2; exit 1; }
mkdir "$CG2/$REL" || exit 1
if [ $V2CPU = 1 ]; then
    echo +cpu >"$CG2/cgroup.subtree_control" 2>/dev/null
    echo +cpu >"$CG2/$REL/cgroup.subtree_control" || exit 1
else
    mkdir "$CPU1/$REL" || exit 1
fi
for g in client proxy b1 b2 b3 nb; do
    mkdir "$CG2/$REL/$g" || exit 1
    [ $V2CPU = 1 ] || mkdir "$CPU1/$REL/$g" || exit 1
done
# cg_quota G QUOTA_US PERIOD_US ("max": none)
cg_quota() {
    if [ $V2CPU = 1 ]; then
        echo "$2 $3" >"$CG2/$REL/$1/cpu.max"
    else
        echo "$3" >"$CPU1/$REL/$1/cpu.cfs_period_us"
        echo "$([ "$2" = max ] && echo -1 || echo "$2")" >"$CPU1/$REL/$1/cpu.cfs_quota_us"
    fi
}
# cg_weight G WEIGHT (v2 cpu.weight; v1 shares = weight x 1024 / 100)
cg_weight() {
    if [ $V2CPU = 1 ]; then echo "$2" >"$CG2/$REL/$1/cpu.weight"
    else echo $(($2 * 1024 / 100)) >"$CPU1/$REL/$1/cpu.shares"; fi
}
# in_cg G CMD...: CMD in cgroup G (both hierarchies); run with & it replaces
# the subshell, so that $! is CMD's pid
in_cg() {
    local g=$1 ex=
    shift
    [ "$BASHPID" != $$ ] && ex=exec
    $ex sh -c 'echo $$ >"$0/cgroup.procs" && { [ -z "$1" ] || echo $$ >"$1/cgroup.procs"; } && shift && exec "$@"' \
        "$CG2/$REL/$g" "$([ $V2CPU = 1 ] || echo "$CPU1/$REL/$g")" "$@"
}
QUOTA_US=$(python3 -c "print(int($CAP * 10000))")
for g in b1 b2 b3; do cg_quota $g "$QUOTA_US" 10000; done
cg_weight client 1000
cg_weight proxy 1000
cg_weight nb 250

# ---- the network (as bench/sockbal.sh)
ip netns add "$NS_C" && ip netns add "$NS_B" || exit 1
ip link add "lblc$$" type veth peer name "lblb$$" || exit 1
ip link set "lblc$$" netns "$NS_C" && ip link set "lblb$$" netns "$NS_B"
ip -n "$NS_C" link set lo up && ip -n "$NS_C" link set "lblc$$" up
ip -n "$NS_C" addr add 10.200.0.1/24 dev "lblc$$"
ip -n "$NS_B" link set lo up && ip -n "$NS_B" link set "lblb$$" up
ip -n "$NS_B" addr add 10.200.0.2/24 dev "lblb$$"
for i in 1 2 3; do ip -n "$NS_B" addr add "10.200.1.$i/32" dev lo; done
ip -n "$NS_C" route add 10.200.1.0/24 via 10.200.0.2
ip -n "$NS_C" route add 10.96.0.0/16 via 10.200.0.2
for ns in "$NS_C" "$NS_B"; do
    ip netns exec "$ns" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
    ip netns exec "$ns" sysctl -qw net.ipv4.tcp_tw_reuse=1
    ip netns exec "$ns" sysctl -qw net.core.somaxconn=4096
done
ipt() { ip netns exec "$NS_C" iptables -w -t nat "$@"; }
ipt -N KUBE-SERVICES
ipt -A OUTPUT -j KUBE-SERVICES
ipt -N KUBE-SVC-BENCH
ipt -A KUBE-SERVICES -d $VIP_KP/32 -p tcp -m tcp --dport 80 -j KUBE-SVC-BENCH
for i in 1 2 3; do ipt -N KUBE-SEP-BENCH$i; ipt -A KUBE-SEP-BENCH$i -p tcp -m tcp -j DNAT --to-destination 10.200.1.$i:8080; done
ipt -A KUBE-SVC-BENCH -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-BENCH1
ipt -A KUBE-SVC-BENCH -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-BENCH2
ipt -A KUBE-SVC-BENCH -j KUBE-SEP-BENCH3

# ---- backends: B1, B2 on CPU 0, B3 on CPU 1
for i in 1 2 3; do
    cpu=$([ $i = 3 ] && echo 1 || echo 0)
    in_cg b$i ip netns exec "$NS_B" taskset -c $cpu "$LBB" serve 10.200.1.$i 8080 $BURN_US b$i >"$TMP/serve$i" 2>&1 &
    PIDS+=($!)
done

# ---- the proxies, in the client namespace
if [[ " $BALS " == *" nginx "* ]]; then
    mkdir -p "$TMP/nginx"
    cat >"$TMP/nginx.conf" <<EOF
worker_processes 1;
daemon off;
user root;
pid $TMP/nginx.pid;
error_log $TMP/nginx.err warn;
events { worker_connections 20000; }
http {
    access_log off;
    client_body_temp_path $TMP/nginx; proxy_temp_path $TMP/nginx;
    fastcgi_temp_path $TMP/nginx; uwsgi_temp_path $TMP/nginx; scgi_temp_path $TMP/nginx;
    upstream be {
        zone be 64k;
        random two least_conn;
        server 10.200.1.1:8080 max_fails=0;
        server 10.200.1.2:8080 max_fails=0;
        server 10.200.1.3:8080 max_fails=0;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:8081 backlog=4096;
        keepalive_requests 10000000;
        keepalive_timeout 600s;
        location / {
            proxy_pass http://be;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_next_upstream off;
            proxy_read_timeout 60s;
        }
    }
}
EOF
    in_cg proxy ip netns exec "$NS_C" nginx -c "$TMP/nginx.conf" -e "$TMP/nginx.err" >"$TMP/nginx.out" 2>&1 &
    PIDS+=($!)
fi
if [[ " $BALS " == *" haproxy "* ]]; then
    cat >"$TMP/haproxy.cfg" <<EOF
global
    maxconn 9000
    nbthread 1
defaults
    mode http
    timeout connect 5s
    timeout client 600s
    timeout server 60s
    option abortonclose
    http-reuse always
frontend fe
    bind 127.0.0.1:8082
    default_backend be
backend be
    balance leastconn
    server b1 10.200.1.1:8080
    server b2 10.200.1.2:8080
    server b3 10.200.1.3:8080
EOF
    in_cg proxy ip netns exec "$NS_C" haproxy -db -f "$TMP/haproxy.cfg" >"$TMP/haproxy.out" 2>&1 &
    PIDS+=($!)
fi

# ---- the socket balancer on the client cgroup: VIP_EQ equal, VIP_W the loop's
"$DRIVE" attach "$CG2/$REL/client" "$PIN" connect,peer >/dev/null 2>"$TMP/attach.err" ||
    { cat "$TMP/attach.err" >&2; exit 1; }
"$DRIVE" set "$CG2/$REL/client" "$PIN" $VIP_EQ 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1 || exit 1
sleep 1
for i in 1 2 3; do grep -q serving "$TMP/serve$i" || { echo "lb-latency.sh: backend $i: $(cat "$TMP/serve$i")" >&2; exit 1; }; done

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
val() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }
echo "lb-latency.sh: load average at the start $LOAD_START" >&2

# ---- healthy capacity (closed loop, 4 keep-alive connections per backend, direct)
in_cg client "$LBB" capacity "/var/run/netns/$NS_C" $CAPS 4 10.200.1.1:8080 10.200.1.2:8080 10.200.1.3:8080 >"$TMP/cap" ||
    { echo "lb-latency.sh: capacity failed" >&2; exit 1; }
CAPACITY=$(val "$TMP/cap" rps_total)
echo "lb-latency.sh: healthy capacity $CAPACITY requests/s ($(grep '^rps ' "$TMP/cap" | awk '{print $3}' | tr '\n' ' '))" >&2

# target BAL -> host port
target() {
    case $1 in
    kube-proxy) echo "$VIP_KP 80" ;;
    equal) echo "$VIP_EQ 80" ;;
    weights) echo "$VIP_W 80" ;;
    nginx) echo "127.0.0.1 8081" ;;
    haproxy) echo "127.0.0.1 8082" ;;
    esac
}
# weights as the loop last set them
cur_weights() { tail -n 1 "$TMP/weigh.$1" | grep -o 'w=[0-9]*' | cut -d= -f2 | paste -sd/; }

: >"$TMP/rows"
: >"$TMP/weights.log"
BURNER=
seed=1
ncell=0
for case in own-limit neighbour; do
    # degrade B3
    if [ $case = own-limit ]; then
        cg_quota b3 30000 100000
        in_cg b3 taskset -c 1 "$LBB" burn &
        BURNER=$!
        b3spec="$REL/b3,10.200.1.3,8080,0.3,0.3"
    else
        in_cg nb taskset -c 1 "$LBB" burn &
        BURNER=$!
        b3spec="$REL/b3,10.200.1.3,8080,$CAP,$CAP"
    fi
    PIDS+=($BURNER)
    in_cg proxy "$LBB" weigh "$CG2/$REL/client" "$PIN" $VIP_W 80 "$PERIOD" \
        "$REL/b1,10.200.1.1,8080,$CAP,$CAP" "$REL/b2,10.200.1.2,8080,$CAP,$CAP" "$b3spec" >"$TMP/weigh.$case" 2>&1 &
    WEIGH=$!
    for _ in $(seq 50); do grep -q '^ready' "$TMP/weigh.$case" && break; sleep 0.1; done
    grep -q '^ready' "$TMP/weigh.$case" || { echo "lb-latency.sh: weigh: $(cat "$TMP/weigh.$case")" >&2; exit 1; }
    # the loop's first publications, from equal weights, under its own traffic
    kill -USR1 $WEIGH
    in_cg client "$LBB" load "/var/run/netns/$NS_C" $VIP_W 80 "$(python3 -c "print($CAPACITY * 0.5)")" 0 "$WWARM" close 1 $TIMEOUT 999 >/dev/null
    kill -USR2 $WEIGH
    echo "lb-latency.sh: $case: weights after the warm-up $(cur_weights $case)" >&2
    for pct in 50 80; do
        rate=$(python3 -c "print(round($CAPACITY * $pct / 100, 1))")
        for mode in close keepalive; do
            seed=$((seed + 1))
            read -ra order <<<"$BALS"
            nb=${#order[@]}
            rot=$((ncell % nb))
            order=("${order[@]:$rot}" "${order[@]:0:$rot}")
            ncell=$((ncell + 1))
            for bal in "${order[@]}"; do
                read -r host port <<<"$(target $bal)"
                [ $bal = weights ] && kill -USR1 $WEIGH
                in_cg client "$LBB" load "/var/run/netns/$NS_C" "$host" "$port" "$rate" "$WARM" "$CELL" $mode $KA_CONNS $TIMEOUT $seed >"$TMP/cell" 2>"$TMP/cell.err" ||
                    { echo "lb-latency.sh: $case $pct $mode $bal: $(cat "$TMP/cell.err")" >&2; }
                w=-
                if [ $bal = weights ]; then
                    kill -USR2 $WEIGH
                    w=$(cur_weights $case)
                elif [ $bal = equal ]; then
                    w=1/1/1
                fi
                ok=$(val "$TMP/cell" ok)
                errs=$(( $(val "$TMP/cell" scheduled) - ${ok:-0} ))
                b3=$(awk '$1 == "backend" && $2 == "b3" { print $3 }' "$TMP/cell")
                cb3=$(awk '$1 == "conns" && $2 == "b3" { print $3 }' "$TMP/cell")
                [ $mode = keepalive ] && cb3=${cb3:-0}
                ekind=$(awk '$1 ~ /^err_/ && $2 > 0 { sub(/^err_/, "", $1); printf "%s%s %s", sep, $2, $1; sep = ", " }' "$TMP/cell")
                [ "$errs" -gt 0 ] && errs="$errs (${ekind:-?})"
                printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$case" "$pct" "$mode" "$bal" \
                    "$(val "$TMP/cell" scheduled)" "$errs" "$(val "$TMP/cell" p50_ms)" "$(val "$TMP/cell" p99_ms)" \
                    "$(val "$TMP/cell" p999_ms)" "${b3:-0}" "${cb3:--}" "$w" "$rate" "$(val "$TMP/cell" send_late_max_ms)" >>"$TMP/rows"
                echo "lb-latency.sh: $case $pct% $mode $bal: p50 $(val "$TMP/cell" p50_ms) p99 $(val "$TMP/cell" p99_ms) p99.9 $(val "$TMP/cell" p999_ms) errors $errs b3 ${b3:-0} w $w" >&2
                sleep 0.2
            done
        done
    done
    kill $WEIGH; wait $WEIGH 2>/dev/null
    WEIGH=
    { echo "# $case"; cat "$TMP/weigh.$case"; } >>"$TMP/weights.log"
    kill $BURNER; wait $BURNER 2>/dev/null
    cg_quota b3 "$QUOTA_US" 10000
    sleep 1
done

# ---- controller and agent cost per 1000 backends
"$LBB" cost 1000 $([ $QUICK = 1 ] && echo 51 || echo 201) >"$TMP/cost"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
T_END=$(date +%s)

MODEL=$(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)
{
    echo "## Request latency behind each balancer, one backend of three degraded"
    echo
    echo "$(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo ?)," \
        "$(uname -r), $(nproc) vCPUs ($MODEL), $([ $QUICK = 1 ] && echo "--quick" || echo "full run"), $((T_END - T_START)) s."
    echo "Load average (1/5/15 min) at the start $LOAD_START, at the end $LOAD_END (other engineers' builds and tests share the machine)."
    echo
    echo "- Backends: one-thread HTTP/1.1 servers burning $BURN_US µs of CPU per request, each in its own cgroup capped at $CAP CPU" \
        "($QUOTA_US µs per 10 ms period; cgroup $([ $V2CPU = 1 ] && echo "v2 cpu.max" || echo "v1 cpu.cfs_quota_us: this machine's cpu controller is on v1"));" \
        "B1 and B2 pinned to CPU 0, B3 to CPU 1 (taskset). Client, proxies and the weights loop unpinned, cgroup weight 1000 against the backends' 100."
    echo "- Healthy capacity (closed loop, 4 keep-alive connections per backend, straight to them, $CAPS s): $CAPACITY requests/s" \
        "($(grep '^rps ' "$TMP/cap" | awk '{printf "%s%s", sep, $3; sep=" / "}')). 50 % and 80 % of it are the two loads."
    echo "- Degraded B3: own-limit = its quota 0.3 CPU per 100 ms (a 300m limit) with a busy loop inside its cgroup on its CPU;" \
        "neighbour = a busy loop outside it on CPU 1, in a cgroup of weight 250 (B3's is 100)."
    echo "- Load: open loop, Poisson schedule fixed by seed (the same schedule for every balancer of a row), latency from the scheduled send time;" \
        "$WARM s warm-up then $CELL s counted per cell; timeout $TIMEOUT s; an error (timeout, refused, non-2xx) counts as infinitely slow (\"inf\")." \
        "close = a new connection per request; keepalive = $KA_CONNS connections opened at the cell's start, each request on the connection idle longest."
    echo "- weights: lb_weights() (control/lb, the default policy: CPU against requests, run-queue wait, floor 0.05, hysteresis 0.10) every $PERIOD s" \
        "$([ "$PERIOD" != 5 ] && echo "(the controller publishes every 5 s; faster here to fit the run)")," \
        "from cpu.stat usage and throttled time and the mean run-queue wait per time slice of the backend's tasks (/proc/TID/schedstat; the agent measures a p99 with BPF)," \
        "running only during its own cells; it starts each case from equal weights after a $WWARM s warm-up at 50 % on its own Service."
    echo "- IPVS: $IPVS."
    for n in "${NOTES[@]}"; do echo "- $n"; done
    echo
    python3 - "$TMP/rows" <<'EOP'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
def num(s):
    try:
        return float(s)
    except ValueError:
        return float("inf")
print("| case | load | client | balancer | requests | errors | p50 ms | p99 ms | p99.9 ms | B3's share | B3's conns | weights B1/B2/B3 |")
print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
for c, pct, mode, bal, n, err, p50, p99, p999, b3, cb3, w, rate, late in rows:
    ok = int(n) - int(err.split()[0])
    share = "%.3f" % (int(b3) / ok) if ok else "-"
    print("| %s | %s %% (%s/s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
        c, pct, rate, mode, bal, n, err, p50, p99, p999, share, cb3, w))
print()
print("Ratios of p99 in the same row (same schedule, same minute): ferry with load-aware weights over each other balancer.")
print("Below 1: ferry's weights lower; the goal against kube-proxy is at most 0.5. \"inf\" p99: over 1 % of the requests failed.")
print()
print("| case | load | client | weights / kube-proxy | weights / equal (control) | weights / nginx | weights / haproxy |")
print("|---|---|---|---:|---:|---:|---:|")
cells = {}
for c, pct, mode, bal, n, err, p50, p99, p999, *_ in rows:
    cells.setdefault((c, pct, mode), {})[bal] = num(p99)
def ratio(a, b):
    if a == float("inf") and b == float("inf"):
        return "both inf"
    if a == float("inf"):
        return "inf (weights failed)"
    if b == float("inf"):
        return "0 (other failed)"
    return "%.2f" % (a / b)
for (c, pct, mode), d in cells.items():
    w = d.get("weights")
    print("| %s | %s %% | %s | %s |" % (c, pct, mode, " | ".join(
        ratio(w, d[o]) if o in d else "-" for o in ("kube-proxy", "equal", "nginx", "haproxy"))))
EOP
    echo
    echo "### Controller and agent cost per 1000 backends"
    echo
    awk '$1 == "weights" { printf "- lb_weights() over %s backends (the controller, each publication): median %s µs, p90 %s µs of %s calls (%s ns a backend).\n", $3, $7, $9, $5, $11 }
         $1 == "maglev" { printf "- ebpf_maglev_build() of %s weighted backends, %s table (the agent, each change): m = %s slots, median %s ms of 9.\n", $4, $2, $6, $8 }' "$TMP/cost"
    echo
    echo "### The weights loop's publications"
    echo
    echo '```'
    grep -v '^ready' "$TMP/weights.log" | sed -E 's/ferry-lblat-[0-9]+\///g'
    echo '```'
} | tee ${OUT:+"$OUT"}
