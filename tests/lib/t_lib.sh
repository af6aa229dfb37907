# SPDX-License-Identifier: MIT
# tests/lib/t_lib.sh - what ferry's shell tests share. Source it first:
#
#   . "$(dirname "$0")/../lib/t_lib.sh"
#
# Meson passes FERRY (the ferry binary) and FERRY_TEST (the same with the
# test-only crash hooks) in the environment. Exit codes: 0 pass, 1 fail,
# 77 skip, 99 hard error. t_tmp is a fresh directory removed at exit;
# t_on_exit adds a cleanup command (run in reverse order, even on failure).
set -u

: "${FERRY:?FERRY is not set: run the tests with 'meson test' or tests/run}"
: "${FERRY_TEST:=$FERRY}"
# repositories are encrypted by default: the tests' password (set in tests/meson.build too)
export FERRY_PASSWORD=${FERRY_PASSWORD-ferry-test-password}

t_name=$(basename "$0" .sh)
t_cleanups=()
t_checks=0

t_on_exit() { t_cleanups+=("$*"); }
t__exit() {
    local rc=$? i
    for ((i = ${#t_cleanups[@]} - 1; i >= 0; i--)); do
        eval "${t_cleanups[$i]}" >/dev/null 2>&1 || true
    done
    exit $rc
}
trap t__exit EXIT

t_skip()  { echo "SKIP: $*" >&2; exit 77; }
t_fail()  { echo "FAIL: $*" >&2; exit 1; }
t_error() { echo "ERROR: $*" >&2; exit 99; }
t_log()   { echo "# $*" >&2; }

t_require_root() { [ "$(id -u)" = 0 ] || t_skip "needs root"; }
t_require_cmd()  { command -v "$1" >/dev/null 2>&1 || t_skip "needs $1"; }

t_tmp=$(mktemp -d "${TMPDIR:-/tmp}/ferry-$t_name-XXXXXX") || t_error "mktemp"
t_on_exit "rm -rf '$t_tmp'"

# t_ok DESC CMD...: CMD must succeed
t_ok() {
    local desc=$1; shift
    t_checks=$((t_checks + 1))
    "$@" || t_fail "$desc (exit $?): $*"
}

# t_run CMD...: run, keep stdout in $t_out, stderr in $t_err, status in $t_rc
t_run() {
    local o="$t_tmp/.out" e="$t_tmp/.err"
    "$@" >"$o" 2>"$e"
    t_rc=$?
    t_out=$(cat "$o")
    t_err=$(cat "$e")
    return 0
}

# t_expect_rc RC DESC CMD...: CMD must exit with RC
t_expect_rc() {
    local want=$1 desc=$2; shift 2
    t_checks=$((t_checks + 1))
    t_run "$@"
    [ "$t_rc" = "$want" ] || t_fail "$desc: expected exit $want, got $t_rc: $* -- stderr: $t_err"
}

# t_expect_err PATTERN DESC: the last t_run's stderr matches PATTERN (grep -E), on one line
t_expect_err() {
    t_checks=$((t_checks + 1))
    grep -Eq -- "$1" <<<"$t_err" || t_fail "$2: stderr does not match /$1/: $t_err"
}

# t_same DESC FILE1 FILE2: byte-identical (cmp reads both in full)
t_same() {
    t_checks=$((t_checks + 1))
    cmp -s "$2" "$3" || t_fail "$1: $2 and $3 differ: $(cmp "$2" "$3" 2>&1 | head -1)"
}

# t_json FIELD: a field of the JSON object in $t_out (python3's json; nested: a.b)
t_json() {
    python3 -c 'import json,sys
v=json.loads(sys.stdin.read().strip().splitlines()[-1])
for k in sys.argv[1].split("."): v=v[k]
print(v if not isinstance(v,bool) else str(v).lower())' "$1" <<<"$t_out"
}

# t_loop FILE: attach a --direct-io=on loop device, detached at exit; its path in $t_dev
# (not printed: the cleanup must be registered in this shell, not in a $(...) subshell)
t_loop() {
    t_dev=$(losetup -f --show --direct-io=on "$1") || t_error "losetup $1"
    t_on_exit "losetup -d $t_dev"
}

# t_done: a test that checked nothing is a defect
t_done() {
    [ "$t_checks" -gt 0 ] || t_fail "no checks ran"
    echo "PASS: $t_name ($t_checks checks)"
    exit 0
}

# t_region FILE OFFSET_MIB SIZE_MIB KIND: write KIND (random|text|zero) data into FILE
t_region() {
    local f=$1 off=$2 mib=$3 kind=$4
    case $kind in
    random) head -c $((mib << 20)) /dev/urandom ;;
    text)   base64 -w 76 /dev/urandom | head -c $((mib << 20)) ;;
    zero)   head -c $((mib << 20)) /dev/zero ;;
    *)      t_error "t_region: kind $kind" ;;
    esac | dd of="$f" bs=1M seek="$off" conv=notrunc iflag=fullblock status=none ||
        t_error "t_region $f"
}

# t_repo DIR [INIT OPTIONS]: an initialised file:// repository in DIR (encrypted with
# $FERRY_PASSWORD at a low scrypt cost, to keep the tests quick); prints its URL
t_repo() {
    local dir=$1; shift
    "$FERRY" init --repo "file://$dir" --scrypt-n 1024 "$@" >/dev/null || t_error "ferry init file://$dir"
    echo "file://$dir"
}

# t_snapcount REPO: how many snapshots the repository lists
t_snapcount() {
    "$FERRY" snapshots --repo "$1" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'
}

# t_require_s3: the RGW of tests/run, for an integration test. Fails (never skips) without
# it; exports the AWS_* settings ferry reads, and no CA or profile of the environment.
t_require_s3() {
    local v
    for v in FERRY_TEST_S3_ENDPOINT FERRY_TEST_S3_ACCESS_KEY FERRY_TEST_S3_SECRET_KEY \
        FERRY_TEST_S3_REGION FERRY_TEST_S3_BUCKET; do
        [ -n "${!v:-}" ] || t_fail "$v is not set: run the S3 tests through tests/run, which starts the RGW"
    done
    export AWS_ACCESS_KEY_ID=$FERRY_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$FERRY_TEST_S3_SECRET_KEY
    export AWS_REGION=$FERRY_TEST_S3_REGION AWS_ENDPOINT_URL=$FERRY_TEST_S3_ENDPOINT
    unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL_S3
}
