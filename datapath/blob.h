/* SPDX-License-Identifier: MIT */
/*
 * datapath/blob.h - chunks as stored blobs, encoded and decoded (blob.c). Private
 * to datapath/.
 */
#ifndef FERRY_DP_BLOB_H
#define FERRY_DP_BLOB_H

#include "crypt.h"

#define DP_BLOB_RAW  0
#define DP_BLOB_ZSTD 1

/* zstd's error codes as -errno: the one translation of them */
int dp_errno_from_zstd(size_t rc);

/* A blob decoder (blob.c): opens, decompresses and verifies; one per thread. */
struct dp_blobdec;
int dp_blobdec_new(const struct dp_keys *keys, uint32_t chunk_size, struct dp_blobdec **out);
void dp_blobdec_free(struct dp_blobdec *d);
/*
 * The chunk of blob @blob (@stored_len bytes as stored) into @out (chunk_size
 * bytes). Return 0, or -EUCLEAN with *@why saying what is wrong.
 */
int dp_blob_decode(struct dp_blobdec *d, const uint8_t id[DP_ID_LEN], uint8_t kind,
		   uint32_t raw_len, const void *blob, uint32_t stored_len, void *out,
		   const char **why);

/*
 * A blob encoder (blob.c): zstd (a chunk a sampled trial shows incompressible,
 * or one that does not shrink, stays raw), then the seal of an encrypted
 * repository. *@blob points into the encoder (or at @chunk) until the next call.
 */
struct dp_blobenc;
int dp_blobenc_new(const struct dp_keys *keys, uint32_t chunk_size, int level,
		   struct dp_blobenc **out);
void dp_blobenc_free(struct dp_blobenc *e);
int dp_blob_encode(struct dp_blobenc *e, const uint8_t id[DP_ID_LEN], const void *chunk,
		   uint32_t len, const void **blob, uint32_t *blob_len, uint8_t *kind);

#endif /* FERRY_DP_BLOB_H */
