// SPDX-License-Identifier: MIT
/*
 * s3/store_file.c - the file:// backend: a repository in a local directory.
 *
 * Crash safety: every object is written under a temporary name in its final
 * directory (".tmp-<random>"), fsynced, renamed into place with
 * RENAME_NOREPLACE (so a key is never replaced) and the directory is fsynced.
 * A crash leaves at most a temporary file, which listings skip and
 * s3_store_list_uploads() reports (`ferry repo cleanup` removes old ones). New
 * directories are fsynced into their parent as well.
 *
 * Multipart uploads resume as on s3://: the upload id is the temporary
 * file's name, a part's ETag the first 128 bits of the SHA-256 of its bytes
 * (hex, quoted as S3 quotes them; SHA-256 rather than S3's MD5: the same
 * check at over twice the speed where the CPU has SHA instructions, as the
 * chunk ids need anyway), and listing the parts reads the temporary file back in
 * part-size pieces and hashes each: a part a killed process wrote halfway
 * lists with an ETag that matches no journal, and is sent again.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "s3_int.h"

#define TMP_PREFIX ".tmp-"

struct file_store {
	char *root; /* absolute, no trailing slash */
	bool fsync;
};

#define ETAG_HEX 33 /* 32 hex digits and a NUL */

struct file_upload {
	struct s3_upload up; /* first: store.c sees only this */
	char *path;	     /* final path */
	char *tmp;	     /* temporary path */
	int fd;
	size_t part_size;
	unsigned int max_num;	 /* highest part number in the file */
	size_t last_len;	 /* length of part max_num */
	unsigned int nparts_set; /* s3_upload_set_nparts(), 0: max_num */
	int err;		 /* first error, sticky */
	pthread_mutex_t lock;	 /* etags and its size: s3_upload_part_etag() from any thread */
	char (*etags)[ETAG_HEX]; /* per part number, "" when not known */
	unsigned int etags_cap;
	unsigned char seen[(S3_UPLOAD_MAX_PARTS + 8) / 8]; /* queued by this handle */
	unsigned char have[(S3_UPLOAD_MAX_PARTS + 8) / 8]; /* in the file: queued or listed */
};

static struct file_store *fs_of(struct s3_store *st)
{
	return st->priv;
}

static char *fs_path(struct s3_store *st, const char *key)
{
	char *p;

	if (asprintf(&p, "%s/%s", fs_of(st)->root, key) < 0)
		return NULL;
	return p;
}

static int fs_fsync_dir(const char *dir)
{
	int fd, ret = 0;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fsync(fd))
		ret = -errno;
	close(fd);
	return ret;
}

static int fs_fsync_parent(struct file_store *fs, const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (!fs->fsync)
		return 0;
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	return fs_fsync_dir(dir);
}

