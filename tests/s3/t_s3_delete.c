// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_delete.c - s3_store_delete_objects() against the RGW of
 * tests/run, through the fault proxy (s3proxy.py), which counts requests:
 *
 *  - the fixture's plain bucket: 1001 objects and 2 missing keys go in two
 *    DeleteObjects requests (1000 + 3 items), each with Content-MD5; every
 *    item is told exactly once, as deleted; nothing is left;
 *  - a versioned bucket: two versions by id, a version that never was, the
 *    current object (a delete marker is added) and a missing key: all 0,
 *    and the listing of versions shows exactly what must remain;
 *  - an Object Lock bucket (GOVERNANCE, 1 day): the locked version is
 *    -EACCES with a detail naming Object Lock, the mode and the retain-until
 *    date (RGW's DeleteObjects answers a bare "AccessDenied": the date comes
 *    from a HEAD of the version); the other items of the same request go;
 *  - a store that answers NotImplemented (s3proxy.py --no-delete-objects):
 *    one DELETE per item (versionId in the query), more items than are sent
 *    at once, the same outcomes as above, and no second DeleteObjects;
 *  - a request refused as a whole (a wrong secret), with and without
 *    DeleteObjects: -EACCES for the call, @fn never runs; an invalid key or
 *    version id: -EINVAL, nothing deleted.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "s3t.h"

static struct s3t t;

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

/* ------------------------------------------------------------ outcomes */

struct outcome {
	int calls, err;
	char detail[512];
};

struct outcomes {
	const struct s3_delete_item *items;
	size_t n;
	struct outcome *o;
	int calls;
};

static void record(void *arg, const struct s3_delete_item *item, int err, const char *detail)
{
	struct outcomes *r = arg;
	size_t i = (size_t)(item - r->items);

	T_ASSERT(i < r->n, "@item points into @items");
	T_ASSERT(detail, "a detail");
	T_ASSERT(!err || detail[0], "an error of '%s' says why", item->key);
	r->o[i].calls++;
	r->o[i].err = err;
	snprintf(r->o[i].detail, sizeof(r->o[i].detail), "%s", detail);
	r->calls++;
}

static struct outcomes *run(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			    int want)
{
	struct outcomes *r = calloc(1, sizeof(*r));
	int ret;

	r->items = items;
	r->n = n;
	r->o = calloc(n ? n : 1, sizeof(*r->o));
	ret = s3_store_delete_objects(st, items, n, record, r);
	T_ASSERT(ret == want, "delete of %zu items: %d, not %d (%s)", n, ret, want,
		 s3_last_error());
	return r;
}

static void free_outcomes(struct outcomes *r)
{
	free(r->o);
	free(r);
}

/* every item told once, with 0 */
static void all_deleted(const struct outcomes *r)
{
	for (size_t i = 0; i < r->n; i++)
		T_ASSERT(r->o[i].calls == 1 && r->o[i].err == 0, "%s: %d calls, %d %s",
			 r->items[i].key, r->o[i].calls, r->o[i].err, r->o[i].detail);
}

/* ------------------------------------------------------------ helpers */

static int count_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	(*(int *)arg)++;
	return 0;
}

static int listed(struct s3_store *st, const char *prefix)
{
	int n = 0;

	T_ASSERT(s3_store_list(st, prefix, count_one, &n) == 0, "list: %s", s3_last_error());
	return n;
}

struct ver {
	char key[64], id[128];
	bool marker, latest;
};

struct vers {
	struct ver v[16];
	int n;
};

static int ver_one(void *arg, const char *key, const char *version_id, bool is_latest,
		   bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct vers *l = arg;

	(void)size;
	(void)mtime;
	T_ASSERT(l->n < 16, "too many versions");
	snprintf(l->v[l->n].key, sizeof(l->v[0].key), "%s", key);
	snprintf(l->v[l->n].id, sizeof(l->v[0].id), "%s", version_id);
	l->v[l->n].marker = is_delete_marker;
	l->v[l->n].latest = is_latest;
	l->n++;
	return 0;
}

static void versions_of(struct s3_store *st, struct vers *l)
{
	memset(l, 0, sizeof(*l));
	T_ASSERT(s3_store_list_versions(st, "", ver_one, l) == 0, "list versions: %s",
		 s3_last_error());
}

/* the id of the @nth (0: newest) data version of @key */
static const char *version_of(const struct vers *l, const char *key, int nth)
{
	for (int i = 0; i < l->n; i++)
		if (!strcmp(l->v[i].key, key) && !l->v[i].marker && nth-- == 0)
			return l->v[i].id;
	t_fail("no version %d of %s", nth, key);
}

