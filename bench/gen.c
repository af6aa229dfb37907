// SPDX-License-Identifier: MIT
/*
 * bench/gen.c - the data ferry bench works on, generated from a seed.
 *
 * The bytes at an offset depend only on the kind, the seed and the offset, so
 * any 64 KiB block can be generated alone, by any thread, to fill a buffer or
 * to check what comes back. Nothing repeats: every block has its own
 * generator state (SplitMix64 of seed and block number, then xoshiro256**),
 * so a backup of generated data is never handed dedup for free.
 *
 *   zero    all zero bytes
 *   random  incompressible
 *   text    words of a seeded vocabulary with spaces, newlines, punctuation
 *           and numbers; zstd -3 stores it in about a third of its size,
 *           about as real system files do
 *   mixed   each 1 MiB region is one of the above, chosen from the seed:
 *           1/4 zero (holes in a generated image), 1/4 random, 1/2 text
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

static uint64_t gen_splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

struct gen_rng {
	uint64_t s[4];
};

static uint64_t gen_rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t gen_next(struct gen_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = gen_rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = gen_rotl(s[3], 45);
	return out;
}

static void gen_seed(struct gen_rng *r, uint64_t seed, uint64_t stream, uint64_t block)
{
	uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull) ^ (block * 0xa24baed4963ee407ull);

	for (int i = 0; i < 4; i++)
		r->s[i] = gen_splitmix(&x);
}

int bench_data_parse(const char *s, enum bench_data *out)
{
	static const char *const names[] = {"zero", "random", "text", "mixed"};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i])) {
			*out = (enum bench_data)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *bench_data_name(enum bench_data kind)
{
	switch (kind) {
	case BENCH_DATA_ZERO:
		return "zero";
	case BENCH_DATA_RANDOM:
		return "random";
	case BENCH_DATA_TEXT:
		return "text";
	case BENCH_DATA_MIXED:
		return "mixed";
	}
	return "?";
}

void bench_gen_init(struct bench_gen *g, enum bench_data kind, uint64_t seed)
{
	static const char cons[] = "bcdfghjklmnprstvwxz";
	static const char vow[] = "aeiouy";
	struct gen_rng r;

	memset(g, 0, sizeof(*g));
	g->kind = kind;
	g->seed = seed;
	gen_seed(&r, seed, 1, 0);
	for (int i = 0; i < BENCH_GEN_WORDS; i++) {
		uint64_t x = gen_next(&r);
		int len = 2 + (int)(x % 9);

		x /= 9;
		for (int j = 0; j < len; j++) {
			if (j % 2 == 0) {
				g->words[i][j] = cons[x % (sizeof(cons) - 1)];
				x /= sizeof(cons) - 1;
			} else {
				g->words[i][j] = vow[x % (sizeof(vow) - 1)];
				x /= sizeof(vow) - 1;
			}
			if (x < 64)
				x = gen_next(&r);
		}
		g->wlen[i] = (uint8_t)len;
	}
}

static void gen_random(const struct bench_gen *g, uint64_t block, uint8_t *p, size_t len)
{
	struct gen_rng r;
	size_t i;

	gen_seed(&r, g->seed, 2, block);
	for (i = 0; i + 8 <= len; i += 8) {
		uint64_t v = gen_next(&r);

		memcpy(p + i, &v, 8);
	}
	if (i < len) {
		uint64_t v = gen_next(&r);

		memcpy(p + i, &v, len - i);
	}
}

static void gen_text(const struct bench_gen *g, uint64_t block, uint8_t *p, size_t len)
{
	struct gen_rng r;
	char tmp[32];
	size_t i = 0;

	gen_seed(&r, g->seed, 3, block);
	while (i < len) {
		uint64_t x = gen_next(&r);
		unsigned int w;
		size_t n;

		/* three words in four from the 256 most common */
		w = (unsigned int)((x >> 2) & ((x & 3) ? 255 : BENCH_GEN_WORDS - 1));
		n = g->wlen[w];
		memcpy(tmp, g->words[w], n);
		x >>= 16;
		switch (x & 31) {
		case 0:
		case 1:
			tmp[n++] = '\n';
			break;
		case 2:
			tmp[n++] = ',';
			tmp[n++] = ' ';
			break;
		case 3:
			tmp[n++] = '.';
			tmp[n++] = ' ';
			break;
		case 4: /* a number of 1-6 digits */
			tmp[n++] = ' ';
			for (unsigned int d = 0, nd = 1 + (unsigned int)((x >> 5) % 6); d < nd; d++)
				tmp[n++] = (char)('0' + (x >> (8 + 4 * d)) % 10);
			tmp[n++] = ' ';
			break;
		default:
			tmp[n++] = ' ';
			break;
		}
		if (n > len - i)
			n = len - i;
		memcpy(p + i, tmp, n);
		i += n;
	}
}