/* mkdir -p of the directory that holds @path (the root itself must exist) */
static int fs_mkparents(struct file_store *fs, const char *path)
{
	char dir[PATH_MAX];
	size_t rootlen = strlen(fs->root);
	char *p;
	int ret;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -ENAMETOOLONG;
	p = strrchr(dir, '/');
	if (!p || (size_t)(p - dir) <= rootlen)
		return 0;
	*p = '\0';
	for (p = dir + rootlen + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(dir, 0700) == 0) {
			ret = fs_fsync_parent(fs, dir);
			if (ret)
				return ret;
		} else if (errno != EEXIST) {
			return -errno;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static int fs_tmpname(const char *path, char **out)
{
	unsigned char rnd[8];
	const char *slash = strrchr(path, '/');
	int dirlen = (int)(slash - path);

	if (getrandom(rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	if (asprintf(out, "%.*s/" TMP_PREFIX "%02x%02x%02x%02x%02x%02x%02x%02x", dirlen, path,
		     rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]) < 0)
		return -ENOMEM;
	return 0;
}

/* Open a new temporary file beside @path, creating parent directories. */
static int fs_open_tmp(struct file_store *fs, const char *path, char **tmp)
{
	int fd, ret;

	ret = fs_mkparents(fs, path);
	if (ret)
		return ret;
	ret = fs_tmpname(path, tmp);
	if (ret)
		return ret;
	fd = open(*tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		free(*tmp);
		*tmp = NULL;
		return ret;
	}
	return fd;
}

/* fsync @fd, rename @tmp to @path without replacing, fsync the directory. */
static int fs_commit(struct file_store *fs, int fd, const char *tmp, const char *path)
{
	if (fs->fsync && fsync(fd))
		return -errno;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE)) {
		int ret = -errno;

		/* RENAME_NOREPLACE is missing on a few filesystems: link() is atomic too */
		if (ret != -EINVAL)
			return ret;
		if (link(tmp, path))
			return -errno;
		unlink(tmp);
	}
	return fs_fsync_parent(fs, path);
}

static int fs_write_all(int fd, const void *buf, size_t len, off_t off)
{
	const char *p = buf;

	while (len) {
		ssize_t n = pwrite(fd, p, len, off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += n;
		off += n;
		len -= (size_t)n;
	}
	return 0;
}

static void fs_free(struct s3_store *st)
{
	struct file_store *fs = fs_of(st);

	if (!fs)
		return;
	free(fs->root);
	free(fs);
	st->priv = NULL;
}

static int fs_mkroot(struct s3_store *st)
{
	struct file_store *fs = fs_of(st);
	char path[PATH_MAX];
	char *p;

	if (snprintf(path, sizeof(path), "%s", fs->root) >= (int)sizeof(path))
		return s3_fail(-ENAMETOOLONG, "%s: path too long", fs->root);
	for (p = path + 1;; p++) {
		char c = *p;

		if (c != '/' && c != '\0')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST)
			return s3_fail(-errno, "mkdir %s: %s", path, strerror(errno));
		*p = c;
		if (c == '\0')
			break;
	}
	return 0;
}

static int fs_put(struct s3_store *st, const char *key, const void *buf, size_t len)
{
	struct file_store *fs = fs_of(st);
	char *path = fs_path(st, key), *tmp = NULL;
	int fd = -1, ret;

	if (!path)
		return -ENOMEM;
	fd = fs_open_tmp(fs, path, &tmp);
	if (fd < 0) {
		ret = s3_fail(fd, "create %s: %s", path, strerror(-fd));
		goto out;
	}
	ret = fs_write_all(fd, buf, len, 0);
	if (ret) {
		s3_fail(ret, "write %s: %s", tmp, strerror(-ret));
		goto out_unlink;
	}
	ret = fs_commit(fs, fd, tmp, path);
	if (ret) {
		s3_fail(ret, "commit %s: %s", path, strerror(-ret));
		goto out_unlink;
	}
	goto out;
out_unlink:
	unlink(tmp);
out:
	if (fd >= 0)
		close(fd);
	free(tmp);
	free(path);
	return ret;
}

static int fs_open_key(struct s3_store *st, const char *key, struct stat *sb)
{
	char *path = fs_path(st, key);
	int fd, ret;

	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = s3_fail(-errno, "open %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, sb)) {
		ret = s3_fail(-errno, "stat %s: %s", path, strerror(errno));
		close(fd);
		goto out;
	}
	if (!S_ISREG(sb->st_mode)) {
		ret = s3_fail(-EISDIR, "%s: not a regular file", path);
		close(fd);
		goto out;
	}
	ret = fd;
out:
	free(path);
	return ret;
}

static ssize_t fs_read_at(int fd, void *buf, size_t len, off_t off)
{
	char *p = buf;
	size_t got = 0;

	while (got < len) {
		ssize_t n = pread(fd, p + got, len - got, off + (off_t)got);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int fs_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len)
{
	struct stat sb;
	void *buf = NULL;
	ssize_t n;
	int fd, ret = 0;

	fd = fs_open_key(st, key, &sb);
	if (fd < 0)
		return fd;
	if ((uint64_t)sb.st_size > max) {
		ret = s3_fail(-EFBIG, "%s: %lld bytes, more than the %zu expected", key,
			      (long long)sb.st_size, max);
		goto out;
	}
	buf = malloc(sb.st_size ? (size_t)sb.st_size : 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	n = fs_read_at(fd, buf, (size_t)sb.st_size, 0);
	if (n < 0) {
		ret = s3_fail((int)n, "read %s: %s", key, strerror((int)-n));
		goto out;
	}
	*out = buf;
	*len = (size_t)n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return ret;
}

static ssize_t fs_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf,
			    size_t len)
{
	struct stat sb;
	ssize_t n;
	int fd;

	fd = fs_open_key(st, key, &sb);
	if (fd < 0)
		return fd;
	n = fs_read_at(fd, buf, len, (off_t)off);
	if (n < 0)
		s3_fail((int)n, "read %s: %s", key, strerror((int)-n));
	close(fd);
	return n;
}

static ssize_t fs_get_tail(struct s3_store *st, const char *key, void *buf, size_t len,
			   uint64_t *size)
{
	struct stat sb;
	uint64_t off;
	ssize_t n;
	int fd;

	fd = fs_open_key(st, key, &sb);
	if (fd < 0)
		return fd;
	*size = (uint64_t)sb.st_size;
	off = *size > len ? *size - len : 0;
	n = fs_read_at(fd, buf, (size_t)(*size - off), (off_t)off);
	if (n < 0)
		s3_fail((int)n, "read %s: %s", key, strerror((int)-n));
	close(fd);
	return n;
}

static int fs_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf,
			      size_t len, s3_done_fn done, void *arg)
{
	ssize_t n = fs_get_range(st, key, off, buf, len);

	done(arg, n < 0 ? (int)n : (int)n, n < 0 ? s3_last_error() : "");
	return 0;
}

/* stat() of the object @key: a regular file, or an error (s3_last_error() set) */
static int fs_stat(struct s3_store *st, const char *key, struct stat *sb)
{
	char *path = fs_path(st, key);
	int ret = 0;

	if (!path)
		return -ENOMEM;
	if (stat(path, sb))
		ret = s3_fail(-errno, "stat %s: %s", path, strerror(errno));
	else if (!S_ISREG(sb->st_mode))
		ret = s3_fail(-EISDIR, "%s: not a regular file", path);
	free(path);
	return ret;
}

static int fs_head(struct s3_store *st, const char *key, uint64_t *size)
{
	struct stat sb;
	int ret = fs_stat(st, key, &sb);

	if (!ret)
		*size = (uint64_t)sb.st_size;
	return ret;
}

/*
 * Walk @dir (the path of key prefix @rel), reporting files whose key starts
 * with @prefix: the objects, or with @tmp the temporary files instead.
 */
static int fs_walk(int dfd, char *rel, size_t rellen, const char *prefix, bool tmp, s3_list_fn fn,
		   void *arg)
{
	size_t plen = strlen(prefix);
	DIR *d;
	struct dirent *de;
	int ret = 0;

	d = fdopendir(dfd);
	if (!d) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	while ((errno = 0, de = readdir(d))) {
		struct stat sb;
		size_t n = strlen(de->d_name);

		bool is_tmp = !strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX));

		if (de->d_name[0] == '.' && !(tmp && is_tmp)) /* ".", "..", temporaries */
			continue;
		if (rellen + n + 2 > S3_KEY_MAX + 1)
			continue;
		memcpy(rel + rellen, de->d_name, n + 1);
		/* prune subtrees that cannot match */
		if (strncmp(rel, prefix, rellen + n < plen ? rellen + n : plen))
			continue;
		if (fstatat(dirfd(d), de->d_name, &sb, AT_SYMLINK_NOFOLLOW))
			continue; /* raced with a delete */
		if (S_ISDIR(sb.st_mode) && !is_tmp) {
			int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (fd < 0)
				continue;
			rel[rellen + n] = '/';
			rel[rellen + n + 1] = '\0';
			ret = fs_walk(fd, rel, rellen + n + 1, prefix, tmp, fn, arg);
		} else if (S_ISREG(sb.st_mode) && is_tmp == tmp && !strncmp(rel, prefix, plen)) {
			ret = fn(arg, rel, (uint64_t)sb.st_size, (int64_t)sb.st_mtime);
		}
		if (ret)
			break;
	}
	if (!ret && errno)
		ret = -errno;
	closedir(d);
	return ret;
}

