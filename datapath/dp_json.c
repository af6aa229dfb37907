// SPDX-License-Identifier: MIT
/*
 * datapath/dp_json.c - the datapath's one JSON file: every JSON object of a
 * repository (FORMAT.md: the config, key objects, a manifest's metadata,
 * locks) and the JSON form of changed-block lists, to and from plain
 * structs. No cJSON leaves this file, and it calls nothing of the datapath
 * but the byte and error helpers (a leaf: a changed-block list's ranges are
 * handed to a callback, not added to a list here).
 *
 * Integers are written as plain decimal digits (FORMAT.md "JSON numbers"):
 * cJSON prints every number as a double and an integral one outside the int
 * range through %1.15g, which gives 1.79650624841047e+15 for a 16-digit
 * value ending in 0, a form that typed readers (Go's int64, Rust's u64)
 * refuse. So numbers go in as raw digits (json_add_u64()) and cJSON's number
 * helpers are not used here (tests/lint/t_json_numbers.sh). Readers accept
 * any JSON number whose value is an integer in range, the exponent form of
 * older repositories included, and refuse one with a fractional part.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "dp_json.h"

#define JSON_INT_MAX 9007199254740992.0 /* 2^53: every integer below is exact in a double */

/* @v as a JSON number of plain decimal digits. */
static cJSON *json_u64(uint64_t v)
{
	char digits[24];

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)v);
	return cJSON_CreateRaw(digits);
}

static int json_add_u64(cJSON *o, const char *name, uint64_t v)
{
	cJSON *n = json_u64(v);

	if (!n)
		return -ENOMEM;
	if (!cJSON_AddItemToObject(o, name, n)) {
		cJSON_Delete(n);
		return -ENOMEM;
	}
	return 0;
}

static int json_append_u64(cJSON *array, uint64_t v)
{
	cJSON *n = json_u64(v);

	if (!n)
		return -ENOMEM;
	if (!cJSON_AddItemToArray(array, n)) {
		cJSON_Delete(n);
		return -ENOMEM;
	}
	return 0;
}

/* A JSON number that is an integer in [0, 2^53]: 1796506248410470 or 1.79650624841047e+15. */
static bool json_is_uint(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble <= JSON_INT_MAX &&
	       v->valuedouble == (double)(uint64_t)v->valuedouble;
}

int dp_meta_encode(const struct dp_snapshot *s, char **json)
{
	cJSON *root, *labels, *totals;
	int ret = -ENOMEM;

	*json = NULL;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(root, "id", s->id) ||
	    !cJSON_AddStringToObject(root, "volume", s->volume ? s->volume : "") ||
	    !cJSON_AddStringToObject(root, "source", s->source ? s->source : "") ||
	    !cJSON_AddStringToObject(root, "hostname", s->hostname ? s->hostname : "") ||
	    !cJSON_AddStringToObject(root, "parent", s->parent))
		goto out;
	if (json_add_u64(root, "size", s->size) ||
	    json_add_u64(root, "chunk_size", s->chunk_size) ||
	    json_add_u64(root, "time_start", (uint64_t)s->time_start) ||
	    json_add_u64(root, "time_end", (uint64_t)s->time_end))
		goto out;
	labels = cJSON_AddObjectToObject(root, "labels");
	if (!labels)
		goto out;
	for (size_t i = 0; i < s->nlabels; i++)
		if (!cJSON_AddStringToObject(labels, s->labels[i].key, s->labels[i].value))
			goto out;
	totals = cJSON_AddObjectToObject(root, "totals");
	if (!totals || json_add_u64(totals, "chunks_total", s->chunks_total) ||
	    json_add_u64(totals, "chunks_zero", s->chunks_zero) ||
	    json_add_u64(totals, "chunks_new", s->chunks_new) ||
	    json_add_u64(totals, "bytes_read", s->bytes_read) ||
	    json_add_u64(totals, "bytes_zero", s->bytes_zero) ||
	    json_add_u64(totals, "bytes_new", s->bytes_new) ||
	    json_add_u64(totals, "bytes_stored", s->bytes_stored))
		goto out;
	*json = cJSON_PrintUnformatted(root);
	ret = *json ? 0 : -ENOMEM;
out:
	cJSON_Delete(root);
	return ret;
}

static int meta_str(const cJSON *o, const char *name, char **out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!cJSON_IsString(v))
		return -EBADMSG;
	*out = strdup(v->valuestring);
	return *out ? 0 : -ENOMEM;
}

static int meta_u64(const cJSON *o, const char *name, uint64_t *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	if (!json_is_uint(v))
		return -EBADMSG;
	*out = (uint64_t)v->valuedouble;
	return 0;
}

