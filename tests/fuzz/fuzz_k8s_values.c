// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_k8s_values.c - the small parsers of k8s/ on any bytes:
 * label selectors (a selector that parses matches the same whether written
 * once or twice, "s" and "s,s"), quantities (milli = value × 1000 when both
 * fit and the value is a whole number), RFC 3339 times (a time that parses
 * formats and parses back to the same second), JSON Pointer reads and
 * writes on a JSON document from the input (a value set is read back), and
 * a LabelSelector object to its string form, which must parse.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1), *twice;
	struct k8s_selector *a, *b;
	struct k8s_obj *o = NULL, *labels = NULL;
	struct k8s_err err;
	int64_t m, v, ns;

	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* selectors */
	k8s_obj_parse("{\"app\":\"web\",\"tier\":\"db\",\"size\":\"7\",\"e\":\"\"}", 48, &labels);
	if (!k8s_selector_parse(s, &a, &err)) {
		if (strspn(s, " \t") != strlen(s) && asprintf(&twice, "%s,%s", s, s) > 0) {
			if (k8s_selector_parse(twice, &b, &err))
				abort();
			if (k8s_selector_match(a, labels) != k8s_selector_match(b, labels))
				abort();
			k8s_selector_free(b);
			free(twice);
		}
		k8s_selector_free(a);
	}
	k8s_obj_free(labels);
	/* quantities */
	if (!k8s_quantity_parse(s, &m) && !k8s_quantity_value(s, &v) && m % 1000 == 0 &&
	    m / 1000 != v)
		abort();
	/* times */
	if (!k8s_time_parse(s, &ns)) {
		char buf[K8S_TIME_SIZE];
		int64_t back;

		k8s_time_format(ns, true, buf);
		if (ns >= 0 && (k8s_time_parse(buf, &back) || back / 1000 != ns / 1000))
			abort();
	}
	/* JSON Pointer on the input as a document; the path is its first string member */
	if (!k8s_obj_parse(s, size, &o)) {
		const struct k8s_obj *first = k8s_obj_first(o);
		const char *path = k8s_obj_name(first);
		char *str;

		if (path && *path == '/') {
			const char *last = strrchr(path, '/');

			k8s_obj_at(o, path);
			/* "-" appends: nothing to read back at that path */
			if (strcmp(last, "/-") && !k8s_obj_set_str(o, path, "fuzz") &&
			    (!k8s_obj_str(o, path) || strcmp(k8s_obj_str(o, path), "fuzz")))
				abort();
			k8s_obj_remove(o, path);
		}
		if (!k8s_selector_string(o, &str)) {
			if (k8s_selector_parse(str, &a, &err))
				abort();
			k8s_selector_free(a);
			free(str);
		}
		k8s_obj_free(o);
	}
	free(s);
	return 0;
}
