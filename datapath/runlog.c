// SPDX-License-Identifier: MIT
/*
 * datapath/runlog.c - the logs of a cluster's Backups and of their Restores
 * (FORMAT.md "Logs", dp.h "logs"): logs/<record id> for the Backup's own,
 * logs/<record id>.<restore id> for a Restore of it. The text is one
 * Zstandard frame (with its content size and checksum), sealed with "FRYL",
 * the record id and, for a Restore's, the restore id. Nothing references a
 * log, so prune never deletes one: a record's forget does (dp_log_forget()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <zstd.h>

#include "blob.h"
#include "record.h"
#include "s3/store.h"

#define LOG_AAD_MAGIC	"FRYL"
#define LOG_LEVEL	3
#define LOG_RESTORE_TAG "ferry-restore-log"
#define LOG_PREFIX	"logs/"

/* The key and the seal's additional data of one log. */
struct log_name {
	char key[sizeof(LOG_PREFIX) + 4 * DP_ID_LEN + 2];
	uint8_t aad[4 + 2 * DP_ID_LEN];
	size_t aadlen;
};

static bool log_is_id(const char *s)
{
	if (!s || strlen(s) != 2 * DP_ID_LEN)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

static int log_name_of(const struct dp_repo *repo, const char *record_id, const char *restore_ns,
		       const char *restore_name, const char *cluster, struct log_name *ln)
{
	char rid[2 * DP_ID_LEN + 1];
	int ret;

	if (!log_is_id(record_id))
		return dp_fail(-EINVAL, "%.80s is not a record id", record_id ? record_id : "");
	memcpy(ln->aad, LOG_AAD_MAGIC, 4);
	dp_unhex(record_id, ln->aad + 4, DP_ID_LEN);
	ln->aadlen = 4 + DP_ID_LEN;
	if (!restore_name) {
		snprintf(ln->key, sizeof(ln->key), LOG_PREFIX "%s", record_id);
		return 0;
	}
	ret = dp_record_hash(repo, LOG_RESTORE_TAG, cluster, restore_ns, restore_name, rid);
	if (ret)
		return ret;
	dp_unhex(rid, ln->aad + ln->aadlen, DP_ID_LEN);
	ln->aadlen += DP_ID_LEN;
	snprintf(ln->key, sizeof(ln->key), LOG_PREFIX "%s.%s", record_id, rid);
	return 0;
}

int dp_log_decode(const void *obj, size_t len, char **text, size_t *tlen)
{
	unsigned long long size;
	size_t n;
	char *out;

	*text = NULL;
	*tlen = 0;
	size = ZSTD_getFrameContentSize(obj, len);
	if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN)
		return dp_fail(-EBADMSG, "a log is one Zstandard frame that says its size");
	if (size > DP_LOG_TEXT_MAX)
		return dp_fail(-EBADMSG, "a log of %llu bytes: over %u", size, DP_LOG_TEXT_MAX);
	n = ZSTD_findFrameCompressedSize(obj, len);
	if (ZSTD_isError(n) || n != len)
		return dp_fail(-EBADMSG, "a log is exactly one Zstandard frame");
	out = malloc((size_t)size + 1);
	if (!out)
		return -ENOMEM;
	n = ZSTD_decompress(out, (size_t)size, obj, len);
	if (ZSTD_isError(n) || n != size) {
		int ret = ZSTD_isError(n) ? dp_errno_from_zstd(n) : -EBADMSG;

		free(out);
		if (ret == -ENOMEM)
			return ret;
		return dp_fail(-EBADMSG, "a log does not decompress: %s",
			       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "another size");
	}
	if (memchr(out, '\0', n)) {
		free(out);
		return dp_fail(-EBADMSG, "a log holds a NUL byte");
	}
	out[n] = '\0';
	*text = out;
	*tlen = n;
	return 0;
}

/* @len bytes of @text as one frame with its size and checksum */
static int log_compress(const char *text, size_t len, uint8_t **out, size_t *olen)
{
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	size_t cap = ZSTD_compressBound(len), n;
	uint8_t *buf = malloc(cap ? cap : 1);

	*out = NULL;
	if (!cctx || !buf) {
		ZSTD_freeCCtx(cctx);
		free(buf);
		return -ENOMEM;
	}
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, LOG_LEVEL);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1);
	n = ZSTD_compress2(cctx, buf, cap, text, len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n)) {
		free(buf);
		return dp_fail(dp_errno_from_zstd(n), "compressing a log: %s",
			       ZSTD_getErrorName(n));
	}
	*out = buf;
	*olen = n;
	return 0;
}

