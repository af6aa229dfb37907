/* SPDX-License-Identifier: MIT */
/*
 * datapath/dp_int.h - what the datapath's files share; private to datapath/.
 */
#ifndef FERRY_DP_INT_H
#define FERRY_DP_INT_H

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/types.h>

#include "dp.h"

struct s3_store;

/* ---------------------------------------------------------------- logging */

void dp_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...)   dp_log(DP_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  dp_log(DP_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  dp_log(DP_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) dp_log(DP_LOG_DEBUG, __VA_ARGS__)

/* Set the calling thread's dp_last_error(); returns @err. */
int dp_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void dp_clear_error(void);

/* The store's detail of its last failure on this thread, for messages. */
const char *dp_store_detail(void);

/* zstd and OpenSSL codes, translated in one place each */
int dp_errno_from_zstd(size_t rc);

/* ------------------------------------------------------------- test hooks */

#ifdef FERRY_TEST_HOOKS
/* FERRY_TEST_CRASH_AT=<point>[:<n>]: SIGKILL ourselves the n-th time (default 1st). */
void dp_test_point(const char *point);
#else
static inline void dp_test_point(const char *point)
{
	(void)point;
}
#endif

/* ------------------------------------------------------------------ bytes */

static inline void dp_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static inline void dp_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline void dp_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static inline uint16_t dp_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t dp_get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t dp_get_le64(const uint8_t *p)
{
	return (uint64_t)dp_get_le32(p) | (uint64_t)dp_get_le32(p + 4) << 32;
}

#define DP_ID_LEN 32

/* @out gets 2*@len hex digits and a NUL */
void dp_hex(const uint8_t *in, size_t len, char *out);
/* 0, or -EINVAL if @hex is not 2*@len hex digits */
int dp_unhex(const char *hex, uint8_t *out, size_t len);
/* 32 random bytes as 64 hex digits + NUL */
int dp_random_id(char out[65]);

int64_t dp_now_us(void); /* CLOCK_REALTIME */
double dp_mono_s(void);	 /* CLOCK_MONOTONIC */

/* true if @len bytes at @buf (8-byte aligned) are all zero */
bool dp_is_zero(const void *buf, size_t len);

/*
 * dp_grow() - room for @need elements of @elem bytes in the array @p of
 * *@cap elements: @p itself if it has it, else @p realloc()ed to at least
 * twice its capacity (16 at first) with *@cap updated. NULL if memory or the
 * size runs out (reallocarray() checks the multiplication); @p and *@cap are
 * then unchanged and still valid.
 */
void *dp_grow(void *p, size_t *cap, size_t need, size_t elem);

/* ------------------------------------------------------------ crypto */

#define DP_KEY_LEN	 32
#define DP_NONCE_LEN	 12
#define DP_TAG_LEN	 16
#define DP_SEAL_OVERHEAD (DP_NONCE_LEN + DP_TAG_LEN)

/* The master key material of an unlocked repository (FORMAT.md "keys"). */
struct dp_keys {
	bool encrypted;
	uint8_t data_key[DP_KEY_LEN]; /* AES-256-GCM of blobs, indexes, manifests */
	uint8_t id_key[DP_KEY_LEN];   /* HMAC-SHA256 key of chunk ids */
};

/* OpenSSL's error queue as -errno: the one translation of its codes. */
int dp_errno_from_ssl(void);
int dp_random_bytes(void *buf, size_t len);
void dp_wipe(void *buf, size_t len);

/* Chunk ids: SHA-256, or HMAC-SHA256 with @keys->id_key if encrypted. One per thread. */
struct dp_hasher;
int dp_hasher_new(const struct dp_keys *keys, struct dp_hasher **out);
int dp_hasher_digest(struct dp_hasher *h, const void *buf, size_t len, uint8_t out[DP_ID_LEN]);
void dp_hasher_free(struct dp_hasher *h);

/* AES-256-GCM: @out of seal is @len + DP_SEAL_OVERHEAD bytes (nonce, ciphertext, tag);
 * open writes @len - DP_SEAL_OVERHEAD bytes and returns -EUCLEAN if the tag fails. */
struct dp_aead;
int dp_aead_new(const uint8_t key[DP_KEY_LEN], struct dp_aead **out);
int dp_aead_seal(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out);
int dp_aead_open(struct dp_aead *a, const void *aad, size_t aadlen, const void *in, size_t len,
		 void *out);
void dp_aead_free(struct dp_aead *a);

int dp_kdf_scrypt(const void *pw, size_t pwlen, const uint8_t *salt, size_t saltlen, uint64_t n,
		  uint32_t r, uint32_t p, uint8_t out[DP_KEY_LEN]);

/*
 * Seal/open a whole small object with the data key (cold paths: indexes,
 * manifest segments and metadata). Not encrypted: a plain copy. *@out is
 * malloc()ed. Return 0, -EUCLEAN (tag), -EBADMSG (too short), -ENOMEM.
 */
int dp_seal_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen);
int dp_open_alloc(const struct dp_keys *keys, const void *aad, size_t aadlen, const void *in,
		  size_t len, uint8_t **out, size_t *outlen);

/* SHA-256 (OpenSSL, SHA-NI where present); one-shot, for cold paths */
int dp_sha256(const void *buf, size_t len, uint8_t out[DP_ID_LEN]);

struct dp_sha256_stream;
int dp_sha256_stream_new(struct dp_sha256_stream **out);
void dp_sha256_stream_update(struct dp_sha256_stream *s, const void *buf, size_t len);
void dp_sha256_stream_final(struct dp_sha256_stream *s, uint8_t out[DP_ID_LEN]);
void dp_sha256_stream_free(struct dp_sha256_stream *s);

/* -------------------------------------------------------------- the pool */

/* Reserve @bytes of the pool, waiting while other jobs hold it; -ECANCELED if *@stop. */
int dp_pool_reserve(struct dp_pool *pool, uint64_t bytes, const atomic_bool *stop);
void dp_pool_unreserve(struct dp_pool *pool, uint64_t bytes);
uint64_t dp_pool_size(const struct dp_pool *pool);

/*
 * A job's buffers: one aligned mapping carved into @nchunk chunk buffers
 * (chunk_size each, registered with io_uring) and @nio I/O buffers (io_size
 * each: pack parts, ranged reads). Each class has a free list; get waits.
 */
struct dp_bufs {
	void *map;
	size_t map_len;
	size_t chunk_size, io_size;
	unsigned int nchunk, nio;
	void **chunk_free, **io_free; /* stacks */
	unsigned int chunk_nfree, io_nfree;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	const atomic_bool *stop;
};

int dp_bufs_init(struct dp_bufs *b, uint64_t budget, size_t chunk_size, size_t io_size,
		 const atomic_bool *stop);
void dp_bufs_fini(struct dp_bufs *b);
/* NULL when *stop was set while waiting */
void *dp_bufs_get_chunk(struct dp_bufs *b);
void *dp_bufs_get_io(struct dp_bufs *b);
/* a chunk buffer if one is free now, else NULL */
void *dp_bufs_tryget_chunk(struct dp_bufs *b);
void dp_bufs_put_chunk(struct dp_bufs *b, void *buf);
void dp_bufs_put_io(struct dp_bufs *b, void *buf);
/* wake every waiter (after setting *stop) */
void dp_bufs_wake(struct dp_bufs *b);
/* index of a chunk buffer, for io_uring fixed buffers */
unsigned int dp_bufs_chunk_index(const struct dp_bufs *b, const void *buf);

/* ----------------------------------------------------------------- queue */

/* A bounded multi-producer multi-consumer queue of pointers. */
struct dp_queue {
	void **items;
	unsigned int cap, head, count;
	bool closed;
	pthread_mutex_t lock;
	pthread_cond_t not_empty, not_full;
	const atomic_bool *stop;
};

int dp_queue_init(struct dp_queue *q, unsigned int cap, const atomic_bool *stop);
void dp_queue_fini(struct dp_queue *q);
/* 0, or -ECANCELED when *stop is set */
int dp_queue_push(struct dp_queue *q, void *item);
/* an item; NULL when closed and empty, or when *stop is set */
void *dp_queue_pop(struct dp_queue *q);
/*
 * An item, or NULL at once if there is none; *@closed tells whether the queue
 * is closed and empty. Items are handed out after a stop too (to drain it).
 */
void *dp_queue_trypop(struct dp_queue *q, bool *closed);
void dp_queue_close(struct dp_queue *q);
void dp_queue_wake(struct dp_queue *q);

/* -------------------------------------------------------------- blobs */

/* A blob decoder (blob.c): opens, decompresses and verifies; one per thread. */
struct dp_blobdec;
int dp_blobdec_new(const struct dp_keys *keys, uint32_t chunk_size, struct dp_blobdec **out);
void dp_blobdec_free(struct dp_blobdec *d);
/*
 * The chunk of blob @blob (@stored_len bytes as stored) into @out (chunk_size
 * bytes). Return 0, or -EUCLEAN with *@why saying what is wrong.
 */
int dp_blob_decode(struct dp_blobdec *d, const uint8_t id[DP_ID_LEN], uint8_t kind,
		   uint32_t raw_len, const void *blob, uint32_t stored_len, void *out,
		   const char **why);

/*
 * A blob encoder (blob.c): zstd (a chunk a sampled trial shows incompressible,
 * or one that does not shrink, stays raw), then the seal of an encrypted
 * repository. *@blob points into the encoder (or at @chunk) until the next call.
 */
struct dp_blobenc;
int dp_blobenc_new(const struct dp_keys *keys, uint32_t chunk_size, int level,
		   struct dp_blobenc **out);
void dp_blobenc_free(struct dp_blobenc *e);
int dp_blob_encode(struct dp_blobenc *e, const uint8_t id[DP_ID_LEN], const void *chunk,
		   uint32_t len, const void **blob, uint32_t *blob_len, uint8_t *kind);

/* ------------------------------------------------------------- the index */

/* Where a chunk is stored (FORMAT.md, pack index entry). */
struct dp_loc {
	uint64_t offset; /* in the pack */
	uint32_t pack;	 /* number in dp_chunkidx's pack table */
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t kind; /* DP_BLOB_* */
};

/* In-memory map chunk id -> location: 56 bytes an entry + 8 a slot. */
struct dp_chunkidx;

int dp_chunkidx_new(struct dp_chunkidx **out);
void dp_chunkidx_free(struct dp_chunkidx *ix);
/* register a pack id; returns its number (>= 0) or -ENOMEM */
int dp_chunkidx_add_pack(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN]);
const uint8_t *dp_chunkidx_pack_id(const struct dp_chunkidx *ix, uint32_t pack);
/*
 * Insert if absent. Return 1 if it was present (then *@loc, if given, gets its
 * location), 0 if inserted, -ENOMEM.
 */
