// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_backup_log.c - the logs of Backups and Restores (dp.h
 * "logs", FORMAT.md "Logs"), in an unencrypted and an encrypted file://
 * repository, or with the argument "s3" in the RGW of tests/run:
 * - a Backup's log and two Restores' logs read back as written, under
 *   logs/<record id> and logs/<record id>.<64 hex digits> (no name readable);
 *   a second write replaces; a log that is not there is -ENOENT;
 * - encrypted: the object holds no text, and a log copied over another's key
 *   does not open (-EUCLEAN: the seal names the ids);
 * - bad input refused: not a record id, a NUL byte, over the text limit,
 *   over the object limit once compressed; dp_log_decode() refuses each
 *   malformed object of a table;
 * - forgetting a record forgets its logs and not another's; dp_log_forget()
 *   forgets those of a record never written.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "datapath/dp.h"
#include "s3/store.h"
#include "t_helpers.h"

#define CLUSTER "0b7e7e4e-1111-2222-3333-444455556666"

static struct s3_store *open_store(const char *url)
{
	struct s3_store_opts o = {.sz = sizeof(o), .fsync = -1};
	struct s3_store *st = NULL;

	if (!strncmp(url, "s3://", 5)) {
		o.endpoint = getenv("FERRY_TEST_S3_ENDPOINT");
		o.region = getenv("FERRY_TEST_S3_REGION");
		o.fsync = 0;
	}
	T_ASSERT(!s3_store_open(url, &o, &st), "%s", s3_last_error());
	return st;
}

struct keys {
	char keys[16][200];
	size_t n;
};

static int list_key(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct keys *k = arg;

	(void)size;
	(void)mtime;
	if (k->n < 16)
		snprintf(k->keys[k->n], sizeof(k->keys[0]), "%s", key);
	k->n++;
	return 0;
}

static struct keys logs_of(struct s3_store *st)
{
	struct keys k = {0};

	T_ASSERT(!s3_store_list(st, "logs/", list_key, &k), "%s", s3_last_error());
	return k;
}

static bool has_key(const struct keys *k, const char *key)
{
	for (size_t i = 0; i < k->n && i < 16; i++)
		if (!strcmp(k->keys[i], key))
			return true;
	return false;
}

static void expect_log(struct dp_repo *repo, const char *id, const char *ns, const char *name,
		       const char *want)
{
	char *text = NULL;
	size_t len = 0;

	T_ASSERT(!dp_log_get(repo, id, ns, name, CLUSTER, &text, &len), "%s", dp_last_error());
	T_ASSERT(len == strlen(want) && !memcmp(text, want, len) && !text[len],
		 "log of %s read back as '%.*s'", name ? name : "the Backup", (int)len, text);
	free(text);
}

static void put_record(struct dp_repo *repo, const char *name, char id[65])
{
	struct dp_record r = {.name = (char *)name,
			      .namespace = "app",
			      .cluster = CLUSTER,
			      .phase = "Completed",
			      .spec = "{}",
			      .time_start = 1796506248410470,
			      .time_end = 1796506248510470};

	T_ASSERT(!dp_record_put(repo, &r, NULL, id), "%s", dp_last_error());
}

