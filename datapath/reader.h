/* SPDX-License-Identifier: MIT */
/*
 * datapath/reader.h - reading and hashing a volume in order (reader.c): the
 * reader thread, the hashing workers and the order ring that backup and
 * verify share. Private to datapath/.
 */
#ifndef FERRY_DP_READER_H
#define FERRY_DP_READER_H

#include "blkdev.h"
#include "chunkidx.h"
#include "crypt.h"
#include "manifest.h"
#include "pool.h"

struct dp_job;

/* One place of the volume, in order: a chunk, or a run of zero chunks. */
struct dp_slot {
	bool zero;
	uint64_t count; /* zero: chunks in the run; else 1 */
	uint8_t id[DP_ID_LEN];
};

/*
 * A chunk that is not all zeros, hashed, on worker @worker (0 .. threads-1):
 * @buf holds @len bytes of the volume at @off. Return 0, or -errno after
 * failing the job (dp_job_fail()) with what failed.
 */
typedef int (*dp_reader_chunk_fn)(void *arg, unsigned int worker, const uint8_t id[DP_ID_LEN],
				  const void *buf, uint32_t len, uint64_t off);
/*
 * The next place of the volume, in order, on the reader's order thread.
 * Return 0, or -errno after failing the job (-ECANCELED: it was stopped).
 */
typedef int (*dp_reader_slot_fn)(void *arg, const struct dp_slot *s);

/**
 * struct dp_reader_opts - what to read and what to do with it
 * @job:         the job the threads belong to: its @stop, its counters
 *               (bytes_read, bytes_done, bytes_zero, chunks_zero, chunks_total,
 *               bytes_unchanged) and its first failure
 * @dev:         the source, borrowed until dp_reader_free()
 * @bufs:        the job's buffers: one chunk buffer per chunk read
 * @keys:        chunk ids: SHA-256, or HMAC-SHA256 with the id key
 * @threads:     hashing workers
 * @queue_depth: reads in flight (0: half the chunk buffers, at most 64)
 * @no_uring:    pread instead of io_uring
 * @chunk:       called for every chunk that is not all zeros (NULL: hash only)
 * @slot:        called for every place in volume order (required)
 * @parent, @parent_size, @changed, @ix: incremental backups: the chunks
 *               @changed (sorted, merged) does not touch are not read, their
 *               references come from the cursor @parent (a snapshot of
 *               @parent_size bytes), and each must be in @ix
 */
struct dp_reader_opts {
	struct dp_job *job;
	struct dp_dev *dev;
	struct dp_bufs *bufs;
	const struct dp_keys *keys;
	unsigned int threads;
	unsigned int queue_depth;
	bool no_uring;
	dp_reader_chunk_fn chunk;
	dp_reader_slot_fn slot;
	void *arg;
	struct dp_parent *parent;
	uint64_t parent_size;
	const struct dp_cbl *changed;
	struct dp_chunkidx *ix;
};

struct dp_reader;

/*
 * dp_reader_new() - set up the reader: its order ring, work queue, hashers and
 * its ring (io_uring unless refused: then pread with a notice). On the job's
 * thread, once its buffers exist. Return 0, -ENOMEM.
 */
int dp_reader_new(const struct dp_reader_opts *o, struct dp_reader **out);
/* "io_uring+O_DIRECT", "pread (buffered)", ... */
const char *dp_reader_io_mode(const struct dp_reader *r);
/* reads in flight at most */
unsigned int dp_reader_queue_depth(const struct dp_reader *r);
/*
 * dp_reader_run() - read the whole volume: the reader thread, the workers
 * and the order thread run until every place was handed to @slot, or the
 * job stopped. Returns when they all ended.
 */
void dp_reader_run(struct dp_reader *r);
/* wake every wait of the reader's threads (after the job's stop was set) */
void dp_reader_wake(struct dp_reader *r);
/* NULL ok; after dp_reader_run() returned, and before the job's buffers go */
void dp_reader_free(struct dp_reader *r);

#endif /* FERRY_DP_READER_H */
