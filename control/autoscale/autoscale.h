/* SPDX-License-Identifier: MIT */
/*
 * control/autoscale/autoscale.h - the Kubernetes HorizontalPodAutoscaler's
 * algorithm as a pure function: ferry's ScalePolicy reconciler turns its
 * custom resource and the per-pod signal feed into the plain structs below,
 * calls as_decide(), writes /scale when it says so, and copies the
 * conditions and current metrics it returns into the resource's status.
 * Layer 2 of control/ (control/README.md). The algorithm (autoscale.c, the
 * library ctl_autoscale) does no I/O, reads no clock, allocates nothing
 * outside struct as_history, prints and logs nothing: time is an argument
 * (milliseconds, any epoch, the same for every field of one call). The last
 * section of this header, the ScalePolicy resource and the reconcile pass
 * (policy.c, reconcile.c: ctl_autoscale_k8s), is the part that talks to the
 * API server through k8s/, the only folder below it that it uses.
 *
 * What it follows, as upstream has it (kubernetes/kubernetes
 * pkg/controller/podautoscaler, read at v1.33-v1.34):
 *   - replica_calculator.go: GetResourceReplicas, GetRawResourceReplicas,
 *     GetMetricReplicas/calcPlainMetricReplicas, groupPods, calculateRequests,
 *     and metrics/utilization.go (integer utilization and averages);
 *   - horizontal.go: reconcileAutoscaler (the min/max/zero paths),
 *     computeReplicasForMetrics (maximum over metrics, invalid metrics),
 *     normalizeDesiredReplicas (no behavior: 5 min window, scale-up cap
 *     max(2 x current, 4)), normalizeDesiredReplicasWithBehaviors
 *     (stabilization windows, Pods/Percent policies over the scale events
 *     of their periods, selectPolicy Max/Min/Disabled), storeScaleEvent,
 *     and the condition types, reasons and messages;
 *   - KEP-4951 tolerances: behavior.scaleUp/scaleDown.tolerance, each
 *     defaulting to the controller's tolerance (0.1), a ratio r being
 *     "within" when 1 - down <= r <= 1 + up.
 * Deliberate differences (README "Autoscaling"): the history of
 * recommendations and scale events is the caller's (struct as_history), so a
 * restarted controller starts it afresh as kube-controller-manager does; a
 * replica count computed beyond int32 is clamped to INT32_MAX.
 *
 * Metric sources (struct as_metric_spec):
 *   supported  Resource cpu: Utilization (of requests) or AverageValue
 *              Resource memory: Utilization or AverageValue (working set)
 *              ContainerResource cpu/memory: the same, of one container
 *              Pods: ferry's per-pod signals (as_signal_by_name()) as
 *              AverageValue: run-queue wait p50/p99 (seconds), network
 *              receive/transmit bytes or packets per second
 *   refused    Object and External (-EOPNOTSUPP, reason
 *              AS_REASON_UNSUPPORTED_METRIC): they describe something other
 *              than the target's pods and come from the custom and external
 *              metrics APIs, which ferry does not read; keep an HPA or KEDA
 *              for such a target
 *              minReplicas: 0 (-EOPNOTSUPP, AS_REASON_UNSUPPORTED_SPEC):
 *              upstream allows it only with an Object or External metric
 *              (the HPAScaleToZero gate, alpha); a target at zero has no pods
 *              for ferry's agents to measure
 * A target whose spec.replicas is 0 while minReplicas > 0 is left alone with
 * ScalingActive False ScalingDisabled, as upstream does.
 *
 * Values are integers in milli-units, as Quantity.MilliValue() gives them:
 * CPU in millicores, memory in milli-bytes, a run-queue wait of 2 ms as 2,
 * 1500 bytes per second as 1500000. Utilization is an integer percentage.
 *
 * Errors: 0 or -errno; the detail goes into a struct as_err the caller owns.
 * Threads: every function is reentrant; one struct as_history must not be
 * used by two threads at once.
 */
#ifndef FERRY_CONTROL_AUTOSCALE_H
#define FERRY_CONTROL_AUTOSCALE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AS_METRICS_MAX	16	  /* metrics in one policy */
#define AS_POLICIES_MAX 16	  /* scaling policies in one direction */
#define AS_UNSET	(-1)	  /* an int32 field left to its default */
#define AS_NO_TIME	INT64_MIN /* a time that is not set (a pod without startTime) */

/* The controller's flags (kube-controller-manager --horizontal-pod-autoscaler-*). */
#define AS_DEFAULT_TOLERANCE	       0.1
#define AS_DEFAULT_DOWNSCALE_WINDOW_MS (300 * 1000)
#define AS_DEFAULT_CPU_INIT_PERIOD_MS  (300 * 1000)
#define AS_DEFAULT_READINESS_DELAY_MS  (30 * 1000)
#define AS_DEFAULT_CPU_UTILIZATION     80   /* the API's metric when none is given */
#define AS_MAX_PERIOD_S		       1800 /* API validation */
#define AS_MAX_WINDOW_S		       3600
#define AS_DEFAULT_SUSTAIN_WINDOW_MS   6000 /* struct as_window */
#define AS_DEFAULT_SUSTAIN_STALE_MS    5000

