/* SPDX-License-Identifier: MIT */
/*
 * s3/sigv4.h - AWS Signature Version 4 and the hashes S3 requests need;
 * private to s3/.
 *
 * Everything here is pure computation on caller buffers: thread-safe, no
 * allocation except where a function returns a malloc()ed string.
 */
#ifndef FERRY_S3_SIGV4_H
#define FERRY_S3_SIGV4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define S3_SHA256_HEX	65 /* 64 hex digits + NUL */
#define S3_MD5_B64	25 /* 24 base64 characters + NUL */
#define S3_MD5_HEX	33 /* 32 hex digits + NUL */
#define S3_AMZ_DATE_LEN 17 /* YYYYMMDDTHHMMSSZ + NUL */
#define S3_UNSIGNED	"UNSIGNED-PAYLOAD"
#define S3_EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* One header or query parameter: @name and @value are borrowed. */
struct s3_kv {
	const char *name;
	const char *value;
};

/* The inputs of one signature; every pointer is borrowed for the call. */
struct s3_sigv4_req {
	const char *method;	  /* "GET", "PUT", ... */
	const char *uri;	  /* canonical URI: already URI-encoded, starts with '/' */
	const char *query;	  /* canonical query string (s3_query_build()), "" for none */
	const struct s3_kv *hdrs; /* every header to sign, host included */
	size_t nhdrs;
	const char *payload_hash; /* hex SHA-256 of the body, or S3_UNSIGNED */
	const char *amz_date;	  /* x-amz-date, YYYYMMDDTHHMMSSZ */
	const char *region;
	const char *service; /* "s3" */
	const char *access_key;
	const char *secret_key;
};

/**
 * s3_sigv4_sign() - the value of the Authorization header of @rq
 * @out: a malloc()ed string the caller frees
 *
 * Header names are compared and sorted case-insensitively; values are trimmed
 * and runs of spaces collapsed, as SigV4 specifies. Headers of the same name
 * are joined with ','.
 *
 * Return: 0; -ENOMEM; -EINVAL (no headers, a header without a name).
 */
int s3_sigv4_sign(const struct s3_sigv4_req *rq, char **out);

#ifdef FERRY_UNIT_TESTS
/**
 * s3_sigv4_canonical() - the canonical request of @rq, for tests that compare
 * it with another signer's (tests/s3/t_sigv4.c)
 * @out: malloc()ed; contains no secret
 */
int s3_sigv4_canonical(const struct s3_sigv4_req *rq, char **out);
#endif

/**
 * s3_uri_encode() - append the SigV4 URI encoding of @len bytes of @s to @out
 * @keep_slash: leave '/' as it is (object keys in paths)
 * @out:        at least 3 * @len + 1 bytes; NUL-terminated
 *
 * Unreserved characters (A-Z a-z 0-9 - . _ ~) stay, every other byte becomes
 * %XX with upper-case hex digits.
 *
 * Return: the length written.
 */
size_t s3_uri_encode(const char *s, size_t len, bool keep_slash, char *out);

/**
 * s3_query_build() - canonical query string of @n parameters
 *
 * Names and values are URI-encoded and sorted by name, then value. A NULL
 * value is written as "name=" (S3 sub-resources like "uploads").
 * The same string is valid in the request URL.
 *
 * Return: a malloc()ed string ("" for @n == 0), NULL on ENOMEM.
 */
char *s3_query_build(const struct s3_kv *params, size_t n);

/* x-amz-date of @t (UTC). */
void s3_amz_date(time_t t, char out[S3_AMZ_DATE_LEN]);

/* Hex SHA-256 of @len bytes. Return 0 or -EIO. */
int s3_sha256_hex(const void *buf, size_t len, char out[S3_SHA256_HEX]);
/*
 * Both in one pass over the data: @md5 in base64, and in hex into @md5_hex
 * (the form of an ETag; may be NULL), the hex SHA-256 into @sha (may be
 * NULL). Return 0 or -EIO.
 */
int s3_md5_sha256(const void *buf, size_t len, char md5[S3_MD5_B64], char *md5_hex, char *sha);

#endif /* FERRY_S3_SIGV4_H */
