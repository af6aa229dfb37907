// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_watch.c - the watch stream decoder (k8s/watch.c) on
 * any bytes: the events (each object printed whole) and the result are the
 * same whether the bytes come in one piece, cut once anywhere, or in many
 * small pieces; a difference aborts. Seeds: watch streams in the API
 * server's format (tests/k8s/data/watch/).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int on_event(void *arg, enum kwatch_type t, cJSON *obj)
{
	struct kbuf *b = arg;
	char *s = obj ? cJSON_PrintUnformatted(obj) : NULL;

	kbuf_printf(b, "%d:%s\n", (int)t, s ? s : "-");
	cJSON_free(s);
	cJSON_Delete(obj);
	return 0;
}

/* decode with pieces from @cut (0: whole); the events into @out */
static int decode(const uint8_t *data, size_t size, uint64_t seed, int mode, struct kbuf *out)
{
	struct kwatch_dec d;
	size_t off = 0;
	bool first = true;
	int ret = 0;

	kwatch_dec_init(&d, on_event, out);
	d.max_line = 4096;
	while (off < size && !ret) {
		size_t n = size - off;

		if (mode == 1 && first)
			n = seed % (size + 1); /* may be 0: an empty piece first */
		else if (mode == 2) {
			seed = seed * 6364136223846793005ull + 1442695040888963407ull;
			n = 1 + (size_t)((seed >> 33) % 23);
			if (n > size - off)
				n = size - off;
		}
		ret = kwatch_dec_feed(&d, (const char *)data + off, n);
		off += n;
		first = false;
	}
	if (!ret)
		ret = kwatch_dec_finish(&d);
	kwatch_dec_fini(&d);
	kbuf_printf(out, "ret %d\n", ret);
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kbuf whole = {0}, once = {0}, many = {0};
	uint64_t seed = 0;

	for (size_t i = 0; i < size && i < 8; i++)
		seed = seed * 131 + data[i];
	decode(data, size, seed, 0, &whole);
	decode(data, size, seed, 1, &once);
	decode(data, size, seed, 2, &many);
	if (whole.failed || once.failed || many.failed)
		goto out; /* out of (capped) memory: nothing to compare */
	if (whole.len != once.len || memcmp(whole.p, once.p, whole.len) || whole.len != many.len ||
	    memcmp(whole.p, many.p, whole.len))
		abort();
out:
	kbuf_free(&whole);
	kbuf_free(&once);
	kbuf_free(&many);
	return 0;
}
