// SPDX-License-Identifier: MIT
/*
 * tests/cbt/t_cbt_csi.c - the CSI producer's wire code without a network:
 * the protobuf reader on edge values and on every kind of malformed input,
 * the request messages against bytes written out by hand from the wire
 * format, the response reader's checks (FIXED_LENGTH and VARIABLE_LENGTH,
 * unknown fields, negative values, overlaps, a resumed call's first tuple),
 * the gRPC message framing fed whole, byte by byte and in random cuts, its
 * limits, grpc-message's percent-decoding and the status table.
 */
#include <errno.h>
#include <string.h>

#include "control/cbt/cbt.h"
#include "datapath/dp.h"
#include "t_helpers.h"

static struct cbt_err err;

/* ------------------------------------------------------------ protobuf */

static int pb_all(const uint8_t *buf, size_t len, struct cbt_pb_field *out, size_t max)
{
	size_t pos = 0, n = 0;
	int ret;

	while ((ret = cbt_pb_next(buf, len, &pos, &out[n], &err)) == 1)
		if (++n == max)
			break;
	return ret < 0 ? ret : (int)n;
}

static void t_pb(void)
{
	static const uint64_t vals[] = {1,     127,	   128,	      300,	 16383,
					16384, UINT32_MAX, INT64_MAX, UINT64_MAX};
	struct cbt_pb b = {.p = NULL};
	struct cbt_pb_field f[16];
	int n;

	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++)
		cbt_pb_varint(&b, (uint32_t)i + 1, vals[i]);
	cbt_pb_varint(&b, 20, 0); /* proto3: left out */
	cbt_pb_bytes(&b, 536870911, "xyz", 3);
	cbt_pb_bytes(&b, 21, "", 0); /* left out */
	T_ASSERT_EQ(b.err, 0);
	n = pb_all(b.p, b.len, f, 16);
	T_ASSERT_EQ(n, 10);
	for (size_t i = 0; i < 9; i++) {
		T_ASSERT_EQ(f[i].num, i + 1);
		T_ASSERT_EQ(f[i].wire, 0);
		T_ASSERT(f[i].v == vals[i], "value %zu", i);
	}
	T_ASSERT_EQ(f[9].num, 536870911);
	T_ASSERT(f[9].wire == 2 && f[9].len == 3 && !memcmp(f[9].p, "xyz", 3));
	/* UINT64_MAX takes ten bytes, the last 0x01 */
	T_ASSERT(b.p[b.len - 10] == 0x01, "tenth byte of UINT64_MAX");
	cbt_pb_wipe(&b);
	T_ASSERT(b.p == NULL && b.len == 0);

	/* fixed64, fixed32 little endian */
	{
		static const uint8_t fx[] = {0x09, 1, 2, 3, 4, 5, 6, 7, 8, 0x15, 9, 8, 7, 6};

		n = pb_all(fx, sizeof(fx), f, 16);
		T_ASSERT_EQ(n, 2);
		T_ASSERT(f[0].v == 0x0807060504030201ull && f[1].v == 0x06070809u);
	}
	/* malformed */
	static const struct {
		const char *what, *msg;
		uint8_t b[16];
		size_t len;
	} bad[] = {
		{"a truncated key", "truncated", {0x80}, 1},
		{"a truncated value", "truncated", {0x08, 0xff, 0xff}, 3},
		{"an 11-byte varint",
		 "varint",
		 {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		 12},
		{"a tenth byte above 1",
		 "above 64 bits",
		 {0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02},
		 11},
		{"field number 0", "field number 0", {0x00, 0x01}, 2},
		{"wire type 3 (group)", "wire type 3", {0x0b}, 1},
		{"wire type 4", "wire type 4", {0x0c}, 1},
		{"wire type 6", "wire type 6", {0x0e}, 1},
		{"wire type 7", "wire type 7", {0x0f, 0}, 2},
		{"a length past the end", "past the end", {0x0a, 0x05, 'a', 'b'}, 4},
		{"a huge length",
		 "past the end",
		 {0x0a, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01},
		 11},
		{"a truncated fixed64", "fixed64", {0x09, 1, 2, 3}, 4},
		{"a truncated fixed32", "fixed32", {0x0d, 1, 2, 3}, 4},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err.msg[0] = '\0';
		n = pb_all(bad[i].b, bad[i].len, f, 16);
		T_ASSERT(n == -EBADMSG, "%s: %d", bad[i].what, n);
		T_ASSERT(strstr(err.msg, bad[i].msg), "%s: '%s'", bad[i].what, err.msg);
	}
}

