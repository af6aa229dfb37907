// SPDX-License-Identifier: MIT
/*
 * s3/http_map.c - the one mapping of curl, HTTP and S3 results to -errno, a
 * retry decision, the CLI's exit class and a line for the user.
 *
 * Two tables, read top to bottom, the first row that matches wins:
 *   curl_rows: the transfer failed (no answer, or an unusable one);
 *   http_rows: an answer came, by its status and its <Error><Code>.
 * A row's hint is the line after "<what>: ", with {placeholders} for the
 * settings and the answer (hint_expand()). The few cases that depend on more
 * than status and code have small named functions: when() decides whether a
 * row applies (accept_404, on_upload, object_lock, ...); a placeholder whose
 * value needs computing has one too (clock_skew).
 *
 * Retries: 5xx, SlowDown and its kin, RequestTimeout, BadDigest, resets,
 * timeouts; a refused connection only on the first two attempts (a server
 * restarting), so that an unreachable endpoint fails fast. No retry on other
 * 4xx. "Store-wide" rows are failures every request would meet (credentials,
 * clock, region, bucket, the network, a busy store): DeleteObjects' fallback
 * stops on them rather than report each item.
 *
 * tests/s3/t_http_map.c holds its own list of cases, written from the S3
 * documentation and the RGW's observed answers.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "s3_int.h"

enum { NO, YES, BRIEFLY /* retry while r->attempts < 3: a server restarting */ };
enum { ONE = 0, WIDE = 1 /* store-wide */, FRESH = 2 /* retry on a new connection */ };

/* What a row decides. */
struct outcome {
	int err;
	unsigned char retry;
	unsigned char xc; /* enum s3_exit_class */
	unsigned char flags;
	const char *hint; /* the line after "<what>: " (NULL: "HTTP <status> <code>: <message>") */
};

/* An answer: its status range (0, 0: any), <Code> (NULL: any; "": none), and a context. */
struct http_row {
	long st_lo, st_hi;
	const char *code;
	bool (*when)(const struct s3_hreq *r); /* the row applies only if true (NULL: always) */
	struct outcome out;
};

/* No (usable) answer: curl's code (the last row: any other) and a context. */
struct curl_row {
	CURLcode cc;
	bool (*when)(const struct s3_hreq *r);
	struct outcome out;
};

/* ------------------------------------------------------------ contexts */

static bool accept_404(const struct s3_hreq *r)
{
	return r->accept_404;
}

static bool accept_416(const struct s3_hreq *r)
{
	return r->accept_416;
}

/* The request names an upload id: "no such key" means the upload is gone (RGW says it so). */
static bool on_upload(const struct s3_hreq *r)
{
	return r->on_upload;
}

/* RGW: "forbidden by object lock"; AWS: "... protected by object lock." */
static bool object_lock(const struct s3_hreq *r)
{
	return strcasestr(r->s3err.message, "object lock") != NULL;
}

static bool has_message(const struct s3_hreq *r)
{
	return r->s3err.message[0] != '\0';
}

/* AuthorizationHeaderMalformed names the bucket's region when the region is the trouble */
static bool names_region(const struct s3_hreq *r)
{
	return r->s3err.region[0] != '\0';
}

/* a 2xx without an error code that is not the document asked for (expect_root) */
static bool answer_wrong(const struct s3_hreq *r)
{
	char tag[64];

	if (!r->expect_root)
		return false;
	snprintf(tag, sizeof(tag), "<%s", r->expect_root);
	return !r->resp || !memmem(r->resp, r->resp_len, tag, strlen(tag));
}

static bool os_unreachable(const struct s3_hreq *r)
{
	return r->os_errno == EHOSTUNREACH || r->os_errno == ENETUNREACH;
}

static bool os_timedout(const struct s3_hreq *r)
{
	return r->os_errno == ETIMEDOUT;
}

/* RequestTimeTooSkewed: by how much, from the error's ServerTime or the Date header */
static void clock_skew(const struct s3_hreq *r, char *buf, size_t len)
{
	int64_t server = r->server_date, local = (int64_t)time(NULL);

	if (r->s3err.server_time[0])
		s3_xml_time(r->s3err.server_time, &server);
	if (server)
		snprintf(buf, len, "is %lld s %s the server's",
			 (long long)(local > server ? local - server : server - local),
			 local > server ? "ahead of" : "behind");
	else
		snprintf(buf, len, "differs too much from the server's");
}

