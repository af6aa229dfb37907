// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_fiemap.c - a file's extent map from FS_IOC_FIEMAP as a
 * struct cbt_source, CBT_FIEMAP_BATCH extents per ioctl
 * (Documentation/filesystems/fiemap.rst).
 *
 * Each ioctl asks for [start, FIEMAP_MAX_OFFSET) and the next one starts at
 * the end of the last extent returned. Filesystems report an extent that
 * begins before fm_start whole (XFS's iomap does), so a batch may overlap the
 * previous one; cbt_diff() clips. FIEMAP_FLAG_SYNC is passed on the first
 * call only: it writes the whole file back, which needs doing once.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include <linux/fiemap.h>
#include <linux/fs.h>

#include "cbt.h"

/* FIEMAP says the physical address does not name the bytes */
#define CBT_FIEMAP_OPAQUE                                                                          \
	(FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC | FIEMAP_EXTENT_ENCODED |                  \
	 FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE |    \
	 FIEMAP_EXTENT_DATA_TAIL)

void cbt_fiemap_extent(uint64_t logical, uint64_t physical, uint64_t length, uint32_t flags,
		       struct cbt_extent *out)
{
	out->logical = logical;
	out->len = length;
	out->space = 0;
	out->phys = physical;
	if (flags & CBT_FIEMAP_OPAQUE)
		out->kind = CBT_OPAQUE;
	else if (flags & FIEMAP_EXTENT_UNWRITTEN)
		out->kind = CBT_ZERO;
	else
		out->kind = CBT_DATA;
}

static int cbt_fiemap_fetch(struct cbt_fiemap *f)
{
	struct fiemap *fm = f->fm;
	const struct fiemap_extent *last;
	uint64_t end;
	int ret;

	memset(fm, 0, sizeof(*fm));
	fm->fm_start = f->start;
	fm->fm_length = FIEMAP_MAX_OFFSET - f->start;
	fm->fm_flags = f->synced ? 0 : FIEMAP_FLAG_SYNC;
	fm->fm_extent_count = CBT_FIEMAP_BATCH;
	if (ioctl(f->fd, FS_IOC_FIEMAP, fm)) {
		ret = -errno;
		if (ret == -EOPNOTSUPP || ret == -ENOTTY || ret == -EBADR)
			return cbt_fail(&f->src.err, -EOPNOTSUPP,
					"%s: the filesystem does not support FIEMAP%s", f->name,
					ret == -EBADR ? " with FIEMAP_FLAG_SYNC" : "");
		return cbt_fail(&f->src.err, ret, "FIEMAP of %s at offset %llu: %s", f->name,
				(unsigned long long)f->start, strerror(-ret));
	}
	f->synced = true;
	f->calls++;
	if (fm->fm_mapped_extents > CBT_FIEMAP_BATCH)
		return cbt_fail(&f->src.err, -EIO, "FIEMAP of %s returned %u extents for %u slots",
				f->name, fm->fm_mapped_extents, CBT_FIEMAP_BATCH);
	f->i = 0;
	f->n = fm->fm_mapped_extents;
	if (!f->n) {
		f->last = true;
		return 0;
	}
	last = &fm->fm_extents[f->n - 1];
	end = last->fe_logical + last->fe_length;
	if ((last->fe_flags & FIEMAP_EXTENT_LAST) || end < last->fe_logical) {
		f->last = true;
	} else if (end <= f->start) {
		/* asking again would return the same: stop rather than loop or skip */
		return cbt_fail(&f->src.err, -EIO, "FIEMAP of %s makes no progress at offset %llu",
				f->name, (unsigned long long)f->start);
	} else {
		f->start = end;
	}
	return 1;
}

static int cbt_fiemap_next(struct cbt_source *src, struct cbt_extent *e)
{
	struct cbt_fiemap *f = (struct cbt_fiemap *)src;
	const struct fiemap_extent *fe;
	int ret;

	if (f->i == f->n) {
		if (f->last)
			return 0;
		ret = cbt_fiemap_fetch(f);
		if (ret <= 0)
			return ret;
	}
	fe = &f->fm->fm_extents[f->i++];
	cbt_fiemap_extent(fe->fe_logical, fe->fe_physical, fe->fe_length, fe->fe_flags, e);
	return 1;
}

int cbt_fiemap_init(struct cbt_fiemap *f, int fd, const char *name)
{
	memset(f, 0, sizeof(*f));
	f->src.next = cbt_fiemap_next;
	f->fd = fd;
	f->name = name;
	f->fm = calloc(1, sizeof(*f->fm) + CBT_FIEMAP_BATCH * sizeof(struct fiemap_extent));
	return f->fm ? 0 : -ENOMEM;
}

void cbt_fiemap_fini(struct cbt_fiemap *f)
{
	free(f->fm);
	f->fm = NULL;
}
