// SPDX-License-Identifier: MIT
/*
 * bench/scen_store.c - put and get: object-store throughput through
 * s3/store.h alone, with generated data, on the store --repo names (file://
 * or s3://, through the same calls; bench works in a fresh prefix of its own).
 *
 *   put  --size bytes as objects of --object-size (default 64 MiB) on
 *        --concurrency threads (default 8). An object larger than --part-size
 *        (default 16 MiB) is a multipart upload of such parts, sent one after
 *        the other by its thread: --concurrency requests are in flight. The
 *        latency of a request is from queueing a part (or starting a PUT) to
 *        its completion; CompleteMultipartUpload counts in the time, not in
 *        the latencies.
 *   get  uploads the same objects first (not timed), then reads them back in
 *        ranged GETs of --part-size on --concurrency threads and checks every
 *        byte against what was written.
 *
 * The data comes from a working set of at most BENCH_WORKSET_MAX bytes,
 * generated before the clock starts; objects cycle over it.
 */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "control/cli/cli.h"
#include "s3/store.h"

struct st_run {
	struct bench_stage *st;
	struct s3_store *s;
	const char *prefix; /* "put" or "get" */
	const uint8_t *ws;
	uint64_t ws_parts;		    /* parts in the working set */
	uint64_t part, objsize, nobjs, ppo; /* ppo: parts per object */
	bool timed;
	_Atomic uint64_t objects, stored;
};

struct st_wait {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool done;
	int ret;
	char detail[200];
};

static void st_part_done(void *arg, int ret, const char *detail)
{
	struct st_wait *w = arg;

	pthread_mutex_lock(&w->lock);
	w->ret = ret;
	snprintf(w->detail, sizeof(w->detail), "%s", detail ? detail : "");
	w->done = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
}

int bench_store_open(struct bench_stage *st, const char *url, struct s3_store **out)
{
	struct ctl_common *c = st->o->common;
	int ret;

	ret = s3_store_open(url, &c->s3, out);
	if (ret)
		return bench_stage_fail(st, ret, "cannot open %s: %s", url, s3_last_error());
	ret = s3_store_mkroot(*out);
	if (ret) {
		bench_stage_fail(st, ret, "cannot create %s: %s", url, s3_last_error());
		s3_store_free(*out);
		*out = NULL;
	}
	return ret;
}

struct clean_keys {
	char **v;
	size_t n, cap;
};

static int clean_collect(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct clean_keys *k = arg;

	(void)size;
	(void)mtime;
	if (k->n == k->cap) {
		size_t cap = k->cap ? k->cap * 2 : 256;
		char **v = realloc(k->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		k->v = v;
		k->cap = cap;
	}
	k->v[k->n] = strdup(key);
	if (!k->v[k->n])
		return -ENOMEM;
	k->n++;
	return 0;
}

static int clean_rmdir(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP && rmdir(path))
		ctl_log(CTL_LOG_WARN, "bench: cannot remove %s: %s", path, strerror(errno));
	return 0;
}

long bench_store_clean(struct s3_store *s)
{
	struct clean_keys k = {0};
	const char *url;
	long deleted = 0;
	int ret;

	if (!s)
		return 0;
	ret = s3_store_list(s, "", clean_collect, &k);
	for (size_t i = 0; i < k.n; i++) {
		int r = s3_store_delete(s, k.v[i]);

		if (r && r != -ENOENT) {
			ctl_log(CTL_LOG_WARN, "bench: cannot delete %s: %s", k.v[i],
				s3_last_error());
			if (!ret)
				ret = r;
		} else {
			deleted++;
		}
	}
	for (size_t i = 0; i < k.n; i++)
		free(k.v[i]);
	free(k.v);
	/* file://: the directories bench made, bottom up; only empty ones go */
	url = s3_store_url(s);
	if (s3_store_is_local(s) && !ret)
		nftw(!strncmp(url, "file://", 7) ? url + 7 : url, clean_rmdir, 16,
		     FTW_DEPTH | FTW_PHYS);
	return ret ? ret : deleted;
}

static uint64_t st_objlen(const struct st_run *r, uint64_t j)
{
	uint64_t size = r->st->o->size, off = (j % r->nobjs) * r->objsize;

	return size - off < r->objsize ? size - off : r->objsize;
}

/* The data of part @p of object @j (a part-aligned slice of the working set). */
static const uint8_t *st_data(const struct st_run *r, uint64_t j, uint64_t p)
{
	return r->ws + ((j * r->ppo + p) % r->ws_parts) * r->part;
}

