#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run-queue wait: a busy loop is always runnable, so each second of its life
# is either on a CPU or waiting in the run queue. With 1 and with 2 x CPUs
# loops in a pod (3 s each), the pod's CPU seconds plus its run-queue wait
# (the histogram's sum) must come to the loops' lifetimes within 10 %: one
# loop alone hardly waits, four on 2 CPUs wait half the time. The histogram
# must have samples, and its p99 with 2 x CPUs loops must exceed the p99 of
# one alone. (Runs alone: the suite is not parallel.)
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

ncpu=$(nproc)
uid=$(cat /proc/sys/kernel/random/uuid)
pod=$(bpf_pod "$uid" burstable); ctr=$pod/burner; mkdir "$ctr"
cpu_of() { # METRICS: the pod's CPU seconds
    awk -v u="pod_uid=\"$uid\"" '$1 ~ /^ferry_pod_cpu_usage_seconds_total\{/ && index($1, u) { print $2 }' "$1"
}
measure() { # N SECONDS -> "p50 p99 count wait cpu"
    local i
    bpf_metrics; cp "$t_tmp/metrics" "$t_tmp/before"
    for ((i = 0; i < $1; i++)); do bpf_burn "$ctr" "$2"; done
    bpf_burn_wait
    sleep 0.5
    bpf_metrics
    echo "$(python3 "$(dirname "$0")/hist.py" "$t_tmp/before" "$t_tmp/metrics" ferry_pod_runqueue_wait_seconds "$uid")" \
        "$(python3 -c 'import sys; print("%.6f" % (float(sys.argv[2] or 0) - float(sys.argv[1] or 0)))' \
            "$(cpu_of "$t_tmp/before")" "$(cpu_of "$t_tmp/metrics")")"
}
# the burners outweigh whatever else runs on the machine (a developer's build),
# so that what they wait for is each other: the same in both phases
T_BURN_NICE=-15
# the scheduler's own enqueue stamps, then the wakeup programs' (the fallback
# for kernels without CONFIG_SCHED_INFO)
for mode in sched_info wakeup_stamps; do
    if [ $mode = wakeup_stamps ]; then
        export FERRY_EBPF_STAMP_WAKEUPS=1
    fi
    bpf_agent_start --interval 0.2 --no-pin
    for n in 1 $((2 * ncpu)); do
        read -r p50 p99 cnt wait cpu <<<"$(measure $n 3)"
        eval "p99_$n=\$p99"
        life=$((n * 3))
        t_log "$mode: $n burner(s) on $ncpu CPUs: on CPU ${cpu}s + waiting ${wait}s over a life of ${life}s: ratio $(bpf_ratio "$(python3 -c "print($cpu + $wait)")" "$life"); p50 ${p50}s p99 ${p99}s over $cnt waits"
        t_ok "$mode: the histogram has samples with $n burner(s)" [ "$cnt" -gt 0 ]
        t_ok "$mode: on CPU + waiting = the life of $n burner(s), within 10 % (${cpu}s + ${wait}s vs ${life}s)" \
            bpf_within "$(python3 -c "print($cpu + $wait)")" "$life" 10
    done
    bpf_agent_stop
    t_ok "$mode: p99 with $((2 * ncpu)) burners ($(eval echo \$p99_$((2 * ncpu)))s) above p99 with 1 (${p99_1}s)" \
        python3 -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if a > b else 1)' "$(eval echo \$p99_$((2 * ncpu)))" "$p99_1"
done
unset FERRY_EBPF_STAMP_WAKEUPS
t_done
