// SPDX-License-Identifier: MIT
/*
 * s3/endpoint.c - an endpoint URL split into what requests need, and the
 * addressing style of the bucket there (endpoint.h). Path style for IP
 * literals and localhost (no DNS name per bucket there), and for dotted
 * bucket names over https (a wildcard certificate "*.s3.amazonaws.com" does
 * not cover "my.bucket.s3.amazonaws.com"); virtual-hosted style otherwise,
 * as AWS prefers.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoint.h"

/* whether the host part (@n bytes, no port) is an IPv4 or bracketed IPv6 literal, or localhost */
static bool host_is_ip(const char *host, size_t n)
{
	if (n && host[0] == '[')
		return true;
	if ((n == 9 && !strncasecmp(host, "localhost", 9)) ||
	    (n > 10 && !strncasecmp(host + n - 10, ".localhost", 10)))
		return true;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)host[i]) && host[i] != '.')
			return false;
	return n > 0;
}

/* the length of the host in @auth (@alen bytes): the port and its ':' left out */
static size_t host_len(const char *auth, size_t alen)
{
	const char *end;

	if (auth[0] == '[') {
		end = memchr(auth, ']', alen);
		return end ? (size_t)(end - auth) + 1 : alen;
	}
	end = memchr(auth, ':', alen);
	return end ? (size_t)(end - auth) : alen;
}

int s3_endpoint_parse(const char *url, const char *bucket, int path_style, struct s3_endpoint *ep,
		      char *err, size_t errlen)
{
	const char *scheme = "https", *auth = url, *slash;
	size_t alen, plen;

	memset(ep, 0, sizeof(*ep));
	err[0] = '\0';
	if (!strncasecmp(url, "https://", 8)) {
		auth = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		scheme = "http";
		auth = url + 7;
	} else if (strstr(url, "://")) {
		snprintf(err, errlen, "endpoint %s: use http:// or https://", url);
		return -EPROTONOSUPPORT;
	}
	ep->https = !strcmp(scheme, "https");
	slash = strchr(auth, '/');
	alen = slash ? (size_t)(slash - auth) : strlen(auth);
	if (!alen) {
		snprintf(err, errlen, "endpoint '%s' has no host", url);
		return -EINVAL;
	}
	if (memchr(auth, '@', alen)) {
		snprintf(err, errlen, "endpoint '%s': credentials do not belong in the URL", url);
		return -EINVAL;
	}
	plen = slash ? strlen(slash) : 0;
	while (plen && slash[plen - 1] == '/')
		plen--;
	ep->base_path = strndup(slash ? slash : "", plen);
	if (!ep->base_path)
		return -ENOMEM;
	if (path_style == 1)
		ep->path_style = true;
	else if (path_style == 2)
		ep->path_style = false;
	else
		ep->path_style = host_is_ip(auth, host_len(auth, alen)) ||
				 (ep->https && strchr(bucket, '.'));
	if (ep->path_style) {
		if (asprintf(&ep->base, "%s://%.*s", scheme, (int)alen, auth) < 0) {
			ep->base = NULL;
			return -ENOMEM;
		}
		ep->host = strndup(auth, alen);
	} else {
		if (asprintf(&ep->base, "%s://%s.%.*s", scheme, bucket, (int)alen, auth) < 0) {
			ep->base = NULL;
			return -ENOMEM;
		}
		if (asprintf(&ep->host, "%s.%.*s", bucket, (int)alen, auth) < 0)
			ep->host = NULL;
	}
	return ep->host ? 0 : -ENOMEM;
}

void s3_endpoint_fini(struct s3_endpoint *ep)
{
	if (!ep)
		return;
	free(ep->base);
	free(ep->host);
	free(ep->base_path);
	memset(ep, 0, sizeof(*ep));
}
