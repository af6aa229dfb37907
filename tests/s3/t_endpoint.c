// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_endpoint.c - where s3:// requests go (s3/endpoint.c): the
 * scheme, the Host header, the URL base and the addressing style for the
 * endpoints users give (AWS, IP literals, localhost, ports, paths, trailing
 * slashes, dotted bucket names over https), and the ones refused; then what
 * opening an s3:// store refuses before any request (no network here).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/endpoint.h"
#include "s3/store.h"
#include "t_helpers.h"

struct ep_case {
	const char *url, *bucket;
	int style; /* 0 automatic, 1 path, 2 virtual-hosted */
	/* expected */
	int err;
	bool https, path_style;
	const char *base, *host, *base_path, *why;
};

static const struct ep_case cases[] = {
	/* AWS: virtual-hosted */
	{"https://s3.eu-west-1.amazonaws.com", "ferry-repo", 0, 0, true, false,
	 "https://ferry-repo.s3.eu-west-1.amazonaws.com", "ferry-repo.s3.eu-west-1.amazonaws.com",
	 "", NULL},
	{"s3.us-east-1.amazonaws.com", "b123", 0, 0, true, false,
	 "https://b123.s3.us-east-1.amazonaws.com", "b123.s3.us-east-1.amazonaws.com", "", NULL},
	{"HTTPS://s3.amazonaws.com/", "b123", 0, 0, true, false, "https://b123.s3.amazonaws.com",
	 "b123.s3.amazonaws.com", "", NULL},
	/* a dotted bucket over https: a wildcard certificate does not cover it */
	{"https://s3.amazonaws.com", "my.dotted.bucket", 0, 0, true, true,
	 "https://s3.amazonaws.com", "s3.amazonaws.com", "", NULL},
	/* ... over http it may stay virtual-hosted */
	{"http://minio.example:9000", "my.bucket", 0, 0, false, false,
	 "http://my.bucket.minio.example:9000", "my.bucket.minio.example:9000", "", NULL},
	/* IP literals and localhost: path style, the port kept */
	{"http://127.0.0.1:17480", "ferry-test", 0, 0, false, true, "http://127.0.0.1:17480",
	 "127.0.0.1:17480", "", NULL},
	{"http://[::1]:8080/", "ferry-test", 0, 0, false, true, "http://[::1]:8080", "[::1]:8080",
	 "", NULL},
	{"http://localhost:7480", "b12", 0, 0, false, true, "http://localhost:7480",
	 "localhost:7480", "", NULL},
	{"http://rgw.localhost", "b12", 0, 0, false, true, "http://rgw.localhost", "rgw.localhost",
	 "", NULL},
	{"https://10.0.0.5", "b12", 0, 0, true, true, "https://10.0.0.5", "10.0.0.5", "", NULL},
	/* a host that only starts with digits is a name */
	{"http://1host.example", "b12", 0, 0, false, false, "http://b12.1host.example",
	 "b12.1host.example", "", NULL},
	/* a path under the endpoint (a proxy's prefix), trailing slashes dropped */
	{"https://gw.example/s3/api//", "b12", 0, 0, true, false, "https://b12.gw.example",
	 "b12.gw.example", "/s3/api", NULL},
	{"http://127.0.0.1:9000/rgw", "b12", 0, 0, false, true, "http://127.0.0.1:9000",
	 "127.0.0.1:9000", "/rgw", NULL},
	/* the style forced */
	{"https://s3.amazonaws.com", "b12", 1, 0, true, true, "https://s3.amazonaws.com",
	 "s3.amazonaws.com", "", NULL},
	{"http://127.0.0.1:17480", "b12", 2, 0, false, false, "http://b12.127.0.0.1:17480",
	 "b12.127.0.0.1:17480", "", NULL},
	/* refused */
	{"ftp://s3.example", "b12", 0, -EPROTONOSUPPORT, .why = "use http:// or https://"},
	{"https://", "b12", 0, -EINVAL, .why = "has no host"},
	{"http:///path", "b12", 0, -EINVAL, .why = "has no host"},
	{"https://AKID:secret@s3.example", "b12", 0, -EINVAL,
	 .why = "credentials do not belong in the URL"},
};

static void endpoints(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct ep_case *c = &cases[i];
		struct s3_endpoint ep;
		char why[256];
		int ret = s3_endpoint_parse(c->url, c->bucket, c->style, &ep, why, sizeof(why));

		T_ASSERT(ret == c->err, "%s: %d, not %d (%s)", c->url, ret, c->err, why);
		if (ret) {
			T_ASSERT(strstr(why, c->why) && strstr(why, c->url), "%s: '%s'", c->url,
				 why);
		} else {
			T_ASSERT(!why[0], "%s: no reason on success", c->url);
			T_ASSERT(ep.https == c->https && ep.path_style == c->path_style,
				 "%s: https %d path style %d", c->url, ep.https, ep.path_style);
			T_ASSERT(!strcmp(ep.base, c->base), "%s: base %s, not %s", c->url, ep.base,
				 c->base);
			T_ASSERT(!strcmp(ep.host, c->host), "%s: host %s, not %s", c->url, ep.host,
				 c->host);
			T_ASSERT(!strcmp(ep.base_path, c->base_path), "%s: path '%s', not '%s'",
				 c->url, ep.base_path, c->base_path);
		}
		s3_endpoint_fini(&ep);
		s3_endpoint_fini(&ep); /* zeroed: again is fine */
	}
	s3_endpoint_fini(NULL);
	printf("ok: %zu endpoints: scheme, host, style, path\n", n);
}

/* Opening refuses before any request: the endpoint, the bucket, the settings sent as headers. */
static void opening(void)
{
	struct s3_store_opts o = {.sz = sizeof(o), .endpoint = "http://127.0.0.1:1"};
	struct s3_store *st;
	char longer[300];

	setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
	setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", 1);
	unsetenv("AWS_SESSION_TOKEN");
	T_ASSERT_EQ(s3_store_open("s3://ferry-test/p", &o, &st), 0);
	s3_store_free(st);
	o.endpoint = "gopher://127.0.0.1:1";
	T_ASSERT_EQ(s3_store_open("s3://ferry-test/p", &o, &st), -EPROTONOSUPPORT);
	T_ASSERT(strstr(s3_last_error(), "use http:// or https://"), "%s", s3_last_error());
	o.endpoint = "http://127.0.0.1:1";
	T_ASSERT_EQ(s3_store_open("s3://ab/p", &o, &st), -EINVAL);
	T_ASSERT(strstr(s3_last_error(), "3 to 63"), "%s", s3_last_error());
	memset(longer, 'S', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	o.storage_class = longer;
	T_ASSERT_EQ(s3_store_open("s3://ferry-test/p", &o, &st), -EINVAL);
	T_ASSERT(strstr(s3_last_error(), "storage class") && strstr(s3_last_error(), "255 bytes"),
		 "%s", s3_last_error());
	o.storage_class = "STANDARD_IA";
	o.sse = "aws:kms";
	o.sse_kms_key_id = longer;
	T_ASSERT_EQ(s3_store_open("s3://ferry-test/p", &o, &st), -EINVAL);
	T_ASSERT(strstr(s3_last_error(), "KMS key id"), "%s", s3_last_error());
	o.sse_kms_key_id =
		"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
	T_ASSERT_EQ(s3_store_open("s3://ferry-test/p", &o, &st), 0);
	s3_store_free(st);
	printf("ok: opening refuses a bad endpoint, bucket, and header values that do not fit\n");
}

int main(void)
{
	endpoints();
	opening();
	printf("PASS: t_endpoint\n");
	return 0;
}
