// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_stamp.c - a restore target's stamp (FORMAT.md "Target
 * stamps") from any bytes; what parses is formatted again and must parse to
 * the same values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/stamp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_stamp a, b;
	char buf[DP_STAMP_MAX];
	int n;

	if (dp_stamp_parse((const char *)data, size, &a))
		return 0;
	n = dp_stamp_format(&a, buf, sizeof(buf));
	if (n < 0 || dp_stamp_parse(buf, (size_t)n, &b) || a.dirty != b.dirty ||
	    strcmp(a.snapshot, b.snapshot) || strcmp(a.parent, b.parent) ||
	    strcmp(a.target, b.target))
		abort();
	return 0;
}
