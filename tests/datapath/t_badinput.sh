#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bad input gets a one-line error and the documented exit code (README: exit
# codes), and loses nothing: missing or unreadable source, missing or
# uninitialised repository, init over a repository, another format version,
# unknown, ambiguous or malformed snapshot ids, 'latest' with several volumes,
# corrupted packs, indexes and manifests.
. "$(dirname "$0")/../lib/t_lib.sh"

one_line() {
    t_checks=$((t_checks + 1))
    [ "$(grep -c . <<<"$t_err")" = 1 ] || t_fail "$1: the error is not one line: $t_err"
}

repo=$(t_repo "$t_tmp/repo")
img=$t_tmp/vol.img
truncate -s 8M "$img"
t_region "$img" 0 4 random
t_region "$img" 4 4 text

# the repository
t_expect_rc 2 "no --repo" env -u FERRY_REPO "$FERRY" snapshots
t_expect_err "no repository: give --repo" "no --repo"
t_expect_rc 3 "missing repository" "$FERRY" snapshots --repo "file://$t_tmp/nothing"
t_expect_err "no repository at file://$t_tmp/nothing" "missing repository"; one_line "missing repository"
mkdir "$t_tmp/empty"
t_expect_rc 3 "uninitialised repository" "$FERRY" backup --repo "file://$t_tmp/empty" "$img"
t_expect_err "ferry init" "uninitialised repository"
t_expect_rc 6 "init over a repository" "$FERRY" init --repo "$repo"
t_expect_err "holds a repository already" "init over a repository"; one_line "init over"
t_expect_rc 2 "relative file:// path" "$FERRY" init --repo "file://relative/path"
t_expect_rc 10 "unknown scheme" "$FERRY" init --repo "ftp://host/x"
t_expect_rc 2 "bad chunk size" "$FERRY" init --repo "file://$t_tmp/r2" --chunk-size 3000
mkdir "$t_tmp/v2" && cp -r "$t_tmp/repo/." "$t_tmp/v2/"
sed -i 's/"version":[[:space:]]*1/"version": 2/' "$t_tmp/v2/config"
grep -q '"version": 2' "$t_tmp/v2/config" || t_error "could not edit the config"
t_expect_rc 10 "another format version" "$FERRY" snapshots --repo "file://$t_tmp/v2"
t_expect_err "format version 2 is not supported" "another format version"; one_line "version"
echo '{ not json' > "$t_tmp/v2/config.tmp" && mv "$t_tmp/v2/config.tmp" "$t_tmp/v2/config"
t_expect_rc 4 "garbage config" "$FERRY" snapshots --repo "file://$t_tmp/v2"

# the source
t_expect_rc 3 "missing source" "$FERRY" backup --repo "$repo" "$t_tmp/none.img"
t_expect_err "source $t_tmp/none.img: No such file" "missing source"; one_line "missing source"
t_expect_rc 2 "a directory as source" "$FERRY" backup --repo "$repo" "$t_tmp"
t_expect_err "neither a block device nor a regular file" "directory source"
t_expect_rc 2 "no source" "$FERRY" backup --repo "$repo"
t_expect_rc 2 "two sources" "$FERRY" backup --repo "$repo" "$img" "$img"
t_expect_rc 2 "bad compression" "$FERRY" backup --repo "$repo" --compression 42 "$img"
t_expect_rc 2 "bad label" "$FERRY" backup --repo "$repo" --label novalue "$img"
t_expect_err "label 'novalue' is not key=value" "bad label"
t_expect_rc 2 "bad memory" "$FERRY" backup --repo "$repo" --memory 1M "$img"
t_expect_rc 2 "bad size" "$FERRY" backup --repo "$repo" --memory 12Q "$img"
t_expect_rc 2 "unknown option" "$FERRY" backup --repo "$repo" --frobnicate "$img"
[ "$(t_snapcount "$repo")" = 0 ] || t_fail "a refused backup left a snapshot"

