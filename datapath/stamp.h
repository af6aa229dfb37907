/* SPDX-License-Identifier: MIT */
/*
 * datapath/stamp.h - which snapshot a restore target holds (stamp.c): the
 * stamp a restore or a delta apply writes at its end, and marks dirty before
 * its first write (FORMAT.md "Target stamps"). Private to datapath/.
 */
#ifndef FERRY_DP_STAMP_H
#define FERRY_DP_STAMP_H

#include "dp_int.h"

#define DP_STAMP_XATTR	"user.ferry.stamp"
#define DP_STAMP_MAX	1024 /* bytes of a stamp, at most */
#define DP_STAMP_ID_MAX 400  /* a target's identity, with its NUL */

struct dp_stamp {
	bool dirty;
	char snapshot[65]; /* clean: the snapshot the target holds; dirty: being written */
	char parent[65];   /* dirty: the snapshot an apply started from; "" for a restore */
	char target[DP_STAMP_ID_MAX]; /* clean: the target's identity (dp_stamp_identity()) */
};

/*
 * dp_stamp_parse() - a stamp's text (@len bytes, any bytes) into @out.
 * Return: 0; -EBADMSG (malformed) with dp_last_error().
 */
int dp_stamp_parse(const char *buf, size_t len, struct dp_stamp *out);
/* dp_stamp_format() - the text of @s into @buf (DP_STAMP_MAX bytes); its length, or -EINVAL */
int dp_stamp_format(const struct dp_stamp *s, char *buf, size_t size);

/*
 * dp_stamp_identity() - what must not change between the stamp and the next
 * apply: an image file's filesystem, inode, size and modification time; a
 * block device's stable name (dp_volume_identity()) and size.
 * Return: 0; -errno with dp_last_error().
 */
int dp_stamp_identity(const char *target, char *buf, size_t len);

/*
 * dp_stamp_read() - the stamp of @target: in the file @file if not NULL,
 * else in the image file's extended attribute DP_STAMP_XATTR.
 * Return: 0; -ENODATA (no stamp); -EBADMSG (unreadable stamp); -ENOTSUP (a
 * block device without @file, or a filesystem without user xattrs); -errno.
 */
int dp_stamp_read(const char *target, const char *file, struct dp_stamp *out);

/*
 * dp_stamp_write() - replace the stamp of @target (as dp_stamp_read() finds
 * it) with @s, atomically and durably (synced before it returns).
 * Return: 0; -ENOTSUP as above; -errno with dp_last_error().
 */
int dp_stamp_write(const char *target, const char *file, const struct dp_stamp *s);

#endif /* FERRY_DP_STAMP_H */
