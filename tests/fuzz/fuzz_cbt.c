// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cbt.c - the btrfs tree-search result parser of
 * control/cbt/cbt_btrfs.c on any buffer, and the changed-block engine of
 * control/cbt/cbt.c on whatever extents come out of it (two maps: the input's
 * two halves), in any order, overlapping, of any length. The list must stay
 * sorted, disjoint and inside the new size.
 *
 * Input: u32 nr_items and u64 new/old sizes (little endian, 20 bytes), then
 * the two halves of the rest as the OLD and NEW search buffers.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cbt/cbt.h"
#include "datapath/dp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX 256

struct fz_src {
	struct cbt_source src;
	struct cbt_extent e[FZ_MAX];
	size_t n, i;
};

static int fz_next(struct cbt_source *src, struct cbt_extent *e)
{
	struct fz_src *f = (struct fz_src *)src;

	if (f->i == f->n)
		return 0;
	*e = f->e[f->i++];
	return 1;
}

static uint64_t fz_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fz_src a, b;
	struct cbt_err err = {.msg = ""};
	struct dp_cbl l = {.n = 0};
	uint64_t last = 0, osize, nsize;
	uint32_t nr;
	size_t half;

	if (size < 20)
		return 0;
	nr = (uint32_t)fz_le(data, 4);
	nsize = fz_le(data + 4, 8) & ((1ull << 40) - 1);
	osize = fz_le(data + 12, 8) & ((1ull << 40) - 1);
	data += 20;
	size -= 20;
	half = size / 2;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	a.src.next = b.src.next = fz_next;
	/* the inode is the one the kernel would have been asked about: 257 */
	if (cbt_btrfs_parse(data, half, nr, 257, a.e, FZ_MAX, &a.n, &last) < 0)
		a.n = 0;
	if (cbt_btrfs_parse(data + half, size - half, nr, 257, b.e, FZ_MAX, &b.n, &last) < 0)
		b.n = 0;
	if (a.n > FZ_MAX || b.n > FZ_MAX)
		abort();
	/* FIEMAP's flag decoding from the same bytes */
	for (size_t i = 0; i + 28 <= size && i < 28 * 8; i += 28) {
		struct cbt_extent e;

		cbt_fiemap_extent(fz_le(data + i, 8), fz_le(data + i + 8, 8),
				  fz_le(data + i + 16, 8), (uint32_t)fz_le(data + i + 24, 4), &e);
		if (e.kind != CBT_DATA && e.kind != CBT_ZERO && e.kind != CBT_OPAQUE)
			abort();
	}
	if (!cbt_diff(&a.src, &b.src, osize, nsize, &l, NULL, &err)) {
		for (size_t i = 0; i < l.n; i++) {
			if (!l.ranges[i].len || l.ranges[i].off + l.ranges[i].len > nsize)
				abort();
			if (i && l.ranges[i].off <= l.ranges[i - 1].off + l.ranges[i - 1].len)
				abort();
		}
		/* growth is always listed */
		if (nsize > osize &&
		    (!l.n || l.ranges[l.n - 1].off + l.ranges[l.n - 1].len != nsize))
			abort();
	}
	dp_cbl_fini(&l);
	return 0;
}