static enum bench_data gen_kind_at(const struct bench_gen *g, uint64_t off)
{
	uint64_t x;

	if (g->kind != BENCH_DATA_MIXED)
		return g->kind;
	x = g->seed ^ ((off / BENCH_GEN_REGION + 1) * 0x632be59bd9b4e019ull);
	switch (gen_splitmix(&x) % 4) {
	case 0:
		return BENCH_DATA_ZERO;
	case 1:
		return BENCH_DATA_RANDOM;
	default:
		return BENCH_DATA_TEXT;
	}
}

bool bench_gen_region_is_zero(const struct bench_gen *g, uint64_t off)
{
	return gen_kind_at(g, off) == BENCH_DATA_ZERO;
}

void bench_gen_fill(const struct bench_gen *g, uint64_t off, void *buf, size_t len)
{
	uint8_t *p = buf;

	while (len) {
		size_t n = len < BENCH_GEN_BLOCK ? len : BENCH_GEN_BLOCK;
		uint64_t block = off / BENCH_GEN_BLOCK;

		switch (gen_kind_at(g, off)) {
		case BENCH_DATA_ZERO:
			memset(p, 0, n);
			break;
		case BENCH_DATA_RANDOM:
			gen_random(g, block, p, n);
			break;
		default:
			gen_text(g, block, p, n);
			break;
		}
		p += n;
		off += n;
		len -= n;
	}
}

struct gen_file {
	const struct bench_gen *g;
	int fd;
	uint64_t size;
	_Atomic uint64_t next;
	_Atomic int err;
};

static void *gen_file_worker(void *arg)
{
	struct gen_file *gf = arg;
	uint8_t *buf = malloc(BENCH_GEN_REGION);
	uint64_t r, nregions = (gf->size + BENCH_GEN_REGION - 1) / BENCH_GEN_REGION;

	if (!buf) {
		gf->err = -ENOMEM;
		return NULL;
	}
	while (!gf->err && (r = atomic_fetch_add(&gf->next, 1)) < nregions) {
		uint64_t off = r * BENCH_GEN_REGION;
		size_t len = gf->size - off < BENCH_GEN_REGION ? (size_t)(gf->size - off)
							       : BENCH_GEN_REGION;
		size_t done = 0;

		if (bench_gen_region_is_zero(gf->g, off))
			continue;
		bench_gen_fill(gf->g, off, buf, len);
		while (done < len) {
			ssize_t n = pwrite(gf->fd, buf + done, len - done, (off_t)(off + done));

			if (n < 0) {
				if (errno == EINTR)
					continue;
				gf->err = -errno;
				break;
			}
			done += (size_t)n;
		}
	}
	free(buf);
	return NULL;
}

int bench_gen_file(const struct bench_gen *g, const char *path, uint64_t size, unsigned int threads,
		   char *err, size_t errlen)
{
	struct gen_file gf = {.g = g, .size = size};
	pthread_t *t = NULL;
	unsigned int i, started = 0;
	int ret;

	gf.fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (gf.fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot create %s: %s", path, strerror(-ret));
		return ret;
	}
	if (ftruncate(gf.fd, (off_t)size)) {
		ret = -errno;
		snprintf(err, errlen, "cannot size %s: %s", path, strerror(-ret));
		goto out_unlink;
	}
	if (threads < 1)
		threads = 1;
	t = calloc(threads, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		snprintf(err, errlen, "out of memory");
		goto out_unlink;
	}
	for (i = 0; i < threads; i++) {
		if (pthread_create(&t[i], NULL, gen_file_worker, &gf))
			break;
		started++;
	}
	if (!started)
		gen_file_worker(&gf);
	for (i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	free(t);
	ret = gf.err;
	if (ret) {
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
		goto out_unlink;
	}
	if (close(gf.fd)) {
		ret = -errno;
		snprintf(err, errlen, "cannot write %s: %s", path, strerror(-ret));
		unlink(path);
		return ret;
	}
	return 0;
out_unlink:
	close(gf.fd);
	unlink(path);
	return ret;
}
