// SPDX-License-Identifier: MIT
/*
 * datapath/maint.c - looking after a repository: check (structure, and every
 * blob with read_data), stats, forget, prune.
 *
 * All of them start from one scan (maint_scan()): the pack objects under
 * data/ and their sizes, every index object decoded, and every manifest
 * walked to its end. The scan's memory is bounded per stored chunk (an index
 * entry and a set entry, about 120 bytes), never per volume byte.
 *
 * prune is strict: if any manifest, index or referenced chunk cannot be
 * accounted for it deletes nothing and says to run check. Under its
 * exclusive lock no backup runs; new packs and their indexes are complete
 * before anything old goes, and an index is deleted before its pack, so a
 * crash at any point leaves at worst duplicates or an index-less pack that
 * the next prune removes.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "dp_int.h"
#include "s3/store.h"

#define READ_SPAN (8u << 20) /* one ranged read of check --read-data and repack */

struct mpack {
	uint8_t id[DP_ID_LEN];
	char key[80];
	uint64_t size;	       /* of the data object; 0 if there is none */
	bool data, index, bad; /* data object, index object, an index that did not open */
	struct dp_pack_entry *e;
	size_t n;
	uint64_t stored, live; /* blob bytes, of them still referenced */
	size_t nlive;
};

struct maint {
	struct dp_repo *repo;
	struct mpack *p;
	size_t np, cap;
	struct dp_chunkidx *packmap; /* pack id -> number in @p (loc.offset) */
	struct dp_chunkidx *indexed; /* chunk id -> where (loc.pack: number in @p) */
	struct dp_chunkidx *live;    /* chunk ids some manifest references */
	char (*snaps)[65];
	size_t nsnaps, snaps_cap;
	uint64_t problems;
	dp_problem_fn problem;
	void *arg;
	/* a walk's state */
	const char *walk_snap;
	struct dp_chunkidx *walk_bad; /* check: chunks known damaged */
	uint64_t refs_missing;
	uint64_t logical, referenced, zero; /* stats: over all snapshots */
};

static void maint_problem(struct maint *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void maint_problem(struct maint *m, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->problems++;
	if (m->problem)
		m->problem(m->arg, msg);
	else
		pr_warn("%s", msg);
}

static void maint_fini(struct maint *m)
{
	for (size_t i = 0; i < m->np; i++)
		free(m->p[i].e);
	free(m->p);
	free(m->snaps);
	dp_chunkidx_free(m->packmap);
	dp_chunkidx_free(m->indexed);
	dp_chunkidx_free(m->live);
	dp_chunkidx_free(m->walk_bad);
}

/* The pack numbered in @m for @id, added if new. */
static struct mpack *maint_pack(struct maint *m, const uint8_t id[DP_ID_LEN])
{
	struct dp_loc loc = {0};
	struct mpack *p;
	int ret;

	if (dp_chunkidx_lookup(m->packmap, id, &loc))
		return &m->p[loc.offset];
	if (m->np == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 64;
		void *q = realloc(m->p, cap * sizeof(*m->p));

		if (!q)
			return NULL;
		m->p = q;
		m->cap = cap;
	}
	loc.offset = m->np;
	ret = dp_chunkidx_insert(m->packmap, id, &loc);
	if (ret < 0)
		return NULL;
	p = &m->p[m->np++];
	memset(p, 0, sizeof(*p));
	memcpy(p->id, id, DP_ID_LEN);
	dp_key_pack(id, p->key, sizeof(p->key));
	return p;
}

static int maint_list_data(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct maint *m = arg;
	const char *name = strrchr(key, '/');
	uint8_t id[DP_ID_LEN];
	struct mpack *p;

	(void)mtime;
	if (!name || dp_unhex(name + 1, id, DP_ID_LEN))
		return 0;
	p = maint_pack(m, id);
	if (!p)
		return -ENOMEM;
	p->data = true;
	p->size = size;
	return 0;
}

static int maint_list_index(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct maint *m = arg;
	uint8_t id[DP_ID_LEN];
	void *buf = NULL;
	struct mpack *p;
	size_t len;
	int ret;

	(void)size;
	(void)mtime;
	if (dp_unhex(key + strlen("index/"), id, DP_ID_LEN))
		return 0;
	p = maint_pack(m, id);
	if (!p)
		return -ENOMEM;
	p->index = true;
	ret = s3_store_get(m->repo->st, key, DP_PACK_INDEX_MAX, &buf, &len);
	if (ret)
		return dp_fail(ret, "reading %s: %s", key, dp_store_detail());
	ret = dp_pack_index_open(&m->repo->keys, id, buf, len, &p->e, &p->n);
	free(buf);
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		p->bad = true;
		maint_problem(m, "%s is damaged: %s", key, dp_last_error());
		return 0;
	}
	for (size_t i = 0; i < p->n; i++) {
		struct dp_loc loc = {.offset = p->e[i].offset,
				     .pack = (uint32_t)(p - m->p),
				     .stored_len = p->e[i].stored_len,
				     .raw_len = p->e[i].raw_len,
				     .kind = p->e[i].kind};

		p->stored += p->e[i].stored_len;
		ret = dp_chunkidx_insert(m->indexed, p->e[i].id, &loc);
		if (ret < 0)
			return ret;
	}
	return 0;
}