/* ------------------------------------------------------------ requests */

static void t_requests(void)
{
	/* field keys: 1<<3|2 = 0x0a, 2<<3|2 = 0x12, 3<<3|2 = 0x1a, 4<<3|2 = 0x22, 5<<3|0 = 0x28 ... */
	static const uint8_t delta[] = {0x0a, 3,   't',	 'o', 'k', 0x12, 2,    'n',  's',  0x1a,
					1,    'b', 0x22, 1,   'x', 0x28, 0xac, 0x02, 0x30, 3};
	static const uint8_t alloc[] = {0x0a, 3,    't', 'o', 'k',  0x12, 2,   'n',
					's',  0x1a, 1,	 'x', 0x20, 0x80, 0x20};
	struct cbt_csi_req r = {.token = "tok",
				.ns = "ns",
				.base = "b",
				.target = "x",
				.start = 300,
				.max_results = 3};
	struct cbt_pb b = {.p = NULL};

	T_ASSERT_EQ(cbt_csi_request(&r, &b), 0);
	T_ASSERT(b.len == sizeof(delta) && !memcmp(b.p, delta, b.len), "GetMetadataDeltaRequest");
	cbt_pb_wipe(&b);
	r.base = NULL;
	r.start = 4096;
	r.max_results = 0;
	T_ASSERT_EQ(cbt_csi_request(&r, &b), 0);
	T_ASSERT(b.len == sizeof(alloc) && !memcmp(b.p, alloc, b.len),
		 "GetMetadataAllocatedRequest");
	cbt_pb_wipe(&b);
}

/* ------------------------------------------------------------ responses */

struct tup {
	uint64_t off, size;
};

/* a response message: type, capacity, tuples; extra unknown fields when @junk */
static void resp(struct cbt_pb *b, uint64_t type, uint64_t cap, const struct tup *t, size_t n,
		 bool junk)
{
	memset(b, 0, sizeof(*b));
	if (junk) {
		cbt_pb_varint(b, 9, 77);
		cbt_pb_bytes(b, 11, "zz", 2);
	}
	for (size_t i = 0; i < n; i++) {
		struct cbt_pb m = {.p = NULL};

		cbt_pb_varint(&m, 1, t[i].off);
		cbt_pb_varint(&m, 2, t[i].size);
		if (junk)
			cbt_pb_bytes(&m, 7, "q", 1);
		cbt_pb_bytes(b, 3, m.p, m.len);
		cbt_pb_wipe(&m);
	}
	/* the scalars after the tuples: any order is allowed */
	cbt_pb_varint(b, 1, type);
	cbt_pb_varint(b, 2, cap);
	T_ASSERT_EQ(b->err, 0);
}

static int feed(struct cbt_csi_stream *s, uint64_t type, uint64_t cap, const struct tup *t,
		size_t n)
{
	struct cbt_pb b;
	int ret;

	resp(&b, type, cap, t, n, true);
	err.msg[0] = '\0';
	ret = cbt_csi_response(s, b.p, b.len, &err);
	cbt_pb_wipe(&b);
	return ret;
}

