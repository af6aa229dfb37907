// SPDX-License-Identifier: MIT
/*
 * s3/store_s3.c - the s3:// backend: S3 requests on the loop of http.c,
 * signed by sigv4.c with the credentials of creds.c.
 *
 * Every request is an "op": an s3_hreq plus what its prepare() needs to sign
 * it afresh on each attempt (canonical URI and query, payload hash, extra
 * headers). Blocking calls run an op on the loop and wait; asynchronous ones
 * (parts, ranged reads) finish on the loop thread.
 *
 * Payload hash: over https the body is sent as UNSIGNED-PAYLOAD (TLS and the
 * Content-MD5 every body carries protect it; see README.md for the
 * measurement); over plain http its SHA-256 is signed. FERRY_S3_PAYLOAD=signed
 * or =unsigned overrides the choice for https (benchmarks).
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "creds.h"
#include "http.h"
#include "s3_buf.h"
#include "s3_int.h"
#include "sigv4.h"
#include "xml.h"

#define XH_MAX	      8
#define XH_LEN	      160
#define LIST_PAGE     1000
#define DELETE_MAX    1000 /* items of one DeleteObjects request (S3's limit) */
#define DELETE_WINDOW 64   /* single DELETEs in flight at once, without DeleteObjects */

struct s3s {
	char *bucket;
	char *prefix; /* "" or "some/prefix/" */
	char *region;
	char *endpoint;	 /* as resolved, for messages */
	char *base;	 /* "scheme://authority" the URL starts with */
	char *host;	 /* Host header */
	char *base_path; /* "" or "/path" of the endpoint */
	bool path_style;
	bool https;
	bool sign_payload;
	char *storage_class;
	char *sse;
	char *sse_kms_key_id;
	char *ca_file;
	struct s3_creds creds;
	struct s3_http *http;
	atomic_bool no_delete_objects; /* the store answered NotImplemented to it */
};

/* One request with what signing it again needs. */
struct s3op {
	struct s3_hreq r;
	struct s3s *s;
	char *uri;   /* canonical URI */
	char *query; /* canonical query */
	char payload[S3_SHA256_HEX];
	struct s3_kv xh[XH_MAX];
	char xv[XH_MAX][XH_LEN];
	size_t nxh;
};

static struct s3s *s3s_of(struct s3_store *st)
{
	return st->priv;
}

/* ------------------------------------------------------------ ops */

static void op_hdr(struct s3op *op, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void op_hdr(struct s3op *op, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (op->nxh >= XH_MAX)
		return;
	va_start(ap, fmt);
	vsnprintf(op->xv[op->nxh], XH_LEN, fmt, ap);
	va_end(ap);
	op->xh[op->nxh].name = name;
	op->xh[op->nxh].value = op->xv[op->nxh];
	op->nxh++;
}

static struct curl_slist *op_prepare(struct s3_hreq *r, int *err)
{
	struct s3op *op = (struct s3op *)r;
	struct s3s *s = op->s;
	struct s3_kv h[XH_MAX + 4];
	struct s3_sigv4_req rq = {0};
	struct curl_slist *list = NULL, *l;
	char date[S3_AMZ_DATE_LEN], *auth = NULL;
	size_t n = 0;

	s3_amz_date(time(NULL), date);
	h[n++] = (struct s3_kv){"Host", s->host};
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

/*
 * op_init() - an op on @key (NULL: the bucket itself) with query @q
 * @key is relative to the repository root unless @raw_key.
 */
static int op_init(struct s3op *op, struct s3s *s, const char *method, const char *key,
		   bool raw_key, const struct s3_kv *q, size_t nq)
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
		 key && !raw_key ? s->prefix : "", key ? key : "");
	if (asprintf(&full, "%s%s", key && !raw_key ? s->prefix : "", key ? key : "") < 0) {
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
	if (s->path_style)
		ret = asprintf(&op->uri, "%s/%s%s%s", s->base_path, s->bucket, key ? "/" : "", enc);
	else
		ret = asprintf(&op->uri, "%s/%s", s->base_path, enc);
	if (ret < 0) {
		op->uri = NULL;
		ret = -ENOMEM;
		goto out;
	}
	ret = asprintf(&op->r.url, "%s%s%s%s", s->base, op->uri, op->query[0] ? "?" : "",
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

static void op_fini(struct s3op *op)
{
	s3_hreq_fini(&op->r);
	free(op->r.url);
	free(op->uri);
	free(op->query);
	op->r.url = op->uri = op->query = NULL;
}

/* The body of @op: Content-MD5 always, the SHA-256 when signing payloads. */
static int op_body(struct s3op *op, const void *buf, size_t len)
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
	op_hdr(op, "Content-MD5", "%s", md5);
	return 0;
}

/* Run @op and wait; a failure sets the calling thread's s3_last_error(). */
static int op_run(struct s3op *op)
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
	if (--w->left == 0)
		pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

/* Run @n ops at once and wait for all of them; each one's r.err says how it went. */
static void op_run_all(struct s3s *s, struct s3op *ops, size_t n)
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

static bool is_data_key(const char *key)
{
	return !strncmp(key, "data/", 5);
}

/* headers of a new object: storage class (data objects), SSE */
static void op_new_object(struct s3op *op, const char *key)
{
	struct s3s *s = op->s;

	if (s->storage_class && is_data_key(key))
		op_hdr(op, "x-amz-storage-class", "%s", s->storage_class);
	if (s->sse)
		op_hdr(op, "x-amz-server-side-encryption", "%s", s->sse);
	if (s->sse_kms_key_id)
		op_hdr(op, "x-amz-server-side-encryption-aws-kms-key-id", "%s", s->sse_kms_key_id);
}

/* ------------------------------------------------------------ objects */

static int s3s_mkroot(struct s3_store *st)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"list-type", "2"}, {"max-keys", "1"}, {"prefix", s->prefix}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "GET", NULL, false, q, 3);
	if (!ret) {
		op.r.control = true;
		snprintf(op.r.what, sizeof(op.r.what), "checking bucket s3://%s", s->bucket);
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

static int s3s_put(struct s3_store *st, const char *key, const void *buf, size_t len)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "PUT", key, false, NULL, 0);
	if (!ret)
		ret = op_body(&op, buf, len);
	if (!ret) {
		op.r.control = len < (1u << 20);
		op_new_object(&op, key);
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

static int s3s_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "GET", key, false, NULL, 0);
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
	int ret = op_init(op, s, "GET", key, false, NULL, 0);

	if (ret)
		return ret;
	op->r.dst = buf;
	op->r.dst_len = len;
	op->r.ranged = true;
	op->r.range_off = off;
	op->r.accept_416 = true;
	op_hdr(op, "Range", "bytes=%llu-%llu", (unsigned long long)off,
	       (unsigned long long)(off + len - 1));
	return 0;
}

static ssize_t s3s_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf,
			     size_t len)
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

static ssize_t s3s_get_tail(struct s3_store *st, const char *key, void *buf, size_t len,
			    uint64_t *size)
{
	struct s3op op;
	ssize_t ret;

	ret = op_init(&op, s3s_of(st), "GET", key, false, NULL, 0);
	if (ret)
		goto out;
	op.r.dst = buf;
	op.r.dst_len = len;
	op.r.accept_416 = true;
	op.r.control = true;
	op_hdr(&op, "Range", "bytes=-%zu", len);
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
	struct range_async *ra = (struct range_async *)r;
	int ret = r->err ? r->err : r->status == 416 ? 0 : (int)r->got;

	ra->done(ra->arg, ret, r->err ? r->msg : "");
	op_fini(&ra->op);
	free(ra);
}

static int s3s_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf,
			       size_t len, s3_done_fn done, void *arg)
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

static int s3s_head(struct s3_store *st, const char *key, uint64_t *size)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "HEAD", key, false, NULL, 0);
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

