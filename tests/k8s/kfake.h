/* SPDX-License-Identifier: MIT */
/*
 * tests/k8s/kfake.h - a scripted HTTP server for the client's unit tests
 * (libmicrohttpd, 127.0.0.1, a thread per connection): each request goes to
 * the test's handler, which answers with a status and a body, or with a
 * stream of pieces sent with pauses between them (a watch). Every request is
 * logged for the test to check what the client sent.
 */
#ifndef FERRY_T_KFAKE_H
#define FERRY_T_KFAKE_H

#include <stdbool.h>
#include <stddef.h>

struct kfake_req {
	char method[16];
	char path[512];	  /* without the query */
	char query[2048]; /* the decoded arguments, "k=v&k=v", in order */
	char auth[512];	  /* Authorization */
	char ctype[128];  /* Content-Type */
	char *body;	  /* NUL-terminated */
	size_t body_len;
};

/* the decoded value of query argument @key, or NULL (a buffer of the thread's, until its next call) */
const char *kfake_arg(const struct kfake_req *r, const char *key);

struct kfake_resp {
	int status; /* 200 if 0 */
	char *body; /* malloc()ed by the handler, freed by kfake */
	unsigned int retry_after;
	/* a stream: the pieces, each sent after @pause_ms; then @hold_ms open; then the end */
	char **pieces; /* malloc()ed array of malloc()ed strings, freed by kfake */
	size_t npieces;
	unsigned int pause_ms, hold_ms;
	bool stream;
	bool abort;	       /* end the stream with an error (a cut connection) */
	unsigned int delay_ms; /* wait before answering at all */
};

/* runs on a server thread: fill @resp */
typedef void (*kfake_fn)(void *arg, const struct kfake_req *req, struct kfake_resp *resp);

struct kfake;
struct kfake *kfake_start(kfake_fn fn, void *arg);
void kfake_stop(struct kfake *f);
int kfake_port(const struct kfake *f);
/* requests so far whose method is @method (NULL: any) and path starts with @prefix */
int kfake_count(struct kfake *f, const char *method, const char *prefix);
/* a copy of the @i-th logged request (0 first; negative: from the end); false if none */
bool kfake_log(struct kfake *f, int i, struct kfake_req *out);
void kfake_req_fini(struct kfake_req *r);

/* helpers for handlers */
char *kfake_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kfake_status(struct kfake_resp *resp, int code, const char *reason, const char *msg);
/* a stream of @n pieces (copied) */
void kfake_stream(struct kfake_resp *resp, const char *const *pieces, size_t n,
		  unsigned int pause_ms, unsigned int hold_ms);

#endif /* FERRY_T_KFAKE_H */
