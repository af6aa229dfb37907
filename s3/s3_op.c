// SPDX-License-Identifier: MIT
/*
 * s3/s3_op.c - building and signing the requests of the s3:// backend
 * (s3_op.h): URLs in path or virtual-hosted style, canonical URIs and
 * queries, bodies with their hashes, headers, SigV4 on every attempt.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "s3_op.h"

/* The headers of the next attempt, signed now (x-amz-date stays fresh across retries). */
static struct curl_slist *op_prepare(struct s3_hreq *r, int *err)
{
	struct s3op *op = s3_container_of(r, struct s3op, r);
	struct s3s *s = op->s;
	struct s3_kv h[OP_HDR_MAX + 4];
	struct s3_sigv4_req rq = {0};
	struct curl_slist *list = NULL, *l;
	char date[S3_AMZ_DATE_LEN], *auth = NULL;
	size_t n = 0;

	s3_amz_date(time(NULL), date);
	h[n++] = (struct s3_kv){"Host", s->ep.host};
	h[n++] = (struct s3_kv){"x-amz-date", date};
	h[n++] = (struct s3_kv){"x-amz-content-sha256", op->payload};
	if (s->creds.token)
		h[n++] = (struct s3_kv){"x-amz-security-token", s->creds.token};
	for (size_t i = 0; i < op->nxh; i++)
		h[n++] = op->xh[i];
	rq.method = r->method;
	rq.uri = op->uri;
	rq.query = op->query;
	rq.hdrs = h;
	rq.nhdrs = n;
	rq.payload_hash = op->payload;
	rq.amz_date = date;
	rq.region = s->region;
	rq.service = "s3";
	rq.access_key = s->creds.access_key;
	rq.secret_key = s->creds.secret_key;
	*err = s3_sigv4_sign(&rq, &auth);
	if (*err)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		char *line = NULL;

		if (asprintf(&line, "%s: %s", h[i].name, h[i].value) < 0)
			goto oom;
		l = curl_slist_append(list, line);
		OPENSSL_cleanse(line, strlen(line)); /* may hold the session token */
		free(line);
		if (!l)
			goto oom;
		list = l;
	}
	{
		char *a = NULL;

		if (asprintf(&a, "Authorization: %s", auth) < 0)
			goto oom;
		l = curl_slist_append(list, a);
		free(a);
		if (!l)
			goto oom;
		list = l;
	}
	/* curl adds this to POSTs otherwise */
	l = curl_slist_append(list, "Content-Type:");
	if (!l)
		goto oom;
	list = l;
	free(auth);
	return list;
oom:
	free(auth);
	curl_slist_free_all(list);
	*err = -ENOMEM;
	return NULL;
}

