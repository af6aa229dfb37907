// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_pack_index.c - pack indexes (FORMAT.md) from any bytes.
 * Every other input gets its trailing checksum made right first, so that the
 * decoding of the entries behind it is reached, not only the checksum.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/packfmt.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pack_entry *e;
	uint8_t id[DP_ID_LEN];
	uint8_t *buf;
	size_t n;

	if (!size)
		return 0;
	/* the first byte chooses; the rest is the index */
	buf = malloc(size - 1 ? size - 1 : 1);
	if (!buf)
		return 0;
	memcpy(buf, data + 1, size - 1);
	size--;
	if ((data[0] & 1) && size >= DP_ID_LEN)
		dp_sha256(buf, size - DP_ID_LEN, buf + size - DP_ID_LEN);
	if (!dp_pack_index_decode(buf, size, id, &e, &n)) {
		/* what decodes must describe sane blobs */
		for (size_t i = 0; i < n; i++)
			if (!e[i].raw_len || !e[i].stored_len || e[i].kind > DP_BLOB_ZSTD)
				abort();
		free(e);
	}
	free(buf);
	return 0;
}
