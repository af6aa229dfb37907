// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_yaml.c - k8s_obj_yaml() (what `ferry backup|restore
 * ... -o yaml` prints) on any tree: the input is read as JSON, else as YAML
 * (k8s_obj_parse_yaml()), then through JSON, where a number that is not
 * finite is null; whatever tree results is emitted as YAML, which
 * must read back as the same tree (no string retyped, no number changed;
 * a JSON object that holds a key twice keeps the last in YAML),
 * unless the tree holds a string libyaml refuses (not UTF-8).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* whether an object of @o holds a key twice (JSON allows it, YAML keeps the last) */
static bool dup_keys(const struct k8s_obj *o)
{
	for (const struct k8s_obj *c = k8s_obj_first(o); c; c = k8s_obj_next(c)) {
		if (dup_keys(c))
			return true;
		if (!k8s_obj_name(c))
			continue;
		for (const struct k8s_obj *d = k8s_obj_next(c); d; d = k8s_obj_next(d))
			if (!strcmp(k8s_obj_name(c), k8s_obj_name(d)))
				return true;
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL, *back = NULL;
	struct k8s_err err;
	char *y, *json;

	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &err))
		return 0;
	/* as JSON holds it: a number that is not finite (1e999) is null there */
	json = k8s_obj_json(o);
	k8s_obj_free(o);
	o = NULL;
	if (!json || k8s_obj_parse(json, strlen(json), &o)) {
		free(json);
		return 0;
	}
	free(json);
	y = k8s_obj_yaml(o);
	if (y) {
		if (k8s_obj_parse_yaml(y, strlen(y), &back, &err) ||
		    (!dup_keys(o) && !k8s_obj_equal(o, back)))
			abort();
		k8s_obj_free(back);
		free(y);
	}
	k8s_obj_free(o);
	return 0;
}