/**
 * struct as_err - why a call failed: @code is the -errno returned (0 after a
 * success); @reason a condition reason for the resource's status (a static
 * string, "" after a success); @msg one line naming the field or value.
 */
struct as_err {
	int code;
	const char *reason;
	char msg[256];
};

/* ---- the policy: autoscaling/v2 HorizontalPodAutoscalerSpec, decoded ---- */

enum as_source {
	AS_SRC_RESOURCE,	   /* type: Resource */
	AS_SRC_CONTAINER_RESOURCE, /* type: ContainerResource */
	AS_SRC_PODS,		   /* type: Pods */
	AS_SRC_OBJECT,		   /* type: Object: refused */
	AS_SRC_EXTERNAL,	   /* type: External: refused */
};

enum as_resource {
	AS_RES_NONE, /* Pods metrics */
	AS_RES_CPU,
	AS_RES_MEMORY,
};

enum as_target_type {
	AS_TARGET_UTILIZATION,	 /* averageUtilization: percent of the requests */
	AS_TARGET_AVERAGE_VALUE, /* averageValue: per pod */
	AS_TARGET_VALUE,	 /* value: Object and External only, refused */
};

/*
 * enum as_signal - what the per-pod feed (control/signals) supplies for a
 * metric; as_metric_signal() says which one a metric needs.
 */
enum as_signal {
	AS_SIG_CPU,	   /* Resource cpu: on-CPU time per second, millicores */
	AS_SIG_MEMORY,	   /* Resource memory: working set, milli-bytes */
	AS_SIG_RUNQ_P50,   /* Pods ferry_runqueue_wait_p50_seconds */
	AS_SIG_RUNQ_P99,   /* Pods ferry_runqueue_wait_p99_seconds */
	AS_SIG_RX_BYTES,   /* Pods ferry_network_receive_bytes_per_second */
	AS_SIG_TX_BYTES,   /* Pods ferry_network_transmit_bytes_per_second */
	AS_SIG_RX_PACKETS, /* Pods ferry_network_receive_packets_per_second */
	AS_SIG_TX_PACKETS, /* Pods ferry_network_transmit_packets_per_second */
	AS_SIG_COUNT,
};

/* The Pods metric name of @s ("ferry_runqueue_wait_p99_seconds"), or the resource name. */
const char *as_signal_name(enum as_signal s);

/* The signal a Pods metric named @name asks for; -ENOENT if ferry serves no such metric. */
int as_signal_by_name(const char *name, enum as_signal *out);

/**
 * struct as_metric_spec - one entry of spec.metrics
 * @source:      its type
 * @resource:    Resource and ContainerResource: cpu or memory
 * @name:        Pods: the metric's name; ContainerResource: the container's;
 *               borrowed for the call; NULL otherwise
 * @target:      the target's type
 * @utilization: AS_TARGET_UTILIZATION: percent, > 0
 * @value:       AS_TARGET_AVERAGE_VALUE (or VALUE): milli-units, > 0
 */
struct as_metric_spec {
	enum as_source source;
	enum as_resource resource;
	const char *name;
	enum as_target_type target;
	int32_t utilization;
	int64_t value;
};

enum as_policy_type {
	AS_POLICY_PODS,	   /* type: Pods: at most @value pods per period */
	AS_POLICY_PERCENT, /* type: Percent: at most @value % per period */
};

struct as_scaling_policy {
	enum as_policy_type type;
	int32_t value;	  /* > 0 */
	int32_t period_s; /* 1..1800 */
};

enum as_select {
	AS_SELECT_UNSET = 0, /* Max */
	AS_SELECT_MAX,
	AS_SELECT_MIN,
	AS_SELECT_DISABLED,
};

/**
 * struct as_rules - behavior.scaleUp or behavior.scaleDown (HPAScalingRules)
 * @window_s:   stabilizationWindowSeconds, 0..3600; AS_UNSET: 0 up, the
 *              controller's downscale window (struct as_policy) down
 * @select:     selectPolicy
 * @n_policies: 0: the defaults (up: Pods 4 and Percent 100 per 15 s; down:
 *              Percent 100 per 15 s)
 * @tolerance:  KEP-4951 tolerance of this direction, >= 0; < 0: the
 *              controller's (struct as_policy @tolerance)
 */
struct as_rules {
	int32_t window_s;
	enum as_select select;
	size_t n_policies;
	struct as_scaling_policy policies[AS_POLICIES_MAX];
	double tolerance;
};