int op_init(struct s3op *op, struct s3s *s, const char *method, const char *key,
	    const struct s3_kv *q, size_t nq)
{
	char *full = NULL, *enc = NULL;
	size_t flen;
	int ret = -ENOMEM;

	memset(op, 0, sizeof(*op));
	op->s = s;
	op->r.method = method;
	op->r.prepare = op_prepare;
	memcpy(op->payload, S3_EMPTY_SHA256, sizeof(S3_EMPTY_SHA256));
	snprintf(op->r.what, sizeof(op->r.what), "%s s3://%s/%s%s", method, s->bucket,
		 key ? s->prefix : "", key ? key : "");
	if (asprintf(&full, "%s%s", key ? s->prefix : "", key ? key : "") < 0) {
		full = NULL;
		goto out;
	}
	flen = strlen(full);
	enc = malloc(3 * flen + 1);
	if (!enc)
		goto out;
	s3_uri_encode(full, flen, true, enc);
	op->query = s3_query_build(q, nq);
	if (!op->query)
		goto out;
	if (s->ep.path_style)
		ret = asprintf(&op->uri, "%s/%s%s%s", s->ep.base_path, s->bucket, key ? "/" : "",
			       enc);
	else
		ret = asprintf(&op->uri, "%s/%s", s->ep.base_path, enc);
	if (ret < 0) {
		op->uri = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = asprintf(&op->r.url, "%s%s%s%s", s->ep.base, op->uri, op->query[0] ? "?" : "",
		       op->query);
	if (ret < 0) {
		op->r.url = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = 0;
out:
	free(full);
	free(enc);
	return ret;
}

void op_fini(struct s3op *op)
{
	s3_hreq_fini(&op->r);
	free(op->r.url);
	free(op->uri);
	free(op->query);
	op->r.url = op->uri = op->query = NULL;
}

int op_set_query(struct s3op *op, const struct s3_kv *q, size_t nq)
{
	char *query = s3_query_build(q, nq), *url = NULL;

	if (!query)
		return -ENOMEM;
	if (asprintf(&url, "%s%s%s%s", op->s->ep.base, op->uri, query[0] ? "?" : "", query) < 0) {
		free(query);
		return -ENOMEM;
	}
	free(op->query);
	free(op->r.url);
	op->query = query;
	op->r.url = url;
	return 0;
}

int op_hdr(struct s3op *op, const char *name, const char *fmt, ...)
{
	va_list ap;
	int n;

	assert(op->nxh < OP_HDR_MAX);
	va_start(ap, fmt);
	n = vsnprintf(op->xv[op->nxh], OP_HDR_LEN, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= OP_HDR_LEN)
		return -EINVAL;
	op->xh[op->nxh].name = name;
	op->xh[op->nxh].value = op->xv[op->nxh];
	op->nxh++;
	return 0;
}

int op_body(struct s3op *op, const void *buf, size_t len)
{
	/* the ETag of a PUT is the body's MD5, except under SSE-KMS */
	bool etag_is_md5 =
		!strcmp(op->r.method, "PUT") && !(op->s->sse && !strncmp(op->s->sse, "aws:kms", 7));
	char md5[S3_MD5_B64];
	int ret;

	op->r.body = buf;
	op->r.body_len = len;
	ret = s3_md5_sha256(buf, len, md5, etag_is_md5 ? op->r.expect_md5 : NULL,
			    op->s->sign_payload ? op->payload : NULL);
	if (ret)
		return ret;
	if (!op->s->sign_payload)
		memcpy(op->payload, S3_UNSIGNED, sizeof(S3_UNSIGNED));
	return op_hdr(op, "Content-MD5", "%s", md5);
}

static bool is_data_key(const char *key)
{
	return !strncmp(key, "data/", 5);
}

int op_new_object(struct s3op *op, const char *key)
{
	struct s3s *s = op->s;
	int ret = 0;

	if (s->storage_class && is_data_key(key))
		ret = op_hdr(op, "x-amz-storage-class", "%s", s->storage_class);
	if (!ret && s->sse)
		ret = op_hdr(op, "x-amz-server-side-encryption", "%s", s->sse);
	if (!ret && s->sse_kms_key_id)
		ret = op_hdr(op, "x-amz-server-side-encryption-aws-kms-key-id", "%s",
			     s->sse_kms_key_id);
	return ret;
}

int op_run(struct s3op *op)
{
	int ret = s3_http_run(op->s->http, &op->r);

	if (ret)
		s3_fail(ret, "%s", op->r.msg);
	return ret;
}

/* op_run_all(): @left ops still running */
struct op_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	size_t left;
};

static void op_wait_done(struct s3_hreq *r)
{
	struct op_wait *w = r->arg;

	pthread_mutex_lock(&w->lock);
	assert(w->left > 0);
	if (--w->left == 0)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

void op_run_all(struct s3s *s, struct s3op *ops, size_t n)
{
	struct op_wait w = {.left = n};

	if (!n)
		return;
	assert(!s3_http_is_loop(s->http));
	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	for (size_t i = 0; i < n; i++) {
		ops[i].r.done = op_wait_done;
		ops[i].r.arg = &w;
		s3_http_submit(s->http, &ops[i].r);
	}
	pthread_mutex_lock(&w.lock);
	while (w.left)
		pthread_cond_wait(&w.cond, &w.lock);
	pthread_mutex_unlock(&w.lock);
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
}
