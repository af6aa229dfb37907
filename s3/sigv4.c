// SPDX-License-Identifier: MIT
/*
 * s3/sigv4.c - AWS Signature Version 4 (HMAC-SHA256 through OpenSSL's EVP_MAC),
 * SHA-256 payload hashes and Content-MD5.
 *
 * Canonical request (AWS docs, "Create a canonical request"):
 *   METHOD \n URI \n QUERY \n name:value\n... \n signed;names \n payload-hash
 * S3 signs the URI as sent (encoded once, no dot-segment normalisation).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "s3_buf.h"
#include "sigv4.h"

static EVP_MAC *hmac_alg;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void hmac_init(void)
{
	hmac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL);
}

static int hmac_sha256(const void *key, size_t keylen, const void *msg, size_t len,
		       unsigned char out[32])
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx;
	size_t outlen = 0;
	int ret = -EIO;

	pthread_once(&hmac_once, hmac_init);
	if (!hmac_alg)
		return -EIO;
	ctx = EVP_MAC_CTX_new(hmac_alg);
	if (!ctx)
		return -ENOMEM;
	if (EVP_MAC_init(ctx, key, keylen, params) && EVP_MAC_update(ctx, msg, len) &&
	    EVP_MAC_final(ctx, out, &outlen, 32) && outlen == 32)
		ret = 0;
	EVP_MAC_CTX_free(ctx);
	return ret;
}

static void hex_encode(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int s3_sha256_hex(const void *buf, size_t len, char out[S3_SHA256_HEX])
{
	unsigned char md[32];
	unsigned int mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL) || mdlen != 32)
		return -EIO;
	hex_encode(md, 32, out);
	return 0;
}

int s3_md5_sha256(const void *buf, size_t len, char md5[S3_MD5_B64], char *md5_hex, char *sha)
{
	EVP_MD_CTX *m = EVP_MD_CTX_new(), *s = sha ? EVP_MD_CTX_new() : NULL;
	unsigned char md[32];
	unsigned int mdlen = 0;
	const unsigned char *p = buf;
	int ret = -EIO;

	if (!m || (sha && !s))
		goto out;
	if (!EVP_DigestInit_ex(m, EVP_md5(), NULL) ||
	    (s && !EVP_DigestInit_ex(s, EVP_sha256(), NULL)))
		goto out;
	/* 64 KiB at a time through both, so the data is read from memory once */
	while (len) {
		size_t n = len < 65536 ? len : 65536;

		if (!EVP_DigestUpdate(m, p, n) || (s && !EVP_DigestUpdate(s, p, n)))
			goto out;
		p += n;
		len -= n;
	}
	if (!EVP_DigestFinal_ex(m, md, &mdlen) || mdlen != 16)
		goto out;
	EVP_EncodeBlock((unsigned char *)md5, md, 16);
	if (md5_hex)
		hex_encode(md, 16, md5_hex);
	if (s) {
		if (!EVP_DigestFinal_ex(s, md, &mdlen) || mdlen != 32)
			goto out;
		hex_encode(md, 32, sha);
	}
	ret = 0;
out:
	EVP_MD_CTX_free(m);
	EVP_MD_CTX_free(s);
	return ret;
}

void s3_amz_date(time_t t, char out[S3_AMZ_DATE_LEN])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, S3_AMZ_DATE_LEN, "%Y%m%dT%H%M%SZ", &tm);
}

size_t s3_uri_encode(const char *s, size_t len, bool keep_slash, char *out)
{
	static const char digits[] = "0123456789ABCDEF";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
		    (keep_slash && c == '/')) {
			out[o++] = (char)c;
		} else {
			out[o++] = '%';
			out[o++] = digits[c >> 4];
			out[o++] = digits[c & 15];
		}
	}
	out[o] = '\0';
	return o;
}

/* --------------------------------------------------------------- query */

struct qpair {
	char *k, *v;
};

static int qpair_cmp(const void *a, const void *b)
{
	const struct qpair *x = a, *y = b;
	int c = strcmp(x->k, y->k);

	return c ? c : strcmp(x->v, y->v);
}

