// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_s3_rgw.c - every call of s3/store.h against the real Ceph RGW of
 * tests/run: put/get/range/tail/head, empty and odd keys, listing past 1000
 * objects (continuation tokens), delete and DeleteObjects, multipart with
 * many parts queued out of order from several threads, abort, incomplete
 * uploads, asynchronous ranged reads; and the errors a user meets: a wrong
 * secret, an unknown access key, a missing bucket, an unreachable endpoint.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "s3t.h"

#define MiB (1u << 20)

static struct s3t t;

static void expect_err(int ret, int want, const char *what, const char *needle)
{
	if (ret != want)
		t_fail("%s: got %d (%s), expected %d", what, ret, s3_last_error(), want);
	if (needle && !strstr(s3_last_error(), needle))
		t_fail("%s: message '%s' does not say '%s'", what, s3_last_error(), needle);
	printf("ok: %s: %s\n", what, s3_last_error());
}

static void objects(struct s3_store *st)
{
	char buf[4096], small[10];
	unsigned char *data = malloc(MiB);
	void *got;
	size_t len;
	uint64_t size;
	ssize_t n;
	const char *odd = "dir/ünïcødé +&=%?#~ key.bin";

	t_fill_random(data, MiB, 1);
	T_ASSERT_EQ(s3_store_mkroot(st), 0);
	T_ASSERT_EQ(s3_store_put(st, "config", data, 1000), 0);
	T_ASSERT_EQ(s3_store_get(st, "config", 4096, &got, &len), 0);
	T_ASSERT(len == 1000 && !memcmp(got, data, 1000), "get returns what put wrote");
	free(got);
	expect_err(s3_store_get(st, "config", 999, &got, &len), -EFBIG, "get over max", NULL);
	T_ASSERT_EQ(s3_store_head(st, "config", &size), 0);
	T_ASSERT_EQ(size, 1000);

	/* ranges: inside, across the end, at the end, past it */
	n = s3_store_get_range(st, "config", 100, buf, 50);
	T_ASSERT(n == 50 && !memcmp(buf, data + 100, 50), "range inside");
	n = s3_store_get_range(st, "config", 990, buf, 50);
	T_ASSERT(n == 10 && !memcmp(buf, data + 990, 10), "range across the end: %zd", n);
	T_ASSERT_EQ(s3_store_get_range(st, "config", 1000, buf, 10), 0);
	T_ASSERT_EQ(s3_store_get_range(st, "config", 5000, buf, 10), 0);
	/* tails: shorter and longer than the object */
	n = s3_store_get_tail(st, "config", small, sizeof(small), &size);
	T_ASSERT(n == 10 && size == 1000 && !memcmp(small, data + 990, 10), "tail: %zd", n);
	n = s3_store_get_tail(st, "config", buf, sizeof(buf), &size);
	T_ASSERT(n == 1000 && size == 1000 && !memcmp(buf, data, 1000), "long tail: %zd", n);

	/* an empty object */
	T_ASSERT_EQ(s3_store_put(st, "empty", "", 0), 0);
	T_ASSERT_EQ(s3_store_get(st, "empty", 10, &got, &len), 0);
	T_ASSERT_EQ(len, 0);
	free(got);
	T_ASSERT_EQ(s3_store_head(st, "empty", &size), 0);
	T_ASSERT_EQ(size, 0);
	size = 77;
	T_ASSERT_EQ(s3_store_get_tail(st, "empty", buf, 10, &size), 0);
	T_ASSERT_EQ(size, 0);
	T_ASSERT_EQ(s3_store_get_range(st, "empty", 0, buf, 10), 0);

	/* a key that needs every kind of encoding */
	T_ASSERT_EQ(s3_store_put(st, odd, data, 4096), 0);
	T_ASSERT_EQ(s3_store_get_range(st, odd, 4000, buf, 96), 96);
	T_ASSERT(!memcmp(buf, data + 4000, 96), "odd key content");

	/* a whole MiB, then missing things */
	T_ASSERT_EQ(s3_store_put(st, "data/00/big", data, MiB), 0);
	T_ASSERT_EQ(s3_store_get(st, "data/00/big", MiB, &got, &len), 0);
	T_ASSERT(len == MiB && !memcmp(got, data, MiB), "1 MiB round trip");
	free(got);
	expect_err(s3_store_get(st, "nope", 10, &got, &len), -ENOENT, "get of a missing key",
		   "no such object");
	expect_err(s3_store_head(st, "nope", &size), -ENOENT, "head of a missing key", NULL);
	expect_err(s3_store_get_range(st, "nope", 0, buf, 10), -ENOENT, "range of a missing key",
		   NULL);
	T_ASSERT_EQ(s3_store_delete(st, "empty"), 0);
	T_ASSERT_EQ(s3_store_delete(st, "empty"), 0); /* S3: deleting nothing succeeds */
	expect_err(s3_store_head(st, "empty", &size), -ENOENT, "head after delete", NULL);
	free(data);
}