/* a prefix of its own per @tag: each pass starts from an empty listing */
static struct s3_store *open_bucket(const char *bucket, const char *endpoint, const char *tag)
{
	struct s3_store_opts o = {.sz = sizeof(o), .endpoint = endpoint};
	struct s3_store *st;
	char url[256];

	snprintf(url, sizeof(url), "s3://%s/%s-%s", bucket, t.prefix, tag);
	T_ASSERT(s3_store_open(url, &o, &st) == 0, "open %s: %s", url, s3_last_error());
	return st;
}

static int proxied(const struct s3t_proxy *p, const char *method, const char *what)
{
	char m[64];
	const char *subs[] = {m, what, NULL};

	snprintf(m, sizeof(m), "\"method\": \"%s\"", method);
	return s3t_proxy_count(p, subs);
}

/* ---------------------------------------------------------- plain bucket */

#define NPLAIN 1001

struct putter {
	struct s3_store *st;
	atomic_int next;
	int n;
	const char *fmt;
};

static void *put_many(void *arg)
{
	struct putter *p = arg;
	char key[64];
	int i;

	while ((i = atomic_fetch_add(&p->next, 1)) < p->n) {
		snprintf(key, sizeof(key), p->fmt, i);
		if (s3_store_put(p->st, key, "x", 1))
			t_fail("put %s: %s", key, s3_last_error());
	}
	return NULL;
}

/* @n objects named by @fmt, put directly (not through the proxy) from 4 threads */
static void put_n(struct s3_store *st, const char *fmt, int n)
{
	struct putter p = {.st = st, .n = n, .fmt = fmt};
	pthread_t th[4];

	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, put_many, &p);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
}

static struct s3_delete_item *items_n(const char *fmt, int n, char ***keys)
{
	struct s3_delete_item *items = calloc((size_t)n, sizeof(*items));

	*keys = calloc((size_t)n, sizeof(**keys));
	for (int i = 0; i < n; i++) {
		(*keys)[i] = malloc(64);
		snprintf((*keys)[i], 64, fmt, i);
		items[i].key = (*keys)[i];
	}
	return items;
}

