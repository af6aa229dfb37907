// SPDX-License-Identifier: MIT
/*
 * control/cbt/cbt_grpc.c - a gRPC call answered by a stream of messages,
 * over one libcurl easy handle (HTTP/2 over TLS, ALPN h2), on the caller's
 * thread. Written from gRPC's PROTOCOL-HTTP2.md: the request is a POST to
 * /<service>/<method> with content-type application/grpc and te: trailers;
 * each message is a 5-byte prefix (compressed flag, big-endian length) and
 * the message; the answer's status is grpc-status (and grpc-message,
 * percent-encoded) in the trailers, or in the headers when the answer has no
 * body. An HTTP status other than 200 without grpc-status is mapped as the
 * document's "HTTP to gRPC status code mapping" says.
 *
 * It lives here, not in k8s/: the service is not the API server (another
 * host, another CA, the token in the message rather than a header), and
 * k8s/'s loop (rate limits, retries, the table of API answers) would have
 * to learn streams of binary messages for this one caller.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <openssl/crypto.h>

#include "cbt.h"

/* clang-format off */
static const struct {
	const char *name;
	int err;
} grpc_codes[] = {
	[CBT_GRPC_OK]			= {"OK", 0},
	[CBT_GRPC_CANCELLED]		= {"CANCELLED", -ECANCELED},
	[CBT_GRPC_UNKNOWN]		= {"UNKNOWN", -EIO},
	[CBT_GRPC_INVALID_ARGUMENT]	= {"INVALID_ARGUMENT", -EINVAL},
	[CBT_GRPC_DEADLINE_EXCEEDED]	= {"DEADLINE_EXCEEDED", -ETIMEDOUT},
	[CBT_GRPC_NOT_FOUND]		= {"NOT_FOUND", -ENOENT},
	[CBT_GRPC_ALREADY_EXISTS]	= {"ALREADY_EXISTS", -EEXIST},
	[CBT_GRPC_PERMISSION_DENIED]	= {"PERMISSION_DENIED", -EPERM},
	[CBT_GRPC_RESOURCE_EXHAUSTED]	= {"RESOURCE_EXHAUSTED", -EBUSY},
	[CBT_GRPC_FAILED_PRECONDITION]	= {"FAILED_PRECONDITION", -EBUSY},
	[CBT_GRPC_ABORTED]		= {"ABORTED", -EAGAIN},
	[CBT_GRPC_OUT_OF_RANGE]		= {"OUT_OF_RANGE", -ERANGE},
	[CBT_GRPC_UNIMPLEMENTED]	= {"UNIMPLEMENTED", -EOPNOTSUPP},
	[CBT_GRPC_INTERNAL]		= {"INTERNAL", -EREMOTEIO},
	[CBT_GRPC_UNAVAILABLE]		= {"UNAVAILABLE", -EAGAIN},
	[CBT_GRPC_DATA_LOSS]		= {"DATA_LOSS", -EBADMSG},
	[CBT_GRPC_UNAUTHENTICATED]	= {"UNAUTHENTICATED", -EACCES},
};
/* clang-format on */

int cbt_grpc_errno(int code, const char **name)
{
	if (code < 0 || (size_t)code >= sizeof(grpc_codes) / sizeof(grpc_codes[0]))
		code = CBT_GRPC_UNKNOWN;
	if (name)
		*name = grpc_codes[code].name;
	return grpc_codes[code].err;
}

/* PROTOCOL-HTTP2.md: an HTTP status without grpc-status */
static int grpc_code_of_http(long http)
{
	switch (http) {
	case 400:
		return CBT_GRPC_INTERNAL;
	case 401:
		return CBT_GRPC_UNAUTHENTICATED;
	case 403:
		return CBT_GRPC_PERMISSION_DENIED;
	case 404:
		return CBT_GRPC_UNIMPLEMENTED;
	case 429:
	case 502:
	case 503:
	case 504:
		return CBT_GRPC_UNAVAILABLE;
	default:
		return CBT_GRPC_UNKNOWN;
	}
}