/**
 * struct as_policy - a ScalePolicy's spec plus the controller's settings;
 * as_policy_init() gives upstream's defaults.
 * @min_replicas:      minReplicas (1 when absent; 0 is refused)
 * @max_replicas:      maxReplicas, >= @min_replicas
 * @metrics:           @n_metrics entries, 1..AS_METRICS_MAX, borrowed for
 *                     each call (a spec without metrics gets cpu
 *                     Utilization AS_DEFAULT_CPU_UTILIZATION from its decoder)
 * @has_behavior:      spec.behavior is present: @up and @down apply (absent
 *                     fields at their defaults); otherwise upstream's
 *                     behavior-less path: a @downscale_window_ms
 *                     stabilization and a scale-up cap of max(2 x, 4)
 * @tolerance:         --horizontal-pod-autoscaler-tolerance (0.1)
 * @downscale_window_ms: --horizontal-pod-autoscaler-downscale-stabilization
 * @cpu_init_period_ms: --horizontal-pod-autoscaler-cpu-initialization-period
 * @readiness_delay_ms: --horizontal-pod-autoscaler-initial-readiness-delay
 */
struct as_policy {
	int32_t min_replicas;
	int32_t max_replicas;
	const struct as_metric_spec *metrics;
	size_t n_metrics;
	bool has_behavior;
	struct as_rules up, down;
	double tolerance;
	int64_t downscale_window_ms;
	int64_t cpu_init_period_ms;
	int64_t readiness_delay_ms;
};

/* as_policy_init() - min 1, max 1, no metrics, no behavior, the controller's defaults. */
void as_policy_init(struct as_policy *p);

/* as_rules_init() - every field of @r at its default (AS_UNSET, no policies, tolerance -1). */
void as_rules_init(struct as_rules *r);

/**
 * as_metric_signal() - which signal the feed must supply for @m
 * Return: 0; -EOPNOTSUPP (Object, External, a Value target),
 * -ENOENT (a Pods metric ferry does not serve), -EINVAL (a bad spec).
 */
int as_metric_signal(const struct as_metric_spec *m, enum as_signal *out, struct as_err *err);

/**
 * as_policy_check() - hold @p against the API's validation and what ferry
 * supports, before the first as_decide()
 * Return: 0; -EINVAL (a value the API would refuse: min > max, a target of
 * 0, a period of 0 or over 1800 s, a window over 3600 s, a negative
 * tolerance...; reason AS_REASON_INVALID_SPEC), -EOPNOTSUPP (Object,
 * External, minReplicas 0: AS_REASON_UNSUPPORTED_METRIC or
 * AS_REASON_UNSUPPORTED_SPEC), -ENOENT (an unknown Pods metric:
 * AS_REASON_UNSUPPORTED_METRIC). @err names the field ("metrics[1]: ...").
 */
int as_policy_check(const struct as_policy *p, struct as_err *err);

/* ---- the observation: the target's scale, its pods, their metrics ---- */

enum as_phase {
	AS_PHASE_RUNNING = 0, /* zeroed pods are running */
	AS_PHASE_PENDING,
	AS_PHASE_SUCCEEDED,
	AS_PHASE_FAILED,
	AS_PHASE_UNKNOWN,
};

enum as_ready {
	AS_READY_TRUE = 0, /* the Ready condition, status True */
	AS_READY_FALSE,
	AS_READY_UNKNOWN,
	AS_READY_NONE, /* no Ready condition at all */
};

/**
 * struct as_pod - one pod the scale's selector selects
 * @phase:       status.phase
 * @deleting:    metadata.deletionTimestamp is set
 * @ready:       the Ready condition's status
 * @ready_since: its lastTransitionTime (ms)
 * @start_time:  status.startTime (ms), AS_NO_TIME when absent
 * A zeroed struct is a Running, Ready pod started at time 0.
 */
struct as_pod {
	enum as_phase phase;
	bool deleting;
	enum as_ready ready;
	int64_t ready_since;
	int64_t start_time;
};

/**
 * struct as_sample - one pod's value of one metric
 * @present:     a value is known; otherwise the pod is "missing" for this
 *               metric (100 % of target on scale-down, 0 % on scale-up)
 * @value:       milli-units (a rate, a percentile, a working set)
 * @timestamp:   end of the newest measurement in @value (ms)
 * @window:      the span @value covers (ms): CPU samples are set aside when
 *               @timestamp < Ready's lastTransitionTime + @window during the
 *               pod's initialization period
 * @has_request: Resource and ContainerResource: the pod (or container)
 *               has a request for the resource; without it the metric fails
 *               for the whole target, as upstream's calculateRequests does
 * @request:     that request, milli-units (the sum of the pod's containers,
 *               restartable init containers included, or the one container)
 */
