/* SPDX-License-Identifier: MIT */
/*
 * s3/store.h - object storage for ferry repositories: the manual.
 *
 * One interface, two backends chosen by the URL:
 *
 *   file:///var/lib/ferry/repo   a local directory (the embedded default)
 *   s3://bucket/prefix           an S3-compatible object store
 *
 * Keys are relative to the repository root ("config", "data/ab/<id>",
 * "snapshots/<id>") and use '/' as separator; a key never starts with '/', never
 * contains "." or ".." components and is at most 512 bytes.
 *
 * Every object is written once. A store never shows a half-written object:
 * file:// writes a temporary name, fsyncs, renames and fsyncs the directory;
 * s3:// objects appear when PutObject or CompleteMultipartUpload succeeds.
 *
 * Errors are 0 or -errno. The mapping is documented per call; in general:
 *   -ENOENT        no such key (or bucket / directory)
 *   -EEXIST        the key exists and the call must not replace it (file://)
 *   -EACCES        permission denied / S3 AccessDenied, bad credentials
 *   -ENOSPC        disk full (file://)
 *   -EIO           an I/O error, or a response that cannot be understood
 *   -ETIMEDOUT, -ECONNREFUSED, -EHOSTUNREACH, -ECONNRESET   the network
 *   -EPROTO        TLS: the server's certificate is not trusted, or the handshake failed
 *   -EAGAIN        a retryable condition persisted past the retry budget
 *   -EINVAL        a bad argument (a bad key, a part number out of range)
 *   -ENOMEM        out of memory
 * A human-readable detail of the most recent failure of a blocking call on the
 * calling thread is available from s3_last_error(); asynchronous calls hand it to
 * their completion callback. Details never contain credentials.
 *
 * Threads: a store may be used from any number of threads at once. An upload
 * (struct s3_upload) is used by one thread at a time. Completion callbacks
 * (s3_done_fn) run either before the call that queued them returns (file://
 * does its I/O synchronously) or on the store's own I/O thread (s3://); they
 * must be quick, must not block and must not call the store's blocking
 * functions.
 */
#ifndef FERRY_S3_STORE_H
#define FERRY_S3_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct s3_store;
struct s3_upload;

/*
 * Limits of multipart uploads, S3's: part numbers run 1..S3_UPLOAD_MAX_PARTS,
 * and s3:// refuses parts (all but the last) under S3_PART_MIN bytes. file://
 * keeps the part numbers, so a repository can move between the two.
 */
#define S3_UPLOAD_MAX_PARTS 10000
#define S3_PART_MIN	    (5u << 20)

/* Log levels, the same numbers in every ferry module. */
enum {
	S3_LOG_ERR = 0,
	S3_LOG_WARN = 1,
	S3_LOG_INFO = 2,
	S3_LOG_DEBUG = 3,
};

/* Log sink: @msg is one line without a trailing newline. */
typedef void (*s3_log_fn)(int level, const char *msg);

/**
 * s3_set_log() - route the module's log lines to @fn (NULL: discard them)
 *
 * Call before opening stores. Debug lines never contain secrets.
 */
void s3_set_log(s3_log_fn fn);

/**
 * s3_last_error() - detail of the calling thread's last failed blocking call
 *
 * Return: a NUL-terminated message, "" if there is none. Valid until the next
 * store call on this thread.
 */
const char *s3_last_error(void);

/**
 * struct s3_store_opts - settings for s3_store_open(); zero means "default"
 * @sz:             sizeof(struct s3_store_opts), for growth (libbpf style)
 * @endpoint:       s3:// endpoint URL (default: AWS_ENDPOINT_URL_S3,
 *                  AWS_ENDPOINT_URL, else AWS itself)
 * @region:         region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile,
 *                  else us-east-1)
 * @path_style:     -1/0 automatic (path style for IP and localhost endpoints),
 *                  1 path style, 2 virtual-hosted style
 * @storage_class:  x-amz-storage-class of data objects (NULL: bucket default)
 * @sse:            "AES256" or "aws:kms" (NULL: none)
 * @sse_kms_key_id: with @sse "aws:kms"
 * @ca_file:        PEM bundle to verify TLS with (default: AWS_CA_BUNDLE, else
 *                  the system store)
 * @insecure_tls:   do not verify the server's certificate (never the default)
 * @concurrency:    transfers in flight at once (default 8)
 * @limit_upload:   upload cap in bytes per second (0: none)
 * @limit_download: download cap in bytes per second (0: none)
 * @timeout_ms:     total deadline of one operation, retries included (0: 10 min)
 * @fsync:          file:// only: 0 default (on), -1 off (tests and benchmarks
 *                  on tmpfs), 1 on
 * @access_key_id:  s3:// credentials given by the caller (a Kubernetes
 *                  Secret), used instead of the environment and the profile;
 *                  with @secret_access_key, both or neither (-EINVAL);
 *                  copied, and the copies wiped when the store is freed
 * @secret_access_key, @session_token: (NULL: none)
 * @ca_pem:         PEM certificates in memory (@ca_pem_len bytes) that TLS is
 *                  verified against, instead of @ca_file and the system store
 */
