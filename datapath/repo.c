// SPDX-License-Identifier: MIT
/*
 * datapath/repo.c - a repository: its config, the list of its snapshots and
 * the loading of its index.
 */
#include <stdio.h>
#include <stdlib.h>

#include "crypt.h"
#include "chunkidx.h"
#include "packfmt.h"
#include "repo_int.h"
#include "manifest.h"
#include "dp_json.h"
#include "s3/store.h"

#define CONFIG_KEY "config"
#define CONFIG_MAX (64u << 10)
#define TAIL_READ  (16u << 10)

int dp_repo_init(struct s3_store *st, const struct dp_init_opts *opts, char *id)
{
	struct dp_init_opts o = {0};
	struct dp_repo_info info;
	struct dp_keys keys;
	uint64_t size;
	char *json = NULL;
	int ret;

	dp_clear_error();
	dp_opts_copy(&o, sizeof(o), opts);
	memset(&info, 0, sizeof(info));
	memset(&keys, 0, sizeof(keys));
	info.version = DP_FORMAT_VERSION;
	info.chunk_size = o.chunk_size ? o.chunk_size : DP_CHUNK_SIZE_DEFAULT;
	if (o.copy_keys_from) {
		const struct dp_repo *from = o.copy_keys_from;

		if (from->locked || !from->keys.encrypted)
			return dp_fail(
				-EINVAL,
				"the repository to copy keys from must be encrypted and unlocked");
		if (o.chunk_size && o.chunk_size != from->info.chunk_size)
			return dp_fail(-EINVAL,
				       "a repository sharing keys with %s has its chunk size of %u",
				       s3_store_url(from->st), from->info.chunk_size);
		info.chunk_size = from->info.chunk_size;
		keys = from->keys;
	} else if (!o.no_encryption) {
		ret = dp_keys_generate(&keys);
		if (ret)
			return ret;
	}
	if (keys.encrypted && !o.password_len) {
		dp_wipe(&keys, sizeof(keys));
		return dp_fail(-ENOKEY,
			       "a new encrypted repository needs a password (or no encryption)");
	}
	if (info.chunk_size < DP_CHUNK_SIZE_MIN || info.chunk_size > DP_CHUNK_SIZE_MAX ||
	    (info.chunk_size & (info.chunk_size - 1)))
		return dp_fail(-EINVAL,
			       "chunk size %u is not a power of two between %u KiB and %u MiB",
			       info.chunk_size, DP_CHUNK_SIZE_MIN >> 10, DP_CHUNK_SIZE_MAX >> 20);
	snprintf(info.hash, sizeof(info.hash), "sha256");
	snprintf(info.compression, sizeof(info.compression), "zstd");
	snprintf(info.encryption, sizeof(info.encryption), "%s",
		 keys.encrypted ? DP_ENCRYPTION_AES : "none");
	info.created = dp_now_us() / 1000000;
	ret = dp_random_id(info.id);
	if (ret)
		goto out;
	ret = s3_store_mkroot(st);
	if (ret) {
		ret = dp_fail(ret, "cannot create %s: %s", s3_store_url(st), dp_store_detail());
		goto out;
	}
	ret = s3_store_head(st, CONFIG_KEY, &size);
	if (ret == 0) {
		ret = dp_fail(-EEXIST, "%s holds a repository already", s3_store_url(st));
		goto out;
	}
	if (ret != -ENOENT) {
		ret = dp_fail(ret, "%s: %s", s3_store_url(st), dp_store_detail());
		goto out;
	}
	/* the key first: a config without a key would be a locked-out repository */
	if (keys.encrypted) {
		ret = dp_key_write(st, &keys, o.password, o.password_len, o.scrypt_n, NULL);
		if (ret)
			goto out;
	}
	ret = dp_config_encode(&info, &json);
	if (ret)
		goto out;
	ret = s3_store_put(st, CONFIG_KEY, json, strlen(json));
	free(json);
	if (ret == -EEXIST) {
		ret = dp_fail(ret, "%s holds a repository already", s3_store_url(st));
		goto out;
	}
	if (ret) {
		ret = dp_fail(ret, "cannot write %s/config: %s", s3_store_url(st),
			      dp_store_detail());
		goto out;
	}
	if (id)
		memcpy(id, info.id, sizeof(info.id));
out:
	dp_wipe(&keys, sizeof(keys));
	return ret;
}

