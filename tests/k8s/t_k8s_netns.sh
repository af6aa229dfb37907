#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/k8s/t_k8s_netns.sh PROGRAM - an API server that cannot be reached, from inside a
# network namespace this test makes, with no route out of the machine (these VMs accept
# any outbound connect and then stay silent, so the client must never get out):
#   refused    127.0.0.1:1 inside the namespace (nothing listens)
#   noroute    10.255.0.2 with no route to it
#   blackhole  10.254.0.2 at the far end of a veth in a second namespace that has no
#              address (a static neighbour entry, so no ARP: the SYNs vanish there):
#              the connect timeout, stated
. "$(dirname "$0")/../lib/t_lib.sh"
prog=$1
t_require_root
t_require_cmd ip
ns=ferry-k8s-$$
hole=ferry-k8s-hole-$$
ip netns add "$ns" 2>/dev/null || t_skip "cannot make a network namespace here"
t_on_exit "ip netns del '$ns'"
ip netns add "$hole" || t_error "a second namespace"
t_on_exit "ip netns del '$hole'"
in_ns() { ip netns exec "$ns" "$@"; }
in_ns ip link set lo up || t_error "lo"
ip link add bh0 netns "$ns" type veth peer name bh1 netns "$hole" || t_error "a veth pair"
in_ns ip addr add 10.254.0.1/24 dev bh0 || t_error "an address"
in_ns ip link set bh0 up || t_error "bh0 up"
ip netns exec "$hole" ip link set bh1 up || t_error "bh1 up"
in_ns ip neigh add 10.254.0.2 lladdr 02:00:00:00:fe:02 dev bh0 nud permanent ||
    t_error "a neighbour entry"
# nothing but lo and 10.254.0.0/24 is routed
[ "$(in_ns ip route show default | wc -l)" = 0 ] || t_error "the namespace has a default route"
in_ns "$prog" refused https://127.0.0.1:1 || t_fail "refused"
in_ns "$prog" noroute https://10.255.0.2:6443 || t_fail "no route"
in_ns "$prog" blackhole https://10.254.0.2:6443 || t_fail "black hole"
echo "t_k8s_netns: ok"
