// SPDX-License-Identifier: MIT
/*
 * k8s/errmap.c - the one place where a failed attempt (curl's result, or the
 * API server's Status answer) becomes an errno, a retry decision, an exit
 * class and a line for a person: a table, read top to bottom, first match
 * wins, the shape of s3's error table. Decisions are made on the status
 * code, the Status reason and the request's context, never on the message,
 * except where the API server gives nothing else (a failed JSON patch test,
 * a resource the server does not serve).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "k8s_int.h"

#define A  K8S_EXIT_ACCESS
#define N  K8S_EXIT_NETWORK
#define U  K8S_EXIT_USAGE
#define R  K8S_EXIT_REFUSED
#define F  K8S_EXIT_FAILURE
#define NF K8S_EXIT_NOT_FOUND

/* clang-format off */
const struct kerr_row kerr_table[] = {
	/* ---- no answer: the transport (kerr_transport()) */
	{0, 0, "ConnectionRefused", 0, NULL, -ECONNREFUSED, KRETRY_CONNECT, N,
	 "{what}: {server} refused the connection: is the API server up, and is the server of cluster '{cluster}' ({file}) right?"},
	{0, 0, "ConnectTimeout", 0, NULL, -ETIMEDOUT, KRETRY_CONNECT, N,
	 "{what}: no answer from {server} within {timeout} s (connect timeout): is the address in {file} reachable from here?"},
	{0, 0, "HostUnreachable", 0, NULL, -EHOSTUNREACH, KRETRY_NO, N,
	 "{what}: no route to {server} ({detail}): check the network, and the server of cluster '{cluster}' ({file})"},
	{0, 0, "ResolveFailed", 0, NULL, -EHOSTUNREACH, KRETRY_NO, N,
	 "{what}: cannot resolve the host of {server} ({detail}): check the server of cluster '{cluster}' ({file})"},
	{0, 0, "TLSUntrusted", 0, NULL, -EPROTO, KRETRY_NO, A,
	 "{what}: the certificate of {server} is not signed by {ca}: give the cluster's CA (certificate-authority in {file})"},
	{0, 0, "TLSBadCA", 0, NULL, -EINVAL, KRETRY_NO, U,
	 "{what}: cannot use the CA {ca} ({detail}): fix certificate-authority in {file}"},
	{0, 0, "TLSClientCert", 0, NULL, -EACCES, KRETRY_NO, A,
	 "{what}: the client certificate or key of user '{user}' ({file}) cannot be used ({detail})"},
	{0, 0, "TLSHandshake", 0, NULL, -EPROTO, KRETRY_NO, A,
	 "{what}: TLS handshake with {server} failed ({detail}): is it the API server's https port?"},
	{0, 0, "Timeout", 0, NULL, -ETIMEDOUT, KRETRY_NO, N,
	 "{what}: {server} did not answer within {timeout} s"},
	{0, 0, "TooLarge", 0, NULL, -EFBIG, KRETRY_NO, F,
	 "{what}: the answer of {server} is larger than the client accepts"},
	{0, 0, "BadURL", 0, NULL, -EINVAL, KRETRY_NO, U,
	 "{what}: bad server URL {server} ({detail}): fix cluster '{cluster}' in {file}"},
	{0, 0, "OutOfMemory", 0, NULL, -ENOMEM, KRETRY_NO, F, "{what}: out of memory"},
	{0, 0, "Cancelled", 0, NULL, -ECANCELED, KRETRY_NO, F, "{what}: cancelled: the client is closing"},
	{0, 0, NULL, 0, NULL, -ECONNRESET, KRETRY_READS, N,
	 "{what}: the connection to {server} failed ({detail})"},

	/* ---- answers: the Status object's code and reason */
	{400, 400, NULL, 0, NULL, -EINVAL, KRETRY_NO, U,
	 "{what}: the API server refused the request as malformed: {msg}"},
	{401, 401, NULL, 0, NULL, -EACCES, KRETRY_REAUTH, A,
	 "{what}: {server} refused the credentials of user '{user}' ({file}): {authfix}"},
	{403, 403, NULL, 0, NULL, -EPERM, KRETRY_NO, A,
	 "{what}: forbidden: grant '{verb}' on '{resource}' to this identity in a Role or ClusterRole ({msg})"},
	{404, 404, NULL, 0, "could not find the requested resource", -ENOENT, KRETRY_NO, NF,
	 "{what}: {server} does not serve '{resource}': is its API (a CRD) installed?"},
	{404, 404, NULL, 0, NULL, -ENOENT, KRETRY_NO, NF, "{what}: {msg}"},
	{405, 405, NULL, 0, NULL, -EOPNOTSUPP, KRETRY_NO, U,
	 "{what}: not allowed on this resource: {msg}"},
	{409, 409, "AlreadyExists", 0, NULL, -EEXIST, KRETRY_NO, R, "{what}: {msg}"},
	{409, 409, "Conflict", KCTX_APPLY, NULL, -EBUSY, KRETRY_NO, R,
	 "{what}: {msg}: another field manager owns it; force only on objects ferry owns"},
	{409, 409, NULL, 0, NULL, -EAGAIN, KRETRY_REREAD, R,
	 "{what}: {msg}: it changed since it was read; read it again"},
	{410, 410, NULL, 0, NULL, -ESTALE, KRETRY_RELIST, F,
	 "{what}: the resourceVersion is too old, list again ({msg})"},
	{413, 413, NULL, 0, NULL, -EFBIG, KRETRY_NO, U, "{what}: the request is too large: {msg}"},
	{415, 415, NULL, 0, NULL, -EOPNOTSUPP, KRETRY_NO, U,
	 "{what}: strategic merge patches work on built-in kinds only, use a merge patch ({msg})"},
	{422, 422, NULL, KCTX_JPATCH, "testing value", -EAGAIN, KRETRY_REREAD, R,
	 "{what}: a JSON patch test failed: it changed since it was read; read it again ({msg})"},
	{422, 422, NULL, 0, NULL, -EINVAL, KRETRY_NO, U, "{what}: invalid: {causes}"},
	{429, 429, NULL, 0, NULL, -EAGAIN, KRETRY_BACKOFF, N,
	 "{what}: {server} kept throttling the request (429 TooManyRequests): {msg}"},
	{501, 501, NULL, 0, NULL, -EOPNOTSUPP, KRETRY_NO, U, "{what}: not implemented by {server}: {msg}"},
	{505, 505, NULL, 0, NULL, -EPROTO, KRETRY_NO, F, "{what}: {server}: HTTP version not supported"},
	{500, 599, NULL, 0, NULL, -EAGAIN, KRETRY_BACKOFF, N,
	 "{what}: {server} failed (HTTP {http} {reason}): {msg}"},
	{400, 499, NULL, 0, NULL, -EIO, KRETRY_NO, F, "{what}: HTTP {http} {reason}: {msg}"},
	{100, 399, NULL, 0, NULL, -EIO, KRETRY_NO, F,
	 "{what}: an unexpected HTTP {http} from {server}: is it the API server (a proxy, a redirect)?"},
};
/* clang-format on */
const size_t kerr_table_len = sizeof(kerr_table) / sizeof(kerr_table[0]);

