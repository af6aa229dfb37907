// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_file.c - what file:// does with the resume, unfinished-upload
 * and version calls of store.h, so callers need no special case: uploads
 * resume (the id is the temporary file's name, a part's ETag a digest of its
 * bytes; detach keeps the file, a part damaged since lists with another
 * ETag and is sent again), temporary files listed as unfinished uploads and
 * aborted by name, each file one "null" version.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "s3/store.h"
#include "t_helpers.h"

#define MiB (1u << 20)

static void done(void *arg, int ret, const char *detail)
{
	T_ASSERT(ret == 0, "part: %d %s", ret, detail);
	(*(int *)arg)++;
}

struct names {
	char key[8][128], id[8][64];
	int n;
};

static int upload_one(void *arg, const char *key, const char *upload_id, int64_t initiated)
{
	struct names *l = arg;

	T_ASSERT(l->n < 8, "too many");
	T_ASSERT(initiated > 1600000000, "mtime");
	snprintf(l->key[l->n], sizeof(l->key[0]), "%s", key);
	snprintf(l->id[l->n], sizeof(l->id[0]), "%s", upload_id);
	l->n++;
	return 0;
}

static int version_one(void *arg, const char *key, const char *version_id, bool is_latest,
		       bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct names *l = arg;

	T_ASSERT(l->n < 8, "too many");
	T_ASSERT(!strcmp(version_id, "null") && is_latest && !is_delete_marker && size == 3 &&
			 mtime > 1600000000,
		 "%s: one latest null version", key);
	snprintf(l->key[l->n], sizeof(l->key[0]), "%s", key);
	l->n++;
	return 0;
}

static void versions(struct s3_store *st)
{
	enum s3_versioning vs = S3_VERSIONING_ENABLED;
	struct s3_version_info vi;
	struct names l = {.n = 0};
	uint64_t size;

	T_ASSERT_EQ(s3_store_versioning(st, &vs), 0);
	T_ASSERT_EQ(vs, S3_VERSIONING_OFF);
	T_ASSERT_EQ(s3_store_put(st, "snapshots/a", "abc", 3), 0);
	T_ASSERT_EQ(s3_store_put(st, "data/00/b", "def", 3), 0);
	T_ASSERT_EQ(s3_store_list_versions(st, "", version_one, &l), 0);
	T_ASSERT_EQ(l.n, 2);
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_versions(st, "snapshots/", version_one, &l), 0);
	T_ASSERT(l.n == 1 && !strcmp(l.key[0], "snapshots/a"), "by prefix");
	T_ASSERT_EQ(s3_store_head_version(st, "snapshots/a", "null", &vi), 0);
	T_ASSERT(vi.size == 3 && vi.mtime > 1600000000 && !vi.lock_mode[0] && !vi.retain_until,
		 "head of the null version");
	T_ASSERT_EQ(s3_store_delete_version(st, "snapshots/a", "3HL4kqtJlcpXroDTDmJ"), -ENOENT);
	T_ASSERT_EQ(s3_store_delete_version(st, "snapshots/a", "null"), 0);
	T_ASSERT_EQ(s3_store_head(st, "snapshots/a", &size), -ENOENT);
	T_ASSERT_EQ(s3_store_delete_version(st, "snapshots/a", "null"), -ENOENT);
	T_ASSERT_EQ(s3_store_list_versions(st, "../", version_one, &l), -EINVAL);
	printf("ok: file:// versions: one \"null\" version per file\n");
}

struct told {
	const struct s3_delete_item *items;
	int calls[8], err[8];
};

static void told_one(void *arg, const struct s3_delete_item *item, int err, const char *detail)
{
	struct told *t = arg;
	long i = item - t->items;

	T_ASSERT(i >= 0 && i < 8, "@item is one of @items");
	T_ASSERT(!err || detail[0], "%s: an error says why", item->key);
	t->calls[i]++;
	t->err[i] = err;
}

