// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt.c - the engine of the file-based changed-block producers:
 * cbt_diff() walks the extent maps of OLD and NEW side by side and lists
 * the ranges whose bytes may differ (control/cbt/cbt.h says when they may not).
 *
 * Each side is a struct cbt_source read through a cursor that keeps one
 * extent, clipped so that it never starts before the walk's position; the
 * walk advances from boundary to boundary of either map. Memory is the two
 * sources' batches plus the output list, whose adjacent ranges are merged as
 * they are found.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cbt.h"
#include "datapath/dp.h"

int cbt_fail(struct cbt_err *e, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return err;
}

struct cbt_cursor {
	struct cbt_source *src;
	struct cbt_extent cur; /* valid if @have; never starts before the walk */
	bool have, eof;
	uint64_t count;
};

/*
 * Make @c's extent the first one that ends after @pos, clipped to start at
 * @pos at the earliest. Return 0 or the source's -errno.
 */
static int cbt_cursor_seek(struct cbt_cursor *c, uint64_t pos)
{
	int ret;

	for (;;) {
		if (!c->have) {
			if (c->eof)
				return 0;
			ret = c->src->next(c->src, &c->cur);
			if (ret < 0)
				return ret;
			if (ret == 0) {
				c->eof = true;
				return 0;
			}
			c->count++;
			if (c->cur.logical + c->cur.len < c->cur.logical)
				c->cur.len = UINT64_MAX - c->cur.logical;
			if (!c->cur.len)
				continue;
			c->have = true;
		}
		if (c->cur.logical + c->cur.len <= pos) {
			c->have = false; /* behind the walk: consumed already */
			continue;
		}
		if (c->cur.logical < pos) {
			uint64_t d = pos - c->cur.logical;

			c->cur.logical = pos;
			c->cur.len -= d;
			c->cur.phys += d;
		}
		return 0;
	}
}

/* the extent covering @pos, or NULL in a hole */
static const struct cbt_extent *cbt_cursor_at(const struct cbt_cursor *c, uint64_t pos)
{
	return c->have && c->cur.logical <= pos ? &c->cur : NULL;
}

/* where the current piece (extent or hole) of @c that covers @pos ends */
static uint64_t cbt_cursor_end(const struct cbt_cursor *c, uint64_t pos)
{
	if (!c->have)
		return UINT64_MAX;
	if (c->cur.logical > pos)
		return c->cur.logical;
	return c->cur.logical + c->cur.len;
}

static bool cbt_reads_zero(const struct cbt_extent *x)
{
	return !x || x->kind == CBT_ZERO;
}

/* Whether the two files may read different bytes at the start of the piece. */
static bool cbt_differs(const struct cbt_extent *a, const struct cbt_extent *b)
{
	if (cbt_reads_zero(a) && cbt_reads_zero(b))
		return false;
	if (!a || !b || a->kind != CBT_DATA || b->kind != CBT_DATA)
		return true;
	/* both were clipped to start at the same position */
	return a->space != b->space || a->phys != b->phys;
}

static int cbt_emit(struct dp_cbl *out, uint64_t off, uint64_t len)
{
	struct dp_range *last = out->n ? &out->ranges[out->n - 1] : NULL;

	if (!len)
		return 0;
	if (last && last->off + last->len == off) {
		last->len += len;
		return 0;
	}
	return dp_cbl_add(out, off, len);
}

int cbt_diff(struct cbt_source *old, struct cbt_source *new, uint64_t old_size, uint64_t new_size,
	     struct dp_cbl *out, struct cbt_stats *stats, struct cbt_err *e)
{
	struct cbt_cursor a = {.src = old}, b = {.src = new};
	uint64_t limit = old_size < new_size ? old_size : new_size, pos = 0, end;
	size_t first = out->n;
	int ret = 0;

	while (pos < limit) {
		ret = cbt_cursor_seek(&a, pos);
		if (ret) {
			cbt_fail(e, ret, "%s", old->err.msg);
			goto out;
		}
		ret = cbt_cursor_seek(&b, pos);
		if (ret) {
			cbt_fail(e, ret, "%s", new->err.msg);
			goto out;
		}
		end = cbt_cursor_end(&a, pos);
		if (cbt_cursor_end(&b, pos) < end)
			end = cbt_cursor_end(&b, pos);
		if (end > limit)
			end = limit;
		if (cbt_differs(cbt_cursor_at(&a, pos), cbt_cursor_at(&b, pos))) {
			ret = cbt_emit(out, pos, end - pos);
			if (ret)
				goto out_emit;
		}
		pos = end;
	}
	/* the volume grew: the parent has nothing there */
	if (new_size > old_size) {
		ret = cbt_emit(out, old_size, new_size - old_size);
		if (ret)
			goto out_emit;
	}
	if (stats) {
		stats->extents_old += a.count;
		stats->extents_new += b.count;
		for (size_t i = first; i < out->n; i++)
			stats->bytes_changed += out->ranges[i].len;
	}
	return 0;
out_emit:
	cbt_fail(e, ret, "%s", ret == -ENOMEM ? "out of memory for the list" : dp_last_error());
out:
	return ret;
}

int cbt_open_file(const char *path, const char *what, int *fd, struct stat *st, struct cbt_err *e)
{
	int ret;

	*fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0) {
		ret = -errno;
		return cbt_fail(e, ret, "%s %s: %s", what, path, strerror(-ret));
	}
	if (fstat(*fd, st)) {
		ret = -errno;
		cbt_fail(e, ret, "%s %s: %s", what, path, strerror(-ret));
		goto out_close;
	}
	if (!S_ISREG(st->st_mode)) {
		ret = cbt_fail(e, -EINVAL,
			       "%s %s is not a regular file (an image file is expected)", what,
			       path);
		goto out_close;
	}
	return 0;
out_close:
	close(*fd);
	*fd = -1;
	return ret;
}

bool cbt_stat_changed(const struct stat *a, const struct stat *b)
{
	return a->st_size != b->st_size || a->st_mtim.tv_sec != b->st_mtim.tv_sec ||
	       a->st_mtim.tv_nsec != b->st_mtim.tv_nsec || a->st_ctim.tv_sec != b->st_ctim.tv_sec ||
	       a->st_ctim.tv_nsec != b->st_ctim.tv_nsec;
}
