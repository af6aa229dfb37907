// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_btrfs.c - the changed blocks of an image file between two
 * btrfs snapshots, from the file extent items of the two subvolume trees.
 *
 * Why the trees, and not `btrfs send --no-data` or `btrfs subvolume
 * find-new`:
 *   - find-new lists extents newer than a generation, but a punched hole
 *     leaves no item (NO_HOLES, the mkfs default since btrfs-progs 5.15), so
 *     it misses holes; and its output is text meant for people.
 *   - send --no-data diffs whole subvolumes: the image must be picked out
 *     of the stream by path (renames included), the stream is another
 *     program's binary format, both snapshots must be read-only, and what
 *     it emits for preallocated ranges is send's policy (it replicates
 *     content for `btrfs receive`), not a statement about the mapping.
 *   - the file extent items (BTRFS_IOC_TREE_SEARCH_V2 on EXTENT_DATA keys of
 *     the inode, the same items find-new reads) say exactly what each file
 *     offset maps to: the extent's disk address, the offset into it, its
 *     compression and whether it is preallocated. Two snapshots share
 *     extents as reflinks do, so the comparison of cbt.c applies unchanged;
 *     and unlike FIEMAP, the items locate the bytes of a compressed extent
 *     (disk address + offset into its uncompressed data), where FIEMAP only
 *     reports the extent's start (FIEMAP_EXTENT_ENCODED) and must count it
 *     as changed. It works for any two subvolumes of one filesystem, or two
 *     reflinked files in one.
 * The tree search needs CAP_SYS_ADMIN; without it (--method auto) the
 * FIEMAP comparison of cbt_fiemap.c is used, exact except that compressed
 * extents are always listed.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/magic.h>

#include "cbt.h"
#include "datapath/dp.h"

/* The layout of struct btrfs_file_extent_item (little endian on disk). */
#define CBT_ITEM_HDR  offsetof(struct btrfs_file_extent_item, disk_bytenr)
#define CBT_ITEM_FULL sizeof(struct btrfs_file_extent_item)
static_assert(offsetof(struct btrfs_file_extent_item, disk_bytenr) == 21, "btrfs ABI");
static_assert(sizeof(struct btrfs_file_extent_item) == 53, "btrfs ABI");

#define CBT_BTRFS_BATCH	 1024u	     /* items per search */
#define CBT_BTRFS_BUF	 (64u << 10) /* search buffer: larger than any leaf */
#define CBT_BTRFS_INLINE 4096u	     /* an inline extent counts as this much, at least */

static uint64_t cbt_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int cbt_btrfs_item(uint64_t off, const void *p, size_t len, struct cbt_extent *out)
{
	const uint8_t *b = p;
	uint64_t ram_bytes, disk_bytenr, extent_off, num_bytes;
	uint8_t compression, encryption, type;
	uint16_t other;

	if (len < CBT_ITEM_HDR)
		return -EBADMSG;
	ram_bytes = cbt_le64(b + offsetof(struct btrfs_file_extent_item, ram_bytes));
	compression = b[offsetof(struct btrfs_file_extent_item, compression)];
	encryption = b[offsetof(struct btrfs_file_extent_item, encryption)];
	other = (uint16_t)(b[offsetof(struct btrfs_file_extent_item, other_encoding)] |
			   b[offsetof(struct btrfs_file_extent_item, other_encoding) + 1] << 8);
	type = b[offsetof(struct btrfs_file_extent_item, type)];
	memset(out, 0, sizeof(*out));
	out->logical = off;
	switch (type) {
	case BTRFS_FILE_EXTENT_INLINE:
		/* the bytes live in the item; whether they changed is not known */
		out->len = ram_bytes > CBT_BTRFS_INLINE ? ram_bytes : CBT_BTRFS_INLINE;
		out->kind = CBT_OPAQUE;
		return 1;
	case BTRFS_FILE_EXTENT_REG:
	case BTRFS_FILE_EXTENT_PREALLOC:
		if (len < CBT_ITEM_FULL)
			return -EBADMSG;
		disk_bytenr = cbt_le64(b + offsetof(struct btrfs_file_extent_item, disk_bytenr));
		extent_off = cbt_le64(b + offsetof(struct btrfs_file_extent_item, offset));
		num_bytes = cbt_le64(b + offsetof(struct btrfs_file_extent_item, num_bytes));
		if (!num_bytes)
			return 0;
		out->len = num_bytes;
		if (type == BTRFS_FILE_EXTENT_PREALLOC || !disk_bytenr) {
			out->kind = CBT_ZERO; /* preallocated, or a hole item (no NO_HOLES) */
		} else if (encryption || other) {
			out->kind = CBT_OPAQUE;
		} else if (compression) {
			/* the offset is into the uncompressed data of that one extent */
			out->kind = CBT_DATA;
			out->space = disk_bytenr;
			out->phys = extent_off;
		} else {
			out->kind = CBT_DATA;
			out->phys = disk_bytenr + extent_off;
		}
		return 1;
	default:
		return -EBADMSG;
	}
}

