// SPDX-License-Identifier: MIT
/*
 * tests/cbt/t_cbt_diff.c - the changed-block engine of control/cbt/cbt.c on
 * synthetic extent maps: hand-made cases (shared blocks at other addresses,
 * holes against unwritten extents, growth and shrinking, straddling
 * extents, compressed extents, opaque ones), then thousands of random maps
 * with random copy-on-write edits checked block by block against a model,
 * fed in FIEMAP's manner (extents repeated, split, overlapping the previous
 * batch); FIEMAP flag decoding; the btrfs tree-search parser on good and
 * hostile buffers; a stream of a million extents.
 */
#include <errno.h>
#include <string.h>

#include <linux/btrfs.h>
#include <linux/btrfs_tree.h>
#include <linux/fiemap.h>

#include "control/cbt/cbt.h"
#include "datapath/dp.h"
#include "t_helpers.h"

/* ------------------------------------------------ an extent array source */

struct arr_src {
	struct cbt_source src;
	const struct cbt_extent *e;
	size_t n, i;
	uint64_t rng; /* nonzero: sometimes repeat the previous extent, or a zero-length one */
	int fail_at;  /* >= 0: return -EIO at this index */
};

static uint64_t xs(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int arr_next(struct cbt_source *src, struct cbt_extent *e)
{
	struct arr_src *a = (struct arr_src *)src;

	if (a->fail_at >= 0 && a->i == (size_t)a->fail_at) {
		snprintf(a->src.err.msg, sizeof(a->src.err.msg), "injected failure");
		return -EIO;
	}
	if (a->rng && a->i > 0 && xs(&a->rng) % 5 == 0) {
		/* what FIEMAP does when a batch starts inside an extent */
		*e = a->e[a->i - 1];
		if (xs(&a->rng) % 3 == 0)
			e->len = 0;
		return 1;
	}
	if (a->i == a->n)
		return 0;
	*e = a->e[a->i++];
	return 1;
}

static void arr_init(struct arr_src *a, const struct cbt_extent *e, size_t n, uint64_t rng)
{
	memset(a, 0, sizeof(*a));
	a->src.next = arr_next;
	a->e = e;
	a->n = n;
	a->rng = rng;
	a->fail_at = -1;
}

static void run_diff(const struct cbt_extent *o, size_t no, const struct cbt_extent *n, size_t nn,
		     uint64_t osize, uint64_t nsize, uint64_t rng, struct dp_cbl *out)
{
	struct arr_src a, b;
	struct cbt_err e = {.msg = ""};
	int ret;

	memset(out, 0, sizeof(*out));
	arr_init(&a, o, no, rng);
	arr_init(&b, n, nn, rng ? rng * 31 + 7 : 0);
	ret = cbt_diff(&a.src, &b.src, osize, nsize, out, NULL, &e);
	T_ASSERT(ret == 0, "cbt_diff: %d %s", ret, e.msg);
	for (size_t i = 0; i < out->n; i++) {
		T_ASSERT(out->ranges[i].len > 0);
		T_ASSERT(out->ranges[i].off + out->ranges[i].len <= nsize);
		if (i) /* sorted, disjoint and not adjacent (coalesced) */
			T_ASSERT(out->ranges[i].off >
				 out->ranges[i - 1].off + out->ranges[i - 1].len);
	}
}

#define D(l, n, p)                                                                                 \
	{                                                                                          \
		.logical = (l), .len = (n), .space = 0, .phys = (p), .kind = CBT_DATA              \
	}
#define DS(l, n, s, p)                                                                             \
	{                                                                                          \
		.logical = (l), .len = (n), .space = (s), .phys = (p), .kind = CBT_DATA            \
	}
#define Z(l, n, p)                                                                                 \
	{                                                                                          \
		.logical = (l), .len = (n), .phys = (p), .kind = CBT_ZERO                          \
	}
#define O(l, n)                                                                                    \
	{                                                                                          \
		.logical = (l), .len = (n), .kind = CBT_OPAQUE                                     \
	}

static void expect(const struct dp_cbl *l, const uint64_t (*want)[2], size_t n, const char *what)
{
	T_ASSERT(l->n == n, "%s: %zu ranges, expected %zu", what, l->n, n);
	for (size_t i = 0; i < n; i++)
		T_ASSERT(l->ranges[i].off == want[i][0] && l->ranges[i].len == want[i][1],
			 "%s: range %zu is %llu+%llu, expected %llu+%llu", what, i,
			 (unsigned long long)l->ranges[i].off, (unsigned long long)l->ranges[i].len,
			 (unsigned long long)want[i][0], (unsigned long long)want[i][1]);
}

#define EXPECT(l, what, ...)                                                                       \
	do {                                                                                       \
		static const uint64_t w_[][2] = {__VA_ARGS__};                                     \
		expect(l, w_, sizeof(w_) / sizeof(w_[0]), what);                                   \
	} while (0)
#define EXPECT_NONE(l, what) T_ASSERT((l)->n == 0, "%s: %zu ranges, expected none", what, (l)->n)

static void test_cases(void)
{
	struct dp_cbl l;

	/* identical maps: nothing */
	{
		struct cbt_extent o[] = {D(0, 100, 1000), D(100, 50, 5000)};

		run_diff(o, 2, o, 2, 150, 150, 0, &l);
		EXPECT_NONE(&l, "identical");
		dp_cbl_fini(&l);
	}
	/* the same blocks, cut into different extents on each side */
	{
		struct cbt_extent o[] = {D(0, 150, 1000)};
		struct cbt_extent n[] = {D(0, 30, 1000), D(30, 70, 1030), D(100, 50, 1100)};

		run_diff(o, 1, n, 3, 150, 150, 0, &l);
		EXPECT_NONE(&l, "split extents");
		dp_cbl_fini(&l);
	}
	/* a rewritten block in the middle: only it; straddling boundaries */
	{
		struct cbt_extent o[] = {D(0, 100, 1000), D(100, 100, 3000)};
		struct cbt_extent n[] = {D(0, 90, 1000), D(90, 20, 9000), D(110, 90, 3010)};

		run_diff(o, 2, n, 3, 200, 200, 0, &l);
		EXPECT(&l, "straddling write", {90, 20});
		dp_cbl_fini(&l);
	}
	/* every block at another address (NEW not a reflink of OLD at all): all */
	{
		struct cbt_extent o[] = {D(0, 100, 1000)};
		struct cbt_extent n[] = {D(0, 100, 1001)};

		run_diff(o, 1, n, 1, 100, 100, 0, &l);
		EXPECT(&l, "shifted", {0, 100});
		dp_cbl_fini(&l);
	}
	/* hole == unwritten == hole; unwritten vs data at the same address differs */
	{
		struct cbt_extent o[] = {Z(10, 10, 500), D(40, 10, 700), Z(60, 10, 800)};
		struct cbt_extent n[] = {Z(0, 10, 100), Z(30, 10, 200), D(40, 10, 700),
					 D(60, 10, 800)};

		run_diff(o, 3, n, 4, 100, 100, 0, &l);
		EXPECT(&l, "zeros", {60, 10});
		dp_cbl_fini(&l);
	}
	/* punched hole, and data where OLD had a hole */
	{
		struct cbt_extent o[] = {D(0, 100, 1000)};
		struct cbt_extent n[] = {D(0, 20, 1000), D(50, 50, 1050), D(120, 10, 4000)};

		run_diff(o, 1, n, 3, 200, 200, 0, &l);
		EXPECT(&l, "punch and fill", {20, 30}, {120, 10});
		dp_cbl_fini(&l);
	}
	/* opaque always differs, even against itself */
	{
		struct cbt_extent o[] = {O(0, 10), D(10, 10, 100)};
		struct cbt_extent n[] = {O(0, 10), O(10, 5), D(15, 5, 105)};

		run_diff(o, 2, n, 3, 20, 20, 0, &l);
		EXPECT(&l, "opaque", {0, 15});
		dp_cbl_fini(&l);
	}
	/* compressed (own address space): the offset into the extent must match */
	{
		struct cbt_extent o[] = {DS(0, 10, 777, 0), DS(10, 10, 777, 10),
					 DS(20, 10, 777, 20)};
		struct cbt_extent n[] = {DS(0, 10, 777, 0), DS(10, 10, 777, 0), D(20, 10, 20)};

		run_diff(o, 3, n, 3, 30, 30, 0, &l);
		EXPECT(&l, "compressed", {10, 20});
		dp_cbl_fini(&l);
	}
	/* growth: the tail is changed whatever it holds; extents past EOF are ignored */
	{
		struct cbt_extent o[] = {D(0, 100, 1000), Z(100, 50, 2000)};
		struct cbt_extent n[] = {D(0, 100, 1000), Z(100, 50, 2000)};

		run_diff(o, 2, n, 2, 90, 130, 0, &l);
		EXPECT(&l, "growth", {90, 40});
		dp_cbl_fini(&l);
	}
	/* shrinking: nothing beyond NEW's size, unaligned sizes */
	{
		struct cbt_extent o[] = {D(0, 4096, 8192)};
		struct cbt_extent n[] = {D(0, 4096, 8192)};

		run_diff(o, 1, n, 1, 4000, 1000, 0, &l);
		EXPECT_NONE(&l, "shrink");
		dp_cbl_fini(&l);
	}
	/* empty files; NEW empty; OLD empty */
	{
		struct cbt_extent n[] = {D(0, 10, 5)};

		run_diff(NULL, 0, NULL, 0, 0, 0, 0, &l);
		EXPECT_NONE(&l, "both empty");
		dp_cbl_fini(&l);
		run_diff(NULL, 0, n, 1, 0, 10, 0, &l);
		EXPECT(&l, "from empty", {0, 10});
		dp_cbl_fini(&l);
		run_diff(n, 1, NULL, 0, 10, 0, 0, &l);
		EXPECT_NONE(&l, "to empty");
		dp_cbl_fini(&l);
	}
	/* an extent reaching to the end of the address space does not wrap */
	{
		struct cbt_extent o[] = {D(0, UINT64_MAX, 0)};
		struct cbt_extent n[] = {D(0, 10, 0), D(10, UINT64_MAX, 99)};

		run_diff(o, 1, n, 2, 1000, 1000, 0, &l);
		EXPECT(&l, "huge extents", {10, 990});
		dp_cbl_fini(&l);
	}
	/* a source failure carries its message */
	{
		struct cbt_extent o[] = {D(0, 10, 0), D(10, 10, 50)};
		struct arr_src a, b;
		struct cbt_err e = {.msg = ""};

		memset(&l, 0, sizeof(l));
		arr_init(&a, o, 2, 0);
		arr_init(&b, o, 2, 0);
		b.fail_at = 1;
		T_ASSERT(cbt_diff(&a.src, &b.src, 20, 20, &l, NULL, &e) == -EIO);
		T_ASSERT(strstr(e.msg, "injected"), "message: %s", e.msg);
		dp_cbl_fini(&l);
	}
}

/* --------------------------------------- random maps against a block model */

#define NB 96 /* blocks of one byte each */

struct blk {
	enum cbt_kind kind;
	bool hole;
	uint64_t space, phys;
};

static bool model_zero(const struct blk *b)
{
	return b->hole || b->kind == CBT_ZERO;
}

static bool model_changed(const struct blk *o, const struct blk *n)
{
	if (model_zero(o) && model_zero(n))
		return false;
	if (model_zero(o) != model_zero(n) || o->kind == CBT_OPAQUE || n->kind == CBT_OPAQUE)
		return true;
	return o->space != n->space || o->phys != n->phys;
}

/* encode a block map as extents, cut at random where runs would merge */
static size_t encode(const struct blk *m, size_t nb, struct cbt_extent *out, uint64_t *rng)
{
	size_t n = 0;

	for (size_t b = 0; b < nb; b++) {
		struct cbt_extent *last = n ? &out[n - 1] : NULL;

		if (m[b].hole)
			continue;
		if (last && last->logical + last->len == b && last->kind == m[b].kind &&
		    last->space == m[b].space && last->phys + last->len == m[b].phys &&
		    xs(rng) % 4) {
			last->len++;
			continue;
		}
		out[n++] = (struct cbt_extent){.logical = b,
					       .len = 1,
					       .space = m[b].space,
					       .phys = m[b].phys,
					       .kind = m[b].kind};
	}
	return n;
}

static void fill_run(struct blk *m, size_t from, size_t len, enum cbt_kind k, uint64_t space,
		     uint64_t phys, bool hole)
{
	for (size_t i = 0; i < len && from + i < NB; i++)
		m[from + i] =
			(struct blk){.kind = k, .hole = hole, .space = space, .phys = phys + i};
}

static void test_random(void)
{
	uint64_t rng = 0x9e3779b97f4a7c15ull, next_phys = 1 << 20;

	for (int iter = 0; iter < 20000; iter++) {
		struct blk mo[NB], mn[NB];
		struct cbt_extent eo[NB], en[NB];
		size_t no, nn, osize, nsize;
		bool want[NB + 8] = {false}, got[NB + 8] = {false};
		struct dp_cbl l;

		/* OLD: runs of holes, data, unwritten, compressed, now and then opaque */
		for (size_t b = 0; b < NB;) {
			size_t len = 1 + xs(&rng) % 12;
			unsigned int r = xs(&rng) % 16;

			if (r < 3)
				fill_run(mo, b, len, CBT_DATA, 0, 0, true);
			else if (r < 5)
				fill_run(mo, b, len, CBT_ZERO, 0, next_phys, false);
			else if (r < 6)
				fill_run(mo, b, len, CBT_DATA, next_phys, xs(&rng) % 4, false);
			else if (r < 7)
				fill_run(mo, b, len, CBT_OPAQUE, 0, next_phys, false);
			else
				fill_run(mo, b, len, CBT_DATA, 0, next_phys, false);
			next_phys += 64;
			b += len;
		}
		memcpy(mn, mo, sizeof(mn));
		/* NEW: a few copy-on-write edits */
		for (int k = xs(&rng) % 5; k > 0; k--) {
			size_t from = xs(&rng) % NB, len = 1 + xs(&rng) % 10;

			switch (xs(&rng) % 8) {
			case 0: /* write: new blocks */
			case 1:
				fill_run(mn, from, len, CBT_DATA, 0, next_phys, false);
				break;
			case 2: /* punch */
				fill_run(mn, from, len, CBT_DATA, 0, 0, true);
				break;
			case 3: /* fallocate / zero range */
				fill_run(mn, from, len, CBT_ZERO, 0, next_phys, false);
				break;
			case 4: /* unwritten becomes written where it lies */
				for (size_t i = from; i < from + len && i < NB; i++)
					if (mn[i].kind == CBT_ZERO && !mn[i].hole)
						mn[i].kind = CBT_DATA;
				break;
			case 5: { /* clone another range of the file over this one */
				size_t src = xs(&rng) % NB;

				for (size_t i = 0; i < len && from + i < NB && src + i < NB; i++)
					mn[from + i] = mo[src + i];
				break;
			}
			case 6: /* the same addresses in another space (compressed or not) */
				for (size_t i = from; i < from + len && i < NB; i++)
					mn[i].space = mn[i].space ? 0 : 777;
				break;
			default: /* delalloc */
				fill_run(mn, from, len, CBT_OPAQUE, 0, next_phys, false);
			}
			next_phys += 64;
		}
		osize = NB - xs(&rng) % 20;
		nsize = NB - xs(&rng) % 20;
		no = encode(mo, NB, eo, &rng);
		nn = encode(mn, NB, en, &rng);
		for (size_t b = 0; b < nsize; b++)
			want[b] = b >= osize || model_changed(&mo[b], &mn[b]);
		run_diff(eo, no, en, nn, osize, nsize, iter % 2 ? xs(&rng) | 1 : 0, &l);
		for (size_t i = 0; i < l.n; i++)
			for (uint64_t b = l.ranges[i].off; b < l.ranges[i].off + l.ranges[i].len;
			     b++)
				got[b] = true;
		for (size_t b = 0; b < NB; b++)
			T_ASSERT(want[b] == got[b], "iteration %d block %zu: model %d, diff %d",
				 iter, b, want[b], got[b]);
		dp_cbl_fini(&l);
	}
}

/* ---------------------------------------------------- FIEMAP flag decoding */

static void test_fiemap_flags(void)
{
	struct cbt_extent e;
	static const uint32_t opaque[] = {
		FIEMAP_EXTENT_UNKNOWN | FIEMAP_EXTENT_DELALLOC,
		FIEMAP_EXTENT_DELALLOC,
		FIEMAP_EXTENT_ENCODED,
		FIEMAP_EXTENT_DATA_ENCRYPTED | FIEMAP_EXTENT_ENCODED,
		FIEMAP_EXTENT_NOT_ALIGNED | FIEMAP_EXTENT_DATA_INLINE,
		FIEMAP_EXTENT_DATA_TAIL | FIEMAP_EXTENT_NOT_ALIGNED,
		FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_ENCODED,
	};

	cbt_fiemap_extent(4096, 1 << 20, 8192, FIEMAP_EXTENT_SHARED | FIEMAP_EXTENT_LAST, &e);
	T_ASSERT(e.kind == CBT_DATA && e.logical == 4096 && e.len == 8192 && e.phys == 1 << 20 &&
			 e.space == 0,
		 "shared data is data: the flag says nothing about change");
	cbt_fiemap_extent(0, 1 << 20, 4096, FIEMAP_EXTENT_UNWRITTEN | FIEMAP_EXTENT_SHARED, &e);
	T_ASSERT(e.kind == CBT_ZERO);
	cbt_fiemap_extent(0, 0, 4096, FIEMAP_EXTENT_MERGED, &e);
	T_ASSERT(e.kind == CBT_DATA);
	for (size_t i = 0; i < sizeof(opaque) / sizeof(opaque[0]); i++) {
		cbt_fiemap_extent(0, 1, 4096, opaque[i], &e);
		T_ASSERT(e.kind == CBT_OPAQUE, "flags 0x%x", opaque[i]);
	}
}

/* ------------------------------------------------ btrfs tree-search parser */

static size_t put_item(uint8_t *buf, size_t at, uint64_t ino, uint32_t type, uint64_t off,
		       const uint8_t *item, uint32_t len)
{
	struct btrfs_ioctl_search_header sh = {
		.transid = 7, .objectid = ino, .offset = off, .type = type, .len = len};

	memcpy(buf + at, &sh, sizeof(sh));
	memcpy(buf + at + sizeof(sh), item, len);
	return at + sizeof(sh) + len;
}

static void le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* a btrfs_file_extent_item, 53 bytes */
static void fe_item(uint8_t *it, uint8_t type, uint8_t compression, uint64_t disk_bytenr,
		    uint64_t offset, uint64_t num_bytes)
{
	memset(it, 0, 53);
	le64(it + 0, 12);	 /* generation */
	le64(it + 8, num_bytes); /* ram_bytes */
	it[16] = compression;
	it[20] = type;
	le64(it + 21, disk_bytenr);
	le64(it + 29, 1 << 17); /* disk_num_bytes */
	le64(it + 37, offset);
	le64(it + 45, num_bytes);
}

static void test_btrfs_parse(void)
{
	uint8_t buf[4096], it[64], inl[21 + 100];
	struct cbt_extent e[8];
	uint64_t last = 0;
	size_t at = 0, n;

	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 1 << 30, 4096, 8192);
	at = put_item(buf, at, 257, BTRFS_EXTENT_DATA_KEY, 0, it, 53);
	fe_item(it, BTRFS_FILE_EXTENT_REG, 3, 1 << 29, 65536, 4096); /* zstd */
	at = put_item(buf, at, 257, BTRFS_EXTENT_DATA_KEY, 8192, it, 53);
	fe_item(it, BTRFS_FILE_EXTENT_PREALLOC, 0, 1 << 28, 0, 4096);
	at = put_item(buf, at, 257, BTRFS_EXTENT_DATA_KEY, 12288, it, 53);
	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 0, 0, 4096); /* hole item */
	at = put_item(buf, at, 257, BTRFS_EXTENT_DATA_KEY, 16384, it, 53);
	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 1 << 27, 0, 4096); /* another inode */
	at = put_item(buf, at, 258, BTRFS_EXTENT_DATA_KEY, 20480, it, 53);
	at = put_item(buf, at, 257, BTRFS_INODE_ITEM_KEY, 0, it, 53); /* another type */
	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 1 << 26, 0, 0);	      /* empty */
	at = put_item(buf, at, 257, BTRFS_EXTENT_DATA_KEY, 24576, it, 53);
	T_ASSERT(cbt_btrfs_parse(buf, at, 7, 257, e, 8, &n, &last) == 0);
	T_ASSERT_EQ(n, 4);
	T_ASSERT_EQ(last, 24576);
	T_ASSERT(e[0].kind == CBT_DATA && e[0].logical == 0 && e[0].len == 8192 &&
		 e[0].space == 0 && e[0].phys == (1u << 30) + 4096);
	T_ASSERT(e[1].kind == CBT_DATA && e[1].space == 1 << 29 && e[1].phys == 65536 &&
		 e[1].logical == 8192);
	T_ASSERT(e[2].kind == CBT_ZERO && e[2].logical == 12288);
	T_ASSERT(e[3].kind == CBT_ZERO && e[3].logical == 16384);
	/* room for fewer extents than there are */
	T_ASSERT(cbt_btrfs_parse(buf, at, 7, 257, e, 2, &n, &last) == -ENOSPC);
	/* every truncation of the buffer is refused, never read past */
	for (size_t cut = 0; cut < at; cut++) {
		uint8_t *copy = malloc(cut ? cut : 1);
		int ret;

		T_ASSERT(copy);
		memcpy(copy, buf, cut);
		ret = cbt_btrfs_parse(copy, cut, 7, 257, e, 8, &n, &last);
		T_ASSERT(ret == -EBADMSG, "cut at %zu: %d", cut, ret);
		free(copy);
	}
	/* inline: opaque, at least a block */
	memset(inl, 0, sizeof(inl));
	le64(inl + 8, 100);
	inl[20] = BTRFS_FILE_EXTENT_INLINE;
	at = put_item(buf, 0, 257, BTRFS_EXTENT_DATA_KEY, 0, inl, sizeof(inl));
	T_ASSERT(cbt_btrfs_parse(buf, at, 1, 257, e, 8, &n, &last) == 0 && n == 1);
	T_ASSERT(e[0].kind == CBT_OPAQUE && e[0].len == 4096);
	/* a short REG item, an unknown type, a header longer than the buffer */
	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 1, 0, 4096);
	at = put_item(buf, 0, 257, BTRFS_EXTENT_DATA_KEY, 0, it, 40);
	T_ASSERT(cbt_btrfs_parse(buf, at, 1, 257, e, 8, &n, &last) == -EBADMSG);
	fe_item(it, 9, 0, 1, 0, 4096);
	at = put_item(buf, 0, 257, BTRFS_EXTENT_DATA_KEY, 0, it, 53);
	T_ASSERT(cbt_btrfs_parse(buf, at, 1, 257, e, 8, &n, &last) == -EBADMSG);
	fe_item(it, BTRFS_FILE_EXTENT_REG, 0, 1, 0, 4096);
	at = put_item(buf, 0, 257, BTRFS_EXTENT_DATA_KEY, 0, it, 53);
	((struct btrfs_ioctl_search_header *)buf)->len = 0xffffffffu;
	T_ASSERT(cbt_btrfs_parse(buf, at, 1, 257, e, 8, &n, &last) == -EBADMSG);
	/* more items claimed than the buffer holds */
	((struct btrfs_ioctl_search_header *)buf)->len = 53;
	T_ASSERT(cbt_btrfs_parse(buf, at, 2, 257, e, 8, &n, &last) == -EBADMSG);
	/* random garbage: no crash (ASan watches), never more than max */
	for (uint64_t s = 1; s < 2000; s++) {
		uint64_t r = s * 0x9e3779b97f4a7c15ull;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (uint8_t)xs(&r);
		at = xs(&r) % sizeof(buf);
		cbt_btrfs_parse(buf, at, (uint32_t)(xs(&r) % 64), xs(&r) % 3, e, 8, &n, &last);
		T_ASSERT(n <= 8);
	}
}

