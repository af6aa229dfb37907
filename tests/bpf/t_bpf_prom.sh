#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# /metrics is valid exposition (promtool check metrics), and a real
# Prometheus server on loopback scraping the agent every second computes
# rate(ferry_pod_cpu_usage_seconds_total[10s]) for a pod running one busy
# loop within 10 % of the rate the pod cgroup's cpu.stat gives over the
# same window. Needs Debian's prometheus package (server and promtool).
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"
command -v promtool >/dev/null && command -v prometheus >/dev/null ||
    t_error "promtool and prometheus are needed: apt-get install prometheus"

# pod UIDs of this run only: a run killed on a timeout leaves its cgroups behind (no
# cleanup runs on SIGKILL), and the agent sees every kubepods tree on the machine, so a
# fixed UID made a later run's series a duplicate, which Prometheus read as the idle one
uid=$(cat /proc/sys/kernel/random/uuid)
pod=$(bpf_pod "$uid" burstable); ctr=$pod/busy; mkdir "$ctr"
mkdir "$(bpf_pod "$(cat /proc/sys/kernel/random/uuid)")/c1"
# the same pod and container once more elsewhere in the tree, idle (what a
# kubelet that restarted under another root leaves): still one series each
mkdir -p "$T_CG/left/kubepods/burstable/pod$uid/busy"
# sampling at 0.2 s keeps what a scrape sees at most 0.2 s old, so that the
# scrape timestamps Prometheus computes with match the cgroup's clock
bpf_agent_start --interval 0.2
# a steady busy loop even while the machine is busy with other work
T_BURN_NICE=-15
# until the end (the cleanup kills it): on a busy machine Prometheus, at
# nice 0, can take most of a minute to start and scrape
bpf_burn "$ctr" 110
sleep 1.2
bpf_metrics
t_run promtool check metrics <"$t_tmp/metrics"
t_ok "promtool check metrics is clean (exit $t_rc: $t_out $t_err)" [ "$t_rc" = 0 ] && [ -z "$t_out$t_err" ]
for f in ferry_pod_cpu_usage_seconds_total ferry_container_cpu_usage_seconds_total \
    ferry_pod_network_receive_bytes_total ferry_pod_network_transmit_bytes_total \
    ferry_pod_network_receive_packets_total ferry_pod_network_transmit_packets_total \
    ferry_pod_runqueue_wait_seconds_bucket ferry_container_runqueue_wait_seconds_count \
    ferry_pod_cpu_usage_cores ferry_container_cpu_usage_cores ferry_pod_runqueue_wait_p99_seconds \
    ferry_pod_network_receive_bytes_per_second ferry_pod_network_transmit_packets_per_second; do
    t_ok "/metrics has $f for the pod" grep -q "^$f{pod_uid=\"$uid\"" "$t_tmp/metrics"
done
for f in ferry_pod_cpu_usage_seconds_total ferry_container_cpu_usage_seconds_total; do
    n=$(grep -c "^$f{pod_uid=\"$uid\"" "$t_tmp/metrics")
    t_ok "one $f series for the pod found at two places in the tree ($n)" [ "$n" = 1 ]
done
cores=$(bpf_value ferry_pod_cpu_usage_cores "pod_uid=\"$uid\"")
t_ok "the busy pod's CPU gauge is above 0 and at most the machine's $(nproc) CPUs ($cores)" \
    python3 -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) <= int(sys.argv[2]))' "${cores:-0}" "$(nproc)"
iv=$(awk '$1 == "ferry_agent_rate_interval_seconds" { print $2 }' "$t_tmp/metrics")
# the time between the last two samples: about --interval 0.2 (a late sample makes the next
# one come sooner), not 0 now that the pod has a rate
t_ok "ferry_agent_rate_interval_seconds is the time between two samples (0 < $iv < 5)" \
    python3 -c 'import sys; sys.exit(not 0 < float(sys.argv[1]) < 5)' "${iv:-0}"
t_ok "without a cluster the agent says so once and runs" [ "$(grep -c 'no cluster' "$t_tmp/agent.err")" = 1 ]

# a port of its own the kernel chose (T_PORT + 1 was taken once by another test's process)
pport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$t_tmp/prom.yml" <<EOC
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: ferry
    static_configs:
      - targets: ['127.0.0.1:$T_PORT']
