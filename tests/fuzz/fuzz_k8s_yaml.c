// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_yaml.c - k8s_obj_yaml() (what `ferry backup|restore
 * ... -o yaml` prints) on any tree: the input is read as JSON, else as YAML
 * (k8s_obj_parse_yaml()); whatever tree results is emitted as YAML, which
 * must read back as the same tree (no string retyped, no number changed),
 * unless the tree holds a string libyaml refuses (not UTF-8).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct k8s_obj *o = NULL, *back = NULL;
	struct k8s_err err;
	char *y;

	if (k8s_obj_parse((const char *)data, size, &o) &&
	    k8s_obj_parse_yaml((const char *)data, size, &o, &err))
		return 0;
	y = k8s_obj_yaml(o);
	if (y) {
		if (k8s_obj_parse_yaml(y, strlen(y), &back, &err) || !k8s_obj_equal(o, back))
			abort();
		k8s_obj_free(back);
		free(y);
	}
	k8s_obj_free(o);
	return 0;
}
