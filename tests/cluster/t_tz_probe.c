// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_tz_probe.c - control/cluster's zones and schedules as a
 * line protocol, for t_tz_oracle.py to hold against Python's zoneinfo.
 * One answer line per question line on stdin:
 *
 *   O ZONE T                 "UTOFF ISDST ABBR"   the time type at instant T
 *   R ZONE Y M D H MI S      "T"                  cluster_tz_resolve()
 *   T ZONE FROM TO           "T1 T2 ..."          the span boundaries in (FROM, TO]
 *   N ZONE AFTER UNTIL EXPR  "T1 T2 ..."          the runs in (AFTER, UNTIL]
 *
 * ZONE is "-" for UTC. A refusal answers "E <errno> <reason>".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"

static struct cluster_tz *zone(const char *name, struct cluster_err *err)
{
	struct cluster_tz *tz = NULL;

	if (strcmp(name, "-") && cluster_tz_get(name, &tz, err))
		return NULL;
	return tz;
}

static void answer(const char *line)
{
	char op, name[300], expr[1100];
	struct cluster_err err = {0};
	struct cluster_tz *tz;
	long long a, b;
	int n = 0;

	if (sscanf(line, "%c %299s%n", &op, name, &n) != 2) {
		printf("E %d bad question\n", EINVAL);
		return;
	}
	tz = zone(name, &err);
	if (!tz && strcmp(name, "-")) {
		printf("E %d %s\n", -err.code, err.msg);
		return;
	}
	line += n;
	if (op == 'O' && sscanf(line, "%lld", &a) == 1) {
		struct cluster_tz_info info;
		int ret = cluster_tz_lookup(tz, a, &info);

		if (ret)
			printf("E %d lookup\n", -ret);
		else
			printf("%d %d %s\n", info.utoff, info.isdst, info.abbr);
	} else if (op == 'R') {
		struct cluster_civil w = {0};
		int64_t t;
		int ret;

		sscanf(line, "%d %d %d %d %d %d", &w.year, &w.mon, &w.mday, &w.hour, &w.min,
		       &w.sec);
		ret = cluster_tz_resolve(tz, &w, &t);
		if (ret)
			printf("E %d resolve\n", -ret);
		else
			printf("%lld\n", (long long)t);
	} else if (op == 'T' && sscanf(line, "%lld %lld", &a, &b) == 2) {
		struct cluster_tz_info info;
		const char *sep = "";

		while (a < b && !cluster_tz_lookup(tz, a, &info) && info.until <= b) {
			printf("%s%lld", sep, (long long)info.until);
			sep = " ";
			a = info.until;
		}
		printf("\n");
	} else if (op == 'N' && sscanf(line, "%lld %lld %1099[^\n]", &a, &b, expr) == 3) {
		struct cluster_cron c;
		const char *sep = "";
		int64_t t = a, next;

		if (cluster_cron_parse(expr, &c, &err)) {
			printf("E %d %s\n", -err.code, err.msg);
		} else {
			while (!cluster_cron_next(&c, tz, t, &next) && next <= b) {
				printf("%s%lld", sep, (long long)next);
				sep = " ";
				t = next;
			}
			printf("\n");
		}
	} else {
		printf("E %d bad question\n", EINVAL);
	}
	cluster_tz_put(tz);
}

int main(void)
{
	char line[2048];

	while (fgets(line, sizeof(line), stdin))
		answer(line);
	return 0;
}
