// SPDX-License-Identifier: MIT
/*
 * datapath/packfmt.c - the pack format (FORMAT.md "Packs", "Pack index"):
 * pack ids and object keys, the index and the 8-byte trailer that ends a
 * pack. Every writer of packs (the packer, repack) and every reader of a
 * pack's tail (check) goes through here, so the format is coded once.
 */
#include <stdio.h>
#include <stdlib.h>

#include "crypt.h"
#include "blob.h"
#include "packfmt.h"

static const uint8_t dp_index_magic[4] = {'F', 'R', 'Y', 'I'};
static const uint8_t dp_pack_magic[4] = {'F', 'R', 'Y', 'P'};

int dp_pack_id_new(uint8_t id[DP_ID_LEN])
{
	return dp_random_bytes(id, DP_ID_LEN);
}

void dp_pack_trailer_encode(uint32_t index_len, uint8_t tail[DP_PACK_TAIL])
{
	dp_put_le32(tail, index_len);
	memcpy(tail + 4, dp_pack_magic, 4);
}

int dp_pack_trailer_decode(const uint8_t tail[DP_PACK_TAIL], uint64_t size, uint32_t *index_len)
{
	uint32_t len = dp_get_le32(tail);

	*index_len = 0;
	if (memcmp(tail + 4, dp_pack_magic, 4))
		return dp_fail(-EBADMSG, "it does not end with an index");
	if ((uint64_t)len + DP_PACK_TAIL > size || len > DP_PACK_INDEX_MAX)
		return dp_fail(-EBADMSG, "its trailer gives an index of %u bytes in %llu", len,
			       (unsigned long long)size);
	*index_len = len;
	return 0;
}

size_t dp_pack_index_size(size_t n)
{
	return DP_PACK_INDEX_HDR + n * DP_PACK_INDEX_ENTRY + DP_ID_LEN;
}

void dp_pack_index_encode(const uint8_t pack_id[DP_ID_LEN], const struct dp_pack_entry *e, size_t n,
			  uint8_t *out)
{
	uint8_t *p = out;

	memset(out, 0, DP_PACK_INDEX_HDR);
	memcpy(p, dp_index_magic, 4);
	p[4] = DP_FORMAT_VERSION;
	dp_put_le32(p + 8, (uint32_t)n);
	memcpy(p + 16, pack_id, DP_ID_LEN);
	p += DP_PACK_INDEX_HDR;
	for (size_t i = 0; i < n; i++, p += DP_PACK_INDEX_ENTRY) {
		memset(p, 0, DP_PACK_INDEX_ENTRY);
		memcpy(p, e[i].id, DP_ID_LEN);
		dp_put_le64(p + 32, e[i].offset);
		dp_put_le32(p + 40, e[i].stored_len);
		dp_put_le32(p + 44, e[i].raw_len);
		p[48] = e[i].kind;
	}
	dp_sha256(out, (size_t)(p - out), p);
}

int dp_pack_index_decode(const uint8_t *buf, size_t len, uint8_t pack_id[DP_ID_LEN],
			 struct dp_pack_entry **entries, size_t *n)
{
	uint8_t sum[DP_ID_LEN];
	struct dp_pack_entry *e;
	uint32_t count;
	const uint8_t *p;

