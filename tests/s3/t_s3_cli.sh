#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/s3/t_s3_cli.sh - ferry init/backup/restore over s3:// against the RGW
# of tests/run: a volume image round-trips byte-identical, with packs of many
# parts (a large --pack-size with little --memory: 8 MiB parts), and the
# restore runs while unrelated objects sit in the bucket, inside and outside
# the repository's prefix. Then the errors a user meets, with their exit
# codes: a wrong secret (8), a missing bucket (3), an unreachable endpoint (9).
. "$(dirname "$0")/../lib/t_lib.sh"

t_require_s3
prefix=t-cli-$$-$RANDOM
repo=s3://$FERRY_TEST_S3_BUCKET/$prefix
pw=$t_tmp/password
echo "a test password" > "$pw"

# an unrelated object, put with curl's own SigV4
s3put() {
    local sha
    sha=$(sha256sum "$2" | cut -d' ' -f1)
    curl -sf -X PUT --aws-sigv4 "aws:amz:$AWS_REGION:s3" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H "x-amz-content-sha256: $sha" --data-binary "@$2" \
        "$FERRY_TEST_S3_ENDPOINT/$FERRY_TEST_S3_BUCKET/$1" >/dev/null
}

img=$t_tmp/vol.img
head -c $((40 << 20)) /dev/urandom > "$img"
head -c $((8 << 20)) /dev/zero >> "$img"
head -c $((30 << 20)) /dev/urandom >> "$img"
head -c 12345 /dev/urandom >> "$img"

t_expect_rc 0 "init over s3://" "$FERRY" init --repo "$repo" --password-file "$pw"
t_expect_rc 6 "a second init is refused" "$FERRY" init --repo "$repo" --password-file "$pw"
t_expect_rc 0 "backup over s3:// with 8 MiB parts and 64 MiB packs" \
    "$FERRY" backup --repo "$repo" --password-file "$pw" --volume vol --pack-size 64M \
    --memory 32M --compression off "$img"
t_log "$t_err"

echo "not ferry's" > "$t_tmp/other"
t_ok "unrelated object outside the prefix" s3put "$prefix-other/readme.txt" "$t_tmp/other"
t_ok "unrelated object inside the prefix" s3put "$prefix/notes.txt" "$t_tmp/other"
t_ok "unrelated object beside the packs" s3put "$prefix/data/zz/not-a-pack" "$t_tmp/other"

t_expect_rc 0 "restore over s3://" "$FERRY" restore --repo "$repo" --password-file "$pw" \
    --volume vol --memory 32M latest "$t_tmp/out.img"
t_same "restored image" "$img" "$t_tmp/out.img"
t_expect_rc 0 "snapshots over s3://" "$FERRY" snapshots --repo "$repo" --password-file "$pw" --json
grep -q '"vol"' <<<"$t_out" || t_fail "snapshots does not list volume vol: $t_out"

t_expect_rc 8 "a wrong secret" env AWS_SECRET_ACCESS_KEY=wrong \
    "$FERRY" snapshots --repo "$repo" --password-file "$pw"
t_expect_err "secret key .* is wrong" "a wrong secret says so"
t_expect_rc 3 "a missing bucket" "$FERRY" init --repo "s3://no-such-bucket-$$/x" --password-file "$pw"
t_expect_err "does not exist" "a missing bucket says so"
t_expect_rc 9 "an unreachable endpoint" "$FERRY" snapshots --repo "$repo" --password-file "$pw" \
    --s3-endpoint http://127.0.0.1:1
t_expect_err "cannot connect" "an unreachable endpoint says so"
t_done
