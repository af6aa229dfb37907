// SPDX-License-Identifier: MIT
/*
 * datapath/keys.c - the keys of an encrypted repository (FORMAT.md
 * "keys/<key-id>"): one object per password, each wrapping the same master
 * key (the data key and the chunk-id key) with a key derived from its
 * password by scrypt. Adding or removing a password adds or removes one
 * object; no data is rewritten.
 */
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "crypt.h"
#include "repo_int.h"
#include "dp_json.h"
#include "s3/store.h"

#define KEYS_PREFIX "keys/"
#define KEY_MAX	    (16u << 10)
#define KEY_R	    8
#define KEY_P	    1

static const char dp_key_aad[] = "ferry-master-key";

int dp_repo_check_unlocked(const struct dp_repo *repo)
{
	if (repo->locked)
		return dp_fail(
			-ENOKEY,
			"repository %s is encrypted: give its password (FERRY_PASSWORD, --password-file or --password-command)",
			s3_store_url(repo->st));
	return 0;
}

bool dp_repo_is_encrypted(const struct dp_repo *repo)
{
	return repo->keys.encrypted || repo->locked;
}

int dp_keys_generate(struct dp_keys *keys)
{
	int ret;

	memset(keys, 0, sizeof(*keys));
	keys->encrypted = true;
	ret = dp_random_bytes(keys->data_key, sizeof(keys->data_key));
	if (!ret)
		ret = dp_random_bytes(keys->id_key, sizeof(keys->id_key));
	return ret;
}

static void key_identity(struct dp_keyobj *k)
{
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (gethostname(k->hostname, sizeof(k->hostname)))
		snprintf(k->hostname, sizeof(k->hostname), "unknown");
	k->hostname[sizeof(k->hostname) - 1] = '\0';
	if (!getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) && res)
		snprintf(k->username, sizeof(k->username), "%s", pw.pw_name);
	else
		snprintf(k->username, sizeof(k->username), "uid %u", (unsigned int)geteuid());
}

/* Derive the key-encryption key of @k from @password. */
static int key_kek(const struct dp_keyobj *k, const void *password, size_t len,
		   uint8_t kek[DP_KEY_LEN])
{
	int ret = dp_kdf_scrypt(password, len, k->salt, sizeof(k->salt), k->n, k->r, k->p, kek);

	if (ret)
		return dp_fail(ret, "scrypt: %s", strerror(-ret));
	return 0;
}

int dp_key_write(struct s3_store *st, const struct dp_keys *keys, const void *password, size_t len,
		 uint64_t scrypt_n, char *id)
{
	uint8_t kek[DP_KEY_LEN], master[DP_MASTER_LEN];
	struct dp_aead *a = NULL;
	struct dp_keyobj k;
	char kid[65], key[96];
	char *json = NULL;
	int ret;

	memset(&k, 0, sizeof(k));
	k.n = scrypt_n ? scrypt_n : DP_SCRYPT_N_DEFAULT;
	k.r = KEY_R;
	k.p = KEY_P;
	if (k.n < 2 || k.n > (1ull << 24) || (k.n & (k.n - 1)))
		return dp_fail(-EINVAL, "scrypt N must be a power of two from 2 to 2^24");
	if (!len)
		return dp_fail(-EINVAL, "an empty password is not a password");
	k.created = dp_now_us() / 1000000;
	key_identity(&k);
	ret = dp_random_bytes(k.salt, sizeof(k.salt));
	if (!ret)
		ret = dp_random_id(kid);
	if (!ret)
		ret = key_kek(&k, password, len, kek);
	if (ret)
		return ret;
	memcpy(master, keys->data_key, DP_KEY_LEN);
	memcpy(master + DP_KEY_LEN, keys->id_key, DP_KEY_LEN);
	ret = dp_aead_new(kek, &a);
	if (!ret)
		ret = dp_aead_seal(a, dp_key_aad, sizeof(dp_key_aad) - 1, master, sizeof(master),
				   k.master);
	dp_aead_free(a);
	dp_wipe(kek, sizeof(kek));
	dp_wipe(master, sizeof(master));
	if (ret)
		return dp_fail(ret, "wrapping the master key: %s", strerror(-ret));
	ret = dp_keyobj_encode(&k, &json);
	if (ret)
		return ret;
	snprintf(key, sizeof(key), KEYS_PREFIX "%s", kid);
	ret = s3_store_put(st, key, json, strlen(json));
	free(json);
	if (ret)
		return dp_fail(ret, "writing %s: %s", key, dp_store_detail());
	if (id)
		memcpy(id, kid, sizeof(kid));
	return 0;
}

