// SPDX-License-Identifier: MIT
/*
 * datapath/record.c - backup records and object archives (FORMAT.md "Backup
 * records", dp.h "backup records").
 *
 * An archive is a JSON-lines stream cut into chunks at object boundaries: a
 * chunk ends after an object whose line hashes to a boundary (about one in
 * ARCHIVE_CUT_EVERY), or before an object that would overflow the chunk
 * size; an object longer than a chunk is cut at the chunk size. Where a chunk
 * ends depends only on the objects in it, so an unchanged run of objects
 * gives the same chunks, and so the same chunk ids, in every backup: they are
 * stored once. Chunks are hashed, compressed and sealed as a volume's are,
 * into packs written here one part at a time (an archive is small next to a
 * volume: one thread, no job).
 *
 * The record is one JSON object (dp_json.c), sealed with "FRYB" and its id,
 * written last: the archive's packs and indexes, and every volume's
 * snapshot, exist before it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "blob.h"
#include "chunkidx.h"
#include "objwriter.h"
#include "packfmt.h"
#include "record.h"
#include "s3/store.h"

#define ARCHIVE_CUT_EVERY 16u	     /* objects per chunk on average (a power of two) */
#define ARCHIVE_PART	  (8u << 20) /* bytes of a pack's upload part */
#define RECORD_AAD_MAGIC  "FRYB"

void dp_key_record(const char *id, char *key, size_t len)
{
	snprintf(key, len, "backups/%s", id);
}

/* Additional data of a record's seal: "FRYB" and the 32-byte id. */
static int record_aad(const char *id, uint8_t aad[4 + DP_ID_LEN])
{
	memcpy(aad, RECORD_AAD_MAGIC, 4);
	return dp_unhex(id, aad + 4, DP_ID_LEN);
}

int dp_record_read(struct dp_repo *repo, const char *id, struct dp_record **out)
{
	uint8_t aad[4 + DP_ID_LEN], *plain = NULL;
	void *buf = NULL;
	size_t len = 0, plen = 0;
	char key[96];
	int ret;

	*out = NULL;
	if (record_aad(id, aad))
		return dp_fail(-EINVAL, "%s is not a record id", id);
	dp_key_record(id, key, sizeof(key));
	ret = s3_store_get(repo->st, key, DP_RECORD_MAX, &buf, &len);
	if (ret == -ENOENT)
		return dp_fail(ret, "no backup record %s", id);
	if (ret == -EFBIG)
		return dp_fail(-EUCLEAN, "%s is over %u bytes: not a record", key, DP_RECORD_MAX);
	if (ret)
		return dp_fail(ret, "reading %s: %s", key, dp_store_detail());
	ret = dp_open_alloc(&repo->keys, aad, sizeof(aad), buf, len, &plain, &plen);
	free(buf);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return dp_fail(-EUCLEAN, "%s does not open: damaged, or not of this repository",
			       key);
	ret = dp_record_decode((const char *)plain, plen, id, out);
	free(plain);
	if (ret == -EBADMSG) {
		char detail[256];

		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		return dp_fail(-EUCLEAN, "%s is damaged: %s", key, detail);
	}
	if (!ret)
		(*out)->record_size = len;
	return ret;
}

int dp_record_id(const struct dp_repo *repo, const char *cluster, const char *namespace,
		 const char *name, char *id)
{
	return dp_record_hash(repo, "ferry-backup-record", cluster, namespace, name, id);
}

int dp_record_hash(const struct dp_repo *repo, const char *tag, const char *cluster,
		   const char *namespace, const char *name, char *id)
{
	const char *parts[] = {tag, cluster, namespace, name};
	struct dp_hasher *h = NULL;
	uint8_t digest[DP_ID_LEN];
	char *buf;
	size_t len = 0;
	int ret;

	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	for (size_t i = 0; i < 4; i++) {
		size_t n = parts[i] ? strlen(parts[i]) : 0;

		if (!n || n > DP_RECORD_NAME_MAX)
			return dp_fail(-EINVAL,
				       "a record's cluster, namespace and name are 1 ... %u bytes",
				       DP_RECORD_NAME_MAX);
		len += n + 1;
	}
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	len = 0;
	for (size_t i = 0; i < 4; i++) {
		memcpy(buf + len, parts[i], strlen(parts[i]) + 1);
		len += strlen(parts[i]) + 1;
	}
	ret = dp_hasher_new(&repo->keys, &h);
	if (!ret)
		ret = dp_hasher_digest(h, buf, len, digest);
	if (!ret)
		dp_hex(digest, DP_ID_LEN, id);
	dp_hasher_free(h);
	free(buf);
	return ret;
}

