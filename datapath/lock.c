// SPDX-License-Identifier: MIT
/*
 * datapath/lock.c - repository locks (FORMAT.md "locks/<lock-id>").
 *
 * Backups, restores, copies and checks hold a shared lock; forget and prune
 * hold an exclusive one, so a prune never deletes a pack that a running
 * backup has deduplicated against but not yet referenced in its manifest.
 * Object stores have no atomic test-and-set, so a lock is taken by writing
 * it, then listing every lock: if a conflicting one is there, ours is
 * removed again and the caller gets -EBUSY. Two racing takers both see each
 * other and both back off; neither can miss the other.
 *
 * Locks are write-once objects like everything else: a holder refreshes its
 * lock every DP_LOCK_REFRESH seconds by writing a new one and deleting the
 * old. A lock older than DP_LOCK_STALE seconds, or one of this host whose
 * process is gone, is stale: it conflicts with nothing and `ferry unlock`
 * removes it.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "crypt.h"
#include "repo_int.h"
#include "dp_json.h"
#include "s3/store.h"

#define LOCKS_PREFIX "locks/"
#define LOCK_MAX     (16u << 10)

struct dp_lock {
	struct dp_repo *repo;
	struct dp_lockinfo info;
	char key[96];
	pthread_t thread;
	bool thread_started;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	bool stop;
};

/* additional data of a sealed lock: "FRYL" and its id */
static void lock_aad(const char *id, uint8_t aad[4 + DP_ID_LEN])
{
	memcpy(aad, "FRYL", 4);
	dp_unhex(id, aad + 4, DP_ID_LEN);
}

static int lock_write(struct dp_lock *l)
{
	uint8_t aad[4 + DP_ID_LEN], *sealed = NULL;
	char *json = NULL;
	size_t len;
	int ret;

	ret = dp_random_id(l->info.id);
	if (ret)
		return ret;
	l->info.time = dp_now_us() / 1000000;
	snprintf(l->key, sizeof(l->key), LOCKS_PREFIX "%s", l->info.id);
	ret = dp_lock_encode(&l->info, &json);
	if (ret)
		return ret;
	lock_aad(l->info.id, aad);
	ret = dp_seal_alloc(&l->repo->keys, aad, sizeof(aad), json, strlen(json), &sealed, &len);
	free(json);
	if (ret)
		return ret;
	ret = s3_store_put(l->repo->st, l->key, sealed, len);
	free(sealed);
	if (ret)
		return dp_fail(ret, "writing lock %s: %s", l->key, dp_store_detail());
	return 0;
}

static bool lock_is_stale(const struct dp_lockinfo *i, int64_t now)
{
	char host[256];

	if (now - i->time > DP_LOCK_STALE)
		return true;
	/* a lock of this host whose process is gone: stale at once */
	if (!gethostname(host, sizeof(host)) && !strcmp(host, i->hostname) && i->pid > 0 &&
	    kill((pid_t)i->pid, 0) && errno == ESRCH)
		return true;
	return false;
}

struct lock_walk {
	struct dp_repo *repo;
	const char *self; /* our own lock's id, skipped */
	struct dp_lockinfo *v;
	size_t n, cap;
};

static int lock_read(struct dp_repo *repo, const char *key, const char *id,
		     struct dp_lockinfo *info)
{
	uint8_t aad[4 + DP_ID_LEN], *plain = NULL;
	void *buf = NULL;
	size_t len, plen;
	int ret;

	ret = s3_store_get(repo->st, key, LOCK_MAX, &buf, &len);
	if (ret)
		return ret;
	lock_aad(id, aad);
	ret = dp_open_alloc(&repo->keys, aad, sizeof(aad), buf, len, &plain, &plen);
	free(buf);
	if (ret)
		return ret;
	ret = dp_lock_decode((char *)plain, plen, info);
	free(plain);
	if (!ret)
		memcpy(info->id, id, sizeof(info->id));
	return ret;
}

static int lock_list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct lock_walk *w = arg;
	const char *id = key + strlen(LOCKS_PREFIX);
	struct dp_lockinfo info;
	uint8_t bin[DP_ID_LEN];
	int ret;

	(void)size;
	if (dp_unhex(id, bin, DP_ID_LEN) || (w->self && !strcmp(id, w->self)))
		return 0;
	ret = lock_read(w->repo, key, id, &info);
	if (ret == -ENOENT)
		return 0; /* released meanwhile */
	if (ret == -ENOMEM)
		return ret;
	if (ret) {
		/* unreadable: count it as a lock of unknown holder, stale by its age */
		memset(&info, 0, sizeof(info));
		memcpy(info.id, id, sizeof(info.id));
		info.exclusive = true;
		info.time = mtime;
		snprintf(info.hostname, sizeof(info.hostname), "?");
		snprintf(info.operation, sizeof(info.operation), "unreadable lock");
	}
	if (w->n == w->cap) {
		void *p = dp_grow(w->v, &w->cap, w->n + 1, sizeof(*w->v));

		if (!p)
			return -ENOMEM;
		w->v = p;
	}
	w->v[w->n++] = info;
	return 0;
}

