// SPDX-License-Identifier: MIT
/*
 * datapath/repo.c - a repository: its config, the list of its snapshots and
 * the loading of its index.
 */
#include <stdio.h>
#include <stdlib.h>

#include "dp_int.h"
#include "s3/store.h"

#define CONFIG_KEY "config"
#define CONFIG_MAX (64u << 10)
#define TAIL_READ  (16u << 10)

int dp_repo_init(struct s3_store *st, const struct dp_init_opts *opts, char *id)
{
	struct dp_init_opts o = { 0 };
	struct dp_repo_info info;
	struct dp_keys keys;
	uint64_t size;
	char *json = NULL;
	int ret;

	dp_clear_error();
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	memset(&info, 0, sizeof(info));
	memset(&keys, 0, sizeof(keys));
	info.version = DP_FORMAT_VERSION;
	info.chunk_size = o.chunk_size ? o.chunk_size : DP_CHUNK_SIZE_DEFAULT;
	if (o.copy_keys_from) {
		const struct dp_repo *from = o.copy_keys_from;

		if (from->locked || !from->keys.encrypted)
			return dp_fail(-EINVAL, "the repository to copy keys from must be encrypted and unlocked");
		if (o.chunk_size && o.chunk_size != from->info.chunk_size)
			return dp_fail(-EINVAL, "a repository sharing keys with %s has its chunk size of %u",
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
		return dp_fail(-ENOKEY, "a new encrypted repository needs a password (or no encryption)");
	}
	if (info.chunk_size < DP_CHUNK_SIZE_MIN || info.chunk_size > DP_CHUNK_SIZE_MAX ||
	    (info.chunk_size & (info.chunk_size - 1)))
		return dp_fail(-EINVAL, "chunk size %u is not a power of two between %u KiB and %u MiB",
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
		ret = dp_fail(ret, "cannot write %s/config: %s", s3_store_url(st), dp_store_detail());
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
		dp_fail(ret, "no repository at %s (create one with 'ferry init')", s3_store_url(st));
		goto out_free;
	}
	if (ret) {
		dp_fail(ret, "cannot read the config of %s: %s", s3_store_url(st), dp_store_detail());
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
	free(repo);
}

const struct dp_repo_info *dp_repo_info(const struct dp_repo *repo)
{
	return &repo->info;
}

/* ---------------------------------------------------------------- snapshots */

struct snap_list {
	struct dp_repo *repo;
	struct dp_snapshot *v;
	size_t n, cap;
	uint8_t *tail;
};

static int snap_read(struct snap_list *l, const char *key, const char *name,
		     struct dp_snapshot *s)
{
	size_t want = TAIL_READ;
	uint64_t size;

	for (;;) {
		ssize_t got = s3_store_get_tail(l->repo->st, key, l->tail, want, &size);
		int ret;

		if (got < 0)
			return dp_fail((int)got, "%s: %s", key, dp_store_detail());
		ret = dp_manifest_parse_tail(l->tail, (size_t)got, size, &l->repo->keys, name, s);
		if (ret != -EAGAIN || want >= DP_MANIFEST_META_MAX + DP_MANIFEST_FOOTER)
			return ret;
		want = DP_MANIFEST_META_MAX + DP_MANIFEST_FOOTER;
		free(l->tail);
		l->tail = malloc(want);
		if (!l->tail)
			return -ENOMEM;
	}
}

static int snap_list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct snap_list *l = arg;
	const char *name = key + strlen("snapshots/");
	struct dp_snapshot s;
	uint8_t bin[DP_ID_LEN];
	int ret;

	(void)mtime;
	if (dp_unhex(name, bin, DP_ID_LEN)) {
		pr_warn("ignoring %s: not a snapshot name", key);
		return 0;
	}
	ret = snap_read(l, key, name, &s);
	if (ret == -ENOMEM)
		return ret;
	if (ret == 0 && strcmp(s.id, name)) {
		dp_snapshot_fini(&s);
		ret = dp_fail(-EBADMSG, "%s: metadata names snapshot %s", key, s.id);
	}
	if (ret) {
		pr_warn("skipping snapshot %s: %s", name, dp_last_error());
		return 0;
	}
	s.manifest_size = size;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		void *p = realloc(l->v, cap * sizeof(*l->v));

		if (!p) {
			dp_snapshot_fini(&s);
			return -ENOMEM;
		}
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = s;
	return 0;
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
	struct snap_list l = { .repo = repo };
	int ret;

	dp_clear_error();
	*out = NULL;
	*n = 0;
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	l.tail = malloc(TAIL_READ);
	if (!l.tail)
		return -ENOMEM;
	ret = s3_store_list(repo->st, "snapshots/", snap_list_one, &l);
	free(l.tail);
	if (ret) {
		if (!dp_last_error()[0])
			dp_fail(ret, "listing snapshots of %s: %s", s3_store_url(repo->st),
				dp_store_detail());
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

const struct dp_snapshot *dp_snapshot_find(const struct dp_snapshot *snaps, size_t n,
					   const char *spec, const char *volume, int *err)
{
	const struct dp_snapshot *found = NULL;
	size_t len = strlen(spec);

	dp_clear_error();
	if (!strcmp(spec, "latest")) {
		for (size_t i = 0; i < n; i++) {
			if (volume && strcmp(snaps[i].volume, volume))
				continue;
			if (!volume && found && strcmp(found->volume, snaps[i].volume)) {
				*err = dp_fail(-ENOTUNIQ, "the repository holds several volumes ('%s', '%s', ...): name one with --volume",
					       found->volume, snaps[i].volume);
				return NULL;
			}
			found = &snaps[i];	/* sorted by time: the last match is the newest */
		}
		if (!found)
			*err = volume ? dp_fail(-ENOENT, "no snapshot of volume '%s'", volume)
				      : dp_fail(-ENOENT, "the repository holds no snapshot");
		return found;
	}
	if (len < 8 || len > 64 || !is_hex(spec)) {
		*err = dp_fail(-EINVAL, "'%s' is not a snapshot id: give 'latest' or at least 8 hex digits of an id",
			       spec);
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		if (strncmp(snaps[i].id, spec, len))
			continue;
		if (volume && strcmp(snaps[i].volume, volume))
			continue;
		if (found) {
			*err = dp_fail(-ENOTUNIQ, "snapshot id prefix '%s' is ambiguous (%.16s..., %.16s...)",
				       spec, found->id, snaps[i].id);
			return NULL;
		}
		found = &snaps[i];
	}
	if (!found)
		*err = volume ? dp_fail(-ENOENT, "no snapshot '%s' of volume '%s'", spec, volume)
			      : dp_fail(-ENOENT, "no snapshot '%s'", spec);
	return found;
}

/* -------------------------------------------------------------------- index */

struct index_load {
	struct dp_repo *repo;
	struct dp_chunkidx *ix;
	uint64_t objects;
};

static int index_load_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct index_load *l = arg;
	struct dp_pack_entry *e = NULL;
	uint8_t pack_id[DP_ID_LEN], name_id[DP_ID_LEN];
	size_t len, n;
	void *buf = NULL;
	int ret, pack;

	(void)size;
	(void)mtime;
	if (dp_unhex(key + strlen("index/"), name_id, DP_ID_LEN)) {
		pr_warn("ignoring %s: not an index name", key);
		return 0;
	}
	ret = s3_store_get(l->repo->st, key, DP_PACK_INDEX_MAX, &buf, &len);
	if (ret)
		return dp_fail(ret, "reading %s: %s", key, dp_store_detail());
	ret = dp_pack_index_open(&l->repo->keys, name_id, buf, len, &e, &n);
	memcpy(pack_id, name_id, DP_ID_LEN);
	if (ret) {
		char detail[512];

		snprintf(detail, sizeof(detail), "%s", dp_last_error());
		ret = dp_fail(ret == -EBADMSG ? -EUCLEAN : ret, "%s is damaged: %s", key, detail);
		goto out;
	}
	pack = dp_chunkidx_add_pack(l->ix, pack_id);
	if (pack < 0) {
		ret = pack;
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		struct dp_loc loc = {
			.offset = e[i].offset,
			.pack = (uint32_t)pack,
			.stored_len = e[i].stored_len,
			.raw_len = e[i].raw_len,
			.kind = e[i].kind,
		};

		ret = dp_chunkidx_insert(l->ix, e[i].id, &loc);
		if (ret < 0)
			goto out;
	}
	ret = 0;
	l->objects++;
out:
	free(e);
	free(buf);
	return ret;
}

int dp_repo_load_index(struct dp_repo *repo, struct dp_chunkidx *ix)
{
	struct index_load l = { .repo = repo, .ix = ix };
	int ret;

	dp_clear_error();
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	ret = s3_store_list(repo->st, "index/", index_load_one, &l);
	if (ret && !dp_last_error()[0])
		dp_fail(ret, "listing the index of %s: %s", s3_store_url(repo->st), dp_store_detail());
	if (!ret)
		pr_debug("index: %llu objects, %llu chunks", (unsigned long long)l.objects,
			 (unsigned long long)dp_chunkidx_count(ix));
	return ret;
}
