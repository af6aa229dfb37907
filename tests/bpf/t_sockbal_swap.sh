#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Table swaps. Removing one of N equal backends moves at most 1/N + 1 % of
# the slots (the excess is reported); the kernel then holds exactly the
# table the builder made, and the old generation is freed. A connector runs while backends are removed and
# put back as fast as the API allows, and while the balancer is reopened
# halfway (an agent restart: new programs swapped into the pinned links):
# no connect() that began after a removal returned reaches the removed
# backend, and no connect() fails or goes unbalanced.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/sockbal_lib.sh"

sb_net
sb_serve 8080 10.200.1.1 10.200.1.2 10.200.1.3 10.200.1.4
sb_attach

# disruption, on affinity tables (where a moved slot moves a client)
for n in 3 4; do
    set -- $(for i in $(seq $n); do echo 10.200.1.$i,8080,1; done)
    sb_set $VIP 80 tcp client "$@"
    "$DRIVE" table "$SB_CG" "$SB_PIN" $VIP 80 tcp >"$t_tmp/before.$n" || t_fail "table"
    for drop in $(seq $n); do
        keep=$(for i in $(seq $n); do [ $i = $drop ] || echo 10.200.1.$i,8080,1; done)
        "$DRIVE" moved "$SB_CG" "$SB_PIN" $VIP 80 tcp $keep >"$t_tmp/moved" || t_fail "moved"
        m=$(awk '$1 == "m" { print $2 }' "$t_tmp/moved") moved=$(sb_val "$t_tmp/moved" moved)
        read -r frac excess <<<"$(python3 -c "m, mv, n = $m, $moved, $n; print('%.4f %.2f' % (mv / m, 100 * (mv / m - 1 / n)))")"
        t_log "N=$n, m=$m: removing 10.200.1.$drop moves $moved slots ($frac; 1/N + $excess %)"
        t_ok "N=$n: removing one moves <= 1/N + 1 % ($frac)" python3 -c "import sys; sys.exit(0 if $moved / $m <= 1 / $n + 0.01 else 1)"
    done
    # the kernel's table after the swap is the builder's, counted the same way
    sb_set $VIP 80 tcp client $keep
    "$DRIVE" table "$SB_CG" "$SB_PIN" $VIP 80 tcp >"$t_tmp/after.$n" || t_fail "table"
    t_ok "N=$n: the generation count went up" [ "$(sb_val "$t_tmp/after.$n" gen)" -gt "$(sb_val "$t_tmp/before.$n" gen)" ]
    t_ok "N=$n: the size was kept" [ "$(sb_val "$t_tmp/after.$n" m)" = "$(sb_val "$t_tmp/before.$n" m)" ]
    t_ok "N=$n: the dropped backend owns no slot" [ -z "$(grep "^slots 10.200.1.$n:" "$t_tmp/after.$n")" ]
    # the old generation (the dropped backend's entries with it) is freed after the grace period
    old=$(sb_val "$t_tmp/before.$n" map_id) new=$(sb_val "$t_tmp/after.$n" map_id)
    t_ok "N=$n: a new generation map ($old -> $new)" [ "$old" -gt 0 ] && [ "$new" -gt 0 ] && [ "$old" != "$new" ]
    for _ in $(seq 100); do bpftool map show id "$old" >/dev/null 2>&1 || break; sleep 0.05; done
    t_ok "N=$n: the old generation map $old is freed" bash -c "! bpftool map show id $old >/dev/null 2>&1"
    t_ok "N=$n: the current one, $new, is there" bpftool map show id "$new"
done

# a connector during swaps and a reopen
sb_set $VIP 80 tcp none 10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1 10.200.1.4,8080,1
sb_client swaps "$SB_CG" "$SB_PIN" "/var/run/netns/$NS_C" $VIP 80 4 \
    10.200.1.1,8080,1 10.200.1.2,8080,1 10.200.1.3,8080,1 10.200.1.4,8080,1 \
    >"$t_tmp/swaps" 2>"$t_tmp/swaps.err" || t_fail "swaps: $(cat "$t_tmp/swaps.err")"
t_log "swaps: $(tr '\n' ' ' <"$t_tmp/swaps")"
t_ok "swaps happened ($(sb_val "$t_tmp/swaps" swaps))" [ "$(sb_val "$t_tmp/swaps" swaps)" -ge 50 ]
t_ok "connects happened during them ($(sb_val "$t_tmp/swaps" connects))" [ "$(sb_val "$t_tmp/swaps" connects)" -ge 500 ]
t_ok "connects happened during the reopen" [ "$(sb_val "$t_tmp/swaps" during_reopen)" -ge 1 ]
t_ok "no connect reached a backend removed before it began: $(head -3 "$t_tmp/swaps.err")" \
    [ "$(sb_val "$t_tmp/swaps" violations)" = 0 ]
t_ok "no connect failed (none went unbalanced)" [ "$(sb_val "$t_tmp/swaps" fails)" = 0 ]
t_done
