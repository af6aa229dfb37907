// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_http_map.c - s3_http_map(), the one mapping of curl, HTTP and
 * S3 results, against a list of cases of its own: the answers the S3
 * documentation describes (Error Responses, the list of error codes) and
 * the ones the Ceph RGW of tests/run was seen to give (s3/README.md's
 * quirks). Each case says what a user must get: the errno, whether the
 * request is tried again, the CLI's exit class, whether every request would
 * meet it (store-wide), and words the line must hold. The list is written
 * here, not derived from the table in http_map.c: a row changed there by
 * mistake fails a case here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "s3/http.h"
#include "t_helpers.h"

enum { F_404 = 1, F_416 = 2, F_UPLOAD = 4, F_WRONG = 8 };

struct map_case {
	const char *name;
	/* the attempt */
	CURLcode cc;
	long status;
	const char *code, *message;
	const char *region;   /* <Region> */
	const char *endpoint; /* <Endpoint> */
	int skew;	      /* <ServerTime> this many seconds before now (0: none) */
	unsigned int flags;   /* F_*: accept_404, accept_416, on_upload, wrong_answer */
	const char *root;     /* expect_root, with resp as the body */
	const char *resp;
	long os_errno;
	unsigned int attempts;
	int abort_err;
	/* what the user gets */
	int err;
	bool retry;
	enum s3_exit_class xc;
	bool wide;
	const char *needle; /* in r.msg (NULL: no line, for a success) */
};

#define OK_CASE .err = 0, .xc = S3_XC_OK

