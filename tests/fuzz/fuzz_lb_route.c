// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_lb_route.c - control/lb's HTTPRoute plan (lb_route_plan())
 * on any bytes: the input is a JSON document taken for an HTTPRoute as an API
 * server answered it, planned for Services "an" (1.5 spare cores) and "bn"
 * (0.5). It returns 0, -EINVAL with InvalidRoute and a message, or -ENOMEM;
 * a plan to send holds the route's name, kind HTTPRoute, spec.rules alone
 * with as many rules (and backendRefs in each) as the route, every weight an
 * integer of 0..1000000, and force only with an apply; without one, a reason
 * and a message.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_plan(const struct k8s_obj *route, const struct k8s_obj *apply)
{
	const struct k8s_obj *lr = k8s_obj_at(route, "/spec/rules"), *r, *ar;
	size_t i = 0;

	if (strcmp(k8s_obj_str(apply, "/kind"), "HTTPRoute") ||
	    strcmp(k8s_obj_get_name(apply), k8s_obj_get_name(route)) ||
	    k8s_obj_len(apply, "/spec") != 1 ||
	    k8s_obj_len(apply, "/spec/rules") != k8s_obj_len(lr, ""))
		abort();
	for (r = k8s_obj_first(lr); r; r = k8s_obj_next(r), i++) {
		char path[64];
		size_t j = 0;

		snprintf(path, sizeof(path), "/spec/rules/%zu", i);
		ar = k8s_obj_at(apply, path);
		if (k8s_obj_len(ar, "/backendRefs") != k8s_obj_len(r, "/backendRefs"))
			abort();
		for (const struct k8s_obj *b = k8s_obj_first(k8s_obj_at(ar, "/backendRefs")); b;
		     b = k8s_obj_next(b), j++) {
			int64_t w;
			int ret = k8s_obj_int(b, "/weight", &w);

			if ((ret && ret != -ENOENT) || (!ret && (w < 0 || w > LB_ROUTE_WEIGHT_MAX)))
				abort();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_route_backend b[2] = {
		{.service = "an", .spare_cores = 1.5},
		{.service = "bn", .spare_cores = 0.5},
	};
	struct lb_route_result res;
	struct k8s_obj *route, *apply = NULL;
	bool force = false;
	int ret;

	if (k8s_obj_parse((const char *)data, size, &route))
		return 0;
	lb_route_weights(b, 2);
	ret = lb_route_plan(route, b, 2, &apply, &force, &res);
	if (ret == -EINVAL &&
	    (apply || force || !res.msg[0] || !res.reason || strcmp(res.reason, LB_ROUTE_INVALID)))
		abort();
	if (ret && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (!ret && apply)
		check_plan(route, apply);
	if (!ret && !apply && (force || !res.reason || !res.msg[0]))
		abort();
	k8s_obj_free(apply);
	k8s_obj_free(route);
	return 0;
}