static int meta_id(const cJSON *o, const char *name, char out[65], bool may_be_empty)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
	uint8_t bin[DP_ID_LEN];

	if (!cJSON_IsString(v))
		return -EBADMSG;
	if (may_be_empty && !v->valuestring[0]) {
		out[0] = '\0';
		return 0;
	}
	if (dp_unhex(v->valuestring, bin, DP_ID_LEN))
		return -EBADMSG;
	dp_hex(bin, DP_ID_LEN, out);
	return 0;
}

void dp_snapshot_fini(struct dp_snapshot *s)
{
	free(s->volume);
	free(s->source);
	free(s->hostname);
	for (size_t i = 0; i < s->nlabels; i++) {
		free(s->labels[i].key);
		free(s->labels[i].value);
	}
	free(s->labels);
	memset(s, 0, sizeof(*s));
}

int dp_meta_decode(const char *json, size_t len, struct dp_snapshot *s)
{
	const cJSON *labels, *totals, *l;
	uint64_t v;
	cJSON *root;
	int ret;

	memset(s, 0, sizeof(*s));
	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return dp_fail(-EBADMSG, "manifest metadata is not JSON");
	ret = -EBADMSG;
	if (!cJSON_IsObject(root) || meta_id(root, "id", s->id, false) ||
	    meta_id(root, "parent", s->parent, true))
		goto out;
	ret = meta_str(root, "volume", &s->volume);
	if (!ret)
		ret = meta_str(root, "source", &s->source);
	if (!ret)
		ret = meta_str(root, "hostname", &s->hostname);
	if (!ret)
		ret = meta_u64(root, "size", &s->size);
	if (!ret)
		ret = meta_u64(root, "chunk_size", &v);
	if (ret)
		goto out;
	s->chunk_size = (uint32_t)v;
	if (v < DP_CHUNK_SIZE_MIN || v > DP_CHUNK_SIZE_MAX || (v & (v - 1))) {
		ret = -EBADMSG;
		goto out;
	}
	ret = meta_u64(root, "time_start", &v);
	s->time_start = (int64_t)v;
	if (!ret)
		ret = meta_u64(root, "time_end", &v);
	s->time_end = (int64_t)v;
	if (ret)
		goto out;
	labels = cJSON_GetObjectItemCaseSensitive(root, "labels");
	if (!cJSON_IsObject(labels)) {
		ret = -EBADMSG;
		goto out;
	}
	s->labels = calloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof(*s->labels));
	if (!s->labels) {
		ret = -ENOMEM;
		goto out;
	}
	cJSON_ArrayForEach(l, labels) {
		struct dp_label *lab = &s->labels[s->nlabels];

		if (!cJSON_IsString(l) || !l->string) {
			ret = -EBADMSG;
			goto out;
		}
		lab->key = strdup(l->string);
		lab->value = strdup(l->valuestring);
		s->nlabels++;
		if (!lab->key || !lab->value) {
			ret = -ENOMEM;
			goto out;
		}
	}
	totals = cJSON_GetObjectItemCaseSensitive(root, "totals");
	if (!cJSON_IsObject(totals) || meta_u64(totals, "chunks_total", &s->chunks_total) ||
	    meta_u64(totals, "chunks_zero", &s->chunks_zero) ||
	    meta_u64(totals, "chunks_new", &s->chunks_new) ||
	    meta_u64(totals, "bytes_read", &s->bytes_read) ||
	    meta_u64(totals, "bytes_zero", &s->bytes_zero) ||
	    meta_u64(totals, "bytes_new", &s->bytes_new) ||
	    meta_u64(totals, "bytes_stored", &s->bytes_stored)) {
		ret = -EBADMSG;
		goto out;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	if (ret) {
		dp_snapshot_fini(s);
		if (ret == -EBADMSG)
			dp_fail(ret, "manifest metadata is invalid");
	}
	return ret;
}

/* ------------------------------------------------------------------ config */

int dp_config_encode(const struct dp_repo_info *info, char **json)
{
	cJSON *root;
	int ret = -ENOMEM;

	*json = NULL;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(root, "format", "ferry-repository") ||
	    json_add_u64(root, "version", info->version) ||
	    !cJSON_AddStringToObject(root, "id", info->id) ||
	    json_add_u64(root, "chunk_size", info->chunk_size) ||
	    !cJSON_AddStringToObject(root, "hash", info->hash) ||
	    !cJSON_AddStringToObject(root, "compression", info->compression) ||
	    !cJSON_AddStringToObject(root, "encryption", info->encryption) ||
	    json_add_u64(root, "created", (uint64_t)info->created))
		goto out;
	*json = cJSON_Print(root);
	ret = *json ? 0 : -ENOMEM;
