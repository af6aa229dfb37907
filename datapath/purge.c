// SPDX-License-Identifier: MIT
/*
 * datapath/purge.c - deleting objects for good: forget's manifests and
 * prune's packs and indexes, in batches (s3_store_delete_objects(): up to
 * 1000 keys a DeleteObjects request on s3://).
 *
 * On a versioned bucket (an Object Lock bucket always is) a plain delete
 * only adds a delete marker and the data keeps its space, so every version
 * goes too:
 *   1. the current objects are deleted: each key gets a delete marker and
 *      disappears from listings at once, even where a version stays;
 *   2. the versions under the keys' common prefix are listed once (not once
 *      per key), and those of the keys deleted in 1 are kept; where the
 *      prefix holds over 1000 times as many objects as there are keys (a few
 *      packs pruned from a large repository), each key's versions are listed
 *      instead, which is then fewer requests (a listing page is 1000);
 *   3. those versions are deleted; a version Object Lock keeps is counted
 *      with its size and retain-until date (struct dp_purge);
 *   4. the delete markers go last, and only for keys with no version left:
 *      while Object Lock keeps one, the marker keeps it hidden.
 * A key whose step 1 failed keeps all its versions. Every failure of one key
 * is logged with the store's detail and does not stop the others.
 */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "chunkidx.h"
#include "repo_int.h"
#include "s3/store.h"

#define PURGE_WARN_MAX 20 /* failures logged one by one; the rest are counted */

/* One version of a key being purged (step 2). */
struct purge_version {
	char *id;
	uint64_t size;
	bool marker;
};

struct purge_obj {
	const char *key;
	bool gone;	   /* its current object is deleted, or was not there */
	bool kept;	   /* a version of it stays (Object Lock, or a failure) */
	size_t vfirst, vn; /* its versions in purge.v */
};

struct purge {
	struct dp_repo *repo;
	struct purge_obj *o;
	size_t n;
	struct dp_chunkidx *byid; /* an object's id -> its number in @o (loc.offset) */
	struct purge_version *v;
	size_t nv, vcap;
	struct dp_purge *p;
	const char *point;
	uint64_t failed;      /* keys or versions that could not be deleted */
	struct dp_err *first; /* the first of them, if the caller has none yet */
};

/*
 * The id a key ends with (snapshots/<id>, index/<id>, data/xx/<id>), or for
 * a Restore's log (logs/<record id>.<restore id>) the SHA-256 of its name.
 */
static int purge_key_id(const char *key, uint8_t id[DP_ID_LEN])
{
	const char *name = strrchr(key, '/');

	name = name ? name + 1 : key;
	if (!dp_unhex(name, id, DP_ID_LEN))
		return 0;
	if (strlen(name) == 4 * DP_ID_LEN + 1 && name[2 * DP_ID_LEN] == '.')
		return dp_sha256(name, strlen(name), id) ? -EINVAL : 0;
	return -EINVAL;
}

/* The object @key names in @pg, or NULL. */
static struct purge_obj *purge_find(struct purge *pg, const char *key)
{
	uint8_t id[DP_ID_LEN];
	struct dp_loc loc;

	if (purge_key_id(key, id) || !dp_chunkidx_lookup(pg->byid, id, &loc))
		return NULL;
	assert(loc.offset < pg->n);
	return strcmp(pg->o[loc.offset].key, key) ? NULL : &pg->o[loc.offset];
}

static void purge_failed(struct purge *pg, const char *key, const char *version, int err,
			 const char *detail)
{
	char msg[512];

	snprintf(msg, sizeof(msg), "deleting %s%s%s: %s", key, version ? " version " : "",
		 version ? version : "", detail && detail[0] ? detail : strerror(-err));
	if (!pg->first->code)
		dp_err_set(pg->first, err, "%s", msg);
	if (++pg->failed <= PURGE_WARN_MAX)
		pr_warn("%s", msg);
}