static int s3s_del(struct s3_store *st, const char *key)
{
	struct s3op op;
	int ret;

	ret = op_init(&op, s3s_of(st), "DELETE", key, false, NULL, 0);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

/* DeleteObjects (s3s_delete_objects()) is with versions and Object Lock below. */

/* ------------------------------------------------------------ listing */

struct list_ent {
	char *key;
	uint64_t size;
	int64_t mtime;
};

struct list_page {
	struct list_ent *e;
	size_t n, cap;
	struct list_ent cur;
	bool truncated;
	char *token;
	int err;
};

static int list_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct list_page *p = arg;

	(void)len;
	if (!strcmp(path, "ListBucketResult/Contents/Key")) {
		free(p->cur.key);
		p->cur.key = strdup(text);
		if (!p->cur.key)
			return -ENOMEM;
	} else if (!strcmp(path, "ListBucketResult/Contents/Size")) {
		if (s3_xml_u64(text, &p->cur.size))
			return -EBADMSG;
	} else if (!strcmp(path, "ListBucketResult/Contents/LastModified")) {
		if (s3_xml_time(text, &p->cur.mtime))
			p->cur.mtime = 0;
	} else if (!strcmp(path, "ListBucketResult/Contents")) {
		if (!p->cur.key)
			return -EBADMSG;
		if (s3_grow(&p->e, &p->cap, p->n + 1, sizeof(*p->e), 0))
			return -ENOMEM;
		p->e[p->n++] = p->cur;
		memset(&p->cur, 0, sizeof(p->cur));
	} else if (!strcmp(path, "ListBucketResult/IsTruncated")) {
		p->truncated = !strcmp(text, "true");
	} else if (!strcmp(path, "ListBucketResult/NextContinuationToken")) {
		free(p->token);
		p->token = strdup(text);
		if (!p->token)
			return -ENOMEM;
	}
	return 0;
}

static void list_page_clear(struct list_page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].key);
	free(p->cur.key);
	free(p->e);
	free(p->token);
	memset(p, 0, sizeof(*p));
}

static int s3s_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg)
{
	struct s3s *s = s3s_of(st);
	struct list_page pg = {0};
	char *full = NULL, *token = NULL, page[16];
	size_t plen = strlen(s->prefix);
	int ret;

	if (asprintf(&full, "%s%s", s->prefix, prefix) < 0)
		return -ENOMEM;
	snprintf(page, sizeof(page), "%u", st->page);
	for (;;) {
		struct s3_kv q[4] = {{"list-type", "2"}, {"prefix", full}, {"max-keys", page}};
		struct s3op op;
		size_t nq = 3;

		if (token)
			q[nq++] = (struct s3_kv){"continuation-token", token};
		ret = op_init(&op, s, "GET", NULL, false, q, nq);
		if (!ret) {
			op.r.control = true;
			op.r.resp_max = 16u << 20;
			op.r.expect_root = "ListBucketResult";
			snprintf(op.r.what, sizeof(op.r.what), "listing s3://%s/%s", s->bucket,
				 full);
			ret = op_run(&op);
		}
		if (!ret) {
			ret = s3_xml_parse(op.r.resp ? op.r.resp : "", op.r.resp_len, list_cb, &pg);
			if (ret == -EBADMSG)
				s3_fail(-EIO, "%s: the answer is not a ListObjectsV2 result",
					op.r.what);
			if (ret == -EBADMSG)
				ret = -EIO;
		}
		op_fini(&op);
		if (ret)
			break;
		for (size_t i = 0; i < pg.n && !ret; i++) {
			if (strncmp(pg.e[i].key, s->prefix, plen))
				continue;
			ret = fn(arg, pg.e[i].key + plen, pg.e[i].size, pg.e[i].mtime);
		}
		if (ret)
			break;
		free(token);
		token = pg.token;
		pg.token = NULL;
		if (!pg.truncated)
			break;
		if (!token || !token[0]) {
			ret = s3_fail(
				-EIO,
				"listing s3://%s/%s: truncated answer without a continuation token",
				s->bucket, full);
			break;
		}
		list_page_clear(&pg);
	}
	list_page_clear(&pg);
	free(token);
	free(full);
	return ret;
}

/* ------------------------------------------------------------ multipart */

enum { UP_CREATING, UP_READY, UP_FAILED };

/* What is known of a part number: nothing, listed by the store, queued here, sent here. */
enum { PART_NONE, PART_LISTED, PART_QUEUED, PART_SENT };

struct part_rec {
	char etag[S3_ETAG_SIZE];
	size_t len;
	unsigned char state;
};

static_assert(sizeof(((struct s3_hreq *)0)->etag) <= S3_ETAG_SIZE,
	      "an ETag header fits a part_rec");

struct s3up;

struct part_op {
	struct s3op op;
	struct s3up *u;
	unsigned int num;
	size_t len;
	s3_done_fn done;
	void *arg;
	struct part_op *next;
};

struct s3up {
	struct s3_upload up; /* first: store.c sees only this */
	struct s3s *s;
	char *key; /* relative to the repository root */
	size_t part_size;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* inflight drops, the create answers */
	int state;
	char *upload_id;
	int err; /* first error, sticky */
	char errmsg[384];
	unsigned int inflight;	 /* the create and every queued part */
	struct part_op *pending; /* parts waiting for the upload id */
	struct part_rec *parts;	 /* [num - 1], under lock */
	size_t cap;
	unsigned int nparts; /* s3_upload_set_nparts(), 0: the highest known */
	struct s3op create;
};

static void up_set_err(struct s3up *u, int err, const char *msg)
{
	if (u->err)
		return;
	u->err = err;
	snprintf(u->errmsg, sizeof(u->errmsg), "%s", msg);
}

static void up_put_inflight(struct s3up *u)
{
	pthread_mutex_lock(&u->lock);
	u->inflight--;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* Room for part @num's record; new records are PART_NONE. Under u->lock. */
static int up_grow(struct s3up *u, unsigned int num)
{
	size_t old = u->cap;
	int ret = s3_grow(&u->parts, &u->cap, num, sizeof(*u->parts), S3_UPLOAD_MAX_PARTS);

	if (ret)
		return ret == -EOVERFLOW ? -EINVAL : ret;
	memset(u->parts + old, 0, (u->cap - old) * sizeof(*u->parts));
	return 0;
}

static void part_done(struct s3_hreq *r)
{
	struct part_op *po = (struct part_op *)r;
	struct s3up *u = po->u;
	int err = r->err;
	const char *msg = r->msg;
	char tmp[384];

	if (!err && !r->etag[0]) {
		err = -EIO;
		snprintf(tmp, sizeof(tmp), "%s part %u: no ETag in the answer", u->key, po->num);
		msg = tmp;
	}
	pthread_mutex_lock(&u->lock);
	if (err) {
		up_set_err(u, err, msg);
		u->parts[po->num - 1].state = PART_NONE;
	} else {
		struct part_rec *p = &u->parts[po->num - 1];

		memcpy(p->etag, r->etag, sizeof(r->etag));
		p->len = po->len;
		p->state = PART_SENT;
	}
	pthread_mutex_unlock(&u->lock);
	po->done(po->arg, err, err ? msg : "");
	op_fini(&po->op);
	free(po);
	up_put_inflight(u);
}

/* URL of part @po, now that the upload id is known */
static int part_submit(struct s3up *u, struct part_op *po)
{
	char num[16];
	struct s3_kv q[] = {{"partNumber", num}, {"uploadId", u->upload_id}};
	struct s3op *op = &po->op;
	char *query = NULL, *url = NULL;
	int ret;

	/* op_init() ran at queueing without the query: redo the URL part */
	snprintf(num, sizeof(num), "%u", po->num);
	query = s3_query_build(q, 2);
	if (!query)
		return -ENOMEM;
	ret = asprintf(&url, "%s%s?%s", u->s->base, op->uri, query);
	if (ret < 0) {
		free(query);
		return -ENOMEM;
	}
	free(op->query);
	free(op->r.url);
	op->query = query;
	op->r.url = url;
	op->r.on_upload = true;
	snprintf(op->r.what, sizeof(op->r.what), "PUT s3://%s/%s%s part %u", u->s->bucket,
		 u->s->prefix, u->key, po->num);
	s3_http_submit(u->s->http, &op->r);
	return 0;
}

struct upload_id_ctx {
	char *id;
};

static int upload_id_cb(void *arg, const char *path, const char *text, size_t len)
{
	struct upload_id_ctx *c = arg;

	if (strcmp(path, "InitiateMultipartUploadResult/UploadId") || !len)
		return 0;
	free(c->id);
	c->id = strdup(text);
	return c->id ? 0 : -ENOMEM;
}

static void create_done(struct s3_hreq *r)
{
	struct s3up *u = (struct s3up *)((char *)r - offsetof(struct s3up, create));
	struct part_op *list, *po;
	char *id = NULL;
	int err = r->err;
	char msg[384];

	snprintf(msg, sizeof(msg), "%s", r->msg);
	if (!err) {
		struct upload_id_ctx c = {0};

		if (!s3_xml_parse(r->resp ? r->resp : "", r->resp_len, upload_id_cb, &c))
			id = c.id;
		else
			free(c.id);
		if (!id) {
			err = -EIO;
			snprintf(msg, sizeof(msg),
				 "creating the upload of %s: no UploadId in the answer", u->key);
		}
	}
	pthread_mutex_lock(&u->lock);
	if (err) {
		u->state = UP_FAILED;
		up_set_err(u, err, msg);
	} else {
		u->upload_id = id;
		u->state = UP_READY;
	}
	list = u->pending;
	u->pending = NULL;
	pthread_cond_broadcast(&u->cond); /* s3_upload_id() waits for this */
	pthread_mutex_unlock(&u->lock);
	while ((po = list)) {
		int e = err;

		list = po->next;
		if (!e && !part_submit(u, po))
			continue;
		if (!e) {
			e = -ENOMEM;
			snprintf(msg, sizeof(msg), "%s part %u: out of memory", u->key, po->num);
			pthread_mutex_lock(&u->lock);
			up_set_err(u, e, msg);
			pthread_mutex_unlock(&u->lock);
		}
		pthread_mutex_lock(&u->lock);
		u->parts[po->num - 1].state = PART_NONE;
		pthread_mutex_unlock(&u->lock);
		po->done(po->arg, e, msg);
		op_fini(&po->op);
		free(po);
		up_put_inflight(u);
	}
	s3_hreq_fini(r);
	up_put_inflight(u);
}

static void up_free(struct s3up *u)
{
	op_fini(&u->create);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u->upload_id);
	free(u->parts);
	free(u->key);
	free(u);
}

