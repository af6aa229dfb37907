// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_format.c - the on-storage encodings of FORMAT.md: manifests
 * (streamed both ways, fed in pieces of every size, zero runs of any length,
 * every single-byte corruption detected), pack indexes (round trip, checksum,
 * malformed lengths), the repository config and snapshot metadata (malformed
 * JSON), the resolution of snapshot ids, and blobs (raw and zstd, in the clear
 * and sealed: each decodes to its chunk, each damaged byte is refused).
 */
#include <errno.h>
#include <string.h>

#include "datapath/blob.h"
#include "datapath/chunkidx.h"
#include "datapath/dp_json.h"
#include "datapath/manifest.h"
#include "datapath/packfmt.h"
#include "datapath/repo_int.h"
#include "t_helpers.h"

struct sink {
	uint8_t *buf;
	size_t len, cap;
};

static int sink_emit(void *arg, const void *buf, size_t len)
{
	struct sink *s = arg;

	if (s->len + len > s->cap) {
		s->cap = (s->len + len) * 2;
		s->buf = realloc(s->buf, s->cap);
		T_ASSERT(s->buf, "out of memory");
	}
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	return 0;
}

static void meta_fill(struct dp_snapshot *m, uint64_t size)
{
	static char vol[] = "db-0", src[] = "/dev/loop3", host[] = "node-a";
	static char k1[] = "app", v1[] = "app2backup";
	static struct dp_label labels[] = {{k1, v1}};

	memset(m, 0, sizeof(*m));
	T_ASSERT(!dp_random_id(m->id));
	m->volume = vol;
	m->source = src;
	m->hostname = host;
	m->size = size;
	m->chunk_size = 1 << 20;
	m->time_start = 1700000000000000;
	m->time_end = 1700000001000000;
	m->labels = labels;
	m->nlabels = 1;
	m->chunks_total = (size + m->chunk_size - 1) / m->chunk_size;
}

/* the reference pattern: chunk i is zero in runs, else id = (i, i>>8, ...) */
static bool pattern_zero(uint64_t i)
{
	return (i % 97) < 13 || (i >= 20000 && i < 90000);
}

static void pattern_id(uint64_t i, uint8_t id[DP_ID_LEN])
{
	for (int b = 0; b < DP_ID_LEN; b++)
		id[b] = (uint8_t)((i * 2654435761u) >> (b % 4 * 8)) ^ (uint8_t)b;
}

/* the keys of the test: unencrypted, or a random master key */
static struct dp_keys t_keys;

static void write_manifest(struct sink *s, uint64_t nchunks, struct dp_snapshot *m)
{
	struct dp_mwriter *w;
	uint8_t id[DP_ID_LEN];

	meta_fill(m, nchunks << 20);
	T_ASSERT(!dp_mwriter_new(sink_emit, s, &t_keys, m->id, &w));
	for (uint64_t i = 0; i < nchunks; i++) {
		if (pattern_zero(i)) {
			T_ASSERT(!dp_mwriter_add_zero(w, 1));
		} else {
			pattern_id(i, id);
			T_ASSERT(!dp_mwriter_add_chunk(w, id));
		}
	}
	T_ASSERT(!dp_mwriter_finish(w, m));
	dp_mwriter_free(w);
}

/* Feed @buf in pieces of @step; return 0 and the chunk count, or the error. */
static int read_manifest(const uint8_t *buf, size_t len, size_t step, uint64_t *nchunks,
			 bool check_pattern, const char *snap_id)
{
	struct dp_mreader *r;
	struct dp_ref ref;
	uint64_t i = 0;
	int ret;

	ret = dp_mreader_new(len, &t_keys, snap_id, &r);
	if (ret)
		return ret;
	for (size_t pos = 0; pos < len && !ret; pos += step) {
		size_t n = len - pos < step ? len - pos : step;

		ret = dp_mreader_feed(r, buf + pos, n);
		while (!ret && (ret = dp_mreader_next(r, &ref)) == 1) {
			ret = 0;
			if (ref.zero) {
				for (uint64_t k = 0; k < ref.count && check_pattern; k++)
					T_ASSERT(pattern_zero(i + k), "chunk %llu is not zero",
						 (unsigned long long)(i + k));
				i += ref.count;
			} else {
				uint8_t id[DP_ID_LEN];

				if (check_pattern) {
					pattern_id(i, id);
					T_ASSERT(!pattern_zero(i) && !memcmp(id, ref.id, DP_ID_LEN),
						 "chunk %llu", (unsigned long long)i);
				}
				i++;
			}
		}
	}
	if (!ret)
		ret = dp_mreader_finish(r);
	dp_mreader_free(r);
	*nchunks = i;
	return ret;
}