EOC
prometheus --config.file="$t_tmp/prom.yml" --storage.tsdb.path="$t_tmp/tsdb" \
    --web.listen-address="127.0.0.1:$pport" >"$t_tmp/prom.log" 2>&1 &
prom=$!
t_on_exit "kill $prom; wait $prom"
up=
# up to 60 s: its TSDB's start took more than 20 s once on a loaded machine
for _ in $(seq 300); do
    curl -sf "http://127.0.0.1:$pport/-/ready" >/dev/null && { up=1; break; }
    kill -0 "$prom" 2>/dev/null || break
    sleep 0.2
done
[ -n "$up" ] || t_fail "prometheus did not start: $(tail -5 "$t_tmp/prom.log")"
# Ready is not scraping: Prometheus applies its targets on 5 s tickers
# (discovery and scrape manager), so the first scrape comes up to ~10 s
# later. A window that starts before it holds a few seconds of samples, and
# rate() (extrapolating half an interval, then dividing by the whole 10 s)
# comes out ~0.7 of the truth. Start the window after the first scrape.
up=
SECONDS=0
while [ $SECONDS -lt 60 ]; do
    r=$(curl -sf "http://127.0.0.1:$pport/api/v1/query" --data-urlencode 'query=up{job="ferry"} == 1')
    case $r in *'"result":[{'*) up=1; break ;; esac
    sleep 0.1
done
[ -n "$up" ] || t_fail "prometheus did not scrape the agent within 60 s: $(tail -5 "$t_tmp/prom.log")"
t_log "first scrape ${SECONDS} s after ready"

# the cgroup's own clock, 20 times a second, while Prometheus scrapes
python3 -c '
import sys, time
end = time.time() + float(sys.argv[2])
with open(sys.argv[3], "w") as out:
    while time.time() < end:
        for line in open(sys.argv[1] + "/cpu.stat"):
            if line.startswith("usage_usec "):
                print("%.6f %s" % (time.time(), line.split()[1]), file=out, flush=True)
        time.sleep(0.05)
' "$pod" 25 "$t_tmp/cpustat.log" &
sampler=$!
t_on_exit "kill $sampler"
for _ in $(seq 100); do [ -s "$t_tmp/cpustat.log" ] && break; sleep 0.1; done
sleep 11.5  # the 10 s window, after the first reading
t1=$(date +%s.%N)
sleep 1.5   # the scrape that covers t1
q="rate(ferry_pod_cpu_usage_seconds_total{pod_uid=\"$uid\"}[10s])"
res=$(curl -sf "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=$q" --data-urlencode "time=$t1") ||
    t_fail "query failed"
raw=$(curl -sf "http://127.0.0.1:$pport/api/v1/query" --data-urlencode "query=ferry_pod_cpu_usage_seconds_total{pod_uid=\"$uid\"}[10s]" \
    --data-urlencode "time=$t1") || t_fail "query failed"
got=$(python3 -c 'import json, sys; r = json.loads(sys.argv[1])["data"]["result"]; print(r[0]["value"][1] if r else "")' "$res")
# cpu.stat's rate between the first and the last scrape in the window (interpolated at their times)
want=$(python3 -c '
import json, sys
v = json.loads(sys.argv[1])["data"]["result"][0]["values"]
log = [tuple(map(float, l.split())) for l in open(sys.argv[2])]
def at(t):
    for (t0, u0), (t1, u1) in zip(log, log[1:]):
        if t0 <= t <= t1:
            return u0 + (u1 - u0) * (t - t0) / (t1 - t0) if t1 > t0 else u0
    raise SystemExit("no cpu.stat reading around %f (readings %f .. %f)" % (t, log[0][0], log[-1][0]))
a, b = float(v[0][0]), float(v[-1][0])
t1 = float(sys.argv[3])
print((at(b) - at(a)) / 1e6 / (b - a), "%d samples, %.2f s .. %.2f s before t1" % (len(v), t1 - a, t1 - b))' \
    "$raw" "$t_tmp/cpustat.log" "$t1")
read -r want span <<<"$want"
t_log "PromQL $q = $got cores; cpu.stat over the same window: $want cores; ratio $(bpf_ratio "${got:-0}" "$want") ($span)"
t_ok "Prometheus has the series" [ -n "$got" ]
t_ok "PromQL rate within 10 % of cpu.stat ($got vs $want)" bpf_within "$got" "$want" 10
t_done