out:
	cJSON_Delete(root);
	return ret;
}

static int config_word(const cJSON *root, const char *name, char *out, size_t len)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, name);

	if (!cJSON_IsString(v) || strlen(v->valuestring) >= len)
		return -EBADMSG;
	memcpy(out, v->valuestring, strlen(v->valuestring) + 1);
	return 0;
}

int dp_config_decode(const char *json, size_t len, struct dp_repo_info *info)
{
	const cJSON *fmt;
	uint64_t v;
	cJSON *root;
	int ret = -EBADMSG;

	memset(info, 0, sizeof(*info));
	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return dp_fail(-EBADMSG, "repository config is not JSON");
	fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, "ferry-repository")) {
		dp_fail(-EBADMSG, "not a ferry repository config");
		goto out;
	}
	if (meta_u64(root, "version", &v)) {
		dp_fail(-EBADMSG, "repository config has no version");
		goto out;
	}
	info->version = (uint32_t)v;
	if (v != DP_FORMAT_VERSION) {
		ret = dp_fail(
			-EPROTONOSUPPORT,
			"repository format version %llu is not supported (this ferry reads version %d)",
			(unsigned long long)v, DP_FORMAT_VERSION);
		goto out;
	}
	if (meta_id(root, "id", info->id, false) || meta_u64(root, "chunk_size", &v) ||
	    config_word(root, "hash", info->hash, sizeof(info->hash)) ||
	    config_word(root, "compression", info->compression, sizeof(info->compression)) ||
	    config_word(root, "encryption", info->encryption, sizeof(info->encryption))) {
		dp_fail(-EBADMSG, "repository config is invalid");
		goto out;
	}
	info->chunk_size = (uint32_t)v;
	if (v < DP_CHUNK_SIZE_MIN || v > DP_CHUNK_SIZE_MAX || (v & (v - 1))) {
		dp_fail(-EBADMSG, "repository chunk size %llu is invalid", (unsigned long long)v);
		goto out;
	}
	if (strcmp(info->hash, "sha256") || strcmp(info->compression, "zstd") ||
	    (strcmp(info->encryption, "none") && strcmp(info->encryption, DP_ENCRYPTION_AES))) {
		ret = dp_fail(-EPROTONOSUPPORT,
			      "repository uses %s/%s/%s, which this ferry does not support",
			      info->hash, info->compression, info->encryption);
		goto out;
	}
	if (!meta_u64(root, "created", &v))
		info->created = (int64_t)v;
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

/* ------------------------------------------------------------- key objects */

static int key_hex(cJSON *o, const char *name, const uint8_t *buf, size_t len)
{
	char *hex = malloc(2 * len + 1);
	int ret = -ENOMEM;

	if (!hex)
		return -ENOMEM;
	dp_hex(buf, len, hex);
	if (cJSON_AddStringToObject(o, name, hex))
		ret = 0;
	free(hex);
	return ret;
}

int dp_keyobj_encode(const struct dp_keyobj *k, char **json)
{
	cJSON *root = cJSON_CreateObject();
	int ret = -ENOMEM;

	*json = NULL;
	if (!root)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(root, "kdf", "scrypt") || json_add_u64(root, "n", k->n) ||
	    json_add_u64(root, "r", k->r) || json_add_u64(root, "p", k->p) ||
	    key_hex(root, "salt", k->salt, sizeof(k->salt)) ||
	    key_hex(root, "master", k->master, sizeof(k->master)) ||
	    json_add_u64(root, "created", (uint64_t)k->created) ||
	    !cJSON_AddStringToObject(root, "hostname", k->hostname) ||
	    !cJSON_AddStringToObject(root, "username", k->username))
		goto out;
	*json = cJSON_Print(root);
	ret = *json ? 0 : -ENOMEM;
out:
	cJSON_Delete(root);
	return ret;
}

