#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry bench put, get, backup and restore on s3:// against the RGW that
# tests/run starts: the JSON matches bench/SCHEMA.md with non-zero figures,
# every byte read back is checked, and no object is left in the bucket.
. "$(dirname "$0")/../lib/t_lib.sh"

: "${FERRY_SRC:?FERRY_SRC is not set: run the tests with 'meson test' or tests/run}"
[ -n "${FERRY_TEST_S3_ENDPOINT:-}" ] ||
    t_fail "FERRY_TEST_S3_ENDPOINT is not set: run the integration suite with tests/run, which starts the S3 server"
export AWS_ACCESS_KEY_ID=$FERRY_TEST_S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$FERRY_TEST_S3_SECRET_KEY
export AWS_REGION=${FERRY_TEST_S3_REGION:-us-east-1}
unset AWS_PROFILE AWS_SESSION_TOKEN
ep=$FERRY_TEST_S3_ENDPOINT
bucket=$FERRY_TEST_S3_BUCKET
prefix=t-bench-$$-$RANDOM
check=$FERRY_SRC/tests/bench/check_schema.py

# objects: how many keys the bucket holds under the test's prefix
objects() {
    curl -s --max-time 20 --aws-sigv4 "aws:amz:$AWS_REGION:s3" \
        --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
        -H 'x-amz-content-sha256: e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' \
        "$ep/$bucket?list-type=2&prefix=$prefix/" | grep -o '<Key>' | wc -l
}

# parts of 5 MiB: the smallest S3 accepts
t_expect_rc 0 "bench on s3://" "$FERRY" bench --size 12M --object-size 6M --part-size 5M \
    --chunk-size 256K --workdir "$t_tmp" --repo "s3://$bucket/$prefix" --s3-endpoint "$ep" \
    --json put get backup restore
printf '%s\n' "$t_out" >"$t_tmp/s3.json"
t_ok "the JSON of the s3:// run matches SCHEMA.md" python3 "$check" "$FERRY_SRC/bench/SCHEMA.md" \
    "$t_tmp/s3.json" --expect-ok --nonzero
python3 - "$t_tmp/s3.json" <<'PY' || t_fail "figures of the s3:// run"
import json, sys
d = json.load(open(sys.argv[1]))
st = {s["name"]: s for s in d["stages"]}
assert st["put"]["detail"]["store"] == "s3" and st["get"]["detail"]["store"] == "s3"
assert st["put"]["objects"] == 2 and st["put"]["latency_ms"]["count"] == 4  # 2 x (5M + 1M)
assert st["get"]["objects"] == 4 and st["get"]["detail"]["verified"] is True
assert st["restore"]["detail"]["verified"] is True
assert d["cleanup"]["done"] is True and d["cleanup"]["objects_deleted"] >= 5
for s in d["stages"]:
    print(f"# {s['name']:9s} {s['mb_per_s_in']:9.1f} MB/s in {s['cpu_s_per_gb']:6.2f} CPU s/GB")
PY
t_checks=$((t_checks + 1))
n=$(objects)
[ "$n" = 0 ] || t_fail "$n objects left under s3://$bucket/$prefix/"
t_checks=$((t_checks + 1))
t_done
