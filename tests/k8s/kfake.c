// SPDX-License-Identifier: MIT
/*
 * tests/k8s/kfake.c - the scripted HTTP server of kfake.h, on libmicrohttpd.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "kfake.h"

#define LOG_MAX 4096

struct kfake {
	struct MHD_Daemon *d;
	kfake_fn fn;
	void *arg;
	int port;
	pthread_mutex_t lock;
	struct kfake_req *log;
	size_t nlog;
	atomic_bool stopping;
};

struct conn {
	struct kfake_req r;
	size_t cap;
	bool started;
};

struct streamctx {
	struct kfake *f;
	struct kfake_resp resp;
	size_t next, off;
	bool held;
};

static void nap_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static void resp_fini(struct kfake_resp *r)
{
	free(r->body);
	for (size_t i = 0; i < r->npieces; i++)
		free(r->pieces[i]);
	free(r->pieces);
	memset(r, 0, sizeof(*r));
}

const char *kfake_arg(const struct kfake_req *r, const char *key)
{
	static __thread char v[1024];
	size_t k = strlen(key);

	for (const char *p = r->query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > k && !strncmp(p, key, k) && p[k] == '=') {
			snprintf(v, sizeof(v), "%.*s", (int)(n - k - 1), p + k + 1);
			return v;
		}
		p = amp ? amp + 1 : NULL;
	}
	return NULL;
}

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
			       const char *value)
{
	struct kfake_req *r = cls;
	size_t n = strlen(r->query);

	(void)kind;
	snprintf(r->query + n, sizeof(r->query) - n, "%s%s=%s", n ? "&" : "", key,
		 value ? value : "");
	return MHD_YES;
}

static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct streamctx *s = cls;

	(void)pos;
	for (;;) {
		if (s->f->stopping)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		if (s->next < s->resp.npieces) {
			const char *p = s->resp.pieces[s->next];
			size_t len = strlen(p) - s->off, n = len < max ? len : max;

			if (s->off == 0 && s->next > 0 && s->resp.pause_ms)
				nap_ms(s->resp.pause_ms);
			memcpy(buf, p + s->off, n);
			s->off += n;
			if (s->off == strlen(p)) {
				s->next++;
				s->off = 0;
			}
			if (n)
				return (ssize_t)n;
			continue;
		}
		if (!s->held && s->resp.hold_ms) {
			/* stay open (an idle watch), in small naps so a stop is quick */
			for (unsigned int t = 0; t < s->resp.hold_ms && !s->f->stopping; t += 20)
				nap_ms(20);
			s->held = true;
			continue;
		}
		return s->resp.abort ? MHD_CONTENT_READER_END_WITH_ERROR
				     : MHD_CONTENT_READER_END_OF_STREAM;
	}
}

static void stream_free(void *cls)
{
	struct streamctx *s = cls;

	resp_fini(&s->resp);
	free(s);
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c, const char *url,
				 const char *method, const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct kfake *f = cls;
	struct conn *cn = *con_cls;
	struct kfake_resp resp = {0};
	struct MHD_Response *mr;
	const char *h;
	enum MHD_Result ret;

	(void)version;
	if (!cn) {
		cn = calloc(1, sizeof(*cn));
		if (!cn)
			return MHD_NO;
		snprintf(cn->r.method, sizeof(cn->r.method), "%s", method);
		snprintf(cn->r.path, sizeof(cn->r.path), "%s", url);
		MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_arg, &cn->r);
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
		snprintf(cn->r.auth, sizeof(cn->r.auth), "%s", h ? h : "");
		h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
		snprintf(cn->r.ctype, sizeof(cn->r.ctype), "%s", h ? h : "");
		*con_cls = cn;
		return MHD_YES;
	}
	if (*upload_size) {
		if (cn->r.body_len + *upload_size + 1 > cn->cap) {
			size_t cap = (cn->r.body_len + *upload_size + 1) * 2;
			char *p = realloc(cn->r.body, cap);

			if (!p)
				return MHD_NO;
			cn->r.body = p;
			cn->cap = cap;
		}
		memcpy(cn->r.body + cn->r.body_len, upload, *upload_size);
		cn->r.body_len += *upload_size;
		cn->r.body[cn->r.body_len] = '\0';
		*upload_size = 0;
		return MHD_YES;
	}
	if (!cn->r.body)
		cn->r.body = calloc(1, 1);
	/* log a copy, then answer */
	pthread_mutex_lock(&f->lock);
	if (f->nlog < LOG_MAX) {
		struct kfake_req *l = &f->log[f->nlog++];

		*l = cn->r;
		l->body = strdup(cn->r.body ? cn->r.body : "");
	}
	pthread_mutex_unlock(&f->lock);
	f->fn(f->arg, &cn->r, &resp);
	if (resp.delay_ms) {
		for (unsigned int t = 0; t < resp.delay_ms && !f->stopping; t += 20)
			nap_ms(20);
	}
	if (resp.stream) {
		struct streamctx *s = calloc(1, sizeof(*s));

		if (!s)
			return MHD_NO;
		s->f = f;
		s->resp = resp;
		mr = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, reader, s,
						       stream_free);
	} else {
		const char *b = resp.body ? resp.body : "";

		mr = MHD_create_response_from_buffer(strlen(b), (void *)b, MHD_RESPMEM_MUST_COPY);
	}
	if (!mr) {
		resp_fini(&resp);
		return MHD_NO;
	}
	MHD_add_response_header(mr, "Content-Type", "application/json");
	if (resp.retry_after) {
		char ra[16];

		snprintf(ra, sizeof(ra), "%u", resp.retry_after);
		MHD_add_response_header(mr, "Retry-After", ra);
	}
	ret = MHD_queue_response(c, (unsigned int)(resp.status ? resp.status : 200), mr);
	MHD_destroy_response(mr);
	if (!resp.stream)
		resp_fini(&resp);
	return ret;
}

