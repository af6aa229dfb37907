// SPDX-License-Identifier: MIT
/*
 * s3/store_s3.c - the s3:// backend: its vtable, and opening a store (the
 * bucket and prefix of the URL; region, endpoint, TLS and SSE settings from
 * the options, the environment and the profile, as aws-cli reads them;
 * credentials from creds.c; a loop from http.c).
 *
 * The calls themselves are the other s3:// files' (s3s.h): objects.c,
 * delete_objects.c, listing.c, multipart.c, versions.c; each request is an
 * op (s3_op.h), signed by sigv4.c, run on the loop of http.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "endpoint.h"
#include "s3_op.h"
#include "s3s.h"

/* ------------------------------------------------------------ the store */

static void s3s_free(struct s3_store *st)
{
	struct s3s *s = s3s_of(st);

	if (!s)
		return;
	s3_http_free(s->http);
	s3_creds_fini(&s->creds);
	free(s->bucket);
	free(s->prefix);
	free(s->region);
	free(s->endpoint);
	s3_endpoint_fini(&s->ep);
	free(s->storage_class);
	free(s->sse);
	free(s->sse_kms_key_id);
	free(s->ca_file);
	free(s->ca_pem);
	free(s);
	st->priv = NULL;
}

static const struct s3_backend_ops s3_ops = {
	.free = s3s_free,
	.mkroot = s3s_mkroot,
	.put = s3s_put,
	.get = s3s_get,
	.get_range = s3s_get_range,
	.get_tail = s3s_get_tail,
	.get_range_async = s3s_get_range_async,
	.head = s3s_head,
	.list = s3s_list,
	.del = s3s_del,
	.delete_objects = s3s_delete_objects,
	.upload_new = s3s_upload_new,
	.upload_part = s3s_upload_part,
	.upload_complete = s3s_upload_complete,
	.upload_abort = s3s_upload_abort,
	.upload_id = s3s_upload_id,
	.upload_resume = s3s_upload_resume,
	.upload_list_parts = s3s_upload_list_parts,
	.upload_part_etag = s3s_upload_part_etag,
	.upload_set_nparts = s3s_upload_set_nparts,
	.upload_detach = s3s_upload_detach,
	.list_uploads = s3s_list_uploads,
	.abort_upload = s3s_abort_upload,
	.versioning = s3s_versioning,
	.list_versions = s3s_list_versions,
	.delete_version = s3s_delete_version,
	.head_version = s3s_head_version,
#ifdef FERRY_UNIT_TESTS
	.test_part_state = s3s_upload_test_part_state,
#endif
};