struct as_sample {
	bool present;
	int64_t value;
	int64_t timestamp;
	int64_t window;
	bool has_request;
	int64_t request;
};

/**
 * struct as_metric_obs - what the feed gave for one metric
 * @fetch_err: 0, or -errno when nothing could be had for this metric (no
 *             agent answered): the metric is invalid this pass
 * @pods:      n_pods samples, index-aligned with as_observation.pods; borrowed
 */
struct as_metric_obs {
	int fetch_err;
	const struct as_sample *pods;
};

/**
 * struct as_observation - the inputs of one pass
 * @spec_replicas:   the scale subresource's spec.replicas ("current")
 * @status_replicas: its status.replicas (kept for the status; Resource and
 *                   Pods metrics do not use it, as upstream)
 * @pods, @n_pods:   the pods of status.selector, deleting and failed ones
 *                   included (they are set aside here); borrowed
 * @metrics:         one per policy metric, same order; borrowed
 */
struct as_observation {
	int32_t spec_replicas;
	int32_t status_replicas;
	const struct as_pod *pods;
	size_t n_pods;
	const struct as_metric_obs *metrics;
};

/* ---- the history a policy keeps between passes ---- */

struct as_rec {
	int64_t t;
	int32_t replicas;
};

struct as_event {
	int64_t t;
	int32_t change; /* replicas added (up) or removed (down), > 0 */
	bool outdated;	/* older than the direction's longest policy period */
};

/**
 * struct as_history - upstream's per-HPA recommendations and scale events
 * @started: a pass has run (the first one records the current replica
 *           count as a recommendation, so a fresh controller does not scale
 *           down within the window of its start)
 * @recs:    unstabilized recommendations; an entry older than both windows
 *           is reused, so the list holds about window / cadence entries
 *           (3601 at 1 s with a 3600 s window)
 * @up, @down: scale events (only with a behavior), reused the same way
 * Owned by the caller: as_history_init() zeroes, as_history_fini() frees
 * (NULL-tolerant). One per policy; start it afresh when the policy's target
 * changes, as upstream's map is keyed by the HPA.
 */
struct as_history {
	bool started;
	struct as_rec *recs;
	size_t n_recs, cap_recs;
	struct as_event *up, *down;
	size_t n_up, cap_up, n_down, cap_down;
};

void as_history_init(struct as_history *h);
void as_history_fini(struct as_history *h);

/*
 * as_history_add_rec(), as_history_add_event() - append an entry (tests,
 * and a controller that carries history over). Return: 0 or -ENOMEM.
 */
int as_history_add_rec(struct as_history *h, int64_t t, int32_t replicas);
int as_history_add_event(struct as_history *h, bool up, int64_t t, int32_t change);

/* ---- the decision ---- */

/*
 * Condition reasons, upstream's strings (a static string in struct
 * as_condition.reason compares equal to these with strcmp).
 */
#define AS_REASON_SUCCEEDED_GET_SCALE	"SucceededGetScale"
#define AS_REASON_FAILED_GET_SCALE	"FailedGetScale" /* the reconciler's */
#define AS_REASON_SUCCEEDED_RESCALE	"SucceededRescale"
#define AS_REASON_FAILED_UPDATE_SCALE	"FailedUpdateScale"
#define AS_REASON_READY_FOR_NEW_SCALE	"ReadyForNewScale"
#define AS_REASON_SCALE_UP_STABILIZED	"ScaleUpStabilized"
#define AS_REASON_SCALE_DOWN_STABILIZED "ScaleDownStabilized"
#define AS_REASON_VALID_METRIC_FOUND	"ValidMetricFound"
#define AS_REASON_SCALING_DISABLED	"ScalingDisabled"
#define AS_REASON_INVALID_SELECTOR	"InvalidSelector"   /* the reconciler's */
#define AS_REASON_AMBIGUOUS_SELECTOR	"AmbiguousSelector" /* the reconciler's */
#define AS_REASON_FAILED_RESOURCE	"FailedGetResourceMetric"
#define AS_REASON_FAILED_CONTAINER	"FailedGetContainerResourceMetric"
#define AS_REASON_FAILED_PODS		"FailedGetPodsMetric"
#define AS_REASON_DESIRED_WITHIN_RANGE	"DesiredWithinRange"
#define AS_REASON_TOO_FEW_REPLICAS	"TooFewReplicas"
#define AS_REASON_TOO_MANY_REPLICAS	"TooManyReplicas"
#define AS_REASON_SCALE_UP_LIMIT	"ScaleUpLimit"
#define AS_REASON_SCALE_DOWN_LIMIT	"ScaleDownLimit"
/* ferry's own, for a spec as_policy_check() refuses */
#define AS_REASON_INVALID_SPEC	     "InvalidSpec"
#define AS_REASON_UNSUPPORTED_METRIC "UnsupportedMetric"
#define AS_REASON_UNSUPPORTED_SPEC   "UnsupportedSpec"