/* ---------------------------------------------------------------- archive */

struct dp_archive {
	struct dp_repo *repo;
	struct dp_lock *lock;
	struct dp_chunkidx *ix; /* the repository's chunks, and those written here */
	struct dp_hasher *hasher;
	struct dp_blobenc *enc;
	struct dp_sha256_stream *sha;
	bool allow_secrets, finished;
	int failed; /* a store error: sticky */
	char failed_msg[256];
	uint8_t *buf; /* the chunk being filled, chunk_size bytes */
	size_t fill;
	struct dp_record_chunks chunks;
	struct dp_archive_stats st;
	/* the pack being written */
	uint8_t pack_id[DP_ID_LEN];
	char pack_key[80];
	struct dp_objwriter *w;
	struct dp_pack_entry *e;
	size_t ne, cap;
};

/* The archive fails for good with @ret (a store or memory error). */
static int archive_fail(struct dp_archive *a, int ret)
{
	a->failed = ret;
	snprintf(a->failed_msg, sizeof(a->failed_msg), "%s",
		 dp_last_error()[0] ? dp_last_error() : strerror(-ret));
	return ret;
}

int dp_archive_new(struct dp_repo *repo, const struct dp_archive_opts *opts,
		   struct dp_archive **out)
{
	struct dp_archive_opts o = {0};
	struct dp_archive *a;
	int ret;

	dp_clear_error();
	dp_opts_copy(&o, sizeof(o), opts);
	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return dp_err_set(o.err, -ENOMEM, "out of memory");
	a->repo = repo;
	a->allow_secrets = o.allow_secrets;
	ret = dp_repo_check_unlocked(repo);
	if (!ret)
		ret = dp_lock_acquire(repo, false, "archive", &a->lock);
	if (!ret)
		ret = dp_chunkidx_new(&a->ix);
	if (!ret)
		ret = dp_repo_load_index(repo, a->ix);
	if (!ret)
		ret = dp_hasher_new(&repo->keys, &a->hasher);
	if (!ret)
		ret = dp_blobenc_new(&repo->keys, repo->info.chunk_size,
				     o.compression ? o.compression : DP_COMPRESSION_DEFAULT,
				     &a->enc);
	if (!ret)
		ret = dp_sha256_stream_new(&a->sha);
	if (!ret) {
		a->buf = malloc(repo->info.chunk_size);
		if (!a->buf)
			ret = -ENOMEM;
	}
	if (ret) {
		dp_err_keep(o.err, ret);
		dp_archive_free(a);
		return ret;
	}
	dp_err_clear(o.err);
	*out = a;
	return 0;
}

/* The pack's index, its tail, the object complete, then index/<id>. */
static int archive_close_pack(struct dp_archive *a)
{
	uint8_t *index = NULL;
	char key[96];
	size_t len;
	int ret;

	if (!a->w)
		return 0;
	ret = dp_pack_tail_build(&a->repo->keys, a->pack_id, a->e, a->ne, &index, &len);
	if (!ret)
		ret = dp_objwriter_write(a->w, index, len + DP_PACK_TAIL);
	if (!ret) {
		ret = dp_objwriter_commit(a->w);
		a->w = NULL;
	}
	if (!ret) {
		dp_key_index(a->pack_id, key, sizeof(key));
		ret = s3_store_put(a->repo->st, key, index, len);
		if (ret)
			ret = dp_fail(ret, "writing %s: %s", key, dp_store_detail());
	}
	free(index);
	a->ne = 0;
	return ret;
}

