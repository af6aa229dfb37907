/* SPDX-License-Identifier: MIT */
/*
 * datapath/record.h - reading a backup record object (record.c), for the
 * scan (scan.c) as for dp_record_list(). Private to datapath/.
 */
#ifndef FERRY_DP_RECORD_H
#define FERRY_DP_RECORD_H

#include "dp_json.h"
#include "repo_int.h"

/* backups/<id> into @key (at least 80 bytes) */
void dp_key_record(const char *id, char *key, size_t len);

/*
 * dp_record_read() - read, open and decode backups/<@id> (64 hex digits).
 * Return: 0; -ENOENT (no such object); -EUCLEAN (it does not open or
 * decode: damage, dp_last_error() says what); -EPROTONOSUPPORT; store errors.
 */
int dp_record_read(struct dp_repo *repo, const char *id, struct dp_record **out);

/*
 * dp_record_hash() - 64 hex digits of SHA-256, or in an encrypted repository
 * HMAC-SHA256 with the id key, of @tag, @cluster, @namespace and @name, each
 * followed by a 0 byte: a record's id (tag "ferry-backup-record"), a
 * Restore's log id ("ferry-restore-log"). @id: 65 bytes.
 * Return: 0; -ENOKEY; -EINVAL (a name empty or over DP_RECORD_NAME_MAX).
 */
int dp_record_hash(const struct dp_repo *repo, const char *tag, const char *cluster,
		   const char *namespace, const char *name, char *id);

#endif /* FERRY_DP_RECORD_H */
