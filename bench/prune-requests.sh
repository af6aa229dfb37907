#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/prune-requests.sh - how many requests a prune of N packs makes on an S3
# store, old binary against new, on a plain and on a versioned bucket.
#
#   bench/prune-requests.sh --old OLD_FERRY --new NEW_FERRY --make NEW_FERRY_TEST [--packs N]
#
# Against the RGW of tests/run (FERRY_TEST_S3_ENDPOINT, _ACCESS_KEY,
# _SECRET_KEY, _REGION). For each bucket kind (plain, versioned) and each
# binary, a repository gets N packs of one 64 KiB chunk each (one backup
# with FERRY_TEST_PACK_SIZE, which only a test build honours: --make), its
# snapshot is forgotten, and `prune --no-cache` runs through
# tests/s3/s3proxy.py in pass-through mode, whose log counts every request.
# The old and the new binary prune repositories made the same way, in the
# same run. Prints one line per run: requests by kind, and seconds.
set -uo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
PACKS=2000
OLD= NEW= MAKE=
while [ $# -gt 0 ]; do
    case $1 in
    --old) OLD=$2; shift 2 ;;
    --new) NEW=$2; shift 2 ;;
    --make) MAKE=$2; shift 2 ;;
    --packs) PACKS=$2; shift 2 ;;
    *) echo "usage: $0 --old FERRY --new FERRY --make FERRY_TEST [--packs N]" >&2; exit 2 ;;
    esac
done
[ -x "$OLD" ] && [ -x "$NEW" ] && [ -x "$MAKE" ] || { echo "$0: --old, --new and --make are ferry binaries" >&2; exit 2; }
: "${FERRY_TEST_S3_ENDPOINT:?the RGW of tests/run}"
export AWS_ACCESS_KEY_ID=$FERRY_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$FERRY_TEST_S3_SECRET_KEY
export AWS_REGION=${FERRY_TEST_S3_REGION:-us-east-1} FERRY_PASSWORD=bench-password
unset AWS_CA_BUNDLE AWS_PROFILE
PY=/usr/bin/python3
tmp=$(mktemp -d /tmp/ferry-prune-bench-XXXXXX)
plain=ferry-pb-$$-p
versioned=ferry-pb-$$-v
cleanup() {
    [ -n "${px:-}" ] && kill "$px" 2>/dev/null
    $PY "$SRC/tests/s3/s3admin.py" "$FERRY_TEST_S3_ENDPOINT" rmbucket "$plain" -- rmbucket "$versioned" >/dev/null 2>&1
    rm -rf "$tmp"
}
trap cleanup EXIT
$PY "$SRC/tests/s3/s3admin.py" "$FERRY_TEST_S3_ENDPOINT" mkbucket "$plain" -- mkbucket "$versioned" --versioning >/dev/null ||
    { echo "$0: cannot make the buckets" >&2; exit 1; }

# N chunks of 64 KiB, random: one pack each
head -c $((PACKS * 65536)) /dev/urandom >"$tmp/v.img"

# make BUCKET NAME: a repository whose N packs no snapshot references
make_repo() {
    local repo=s3://$1/$2 ids
    export AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT
    "$MAKE" init --repo "$repo" --chunk-size 64K --scrypt-n 1024 >/dev/null || return 1
    FERRY_TEST_PACK_SIZE=1 "$MAKE" backup --repo "$repo" --volume v --no-cache --progress none \
        "$tmp/v.img" >/dev/null || return 1
    ids=$("$MAKE" snapshots --repo "$repo" --no-cache --json |
        $PY -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')
    "$MAKE" forget --repo "$repo" --no-cache $ids >/dev/null
}

# prune BIN BUCKET NAME KIND LABEL: one prune through the counting proxy
prune() {
    local bin=$1 repo=s3://$2/$3 log=$tmp/$4-$3.log up=${FERRY_TEST_S3_ENDPOINT#http://} t0 t1 out
    rm -f "$tmp/port"
    $PY "$SRC/tests/s3/s3proxy.py" --upstream "${up%%/*}" --port-file "$tmp/port" --log "$log" &
    px=$!
    for _ in $(seq 100); do [ -s "$tmp/port" ] && break; sleep 0.05; done
    export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$tmp/port")
    t0=$(date +%s.%N)
    out=$("$bin" prune --repo "$repo" --no-cache --json) || { echo "$0: prune failed ($5, $4)" >&2; exit 1; }
    t1=$(date +%s.%N)
    kill "$px"; wait "$px" 2>/dev/null; px=
    $PY - "$log" "$4" "$5" "$(echo "$t1 - $t0" | bc)" "$out" <<'PY'
import collections, json, sys
log, kind, label, secs, out = sys.argv[1:]
c = collections.Counter()
for line in open(log):
    r = json.loads(line)
    m, t = r["method"], r["target"]
    if m == "POST" and "?delete" in t:
        k = "DeleteObjects"
    elif m == "DELETE" and "versionId=" in t:
        k = "DELETE version"
    elif m == "DELETE" and "/locks/" in t:
        k = "lock"
    elif m == "DELETE":
        k = "DELETE"
    elif m == "GET" and "versions" in t.split("?", 1)[-1]:
        k = "list versions"
    elif m == "GET" and "list-type" in t:
        k = "list"
    elif m == "GET" and "/index/" in t:
        k = "GET index"
    elif m == "PUT" and "/locks/" in t:
        k = "lock"
    else:
        k = m + " other"
    c[k] += 1
rep = json.loads(out)
deleting = sum(v for k, v in c.items() if k in ("DeleteObjects", "DELETE", "DELETE version", "list versions"))
print(f"{kind:9} {label:3} total {sum(c.values()):6}  deleting {deleting:6}  "
      + "  ".join(f"{k} {v}" for k, v in sorted(c.items()))
      + f"  | {float(secs):6.1f} s, {rep['objects_deleted']} objects deleted, {rep['versions_deleted']} versions")
PY
}

echo "# prune of $PACKS packs (+ their $PACKS index objects), requests counted by s3proxy.py"
echo "# load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for kind in plain versioned; do
    b=$plain
    [ $kind = versioned ] && b=$versioned
    make_repo "$b" old || { echo "$0: making the repository failed" >&2; exit 1; }
    make_repo "$b" new || { echo "$0: making the repository failed" >&2; exit 1; }
    prune "$OLD" "$b" old $kind old
    prune "$NEW" "$b" new $kind new
done
echo "# load after: $(cut -d' ' -f1-3 /proc/loadavg)"
