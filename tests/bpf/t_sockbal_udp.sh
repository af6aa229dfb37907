#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Beyond IPv4 TCP: a DNS-style query over unconnected UDP to a Service is
# answered, and recvfrom() says the answer came from the Service address
# (recvmsg4 rewrites it back); the same over a connected UDP socket
# (getpeername too); IPv6 clients of an IPv6 Service; IPv4-mapped clients
# (an AF_INET6 socket connecting to ::ffff:10.96.0.10) of an IPv4 Service;
# session affinity ClientIP sends one client to one backend; UDP and IPv6
# Services without backends refuse.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/sockbal_lib.sh"

sb_net
sb_serve 53 10.200.1.1 10.200.1.2 10.200.1.3
sb_serve 8080 10.200.1.1 10.200.1.2 10.200.1.3 fd00:201::1 fd00:201::2 fd00:201::3
sb_attach
sb_set $VIP 53 udp none 10.200.1.1,53,1 10.200.1.2,53,1 10.200.1.3,53,1
sb_set $VIP 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1
sb_set $VIP6 80 tcp none fd00:201::1,8080,1 fd00:201::2,8080,1 fd00:201::3,8080,1
sb_set $VIP6 53 udp none fd00:201::1,8080,1 fd00:201::2,8080,1

# all_three FILE COUNT: COUNT answers, none lost, from all three backends, peers right
all_three() {
    local f=$1 n=$2 what=$3 b
    t_log "$what: $(tr '\n' ' ' <"$f")"
    t_ok "$what: all $n answered" [ "$(sb_val "$f" total)" = "$n" ] && [ "$(grep -c '^error' "$f")" = 0 ]
    t_ok "$what: the Service's address was the peer every time" [ "$(sb_val "$f" peer_bad)" = 0 ]
    t_ok "$what: three backends served" [ "$(grep -c '^backend' "$f")" = 3 ]
}

sb_connect "$t_tmp/dns" $VIP 53 300 udp
all_three "$t_tmp/dns" 300 "UDP sendto/recvfrom (DNS-style)"
sb_connect "$t_tmp/dnsc" $VIP 53 300 udpc
all_three "$t_tmp/dnsc" 300 "connected UDP"
sb_connect "$t_tmp/v6" $VIP6 80 300 tcp
all_three "$t_tmp/v6" 300 "IPv6 TCP"
t_ok "IPv6 backends answered" grep -q '^backend fd00:201::' "$t_tmp/v6"
sb_connect "$t_tmp/v6u" $VIP6 53 200 udp
t_log "IPv6 UDP: $(tr '\n' ' ' <"$t_tmp/v6u")"
t_ok "IPv6 UDP: answered from the Service address" [ "$(sb_val "$t_tmp/v6u" total)" = 200 ] && \
    [ "$(grep -c '^error' "$t_tmp/v6u")" = 0 ] && [ "$(sb_val "$t_tmp/v6u" peer_bad)" = 0 ]
sb_connect "$t_tmp/mapped" "::ffff:$VIP" 80 300 tcp
all_three "$t_tmp/mapped" 300 "IPv4-mapped TCP"
sb_connect "$t_tmp/mappedu" "::ffff:$VIP" 53 300 udp
all_three "$t_tmp/mappedu" 300 "IPv4-mapped UDP"
# a UDP Service without backends: sendto() is refused
sb_set 10.96.0.12 53 udp none
sb_connect "$t_tmp/udpnone" 10.96.0.12 53 2 udp
t_ok "UDP, no backends: ECONNREFUSED ($(tr '\n' ' ' <"$t_tmp/udpnone"))" [ "$(sb_val "$t_tmp/udpnone" error ECONNREFUSED)" = 2 ]
sb_set $VIP6 443 tcp none
sb_connect "$t_tmp/v6none" $VIP6 443 2 tcp
t_ok "IPv6, no backends: ECONNREFUSED" [ "$(sb_val "$t_tmp/v6none" error ECONNREFUSED)" = 2 ]
# an IPv6 port that is no Service: untouched
sb_connect "$t_tmp/v6port" $VIP6 81 1 tcp
t_ok "IPv6: another port passes untouched" [ "$(sb_val "$t_tmp/v6port" error EHOSTUNREACH)" = 1 ]

# ClientIP affinity: the client's network namespace is the key, one backend for all
sb_set $VIP 80 tcp client 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1
sb_connect "$t_tmp/aff" $VIP 80 200 tcp
t_log "affinity: $(tr '\n' ' ' <"$t_tmp/aff")"
t_ok "affinity: one backend for the client" [ "$(grep -c '^backend' "$t_tmp/aff")" = 1 ] && \
    [ "$(grep '^backend' "$t_tmp/aff" | awk '{ print $3 }')" = 200 ]
t_done
