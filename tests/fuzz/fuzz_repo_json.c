// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_repo_json.c - the JSON objects of a repository (FORMAT.md:
 * the config, a manifest's metadata, key objects, locks) from any bytes; what
 * decodes is encoded again, must hold no number in exponent form, and must
 * decode to the same values.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "datapath/dp_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* FORMAT.md "JSON": numbers are written as plain digits (outside strings: no e, E or .) */
static void plain_digits(const char *json)
{
	bool in_string = false, in_number = false;

	for (const char *p = json; *p; p++) {
		if (in_string) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_string = false;
			continue;
		}
		if (*p == '"')
			in_string = true;
		else if ((*p >= '0' && *p <= '9') || *p == '-')
			in_number = true;
		else if (in_number && (*p == 'e' || *p == 'E' || *p == '.'))
			abort();
		else
			in_number = false;
	}
}

static void keys_and_locks(const char *data, size_t size)
{
	struct dp_keyobj k, k2;
	struct dp_lockinfo l, l2;
	char *json;

	if (!dp_keyobj_decode(data, size, &k) && !dp_keyobj_encode(&k, &json)) {
		plain_digits(json);
		if (dp_keyobj_decode(json, strlen(json), &k2) || k2.n != k.n || k2.r != k.r ||
		    k2.created != k.created || memcmp(k2.master, k.master, sizeof(k.master)))
			abort();
		free(json);
	}
	if (!dp_lock_decode(data, size, &l) && !dp_lock_encode(&l, &json)) {
		plain_digits(json);
		if (dp_lock_decode(json, strlen(json), &l2) || l2.time != l.time ||
		    l2.pid != l.pid || l2.exclusive != l.exclusive)
			abort();
		free(json);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_repo_info info, info2;
	struct dp_snapshot s, s2;
	char *json;

	keys_and_locks((const char *)data, size);
	if (!dp_config_decode((const char *)data, size, &info) && !dp_config_encode(&info, &json)) {
		plain_digits(json);
		if (dp_config_decode(json, strlen(json), &info2) ||
		    info2.chunk_size != info.chunk_size || strcmp(info2.id, info.id))
			abort();
		free(json);
	}
	if (!dp_meta_decode((const char *)data, size, &s)) {
		if (!dp_meta_encode(&s, &json)) {
			plain_digits(json);
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