static void test_manifest(void)
{
	static const size_t steps[] = {1, 7, 4096, 1 << 20};
	struct sink s = {0};
	struct dp_snapshot m, back;
	uint64_t n = 123457, got;

	write_manifest(&s, n, &m);
	for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		if (steps[i] == 1 && s.len > (4 << 20))
			continue;
		T_ASSERT_EQ(read_manifest(s.buf, s.len, steps[i], &got, true, m.id), 0);
		T_ASSERT_EQ(got, n);
	}
	/* the footer alone gives the metadata back */
	T_ASSERT_EQ(dp_manifest_parse_tail(s.buf, s.len, s.len, &t_keys, m.id, &back), 0);
	T_ASSERT(!strcmp(back.id, m.id) && back.size == m.size && back.chunk_size == m.chunk_size);
	T_ASSERT(!strcmp(back.volume, "db-0") && back.nlabels == 1 &&
		 !strcmp(back.labels[0].key, "app") && !strcmp(back.labels[0].value, "app2backup"));
	T_ASSERT(back.time_end == m.time_end && back.chunks_total == m.chunks_total);
	dp_snapshot_fini(&back);
	/* a short tail asks for more */
	T_ASSERT_EQ(dp_manifest_parse_tail(s.buf + s.len - 50, 50, s.len, &t_keys, m.id, &back),
		    -EAGAIN);
	if (t_keys.encrypted) {
		char other[65];
		uint64_t got2;

		/* sealed to its snapshot id: under another id nothing decrypts */
		T_ASSERT(!dp_random_id(other));
		T_ASSERT_EQ(dp_manifest_parse_tail(s.buf, s.len, s.len, &t_keys, other, &back),
			    -EUCLEAN);
		T_ASSERT_EQ(read_manifest(s.buf, s.len, 4096, &got2, false, other), -EUCLEAN);
	}
	free(s.buf);
}

/* Every byte flipped in a small manifest is detected; every truncation too. */
static void test_manifest_corruption(void)
{
	struct sink s = {0};
	struct dp_snapshot m;
	uint64_t got;

	write_manifest(&s, 300, &m);
	for (size_t i = 0; i < s.len; i++) {
		uint8_t *copy = malloc(s.len);
		int ret;

		memcpy(copy, s.buf, s.len);
		copy[i] ^= 0x5a;
		ret = read_manifest(copy, s.len, 64, &got, false, m.id);
		T_ASSERT(ret == -EBADMSG || ret == -EUCLEAN || ret == -EPROTONOSUPPORT,
			 "byte %zu of %zu flipped: %d (%s)", i, s.len, ret, dp_last_error());
		free(copy);
	}
	for (size_t len = 0; len < s.len; len += len < 100 ? 1 : 37) {
		int ret = read_manifest(s.buf, len, 64, &got, false, m.id);

		T_ASSERT(ret < 0, "truncated to %zu of %zu bytes: accepted", len, s.len);
	}
	free(s.buf);
}

/* A zero run of 2^42 chunks (a 4 PiB hole) is one record. */
static void test_manifest_huge_zero(void)
{
	struct sink s = {0};
	struct dp_mwriter *w;
	struct dp_mreader *r;
	struct dp_snapshot m;
	struct dp_ref ref;
	uint8_t id[DP_ID_LEN] = {1};

	meta_fill(&m, 1ull << 52);
	T_ASSERT(!dp_mwriter_new(sink_emit, &s, &t_keys, m.id, &w));
	T_ASSERT(!dp_mwriter_add_zero(w, 1ull << 41));
	T_ASSERT(!dp_mwriter_add_zero(w, 1ull << 41));
	T_ASSERT(!dp_mwriter_add_chunk(w, id));
	T_ASSERT(!dp_mwriter_finish(w, &m));
	dp_mwriter_free(w);
	T_ASSERT(s.len < 1024, "%zu bytes", s.len);
	T_ASSERT(!dp_mreader_new(s.len, &t_keys, m.id, &r));
	T_ASSERT(!dp_mreader_feed(r, s.buf, s.len));
	T_ASSERT_EQ(dp_mreader_next(r, &ref), 1);
	T_ASSERT(ref.zero && ref.count == 1ull << 42);
	T_ASSERT_EQ(dp_mreader_next(r, &ref), 1);
	T_ASSERT(!ref.zero && ref.id[0] == 1);
	T_ASSERT_EQ(dp_mreader_next(r, &ref), 0);
	T_ASSERT_EQ(dp_mreader_finish(r), 0);
	dp_mreader_free(r);
	free(s.buf);
}

