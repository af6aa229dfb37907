// SPDX-License-Identifier: MIT
/*
 * tests/autoscale/t_autoscale.c - the HPA algorithm of control/autoscale
 * from tables. Every row names where it comes from: a test function of
 * kubernetes/kubernetes pkg/controller/podautoscaler (replica_calculator_test.go,
 * horizontal_test.go), whose setup and expectation it restates, or a section
 * of kubernetes/website horizontal-pod-autoscale.md (or the KEP-4951 post).
 *
 * How upstream's fixtures map here: a pod's level and request are the pod's
 * totals (upstream's two containers double both, which changes no ratio but
 * doubles the raw averages it reports; ours are per pod). Rows from upstream
 * run with its testing periods (cpu initialization 2 min, readiness delay
 * 10 s); a "hot" pod started now, a "cool" one 3 min ago, others at time 0,
 * each pod's Ready transition at its start, every sample taken now over a
 * 1 min window, as upstream's fixtures have them. Upstream's controller
 * tests raise the behavior-less scale-up cap to 8 x; ours is the production
 * 2 x, and the rows taken from them reach the same count either way.
 * Pods metrics use one of ferry's signal names where upstream says "qps".
 *
 * A row is: name, source, minReplicas, maxReplicas, spec.replicas, pods,
 * then the pods' codes (ready T/F/U/N, start h/c/z/n, phase R/P/S/F/U,
 * del 1), the metrics and the history. Its expectation is a string of
 * checks: "want=N" (status.desiredReplicas, -1 when the metrics failed),
 * "pre=N" (the metrics' proposal), "rescale=0|1", "able=REASON" (after
 * as_scaled() when it rescales), "active=REASON", "limited=REASON/T|F"
 * ("limited=-": not set this pass), "util=N", "avg=N"
 * (status.currentMetrics[0]), "recs=a,b,c" (the history's recommendations,
 * in order), "up=a,b"/"down=a,b" (scale events after as_scaled(), "!"
 * marking an outdated one), "err" (a metric failed).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "t_helpers.h"

#define NP	12	     /* levels and requests spelled out per pod */
#define MAXP	128	     /* pods in a row */
#define NOW	1000000000LL /* ms */
#define S	1000LL
#define MIN	(60 * S)

#define rx_pkts "ferry_network_receive_packets_per_second"
#define runq	"ferry_runqueue_wait_p99_seconds"

struct pm {
	enum as_source src;
	enum as_resource res;
	const char *name;
	enum as_target_type tt;
	int32_t util;
	int64_t value;
	int n;		/* the first n pods have a sample */
	int64_t lv[NP]; /* their values */
	int64_t all;	/* n == 0 and all > 0: every pod has this value (0: use .zero) */
	bool zero;	/* every pod has the value 0 */
	int fetch_err;
};

struct row {
	const char *name, *from;
	int32_t min, max, spec;
	int npods;
	int64_t req[NP]; /* 0: 1000 (upstream's "1.0") */
	bool noreq;
	const char *ready, *start, *phase, *del;
	struct pm m[2];
	int nm;
	/*
	 * A behavior's rules as a row spells them: a zero tolerance is unset,
	 * and so is the window when neither selectPolicy nor policies are given.
	 */
	bool behavior;
	struct as_rules up, down;
	const char *recs;	   /* NULL: a fresh history; "": started, empty; "r@s,..." */
	const char *upev, *downev; /* "1,5,9/120": upstream's uniform distribution; "7@-61,..." */
	bool prod_periods;	   /* the controller's 5 min / 30 s instead of 2 min / 10 s */
	const char *expect;
};

/* ---- policies used by several rows ---- */

/* A row's rules with its shorthand undone (struct row). */
static struct as_rules row_rules(const struct as_rules *r)
{
	struct as_rules o = *r;

	if (o.select == AS_SELECT_UNSET && !o.n_policies)
		o.window_s = AS_UNSET;
	if (o.tolerance == 0)
		o.tolerance = -1;
	return o;
}

/* generateEventsUniformDistribution(): events in the middle of equal segments of the period. */
static void add_events(struct as_history *h, bool up, const char *spec)
{
	int v[16], n = 0, period;
	const char *p = spec;
	char *end;

	if (strchr(spec, '@')) { /* explicit: change@seconds */
		while (*p) {
			long c = strtol(p, &end, 10), s;

			T_ASSERT(*end == '@', "bad events %s", spec);
			s = strtol(end + 1, &end, 10);
			T_ASSERT(!as_history_add_event(h, up, NOW + s * S, (int32_t)c));
			p = *end == ',' ? end + 1 : end;
		}
		return;
	}
	while (*p && *p != '/') {
		v[n++] = (int)strtol(p, &end, 10);
		p = *end == ',' ? end + 1 : end;
	}
	T_ASSERT(*p == '/' && n > 0, "bad events %s", spec);
	period = atoi(p + 1);
	for (int i = 0; i < n; i++) {
		double seg = (double)period / n;
		int64_t back =
			(int64_t)((double)period - seg * (i + 1) + seg / 2); /* whole seconds */

		T_ASSERT(!as_history_add_event(h, up, NOW - back * S, v[i]));
	}
}

static void add_recs(struct as_history *h, const char *spec)
{
	const char *p = spec;
	char *end;

	h->started = true;
	while (*p) {
		long r = strtol(p, &end, 10);
		long s;

		T_ASSERT(*end == '@', "bad recs %s", spec);
		s = strtol(end + 1, &end, 10);
		T_ASSERT(!as_history_add_rec(h, NOW + s * S, (int32_t)r));
		p = *end == ',' ? end + 1 : end;
	}
}

static char code(const char *s, int i, char dflt)
{
	return s && s[i] ? s[i] : dflt;
}

/* ---- checks ---- */

static const char *cond_str(const struct as_condition *c, char *buf, size_t len)
{
	if (!c->set)
		return "-";
	snprintf(buf, len, "%s/%c", c->reason, c->status ? 'T' : 'F');
	return buf;
}

static void check_list(const char *row, const char *what, const char *want, const int32_t *v,
		       const bool *outdated, size_t n)
{
	char got[512] = "";
	size_t o = 0;

	for (size_t i = 0; i < n; i++)
		o += snprintf(got + o, sizeof(got) - o, "%s%d%s", i ? "," : "", v[i],
			      outdated && outdated[i] ? "!" : "");
	if (strcmp(got, want))
		t_fail("%s: %s %s, want %s", row, what, got, want);
}

static void check(const char *row, const char *expect, const struct as_decision *d,
		  const struct as_history *h)
{
	char buf[128], key[32], val[128];
	const char *p = expect;
	int32_t v[64];
	bool od[64];

	while (*p) {
		int len = 0;

		while (*p == ' ')
			p++;
		if (!*p)
			break;
		if (sscanf(p, "%31[^= ]=%127s%n", key, val, &len) != 2) {
			T_ASSERT(sscanf(p, "%31s%n", key, &len) == 1);
			val[0] = '\0';
		}
		p += len;
		if (!strcmp(key, "want")) {
			if (d->desired_replicas != atoi(val))
				t_fail("%s: desired %d, want %s", row, d->desired_replicas, val);
		} else if (!strcmp(key, "pre")) {
			if (d->metric_replicas != atoi(val))
				t_fail("%s: metrics proposed %d, want %s", row, d->metric_replicas,
				       val);
		} else if (!strcmp(key, "rescale")) {
			if (d->rescale != (atoi(val) != 0))
				t_fail("%s: rescale %d, want %s", row, d->rescale, val);
		} else if (!strcmp(key, "able") || !strcmp(key, "active") ||
			   !strcmp(key, "limited")) {
			const struct as_condition *c = key[0] == 'a' && key[1] == 'b'
							       ? &d->able_to_scale
						       : key[0] == 'a' ? &d->scaling_active
								       : &d->scaling_limited;
			const char *got = cond_str(c, buf, sizeof(buf));

			if (strchr(val, '/') || !strcmp(val, "-")
				    ? strcmp(got, val)
				    : strncmp(got, val, strlen(val)) || got[strlen(val)] != '/')
				t_fail("%s: %s %s, want %s (%s)", row, key, got, val,
				       c->set ? c->message : "");
			if (c->set && !c->message[0])
				t_fail("%s: %s without a message", row, key);
		} else if (!strcmp(key, "util")) {
			if (!d->metrics[0].valid || !d->metrics[0].has_utilization ||
			    d->metrics[0].average_utilization != atoi(val))
				t_fail("%s: utilization %d (valid %d), want %s", row,
				       d->metrics[0].average_utilization, d->metrics[0].valid, val);
		} else if (!strcmp(key, "avg")) {
			if (!d->metrics[0].valid || d->metrics[0].average_value != atoll(val))
				t_fail("%s: average value %lld (valid %d), want %s", row,
				       (long long)d->metrics[0].average_value, d->metrics[0].valid,
				       val);
		} else if (!strcmp(key, "err")) {
			if (!d->metrics_err || !d->metrics_msg[0])
				t_fail("%s: no failed metric", row);
		} else if (!strcmp(key, "recs")) {
			for (size_t i = 0; i < h->n_recs && i < 64; i++)
				v[i] = h->recs[i].replicas;
			check_list(row, "recommendations", val, v, NULL, h->n_recs);
		} else if (!strcmp(key, "up") || !strcmp(key, "down")) {
			const struct as_event *e = key[0] == 'u' ? h->up : h->down;
			size_t n = key[0] == 'u' ? h->n_up : h->n_down;

			for (size_t i = 0; i < n && i < 64; i++) {
				v[i] = e[i].change;
				od[i] = e[i].outdated;
			}
			check_list(row, key, val, v, od, n);
		} else {
			t_error("%s: unknown check %s", row, key);
		}
	}
}

