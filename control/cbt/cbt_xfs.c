// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_xfs.c - the changed blocks between two reflinked image files
 * on XFS, from the physical extents FIEMAP reports for each.
 *
 * OLD is a reflink copy (cp --reflink=always) of the volume taken when the
 * parent snapshot was made from it; NEW is a later reflink copy or the live
 * file. XFS never overwrites a block two files share (a write to it is
 * copy-on-write: the writer gets new blocks), and OLD keeps its blocks
 * referenced, so a range both files map to the same blocks has not changed
 * since OLD was made. Everything else in NEW is listed.
 *
 * Realtime files are refused unless both are realtime: their physical
 * addresses are on another device, and equal numbers would mean nothing.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/fs.h>
#include <linux/magic.h>

#include "cbt.h"
#include "datapath/dp.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif

/* Refuse a file that is not on XFS, naming the producer that fits. */
static int cbt_xfs_check_fs(int fd, const char *what, const char *path, struct cbt_err *e)
{
	struct statfs sfs;
	int ret;

	if (fstatfs(fd, &sfs)) {
		ret = -errno;
		return cbt_fail(e, ret, "%s %s: statfs: %s", what, path, strerror(-ret));
	}
	if (sfs.f_type == XFS_SUPER_MAGIC)
		return 0;
	if (sfs.f_type == BTRFS_SUPER_MAGIC)
		return cbt_fail(e, -EMEDIUMTYPE,
				"%s %s is on btrfs, not XFS: use 'ferry changed-blocks btrfs'",
				what, path);
	return cbt_fail(e, -EMEDIUMTYPE, "%s %s is not on XFS (filesystem magic 0x%llx)", what,
			path, (unsigned long long)sfs.f_type);
}

static int cbt_xfs_realtime(int fd, const char *path, bool *rt, struct cbt_err *e)
{
	struct fsxattr fa;
	int ret;

	memset(&fa, 0, sizeof(fa));
	if (ioctl(fd, FS_IOC_FSGETXATTR, &fa)) {
		ret = -errno;
		return cbt_fail(e, ret, "%s: FS_IOC_FSGETXATTR: %s", path, strerror(-ret));
	}
	*rt = fa.fsx_xflags & FS_XFLAG_REALTIME;
	return 0;
}

int cbt_xfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e)
{
	struct cbt_fiemap fo = {.fm = NULL}, fn = {.fm = NULL};
	struct stat so, sn, so2, sn2;
	int fdo = -1, fdn = -1, ret;
	bool rto = false, rtn = false;

	ret = cbt_open_file(req->old, "OLD", &fdo, &so, e);
	if (ret)
		goto out;
	ret = cbt_open_file(req->new, "NEW", &fdn, &sn, e);
	if (ret)
		goto out;
	ret = cbt_xfs_check_fs(fdo, "OLD", req->old, e);
	if (!ret)
		ret = cbt_xfs_check_fs(fdn, "NEW", req->new, e);
	if (ret)
		goto out;
	if (so.st_dev != sn.st_dev) {
		ret = cbt_fail(
			e, -EXDEV,
			"OLD %s and NEW %s are on different filesystems: their extents cannot be compared",
			req->old, req->new);
		goto out;
	}
	if (so.st_ino == sn.st_ino) {
		ret = cbt_fail(e, -EINVAL, "OLD and NEW are the same file (%s)", req->new);
		goto out;
	}
	ret = cbt_xfs_realtime(fdo, req->old, &rto, e);
	if (!ret)
		ret = cbt_xfs_realtime(fdn, req->new, &rtn, e);
	if (ret)
		goto out;
	if (rto != rtn) {
		ret = cbt_fail(
			e, -EXDEV,
			"one of OLD and NEW is a realtime file and the other is not: they share no blocks");
		goto out;
	}
	ret = cbt_fiemap_init(&fo, fdo, req->old);
	if (!ret)
		ret = cbt_fiemap_init(&fn, fdn, req->new);
	if (ret) {
		ret = cbt_fail(e, ret, "out of memory");
		goto out;
	}
	req->method_used = "fiemap";
	req->old_size = (uint64_t)so.st_size;
	ret = cbt_diff(&fo.src, &fn.src, (uint64_t)so.st_size, (uint64_t)sn.st_size, out,
		       &req->stats, e);
	req->stats.calls += fo.calls + fn.calls;
	if (ret)
		goto out;
	/* a file written while its map was read gives a list of no moment in time */
	if (fstat(fdo, &so2) || fstat(fdn, &sn2)) {
		ret = -errno;
		cbt_fail(e, ret, "fstat: %s", strerror(-ret));
		goto out;
	}
	if (cbt_stat_changed(&so, &so2) || cbt_stat_changed(&sn, &sn2)) {
		ret = cbt_fail(
			e, -ESTALE,
			"%s changed while it was compared: compare a reflink copy of the live file, or freeze the filesystem (fsfreeze)",
			cbt_stat_changed(&so, &so2) ? req->old : req->new);
		goto out;
	}
	out->size = (uint64_t)sn.st_size;
out:
	cbt_fiemap_fini(&fo);
	cbt_fiemap_fini(&fn);
	if (fdo >= 0)
		close(fdo);
	if (fdn >= 0)
		close(fdn);
	return ret;
}
