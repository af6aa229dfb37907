// SPDX-License-Identifier: MIT
/*
 * datapath/scan.c - the scan the maintenance verbs start from: the pack
 * objects under data/ and their sizes, every index object decoded, and every
 * manifest walked to its end (check.c, stats.c, prune.c). Also the reading
 * of a pack's blobs in large spans, which check --read-data and repack share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "manifest.h"
#include "record.h"
#include "scan.h"
#include "s3/store.h"

void dp_scan_problem(struct dp_scan *m, const char *fmt, ...)
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

void dp_scan_fini(struct dp_scan *m)
{
	for (size_t i = 0; i < m->np; i++)
		free(m->p[i].e);
	free(m->p);
	free(m->snaps);
	free(m->records);
	dp_chunkidx_free(m->packmap);
	dp_chunkidx_free(m->indexed);
	dp_chunkidx_free(m->live);
	dp_chunkidx_free(m->walk_bad);
}

/* The pack numbered in @m for @id, added if new. */
static struct dp_scan_pack *scan_pack(struct dp_scan *m, const uint8_t id[DP_ID_LEN])
{
	struct dp_loc loc = {0};
	struct dp_scan_pack *p;
	int ret;

	if (dp_chunkidx_lookup(m->packmap, id, &loc))
		return &m->p[loc.offset];
	if (m->np == m->cap) {
		void *q = dp_grow(m->p, &m->cap, m->np + 1, sizeof(*m->p));

		if (!q)
			return NULL;
		m->p = q;
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

static int scan_list_data(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct dp_scan *m = arg;
	const char *name = strrchr(key, '/');
	uint8_t id[DP_ID_LEN];
	struct dp_scan_pack *p;

	(void)mtime;
	if (!name || dp_unhex(name + 1, id, DP_ID_LEN))
		return 0;
	p = scan_pack(m, id);
	if (!p)
		return -ENOMEM;
	p->data = true;
	p->size = size;
	return 0;
}

static int scan_list_index(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct dp_scan *m = arg;
	uint8_t id[DP_ID_LEN];
	void *buf = NULL;
	struct dp_scan_pack *p;
	size_t len;
	int ret;

	(void)size;
	(void)mtime;
	if (dp_unhex(key + strlen("index/"), id, DP_ID_LEN))
		return 0;
	p = scan_pack(m, id);
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
		dp_scan_problem(m, "%s is damaged: %s", key, dp_last_error());
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

static int scan_list_snap(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct dp_scan *m = arg;
	const char *name = key + strlen("snapshots/");
	uint8_t id[DP_ID_LEN];

	(void)size;
	(void)mtime;
	if (dp_unhex(name, id, DP_ID_LEN))
		return 0;
	if (m->nsnaps == m->snaps_cap) {
		void *q = dp_grow(m->snaps, &m->snaps_cap, m->nsnaps + 1, sizeof(*m->snaps));

		if (!q)
			return -ENOMEM;
		m->snaps = q;
	}
	memcpy(m->snaps[m->nsnaps++], name, 65);
	return 0;
}

static int scan_list_record(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct dp_scan *m = arg;
	const char *name = key + strlen("backups/");
	uint8_t id[DP_ID_LEN];

	(void)size;
	(void)mtime;
	if (strlen(name) != 2 * DP_ID_LEN || dp_unhex(name, id, DP_ID_LEN))
		return 0;
	if (m->nrecords == m->records_cap) {
		void *q =
			dp_grow(m->records, &m->records_cap, m->nrecords + 1, sizeof(*m->records));

		if (!q)
			return -ENOMEM;
		m->records = q;
	}
	memcpy(m->records[m->nrecords++], name, 65);
	return 0;
}

static int scan_walk_ref(void *arg, uint64_t idx, const struct dp_ref *ref)
{
	struct dp_scan *m = arg;
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
			dp_scan_problem(
				m, "snapshot %.16s: volume offset %llu holds damaged chunk %.16s",
				m->walk_snap, (unsigned long long)(idx * cs), hex);
		}
		return 0;
	}
	if (!dp_chunkidx_lookup(m->indexed, ref->id, &loc)) {
		dp_hex(ref->id, DP_ID_LEN, hex);
		m->refs_missing++;
		dp_scan_problem(
			m,
			"snapshot %.16s: volume offset %llu refers to chunk %.16s, which is in no index",
			m->walk_snap, (unsigned long long)(idx * cs), hex);
		return 0;
	}
	m->referenced += loc.raw_len;
	ret = dp_chunkidx_insert(m->live, ref->id, &loc);
	return ret < 0 ? ret : 0;
}

/*
 * A backup record's archive chunks are live; with @strict (prune), a record
 * that cannot be read fails the scan. Without (check), a volume whose
 * snapshot is gone is reported too: the record can no longer restore it.
 */
static int scan_walk_record(struct dp_scan *m, const char *id, bool strict)
{
	struct dp_record *r = NULL;
	char hex[2 * DP_ID_LEN + 1];
	int ret;

	ret = dp_record_read(m->repo, id, &r);
	if (ret == -ENOMEM || ret == -ENOENT)
		return ret == -ENOENT ? 0 : ret;
	if (ret) {
		dp_scan_problem(m, "backup record %.16s: %s", id, dp_last_error());
		return strict ? dp_fail(-EUCLEAN,
					"backup record %.16s cannot be read: nothing was deleted; run "
					"'ferry check'",
					id)
			      : 0;
	}
	for (size_t i = 0; !ret && i < r->chunks->n; i++) {
		const struct dp_record_chunk *c = &r->chunks->v[i];
		struct dp_loc loc;

		dp_hex(c->id, DP_ID_LEN, hex);
		if (m->walk_bad) {
			if (dp_chunkidx_lookup(m->walk_bad, c->id, NULL))
				dp_scan_problem(
					m,
					"backup record %.16s (%s/%s): its archive holds damaged "
					"chunk %.16s",
					id, r->namespace, r->name, hex);
			continue;
		}
		if (!dp_chunkidx_lookup(m->indexed, c->id, &loc)) {
			m->refs_missing++;
			dp_scan_problem(m,
					"backup record %.16s (%s/%s): archive chunk %.16s is in no "
					"index",
					id, r->namespace, r->name, hex);
			continue;
		}
		ret = dp_chunkidx_insert(m->live, c->id, &loc);
		ret = ret < 0 ? ret : 0;
	}
	for (size_t i = 0; !ret && !strict && !m->walk_bad && i < r->nvolumes; i++) {
		bool found = false;

		for (size_t k = 0; !found && k < m->nsnaps; k++)
			found = !strcmp(m->snaps[k], r->volumes[i].snapshot);
		if (!found)
			dp_scan_problem(
				m,
				"backup record %.16s (%s/%s): volume %s/%s's snapshot %.16s "
				"does not exist",
				id, r->namespace, r->name, r->volumes[i].namespace,
				r->volumes[i].pvc, r->volumes[i].snapshot);
	}
	dp_record_free(r);
	return ret;
}

/* Walk every manifest and record; @strict: the first undecodable one fails the scan. */
int dp_scan_walk(struct dp_scan *m, bool strict)
{
	for (size_t i = 0; i < m->nsnaps; i++) {
		int ret;

		m->walk_snap = m->snaps[i];
		ret = dp_manifest_walk(m->repo, m->snaps[i], scan_walk_ref, m);
		if (ret == -ENOMEM)
			return ret;
		if (ret) {
			dp_scan_problem(m, "snapshot %.16s: manifest: %s", m->snaps[i],
					dp_last_error());
			if (strict)
				return dp_fail(
					-EUCLEAN,
					"snapshot %.16s cannot be read: nothing was deleted; run 'ferry check'",
					m->snaps[i]);
		}
	}
	for (size_t i = 0; i < m->nrecords; i++) {
		int ret = scan_walk_record(m, m->records[i], strict);

		if (ret)
			return ret;
	}
	return 0;
}

int dp_scan_run(struct dp_scan *m, struct dp_repo *repo, bool strict, dp_problem_fn problem,
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
	ret = s3_store_list(repo->st, "snapshots/", scan_list_snap, m);
	if (!ret)
		ret = s3_store_list(repo->st, "backups/", scan_list_record, m);
	if (!ret)
		ret = s3_store_list(repo->st, "data/", scan_list_data, m);
	if (!ret)
		ret = s3_store_list(repo->st, "index/", scan_list_index, m);
	if (ret)
		return dp_last_error()[0] ? ret
					  : dp_fail(ret, "listing %s: %s", s3_store_url(repo->st),
						    dp_store_detail());
	return dp_scan_walk(m, strict);
}

bool dp_scan_is_live_copy(const struct dp_scan *m, size_t i, size_t k)
{
	const struct dp_pack_entry *e = &m->p[i].e[k];
	struct dp_loc loc;

	return dp_chunkidx_lookup(m->live, e->id, &loc) && loc.pack == i && loc.offset == e->offset;
}

int dp_pack_entry_cmp(const void *a, const void *b)
{
	const struct dp_pack_entry *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

int dp_scan_pack_read(struct dp_scan *m, struct dp_scan_pack *p, uint8_t *span, bool strict,
		      dp_scan_blob_fn fn, void *arg, uint64_t *bytes)
{
	size_t a = 0;
	int ret;

	qsort(p->e, p->n, sizeof(*p->e), dp_pack_entry_cmp);
	while (a < p->n) {
		uint64_t start = p->e[a].offset, end = start + p->e[a].stored_len;
		size_t b = a + 1;
		ssize_t got;

		while (b < p->n &&
		       p->e[b].offset + p->e[b].stored_len - start <= DP_SCAN_READ_SPAN) {
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