static int st_put_one(struct st_run *r, uint64_t j, struct st_wait *w)
{
	struct bench_stage *st = r->st;
	uint64_t len = st_objlen(r, j), p;
	struct s3_upload *up = NULL;
	char key[64];
	double t0;
	int ret;

	snprintf(key, sizeof(key), "%s/%010llu", r->prefix, (unsigned long long)j);
	if (len <= r->part) {
		t0 = bench_now();
		ret = s3_store_put(r->s, key, st_data(r, j, 0), (size_t)len);
		if (ret)
			return bench_stage_fail(st, ret, "PUT %s: %s", key, s3_last_error());
		if (r->timed)
			bench_lat_add(&st->lat, bench_now() - t0);
		st->progress += len;
		r->stored += len;
		r->objects++;
		return 0;
	}
	ret = s3_upload_new(r->s, key, (size_t)r->part, &up);
	if (ret)
		return bench_stage_fail(st, ret, "upload %s: %s", key, s3_last_error());
	for (p = 0; p * r->part < len; p++) {
		uint64_t left = len - p * r->part;
		size_t n = (size_t)(left < r->part ? left : r->part);

		if (st->failed || ctl_interrupted()) {
			ret = -ECANCELED;
			goto out_abort;
		}
		w->done = false;
		t0 = bench_now();
		ret = s3_upload_part(up, (unsigned int)(p + 1), st_data(r, j, p), n, st_part_done,
				     w);
		if (ret) {
			bench_stage_fail(st, ret, "part %llu of %s: %s", (unsigned long long)p + 1,
					 key, strerror(-ret));
			goto out_abort;
		}
		pthread_mutex_lock(&w->lock);
		while (!w->done)
			pthread_cond_wait(&w->cond, &w->lock);
		pthread_mutex_unlock(&w->lock);
		if (w->ret < 0) {
			ret = bench_stage_fail(st, w->ret, "part %llu of %s: %s",
					       (unsigned long long)p + 1, key, w->detail);
			goto out_abort;
		}
		if (r->timed)
			bench_lat_add(&st->lat, bench_now() - t0);
		st->progress += n;
		r->stored += n;
	}
	ret = s3_upload_complete(up);
	if (ret)
		return bench_stage_fail(st, ret, "complete %s: %s", key, s3_last_error());
	r->objects++;
	return 0;
out_abort:
	s3_upload_abort(up);
	return ret;
}

static void *st_put_worker(void *arg)
{
	struct st_run *r = arg;
	struct st_wait w = {.ret = 0};
	uint64_t j;

	pthread_mutex_init(&w.lock, NULL);
	pthread_cond_init(&w.cond, NULL);
	while (bench_stage_next_unit(r->st, r->nobjs, &j))
		if (st_put_one(r, j, &w))
			break;
	pthread_cond_destroy(&w.cond);
	pthread_mutex_destroy(&w.lock);
	return NULL;
}

static void *st_get_worker(void *arg)
{
	struct st_run *r = arg;
	struct bench_stage *st = r->st;
	uint64_t nunits = r->nobjs * r->ppo, u;
	uint8_t *buf = malloc((size_t)r->part);
	char key[64];

	if (!buf) {
		bench_stage_fail(st, -ENOMEM, "out of memory");
		return NULL;
	}
	while (bench_stage_next_unit(st, nunits, &u)) {
		uint64_t q = u % nunits, j = q / r->ppo, p = q % r->ppo;
		uint64_t len = st_objlen(r, j), off = p * r->part;
		size_t n;
		ssize_t got;
		double t0;

		if (off >= len) /* the last object is shorter */
			continue;
		n = len - off < r->part ? (size_t)(len - off) : (size_t)r->part;
		snprintf(key, sizeof(key), "%s/%010llu", r->prefix, (unsigned long long)j);
		t0 = bench_now();
		got = s3_store_get_range(r->s, key, off, buf, n);
		if (got < 0) {
			bench_stage_fail(st, (int)got, "GET %s bytes %llu-%llu: %s", key,
					 (unsigned long long)off, (unsigned long long)(off + n - 1),
					 s3_last_error());
			break;
		}
		bench_lat_add(&st->lat, bench_now() - t0);
		if ((size_t)got != n || memcmp(buf, st_data(r, j, p), n)) {
			bench_stage_fail(
				st, -EUCLEAN,
				"GET %s bytes %llu-%llu: %zd bytes came back, not the %zu written",
				key, (unsigned long long)off, (unsigned long long)(off + n - 1),
				got, n);
			break;
		}
		st->progress += n;
		r->stored += n;
		r->objects++;
	}
	free(buf);
	return NULL;
}