struct s3_store_opts {
	size_t sz;
	const char *endpoint;
	const char *region;
	int path_style;
	const char *storage_class;
	const char *sse;
	const char *sse_kms_key_id;
	const char *ca_file;
	bool insecure_tls;
	unsigned int concurrency;
	uint64_t limit_upload;
	uint64_t limit_download;
	unsigned int timeout_ms;
	int fsync;
	const char *access_key_id;
	const char *secret_access_key;
	const char *session_token;
	const void *ca_pem;
	size_t ca_pem_len;
};

/**
 * s3_store_open() - open the store a repository URL names
 * @url:  "file:///abs/path" or "s3://bucket[/prefix]"; borrowed
 * @opts: NULL for defaults; borrowed (strings are copied)
 * @out:  the new store, freed with s3_store_free()
 *
 * Opening does not touch the network or create anything; the first call that
 * needs the object store reports an unreachable or missing one.
 *
 * s3:// reads its credentials here (store.h's s3_store_opts lists the
 * other settings and their defaults): none found is -EACCES, half a pair
 * (a key id without a secret) -EINVAL.
 *
 * Return: 0; -EINVAL for a URL that is neither; -EPROTONOSUPPORT for another
 * scheme; -EACCES (s3://: no credentials); -ENOMEM.
 */
int s3_store_open(const char *url, const struct s3_store_opts *opts, struct s3_store **out);

/**
 * s3_store_free() - close a store; NULL is a no-op
 *
 * All uploads must be completed or aborted and all asynchronous calls finished.
 */
void s3_store_free(struct s3_store *st);

/**
 * s3_store_url() - the store's URL, for messages (no credentials in it)
 */
const char *s3_store_url(const struct s3_store *st);

/**
 * s3_store_is_local() - whether the store is a local directory (file://)
 */
bool s3_store_is_local(const struct s3_store *st);

/**
 * s3_store_mkroot() - create the repository root (file:// directory, or check
 * that the s3:// bucket exists and can be listed with these credentials;
 * whether it can be written shows on the first write)
 *
 * Return: 0; -ENOENT (no such bucket), -EACCES, network errors.
 */
int s3_store_mkroot(struct s3_store *st);

/**
 * s3_store_put() - write a whole object at once
 * @key: borrowed
 * @buf: @len bytes; borrowed for the call
 *
 * Return: 0; -EEXIST if @key exists (file:// checks atomically; s3:// cannot
 * and callers never write a key twice); errors above.
 */
int s3_store_put(struct s3_store *st, const char *key, const void *buf, size_t len);

/**
 * s3_store_get() - read a whole object
 * @max:  refuse (-EFBIG) an object larger than this
 * @out:  a malloc()ed buffer the caller frees
 * @len:  its length
 *
 * Return: 0; -ENOENT; -EFBIG; errors above.
 */
int s3_store_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len);

/**
 * s3_store_get_range() - read @len bytes at @off
 * @buf: at least @len bytes; borrowed for the call
 *
 * Return: the bytes read (fewer than @len only at the end of the object; 0 if
 * @off is at or past its end), or -errno.
 */
ssize_t s3_store_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf,
			   size_t len);

/**
 * s3_store_get_tail() - read the last @len bytes of an object (a suffix range)
 * @buf:  at least @len bytes
 * @size: set to the object's full size
 *
 * Return: the bytes read (the whole object if it is shorter), or -errno.
 */
ssize_t s3_store_get_tail(struct s3_store *st, const char *key, void *buf, size_t len,
			  uint64_t *size);

/*
 * Completion of an asynchronous call. @ret is 0 or a byte count on success,
 * -errno on failure; @detail is a message for a failure ("" otherwise),
 * valid during the call only.
 */
typedef void (*s3_done_fn)(void *arg, int ret, const char *detail);

