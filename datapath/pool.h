/* SPDX-License-Identifier: MIT */
/*
 * datapath/pool.h - the memory budget's private side and a job's buffers (pool.c).
 * Private to datapath/.
 */
#ifndef FERRY_DP_POOL_H
#define FERRY_DP_POOL_H

#include "dp_int.h"

/* Reserve @bytes of the pool, waiting while other jobs hold it; -ECANCELED if *@stop. */
int dp_pool_reserve(struct dp_pool *pool, uint64_t bytes, const atomic_bool *stop);
void dp_pool_unreserve(struct dp_pool *pool, uint64_t bytes);
uint64_t dp_pool_size(const struct dp_pool *pool);

/*
 * A job's buffers: one aligned mapping carved into @nchunk chunk buffers
 * (chunk_size each, registered with io_uring) and @nio I/O buffers (io_size
 * each: pack parts, ranged reads). Each class has a free list; get waits.
 */
struct dp_bufs {
	void *map;
	size_t map_len;
	size_t chunk_size, io_size;
	unsigned int nchunk, nio;
	void **chunk_free, **io_free; /* stacks */
	unsigned int chunk_nfree, io_nfree;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const atomic_bool *stop;
};

int dp_bufs_init(struct dp_bufs *b, uint64_t budget, size_t chunk_size, size_t io_size,
		 const atomic_bool *stop);
void dp_bufs_fini(struct dp_bufs *b);
/* NULL when *stop was set while waiting */
void *dp_bufs_get_chunk(struct dp_bufs *b);
void *dp_bufs_get_io(struct dp_bufs *b);
/* a chunk buffer if one is free now, else NULL */
void *dp_bufs_tryget_chunk(struct dp_bufs *b);
void dp_bufs_put_chunk(struct dp_bufs *b, void *buf);
void dp_bufs_put_io(struct dp_bufs *b, void *buf);
/* wake every waiter (after setting *stop) */
void dp_bufs_wake(struct dp_bufs *b);
/* index of a chunk buffer, for io_uring fixed buffers */
unsigned int dp_bufs_chunk_index(const struct dp_bufs *b, const void *buf);

#endif /* FERRY_DP_POOL_H */