static const struct map_case cases[] = {
	/* ----------------------------------------------------------- successes */
	{"200 OK", .status = 200, OK_CASE},
	{"204 No Content (DELETE)", .status = 204, OK_CASE},
	{"200 with the document asked for", .status = 200, .root = "ListBucketResult",
	 .resp = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"x\"></ListBucketResult>",
	 OK_CASE},
	{"RGW: DELETE of a version that does not exist is 204", .status = 204, OK_CASE},
	{"DELETE of a missing key (accept_404)", .status = 404, .code = "NoSuchKey", .flags = F_404,
	 OK_CASE},
	{"a range past the end (accept_416, RGW InvalidRange)", .status = 416,
	 .code = "InvalidRange", .flags = F_416, OK_CASE},
	{"a ranged GET stopped early on purpose (the whole object answered)",
	 .cc = CURLE_WRITE_ERROR, .status = 200, .abort_err = 1, OK_CASE},

	/* ---------------------------------------------------- answers not asked for */
	{"200 whose body is another document", .status = 200, .root = "ListBucketResult",
	 .resp = "<?xml version=\"1.0\"?><ListAllMyBucketsResult/>", .err = -EIO, .retry = true,
	 .xc = S3_XC_IO, .wide = true, .needle = "is not a ListBucketResult document"},
	{"200 with an empty body where a document was asked for", .status = 200,
	 .root = "InitiateMultipartUploadResult", .err = -EIO, .retry = true, .xc = S3_XC_IO,
	 .wide = true, .needle = "not a InitiateMultipartUploadResult document"},
	{"Complete: 200 whose body is <Error> InternalError (AWS documents it)", .status = 200,
	 .code = "InternalError", .message = "We encountered an internal error.", .err = -EAGAIN,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true, .needle = "HTTP 200 InternalError"},
	{"a 200 with another <Error> code", .status = 200, .code = "SomethingNew", .err = -EAGAIN,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true},
	{"an answer that repeats the last one on its connection (its line is the loop's)",
	 .cc = CURLE_WRITE_ERROR, .status = 200, .flags = F_WRONG, .abort_err = -EIO, .err = -EIO,
	 .retry = true, .xc = S3_XC_IO, .wide = true,
	 .needle = "repeats the one before on its connection"},

	/* ------------------------------------------------------------ not found */
	{"404 NoSuchKey (GET)", .status = 404, .code = "NoSuchKey",
	 .message = "The specified key does not exist.", .err = -ENOENT, .xc = S3_XC_NOT_FOUND,
	 .needle = "no such object"},
	{"HEAD: 404 without a body", .status = 404, .err = -ENOENT, .xc = S3_XC_NOT_FOUND,
	 .needle = "no such object"},
	{"404 NoSuchBucket", .status = 404, .code = "NoSuchBucket", .err = -ENOENT,
	 .xc = S3_XC_NOT_FOUND, .wide = true,
	 .needle = "bucket 'ferry-test' does not exist at http://127.0.0.1:17480: create it"},
	{"RGW: DELETE in a missing bucket is NoSuchBucket, even where 404 is fine", .status = 404,
	 .code = "NoSuchBucket", .flags = F_404, .err = -ENOENT, .xc = S3_XC_NOT_FOUND,
	 .wide = true, .needle = "does not exist"},
	{"404 NoSuchUpload", .status = 404, .code = "NoSuchUpload", .flags = F_UPLOAD,
	 .err = -ENOENT, .xc = S3_XC_NOT_FOUND, .needle = "multipart upload does not exist"},
	{"RGW: ListParts of an unknown upload is 404 NoSuchKey", .status = 404, .code = "NoSuchKey",
	 .flags = F_UPLOAD, .err = -ENOENT, .xc = S3_XC_NOT_FOUND,
	 .needle = "multipart upload does not exist (aborted, or completed already)"},
	{"a 404 without a body for an upload", .status = 404, .flags = F_UPLOAD, .err = -ENOENT,
	 .xc = S3_XC_NOT_FOUND, .needle = "multipart upload does not exist"},
	{"404 NoSuchVersion", .status = 404, .code = "NoSuchVersion", .err = -ENOENT,
	 .xc = S3_XC_NOT_FOUND, .needle = "no such version"},

	/* ------------------------------------------------ credentials and clock */
	{"403 InvalidAccessKeyId", .status = 403, .code = "InvalidAccessKeyId", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .wide = true,
	 .needle = "does not know the access key id 'ferrytestaccesskey' (from the environment)"},
	{"403 SignatureDoesNotMatch", .status = 403, .code = "SignatureDoesNotMatch",
	 .err = -EACCES, .xc = S3_XC_ACCESS, .wide = true,
	 .needle =
		 "the secret key for access key 'ferrytestaccesskey' (from the environment) is wrong"},
	{"403 RequestTimeTooSkewed, ServerTime 15 min behind", .status = 403,
	 .code = "RequestTimeTooSkewed", .skew = 900, .err = -EACCES, .xc = S3_XC_ACCESS,
	 .wide = true, .needle = "s ahead of the server's: set it right"},
	{"403 RequestTimeTooSkewed without a time", .status = 403, .code = "RequestTimeTooSkewed",
	 .err = -EACCES, .xc = S3_XC_ACCESS, .wide = true,
	 .needle = "clock differs too much from the server's"},
	{"400 ExpiredToken", .status = 400, .code = "ExpiredToken", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .wide = true, .needle = "session token (AWS_SESSION_TOKEN"},
	{"400 InvalidToken", .status = 400, .code = "InvalidToken", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .wide = true, .needle = "get fresh credentials"},

	/* ------------------------------------------------------------ permission */
	{"RGW: a locked version: 403 AccessDenied 'forbidden by object lock'", .status = 403,
	 .code = "AccessDenied", .message = "forbidden by object lock", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .needle = "protected by Object Lock (forbidden by object lock)"},
	{"AWS: a locked version", .status = 403, .code = "AccessDenied",
	 .message = "Access Denied because object protected by object lock.", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .needle = "protected by Object Lock"},
	{"AWS: 403 AccessDenied 'Access Denied'", .status = 403, .code = "AccessDenied",
	 .message = "Access Denied", .err = -EACCES, .xc = S3_XC_ACCESS,
	 .needle =
		 "access denied (Access Denied): the credentials from the environment lack permission on bucket 'ferry-test'"},
	{"RGW: 403 AccessDenied with an empty <Message>", .status = 403, .code = "AccessDenied",
	 .err = -EACCES, .xc = S3_XC_ACCESS,
	 .needle = "access denied: the credentials from the environment lack permission"},
	{"HEAD: 403 without a body", .status = 403, .err = -EACCES, .xc = S3_XC_ACCESS,
	 .needle = "no detail in the answer"},
	{"403 AllAccessDisabled", .status = 403, .code = "AllAccessDisabled", .err = -EACCES,
	 .xc = S3_XC_ACCESS, .wide = true, .needle = "access denied"},

	/* ------------------------------------------------ the bucket is elsewhere */
	{"400 AuthorizationHeaderMalformed naming the region", .status = 400,
	 .code = "AuthorizationHeaderMalformed", .region = "eu-west-1", .err = -EINVAL,
	 .xc = S3_XC_USAGE, .wide = true,
	 .needle =
		 "bucket 'ferry-test' is in region 'eu-west-1', not 'us-east-1': set --s3-region"},
	{"400 AuthorizationHeaderMalformed without a region", .status = 400,
	 .code = "AuthorizationHeaderMalformed", .message = "The header is malformed",
	 .err = -EINVAL, .xc = S3_XC_USAGE, .wide = true,
	 .needle = "HTTP 400 AuthorizationHeaderMalformed: The header is malformed"},
	{"301 PermanentRedirect with its endpoint", .status = 301, .code = "PermanentRedirect",
	 .endpoint = "ferry-test.s3.eu-west-1.amazonaws.com", .err = -EINVAL, .xc = S3_XC_USAGE,
	 .wide = true, .needle = "must be addressed at ferry-test.s3.eu-west-1.amazonaws.com"},
	{"307 without a body", .status = 307, .err = -EINVAL, .xc = S3_XC_USAGE, .wide = true,
	 .needle = "must be addressed at another endpoint"},

	/* ------------------------------------------------------ busy: retried */
	{"503 SlowDown", .status = 503, .code = "SlowDown",
	 .message = "Please reduce your request rate.", .err = -EAGAIN, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true,
	 .needle = "HTTP 503 SlowDown: Please reduce your request rate."},
	{"500 InternalError", .status = 500, .code = "InternalError", .err = -EAGAIN, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true},
	{"503 ServiceUnavailable", .status = 503, .code = "ServiceUnavailable", .err = -EAGAIN,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true},
	{"503 without a body", .status = 503, .err = -EAGAIN, .retry = true, .xc = S3_XC_NETWORK,
	 .wide = true, .needle = "HTTP 503"},
	{"502 from a proxy", .status = 502, .err = -EAGAIN, .retry = true, .xc = S3_XC_NETWORK,
	 .wide = true},
	{"429 Too Many Requests", .status = 429, .err = -EAGAIN, .retry = true, .xc = S3_XC_NETWORK,
	 .wide = true},
	{"409 OperationAborted", .status = 409, .code = "OperationAborted", .err = -EAGAIN,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true},
	{"a 5xx nobody documents", .status = 599, .err = -EAGAIN, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true},
	{"400 RequestTimeout", .status = 400, .code = "RequestTimeout", .err = -ETIMEDOUT,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true},
	{"408 without a body", .status = 408, .err = -ETIMEDOUT, .retry = true, .xc = S3_XC_NETWORK,
	 .wide = true},
	{"400 BadDigest: the body changed on the way", .status = 400, .code = "BadDigest",
	 .err = -EIO, .retry = true, .xc = S3_XC_IO},

	/* ---------------------------------------------- refused: not retried */
	{"400 EntityTooSmall", .status = 400, .code = "EntityTooSmall", .err = -EINVAL,
	 .xc = S3_XC_USAGE, .needle = "a part is smaller than the 5 MiB S3 requires"},
	{"400 EntityTooLarge", .status = 400, .code = "EntityTooLarge", .err = -EFBIG,
	 .xc = S3_XC_REFUSED, .needle = "HTTP 400 EntityTooLarge"},
	{"RGW: 400 InvalidPart (a completion leaving out listed parts)", .status = 400,
	 .code = "InvalidPart", .flags = F_UPLOAD, .err = -EREMOTEIO, .xc = S3_XC_IO},
	{"400 InvalidPartOrder", .status = 400, .code = "InvalidPartOrder", .err = -EREMOTEIO,
	 .xc = S3_XC_IO},
	{"400 InvalidDigest", .status = 400, .code = "InvalidDigest", .err = -EREMOTEIO,
	 .xc = S3_XC_IO},
	{"400 MalformedXML", .status = 400, .code = "MalformedXML", .err = -EREMOTEIO,
	 .xc = S3_XC_IO},
	{"400 InvalidArgument", .status = 400, .code = "InvalidArgument",
	 .message = "Invalid version id specified", .err = -EINVAL, .xc = S3_XC_USAGE,
	 .needle = "Invalid version id specified"},
	{"400 InvalidBucketName", .status = 400, .code = "InvalidBucketName", .err = -EINVAL,
	 .xc = S3_XC_USAGE, .wide = true},
	{"400 InvalidRequest", .status = 400, .code = "InvalidRequest", .err = -EINVAL,
	 .xc = S3_XC_USAGE},
	{"416 InvalidRange where a range must fit", .status = 416, .code = "InvalidRange",
	 .err = -ERANGE, .xc = S3_XC_FAILURE},
	{"412 PreconditionFailed", .status = 412, .code = "PreconditionFailed", .err = -EEXIST,
	 .xc = S3_XC_REFUSED},
	{"RGW: 403 QuotaExceeded", .status = 403, .code = "QuotaExceeded", .err = -ENOSPC,
	 .xc = S3_XC_NOSPACE, .wide = true, .needle = "the bucket's quota is exhausted"},
	{"501 NotImplemented", .status = 501, .code = "NotImplemented", .err = -EOPNOTSUPP,
	 .xc = S3_XC_FAILURE, .wide = true,
	 .needle = "http://127.0.0.1:17480 does not implement this request"},
	{"501 without a body", .status = 501, .err = -EOPNOTSUPP, .xc = S3_XC_FAILURE,
	 .wide = true},
	{"409 BucketNotEmpty: anything else is an I/O error with the server's words", .status = 409,
	 .code = "BucketNotEmpty", .message = "The bucket you tried to delete is not empty",
	 .err = -EIO, .xc = S3_XC_IO,
	 .needle = "HTTP 409 BucketNotEmpty: The bucket you tried to delete is not empty"},
	{"418 without a body", .status = 418, .err = -EIO, .xc = S3_XC_IO, .needle = "HTTP 418"},

	/* ------------------------------------------------------- no answer */
	{"cannot resolve the host", .cc = CURLE_COULDNT_RESOLVE_HOST, .err = -EHOSTUNREACH,
	 .xc = S3_XC_NETWORK, .wide = true,
	 .needle = "cannot resolve the host of http://127.0.0.1:17480"},
	{"connection refused, first attempt: retried (a server restarting)",
	 .cc = CURLE_COULDNT_CONNECT, .os_errno = ECONNREFUSED, .attempts = 1, .err = -ECONNREFUSED,
	 .retry = true, .xc = S3_XC_NETWORK, .wide = true,
	 .needle = "is the server up, and --s3-endpoint right?"},
	{"connection refused, third attempt: given up", .cc = CURLE_COULDNT_CONNECT,
	 .os_errno = ECONNREFUSED, .attempts = 3, .err = -ECONNREFUSED, .xc = S3_XC_NETWORK,
	 .wide = true},
	{"connect timed out", .cc = CURLE_COULDNT_CONNECT, .os_errno = ETIMEDOUT, .attempts = 5,
	 .err = -ETIMEDOUT, .retry = true, .xc = S3_XC_NETWORK, .wide = true},
	{"no route", .cc = CURLE_COULDNT_CONNECT, .os_errno = ENETUNREACH, .attempts = 1,
	 .err = -EHOSTUNREACH, .xc = S3_XC_NETWORK, .wide = true},
	{"timed out", .cc = CURLE_OPERATION_TIMEDOUT, .err = -ETIMEDOUT, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true, .needle = "timed out"},
	{"an untrusted certificate", .cc = CURLE_PEER_FAILED_VERIFICATION, .err = -EPROTO,
	 .xc = S3_XC_FAILURE, .wide = true,
	 .needle =
		 "is not trusted by the CA bundle /etc/ferry/ca.pem (SSL peer certificate or SSH remote key was not OK): give its CA with --s3-ca-file"},
	{"an unreadable CA bundle", .cc = CURLE_SSL_CACERT_BADFILE, .err = -EINVAL,
	 .xc = S3_XC_USAGE, .wide = true, .needle = "cannot use the CA bundle /etc/ferry/ca.pem"},
	{"https to a plain http port", .cc = CURLE_SSL_CONNECT_ERROR, .err = -EPROTO,
	 .xc = S3_XC_FAILURE, .wide = true, .needle = "is it an https endpoint on that port?"},
	{"a scheme curl does not speak", .cc = CURLE_UNSUPPORTED_PROTOCOL, .err = -EPROTONOSUPPORT,
	 .xc = S3_XC_VERSION, .wide = true, .needle = "use an http:// or https:// endpoint"},
	{"a reset mid-answer", .cc = CURLE_RECV_ERROR, .err = -ECONNRESET, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true,
	 .needle = "connection to http://127.0.0.1:17480 failed"},
	{"an empty reply", .cc = CURLE_GOT_NOTHING, .err = -ECONNRESET, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true},
	{"a cut answer", .cc = CURLE_PARTIAL_FILE, .err = -ECONNRESET, .retry = true,
	 .xc = S3_XC_NETWORK, .wide = true},
	{"a body larger than the caller's cap", .cc = CURLE_WRITE_ERROR, .status = 200,
	 .abort_err = -EFBIG, .err = -EFBIG, .xc = S3_XC_REFUSED, .wide = true,
	 .needle = "the response is larger than expected"},
};

