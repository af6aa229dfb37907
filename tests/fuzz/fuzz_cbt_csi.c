// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cbt_csi.c - the CSI producer's response path of
 * control/cbt/: a gRPC body (length-prefixed messages) cut anywhere, framed
 * by cbt_grpc_feed() and read by cbt_csi_response(), as two calls (the
 * second resumed from the end of the first's last tuple). Whatever the
 * bytes, the list must come out in increasing, disjoint ranges inside the
 * capacity, none ending at or before the call's starting_offset, summing to
 * the stream's byte count.
 *
 * Input: a seed byte for the cut sizes, the offset in the rest where the
 * second call starts (u16, little endian), then the body of both calls.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cbt/cbt.h"
#include "datapath/dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fz_msg(void *arg, const uint8_t *msg, size_t len, struct cbt_err *e)
{
	return cbt_csi_response(arg, msg, len, e);
}

/* one call's body, fed in pieces of 1..@seed+1 bytes; 0 or the first error */
static int fz_call(struct cbt_csi_stream *s, const uint8_t *p, size_t len, unsigned int seed)
{
	struct cbt_grpc_frames f = {.max = 1 << 16};
	struct cbt_err err = {.msg = ""};
	unsigned int x = seed | 1;
	int ret = 0;

	s->start = s->end;
	s->last = 0;
	while (len && !ret) {
		size_t k;

		x = x * 1103515245u + 12345u;
		k = 1 + (x >> 16) % (seed + 1);
		if (k > len)
			k = len;
		ret = cbt_grpc_feed(&f, p, k, fz_msg, s, &err);
		p += k;
		len -= k;
	}
	cbt_grpc_frames_fini(&f);
	if (ret && !err.msg[0])
		abort(); /* every refusal says why */
	return ret;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dp_cbl l = {.n = 0};
	struct cbt_csi_stream s = {.out = &l};
	uint64_t sum = 0, prev_end = 0;
	size_t split;

	if (size < 3)
		return 0;
	split = (size_t)(data[1] | data[2] << 8);
	if (split > size - 3)
		split = size - 3;
	if (!fz_call(&s, data + 3, split, data[0]))
		fz_call(&s, data + 3 + split, size - 3 - split, data[0] ^ 0x5a);
	for (size_t i = 0; i < l.n; i++) {
		const struct dp_range *r = &l.ranges[i];

		if (!r->len || r->off < prev_end || r->off + r->len > s.capacity ||
		    r->off + r->len < r->off)
			abort();
		prev_end = r->off + r->len;
		sum += r->len;
	}
	if (sum != s.bytes || l.n != s.tuples || (l.n && l.size != s.capacity))
		abort();
	if (s.type == CBT_CSI_FIXED_LENGTH && l.n && !s.block)
		abort();
	dp_cbl_fini(&l);
	return 0;
}
