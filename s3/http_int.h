/* SPDX-License-Identifier: MIT */
/*
 * s3/http_int.h - what the two halves of the loop share: http.c (the loop,
 * its queues and retries) and http_io.c (what one transfer reads and writes,
 * and the checks of its answer); private to them.
 */
#ifndef FERRY_S3_HTTP_INT_H
#define FERRY_S3_HTTP_INT_H

#include <pthread.h>

#include "http.h"
#include "ratelimit.h"

/* the cap of an answer kept in memory, unless the request gives its own */
#define RESP_MAX_DEFAULT (1u << 20)
/* of an error document: its start is enough */
#define ERROR_DOC_MAX (64u << 10)
/* slots beyond K for small control requests */
#define CONTROL_SPARE 2

struct s3_http {
	struct s3_http_opts o;
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		   /* s3_http_run() waiters */
	struct s3_hreq *in_head, *in_tail; /* incoming, under lock */
	bool stopping;

	/* the loop thread's */
	struct s3_hreq *ctl_head, *ctl_tail, *data_head, *data_tail;
	struct s3_hreq *delayed; /* waiting out a backoff, unordered */
	struct s3_hreq **running;
	unsigned int nrunning, max;
	CURL **pool;
	unsigned int npool;
	struct s3_bucket up, down; /* the caps */
	uint64_t rnd;
	/*
	 * The request id of the last answer on each connection (by local port):
	 * an answer with the same id again is a repeat, and the connection out of
	 * step (the request's own answer is still to come).
	 */
	struct last_answer {
		long port;
		char id[96];
	} last[64];
};

/* CLOCK_MONOTONIC in ms, with fractions (the caps' buckets) */
double s3_http_now_ms_f(void);

/* r->msg, cut to fit */
void s3_hreq_msg(struct s3_hreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Forget what the headers of an answer said (a new answer, a new attempt). */
void s3_hreq_forget_headers(struct s3_hreq *r);

/* The curl callbacks of a transfer (http_io.c); their argument is the request, or the loop for sockopt. */
size_t s3_http_read_cb(char *buf, size_t size, size_t nitems, void *arg);
size_t s3_http_write_cb(char *data, size_t size, size_t nmemb, void *arg);
size_t s3_http_header_cb(char *line, size_t size, size_t nitems, void *arg);
int s3_http_sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose);

#endif /* FERRY_S3_HTTP_INT_H */
