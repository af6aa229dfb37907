#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Maintenance: check (structure; --read-data finds a flipped byte and names the
# snapshot and the volume offset it affects; --subset), stats, forget by id,
# by --keep-last per volume, --ttl as an expiry (--dry-run changes nothing; the
# calendar rules are tests/datapath/t_retention.c's table), prune (deletes what no
# snapshot references, repacks mostly-dead packs, survivors restore, space is
# reclaimed), check --source (a volume equals a snapshot, or where it differs).
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
mk() {  # mk FILE SEED: 12 MiB, 8 of them random
    truncate -s 12M "$1"
    t_region "$1" 0 8 random
}

# three volumes of distinct data, two snapshots each
for v in a b c; do
    mk "$t_tmp/$v.img"
    t_expect_rc 0 "backup $v" "$FERRY" backup --repo "$repo" --volume "$v" --pack-size 4M "$t_tmp/$v.img"
    cp "$t_tmp/$v.img" "$t_tmp/$v.0"
    t_region "$t_tmp/$v.img" 2 2 random
    t_expect_rc 0 "backup $v again" "$FERRY" backup --repo "$repo" --volume "$v" --pack-size 4M "$t_tmp/$v.img"
done

t_expect_rc 0 "check" "$FERRY" check --repo "$repo"
grep -q "0 problems" <<<"$t_out" || t_fail "check: $t_out"
t_expect_rc 0 "check --read-data" "$FERRY" check --repo "$repo" --read-data --json
[ "$(t_json problems)" = 0 ] && [ "$(t_json chunks_read)" -ge 30 ] || t_fail "check --read-data: $t_out"
t_expect_rc 0 "check --read-data --subset 1/2" "$FERRY" check --repo "$repo" --read-data --subset 1/2 --json
half=$(t_json packs_read)
[ "$half" -ge 1 ] && [ "$half" -lt "$(t_json packs)" ] || t_fail "subset read $half of $(t_json packs) packs"
t_expect_rc 2 "bad --subset" "$FERRY" check --repo "$repo" --read-data --subset 3/2

t_expect_rc 0 "stats" "$FERRY" stats --repo "$repo" --json
python3 - <<PY || t_fail "stats: $t_out"
import json
s = json.loads('''$t_out''')
assert s["snapshots"] == 6, s
assert s["logical_bytes"] == 6 * 12 * 2**20, s
assert 1.4 < s["dedup_ratio"] < 2.2, s          # second backups share 6 of 8 data chunks
assert s["unreferenced_chunks"] == 0, s
PY
t_expect_rc 0 "stats text" "$FERRY" stats --repo "$repo"
grep -q "dedup ratio" <<<"$t_out" || t_fail "stats text: $t_out"

# check --source: equal, then different
t_expect_rc 0 "check --source equal" "$FERRY" check --repo "$repo" --source "$t_tmp/a.img" --volume a latest
grep -q "equals snapshot" <<<"$t_out" || t_fail "check --source: $t_out"
head -c 4096 /dev/urandom | dd of="$t_tmp/a.img" bs=1 seek=$((5 << 20)) conv=notrunc status=none
t_expect_rc 4 "check --source different" "$FERRY" check --repo "$repo" --source "$t_tmp/a.img" --volume a latest
t_expect_err "1 chunk differ, the first at offset 5242880" "check --source difference"

# a flipped byte in a pack: found, and the snapshots and offsets named
cp -a "$t_tmp/repo" "$t_tmp/bad"
pack=$(ls -S $(find "$t_tmp/bad/data" -type f) | head -1)
python3 - "$pack" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[1000] ^= 4; open(sys.argv[1], 'wb').write(b)
PY
t_expect_rc 0 "a damaged blob passes the structural check" "$FERRY" check --repo "file://$t_tmp/bad"
t_expect_rc 4 "check --read-data finds it" "$FERRY" check --repo "file://$t_tmp/bad" --read-data
grep -Eq "problem: data/.* chunk [0-9a-f]{16} at offset [0-9]+ is damaged: it does not decrypt" <<<"$t_out" ||
    t_fail "no damaged-chunk line: $t_out"
grep -Eq "problem: snapshot [0-9a-f]{16}: volume offset [0-9]+ holds damaged chunk" <<<"$t_out" ||
    t_fail "the affected snapshot is not named: $t_out"
rm -f "$(find "$t_tmp/bad/index" -type f | head -1)"
t_expect_rc 4 "check finds an index missing" "$FERRY" check --repo "file://$t_tmp/bad"
grep -q "which is in no index" <<<"$t_out" || t_fail "missing index: $t_out"
t_expect_rc 4 "prune refuses a damaged repository" "$FERRY" prune --repo "file://$t_tmp/bad"
t_expect_err "nothing was deleted" "prune on damage"

