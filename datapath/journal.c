// SPDX-License-Identifier: MIT
/*
 * datapath/journal.c - the resume journal of a pack upload (DESIGN.md
 * "Resume"): with a state directory, every pack of an object store that can
 * resume uploads gets a journal file there, appended to as the pack grows:
 *
 *   ferry-pack-journal 1
 *   key <pack key>
 *   part_size <bytes>
 *   upload <upload id>
 *   chunk <id hex> <offset> <stored_len> <raw_len> <kind>    a blob appended
 *   part <number> <etag>                                    a part acknowledged
 *   complete                                                the upload completed
 *
 * Lines are plain text, written in one write(2) each; a torn last line is
 * ignored. The journal is fsynced when its pack completes: a process that is
 * killed loses nothing of it, a node that loses power may lose the last
 * records (those parts are then sent again). What a later run does with a
 * journal is the packer's (dp_packer_resume(), packer.c).
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt.h"
#include "blob.h"
#include "packfmt.h"
#include "repo_int.h"
#include "journal.h"

#define JOURNAL_MAGIC "ferry-pack-journal 1\n"

struct dp_journal {
	int fd; /* -1 once a write failed */
	char *path;
	pthread_mutex_t lock; /* the part callbacks write from the store's thread */
};

/* ---------------------------------------------------------------- writing */

/* One line, in one write: a reader sees it whole or not at all. */
static void journal_line(struct dp_journal *j, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void journal_line(struct dp_journal *j, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	int n;

	if (!j)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n <= 0 || (size_t)n >= sizeof(line))
		return;
	pthread_mutex_lock(&j->lock);
	if (j->fd >= 0 && write(j->fd, line, (size_t)n) != n) {
		/* a journal that cannot be written is no journal: resume then starts over */
		close(j->fd);
		j->fd = -1;
		unlink(j->path);
	}
	pthread_mutex_unlock(&j->lock);
}

static int journal_create(const char *path, struct dp_journal **out)
{
	struct dp_journal *j;

	*out = NULL;
	j = calloc(1, sizeof(*j));
	if (!j)
		return -ENOMEM;
	j->path = strdup(path);
	if (!j->path) {
		free(j);
		return -ENOMEM;
	}
	pthread_mutex_init(&j->lock, NULL);
	j->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (j->fd < 0) {
		int ret = -errno;

		dp_journal_close(j, false);
		return ret;
	}
	*out = j;
	return 0;
}

static void journal_header(struct dp_journal *j, const char *key, size_t part_size,
			   const char *upload_id)
{
	journal_line(j, JOURNAL_MAGIC "key %s\npart_size %zu\nupload %s\n", key, part_size,
		     upload_id);
}

int dp_journal_new(const char *dir, const uint8_t pack_id[DP_ID_LEN], const char *key,
		   size_t part_size, const char *upload_id, struct dp_journal **out)
{
	char hex[2 * DP_ID_LEN + 1], *path = NULL;
	int ret;

	*out = NULL;
	dp_hex(pack_id, DP_ID_LEN, hex);
	if (asprintf(&path, "%s/%s.journal", dir, hex) < 0)
		return -ENOMEM;
	ret = journal_create(path, out);
	if (ret == -ENOMEM) {
		free(path);
		return ret;
	}
	if (ret)
		pr_warn("no journal for %s: %s: %s", key, path, strerror(-ret));
	else
		journal_header(*out, key, part_size, upload_id);
	free(path);
	return 0;
}

bool dp_journal_is_open(const struct dp_journal *j)
{
	return j && j->fd >= 0;
}

void dp_journal_chunk(struct dp_journal *j, const struct dp_pack_entry *e)
{
	char hex[2 * DP_ID_LEN + 1];

	if (!dp_journal_is_open(j))
		return;
	dp_hex(e->id, DP_ID_LEN, hex);
	journal_line(j, "chunk %s %llu %u %u %u\n", hex, (unsigned long long)e->offset,
		     e->stored_len, e->raw_len, e->kind);
}

