/* SPDX-License-Identifier: MIT */
/*
 * s3/s3_int.h - what the backends of s3/store.h share; private to s3/.
 */
#ifndef FERRY_S3_INT_H
#define FERRY_S3_INT_H

#include "store.h"

/* Operations of one backend; see store.h for the contract of each. */
struct s3_backend_ops {
	void (*free)(struct s3_store *st);
	int (*mkroot)(struct s3_store *st);
	int (*put)(struct s3_store *st, const char *key, const void *buf, size_t len);
	int (*get)(struct s3_store *st, const char *key, size_t max, void **out, size_t *len);
	ssize_t (*get_range)(struct s3_store *st, const char *key, uint64_t off, void *buf,
			     size_t len);
	ssize_t (*get_tail)(struct s3_store *st, const char *key, void *buf, size_t len,
			    uint64_t *size);
	int (*get_range_async)(struct s3_store *st, const char *key, uint64_t off, void *buf,
			       size_t len, s3_done_fn done, void *arg);
	int (*head)(struct s3_store *st, const char *key, uint64_t *size);
	int (*list)(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg);
	int (*del)(struct s3_store *st, const char *key);
	/* optional: NULL means one del() or delete_version() per item */
	int (*delete_objects)(struct s3_store *st, const struct s3_delete_item *items, size_t n,
			      s3_delete_result_fn fn, void *arg);
	int (*upload_new)(struct s3_store *st, const char *key, size_t part_size,
			  struct s3_upload **out);
	int (*upload_part)(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
			   s3_done_fn done, void *arg);
	int (*upload_complete)(struct s3_upload *up);
	void (*upload_abort)(struct s3_upload *up);
	/* resume: all optional; NULL means -EOPNOTSUPP (detach: abort) */
	int (*upload_id)(struct s3_upload *up, const char **id);
	int (*upload_resume)(struct s3_store *st, const char *key, const char *upload_id,
			     size_t part_size, struct s3_upload **out);
	int (*upload_list_parts)(struct s3_upload *up, s3_part_fn fn, void *arg);
	int (*upload_part_etag)(struct s3_upload *up, unsigned int num, char *etag);
	int (*upload_set_nparts)(struct s3_upload *up, unsigned int n);
	void (*upload_detach)(struct s3_upload *up);
	int (*list_uploads)(struct s3_store *st, const char *prefix, s3_upload_list_fn fn,
			    void *arg);
	int (*abort_upload)(struct s3_store *st, const char *key, const char *upload_id);
	int (*versioning)(struct s3_store *st, enum s3_versioning *state);
	int (*list_versions)(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg);
	int (*delete_version)(struct s3_store *st, const char *key, const char *version_id);
	int (*head_version)(struct s3_store *st, const char *key, const char *version_id,
			    struct s3_version_info *info);
#ifdef FERRY_UNIT_TESTS
	/* optional: s3_upload_test_part_state() */
	int (*test_part_state)(struct s3_upload *up, unsigned int num, const char *state);
#endif
};

struct s3_store {
	const struct s3_backend_ops *ops;
	char *url; /* as given, for messages; s3:// URLs carry no secrets */
	bool local;
	void *priv;	   /* the backend's state */
	unsigned int page; /* entries per listing page (tests make it small) */
};

/* The head of every backend's upload object. */
struct s3_upload {
	struct s3_store *st;
};

#define S3_KEY_MAX	 512
#define S3_UPLOAD_ID_MAX 1024
#define S3_PAGE_DEFAULT	 1000

/*
 * A backend, as store.c finds it in its table (the way curl's vtls.c finds
 * its TLS backends): the URLs it opens start with @scheme ("s3://"), or are
 * absolute paths if @bare_paths. open() gets what follows the scheme (a bare
 * path whole) and fills in st->ops and st->priv (and st->local); st->url is
 * set already. On failure it leaves st->ops NULL and may set s3_last_error().
 */
struct s3_backend {
	const char *scheme;
	bool bare_paths;
	int (*open)(struct s3_store *st, const char *rest, const struct s3_store_opts *opts);
};

extern const struct s3_backend s3_backend_file;
extern const struct s3_backend s3_backend_s3;

/* Logging through the sink of s3_set_log(). */
void s3_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...)   s3_log(S3_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  s3_log(S3_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  s3_log(S3_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) s3_log(S3_LOG_DEBUG, __VA_ARGS__)

/* Sets the calling thread's s3_last_error() and returns @err (a -errno). */
int s3_fail(int err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Clears it. */
void s3_clear_error(void);

#endif /* FERRY_S3_INT_H */