/* A new upload object, not yet created nor resumed. */
static int up_alloc(struct s3_store *st, const char *key, size_t part_size, const char *verb,
		    struct s3up **out)
{
	struct s3up *u;

	*out = NULL;
	if (part_size < S3_PART_MIN)
		return s3_fail(-EINVAL, "%s of %s: parts of %zu bytes, S3 needs at least 5 MiB",
			       verb, key, part_size);
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->up.st = st;
	u->s = s3s_of(st);
	u->part_size = part_size;
	u->key = strdup(key);
	if (!u->key) {
		free(u);
		return -ENOMEM;
	}
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	*out = u;
	return 0;
}

static int s3s_upload_new(struct s3_store *st, const char *key, size_t part_size,
			  struct s3_upload **out)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"uploads", NULL}};
	struct s3up *u;
	int ret;

	ret = up_alloc(st, key, part_size, "upload", &u);
	if (ret)
		return ret;
	ret = op_init(&u->create, s, "POST", key, false, q, 1);
	if (ret) {
		up_free(u);
		return ret;
	}
	op_new_object(&u->create, key);
	u->create.r.control = true;
	u->create.r.expect_root = "InitiateMultipartUploadResult";
	u->create.r.done = create_done;
	snprintf(u->create.r.what, sizeof(u->create.r.what), "creating the upload of s3://%s/%s%s",
		 s->bucket, s->prefix, key);
	u->state = UP_CREATING;
	u->inflight = 1;
	s3_http_submit(s->http, &u->create.r);
	*out = &u->up;
	return 0;
}

static int s3s_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
			   s3_done_fn done, void *arg)
{
	struct s3up *u = (struct s3up *)up;
	struct part_op *po;
	bool now;
	int ret;

	if (len > u->part_size)
		return -EINVAL;
	pthread_mutex_lock(&u->lock);
	ret = u->err ? -ECANCELED : up_grow(u, num);
	pthread_mutex_unlock(&u->lock);
	if (ret)
		return ret;
	po = calloc(1, sizeof(*po));
	if (!po)
		return -ENOMEM;
	ret = op_init(&po->op, u->s, "PUT", u->key, false, NULL, 0);
	if (!ret)
		ret = op_body(&po->op, buf, len); /* hashed here, on the caller's thread */
	if (ret) {
		op_fini(&po->op);
		free(po);
		return ret;
	}
	po->u = u;
	po->num = num;
	po->len = len;
	po->done = done;
	po->arg = arg;
	po->op.r.done = part_done;
	pthread_mutex_lock(&u->lock);
	if (u->err) {
		pthread_mutex_unlock(&u->lock);
		op_fini(&po->op);
		free(po);
		return -ECANCELED;
	}
	u->inflight++;
	/* from now on this part replaces whatever the store listed for @num */
	u->parts[num - 1].state = PART_QUEUED;
	now = u->state == UP_READY;
	if (!now) {
		po->next = u->pending;
		u->pending = po;
	}
	pthread_mutex_unlock(&u->lock);
	if (now && part_submit(u, po)) {
		pthread_mutex_lock(&u->lock);
		u->parts[num - 1].state = PART_NONE;
		pthread_mutex_unlock(&u->lock);
		op_fini(&po->op);
		free(po);
		up_put_inflight(u);
		return -ENOMEM;
	}
	return 0;
}

static void up_wait_idle(struct s3up *u)
{
	pthread_mutex_lock(&u->lock);
	while (u->inflight)
		pthread_cond_wait(&u->cond, &u->lock);
	pthread_mutex_unlock(&u->lock);
}

/* Wait for CreateMultipartUpload; 0 with the id known, or its error (s3_last_error() set). */
static int up_wait_created(struct s3up *u)
{
	int ret = 0;

	assert(!s3_http_is_loop(u->s->http));
	pthread_mutex_lock(&u->lock);
	while (u->state == UP_CREATING)
		pthread_cond_wait(&u->cond, &u->lock);
	if (u->state == UP_FAILED)
		ret = s3_fail(u->err ? u->err : -EIO, "%s", u->errmsg);
	pthread_mutex_unlock(&u->lock);
	return ret;
}

static int s3s_upload_id(struct s3_upload *up, const char **id)
{
	struct s3up *u = (struct s3up *)up;
	int ret = up_wait_created(u);

	if (!ret)
		*id = u->upload_id;
	return ret;
}

static const struct s3_xml_page_spec parts_spec = {
	.root = "ListPartsResult",
	.entry = {"Part"},
	.field = {"PartNumber", "Size", "ETag"},
	.top = {"IsTruncated", "NextPartNumberMarker"},
};

/* Run the listing @op and read its answer, of shape @spec, into @pg. */
static int op_page(struct s3op *op, const struct s3_xml_page_spec *spec, struct s3_xml_page *pg)
{
	int ret;

	op->r.control = true;
	op->r.resp_max = 16u << 20;
	op->r.expect_root = spec->root;
	ret = op_run(op);
	if (ret)
		return ret;
	ret = s3_xml_page_parse(op->r.resp ? op->r.resp : "", op->r.resp_len, spec, pg);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return s3_fail(-EIO, "%s: the answer is not a %s", op->r.what, spec->root);
	return 0;
}

static bool page_is_truncated(const struct s3_xml_page *pg)
{
	return pg->top[0] && !strcmp(pg->top[0], "true");
}