static int maint_list_snap(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct maint *m = arg;
	const char *name = key + strlen("snapshots/");
	uint8_t id[DP_ID_LEN];

	(void)size;
	(void)mtime;
	if (dp_unhex(name, id, DP_ID_LEN))
		return 0;
	if (m->nsnaps == m->snaps_cap) {
		size_t cap = m->snaps_cap ? m->snaps_cap * 2 : 32;
		void *q = realloc(m->snaps, cap * sizeof(*m->snaps));

		if (!q)
			return -ENOMEM;
		m->snaps = q;
		m->snaps_cap = cap;
	}
	memcpy(m->snaps[m->nsnaps++], name, 65);
	return 0;
}

static int maint_walk_ref(void *arg, uint64_t idx, const struct dp_ref *ref)
{
	struct maint *m = arg;
	uint32_t cs = m->repo->info.chunk_size;
	struct dp_loc loc;
	char hex[2 * DP_ID_LEN + 1];
	int ret;

	if (ref->zero) {
		m->zero += ref->count * cs;
		return 0;
	}
	if (m->walk_bad) {
		if (dp_chunkidx_lookup(m->walk_bad, ref->id, NULL)) {
			dp_hex(ref->id, DP_ID_LEN, hex);
			maint_problem(
				m, "snapshot %.16s: volume offset %llu holds damaged chunk %.16s",
				m->walk_snap, (unsigned long long)(idx * cs), hex);
		}
		return 0;
	}
	if (!dp_chunkidx_lookup(m->indexed, ref->id, &loc)) {
		dp_hex(ref->id, DP_ID_LEN, hex);
		m->refs_missing++;
		maint_problem(
			m,
			"snapshot %.16s: volume offset %llu refers to chunk %.16s, which is in no index",
			m->walk_snap, (unsigned long long)(idx * cs), hex);
		return 0;
	}
	m->referenced += loc.raw_len;
	ret = dp_chunkidx_insert(m->live, ref->id, &loc);
	return ret < 0 ? ret : 0;
}

/* Walk every manifest; @strict: the first undecodable one fails the scan. */
static int maint_walk(struct maint *m, bool strict)
{
	for (size_t i = 0; i < m->nsnaps; i++) {
		int ret;

		m->walk_snap = m->snaps[i];
		ret = dp_manifest_walk(m->repo, m->snaps[i], maint_walk_ref, m);
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			maint_problem(m, "snapshot %.16s: manifest: %s", m->snaps[i],
				      dp_last_error());
			if (strict)
				return dp_fail(
					-EUCLEAN,
					"snapshot %.16s cannot be read: nothing was deleted; run 'ferry check'",
					m->snaps[i]);
		}
	}
	return 0;
}

