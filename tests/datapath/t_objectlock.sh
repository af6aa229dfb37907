#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Versioned and Object Lock buckets (the RGW of tests/run): on a versioned
# bucket forget and prune delete every version of what they remove, so the
# space is really reclaimed (the versions found by one listing of each
# prefix, and, through ferry-test's FERRY_TEST_PURGE_PER_KEY, by a listing of
# each key, as a prune of a few packs among many does); on a bucket created
# with Object Lock and a
# default GOVERNANCE retention, backups succeed, forget and prune report the
# versions the lock keeps and leave a repository that checks clean and whose
# remaining snapshots restore.
. "$(dirname "$0")/../lib/t_lib.sh"

t_require_s3
admin() { python3 "$FERRY_SRC/tests/s3/s3admin.py" "$FERRY_TEST_S3_ENDPOINT" "$@"; }

vb=ferry-ver-$$-$RANDOM
lb=ferry-lock-$$-$RANDOM
admin mkbucket "$vb" --versioning -- mkbucket "$lb" --object-lock-days 1 >/dev/null || t_error "making the buckets"
t_on_exit "python3 '$FERRY_SRC/tests/s3/s3admin.py' '$FERRY_TEST_S3_ENDPOINT' rmbucket $vb -- rmbucket $lb"

img=$t_tmp/v.img
truncate -s 12M "$img"
t_region "$img" 0 8 random

# versions of what is listed under a prefix, counted by botocore-signed ListObjectVersions
versions() {
    python3 - "$1" "$2" <<'PY'
import sys, os, hashlib, urllib.parse, urllib.request, xml.etree.ElementTree as ET
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
ep, bucket = os.environ["FERRY_TEST_S3_ENDPOINT"], sys.argv[1]
url = f"{ep}/{bucket}?prefix={urllib.parse.quote(sys.argv[2], safe='')}&versions="
r = AWSRequest(method="GET", url=url, headers={"x-amz-content-sha256": hashlib.sha256(b"").hexdigest()})
S3SigV4Auth(Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]), "s3", os.environ["AWS_REGION"]).add_auth(r)
doc = ET.fromstring(urllib.request.urlopen(urllib.request.Request(url, headers=dict(r.headers))).read())
print(sum(1 for e in doc.iter() if e.tag.endswith("}Version") or e.tag.endswith("}DeleteMarker")))
PY
}

for run in "$vb" "$vb:per-key" "$lb"; do
    b=${run%%:*}
    repo=s3://$b/repo
    per_key=()
    if [ "$run" != "$b" ]; then
        repo=s3://$b/repo-per-key
        per_key=(env FERRY_TEST_PURGE_PER_KEY=1)
    fi
    t_expect_rc 0 "init on $b" "$FERRY" init --repo "$repo" --scrypt-n 1024
    t_expect_rc 0 "backup 1 on $b" "$FERRY" backup --repo "$repo" --volume v --no-cache "$img"
    cp "$img" "$t_tmp/first"
    t_region "$img" 0 8 random
    t_expect_rc 0 "backup 2 on $b" "$FERRY" backup --repo "$repo" --volume v --no-cache "$img"
    t_expect_rc 0 "forget the first on $run" "${per_key[@]}" "$FERRY_TEST" forget --repo "$repo" \
        --keep-last 1 --no-cache
    t_expect_rc 0 "prune on $run" "${per_key[@]}" "$FERRY_TEST" prune --repo "$repo" --no-cache --json
    prune_out=$t_out
    t_expect_rc 0 "check on $b" "$FERRY" check --repo "$repo" --read-data --no-cache
    t_expect_rc 0 "restore on $b" "$FERRY" restore --repo "$repo" --volume v --no-cache latest "$t_tmp/out"
    t_same "latest after prune on $b" "$img" "$t_tmp/out"
    t_out=$prune_out
    if [ "$b" = "$vb" ]; then
        [ "$(t_json versions_deleted)" -ge 1 ] || t_fail "prune on a versioned bucket deleted no versions: $t_out"
        [ "$(t_json versions_protected)" = 0 ] || t_fail "versions protected without a lock: $t_out"
        left=$(versions "$vb" "${repo#s3://"$vb"/}/data/")
        t_log "versioned bucket: $left versions left under data/ after prune"
        # what is left: exactly the live packs, one version each
        t_expect_rc 0 "stats on $b" "$FERRY" stats --repo "$repo" --json --no-cache
        [ "$left" = "$(t_json packs)" ] || t_fail "$left versions under data/ for $(t_json packs) live packs: space not reclaimed"
    else
        [ "$(t_json versions_protected)" -ge 1 ] || t_fail "prune on an Object Lock bucket reported nothing kept: $t_out"
        [ "$(t_json protected_until)" -gt "$(date +%s)" ] || t_fail "no retain-until date: $t_out"
        t_log "object lock: $(t_json versions_protected) versions kept until $(date -u -d @"$(t_json protected_until)")"
    fi
done
t_done