static void free_items(struct s3_delete_item *items, char **keys, int n)
{
	for (int i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
	free(items);
}

static void plain(const char *dir)
{
	struct s3_store *direct = s3t_open(&t, NULL, NULL), *st;
	struct s3t_proxy px;
	struct s3_delete_item *items;
	struct outcomes *r;
	char **keys;

	put_n(direct, "plain/%04d", NPLAIN);
	T_ASSERT_EQ(listed(direct, "plain/"), NPLAIN);
	/* two more that do not exist: 1003 items, 1000 + 3 */
	items = items_n("plain/%04d", NPLAIN + 2, &keys);
	s3t_proxy_start(&t, &px, dir, NULL);
	st = s3t_open(&t, px.endpoint, NULL);
	r = run(st, items, NPLAIN + 2, 0);
	all_deleted(r);
	T_ASSERT_EQ(r->calls, NPLAIN + 2);
	free_outcomes(r);
	s3_store_free(st);
	s3t_proxy_stop(&px);
	T_ASSERT_EQ(proxied(&px, "POST", "?delete="), 2);
	{
		const char *subs[] = {"\"method\": \"POST\"", "?delete=", "\"md5\": true",
				      "\"status\": 200", NULL};

		T_ASSERT_EQ(s3t_proxy_count(&px, subs), 2);
	}
	T_ASSERT_EQ(proxied(&px, "DELETE", ""), 0);
	T_ASSERT_EQ(listed(direct, "plain/"), 0);
	free_items(items, keys, NPLAIN + 2);
	s3_store_free(direct);
	printf("ok: plain bucket: %d items in 2 DeleteObjects requests with Content-MD5, each told once\n",
	       NPLAIN + 2);
}

/* ------------------------------------------------------ versioned bucket */

static void versioned(const char *bucket, const char *endpoint, const char *how, const char *tag)
{
	struct s3_store *st = open_bucket(bucket, endpoint, tag);
	struct s3_delete_item items[5];
	struct outcomes *r;
	struct vers l;

	T_ASSERT_EQ(s3_store_put(st, "a", "one", 3), 0);
	T_ASSERT_EQ(s3_store_put(st, "a", "two!", 4), 0);
	T_ASSERT_EQ(s3_store_put(st, "b", "b", 1), 0);
	versions_of(st, &l);
	T_ASSERT_EQ(l.n, 3);
	items[0] = (struct s3_delete_item){"a", version_of(&l, "a", 0)};
	items[1] = (struct s3_delete_item){"a", version_of(&l, "a", 1)};
	items[2] = (struct s3_delete_item){"b", NULL};
	items[3] = (struct s3_delete_item){"missing", NULL};
	items[4] = (struct s3_delete_item){"a", "NoSuchVersionIdOfA0123456789abcd"};
	r = run(st, items, 5, 0);
	all_deleted(r);
	free_outcomes(r);
	/*
	 * "a" is gone for good; "b" keeps its version under a delete marker;
	 * "missing" has a delete marker now (S3 adds one for any key)
	 */
	versions_of(st, &l);
	T_ASSERT_EQ(l.n, 3);
	T_ASSERT(!strcmp(l.v[0].key, "b") && l.v[0].marker && l.v[0].latest,
		 "b's delete marker first");
	T_ASSERT(!strcmp(l.v[1].key, "b") && !l.v[1].marker && !l.v[1].latest, "b's version");
	T_ASSERT(!strcmp(l.v[2].key, "missing") && l.v[2].marker, "missing's delete marker");
	/* clean up by id, the markers included */
	for (int i = 0; i < 3; i++)
		items[i] = (struct s3_delete_item){l.v[i].key, l.v[i].id};
	r = run(st, items, 3, 0);
	all_deleted(r);
	free_outcomes(r);
	versions_of(st, &l);
	T_ASSERT_EQ(l.n, 0);
	s3_store_free(st);
	printf("ok: versioned bucket (%s): versions by id, a delete marker, missing ones\n", how);
}

/* ---------------------------------------------------- Object Lock bucket */

static void locked(const char *bucket, const char *endpoint, const char *how, const char *tag)
{
	struct s3_store *st = open_bucket(bucket, endpoint, tag);
	struct s3_delete_item items[3];
	const char *kept;
	struct outcomes *r;
	struct vers l;

	T_ASSERT_EQ(s3_store_put(st, "config", "precious", 8), 0);
	T_ASSERT_EQ(s3_store_put(st, "other", "o", 1), 0);
	versions_of(st, &l);
	kept = version_of(&l, "config", 0);
	items[0] = (struct s3_delete_item){"config", kept};
	items[1] = (struct s3_delete_item){"other", NULL};
	items[2] = (struct s3_delete_item){"missing", NULL};
	r = run(st, items, 3, 0);
	T_ASSERT(r->o[0].calls == 1 && r->o[0].err == -EACCES, "the locked version: %d %s",
		 r->o[0].err, r->o[0].detail);
	T_ASSERT(strstr(r->o[0].detail, "Object Lock") && strstr(r->o[0].detail, "GOVERNANCE") &&
			 strstr(r->o[0].detail, "until 20") &&
			 strstr(r->o[0].detail, "AccessDenied"),
		 "the refusal says why and until when: %s", r->o[0].detail);
	printf("ok: Object Lock (%s): %s\n", how, r->o[0].detail);
	T_ASSERT(r->o[1].calls == 1 && r->o[1].err == 0, "other: a delete marker");
	T_ASSERT(r->o[2].calls == 1 && r->o[2].err == 0, "missing");
	free_outcomes(r);
	/* the locked versions stay; delete markers (other's, missing's) hold no data and go */
	versions_of(st, &l);
	T_ASSERT_EQ(l.n, 4);
	for (int i = 0; i < l.n; i++) {
		if (!l.v[i].marker)
			continue;
		items[0] = (struct s3_delete_item){l.v[i].key, l.v[i].id};
		r = run(st, items, 1, 0);
		all_deleted(r);
		free_outcomes(r);
	}
	versions_of(st, &l);
	T_ASSERT_EQ(l.n, 2);
	T_ASSERT(!strcmp(version_of(&l, "config", 0), kept), "config's version stays");
	{
		void *got;
		size_t len;

		T_ASSERT_EQ(s3_store_get(st, "config", 64, &got, &len), 0);
		T_ASSERT(len == 8 && !memcmp(got, "precious", 8), "still readable");
		free(got);
	}
	s3_store_free(st);
}

/* ------------------------------------------- a store without DeleteObjects */

#define NSINGLY 70 /* more than are sent at once */

static void singly(const char *dir, const char *ver, const char *lock)
{
	const char *const notimpl[] = {"--no-delete-objects", NULL};
	struct s3_store *direct = s3t_open(&t, NULL, NULL), *st;
	struct s3_delete_item *items;
	struct s3t_proxy px;
	struct outcomes *r;
	char **keys;

	put_n(direct, "singly/%02d", NSINGLY);
	items = items_n("singly/%02d", NSINGLY, &keys);
	s3t_proxy_start(&t, &px, dir, notimpl);
	st = s3t_open(&t, px.endpoint, NULL);
	r = run(st, items, 10, 0);
	all_deleted(r);
	free_outcomes(r);
	r = run(st, items + 10, NSINGLY - 10, 0);
	for (size_t i = 0; i < r->n; i++)
		T_ASSERT(r->o[i].calls == 1 && r->o[i].err == 0, "%s", r->items[i].key);
	free_outcomes(r);
	s3_store_free(st);
	versioned(ver, px.endpoint, "one DELETE per item", "s");
	locked(lock, px.endpoint, "one DELETE per item", "s");
	s3t_proxy_stop(&px);
	T_ASSERT_EQ(listed(direct, "singly/"), 0);
	/* asked once per store (3 stores): then remembered */
	{
		const char *subs[] = {"\"method\": \"POST\"", "?delete=", "\"status\": 501",
				      "notimpl", NULL};

		T_ASSERT_EQ(s3t_proxy_count(&px, subs), 3);
		T_ASSERT_EQ(proxied(&px, "POST", "?delete="), 3);
	}
	T_ASSERT_EQ(proxied(&px, "DELETE", "/singly/"), NSINGLY);
	T_ASSERT(proxied(&px, "DELETE", "versionId=") >= 5, "versions deleted by id");
	free_items(items, keys, NSINGLY);
	s3_store_free(direct);
	printf("ok: NotImplemented: %d single DELETEs, DeleteObjects asked once per store\n",
	       NSINGLY);
}

/* ------------------------------------------------------------ refusals */

static void refused(const char *dir)
{
	const char *const notimpl[] = {"--no-delete-objects", NULL};
	struct s3_delete_item items[] = {{"x", NULL}, {"y", "null"}};
	struct s3_delete_item bad[] = {{"ok", NULL}, {"../up", NULL}};
	struct s3_delete_item badv[] = {{"ok", ""}};
	struct s3t_proxy px;
	struct s3_store *st;
	struct outcomes *r;

	st = s3t_open(&t, NULL, NULL);
	T_ASSERT_EQ(s3_store_put(st, "ok", "k", 1), 0);
	r = run(st, bad, 2, -EINVAL);
	T_ASSERT_EQ(r->calls, 0);
	free_outcomes(r);
	r = run(st, badv, 1, -EINVAL);
	T_ASSERT_EQ(r->calls, 0);
	free_outcomes(r);
	T_ASSERT_EQ(s3_store_delete_objects(st, items, 2, NULL, NULL), -EINVAL);
	r = run(st, items, 0, 0);
	free_outcomes(r);
	{
		uint64_t size;

		T_ASSERT_EQ(s3_store_head(st, "ok", &size), 0);
	}
	T_ASSERT_EQ(s3_store_delete(st, "ok"), 0);
	s3_store_free(st);

	setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
	st = s3t_open(&t, NULL, NULL);
	r = run(st, items, 2, -EACCES);
	T_ASSERT_EQ(r->calls, 0);
	T_ASSERT(strstr(s3_last_error(), "secret key"), "%s", s3_last_error());
	free_outcomes(r);
	s3_store_free(st);
	s3t_proxy_start(&t, &px, dir, notimpl);
	st = s3t_open(&t, px.endpoint, NULL);
	r = run(st, items, 2, -EACCES);
	T_ASSERT_EQ(r->calls, 0);
	T_ASSERT(strstr(s3_last_error(), "secret key"), "%s", s3_last_error());
	free_outcomes(r);
	s3_store_free(st);
	s3t_proxy_stop(&px);
	setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);
	printf("ok: refused as a whole (wrong secret, with and without DeleteObjects): %s\n",
	       s3_last_error());
}