int dp_repo_open(struct s3_store *st, struct dp_repo **out)
{
	struct dp_repo *repo;
	void *buf = NULL;
	size_t len;
	int ret;

	dp_clear_error();
	*out = NULL;
	repo = calloc(1, sizeof(*repo));
	if (!repo)
		return -ENOMEM;
	repo->st = st;
	ret = s3_store_get(st, CONFIG_KEY, CONFIG_MAX, &buf, &len);
	if (ret == -ENOENT) {
		dp_fail(ret, "no repository at %s (create one with 'ferry init')",
			s3_store_url(st));
		goto out_free;
	}
	if (ret) {
		dp_fail(ret, "cannot read the config of %s: %s", s3_store_url(st),
			dp_store_detail());
		goto out_free;
	}
	ret = dp_config_decode(buf, len, &repo->info);
	if (ret) {
		char detail[512];

		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		dp_fail(ret, "%s: %s", s3_store_url(st), detail);
		goto out_free;
	}
	free(buf);
	repo->locked = !strcmp(repo->info.encryption, DP_ENCRYPTION_AES);
	*out = repo;
	return 0;
out_free:
	free(buf);
	free(repo);
	return ret;
}

void dp_repo_free(struct dp_repo *repo)
{
	if (!repo)
		return;
	dp_wipe(&repo->keys, sizeof(repo->keys));
	free(repo->cache);
	free(repo->unreadable);
	free(repo);
}

const struct dp_repo_info *dp_repo_info(const struct dp_repo *repo)
{
	return &repo->info;
}

/* ---------------------------------------------------------------- snapshots */

#define MGET_INFLIGHT 16
#define MGET_BATCH    256

/* A listing of keys under a prefix, with sizes: what dp_multiget() fetches. */
struct key_list {
	struct dp_mget *v;
	size_t n, cap;
	const char *prefix;
};

static int key_list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct key_list *l = arg;
	uint8_t bin[DP_ID_LEN];

	(void)mtime;
	if (dp_unhex(key + strlen(l->prefix), bin, DP_ID_LEN)) {
		pr_warn("ignoring %s: not a name of ferry's", key);
		return 0;
	}
	if (l->n == l->cap) {
		void *p = dp_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[l->n]));
	snprintf(l->v[l->n].key, sizeof(l->v[l->n].key), "%s", key);
	l->v[l->n].size = size;
	l->n++;
	return 0;
}

static int key_list(struct dp_repo *repo, const char *prefix, struct key_list *l)
{
	int ret;

	memset(l, 0, sizeof(*l));
	l->prefix = prefix;
	ret = s3_store_list(repo->st, prefix, key_list_one, l);
	if (ret) {
		free(l->v);
		l->v = NULL;
		l->n = 0;
		return dp_fail(ret, "listing %s of %s: %s", prefix, s3_store_url(repo->st),
			       dp_store_detail());
	}
	return 0;
}

struct snap_list {
	struct dp_repo *repo;
	struct dp_snapshot *v;
	size_t n, cap;
};

static int snap_add(struct snap_list *l, struct dp_snapshot *s)
{
	if (l->n == l->cap) {
		void *p = dp_grow(l->v, &l->cap, l->n + 1, sizeof(*l->v));

		if (!p)
			return -ENOMEM;
		l->v = p;
	}
	l->v[l->n++] = *s;
	return 0;
}

