// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_pack_index.c - pack indexes (FORMAT.md) from any bytes.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "datapath/dp_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_pack_entry *e;
	uint8_t id[DP_ID_LEN];
	size_t n;

	if (!dp_pack_index_decode(data, size, id, &e, &n)) {
		/* what decodes must describe sane blobs */
		for (size_t i = 0; i < n; i++)
			if (!e[i].raw_len || !e[i].stored_len || e[i].kind > DP_BLOB_ZSTD)
				abort();
		free(e);
	}
	return 0;
}
