// SPDX-License-Identifier: MIT
/*
 * datapath/blkdev.c - sources and targets: block devices and image files.
 *
 * O_DIRECT is asked for first; a filesystem that refuses it (EINVAL: ramfs,
 * some FUSE filesystems) gets buffered I/O and a one-line notice. A block
 * device restored onto is opened with O_EXCL, which the kernel refuses with
 * EBUSY while the device is mounted or held by another exclusive user.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "blkdev.h"

#define DP_FILE_ALIGN 4096

static int dev_stat(const char *path, struct stat *sb, const char *what)
{
	if (stat(path, sb))
		return dp_fail(-errno, "%s %s: %s", what, path, strerror(errno));
	if (!S_ISREG(sb->st_mode) && !S_ISBLK(sb->st_mode))
		return dp_fail(-EINVAL, "%s %s is neither a block device nor a regular file", what,
			       path);
	return 0;
}

static int dev_blk_geometry(struct dp_dev *d)
{
	uint64_t size;
	int ssz;

	if (ioctl(d->fd, BLKGETSIZE64, &size))
		return dp_fail(-errno, "%s: BLKGETSIZE64: %s", d->path, strerror(errno));
	if (ioctl(d->fd, BLKSSZGET, &ssz) || ssz <= 0)
		ssz = 512;
	d->size = size;
	d->align = (unsigned int)ssz;
	return 0;
}

/*
 * open(2), but a block device opened O_EXCL that is busy is tried again for
 * up to DEV_BUSY_WAIT_MS: a writer killed a moment ago holds it until its
 * io_uring's teardown (a kernel worker, after the process is gone) drops the
 * files of the requests it had in flight. Return: the fd; -1 with errno.
 */
#define DEV_BUSY_WAIT_MS 1000
#define DEV_BUSY_STEP_MS 20
static int open_excl(const char *path, int flags)
{
	int fd = open(path, flags);

	for (int waited = 0;
	     fd < 0 && errno == EBUSY && (flags & O_EXCL) && waited < DEV_BUSY_WAIT_MS;
	     waited += DEV_BUSY_STEP_MS) {
		usleep(DEV_BUSY_STEP_MS * 1000);
		fd = open(path, flags);
	}
	return fd;
}