/* ------------------------------------------------------------ the tables */

#define ANY   0, 0
#define ST(s) s, s
#define BUSY                                                                                       \
	{                                                                                          \
		-EAGAIN, YES, S3_XC_NETWORK, WIDE, NULL                                            \
	}
#define HINT_TLS "TLS handshake with {host} failed ({curl}): is it an https endpoint on that port?"
#define HINT_UNTRUSTED                                                                             \
	"TLS: the certificate of {host} is not trusted by the CA bundle {ca} ({curl}): give its CA with --s3-ca-file or AWS_CA_BUNDLE (--s3-insecure-tls skips the check)"
#define HINT_CONNECT "cannot connect to {host} ({curl}): is the server up, and --s3-endpoint right?"
#define HINT_RESOLVE                                                                               \
	"cannot resolve the host of {host} ({curl}): check --s3-endpoint / AWS_ENDPOINT_URL"
#define HINT_NO_UPLOAD "the multipart upload does not exist (aborted, or completed already)"
#define HINT_TOKEN                                                                                 \
	"the session token (AWS_SESSION_TOKEN, from {cred}) is expired or invalid: get fresh credentials"
#define HINT_DENIED_WHY                                                                            \
	"access denied ({message}): the credentials from {cred} lack permission on bucket '{bucket}' (check its policy)"
#define HINT_DENIED                                                                                \
	"access denied: the credentials from {cred} lack permission on bucket '{bucket}' (check its policy)"
#define HINT_REDIRECT                                                                              \
	"bucket '{bucket}' must be addressed at {redirect}: set --s3-region (now '{region}') or --s3-endpoint"
#define HINT_QUOTA   "the bucket's quota is exhausted"
#define HINT_NOTIMPL "{host} does not implement this request"

/* clang-format off */
static const struct curl_row curl_rows[] = {
/*	 curl code                       when             errno          retry    exit class     scope  hint */
	{CURLE_COULDNT_RESOLVE_HOST,     NULL,           {-EHOSTUNREACH,    NO,   S3_XC_NETWORK, WIDE, HINT_RESOLVE}},
	{CURLE_COULDNT_RESOLVE_PROXY,    NULL,           {-EHOSTUNREACH,    NO,   S3_XC_NETWORK, WIDE, HINT_RESOLVE}},
	{CURLE_COULDNT_CONNECT,          os_unreachable, {-EHOSTUNREACH,    NO,   S3_XC_NETWORK, WIDE, HINT_CONNECT}},
	{CURLE_COULDNT_CONNECT,          os_timedout,    {-ETIMEDOUT,       YES,  S3_XC_NETWORK, WIDE, HINT_CONNECT}},
	{CURLE_COULDNT_CONNECT,          NULL,           {-ECONNREFUSED, BRIEFLY, S3_XC_NETWORK, WIDE, HINT_CONNECT}},
	{CURLE_OPERATION_TIMEDOUT,       NULL,           {-ETIMEDOUT,       YES,  S3_XC_NETWORK, WIDE, "{host} timed out ({curl})"}},
	{CURLE_PEER_FAILED_VERIFICATION, NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_UNTRUSTED}},
#if LIBCURL_VERSION_NUM < 0x073e00
	{CURLE_SSL_CACERT,               NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_UNTRUSTED}},
#endif
	{CURLE_SSL_CACERT_BADFILE,       NULL,           {-EINVAL,          NO,   S3_XC_USAGE,   WIDE,
	 "TLS: cannot use the CA bundle {ca} ({curl}): check --s3-ca-file / AWS_CA_BUNDLE"}},
	{CURLE_SSL_CONNECT_ERROR,        NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_TLS}},
	{CURLE_SSL_CERTPROBLEM,          NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_TLS}},
	{CURLE_SSL_CIPHER,               NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_TLS}},
	{CURLE_SSL_ENGINE_NOTFOUND,      NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_TLS}},
	{CURLE_USE_SSL_FAILED,           NULL,           {-EPROTO,          NO,   S3_XC_FAILURE, WIDE, HINT_TLS}},
	{CURLE_UNSUPPORTED_PROTOCOL,     NULL,           {-EPROTONOSUPPORT, NO,   S3_XC_VERSION, WIDE,
	 "{curl}: use an http:// or https:// endpoint"}},
	{CURLE_URL_MALFORMAT,            NULL,           {-EINVAL,          NO,   S3_XC_USAGE,   WIDE, "bad endpoint URL {host} ({curl})"}},
	{CURLE_OUT_OF_MEMORY,            NULL,           {-ENOMEM,          NO,   S3_XC_FAILURE, WIDE, "out of memory"}},
	/* any other: resets, short reads, empty replies, the network */
	{CURLE_OK,                       NULL,           {-ECONNRESET,      YES,  S3_XC_NETWORK, WIDE, "connection to {host} failed ({curl})"}},
};

