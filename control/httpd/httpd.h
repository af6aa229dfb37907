/* SPDX-License-Identifier: MIT */
/*
 * control/httpd/httpd.h - the small HTTP server of ferry's two long-running
 * processes: `ferry agent` and `ferry controller` serve /metrics, /healthz
 * and /readyz through it. Layer 1 of control/ (control/README.md): it uses
 * libmicrohttpd and nothing of ferry's, so both layer-3 runtimes
 * (control/agent/, control/operator/) share it without seeing each other.
 *
 * A server answers GET and HEAD of a fixed table of pages; each page is a
 * callback that writes its body into a stdio stream and returns the status
 * code. Anything else is 405 (another method) or 404 (another path).
 *
 *   static unsigned int healthz(void *arg, FILE *f)
 *   {
 *           fputs("ok\n", f);
 *           return 200;
 *   }
 *   static const struct ctl_httpd_page pages[] = {
 *           {"/healthz", healthz, NULL},
 *           {"/metrics", metrics, CTL_HTTPD_PROMETHEUS},
 *   };
 *   struct ctl_httpd_opts o = {.sz = sizeof(o), .addr = ":9465", .pages = pages,
 *                              .npages = 2, .arg = state};
 *   ret = ctl_httpd_start(&o, &h);
 *
 * Threads: the server has one thread of its own (libmicrohttpd's internal
 * polling thread); the page callbacks run on it, one request at a time, so
 * they must be quick and take their data under their own lock. Errors are
 * 0 or -errno; nothing here prints.
 */
#ifndef FERRY_CTL_HTTPD_H
#define FERRY_CTL_HTTPD_H

#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>

/* The Content-Type of the Prometheus text exposition format 0.0.4. */
#define CTL_HTTPD_PROMETHEUS "text/plain; version=0.0.4; charset=utf-8"

/**
 * struct ctl_httpd_page - one path the server answers
 * @path: "/metrics" (matched exactly; a query string is ignored)
 * @fn:   writes the body into @f (an in-memory stream) and returns the
 *        HTTP status (200, 503, ...); runs on the server's thread
 * @type: the Content-Type (NULL: "text/plain; charset=utf-8")
 * @fn_auth: instead of @fn, for a page that authenticates its caller: also
 *        given the request's Authorization header (NULL when absent;
 *        borrowed for the call). It runs on the server's one thread like
 *        @fn, so a check that asks the network must cache its answers
 */
struct ctl_httpd_page {
	const char *path;
	unsigned int (*fn)(void *arg, FILE *f);
	const char *type;
	unsigned int (*fn_auth)(void *arg, const char *authorization, FILE *f);
};

/**
 * struct ctl_httpd_opts - what to serve, and where
 * @sz:       sizeof(struct ctl_httpd_opts)
 * @addr:     "HOST:PORT", "[V6]:PORT" or ":PORT" (all IPv4 addresses); port
 *            0 picks a free one (ctl_httpd_port() says which)
 * @pages:    borrowed until ctl_httpd_stop()
 * @npages:   entries of @pages
 * @arg:      handed to every page callback
 * @tls_cert: NULL: plain HTTP. Otherwise HTTPS only (TLS 1.2 and 1.3,
 *            libmicrohttpd's GnuTLS): a PEM file of the server's
 *            certificate (and its chain), read once at the start
 * @tls_key:  with @tls_cert: a PEM file of its private key
 */
struct ctl_httpd_opts {
	size_t sz;
	const char *addr;
	const struct ctl_httpd_page *pages;
	size_t npages;
	void *arg;
	const char *tls_cert, *tls_key;
};

struct ctl_httpd;

/**
 * ctl_httpd_parse_addr() - "HOST:PORT", "[V6]:PORT" or ":PORT" into @ss
 * Return: 0; -EINVAL (not an address and a port from 0 to 65535; host
 * names are not resolved).
 */
int ctl_httpd_parse_addr(const char *s, struct sockaddr_storage *ss);

/**
 * ctl_httpd_start() - listen on @o->addr and serve @o->pages
 * @o:   borrowed (the pages until ctl_httpd_stop())
 * @out: the server, stopped and freed with ctl_httpd_stop()
 *
 * Return: 0; -EINVAL (a bad address, no pages, one of @tls_cert and
 * @tls_key without the other, a file without a PEM certificate or private
 * key); -errno of a TLS file that cannot be read (-ENOENT, -EACCES...);
 * -EFBIG (a TLS file over 1 MiB); -ENOTSUP (TLS asked of a libmicrohttpd
 * built without it); -EADDRINUSE (the address cannot be bound: in use, or
 * not an address of this host); -EKEYREJECTED (TLS could not start with
 * this certificate and key: they do not match, or the key is encrypted);
 * -ENOMEM.
 */
int ctl_httpd_start(const struct ctl_httpd_opts *o, struct ctl_httpd **out);

/* ctl_httpd_port() - the port the server listens on (the one chosen for port 0) */
unsigned int ctl_httpd_port(const struct ctl_httpd *h);

/**
 * ctl_httpd_stop() - stop serving and free; NULL is a no-op
 *
 * Waits for a page callback that is running; none runs afterwards.
 */
void ctl_httpd_stop(struct ctl_httpd *h);

#endif /* FERRY_CTL_HTTPD_H */