static int maint_scan(struct maint *m, struct dp_repo *repo, bool strict, dp_problem_fn problem,
		      void *arg)
{
	int ret;

	memset(m, 0, sizeof(*m));
	m->repo = repo;
	m->problem = problem;
	m->arg = arg;
	ret = dp_repo_check_unlocked(repo);
	if (!ret)
		ret = dp_chunkidx_new(&m->packmap);
	if (!ret)
		ret = dp_chunkidx_new(&m->indexed);
	if (!ret)
		ret = dp_chunkidx_new(&m->live);
	if (ret)
		return ret;
	ret = s3_store_list(repo->st, "snapshots/", maint_list_snap, m);
	if (!ret)
		ret = s3_store_list(repo->st, "data/", maint_list_data, m);
	if (!ret)
		ret = s3_store_list(repo->st, "index/", maint_list_index, m);
	if (ret)
		return dp_last_error()[0] ? ret
					  : dp_fail(ret, "listing %s: %s", s3_store_url(repo->st),
						    dp_store_detail());
	return maint_walk(m, strict);
}

/* Structural checks of the packs: each index has its data, each entry fits in it. */
static void maint_check_packs(struct maint *m)
{
	for (size_t i = 0; i < m->np; i++) {
		struct mpack *p = &m->p[i];
		uint64_t end = 0;

		if (p->index && !p->data) {
			maint_problem(m, "%s is missing, but index/%s lists %zu chunks", p->key,
				      p->key + strlen("data/xx/"), p->n);
			continue;
		}
		for (size_t k = 0; k < p->n; k++)
			if (p->e[k].offset + p->e[k].stored_len > end)
				end = p->e[k].offset + p->e[k].stored_len;
		if (p->index && !p->bad && end + DP_PACK_TAIL > p->size)
			maint_problem(m, "%s has %llu bytes, but its index reaches byte %llu",
				      p->key, (unsigned long long)p->size, (unsigned long long)end);
	}
}

/* ------------------------------------------------------------------ check */

