/* SPDX-License-Identifier: MIT */
/*
 * datapath/chunkidx.h - the in-memory map chunk id -> where it is stored (chunkidx.c).
 * Private to datapath/.
 */
#ifndef FERRY_DP_CHUNKIDX_H
#define FERRY_DP_CHUNKIDX_H

#include "dp_int.h"

/* Where a chunk is stored (FORMAT.md, pack index entry). */
struct dp_loc {
	uint64_t offset; /* in the pack */
	uint32_t pack;	 /* number in dp_chunkidx's pack table */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t kind; /* DP_BLOB_* */
};

/* In-memory map chunk id -> location: 56 bytes an entry + 8 a slot. */
struct dp_chunkidx;

int dp_chunkidx_new(struct dp_chunkidx **out);
void dp_chunkidx_free(struct dp_chunkidx *ix);
/* register a pack id; returns its number (>= 0) or -ENOMEM */
int dp_chunkidx_add_pack(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN]);
const uint8_t *dp_chunkidx_pack_id(const struct dp_chunkidx *ix, uint32_t pack);
/*
 * Insert if absent. Return 1 if it was present (then *@loc, if given, gets its
 * location), 0 if inserted, -ENOMEM.
 */
int dp_chunkidx_insert(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN],
		       const struct dp_loc *loc);
/* true and *@loc if present */
bool dp_chunkidx_lookup(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN], struct dp_loc *loc);
uint64_t dp_chunkidx_count(const struct dp_chunkidx *ix);

#endif /* FERRY_DP_CHUNKIDX_H */