/* "... retention until 2026-12-06T22:58:05Z ..." in an Object Lock refusal: that time, or 0. */
static int64_t purge_until(const char *detail)
{
	const char *s = detail ? strstr(detail, "until ") : NULL;
	struct tm tm = {0};

	if (!s || sscanf(s, "until %4d-%2d-%2dT%2d:%2d:%2dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
			 &tm.tm_hour, &tm.tm_min, &tm.tm_sec) != 6)
		return 0;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

/* Step 1: the current objects. */
static void purge_current_done(void *arg, const struct s3_delete_item *item, int err,
			       const char *detail)
{
	struct purge *pg = arg;
	struct purge_obj *o = purge_find(pg, item->key);

	if (!o)
		return; /* not ours: the store answered for a key we did not send */
	if (err) {
		purge_failed(pg, item->key, NULL, err, detail);
		return;
	}
	o->gone = true;
	dp_test_point(pg->point);
}

/* Step 2: the versions of the keys step 1 deleted, from one listing of the prefix. */
static int purge_listed(void *arg, const char *key, const char *version_id, bool is_latest,
			bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct purge *pg = arg;
	struct purge_obj *o = purge_find(pg, key);
	struct purge_version *v;
	void *p;

	(void)is_latest;
	(void)mtime;
	if (!o || !o->gone)
		return 0;
	p = dp_grow(pg->v, &pg->vcap, pg->nv + 1, sizeof(*pg->v));
	if (!p)
		return -ENOMEM;
	pg->v = p;
	v = &pg->v[pg->nv];
	v->id = strdup(version_id);
	if (!v->id)
		return -ENOMEM;
	v->size = size;
	v->marker = is_delete_marker;
	/* a key's versions come together (keys in order) */
	if (!o->vn)
		o->vfirst = pg->nv;
	assert(o->vfirst + o->vn == pg->nv);
	o->vn++;
	pg->nv++;
	return 0;
}

static struct purge_version *purge_version_of(struct purge *pg, const struct purge_obj *o,
					      const char *version_id)
{
	for (size_t k = o->vfirst; k < o->vfirst + o->vn; k++)
		if (!strcmp(pg->v[k].id, version_id))
			return &pg->v[k];
	return NULL;
}

/* Steps 3 and 4: the versions, then the markers. */
static void purge_version_done(void *arg, const struct s3_delete_item *item, int err,
			       const char *detail)
{
	struct purge *pg = arg;
	struct purge_obj *o = purge_find(pg, item->key);
	struct purge_version *v = o ? purge_version_of(pg, o, item->version_id) : NULL;

	if (!v)
		return;
	if (err == -EACCES && !v->marker) {
		/* Object Lock keeps it: the repository stays consistent, the space stays used */
		int64_t until = purge_until(detail);

		o->kept = true;
		pg->p->versions_protected++;
		pg->p->bytes_protected += v->size;
		if (until > pg->p->protected_until)
			pg->p->protected_until = until;
		pr_info("%s version %s is kept by Object Lock: %s", item->key, v->id, detail);
	} else if (err) {
		o->kept = true;
		purge_failed(pg, item->key, v->id, err, detail);
	} else if (!v->marker) {
		pg->p->versions_deleted++;
	}
}

/* Delete the versions (@markers: the delete markers) of the keys that are gone. */
static int purge_versions(struct purge *pg, bool markers)
{
	struct s3_delete_item *items;
	size_t n = 0;
	int ret;

	items = calloc(pg->nv ? pg->nv : 1, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < pg->n; i++) {
		struct purge_obj *o = &pg->o[i];

		if (markers && o->kept)
			continue;
		for (size_t k = o->vfirst; k < o->vfirst + o->vn; k++)
			if (pg->v[k].marker == markers)
				items[n++] = (struct s3_delete_item){o->key, pg->v[k].id};
	}
	ret = n ? s3_store_delete_objects(pg->repo->st, items, n, purge_version_done, pg) : 0;
	if (ret)
		ret = dp_fail(ret, "deleting %zu old versions: %s", n, dp_store_detail());
	free(items);
	return ret;
}

static void purge_fini(struct purge *pg)
{
	for (size_t i = 0; i < pg->nv; i++)
		free(pg->v[i].id);
	free(pg->v);
	free(pg->o);
	dp_chunkidx_free(pg->byid);
}

/*
 * Step 2: the versions of the keys gone, from one listing of @prefix; or
 * from one listing of each key when that is fewer requests (@prefix_objects:
 * about how many objects the prefix holds, 0 if not known).
 */
static int purge_list(struct purge *pg, const char *prefix, uint64_t prefix_objects)
{
	bool per_key = prefix_objects / 1000 > pg->n;
	int ret = 0;

#ifdef FERRY_TEST_HOOKS
	/* tests reach the per-key listing without thousands of packs */
	if (getenv("FERRY_TEST_PURGE_PER_KEY"))
		per_key = true;
#endif
	if (!per_key)
		ret = s3_store_list_versions(pg->repo->st, prefix, purge_listed, pg);
	for (size_t i = 0; per_key && !ret && i < pg->n; i++)
		if (pg->o[i].gone)
			ret = s3_store_list_versions(pg->repo->st, pg->o[i].key, purge_listed, pg);
	if (ret && ret != -ENOMEM)
		ret = dp_fail(ret, "listing the versions under %s: %s", prefix, dp_store_detail());
	return ret;
}

ssize_t dp_purge_keys(struct dp_repo *repo, bool versioned, const char *prefix,
		      uint64_t prefix_objects, const char *const *keys, size_t n, bool *gone,
		      const char *point, struct dp_purge *p, struct dp_err *first)
{
	struct purge pg = {.repo = repo, .n = n, .p = p, .point = point, .first = first};
	struct s3_delete_item *items = NULL;
	int ret;

	pg.o = calloc(n ? n : 1, sizeof(*pg.o));
	items = calloc(n ? n : 1, sizeof(*items));
	ret = pg.o && items ? dp_chunkidx_new(&pg.byid) : -ENOMEM;
	for (size_t i = 0; !ret && i < n; i++) {
		struct dp_loc loc = {.offset = i};
		uint8_t id[DP_ID_LEN];

		assert(!strncmp(keys[i], prefix, strlen(prefix)));
		if (purge_key_id(keys[i], id))
			ret = dp_fail(-EINVAL, "%s does not end with an id", keys[i]);
		else if (dp_chunkidx_insert(pg.byid, id, &loc) < 0)
			ret = -ENOMEM;
		pg.o[i].key = keys[i];
		items[i].key = keys[i];
	}
	if (ret)
		goto out;
	/* 1. the current objects: each disappears at once */
	ret = s3_store_delete_objects(repo->st, items, n, purge_current_done, &pg);
	if (ret) {
		ret = dp_fail(ret, "deleting %zu objects under %s: %s", n, prefix,
			      dp_store_detail());
		goto out;
	}
	if (versioned) {
		/* 2. their versions, in one listing of the prefix (or of each key) */
		ret = purge_list(&pg, prefix, prefix_objects);
		if (ret)
			goto out;
		/* 3. the versions, 4. then the markers of keys that kept none */
		ret = purge_versions(&pg, false);
		if (!ret)
			ret = purge_versions(&pg, true);
		if (ret)
			goto out;
	}
	if (pg.failed > PURGE_WARN_MAX)
		pr_warn("... and %llu more objects or versions under %s could not be deleted",
			(unsigned long long)(pg.failed - PURGE_WARN_MAX), prefix);
out:
	for (size_t i = 0; gone && pg.o && i < n; i++)
		gone[i] = pg.o[i].gone;
	free(items);
	purge_fini(&pg);
	return ret ? ret : (ssize_t)pg.failed;
}

int dp_bucket_is_versioned(struct dp_repo *repo, bool *versioned)
{
	enum s3_versioning v = S3_VERSIONING_OFF;
	int ret = s3_store_versioning(repo->st, &v);

	if (ret)
		return dp_fail(ret, "reading the bucket's versioning: %s", dp_store_detail());
	*versioned = v != S3_VERSIONING_OFF;
	return 0;
}

int dp_forget_keys(struct dp_repo *repo, const char *prefix, const char *const *keys, size_t n,
		   const char *before, const char *point, struct dp_purge *p, size_t *deleted)
{
	struct dp_err first = {0};
	struct dp_lock *lock = NULL;
	bool versioned = false, *gone = calloc(n ? n : 1, sizeof(*gone));
	ssize_t failed = 0;
	int ret;

	if (!gone)
		return -ENOMEM;
	ret = dp_lock_acquire(repo, true, "forget", &lock);
	if (!ret)
		ret = dp_bucket_is_versioned(repo, &versioned);
	if (!ret) {
		if (before)
			dp_test_point(before);
		failed = dp_purge_keys(repo, versioned, prefix, 0, keys, n, gone, point, p, &first);
	}
	if (failed < 0)
		ret = (int)failed;
	else if (failed)
		ret = dp_fail(first.code, "%s%s", first.msg,
			      failed > 1 ? " (and more: see the warnings)" : "");
	for (size_t i = 0; i < n; i++)
		*deleted += gone[i];
	dp_lock_release(lock);
	free(gone);
	return ret;
}

int dp_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted,
	      struct dp_purge *purge)
{
	struct dp_purge dummy;
	char(*keys)[96] = NULL;
	const char **kp = NULL;
	int ret;

	dp_clear_error();
	*deleted = 0;
	if (!purge)
		purge = &dummy;
	memset(purge, 0, sizeof(*purge));
	keys = calloc(n ? n : 1, sizeof(*keys));
	kp = calloc(n ? n : 1, sizeof(*kp));
	if (!keys || !kp) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		snprintf(keys[i], sizeof(keys[i]), "snapshots/%s", ids[i]);
		kp[i] = keys[i];
	}
	ret = dp_forget_keys(repo, "snapshots/", kp, n, "forget-deleting", "forget-deleted", purge,
			     deleted);
out:
	free(keys);
	free(kp);
	return ret;
}