static int entry_cmp(const void *a, const void *b)
{
	const struct dp_pack_entry *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/*
 * Read the blobs of @p in spans of at most READ_SPAN and call @fn for each
 * entry with its bytes, or with NULL where the pack ends before it (@strict:
 * that is an error instead). *@bytes counts what was read.
 */
typedef int (*pack_blob_fn)(void *arg, const struct dp_pack_entry *e, const uint8_t *blob);

static int pack_walk(struct maint *m, struct mpack *p, uint8_t *span, bool strict, pack_blob_fn fn,
		     void *arg, uint64_t *bytes)
{
	size_t a = 0;
	int ret;

	qsort(p->e, p->n, sizeof(*p->e), entry_cmp);
	while (a < p->n) {
		uint64_t start = p->e[a].offset, end = start + p->e[a].stored_len;
		size_t b = a + 1;
		ssize_t got;

		while (b < p->n && p->e[b].offset + p->e[b].stored_len - start <= READ_SPAN) {
			if (p->e[b].offset + p->e[b].stored_len > end)
				end = p->e[b].offset + p->e[b].stored_len;
			b++;
		}
		got = s3_store_get_range(m->repo->st, p->key, start, span, (size_t)(end - start));
		if (got < 0 && (strict || got != -ENOENT))
			return dp_fail((int)got, "reading %s: %s", p->key, dp_store_detail());
		if (strict && (uint64_t)got != end - start)
			return dp_fail(-EUCLEAN, "%s is shorter than its index says", p->key);
		if (got > 0)
			*bytes += (uint64_t)got;
		for (size_t k = a; k < b; k++) {
			const struct dp_pack_entry *e = &p->e[k];
			bool have = got >= 0 && e->offset + e->stored_len <= start + (uint64_t)got;

			ret = fn(arg, e, have ? span + (e->offset - start) : NULL);
			if (ret)
				return ret;
		}
		a = b;
	}
	return 0;
}

struct check_read {
	struct maint *m;
	struct mpack *p;
	struct dp_blobdec *d;
	uint8_t *chunk;
	struct dp_chunkidx *bad;
	struct dp_check_report *r;
};

static int check_blob(void *arg, const struct dp_pack_entry *e, const uint8_t *blob)
{
	struct check_read *c = arg;
	const char *why = "it lies beyond the end of the pack";
	char hex[2 * DP_ID_LEN + 1];

	c->r->chunks_read++;
	if (blob &&
	    !dp_blob_decode(c->d, e->id, e->kind, e->raw_len, blob, e->stored_len, c->chunk, &why))
		return 0;
	dp_hex(e->id, DP_ID_LEN, hex);
	maint_problem(c->m, "%s: chunk %.16s at offset %llu is damaged: %s", c->p->key, hex,
		      (unsigned long long)e->offset, why);
	return dp_chunkidx_insert(c->bad, e->id, NULL) < 0 ? -ENOMEM : 0;
}

/*
 * The copy of the index at the end of @p (FORMAT.md, Packs) must open and say
 * what index/<pack-id> says: it is what rebuilds a lost index object.
 */
static int check_pack_tail(struct maint *m, struct mpack *p, uint8_t *span,
			   struct dp_check_report *r)
{
	struct dp_pack_entry *e = NULL;
	const char *why = "it does not end with an index";
	uint32_t len = 0;
	uint64_t size;
	ssize_t got;
	size_t n = 0;
	int ret = 0;

	got = s3_store_get_tail(m->repo->st, p->key, span, DP_PACK_TAIL, &size);
	if (got == DP_PACK_TAIL && !memcmp(span + 4, "FRYP", 4)) {
		len = dp_get_le32(span);
		if (len + DP_PACK_TAIL <= size && len <= READ_SPAN - DP_PACK_TAIL)
			got = s3_store_get_tail(m->repo->st, p->key, span, len + DP_PACK_TAIL,
						&size);
		else
			len = 0;
	}
	if (got < 0)
		return dp_fail((int)got, "reading %s: %s", p->key, dp_store_detail());
	r->bytes_read += (uint64_t)got;
	if (len && got == (ssize_t)(len + DP_PACK_TAIL)) {
		ret = dp_pack_index_open(&m->repo->keys, p->id, span, len, &e, &n);
		if (ret == -ENOMEM)
			return ret;
		why = ret ? "its index does not open" : "its index differs from the index object";
		if (!ret && n == p->n) {
			qsort(e, n, sizeof(*e), entry_cmp);
			for (size_t i = 0; i < n && !ret; i++)
				ret = memcmp(e[i].id, p->e[i].id, DP_ID_LEN) ||
				      e[i].offset != p->e[i].offset ||
				      e[i].stored_len != p->e[i].stored_len ||
				      e[i].raw_len != p->e[i].raw_len || e[i].kind != p->e[i].kind;
			if (!ret)
				why = NULL;
		}
		free(e);
	}
	if (why)
		maint_problem(m, "%s: the end of the pack is damaged: %s", p->key, why);
	return 0;
}

/* Read and verify every blob of @p, and its copy of the index; damaged blobs go into @bad. */
static int maint_read_pack(struct maint *m, struct mpack *p, struct dp_blobdec *d, uint8_t *span,
			   uint8_t *chunk, struct dp_chunkidx *bad, struct dp_check_report *r)
{
	struct check_read c = {.m = m, .p = p, .d = d, .chunk = chunk, .bad = bad, .r = r};
	int ret = pack_walk(m, p, span, false, check_blob, &c, &r->bytes_read);

	return ret ? ret : check_pack_tail(m, p, span, r);
}

int dp_check(struct dp_repo *repo, const struct dp_check_opts *opts, struct dp_check_report *r)
{
	struct dp_check_opts o = {0};
	struct dp_blobdec *d = NULL;
	struct dp_chunkidx *bad = NULL;
	uint8_t *span = NULL, *chunk = NULL;
	struct dp_lock *lock = NULL;
	struct maint m;
	int ret;

	dp_clear_error();
	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.subset_of && (o.subset_n < 1 || o.subset_n > o.subset_of))
		return dp_fail(-EINVAL, "--subset n/m needs 1 <= n <= m");
	ret = dp_lock_acquire(repo, false, "check", &lock);
	if (ret)
		return ret;
	ret = maint_scan(&m, repo, false, o.problem, o.arg);
	if (ret)
		goto out;
	maint_check_packs(&m);
	r->snapshots = m.nsnaps;
	r->packs = m.np;
	r->chunks = dp_chunkidx_count(m.indexed);
	if (o.read_data) {
		span = malloc(READ_SPAN);
		chunk = malloc(repo->info.chunk_size);
		ret = span && chunk ? dp_blobdec_new(&repo->keys, repo->info.chunk_size, &d)
				    : -ENOMEM;
		if (!ret)
			ret = dp_chunkidx_new(&bad);
		for (size_t i = 0; !ret && i < m.np; i++) {
			if (!m.p[i].index || m.p[i].bad || !m.p[i].data)
				continue;
			if (o.subset_of && i % o.subset_of != o.subset_n - 1)
				continue;
			r->packs_read++;
			ret = maint_read_pack(&m, &m.p[i], d, span, chunk, bad, r);
		}
		if (ret)
			goto out;
		/* name what the damage affects */
		if (dp_chunkidx_count(bad)) {
			m.walk_bad = bad;
			bad = NULL;
			ret = maint_walk(&m, false);
			if (ret)
				goto out;
		}
	}
	r->problems = m.problems;
	ret = m.problems ? dp_fail(-EUCLEAN, "%llu problem%s found", (unsigned long long)m.problems,
				   m.problems == 1 ? "" : "s")
			 : 0;
out:
	r->problems = m.problems;
	dp_blobdec_free(d);
	dp_chunkidx_free(bad);
	free(span);
	free(chunk);
	maint_fini(&m);
	dp_lock_release(lock);
	return ret;
}