/*
 * Remember a manifest the listing skipped (for dp_snapshot_find()): @damaged,
 * it read but did not decode; else it could not be read. 0 or -ENOMEM.
 */
static int snap_unreadable(struct dp_repo *repo, const char *name, int err, bool damaged,
			   const char *detail)
{
	struct dp_unreadable *u;
	void *p = dp_grow(repo->unreadable, &repo->unreadable_cap, repo->nunreadable + 1,
			  sizeof(*repo->unreadable));

	if (!p)
		return -ENOMEM;
	repo->unreadable = p;
	u = &repo->unreadable[repo->nunreadable++];
	snprintf(u->id, sizeof(u->id), "%s", name);
	u->err = err;
	u->damaged = damaged;
	snprintf(u->detail, sizeof(u->detail), "%s", detail);
	return 0;
}

/* Decode one fetched tail: 0 (added or skipped with a warning), -EAGAIN (longer tail), -ENOMEM. */
static int snap_decode(struct snap_list *l, struct dp_mget *m)
{
	const char *name = m->key + strlen("snapshots/");
	struct dp_snapshot s;
	int ret;

	if (m->ret == -ENOENT)
		return 0; /* forgotten since the listing */
	if (m->ret < 0) {
		pr_warn("skipping snapshot %.16s: %s", name,
			m->detail[0] ? m->detail : strerror(-m->ret));
		return snap_unreadable(l->repo, name, m->ret, false,
				       m->detail[0] ? m->detail : strerror(-m->ret));
	}
	ret = dp_manifest_parse_tail(m->buf, (size_t)m->ret, m->size, &l->repo->keys, name, &s);
	if (ret == -EAGAIN && m->len < m->size &&
	    m->len < DP_MANIFEST_META_MAX + DP_MANIFEST_FOOTER)
		return -EAGAIN;
	if (ret == 0 && strcmp(s.id, name)) {
		ret = dp_fail(-EBADMSG, "its metadata names snapshot %.16s", s.id);
		dp_snapshot_fini(&s);
	}
	if (ret == -ENOMEM)
		return ret;
	if (ret && m->cached) {
		/* a bad copy in the cache: forget it, read the object itself */
		dp_cache_drop(l->repo, m);
		ret = dp_multiget(l->repo, m, 1, 1);
		return ret ? ret : snap_decode(l, m);
	}
	if (ret) {
		pr_warn("skipping snapshot %.16s: %s", name, dp_last_error());
		return snap_unreadable(l->repo, name, ret, true, dp_last_error());
	}
	s.manifest_size = m->size;
	ret = snap_add(l, &s);
	if (ret)
		dp_snapshot_fini(&s);
	return ret;
}

/* Fetch and decode the tails of @v[0..n), a batch. */
static int snap_batch(struct snap_list *l, struct dp_mget *v, size_t n, size_t tail)
{
	int ret = 0;

	for (size_t i = 0; i < n && !ret; i++) {
		v[i].len = v[i].size < tail ? (size_t)v[i].size : tail;
		v[i].off = v[i].size - v[i].len;
		v[i].buf = malloc(v[i].len ? v[i].len : 1);
		if (!v[i].buf)
			ret = -ENOMEM;
	}
	if (!ret)
		ret = dp_multiget(l->repo, v, n, MGET_INFLIGHT);
	for (size_t i = 0; i < n && !ret; i++) {
		ret = snap_decode(l, &v[i]);
		if (ret == -EAGAIN) {
			/* metadata longer than the tail read: this one again, whole */
			free(v[i].buf);
			v[i].buf = NULL;
			ret = snap_batch(l, &v[i], 1, DP_MANIFEST_META_MAX + DP_MANIFEST_FOOTER);
		}
	}
	for (size_t i = 0; i < n; i++) {
		free(v[i].buf);
		v[i].buf = NULL;
	}
	return ret;
}