static int fs_del(struct s3_store *st, const char *key);

static int fs_list_some(struct s3_store *st, const char *prefix, bool tmp, s3_list_fn fn, void *arg)
{
	char rel[S3_KEY_MAX + 2] = "";
	int fd, ret;

	fd = open(fs_of(st)->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return s3_fail(-errno, "open %s: %s", fs_of(st)->root, strerror(errno));
	ret = fs_walk(fd, rel, 0, prefix, tmp, fn, arg);
	if (ret < 0 && !s3_last_error()[0])
		s3_fail(ret, "list %s: %s", fs_of(st)->root, strerror(-ret));
	return ret;
}

static int fs_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg)
{
	return fs_list_some(st, prefix, false, fn, arg);
}

/* The listings of unfinished uploads and of versions, on top of fs_list_some(). */
struct fs_adapter {
	s3_upload_list_fn upload_fn;
	s3_version_fn version_fn;
	void *arg;
};

static int fs_upload_entry(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct fs_adapter *a = arg;
	const char *slash = strrchr(key, '/');

	(void)size;
	return a->upload_fn(a->arg, key, slash ? slash + 1 : key, mtime);
}

static int fs_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn, void *arg)
{
	struct fs_adapter a = {.upload_fn = fn, .arg = arg};

	return fs_list_some(st, prefix, true, fs_upload_entry, &a);
}