/* ---------------------------------------------------------------- listing */

#define NLIST 1100

struct putter {
	struct s3_store *st;
	atomic_int next;
};

static void *put_many(void *arg)
{
	struct putter *p = arg;
	char key[64];
	int i;

	while ((i = atomic_fetch_add(&p->next, 1)) < NLIST) {
		snprintf(key, sizeof(key), "many/%04d", i);
		if (s3_store_put(p->st, key, key, strlen(key)))
			t_fail("put %s: %s", key, s3_last_error());
	}
	return NULL;
}

struct lister {
	unsigned char seen[NLIST];
	int n, other;
	uint64_t bytes;
};

static int list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct lister *l = arg;
	int i;

	if (strncmp(key, "many/", 5) || sscanf(key + 5, "%d", &i) != 1 || i < 0 || i >= NLIST) {
		l->other++;
		return 0;
	}
	T_ASSERT(!l->seen[i], "%s listed twice", key);
	T_ASSERT(mtime > 1600000000, "mtime %lld", (long long)mtime);
	l->seen[i] = 1;
	l->n++;
	l->bytes += size;
	return 0;
}

static int stop_list(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	(void)key;
	(void)size;
	(void)mtime;
	return ++*(int *)arg == 3 ? 7 : 0;
}

static void listing(struct s3_store *st)
{
	struct putter p = {.st = st};
	struct lister l;
	pthread_t th[6];
	char **keys = calloc(NLIST, sizeof(*keys));
	int stops = 0;
	double t0 = s3t_now();

	memset(&l, 0, sizeof(l));
	for (int i = 0; i < 6; i++)
		pthread_create(&th[i], NULL, put_many, &p);
	for (int i = 0; i < 6; i++)
		pthread_join(th[i], NULL);
	printf("ok: %d puts from 6 threads in %.1f s\n", NLIST, s3t_now() - t0);
	T_ASSERT_EQ(s3_store_list(st, "many/", list_one, &l), 0);
	T_ASSERT_EQ(l.n, NLIST);
	T_ASSERT_EQ(l.other, 0);
	T_ASSERT_EQ(l.bytes, (uint64_t)NLIST * 9);
	memset(&l, 0, sizeof(l));
	T_ASSERT_EQ(s3_store_list(st, "", list_one, &l), 0);
	T_ASSERT_EQ(l.n, NLIST);
	T_ASSERT(l.other >= 3, "the other objects: %d", l.other);
	memset(&l, 0, sizeof(l));
	T_ASSERT_EQ(s3_store_list(st, "nothing-here/", list_one, &l), 0);
	T_ASSERT_EQ(l.n + l.other, 0);
	T_ASSERT_EQ(s3_store_list(st, "many/", stop_list, &stops), 7);

	for (int i = 0; i < NLIST; i++) {
		keys[i] = malloc(32);
		snprintf(keys[i], 32, "many/%04d", i);
	}
	T_ASSERT_EQ(s3_store_delete_many(st, (const char *const *)keys, NLIST), 0);
	/* again: missing keys are fine */
	T_ASSERT_EQ(s3_store_delete_many(st, (const char *const *)keys, 10), 0);
	memset(&l, 0, sizeof(l));
	T_ASSERT_EQ(s3_store_list(st, "many/", list_one, &l), 0);
	T_ASSERT_EQ(l.n, 0);
	for (int i = 0; i < NLIST; i++)
		free(keys[i]);
	free(keys);
	printf("ok: listing of %d objects, DeleteObjects in batches\n", NLIST);
}

/* -------------------------------------------------------------- multipart */

#define PART  (5 * MiB)
#define NPART 13

struct parts {
	atomic_int done, failed;
};

static void part_done(void *arg, int ret, const char *detail)
{
	struct parts *p = arg;

	if (ret) {
		fprintf(stderr, "part failed: %d %s\n", ret, detail);
		atomic_fetch_add(&p->failed, 1);
	}
	atomic_fetch_add(&p->done, 1);
}

static void range_done(void *arg, int ret, const char *detail)
{
	struct parts *p = arg;

	if (ret != 65536) {
		fprintf(stderr, "range read: %d %s\n", ret, detail);
		atomic_fetch_add(&p->failed, 1);
	}
	atomic_fetch_add(&p->done, 1);
}

struct feeder {
	struct s3_upload *up;
	unsigned char *data;
	size_t total;
	struct parts *p;
	int parity;
	pthread_mutex_t *lock;
};