/* A part the store holds: counted in unless this process queued or sent its own. */
static int up_record_listed(struct s3up *u, unsigned int num, uint64_t size, const char *etag)
{
	int ret;

	pthread_mutex_lock(&u->lock);
	ret = up_grow(u, num);
	if (!ret && u->parts[num - 1].state <= PART_LISTED) {
		struct part_rec *p = &u->parts[num - 1];

		snprintf(p->etag, sizeof(p->etag), "%s", etag);
		p->len = (size_t)size;
		p->state = PART_LISTED;
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

/* ListParts, every page: count the parts in, and tell @fn (if any) of each. */
static int up_list_parts(struct s3up *u, s3_part_fn fn, void *arg)
{
	struct s3s *s = u->s;
	char page[16], marker[16] = "";
	uint64_t last = 0;
	int ret = 0;

	snprintf(page, sizeof(page), "%u", u->up.st->page);
	for (;;) {
		struct s3_kv q[3] = {{"uploadId", u->upload_id}, {"max-parts", page}};
		struct s3_xml_page pg = {0};
		struct s3op op;
		size_t nq = 2;

		if (marker[0])
			q[nq++] = (struct s3_kv){"part-number-marker", marker};
		ret = op_init(&op, s, "GET", u->key, false, q, nq);
		if (!ret) {
			op.r.on_upload = true;
			snprintf(op.r.what, sizeof(op.r.what),
				 "listing the parts of upload %.40s of s3://%s/%s%s", u->upload_id,
				 s->bucket, s->prefix, u->key);
			ret = op_page(&op, &parts_spec, &pg);
		}
		for (size_t i = 0; !ret && i < pg.n; i++) {
			const struct s3_xml_entry *e = &pg.e[i];
			uint64_t num, size;

			if (!e->f[0] || s3_xml_u64(e->f[0], &num) || num < 1 ||
			    num > S3_UPLOAD_MAX_PARTS || !e->f[1] || s3_xml_u64(e->f[1], &size) ||
			    size > SIZE_MAX || !e->f[2] || !e->f[2][0] ||
			    strlen(e->f[2]) >= S3_ETAG_SIZE) {
				ret = s3_fail(-EIO,
					      "%s: a part without a valid number, size or ETag",
					      op.r.what);
				break;
			}
			ret = up_record_listed(u, (unsigned int)num, size, e->f[2]);
			if (!ret && fn)
				ret = fn(arg, (unsigned int)num, size, e->f[2]);
		}
		if (!ret && page_is_truncated(&pg)) {
			uint64_t next;

			if (!pg.top[1] || s3_xml_u64(pg.top[1], &next) || next <= last ||
			    next > S3_UPLOAD_MAX_PARTS)
				ret = s3_fail(
					-EIO,
					"%s: truncated answer without a usable NextPartNumberMarker",
					op.r.what);
			else
				snprintf(marker, sizeof(marker), "%llu",
					 (unsigned long long)(last = next));
		} else if (!ret) {
			marker[0] = '\0';
		}
		op_fini(&op);
		s3_xml_page_fini(&pg);
		if (ret || !marker[0])
			break;
	}
	return ret;
}

static int s3s_upload_resume(struct s3_store *st, const char *key, const char *upload_id,
			     size_t part_size, struct s3_upload **out)
{
	struct s3up *u;
	int ret;

	ret = up_alloc(st, key, part_size, "resume", &u);
	if (ret)
		return ret;
	u->upload_id = strdup(upload_id);
	if (!u->upload_id) {
		up_free(u);
		return -ENOMEM;
	}
	u->state = UP_READY;
	ret = up_list_parts(u, NULL, NULL);
	if (ret) {
		up_free(u);
		return ret;
	}
	*out = &u->up;
	return 0;
}

static int s3s_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg)
{
	struct s3up *u = (struct s3up *)up;
	int ret = up_wait_created(u);

	return ret ? ret : up_list_parts(u, fn, arg);
}

static int s3s_upload_part_etag(struct s3_upload *up, unsigned int num, char *etag)
{
	struct s3up *u = (struct s3up *)up;
	int ret = -ENOENT;

	pthread_mutex_lock(&u->lock);
	if (num <= u->cap &&
	    (u->parts[num - 1].state == PART_SENT || u->parts[num - 1].state == PART_LISTED)) {
		memcpy(etag, u->parts[num - 1].etag, S3_ETAG_SIZE);
		ret = 0;
	}
	pthread_mutex_unlock(&u->lock);
	return ret;
}

static int s3s_upload_set_nparts(struct s3_upload *up, unsigned int n)
{
	struct s3up *u = (struct s3up *)up;

	pthread_mutex_lock(&u->lock);
	u->nparts = n;
	pthread_mutex_unlock(&u->lock);
	return 0;
}

static int abort_upload(struct s3s *s, const char *key, bool raw_key, const char *upload_id)
{
	struct s3_kv q[] = {{"uploadId", upload_id}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "DELETE", key, raw_key, q, 1);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		snprintf(op.r.what, sizeof(op.r.what), "aborting the upload of s3://%s/%s%s",
			 s->bucket, raw_key ? "" : s->prefix, key);
		ret = op_run(&op);
	}
	op_fini(&op);
	return ret;
}

/* After a lost answer to Complete, a retry finds no upload: did the first one land? */
static bool up_landed(struct s3up *u, uint64_t size)
{
	struct s3op op;
	bool ok = false;

	if (op_init(&op, u->s, "HEAD", u->key, false, NULL, 0) == 0) {
		op.r.control = true;
		ok = s3_http_run(u->s->http, &op.r) == 0 && op.r.has_length &&
		     op.r.content_length == size;
	}
	op_fini(&op);
	return ok;
}

/* the first part known beyond part @n (listed: an earlier run's), 0 if none */
static unsigned int up_beyond(const struct s3up *u, unsigned int n)
{
	for (unsigned int i = n; i < u->cap; i++)
		if (u->parts[i].state != PART_NONE)
			return i + 1;
	return 0;
}

static int s3s_upload_complete(struct s3_upload *up)
{
	struct s3up *u = (struct s3up *)up;
	struct s3_kv q[1];
	struct s3_sbuf b = {0};
	struct s3op op;
	unsigned int n = 0;
	uint64_t size = 0;
	char num[16];
	int ret;

	memset(&op, 0, sizeof(op));
	up_wait_idle(u);
	if (u->err) {
		ret = s3_fail(u->err, "%s", u->errmsg);
		goto out_abort;
	}
	/* the parts: 1..nparts, else 1..the highest known (sent here or listed) */
	n = u->nparts;
	for (unsigned int i = 0; !n && i < u->cap; i++)
		if (u->parts[i].state != PART_NONE)
			n = i + 1;
	if (!u->nparts)
		for (unsigned int i = n; i < u->cap; i++)
			if (u->parts[i].state != PART_NONE)
				n = i + 1;
	for (unsigned int i = 0; i < n; i++) {
		if (i >= u->cap || u->parts[i].state == PART_NONE) {
			ret = s3_fail(-EINVAL, "upload of %s: part %u is missing (parts 1..%u)",
				      u->key, i + 1, n);
			goto out_abort;
		}
		if (i + 1 < n && u->parts[i].len != u->part_size) {
			ret = s3_fail(-EINVAL, "upload of %s: part %u has %zu bytes, not %zu",
				      u->key, i + 1, u->parts[i].len, u->part_size);
			goto out_abort;
		}
		size += u->parts[i].len;
	}
	if (!n) {
		ret = s3_fail(-EINVAL, "upload of %s: no parts", u->key);
		goto out_abort;
	}
	s3_xml_begin(&b, "CompleteMultipartUpload");
	for (unsigned int i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%u", i + 1);
		s3_xml_open(&b, "Part");
		s3_xml_element(&b, "PartNumber", num);
		s3_xml_element(&b, "ETag", u->parts[i].etag);
		s3_xml_close(&b, "Part");
	}
	s3_xml_close(&b, "CompleteMultipartUpload");
	if (b.err) {
		ret = b.err;
		goto out_abort;
	}
	q[0] = (struct s3_kv){"uploadId", u->upload_id};
	ret = op_init(&op, u->s, "POST", u->key, false, q, 1);
	if (!ret)
		ret = op_body(&op, b.p, b.len);
	if (ret)
		goto out_abort;
	op.r.control = true;
	op.r.check_200_error = true;
	op.r.expect_root = "CompleteMultipartUploadResult";
	op.r.on_upload = true;
	op_hdr(&op, "Content-Type", "application/xml");
	snprintf(op.r.what, sizeof(op.r.what), "completing the upload of s3://%s/%s%s",
		 u->s->bucket, u->s->prefix, u->key);
	ret = s3_http_run(u->s->http, &op.r);
	if (ret == -ENOENT && op.r.attempts > 1 && up_landed(u, size))
		ret = 0;
	if (ret == -EREMOTEIO && !strcmp(op.r.s3err.code, "InvalidPart") && up_beyond(u, n)) {
		/* S3 drops parts a completion leaves out; Ceph RGW refuses (16.2) */
		ret = s3_fail(
			ret,
			"%s: the store will not leave out part %u and later ones, of an earlier run beyond the end (part %u): start the upload over",
			op.r.what, up_beyond(u, n), n);
		goto out_abort;
	}
	if (ret) {
		s3_fail(ret, "%s", op.r.msg);
		goto out_abort;
	}
	goto out;
out_abort:
	if (u->upload_id) {
		char keep[512];

		snprintf(keep, sizeof(keep), "%s", s3_last_error());
		abort_upload(u->s, u->key, false, u->upload_id);
		s3_fail(ret, "%s", keep);
	}
out:
	s3_sb_free(&b);
	op_fini(&op);
	up_free(u);
	return ret;
}

