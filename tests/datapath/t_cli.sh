#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The command line: --help of ferry and of every verb documents every option
# the verb accepts; unknown verbs and options are usage errors (exit 2).
. "$(dirname "$0")/../lib/t_lib.sh"

t_expect_rc 0 "ferry --help" "$FERRY" --help
for v in init backup restore snapshots; do
    grep -q "^  $v " <<<"$t_out" || t_fail "ferry --help does not list $v"
done
t_expect_rc 2 "no verb" "$FERRY"
t_expect_rc 2 "unknown verb" "$FERRY" frobnicate
t_expect_err "unknown verb 'frobnicate'" "unknown verb"
t_expect_rc 0 "version" "$FERRY" --version
grep -Eq '^ferry [0-9]+\.[0-9]+' <<<"$t_out" || t_fail "version: $t_out"

for v in init backup restore snapshots; do
    t_expect_rc 0 "$v --help" "$FERRY" $v --help
    help=$t_out
    grep -q "^usage: ferry $v" <<<"$help" || t_fail "$v --help has no usage line"
    for o in --repo --json --progress --memory --s3-endpoint --s3-region --s3-ca-file \
        --s3-insecure-tls --s3-concurrency --limit-upload --limit-download; do
        grep -q -- "$o" <<<"$help" || t_fail "$v --help does not document $o"
    done
    t_expect_rc 2 "$v with an unknown option" "$FERRY" $v --no-such-option
done
for o in --volume --label --compression --threads --queue-depth --pack-size --io --direct-io --hostname; do
    "$FERRY" backup --help | grep -q -- "$o" || t_fail "backup --help does not document $o"
done
for o in --volume --threads --queue-depth --io --direct-io; do
    "$FERRY" restore --help | grep -q -- "$o" || t_fail "restore --help does not document $o"
done
t_checks=$((t_checks + 1))

# --progress=json: JSON lines on stderr, the result alone on stdout
repo=$(t_repo "$t_tmp/repo")
truncate -s 4M "$t_tmp/v.img"
t_region "$t_tmp/v.img" 0 4 random
t_expect_rc 0 "progress json" "$FERRY" backup --repo "$repo" --progress json --json "$t_tmp/v.img"
python3 -c 'import json,sys
lines=[json.loads(l) for l in sys.stdin.read().splitlines() if l.startswith("{")]
assert lines and lines[-1]["progress"]=="backup" and lines[-1]["bytes_done"]==4*2**20, lines' <<<"$t_err" ||
    t_fail "progress lines: $t_err"
[ "$(grep -c . <<<"$t_out")" = 1 ] || t_fail "stdout holds more than the result: $t_out"
t_expect_rc 2 "bad --progress" "$FERRY" backup --repo "$repo" --progress sideways "$t_tmp/v.img"
t_done