static void test_pack_index(void)
{
	struct dp_pack_entry e[100], *back;
	uint8_t pack[DP_ID_LEN], pack2[DP_ID_LEN];
	size_t n, len = dp_pack_index_size(100);
	uint8_t *buf = malloc(len);

	t_fill_random(pack, sizeof(pack), 1);
	for (int i = 0; i < 100; i++) {
		t_fill_random(e[i].id, DP_ID_LEN, 100 + (uint64_t)i);
		e[i].offset = (uint64_t)i << 20;
		e[i].stored_len = 1000 + (uint32_t)i;
		e[i].raw_len = 1 << 20;
		e[i].kind = i & 1 ? DP_BLOB_ZSTD : DP_BLOB_RAW;
	}
	dp_pack_index_encode(pack, e, 100, buf);
	T_ASSERT_EQ(dp_pack_index_decode(buf, len, pack2, &back, &n), 0);
	T_ASSERT(n == 100 && !memcmp(pack, pack2, DP_ID_LEN));
	for (int i = 0; i < 100; i++)
		T_ASSERT(!memcmp(back[i].id, e[i].id, DP_ID_LEN) && back[i].offset == e[i].offset &&
			 back[i].stored_len == e[i].stored_len && back[i].raw_len == e[i].raw_len &&
			 back[i].kind == e[i].kind);
	free(back);
	for (size_t i = 0; i < len; i += 13) {
		buf[i] ^= 1;
		T_ASSERT(dp_pack_index_decode(buf, len, pack2, &back, &n) < 0, "byte %zu", i);
		buf[i] ^= 1;
	}
	T_ASSERT_EQ(dp_pack_index_decode(buf, len - 1, pack2, &back, &n), -EBADMSG);
	T_ASSERT_EQ(dp_pack_index_decode(buf, 10, pack2, &back, &n), -EBADMSG);
	free(buf);
}

/* The 8 bytes that end a pack: encoded, decoded, and refused when they cannot be right. */
static void test_pack_trailer(void)
{
	uint8_t t[DP_PACK_TAIL], *buf = NULL;
	struct dp_pack_entry e = {.offset = 0, .stored_len = 10, .raw_len = 10};
	uint8_t pack[DP_ID_LEN];
	uint32_t len;
	size_t ilen;

	dp_pack_trailer_encode(1234, t);
	T_ASSERT(!memcmp(t + 4, "FRYP", 4) && t[0] == (1234 & 0xff) && t[1] == 1234 >> 8);
	T_ASSERT_EQ(dp_pack_trailer_decode(t, 1234 + DP_PACK_TAIL, &len), 0);
	T_ASSERT_EQ(len, 1234);
	/* an index longer than the pack, a wrong magic */
	T_ASSERT_EQ(dp_pack_trailer_decode(t, 1234 + DP_PACK_TAIL - 1, &len), -EBADMSG);
	T_ASSERT_EQ(len, 0);
	t[7] ^= 1;
	T_ASSERT_EQ(dp_pack_trailer_decode(t, 1 << 20, &len), -EBADMSG);
	/* dp_pack_tail_build(): the index as stored, then the trailer giving its length */
	t_fill_random(pack, sizeof(pack), 7);
	t_fill_random(e.id, DP_ID_LEN, 8);
	T_ASSERT_EQ(dp_pack_tail_build(&t_keys, pack, &e, 1, &buf, &ilen), 0);
	T_ASSERT_EQ(ilen, dp_pack_index_size(1) + (t_keys.encrypted ? DP_SEAL_OVERHEAD : 0));
	T_ASSERT_EQ(dp_pack_trailer_decode(buf + ilen, ilen + DP_PACK_TAIL, &len), 0);
	T_ASSERT_EQ(len, ilen);
	free(buf);
}

