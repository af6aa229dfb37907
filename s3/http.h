/* SPDX-License-Identifier: MIT */
/*
 * s3/http.h - one libcurl multi loop on its own thread; private to s3/.
 *
 * A request (struct s3_hreq) is one S3 operation with its retries: the owner
 * fills the "in" part, submits it, and gets exactly one done() call on the
 * loop thread (or, with s3_http_run(), waits for it). Before every attempt
 * the loop calls prepare(), which signs the request afresh. At most
 * @concurrency transfers run at once (two more for small control requests),
 * over at most as many kept-alive connections.
 *
 * Results are mapped to -errno plus one line for the user in exactly one
 * place, s3_http_map() in http_map.c.
 */
#ifndef FERRY_S3_HTTP_H
#define FERRY_S3_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "xml.h"

struct s3_http_opts {
	unsigned int concurrency; /* transfers at once, >= 1 */
	const char *ca_file;	  /* NULL: the system store */
	const void *ca_pem;	  /* PEM in memory (ca_pem_len bytes), before ca_file */
	size_t ca_pem_len;
	bool insecure_tls;
	uint64_t limit_up, limit_down; /* bytes per second, 0: none */
	unsigned int timeout_ms;       /* deadline of one request, retries included */
	const char *bucket;	       /* for messages */
	const char *endpoint;	       /* for messages */
	const char *access_key;	       /* for messages (the id, never the secret) */
	const char *cred_source;       /* for messages */
	const char *region;	       /* for messages */
};

struct s3_http;
struct s3_hreq;

/*
 * What a failure means to the user: the exit code the CLI gives for its
 * errno (the README's table; control's ctl_exit_code() maps the errno, these
 * say the same in s3_http_map()'s table, where a reader sees all of a case).
 */
enum s3_exit_class {
	S3_XC_OK = 0,
	S3_XC_FAILURE = 1,
	S3_XC_USAGE = 2,     /* a setting is wrong: region, endpoint, CA file */
	S3_XC_NOT_FOUND = 3, /* bucket, object, version, upload */
	S3_XC_IO = 5,	     /* the store refused what was sent, or answered wrongly */
	S3_XC_REFUSED = 6,   /* too large, exists already */
	S3_XC_NOSPACE = 7,   /* a quota */
	S3_XC_ACCESS = 8,    /* credentials, permission, clock, Object Lock */
	S3_XC_NETWORK = 9,   /* unreachable, reset, timed out, busy past the budget */
	S3_XC_VERSION = 10,  /* (-EPROTONOSUPPORT: an endpoint that is not http(s)) */
};

/* Build the headers of the next attempt (signing it); NULL with *@err set to fail it. */
typedef struct curl_slist *(*s3_hreq_prepare_fn)(struct s3_hreq *r, int *err);
typedef void (*s3_hreq_done_fn)(struct s3_hreq *r);

struct s3_hreq {
	/* in: set before submitting, constant until done */
	const char *method; /* GET PUT POST DELETE HEAD */
	char *url;	    /* owned by the owner */
	const void *body;   /* request body, borrowed until done */
	size_t body_len;
	void *dst; /* response body of a 2xx goes here (else into resp) */
	size_t dst_len;
	uint64_t range_off;   /* a ranged GET from here: a 200 answer skips to it */
	size_t resp_max;      /* cap of resp (0: 1 MiB); more is -EFBIG */
	bool check_200_error; /* a 200 whose body is <Error> is an error */
	bool control;	      /* small request: may use the spare slots */
	bool accept_404;      /* 404 is not an error (DELETE) */
	bool accept_416;      /* 416 is not an error (ranges past the end) */
	bool ranged;	      /* a ranged GET: a 200 answer is cut to dst */
	bool on_upload;	      /* names an upload id: a 404 is a gone upload */
	/*
	 * What a 2xx answer must be, else it is taken for damaged on the way (or
	 * the answer to another request, on a connection out of step) and the
	 * request is sent again on a fresh connection:
	 */
	char expect_md5
		[33]; /* a PUT: an MD5-form ETag must be this (hex, S3_MD5_HEX; "" no check) */
	const char *expect_root; /* an XML body must hold this element ("ListBucketResult") */
	char what[160];		 /* "PUT data/ab/cd", for messages */
	s3_hreq_prepare_fn prepare;
	s3_hreq_done_fn done; /* NULL with s3_http_run() */
	void *arg;