int dp_keyobj_decode(const char *json, size_t len, struct dp_keyobj *k)
{
	const cJSON *v;
	uint64_t x;
	cJSON *root;
	int ret = -EBADMSG;

	memset(k, 0, sizeof(*k));
	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return dp_fail(-EBADMSG, "key object is not JSON");
	v = cJSON_GetObjectItemCaseSensitive(root, "kdf");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "scrypt"))
		goto out;
	if (meta_u64(root, "n", &k->n) || k->n < 2 || k->n > (1ull << 24) || (k->n & (k->n - 1)))
		goto out;
	if (meta_u64(root, "r", &x) || x < 1 || x > 32)
		goto out;
	k->r = (uint32_t)x;
	if (meta_u64(root, "p", &x) || x < 1 || x > 16)
		goto out;
	k->p = (uint32_t)x;
	v = cJSON_GetObjectItemCaseSensitive(root, "salt");
	if (!cJSON_IsString(v) || dp_unhex(v->valuestring, k->salt, sizeof(k->salt)))
		goto out;
	v = cJSON_GetObjectItemCaseSensitive(root, "master");
	if (!cJSON_IsString(v) || dp_unhex(v->valuestring, k->master, sizeof(k->master)))
		goto out;
	if (!meta_u64(root, "created", &x))
		k->created = (int64_t)x;
	v = cJSON_GetObjectItemCaseSensitive(root, "hostname");
	if (cJSON_IsString(v))
		snprintf(k->hostname, sizeof(k->hostname), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "username");
	if (cJSON_IsString(v))
		snprintf(k->username, sizeof(k->username), "%s", v->valuestring);
	ret = 0;
out:
	cJSON_Delete(root);
	if (ret)
		dp_fail(ret, "key object is invalid");
	return ret;
}

/* ------------------------------------------------------ changed-block lists */