void dp_journal_part(struct dp_journal *j, unsigned int num, const char *etag)
{
	journal_line(j, "part %u %s\n", num, etag);
}

void dp_journal_complete(struct dp_journal *j)
{
	journal_line(j, "complete\n");
	if (dp_journal_is_open(j))
		fsync(j->fd);
}

void dp_journal_close(struct dp_journal *j, bool remove)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	if (remove)
		unlink(j->path);
	pthread_mutex_destroy(&j->lock);
	free(j->path);
	free(j);
}

int dp_journal_rewrite(const char *path, const struct dp_journal_info *ji,
		       const struct dp_pack_entry *e, size_t n, unsigned int kept_parts,
		       struct dp_journal **out)
{
	struct dp_journal *j = NULL;
	char tmp[4096 + 8];
	int ret;

	*out = NULL;
	if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	unlink(tmp);
	ret = journal_create(tmp, &j);
	if (ret)
		return ret;
	journal_header(j, ji->key, ji->part_size, ji->upload);
	for (size_t i = 0; i < n; i++)
		dp_journal_chunk(j, &e[i]);
	for (unsigned int k = 1; k <= kept_parts; k++)
		dp_journal_part(j, k, ji->parts[k].etag);
	if (!dp_journal_is_open(j) || rename(tmp, path)) {
		dp_journal_close(j, true);
		return -EIO;
	}
	free(j->path);
	j->path = strdup(path);
	if (!j->path) {
		j->path = NULL;
		close(j->fd);
		j->fd = -1;
		dp_journal_close(j, false);
		return -ENOMEM;
	}
	*out = j;
	return 0;
}

/* ---------------------------------------------------------------- reading */

void dp_journal_info_fini(struct dp_journal_info *j)
{
	free(j->e);
	free(j->parts);
	memset(j, 0, sizeof(*j));
}

static int journal_read_chunk(struct dp_journal_info *j, const char *line)
{
	unsigned int len, raw, kind;
	unsigned long long off;
	struct dp_pack_entry *e;
	char hex[80];
	void *p;

	if (sscanf(line, "chunk %79s %llu %u %u %u", hex, &off, &len, &raw, &kind) != 5)
		return 0;
	p = dp_grow(j->e, &j->cap, j->n + 1, sizeof(*j->e));
	if (!p)
		return -ENOMEM;
	j->e = p;
	e = &j->e[j->n];
	if (dp_unhex(hex, e->id, DP_ID_LEN) || !len || !raw || kind > DP_BLOB_ZSTD)
		return 0;
	e->offset = off;
	e->stored_len = len;
	e->raw_len = raw;
	e->kind = (uint8_t)kind;
	j->n++;
	return 0;
}

int dp_journal_read(const char *path, struct dp_journal_info *j)
{
	char line[1024];
	FILE *f;
	int ret = 0;

	memset(j, 0, sizeof(*j));
	j->parts = calloc(S3_UPLOAD_MAX_PARTS + 1, sizeof(*j->parts));
	if (!j->parts)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f) || strcmp(line, JOURNAL_MAGIC)) {
		fclose(f);
		return -EBADMSG;
	}
	while (!ret && fgets(line, sizeof(line), f)) {
		char etag[S3_ETAG_SIZE];
		unsigned int num;

		if (!strchr(line, '\n'))
			break; /* torn */
		if (sscanf(line, "key %79s", j->key) == 1 ||
		    sscanf(line, "upload %511s", j->upload) == 1 ||
		    sscanf(line, "part_size %zu", &j->part_size) == 1)
			continue;
		if (!strcmp(line, "complete\n")) {
			j->complete = true;
		} else if (sscanf(line, "part %u %131s", &num, etag) == 2) {
			if (num >= 1 && num <= S3_UPLOAD_MAX_PARTS) {
				snprintf(j->parts[num].etag, sizeof(j->parts[num].etag), "%s",
					 etag);
				j->parts[num].have = true;
			}
		} else {
			ret = journal_read_chunk(j, line);
		}
	}
	fclose(f);
	if (!ret && (!j->key[0] || !j->upload[0] || !j->part_size))
		ret = -EBADMSG;
	return ret;
}

