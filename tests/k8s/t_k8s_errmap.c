// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_errmap.c - the error table (k8s/errmap.c) case by case:
 * Status answers in the API server's words (data/status/) and transport
 * failures, each in the context of a request, to the errno, the retry
 * decision, the exit class and a line naming what was asked, of which server
 * or file, and the fix (the way curl's unit1980 tests a table). Also the
 * table's own shape: every row has a message, the catch-alls come last.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "k8s/k8s_int.h"
#include "t_helpers.h"

static struct k8s_config cfg = {
	.server = "https://10.0.0.1:6443",
	.file = "/home/u/.kube/config",
	.cluster_name = "prod",
	.user_name = "alice",
	.ca_file = "/home/u/.kube/ca.crt",
	.auth = KAUTH_TOKEN,
};

static cJSON *status_body(const char *name)
{
	char path[512], *buf;
	size_t len;
	cJSON *j;

	snprintf(path, sizeof(path), "%s/data/status/%s.json",
		 getenv("K8S_TESTDIR") ? getenv("K8S_TESTDIR") : ".", name);
	if (kfile_read(path, 1 << 20, &buf, &len))
		t_error("cannot read %s", path);
	j = kjson_parse(buf, len);
	free(buf);
	if (!j)
		t_error("%s is not JSON", path);
	return j;
}

struct tcase {
	const char *body; /* data/status/<body>.json, or NULL: a transport failure */
	const char *transport;
	int ctx;
	const char *verb, *resource, *name;
	int err;
	enum kretry retry;
	int exit;
	const char *needles[4];
};

static const struct tcase cases[] = {
	{"notfound",
	 NULL,
	 KCTX_READ,
	 "get",
	 "pods",
	 "web-0",
	 -ENOENT,
	 KRETRY_NO,
	 K8S_EXIT_NOT_FOUND,
	 {"get pods/web-0 in namespace shop: pods \"web-0\" not found"}},
	{"notserved",
	 NULL,
	 KCTX_READ,
	 "list",
	 "backups",
	 NULL,
	 -ENOENT,
	 KRETRY_NO,
	 K8S_EXIT_NOT_FOUND,
	 {"does not serve 'backups'", "CRD"}},
	{"exists",
	 NULL,
	 KCTX_CREATE,
	 "create",
	 "configmaps",
	 NULL,
	 -EEXIST,
	 KRETRY_NO,
	 K8S_EXIT_REFUSED,
	 {"already exists"}},
	{"conflict",
	 NULL,
	 KCTX_UPDATE,
	 "update",
	 "deployments",
	 "web",
	 -EAGAIN,
	 KRETRY_REREAD,
	 K8S_EXIT_REFUSED,
	 {"the object has been modified", "read it again"}},
	{"conflict",
	 NULL,
	 KCTX_DELETE,
	 "delete",
	 "deployments",
	 "web",
	 -EAGAIN,
	 KRETRY_REREAD,
	 K8S_EXIT_REFUSED,
	 {"read it again"}}, /* a failed precondition */
	{"apply-conflict",
	 NULL,
	 KCTX_APPLY,
	 "apply",
	 "deployments",
	 "web",
	 -EBUSY,
	 KRETRY_NO,
	 K8S_EXIT_REFUSED,
	 {"kube-controller-manager", ".spec.replicas", "another field manager owns it"}},
	{"expired",
	 NULL,
	 KCTX_WATCH,
	 "watch",
	 "pods",
	 NULL,
	 -ESTALE,
	 KRETRY_RELIST,
	 K8S_EXIT_FAILURE,
	 {"too old resource version", "list again"}},
	{"gone-continue",
	 NULL,
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -ESTALE,
	 KRETRY_RELIST,
	 K8S_EXIT_FAILURE,
	 {"continue parameter is too old"}},
	{"invalid",
	 NULL,
	 KCTX_CREATE,
	 "create",
	 "pods",
	 NULL,
	 -EINVAL,
	 KRETRY_NO,
	 K8S_EXIT_USAGE,
	 {"invalid: spec.containers: Required value; metadata.name: Invalid value"}},
	{"jsonpatch-test",
	 NULL,
	 KCTX_JPATCH,
	 "patch",
	 "deployments",
	 "web",
	 -EAGAIN,
	 KRETRY_REREAD,
	 K8S_EXIT_REFUSED,
	 {"JSON patch test failed"}}, /* the test in a cause */
	{"jsonpatch-test2",
	 NULL,
	 KCTX_JPATCH,
	 "patch",
	 "deployments",
	 "web",
	 -EAGAIN,
	 KRETRY_REREAD,
	 K8S_EXIT_REFUSED,
	 {"JSON patch test failed", "color"}},
	{"jsonpatch-test2",
	 NULL,
	 KCTX_PATCH,
	 "patch",
	 "deployments",
	 "web",
	 -EINVAL,
	 KRETRY_NO,
	 K8S_EXIT_USAGE,
	 {"invalid"}}, /* only a JSON patch has tests */
	{"forbidden",
	 NULL,
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -EPERM,
	 KRETRY_NO,
	 K8S_EXIT_ACCESS,
	 {"forbidden", "cannot list resource \"pods\"", "grant 'list' on 'pods'"}},
	{"unauthorized",
	 NULL,
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -EACCES,
	 KRETRY_REAUTH,
	 K8S_EXIT_ACCESS,
	 {"https://10.0.0.1:6443 refused the credentials of user 'alice'", "/home/u/.kube/config",
	  "token is expired"}},
	{"toomany",
	 NULL,
	 KCTX_CREATE,
	 "create",
	 "pods",
	 NULL,
	 -EAGAIN,
	 KRETRY_BACKOFF,
	 K8S_EXIT_NETWORK,
	 {"throttling"}},
	{"unavailable",
	 NULL,
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -EAGAIN,
	 KRETRY_BACKOFF,
	 K8S_EXIT_NETWORK,
	 {"HTTP 503 ServiceUnavailable"}},
	{"internal",
	 NULL,
	 KCTX_UPDATE,
	 "update",
	 "pods",
	 "x",
	 -EAGAIN,
	 KRETRY_BACKOFF,
	 K8S_EXIT_NETWORK,
	 {"etcdserver: request timed out"}},
	{"timeout",
	 NULL,
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -EAGAIN,
	 KRETRY_BACKOFF,
	 K8S_EXIT_NETWORK,
	 {"HTTP 504 Timeout"}},
	{"unsupported",
	 NULL,
	 KCTX_PATCH,
	 "patch",
	 "backups",
	 "b",
	 -EOPNOTSUPP,
	 KRETRY_NO,
	 K8S_EXIT_USAGE,
	 {"use a merge patch"}},
	{"badrequest",
	 NULL,
	 KCTX_CREATE,
	 "create",
	 "pods",
	 NULL,
	 -EINVAL,
	 KRETRY_NO,
	 K8S_EXIT_USAGE,
	 {"malformed", "does not match the namespace"}},
	{"methodnotallowed",
	 NULL,
	 KCTX_DELETE,
	 "delete",
	 "x",
	 "y",
	 -EOPNOTSUPP,
	 KRETRY_NO,
	 K8S_EXIT_USAGE,
	 {"not allowed"}},
	{NULL,
	 "ConnectionRefused",
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -ECONNREFUSED,
	 KRETRY_CONNECT,
	 K8S_EXIT_NETWORK,
	 {"https://10.0.0.1:6443 refused the connection", "cluster 'prod'",
	  "/home/u/.kube/config"}},
	{NULL,
	 "ConnectTimeout",
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -ETIMEDOUT,
	 KRETRY_CONNECT,
	 K8S_EXIT_NETWORK,
	 {"no answer from https://10.0.0.1:6443 within 10 s (connect timeout)"}},
	{NULL,
	 "Timeout",
	 KCTX_READ,
	 "list",
	 "pods",
	 NULL,
	 -ETIMEDOUT,
	 KRETRY_NO,
	 K8S_EXIT_NETWORK,
	 {"did not answer within 60 s"}},
	{NULL,
	 "HostUnreachable",
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -EHOSTUNREACH,
	 KRETRY_NO,
	 K8S_EXIT_NETWORK,
	 {"no route to https://10.0.0.1:6443"}},
	{NULL,
	 "TLSUntrusted",
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -EPROTO,
	 KRETRY_NO,
	 K8S_EXIT_ACCESS,
	 {"not signed by /home/u/.kube/ca.crt", "certificate-authority in /home/u/.kube/config"}},
	{NULL,
	 "ConnectionReset",
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -ECONNRESET,
	 KRETRY_READS,
	 K8S_EXIT_NETWORK,
	 {"connection to https://10.0.0.1:6443 failed"}},
	{NULL,
	 "SomethingNew",
	 KCTX_READ,
	 "get",
	 "pods",
	 "x",
	 -ECONNRESET,
	 KRETRY_READS,
	 K8S_EXIT_NETWORK,
	 {"failed"}},
};

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct tcase *c = &cases[i];
		cJSON *st = c->body ? status_body(c->body) : NULL;
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(st, "code");
		struct kfail f = {
			.transport = c->transport,
			.transport_detail = "Connection refused",
			.http = cJSON_IsNumber(code) ? (long)code->valuedouble : 0,
			.reason = kjson_str(st, "reason"),
			.message = kjson_str(st, "message"),
			.details = cJSON_GetObjectItemCaseSensitive(st, "details"),
			.ctx = c->ctx,
			.verb = c->verb,
			.resource = c->resource,
			.ns = "shop",
			.name = c->name,
			.cfg = &cfg,
			.connect_timeout_ms = 10000,
			.timeout_ms = 60000,
		};
		struct k8s_err err = {0};
		enum kretry r;

		{
			static char what[192];

			snprintf(what, sizeof(what), "%s %s%s%s in namespace shop", c->verb,
				 c->resource, c->name ? "/" : "", c->name ? c->name : "");
			f.what = what;
		}
		if (!f.reason && st)
			f.reason = "Invalid"; /* what loop.c fills in for a 422 without one */
		r = kerr_map(&f, &err);
		T_ASSERT(err.code == c->err, "case %zu (%s): errno %d, wanted %d: %s", i,
			 c->body ? c->body : c->transport, err.code, c->err, err.msg);
		T_ASSERT(r == c->retry, "case %zu (%s): retry %d, wanted %d", i,
			 c->body ? c->body : c->transport, r, c->retry);
		T_ASSERT(err.exit == c->exit, "case %zu: exit %d, wanted %d", i, err.exit, c->exit);
		T_ASSERT(err.http == f.http, "case %zu", i);
		T_ASSERT(!strcmp(err.reason, c->transport ? c->transport : f.reason),
			 "case %zu: %s", i, err.reason);
		T_ASSERT(!strncmp(err.msg, f.what, strlen(f.what)),
			 "case %zu: the request first: %s", i, err.msg);
		for (int k = 0; k < 4 && c->needles[k]; k++)
			T_ASSERT(strstr(err.msg, c->needles[k]), "case %zu (%s): '%s' lacks '%s'",
				 i, c->body ? c->body : c->transport, err.msg, c->needles[k]);
		T_ASSERT(!strchr(err.msg, '\n') && !strstr(err.msg, "{"), "case %zu: %s", i,
			 err.msg);
		cJSON_Delete(st);
	}
}

