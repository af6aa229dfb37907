// SPDX-License-Identifier: MIT
/*
 * s3/http.c - the curl multi loop: queueing, K transfers in flight,
 * keep-alive reuse, retries with capped exponential backoff and full jitter,
 * per-request deadlines, bandwidth caps, and the checks that an answer is the
 * one asked for. What a result means (-errno, retry, the user's line) is
 * http_map.c's.
 *
 * Threads: submitters only touch the incoming list (under h->lock) and wake
 * the loop with curl_multi_wakeup(); everything else is the loop thread's.
 *
 * Bandwidth caps are the token buckets of ratelimit.c: uploads take what the
 * bucket holds (a read callback hands curl no more); downloads pause while it
 * is empty. With a cap, the socket buffers and curl's are the bucket's to
 * size (ratelimit.h), so that neither the kernel nor curl runs ahead of it.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "http_int.h"
#include "s3_int.h"

#define MAX_ATTEMPTS	10
#define BACKOFF_BASE_MS 100
#define BACKOFF_CAP_MS	20000

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

double s3_http_now_ms_f(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static uint64_t rnd_next(struct s3_http *h)
{
	/* xorshift64*: jitter only, not secrets */
	h->rnd ^= h->rnd >> 12;
	h->rnd ^= h->rnd << 25;
	h->rnd ^= h->rnd >> 27;
	return h->rnd * 2685821657736338717ull;
}

bool s3_http_is_loop(const struct s3_http *h)
{
	return pthread_equal(pthread_self(), h->thread);
}

/* vsnprintf: truncation is intended */
void s3_hreq_msg(struct s3_hreq *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->msg, sizeof(r->msg), fmt, ap);
	va_end(ap);
}

/* ------------------------------------------------------------ the loop */

static void q_push(struct s3_hreq **head, struct s3_hreq **tail, struct s3_hreq *r)
{
	r->next = NULL;
	if (*tail)
		(*tail)->next = r;
	else
		*head = r;
	*tail = r;
}

static struct s3_hreq *q_pop(struct s3_hreq **head, struct s3_hreq **tail)
{
	struct s3_hreq *r = *head;

	if (r) {
		*head = r->next;
		if (!*head)
			*tail = NULL;
		r->next = NULL;
	}
	return r;
}

static void req_finish(struct s3_http *h, struct s3_hreq *r)
{
	s3_hreq_done_fn done = r->done;

	if (r->err)
		pr_debug("s3: %s failed after %u attempt(s): %s", r->what, r->attempts, r->msg);
	if (done) {
		done(r);
		return;
	}
	pthread_mutex_lock(&h->lock);
	r->finished = true;
	pthread_cond_broadcast(&h->cond);
	pthread_mutex_unlock(&h->lock);
}

static void req_clear_attempt(struct s3_hreq *r)
{
	r->status = 0;
	r->got = 0;
	r->sent = 0;
	r->skip = 0;
	r->abort_err = 0;
	r->paused_up = r->paused_down = false;
	r->os_errno = 0;
	r->curl_err[0] = '\0';
	s3_hreq_forget_headers(r);
	r->wrong_answer = false;
	memset(&r->s3err, 0, sizeof(r->s3err));
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}