/* Store the chunk in a->buf unless the repository has it, and list it. */
static int archive_flush(struct dp_archive *a)
{
	struct dp_record_chunk *c;
	const void *blob;
	uint32_t blob_len;
	uint8_t kind;
	int ret;

	if (!a->fill)
		return 0;
	c = dp_grow(a->chunks.v, &a->chunks.cap, a->chunks.n + 1, sizeof(*a->chunks.v));
	if (!c)
		return -ENOMEM;
	a->chunks.v = c;
	c = &a->chunks.v[a->chunks.n];
	c->len = (uint32_t)a->fill;
	ret = dp_hasher_digest(a->hasher, a->buf, a->fill, c->id);
	if (ret)
		return ret;
	a->chunks.n++;
	a->st.chunks++;
	a->fill = 0;
	if (dp_chunkidx_lookup(a->ix, c->id, NULL))
		return 0;
	if (!a->w) {
		ret = dp_pack_id_new(a->pack_id);
		if (ret)
			return ret;
		dp_key_pack(a->pack_id, a->pack_key, sizeof(a->pack_key));
		ret = dp_objwriter_new(a->repo->st, a->pack_key, ARCHIVE_PART, &a->w);
		if (ret)
			return ret;
	}
	ret = dp_blob_encode(a->enc, c->id, a->buf, c->len, &blob, &blob_len, &kind);
	if (ret)
		return ret;
	if (a->ne == a->cap) {
		void *q = dp_grow(a->e, &a->cap, a->ne + 1, sizeof(*a->e));

		if (!q)
			return -ENOMEM;
		a->e = q;
	}
	a->e[a->ne] = (struct dp_pack_entry){.offset = dp_objwriter_size(a->w),
					     .stored_len = blob_len,
					     .raw_len = c->len,
					     .kind = kind};
	memcpy(a->e[a->ne].id, c->id, DP_ID_LEN);
	ret = dp_objwriter_write(a->w, blob, blob_len);
	if (ret)
		return ret;
	a->ne++;
	a->st.chunks_new++;
	a->st.bytes_stored += blob_len;
	ret = dp_chunkidx_insert(a->ix, c->id, &(struct dp_loc){.raw_len = c->len});
	if (ret < 0)
		return ret;
	if (dp_objwriter_size(a->w) >= DP_PACK_SIZE_DEFAULT)
		return archive_close_pack(a);
	return 0;
}

/* Append @n bytes to the stream, flushing full chunks. */
static int archive_feed(struct dp_archive *a, const uint8_t *p, size_t n)
{
	size_t cs = a->repo->info.chunk_size;

	while (n) {
		size_t take = cs - a->fill < n ? cs - a->fill : n;
		int ret;

		memcpy(a->buf + a->fill, p, take);
		a->fill += take;
		p += take;
		n -= take;
		if (a->fill == cs) {
			ret = archive_flush(a);
			if (ret)
				return ret;
		}
	}
	return 0;
}