static void logline(int level, const char *msg)
{
	if (level <= S3_LOG_WARN || getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "[s3 %d] %s\n", level, msg);
}

int main(void)
{
	char *dir = t_tmpdir("s3del"), ver[64], lock[64];
	struct s3t_proxy px;
	unsigned int r;

	s3_set_log(logline);
	s3t_init(&t, "delete");
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		t_error("getrandom");
	snprintf(ver, sizeof(ver), "ferry-dver-%08x", r);
	snprintf(lock, sizeof(lock), "ferry-dlock-%08x", r);
	{
		const char *mk[] = {"mkbucket", ver,  "--versioning",	    "--",
				    "mkbucket", lock, "--object-lock-days", "1",
				    NULL};

		admin(mk);
	}
	plain(dir);
	s3t_proxy_start(&t, &px, dir, NULL);
	versioned(ver, px.endpoint, "DeleteObjects", "b");
	locked(lock, px.endpoint, "DeleteObjects", "b");
	s3t_proxy_stop(&px);
	T_ASSERT_EQ(proxied(&px, "DELETE", ""), 0);
	singly(dir, ver, lock);
	refused(dir);
	{
		/* the locked versions go too: s3admin.py bypasses GOVERNANCE retention */
		const char *rm[] = {"rmbucket", ver, "--", "rmbucket", lock, NULL};

		admin(rm);
	}
	t_rmtree(dir);
	free(dir);
	printf("PASS: t_s3_delete\n");
	return 0;
}