/* ---- running a row ---- */

static void run_row(const struct row *r)
{
	struct as_metric_spec specs[2];
	static struct as_sample samples[2][MAXP];
	static struct as_pod pods[MAXP];
	struct as_metric_obs mobs[2];
	struct as_observation obs = {.spec_replicas = r->spec,
				     .status_replicas = r->spec,
				     .pods = pods,
				     .n_pods = (size_t)r->npods,
				     .metrics = mobs};
	struct as_policy pol;
	struct as_history h;
	struct as_decision d;
	struct as_err err;
	int ret;

	as_policy_init(&pol);
	pol.min_replicas = r->min;
	pol.max_replicas = r->max;
	if (!r->prod_periods) {
		pol.cpu_init_period_ms = 2 * MIN; /* defaultTestingCPUInitializationPeriod */
		pol.readiness_delay_ms = 10 * S;  /* defaultTestingDelayOfInitialReadinessStatus */
	}
	if (r->behavior) {
		pol.has_behavior = true;
		pol.up = row_rules(&r->up);
		pol.down = row_rules(&r->down);
	}
	T_ASSERT(r->npods <= MAXP, "%s: too many pods", r->name);
	for (int j = 0; j < r->nm; j++) {
		const struct pm *m = &r->m[j];

		specs[j] = (struct as_metric_spec){.source = m->src,
						   .resource = m->res,
						   .name = m->name,
						   .target = m->tt,
						   .utilization = m->util,
						   .value = m->value};
		mobs[j] = (struct as_metric_obs){.fetch_err = m->fetch_err, .pods = samples[j]};
		for (int i = 0; i < r->npods; i++) {
			bool every = !m->n && (m->all || m->zero);

			samples[j][i] = (struct as_sample){
				.present = every || i < m->n,
				.value = every	    ? m->all
					 : i < m->n ? m->lv[i]
						    : 0,
				.timestamp = NOW,
				.window = MIN,
				.has_request = !r->noreq,
				.request = i < NP && r->req[i] ? r->req[i] : 1000,
			};
		}
	}
	pol.metrics = specs;
	pol.n_metrics = (size_t)r->nm;
	for (int i = 0; i < r->npods; i++) {
		char st = code(r->start, i, 'z');
		int64_t start = st == 'h'   ? NOW
				: st == 'c' ? NOW - 3 * MIN
				: st == 'n' ? AS_NO_TIME
					    : 0;
		char rd = code(r->ready, i, 'T'), ph = code(r->phase, i, 'R');

		pods[i] = (struct as_pod){
			.phase = ph == 'P'   ? AS_PHASE_PENDING
				 : ph == 'S' ? AS_PHASE_SUCCEEDED
				 : ph == 'F' ? AS_PHASE_FAILED
				 : ph == 'U' ? AS_PHASE_UNKNOWN
					     : AS_PHASE_RUNNING,
			.deleting = code(r->del, i, '0') == '1',
			.ready = rd == 'F'   ? AS_READY_FALSE
				 : rd == 'U' ? AS_READY_UNKNOWN
				 : rd == 'N' ? AS_READY_NONE
					     : AS_READY_TRUE,
			.ready_since = start == AS_NO_TIME ? 0 : start,
			.start_time = start,
		};
	}

	ret = as_policy_check(&pol, &err);
	if (ret)
		t_fail("%s: policy refused: %s", r->name, err.msg);
	as_history_init(&h);
	if (r->recs)
		add_recs(&h, r->recs);
	if (r->upev)
		add_events(&h, true, r->upev);
	if (r->downev)
		add_events(&h, false, r->downev);
	ret = as_decide(&pol, &obs, NOW, &h, &d, &err);
	if (ret)
		t_fail("%s: as_decide %d: %s", r->name, ret, err.msg);
	if (d.rescale)
		T_ASSERT(!as_scaled(&pol, &h, &d, NOW), "%s", r->name);
	check(r->name, r->expect, &d, &h);
	as_history_fini(&h);
}

#define CPU_UTIL(t, ...)                                                                           \
	.m = {{.src = AS_SRC_RESOURCE,                                                             \
	       .res = AS_RES_CPU,                                                                  \
	       .tt = AS_TARGET_UTILIZATION,                                                        \
	       .util = (t),                                                                        \
	       __VA_ARGS__}},                                                                      \
	.nm = 1
#define PODS_AVG(metric, t, ...)                                                                   \
	.m = {{.src = AS_SRC_PODS,                                                                 \
	       .name = (metric),                                                                   \
	       .tt = AS_TARGET_AVERAGE_VALUE,                                                      \
	       .value = (t),                                                                       \
	       __VA_ARGS__}},                                                                      \
	.nm = 1
#define LV(...) .n = sizeof((int64_t[]){__VA_ARGS__}) / sizeof(int64_t), .lv = {__VA_ARGS__}

#define RC	"replica_calculator_test.go: "
#define HZ	"horizontal_test.go: "
#define DOC	"horizontal-pod-autoscale.md: "

