#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CFS throttling per pod from the cgroups' own cpu.stat, with a real quota:
# pod L (burstable) is limited to 20 ms per 100 ms and runs one busy loop, so
# it is held back about 80 ms of every 100: the agent's
# ferry_pod_cpu_cfs_throttled_seconds_total grows at about 0.8 s/s (0.25 to
# 1.05: the kernel's throttled time (6.18) counts less than the time held
# back when the CPUs are contended: 0.68-0.76 s/s measured at load 2-3, 0.40
# with a fuzzer busy on the other CPU), nearly every period is throttled, and
# its gauge and ferry top's THROTTLED column say the same; the time held back
# is run-queue wait (the loop is always runnable: CPU + wait = wall time), at
# least 0.6 s/s whatever the kernel's throttled time says; pod U, as busy and
# unlimited, shows 0. The quota is where kubelet
# puts it: the v2 cgroup's cpu.max where the cpu controller is enabled, else
# the v1 cpu hierarchy at the same path (these machines: kboxd mirrors limits
# into v1 the same way).
# The agent's counter ends equal to the file's. (control/agent/README.md,
# "CFS throttling, and run-queue wait on CPU-limited pods".)
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

PERIOD_US=100000
QUOTA_US=20000
rel=${T_CG#"$T_CG2"}
T_CPU1=
if grep -qw cpu "$T_CG2/cgroup.controllers" 2>/dev/null; then
    mode=v2
else
    T_CPU1=$(awk '$9 == "cgroup" && $0 ~ /[ ,]cpu(,|$)/ { print $5; exit }' /proc/self/mountinfo)
    [ -n "$T_CPU1" ] || t_skip "neither a cgroup v2 cpu controller nor a v1 cpu hierarchy here"
    mode=v1
fi
t_log "quota in $mode${T_CPU1:+ ($T_CPU1)}"

# the v1 twin of the test's tree: emptied by the v2 cgroup.kill, then removed
t_cpu1_cleanup() {
    [ -n "$T_CPU1" ] && [ -d "$T_CPU1$rel" ] || return 0
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

# v2_cpu_down DIR: the cpu controller enabled from the v2 root down to DIR's children
v2_cpu_down() {
    local p=$T_CG2 part parts
    IFS=/ read -ra parts <<<"${1#"$T_CG2"/}"
    for part in "${parts[@]}" ""; do
        echo +cpu >"$p/cgroup.subtree_control" || t_error "enable cpu in $p"
        p=$p/$part
    done
}
# pod_mk UID: a burstable pod with one container, in v2 and (v1 mode) in v1;
# prints the pod's v2 path
cid=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
pod_mk() {
    local pod
    pod=$(bpf_pod "$1" burstable)
    if [ $mode = v2 ]; then
        v2_cpu_down "$pod"
    else
        mkdir -p "$T_CPU1${pod#"$T_CG2"}/$cid" || t_error "mkdir in $T_CPU1"
    fi
    mkdir "$pod/$cid" || t_error "mkdir $pod/$cid"
    echo "$pod"
}
# pod_limit POD: 20 ms per 100 ms on the pod's cgroup (the container has no quota of its own)
pod_limit() {
    local d
    if [ $mode = v2 ]; then
        echo "$QUOTA_US $PERIOD_US" >"$1/cpu.max" || t_error "cpu.max"
    else
        d=$T_CPU1${1#"$T_CG2"}
        echo $PERIOD_US >"$d/cpu.cfs_period_us" || t_error "cpu.cfs_period_us"
        echo $QUOTA_US >"$d/cpu.cfs_quota_us" || t_error "cpu.cfs_quota_us"
    fi
}
# burn CONTAINER SECONDS: one busy loop in the container's cgroups (v2 and v1)
T_BURN_NICE=${T_BURN_NICE:--5}
burn() {
    local v1=
    [ $mode = v1 ] && v1=$T_CPU1${1#"$T_CG2"}
    sh -c 'echo $$ >"$0/cgroup.procs" && { [ -z "$1" ] || echo $$ >"$1/cgroup.procs"; } && shift && exec "$@"' \
        "$1" "$v1" nice -n "$T_BURN_NICE" timeout "$2" sh -c 'while :; do :; done' &
    T_BURNERS+=($!)
}
# throttled_s POD_V2_PATH: the quota cgroup's own throttled seconds
throttled_s() {
    if [ $mode = v2 ]; then
        awk '$1 == "throttled_usec" { printf "%.9f\n", $2 / 1e6 }' "$1/cpu.stat"
    else
        awk '$1 == "throttled_time" { printf "%.9f\n", $2 / 1e9 }' "$T_CPU1${1#"$T_CG2"}/cpu.stat"
    fi
}
now() { python3 -c 'import time; print("%.6f" % time.monotonic())'; }
# check EXPR: a python expression that must be true
check() { python3 -c "import sys; sys.exit(0 if ($1) else 1)"; }

uid_l=$(cat /proc/sys/kernel/random/uuid)
uid_u=$(cat /proc/sys/kernel/random/uuid)
pod_l=$(pod_mk "$uid_l")
pod_u=$(pod_mk "$uid_u")
pod_limit "$pod_l"

bpf_agent_start --interval 0.2
burn "$pod_l/$cid" 7
burn "$pod_u/$cid" 7
sleep 1.2
bpf_metrics
t0=$(now)
thr0=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid_l\"")
per0=$(bpf_value ferry_pod_cpu_cfs_periods_total "pod_uid=\"$uid_l\"")
tp0=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_total "pod_uid=\"$uid_l\"")
cpu0=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid_l\"")
rq0=$(bpf_value ferry_pod_runqueue_wait_seconds_sum "pod_uid=\"$uid_l\"")
# ferry top meanwhile (it samples twice, 1 s apart)
t_run "$FERRY" top --count 1 --pin-dir "$T_PIN"
top_out=$t_out
sleep 1.5
bpf_metrics
t1=$(now)
thr1=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid_l\"")
per1=$(bpf_value ferry_pod_cpu_cfs_periods_total "pod_uid=\"$uid_l\"")
tp1=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_total "pod_uid=\"$uid_l\"")
cpu1=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid_l\"")
rq1=$(bpf_value ferry_pod_runqueue_wait_seconds_sum "pod_uid=\"$uid_l\"")
gauge=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_per_second "pod_uid=\"$uid_l\"")
frac=$(bpf_value ferry_pod_cpu_cfs_throttled_periods_fraction "pod_uid=\"$uid_l\"")
p99=$(bpf_value ferry_pod_runqueue_wait_p99_seconds "pod_uid=\"$uid_l\"")
p50=$(bpf_value ferry_pod_runqueue_wait_p50_seconds "pod_uid=\"$uid_l\"")
t_ok "pod L has the CFS counters ('$thr0', '$thr1', '$per0', '$tp1')" \
    [ -n "$thr0" -a -n "$thr1" -a -n "$per0" -a -n "$per1" -a -n "$tp0" -a -n "$tp1" ]
