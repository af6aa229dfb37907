/* SPDX-License-Identifier: MIT */
/*
 * datapath/packfmt.h - the pack format: index entries, the index, the trailer and object
 * keys (packfmt.c, FORMAT.md "Packs"). Private to datapath/.
 */
#ifndef FERRY_DP_PACKFMT_H
#define FERRY_DP_PACKFMT_H

#include "blob.h"

/* One pack index entry (FORMAT.md). */
struct dp_pack_entry {
	uint8_t id[DP_ID_LEN];
	uint64_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t kind;
};

#define DP_PACK_INDEX_HDR   48
#define DP_PACK_INDEX_ENTRY 56
#define DP_PACK_INDEX_MAX   (64u << 20)
#define DP_PACK_TAIL	    8

/* Encoded size of an index with @n entries (header, entries, checksum). */
size_t dp_pack_index_size(size_t n);
/* Encode into @out (dp_pack_index_size(n) bytes). */
void dp_pack_index_encode(const uint8_t pack_id[DP_ID_LEN], const struct dp_pack_entry *e, size_t n,
			  uint8_t *out);
/*
 * Decode and verify; *@entries is malloc()ed. Return 0, -EBADMSG (bad magic,
 * length), -EUCLEAN (checksum), -ENOMEM.
 */
int dp_pack_index_decode(const uint8_t *buf, size_t len, uint8_t pack_id[DP_ID_LEN],
			 struct dp_pack_entry **entries, size_t *n);

/* An index as stored (FORMAT.md): encoded, then sealed if the repository is encrypted. */
int dp_pack_index_seal(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *len);
int dp_pack_index_open(const struct dp_keys *keys, const uint8_t name_id[DP_ID_LEN],
		       const uint8_t *buf, size_t len, struct dp_pack_entry **entries, size_t *n);

/*
 * The end of a pack: the index as stored, then DP_PACK_TAIL bytes (its
 * length and "FRYP"). dp_pack_tail_build() gives both in one malloc()ed
 * buffer of *@index_len + DP_PACK_TAIL bytes, the index first (it is also
 * written as index/<pack-id>).
 */
int dp_pack_tail_build(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *index_len);
void dp_pack_trailer_encode(uint32_t index_len, uint8_t tail[DP_PACK_TAIL]);
/* 0 and *@index_len; -EBADMSG (dp_last_error() says why) if @tail cannot end a pack of @size bytes */
int dp_pack_trailer_decode(const uint8_t tail[DP_PACK_TAIL], uint64_t size, uint32_t *index_len);
/* a new random pack id */
int dp_pack_id_new(uint8_t id[DP_ID_LEN]);

/* object keys */
void dp_key_pack(const uint8_t id[DP_ID_LEN], char *key, size_t len);
void dp_key_index(const uint8_t id[DP_ID_LEN], char *key, size_t len);

#endif /* FERRY_DP_PACKFMT_H */
