// SPDX-License-Identifier: MIT
/*
 * tests/lb/t_lb_weights.c - control/lb's load-aware weights (lb_weights())
 * from tables: each row a set of backends as the agents measured them and
 * the weights expected (scale 1000, floor 5 %), with the rule it holds; then
 * a closed loop: three backends sharing a load by their weights, one of them
 * degraded then recovered, the weights settling without a swing.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "control/lb/lb.h"
#include "t_helpers.h"

#define N 4

struct row {
	const char *what;
	unsigned int signals; /* 0: the defaults */
	struct lb_backend_obs b[N];
	size_t n;
	uint32_t want[N];
	bool changed;
	const char *why_has; /* in out[0].why (NULL: not checked) */
};

/* ready for long, measured: @used of a @req-core request, no wait */
#define UP(used, req)                                                                              \
	{                                                                                          \
		.ready = true, .ready_for_s = 600, .has_signal = true, .cpu_cores = (used),        \
		.cpu_request = (req)                                                               \
	}

static const struct row rows[] = {
	{"equal load, equal headroom: equal weights",
	 0,
	 {UP(0.2, 0.5), UP(0.2, 0.5), UP(0.2, 0.5)},
	 3,
	 {1000, 1000, 1000},
	 true,
	 "headroom 0.60"},
	{"headroom in proportion (0.6 / 0.3 / 0.15 of the request)",
	 0,
	 {UP(0.2, 0.5), UP(0.35, 0.5), UP(0.425, 0.5)},
	 3,
	 {1000, 500, 250},
	 true,
	 NULL},
	{"a pod at its request has no headroom: the floor, 5 % of the largest",
	 0,
	 {UP(0.5, 0.5), UP(0.2, 0.5), UP(0.2, 0.5)},
	 3,
	 {50, 1000, 1000},
	 true,
	 "floor"},
	{"above its request (burstable) is no headroom either",
	 0,
	 {UP(0.8, 0.5), UP(0.2, 0.5), UP(0.2, 0.5)},
	 3,
	 {50, 1000, 1000},
	 true,
	 "headroom 0.00"},
	{"a pod not ready: 0, whatever it measures",
	 0,
	 {{.ready = false, .has_signal = true, .cpu_cores = 0, .cpu_request = 0.5}, UP(0.2, 0.5)},
	 2,
	 {0, 1000},
	 true,
	 "not ready"},
	{"every pod saturated, first publication: none is better, equal weights",
	 0,
	 {UP(0.5, 0.5), UP(0.6, 0.5), UP(0.9, 0.5)},
	 3,
	 {1000, 1000, 1000},
	 true,
	 "headroom 0.00"},
	{"a limit only: the request the API server defaults to it",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.15,
	   .cpu_limit = 0.3},
	  UP(0.15, 0.3)},
	 2,
	 {1000, 1000},
	 true,
	 "(request)"},
	{"BestEffort: 1 core assumed (the documented default)",
	 0,
	 {{.ready = true, .ready_for_s = 600, .has_signal = true, .cpu_cores = 0.5}, UP(0.25, 0.5)},
	 2,
	 {1000, 1000},
	 true,
	 "BestEffort"},
	{"run-queue wait at the target halves a weight",
	 LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_RUNQ,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .runq_p99_s = 0.002},
	  UP(0.2, 0.5)},
	 2,
	 {500, 1000},
	 true,
	 "x0.50"},
	{"run-queue alone (a neighbour on the CPU): 6 ms at a 2 ms target is a quarter",
	 LB_SIGNAL_RUNQ,
	 {{.ready = true, .ready_for_s = 600, .has_signal = true, .runq_p99_s = 0.006},
	  {.ready = true, .ready_for_s = 600, .has_signal = true}},
	 2,
	 {250, 1000},
	 true,
	 "run-queue p99 6.00 ms"},
	{"against limits: CFS throttling is no headroom, whatever the mean",
	 LB_SIGNAL_CPU_LIMITS,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_limit = 0.3,
	   .throttled_s = 0.4},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_limit = 1}},
	 2,
	 {50, 1000},
	 true,
	 "CFS-throttled"},
	{"against limits: a pod without a limit is held to its request",
	 LB_SIGNAL_CPU_LIMITS,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.25,
	   .cpu_request = 0.5},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.5,
	   .cpu_limit = 1}},
	 2,
	 {1000, 1000},
	 true,
	 NULL},
	{"slow start: Ready for 6 s of 30 is a fifth of its score",
	 0,
	 {{.ready = true, .ready_for_s = 6, .has_signal = true, .cpu_cores = 0, .cpu_request = 0.5},
	  UP(0, 0.5)},
	 2,
	 {200, 1000},
	 true,
	 "slow start 20%"},
	{"slow start begins at 10 %",
	 0,
	 {{.ready = true, .ready_for_s = 0.5, .has_signal = true, .cpu_request = 0.5}, UP(0, 0.5)},
	 2,
	 {100, 1000},
	 true,
	 "slow start 10%"},
	{"no values yet: the others' mean",
	 0,
	 {{.ready = true, .ready_for_s = 600, .cpu_request = 0.5}, UP(0.2, 0.5), UP(0.35, 0.5)},
	 3,
	 {750, 1000, 500},
	 true,
	 "no values"},
	{"nothing measured at all: equal",
	 0,
	 {{.ready = true, .ready_for_s = 600}, {.ready = true, .ready_for_s = 600}},
	 2,
	 {1000, 1000},
	 true,
	 "no values"},
	{"hysteresis: within 10 % of the published weights, they stay",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .prev_weight = 950},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .prev_weight = 1000}},
	 2,
	 {950, 1000},
	 false,
	 NULL},
	{"equal scores keep the published weights, whatever they are (the loop's fixed point)",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .prev_weight = 600},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .prev_weight = 1000}},
	 2,
	 {600, 1000},
	 false,
	 NULL},
	{"unequal scores: the one under 90 % of the largest weight with the better score climbs to "
	 "the largest (850 -> 1000), the other moves by (score / mean)^0.75 (1000 x 0.738): more "
	 "than 10 %: republished",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.1,
	   .cpu_request = 0.5,
	   .prev_weight = 850},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.3,
	   .cpu_request = 0.5,
	   .prev_weight = 1000}},
	 2,
	 {1000, 738},
	 true,
	 NULL},
	{"a recovered backend at the floor (under 90 % of the largest, its score above the "
	 "largest one's) climbs 3x while a saturated one falls by its bound, 10x ((0.01 / "
	 "0.505)^0.75 is 0.053): 150 against 100, scaled: 1000 and 667",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0,
	   .cpu_request = 0.5,
	   .prev_weight = 50},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.495,
	   .cpu_request = 0.5,
	   .prev_weight = 1000}},
	 2,
	 {1000, 667},
	 true,
	 NULL},
	{"light load: a backend left at 541 after a recovery, its score (0.83) above the largest "
	 "one's (0.73) by more than the dead band, climbs to the largest; the others stay (within "
	 "the dead band of the mean)",
	 0,
	 {{.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.051,
	   .cpu_request = 0.3,
	   .prev_weight = 541},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.081,
	   .cpu_request = 0.3,
	   .prev_weight = 1000},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.081,
	   .cpu_request = 0.3,
	   .prev_weight = 921}},
	 3,
	 {1000, 1000, 921},
	 true,
	 NULL},
	{"hysteresis: a pod turning not ready republishes at once",
	 0,
	 {{.ready = false, .prev_weight = 1000},
	  {.ready = true,
	   .ready_for_s = 600,
	   .has_signal = true,
	   .cpu_cores = 0.2,
	   .cpu_request = 0.5,
	   .prev_weight = 1000}},
	 2,
	 {0, 1000},
	 true,
	 NULL},
	{"no backend ready: nothing to publish",
	 0,
	 {{.ready = false}, {.ready = false}},
	 2,
	 {0, 0},
	 false,
	 NULL},
};