/* queues the parts of one parity, last first (an upload is used by one thread at a time) */
static void *feed(void *arg)
{
	struct feeder *f = arg;

	for (int num = NPART; num >= 1; num--) {
		size_t off = (size_t)(num - 1) * PART,
		       len = f->total - off < PART ? f->total - off : PART;

		if (num % 2 != f->parity)
			continue;
		pthread_mutex_lock(f->lock);
		if (s3_upload_part(f->up, (unsigned int)num, f->data + off, len, part_done, f->p))
			t_fail("queue part %d", num);
		pthread_mutex_unlock(f->lock);
	}
	return NULL;
}

static void multipart(struct s3_store *st)
{
	size_t total = (size_t)(NPART - 1) * PART + 12345;
	unsigned char *data = malloc(total), *back = malloc(3 * MiB);
	pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
	struct parts p = {0};
	struct feeder f[2];
	struct s3_upload *up;
	pthread_t th[2];
	uint64_t size;
	ssize_t n;
	double t0 = s3t_now();

	t_fill_random(data, total, 2);
	T_ASSERT_EQ(s3_upload_new(st, "data/aa/pack", PART, &up), 0);
	for (int i = 0; i < 2; i++) {
		f[i] = (struct feeder){up, data, total, &p, i, &lock};
		pthread_create(&th[i], NULL, feed, &f[i]);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	T_ASSERT_EQ(s3_upload_complete(up), 0);
	T_ASSERT_EQ(atomic_load(&p.done), NPART);
	T_ASSERT_EQ(atomic_load(&p.failed), 0);
	printf("ok: %d parts, %.1f MiB in %.2f s\n", NPART, total / 1048576.0, s3t_now() - t0);
	T_ASSERT_EQ(s3_store_head(st, "data/aa/pack", &size), 0);
	T_ASSERT_EQ(size, total);
	/* a range across a part boundary and the tail */
	n = s3_store_get_range(st, "data/aa/pack", 3 * PART - MiB, back, 3 * MiB);
	T_ASSERT(n == 3 * MiB && !memcmp(back, data + 3 * PART - MiB, 3 * MiB), "across parts");
	n = s3_store_get_tail(st, "data/aa/pack", back, 20000, &size);
	T_ASSERT(n == 20000 && size == total && !memcmp(back, data + total - 20000, 20000),
		 "tail of the pack");

	/* asynchronous ranged reads: many at once */
	{
		struct parts r = {0};
		unsigned char *bufs = malloc(64 * 65536);

		for (int i = 0; i < 64; i++)
			T_ASSERT_EQ(s3_store_get_range_async(st, "data/aa/pack",
							     (uint64_t)i * 900001, bufs + i * 65536,
							     65536, range_done, &r),
				    0);
		while (atomic_load(&r.done) < 64)
			usleep(1000);
		T_ASSERT_EQ(atomic_load(&r.failed), 0);
		for (int i = 0; i < 64; i++)
			T_ASSERT(!memcmp(bufs + i * 65536, data + (size_t)i * 900001, 65536),
				 "async range %d", i);
		free(bufs);
	}

	/* abort: nothing appears */
	memset(&p, 0, sizeof(p));
	T_ASSERT_EQ(s3_upload_new(st, "data/aa/aborted", PART, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, data, PART, part_done, &p), 0);
	T_ASSERT_EQ(s3_upload_part(up, 2, data + PART, 100, part_done, &p), 0);
	/* a part is queued once per process */
	T_ASSERT_EQ(s3_upload_part(up, 2, data + PART, 100, part_done, &p), -EINVAL);
	s3_upload_abort(up);
	T_ASSERT_EQ(atomic_load(&p.done), 2);
	expect_err(s3_store_head(st, "data/aa/aborted", &size), -ENOENT, "head after abort", NULL);

	/* a gap: refused, and aborted */
	T_ASSERT_EQ(s3_upload_new(st, "data/aa/gap", PART, &up), 0);
	T_ASSERT_EQ(s3_upload_part(up, 1, data, PART, part_done, &p), 0);
	T_ASSERT_EQ(s3_upload_part(up, 3, data, 100, part_done, &p), 0);
	expect_err(s3_upload_complete(up), -EINVAL, "complete with a gap", "part 2 is missing");
	expect_err(s3_store_head(st, "data/aa/gap", &size), -ENOENT, "head after a failed complete",
		   NULL);
	/* parts too small for S3 */
	expect_err(s3_upload_new(st, "data/aa/small", MiB, &up), -EINVAL, "1 MiB parts", "5 MiB");
	free(data);
	free(back);
}

/* ----------------------------------------------------------------- errors */

static void errors(void)
{
	struct s3_store_opts o = {.sz = sizeof(o), .timeout_ms = 20000};
	struct s3_store *st;
	char url[256];
	double t0;
	int ret;

	setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret", 1);
	st = s3t_open(&t, NULL, &o);
	expect_err(s3_store_mkroot(st), -EACCES, "wrong secret", "secret key");
	expect_err(s3_store_put(st, "x", "x", 1), -EACCES, "put with a wrong secret", "secret key");
	s3_store_free(st);

	setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY0000000", 1);
	st = s3t_open(&t, NULL, &o);
	expect_err(s3_store_mkroot(st), -EACCES, "unknown access key", "NOSUCHKEY0000000");
	s3_store_free(st);
	setenv("AWS_ACCESS_KEY_ID", t.ak, 1);
	setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);

	snprintf(url, sizeof(url), "s3://no-such-bucket-%d/x", (int)getpid());
	o.endpoint = t.endpoint;
	T_ASSERT_EQ(s3_store_open(url, &o, &st), 0);
	expect_err(s3_store_mkroot(st), -ENOENT, "missing bucket", "does not exist");
	expect_err(s3_store_put(st, "k", "x", 1), -ENOENT, "put into a missing bucket",
		   "does not exist");
	s3_store_free(st);

	/* nothing listens on port 1 of loopback */
	t0 = s3t_now();
	st = s3t_open(&t, "http://127.0.0.1:1", &o);
	expect_err(s3_store_mkroot(st), -ECONNREFUSED, "unreachable endpoint", "cannot connect");
	T_ASSERT(s3t_now() - t0 < 5, "a refused connection fails fast (%.1f s)", s3t_now() - t0);
	s3_store_free(st);

	/* no credentials at all */
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
	ret = s3_store_open(t.url, &o, &st);
	expect_err(ret, -EACCES, "no credentials", "AWS_ACCESS_KEY_ID");
	setenv("AWS_ACCESS_KEY_ID", t.ak, 1);
	ret = s3_store_open(t.url, &o, &st);
	expect_err(ret, -EINVAL, "half the credentials", "AWS_SECRET_ACCESS_KEY");
	setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
}

