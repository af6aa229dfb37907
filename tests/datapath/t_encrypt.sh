#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Encryption: a new repository is encrypted by default; nothing of the volume is
# visible in its objects; a wrong or missing password is a clear error (exit 8);
# any tampered byte of a blob, an index or a manifest is detected (exit 4); keys
# are added, listed, changed and removed without rewriting data;
# --password-file and --password-command work; --insecure-no-encryption stores
# in the clear.
. "$(dirname "$0")/../lib/t_lib.sh"

img=$t_tmp/vol.img
truncate -s 24M "$img"
t_region "$img" 0 8 random
t_region "$img" 8 8 text
needle=$(dd if="$img" bs=1 skip=$((3 << 20)) count=48 status=none | xxd -p | tr -d '\n')

# encrypted (the default): the data is not in the repository's files
repo=$(t_repo "$t_tmp/enc")
t_expect_rc 0 "init reports encryption" "$FERRY" init --repo "file://$t_tmp/enc2" --scrypt-n 1024 --json
[ "$(t_json encrypted)" = true ] || t_fail "init JSON: $t_out"
grep -Eq '"encryption":[[:space:]]*"aes-256-gcm"' "$t_tmp/enc/config" || t_fail "config: $(cat "$t_tmp/enc/config")"
ls "$t_tmp/enc/keys" | grep -Eq '^[0-9a-f]{64}$' || t_fail "no key object"
t_expect_rc 0 "encrypted backup" "$FERRY" backup --repo "$repo" --volume v --label secret=label-value --json "$img"
sid=$(t_json snapshot_id)
t_checks=$((t_checks + 1))
for f in $(find "$t_tmp/enc" -type f); do
    xxd -p "$f" | tr -d '\n' | grep -q "$needle" && t_fail "volume bytes visible in $f"
    grep -q "label-value" "$f" && t_fail "a label is visible in $f"
done
t_expect_rc 0 "encrypted restore" "$FERRY" restore --repo "$repo" "$sid" "$t_tmp/out"
t_same "encrypted round trip" "$img" "$t_tmp/out"

# unencrypted, for contrast: the same bytes are there in the clear
t_expect_rc 0 "unencrypted init" env -u FERRY_PASSWORD "$FERRY" init --repo "file://$t_tmp/clear" --insecure-no-encryption
t_expect_rc 0 "unencrypted backup" env -u FERRY_PASSWORD "$FERRY" backup --repo "file://$t_tmp/clear" "$img"
found=0
for f in $(find "$t_tmp/clear/data" -type f); do
    xxd -p "$f" | tr -d '\n' | grep -q "$needle" && found=1
done
[ $found = 1 ] || t_fail "the clear repository does not hold the raw bytes: the check above proves nothing"
t_expect_rc 0 "unencrypted restore without a password" env -u FERRY_PASSWORD "$FERRY" restore --repo "file://$t_tmp/clear" latest "$t_tmp/out2"
t_same "clear round trip" "$img" "$t_tmp/out2"

# passwords
t_expect_rc 8 "wrong password" env FERRY_PASSWORD=not-it "$FERRY" snapshots --repo "$repo"
t_expect_err "wrong password: none of the 1 key of" "wrong password"
t_expect_rc 8 "no password" env -u FERRY_PASSWORD "$FERRY" restore --repo "$repo" latest "$t_tmp/x" </dev/null
t_expect_err "encrypted and no password was given" "no password"
t_expect_rc 8 "init without a password" env -u FERRY_PASSWORD "$FERRY" init --repo "file://$t_tmp/nopw" </dev/null
t_expect_err "insecure-no-encryption" "init without a password"
printf 'ferry-test-password\n' > "$t_tmp/pw"
t_expect_rc 0 "--password-file" env -u FERRY_PASSWORD "$FERRY" snapshots --repo "$repo" --password-file "$t_tmp/pw"
t_expect_rc 0 "--password-command" env -u FERRY_PASSWORD "$FERRY" snapshots --repo "$repo" --password-command "printf ferry-test-password"
t_expect_rc 8 "a failing --password-command" env -u FERRY_PASSWORD "$FERRY" snapshots --repo "$repo" --password-command "exit 3"
t_expect_rc 3 "a missing password file" env -u FERRY_PASSWORD "$FERRY" snapshots --repo "$repo" --password-file "$t_tmp/none"

