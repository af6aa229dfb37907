/* SPDX-License-Identifier: MIT */
/*
 * s3/xml.h - the small XML reader for S3 responses, and the writer of the
 * documents S3 requests carry; private to s3/.
 *
 * It reads what S3 servers send (elements, attributes, text, the five named
 * entities, character references, CDATA, comments, processing instructions)
 * and refuses the rest: DOCTYPE (no entity expansion, ever), mismatched or
 * unclosed tags, text outside the root, more than S3_XML_DEPTH levels. It
 * never reads outside the buffer it is given, which need not end in NUL.
 */
#ifndef FERRY_S3_XML_H
#define FERRY_S3_XML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "s3_buf.h"

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
	char server_time[40];  /* RequestTimeTooSkewed: ServerTime */
	char request_time[40]; /* RequestTimeTooSkewed: RequestTime */
	char region[40];       /* AuthorizationHeaderMalformed: Region */
	char endpoint[128];    /* PermanentRedirect: Endpoint */
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

/*
 * A page of a listing: entries of one or two kinds ("Version" and
 * "DeleteMarker" of ListVersionsResult), each a few text fields, and a few
 * page-level values (IsTruncated, the next markers). Every listing of
 * store_s3.c but ListObjectsV2 reads its answers this way.
 */
#define S3_PAGE_FIELDS 6
#define S3_PAGE_TOP    4

/**
 * struct s3_xml_page_spec - the shape of one kind of listing
 * @root:  name of the root element ("ListPartsResult"); another root is -EBADMSG
 * @entry: names of entry elements, children of the root (NULL-terminated, <= 2)
 * @field: names of the fields, children of an entry (NULL-terminated)
 * @top:   names of page values, children of the root (NULL-terminated)
 */
struct s3_xml_page_spec {
	const char *root;
	const char *entry[3];
	const char *field[S3_PAGE_FIELDS + 1];
	const char *top[S3_PAGE_TOP + 1];
};

/* @kind: index into spec->entry; @f[i]: field i's text, NULL if absent */
struct s3_xml_entry {
	unsigned int kind;
	char *f[S3_PAGE_FIELDS];
};

/* @top[i]: page value i, NULL if absent; the rest is the parser's */
struct s3_xml_page {
	struct s3_xml_entry *e;
	size_t n;
	char *top[S3_PAGE_TOP];
	size_t cap;
	struct s3_xml_entry cur;
	const struct s3_xml_page_spec *spec;
	bool root_seen;
};

/**
 * s3_xml_page_parse() - read one listing page of shape @spec into @pg
 * @pg: zeroed, or cleared with s3_xml_page_fini(); filled in document order
 *
 * An entry field given twice keeps the last text; unknown elements are skipped.
 * At most 100000 entries.
 *
 * Return: 0; -EBADMSG (malformed, or not a @spec->root document); -ENOMEM;
 * -E2BIG (too many entries). @pg holds what was read either way.
 */
int s3_xml_page_parse(const char *doc, size_t len, const struct s3_xml_page_spec *spec,
		      struct s3_xml_page *pg);

/* s3_xml_page_fini() - free what @pg holds and zero it; NULL is a no-op */
void s3_xml_page_fini(struct s3_xml_page *pg);

/*
 * Writing: the bodies of DeleteObjects and CompleteMultipartUpload are built
 * in a string builder (s3_buf.h), whose error says at the end whether they all
 * fit. Text is escaped (& < > " ' as entities); names are written as given.
 */

/* <@root xmlns="http://s3.amazonaws.com/doc/2006-03-01/">: a document of S3's namespace */
void s3_xml_begin(struct s3_sbuf *b, const char *root);
/* <@name> */
void s3_xml_open(struct s3_sbuf *b, const char *name);
/* </@name> */
void s3_xml_close(struct s3_sbuf *b, const char *name);
/* @text, escaped */
void s3_xml_escape(struct s3_sbuf *b, const char *text);
/* <@name>@text</@name>, @text escaped */
void s3_xml_element(struct s3_sbuf *b, const char *name, const char *text);

#endif /* FERRY_S3_XML_H */