/* open @path with O_DIRECT if allowed, else buffered; returns fd or -errno */
static int dev_open(struct dp_dev *d, int flags, bool no_direct)
{
	int fd;

	d->direct = false;
	if (!no_direct) {
		fd = open_excl(d->path, flags | O_DIRECT | O_CLOEXEC);
		if (fd >= 0) {
			d->direct = true;
			return fd;
		}
		if (errno != EINVAL)
			return -errno;
		pr_warn("notice: %s refuses O_DIRECT: using buffered I/O", d->path);
	}
	fd = open_excl(d->path, flags | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

bool dp_dev_bypasses_cache(const struct dp_dev *d)
{
	struct statfs fs;

	if (!d->direct)
		return false;
	if (d->is_blk)
		return true;
	return fstatfs(d->fd, &fs) || fs.f_type != TMPFS_MAGIC;
}

int dp_dev_open_source(struct dp_dev *d, const char *path, bool no_direct)
{
	struct stat sb;
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = d->fd_buffered = -1;
	ret = dev_stat(path, &sb, "source");
	if (ret)
		return ret;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	d->is_blk = S_ISBLK(sb.st_mode);
	d->fd = dev_open(d, O_RDONLY, no_direct);
	if (d->fd < 0) {
		ret = dp_fail(d->fd, "source %s: %s", path, strerror(-d->fd));
		goto out_close;
	}
	if (d->is_blk) {
		ret = dev_blk_geometry(d);
		if (ret)
			goto out_close;
	} else {
		d->size = (uint64_t)sb.st_size;
		d->align = DP_FILE_ALIGN;
	}
	return 0;
out_close:
	dp_dev_close(d);
	return ret;
}

int dp_dev_check_target(const char *path, uint64_t size)
{
	struct stat sb;
	struct dp_dev d = {.fd = -1, .fd_buffered = -1};
	char *dir, *slash;
	int ret = 0;

	if (stat(path, &sb)) {
		if (errno != ENOENT)
			return dp_fail(-errno, "target %s: %s", path, strerror(errno));
		/* a new image file: its directory must be there */
		dir = strdup(path);
		if (!dir)
			return -ENOMEM;
		slash = strrchr(dir, '/');
		if (slash)
			*(slash == dir ? slash + 1 : slash) = '\0';
		if (stat(slash ? dir : ".", &sb))
			ret = dp_fail(-ENOENT, "target %s: %s", path, strerror(ENOENT));
		else if (!S_ISDIR(sb.st_mode))
			ret = dp_fail(-ENOTDIR, "target %s: %s", path, strerror(ENOTDIR));
		free(dir);
		return ret;
	}
	ret = dev_stat(path, &sb, "target");
	if (ret)
		return ret;
	/* open it as the restore will, but neither create nor truncate */
	d.path = (char *)path;
	d.is_blk = S_ISBLK(sb.st_mode);
	d.fd = open_excl(path, (d.is_blk ? O_WRONLY | O_EXCL : O_WRONLY) | O_CLOEXEC);
	if (d.fd < 0) {
		if (errno == EBUSY)
			return dp_fail(
				-EBUSY,
				"target %s is in use (mounted or held open exclusively); unmount it first",
				path);
		return dp_fail(-errno, "target %s: %s", path, strerror(errno));
	}
	if (d.is_blk) {
		ret = dev_blk_geometry(&d);
		if (!ret && d.size < size)
			ret = dp_fail(-EFBIG, "target %s has %llu bytes, the volume %llu", path,
				      (unsigned long long)d.size, (unsigned long long)size);
	}
	close(d.fd);
	return ret;
}

/* @keep: the target must exist and is neither created nor truncated (a delta apply) */
static int dev_open_target(struct dp_dev *d, const char *path, uint64_t size, bool no_direct,
			   bool keep)
{
	struct stat sb;
	int ret;

	memset(d, 0, sizeof(*d));
	d->fd = d->fd_buffered = -1;
	d->path = strdup(path);
	if (!d->path)
		return -ENOMEM;
	if (!keep && stat(path, &sb) && errno == ENOENT) {
		/* a new image file: created sparse at the volume's size */
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);

		if (fd < 0) {
			ret = dp_fail(-errno, "target %s: %s", path, strerror(errno));
			goto out_close;
		}
		close(fd);
		d->created = true;
	}
	ret = dev_stat(path, &sb, "target");
	if (ret)
		goto out_close;
	d->is_blk = S_ISBLK(sb.st_mode);
	d->fd = dev_open(d, d->is_blk ? O_WRONLY | O_EXCL : O_WRONLY, no_direct);
	if (d->fd < 0) {
		if (d->fd == -EBUSY)
			ret = dp_fail(
				-EBUSY,
				"target %s is in use (mounted or held open exclusively); unmount it first",
				path);
		else
			ret = dp_fail(d->fd, "target %s: %s", path, strerror(-d->fd));
		goto out_close;
	}
	if (d->is_blk) {
		ret = dev_blk_geometry(d);
		if (ret)
			goto out_close;
		if (d->size < size) {
			ret = dp_fail(-EFBIG, "target %s has %llu bytes, the volume %llu", path,
				      (unsigned long long)d->size, (unsigned long long)size);
			goto out_close;
		}
	} else if (keep) {
		d->size = (uint64_t)sb.st_size;
		d->align = DP_FILE_ALIGN;
	} else {
		/*
		 * An image file becomes exactly the volume: emptied first, so that
		 * every chunk not written is a hole and reads as zeros.
		 */
		if (ftruncate(d->fd, 0) || ftruncate(d->fd, (off_t)size)) {
			ret = dp_fail(-errno, "target %s: truncate: %s", path, strerror(errno));
			goto out_close;
		}
		d->created = true;
		d->size = size;
		d->align = DP_FILE_ALIGN;
	}
	return 0;
out_close:
	dp_dev_close(d);
	return ret;
}

int dp_dev_open_target(struct dp_dev *d, const char *path, uint64_t size, bool no_direct)
{
	return dev_open_target(d, path, size, no_direct, false);
}

int dp_dev_open_existing(struct dp_dev *d, const char *path, uint64_t size, bool no_direct)
{
	return dev_open_target(d, path, size, no_direct, true);
}

int dp_dev_drop_direct(struct dp_dev *d)
{
	int fl = fcntl(d->fd, F_GETFL);

	/* O_DIRECT is one of the flags F_SETFL may change (Linux) */
	if (fl < 0 || fcntl(d->fd, F_SETFL, fl & ~O_DIRECT))
		return -errno;
	d->direct = false;
	pr_warn("notice: %s refuses O_DIRECT I/O: using buffered I/O", d->path);
	return 0;
}

void dp_dev_close(struct dp_dev *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->fd_buffered >= 0)
		close(d->fd_buffered);
	free(d->path);
	d->fd = d->fd_buffered = -1;
	d->path = NULL;
}

