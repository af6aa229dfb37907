#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry copy between repositories: into a target sharing the source's keys
# (init --copy-keys-from, another password: blobs move as they are), into an
# independent encrypted target and an unencrypted one (re-encoded); snapshot ids
# are kept, every copy restores byte-identical and checks clean; a second copy
# sends nothing; a copy killed after a pack resumes without sending that pack's
# chunks again; a new snapshot copies incrementally.
. "$(dirname "$0")/../lib/t_lib.sh"

src=$(t_repo "$t_tmp/src")
for v in a b; do
    truncate -s 20M "$t_tmp/$v.img"
    t_region "$t_tmp/$v.img" 0 6 random
    t_region "$t_tmp/$v.img" 6 6 text
    t_expect_rc 0 "backup $v" "$FERRY" backup --repo "$src" --volume "$v" "$t_tmp/$v.img"
    cp "$t_tmp/$v.img" "$t_tmp/$v.0"
    t_region "$t_tmp/$v.img" 14 2 random
    t_expect_rc 0 "backup $v again" "$FERRY" backup --repo "$src" --volume "$v" --pack-size 2M "$t_tmp/$v.img"
done
ids=$("$FERRY" snapshots --repo "$src" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')
export FERRY_FROM_PASSWORD=$FERRY_PASSWORD

verify() {   # verify REPO PASSWORD: the same ids, every snapshot restores as it was
    local repo=$1 pw=$2 got
    got=$(FERRY_PASSWORD=$pw "$FERRY" snapshots --repo "$repo" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')
    t_checks=$((t_checks + 1))
    [ "$(tr ' ' '\n' <<<"$got" | sort)" = "$(tr ' ' '\n' <<<"$ids" | sort)" ] || t_fail "$repo holds other snapshots: $got"
    for v in a b; do
        local old new
        old=$(FERRY_PASSWORD=$pw "$FERRY" snapshots --repo "$repo" --volume $v --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
        t_expect_rc 0 "restore $v (old) from $repo" env FERRY_PASSWORD=$pw "$FERRY" restore --repo "$repo" "$old" "$t_tmp/r"
        t_same "$v old from $repo" "$t_tmp/$v.0" "$t_tmp/r"
        t_expect_rc 0 "restore $v from $repo" env FERRY_PASSWORD=$pw "$FERRY" restore --repo "$repo" --volume $v latest "$t_tmp/r"
        t_same "$v latest from $repo" "$t_tmp/$v.img" "$t_tmp/r"
    done
    t_expect_rc 0 "check --read-data of $repo" env FERRY_PASSWORD=$pw "$FERRY" check --repo "$repo" --read-data
}

# A: shared keys, its own password
t_expect_rc 0 "init A --copy-keys-from" env FERRY_PASSWORD=pw-a "$FERRY" init --repo "file://$t_tmp/A" --scrypt-n 1024 --copy-keys-from "$src"
t_expect_rc 0 "copy to A" env FERRY_PASSWORD=pw-a "$FERRY" copy --from "$src" --to "file://$t_tmp/A" --json
[ "$(t_json mode)" = "blobs as they are" ] || t_fail "copy to A: $t_out"
[ "$(t_json snapshots_copied)" = 4 ] || t_fail "copy to A: $t_out"
verify "file://$t_tmp/A" pw-a
t_expect_rc 0 "copy to A again" env FERRY_PASSWORD=pw-a "$FERRY" copy --from "$src" --to "file://$t_tmp/A" --json
[ "$(t_json snapshots_copied)" = 0 ] && [ "$(t_json snapshots_skipped)" = 4 ] && [ "$(t_json bytes_new)" = 0 ] ||
    t_fail "the second copy sent something: $t_out"

# B: independent keys
bdir=$t_tmp/B
t_expect_rc 0 "init B" env FERRY_PASSWORD=pw-b "$FERRY" init --repo "file://$bdir" --scrypt-n 1024
t_expect_rc 0 "copy to B" env FERRY_PASSWORD=pw-b "$FERRY" copy --from "$src" --to "file://$bdir" --json
[ "$(t_json mode)" = "re-encoded" ] || t_fail "copy to B: $t_out"
verify "file://$bdir" pw-b

# C: unencrypted
t_expect_rc 0 "init C" "$FERRY" init --repo "file://$t_tmp/C" --insecure-no-encryption
t_expect_rc 0 "copy to C" "$FERRY" copy --from "$src" --to "file://$t_tmp/C" --volume a
t_expect_rc 0 "restore a from C" env -u FERRY_PASSWORD "$FERRY" restore --repo "file://$t_tmp/C" --volume a latest "$t_tmp/rc"
t_same "a from C" "$t_tmp/a.img" "$t_tmp/rc"
t_expect_rc 3 "only a went to C" env -u FERRY_PASSWORD "$FERRY" restore --repo "file://$t_tmp/C" --volume b latest "$t_tmp/rc"

# D: killed after its first pack, then resumed
t_expect_rc 0 "init D" env FERRY_PASSWORD=pw-d "$FERRY" init --repo "file://$t_tmp/D" --scrypt-n 1024 --copy-keys-from "$src"
FERRY_PASSWORD=pw-d FERRY_TEST_CRASH_AT=copy-pack-done t_run "$FERRY_TEST" copy --from "$src" --to "file://$t_tmp/D"
[ "$t_rc" = 137 ] || t_fail "crash hook: exit $t_rc: $t_err"
[ "$(FERRY_PASSWORD=pw-d t_snapcount "file://$t_tmp/D")" = 0 ] || t_fail "a killed copy left a snapshot"
t_expect_rc 0 "copy to D resumed" env FERRY_PASSWORD=pw-d "$FERRY" copy --from "$src" --to "file://$t_tmp/D" --json
[ "$(t_json chunks_dedup)" -gt 0 ] || t_fail "the resumed copy sent everything again: $t_out"
verify "file://$t_tmp/D" pw-d

# a new snapshot: only its new chunks move
t_region "$t_tmp/a.img" 0 1 random
t_expect_rc 0 "a third backup of a" "$FERRY" backup --repo "$src" --volume a "$t_tmp/a.img"
ids=$("$FERRY" snapshots --repo "$src" --json | python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')
t_expect_rc 0 "incremental copy to B" env FERRY_PASSWORD=pw-b "$FERRY" copy --from "$src" --to "file://$bdir" --json
[ "$(t_json snapshots_copied)" = 1 ] && [ "$(t_json chunks_new)" -le 2 ] || t_fail "incremental copy: $t_out"
verify "file://$bdir" pw-b

t_expect_rc 2 "copy without --from" "$FERRY" copy --to "file://$bdir"
t_expect_rc 2 "copy onto itself" "$FERRY" copy --from "$src" --to "$src"
t_expect_rc 8 "a wrong source password" env FERRY_FROM_PASSWORD=wrong FERRY_PASSWORD=pw-b "$FERRY" copy --from "$src" --to "file://$bdir"
t_done
