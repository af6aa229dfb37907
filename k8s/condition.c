// SPDX-License-Identifier: MIT
/*
 * k8s/condition.c - metav1.Condition in status.conditions: one entry per
 * type, lastTransitionTime moved only when the status changes, the API
 * server's limits on reason and message (apimachinery's
 * ValidateConditions: reason matches ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$
 * and is at most 1024 bytes, the message at most 32768).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s.h"

#define REASON_MAX  1024
#define MESSAGE_MAX 32768

bool k8s_condition_reason_valid(const char *r)
{
	size_t n = r ? strlen(r) : 0;

	if (!n || n > REASON_MAX)
		return false;
	if (!((r[0] >= 'A' && r[0] <= 'Z') || (r[0] >= 'a' && r[0] <= 'z')))
		return false;
	for (size_t i = 1; i < n; i++) {
		char ch = r[i];
		bool word = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
			    (ch >= '0' && ch <= '9') || ch == '_';

		if (!word && !((ch == ',' || ch == ':') && i + 1 < n))
			return false;
	}
	return true;
}

/* the element of status.conditions of @type, and its index */
static const struct k8s_obj *find(const struct k8s_obj *obj, const char *type, size_t *idx)
{
	size_t i = 0;

	for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(obj, "/status/conditions")); c;
	     c = k8s_obj_next(c), i++) {
		const char *t = k8s_obj_str(c, "/type");

		if (t && !strcmp(t, type)) {
			*idx = i;
			return c;
		}
	}
	return NULL;
}

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

int k8s_condition_set(struct k8s_obj *obj, const struct k8s_condition *c, int64_t now_ns)
{
	const struct k8s_obj *old = NULL;
	struct k8s_obj *el = NULL, *arr = NULL;
	char when[K8S_TIME_SIZE], path[64], *msg = NULL;
	const char *old_time = NULL;
	int64_t old_gen = 0;
	size_t idx = 0, len;
	int ret;

	if (!obj || !c || !c->type || !*c->type || !c->status ||
	    (strcmp(c->status, "True") && strcmp(c->status, "False") &&
	     strcmp(c->status, "Unknown")) ||
	    !k8s_condition_reason_valid(c->reason))
		return -EINVAL;
	if (k8s_obj_type(obj, "/status/conditions") != K8S_T_ABSENT &&
	    k8s_obj_type(obj, "/status/conditions") != K8S_T_ARRAY)
		return -EINVAL;
	/* the message, cut at the limit on a UTF-8 character boundary */
	len = c->message ? strlen(c->message) : 0;
	if (len > MESSAGE_MAX) {
		len = MESSAGE_MAX;
		while (len && ((unsigned char)c->message[len] & 0xc0) == 0x80)
			len--;
	}
	msg = strndup(c->message ? c->message : "", len);
	if (!msg)
		return -ENOMEM;
	old = find(obj, c->type, &idx);
	if (old) {
		k8s_obj_int(old, "/observedGeneration", &old_gen);
		if (same(k8s_obj_str(old, "/status"), c->status) &&
		    same(k8s_obj_str(old, "/reason"), c->reason) &&
		    same(k8s_obj_str(old, "/message"), msg) && old_gen == c->observed_generation) {
			free(msg);
			return K8S_UNCHANGED;
		}
		if (same(k8s_obj_str(old, "/status"), c->status))
			old_time = k8s_obj_str(old, "/lastTransitionTime");
	}
	k8s_time_format(now_ns, false, when);
	ret = k8s_obj_new(&el);
	if (!ret)
		ret = k8s_obj_set_str(el, "/type", c->type);
	if (!ret)
		ret = k8s_obj_set_str(el, "/status", c->status);
	if (!ret && c->observed_generation)
		ret = k8s_obj_set_int(el, "/observedGeneration", c->observed_generation);
	if (!ret)
		ret = k8s_obj_set_str(el, "/lastTransitionTime", old_time ? old_time : when);
	if (!ret)
		ret = k8s_obj_set_str(el, "/reason", c->reason);
	if (!ret)
		ret = k8s_obj_set_str(el, "/message", msg);
	free(msg);
	if (ret)
		goto out;
	if (old) {
		snprintf(path, sizeof(path), "/status/conditions/%zu", idx);
		ret = k8s_obj_set(obj, path, el);
	} else if (k8s_obj_type(obj, "/status/conditions") == K8S_T_ARRAY) {
		ret = k8s_obj_set(obj, "/status/conditions/-", el);
	} else {
		/* a new list holding the element, attached last: all or nothing */
		ret = k8s_obj_new_array(&arr);
		if (!ret)
			ret = k8s_obj_set(arr, "/-", el);
		if (ret)
			goto out;
		el = NULL;
		ret = k8s_obj_set(obj, "/status/conditions", arr);
		if (!ret)
			arr = NULL;
		goto out;
	}
	if (!ret)
		el = NULL;
out:
	k8s_obj_free(el);
	k8s_obj_free(arr);
	return ret;
}

int k8s_condition_get(const struct k8s_obj *obj, const char *type, struct k8s_condition *out)
{
	const struct k8s_obj *c;
	const char *t;
	size_t idx;

	memset(out, 0, sizeof(*out));
	c = type ? find(obj, type, &idx) : NULL;
	if (!c)
		return -ENOENT;
	out->type = k8s_obj_str(c, "/type");
	out->status = k8s_obj_str(c, "/status");
	out->reason = k8s_obj_str(c, "/reason");
	out->message = k8s_obj_str(c, "/message");
	k8s_obj_int(c, "/observedGeneration", &out->observed_generation);
	t = k8s_obj_str(c, "/lastTransitionTime");
	if (t)
		k8s_time_parse(t, &out->transition_ns);
	return 0;
}