/* ------------------------------------------------------------------ unlock */

struct key_walk {
	struct dp_repo *repo;
	const void *password;
	size_t len;
	unsigned int tried;
	bool found;
	int err;		  /* the first store error */
	struct dp_key_info *list; /* dp_key_list() */
	size_t n, cap;
};

static int key_read(struct dp_repo *repo, const char *key, struct dp_keyobj *k)
{
	void *buf = NULL;
	size_t len;
	int ret;

	ret = s3_store_get(repo->st, key, KEY_MAX, &buf, &len);
	if (ret)
		return dp_fail(ret, "reading %s: %s", key, dp_store_detail());
	ret = dp_keyobj_decode(buf, len, k);
	free(buf);
	return ret;
}

static int key_try(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct key_walk *w = arg;
	const char *kid = key + strlen(KEYS_PREFIX);
	uint8_t kek[DP_KEY_LEN], master[DP_MASTER_LEN], bin[DP_ID_LEN];
	struct dp_aead *a = NULL;
	struct dp_keyobj k;
	int ret;

	(void)size;
	(void)mtime;
	if (dp_unhex(kid, bin, DP_ID_LEN))
		return 0;
	ret = key_read(w->repo, key, &k);
	if (ret) {
		if (ret != -EBADMSG && !w->err)
			w->err = ret;
		pr_warn("skipping key %.16s: %s", kid, dp_last_error());
		return 0;
	}
	w->tried++;
	ret = key_kek(&k, w->password, w->len, kek);
	if (ret)
		return ret;
	ret = dp_aead_new(kek, &a);
	if (!ret)
		ret = dp_aead_open(a, dp_key_aad, sizeof(dp_key_aad) - 1, k.master,
				   sizeof(k.master), master);
	dp_aead_free(a);
	dp_wipe(kek, sizeof(kek));
	if (ret == -EUCLEAN)
		return 0; /* another password's key */
	if (ret)
		return ret;
	w->repo->keys.encrypted = true;
	memcpy(w->repo->keys.data_key, master, DP_KEY_LEN);
	memcpy(w->repo->keys.id_key, master + DP_KEY_LEN, DP_KEY_LEN);
	dp_wipe(master, sizeof(master));
	memcpy(w->repo->key_id, kid, 65);
	w->found = true;
	return 1; /* stop the listing */
}

int dp_repo_unlock(struct dp_repo *repo, const void *password, size_t len)
{
	struct key_walk w = {.repo = repo, .password = password, .len = len};
	int ret;

	dp_clear_error();
	if (!repo->locked)
		return 0;
	ret = s3_store_list(repo->st, KEYS_PREFIX, key_try, &w);
	if (ret < 0)
		return dp_last_error()[0] ? ret
					  : dp_fail(ret, "listing keys of %s: %s",
						    s3_store_url(repo->st), dp_store_detail());
	if (w.found) {
		repo->locked = false;
		return 0;
	}
	if (w.err)
		return dp_fail(w.err, "reading the keys of %s failed", s3_store_url(repo->st));
	if (!w.tried)
		return dp_fail(-EUCLEAN,
			       "repository %s is encrypted but has no key object: it is damaged",
			       s3_store_url(repo->st));
	return dp_fail(-EKEYREJECTED, "wrong password: none of the %u key%s of %s opens with it",
		       w.tried, w.tried == 1 ? "" : "s", s3_store_url(repo->st));
}

/* -------------------------------------------------------------- management */

