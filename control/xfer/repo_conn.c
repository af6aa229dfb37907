// SPDX-License-Identifier: MIT
/*
 * control/xfer/repo_conn.c - how a repository is reached from a cluster: a
 * Repository's (or a VolumeTransfer's spec.repository) URL, endpoint,
 * region, CA bundle and Secrets in ferry-system, read into a struct
 * xfer_repo_ref, copied into a transfer, and opened as a store with the
 * credentials of its Secret. The controller (control/cluster/repo_open.c)
 * and the agent (control/agent/transfers.c) open repositories through it,
 * so neither uses its process's own S3 credentials when a Repository names
 * a Secret.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "s3/store.h"
#include "xfer.h"

const struct k8s_resource xfer_repositories =
	K8S_RESOURCE("ferry.io", "v1alpha1", "repositories", "Repository", true);

#define KEY_PASSWORD   "password"
#define KEY_ACCESS_KEY "AWS_ACCESS_KEY_ID"
#define KEY_SECRET_KEY "AWS_SECRET_ACCESS_KEY"

static int refuse(char *msg, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int refuse(char *msg, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, len, fmt, ap);
	va_end(ap);
	return 1;
}

void xfer_repo_ref_of_repository(const struct k8s_obj *repository, struct xfer_repo_ref *r)
{
	memset(r, 0, sizeof(*r));
	r->name = k8s_obj_get_name(repository);
	r->url = k8s_obj_str(repository, "/spec/url");
	r->endpoint = k8s_obj_str(repository, "/spec/endpoint");
	r->region = k8s_obj_str(repository, "/spec/region");
	r->ca_bundle = k8s_obj_str(repository, "/spec/caBundle");
	r->password_secret = k8s_obj_str(repository, "/spec/passwordSecret/name");
	r->password_key = k8s_obj_str(repository, "/spec/passwordSecret/key");
	r->creds_secret = k8s_obj_str(repository, "/spec/credentialsSecret/name");
	r->access_key_key = k8s_obj_str(repository, "/spec/credentialsSecret/accessKeyIdKey");
	r->secret_key_key = k8s_obj_str(repository, "/spec/credentialsSecret/secretAccessKeyKey");
}

void xfer_repo_ref_at(const struct k8s_obj *vt, const char *base, struct xfer_repo_ref *r)
{
	const struct k8s_obj *o = k8s_obj_at(vt, base);

	memset(r, 0, sizeof(*r));
	r->name = k8s_obj_str(o, "/name");
	r->url = k8s_obj_str(o, "/url");
	r->endpoint = k8s_obj_str(o, "/endpoint");
	r->region = k8s_obj_str(o, "/region");
	r->ca_bundle = k8s_obj_str(o, "/caBundle");
	r->password_secret = k8s_obj_str(o, "/passwordSecretRef/name");
	r->password_key = k8s_obj_str(o, "/passwordSecretRef/key");
	r->creds_secret = k8s_obj_str(o, "/credentialsSecretRef/name");
	r->access_key_key = k8s_obj_str(o, "/credentialsSecretRef/accessKeyIdKey");
	r->secret_key_key = k8s_obj_str(o, "/credentialsSecretRef/secretAccessKeyKey");
}

void xfer_repo_ref_of_transfer(const struct k8s_obj *vt, struct xfer_repo_ref *r)
{
	xfer_repo_ref_at(vt, "/spec/repository", r);
}

int xfer_repo_ref_set(struct k8s_obj *vt, const struct xfer_repo_ref *r)
{
	static const char base[] = "/spec/repository";
	const struct {
		const char *path, *value;
	} f[] = {
		{"/name", r->name},
		{"/url", r->url},
		{"/endpoint", r->endpoint},
		{"/region", r->region},
		{"/caBundle", r->ca_bundle},
		{"/passwordSecretRef/name", r->password_secret},
		{"/passwordSecretRef/key", r->password_secret ? r->password_key : NULL},
		{"/credentialsSecretRef/name", r->creds_secret},
		{"/credentialsSecretRef/accessKeyIdKey",
		 r->creds_secret ? r->access_key_key : NULL},
		{"/credentialsSecretRef/secretAccessKeyKey",
		 r->creds_secret ? r->secret_key_key : NULL},
	};
	char path[96];
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(f) / sizeof(f[0]); i++) {
		if (!f[i].value || !f[i].value[0])
			continue;
		snprintf(path, sizeof(path), "%s%s", base, f[i].path);
		ret = k8s_obj_set_str(vt, path, f[i].value);
	}
	return ret;
}

/*
 * @key of the Secret @name in ferry-system, without one trailing newline.
 * Return: 0; 1 refused (no Secret, no key: @msg says so); -errno of the API
 * server (@err).
 */
