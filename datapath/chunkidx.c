// SPDX-License-Identifier: MIT
/*
 * datapath/chunkidx.c - the in-memory chunk index: chunk id -> where it is
 * stored. It is the only metadata that grows with the repository: 56 bytes
 * an entry (in pages, never moved) plus a 4-byte slot at a load factor of at
 * most 1/2, so about 64 bytes per stored chunk.
 *
 * Chunk ids are SHA-256 outputs, uniformly distributed: their first 8 bytes
 * are the hash. Open addressing with linear probing.
 */
#include <stdlib.h>

#include "chunkidx.h"

#define PAGE_SHIFT   12
#define PAGE_ENTRIES (1u << PAGE_SHIFT)

struct ix_entry {
	uint8_t id[DP_ID_LEN];
	uint64_t offset;
	uint32_t pack;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t kind;
	uint8_t pad[3];
};
_Static_assert(sizeof(struct ix_entry) == 56, "index entry size is part of the memory bound");

struct dp_chunkidx {
	pthread_rwlock_t lock;
	struct ix_entry **pages;
	size_t npages, pages_cap;
	uint32_t count;
	uint32_t *slots; /* 0 empty, else entry number + 1 */
	uint32_t mask;
	uint8_t (*packs)[DP_ID_LEN];
	uint32_t npacks;
	size_t packs_cap;
};

static uint64_t ix_hash(const uint8_t id[DP_ID_LEN])
{
	uint64_t h;

	memcpy(&h, id, sizeof(h));
	return h;
}

static struct ix_entry *ix_entry(const struct dp_chunkidx *ix, uint32_t n)
{
	return &ix->pages[n >> PAGE_SHIFT][n & (PAGE_ENTRIES - 1)];
}

int dp_chunkidx_new(struct dp_chunkidx **out)
{
	struct dp_chunkidx *ix;

	*out = NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix)
		return -ENOMEM;
	ix->mask = 1023;
	ix->slots = calloc(ix->mask + 1, sizeof(uint32_t));
	if (!ix->slots) {
		free(ix);
		return -ENOMEM;
	}
	pthread_rwlock_init(&ix->lock, NULL);
	*out = ix;
	return 0;
}

void dp_chunkidx_free(struct dp_chunkidx *ix)
{
	if (!ix)
		return;
	for (size_t i = 0; i < ix->npages; i++)
		free(ix->pages[i]);
	free(ix->pages);
	free(ix->slots);
	free(ix->packs);
	pthread_rwlock_destroy(&ix->lock);
	free(ix);
}

int dp_chunkidx_add_pack(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN])
{
	int ret;

	pthread_rwlock_wrlock(&ix->lock);
	if (ix->npacks == ix->packs_cap) {
		void *p = dp_grow(ix->packs, &ix->packs_cap, ix->npacks + 1, DP_ID_LEN);

		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		ix->packs = p;
	}
	memcpy(ix->packs[ix->npacks], id, DP_ID_LEN);
	ret = (int)ix->npacks++;
out:
	pthread_rwlock_unlock(&ix->lock);
	return ret;
}

const uint8_t *dp_chunkidx_pack_id(const struct dp_chunkidx *ix, uint32_t pack)
{
	return pack < ix->npacks ? ix->packs[pack] : NULL;
}

/* slot of @id, or of the empty slot where it would go */
static uint32_t ix_find(const struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN])
{
	uint32_t i = (uint32_t)ix_hash(id) & ix->mask;

	while (ix->slots[i] && memcmp(ix_entry(ix, ix->slots[i] - 1)->id, id, DP_ID_LEN))
		i = (i + 1) & ix->mask;
	return i;
}

static int ix_grow(struct dp_chunkidx *ix)
{
	uint32_t nmask = ix->mask * 2 + 1;
	uint32_t *nslots = calloc((size_t)nmask + 1, sizeof(uint32_t));

	if (!nslots || nmask < ix->mask) {
		free(nslots);
		return -ENOMEM;
	}
	for (uint32_t n = 0; n < ix->count; n++) {
		uint32_t i = (uint32_t)ix_hash(ix_entry(ix, n)->id) & nmask;

		while (nslots[i])
			i = (i + 1) & nmask;
		nslots[i] = n + 1;
	}
	free(ix->slots);
	ix->slots = nslots;
	ix->mask = nmask;
	return 0;
}

static void ix_loc(const struct ix_entry *e, struct dp_loc *loc)
{
	loc->offset = e->offset;
	loc->pack = e->pack;
	loc->stored_len = e->stored_len;
	loc->raw_len = e->raw_len;
	loc->kind = e->kind;
}

int dp_chunkidx_insert(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN],
		       const struct dp_loc *loc)
{
	struct ix_entry *e;
	uint32_t slot;
	int ret = 0;

	pthread_rwlock_wrlock(&ix->lock);
	slot = ix_find(ix, id);
	if (ix->slots[slot]) {
		ret = 1;
		goto out;
	}
	if ((uint64_t)(ix->count + 1) * 2 > (uint64_t)ix->mask + 1) {
		ret = ix_grow(ix);
		if (ret)
			goto out;
		slot = ix_find(ix, id);
	}
	if ((ix->count >> PAGE_SHIFT) >= ix->npages) {
		void *pages =
			dp_grow(ix->pages, &ix->pages_cap, ix->npages + 1, sizeof(*ix->pages));

		if (!pages) {
			ret = -ENOMEM;
			goto out;
		}
		ix->pages = pages;
		ix->pages[ix->npages] = malloc(PAGE_ENTRIES * sizeof(struct ix_entry));
		if (!ix->pages[ix->npages]) {
			ret = -ENOMEM;
			goto out;
		}
		ix->npages++;
	}
	e = ix_entry(ix, ix->count);
	memset(e, 0, sizeof(*e));
	memcpy(e->id, id, DP_ID_LEN);
	if (loc) {
		e->offset = loc->offset;
		e->pack = loc->pack;
		e->stored_len = loc->stored_len;
		e->raw_len = loc->raw_len;
		e->kind = loc->kind;
	}
	ix->slots[slot] = ++ix->count;
out:
	pthread_rwlock_unlock(&ix->lock);
	return ret;
}

bool dp_chunkidx_lookup(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN], struct dp_loc *loc)
{
	uint32_t slot;
	bool found;

	pthread_rwlock_rdlock(&ix->lock);
	slot = ix_find(ix, id);
	found = ix->slots[slot] != 0;
	if (found && loc)
		ix_loc(ix_entry(ix, ix->slots[slot] - 1), loc);
	pthread_rwlock_unlock(&ix->lock);
	return found;
}

uint64_t dp_chunkidx_count(const struct dp_chunkidx *ix)
{
	return ix->count;
}
