# SPDX-License-Identifier: MIT
# tests/reliability/rel_lib.sh - what the reliability tests share, on top of
# tests/lib/t_lib.sh (source that first):
#
#   rel_s3_env                 the RGW of tests/run (FERRY_TEST_S3_*), or FAIL naming tests/run
#   rel_proxy_start [ARGS]     tests/s3/s3proxy.py in front of it; sets rel_px (pid),
#                              rel_px_port, rel_px_log; AWS_ENDPOINT_URL points at it
#   rel_proxy_stop             (also at exit); AWS_ENDPOINT_URL is the RGW's again
#   rel_faults [LOG]           "kind=count ..." of the faults the proxy injected
#   rel_nfaults [LOG]          how many
#   rel_mkvol FILE MIB SEED    a volume: 1/2 random, 1/4 text, 1/4 zero (seeded: reproducible)
#   rel_verify DESC REPO [ID IMAGE]...  check --read-data passes, and each snapshot ID
#                              restores byte-identical to IMAGE
#   rel_snap_ids REPO          the ids the repository lists, one a line, oldest first
#   rel_wait_log N PAT...      wait (30 s at most) until N lines of the proxy's log hold every PAT
#   rel_proxy_bad / _clear     the proxy fails every request from now on (SIGUSR1) / no more (SIGUSR2)
#   rel_timed CMD...           t_run, and the milliseconds it took in $rel_ms
#
# FERRY_RELIABILITY_LONG=1 makes the tests run more seeds, kill points and
# longer stalls (by hand; CI runs the short set).
REL_LONG=${FERRY_RELIABILITY_LONG:-0}
REL_PY=/usr/bin/python3
[ -x "$REL_PY" ] || REL_PY=python3

rel_s3_env() {
    t_require_s3
    rel_upstream=${FERRY_TEST_S3_ENDPOINT#http://}
    rel_upstream=${rel_upstream%%/*}
}

rel_px=
rel_proxy_stop() {
    if [ -n "$rel_px" ]; then
        kill "$rel_px" 2>/dev/null
        wait "$rel_px" 2>/dev/null
        rel_px=
    fi
    [ -z "${FERRY_TEST_S3_ENDPOINT:-}" ] || export AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT
}
t_on_exit rel_proxy_stop

# rel_proxy_start [--listen PORT] [s3proxy options]: a fresh log each time
rel_proxy_start() {
    rel_proxy_stop
    rel_px_log=$t_tmp/proxy.$((++rel_px_n)).log
    rm -f "$t_tmp/proxy.port"
    "$REL_PY" "$FERRY_SRC/tests/s3/s3proxy.py" --upstream "$rel_upstream" \
        --port-file "$t_tmp/proxy.port" --log "$rel_px_log" "$@" &
    rel_px=$!
    for _ in $(seq 100); do [ -s "$t_tmp/proxy.port" ] && break; sleep 0.05; done
    [ -s "$t_tmp/proxy.port" ] || t_error "the proxy did not start"
    rel_px_port=$(cat "$t_tmp/proxy.port")
    export AWS_ENDPOINT_URL=http://127.0.0.1:$rel_px_port
}
rel_px_n=0

rel_faults() {
    "$REL_PY" - "${1:-$rel_px_log}" <<'PY'
import collections, json, sys
c = collections.Counter()
for l in open(sys.argv[1]):
    f = json.loads(l).get("fault")
    if f:
        c[f] += 1
print(" ".join("%s=%d" % kv for kv in sorted(c.items())) or "none")
PY
}

rel_nfaults() {
    "$REL_PY" - "${1:-$rel_px_log}" <<'PY'
import json, sys
print(sum(1 for l in open(sys.argv[1]) if json.loads(l).get("fault")))
PY
}

rel_mkvol() {
    "$REL_PY" - "$1" "$2" "$3" <<'PY'
import random, sys
path, mib, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(seed)
with open(path, "wb") as f:
    for i in range(mib):
        if i < mib // 2:
            f.write(r.randbytes(1 << 20))
        elif i < mib * 3 // 4:
            line = ("ferry reliability %d " % seed).encode() * 4 + b"\n"
            f.write((line * ((1 << 20) // len(line) + 1))[:1 << 20])
        else:
            f.write(bytes(1 << 20))
PY
}

rel_snap_ids() {
    "$FERRY" snapshots --repo "$1" --no-cache --json |
        "$REL_PY" -c 'import json,sys; [print(s["id"]) for s in json.load(sys.stdin)]'
}

rel_verify() {
    local desc=$1 repo=$2
    shift 2
    t_expect_rc 0 "$desc: check --read-data" "$FERRY" check --repo "$repo" --no-cache --read-data
    while [ $# -ge 2 ]; do
        rm -f "$t_tmp/verify.img"
        t_expect_rc 0 "$desc: restore ${1:0:16}" "$FERRY" restore --repo "$repo" --no-cache "$1" "$t_tmp/verify.img"
        t_same "$desc: ${1:0:16}" "$2" "$t_tmp/verify.img"
        shift 2
    done
}

rel_wait_log() {
    local n=$1 i c p
    shift
    for ((i = 0; i < 600; i++)); do
        c=$(cat "$rel_px_log")
        for p in "$@"; do
            c=$(grep -F -- "$p" <<<"$c")
        done
        [ "$(grep -c . <<<"$c")" -ge "$n" ] && return 0
        sleep 0.05
    done
    t_fail "the proxy's log never had $n lines with: $*"
}
rel_proxy_bad() { kill -USR1 "$rel_px"; }
rel_proxy_clear() { kill -USR2 "$rel_px"; }

rel_timed() {
    local t0
    t0=$(date +%s%N)
    t_run "$@"
    rel_ms=$((($(date +%s%N) - t0) / 1000000))
}
