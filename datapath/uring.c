// SPDX-License-Identifier: MIT
/*
 * datapath/uring.c - setting up io_uring for one pipeline thread.
 *
 * The ring is used by one thread only, so it asks for
 * IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN (6.1 and newer:
 * completions are run when that thread waits, not by interrupts) and falls
 * back to a plain ring on older kernels (-EINVAL). A single-issuer ring
 * belongs to the task that creates it, yet it is set up by the job's
 * starter (so that a refusal turns into the pread fallback before the job
 * runs): it is created disabled (IORING_SETUP_R_DISABLED, 5.10) and the
 * pipeline thread enables it, becoming its issuer. For O_DIRECT I/O the
 * job's chunk buffers are registered so reads and writes skip the per-I/O
 * page pinning; a process over RLIMIT_MEMLOCK (a non-root user) gets
 * unregistered I/O.
 */
#include <assert.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <liburing.h>

#include "pool.h"
#include "uring.h"

int dp_ring_init(struct dp_ring *r, unsigned int depth)
{
	struct io_uring_params p;
	int ret;

	memset(r, 0, sizeof(*r));
	r->ring = calloc(1, sizeof(*r->ring));
	if (!r->ring)
		return -ENOMEM;
	r->depth = depth;
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_R_DISABLED;
	ret = io_uring_queue_init_params(depth, r->ring, &p);
	if (ret == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		ret = io_uring_queue_init_params(depth, r->ring, &p);
	}
	if (ret) {
		free(r->ring);
		r->ring = NULL;
		return ret;
	}
	return 0;
}

void dp_ring_register(struct dp_ring *r, struct dp_bufs *bufs)
{
	struct iovec *iov;
	int ret;

	assert(r->ring && !r->fixed);
	iov = calloc(bufs->nchunk, sizeof(*iov));
	if (!iov)
		return; /* unregistered I/O still works */
	for (unsigned int i = 0; i < bufs->nchunk; i++) {
		iov[i].iov_base = dp_bufs_chunk_at(bufs, i);
		iov[i].iov_len = bufs->chunk_size;
	}
	ret = io_uring_register_buffers(r->ring, iov, bufs->nchunk);
	if (ret)
		pr_debug("io_uring: buffers not registered (%s): unregistered I/O", strerror(-ret));
	r->fixed = ret == 0;
	free(iov);
}

int dp_ring_enable(struct dp_ring *r)
{
	/* io_uring_enable_rings() is declared by liburing 2.3 but not exported by it */
	if (syscall(__NR_io_uring_register, r->ring->ring_fd, IORING_REGISTER_ENABLE_RINGS, NULL,
		    0))
		return -errno;
	return 0;
}

void dp_ring_fini(struct dp_ring *r)
{
	if (!r->ring)
		return;
	io_uring_queue_exit(r->ring);
	free(r->ring);
	r->ring = NULL;
}
