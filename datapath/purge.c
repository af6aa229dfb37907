// SPDX-License-Identifier: MIT
/*
 * datapath/purge.c - deleting objects for good: forget's manifests and
 * prune's packs and indexes. On a versioned bucket (an Object Lock bucket
 * always is) a plain delete only adds a delete marker and the data keeps its
 * space, so every version is deleted too; versions Object Lock keeps are
 * counted with their retain-until date (struct dp_purge).
 */
#include <stdio.h>
#include <stdlib.h>

#include "repo_int.h"
#include "s3/store.h"

struct purge_version {
	char id[256];
	uint64_t size;
	bool marker;
};

struct purge_walk {
	const char *key;
	struct purge_version *v;
	size_t n, cap;
};

static int purge_list(void *arg, const char *key, const char *version_id, bool is_latest,
		      bool is_delete_marker, uint64_t size, int64_t mtime)
{
	struct purge_walk *w = arg;

	(void)is_latest;
	(void)mtime;
	if (strcmp(key, w->key))
		return 0; /* another key with this one as prefix */
	if (w->n == w->cap) {
		void *p = dp_grow(w->v, &w->cap, w->n + 1, sizeof(*w->v));

		if (!p)
			return -ENOMEM;
		w->v = p;
	}
	snprintf(w->v[w->n].id, sizeof(w->v[w->n].id), "%s", version_id);
	w->v[w->n].size = size;
	w->v[w->n].marker = is_delete_marker;
	w->n++;
	return 0;
}

/*
 * Delete @key; on a versioned bucket also every version of it, so that the
 * space is really reclaimed. The delete marker goes last, and only when no
 * version is left: while Object Lock keeps one, the marker keeps it hidden.
 */
int dp_purge(struct dp_repo *repo, const char *key, bool versioned, struct dp_purge *p)
{
	struct purge_walk w = {.key = key};
	bool kept = false;
	int ret;

	ret = s3_store_delete(repo->st, key);
	if (ret && ret != -ENOENT)
		return dp_fail(ret, "deleting %s: %s", key, dp_store_detail());
	if (!versioned)
		return ret;
	ret = s3_store_list_versions(repo->st, key, purge_list, &w);
	if (ret) {
		free(w.v);
		return dp_fail(ret, "listing the versions of %s: %s", key, dp_store_detail());
	}
	for (int pass = 0; pass < 2 && !ret; pass++) {
		for (size_t i = 0; i < w.n && !ret; i++) {
			struct s3_version_info info;

			if (w.v[i].marker != (pass == 1) || (pass == 1 && kept))
				continue;
			ret = s3_store_delete_version(repo->st, key, w.v[i].id);
			if (ret == -EACCES && pass == 0) {
				/* Object Lock keeps it: the repository stays consistent, the space stays used */
				kept = true;
				p->versions_protected++;
				p->bytes_protected += w.v[i].size;
				if (!s3_store_head_version(repo->st, key, w.v[i].id, &info) &&
				    info.retain_until > p->protected_until)
					p->protected_until = info.retain_until;
				ret = 0;
			} else if (ret) {
				ret = dp_fail(ret, "deleting version %s of %s: %s", w.v[i].id, key,
					      dp_store_detail());
			} else if (!w.v[i].marker) {
				p->versions_deleted++;
			}
		}
	}
	free(w.v);
	return ret;
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

int dp_forget(struct dp_repo *repo, const char *const *ids, size_t n, size_t *deleted,
	      struct dp_purge *purge)
{
	struct dp_purge dummy;
	struct dp_lock *lock = NULL;
	bool versioned = false;
	char key[96];
	int ret;

	dp_clear_error();
	*deleted = 0;
	if (!purge)
		purge = &dummy;
	memset(purge, 0, sizeof(*purge));
	ret = dp_lock_acquire(repo, true, "forget", &lock);
	if (!ret)
		ret = dp_bucket_is_versioned(repo, &versioned);
	for (size_t i = 0; i < n && !ret; i++) {
		snprintf(key, sizeof(key), "snapshots/%s", ids[i]);
		ret = dp_purge(repo, key, versioned, purge);
		if (ret == -ENOENT)
			ret = 0;
		else if (!ret)
			(*deleted)++;
		dp_test_point("forget-deleted");
	}
	dp_lock_release(lock);
	return ret;
}
