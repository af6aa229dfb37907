// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_s3_endpoint.c - libFuzzer target of the endpoint rules
 * (s3/endpoint.c), which read what users give (--s3-endpoint,
 * AWS_ENDPOINT_URL, a profile's endpoint_url). The first byte picks the
 * style, the rest is "URL\0bucket". Every input is taken or refused with a
 * reason; a taken one has an http(s) base that ends in its Host, and a path
 * that is empty or starts with '/' and does not end with one.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "s3/endpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct s3_endpoint ep;
	char *s, *bucket, why[256];
	size_t n;
	int ret;

	if (size < 1)
		return 0;
	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	s[size] = '\0';
	n = strlen(s);
	bucket = n < size - 1 ? s + n + 1 : s + n;
	ret = s3_endpoint_parse(s, bucket, data[0] % 3, &ep, why, sizeof(why));
	if (ret) {
		if (!why[0] && ret != -ENOMEM)
			abort();
	} else {
		size_t bl = strlen(ep.base), hl = strlen(ep.host), pl = strlen(ep.base_path);

		if (strncmp(ep.base, ep.https ? "https://" : "http://", ep.https ? 8 : 7) || !hl ||
		    bl < hl || strcmp(ep.base + bl - hl, ep.host))
			abort();
		if (pl && (ep.base_path[0] != '/' || ep.base_path[pl - 1] == '/'))
			abort();
		if (why[0])
			abort();
	}
	s3_endpoint_fini(&ep);
	free(s);
	return 0;
}
