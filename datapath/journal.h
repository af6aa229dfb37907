/* SPDX-License-Identifier: MIT */
/*
 * datapath/journal.h - the resume journal of a pack upload (journal.c);
 * private to datapath/. The packer writes one per pack as the pack grows and
 * reads them back to resume (packer.c).
 */
#ifndef FERRY_DP_JOURNAL_H
#define FERRY_DP_JOURNAL_H

#include "packfmt.h"
#include "s3/store.h"

/* ------------------------------------------------------------- writing */

/*
 * One pack's journal. Each record is one line in one write(2); the calls are
 * thread-safe (the store's thread journals parts). A journal whose write
 * fails is removed and further records are dropped: the pack is then sent
 * again in full by a later run, never resumed from a wrong journal.
 */
struct dp_journal;

/*
 * dp_journal_new() - <@dir>/<pack id>.journal for pack @key of upload
 * @upload_id, cut into parts of @part_size. *@out is NULL (with a warning)
 * if the file cannot be made: the pack then has no journal.
 */
int dp_journal_new(const char *dir, const uint8_t pack_id[DP_ID_LEN], const char *key,
		   size_t part_size, const char *upload_id, struct dp_journal **out);
/* whether records are still being kept (NULL: no) */
bool dp_journal_is_open(const struct dp_journal *j);
void dp_journal_chunk(struct dp_journal *j, const struct dp_pack_entry *e);
void dp_journal_part(struct dp_journal *j, unsigned int num, const char *etag);
/* the upload completed: recorded and synced */
void dp_journal_complete(struct dp_journal *j);
/* close it; @remove: delete its file too (the pack is done, or given up). NULL ok. */
void dp_journal_close(struct dp_journal *j, bool remove);

/* ------------------------------------------------------------- reading */

struct dp_journal_part {
	char etag[S3_ETAG_SIZE];
	bool have;
};

/* What a journal says. */
struct dp_journal_info {
	char key[80];
	char upload[512];
	size_t part_size;
	struct dp_pack_entry *e; /* the blobs appended, in order */
	size_t n, cap;
	struct dp_journal_part *parts; /* [0..S3_UPLOAD_MAX_PARTS] by part number */
	bool complete;
};

/*
 * dp_journal_read() - parse a journal; lines that do not parse (a torn last
 * one) are ignored. dp_journal_info_fini() whatever it returns.
 * Return: 0; -EBADMSG (not a journal, or its header incomplete); -errno.
 */
int dp_journal_read(const char *path, struct dp_journal_info *j);
void dp_journal_info_fini(struct dp_journal_info *j);

/*
 * dp_journal_rewrite() - replace the journal at @path by one that holds
 * @e[0..n) and parts 1..@kept_parts of @j (atomically: a new file renamed
 * over it), and keep it open in *@out for the pack's next records.
 */
int dp_journal_rewrite(const char *path, const struct dp_journal_info *j,
		       const struct dp_pack_entry *e, size_t n, unsigned int kept_parts,
		       struct dp_journal **out);

/*
 * dp_journal_each() - call @fn for each journal in @dir with its path and
 * pack id; a missing @dir has none. Stops at the first non-zero @fn returns.
 */
typedef int (*dp_journal_fn)(void *arg, const char *path, const uint8_t pack_id[DP_ID_LEN]);
int dp_journal_each(const char *dir, dp_journal_fn fn, void *arg);

/*
 * The journal directory of @name ("volume:<name>", "copy:<id>") in
 * @state_dir, claimed for one run: the run holds an exclusive flock() on its
 * ".lock" until dp_journal_dir_release(), so two runs of one volume at once
 * (two Backups of one claim in one agent) never take over each other's
 * unfinished uploads. The first directory no live run holds is taken
 * ("<hex>", then "<hex>.1", ...): a killed run's lock is gone with it, so the
 * next run resumes its journals. *@out is NULL without a state directory.
 */
struct dp_journal_dir {
	char *path;  /* what dp_packer_new() takes */
	int lock_fd; /* holds the flock() */
};
int dp_journal_dir(const char *state_dir, const struct dp_repo *repo, const char *name,
		   struct dp_journal_dir **out);
/* Unlock and free; NULL is fine. */
void dp_journal_dir_release(struct dp_journal_dir *jd);

#endif /* FERRY_DP_JOURNAL_H */