/* ------------------------------------------------------------------ stats */

int dp_repo_stats(struct dp_repo *repo, struct dp_stats *s)
{
	struct dp_snapshot *snaps = NULL;
	struct maint m;
	size_t n = 0;
	int ret;

	dp_clear_error();
	memset(s, 0, sizeof(*s));
	memset(&m, 0, sizeof(m));
	ret = dp_snapshot_list(repo, &snaps, &n);
	if (ret)
		return ret;
	ret = maint_scan(&m, repo, false, NULL, NULL);
	if (ret)
		goto out;
	s->snapshots = n;
	for (size_t i = 0; i < n; i++)
		s->logical_bytes += snaps[i].size;
	s->zero_bytes = m.zero;
	s->referenced_bytes = m.referenced;
	for (size_t i = 0; i < m.np; i++) {
		struct mpack *p = &m.p[i];

		if (p->data) {
			s->packs++;
			s->pack_bytes += p->size;
		}
		for (size_t k = 0; k < p->n; k++) {
			struct dp_loc loc;

			s->index_chunks++;
			if (dp_chunkidx_lookup(m.live, p->e[k].id, &loc) && loc.pack == i &&
			    loc.offset == p->e[k].offset) {
				s->unique_chunks++;
				s->unique_raw_bytes += p->e[k].raw_len;
				s->unique_stored_bytes += p->e[k].stored_len;
			} else {
				s->unreferenced_chunks++;
				s->unreferenced_bytes += p->e[k].stored_len;
			}
		}
	}
	s->problems = m.problems;
out:
	maint_fini(&m);
	dp_snapshot_list_free(snaps, n);
	return ret;
}

/* ----------------------------------------------------------------- forget */

static int maint_versioned(struct dp_repo *repo, bool *versioned);

int dp_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted,
	      struct dp_purge *purge)
{
	struct dp_purge dummy;
	struct dp_lock *lock = NULL;
	bool versioned = false;
	char key[96];
	int ret;

	dp_clear_error();
	*deleted = 0;
	if (!purge)
		purge = &dummy;
	memset(purge, 0, sizeof(*purge));
	ret = dp_lock_acquire(repo, true, "forget", &lock);
	if (!ret)
		ret = maint_versioned(repo, &versioned);
	for (size_t i = 0; i < n && !ret; i++) {
		snprintf(key, sizeof(key), "snapshots/%s", ids[i]);
		ret = dp_purge(repo, key, versioned, purge);
		if (ret == -ENOENT)
			ret = 0;
		else if (!ret)
			(*deleted)++;
		dp_test_point("forget-deleted");
	}
	dp_lock_release(lock);
	return ret;
}