# snapshot ids
t_expect_rc 0 "backup a" "$FERRY" backup --repo "$repo" --volume a --json "$img"
sa=$(t_json snapshot_id)
t_expect_rc 0 "backup b" "$FERRY" backup --repo "$repo" --volume b --json "$img"
t_expect_rc 6 "latest with two volumes" "$FERRY" restore --repo "$repo" latest "$t_tmp/out"
t_expect_err "several volumes.*--volume" "latest with two volumes"; one_line "latest"
[ ! -e "$t_tmp/out" ] || t_fail "a refused restore created its target"
t_expect_rc 3 "unknown snapshot" "$FERRY" restore --repo "$repo" 0123456789abcdef "$t_tmp/out"
t_expect_err "no snapshot '0123456789abcdef'" "unknown snapshot"
t_expect_rc 2 "short prefix" "$FERRY" restore --repo "$repo" "${sa:0:5}" "$t_tmp/out"
t_expect_err "at least 8 hex digits" "short prefix"
t_expect_rc 2 "not hex" "$FERRY" restore --repo "$repo" "zzzzzzzzzz" "$t_tmp/out"
t_expect_rc 3 "wrong volume" "$FERRY" restore --repo "$repo" --volume b "$sa" "$t_tmp/out"
t_expect_rc 2 "restore without target" "$FERRY" restore --repo "$repo" "$sa"
t_expect_rc 0 "an 8-digit prefix" "$FERRY" restore --repo "$repo" "${sa:0:8}" "$t_tmp/out8"
t_same "an 8-digit prefix" "$img" "$t_tmp/out8"

# corruption: a flipped bit in a pack, a damaged index, a truncated manifest
t_expect_rc 0 "restore before damage" "$FERRY" restore --repo "$repo" "$sa" "$t_tmp/ok"
t_same "restore before damage" "$img" "$t_tmp/ok"
cp -a "$t_tmp/repo" "$t_tmp/bad1"
pack=$(find "$t_tmp/bad1/data" -type f | head -1)
python3 - "$pack" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[len(b) // 3] ^= 0x10
open(p, 'wb').write(b)
PY
t_expect_rc 4 "flipped bit in a pack" "$FERRY" restore --repo "file://$t_tmp/bad1" "$sa" "$t_tmp/out1"
t_expect_err "damaged" "flipped bit"; one_line "flipped bit"
cp -a "$t_tmp/repo" "$t_tmp/bad2"
rm -f "$(find "$t_tmp/bad2/data" -type f | head -1)"
t_expect_rc 4 "missing pack" "$FERRY" restore --repo "file://$t_tmp/bad2" "$sa" "$t_tmp/out2"
t_expect_err "missing" "missing pack"
cp -a "$t_tmp/repo" "$t_tmp/bad3"
idx=$(find "$t_tmp/bad3/index" -type f | head -1)
printf 'X' | dd of="$idx" bs=1 seek=60 conv=notrunc status=none
t_expect_rc 4 "damaged index" "$FERRY" restore --repo "file://$t_tmp/bad3" "$sa" "$t_tmp/out3"
t_expect_err "index.*damaged|damaged.*index" "damaged index"
cp -a "$t_tmp/repo" "$t_tmp/bad4"
m=$t_tmp/bad4/snapshots/$sa
python3 - "$m" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
b[20] ^= 0xff          # inside the first segment
open(p, 'wb').write(b)
PY
t_expect_rc 4 "damaged manifest" "$FERRY" restore --repo "file://$t_tmp/bad4" "$sa" "$t_tmp/out4"
t_expect_err "manifest" "damaged manifest"; one_line "damaged manifest"
cp -a "$t_tmp/repo" "$t_tmp/bad5"
m=$t_tmp/bad5/snapshots/$sa
head -c $(($(stat -c %s "$m") - 7)) "$m" > "$m.x" && mv "$m.x" "$m"
t_expect_rc 0 "a truncated manifest is not listed" "$FERRY" snapshots --repo "file://$t_tmp/bad5" --json
grep -q "$sa" <<<"$t_out" && t_fail "a truncated manifest is listed"
t_expect_rc 4 "a truncated manifest does not restore (damaged)" "$FERRY" restore --repo "file://$t_tmp/bad5" "$sa" "$t_tmp/out5"
grep -q "snapshot $sa is damaged" <<<"$t_err" || t_fail "the error does not say the snapshot is damaged: $t_err"
# the undamaged repository is untouched by all of this
t_expect_rc 0 "restore after the damage elsewhere" "$FERRY" restore --repo "$repo" "$sa" "$t_tmp/ok2"
t_same "original repository intact" "$img" "$t_tmp/ok2"
t_done
