#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# I/O errors (root: FUSE). tests/reliability/faultfs.py, a FUSE passthrough
# (direct_io: every read and write reaches it, io_uring's too), fails chosen
# reads, writes, fsyncs and creations with EIO (ENOSPC for creations):
#  - a restore whose target fails a write, or its fsync;
#  - a backup whose source fails a read;
#  - a file:// repository that fails: the read of a pack (restore, check
#    --read-data), of a manifest (restore by id, and of "latest": not an
#    older snapshot instead), of an index (restore); the write
#    of a pack, of an index, of a manifest, the fsync of a manifest, the
#    creation of a manifest (backup).
# Each fails with exit 5 (I/O error; 7 for ENOSPC) and a message naming the
# file, prints no result, lists no snapshot it did not finish; once the
# fault is gone the same command succeeds and restores are byte-identical.
. "$(dirname "$0")/../lib/t_lib.sh"
. "$(dirname "$0")/rel_lib.sh"
t_require_root
[ -c /dev/fuse ] || t_skip "no /dev/fuse: the kernel has no FUSE"
/usr/bin/python3 -c 'import fusepy' 2>/dev/null ||
    t_fail "python3-fusepy is missing: install it (tests/install-deps.sh lists it)"

back=$t_tmp/back mnt=$t_tmp/mnt rules=$t_tmp/rules flog=$t_tmp/faults.log
mkdir -p "$back" "$mnt"
: >"$rules"
: >"$flog"
/usr/bin/python3 "$FERRY_SRC/tests/reliability/faultfs.py" "$back" "$mnt" "$rules" "$flog" \
    >"$t_tmp/faultfs.out" 2>&1 &
fs=$!
t_on_exit "kill $fs"
t_on_exit "umount -l '$mnt'"
for _ in $(seq 100); do grep -q " $mnt fuse" /proc/mounts && break; sleep 0.05; done
grep -q " $mnt fuse" /proc/mounts || t_error "faultfs did not mount: $(cat "$t_tmp/faultfs.out")"

# rule LINE...: the faults from now on (none: no faults); a fresh log
rule() {
    printf '%s\n' "$@" >"$rules.new" && mv "$rules.new" "$rules"
    sleep 0.02
    : >"$flog"
}
# eio WANT DESC PATTERN CMD...: CMD fails with WANT, says PATTERN, prints nothing, and the
# fault was injected
eio() {
    local want=$1 desc=$2 pat=$3
    shift 3
    t_run "$@"
    t_checks=$((t_checks + 1))
    [ "$t_rc" = "$want" ] || t_fail "$desc: exit $t_rc, expected $want: $t_err"
    grep -Eq -- "$pat" <<<"$t_err" || t_fail "$desc: the error does not say /$pat/: $t_err"
    [ -z "$t_out" ] || t_fail "$desc: failed but printed a result: $t_out"
    [ -s "$flog" ] || t_fail "$desc: faultfs injected nothing (rules: $(cat "$rules"))"
    t_log "outcome: eio $desc: exit $t_rc: $(grep -m1 'error' <<<"$t_err" | head -c 200)"
}

rel_mkvol "$t_tmp/v.img" 12 51
MiB=$((1 << 20))

# ---- restore onto the FUSE filesystem
repo=$(t_repo "$t_tmp/repo")
t_expect_rc 0 "backup" "$FERRY" backup --repo "$repo" --volume v --json "$t_tmp/v.img"
sid=$(t_json snapshot_id)
rule "write target.img $((3 * MiB + 4096))"
eio 5 "restore: a write to the target fails" "target.img.*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$repo" --json "$sid" "$mnt/target.img"
rule "fsync target.img"
eio 5 "restore: the target's fsync fails" "target.img.*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$repo" --json "$sid" "$mnt/target.img"
rule
t_expect_rc 0 "restore once the target works" "$FERRY" restore --repo "$repo" --json "$sid" "$mnt/target.img"
t_same "restore through FUSE" "$t_tmp/v.img" "$mnt/target.img"

