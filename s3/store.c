// SPDX-License-Identifier: MIT
/*
 * s3/store.c - the front of s3/store.h: URL dispatch to a backend (the table
 * backends[]), the argument checks every call makes before its backend sees
 * it, and what the backends share above them (s3_store_delete_many(), the
 * one-by-one deletion of backends without DeleteObjects).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_int.h"

/* whether @key is a valid relative key (store.h) */
static bool key_is_valid(const char *key)
{
	size_t len = strlen(key);
	const char *p = key;

	if (len == 0 || len > S3_KEY_MAX || key[0] == '/' || key[len - 1] == '/')
		return false;
	/* no empty, "." or ".." components, no control characters */
	while (*p) {
		const char *e = strchrnul(p, '/');
		size_t n = (size_t)(e - p);

		if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		for (const char *c = p; c < e; c++)
			if ((unsigned char)*c < 0x20 || *c == 0x7f)
				return false;
		p = *e ? e + 1 : e;
	}
	return true;
}

/* An upload id as S3 hands them out: printable, bounded. */
static bool upload_id_is_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > S3_UPLOAD_ID_MAX)
		return false;
	for (const char *c = id; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			return false;
	return true;
}

/* a version id as S3 hands them out ("null" included) */
static bool version_id_is_valid(const char *id)
{
	return upload_id_is_valid(id);
}

/* The backends, tried in order (curl's vtls.c shape: store.c sees them only here). */
static const struct s3_backend *const backends[] = {&s3_backend_file, &s3_backend_s3};

static const struct s3_backend *backend_of(const char *url, const char **rest)
{
	for (size_t i = 0; i < sizeof(backends) / sizeof(backends[0]); i++) {
		const struct s3_backend *be = backends[i];
		size_t n = strlen(be->scheme);

		if (!strncmp(url, be->scheme, n)) {
			*rest = url + n;
			return be;
		}
		if (be->bare_paths && url[0] == '/') {
			*rest = url;
			return be;
		}
	}
	return NULL;
}

int s3_store_open(const char *url, const struct s3_store_opts *opts, struct s3_store **out)
{
	const struct s3_backend *be;
	struct s3_store *st;
	const char *rest;
	int ret;

	*out = NULL;
	s3_clear_error();
	be = backend_of(url, &rest);
	if (!be && strstr(url, "://"))
		return s3_fail(-EPROTONOSUPPORT, "%s: unsupported scheme (use file:// or s3://)",
			       url);
	if (!be)
		return s3_fail(-EINVAL,
			       "%s: not a repository URL (file:///path or s3://bucket/prefix)",
			       url);
	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->page = S3_PAGE_DEFAULT;
	st->url = strdup(url);
	if (!st->url) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = be->open(st, rest, opts);
	if (ret)
		goto out_free;
	assert(st->ops);
	*out = st;
	return 0;
out_free:
	free(st->url);
	free(st);
	return ret;
}

void s3_store_free(struct s3_store *st)
{
	if (!st)
		return;
	if (st->ops)
		st->ops->free(st);
	free(st->url);
	free(st);
}

const char *s3_store_url(const struct s3_store *st)
{
	return st->url;
}

bool s3_store_is_local(const struct s3_store *st)
{
	return st->local;
}

int s3_store_mkroot(struct s3_store *st)
{
	s3_clear_error();
	return st->ops->mkroot(st);
}

/* 0 for a valid key; else -EINVAL, s3_last_error() saying which key. Clears the error first. */
static int check_key(const char *key)
{
	s3_clear_error();
	if (!key_is_valid(key))
		return s3_fail(-EINVAL, "invalid object key '%s'", key);
	return 0;
}

/* 0 for a valid prefix ("" included); else -EINVAL. Clears the error first. */
static int check_prefix(const char *prefix)
{
	s3_clear_error();
	if (prefix[0] == '/' || strstr(prefix, ".."))
		return s3_fail(-EINVAL, "invalid prefix '%s'", prefix);
	return 0;
}

int s3_store_put(struct s3_store *st, const char *key, const void *buf, size_t len)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	return st->ops->put(st, key, buf, len);
}

int s3_store_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len)
{
	int ret;

	*out = NULL;
	*len = 0;
	ret = check_key(key);
	if (ret)
		return ret;
	return st->ops->get(st, key, max, out, len);
}

ssize_t s3_store_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf,
			   size_t len)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	if (len == 0)
		return 0;
	return st->ops->get_range(st, key, off, buf, len);
}

