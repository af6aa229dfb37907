/* SPDX-License-Identifier: MIT */
/*
 * tests/cluster/t_cluster_kit.h - what the table tests of control/cluster
 * share: CHECK() (a failed check counted in the file's `failures`, the test
 * goes on) and objects written in JSON with single quotes (t_dq(), J()).
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

/* the object of t_dq(@s); a text that does not parse ends the test */
static inline struct k8s_obj *J(const char *s)
{
	char *d = t_dq(s);
	struct k8s_obj *o = NULL;

	if (k8s_obj_parse(d, strlen(d), &o))
		t_error("bad JSON in the test: %s", s);
	free(d);
	return o;
}

#endif