static const struct row rows[] = {
	/* ---- replica_calculator.go: one metric's proposal ---- */
	{"scale up", RC "TestReplicaCalcScaleUp", 1, 100, 3, 3, CPU_UTIL(30, LV(300, 500, 700)),
	 .recs = "", .expect = "pre=5 util=50 avg=500"},
	{"scale up, an unready pod counts 0 %", RC "TestReplicaCalcScaleUpUnreadyLessScale", 1, 100,
	 3, 3, .ready = "FTT", CPU_UTIL(30, LV(300, 500, 700)), .recs = "",
	 .expect = "pre=4 util=60 avg=600"},
	{"scale up, a pod in its cpu initialization period counts 0 %",
	 RC "TestReplicaCalcScaleUpHotCpuLessScale", 1, 100, 3, 3, .start = "hcc",
	 CPU_UTIL(30, LV(300, 500, 700)), .recs = "", .expect = "pre=4 util=60"},
	{"scale up undone: with unready pods at 0 % the direction reverses",
	 RC "TestReplicaCalcScaleUpUnreadyNoScale", 1, 100, 3, 3, .ready = "TFF",
	 CPU_UTIL(30, LV(400, 500, 700)), .recs = "", .expect = "pre=3 util=40"},
	{"scale up undone: hot unready pods", RC "TestReplicaCalcScaleHotCpuNoScale", 1, 100, 3, 3,
	 .ready = "TFF", .start = "chh", CPU_UTIL(30, LV(400, 500, 700)), .recs = "",
	 .expect = "pre=3 util=40"},
	{"failed pods are set aside", RC "TestReplicaCalcScaleUpIgnoresFailedPods", 1, 100, 2, 4,
	 .ready = "TTFF", .phase = "RRFF", CPU_UTIL(30, LV(500, 700)), .recs = "",
	 .expect = "pre=4 util=60"},
	{"deleting pods are set aside", RC "TestReplicaCalcScaleUpIgnoresDeletionPods", 1, 100, 2,
	 4, .ready = "TTFF", .del = "0011", CPU_UTIL(30, LV(500, 700)), .recs = "",
	 .expect = "pre=4 util=60"},
	{"Pods metric", RC "TestReplicaCalcScaleUpCM", 1, 100, 3, 3,
	 PODS_AVG(rx_pkts, 15000, LV(20000, 10000, 30000)), .recs = "",
	 .expect = "pre=4 avg=20000"},
	{"Pods metric: readiness is a cpu rule only",
	 RC "TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", 1, 100, 3, 3, .ready = "TTF",
	 .start = "cch", PODS_AVG(rx_pkts, 15000, LV(50000, 10000, 30000)), .recs = "",
	 .expect = "pre=6 avg=30000"},
	{"Pods metric: hot unready pods still count",
	 RC "TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", 1, 100, 3, 3,
	 .ready = "FTF", .start = "hch", PODS_AVG(rx_pkts, 15000, LV(50000, 15000, 30000)),
	 .recs = "", .expect = "pre=7 avg=31666"},
	{"scale down", RC "TestReplicaCalcScaleDown", 1, 100, 5, 5,
	 CPU_UTIL(50, LV(100, 300, 500, 250, 250)), .recs = "", .expect = "pre=3 util=28 avg=280"},
	{"scale down, Pods metric", RC "TestReplicaCalcScaleDownCM", 1, 100, 5, 5,
	 PODS_AVG(rx_pkts, 20000, LV(12000, 12000, 12000, 12000, 12000)), .recs = "",
	 .expect = "pre=3 avg=12000"},
	{"scale down leaves unready pods out", RC "TestReplicaCalcScaleDownIncludeUnreadyPods", 1,
	 100, 5, 5, .ready = "TTTFF", CPU_UTIL(50, LV(100, 300, 500, 250, 250)), .recs = "",
	 .expect = "pre=2 util=30"},
	{"Pending pods are set aside", RC "TestReplicaCalcScaleDownExcludeUnscheduledPods", 1, 100,
	 5, 5, .ready = "TFFFF", .phase = "RPPPP", CPU_UTIL(50, LV(100)), .recs = "",
	 .expect = "pre=1 util=10"},
	{"scale down leaves hot pods out", RC "TestReplicaCalcScaleDownIgnoreHotCpuPods", 1, 100, 5,
	 5, .start = "ccchh", CPU_UTIL(50, LV(100, 300, 500, 250, 250)), .recs = "",
	 .expect = "pre=2 util=30"},
	{"scale down: failed pods set aside", RC "TestReplicaCalcScaleDownIgnoresFailedPods", 1,
	 100, 5, 7, .ready = "TTTTTFF", .phase = "RRRRRFF",
	 CPU_UTIL(50, LV(100, 300, 500, 250, 250)), .recs = "", .expect = "pre=3 util=28"},
	{"scale down: deleting pods set aside", RC "TestReplicaCalcScaleDownIgnoresDeletionPods", 1,
	 100, 5, 7, .ready = "TTTTTFF", .del = "0000011", CPU_UTIL(50, LV(100, 300, 500, 250, 250)),
	 .recs = "", .expect = "pre=3 util=28"},
	{"within the tolerance", RC "TestReplicaCalcTolerance", 1, 100, 3, 3,
	 .req = {900, 1000, 1100}, CPU_UTIL(100, LV(1010, 1030, 1020)), .recs = "",
	 .expect = "pre=3 util=102"},
	{"within the tolerance, Pods metric", RC "TestReplicaCalcToleranceCM", 1, 100, 3, 3,
	 PODS_AVG(rx_pkts, 20000, LV(20000, 21000, 21000)), .recs = "",
	 .expect = "pre=3 avg=20666"},
	{"missing metrics count 100 % on a scale-down", RC "TestReplicaCalcMissingMetrics", 1, 100,
	 4, 4, CPU_UTIL(100, LV(400, 95)), .recs = "", .expect = "pre=3 util=24 avg=247"},
	{"missing metrics on a scale-down count at a target over 100 %",
	 RC "TestReplicaCalcMissingMetricsScaleDownTargetOver100", 1, 100, 4, 4, .ready = "FTTT",
	 .req = {1000, 1000, 2000, 2000}, CPU_UTIL(300, LV(200, 100, 100)), .recs = "",
	 .expect = "pre=2 util=6 avg=100"},
	{"missing metrics: no change (equal)", RC "TestReplicaCalcMissingMetricsNoChangeEq", 1, 100,
	 2, 2, CPU_UTIL(100, LV(1000)), .recs = "", .expect = "pre=2 util=100"},
	{"missing metrics: 0 % on a scale-up lands in tolerance",
	 RC "TestReplicaCalcMissingMetricsNoChangeGt", 1, 100, 2, 2, CPU_UTIL(100, LV(1900)),
	 .recs = "", .expect = "pre=2 util=190"},
	{"missing metrics: more pods would reverse a scale-down",
	 RC "TestReplicaCalcMissingMetricsNoChangeLt", 1, 100, 2, 2, CPU_UTIL(100, LV(600)),
	 .recs = "", .expect = "pre=2 util=60"},
	{"missing and unready: the direction reverses",
	 RC "TestReplicaCalcMissingMetricsUnreadyChange", 1, 100, 3, 3, .ready = "FTT",
	 CPU_UTIL(50, LV(100, 450)), .recs = "", .expect = "pre=3 util=45"},
	{"missing and hot: the direction reverses",
	 RC "TestReplicaCalcMissingMetricsHotCpuNoChange", 1, 100, 3, 3, .start = "hcc",
	 CPU_UTIL(50, LV(100, 450)), .recs = "", .expect = "pre=3 util=45"},
	{"missing and unready on a scale-up", RC "TestReplicaCalcMissingMetricsUnreadyScaleUp", 1,
	 100, 3, 3, .ready = "FTT", CPU_UTIL(50, LV(100, 2000)), .recs = "",
	 .expect = "pre=4 util=200"},
	{"missing and hot on a scale-up", RC "TestReplicaCalcMissingMetricsHotCpuScaleUp", 1, 100,
	 3, 3, .ready = "FTT", .start = "hcc", CPU_UTIL(50, LV(100, 2000)), .recs = "",
	 .expect = "pre=4 util=200"},
	{"missing and unready on a scale-down", RC "TestReplicaCalcMissingMetricsUnreadyScaleDown",
	 1, 100, 4, 4, .ready = "FTTT", CPU_UTIL(50, LV(100, 100, 100)), .recs = "",
	 .expect = "pre=3 util=10"},
	{"a surge pod without metrics cannot make a scale-down grow",
	 RC "TestReplicaCalcDuringRollingUpdateWithMaxSurge", 1, 100, 2, 3,
	 CPU_UTIL(50, LV(100, 100)), .recs = "", .expect = "pre=2 util=10"},
	{"tolerance calibrated: just outside",
	 RC "TestReplicaCalcComputedToleranceAlgImplementation", 1, 100, 10, 10,
	 .req = {400, 200, 310, 290, 302, 298, 301, 299, 300, 300},
	 CPU_UTIL(56, LV(150, 150, 150, 150, 150, 150, 150, 150, 150, 150)), .recs = "",
	 .expect = "pre=9 util=50"},
	{"tolerance calibrated: just inside",
	 RC "TestReplicaCalcComputedToleranceAlgImplementation", 1, 100, 10, 10,
	 .req = {400, 200, 310, 290, 302, 298, 301, 299, 300, 300},
	 CPU_UTIL(55, LV(150, 150, 150, 150, 150, 150, 150, 150, 150, 150)), .recs = "",
	 .expect = "pre=10 util=50"},
	{"no metrics at all", RC "TestReplicaCalcEmptyMetrics", 1, 100, 4, 3, CPU_UTIL(100),
	 .recs = "", .expect = "want=-1 pre=-1 err active=FailedGetResourceMetric/F limited=-"},
	{"no cpu request", RC "TestReplicaCalcEmptyCPURequest", 1, 100, 1, 1, .noreq = true,
	 CPU_UTIL(100, LV(200)), .recs = "",
	 .expect = "want=-1 err active=FailedGetResourceMetric/F"},

	/* ---- horizontal.go: the whole pass ---- */
	{"rescaled up, conditions", HZ "TestScaleUp", 2, 6, 3, 3, CPU_UTIL(30, LV(300, 500, 700)),
	 .expect = "want=5 rescale=1 able=SucceededRescale/T active=ValidMetricFound/T "
		   "limited=DesiredWithinRange/F util=50"},
	{"no scale: ReadyForNewScale", HZ "TestScaleUpUnreadyNoScale", 2, 6, 3, 3, .ready = "TFF",
	 CPU_UTIL(30, LV(400, 500, 700)),
	 .expect = "want=3 rescale=0 able=ReadyForNewScale/T limited=DesiredWithinRange/F util=40"},
	{"failed pods: the cap max(2 x, 4) is 4", HZ "TestScaleUpIgnoresFailedPods", 2, 6, 2, 4,
	 .ready = "TTFF", .phase = "RRFF", CPU_UTIL(30, LV(500, 700)),
	 .expect = "want=4 limited=DesiredWithinRange/F"},
	{"Pods metric above maxReplicas", HZ "TestScaleUpCMUnreadyandCpuHot", 2, 6, 3, 3,
	 .ready = "FTF", .start = "hch", PODS_AVG(rx_pkts, 15000, LV(50000, 15000, 30000)),
	 .expect = "want=6 pre=7 able=SucceededRescale/T limited=TooManyReplicas/T"},
	{"a fresh controller does not scale down within its window",
	 HZ "TestScaleDownStabilizeInitialSize", 2, 6, 5, 5,
	 CPU_UTIL(50, LV(100, 300, 500, 250, 250)),
	 .expect = "want=5 pre=3 rescale=0 able=ScaleDownStabilized/T recs=5,3"},
	{"scale down", HZ "TestScaleDown", 2, 6, 5, 5, CPU_UTIL(50, LV(100, 300, 500, 250, 250)),
	 .recs = "",
	 .expect = "want=3 able=SucceededRescale/T limited=DesiredWithinRange/F util=28"},
	{"scale down with scale-up rules only", HZ "TestScaleDownWithScalingRules", 2, 6, 5, 5,
	 .behavior = true,
	 .up = {.window_s = 30,
		.select = AS_SELECT_MAX,
		.n_policies = 1,
		.policies = {{AS_POLICY_PERCENT, 100, 15}}},
	 CPU_UTIL(50, LV(100, 300, 500, 250, 250)), .recs = "", .expect = "want=3 down=2"},
	{"minReplicas", HZ "TestMinReplicas", 2, 5, 3, 3, .req = {900, 1000, 1100},
	 CPU_UTIL(90, LV(10, 95, 10)), .recs = "",
	 .expect = "want=2 pre=1 limited=TooFewReplicas/T"},
	{"minReplicas when the metrics ask for 0", HZ "TestMinReplicasDesiredZero", 2, 5, 3, 3,
	 .req = {900, 1000, 1100}, CPU_UTIL(90, LV(0, 0, 0)), .recs = "",
	 .expect = "want=2 pre=0 limited=TooFewReplicas/T"},
	{"a target at zero is left alone", HZ "TestZeroReplicas", 3, 5, 0, 0, CPU_UTIL(90),
	 .expect = "want=0 rescale=0 able=SucceededGetScale/T active=ScalingDisabled/F limited=-"},
	{"below minReplicas: raised at once", HZ "TestTooFewReplicas", 3, 5, 2, 0, CPU_UTIL(90),
	 .expect = "want=3 rescale=1 able=SucceededRescale/T active=- limited=-"},
	{"above maxReplicas: lowered at once", HZ "TestTooManyReplicas", 3, 5, 10, 0, CPU_UTIL(90),
	 .expect = "want=5 rescale=1 active=- limited=-"},
	{"maxReplicas", HZ "TestMaxReplicas", 2, 5, 3, 3, .req = {900, 1000, 1100},
	 CPU_UTIL(90, LV(8000, 9500, 1000)), .expect = "want=5 limited=TooManyReplicas/T"},
	{"missing metrics", HZ "TestMissingMetrics", 2, 6, 4, 4, CPU_UTIL(100, LV(400, 95)),
	 .recs = "", .expect = "want=3"},
	{"empty metrics: nothing to do", HZ "TestEmptyMetrics", 2, 6, 4, 4, CPU_UTIL(100),
	 .expect = "want=-1 rescale=0 able=SucceededGetScale/T active=FailedGetResourceMetric/F "
		   "limited=-"},
	{"no event when nothing changes", HZ "TestEventNotCreated", 1, 5, 2, 2, .req = {400, 400},
	 CPU_UTIL(50, LV(200, 200)), .expect = "want=2 rescale=0 able=ReadyForNewScale/T"},
	{"the proposal counts the pods, not spec.replicas", HZ "TestMissingReports", 1, 5, 4, 1,
	 .req = {200}, CPU_UTIL(50, LV(200)), .recs = "", .expect = "want=2 pre=2"},
	{"scale-up policy caps the step", HZ "TestUpscaleCap", 1, 100, 3, 3, .behavior = true,
	 .up = {.window_s = 0,
		.select = AS_SELECT_MAX,
		.n_policies = 1,
		.policies = {{AS_POLICY_PERCENT, 700, 60}}},
	 .req = {100, 100, 100}, CPU_UTIL(10, LV(100, 200, 300)),
	 .expect = "want=24 pre=60 limited=ScaleUpLimit/T up=21"},
	{"maxReplicas below the policy's cap", HZ "TestUpscaleCapGreaterThanMaxReplicas", 1, 20, 3,
	 3, .behavior = true,
	 .up = {.window_s = 0,
		.select = AS_SELECT_MAX,
		.n_policies = 1,
		.policies = {{AS_POLICY_PERCENT, 700, 60}}},
	 .req = {100, 100, 100}, CPU_UTIL(10, LV(100, 200, 300)),
	 .expect = "want=20 limited=TooManyReplicas/T"},
	{"a rollout's surge pod does not change the count", HZ "TestMoreReplicasThanSpecNoScale", 1,
	 8, 4, 5, CPU_UTIL(50, LV(500, 500, 500, 500, 500)),
	 .expect = "want=4 rescale=0 able=ReadyForNewScale/T"},
	{"one metric failed: a scale-up still happens", HZ "TestScaleUpOneMetricEmpty", 2, 6, 3, 3,
	 .m = {{.src = AS_SRC_RESOURCE,
		.res = AS_RES_CPU,
		.tt = AS_TARGET_UTILIZATION,
		.util = 30,
		LV(300, 400, 500)},
	       {.src = AS_SRC_PODS,
		.name = rx_pkts,
		.tt = AS_TARGET_AVERAGE_VALUE,
		.value = 100,
		.fetch_err = -EHOSTUNREACH}},
	 .nm = 2, .expect = "want=4 rescale=1 err active=ValidMetricFound/T"},
	{"one metric failed: no scale-down", HZ "TestNoScaleDownOneMetricEmpty", 2, 6, 5, 5,
	 .m = {{.src = AS_SRC_RESOURCE,
		.res = AS_RES_CPU,
		.tt = AS_TARGET_UTILIZATION,
		.util = 50,
		LV(100, 300, 500, 250, 250)},
	       {.src = AS_SRC_PODS,
		.name = rx_pkts,
		.tt = AS_TARGET_AVERAGE_VALUE,
		.value = 1000,
		.fetch_err = -EHOSTUNREACH}},
	 .nm = 2, .recs = "",
	 .expect = "want=-1 rescale=0 err active=FailedGetPodsMetric/F limited=-"},
	{"all metrics failed", HZ "TestScaleUpBothMetricsEmpty", 2, 6, 3, 3,
	 .m = {{.src = AS_SRC_PODS,
		.name = rx_pkts,
		.tt = AS_TARGET_AVERAGE_VALUE,
		.value = 100,
		.fetch_err = -ETIMEDOUT}},
	 .nm = 1, .expect = "want=-1 err able=SucceededGetScale/T active=FailedGetPodsMetric/F"},
	{"the maximum over metrics wins", HZ "TestNoBackoffUpscaleCMNoBackoffCpu", 1, 5, 3, 3,
	 .m = {{.src = AS_SRC_RESOURCE,
		.res = AS_RES_CPU,
		.tt = AS_TARGET_UTILIZATION,
		.util = 10,
		LV(20000, 10000, 30000)},
	       {.src = AS_SRC_PODS,
		.name = rx_pkts,
		.tt = AS_TARGET_AVERAGE_VALUE,
		.value = 15000,
		LV(20000, 10000, 30000)}},
	 .nm = 2, .expect = "want=5 limited=TooManyReplicas/T active=ValidMetricFound/T"},
	{"recent higher recommendations hold a scale-down", HZ "TestStabilizeDownscale", 1, 5, 4, 3,
	 .req = {100, 100, 100}, CPU_UTIL(100, LV(50, 50, 50)), .recs = "10@-600,4@-60",
	 .expect = "want=4 pre=2 rescale=0 able=ScaleDownStabilized/T recs=2,4"},
	{"below minReplicas raises at once", HZ "TestScaleUpRCImmediately", 2, 6, 1, 4,
	 CPU_UTIL(80, LV(0, 0, 0, 0)), .expect = "want=2 rescale=1 active=-"},
	{"above maxReplicas lowers at once", HZ "TestScaleDownRCImmediately", 2, 5, 6, 3,
	 .req = {900, 1000, 1100}, CPU_UTIL(50, LV(8000, 9500, 1000)),
	 .expect = "want=5 rescale=1"},
	/* TestConvertDesiredReplicasWithRules, through the pass: a Pods metric of x/1000 per pod */
	{"rules: within range", HZ "TestConvertDesiredReplicasWithRules", 3, 8, 5, 5,
	 PODS_AVG(runq, 1000, LV(1400, 1400, 1400, 1400, 1400)), .recs = "",
	 .expect = "want=7 pre=7 limited=DesiredWithinRange/F"},
	{"rules: below minReplicas", HZ "TestConvertDesiredReplicasWithRules", 2, 8, 3, 3,
	 PODS_AVG(runq, 1000, LV(333, 333, 333)), .recs = "",
	 .expect = "want=2 pre=1 limited=TooFewReplicas/T"},
	{"rules: maxReplicas under the cap", HZ "TestConvertDesiredReplicasWithRules", 1, 15, 10,
	 10, PODS_AVG(runq, 1000, .all = 50000),
	 .expect = "want=15 pre=500 limited=TooManyReplicas/T"},
	{"rules: the cap max(2 x, 4) under maxReplicas", HZ "TestConvertDesiredReplicasWithRules",
	 1, 2000, 3, 3, PODS_AVG(runq, 1000, LV(333333, 333333, 333333)),
	 .expect = "want=6 pre=1000 limited=ScaleUpLimit/T"},
	/* TestNormalizeDesiredReplicas: the behavior-less window keeps the highest */
	{"window: empty history", HZ "TestNormalizeDesiredReplicas", 1, 10, 6, 6,
	 PODS_AVG(runq, 1000, LV(800, 800, 800, 800, 800, 800)), .recs = "",
	 .expect = "want=5 recs=5"},
	{"window: stabilize", HZ "TestNormalizeDesiredReplicas", 1, 10, 6, 6,
	 PODS_AVG(runq, 1000, LV(500, 500, 500, 500, 500, 500)), .recs = "4@-120,5@-60",
	 .expect = "want=5 pre=3 recs=4,5,3"},
	{"window: no stabilize", HZ "TestNormalizeDesiredReplicas", 1, 10, 6, 6,
	 PODS_AVG(runq, 1000, LV(500, 500, 500, 500, 500, 500)), .recs = "1@-120,2@-60",
	 .expect = "want=3 recs=1,2,3"},
	{"window: old recommendations are reused", HZ "TestNormalizeDesiredReplicas", 1, 10, 6, 6,
	 PODS_AVG(runq, 1000, LV(500, 500, 500, 500, 500, 500)), .recs = "10@-600,9@-540",
	 .expect = "want=3 recs=10,3"},
	{"window: stabilize over old ones", HZ "TestNormalizeDesiredReplicas", 1, 10, 6, 6,
	 PODS_AVG(runq, 1000, LV(500, 500, 500, 500, 500, 500)),
	 .recs = "10@-600,4@-60,5@-120,9@-540", .expect = "want=5 recs=10,4,5,3"},

	/* ---- horizontal.go with a behavior: TestScalingWithRules, through the pass ---- */
	{"default behavior: +100 % or +4 per 15 s", HZ "TestScalingWithRules", 1, 1000, 10, 10,
	 .behavior = true,
	 PODS_AVG(runq, 1000, LV(5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000)),
	 .expect = "want=20 pre=50 limited=ScaleUpLimit/T up=10"},
	{"Pods policy larger than Percent", HZ "TestScalingWithRules", 1, 1000, 10, 10,
	 .behavior = true,
	 .up = {.select = AS_SELECT_MAX,
		.n_policies = 2,
		.policies = {{AS_POLICY_PODS, 100, 60}, {AS_POLICY_PERCENT, 100, 60}}},
	 PODS_AVG(runq, 1000,
		  LV(50000, 50000, 50000, 50000, 50000, 50000, 50000, 50000, 50000, 50000)),
	 .expect = "want=110 pre=500 limited=ScaleUpLimit/T"},
	{"Percent policy limits", HZ "TestScalingWithRules", 1, 1000, 10, 10, .behavior = true,
	 .up = {.select = AS_SELECT_MAX,
		.n_policies = 1,
		.policies = {{AS_POLICY_PERCENT, 200, 60}}},
	 PODS_AVG(runq, 1000, LV(5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000, 5000)),
	 .expect = "want=30 limited=ScaleUpLimit/T"},
	{"scale-down Pods policy", HZ "TestScalingWithRules", 1, 1000, 10, 10, .behavior = true,
	 .down = {.window_s = 300,
		  .select = AS_SELECT_MAX,
		  .n_policies = 1,
		  .policies = {{AS_POLICY_PODS, 5, 60}}},
	 PODS_AVG(runq, 1000, LV(200, 200, 200, 200, 200, 200, 200, 200, 200, 200)), .recs = "",
	 .expect = "want=5 pre=2 limited=ScaleDownLimit/T down=5"},
	{"scale-down Percent: what stays is truncated", HZ "TestScalingWithRules", 1, 1000, 100,
	 100, .behavior = true,
	 .down = {.window_s = 300,
		  .select = AS_SELECT_MAX,
		  .n_policies = 2,
		  .policies = {{AS_POLICY_PODS, 20, 60}, {AS_POLICY_PERCENT, 1, 60}}},
	 PODS_AVG(runq, 100000, .all = 2000), .recs = "",
	 .expect = "want=80 limited=ScaleDownLimit/T"},
	{"scale-up with earlier scale-up events", HZ "TestScalingWithRules", 1, 1000, 100, 100,
	 .behavior = true,
	 .up = {.select = AS_SELECT_MAX, .n_policies = 1, .policies = {{AS_POLICY_PODS, 150, 120}}},
	 .upev = "1,5,9/120", PODS_AVG(runq, 100, .all = 500),
	 .expect = "want=235 limited=ScaleUpLimit/T"},
	{"scale-up: a smaller policy after many events holds the count", HZ "TestScalingWithRules",
	 1, 1000, 100, 100, .behavior = true,
	 .up = {.select = AS_SELECT_MAX, .n_policies = 1, .policies = {{AS_POLICY_PODS, 5, 120}}},
	 .upev = "1,5,9/120", PODS_AVG(runq, 100, .all = 500),
	 .expect = "want=100 rescale=0 limited=ScaleUpLimit/T"},
	{"scale-up with scale-up and scale-down events", HZ "TestScalingWithRules", 1, 1000, 6, 6,
	 .behavior = true,
	 .up = {.select = AS_SELECT_MAX,
		.n_policies = 1,
		.policies = {{AS_POLICY_PERCENT, 300, 300}}},
	 .upev = "4/120", .downev = "2/120",
	 PODS_AVG(runq, 1000, LV(4000, 4000, 4000, 4000, 4000, 4000)),
	 .expect = "want=16 pre=24 limited=ScaleUpLimit/T"},
	{"scale-down Percent with earlier events", HZ "TestScalingWithRules", 1, 1000, 100, 100,
	 .behavior = true,
	 .down = {.window_s = 300,
		  .select = AS_SELECT_MAX,
		  .n_policies = 1,
		  .policies = {{AS_POLICY_PERCENT, 50, 120}}},
	 .downev = "2,4,6/120", PODS_AVG(runq, 100, .zero = true), .recs = "",
	 .expect = "want=56 limited=ScaleDownLimit/T"},
	{"scale-down: earlier events hold the count", HZ "TestScalingWithRules", 1, 1000, 100, 100,
	 .behavior = true,
	 .down = {.window_s = 300,
		  .select = AS_SELECT_MAX,
		  .n_policies = 1,
		  .policies = {{AS_POLICY_PERCENT, 10, 120}}},
	 .downev = "10,10,10/120", PODS_AVG(runq, 100, .zero = true), .recs = "",
	 .expect = "want=100 rescale=0 limited=ScaleDownLimit/T"},
	{"scale-down with both kinds of events", HZ "TestScalingWithRules", 1, 1000, 10, 10,
	 .behavior = true,
	 .down = {.window_s = 0,
		  .select = AS_SELECT_MAX,
		  .n_policies = 1,
		  .policies = {{AS_POLICY_PERCENT, 50, 180}}},
	 .upev = "2/120", .downev = "4/120",
	 PODS_AVG(runq, 1000, LV(100, 100, 100, 100, 100, 100, 100, 100, 100, 100)), .recs = "",
	 .expect = "want=6 pre=1 limited=ScaleDownLimit/T"},
	{"selectPolicy Min picks the smallest step up",
	 HZ "TestCalculateScaleUpLimitWithScalingRules", 1, 1000, 1, 1, .behavior = true,
	 .up = {.window_s = 0,
		.select = AS_SELECT_MIN,
		.n_policies = 2,
		.policies = {{AS_POLICY_PODS, 2, 60}, {AS_POLICY_PERCENT, 50, 60}}},
	 PODS_AVG(runq, 1000, LV(10000)), .expect = "want=2 limited=ScaleUpLimit/T"},
	{"selectPolicy Min picks the smallest step down",
	 HZ "TestCalculateScaleDownLimitWithBehaviors", 1, 1000, 5, 5, .behavior = true,
	 .down = {.window_s = 0,
		  .select = AS_SELECT_MIN,
		  .n_policies = 2,
		  .policies = {{AS_POLICY_PODS, 2, 60}, {AS_POLICY_PERCENT, 50, 60}}},
	 PODS_AVG(runq, 1000, LV(100, 100, 100, 100, 100)), .recs = "",
	 .expect = "want=3 limited=ScaleDownLimit/T"},
	/* TestNormalizeDesiredReplicasWithBehavior */
	{"behavior: scale-down window keeps the highest",
	 HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000, 100, 100, .behavior = true,
	 .down = {.window_s = 180, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, .all = 30),
	 .recs = "4@-120,5@-60", .expect = "want=5 pre=3 recs=4,5,3"},
	{"behavior: scale-up window keeps the lowest",
	 HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000, 1, 1, .behavior = true,
	 .up = {.window_s = 300, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, LV(7000)),
	 .recs = "4@-120,5@-60", .expect = "want=4 pre=7 able=SucceededRescale/T recs=4,5,7"},
	{"behavior: no scale-down window", HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000,
	 100, 100, .behavior = true, .up = {.window_s = 300, .select = AS_SELECT_MAX},
	 .down = {.window_s = 0, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, .all = 30),
	 .recs = "1@-120,2@-60", .expect = "want=3 recs=1,2,3"},
	{"behavior: reuse the obsolete recommendation",
	 HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000, 1, 1, .behavior = true,
	 .up = {.window_s = 300, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, LV(100000)),
	 .recs = "10@-6000,6@-60,5@-120,9@-180", .expect = "want=5 recs=100,6,5,9"},
	{"behavior: no scale-up when the recommendation goes down",
	 HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000, 2, 2, .behavior = true,
	 .up = {.window_s = 300, .select = AS_SELECT_MAX},
	 .down = {.window_s = 300, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, LV(500, 500)),
	 .recs = "2@-6000,3@-180", .expect = "want=2 pre=1 rescale=0 able=ScaleDownStabilized/T"},
	{"behavior: no scale-down when the recommendation goes up",
	 HZ "TestNormalizeDesiredReplicasWithBehavior", 1, 1000, 2, 2, .behavior = true,
	 .up = {.window_s = 300, .select = AS_SELECT_MAX},
	 .down = {.window_s = 300, .select = AS_SELECT_MAX}, PODS_AVG(runq, 1000, LV(1500, 1500)),
	 .recs = "2@-6000,1@-180", .expect = "want=2 pre=3 rescale=0 able=ScaleUpStabilized/T"},
	/* TestStoreScaleEvents: what as_scaled() keeps */
	{"events: one outdated entry replaced", HZ "TestStoreScaleEvents", 1, 100, 10, 10,
	 .behavior = true,
	 .up = {.select = AS_SELECT_MAX,
		.n_policies = 2,
		.policies = {{AS_POLICY_PODS, 10, 60}, {AS_POLICY_PERCENT, 100, 60}}},
	 .upev = "7@-61", PODS_AVG(runq, 1000, .all = 1500), .expect = "want=15 up=5"},
	{"events: policies with different periods", HZ "TestStoreScaleEvents", 1, 1000, 100, 100,
	 .behavior = true,
	 .up = {.select = AS_SELECT_MAX,
		.n_policies = 2,
		.policies = {{AS_POLICY_PODS, 10, 60}, {AS_POLICY_PERCENT, 100, 30}}},
	 .upev = "8@-29,6@-59,7@-61,9@-61", PODS_AVG(runq, 1000, .all = 1200),
	 .expect = "want=120 up=8,6,7!,20"},

	/* ---- kubernetes/website and KEP-4951 ---- */
	{"200m against 100m doubles", DOC "Algorithm details", 1, 100, 4, 4,
	 PODS_AVG(runq, 100, LV(200, 200, 200, 200)), .prod_periods = true,
	 .expect = "want=8 pre=8"},
	{"50m against 100m halves", DOC "Algorithm details", 1, 100, 4, 4,
	 PODS_AVG(runq, 100, LV(50, 50, 50, 50)), .recs = "", .prod_periods = true,
	 .expect = "want=2 pre=2"},
	{"a recommendation exactly 5 min old still holds", DOC "Algorithm details", 1, 10, 5, 5,
	 PODS_AVG(runq, 1000, .all = 600), .recs = "5@-300", .prod_periods = true,
	 .expect = "want=5 pre=3 able=ScaleDownStabilized/T"},
	{"one 5 min and 1 s old does not", DOC "Algorithm details", 1, 10, 5, 5,
	 PODS_AVG(runq, 1000, .all = 600), .recs = "5@-301", .prod_periods = true,
	 .expect = "want=3 pre=3 recs=3"},
	{"a ratio of exactly 1.1 is within the tolerance", DOC "Algorithm details", 1, 100, 4, 4,
	 CPU_UTIL(50, LV(550, 550, 550, 550)), .prod_periods = true,
	 .expect = "want=4 rescale=0 util=55"},
	{"a pod not yet ready, 3 min in, counts 0 % on a scale-up", DOC "Algorithm details", 1, 100,
	 2, 2, .ready = "TF", .start = "zc", CPU_UTIL(50, LV(1000, 0)), .prod_periods = true,
	 .expect = "want=2 pre=2 util=100"},
	{"maintenance mode: spec.replicas 0", DOC "Implicit maintenance-mode deactivation", 1, 10,
	 0, 0, CPU_UTIL(50), .prod_periods = true,
	 .expect = "want=0 rescale=0 active=ScalingDisabled/F"},
	{"selectPolicy Disabled stops scale-down", DOC "Example: disable scale down", 1, 100, 10,
	 10, .behavior = true, .down = {.select = AS_SELECT_DISABLED},
	 PODS_AVG(runq, 1000, .all = 100), .recs = "", .prod_periods = true,
	 .expect = "want=10 rescale=0 limited=ScaleDownLimit/T"},
	{"10 % or 5 pods a minute, whichever is smaller", DOC "Example: limit scale down rate", 1,
	 100, 80, 80, .behavior = true,
	 .down = {.window_s = 0,
		  .select = AS_SELECT_MIN,
		  .n_policies = 2,
		  .policies = {{AS_POLICY_PERCENT, 10, 60}, {AS_POLICY_PODS, 5, 60}}},
	 PODS_AVG(runq, 1000, .all = 100), .recs = "", .prod_periods = true,
	 .expect = "want=75 limited=ScaleDownLimit/T"},
	{"50 replicas at 90 % against 75 % become 60",
	 "KEP-4951 post (kubernetes.io blog 2025-04-28)", 1, 100, 50, 50, .prod_periods = true,
	 PODS_AVG(runq, 75, .all = 90), .expect = "want=60 pre=60"},
	{"scaleUp tolerance 5 %: 8 % above target scales",
	 "KEP-4951 post (kubernetes.io blog 2025-04-28)", 1, 100, 4, 4, .behavior = true,
	 .up = {.select = AS_SELECT_UNSET, .tolerance = 0.05},
	 PODS_AVG(runq, 100, LV(108, 108, 108, 108)), .prod_periods = true,
	 .expect = "want=5 pre=5"},
	{"the default 10 % does not", DOC "Algorithm details", 1, 100, 4, 4,
	 PODS_AVG(runq, 100, LV(108, 108, 108, 108)), .prod_periods = true,
	 .expect = "want=4 rescale=0"},
	{"scaleDown tolerance 20 %: 15 % below target holds",
	 "KEP-4951 post (kubernetes.io blog 2025-04-28)", 1, 100, 8, 8, .behavior = true,
	 .down = {.select = AS_SELECT_UNSET, .tolerance = 0.2}, PODS_AVG(runq, 100, .all = 85),
	 .recs = "", .prod_periods = true, .expect = "want=8 pre=8 rescale=0"},
	{"the default 10 % lets it scale down", DOC "Algorithm details", 1, 100, 8, 8,
	 PODS_AVG(runq, 100, .all = 85), .recs = "", .prod_periods = true,
	 .expect = "want=7 pre=7"},
	{"not-yet-ready pods are counted in on a scale-up only", DOC "Algorithm details", 1, 100, 3,
	 3, .ready = "TTF", .start = "zzc", CPU_UTIL(100, LV(950, 950, 0)), .recs = "",
	 .prod_periods = true, .expect = "want=3 pre=3 util=95"},
};