static void s3s_upload_abort(struct s3_upload *up)
{
	struct s3up *u = (struct s3up *)up;

	up_wait_idle(u);
	if (u->upload_id)
		abort_upload(u->s, u->key, false, u->upload_id);
	up_free(u);
}

static void s3s_upload_detach(struct s3_upload *up)
{
	struct s3up *u = (struct s3up *)up;

	up_wait_idle(u);
	pr_debug("s3: leaving upload %s of s3://%s/%s%s for a later resume",
		 u->upload_id ? u->upload_id : "(none)", u->s->bucket, u->s->prefix, u->key);
	up_free(u);
}

/* ------------------------------------------------------- unfinished uploads */

static const struct s3_xml_page_spec uploads_spec = {
	.root = "ListMultipartUploadsResult",
	.entry = {"Upload"},
	.field = {"Key", "UploadId", "Initiated"},
	.top = {"IsTruncated", "NextKeyMarker", "NextUploadIdMarker"},
};

/*
 * The next page of a listing with a key marker and a second marker
 * (upload id, version id): both must move on, or the listing would loop.
 */
static int next_markers(const struct s3_xml_page *pg, const char *what, char **key_marker,
			char **id_marker)
{
	const char *k = pg->top[1] ? pg->top[1] : "", *v = pg->top[2] ? pg->top[2] : "";
	char *nk, *nv;

	if ((!k[0] && !v[0]) ||
	    (*key_marker && !strcmp(*key_marker, k) && *id_marker && !strcmp(*id_marker, v)))
		return s3_fail(-EIO, "%s: truncated answer without new markers", what);
	nk = strdup(k);
	nv = strdup(v);
	if (!nk || !nv) {
		free(nk);
		free(nv);
		return -ENOMEM;
	}
	free(*key_marker);
	free(*id_marker);
	*key_marker = nk;
	*id_marker = nv;
	return 0;
}

static int s3s_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn,
			    void *arg)
{
	struct s3s *s = s3s_of(st);
	char *full = NULL, *km = NULL, *im = NULL, page[16];
	size_t plen = strlen(s->prefix);
	bool more = true;
	int ret = 0;

	if (asprintf(&full, "%s%s", s->prefix, prefix) < 0)
		return -ENOMEM;
	snprintf(page, sizeof(page), "%u", st->page);
	while (!ret && more) {
		struct s3_kv q[5] = {{"uploads", NULL}, {"prefix", full}, {"max-uploads", page}};
		struct s3_xml_page pg = {0};
		struct s3op op;
		size_t nq = 3;

		if (km) {
			q[nq++] = (struct s3_kv){"key-marker", km};
			q[nq++] = (struct s3_kv){"upload-id-marker", im};
		}
		ret = op_init(&op, s, "GET", NULL, false, q, nq);
		if (!ret) {
			snprintf(op.r.what, sizeof(op.r.what), "listing the uploads of s3://%s/%s",
				 s->bucket, full);
			ret = op_page(&op, &uploads_spec, &pg);
		}
		for (size_t i = 0; !ret && i < pg.n; i++) {
			const struct s3_xml_entry *e = &pg.e[i];
			int64_t t = 0;

			if (!e->f[0] || !e->f[1] || !e->f[1][0]) {
				ret = s3_fail(-EIO, "%s: an upload without a key or an id",
					      op.r.what);
				break;
			}
			if (strncmp(e->f[0], s->prefix, plen) || !e->f[0][plen])
				continue;
			if (!e->f[2] || s3_xml_time(e->f[2], &t))
				t = 0;
			ret = fn(arg, e->f[0] + plen, e->f[1], t);
		}
		more = !ret && page_is_truncated(&pg);
		if (more)
			ret = next_markers(&pg, op.r.what, &km, &im);
		op_fini(&op);
		s3_xml_page_fini(&pg);
	}
	free(km);
	free(im);
	free(full);
	return ret;
}

static int s3s_abort_upload(struct s3_store *st, const char *key, const char *upload_id)
{
	return abort_upload(s3s_of(st), key, false, upload_id);
}

/* ----------------------------------------------------- versions, Object Lock */

static const struct s3_xml_page_spec versioning_spec = {
	.root = "VersioningConfiguration",
	.top = {"Status"},
};

static int s3s_versioning(struct s3_store *st, enum s3_versioning *state)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"versioning", NULL}};
	struct s3_xml_page pg = {0};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "GET", NULL, false, q, 1);
	if (!ret) {
		snprintf(op.r.what, sizeof(op.r.what), "reading the versioning of bucket s3://%s",
			 s->bucket);
		ret = op_page(&op, &versioning_spec, &pg);
	}
	if (!ret) {
		const char *v = pg.top[0] ? pg.top[0] : "";

		if (!strcmp(v, "Enabled"))
			*state = S3_VERSIONING_ENABLED;
		else if (!strcmp(v, "Suspended"))
			*state = S3_VERSIONING_SUSPENDED;
		else if (!v[0])
			*state = S3_VERSIONING_OFF;
		else
			ret = s3_fail(-EIO, "%s: unknown status '%s'", op.r.what, v);
	}
	op_fini(&op);
	s3_xml_page_fini(&pg);
	return ret;
}

static const struct s3_xml_page_spec versions_spec = {
	.root = "ListVersionsResult",
	.entry = {"Version", "DeleteMarker"},
	.field = {"Key", "VersionId", "IsLatest", "Size", "LastModified"},
	.top = {"IsTruncated", "NextKeyMarker", "NextVersionIdMarker"},
};

