// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_condition.c - status.conditions of any object
 * (k8s/condition.c), as the controller runtime reads and writes them on
 * objects users and other controllers wrote: the input is a JSON document;
 * conditions of a fixed table, and one that echoes the document's own first
 * condition, are set on a copy of it. Each outcome is checked against
 * metav1.Condition's rules; a breach aborts:
 *   - a refusal (-EINVAL) leaves the object byte for byte as it was;
 *   - K8S_UNCHANGED leaves it as it was, and what k8s_condition_get() reads
 *     is what was asked;
 *   - a change reads back as asked (the message cut at 32768 bytes on a
 *     UTF-8 character boundary), its lastTransitionTime kept when the status
 *     is the one before and "now" otherwise, and the same call again is
 *     K8S_UNCHANGED;
 *   - k8s_condition_reason_valid() of the input's bytes agrees with the
 *     validation's regular expression, written here another way.
 * Seeds: objects with conditions as the API serves them, and broken ones.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_NS	    (1767225600LL * 1000000000LL) /* 2026-01-01T00:00:00Z */
#define MESSAGE_MAX 32768

static bool same(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

/* ^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$, at most 1024 bytes (apimachinery) */
static bool reason_ref(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 1024 ||
	    !strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", s[0]))
		return false;
	for (size_t i = 1; i < n; i++) {
		const char *set = i + 1 == n ? "_" : "_,:";

		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= '0' && s[i] <= '9') || strchr(set, s[i])))
			return false;
	}
	return true;
}

/* the message as stored: cut at MESSAGE_MAX, back to the start of a character */
static size_t stored_len(const char *m)
{
	size_t n = m ? strlen(m) : 0;

	if (n <= MESSAGE_MAX)
		return n;
	n = MESSAGE_MAX;
	while (n && ((unsigned char)m[n] & 0xc0) == 0x80)
		n--;
	return n;
}

static void try_set(const struct k8s_obj *orig, const struct k8s_condition *c)
{
	struct k8s_obj *o = k8s_obj_dup(orig);
	struct k8s_condition before, got;
	char *json0 = NULL, *json1 = NULL, *old_time = NULL;
	bool had;
	int ret;

	if (!o)
		return;
	json0 = k8s_obj_json(o);
	had = c->type && !k8s_condition_get(o, c->type, &before);
	if (had && before.status && c->status && !strcmp(before.status, c->status)) {
		const char *t = NULL;

		/* the string as stored: get() gives it parsed, find it by walking */
		for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(o, "/status/conditions"));
		     e; e = k8s_obj_next(e))
			if (same(k8s_obj_str(e, "/type"), c->type)) {
				t = k8s_obj_str(e, "/lastTransitionTime");
				break;
			}
		old_time = t ? strdup(t) : NULL;
	}
	ret = k8s_condition_set(o, c, NOW_NS);
	json1 = k8s_obj_json(o);
	if (!json0 || !json1)
		goto out; /* out of (capped) memory: nothing to compare */
	if (ret < 0) {
		if (ret != -EINVAL && ret != -ENOMEM)
			abort();
		if (ret == -EINVAL && strcmp(json0, json1))
			abort(); /* a refusal changed the object */
		goto out;
	}
	if (ret == K8S_UNCHANGED && strcmp(json0, json1))
		abort();
	if (ret != 0 && ret != K8S_UNCHANGED)
		abort();
	if (k8s_condition_get(o, c->type, &got) || !same(got.type, c->type) ||
	    !same(got.status, c->status) || !same(got.reason, c->reason) ||
	    got.observed_generation != c->observed_generation)
		abort();
	if (stored_len(got.message) != stored_len(c->message) ||
	    (got.message &&
	     strncmp(got.message, c->message ? c->message : "", stored_len(c->message))))
		abort();
	if (ret == 0) {
		const char *t = NULL;

		for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(o, "/status/conditions"));
		     e; e = k8s_obj_next(e))
			if (same(k8s_obj_str(e, "/type"), c->type)) {
				t = k8s_obj_str(e, "/lastTransitionTime");
				break;
			}
		if (old_time ? !same(t, old_time) : !same(t, "2026-01-01T00:00:00Z"))
			abort(); /* the transition time moves with the status only */
		if (k8s_condition_set(o, c, NOW_NS + 1000000000LL) != K8S_UNCHANGED)
			abort();
	}
out:
	free(json0);
	free(json1);
	free(old_time);
	k8s_obj_free(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char big[MESSAGE_MAX + 8];
	struct k8s_obj *o = NULL;
	char reason[1100];
	size_t n = size < sizeof(reason) - 1 ? size : sizeof(reason) - 1;

	memcpy(reason, data, n);
	reason[n] = '\0';
	if (strlen(reason) == n && k8s_condition_reason_valid(reason) != reason_ref(reason))
		abort();
	if (!big[0]) {
		/* "a" then two-byte characters: byte 32768 is inside one */
		big[0] = 'a';
		for (size_t i = 1; i + 2 < sizeof(big); i += 2)
			memcpy(big + i, "\xc3\xa9", 2);
	}
	if (k8s_obj_parse((const char *)data, size, &o))
		return 0;
	{
		struct k8s_condition own = {0};
		const struct k8s_obj *first = k8s_obj_at(o, "/status/conditions/0");
		int64_t gen = 0;
		const struct k8s_condition table[] = {
			{.type = "Ready", .status = "True", .reason = "Reconciled"},
			{.type = "Ready",
			 .status = "False",
			 .reason = "Forbidden",
			 .message = "grant 'get' on 'secrets'",
			 .observed_generation = 3},
			{.type = "Progressing",
			 .status = "Unknown",
			 .reason = "Waiting",
			 .message = big},
			{.type = "Ready", .status = "Maybe", .reason = "Reconciled"},
			{.type = "Ready", .status = "True", .reason = "not camel"},
			{.type = "", .status = "True", .reason = "Reconciled"},
		};

		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			try_set(o, &table[i]);
		/* the document's own first condition, as it stands, and with the generation */
		own.type = k8s_obj_str(first, "/type");
		own.status = k8s_obj_str(first, "/status");
		own.reason = k8s_obj_str(first, "/reason");
		own.message = k8s_obj_str(first, "/message");
		k8s_obj_int(first, "/observedGeneration", &own.observed_generation);
		if (own.type && own.status && own.reason) {
			try_set(o, &own);
			k8s_obj_int(o, "/metadata/generation", &gen);
			own.observed_generation = gen;
			try_set(o, &own);
		}
	}
	k8s_obj_free(o);
	return 0;
}