/* credentials and region from a profile in shared files */
static void profile(void)
{
	char *dir = t_tmpdir("s3prof"), path[512], cfg[512];
	struct s3_store *st;
	FILE *f;

	snprintf(path, sizeof(path), "%s/credentials", dir);
	snprintf(cfg, sizeof(cfg), "%s/config", dir);
	f = fopen(path, "w");
	fprintf(f,
		"[default]\naws_access_key_id = WRONG\naws_secret_access_key = WRONG\n\n"
		"# the one in use\n[ferry]\naws_access_key_id = %s\naws_secret_access_key=%s\n",
		t.ak, t.sk);
	fclose(f);
	f = fopen(cfg, "w");
	fprintf(f, "[profile ferry]\nregion = %s\ns3 =\n  addressing_style = path\n", t.region);
	fclose(f);
	unsetenv("AWS_ACCESS_KEY_ID");
	unsetenv("AWS_SECRET_ACCESS_KEY");
	unsetenv("AWS_REGION");
	setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
	setenv("AWS_CONFIG_FILE", cfg, 1);
	setenv("AWS_PROFILE", "ferry", 1);
	setenv("AWS_ENDPOINT_URL", t.endpoint, 1);
	T_ASSERT_EQ(s3_store_open(t.url, NULL, &st), 0);
	T_ASSERT_EQ(s3_store_put(st, "from-profile", "p", 1), 0);
	s3_store_free(st);
	setenv("AWS_PROFILE", "default", 1);
	T_ASSERT_EQ(s3_store_open(t.url, NULL, &st), 0);
	expect_err(s3_store_put(st, "from-profile", "p", 1), -EACCES, "the wrong profile", NULL);
	s3_store_free(st);
	unsetenv("AWS_PROFILE");
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_SHARED_CREDENTIALS_FILE");
	unsetenv("AWS_CONFIG_FILE");
	setenv("AWS_ACCESS_KEY_ID", t.ak, 1);
	setenv("AWS_SECRET_ACCESS_KEY", t.sk, 1);
	setenv("AWS_REGION", t.region, 1);
	t_rmtree(dir);
	free(dir);
	printf("ok: credentials from a profile\n");
}

static void logline(int level, const char *msg)
{
	if (level <= S3_LOG_WARN || getenv("FERRY_TEST_DEBUG"))
		fprintf(stderr, "[s3 %d] %s\n", level, msg);
}

int main(void)
{
	struct s3_store *st;

	s3_set_log(logline);
	s3t_init(&t, "rgw");
	st = s3t_open(&t, NULL, NULL);
	T_ASSERT(!s3_store_is_local(st), "s3:// is not local");
	objects(st);
	listing(st);
	multipart(st);
	s3_store_free(st);
	errors();
	profile();
	printf("PASS: t_s3_rgw\n");
	return 0;
}
