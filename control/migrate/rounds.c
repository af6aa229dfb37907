// SPDX-License-Identifier: MIT
/*
 * control/migrate/rounds.c - whether a sync round converged (migrate.h
 * mig_round_verdict()): a pure function, table-tested.
 */
#include <assert.h>
#include <stdio.h>
#include <string.h>

#include "migrate.h"

bool mig_staged(const char *phase)
{
	static const char *const staged[] = {"Seeding",	  "Syncing",	"CuttingOver", "Verifying",
					     "Completed", "RolledBack", "Failed"};

	for (size_t i = 0; phase && i < sizeof(staged) / sizeof(staged[0]); i++)
		if (!strcmp(phase, staged[i]))
			return true;
	return false;
}

const char *mig_verdict_name(enum mig_verdict v)
{
	switch (v) {
	case MIG_ROUND_FIRST:
		return "First";
	case MIG_ROUND_CONVERGED:
		return "Converged";
	case MIG_ROUND_SHRINKING:
		return "Shrinking";
	case MIG_ROUND_GROWING:
		return "NotConverging";
	case MIG_ROUND_TOO_SLOW:
		return "TooSlow";
	}
	return "Unknown";
}

enum mig_verdict mig_round_verdict(const struct mig_round *prev, const struct mig_round *cur,
				   unsigned int bound_s, char *why, size_t len)
{
	char a[32], b[32];
	int64_t tol, diff;

	assert(cur && why);
	mig_human_bytes(cur->bytes, a, sizeof(a));
	if (cur->seconds > bound_s) {
		snprintf(why, len,
			 "the round wrote %s in %.1f s: a cutover would take longer than its bound "
			 "of %u s",
			 a, cur->seconds, bound_s);
		return MIG_ROUND_TOO_SLOW;
	}
	if (!prev) {
		snprintf(why, len, "the first round wrote %s in %.1f s: nothing to compare yet", a,
			 cur->seconds);
		return MIG_ROUND_FIRST;
	}
	mig_human_bytes(prev->bytes, b, sizeof(b));
	tol = prev->bytes / 10 > MIG_ROUND_FLOOR ? prev->bytes / 10 : MIG_ROUND_FLOOR;
	diff = cur->bytes - prev->bytes;
	if (diff <= tol && -diff <= tol) {
		snprintf(
			why, len,
			"%s in %.1f s after %s: within 10 %% of the round before; a cutover now is "
			"predicted at about %.1f s",
			a, cur->seconds, b, cur->seconds);
		return MIG_ROUND_CONVERGED;
	}
	if (diff > 0) {
		snprintf(why, len,
			 "%s in %.1f s after %s: the application writes faster than the rounds "
			 "apply; not converging",
			 a, cur->seconds, b);
		return MIG_ROUND_GROWING;
	}
	snprintf(why, len, "%s in %.1f s after %s: shrinking", a, cur->seconds, b);
	return MIG_ROUND_SHRINKING;
}

void mig_live_rate(int64_t done, int64_t total, double mbps, int64_t start_ns, int64_t now_ns,
		   double *bps, int64_t *eta_s)
{
	assert(bps && eta_s);
	*bps = 0;
	*eta_s = -1;
	if (done < 0 || total < 0)
		return;
	if (mbps > 0)
		*bps = mbps * 1e6;
	else if (start_ns > 0 && now_ns > start_ns && done > 0)
		*bps = (double)done / ((double)(now_ns - start_ns) / 1e9);
	if (total && done >= total)
		*eta_s = 0;
	else if (*bps > 0 && total > done)
		*eta_s = (int64_t)((double)(total - done) / *bps + 0.5);
}