/* ---- groupPods(): which cpu samples count (TestGroupPods), read from the average ---- */

struct grow {
	const char *name;
	enum as_resource res;
	enum as_phase phase;
	enum as_ready ready;
	int64_t start, since, ts, window; /* relative to NOW; start AS_NO_TIME: none */
	bool counted;
};

static const struct grow grows[] = {
	{"count in a ready pod - memory", AS_RES_MEMORY, AS_PHASE_SUCCEEDED, AS_READY_NONE,
	 AS_NO_TIME, 0, 0, MIN, true},
	{"ignore a pod without ready condition - CPU", AS_RES_CPU, AS_PHASE_SUCCEEDED,
	 AS_READY_NONE, 0, 0, 0, MIN, false},
	{"count in a ready pod with fresh metrics during initialization period - CPU", AS_RES_CPU,
	 AS_PHASE_SUCCEEDED, AS_READY_TRUE, -MIN, -30 * S, 0, 30 * S, true},
	{"ignore a ready pod without fresh metrics during initialization period - CPU", AS_RES_CPU,
	 AS_PHASE_SUCCEEDED, AS_READY_TRUE, -MIN, -30 * S, 0, MIN, false},
	{"ignore an unready pod during initialization period - CPU", AS_RES_CPU, AS_PHASE_SUCCEEDED,
	 AS_READY_FALSE, -10 * MIN, -9 * MIN - 54 * S, 0, MIN, false},
	{"count in a ready pod without fresh metrics after initialization period - CPU", AS_RES_CPU,
	 AS_PHASE_SUCCEEDED, AS_READY_TRUE, -3 * MIN, -3 * MIN, -2 * MIN, MIN, true},
	{"count in an unready pod that was ready after initialization period - CPU", AS_RES_CPU,
	 AS_PHASE_SUCCEEDED, AS_READY_FALSE, -10 * MIN, -9 * MIN, 0, MIN, true},
	{"ignore pod that has never been ready after initialization period - CPU (at the edge)",
	 AS_RES_CPU, AS_PHASE_SUCCEEDED, AS_READY_FALSE, -10 * MIN, -9 * MIN - 50 * S, 0, MIN,
	 true},
	{"pending pods are ignored", AS_RES_CPU, AS_PHASE_PENDING, AS_READY_FALSE, 0, 0, 0, MIN,
	 false},
};