static void test_repository(const char *url, bool encrypted, bool local)
{
	struct dp_init_opts io = {.sz = sizeof(io),
				  .chunk_size = 64u << 10,
				  .password = "logs",
				  .password_len = 4,
				  .no_encryption = !encrypted,
				  .scrypt_n = 1024};
	const char *blog =
		"time=\"2026-12-06T17:00:00Z\" level=info msg=\"backup app/web started\"\n"
		"time=\"2026-12-06T17:00:09Z\" level=info msg=\"volume app/data-0\"\n";
	const char *r1 = "time=\"2026-12-06T18:00:00Z\" level=info msg=\"restore one\"\n";
	const char *r2 = "time=\"2026-12-06T18:30:00Z\" level=warning msg=\"restore two\"\n";
	struct s3_store *st = open_store(url);
	struct dp_repo *repo = NULL;
	char id[65], other[65], never[65], key[200], *text = NULL;
	uint8_t *big;
	size_t len = 0, deleted = 0;
	struct keys k;
	void *obj = NULL;
	size_t olen = 0;

	T_ASSERT(!dp_repo_init(st, &io, NULL), "%s", dp_last_error());
	T_ASSERT(!dp_repo_open(st, &repo));
	T_ASSERT(!dp_repo_unlock(repo, "logs", 4));
	T_ASSERT(!dp_record_id(repo, CLUSTER, "app", "web", id));
	T_ASSERT(!dp_record_id(repo, CLUSTER, "app", "db", other));
	T_ASSERT(!dp_record_id(repo, CLUSTER, "app", "failed", never));

	/* none yet */
	T_ASSERT_EQ(dp_log_get(repo, id, NULL, NULL, NULL, &text, &len), -ENOENT);
	T_ASSERT(!text && !len);

	/* written, read back, named as FORMAT.md says */
	T_ASSERT(!dp_log_put(repo, id, NULL, NULL, NULL, blog, strlen(blog)), "%s",
		 dp_last_error());
	T_ASSERT(!dp_log_put(repo, id, "app", "restore-1", CLUSTER, r1, strlen(r1)), "%s",
		 dp_last_error());
	T_ASSERT(!dp_log_put(repo, id, "other", "restore-1", CLUSTER, r2, strlen(r2)), "%s",
		 dp_last_error());
	T_ASSERT(!dp_log_put(repo, other, NULL, NULL, NULL, r2, strlen(r2)), "%s", dp_last_error());
	expect_log(repo, id, NULL, NULL, blog);
	expect_log(repo, id, "app", "restore-1", r1);
	expect_log(repo, id, "other", "restore-1", r2);
	expect_log(repo, other, NULL, NULL, r2);
	T_ASSERT_EQ(dp_log_get(repo, id, "app", "restore-2", CLUSTER, &text, &len), -ENOENT);
	T_ASSERT_EQ(dp_log_get(repo, id, "app", "restore-1", "another-cluster", &text, &len),
		    -ENOENT);
	k = logs_of(st);
	T_ASSERT(k.n == 4, "%zu logs listed", k.n);
	snprintf(key, sizeof(key), "logs/%s", id);
	T_ASSERT(has_key(&k, key), "no %s", key);
	for (size_t i = 0; i < k.n; i++) {
		const char *name = k.keys[i] + strlen("logs/");

		T_ASSERT(strlen(name) == 64 || (strlen(name) == 129 && name[64] == '.'), "%s",
			 k.keys[i]);
		T_ASSERT(!strstr(k.keys[i], "restore"), "a name is readable: %s", k.keys[i]);
	}

	/* the object: zstd, sealed when encrypted */
	T_ASSERT(!s3_store_get(st, key, DP_LOG_MAX, &obj, &olen));
	if (encrypted)
		T_ASSERT(!memmem(obj, olen, "started", 7), "the text is readable");
	else
		T_ASSERT(!dp_log_decode(obj, olen, &text, &len) && len == strlen(blog), "%s",
			 dp_last_error());
	free(text);
	text = NULL;

	/* a second write replaces */
	T_ASSERT(!dp_log_put(repo, id, NULL, NULL, NULL, r1, strlen(r1)), "%s", dp_last_error());
	expect_log(repo, id, NULL, NULL, r1);
	T_ASSERT(!dp_log_put(repo, id, NULL, NULL, NULL, blog, strlen(blog)));
	/* an empty log is a log */
	T_ASSERT(!dp_log_put(repo, never, NULL, NULL, NULL, "", 0), "%s", dp_last_error());
	expect_log(repo, never, NULL, NULL, "");

	/* another's object under this key: it does not open when sealed */
	if (encrypted && local) {
		char src[1200], dst[1200];
		void *b = NULL;
		size_t bl = 0;

		snprintf(src, sizeof(src), "logs/%s", other);
		T_ASSERT(!s3_store_get(st, src, DP_LOG_MAX, &b, &bl));
		snprintf(dst, sizeof(dst), "logs/%s", never);
		T_ASSERT(!s3_store_delete(st, dst));
		T_ASSERT(!s3_store_put(st, dst, b, bl));
		free(b);
		T_ASSERT_EQ(dp_log_get(repo, never, NULL, NULL, NULL, &text, &len), -EUCLEAN);
		T_ASSERT(strstr(dp_last_error(), "does not open"), "%s", dp_last_error());
	}

	/* bad input */
	T_ASSERT_EQ(dp_log_put(repo, "abc", NULL, NULL, NULL, "x\n", 2), -EINVAL);
	T_ASSERT_EQ(dp_log_put(repo,
			       "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
			       NULL, NULL, NULL, "x\n", 2),
		    -EINVAL);
	T_ASSERT_EQ(dp_log_put(repo, id, NULL, NULL, NULL, "a\0b\n", 4), -EINVAL);
	T_ASSERT_EQ(dp_log_put(repo, id, NULL, NULL, NULL, "x", (size_t)DP_LOG_TEXT_MAX + 1),
		    -EINVAL);
	T_ASSERT_EQ(dp_log_put(repo, id, "app", "", CLUSTER, "x\n", 2), -EINVAL);
	T_ASSERT_EQ(dp_log_get(repo, "zz", NULL, NULL, NULL, &text, &len), -EINVAL);
	/* incompressible text over the object limit */
	big = malloc(DP_LOG_MAX + (1u << 20));
	T_ASSERT(big);
	t_fill_random(big, DP_LOG_MAX + (1u << 20), 3);
	for (size_t i = 0; i < DP_LOG_MAX + (1u << 20); i++)
		big[i] = big[i] ? big[i] : 'x';
	T_ASSERT_EQ(dp_log_put(repo, other, "app", "big", CLUSTER, (char *)big,
			       DP_LOG_MAX + (1u << 20)),
		    -EFBIG);
	free(big);
	expect_log(repo, id, NULL, NULL, blog); /* nothing changed */

	/* forgetting a record forgets its logs, not another's */
	put_record(repo, "web", key);
	T_ASSERT(!strcmp(key, id), "the record's id is not dp_record_id()'s");
	T_ASSERT(!dp_record_forget(repo, (const char *const[]){id}, 1, &deleted), "%s",
		 dp_last_error());
	T_ASSERT_EQ(deleted, 1);
	T_ASSERT_EQ(dp_log_get(repo, id, NULL, NULL, NULL, &text, &len), -ENOENT);
	T_ASSERT_EQ(dp_log_get(repo, id, "app", "restore-1", CLUSTER, &text, &len), -ENOENT);
	k = logs_of(st);
	T_ASSERT(k.n == 2, "%zu logs left, not 2", k.n);
	expect_log(repo, other, NULL, NULL, r2);
	/* the logs of a record never written */
	deleted = 0;
	T_ASSERT(!dp_log_forget(repo, never, &deleted), "%s", dp_last_error());
	T_ASSERT_EQ(deleted, 1);
	T_ASSERT(!dp_log_forget(repo, never, &deleted), "forgetting none: %s", dp_last_error());
	k = logs_of(st);
	T_ASSERT(k.n == 1, "%zu logs left, not 1", k.n);
	T_ASSERT_EQ(dp_log_forget(repo, "nope", &deleted), -EINVAL);
	/* a record with none forgets fine */
	put_record(repo, "db", key);
	T_ASSERT(!dp_record_forget(repo, (const char *const[]){other}, 1, &deleted));
	T_ASSERT_EQ(logs_of(st).n, 0);
	free(obj);
	dp_repo_free(repo);
	s3_store_free(st);
}

