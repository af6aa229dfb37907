#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Three backends (weights 2, 3, 5) behind a ClusterIP, a client cgroup with
# the socket load balancer attached: the table's slot shares match the
# weights within 1 %; with the table frozen, 20 000 connects match the slot
# shares (chi-square, failing only at p < 1e-6, so it cannot flake), every
# one answered, and getpeername() says the Service address. A port the
# Service lacks, and any other address, pass untouched; a Service without
# backends refuses at once (ECONNREFUSED, not the unreachable route's
# EHOSTUNREACH, not a timeout).
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/sockbal_lib.sh"

sb_net
sb_serve 8080 10.200.1.1 10.200.1.2 10.200.1.3

# nothing attached: the Service address goes nowhere (the unreachable route)
sb_connect "$t_tmp/pre" $VIP 80 1 tcp
t_ok "unbalanced, the VIP is unreachable ($(cat "$t_tmp/pre" | tr '\n' ' '))" \
    [ "$(sb_val "$t_tmp/pre" error EHOSTUNREACH)" = 1 ]

sb_attach
t_ok "all program groups attached ($(cat "$t_tmp/attach.out"))" grep -q '^features connect,peer,udp,$' "$t_tmp/attach.out"
sb_set $VIP 80 tcp none 10.200.1.1,8080,2 10.200.1.2,8080,3 10.200.1.3,8080,5
"$DRIVE" table "$SB_CG" "$SB_PIN" $VIP 80 tcp >"$t_tmp/table" || t_fail "table"
m=$(sb_val "$t_tmp/table" m)
t_log "table: $(tr '\n' ' ' <"$t_tmp/table")"
t_ok "a read-only open reads the table and refuses changes" grep -q '^readonly_refuses 1$' "$t_tmp/table"
t_ok "slots: the ladder's prime for 10/2 = 5 units ($m)" [ "$m" = 509 ]
# slot shares against the weights (2, 3, 5 of 10), relative
python3 - "$t_tmp/table" <<'EOP' || t_fail "slot shares vs weights"
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.startswith("slots ")]
m = sum(int(r[3]) for r in rows); W = sum(int(r[2]) for r in rows)
for r in rows:
    share, want = int(r[3]) / m, int(r[2]) / W
    print("# %s: %d slots, share %.4f, weight share %.4f, off by %.3f %%" % (r[1], int(r[3]), share, want, 100 * abs(share / want - 1)), file=sys.stderr)
    if abs(share / want - 1) > 0.01:
        sys.exit(1)
EOP
t_checks=$((t_checks + 1))

N=20000
sb_connect "$t_tmp/conn" $VIP 80 $N tcp
t_log "$N connects: $(tr '\n' ' ' <"$t_tmp/conn")"
t_ok "every connect answered" [ "$(sb_val "$t_tmp/conn" total)" = $N ] && \
    [ "$(grep -c '^error' "$t_tmp/conn")" = 0 ]
t_ok "getpeername() said the Service address every time" [ "$(sb_val "$t_tmp/conn" peer_bad)" = 0 ]
# chi-square of the answers against the table's slot shares; df = 2: p = exp(-x/2)
python3 - "$t_tmp/table" "$t_tmp/conn" <<'EOP' || t_fail "connects do not follow the table"
import math, sys
slots = {l.split()[1].rsplit(":", 1)[0]: int(l.split()[3]) for l in open(sys.argv[1]) if l.startswith("slots ")}
got = {l.split()[1]: int(l.split()[2]) for l in open(sys.argv[2]) if l.startswith("backend ")}
if set(got) - set(slots):
    print("# answers from outside the table: %s" % (set(got) - set(slots)), file=sys.stderr); sys.exit(1)
n, m = sum(got.values()), sum(slots.values())
x = sum((got.get(b, 0) - n * s / m) ** 2 / (n * s / m) for b, s in slots.items())
df = len(slots) - 1
p = math.exp(-x / 2) if df == 2 else None
print("# chi-square %.2f, df %d, p %.3g (fails below 1e-6)" % (x, df, p), file=sys.stderr)
for b in sorted(slots):
    print("# %s: %d connects (%.4f), slot share %.4f" % (b, got.get(b, 0), got.get(b, 0) / n, slots[b] / m), file=sys.stderr)
sys.exit(0 if df == 2 and p >= 1e-6 else 1)
EOP
t_checks=$((t_checks + 1))
t_ok "the table did not change meanwhile" [ "$("$DRIVE" table "$SB_CG" "$SB_PIN" $VIP 80 tcp | md5sum)" = "$(md5sum <"$t_tmp/table")" ]

# untouched: a port the Service lacks, and a backend reached directly
sb_connect "$t_tmp/port" $VIP 81 1 tcp
t_ok "another port of the VIP passes untouched ($(tr '\n' ' ' <"$t_tmp/port"))" [ "$(sb_val "$t_tmp/port" error EHOSTUNREACH)" = 1 ]
sb_connect "$t_tmp/direct" 10.200.1.2 8080 20 tcp
t_ok "a backend reached directly stays that backend" [ "$(sb_val "$t_tmp/direct" backend 10.200.1.2)" = 20 ] && \
    [ "$(sb_val "$t_tmp/direct" peer_bad)" = 0 ]
sb_connect "$t_tmp/udp81" $VIP 80 1 udp
t_ok "UDP to a TCP-only Service port passes untouched" [ "$(sb_val "$t_tmp/udp81" error EHOSTUNREACH)" = 1 ]

# no backends, and only drained ones: refused at once
sb_set 10.96.0.11 80 tcp none
sb_connect "$t_tmp/none" 10.96.0.11 80 3 tcp
t_log "no backends: $(tr '\n' ' ' <"$t_tmp/none")"
t_ok "no backends: ECONNREFUSED" [ "$(sb_val "$t_tmp/none" error ECONNREFUSED)" = 3 ]
sb_set 10.96.0.11 80 tcp none 10.200.1.1,8080,0 10.200.1.2,8080,0
sb_connect "$t_tmp/drained" 10.96.0.11 80 3 tcp
t_ok "only drained backends: ECONNREFUSED" [ "$(sb_val "$t_tmp/drained" error ECONNREFUSED)" = 3 ]
# and back to a working Service: the swap takes effect
sb_set 10.96.0.11 80 tcp none 10.200.1.4,8080,1
sb_serve 8080 10.200.1.4
sb_connect "$t_tmp/back" 10.96.0.11 80 5 tcp
t_ok "a Service given a backend again is served" [ "$(sb_val "$t_tmp/back" backend 10.200.1.4)" = 5 ]
"$DRIVE" remove "$SB_CG" "$SB_PIN" 10.96.0.11 80 tcp || t_fail "remove"
sb_connect "$t_tmp/removed" 10.96.0.11 80 1 tcp
t_ok "a removed Service passes untouched" [ "$(sb_val "$t_tmp/removed" error EHOSTUNREACH)" = 1 ]
t_done