static int snap_cmp(const void *a, const void *b)
{
	const struct dp_snapshot *x = a, *y = b;

	if (x->time_end != y->time_end)
		return x->time_end < y->time_end ? -1 : 1;
	return strcmp(x->id, y->id);
}

int dp_snapshot_list(struct dp_repo *repo, struct dp_snapshot **out, size_t *n)
{
	struct snap_list l = {.repo = repo};
	struct key_list keys;
	int ret;

	dp_clear_error();
	*out = NULL;
	*n = 0;
	free(repo->unreadable);
	repo->unreadable = NULL;
	repo->nunreadable = 0;
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	ret = key_list(repo, "snapshots/", &keys);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < keys.n; i += MGET_BATCH)
		ret = snap_batch(&l, &keys.v[i], keys.n - i < MGET_BATCH ? keys.n - i : MGET_BATCH,
				 TAIL_READ);
	if (!ret)
		dp_cache_retain(repo, "snapshots", keys.v, keys.n);
	free(keys.v);
	if (ret) {
		dp_snapshot_list_free(l.v, l.n);
		return ret;
	}
	if (l.n)
		qsort(l.v, l.n, sizeof(*l.v), snap_cmp);
	*out = l.v;
	*n = l.n;
	return 0;
}

void dp_snapshot_list_free(struct dp_snapshot *snaps, size_t n)
{
	for (size_t i = 0; i < n; i++)
		dp_snapshot_fini(&snaps[i]);
	free(snaps);
}

static bool is_hex(const char *s)
{
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return false;
	return true;
}

const struct dp_snapshot *dp_snapshot_find(const struct dp_repo *repo,
					   const struct dp_snapshot *snaps, size_t n,
					   const char *spec, const char *volume, int *err)
{
	const struct dp_snapshot *found = NULL;
	size_t len = strlen(spec);
	size_t nu = repo ? repo->nunreadable : 0;

	dp_clear_error();
	if (!strcmp(spec, "latest")) {
		for (size_t i = 0; i < nu; i++) {
			const struct dp_unreadable *u = &repo->unreadable[i];

			if (u->damaged)
				continue;
			*err = dp_fail(
				u->err,
				"snapshot %.16s could not be read (%s): which snapshot is the latest is not known",
				u->id, u->detail);
			return NULL;
		}
		for (size_t i = 0; i < n; i++) {
			if (volume && strcmp(snaps[i].volume, volume))
				continue;
			if (!volume && found && strcmp(found->volume, snaps[i].volume)) {
				*err = dp_fail(
					-ENOTUNIQ,
					"the repository holds several volumes ('%s', '%s', ...): name one with --volume",
					found->volume, snaps[i].volume);
				return NULL;
			}
			found = &snaps[i]; /* sorted by time: the last match is the newest */
		}
		if (!found)
			*err = volume ? dp_fail(-ENOENT, "no snapshot of volume '%s'", volume)
				      : dp_fail(-ENOENT, "the repository holds no snapshot");
		return found;
	}
	if (len < 8 || len > 64 || !is_hex(spec)) {
		*err = dp_fail(
			-EINVAL,
			"'%s' is not a snapshot id: give 'latest' or at least 8 hex digits of an id",
			spec);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(snaps[i].id, spec, len))
			continue;
		if (volume && strcmp(snaps[i].volume, volume))
			continue;
		if (found) {
			*err = dp_fail(-ENOTUNIQ,
				       "snapshot id prefix '%s' is ambiguous (%.16s..., %.16s...)",
				       spec, found->id, snaps[i].id);
			return NULL;
		}
		found = &snaps[i];
	}
	for (size_t i = 0; !found && i < nu; i++) {
		const struct dp_unreadable *u = &repo->unreadable[i];

		if (strncmp(u->id, spec, len))
			continue;
		if (u->damaged)
			*err = dp_fail(-EUCLEAN, "snapshot %s is damaged: %s", u->id, u->detail);
		else
			*err = dp_fail(u->err, "snapshot %s could not be read: %s", u->id,
				       u->detail);
		return NULL;
	}
	if (!found)
		*err = volume ? dp_fail(-ENOENT, "no snapshot '%s' of volume '%s'", spec, volume)
			      : dp_fail(-ENOENT, "no snapshot '%s'", spec);
	return found;
}

