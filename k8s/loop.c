// SPDX-License-Identifier: MIT
/*
 * k8s/loop.c - the one libcurl multi loop of a client: every request and
 * every watch, on one thread, over kept-alive connections; HTTP/2 where TLS
 * ALPN offers it, so that all watches and requests share one connection.
 *
 * Threads: other threads only touch the incoming list (under l->lock) and
 * wake the loop with curl_multi_wakeup(); everything else is the loop
 * thread's. A request's done() runs on the loop thread exactly once.
 *
 * Per attempt: the rate limiter (a token bucket, client-go's 5 qps / burst
 * 10 by default, requests served in order), the lease fence for writes, a
 * fresh credential (auth.c), then curl. A failed attempt goes through the
 * error table (errmap.c), which says whether to retry: with capped
 * exponential backoff and jitter, or after Retry-After, within the call's
 * deadline. Streams (watches) are never retried here: their informer
 * decides, with its own backoff, from where to watch again.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "k8s_int.h"

#define RESP_MAX_DEFAULT (256u << 20)
#define ERROR_DOC_MAX	 (256u << 10)
#define MAX_ATTEMPTS	 10
#define CONNECT_ATTEMPTS 3
#define BACKOFF_BASE_MS	 200
#define BACKOFF_CAP_MS	 10000

struct kloop {
	struct kloop_opts o;
	char *base; /* the URL base: the server, or tls-server-name in its place */
	struct curl_slist *connect_to; /* tls-server-name: connect to the real host */
	char *ua;
	CURLM *multi;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct kreq *in_head, *in_tail; /* incoming, under lock */
	bool stopping;
	bool (*fence)(const void *arg); /* under lock */
	const void *fence_arg;
	struct k8s_client_stats st; /* under lock */

	/* the loop thread's */
	struct kreq *pend_head, *pend_tail; /* ready to start, in order */
	struct kreq *delayed;		    /* waiting for not_before or a backoff */
	struct kreq *running;		    /* started, linked by next */
	unsigned int nrunning;		    /* non-stream requests running */
	double tokens, last_refill_ms;
};

/* ------------------------------------------------------------ lists */

static void q_push(struct kreq **head, struct kreq **tail, struct kreq *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static bool list_remove(struct kreq **head, struct kreq *r)
{
	for (struct kreq **pp = head; *pp; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			r->next = NULL;
			return true;
		}
	return false;
}

static bool pend_remove(struct kloop *l, struct kreq *r)
{
	struct kreq *prev = NULL;

	for (struct kreq *p = l->pend_head; p; prev = p, p = p->next)
		if (p == r) {
			if (prev)
				prev->next = r->next;
			else
				l->pend_head = r->next;
			if (l->pend_tail == r)
				l->pend_tail = prev;
			r->next = NULL;
			return true;
		}
	return false;
}

/* ------------------------------------------------------------ callbacks */

/*
 * The answer's body. A 2xx of a stream (a watch) goes to on_data() piece by
 * piece and is never kept; anything else is kept in r->resp up to a cap:
 * 256 MiB for a 2xx (a list of a large namespace), 256 KiB of an error (the
 * Status is at its start; the rest is dropped, not an error). Returning
 * less than @n makes curl end the transfer: abort_err says why.
 */
static size_t write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct kreq *r = arg;
	size_t n = size * nmemb, max;
	bool ok = r->status >= 200 && r->status < 300;

	if (r->stream && ok) {
		int ret = r->on_data(r, data, n);

		if (ret) {
			r->abort_err = ret;
			return 0;
		}
		return n;
	}
	max = !ok ? ERROR_DOC_MAX : r->resp_max ? r->resp_max : RESP_MAX_DEFAULT;
	if (r->resp_len + n > max) {
		if (!ok)
			return n; /* the start of an error document is enough */
		r->abort_err = -EFBIG;
		return 0;
	}
	if (r->resp_len + n + 1 > r->resp_cap) {
		size_t cap = r->resp_cap ? r->resp_cap : 16384;
		char *p;

		while (cap < r->resp_len + n + 1)
			cap *= 2;
		if (r->secret) {
			/* no copy of a token left behind in freed memory */
			p = malloc(cap);
			if (p && r->resp) {
				memcpy(p, r->resp, r->resp_len);
				OPENSSL_cleanse(r->resp, r->resp_cap);
				free(r->resp);
			}
		} else {
			p = realloc(r->resp, cap);
		}
		if (!p) {
			r->abort_err = -ENOMEM;
			return 0;
		}
		r->resp = p;
		r->resp_cap = cap;
	}
	memcpy(r->resp + r->resp_len, data, n);
	r->resp_len += n;
	r->resp[r->resp_len] = '\0';
	return n;
}

