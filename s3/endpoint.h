/* SPDX-License-Identifier: MIT */
/*
 * s3/endpoint.h - where the requests of an s3:// store go, and how a bucket
 * is addressed there; private to s3/ (store_s3.c, s3_op.c, the unit test).
 * Pure: no I/O, no global state, errors in a buffer of the caller's.
 */
#ifndef FERRY_S3_ENDPOINT_H
#define FERRY_S3_ENDPOINT_H

#include <stdbool.h>
#include <stddef.h>

/* Where requests go: filled by s3_endpoint_parse(), strings malloc()ed. */
struct s3_endpoint {
	bool https;
	bool path_style; /* "/bucket/key" on the endpoint's host, not "bucket.host/key" */
	char *base;	 /* "scheme://authority" a request URL starts with */
	char *host;	 /* the Host header */
	char *base_path; /* "" or the endpoint's "/path", without a trailing '/' */
};

/**
 * s3_endpoint_parse() - split an endpoint URL and choose the addressing style
 * @url:        "http://host[:port][/path]", "https://...", or without a
 *              scheme (https); borrowed
 * @bucket:     the bucket; borrowed
 * @path_style: 1 path style, 2 virtual-hosted style, else automatic: path
 *              style for IP literals (v4, bracketed v6) and localhost, and
 *              for bucket names with dots over https (a wildcard certificate
 *              does not cover them); virtual-hosted otherwise
 * @ep:         filled in; free it with s3_endpoint_fini(), also after a failure
 * @err:        @errlen bytes for the reason of a failure ("" on success)
 *
 * Return: 0; -EINVAL (no host, credentials in the URL); -EPROTONOSUPPORT (a
 * scheme other than http or https); -ENOMEM.
 */
int s3_endpoint_parse(const char *url, const char *bucket, int path_style, struct s3_endpoint *ep,
		      char *err, size_t errlen);

/* Free what @ep holds and zero it; NULL is a no-op. */
void s3_endpoint_fini(struct s3_endpoint *ep);

#endif /* FERRY_S3_ENDPOINT_H */