/**
 * struct as_condition - one of the HPA's condition types as this pass left it
 * @set:     the pass set it; when false the resource keeps what it had
 *           (upstream leaves ScalingLimited untouched when the metrics fail)
 * @status:  True or False
 * @reason:  one of AS_REASON_* (static)
 * @message: upstream's wording
 * The reconciler keeps lastTransitionTime unless @status changed.
 */
struct as_condition {
	bool set;
	bool status;
	const char *reason;
	char message[256];
};

/**
 * struct as_metric_status - one entry of status.currentMetrics, same order
 * as spec.metrics
 * @valid:           false: the metric failed this pass (an empty entry)
 * @average_value:   milli-units: the mean over the pods measured, before
 *                   missing and not-ready pods were counted in
 * @has_utilization: Utilization targets: @average_utilization is set
 * @average_utilization: percent of the requests (integer, truncated)
 */
struct as_metric_status {
	bool valid;
	int64_t average_value;
	bool has_utilization;
	int32_t average_utilization;
};

/**
 * struct as_decision - what one pass decided, for the reconciler to write
 * @current_replicas: status.currentReplicas (the scale's spec.replicas)
 * @desired_replicas: status.desiredReplicas; -1 when every metric failed (or
 *                    some did and the rest said scale down): keep the
 *                    previous value, write nothing to /scale
 * @rescale:          write @desired_replicas to /scale, then call
 *                    as_scaled() (or as_scale_failed())
 * @rescale_reason:   for the SuccessfulRescale event, "New size: %d; reason: %s"
 * @metric_replicas:  the largest count a metric proposed (-1: none)
 * @metric_name:      which metric proposed it ("cpu resource utilization
 *                    (percentage of request)", "pods metric NAME")
 * @metrics_err:      0, or the first failed metric's -errno
 * @metrics_msg:      "invalid metrics (N invalid out of M), first error is: ...",
 *                    the FailedComputeMetricsReplicas event's text when
 *                    @desired_replicas is -1
 * @able_to_scale, @scaling_active, @scaling_limited: the condition types
 * @n_metrics, @metrics: status.currentMetrics
 */
struct as_decision {
	int32_t current_replicas;
	int32_t desired_replicas;
	bool rescale;
	char rescale_reason[192];
	int32_t metric_replicas;
	char metric_name[160];
	int metrics_err;
	char metrics_msg[512];
	struct as_condition able_to_scale, scaling_active, scaling_limited;
	size_t n_metrics;
	struct as_metric_status metrics[AS_METRICS_MAX];
};

/**
 * as_decide() - one pass of the HPA controller's reconcileAutoscaler, after
 * the scale subresource was read
 * @pol:  a policy as_policy_check() accepted; borrowed
 * @obs:  the scale and the pods; borrowed
 * @now:  ms, the pass's time (readiness, windows, periods)
 * @hist: this policy's history; the pass records its recommendation in it
 * @out:  filled on success
 *
 * Set aside as upstream: deleting and Failed pods; Pending pods (0 % on a
 * scale-up); for cpu, pods not yet ready or whose sample predates their
 * readiness (cpu initialization period, initial readiness delay; 0 % on a
 * scale-up); pods without a sample (100 % of target on a scale-down, 0 % on
 * a scale-up). If counting them in reverses the direction or lands within
 * the tolerance, nothing changes.
 *
 * Return: 0 (a failed metric is not an error of the call: see
 * @out->metrics_err); -EINVAL (@pol or @obs malformed, detail in @err),
 * -ENOMEM (the history could not grow; nothing was recorded).
 */
int as_decide(const struct as_policy *pol, const struct as_observation *obs, int64_t now,
	      struct as_history *hist, struct as_decision *out, struct as_err *err);

/**
 * as_scaled() - the /scale write of @dec succeeded: record the scale event
 * (policies with a behavior count it against their periods) and set
 * AbleToScale True SucceededRescale.
 * Return: 0 or -ENOMEM (the event is lost; the condition is set anyway).
 */
int as_scaled(const struct as_policy *pol, struct as_history *hist, struct as_decision *dec,
	      int64_t now);

/*
 * as_scale_failed() - the /scale write failed: AbleToScale False
 * FailedUpdateScale with @why (borrowed), desired_replicas -1 (keep the
 * previous status), no event recorded.
 */
void as_scale_failed(struct as_decision *dec, const char *why);

/* ---- "sustained": what a pod's recent points say, per metric ---- */

/**
 * struct as_point - one measurement of the feed
 * @t:     end of the interval it covers (ms)
 * @dt:    its length (ms, > 0): 1000 for the agents' 1 s rates
 * @value: milli-units over that interval
 */