/*
 * Header lines. A status line starts a new answer (after a 100, or curl's
 * own retry on a dead kept-alive connection): what the last one said is
 * forgotten. Retry-After is kept in seconds; the date form counts as 1 s.
 */
static size_t header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct kreq *r = arg;
	size_t n = size * nitems;

	if (n > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', n);

		/* a new answer (after a 100, or a retry): forget the last one's */
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		r->retry_after_s = -1;
	} else if (n > 12 && !strncasecmp(line, "Retry-After:", 12)) {
		char tmp[32];
		size_t k = n - 12 < sizeof(tmp) - 1 ? n - 12 : sizeof(tmp) - 1;
		char *end;
		long v;

		memcpy(tmp, line + 12, k);
		tmp[k] = '\0';
		v = strtol(tmp, &end, 10);
		/* seconds only; an HTTP date (rare) counts as "soon" */
		r->retry_after_s = end != tmp && v >= 0 ? v : 1;
	}
	return n;
}

/* ------------------------------------------------------------ attempts */

static void req_clear_attempt(struct kreq *r)
{
	r->status = 0;
	r->abort_err = 0;
	r->os_errno = 0;
	r->retry_after_s = -1;
	r->curl_err[0] = '\0';
	r->sent = 0;
	r->is_h2 = false;
	if (r->secret && r->resp)
		OPENSSL_cleanse(r->resp, r->resp_cap);
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}

/*
 * The headers of one attempt. The bearer token is copied into the list
 * (curl keeps a pointer to the list, not to the token), and the list is
 * wiped by wipe_headers() when the attempt ends.
 */
/* Authorization and the rest; the credential's copy is wiped by the caller */
static struct curl_slist *build_headers(struct kloop *l, struct kreq *r, const struct kcred *cr)
{
	struct curl_slist *h = NULL, *t;
	struct kbuf b = {0};

	h = curl_slist_append(h, "Accept: application/json");
	if (h && r->body) {
		kbuf_printf(&b, "Content-Type: %s",
			    r->content_type ? r->content_type : "application/json");
		t = kbuf_str(&b) ? curl_slist_append(h, kbuf_str(&b)) : NULL;
		kbuf_free(&b);
		if (!t)
			goto out_fail;
		h = t;
	}
	if (h && cr->token) {
		kbuf_printf(&b, "Authorization: Bearer %s", cr->token);
		t = kbuf_str(&b) ? curl_slist_append(h, kbuf_str(&b)) : NULL;
		kbuf_wipe(&b);
		if (!t)
			goto out_fail;
		h = t;
	}
	/* curl adds Expect: 100-continue to large bodies: one more round trip */
	if (h)
		h = curl_slist_append(h, "Expect:");
	(void)l;
	return h;
out_fail:
	curl_slist_free_all(h);
	return NULL;
}

static void wipe_headers(struct curl_slist *h)
{
	for (struct curl_slist *p = h; p; p = p->next)
		if (!strncasecmp(p->data, "Authorization:", 14))
			OPENSSL_cleanse(p->data, strlen(p->data));
	curl_slist_free_all(h);
}

/*
 * TLS of one attempt: the CA (in memory or a file; none given: the system's
 * store), then the client certificate, an exec plugin's first (it may
 * change at each run, so curl copies it), else the kubeconfig's (in memory,
 * living as long as the client: not copied). insecure-skip-tls-verify was
 * warned about when the kubeconfig was read.
 */