/* whether @o's reason says @what (a function: GCC 12 at -O3 misjudges the bounds inline) */
static __attribute__((noinline)) bool says(const struct lb_weight_out *o, const char *what)
{
	return strstr(o->why, what) != NULL;
}

static void check_rows(void)
{
	for (size_t r = 0; r < sizeof(rows) / sizeof(rows[0]); r++) {
		const struct row *w = &rows[r];
		struct lb_weight_policy p;
		struct lb_weight_out out[N];
		bool changed = !w->changed;

		lb_weight_policy_init(&p);
		if (w->signals)
			p.signals = w->signals;
		T_ASSERT_EQ(lb_weights(&p, w->b, w->n, out, &changed), 0);
		for (size_t i = 0; i < w->n; i++)
			T_ASSERT(out[i].weight == w->want[i],
				 "%s: backend %zu weight %u, want %u (%s)", w->what, i,
				 out[i].weight, w->want[i], out[i].why);
		T_ASSERT(changed == w->changed, "%s: changed %d", w->what, changed);
		if (w->why_has) {
			bool found = false;

			for (size_t i = 0; i < w->n; i++)
				found |= says(&out[i], w->why_has);
			T_ASSERT(found, "%s: no reason says '%s' (%s)", w->what, w->why_has,
				 out[0].why);
		}
	}
}