int dp_chunkidx_insert(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN],
		       const struct dp_loc *loc);
/* true and *@loc if present */
bool dp_chunkidx_lookup(struct dp_chunkidx *ix, const uint8_t id[DP_ID_LEN], struct dp_loc *loc);
uint64_t dp_chunkidx_count(const struct dp_chunkidx *ix);

/* ------------------------------------------------------------ formats */

#define DP_BLOB_RAW  0
#define DP_BLOB_ZSTD 1

/* One pack index entry (FORMAT.md). */
struct dp_pack_entry {
	uint8_t id[DP_ID_LEN];
	uint64_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
	uint8_t kind;
};

#define DP_PACK_INDEX_HDR   48
#define DP_PACK_INDEX_ENTRY 56
#define DP_PACK_INDEX_MAX   (64u << 20)
#define DP_PACK_TAIL	    8

/* Encoded size of an index with @n entries (header, entries, checksum). */
size_t dp_pack_index_size(size_t n);
/* Encode into @out (dp_pack_index_size(n) bytes). */
void dp_pack_index_encode(const uint8_t pack_id[DP_ID_LEN], const struct dp_pack_entry *e, size_t n,
			  uint8_t *out);
/*
 * Decode and verify; *@entries is malloc()ed. Return 0, -EBADMSG (bad magic,
 * length), -EUCLEAN (checksum), -ENOMEM.
 */
