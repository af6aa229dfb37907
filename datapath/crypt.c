// SPDX-License-Identifier: MIT
/*
 * datapath/crypt.c - the datapath's cryptography, all of it OpenSSL:
 *
 *   chunk ids   SHA-256 of a chunk, or HMAC-SHA256 keyed with the
 *               repository's id key when it is encrypted (equal content is
 *               found without being visible to whoever holds the bucket)
 *   sealing     AES-256-GCM with a random 96-bit nonce per sealed object:
 *               nonce || ciphertext || 128-bit tag, bound to its place by
 *               additional data (FORMAT.md "Encryption")
 *   passwords   scrypt (RFC 7914) to the key that wraps the master key
 *   checksums   SHA-256 of indexes and manifests (one-shot, and streamed)
 *
 * OpenSSL's errors are translated to -errno in dp_errno_from_ssl() alone.
 * Contexts are per thread: one hasher per worker, one AEAD context per
 * user of it. Key material is wiped with OPENSSL_cleanse.
 */
#include <stdlib.h>
#include <sys/random.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include "crypt.h"

/* OpenSSL's error queue as -errno: the one translation of its codes. */
static int dp_errno_from_ssl(void)
{
	unsigned long e = ERR_get_error();

	ERR_clear_error();
	if (ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE)
		return -ENOMEM;
	return -EIO;
}

int dp_random_bytes(void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		ssize_t n = getrandom(p, len, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void dp_wipe(void *buf, size_t len)
{
	OPENSSL_cleanse(buf, len);
}

/* ------------------------------------------------------------ chunk ids */

struct dp_hasher {
	EVP_MD_CTX *md;	  /* unkeyed */
	EVP_MAC_CTX *mac; /* keyed: a template, initialised with the key */
	EVP_MAC_CTX *work;
};

int dp_hasher_new(const struct dp_keys *keys, struct dp_hasher **out)
{
	struct dp_hasher *h;
	EVP_MAC *mac = NULL;
	OSSL_PARAM params[2];
	int ret = -ENOMEM;

	*out = NULL;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	if (!keys || !keys->encrypted) {
		h->md = EVP_MD_CTX_new();
		if (!h->md || !EVP_DigestInit_ex2(h->md, EVP_sha256(), NULL))
			goto out_free;
		*out = h;
		return 0;
	}
	mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!mac) {
		ret = dp_errno_from_ssl();
		goto out_free;
	}
	h->mac = EVP_MAC_CTX_new(mac);
	EVP_MAC_free(mac);
	if (!h->mac)
		goto out_free;
	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if (!EVP_MAC_init(h->mac, keys->id_key, sizeof(keys->id_key), params)) {
		ret = dp_errno_from_ssl();
		goto out_free;
	}
	*out = h;
	return 0;
out_free:
	dp_hasher_free(h);
	return ret;
}

int dp_hasher_digest(struct dp_hasher *h, const void *buf, size_t len, uint8_t out[DP_ID_LEN])
{
	unsigned int n;
	size_t outl;

	if (h->md) {
		if (!EVP_DigestInit_ex2(h->md, NULL, NULL) || !EVP_DigestUpdate(h->md, buf, len) ||
		    !EVP_DigestFinal_ex(h->md, out, &n))
			return dp_errno_from_ssl();
		return 0;
	}
	/* a copy of the keyed template: cheaper than setting the key again */
	EVP_MAC_CTX_free(h->work);
	h->work = EVP_MAC_CTX_dup(h->mac);
	if (!h->work || !EVP_MAC_update(h->work, buf, len) ||
	    !EVP_MAC_final(h->work, out, &outl, DP_ID_LEN))
		return dp_errno_from_ssl();
	return 0;
}

void dp_hasher_free(struct dp_hasher *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->md);
	EVP_MAC_CTX_free(h->mac);
	EVP_MAC_CTX_free(h->work);
	free(h);
}

/* ------------------------------------------------------------- sealing */

struct dp_aead {
	EVP_CIPHER_CTX *ctx;
	uint8_t key[DP_KEY_LEN];
};

int dp_aead_new(const uint8_t key[DP_KEY_LEN], struct dp_aead **out)
{
	struct dp_aead *a;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->ctx = EVP_CIPHER_CTX_new();
	if (!a->ctx) {
		free(a);
		return -ENOMEM;
	}
	memcpy(a->key, key, DP_KEY_LEN);
	*out = a;
	return 0;
}

void dp_aead_free(struct dp_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->ctx);
	dp_wipe(a->key, sizeof(a->key));
	free(a);
}

int dp_aead_seal(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out)
{
	uint8_t *nonce = out, *ct = nonce + DP_NONCE_LEN, *tag = ct + len;
	int n, fin;
	int ret;

	if (len > INT32_MAX || aadlen > INT32_MAX)
		return -EINVAL;
	ret = dp_random_bytes(nonce, DP_NONCE_LEN);
	if (ret)
		return ret;
	if (!EVP_EncryptInit_ex2(a->ctx, EVP_aes_256_gcm(), a->key, nonce, NULL) ||
	    (aadlen && !EVP_EncryptUpdate(a->ctx, NULL, &n, aad, (int)aadlen)) ||
	    !EVP_EncryptUpdate(a->ctx, ct, &n, in, (int)len) ||
	    !EVP_EncryptFinal_ex(a->ctx, ct + n, &fin) ||
	    !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_GET_TAG, DP_TAG_LEN, tag))
		return dp_errno_from_ssl();
	return 0;
}

