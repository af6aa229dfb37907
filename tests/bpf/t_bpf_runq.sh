#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Run-queue wait: one busy loop alone on this 2-CPU machine hardly waits;
# four sharing the CPUs wait for each other. The pod's histogram must have
# samples, and its p99 with 4 burners must be at least 5x the p99 with 1.
# (Runs alone: the suite is not parallel.)
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

ncpu=$(nproc)
uid=c0ffee00-1234-4567-89ab-cdef01234567
pod=$(bpf_pod "$uid" burstable); ctr=$pod/burner; mkdir "$ctr"
measure() { # N SECONDS -> "p50 p99 count"
    local i
    bpf_metrics; cp "$t_tmp/metrics" "$t_tmp/before"
    for ((i = 0; i < $1; i++)); do bpf_burn "$ctr" "$2"; done
    bpf_burn_wait
    sleep 0.5
    bpf_metrics
    python3 "$(dirname "$0")/hist.py" "$t_tmp/before" "$t_tmp/metrics" ferry_pod_runqueue_wait_seconds "$uid"
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
    read -r p50_1 p99_1 n_1 <<<"$(measure 1 3)"
    read -r p50_n p99_n n_n <<<"$(measure $((2 * ncpu)) 3)"
    bpf_agent_stop
    t_log "$mode: 1 burner: p50 ${p50_1}s p99 ${p99_1}s over $n_1 waits"
    t_log "$mode: $((2 * ncpu)) burners on $ncpu CPUs: p50 ${p50_n}s p99 ${p99_n}s over $n_n waits; p99 ratio $(bpf_ratio "$p99_n" "$p99_1")"
    t_ok "$mode: the histogram has samples with 1 burner" [ "$n_1" -gt 0 ]
    t_ok "$mode: the histogram has samples with $((2 * ncpu)) burners" [ "$n_n" -gt 0 ]
    t_ok "$mode: p99 with $((2 * ncpu)) burners >= 5x p99 with 1" python3 -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if a >= 5 * b else 1)' "$p99_n" "$p99_1"
done
unset FERRY_EBPF_STAMP_WAKEUPS
t_done
