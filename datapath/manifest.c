// SPDX-License-Identifier: MIT
/*
 * datapath/manifest.c - snapshot manifests, written and read as streams
 * (FORMAT.md "snapshots/<id>").
 *
 * A manifest is a 16-byte header, segments of at most DP_MANIFEST_SEG_REFS
 * records (each a zstd frame with its content checksum), an end marker, the
 * metadata JSON and a 40-byte footer. Neither side ever holds more than one
 * segment, so a 16 TiB volume (16 M references) costs the same memory as a
 * small one. In an encrypted repository each segment's frame and the
 * metadata are sealed (AES-256-GCM) with the snapshot id and their position
 * as additional data, so none can be moved to another place or manifest.
 */
#include <stdlib.h>

#include <zstd.h>

#include "crypt.h"
#include "blob.h"
#include "manifest.h"
#include "dp_json.h"

static const uint8_t dp_manifest_magic[4] = {'F', 'R', 'Y', 'S'};
static const uint8_t dp_manifest_end[4] = {'F', 'R', 'Y', 'E'};

#define MANIFEST_HDR   16
#define SEG_HDR	       8
#define REC_CHUNK      0x01
#define REC_ZERO       0x02
#define REC_MAX	       (1 + DP_ID_LEN)
#define SEG_RAW_MAX    (DP_MANIFEST_SEG_REFS * REC_MAX)
#define MANIFEST_LEVEL 3
#define SEG_FRAME_MAX  (ZSTD_COMPRESSBOUND(SEG_RAW_MAX) + DP_SEAL_OVERHEAD)
#define META_SEQ       UINT64_MAX /* the metadata's position in the additional data */

/* additional data of a sealed part of manifest @snap_id: its id and position */
static int manifest_aad(const char *snap_id, uint64_t seq, uint8_t aad[DP_ID_LEN + 8])
{
	if (!snap_id || dp_unhex(snap_id, aad, DP_ID_LEN))
		return -EINVAL;
	dp_put_le64(aad + DP_ID_LEN, seq);
	return 0;
}

/* ------------------------------------------------------------------ writer */

struct dp_mwriter {
	dp_mwriter_emit_fn emit;
	void *arg;
	struct dp_sha256_stream *sum;
	ZSTD_CCtx *cctx;
	uint8_t *raw; /* records of the open segment */
	size_t raw_len;
	uint32_t nrefs;
	uint8_t *out; /* segment header + frame */
	size_t out_cap;
	uint64_t zero_run; /* pending zero chunks, merged into one record */
	const struct dp_keys *keys;
	uint8_t aad[DP_ID_LEN + 8];
	uint64_t seq; /* segments written */
};

static int mw_emit(struct dp_mwriter *w, const void *buf, size_t len)
{
	dp_sha256_stream_update(w->sum, buf, len);
	return w->emit(w->arg, buf, len);
}

int dp_mwriter_new(dp_mwriter_emit_fn emit, void *arg, const struct dp_keys *keys,
		   const char *snap_id, struct dp_mwriter **out)
{
	struct dp_mwriter *w;
	uint8_t hdr[MANIFEST_HDR] = {0};
	int ret;

	*out = NULL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->emit = emit;
	w->arg = arg;
	w->keys = keys;
	ret = manifest_aad(snap_id, 0, w->aad);
	if (ret)
		goto out_free;
	w->out_cap = SEG_HDR + SEG_FRAME_MAX;
	w->raw = malloc(SEG_RAW_MAX);
	w->out = malloc(w->out_cap);
	w->cctx = ZSTD_createCCtx();
	if (!w->raw || !w->out || !w->cctx) {
		ret = -ENOMEM;
		goto out_free;
	}
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_compressionLevel, MANIFEST_LEVEL);
	ZSTD_CCtx_setParameter(w->cctx, ZSTD_c_checksumFlag, 1);
	ret = dp_sha256_stream_new(&w->sum);
	if (ret)
		goto out_free;
	memcpy(hdr, dp_manifest_magic, 4);
	hdr[4] = DP_FORMAT_VERSION;
	ret = mw_emit(w, hdr, sizeof(hdr));
	if (ret)
		goto out_free;
	*out = w;
	return 0;
