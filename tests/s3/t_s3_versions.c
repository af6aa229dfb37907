// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_versions.c - versioned buckets and Object Lock against the
 * RGW of tests/run, through the proxy (s3proxy.py):
 *
 *  - the fixture's unversioned bucket: versioning off, each object one
 *    "null" version that s3_store_delete_version() deletes;
 *  - a bucket with versioning enabled (PutBucketVersioning, by s3admin.py):
 *    put, overwrite, delete -> every version and the delete marker listed
 *    (in pages of 2), s3_store_delete_version() reclaims each;
 *  - a bucket created with Object Lock and a default GOVERNANCE retention of
 *    1 day: puts, a multipart upload and DeleteObjects work (every request
 *    with a body carried Content-MD5, as Object Lock requires), deleting a
 *    version is refused with -EACCES and a message naming Object Lock and
 *    the retain-until date, and the object stays readable.
 */
#include "s3t.h"

#define MiB (1u << 20)

static struct s3t t;
static struct s3t_proxy px;

/* s3admin.py ENDPOINT ARGS... (NULL-terminated, at most 12) */
static void admin(const char *const *args)
{
	char script[512];
	char *argv[16] = {"/usr/bin/python3", script, (char *)t.endpoint};
	int rc, n = 3;

	snprintf(script, sizeof(script), "%s/s3admin.py", t.srcdir);
	for (int i = 0; args[i] && n < 15; i++)
		argv[n++] = (char *)args[i];
	rc = t_spawn(argv);
	if (rc)
		t_fail("s3admin.py %s %s: exit %d", args[0], args[1], rc);
}

struct ver {
	char key[64], id[128];
	bool latest, marker;
	uint64_t size;
	int64_t mtime;
};

struct vers {
	struct ver v[32];
	int n;
};

static int ver_one(void *arg, const char *key, const char *version_id, bool is_latest,
		   bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct vers *l = arg;
	struct ver *v;

	T_ASSERT(l->n < 32, "too many versions");
	v = &l->v[l->n++];
	snprintf(v->key, sizeof(v->key), "%s", key);
	snprintf(v->id, sizeof(v->id), "%s", version_id);
	v->latest = is_latest;
	v->marker = is_delete_marker;
	v->size = size;
	v->mtime = mtime;
	return 0;
}

static void list_all(struct s3_store *st, struct vers *l)
{
	memset(l, 0, sizeof(*l));
	T_ASSERT(s3_store_list_versions(st, "", ver_one, l) == 0, "list versions: %s",
		 s3_last_error());
}

static struct s3_store *open_bucket(const char *bucket, const char *endpoint)
{
	struct s3_store_opts o = {.sz = sizeof(o), .endpoint = endpoint};
	struct s3_store *st;
	char url[256];

	snprintf(url, sizeof(url), "s3://%s/%s", bucket, t.prefix);
	T_ASSERT(s3_store_open(url, &o, &st) == 0, "open %s: %s", url, s3_last_error());
	return st;
}

static void unversioned(void)
{
	struct s3_store *st = s3t_open(&t, px.endpoint, NULL);
	enum s3_versioning vs = S3_VERSIONING_ENABLED;
	struct vers l;
	uint64_t size;

	T_ASSERT(s3_store_versioning(st, &vs) == 0, "versioning: %s", s3_last_error());
	T_ASSERT_EQ(vs, S3_VERSIONING_OFF);
	T_ASSERT_EQ(s3_store_put(st, "plain", "abc", 3), 0);
	list_all(st, &l);
	T_ASSERT_EQ(l.n, 1);
	T_ASSERT(!strcmp(l.v[0].key, "plain") && !strcmp(l.v[0].id, "null") && l.v[0].latest &&
			 !l.v[0].marker && l.v[0].size == 3 && l.v[0].mtime > 1600000000,
		 "one null version: %s %s", l.v[0].key, l.v[0].id);
	T_ASSERT(s3_store_delete_version(st, "plain", "null") == 0, "%s", s3_last_error());
	T_ASSERT_EQ(s3_store_head(st, "plain", &size), -ENOENT);
	list_all(st, &l);
	T_ASSERT_EQ(l.n, 0);
	T_ASSERT_EQ(s3_store_delete_version(st, "plain", ""), -EINVAL);
	s3_store_free(st);
	printf("ok: unversioned bucket: one \"null\" version, deleted by id\n");
}

