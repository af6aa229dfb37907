// SPDX-License-Identifier: MIT
/*
 * datapath/pool.c - the process's memory budget and a job's buffers.
 *
 * The pool is a budget, not memory: a job reserves its share when it starts
 * (waiting while other jobs hold the rest) and maps its own buffers inside
 * that share, so RSS stays bounded by the budget however many jobs run. A
 * job's mapping is cut into two classes with a free list each: chunk buffers
 * (one chunk, page aligned for O_DIRECT, registered with io_uring) and I/O
 * buffers (one pack part or one coalesced ranged read).
 */
#include <stdlib.h>
#include <sys/mman.h>

#include "pool.h"

struct dp_pool {
	uint64_t size;
	uint64_t used;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

int dp_pool_new(uint64_t bytes, struct dp_pool **out)
{
	struct dp_pool *p;

	*out = NULL;
	if (bytes < DP_MEMORY_MIN)
		return dp_fail(-EINVAL, "memory budget %llu MiB is below the minimum of %llu MiB",
			       (unsigned long long)(bytes >> 20),
			       (unsigned long long)(DP_MEMORY_MIN >> 20));
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->size = bytes;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	*out = p;
	return 0;
}

void dp_pool_free(struct dp_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_destroy(&pool->lock);
	pthread_cond_destroy(&pool->cond);
	free(pool);
}

uint64_t dp_pool_size(const struct dp_pool *pool)
{
	return pool->size;
}

int dp_pool_reserve(struct dp_pool *pool, uint64_t bytes, const atomic_bool *stop)
{
	int ret = 0;

	if (bytes > pool->size)
		return -EINVAL;
	pthread_mutex_lock(&pool->lock);
	while (pool->used + bytes > pool->size) {
		struct timespec ts;

		if (atomic_load(stop)) {
			ret = -ECANCELED;
			break;
		}
		/* poll @stop every 100 ms: cancelling is rare, a wake-up list is not worth it */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&pool->cond, &pool->lock, &ts);
	}
	if (!ret)
		pool->used += bytes;
	pthread_mutex_unlock(&pool->lock);
	return ret;
}

void dp_pool_unreserve(struct dp_pool *pool, uint64_t bytes)
{
	pthread_mutex_lock(&pool->lock);
	pool->used -= bytes;
	pthread_cond_broadcast(&pool->cond);
	pthread_mutex_unlock(&pool->lock);
}

int dp_bufs_init(struct dp_bufs *b, uint64_t budget, size_t chunk_size, size_t io_size,
		 const atomic_bool *stop)
{
	uint64_t io_bytes;
	char *p;

	memset(b, 0, sizeof(*b));
	b->chunk_size = chunk_size;
	b->io_size = io_size;
	b->stop = stop;
	/* half the budget for I/O buffers (at least 2, none if @io_size is 0), the rest for chunks */
	b->nio = io_size ? (unsigned int)(budget / 2 / io_size) : 0;
	if (io_size && b->nio < 2)
		b->nio = 2;
	if (b->nio > 64)
		b->nio = 64;
	io_bytes = (uint64_t)b->nio * io_size;
	if (io_bytes + 8 * chunk_size > budget)
		return dp_fail(
			-EINVAL,
			"memory budget of %llu MiB is too small for %zu MiB parts and %zu KiB chunks",
			(unsigned long long)(budget >> 20), io_size >> 20, chunk_size >> 10);
	b->nchunk = (unsigned int)((budget - io_bytes) / chunk_size);
	if (b->nchunk > 4096)
		b->nchunk = 4096;
	b->map_len = (size_t)io_bytes + (size_t)b->nchunk * chunk_size;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (b->map == MAP_FAILED) {
		b->map = NULL;
		return -ENOMEM;
	}
	b->chunk_free = calloc(b->nchunk, sizeof(void *));
	b->io_free = calloc(b->nio ? b->nio : 1, sizeof(void *));
	if (!b->chunk_free || !b->io_free) {
		dp_bufs_fini(b);
		return -ENOMEM;
	}
	/* chunk buffers first: dp_bufs_chunk_index() is then a division */
	p = b->map;
	for (unsigned int i = 0; i < b->nchunk; i++)
		b->chunk_free[b->nchunk - 1 - i] = p + (size_t)i * chunk_size;
	p += (size_t)b->nchunk * chunk_size;
	for (unsigned int i = 0; i < b->nio; i++)
		b->io_free[i] = p + (size_t)i * io_size;
	b->chunk_nfree = b->nchunk;
	b->io_nfree = b->nio;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	return 0;
}

void dp_bufs_fini(struct dp_bufs *b)
{
	if (b->map) {
		munmap(b->map, b->map_len);
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	free(b->chunk_free);
	free(b->io_free);
	memset(b, 0, sizeof(*b));
}

static void *dp_bufs_get(struct dp_bufs *b, void **stack, unsigned int *nfree)
{
	void *buf = NULL;

	pthread_mutex_lock(&b->lock);
	while (!*nfree && !atomic_load(b->stop))
		pthread_cond_wait(&b->cond, &b->lock);
	if (*nfree && !atomic_load(b->stop))
		buf = stack[--*nfree];
	pthread_mutex_unlock(&b->lock);
	return buf;
}

static void dp_bufs_put(struct dp_bufs *b, void **stack, unsigned int *nfree, void *buf)
{
	pthread_mutex_lock(&b->lock);
	stack[(*nfree)++] = buf;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void *dp_bufs_get_chunk(struct dp_bufs *b)
{
	return dp_bufs_get(b, b->chunk_free, &b->chunk_nfree);
}

void *dp_bufs_tryget_chunk(struct dp_bufs *b)
{
	void *buf = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->chunk_nfree)
		buf = b->chunk_free[--b->chunk_nfree];
	pthread_mutex_unlock(&b->lock);
	return buf;
}

void *dp_bufs_get_io(struct dp_bufs *b)
{
	return dp_bufs_get(b, b->io_free, &b->io_nfree);
}

void dp_bufs_put_chunk(struct dp_bufs *b, void *buf)
{
	dp_bufs_put(b, b->chunk_free, &b->chunk_nfree, buf);
}

void dp_bufs_put_io(struct dp_bufs *b, void *buf)
{
	dp_bufs_put(b, b->io_free, &b->io_nfree, buf);
}

void dp_bufs_wake(struct dp_bufs *b)
{
	if (!b->map)
		return;
	pthread_mutex_lock(&b->lock);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

unsigned int dp_bufs_chunk_index(const struct dp_bufs *b, const void *buf)
{
	return (unsigned int)(((const char *)buf - (const char *)b->map) / b->chunk_size);
}