static void run_grows(void)
{
	for (size_t k = 0; k < sizeof(grows) / sizeof(grows[0]); k++) {
		const struct grow *g = &grows[k];
		struct as_metric_spec spec = {.source = AS_SRC_RESOURCE,
					      .resource = g->res,
					      .target = AS_TARGET_UTILIZATION,
					      .utilization = 10};
		/* pod 0: a plain counted pod at 100; pod 1: the pod under test at 300 */
		struct as_pod pods[2] = {
			{.start_time = NOW - 3 * MIN, .ready_since = NOW - 3 * MIN},
			{.phase = g->phase,
			 .ready = g->ready,
			 .start_time = g->start == AS_NO_TIME ? AS_NO_TIME : NOW + g->start,
			 .ready_since = NOW + g->since},
		};
		struct as_sample s[2] = {
			{.present = true,
			 .value = 100,
			 .timestamp = NOW,
			 .window = MIN,
			 .has_request = true,
			 .request = 1000},
			{.present = true,
			 .value = 300,
			 .timestamp = NOW + g->ts,
			 .window = g->window,
			 .has_request = true,
			 .request = 1000},
		};
		struct as_metric_obs mo = {.pods = s};
		struct as_observation obs = {.spec_replicas = 2,
					     .status_replicas = 2,
					     .pods = pods,
					     .n_pods = 2,
					     .metrics = &mo};
		struct as_policy pol;
		struct as_history h;
		struct as_decision d;
		struct as_err err;

		as_policy_init(&pol);
		pol.max_replicas = 10;
		pol.metrics = &spec;
		pol.n_metrics = 1;
		pol.cpu_init_period_ms = 2 * MIN;
		pol.readiness_delay_ms = 10 * S;
		T_ASSERT(!as_policy_check(&pol, &err), "%s", err.msg);
		as_history_init(&h);
		T_ASSERT(!as_decide(&pol, &obs, NOW, &h, &d, &err), "%s", err.msg);
		T_ASSERT(d.metrics[0].valid, "%s", g->name);
		if (d.metrics[0].average_value != (g->counted ? 200 : 100))
			t_fail("replica_calculator_test.go TestGroupPods \"%s\": average %lld, %s",
			       g->name, (long long)d.metrics[0].average_value,
			       g->counted ? "counted wanted" : "set aside wanted");
		as_history_fini(&h);
	}
}

