// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_repo_json.c - the repository config and a manifest's
 * metadata (FORMAT.md) from any bytes; what decodes is encoded again and must
 * decode to the same values.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_repo_info info, info2;
	struct dp_snapshot s, s2;
	char *json;

	if (!dp_config_decode((const char *)data, size, &info) && !dp_config_encode(&info, &json)) {
		if (dp_config_decode(json, strlen(json), &info2) ||
		    info2.chunk_size != info.chunk_size || strcmp(info2.id, info.id))
			abort();
		free(json);
	}
	if (!dp_meta_decode((const char *)data, size, &s)) {
		if (!dp_meta_encode(&s, &json)) {
			if (dp_meta_decode(json, strlen(json), &s2) || s2.size != s.size ||
			    s2.nlabels != s.nlabels || strcmp(s2.volume, s.volume))
				abort();
			dp_snapshot_fini(&s2);
			free(json);
		}
		dp_snapshot_fini(&s);
	}
	return 0;
}
