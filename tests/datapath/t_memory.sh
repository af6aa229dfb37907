#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Bounded memory (release build; not under sanitizers). With --memory 64M:
#  - a 2 GiB volume (1 GiB random, 512 MiB text, 512 MiB holes) is backed up
#    and restored with a peak RSS (getrusage of the child) of at most
#    64 MiB + the metadata bound (64 bytes per stored chunk, datapath/README.md)
#    + 32 MiB;
#  - a 4 TiB sparse image, backed up and restored with the same settings,
#    peaks no more than 32 MiB above the 2 GiB case: manifests are streamed and
#    RSS does not grow with the volume's size.
. "$(dirname "$0")/../lib/t_lib.sh"

# tmpfs if it has room (the disk is slow and noisy), else the test's directory
base=$t_tmp
if [ "$(df --output=avail -k /dev/shm 2>/dev/null | tail -1)" -gt $((8 << 20)) ] 2>/dev/null; then
    base=$(mktemp -d /dev/shm/ferry-mem-XXXXXX)
    t_on_exit "rm -rf '$base'"
fi
repo=$(t_repo "$base/repo")

# peak RSS in KiB of one command, from getrusage(RUSAGE_CHILDREN)
peak() {
    python3 - "$@" <<'PY'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
if r.returncode:
    sys.stderr.write(r.stderr.decode())
    sys.exit(r.returncode)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
PY
}

img=$base/2g.img
truncate -s 2G "$img"
t_region "$img" 0 1024 random
t_region "$img" 1024 512 text
b2=$(peak "$FERRY" backup --repo "$repo" --no-fsync --memory 64M --volume two "$img") || t_fail "2 GiB backup"
r2=$(peak "$FERRY" restore --repo "$repo" --no-fsync --memory 64M --volume two latest "$base/2g.out") || t_fail "2 GiB restore"
t_same "2 GiB round trip" "$img" "$base/2g.out"
rm -f "$base/2g.out"
chunks=2048
limit=$(((64 << 10) + chunks * 64 / 1024 + (32 << 10)))
t_log "2 GiB: backup peak ${b2} KiB, restore peak ${r2} KiB, limit ${limit} KiB"
t_checks=$((t_checks + 1))
[ "$b2" -le "$limit" ] || t_fail "2 GiB backup peaked at $b2 KiB > $limit KiB"
[ "$r2" -le "$limit" ] || t_fail "2 GiB restore peaked at $r2 KiB > $limit KiB"

big=$base/4t.img
truncate -s 4T "$big"
t_region "$big" 0 16 random
t_region "$big" $(((4 << 20) - 16)) 16 text
b4=$(peak "$FERRY" backup --repo "$repo" --no-fsync --memory 64M --volume four "$big") || t_fail "4 TiB backup"
r4=$(peak "$FERRY" restore --repo "$repo" --no-fsync --memory 64M --volume four latest "$base/4t.out") || t_fail "4 TiB restore"
t_ok "4 TiB round trip (data regions)" cmp -n $((16 << 20)) "$big" "$base/4t.out"
t_ok "4 TiB round trip (the end)" cmp -i $(((4 << 40) - (16 << 20))) "$big" "$base/4t.out"
[ "$(stat -c %s "$base/4t.out")" = $((4 << 40)) ] || t_fail "4 TiB restored size"
rm -f "$base/4t.out"
t_log "4 TiB: backup peak ${b4} KiB, restore peak ${r4} KiB"
t_checks=$((t_checks + 1))
[ "$b4" -le $((b2 + (32 << 10))) ] || t_fail "4 TiB backup peaked at $b4 KiB, 2 GiB at $b2 KiB"
[ "$r4" -le $((r2 + (32 << 10))) ] || t_fail "4 TiB restore peaked at $r4 KiB, 2 GiB at $r2 KiB"
t_done
