#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Pinned state: an agent restarted while a pod burns CPU continues its
# counters (monotonic, and still equal to cpu.stat: no gap, no double count);
# a removed container's CPU stays in its pod; a removed pod disappears from
# /metrics and from the kernel maps; --cleanup removes pins and programs.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"
command -v bpftool >/dev/null || t_error "bpftool is needed (apt-get install bpftool)"

uid=$(cat /proc/sys/kernel/random/uuid)
pod=$(bpf_pod "$uid" burstable); ctr=$pod/main; mkdir "$ctr"
cpu_of() { bpf_metrics; bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid\""; }

bpf_agent_start --interval 0.2
bpf_burn "$ctr" 4
sleep 1
c1=$(cpu_of)
bpf_agent_stop
sleep 1    # the pinned programs keep counting meanwhile
bpf_agent_start --interval 0.2
c2=$(cpu_of)
t_log "before the restart ${c1}s, after ${c2}s"
t_ok "counter grew across the restart (counted while no agent ran) ($c1 -> $c2)" python3 -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if b > a else 1)' "$c1" "$c2"
bpf_burn_wait
sleep 0.6
c3=$(cpu_of)
want=$(python3 -c "print($(bpf_usage "$pod")/1e6)")
t_log "after the burner: agent ${c3}s, cpu.stat ${want}s"
t_ok "no gap and no double count across the restart ($c3 vs $want)" bpf_within "$c3" "$want" 2

# a second container comes and goes: its CPU stays with the pod
side=$pod/side; mkdir "$side"
bpf_burn "$side" 1
bpf_burn_wait
sleep 0.6
bpf_metrics
t_ok "the side container is listed" grep -q 'container_id="side"' "$t_tmp/metrics"
side_id=$(stat -c %i "$side")
before=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid\"")
rmdir "$side" || t_error "rmdir $side"
sleep 0.8
after=$(cpu_of)
t_log "pod CPU before removing the side container ${before}s, after ${after}s"
t_ok "removed container gone from /metrics" bash -c "! grep -q 'container_id=\"side\"' '$t_tmp/metrics'"
t_ok "pod CPU did not drop when its container went ($before -> $after)" python3 -c 'import sys; a, b = map(float, sys.argv[1:]); sys.exit(0 if b >= a else 1)' "$before" "$after"
key=$(python3 -c "import struct; print(' '.join(str(b) for b in struct.pack('<Q', $side_id)))")
t_ok "removed container's key deleted from cg_cpu" bash -c "! bpftool map lookup pinned '$T_PIN/podstat-v1/cg_cpu' key $key >/dev/null 2>&1"

# the pod goes
pod_id=$(stat -c %i "$pod")
echo 1 >"$pod/cgroup.kill"; sleep 0.2
rmdir "$ctr" "$pod" || t_error "rmdir $pod"
sleep 0.8
bpf_metrics
t_ok "removed pod gone from /metrics" bash -c "! grep -q '$uid' '$t_tmp/metrics'"
key=$(python3 -c "import struct; print(' '.join(str(b) for b in struct.pack('<Q', $pod_id)))")
t_ok "removed pod's retired totals deleted" bash -c "! bpftool map lookup pinned '$T_PIN/podstat-v1/cg_retired' key $key >/dev/null 2>&1"

bpf_agent_stop
t_run "$FERRY" agent --cleanup --pin-dir "$T_PIN"
t_ok "--cleanup exits 0 ($t_err)" [ "$t_rc" = 0 ]
t_ok "--cleanup removed the pins" [ ! -e "$T_PIN" ]
sleep 0.3
t_ok "no podstat program left attached" bash -c "! bpftool link show | grep -q podstat_"
t_done
