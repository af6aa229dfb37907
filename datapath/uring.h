/* SPDX-License-Identifier: MIT */
/*
 * datapath/uring.h - an io_uring for one pipeline thread (uring.c). Private to
 * datapath/.
 */
#ifndef FERRY_DP_URING_H
#define FERRY_DP_URING_H

#include "pool.h"

/* io_uring, shared by the reader of backup and the writer of restore */
struct io_uring;
struct dp_ring {
	struct io_uring *ring;
	bool fixed; /* chunk buffers registered: READ_FIXED/WRITE_FIXED */
	unsigned int depth;
};

/* -ENOSYS/-EPERM/...: io_uring cannot be used here (the caller falls back) */
int dp_ring_init(struct dp_ring *r, unsigned int depth);
/*
 * Register @bufs' chunk buffers (before dp_ring_enable()): only for O_DIRECT
 * I/O, where it saves pinning each buffer per I/O. Registering pins and faults
 * in every chunk buffer at once (128 MiB at the default budget: about 0.06 s
 * and as much RSS), for nothing when the I/O goes through the page cache. A
 * refusal (RLIMIT_MEMLOCK) leaves unregistered I/O, which works.
 */
void dp_ring_register(struct dp_ring *r, struct dp_bufs *bufs);
/* On the thread that uses the ring, before its first submission. */
int dp_ring_enable(struct dp_ring *r);
void dp_ring_fini(struct dp_ring *r);

#endif /* FERRY_DP_URING_H */
