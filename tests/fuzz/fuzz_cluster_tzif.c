// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cluster_tzif.c - the TZif reader of control/cluster/tz.c
 * (RFC 8536 versions 1-4 and the footer's POSIX TZ rule) from any bytes.
 *
 * Properties, not only "no crash": a refusal is -EBADMSG with one line of
 * reason and no zone; a zone that is taken answers every instant with an
 * offset under 26 hours and a span that holds it; the wall time of an
 * instant resolves to the first instant that shows it or later, which is
 * never after it, and one second before which the clock had not reached it;
 * and a schedule's next run in the zone is strictly later and matches, or
 * ends a gap.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a > b as wall times */
static int civil_cmp(const struct cluster_civil *a, const struct cluster_civil *b)
{
	const int x[] = {a->year, a->mon, a->mday, a->hour, a->min, a->sec};
	const int y[] = {b->year, b->mon, b->mday, b->hour, b->min, b->sec};

	for (int i = 0; i < 6; i++)
		if (x[i] != y[i])
			return x[i] < y[i] ? -1 : 1;
	return 0;
}

static void check_instant(const struct cluster_tz *tz, int64_t t)
{
	struct cluster_tz_info info;
	struct cluster_civil w, w2;
	int64_t r;

	if (cluster_tz_lookup(tz, t, &info))
		abort();
	if (info.utoff < -89999 || info.utoff > 93599 || !(info.since <= t && t < info.until) ||
	    !memchr(info.abbr, '\0', sizeof(info.abbr)))
		abort();
	if (cluster_tz_local(tz, t, &w, NULL))
		abort();
	if (w.year < 1 || w.year > 9999)
		return;
	if (cluster_tz_resolve(tz, &w, &r))
		return; /* before 0001 */
	if (r > t || cluster_tz_local(tz, r, &w2, NULL) || civil_cmp(&w2, &w) < 0)
		abort();
	if (r > CLUSTER_TIME_MIN &&
	    (cluster_tz_local(tz, r - 1, &w2, NULL) || civil_cmp(&w2, &w) >= 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int64_t fixed[] = {
		CLUSTER_TIME_MIN,
		-2208988800LL,
		-1,
		0,
		1,
		951782400,
		1710054000,
		2147483647,
		2147483648LL,
		4102444800LL,
		32503680000LL,
		CLUSTER_TIME_MAX,
	};
	static const char *const exprs[] = {"30 2 * * *", "*/20 * * * *", "0 0 0 L * ?"};
	struct cluster_err err;
	struct cluster_tz *tz;
	int ret;

	ret = cluster_tz_parse(data, size, "Fuzz/Zone", &tz, &err);
	if (ret) {
		if (ret != -EBADMSG || err.code != ret || !err.msg[0] || strchr(err.msg, '\n') ||
		    tz)
			abort();
		return 0;
	}
	if (err.code || err.msg[0] || strcmp(cluster_tz_name(tz), "Fuzz/Zone"))
		abort();
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_instant(tz, fixed[i]);
	/* instants from the input's last bytes, and either side of the spans they fall in */
	for (size_t i = 0; i + 8 <= size && i < 64; i += 8) {
		uint64_t raw;
		int64_t t;
		struct cluster_tz_info info;

		memcpy(&raw, data + size - 8 - i, 8);
		t = CLUSTER_TIME_MIN +
		    (int64_t)(raw % (uint64_t)(CLUSTER_TIME_MAX - CLUSTER_TIME_MIN));
		check_instant(tz, t);
		if (cluster_tz_lookup(tz, t, &info))
			abort();
		if (info.since > CLUSTER_TIME_MIN)
			check_instant(tz, info.since - 1);
		if (info.until <= CLUSTER_TIME_MAX)
			check_instant(tz, info.until);
	}
	for (size_t e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct cluster_cron c;
		int64_t after = 1700000000 + (int64_t)e * 86400 * 97, n;

		if (cluster_cron_parse(exprs[e], &c, &err))
			abort();
		for (int k = 0; k < 8 && !cluster_cron_next(&c, tz, after, &n); k++) {
			struct cluster_civil w;
			struct cluster_tz_info info, prev;

			if (n <= after || cluster_tz_local(tz, n, &w, &info))
				abort();
			if (!cluster_cron_matches(&c, &w) &&
			    (info.since != n || cluster_tz_lookup(tz, n - 1, &prev) ||
			     prev.utoff >= info.utoff))
				abort();
			after = n;
		}
	}
	cluster_tz_put(tz);
	return 0;
}