static void test_transport(void)
{
	T_ASSERT(!kerr_transport(CURLE_OK, 0));
	T_ASSERT(!strcmp(kerr_transport(CURLE_COULDNT_CONNECT, ECONNREFUSED), "ConnectionRefused"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_COULDNT_CONNECT, ETIMEDOUT), "ConnectTimeout"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_COULDNT_CONNECT, ENETUNREACH), "HostUnreachable"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_OPERATION_TIMEDOUT, 0), "Timeout"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_PEER_FAILED_VERIFICATION, 0), "TLSUntrusted"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_SSL_CACERT_BADFILE, 0), "TLSBadCA"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_RECV_ERROR, 0), "ConnectionReset"));
	T_ASSERT(!strcmp(kerr_transport(CURLE_HTTP2_STREAM, 0), "ConnectionReset"));
}

static void test_table_shape(void)
{
	bool catch_transport = false, catch_4xx = false, catch_5xx = false;

	for (size_t i = 0; i < kerr_table_len; i++) {
		const struct kerr_row *r = &kerr_table[i];

		T_ASSERT(r->err < 0, "row %zu", i);
		T_ASSERT(r->hint && !strncmp(r->hint, "{what}: ", 8),
			 "row %zu names the request first", i);
		T_ASSERT(r->exit >= K8S_EXIT_FAILURE && r->exit <= K8S_EXIT_NETWORK, "row %zu", i);
		T_ASSERT(r->http_lo <= r->http_hi, "row %zu", i);
		/* nothing after a catch-all of its kind could ever match */
		if (r->http_lo == 0)
			T_ASSERT(!catch_transport, "row %zu comes after the transport catch-all",
				 i);
		if (r->http_lo >= 400 && r->http_hi <= 499)
			T_ASSERT(!catch_4xx, "row %zu after the 4xx catch-all", i);
		if (r->http_lo >= 500 && r->http_hi <= 599)
			T_ASSERT(!catch_5xx, "row %zu after the 5xx catch-all", i);
		catch_transport |= r->http_lo == 0 && !r->code;
		catch_4xx |= r->http_lo == 400 && r->http_hi == 499;
		catch_5xx |= r->http_lo == 500 && r->http_hi == 599;
		/* retries the caller owns are only for the codes that mean them */
		if (r->retry == KRETRY_RELIST)
			T_ASSERT(r->http_lo == 410 && r->err == -ESTALE, "row %zu", i);
		if (r->retry == KRETRY_REAUTH)
			T_ASSERT(r->http_lo == 401, "row %zu", i);
	}
	T_ASSERT(catch_transport && catch_4xx && catch_5xx);
}

int main(void)
{
	test_cases();
	test_transport();
	test_table_shape();
	printf("t_k8s_errmap: ok (%zu cases, %zu rows)\n", sizeof(cases) / sizeof(cases[0]),
	       kerr_table_len);
	return 0;
}
