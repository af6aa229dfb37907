// SPDX-License-Identifier: MIT
/*
 * bench/scen_read.c - read: a device or file read as the backup's reader
 * reads it, with io_uring, O_DIRECT and registered buffers, --concurrency
 * reads of --block-size in flight (default 32 x 1 MiB). The whole source is
 * read, holes included (a hole reads as zeros), from one thread.
 *
 * If io_uring is refused the reads go through pread(2); if O_DIRECT is
 * refused (ramfs, some FUSE), through the page cache; either with a notice,
 * and detail.io_mode says which ran.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include <liburing.h>

#include "bench.h"
#include "control/cli/cli.h"

#define READ_ALIGN 4096

struct rd_slot {
	uint64_t off;
	size_t len, got;
	double t0;
	bool busy;
};

struct rd {
	struct bench_stage *st;
	int fd;
	bool direct, fixed;
	uint64_t size, nunits;
	size_t bs;
	unsigned int qd;
	uint8_t *bufs;
	struct rd_slot *slots;
	struct io_uring ring;
};

static int rd_open(struct rd *r, const char *path)
{
	struct stat sb;
	int ret;

	r->direct = true;
	r->fd = open(path, O_RDONLY | O_DIRECT | O_CLOEXEC);
	if (r->fd < 0 && errno == EINVAL) {
		ctl_log(CTL_LOG_WARN,
			"bench read: O_DIRECT refused on %s: reading through the page cache", path);
		r->direct = false;
		r->fd = open(path, O_RDONLY | O_CLOEXEC);
	}
	if (r->fd < 0) {
		ret = -errno;
		return bench_stage_fail(r->st, ret, "cannot open %s: %s", path, strerror(-ret));
	}
	if (fstat(r->fd, &sb)) {
		ret = -errno;
		return bench_stage_fail(r->st, ret, "cannot stat %s: %s", path, strerror(-ret));
	}
	if (S_ISBLK(sb.st_mode)) {
		if (ioctl(r->fd, BLKGETSIZE64, &r->size)) {
			ret = -errno;
			return bench_stage_fail(r->st, ret, "%s: BLKGETSIZE64: %s", path,
						strerror(-ret));
		}
	} else if (S_ISREG(sb.st_mode)) {
		r->size = (uint64_t)sb.st_size;
	} else {
		return bench_stage_fail(r->st, -EINVAL, "%s is neither a block device nor a file",
					path);
	}
	if (!r->size)
		return bench_stage_fail(r->st, -EINVAL, "%s is empty", path);
	return 0;
}

/* The next read for @s; false when there is none. */
static bool rd_next(struct rd *r, struct rd_slot *s)
{
	uint64_t u, off;

	if (!bench_stage_next_unit(r->st, r->nunits, &u))
		return false;
	off = (u % r->nunits) * r->bs;
	s->off = off;
	s->len = r->size - off < r->bs ? (size_t)(r->size - off) : r->bs;
	s->got = 0;
	s->t0 = bench_now();
	return true;
}

static void rd_prep(struct rd *r, unsigned int i)
{
	struct rd_slot *s = &r->slots[i];
	struct io_uring_sqe *sqe = io_uring_get_sqe(&r->ring);
	size_t len = s->len - s->got;
	uint8_t *buf = r->bufs + (size_t)i * r->bs + s->got;

	if (r->direct) /* O_DIRECT lengths are whole blocks; EOF ends the read short */
		len = (len + READ_ALIGN - 1) & ~(size_t)(READ_ALIGN - 1);
	if (r->fixed)
		io_uring_prep_read_fixed(sqe, r->fd, buf, (unsigned int)len, s->off + s->got,
					 (int)i);
	else
		io_uring_prep_read(sqe, r->fd, buf, (unsigned int)len, s->off + s->got);
	io_uring_sqe_set_data64(sqe, i);
	s->busy = true;
}