int dp_cbl_decode_json(const char *json, size_t len, char parent[65], uint64_t *size,
		       dp_range_fn add, void *arg)
{
	const cJSON *v, *ranges, *r;
	cJSON *root;
	uint64_t x;
	int ret = -EINVAL;

	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return dp_fail(-EINVAL, "the changed-block list is not valid JSON");
	v = cJSON_GetObjectItemCaseSensitive(root, "format");
	if (!cJSON_IsString(v) || strcmp(v->valuestring, "ferry-changed-blocks")) {
		dp_fail(ret,
			"not a changed-block list (\"format\" must be \"ferry-changed-blocks\")");
		goto out;
	}
	if (meta_u64(root, "version", &x) || x != 1) {
		dp_fail(ret, "changed-block list version must be 1");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "parent");
	if (v && (meta_id(root, "parent", parent, false))) {
		dp_fail(ret, "\"parent\" is not a snapshot id");
		goto out;
	}
	v = cJSON_GetObjectItemCaseSensitive(root, "size");
	if (v && meta_u64(root, "size", size)) {
		dp_fail(ret, "\"size\" is not a byte count");
		goto out;
	}
	ranges = cJSON_GetObjectItemCaseSensitive(root, "ranges");
	if (!cJSON_IsArray(ranges)) {
		dp_fail(ret, "\"ranges\" must be an array of [offset, length]");
		goto out;
	}
	cJSON_ArrayForEach(r, ranges) {
		const cJSON *a = cJSON_GetArrayItem(r, 0), *b = cJSON_GetArrayItem(r, 1);

		if (!cJSON_IsArray(r) || cJSON_GetArraySize(r) != 2 || !json_is_uint(a) ||
		    !json_is_uint(b)) {
			dp_fail(ret, "a range is not [offset, length] in whole bytes");
			goto out;
		}
		ret = add(arg, (uint64_t)a->valuedouble, (uint64_t)b->valuedouble);
		if (ret)
			goto out;
		ret = -EINVAL;
	}
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

int dp_cbl_encode_json(const struct dp_cbl *l, char **out, size_t *len)
{
	cJSON *root = cJSON_CreateObject(), *ranges;
	int ret = -ENOMEM;

	*out = NULL;
	if (!root)
		return -ENOMEM;
	if (!cJSON_AddStringToObject(root, "format", "ferry-changed-blocks") ||
	    json_add_u64(root, "version", 1) ||
	    !cJSON_AddStringToObject(root, "parent", l->parent) ||
	    (l->size && json_add_u64(root, "size", l->size)))
		goto out;
	ranges = cJSON_AddArrayToObject(root, "ranges");
	if (!ranges)
		goto out;
	for (size_t i = 0; i < l->n; i++) {
		cJSON *r = cJSON_CreateArray();

		if (!r)
			goto out;
		cJSON_AddItemToArray(ranges, r);
		if (json_append_u64(r, l->ranges[i].off) || json_append_u64(r, l->ranges[i].len))
			goto out;
	}
	*out = cJSON_PrintUnformatted(root);
	if (*out) {
		*len = strlen(*out);
		ret = 0;
	}
out:
	cJSON_Delete(root);
	return ret;
}

/* ------------------------------------------------------------------- locks */

int dp_lock_encode(const struct dp_lockinfo *l, char **json)
{
	cJSON *root = cJSON_CreateObject();
	int ret = -ENOMEM;

	*json = NULL;
	if (!root)
		return -ENOMEM;
	if (!json_add_u64(root, "time", (uint64_t)l->time) &&
	    cJSON_AddStringToObject(root, "hostname", l->hostname) &&
	    !json_add_u64(root, "pid", (uint64_t)l->pid) &&
	    cJSON_AddBoolToObject(root, "exclusive", l->exclusive) &&
	    cJSON_AddStringToObject(root, "operation", l->operation)) {
		*json = cJSON_PrintUnformatted(root);
		ret = *json ? 0 : -ENOMEM;
	}
	cJSON_Delete(root);
	return ret;
}

int dp_lock_decode(const char *json, size_t len, struct dp_lockinfo *l)
{
	const cJSON *v;
	cJSON *root;
	uint64_t x;
	int ret = -EBADMSG;

	memset(l, 0, sizeof(*l));
	root = cJSON_ParseWithLength(json, len);
	if (!root)
		return -EBADMSG;
	if (meta_u64(root, "time", &x))
		goto out;
	l->time = (int64_t)x;
	if (!meta_u64(root, "pid", &x))
		l->pid = (int64_t)x;
	v = cJSON_GetObjectItemCaseSensitive(root, "exclusive");
	l->exclusive = !cJSON_IsFalse(v); /* anything unclear counts as exclusive */
	v = cJSON_GetObjectItemCaseSensitive(root, "hostname");
	if (cJSON_IsString(v))
		snprintf(l->hostname, sizeof(l->hostname), "%s", v->valuestring);
	v = cJSON_GetObjectItemCaseSensitive(root, "operation");
	if (cJSON_IsString(v))
		snprintf(l->operation, sizeof(l->operation), "%s", v->valuestring);
	ret = 0;
out:
	cJSON_Delete(root);
	return ret;
}

/* ---------------------------------------------------------- backup records */

#define RECORD_FORMAT "ferry-backup-record"

static int json_add_str(cJSON *o, const char *name, const char *v)
{
	return cJSON_AddStringToObject(o, name, v ? v : "") ? 0 : -ENOMEM;
}

int dp_record_encode(const struct dp_record *r, const struct dp_record_chunks *c, char **json)
{
	cJSON *root, *labels, *spec = NULL, *arch, *chunks, *vols;
	char hex[2 * DP_ID_LEN + 1];
	int ret = -ENOMEM;

	*json = NULL;
	root = cJSON_CreateObject();
	if (!root)
		return -ENOMEM;
	if (json_add_str(root, "format", RECORD_FORMAT) || json_add_u64(root, "version", 1) ||
	    json_add_str(root, "id", r->id) || json_add_str(root, "name", r->name) ||
	    json_add_str(root, "namespace", r->namespace) ||
	    json_add_str(root, "cluster", r->cluster) || json_add_str(root, "phase", r->phase) ||
	    json_add_str(root, "hostname", r->hostname) ||
	    json_add_u64(root, "time_start", (uint64_t)r->time_start) ||
	    json_add_u64(root, "time_end", (uint64_t)r->time_end) ||
	    json_add_u64(root, "warnings", r->warnings) || json_add_u64(root, "errors", r->errors))
		goto out;
	labels = cJSON_AddObjectToObject(root, "labels");
	if (!labels)
		goto out;
	for (size_t i = 0; i < r->nlabels; i++)
		if (!cJSON_AddStringToObject(labels, r->labels[i].key, r->labels[i].value))
			goto out;
	spec = cJSON_Parse(r->spec ? r->spec : "{}");
	if (!spec || !cJSON_IsObject(spec)) {
		ret = dp_fail(-EINVAL, "the Backup's spec is not a JSON object");
		goto out;
	}
	if (!cJSON_AddItemToObject(root, "spec", spec))
		goto out;
	spec = NULL;
	arch = cJSON_AddObjectToObject(root, "archive");
	if (!arch || json_add_u64(arch, "objects", r->objects) ||
	    json_add_u64(arch, "secrets", r->secrets) ||
	    json_add_u64(arch, "bytes", r->archive_bytes))
		goto out;
	dp_hex(c->sha256, DP_ID_LEN, hex);
	if (json_add_str(arch, "sha256", hex))
		goto out;
	chunks = cJSON_AddArrayToObject(arch, "chunks");
	if (!chunks)
		goto out;
	for (size_t i = 0; i < c->n; i++) {
		cJSON *pair = cJSON_CreateArray();

		if (!pair || !cJSON_AddItemToArray(chunks, pair)) {
			cJSON_Delete(pair);
			goto out;
		}
		dp_hex(c->v[i].id, DP_ID_LEN, hex);
		if (!cJSON_AddItemToArray(pair, cJSON_CreateString(hex)) ||
		    json_append_u64(pair, c->v[i].len))
			goto out;
	}
	vols = cJSON_AddArrayToObject(root, "volumes");
	if (!vols)
		goto out;
	for (size_t i = 0; i < r->nvolumes; i++) {
		const struct dp_record_volume *v = &r->volumes[i];
		cJSON *o = cJSON_CreateObject();

		if (!o || !cJSON_AddItemToArray(vols, o)) {
			cJSON_Delete(o);
			goto out;
		}
		if (json_add_str(o, "namespace", v->namespace) || json_add_str(o, "pvc", v->pvc) ||
		    json_add_str(o, "volume", v->volume) ||
		    json_add_str(o, "snapshot", v->snapshot) || json_add_u64(o, "size", v->size) ||
		    (v->bytes_stored && json_add_u64(o, "bytes_stored", v->bytes_stored)) ||
		    (v->milliseconds && json_add_u64(o, "milliseconds", v->milliseconds)))
			goto out;
	}
	*json = cJSON_PrintUnformatted(root);
	ret = *json ? 0 : -ENOMEM;
out:
	cJSON_Delete(spec);
	cJSON_Delete(root);
	return ret;
}

/* A DNS name as Kubernetes names objects and namespaces: [a-z0-9.-], 1 to 253 bytes. */
static bool record_dns_name(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > DP_RECORD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '.'))
			return false;
	return true;
}