int dp_pack_index_decode(const uint8_t *buf, size_t len, uint8_t pack_id[DP_ID_LEN],
			 struct dp_pack_entry **entries, size_t *n);

/* An index as stored (FORMAT.md): encoded, then sealed if the repository is encrypted. */
int dp_pack_index_seal(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *len);
int dp_pack_index_open(const struct dp_keys *keys, const uint8_t name_id[DP_ID_LEN],
		       const uint8_t *buf, size_t len, struct dp_pack_entry **entries, size_t *n);

/*
 * The end of a pack: the index as stored, then DP_PACK_TAIL bytes (its
 * length and "FRYP"). dp_pack_tail_build() gives both in one malloc()ed
 * buffer of *@index_len + DP_PACK_TAIL bytes, the index first (it is also
 * written as index/<pack-id>).
 */
int dp_pack_tail_build(const struct dp_keys *keys, const uint8_t pack_id[DP_ID_LEN],
		       const struct dp_pack_entry *e, size_t n, uint8_t **out, size_t *index_len);
void dp_pack_trailer_encode(uint32_t index_len, uint8_t tail[DP_PACK_TAIL]);
/* 0 and *@index_len; -EBADMSG (dp_last_error() says why) if @tail cannot end a pack of @size bytes */
int dp_pack_trailer_decode(const uint8_t tail[DP_PACK_TAIL], uint64_t size, uint32_t *index_len);
/* a new random pack id */
int dp_pack_id_new(uint8_t id[DP_ID_LEN]);

