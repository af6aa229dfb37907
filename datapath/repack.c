// SPDX-License-Identifier: MIT
/*
 * datapath/repack.c - prune's rewriting of sparse packs: the live blobs of
 * the packs prune chose are copied, as they are (still sealed: their
 * additional data is the chunk id alone), into new packs written through
 * objwriter.c one part at a time, each chunk once; a new pack's index
 * trailer comes from packfmt.c like every pack's. The new packs and their
 * index objects are complete before prune deletes anything.
 */
#include <stdlib.h>

#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "objwriter.h"
#include "scan.h"
#include "s3/store.h"

#define REPACK_PART (8u << 20)

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
	int ret;

	memset(np, 0, sizeof(*np));
	np->opened = true;
	ret = dp_pack_id_new(np->id);
	if (ret)
		return ret;
	dp_key_pack(np->id, np->key, sizeof(np->key));
	return dp_objwriter_new(repo->st, np->key, part_size, &np->w);
}

static int newpack_add(struct newpack *np, const struct dp_pack_entry *e, const void *blob)
{
	int ret;

	if (np->n == np->cap) {
		void *q = dp_grow(np->e, &np->cap, np->n + 1, sizeof(*np->e));

		if (!q)
			return -ENOMEM;
		np->e = q;
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
	uint8_t *index = NULL;
	char key[96];
	size_t len;
	int ret;

	ret = dp_pack_tail_build(&repo->keys, np->id, np->e, np->n, &index, &len);
	if (ret)
		return ret;
	ret = dp_objwriter_write(np->w, index, len + DP_PACK_TAIL);
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
	struct dp_scan *m;
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
static int repack_pack(struct dp_scan *m, struct dp_scan_pack *p, struct dp_chunkidx *taken,
		       struct newpack *np, uint8_t *span)
{
	struct repack rp = {.m = m, .taken = taken, .np = np};
	uint64_t bytes = 0;

	return dp_scan_pack_read(m, p, span, true, repack_blob, &rp, &bytes);
}

int dp_repack(struct dp_scan *m, const bool *repack, uint64_t *written)
{
	struct dp_chunkidx *taken = NULL;
	struct newpack np = {0};
	uint8_t *span;
	int ret;

	*written = 0;
	span = malloc(DP_SCAN_READ_SPAN);
	ret = span ? dp_chunkidx_new(&taken) : -ENOMEM;
	if (!ret)
		ret = newpack_open(m->repo, &np, REPACK_PART);
	for (size_t i = 0; !ret && i < m->np; i++) {
		if (!repack[i])
			continue;
		ret = repack_pack(m, &m->p[i], taken, &np, span);
		if (!ret && dp_objwriter_size(np.w) >= DP_PACK_SIZE_DEFAULT) {
			ret = newpack_close(m->repo, &np);
			newpack_fini(&np);
			(*written)++;
			if (!ret)
				ret = newpack_open(m->repo, &np, REPACK_PART);
		}
	}
	if (!ret && np.n) {
		ret = newpack_close(m->repo, &np);
		(*written)++;
	}
	newpack_fini(&np);
	dp_chunkidx_free(taken);
	free(span);
	return ret;
}