static void test_config(void)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"null",
		"{\"format\":\"ferry-repository\"}",
		"{\"format\":\"other\",\"version\":1}",
		"{\"format\":\"ferry-repository\",\"version\":1,\"id\":\"xyz\",\"chunk_size\":1048576,"
		"\"hash\":\"sha256\",\"compression\":\"zstd\",\"encryption\":\"none\"}",
		"{\"format\":\"ferry-repository\",\"version\":1,\"id\":\"00000000000000000000000000000000"
		"00000000000000000000000000000000\",\"chunk_size\":1000,\"hash\":\"sha256\","
		"\"compression\":\"zstd\",\"encryption\":\"none\"}",
		"{\"format\":\"ferry-repository\",\"version\":-1}",
		"{\"format\":\"ferry-repository\",\"version\":1e300}",
	};
	struct dp_repo_info info = {.version = 1, .chunk_size = 1 << 20, .created = 1}, back;
	char *json;

	T_ASSERT(!dp_random_id(info.id));
	strcpy(info.hash, "sha256");
	strcpy(info.compression, "zstd");
	strcpy(info.encryption, "none");
	T_ASSERT(!dp_config_encode(&info, &json));
	T_ASSERT_EQ(dp_config_decode(json, strlen(json), &back), 0);
	T_ASSERT(!strcmp(back.id, info.id) && back.chunk_size == info.chunk_size);
	free(json);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int ret = dp_config_decode(bad[i], strlen(bad[i]), &back);

		T_ASSERT(ret == -EBADMSG || ret == -EPROTONOSUPPORT, "config %zu accepted (%d)", i,
			 ret);
	}
	T_ASSERT_EQ(dp_config_decode("{\"format\":\"ferry-repository\",\"version\":7}", 41, &back),
		    -EPROTONOSUPPORT);
	T_ASSERT(dp_meta_decode("{\"id\":1}", 8, &(struct dp_snapshot){0}) == -EBADMSG);
}

static void test_find(void)
{
	struct dp_snapshot s[4] = {0};
	static char a[] = "a", b[] = "b";
	const struct dp_snapshot *f;
	int err = 0;

	strcpy(s[0].id, "aaaaaaaa11111111111111111111111111111111111111111111111111111111");
	strcpy(s[1].id, "aaaaaaaa22222222222222222222222222222222222222222222222222222222");
	strcpy(s[2].id, "bbbbbbbb33333333333333333333333333333333333333333333333333333333");
	strcpy(s[3].id, "cccccccc44444444444444444444444444444444444444444444444444444444");
	s[0].volume = s[1].volume = a;
	s[2].volume = s[3].volume = b;
	f = dp_snapshot_find(NULL, s, 4, "aaaaaaaa", NULL, &err);
	T_ASSERT(!f && err == -ENOTUNIQ, "ambiguous prefix: %d", err);
	T_ASSERT(strstr(dp_last_error(), "ambiguous"));
	f = dp_snapshot_find(NULL, s, 4, "aaaaaaaa2", NULL, &err);
	T_ASSERT(f == &s[1]);
	f = dp_snapshot_find(NULL, s, 4, s[2].id, NULL, &err);
	T_ASSERT(f == &s[2]);
	f = dp_snapshot_find(NULL, s, 4, "latest", NULL, &err);
	T_ASSERT(!f && err == -ENOTUNIQ);
	f = dp_snapshot_find(NULL, s, 4, "latest", "a", &err);
	T_ASSERT(f == &s[1]);
	f = dp_snapshot_find(NULL, s, 4, "latest", "zz", &err);
	T_ASSERT(!f && err == -ENOENT);
	f = dp_snapshot_find(NULL, s, 4, "aaaa", NULL, &err);
	T_ASSERT(!f && err == -EINVAL);
	f = dp_snapshot_find(NULL, s, 4, "AAAAAAAA", NULL, &err);
	T_ASSERT(!f && err == -EINVAL);
	f = dp_snapshot_find(NULL, s, 4, "dddddddd", NULL, &err);
	T_ASSERT(!f && err == -ENOENT);
	f = dp_snapshot_find(NULL, s, 4, "aaaaaaaa1", "b", &err);
	T_ASSERT(!f && err == -ENOENT);
	f = dp_snapshot_find(NULL, s, 0, "latest", NULL, &err);
	T_ASSERT(!f && err == -ENOENT);
}