/* object keys */
void dp_key_pack(const uint8_t id[DP_ID_LEN], char *key, size_t len);
void dp_key_index(const uint8_t id[DP_ID_LEN], char *key, size_t len);

/* ------------------------------------------------------------ repository */

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

/* ------------------------------------------------------------- manifests */

#define DP_MANIFEST_SEG_REFS 8192 /* refs per segment, at most */
#define DP_MANIFEST_FOOTER   40	  /* meta_len u32 + sha256 + magic */
#define DP_MANIFEST_META_MAX (1u << 20)

/* Writing: records are added in volume order; segments are emitted through @emit. */
struct dp_mwriter;
typedef int (*dp_mwriter_emit_fn)(void *arg, const void *buf, size_t len);

/* @keys: borrowed until dp_mwriter_free(); @snap_id: the manifest's id (additional data) */
int dp_mwriter_new(dp_mwriter_emit_fn emit, void *arg, const struct dp_keys *keys,
		   const char *snap_id, struct dp_mwriter **out);
int dp_mwriter_add_chunk(struct dp_mwriter *w, const uint8_t id[DP_ID_LEN]);
int dp_mwriter_add_zero(struct dp_mwriter *w, uint64_t nchunks);
/* Flush the last segment, the end marker, the metadata and the footer. */
int dp_mwriter_finish(struct dp_mwriter *w, const struct dp_snapshot *meta);
void dp_mwriter_free(struct dp_mwriter *w);

/* Reading: fed bytes in order, yields refs. */
struct dp_ref {
	bool zero;
	uint64_t count; /* zero: chunks in the run; else 1 */
	uint8_t id[DP_ID_LEN];
};
struct dp_mreader;

/* @size is the manifest object's size (the reader checks it ends at the footer) */
int dp_mreader_new(uint64_t size, const struct dp_keys *keys, const char *snap_id,
		   struct dp_mreader **out);
/*
 * Feed @len bytes; refs are appended to the reader's queue, taken with
 * dp_mreader_next(). Return 0, -EBADMSG/-EUCLEAN with dp_last_error().
 */
int dp_mreader_feed(struct dp_mreader *r, const void *buf, size_t len);
/* 1 and *@ref, 0 when no ref is ready */
int dp_mreader_next(struct dp_mreader *r, struct dp_ref *ref);
/* After the last byte was fed: 0 if the manifest was complete and its checksum matched. */
int dp_mreader_finish(struct dp_mreader *r);
void dp_mreader_free(struct dp_mreader *r);

/*
 * A cursor over a snapshot's references by chunk index (parent.c): chunk
 * indexes asked for must not decrease. dp_parent_get() gives chunk @idx's
 * reference (*@zero, or its id) and in *@run how many chunks from @idx the
 * same reference covers (a zero run; 1 for a chunk). -ENOENT past its end,
 * -EUCLEAN if the manifest is damaged.
 */
struct dp_parent;
int dp_parent_open(struct dp_repo *repo, const char *snap_id, struct dp_parent **out);
int dp_parent_get(struct dp_parent *p, uint64_t idx, bool *zero, uint8_t id[DP_ID_LEN],
		  uint64_t *run);
void dp_parent_free(struct dp_parent *p);

/*
 * Call @fn for every reference of snapshot @snap_id in volume order (@idx:
 * the chunk index it starts at), checking the manifest to its end. Return 0;
 * what @fn returned if not 0; -EUCLEAN (damaged manifest) and store errors
 * with dp_last_error().
 */