/* The objects of put and get: sizes, the working set. */
static int st_setup(struct st_run *r, struct bench_stage *st, uint8_t **ws)
{
	const struct bench_opts *o = st->o;
	uint64_t ws_len;
	struct bench_gen *g;

	r->st = st;
	r->part = o->part_size;
	r->objsize = o->object_size;
	r->nobjs = (o->size + r->objsize - 1) / r->objsize;
	r->ppo = (r->objsize + r->part - 1) / r->part;
	if (!r->nobjs)
		return bench_stage_fail(st, -EINVAL, "--size is 0");
	ws_len = o->size < BENCH_WORKSET_MAX ? o->size : BENCH_WORKSET_MAX;
	ws_len = (ws_len + r->part - 1) / r->part * r->part;
	r->ws_parts = ws_len / r->part;
	g = malloc(sizeof(*g));
	*ws = malloc((size_t)ws_len);
	if (!g || !*ws) {
		free(g);
		return bench_stage_fail(st, -ENOMEM, "out of memory for %llu bytes of data",
					(unsigned long long)ws_len);
	}
	bench_gen_init(g, o->data, o->seed);
	bench_gen_fill(g, 0, *ws, (size_t)ws_len);
	free(g);
	r->ws = *ws;
	return 0;
}

static unsigned int st_concurrency(const struct bench_opts *o)
{
	return o->concurrency ? o->concurrency : 8;
}

static void st_detail(struct bench_stage *st, const struct st_run *r)
{
	cJSON_AddNumberToObject(st->detail, "concurrency", st_concurrency(st->o));
	cJSON_AddNumberToObject(st->detail, "object_size", (double)r->objsize);
	cJSON_AddNumberToObject(st->detail, "part_size", (double)r->part);
	cJSON_AddStringToObject(st->detail, "store", s3_store_is_local(r->s) ? "file" : "s3");
}

static void st_finish(struct bench_stage *st, struct st_run *r)
{
	long n;

	if (st->o->keep || !r->s)
		return;
	n = bench_store_clean(r->s);
	if (n < 0)
		bench_stage_fail(st, (int)n, "cleanup of %s failed", s3_store_url(r->s));
	else
		st->objects_deleted += n;
}

int bench_scen_put(struct bench_stage *st, const char *url)
{
	struct st_run r = {.prefix = "put", .timed = true};
	uint8_t *ws = NULL;
	int ret;

	ret = st_setup(&r, st, &ws);
	if (ret)
		goto out;
	ret = bench_store_open(st, url, &r.s);
	if (ret)
		goto out;
	st->has_lat = true;
	bench_stage_begin(st);
	ret = bench_workers_run(st, st_concurrency(st->o), st_put_worker, &r);
	bench_stage_end(st, st->progress);
	st->bytes_in = st->progress;
	st->bytes_stored = r.stored;
	st->objects = r.objects;
	st_detail(st, &r);
	if (!ret)
		ret = st->err;
	st_finish(st, &r);
out:
	s3_store_free(r.s);
	free(ws);
	return ret ? ret : st->err;
}

int bench_scen_get(struct bench_stage *st, const char *url)
{
	struct st_run r = {.prefix = "get", .timed = false};
	struct bench_opts setup_opts;
	struct bench_stage setup;
	uint8_t *ws = NULL;
	double t0;
	int ret;

	ret = st_setup(&r, st, &ws);
	if (ret)
		goto out;
	ret = bench_store_open(st, url, &r.s);
	if (ret)
		goto out;
	/* the objects to read, written once (--duration does not apply) */
	setup_opts = *st->o;
	setup_opts.duration = 0;
	ret = bench_stage_init(&setup, "get-setup", &setup_opts);
	if (ret) {
		bench_stage_fail(st, ret, "out of memory");
		goto out_clean;
	}
	t0 = bench_now();
	r.st = &setup;
	bench_stage_begin(&setup);
	ret = bench_workers_run(&setup, st_concurrency(st->o), st_put_worker, &r);
	if (!ret && setup.err)
		ret = setup.err;
	if (ret)
		bench_stage_fail(st, ret, "writing the objects to read: %s", setup.error);
	bench_stage_fini(&setup);
	if (ret)
		goto out_clean;
	cJSON_AddNumberToObject(st->detail, "setup_seconds", bench_now() - t0);
	r.st = st;
	r.objects = 0;
	r.stored = 0;
	r.timed = true;
	st->has_lat = true;
	bench_stage_begin(st);
	ret = bench_workers_run(st, st_concurrency(st->o), st_get_worker, &r);
	bench_stage_end(st, st->progress);
	st->bytes_in = st->progress;
	st->bytes_stored = r.stored;
	st->objects = r.objects;
	st_detail(st, &r);
	cJSON_AddBoolToObject(st->detail, "verified", !st->err);
	if (!ret)
		ret = st->err;
out_clean:
	st_finish(st, &r);
out:
	s3_store_free(r.s);
	free(ws);
	return ret ? ret : st->err;
}
