#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Network bytes per pod: two network namespaces joined by a veth pair (the
# only addresses used are the ones this test puts there); pod A sends a known
# amount over TCP to pod B, which answers. Each pod's rx/tx bytes must equal
# the kernel's IP counters (nstat IpExtInOctets/IpExtOutOctets) of its own
# namespace exactly, and each pod must carry its own traffic only.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/bpf_lib.sh"
t_require_cmd ip
t_require_cmd nstat

ns_a=ferry-na-$$ ns_b=ferry-nb-$$ va=fna$$ vb=fnb$$
t_on_exit "ip netns del $ns_a; ip netns del $ns_b"
ip netns add "$ns_a" && ip netns add "$ns_b" || t_error "ip netns add"
ip link add "$va" type veth peer name "$vb" || t_skip "no veth support here"
ip link set "$va" netns "$ns_a" && ip link set "$vb" netns "$ns_b" || t_error "ip link set netns"
for ns in "$ns_a:$va:198.18.0.1" "$ns_b:$vb:198.18.0.2"; do
    IFS=: read -r n v addr <<<"$ns"
    # no IPv6 chatter (router solicitations, MLD): IPv4 counters only see the test
    ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
    ip -n "$n" link set lo up && ip -n "$n" link set "$v" up &&
        ip -n "$n" addr add "$addr/30" dev "$v" || t_error "configure $n"
done

uid_a=$(cat /proc/sys/kernel/random/uuid)
uid_b=$(cat /proc/sys/kernel/random/uuid)
pod_a=$(bpf_pod "$uid_a" besteffort); mkdir "$pod_a/ctr-a"
pod_b=$(bpf_pod "$uid_b" besteffort); mkdir "$pod_b/ctr-b"

# attached at the test's own subtree, as on a node at the kubepods cgroup
bpf_agent_start --interval 0.2 --net-cgroup "$T_CG"

send=3000000 reply=1234567
# join the pod cgroup first, then enter the namespace (ip netns exec remounts /sys)
bpf_run_in "$pod_b/ctr-b" ip netns exec "$ns_b" python3 "$(dirname "$0")/tcp_xfer.py" serve 198.18.0.2 5001 $reply >"$t_tmp/srv" &
srv=$!
sleep 0.5
bpf_run_in "$pod_a/ctr-a" ip netns exec "$ns_a" python3 "$(dirname "$0")/tcp_xfer.py" send 198.18.0.2 5001 $send >"$t_tmp/cli" ||
    t_fail "client failed"
wait $srv || t_fail "server failed"
t_ok "server read what was sent" [ "$(cat "$t_tmp/srv")" = $send ]
t_ok "client read the reply" [ "$(cat "$t_tmp/cli")" = $reply ]
sleep 1
bpf_metrics

nstat_of() { ip netns exec "$1" nstat -asz "$2" | awk -v k="$2" '$1 == k { print $2 }'; }
for p in a b; do
    eval "uid=\$uid_$p ns=\$ns_$p"
    in=$(nstat_of "$ns" IpExtInOctets) out=$(nstat_of "$ns" IpExtOutOctets)
    rx=$(bpf_value ferry_pod_network_receive_bytes_total "pod_uid=\"$uid\"")
    tx=$(bpf_value ferry_pod_network_transmit_bytes_total "pod_uid=\"$uid\"")
    rxp=$(bpf_value ferry_pod_network_receive_packets_total "pod_uid=\"$uid\"")
    txp=$(bpf_value ferry_pod_network_transmit_packets_total "pod_uid=\"$uid\"")
    crx=$(bpf_value ferry_container_network_receive_bytes_total "pod_uid=\"$uid\"")
    t_log "pod $p: rx $rx B ($rxp packets) tx $tx B ($txp packets); nstat in its netns: in $in B, out $out B"
    t_ok "pod $p rx bytes equal IpExtInOctets ($rx vs $in)" [ "$rx" = "$in" ]
    t_ok "pod $p tx bytes equal IpExtOutOctets ($tx vs $out)" [ "$tx" = "$out" ]
    t_ok "pod $p container carries the pod's traffic" [ "$crx" = "$rx" ]
    t_ok "pod $p packets counted" [ "${rxp:-0}" -gt 0 ] && [ "${txp:-0}" -gt 0 ]
done
# attribution: what A sent is what B received, payload plus headers
t_ok "A's tx is B's rx" [ "$(bpf_value ferry_pod_network_transmit_bytes_total "pod_uid=\"$uid_a\"")" = \
    "$(bpf_value ferry_pod_network_receive_bytes_total "pod_uid=\"$uid_b\"")" ]
tx_a=$(bpf_value ferry_pod_network_transmit_bytes_total "pod_uid=\"$uid_a\"")
t_ok "A's tx covers the payload ($tx_a >= $send)" [ "$tx_a" -ge $send ]
t_ok "A's tx is not B's ($tx_a)" [ "$tx_a" -lt $((send + send / 10)) ]
t_done
