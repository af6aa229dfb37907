// SPDX-License-Identifier: MIT
/*
 * control/lb/weights.c - load-aware weights: each backend's measured
 * headroom turned into its weight in the Maglev table (lb.h, "Weights").
 * Pure: no I/O, no clock (the caller passes each pod's age); the same
 * observations and the same published weights give the same answer.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lb.h"

void lb_weight_policy_init(struct lb_weight_policy *p)
{
	memset(p, 0, sizeof(*p));
	p->signals = LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_RUNQ;
	p->runq_target_s = LB_DEFAULT_RUNQ_TARGET_S;
	p->floor = LB_DEFAULT_FLOOR;
	p->hysteresis = LB_DEFAULT_HYSTERESIS;
	p->slow_start_s = LB_DEFAULT_SLOW_START_S;
	p->besteffort_cores = LB_DEFAULT_BESTEFFORT_CORES;
	p->scale = LB_WEIGHT_SCALE;
}

int lb_weight_policy_check(const struct lb_weight_policy *p, struct lb_err *err)
{
	const char *why = NULL;

	if (!p->signals || (p->signals & ~(unsigned int)LB_SIGNAL_ALL))
		why = "signals: one or more of cpu against requests, cpu against limits, run-queue wait";
	else if ((p->signals & LB_SIGNAL_CPU_REQUESTS) && (p->signals & LB_SIGNAL_CPU_LIMITS))
		why = "signals: CPU against requests or against limits, not both";
	else if (!(p->runq_target_s > 0 && p->runq_target_s <= 10))
		why = "runQueueTarget: more than 0 and at most 10 s";
	else if (!(p->floor > 0 && p->floor <= 1))
		why = "floor: more than 0 and at most 1 (of the largest weight)";
	else if (!(p->hysteresis >= 0 && p->hysteresis < 1))
		why = "hysteresis: from 0 to less than 1";
	else if (!(p->slow_start_s >= 0 && p->slow_start_s <= 3600))
		why = "slowStart: from 0 to 3600 s";
	else if (!(p->besteffort_cores > 0 && p->besteffort_cores <= 1024))
		why = "bestEffortCores: more than 0 and at most 1024";
	else if (p->scale < 100 || p->scale > LB_WEIGHT_SCALE_MAX)
		why = "scale: from 100 to 1000000";
	if (!why)
		return 0;
	if (err)
		snprintf(err->msg, sizeof(err->msg), "%s", why);
	return -EINVAL;
}

/* the CPU a pod may use, as the signal measures it; 0: none applies */
static double capacity(const struct lb_weight_policy *p, const struct lb_backend_obs *b,
		       bool *besteffort)
{
	*besteffort = false;
	if (p->signals & LB_SIGNAL_CPU_LIMITS) {
		if (b->cpu_limit > 0)
			return b->cpu_limit;
		if (b->cpu_request > 0)
			return b->cpu_request; /* no limit: its request is what it is sized to */
	} else {
		if (b->cpu_request > 0)
			return b->cpu_request;
		if (b->cpu_limit > 0)
			return b->cpu_limit; /* a limit only: the API server sets the request to it */
	}
	*besteffort = true;
	return p->besteffort_cores;
}

double lb_capacity(const struct lb_weight_policy *p, const struct lb_backend_obs *b)
{
	bool besteffort;

	return capacity(p, b, &besteffort);
}

/*
 * One backend's score, its share of connections before the floor and the
 * normalization: its CPU headroom (what is left of its capacity, from 0 to
 * 1), times its run-queue factor (1 at no wait, 1/2 at the target, falling
 * as 1 / (1 + wait/target)). The reason is written into @out.
 */
static double score(const struct lb_weight_policy *p, const struct lb_backend_obs *b,
		    struct lb_weight_out *out)
{
	double s = 1, headroom = 1, runq = 1, cap = 0;
	bool be = false;