static void set_tls(struct kloop *l, CURL *e, const struct kcred *cr)
{
	const struct k8s_config *cfg = l->o.cfg;

	if (cfg->insecure) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	} else if (cfg->ca_data) {
		struct curl_blob blob = {cfg->ca_data, cfg->ca_data_len, CURL_BLOB_NOCOPY};

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	} else if (cfg->ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_file);
	}
	/* an exec plugin's certificate first, then the kubeconfig's */
	if (cr->cert && cr->key) {
		struct curl_blob c = {cr->cert, cr->cert_len, CURL_BLOB_COPY};
		struct curl_blob k = {cr->key, cr->key_len, CURL_BLOB_COPY};

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &k);
	} else if (cfg->cert_data && cfg->key_data) {
		struct curl_blob c = {cfg->cert_data, cfg->cert_data_len, CURL_BLOB_NOCOPY};
		struct curl_blob k = {cfg->key_data, cfg->key_data_len, CURL_BLOB_NOCOPY};

		curl_easy_setopt(e, CURLOPT_SSLCERT_BLOB, &c);
		curl_easy_setopt(e, CURLOPT_SSLKEY_BLOB, &k);
	} else if (cfg->cert_file && cfg->key_file) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, cfg->cert_file);
		curl_easy_setopt(e, CURLOPT_SSLKEY, cfg->key_file);
	}
	curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
}

static void finish(struct kloop *l, struct kreq *r);

/* fail @r before it is sent: nothing to map */
static void fail_now(struct kloop *l, struct kreq *r, struct k8s_err *e)
{
	r->err = e->code;
	r->e = *e;
	finish(l, r);
}

/* start an attempt of @r; on failure @r is finished */
static void req_start(struct kloop *l, struct kreq *r, uint64_t now)
{
	struct k8s_err e = {0};
	struct kcred cr;
	CURL *easy;
	int ret;

	req_clear_attempt(r);
	if (!r->attempts) {
		unsigned int t = r->timeout_ms ? r->timeout_ms : l->o.timeout_ms;

		r->deadline_ms = r->stream ? UINT64_MAX : now + t;
	}
	/* writes of a process that no longer leads are refused before each attempt */
	if ((r->ctx & KCTX_WRITE) && !r->no_fence) {
		bool ok = true;

		pthread_mutex_lock(&l->lock);
		if (l->fence)
			ok = l->fence(l->fence_arg);
		pthread_mutex_unlock(&l->lock);
		if (!ok) {
			kerr_set(
				&e, -ENOLCK, K8S_EXIT_REFUSED, "NotLeader",
				"%s: refused: this process no longer holds its leader lease (not renewed within the renew deadline)",
				r->what);
			fail_now(l, r, &e);
			return;
		}
	}
	ret = kauth_get(l->o.auth, r->stale_cred, &cr, &e);
	if (ret) {
		if (!e.code)
			kerr_set(&e, ret, -1, "Credentials", "%s: no credential: %s", r->what,
				 strerror(-ret));
		fail_now(l, r, &e);
		return;
	}
	r->attempts++;
	easy = curl_easy_init();
	r->hdrs = easy ? build_headers(l, r, &cr) : NULL;
	if (!easy || !r->hdrs) {
		curl_easy_cleanup(easy);
		kcred_fini(&cr);
		kerr_set(&e, -ENOMEM, -1, "OutOfMemory", "%s: out of memory", r->what);
		fail_now(l, r, &e);
		return;
	}
	r->easy = easy;
	r->started_ms = now;
	curl_easy_setopt(easy, CURLOPT_URL, r->url);
	curl_easy_setopt(easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(easy, CURLOPT_USERAGENT, l->ua);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(easy, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, r);
	if (l->o.http1) {
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	} else {
		curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
		/* wait for a connection that multiplexes rather than open another */
		curl_easy_setopt(easy, CURLOPT_PIPEWAIT, 1L);
	}
	if (r->stream) {
		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)r->timeout_ms);
	} else {
		uint64_t left = r->deadline_ms > now ? r->deadline_ms - now : 1;

		curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)left);
	}
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)l->o.connect_timeout_ms);
	if (l->connect_to)
		curl_easy_setopt(easy, CURLOPT_CONNECT_TO, l->connect_to);
	if (l->o.cfg->proxy_url)
		curl_easy_setopt(easy, CURLOPT_PROXY, l->o.cfg->proxy_url);
	if (l->o.cfg->auth == KAUTH_BASIC) {
		curl_easy_setopt(easy, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(easy, CURLOPT_USERNAME, l->o.cfg->username);
		curl_easy_setopt(easy, CURLOPT_PASSWORD, l->o.cfg->password);
	}
	set_tls(l, easy, &cr);
	if (r->body) {
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, r->body);
	}
	if (strcmp(r->method, "GET") && strcmp(r->method, "POST"))
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, r->method);
	else if (!strcmp(r->method, "POST") && !r->body)
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	if (!strcmp(r->method, "POST") && !r->body)
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
	kcred_fini(&cr);
	if (curl_multi_add_handle(l->multi, easy) != CURLM_OK) {
		wipe_headers(r->hdrs);
		r->hdrs = NULL;
		curl_easy_cleanup(easy);
		r->easy = NULL;
		kerr_set(&e, -ENOMEM, -1, "OutOfMemory", "%s: cannot start the transfer", r->what);
		fail_now(l, r, &e);
		return;
	}
	r->next = l->running;
	l->running = r;
	if (!r->stream)
		l->nrunning++;
	pthread_mutex_lock(&l->lock);
	l->st.requests++;
	if (r->attempts > 1)
		l->st.retries++;
	pthread_mutex_unlock(&l->lock);
}

