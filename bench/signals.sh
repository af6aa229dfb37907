#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/signals.sh - what the controller's per-pod feed (control/signals) costs at
# the issue's budget, 1000 nodes x 30 pods read once a second within 0.2 core:
# synthetic agents (build/tests/signals/sig_bench: one epoll thread serving a
# page per 127.0.0.1 port, keep-alive, a new sample each second) read by the
# real feed (libcurl multi, the JSON parse, the per-pod table). The feed's CPU
# is the process's CPU less the agents' thread's. Figures, never a pass/fail
# gate; say the machine's load with them.
#
#   bench/signals.sh [--bench PATH] [NODES [PODS [SECONDS]]]    (1000 30 10)
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/build/tests/signals/sig_bench
if [ "${1:-}" = --bench ]; then
    BENCH=$2
    shift 2
fi
[ -x "$BENCH" ] || { echo "bench/signals.sh: no $BENCH (ninja -C build tests/signals/sig_bench)" >&2; exit 2; }
echo "# load: $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs"
exec "$BENCH" "${1:-1000}" "${2:-30}" "${3:-10}"