static const struct s3_http_opts opts = {
	.bucket = "ferry-test",
	.endpoint = "http://127.0.0.1:17480",
	.access_key = "ferrytestaccesskey",
	.cred_source = "the environment",
	.region = "us-east-1",
	.ca_file = "/etc/ferry/ca.pem",
};

static void set_text(char *dst, size_t cap, const char *s)
{
	snprintf(dst, cap, "%s", s ? s : "");
}

static void run_case(const struct map_case *c)
{
	struct s3_hreq r;
	bool retry;

	memset(&r, 0, sizeof(r));
	snprintf(r.what, sizeof(r.what), "GET s3://ferry-test/config");
	r.status = c->status;
	set_text(r.s3err.code, sizeof(r.s3err.code), c->code);
	set_text(r.s3err.message, sizeof(r.s3err.message), c->message);
	set_text(r.s3err.region, sizeof(r.s3err.region), c->region);
	set_text(r.s3err.endpoint, sizeof(r.s3err.endpoint), c->endpoint);
	if (c->skew) {
		time_t t = time(NULL) - c->skew;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(r.s3err.server_time, sizeof(r.s3err.server_time), "%Y-%m-%dT%H:%M:%SZ",
			 &tm);
	}
	r.accept_404 = c->flags & F_404;
	r.accept_416 = c->flags & F_416;
	r.on_upload = c->flags & F_UPLOAD;
	r.wrong_answer = c->flags & F_WRONG;
	if (r.wrong_answer)
		snprintf(r.msg, sizeof(r.msg),
			 "%s: the answer (request id tx1) repeats the one before on its connection",
			 r.what);
	r.expect_root = c->root;
	r.resp = (char *)c->resp;
	r.resp_len = c->resp ? strlen(c->resp) : 0;
	r.os_errno = c->os_errno;
	r.attempts = c->attempts ? c->attempts : 1;
	r.abort_err = c->abort_err;

	retry = s3_http_map(&opts, &r, c->cc);
	if (r.err != c->err || retry != c->retry || r.xc != c->xc || r.store_wide != c->wide)
		t_fail("%s: errno %d retry %d class %d store-wide %d, expected %d %d %d %d (%s)",
		       c->name, r.err, retry, r.xc, r.store_wide, c->err, c->retry, c->xc, c->wide,
		       r.msg);
	if (c->err && strncmp(r.msg, "GET s3://ferry-test/config: ", 28))
		t_fail("%s: the line does not start with what was done: '%s'", c->name, r.msg);
	if (c->needle && !strstr(r.msg, c->needle))
		t_fail("%s: '%s' does not say '%s'", c->name, r.msg, c->needle);
	if (!c->err && r.msg[0])
		t_fail("%s: a success with a line: '%s'", c->name, r.msg);
	if (c->skew) {
		long s = strtol(strstr(r.msg, "clock is ") + 9, NULL, 10);

		T_ASSERT(s >= c->skew - 2 && s <= c->skew + 2, "%s: %ld s", c->name, s);
	}
	if ((c->flags & F_WRONG) == 0 && c->root && c->err)
		T_ASSERT(r.fresh, "%s: sent again on a new connection", c->name);
}