static const struct http_row http_rows[] = {
/*	 status      code                            when           errno       retry exit class       scope      hint */
	/* a 2xx without an error document: the answer, if it is the one asked for */
	{200, 299,   "",                             answer_wrong, {-EIO,        YES, S3_XC_IO,        WIDE | FRESH,
	 "the answer is not a {root} document"}},
	{200, 299,   "",                             NULL,         {0,           NO,  S3_XC_OK,        ONE, NULL}},
	/* a missing key is fine where asked for, a missing bucket never */
	{ANY,        "NoSuchBucket",                 NULL,         {-ENOENT,     NO,  S3_XC_NOT_FOUND, WIDE,
	 "bucket '{bucket}' does not exist at {host}: create it, or check --repo and --s3-endpoint"}},
	{ST(404),    NULL,                           accept_404,   {0,           NO,  S3_XC_OK,        ONE, NULL}},
	{ST(416),    NULL,                           accept_416,   {0,           NO,  S3_XC_OK,        ONE, NULL}},
	/* RGW answers NoSuchKey (or a bare 404) for an upload id it does not know */
	{ANY,        "NoSuchUpload",                 NULL,         {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, HINT_NO_UPLOAD}},
	{ANY,        "NoSuchKey",                    on_upload,    {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, HINT_NO_UPLOAD}},
	{ST(404),    "",                             on_upload,    {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, HINT_NO_UPLOAD}},
	{ANY,        "NoSuchKey",                    NULL,         {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, "no such object"}},
	{ST(404),    "",                             NULL,         {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, "no such object"}},
	{ANY,        "NoSuchVersion",                NULL,         {-ENOENT,     NO,  S3_XC_NOT_FOUND, ONE, "no such version"}},
	/* credentials and clock */
	{ANY,        "InvalidAccessKeyId",           NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE,
	 "{host} does not know the access key id '{key_id}' (from {cred}): check AWS_ACCESS_KEY_ID or the profile"}},
	{ANY,        "SignatureDoesNotMatch",        NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE,
	 "{host} rejected the request signature: the secret key for access key '{key_id}' (from {cred}) is wrong"}},
	{ANY,        "RequestTimeTooSkewed",         NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE,
	 "this machine's clock {clock_skew}: set it right (NTP, chronyd)"}},
	{ANY,        "ExpiredToken",                 NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE, HINT_TOKEN}},
	{ANY,        "TokenRefreshRequired",         NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE, HINT_TOKEN}},
	{ANY,        "InvalidToken",                 NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE, HINT_TOKEN}},
	/* permission: Object Lock first, a refusal too */
	{ANY,        "AccessDenied",                 object_lock,  {-EACCES,     NO,  S3_XC_ACCESS,    ONE,
	 "protected by Object Lock ({message}): its retention or legal hold must end first"}},
	{ANY,        "AccessDenied",                 has_message,  {-EACCES,     NO,  S3_XC_ACCESS,    ONE, HINT_DENIED_WHY}},
	{ANY,        "AccessDenied",                 NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    ONE, HINT_DENIED}},
	{ANY,        "AllAccessDisabled",            has_message,  {-EACCES,     NO,  S3_XC_ACCESS,    WIDE, HINT_DENIED_WHY}},
	{ANY,        "AllAccessDisabled",            NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    WIDE, HINT_DENIED}},
	/* a HEAD has no body to say why */
	{ST(403),    "",                             NULL,         {-EACCES,     NO,  S3_XC_ACCESS,    ONE,
	 "access denied by {host} (no detail in the answer: check the credentials from {cred}, the bucket policy and the clock)"}},
	/* the bucket is elsewhere */
	{ANY,        "AuthorizationHeaderMalformed", names_region, {-EINVAL,     NO,  S3_XC_USAGE,     WIDE,
	 "bucket '{bucket}' is in region '{err_region}', not '{region}': set --s3-region or AWS_REGION"}},
	{ANY,        "PermanentRedirect",            NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     WIDE, HINT_REDIRECT}},
	{ST(301),    NULL,                           NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     WIDE, HINT_REDIRECT}},
	{ST(307),    NULL,                           NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     WIDE, HINT_REDIRECT}},
	/* busy: back off and retry */
	{ANY,        "SlowDown",                     NULL,         BUSY},
	{ANY,        "InternalError",                NULL,         BUSY},
	{ANY,        "ServiceUnavailable",           NULL,         BUSY},
	{ANY,        "OperationAborted",             NULL,         BUSY},
	{ANY,        "TooManyRequests",              NULL,         BUSY},
	{ST(429),    NULL,                           NULL,         BUSY},
	{ST(500),    NULL,                           NULL,         BUSY},
	{ST(502),    NULL,                           NULL,         BUSY},
	{ST(503),    NULL,                           NULL,         BUSY},
	{ST(504),    NULL,                           NULL,         BUSY},
	/* a 2xx whose body is an <Error> (Complete): try again */
	{200, 299,   NULL,                           NULL,         BUSY},
	{ANY,        "RequestTimeout",               NULL,         {-ETIMEDOUT,  YES, S3_XC_NETWORK,   WIDE, NULL}},
	{ST(408),    NULL,                           NULL,         {-ETIMEDOUT,  YES, S3_XC_NETWORK,   WIDE, NULL}},
	/* the body changed on the way: send it again */
	{ANY,        "BadDigest",                    NULL,         {-EIO,        YES, S3_XC_IO,        ONE, NULL}},
	{ANY,        "EntityTooSmall",               NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     ONE,
	 "a part is smaller than the 5 MiB S3 requires"}},
	{ANY,        "EntityTooLarge",               NULL,         {-EFBIG,      NO,  S3_XC_REFUSED,   ONE, NULL}},
	/* what was sent, not what the user gave, was refused: an I/O error */
	{ANY,        "InvalidPart",                  NULL,         {-EREMOTEIO,  NO,  S3_XC_IO,        ONE, NULL}},
	{ANY,        "InvalidPartOrder",             NULL,         {-EREMOTEIO,  NO,  S3_XC_IO,        ONE, NULL}},
	{ANY,        "InvalidDigest",                NULL,         {-EREMOTEIO,  NO,  S3_XC_IO,        ONE, NULL}},
	{ANY,        "MalformedXML",                 NULL,         {-EREMOTEIO,  NO,  S3_XC_IO,        ONE, NULL}},
	{ANY,        "InvalidArgument",              NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     ONE, NULL}},
	{ANY,        "InvalidBucketName",            NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     WIDE, NULL}},
	{ANY,        "InvalidRequest",               NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     ONE, NULL}},
	{ANY,        "AuthorizationHeaderMalformed", NULL,         {-EINVAL,     NO,  S3_XC_USAGE,     WIDE, NULL}},
	{ANY,        "InvalidRange",                 NULL,         {-ERANGE,     NO,  S3_XC_FAILURE,   ONE, NULL}},
	{ST(416),    NULL,                           NULL,         {-ERANGE,     NO,  S3_XC_FAILURE,   ONE, NULL}},
	{ANY,        "PreconditionFailed",           NULL,         {-EEXIST,     NO,  S3_XC_REFUSED,   ONE, NULL}},
	{ST(412),    NULL,                           NULL,         {-EEXIST,     NO,  S3_XC_REFUSED,   ONE, NULL}},
	{ANY,        "QuotaExceeded",                NULL,         {-ENOSPC,     NO,  S3_XC_NOSPACE,   WIDE, HINT_QUOTA}},
	{ST(507),    NULL,                           NULL,         {-ENOSPC,     NO,  S3_XC_NOSPACE,   WIDE, HINT_QUOTA}},
	{ANY,        "NotImplemented",               NULL,         {-EOPNOTSUPP, NO,  S3_XC_FAILURE,   WIDE, HINT_NOTIMPL}},
	{ST(501),    NULL,                           NULL,         {-EOPNOTSUPP, NO,  S3_XC_FAILURE,   WIDE, HINT_NOTIMPL}},
	{500, 599,   NULL,                           NULL,         BUSY},
	/* anything else */
	{ANY,        NULL,                           NULL,         {-EIO,        NO,  S3_XC_IO,        ONE, NULL}},
};
/* clang-format on */

