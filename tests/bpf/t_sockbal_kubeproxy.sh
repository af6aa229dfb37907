#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Detached, kube-proxy's rules serve the Service. The client namespace gets
# iptables rules in kube-proxy's chain shape (nat OUTPUT -> KUBE-SERVICES ->
# KUBE-SVC-... with statistic random -> KUBE-SEP-... DNAT) and a route for the
# service CIDR through the backend namespace, which has no VIP address and no
# forwarding (so a packet that no one translates is dropped there: a black
# hole). With the balancer attached, the rules never see a packet (the
# connect was rewritten before one existed); after `ferry lb disable`
# (`ferry lb disable`) every connect goes through the rules, to all three backends; with neither,
# the connect times out (the black hole, 3 s stated by the driver).
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/sockbal_lib.sh"
t_require_cmd iptables

sb_net
sb_serve 8080 10.200.1.1 10.200.1.2 10.200.1.3
ipt() { ip netns exec "$NS_C" iptables -w -t nat "$@" || t_error "iptables $*"; }
ipt -N KUBE-SERVICES
ipt -A OUTPUT -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
ipt -N KUBE-SVC-FERRYSOCKBALTEST
ipt -A KUBE-SERVICES -d $VIP/32 -p tcp -m comment --comment "default/web:http cluster IP" \
    -m tcp --dport 80 -j KUBE-SVC-FERRYSOCKBALTEST
for i in 1 2 3; do ipt -N KUBE-SEP-FERRYSOCKBAL$i; done
ipt -A KUBE-SVC-FERRYSOCKBALTEST -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-FERRYSOCKBAL1
ipt -A KUBE-SVC-FERRYSOCKBALTEST -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-FERRYSOCKBAL2
ipt -A KUBE-SVC-FERRYSOCKBALTEST -j KUBE-SEP-FERRYSOCKBAL3
for i in 1 2 3; do
    ipt -A KUBE-SEP-FERRYSOCKBAL$i -p tcp -m tcp -j DNAT --to-destination 10.200.1.$i:8080
done
# the VIPs are routed now (as on a node), through a namespace that drops them
ip -n "$NS_C" route replace 10.96.0.0/16 via 10.200.0.2 || t_error "route"
svc_packets() {
    ip netns exec "$NS_C" iptables -w -t nat -L KUBE-SERVICES -v -x -n | awk '/KUBE-SVC-FERRYSOCKBALTEST/ { print $1 }'
}

sb_attach
sb_set $VIP 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1
sb_connect "$t_tmp/bpf" $VIP 80 300 tcp
t_log "attached: $(tr '\n' ' ' <"$t_tmp/bpf"); kube-proxy's rule saw $(svc_packets) packets"
t_ok "attached: served" [ "$(sb_val "$t_tmp/bpf" total)" = 300 ] && [ "$(grep -c '^error' "$t_tmp/bpf")" = 0 ]
t_ok "attached: kube-proxy's rules saw no packet" [ "$(svc_packets)" = 0 ]

# a skipped cgroup (a pod with a mesh sidecar): its container's connects go
# to the Service address, to kube-proxy's rules; the skip is at the pod's
# level, the client runs one level below (an ancestor lookup)
POD_CG=$SB_CG/pod ; CTR_CG=$POD_CG/ctr
skip_cleanup() { rmdir "$CTR_CG" "$POD_CG" 2>/dev/null; }
t_on_exit skip_cleanup
mkdir -p "$CTR_CG" || t_error "mkdir $CTR_CG"
pod_connect() {
    sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$CTR_CG" "$DRIVE" connect \
        "/var/run/netns/$NS_C" $VIP 80 "$2" tcp >"$1" 2>"$1.err" || t_fail "connect: $(cat "$1.err")"
}
"$DRIVE" skip "$SB_CG" "$SB_PIN" "$POD_CG" on >"$t_tmp/skip" || t_fail "skip on"
t_ok "skip: listed, read-only refused" [ "$(sb_val "$t_tmp/skip" listed)" = 1 ] && \
    [ "$(sb_val "$t_tmp/skip" readonly_refuses)" = 1 ] && [ "$(sb_val "$t_tmp/skip" services)" = 1 ]