static void test_chunkidx(void)
{
	struct dp_chunkidx *ix;
	struct dp_loc loc = {.offset = 5, .stored_len = 7, .raw_len = 9, .kind = 1}, back;
	uint8_t id[DP_ID_LEN];

	T_ASSERT(!dp_chunkidx_new(&ix));
	T_ASSERT_EQ(dp_chunkidx_add_pack(ix, (uint8_t[DP_ID_LEN]){9}), 0);
	for (uint64_t i = 0; i < 300000; i++) {
		t_fill_random(id, sizeof(id), i);
		loc.offset = i;
		T_ASSERT_EQ(dp_chunkidx_insert(ix, id, &loc), 0);
	}
	T_ASSERT_EQ(dp_chunkidx_count(ix), 300000);
	for (uint64_t i = 0; i < 300000; i += 7) {
		t_fill_random(id, sizeof(id), i);
		T_ASSERT(dp_chunkidx_lookup(ix, id, &back) && back.offset == i &&
			 back.raw_len == 9);
		T_ASSERT_EQ(dp_chunkidx_insert(ix, id, &loc), 1);
	}
	t_fill_random(id, sizeof(id), 1000000);
	T_ASSERT(!dp_chunkidx_lookup(ix, id, &back));
	T_ASSERT(dp_chunkidx_pack_id(ix, 0)[0] == 9 && !dp_chunkidx_pack_id(ix, 1));
	dp_chunkidx_free(ix);
	dp_chunkidx_free(NULL);
}

/* Sealing: round trips, any flipped byte and any other additional data fail. */
static void test_seal(void)
{
	uint8_t msg[1000], *sealed, *plain;
	size_t slen, plen;

	t_fill_random(msg, sizeof(msg), 7);
	T_ASSERT(!dp_seal_alloc(&t_keys, "ad", 2, msg, sizeof(msg), &sealed, &slen));
	T_ASSERT_EQ(slen, sizeof(msg) + DP_SEAL_OVERHEAD);
	T_ASSERT(memcmp(sealed + DP_NONCE_LEN, msg, 64), "not encrypted");
	T_ASSERT(!dp_open_alloc(&t_keys, "ad", 2, sealed, slen, &plain, &plen));
	T_ASSERT(plen == sizeof(msg) && !memcmp(plain, msg, plen));
	free(plain);
	T_ASSERT_EQ(dp_open_alloc(&t_keys, "ae", 2, sealed, slen, &plain, &plen), -EUCLEAN);
	for (size_t i = 0; i < slen; i += 7) {
		sealed[i] ^= 0x80;
		T_ASSERT_EQ(dp_open_alloc(&t_keys, "ad", 2, sealed, slen, &plain, &plen), -EUCLEAN);
		sealed[i] ^= 0x80;
	}
	T_ASSERT_EQ(dp_open_alloc(&t_keys, "ad", 2, sealed, 20, &plain, &plen), -EBADMSG);
	free(sealed);
}

/* Chunk ids: SHA-256 in the clear, an HMAC keyed by the repository when encrypted. */
static void test_hasher(void)
{
	struct dp_hasher *h, *h2;
	struct dp_keys other;
	uint8_t a[DP_ID_LEN], b[DP_ID_LEN], c[DP_ID_LEN], sha[DP_ID_LEN];

	T_ASSERT(!dp_hasher_new(&t_keys, &h));
	T_ASSERT(!dp_hasher_digest(h, "abc", 3, a));
	T_ASSERT(!dp_hasher_digest(h, "abc", 3, b));
	T_ASSERT(!memcmp(a, b, DP_ID_LEN), "not deterministic");
	T_ASSERT(!dp_sha256("abc", 3, sha));
	T_ASSERT(t_keys.encrypted ? memcmp(a, sha, DP_ID_LEN) != 0 : !memcmp(a, sha, DP_ID_LEN));
	T_ASSERT(!dp_keys_generate(&other));
	T_ASSERT(!dp_hasher_new(&other, &h2));
	T_ASSERT(!dp_hasher_digest(h2, "abc", 3, c));
	T_ASSERT(memcmp(c, a, DP_ID_LEN), "two keys give one id");
	dp_hasher_free(h);
	dp_hasher_free(h2);
}

