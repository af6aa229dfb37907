#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CFS throttling from a cgroup v2 cpu.stat where these machines cannot make one.
# The agent reads a pod's CFS counters from its v2 cgroup's cpu.stat when that
# file has them (the cpu controller enabled in v2), else from the v1 cpu
# hierarchy at the same path. On these machines (ENV.md: hybrid cgroups, the
# cpu controller bound to v1) a v2 cpu.stat never has them, so t_bpf_throttle
# runs the v1 path only, and the v2 one (its choice first, throttled_usec in
# microseconds) would go untested. Here, in a mount namespace of the test's
# own (nobody else sees it), the pod's v2 cpu.stat is overlaid (a bind mount)
# with a file in the kernel's v2 form (6.x: nr_periods, nr_throttled,
# throttled_usec among the usage fields), whose counters the test moves
# between samples; everything else is real: the cgroups, the agent, its eBPF
# programs and its v1 fallback. Checked: the pod's counters are the v2 file's
# (microseconds as seconds), not its v1 twin's (zero: no quota there), and
# follow the file as it moves; the gauge is their rate; the pod's container,
# whose v2 cpu.stat has no CFS fields, falls back to v1 (zero). Where the v2
# cpu controller exists, t_bpf_throttle runs the v2 path for real and this
# test skips.
if [ -z "${T_THROTTLE_V2_NS:-}" ]; then
    [ "$(id -u)" = 0 ] || { echo "SKIP: needs root" >&2; exit 77; }
    T_THROTTLE_V2_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

grep -qw cpu "$T_CG2/cgroup.controllers" 2>/dev/null &&
    t_skip "the cgroup v2 cpu controller is here: t_bpf_throttle runs the v2 path for real"
T_CPU1=$(awk '$9 == "cgroup" && $0 ~ /[ ,]cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
[ -n "$T_CPU1" ] || t_skip "no v1 cpu hierarchy: the agent has nothing to fall back to"
rel=${T_CG#"$T_CG2"}

t_cpu1_cleanup() {
    [ -d "$T_CPU1$rel" ] || return 0
    echo 1 >"$T_CG/cgroup.kill" 2>/dev/null
    for _ in $(seq 50); do
        [ -z "$(find "$T_CPU1$rel" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
        sleep 0.1
    done
    for _ in $(seq 50); do
        find "$T_CPU1$rel" -depth -type d -exec rmdir {} \; 2>/dev/null
        [ -d "$T_CPU1$rel" ] || break
        sleep 0.1
    done
}
t_on_exit t_cpu1_cleanup

cid=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
uid=$(cat /proc/sys/kernel/random/uuid)
pod=$(bpf_pod "$uid" burstable)
mkdir "$pod/$cid" || t_error "mkdir $pod/$cid"
mkdir -p "$T_CPU1$rel/kubepods/burstable/pod$uid/$cid" || t_error "mkdir in $T_CPU1"
grep -q '^nr_periods ' "$pod/cpu.stat" &&
    t_error "the pod's v2 cpu.stat has CFS fields: the cpu controller is in v2 after all"

# v2_stat PERIODS THROTTLED USEC: the overlay's content, always of the same
# length (7 digits each), written in place: the agent keeps the file open and
# reads it from offset 0 each sample
v2_stat() {
    printf 'usage_usec 0000000\nuser_usec 0000000\nsystem_usec 0000000\nnr_periods %07d\nnr_throttled %07d\nthrottled_usec %07d\nnr_bursts 0000000\nburst_usec 0000000\n' \
        "$1" "$2" "$3" | dd of="$t_tmp/cpu.stat.v2" conv=notrunc status=none || t_error "write the overlay"
}
v2_stat 1000 400 2500000
mount --bind "$t_tmp/cpu.stat.v2" "$pod/cpu.stat" || t_skip "cannot bind-mount over a cgroup file here"
t_on_exit umount "$pod/cpu.stat"
grep -q '^throttled_usec 2500000$' "$pod/cpu.stat" || t_error "the overlay is not in place"

# a busy loop in the container (v2 and its v1 twin), so the pod has series
sh -c 'echo $$ >"$0/cgroup.procs" && echo $$ >"$1/cgroup.procs" && exec timeout 30 sh -c "while :; do :; done"' \
    "$pod/$cid" "$T_CPU1$rel/kubepods/burstable/pod$uid/$cid" &
T_BURNERS+=($!)

bpf_agent_start --interval 0.5
sleep 1.5
bpf_metrics
thr=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid\"")
per=$(bpf_value ferry_pod_cpu_cfs_periods_total "pod_uid=\"$uid\"")
tp=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_total "pod_uid=\"$uid\"")
cpu=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid\"")
thr_v1=$(awk '$1 == "throttled_time" { print $2 }' "$T_CPU1$rel/kubepods/burstable/pod$uid/cpu.stat")
t_log "pod: throttled ${thr}s, periods $per ($tp throttled), CPU ${cpu}s; its v1 twin: throttled_time ${thr_v1}ns"
t_ok "the pod has its CPU series (a real one: '$cpu')" [ -n "$cpu" ]
t_ok "its throttled seconds are the v2 file's 2500000 us: '$thr'" bpf_within "${thr:-0}" 2.5 0.001
t_ok "its periods are the v2 file's: '$per'" [ "$per" = 1000 ]
t_ok "its throttled periods are the v2 file's: '$tp'" [ "$tp" = 400 ]
t_ok "the v1 twin says otherwise (no quota there): '$thr_v1'" [ "$thr_v1" = 0 ]

