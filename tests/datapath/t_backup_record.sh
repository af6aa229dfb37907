#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# ferry backup get|describe|download|logs: a cluster's Backups read from their backup
# records and logs (FORMAT.md "Backup records", "Logs") with only the repository. The records are written through
# the datapath's API (t_record put, as the Backup controller writes them): the objects
# read back byte for byte, bad names and existing files are refused without touching
# anything, and the reserved words leave image files so named reachable as ./NAME. ferry copy
# carries the records with their snapshots (shared keys: the same ids; other keys: ids of the
# target's; --backup alone; killed between a record's archive and the record, run again), and
# refuses a record's Secrets into an unencrypted target before anything moves.
. "$(dirname "$0")/../lib/t_lib.sh"
: "${T_RECORD:?T_RECORD is not set: run with meson test}"

repo=$(t_repo "$t_tmp/repo")
truncate -s 4M "$t_tmp/v.img"
t_region "$t_tmp/v.img" 0 2 random
t_expect_rc 0 "backup of the volume" "$FERRY" backup --repo "$repo" --volume k8s/c1/app/data-0 --json "$t_tmp/v.img"
snap=$(t_json snapshot_id)
snap0=$snap

# the objects of an application, one line each
python3 - "$t_tmp/objects.jsonl" <<'PY'
import json, sys
objs = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i}", "namespace": "app"},
         "data": {"k": "v" * i}} for i in range(40)]
objs.append({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "app"},
             "spec": {"replicas": 2}})
objs.append({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pw", "namespace": "app"},
             "data": {"password": "aHVudGVyMg=="}})
with open(sys.argv[1], "w") as f:
    for o in objs:
        f.write(json.dumps(o, separators=(",", ":")) + "\n")
PY
log='time="2026-12-06T17:00:00Z" level=info msg="backup ferry-system/app-backup started"
time="2026-12-06T17:00:09Z" level=info msg="volume app/data-0: Completed on node n1: \"quoted\""
'
T_RECORD_LOG=$log t_expect_rc 0 "a record with its log" "$T_RECORD" put "$repo" app-backup "$snap" 4194304 <"$t_tmp/objects.jsonl"
id=$t_out
t_expect_rc 0 "a record without volumes" "$T_RECORD" put "$repo" config-only - 0 <"$t_tmp/objects.jsonl"

# get: all, by name, by prefix, JSON
t_expect_rc 0 "backup get" "$FERRY" backup get --repo "$repo"
grep -q "^app-backup  *ferry-system  *Completed  *42  *1 " <<<"$t_out" || t_fail "backup get: $t_out"
grep -q "^config-only  *ferry-system  *Completed  *42  *0 " <<<"$t_out" || t_fail "backup get: $t_out"
t_expect_rc 0 "backup get NAME -o json" "$FERRY" backup get app-backup --repo "$repo" -o json
python3 -c 'import json,sys
r=json.load(sys.stdin); assert len(r)==1, r; r=r[0]
assert r["name"]=="app-backup" and r["id"]==sys.argv[1] and r["objects"]==42 and r["secrets"]==1, r
assert r["volumes"][0]["snapshot"]==sys.argv[2] and r["volumes"][0]["size"]==4194304, r
assert r["spec"]["labelSelector"]=={"matchLabels":{"app":"app2backup"}}, r' "$id" "$snap" <<<"$t_out" ||
    t_fail "backup get -o json: $t_out"
t_expect_rc 0 "backup get by record prefix" "$FERRY" backup get "${id:0:10}" --repo "$repo"
grep -q "^app-backup " <<<"$t_out" || t_fail "get by prefix: $t_out"
t_expect_rc 0 "backup get -n" "$FERRY" backup get --repo "$repo" -n other
[ "$(grep -c . <<<"$t_out")" = 1 ] || t_fail "get -n other lists records: $t_out"

# describe
t_expect_rc 0 "backup describe" "$FERRY" backup describe app-backup --repo "$repo"
grep -q "^Phase: *Completed" <<<"$t_out" && grep -q "app/data-0: snapshot $snap" <<<"$t_out" &&
    grep -q "^Objects: *42 (1 Secrets)" <<<"$t_out" || t_fail "describe: $t_out"
t_expect_rc 0 "backup describe --details" "$FERRY" backup describe app-backup --repo "$repo" --details
[ "$(grep -c '^  ConfigMap$' <<<"$t_out")" = 40 ] && grep -q '^  Deployment$' <<<"$t_out" ||
    t_fail "describe --details: $t_out"

