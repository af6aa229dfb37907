/* SPDX-License-Identifier: MIT */
/*
 * datapath/dp_json.h - the JSON objects of a repository and of changed-block
 * lists, to and from plain structs (dp_json.c); private to datapath/.
 *
 * Encoders return 0 or -ENOMEM with a malloc()ed string in *@json. Decoders
 * return 0, -EBADMSG (-EINVAL for changed-block lists) with dp_last_error()
 * saying what is wrong, -EPROTONOSUPPORT (config of another version), or
 * -ENOMEM; what they fill is owned by the caller.
 */
#ifndef FERRY_DP_JSON_H
#define FERRY_DP_JSON_H

#include "crypt.h"

/* Manifest metadata <-> struct dp_snapshot (FORMAT.md "Metadata JSON"). */
int dp_meta_encode(const struct dp_snapshot *s, char **json);
int dp_meta_decode(const char *json, size_t len, struct dp_snapshot *s);
/* free what a decoded snapshot owns; @s is zeroed */
void dp_snapshot_fini(struct dp_snapshot *s);

/* The repository config <-> struct dp_repo_info (FORMAT.md "config"). */
int dp_config_encode(const struct dp_repo_info *info, char **json);
int dp_config_decode(const char *json, size_t len, struct dp_repo_info *info);

/* A key object (FORMAT.md "keys/<key-id>"): the master key wrapped by a password. */
#define DP_MASTER_LEN (2 * DP_KEY_LEN)
struct dp_keyobj {
	uint64_t n; /* scrypt N, r, p */
	uint32_t r, p;
	uint8_t salt[16];
	uint8_t master[DP_MASTER_LEN + DP_SEAL_OVERHEAD]; /* sealed data_key || id_key */
	int64_t created;
	char hostname[256];
	char username[64];
};
int dp_keyobj_encode(const struct dp_keyobj *k, char **json);
int dp_keyobj_decode(const char *json, size_t len, struct dp_keyobj *k);

/* Lock objects (FORMAT.md "locks/<lock-id>"). */
int dp_lock_encode(const struct dp_lockinfo *l, char **json);
int dp_lock_decode(const char *json, size_t len, struct dp_lockinfo *l);

/*
 * The JSON form of changed-block lists (FORMAT.md "Changed-block lists");
 * dp_cbl_parse() dispatches to the decoder, which fills @parent (65 bytes)
 * and *@size if the list has them and hands each range to @add (its
 * non-zero return ends the decoding with that error).
 */
typedef int (*dp_range_fn)(void *arg, uint64_t off, uint64_t len);
int dp_cbl_decode_json(const char *json, size_t len, char parent[65], uint64_t *size,
		       dp_range_fn add, void *arg);
int dp_cbl_encode_json(const struct dp_cbl *l, char **json, size_t *len);

/*
 * Backup records (FORMAT.md "Backup records"). The archive's chunks, in the
 * order of the stream, with the stream's SHA-256. dp_record_encode() writes
 * @r (its strings may be NULL: "") with @c; dp_record_decode() (dp.h) reads
 * one, refusing every field out of its range.
 */
struct dp_record_chunk {
	uint8_t id[DP_ID_LEN];
	uint32_t len;
};
struct dp_record_chunks {
	struct dp_record_chunk *v;
	size_t n, cap;
	uint8_t sha256[DP_ID_LEN]; /* of the whole stream */
};
/* free what @r owns, not @r itself; @r is zeroed */
void dp_record_fini(struct dp_record *r);
int dp_record_encode(const struct dp_record *r, const struct dp_record_chunks *c, char **json);
/* Whether @len bytes are one JSON object with a string "kind"; *@secret: a v1 Secret. */
int dp_archive_line_check(const char *obj, size_t len, bool *secret);

#endif /* FERRY_DP_JSON_H */