/* file:// deletes one by one: versions "null" and other ids, missing keys */
static void delete_objects(struct s3_store *st)
{
	struct s3_delete_item items[] = {
		{"a", NULL},   {"b", "null"}, {"c", NULL}, {"d", "3HL4kqtJlcpXroDTDmJ"},
		{"e", "null"},
	};
	struct s3_delete_item bad[] = {{"ok", NULL}, {"/abs", NULL}};
	struct told t = {.items = items};
	uint64_t size;

	T_ASSERT_EQ(s3_store_put(st, "a", "1", 1), 0);
	T_ASSERT_EQ(s3_store_put(st, "b", "2", 1), 0);
	T_ASSERT_EQ(s3_store_put(st, "d", "4", 1), 0);
	T_ASSERT_EQ(s3_store_delete_objects(st, bad, 2, told_one, &t), -EINVAL);
	T_ASSERT_EQ(s3_store_delete_objects(st, items, 5, told_one, &t), 0);
	for (int i = 0; i < 5; i++)
		T_ASSERT(t.calls[i] == 1 && t.err[i] == 0, "%s: %d calls, %d", items[i].key,
			 t.calls[i], t.err[i]);
	T_ASSERT_EQ(s3_store_head(st, "a", &size), -ENOENT);
	T_ASSERT_EQ(s3_store_head(st, "b", &size), -ENOENT);
	/* a version file:// does not have does not exist: the file stays */
	T_ASSERT_EQ(s3_store_head(st, "d", &size), 0);
	T_ASSERT_EQ(s3_store_delete(st, "d"), 0);
	T_ASSERT_EQ(s3_store_delete_objects(st, items, 2, NULL, NULL), -EINVAL);
	printf("ok: file:// delete_objects: one by one, missing ones are 0\n");
}

struct listed {
	int n;
	unsigned int num[8];
	uint64_t size[8];
	char etag[8][S3_ETAG_SIZE];
};

static int list_one(void *arg, unsigned int num, uint64_t size, const char *etag)
{
	struct listed *l = arg;

	if (l->n == 8)
		return -E2BIG;
	l->num[l->n] = num;
	l->size[l->n] = size;
	snprintf(l->etag[l->n++], S3_ETAG_SIZE, "%s", etag);
	return 0;
}

