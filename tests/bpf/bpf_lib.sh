# SPDX-License-Identifier: MIT
# tests/bpf/bpf_lib.sh - what the eBPF root tests share; source after t_lib.sh.
#
# Each test gets its own cgroup subtree ($T_CG, under the cgroup v2 mount)
# holding a fake kubelet layout, its own pin directory ($T_PIN) and metrics
# port ($T_PORT). Everything is removed at exit, failed or not: processes in
# the subtree are killed (cgroup.kill), the cgroups removed, the agent
# stopped, the pins deleted.

t_require_root
# meson stops a test with SIGTERM on timeout: run the cleanups then too
trap 'exit 143' TERM
trap 'exit 130' INT
command -v curl >/dev/null 2>&1 || t_error "curl is needed (apt-get install curl)"
[ -r /sys/kernel/btf/vmlinux ] || t_skip "no kernel BTF (/sys/kernel/btf/vmlinux): CO-RE programs cannot load"

T_CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$T_CG2" ] || t_skip "no cgroup v2 mount on this machine"
T_CG=$T_CG2/ferry-$t_name-$$
T_PIN=/sys/fs/bpf/ferry-$t_name-$$
# a loopback port nothing listens on now (the kernel picks it)
T_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
T_AGENT_PID=

t_cg_cleanup() {
    local d
    [ -d "$T_CG" ] || return 0
    echo 1 >"$T_CG/cgroup.kill" 2>/dev/null
    for _ in $(seq 50); do
        [ -z "$(find "$T_CG" -name cgroup.procs -exec cat {} + 2>/dev/null)" ] && break
        sleep 0.1
    done
    # a cgroup whose last task is still exiting refuses rmdir (EBUSY) a moment
    for _ in $(seq 50); do
        find "$T_CG" -depth -type d -exec rmdir {} \; 2>/dev/null
        [ -d "$T_CG" ] || break
        sleep 0.1
    done
}
mkdir "$T_CG" || t_error "cannot make a cgroup under $T_CG2"
t_on_exit t_cg_cleanup

# bpf_pod UID [QOS]: a cgroupfs-layout pod cgroup; prints its path
bpf_pod() {
    local d=$T_CG/kubepods${2:+/$2}/pod$1
    mkdir -p "$d" || t_error "mkdir $d"
    echo "$d"
}

# bpf_run_in CGROUP CMD...: run CMD inside CGROUP (joins first, then execs)
bpf_run_in() {
    local cg=$1; shift
    sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg" "$@"
}

# bpf_burn CGROUP SECONDS: one busy loop in CGROUP, in the background;
# bpf_burn_wait waits for all of them
T_BURNERS=()
bpf_burn() {
    bpf_run_in "$1" ${T_BURN_NICE:+nice -n "$T_BURN_NICE"} timeout "$2" sh -c 'while :; do :; done' &
    T_BURNERS+=($!)
}
bpf_burn_wait() {
    local p
    for p in "${T_BURNERS[@]}"; do wait "$p" 2>/dev/null; done
    T_BURNERS=()
}

# bpf_agent_stop [nocheck]: SIGTERM, then fail on a sanitizer report or a bad
# exit status (not while cleaning up: a failing cleanup would skip the rest)
bpf_agent_stop() {
    local rc
    if [ -n "$T_AGENT_PID" ]; then
        kill "$T_AGENT_PID" 2>/dev/null
        wait "$T_AGENT_PID" 2>/dev/null
        rc=$?
        T_AGENT_PID=
        [ "${1:-}" = nocheck ] && return 0
        # a sanitizer build reports on exit
        if grep -Eq "ERROR: (Address|Leak)Sanitizer|runtime error:" "$t_tmp/agent.err" 2>/dev/null; then
            cat "$t_tmp/agent.err" >&2
            t_fail "the agent's sanitizer report above"
        fi
        [ "$rc" = 0 ] || t_fail "agent exited $rc on SIGTERM: $(tail -3 "$t_tmp/agent.err")"
    fi
}
bpf_cleanup_pins() {
    bpf_agent_stop nocheck
    "$FERRY" agent --cleanup --pin-dir "$T_PIN" >/dev/null 2>&1
    rm -rf "$T_PIN" 2>/dev/null
}
t_on_exit bpf_cleanup_pins

# bpf_agent_start [ARGS...]: start the agent (stderr in $t_tmp/agent.err), wait until ready
bpf_agent_start() {
    "$FERRY" agent --metrics-addr "127.0.0.1:$T_PORT" --pin-dir "$T_PIN" "$@" \
        >>"$t_tmp/agent.out" 2>>"$t_tmp/agent.err" &
    T_AGENT_PID=$!
    for _ in $(seq 100); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$T_PORT/readyz")" = 200 ]; then
            return 0
        fi
        kill -0 "$T_AGENT_PID" 2>/dev/null || t_fail "agent exited: $(cat "$t_tmp/agent.err")"
        sleep 0.1
    done
    t_fail "agent not ready after 10 s: $(cat "$t_tmp/agent.err")"
}

# bpf_metrics: the agent's /metrics text into $t_tmp/metrics
bpf_metrics() {
    curl -sf "http://127.0.0.1:$T_PORT/metrics" >"$t_tmp/metrics" || t_fail "GET /metrics failed"
}

# bpf_value NAME LABEL_SUBSTRING: a sample's value from $t_tmp/metrics ("" if absent)
bpf_value() {
    awk -v n="$1" -v l="$2" 'index($0, n "{") == 1 && index($0, l) { print $2; exit }' "$t_tmp/metrics"
}

# bpf_sleep_sample: long enough for the agent (--interval 0.2) to publish twice
bpf_sleep_sample() { sleep 0.6; }

# bpf_usage CGROUP: cpu.stat usage_usec
bpf_usage() { awk '$1 == "usage_usec" { print $2 }' "$1/cpu.stat"; }

# bpf_ratio A B: A / B with 4 decimals
bpf_ratio() { python3 -c 'import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print("%.4f" % (a / b if b else float("inf")))' "$1" "$2"; }

# bpf_within A B PCT: |A/B - 1| <= PCT/100
bpf_within() {
    python3 -c 'import sys; a, b, p = map(float, sys.argv[1:]); sys.exit(0 if b and abs(a / b - 1) <= p / 100 else 1)' "$1" "$2" "$3"
}
