// SPDX-License-Identifier: MIT
/*
 * datapath/parent.c - a backup's parent: which snapshot it follows
 * (dp_parent_choose(), the decision --parent auto and the Backup reconciler
 * share), and a cursor over that snapshot's manifest, by chunk
 * index: the references an incremental backup takes for unchanged chunks,
 * and what `check --source` compares a volume with. The manifest is
 * streamed in MANIFEST_READ pieces, so the cursor's memory does not depend
 * on the volume's size.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dp_int.h"
#include "s3/store.h"

#define MANIFEST_READ (1u << 20)

struct dp_parent {
	struct s3_store *st;
	char key[96];
	char id[65];
	struct dp_mreader *mr;
	uint64_t size, pos; /* the object's size, bytes fed to the reader */
	uint8_t *buf;
	uint64_t next;	   /* chunk index the current reference starts at */
	struct dp_ref ref; /* covers chunks [next, next + ref.count) if @have */
	bool have;
	bool eof;
};

int dp_parent_open(struct dp_repo *repo, const char *snap_id, struct dp_parent **out)
{
	struct dp_parent *p;
	int ret;

	*out = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->st = repo->st;
	snprintf(p->id, sizeof(p->id), "%s", snap_id);
	snprintf(p->key, sizeof(p->key), "snapshots/%s", snap_id);
	ret = s3_store_head(p->st, p->key, &p->size);
	if (ret) {
		ret = dp_fail(ret, "snapshot %.16s: %s", snap_id, dp_store_detail());
		goto out_free;
	}
	ret = dp_mreader_new(p->size, &repo->keys, snap_id, &p->mr);
	if (ret)
		goto out_free;
	p->buf = malloc(MANIFEST_READ);
	if (!p->buf) {
		ret = -ENOMEM;
		goto out_free;
	}
	*out = p;
	return 0;
out_free:
	dp_parent_free(p);
	return ret;
}

void dp_parent_free(struct dp_parent *p)
{
	if (!p)
		return;
	dp_mreader_free(p->mr);
	free(p->buf);
	free(p);
}

/* The next reference from the manifest: 1, 0 at its end, or -errno. */
static int parent_advance(struct dp_parent *p)
{
	for (;;) {
		size_t want;
		ssize_t n;
		int ret = dp_mreader_next(p->mr, &p->ref);

		if (ret)
			return ret; /* a reference, or an error */
		if (p->pos == p->size) {
			ret = dp_mreader_finish(p->mr);
			return ret ? dp_fail(ret == -EBADMSG ? -EUCLEAN : ret,
					     "snapshot %.16s: manifest: %s", p->id, dp_last_error())
				   : 0;
		}
		want = p->size - p->pos < MANIFEST_READ ? (size_t)(p->size - p->pos)
							: MANIFEST_READ;
		n = s3_store_get_range(p->st, p->key, p->pos, p->buf, want);
		if (n < 0)
			return dp_fail((int)n, "reading %s: %s", p->key, dp_store_detail());
		if ((size_t)n != want)
			return dp_fail(-EUCLEAN, "%s changed while it was read", p->key);
		p->pos += want;
		ret = dp_mreader_feed(p->mr, p->buf, want);
		if (ret)
			return ret;
	}
}

int dp_parent_get(struct dp_parent *p, uint64_t idx, bool *zero, uint8_t id[DP_ID_LEN],
		  uint64_t *run)
{
	while (!p->eof && (!p->have || idx >= p->next + p->ref.count)) {
		int ret;

		if (p->have)
			p->next += p->ref.count;
		p->have = false;
		ret = parent_advance(p);
		if (ret < 0)
			return ret;
		if (ret == 0)
			p->eof = true;
		else
			p->have = true;
	}
	if (!p->have || idx < p->next || idx >= p->next + p->ref.count)
		return dp_fail(-ENOENT, "snapshot %.16s has no chunk %llu", p->id,
			       (unsigned long long)idx);
	*zero = p->ref.zero;
	if (!p->ref.zero)
		memcpy(id, p->ref.id, DP_ID_LEN);
	if (run)
		*run = p->next + p->ref.count - idx;
	return 0;
}

int dp_manifest_walk(struct dp_repo *repo, const char *snap_id, dp_ref_fn fn, void *arg)
{
	struct dp_parent *p;
	uint64_t idx = 0;
	int ret;

	ret = dp_parent_open(repo, snap_id, &p);
	if (ret)
		return ret;
	for (;;) {
		ret = parent_advance(p);
		if (ret <= 0)
			break;
		ret = fn(arg, idx, &p->ref);
		if (ret)
			break;
		idx += p->ref.count;
	}
	if (ret < 0 && ret != -ENOMEM && ret != -ECANCELED && (ret == -EBADMSG || ret == -EUCLEAN))
		ret = -EUCLEAN;
	dp_parent_free(p);
	return ret;
}

int dp_parent_choose(const struct dp_repo *repo, const struct dp_snapshot *snaps, size_t n,
		     const char *volume, enum dp_parent_mode mode, const char *id,
		     const struct dp_snapshot **out, struct dp_err *err)
{
	int ret = -EINVAL;

	*out = NULL;
	dp_clear_error();
	if (err) {
		err->code = 0;
		err->msg[0] = '\0';
	}
	switch (mode) {
	case DP_PARENT_NONE:
		return 0;
	case DP_PARENT_AUTO:
		if (!volume)
			break;
		/* a manifest that could not be read only makes the parent older (more to store) */
		*out = dp_snapshot_find(NULL, snaps, n, "latest", volume, &ret);
		if (*out || ret == -ENOENT)
			return 0; /* none: the volume's first backup */
		break;
	case DP_PARENT_ID:
		if (!id)
			break;
		*out = dp_snapshot_find(repo, snaps, n, id, volume, &ret);
		if (*out)
			return 0;
		break;
	}
	if (err) {
		err->code = ret;
		snprintf(err->msg, sizeof(err->msg), "%s",
			 dp_last_error()[0] ? dp_last_error() : "no volume or id given");
	}
	return ret;
}