ssize_t s3_store_get_tail(struct s3_store *st, const char *key, void *buf, size_t len,
			  uint64_t *size)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	if (len == 0)
		return s3_fail(-EINVAL, "empty tail read of '%s'", key);
	return st->ops->get_tail(st, key, buf, len, size);
}

int s3_store_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf,
			     size_t len, s3_done_fn done, void *arg)
{
	if (!key_is_valid(key) || !done)
		return -EINVAL;
	return st->ops->get_range_async(st, key, off, buf, len, done, arg);
}

int s3_store_head(struct s3_store *st, const char *key, uint64_t *size)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	return st->ops->head(st, key, size);
}

int s3_store_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg)
{
	int ret = check_prefix(prefix);

	if (ret)
		return ret;
	return st->ops->list(st, prefix, fn, arg);
}

int s3_store_delete(struct s3_store *st, const char *key)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	return st->ops->del(st, key);
}

/* file://, and any backend without DeleteObjects: one call per item */
static int delete_one_by_one(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			     s3_delete_result_fn fn, void *arg)
{
	for (size_t i = 0; i < n; i++) {
		const struct s3_delete_item *it = &items[i];
		int ret;

		s3_clear_error();
		if (it->version_id)
			ret = st->ops->delete_version(st, it->key, it->version_id);
		else
			ret = st->ops->del(st, it->key);
		if (ret == -ENOMEM)
			return ret;
		if (ret == -ENOENT)
			ret = 0; /* did not exist: what deleting it asks for */
		fn(arg, it, ret, ret ? s3_last_error() : "");
	}
	s3_clear_error();
	return 0;
}

int s3_store_delete_objects(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			    s3_delete_result_fn fn, void *arg)
{
	s3_clear_error();
	if (!fn)
		return s3_fail(-EINVAL, "delete of %zu objects: no result function", n);
	for (size_t i = 0; i < n; i++) {
		if (!key_is_valid(items[i].key))
			return s3_fail(-EINVAL, "invalid object key '%s'", items[i].key);
		if (items[i].version_id && !version_id_is_valid(items[i].version_id))
			return s3_fail(-EINVAL, "delete of '%s': invalid version id", items[i].key);
	}
	if (!n)
		return 0;
	if (st->ops->delete_objects)
		return st->ops->delete_objects(st, items, n, fn, arg);
	return delete_one_by_one(st, items, n, fn, arg);
}

/* the first error of s3_store_delete_many()'s items */
struct delete_many_ctx {
	const struct s3_store *st;
	int err;
	char detail[448];
};

static void delete_many_result(void *arg, const struct s3_delete_item *item, int err,
			       const char *detail)
{
	struct delete_many_ctx *c = arg;

	if (!err || c->err)
		return;
	c->err = err;
	snprintf(c->detail, sizeof(c->detail), "cannot delete '%s' of %s: %s", item->key,
		 c->st->url, detail[0] ? detail : strerror(-err));
}

int s3_store_delete_many(struct s3_store *st, const char *const *keys, size_t n)
{
	struct delete_many_ctx c = {.st = st};
	struct s3_delete_item *items;
	int ret;

	s3_clear_error();
	items = calloc(n ? n : 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		items[i].key = keys[i];
	ret = s3_store_delete_objects(st, items, n, delete_many_result, &c);
	free(items);
	if (!ret && c.err)
		ret = s3_fail(c.err, "%s", c.detail);
	return ret;
}

int s3_upload_new(struct s3_store *st, const char *key, size_t part_size, struct s3_upload **out)
{
	int ret;

	*out = NULL;
	ret = check_key(key);
	if (ret)
		return ret;
	if (part_size == 0)
		return s3_fail(-EINVAL, "upload of '%s': part size 0", key);
	return st->ops->upload_new(st, key, part_size, out);
}

int s3_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
		   s3_done_fn done, void *arg)
{
	if (num < 1 || num > S3_UPLOAD_MAX_PARTS || len == 0 || !done)
		return -EINVAL;
	return up->st->ops->upload_part(up, num, buf, len, done, arg);
}

int s3_upload_complete(struct s3_upload *up)
{
	s3_clear_error();
	return up->st->ops->upload_complete(up);
}

void s3_upload_abort(struct s3_upload *up)
{
	if (up)
		up->st->ops->upload_abort(up);
}

/* ------------------------------------------------------------------ resume */

int s3_upload_id(struct s3_upload *up, const char **id)
{
	*id = NULL;
	s3_clear_error();
	if (!up->st->ops->upload_id)
		return s3_fail(-EOPNOTSUPP, "%s: uploads have no ids here (no resume)",
			       up->st->url);
	return up->st->ops->upload_id(up, id);
}

