// SPDX-License-Identifier: MIT
/*
 * k8s/kind_configmap.c - ConfigMaps and Secrets (core/v1): a key's value,
 * and Secret data decoded from (and encoded to) base64. Decoded secrets are
 * wiped when freed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "k8s_int.h"

const struct k8s_resource k8s_configmaps = K8S_RESOURCE("", "v1", "configmaps", "ConfigMap", true);
const struct k8s_resource k8s_secrets = K8S_RESOURCE("", "v1", "secrets", "Secret", true);

const char *k8s_configmap_get(const struct k8s_obj *cm, const char *key)
{
	return kjson_str(cJSON_GetObjectItemCaseSensitive(J(cm), "data"), key);
}

int k8s_base64_decode(const char *s, char **out, size_t *len)
{
	unsigned char *buf;
	int ret;

	*out = NULL;
	*len = 0;
	ret = kb64_decode(s, strlen(s), &buf, len);
	if (ret)
		return ret;
	*out = (char *)buf;
	return 0;
}

int k8s_secret_get(const struct k8s_obj *secret, const char *key, char **out, size_t *len)
{
	const cJSON *data = cJSON_GetObjectItemCaseSensitive(J(secret), "data");
	const char *v = key ? kjson_str(data, key) : NULL;
	unsigned char *buf;
	int ret;

	*out = NULL;
	*len = 0;
	if (!v) {
		/* stringData is write-only on a real server, but objects built here carry it */
		v = key ? kjson_str(cJSON_GetObjectItemCaseSensitive(J(secret), "stringData"), key)
			: NULL;
		if (!v)
			return -ENOENT;
		*out = strdup(v);
		if (!*out)
			return -ENOMEM;
		*len = strlen(v);
		return 0;
	}
	ret = kb64_decode(v, strlen(v), &buf, len);
	if (ret)
		return ret;
	*out = (char *)buf;
	return 0;
}

int k8s_secret_set(struct k8s_obj *secret, const char *key, const void *buf, size_t len)
{
	char *b64;
	cJSON *data, *s;
	int ret = 0;

	if (!secret || !key || !*key || !cJSON_IsObject(J(secret)))
		return -EINVAL;
	b64 = kb64_encode(buf, len);
	if (!b64)
		return -ENOMEM;
	data = cJSON_GetObjectItemCaseSensitive(J(secret), "data");
	if (!data)
		data = cJSON_AddObjectToObject(J(secret), "data");
	s = data ? cJSON_CreateString(b64) : NULL;
	if (!s) {
		ret = -ENOMEM;
	} else if (!cJSON_IsObject(data)) {
		cJSON_Delete(s);
		ret = -EINVAL;
	} else if (cJSON_GetObjectItemCaseSensitive(data, key)) {
		if (!cJSON_ReplaceItemInObjectCaseSensitive(data, key, s)) {
			cJSON_Delete(s);
			ret = -ENOMEM;
		}
	} else if (!cJSON_AddItemToObject(data, key, s)) {
		cJSON_Delete(s);
		ret = -ENOMEM;
	}
	OPENSSL_cleanse(b64, strlen(b64));
	free(b64);
	return ret;
}

void k8s_secret_free(char *buf, size_t len)
{
	if (!buf)
		return;
	OPENSSL_cleanse(buf, len);
	free(buf);
}