int dp_log_put(struct dp_repo *repo, const char *record_id, const char *restore_ns,
	       const char *restore_name, const char *cluster, const char *text, size_t len)
{
	uint8_t *frame = NULL, *sealed = NULL;
	struct log_name ln;
	size_t flen = 0, slen = 0;
	int ret;

	dp_clear_error();
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	if (len > DP_LOG_TEXT_MAX)
		return dp_fail(-EINVAL, "a log of %zu bytes: over %u", len, DP_LOG_TEXT_MAX);
	if (len && memchr(text, '\0', len))
		return dp_fail(-EINVAL, "a log holds no NUL byte");
	ret = log_name_of(repo, record_id, restore_ns, restore_name, cluster, &ln);
	if (ret)
		return ret;
	ret = log_compress(len ? text : "", len, &frame, &flen);
	if (!ret)
		ret = dp_seal_alloc(&repo->keys, ln.aad, ln.aadlen, frame, flen, &sealed, &slen);
	if (!ret && slen > DP_LOG_MAX)
		ret = dp_fail(-EFBIG, "%s would be %zu bytes, over %u", ln.key, slen, DP_LOG_MAX);
	if (ret)
		goto out;
	ret = s3_store_put(repo->st, ln.key, sealed, slen);
	if (ret == -EEXIST) { /* written by a run that died before its record: replaced */
		ret = s3_store_delete(repo->st, ln.key);
		if (!ret || ret == -ENOENT)
			ret = s3_store_put(repo->st, ln.key, sealed, slen);
	}
	if (ret)
		ret = dp_fail(ret, "writing %s: %s", ln.key, dp_store_detail());
out:
	free(sealed);
	free(frame);
	return ret;
}

int dp_log_get(struct dp_repo *repo, const char *record_id, const char *restore_ns,
	       const char *restore_name, const char *cluster, char **text, size_t *len)
{
	uint8_t *plain = NULL;
	struct log_name ln;
	void *buf = NULL;
	size_t blen = 0, plen = 0;
	int ret;

	dp_clear_error();
	*text = NULL;
	*len = 0;
	ret = dp_repo_check_unlocked(repo);
	if (!ret)
		ret = log_name_of(repo, record_id, restore_ns, restore_name, cluster, &ln);
	if (ret)
		return ret;
	ret = s3_store_get(repo->st, ln.key, DP_LOG_MAX, &buf, &blen);
	if (ret == -ENOENT)
		return dp_fail(ret, "no log %s", ln.key);
	if (ret == -EFBIG)
		return dp_fail(-EUCLEAN, "%s is over %u bytes: not a log", ln.key, DP_LOG_MAX);
	if (ret)
		return dp_fail(ret, "reading %s: %s", ln.key, dp_store_detail());
	ret = dp_open_alloc(&repo->keys, ln.aad, ln.aadlen, buf, blen, &plain, &plen);
	free(buf);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return dp_fail(-EUCLEAN, "%s does not open: damaged, or not of this repository",
			       ln.key);
	ret = dp_log_decode(plain, plen, text, len);
	free(plain);
	if (ret == -EBADMSG) {
		char detail[256];

		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		return dp_fail(-EUCLEAN, "%s is damaged: %s", ln.key, detail);
	}
	return ret;
}

/* the logs of one record: logs/<id> and logs/<id>.<64 hex digits> */
struct log_keys {
	const char *id;
	char (*keys)[sizeof(((struct log_name *)0)->key)];
	size_t n, cap;
};

static int log_list_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct log_keys *k = arg;
	const char *rest;

	(void)size;
	(void)mtime;
	if (strncmp(key, LOG_PREFIX, strlen(LOG_PREFIX)) ||
	    strncmp(key + strlen(LOG_PREFIX), k->id, 2 * DP_ID_LEN))
		return 0;
	rest = key + strlen(LOG_PREFIX) + 2 * DP_ID_LEN;
	if (*rest && (*rest != '.' || !log_is_id(rest + 1)))
		return 0;
	if (k->n == k->cap) {
		void *q = dp_grow(k->keys, &k->cap, k->n + 1, sizeof(*k->keys));

		if (!q)
			return -ENOMEM;
		k->keys = q;
	}
	snprintf(k->keys[k->n++], sizeof(k->keys[0]), "%s", key);
	return 0;
}

int dp_log_forget(struct dp_repo *repo, const char *record_id, size_t *deleted)
{
	struct log_keys k = {.id = record_id};
	struct dp_purge purge = {0};
	char prefix[sizeof(LOG_PREFIX) + 2 * DP_ID_LEN];
	const char **kp = NULL;
	int ret;

	if (!log_is_id(record_id))
		return dp_fail(-EINVAL, "%.80s is not a record id", record_id ? record_id : "");
	snprintf(prefix, sizeof(prefix), LOG_PREFIX "%s", record_id);
	ret = s3_store_list(repo->st, prefix, log_list_key, &k);
	if (ret && ret != -ENOMEM)
		ret = dp_fail(ret, "listing %s: %s", prefix, dp_store_detail());
	if (ret || !k.n)
		goto out;
	kp = calloc(k.n, sizeof(*kp));
	if (!kp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < k.n; i++)
		kp[i] = k.keys[i];
	ret = dp_forget_keys(repo, prefix, kp, k.n, NULL, "log-forget-deleted", &purge, deleted);
out:
	free(kp);
	free(k.keys);
	return ret;
}