# keys: add, list, passwd, remove
t_expect_rc 0 "key add" env FERRY_NEW_PASSWORD=second "$FERRY" key add --repo "$repo" --scrypt-n 1024
t_expect_rc 0 "key list" "$FERRY" key list --repo "$repo" --json
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$t_out")" = 2 ] || t_fail "key list: $t_out"
first=$(python3 -c 'import json,sys; print([k["id"] for k in json.load(sys.stdin) if k["current"]][0])' <<<"$t_out")
t_expect_rc 0 "the second password opens" env FERRY_PASSWORD=second "$FERRY" restore --repo "$repo" "$sid" "$t_tmp/out3"
t_same "restore with the second key" "$img" "$t_tmp/out3"
t_expect_rc 6 "the key in use is not removed" "$FERRY" key remove --repo "$repo" "$first"
t_expect_err "is the one in use" "remove current key"
t_expect_rc 0 "remove the first key with the second password" env FERRY_PASSWORD=second "$FERRY" key remove --repo "$repo" "${first:0:12}"
t_expect_rc 8 "the removed password no longer opens" "$FERRY" snapshots --repo "$repo"
t_expect_rc 0 "passwd" env FERRY_PASSWORD=second FERRY_NEW_PASSWORD=third "$FERRY" key passwd --repo "$repo" --scrypt-n 1024
t_expect_rc 8 "the old password after passwd" env FERRY_PASSWORD=second "$FERRY" snapshots --repo "$repo"
t_expect_rc 0 "the new password after passwd" env FERRY_PASSWORD=third "$FERRY" key list --repo "$repo" --json
[ "$(python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' <<<"$t_out")" = 1 ] || t_fail "keys after passwd: $t_out"
only=$(python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])' <<<"$t_out")
t_expect_rc 6 "the last key is not removed" env FERRY_PASSWORD=third "$FERRY" key remove --repo "$repo" "$only"
t_expect_rc 0 "data survives the key changes" env FERRY_PASSWORD=third "$FERRY" restore --repo "$repo" "$sid" "$t_tmp/out4"
t_same "restore after key rotation" "$img" "$t_tmp/out4"
export FERRY_PASSWORD=third

# tampering: a blob, an index, the manifest's metadata
cp -a "$t_tmp/enc" "$t_tmp/t1"
pack=$(find "$t_tmp/t1/data" -type f | head -1)
python3 - "$pack" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[100] ^= 1; open(sys.argv[1], 'wb').write(b)
PY
t_expect_rc 4 "a tampered blob" "$FERRY" restore --repo "file://$t_tmp/t1" "$sid" "$t_tmp/o1"
t_expect_err "does not decrypt" "tampered blob"
cp -a "$t_tmp/enc" "$t_tmp/t2"
idx=$(find "$t_tmp/t2/index" -type f | head -1)
python3 - "$idx" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[40] ^= 1; open(sys.argv[1], 'wb').write(b)
PY
t_expect_rc 4 "a tampered index" "$FERRY" restore --repo "file://$t_tmp/t2" "$sid" "$t_tmp/o2"
t_expect_err "does not decrypt" "tampered index"
cp -a "$t_tmp/enc" "$t_tmp/t3"
m=$t_tmp/t3/snapshots/$sid
python3 - "$m" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[-60] ^= 1; open(sys.argv[1], 'wb').write(b)
PY
t_expect_rc 0 "a tampered manifest is not listed" "$FERRY" snapshots --repo "file://$t_tmp/t3" --json
grep -q "$sid" <<<"$t_out" && t_fail "a tampered manifest is listed"
# a manifest moved to another snapshot's name does not decrypt there
cp -a "$t_tmp/enc" "$t_tmp/t4"
other=$(printf '%064x' 12345)
mv "$t_tmp/t4/snapshots/$sid" "$t_tmp/t4/snapshots/$other"
t_expect_rc 0 "a renamed manifest" "$FERRY" snapshots --repo "file://$t_tmp/t4" --json
[ "$t_out" = "[]" ] || t_fail "a manifest under another name is listed: $t_out"
t_done
