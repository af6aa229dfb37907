/* SPDX-License-Identifier: MIT */
/*
 * s3/xml.h - the small XML reader for S3 responses; private to s3/.
 *
 * It reads what S3 servers send (elements, attributes, text, the five named
 * entities, character references, CDATA, comments, processing instructions)
 * and refuses the rest: DOCTYPE (no entity expansion, ever), mismatched or
 * unclosed tags, text outside the root, more than S3_XML_DEPTH levels. It
 * never reads outside the buffer it is given, which need not end in NUL.
 */
#ifndef FERRY_S3_XML_H
#define FERRY_S3_XML_H

#include <stddef.h>
#include <stdint.h>

#define S3_XML_DEPTH	32
#define S3_XML_PATH_MAX 512

/*
 * Called at the end of every element. @path names it from the root, with '/'
 * between local names (namespace prefixes dropped): "ListBucketResult/Contents/Key".
 * @text is the decoded text directly inside it (children's text left out),
 * NUL-terminated, @len bytes (never containing a NUL: "&#0;" is refused).
 * Return 0 to go on, anything else to stop the parse with that value.
 */
typedef int (*s3_xml_fn)(void *arg, const char *path, const char *text, size_t len);

/**
 * s3_xml_parse() - parse @len bytes of @doc, calling @fn per element
 * Return: 0; -EBADMSG for a malformed document; -ENOMEM; @fn's value.
 */
int s3_xml_parse(const char *doc, size_t len, s3_xml_fn fn, void *arg);

/* The fields of an S3 <Error> document; strings are NUL-terminated, cut to fit. */
struct s3_xml_err {
	char code[64];
	char message[256];
	char request_id[96];
	char server_time[40];	/* RequestTimeTooSkewed: ServerTime */
	char request_time[40];	/* RequestTimeTooSkewed: RequestTime */
	char region[40];	/* AuthorizationHeaderMalformed: Region */
	char endpoint[128];	/* PermanentRedirect: Endpoint */
};

/**
 * s3_xml_error() - read an S3 error document
 * Return: 1 if @doc is a well-formed document whose root is <Error> (@e
 * filled), 0 if it is another document or not XML at all.
 */
int s3_xml_error(const char *doc, size_t len, struct s3_xml_err *e);

/**
 * s3_xml_time() - seconds since the epoch of an ISO 8601 UTC time
 * ("2024-05-01T12:00:00.000Z", fraction and 'Z' optional)
 * Return: 0 and *@t set; -EINVAL.
 */
int s3_xml_time(const char *s, int64_t *t);

/**
 * s3_xml_u64() - a decimal number that fills @s entirely
 * Return: 0; -EINVAL (empty, not a number, or over UINT64_MAX).
 */
int s3_xml_u64(const char *s, uint64_t *v);

#endif /* FERRY_S3_XML_H */
