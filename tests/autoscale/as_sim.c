// SPDX-License-Identifier: MIT
/*
 * tests/autoscale/as_sim.c [--seed N] [--steps N] - how soon the same HPA
 * algorithm (control/autoscale) decides when it is fed ferry's 1 s signals,
 * and when it is fed the usual pipelines; a simulation for bench/autoscale.sh,
 * never a pass/fail test.
 *
 * The trace: a CPU demand made of sustained steps (N of them, at random
 * times, each held 8 to 14 minutes, each changing the ideal replica count by
 * 30 % or more), short spikes (1 to 5 s at 2 to 3 times the level, about one
 * every 4 minutes) and noise (each second's demand times 1 +- 15 %). Pods
 * request 500m and the target is 50 % utilization, so the ideal replica
 * count of a step is its level / 250m, between 1 and 20. Spikes and noise
 * are not in the ideal: an autoscaler should not follow them.
 *
 * The pipelines, each with its own replica count, at their own random phases:
 *   ferry, held 6 s     agents' 1 s rates, the controller every 1 s, each
 *                       pod's value as_sustain() over 6 s by the Held rule
 *                       (the lowest 1 s rate in it): the default
 *   ferry, held 2 s     the same over 2 s (a decision within about 2 s)
 *   ferry, mean 3 s     the Mean rule over 3 s (the default before)
 *   ferry, no window    1 s rates as they come (the window's worth, on
 *                       spikes)
 *   ferry, mean 3 s and a scale-up stabilization window of 8 s
 *   HPA + metrics-server 15 s: a 15 s rate refreshed every 15 s, the HPA's
 *                       15 s loop at an independent phase
 *   HPA + metrics-server 60 s (its default --metric-resolution): a 60 s rate
 *                       refreshed every 60 s, the 15 s loop
 *   HPA + KEDA/Prometheus: Prometheus scrapes every 15 s, KEDA polls every
 *                       30 s with a 1 min rate, the HPA's 15 s loop; as an
 *                       External AverageValue metric: ceil(total / target)
 * Three policies: no behavior (kubectl autoscale), the API's default
 * behavior, and a default behavior with a 30 s scale-down window.
 *
 * Options for measuring what costs what: --no-spikes and --no-noise take
 * them out of the trace (the ideal is the same); --window MS [--rule
 * held|mean] [--up-window S] [--tolerance T] adds a ferry row with that
 * window, rule, scale-up stabilization window and controller tolerance.
 * The phases of a row depend on the seed, the policy and the row's place
 * only, so an added row changes no other.
 *
 * What is simulated: measurement and decision. Pods are Ready the moment a
 * decision asks for them and take their share of the load at once (start
 * and Ready transition at that time, so the cpu initialization rules still
 * apply to them, as on a cluster); decision -> Ready (scheduling, image
 * pull, probes, node provisioning) is NOT here: the box tests measure it.
 * A pod's rate needs the whole window behind it (metrics-server needs two
 * scrapes), otherwise its sample is missing.
 *
 * Reported per pipeline: step -> decision (the first rescale in the step's
 * direction after it, before the next step; "missed" when there is none),
 * replica-seconds above and below the ideal (per hour), rescales, and
 * reversals (a rescale opposite to the previous one within 5 minutes).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "t_helpers.h"

#define TICK	  100 /* ms, the simulation's grid */
#define MAXR	  20
#define REQUEST	  500 /* millicores */
#define TARGET	  50  /* percent */
#define PER_IDEAL 250.0
#define MAXSTEPS  64
#define MAXSPIKES 256

struct trace {
	int64_t end;
	int nsteps;
	int64_t step_t[MAXSTEPS + 1]; /* step_t[0] = 0: the initial level */
	int ideal[MAXSTEPS + 1];
	int nspikes;
	int64_t spike_t[MAXSPIKES], spike_d[MAXSPIKES];
	double spike_h[MAXSPIKES];
	uint64_t noise_seed;
};

static uint64_t rng_state;
static bool no_spikes, no_noise;

static uint64_t rnd(void)
{
	/* xorshift64* */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 2685821657736338717ull;
}

