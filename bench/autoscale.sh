#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/autoscale.sh - how soon the HPA's algorithm (control/autoscale) decides
# on ferry's 1 s signals, against the same algorithm on the usual metrics
# pipelines; a simulation, never a pass/fail gate. Uses the driver
# build/tests/autoscale/as_sim (tests/autoscale/as_sim.c says what it models).
#
#   bench/autoscale.sh [--sim PATH] [--seeds "18 7 42"] [--steps 24] [--sweep] [--out FILE]
#
# One synthetic trace per seed: sustained steps at random times (held 8-14
# min), spikes of 1-5 s at 2-3x, +-15 % noise a second; each pipeline at its
# own random phases: ferry (1 s feed, 1 s loop; each pod's value by the Held
# rule over 6 s, the default; Held over 2 s; the Mean over 3 s, the default
# before; no window; the Mean over 3 s with a scale-up stabilization window of
# 8 s), the HPA's 15 s loop on metrics-server at 15 s and at its 60 s default,
# and on KEDA with Prometheus (30 s polling, 1 min rate). Three policies: no
# behavior, the API's default behavior, and the default with a 30 s
# scale-down window. Reported: step -> decision, step -> inside the tolerance
# band, replica-seconds above and below the trace's requirement, rescales,
# reversals within 5 minutes.
#
# --sweep adds, under the API's default behavior, what costs what: the
# previous default and the baseline with spikes, noise or both taken out of
# the trace; a wider tolerance; and the Held rule at windows of 1-8 s (the
# decision's delay against replica-seconds and reversals).
#
# What is not simulated: decision -> Ready (scheduling, image pull, probes,
# node provisioning). Pods are Ready the moment a decision asks for them; the
# box tests measure the rest. The figures are deterministic for a seed: the
# machine's load changes how long it takes, never what it prints.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SIM=$ROOT/build/tests/autoscale/as_sim
SEEDS="18 7 42" STEPS=24 OUT= SWEEP=
while [ $# -gt 0 ]; do
    case $1 in
    --sim) SIM=$2; shift 2 ;;
    --seeds) SEEDS=$2; shift 2 ;;
    --steps) STEPS=$2; shift 2 ;;
    --sweep) SWEEP=1; shift ;;
    --out) OUT=$2; shift 2 ;;
    -h|--help) sed -n '3,29p' "$0"; exit 0 ;;
    *) echo "autoscale.sh: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
[ -x "$SIM" ] || { echo "autoscale.sh: no $SIM (ninja -C build)" >&2; exit 1; }
[ "$STEPS" -ge 20 ] 2>/dev/null || echo "autoscale.sh: fewer than 20 steps: a thin sample" >&2

# the rows of one policy ("API's defaults") whose pipeline matches $1, from as_sim "$@"
rows() {
    local pat=$1
    shift
    "$SIM" --steps "$STEPS" "$@" | awk -v p="$pat" '/^Policy:/ { on = /API.s defaults/ } on && /^\| [fH]/ && $0 ~ p'
}

sweep() {
    local s
    echo "## What costs what (seeds: $SEEDS; the API's default behavior)"
    echo
    echo "| seed | trace | pipeline | step up -> decision, s | step down -> decision, s | step -> in band, s | replica-s above, per h | below, per h | rescales | reversals <= 5 min |"
    echo "|---|---|---|---|---|---|---|---|---|---|"
    for s in $SEEDS; do
        for t in "" --no-spikes --no-noise "--no-spikes --no-noise"; do
            # shellcheck disable=SC2086
            rows "mean 3 s \\(|held 6 s|metrics-server 15 s" --seed "$s" $t |
                sed "s/^|/| $s | ${t:-as is} |/"
        done
        rows "tolerance" --seed "$s" --window 3000 --rule mean --tolerance 0.2 | sed "s/^|/| $s | as is |/"
        rows "tolerance" --seed "$s" --window 3000 --rule mean --tolerance 0.2 --no-spikes |
            sed "s/^|/| $s | --no-spikes |/"
        for w in 1 2 3 4 5 6 7 8; do
            # the added row is the last (the 2 s one is also among the standing rows)
            rows "ferry: held $w s \\|" --seed "$s" --window $((w * 1000)) --rule held |
                tail -n 1 | sed "s/^|/| $s | as is |/"
        done
    done
    echo
}

run() {
    echo "# bench/autoscale.sh $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null)"
    echo
    echo "Decision -> Ready is not simulated: pods are Ready when a decision asks for them."
    echo
    for s in $SEEDS; do
        "$SIM" --seed "$s" --steps "$STEPS" || return 1
    done
    [ -z "$SWEEP" ] || sweep
}
if [ -n "$OUT" ]; then
    run | tee "$OUT"
else
    run
fi
