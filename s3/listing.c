// SPDX-License-Identifier: MIT
/*
 * s3/listing.c - the one pager of the s3:// backend's listings, and the two
 * listings of the bucket: objects (ListObjectsV2) and unfinished uploads
 * (ListMultipartUploads). The parts of an upload (ListParts, multipart.c)
 * and the versions of objects (ListObjectVersions, versions.c) page through
 * it too.
 *
 * A listing answers in pages: a few entries, IsTruncated, and the markers
 * the next request starts after. The listings differ only in their element
 * names and in how the markers chain (a continuation token; a part number
 * that must grow; a key and an upload or version id), which each one's
 * struct s3_pager_spec says. A truncated page whose markers are all empty,
 * or all those of the request it answers, would loop: it is an error.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_op.h"
#include "s3s.h"

#define PAGER_Q_MAX 8 /* query parameters of one page: the listing's, max-*, 2 markers */

/* Whether the page says more follow. */
static bool page_truncated(const struct s3_xml_page *pg)
{
	return pg->top[PAGE_TRUNCATED] && !strcmp(pg->top[PAGE_TRUNCATED], "true");
}

/*
 * The markers of the next request, from a truncated page: new ones, or an
 * error (s3_last_error() set). @mk holds the last request's (NULL: none yet).
 */
static int next_markers(const struct s3_pager_spec *sp, const struct s3_xml_page *pg,
			const char *what, char *mk[PAGE_MARKERS])
{
	const char *next[PAGE_MARKERS] = {NULL};
	bool empty = true, same = true;
	char *dup[PAGE_MARKERS] = {NULL};

	for (size_t i = 0; i < PAGE_MARKERS && sp->marker[i]; i++) {
		next[i] = pg->top[PAGE_NEXT + i] ? pg->top[PAGE_NEXT + i] : "";
		empty &= !next[i][0];
		same &= mk[i] && !strcmp(mk[i], next[i]);
	}
	if (sp->part_numbers) {
		uint64_t n, last = 0;

		if (mk[0])
			s3_xml_u64(mk[0], &last);
		if (s3_xml_u64(next[0], &n) || n <= last || n > S3_UPLOAD_MAX_PARTS)
			return s3_fail(-EIO, "%s: a truncated answer without a usable %s", what,
				       sp->page.top[PAGE_NEXT]);
	} else if (empty || same) {
		return s3_fail(-EIO, "%s: a truncated answer without new markers (%s)", what,
			       sp->page.top[PAGE_NEXT]);
	}
	for (size_t i = 0; i < PAGE_MARKERS && sp->marker[i]; i++) {
		dup[i] = strdup(next[i]);
		if (!dup[i]) {
			for (size_t j = 0; j < i; j++)
				free(dup[j]);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < PAGE_MARKERS; i++) {
		free(mk[i]);
		mk[i] = dup[i];
	}
	return 0;
}

int s3_page_fetch(struct s3s *s, const struct s3_xml_page_spec *spec, const char *key,
		  const struct s3_kv *q, size_t nq, bool on_upload, const char *what,
		  struct s3_xml_page *pg)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "GET", key, q, nq);
	if (ret)
		goto out;
	op.r.control = true;
	op.r.on_upload = on_upload;
	op.r.resp_max = 16u << 20;
	op.r.expect_root = spec->root;
	snprintf(op.r.what, sizeof(op.r.what), "%s", what);
	ret = op_run(&op);
	if (ret)
		goto out;
	ret = s3_xml_page_parse(op.r.resp ? op.r.resp : "", op.r.resp_len, spec, pg);
	if (ret && ret != -ENOMEM)
		ret = s3_fail(-EIO, "%s: the answer is not a %s", what, spec->root);
out:
	op_fini(&op);
	return ret;
}

int s3_pager_run(struct s3s *s, unsigned int page_size, const struct s3_pager *p)
{
	const struct s3_pager_spec *sp = p->spec;
	char *mk[PAGE_MARKERS] = {NULL}, max[16];
	bool more = true;
	int ret = 0;

	assert(p->nq + 1 + PAGE_MARKERS <= PAGER_Q_MAX);
	snprintf(max, sizeof(max), "%u", page_size);
	while (!ret && more) {
		struct s3_xml_page pg = {0};
		struct s3_kv q[PAGER_Q_MAX];
		size_t nq = 0;

		for (size_t i = 0; i < p->nq; i++)
			q[nq++] = p->q[i];
		q[nq++] = (struct s3_kv){sp->max_param, max};
		for (size_t i = 0; i < PAGE_MARKERS && sp->marker[i] && mk[0]; i++)
			q[nq++] = (struct s3_kv){sp->marker[i], mk[i]};
		ret = s3_page_fetch(s, &sp->page, p->key, q, nq, p->on_upload, p->what, &pg);
		for (size_t i = 0; !ret && i < pg.n; i++)
			ret = p->fn(p->arg, &pg.e[i], p->what);
		more = !ret && page_truncated(&pg);
		if (more)
			ret = next_markers(sp, &pg, p->what, mk);
		s3_xml_page_fini(&pg);
	}
	for (size_t i = 0; i < PAGE_MARKERS; i++)
		free(mk[i]);
	return ret;
}