/* ---- sequences: several passes, the decision fed back as the current count ---- */

struct step {
	int64_t at_s;  /* seconds after the first pass */
	int64_t level; /* every pod's value */
	int32_t want;
};

struct seq {
	const char *name, *from;
	int32_t min, max, start;
	int64_t target;
	bool behavior;
	struct as_rules up, down;
	struct step steps[12];
};

static const struct seq seqs[] = {
	{"80 replicas down to 10: 8 at a time, once a minute", DOC "Scaling policies", 1, 100, 80,
	 1000, true,
	 .down = {.window_s = 0,
		  .select = AS_SELECT_MAX,
		  .n_policies = 2,
		  .policies = {{AS_POLICY_PODS, 4, 60}, {AS_POLICY_PERCENT, 10, 60}}},
	 .steps = {{0, 125, 72},
		   {15, 138, 72},
		   {45, 138, 72},
		   {60, 138, 64},
		   {120, 156, 57},
		   {180, 175, 51},
		   {240, 196, 45},
		   {300, 222, 40},
		   {360, 250, 36},
		   {420, 277, 32}}},
	{"default behavior: up +4 or +100 % per 15 s", DOC "Default Behavior", 1, 100, 1, 1000,
	 true,
	 .steps = {{0, 40000, 5},
		   {15, 8000, 10},
		   {30, 4000, 20},
		   {31, 2000, 20},
		   {45, 2000, 40},
		   {60, 1000, 40}}},
	{"default behavior: down after 300 s at once", DOC "Stabilization window", 1, 100, 10, 1000,
	 true, .steps = {{0, 1000, 10}, {15, 200, 10}, {299, 200, 10}, {316, 200, 2}}},
	{"no behavior: up capped at max(2 x, 4) a pass", HZ "TestConvertDesiredReplicasWithRules",
	 1, 100, 1, 1000, false,
	 .steps = {{0, 50000, 4}, {15, 12500, 8}, {30, 6250, 16}, {45, 3125, 32}, {60, 1562, 50}}},
};