static int secret_value(struct k8s_client *c, const char *what, const char *name, const char *key,
			char **out, size_t *len, char *msg, size_t mlen, struct k8s_err *err)
{
	struct k8s_obj *sec = NULL;
	int ret;

	*out = NULL;
	*len = 0;
	ret = k8s_get(c, &k8s_secrets, XFER_NS, name, NULL, &sec, err);
	if (ret == -ENOENT)
		return refuse(msg, mlen, "the %s Secret %s/%.200s does not exist", what, XFER_NS,
			      name);
	if (ret)
		return ret;
	ret = k8s_secret_get(sec, key, out, len);
	k8s_obj_free(sec);
	if (ret == -ENOMEM)
		return ret;
	if (ret)
		return refuse(msg, mlen, "the %s Secret %s/%.100s has no key %.100s", what, XFER_NS,
			      name, key);
	if (*len && (*out)[*len - 1] == '\n')
		(*out)[--*len] = '\0';
	return 0;
}

int xfer_repo_password(struct k8s_client *c, const struct xfer_repo_ref *r, char **pw, size_t *len,
		       char *msg, size_t mlen, struct k8s_err *err)
{
	*pw = NULL;
	*len = 0;
	if (!r->password_secret || !r->password_secret[0])
		return 0;
	return secret_value(c, "password", r->password_secret,
			    r->password_key && r->password_key[0] ? r->password_key : KEY_PASSWORD,
			    pw, len, msg, mlen, err);
}

int xfer_repo_store_open(struct k8s_client *c, const struct xfer_repo_ref *r, struct s3_store **out,
			 char *msg, size_t mlen, struct k8s_err *err)
{
	struct s3_store_opts so = {.sz = sizeof(so)};
	char *ak = NULL, *sk = NULL, *ca = NULL;
	size_t akn = 0, skn = 0, can = 0;
	int ret = 0;

	*out = NULL;
	msg[0] = '\0';
	if (!r->url || !r->url[0])
		return refuse(msg, mlen, "the repository has no URL");
	so.endpoint = r->endpoint && r->endpoint[0] ? r->endpoint : NULL;
	so.region = r->region && r->region[0] ? r->region : NULL;
	so.limit_upload = r->limit_upload;
	so.limit_download = r->limit_download;
	if (r->ca_bundle && r->ca_bundle[0]) {
		ret = k8s_base64_decode(r->ca_bundle, &ca, &can);
		if (ret == -ENOMEM)
			goto out;
		if (ret || !can) {
			ret = refuse(msg, mlen, "caBundle is not base64 of PEM certificates");
			goto out;
		}
		so.ca_pem = ca;
		so.ca_pem_len = can;
	}
	if (r->creds_secret && r->creds_secret[0]) {
		ret = secret_value(c, "credentials", r->creds_secret,
				   r->access_key_key && r->access_key_key[0] ? r->access_key_key
									     : KEY_ACCESS_KEY,
				   &ak, &akn, msg, mlen, err);
		if (!ret)
			ret = secret_value(c, "credentials", r->creds_secret,
					   r->secret_key_key && r->secret_key_key[0]
						   ? r->secret_key_key
						   : KEY_SECRET_KEY,
					   &sk, &skn, msg, mlen, err);
		if (ret)
			goto out;
		so.access_key_id = ak;
		so.secret_access_key = sk;
	}
	ret = s3_store_open(r->url, &so, out);
	if (ret == -ENOMEM)
		goto out;
	if (ret)
		ret = refuse(msg, mlen, "%.200s: %.300s", r->url, s3_last_error());
out:
	k8s_secret_free(ak, akn);
	k8s_secret_free(sk, skn);
	free(ca);
	if (ret == -ENOMEM)
		snprintf(msg, mlen, "opening %.200s: out of memory", r->url ? r->url : "");
	return ret;
}
