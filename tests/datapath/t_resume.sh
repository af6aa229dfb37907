#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Resume over s3:// (the RGW of tests/run), through the test proxy that logs
# every request: a backup killed in the middle of a pack, after four parts the
# store acknowledged, is resumed by the next run of the same volume: those
# parts are not sent again (counted in the proxy's log), the summary says how
# much was reused, and the snapshot restores byte-identical. A backup killed
# after its pack's upload completed but before the pack's index was written
# gets the index from its journal: the pack is not sent again.
. "$(dirname "$0")/../lib/t_lib.sh"

t_require_s3
unset AWS_ENDPOINT_URL	# the proxy's address, below

# the proxy between ferry and RGW
upstream=${FERRY_TEST_S3_ENDPOINT#http://}
python3 "$FERRY_SRC/tests/s3/s3proxy.py" --upstream "$upstream" --port-file "$t_tmp/port" \
    --log "$t_tmp/proxy.log" &
proxy=$!
t_on_exit "kill $proxy"
for _ in $(seq 50); do [ -s "$t_tmp/port" ] && break; sleep 0.1; done
[ -s "$t_tmp/port" ] || t_error "the proxy did not start"
export AWS_ENDPOINT_URL=http://127.0.0.1:$(cat "$t_tmp/port")

repo=s3://$FERRY_TEST_S3_BUCKET/t-resume-$$-$RANDOM
state=$t_tmp/state
t_expect_rc 0 "init" "$FERRY" init --repo "$repo" --scrypt-n 1024
img=$t_tmp/vol.img
head -c $((44 << 20)) /dev/urandom > "$img"

# parts put for the pack of this run: lines of the proxy's log since byte $1
parts_since() {
    tail -c +"$(($1 + 1))" "$t_tmp/proxy.log" | python3 -c 'import json,sys
n = 0
for l in sys.stdin:
    r = json.loads(l)
    if r["method"] == "PUT" and "partNumber=" in r["target"] and "/data/" in r["target"]:
        n += 1
print(n)'
}

# 1. killed mid-pack: 8 MiB parts (--memory 64M), one 64 MiB pack; each part waits
#    500 ms after it is queued, so the four before the kill are acknowledged
FERRY_TEST_SLEEP_AT=backup-mid-pack:500 FERRY_TEST_CRASH_AT=backup-mid-pack:4 t_run \
    "$FERRY_TEST" backup --repo "$repo" --volume v --memory 64M --state-dir "$state" "$img"
[ "$t_rc" = 137 ] || t_fail "crash hook: exit $t_rc: $t_err"
ls "$state"/*/*/*.journal >/dev/null 2>&1 || t_fail "no journal was left: $(find "$state")"
[ "$(t_snapcount "$repo")" = 0 ] || t_fail "a killed backup left a snapshot"
mark=$(stat -c %s "$t_tmp/proxy.log")
t_expect_rc 0 "the next run resumes" "$FERRY" backup --repo "$repo" --volume v --memory 64M --state-dir "$state" --json "$img"
reused=$(t_json bytes_reused)
[ "$reused" -ge $((3 * (8 << 20))) ] || t_fail "only $reused bytes reused: $t_out"
sent=$(parts_since "$mark")
t_log "resumed: $reused bytes reused, $sent parts sent (6 without resume)"
[ "$sent" -le 3 ] || t_fail "the resumed run sent $sent parts; four were on the store already"
[ -z "$(find "$state" -name '*.journal')" ] || t_fail "journals left after a complete backup"
t_expect_rc 0 "restore of the resumed backup" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/out"
t_same "resumed backup" "$img" "$t_tmp/out"
t_expect_rc 0 "check --read-data" "$FERRY" check --repo "$repo" --read-data

# 2. killed after the pack's upload completed, before its index: the index comes from the journal
head -c $((20 << 20)) /dev/urandom > "$t_tmp/w.img"
FERRY_TEST_CRASH_AT=pack-completed t_run "$FERRY_TEST" backup --repo "$repo" --volume w --memory 64M --state-dir "$state" "$t_tmp/w.img"
[ "$t_rc" = 137 ] || t_fail "crash hook (pack-completed): exit $t_rc: $t_err"
mark=$(stat -c %s "$t_tmp/proxy.log")
t_expect_rc 0 "the next run finds the completed pack" "$FERRY" backup --repo "$repo" --volume w --memory 64M --state-dir "$state" --json "$t_tmp/w.img"
[ "$(t_json bytes_reused)" -ge $((20 << 20)) ] || t_fail "the completed pack was not reused: $t_out"
[ "$(parts_since "$mark")" = 0 ] || t_fail "the completed pack was sent again"
t_expect_rc 0 "restore w" "$FERRY" restore --repo "$repo" --volume w latest "$t_tmp/outw"
t_same "w after the index from the journal" "$t_tmp/w.img" "$t_tmp/outw"

# 3. without a state directory there is nothing to resume from: it still works
t_expect_rc 0 "a backup with a fresh state directory" "$FERRY" backup --repo "$repo" --volume v --state-dir "$t_tmp/other" "$img"
t_expect_rc 0 "cleanup" "$FERRY" repo cleanup --repo "$repo" --older-than 1s
t_done
