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
 * s3:// sends DeleteObjects requests of up to 1000 keys each; file:// deletes
 * one by one. Keys that do not exist are not an error on either backend.
 *
 * Return: 0; -EINVAL for an invalid key (nothing deleted); the first error
 * (keys of other batches may be deleted); errors above.
 */
int s3_store_delete_many(struct s3_store *st, const char *const *keys, size_t n);

/**
 * s3_upload_new() - start writing an object in parts (a multipart upload)
 * @key:       borrowed
 * @part_size: the length of every part but the last (>= 5 MiB for s3://)
 * @out:       the upload; it ends with s3_upload_complete() or s3_upload_abort()
 *
 * The call does not wait for the object store: s3:// creates the multipart
 * upload in the background and reports a failure to create it through the
 * parts' callbacks and s3_upload_complete().
 *
 * Return: 0; -EINVAL; -ENOMEM; file:// errors creating the temporary file.
 */
int s3_upload_new(struct s3_store *st, const char *key, size_t part_size,
		  struct s3_upload **out);

/**
 * s3_upload_part() - queue one part
 * @num:  part number, 1..10000; part @num covers bytes
 *        [(@num - 1) * part_size, ...) of the object
 * @buf:  @len bytes, borrowed until @done runs
 * @len:  == part_size, except for the last part (1..part_size)
 * @done: runs exactly once with 0 or -errno, if and only if this returns 0
 *
 * Parts may be queued in any order and are sent concurrently.
 *
 * Return: 0 if queued; -EINVAL (bad @num or @len); -ENOMEM; -ECANCELED after
 * a failure of the upload.
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

#ifdef __cplusplus
}
#endif

#endif /* FERRY_S3_STORE_H */