/* The transport's failures; *@broken: the stream may be resumed. */
static int grpc_errno_of_curl(CURLcode cc, long os_errno, bool *broken)
{
	*broken = false;
	switch (cc) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_RESOLVE_HOST:
		return -EHOSTUNREACH;
	case CURLE_COULDNT_CONNECT:
		if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
			return -EHOSTUNREACH;
		*broken = true;
		return os_errno == ETIMEDOUT ? -ETIMEDOUT : -ECONNREFUSED;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_PEER_FAILED_VERIFICATION:
		return -EKEYREJECTED;
	case CURLE_SSL_CACERT_BADFILE:
		return -EINVAL;
	case CURLE_SSL_CONNECT_ERROR:
		return -EPROTO;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_PARTIAL_FILE:
	case CURLE_GOT_NOTHING:
		*broken = true;
		return -ECONNRESET;
	default:
		return -EIO;
	}
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void cbt_grpc_pct_decode(const char *in, size_t len, char *out, size_t size)
{
	size_t o = 0;

	if (!size)
		return;
	for (size_t i = 0; i < len && o + 1 < size; i++) {
		int hi = in[i] == '%' && i + 2 < len ? hex_val(in[i + 1]) : -1;
		int lo = hi >= 0 ? hex_val(in[i + 2]) : -1;

		if (lo >= 0) {
			out[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			out[o++] = in[i];
		}
	}
	out[o] = '\0';
}

int cbt_grpc_feed(struct cbt_grpc_frames *f, const void *data, size_t len, cbt_grpc_msg_fn fn,
		  void *arg, struct cbt_err *e)
{
	const uint8_t *p = data;
	size_t max = f->max ? f->max : CBT_GRPC_MAX_MSG;

	while (len) {
		size_t n;

		if (f->hdr_n < 5) {
			n = 5 - f->hdr_n < len ? 5 - f->hdr_n : len;
			memcpy(f->hdr + f->hdr_n, p, n);
			f->hdr_n += n;
			p += n;
			len -= n;
			if (f->hdr_n < 5)
				break;
			if (f->hdr[0] != 0)
				return cbt_fail(
					e, -EBADMSG,
					"gRPC: message %llu has compressed flag %u, but no compression was asked for",
					(unsigned long long)f->messages + 1, f->hdr[0]);
			f->msg_len = (size_t)f->hdr[1] << 24 | (size_t)f->hdr[2] << 16 |
				     (size_t)f->hdr[3] << 8 | f->hdr[4];
			if (f->msg_len > max)
				return cbt_fail(
					e, -EMSGSIZE,
					"gRPC: message %llu of %zu bytes is above the limit of %zu",
					(unsigned long long)f->messages + 1, f->msg_len, max);
			if (f->msg_len > f->cap) {
				uint8_t *m = realloc(f->msg, f->msg_len);

				if (!m)
					return cbt_fail(e, -ENOMEM, "gRPC: out of memory");
				f->msg = m;
				f->cap = f->msg_len;
			}
			f->have = 0;
		}
		n = f->msg_len - f->have < len ? f->msg_len - f->have : len;
		if (n)
			memcpy(f->msg + f->have, p, n);
		f->have += n;
		p += n;
		len -= n;
		if (f->have == f->msg_len) {
			int ret;

			f->messages++;
			f->hdr_n = 0;
			ret = fn(arg, f->msg, f->msg_len, e);
			if (ret)
				return ret;
		}
	}
	return 0;
}

void cbt_grpc_frames_fini(struct cbt_grpc_frames *f)
{
	free(f->msg);
	f->msg = NULL;
	f->cap = 0;
}

/* The state of one call, shared with curl's callbacks. */
struct grpc_ctx {
	const struct cbt_grpc_call *c;
	struct cbt_grpc_frames frames;
	struct cbt_err *e;
	int cb_err;   /* the error that made a callback stop the transfer */
	long http;    /* from the status line */
	bool grpc_ct; /* content-type application/grpc[+proto] */
	int status;   /* grpc-status, -1 none */
	char message[256];
};

static size_t grpc_on_header(char *buf, size_t size, size_t n, void *arg)
{
	struct grpc_ctx *x = arg;
	size_t len = size * n, vlen;
	const char *v;

	if (len > 5 && !strncmp(buf, "HTTP/", 5)) {
		const char *sp = memchr(buf, ' ', len);

		x->http = sp ? strtol(sp + 1, NULL, 10) : 0;
		return len;
	}
	v = memchr(buf, ':', len);
	if (!v)
		return len;
	vlen = len - (size_t)(v + 1 - buf);
	for (v++; vlen && (*v == ' ' || *v == '\t'); v++, vlen--)
		;
	while (vlen && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' || v[vlen - 1] == ' '))
		vlen--;
	if (!strncasecmp(buf, "grpc-status:", 12)) {
		int code = vlen && vlen < 6 ? 0 : -1;

		/* the buffer is not NUL-terminated: digits counted by hand */
		for (size_t i = 0; i < vlen && code >= 0; i++)
			code = v[i] >= '0' && v[i] <= '9' ? code * 10 + (v[i] - '0') : -1;
		x->status = code >= 0 ? code : CBT_GRPC_UNKNOWN;
	} else if (!strncasecmp(buf, "grpc-message:", 13)) {
		cbt_grpc_pct_decode(v, vlen, x->message, sizeof(x->message));
	} else if (!strncasecmp(buf, "content-type:", 13)) {
		x->grpc_ct = vlen >= 16 && !strncasecmp(v, "application/grpc", 16) &&
			     (vlen == 16 || v[16] == '+' || v[16] == ';');
	}
	return len;
}

static size_t grpc_on_body(char *buf, size_t size, size_t n, void *arg)
{
	struct grpc_ctx *x = arg;
	size_t len = size * n;

	if (x->http != 200)
		return len; /* an error page: the status says what went wrong */
	if (!x->grpc_ct) {
		x->cb_err = cbt_fail(x->e, -EPROTONOSUPPORT,
				     "%s: the answer is not application/grpc: is it a gRPC server?",
				     x->c->url);
		return 0;
	}
	x->cb_err = cbt_grpc_feed(&x->frames, buf, len, x->c->fn, x->c->arg, x->e);
	return x->cb_err ? 0 : len;
}

int cbt_grpc_call(const struct cbt_grpc_call *c, struct cbt_grpc_result *r, struct cbt_err *e)
{
	struct grpc_ctx x = {.c = c, .e = e, .status = -1};
	struct curl_blob ca = {.data = (void *)c->ca, .len = c->ca_len, .flags = CURL_BLOB_COPY};
	unsigned int timeout = c->timeout_ms ? c->timeout_ms : 60000;
	struct curl_slist *hdrs = NULL, *h;
	char errbuf[CURL_ERROR_SIZE] = "", tmo[48];
	const char *const lines[] = {"content-type: application/grpc", "te: trailers", tmo,
				     "Expect:"};
	long os_errno = 0, version = 0;
	const char *name;
	uint8_t *framed;
	CURLcode cc;
	CURL *curl;
	int ret;

	memset(r, 0, sizeof(*r));
	r->status = -1;
	x.frames.max = c->max_msg ? c->max_msg : CBT_GRPC_MAX_MSG;
	if (strncmp(c->url, "https://", 8))
		return cbt_fail(e, -EINVAL, "%s: gRPC is called over TLS only (https://)", c->url);
	if (c->req_len > 0xffffffffu)
		return cbt_fail(e, -EMSGSIZE, "%s: request too large", c->url);
	framed = malloc(c->req_len + 5);
	if (!framed)
		return cbt_fail(e, -ENOMEM, "out of memory");
	framed[0] = 0;
	framed[1] = (uint8_t)(c->req_len >> 24);
	framed[2] = (uint8_t)(c->req_len >> 16);
	framed[3] = (uint8_t)(c->req_len >> 8);
	framed[4] = (uint8_t)c->req_len;
	if (c->req_len)
		memcpy(framed + 5, c->req, c->req_len);
	snprintf(tmo, sizeof(tmo), "grpc-timeout: %um", timeout);
	curl = curl_easy_init();
	if (!curl)
		goto out_nomem;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		h = curl_slist_append(hdrs, lines[i]);
		if (!h)
			goto out_nomem;
		hdrs = h;
	}
	curl_easy_setopt(curl, CURLOPT_URL, c->url);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(curl, CURLOPT_POST, 1L);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, framed);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(c->req_len + 5));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "ferry grpc-c/1");
	/* only the given bundle: no system CA file or directory */
	curl_easy_setopt(curl, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(curl, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(curl, CURLOPT_CAINFO_BLOB, &ca);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)timeout);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(c->connect_timeout_ms ? c->connect_timeout_ms : 10000));
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, grpc_on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, grpc_on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);

	cc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno);
	curl_easy_getinfo(curl, CURLINFO_HTTP_VERSION, &version);
	r->http = x.http;
	r->status = x.status;
	r->messages = x.frames.messages;
	if (x.cb_err) {
		ret = x.cb_err;
		goto out;
	}
	ret = grpc_errno_of_curl(cc, os_errno, &r->broken);
	if (ret) {
		if (ret == -EKEYREJECTED)
			cbt_fail(
				e, ret,
				"%s: TLS: the server's certificate is not trusted by the CA given (or names another host): %s",
				c->url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else
			cbt_fail(e, ret, "%s: %s%s", c->url,
				 errbuf[0] ? errbuf : curl_easy_strerror(cc),
				 r->broken && r->messages ? " (the stream broke)" : "");
		goto out;
	}
	if (version != CURL_HTTP_VERSION_2_0) {
		ret = cbt_fail(
			e, -EPROTONOSUPPORT,
			"%s: the server did not answer over HTTP/2 (ALPN h2): not a gRPC server",
			c->url);
		goto out;
	}
	if (x.status < 0 && x.http != 200)
		r->status = x.status = grpc_code_of_http(x.http);
	if (x.status < 0) {
		r->broken = true;
		ret = cbt_fail(e, -ECONNRESET,
			       "%s: the stream ended without a grpc-status (%llu messages)", c->url,
			       (unsigned long long)r->messages);
		goto out;
	}
	ret = cbt_grpc_errno(x.status, &name);
	if (ret) {
		r->broken = x.status == CBT_GRPC_UNAVAILABLE;
		if (x.http != 200 && !x.message[0])
			snprintf(x.message, sizeof(x.message), "HTTP %ld", x.http);
		cbt_fail(e, ret, "%s: %s: %s", c->url, name,
			 x.message[0] ? x.message : "(no message)");
		goto out;
	}
	if (x.frames.hdr_n) {
		ret = cbt_fail(e, -EBADMSG, "%s: the stream ended inside message %llu", c->url,
			       (unsigned long long)r->messages + 1);
		goto out;
	}
	goto out;
out_nomem:
	ret = cbt_fail(e, -ENOMEM, "out of memory");
out:
	cbt_grpc_frames_fini(&x.frames);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(curl);
	OPENSSL_cleanse(framed, c->req_len + 5);
	free(framed);
	return ret;
}
