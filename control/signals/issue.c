// SPDX-License-Identifier: MIT
/*
 * control/signals/issue.c - the controller makes sure of the agents' two
 * Secrets (signals.h sig_tls_ensure(); README.md "Issuing the
 * certificate"): SIG_CA_SECRET, the CA only the controller reads, and
 * SIG_TLS_SECRET, the agents' server certificate the DaemonSet mounts.
 *
 * Each is read first; one that is missing is created (a 409 AlreadyExists
 * means another controller won the race: its Secret is read and used); one
 * that is unusable (garbage, a key that is not its certificate's, expired,
 * a third of its life or less left, or, for the agents', not of the CA, not
 * for SIG_AGENT_TLS_NAME or with another ca.crt) is replaced by an update
 * conditioned on the resourceVersion read (a 409 Conflict reads it again).
 * Keys are never logged and their copies are wiped.
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "signals.h"

#define TRIES 4 /* reads after a lost race or a conflict, before -EAGAIN */

/* @err says which Secret: its detail (the API server's, or @code's) after the name */
static void err_about(struct k8s_err *err, int code, const char *ns, const char *name)
{
	char msg[sizeof(err->msg)];

	snprintf(msg, sizeof(msg), "%s", err->msg[0] ? err->msg : strerror(-code));
	err->code = code;
	snprintf(err->msg, sizeof(err->msg), "secret %s/%s: %.*s", ns, name, 160, msg);
}

/* data[@key] as a NUL-terminated string (k8s_secret_free()); NULL when absent or not base64 */
static char *data_of(const struct k8s_obj *s, const char *key, size_t *len)
{
	char *v = NULL;

	*len = 0;
	if (k8s_secret_get(s, key, &v, len))
		return NULL;
	return v;
}

/* the Secret @name with its data, as created or as written over @old (its rv kept) */
static int secret_obj(const char *ns, const char *name, const char *type, const struct k8s_obj *old,
		      const char *const *kv, struct k8s_obj **out)
{
	struct k8s_obj *o = NULL;
	int ret;

	*out = NULL;
	if (old) {
		o = k8s_obj_dup(old);
		ret = o ? k8s_obj_remove(o, "/data") : -ENOMEM;
		if (ret == -ENOENT)
			ret = 0;
	} else {
		ret = k8s_obj_new_kind(&k8s_secrets, ns, name, &o);
		if (!ret)
			ret = k8s_obj_set_str(o, "/type", type);
		if (!ret)
			ret = k8s_obj_set_label(o, "app.kubernetes.io/name", "ferry-agent");
		if (!ret)
			ret = k8s_obj_set_label(o, "app.kubernetes.io/managed-by",
						"ferry-controller");
	}
	for (size_t i = 0; !ret && kv[i]; i += 2)
		ret = k8s_secret_set(o, kv[i], kv[i + 1], strlen(kv[i + 1]));
	if (ret) {
		k8s_obj_free(o);
		return ret;
	}
	*out = o;
	return 0;
}

/* create @o, or update it when @update: 0, -EEXIST (lost a race), -EAGAIN (conflict) */
static int secret_write(struct k8s_client *c, const char *ns, const struct k8s_obj *o, bool update,
			struct k8s_err *err)
{
	struct k8s_obj *res = NULL;
	int ret = update ? k8s_update(c, &k8s_secrets, ns, o, NULL, &res, err)
			 : k8s_create(c, &k8s_secrets, ns, o, NULL, &res, err);

	k8s_obj_free(res);
	return ret;
}