/* What fs_list_uploads() reported: @upload_id is the temporary file's name. */
static int fs_abort_upload(struct s3_store *st, const char *key, const char *upload_id)
{
	const char *slash = strrchr(key, '/'), *name = slash ? slash + 1 : key;
	int ret;

	if (strcmp(name, upload_id) || strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)))
		return s3_fail(-EINVAL, "%s: not an unfinished upload (%s)", key, upload_id);
	ret = fs_del(st, key);
	if (ret == -ENOENT) {
		s3_clear_error();
		ret = 0;
	}
	return ret;
}

static int fs_version_entry(void *arg, const char *key, uint64_t size, int64_t mtime)
{
	struct fs_adapter *a = arg;

	return a->version_fn(a->arg, key, "null", true, false, size, mtime);
}

static int fs_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg)
{
	struct fs_adapter a = {.version_fn = fn, .arg = arg};

	return fs_list_some(st, prefix, false, fs_version_entry, &a);
}

static int fs_del(struct s3_store *st, const char *key)
{
	char *path = fs_path(st, key);
	int ret = 0;

	if (!path)
		return -ENOMEM;
	if (unlink(path))
		ret = s3_fail(-errno, "unlink %s: %s", path, strerror(errno));
	else
		ret = fs_fsync_parent(fs_of(st), path);
	free(path);
	return ret;
}

static int fs_delete_version(struct s3_store *st, const char *key, const char *version_id)
{
	if (strcmp(version_id, "null"))
		return s3_fail(-ENOENT, "%s: no version '%s' (file:// keeps one version, \"null\")",
			       key, version_id);
	return fs_del(st, key);
}

static int fs_head_version(struct s3_store *st, const char *key, const char *version_id,
			   struct s3_version_info *info)
{
	struct stat sb;
	int ret;

	if (strcmp(version_id, "null"))
		return s3_fail(-ENOENT, "%s: no version '%s' (file:// keeps one version, \"null\")",
			       key, version_id);
	ret = fs_stat(st, key, &sb);
	if (!ret) {
		info->size = (uint64_t)sb.st_size;
		info->mtime = (int64_t)sb.st_mtime;
	}
	return ret;
}