static int s3s_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg)
{
	struct s3s *s = s3s_of(st);
	char *full = NULL, *km = NULL, *vm = NULL, page[16];
	size_t plen = strlen(s->prefix);
	bool more = true;
	int ret = 0;

	if (asprintf(&full, "%s%s", s->prefix, prefix) < 0)
		return -ENOMEM;
	snprintf(page, sizeof(page), "%u", st->page);
	while (!ret && more) {
		struct s3_kv q[5] = {{"versions", NULL}, {"prefix", full}, {"max-keys", page}};
		struct s3_xml_page pg = {0};
		struct s3op op;
		size_t nq = 3;

		if (km) {
			q[nq++] = (struct s3_kv){"key-marker", km};
			q[nq++] = (struct s3_kv){"version-id-marker", vm};
		}
		ret = op_init(&op, s, "GET", NULL, false, q, nq);
		if (!ret) {
			snprintf(op.r.what, sizeof(op.r.what), "listing the versions of s3://%s/%s",
				 s->bucket, full);
			ret = op_page(&op, &versions_spec, &pg);
		}
		for (size_t i = 0; !ret && i < pg.n; i++) {
			const struct s3_xml_entry *e = &pg.e[i];
			bool marker = e->kind == 1;
			uint64_t size = 0;
			int64_t t = 0;

			if (!e->f[0] || !e->f[1] || !e->f[1][0] ||
			    (!marker && (!e->f[3] || s3_xml_u64(e->f[3], &size)))) {
				ret = s3_fail(-EIO, "%s: a version without a key, an id or a size",
					      op.r.what);
				break;
			}
			if (strncmp(e->f[0], s->prefix, plen) || !e->f[0][plen])
				continue;
			if (!e->f[4] || s3_xml_time(e->f[4], &t))
				t = 0;
			ret = fn(arg, e->f[0] + plen, e->f[1], e->f[2] && !strcmp(e->f[2], "true"),
				 marker, size, t);
		}
		more = !ret && page_is_truncated(&pg);
		if (more)
			ret = next_markers(&pg, op.r.what, &km, &vm);
		op_fini(&op);
		s3_xml_page_fini(&pg);
	}
	free(km);
	free(vm);
	free(full);
	return ret;
}

/* HEAD of one version; on failure @msg says why (the calling thread's error is not touched). */
static int head_version(struct s3s *s, const char *key, const char *version_id,
			struct s3_version_info *info, char *msg, size_t msglen)
{
	struct s3_kv q[] = {{"versionId", version_id}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "HEAD", key, false, q, 1);
	if (!ret) {
		op.r.control = true;
		snprintf(op.r.what, sizeof(op.r.what), "HEAD s3://%s/%s%s version %.64s", s->bucket,
			 s->prefix, key, version_id);
		ret = s3_http_run(s->http, &op.r);
		if (ret)
			snprintf(msg, msglen, "%s", op.r.msg);
	} else {
		snprintf(msg, msglen, "HEAD of %s: %s", key, strerror(-ret));
	}
	if (!ret) {
		info->size = op.r.has_length ? op.r.content_length : 0;
		info->mtime = op.r.last_modified;
		snprintf(info->lock_mode, sizeof(info->lock_mode), "%s", op.r.lock_mode);
		if (op.r.lock_until[0] && s3_xml_time(op.r.lock_until, &info->retain_until))
			info->retain_until = 0;
		info->legal_hold = op.r.legal_hold;
	}
	op_fini(&op);
	return ret;
}

static int s3s_head_version(struct s3_store *st, const char *key, const char *version_id,
			    struct s3_version_info *info)
{
	char msg[384];
	int ret = head_version(s3s_of(st), key, version_id, info, msg, sizeof(msg));

	return ret ? s3_fail(ret, "%s", msg) : 0;
}

/*
 * What Object Lock holds @version_id of @key by, from a HEAD of it:
 * "GOVERNANCE retention until 2026-12-06T22:58:05Z", ", a legal hold";
 * "" if nothing holds it, or the HEAD failed.
 */
static void lock_holds(struct s3s *s, const char *key, const char *version_id, char *buf,
		       size_t len)
{
	struct s3_version_info vi = {0};
	char until[32] = "", msg[384];
	struct tm tm;
	time_t t;

	buf[0] = '\0';
	if (head_version(s, key, version_id, &vi, msg, sizeof(msg)))
		return;
	t = (time_t)vi.retain_until;
	if (vi.retain_until && gmtime_r(&t, &tm))
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (until[0] || vi.legal_hold)
		snprintf(buf, len, "%s%s%s%s%s", vi.lock_mode, until[0] ? " retention until " : "",
			 until, until[0] && vi.legal_hold ? ", " : "",
			 vi.legal_hold ? "a legal hold" : "");
}

static int s3s_delete_version(struct s3_store *st, const char *key, const char *version_id)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"versionId", version_id}};
	struct s3op op;
	char msg[sizeof(op.r.msg)], holds[128];
	int ret;

	ret = op_init(&op, s, "DELETE", key, false, q, 1);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		snprintf(op.r.what, sizeof(op.r.what), "deleting s3://%s/%s%s version %.64s",
			 s->bucket, s->prefix, key, version_id);
		ret = op_run(&op);
	}
	snprintf(msg, sizeof(msg), "%s", op.r.msg);
	op_fini(&op);
	/* refused: say until when Object Lock keeps it, if the store tells */
	if (ret == -EACCES) {
		lock_holds(s, key, version_id, holds, sizeof(holds));
		if (holds[0])
			return s3_fail(ret, "%s; %s", msg, holds);
	}
	if (ret)
		return s3_fail(ret, "%s", msg);
	return 0;
}

/* --------------------------------------------------------- DeleteObjects */

/* fields of an answer's entries ("Deleted" and "Error"), by name */
enum { DR_KEY, DR_VERSION_ID, DR_CODE, DR_MESSAGE };
enum { DR_DELETED, DR_ERROR };

static const struct s3_xml_page_spec delete_result_spec = {
	.root = "DeleteResult",
	.entry = {[DR_DELETED] = "Deleted", [DR_ERROR] = "Error"},
	.field = {[DR_KEY] = "Key",
		  [DR_VERSION_ID] = "VersionId",
		  [DR_CODE] = "Code",
		  [DR_MESSAGE] = "Message"},
};

/*
 * Hand one item's outcome to @fn: the server's @code and @message, and for
 * a refused version the Object Lock that holds it (a HEAD of it: Ceph RGW's
 * DeleteObjects says no more than "AccessDenied").
 */
static void delete_report(struct s3s *s, const struct s3_delete_item *it, int err, const char *code,
			  const char *message, s3_delete_result_fn fn, void *arg)
{
	char detail[512] = "", holds[128] = "";

	if (err == -EACCES && it->version_id)
		lock_holds(s, it->key, it->version_id, holds, sizeof(holds));
	if (err)
		snprintf(detail, sizeof(detail), "%s%s%s%s%s", code, message[0] ? ": " : "",
			 message, holds[0] ? "; protected by Object Lock: " : "", holds);
	fn(arg, it, err, detail);
}

static int item_cmp(const void *a, const void *b)
{
	const struct s3_delete_item *x = *(const struct s3_delete_item *const *)a;
	const struct s3_delete_item *y = *(const struct s3_delete_item *const *)b;
	int c = strcmp(x->key, y->key);

	return c ? c
		 : strcmp(x->version_id ? x->version_id : "", y->version_id ? y->version_id : "");
}

/*
 * The item an answer entry is about: @key and @vid ("" none) as sent, else
 * (a store that leaves the version id out, or adds one) the first item of
 * that key not yet answered. @by: the items sorted by item_cmp(); NULL if none.
 */
static const struct s3_delete_item *delete_match(const struct s3_delete_item **by, size_t n,
						 const bool *answered,
						 const struct s3_delete_item *base, const char *key,
						 const char *vid)
{
	const struct s3_delete_item *any = NULL;
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(by[mid]->key, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < n && !strcmp(by[i]->key, key); i++) {
		if (answered[by[i] - base])
			continue;
		if (!strcmp(by[i]->version_id ? by[i]->version_id : "", vid))
			return by[i];
		if (!any)
			any = by[i];
	}
	return any;
}

/* The DeleteObjects body of @n items: every item answered (Quiet off). */
static int delete_body(struct s3s *s, const struct s3_delete_item *items, size_t n,
		       struct s3_sbuf *b)
{
	s3_xml_begin(b, "Delete");
	s3_xml_element(b, "Quiet", "false");
	for (size_t i = 0; i < n; i++) {
		s3_xml_open(b, "Object");
		s3_xml_open(b, "Key");
		s3_xml_escape(b, s->prefix);
		s3_xml_escape(b, items[i].key);
		s3_xml_close(b, "Key");
		if (items[i].version_id)
			s3_xml_element(b, "VersionId", items[i].version_id);
		s3_xml_close(b, "Object");
	}
	s3_xml_close(b, "Delete");
	return b->err;
}