typedef int (*dp_ref_fn)(void *arg, uint64_t idx, const struct dp_ref *ref);
int dp_manifest_walk(struct dp_repo *repo, const char *snap_id, dp_ref_fn fn, void *arg);

/* Delete @key, and on a versioned bucket every version of it (purge.c). */
int dp_purge(struct dp_repo *repo, const char *key, bool versioned, struct dp_purge *p);
/* Whether the bucket keeps versions, so that deletes must go version by version (purge.c). */
int dp_bucket_is_versioned(struct dp_repo *repo, bool *versioned);

/* Parse a manifest footer read from the object's tail. */
int dp_manifest_parse_tail(const uint8_t *tail, size_t len, uint64_t size,
			   const struct dp_keys *keys, const char *snap_id, struct dp_snapshot *s);

/* ------------------------------------------------------------- fetching */

/* One chunk of a fetch, with the tags (indexes into dp_fetch.tags) that want it. */
struct dp_fetch_chunk {
	uint8_t id[DP_ID_LEN];
	struct dp_loc loc;
	uint32_t first;
	uint32_t ntags;
};

/* One ranged read of a pack (fetch.c), handed to the caller's queue when done. */
struct dp_fetch {
	struct dp_fetcher *fetcher;
	char key[80];
	uint64_t off; /* in the pack */
	uint32_t len;
	void *buf; /* an I/O buffer of the job, holding [off, off + len) */
	struct dp_fetch_chunk *chunks;
	uint32_t nchunks;
	uint64_t *tags; /* the callers' tags, grouped by chunk */
	int ret;	/* of the read: bytes, or -errno with @detail */
	char detail[256];
};

/*
 * Windowed, coalesced ranged reads of blobs (fetch.c). dp_fetcher_add() may
 * wait for an I/O buffer; dp_fetcher_flush() issues what the window holds;
 * the consumer frees each fetch with dp_fetch_free(); dp_fetcher_drain()
 * waits for every read issued. @ix maps pack numbers to pack ids.
 */
struct dp_fetcher;
int dp_fetcher_new(struct dp_job *job, struct dp_repo *repo, struct dp_bufs *bufs,
		   const struct dp_chunkidx *ix, struct dp_queue *out, struct dp_fetcher **f);
int dp_fetcher_add(struct dp_fetcher *f, const uint8_t id[DP_ID_LEN], const struct dp_loc *loc,
		   uint64_t tag);
int dp_fetcher_flush(struct dp_fetcher *f);
void dp_fetcher_drain(struct dp_fetcher *f);
void dp_fetcher_wake(struct dp_fetcher *f);
void dp_fetch_free(struct dp_fetch *x);
void dp_fetcher_free(struct dp_fetcher *f);

/* ------------------------------------------------------------ objwriter */

/*
 * One object written in parts of @part_size, one at a time (objwriter.c).
 * dp_objwriter_commit() makes it appear and frees @w whatever it returns;
 * dp_objwriter_abort() (NULL ok) gives it up.
 */
struct dp_objwriter;
int dp_objwriter_new(struct s3_store *st, const char *key, size_t part_size,
		     struct dp_objwriter **out);
int dp_objwriter_write(struct dp_objwriter *w, const void *buf, size_t len);
uint64_t dp_objwriter_size(const struct dp_objwriter *w);
int dp_objwriter_commit(struct dp_objwriter *w);
void dp_objwriter_abort(struct dp_objwriter *w);

/* ---------------------------------------------------------------- packer */

/*
 * Packs being written for @job (packer.c): dp_packer_append() from any
 * thread; dp_packer_finish() closes the open pack and waits until every pack
 * is complete and indexed. Failures fail @job. @point names the test points
 * "<point>-mid-pack" and "<point>-pack-done".
 */
struct dp_packer;
int dp_packer_new(struct dp_job *job, struct dp_bufs *bufs, uint64_t target, const char *point,
		  const char *journal_dir, struct dp_packer **out);
/*
 * Resume the packs journaled in the packer's journal directory (packer.c):
 * their kept chunks go into @ix; *@reused gets the bytes not sent again.
 */
int dp_packer_resume(struct dp_packer *pk, struct dp_chunkidx *ix, uint64_t *reused);
/*
 * The journal directory of @name ("volume:<name>", "copy:<id>") in
 * @state_dir, made if missing; *@out is NULL (nothing to journal) for
 * file:// or without a state directory. Caller frees *@out.
 */