char *s3_query_build(const struct s3_kv *params, size_t n)
{
	struct qpair *q = calloc(n ? n : 1, sizeof(*q));
	struct s3_sbuf b = {0};
	char *ret = NULL;
	size_t i;

	if (!q)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *v = params[i].value ? params[i].value : "";

		q[i].k = malloc(3 * strlen(params[i].name) + 1);
		q[i].v = malloc(3 * strlen(v) + 1);
		if (!q[i].k || !q[i].v)
			goto out;
		s3_uri_encode(params[i].name, strlen(params[i].name), false, q[i].k);
		s3_uri_encode(v, strlen(v), false, q[i].v);
	}
	qsort(q, n, sizeof(*q), qpair_cmp);
	for (i = 0; i < n; i++) {
		if (i)
			s3_sb_add(&b, "&", 1);
		s3_sb_puts(&b, q[i].k);
		s3_sb_add(&b, "=", 1);
		s3_sb_puts(&b, q[i].v);
	}
	ret = s3_sb_finish(&b);
out:
	for (i = 0; i < n; i++) {
		free(q[i].k);
		free(q[i].v);
	}
	free(q);
	return ret;
}

/* -------------------------------------------------------------- headers */

struct chdr {
	char *name; /* lower case */
	const char *value;
	size_t idx; /* original order, to keep repeated headers stable */
};

