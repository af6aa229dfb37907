#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A missing feature is survived: with the network programs' attach refused
# (a --net-cgroup that is no cgroup) or left out (--no-net), the agent runs,
# says so once, serves CPU metrics and no network families, and reports
# ferry_agent_feature_enabled{feature="net"} 0.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

mkdir "$t_tmp/not-a-cgroup"

for mode in refused left-out; do
    # a fresh pod for each agent (unpinned, each counts from its start)
    uid=fefefefe-0000-4000-8000-00000000000${#mode}
    pod=$(bpf_pod "$uid"); ctr=$pod/c; mkdir "$ctr"
    : >"$t_tmp/agent.err"
    if [ $mode = refused ]; then
        bpf_agent_start --interval 0.2 --no-pin --net-cgroup "$t_tmp/not-a-cgroup"
        n=$(grep -c "network programs" "$t_tmp/agent.err")
        t_ok "refused attach reported once ($n: $(cat "$t_tmp/agent.err"))" [ "$n" = 1 ]
    else
        bpf_agent_start --interval 0.2 --no-pin --no-net
    fi
    bpf_burn "$ctr" 1
    bpf_burn_wait
    sleep 0.6
    bpf_metrics
    cpu=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid\"")
    want=$(python3 -c "print($(bpf_usage "$pod")/1e6)")
    t_log "$mode: pod CPU ${cpu}s, cpu.stat ${want}s"
    t_ok "$mode: CPU metrics still work ($cpu vs $want)" bpf_within "${cpu:-0}" "$want" 2
    t_ok "$mode: no network families" bash -c "! grep -q network_ '$t_tmp/metrics'"
    t_ok "$mode: feature gauge says net 0" grep -q '^ferry_agent_feature_enabled{feature="net"} 0$' "$t_tmp/metrics"
    t_ok "$mode: feature gauge says sched 1" grep -q '^ferry_agent_feature_enabled{feature="sched"} 1$' "$t_tmp/metrics"
    sleep 1
    n=$(grep -c "network programs" "$t_tmp/agent.err")
    t_ok "$mode: not reported again later ($n)" [ "$n" -le 1 ]
    bpf_agent_stop
done
t_done