/**
 * s3_store_get_range_async() - queue a ranged read
 * @buf:  @len bytes, borrowed until @done runs
 * @done: runs exactly once with the bytes read (as s3_store_get_range()) or
 *        -errno, if and only if this call returns 0
 *
 * Return: 0 if queued; -EINVAL, -ENOMEM.
 */
int s3_store_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf,
			     size_t len, s3_done_fn done, void *arg);

/**
 * s3_store_head() - size of an object
 * Return: 0 and *@size set; -ENOENT; errors above.
 */
int s3_store_head(struct s3_store *st, const char *key, uint64_t *size);

/*
 * One listed object: @key is relative to the repository root; @mtime is in
 * seconds since the epoch. Return 0 to go on, anything else to stop the
 * listing with that value.
 */
typedef int (*s3_list_fn)(void *arg, const char *key, uint64_t size, int64_t mtime);

/**
 * s3_store_list() - list the objects whose keys start with @prefix
 * @prefix: e.g. "snapshots/" or "data/"; "" lists everything
 * @fn:     called once per object, in no particular order, on this thread
 *
 * Temporary objects of unfinished writes are never listed.
 *
 * Return: 0; the value @fn stopped with; errors above. A missing prefix is an
 * empty listing, not an error.
 */
int s3_store_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg);

/**
 * s3_store_delete() - delete an object
 * Return: 0 (also when it did not exist on s3://); -ENOENT (file://); errors.
 */
int s3_store_delete(struct s3_store *st, const char *key);

/**
 * s3_store_delete_many() - delete @n objects
 * @keys: @n keys; borrowed for the call
 *
 * s3_store_delete_objects() of the current objects (no version ids): keys
 * that do not exist are not an error on either backend.
 *
 * Return: 0; -EINVAL for an invalid key (nothing deleted); the first error,
 * of an item or of a request (other keys may be deleted); errors above.
 */
int s3_store_delete_many(struct s3_store *st, const char *const *keys, size_t n);

/* One object (or one version of it) to delete. */
/* clang-format off */
struct s3_delete_item {
	const char *key;        /* borrowed */
	const char *version_id; /* NULL: the current object (a delete marker on a versioned bucket) */
};
/* clang-format on */
/* Per-item outcome: @err 0 (deleted, or did not exist) or -errno (-EACCES for an Object Lock
 * refusal); @detail: the server's code and message, with the retain-until date when Object Lock
 * refused ("" when none); runs on the calling thread, before s3_store_delete_objects() returns. */
typedef void (*s3_delete_result_fn)(void *arg, const struct s3_delete_item *item, int err,
				    const char *detail);
/**
 * s3_store_delete_objects() - delete @n objects or versions in as few requests as the store allows
 * @items: @n keys, each with a version id or NULL; borrowed for the call. A
 *         version id comes from s3_store_list_versions() ("null" on
 *         unversioned stores)
 * @fn:    called exactly once per item whose fate the store told, in no
 *         particular order, on this thread; @detail and @item are valid during
 *         the call only. Must not be NULL
 *
 * s3:// sends DeleteObjects requests of up to 1000 items each (with
 * Content-MD5, as Object Lock buckets require) and reads every item's answer.
 * An item the store refuses because Object Lock retains it (a retention that
 * has not ended, or a legal hold) is -EACCES; its @detail names Object Lock,
 * the mode and the retain-until date (from a HEAD of that version when the
 * answer does not say: Ceph RGW answers a bare AccessDenied). A store that
 * answers NotImplemented to DeleteObjects gets one DELETE per item instead
 * (several in flight), and the store remembers not to ask again. file://
 * deletes one by one; a version id other than "null" does not exist there.
 *
 * Errors of one item (Object Lock, a policy that denies that key) go to @fn
 * and do not stop the others. A request that fails as a whole (the network,
 * credentials, a missing bucket, 5xx past the retry budget) stops the call.
 *
 * Return: 0 when every request was answered (per-item errors go to @fn only); -errno when a
 * request failed as a whole (some items may be deleted; @fn has run for those answered).
 * -EINVAL (nothing deleted, @fn not called) for an invalid key or version id, or a NULL @fn.
 * s3_last_error() says why for a -errno return.
 */
int s3_store_delete_objects(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			    s3_delete_result_fn fn, void *arg);