/* FNV-1a, 64 bits: where chunks end (FORMAT.md leaves it to the writer). */
static uint64_t archive_line_hash(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < n; i++) {
		h ^= p[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

int dp_archive_add(struct dp_archive *a, const void *obj, size_t len)
{
	size_t cs = a->repo->info.chunk_size;
	bool secret = false;
	int ret;

	dp_clear_error();
	if (a->failed)
		return dp_fail(a->failed, "the archive failed earlier: %s", a->failed_msg);
	if (a->finished)
		return dp_fail(-EINVAL, "the archive is finished");
	if (!len || len > DP_ARCHIVE_LINE_MAX)
		return dp_fail(-EINVAL, "an archive's object is 1 ... %u bytes, not %zu",
			       DP_ARCHIVE_LINE_MAX, len);
	if (memchr(obj, '\n', len))
		return dp_fail(-EINVAL, "an archive's object is one line: no newline in it");
	ret = dp_archive_line_check(obj, len, &secret);
	if (ret)
		return ret;
	if (secret && !a->repo->keys.encrypted && !a->allow_secrets)
		return dp_fail(-EPERM,
			       "a Secret in a repository that is not encrypted: refused unless "
			       "Secrets are allowed there");
	if (a->fill && a->fill + len + 1 > cs)
		ret = archive_flush(a);
	if (!ret)
		ret = archive_feed(a, obj, len);
	if (!ret)
		ret = archive_feed(a, (const uint8_t *)"\n", 1);
	if (!ret && !(archive_line_hash(obj, len) % ARCHIVE_CUT_EVERY))
		ret = archive_flush(a);
	if (ret)
		return archive_fail(a, ret);
	dp_sha256_stream_update(a->sha, obj, len);
	dp_sha256_stream_update(a->sha, "\n", 1);
	a->st.objects++;
	a->st.secrets += secret;
	a->st.bytes += len + 1;
	return 0;
}

int dp_archive_add_lines(struct dp_archive *a, const char *buf, size_t len, size_t *line)
{
	size_t no = 0;

	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;
		int ret;

		no++;
		if (n && (ret = dp_archive_add(a, buf, n))) {
			if (line)
				*line = no;
			return ret;
		}
		buf += n + (nl != NULL);
		len -= n + (nl != NULL);
	}
	return 0;
}

int dp_archive_finish(struct dp_archive *a)
{
	int ret;

	dp_clear_error();
	if (a->failed)
		return dp_fail(a->failed, "the archive failed earlier: %s", a->failed_msg);
	if (a->finished)
		return 0;
	ret = archive_flush(a);
	if (!ret)
		ret = archive_close_pack(a);
	if (ret)
		return archive_fail(a, ret);
	dp_sha256_stream_final(a->sha, a->chunks.sha256);
	a->finished = true;
	return 0;
}

void dp_archive_stats(const struct dp_archive *a, struct dp_archive_stats *out)
{
	*out = a->st;
}

void dp_archive_free(struct dp_archive *a)
{
	if (!a)
		return;
	dp_objwriter_abort(a->w);
	free(a->e);
	free(a->buf);
	free(a->chunks.v);
	dp_sha256_stream_free(a->sha);
	dp_blobenc_free(a->enc);
	dp_hasher_free(a->hasher);
	dp_chunkidx_free(a->ix);
	dp_lock_release(a->lock);
	free(a);
}

/* ----------------------------------------------------------------- records */

int dp_record_put(struct dp_repo *repo, const struct dp_record *rec, const struct dp_archive *a,
		  char *id)
{
	struct dp_record_chunks none = {0};
	struct dp_record r = *rec, *check = NULL;
	struct dp_lock *lock = NULL;
	uint8_t aad[4 + DP_ID_LEN], *sealed = NULL;
	char key[96], host[256], *json = NULL;
	size_t sealed_len;
	uint64_t size;
	int ret;

	dp_clear_error();
	if (a && (!a->finished || a->failed))
		return dp_fail(-EINVAL, "the archive is not finished");
	if (a && a->repo != repo)
		return dp_fail(-EINVAL, "the archive is of another repository");
	ret = dp_record_id(repo, rec->cluster, rec->namespace, rec->name, r.id);
	if (ret)
		return ret;
	if (!r.hostname) {
		if (gethostname(host, sizeof(host)))
			snprintf(host, sizeof(host), "unknown");
		host[sizeof(host) - 1] = '\0';
		r.hostname = host;
	}
	r.objects = a ? a->st.objects : 0;
	r.secrets = a ? a->st.secrets : 0;
	r.archive_bytes = a ? a->st.bytes : 0;
	if (!a)
		dp_sha256("", 0, none.sha256);
	r.chunks = NULL;
	ret = dp_record_encode(&r, a ? &a->chunks : &none, &json);
	if (ret)
		return ret;
	/* what is written must read back: the reader's checks are the writer's */
	ret = dp_record_decode(json, strlen(json), r.id, &check);
	if (ret == -EBADMSG)
		ret = -EINVAL;
	dp_record_free(check);
	if (ret)
		goto out;
	if (!a) {
		ret = dp_lock_acquire(repo, false, "archive", &lock);
		if (ret)
			goto out;
	}
	for (size_t i = 0; i < r.nvolumes; i++) {
		snprintf(key, sizeof(key), "snapshots/%s", r.volumes[i].snapshot);
		ret = s3_store_head(repo->st, key, &size);
		if (ret == -ENOENT) {
			ret = dp_fail(
				-ENOENT, "volume %s/%s: snapshot %.16s is not in the repository",
				r.volumes[i].namespace, r.volumes[i].pvc, r.volumes[i].snapshot);
			goto out;
		}
		if (ret) {
			ret = dp_fail(ret, "reading %s: %s", key, dp_store_detail());
			goto out;
		}
	}
	dp_key_record(r.id, key, sizeof(key));
	ret = s3_store_head(repo->st, key, &size);
	if (!ret) {
		ret = dp_fail(-EEXIST, "backup %s/%s has a record already (%.16s)", r.namespace,
			      r.name, r.id);
		goto out;
	}
	if (ret != -ENOENT) {
		ret = dp_fail(ret, "reading %s: %s", key, dp_store_detail());
		goto out;
	}
	record_aad(r.id, aad);
	ret = dp_seal_alloc(&repo->keys, aad, sizeof(aad), json, strlen(json), &sealed,
			    &sealed_len);
	if (!ret && sealed_len > DP_RECORD_MAX)
		ret = dp_fail(-EINVAL, "the record would be %zu bytes, over %u", sealed_len,
			      DP_RECORD_MAX);
	if (ret)
		goto out;
	dp_test_point("record-put");
	ret = s3_store_put(repo->st, key, sealed, sealed_len);
	if (ret)
		ret = dp_fail(ret, "writing %s: %s", key, dp_store_detail());
	else if (id)
		memcpy(id, r.id, 65);
out:
	dp_lock_release(lock);
	free(sealed);
	free(json);
	return ret;
}

struct record_keys {
	char (*ids)[65];
	size_t n, cap;
};

static int record_list_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct record_keys *k = arg;
	const char *name = key + strlen("backups/");
	uint8_t bin[DP_ID_LEN];

	(void)size;
	(void)mtime;
	if (strlen(name) != 2 * DP_ID_LEN || dp_unhex(name, bin, DP_ID_LEN))
		return 0;
	if (k->n == k->cap) {
		void *q = dp_grow(k->ids, &k->cap, k->n + 1, sizeof(*k->ids));

		if (!q)
			return -ENOMEM;
		k->ids = q;
	}
	memcpy(k->ids[k->n++], name, 65);
	return 0;
}

