/* SPDX-License-Identifier: MIT */
/*
 * control/cbt/cbt.h - changed-block tracking: the producers of changed-block
 * lists (FORMAT.md "Changed-block lists") behind `ferry changed-blocks`;
 * a library (control/cbt/meson.build). Design notes and measurements: control/cbt/CBT.md.
 *
 * A producer turns whatever knows what changed into a struct dp_cbl:
 *
 *   xfs     two reflinked image files; FIEMAP of both (cbt_xfs.c)
 *   btrfs   the image file in two snapshots; the subvolume trees' file
 *           extent items, or FIEMAP without CAP_SYS_ADMIN (cbt_btrfs.c)
 *   (next)  the CSI SnapshotMetadata service's GetMetadataDelta, whose
 *           (offset, length) pairs go into dp_cbl_add() as they are
 *
 * The file-based producers share one engine: each file's extent map is read
 * as a stream of struct cbt_extent in logical order (struct cbt_source, in
 * batches, so memory does not grow with the file's extent count), and
 * cbt_diff() walks the two streams side by side. A byte range is unchanged
 * only where both files provably read the same bytes: both map it to the
 * same physical block, or both read it as zeros (a hole, an unwritten or
 * preallocated extent). Anything the map cannot vouch for (delayed
 * allocation, inline or compressed data FIEMAP cannot locate) is a change.
 * Whether an extent is *shared* is never asked: after a newer reflink every
 * extent is shared again, changed or not.
 */
#ifndef FERRY_CBT_H
#define FERRY_CBT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dp_cbl;

/* struct cbt_err - the one-line detail of a producer's failure */
struct cbt_err {
	char msg[512];
};