# logs: the Backup's log as it was written, byte for byte (the last newline included)
"$FERRY" backup logs app-backup --repo "$repo" >"$t_tmp/log.txt" || t_fail "backup logs --repo"
printf '%s' "$log" | cmp -s - "$t_tmp/log.txt" || t_fail "backup logs: $(cat "$t_tmp/log.txt")"
t_expect_rc 0 "backup logs by record id" "$FERRY" backup logs "$id" --repo "$repo" -n ferry-system
grep -q 'msg="volume app/data-0: Completed on node n1' <<<"$t_out" || t_fail "logs by id: $t_out"
[ -f "$t_tmp/repo/logs/$id" ] || t_fail "no logs/$id in the repository"
t_expect_rc 3 "backup logs of a Backup without one" "$FERRY" backup logs config-only --repo "$repo"
t_expect_err "backup config-only has no log" "backup logs of a Backup without one"
[ "$(grep -c . <<<"$t_err")" = 1 ] || t_fail "logs without one: not one line: $t_err"
t_expect_rc 3 "backup logs of an unknown Backup" "$FERRY" backup logs no-such --repo "$repo"
t_expect_err "no backup record named no-such" "backup logs of an unknown Backup"
t_expect_rc 2 "backup logs without a name" "$FERRY" backup logs --repo "$repo"

# download: the objects byte for byte, the file appearing only whole
t_expect_rc 0 "backup download" "$FERRY" backup download app-backup --repo "$repo" --file "$t_tmp/got.jsonl"
t_same "the downloaded objects" "$t_tmp/objects.jsonl" "$t_tmp/got.jsonl"
(cd "$t_tmp" && "$FERRY" backup download app-backup --repo "$repo") || t_fail "download to NAME.jsonl"
t_same "download's default file" "$t_tmp/objects.jsonl" "$t_tmp/app-backup.jsonl"
echo keep >"$t_tmp/keep.jsonl"
t_expect_rc 6 "download over an existing file" "$FERRY" backup download app-backup --repo "$repo" --file "$t_tmp/keep.jsonl"
t_expect_err "keep.jsonl exists" "download over an existing file"
[ "$(cat "$t_tmp/keep.jsonl")" = keep ] || t_fail "the existing file changed"
t_expect_rc 0 "download --force" "$FERRY" backup download app-backup --repo "$repo" --file "$t_tmp/keep.jsonl" --force
t_same "download --force" "$t_tmp/objects.jsonl" "$t_tmp/keep.jsonl"
t_expect_rc 0 "download to stdout" "$FERRY" backup download app-backup --repo "$repo" --file -
[ "$t_out" = "$(cat "$t_tmp/objects.jsonl")" ] || t_fail "download to stdout differs"

# bad input: a clear error, a non-zero exit, nothing written
t_expect_rc 3 "an unknown Backup" "$FERRY" backup describe no-such --repo "$repo"
t_expect_err "no backup record named no-such" "an unknown Backup"
t_expect_rc 3 "download of an unknown Backup" "$FERRY" backup download no-such --repo "$repo" --file "$t_tmp/none.jsonl"
[ ! -e "$t_tmp/none.jsonl" ] || t_fail "a failed download left a file"
ls "$t_tmp" | grep -q '\.tmp-' && t_fail "a temporary file was left"
t_expect_rc 2 "describe without a name" "$FERRY" backup describe --repo "$repo"
t_expect_rc 2 "--details on get" "$FERRY" backup get --details --repo "$repo"
t_expect_rc 0 "backup get --help --repo" "$FERRY" backup get --help --repo "$repo"
grep -q "^usage: ferry backup get" <<<"$t_out" || t_fail "get --help: $t_out"
t_expect_rc 2 "backup create in a repository" "$FERRY" backup create app --repo "$repo"
t_expect_err "\./create" "backup create names ./create"