/* The options of one attempt on easy handle @e, with @left ms to its deadline. */
static void easy_setup(struct s3_http *h, struct s3_hreq *r, CURL *e, uint64_t left)
{
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	if (r->fresh) {
		/* the last answer was not this request's: not on that connection again */
		curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
		r->fresh = false;
	}
	curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r); /* CURLMSG_DONE finds @r by it */
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->hdrs);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->curl_err);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)left);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(left < 10000 ? left : 10000));
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, 60L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, s3_http_write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, s3_http_header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, r);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (h->o.ca_pem_len) {
		struct curl_blob blob = {.data = (void *)h->o.ca_pem,
					 .len = h->o.ca_pem_len,
					 .flags = CURL_BLOB_NOCOPY};

		curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &blob);
	} else if (h->o.ca_file) {
		curl_easy_setopt(e, CURLOPT_CAINFO, h->o.ca_file);
	}
	if (h->o.insecure_tls) {
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
	}
	if (s3_bucket_on(&h->up) || s3_bucket_on(&h->down)) {
		curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, s3_http_sockopt_cb);
		curl_easy_setopt(e, CURLOPT_SOCKOPTDATA, h);
	}
	/* with a cap, what curl reads and holds while paused is the bucket's to size */
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE,
			 s3_bucket_on(&h->down) ? (long)h->down.iobuf : 256L * 1024);
	curl_easy_setopt(e, CURLOPT_UPLOAD_BUFFERSIZE, s3_bucket_on(&h->up) ? 16384L : 256L * 1024);

	if (!strcmp(r->method, "HEAD")) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else if (!strcmp(r->method, "PUT") || !strcmp(r->method, "POST")) {
		curl_easy_setopt(e, CURLOPT_READFUNCTION, s3_http_read_cb);
		curl_easy_setopt(e, CURLOPT_READDATA, r);
		if (!strcmp(r->method, "PUT")) {
			curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
			curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)r->body_len);
		} else {
			curl_easy_setopt(e, CURLOPT_POST, 1L);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
		}
	} else if (strcmp(r->method, "GET")) {
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
	}
}

/* Start an attempt of @r: signed afresh, on a pooled easy handle. 0, or -errno (r->err). */
static int req_start(struct s3_http *h, struct s3_hreq *r)
{
	CURL *e = h->npool ? h->pool[--h->npool] : curl_easy_init();
	uint64_t now = now_ms();
	struct curl_slist *hdrs;
	int err = 0;

	if (!e) {
		r->err = -ENOMEM;
		s3_hreq_msg(r, "%s: out of memory", r->what);
		return -ENOMEM;
	}
	curl_easy_reset(e);
	req_clear_attempt(r);
	/* the deadline runs from the first attempt, not from queueing */
	if (!r->attempts)
		r->deadline_ms = now + (h->o.timeout_ms ? h->o.timeout_ms : 600000);
	r->attempts++;
	r->h = h;
	hdrs = r->prepare(r, &err);
	if (!hdrs) {
		h->pool[h->npool++] = e;
		r->err = err ? err : -ENOMEM;
		if (!r->msg[0])
			s3_hreq_msg(r, "%s: cannot build the request: %s", r->what,
				    strerror(-r->err));
		return r->err;
	}
	r->hdrs = curl_slist_append(hdrs, "Expect:");
	r->easy = e;
	r->started_ms = now;
	easy_setup(h, r, e, r->deadline_ms > now ? r->deadline_ms - now : 1);
	if (curl_multi_add_handle(h->multi, e) != CURLM_OK) {
		curl_slist_free_all(r->hdrs);
		r->hdrs = NULL;
		r->easy = NULL;
		h->pool[h->npool++] = e;
		r->err = -ENOMEM;
		s3_hreq_msg(r, "%s: cannot start the transfer", r->what);
		return -ENOMEM;
	}
	assert(h->nrunning < h->max + CONTROL_SPARE);
	r->slot = h->nrunning;
	h->running[h->nrunning++] = r;
	return 0;
}

static void req_detach(struct s3_http *h, struct s3_hreq *r)
{
	assert(r->slot < h->nrunning && h->running[r->slot] == r);
	h->running[r->slot] = h->running[--h->nrunning];
	h->running[r->slot]->slot = r->slot;
	curl_multi_remove_handle(h->multi, r->easy);
	h->pool[h->npool++] = r->easy;
	r->easy = NULL;
	curl_slist_free_all(r->hdrs);
	r->hdrs = NULL;
}

