// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_record.c - a backup record's JSON (FORMAT.md "Backup
 * records") from any bytes, as the key 0123...cdef would hold it; what
 * decodes is encoded again and must decode to the same values. The same
 * bytes as an archive's object line (dp_archive_line_check()).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char id[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

static void same(const struct dp_record *a, const struct dp_record *b)
{
	if (strcmp(a->name, b->name) || strcmp(a->namespace, b->namespace) ||
	    strcmp(a->cluster, b->cluster) || strcmp(a->phase, b->phase) ||
	    strcmp(a->spec, b->spec) || a->time_start != b->time_start ||
	    a->time_end != b->time_end || a->objects != b->objects ||
	    a->archive_bytes != b->archive_bytes || a->nvolumes != b->nvolumes ||
	    a->nlabels != b->nlabels || a->chunks->n != b->chunks->n ||
	    memcmp(a->chunks->sha256, b->chunks->sha256, sizeof(a->chunks->sha256)))
		abort();
	for (size_t i = 0; i < a->nvolumes; i++)
		if (strcmp(a->volumes[i].snapshot, b->volumes[i].snapshot) ||
		    a->volumes[i].size != b->volumes[i].size ||
		    strcmp(a->volumes[i].volume, b->volumes[i].volume))
			abort();
	for (size_t i = 0; i < a->chunks->n; i++)
		if (memcmp(&a->chunks->v[i], &b->chunks->v[i], sizeof(a->chunks->v[i])))
			abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_record *r = NULL, *r2 = NULL;
	char *json = NULL;
	bool secret;

	(void)dp_archive_line_check((const char *)data, size, &secret);
	if (dp_record_decode((const char *)data, size, id, &r))
		return 0;
	if (dp_record_encode(r, r->chunks, &json))
		abort();
	if (dp_record_decode(json, strlen(json), id, &r2))
		abort();
	same(r, r2);
	free(json);
	dp_record_free(r);
	dp_record_free(r2);
	return 0;
}
