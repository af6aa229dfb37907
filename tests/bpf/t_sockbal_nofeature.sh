#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# A refused attach is survived: another tool holds cgroup/sendmsg4 at the
# client cgroup exclusively (attached without BPF_F_ALLOW_MULTI), so the
# kernel refuses the balancer's UDP link there. The balancer says so once,
# attaches everything else, and TCP Services are balanced; UDP to a Service
# then passes untouched (unreachable). A reopen over the pins (an agent
# restart) behaves the same. Leaving the UDP group out on purpose works too.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/sockbal_lib.sh"

sb_net
sb_serve 8080 10.200.1.1 10.200.1.2 10.200.1.3
sb_serve 53 10.200.1.1 10.200.1.2 10.200.1.3
"$DRIVE" block "$SB_CG" || t_error "block"

for round in first reopen; do
    sb_attach
    n=$(grep -c "UDP" "$t_tmp/attach.err")
    t_log "$round: $(cat "$t_tmp/attach.out") -- $(grep UDP "$t_tmp/attach.err")"
    t_ok "$round: the refused UDP group is reported once ($n)" [ "$n" = 1 ]
    t_ok "$round: it says what goes on" grep -q "continuing without them" "$t_tmp/attach.err"
    t_ok "$round: connect and getpeername attached" grep -q '^features connect,peer,$' "$t_tmp/attach.out"
done
sb_set $VIP 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1
sb_set $VIP 53 udp none 10.200.1.1,53,1 10.200.1.2,53,1 10.200.1.3,53,1
sb_connect "$t_tmp/tcp" $VIP 80 300 tcp
t_log "TCP: $(tr '\n' ' ' <"$t_tmp/tcp")"
t_ok "TCP Services are balanced" [ "$(sb_val "$t_tmp/tcp" total)" = 300 ] && \
    [ "$(grep -c '^error' "$t_tmp/tcp")" = 0 ] && [ "$(grep -c '^backend' "$t_tmp/tcp")" = 3 ]
t_ok "getpeername still says the Service" [ "$(sb_val "$t_tmp/tcp" peer_bad)" = 0 ]
sb_connect "$t_tmp/udp" $VIP 53 1 udp
t_log "UDP: $(tr '\n' ' ' <"$t_tmp/udp")"
t_ok "UDP to the Service passes untouched" [ "$(sb_val "$t_tmp/udp" error EHOSTUNREACH)" = 1 ]
# connected UDP goes through connect4, which works
sb_connect "$t_tmp/udpc" $VIP 53 30 udpc
t_ok "connected UDP is balanced by connect4" [ "$(sb_val "$t_tmp/udpc" total)" = 30 ] && \
    [ "$(grep -c '^error' "$t_tmp/udpc")" = 0 ]

# the group left out on purpose: no warning
"$DRIVE" detach "$SB_PIN" || t_fail "detach"
sb_attach connect,peer
t_ok "left out: nothing reported ($(cat "$t_tmp/attach.err"))" [ "$(grep -c UDP "$t_tmp/attach.err")" = 0 ]
t_ok "left out: connect and getpeername" grep -q '^features connect,peer,$' "$t_tmp/attach.out"
t_done