int s3_upload_resume(struct s3_store *st, const char *key, const char *upload_id, size_t part_size,
		     struct s3_upload **out)
{
	int ret;

	*out = NULL;
	ret = check_key(key);
	if (ret)
		return ret;
	if (!upload_id_is_valid(upload_id))
		return s3_fail(-EINVAL, "resume of '%s': invalid upload id", key);
	if (part_size == 0)
		return s3_fail(-EINVAL, "resume of '%s': part size 0", key);
	if (!st->ops->upload_resume)
		return s3_fail(-EOPNOTSUPP, "%s: uploads cannot be resumed here: send them again",
			       st->url);
	return st->ops->upload_resume(st, key, upload_id, part_size, out);
}

int s3_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg)
{
	s3_clear_error();
	if (!up->st->ops->upload_list_parts)
		return s3_fail(-EOPNOTSUPP, "%s: uploads have no listable parts here", up->st->url);
	return up->st->ops->upload_list_parts(up, fn, arg);
}

int s3_upload_part_etag(struct s3_upload *up, unsigned int num, char etag[S3_ETAG_SIZE])
{
	etag[0] = '\0';
	if (num < 1 || num > S3_UPLOAD_MAX_PARTS)
		return -EINVAL;
	if (!up->st->ops->upload_part_etag)
		return -EOPNOTSUPP;
	return up->st->ops->upload_part_etag(up, num, etag);
}

int s3_upload_set_nparts(struct s3_upload *up, unsigned int n)
{
	if (n < 1 || n > S3_UPLOAD_MAX_PARTS)
		return -EINVAL;
	if (!up->st->ops->upload_set_nparts)
		return -EOPNOTSUPP;
	return up->st->ops->upload_set_nparts(up, n);
}

void s3_upload_detach(struct s3_upload *up)
{
	if (!up)
		return;
	if (up->st->ops->upload_detach)
		up->st->ops->upload_detach(up);
	else
		up->st->ops->upload_abort(up);
}

/* ----------------------------------------------------- unfinished uploads */

int s3_store_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn, void *arg)
{
	int ret = check_prefix(prefix);

	if (ret)
		return ret;
	if (!st->ops->list_uploads)
		return 0;
	return st->ops->list_uploads(st, prefix, fn, arg);
}

int s3_store_abort_upload(struct s3_store *st, const char *key, const char *upload_id)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	if (!upload_id_is_valid(upload_id))
		return s3_fail(-EINVAL, "abort of '%s': invalid upload id", key);
	if (!st->ops->abort_upload)
		return s3_fail(-EOPNOTSUPP, "%s: no unfinished uploads here", st->url);
	return st->ops->abort_upload(st, key, upload_id);
}

/* ---------------------------------------------- versioning and Object Lock */

int s3_store_versioning(struct s3_store *st, enum s3_versioning *state)
{
	*state = S3_VERSIONING_OFF;
	s3_clear_error();
	if (!st->ops->versioning)
		return 0;
	return st->ops->versioning(st, state);
}

int s3_store_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg)
{
	int ret = check_prefix(prefix);

	if (ret)
		return ret;
	return st->ops->list_versions(st, prefix, fn, arg);
}

int s3_store_delete_version(struct s3_store *st, const char *key, const char *version_id)
{
	int ret = check_key(key);

	if (ret)
		return ret;
	if (!version_id_is_valid(version_id))
		return s3_fail(-EINVAL, "delete of '%s': invalid version id", key);
	return st->ops->delete_version(st, key, version_id);
}

int s3_store_head_version(struct s3_store *st, const char *key, const char *version_id,
			  struct s3_version_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	ret = check_key(key);
	if (ret)
		return ret;
	if (!version_id_is_valid(version_id))
		return s3_fail(-EINVAL, "head of '%s': invalid version id", key);
	return st->ops->head_version(st, key, version_id, info);
}

#ifdef FERRY_UNIT_TESTS
void s3_store_set_page_size(struct s3_store *st, unsigned int n)
{
	st->page = n ? n : S3_PAGE_DEFAULT;
}

int s3_upload_test_part_state(struct s3_upload *up, unsigned int num, const char *state)
{
	if (num < 1 || num > S3_UPLOAD_MAX_PARTS)
		return -EINVAL;
	if (!up->st->ops->test_part_state)
		return -EOPNOTSUPP;
	return up->st->ops->test_part_state(up, num, state);
}
#endif
