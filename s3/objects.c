// SPDX-License-Identifier: MIT
/*
 * s3/objects.c - the s3:// backend's calls on whole objects: check the
 * bucket, PUT, GET (whole, ranged, a suffix, asynchronous ranges), HEAD,
 * DELETE. Many at once is delete_objects.c's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3_op.h"
#include "s3s.h"

int s3s_mkroot(struct s3_store *st)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", s->prefix}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "GET", NULL, q, 3);
	if (!ret) {
		op.r.control = true;
		snprintf(op.r.what, sizeof(op.r.what), "checking bucket s3://%s", s->bucket);
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

int s3s_put(struct s3_store *st, const char *key, const void *buf, size_t len)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "PUT", key, NULL, 0);
	if (!ret)
		ret = op_body(&op, buf, len);
	if (!ret)
		ret = op_new_object(&op, key);
	if (!ret) {
		op.r.control = len < (1u << 20);
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

int s3s_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "GET", key, NULL, 0);
	if (ret)
		goto out;
	op.r.resp_max = max ? max : 1;
	op.r.control = max < (1u << 20);
	ret = op_run(&op);
	if (ret == -EFBIG) {
		ret = s3_fail(-EFBIG, "%s: larger than the %zu bytes expected", key, max);
		goto out;
	}
	if (ret)
		goto out;
	if (!op.r.resp) {
		op.r.resp = malloc(1);
		if (!op.r.resp) {
			ret = -ENOMEM;
			goto out;
		}
	}
	if (op.r.resp_cap > op.r.resp_len + 1) {
		void *p = realloc(op.r.resp, op.r.resp_len + 1); /* give back the slack */

		if (p)
			op.r.resp = p;
	}
	*out = op.r.resp;
	*len = op.r.resp_len;
	op.r.resp = NULL;
	op.r.resp_len = op.r.resp_cap = 0;
out:
	op_fini(&op);
	return ret;
}

static int op_range(struct s3op *op, struct s3s *s, const char *key, uint64_t off, void *buf,
		    size_t len)
{
	int ret = op_init(op, s, "GET", key, NULL, 0);

	if (ret)
		return ret;
	op->r.dst = buf;
	op->r.dst_len = len;
	op->r.ranged = true;
	op->r.range_off = off;
	op->r.accept_416 = true;
	return op_hdr(op, "Range", "bytes=%llu-%llu", (unsigned long long)off,
		      (unsigned long long)(off + len - 1));
}

ssize_t s3s_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf, size_t len)
{
	struct s3op op;
	ssize_t ret;

	ret = op_range(&op, s3s_of(st), key, off, buf, len);
	if (!ret) {
		op.r.control = len < (1u << 20);
		ret = op_run(&op);
	}
	if (!ret)
		ret = op.r.status == 416 ? 0 : (ssize_t)op.r.got;
	op_fini(&op);
	return ret;
}

ssize_t s3s_get_tail(struct s3_store *st, const char *key, void *buf, size_t len, uint64_t *size)
{
	struct s3op op;
	ssize_t ret;

	ret = op_init(&op, s3s_of(st), "GET", key, NULL, 0);
	if (ret)
		goto out;
	op.r.dst = buf;
	op.r.dst_len = len;
	op.r.accept_416 = true;
	op.r.control = true;
	ret = op_hdr(&op, "Range", "bytes=-%zu", len);
	if (!ret)
		ret = op_run(&op);
	if (ret)
		goto out;
	if (op.r.status == 416) {
		/* an empty object has no suffix */
		*size = op.r.has_range ? op.r.range_total : 0;
		ret = 0;
	} else if (op.r.status == 206 && op.r.has_range) {
		*size = op.r.range_total;
		ret = (ssize_t)op.r.got;
	} else if (op.r.status == 200) {
		*size = op.r.got;
		ret = (ssize_t)op.r.got;
	} else {
		ret = s3_fail(-EIO, "%s: answer to a suffix range without Content-Range",
			      op.r.what);
	}
out:
	op_fini(&op);
	return ret;
}

struct range_async {
	struct s3op op;
	s3_done_fn done;
	void *arg;
};

static void range_async_done(struct s3_hreq *r)
{
	struct range_async *ra = s3_container_of(r, struct range_async, op.r);
	int ret = r->err ? r->err : r->status == 416 ? 0 : (int)r->got;

	ra->done(ra->arg, ret, r->err ? r->msg : "");
	op_fini(&ra->op);
	free(ra);
}

int s3s_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf, size_t len,
			s3_done_fn done, void *arg)
{
	struct range_async *ra;
	int ret;

	if (len > INT32_MAX)
		return -EINVAL;
	ra = malloc(sizeof(*ra));
	if (!ra)
		return -ENOMEM;
	ret = op_range(&ra->op, s3s_of(st), key, off, buf, len);
	if (ret) {
		op_fini(&ra->op);
		free(ra);
		return ret;
	}
	ra->done = done;
	ra->arg = arg;
	ra->op.r.done = range_async_done;
	s3_http_submit(s3s_of(st)->http, &ra->op.r);
	return 0;
}

int s3s_head(struct s3_store *st, const char *key, uint64_t *size)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "HEAD", key, NULL, 0);
	if (!ret) {
		op.r.control = true;
		ret = op_run(&op);
	}
	if (!ret && !op.r.has_length)
		ret = s3_fail(-EIO, "%s: no Content-Length in the answer", op.r.what);
	if (!ret)
		*size = op.r.content_length;
	op_fini(&op);
	return ret;
}

int s3s_del(struct s3_store *st, const char *key)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "DELETE", key, NULL, 0);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}