/* ------------------------------------------------------- versioned buckets */

struct purge_version {
	char id[256];
	uint64_t size;
	bool marker;
};

struct purge_walk {
	const char *key;
	struct purge_version *v;
	size_t n, cap;
};

static int purge_list(void *arg, const char *key, const char *version_id, bool is_latest,
		      bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct purge_walk *w = arg;

	(void)is_latest;
	(void)mtime;
	if (strcmp(key, w->key))
		return 0; /* another key with this one as prefix */
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 8;
		void *p = realloc(w->v, cap * sizeof(*w->v));

		if (!p)
			return -ENOMEM;
		w->v = p;
		w->cap = cap;
	}
	snprintf(w->v[w->n].id, sizeof(w->v[w->n].id), "%s", version_id);
	w->v[w->n].size = size;
	w->v[w->n].marker = is_delete_marker;
	w->n++;
	return 0;
}

/*
 * Delete @key; on a versioned bucket also every version of it, so that the
 * space is really reclaimed. The delete marker goes last, and only when no
 * version is left: while Object Lock keeps one, the marker keeps it hidden.
 */
int dp_purge(struct dp_repo *repo, const char *key, bool versioned, struct dp_purge *p)
{
	struct purge_walk w = {.key = key};
	bool kept = false;
	int ret;

	ret = s3_store_delete(repo->st, key);
	if (ret && ret != -ENOENT)
		return dp_fail(ret, "deleting %s: %s", key, dp_store_detail());
	if (!versioned)
		return ret;
	ret = s3_store_list_versions(repo->st, key, purge_list, &w);
	if (ret) {
		free(w.v);
		return dp_fail(ret, "listing the versions of %s: %s", key, dp_store_detail());
	}
	for (int pass = 0; pass < 2 && !ret; pass++) {
		for (size_t i = 0; i < w.n && !ret; i++) {
			struct s3_version_info info;

			if (w.v[i].marker != (pass == 1) || (pass == 1 && kept))
				continue;
			ret = s3_store_delete_version(repo->st, key, w.v[i].id);
			if (ret == -EACCES && pass == 0) {
				/* Object Lock keeps it: the repository stays consistent, the space stays used */
				kept = true;
				p->versions_protected++;
				p->bytes_protected += w.v[i].size;
				if (!s3_store_head_version(repo->st, key, w.v[i].id, &info) &&
				    info.retain_until > p->protected_until)
					p->protected_until = info.retain_until;
				ret = 0;
			} else if (ret) {
				ret = dp_fail(ret, "deleting version %s of %s: %s", w.v[i].id, key,
					      dp_store_detail());
			} else if (!w.v[i].marker) {
				p->versions_deleted++;
			}
		}
	}
	free(w.v);
	return ret;
}

/* Whether deletes must go version by version. */
static int maint_versioned(struct dp_repo *repo, bool *versioned)
{
	enum s3_versioning v = S3_VERSIONING_OFF;
	int ret = s3_store_versioning(repo->st, &v);

	if (ret)
		return dp_fail(ret, "reading the bucket's versioning: %s", dp_store_detail());
	*versioned = v != S3_VERSIONING_OFF;
	return 0;
}

/* ------------------------------------------------------------------ prune */

/* A new pack being written by repack, one part at a time. */
struct newpack {
	uint8_t id[DP_ID_LEN];
	char key[80];
	struct dp_objwriter *w;
	struct dp_pack_entry *e;
	size_t n, cap;
	bool opened;
};

static int newpack_open(struct dp_repo *repo, struct newpack *np, size_t part_size)
{
	char hex[65];
	int ret;

	memset(np, 0, sizeof(*np));
	np->opened = true;
	ret = dp_random_id(hex);
	if (!ret)
		ret = dp_unhex(hex, np->id, DP_ID_LEN);
	if (ret)
		return ret;
	dp_key_pack(np->id, np->key, sizeof(np->key));
	return dp_objwriter_new(repo->st, np->key, part_size, &np->w);
}