int cbt_btrfs_parse(const void *buf, size_t len, uint32_t nr, uint64_t ino, struct cbt_extent *out,
		    size_t max, size_t *n, uint64_t *last_key)
{
	const uint8_t *p = buf;
	size_t off = 0;
	int ret;

	*n = 0;
	for (uint32_t i = 0; i < nr; i++) {
		struct btrfs_ioctl_search_header sh;

		if (len - off < sizeof(sh))
			return -EBADMSG;
		memcpy(&sh, p + off, sizeof(sh)); /* host byte order */
		off += sizeof(sh);
		if (sh.len > len - off)
			return -EBADMSG;
		if (sh.objectid == ino && sh.type == BTRFS_EXTENT_DATA_KEY) {
			if (*n == max)
				return -ENOSPC;
			ret = cbt_btrfs_item(sh.offset, p + off, sh.len, &out[*n]);
			if (ret < 0)
				return ret;
			*n += (size_t)ret;
			*last_key = sh.offset;
		}
		off += sh.len;
	}
	return 0;
}

/* struct cbt_btrfs_tree - a cbt_source over the inode's EXTENT_DATA items */
struct cbt_btrfs_tree {
	struct cbt_source src; /* first: the source is the object */
	int fd;
	const char *name;
	uint64_t ino;
	uint64_t next_off; /* min_offset of the next search */
	bool done;
	struct btrfs_ioctl_search_args_v2 *args;
	struct cbt_extent ext[CBT_BTRFS_BATCH];
	size_t i, n;
	uint64_t calls;
};

static int cbt_btrfs_fetch(struct cbt_btrfs_tree *t)
{
	struct btrfs_ioctl_search_key *k = &t->args->key;
	uint64_t last = 0;
	int ret;

	memset(k, 0, sizeof(*k));
	k->tree_id = 0; /* the subvolume of the inode the fd is */
	k->min_objectid = k->max_objectid = t->ino;
	k->min_type = k->max_type = BTRFS_EXTENT_DATA_KEY;
	k->min_offset = t->next_off;
	k->max_offset = UINT64_MAX;
	k->min_transid = 0;
	k->max_transid = UINT64_MAX;
	k->nr_items = CBT_BTRFS_BATCH;
	t->args->buf_size = CBT_BTRFS_BUF;
	if (ioctl(t->fd, BTRFS_IOC_TREE_SEARCH_V2, t->args)) {
		ret = -errno;
		if (ret == -EPERM || ret == -EACCES)
			return cbt_fail(
				&t->src.err, -EPERM,
				"%s: the btrfs tree search needs CAP_SYS_ADMIN (or --method fiemap)",
				t->name);
		if (ret == -ENOTTY || ret == -EOPNOTSUPP)
			return cbt_fail(
				&t->src.err, -EOPNOTSUPP,
				"%s: this kernel has no BTRFS_IOC_TREE_SEARCH_V2 (use --method fiemap)",
				t->name);
		return cbt_fail(&t->src.err, ret, "%s: btrfs tree search at offset %llu: %s",
				t->name, (unsigned long long)t->next_off, strerror(-ret));
	}
	t->calls++;
	t->i = t->n = 0;
	if (!k->nr_items) {
		t->done = true;
		return 0;
	}
	ret = cbt_btrfs_parse(t->args->buf, CBT_BTRFS_BUF, k->nr_items, t->ino, t->ext,
			      CBT_BTRFS_BATCH, &t->n, &last);
	if (ret)
		return cbt_fail(&t->src.err, ret == -ENOSPC ? -EIO : ret,
				"%s: undecodable file extent items after offset %llu", t->name,
				(unsigned long long)t->next_off);
	if (!t->n || last < t->next_off)
		return cbt_fail(&t->src.err, -EIO,
				"%s: the btrfs tree search makes no progress at offset %llu",
				t->name, (unsigned long long)t->next_off);
	if (last == UINT64_MAX)
		t->done = true;
	else
		t->next_off = last + 1;
	return 1;
}