static void req_detach(struct kloop *l, struct kreq *r)
{
	list_remove(&l->running, r);
	if (!r->stream)
		l->nrunning--;
	curl_multi_remove_handle(l->multi, r->easy);
	curl_easy_cleanup(r->easy);
	r->easy = NULL;
	wipe_headers(r->hdrs);
	r->hdrs = NULL;
}

/*
 * The end of a request, exactly once: its done() (on this thread), or the
 * blocking caller woken. After this the loop never touches @r again: the
 * caller may free it at once.
 */
static void finish(struct kloop *l, struct kreq *r)
{
	kreq_done_fn done = r->done;

	if (r->err && !r->e.code) {
		r->e.code = r->err;
		r->e.exit = kerr_exit_of(r->err);
	}
	if (done) {
		done(r);
		return;
	}
	pthread_mutex_lock(&l->lock);
	r->finished = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
}

/* a reason for a status without a Status body */
static const char *status_reason(long st)
{
	switch (st) {
	case 400:
		return "BadRequest";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "NotFound";
	case 405:
		return "MethodNotAllowed";
	case 406:
		return "NotAcceptable";
	case 409:
		return "Conflict";
	case 410:
		return "Expired";
	case 413:
		return "RequestEntityTooLarge";
	case 415:
		return "UnsupportedMediaType";
	case 422:
		return "Invalid";
	case 429:
		return "TooManyRequests";
	case 500:
		return "InternalError";
	case 503:
		return "ServiceUnavailable";
	case 504:
		return "Timeout";
	default:
		return st >= 500 ? "InternalError" : "Unknown";
	}
}

/* wait before attempt r->attempts + 1: equal jitter over a capped doubling */
static uint64_t backoff_ms(const struct kreq *r)
{
	uint64_t cap = (uint64_t)BACKOFF_BASE_MS << (r->attempts - 1 < 10 ? r->attempts - 1 : 10);

	if (cap > BACKOFF_CAP_MS)
		cap = BACKOFF_CAP_MS;
	return cap / 2 + krand() % (cap / 2 + 1);
}

/*
 * An attempt ended: in order, what curl measured (HTTP/2, connections), a
 * stream stopped by its consumer, a 2xx, or a failure through the error
 * table (kerr_map()) whose answer decides: a fresh credential once after a
 * 401, a wait and another attempt (Retry-After, or backoff) while the
 * call's deadline and the attempt budget allow, else the end. Streams are
 * never retried here: their informer knows from where to watch again.
 */
