/* SPDX-License-Identifier: MIT */
/*
 * datapath/scan.h - the scan every maintenance verb starts from (scan.c):
 * check, stats and prune read the repository the same way. Private to
 * datapath/.
 */
#ifndef FERRY_DP_SCAN_H
#define FERRY_DP_SCAN_H

#include "packfmt.h"
#include "chunkidx.h"
#include "repo_int.h"

#define DP_SCAN_READ_SPAN (8u << 20) /* one ranged read of check --read-data and repack */

/* One pack as the scan found it: its data object, its index object, or both. */
struct dp_scan_pack {
	uint8_t id[DP_ID_LEN];
	char key[80];
	uint64_t size;	       /* of the data object; 0 if there is none */
	bool data, index, bad; /* data object, index object, an index that did not open */
	struct dp_pack_entry *e;
	size_t n;
	uint64_t stored, live; /* blob bytes, of them still referenced */
	size_t nlive;
};

/*
 * What the scan found. Its memory is bounded per stored chunk (an index entry
 * and a set entry, about 120 bytes), never per volume byte.
 */
struct dp_scan {
	struct dp_repo *repo;
	struct dp_scan_pack *p;
	size_t np, cap;
	struct dp_chunkidx *packmap; /* pack id -> number in @p (loc.offset) */
	struct dp_chunkidx *indexed; /* chunk id -> where (loc.pack: number in @p) */
	struct dp_chunkidx *live;    /* chunk ids some manifest references */
	char (*snaps)[65];
	size_t nsnaps, snaps_cap;
	char (*records)[65]; /* backup records: their archives' chunks are live too */
	size_t nrecords, records_cap;
	uint64_t problems;
	dp_problem_fn problem;
	void *arg;
	/* a walk's state */
	const char *walk_snap;
	struct dp_chunkidx *walk_bad; /* check: chunks known damaged */
	uint64_t refs_missing;
	uint64_t logical, referenced, zero; /* stats: over all snapshots */
};

/*
 * dp_scan_run() - list the pack objects under data/ and their sizes, decode
 * every index object and walk every manifest to its end. @strict: the first
 * manifest that cannot be walked fails the scan (-EUCLEAN). Problems found on
 * the way are counted and reported through @problem (NULL: logged).
 * dp_scan_fini() frees @m whatever this returned.
 */
int dp_scan_run(struct dp_scan *m, struct dp_repo *repo, bool strict, dp_problem_fn problem,
		void *arg);
void dp_scan_fini(struct dp_scan *m);

/* Count and report one problem. */
void dp_scan_problem(struct dp_scan *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Walk every manifest and backup record again (with @m->walk_bad set: name
 * what damaged chunks affect).
 */
int dp_scan_walk(struct dp_scan *m, bool strict);

/* Whether entry @k of pack @i is the copy of its chunk the live set chose. */
bool dp_scan_is_live_copy(const struct dp_scan *m, size_t i, size_t k);

/*
 * dp_scan_pack_read() - read the blobs of @p in spans of at most
 * DP_SCAN_READ_SPAN (@span holds that many bytes) and call @fn for each entry
 * with its bytes, or with NULL where the pack ends before it (@strict: that is
 * an error instead). Sorts @p's entries by offset. *@bytes counts what was read.
 */
typedef int (*dp_scan_blob_fn)(void *arg, const struct dp_pack_entry *e, const uint8_t *blob);
int dp_scan_pack_read(struct dp_scan *m, struct dp_scan_pack *p, uint8_t *span, bool strict,
		      dp_scan_blob_fn fn, void *arg, uint64_t *bytes);

/* qsort() order of pack entries: by offset */
int dp_pack_entry_cmp(const void *a, const void *b);

/*
 * dp_repack() - copy the live blobs of every pack @repack[i] marks into new
 * packs (repack.c); *@written counts them. They are complete and indexed
 * when this returns 0.
 */
int dp_repack(struct dp_scan *m, const bool *repack, uint64_t *written);

#endif /* FERRY_DP_SCAN_H */
