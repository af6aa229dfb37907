// SPDX-License-Identifier: MIT
/*
 * datapath/check.c - `ferry check`: the repository's structure from the
 * scan (scan.c), and with read_data every blob read back and verified, the
 * copy of each index at its pack's end compared with the index object, and
 * the snapshots and volume offsets that damaged chunks affect named.
 */
#include <stdio.h>
#include <stdlib.h>

#include "blob.h"
#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "scan.h"
#include "s3/store.h"

/* Structural checks of the packs: each index has its data, each entry fits in it. */
static void check_packs(struct dp_scan *m)
{
	for (size_t i = 0; i < m->np; i++) {
		struct dp_scan_pack *p = &m->p[i];
		uint64_t end = 0;

		if (p->index && !p->data) {
			dp_scan_problem(m, "%s is missing, but index/%s lists %zu chunks", p->key,
					p->key + strlen("data/xx/"), p->n);
			continue;
		}
		for (size_t k = 0; k < p->n; k++)
			if (p->e[k].offset + p->e[k].stored_len > end)
				end = p->e[k].offset + p->e[k].stored_len;
		if (p->index && !p->bad && end + DP_PACK_TAIL > p->size)
			dp_scan_problem(m, "%s has %llu bytes, but its index reaches byte %llu",
					p->key, (unsigned long long)p->size,
					(unsigned long long)end);
	}
}

struct check_read {
	struct dp_scan *m;
	struct dp_scan_pack *p;
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
	dp_scan_problem(c->m, "%s: chunk %.16s at offset %llu is damaged: %s", c->p->key, hex,
			(unsigned long long)e->offset, why);
	return dp_chunkidx_insert(c->bad, e->id, NULL) < 0 ? -ENOMEM : 0;
}

/*
 * The copy of the index at the end of @p (FORMAT.md, Packs) must open and say
 * what index/<pack-id> says: it is what rebuilds a lost index object.
 */
static int check_pack_tail(struct dp_scan *m, struct dp_scan_pack *p, uint8_t *span,
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
	if (got == DP_PACK_TAIL && !dp_pack_trailer_decode(span, size, &len)) {
		if (len <= DP_SCAN_READ_SPAN - DP_PACK_TAIL)
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
			qsort(e, n, sizeof(*e), dp_pack_entry_cmp);
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
		dp_scan_problem(m, "%s: the end of the pack is damaged: %s", p->key, why);
	return 0;
}

/* Read and verify every blob of @p, and its copy of the index; damaged blobs go into @bad. */
static int check_read_pack(struct dp_scan *m, struct dp_scan_pack *p, struct dp_blobdec *d,
			   uint8_t *span, uint8_t *chunk, struct dp_chunkidx *bad,
			   struct dp_check_report *r)
{
	struct check_read c = {.m = m, .p = p, .d = d, .chunk = chunk, .bad = bad, .r = r};
	int ret = dp_scan_pack_read(m, p, span, false, check_blob, &c, &r->bytes_read);

	return ret ? ret : check_pack_tail(m, p, span, r);
}

int dp_check(struct dp_repo *repo, const struct dp_check_opts *opts, struct dp_check_report *r)
{
	struct dp_check_opts o = {0};
	struct dp_blobdec *d = NULL;
	struct dp_chunkidx *bad = NULL;
	uint8_t *span = NULL, *chunk = NULL;
	struct dp_lock *lock = NULL;
	struct dp_scan m;
	int ret;

	dp_clear_error();
	memset(r, 0, sizeof(*r));
	memset(&m, 0, sizeof(m));
	dp_opts_copy(&o, sizeof(o), opts);
	if (o.subset_of && (o.subset_n < 1 || o.subset_n > o.subset_of))
		return dp_fail(-EINVAL, "--subset n/m needs 1 <= n <= m");
	ret = dp_lock_acquire(repo, false, "check", &lock);
	if (ret)
		return ret;
	ret = dp_scan_run(&m, repo, false, o.problem, o.arg);
	if (ret)
		goto out;
	check_packs(&m);
	r->snapshots = m.nsnaps;
	r->records = m.nrecords;
	r->packs = m.np;
	r->chunks = dp_chunkidx_count(m.indexed);
	if (o.read_data) {
		span = malloc(DP_SCAN_READ_SPAN);
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
			ret = check_read_pack(&m, &m.p[i], d, span, chunk, bad, r);
		}
		if (ret)
			goto out;
		/* name what the damage affects */
		if (dp_chunkidx_count(bad)) {
			m.walk_bad = bad;
			bad = NULL;
			ret = dp_scan_walk(&m, false);
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
	dp_scan_fini(&m);
	dp_lock_release(lock);
	return ret;
}