static int newpack_add(struct newpack *np, const struct dp_pack_entry *e, const void *blob)
{
	int ret;

	if (np->n == np->cap) {
		size_t cap = np->cap ? np->cap * 2 : 256;
		void *q = realloc(np->e, cap * sizeof(*np->e));

		if (!q)
			return -ENOMEM;
		np->e = q;
		np->cap = cap;
	}
	np->e[np->n] = *e;
	np->e[np->n].offset = dp_objwriter_size(np->w);
	ret = dp_objwriter_write(np->w, blob, e->stored_len);
	if (!ret)
		np->n++;
	return ret;
}

/* Index trailer, last part, complete, then index/<id>: the new pack is usable. */
static int newpack_close(struct dp_repo *repo, struct newpack *np)
{
	uint8_t tail[DP_PACK_TAIL], *index = NULL;
	char key[96];
	size_t len;
	int ret;

	ret = dp_pack_index_seal(&repo->keys, np->id, np->e, np->n, &index, &len);
	if (ret)
		return ret;
	dp_put_le32(tail, (uint32_t)len);
	memcpy(tail + 4, "FRYP", 4);
	ret = dp_objwriter_write(np->w, index, len);
	if (!ret)
		ret = dp_objwriter_write(np->w, tail, sizeof(tail));
	if (!ret) {
		ret = dp_objwriter_commit(np->w);
		np->w = NULL;
	}
	if (!ret) {
		dp_key_index(np->id, key, sizeof(key));
		ret = s3_store_put(repo->st, key, index, len);
		if (ret)
			ret = dp_fail(ret, "writing %s: %s", key, dp_store_detail());
	}
	free(index);
	return ret;
}

static void newpack_fini(struct newpack *np)
{
	if (!np->opened)
		return;
	dp_objwriter_abort(np->w);
	free(np->e);
	memset(np, 0, sizeof(*np));
}

struct repack {
	struct maint *m;
	struct dp_chunkidx *taken;
	struct newpack *np;
};

static int repack_blob(void *arg, const struct dp_pack_entry *e, const uint8_t *blob)
{
	struct repack *rp = arg;
	struct dp_loc loc;
	int ret;

	/* a chunk is kept once: the live set's chosen copy */
	if (!dp_chunkidx_lookup(rp->m->live, e->id, &loc) ||
	    dp_chunkidx_lookup(rp->taken, e->id, NULL))
		return 0;
	ret = dp_chunkidx_insert(rp->taken, e->id, NULL);
	if (ret >= 0)
		ret = newpack_add(rp->np, e, blob);
	return ret < 0 ? ret : 0;
}

/* Copy the live blobs of @p into @np (blobs move as they are: still sealed). */
static int prune_repack(struct maint *m, struct mpack *p, struct dp_chunkidx *taken,
			struct newpack *np, uint8_t *span)
{
	struct repack rp = {.m = m, .taken = taken, .np = np};
	uint64_t bytes = 0;

	return pack_walk(m, p, span, true, repack_blob, &rp, &bytes);
}

static int prune_delete(struct dp_repo *repo, const char *key, bool versioned,
			struct dp_prune_report *r)
{
	int ret = dp_purge(repo, key, versioned, &r->purge);

	if (ret == -ENOENT)
		return 0;
	if (ret)
		return ret;
	r->objects_deleted++;
	dp_test_point("prune-deleted");
	return 0;
}