/*
 * One DeleteObjects request of @n <= DELETE_MAX items. Return: 0 (every item
 * told to @fn); -EOPNOTSUPP if the store does not implement it (no item
 * told); another error of the request as a whole (s3_last_error() set).
 */
static int delete_batch(struct s3s *s, const struct s3_delete_item *items, size_t n,
			s3_delete_result_fn fn, void *arg)
{
	struct s3_kv q[] = {{"delete", NULL}};
	const struct s3_delete_item **by = NULL;
	struct s3_xml_page pg = {0};
	struct s3_sbuf b = {0};
	bool *answered = NULL;
	size_t plen = strlen(s->prefix);
	struct s3op op;
	int ret;

	assert(n && n <= DELETE_MAX);
	ret = op_init(&op, s, "POST", NULL, false, q, 1);
	if (!ret)
		ret = delete_body(s, items, n, &b);
	if (!ret)
		ret = op_body(&op, b.p, b.len);
	if (ret)
		goto out;
	op.r.control = true;
	op.r.check_200_error = true;
	op.r.resp_max = 16u << 20;
	op.r.expect_root = delete_result_spec.root;
	op_hdr(&op, "Content-Type", "application/xml");
	snprintf(op.r.what, sizeof(op.r.what), "deleting %zu objects of s3://%s/%s", n, s->bucket,
		 s->prefix);
	ret = s3_http_run(s->http, &op.r);
	if (ret == -EOPNOTSUPP &&
	    (op.r.status == 501 || !strcmp(op.r.s3err.code, "NotImplemented")))
		goto out;
	if (ret) {
		s3_fail(ret, "%s", op.r.msg);
		goto out;
	}
	ret = s3_xml_page_parse(op.r.resp ? op.r.resp : "", op.r.resp_len, &delete_result_spec,
				&pg);
	if (ret) {
		ret = ret == -ENOMEM
			      ? ret
			      : s3_fail(-EIO, "%s: the answer is not a DeleteResult", op.r.what);
		goto out;
	}
	by = calloc(n, sizeof(*by));
	answered = calloc(n, sizeof(*answered));
	if (!by || !answered) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		by[i] = &items[i];
	qsort(by, n, sizeof(*by), item_cmp);
	for (size_t i = 0; i < pg.n; i++) {
		const struct s3_xml_entry *e = &pg.e[i];
		const char *key = e->f[DR_KEY] ? e->f[DR_KEY] : "";
		const char *vid = e->f[DR_VERSION_ID] ? e->f[DR_VERSION_ID] : "";
		const char *code = e->f[DR_CODE] ? e->f[DR_CODE] : "";
		const struct s3_delete_item *it = NULL;
		int err = 0;

		if (!strncmp(key, s->prefix, plen))
			it = delete_match(by, n, answered, items, key + plen, vid);
		if (!it) {
			pr_debug("s3: %s: an answer about '%s', which was not asked for", op.r.what,
				 key);
			continue;
		}
		answered[it - items] = true;
		if (e->kind == DR_ERROR)
			err = s3_http_code_errno(code);
		if (err == -ENOENT)
			err = 0; /* NoSuchKey, NoSuchVersion: not there, as asked */
		delete_report(s, it, err, code, e->f[DR_MESSAGE] ? e->f[DR_MESSAGE] : "", fn, arg);
	}
	for (size_t i = 0; i < n; i++)
		if (!answered[i])
			fn(arg, &items[i], -EIO, "the store's answer does not mention it");
	ret = 0;
out:
	free(by);
	free(answered);
	s3_sb_free(&b);
	s3_xml_page_fini(&pg);
	op_fini(&op);
	return ret;
}

/* Without DeleteObjects: one DELETE per item, DELETE_WINDOW of them in flight. */
static int delete_singly(struct s3s *s, const struct s3_delete_item *items, size_t n,
			 s3_delete_result_fn fn, void *arg)
{
	struct s3op *ops = calloc(n < DELETE_WINDOW ? n : DELETE_WINDOW, sizeof(*ops));
	char msg[sizeof(ops->r.msg)] = "";
	int ret = 0;

	if (!ops)
		return -ENOMEM;
	for (size_t at = 0; at < n && !ret; at += DELETE_WINDOW) {
		size_t w = n - at < DELETE_WINDOW ? n - at : DELETE_WINDOW, ready = 0;

		for (; ready < w && !ret; ready++) {
			const struct s3_delete_item *it = &items[at + ready];
			struct s3_kv q[] = {{"versionId", it->version_id}};
			struct s3op *op = &ops[ready];

			ret = op_init(op, s, "DELETE", it->key, false, q, it->version_id ? 1 : 0);
			if (ret) {
				op_fini(op);
				break;
			}
			op->r.control = true;
			op->r.accept_404 = true;
			snprintf(op->r.what, sizeof(op->r.what), "deleting s3://%s/%s%s%s%.64s",
				 s->bucket, s->prefix, it->key, it->version_id ? " version " : "",
				 it->version_id ? it->version_id : "");
		}
		op_run_all(s, ops, ready);
		for (size_t i = 0; i < ready; i++) {
			const struct s3_hreq *r = &ops[i].r;

			if (!r->err)
				fn(arg, &items[at + i], 0, "");
			else if (!r->store_wide) /* refused for this item alone */
				delete_report(s, &items[at + i], r->err, r->s3err.code,
					      r->s3err.message, fn, arg);
			else if (!ret)
				ret = r->err, snprintf(msg, sizeof(msg), "%s", r->msg);
			op_fini(&ops[i]);
		}
	}
	free(ops);
	return ret && msg[0] ? s3_fail(ret, "%s", msg) : ret;
}

static int s3s_delete_objects(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			      s3_delete_result_fn fn, void *arg)
{
	struct s3s *s = s3s_of(st);
	int ret = 0;

	for (size_t at = 0; at < n && !ret; at += DELETE_MAX) {
		size_t m = n - at < DELETE_MAX ? n - at : DELETE_MAX;

		if (!atomic_load(&s->no_delete_objects)) {
			ret = delete_batch(s, items + at, m, fn, arg);
			if (ret != -EOPNOTSUPP)
				continue;
			pr_info("s3: %s does not implement DeleteObjects: one DELETE per object",
				s->endpoint);
			atomic_store(&s->no_delete_objects, true);
		}
		ret = delete_singly(s, items + at, m, fn, arg);
	}
	if (!ret)
		s3_clear_error();
	return ret;
}

/* ------------------------------------------------------------ the store */

static void s3s_free(struct s3_store *st)
{
	struct s3s *s = s3s_of(st);

	if (!s)
		return;
	s3_http_free(s->http);
	s3_creds_fini(&s->creds);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->endpoint);
	free(s->base);
	free(s->host);
	free(s->base_path);
	free(s->storage_class);
	free(s->sse);
	free(s->sse_kms_key_id);
	free(s->ca_file);
	free(s);
	st->priv = NULL;
}

static const struct s3_backend_ops s3_ops = {
	.free = s3s_free,
	.mkroot = s3s_mkroot,
	.put = s3s_put,
	.get = s3s_get,
	.get_range = s3s_get_range,
	.get_tail = s3s_get_tail,
	.get_range_async = s3s_get_range_async,
	.head = s3s_head,
	.list = s3s_list,
	.del = s3s_del,
	.delete_objects = s3s_delete_objects,
	.upload_new = s3s_upload_new,
	.upload_part = s3s_upload_part,
	.upload_complete = s3s_upload_complete,
	.upload_abort = s3s_upload_abort,
	.upload_id = s3s_upload_id,
	.upload_resume = s3s_upload_resume,
	.upload_list_parts = s3s_upload_list_parts,
	.upload_part_etag = s3s_upload_part_etag,
	.upload_set_nparts = s3s_upload_set_nparts,
	.upload_detach = s3s_upload_detach,
	.list_uploads = s3s_list_uploads,
	.abort_upload = s3s_abort_upload,
	.versioning = s3s_versioning,
	.list_versions = s3s_list_versions,
	.delete_version = s3s_delete_version,
	.head_version = s3s_head_version,
};

