// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cli_values.c - the command line's sizes ("64M", "1.5GiB")
 * and durations ("720h", "1h30m") from any string.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	uint64_t bytes;
	int64_t secs;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ctl_parse_size(s, &bytes);
	if (!ctl_parse_duration(s, &secs) && secs < 0)
		abort();
	free(s);
	return 0;
}