/* the quoted ETag of @hex (32 digits) */
static void fu_etag(const char *hex, char etag[S3_ETAG_SIZE])
{
	snprintf(etag, S3_ETAG_SIZE, "\"%s\"", hex);
}

/* the digest of @len bytes, hex, into part @num's slot. Return: 0; -ENOMEM; -EIO. */
static int fu_hash(struct file_upload *fu, unsigned int num, const void *buf, size_t len)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dl = 0;
	char hex[ETAG_HEX];
	int ret = 0;

	if (!EVP_Digest(buf, len, d, &dl, EVP_sha256(), NULL) || dl < 16)
		return -EIO;
	for (unsigned int i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	pthread_mutex_lock(&fu->lock);
	if (num >= fu->etags_cap) {
		unsigned int cap = fu->etags_cap ? fu->etags_cap : 16;
		char(*n)[ETAG_HEX];

		while (cap <= num)
			cap *= 2;
		n = realloc(fu->etags, cap * sizeof(*n));
		if (!n) {
			ret = -ENOMEM;
			goto out;
		}
		memset(n + fu->etags_cap, 0, (cap - fu->etags_cap) * sizeof(*n));
		fu->etags = n;
		fu->etags_cap = cap;
	}
	memcpy(fu->etags[num], hex, ETAG_HEX);
out:
	pthread_mutex_unlock(&fu->lock);
	return ret;
}

/* part @num of @len bytes is in the file */
static void fu_have(struct file_upload *fu, unsigned int num, size_t len)
{
	fu->have[num / 8] |= (unsigned char)(1u << (num % 8));
	if (num >= fu->max_num) {
		fu->max_num = num;
		fu->last_len = len;
	}
}

static struct file_upload *fu_alloc(struct s3_store *st, const char *key, size_t part_size)
{
	struct file_upload *fu = calloc(1, sizeof(*fu));

	if (!fu)
		return NULL;
	fu->up.st = st;
	fu->fd = -1;
	fu->part_size = part_size;
	pthread_mutex_init(&fu->lock, NULL);
	fu->path = fs_path(st, key);
	if (!fu->path) {
		pthread_mutex_destroy(&fu->lock);
		free(fu);
		return NULL;
	}
	return fu;
}

static void fs_upload_free(struct file_upload *fu, bool unlink_tmp)
{
	if (fu->fd >= 0)
		close(fu->fd);
	if (unlink_tmp && fu->tmp)
		unlink(fu->tmp);
	pthread_mutex_destroy(&fu->lock);
	free(fu->etags);
	free(fu->tmp);
	free(fu->path);
	free(fu);
}

static int fs_upload_new(struct s3_store *st, const char *key, size_t part_size,
			 struct s3_upload **out)
{
	struct file_upload *fu = fu_alloc(st, key, part_size);
	int ret;

	if (!fu)
		return -ENOMEM;
	fu->fd = fs_open_tmp(fs_of(st), fu->path, &fu->tmp);
	if (fu->fd < 0) {
		ret = s3_fail(fu->fd, "create %s: %s", fu->path, strerror(-fu->fd));
		fs_upload_free(fu, false);
		return ret;
	}
	*out = &fu->up;
	return 0;
}

static int fs_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
			  s3_done_fn done, void *arg)
{
	struct file_upload *fu = (struct file_upload *)up;
	unsigned char bit = (unsigned char)(1u << (num % 8));
	char detail[512] = "";
	int ret;

	if (fu->err)
		return -ECANCELED;
	if (len > fu->part_size || (fu->seen[num / 8] & bit))
		return -EINVAL;
	ret = fs_write_all(fu->fd, buf, len, (off_t)(num - 1) * (off_t)fu->part_size);
	if (!ret)
		ret = fu_hash(fu, num, buf, len);
	if (ret) {
		fu->err = ret;
		snprintf(detail, sizeof(detail), "write %s: %s", fu->tmp, strerror(-ret));
	} else {
		fu->seen[num / 8] |= bit;
		fu_have(fu, num, len);
	}
	done(arg, ret, detail);
	return 0;
}

