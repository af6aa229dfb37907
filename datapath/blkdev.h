/* SPDX-License-Identifier: MIT */
/*
 * datapath/blkdev.h - sources and targets: block devices and image files (blkdev.c).
 * Private to datapath/.
 */
#ifndef FERRY_DP_BLKDEV_H
#define FERRY_DP_BLKDEV_H

#include "dp_int.h"

struct dp_dev {
	int fd;		 /* O_DIRECT if direct */
	int fd_buffered; /* for unaligned tails; -1 until needed */
	char *path;
	uint64_t size;
	bool is_blk;
	bool direct;
	bool created;	    /* restore: we created the file (sparse, all holes) */
	unsigned int align; /* O_DIRECT alignment (logical block size) */
};

int dp_dev_open_source(struct dp_dev *d, const char *path, bool no_direct);
/*
 * dp_dev_check_target() - whether @path can take a volume of @size bytes,
 * changing nothing (no file is created, none truncated): an existing block
 * device must hold @size and not be in use, an existing file must open for
 * writing, a missing file's directory must exist. 0, or -errno with
 * dp_last_error() (-ENOENT, -EBUSY, -EFBIG, -EACCES, -EINVAL).
 */
int dp_dev_check_target(const char *path, uint64_t size);
/* The target opened for writing: a file is created (sparse) or truncated to @size. */
int dp_dev_open_target(struct dp_dev *d, const char *path, uint64_t size, bool no_direct);
/*
 * The target of a delta apply opened for writing as it is: it must exist (a
 * block device of at least @size bytes, or a file, whose size is left to the
 * caller); nothing is created or truncated. 0, or -errno with dp_last_error().
 */
int dp_dev_open_existing(struct dp_dev *d, const char *path, uint64_t size, bool no_direct);
void dp_dev_close(struct dp_dev *d);
/*
 * Turn O_DIRECT off on an open device after an I/O was refused with EINVAL
 * (filesystems that accept the open but not the I/O). 0 or -errno.
 */
int dp_dev_drop_direct(struct dp_dev *d);
/*
 * Whether I/O on @d reaches the device without the page cache, so that
 * registered (pinned) buffers save work: O_DIRECT on a block device or on a
 * filesystem that honours it. tmpfs takes O_DIRECT (Linux 6.6+) yet copies
 * through its page cache like any buffered write.
 */
bool dp_dev_bypasses_cache(const struct dp_dev *d);
/* zero [off, off+len) on the target: punch a hole (a device too; BLKZEROOUT where it cannot) */
int dp_dev_zero(struct dp_dev *d, uint64_t off, uint64_t len);

#endif /* FERRY_DP_BLKDEV_H */