# forget: ids, dry run, GFS, ttl
n0=$(t_snapcount "$repo")
first_b=$("$FERRY" snapshots --repo "$repo" --volume b --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
t_expect_rc 0 "forget --dry-run" "$FERRY" forget --repo "$repo" --keep-last 1 --dry-run
[ "$(t_snapcount "$repo")" = "$n0" ] || t_fail "--dry-run removed snapshots"
grep -c "^remove" <<<"$t_out" | grep -qx 3 || t_fail "keep-last 1 over 3 volumes would remove 3: $t_out"
t_expect_rc 2 "forget with nothing" "$FERRY" forget --repo "$repo"
t_expect_rc 2 "forget with ids and a policy" "$FERRY" forget --repo "$repo" --keep-last 1 "$first_b"
t_expect_rc 0 "forget by id prefix" "$FERRY" forget --repo "$repo" "${first_b:0:10}"
[ "$(t_snapcount "$repo")" = $((n0 - 1)) ] || t_fail "forget by id"
t_expect_rc 0 "forget --ttl keeps young snapshots" "$FERRY" forget --repo "$repo" --ttl 1h
[ "$(t_snapcount "$repo")" = $((n0 - 1)) ] || t_fail "--ttl 1h removed a snapshot made seconds ago"
# --ttl is an expiry: once every snapshot is older than it, keep-last saves none
sleep 2
t_expect_rc 0 "forget --keep-last 1 --ttl 1s --dry-run" "$FERRY" forget --repo "$repo" --keep-last 1 --ttl 1s --dry-run
! grep -q "^keep" <<<"$t_out" || t_fail "--ttl 1s kept a snapshot 2 s old: $t_out"
[ "$(grep -c ' expired$' <<<"$t_out")" = $((n0 - 1)) ] || t_fail "--ttl 1s: not every snapshot expired: $t_out"
[ "$(t_snapcount "$repo")" = $((n0 - 1)) ] || t_fail "--dry-run removed snapshots"
t_expect_rc 0 "forget --keep-last 1 --volume a" "$FERRY" forget --repo "$repo" --volume a --keep-last 1 --json
python3 -c 'import json,sys; d=json.load(sys.stdin); assert len(d["remove"])==1 and d["remove"][0]["volume"]=="a", d' <<<"$t_out" ||
    t_fail "forget --volume a: $t_out"
t_expect_rc 0 "restore what stays (a)" "$FERRY" restore --repo "$repo" --volume a latest "$t_tmp/ra"

# prune: space comes back; what stays restores
before=$(du -sb "$t_tmp/repo/data" | cut -f1)
t_expect_rc 0 "prune --dry-run" "$FERRY" prune --repo "$repo" --dry-run --json
[ "$(t_json objects_deleted)" = 0 ] || t_fail "dry run deleted"
[ "$(du -sb "$t_tmp/repo/data" | cut -f1)" = "$before" ] || t_fail "dry run changed data/"
t_expect_rc 0 "prune" "$FERRY" prune --repo "$repo" --repack-below 100 --json
[ "$(t_json chunks_removed)" -ge 2 ] || t_fail "prune removed $(t_json chunks_removed) chunks"
after=$(du -sb "$t_tmp/repo/data" | cut -f1)
[ "$after" -lt "$before" ] || t_fail "prune freed nothing ($before -> $after bytes)"
t_expect_rc 0 "check after prune" "$FERRY" check --repo "$repo" --read-data
t_expect_rc 0 "stats after prune" "$FERRY" stats --repo "$repo" --json
[ "$(t_json unreferenced_chunks)" = 0 ] || t_fail "prune left unreferenced chunks: $t_out"
for v in b c; do
    t_expect_rc 0 "restore $v after prune" "$FERRY" restore --repo "$repo" --volume "$v" latest "$t_tmp/r$v"
    t_same "$v after prune" "$t_tmp/$v.img" "$t_tmp/r$v"
done
t_expect_rc 0 "the older c still restores" "$FERRY" restore --repo "$repo" \
    "$("$FERRY" snapshots --repo "$repo" --volume c --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')" "$t_tmp/rc0"
t_same "older c after prune" "$t_tmp/c.0" "$t_tmp/rc0"

# everything forgotten: prune empties data/
t_expect_rc 0 "forget all" "$FERRY" forget --repo "$repo" --keep-last 1 --label nosuch=label --prune
t_expect_rc 0 "forget every snapshot" "$FERRY" forget --repo "$repo" $("$FERRY" snapshots --repo "$repo" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))') --prune
[ -z "$(find "$t_tmp/repo/data" -type f)" ] || t_fail "data left after forgetting everything: $(find "$t_tmp/repo/data" -type f | wc -l) packs"
t_done
