// SPDX-License-Identifier: MIT
/*
 * control/httpd/httpd.c - /metrics, /healthz and /readyz over libmicrohttpd,
 * for the agent and the controller (httpd.h).
 *
 * libmicrohttpd runs its internal polling thread, which calls the one access
 * handler below per request; the handler looks the path up in the page
 * table, lets the page write its body into an open_memstream() buffer and
 * hands that buffer to libmicrohttpd, which frees it after sending. With a
 * certificate and key the daemon speaks TLS only (libmicrohttpd's GnuTLS).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "httpd.h"

#define TEXT_PLAIN "text/plain; charset=utf-8"
#define TLS_MAX	   (1u << 20)
/* GnuTLS priorities: its defaults, without anything older than TLS 1.2 */
#define TLS_PRIORITIES "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

struct ctl_httpd {
	struct MHD_Daemon *mhd;
	const struct ctl_httpd_page *pages;
	size_t npages;
	void *arg;
	unsigned int port;
	char *cert, *key; /* PEM, NUL-terminated; libmicrohttpd reads them while it runs */
};

/* the whole of @path, NUL-terminated, into *@out (malloc()ed) */
static int read_pem(const char *path, char **out)
{
	size_t len = 0, n;
	char *buf = NULL;
	FILE *f;
	int ret = 0;

	*out = NULL;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	buf = malloc(TLS_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		goto out;
	}
	while ((n = fread(buf + len, 1, TLS_MAX + 1 - len, f)) > 0)
		len += n;
	if (ferror(f))
		ret = -EIO;
	else if (len > TLS_MAX)
		ret = -EFBIG;
out:
	fclose(f);
	if (ret) {
		free(buf);
		return ret;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

/* both files read, and each holds what its name says */
static int load_tls(struct ctl_httpd *h, const char *cert, const char *key)
{
	int ret = read_pem(cert, &h->cert);

	if (!ret)
		ret = read_pem(key, &h->key);
	if (!ret && (!strstr(h->cert, "-----BEGIN CERTIFICATE-----") ||
		     !strstr(h->key, "PRIVATE KEY-----")))
		ret = -EINVAL;
	return ret;
}

static void httpd_free(struct ctl_httpd *h)
{
	if (h->key)
		memset(h->key, 0, strlen(h->key)); /* the private key leaves no copy behind */
	free(h->key);
	free(h->cert);
	free(h);
}

int ctl_httpd_parse_addr(const char *s, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	const char *colon, *h = s;
	unsigned long port;
	char host[64], *end;
	size_t hl;

	memset(ss, 0, sizeof(*ss));
	colon = s ? strrchr(s, ':') : NULL;
	if (!colon)
		return -EINVAL;
	errno = 0;
	port = strtoul(colon + 1, &end, 10);
	if (end == colon + 1 || *end || errno || port > 65535 || colon[1] == '-' ||
	    colon[1] == '+' || colon[1] == ' ')
		return -EINVAL;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (hl >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	if (!hl)
		snprintf(host, sizeof(host), "0.0.0.0");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		return 0;
	}
	memset(ss, 0, sizeof(*ss));
	return -EINVAL;
}

/* queue @len bytes of @body (malloc()ed, transferred) with @code */
static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int code, const char *type,
			     char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(conn, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int code, const char *text)
{
	char *body = strdup(text);

	if (!body)
		return MHD_NO;
	return reply(conn, code, TEXT_PLAIN, body, strlen(body));
}

static enum MHD_Result handler(void *cls, struct MHD_Connection *conn, const char *url,
			       const char *method, const char *version, const char *upload_data,
			       size_t *upload_len, void **req)
{
	struct ctl_httpd *h = cls;
	const struct ctl_httpd_page *p = NULL;
	char *buf = NULL;
	size_t len = 0;
	unsigned int code;
	FILE *f;

	(void)version;
	(void)upload_data;
	(void)req;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (*upload_len)
		return MHD_NO;
	for (size_t i = 0; i < h->npages; i++)
		if (!strcmp(url, h->pages[i].path))
			p = &h->pages[i];
	if (!p)
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
	f = open_memstream(&buf, &len);
	if (!f)
		return MHD_NO;
	if (p->fn_auth)
		code = p->fn_auth(h->arg,
				  MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
							      MHD_HTTP_HEADER_AUTHORIZATION),
				  f);
	else
		code = p->fn(h->arg, f);
	if (fclose(f)) {
		free(buf);
		return MHD_NO;
	}
	return reply(conn, code, p->type ? p->type : TEXT_PLAIN, buf, len);
}

int ctl_httpd_start(const struct ctl_httpd_opts *o, struct ctl_httpd **out)
{
	const union MHD_DaemonInfo *info;
	struct sockaddr_storage ss;
	struct ctl_httpd *h;

	unsigned int flags;
	int ret;

	*out = NULL;
	if (!o || !o->pages || !o->npages || ctl_httpd_parse_addr(o->addr, &ss) ||
	    !o->tls_cert != !o->tls_key)
		return -EINVAL;
	if (o->tls_cert && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return -ENOTSUP;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->pages = o->pages;
	h->npages = o->npages;
	h->arg = o->arg;
	flags = MHD_USE_INTERNAL_POLLING_THREAD | (ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	if (o->tls_cert) {
		ret = load_tls(h, o->tls_cert, o->tls_key);
		if (ret) {
			httpd_free(h);
			return ret;
		}
		h->mhd = MHD_start_daemon(
			flags | MHD_USE_TLS, 0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
			(struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
			MHD_OPTION_HTTPS_MEM_CERT, h->cert, MHD_OPTION_HTTPS_MEM_KEY, h->key,
			MHD_OPTION_HTTPS_PRIORITIES, TLS_PRIORITIES, MHD_OPTION_END);
		if (!h->mhd) {
			/* the same address without TLS says which of the two failed */
			struct MHD_Daemon *probe = MHD_start_daemon(
				flags, 0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
				(struct sockaddr *)&ss, MHD_OPTION_END);

			if (probe)
				MHD_stop_daemon(probe);
			httpd_free(h);
			return probe ? -EKEYREJECTED : -EADDRINUSE;
		}
	} else {
		h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, handler, h, MHD_OPTION_SOCK_ADDR,
					  (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_TIMEOUT,
					  (unsigned int)10, MHD_OPTION_END);
		if (!h->mhd) {
			httpd_free(h);
			return -EADDRINUSE;
		}
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : 0;
	*out = h;
	return 0;
}

unsigned int ctl_httpd_port(const struct ctl_httpd *h)
{
	return h ? h->port : 0;
}

void ctl_httpd_stop(struct ctl_httpd *h)
{
	if (!h)
		return;
	MHD_stop_daemon(h->mhd);
	httpd_free(h);
}
