// SPDX-License-Identifier: MIT
/*
 * bench/scen_cpu.c - the in-memory scenarios: compress, hash, encrypt.
 *
 * Each works as the backup's workers do, one chunk at a time (--chunk-size,
 * default 1 MiB), on --threads threads, over --size bytes of generated data.
 * The data is generated before the clock starts into a working set of at
 * most BENCH_WORKSET_MAX bytes that larger sizes cycle over; chunks are
 * processed independently, so the repetition helps none of them.
 *
 *   compress  zstd at --compression, one ZSTD_compressCCtx() per chunk; a
 *             chunk that does not shrink counts as stored raw (as backup does)
 *   hash      SHA-256 (OpenSSL EVP) of each chunk, the backup's chunk id
 *   encrypt   AES-256-GCM (OpenSSL EVP) as an encrypted repository seals
 *             each blob (datapath/crypt.c): one random key per run, a random
 *             12-byte nonce per chunk, 32 bytes of additional data (the chunk
 *             id there), a 16-byte tag; stored bytes count nonce + ciphertext
 *             + tag. It measures the cipher alone, outside the pipeline.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <zstd.h>

#include "bench.h"
#include "datapath/dp.h"

enum cpu_op { CPU_COMPRESS, CPU_HASH, CPU_ENCRYPT };

struct cpu_run {
	struct bench_stage *st;
	enum cpu_op op;
	const uint8_t *ws; /* the working set */
	uint64_t ws_len;   /* a multiple of the chunk size, or the whole --size */
	uint64_t nunits;
	EVP_MD *md;
	EVP_CIPHER *cipher;
	uint8_t key[32];
	_Atomic uint64_t stored, chunks;
};

/* The one place OpenSSL's error queue is turned into -errno and a detail. */
static int bench_errno_from_ssl(struct bench_stage *st, const char *what)
{
	unsigned long e = ERR_get_error();
	char buf[160] = "unknown error";

	if (e)
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return bench_stage_fail(st, -EIO, "%s: %s", what, buf);
}

struct cpu_thread {
	ZSTD_CCtx *cctx;
	EVP_MD_CTX *mdctx;
	EVP_CIPHER_CTX *cctx_gcm;
	uint8_t *out;
	size_t out_cap;
};

static int cpu_thread_init(struct cpu_run *r, struct cpu_thread *t)
{
	size_t chunk = r->st->o->chunk_size;

	memset(t, 0, sizeof(*t));
	switch (r->op) {
	case CPU_COMPRESS:
		t->cctx = ZSTD_createCCtx();
		t->out_cap = ZSTD_compressBound(chunk);
		if (!t->cctx)
			return bench_stage_fail(r->st, -ENOMEM, "out of memory");
		break;
	case CPU_HASH:
		t->mdctx = EVP_MD_CTX_new();
		t->out_cap = EVP_MAX_MD_SIZE;
		if (!t->mdctx)
			return bench_stage_fail(r->st, -ENOMEM, "out of memory");
		break;
	case CPU_ENCRYPT:
		t->cctx_gcm = EVP_CIPHER_CTX_new();
		t->out_cap = chunk + 32;
		if (!t->cctx_gcm)
			return bench_stage_fail(r->st, -ENOMEM, "out of memory");
		if (EVP_EncryptInit_ex(t->cctx_gcm, r->cipher, NULL, r->key, NULL) != 1)
			return bench_errno_from_ssl(r->st, "AES-256-GCM key setup");
		break;
	}
	t->out = malloc(t->out_cap);
	if (!t->out)
		return bench_stage_fail(r->st, -ENOMEM, "out of memory");
	return 0;
}

static void cpu_thread_fini(struct cpu_thread *t)
{
	ZSTD_freeCCtx(t->cctx);
	EVP_MD_CTX_free(t->mdctx);
	EVP_CIPHER_CTX_free(t->cctx_gcm);
	free(t->out);
}

/* One chunk. Return: bytes it is stored as, or -errno (recorded). */
static long cpu_one(struct cpu_run *r, struct cpu_thread *t, const uint8_t *in, size_t len)
{
	uint8_t iv[12];
	unsigned int mdlen;
	int n, fin;
	size_t z;

	switch (r->op) {
	case CPU_COMPRESS:
		z = ZSTD_compressCCtx(t->cctx, t->out, t->out_cap, in, len, r->st->o->compression);
		if (ZSTD_isError(z))
			return bench_stage_fail(r->st, -EIO, "zstd: %s", ZSTD_getErrorName(z));
		return (long)(z < len ? z : len);
	case CPU_HASH:
		if (EVP_DigestInit_ex(t->mdctx, r->md, NULL) != 1 ||
		    EVP_DigestUpdate(t->mdctx, in, len) != 1 ||
		    EVP_DigestFinal_ex(t->mdctx, t->out, &mdlen) != 1)
			return bench_errno_from_ssl(r->st, "SHA-256");
		return (long)mdlen;
	case CPU_ENCRYPT:
		if (RAND_bytes(iv, sizeof(iv)) != 1)
			return bench_errno_from_ssl(r->st, "random nonce");
		/* the additional data: 32 bytes, as a chunk id is (its first bytes here) */
		if (EVP_EncryptInit_ex(t->cctx_gcm, NULL, NULL, NULL, iv) != 1 ||
		    EVP_EncryptUpdate(t->cctx_gcm, NULL, &n, in, len < 32 ? (int)len : 32) != 1 ||
		    EVP_EncryptUpdate(t->cctx_gcm, t->out, &n, in, (int)len) != 1 ||
		    EVP_EncryptFinal_ex(t->cctx_gcm, t->out + n, &fin) != 1 ||
		    EVP_CIPHER_CTX_ctrl(t->cctx_gcm, EVP_CTRL_GCM_GET_TAG, 16, t->out + n + fin) !=
			    1)
			return bench_errno_from_ssl(r->st, "AES-256-GCM");
		return (long)sizeof(iv) + n + fin + 16;
	}
	return -EINVAL;
}

