#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/autoscale.sh - how soon the HPA's algorithm (control/autoscale) decides
# on ferry's 1 s signals, against the same algorithm on the usual metrics
# pipelines; a simulation, never a pass/fail gate. Uses the driver
# build/tests/autoscale/as_sim (tests/autoscale/as_sim.c says what it models).
#
#   bench/autoscale.sh [--sim PATH] [--seeds "18 7 42"] [--steps 24] [--out FILE]
#
# One synthetic trace per seed: sustained steps at random times (held 8-14
# min), spikes of 1-5 s at 2-3x, +-15 % noise a second; each pipeline at its
# own random phases: ferry (1 s feed, 3 s window, 1 s loop; without the
# window; with a scale-up stabilization window of 8 s), the HPA's 15 s loop on
# metrics-server at 15 s and at its 60 s default, and on KEDA with Prometheus
# (30 s polling, 1 min rate). Three policies: no behavior, the API's default
# behavior, and the default with a 30 s scale-down window. Reported: step ->
# decision, step -> inside the tolerance band, replica-seconds above and below
# the trace's requirement, rescales, reversals within 5 minutes.
#
# What is not simulated: decision -> Ready (scheduling, image pull, probes,
# node provisioning). Pods are Ready the moment a decision asks for them; the
# box tests measure the rest. The figures are deterministic for a seed: the
# machine's load changes how long it takes, never what it prints.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIM=$ROOT/build/tests/autoscale/as_sim
SEEDS=18 STEPS=24 OUT=
while [ $# -gt 0 ]; do
    case $1 in
    --sim) SIM=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,23p' "$0"; exit 0 ;;
    *) echo "autoscale.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -x "$SIM" ] || { echo "autoscale.sh: no $SIM (ninja -C build)" >&2; exit 1; }
[ "$STEPS" -ge 20 ] 2>/dev/null || echo "autoscale.sh: fewer than 20 steps: a thin sample" >&2

run() {
    echo "# bench/autoscale.sh $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo
    echo "Decision -> Ready is not simulated: pods are Ready when a decision asks for them."
    echo
    for s in $SEEDS; do
        "$SIM" --seed "$s" --steps "$STEPS" || return 1
    done
}
if [ -n "$OUT" ]; then
    run | tee "$OUT"
else
    run
fi
