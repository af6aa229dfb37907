/* SPDX-License-Identifier: MIT */
/*
 * k8s/k8s_int.h - what the files of k8s/ share; private to k8s/ (and its
 * tests and fuzz targets).
 *
 * A struct k8s_obj is a cJSON node: the public type is never defined, and
 * J()/O() convert, so borrowed values inside a tree cost nothing.
 */
#ifndef FERRY_K8S_INT_H
#define FERRY_K8S_INT_H

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "k8s.h"

/* ------------------------------------------------------------ logging */

void k8s_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...)   k8s_log(K8S_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  k8s_log(K8S_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  k8s_log(K8S_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) k8s_log(K8S_LOG_DEBUG, __VA_ARGS__)
bool k8s_log_debug_on(void);

/* ------------------------------------------------------------ objects */

static inline cJSON *J(const struct k8s_obj *o)
{
	return (cJSON *)o;
}

static inline struct k8s_obj *O(const cJSON *j)
{
	return (struct k8s_obj *)j;
}

/* cJSON_ParseWithLength (nesting up to cJSON's 1000); NULL if not JSON. */
cJSON *kjson_parse(const char *buf, size_t len);
/* The string member @key of @j, or NULL. */
const char *kjson_str(const cJSON *j, const char *key);

/* views (obj.c): a time or a quantity at @path, 0 if absent or bad */
int64_t kview_time(const struct k8s_obj *o, const char *path);
int64_t kview_qty(const struct k8s_obj *o, const char *path, bool milli);
/* the condition @type of status.conditions: its status is "True"; its lastTransitionTime */
bool kview_condition(const struct k8s_obj *o, const char *type, int64_t *since);

/* ------------------------------------------------------------ errors */

/* Set @err (may be NULL) and return @code. */
int kerr_set(struct k8s_err *err, int code, int exit, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
void kerr_clear(struct k8s_err *err);
/* "@prefix: " before err->msg (cut to fit) */
void kerr_prefix(struct k8s_err *err, const char *prefix);
/* the default exit class of an errno outside the table (config errors and such) */
int kerr_exit_of(int code);

/* ------------------------------------------------------------ small things */

/* A growable string (curl's dynbuf, with a cap). */
struct kbuf {
	char *p;
	size_t len, cap, max; /* max 0: 64 MiB */
	bool failed;	      /* an append ran out of memory or past max */
};
void kbuf_add(struct kbuf *b, const void *s, size_t n);
void kbuf_puts(struct kbuf *b, const char *s);
void kbuf_printf(struct kbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* append @s percent-encoded for a URL path segment or query value */
void kbuf_escape(struct kbuf *b, const char *s);
/* the string (NUL-terminated, owned by @b) or NULL if an append failed */
const char *kbuf_str(struct kbuf *b);
/* hand the string over (malloc()ed) and reset @b; NULL if an append failed */
char *kbuf_take(struct kbuf *b);
void kbuf_free(struct kbuf *b);
/* wipe and free (secrets) */
void kbuf_wipe(struct kbuf *b);

/* base64 (RFC 4648, padded); decode accepts no whitespace but a trailing newline */
char *kb64_encode(const void *buf, size_t len);
int kb64_decode(const char *s, size_t slen, unsigned char **out, size_t *len);

/* Read a whole file (at most @max bytes): 0, -ENOENT, -EACCES, -EFBIG, -errno. */
int kfile_read(const char *path, size_t max, char **out, size_t *len);
/* strdup that wipes nothing; NULL in, NULL out */
char *kstrdup(const char *s);
/* wipe and free a NUL-terminated secret; NULL ok */
void kfree_secret(char *s);

uint64_t kmono_ms(void);
/* xorshift64* seeded from getrandom(): jitter only, never secrets */
uint64_t krand(void);

/* ------------------------------------------------------------ configuration */

enum kauth_kind {
	KAUTH_NONE,
	KAUTH_TOKEN,	  /* a static token */
	KAUTH_TOKEN_FILE, /* tokenFile or in-cluster: re-read every minute and on 401 */
	KAUTH_BASIC,	  /* username/password */
	KAUTH_EXEC,	  /* an exec credential plugin */
};

struct kexec {
	char *api_version;
	char *command;
	char **argv; /* argv[0] = command, NULL-terminated */
	char **env;  /* "NAME=value", NULL-terminated (may hold secrets: wiped) */
	char *install_hint;
	bool provide_cluster_info;
	char *interactive; /* Never, IfAvailable (Always is refused) */
	char *dir;	   /* the kubeconfig's directory: relative commands */
};

/* A credential the client holds at one time: swapped whole under auth_lock. */
struct kcred {
	char *token;	  /* bearer token */
	char *cert, *key; /* PEM client certificate and key (exec plugins) */
	size_t cert_len, key_len;
	int64_t expires_ns; /* 0: no expiry */
	uint64_t read_ms;   /* when it was read (token files) */
};

struct k8s_config {
	char *server; /* https://host:port, no trailing slash */
	char *source; /* for messages */
	char *file;   /* the kubeconfig that named the cluster ("" in-cluster) */
	char *cluster_name, *user_name, *context_name;
	char *ns;
	/* TLS */
	char *ca_file; /* a path, or NULL */
	char *ca_data; /* PEM in memory, or NULL */
	size_t ca_data_len;
	char *cert_file, *key_file; /* client certificate, paths */
	char *cert_data, *key_data; /* or PEM in memory (key: a secret) */
	size_t cert_data_len, key_data_len;
	char *tls_server_name;
	char *proxy_url;
	bool insecure;
	/* authentication */
	enum kauth_kind auth;
	char *token;	  /* KAUTH_TOKEN (a secret) */
	char *token_file; /* KAUTH_TOKEN_FILE */
	char *username, *password;
	struct kexec exec;
	bool in_cluster;
};

/* config from one or more files given as buffers (tests, the fuzz target) */
struct kcfg_file {
	const char *path; /* for messages and relative paths */
	const char *buf;
	size_t len;
};
int kcfg_from_buffers(const struct kcfg_file *files, size_t n, const struct k8s_config_opts *o,
		      struct k8s_config **out, struct k8s_err *err);

/* YAML to a cJSON tree (yaml.c): a single document; @err names the line */
int kyaml_parse(const char *buf, size_t len, cJSON **out, struct k8s_err *err, const char *what);

/* ------------------------------------------------------------ credentials (auth.c) */

struct kauth;
int kauth_new(const struct k8s_config *cfg, struct kauth **out);
void kauth_free(struct kauth *a);
/*
 * The credential to send now (read, refreshed or re-run as needed), copied
 * into @out (the caller wipes it with kcred_fini()). @stale: the last one was
 * refused (401): read or run again whatever can be.
 * Return: 0; -EACCES with @err (a plugin that fails, a token file missing).
 */
int kauth_get(struct kauth *a, bool stale, struct kcred *out, struct k8s_err *err);
/* whether a refresh after a 401 can change anything (not a static token) */
bool kauth_refreshable(const struct kauth *a);
void kcred_fini(struct kcred *c);
/* parse an ExecCredential (exec plugin stdout); @err says what is wrong */
int kauth_parse_exec(const char *buf, size_t len, struct kcred *out, struct k8s_err *err);

/* ------------------------------------------------------------ the error table (errmap.c) */

/* Contexts a row may be limited to. */
enum {
	KCTX_ANY = 0,
	KCTX_READ = 1 << 0,   /* get, list */
	KCTX_WATCH = 1 << 1,  /* watch */
	KCTX_CREATE = 1 << 2, /* create */
	KCTX_UPDATE = 1 << 3, /* update (PUT) */
	KCTX_PATCH = 1 << 4,  /* merge, strategic */
	KCTX_JPATCH = 1 << 5, /* JSON patch */
	KCTX_APPLY = 1 << 6,  /* server-side apply */
	KCTX_DELETE = 1 << 7, /* delete */
	KCTX_WRITE =
		KCTX_CREATE | KCTX_UPDATE | KCTX_PATCH | KCTX_JPATCH | KCTX_APPLY | KCTX_DELETE,
};

enum kretry {
	KRETRY_NO,	/* final */
	KRETRY_BACKOFF, /* jittered exponential backoff; Retry-After when given */
	KRETRY_CONNECT, /* as BACKOFF, at most 3 attempts (a server restarting) */
	KRETRY_READS,	/* as BACKOFF for reads (get, list, watch) only */
	KRETRY_REAUTH,	/* refresh the credential and send once more */
	KRETRY_REREAD,	/* the caller's: read again and re-apply (409, test failed) */
	KRETRY_RELIST,	/* the caller's: list again (410) */
};

/* What is known about one failed attempt. */
struct kfail {
	/* the transport: a symbolic code ("ConnectionRefused") when no answer came */
	const char *transport;
	const char *transport_detail; /* curl's error text */
	long http;
	/* the Status answer, if any */
	const char *reason, *message;
	const cJSON *details;
	/* the request */
	int ctx;
	const char *verb, *resource, *ns, *name, *what;
	/* the configuration, for hints */
	const struct k8s_config *cfg;
	unsigned int connect_timeout_ms, timeout_ms;
};

/*
 * kerr_map() - the one mapping: fill @err (code, http, exit, reason, msg)
 * and return what may be done about it.
 */
enum kretry kerr_map(const struct kfail *f, struct k8s_err *err);
/* turn a curl result into kfail's transport code (errmap.c); NULL for CURLE_OK */
const char *kerr_transport(int curl_code, long os_errno);

/* The table, for its unit test: the first row that matches wins. */
struct kerr_row {
	long http_lo, http_hi; /* status range; 0, 0: a transport failure */
	const char *code;      /* Status reason or transport code; NULL: any */
	int ctx;	       /* KCTX_* the row is limited to; KCTX_ANY: any */
	const char *needle;    /* a substring (any case) of the message it needs; NULL: none */
	int err;	       /* -errno */
	enum kretry retry;
	int exit;	  /* enum k8s_exit */
	const char *hint; /* template: {what} {server} {verb} {resource} {ns} {name} {file}
			     {cluster} {user} {ca} {msg} {causes} {timeout} {detail}
			     {http} {reason} {authfix} */
};
extern const struct kerr_row kerr_table[];
extern const size_t kerr_table_len;

/* ------------------------------------------------------------ the loop (loop.c) */

struct kloop;
struct kreq;
typedef void (*kreq_done_fn)(struct kreq *r);
/* a streamed answer's bytes (2xx only); return 0, or -errno to stop the transfer */
typedef int (*kreq_data_fn)(struct kreq *r, const char *buf, size_t len);

struct kreq {
	/* in: set before submitting, constant until done */
	const char *method;
	char *url;	  /* owned by the request's owner */
	const char *body; /* borrowed until done */
	size_t body_len;
	const char *content_type;
	int ctx; /* KCTX_* */
	const char *verb, *resource, *ns, *name;
	char what[192];		 /* "get pods/web-0 in namespace shop", for messages */
	bool stream;		 /* a watch: the 2xx body goes to on_data as it comes */
	bool no_fence;		 /* the lease's own writes */
	unsigned int timeout_ms; /* 0: the client's; for streams: the whole transfer */
	uint64_t not_before_ms;	 /* do not start before this (kmono_ms) */
	size_t resp_max;	 /* cap of the body (0: 256 MiB) */
	kreq_data_fn on_data;
	kreq_done_fn done; /* NULL with kloop_run() */
	void *arg;

	/* out: valid in done() and after kloop_run() */
	int err;
	struct k8s_err e;
	long status;
	char *resp; /* malloc()ed answer (not for streams), NUL-terminated; kreq_fini() frees */
	size_t resp_len;
	unsigned int attempts;

	/* private to loop.c */
	struct kloop *l;
	struct kreq *next;
	void *easy;
	struct curl_slist *hdrs;
	uint64_t deadline_ms, wake_ms, started_ms;
	size_t sent, resp_cap;
	long os_errno;
	long retry_after_s;
	int abort_err;
	uint64_t throttled_since;
	bool finished, stale_cred, is_h2;
	bool is_call; /* kloop_call(): done() runs on the loop thread, nothing is sent */
	bool secret;  /* the body or the answer holds a secret: wiped, never logged */
	char curl_err[256];
};

struct kloop_opts {
	const struct k8s_config *cfg;
	struct kauth *auth;
	double qps;
	unsigned int burst;
	unsigned int timeout_ms, connect_timeout_ms, max_inflight;
	const char *user_agent;
	bool http1;
};

int kloop_new(const struct kloop_opts *o, struct kloop **out);
void kloop_free(struct kloop *l);
/* Queue @r; done() runs on the loop thread exactly once. */
void kloop_submit(struct kloop *l, struct kreq *r);
/* Queue @r and wait (never on the loop thread). Return: r->err. */
int kloop_run(struct kloop *l, struct kreq *r);
/*
 * Run @fn(@r) on the loop thread soon (@r is only a carrier: set nothing in
 * it but arg). How informers start and stop their requests without races.
 */
void kloop_call(struct kloop *l, struct kreq *r, kreq_done_fn fn, void *arg);
/*
 * On the loop thread only: end @r now if it is queued, waiting or running;
 * its done() runs with -ECANCELED before this returns. A no-op if it ended.
 */
void kloop_abort(struct kloop *l, struct kreq *r);
/* the base URL requests are made against (tls-server-name in place of the host) */
const char *kloop_base(const struct kloop *l);
bool kloop_is_loop(const struct kloop *l);
void kloop_stats(const struct kloop *l, struct k8s_client_stats *st);
/* the fence: a predicate checked before each attempt of a write */
void kloop_set_fence(struct kloop *l, bool (*ok)(const void *arg), const void *arg);
void kreq_fini(struct kreq *r);

/* ------------------------------------------------------------ the client (client.c) */

struct k8s_client {
	struct k8s_config *cfg;
	struct kauth *auth;
	struct kloop *loop;
	struct k8s_client_opts o;
};

/*
 * kc_url() - the URL of @r in @ns (NULL: cluster scope or all namespaces),
 * @name (NULL: the collection), @sub (NULL: none), with the query of @call
 * and @extra ("watch=1&…", NULL: none). malloc()ed, NULL without memory.
 */
char *kc_url(const struct k8s_client *c, const struct k8s_resource *r, const char *ns,
	     const char *name, const char *sub, const struct k8s_call *call, const char *extra);
/* the namespace a call uses: @ns, or the configuration's for NULL */
const char *kc_ns(const struct k8s_client *c, const struct k8s_resource *r, const char *ns);
/* fill the message fields of @q */
void kc_describe(struct kreq *q, const char *verb, const struct k8s_resource *r, const char *ns,
		 const char *name, const char *sub);
/* one request, blocking, its JSON answer parsed into *@out (if @out) */
int kc_do(struct k8s_client *c, struct kreq *q, struct k8s_obj **out, struct k8s_err *err);

/* ------------------------------------------------------------ watch streams (watch.c) */

enum kwatch_type {
	KW_ADDED,
	KW_MODIFIED,
	KW_DELETED,
	KW_BOOKMARK,
	KW_ERROR,
};

/*
 * The decoder of a watch body: newline-delimited JSON events, in pieces of
 * any size. Each complete line is one event: @fn gets its type and object
 * (a root it takes over), or, for a line that is not an event, KW_ERROR and
 * NULL. Blank lines are skipped.
 */
typedef int (*kwatch_event_fn)(void *arg, enum kwatch_type type, cJSON *obj);
struct kwatch_dec {
	struct kbuf line;
	size_t max_line; /* 0: 64 MiB */
	kwatch_event_fn fn;
	void *arg;
	uint64_t events, bad;
};
void kwatch_dec_init(struct kwatch_dec *d, kwatch_event_fn fn, void *arg);
/* feed bytes; returns 0 or what @fn returned (non-zero stops), -E2BIG for a line over max */
int kwatch_dec_feed(struct kwatch_dec *d, const char *buf, size_t len);
/* the end of the stream: a last line without its newline is decoded too */
int kwatch_dec_finish(struct kwatch_dec *d);
void kwatch_dec_fini(struct kwatch_dec *d);
/* decode one event line; 0 and *@type, *@obj (a root), or -EBADMSG */
int kwatch_parse_line(const char *line, size_t len, enum kwatch_type *type, cJSON **obj);

/* ------------------------------------------------------------ leases */

/* the lease of a fenced client (lease.c): true while it leads */
bool klease_fence_ok(const void *lease);

#endif /* FERRY_K8S_INT_H */