	*entries = NULL;
	*n = 0;
	if (len < dp_pack_index_size(0) || memcmp(buf, dp_index_magic, 4))
		return dp_fail(-EBADMSG, "not a pack index (bad magic or %zu bytes)", len);
	if (buf[4] != DP_FORMAT_VERSION)
		return dp_fail(-EPROTONOSUPPORT, "pack index version %u is not supported", buf[4]);
	count = dp_get_le32(buf + 8);
	if (len != dp_pack_index_size(count))
		return dp_fail(-EBADMSG, "pack index of %u entries has %zu bytes, expected %zu",
			       count, len, dp_pack_index_size(count));
	dp_sha256(buf, len - DP_ID_LEN, sum);
	if (memcmp(sum, buf + len - DP_ID_LEN, DP_ID_LEN))
		return dp_fail(-EUCLEAN, "pack index checksum mismatch");
	memcpy(pack_id, buf + 16, DP_ID_LEN);
	e = calloc(count ? count : 1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	p = buf + DP_PACK_INDEX_HDR;
	for (uint32_t i = 0; i < count; i++, p += DP_PACK_INDEX_ENTRY) {
		memcpy(e[i].id, p, DP_ID_LEN);
		e[i].offset = dp_get_le64(p + 32);
		e[i].stored_len = dp_get_le32(p + 40);
		e[i].raw_len = dp_get_le32(p + 44);
		e[i].kind = p[48];
		if (e[i].kind > DP_BLOB_ZSTD || e[i].stored_len == 0 || e[i].raw_len == 0 ||
		    e[i].raw_len > DP_CHUNK_SIZE_MAX ||
		    e[i].stored_len > DP_CHUNK_SIZE_MAX + 65536) {
			free(e);
			return dp_fail(-EBADMSG, "pack index entry %u is invalid", i);
		}
	}
	*entries = e;
	*n = count;
	return 0;
}

void dp_key_pack(const uint8_t id[DP_ID_LEN], char *key, size_t len)
{
	char hex[2 * DP_ID_LEN + 1];

	dp_hex(id, DP_ID_LEN, hex);
	snprintf(key, len, "data/%.2s/%s", hex, hex);
}

void dp_key_index(const uint8_t id[DP_ID_LEN], char *key, size_t len)
{
	char hex[2 * DP_ID_LEN + 1];

	dp_hex(id, DP_ID_LEN, hex);
	snprintf(key, len, "index/%s", hex);
}

/* additional data of a sealed index: "FRYI" and the pack id */
static void dp_index_aad(const uint8_t pack_id[DP_ID_LEN], uint8_t aad[4 + DP_ID_LEN])
{
	memcpy(aad, dp_index_magic, 4);
	memcpy(aad + 4, pack_id, DP_ID_LEN);
}

int dp_pack_index_seal(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *len)
{
	size_t plen = dp_pack_index_size(n);
	uint8_t aad[4 + DP_ID_LEN];
	uint8_t *plain = malloc(plen);
	int ret;

	if (!plain)
		return -ENOMEM;
	dp_pack_index_encode(pack_id, e, n, plain);
	dp_index_aad(pack_id, aad);
	ret = dp_seal_alloc(keys, aad, sizeof(aad), plain, plen, out, len);
	free(plain);
	return ret;
}

int dp_pack_tail_build(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *index_len)
{
	uint8_t *index = NULL, *p;
	size_t len;
	int ret;

	*out = NULL;
	*index_len = 0;
	ret = dp_pack_index_seal(keys, pack_id, e, n, &index, &len);
	if (ret)
		return ret;
	if (len > DP_PACK_INDEX_MAX) {
		free(index);
		return dp_fail(-EFBIG, "a pack index of %zu entries is too large", n);
	}
	p = realloc(index, len + DP_PACK_TAIL);
	if (!p) {
		free(index);
		return -ENOMEM;
	}
	dp_pack_trailer_encode((uint32_t)len, p + len);
	*out = p;
	*index_len = len;
	return 0;
}

int dp_pack_index_open(const struct dp_keys *keys, const uint8_t name_id[DP_ID_LEN],
		       const uint8_t *buf, size_t len, struct dp_pack_entry **entries, size_t *n)
{
	uint8_t aad[4 + DP_ID_LEN], pack_id[DP_ID_LEN];
	uint8_t *plain;
	size_t plen;
	int ret;

	*entries = NULL;
	*n = 0;
	dp_index_aad(name_id, aad);
	ret = dp_open_alloc(keys, aad, sizeof(aad), buf, len, &plain, &plen);
	if (ret)
		return dp_fail(ret == -ENOMEM ? ret : -EUCLEAN,
			       "index does not decrypt (damaged, or not of this pack)");
	ret = dp_pack_index_decode(plain, plen, pack_id, entries, n);
	free(plain);
	if (!ret && memcmp(pack_id, name_id, DP_ID_LEN)) {
		free(*entries);
		*entries = NULL;
		*n = 0;
		ret = dp_fail(-EUCLEAN, "index names another pack");
	}
	return ret;
}