/* dp_log_decode(): each malformed object refused, the good one taken */
static void test_decode(void)
{
	const char *text = "time=\"2026-12-06T17:00:00Z\" level=info msg=\"x\"\n";
	size_t cap = ZSTD_compressBound(strlen(text) * 2) * 2, n, n2, len;
	uint8_t *buf = malloc(cap), *two = malloc(2 * cap);
	ZSTD_CCtx *cctx = ZSTD_createCCtx();
	char *out = NULL;

	T_ASSERT(buf && two && cctx);
	n = ZSTD_compress(buf, cap, text, strlen(text), 3);
	T_ASSERT(!ZSTD_isError(n));
	T_ASSERT(!dp_log_decode(buf, n, &out, &len) && len == strlen(text));
	free(out);
	/* not zstd; truncated; two frames; a frame that does not say its size; a NUL */
	T_ASSERT_EQ(dp_log_decode("hello, world", 12, &out, &len), -EBADMSG);
	T_ASSERT_EQ(dp_log_decode(buf, n - 3, &out, &len), -EBADMSG);
	T_ASSERT_EQ(dp_log_decode(buf, 0, &out, &len), -EBADMSG);
	memcpy(two, buf, n);
	memcpy(two + n, buf, n);
	T_ASSERT_EQ(dp_log_decode(two, 2 * n, &out, &len), -EBADMSG);
	ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 0);
	{
		ZSTD_inBuffer in = {text, strlen(text), 0};
		ZSTD_outBuffer o = {two, 2 * cap, 0};

		T_ASSERT(!ZSTD_isError(ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end)));
		n2 = o.pos;
	}
	T_ASSERT_EQ(dp_log_decode(two, n2, &out, &len), -EBADMSG);
	n2 = ZSTD_compress(two, 2 * cap, "a\0b\n", 4, 3);
	T_ASSERT_EQ(dp_log_decode(two, n2, &out, &len), -EBADMSG);
	/* a frame whose header claims more than the limit: magic, descriptor (8-byte size),
	 * window, size */
	{
		uint8_t hdr[14] = {0x28, 0xb5, 0x2f, 0xfd, 0xc0, 0x58};
		uint64_t big = (uint64_t)DP_LOG_TEXT_MAX + 1;

		for (int b = 0; b < 8; b++)
			hdr[6 + b] = (uint8_t)(big >> (8 * b));
		T_ASSERT(ZSTD_getFrameContentSize(hdr, sizeof(hdr)) == big);
		T_ASSERT_EQ(dp_log_decode(hdr, sizeof(hdr), &out, &len), -EBADMSG);
		T_ASSERT(strstr(dp_last_error(), "over"), "%s", dp_last_error());
	}
	T_ASSERT(!out);
	ZSTD_freeCCtx(cctx);
	free(buf);
	free(two);
}

