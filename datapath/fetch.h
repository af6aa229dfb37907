/* SPDX-License-Identifier: MIT */
/*
 * datapath/fetch.h - windowed, coalesced ranged reads of blobs (fetch.c). Private to
 * datapath/.
 */
#ifndef FERRY_DP_FETCH_H
#define FERRY_DP_FETCH_H

#include "chunkidx.h"
#include "pool.h"
#include "queue.h"

struct dp_job;

/* One chunk of a fetch, with the tags (indexes into dp_fetch.tags) that want it. */
struct dp_fetch_chunk {
	uint8_t id[DP_ID_LEN];
	struct dp_loc loc;
	uint32_t first;
	uint32_t ntags;
};

/* One ranged read of a pack (fetch.c), handed to the caller's queue when done. */
struct dp_fetch {
	struct dp_fetcher *fetcher;
	char key[80];
	uint64_t off; /* in the pack */
	uint32_t len;
	void *buf; /* an I/O buffer of the job, holding [off, off + len) */
	struct dp_fetch_chunk *chunks;
	uint32_t nchunks;
	uint64_t *tags; /* the callers' tags, grouped by chunk */
	int ret;	/* of the read: bytes, or -errno with @detail */
	char detail[256];
};

/*
 * Windowed, coalesced ranged reads of blobs (fetch.c). dp_fetcher_add() may
 * wait for an I/O buffer; dp_fetcher_flush() issues what the window holds;
 * the consumer frees each fetch with dp_fetch_free(); dp_fetcher_drain()
 * waits for every read issued. @ix maps pack numbers to pack ids.
 */
struct dp_fetcher;
int dp_fetcher_new(struct dp_job *job, struct dp_repo *repo, struct dp_bufs *bufs,
		   const struct dp_chunkidx *ix, struct dp_queue *out, struct dp_fetcher **f);
int dp_fetcher_add(struct dp_fetcher *f, const uint8_t id[DP_ID_LEN], const struct dp_loc *loc,
		   uint64_t tag);
int dp_fetcher_flush(struct dp_fetcher *f);
void dp_fetcher_drain(struct dp_fetcher *f);
void dp_fetcher_wake(struct dp_fetcher *f);
void dp_fetch_free(struct dp_fetch *x);
void dp_fetcher_free(struct dp_fetcher *f);

#endif /* FERRY_DP_FETCH_H */