/* The ids of every record object (backups/ with a 64-hex name). */
static int record_ids(struct dp_repo *repo, struct record_keys *k)
{
	int ret;

	memset(k, 0, sizeof(*k));
	ret = s3_store_list(repo->st, "backups/", record_list_key, k);
	if (ret && !dp_last_error()[0])
		ret = dp_fail(ret, "listing %s: %s", s3_store_url(repo->st), dp_store_detail());
	return ret;
}

static int record_cmp(const void *x, const void *y)
{
	const struct dp_record *a = x, *b = y;

	if (a->time_end != b->time_end)
		return a->time_end < b->time_end ? -1 : 1;
	return strcmp(a->id, b->id);
}

void dp_record_list_free(struct dp_record *recs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dp_record_fini(&recs[i]);
	free(recs);
}

int dp_record_list(struct dp_repo *repo, struct dp_record **out, size_t *n)
{
	struct dp_record *recs = NULL;
	struct record_keys k;
	size_t got = 0;
	int ret;

	dp_clear_error();
	*out = NULL;
	*n = 0;
	ret = dp_repo_check_unlocked(repo);
	if (!ret)
		ret = record_ids(repo, &k);
	if (ret)
		return ret;
	recs = calloc(k.n ? k.n : 1, sizeof(*recs));
	if (!recs) {
		free(k.ids);
		return -ENOMEM;
	}
	for (size_t i = 0; i < k.n; i++) {
		struct dp_record *r = NULL;

		ret = dp_record_read(repo, k.ids[i], &r);
		if (ret == -ENOMEM)
			break;
		if (ret == -ENOENT) { /* forgotten since the listing */
			ret = 0;
			continue;
		}
		if (ret) {
			pr_warn("backup record %.16s skipped: %s", k.ids[i], dp_last_error());
			ret = 0;
			continue;
		}
		recs[got++] = *r;
		free(r);
	}
	free(k.ids);
	if (ret) {
		dp_record_list_free(recs, got);
		return ret;
	}
	qsort(recs, got, sizeof(*recs), record_cmp);
	*out = recs;
	*n = got;
	return 0;
}

static bool record_is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