int dp_journal_dir(const char *state_dir, const struct dp_repo *repo, const char *name, char **out);
int dp_packer_append(struct dp_packer *pk, const uint8_t id[DP_ID_LEN], const void *data,
		     uint32_t len, uint32_t raw_len, uint8_t kind);
int dp_packer_finish(struct dp_packer *pk);
void dp_packer_wake(struct dp_packer *pk);
void dp_packer_free(struct dp_packer *pk);

/* ------------------------------------------------------------------- I/O */

struct dp_dev {
	int fd;		 /* O_DIRECT if direct */
	int fd_buffered; /* for unaligned tails; -1 until needed */
	char *path;
	uint64_t size;
	bool is_blk;
	bool direct;
	bool created;	    /* restore: we created the file (sparse, all holes) */
	unsigned int align; /* O_DIRECT alignment (logical block size) */
};

int dp_dev_open_source(struct dp_dev *d, const char *path, bool no_direct);
int dp_dev_open_target(struct dp_dev *d, const char *path, uint64_t size, bool no_direct);
void dp_dev_close(struct dp_dev *d);
/*
 * Turn O_DIRECT off on an open device after an I/O was refused with EINVAL
 * (filesystems that accept the open but not the I/O). 0 or -errno.
 */
int dp_dev_drop_direct(struct dp_dev *d);
/* zero [off, off+len) on the target: punch a hole or BLKZEROOUT */
int dp_dev_zero(struct dp_dev *d, uint64_t off, uint64_t len);

/* io_uring, shared by the reader of backup and the writer of restore */
struct io_uring;
struct dp_ring {
	struct io_uring *ring;
	bool fixed; /* chunk buffers registered: READ_FIXED/WRITE_FIXED */
	unsigned int depth;
};

/* -ENOSYS/-EPERM/...: io_uring cannot be used here (the caller falls back) */
int dp_ring_init(struct dp_ring *r, unsigned int depth, struct dp_bufs *bufs);
/* On the thread that uses the ring, before its first submission. */
int dp_ring_enable(struct dp_ring *r);
void dp_ring_fini(struct dp_ring *r);

/* ------------------------------------------------------------------- jobs */

/*
 * The state every job shares: its threads check @stop; the first failure
 * wins and is kept in @result.err/@errmsg.
 */
struct dp_job {
	struct dp_repo *repo;
	struct dp_pool *pool;
	uint64_t reserved; /* bytes of @pool held */
	atomic_bool stop;
	bool cancelled;
	pthread_mutex_t wake_lock; /* @ready, and calls of @wake */
	bool ready;		   /* set up: @wake may touch the kind's state */
	pthread_mutex_t lock;	   /* @errmsg, @result, @done */
	pthread_cond_t done_cond;
	bool done;
	pthread_t thread;
	bool thread_started;
	char errmsg[512];
	struct dp_result result;
	double t0;
	/* counters (struct dp_progress, atomically updated) */
	atomic_uint_fast64_t bytes_total, bytes_done, bytes_read, bytes_zero, bytes_new,
		bytes_raw_new, bytes_written, chunks_total, chunks_zero, chunks_new, chunks_dedup,
		packs, bytes_unchanged, bytes_reused;
	struct dp_lock *repo_lock;	     /* the repository lock the job holds */
	uint64_t want;			     /* bytes of @pool to reserve before @setup */
	int (*setup)(struct dp_job *job);    /* on its thread, once the memory is reserved */
	void (*run)(struct dp_job *job);     /* the job's main, on its thread */
	void (*release)(struct dp_job *job); /* after @run: give the buffers back (NULL: fini) */
	void (*wake)(struct dp_job *job);    /* wakes the kind's waits after @stop */
	void (*fini)(struct dp_job *job);    /* frees the kind's state */
	void *priv;
};

/* Record the first failure (@err, message) and stop the job; returns @err. */
int dp_job_fail(struct dp_job *job, int err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
bool dp_job_stopped(const struct dp_job *job);
int dp_job_launch(struct dp_job *job);
void dp_job_init(struct dp_job *job, struct dp_repo *repo, struct dp_pool *pool);

unsigned int dp_online_cpus(void);

#endif /* FERRY_DP_INT_H */
