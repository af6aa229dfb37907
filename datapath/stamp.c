// SPDX-License-Identifier: MIT
/*
 * datapath/stamp.c - the stamp of a restore target: which snapshot it holds,
 * or that a restore or an apply onto it did not finish (FORMAT.md "Target
 * stamps"). An image file keeps it in its extended attribute
 * user.ferry.stamp; a block device (or any target, when asked) in a small
 * file beside, replaced by rename. Both are synced before a write returns.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>
#include <linux/fs.h>

#include "datapath/dp.h"
#include "stamp.h"

static bool stamp_is_id(const char *s, size_t len)
{
	if (len != 64)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* One "key value" line of @len bytes into @s; @seen collects the keys. */
static int stamp_line(const char *line, size_t len, struct dp_stamp *s, unsigned int *seen)
{
	static const char *const keys[] = {"state", "snapshot", "parent", "target"};
	const char *sp = memchr(line, ' ', len);
	size_t klen, vlen;
	const char *v;
	unsigned int k;

	if (!sp)
		return dp_fail(-EBADMSG, "stamp: a line without a value");
	klen = (size_t)(sp - line);
	v = sp + 1;
	vlen = len - klen - 1;
	for (k = 0; k < 4; k++)
		if (strlen(keys[k]) == klen && !memcmp(line, keys[k], klen))
			break;
	if (k == 4)
		return dp_fail(-EBADMSG, "stamp: unknown key '%.*s'", (int)(klen < 32 ? klen : 32),
			       line);
	if (*seen & (1u << k))
		return dp_fail(-EBADMSG, "stamp: %s given twice", keys[k]);
	*seen |= 1u << k;
	switch (k) {
	case 0:
		if (vlen == 5 && !memcmp(v, "clean", 5))
			s->dirty = false;
		else if (vlen == 5 && !memcmp(v, "dirty", 5))
			s->dirty = true;
		else
			return dp_fail(-EBADMSG, "stamp: state is neither clean nor dirty");
		return 0;
	case 1:
	case 2:
		if (!stamp_is_id(v, vlen))
			return dp_fail(-EBADMSG, "stamp: %s is not 64 hex digits", keys[k]);
		memcpy(k == 1 ? s->snapshot : s->parent, v, 64);
		(k == 1 ? s->snapshot : s->parent)[64] = '\0';
		return 0;
	default:
		if (!vlen || vlen >= sizeof(s->target))
			return dp_fail(-EBADMSG, "stamp: target is empty or too long");
		for (size_t i = 0; i < vlen; i++)
			if (v[i] < 0x20 || v[i] > 0x7e)
				return dp_fail(-EBADMSG, "stamp: target is not printable");
		memcpy(s->target, v, vlen);
		s->target[vlen] = '\0';
		return 0;
	}
}

int dp_stamp_parse(const char *buf, size_t len, struct dp_stamp *out)
{
	static const char head[] = "ferry-stamp 1\n";
	unsigned int seen = 0;
	size_t pos;

	memset(out, 0, sizeof(*out));
	if (len > DP_STAMP_MAX || len < sizeof(head) - 1 || memcmp(buf, head, sizeof(head) - 1))
		return dp_fail(-EBADMSG, "stamp: not a ferry-stamp version 1");
	if (memchr(buf, '\0', len))
		return dp_fail(-EBADMSG, "stamp: a NUL byte");
	pos = sizeof(head) - 1;
	for (;;) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		size_t llen;
		int ret;

		if (!nl)
			return dp_fail(-EBADMSG, "stamp: cut short (no end line)");
		llen = (size_t)(nl - (buf + pos));
		if (llen == 3 && !memcmp(buf + pos, "end", 3)) {
			if (pos + 4 != len)
				return dp_fail(-EBADMSG, "stamp: bytes after the end line");
			break;
		}
		ret = stamp_line(buf + pos, llen, out, &seen);
		if (ret)
			return ret;
		pos += llen + 1;
	}
	if (!(seen & 1u) || !(seen & 2u))
		return dp_fail(-EBADMSG, "stamp: no state or no snapshot");
	if (!out->dirty && !(seen & 8u))
		return dp_fail(-EBADMSG, "stamp: a clean stamp names no target");
	if (!out->dirty && (seen & 4u))
		return dp_fail(-EBADMSG, "stamp: a clean stamp names a parent");
	if (out->dirty && (seen & 8u))
		return dp_fail(-EBADMSG, "stamp: a dirty stamp names a target");
	return 0;
}

int dp_stamp_format(const struct dp_stamp *s, char *buf, size_t size)
{
	int n;

	if (!stamp_is_id(s->snapshot, strlen(s->snapshot)) ||
	    (s->parent[0] && (!s->dirty || !stamp_is_id(s->parent, strlen(s->parent)))) ||
	    (!s->dirty && !s->target[0]))
		return -EINVAL;
	n = snprintf(buf, size, "ferry-stamp 1\nstate %s\nsnapshot %s\n%s%s%s%s%s%send\n",
		     s->dirty ? "dirty" : "clean", s->snapshot, s->parent[0] ? "parent " : "",
		     s->parent, s->parent[0] ? "\n" : "", s->dirty ? "" : "target ",
		     s->dirty ? "" : s->target, s->dirty ? "" : "\n");
	return n < 0 || (size_t)n >= size ? -EINVAL : n;
}