pod_connect "$t_tmp/skipped" 100
t_log "skipped pod: $(tr '\n' ' ' <"$t_tmp/skipped"); kube-proxy's rule saw $(svc_packets) packets"
t_ok "skipped pod: kube-proxy's rules serve all of its connects" \
    [ "$(sb_val "$t_tmp/skipped" total)" = 100 ] && [ "$(svc_packets)" = 100 ]
"$DRIVE" skip "$SB_CG" "$SB_PIN" "$POD_CG" off >"$t_tmp/unskip" || t_fail "skip off"
pod_connect "$t_tmp/unskipped" 100
t_ok "skip removed: balanced again, the rules see nothing more" \
    [ "$(sb_val "$t_tmp/unskip" skipped)" = 0 ] && [ "$(sb_val "$t_tmp/unskipped" total)" = 100 ] && \
    [ "$(svc_packets)" = 100 ]
skip_cleanup

# what `ferry lb status` reads of the pinned maps, then `ferry lb disable`
: "${FERRY:?FERRY is not set: run the tests with meson test}"
"$FERRY" lb status --pin-dir "$SB_PIN" >"$t_tmp/status" 2>&1 || t_fail "ferry lb status: $(cat "$t_tmp/status")"
t_log "ferry lb status: $(tr '\n' '|' <"$t_tmp/status")"
t_ok "ferry lb status: the Service, its three backends' slots adding up to the table" \
    grep -q "^socket load balancer: on .* services 1 skipped_cgroups 0" "$t_tmp/status" && \
    [ "$(awk '/^service 10.96.0.10:80\/tcp/ { print $NF }' "$t_tmp/status")" = 3 ] && \
    [ "$(awk '/^  backend 10.200.1.[123]:8080 weight 1/ { s += $NF } END { print s }' "$t_tmp/status")" = \
      "$(awk '/^service 10.96.0.10:80\/tcp/ { print $6 }' "$t_tmp/status")" ]
"$FERRY" lb disable --pin-dir "$SB_PIN" >"$t_tmp/disable" 2>&1 || t_fail "ferry lb disable: $(cat "$t_tmp/disable")"
"$FERRY" lb status --pin-dir "$SB_PIN" >"$t_tmp/status2" 2>&1
t_ok "ferry lb status after disable: off" grep -q "^socket load balancer: off" "$t_tmp/status2"
t_ok "detached: the cgroup holds no program" [ -z "$(bpftool cgroup show "$SB_CG" 2>/dev/null | grep -v '^ID')" ]
t_ok "detached: the pins are gone" [ ! -e "$SB_PIN/sockbal-v2" ]
sb_connect "$t_tmp/kp" $VIP 80 300 tcp
t_log "detached: $(tr '\n' ' ' <"$t_tmp/kp"); kube-proxy's rule saw $(svc_packets) packets"
t_ok "detached: kube-proxy's rules serve every connect" [ "$(sb_val "$t_tmp/kp" total)" = 300 ] && \
    [ "$(grep -c '^error' "$t_tmp/kp")" = 0 ] && [ "$(svc_packets)" = 400 ]
t_ok "detached: all three backends" [ "$(grep -c '^backend' "$t_tmp/kp")" = 3 ]
t_ok "detached: the peer is the Service address" [ "$(sb_val "$t_tmp/kp" peer_bad)" = 0 ]

# neither balancer: the black hole (the route is not what serves it)
ipt -F KUBE-SERVICES
sb_connect "$t_tmp/none" $VIP 80 1 tcp
t_log "no balancer: $(tr '\n' ' ' <"$t_tmp/none")"
t_ok "no balancer: the connect times out" [ "$(sb_val "$t_tmp/none" error ETIMEDOUT)" = 1 ]
t_done