#define NROWS(t) (sizeof(t) / sizeof((t)[0]))

/* ------------------------------------------------------------ matching */

static bool http_row_matches(const struct http_row *m, const struct s3_hreq *r)
{
	if (m->st_lo && (r->status < m->st_lo || r->status > m->st_hi))
		return false;
	if (m->code && strcmp(m->code, r->s3err.code))
		return false;
	return !m->when || m->when(r);
}

/* the first row that matches (the last one matches everything) */
static const struct outcome *http_outcome(const struct s3_hreq *r)
{
	size_t i;

	for (i = 0; i < NROWS(http_rows) - 1; i++)
		if (http_row_matches(&http_rows[i], r))
			break;
	return &http_rows[i].out;
}

static const struct outcome *curl_outcome(const struct s3_hreq *r, CURLcode cc)
{
	size_t i;

	for (i = 0; i < NROWS(curl_rows) - 1; i++)
		if (curl_rows[i].cc == cc && (!curl_rows[i].when || curl_rows[i].when(r)))
			break;
	return &curl_rows[i].out;
}

int s3_http_code_errno(const char *code)
{
	if (!code || !code[0])
		return -EIO;
	for (size_t i = 0; i < NROWS(http_rows); i++) {
		const struct http_row *m = &http_rows[i];

		if (m->code && !strcmp(m->code, code) && !m->when && !m->st_lo)
			return m->out.err;
	}
	return -EIO;
}

