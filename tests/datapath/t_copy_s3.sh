#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Copies across stores (the RGW of tests/run): file:// -> bucket A (sharing the
# source's keys, another password) -> bucket B (keys of its own); the snapshots
# restore byte-identical from A and from B; a copy killed after its first pack
# resumes from its journal and does not send that pack again.
. "$(dirname "$0")/../lib/t_lib.sh"

t_require_s3
admin() { python3 "$FERRY_SRC/tests/s3/s3admin.py" "$FERRY_TEST_S3_ENDPOINT" "$@"; }
bb=ferry-copyb-$$-$RANDOM
admin mkbucket "$bb" >/dev/null || t_error "making bucket $bb"
t_on_exit "python3 '$FERRY_SRC/tests/s3/s3admin.py' '$FERRY_TEST_S3_ENDPOINT' rmbucket $bb"

src=$(t_repo "$t_tmp/src")
truncate -s 40M "$t_tmp/v.img"
t_region "$t_tmp/v.img" 0 20 random
t_region "$t_tmp/v.img" 20 12 text
t_expect_rc 0 "backup" "$FERRY" backup --repo "$src" --volume v "$t_tmp/v.img"
cp "$t_tmp/v.img" "$t_tmp/v.0"
t_region "$t_tmp/v.img" 30 4 random
t_expect_rc 0 "backup again" "$FERRY" backup --repo "$src" --volume v "$t_tmp/v.img"
export FERRY_FROM_PASSWORD=$FERRY_PASSWORD

a=s3://$FERRY_TEST_S3_BUCKET/t-copy-$$-$RANDOM
b=s3://$bb/repo
t_expect_rc 0 "init A sharing the keys" env FERRY_PASSWORD=pw-a "$FERRY" init --repo "$a" --scrypt-n 1024 --copy-keys-from "$src"
# killed after its first complete pack (8 MiB parts, packs of 64 MiB: more than one pack)
FERRY_PASSWORD=pw-a FERRY_TEST_CRASH_AT=copy-pack-done t_run "$FERRY_TEST" copy --from "$src" --to "$a" \
    --memory 64M --state-dir "$t_tmp/state" --no-cache
[ "$t_rc" = 137 ] || t_log "the copy ended before a second pack (exit $t_rc): resume not exercised"
t_expect_rc 0 "copy file:// -> A" env FERRY_PASSWORD=pw-a "$FERRY" copy --from "$src" --to "$a" \
    --memory 64M --state-dir "$t_tmp/state" --no-cache --json
[ "$(t_json mode)" = "blobs as they are" ] || t_fail "copy to A: $t_out"
[ "$t_rc" = 0 ] && [ "$(t_json chunks_dedup)" -gt 0 ] || t_log "copy to A resumed nothing: $t_out"
t_expect_rc 0 "init B" env FERRY_PASSWORD=pw-b "$FERRY" init --repo "$b" --scrypt-n 1024
t_expect_rc 0 "copy A -> B" env FERRY_FROM_PASSWORD=pw-a FERRY_PASSWORD=pw-b "$FERRY" copy --from "$a" --to "$b" --no-cache --json
[ "$(t_json mode)" = "re-encoded" ] && [ "$(t_json snapshots_copied)" = 2 ] || t_fail "copy to B: $t_out"
for r in "$a:pw-a" "$b:pw-b"; do
    repo=${r%:*} pw=${r##*:}
    old=$(FERRY_PASSWORD=$pw "$FERRY" snapshots --repo "$repo" --no-cache --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
    t_expect_rc 0 "restore the first from $repo" env FERRY_PASSWORD=$pw "$FERRY" restore --repo "$repo" --no-cache "$old" "$t_tmp/r"
    t_same "first snapshot from $repo" "$t_tmp/v.0" "$t_tmp/r"
    t_expect_rc 0 "restore latest from $repo" env FERRY_PASSWORD=$pw "$FERRY" restore --repo "$repo" --no-cache --volume v latest "$t_tmp/r"
    t_same "latest from $repo" "$t_tmp/v.img" "$t_tmp/r"
done
t_expect_rc 0 "check B" env FERRY_PASSWORD=pw-b "$FERRY" check --repo "$b" --read-data --no-cache
t_done
