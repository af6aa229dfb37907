// SPDX-License-Identifier: MIT
/*
 * bench/limit.c - ferry-limit: the machine's limit for a restore that does
 * ferry's work, built from the same libraries and nothing of ferry's.
 *
 *   ferry-limit prep [--level L] [--chunk SIZE] [--threads N] IMAGE DIR
 *   ferry-limit restore DIR OUT
 *
 * prep cuts IMAGE into chunks (1 MiB by default), leaves out all-zero chunks,
 * compresses each with zstd at --level (kept raw when that does not make it
 * smaller), seals it with AES-256-GCM (a fresh nonce; its HMAC-SHA256 id as
 * additional data) and writes one file of records per thread into DIR: the
 * slices are contiguous runs of chunks, one per thread.
 *
 * restore is the timed part: one thread per slice reads its file in 4 MiB
 * pieces, and per record opens the seal, decompresses, computes the
 * HMAC-SHA256 of the chunk, compares it with the record's id and writes the
 * chunk at its offset into OUT with pwrite(); zero chunks stay holes; OUT is
 * fdatasync()ed at the end. That is what ferry restore does per chunk from a
 * file:// repository, without its manifest, index, queues or io_uring: a
 * restore of the same data can be held against it as doing the same work.
 *
 * It prints one JSON line: bytes (the image's size), chunks, stored_bytes,
 * seconds. Exit 0, or 1 with one line on stderr.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#define LIM_NONCE 12
#define LIM_TAG	  16
#define LIM_ID	  32
#define LIM_READ  (4u << 20)
#define LIM_MAGIC 0x314d494c59524600ull /* "\0FRYLIM1" */

/* One chunk in a slice file, followed by its @stored_len sealed bytes. */
struct lim_rec {
	uint64_t off;
	uint32_t plain_len;
	uint32_t stored_len; /* nonce + ciphertext + tag */
	uint32_t raw;	     /* 1: stored uncompressed */
	uint32_t pad;
	uint8_t id[LIM_ID];
};

struct lim_head {
	uint64_t magic;
	uint64_t size;	 /* the image's */
	uint32_t slices; /* files slice0 .. */
	uint32_t chunk;
};

static const uint8_t lim_key[32] = "ferry-limit: a fixed bench key.";
static const uint8_t lim_id_key[32] = "ferry-limit: a fixed id key....";

struct lim_job {
	pthread_t tid;
	const char *image, *dir, *out;
	unsigned int slice;
	uint64_t first, last; /* chunks [first, last) */
	uint64_t size;
	uint32_t chunk;
	int level;
	int fd; /* restore: OUT */
	/* results */
	uint64_t chunks, stored;
	int err;
	char msg[160];
};

static double lim_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int lim_fail(struct lim_job *j, int err, const char *what)
{
	if (!j->err) {
		j->err = err;
		snprintf(j->msg, sizeof(j->msg), "slice %u: %s", j->slice, what);
	}
	return err;
}

static bool lim_zero(const uint8_t *p, size_t n)
{
	return n == 0 || (p[0] == 0 && !memcmp(p, p + 1, n - 1));
}

/* The chunk's id: HMAC-SHA256 with the id key, from a keyed template. */
static int lim_id(EVP_MAC_CTX *tmpl, const void *buf, size_t len, uint8_t out[LIM_ID])
{
	EVP_MAC_CTX *c = EVP_MAC_CTX_dup(tmpl);
	size_t outl = 0;
	int ret = 0;

	if (!c || !EVP_MAC_update(c, buf, len) || !EVP_MAC_final(c, out, &outl, LIM_ID))
		ret = -EIO;
	EVP_MAC_CTX_free(c);
	return ret;
}

static EVP_MAC_CTX *lim_mac_new(void)
{
	OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0),
			       OSSL_PARAM_construct_end()};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	EVP_MAC_CTX *c = mac ? EVP_MAC_CTX_new(mac) : NULL;

	EVP_MAC_free(mac);
	if (c && !EVP_MAC_init(c, lim_id_key, sizeof(lim_id_key), params)) {
		EVP_MAC_CTX_free(c);
		c = NULL;
	}
	return c;
}

static int lim_write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* ------------------------------------------------------------------ prep */