static void t_responses(void)
{
	const uint64_t cap = 1 << 20;
	struct dp_cbl l = {.n = 0};
	struct cbt_csi_stream s = {.out = &l};
	static const struct tup fx1[] = {{0, 4096}, {4096, 4096}, {65536, 4096}};
	static const struct tup fx2[] = {{69632, 4096}, {cap - 4096, 4096}};

	/* FIXED_LENGTH over two messages, unknown fields skipped */
	T_ASSERT_EQ(feed(&s, CBT_CSI_FIXED_LENGTH, cap, fx1, 3), 0);
	T_ASSERT_EQ(feed(&s, CBT_CSI_FIXED_LENGTH, cap, fx2, 2), 0);
	T_ASSERT_EQ(feed(&s, CBT_CSI_FIXED_LENGTH, cap, NULL, 0), 0); /* an empty message */
	T_ASSERT_EQ(s.tuples, 5);
	T_ASSERT_EQ(s.bytes, 5 * 4096);
	T_ASSERT_EQ(s.block, 4096);
	T_ASSERT_EQ(l.size, cap);
	dp_cbl_normalize(&l);
	T_ASSERT_EQ(l.n, 3);
	T_ASSERT(l.ranges[0].off == 0 && l.ranges[0].len == 8192);
	T_ASSERT(l.ranges[1].off == 65536 && l.ranges[1].len == 8192);
	T_ASSERT(l.ranges[2].off == cap - 4096);
	/* FIXED_LENGTH of another size */
	{
		static const struct tup t[] = {{cap - 8192, 8192}};
		struct cbt_csi_stream s2 = s;

		s2.last = 0;
		s2.end = 0;
		T_ASSERT_EQ(feed(&s2, CBT_CSI_FIXED_LENGTH, cap, t, 1), -EBADMSG);
		T_ASSERT(strstr(err.msg, "the first had 4096"), "%s", err.msg);
	}
	dp_cbl_fini(&l);

	/* each refusal, on a fresh VARIABLE_LENGTH stream (first message) */
	static const struct {
		const char *what, *msg;
		uint64_t type, cap, start;
		struct tup t[2];
		size_t n;
	} bad[] = {
		{"type UNKNOWN", "block_metadata_type 0", 0, cap, 0, {{0, 1}}, 1},
		{"type 3", "block_metadata_type 3", 3, cap, 0, {{0, 1}}, 1},
		{"no capacity", "no volume_capacity_bytes", 2, 0, 0, {{0, 1}}, 1},
		{"an empty tuple", "has no size", 2, cap, 0, {{4096, 0}}, 1},
		{"past the capacity",
		 "past the volume's capacity",
		 2,
		 cap,
		 0,
		 {{cap - 4096, 8192}},
		 1},
		{"overlapping",
		 "starts before the previous one ended",
		 2,
		 cap,
		 0,
		 {{0, 8192}, {4096, 4096}},
		 2},
		{"decreasing", "not strictly increasing", 2, cap, 0, {{8192, 4096}, {0, 4096}}, 2},
		{"ending before starting_offset",
		 "ends at or before starting_offset 65536",
		 2,
		 cap,
		 65536,
		 {{0, 4096}},
		 1},
		{"ending at starting_offset",
		 "ends at or before starting_offset",
		 2,
		 cap,
		 65536,
		 {{61440, 4096}},
		 1},
		{"a negative offset",
		 "byte_offset is negative",
		 2,
		 cap,
		 0,
		 {{1ull << 63, 4096}},
		 1},
		{"a negative size", "size_bytes is negative", 2, cap, 0, {{0, UINT64_MAX}}, 1},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct dp_cbl bl = {.n = 0};
		struct cbt_csi_stream bs = {.out = &bl, .start = bad[i].start, .end = bad[i].start};

		T_ASSERT(feed(&bs, bad[i].type, bad[i].cap, bad[i].t, bad[i].n) == -EBADMSG, "%s",
			 bad[i].what);
		T_ASSERT(strstr(err.msg, bad[i].msg), "%s: '%s'", bad[i].what, err.msg);
		dp_cbl_fini(&bl);
	}

	/* a second message that changes the type or the capacity */
	{
		static const struct tup t1[] = {{0, 4096}}, t2[] = {{8192, 4096}};
		struct dp_cbl bl = {.n = 0};
		struct cbt_csi_stream bs = {.out = &bl};

		T_ASSERT_EQ(feed(&bs, 2, cap, t1, 1), 0);
		T_ASSERT_EQ(feed(&bs, 1, cap, t2, 1), -EBADMSG);
		T_ASSERT(strstr(err.msg, "after VARIABLE_LENGTH"), "%s", err.msg);
		T_ASSERT_EQ(feed(&bs, 2, cap * 2, t2, 1), -EBADMSG);
		dp_cbl_fini(&bl);
	}

	/* known fields of the wrong wire type */
	{
		static const uint8_t off_as_bytes[] = {0x1a, 0x04, 0x0a, 0x02, 'a', 'b',
						       0x08, 0x02, 0x10, 0x80, 0x40};
		static const uint8_t meta_as_varint[] = {0x18, 0x05, 0x08, 0x02, 0x10, 0x80, 0x40};
		static const uint8_t type_as_fixed[] = {0x09, 2, 0, 0,	  0,	0,
							0,    0, 0, 0x10, 0x80, 0x40};
		static const uint8_t cut[] = {0x08, 0x02, 0x10, 0x80, 0x40, 0x1a, 0x09, 0x08};
		const struct {
			const uint8_t *b;
			size_t len;
			const char *msg;
		} w[] = {
			{off_as_bytes, sizeof(off_as_bytes), "byte_offset has wire type 2"},
			{meta_as_varint, sizeof(meta_as_varint), "block_metadata has wire type 0"},
			{type_as_fixed, sizeof(type_as_fixed),
			 "block_metadata_type has wire type 1"},
			{cut, sizeof(cut), "past the end"},
		};
		for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
			struct dp_cbl bl = {.n = 0};
			struct cbt_csi_stream bs = {.out = &bl};

			err.msg[0] = '\0';
			T_ASSERT_EQ(cbt_csi_response(&bs, w[i].b, w[i].len, &err), -EBADMSG);
			T_ASSERT(strstr(err.msg, w[i].msg), "%zu: '%s'", i, err.msg);
			dp_cbl_fini(&bl);
		}
	}

	/* a resumed call: its first tuple starts in the block holding starting_offset and is cut there */
	{
		static const struct tup t1[] = {{0, 4096}, {8192, 6000}};
		static const struct tup t2[] = {{12288, 4096}, {20480, 4096}};
		struct dp_cbl bl = {.n = 0};
		struct cbt_csi_stream bs = {.out = &bl};

		T_ASSERT_EQ(feed(&bs, 2, cap, t1, 2), 0);
		T_ASSERT_EQ(bs.end, 14192);
		bs.start = bs.end;
		bs.last = 0;
		T_ASSERT_EQ(feed(&bs, 2, cap, t2, 2), 0);
		T_ASSERT_EQ(bs.tuples, 4);
		T_ASSERT_EQ(bs.bytes, 4096 + 6000 + (16384 - 14192) + 4096);
		dp_cbl_normalize(&bl);
		T_ASSERT_EQ(bl.n, 3);
		T_ASSERT(bl.ranges[1].off == 8192 && bl.ranges[1].len == 16384 - 8192);
		dp_cbl_fini(&bl);
	}
}