struct as_point {
	int64_t t;
	int64_t dt;
	int64_t value;
};

/*
 * enum as_sustain_rule - how as_sustain() sums up the points in the window
 * (spec.sustainRule)
 */
enum as_sustain_rule {
	AS_SUSTAIN_MEAN = 0, /* "Mean": their mean, weighted by their length */
	AS_SUSTAIN_HELD,     /* "Held": the lowest of them: the level held throughout */
};

/**
 * struct as_window - how as_sustain() reads a pod's recent points
 * @window_ms: points whose end lies within (now - window, now] count
 *             (default AS_DEFAULT_SUSTAIN_WINDOW_MS)
 * @stale_ms:  if the newest point is this old or older the pod's value is
 *             missing (default 5000); a point from the future (clock skew)
 *             counts as now. A pod without a point in the window is
 *             missing too, so a pod is missing after the shorter of both.
 * @rule:      mean or held (the ScalePolicy's default: held)
 */
struct as_window {
	int64_t window_ms;
	int64_t stale_ms;
	enum as_sustain_rule rule;
};

/**
 * as_sustain() - the value as_decide() sees for one pod and one metric
 * @pts, @n: the pod's points, oldest first; borrowed
 * @now:     ms
 * @out:     @present, @value (rounded to the nearest milli-unit),
 *           @timestamp (newest point's @t, at most @now) and @window (the
 *           time the points cover); the request fields are left as they were
 * Mean: a spike shorter than the window moves the value by its share of the
 * window: a 1 s burst of +100 % in a 3 s window reads +33 %. Held: the
 * lowest point, so a spike shorter than the window does not move the value
 * at all, and a step shows in full once it has lasted the whole window (a
 * dip moves it down at once: scale-down waits for its stabilization
 * window anyway).
 * Return: 0 (a missing value is a result, not an error); -EINVAL (points not
 * in order, a @dt <= 0, a window or bound <= 0, an unknown rule).
 */
int as_sustain(const struct as_point *pts, size_t n, int64_t now, const struct as_window *w,
	       struct as_sample *out);

/* ==== the ScalePolicy resource and the reconcile pass ====
 *
 * What follows reads and writes Kubernetes objects through ferry's client
 * (k8s/k8s.h, layer 0), and lives in a library of its own
 * (ctl_autoscale_k8s: policy.c, reconcile.c) so that the algorithm above
 * still links alone. No k8s/ header is needed to include this one; its
 * types appear only behind pointers.
 *
 * The custom resource, ScalePolicy (ferry.io/v1alpha1, plural scalepolicies,
 * k8s/deploy/crd-scalepolicy.yaml), is an autoscaling/v2
 * HorizontalPodAutoscaler's spec, so that an HPA's spec can be pasted over,
 * plus three fields of ferry's:
 *   spec.scaleTargetRef {apiVersion, kind, name}   required (kind, name)
 *   spec.minReplicas     1 when absent; 0 is refused (UnsupportedSpec)
 *   spec.maxReplicas     required, >= 1
 *   spec.metrics[]       Resource, ContainerResource, Pods (served), Object,
 *                        External (refused: UnsupportedMetric); none: cpu at
 *                        80 % of requests, as the HPA defaults
 *   spec.behavior        scaleUp / scaleDown {stabilizationWindowSeconds,
 *                        selectPolicy, policies[], tolerance}
 *   spec.mode            Active (default) | Shadow: decide and report, write
 *                        nothing (beside an HPA or a KEDA ScaledObject)
 *   spec.sustainWindowSeconds  the window of each pod's value (1..60,
 *                        default 6; as_sustain())
 *   spec.sustainRule     Held (default): the level each pod held throughout
 *                        the window; Mean: its mean over the window
 * and a status shaped like the HPA's (observedGeneration, currentReplicas,
 * desiredReplicas, lastScaleTime, currentMetrics[], conditions[] of types
 * AbleToScale, ScalingActive, ScalingLimited) with lastDecision {time,
 * currentReplicas, desiredReplicas, reason, applied}: what the last rescale
 * decided, and whether it was written (in shadow mode: what ferry would
 * have done, and when).
 */
struct k8s_obj;
struct k8s_client;
struct k8s_err;
struct k8s_resource;

/* ferry.io/v1alpha1 scalepolicies, namespaced */
extern const struct k8s_resource as_scalepolicies;

/* The field manager of ferry's writes to /scale and to the ScalePolicy's status. */
#define AS_FIELD_MANAGER "ferry-autoscale"
/*
 * A target annotated so (any value: who paused it and why) is left alone,
 * with ScalingActive False ScalingPaused: set by a migration or a switch in
 * progress (DESIGN.md "Ownership").
 */
#define AS_PAUSED_ANNOTATION "ferry.io/autoscaling-paused"
#define AS_DEFAULT_SUSTAIN_S (AS_DEFAULT_SUSTAIN_WINDOW_MS / 1000)
#define AS_MAX_SUSTAIN_S     60

