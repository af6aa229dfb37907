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
/* One class of buffers: @n of @size bytes from @base, with a free stack. */
struct dp_bufclass {
	char *base;
	size_t size;
	unsigned int n;
	void **free; /* stack of the free ones */
	unsigned int nfree;
	bool *out; /* out[i]: buffer i is owned by a stage (got, not yet put back) */
};

struct dp_bufs {
	void *map;
	size_t map_len;
	size_t chunk_size, io_size;
	unsigned int nchunk, nio;
	struct dp_bufclass chunk, io;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const atomic_bool *stop;
};

/*
 * @io_size 0: no I/O buffers (a job that uploads and fetches nothing).
 * Return 0, -EINVAL (the budget is too small: dp_last_error()), -ENOMEM.
 */
int dp_bufs_init(struct dp_bufs *b, uint64_t budget, size_t chunk_size, size_t io_size,
		 const atomic_bool *stop);
void dp_bufs_fini(struct dp_bufs *b);
/*
 * Get a buffer: its caller owns it until it puts it back, once. NULL when
 * *stop was set while waiting. A put of a buffer that is not one of the
 * class's, or that is not out (a double put), is a bug: assert()ed.
 */
void *dp_bufs_get_chunk(struct dp_bufs *b);
void *dp_bufs_get_io(struct dp_bufs *b);
/* a chunk buffer if one is free now, else NULL */
void *dp_bufs_tryget_chunk(struct dp_bufs *b);
void dp_bufs_put_chunk(struct dp_bufs *b, void *buf);
void dp_bufs_put_io(struct dp_bufs *b, void *buf);
/* wake every waiter (after setting *stop) */
void dp_bufs_wake(struct dp_bufs *b);
/* index of a chunk buffer, for io_uring fixed buffers; of an I/O buffer */
unsigned int dp_bufs_chunk_index(const struct dp_bufs *b, const void *buf);
unsigned int dp_bufs_io_index(const struct dp_bufs *b, const void *buf);
/* the address of chunk buffer @i (for io_uring's registration) */
void *dp_bufs_chunk_at(const struct dp_bufs *b, unsigned int i);

#endif /* FERRY_DP_POOL_H */