int dp_dev_zero(struct dp_dev *d, uint64_t off, uint64_t len)
{
	if (d->created || !len)
		return 0; /* all holes already */
	if (d->is_blk) {
		uint64_t range[2] = {off, len};

		/*
		 * A hole punched in a device reads back as zeros as BLKZEROOUT's do,
		 * but may unmap the blocks (a thin volume, a loop device's sparse
		 * file stay thin), where BLKZEROOUT asks the device not to; a device
		 * that cannot zero without writing says EOPNOTSUPP
		 */
		if (!fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
			       (off_t)len))
			return 0;
		if (errno != EOPNOTSUPP && errno != EINVAL && errno != ENODEV)
			return dp_fail(-errno, "%s: punching %llu bytes at %llu: %s", d->path,
				       (unsigned long long)len, (unsigned long long)off,
				       strerror(errno));
		if (ioctl(d->fd, BLKZEROOUT, range))
			return dp_fail(-errno, "%s: zeroing %llu bytes at %llu: %s", d->path,
				       (unsigned long long)len, (unsigned long long)off,
				       strerror(errno));
		return 0;
	}
	if (fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len))
		return dp_fail(-errno, "%s: punching %llu bytes at %llu: %s", d->path,
			       (unsigned long long)len, (unsigned long long)off, strerror(errno));
	return 0;
}

/* ---------------------------------------------------------------- identity */

static int ident_loop_backing(dev_t rdev, char *buf, size_t len)
{
	char path[128], file[PATH_MAX];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/loop/backing_file", major(rdev),
		 minor(rdev));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	n = read(fd, file, sizeof(file) - 1);
	close(fd);
	if (n <= 0)
		return -ENOENT;
	file[n] = '\0';
	file[strcspn(file, "\n")] = '\0';
	if ((size_t)snprintf(buf, len, "file:%s", file) >= len)
		return -ENAMETOOLONG;
	return 0;
}

static int ident_by_id(dev_t rdev, char *buf, size_t len)
{
	static const char dir[] = "/dev/disk/by-id";
	char best[NAME_MAX + 1] = "";
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		char path[PATH_MAX];
		struct stat sb;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &sb) || !S_ISBLK(sb.st_mode) || sb.st_rdev != rdev)
			continue;
		if (!best[0] || strcmp(de->d_name, best) < 0)
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	if (!best[0])
		return -ENOENT;
	if ((size_t)snprintf(buf, len, "dev:by-id/%s", best) >= len)
		return -ENAMETOOLONG;
	return 0;
}

int dp_volume_identity(const char *path, char *buf, size_t len)
{
	char real[PATH_MAX];
	struct stat sb;
	const char *base;

	if (!realpath(path, real) || stat(real, &sb))
		return dp_fail(-errno, "source %s: %s", path, strerror(errno));
	if (S_ISREG(sb.st_mode)) {
		if ((size_t)snprintf(buf, len, "file:%s", real) >= len)
			return -ENAMETOOLONG;
		return 0;
	}
	if (!S_ISBLK(sb.st_mode))
		return dp_fail(-EINVAL, "source %s is neither a block device nor a regular file",
			       path);
	if (!ident_loop_backing(sb.st_rdev, buf, len) || !ident_by_id(sb.st_rdev, buf, len))
		return 0;
	base = strrchr(real, '/');
	if ((size_t)snprintf(buf, len, "dev:%s", base ? base + 1 : real) >= len)
		return -ENAMETOOLONG;
	return 0;
}