	/* out: valid in done() and after s3_http_run() */
	int err;       /* 0 or -errno */
	char msg[384]; /* a line for the user when err != 0 */
	long status;   /* HTTP status, 0 if none came */
	char *resp;    /* malloc()ed body when not in dst; s3_hreq_fini() frees */
	size_t resp_len;
	size_t got; /* bytes written to dst */
	char etag[132];
	bool has_length;
	uint64_t content_length;
	bool has_range;
	uint64_t range_total; /* the "/total" of Content-Range */
	bool has_range_first;
	uint64_t range_first;	 /* the first byte of Content-Range */
	int64_t server_date;	 /* Date: header, 0 if none */
	int64_t last_modified;	 /* Last-Modified: header, 0 if none */
	char lock_mode[16];	 /* x-amz-object-lock-mode */
	char lock_until[48];	 /* x-amz-object-lock-retain-until-date */
	bool legal_hold;	 /* x-amz-object-lock-legal-hold: ON */
	char request_id[96];	 /* x-amz-request-id */
	struct s3_xml_err s3err; /* the <Error> document, if any */
	unsigned int attempts;
	unsigned char xc; /* enum s3_exit_class of err */
	bool store_wide;  /* err is one every request would meet: network, credentials, bucket */

	/* private to http.c */
	struct s3_http *h;
	struct s3_hreq *next;
	struct curl_slist *hdrs;
	CURL *easy;	   /* its CURLOPT_PRIVATE is this request */
	unsigned int slot; /* in the loop's running[] */
	uint64_t deadline_ms, wake_ms, started_ms;
	size_t sent;
	size_t resp_cap; /* allocated for resp (when resp is set) */
	uint64_t skip;
	int abort_err;
	bool paused_up, paused_down, finished;
	bool fresh;	   /* the last answer was wrong: a new connection */
	bool etag_retried; /* sent again once for an ETag that is not the MD5 */
	bool wrong_answer; /* headers_ok() refused the answer's headers */
	long os_errno;
	char curl_err[CURL_ERROR_SIZE];
};

/**
 * s3_http_new() - start the loop thread
 * @opts: borrowed; strings must live as long as the loop
 * Return: 0; -ENOMEM; -EIO (curl could not start).
 */
int s3_http_new(const struct s3_http_opts *opts, struct s3_http **out);

/* Stop the loop: requests still queued finish with -ECANCELED. NULL is a no-op. */
void s3_http_free(struct s3_http *h);

/* Queue @r; done() runs on the loop thread. Never fails. */
void s3_http_submit(struct s3_http *h, struct s3_hreq *r);

/* Queue @r and wait for it (never on the loop thread). Return: r->err. */
int s3_http_run(struct s3_http *h, struct s3_hreq *r);

/* Free what the loop allocated in @r (resp). */
void s3_hreq_fini(struct s3_hreq *r);

/* true on the loop thread of @h */
bool s3_http_is_loop(const struct s3_http *h);

/**
 * s3_http_map() - the result of one attempt of @r: -errno, exit class, a line
 * @o:  the loop's settings, for the line (endpoint, bucket, key id, ...)
 * @cc: curl's result of the transfer
 *
 * Sets r->err, r->xc, r->store_wide and, for a failure, r->msg; may set
 * r->fresh (the next attempt on a new connection). Pure: no I/O.
 *
 * Return: whether another attempt may succeed.
 */
bool s3_http_map(const struct s3_http_opts *o, struct s3_hreq *r, CURLcode cc);

/* The errno of an S3 error code alone (DeleteObjects' per-key errors); -EIO for an unknown one. */
int s3_http_code_errno(const char *code);

#endif /* FERRY_S3_HTTP_H */