static double urand(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int64_t irand(int64_t lo, int64_t hi) /* [lo, hi] */
{
	return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static void make_trace(struct trace *tr, int nsteps)
{
	int64_t t = 0;

	tr->nsteps = nsteps;
	tr->step_t[0] = 0;
	tr->ideal[0] = 4;
	for (int i = 1; i <= nsteps; i++) {
		int prev = tr->ideal[i - 1], k;

		t += irand(8 * 60, 14 * 60) * 1000 + irand(0, 9) * TICK;
		do
			k = (int)irand(1, MAXR - 4);
		while (abs(k - prev) < 2 || fabs((double)(k - prev)) < 0.3 * prev);
		tr->step_t[i] = t;
		tr->ideal[i] = k;
	}
	tr->end = t + 14 * 60 * 1000;
	tr->nspikes = (int)(tr->end / (240 * 1000));
	if (tr->nspikes > MAXSPIKES)
		tr->nspikes = MAXSPIKES;
	for (int i = 0; i < tr->nspikes; i++) {
		tr->spike_t[i] = irand(0, tr->end / TICK) * TICK;
		tr->spike_d[i] = irand(1, 5) * 1000;
		tr->spike_h[i] = 2 + urand();
	}
	tr->noise_seed = rnd();
}

static int step_at(const struct trace *tr, int64_t t)
{
	int i = 0;

	while (i < tr->nsteps && tr->step_t[i + 1] <= t)
		i++;
	return i;
}

/* The demand at @t (millicores): the step's level, the second's noise, spikes. */
static double demand(const struct trace *tr, int64_t t)
{
	double level = tr->ideal[step_at(tr, t)] * PER_IDEAL;
	double u = (double)(mix(tr->noise_seed ^ (uint64_t)(t / 1000)) >> 11) / 9007199254740992.0;
	double v = level * (1 + (no_noise ? 0 : 0.15) * (2 * u - 1));

	for (int i = 0; !no_spikes && i < tr->nspikes; i++)
		if (t >= tr->spike_t[i] && t < tr->spike_t[i] + tr->spike_d[i])
			v *= tr->spike_h[i];
	return v;
}

enum kind {
	K_FERRY,    /* per-pod 1 s points, as_sustain() */
	K_REFRESH,  /* a per-pod rate over a window, refreshed on a grid */
	K_EXTERNAL, /* KEDA: a total rate over a window, as an External AverageValue metric */
};

struct pipeline {
	const char *name;
	enum kind kind;
	int32_t up_window_s; /* > 0: behavior.scaleUp.stabilizationWindowSeconds (behavior only) */
	int64_t loop_ms;
	int64_t refresh_ms;	   /* K_REFRESH, K_EXTERNAL (the poll) */
	int64_t window_ms;	   /* the rate's window; K_FERRY: as_sustain()'s */
	int64_t scrape_ms;	   /* K_EXTERNAL: Prometheus' scrape interval */
	enum as_sustain_rule rule; /* K_FERRY */
	double tolerance;	   /* > 0: the controller's tolerance instead of 0.1 */
};

#define HELD AS_SUSTAIN_HELD
#define MEAN AS_SUSTAIN_MEAN
static const struct pipeline pipelines[] = {
	{"ferry: held 6 s (the default), 1 s loop", K_FERRY, 0, 1000, 1000, 6000, 0, HELD, 0},
	{"ferry: held 2 s", K_FERRY, 0, 1000, 1000, 2000, 0, HELD, 0},
	{"ferry: mean 3 s (the default before)", K_FERRY, 0, 1000, 1000, 3000, 0, MEAN, 0},
	{"ferry: 1 s values, no window", K_FERRY, 0, 1000, 1000, 1000, 0, MEAN, 0},
	{"ferry: mean 3 s, scale-up window 8 s", K_FERRY, 8, 1000, 1000, 3000, 0, MEAN, 0},
	{"HPA 15 s + metrics-server 15 s", K_REFRESH, 0, 15000, 15000, 15000, 0, MEAN, 0},
	{"HPA 15 s + metrics-server 60 s (default)", K_REFRESH, 0, 15000, 60000, 60000, 0, MEAN, 0},
	{"HPA 15 s + KEDA/Prometheus (30 s poll, 1 min rate)", K_EXTERNAL, 0, 15000, 30000, 60000,
	 15000, MEAN, 0},
};

struct config {
	const char *name;
	bool behavior;
	int32_t down_window_s; /* AS_UNSET: the default */
};

static const struct config configs[] = {
	{"no behavior (kubectl autoscale --cpu-percent=50 --min=1 --max=20)", false, AS_UNSET},
	{"behavior: the API's defaults (scale-down window 300 s)", true, AS_UNSET},
	{"behavior: the defaults with a 30 s scale-down window", true, 30},
};

struct result {
	double lat[2][MAXSTEPS];  /* [0] up, [1] down: step -> first decision its way */
	double band[2][MAXSTEPS]; /* step -> inside the tolerance band of the new level */
	int n_lat[2], n_band[2], missed[2], already[2];
	double above_rs, below_rs; /* replica-seconds */
	int rescales, reversals;
};

struct event {
	int64_t t;
	int dir;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int ideal_at(const struct trace *tr, int64_t t)
{
	return tr->ideal[step_at(tr, t)];
}

/* @n pods run the sustained level of @ideal within the 0.1 tolerance of the target */
static bool in_band(int32_t n, int ideal)
{
	return n * 1.1 >= ideal && n * 0.9 <= ideal;
}

static void simulate(const struct trace *tr, const struct pipeline *pl, const struct config *cf,
		     int64_t loop_phase, int64_t refresh_phase, int64_t scrape_phase,
		     struct result *res)
{
	size_t nticks = (size_t)(tr->end / TICK) + 2, nev = 0, cap_ev = 1024;
	double *cum = calloc(nticks, sizeof(*cum)); /* one pod's CPU (millicore-ms) since 0 */
	double *tot = calloc(nticks, sizeof(*tot)); /* all pods' CPU since 0 */
	struct event *ev = malloc(cap_ev * sizeof(*ev));
	struct as_metric_spec spec = {.source = AS_SRC_RESOURCE,
				      .resource = AS_RES_CPU,
				      .target = AS_TARGET_UTILIZATION,
				      .utilization = TARGET};
	struct as_metric_spec ext = {.source = AS_SRC_RESOURCE,
				     .resource = AS_RES_CPU,
				     .target = AS_TARGET_AVERAGE_VALUE,
				     .value = REQUEST * TARGET / 100};
	struct as_window w = {.window_ms = pl->window_ms, .stale_ms = 5000, .rule = pl->rule};
	struct as_point points[64];
	size_t npoints = 0;
	int64_t created[MAXR], last_val_t = -1, last_val_w = 0;
	double last_val = 0;
	struct as_policy pol;
	struct as_history h;
	struct as_err err;
	int32_t n = tr->ideal[0];
	double reach[MAXSTEPS + 1];
	int cur_step = 0;
	bool needs_none[MAXSTEPS + 1] = {false};

	for (int i = 0; i <= MAXSTEPS; i++)
		reach[i] = -1;
	if (!cum || !tot || !ev)
		t_error("no memory");
	as_policy_init(&pol);
	pol.min_replicas = 1;
	pol.max_replicas = MAXR;
	pol.metrics = pl->kind == K_EXTERNAL ? &ext : &spec;
	pol.n_metrics = 1;
	pol.has_behavior = cf->behavior;
	pol.down.window_s = cf->down_window_s;
	if (pl->up_window_s > 0)
		pol.up.window_s = pl->up_window_s;
	if (pl->tolerance > 0)
		pol.tolerance = pl->tolerance;
	if (as_policy_check(&pol, &err))
		t_error("%s", err.msg);
	as_history_init(&h);
	memset(res, 0, sizeof(*res));
	for (int i = 0; i < MAXR; i++)
		created[i] = -3600 * 1000; /* the first pods are old */

	for (size_t k = 1; k < nticks; k++) {
		int64_t t = (int64_t)k * TICK, prev_t = t - TICK;
		double d = demand(tr, prev_t);
		int ideal = ideal_at(tr, prev_t);

		/* step -> the count inside the tolerance band of the new level */
		if (step_at(tr, prev_t) != cur_step) {
			cur_step = step_at(tr, prev_t);
			/* enough pods already for a step up, few enough for a step down */
			needs_none[cur_step] =
				cur_step > 0 &&
				(tr->ideal[cur_step] > tr->ideal[cur_step - 1] ? n * 1.1 >= ideal
									       : n * 0.9 <= ideal);
		}
		if (cur_step > 0 && reach[cur_step] < 0 && in_band(n, ideal))
			reach[cur_step] = (prev_t - tr->step_t[cur_step]) / 1000.0;
		cum[k] = cum[k - 1] + d / n * TICK;
		tot[k] = tot[k - 1] + d * TICK;
		if (n > ideal)
			res->above_rs += (n - ideal) * (TICK / 1000.0);
		else
			res->below_rs += (ideal - n) * (TICK / 1000.0);

		/* the measurement */
		if (pl->kind == K_FERRY && (t - refresh_phase) % 1000 == 0 && t >= 1000) {
			if (npoints == 64)
				memmove(points, points + 1, --npoints * sizeof(points[0]));
			points[npoints++] = (struct as_point){
				.t = t,
				.dt = 1000,
				.value = llround((cum[k] - cum[k - 1000 / TICK]) / 1000.0)};
		} else if (pl->kind == K_REFRESH && (t - refresh_phase) % pl->refresh_ms == 0 &&
			   t >= pl->window_ms) {
			last_val = (cum[k] - cum[k - pl->window_ms / TICK]) / pl->window_ms;
			last_val_t = t;
			last_val_w = pl->window_ms;
		} else if (pl->kind == K_EXTERNAL && (t - refresh_phase) % pl->refresh_ms == 0) {
			/* the newest scrape at or before the poll, and its 1 min rate */
			int64_t s = t - ((t - scrape_phase) % pl->scrape_ms + pl->scrape_ms) %
						pl->scrape_ms;

			if (s >= pl->window_ms) {
				last_val = (tot[s / TICK] - tot[(s - pl->window_ms) / TICK]) /
					   pl->window_ms;
				last_val_t = s;
				last_val_w = pl->window_ms;
			}
		}

		/* the decision */
		if ((t - loop_phase) % pl->loop_ms)
			continue;
		struct as_pod pods[MAXR];
		struct as_sample samples[MAXR];
		struct as_metric_obs mo = {.pods = samples};
		struct as_observation obs = {.spec_replicas = n,
					     .status_replicas = n,
					     .pods = pods,
					     .n_pods = (size_t)n,
					     .metrics = &mo};
		struct as_decision dec;

		for (int p = 0; p < n; p++) {
			pods[p] = (struct as_pod){.start_time = created[p],
						  .ready_since = created[p]};
			samples[p] = (struct as_sample){.has_request = true, .request = REQUEST};
			if (pl->kind == K_FERRY) {
				size_t first = 0;

				/* the points of the pod's own life */
				while (first < npoints &&
				       points[first].t - points[first].dt < created[p])
					first++;
				as_sustain(points + first, npoints - first, t, &w, &samples[p]);
			} else if (pl->kind == K_EXTERNAL && last_val_t >= 0) {
				/* External: the total over the target per pod, no pods set aside */
				pods[p].start_time = pods[p].ready_since = -3600 * 1000;
				samples[p].present = true;
				samples[p].value = llround(last_val / n);
				samples[p].timestamp = last_val_t;
				samples[p].window = last_val_w;
			} else if (last_val_t >= 0 && created[p] <= last_val_t - last_val_w) {
				samples[p].present = true;
				samples[p].value = llround(last_val);
				samples[p].timestamp = last_val_t;
				samples[p].window = last_val_w;
			}
		}
		if (as_decide(&pol, &obs, t, &h, &dec, &err))
			t_error("as_decide: %s", err.msg);
		if (!dec.rescale)
			continue;
		as_scaled(&pol, &h, &dec, t);
		if (nev == cap_ev) {
			cap_ev *= 2;
			ev = realloc(ev, cap_ev * sizeof(*ev));
			if (!ev)
				t_error("no memory");
		}
		ev[nev++] = (struct event){.t = t, .dir = dec.desired_replicas > n ? 1 : -1};
		for (int p = n; p < dec.desired_replicas; p++)
			created[p] = t; /* Ready at once: decision -> Ready is not simulated */
		n = dec.desired_replicas;
	}

	res->rescales = (int)nev;
	for (size_t i = 1; i < nev; i++)
		if (ev[i].dir != ev[i - 1].dir && ev[i].t - ev[i - 1].t < 300 * 1000)
			res->reversals++;
	for (int s = 1; s <= tr->nsteps; s++) {
		int dir = tr->ideal[s] > tr->ideal[s - 1] ? 1 : -1, d = dir > 0 ? 0 : 1;
		int64_t until = s < tr->nsteps ? tr->step_t[s + 1] : tr->end;
		double lat = -1;

		if (reach[s] >= 0)
			res->band[d][res->n_band[d]++] = reach[s];
		if (needs_none[s]) {
			res->already[d]++;
			continue;
		}
		for (size_t i = 0; i < nev; i++) {
			if (ev[i].t >= tr->step_t[s] && ev[i].t < until && ev[i].dir == dir) {
				lat = (ev[i].t - tr->step_t[s]) / 1000.0;
				break;
			}
		}
		if (lat < 0)
			res->missed[d]++;
		else
			res->lat[d][res->n_lat[d]++] = lat;
	}
	as_history_fini(&h);
	free(ev);
	free(tot);
	free(cum);
}

/* "median / p90 / max" of @n values, with what was missed or not needed */
static void lat_cell(char *buf, size_t len, double *v, int n, int missed, int already)
{
	int o = 0;

	buf[0] = '\0';
	if (n) {
		qsort(v, (size_t)n, sizeof(*v), cmp_double);
		o = snprintf(buf, len, "%.1f / %.1f / %.1f", v[n / 2], v[(n * 9) / 10], v[n - 1]);
	} else {
		o = snprintf(buf, len, "-");
	}
	if (o > 0 && (size_t)o < len && (missed || already))
		snprintf(buf + o, len - (size_t)o, " (%d missed, %d needed none)", missed, already);
}

/* "median / p90" of the steps that reached the band, and how many of @all never did */
static void band_cell(char *buf, size_t len, double *v, int n, int all)
{
	int o;

	if (!n) {
		snprintf(buf, len, "never (%d)", all);
		return;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	o = snprintf(buf, len, "%.0f / %.0f", v[n / 2], v[(n * 9) / 10]);
	if (n < all && o > 0 && (size_t)o < len)
		snprintf(buf + o, len - (size_t)o, " (%d never)", all - n);
}

int main(int argc, char **argv)
{
	uint64_t seed = 18;
	int nsteps = 24;
	struct trace tr;
	struct pipeline x = {NULL, K_FERRY, 0, 1000, 1000, 0, 0, HELD, 0}; /* --window */
	char xname[96];

	for (int i = 1; i < argc; i++) {
		char *end = NULL;

		if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
			nsteps = (int)strtol(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--window") && i + 1 < argc)
			x.window_ms = strtoll(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--up-window") && i + 1 < argc)
			x.up_window_s = (int32_t)strtol(argv[++i], &end, 10);
		else if (!strcmp(argv[i], "--rule") && i + 1 < argc && !strcmp(argv[i + 1], "mean"))
			x.rule = MEAN, end = argv[++i] + 4;
		else if (!strcmp(argv[i], "--rule") && i + 1 < argc && !strcmp(argv[i + 1], "held"))
			x.rule = HELD, end = argv[++i] + 4;
		else if (!strcmp(argv[i], "--tolerance") && i + 1 < argc)
			x.tolerance = strtod(argv[++i], &end);
		else if (!strcmp(argv[i], "--no-spikes"))
			no_spikes = true, end = argv[i] + strlen(argv[i]);
		else if (!strcmp(argv[i], "--no-noise"))
			no_noise = true, end = argv[i] + strlen(argv[i]);
		if (!end || *end || end == argv[i])
			t_error("usage: as_sim [--seed N] [--steps N (1..%d)] [--no-spikes] "
				"[--no-noise] [--window MS (1000..60000) [--rule held|mean] "
				"[--up-window S] [--tolerance T]]",
				MAXSTEPS);
	}
	if (nsteps < 1 || nsteps > MAXSTEPS)
		t_error("--steps: 1..%d", MAXSTEPS);
	if (x.window_ms && (x.window_ms < 1000 || x.window_ms > 60000 || x.window_ms % 1000))
		t_error("--window: whole seconds, 1000..60000 ms");
	if (x.tolerance < 0 || x.tolerance >= 1)
		t_error("--tolerance: 0..1");
	if (x.up_window_s < 0 || x.up_window_s > 3600)
		t_error("--up-window: 0..3600");
	if (x.window_ms) {
		snprintf(xname, sizeof(xname), "ferry: %s %lld s%s",
			 x.rule == HELD ? "held" : "mean", (long long)x.window_ms / 1000,
			 x.up_window_s ? ", scale-up window" : "");
		if (x.up_window_s)
			snprintf(xname + strlen(xname), sizeof(xname) - strlen(xname), " %d s",
				 x.up_window_s);
		if (x.tolerance > 0)
			snprintf(xname + strlen(xname), sizeof(xname) - strlen(xname),
				 ", tolerance %.2f", x.tolerance);
		x.name = xname;
	}
	rng_state = mix(seed) | 1;
	make_trace(&tr, nsteps);

	int ups = 0;

	for (int s = 1; s <= tr.nsteps; s++)
		ups += tr.ideal[s] > tr.ideal[s - 1];
	printf("Trace (seed %llu): %d steps (%d up, %d down) over %.1f h, %d spikes of 1-5 s%s, "
	       "noise +-15 %% a second%s; ideal replicas 1-%d.\n\n",
	       (unsigned long long)seed, tr.nsteps, ups, tr.nsteps - ups, tr.end / 3600000.0,
	       tr.nspikes, no_spikes ? " (taken out)" : "", no_noise ? " (taken out)" : "", MAXR);
	for (size_t c = 0; c < sizeof(configs) / sizeof(configs[0]); c++) {
		printf("Policy: %s\n\n", configs[c].name);
		printf("| pipeline | step up -> decision, s | step down -> decision, s | step -> "
		       "in band, s (up; down: median / p90) | replica-s above, per h | below, per h "
		       "| rescales | reversals <= 5 min |\n|---|---|---|---|---|---|---|---|\n");
		size_t np = sizeof(pipelines) / sizeof(pipelines[0]);

		for (size_t p = 0; p < np + (x.name != NULL); p++) {
			const struct pipeline *pl = p < np ? &pipelines[p] : &x;
			/*
			 * phases on the grid, independent of each other and of the
			 * steps; a function of (seed, policy, row) alone
			 */
			uint64_t key = mix(seed ^ ((uint64_t)(c << 8 | p) << 32));
			int64_t rgrid = (pl->kind == K_FERRY ? 1000 : pl->refresh_ms) / TICK;
			int64_t lp = (int64_t)(key % (uint64_t)(pl->loop_ms / TICK)) * TICK;
			int64_t rp = (int64_t)(mix(key + 1) % (uint64_t)rgrid) * TICK;
			int64_t sp = pl->scrape_ms ? (int64_t)(mix(key + 2) %
							       (uint64_t)(pl->scrape_ms / TICK)) *
							     TICK
						   : 0;
			struct result r;
			char up[96], down[96], band[128];
			size_t o;
			double hours = tr.end / 3600000.0;

			if (pl->up_window_s > 0 && !configs[c].behavior)
				continue; /* a scale-up window needs a behavior */
			simulate(&tr, pl, &configs[c], lp, rp, sp, &r);
			lat_cell(up, sizeof(up), r.lat[0], r.n_lat[0], r.missed[0], r.already[0]);
			lat_cell(down, sizeof(down), r.lat[1], r.n_lat[1], r.missed[1],
				 r.already[1]);
			band_cell(band, sizeof(band), r.band[0], r.n_band[0], ups);
			o = strlen(band);
			snprintf(band + o, sizeof(band) - o, "; ");
			o = strlen(band);
			band_cell(band + o, sizeof(band) - o, r.band[1], r.n_band[1],
				  tr.nsteps - ups);
			printf("| %s | %s | %s | %s | %.0f | %.0f | %d | %d |\n", pl->name, up,
			       down, band, r.above_rs / hours, r.below_rs / hours, r.rescales,
			       r.reversals);
		}
		printf("\n");
	}
	return 0;
}
