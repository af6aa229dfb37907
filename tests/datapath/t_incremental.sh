#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Incremental forever: a chain of 5 backups with random small writes between
# them, alternately by scanning (read + hash, nothing stored twice) and with a
# changed-block list (only the listed ranges are read); every snapshot
# restores byte-identical; each incremental stores at most (changed chunks +
# 1) x chunk size; --parent auto/none/ID; a list without a parent, for another
# parent, for another size, or malformed, is refused.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
img=$t_tmp/vol.img
truncate -s $(((48 << 20) + 4096)) "$img"
t_region "$img" 0 16 random
t_region "$img" 16 16 text
t_region "$img" 40 8 random

t_expect_rc 0 "full backup" "$FERRY" backup --repo "$repo" --volume v --json "$img"
ids=("$(t_json snapshot_id)")
[ "$(t_json parent)" = None ] || t_fail "the first backup has parent $(t_json parent)"
cp "$img" "$t_tmp/v0"

for round in 1 2 3 4; do
    # random writes: 3 to 6 of them, 1 byte to 300 KiB each, some across chunk boundaries
    python3 - "$img" "$round" "$t_tmp/changes" <<'PY'
import os, random, sys
path, rnd, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
random.seed(rnd * 7919)
size = os.path.getsize(path)
chunks = set()
with open(path, 'r+b') as f, open(out, 'w') as o:
    for _ in range(random.randint(3, 6)):
        n = random.randint(1, 300 << 10)
        off = random.randrange(0, size - n)
        f.seek(off)
        f.write(os.urandom(n))
        o.write(f"{off} {n}\n")
        chunks.update(range(off >> 20, ((off + n - 1) >> 20) + 1))
print(len(chunks), file=open(out + '.chunks', 'w'))
PY
    nchanged=$(cat "$t_tmp/changes.chunks")
    parent=${ids[-1]}
    if [ $((round % 2)) = 0 ]; then
        { echo "# ferry changed-blocks v1"; echo "parent $parent"; echo "size $(stat -c %s "$img")"; cat "$t_tmp/changes"; echo "end $(wc -l < "$t_tmp/changes")"; } > "$t_tmp/cbl"
        t_expect_rc 0 "incremental $round (changed-block list)" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/cbl" --json "$img"
        [ "$(t_json bytes_read)" -le $(((nchanged + 1) << 20)) ] ||
            t_fail "round $round read $(t_json bytes_read) bytes for $nchanged changed chunks"
        [ "$(t_json bytes_unchanged)" -gt 0 ] || t_fail "round $round: nothing was taken from the parent"
    else
        t_expect_rc 0 "incremental $round (scan)" "$FERRY" backup --repo "$repo" --volume v --json "$img"
    fi
    [ "$(t_json parent)" = "$parent" ] || t_fail "round $round: parent $(t_json parent), expected $parent"
    stored=$(t_json bytes_new)
    [ "$stored" -le $(((nchanged + 1) * ((1 << 20) + 28))) ] ||
        t_fail "round $round stored $stored bytes for $nchanged changed chunks"
    ids+=("$(t_json snapshot_id)")
    cp "$img" "$t_tmp/v$round"
done

for i in 0 1 2 3 4; do
    t_expect_rc 0 "restore of snapshot $i" "$FERRY" restore --repo "$repo" "${ids[$i]}" "$t_tmp/r$i"
    t_same "snapshot $i of the chain" "$t_tmp/v$i" "$t_tmp/r$i"
done

# --parent none and an explicit id
t_expect_rc 0 "--parent none" "$FERRY" backup --repo "$repo" --volume v --parent none --json "$img"
[ "$(t_json parent)" = None ] || t_fail "--parent none recorded $(t_json parent)"
t_expect_rc 0 "--parent by prefix" "$FERRY" backup --repo "$repo" --volume v --parent "${ids[1]:0:10}" --json "$img"
[ "$(t_json parent)" = "${ids[1]}" ] || t_fail "--parent prefix recorded $(t_json parent)"
t_expect_rc 3 "--parent unknown" "$FERRY" backup --repo "$repo" --volume v --parent 0123456789abcdef "$img"

# refused lists: nothing is backed up
before=$(t_snapcount "$repo")
printf '# ferry changed-blocks v1\n0 4096\nend 1\n' > "$t_tmp/unbound"
t_expect_rc 2 "a list without a parent" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/unbound" "$img"
t_expect_err "names no parent" "unbound list"
printf '# ferry changed-blocks v1\nparent %s\n0 4096\nend 1\n' "${ids[0]}" > "$t_tmp/wrong"
t_expect_rc 6 "a list for another parent" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/wrong" "$img"
t_expect_err "computed against snapshot ${ids[0]:0:16}, not the parent" "wrong parent"
newest=$("$FERRY" snapshots --repo "$repo" --volume v --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')
printf '# ferry changed-blocks v1\nparent %s\nsize 12345\n0 4096\nend 1\n' "$newest" > "$t_tmp/size"
t_expect_rc 6 "a list for another size" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/size" "$img"
printf '# ferry changed-blocks v1\nparent %s\n0 x\nend 1\n' "$newest" > "$t_tmp/bad"
t_expect_rc 2 "a malformed list" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/bad" "$img"
t_expect_err "line 3: expected 'OFFSET LENGTH'" "malformed list"
printf 'parent %s\n0 1\nend 1\n' "$newest" > "$t_tmp/nohdr"
t_expect_rc 2 "a list without its header" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/nohdr" "$img"
printf '# ferry changed-blocks v1\nparent %s\n0 1\n5000000 1\n' "$newest" > "$t_tmp/cut"
t_expect_rc 2 "a list cut short (no end line)" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/cut" "$img"
t_expect_err "no 'end' line" "cut list"
printf '# ferry changed-blocks v1\nparent %s\n0 1\nend 2\n' "$newest" > "$t_tmp/cut2"
t_expect_rc 2 "a list that says it had more" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/cut2" "$img"
t_expect_rc 6 "a list and --parent none" "$FERRY" backup --repo "$repo" --volume v --parent none --changed-blocks "$t_tmp/wrong" "$img"
[ "$(t_snapcount "$repo")" = "$before" ] || t_fail "a refused backup left a snapshot"

# the JSON form, accepted as well
python3 -c "import json; print(json.dumps({'format':'ferry-changed-blocks','version':1,'parent':'$newest','ranges':[[0,100],[5<<20,4096]]}))" > "$t_tmp/cbl.json"
head -c 100 /dev/urandom | dd of="$img" conv=notrunc status=none
t_expect_rc 0 "a JSON changed-block list" "$FERRY" backup --repo "$repo" --volume v --changed-blocks "$t_tmp/cbl.json" --json "$img"
[ "$(t_json bytes_read)" -le $((2 << 20)) ] || t_fail "JSON list read $(t_json bytes_read) bytes"
t_expect_rc 0 "restore after the JSON list" "$FERRY" restore --repo "$repo" --volume v latest "$t_tmp/rj"
t_same "JSON list incremental" "$img" "$t_tmp/rj"
t_done
