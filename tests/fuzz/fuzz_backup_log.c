// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_backup_log.c - a log object (FORMAT.md "Logs") from any
 * bytes, as dp_log_get() decodes it once its seal is open (in an
 * unencrypted repository nothing seals it): the text that comes out is at
 * most DP_LOG_TEXT_MAX bytes, NUL-terminated, with no NUL byte inside.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	int ret = dp_log_decode(data, size, &text, &len);

	if (ret && (text || len))
		abort();
	if (!ret && (len > DP_LOG_TEXT_MAX || text[len] || memchr(text, '\0', len)))
		abort();
	free(text);
	return 0;
}