static int cbt_btrfs_next(struct cbt_source *src, struct cbt_extent *e)
{
	struct cbt_btrfs_tree *t = (struct cbt_btrfs_tree *)src;
	int ret;

	while (t->i == t->n) {
		if (t->done)
			return 0;
		ret = cbt_btrfs_fetch(t);
		if (ret <= 0)
			return ret;
	}
	*e = t->ext[t->i++];
	return 1;
}

static void cbt_btrfs_tree_free(struct cbt_btrfs_tree *t)
{
	if (!t)
		return;
	free(t->args);
	free(t);
}

/* A tree source over @fd; the first search is made here, so -EPERM shows now. */
static int cbt_btrfs_tree_new(int fd, uint64_t ino, const char *name, struct cbt_btrfs_tree **out,
			      struct cbt_err *e)
{
	struct cbt_btrfs_tree *t = calloc(1, sizeof(*t));
	int ret;

	*out = NULL;
	if (!t)
		return cbt_fail(e, -ENOMEM, "out of memory");
	t->src.next = cbt_btrfs_next;
	t->fd = fd;
	t->ino = ino;
	t->name = name;
	t->args = calloc(1, sizeof(*t->args) + CBT_BTRFS_BUF);
	if (!t->args) {
		ret = cbt_fail(e, -ENOMEM, "out of memory");
		goto out_free;
	}
	ret = cbt_btrfs_fetch(t);
	if (ret < 0) {
		cbt_fail(e, ret, "%s", t->src.err.msg);
		goto out_free;
	}
	*out = t;
	return 0;
out_free:
	cbt_btrfs_tree_free(t);
	return ret;
}

/* OLD/NEW: the image file, or a subvolume directory holding it at @file. */
static int cbt_btrfs_open(const char *base, const char *file, const char *what, char *path,
			  size_t size, int *fd, struct stat *st, struct cbt_err *e)
{
	struct statfs sfs;
	int ret;

	if (stat(base, st)) {
		ret = -errno;
		return cbt_fail(e, ret, "%s %s: %s", what, base, strerror(-ret));
	}
	if (S_ISDIR(st->st_mode) && !file)
		return cbt_fail(
			e, -EINVAL,
			"%s %s is a directory: name the image file inside the snapshots with --file",
			what, base);
	if (!S_ISDIR(st->st_mode) && file)
		return cbt_fail(
			e, -EINVAL,
			"--file names a file inside snapshot directories, but %s %s is not a directory",
			what, base);
	if ((size_t)snprintf(path, size, "%s%s%s", base, file ? "/" : "", file ? file : "") >= size)
		return cbt_fail(e, -ENAMETOOLONG, "%s: path too long", what);
	ret = cbt_open_file(path, what, fd, st, e);
	if (ret)
		return ret;
	if (fstatfs(*fd, &sfs)) {
		ret = -errno;
		cbt_fail(e, ret, "%s %s: statfs: %s", what, path, strerror(-ret));
		goto out_close;
	}
	if (sfs.f_type != BTRFS_SUPER_MAGIC) {
		ret = cbt_fail(e, -EMEDIUMTYPE, "%s %s is not on btrfs%s", what, path,
			       sfs.f_type == 0x58465342
				       ? " but on XFS: use 'ferry changed-blocks xfs'"
				       : "");
		goto out_close;
	}
	return 0;
out_close:
	close(*fd);
	*fd = -1;
	return ret;
}

static int cbt_btrfs_fsid(int fd, const char *path, uint8_t *fsid, struct cbt_err *e)
{
	struct btrfs_ioctl_fs_info_args fi;
	int ret;

	memset(&fi, 0, sizeof(fi));
	if (ioctl(fd, BTRFS_IOC_FS_INFO, &fi)) {
		ret = -errno;
		return cbt_fail(e, ret, "%s: BTRFS_IOC_FS_INFO: %s", path, strerror(-ret));
	}
	memcpy(fsid, fi.fsid, BTRFS_FSID_SIZE);
	return 0;
}

/*
 * The file's items are in the tree once its delayed allocations have been
 * written and their ordered extents completed, which fdatasync() waits for.
 * A read-only snapshot has none; fsync of it succeeds or says EROFS.
 */
static int cbt_btrfs_sync(int fd, const char *path, struct cbt_err *e)
{
	int ret;

	if (!fdatasync(fd) || errno == EROFS || errno == EINVAL)
		return 0;
	ret = -errno;
	return cbt_fail(e, ret, "%s: fdatasync: %s", path, strerror(-ret));
}

