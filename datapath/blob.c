// SPDX-License-Identifier: MIT
/*
 * datapath/blob.c - turning a stored blob back into its chunk, verified: open
 * the seal (encrypted repositories, the chunk id as additional data),
 * decompress (zstd blobs), check the length and the chunk id. One decoder
 * per thread; restore, check --read-data and copy all use it.
 */
#include <stdio.h>
#include <stdlib.h>

#include <zstd.h>

#include "dp_int.h"

struct dp_blobdec {
	ZSTD_DCtx *dctx;
	struct dp_hasher *hasher;
	struct dp_aead *aead;
	uint8_t *plain;		/* a blob's opened bytes */
	size_t plain_cap;
	uint32_t chunk_size;
};

int dp_blobdec_new(const struct dp_keys *keys, uint32_t chunk_size, struct dp_blobdec **out)
{
	struct dp_blobdec *d;
	int ret;

	*out = NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->chunk_size = chunk_size;
	d->dctx = ZSTD_createDCtx();
	ret = d->dctx ? dp_hasher_new(keys, &d->hasher) : -ENOMEM;
	if (!ret && keys && keys->encrypted) {
		d->plain_cap = ZSTD_compressBound(chunk_size) + DP_SEAL_OVERHEAD;
		d->plain = malloc(d->plain_cap);
		ret = d->plain ? dp_aead_new(keys->data_key, &d->aead) : -ENOMEM;
	}
	if (ret) {
		dp_blobdec_free(d);
		return ret;
	}
	*out = d;
	return 0;
}

void dp_blobdec_free(struct dp_blobdec *d)
{
	if (!d)
		return;
	ZSTD_freeDCtx(d->dctx);
	dp_hasher_free(d->hasher);
	dp_aead_free(d->aead);
	free(d->plain);
	free(d);
}

int dp_blob_decode(struct dp_blobdec *d, const uint8_t id[DP_ID_LEN], uint8_t kind,
		   uint32_t raw_len, const void *blob, uint32_t stored_len, void *out,
		   const char **why)
{
	const uint8_t *src = blob;
	uint8_t sum[DP_ID_LEN];
	size_t len = stored_len, n;

	*why = NULL;
	if (d->aead) {
		if (len < DP_SEAL_OVERHEAD || len > d->plain_cap ||
		    dp_aead_open(d->aead, id, DP_ID_LEN, src, len, d->plain)) {
			*why = "it does not decrypt";
			return -EUCLEAN;
		}
		src = d->plain;
		len -= DP_SEAL_OVERHEAD;
	}
	if (kind == DP_BLOB_ZSTD) {
		n = ZSTD_decompressDCtx(d->dctx, out, d->chunk_size, src, len);
		if (ZSTD_isError(n)) {
			*why = ZSTD_getErrorName(n);
			return -EUCLEAN;
		}
	} else if (kind == DP_BLOB_RAW && len <= d->chunk_size) {
		memcpy(out, src, len);
		n = len;
	} else {
		*why = "its kind or length is invalid";
		return -EUCLEAN;
	}
	if (n != raw_len) {
		*why = "its length differs from the index";
		return -EUCLEAN;
	}
	if (dp_hasher_digest(d->hasher, out, n, sum) || memcmp(sum, id, DP_ID_LEN)) {
		*why = "its content does not match its id";
		return -EUCLEAN;
	}
	return 0;
}