static int lock_list(struct dp_repo *repo, const char *self, struct lock_walk *w)
{
	int ret;

	memset(w, 0, sizeof(*w));
	w->repo = repo;
	w->self = self;
	ret = s3_store_list(repo->st, LOCKS_PREFIX, lock_list_one, w);
	if (ret) {
		free(w->v);
		w->v = NULL;
		return dp_fail(ret, "listing the locks of %s: %s", s3_store_url(repo->st),
			       dp_store_detail());
	}
	return 0;
}

static void *lock_refresher(void *arg)
{
	struct dp_lock *l = arg;
	struct timespec ts;

	pthread_mutex_lock(&l->mu);
	for (;;) {
		char old[96];
		int ret;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DP_LOCK_REFRESH;
		while (!l->stop && pthread_cond_timedwait(&l->cond, &l->mu, &ts) != ETIMEDOUT)
			;
		if (l->stop)
			break;
		/* a new lock object first, then the old one goes: never a moment without */
		snprintf(old, sizeof(old), "%s", l->key);
		ret = lock_write(l);
		if (ret) {
			pr_warn("refreshing lock %s failed: %s", old, dp_last_error());
			snprintf(l->key, sizeof(l->key), "%s", old);
			continue;
		}
		s3_store_delete(l->repo->st, old);
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

int dp_lock_acquire(struct dp_repo *repo, bool exclusive, const char *operation,
		    struct dp_lock **out)
{
	struct lock_walk w;
	struct dp_lock *l;
	int64_t now;
	int ret;

	*out = NULL;
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->repo = repo;
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	l->info.exclusive = exclusive;
	l->info.pid = (int64_t)getpid();
	if (gethostname(l->info.hostname, sizeof(l->info.hostname)))
		snprintf(l->info.hostname, sizeof(l->info.hostname), "unknown");
	l->info.hostname[sizeof(l->info.hostname) - 1] = '\0';
	snprintf(l->info.operation, sizeof(l->info.operation), "%s", operation);
	ret = lock_write(l);
	if (ret)
		goto out_free;
	dp_test_point("lock-written");
	ret = lock_list(repo, l->info.id, &w);
	if (ret)
		goto out_delete;
	now = dp_now_us() / 1000000;
	for (size_t i = 0; i < w.n; i++) {
		const struct dp_lockinfo *o = &w.v[i];

		if ((!exclusive && !o->exclusive) || lock_is_stale(o, now))
			continue;
		ret = dp_fail(
			-EBUSY,
			"repository %s is locked %s by %s (pid %lld on %s, %lld s ago); if that process is gone, run 'ferry unlock'",
			s3_store_url(repo->st), o->exclusive ? "exclusively" : "", o->operation,
			(long long)o->pid, o->hostname, (long long)(now - o->time));
		break;
	}
	free(w.v);
	if (ret)
		goto out_delete;
	ret = pthread_create(&l->thread, NULL, lock_refresher, l);
	if (ret) {
		ret = -ret;
		goto out_delete;
	}
	l->thread_started = true;
	*out = l;
	return 0;
out_delete:
	s3_store_delete(repo->st, l->key);
out_free:
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l);
	return ret;
}

void dp_lock_release(struct dp_lock *l)
{
	if (!l)
		return;
	if (l->thread_started) {
		pthread_mutex_lock(&l->mu);
		l->stop = true;
		pthread_cond_broadcast(&l->cond);
		pthread_mutex_unlock(&l->mu);
		pthread_join(l->thread, NULL);
	}
	if (s3_store_delete(l->repo->st, l->key) == -EIO)
		pr_warn("releasing lock %s failed: %s (it goes stale in %d s)", l->key,
			dp_store_detail(), DP_LOCK_STALE);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	free(l);
}

int dp_lock_list(struct dp_repo *repo, struct dp_lockinfo **out, size_t *n)
{
	struct lock_walk w;
	int64_t now = dp_now_us() / 1000000;
	int ret;

	dp_clear_error();
	*out = NULL;
	*n = 0;
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	ret = lock_list(repo, NULL, &w);
	if (ret)
		return ret;
	for (size_t i = 0; i < w.n; i++)
		w.v[i].stale = lock_is_stale(&w.v[i], now);
	*out = w.v;
	*n = w.n;
	return 0;
}

int dp_unlock(struct dp_repo *repo, bool all, size_t *removed)
{
	struct dp_lockinfo *v;
	size_t n;
	char key[96];
	int ret;

	*removed = 0;
	ret = dp_lock_list(repo, &v, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n && !ret; i++) {
		if (!all && !v[i].stale)
			continue;
		snprintf(key, sizeof(key), LOCKS_PREFIX "%s", v[i].id);
		ret = s3_store_delete(repo->st, key);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret)
			ret = dp_fail(ret, "deleting %s: %s", key, dp_store_detail());
		else
			(*removed)++;
	}
	free(v);
	return ret;
}