const char *kerr_transport(int curl_code, long os_errno)
{
	switch ((CURLcode)curl_code) {
	case CURLE_OK:
		return NULL;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return "ResolveFailed";
	case CURLE_COULDNT_CONNECT:
		if (os_errno == EHOSTUNREACH || os_errno == ENETUNREACH)
			return "HostUnreachable";
		if (os_errno == ETIMEDOUT)
			return "ConnectTimeout";
		return "ConnectionRefused";
	case CURLE_OPERATION_TIMEDOUT:
		return "Timeout";
	case CURLE_PEER_FAILED_VERIFICATION:
		return "TLSUntrusted";
	case CURLE_SSL_CACERT_BADFILE:
		return "TLSBadCA";
	case CURLE_SSL_CERTPROBLEM:
		return "TLSClientCert";
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_USE_SSL_FAILED:
		return "TLSHandshake";
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return "BadURL";
	case CURLE_OUT_OF_MEMORY:
		return "OutOfMemory";
	case CURLE_FILESIZE_EXCEEDED:
		return "TooLarge";
	case CURLE_ABORTED_BY_CALLBACK:
		return "Cancelled";
	default:
		return "ConnectionReset";
	}
}

static bool row_matches(const struct kerr_row *row, const struct kfail *f, const char *code)
{
	if (f->transport) {
		if (row->http_lo != 0)
			return false;
	} else if (f->http < row->http_lo || f->http > row->http_hi || row->http_lo == 0) {
		return false;
	}
	if (row->code && (!code || strcmp(row->code, code)))
		return false;
	if (row->ctx && !(row->ctx & f->ctx))
		return false;
	if (row->needle && !(f->message && strcasestr(f->message, row->needle))) {
		/* or in one of the causes: some servers put the detail there */
		const cJSON *cs = cJSON_GetObjectItemCaseSensitive(f->details, "causes"), *c;
		bool found = false;

		cJSON_ArrayForEach(c, cs) {
			const char *m = kjson_str(c, "message");

			found |= m && strcasestr(m, row->needle);
		}
		if (!found)
			return false;
	}
	return true;
}