int dp_record_get(struct dp_repo *repo, const char *spec, const char *namespace,
		  const char *cluster, struct dp_record **out)
{
	struct dp_record *recs = NULL;
	size_t n = 0, found = 0, which = 0;
	bool prefix = strlen(spec) >= 8 && record_is_hex(spec);
	int ret;

	dp_clear_error();
	*out = NULL;
	if (!spec[0])
		return dp_fail(-EINVAL, "no record named");
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	if (strlen(spec) == 2 * DP_ID_LEN && prefix)
		return dp_record_read(repo, spec, out);
	ret = dp_record_list(repo, &recs, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		const struct dp_record *r = &recs[i];
		bool named = !strcmp(r->name, spec) &&
			     (!namespace || !strcmp(r->namespace, namespace)) &&
			     (!cluster || !strcmp(r->cluster, cluster));

		if (named || (prefix && !strncmp(r->id, spec, strlen(spec)))) {
			found++;
			which = i;
		}
	}
	if (!found)
		ret = dp_fail(-ENOENT, "no backup record named %s", spec);
	else if (found > 1)
		ret = dp_fail(-ENOTUNIQ,
			      "%zu backup records match %s: name the namespace and the cluster, or "
			      "give the record's id",
			      found, spec);
	else {
		*out = malloc(sizeof(**out));
		if (!*out)
			ret = -ENOMEM;
		else {
			**out = recs[which];
			memset(&recs[which], 0, sizeof(recs[which]));
		}
	}
	dp_record_list_free(recs, n);
	return ret;
}

/* The objects of an archive, as its chunks are read: lines handed to the caller. */
struct archive_reader {
	dp_archive_object_fn fn;
	void *arg;
	char *line;
	size_t len, cap;
	uint64_t objects;
};

static int archive_lines(struct archive_reader *rd, const uint8_t *p, size_t n)
{
	while (n) {
		const uint8_t *nl = memchr(p, '\n', n);
		size_t take = nl ? (size_t)(nl - p) : n;
		int ret;

		if (rd->len + take > DP_ARCHIVE_LINE_MAX)
			return dp_fail(-EUCLEAN, "an archive's object is over %u bytes",
				       DP_ARCHIVE_LINE_MAX);
		if (rd->len + take + 1 > rd->cap) {
			size_t cap = rd->cap ? rd->cap : 4096;
			char *q;

			while (cap < rd->len + take + 1)
				cap *= 2;
			q = realloc(rd->line, cap);
			if (!q)
				return -ENOMEM;
			rd->line = q;
			rd->cap = cap;
		}
		memcpy(rd->line + rd->len, p, take);
		rd->len += take;
		p += take;
		n -= take;
		if (!nl)
			break;
		p++;
		n--;
		rd->line[rd->len] = '\0';
		ret = rd->fn(rd->arg, rd->line, rd->len);
		rd->len = 0;
		rd->objects++;
		if (ret)
			return ret;
	}
	return 0;
}

