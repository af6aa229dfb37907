# SPDX-License-Identifier: MIT
# tests/bpf/sockbal_lib.sh - what the socket load balancer's root tests share;
# source after t_lib.sh.
#
# Each test gets a client cgroup ($SB_CG, the programs attach there), a pin
# directory ($SB_PIN) and two network namespaces made here:
#   client  $NS_C  veth 10.200.0.1/24, fd00:200::1/64; routes to the backends
#                  through the backend namespace; NO default route, and an
#                  unreachable route for the service CIDRs 10.96.0.0/16 and
#                  fd00:96::/112, so a connect that is not rewritten fails
#                  (EHOSTUNREACH) instead of leaving the machine.
#   backend $NS_B  veth 10.200.0.2/24, fd00:200::2/64; backend addresses
#                  10.200.1.1-4 and fd00:201::1-4 on its loopback.
# The driver (t_sockbal_drive) answers each exchange with the backend address
# it was reached at. Everything is removed at exit, failed or not.
t_require_root
trap 'exit 143' TERM
trap 'exit 130' INT
t_require_cmd ip
: "${SOCKBAL_DRIVE:?SOCKBAL_DRIVE is not set: run the tests with meson test}"
DRIVE=$SOCKBAL_DRIVE
[ -r /sys/kernel/btf/vmlinux ] || t_skip "no kernel BTF (/sys/kernel/btf/vmlinux)"

SB_CG2=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$SB_CG2" ] || t_skip "no cgroup v2 mount on this machine"
SB_CG=$SB_CG2/ferry-$t_name-$$
SB_PIN=/sys/fs/bpf/ferry-$t_name-$$
NS_C=ferry-sbc-$$ NS_B=ferry-sbb-$$
VIP=10.96.0.10 VIP6=fd00:96::10
SB_SERVE_PIDS=()

sb_cleanup() {
    local p
    "$DRIVE" detach "$SB_PIN" >/dev/null 2>&1
    rm -rf "$SB_PIN" 2>/dev/null
    for p in "${SB_SERVE_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    if [ -d "$SB_CG" ]; then
        echo 1 >"$SB_CG/cgroup.kill" 2>/dev/null
        for _ in $(seq 50); do
            [ -z "$(cat "$SB_CG/cgroup.procs" 2>/dev/null)" ] && break
            sleep 0.1
        done
        rmdir "$SB_CG" 2>/dev/null
    fi
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_B" 2>/dev/null
}
t_on_exit sb_cleanup
mkdir "$SB_CG" || t_error "cannot make a cgroup under $SB_CG2"
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || t_error "cannot mount bpffs"

# sb_net: the two namespaces above
sb_net() {
    local i
    ip netns add "$NS_C" && ip netns add "$NS_B" || t_error "ip netns add"
    ip link add "sbc$$" type veth peer name "sbb$$" || t_skip "no veth support here"
    ip link set "sbc$$" netns "$NS_C" && ip link set "sbb$$" netns "$NS_B" || t_error "ip link set netns"
    ip -n "$NS_C" link set lo up && ip -n "$NS_C" link set "sbc$$" up &&
        ip -n "$NS_C" addr add 10.200.0.1/24 dev "sbc$$" &&
        ip -n "$NS_C" addr add fd00:200::1/64 dev "sbc$$" nodad || t_error "configure $NS_C"
    ip -n "$NS_B" link set lo up && ip -n "$NS_B" link set "sbb$$" up &&
        ip -n "$NS_B" addr add 10.200.0.2/24 dev "sbb$$" &&
        ip -n "$NS_B" addr add fd00:200::2/64 dev "sbb$$" nodad || t_error "configure $NS_B"
    for i in 1 2 3 4; do
        ip -n "$NS_B" addr add "10.200.1.$i/32" dev lo &&
            ip -n "$NS_B" addr add "fd00:201::$i/128" dev lo nodad || t_error "backend address $i"
    done
    ip -n "$NS_C" route add 10.200.1.0/24 via 10.200.0.2 &&
        ip -n "$NS_C" route add fd00:201::/64 via fd00:200::2 &&
        ip -n "$NS_C" route add unreachable 10.96.0.0/16 &&
        ip -n "$NS_C" route add unreachable fd00:96::/112 || t_error "client routes"
    # many short connections from one address
    ip netns exec "$NS_C" sysctl -qw net.ipv4.ip_local_port_range="1024 65000"
    # the veth's IPv6 neighbours answer at once (no duplicate address detection was asked for)
    ip -n "$NS_C" route get fd00:201::1 >/dev/null 2>&1 || t_error "no route to the IPv6 backends"
}

# sb_serve PORT IP...: the driver's TCP and UDP servers in the backend namespace
sb_serve() {
    local out=$t_tmp/serve.$1.$RANDOM
    ip netns exec "$NS_B" "$DRIVE" serve "$@" >"$out" 2>&1 &
    SB_SERVE_PIDS+=($!)
    for _ in $(seq 100); do
        grep -q '^serving' "$out" 2>/dev/null && return 0
        kill -0 "${SB_SERVE_PIDS[-1]}" 2>/dev/null || t_error "serve $*: $(cat "$out")"
        sleep 0.05
    done
    t_error "serve $* did not start"
}

# sb_client ARGS...: the driver, run inside the client cgroup
sb_client() {
    sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$SB_CG" "$DRIVE" "$@"
}

# sb_connect OUT ADDR PORT COUNT MODE: COUNT exchanges from the client namespace into OUT
sb_connect() {
    local out=$1; shift
    sb_client connect "/var/run/netns/$NS_C" "$@" >"$out" 2>"$out.err" ||
        t_fail "connect $*: $(cat "$out.err")"
}

# sb_val FILE KEY [WORD2]: the last field of the line "KEY [WORD2] VALUE" (0 if absent)
sb_val() {
    awk -v k="$2" -v w="${3:-}" '$1 == k && (w == "" || $2 == w) { v = $NF } END { print v + 0 }' "$1"
}

# sb_attach [FEATURES]: load, attach at $SB_CG, pin at $SB_PIN (stderr in $t_tmp/attach.err)
sb_attach() {
    "$DRIVE" attach "$SB_CG" "$SB_PIN" "$@" >"$t_tmp/attach.out" 2>"$t_tmp/attach.err" ||
        t_fail "attach: $(cat "$t_tmp/attach.err")"
}

# sb_set VIP PORT PROTO AFFINITY BACKEND...
sb_set() { "$DRIVE" set "$SB_CG" "$SB_PIN" "$@" || t_fail "set $*"; }