static void req_ended(struct kloop *l, struct kreq *r, CURLcode cc)
{
	uint64_t now = kmono_ms();
	enum kretry retry = KRETRY_NO;
	struct kfail f = {0};
	cJSON *status = NULL;
	long ver = 0, nconn = 0;
	bool connected = true;

	if (cc == CURLE_COULDNT_CONNECT)
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &r->os_errno);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		curl_off_t pre = 0;

		curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
		connected = pre > 0;
	}
	curl_easy_getinfo(r->easy, CURLINFO_HTTP_VERSION, &ver);
	curl_easy_getinfo(r->easy, CURLINFO_NUM_CONNECTS, &nconn);
	r->is_h2 = ver == CURL_HTTP_VERSION_2_0;
	pthread_mutex_lock(&l->lock);
	l->st.connections += (uint64_t)nconn;
	if (r->is_h2 && r->status)
		l->st.http2++;
	pthread_mutex_unlock(&l->lock);
	req_detach(l, r);
	pr_debug("k8s: %s %s -> %ld%s%s, attempt %u, %llu ms", r->method, r->url, r->status,
		 r->is_h2 ? " h2" : "", cc != CURLE_OK ? " (transport failure)" : "", r->attempts,
		 (unsigned long long)(now - r->started_ms));

	/* a stream its consumer stopped, or a cancelled one: no mapping */
	if (r->abort_err && r->abort_err != -EFBIG && r->abort_err != -ENOMEM) {
		r->err = r->abort_err;
		if (!r->e.code)
			kerr_set(&r->e, r->err, -1, r->err == -ECANCELED ? "Cancelled" : "Stopped",
				 "%s: %s", r->what, strerror(-r->err));
		finish(l, r);
		return;
	}
	if (cc == CURLE_OK && r->status >= 200 && r->status < 300) {
		r->err = 0;
		memset(&r->e, 0, sizeof(r->e));
		r->e.http = r->status;
		finish(l, r);
		return;
	}
	f.ctx = r->ctx;
	f.verb = r->verb;
	f.resource = r->resource;
	f.ns = r->ns;
	f.name = r->name;
	f.what = r->what;
	f.cfg = l->o.cfg;
	f.connect_timeout_ms = l->o.connect_timeout_ms;
	f.timeout_ms = r->timeout_ms ? r->timeout_ms : l->o.timeout_ms;
	if (r->abort_err == -EFBIG)
		f.transport = "TooLarge";
	else if (r->abort_err == -ENOMEM)
		f.transport = "OutOfMemory";
	else if (cc != CURLE_OK)
		f.transport = kerr_transport((int)cc, r->os_errno);
	/* curl says "timed out" for both: a transfer that ended well before its
	 * deadline without a connection met the connect timeout */
	if (cc == CURLE_OPERATION_TIMEDOUT && !r->stream && !connected &&
	    now + 100 < r->deadline_ms)
		f.transport = "ConnectTimeout";
	f.transport_detail = r->curl_err[0] ? r->curl_err : curl_easy_strerror(cc);
	if (!f.transport) {
		f.http = r->status;
		status = r->resp ? kjson_parse(r->resp, r->resp_len) : NULL;
		f.reason = kjson_str(status, "reason");
		f.message = kjson_str(status, "message");
		f.details = cJSON_GetObjectItemCaseSensitive(status, "details");
		if (!f.reason || !*f.reason)
			f.reason = status_reason(r->status);
	}
	retry = kerr_map(&f, &r->e);
	r->err = r->e.code;
	cJSON_Delete(status);

	if (retry == KRETRY_REAUTH && !r->stale_cred && kauth_refreshable(l->o.auth)) {
		/* read the token file again / run the plugin again, once */
		r->stale_cred = true;
		pthread_mutex_lock(&l->lock);
		l->st.reauth++;
		pthread_mutex_unlock(&l->lock);
		r->wake_ms = now;
		r->next = l->delayed;
		l->delayed = r;
		return;
	}
	if (r->stream)
		retry = KRETRY_NO;
	if (retry == KRETRY_READS)
		retry = !strcmp(r->method, "GET") ? KRETRY_BACKOFF : KRETRY_NO;
	if ((retry == KRETRY_BACKOFF && r->attempts < MAX_ATTEMPTS) ||
	    (retry == KRETRY_CONNECT && r->attempts < CONNECT_ATTEMPTS)) {
		uint64_t wait = r->retry_after_s >= 0
					? (uint64_t)r->retry_after_s * 1000 + krand() % 100
					: backoff_ms(r);

		if (now + wait < r->deadline_ms) {
			pr_debug("k8s: %s: retrying in %llu ms: %s", r->what,
				 (unsigned long long)wait, r->e.msg);
			r->wake_ms = now + wait;
			r->next = l->delayed;
			l->delayed = r;
			return;
		}
	}
	if (retry == KRETRY_BACKOFF || retry == KRETRY_CONNECT) {
		size_t n = strlen(r->e.msg);

		if (n < sizeof(r->e.msg))
			snprintf(r->e.msg + n, sizeof(r->e.msg) - n, " (gave up after %u attempts)",
				 r->attempts);
	}
	finish(l, r);
}