int dp_archive_read(struct dp_repo *repo, const struct dp_record *rec, dp_archive_object_fn fn,
		    void *arg)
{
	const struct dp_record_chunks *c = rec->chunks;
	struct archive_reader rd = {.fn = fn, .arg = arg};
	struct dp_sha256_stream *sha = NULL;
	struct dp_chunkidx *ix = NULL;
	struct dp_blobdec *dec = NULL;
	struct dp_lock *lock = NULL;
	uint8_t *out = NULL, *blob = NULL, digest[DP_ID_LEN];
	uint32_t cs = repo->info.chunk_size;
	char hex[2 * DP_ID_LEN + 1], key[80];
	size_t blob_cap = 0;
	uint64_t bytes = 0;
	int ret;

	dp_clear_error();
	if (!c)
		return dp_fail(-EINVAL, "the record has no archive listing");
	ret = dp_repo_check_unlocked(repo);
	if (!ret)
		ret = dp_lock_acquire(repo, false, "restore", &lock);
	if (!ret)
		ret = dp_chunkidx_new(&ix);
	if (!ret && c->n)
		ret = dp_repo_load_index(repo, ix);
	if (!ret)
		ret = dp_blobdec_new(&repo->keys, cs, &dec);
	if (!ret)
		ret = dp_sha256_stream_new(&sha);
	if (!ret && !(out = malloc(cs)))
		ret = -ENOMEM;
	for (size_t i = 0; !ret && i < c->n; i++) {
		const struct dp_record_chunk *e = &c->v[i];
		const char *why = NULL;
		struct dp_loc loc;
		ssize_t got;

		dp_hex(e->id, DP_ID_LEN, hex);
		if (!dp_chunkidx_lookup(ix, e->id, &loc)) {
			ret = dp_fail(-EUCLEAN,
				      "backup record %.16s: archive chunk %.16s is in no index",
				      rec->id, hex);
			break;
		}
		if (loc.raw_len != e->len || e->len > cs) {
			ret = dp_fail(
				-EUCLEAN,
				"backup record %.16s: archive chunk %.16s has %u bytes, not %u",
				rec->id, hex, loc.raw_len, e->len);
			break;
		}
		if (loc.stored_len > blob_cap) {
			uint8_t *q = realloc(blob, loc.stored_len);

			if (!q) {
				ret = -ENOMEM;
				break;
			}
			blob = q;
			blob_cap = loc.stored_len;
		}
		dp_key_pack(dp_chunkidx_pack_id(ix, loc.pack), key, sizeof(key));
		got = s3_store_get_range(repo->st, key, loc.offset, blob, loc.stored_len);
		if (got < 0) {
			ret = dp_fail(got == -ENOENT ? -EUCLEAN : (int)got, "reading %s: %s", key,
				      dp_store_detail());
			break;
		}
		if ((size_t)got != loc.stored_len) {
			ret = dp_fail(-EUCLEAN, "%s is shorter than its index says", key);
			break;
		}
		ret = dp_blob_decode(dec, e->id, loc.kind, loc.raw_len, blob, loc.stored_len, out,
				     &why);
		if (ret) {
			ret = dp_fail(-EUCLEAN,
				      "backup record %.16s: archive chunk %.16s in %s: %s", rec->id,
				      hex, key, why ? why : "damaged");
			break;
		}
		dp_sha256_stream_update(sha, out, e->len);
		bytes += e->len;
		ret = archive_lines(&rd, out, e->len);
	}
	if (!ret) {
		dp_sha256_stream_final(sha, digest);
		if (rd.len || bytes != rec->archive_bytes || rd.objects != rec->objects ||
		    memcmp(digest, c->sha256, DP_ID_LEN))
			ret = dp_fail(
				-EUCLEAN,
				"backup record %.16s: the archive read back (%llu objects, "
				"%llu bytes) is not the one recorded (%llu objects, %llu bytes, "
				"its SHA-256)",
				rec->id, (unsigned long long)rd.objects, (unsigned long long)bytes,
				(unsigned long long)rec->objects,
				(unsigned long long)rec->archive_bytes);
	}
	free(rd.line);
	free(blob);
	free(out);
	dp_sha256_stream_free(sha);
	dp_blobdec_free(dec);
	dp_chunkidx_free(ix);
	dp_lock_release(lock);
	return ret;
}

int dp_record_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted)
{
	struct dp_purge purge = {0};
	char(*keys)[96] = NULL;
	const char **kp = NULL;
	int ret = 0;

	dp_clear_error();
	*deleted = 0;
	keys = calloc(n ? n : 1, sizeof(*keys));
	kp = calloc(n ? n : 1, sizeof(*kp));
	if (!keys || !kp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t bin[DP_ID_LEN];

		if (strlen(ids[i]) != 2 * DP_ID_LEN || dp_unhex(ids[i], bin, DP_ID_LEN)) {
			ret = dp_fail(-EINVAL, "%s is not a full record id", ids[i]);
			goto out;
		}
		dp_key_record(ids[i], keys[i], sizeof(keys[i]));
		kp[i] = keys[i];
	}
	ret = dp_forget_keys(repo, "backups/", kp, n, NULL, "record-forget-deleted", &purge,
			     deleted);
	/* the logs after the record: a forget that stops between them is done again */
	for (size_t i = 0; !ret && i < n; i++) {
		size_t logs = 0;

		ret = dp_log_forget(repo, ids[i], &logs);
	}
out:
	free(keys);
	free(kp);
	return ret;
}