/* the CA: read, made or replaced; @ca gets its certificate and key */
static int ensure_ca(struct k8s_client *c, const char *ns, int64_t now, struct sig_pem *ca,
		     unsigned int *did, struct k8s_err *err)
{
	int ret = -EAGAIN;

	memset(ca, 0, sizeof(*ca));
	for (int i = 0; i < TRIES; i++) {
		struct k8s_obj *s = NULL, *o = NULL;
		char *crt = NULL, *key = NULL;
		size_t lc = 0, lk = 0;

		ret = k8s_get(c, &k8s_secrets, ns, SIG_CA_SECRET, NULL, &s, err);
		if (ret && ret != -ENOENT)
			return ret;
		if (s) {
			crt = data_of(s, "ca.crt", &lc);
			key = data_of(s, "ca.key", &lk);
			if (!sig_cert_check(crt, key, NULL, NULL, now, NULL)) {
				ca->crt = crt;
				ca->key = key;
				k8s_obj_free(s);
				return 0;
			}
			k8s_secret_free(crt, lc);
			k8s_secret_free(key, lk);
		}
		ret = sig_cert_ca_make(now, SIG_CA_DAYS, ca);
		if (!ret)
			ret = secret_obj(
				ns, SIG_CA_SECRET, "Opaque", s,
				(const char *const[]){"ca.crt", ca->crt, "ca.key", ca->key, NULL},
				&o);
		if (ret)
			memset(err, 0,
			       sizeof(*err)); /* not the API server's: a stale 404 is no detail */
		else
			ret = secret_write(c, ns, o, s != NULL, err);
		k8s_obj_free(o);
		k8s_obj_free(s);
		if (!ret) {
			*did |= SIG_TLS_MADE_CA;
			return 0;
		}
		sig_pem_fini(ca);
		if (ret != -EEXIST && ret != -EAGAIN)
			return ret;
	}
	return ret;
}

/* the agents' certificate of @ca: read, made or replaced */
static int ensure_tls(struct k8s_client *c, const char *ns, int64_t now, const struct sig_pem *ca,
		      unsigned int *did, struct k8s_err *err)
{
	int ret = -EAGAIN;

	for (int i = 0; i < TRIES; i++) {
		struct k8s_obj *s = NULL, *o = NULL;
		struct sig_pem p = {0};
		char *crt = NULL, *key = NULL, *cac = NULL;
		size_t lc = 0, lk = 0, la = 0;
		bool good = false;

		ret = k8s_get(c, &k8s_secrets, ns, SIG_TLS_SECRET, NULL, &s, err);
		if (ret && ret != -ENOENT)
			return ret;
		if (s) {
			crt = data_of(s, "tls.crt", &lc);
			key = data_of(s, "tls.key", &lk);
			cac = data_of(s, "ca.crt", &la);
			good = cac && !strcmp(cac, ca->crt) &&
			       !sig_cert_check(crt, key, ca->crt, SIG_AGENT_TLS_NAME, now, NULL);
			k8s_secret_free(crt, lc);
			k8s_secret_free(key, lk);
			k8s_secret_free(cac, la);
			if (good) {
				k8s_obj_free(s);
				return 0;
			}
		}
		ret = sig_cert_make(ca, SIG_AGENT_TLS_NAME, now, SIG_CERT_DAYS, &p);
		if (!ret)
			ret = secret_obj(ns, SIG_TLS_SECRET, "kubernetes.io/tls", s,
					 (const char *const[]){"tls.crt", p.crt, "tls.key", p.key,
							       "ca.crt", ca->crt, NULL},
					 &o);
		if (ret)
			memset(err, 0, sizeof(*err));
		else
			ret = secret_write(c, ns, o, s != NULL, err);
		sig_pem_fini(&p);
		k8s_obj_free(o);
		k8s_obj_free(s);
		if (!ret) {
			*did |= SIG_TLS_MADE_CERT;
			return 0;
		}
		if (ret != -EEXIST && ret != -EAGAIN)
			return ret;
	}
	return ret;
}

int sig_tls_ensure(struct k8s_client *c, const char *ns, int64_t now, char **ca_pem,
		   unsigned int *did, struct k8s_err *err)
{
	struct sig_pem ca = {0};
	unsigned int d = 0;
	int ret;

	assert(c && ns && ca_pem);
	*ca_pem = NULL;
	memset(err, 0, sizeof(*err));
	ret = ensure_ca(c, ns, now, &ca, &d, err);
	if (ret) {
		err_about(err, ret, ns, SIG_CA_SECRET);
		goto out;
	}
	ret = ensure_tls(c, ns, now, &ca, &d, err);
	if (ret) {
		err_about(err, ret, ns, SIG_TLS_SECRET);
		goto out;
	}
	*ca_pem = ca.crt;
	ca.crt = NULL;
out:
	sig_pem_fini(&ca);
	if (did)
		*did = d;
	return ret;
}