/* ------------------------------------------------------------ the line */

/* The placeholders of hints. */
enum placeholder {
	PH_HOST,       /* the endpoint */
	PH_BUCKET,     /* the bucket */
	PH_KEY_ID,     /* the access key id (never the secret) */
	PH_CRED,       /* where the credentials came from */
	PH_REGION,     /* the region in use */
	PH_CA,	       /* the CA bundle */
	PH_MESSAGE,    /* the answer's <Message> */
	PH_ERR_REGION, /* the answer's <Region>: the bucket's */
	PH_REDIRECT,   /* the answer's <Endpoint> */
	PH_ROOT,       /* the document asked for */
	PH_CURL,       /* curl's error */
	PH_CLOCK_SKEW, /* clock_skew() */
	PH_COUNT,
};

static const char *const ph_names[PH_COUNT] = {
	[PH_HOST] = "host",	    [PH_BUCKET] = "bucket",
	[PH_KEY_ID] = "key_id",	    [PH_CRED] = "cred",
	[PH_REGION] = "region",	    [PH_CA] = "ca",
	[PH_MESSAGE] = "message",   [PH_ERR_REGION] = "err_region",
	[PH_REDIRECT] = "redirect", [PH_ROOT] = "root",
	[PH_CURL] = "curl",	    [PH_CLOCK_SKEW] = "clock_skew",
};

/* the value of placeholder @name (@n bytes), or NULL for an unknown one; @tmp for computed ones */
static const char *placeholder(const struct s3_http_opts *o, const struct s3_hreq *r,
			       const char *ce, const char *name, size_t n, char *tmp, size_t tmplen)
{
	enum placeholder ph;

	for (ph = 0; ph < PH_COUNT; ph++)
		if (strlen(ph_names[ph]) == n && !memcmp(ph_names[ph], name, n))
			break;
	switch (ph) {
	case PH_HOST:
		return o->endpoint ? o->endpoint : "the endpoint";
	case PH_BUCKET:
		return o->bucket ? o->bucket : "";
	case PH_KEY_ID:
		return o->access_key ? o->access_key : "";
	case PH_CRED:
		return o->cred_source ? o->cred_source : "";
	case PH_REGION:
		return o->region ? o->region : "";
	case PH_CA:
		return o->ca_pem_len ? "given" : o->ca_file ? o->ca_file : "(system)";
	case PH_MESSAGE:
		return r->s3err.message;
	case PH_ERR_REGION:
		return r->s3err.region;
	case PH_REDIRECT:
		return r->s3err.endpoint[0] ? r->s3err.endpoint : "another endpoint";
	case PH_ROOT:
		return r->expect_root ? r->expect_root : "";
	case PH_CURL:
		return ce;
	case PH_CLOCK_SKEW:
		clock_skew(r, tmp, tmplen);
		return tmp;
	default:
		return NULL;
	}
}

