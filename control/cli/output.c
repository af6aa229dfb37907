// SPDX-License-Identifier: MIT
/*
 * control/cli/output.c - the JSON the ferry command prints (--json), from plain
 * structs. No cJSON leaves this file.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli.h"
#include "datapath/dp.h"

static void ctl_json_print(cJSON *root)
{
	char *s = root ? cJSON_PrintUnformatted(root) : NULL;

	if (s) {
		puts(s);
		cJSON_free(s);
	} else {
		ctl_log(CTL_LOG_ERR, "out of memory printing JSON");
	}
	cJSON_Delete(root);
}

void ctl_time_str(int64_t us, char *buf, size_t len)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;

	if (!gmtime_r(&t, &tm) || !strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, len, "?");
}

/*
 * @v as a number of plain decimal digits: cJSON writes a double with 15
 * significant digits, so a time in microseconds (16 digits) came out as
 * 1.79650624841047e+15, which integer readers refuse.
 */
static void json_int(cJSON *o, const char *name, long long v)
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%lld", v);
	cJSON_AddRawToObject(o, name, digits);
}

static cJSON *ctl_json_snapshot(const struct dp_snapshot *s)
{
	cJSON *o = cJSON_CreateObject(), *labels;
	char t[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", s->id);
	cJSON_AddStringToObject(o, "short_id",
				(char[9]){s->id[0], s->id[1], s->id[2], s->id[3], s->id[4],
					  s->id[5], s->id[6], s->id[7], 0});
	cJSON_AddStringToObject(o, "volume", s->volume);
	ctl_time_str(s->time_end, t, sizeof(t));
	cJSON_AddStringToObject(o, "time", t);
	json_int(o, "time_start_us", s->time_start);
	json_int(o, "time_end_us", s->time_end);
	cJSON_AddStringToObject(o, "hostname", s->hostname);
	cJSON_AddStringToObject(o, "source", s->source);
	if (s->parent[0])
		cJSON_AddStringToObject(o, "parent", s->parent);
	else
		cJSON_AddNullToObject(o, "parent");
	json_int(o, "size", s->size);
	cJSON_AddNumberToObject(o, "chunk_size", s->chunk_size);
	labels = cJSON_AddObjectToObject(o, "labels");
	for (size_t i = 0; labels && i < s->nlabels; i++)
		cJSON_AddStringToObject(labels, s->labels[i].key, s->labels[i].value);
	json_int(o, "chunks_total", s->chunks_total);
	json_int(o, "chunks_zero", s->chunks_zero);
	json_int(o, "chunks_new", s->chunks_new);
	json_int(o, "bytes_read", s->bytes_read);
	json_int(o, "bytes_zero", s->bytes_zero);
	json_int(o, "bytes_new", s->bytes_new);
	json_int(o, "manifest_size", s->manifest_size);
	return o;
}

void ctl_json_snapshots(const struct dp_snapshot *s, size_t n, const char *volume)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		if (volume && strcmp(volume, s[i].volume))
			continue;
		cJSON_AddItemToArray(arr, ctl_json_snapshot(&s[i]));
	}
	ctl_json_print(arr);
}

void ctl_json_result(const char *verb, const struct dp_result *r, const char *repo,
		     const char *target)
{
	const struct dp_progress *p = &r->progress;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "verb", verb);
	cJSON_AddStringToObject(o, "snapshot_id", r->snapshot_id);
	cJSON_AddStringToObject(o, "volume", r->volume);
	cJSON_AddStringToObject(o, "repository", repo);
	if (target)
		cJSON_AddStringToObject(o, "target", target);
	cJSON_AddStringToObject(o, "io", r->io_mode);
	if (r->parent[0])
		cJSON_AddStringToObject(o, "parent", r->parent);
	else
		cJSON_AddNullToObject(o, "parent");
	json_int(o, "bytes_total", p->bytes_total);
	json_int(o, "bytes_read", p->bytes_read);
	json_int(o, "bytes_zero", p->bytes_zero);
	json_int(o, "bytes_new", p->bytes_new);
	json_int(o, "bytes_written", p->bytes_written);
	json_int(o, "bytes_unchanged", p->bytes_unchanged);
	json_int(o, "bytes_reused", p->bytes_reused);
	json_int(o, "chunks_total", p->chunks_total);
	json_int(o, "chunks_zero", p->chunks_zero);
	json_int(o, "chunks_new", p->chunks_new);
	json_int(o, "chunks_dedup", p->chunks_dedup);
	json_int(o, "chunks_unchanged", p->chunks_unchanged);
	json_int(o, "packs", p->packs);
	cJSON_AddNumberToObject(o, "seconds", p->seconds);
	cJSON_AddNumberToObject(o, "mb_per_s",
				p->seconds > 0 ? (double)p->bytes_total / 1e6 / p->seconds : 0);
	ctl_json_print(o);
}