static void test_scrypt(void)
{
	uint8_t salt[16] = {1}, k1[DP_KEY_LEN], k2[DP_KEY_LEN];

	T_ASSERT(!dp_kdf_scrypt("pw", 2, salt, sizeof(salt), 1024, 8, 1, k1));
	T_ASSERT(!dp_kdf_scrypt("pw", 2, salt, sizeof(salt), 1024, 8, 1, k2));
	T_ASSERT(!memcmp(k1, k2, DP_KEY_LEN));
	T_ASSERT(!dp_kdf_scrypt("pX", 2, salt, sizeof(salt), 1024, 8, 1, k2));
	T_ASSERT(memcmp(k1, k2, DP_KEY_LEN));
}

/*
 * A blob of each kind decodes into the caller's chunk buffer, whatever was in
 * it: a raw blob of a sealed repository is opened straight into that buffer
 * (no copy), so a damaged seal must still fail, and a good one must fill it.
 */
static void test_blob(void)
{
	enum { CHUNK = 65536 };
	struct dp_blobenc *e;
	struct dp_blobdec *d;
	uint8_t *chunk = malloc(CHUNK), *out = malloc(CHUNK), *copy = malloc(2 * CHUNK);
	uint8_t id[DP_ID_LEN];
	struct dp_hasher *h;

	T_ASSERT(chunk && out && copy);
	T_ASSERT(!dp_blobenc_new(&t_keys, CHUNK, 1, &e));
	T_ASSERT(!dp_blobdec_new(&t_keys, CHUNK, &d));
	T_ASSERT(!dp_hasher_new(&t_keys, &h));
	for (int random = 0; random < 2; random++) {
		const void *blob;
		const char *why;
		uint32_t blen;
		uint8_t kind;

		if (random)
			t_fill_random(chunk, CHUNK, 11);
		else
			for (size_t i = 0; i < CHUNK; i++)
				chunk[i] = (uint8_t)("ferry blob "[i % 11]);
		T_ASSERT(!dp_hasher_digest(h, chunk, CHUNK, id));
		T_ASSERT(!dp_blob_encode(e, id, chunk, CHUNK, &blob, &blen, &kind));
		T_ASSERT_EQ(kind, random ? DP_BLOB_RAW : DP_BLOB_ZSTD);
		T_ASSERT(blen <= 2 * CHUNK);
		memcpy(copy, blob, blen);
		memset(out, 0xa5, CHUNK);
		T_ASSERT(!dp_blob_decode(d, id, kind, CHUNK, copy, blen, out, &why));
		T_ASSERT(!memcmp(out, chunk, CHUNK), "blob decoded wrong");
		/* every 97th byte flipped: refused, never taken */
		for (uint32_t i = 0; i < blen; i += 97) {
			copy[i] ^= 0x10;
			T_ASSERT_EQ(dp_blob_decode(d, id, kind, CHUNK, copy, blen, out, &why),
				    -EUCLEAN);
			T_ASSERT(why != NULL);
			copy[i] ^= 0x10;
		}
		/* cut short, or a length the index does not say */
		T_ASSERT_EQ(dp_blob_decode(d, id, kind, CHUNK, copy, blen - 1, out, &why),
			    -EUCLEAN);
		T_ASSERT_EQ(dp_blob_decode(d, id, kind, CHUNK - 1, copy, blen, out, &why),
			    -EUCLEAN);
		T_ASSERT(!dp_blob_decode(d, id, kind, CHUNK, copy, blen, out, &why));
		T_ASSERT(!memcmp(out, chunk, CHUNK), "blob decoded wrong after the refusals");
	}
	dp_hasher_free(h);
	dp_blobdec_free(d);
	dp_blobenc_free(e);
	free(copy);
	free(out);
	free(chunk);
}

static void test_formats(void)
{
	test_manifest();
	test_manifest_corruption();
	test_manifest_huge_zero();
	test_pack_trailer();
	if (t_keys.encrypted)
		test_seal();
	test_hasher();
	test_blob();
}

int main(void)
{
	/* every encoding, once in the clear and once encrypted */
	memset(&t_keys, 0, sizeof(t_keys));
	test_formats();
	T_ASSERT(!dp_keys_generate(&t_keys));
	test_formats();
	test_scrypt();
	test_pack_index();
	test_config();
	test_find();
	test_chunkidx();
	printf("PASS: t_format\n");
	return T_EXIT_PASS;
}
