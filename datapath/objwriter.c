// SPDX-License-Identifier: MIT
/*
 * datapath/objwriter.c - writing one object of unknown length in bounded
 * memory: bytes are cut into parts of a multipart upload, each sent and
 * waited for before its buffer is filled again. For the cold paths
 * (manifests of copies, packs of a repack); the backup's hot path keeps
 * many parts in flight through the packer instead.
 */
#include <stdio.h>
#include <stdlib.h>

#include "objwriter.h"
#include "s3/store.h"

struct dp_objwriter {
	struct s3_store *st;
	char key[160];
	struct s3_upload *up;
	uint8_t *part;
	size_t fill, part_size;
	unsigned int nparts;
	uint64_t size;
	bool busy;
	int err;
	char detail[256];
	pthread_mutex_t mu;
	pthread_cond_t cond;
};

int dp_objwriter_new(struct s3_store *st, const char *key, size_t part_size,
		     struct dp_objwriter **out)
{
	struct dp_objwriter *w;
	int ret;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->st = st;
	snprintf(w->key, sizeof(w->key), "%s", key);
	w->part_size = part_size;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cond, NULL);
	w->part = malloc(part_size);
	if (!w->part) {
		dp_objwriter_abort(w);
		return -ENOMEM;
	}
	ret = s3_upload_new(st, key, part_size, &w->up);
	if (ret) {
		ret = dp_fail(ret, "creating %s: %s", key, dp_store_detail());
		dp_objwriter_abort(w);
		return ret;
	}
	*out = w;
	return 0;
}

static void ow_done(void *arg, int ret, const char *detail)
{
	struct dp_objwriter *w = arg;

	pthread_mutex_lock(&w->mu);
	if (ret < 0 && !w->err) {
		w->err = ret;
		snprintf(w->detail, sizeof(w->detail), "%s",
			 detail && detail[0] ? detail : strerror(-ret));
	}
	w->busy = false;
	pthread_cond_broadcast(&w->cond);
	pthread_mutex_unlock(&w->mu);
}

/* Send the part buffer and wait for it: the buffer is reused right after. */
static int ow_flush(struct dp_objwriter *w)
{
	int ret;

	if (!w->fill)
		return 0;
	w->busy = true;
	ret = s3_upload_part(w->up, ++w->nparts, w->part, w->fill, ow_done, w);
	if (ret) {
		w->busy = false;
		return dp_fail(ret, "uploading %s: %s", w->key, strerror(-ret));
	}
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		pthread_cond_wait(&w->cond, &w->mu);
	ret = w->err;
	pthread_mutex_unlock(&w->mu);
	w->fill = 0;
	if (ret)
		return dp_fail(ret, "uploading %s: %s", w->key, w->detail);
	return 0;
}

int dp_objwriter_write(struct dp_objwriter *w, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		size_t n = w->part_size - w->fill;

		if (n > len)
			n = len;
		memcpy(w->part + w->fill, p, n);
		w->fill += n;
		w->size += n;
		p += n;
		len -= n;
		if (w->fill == w->part_size) {
			int ret = ow_flush(w);

			if (ret)
				return ret;
		}
	}
	return 0;
}

uint64_t dp_objwriter_size(const struct dp_objwriter *w)
{
	return w->size;
}

int dp_objwriter_commit(struct dp_objwriter *w)
{
	int ret = ow_flush(w);

	if (!ret && !w->nparts)
		ret = dp_fail(-EINVAL, "%s: an empty object", w->key);
	if (!ret) {
		ret = s3_upload_complete(w->up);
		w->up = NULL;
		if (ret)
			ret = dp_fail(ret, "completing %s: %s", w->key, dp_store_detail());
	}
	dp_objwriter_abort(w);
	return ret;
}

void dp_objwriter_abort(struct dp_objwriter *w)
{
	if (!w)
		return;
	s3_upload_abort(w->up);
	free(w->part);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cond);
	free(w);
}