/**
 * s3_upload_new() - start writing an object in parts (a multipart upload)
 * @key:       borrowed
 * @part_size: the length of every part but the last (>= S3_PART_MIN for s3://)
 * @out:       the upload; it ends with s3_upload_complete() or s3_upload_abort()
 *
 * The call does not wait for the object store: s3:// creates the multipart
 * upload in the background and reports a failure to create it through the
 * parts' callbacks and s3_upload_complete().
 *
 * Return: 0; -EINVAL; -ENOMEM; file:// errors creating the temporary file.
 */
int s3_upload_new(struct s3_store *st, const char *key, size_t part_size, struct s3_upload **out);

/**
 * s3_upload_part() - queue one part
 * @num:  part number, 1..S3_UPLOAD_MAX_PARTS; part @num covers bytes
 *        [(@num - 1) * part_size, ...) of the object
 * @buf:  @len bytes, borrowed until @done runs
 * @len:  == part_size, except for the last part (1..part_size)
 * @done: runs exactly once with 0 or -errno, if and only if this returns 0
 *
 * Parts may be queued in any order and are sent concurrently. Each number
 * once per upload handle: s3:// refuses one queued before (-EINVAL); a part
 * an earlier run left, listed after s3_upload_resume(), may be queued and
 * replaces it.
 *
 * Return: 0 if queued; -EINVAL (bad @num or @len, @num queued already on
 * s3://); -ENOMEM; -ECANCELED after a failure of the upload.
 */
int s3_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
		   s3_done_fn done, void *arg);

/**
 * s3_upload_complete() - wait for every queued part, then make the object appear
 * @up: freed by this call, whatever it returns
 *
 * Blocks. Parts must be 1..N without gaps. On failure nothing appears under the
 * key, and the partial upload is removed (file://) or aborted (s3://).
 *
 * Return: 0; -EEXIST (file://: the key exists); the first error of a part;
 * errors above.
 */
int s3_upload_complete(struct s3_upload *up);

/**
 * s3_upload_abort() - give the upload up; NULL is a no-op
 *
 * Waits for parts in flight, then removes what was written. Frees @up.
 */
void s3_upload_abort(struct s3_upload *up);

/* ------------------------------------------------------------------ resume
 *
 * A multipart upload outlives the process that started it: its parts stay on
 * the object store until it is completed or aborted (s3_store_abort_upload(),
 * `ferry repo cleanup`). A process that is killed, or gives up with
 * s3_upload_detach(), can hand the upload on to a later one:
 *
 *   run 1: s3_upload_new() -> s3_upload_id() (journal the id), parts 1..9
 *          queued; as each part's @done reports 0, s3_upload_part_etag()
 *          (journal number, ETag, the chunks it holds); killed after 1..5
 *   run 2: s3_upload_resume(id) (-ENOENT: the upload is gone, start over)
 *          -> s3_upload_list_parts(): 1..5 (and perhaps 6, acknowledged by
 *          the server but not journaled); keep the parts whose ETag matches
 *          the journal, queue the others again (6..9: a part queued now
 *          replaces the server's), s3_upload_set_nparts(9),
 *          s3_upload_complete(): parts 1..5 with the ETags ListParts reported,
 *          6..9 with those of this run. (If run 2 cuts fewer parts than the
 *          store holds, see s3_upload_set_nparts(): Ceph RGW cannot drop them.)
 *
 * file:// resumes the same way: the upload id is the temporary file's name,
 * a part's ETag a digest of its bytes (SHA-256), and listing the parts reads the file
 * back (a part written halfway lists with an ETag no journal holds). A
 * killed process leaves its temporary file, which s3_store_list_uploads()
 * reports and `ferry repo cleanup` removes once old.
 */

/* Big enough for any ETag the object store reports, quotes and NUL included. */
#define S3_ETAG_SIZE 132

/**
 * s3_upload_id() - the object store's id of a multipart upload
 * @up: from s3_upload_new() or s3_upload_resume(); not on the store's I/O thread
 * @id: set to the id, NUL-terminated, valid until @up is freed
 *
 * Blocks until CreateMultipartUpload has answered (s3_upload_new() sends it in
 * the background).
 *
 * Return: 0; the error that creating the upload failed with (s3_last_error()
 * says why).
 */
int s3_upload_id(struct s3_upload *up, const char **id);

/**
 * s3_upload_resume() - a handle of a multipart upload an earlier process began
 * @key:       the key it was created for; borrowed
 * @upload_id: from s3_upload_id() of that process; borrowed
 * @part_size: as given to s3_upload_new() then
 * @out:       the upload; it ends as one from s3_upload_new() does
 *
 * Blocks: reads every part the object store holds (ListParts, all pages) and
 * counts them in, with their size and the ETag the store reports, so that
 * s3_upload_complete() can use them. Nothing is created.
 *
 * Return: 0; -ENOENT (the upload no longer exists: it was completed or
 * aborted, or never was for @key: start over with s3_upload_new());
 * -EINVAL (bad @key, @upload_id or @part_size); errors above.
 */
