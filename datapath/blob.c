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
#include <zstd_errors.h>

#include "crypt.h"
#include "blob.h"

/* zstd's error codes as -errno: the one translation of them */
int dp_errno_from_zstd(size_t rc)
{
	switch (ZSTD_getErrorCode(rc)) {
	case ZSTD_error_memory_allocation:
		return -ENOMEM;
	case ZSTD_error_dstSize_tooSmall:
		return -ENOSPC;
	case ZSTD_error_parameter_unsupported:
	case ZSTD_error_parameter_outOfBound:
		return -EINVAL;
	case ZSTD_error_checksum_wrong:
		return -EUCLEAN;
	default:
		return -EBADMSG;
	}
}

struct dp_blobdec {
	ZSTD_DCtx *dctx;
	struct dp_hasher *hasher;
	struct dp_aead *aead;
	uint8_t *plain; /* a blob's opened bytes */
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
		uint8_t *opened = d->plain;

		if (len < DP_SEAL_OVERHEAD || len > d->plain_cap)
			goto sealed_bad;
		/* a raw blob opens straight into @out: no copy of the chunk afterwards */
		if (kind == DP_BLOB_RAW && len - DP_SEAL_OVERHEAD <= d->chunk_size)
			opened = out;
		if (dp_aead_open(d->aead, id, DP_ID_LEN, src, len, opened))
			goto sealed_bad;
		src = opened;
		len -= DP_SEAL_OVERHEAD;
	}
	if (kind == DP_BLOB_ZSTD) {
		n = ZSTD_decompressDCtx(d->dctx, out, d->chunk_size, src, len);
		if (ZSTD_isError(n)) {
			*why = ZSTD_getErrorName(n);
			return -EUCLEAN;
		}
	} else if (kind == DP_BLOB_RAW && len <= d->chunk_size) {
		if (src != out)
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
sealed_bad:
	*why = "it does not decrypt";
	return -EUCLEAN;
}

/* ------------------------------------------------------------------ encoding */

#define SAMPLE_SLICES 8
#define SAMPLE_SLICE  4096

struct dp_blobenc {
	ZSTD_CCtx *cctx;
	struct dp_aead *aead; /* encrypted repositories */
	int level;	      /* DP_COMPRESSION_OFF: never compress */
	uint8_t *scratch;     /* a compressed chunk */
	size_t scratch_len;
	uint8_t *sealed; /* a sealed blob */
	uint8_t sample[SAMPLE_SLICES * SAMPLE_SLICE];
};

int dp_blobenc_new(const struct dp_keys *keys, uint32_t chunk_size, int level,
		   struct dp_blobenc **out)
{
	struct dp_blobenc *e;
	int ret = -ENOMEM;

	*out = NULL;
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->level = level;
	e->scratch_len = ZSTD_compressBound(chunk_size);
	e->cctx = ZSTD_createCCtx();
	e->scratch = malloc(e->scratch_len);
	if (!e->cctx || !e->scratch)
		goto out_free;
	if (keys && keys->encrypted) {
		e->sealed = malloc(e->scratch_len + DP_SEAL_OVERHEAD);
		if (!e->sealed)
			goto out_free;
		ret = dp_aead_new(keys->data_key, &e->aead);
		if (ret)
			goto out_free;
	}
	*out = e;
	return 0;
out_free:
	dp_blobenc_free(e);
	return ret;
}

void dp_blobenc_free(struct dp_blobenc *e)
{
	if (!e)
		return;
	ZSTD_freeCCtx(e->cctx);
	dp_aead_free(e->aead);
	free(e->scratch);
	free(e->sealed);
	free(e);
}

/*
 * Whether a chunk is worth compressing, judged from SAMPLE_SLICES evenly
 * spaced slices compressed at zstd's fastest level: random or already
 * compressed data (encrypted volumes, media, compressed archives) then costs
 * a 32 KiB trial instead of a full compression that saves nothing.
 */
static bool blob_worth_compressing(struct dp_blobenc *e, const uint8_t *buf, uint32_t len)
{
	size_t step, n;

	if (len < 4 * sizeof(e->sample))
		return true;
	step = (len - SAMPLE_SLICE) / (SAMPLE_SLICES - 1);
	for (unsigned int i = 0; i < SAMPLE_SLICES; i++)
		memcpy(e->sample + i * SAMPLE_SLICE, buf + i * step, SAMPLE_SLICE);
	n = ZSTD_compressCCtx(e->cctx, e->scratch, e->scratch_len, e->sample, sizeof(e->sample), 1);
	return ZSTD_isError(n) || n < sizeof(e->sample) - sizeof(e->sample) / 32;
}

int dp_blob_encode(struct dp_blobenc *e, const uint8_t id[DP_ID_LEN], const void *chunk,
		   uint32_t len, const void **blob, uint32_t *blob_len, uint8_t *kind)
{
	const void *data = chunk;
	uint32_t n = len;
	int ret;

	*kind = DP_BLOB_RAW;
	if (e->level != DP_COMPRESSION_OFF && blob_worth_compressing(e, chunk, len)) {
		size_t z = ZSTD_compressCCtx(e->cctx, e->scratch, e->scratch_len, chunk, len,
					     e->level);

		if (ZSTD_isError(z))
			return dp_fail(dp_errno_from_zstd(z), "zstd: %s", ZSTD_getErrorName(z));
		/* a chunk that does not shrink is stored raw */
		if (z < len) {
			data = e->scratch;
			n = (uint32_t)z;
			*kind = DP_BLOB_ZSTD;
		}
	}
	if (e->aead) {
		/* sealed with its id as additional data: a blob cannot stand in for another */
		ret = dp_aead_seal(e->aead, id, DP_ID_LEN, data, n, e->sealed);
		if (ret)
			return dp_fail(ret, "encrypting a chunk: %s", strerror(-ret));
		data = e->sealed;
		n += DP_SEAL_OVERHEAD;
	}
	*blob = data;
	*blob_len = n;
	return 0;
}