static void run_seqs(void)
{
	for (size_t k = 0; k < sizeof(seqs) / sizeof(seqs[0]); k++) {
		const struct seq *q = &seqs[k];
		struct as_metric_spec spec = {.source = AS_SRC_PODS,
					      .name = runq,
					      .target = AS_TARGET_AVERAGE_VALUE,
					      .value = q->target};
		static struct as_pod pods[MAXP];
		static struct as_sample s[MAXP];
		struct as_metric_obs mo = {.pods = s};
		struct as_policy pol;
		struct as_history h;
		struct as_err err;
		int32_t cur = q->start;

		as_policy_init(&pol);
		pol.min_replicas = q->min;
		pol.max_replicas = q->max;
		pol.metrics = &spec;
		pol.n_metrics = 1;
		pol.has_behavior = q->behavior;
		pol.up = row_rules(&q->up);
		pol.down = row_rules(&q->down);
		T_ASSERT(!as_policy_check(&pol, &err), "%s: %s", q->name, err.msg);
		as_history_init(&h);
		h.started = true; /* as upstream's rows with recommendations: [] */
		for (int i = 0; q->steps[i].want; i++) {
			const struct step *st = &q->steps[i];
			struct as_observation obs = {.spec_replicas = cur,
						     .status_replicas = cur,
						     .pods = pods,
						     .n_pods = (size_t)cur,
						     .metrics = &mo};
			int64_t now = NOW + st->at_s * S;
			struct as_decision d;

			for (int p = 0; p < cur; p++)
				s[p] = (struct as_sample){.present = true,
							  .value = st->level,
							  .timestamp = now,
							  .window = MIN};
			T_ASSERT(!as_decide(&pol, &obs, now, &h, &d, &err), "%s", err.msg);
			if (d.desired_replicas != st->want)
				t_fail("%s (%s): pass %d at %llds: %d replicas, want %d", q->name,
				       q->from, i, (long long)st->at_s, d.desired_replicas,
				       st->want);
			if (d.rescale)
				T_ASSERT(!as_scaled(&pol, &h, &d, now));
			cur = d.desired_replicas;
		}
		as_history_fini(&h);
	}
}

/* ---- refusals and the sustain window ---- */