/* "field: message; field: message" from a Status's details.causes */
static void causes(const struct kfail *f, char *buf, size_t size)
{
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(f->details, "causes"), *c;
	size_t off = 0;

	buf[0] = '\0';
	cJSON_ArrayForEach(c, cs) {
		const char *field = kjson_str(c, "field"), *m = kjson_str(c, "message");
		int w;

		if (!m || off >= size)
			continue;
		w = snprintf(buf + off, size - off, "%s%s%s%s", off ? "; " : "", field ? field : "",
			     field ? ": " : "", m);
		if (w < 0)
			break;
		off += (size_t)w;
	}
	if (!buf[0])
		snprintf(buf, size, "%s", f->message ? f->message : "(no detail)");
}

static const char *authfix(const struct k8s_config *cfg)
{
	if (!cfg)
		return "check the credentials";
	switch (cfg->auth) {
	case KAUTH_TOKEN:
		return "the kubeconfig's token is expired or revoked: get a fresh one";
	case KAUTH_TOKEN_FILE:
		return cfg->in_cluster
			       ? "the service account token was refused even after reading it again: is the service account (and its token) current?"
			       : "the token in the tokenFile was refused even after reading it again: get a fresh one";
	case KAUTH_EXEC:
		return "the exec plugin's credential was refused even after running it again: log in again";
	case KAUTH_BASIC:
		return "username/password refused (most clusters disable basic authentication)";
	case KAUTH_NONE:
		break;
	}
	if (cfg->cert_file || cfg->cert_data)
		return "the client certificate was refused (expired, or issued by another CA)";
	return "no credentials given: the context's user needs a token, a certificate or an exec plugin";
}

/* expand @tpl into @out */
static void expand(const char *tpl, const struct kfail *f, const char *code, char *out, size_t size)
{
	const struct k8s_config *cfg = f->cfg;
	char tmp[256], cz[256];
	size_t off = 0;

	for (const char *p = tpl; *p && off + 1 < size;) {
		const char *v = NULL, *close;

		if (*p != '{' || !(close = strchr(p, '}'))) {
			out[off++] = *p++;
			continue;
		}
#define IS(name) ((size_t)(close - p - 1) == strlen(name) && !strncmp(p + 1, name, strlen(name)))
		if (IS("what"))
			v = f->what;
		else if (IS("server"))
			v = cfg ? cfg->server : "the API server";
		else if (IS("verb"))
			v = f->verb;
		else if (IS("resource"))
			v = f->resource;
		else if (IS("ns"))
			v = f->ns;
		else if (IS("name"))
			v = f->name;
		else if (IS("file"))
			v = cfg && cfg->file && cfg->file[0] ? cfg->file
							     : "in-cluster configuration";
		else if (IS("cluster"))
			v = cfg ? cfg->cluster_name : NULL;
		else if (IS("user"))
			v = cfg ? cfg->user_name : NULL;
		else if (IS("ca"))
			v = !cfg	   ? "the CA"
			    : cfg->ca_file ? cfg->ca_file
			    : cfg->ca_data ? "the kubeconfig's certificate-authority-data"
					   : "a CA of the system's store";
		else if (IS("msg"))
			v = f->message && f->message[0] ? f->message : (code ? code : "no detail");
		else if (IS("causes")) {
			causes(f, cz, sizeof(cz));
			v = cz;
		} else if (IS("timeout")) {
			unsigned int ms = f->transport && !strcmp(f->transport, "ConnectTimeout")
						  ? f->connect_timeout_ms
						  : f->timeout_ms;

			snprintf(tmp, sizeof(tmp), "%u", (ms + 999) / 1000);
			v = tmp;
		} else if (IS("detail"))
			v = f->transport_detail;
		else if (IS("http")) {
			snprintf(tmp, sizeof(tmp), "%ld", f->http);
			v = tmp;
		} else if (IS("reason"))
			v = code;
		else if (IS("authfix"))
			v = authfix(cfg);
#undef IS
		if (!v)
			v = "?";
		while (*v && off + 1 < size)
			out[off++] = *v++;
		p = close + 1;
	}
	out[off] = '\0';
}

enum kretry kerr_map(const struct kfail *f, struct k8s_err *err)
{
	const char *code = f->transport ? f->transport : f->reason;
	const struct kerr_row *row = NULL;

	for (size_t i = 0; i < kerr_table_len; i++)
		if (row_matches(&kerr_table[i], f, code)) {
			row = &kerr_table[i];
			break;
		}
	/* the last rows catch everything */
	if (!row)
		row = &kerr_table[kerr_table_len - 1];
	err->code = row->err;
	err->http = f->transport ? 0 : f->http;
	err->exit = row->exit;
	snprintf(err->reason, sizeof(err->reason), "%s", code ? code : "");
	expand(row->hint, f, code, err->msg, sizeof(err->msg));
	return row->retry;
}