static void *lim_prep_slice(void *arg)
{
	struct lim_job *j = arg;
	size_t cap = ZSTD_compressBound(j->chunk);
	uint8_t *plain = malloc(j->chunk), *comp = malloc(cap);
	uint8_t *sealed = malloc(cap + LIM_NONCE + LIM_TAG);
	EVP_CIPHER_CTX *aead = EVP_CIPHER_CTX_new();
	ZSTD_CCtx *zc = ZSTD_createCCtx();
	EVP_MAC_CTX *mac = lim_mac_new();
	int in = -1, out = -1;
	char path[4096];
	uint64_t c;

	if (!plain || !comp || !sealed || !aead || !zc || !mac) {
		lim_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	in = open(j->image, O_RDONLY);
	snprintf(path, sizeof(path), "%s/slice%u", j->dir, j->slice);
	out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (in < 0 || out < 0) {
		lim_fail(j, -errno, "cannot open the image or the slice file");
		goto out;
	}
	for (c = j->first; c < j->last; c++) {
		uint64_t off = c * j->chunk;
		size_t len = j->size - off < j->chunk ? (size_t)(j->size - off) : j->chunk;
		struct lim_rec r = {.off = off, .plain_len = (uint32_t)len};
		const uint8_t *src = comp;
		size_t n;
		int outl = 0, fin = 0;

		if (pread(in, plain, len, (off_t)off) != (ssize_t)len) {
			lim_fail(j, -EIO, "short read of the image");
			goto out;
		}
		if (lim_zero(plain, len))
			continue;
		n = ZSTD_compressCCtx(zc, comp, cap, plain, len, j->level);
		if (ZSTD_isError(n)) {
			lim_fail(j, -EIO, ZSTD_getErrorName(n));
			goto out;
		}
		if (n >= len) {
			src = plain;
			n = len;
			r.raw = 1;
		}
		if (lim_id(mac, plain, len, r.id) || RAND_bytes(sealed, LIM_NONCE) != 1 ||
		    !EVP_EncryptInit_ex2(aead, EVP_aes_256_gcm(), lim_key, sealed, NULL) ||
		    !EVP_EncryptUpdate(aead, NULL, &outl, r.id, LIM_ID) ||
		    !EVP_EncryptUpdate(aead, sealed + LIM_NONCE, &outl, src, (int)n) ||
		    !EVP_EncryptFinal_ex(aead, sealed + LIM_NONCE + outl, &fin) ||
		    !EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_GCM_GET_TAG, LIM_TAG,
					 sealed + LIM_NONCE + n)) {
			lim_fail(j, -EIO, "sealing failed");
			goto out;
		}
		r.stored_len = (uint32_t)(n + LIM_NONCE + LIM_TAG);
		if (lim_write_all(out, &r, sizeof(r)) || lim_write_all(out, sealed, r.stored_len)) {
			lim_fail(j, -EIO, "cannot write the slice file");
			goto out;
		}
		j->chunks++;
		j->stored += r.stored_len;
	}
out:
	if (in >= 0)
		close(in);
	if (out >= 0 && close(out))
		lim_fail(j, -EIO, "cannot write the slice file");
	EVP_MAC_CTX_free(mac);
	ZSTD_freeCCtx(zc);
	EVP_CIPHER_CTX_free(aead);
	free(sealed);
	free(comp);
	free(plain);
	return NULL;
}

/* ------------------------------------------------------------------ restore */

/* One record and its sealed bytes from a buffered slice file: 1, 0 at its end, or -errno. */
struct lim_reader {
	int fd;
	uint8_t *buf;
	size_t len, pos;
};

static int lim_next(struct lim_reader *rd, size_t need, const uint8_t **out)
{
	if (rd->len - rd->pos < need) {
		memmove(rd->buf, rd->buf + rd->pos, rd->len - rd->pos);
		rd->len -= rd->pos;
		rd->pos = 0;
		while (rd->len < need) {
			ssize_t n = read(rd->fd, rd->buf + rd->len, LIM_READ * 2 - rd->len);

			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				return -errno;
			if (n == 0)
				return rd->len ? -EBADMSG : 0;
			rd->len += (size_t)n;
		}
	}
	*out = rd->buf + rd->pos;
	rd->pos += need;
	return 1;
}

