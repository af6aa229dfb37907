// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_pb.c - the protobuf wire format, as much as the
 * SnapshotMetadata messages use: a key is (field number << 3 | wire type) as
 * a varint; wire type 0 a varint, 1 eight bytes, 2 a varint length and that
 * many bytes, 5 four bytes (little endian). Varints are 7 bits a byte, low
 * group first, at most 10 bytes for 64 bits.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cbt.h"

static int pb_grow(struct cbt_pb *b, size_t more)
{
	uint8_t *p;
	size_t cap;

	if (b->err)
		return b->err;
	if (b->len + more <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < b->len + more)
		cap *= 2;
	/* not realloc(): the old buffer may hold a token and is wiped first */
	p = malloc(cap);
	if (!p)
		return b->err = -ENOMEM;
	if (b->len)
		memcpy(p, b->p, b->len);
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	b->p = p;
	b->cap = cap;
	return 0;
}

static void pb_raw_varint(struct cbt_pb *b, uint64_t v)
{
	if (pb_grow(b, 10))
		return;
	do {
		uint8_t c = v & 0x7f;

		v >>= 7;
		b->p[b->len++] = c | (v ? 0x80 : 0);
	} while (v);
}

void cbt_pb_varint(struct cbt_pb *b, uint32_t num, uint64_t v)
{
	if (!v)
		return;
	pb_raw_varint(b, (uint64_t)num << 3 | 0);
	pb_raw_varint(b, v);
}

void cbt_pb_bytes(struct cbt_pb *b, uint32_t num, const void *p, size_t len)
{
	if (!len)
		return;
	pb_raw_varint(b, (uint64_t)num << 3 | 2);
	pb_raw_varint(b, len);
	if (pb_grow(b, len))
		return;
	memcpy(b->p + b->len, p, len);
	b->len += len;
}

void cbt_pb_wipe(struct cbt_pb *b)
{
	if (b->p)
		OPENSSL_cleanse(b->p, b->cap);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

static int pb_varint(const uint8_t *buf, size_t len, size_t *pos, uint64_t *v, const char *what,
		     struct cbt_err *e)
{
	uint64_t x = 0;

	for (unsigned int i = 0; i < 10; i++) {
		uint8_t c;

		if (*pos >= len)
			return cbt_fail(e, -EBADMSG, "protobuf: %s: varint truncated at byte %zu",
					what, *pos);
		c = buf[(*pos)++];
		/* the tenth byte holds bit 63 only */
		if (i == 9 && c > 1)
			return cbt_fail(e, -EBADMSG,
					"protobuf: %s: varint above 64 bits at byte %zu", what,
					*pos - 1);
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			*v = x;
			return 0;
		}
	}
	return cbt_fail(e, -EBADMSG, "protobuf: %s: varint longer than 10 bytes at byte %zu", what,
			*pos);
}

int cbt_pb_next(const uint8_t *buf, size_t len, size_t *pos, struct cbt_pb_field *f,
		struct cbt_err *e)
{
	size_t at = *pos;
	uint64_t key;
	int ret;

	if (*pos >= len)
		return 0;
	memset(f, 0, sizeof(*f));
	ret = pb_varint(buf, len, pos, &key, "key", e);
	if (ret)
		return ret;
	if (key >> 3 == 0 || key >> 3 > 0x1fffffff)
		return cbt_fail(e, -EBADMSG, "protobuf: field number %llu at byte %zu",
				(unsigned long long)(key >> 3), at);
	f->num = (uint32_t)(key >> 3);
	f->wire = key & 7;
	switch (f->wire) {
	case 0:
		ret = pb_varint(buf, len, pos, &f->v, "value", e);
		return ret ? ret : 1;
	case 1:
	case 5: {
		size_t n = f->wire == 1 ? 8 : 4;

		if (len - *pos < n)
			return cbt_fail(e, -EBADMSG, "protobuf: field %u: fixed%zu truncated",
					f->num, n * 8);
		for (size_t i = 0; i < n; i++)
			f->v |= (uint64_t)buf[*pos + i] << (8 * i);
		*pos += n;
		return 1;
	}
	case 2:
		ret = pb_varint(buf, len, pos, &f->v, "length", e);
		if (ret)
			return ret;
		if (f->v > len - *pos)
			return cbt_fail(
				e, -EBADMSG,
				"protobuf: field %u: length %llu past the end (%zu bytes left)",
				f->num, (unsigned long long)f->v, len - *pos);
		f->p = buf + *pos;
		f->len = (size_t)f->v;
		*pos += f->len;
		return 1;
	default:
		return cbt_fail(e, -EBADMSG, "protobuf: field %u: wire type %u at byte %zu", f->num,
				f->wire, at);
	}
}
