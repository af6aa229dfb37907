// SPDX-License-Identifier: MIT
/*
 * control/lb/route.c - the HTTPRoute export of a LoadBalancePolicy
 * (lb.h, lb_route_export()). Not written yet: every export reports
 * RouteExported False, reason NotImplemented.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"

int lb_route_export(struct k8s_client *c, const char *ns, const char *route,
		    struct lb_route_backend *b, size_t n, struct lb_route_result *res,
		    struct k8s_err *err)
{
	(void)c, (void)ns, (void)b, (void)n, (void)err;
	memset(res, 0, sizeof(*res));
	res->reason = "NotImplemented";
	snprintf(res->msg, sizeof(res->msg), "httproute %s: the export is not built yet", route);
	return 0;
}