/* Printable ASCII without spaces, 1 to 253 bytes (a cluster id). */
static bool record_word(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > DP_RECORD_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return true;
}

void dp_record_fini(struct dp_record *r)
{
	free(r->name);
	free(r->namespace);
	free(r->cluster);
	free(r->phase);
	free(r->spec);
	free(r->hostname);
	for (size_t i = 0; i < r->nlabels; i++) {
		free(r->labels[i].key);
		free(r->labels[i].value);
	}
	free(r->labels);
	for (size_t i = 0; i < r->nvolumes; i++) {
		free(r->volumes[i].namespace);
		free(r->volumes[i].pvc);
		free(r->volumes[i].volume);
	}
	free(r->volumes);
	if (r->chunks)
		free(r->chunks->v);
	free(r->chunks);
	memset(r, 0, sizeof(*r));
}

void dp_record_free(struct dp_record *r)
{
	if (!r)
		return;
	dp_record_fini(r);
	free(r);
}

/* A string field that must be there; *@out strdup()ed. */
static int record_str(const cJSON *o, const char *name, char **out, const char *what)
{
	int ret = meta_str(o, name, out);

	if (ret == -EBADMSG)
		dp_fail(ret, "backup record: %s is not a string", what);
	return ret;
}

static int record_u64(const cJSON *o, const char *name, uint64_t *out, const char *what)
{
	if (meta_u64(o, name, out))
		return dp_fail(-EBADMSG, "backup record: %s is not an integer in [0, 2^53]", what);
	return 0;
}