static int key_list_one(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct key_walk *w = arg;
	const char *kid = key + strlen(KEYS_PREFIX);
	struct dp_key_info *i;
	struct dp_keyobj k;
	uint8_t bin[DP_ID_LEN];
	int ret;

	(void)size;
	(void)mtime;
	if (dp_unhex(kid, bin, DP_ID_LEN))
		return 0;
	ret = key_read(w->repo, key, &k);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return 0;
	if (w->n == w->cap) {
		void *p = dp_grow(w->list, &w->cap, w->n + 1, sizeof(*w->list));

		if (!p)
			return -ENOMEM;
		w->list = p;
	}
	i = &w->list[w->n++];
	memset(i, 0, sizeof(*i));
	memcpy(i->id, kid, 65);
	i->created = k.created;
	memcpy(i->hostname, k.hostname, sizeof(i->hostname));
	memcpy(i->username, k.username, sizeof(i->username));
	i->current = !strcmp(kid, w->repo->key_id);
	return 0;
}

static int key_info_cmp(const void *a, const void *b)
{
	const struct dp_key_info *x = a, *y = b;

	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	return strcmp(x->id, y->id);
}

int dp_key_list(struct dp_repo *repo, struct dp_key_info **out, size_t *n)
{
	struct key_walk w = {.repo = repo};
	int ret;

	dp_clear_error();
	*out = NULL;
	*n = 0;
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	if (!repo->keys.encrypted)
		return dp_fail(-EINVAL, "repository %s is not encrypted: it has no keys",
			       s3_store_url(repo->st));
	ret = s3_store_list(repo->st, KEYS_PREFIX, key_list_one, &w);
	if (ret) {
		free(w.list);
		return dp_last_error()[0] ? ret
					  : dp_fail(ret, "listing keys: %s", dp_store_detail());
	}
	if (w.n)
		qsort(w.list, w.n, sizeof(*w.list), key_info_cmp);
	*out = w.list;
	*n = w.n;
	return 0;
}

int dp_key_add(struct dp_repo *repo, const void *password, size_t len, uint64_t scrypt_n, char *id)
{
	int ret;

	dp_clear_error();
	ret = dp_repo_check_unlocked(repo);
	if (ret)
		return ret;
	if (!repo->keys.encrypted)
		return dp_fail(-EINVAL, "repository %s is not encrypted: it takes no keys",
			       s3_store_url(repo->st));
	return dp_key_write(repo->st, &repo->keys, password, len, scrypt_n, id);
}

int dp_key_remove(struct dp_repo *repo, const char *id)
{
	struct dp_key_info *list = NULL, *found = NULL;
	size_t n = 0, len = strlen(id);
	char key[96];
	int ret;

	ret = dp_key_list(repo, &list, &n);
	if (ret)
		return ret;
	for (size_t i = 0; i < n; i++) {
		if (len < 8 || strncmp(list[i].id, id, len))
			continue;
		if (found) {
			ret = dp_fail(-ENOTUNIQ, "key prefix '%s' is ambiguous", id);
			goto out;
		}
		found = &list[i];
	}
	if (!found && len < 8) {
		ret = dp_fail(-EINVAL, "'%s': give at least 8 hex digits of a key id", id);
		goto out;
	}
	if (!found) {
		ret = dp_fail(-ENOENT, "no key '%s'", id);
		goto out;
	}
	if (found->current || n == 1) {
		ret = dp_fail(
			-EBUSY,
			"key %.16s %s: open the repository with another key's password to remove it",
			found->id, n == 1 ? "is the last key" : "is the one in use");
		goto out;
	}
	snprintf(key, sizeof(key), KEYS_PREFIX "%s", found->id);
	ret = s3_store_delete(repo->st, key);
	if (ret)
		ret = dp_fail(ret, "deleting %s: %s", key, dp_store_detail());
out:
	free(list);
	return ret;
}

int dp_key_passwd(struct dp_repo *repo, const void *password, size_t len, uint64_t scrypt_n,
		  char *id, char *old)
{
	char key[96];
	int ret;

	ret = dp_key_add(repo, password, len, scrypt_n, id);
	if (ret)
		return ret;
	memcpy(old, repo->key_id, 65);
	memcpy(repo->key_id, id, 65);
	snprintf(key, sizeof(key), KEYS_PREFIX "%s", old);
	ret = s3_store_delete(repo->st, key);
	if (ret)
		return dp_fail(ret, "new key %.16s added, but deleting the old key %s failed: %s",
			       id, key, dp_store_detail());
	return 0;
}