int cbt_btrfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e)
{
	struct cbt_fiemap fo = {.fm = NULL}, fn = {.fm = NULL};
	struct cbt_btrfs_tree *to = NULL, *tn = NULL;
	struct cbt_source *so_src, *sn_src;
	uint8_t fsid_o[BTRFS_FSID_SIZE], fsid_n[BTRFS_FSID_SIZE];
	char path_o[PATH_MAX], path_n[PATH_MAX];
	struct stat so, sn, so2, sn2;
	int fdo = -1, fdn = -1, ret;

	ret = cbt_btrfs_open(req->old, req->file, "OLD", path_o, sizeof(path_o), &fdo, &so, e);
	if (ret)
		goto out;
	ret = cbt_btrfs_open(req->new, req->file, "NEW", path_n, sizeof(path_n), &fdn, &sn, e);
	if (ret)
		goto out;
	ret = cbt_btrfs_fsid(fdo, path_o, fsid_o, e);
	if (!ret)
		ret = cbt_btrfs_fsid(fdn, path_n, fsid_n, e);
	if (ret)
		goto out;
	if (memcmp(fsid_o, fsid_n, sizeof(fsid_o))) {
		ret = cbt_fail(
			e, -EXDEV,
			"OLD %s and NEW %s are on different btrfs filesystems: their extents cannot be compared",
			path_o, path_n);
		goto out;
	}
	/* each subvolume has a device number of its own: same dev + inode is one file */
	if (so.st_dev == sn.st_dev && so.st_ino == sn.st_ino) {
		ret = cbt_fail(e, -EINVAL, "OLD and NEW are the same file (%s)", path_n);
		goto out;
	}
	ret = cbt_btrfs_sync(fdo, path_o, e);
	if (!ret)
		ret = cbt_btrfs_sync(fdn, path_n, e);
	if (ret)
		goto out;
	if (fstat(fdo, &so) || fstat(fdn, &sn)) {
		ret = -errno;
		cbt_fail(e, ret, "fstat: %s", strerror(-ret));
		goto out;
	}
	ret = -EPERM;
	if (req->method != CBT_METHOD_FIEMAP) {
		ret = cbt_btrfs_tree_new(fdo, so.st_ino, path_o, &to, e);
		if (!ret)
			ret = cbt_btrfs_tree_new(fdn, sn.st_ino, path_n, &tn, e);
		if (ret && (ret != -EPERM || req->method == CBT_METHOD_TREE))
			goto out;
	}
	if (!ret) {
		req->method_used = "btrfs-tree";
		so_src = &to->src;
		sn_src = &tn->src;
	} else {
		/* no CAP_SYS_ADMIN (auto), or --method fiemap */
		cbt_btrfs_tree_free(to);
		to = NULL;
		ret = cbt_fiemap_init(&fo, fdo, path_o);
		if (!ret)
			ret = cbt_fiemap_init(&fn, fdn, path_n);
		if (ret) {
			cbt_fail(e, ret, "out of memory");
			goto out;
		}
		req->method_used = "fiemap";
		so_src = &fo.src;
		sn_src = &fn.src;
	}
	req->old_size = (uint64_t)so.st_size;
	ret = cbt_diff(so_src, sn_src, (uint64_t)so.st_size, (uint64_t)sn.st_size, out, &req->stats,
		       e);
	req->stats.calls += fo.calls + fn.calls + (to ? to->calls : 0) + (tn ? tn->calls : 0);
	if (ret)
		goto out;
	if (fstat(fdo, &so2) || fstat(fdn, &sn2)) {
		ret = -errno;
		cbt_fail(e, ret, "fstat: %s", strerror(-ret));
		goto out;
	}
	if (cbt_stat_changed(&so, &so2) || cbt_stat_changed(&sn, &sn2)) {
		ret = cbt_fail(e, -ESTALE,
			       "%s changed while it was compared: compare read-only snapshots",
			       cbt_stat_changed(&so, &so2) ? path_o : path_n);
		goto out;
	}
	out->size = (uint64_t)sn.st_size;
out:
	cbt_btrfs_tree_free(to);
	cbt_btrfs_tree_free(tn);
	cbt_fiemap_fini(&fo);
	cbt_fiemap_fini(&fn);
	if (fdo >= 0)
		close(fdo);
	if (fdn >= 0)
		close(fdn);
	return ret;
}