out_free:
	dp_mwriter_free(w);
	return ret;
}

static int mw_flush(struct dp_mwriter *w)
{
	uint8_t *sealed = NULL;
	size_t n, slen;
	int ret;

	if (!w->nrefs)
		return 0;
	n = ZSTD_compress2(w->cctx, w->out + SEG_HDR, w->out_cap - SEG_HDR, w->raw, w->raw_len);
	if (ZSTD_isError(n))
		return dp_fail(dp_errno_from_zstd(n), "manifest segment: %s", ZSTD_getErrorName(n));
	if (w->keys && w->keys->encrypted) {
		dp_put_le64(w->aad + DP_ID_LEN, w->seq);
		ret = dp_seal_alloc(w->keys, w->aad, sizeof(w->aad), w->out + SEG_HDR, n, &sealed,
				    &slen);
		if (ret)
			return dp_fail(ret, "sealing a manifest segment: %s", strerror(-ret));
		memcpy(w->out + SEG_HDR, sealed, slen);
		free(sealed);
		n = slen;
	}
	w->seq++;
	dp_put_le32(w->out, (uint32_t)n);
	dp_put_le32(w->out + 4, w->nrefs);
	w->raw_len = 0;
	w->nrefs = 0;
	return mw_emit(w, w->out, SEG_HDR + n);
}

static int mw_add_record(struct dp_mwriter *w, const uint8_t *rec, size_t len)
{
	int ret;

	if (w->nrefs == DP_MANIFEST_SEG_REFS) {
		ret = mw_flush(w);
		if (ret)
			return ret;
	}
	memcpy(w->raw + w->raw_len, rec, len);
	w->raw_len += len;
	w->nrefs++;
	return 0;
}

