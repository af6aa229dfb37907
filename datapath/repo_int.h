/* SPDX-License-Identifier: MIT */
/*
 * datapath/repo_int.h - an opened repository's state, and what works on it as a whole:
 * reading many objects through the cache (cache.c), keys (keys.c), loading
 * every index (repo.c), deleting for good (purge.c). Private to datapath/.
 */
#ifndef FERRY_DP_REPO_INT_H
#define FERRY_DP_REPO_INT_H

#include "crypt.h"

struct dp_chunkidx;

struct dp_repo {
	struct s3_store *st;
	struct dp_repo_info info;
	struct dp_keys keys; /* valid when !locked */
	bool locked;	     /* encrypted and not unlocked yet */
	char key_id[65];     /* the key object that unlocked it */
	char *cache;	     /* <cache dir>/<repository id>, or NULL */
	/* the manifests the last dp_snapshot_list() could not read or decode */
	struct dp_unreadable *unreadable;
	size_t nunreadable, unreadable_cap;
};

struct dp_unreadable {
	char id[65];
	int err;      /* -errno */
	bool damaged; /* read, but did not decode (else: did not read) */
	char detail[200];
};

/* One object (or range of one) to fetch with dp_multiget() (cache.c). */
struct dp_mget {
	char key[96];
	uint64_t size; /* the object's size (from a listing) */
	uint64_t off;  /* the range wanted: [off, off + len) */
	size_t len;
	void *buf;   /* @len bytes */
	int ret;     /* bytes read, or -errno with @detail */
	bool cached; /* served from the cache */
	char detail[128];
};

/*
 * Fetch @n ranges with up to @inflight requests at once, through the cache
 * (if set) for what it holds. Per-item results in ->ret; returns 0 or -ENOMEM.
 */
int dp_multiget(struct dp_repo *repo, struct dp_mget *items, size_t n, unsigned int inflight);
/* Forget a cached copy that turned out bad. */
void dp_cache_drop(const struct dp_repo *repo, const struct dp_mget *m);
/* Remove cached entries under @prefix ("index", "snapshots") that @items (a full listing) lacks. */
void dp_cache_retain(const struct dp_repo *repo, const char *prefix, const struct dp_mget *items,
		     size_t n);

/* A fresh random master key. */
int dp_keys_generate(struct dp_keys *keys);
/* Write a key object wrapping @keys with @password into @st; @id gets its id. */
int dp_key_write(struct s3_store *st, const struct dp_keys *keys, const void *password, size_t len,
		 uint64_t scrypt_n, char *id);

/* -ENOKEY with a message if @repo is encrypted and still locked. */
int dp_repo_check_unlocked(const struct dp_repo *repo);

/*
 * Load every index object into @ix (pack numbers assigned in listing order).
 * Return 0, or -errno with dp_last_error() naming the object.
 */
int dp_repo_load_index(struct dp_repo *repo, struct dp_chunkidx *ix);

/*
 * dp_purge_keys() - delete @n objects for good (purge.c), in batches; on a
 * versioned bucket (@versioned) every version of each too, the versions found
 * by one listing of @prefix (or of each key, when @prefix_objects, about how
 * many objects @prefix holds, is over 1000 times @n; 0: not known)
 * @keys:   object keys under @prefix, each ending in a 64-hex id; borrowed
 * @gone:   @n flags: set for each key that is deleted (or was not there)
 * @point:  the test point reached after each key deleted
 * @p:      versions deleted, and kept by Object Lock (with their retain-until date)
 * @first:  the first key or version that could not be deleted, unless it
 *          holds one already (code 0: none)
 *
 * Each key or version that cannot be deleted is logged with the store's
 * detail; the others are still deleted.
 * Return: how many could not be deleted (0: all went); -errno when a request
 * failed as a whole (dp_last_error() says which).
 */
ssize_t dp_purge_keys(struct dp_repo *repo, bool versioned, const char *prefix,
		      uint64_t prefix_objects, const char *const *keys, size_t n, bool *gone,
		      const char *point, struct dp_purge *p, struct dp_err *first);
/*
 * dp_forget_keys() - what a forget does with the keys it names (purge.c): under
 * the exclusive lock, dp_purge_keys() of @keys under @prefix ("snapshots/",
 * "backups/"), a failure to delete some of them made the one error.
 * @before: the test point reached once locked, just before the deletes (NULL: none)
 * @point:  as dp_purge_keys()'s; @p: as dp_purge_keys()'s
 * @deleted: incremented for each key deleted (or not there)
 * Return: 0; -errno (dp_last_error() says why).
 */
int dp_forget_keys(struct dp_repo *repo, const char *prefix, const char *const *keys, size_t n,
		   const char *before, const char *point, struct dp_purge *p, size_t *deleted);
/* Whether the bucket keeps versions, so that deletes must go version by version (purge.c). */
int dp_bucket_is_versioned(struct dp_repo *repo, bool *versioned);

#endif /* FERRY_DP_REPO_INT_H */