void ctl_json_init(const char *repo, const char *id, uint32_t chunk_size, bool encrypted)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "repository", repo);
	cJSON_AddStringToObject(o, "id", id);
	cJSON_AddNumberToObject(o, "chunk_size", chunk_size);
	cJSON_AddBoolToObject(o, "encrypted", encrypted);
	ctl_json_print(o);
}

void ctl_json_keys(const struct dp_key_info *k, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();
		char t[32];

		if (!o)
			break;
		ctl_time_str(k[i].created * 1000000, t, sizeof(t));
		cJSON_AddStringToObject(o, "id", k[i].id);
		cJSON_AddStringToObject(o, "created", t);
		cJSON_AddStringToObject(o, "username", k[i].username);
		cJSON_AddStringToObject(o, "hostname", k[i].hostname);
		cJSON_AddBoolToObject(o, "current", k[i].current);
		cJSON_AddItemToArray(arr, o);
	}
	ctl_json_print(arr);
}

void ctl_json_check(const struct dp_check_report *r, bool read_data)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	json_int(o, "snapshots", r->snapshots);
	json_int(o, "packs", r->packs);
	json_int(o, "chunks", r->chunks);
	cJSON_AddBoolToObject(o, "read_data", read_data);
	json_int(o, "packs_read", r->packs_read);
	json_int(o, "chunks_read", r->chunks_read);
	json_int(o, "bytes_read", r->bytes_read);
	json_int(o, "problems", r->problems);
	ctl_json_print(o);
}

void ctl_json_stats(const struct dp_stats *s)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	json_int(o, "snapshots", s->snapshots);
	json_int(o, "logical_bytes", s->logical_bytes);
	json_int(o, "zero_bytes", s->zero_bytes);
	json_int(o, "referenced_bytes", s->referenced_bytes);
	json_int(o, "unique_chunks", s->unique_chunks);
	json_int(o, "unique_raw_bytes", s->unique_raw_bytes);
	json_int(o, "unique_stored_bytes", s->unique_stored_bytes);
	json_int(o, "packs", s->packs);
	json_int(o, "stored_bytes", s->pack_bytes);
	json_int(o, "unreferenced_chunks", s->unreferenced_chunks);
	json_int(o, "unreferenced_bytes", s->unreferenced_bytes);
	cJSON_AddNumberToObject(o, "dedup_ratio",
				s->unique_raw_bytes
					? (double)s->referenced_bytes / (double)s->unique_raw_bytes
					: 0);
	cJSON_AddNumberToObject(o, "compression_ratio",
				s->unique_stored_bytes ? (double)s->unique_raw_bytes /
								 (double)s->unique_stored_bytes
						       : 0);
	ctl_json_print(o);
}

void ctl_json_prune(const struct dp_prune_report *r, bool dry_run)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddBoolToObject(o, "dry_run", dry_run);
	json_int(o, "packs", r->packs);
	json_int(o, "packs_deleted", r->packs_deleted);
	json_int(o, "packs_orphaned", r->packs_orphaned);
	json_int(o, "packs_repacked", r->packs_repacked);
	json_int(o, "packs_written", r->packs_written);
	json_int(o, "chunks_live", r->chunks_live);
	json_int(o, "chunks_removed", r->chunks_removed);
	json_int(o, "bytes_total", r->bytes_total);
	json_int(o, "bytes_freed", r->bytes_freed);
	json_int(o, "bytes_repacked", r->bytes_repacked);
	json_int(o, "objects_deleted", r->objects_deleted);
	json_int(o, "versions_deleted", r->purge.versions_deleted);
	json_int(o, "versions_protected", r->purge.versions_protected);
	json_int(o, "bytes_protected", r->purge.bytes_protected);
	json_int(o, "protected_until", r->purge.protected_until);
	ctl_json_print(o);
}

void ctl_json_locks(const struct dp_lockinfo *l, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++) {
		cJSON *o = cJSON_CreateObject();

		if (!o)
			break;
		cJSON_AddStringToObject(o, "id", l[i].id);
		json_int(o, "time", l[i].time);
		cJSON_AddStringToObject(o, "hostname", l[i].hostname);
		json_int(o, "pid", l[i].pid);
		cJSON_AddBoolToObject(o, "exclusive", l[i].exclusive);
		cJSON_AddStringToObject(o, "operation", l[i].operation);
		cJSON_AddBoolToObject(o, "stale", l[i].stale);
		cJSON_AddItemToArray(arr, o);
	}
	ctl_json_print(arr);
}

void ctl_json_forget(const struct dp_snapshot *s, size_t n, const bool *gone, bool dry_run)
{
	cJSON *o = cJSON_CreateObject(), *keep, *rm;

	if (!o)
		return;
	cJSON_AddBoolToObject(o, "dry_run", dry_run);
	keep = cJSON_AddArrayToObject(o, "keep");
	rm = cJSON_AddArrayToObject(o, "remove");
	for (size_t i = 0; keep && rm && i < n; i++)
		cJSON_AddItemToArray(gone[i] ? rm : keep, ctl_json_snapshot(&s[i]));
	ctl_json_print(o);
}

