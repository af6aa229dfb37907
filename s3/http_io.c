// SPDX-License-Identifier: MIT
/*
 * s3/http_io.c - what one transfer of the loop (http.c) reads and writes:
 * the request body out (held to the upload cap), the answer in (headers
 * into the request, the body into the caller's buffer or a growing one,
 * held to the download cap), and the checks at the end of the headers that
 * the answer is the one asked for. Runs on the loop thread only.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http_int.h"
#include "s3_buf.h"
#include "s3_int.h"

/* The request body to curl; with an upload cap, no more than the bucket holds. */
size_t s3_http_read_cb(char *buf, size_t size, size_t nitems, void *arg)
{
	struct s3_hreq *r = arg;
	struct s3_http *h = r->h;
	size_t n = size * nitems, left = r->body_len - r->sent;

	if (n > left)
		n = left;
	if (n && s3_bucket_on(&h->up)) {
		s3_bucket_refill(&h->up, s3_http_now_ms_f());
		n = s3_bucket_take(&h->up, n);
		if (!n) {
			r->paused_up = true;
			return CURL_READFUNC_PAUSE;
		}
	}
	memcpy(buf, (const char *)r->body + r->sent, n);
	r->sent += n;
	return n;
}

size_t s3_http_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct s3_hreq *r = arg;
	struct s3_http *h = r->h;
	size_t n = size * nmemb;

	if (s3_bucket_on(&h->down)) {
		s3_bucket_refill(&h->down, s3_http_now_ms_f());
		if (s3_bucket_empty(&h->down)) {
			r->paused_down = true;
			return CURL_WRITEFUNC_PAUSE;
		}
		s3_bucket_spend(&h->down, n);
	}
	if (r->dst && r->status >= 200 && r->status < 300) {
		const char *p = data;
		size_t m = n;

		/* a server that answered a ranged GET with the whole object */
		if (r->skip) {
			size_t s = r->skip < m ? (size_t)r->skip : m;

			r->skip -= s;
			p += s;
			m -= s;
		}
		if (m > r->dst_len - r->got) {
			if (r->status == 200 && r->ranged) {
				/* the whole object answered a ranged GET: keep what fits, stop */
				m = r->dst_len - r->got;
				memcpy((char *)r->dst + r->got, p, m);
				r->got += m;
				r->abort_err = 1; /* done early, not an error */
				return 0;
			}
			r->abort_err = -EIO;
			s3_hreq_msg(r, "%s: the server sent more than the %zu bytes asked for",
				    r->what, r->dst_len);
			return 0;
		}
		memcpy((char *)r->dst + r->got, p, m);
		r->got += m;
		return n;
	}
	{
		bool ok = r->status >= 200 && r->status < 300;
		size_t max = !ok ? ERROR_DOC_MAX : r->resp_max ? r->resp_max : RESP_MAX_DEFAULT;

		if (r->resp_len + n > max) {
			if (!ok)
				return n; /* the start of an error document is enough */
			r->abort_err = -EFBIG;
			return 0;
		}
		/* geometric (s3_grow()): a large body comes in many small pieces */
		if (s3_grow(&r->resp, &r->resp_cap, r->resp_len + n + 1, 1, max + 1)) {
			r->abort_err = -ENOMEM;
			return 0;
		}
		memcpy(r->resp + r->resp_len, data, n);
		r->resp_len += n;
		r->resp[r->resp_len] = '\0';
	}
	return n;
}

static bool hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vlen)
{
	size_t k = strlen(name);

	if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
		return false;
	line += k + 1;
	n -= k + 1;
	while (n && (*line == ' ' || *line == '\t')) {
		line++;
		n--;
	}
	while (n && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' '))
		n--;
	*val = line;
	*vlen = n;
	return true;
}

/* Whether @r's answer repeats the last one on its connection; remembers it. */
static bool answer_repeated(struct s3_http *h, struct s3_hreq *r)
{
	struct last_answer *a;
	long port = 0;

	if (!r->request_id[0] ||
	    curl_easy_getinfo(r->easy, CURLINFO_LOCAL_PORT, &port) != CURLE_OK || port <= 0)
		return false;
	a = &h->last[port % (long)(sizeof(h->last) / sizeof(h->last[0]))];
	if (a->port == port && !strcmp(a->id, r->request_id))
		return true;
	a->port = port;
	snprintf(a->id, sizeof(a->id), "%s", r->request_id);
	return false;
}

static bool is_md5_etag(const char *etag)
{
	size_t n = strlen(etag);

	if (n != 34 || etag[0] != '"' || etag[33] != '"')
		return false;
	for (size_t i = 1; i < 33; i++)
		if (!isxdigit((unsigned char)etag[i]))
			return false;
	return true;
}

/*
 * At the end of an answer's headers: whether it is the answer to @r. Not:
 * the answer repeats the last one on its connection (the connection is out
 * of step: this request's own answer is still to come), a PUT's ETag is not
 * the MD5 of its body, a ranged GET's answer starts elsewhere. r->msg says why.
 */