int dp_aead_open(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out)
{
	const uint8_t *nonce = in, *ct = nonce + DP_NONCE_LEN;
	size_t ctlen;
	int n, fin;

	if (len < DP_SEAL_OVERHEAD || len > INT32_MAX || aadlen > INT32_MAX)
		return -EBADMSG;
	ctlen = len - DP_SEAL_OVERHEAD;
	if (!EVP_DecryptInit_ex2(a->ctx, EVP_aes_256_gcm(), a->key, nonce, NULL) ||
	    (aadlen && !EVP_DecryptUpdate(a->ctx, NULL, &n, aad, (int)aadlen)) ||
	    !EVP_DecryptUpdate(a->ctx, out, &n, ct, (int)ctlen) ||
	    !EVP_CIPHER_CTX_ctrl(a->ctx, EVP_CTRL_GCM_SET_TAG, DP_TAG_LEN, (void *)(ct + ctlen)))
		return dp_errno_from_ssl();
	/* the tag: wrong key, or any byte changed */
	if (!EVP_DecryptFinal_ex(a->ctx, (uint8_t *)out + n, &fin)) {
		ERR_clear_error();
		return -EUCLEAN;
	}
	return 0;
}

/* ----------------------------------------------------------- passwords */

int dp_kdf_scrypt(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen, uint64_t n,
		  uint32_t r, uint32_t p, uint8_t out[DP_KEY_LEN])
{
	EVP_KDF *kdf;
	EVP_KDF_CTX *ctx;
	OSSL_PARAM params[6];
	uint64_t maxmem = 128ull * n * r * p + (64u << 20);
	int ret = 0;

	kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	if (!kdf)
		return dp_errno_from_ssl();
	ctx = EVP_KDF_CTX_new(kdf);
	EVP_KDF_free(kdf);
	if (!ctx)
		return -ENOMEM;
	params[0] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)pw, pwlen);
	params[1] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	params[2] = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	params[3] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r);
	params[4] = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p);
	params[5] = OSSL_PARAM_construct_end();
	if (!EVP_KDF_CTX_set_params(ctx, params) ||
	    !EVP_KDF_CTX_set_params(
		    ctx, (OSSL_PARAM[]){OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM,
								    &maxmem),
					OSSL_PARAM_construct_end()}) ||
	    !EVP_KDF_derive(ctx, out, DP_KEY_LEN, NULL))
		ret = dp_errno_from_ssl();
	EVP_KDF_CTX_free(ctx);
	return ret;
}

/* ------------------------------------------------ whole small objects */

int dp_seal_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen)
{
	struct dp_aead *a = NULL;
	uint8_t *buf;
	int ret;

	*out = NULL;
	buf = malloc(len + DP_SEAL_OVERHEAD);
	if (!buf)
		return -ENOMEM;
	if (!keys || !keys->encrypted) {
		memcpy(buf, in, len);
		*out = buf;
		*outlen = len;
		return 0;
	}
	ret = dp_aead_new(keys->data_key, &a);
	if (!ret)
		ret = dp_aead_seal(a, aad, aadlen, in, len, buf);
	dp_aead_free(a);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*outlen = len + DP_SEAL_OVERHEAD;
	return 0;
}

int dp_open_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen)
{
	struct dp_aead *a = NULL;
	uint8_t *buf;
	int ret;

	*out = NULL;
	if (keys && keys->encrypted && len < DP_SEAL_OVERHEAD)
		return -EBADMSG;
	buf = malloc(len ? len : 1);
	if (!buf)
		return -ENOMEM;
	if (!keys || !keys->encrypted) {
		memcpy(buf, in, len);
		*out = buf;
		*outlen = len;
		return 0;
	}
	ret = dp_aead_new(keys->data_key, &a);
	if (!ret)
		ret = dp_aead_open(a, aad, aadlen, in, len, buf);
	dp_aead_free(a);
	if (ret) {
		free(buf);
		return ret;
	}
	*out = buf;
	*outlen = len - DP_SEAL_OVERHEAD;
	return 0;
}

/* SHA-256: one EVP_MD fetched once, one context per thread. */
static EVP_MD *dp_md_sha256;
static pthread_once_t dp_md_once = PTHREAD_ONCE_INIT;

static void dp_md_init(void)
{
	dp_md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *dp_md(void)
{
	pthread_once(&dp_md_once, dp_md_init);
	return dp_md_sha256;
}

int dp_sha256(const void *buf, size_t len, uint8_t out[DP_ID_LEN])
{
	unsigned int n;

	if (!dp_md())
		return -ENOSYS;
	return EVP_Digest(buf, len, out, &n, dp_md(), NULL) ? 0 : -EIO;
}

struct dp_sha256_stream {
	EVP_MD_CTX *ctx;
};

int dp_sha256_stream_new(struct dp_sha256_stream **out)
{
	struct dp_sha256_stream *s;

	*out = NULL;
	if (!dp_md())
		return -ENOSYS;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ctx = EVP_MD_CTX_new();
	if (!s->ctx || !EVP_DigestInit_ex2(s->ctx, dp_md(), NULL)) {
		dp_sha256_stream_free(s);
		return -ENOMEM;
	}
	*out = s;
	return 0;
}

void dp_sha256_stream_update(struct dp_sha256_stream *s, const void *buf, size_t len)
{
	EVP_DigestUpdate(s->ctx, buf, len);
}

void dp_sha256_stream_final(struct dp_sha256_stream *s, uint8_t out[DP_ID_LEN])
{
	unsigned int n;

	EVP_DigestFinal_ex(s->ctx, out, &n);
}

void dp_sha256_stream_free(struct dp_sha256_stream *s)
{
	if (!s)
		return;
	EVP_MD_CTX_free(s->ctx);
	free(s);
}