static void check_policy(void)
{
	struct lb_weight_policy p;
	struct lb_err err;
	struct lb_backend_obs b = UP(0.1, 0.5);
	struct lb_weight_out o;
	bool changed;
	lb_weight_policy_init(&p);
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), 0);
	p.signals = LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "not both"), "%s", err.msg);
	T_ASSERT_EQ(lb_weights(&p, &b, 1, &o, &changed), -EINVAL);
	lb_weight_policy_init(&p);
	p.signals = 0;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	lb_weight_policy_init(&p);
	p.floor = 0;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "floor"), "%s", err.msg);
	lb_weight_policy_init(&p);
	p.hysteresis = 1;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	lb_weight_policy_init(&p);
	p.runq_target_s = NAN;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	lb_weight_policy_init(&p);
	p.scale = 10;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
	lb_weight_policy_init(&p);
	p.slow_start_s = -1;
	T_ASSERT_EQ(lb_weight_policy_check(&p, &err), -EINVAL);
}

/*
 * A closed loop, one step per 5 s publication: 3 backends of 0.5 core
 * requests share 0.9 core of load in proportion to their weights; backend 0
 * loses 0.35 core to a burner inside its limit from step 10 to step 30
 * (each pod's capacity for the load is its request less the burner). The
 * weights must settle (no weight moves by more than 10 % over the last 12
 * steps of each phase), backend 0's share falls while degraded and it
 * regains >= 90 % of its healthy share within 6 steps (30 s) of recovery.
 */
static void check_loop(void)
{
	struct lb_weight_policy p;
	struct lb_backend_obs b[3];
	struct lb_weight_out out[3];
	double share[60], healthy = 0;
	uint32_t hist[60][3];
	int recovered_at = -1;

	lb_weight_policy_init(&p);
	for (int i = 0; i < 3; i++)
		b[i] = (struct lb_backend_obs)UP(0.3, 0.5);
	for (int t = 0; t < 60; t++) {
		double burn = t >= 10 && t < 30 ? 0.35 : 0, wsum = 0;
		bool changed;

		T_ASSERT_EQ(lb_weights(&p, b, 3, out, &changed), 0);
		for (int i = 0; i < 3; i++) {
			b[i].prev_weight = out[i].weight;
			hist[t][i] = out[i].weight;
			wsum += out[i].weight;
		}
		for (int i = 0; i < 3; i++) {
			double load = 0.9 * out[i].weight / wsum;

			b[i].cpu_cores = load + (i == 0 ? burn : 0);
		}
		share[t] = out[0].weight / wsum;
		if (t == 9)
			healthy = share[t];
		if (t >= 30 && recovered_at < 0 && share[t] >= 0.9 * healthy)
			recovered_at = t;
	}
	T_ASSERT(healthy > 0.3 && healthy < 0.37, "healthy share %.3f", healthy);
	T_ASSERT(share[29] < 0.5 * healthy, "degraded share %.3f against %.3f", share[29], healthy);
	T_ASSERT(recovered_at >= 30 && recovered_at <= 36, "recovered at step %d", recovered_at);
	for (int phase = 0; phase < 3; phase++) {
		int end = phase == 0 ? 10 : phase == 1 ? 30 : 60;

		for (int i = 0; i < 3; i++) {
			uint32_t lo = UINT32_MAX, hi = 0;

			for (int t = end - 6; t < end; t++) {
				lo = hist[t][i] < lo ? hist[t][i] : lo;
				hi = hist[t][i] > hi ? hist[t][i] : hi;
			}
			T_ASSERT(hi <= lo * 1.1 + 1, "phase %d backend %d swings %u..%u", phase, i,
				 lo, hi);
		}
	}
	printf("t_lb_weights: closed loop: healthy share %.3f, degraded %.3f, recovered at +%d s\n",
	       healthy, share[29], (recovered_at - 30) * 5);
}

int main(void)
{
	check_rows();
	check_policy();
	check_loop();
	printf("t_lb_weights: %zu rows ok\n", sizeof(rows) / sizeof(rows[0]));
	return T_EXIT_PASS;
}