/* --------------------------------- a million extents, streamed, not stored */

struct gen_src {
	struct cbt_source src;
	uint64_t i, n, shift;
};

static int gen_next(struct cbt_source *src, struct cbt_extent *e)
{
	struct gen_src *g = (struct gen_src *)src;

	if (g->i == g->n)
		return 0;
	/* 4 KiB extents, every 1000th one at another address on the NEW side */
	*e = (struct cbt_extent){.logical = g->i * 4096,
				 .len = 4096,
				 .phys = g->i * 8192 + (g->shift && g->i % 1000 == 0 ? 1 : 0),
				 .kind = CBT_DATA};
	g->i++;
	return 1;
}

static void test_many(void)
{
	struct gen_src a = {.src.next = gen_next, .n = 1000000};
	struct gen_src b = {.src.next = gen_next, .n = 1000000, .shift = 1};
	struct cbt_stats st = {0};
	struct cbt_err e = {.msg = ""};
	struct dp_cbl l = {.n = 0};

	T_ASSERT(cbt_diff(&a.src, &b.src, 4096000000ull, 4096000000ull, &l, &st, &e) == 0);
	T_ASSERT_EQ(l.n, 1000);
	T_ASSERT_EQ(st.bytes_changed, 1000 * 4096);
	T_ASSERT_EQ(st.extents_old, 1000000);
	T_ASSERT(l.ranges[999].off == 999000ull * 4096);
	dp_cbl_fini(&l);
}

int main(void)
{
	test_cases();
	test_random();
	test_fiemap_flags();
	test_btrfs_parse();
	test_many();
	printf("PASS: t_cbt_diff\n");
	return 0;
}
