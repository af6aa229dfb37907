// SPDX-License-Identifier: MIT
/*
 * k8s/kind_token.c - TokenReview (whose token is this: how an agent checks
 * the controller that scrapes it) and TokenRequest (a short-lived token of a
 * service account, bound to an audience). Request and answer both hold a
 * token: they are wiped, never logged.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "k8s_int.h"

const struct k8s_resource k8s_serviceaccounts =
	K8S_RESOURCE("", "v1", "serviceaccounts", "ServiceAccount", true);
const struct k8s_resource k8s_tokenreviews =
	K8S_RESOURCE("authentication.k8s.io", "v1", "tokenreviews", "TokenReview", false);

/* wipe every string of @j, its siblings after it and everything below */
static void wipe_strings(cJSON *j)
{
	for (; j; j = j->next) {
		if (cJSON_IsString(j) && j->valuestring)
			OPENSSL_cleanse(j->valuestring, strlen(j->valuestring));
		if (j->child)
			wipe_strings(j->child);
	}
}

static void wipe_free(cJSON *j)
{
	wipe_strings(j);
	cJSON_Delete(j);
}

/* POST @body (a secret) to @url; the answer into *@out */
/*
 * A POST whose body and answer hold a token: the request is marked secret
 * (its answer buffers are wiped), the serialized body is wiped here, and
 * the caller wipes the parsed answer.
 */
static int post_secret(struct k8s_client *c, struct kreq *q, cJSON *body, cJSON **out,
		       struct k8s_err *err)
{
	struct k8s_obj *ans = NULL;
	char *json = cJSON_PrintUnformatted(body);
	int ret;

	*out = NULL;
	if (!json) {
		free(q->url);
		q->url = NULL;
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	}
	q->method = "POST";
	q->ctx = KCTX_CREATE;
	q->secret = true;
	q->body = json;
	q->body_len = strlen(json);
	q->content_type = "application/json";
	ret = kc_do(c, q, &ans, err);
	OPENSSL_cleanse(json, strlen(json));
	cJSON_free(json);
	*out = J(ans);
	return ret;
}

int k8s_token_review(struct k8s_client *c, const char *token, const char *const *audiences,
		     struct k8s_token_review *out, struct k8s_err *err)
{
	struct kreq q = {0};
	cJSON *body = NULL, *spec, *ans = NULL;
	const cJSON *st;
	int ret;

	kerr_clear(err);
	memset(out, 0, sizeof(*out));
	if (!token || !*token)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"create tokenreviews: no token given");
	kc_describe(&q, "create", &k8s_tokenreviews, NULL, NULL, NULL);
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "apiVersion", "authentication.k8s.io/v1") ||
	    !cJSON_AddStringToObject(body, "kind", "TokenReview") ||
	    !(spec = cJSON_AddObjectToObject(body, "spec")) ||
	    !cJSON_AddStringToObject(spec, "token", token))
		goto out_nomem;
	if (audiences) {
		cJSON *a = cJSON_AddArrayToObject(spec, "audiences");

		if (!a)
			goto out_nomem;
		for (const char *const *p = audiences; *p; p++)
			if (!cJSON_AddItemToArray(a, cJSON_CreateString(*p)))
				goto out_nomem;
	}
	q.url = kc_url(c, &k8s_tokenreviews, NULL, NULL, NULL, NULL, NULL);
	if (!q.url)
		goto out_nomem;
	ret = post_secret(c, &q, body, &ans, err);
	wipe_free(body);
	if (ret) {
		wipe_free(ans);
		return ret;
	}
	st = cJSON_GetObjectItemCaseSensitive(ans, "status");
	out->authenticated = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(st, "authenticated"));
	snprintf(out->user, sizeof(out->user), "%s",
		 kjson_str(cJSON_GetObjectItemCaseSensitive(st, "user"), "username")
			 ? kjson_str(cJSON_GetObjectItemCaseSensitive(st, "user"), "username")
			 : "");
	snprintf(out->uid, sizeof(out->uid), "%s",
		 kjson_str(cJSON_GetObjectItemCaseSensitive(st, "user"), "uid")
			 ? kjson_str(cJSON_GetObjectItemCaseSensitive(st, "user"), "uid")
			 : "");
	snprintf(out->error, sizeof(out->error), "%s",
		 kjson_str(st, "error") ? kjson_str(st, "error") : "");
	wipe_free(ans);
	return 0;
out_nomem:
	free(q.url);
	wipe_free(body);
	return kerr_set(err, -ENOMEM, -1, "", "out of memory");
}

int k8s_token_request(struct k8s_client *c, const char *ns, const char *sa, const char *audience,
		      int64_t seconds, char **token, int64_t *expires_ns, struct k8s_err *err)
{
	struct kreq q = {0};
	cJSON *body = NULL, *spec, *ans = NULL;
	const cJSON *st;
	const char *tok, *exp;
	int ret;

	kerr_clear(err);
	*token = NULL;
	*expires_ns = 0;
	ns = kc_ns(c, &k8s_serviceaccounts, ns);
	if (!sa || !*sa)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadRequest",
				"create serviceaccounts/token: no service account given");
	kc_describe(&q, "create", &k8s_serviceaccounts, ns, sa, "token");
	body = cJSON_CreateObject();
	if (!body || !cJSON_AddStringToObject(body, "apiVersion", "authentication.k8s.io/v1") ||
	    !cJSON_AddStringToObject(body, "kind", "TokenRequest") ||
	    !(spec = cJSON_AddObjectToObject(body, "spec")) ||
	    (seconds > 0 && !cJSON_AddNumberToObject(spec, "expirationSeconds", (double)seconds)))
		goto out_nomem;
	if (audience) {
		cJSON *a = cJSON_AddArrayToObject(spec, "audiences");

		if (!a || !cJSON_AddItemToArray(a, cJSON_CreateString(audience)))
			goto out_nomem;
	}
	q.url = kc_url(c, &k8s_serviceaccounts, ns, sa, "token", NULL, NULL);
	if (!q.url)
		goto out_nomem;
	ret = post_secret(c, &q, body, &ans, err);
	wipe_free(body);
	if (ret) {
		wipe_free(ans);
		return ret;
	}
	st = cJSON_GetObjectItemCaseSensitive(ans, "status");
	tok = kjson_str(st, "token");
	exp = kjson_str(st, "expirationTimestamp");
	if (!tok || !*tok) {
		wipe_free(ans);
		return kerr_set(err, -EIO, K8S_EXIT_FAILURE, "BadAnswer",
				"%s: the answer has no status.token", q.what);
	}
	*token = strdup(tok);
	if (exp)
		k8s_time_parse(exp, expires_ns);
	wipe_free(ans);
	if (!*token)
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	return 0;
out_nomem:
	free(q.url);
	wipe_free(body);
	return kerr_set(err, -ENOMEM, -1, "", "out of memory");
}