/* ------------------------------------------------------------ the loop */

/* New requests in the order they came: calls run now, the rest wait or queue. */
/*
 * What other threads (and this one's done()s) queued: the requests first, into
 * the pending queue or the waits, then the calls in their order. A call may
 * abort a request queued in the same batch (an informer stopped just after
 * its list's done() submitted the watch): once placed, kloop_abort() finds it;
 * were the call run first, the request would still be in this local list,
 * out of its reach, and would start after its owner was freed.
 */
static void take_incoming(struct kloop *l, struct kreq *in, uint64_t now)
{
	struct kreq *calls = NULL, *calls_tail = NULL;

	while (in) {
		struct kreq *r = in;

		in = in->next;
		r->next = NULL;
		if (r->is_call) {
			q_push(&calls, &calls_tail, r);
			continue;
		}
		if (r->not_before_ms > now) {
			r->wake_ms = r->not_before_ms;
			r->next = l->delayed;
			l->delayed = r;
		} else {
			q_push(&l->pend_head, &l->pend_tail, r);
		}
	}
	while (calls) {
		struct kreq *r = calls;

		calls = calls->next;
		r->next = NULL;
		r->done(r);
	}
}

/* The client is closing: everything still here ends with -ECANCELED. */
static void cancel_all(struct kloop *l)
{
	struct kreq *r;

	while ((r = l->running)) {
		req_detach(l, r);
		r->err = -ECANCELED;
		kerr_set(&r->e, -ECANCELED, -1, "Cancelled", "%s: cancelled: the client is closing",
			 r->what);
		finish(l, r);
	}
	while ((r = l->pend_head) || (r = l->delayed)) {
		if (r == l->pend_head)
			pend_remove(l, r);
		else
			l->delayed = r->next;
		r->err = -ECANCELED;
		kerr_set(&r->e, -ECANCELED, -1, "Cancelled", "%s: cancelled: the client is closing",
			 r->what);
		finish(l, r);
	}
}

void kloop_abort(struct kloop *l, struct kreq *r)
{
	bool found = false;

	assert(kloop_is_loop(l));
	for (struct kreq *p = l->running; p; p = p->next)
		if (p == r)
			found = true;
	if (found) {
		req_detach(l, r);
	} else if (!pend_remove(l, r) && !list_remove(&l->delayed, r)) {
		/* submitted from this thread (a done() that went on) and not taken yet */
		struct kreq *prev = NULL;

		pthread_mutex_lock(&l->lock);
		for (struct kreq *p = l->in_head; p; prev = p, p = p->next)
			if (p == r) {
				if (prev)
					prev->next = r->next;
				else
					l->in_head = r->next;
				if (l->in_tail == r)
					l->in_tail = prev;
				r->next = NULL;
				found = true;
				break;
			}
		pthread_mutex_unlock(&l->lock);
		if (!found)
			return;
	}
	r->err = -ECANCELED;
	kerr_set(&r->e, -ECANCELED, -1, "Cancelled", "%s: cancelled", r->what);
	finish(l, r);
}

/*
 * The loop. Each turn: take what other threads queued, move waits that are
 * over to the queue, start what the in-flight cap and the rate limit allow
 * (in order: a request the bucket holds back holds back the ones behind
 * it), let curl work, end what finished, then sleep in curl_multi_poll()
 * until the next thing due (a wait, a token, curl's own timers) or a
 * wakeup from another thread.
 */