/* say in the message that retrying stopped, and why */
static void req_gave_up(struct s3_http *h, struct s3_hreq *r)
{
	size_t l = strlen(r->msg);

	if (!r->err)
		r->err = -ETIMEDOUT;
	if (!l) {
		s3_hreq_msg(r, "%s: HTTP %ld %s", r->what, r->status, r->s3err.code);
		l = strlen(r->msg);
	}
	if (l < sizeof(r->msg))
		snprintf(r->msg + l, sizeof(r->msg) - l, " (gave up after %u attempts in %.1f s)",
			 r->attempts,
			 (double)(h->o.timeout_ms ? h->o.timeout_ms : 600000) / 1000.0 -
				 (double)(r->deadline_ms > now_ms() ? r->deadline_ms - now_ms()
								    : 0) /
					 1000.0);
}

static void req_ended(struct s3_http *h, struct s3_hreq *r, CURLcode cc)
{
	uint64_t now = now_ms();
	bool retry;

	if (cc == CURLE_COULDNT_CONNECT)
		curl_easy_getinfo(r->easy, CURLINFO_OS_ERRNO, &r->os_errno);
	req_detach(h, r);
	/* an error document explains a non-2xx answer, and some 200s (Complete) */
	if (cc == CURLE_OK && r->resp && (r->status >= 300 || r->check_200_error))
		s3_xml_error(r->resp, r->resp_len, &r->s3err);
	retry = s3_http_map(&h->o, r, cc);
	pr_debug("s3: %s -> HTTP %ld%s%s, attempt %u, %llu ms", r->what, r->status,
		 r->s3err.code[0] ? " " : "", r->s3err.code, r->attempts,
		 (unsigned long long)(now - r->started_ms));
	if (retry && r->attempts < MAX_ATTEMPTS) {
		uint64_t cap = (uint64_t)BACKOFF_BASE_MS
			       << (r->attempts - 1 < 16 ? r->attempts - 1 : 16);
		uint64_t wait;

		if (cap > BACKOFF_CAP_MS)
			cap = BACKOFF_CAP_MS;
		wait = rnd_next(h) % (cap + 1); /* full jitter */
		if (now + wait < r->deadline_ms) {
			pr_debug("s3: %s: retrying in %llu ms (%s)", r->what,
				 (unsigned long long)wait, r->msg[0] ? r->msg : "server busy");
			r->wake_ms = now + wait;
			r->next = h->delayed;
			h->delayed = r;
			return;
		}
	}
	if (r->err && retry)
		req_gave_up(h, r);
	req_finish(h, r);
}

static void fail_all(struct s3_http *h, struct s3_hreq *list)
{
	while (list) {
		struct s3_hreq *n = list->next;

		list->err = -ECANCELED;
		s3_hreq_msg(list, "%s: cancelled: the store is closing", list->what);
		req_finish(h, list);
		list = n;
	}
}

/* @r is ready to start: to its queue (control requests may use the spare slots) */
static void queue_ready(struct s3_http *h, struct s3_hreq *r)
{
	if (r->control)
		q_push(&h->ctl_head, &h->ctl_tail, r);
	else
		q_push(&h->data_head, &h->data_tail, r);
}

/* Take what the submitters queued. Return: whether the loop is to stop. */
static bool take_incoming(struct s3_http *h)
{
	struct s3_hreq *in, *r;
	bool stopping;

	pthread_mutex_lock(&h->lock);
	in = h->in_head;
	h->in_head = h->in_tail = NULL;
	stopping = h->stopping;
	pthread_mutex_unlock(&h->lock);
	while ((r = in)) {
		in = in->next;
		queue_ready(h, r);
	}
	return stopping;
}

/* The store is closing: everything running or queued ends with -ECANCELED. */
static void stop_all(struct s3_http *h)
{
	while (h->nrunning) {
		struct s3_hreq *r = h->running[0];

		req_detach(h, r);
		r->next = NULL;
		fail_all(h, r);
	}
	fail_all(h, h->ctl_head);
	fail_all(h, h->data_head);
	fail_all(h, h->delayed);
	h->ctl_head = h->ctl_tail = h->data_head = h->data_tail = h->delayed = NULL;
}