void ctl_json_verify(const struct dp_result *r, const char *snapshot, const char *source)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "snapshot_id", snapshot);
	cJSON_AddStringToObject(o, "source", source);
	cJSON_AddBoolToObject(o, "equal", !r->mismatches);
	json_int(o, "chunks_total", r->progress.chunks_total);
	json_int(o, "chunks_differing", r->mismatches);
	if (r->mismatches)
		json_int(o, "first_difference", r->first_mismatch);
	json_int(o, "bytes_read", r->progress.bytes_read);
	cJSON_AddNumberToObject(o, "seconds", r->progress.seconds);
	ctl_json_print(o);
}

void ctl_json_copy(const struct dp_result *r, const char *from, const char *to,
		   const uint64_t records[2])
{
	const struct dp_progress *p = &r->progress;
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return;
	cJSON_AddStringToObject(o, "verb", "copy");
	cJSON_AddStringToObject(o, "from", from);
	cJSON_AddStringToObject(o, "to", to);
	cJSON_AddStringToObject(o, "mode", r->io_mode);
	json_int(o, "snapshots_copied", r->copied);
	json_int(o, "snapshots_skipped", r->skipped);
	json_int(o, "records_copied", records[0]);
	json_int(o, "records_skipped", records[1]);
	json_int(o, "chunks_new", p->chunks_new);
	json_int(o, "chunks_dedup", p->chunks_dedup);
	json_int(o, "chunks_unchanged", p->chunks_unchanged);
	json_int(o, "bytes_read", p->bytes_read);
	json_int(o, "bytes_new", p->bytes_new);
	json_int(o, "bytes_reused", p->bytes_reused);
	json_int(o, "packs", p->packs);
	cJSON_AddNumberToObject(o, "seconds", p->seconds);
	ctl_json_print(o);
}

/* ------------------------------------------------- backup records (ferry backup get) */

static cJSON *ctl_json_record(const struct dp_record *r)
{
	cJSON *o = cJSON_CreateObject(), *labels, *vols, *spec;
	char t[32];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "id", r->id);
	cJSON_AddStringToObject(o, "name", r->name);
	cJSON_AddStringToObject(o, "namespace", r->namespace);
	cJSON_AddStringToObject(o, "cluster", r->cluster);
	cJSON_AddStringToObject(o, "phase", r->phase);
	cJSON_AddStringToObject(o, "hostname", r->hostname);
	ctl_time_str(r->time_start, t, sizeof(t));
	cJSON_AddStringToObject(o, "start", t);
	ctl_time_str(r->time_end, t, sizeof(t));
	cJSON_AddStringToObject(o, "end", t);
	cJSON_AddNumberToObject(o, "warnings", (double)r->warnings);
	cJSON_AddNumberToObject(o, "errors", (double)r->errors);
	labels = cJSON_AddObjectToObject(o, "labels");
	for (size_t i = 0; labels && i < r->nlabels; i++)
		cJSON_AddStringToObject(labels, r->labels[i].key, r->labels[i].value);
	spec = cJSON_Parse(r->spec);
	if (spec)
		cJSON_AddItemToObject(o, "spec", spec);
	cJSON_AddNumberToObject(o, "objects", (double)r->objects);
	cJSON_AddNumberToObject(o, "secrets", (double)r->secrets);
	cJSON_AddNumberToObject(o, "archive_bytes", (double)r->archive_bytes);
	cJSON_AddNumberToObject(o, "record_bytes", (double)r->record_size);
	vols = cJSON_AddArrayToObject(o, "volumes");
	for (size_t i = 0; vols && i < r->nvolumes; i++) {
		cJSON *v = cJSON_CreateObject();

		if (!v)
			break;
		cJSON_AddStringToObject(v, "namespace", r->volumes[i].namespace);
		cJSON_AddStringToObject(v, "pvc", r->volumes[i].pvc);
		cJSON_AddStringToObject(v, "volume", r->volumes[i].volume);
		cJSON_AddStringToObject(v, "snapshot", r->volumes[i].snapshot);
		cJSON_AddNumberToObject(v, "size", (double)r->volumes[i].size);
		cJSON_AddItemToArray(vols, v);
	}
	return o;
}

void ctl_json_records(const struct dp_record *r, size_t n)
{
	cJSON *arr = cJSON_CreateArray();

	for (size_t i = 0; arr && i < n; i++)
		cJSON_AddItemToArray(arr, ctl_json_record(&r[i]));
	ctl_json_print(arr);
}

void ctl_json_record_one(const struct dp_record *r)
{
	ctl_json_print(ctl_json_record(r));
}