/* the reconcile pass's own condition reasons */
#define AS_REASON_SCALING_PAUSED    "ScalingPaused"
#define AS_REASON_SCALED_BY_ANOTHER "ScaledByAnother"
#define AS_REASON_SHADOW	    "ShadowMode"

enum as_mode {
	AS_MODE_ACTIVE = 0, /* write /scale */
	AS_MODE_SHADOW,	    /* write nothing but the ScalePolicy's status and events */
};

/**
 * struct as_spec - a ScalePolicy, decoded
 * @api_version, @kind, @name: spec.scaleTargetRef (@api_version "" when
 *              absent: the core group); borrowed from the object decoded
 * @policy:     the algorithm's policy; @policy.metrics points at @metrics
 *              of this same struct, so an as_spec is never copied by value
 * @metrics:    spec.metrics; names borrowed from the object
 * @window:     as_sustain()'s bounds: spec.sustainWindowSeconds and
 *              spec.sustainRule; a value older than
 *              AS_DEFAULT_SUSTAIN_STALE_MS (or two windows, if longer: the
 *              window itself bounds it first) is missing
 * @mode:       spec.mode
 * @generation: metadata.generation (status.observedGeneration)
 */
struct as_spec {
	const char *api_version, *kind, *name;
	struct as_policy policy;
	struct as_metric_spec metrics[AS_METRICS_MAX];
	struct as_window window;
	enum as_mode mode;
	int64_t generation;
};

/**
 * as_spec_decode() - a ScalePolicy object (as read from the API, or any
 * JSON or YAML a user wrote) to @out, then as_policy_check()
 * @sp:  borrowed; @out's strings point into it, valid while @sp lives
 *       unchanged
 * @err: the field and what is wrong with it ("spec.metrics[1].resource.
 *       target.averageUtilization: must be an integer"), and the condition
 *       reason
 *
 * The decoder takes what the API server's validation of an
 * autoscaling/v2 HPA takes (and the CRD's schema), and refuses the rest
 * itself: a custom resource may have been stored before its schema was,
 * or come from a file.
 * Return: 0; -EINVAL (malformed: a missing or mistyped field, an unknown
 * type or policy, a member of another metric type set, a value out of
 * range; AS_REASON_INVALID_SPEC); -EOPNOTSUPP and -ENOENT as
 * as_policy_check() (well-formed but refused; @out is complete then).
 */
int as_spec_decode(const struct k8s_obj *sp, struct as_spec *out, struct as_err *err);

/**
 * as_feed_fn - the per-pod signal feed (control/signals): the points of one
 * pod's (or one of its containers') signal @sig, oldest first
 * @ns, @pod, @uid: the pod; @container: NULL for the whole pod, or a
 *        container's name (ContainerResource metrics)
 * @pts, @n: set to the points (borrowed until the pass returns; @n may be 0)
 *
 * Times are wall-clock milliseconds since the epoch (the pods' startTime
 * and Ready transition are compared with them). Called on the pass's
 * thread, once per pod and metric.
 * Return: 0; -ENOENT when there is nothing for this pod (its agent stopped,
 * or has not seen it yet): the pod is "missing" for the metric; any other
 * -errno when the feed can answer nothing at all this pass: the metric is
 * invalid (FailedGet...Metric), as when upstream's metrics API fails.
 */
typedef int (*as_feed_fn)(void *arg, enum as_signal sig, const char *ns, const char *pod,
			  const char *uid, const char *container, const struct as_point **pts,
			  size_t *n);

/**
 * struct as_env - what a pass works with (zero means "default")
 * @sz:               sizeof(struct as_env)
 * @client:           the API client (writes fenced by the runtime's lease)
 * @field_manager:    AS_FIELD_MANAGER
 * @feed, @feed_arg:  the signal feed; required
 * @now_ms:           the pass's time, wall clock ms (0: now)
 * @period_ms:        the loop's period, returned as requeue_after_ms (1000)
 * @status_period_ms: a status whose only change is currentMetrics is
 *                    written at most this often (15 000: the HPA's sync
 *                    period); any other change is written at once
 * @hpa_period_ms:    HorizontalPodAutoscalers are listed (who else scales
 *                    the target?) at most this often (15 000)
 * @controller, @instance: the Events' reportingController
 *                    ("ferry.io/controller") and reportingInstance (the pod)
 * @no_events:        emit no Events
 */
struct as_env {
	size_t sz;
	struct k8s_client *client;
	const char *field_manager;
	as_feed_fn feed;
	void *feed_arg;
	int64_t now_ms;
	unsigned int period_ms;
	unsigned int status_period_ms;
	unsigned int hpa_period_ms;
	const char *controller, *instance;
	bool no_events;
};