/* Backoffs that are over go to their queues; *@timeout: until the next one ends. */
static void wake_delayed(struct s3_http *h, uint64_t now, long *timeout)
{
	struct s3_hreq *r, **pp;

	for (pp = &h->delayed; (r = *pp);) {
		if (r->wake_ms <= now) {
			*pp = r->next;
			queue_ready(h, r);
		} else {
			if ((long)(r->wake_ms - now) < *timeout)
				*timeout = (long)(r->wake_ms - now);
			pp = &r->next;
		}
	}
}

/* whether a queued request may start now */
static bool can_start(const struct s3_http *h)
{
	return (h->ctl_head && h->nrunning < h->max + CONTROL_SPARE) ||
	       (h->data_head && h->nrunning < h->max);
}

/* Start what the slots allow; control requests may use the spare ones. */
static void start_ready(struct s3_http *h, uint64_t now)
{
	while (can_start(h)) {
		struct s3_hreq *r = h->ctl_head && h->nrunning < h->max + CONTROL_SPARE
					    ? q_pop(&h->ctl_head, &h->ctl_tail)
					    : q_pop(&h->data_head, &h->data_tail);

		if (now >= r->deadline_ms && r->attempts) {
			req_gave_up(h, r);
			req_finish(h, r);
			continue;
		}
		if (req_start(h, r))
			req_finish(h, r);
	}
}

/* With a cap: resume paused transfers once the bucket has refilled; *@timeout: until it will. */
static void unpause_capped(struct s3_http *h, long *timeout)
{
	double tf = s3_http_now_ms_f();
	bool up_paused = false, down_paused = false;
	long t;

	s3_bucket_refill(&h->up, tf);
	s3_bucket_refill(&h->down, tf);
	for (unsigned int i = 0; i < h->nrunning; i++) {
		up_paused |= h->running[i]->paused_up;
		down_paused |= h->running[i]->paused_down;
	}
	for (unsigned int i = 0; i < h->nrunning; i++) {
		struct s3_hreq *r = h->running[i];

		if ((r->paused_up && s3_bucket_holds(&h->up, h->up.burst / 4)) ||
		    (r->paused_down && !s3_bucket_empty(&h->down))) {
			r->paused_up = r->paused_down = false;
			curl_easy_pause(r->easy, CURLPAUSE_CONT);
		}
	}
	if (up_paused && (t = s3_bucket_wait(&h->up, h->up.burst / 4)) < *timeout)
		*timeout = t;
	if (down_paused && (t = s3_bucket_wait(&h->down, 1)) < *timeout)
		*timeout = t;
}

/* Transfers curl finished: each one's request, through CURLINFO_PRIVATE. */
static void reap_done(struct s3_http *h)
{
	CURLMsg *m;
	int nmsg;

	while ((m = curl_multi_info_read(h->multi, &nmsg))) {
		char *done = NULL;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &done);
		assert(done && ((struct s3_hreq *)done)->easy == m->easy_handle);
		req_ended(h, (struct s3_hreq *)done, m->data.result);
	}
}

/* How long the loop may sleep: no longer than a backoff, curl or @timeout wants. */
static long next_timeout(struct s3_http *h, long timeout)
{
	uint64_t now = now_ms();
	long ct = -1;

	for (struct s3_hreq *r = h->delayed; r; r = r->next) {
		long t = r->wake_ms > now ? (long)(r->wake_ms - now) : 0;

		if (t < timeout)
			timeout = t;
	}
	if (can_start(h))
		return 0;
	curl_multi_timeout(h->multi, &ct);
	return ct >= 0 && ct < timeout ? ct : timeout;
}

