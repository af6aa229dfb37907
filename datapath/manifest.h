/* SPDX-License-Identifier: MIT */
/*
 * datapath/manifest.h - snapshot manifests streamed both ways (manifest.c), and a cursor
 * over a stored one by chunk index (parent.c). Private to datapath/.
 */
#ifndef FERRY_DP_MANIFEST_H
#define FERRY_DP_MANIFEST_H

#include "crypt.h"

struct dp_repo;

#define DP_MANIFEST_SEG_REFS 8192 /* refs per segment, at most */
#define DP_MANIFEST_FOOTER   40	  /* meta_len u32 + sha256 + magic */
#define DP_MANIFEST_META_MAX (1u << 20)

/* Writing: records are added in volume order; segments are emitted through @emit. */
struct dp_mwriter;
typedef int (*dp_mwriter_emit_fn)(void *arg, const void *buf, size_t len);

/* @keys: borrowed until dp_mwriter_free(); @snap_id: the manifest's id (additional data) */
int dp_mwriter_new(dp_mwriter_emit_fn emit, void *arg, const struct dp_keys *keys,
		   const char *snap_id, struct dp_mwriter **out);
int dp_mwriter_add_chunk(struct dp_mwriter *w, const uint8_t id[DP_ID_LEN]);
int dp_mwriter_add_zero(struct dp_mwriter *w, uint64_t nchunks);
/* Flush the last segment, the end marker, the metadata and the footer. */
int dp_mwriter_finish(struct dp_mwriter *w, const struct dp_snapshot *meta);
void dp_mwriter_free(struct dp_mwriter *w);

/* Reading: fed bytes in order, yields refs. */
struct dp_ref {
	bool zero;
	uint64_t count; /* zero: chunks in the run; else 1 */
	uint8_t id[DP_ID_LEN];
};
struct dp_mreader;

/* @size is the manifest object's size (the reader checks it ends at the footer) */
int dp_mreader_new(uint64_t size, const struct dp_keys *keys, const char *snap_id,
		   struct dp_mreader **out);
/*
 * Feed @len bytes; refs are appended to the reader's queue, taken with
 * dp_mreader_next(). Return 0, -EBADMSG/-EUCLEAN with dp_last_error().
 */
int dp_mreader_feed(struct dp_mreader *r, const void *buf, size_t len);
/* 1 and *@ref, 0 when no ref is ready */
int dp_mreader_next(struct dp_mreader *r, struct dp_ref *ref);
/* After the last byte was fed: 0 if the manifest was complete and its checksum matched. */
int dp_mreader_finish(struct dp_mreader *r);
void dp_mreader_free(struct dp_mreader *r);

/*
 * A cursor over a snapshot's references by chunk index (parent.c): chunk
 * indexes asked for must not decrease. dp_parent_get() gives chunk @idx's
 * reference (*@zero, or its id) and in *@run how many chunks from @idx the
 * same reference covers (a zero run; 1 for a chunk). -ENOENT past its end,
 * -EUCLEAN if the manifest is damaged.
 */
struct dp_parent;
int dp_parent_open(struct dp_repo *repo, const char *snap_id, struct dp_parent **out);
int dp_parent_get(struct dp_parent *p, uint64_t idx, bool *zero, uint8_t id[DP_ID_LEN],
		  uint64_t *run);
void dp_parent_free(struct dp_parent *p);

/*
 * Call @fn for every reference of snapshot @snap_id in volume order (@idx:
 * the chunk index it starts at), checking the manifest to its end. Return 0;
 * what @fn returned if not 0; -EUCLEAN (damaged manifest) and store errors
 * with dp_last_error().
 */
typedef int (*dp_ref_fn)(void *arg, uint64_t idx, const struct dp_ref *ref);
int dp_manifest_walk(struct dp_repo *repo, const char *snap_id, dp_ref_fn fn, void *arg);

/* Parse a manifest footer read from the object's tail. */
int dp_manifest_parse_tail(const uint8_t *tail, size_t len, uint64_t size,
			   const struct dp_keys *keys, const char *snap_id, struct dp_snapshot *s);

#endif /* FERRY_DP_MANIFEST_H */