int dp_prune(struct dp_repo *repo, const struct dp_prune_opts *opts, struct dp_prune_report *r)
{
	struct dp_prune_opts o = {0};
	struct dp_chunkidx *taken = NULL;
	struct dp_lock *lock = NULL;
	struct newpack np = {0};
	uint8_t *span = NULL;
	bool *repack = NULL, versioned = false;
	struct maint m;
	char key[96];
	int ret;

	dp_clear_error();
	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (!o.repack_below_pct)
		o.repack_below_pct = DP_REPACK_BELOW_DEFAULT;
	ret = dp_lock_acquire(repo, true, "prune", &lock);
	if (ret)
		return ret;
	dp_test_point("prune-locked");
	ret = maint_versioned(repo, &versioned);
	if (!ret)
		ret = maint_scan(&m, repo, true, NULL, NULL);
	if (ret)
		goto out;
	if (m.refs_missing || m.problems) {
		ret = dp_fail(
			-EUCLEAN,
			"the repository has %llu problem%s (chunks referenced but in no index, damaged indexes): nothing was deleted; run 'ferry check'",
			(unsigned long long)m.problems, m.problems == 1 ? "" : "s");
		goto out;
	}
	/* which copy of each live chunk stays: the one the live set recorded */
	for (size_t i = 0; i < m.np; i++) {
		struct mpack *p = &m.p[i];

		for (size_t k = 0; k < p->n; k++) {
			struct dp_loc loc;

			if (dp_chunkidx_lookup(m.live, p->e[k].id, &loc) && loc.pack == i &&
			    loc.offset == p->e[k].offset) {
				p->live += p->e[k].stored_len;
				p->nlive++;
			}
		}
		if (p->index && !p->data) {
			ret = dp_fail(
				-EUCLEAN,
				"%s is missing but indexed: nothing was deleted; run 'ferry check'",
				p->key);
			goto out;
		}
	}
	repack = calloc(m.np ? m.np : 1, sizeof(*repack));
	if (!repack) {
		ret = -ENOMEM;
		goto out;
	}
	r->packs = m.np;
	for (size_t i = 0; i < m.np; i++) {
		struct mpack *p = &m.p[i];

		r->bytes_total += p->size;
		if (!p->index) {
			r->packs_orphaned++;
			r->bytes_freed += p->size;
		} else if (!p->nlive) {
			r->packs_deleted++;
			r->bytes_freed += p->size;
		} else if (p->live * 100 < p->stored * o.repack_below_pct) {
			repack[i] = true;
			r->packs_repacked++;
			r->bytes_repacked += p->live;
			r->bytes_freed += p->size - p->live;
		}
		r->chunks_removed += p->n - p->nlive;
	}
	r->chunks_live = dp_chunkidx_count(m.live);
	if (o.dry_run)
		goto out;
	dp_test_point("prune-planned");

	/* 1. repack: the new packs are complete before anything old goes */
	if (r->packs_repacked) {
		span = malloc(READ_SPAN);
		ret = span ? dp_chunkidx_new(&taken) : -ENOMEM;
		if (!ret)
			ret = newpack_open(repo, &np, 8u << 20);
		for (size_t i = 0; !ret && i < m.np; i++) {
			if (!repack[i])
				continue;
			ret = prune_repack(&m, &m.p[i], taken, &np, span);
			if (!ret && dp_objwriter_size(np.w) >= DP_PACK_SIZE_DEFAULT) {
				ret = newpack_close(repo, &np);
				newpack_fini(&np);
				r->packs_written++;
				if (!ret)
					ret = newpack_open(repo, &np, 8u << 20);
			}
		}
		if (!ret && np.n) {
			ret = newpack_close(repo, &np);
			r->packs_written++;
		}
		if (ret)
			goto out;
		dp_test_point("prune-repacked");
	}
	/* 2. indexes first (their chunks stop being found), then the packs */
	for (size_t i = 0; i < m.np && !ret; i++) {
		struct mpack *p = &m.p[i];

		if (!p->index || (p->nlive && !repack[i]))
			continue;
		dp_key_index(p->id, key, sizeof(key));
		ret = prune_delete(repo, key, versioned, r);
	}
	for (size_t i = 0; i < m.np && !ret; i++) {
		struct mpack *p = &m.p[i];

		if (p->index && p->nlive && !repack[i])
			continue;
		if (p->data)
			ret = prune_delete(repo, p->key, versioned, r);
	}
out:
	newpack_fini(&np);
	dp_chunkidx_free(taken);
	free(span);
	free(repack);
	maint_fini(&m);
	dp_lock_release(lock);
	return ret;
}