static int record_archive(const cJSON *root, struct dp_record *r)
{
	const cJSON *arch = cJSON_GetObjectItemCaseSensitive(root, "archive"), *chunks, *pair;
	struct dp_record_chunks *c;
	char sha[65];
	uint64_t sum = 0;
	int n;

	if (!cJSON_IsObject(arch))
		return dp_fail(-EBADMSG, "backup record: archive is not an object");
	if (record_u64(arch, "objects", &r->objects, "archive.objects") ||
	    record_u64(arch, "secrets", &r->secrets, "archive.secrets") ||
	    record_u64(arch, "bytes", &r->archive_bytes, "archive.bytes"))
		return -EBADMSG;
	if (meta_id(arch, "sha256", sha, false))
		return dp_fail(-EBADMSG, "backup record: archive.sha256 is not 64 hex digits");
	chunks = cJSON_GetObjectItemCaseSensitive(arch, "chunks");
	if (!cJSON_IsArray(chunks))
		return dp_fail(-EBADMSG, "backup record: archive.chunks is not an array");
	n = cJSON_GetArraySize(chunks);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r->chunks = c;
	dp_unhex(sha, c->sha256, DP_ID_LEN);
	c->v = calloc((size_t)n + 1, sizeof(*c->v));
	if (!c->v)
		return -ENOMEM;
	c->cap = (size_t)n + 1;
	cJSON_ArrayForEach(pair, chunks) {
		const cJSON *id = cJSON_GetArrayItem(pair, 0), *len = cJSON_GetArrayItem(pair, 1);
		struct dp_record_chunk *e = &c->v[c->n];

		if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsString(id) ||
		    dp_unhex(id->valuestring, e->id, DP_ID_LEN) || !json_is_uint(len) ||
		    len->valuedouble < 1 || len->valuedouble > DP_CHUNK_SIZE_MAX)
			return dp_fail(
				-EBADMSG,
				"backup record: archive.chunks[%zu] is not [<64 hex>, <length "
				"1 ... %u>]",
				c->n, DP_CHUNK_SIZE_MAX);
		e->len = (uint32_t)len->valuedouble;
		sum += e->len;
		c->n++;
	}
	if (sum != r->archive_bytes)
		return dp_fail(-EBADMSG,
			       "backup record: the archive's chunks hold %llu bytes, not its %llu",
			       (unsigned long long)sum, (unsigned long long)r->archive_bytes);
	if (r->objects > r->archive_bytes / 3 || r->secrets > r->objects ||
	    (r->archive_bytes && !r->objects))
		return dp_fail(
			-EBADMSG,
			"backup record: %llu objects and %llu Secrets in %llu bytes cannot be",
			(unsigned long long)r->objects, (unsigned long long)r->secrets,
			(unsigned long long)r->archive_bytes);
	return 0;
}

static int record_volumes(const cJSON *root, struct dp_record *r)
{
	const cJSON *vols = cJSON_GetObjectItemCaseSensitive(root, "volumes"), *o;
	int n;

	if (!cJSON_IsArray(vols))
		return dp_fail(-EBADMSG, "backup record: volumes is not an array");
	n = cJSON_GetArraySize(vols);
	if (n > DP_RECORD_VOLUME_MAX)
		return dp_fail(-EBADMSG, "backup record: %d volumes, more than %u", n,
			       DP_RECORD_VOLUME_MAX);
	r->volumes = calloc((size_t)n + 1, sizeof(*r->volumes));
	if (!r->volumes)
		return -ENOMEM;
	cJSON_ArrayForEach(o, vols) {
		struct dp_record_volume *v = &r->volumes[r->nvolumes++];
		int ret;

		if (!cJSON_IsObject(o))
			return dp_fail(-EBADMSG, "backup record: volumes[%zu] is not an object",
				       r->nvolumes - 1);
		ret = record_str(o, "namespace", &v->namespace, "a volume's namespace");
		if (!ret)
			ret = record_str(o, "pvc", &v->pvc, "a volume's pvc");
		if (!ret)
			ret = record_str(o, "volume", &v->volume, "a volume's volume");
		if (ret)
			return ret;
		if (!record_dns_name(v->namespace) || !record_dns_name(v->pvc) || !v->volume[0] ||
		    strlen(v->volume) > 1024)
			return dp_fail(-EBADMSG,
				       "backup record: volumes[%zu] has an invalid namespace, pvc "
				       "or volume name",
				       r->nvolumes - 1);
		if (meta_id(o, "snapshot", v->snapshot, false))
			return dp_fail(-EBADMSG,
				       "backup record: volumes[%zu].snapshot is not 64 hex digits",
				       r->nvolumes - 1);
		if (record_u64(o, "size", &v->size, "a volume's size"))
			return -EBADMSG;
		/* optional: absent in records of earlier writers */
		if ((cJSON_GetObjectItemCaseSensitive(o, "bytes_stored") &&
		     record_u64(o, "bytes_stored", &v->bytes_stored, "a volume's bytes_stored")) ||
		    (cJSON_GetObjectItemCaseSensitive(o, "milliseconds") &&
		     record_u64(o, "milliseconds", &v->milliseconds, "a volume's milliseconds")))
			return -EBADMSG;
	}
	return 0;
}

static int record_labels(const cJSON *root, struct dp_record *r)
{
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(root, "labels"), *l;

	if (!cJSON_IsObject(labels))
		return dp_fail(-EBADMSG, "backup record: labels is not an object");
	r->labels = calloc((size_t)cJSON_GetArraySize(labels) + 1, sizeof(*r->labels));
	if (!r->labels)
		return -ENOMEM;
	cJSON_ArrayForEach(l, labels) {
		struct dp_label *lab = &r->labels[r->nlabels];

		if (!cJSON_IsString(l) || !l->string)
			return dp_fail(-EBADMSG, "backup record: a label's value is not a string");
		lab->key = strdup(l->string);
		lab->value = strdup(l->valuestring);
		r->nlabels++;
		if (!lab->key || !lab->value)
			return -ENOMEM;
	}
	return 0;
}