static bool headers_ok(struct s3_http *h, struct s3_hreq *r)
{
	if (answer_repeated(h, r)) {
		s3_hreq_msg(
			r,
			"%s: the answer (request id %s) repeats the one before on its connection",
			r->what, r->request_id);
		return false;
	}
	if (r->status < 200 || r->status >= 300)
		return true;
	/*
	 * The server checked Content-MD5, so a different ETag is an answer damaged
	 * on the way, or a server whose ETags are not MD5s (MinIO encrypting on its
	 * own): sent once more, and the second answer is taken as it is.
	 */
	if (r->expect_md5[0] && is_md5_etag(r->etag) &&
	    strncasecmp(r->etag + 1, r->expect_md5, 32)) {
		if (r->etag_retried) {
			pr_debug("s3: %s: ETag %s again, not the MD5 %s: taken", r->what, r->etag,
				 r->expect_md5);
			return true;
		}
		r->etag_retried = true;
		s3_hreq_msg(r, "%s: the answer's ETag %s is not the MD5 of what was sent (%s)",
			    r->what, r->etag, r->expect_md5);
		return false;
	}
	if (r->ranged && r->status == 206 && r->has_range_first && r->range_first != r->range_off) {
		s3_hreq_msg(r, "%s: the answer holds bytes from %llu, not from %llu", r->what,
			    (unsigned long long)r->range_first, (unsigned long long)r->range_off);
		return false;
	}
	return true;
}

void s3_hreq_forget_headers(struct s3_hreq *r)
{
	r->etag[0] = '\0';
	r->has_length = r->has_range = r->has_range_first = false;
	r->server_date = r->last_modified = 0;
	r->lock_mode[0] = r->lock_until[0] = '\0';
	r->legal_hold = false;
	r->request_id[0] = '\0';
}

size_t s3_http_header_cb(char *line, size_t size, size_t nitems, void *arg)
{
	struct s3_hreq *r = arg;
	size_t n = size * nitems, vlen;
	const char *v;
	char tmp[64];

	if ((n == 2 && line[0] == '\r') || (n == 1 && line[0] == '\n')) {
		/* the end of the headers (of a final answer: not of 100 Continue) */
		if (r->status >= 200 && !headers_ok(r->h, r)) {
			/* stop here: an aborted transfer's connection is closed, not reused */
			r->wrong_answer = true;
			r->abort_err = -EIO;
			return 0;
		}
		return n;
	}
	if (n > 5 && !strncmp(line, "HTTP/", 5)) {
		const char *sp = memchr(line, ' ', n);

		/* a new response (after 100 Continue, or a retry): forget the last */
		s3_hreq_forget_headers(r);
		r->status = sp ? strtol(sp + 1, NULL, 10) : 0;
		/* a ranged GET answered with the whole object: skip to the range */
		r->skip = r->status == 200 && r->ranged ? r->range_off : 0;
		return n;
	}
	if (hdr_is(line, n, "ETag", &v, &vlen)) {
		if (vlen >= sizeof(r->etag))
			vlen = sizeof(r->etag) - 1;
		memcpy(r->etag, v, vlen);
		r->etag[vlen] = '\0';
	} else if (hdr_is(line, n, "Content-Length", &v, &vlen) && vlen < sizeof(tmp)) {
		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		r->has_length = !s3_xml_u64(tmp, &r->content_length);
	} else if (hdr_is(line, n, "Content-Range", &v, &vlen) && vlen < sizeof(tmp)) {
		const char *slash;

		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		slash = strrchr(tmp, '/');
		if (slash && strcmp(slash + 1, "*"))
			r->has_range = !s3_xml_u64(slash + 1, &r->range_total);
		/* "bytes FIRST-LAST/TOTAL" */
		if (!strncmp(tmp, "bytes ", 6)) {
			char *dash = strchr(tmp + 6, '-');

			if (dash) {
				*dash = '\0';
				r->has_range_first = !s3_xml_u64(tmp + 6, &r->range_first);
			}
		}
	} else if (hdr_is(line, n, "Date", &v, &vlen) && vlen < sizeof(tmp)) {
		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		r->server_date = (int64_t)curl_getdate(tmp, NULL);
		if (r->server_date < 0)
			r->server_date = 0;
	} else if (hdr_is(line, n, "Last-Modified", &v, &vlen) && vlen < sizeof(tmp)) {
		memcpy(tmp, v, vlen);
		tmp[vlen] = '\0';
		r->last_modified = (int64_t)curl_getdate(tmp, NULL);
		if (r->last_modified < 0)
			r->last_modified = 0;
	} else if (hdr_is(line, n, "x-amz-object-lock-mode", &v, &vlen) &&
		   vlen < sizeof(r->lock_mode)) {
		memcpy(r->lock_mode, v, vlen);
		r->lock_mode[vlen] = '\0';
	} else if (hdr_is(line, n, "x-amz-object-lock-retain-until-date", &v, &vlen) &&
		   vlen < sizeof(r->lock_until)) {
		memcpy(r->lock_until, v, vlen);
		r->lock_until[vlen] = '\0';
	} else if (hdr_is(line, n, "x-amz-object-lock-legal-hold", &v, &vlen)) {
		r->legal_hold = vlen == 2 && !strncasecmp(v, "ON", 2);
	} else if (hdr_is(line, n, "x-amz-request-id", &v, &vlen) && vlen < sizeof(r->request_id)) {
		memcpy(r->request_id, v, vlen);
		r->request_id[vlen] = '\0';
	}
	return n;
}

int s3_http_sockopt_cb(void *arg, curl_socket_t fd, curlsocktype purpose)
{
	struct s3_http *h = arg;

	if (purpose == CURLSOCKTYPE_IPCXN) {
		if (s3_bucket_on(&h->up))
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &h->up.sockbuf,
				   sizeof(h->up.sockbuf));
		if (s3_bucket_on(&h->down))
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &h->down.sockbuf,
				   sizeof(h->down.sockbuf));
	}
	return CURL_SOCKOPT_OK;
}
