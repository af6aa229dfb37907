#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The local cache (--cache-dir): index objects and snapshot metadata are kept
# there and served from it on the next run; a damaged cached copy is dropped
# and fetched again (never trusted); entries of objects the repository no
# longer has are removed.
. "$(dirname "$0")/../lib/t_lib.sh"

repo=$(t_repo "$t_tmp/repo")
cache=$t_tmp/cache
truncate -s 8M "$t_tmp/v.img"
t_region "$t_tmp/v.img" 0 6 random
t_expect_rc 0 "backup with a cache" "$FERRY" backup --repo "$repo" --cache-dir "$cache" --pack-size 2M "$t_tmp/v.img"
t_expect_rc 0 "snapshots with a cache" "$FERRY" snapshots --repo "$repo" --cache-dir "$cache"
id=$(python3 -c 'import json; print(json.load(open("'"$t_tmp/repo/config"'"))["id"])')
nidx=$(ls "$cache/$id/index" | wc -l)
[ "$nidx" = 0 ] || t_fail "the first backup found $nidx index objects to cache?"
t_expect_rc 0 "second backup fills the index cache" "$FERRY" backup --repo "$repo" --cache-dir "$cache" "$t_tmp/v.img"
nidx=$(ls "$cache/$id/index" | wc -l)
npacks=$(ls "$t_tmp/repo/index" | wc -l)
[ "$nidx" = "$npacks" ] || t_fail "$nidx cached index objects for $npacks"
[ "$(ls "$cache/$id/snapshots" | wc -l)" = 1 ] || t_fail "snapshot metadata not cached: $(ls "$cache/$id/snapshots")"

# a damaged cached copy is refetched, not used
f=$(ls "$cache/$id/index/"* | head -1)
python3 - "$f" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read()); b[len(b) // 2] ^= 1; open(sys.argv[1], 'wb').write(b)
PY
t_expect_rc 0 "restore with a damaged cached index" "$FERRY" restore --repo "$repo" --cache-dir "$cache" latest "$t_tmp/out"
t_same "restore through the cache" "$t_tmp/v.img" "$t_tmp/out"
t_ok "the damaged copy was replaced" cmp -s "$f" "$t_tmp/repo/index/$(basename "${f%@*}")"

# objects that go away leave the cache too
t_expect_rc 0 "forget all" "$FERRY" forget --repo "$repo" $(ls "$t_tmp/repo/snapshots") --prune
t_expect_rc 0 "backup after the prune" "$FERRY" backup --repo "$repo" --cache-dir "$cache" "$t_tmp/v.img"
t_expect_rc 0 "snapshots after the prune" "$FERRY" snapshots --repo "$repo" --cache-dir "$cache"
[ "$(ls "$cache/$id/index" | wc -l)" = 0 ] || t_fail "cache entries of pruned indexes stayed: $(ls "$cache/$id/index")"
[ "$(ls "$cache/$id/snapshots" | wc -l)" = 1 ] || t_fail "cached metadata of forgotten snapshots stayed"
t_expect_rc 0 "--no-cache" "$FERRY" snapshots --repo "$repo" --no-cache
t_done
