// SPDX-License-Identifier: MIT
/*
 * datapath/pool.c - the process's memory budget and a job's buffers.
 *
 * The pool is a budget, not memory: a job reserves its share when it starts
 * (waiting while other jobs hold the rest) and maps its own buffers inside
 * that share, so RSS stays bounded by the budget however many jobs run. A
 * job's mapping is cut into two classes with a free list each: chunk buffers
 * (one chunk, page aligned for O_DIRECT, registered with io_uring) and I/O
 * buffers (one pack part or one coalesced ranged read). Each buffer has one
 * owner at a time: the free list, or the stage that got it; a put checks
 * that the buffer is one of the class's and out (assert()), so a double put
 * stops a debug build at once instead of handing one buffer to two owners.
 */
#include <assert.h>
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

/* The index of @buf in @c: it must be one of its buffers, at its start. */
static unsigned int bufclass_index(const struct dp_bufclass *c, const void *buf)
{
	size_t off = (size_t)((const char *)buf - c->base);

	assert((const char *)buf >= c->base && off < (size_t)c->n * c->size);
	assert(off % c->size == 0);
	return (unsigned int)(off / c->size);
}

static int bufclass_init(struct dp_bufclass *c, char *base, size_t size, unsigned int n)
{
	c->base = base;
	c->size = size;
	c->n = n;
	c->free = calloc(n ? n : 1, sizeof(*c->free));
	c->out = calloc(n ? n : 1, sizeof(*c->out));
	if (!c->free || !c->out)
		return -ENOMEM;
	/* the lowest first: they are popped from the top */
	for (unsigned int i = 0; i < n; i++)
		c->free[n - 1 - i] = base + (size_t)i * size;
	c->nfree = n;
	return 0;
}

static void bufclass_fini(struct dp_bufclass *c)
{
	free(c->free);
	free(c->out);
}

/* Pop a free buffer (under the lock): it is out from now on. */
static void *bufclass_pop(struct dp_bufclass *c)
{
	void *buf;
	unsigned int i;

	assert(c->nfree > 0 && c->nfree <= c->n);
	buf = c->free[--c->nfree];
	i = bufclass_index(c, buf);
	assert(!c->out[i]);
	c->out[i] = true;
	return buf;
}

/* Push @buf back (under the lock): only a buffer of the class that is out, once. */
static void bufclass_push(struct dp_bufclass *c, void *buf)
{
	unsigned int i = bufclass_index(c, buf);

	assert(c->out[i] && "buffer put back twice, or never got");
	assert(c->nfree < c->n);
	c->out[i] = false;
	c->free[c->nfree++] = buf;
}

int dp_bufs_init(struct dp_bufs *b, uint64_t budget, size_t chunk_size, size_t io_size,
		 const atomic_bool *stop)
{
	uint64_t io_bytes;
	char *p;
	int ret;

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
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->cond, NULL);
	/* chunk buffers first: dp_bufs_chunk_index() is then a division from the map */
	p = b->map;
	ret = bufclass_init(&b->chunk, p, chunk_size, b->nchunk);
	if (!ret)
		ret = bufclass_init(&b->io, p + (size_t)b->nchunk * chunk_size,
				    io_size ? io_size : 1, b->nio);
	if (ret)
		dp_bufs_fini(b);
	return ret;
}

void dp_bufs_fini(struct dp_bufs *b)
{
	if (b->map) {
		munmap(b->map, b->map_len);
		pthread_mutex_destroy(&b->lock);
		pthread_cond_destroy(&b->cond);
	}
	bufclass_fini(&b->chunk);
	bufclass_fini(&b->io);
	memset(b, 0, sizeof(*b));
}

static void *dp_bufs_get(struct dp_bufs *b, struct dp_bufclass *c)
{
	void *buf = NULL;

	pthread_mutex_lock(&b->lock);
	while (!c->nfree && !atomic_load(b->stop))
		pthread_cond_wait(&b->cond, &b->lock);
	if (c->nfree && !atomic_load(b->stop))
		buf = bufclass_pop(c);
	pthread_mutex_unlock(&b->lock);
	return buf;
}

static void dp_bufs_put(struct dp_bufs *b, struct dp_bufclass *c, void *buf)
{
	pthread_mutex_lock(&b->lock);
	bufclass_push(c, buf);
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

void *dp_bufs_get_chunk(struct dp_bufs *b)
{
	return dp_bufs_get(b, &b->chunk);
}

void *dp_bufs_tryget_chunk(struct dp_bufs *b)
{
	void *buf = NULL;

	pthread_mutex_lock(&b->lock);
	if (b->chunk.nfree)
		buf = bufclass_pop(&b->chunk);
	pthread_mutex_unlock(&b->lock);
	return buf;
}

void *dp_bufs_get_io(struct dp_bufs *b)
{
	assert(b->nio);
	return dp_bufs_get(b, &b->io);
}

void dp_bufs_put_chunk(struct dp_bufs *b, void *buf)
{
	dp_bufs_put(b, &b->chunk, buf);
}

void dp_bufs_put_io(struct dp_bufs *b, void *buf)
{
	dp_bufs_put(b, &b->io, buf);
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
	return bufclass_index(&b->chunk, buf);
}

unsigned int dp_bufs_io_index(const struct dp_bufs *b, const void *buf)
{
	return bufclass_index(&b->io, buf);
}

void *dp_bufs_chunk_at(const struct dp_bufs *b, unsigned int i)
{
	assert(i < b->chunk.n);
	return b->chunk.base + (size_t)i * b->chunk.size;
}