static void versioned(const char *bucket)
{
	struct s3_store *st;
	enum s3_versioning vs;
	struct vers l;
	void *got;
	size_t len;
	int ids = 0;

	st = open_bucket(bucket, px.endpoint);
	s3_store_set_page_size(st, 2);
	T_ASSERT(s3_store_versioning(st, &vs) == 0, "versioning: %s", s3_last_error());
	T_ASSERT_EQ(vs, S3_VERSIONING_ENABLED);
	T_ASSERT_EQ(s3_store_put(st, "snapshots/k", "one", 3), 0);
	T_ASSERT_EQ(s3_store_put(st, "snapshots/k", "two!", 4), 0);
	T_ASSERT_EQ(s3_store_delete(st, "snapshots/k"), 0);
	T_ASSERT_EQ(s3_store_put(st, "snapshots/solo", "s", 1), 0);
	T_ASSERT_EQ(s3_store_get(st, "snapshots/k", 16, &got, &len), -ENOENT);

	list_all(st, &l);
	T_ASSERT_EQ(l.n, 4);
	/* k: the delete marker (latest), then "two!", then "one"; then solo */
	T_ASSERT(!strcmp(l.v[0].key, "snapshots/k") && l.v[0].marker && l.v[0].latest,
		 "the delete marker comes first and is latest");
	T_ASSERT(!strcmp(l.v[1].key, "snapshots/k") && !l.v[1].marker && !l.v[1].latest &&
			 l.v[1].size == 4,
		 "the overwrite");
	T_ASSERT(!strcmp(l.v[2].key, "snapshots/k") && !l.v[2].marker && !l.v[2].latest &&
			 l.v[2].size == 3,
		 "the first version");
	T_ASSERT(!strcmp(l.v[3].key, "snapshots/solo") && l.v[3].latest && l.v[3].size == 1,
		 "solo");
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			ids += !strcmp(l.v[i].id, l.v[j].id);
	T_ASSERT_EQ(ids, 0);
	printf("ok: put, overwrite, delete: 2 versions and a delete marker listed\n");

	for (int i = 0; i < 3; i++)
		T_ASSERT(s3_store_delete_version(st, l.v[i].key, l.v[i].id) == 0, "delete %s: %s",
			 l.v[i].id, s3_last_error());
	/* deleting it again (gone): fine */
	T_ASSERT_EQ(s3_store_delete_version(st, l.v[1].key, l.v[1].id), 0);
	list_all(st, &l);
	T_ASSERT_EQ(l.n, 1);
	T_ASSERT(!strcmp(l.v[0].key, "snapshots/solo"), "only solo is left");
	T_ASSERT_EQ(s3_store_delete_version(st, l.v[0].key, l.v[0].id), 0);
	list_all(st, &l);
	T_ASSERT_EQ(l.n, 0);
	s3_store_free(st);
	printf("ok: every version deleted by id: nothing left\n");
}

static void part_done(void *arg, int ret, const char *detail)
{
	if (ret)
		t_fail("part: %d %s", ret, detail);
	(*(int *)arg)++;
}

/*
 * Every request with a body carried Content-MD5 (Object Lock requires it).
 * Read once the proxy has stopped: it logs a request after answering it, so
 * a read at once could miss the last (DeleteObjects: 5 of 6 seen in a CI run).
 */
static void check_md5(void)
{
	FILE *f = fopen(px.log, "r");
	char line[4096];
	int bodies = 0;

	T_ASSERT(f, "the proxy log");
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "\"in\": 0,"))
			continue;
		bodies++;
		T_ASSERT(strstr(line, "\"md5\": true"), "a body without Content-MD5: %s", line);
	}
	fclose(f);
	T_ASSERT(bodies >= 6, "requests with a body: %d", bodies);
	printf("ok: %d requests with a body, each with Content-MD5\n", bodies);
}

