/* SPDX-License-Identifier: MIT */
/*
 * s3/s3_op.h - one S3 request of the s3:// backend, built and signed: the
 * "op"; private to the s3:// files (s3_op.c, objects.c, listing.c,
 * multipart.c, versions.c, delete_objects.c, store_s3.c).
 *
 * An op is an s3_hreq (http.h) plus what its prepare() needs to sign it
 * afresh on every attempt: the canonical URI and query, the payload hash and
 * a few extra headers. Life of an op:
 *
 *   op_init()        method, key (or the bucket), query: the URL
 *   op_body()        optional: the body, its Content-MD5 and payload hash
 *   op_hdr()         optional: more headers (at most OP_HDR_MAX)
 *   op.r.* = ...     what the request accepts and expects (http.h)
 *   op_run()         blocking; or s3_http_submit() with r.done; or op_run_all()
 *   op_fini()        always, also after a failed op_init()
 *
 * Payload hash: over https the body is sent as UNSIGNED-PAYLOAD (TLS and the
 * Content-MD5 every body carries protect it; README.md has the measurement);
 * over plain http its SHA-256 is signed. FERRY_S3_PAYLOAD=signed or
 * =unsigned overrides the choice for https (benchmarks).
 */
#ifndef FERRY_S3_OP_H
#define FERRY_S3_OP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "creds.h"
#include "endpoint.h"
#include "http.h"
#include "s3_int.h"
#include "sigv4.h"

#define OP_HDR_MAX			   8   /* extra headers of one op */
#define OP_HDR_LEN			   256 /* the longest value of one, NUL included */

#define s3_container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* The s3:// store: where it is, how it is addressed and signed, its loop. */
struct s3s {
	char *bucket;
	char *prefix; /* "" or "some/prefix/" */
	char *region;
	char *endpoint;	       /* as resolved, for messages */
	struct s3_endpoint ep; /* where requests go, in which style */
	bool sign_payload;
	char *storage_class;
	char *sse;
	char *sse_kms_key_id;
	char *ca_file;
	void *ca_pem; /* its own copy of s3_store_opts.ca_pem */
	size_t ca_pem_len;
	struct s3_creds creds;
	struct s3_http *http;
	atomic_bool no_delete_objects; /* the store answered NotImplemented to it */
};

static inline struct s3s *s3s_of(struct s3_store *st)
{
	return st->priv;
}

/* One request with what signing it again needs. */
struct s3op {
	struct s3_hreq r; /* first: the loop hands it back (s3_container_of()) */
	struct s3s *s;
	char *uri;   /* canonical URI */
	char *query; /* canonical query */
	char payload[S3_SHA256_HEX];
	struct s3_kv xh[OP_HDR_MAX];
	char xv[OP_HDR_MAX][OP_HDR_LEN];
	size_t nxh;
};

/**
 * op_init() - an op of @method on @key with query @q
 * @key:     relative to the repository root; NULL: the bucket itself
 * @q:       @nq parameters, borrowed for the call (a NULL value: "name=")
 *
 * r.what is set to "METHOD s3://bucket/key" (callers may say more).
 * Return: 0; -ENOMEM. op_fini() either way.
 */
int op_init(struct s3op *op, struct s3s *s, const char *method, const char *key,
	    const struct s3_kv *q, size_t nq);

/* Free what @op holds (the answer, the URL); a zeroed or finished op is fine. */
void op_fini(struct s3op *op);

/*
 * op_hdr() - one more header, signed with the others
 * @name: borrowed until op_fini()
 *
 * At most OP_HDR_MAX per op (an assertion: the callers' counts are fixed).
 * Return: 0; -EINVAL if the value is OP_HDR_LEN bytes or longer (never cut).
 */
int op_hdr(struct s3op *op, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * op_body() - @len bytes of @buf as the body, borrowed until the op ends
 *
 * Hashed here, on the caller's thread: Content-MD5 always, the SHA-256 when
 * payloads are signed; a PUT's answer must carry the body's MD5 as its ETag
 * (except under SSE-KMS). Return: 0; -EIO (hashing); -EINVAL.
 */
int op_body(struct s3op *op, const void *buf, size_t len);

/* Headers of a new object (PUT, CreateMultipartUpload): storage class (data/ only), SSE. */
int op_new_object(struct s3op *op, const char *key);

/* Run @op and wait (not on the loop thread); a failure sets s3_last_error(). Return: r.err. */
int op_run(struct s3op *op);

/* Run @n ops at once and wait for all; each one's r.err says how it went. */
void op_run_all(struct s3s *s, struct s3op *ops, size_t n);

/* Give @op another query (the URL is built again): an upload's parts learn their upload id late. */
int op_set_query(struct s3op *op, const struct s3_kv *q, size_t nq);

#endif /* FERRY_S3_OP_H */