/* -------------------------------------------------------------------- index */

/* Decode one index object into @ix. */
static int index_decode(struct dp_repo *repo, struct dp_chunkidx *ix, struct dp_mget *m)
{
	struct dp_pack_entry *e = NULL;
	uint8_t name_id[DP_ID_LEN];
	char detail[512];
	size_t n;
	int ret, pack;

	dp_unhex(m->key + strlen("index/"), name_id, DP_ID_LEN);
	if (m->ret < 0)
		return dp_fail(m->ret, "reading %s: %s", m->key,
			       m->detail[0] ? m->detail : strerror(-m->ret));
	if ((size_t)m->ret != m->len)
		return dp_fail(-EUCLEAN, "%s is shorter than listed", m->key);
	ret = dp_pack_index_open(&repo->keys, name_id, m->buf, m->len, &e, &n);
	if (ret && m->cached) {
		/* a bad copy in the cache: forget it, read the object itself */
		dp_cache_drop(repo, m);
		ret = dp_multiget(repo, m, 1, 1);
		return ret ? ret : index_decode(repo, ix, m);
	}
	if (ret) {
		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		return dp_fail(ret == -EBADMSG ? -EUCLEAN : ret, "%s is damaged: %s", m->key,
			       detail);
	}
	pack = dp_chunkidx_add_pack(ix, name_id);
	ret = pack < 0 ? pack : 0;
	for (size_t i = 0; !ret && i < n; i++) {
		struct dp_loc loc = {
			.offset = e[i].offset,
			.pack = (uint32_t)pack,
			.stored_len = e[i].stored_len,
			.raw_len = e[i].raw_len,
			.kind = e[i].kind,
		};

		ret = dp_chunkidx_insert(ix, e[i].id, &loc);
		ret = ret < 0 ? ret : 0;
	}
	free(e);
	return ret;
}

int dp_repo_load_index(struct dp_repo *repo, struct dp_chunkidx *ix)
{
	struct key_list keys;
	uint64_t cached = 0;
	int ret;

	dp_clear_error();
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	ret = key_list(repo, "index/", &keys);
	if (ret)
		return ret;
	for (size_t i = 0; !ret && i < keys.n; i += MGET_BATCH) {
		size_t n = keys.n - i < MGET_BATCH ? keys.n - i : MGET_BATCH;
		struct dp_mget *v = &keys.v[i];

		for (size_t k = 0; !ret && k < n; k++) {
			if (v[k].size > DP_PACK_INDEX_MAX) {
				ret = dp_fail(-EUCLEAN, "%s has %llu bytes: not an index", v[k].key,
					      (unsigned long long)v[k].size);
				break;
			}
			v[k].len = (size_t)v[k].size;
			v[k].buf = malloc(v[k].len ? v[k].len : 1);
			if (!v[k].buf)
				ret = -ENOMEM;
		}
		if (!ret)
			ret = dp_multiget(repo, v, n, MGET_INFLIGHT);
		for (size_t k = 0; !ret && k < n; k++) {
			cached += v[k].cached;
			ret = index_decode(repo, ix, &v[k]);
		}
		for (size_t k = 0; k < n; k++) {
			free(v[k].buf);
			v[k].buf = NULL;
		}
	}
	if (!ret) {
		dp_cache_retain(repo, "index", keys.v, keys.n);
		pr_debug("index: %zu objects (%llu from the cache), %llu chunks", keys.n,
			 (unsigned long long)cached, (unsigned long long)dp_chunkidx_count(ix));
	}
	free(keys.v);
	return ret;
}
