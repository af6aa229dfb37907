/* SPDX-License-Identifier: MIT */
/*
 * datapath/crypt.h - the datapath's cryptography (crypt.c): the repository's keys,
 * chunk ids, sealing, the password KDF and SHA-256. Private to datapath/.
 */
#ifndef FERRY_DP_CRYPT_H
#define FERRY_DP_CRYPT_H

#include "dp_int.h"

#define DP_KEY_LEN	 32
#define DP_NONCE_LEN	 12
#define DP_TAG_LEN	 16
#define DP_SEAL_OVERHEAD (DP_NONCE_LEN + DP_TAG_LEN)

/* The master key material of an unlocked repository (FORMAT.md "keys"). */
struct dp_keys {
	bool encrypted;
	uint8_t data_key[DP_KEY_LEN]; /* AES-256-GCM of blobs, indexes, manifests */
	uint8_t id_key[DP_KEY_LEN];   /* HMAC-SHA256 key of chunk ids */
};

int dp_random_bytes(void *buf, size_t len);
void dp_wipe(void *buf, size_t len);

/* Chunk ids: SHA-256, or HMAC-SHA256 with @keys->id_key if encrypted. One per thread. */
struct dp_hasher;
int dp_hasher_new(const struct dp_keys *keys, struct dp_hasher **out);
int dp_hasher_digest(struct dp_hasher *h, const void *buf, size_t len, uint8_t out[DP_ID_LEN]);
void dp_hasher_free(struct dp_hasher *h);

/* AES-256-GCM: @out of seal is @len + DP_SEAL_OVERHEAD bytes (nonce, ciphertext, tag);
 * open writes @len - DP_SEAL_OVERHEAD bytes and returns -EUCLEAN if the tag fails. */
struct dp_aead;
int dp_aead_new(const uint8_t key[DP_KEY_LEN], struct dp_aead **out);
int dp_aead_seal(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out);
int dp_aead_open(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out);
void dp_aead_free(struct dp_aead *a);

int dp_kdf_scrypt(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen, uint64_t n,
		  uint32_t r, uint32_t p, uint8_t out[DP_KEY_LEN]);

/*
 * Seal/open a whole small object with the data key (cold paths: indexes,
 * manifest segments and metadata). Not encrypted: a plain copy. *@out is
 * malloc()ed. Return 0, -EUCLEAN (tag), -EBADMSG (too short), -ENOMEM.
 */
int dp_seal_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen);
int dp_open_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen);

/* SHA-256 (OpenSSL, SHA-NI where present); one-shot, for cold paths */
int dp_sha256(const void *buf, size_t len, uint8_t out[DP_ID_LEN]);

struct dp_sha256_stream;
int dp_sha256_stream_new(struct dp_sha256_stream **out);
void dp_sha256_stream_update(struct dp_sha256_stream *s, const void *buf, size_t len);
void dp_sha256_stream_final(struct dp_sha256_stream *s, uint8_t out[DP_ID_LEN]);
void dp_sha256_stream_free(struct dp_sha256_stream *s);

#endif /* FERRY_DP_CRYPT_H */