# the reserved words: an image file named get is ./get
cp "$t_tmp/v.img" "$t_tmp/get"
t_expect_rc 0 "backup ./get (an image file named get)" sh -c "cd '$t_tmp' && '$FERRY' backup --repo '$repo' --json ./get"
snap=$(t_json snapshot_id)
# ...and a restore onto an image file named create is onto ./create
t_expect_rc 0 "restore onto ./create (an image file named create)" sh -c "cd '$t_tmp' && '$FERRY' restore --repo '$repo' '$snap' ./create"
cmp -s "$t_tmp/v.img" "$t_tmp/create" || t_fail "./create differs from what was backed up"
t_expect_rc 2 "restore download is reserved" "$FERRY" restore download x
t_expect_err "\./download" "restore download names ./download"
t_expect_rc 0 "ferry backup --help names the words" "$FERRY" backup --help
grep -q "create, get, describe, download, logs or delete" <<<"$t_out" || t_fail "backup --help: $t_out"

# ferry copy carries the records with their snapshots: into a target sharing the keys (the same
# record ids), into one of other keys (ids of its own), and with --backup only that Backup
export FERRY_FROM_PASSWORD=$FERRY_PASSWORD
t_expect_rc 0 "init A --copy-keys-from" env FERRY_PASSWORD=pw-a "$FERRY" init --repo "file://$t_tmp/A" \
    --scrypt-n 1024 --copy-keys-from "$repo"
t_expect_rc 0 "copy into A" env FERRY_PASSWORD=pw-a "$FERRY" copy --from "$repo" --to "file://$t_tmp/A" --json
python3 -c 'import json,sys; r=json.load(sys.stdin); assert (r["records_copied"], r["records_skipped"]) == (2, 0), r' \
    <<<"$t_out" || t_fail "copy into A: $t_out"
t_expect_rc 0 "backup get of A" env FERRY_PASSWORD=pw-a "$FERRY" backup get --repo "file://$t_tmp/A" -o json
python3 -c 'import json,sys
r={x["name"]: x for x in json.load(sys.stdin)}
assert sorted(r) == ["app-backup", "config-only"], r
a=r["app-backup"]; assert a["id"]==sys.argv[1] and a["objects"]==42 and a["secrets"]==1, a
assert a["volumes"][0]["snapshot"]==sys.argv[2] and a["spec"]["labelSelector"]=={"matchLabels":{"app":"app2backup"}}, a' \
    "$id" "$snap0" <<<"$t_out" || t_fail "A's records (the same ids, fields, volumes): $t_out"
t_expect_rc 0 "download from A" env FERRY_PASSWORD=pw-a "$FERRY" backup download app-backup --repo "file://$t_tmp/A" \
    --file "$t_tmp/a.jsonl"
t_same "the objects of the copy in A" "$t_tmp/objects.jsonl" "$t_tmp/a.jsonl"
FERRY_PASSWORD=pw-a "$FERRY" backup logs app-backup --repo "file://$t_tmp/A" >"$t_tmp/a-log.txt" || t_fail "logs of A"
printf '%s' "$log" | cmp -s - "$t_tmp/a-log.txt" || t_fail "the log in A: $(cat "$t_tmp/a-log.txt")"
t_expect_rc 0 "check of A" env FERRY_PASSWORD=pw-a "$FERRY" check --repo "file://$t_tmp/A"
t_expect_rc 0 "copy into A again" env FERRY_PASSWORD=pw-a "$FERRY" copy --from "$repo" --to "file://$t_tmp/A" --json
python3 -c 'import json,sys; r=json.load(sys.stdin); assert (r["records_copied"], r["records_skipped"], r["snapshots_copied"]) == (0, 2, 0), r' \
    <<<"$t_out" || t_fail "copy into A again: $t_out"
# other keys: --backup alone, its snapshot with it (not the other snapshots)
t_expect_rc 0 "init B" env FERRY_PASSWORD=pw-b "$FERRY" init --repo "file://$t_tmp/B" --scrypt-n 1024
t_expect_rc 0 "copy --backup app-backup into B" env FERRY_PASSWORD=pw-b "$FERRY" copy --from "$repo" \
    --to "file://$t_tmp/B" --backup app-backup --json
python3 -c 'import json,sys; r=json.load(sys.stdin); assert (r["records_copied"], r["snapshots_copied"]) == (1, 1), r' \
    <<<"$t_out" || t_fail "copy --backup into B: $t_out"
t_expect_rc 0 "backup get of B" env FERRY_PASSWORD=pw-b "$FERRY" backup get --repo "file://$t_tmp/B" -o json
python3 -c 'import json,sys
r=json.load(sys.stdin); assert [x["name"] for x in r] == ["app-backup"], r
assert r[0]["id"] != sys.argv[1] and r[0]["volumes"][0]["snapshot"] == sys.argv[2], r' "$id" "$snap0" <<<"$t_out" ||
    t_fail "B's record (an id of its keys, the same snapshot): $t_out"