	if (p->signals & (LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS)) {
		cap = capacity(p, b, &be);
		headroom = b->cpu_cores < cap ? (cap - b->cpu_cores) / cap : 0;
		/* CFS throttling means the pod sits at its limit, whatever its mean */
		if ((p->signals & LB_SIGNAL_CPU_LIMITS) && b->throttled_s > LB_THROTTLED_AT_LIMIT)
			headroom = 0;
		s *= headroom;
	}
	if (p->signals & LB_SIGNAL_RUNQ) {
		runq = 1 / (1 + (b->runq_p99_s > 0 ? b->runq_p99_s : 0) / p->runq_target_s);
		s *= runq;
	}
	out->headroom = headroom;
	out->runq_factor = runq;
	if (p->signals & (LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS))
		snprintf(out->why, sizeof(out->why),
			 "CPU %.3f of %.3f %s%s: headroom %.2f; run-queue p99 %.2f ms: x%.2f",
			 b->cpu_cores, cap,
			 be				       ? "cores (BestEffort default)"
			 : (p->signals & LB_SIGNAL_CPU_LIMITS) ? "cores (limit)"
							       : "cores (request)",
			 (p->signals & LB_SIGNAL_CPU_LIMITS) &&
					 b->throttled_s > LB_THROTTLED_AT_LIMIT
				 ? ", CFS-throttled"
				 : "",
			 headroom, b->runq_p99_s * 1e3, runq);
	else
		snprintf(out->why, sizeof(out->why), "run-queue p99 %.2f ms: x%.2f",
			 b->runq_p99_s * 1e3, runq);
	return s;
}

/* append " (...)" to the reason, cut to its size */
static void why_add(struct lb_weight_out *o, const char *what)
{
	size_t n = strlen(o->why);

	if (n + 1 < sizeof(o->why))
		snprintf(o->why + n, sizeof(o->why) - n, "; %s", what);
}

int lb_weights(const struct lb_weight_policy *p, const struct lb_backend_obs *b, size_t n,
	       struct lb_weight_out *out, bool *changed)
{
	double sum = 0, mean = 0, smax = 0, wmax = 0, pmax = 0, stop = 0;
	size_t measured = 0, ready = 0;
	bool any_prev = false, move = false;