int s3_upload_resume(struct s3_store *st, const char *key, const char *upload_id, size_t part_size,
		     struct s3_upload **out);

/*
 * One part the object store holds: @num 1..10000, @size bytes, @etag as the
 * store reports it (quoted). Return 0 to go on, anything else to stop the
 * listing with that value.
 */
typedef int (*s3_part_fn)(void *arg, unsigned int num, uint64_t size, const char *etag);

/**
 * s3_upload_list_parts() - the parts the object store holds now (ListParts)
 * @fn: called once per part, in increasing @num, on this thread
 *
 * Blocks (also for CreateMultipartUpload of a new upload). Asks the store
 * afresh, all pages, and counts the parts in for s3_upload_complete() as
 * s3_upload_resume() does; a part queued or sent by this process keeps its
 * own ETag. Parts in flight may or may not be listed.
 *
 * Return: 0; the value @fn stopped with; -ENOENT (the upload no longer
 * exists); errors above.
 */
int s3_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg);

/**
 * s3_upload_part_etag() - the ETag of part @num, sent by this process or listed
 * @etag: S3_ETAG_SIZE bytes
 *
 * Does not block; may be called from any thread, also from the part's @done
 * (for the journal).
 *
 * Return: 0; -ENOENT (no such part known yet: not acknowledged, not listed);
 * -EINVAL (@num out of range).
 */
int s3_upload_part_etag(struct s3_upload *up, unsigned int num, char etag[S3_ETAG_SIZE]);

/**
 * s3_upload_set_nparts() - the object is parts 1..@n
 *
 * Without it, s3_upload_complete() ends the object at the highest part known
 * (queued here or listed). A resumed upload may hold parts of an earlier run
 * beyond the end of this one (it cut its data differently): say where the
 * object ends, and AWS S3 drops the parts a completion does not name. Ceph
 * RGW (16) refuses such a completion: s3_upload_complete() then fails with
 * -EINVAL saying so, and aborts. To resume on RGW, end at or after the
 * highest part s3_upload_list_parts() reports, or start over. Call before
 * s3_upload_complete().
 *
 * Return: 0; -EINVAL (@n is 0 or over 10000).
 */
int s3_upload_set_nparts(struct s3_upload *up, unsigned int n);

/**
 * s3_upload_detach() - let go of the upload without ending it; NULL is a no-op
 *
 * Waits for parts in flight (their @done runs), then frees @up. s3:// leaves
 * the multipart upload and its parts on the store for s3_upload_resume() (or
 * for `ferry repo cleanup` to abort once it is old); file:// leaves its
 * temporary file.
 */
void s3_upload_detach(struct s3_upload *up);

/* ----------------------------------------------------- unfinished uploads */

/*
 * One unfinished upload: @key relative to the repository root, @upload_id
 * for s3_store_abort_upload() or s3_upload_resume(), @initiated in seconds
 * since the epoch. Return 0 to go on, anything else to stop the listing with
 * that value.
 */
typedef int (*s3_upload_list_fn)(void *arg, const char *key, const char *upload_id,
				 int64_t initiated);

/**
 * s3_store_list_uploads() - the unfinished uploads whose keys start with @prefix
 * @prefix: as s3_store_list(); "" for the whole repository
 * @fn:     called once per upload, on this thread
 *
 * s3:// lists the multipart uploads (ListMultipartUploads, all pages) under
 * the repository's prefix, including those of processes still running.
 * file:// lists the temporary files that writes left behind (a crash between
 * create and rename; s3_store_list() never shows them): @key is the
 * temporary file's own path, @upload_id its name, @initiated its mtime (a
 * write in progress keeps it fresh).
 *
 * Return: 0; the value @fn stopped with; -EINVAL (bad @prefix); errors above.
 */
int s3_store_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn, void *arg);

/**
 * s3_store_abort_upload() - abort an unfinished upload another process left
 * @key, @upload_id: as s3_store_list_uploads() reported them; borrowed
 *
 * Its parts are deleted; a later s3_upload_resume() of it is -ENOENT. Never
 * abort an upload a live process still writes: s3_store_list_uploads() cannot
 * tell them apart, only their age can.
 *
 * Return: 0 (also if it is gone already); -EINVAL; errors above.
 */