static const char *envv(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

/* an IPv4 or bracketed IPv6 literal, or localhost */
static bool host_is_ip(const char *host, size_t n)
{
	size_t i;

	if (n && host[0] == '[')
		return true;
	if ((n == 9 && !strncasecmp(host, "localhost", 9)) ||
	    (n > 10 && !strncasecmp(host + n - 10, ".localhost", 10)))
		return true;
	for (i = 0; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return false;
	return n > 0;
}

/* Split @ep into scheme, authority and path; choose the addressing style. */
static int s3s_endpoint(struct s3s *s, const char *ep, int path_style)
{
	const char *scheme = "https", *auth = ep, *slash, *colon;
	size_t alen, hlen;
	char *path = NULL;

	if (!strncasecmp(ep, "https://", 8)) {
		auth = ep + 8;
	} else if (!strncasecmp(ep, "http://", 7)) {
		scheme = "http";
		auth = ep + 7;
	} else if (strstr(ep, "://")) {
		return s3_fail(-EPROTONOSUPPORT, "endpoint %s: use http:// or https://", ep);
	}
	s->https = !strcmp(scheme, "https");
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (!alen)
		return s3_fail(-EINVAL, "endpoint '%s' has no host", ep);
	if (memchr(auth, '@', alen))
		return s3_fail(-EINVAL, "endpoint '%s': credentials do not belong in the URL", ep);
	/* host part without the port */
	if (auth[0] == '[') {
		const char *rb = memchr(auth, ']', alen);

		hlen = rb ? (size_t)(rb - auth) + 1 : alen;
	} else {
		colon = memchr(auth, ':', alen);
		hlen = colon ? (size_t)(colon - auth) : alen;
	}
	if (slash) {
		size_t plen = strlen(slash);

		while (plen && slash[plen - 1] == '/')
			plen--;
		path = strndup(slash, plen);
	} else {
		path = strdup("");
	}
	if (!path)
		return -ENOMEM;
	s->base_path = path;
	if (path_style == 1)
		s->path_style = true;
	else if (path_style == 2)
		s->path_style = false;
	else
		s->path_style = host_is_ip(auth, hlen) ||
				/* dotted names break TLS wildcard certificates */
				(s->https && strchr(s->bucket, '.'));
	if (s->path_style) {
		if (asprintf(&s->base, "%s://%.*s", scheme, (int)alen, auth) < 0 ||
		    !(s->host = strndup(auth, alen)))
			return -ENOMEM;
	} else {
		if (asprintf(&s->base, "%s://%s.%.*s", scheme, s->bucket, (int)alen, auth) < 0 ||
		    asprintf(&s->host, "%s.%.*s", s->bucket, (int)alen, auth) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int s3s_open_bucket(struct s3_store *st, const char *bucket, const char *prefix,
			   const struct s3_store_opts *opts)
{
	struct s3_store_opts o = {0};
	struct s3_http_opts ho = {0};
	struct s3s *s;
	char detail[320], *ep = NULL, *profile_region = NULL, *profile_ep = NULL;
	const char *pl;
	size_t plen;
	int ret = -ENOMEM;

	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	st->priv = s;
	st->ops = &s3_ops;
	s->bucket = strdup(bucket);
	/* the prefix: no leading or doubled slashes, one trailing */
	while (*prefix == '/')
		prefix++;
	plen = strlen(prefix);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen && asprintf(&s->prefix, "%.*s/", (int)plen, prefix) < 0)
		s->prefix = NULL;
	else if (!plen)
		s->prefix = strdup("");
	if (!s->bucket || !s->prefix)
		goto out_free;
	if (strstr(s->prefix, "//")) {
		ret = s3_fail(-EINVAL, "s3://%s/%s: empty path component in the prefix", bucket,
			      prefix);
		goto out_free;
	}

	/* region: opts, AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1 */
	if (o.region && o.region[0])
		s->region = strdup(o.region);
	else if (envv("AWS_REGION"))
		s->region = strdup(envv("AWS_REGION"));
	else if (envv("AWS_DEFAULT_REGION"))
		s->region = strdup(envv("AWS_DEFAULT_REGION"));
	else if ((profile_region = s3_profile_get("region")))
		s->region = strdup(profile_region);
	else
		s->region = strdup("us-east-1");
	if (!s->region)
		goto out_free;

	/* endpoint: opts, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile, AWS */
	if (o.endpoint && o.endpoint[0])
		ep = strdup(o.endpoint);
	else if (envv("AWS_ENDPOINT_URL_S3"))
		ep = strdup(envv("AWS_ENDPOINT_URL_S3"));
	else if (envv("AWS_ENDPOINT_URL"))
		ep = strdup(envv("AWS_ENDPOINT_URL"));
	else if ((profile_ep = s3_profile_get("endpoint_url")))
		ep = strdup(profile_ep);
	else if (asprintf(&ep, "https://s3.%s.amazonaws.com", s->region) < 0)
		ep = NULL;
	if (!ep)
		goto out_free;
	s->endpoint = ep;
	ret = s3s_endpoint(s, ep, o.path_style);
	if (ret)
		goto out_free;

	s->storage_class = dup_or_null(o.storage_class);
	s->sse = dup_or_null(o.sse);
	s->sse_kms_key_id = dup_or_null(o.sse_kms_key_id);
	s->ca_file = dup_or_null(o.ca_file ? o.ca_file : envv("AWS_CA_BUNDLE"));
	if ((o.storage_class && !s->storage_class) || (o.sse && !s->sse)) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (s->sse_kms_key_id && (!s->sse || strcmp(s->sse, "aws:kms"))) {
		ret = s3_fail(-EINVAL, "an SSE KMS key id needs --s3-sse aws:kms");
		goto out_free;
	}
	pl = envv("FERRY_S3_PAYLOAD");
	s->sign_payload = !s->https || (pl && !strcmp(pl, "signed"));

	ret = s3_creds_load(NULL, &s->creds, detail, sizeof(detail));
	if (ret) {
		s3_fail(ret == -ENOKEY ? -EACCES : ret, "%s", detail);
		ret = ret == -ENOKEY ? -EACCES : ret;
		goto out_free;
	}

	ho.concurrency = o.concurrency ? o.concurrency : 8;
	ho.ca_file = s->ca_file;
	ho.insecure_tls = o.insecure_tls;
	ho.limit_up = o.limit_upload;
	ho.limit_down = o.limit_download;
	ho.timeout_ms = o.timeout_ms ? o.timeout_ms : 600000;
	ho.bucket = s->bucket;
	ho.endpoint = s->endpoint;
	ho.access_key = s->creds.access_key;
	ho.cred_source = s->creds.source;
	ho.region = s->region;
	ret = s3_http_new(&ho, &s->http);
	if (ret) {
		s3_fail(ret, "cannot start the S3 client: %s", strerror(-ret));
		goto out_free;
	}
	pr_debug("s3: s3://%s/%s at %s (%s style, region %s, %s payload, credentials from %s)",
		 s->bucket, s->prefix, s->endpoint, s->path_style ? "path" : "virtual-host",
		 s->region, s->sign_payload ? "signed" : "unsigned", s->creds.source);
	ret = 0;
	goto out;
out_free:
	s3s_free(st);
	st->ops = NULL;
out:
	free(profile_region);
	free(profile_ep);
	return ret;
}

/* @rest: "bucket[/prefix]", what follows "s3://" */
static int s3s_open(struct s3_store *st, const char *rest, const struct s3_store_opts *opts)
{
	const char *slash = strchr(rest, '/');
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
	char *bucket;
	int ret;

	/* S3 bucket names: 3-63 characters */
	if (blen < 3 || blen > 63)
		return s3_fail(-EINVAL, "%s: bucket name must have 3 to 63 characters", st->url);
	bucket = strndup(rest, blen);
	if (!bucket)
		return -ENOMEM;
	ret = s3s_open_bucket(st, bucket, slash ? slash + 1 : "", opts);
	free(bucket);
	return ret;
}

const struct s3_backend s3_backend_s3 = {
	.scheme = "s3://",
	.open = s3s_open,
};