static void *loop_main(void *arg)
{
	struct s3_http *h = arg;

	for (;;) {
		long timeout = 1000;
		int still = 0;
		uint64_t now;

		if (take_incoming(h)) {
			stop_all(h);
			break;
		}
		/* backoffs that are over go first */
		now = now_ms();
		wake_delayed(h, now, &timeout);
		start_ready(h, now);
		if (s3_bucket_on(&h->up) || s3_bucket_on(&h->down))
			unpause_capped(h, &timeout);
		curl_multi_perform(h->multi, &still);
		reap_done(h);
		timeout = next_timeout(h, timeout);
		if (timeout > 0)
			curl_multi_poll(h->multi, NULL, 0, (int)timeout, NULL);
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

int s3_http_new(const struct s3_http_opts *opts, struct s3_http **out)
{
	struct s3_http *h;
	unsigned int slots;
	int ret = -ENOMEM;

	*out = NULL;
	pthread_once(&curl_once, curl_init);
	if (curl_init_rc != CURLE_OK)
		return -EIO;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->o = *opts;
	h->max = opts->concurrency ? opts->concurrency : 8;
	slots = h->max + CONTROL_SPARE;
	h->running = calloc(slots, sizeof(*h->running));
	h->pool = calloc(slots, sizeof(*h->pool));
	if (!h->running || !h->pool)
		goto out_free;
	if (getrandom(&h->rnd, sizeof(h->rnd), 0) != sizeof(h->rnd) || !h->rnd)
		h->rnd = 0x9e3779b97f4a7c15ull ^ (uint64_t)now_ms();
	/* a bucket sizes the buffers of every connection there may be */
	s3_bucket_init(&h->up, opts->limit_up, slots);
	s3_bucket_init(&h->down, opts->limit_down, slots);
	h->multi = curl_multi_init();
	if (!h->multi) {
		ret = -EIO;
		goto out_free;
	}
	curl_multi_setopt(h->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)slots);
	curl_multi_setopt(h->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)slots);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS, (long)slots);
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->cond, NULL);
	ret = -pthread_create(&h->thread, NULL, loop_main, h);
	if (ret) {
		pthread_cond_destroy(&h->cond);
		pthread_mutex_destroy(&h->lock);
		curl_multi_cleanup(h->multi);
		goto out_free;
	}
	*out = h;
	return 0;
out_free:
	free(h->running);
	free(h->pool);
	free(h);
	return ret;
}

void s3_http_free(struct s3_http *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&h->lock);
	h->stopping = true;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
	pthread_join(h->thread, NULL);
	for (unsigned int i = 0; i < h->npool; i++)
		curl_easy_cleanup(h->pool[i]);
	curl_multi_cleanup(h->multi);
	pthread_cond_destroy(&h->cond);
	pthread_mutex_destroy(&h->lock);
	free(h->running);
	free(h->pool);
	free(h);
}

void s3_hreq_fini(struct s3_hreq *r)
{
	if (!r)
		return;
	free(r->resp);
	r->resp = NULL;
	r->resp_len = r->resp_cap = 0;
}

void s3_http_submit(struct s3_http *h, struct s3_hreq *r)
{
	r->deadline_ms = UINT64_MAX;
	r->attempts = 0;
	r->finished = false;
	r->fresh = r->etag_retried = false;
	r->err = 0;
	r->msg[0] = '\0';
	r->next = NULL;
	pthread_mutex_lock(&h->lock);
	if (h->in_tail)
		h->in_tail->next = r;
	else
		h->in_head = r;
	h->in_tail = r;
	pthread_mutex_unlock(&h->lock);
	curl_multi_wakeup(h->multi);
}

int s3_http_run(struct s3_http *h, struct s3_hreq *r)
{
	r->done = NULL;
	s3_http_submit(h, r);
	pthread_mutex_lock(&h->lock);
	while (!r->finished)
		pthread_cond_wait(&h->cond, &h->lock);
	pthread_mutex_unlock(&h->lock);
	return r->err;
}