t_expect_rc 0 "download from B" env FERRY_PASSWORD=pw-b "$FERRY" backup download app-backup --repo "file://$t_tmp/B" \
    --file "$t_tmp/b.jsonl"
t_same "the objects of the copy in B" "$t_tmp/objects.jsonl" "$t_tmp/b.jsonl"
t_expect_rc 0 "restore of its volume from B" env FERRY_PASSWORD=pw-b "$FERRY" restore --repo "file://$t_tmp/B" "$snap0" \
    "$t_tmp/b.img"
t_same "the volume restored from B" "$t_tmp/v.img" "$t_tmp/b.img"
# a copy killed between a record's archive and the record: no record yet; run again, it is
: "${FERRY_TEST:?FERRY_TEST is not set: run with meson test}"
t_expect_rc 0 "init D --copy-keys-from" env FERRY_PASSWORD=pw-d "$FERRY" init --repo "file://$t_tmp/D" \
    --scrypt-n 1024 --copy-keys-from "$repo"
FERRY_PASSWORD=pw-d FERRY_TEST_CRASH_AT=record-copy-archived "$FERRY_TEST" copy --from "$repo" \
    --to "file://$t_tmp/D" >/dev/null 2>&1
rc=$?
t_checks=$((t_checks + 1))
[ "$rc" = 137 ] && [ -z "$(ls "$t_tmp/D/backups" 2>/dev/null)" ] ||
    t_fail "a copy killed at its first record's archive: exit $rc, records $(ls "$t_tmp/D/backups" 2>/dev/null)"
t_expect_rc 0 "copy into D again" env FERRY_PASSWORD=pw-d "$FERRY" copy --from "$repo" --to "file://$t_tmp/D" --json
python3 -c 'import json,sys; r=json.load(sys.stdin); assert (r["records_copied"], r["records_skipped"]) == (2, 0), r' \
    <<<"$t_out" || t_fail "copy into D again: $t_out"
t_expect_rc 0 "check of D" env FERRY_PASSWORD=pw-d "$FERRY" check --repo "file://$t_tmp/D"
t_expect_rc 0 "download from D" env FERRY_PASSWORD=pw-d "$FERRY" backup download app-backup --repo "file://$t_tmp/D" \
    --file "$t_tmp/d.jsonl"
t_same "the objects of the copy in D" "$t_tmp/objects.jsonl" "$t_tmp/d.jsonl"

# bad input: an unknown Backup; the Secret of an encrypted source into an unencrypted target
t_expect_rc 3 "copy --backup of an unknown Backup" env FERRY_PASSWORD=pw-b "$FERRY" copy --from "$repo" \
    --to "file://$t_tmp/B" --backup no-such
t_expect_err "backup no-such: the source has no such Backup" "copy --backup of an unknown Backup"
[ "$(grep -c . <<<"$t_err")" = 1 ] || t_fail "an unknown --backup: not one line: $t_err"
t_expect_rc 0 "init C (not encrypted)" "$FERRY" init --repo "file://$t_tmp/C" --insecure-no-encryption
t_expect_rc 8 "copy of a Backup with a Secret into C" "$FERRY" copy --from "$repo" --to "file://$t_tmp/C" \
    --backup app-backup
t_expect_err "backup ferry-system/app-backup: its archive holds 1 Secret\(s\): the target is not encrypted" \
    "copy of a Backup with a Secret into C"
[ "$(grep -c . <<<"$t_err")" = 1 ] || t_fail "a Secret into C: not one line: $t_err"
[ -z "$(ls "$t_tmp/C/backups" "$t_tmp/C/snapshots" 2>/dev/null)" ] ||
    t_fail "C got a record or a snapshot: $(ls "$t_tmp/C/backups" "$t_tmp/C/snapshots")"

# a damaged record: skipped by get, refused by name, reported by check
f=$(ls "$t_tmp/repo/backups/"* | head -1)
printf 'XXXX' | dd of="$f" bs=1 seek=20 conv=notrunc status=none
t_expect_rc 0 "get with a damaged record" "$FERRY" backup get --repo "$repo"
[ "$(grep -c . <<<"$t_out")" = 2 ] || t_fail "get lists the damaged record: $t_out"
t_expect_rc 4 "check finds the damaged record" "$FERRY" check --repo "$repo"
t_done