/*
 * struct as_state - what one ScalePolicy keeps between passes: the
 * algorithm's history, the target's resource as discovered, when the
 * status was written and which warning was last emitted. Opaque; one per
 * ScalePolicy, used by one thread at a time. A ScalePolicy whose uid or
 * target changes starts afresh (as upstream's per-HPA maps do).
 */
struct as_state;

/* as_state_new() - 0 or -ENOMEM; as_state_free() takes NULL */
int as_state_new(struct as_state **out);
void as_state_free(struct as_state *st);

/**
 * struct as_outcome - what a pass did
 * @dec:        the conditions as the pass left them (always) and, when
 *              @decided, the decision
 * @decided:    as_decide() ran
 * @scaled:     /scale was written (dec.desired_replicas)
 * @shadow:     the decision would have rescaled; shadow mode wrote nothing
 * @status_written: the ScalePolicy's status was patched
 * @requeue_after_ms: run the next pass this long after (@env->period_ms)
 * @reason:     the reason that sums the pass up (a condition reason; static)
 * @message:    one line for a log or the runtime's condition
 */
struct as_outcome {
	struct as_decision dec;
	bool decided, scaled, shadow, status_written;
	unsigned int requeue_after_ms;
	const char *reason;
	char message[256];
};

/**
 * as_reconcile() - one pass over one ScalePolicy: decode it, find its
 * target's resource (discovery) and scale subresource, read the target, its
 * pods (status.selector) and their signals (@env->feed), decide
 * (as_decide()), write /scale by server-side apply as @env->field_manager,
 * and patch the ScalePolicy's status and emit Events as the HPA words them
 * @sp: the ScalePolicy as read (borrowed); its status is the previous one
 * @st: this ScalePolicy's state
 *
 * The plain function the controller runtime calls every @period_ms per
 * ScalePolicy (control/operator, when merged); it prints nothing.
 * Refusals are outcomes written into the status, not errors:
 *   - a spec that does not decode or is refused: ScalingActive False with
 *     InvalidSpec, UnsupportedMetric or UnsupportedSpec;
 *   - a target whose kind the API does not serve, that is missing, or has
 *     no scale subresource: AbleToScale False FailedGetScale;
 *   - a scale without status.selector, or one that does not parse:
 *     ScalingActive False InvalidSelector;
 *   - a target annotated AS_PAUSED_ANNOTATION: ScalingActive False
 *     ScalingPaused, nothing written;
 *   - a target an HorizontalPodAutoscaler also scales, or whose replicas
 *     another field manager *applies* (a GitOps tool, kubectl apply
 *     --server-side): AbleToScale False ScaledByAnother naming it, nothing
 *     written (mode Shadow runs beside them). Replicas owned by an Update
 *     (kubectl create, kubectl scale, an HPA deleted since) are taken over,
 *     as an HPA's own write takes them;
 *   - metrics that fail: as_decide()'s conditions.
 * Return: 0 (see @out); -errno when the API server could not be asked or
 * refused a request a retry may fix (the runtime backs off): the network,
 * 403, 5xx, a failed /scale write (after AbleToScale False
 * FailedUpdateScale went into the status), a status write that failed;
 * -ENOMEM. @err names the request.
 */
int as_reconcile(const struct as_env *env, const struct k8s_obj *sp, struct as_state *st,
		 struct as_outcome *out, struct k8s_err *err);

/**
 * as_status_patch() - the merge patch {"status": {...}} that records @out
 * on the ScalePolicy @sp (borrowed; its conditions keep their
 * lastTransitionTime unless their status changes)
 * @spec:   decoded @sp, or NULL when it did not decode (no currentMetrics)
 * @now_ms: the pass's time
 * @patch:  a root the caller frees with k8s_obj_free()
 *
 * desiredReplicas and currentMetrics are left as they were when @out has
 * no decision (desired_replicas -1), as upstream keeps them.
 * Return: 0; -ENOMEM.
 */
int as_status_patch(const struct k8s_obj *sp, const struct as_spec *spec,
		    const struct as_outcome *out, int64_t now_ms, struct k8s_obj **patch);

/*
 * as_reconciler - the ScalePolicy reconciler of `ferry controller`
 * (controller.c; control/operator/registry.c switches it on): it watches
 * ScalePolicies in every namespace and runs as_reconcile() on each every
 * period (1 s), four keys at once, with one struct as_state per
 * ScalePolicy (dropped when it is deleted) and the per-pod feed its setup
 * makes. It writes no runtime condition: the pass writes the HPA's
 * conditions into the status itself. Its rights are those of
 * k8s/deploy/controller-rbac.yaml's ClusterRole.
 */
struct k8s_reconciler;
extern const struct k8s_reconciler as_reconciler;

#endif /* FERRY_CONTROL_AUTOSCALE_H */