# the file moves: 1.5 s more throttled in 100 more periods
v2_stat 1100 450 4000000
sleep 1.2
bpf_metrics
thr=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid\"")
per=$(bpf_value ferry_pod_cpu_cfs_periods_total "pod_uid=\"$uid\"")
tp=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_total "pod_uid=\"$uid\"")
t_log "after the move: throttled ${thr}s, periods $per ($tp throttled)"
t_ok "the counters follow the file: 4.0 s ('$thr')" bpf_within "${thr:-0}" 4.0 0.001
t_ok "... 1100 periods, 450 throttled ('$per', '$tp')" [ "$per" = 1100 -a "$tp" = 450 ]
# the gauges: the one sample that saw a move has its rate, the later ones 0; move
# the file once more and read until that sample is out (within two intervals)
v2_stat 1200 500 4200000
gauge= frac= iv=
for _ in $(seq 40); do
    sleep 0.05
    bpf_metrics
    gauge=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_per_second "pod_uid=\"$uid\"")
    frac=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_fraction "pod_uid=\"$uid\"")
    iv=$(awk '$1 == "ferry_agent_rate_interval_seconds" { print $2 }' "$t_tmp/metrics")
    [ "${gauge:-0}" != 0 ] && break
done
t_log "the sample that saw 0.2 s more in 100 periods: $gauge s/s over $iv s, fraction $frac"
t_ok "the throttled gauge is the file's rate: 0.2 s over the sample's interval ('$gauge' x '$iv')" \
    python3 -c "import sys; sys.exit(0 if abs(float('${gauge:-0}') * float('${iv:-0}') - 0.2) < 0.002 else 1)"
t_ok "the periods gauge is the file's fraction, 50 of 100: '$frac'" bpf_within "${frac:-0}" 0.5 0.001

# the container: its v2 cpu.stat is the kernel's (no CFS fields): v1's, zero
thr_c=$(bpf_value ferry_container_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid\"")
per_c=$(bpf_value ferry_container_cpu_cfs_periods_total "pod_uid=\"$uid\"")
t_ok "the container falls back to its v1 cpu.stat: throttled '$thr_c', periods '$per_c'" \
    python3 -c "import sys; sys.exit(0 if '$thr_c' and float('$thr_c') == 0 and '$per_c' == '0' else 1)"
kill "${T_BURNERS[@]}" 2>/dev/null
bpf_burn_wait
bpf_agent_stop
t_done