static void completed(void *cls, struct MHD_Connection *c, void **con_cls,
		      enum MHD_RequestTerminationCode toe)
{
	struct conn *cn = *con_cls;

	(void)cls;
	(void)c;
	(void)toe;
	if (cn) {
		free(cn->r.body);
		free(cn);
	}
	*con_cls = NULL;
}

struct kfake *kfake_start(kfake_fn fn, void *arg)
{
	struct kfake *f = calloc(1, sizeof(*f));
	struct sockaddr_in sa = {.sin_family = AF_INET};
	const union MHD_DaemonInfo *di;

	if (!f)
		return NULL;
	f->fn = fn;
	f->arg = arg;
	f->log = calloc(LOG_MAX, sizeof(*f->log));
	pthread_mutex_init(&f->lock, NULL);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD, 0,
				NULL, NULL, access_cb, f, MHD_OPTION_SOCK_ADDR, &sa,
				MHD_OPTION_NOTIFY_COMPLETED, completed, f,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120, MHD_OPTION_END);
	if (!f->d || !f->log) {
		free(f->log);
		free(f);
		return NULL;
	}
	di = MHD_get_daemon_info(f->d, MHD_DAEMON_INFO_BIND_PORT);
	f->port = di ? di->port : 0;
	return f;
}

void kfake_stop(struct kfake *f)
{
	if (!f)
		return;
	f->stopping = true;
	MHD_stop_daemon(f->d);
	for (size_t i = 0; i < f->nlog; i++)
		free(f->log[i].body);
	free(f->log);
	pthread_mutex_destroy(&f->lock);
	free(f);
}

int kfake_port(const struct kfake *f)
{
	return f->port;
}

int kfake_count(struct kfake *f, const char *method, const char *prefix)
{
	int n = 0;

	pthread_mutex_lock(&f->lock);
	for (size_t i = 0; i < f->nlog; i++)
		if ((!method || !strcmp(f->log[i].method, method)) &&
		    !strncmp(f->log[i].path, prefix, strlen(prefix)))
			n++;
	pthread_mutex_unlock(&f->lock);
	return n;
}

bool kfake_log(struct kfake *f, int i, struct kfake_req *out)
{
	bool ok = false;

	pthread_mutex_lock(&f->lock);
	if (i < 0)
		i += (int)f->nlog;
	if (i >= 0 && (size_t)i < f->nlog) {
		*out = f->log[i];
		out->body = strdup(f->log[i].body);
		ok = true;
	}
	pthread_mutex_unlock(&f->lock);
	return ok;
}

void kfake_req_fini(struct kfake_req *r)
{
	free(r->body);
	r->body = NULL;
}

char *kfake_printf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

void kfake_status(struct kfake_resp *resp, int code, const char *reason, const char *msg)
{
	resp->status = code;
	resp->body = kfake_printf("{\"kind\":\"Status\",\"apiVersion\":\"v1\",\"metadata\":{},"
				  "\"status\":\"Failure\",\"message\":\"%s\",\"reason\":\"%s\","
				  "\"code\":%d}",
				  msg, reason, code);
}

void kfake_stream(struct kfake_resp *resp, const char *const *pieces, size_t n,
		  unsigned int pause_ms, unsigned int hold_ms)
{
	resp->stream = true;
	resp->pieces = calloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		resp->pieces[i] = strdup(pieces[i]);
	resp->npieces = n;
	resp->pause_ms = pause_ms;
	resp->hold_ms = hold_ms;
}