/* cbt_fail() - format @e->msg, return @err (a -errno) */
int cbt_fail(struct cbt_err *e, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* What reading a logical range of a file gives. */
enum cbt_kind {
	CBT_DATA,   /* the bytes at (@space, @phys) */
	CBT_ZERO,   /* zeros: an unwritten (XFS) or preallocated (btrfs) extent, a hole item */
	CBT_OPAQUE, /* not locatable (delalloc, inline, FIEMAP of encoded data): a change */
};

/**
 * struct cbt_extent - one mapped range of a file; gaps between extents are holes
 * @logical: file offset in bytes
 * @len:     bytes, > 0
 * @space:   the address space of @phys: 0 the filesystem's block addresses;
 *           otherwise an identity that names one extent (btrfs: a compressed
 *           extent's disk address, @phys then the offset into its data)
 * @phys:    where @logical lies in @space; @logical + i lies at @phys + i
 * @kind:    what the range reads as; @space and @phys mean something only
 *           for CBT_DATA
 */
struct cbt_extent {
	uint64_t logical;
	uint64_t len;
	uint64_t space;
	uint64_t phys;
	enum cbt_kind kind;
};

/*
 * struct cbt_source - a file's extents in ascending logical order.
 * @next: store the next extent in *@e; return 1, 0 at the end, or -errno
 *        (detail in @err). Extents may overlap what was returned before
 *        (FIEMAP restarts mid-extent); cbt_diff() clips them.
 * @err:  filled in by @next on failure
 */
struct cbt_source {
	int (*next)(struct cbt_source *src, struct cbt_extent *e);
	struct cbt_err err;
};

/* struct cbt_stats - what a diff saw; for --verbose and CBT.md */
struct cbt_stats {
	uint64_t extents_old, extents_new; /* extents read from each side */
	uint64_t calls;			   /* ioctls made (both sides) */
	uint64_t bytes_changed;		   /* sum of the list's ranges */
};

/**
 * cbt_diff() - the ranges of NEW that may differ from OLD
 * @old, @new:          extent streams, read to @old_size / @new_size at most
 * @old_size, @new_size: the files' sizes in bytes
 * @out:                ranges are appended (adjacent ones coalesced); the
 *                      caller set its parent and frees it
 * @stats:              extents_* and bytes_changed are added to; may be NULL
 * @e:                  detail of a failure
 *
 * Everything from @old_size to @new_size is a change (the volume grew).
 * Return: 0; a source's -errno (detail copied to @e); -ENOMEM; -EINVAL.
 */
int cbt_diff(struct cbt_source *old, struct cbt_source *new, uint64_t old_size, uint64_t new_size,
	     struct dp_cbl *out, struct cbt_stats *stats, struct cbt_err *e);

/* -------------------------------------------------------------- FIEMAP */

struct fiemap;

/*
 * struct cbt_fiemap - a cbt_source over FS_IOC_FIEMAP, CBT_FIEMAP_BATCH
 * extents per ioctl. The first call passes FIEMAP_FLAG_SYNC, so dirty pages
 * are written back (and delayed allocations resolved) before the map is read.
 */
struct cbt_fiemap {
	struct cbt_source src;
	int fd;		  /* borrowed */
	const char *name; /* borrowed; for messages */
	uint64_t start;	  /* fm_start of the next ioctl */
	bool last, synced;
	struct fiemap *fm;
	unsigned int i, n; /* position in, and size of, the current batch */
	uint64_t calls;
};

#define CBT_FIEMAP_BATCH 512u

/* cbt_fiemap_init() - a source over open file @fd (borrowed). 0 or -ENOMEM. */
int cbt_fiemap_init(struct cbt_fiemap *f, int fd, const char *name);
void cbt_fiemap_fini(struct cbt_fiemap *f);

/*
 * cbt_fiemap_extent() - what one fiemap_extent means (FIEMAP_EXTENT_* flags
 * in @flags). Unwritten is CBT_ZERO; unknown, delalloc, inline, tail,
 * unaligned, encoded and encrypted data are CBT_OPAQUE: for those FIEMAP's
 * physical address does not name the bytes (btrfs reports a compressed
 * extent's start for every piece of it).
 */
void cbt_fiemap_extent(uint64_t logical, uint64_t physical, uint64_t length, uint32_t flags,
		       struct cbt_extent *out);

/* --------------------------------------------------------------- btrfs */

/*
 * cbt_btrfs_item() - a btrfs_file_extent_item (@len bytes at @p, little
 * endian, as BTRFS_IOC_TREE_SEARCH returns it) keyed at file offset @off
 * Return: 1 and *@out filled; 0 nothing to report (an empty item); -EBADMSG
 * (truncated, an unknown type).
 */
int cbt_btrfs_item(uint64_t off, const void *p, size_t len, struct cbt_extent *out);

/*
 * cbt_btrfs_parse() - walk a BTRFS_IOC_TREE_SEARCH(_V2) result buffer
 * @buf, @len:  the buffer; @nr: the number of items the kernel says it holds
 * @ino:        only EXTENT_DATA items of this inode are taken
 * @out, @max:  room for the extents; *@n receives how many were stored
 * @last_key:   the offset of the last item's key (where the next search
 *              starts, plus one); untouched if there was no item
 *
 * Survives any input: a header or item running past @len is -EBADMSG.
 * Return: 0; -EBADMSG; -ENOSPC (more than @max extents).
 */
int cbt_btrfs_parse(const void *buf, size_t len, uint32_t nr, uint64_t ino, struct cbt_extent *out,
		    size_t max, size_t *n, uint64_t *last_key);

/* ----------------------------------------------------------- producers */

/* Where the btrfs producer reads its extents from (--method). */
enum cbt_method { CBT_METHOD_AUTO, CBT_METHOD_TREE, CBT_METHOD_FIEMAP };

/**
 * struct cbt_request - what a producer is asked for
 * @old, @new:  OLD and NEW as given (paths for xfs and btrfs; a CSI
 *              producer would take snapshot handles)
 * @file:       btrfs: the image's path inside OLD and NEW when they are
 *              subvolumes (directories); NULL when they are the files
 * @method:     btrfs: CBT_METHOD_*
 * @old_size:   set by the producer: OLD's size (checked against the parent)
 * @method_used: set by the producer: "fiemap", "btrfs-tree", ...
 * @stats:      set by the producer
 */
struct cbt_request {
	const char *old, *new;
	const char *file;
	enum cbt_method method;
	uint64_t old_size;
	const char *method_used;
	struct cbt_stats stats;
};

/*
 * A producer: fill @out's ranges and size (NEW's size now); @out->parent is
 * left to the caller. Return 0 or -errno with @e set; errnos with a fixed
 * meaning: -EMEDIUMTYPE (not this producer's filesystem), -EXDEV (OLD and NEW
 * on different filesystems), -EOPNOTSUPP (no FIEMAP / tree search), -ESTALE
 * (NEW or OLD changed while they were compared), -EINVAL (not regular files,
 * the same file twice).
 */
typedef int (*cbt_produce_fn)(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);

int cbt_xfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);
int cbt_btrfs_produce(struct cbt_request *req, struct dp_cbl *out, struct cbt_err *e);

/*
 * Helpers of the file producers (cbt.c): open @path read-only as a regular
 * file; compare two fstat()s to see whether a file changed meanwhile.
 */
struct stat;
int cbt_open_file(const char *path, const char *what, int *fd, struct stat *st, struct cbt_err *e);
bool cbt_stat_changed(const struct stat *a, const struct stat *b);

#endif /* FERRY_CBT_H */