/* @hint with its {placeholders} filled in, into @buf (cut to fit) */
static void hint_expand(const struct s3_http_opts *o, const struct s3_hreq *r, const char *ce,
			const char *hint, char *buf, size_t len)
{
	size_t at = 0;

	buf[0] = '\0';
	while (*hint && at + 1 < len) {
		const char *open = strchr(hint, '{'), *close = open ? strchr(open, '}') : NULL;
		char tmp[128];
		const char *val = close ? placeholder(o, r, ce, open + 1,
						      (size_t)(close - open - 1), tmp, sizeof(tmp))
					: NULL;
		size_t lit = val ? (size_t)(open - hint) : strlen(hint);
		int n;

		n = snprintf(buf + at, len - at, "%.*s%s", (int)lit, hint, val ? val : "");
		if (n < 0)
			break;
		at += (size_t)n;
		hint = val ? close + 1 : hint + lit;
	}
}

/* Fill in @r's results from outcome @m; the return value of s3_http_map(). */
static bool apply(const struct s3_http_opts *o, struct s3_hreq *r, const struct outcome *m,
		  const char *ce)
{
	size_t at;

	r->err = m->err;
	r->xc = m->xc;
	r->store_wide = m->flags & WIDE;
	if (m->err && !r->msg[0]) {
		/* "<what>: <the line>", cut to fit */
		at = (size_t)snprintf(r->msg, sizeof(r->msg), "%s: ", r->what);
		if (at >= sizeof(r->msg))
			at = sizeof(r->msg) - 1;
		if (m->hint)
			hint_expand(o, r, ce, m->hint, r->msg + at, sizeof(r->msg) - at);
		else
			snprintf(r->msg + at, sizeof(r->msg) - at, "HTTP %ld%s%s%s%.*s", r->status,
				 r->s3err.code[0] ? " " : "", r->s3err.code,
				 r->s3err.message[0] ? ": " : "", (int)(sizeof(r->msg) - at),
				 r->s3err.message);
	}
	if (m->flags & FRESH)
		r->fresh = true;
	return m->retry == YES || (m->retry == BRIEFLY && r->attempts < 3);
}

/* ------------------------------------------------------------ the mapping */

/* The loop stopped the transfer itself (write_cb): what it said is the answer. */
static bool map_abort(struct s3_hreq *r)
{
	r->err = r->abort_err;
	r->store_wide = true;
	switch (r->err) {
	case -EFBIG:
		r->xc = S3_XC_REFUSED;
		snprintf(r->msg, sizeof(r->msg), "%s: the response is larger than expected",
			 r->what);
		break;
	case -ENOMEM:
		r->xc = S3_XC_FAILURE;
		break;
	default:
		r->xc = S3_XC_IO;
		break;
	}
	if (!r->msg[0])
		snprintf(r->msg, sizeof(r->msg), "%s: %s", r->what, strerror(-r->err));
	return false;
}

bool s3_http_map(const struct s3_http_opts *o, struct s3_hreq *r, CURLcode cc)
{
	const char *ce;

	if (r->abort_err >= 0)
		r->msg[0] = '\0'; /* else write_cb() said why */
	if (r->abort_err == 1)
		cc = CURLE_OK; /* stopped early on purpose */
	if (r->wrong_answer) {
		/* headers_ok() said why; the connection was closed */
		r->err = -EIO;
		r->xc = S3_XC_IO;
		r->store_wide = true;
		return true;
	}
	if (cc == CURLE_OK)
		return apply(o, r, http_outcome(r), "");
	if (r->abort_err < 0)
		return map_abort(r);
	ce = r->curl_err[0] ? r->curl_err : curl_easy_strerror(cc);
	return apply(o, r, curl_outcome(r, cc), ce);
}