static void *lim_restore_slice(void *arg)
{
	struct lim_job *j = arg;
	struct lim_reader rd = {.fd = -1, .buf = malloc(LIM_READ * 2)};
	uint8_t *clear = malloc(ZSTD_compressBound(j->chunk)), *plain = malloc(j->chunk);
	EVP_CIPHER_CTX *aead = EVP_CIPHER_CTX_new();
	ZSTD_DCtx *zd = ZSTD_createDCtx();
	EVP_MAC_CTX *mac = lim_mac_new();
	char path[4096];

	if (!rd.buf || !clear || !plain || !aead || !zd || !mac) {
		lim_fail(j, -ENOMEM, "out of memory");
		goto out;
	}
	snprintf(path, sizeof(path), "%s/slice%u", j->dir, j->slice);
	rd.fd = open(path, O_RDONLY);
	if (rd.fd < 0) {
		lim_fail(j, -errno, "cannot open the slice file");
		goto out;
	}
	for (;;) {
		const uint8_t *p, *s;
		struct lim_rec r;
		uint8_t id[LIM_ID];
		const uint8_t *data = clear;
		size_t ctlen, n;
		int outl = 0, fin = 0, ret;

		ret = lim_next(&rd, sizeof(r), &p);
		if (ret <= 0) {
			if (ret)
				lim_fail(j, ret, "truncated slice file");
			break;
		}
		memcpy(&r, p, sizeof(r));
		if (r.plain_len > j->chunk || r.stored_len < LIM_NONCE + LIM_TAG ||
		    r.stored_len > LIM_READ || lim_next(&rd, r.stored_len, &s) != 1) {
			lim_fail(j, -EBADMSG, "bad record");
			break;
		}
		ctlen = r.stored_len - LIM_NONCE - LIM_TAG;
		if (!EVP_DecryptInit_ex2(aead, EVP_aes_256_gcm(), lim_key, s, NULL) ||
		    !EVP_DecryptUpdate(aead, NULL, &outl, r.id, LIM_ID) ||
		    !EVP_DecryptUpdate(aead, clear, &outl, s + LIM_NONCE, (int)ctlen) ||
		    !EVP_CIPHER_CTX_ctrl(aead, EVP_CTRL_GCM_SET_TAG, LIM_TAG,
					 (void *)(s + LIM_NONCE + ctlen)) ||
		    !EVP_DecryptFinal_ex(aead, clear + outl, &fin)) {
			lim_fail(j, -EBADMSG, "a seal does not open");
			break;
		}
		n = ctlen;
		if (!r.raw) {
			n = ZSTD_decompressDCtx(zd, plain, j->chunk, clear, ctlen);
			if (ZSTD_isError(n)) {
				lim_fail(j, -EBADMSG, ZSTD_getErrorName(n));
				break;
			}
			data = plain;
		}
		if (n != r.plain_len || lim_id(mac, data, n, id) || memcmp(id, r.id, LIM_ID)) {
			lim_fail(j, -EBADMSG, "a chunk does not match its id");
			break;
		}
		if (pwrite(j->fd, data, n, (off_t)r.off) != (ssize_t)n) {
			lim_fail(j, -EIO, "short write of the output");
			break;
		}
		j->chunks++;
		j->stored += r.stored_len;
	}
out:
	if (rd.fd >= 0)
		close(rd.fd);
	EVP_MAC_CTX_free(mac);
	ZSTD_freeDCtx(zd);
	EVP_CIPHER_CTX_free(aead);
	free(plain);
	free(clear);
	free(rd.buf);
	return NULL;
}

/* ------------------------------------------------------------------ main */

static int lim_usage(const char *msg)
{
	if (msg)
		fprintf(stderr, "ferry-limit: %s\n", msg);
	fprintf(stderr,
		"usage: ferry-limit prep [--level L] [--chunk SIZE] [--threads N] IMAGE DIR\n"
		"       ferry-limit restore DIR OUT\n");
	return 1;
}

static int lim_run(struct lim_job *jobs, unsigned int n, void *(*fn)(void *))
{
	unsigned int i;
	int ret = 0;

	for (i = 0; i < n; i++) {
		if (pthread_create(&jobs[i].tid, NULL, fn, &jobs[i])) {
			fprintf(stderr, "ferry-limit: cannot start a thread\n");
			n = i; /* the ones started are joined, then it fails */
			ret = 1;
			break;
		}
	}
	for (i = 0; i < n; i++) {
		pthread_join(jobs[i].tid, NULL);
		if (jobs[i].err && !ret) {
			fprintf(stderr, "ferry-limit: %s\n", jobs[i].msg);
			ret = 1;
		}
	}
	return ret;
}