/* ------------------------------------------------------------ gRPC framing */

struct got {
	size_t n;
	size_t len[8];
	uint8_t first[8];
	int fail_at; /* >= 1: the callback fails on that message */
};

static int on_msg(void *arg, const uint8_t *msg, size_t len, struct cbt_err *e)
{
	struct got *g = arg;

	if (g->fail_at && g->n + 1 == (size_t)g->fail_at)
		return cbt_fail(e, -ENOSPC, "callback refused");
	T_ASSERT(g->n < 8);
	g->len[g->n] = len;
	g->first[g->n] = len ? msg[0] : 0;
	g->n++;
	return 0;
}

static size_t frame(uint8_t *out, uint8_t flag, size_t len, uint8_t fill)
{
	out[0] = flag;
	out[1] = (uint8_t)(len >> 24);
	out[2] = (uint8_t)(len >> 16);
	out[3] = (uint8_t)(len >> 8);
	out[4] = (uint8_t)len;
	memset(out + 5, fill, len);
	return len + 5;
}

static void t_frames(void)
{
	static uint8_t s[70000];
	size_t n = 0;
	uint64_t rng = 42;

	n += frame(s + n, 0, 3, 'a');
	n += frame(s + n, 0, 0, 0);
	n += frame(s + n, 0, 65536, 'c');
	n += frame(s + n, 0, 1, 'd');
	for (int mode = 0; mode < 3 + 50; mode++) {
		struct cbt_grpc_frames f = {.max = 1 << 17};
		struct got g = {.n = 0};
		size_t at = 0;

		while (at < n) {
			size_t k = mode == 0 ? n : mode == 1 ? 1 : mode == 2 ? 5 : 0;

			if (!k) {
				rng = rng * 6364136223846793005ull + 1442695040888963407ull;
				k = 1 + (rng >> 33) % 9000;
			}
			if (k > n - at)
				k = n - at;
			T_ASSERT_EQ(cbt_grpc_feed(&f, s + at, k, on_msg, &g, &err), 0);
			at += k;
		}
		T_ASSERT(g.n == 4, "mode %d: %zu messages", mode, g.n);
		T_ASSERT(g.len[0] == 3 && g.first[0] == 'a');
		T_ASSERT(g.len[1] == 0);
		T_ASSERT(g.len[2] == 65536 && g.first[2] == 'c');
		T_ASSERT(g.len[3] == 1 && g.first[3] == 'd');
		T_ASSERT_EQ(f.messages, 4);
		T_ASSERT_EQ(f.hdr_n, 0);
		cbt_grpc_frames_fini(&f);
	}
	/* a message above the limit, a compressed one, a callback's refusal, a cut stream */
	{
		struct cbt_grpc_frames f = {.max = 65535};
		struct got g = {.n = 0};

		T_ASSERT_EQ(cbt_grpc_feed(&f, s, n, on_msg, &g, &err), -EMSGSIZE);
		T_ASSERT(strstr(err.msg, "above the limit of 65535"), "%s", err.msg);
		T_ASSERT_EQ(g.n, 2);
		cbt_grpc_frames_fini(&f);
	}
	{
		struct cbt_grpc_frames f = {.max = 0}; /* the default, 4 MiB */
		uint8_t big[5] = {0, 0x00, 0x40, 0x00, 0x01};
		struct got g = {.n = 0};

		T_ASSERT_EQ(cbt_grpc_feed(&f, big, 5, on_msg, &g, &err), -EMSGSIZE);
		cbt_grpc_frames_fini(&f);
	}
	{
		struct cbt_grpc_frames f = {.max = 0};
		uint8_t z[8];
		struct got g = {.n = 0};

		frame(z, 1, 3, 'z');
		T_ASSERT_EQ(cbt_grpc_feed(&f, z, 8, on_msg, &g, &err), -EBADMSG);
		T_ASSERT(strstr(err.msg, "compressed"), "%s", err.msg);
		cbt_grpc_frames_fini(&f);
	}
	{
		struct cbt_grpc_frames f = {.max = 1 << 17};
		struct got g = {.fail_at = 3};

		T_ASSERT_EQ(cbt_grpc_feed(&f, s, n, on_msg, &g, &err), -ENOSPC);
		T_ASSERT_EQ(g.n, 2);
		cbt_grpc_frames_fini(&f);
	}
	{
		struct cbt_grpc_frames f = {.max = 1 << 17};
		struct got g = {.n = 0};

		T_ASSERT_EQ(cbt_grpc_feed(&f, s, 10, on_msg, &g, &err), 0);
		T_ASSERT(g.n == 1 && f.hdr_n == 2, "a cut stream is left inside a message");
		cbt_grpc_frames_fini(&f);
	}
}

