/* SPDX-License-Identifier: MIT */
/*
 * tests/cluster/t_cluster_kit.h - what the table tests of control/cluster
 * share: CHECK() (a failed check counted in the file's `failures`, the test
 * goes on) and objects written in JSON with single quotes (Jstr(), J()).
 */
#ifndef FERRY_T_CLUSTER_KIT_H
#define FERRY_T_CLUSTER_KIT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "t_helpers.h"

static int failures;

#define CHECK(cond, ...)                                                                           \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                     \
			printf(__VA_ARGS__);                                                       \
			printf("\n");                                                              \
			failures++;                                                                \
		}                                                                                  \
	} while (0)

/* @s with its single quotes made double: a JSON text (the caller frees it) */
static inline char *Jstr(const char *s)
{
	char *d = strdup(s);

	if (!d)
		t_error("out of memory");
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

/* the object of Jstr(@s); a text that does not parse ends the test */
static inline struct k8s_obj *J(const char *s)
{
	char *d = Jstr(s);
	struct k8s_obj *o = NULL;

	if (k8s_obj_parse(d, strlen(d), &o))
		t_error("bad JSON in the test: %s", s);
	free(d);
	return o;
}

#endif