# ---- backup from a source on it
cp "$t_tmp/v.img" "$mnt/source.img"
rule "read source.img $((5 * MiB + 100))"
eio 5 "backup: a read of the source fails" "source.img.*(Input/output error|I/O error)" \
    "$FERRY" backup --repo "$repo" --volume src --json "$mnt/source.img"
[ "$(t_snapcount "$repo")" = 1 ] || t_fail "a backup whose source failed left a snapshot"
rule
t_expect_rc 0 "backup once the source reads" "$FERRY" backup --repo "$repo" --volume src --json "$mnt/source.img"
rm -f "$t_tmp/r.img"
t_expect_rc 0 "restore it" "$FERRY" restore --repo "$repo" --volume src latest "$t_tmp/r.img"
t_same "backup of a FUSE source" "$t_tmp/v.img" "$t_tmp/r.img"

# ---- a file:// repository on it
frepo=$(t_repo "$mnt/repo")
t_expect_rc 0 "backup into the FUSE repository" "$FERRY" backup --repo "$frepo" --volume v --pack-size 4M \
    --json "$t_tmp/v.img"
fsid=$(t_json snapshot_id)
rm -f "$t_tmp/r.img"
rule "read /data/ $((1 * MiB + 10))"
eio 5 "restore: a read of a pack fails" "data/.*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$frepo" --json "$fsid" "$t_tmp/r.img"
eio 5 "check --read-data: a read of a pack fails" "data/.*(Input/output error|I/O error)" \
    "$FERRY" check --repo "$frepo" --read-data --json
rule "read /snapshots/ 20"
eio 5 "restore: a read of the manifest fails" "(snapshot|manifest).*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$frepo" --json "$fsid" "$t_tmp/r.img"
: >"$flog"
# the newest is not known while a manifest does not read: not an older snapshot instead
eio 5 "restore latest: a read of the manifest fails" "(snapshot|manifest).*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$frepo" --volume v --json latest "$t_tmp/r.img"
rule "read /index/ 0"
eio 5 "restore: a read of an index fails" "index/.*(Input/output error|I/O error)" \
    "$FERRY" restore --repo "$frepo" --json "$fsid" "$t_tmp/r.img"
rule
rm -f "$t_tmp/r.img"
t_expect_rc 0 "restore once the repository reads" "$FERRY" restore --repo "$frepo" "$fsid" "$t_tmp/r.img"
t_same "restore from the FUSE repository" "$t_tmp/v.img" "$t_tmp/r.img"

cp "$t_tmp/v.img" "$t_tmp/v.0"
t_region "$t_tmp/v.img" 0 6 random
for r in "write /data/ $((2 * MiB))" "write /index/ 0" "write /snapshots/ 0" "fsync /snapshots/" \
    "create /snapshots/"; do
    rule "$r"
    want=5
    [ "${r%% *}" = create ] && want=7
    eio $want "backup: '$r' fails in the repository" "(Input/output error|I/O error|No space left)" \
        "$FERRY" backup --repo "$frepo" --volume v --pack-size 4M --json "$t_tmp/v.img"
    rule
    [ "$(t_snapcount "$frepo")" = 1 ] || t_fail "a backup that failed ('$r') left a snapshot"
    t_expect_rc 0 "check after '$r' failed" "$FERRY" check --repo "$frepo" --read-data
done
t_expect_rc 0 "backup once the repository writes" "$FERRY" backup --repo "$frepo" --volume v --pack-size 4M \
    --json "$t_tmp/v.img"
rel_verify "the FUSE repository at the end" "$frepo" "$fsid" "$t_tmp/v.0"
rm -f "$t_tmp/r.img"
t_expect_rc 0 "restore the last backup" "$FERRY" restore --repo "$frepo" --volume v latest "$t_tmp/r.img"
t_same "the last backup into the FUSE repository" "$t_tmp/v.img" "$t_tmp/r.img"
t_done