dt=$(python3 -c "print('%.3f' % ($t1 - $t0))")
rate=$(python3 -c "print('%.3f' % (($thr1 - $thr0) / $dt))")
pfrac=$(python3 -c "print('%.3f' % (($tp1 - $tp0) / max($per1 - $per0, 1)))")
cores=$(python3 -c "print('%.3f' % (($cpu1 - $cpu0) / $dt))")
rq_rate=$(python3 -c "print('%.3f' % ((${rq1:-0} - ${rq0:-0}) / $dt))")
t_log "pod L over ${dt} s: throttled ${rate} s/s, $((per1 - per0)) periods of which ${pfrac} throttled, CPU ${cores} cores, run-queue wait ${rq_rate} s/s; last 0.2 s gauges: throttled $gauge s/s, periods $frac, run-queue p50 $p50 s, p99 $p99 s; load $(cut -d' ' -f1 /proc/loadavg)"
t_ok "pod L is throttled at about 0.8 s/s (0.25 to 1.05): $rate" check "0.25 <= $rate <= 1.05"
t_ok "the time it is held back is run-queue wait (>= 0.6 s/s): $rq_rate" check "$rq_rate >= 0.6"
t_ok "most of its periods are throttled (>= 0.5): $pfrac" check "$pfrac >= 0.5"
# the counters are the agent's samples (each up to its interval old), dt the scrapes' times:
# a sample late at one end and early at the other skews a 3 s window by over 10 % (1.14 seen
# in a loaded CI run)
t_ok "a period is 100 ms: $((per1 - per0)) in ${dt} s" check "0.7 <= ($per1 - $per0) / ($dt * 10) <= 1.25"
t_ok "its CPU is held to the quota, 0.2 cores (0.05 to 0.25): $cores" check "0.05 <= $cores <= 0.25"
# the gauges cover 0.2 s, 1 to 3 period ends: coarse; on a loaded machine the hog gets less
# than its quota in some periods, and is throttled less (0.183 seen with other tests beside it)
t_ok "its throttled gauge is there and plausible (0.1 to 1.3): ${gauge:-none}" check "0.1 <= ${gauge:-0} <= 1.3"
t_ok "its periods gauge is a fraction: ${frac:-none}" check "0 <= ${frac:--1} <= 1"
# the unlimited pod: counters present, and zero
thr_u=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid_u\"")
per_u=$(bpf_value ferry_pod_cpu_cfs_periods_total "pod_uid=\"$uid_u\"")
gauge_u=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_per_second "pod_uid=\"$uid_u\"")
cores_u=$(bpf_value ferry_pod_cpu_usage_cores "pod_uid=\"$uid_u\"")
t_log "pod U: throttled ${thr_u}s, periods $per_u, gauge $gauge_u, CPU $cores_u cores"
t_ok "the unlimited pod shows 0 throttled seconds ('$thr_u')" check "'$thr_u' != '' and float('$thr_u') == 0"
t_ok "and 0 periods ('$per_u')" [ "$per_u" = 0 ]
t_ok "and a 0 gauge ('$gauge_u')" [ "$gauge_u" = 0 ]
t_ok "while it is busy (> 0.3 cores): $cores_u" check "${cores_u:-0} > 0.3"
# containers: their own cgroups' files (no quota there)
thr_c=$(bpf_value ferry_container_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid_l\"")
t_ok "pod L's container has its own counters, no quota of its own ('$thr_c')" check "'$thr_c' != '' and float('$thr_c') == 0"

# ferry top's THROTTLED column (the last), over its 1 s interval
row=$(grep "^$uid_l" <<<"$top_out")
t_log "ferry top: $row"
t_ok "ferry top shows pod L throttled (0.3 to 1.1 s/s): '$row'" check "0.3 <= float('$(awk '{print $NF}' <<<"$row")' or 0) <= 1.1"
row=$(grep "^$uid_u" <<<"$top_out")
t_ok "... and pod U not: '$row'" [ "$(awk '{print $NF}' <<<"$row")" = 0.000 ]

# after the loops: the agent's counter is the file's
bpf_burn_wait
sleep 0.6
bpf_metrics
got=$(bpf_value ferry_pod_cpu_cfs_throttled_seconds_total "pod_uid=\"$uid_l\"")
want=$(throttled_s "$pod_l")
t_log "pod L at the end: agent ${got}s, cpu.stat ${want}s"
t_ok "the agent's throttled seconds equal cpu.stat's ($got vs $want)" bpf_within "$got" "$want" 0.1
bpf_agent_stop
t_done