static int record_fields(const cJSON *root, const char *id, struct dp_record *r)
{
	const cJSON *spec;
	uint64_t version = 0, t = 0;
	char format[32];
	int ret;

	if (!cJSON_IsObject(root))
		return dp_fail(-EBADMSG, "backup record: not a JSON object");
	if (config_word(root, "format", format, sizeof(format)) || strcmp(format, RECORD_FORMAT))
		return dp_fail(-EBADMSG, "backup record: format is not \"%s\"", RECORD_FORMAT);
	if (record_u64(root, "version", &version, "version"))
		return -EBADMSG;
	if (version != 1)
		return dp_fail(-EPROTONOSUPPORT, "backup record: version %llu is not supported",
			       (unsigned long long)version);
	if (meta_id(root, "id", r->id, false) || strcmp(r->id, id))
		return dp_fail(-EBADMSG, "backup record: its id is not %.16s, the one of its key",
			       id);
	ret = record_str(root, "name", &r->name, "name");
	if (!ret)
		ret = record_str(root, "namespace", &r->namespace, "namespace");
	if (!ret)
		ret = record_str(root, "cluster", &r->cluster, "cluster");
	if (!ret)
		ret = record_str(root, "phase", &r->phase, "phase");
	if (!ret)
		ret = record_str(root, "hostname", &r->hostname, "hostname");
	if (ret)
		return ret;
	if (!record_dns_name(r->name) || !record_dns_name(r->namespace))
		return dp_fail(-EBADMSG, "backup record: name or namespace is not a DNS name");
	if (!record_word(r->cluster))
		return dp_fail(-EBADMSG, "backup record: cluster is not a word of 1 ... 253 bytes");
	if (strcmp(r->phase, "Completed") && strcmp(r->phase, "PartiallyFailed"))
		return dp_fail(-EBADMSG,
			       "backup record: phase is not \"Completed\" or \"PartiallyFailed\"");
	if (record_u64(root, "time_start", &t, "time_start"))
		return -EBADMSG;
	r->time_start = (int64_t)t;
	if (record_u64(root, "time_end", &t, "time_end"))
		return -EBADMSG;
	r->time_end = (int64_t)t;
	if (record_u64(root, "warnings", &r->warnings, "warnings") ||
	    record_u64(root, "errors", &r->errors, "errors"))
		return -EBADMSG;
	ret = record_labels(root, r);
	if (ret)
		return ret;
	spec = cJSON_GetObjectItemCaseSensitive(root, "spec");
	if (!cJSON_IsObject(spec))
		return dp_fail(-EBADMSG, "backup record: spec is not an object");
	r->spec = cJSON_PrintUnformatted(spec);
	if (!r->spec)
		return -ENOMEM;
	if (strlen(r->spec) > DP_RECORD_SPEC_MAX)
		return dp_fail(-EBADMSG, "backup record: spec is over %u bytes",
			       DP_RECORD_SPEC_MAX);
	ret = record_archive(root, r);
	return ret ? ret : record_volumes(root, r);
}

int dp_record_decode(const char *json, size_t len, const char *id, struct dp_record **out)
{
	struct dp_record *r;
	cJSON *root;
	int ret;

	*out = NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	root = cJSON_ParseWithLength(json, len);
	if (!root)
		ret = dp_fail(-EBADMSG, "backup record: not JSON");
	else
		ret = record_fields(root, id, r);
	cJSON_Delete(root);
	if (ret) {
		dp_record_free(r);
		return ret;
	}
	*out = r;
	return 0;
}

int dp_archive_line_check(const char *obj, size_t len, bool *secret)
{
	const cJSON *kind, *api;
	cJSON *root;
	int ret = 0;

	*secret = false;
	root = cJSON_ParseWithLength(obj, len);
	if (!root)
		return dp_fail(-EINVAL, "an archive's object is not JSON");
	kind = cJSON_GetObjectItemCaseSensitive(root, "kind");
	api = cJSON_GetObjectItemCaseSensitive(root, "apiVersion");
	if (!cJSON_IsObject(root) || !cJSON_IsString(kind) || !kind->valuestring[0])
		ret = dp_fail(-EINVAL, "an archive's object is not a JSON object with a kind");
	else
		*secret = !strcmp(kind->valuestring, "Secret") &&
			  (!cJSON_IsString(api) || !strcmp(api->valuestring, "v1"));
	cJSON_Delete(root);
	return ret;
}