static const char *envv(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

static char *dup_or_null(const char *s)
{
	return s && s[0] ? strdup(s) : NULL;
}

/* The settings sent as header values fit one (op_hdr() refuses, never cuts, a longer one). */
static int check_header_values(const struct s3s *s)
{
	const struct {
		const char *value, *what;
	} v[] = {
		{s->storage_class, "the storage class (--s3-storage-class)"},
		{s->sse, "the server-side encryption (--s3-sse)"},
		{s->sse_kms_key_id, "the SSE KMS key id"},
	};

	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (v[i].value && strlen(v[i].value) >= OP_HDR_LEN)
			return s3_fail(-EINVAL, "%s is longer than %d bytes", v[i].what,
				       OP_HDR_LEN - 1);
	return 0;
}

/* the credentials of s3_store_opts: both halves, or -EINVAL */
static int given_creds(const struct s3_store_opts *o, struct s3_creds *c, char *detail, size_t len)
{
	memset(c, 0, sizeof(*c));
	if (!o->access_key_id || !o->access_key_id[0] || !o->secret_access_key ||
	    !o->secret_access_key[0]) {
		snprintf(detail, len, "the credentials given have %s but no %s",
			 o->access_key_id && o->access_key_id[0] ? "an access key id"
								 : "a secret access key",
			 o->access_key_id && o->access_key_id[0] ? "secret access key"
								 : "access key id");
		return -EINVAL;
	}
	c->access_key = strdup(o->access_key_id);
	c->secret_key = strdup(o->secret_access_key);
	c->token = o->session_token && o->session_token[0] ? strdup(o->session_token) : NULL;
	snprintf(c->source, sizeof(c->source), "the credentials given");
	if (!c->access_key || !c->secret_key ||
	    (o->session_token && o->session_token[0] && !c->token)) {
		s3_creds_fini(c);
		snprintf(detail, len, "the credentials given: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int s3s_open_bucket(struct s3_store *st, const char *bucket, const char *prefix,
			   const struct s3_store_opts *opts)
{
	struct s3_store_opts o = {0};
	struct s3_http_opts ho = {0};
	struct s3s *s;
	char detail[320], *ep = NULL, *profile_region = NULL, *profile_ep = NULL;
	const char *pl;
	size_t plen;
	int ret = -ENOMEM;

	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	st->priv = s;
	st->ops = &s3_ops;
	s->bucket = strdup(bucket);
	/* the prefix: no leading or doubled slashes, one trailing */
	while (*prefix == '/')
		prefix++;
	plen = strlen(prefix);
	while (plen && prefix[plen - 1] == '/')
		plen--;
	if (plen && asprintf(&s->prefix, "%.*s/", (int)plen, prefix) < 0)
		s->prefix = NULL;
	else if (!plen)
		s->prefix = strdup("");
	if (!s->bucket || !s->prefix)
		goto out_free;
	if (strstr(s->prefix, "//")) {
		ret = s3_fail(-EINVAL, "s3://%s/%s: empty path component in the prefix", bucket,
			      prefix);
		goto out_free;
	}

	/* region: opts, AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1 */
	if (o.region && o.region[0])
		s->region = strdup(o.region);
	else if (envv("AWS_REGION"))
		s->region = strdup(envv("AWS_REGION"));
	else if (envv("AWS_DEFAULT_REGION"))
		s->region = strdup(envv("AWS_DEFAULT_REGION"));
	else if ((profile_region = s3_profile_get("region")))
		s->region = strdup(profile_region);
	else
		s->region = strdup("us-east-1");
	if (!s->region)
		goto out_free;

	/* endpoint: opts, AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, the profile, AWS */
	if (o.endpoint && o.endpoint[0])
		ep = strdup(o.endpoint);
	else if (envv("AWS_ENDPOINT_URL_S3"))
		ep = strdup(envv("AWS_ENDPOINT_URL_S3"));
	else if (envv("AWS_ENDPOINT_URL"))
		ep = strdup(envv("AWS_ENDPOINT_URL"));
	else if ((profile_ep = s3_profile_get("endpoint_url")))
		ep = strdup(profile_ep);
	else if (asprintf(&ep, "https://s3.%s.amazonaws.com", s->region) < 0)
		ep = NULL;
	if (!ep)
		goto out_free;
	s->endpoint = ep;
	ret = s3_endpoint_parse(ep, s->bucket, o.path_style, &s->ep, detail, sizeof(detail));
	if (ret) {
		if (detail[0])
			s3_fail(ret, "%s", detail);
		goto out_free;
	}

	s->storage_class = dup_or_null(o.storage_class);
	s->sse = dup_or_null(o.sse);
	s->sse_kms_key_id = dup_or_null(o.sse_kms_key_id);
	s->ca_file = dup_or_null(o.ca_file ? o.ca_file : envv("AWS_CA_BUNDLE"));
	if ((o.storage_class && o.storage_class[0] && !s->storage_class) ||
	    (o.sse && o.sse[0] && !s->sse) ||
	    (o.sse_kms_key_id && o.sse_kms_key_id[0] && !s->sse_kms_key_id)) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = check_header_values(s);
	if (ret)
		goto out_free;
	if (s->sse_kms_key_id && (!s->sse || strcmp(s->sse, "aws:kms"))) {
		ret = s3_fail(-EINVAL, "an SSE KMS key id needs --s3-sse aws:kms");
		goto out_free;
	}
	pl = envv("FERRY_S3_PAYLOAD");
	s->sign_payload = !s->ep.https || (pl && !strcmp(pl, "signed"));

	if (o.ca_pem_len) {
		s->ca_pem = malloc(o.ca_pem_len);
		if (!s->ca_pem) {
			ret = -ENOMEM;
			goto out_free;
		}
		memcpy(s->ca_pem, o.ca_pem, o.ca_pem_len);
		s->ca_pem_len = o.ca_pem_len;
	}
	if (o.access_key_id || o.secret_access_key)
		ret = given_creds(&o, &s->creds, detail, sizeof(detail));
	else
		ret = s3_creds_load(NULL, &s->creds, detail, sizeof(detail));
	if (ret) {
		s3_fail(ret == -ENOKEY ? -EACCES : ret, "%s", detail);
		ret = ret == -ENOKEY ? -EACCES : ret;
		goto out_free;
	}

	ho.concurrency = o.concurrency ? o.concurrency : 8;
	ho.ca_file = s->ca_file;
	ho.ca_pem = s->ca_pem;
	ho.ca_pem_len = s->ca_pem_len;
	ho.insecure_tls = o.insecure_tls;
	ho.limit_up = o.limit_upload;
	ho.limit_down = o.limit_download;
	ho.timeout_ms = o.timeout_ms ? o.timeout_ms : 600000;
	ho.bucket = s->bucket;
	ho.endpoint = s->endpoint;
	ho.access_key = s->creds.access_key;
	ho.cred_source = s->creds.source;
	ho.region = s->region;
	ret = s3_http_new(&ho, &s->http);
	if (ret) {
		s3_fail(ret, "cannot start the S3 client: %s", strerror(-ret));
		goto out_free;
	}
	pr_debug("s3: s3://%s/%s at %s (%s style, region %s, %s payload, credentials from %s)",
		 s->bucket, s->prefix, s->endpoint, s->ep.path_style ? "path" : "virtual-host",
		 s->region, s->sign_payload ? "signed" : "unsigned", s->creds.source);
	ret = 0;
	goto out;
out_free:
	s3s_free(st);
	st->ops = NULL;
out:
	free(profile_region);
	free(profile_ep);
	return ret;
}

/* @rest: "bucket[/prefix]", what follows "s3://" */
static int s3s_open(struct s3_store *st, const char *rest, const struct s3_store_opts *opts)
{
	const char *slash = strchr(rest, '/');
	size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
	char *bucket;
	int ret;

	/* S3 bucket names: 3-63 characters */
	if (blen < 3 || blen > 63)
		return s3_fail(-EINVAL, "%s: bucket name must have 3 to 63 characters", st->url);
	bucket = strndup(rest, blen);
	if (!bucket)
		return -ENOMEM;
	ret = s3s_open_bucket(st, bucket, slash ? slash + 1 : "", opts);
	free(bucket);
	return ret;
}

const struct s3_backend s3_backend_s3 = {
	.scheme = "s3://",
	.open = s3s_open,
};
