/* SPDX-License-Identifier: MIT */
/*
 * s3/s3s.h - the parts of the s3:// backend, as its vtable (store_s3.c) and
 * each other see them; private to the s3:// files. store.h is the contract
 * of each call; requests are built with s3_op.h.
 *
 *   objects.c         bucket check, PUT, GET, ranges, HEAD, DELETE
 *   delete_objects.c  many objects or versions at once (DeleteObjects)
 *   listing.c         the pager of every listing; objects, unfinished uploads
 *   multipart.c       uploads in parts, resume (ListParts), abort
 *   versions.c        versioning, versions, Object Lock
 *   endpoint.c        where requests go: scheme, host, path or virtual-host style
 */
#ifndef FERRY_S3_S3S_H
#define FERRY_S3_S3S_H

#include "s3_op.h"
#include "xml.h"

/* ------------------------------------------------------------ objects.c */

int s3s_mkroot(struct s3_store *st);
int s3s_put(struct s3_store *st, const char *key, const void *buf, size_t len);
int s3s_get(struct s3_store *st, const char *key, size_t max, void **out, size_t *len);
ssize_t s3s_get_range(struct s3_store *st, const char *key, uint64_t off, void *buf, size_t len);
ssize_t s3s_get_tail(struct s3_store *st, const char *key, void *buf, size_t len, uint64_t *size);
int s3s_get_range_async(struct s3_store *st, const char *key, uint64_t off, void *buf, size_t len,
			s3_done_fn done, void *arg);
int s3s_head(struct s3_store *st, const char *key, uint64_t *size);
int s3s_del(struct s3_store *st, const char *key);

/* ----------------------------------------------------- delete_objects.c */

int s3s_delete_objects(struct s3_store *st, const struct s3_delete_item *items, size_t n,
		       s3_delete_result_fn fn, void *arg);

/* ------------------------------------------------------------ listing.c */

/* The top values of a page every listing has: IsTruncated, then its next markers. */
enum { PAGE_TRUNCATED = 0, PAGE_NEXT = 1 };
#define PAGE_MARKERS 2

/**
 * struct s3_pager_spec - one kind of listing
 * @page:         its answer: root, entries, fields (by the listing's own enum),
 *                top = {[PAGE_TRUNCATED] = "IsTruncated", [PAGE_NEXT...] = the
 *                next markers}
 * @max_param:    the query parameter of the page size ("max-keys")
 * @marker:       the query parameters the next markers go back as, in the
 *                order of top[PAGE_NEXT...] ("key-marker", "version-id-marker")
 * @part_numbers: the marker is a part number, which must grow (ListParts)
 */
struct s3_pager_spec {
	struct s3_xml_page_spec page;
	const char *max_param;
	const char *marker[PAGE_MARKERS];
	bool part_numbers;
};

/*
 * One entry of a page, in document order; @what names the listing for
 * messages. Return 0 to go on; anything else stops the listing with it
 * (after s3_fail() for an entry that makes no sense).
 */
typedef int (*s3_pager_fn)(void *arg, const struct s3_xml_entry *e, const char *what);

/* One run of a listing: all borrowed for the call. */
struct s3_pager {
	const struct s3_pager_spec *spec;
	const char *key;       /* the object the listing is of (ListParts); NULL: the bucket */
	const struct s3_kv *q; /* the listing's own query parameters, at most 5 */
	size_t nq;
	bool on_upload; /* it names an upload id (a 404 is a gone upload) */
	const char *what;
	s3_pager_fn fn;
	void *arg;
};

/**
 * s3_pager_run() - every page of a listing, @page_size entries at a time
 *
 * Return: 0; what @fn stopped with; -EIO (an answer that is not the listing,
 * or a truncated one that gives no way on); errors of the requests.
 * s3_last_error() says why.
 */
int s3_pager_run(struct s3s *s, unsigned int page_size, const struct s3_pager *p);

/* One answer of shape @spec (GetBucketVersioning: no pages), read into @pg. */
int s3_page_fetch(struct s3s *s, const struct s3_xml_page_spec *spec, const char *key,
		  const struct s3_kv *q, size_t nq, bool on_upload, const char *what,
		  struct s3_xml_page *pg);

/*
 * s3_pager_prefix() - a listing of the keys under the repository's prefix +
 * @prefix: @sub is its sub-resource ({"list-type", "2"}, {"uploads", NULL}),
 * @what says what it does ("listing the uploads of"), @fn as s3_pager_run()'s
 */
int s3_pager_prefix(struct s3_store *st, const struct s3_pager_spec *spec, struct s3_kv sub,
		    const char *prefix, const char *what, s3_pager_fn fn, void *arg);

/* @key (as the store names it) relative to the repository; NULL if it is not inside */
const char *s3s_relative_key(const struct s3s *s, const char *key);

int s3s_list(struct s3_store *st, const char *prefix, s3_list_fn fn, void *arg);
int s3s_list_uploads(struct s3_store *st, const char *prefix, s3_upload_list_fn fn, void *arg);

/* ---------------------------------------------------------- multipart.c */

int s3s_upload_new(struct s3_store *st, const char *key, size_t part_size, struct s3_upload **out);
int s3s_upload_part(struct s3_upload *up, unsigned int num, const void *buf, size_t len,
		    s3_done_fn done, void *arg);
int s3s_upload_complete(struct s3_upload *up);
void s3s_upload_abort(struct s3_upload *up);
int s3s_upload_id(struct s3_upload *up, const char **id);
int s3s_upload_resume(struct s3_store *st, const char *key, const char *upload_id, size_t part_size,
		      struct s3_upload **out);
int s3s_upload_list_parts(struct s3_upload *up, s3_part_fn fn, void *arg);
int s3s_upload_part_etag(struct s3_upload *up, unsigned int num, char *etag);
int s3s_upload_set_nparts(struct s3_upload *up, unsigned int n);
void s3s_upload_detach(struct s3_upload *up);
int s3s_abort_upload(struct s3_store *st, const char *key, const char *upload_id);
#ifdef FERRY_UNIT_TESTS
int s3s_upload_test_part_state(struct s3_upload *up, unsigned int num, const char *state);
#endif

/* ----------------------------------------------------------- versions.c */

int s3s_versioning(struct s3_store *st, enum s3_versioning *state);
int s3s_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg);
int s3s_delete_version(struct s3_store *st, const char *key, const char *version_id);
int s3s_head_version(struct s3_store *st, const char *key, const char *version_id,
		     struct s3_version_info *info);

/*
 * s3_lock_holds() - what Object Lock holds a version by, from a HEAD of it:
 * "GOVERNANCE retention until 2026-12-06T22:58:05Z", ", a legal hold";
 * "" if nothing does, or the HEAD failed. Leaves s3_last_error() alone.
 */
void s3_lock_holds(struct s3s *s, const char *key, const char *version_id, char *buf, size_t len);

#endif /* FERRY_S3_S3S_H */