static void *loop_main(void *arg)
{
	struct kloop *l = arg;

	for (;;) {
		struct kreq *in, *r, **pp;
		uint64_t now;
		long timeout = 1000, t;
		bool stopping;
		int still = 0, nmsg;
		CURLMsg *m;

		pthread_mutex_lock(&l->lock);
		in = l->in_head;
		l->in_head = l->in_tail = NULL;
		stopping = l->stopping;
		pthread_mutex_unlock(&l->lock);
		now = kmono_ms();
		take_incoming(l, in, now);
		if (stopping) {
			cancel_all(l);
			break;
		}
		/* waits that are over */
		for (pp = &l->delayed; (r = *pp);) {
			if (r->wake_ms <= now) {
				*pp = r->next;
				q_push(&l->pend_head, &l->pend_tail, r);
			} else {
				pp = &r->next;
			}
		}
		/* start in order, as slots and the rate limit allow */
		while ((r = l->pend_head)) {
			if (!r->stream && l->nrunning >= l->o.max_inflight)
				break;
			if (l->o.qps > 0) {
				double tf = (double)now;

				l->tokens += (tf - l->last_refill_ms) * l->o.qps / 1000.0;
				if (l->tokens > l->o.burst)
					l->tokens = l->o.burst;
				l->last_refill_ms = tf;
				if (l->tokens < 1) {
					t = (long)((1 - l->tokens) * 1000.0 / l->o.qps) + 1;
					if (t < timeout)
						timeout = t;
					if (!r->throttled_since)
						r->throttled_since = now;
					break;
				}
				l->tokens -= 1;
			}
			pend_remove(l, r);
			if (r->throttled_since) {
				pthread_mutex_lock(&l->lock);
				l->st.throttled_ms += now - r->throttled_since;
				pthread_mutex_unlock(&l->lock);
				r->throttled_since = 0;
			}
			if (!r->stream && r->attempts && now >= r->deadline_ms) {
				finish(l, r);
				continue;
			}
			req_start(l, r, now);
		}

		curl_multi_perform(l->multi, &still);
		while ((m = curl_multi_info_read(l->multi, &nmsg))) {
			struct kreq *done = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&done);
			if (done)
				req_ended(l, done, m->data.result);
		}
		now = kmono_ms();
		for (r = l->delayed; r; r = r->next) {
			t = r->wake_ms > now ? (long)(r->wake_ms - now) : 0;
			if (t < timeout)
				timeout = t;
		}
		if (l->pend_head && timeout > 0 &&
		    (l->pend_head->stream || l->nrunning < l->o.max_inflight) &&
		    (l->o.qps <= 0 || l->tokens >= 1))
			timeout = 0;
		{
			long ct = -1;

			curl_multi_timeout(l->multi, &ct);
			if (ct >= 0 && ct < timeout)
				timeout = ct;
		}
		if (timeout > 0)
			curl_multi_poll(l->multi, NULL, 0, (int)timeout, NULL);
	}
	return NULL;
}

/* ------------------------------------------------------------ the API */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc;

static void curl_init(void)
{
	curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* host and port of an http(s) URL; -EINVAL if it has none */
static int url_host_port(const char *url, char *host, size_t hsize, char *port, size_t psize)
{
	CURLU *u = curl_url();
	char *h = NULL, *p = NULL;
	int ret = -EINVAL;

	if (!u)
		return -ENOMEM;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(host, hsize, "%s", h);
		snprintf(port, psize, "%s", p);
		ret = 0;
	}
	curl_free(h);
	curl_free(p);
	curl_url_cleanup(u);
	return ret;
}

int kloop_new(const struct kloop_opts *o, struct kloop **out)
{
	struct kloop *l;
	int ret = -ENOMEM;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -EIO;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->o = *o;
	if (!l->o.max_inflight)
		l->o.max_inflight = 32;
	l->tokens = l->o.burst;
	l->last_refill_ms = (double)kmono_ms();
	l->ua = strdup(o->user_agent ? o->user_agent : "ferry/0.1 (linux) k8s-client");
	if (!l->ua)
		goto out_free;
	if (o->cfg->tls_server_name) {
		/* https://tls-server-name:port/…, connected to the server's host */
		char host[256], port[16], cto[600];
		struct kbuf b = {0};
		const char *rest = strstr(o->cfg->server, "://");

		ret = url_host_port(o->cfg->server, host, sizeof(host), port, sizeof(port));
		if (ret)
			goto out_free;
		rest = strchr(rest + 3, '/');
		kbuf_printf(&b, "https://%s:%s%s", o->cfg->tls_server_name, port, rest ? rest : "");
		l->base = kbuf_take(&b);
		snprintf(cto, sizeof(cto), "%s:%s:%s:%s", o->cfg->tls_server_name, port, host,
			 port);
		l->connect_to = curl_slist_append(NULL, cto);
		ret = -ENOMEM;
		if (!l->base || !l->connect_to)
			goto out_free;
	} else {
		l->base = strdup(o->cfg->server);
		if (!l->base)
			goto out_free;
	}
	l->multi = curl_multi_init();
	if (!l->multi) {
		ret = -EIO;
		goto out_free;
	}
	/* one connection multiplexes everything over HTTP/2; HTTP/1.1 needs one per
	 * transfer in flight, watches included: no cap on connections, the
	 * requests are capped in the loop */
	curl_multi_setopt(l->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
	curl_multi_setopt(l->multi, CURLMOPT_MAXCONNECTS, (long)(l->o.max_inflight + 16));
	pthread_mutex_init(&l->lock, NULL);
	pthread_cond_init(&l->cond, NULL);
	ret = -pthread_create(&l->thread, NULL, loop_main, l);
	if (ret) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		curl_multi_cleanup(l->multi);
		goto out_free;
	}
	*out = l;
	return 0;
out_free:
	curl_slist_free_all(l->connect_to);
	free(l->base);
	free(l->ua);
	free(l);
	return ret;
}