int dp_journal_each(const char *dir, dp_journal_fn fn, void *arg)
{
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = opendir(dir);
	if (!d)
		return errno == ENOENT
			       ? 0
			       : dp_fail(-errno, "state directory %s: %s", dir, strerror(errno));
	while (!ret && (de = readdir(d))) {
		size_t nl = strlen(de->d_name);
		uint8_t id[DP_ID_LEN];
		char path[4096], hex[2 * DP_ID_LEN + 1];

		if (nl != 64 + 8 || strcmp(de->d_name + 64, ".journal"))
			continue;
		memcpy(hex, de->d_name, 64);
		hex[64] = '\0';
		if (dp_unhex(hex, id, DP_ID_LEN))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		ret = fn(arg, path, id);
	}
	closedir(d);
	return ret;
}

/* mkdir -p @path (no trailing slash); @path is restored. */
static int jd_mkdirs(char *path)
{
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(path, 0700) && errno != EEXIST) {
			int ret = -errno;

			*p = c;
			return dp_fail(ret, "state directory %s: %s", path, strerror(-ret));
		}
		*p = c;
		if (!c)
			return 0;
	}
}

#define JD_MAX_RUNS 64 /* runs of one volume at once */

int dp_journal_dir(const char *state_dir, const struct dp_repo *repo, const char *name,
		   struct dp_journal_dir **out)
{
	struct dp_journal_dir *jd = NULL;
	uint8_t h[DP_ID_LEN];
	char hex[2 * DP_ID_LEN + 1], path[4096], lock[4200];
	int ret, fd = -1;

	*out = NULL;
	if (!state_dir)
		return 0;
	/* one directory per repository and volume (or copy): runs of others never meet */
	ret = dp_sha256(name, strlen(name), h);
	if (ret)
		return ret;
	dp_hex(h, 8, hex);
	for (unsigned int i = 0; i < JD_MAX_RUNS; i++) {
		int n = i ? snprintf(path, sizeof(path), "%s/%s/%s.%u", state_dir, repo->info.id,
				     hex, i)
			  : snprintf(path, sizeof(path), "%s/%s/%s", state_dir, repo->info.id, hex);

		if (n < 0 || n >= (int)sizeof(path) - 8)
			return dp_fail(-ENAMETOOLONG, "state directory %s: path too long",
				       state_dir);
		ret = jd_mkdirs(path);
		if (ret)
			return ret;
		snprintf(lock, sizeof(lock), "%s/.lock", path);
		fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return dp_fail(-errno, "state directory %s: %s", lock, strerror(errno));
		if (!flock(fd, LOCK_EX | LOCK_NB))
			break;
		ret = -errno;
		close(fd);
		fd = -1;
		if (ret != -EWOULDBLOCK)
			return dp_fail(ret, "lock %s: %s", lock, strerror(-ret));
	}
	if (fd < 0)
		return dp_fail(-EBUSY, "state directory %s/%s: %d runs of %s at once", state_dir,
			       repo->info.id, JD_MAX_RUNS, name);
	jd = calloc(1, sizeof(*jd));
	if (jd)
		jd->path = strdup(path);
	if (!jd || !jd->path) {
		free(jd);
		close(fd);
		return -ENOMEM;
	}
	jd->lock_fd = fd;
	*out = jd;
	return 0;
}

void dp_journal_dir_release(struct dp_journal_dir *jd)
{
	if (!jd)
		return;
	close(jd->lock_fd); /* the flock() goes with it */
	free(jd->path);
	free(jd);
}