static int mw_flush_zero(struct dp_mwriter *w)
{
	uint8_t rec[1 + 10];
	size_t len = 1;
	uint64_t v = w->zero_run;

	if (!v)
		return 0;
	rec[0] = REC_ZERO;
	do { /* LEB128 */
		rec[len++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	w->zero_run = 0;
	return mw_add_record(w, rec, len);
}

int dp_mwriter_add_chunk(struct dp_mwriter *w, const uint8_t id[DP_ID_LEN])
{
	uint8_t rec[REC_MAX];
	int ret;

	ret = mw_flush_zero(w);
	if (ret)
		return ret;
	rec[0] = REC_CHUNK;
	memcpy(rec + 1, id, DP_ID_LEN);
	return mw_add_record(w, rec, sizeof(rec));
}

int dp_mwriter_add_zero(struct dp_mwriter *w, uint64_t nchunks)
{
	w->zero_run += nchunks;
	return 0;
}

int dp_mwriter_finish(struct dp_mwriter *w, const struct dp_snapshot *meta)
{
	uint8_t end[SEG_HDR] = {0}, foot[DP_MANIFEST_FOOTER];
	char *json = NULL;
	size_t jlen;
	int ret;

	ret = mw_flush_zero(w);
	if (!ret)
		ret = mw_flush(w);
	if (!ret)
		ret = mw_emit(w, end, sizeof(end));
	if (ret)
		return ret;
	ret = dp_meta_encode(meta, &json);
	if (ret)
		return ret;
	jlen = strlen(json);
	if (w->keys && w->keys->encrypted) {
		uint8_t *sealed;

		dp_put_le64(w->aad + DP_ID_LEN, META_SEQ);
		ret = dp_seal_alloc(w->keys, w->aad, sizeof(w->aad), json, jlen, &sealed, &jlen);
		if (ret)
			goto out;
		free(json);
		json = (char *)sealed;
	}
	ret = mw_emit(w, json, jlen);
	if (ret)
		goto out;
	dp_put_le32(foot, (uint32_t)jlen);
	dp_sha256_stream_update(w->sum, foot, 4);
	dp_sha256_stream_final(w->sum, foot + 4);
	memcpy(foot + 36, dp_manifest_end, 4);
	ret = w->emit(w->arg, foot, sizeof(foot));
out:
	free(json);
	return ret;
}

void dp_mwriter_free(struct dp_mwriter *w)
{
	if (!w)
		return;
	dp_sha256_stream_free(w->sum);
	ZSTD_freeCCtx(w->cctx);
	free(w->raw);
	free(w->out);
	free(w);
}

/* ------------------------------------------------------------------ reader */

enum mr_state { MR_HEADER, MR_SEGMENTS, MR_META, MR_DONE };

struct dp_mreader {
	uint64_t size; /* of the object */
	uint64_t pos;  /* bytes consumed from the object */
	enum mr_state state;
	struct dp_sha256_stream *sum;
	uint64_t summed; /* bytes hashed: everything before the checksum */
	ZSTD_DCtx *dctx;
	uint8_t *in; /* buffered input */
	size_t in_len, in_cap;
	uint8_t *raw; /* decoded records of the current segment */
	size_t raw_len, raw_pos;
	uint32_t seg_refs, seg_seen;
	const struct dp_keys *keys;
	uint8_t aad[DP_ID_LEN + 8];
	uint64_t seq;
};

int dp_mreader_new(uint64_t size, const struct dp_keys *keys, const char *snap_id,
		   struct dp_mreader **out)
{
	struct dp_mreader *r;
	int ret;

	*out = NULL;
	if (size < MANIFEST_HDR + SEG_HDR + DP_MANIFEST_FOOTER)
		return dp_fail(-EBADMSG, "manifest of %llu bytes is too short",
			       (unsigned long long)size);
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->keys = keys;
	if (manifest_aad(snap_id, 0, r->aad)) {
		free(r);
		return dp_fail(-EINVAL, "manifest reader needs a snapshot id");
	}
	r->size = size;
	r->in_cap = 64 << 10;
	r->in = malloc(r->in_cap);
	r->raw = malloc(SEG_RAW_MAX);
	r->dctx = ZSTD_createDCtx();
	if (!r->in || !r->raw || !r->dctx) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = dp_sha256_stream_new(&r->sum);
	if (ret)
		goto out_free;
	*out = r;
	return 0;
out_free:
	dp_mreader_free(r);
	return ret;
}

int dp_mreader_feed(struct dp_mreader *r, const void *buf, size_t len)
{
	uint64_t hashable = r->size - 36; /* the checksum and the magic are not summed */

	if (r->pos + r->in_len + len > r->size)
		return dp_fail(-EBADMSG, "manifest is longer than its %llu bytes",
			       (unsigned long long)r->size);
	if (r->in_len + len > r->in_cap) {
		void *p;

		/* a segment, or the metadata and footer, and what a feed adds after them */
		if (r->in_len + len > 2 * (SEG_HDR + SEG_FRAME_MAX + DP_MANIFEST_META_MAX + 4096))
			return dp_fail(-EBADMSG, "manifest segment too large");
		p = dp_grow(r->in, &r->in_cap, r->in_len + len, 1);
		if (!p)
			return -ENOMEM;
		r->in = p;
	}
	/* hash as it arrives: bytes [summed, hashable) */
	{
		uint64_t start = r->pos + r->in_len, end = start + len;

		if (start < hashable)
			dp_sha256_stream_update(
				r->sum, buf, (size_t)((end < hashable ? end : hashable) - start));
	}
	memcpy(r->in + r->in_len, buf, len);
	r->in_len += len;
	return 0;
}

static void mr_consume(struct dp_mreader *r, size_t n)
{
	memmove(r->in, r->in + n, r->in_len - n);
	r->in_len -= n;
	r->pos += n;
}

/* Decode the next segment if its bytes are buffered: 1 decoded, 0 need more, <0 error. */
static int mr_segment(struct dp_mreader *r)
{
	uint32_t slen, nrefs;
	size_t n;

	if (r->in_len < SEG_HDR)
		return 0;
	slen = dp_get_le32(r->in);
	nrefs = dp_get_le32(r->in + 4);
	if (slen == 0 && nrefs == 0) {
		mr_consume(r, SEG_HDR);
		r->state = MR_META;
		return 1;
	}
	if (nrefs == 0 || nrefs > DP_MANIFEST_SEG_REFS || slen > SEG_FRAME_MAX ||
	    r->pos + SEG_HDR + slen > r->size - DP_MANIFEST_FOOTER)
		return dp_fail(-EBADMSG, "manifest segment at byte %llu is invalid",
			       (unsigned long long)r->pos);
	if (r->in_len < SEG_HDR + slen)
		return 0;
	if (r->keys && r->keys->encrypted) {
		uint8_t *plain;
		size_t plen;
		int ret;

		dp_put_le64(r->aad + DP_ID_LEN, r->seq);
		ret = dp_open_alloc(r->keys, r->aad, sizeof(r->aad), r->in + SEG_HDR, slen, &plain,
				    &plen);
		if (ret)
			return dp_fail(
				ret == -ENOMEM ? ret : -EUCLEAN,
				"manifest segment %llu at byte %llu does not decrypt: damaged or moved",
				(unsigned long long)r->seq, (unsigned long long)r->pos);
		n = ZSTD_decompressDCtx(r->dctx, r->raw, SEG_RAW_MAX, plain, plen);
		free(plain);
	} else {
		n = ZSTD_decompressDCtx(r->dctx, r->raw, SEG_RAW_MAX, r->in + SEG_HDR, slen);
	}
	r->seq++;
	if (ZSTD_isError(n))
		return dp_fail(dp_errno_from_zstd(n) == -EUCLEAN ? -EUCLEAN : -EBADMSG,
			       "manifest segment at byte %llu: %s", (unsigned long long)r->pos,
			       ZSTD_getErrorName(n));
	mr_consume(r, SEG_HDR + slen);
	r->raw_len = n;
	r->raw_pos = 0;
	r->seg_refs = nrefs;
	r->seg_seen = 0;
	return 1;
}

static int mr_record(struct dp_mreader *r, struct dp_ref *ref)
{
	const uint8_t *p = r->raw + r->raw_pos;
	size_t left = r->raw_len - r->raw_pos;

	if (r->seg_seen == r->seg_refs)
		return dp_fail(-EBADMSG, "manifest segment holds more records than it says");
	if (p[0] == REC_CHUNK) {
		if (left < REC_MAX)
			return dp_fail(-EBADMSG, "manifest record truncated");
		ref->zero = false;
		ref->count = 1;
		memcpy(ref->id, p + 1, DP_ID_LEN);
		r->raw_pos += REC_MAX;
	} else if (p[0] == REC_ZERO) {
		uint64_t v = 0;
		size_t i;

		for (i = 1; i < left && i <= 10; i++) {
			v |= (uint64_t)(p[i] & 0x7f) << (7 * (i - 1));
			if (!(p[i] & 0x80))
				break;
		}
		if (i >= left || i > 10 || v == 0)
			return dp_fail(-EBADMSG, "manifest zero record is invalid");
		ref->zero = true;
		ref->count = v;
		r->raw_pos += i + 1;
	} else {
		return dp_fail(-EBADMSG, "manifest record type %u is unknown", p[0]);
	}
	r->seg_seen++;
	return 1;
}

int dp_mreader_next(struct dp_mreader *r, struct dp_ref *ref)
{
	int ret;

	for (;;) {
		switch (r->state) {
		case MR_HEADER:
			if (r->in_len < MANIFEST_HDR)
				return 0;
			if (memcmp(r->in, dp_manifest_magic, 4))
				return dp_fail(-EBADMSG, "not a manifest (bad magic)");
			if (r->in[4] != DP_FORMAT_VERSION)
				return dp_fail(-EPROTONOSUPPORT,
					       "manifest version %u is not supported", r->in[4]);
			mr_consume(r, MANIFEST_HDR);
			r->state = MR_SEGMENTS;
			break;
		case MR_SEGMENTS:
			if (r->raw_pos < r->raw_len)
				return mr_record(r, ref);
			if (r->seg_seen != r->seg_refs)
				return dp_fail(-EBADMSG,
					       "manifest segment holds %u of its %u records",
					       r->seg_seen, r->seg_refs);
			ret = mr_segment(r);
			if (ret <= 0)
				return ret;
			break;
		case MR_META:
		case MR_DONE:
			return 0;
		}
	}
}

/*
 * Whether the metadata (in r->in, at the end) names the snapshot the manifest
 * is read as: a whole manifest stored under another snapshot's name
 * (unencrypted: nothing else binds it) does not read.
 */
static int mr_check_name(struct dp_mreader *r)
{
	char hex[2 * DP_ID_LEN + 1];
	struct dp_snapshot s;
	int ret;

	dp_hex(r->aad, DP_ID_LEN, hex);
	ret = dp_manifest_parse_tail(r->in, r->in_len, r->size, r->keys, hex, &s);
	if (ret)
		return ret;
	if (strcmp(s.id, hex))
		ret = dp_fail(-EUCLEAN, "the manifest's metadata names snapshot %.16s", s.id);
	dp_snapshot_fini(&s);
	return ret;
}

int dp_mreader_finish(struct dp_mreader *r)
{
	uint8_t sum[DP_ID_LEN];
	const uint8_t *foot;
	uint32_t mlen;
	int ret;

	if (r->state != MR_META || r->pos + r->in_len != r->size)
		return dp_fail(-EBADMSG, "manifest ends early (%llu of %llu bytes decoded)",
			       (unsigned long long)r->pos, (unsigned long long)r->size);
	if (r->in_len < DP_MANIFEST_FOOTER)
		return dp_fail(-EBADMSG, "manifest footer missing");
	foot = r->in + r->in_len - DP_MANIFEST_FOOTER;
	mlen = dp_get_le32(foot);
	if (memcmp(foot + 36, dp_manifest_end, 4) || mlen != r->in_len - DP_MANIFEST_FOOTER)
		return dp_fail(-EBADMSG, "manifest footer is invalid");
	dp_sha256_stream_final(r->sum, sum);
	if (memcmp(sum, foot + 4, DP_ID_LEN))
		return dp_fail(-EUCLEAN, "manifest checksum mismatch");
	ret = mr_check_name(r);
	if (ret)
		return ret;
	r->state = MR_DONE;
	return 0;
}

void dp_mreader_free(struct dp_mreader *r)
{
	if (!r)
		return;
	dp_sha256_stream_free(r->sum);
	ZSTD_freeDCtx(r->dctx);
	free(r->in);
	free(r->raw);
	free(r);
}

int dp_manifest_parse_tail(const uint8_t *tail, size_t len, uint64_t size,
			   const struct dp_keys *keys, const char *snap_id, struct dp_snapshot *s)
{
	uint8_t aad[DP_ID_LEN + 8], *plain;
	const uint8_t *foot;
	size_t plen;
	uint32_t mlen;
	int ret;

	if (len < DP_MANIFEST_FOOTER || size < MANIFEST_HDR + SEG_HDR + DP_MANIFEST_FOOTER)
		return dp_fail(-EBADMSG, "manifest too short");
	foot = tail + len - DP_MANIFEST_FOOTER;
	if (memcmp(foot + 36, dp_manifest_end, 4))
		return dp_fail(-EBADMSG, "manifest footer is invalid");
	mlen = dp_get_le32(foot);
	if (mlen > DP_MANIFEST_META_MAX ||
	    mlen + DP_MANIFEST_FOOTER > size - MANIFEST_HDR - SEG_HDR)
		return dp_fail(-EBADMSG, "manifest metadata length %u is invalid", mlen);
	if (mlen + DP_MANIFEST_FOOTER > len)
		return -EAGAIN; /* the caller reads a longer tail */
	if (!keys || !keys->encrypted)
		return dp_meta_decode((const char *)foot - mlen, mlen, s);
	if (manifest_aad(snap_id, META_SEQ, aad))
		return dp_fail(-EINVAL, "manifest metadata needs a snapshot id");
	ret = dp_open_alloc(keys, aad, sizeof(aad), foot - mlen, mlen, &plain, &plen);
	if (ret)
		return dp_fail(
			ret == -ENOMEM ? ret : -EUCLEAN,
			"manifest metadata does not decrypt: damaged, or not of snapshot %.16s",
			snap_id);
	ret = dp_meta_decode((const char *)plain, plen, s);
	free(plain);
	return ret;
}