static void locked(const char *bucket)
{
	const char *gone[] = {"index/gone"};
	unsigned char *pack = malloc(5 * MiB + 100);
	struct s3_version_info vi;
	struct s3_upload *up;
	struct s3_store *st;
	enum s3_versioning vs;
	int64_t now = (int64_t)time(NULL);
	struct vers l;
	int parts = 0;
	void *got;
	size_t len;
	const char *keep_id = NULL;

	st = open_bucket(bucket, px.endpoint);
	T_ASSERT(s3_store_versioning(st, &vs) == 0, "versioning: %s", s3_last_error());
	T_ASSERT_EQ(vs, S3_VERSIONING_ENABLED);

	/* what a backup writes: small objects, a pack in parts; forget: DeleteObjects */
	T_ASSERT(s3_store_put(st, "config", "precious", 8) == 0, "put: %s", s3_last_error());
	t_fill_random(pack, 5 * MiB + 100, 3);
	T_ASSERT_EQ(s3_upload_new(st, "data/aa/pack", 5 * MiB, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, pack, 5 * MiB, part_done, &parts), 0);
	T_ASSERT_EQ(s3_upload_part(up, 2, pack + 5 * MiB, 100, part_done, &parts), 0);
	T_ASSERT(s3_upload_complete(up) == 0, "multipart: %s", s3_last_error());
	T_ASSERT_EQ(parts, 2);
	T_ASSERT_EQ(s3_store_put(st, "index/gone", "x", 1), 0);
	T_ASSERT(s3_store_delete_many(st, gone, 1) == 0, "DeleteObjects: %s", s3_last_error());

	list_all(st, &l);
	T_ASSERT_EQ(l.n, 4); /* config, pack, index/gone and its delete marker */
	for (int i = 0; i < l.n; i++)
		if (!strcmp(l.v[i].key, "config"))
			keep_id = l.v[i].id;
	T_ASSERT(keep_id, "config listed");
	T_ASSERT_EQ(s3_store_delete_version(st, "config", keep_id), -EACCES);
	T_ASSERT(strstr(s3_last_error(), "Object Lock") && strstr(s3_last_error(), "until 20") &&
			 strstr(s3_last_error(), "GOVERNANCE"),
		 "the refusal says why and until when: %s", s3_last_error());
	printf("ok: deleting a locked version: %s\n", s3_last_error());
	T_ASSERT_EQ(s3_store_get(st, "config", 64, &got, &len), 0);
	T_ASSERT(len == 8 && !memcmp(got, "precious", 8), "still readable");
	free(got);
	T_ASSERT(s3_store_head_version(st, "config", keep_id, &vi) == 0, "%s", s3_last_error());
	T_ASSERT(!strcmp(vi.lock_mode, "GOVERNANCE") && vi.size == 8 && !vi.legal_hold, "mode %s",
		 vi.lock_mode);
	T_ASSERT(vi.retain_until > now + 86000 && vi.retain_until < now + 86500,
		 "retained for a day: %lld", (long long)(vi.retain_until - now));
	/* a delete marker holds no data and no lock */
	for (int i = 0; i < l.n; i++)
		if (l.v[i].marker)
			T_ASSERT(s3_store_delete_version(st, l.v[i].key, l.v[i].id) == 0,
				 "delete marker: %s", s3_last_error());
	list_all(st, &l);
	T_ASSERT_EQ(l.n, 3);
	s3_store_free(st);
	free(pack);
	printf("ok: Object Lock bucket: writes work, locked versions stay\n");
}

static void logline(int level, const char *msg)
{
	if (level <= S3_LOG_WARN || getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "[s3 %d] %s\n", level, msg);
}

int main(void)
{
	char *dir = t_tmpdir("s3vers"), ver[64], lock[64];
	unsigned int r;

	s3_set_log(logline);
	s3t_init(&t, "versions");
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		t_error("getrandom");
	snprintf(ver, sizeof(ver), "ferry-ver-%08x", r);
	snprintf(lock, sizeof(lock), "ferry-lock-%08x", r);
	{
		const char *mk[] = {"mkbucket", ver,  "--versioning",	    "--",
				    "mkbucket", lock, "--object-lock-days", "1",
				    NULL};

		admin(mk);
	}
	s3t_proxy_start(&t, &px, dir, NULL);
	unversioned();
	versioned(ver);
	s3t_proxy_stop(&px);
	{
		/* counted once the proxy has stopped: it logs a request after answering it */
		const char *subs[] = {"\"method\": \"GET\"",
				      "version-id-marker=", "versions=", NULL};

		T_ASSERT(s3t_proxy_count(&px, subs) >= 1, "versions listed in more than one page");
	}
	/* a fresh log for the Object Lock bucket's requests */
	s3t_proxy_start(&t, &px, dir, NULL);
	locked(lock);
	s3t_proxy_stop(&px);
	check_md5(); /* once the proxy has stopped, as the count above */
	{
		/* the locked versions go too: s3admin.py bypasses GOVERNANCE retention */
		const char *rm[] = {"rmbucket", ver, "--", "rmbucket", lock, NULL};

		admin(rm);
	}
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_versions\n");
	return 0;
}
