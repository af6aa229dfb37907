// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_manifest.c - snapshot manifests (FORMAT.md) from any bytes:
 * the streaming reader fed in pieces whose sizes come from the input, and the
 * footer parser of `ferry snapshots`.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "datapath/dp_json.h"
#include "datapath/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_mreader *r;
	struct dp_snapshot s;
	struct dp_ref ref;
	size_t pos = 0, step;
	int ret;

	if (size < 1)
		return 0;
	step = (size_t)data[0] * 13 + 1;
	data++;
	size--;
	if (!dp_manifest_parse_tail(data, size, size, NULL, fuzz_id, &s))
		dp_snapshot_fini(&s);
	if (dp_mreader_new(size, NULL, fuzz_id, &r))
		return 0;
	ret = 0;
	while (pos < size && !ret) {
		size_t n = size - pos < step ? size - pos : step;

		ret = dp_mreader_feed(r, data + pos, n);
		pos += n;
		while (!ret && (ret = dp_mreader_next(r, &ref)) == 1)
			ret = 0;
	}
	if (!ret)
		dp_mreader_finish(r);
	dp_mreader_free(r);
	return 0;
}