	assert(p && (b || !n) && (out || !n) && changed);
	if (lb_weight_policy_check(p, NULL))
		return -EINVAL;
	*changed = false;
	for (size_t i = 0; i < n; i++) {
		memset(&out[i], 0, sizeof(out[i]));
		any_prev |= b[i].prev_weight > 0;
		if (!b[i].ready) {
			snprintf(out[i].why, sizeof(out[i].why), "not ready");
			continue;
		}
		ready++;
		if (!b[i].has_signal)
			continue;
		out[i].score = score(p, &b[i], &out[i]);
		if (out[i].score < LB_SCORE_MIN)
			out[i].score = LB_SCORE_MIN;
		sum += out[i].score;
		measured++;
	}
	if (!ready) {
		*changed = any_prev;
		return 0;
	}
	/* a backend without values (its agent silent, a pod just seen) scores as the mean */
	for (size_t i = 0; i < n; i++) {
		if (!b[i].ready)
			continue;
		if (!b[i].has_signal) {
			out[i].score = measured ? sum / (double)measured : 1;
			snprintf(out[i].why, sizeof(out[i].why), "no values: the others' mean");
		}
		mean += out[i].score / (double)ready;
		if (out[i].score > smax)
			smax = out[i].score;
	}
	/*
	 * Each weight moves from the published one by (score / mean)^LB_GAIN,
	 * within [1/LB_STEP_DOWN_MAX, LB_STEP_MAX]: the weights settle where the
	 * backends' scores are equal, whatever weights that takes (unequal
	 * capacities at equal scores are the loop's fixed point). A score
	 * within LB_DEADBAND of the mean does not move its weight: two healthy
	 * backends' measured headroom differs by noise, and following it walks
	 * their weights about. Down moves may be larger than up moves: a
	 * saturated backend is cut within two publications.
	 *
	 * Recovery: a backend whose weight is under LB_RAMP_BELOW of the
	 * largest published one and whose score is above that largest one's
	 * (by more than the dead band) climbs LB_STEP_MAX at once, up to the
	 * largest (never past it: the others would be scaled down with it). At
	 * a small weight it carries so little load that its headroom says
	 * little of what it could take, and at a light load its score is barely
	 * above the mean however idle it is, so it is given load to show it, as
	 * a slow start would: from the floor to the top in three publications
	 * (a larger step overshoots a backend that is still degraded but has
	 * some room, and the loop then swings).
	 *
	 * A backend without a published weight (the first publication, a pod
	 * turning ready) starts from its score's share of the largest.
	 */
	for (size_t i = 0; i < n; i++)
		if (b[i].ready && b[i].prev_weight > pmax) {
			pmax = b[i].prev_weight;
			stop = out[i].score;
		}
	for (size_t i = 0; i < n; i++) {
		double f;

		if (!b[i].ready)
			continue;
		if (!b[i].prev_weight) {
			out[i].raw = (double)p->scale * out[i].score / smax;
		} else {
			double r = out[i].score / mean;

			f = fabs(r - 1) <= LB_DEADBAND ? 1 : pow(r, LB_GAIN);
			if (f > LB_STEP_MAX)
				f = LB_STEP_MAX;
			if (f < 1 / LB_STEP_DOWN_MAX)
				f = 1 / LB_STEP_DOWN_MAX;
			if (b[i].prev_weight < LB_RAMP_BELOW * pmax &&
			    out[i].score > (1 + LB_DEADBAND) * stop)
				f = fmin(LB_STEP_MAX, pmax / b[i].prev_weight);
			out[i].raw = b[i].prev_weight * f;
		}
		if (out[i].raw > wmax)
			wmax = out[i].raw;
	}
	for (size_t i = 0; i < n; i++) {
		double w;

		if (!b[i].ready)
			continue;
		w = wmax > 0 ? (double)p->scale * out[i].raw / wmax : p->scale;
		/* slow start: a pod Ready for less than slow_start_s ramps up (Envoy's, linear) */
		if (p->slow_start_s > 0 && b[i].ready_for_s < p->slow_start_s) {
			double r = b[i].ready_for_s > 0 ? b[i].ready_for_s / p->slow_start_s : 0;
			char what[64];

			if (r < LB_SLOW_START_MIN)
				r = LB_SLOW_START_MIN;
			if (w > r * p->scale) {
				w = r * p->scale;
				snprintf(what, sizeof(what), "slow start %.0f%%", r * 100);
				why_add(&out[i], what);
			}
		}
		if (w < p->floor * p->scale) {
			w = p->floor * p->scale;
			why_add(&out[i], "floor");
		}
		out[i].weight = (uint32_t)lround(w);
		if (!out[i].weight)
			out[i].weight = 1;
	}
	/*
	 * Hysteresis: the published weights stay unless a backend turned
	 * ready or not, or one weight moved by more than the hysteresis
	 * (relative to the larger of its old and new value), so noise does not
	 * reshuffle the tables.
	 */
	if (!any_prev) {
		*changed = true;
		return 0;
	}
	for (size_t i = 0; i < n && !move; i++) {
		double o = b[i].prev_weight, w = out[i].weight, ref = o > w ? o : w;

		if ((o == 0) != (w == 0))
			move = true;
		else if (ref > 0 && fabs(w - o) > p->hysteresis * ref)
			move = true;
	}
	if (!move) {
		for (size_t i = 0; i < n; i++) {
			out[i].weight = b[i].prev_weight;
			out[i].held = b[i].ready;
		}
		return 0;
	}
	*changed = true;
	return 0;
}