int s3_pager_prefix(struct s3_store *st, const struct s3_pager_spec *spec, struct s3_kv sub,
		    const char *prefix, const char *what, s3_pager_fn fn, void *arg)
{
	struct s3s *s = s3s_of(st);
	char *full = NULL, line[160];
	int ret;

	if (asprintf(&full, "%s%s", s->prefix, prefix) < 0)
		return -ENOMEM;
	snprintf(line, sizeof(line), "%s s3://%s/%s", what, s->bucket, full);
	{
		const struct s3_kv q[] = {sub, {"prefix", full}};
		const struct s3_pager p = {
			.spec = spec, .q = q, .nq = 2, .what = line, .fn = fn, .arg = arg};

		ret = s3_pager_run(s, st->page, &p);
	}
	free(full);
	return ret;
}

const char *s3s_relative_key(const struct s3s *s, const char *key)
{
	size_t plen = strlen(s->prefix);

	return strncmp(key, s->prefix, plen) || !key[plen] ? NULL : key + plen;
}

/* ---------------------------------------------------------- ListObjectsV2 */

enum { LO_KEY, LO_SIZE, LO_MTIME };

static const struct s3_pager_spec objects_spec = {
	.page = {.root = "ListBucketResult",
		 .entry = {"Contents"},
		 .field = {[LO_KEY] = "Key", [LO_SIZE] = "Size", [LO_MTIME] = "LastModified"},
		 .top = {[PAGE_TRUNCATED] = "IsTruncated", [PAGE_NEXT] = "NextContinuationToken"}},
	.max_param = "max-keys",
	.marker = {"continuation-token"},
};

struct list_ctx {
	const struct s3s *s;
	s3_list_fn fn;
	void *arg;
};

static int list_entry(void *arg, const struct s3_xml_entry *e, const char *what)
{
	struct list_ctx *c = arg;
	const char *key = e->f[LO_KEY];
	uint64_t size = 0;
	int64_t mtime = 0;

	if (!key || (e->f[LO_SIZE] && s3_xml_u64(e->f[LO_SIZE], &size)))
		return s3_fail(-EIO, "%s: an object without a key or a valid size", what);
	key = s3s_relative_key(c->s, key);
	if (!key)
		return 0;
	if (!e->f[LO_MTIME] || s3_xml_time(e->f[LO_MTIME], &mtime))
		mtime = 0;
	return c->fn(c->arg, key, size, mtime);
}

int s3s_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg)
{
	struct list_ctx c = {.s = s3s_of(st), .fn = fn, .arg = arg};

	return s3_pager_prefix(st, &objects_spec, (struct s3_kv){"list-type", "2"}, prefix,
			       "listing", list_entry, &c);
}

/* --------------------------------------------------- ListMultipartUploads */

enum { LU_KEY, LU_UPLOAD_ID, LU_INITIATED };

static const struct s3_pager_spec uploads_spec = {
	.page = {.root = "ListMultipartUploadsResult",
		 .entry = {"Upload"},
		 .field = {[LU_KEY] = "Key",
			   [LU_UPLOAD_ID] = "UploadId",
			   [LU_INITIATED] = "Initiated"},
		 .top = {[PAGE_TRUNCATED] = "IsTruncated",
			 [PAGE_NEXT] = "NextKeyMarker",
			 [PAGE_NEXT + 1] = "NextUploadIdMarker"}},
	.max_param = "max-uploads",
	.marker = {"key-marker", "upload-id-marker"},
};

struct uploads_ctx {
	const struct s3s *s;
	s3_upload_list_fn fn;
	void *arg;
};

static int upload_entry(void *arg, const struct s3_xml_entry *e, const char *what)
{
	struct uploads_ctx *c = arg;
	const char *key = e->f[LU_KEY], *id = e->f[LU_UPLOAD_ID];
	int64_t t = 0;

	if (!key || !id || !id[0])
		return s3_fail(-EIO, "%s: an upload without a key or an id", what);
	key = s3s_relative_key(c->s, key);
	if (!key)
		return 0;
	if (!e->f[LU_INITIATED] || s3_xml_time(e->f[LU_INITIATED], &t))
		t = 0;
	return c->fn(c->arg, key, id, t);
}

int s3s_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn, void *arg)
{
	struct uploads_ctx c = {.s = s3s_of(st), .fn = fn, .arg = arg};

	return s3_pager_prefix(st, &uploads_spec, (struct s3_kv){"uploads", NULL}, prefix,
			       "listing the uploads of", upload_entry, &c);
}