static int lim_prep(int argc, char **argv)
{
	long threads = sysconf(_SC_NPROCESSORS_ONLN), level = 1;
	unsigned long long chunk = 1 << 20, per, nchunks;
	struct lim_head h = {.magic = LIM_MAGIC};
	struct lim_job *jobs;
	struct stat st;
	char path[4096];
	int i, fd, ret;

	for (i = 2; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--level"))
			level = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--chunk"))
			chunk = strtoull(argv[i + 1], NULL, 0);
		else if (!strcmp(argv[i], "--threads"))
			threads = strtol(argv[i + 1], NULL, 10);
		else
			return lim_usage("unknown option");
	}
	if (argc - i != 2)
		return lim_usage(NULL);
	if (threads < 1 || threads > 1024 || chunk < 4096 || chunk > (16u << 20) || level < -7 ||
	    level > 19)
		return lim_usage("--threads, --chunk or --level out of range");
	if (stat(argv[i], &st) || !S_ISREG(st.st_mode))
		return lim_usage("IMAGE must be a regular file");
	if (mkdir(argv[i + 1], 0700) && errno != EEXIST)
		return lim_usage("cannot create DIR");
	nchunks = ((unsigned long long)st.st_size + chunk - 1) / chunk;
	per = (nchunks + (unsigned long long)threads - 1) / (unsigned long long)threads;
	jobs = calloc((size_t)threads, sizeof(*jobs));
	if (!jobs)
		return lim_usage("out of memory");
	for (i = 0; i < threads; i++) {
		struct lim_job *j = &jobs[i];

		j->image = argv[argc - 2];
		j->dir = argv[argc - 1];
		j->slice = (unsigned int)i;
		j->first = per * (unsigned long long)i < nchunks ? per * (unsigned long long)i
								 : nchunks;
		j->last = j->first + per < nchunks ? j->first + per : nchunks;
		j->size = (uint64_t)st.st_size;
		j->chunk = (uint32_t)chunk;
		j->level = (int)level;
	}
	ret = lim_run(jobs, (unsigned int)threads, lim_prep_slice);
	h.size = (uint64_t)st.st_size;
	h.slices = (uint32_t)threads;
	h.chunk = (uint32_t)chunk;
	snprintf(path, sizeof(path), "%s/head", argv[argc - 1]);
	fd = ret ? -1 : open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (!ret && (fd < 0 || lim_write_all(fd, &h, sizeof(h)) || close(fd))) {
		fprintf(stderr, "ferry-limit: cannot write %s\n", path);
		ret = 1;
	}
	free(jobs);
	return ret;
}

static int lim_restore(int argc, char **argv)
{
	struct lim_head h;
	struct lim_job *jobs = NULL;
	uint64_t chunks = 0, stored = 0;
	char path[4096];
	double t0 = lim_now();
	int fd, ret = 1;
	unsigned int i;

	if (argc != 4)
		return lim_usage(NULL);
	snprintf(path, sizeof(path), "%s/head", argv[2]);
	fd = open(path, O_RDONLY);
	if (fd < 0 || read(fd, &h, sizeof(h)) != (ssize_t)sizeof(h) || h.magic != LIM_MAGIC ||
	    h.slices < 1 || h.slices > 1024 || h.chunk < 4096 || h.chunk > (16u << 20)) {
		if (fd >= 0)
			close(fd);
		return lim_usage("DIR holds no prep (run ferry-limit prep first)");
	}
	close(fd);
	fd = open(argv[3], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)h.size)) {
		fprintf(stderr, "ferry-limit: cannot create %s: %s\n", argv[3], strerror(errno));
		goto out;
	}
	jobs = calloc(h.slices, sizeof(*jobs));
	if (!jobs) {
		fprintf(stderr, "ferry-limit: out of memory\n");
		goto out;
	}
	for (i = 0; i < h.slices; i++) {
		jobs[i].dir = argv[2];
		jobs[i].slice = i;
		jobs[i].chunk = h.chunk;
		jobs[i].fd = fd;
	}
	ret = lim_run(jobs, h.slices, lim_restore_slice);
	if (!ret && fdatasync(fd)) {
		fprintf(stderr, "ferry-limit: fdatasync: %s\n", strerror(errno));
		ret = 1;
	}
	for (i = 0; i < h.slices; i++) {
		chunks += jobs[i].chunks;
		stored += jobs[i].stored;
	}
	if (!ret)
		printf("{\"bytes\": %" PRIu64 ", \"chunks\": %" PRIu64
		       ", \"stored_bytes\": %" PRIu64 ", \"threads\": %u, \"seconds\": %.3f}\n",
		       h.size, chunks, stored, h.slices, lim_now() - t0);
out:
	if (fd >= 0 && close(fd) && !ret) {
		fprintf(stderr, "ferry-limit: cannot write %s\n", argv[3]);
		ret = 1;
	}
	free(jobs);
	return ret;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "prep"))
		return lim_prep(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "restore"))
		return lim_restore(argc, argv);
	return lim_usage(argc >= 2 ? "unknown command" : NULL);
}