static int fs_upload_complete(struct s3_upload *up)
{
	struct file_upload *fu = (struct file_upload *)up;
	struct file_store *fs = fs_of(up->st);
	unsigned int n = fu->nparts_set ? fu->nparts_set : fu->max_num;
	uint64_t size;
	int ret = fu->err;

	if (ret) {
		s3_fail(ret, "upload %s failed: %s", fu->path, strerror(-ret));
		goto out;
	}
	if (n == 0) {
		ret = s3_fail(-EINVAL, "upload %s: no part written", fu->path);
		goto out;
	}
	for (unsigned int i = 1; i <= n; i++) {
		if (!(fu->have[i / 8] & (1u << (i % 8)))) {
			ret = s3_fail(-EINVAL, "upload %s: parts 1..%u incomplete (no part %u)",
				      fu->path, n, i);
			goto out;
		}
	}
	/* every part but the last is full */
	size = (uint64_t)(n - 1) * fu->part_size +
	       (n == fu->max_num ? fu->last_len : fu->part_size);
	if (ftruncate(fu->fd, (off_t)size)) {
		ret = s3_fail(-errno, "truncate %s: %s", fu->tmp, strerror(errno));
		goto out;
	}
	ret = fs_commit(fs, fu->fd, fu->tmp, fu->path);
	if (ret)
		s3_fail(ret, "commit %s: %s", fu->path, strerror(-ret));
out:
	fs_upload_free(fu, ret != 0);
	return ret;
}

static void fs_upload_abort(struct s3_upload *up)
{
	fs_upload_free((struct file_upload *)up, true);
}

/* the temporary file stays for s3_upload_resume() (or `ferry repo cleanup`) */
static void fs_upload_detach(struct s3_upload *up)
{
	fs_upload_free((struct file_upload *)up, false);
}

static int fs_upload_id(struct s3_upload *up, const char **id)
{
	struct file_upload *fu = (struct file_upload *)up;
	const char *slash = strrchr(fu->tmp, '/');

	*id = slash ? slash + 1 : fu->tmp;
	return 0;
}

static int fs_upload_part_etag(struct s3_upload *up, unsigned int num, char *etag)
{
	struct file_upload *fu = (struct file_upload *)up;
	int ret = -ENOENT;

	pthread_mutex_lock(&fu->lock);
	if (num < fu->etags_cap && fu->etags[num][0]) {
		fu_etag(fu->etags[num], etag);
		ret = 0;
	}
	pthread_mutex_unlock(&fu->lock);
	return ret;
}

/*
 * The parts in the temporary file: each part-size piece (the last may be
 * short) hashed, counted in, and given to @fn (NULL: counted only).
 */
static int fs_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg)
{
	struct file_upload *fu = (struct file_upload *)up;
	struct stat sb;
	char etag[S3_ETAG_SIZE];
	void *buf = NULL;
	uint64_t size, off = 0;
	unsigned int num = 0;
	int ret = 0;

	if (fstat(fu->fd, &sb))
		return s3_fail(-errno, "stat %s: %s", fu->tmp, strerror(errno));
	size = (uint64_t)sb.st_size;
	if (size > (uint64_t)S3_UPLOAD_MAX_PARTS * fu->part_size)
		return s3_fail(-EINVAL, "%s: larger than %u parts of %zu bytes", fu->tmp,
			       S3_UPLOAD_MAX_PARTS, fu->part_size);
	if (size && !(buf = malloc(fu->part_size)))
		return -ENOMEM;
	for (; !ret && off < size; off += fu->part_size) {
		size_t len = size - off < fu->part_size ? (size_t)(size - off) : fu->part_size;
		ssize_t r = pread(fu->fd, buf, len, (off_t)off);

		num++;
		if (r != (ssize_t)len) {
			ret = s3_fail(r < 0 ? -errno : -EIO, "read %s: %s", fu->tmp,
				      r < 0 ? strerror(errno) : "short read");
			break;
		}
		if (fu->seen[num / 8] & (1u << (num % 8)))
			; /* queued by this handle: it keeps its own */
		else if ((ret = fu_hash(fu, num, buf, len)) == 0)
			fu_have(fu, num, len);
		if (!ret && fn) {
			ret = fs_upload_part_etag(up, num, etag);
			if (!ret)
				ret = fn(arg, num, len, etag);
		}
	}
	free(buf);
	return ret;
}