static void run_checks(void)
{
	static const struct {
		struct as_metric_spec m;
		int32_t min, max;
		int ret;
		const char *reason;
	} rows_[] = {
		{{AS_SRC_RESOURCE, AS_RES_CPU, NULL, AS_TARGET_UTILIZATION, 50, 0}, 1, 10, 0, ""},
		{{AS_SRC_RESOURCE, AS_RES_MEMORY, NULL, AS_TARGET_AVERAGE_VALUE, 0, 1000},
		 1,
		 10,
		 0,
		 ""},
		{{AS_SRC_CONTAINER_RESOURCE, AS_RES_CPU, "app", AS_TARGET_UTILIZATION, 60, 0},
		 1,
		 10,
		 0,
		 ""},
		{{AS_SRC_PODS, AS_RES_NONE, "ferry_runqueue_wait_p99_seconds",
		  AS_TARGET_AVERAGE_VALUE, 0, 5},
		 1,
		 10,
		 0,
		 ""},
		{{AS_SRC_OBJECT, AS_RES_NONE, "requests", AS_TARGET_VALUE, 0, 10},
		 1,
		 10,
		 -EOPNOTSUPP,
		 AS_REASON_UNSUPPORTED_METRIC},
		{{AS_SRC_EXTERNAL, AS_RES_NONE, "queue", AS_TARGET_AVERAGE_VALUE, 0, 10},
		 1,
		 10,
		 -EOPNOTSUPP,
		 AS_REASON_UNSUPPORTED_METRIC},
		{{AS_SRC_PODS, AS_RES_NONE, "qps", AS_TARGET_AVERAGE_VALUE, 0, 10},
		 1,
		 10,
		 -ENOENT,
		 AS_REASON_UNSUPPORTED_METRIC},
		{{AS_SRC_RESOURCE, AS_RES_CPU, NULL, AS_TARGET_UTILIZATION, 50, 0},
		 0,
		 10,
		 -EOPNOTSUPP,
		 AS_REASON_UNSUPPORTED_SPEC},
		{{AS_SRC_RESOURCE, AS_RES_CPU, NULL, AS_TARGET_UTILIZATION, 0, 0},
		 1,
		 10,
		 -EINVAL,
		 AS_REASON_INVALID_SPEC},
		{{AS_SRC_RESOURCE, AS_RES_CPU, NULL, AS_TARGET_VALUE, 0, 5},
		 1,
		 10,
		 -EINVAL,
		 AS_REASON_INVALID_SPEC},
		{{AS_SRC_PODS, AS_RES_NONE, "ferry_runqueue_wait_p99_seconds",
		  AS_TARGET_UTILIZATION, 50, 0},
		 1,
		 10,
		 -EINVAL,
		 AS_REASON_INVALID_SPEC},
		{{AS_SRC_CONTAINER_RESOURCE, AS_RES_CPU, "", AS_TARGET_UTILIZATION, 60, 0},
		 1,
		 10,
		 -EINVAL,
		 AS_REASON_INVALID_SPEC},
		{{AS_SRC_RESOURCE, AS_RES_CPU, NULL, AS_TARGET_UTILIZATION, 50, 0},
		 5,
		 4,
		 -EINVAL,
		 AS_REASON_INVALID_SPEC},
	};
	struct as_policy pol;
	struct as_err err;
	enum as_signal sig;

	for (size_t i = 0; i < sizeof(rows_) / sizeof(rows_[0]); i++) {
		int ret;

		as_policy_init(&pol);
		pol.min_replicas = rows_[i].min;
		pol.max_replicas = rows_[i].max;
		pol.metrics = &rows_[i].m;
		pol.n_metrics = 1;
		ret = as_policy_check(&pol, &err);
		if (ret != rows_[i].ret || err.code != ret || strcmp(err.reason, rows_[i].reason))
			t_fail("policy check %zu: %d %s (%s), want %d %s", i, ret, err.reason,
			       err.msg, rows_[i].ret, rows_[i].reason);
		if (ret && !err.msg[0])
			t_fail("policy check %zu: refused without a reason", i);
	}

	/* behavior validation (pkg/apis/autoscaling/validation: validateScalingRules) */
	struct as_metric_spec cpu = {AS_SRC_RESOURCE,	    AS_RES_CPU, NULL,
				     AS_TARGET_UTILIZATION, 50,		0};
	struct as_scaling_policy bad[] = {
		{AS_POLICY_PODS, 0, 60}, {AS_POLICY_PERCENT, 10, 0}, {AS_POLICY_PERCENT, 10, 1801}};

	for (size_t i = 0; i < 5; i++) {
		as_policy_init(&pol);
		pol.max_replicas = 10;
		pol.metrics = &cpu;
		pol.n_metrics = 1;
		pol.has_behavior = true;
		if (i < 3) {
			pol.down.n_policies = 1;
			pol.down.policies[0] = bad[i];
		} else if (i == 3) {
			pol.up.window_s = 3601;
		} else {
			pol.up.tolerance = NAN;
		}
		T_ASSERT(as_policy_check(&pol, &err) == -EINVAL, "behavior row %zu accepted", i);
		T_ASSERT(!strcmp(err.reason, AS_REASON_INVALID_SPEC) &&
				 strstr(err.msg, "behavior."),
			 "behavior row %zu: %s", i, err.msg);
	}

	for (int s = AS_SIG_RUNQ_P50; s < AS_SIG_COUNT; s++)
		T_ASSERT(!as_signal_by_name(as_signal_name(s), &sig) && sig == (enum as_signal)s);
	T_ASSERT(as_signal_by_name("cpu", &sig) == -ENOENT); /* a Resource, not a Pods metric */
}

static void run_sustain(void)
{
	static const struct {
		const char *name;
		struct as_point pts[8];
		size_t n;
		int64_t now;
		struct as_window w;
		bool present;
		int64_t value, ts, win;
	} rows_[] = {
		{"the last 3 s of 1 s rates",
		 {{1000, 1000, 9}, {2000, 1000, 100}, {3000, 1000, 200}, {4000, 1000, 300}},
		 4,
		 4000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 200,
		 4000,
		 3000},
		{"a 1 s spike in a 3 s window reads a third",
		 {{2000, 1000, 100}, {3000, 1000, 400}, {4000, 1000, 100}},
		 3,
		 4000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 200,
		 4000,
		 3000},
		{"weighted by the interval",
		 {{2000, 2000, 100}, {2500, 500, 500}},
		 2,
		 2600,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 180,
		 2500,
		 2500},
		{"only what lies in the window",
		 {{1000, 1000, 1000}, {3500, 1000, 10}},
		 2,
		 4000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 10,
		 3500,
		 1000},
		{"stale: the newest point is 5 s old",
		 {{1000, 1000, 50}},
		 1,
		 6000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 false,
		 0,
		 0,
		 0},
		{"stale before the window ends",
		 {{1000, 1000, 50}},
		 1,
		 6000,
		 {10000, 5000, AS_SUSTAIN_MEAN},
		 false,
		 0,
		 0,
		 0},
		{"not yet stale, but outside the window",
		 {{1000, 1000, 50}},
		 1,
		 4500,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 false,
		 0,
		 0,
		 0},
		{"no points", {{0}}, 0, 4000, {3000, 5000, AS_SUSTAIN_MEAN}, false, 0, 0, 0},
		{"a point from the future counts as now",
		 {{5000, 1000, 70}},
		 1,
		 4000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 70,
		 4000,
		 1000},
		{"rounded to the nearest",
		 {{3000, 1000, 1}, {4000, 1000, 2}},
		 2,
		 4000,
		 {3000, 5000, AS_SUSTAIN_MEAN},
		 true,
		 2,
		 4000,
		 2000},
		{"held: a 1 s spike in a 3 s window reads nothing of it",
		 {{2000, 1000, 100}, {3000, 1000, 400}, {4000, 1000, 100}},
		 3,
		 4000,
		 {3000, 5000, AS_SUSTAIN_HELD},
		 true,
		 100,
		 4000,
		 3000},
		{"held: a step shows in full once it lasted the window",
		 {{1000, 1000, 100}, {2000, 1000, 300}, {3000, 1000, 320}, {4000, 1000, 310}},
		 4,
		 4000,
		 {3000, 5000, AS_SUSTAIN_HELD},
		 true,
		 300,
		 4000,
		 3000},
		{"held: not before",
		 {{1000, 1000, 100}, {2000, 1000, 100}, {3000, 1000, 300}, {4000, 1000, 310}},
		 4,
		 4000,
		 {3000, 5000, AS_SUSTAIN_HELD},
		 true,
		 100,
		 4000,
		 3000},
		{"held: a dip shows at once",
		 {{2000, 1000, 300}, {3000, 1000, 300}, {4000, 1000, 20}},
		 3,
		 4000,
		 {3000, 5000, AS_SUSTAIN_HELD},
		 true,
		 20,
		 4000,
		 3000},
		{"held: what the pod has, if shorter than the window (a new pod)",
		 {{4000, 1000, 250}},
		 1,
		 4000,
		 {6000, 12000, AS_SUSTAIN_HELD},
		 true,
		 250,
		 4000,
		 1000},
		{"held: the window bounds staleness before stale_ms does",
		 {{1000, 1000, 250}},
		 1,
		 8000,
		 {6000, 12000, AS_SUSTAIN_HELD},
		 false,
		 0,
		 0,
		 0},
	};
	struct as_sample s;

	for (size_t i = 0; i < sizeof(rows_) / sizeof(rows_[0]); i++) {
		memset(&s, 0xff, sizeof(s));
		T_ASSERT(!as_sustain(rows_[i].pts, rows_[i].n, rows_[i].now, &rows_[i].w, &s), "%s",
			 rows_[i].name);
		if (s.present != rows_[i].present ||
		    (s.present && (s.value != rows_[i].value || s.timestamp != rows_[i].ts ||
				   s.window != rows_[i].win)))
			t_fail("sustain \"%s\": present %d value %lld ts %lld window %lld",
			       rows_[i].name, s.present, (long long)s.value, (long long)s.timestamp,
			       (long long)s.window);
	}
	/* malformed input */
	struct as_point unordered[] = {{2000, 1000, 1}, {1000, 1000, 1}},
			zero_dt[] = {{1000, 0, 1}};
	struct as_window w = {3000, 5000, AS_SUSTAIN_MEAN}, bad_w = {0, 5000, AS_SUSTAIN_MEAN},
			 bad_rule = {3000, 5000, (enum as_sustain_rule)7};

	T_ASSERT(as_sustain(unordered, 2, 3000, &w, &s) == -EINVAL);
	T_ASSERT(as_sustain(zero_dt, 1, 3000, &w, &s) == -EINVAL);
	T_ASSERT(as_sustain(zero_dt, 0, 3000, &bad_w, &s) == -EINVAL);
	T_ASSERT(as_sustain(unordered + 1, 1, 3000, &bad_rule, &s) == -EINVAL);
}

int main(void)
{
	size_t n = sizeof(rows) / sizeof(rows[0]);

	for (size_t i = 0; i < n; i++) {
		T_ASSERT(rows[i].from && rows[i].from[0], "row %zu has no source", i);
		run_row(&rows[i]);
	}
	run_grows();
	run_seqs();
	run_checks();
	run_sustain();
	printf("t_autoscale: %zu rows, %zu readiness rows, %zu sequences passed\n", n,
	       sizeof(grows) / sizeof(grows[0]), sizeof(seqs) / sizeof(seqs[0]));
	return 0;
}
