#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# CPU per pod and per container (cgroupfs and systemd layouts) against the
# cgroups' own cpu.stat usage_usec: within 2 %. ferry top shows the pod.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"

uid_a=$(cat /proc/sys/kernel/random/uuid)
uid_b=$(cat /proc/sys/kernel/random/uuid)
pod_a=$(bpf_pod "$uid_a" burstable)
ctr_a=$pod_a/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
mkdir "$ctr_a"
# systemd layout, Guaranteed QoS: the UID's dashes spelled as underscores
pod_b=$T_CG/kubepods.slice/kubepods-pod${uid_b//-/_}.slice
ctr_b=$pod_b/cri-containerd-fedcba9876543210.scope
mkdir -p "$ctr_b"

bpf_agent_start --interval 0.2
code() { curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT$1"; }
t_ok "/healthz answers 200" [ "$(code /healthz)" = 200 ]
t_ok "/readyz answers 200" [ "$(code /readyz)" = 200 ]
t_ok "an unknown path answers 404" [ "$(code /nope)" = 404 ]
t_ok "/metrics is text/plain version 0.0.4" bash -c "curl -sI http://127.0.0.1:$T_PORT/metrics | grep -qi '^content-type: text/plain; version=0.0.4'"
bpf_burn "$ctr_a" 3
bpf_burn "$ctr_a" 3
bpf_burn "$ctr_b" 2
sleep 1
t_run "$FERRY" top --count 1 --pin-dir "$T_PIN" --containers
t_ok "ferry top exits 0 ($t_err)" [ "$t_rc" = 0 ]
t_log "ferry top:"; echo "$t_out" >&2
row=$(grep "^$uid_a" <<<"$t_out")
t_ok "ferry top shows pod A busy: '$row'" python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0.05 else 1)' "$(awk '{print $3}' <<<"$row")"
bpf_burn_wait
sleep 0.6
bpf_metrics
for p in a b; do
    eval "uid=\$uid_$p pod=\$pod_$p ctr=\$ctr_$p"
    got=$(bpf_value ferry_pod_cpu_usage_seconds_total "pod_uid=\"$uid\"")
    got_c=$(bpf_value ferry_container_cpu_usage_seconds_total "pod_uid=\"$uid\"")
    want=$(python3 -c "print($(bpf_usage "$pod")/1e6)")
    want_c=$(python3 -c "print($(bpf_usage "$ctr")/1e6)")
    t_log "pod $p: agent ${got}s, cpu.stat ${want}s, ratio $(bpf_ratio "$got" "$want"); container: agent ${got_c}s, cpu.stat ${want_c}s"
    t_ok "pod $p CPU within 2 % of cpu.stat ($got vs $want)" bpf_within "$got" "$want" 2
    t_ok "container of pod $p CPU within 2 % of cpu.stat ($got_c vs $want_c)" bpf_within "$got_c" "$want_c" 2
done
grep -q 'container_id="fedcba9876543210"' "$t_tmp/metrics"
t_ok "systemd scope name gives the container id" [ $? = 0 ]
t_done