/* DeleteObjects: an item's <Code> alone */
static void code_errno(void)
{
	static const struct {
		const char *code;
		int err;
	} codes[] = {
		{"NoSuchKey", -ENOENT},
		{"NoSuchVersion", -ENOENT},
		{"AccessDenied", -EACCES},
		{"SlowDown", -EAGAIN},
		{"InternalError", -EAGAIN},
		{"InvalidArgument", -EINVAL},
		{"AuthorizationHeaderMalformed", -EINVAL},
		{"NotImplemented", -EOPNOTSUPP},
		{"QuotaExceeded", -ENOSPC},
		{"SomethingNew", -EIO},
		{"", -EIO},
	};

	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
		T_ASSERT(s3_http_code_errno(codes[i].code) == codes[i].err, "%s: %d, not %d",
			 codes[i].code, s3_http_code_errno(codes[i].code), codes[i].err);
	T_ASSERT_EQ(s3_http_code_errno(NULL), -EIO);
}

int main(void)
{
	size_t n = sizeof(cases) / sizeof(cases[0]);

	for (size_t i = 0; i < n; i++)
		run_case(&cases[i]);
	printf("ok: %zu answers mapped as documented and as the RGW gives them\n", n);
	code_errno();
	printf("ok: the codes of DeleteObjects' items\n");
	printf("PASS: t_http_map\n");
	return 0;
}
