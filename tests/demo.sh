#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tests/demo.sh [BUILD_DIR] - ferry's main job end to end: make a sample volume
# image (holes, random data, real files), create a local file:// repository,
# back the image up, change it, back it up again (incremental: only the change
# is stored), restore both snapshots and verify them byte by byte.
# Repositories are encrypted: without FERRY_PASSWORD (or a password file or
# command of your own) the demo makes a random password in DIR/password.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
FERRY=${FERRY:-${1:-$ROOT/build}/control/ferry}
[ -x "$FERRY" ] || { echo "demo: $FERRY not built (meson setup build && ninja -C build)" >&2; exit 1; }
D=${DEMO_DIR:-/var/tmp/ferry-demo}
rm -rf "$D" && mkdir -p "$D"
step() { echo; echo "== $*"; }

step "a 512 MiB sample volume: 128 MiB holes, 128 MiB random, 256 MiB of /usr/share"
truncate -s 512M "$D/volume.img"
head -c 128M /dev/urandom | dd of="$D/volume.img" bs=1M seek=128 conv=notrunc status=none
{ tar cf - /usr/share 2>/dev/null || true; } | head -c 256M | dd of="$D/volume.img" bs=1M seek=256 conv=notrunc iflag=fullblock status=none

if [ -z "${FERRY_PASSWORD:-}${FERRY_PASSWORD_FILE:-}${FERRY_PASSWORD_COMMAND:-}" ]; then
    (umask 077 && head -c 24 /dev/urandom | base64 >"$D/password")
    export FERRY_PASSWORD_FILE=$D/password
    echo "demo: the repository's password is in $D/password (keep it: without it nothing restores)"
fi

step "ferry init"
"$FERRY" init --repo "file://$D/repo"
step "ferry backup (first)"
"$FERRY" backup --repo "file://$D/repo" --volume demo --label app=demo "$D/volume.img"
cp --sparse=always "$D/volume.img" "$D/volume.v1"
step "change 4 MiB, ferry backup (second: only the change is new)"
head -c 4M /dev/urandom | dd of="$D/volume.img" bs=1M seek=300 conv=notrunc status=none
"$FERRY" backup --repo "file://$D/repo" --volume demo "$D/volume.img"
step "ferry snapshots"
"$FERRY" snapshots --repo "file://$D/repo"
first=$("$FERRY" snapshots --repo "file://$D/repo" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)
# times in microseconds are whole numbers, not 1.79650624841047e+15
assert all(type(x["time_start_us"]) is int and type(x["time_end_us"]) is int for x in s), s
print(s[0]["id"])')
step "ferry restore latest, and the first snapshot by id prefix"
"$FERRY" restore --repo "file://$D/repo" --volume demo latest "$D/restored.img"
"$FERRY" restore --repo "file://$D/repo" "${first:0:12}" "$D/restored.v1"
cmp "$D/volume.img" "$D/restored.img"
cmp "$D/volume.v1" "$D/restored.v1"
step "verified: both snapshots restore byte-identical (files in $D)"