void kloop_free(struct kloop *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stopping = true;
	pthread_mutex_unlock(&l->lock);
	curl_multi_wakeup(l->multi);
	pthread_join(l->thread, NULL);
	curl_multi_cleanup(l->multi);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	curl_slist_free_all(l->connect_to);
	free(l->base);
	free(l->ua);
	free(l);
}

const char *kloop_base(const struct kloop *l)
{
	return l->base;
}

bool kloop_is_loop(const struct kloop *l)
{
	return pthread_equal(pthread_self(), l->thread);
}

/* Hand @r to the loop thread; a closing client ends it here and now. */
static void enqueue(struct kloop *l, struct kreq *r)
{
	bool stopping;

	r->next = NULL;
	pthread_mutex_lock(&l->lock);
	stopping = l->stopping;
	if (!stopping) {
		if (l->in_tail)
			l->in_tail->next = r;
		else
			l->in_head = r;
		l->in_tail = r;
	}
	pthread_mutex_unlock(&l->lock);
	if (stopping) {
		r->err = -ECANCELED;
		kerr_set(&r->e, -ECANCELED, -1, "Cancelled", "%s: cancelled: the client is closing",
			 r->what);
		finish(l, r);
		return;
	}
	curl_multi_wakeup(l->multi);
}

void kloop_submit(struct kloop *l, struct kreq *r)
{
	r->attempts = 0;
	r->finished = false;
	r->stale_cred = false;
	r->throttled_since = 0;
	r->err = 0;
	r->is_call = false;
	memset(&r->e, 0, sizeof(r->e));
	req_clear_attempt(r);
	enqueue(l, r);
}

void kloop_call(struct kloop *l, struct kreq *r, kreq_done_fn fn, void *arg)
{
	r->is_call = true;
	r->err = 0;
	r->done = fn;
	r->arg = arg;
	enqueue(l, r);
}

int kloop_run(struct kloop *l, struct kreq *r)
{
	/* a blocking call on the loop thread would wait for itself */
	assert(!kloop_is_loop(l));
	if (kloop_is_loop(l)) {
		r->err = kerr_set(
			&r->e, -EDEADLK, K8S_EXIT_FAILURE, "WrongThread",
			"%s: a blocking call on the client's I/O thread (an informer handler?)",
			r->what);
		return r->err;
	}
	r->done = NULL;
	kloop_submit(l, r);
	pthread_mutex_lock(&l->lock);
	while (!r->finished)
		pthread_cond_wait(&l->cond, &l->lock);
	pthread_mutex_unlock(&l->lock);
	return r->err;
}

void kloop_stats(const struct kloop *l, struct k8s_client_stats *st)
{
	pthread_mutex_lock((pthread_mutex_t *)&l->lock);
	*st = l->st;
	pthread_mutex_unlock((pthread_mutex_t *)&l->lock);
}

void kloop_set_fence(struct kloop *l, bool (*ok)(const void *arg), const void *arg)
{
	pthread_mutex_lock(&l->lock);
	l->fence = ok;
	l->fence_arg = arg;
	pthread_mutex_unlock(&l->lock);
}

void kreq_fini(struct kreq *r)
{
	if (!r)
		return;
	if (r->secret && r->resp)
		OPENSSL_cleanse(r->resp, r->resp_cap);
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}
