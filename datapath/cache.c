// SPDX-License-Identifier: MIT
/*
 * datapath/cache.c - fetching many small objects (indexes, manifest tails)
 * with several requests in flight, through an optional local cache.
 *
 * The cache (dp_repo_set_cache()) holds copies of index objects and of the
 * metadata tails of manifests under <dir>/<repository id>/, named by key and
 * object size. Objects are written once and never change, so a cached copy
 * of the same key and size is the object; its content is verified like any
 * other (index checksums, GCM tags, the manifest checksum), and a copy that
 * fails is dropped and fetched again. Entries of objects the repository no
 * longer lists are removed when it is listed.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "repo_int.h"
#include "s3/store.h"

static int cache_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
		return -ENAMETOOLONG;
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

int dp_repo_set_cache(struct dp_repo *repo, const char *dir)
{
	char path[PATH_MAX];
	int ret;

	free(repo->cache);
	repo->cache = NULL;
	if (!dir)
		return 0;
	if (snprintf(path, sizeof(path), "%s/%s", dir, repo->info.id) >= (int)sizeof(path))
		return dp_fail(-ENAMETOOLONG, "cache directory %s: path too long", dir);
	ret = cache_mkdirs(path);
	if (!ret) {
		char sub[PATH_MAX + 16];

		snprintf(sub, sizeof(sub), "%s/index", path);
		ret = cache_mkdirs(sub);
		snprintf(sub, sizeof(sub), "%s/snapshots", path);
		if (!ret)
			ret = cache_mkdirs(sub);
	}
	if (ret)
		return dp_fail(ret, "cache directory %s: %s", path, strerror(-ret));
	repo->cache = strdup(path);
	return repo->cache ? 0 : -ENOMEM;
}

/* <cache>/<key>@<size>: "index/<id>@123" */
static void cache_path(const struct dp_repo *repo, const struct dp_mget *m, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s@%llu", repo->cache, m->key, (unsigned long long)m->size);
}

static bool cache_read(const struct dp_repo *repo, struct dp_mget *m)
{
	char path[PATH_MAX];
	struct stat sb;
	ssize_t n;
	int fd;

	cache_path(repo, m, path, sizeof(path));
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	if (fstat(fd, &sb) || (uint64_t)sb.st_size != m->len) {
		close(fd);
		unlink(path);
		return false;
	}
	n = pread(fd, m->buf, m->len, 0);
	close(fd);
	if (n != (ssize_t)m->len)
		return false;
	m->ret = (int)m->len;
	m->cached = true;
	return true;
}

static void cache_write(const struct dp_repo *repo, const struct dp_mget *m)
{
	char path[PATH_MAX], tmp[PATH_MAX + 16];
	int fd;

	cache_path(repo, m, path, sizeof(path));
	snprintf(tmp, sizeof(tmp), "%s.tmp%d", path, (int)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (write(fd, m->buf, m->len) != (ssize_t)m->len || rename(tmp, path))
		unlink(tmp);
	close(fd);
}

void dp_cache_drop(const struct dp_repo *repo, const struct dp_mget *m)
{
	char path[PATH_MAX];

	if (!repo->cache)
		return;
	cache_path(repo, m, path, sizeof(path));
	unlink(path);
}

struct mget_wait {
	pthread_mutex_t mu;
	pthread_cond_t cond;
	unsigned int out;
};

struct mget_ctx {
	struct mget_wait *w;
	struct dp_mget *m;
};

static void mget_done(void *arg, int ret, const char *detail)
{
	struct mget_ctx *c = arg;

	c->m->ret = ret;
	if (ret < 0)
		snprintf(c->m->detail, sizeof(c->m->detail), "%s", detail ? detail : "");
	pthread_mutex_lock(&c->w->mu);
	c->w->out--;
	pthread_cond_broadcast(&c->w->cond);
	pthread_mutex_unlock(&c->w->mu);
}

int dp_multiget(struct dp_repo *repo, struct dp_mget *items, size_t n, unsigned int inflight)
{
	struct mget_wait w = {.out = 0};
	struct mget_ctx *ctx;
	int ret = 0;

	if (!n)
		return 0;
	ctx = calloc(n, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cond, NULL);
	for (size_t i = 0; i < n; i++) {
		struct dp_mget *m = &items[i];

		m->cached = false;
		if (repo->cache && cache_read(repo, m))
			continue;
		pthread_mutex_lock(&w.mu);
		while (w.out >= inflight)
			pthread_cond_wait(&w.cond, &w.mu);
		w.out++;
		pthread_mutex_unlock(&w.mu);
		ctx[i].w = &w;
		ctx[i].m = m;
		ret = s3_store_get_range_async(repo->st, m->key, m->off, m->buf, m->len, mget_done,
					       &ctx[i]);
		if (ret) {
			m->ret = ret;
			pthread_mutex_lock(&w.mu);
			w.out--;
			pthread_mutex_unlock(&w.mu);
			ret = 0;
		}
	}
	pthread_mutex_lock(&w.mu);
	while (w.out)
		pthread_cond_wait(&w.cond, &w.mu);
	pthread_mutex_unlock(&w.mu);
	for (size_t i = 0; i < n && repo->cache; i++)
		if (!items[i].cached && items[i].ret == (int)items[i].len)
			cache_write(repo, &items[i]);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cond);
	free(ctx);
	return 0;
}

/* ------------------------------------------------------------ upkeep */

struct cache_keep {
	char **names; /* "key@size", sorted */
	size_t n;
};

static int cache_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void dp_cache_retain(const struct dp_repo *repo, const char *prefix, const struct dp_mget *items,
		     size_t n)
{
	struct cache_keep k = {0};
	char dir[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!repo->cache)
		return;
	k.names = calloc(n ? n : 1, sizeof(*k.names));
	if (!k.names)
		return;
	for (size_t i = 0; i < n; i++) {
		const char *slash = strrchr(items[i].key, '/');

		if (asprintf(&k.names[k.n], "%s@%llu", slash ? slash + 1 : items[i].key,
			     (unsigned long long)items[i].size) >= 0)
			k.n++;
	}
	qsort(k.names, k.n, sizeof(*k.names), cache_cmp);
	snprintf(dir, sizeof(dir), "%s/%s", repo->cache, prefix);
	d = opendir(dir);
	while (d && (de = readdir(d))) {
		const char *name = de->d_name;

		if (name[0] == '.')
			continue;
		if (!bsearch(&name, k.names, k.n, sizeof(*k.names), cache_cmp)) {
			char path[PATH_MAX + 256];

			snprintf(path, sizeof(path), "%s/%s", dir, name);
			unlink(path);
		}
	}
	if (d)
		closedir(d);
	for (size_t i = 0; i < k.n; i++)
		free(k.names[i]);
	free(k.names);
}