static void uploads(struct s3_store *st, const char *root)
{
	static unsigned char buf[MiB];
	struct names l = {.n = 0};
	struct s3_upload *up, *again = NULL;
	char etag[S3_ETAG_SIZE], path[1024];
	const char *id;
	int parts = 0;

	static unsigned char b2[MiB], b3[100];
	char e1[S3_ETAG_SIZE], e2[S3_ETAG_SIZE], tmp[1100], uid[64];
	struct listed ls = {.n = 0};
	void *got = NULL;
	size_t glen = 0;
	FILE *f;

	for (size_t i = 0; i < MiB; i++)
		b2[i] = (unsigned char)(i * 7 + 1);
	memset(b3, 'z', sizeof(b3));
	T_ASSERT_EQ(s3_upload_new(st, "data/11/pack", MiB, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, buf, MiB, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(up, 2, b2, MiB, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_id(up, &id), 0);
	T_ASSERT(!strncmp(id, ".tmp-", 5), "the id is the temporary file's name: %s", id);
	snprintf(uid, sizeof(uid), "%s", id);
	T_ASSERT_EQ(s3_upload_part_etag(up, 1, e1), 0);
	T_ASSERT_EQ(s3_upload_part_etag(up, 2, e2), 0);
	T_ASSERT(!strcmp(e1, "\"30e14955ebf1352266dc2ff8067e6810\""),
		 "part 1's ETag is the SHA-256 (128 bits) of "
		 "1 MiB of zeros: %s",
		 e1);
	T_ASSERT_EQ(s3_upload_part_etag(up, 3, etag), -ENOENT);

	/* its temporary file is an unfinished upload, and stays when the upload is detached */
	T_ASSERT_EQ(s3_store_list_uploads(st, "", upload_one, &l), 0);
	T_ASSERT(l.n == 1 && !strncmp(l.key[0], "data/11/.tmp-", 13) &&
			 !strcmp(l.key[0] + 8, l.id[0]) && !strcmp(l.id[0], uid),
		 "the upload's temporary file: %s %s", l.key[0], l.id[0]);
	s3_upload_detach(up);
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_uploads(st, "", upload_one, &l), 0);
	T_ASSERT_EQ(l.n, 1);

	/* resumed by id: both parts listed with the ETags the first handle gave */
	T_ASSERT_EQ(s3_upload_resume(st, "data/11/pack", uid, MiB, &again), 0);
	T_ASSERT_EQ(s3_upload_list_parts(again, list_one, &ls), 0);
	T_ASSERT(ls.n == 2 && ls.num[0] == 1 && ls.num[1] == 2 && !strcmp(ls.etag[0], e1) &&
			 !strcmp(ls.etag[1], e2) && ls.size[1] == MiB,
		 "listed %d parts", ls.n);
	s3_upload_detach(again);
	/* part 2 damaged since (a write a killed process left halfway): another ETag */
	snprintf(tmp, sizeof(tmp), "%s/data/11/%s", root, uid);
	f = fopen(tmp, "r+");
	T_ASSERT(f && !fseek(f, MiB + 100, SEEK_SET) && fwrite("XX", 1, 2, f) == 2 && !fclose(f),
		 "damaging %s", tmp);
	T_ASSERT_EQ(s3_upload_resume(st, "data/11/pack", uid, MiB, &again), 0);
	ls.n = 0;
	T_ASSERT_EQ(s3_upload_list_parts(again, list_one, &ls), 0);
	T_ASSERT(ls.n == 2 && !strcmp(ls.etag[0], e1) && strcmp(ls.etag[1], e2),
		 "the damaged part lists with another ETag");
	/* sent again it replaces the damaged one; a short last part; the object is whole */
	T_ASSERT_EQ(s3_upload_part(again, 2, b2, MiB, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(again, 3, b3, sizeof(b3), done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(again, 3, b3, sizeof(b3), done, &parts), -EINVAL);
	T_ASSERT_EQ(s3_upload_part_etag(again, 2, etag), 0);
	T_ASSERT(!strcmp(etag, e2), "part 2 sent again has its first ETag back");
	T_ASSERT_EQ(s3_upload_complete(again), 0);
	T_ASSERT_EQ(s3_store_get(st, "data/11/pack", 4 * MiB, &got, &glen), 0);
	T_ASSERT(glen == 2 * MiB + sizeof(b3) && !memcmp(got, buf, MiB) &&
			 !memcmp((char *)got + MiB, b2, MiB) &&
			 !memcmp((char *)got + 2 * MiB, b3, sizeof(b3)),
		 "the resumed object: %zu bytes", glen);
	free(got);
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_uploads(st, "", upload_one, &l), 0);
	T_ASSERT_EQ(l.n, 0);
	/* what is not an upload of this key */
	T_ASSERT_EQ(s3_upload_resume(st, "data/11/pack", uid, MiB, &again), -ENOENT);
	T_ASSERT_EQ(s3_upload_resume(st, "data/11/pack", "some-id", MiB, &again), -ENOENT);
	T_ASSERT_EQ(s3_upload_resume(st, "data/11/pack", ".tmp-x/../../y", MiB, &again), -ENOENT);
	printf("ok: file:// uploads resume: id, digest ETags, detach keeps the file, a damaged part "
	       "sent again\n");

	/* set_nparts: the object must be exactly those parts */
	T_ASSERT_EQ(s3_upload_new(st, "data/11/two", MiB, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, buf, MiB, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(up, 2, buf, 10, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_set_nparts(up, 3), 0);
	T_ASSERT_EQ(s3_upload_complete(up), -EINVAL);
	T_ASSERT_EQ(s3_upload_new(st, "data/11/two", MiB, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, buf, MiB, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(up, 2, buf, 10, done, &parts), 0);
	T_ASSERT_EQ(s3_upload_set_nparts(up, 2), 0);
	T_ASSERT_EQ(s3_upload_complete(up), 0);
	T_ASSERT_EQ(parts, 8);

	/* leftovers of crashed writes, listed by prefix and aborted by name */
	snprintf(path, sizeof(path), "%s/data/11/.tmp-0123456789abcdef", root);
	t_write_file(path, "x", 1);
	snprintf(path, sizeof(path), "%s/.tmp-00000000000000ff", root);
	t_write_file(path, "y", 1);
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_uploads(st, "data/", upload_one, &l), 0);
	T_ASSERT(l.n == 1 && !strcmp(l.key[0], "data/11/.tmp-0123456789abcdef"), "by prefix");
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_uploads(st, "", upload_one, &l), 0);
	T_ASSERT_EQ(l.n, 2);
	T_ASSERT_EQ(s3_store_abort_upload(st, "data/11/two", "two"), -EINVAL);
	T_ASSERT_EQ(s3_store_abort_upload(st, "data/11/.tmp-0123456789abcdef", ".tmp-other"),
		    -EINVAL);
	for (int i = 0; i < l.n; i++)
		T_ASSERT_EQ(s3_store_abort_upload(st, l.key[i], l.id[i]), 0);
	T_ASSERT_EQ(s3_store_abort_upload(st, l.key[0], l.id[0]), 0); /* gone already */
	l.n = 0;
	T_ASSERT_EQ(s3_store_list_uploads(st, "", upload_one, &l), 0);
	T_ASSERT_EQ(l.n, 0);
	T_ASSERT_EQ(access(path, F_OK), -1);
	printf("ok: file:// uploads: temporary files listed and aborted\n");
}

int main(void)
{
	char *dir = t_tmpdir("s3file"), url[600];
	struct s3_store_opts o = {.sz = sizeof(o), .fsync = -1};
	struct s3_store *st;

	snprintf(url, sizeof(url), "file://%s", dir);
	T_ASSERT_EQ(s3_store_open(url, &o, &st), 0);
	T_ASSERT_EQ(s3_store_mkroot(st), 0);
	versions(st);
	delete_objects(st);
	uploads(st, dir);
	s3_store_free(st);
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_file\n");
	return 0;
}