static int chdr_cmp(const void *a, const void *b)
{
	const struct chdr *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Trimall: no leading/trailing blanks, inner runs of blanks become one space. */
static void sb_trimall(struct s3_sbuf *b, const char *v)
{
	bool space = false, any = false;

	for (; *v; v++) {
		if (*v == ' ' || *v == '\t' || *v == '\n' || *v == '\r' || *v == '\v' ||
		    *v == '\f') {
			space = true;
			continue;
		}
		if (space && any)
			s3_sb_add(b, " ", 1);
		space = false;
		any = true;
		s3_sb_add(b, v, 1);
	}
}

/*
 * The canonical request into @cr and the signed-headers list into @signed_hdrs.
 */
static int sigv4_build(const struct s3_sigv4_req *rq, struct s3_sbuf *cr, struct s3_sbuf *sh)
{
	struct chdr *h;
	size_t i;
	int ret = 0;

	if (!rq->nhdrs)
		return -EINVAL;
	h = calloc(rq->nhdrs, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (i = 0; i < rq->nhdrs; i++) {
		const char *n = rq->hdrs[i].name;
		size_t len = strlen(n);

		while (len && n[len - 1] == ' ')
			len--;
		while (len && *n == ' ') {
			n++;
			len--;
		}
		if (!len) {
			ret = -EINVAL;
			goto out;
		}
		h[i].name = malloc(len + 1);
		if (!h[i].name) {
			ret = -ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < len; j++)
			h[i].name[j] = (char)tolower((unsigned char)n[j]);
		h[i].name[len] = '\0';
		h[i].value = rq->hdrs[i].value ? rq->hdrs[i].value : "";
		h[i].idx = i;
	}
	qsort(h, rq->nhdrs, sizeof(*h), chdr_cmp);

	s3_sb_puts(cr, rq->method);
	s3_sb_add(cr, "\n", 1);
	s3_sb_puts(cr, rq->uri);
	s3_sb_add(cr, "\n", 1);
	s3_sb_puts(cr, rq->query ? rq->query : "");
	s3_sb_add(cr, "\n", 1);
	for (i = 0; i < rq->nhdrs; i++) {
		bool first = i == 0 || strcmp(h[i].name, h[i - 1].name);

		if (first) {
			if (i) {
				s3_sb_add(cr, "\n", 1);
				s3_sb_add(sh, ";", 1);
			}
			s3_sb_puts(cr, h[i].name);
			s3_sb_add(cr, ":", 1);
			s3_sb_puts(sh, h[i].name);
		} else {
			s3_sb_add(cr, ",", 1);
		}
		sb_trimall(cr, h[i].value);
	}
	s3_sb_add(cr, "\n\n", 2);
	s3_sb_add(cr, sh->p ? sh->p : "", sh->len);
	s3_sb_add(cr, "\n", 1);
	s3_sb_puts(cr, rq->payload_hash);
	if (cr->err || sh->err)
		ret = -ENOMEM;
out:
	for (i = 0; i < rq->nhdrs; i++)
		free(h[i].name);
	free(h);
	return ret;
}

#ifdef FERRY_UNIT_TESTS
int s3_sigv4_canonical(const struct s3_sigv4_req *rq, char **out)
{
	struct s3_sbuf cr = {0}, sh = {0};
	int ret;

	*out = NULL;
	ret = sigv4_build(rq, &cr, &sh);
	s3_sb_free(&sh);
	if (ret) {
		s3_sb_free(&cr);
		return ret;
	}
	*out = s3_sb_finish(&cr);
	return *out ? 0 : -ENOMEM;
}
#endif /* FERRY_UNIT_TESTS */

int s3_sigv4_sign(const struct s3_sigv4_req *rq, char **out)
{
	struct s3_sbuf cr = {0}, sh = {0}, sts = {0}, auth = {0};
	unsigned char k[32], sig[32];
	char hash[S3_SHA256_HEX], sighex[65], date[9], *kdate = NULL;
	size_t klen;
	int ret;

	*out = NULL;
	ret = sigv4_build(rq, &cr, &sh);
	if (ret)
		goto out;
	ret = s3_sha256_hex(cr.p, cr.len, hash);
	if (ret)
		goto out;
	memcpy(date, rq->amz_date, 8);
	date[8] = '\0';

	/* StringToSign */
	s3_sb_puts(&sts, "AWS4-HMAC-SHA256\n");
	s3_sb_puts(&sts, rq->amz_date);
	s3_sb_add(&sts, "\n", 1);
	s3_sb_puts(&sts, date);
	s3_sb_add(&sts, "/", 1);
	s3_sb_puts(&sts, rq->region);
	s3_sb_add(&sts, "/", 1);
	s3_sb_puts(&sts, rq->service);
	s3_sb_puts(&sts, "/aws4_request\n");
	s3_sb_puts(&sts, hash);
	if (sts.err) {
		ret = -ENOMEM;
		goto out;
	}

	/* signing key: HMAC chain from "AWS4" + secret */
	klen = strlen(rq->secret_key) + 4;
	kdate = malloc(klen + 1);
	if (!kdate) {
		ret = -ENOMEM;
		goto out;
	}
	memcpy(kdate, "AWS4", 4);
	memcpy(kdate + 4, rq->secret_key, klen - 4);
	ret = hmac_sha256(kdate, klen, date, 8, k);
	if (!ret)
		ret = hmac_sha256(k, 32, rq->region, strlen(rq->region), k);
	if (!ret)
		ret = hmac_sha256(k, 32, rq->service, strlen(rq->service), k);
	if (!ret)
		ret = hmac_sha256(k, 32, "aws4_request", 12, k);
	if (!ret)
		ret = hmac_sha256(k, 32, sts.p, sts.len, sig);
	if (ret)
		goto out;
	hex_encode(sig, 32, sighex);

	s3_sb_puts(&auth, "AWS4-HMAC-SHA256 Credential=");
	s3_sb_puts(&auth, rq->access_key);
	s3_sb_add(&auth, "/", 1);
	s3_sb_puts(&auth, date);
	s3_sb_add(&auth, "/", 1);
	s3_sb_puts(&auth, rq->region);
	s3_sb_add(&auth, "/", 1);
	s3_sb_puts(&auth, rq->service);
	s3_sb_puts(&auth, "/aws4_request, SignedHeaders=");
	s3_sb_add(&auth, sh.p, sh.len);
	s3_sb_puts(&auth, ", Signature=");
	s3_sb_puts(&auth, sighex);
	*out = s3_sb_finish(&auth);
	if (!*out)
		ret = -ENOMEM;
out:
	if (kdate) {
		OPENSSL_cleanse(kdate, strlen(rq->secret_key) + 4);
		free(kdate);
	}
	OPENSSL_cleanse(k, sizeof(k));
	s3_sb_free(&auth);
	s3_sb_free(&cr);
	s3_sb_free(&sh);
	s3_sb_free(&sts);
	return ret;
}
