// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_schedule_probe.c - control/cluster's Schedule reader and
 * planner for t_schedule_crd.py: reads one Schedule object (JSON) on stdin
 * and prints one JSON line: {"ret", "err", "invalid", "why", "action",
 * "read": the status read, as a patch, "patch": the status the plan at NOW
 * writes, "backup": the Backup a run at NOW creates (valid Schedules)}.
 * Usage: t_schedule_probe NOW (seconds since the epoch). Exit 0, or 99.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"
#include "k8s/k8s.h"

static char in[1 << 20];

int main(int argc, char **argv)
{
	struct k8s_obj *o, *out, *p;
	struct cluster_schedule s;
	struct cluster_schedule_plan plan;
	struct cluster_err err;
	size_t len;
	int64_t now;
	char *json;
	int ret;

	if (argc != 2)
		return 99;
	now = strtoll(argv[1], NULL, 10);
	len = fread(in, 1, sizeof(in), stdin);
	if (k8s_obj_parse(in, len, &o) || k8s_obj_new(&out))
		return 99;
	ret = cluster_schedule_read(o, &s, &err);
	k8s_obj_set_int(out, "/ret", ret);
	k8s_obj_set_str(out, "/err", err.msg);
	if (!ret) {
		k8s_obj_set_bool(out, "/invalid", s.invalid != 0);
		k8s_obj_set_str(out, "/why", s.why);
		if (cluster_schedule_status_patch(&s.status, &p) || k8s_obj_set(out, "/read", p))
			return 99;
		if (cluster_schedule_plan(&s, NULL, 0, now, false, &plan))
			return 99;
		k8s_obj_set_str(out, "/action", cluster_plan_action_name(plan.action));
		if (cluster_schedule_status_patch(&plan.status, &p) ||
		    k8s_obj_set(out, "/patch", p))
			return 99;
		if (!s.invalid) {
			if (cluster_schedule_backup(&s, o, now, &p, &err) ||
			    k8s_obj_set(out, "/backup", p))
				return 99;
		}
	}
	json = k8s_obj_json(out);
	if (!json)
		return 99;
	printf("%s\n", json);
	free(json);
	cluster_schedule_fini(&s);
	k8s_obj_free(out);
	k8s_obj_free(o);
	return 0;
}
