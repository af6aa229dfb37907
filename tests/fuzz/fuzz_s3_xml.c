// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_s3_xml.c - libFuzzer target of the S3 XML reader: every
 * input must parse or be refused, never crash or read out of bounds, and
 * every reported text must be as long as it says.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/xml.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int check(void *arg, const char *path, const char *text, size_t len)
{
	size_t *n = arg;

	if (strlen(text) != len || strlen(path) > S3_XML_PATH_MAX)
		abort();
	*n += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_xml_err e;
	size_t n = 0;
	int64_t t;
	uint64_t v;
	char *s;

	s3_xml_parse((const char *)data, size, check, &n);
	if (n > size)
		abort(); /* decoded text never outgrows the input */
	s3_xml_error((const char *)data, size, &e);
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	s3_xml_time(s, &t);
	s3_xml_u64(s, &v);
	free(s);
	return 0;
}