int main(int argc, char **argv)
{
	char url[700], url2[700], rnd[65];
	bool s3 = argc > 1 && !strcmp(argv[1], "s3");
	char *dir = t_tmpdir("backup-log");

	test_decode();
	if (!s3) {
		snprintf(url, sizeof(url), "file://%s/plain", dir);
		snprintf(url2, sizeof(url2), "file://%s/enc", dir);
	} else {
		const char *vars[] = {"FERRY_TEST_S3_ENDPOINT", "FERRY_TEST_S3_ACCESS_KEY",
				      "FERRY_TEST_S3_SECRET_KEY", "FERRY_TEST_S3_REGION",
				      "FERRY_TEST_S3_BUCKET"};

		for (size_t i = 0; i < 5; i++)
			if (!getenv(vars[i]))
				t_fail("%s is not set: run the S3 tests through tests/run",
				       vars[i]);
		setenv("AWS_ACCESS_KEY_ID", getenv("FERRY_TEST_S3_ACCESS_KEY"), 1);
		setenv("AWS_SECRET_ACCESS_KEY", getenv("FERRY_TEST_S3_SECRET_KEY"), 1);
		unsetenv("AWS_SESSION_TOKEN");
		unsetenv("AWS_PROFILE");
		unsetenv("AWS_CA_BUNDLE");
		snprintf(rnd, sizeof(rnd), "%08lx%08lx", (unsigned long)getpid(),
			 (unsigned long)time(NULL));
		snprintf(url, sizeof(url), "s3://%s/t-backup-log-%.16s/plain",
			 getenv("FERRY_TEST_S3_BUCKET"), rnd);
		snprintf(url2, sizeof(url2), "s3://%s/t-backup-log-%.16s/enc",
			 getenv("FERRY_TEST_S3_BUCKET"), rnd);
	}
	test_repository(url, false, !s3);
	test_repository(url2, true, !s3);
	t_rmtree(dir);
	free(dir);
	printf("PASS\n");
	return 0;
}