int dp_stamp_identity(const char *target, char *buf, size_t len)
{
	char name[256];
	uint64_t size = 0;
	struct stat sb;
	int fd, ret, n;

	if (stat(target, &sb))
		return dp_fail(-errno, "target %s: %s", target, strerror(errno));
	if (S_ISREG(sb.st_mode)) {
		n = snprintf(buf, len,
			     "file dev=%" PRIu64 " ino=%" PRIu64 " size=%" PRIu64 " mtime=%" PRId64
			     ".%09ld",
			     (uint64_t)sb.st_dev, (uint64_t)sb.st_ino, (uint64_t)sb.st_size,
			     (int64_t)sb.st_mtim.tv_sec, sb.st_mtim.tv_nsec);
		return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
	}
	if (!S_ISBLK(sb.st_mode))
		return dp_fail(-EINVAL, "target %s is neither a block device nor a file", target);
	ret = dp_volume_identity(target, name, sizeof(name));
	if (ret)
		return ret;
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_fail(-errno, "target %s: %s", target, strerror(errno));
	ret = ioctl(fd, BLKGETSIZE64, &size) ? -errno : 0;
	close(fd);
	if (ret)
		return dp_fail(ret, "target %s: size: %s", target, strerror(-ret));
	n = snprintf(buf, len, "blk %s size=%" PRIu64, name, size);
	for (char *p = buf; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Where the stamp is: 0 for the xattr of an image file, 1 for @file; -ENOTSUP otherwise. */
static int stamp_where(const char *target, const char *file)
{
	struct stat sb;

	if (file)
		return 1;
	if (stat(target, &sb))
		return dp_fail(-errno, "target %s: %s", target, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return dp_fail(
			-ENOTSUP,
			"target %s is a block device: its stamp is kept in a file (--stamp FILE)",
			target);
	return 0;
}

int dp_stamp_read(const char *target, const char *file, struct dp_stamp *out)
{
	char buf[DP_STAMP_MAX + 1];
	ssize_t n;
	int where = stamp_where(target, file), fd;

	memset(out, 0, sizeof(*out));
	if (where < 0)
		return where;
	if (where == 0) {
		n = getxattr(target, DP_STAMP_XATTR, buf, sizeof(buf));
		if (n < 0 && (errno == ENODATA || errno == ENOTSUP))
			return dp_fail(errno == ENODATA ? -ENODATA : -ENOTSUP,
				       "target %s has no stamp (%s)", target,
				       errno == ENODATA
					       ? "no " DP_STAMP_XATTR " attribute"
					       : "its filesystem keeps no user attributes");
		if (n < 0)
			return dp_fail(errno == ERANGE ? -EBADMSG : -errno, "target %s: stamp: %s",
				       target, strerror(errno));
	} else {
		fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return dp_fail(errno == ENOENT ? -ENODATA : -errno, "stamp %s: %s", file,
				       strerror(errno));
		n = read(fd, buf, sizeof(buf));
		if (n < 0)
			n = -errno;
		close(fd);
		if (n < 0)
			return dp_fail((int)n, "stamp %s: %s", file, strerror((int)-n));
	}
	return dp_stamp_parse(buf, (size_t)n, out);
}

/* Sync the directory of @path, so that a rename into it is durable. */
static int stamp_sync_dir(const char *path)
{
	char *dir = strdup(path), *slash;
	int fd, ret = 0;

	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	fd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd))
		ret = -errno;
	if (fd >= 0)
		close(fd);
	free(dir);
	return ret;
}

static int stamp_write_file(const char *file, const char *buf, size_t len)
{
	char tmp[4096];
	int fd, ret = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", file) >= sizeof(tmp))
		return dp_fail(-ENAMETOOLONG, "stamp %s: name too long", file);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return dp_fail(-errno, "stamp %s: %s", tmp, strerror(errno));
	errno = 0;
	if (write(fd, buf, len) != (ssize_t)len || fsync(fd))
		ret = errno ? -errno : -EIO;
	close(fd);
	if (!ret && rename(tmp, file))
		ret = -errno;
	if (!ret)
		ret = stamp_sync_dir(file);
	if (ret) {
		unlink(tmp);
		return dp_fail(ret, "stamp %s: %s", file, strerror(-ret));
	}
	return 0;
}

int dp_stamp_write(const char *target, const char *file, const struct dp_stamp *s)
{
	char buf[DP_STAMP_MAX];
	int where = stamp_where(target, file), n, fd, ret = 0;

	if (where < 0)
		return where;
	n = dp_stamp_format(s, buf, sizeof(buf));
	if (n < 0)
		return dp_fail(n, "stamp of %s: invalid", target);
	if (where == 1)
		return stamp_write_file(file, buf, (size_t)n);
	/* the attribute and the inode's other metadata reach the disk with fsync */
	fd = open(target, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dp_fail(-errno, "target %s: %s", target, strerror(errno));
	if (fsetxattr(fd, DP_STAMP_XATTR, buf, (size_t)n, 0) || fsync(fd))
		ret = -errno;
	close(fd);
	if (ret)
		return dp_fail(ret, "target %s: writing its stamp: %s", target, strerror(-ret));
	return 0;
}