static void t_status(void)
{
	const char *name;
	char out[16];

	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_OK, &name), 0);
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_UNAUTHENTICATED, &name), -EACCES);
	T_ASSERT(!strcmp(name, "UNAUTHENTICATED"));
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_PERMISSION_DENIED, NULL), -EPERM);
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_NOT_FOUND, NULL), -ENOENT);
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_INVALID_ARGUMENT, NULL), -EINVAL);
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_UNAVAILABLE, NULL), -EAGAIN);
	T_ASSERT_EQ(cbt_grpc_errno(CBT_GRPC_DEADLINE_EXCEEDED, NULL), -ETIMEDOUT);
	T_ASSERT_EQ(cbt_grpc_errno(17, &name), -EIO);
	T_ASSERT(!strcmp(name, "UNKNOWN"));
	T_ASSERT_EQ(cbt_grpc_errno(-3, NULL), -EIO);
	for (int i = 0; i <= CBT_GRPC_UNAUTHENTICATED; i++) {
		T_ASSERT(cbt_grpc_errno(i, &name) <= 0 && name && name[0], "code %d", i);
		T_ASSERT(i == 0 || cbt_grpc_errno(i, NULL) < 0, "code %d has no errno", i);
	}

	cbt_grpc_pct_decode("user %22x%22 is %E2%9C%93", 25, out, sizeof(out));
	T_ASSERT(!strcmp(out, "user \"x\" is \xe2\x9c\x93"), "'%s'", out);
	cbt_grpc_pct_decode("user %22x%22 is %E2%9C%93", 25, out, 14); /* cut to 13 bytes */
	T_ASSERT(!strcmp(out, "user \"x\" is \xe2"), "'%s'", out);
	cbt_grpc_pct_decode("a%zzb%4", 7, out, sizeof(out));
	T_ASSERT(!strcmp(out, "a%zzb%4"), "'%s'", out);
	cbt_grpc_pct_decode("%41", 3, out, sizeof(out));
	T_ASSERT(!strcmp(out, "A"), "'%s'", out);
	cbt_grpc_pct_decode("%4", 1, out, sizeof(out)); /* the length, not the NUL, ends it */
	T_ASSERT(!strcmp(out, "%"), "'%s'", out);

	/* no network: refused before anything is sent */
	{
		struct cbt_grpc_call c = {.url = "http://127.0.0.1:1/x.Y/Z", .fn = on_msg};
		struct cbt_grpc_result r;

		T_ASSERT_EQ(cbt_grpc_call(&c, &r, &err), -EINVAL);
		T_ASSERT(strstr(err.msg, "TLS only"), "%s", err.msg);
	}
}

int main(void)
{
	t_pb();
	t_requests();
	t_responses();
	t_frames();
	t_status();
	printf("PASS: protobuf reader, requests, responses, gRPC framing, status table\n");
	return 0;
}