static int fs_upload_resume(struct s3_store *st, const char *key, const char *upload_id,
			    size_t part_size, struct s3_upload **out)
{
	struct file_upload *fu;
	const char *slash;
	int ret;

	if (strncmp(upload_id, TMP_PREFIX, strlen(TMP_PREFIX)) || strchr(upload_id, '/') ||
	    !part_size)
		return s3_fail(-ENOENT, "%s: no unfinished upload %s", key, upload_id);
	fu = fu_alloc(st, key, part_size);
	if (!fu)
		return -ENOMEM;
	slash = strrchr(fu->path, '/');
	if (asprintf(&fu->tmp, "%.*s/%s", (int)(slash - fu->path), fu->path, upload_id) < 0) {
		fu->tmp = NULL;
		fs_upload_free(fu, false);
		return -ENOMEM;
	}
	fu->fd = open(fu->tmp, O_RDWR | O_CLOEXEC);
	if (fu->fd < 0) {
		ret = s3_fail(-errno, "%s: unfinished upload %s: %s", key, upload_id,
			      strerror(errno));
		fs_upload_free(fu, false);
		return ret;
	}
	ret = fs_upload_list_parts(&fu->up, NULL, NULL);
	if (ret) {
		fs_upload_free(fu, false);
		return ret;
	}
	*out = &fu->up;
	return 0;
}

static int fs_upload_set_nparts(struct s3_upload *up, unsigned int n)
{
	((struct file_upload *)up)->nparts_set = n;
	return 0;
}

static const struct s3_backend_ops file_ops = {
	.free = fs_free,
	.mkroot = fs_mkroot,
	.put = fs_put,
	.get = fs_get,
	.get_range = fs_get_range,
	.get_tail = fs_get_tail,
	.get_range_async = fs_get_range_async,
	.head = fs_head,
	.list = fs_list,
	.del = fs_del,
	.upload_new = fs_upload_new,
	.upload_part = fs_upload_part,
	.upload_complete = fs_upload_complete,
	.upload_abort = fs_upload_abort,
	.upload_id = fs_upload_id,
	.upload_resume = fs_upload_resume,
	.upload_list_parts = fs_upload_list_parts,
	.upload_part_etag = fs_upload_part_etag,
	.upload_set_nparts = fs_upload_set_nparts,
	.upload_detach = fs_upload_detach,
	.list_uploads = fs_list_uploads,
	.abort_upload = fs_abort_upload,
	.list_versions = fs_list_versions,
	.delete_version = fs_delete_version,
	.head_version = fs_head_version,
};

/* @path: what follows "file://" (an absolute path), or a bare absolute path */
static int fs_open(struct s3_store *st, const char *path, const struct s3_store_opts *opts)
{
	struct file_store *fs;
	size_t len = strlen(path);

	if (path[0] != '/')
		return s3_fail(-EINVAL, "%s: a file:// URL needs an absolute path (file:///path)",
			       st->url);
	while (len > 1 && path[len - 1] == '/')
		len--;
	if (len >= PATH_MAX - S3_KEY_MAX - 32)
		return s3_fail(-ENAMETOOLONG, "%s: path too long", path);
	fs = calloc(1, sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->root = strndup(path, len);
	if (!fs->root) {
		free(fs);
		return -ENOMEM;
	}
	fs->fsync = !(opts && opts->fsync < 0);
	st->priv = fs;
	st->ops = &file_ops;
	st->local = true;
	return 0;
}

const struct s3_backend s3_backend_file = {
	.scheme = "file://",
	.bare_paths = true,
	.open = fs_open,
};