static int rd_uring(struct rd *r)
{
	struct bench_stage *st = r->st;
	unsigned int i, inflight = 0;
	int ret;

	for (i = 0; i < r->qd; i++) {
		if (!rd_next(r, &r->slots[i]))
			break;
		rd_prep(r, i);
		inflight++;
	}
	/* after a failure, no new reads: the ones in flight are reaped first */
	while (inflight) {
		struct io_uring_cqe *cqe;

		ret = io_uring_submit_and_wait(&r->ring, 1);
		if (ret < 0 && ret != -EINTR)
			return bench_stage_fail(st, ret, "io_uring: %s", strerror(-ret));
		while (io_uring_peek_cqe(&r->ring, &cqe) == 0) {
			struct rd_slot *s;
			int res = cqe->res;

			i = (unsigned int)io_uring_cqe_get_data64(cqe);
			io_uring_cqe_seen(&r->ring, cqe);
			s = &r->slots[i];
			s->busy = false;
			inflight--;
			if (res <= 0) {
				bench_stage_fail(st, res < 0 ? res : -EIO, "read at %llu: %s",
						 (unsigned long long)(s->off + s->got),
						 res < 0 ? strerror(-res) : "unexpected end");
				continue;
			}
			s->got += (size_t)res;
			if (s->got > s->len)
				s->got = s->len;
			if (s->got < s->len) { /* short read: the rest */
				if (!st->failed) {
					rd_prep(r, i);
					inflight++;
				}
				continue;
			}
			bench_lat_add(&st->lat, bench_now() - s->t0);
			st->progress += s->len;
			st->objects++;
			if (rd_next(r, s)) {
				rd_prep(r, i);
				inflight++;
			}
		}
		bench_stage_tick(st, st->progress);
	}
	return st->err;
}

static int rd_pread(struct rd *r)
{
	struct bench_stage *st = r->st;
	struct rd_slot *s = &r->slots[0];

	while (rd_next(r, s)) {
		while (s->got < s->len) {
			size_t len = s->len - s->got;
			ssize_t n;

			if (r->direct)
				len = (len + READ_ALIGN - 1) & ~(size_t)(READ_ALIGN - 1);
			n = pread(r->fd, r->bufs + s->got, len, (off_t)(s->off + s->got));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				return bench_stage_fail(st, n < 0 ? -errno : -EIO,
							"read at %llu: %s",
							(unsigned long long)(s->off + s->got),
							n < 0 ? strerror(errno) : "unexpected end");
			s->got += (size_t)n;
		}
		bench_lat_add(&st->lat, bench_now() - s->t0);
		st->progress += s->len;
		st->objects++;
		bench_stage_tick(st, st->progress);
	}
	return st->err;
}

int bench_scen_read(struct bench_stage *st)
{
	const struct bench_opts *o = st->o;
	struct rd r = {.st = st, .fd = -1};
	struct iovec *iov = NULL;
	bool uring = false;
	char mode[64];
	int ret;

	r.bs = (size_t)o->block_size;
	r.qd = o->concurrency ? o->concurrency : 32;
	ret = rd_open(&r, o->source);
	if (ret)
		goto out;
	r.nunits = (r.size + r.bs - 1) / r.bs;
	if (posix_memalign((void **)&r.bufs, READ_ALIGN, (size_t)r.qd * r.bs)) {
		ret = bench_stage_fail(st, -ENOMEM, "out of memory for %u x %zu bytes", r.qd, r.bs);
		goto out;
	}
	memset(r.bufs, 0, (size_t)r.qd * r.bs); /* fault the buffers in before the clock */
	r.slots = calloc(r.qd, sizeof(*r.slots));
	iov = calloc(r.qd, sizeof(*iov));
	if (!r.slots || !iov) {
		ret = bench_stage_fail(st, -ENOMEM, "out of memory");
		goto out;
	}
	ret = io_uring_queue_init(r.qd, &r.ring, 0);
	if (ret) {
		ctl_log(CTL_LOG_WARN, "bench read: io_uring unavailable (%s): reading with pread",
			strerror(-ret));
	} else {
		uring = true;
		for (unsigned int i = 0; i < r.qd; i++)
			iov[i] = (struct iovec){r.bufs + (size_t)i * r.bs, r.bs};
		r.fixed = io_uring_register_buffers(&r.ring, iov, r.qd) == 0;
	}
	st->has_lat = true;
	bench_stage_begin(st);
	ret = uring ? rd_uring(&r) : rd_pread(&r);
	bench_stage_end(st, st->progress);
	st->bytes_in = st->progress;
	st->bytes_stored = st->progress;
	snprintf(mode, sizeof(mode), "%s%s", uring ? "io_uring" : "pread",
		 r.direct ? "+O_DIRECT" : " (buffered)");
	cJSON_AddStringToObject(st->detail, "io_mode", mode);
	cJSON_AddStringToObject(st->detail, "source", o->source);
	cJSON_AddNumberToObject(st->detail, "queue_depth", uring ? r.qd : 1);
	cJSON_AddNumberToObject(st->detail, "block_size", (double)r.bs);
	if (uring)
		io_uring_queue_exit(&r.ring);
out:
	if (r.fd >= 0)
		close(r.fd);
	free(iov);
	free(r.slots);
	free(r.bufs);
	return ret;
}