int s3_store_abort_upload(struct s3_store *st, const char *key, const char *upload_id);

/* ---------------------------------------------- versioning and Object Lock
 *
 * On a versioned bucket (Object Lock buckets always are) s3_store_delete()
 * only adds a delete marker: the data stays and still counts. Deleting a
 * version by its id reclaims the space, unless Object Lock retains it.
 * file:// is never versioned: each file is its only, latest version, with
 * the version id "null" (as S3 names the version of an unversioned bucket),
 * so callers need no special case.
 */

enum s3_versioning {
	S3_VERSIONING_OFF = 0,	     /* never enabled: one version per key, "null" */
	S3_VERSIONING_ENABLED = 1,   /* every write and delete adds a version */
	S3_VERSIONING_SUSPENDED = 2, /* new writes are "null" versions; old ones stay */
};

/**
 * s3_store_versioning() - whether the bucket keeps versions (GetBucketVersioning)
 *
 * Delete by version (s3_store_list_versions(), s3_store_delete_version()) on
 * anything but S3_VERSIONING_OFF, or old versions keep using space.
 *
 * Return: 0 and *@state set (file://: S3_VERSIONING_OFF); -EACCES (not
 * allowed to read the bucket's versioning); errors above.
 */
int s3_store_versioning(struct s3_store *st, enum s3_versioning *state);

/*
 * One version of an object, or a delete marker (@is_delete_marker: @size 0).
 * @key relative to the repository root; @is_latest: what a plain GET sees
 * (a delete marker that is latest hides the key); @mtime in seconds since the
 * epoch. Return 0 to go on, anything else to stop the listing with that value.
 */
typedef int (*s3_version_fn)(void *arg, const char *key, const char *version_id, bool is_latest,
			     bool is_delete_marker, uint64_t size, int64_t mtime);

/**
 * s3_store_list_versions() - every version and delete marker under @prefix
 * @fn: called once per version, on this thread; keys in order, and the
 *      versions of one key newest first
 *
 * s3:// uses ListObjectVersions (all pages). An unversioned bucket and
 * file:// report each object once, latest, with version id "null".
 *
 * Return: 0; the value @fn stopped with; -EINVAL (bad @prefix); errors above.
 */
int s3_store_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg);

/**
 * s3_store_delete_version() - delete one version (or delete marker) for good
 * @version_id: from s3_store_list_versions(); "null" on unversioned stores
 *
 * Return: 0 (also if that version does not exist on s3://); -EACCES, with
 * s3_last_error() saying "protected by Object Lock" and until when if the
 * store reports it, when a retention or legal hold keeps the version (the
 * version stays readable); -ENOENT (file://: no such file, or a version id
 * other than "null"); -EINVAL; errors above.
 */
int s3_store_delete_version(struct s3_store *st, const char *key, const char *version_id);

/**
 * struct s3_version_info - what s3_store_head_version() reports
 * @size:         bytes
 * @mtime:        seconds since the epoch
 * @lock_mode:    "GOVERNANCE", "COMPLIANCE", or "" (no retention)
 * @retain_until: seconds since the epoch until which Object Lock keeps it (0: none)
 * @legal_hold:   a legal hold keeps it, whatever the retention
 */
struct s3_version_info {
	uint64_t size;
	int64_t mtime;
	char lock_mode[16];
	int64_t retain_until;
	bool legal_hold;
};

/**
 * s3_store_head_version() - size and Object Lock state of one version
 * @version_id: as s3_store_delete_version()
 *
 * Return: 0 and *@info set; -ENOENT; errors above. file:// reports no lock.
 */
int s3_store_head_version(struct s3_store *st, const char *key, const char *version_id,
			  struct s3_version_info *info);

#ifdef FERRY_UNIT_TESTS
/* Tests only: listings ask for @n entries per page (0: the default, 1000). */
void s3_store_set_page_size(struct s3_store *st, unsigned int n);
/*
 * Tests only (s3://): move the record of part @num to @state ("none",
 * "listed", "uploading", "done") through the multipart state machine, whose
 * assert()s stop an illegal move in a debug build (s3/multipart.c).
 * Return: 0; -EINVAL (a bad @num or @state); -EOPNOTSUPP (file://).
 */
int s3_upload_test_part_state(struct s3_upload *up, unsigned int num, const char *state);
#endif

#ifdef __cplusplus
}
#endif

#endif /* FERRY_S3_STORE_H */