static void *cpu_worker(void *arg)
{
	struct cpu_run *r = arg;
	struct bench_stage *st = r->st;
	uint64_t chunk = st->o->chunk_size, size = st->o->size, u, stored = 0, chunks = 0;
	struct cpu_thread t;

	if (cpu_thread_init(r, &t))
		goto out;
	while (bench_stage_next_unit(st, r->nunits, &u)) {
		uint64_t vo = (u % r->nunits) * chunk;
		size_t len = size - vo < chunk ? (size_t)(size - vo) : (size_t)chunk;
		uint64_t wo = vo % r->ws_len;
		double t0 = bench_now();
		long n = cpu_one(r, &t, r->ws + wo, len);

		if (n < 0)
			break;
		bench_lat_add(&st->lat, bench_now() - t0);
		stored += (uint64_t)n;
		chunks++;
		st->progress += len;
	}
out:
	r->stored += stored;
	r->chunks += chunks;
	cpu_thread_fini(&t);
	return NULL;
}

static int cpu_run(struct bench_stage *st, enum cpu_op op)
{
	const struct bench_opts *o = st->o;
	unsigned int threads = o->threads ? o->threads : bench_cpus();
	struct cpu_run r = {.st = st, .op = op};
	struct bench_gen *g;
	uint8_t *ws = NULL;
	int ret;

	if (op == CPU_COMPRESS && o->compression == DP_COMPRESSION_OFF)
		return bench_stage_fail(st, -EINVAL, "compress: --compression is off");
	g = malloc(sizeof(*g));
	r.ws_len = o->size < BENCH_WORKSET_MAX ? o->size : BENCH_WORKSET_MAX;
	ws = malloc(r.ws_len ? r.ws_len : 1);
	if (!g || !ws) {
		ret = bench_stage_fail(st, -ENOMEM, "out of memory for %llu bytes of data",
				       (unsigned long long)r.ws_len);
		goto out;
	}
	bench_gen_init(g, o->data, o->seed);
	bench_gen_fill(g, 0, ws, r.ws_len);
	r.ws = ws;
	r.nunits = (o->size + o->chunk_size - 1) / o->chunk_size;
	if (!r.nunits) {
		ret = bench_stage_fail(st, -EINVAL, "--size is 0");
		goto out;
	}
	if (op == CPU_HASH) {
		r.md = EVP_MD_fetch(NULL, "SHA256", NULL);
		if (!r.md) {
			ret = bench_errno_from_ssl(st, "SHA-256");
			goto out;
		}
	} else if (op == CPU_ENCRYPT) {
		r.cipher = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
		if (!r.cipher || RAND_bytes(r.key, sizeof(r.key)) != 1) {
			ret = bench_errno_from_ssl(st, "AES-256-GCM");
			goto out;
		}
	}
	st->has_lat = true;
	bench_stage_begin(st);
	ret = bench_workers_run(st, threads, cpu_worker, &r);
	bench_stage_end(st, st->progress);
	st->bytes_in = st->progress;
	st->bytes_stored = r.stored;
	st->objects = r.chunks;
	cJSON_AddNumberToObject(st->detail, "threads", threads);
	cJSON_AddNumberToObject(st->detail, "chunk_size", o->chunk_size);
	if (op == CPU_COMPRESS) {
		cJSON_AddNumberToObject(st->detail, "level", o->compression);
		cJSON_AddNumberToObject(st->detail, "ratio",
					r.stored ? (double)st->bytes_in / (double)r.stored : 0);
	} else if (op == CPU_ENCRYPT) {
		cJSON_AddStringToObject(st->detail, "cipher", "AES-256-GCM");
	} else {
		cJSON_AddStringToObject(st->detail, "hash", "SHA-256");
	}
	if (!ret)
		ret = st->err;
out:
	EVP_MD_free(r.md);
	EVP_CIPHER_free(r.cipher);
	OPENSSL_cleanse(r.key, sizeof(r.key));
	free(ws);
	free(g);
	return ret;
}

int bench_scen_compress(struct bench_stage *st)
{
	return cpu_run(st, CPU_COMPRESS);
}

int bench_scen_hash(struct bench_stage *st)
{
	return cpu_run(st, CPU_HASH);
}

int bench_scen_encrypt(struct bench_stage *st)
{
	return cpu_run(st, CPU_ENCRYPT);
}
