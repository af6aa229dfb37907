#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Load: eight jobs at once in one process (t_load, the agent's way), then
# four ferry processes backing up into one repository at once and restoring
# at once: every restore is byte-identical, the repository checks clean.
. "$(dirname "$0")/../lib/t_lib.sh"

t_ok "eight jobs in one process" "$T_LOAD" "$t_tmp"
repo=$(t_repo "$t_tmp/multi")
pids=()
for i in 1 2 3 4; do
    truncate -s 16M "$t_tmp/m$i.img"
    t_region "$t_tmp/m$i.img" 0 10 random
    "$FERRY" backup --repo "$repo" --volume m$i --memory 32M "$t_tmp/m$i.img" >"$t_tmp/b$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2 3; do
    wait "${pids[$i]}" || t_fail "backup $((i + 1)) of four at once: $(cat "$t_tmp/b$((i + 1)).log")"
done
pids=()
for i in 1 2 3 4; do
    "$FERRY" restore --repo "$repo" --volume m$i --memory 32M latest "$t_tmp/o$i.img" >"$t_tmp/r$i.log" 2>&1 &
    pids+=($!)
done
for i in 0 1 2 3; do
    wait "${pids[$i]}" || t_fail "restore $((i + 1)) of four at once: $(cat "$t_tmp/r$((i + 1)).log")"
done
for i in 1 2 3 4; do
    t_same "volume $i of four processes" "$t_tmp/m$i.img" "$t_tmp/o$i.img"
done
t_expect_rc 0 "check after the load" "$FERRY" check --repo "$repo" --read-data
t_done
