/* SPDX-License-Identifier: MIT */
/*
 * control/lb/lb.h - the load balancing capability: a Service and its
 * EndpointSlices, as the API server has them, turned into the socket load
 * balancer's entries (bpf/ebpf_lb.h), one per Service port and ClusterIP.
 *
 * This is a pure function over API objects: no I/O, no clock, no kernel.
 * The agent (control/agent/) calls it for every change of an opted-in
 * Service, of its EndpointSlices or of the LoadBalancePolicy that names it,
 * and hands each entry to ebpf_lb_service_set(); the unit tests and the
 * fuzzers call it on JSON.
 *
 * What it decides, as kube-proxy does (pkg/proxy/topology.go,
 * CategorizeEndpoints):
 *   - which Services: those annotated ferry.io/socket-lb: "true", or named
 *     by a LoadBalancePolicy (the caller says so: lb_plan_build_opts()),
 *     with a ClusterIP; ExternalName and headless Services (clusterIP None)
 *     are not balanced, and a Service neither annotated nor named by a
 *     policy is not either;
 *   - the entries: each ClusterIP of spec.clusterIPs (IPv4 and IPv6; else
 *     spec.clusterIP) times each TCP or UDP port of spec.ports (SCTP is
 *     left to kube-proxy); a port is matched by name to the EndpointSlice
 *     port of the same name (and protocol), whose number each endpoint of
 *     that slice serves on (targetPort by name works so);
 *   - the backends of an entry: the endpoints of the slices of the IP's
 *     family (addressType IPv4 or IPv6; FQDN slices are ignored) that are
 *     ready; when none is, those serving and terminating (the terminating
 *     fallback). internalTrafficPolicy Local keeps only endpoints whose
 *     nodeName is this node (ready ones, else serving and terminating
 *     ones). Otherwise topology hints (hints.forZones) are honoured when
 *     every ready endpoint has hints and at least one names this node's
 *     zone: then only endpoints hinted for the zone;
 *   - sessionAffinity ClientIP: EBPF_LB_AFFINITY_CLIENT;
 *   - weights: equal (1 each), or those a LoadBalancePolicy published
 *     (lb_plan_opts.published; lb_published_weight() of each backend's
 *     address); when that is 0 for every backend the slices give (all
 *     published as not ready, ready since), equal weights instead. An entry
 *     without backends is kept: its connects are refused at once
 *     (ECONNREFUSED).
 * The same address twice (in two slices) counts once, its first sighting.
 */
#ifndef FERRY_CTL_LB_H
#define FERRY_CTL_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bpf/ebpf_lb.h"

#ifdef __cplusplus
extern "C" {
#endif

struct k8s_obj;
struct k8s_resource;
struct k8s_reconciler;
struct k8s_client;
struct k8s_err;

/* The opt-in: this annotation with the value "true". */
#define LB_ANNOTATION "ferry.io/socket-lb"

/* The node the entries are for (borrowed; zone may be NULL: no hints used). */
struct lb_node {
	const char *name; /* its nodeName, for internalTrafficPolicy Local */
	const char *zone; /* its topology.kubernetes.io/zone label */
};

/* One Service port on one ClusterIP: what ebpf_lb_service_set() takes. */
struct lb_entry {
	struct ebpf_lb_service svc; /* svc.be points at be below */
	struct ebpf_lb_backend *be; /* svc.n, owned by the plan */
	char port_name[64];	    /* spec.ports[].name ("" when unnamed) */
};

/* What a Service comes to on this node. */
struct lb_plan {
	struct lb_entry *e; /* n entries */
	size_t n;
	/*
	 * NULL: balanced (n may still be 0: no TCP or UDP port). Else why it
	 * is not, a static string: "not opted in", "ExternalName",
	 * "headless", "no ClusterIP".
	 */
	const char *skip;
};

/* Error detail for a malformed Service or EndpointSlice. */
struct lb_err {
	char msg[256];
};

/*
 * lb_opted_in() - @svc carries LB_ANNOTATION: "true". (A Service a
 * LoadBalancePolicy names is opted in too; only the caller, who sees the
 * policies, knows that: lb_plan_opts.policy.)
 */
bool lb_opted_in(const struct k8s_obj *svc);

/**
 * lb_pod_has_mesh() - @pod has a service mesh's sidecar, whose iptables
 * redirect must see the Service address: a container istio-proxy or
 * linkerd-proxy, an init container istio-init, linkerd-init (or a native
 * sidecar istio-proxy, linkerd-proxy), or the annotation
 * sidecar.istio.io/status (istio's injector writes it). The balancer
 * leaves such pods alone (ebpf_lb_skip_set() of their cgroup).
 */
bool lb_pod_has_mesh(const struct k8s_obj *pod);

/**
 * lb_plan_build() - the entries of one Service on one node
 * @svc:     the Service (an API object), borrowed for the call
 * @slices:  @nslices EndpointSlices, borrowed; those that are not the
 *           Service's (label kubernetes.io/service-name, namespace) are
 *           ignored, so the caller may pass more
 * @node:    borrowed
 * @out:     the plan on success, freed with lb_plan_free()
 * @err:     NULL, or the detail of -EINVAL
 *
 * Pure and deterministic: the same objects give the same plan (entries in
 * the order of spec.clusterIPs, then spec.ports; backends sorted by address,
 * as ebpf_maglev_build() sorts them anyway).
 *
 * Return: 0; -EINVAL (not a Service with metadata.name; a ClusterIP that is
 * not an address; a port out of 1..65535; a Service or slice field of the
 * wrong type; more than EBPF_LB_MAX_BACKENDS backends), -ENOMEM.
 */
int lb_plan_build(const struct k8s_obj *svc, const struct k8s_obj *const *slices, size_t nslices,
		  const struct lb_node *node, struct lb_plan **out, struct lb_err *err);

struct lb_published;

/**
 * struct lb_plan_opts - what lb_plan_build_opts() is told beyond the objects
 * @sz:        sizeof(struct lb_plan_opts)
 * @policy:    a LoadBalancePolicy names the Service (spec.service, same
 *             namespace): it is balanced without the annotation
 * @published: NULL, or that policy's status (lb_published_parse()),
 *             borrowed for the call; implies @policy. Each backend's weight
 *             is then lb_published_weight(@published, its address, 1): the
 *             published weight, the slow start's for a pod the status does
 *             not list yet, 1 each while nothing is published, and 1 each
 *             when all of an entry's backends were published at 0 (the
 *             status is older than the slices, which say they are ready).
 *             Its service must be the Service's name (else -EINVAL)
 */
struct lb_plan_opts {
	size_t sz;
	bool policy;
	const struct lb_published *published;
};

/**
 * lb_plan_build_opts() - lb_plan_build() with @opts (NULL: as lb_plan_build(),
 * which is this with NULL: the annotation only, equal weights)
 *
 * Return: as lb_plan_build(); -EINVAL also for @opts->published of another
 * Service.
 */
int lb_plan_build_opts(const struct k8s_obj *svc, const struct k8s_obj *const *slices,
		       size_t nslices, const struct lb_node *node, const struct lb_plan_opts *opts,
		       struct lb_plan **out, struct lb_err *err);

/**
 * lb_plan_build_json() - the same from JSON documents (tests, the fuzzer)
 * @svc:    the Service, @svc_len bytes
 * @slices: @nslices documents, each slice_len[i] bytes
 *
 * Return: as lb_plan_build(); -EINVAL also for a document that is not JSON.
 */
int lb_plan_build_json(const char *svc, size_t svc_len, const char *const *slices,
		       const size_t *slice_len, size_t nslices, const struct lb_node *node,
		       struct lb_plan **out, struct lb_err *err);

/* lb_plan_free() - free @p (NULL: nothing) */
void lb_plan_free(struct lb_plan *p);

/* ------------------------------------------------------------ weights
 *
 * Load-aware weights (issue 23): each backend's measured headroom turned
 * into its weight, a pure function of what the agents measured (the per-pod
 * feed, control/signals) and the weights published before:
 *
 *   score = headroom x run-queue factor
 *     headroom        (capacity - CPU used) / capacity, from 0 to 1; the
 *                     capacity is the pod's CPU request (LB_SIGNAL_CPU_REQUESTS;
 *                     its limit when it has only a limit) or its limit
 *                     (LB_SIGNAL_CPU_LIMITS, where CFS throttling above
 *                     LB_THROTTLED_AT_LIMIT s/s counts as no headroom at all);
 *                     a BestEffort pod (neither) gets besteffort_cores
 *     run-queue       1 / (1 + p99 wait / runq_target_s): 1 at no wait, 1/2 at
 *                     the target (a CPU shared with a neighbour shows here)
 *   weight   a feedback loop on the published weights (prev_weight): each
 *            moves by (score / the mean score)^LB_GAIN, at most LB_STEP_MAX
 *            times up or LB_STEP_DOWN_MAX times down (a saturated backend is
 *            cut in two publications), not at all when its score is within
 *            LB_DEADBAND of the mean (noise between healthy backends), and
 *            LB_STEP_MAX up at once (to the largest at most) when its weight
 *            is under LB_RAMP_BELOW of the largest and its score above the
 *            largest one's by more than LB_DEADBAND (recovering: at a small
 *            weight, or at a light load, its headroom shows little of what it
 *            can take), then
 *            all are scaled so the largest is scale: they settle where every
 *            backend has nearly the same score (equal headroom), whatever
 *            weights that takes. A backend without a
 *            published weight (the first publication, a pod turning ready)
 *            starts at scale x score / the largest score. At least floor x
 *            scale (a backend keeps enough connections for its recovery to
 *            show); 0 when not ready; a pod Ready for less than slow_start_s
 *            is held to a linear ramp from LB_SLOW_START_MIN of scale
 *            (Envoy's slow start); a backend without values scores as the
 *            others' mean; scores below LB_SCORE_MIN count as it (every
 *            backend saturated: the weights stay).
 *   hysteresis: the published weights stay unless one moves by more than
 *            hysteresis of the larger of its old and new value, or a backend
 *            turns ready or not (*changed says which).
 */
#define LB_WEIGHT_SCALE		    1000
#define LB_WEIGHT_SCALE_MAX	    1000000
#define LB_DEFAULT_RUNQ_TARGET_S    0.002
#define LB_DEFAULT_FLOOR	    0.05
#define LB_DEFAULT_HYSTERESIS	    0.10
#define LB_DEFAULT_SLOW_START_S	    30.0
#define LB_DEFAULT_BESTEFFORT_CORES 1.0
#define LB_SLOW_START_MIN	    0.10
#define LB_THROTTLED_AT_LIMIT	    0.05 /* CFS-throttled s/s above which a pod is at its limit */
#define LB_GAIN			    0.75 /* the exponent of a step: three quarters of the gap, in logs */
#define LB_STEP_MAX		    3.0	 /* a weight moves at most 3x up per publication */
#define LB_STEP_DOWN_MAX	    10.0 /* ... and at most 10x down */
#define LB_DEADBAND		    0.10 /* a score within 10 % of the mean keeps its weight */
#define LB_RAMP_BELOW		    0.9 /* under 90 % of the largest weight, a better score climbs 3x */
#define LB_SCORE_MIN		    0.01 /* a saturated backend's score */

enum lb_signal {
	LB_SIGNAL_CPU_REQUESTS = 1u << 0,
	LB_SIGNAL_CPU_LIMITS = 1u << 1,
	LB_SIGNAL_RUNQ = 1u << 2,
	LB_SIGNAL_ALL = LB_SIGNAL_CPU_REQUESTS | LB_SIGNAL_CPU_LIMITS | LB_SIGNAL_RUNQ,
};

struct lb_weight_policy {
	unsigned int signals;	 /* enum lb_signal bits; not both CPU ones */
	double runq_target_s;	 /* the p99 wait that halves a weight */
	double floor;		 /* of the largest weight, (0, 1] */
	double hysteresis;	 /* [0, 1) */
	double slow_start_s;	 /* 0: none */
	double besteffort_cores; /* a BestEffort pod's capacity */
	uint32_t scale;		 /* the largest weight */
};

/* lb_weight_policy_init() - the defaults above, CPU against requests and run-queue wait */
void lb_weight_policy_init(struct lb_weight_policy *p);
/* lb_weight_policy_check() - 0, or -EINVAL with the field in @err (may be NULL) */
int lb_weight_policy_check(const struct lb_weight_policy *p, struct lb_err *err);

/* What is known of one backend (a pod), seconds and cores. */
struct lb_backend_obs {
	bool ready;
	double ready_for_s;	       /* since its Ready condition turned True */
	bool has_signal;	       /* the feed had its values */
	double cpu_cores;	       /* used, over the feed's window */
	double cpu_request, cpu_limit; /* the pod's sums; 0: none */
	double runq_p99_s;	       /* run-queue wait */
	double throttled_s;	       /* CFS-throttled seconds per second */
	uint32_t prev_weight;	       /* as published; 0: none (or not ready) */
};

/**
 * lb_capacity() - the cores a backend may use, as lb_weights() takes them:
 * with LB_SIGNAL_CPU_LIMITS its limit, else its request; the other when it
 * has only one; @p->besteffort_cores when it has neither (BestEffort)
 */
double lb_capacity(const struct lb_weight_policy *p, const struct lb_backend_obs *b);

struct lb_weight_out {
	uint32_t weight; /* 0 not ready; else [floor x scale, scale] */
	double score;	 /* headroom x run-queue factor (at least LB_SCORE_MIN) */
	double raw;	 /* the weight before the scale, the ramp and the floor */
	double headroom, runq_factor;
	bool held;     /* the published weight kept (hysteresis) */
	char why[192]; /* "CPU 0.300 of 0.300 cores (request): headroom 0.00; ..." */
};

/**
 * lb_weights() - the weights of @n backends
 * @out:     @n results, in the order of @b
 * @changed: whether they differ from the published ones (prev_weight)
 * Return: 0; -EINVAL (a policy lb_weight_policy_check() refuses).
 */
int lb_weights(const struct lb_weight_policy *p, const struct lb_backend_obs *b, size_t n,
	       struct lb_weight_out *out, bool *changed);

/* ------------------------------------------------------------ the policy
 *
 * LoadBalancePolicy (ferry.io/v1alpha1, plural loadbalancepolicies,
 * namespaced; k8s/deploy/crd-loadbalancepolicies.yaml): one Service's
 * load-aware weights. The controller (lb_reconciler, reconcile.c) computes
 * them with lb_weights() from the feed and writes them into the policy's
 * status.backends (each pod's address and weight) at most every
 * spec.updatePeriodSeconds; each agent (control/agent/lbsync.c) reads that
 * status (lb_published_parse()) and programs its tables with it
 * (lb_plan_build_opts() with lb_plan_opts.published). A policy opts its
 * Service into the socket load balancer as the annotation does. When two
 * policies name one Service, the agents use the oldest (creationTimestamp,
 * then name): the same one on every node. lb_policies is the resource
 * (defined in published.c).
 */
extern const struct k8s_resource lb_policies;
#define LB_FIELD_MANAGER "ferry-lb"

/* The reasons of the policy's Ready condition (status.conditions). */
#define LB_REASON_PUBLISHED	    "Published"	      /* True: the weights are in status.backends */
#define LB_REASON_INVALID_SPEC	    "InvalidSpec"     /* False: the spec does not decode */
#define LB_REASON_SERVICE_NOT_FOUND "ServiceNotFound" /* False: no such Service */
#define LB_REASON_NO_BACKENDS	    "NoBackends"      /* False: its EndpointSlices list none */
#define LB_REASON_NO_SIGNALS	    "NoSignals" /* False: published, equal: the feed has nothing */
/* the condition lb_route_export()'s result goes into (with spec.httpRoute) */
#define LB_CONDITION_ROUTE	   "RouteExported"

#define LB_DEFAULT_UPDATE_PERIOD_S 5 /* spec.updatePeriodSeconds */
#define LB_MIN_UPDATE_PERIOD_S	   5 /* the least: per-second values stay off the API server */
#define LB_MAX_UPDATE_PERIOD_S	   3600
#define LB_MAX_ROUTE_SERVICES	   16  /* spec.httpRoute.services */
#define LB_NAME_SIZE		   254 /* a DNS subdomain (253) and the NUL */

/**
 * struct lb_policy - a LoadBalancePolicy's spec, decoded (lb_policy_parse())
 * @service:    spec.service, a Service of the policy's namespace (a DNS-1035
 *              label, as Service names are)
 * @w:          the weights' policy, lb_weight_policy_check()ed:
 *              spec.cpu Requests (default) / Limits / None ->
 *              LB_SIGNAL_CPU_REQUESTS / LB_SIGNAL_CPU_LIMITS / neither;
 *              spec.runQueue present with enabled (default true) ->
 *              LB_SIGNAL_RUNQ, targetSeconds (a quantity of seconds: "0.002"
 *              or "2m"; default LB_DEFAULT_RUNQ_TARGET_S) -> runq_target_s;
 *              absent or enabled false: not used (the CRD's word);
 *              floorPercent 1..100 (5), hysteresisPercent 0..99 (10) ->
 *              floor, hysteresis; slowStartSeconds 0..3600 (30);
 *              bestEffortCPU, a quantity of cores ("1", "500m"; default
 *              LB_DEFAULT_BESTEFFORT_CORES) -> besteffort_cores
 * @update_period_s: spec.updatePeriodSeconds, LB_MIN_UPDATE_PERIOD_S to
 *              LB_MAX_UPDATE_PERIOD_S (LB_DEFAULT_UPDATE_PERIOD_S)
 * @route:      spec.httpRoute.name ("" without spec.httpRoute)
 * @services:   spec.httpRoute.services, each once (n_services of them; with
 *              a route and none listed, @service alone); 0 without a route
 */
struct lb_policy {
	char service[LB_NAME_SIZE];
	struct lb_weight_policy w;
	unsigned int update_period_s;
	char route[LB_NAME_SIZE];
	char services[LB_MAX_ROUTE_SERVICES][LB_NAME_SIZE];
	size_t n_services;
};

/**
 * lb_policy_parse() - a LoadBalancePolicy's spec (untrusted: any object the
 * API server serves, or a file) into @out
 * @policy: borrowed; its /spec is read (fields not listed above are ignored,
 *          as the API server prunes them)
 * @err:    the detail of -EINVAL: one line naming the field
 *          ("spec.floorPercent: must be an integer from 1 to 100"); may be NULL
 *
 * Return: 0; -EINVAL (no spec or spec.service; a field of the wrong type or
 * out of its range; cpu None with the run queue off: no signal left).
 */
int lb_policy_parse(const struct k8s_obj *policy, struct lb_policy *out, struct lb_err *err);

/* One backend as the status publishes it. */
struct lb_published_backend {
	uint8_t ip[16];	 /* the pod's address, IPv4 written IPv4-mapped (as ebpf_lb_addr) */
	uint32_t weight; /* 0: listed but not ready */
};

/* What a policy's status says the agents should program. */
struct lb_published {
	char service[254];		 /* spec.service */
	int64_t updated_ns;		 /* status.lastUpdateTime; 0: none yet */
	uint32_t scale;			 /* the largest weight published (0: none) */
	struct lb_published_backend *be; /* n, sorted by address */
	size_t n;
};

/**
 * lb_published_parse() - the Service and the weights of a LoadBalancePolicy
 * (untrusted: any object the API server serves)
 * @policy: borrowed for the call
 * @out:    on success, freed with lb_published_free(); NULL on error
 * @err:    NULL, or the one-line detail of -EINVAL
 *
 * Reads spec.service, status.lastUpdateTime and, of each status.backends[]
 * entry, address (the pod's IP, IPv4 or IPv6) and weight; the entries'
 * other fields (pod, node, ready, share, score, reason) are for people and
 * are not read. A policy without a status, or whose status has no backends
 * (null, absent or []), gives n 0: nothing published yet.
 *
 * Return: 0; -EINVAL (not an object; spec.service missing, empty, not a
 * string or longer than 253 bytes; status not an object; lastUpdateTime not
 * RFC 3339; backends not a list, or longer than EBPF_LB_MAX_BACKENDS; an
 * entry that is not an object, without an address that parses, without an
 * integer weight in 0..LB_WEIGHT_SCALE_MAX; the same address twice), -ENOMEM.
 */
int lb_published_parse(const struct k8s_obj *policy, struct lb_published **out, struct lb_err *err);
/* lb_published_free() - free @p (NULL: nothing) */
void lb_published_free(struct lb_published *p);

/**
 * lb_published_weight() - the weight an agent gives the backend at @ip (16
 * bytes, IPv4-mapped for IPv4): the published one; for an address the status
 * does not list yet (a pod newer than the last publication) LB_SLOW_START_MIN
 * of the largest published weight, rounded (at least 1), as the slow start
 * would; @dflt when nothing is published (@p NULL or without backends). A
 * binary search: O(log n).
 */
uint32_t lb_published_weight(const struct lb_published *p, const uint8_t ip[16], uint32_t dflt);

/* ------------------------------------------------------------ HTTPRoute export
 *
 * With spec.httpRoute, the reconciler weighs Services against each other
 * and writes one weight per Service into a Gateway API HTTPRoute
 * (gateway.networking.k8s.io/v1) backendRefs[].weight (route.c). A
 * Service's capacity to take more is its ready pods' spare cores: the sum
 * over them of max(0, capacity - CPU used), capacity as lb_weights() takes
 * it (request, limit, or besteffort_cores).
 *
 * The weights (lb_route_weights()): proportional to the spare cores, the
 * Service with the most scaled to LB_ROUTE_SCALE (rounded to the nearest
 * integer: 1.5 and 0.5 cores give 1000 and 333), at least LB_ROUTE_FLOOR of
 * it for a Service with ready pods (a saturated Service keeps enough requests
 * for its recovery to show in its CPU, as lb_weights()' floor does), 0 for a
 * Service without ready pods (no_ready; a Gateway answers 503 for the
 * requests it sends to one). A Service whose spare cores are not known (< 0
 * or not a number: the feed had none of its pods) counts as the mean of the
 * known ones, as lb_weights() treats a backend without values: a Service
 * whose agents are restarting neither loses its traffic nor draws more than
 * an average share. When none is known, or none has spare cores left (all
 * saturated), or none has ready pods, there is nothing to weigh by: every
 * Service gets LB_ROUTE_SCALE (an even split).
 *
 * Where the weights go, and who owns them. In Gateway API v1, spec.rules
 * and each rule's backendRefs are atomic lists (+listType=atomic in
 * apis/v1/httproute_types.go, x-kubernetes-list-type: atomic in the CRD):
 * server-side apply tracks them as one field each, so whoever owns
 * spec.rules owns every rule, match, filter and weight in it, and there is
 * no owning the weights alone. lb_route_export() therefore applies the whole
 * spec.rules as read, with only the weights of its Services changed, and
 * nothing else (no parentRefs, no hostnames): ferry-lb (LB_FIELD_MANAGER)
 * then owns spec.rules and only that. Taking an atomic list from another
 * manager needs force: an unforced apply of different weights is refused
 * (409) by whoever else owns the list, the route's author included, and a
 * forced apply of the same value takes nothing (both then own it). So:
 *   - a route whose spec.rules (or anything in them) Argo CD, Flux, Argo
 *     Rollouts or Flagger owns (lb_route_controller()) is left alone, no
 *     request sent: OwnedByOther, naming the manager. Those tools write the
 *     rules back on their next sync or step; a fight over the weights would
 *     flap the split;
 *   - a route whose spec.rules only kubectl's own writes own besides ferry
 *     (an Update by a manager "kubectl-*": kubectl create, edit, patch,
 *     replace, client-side apply) is taken over: the apply is forced. Those
 *     are a person's one-off writes, not a loop that writes again (as the
 *     autoscaler takes spec.replicas from kubectl scale); a later kubectl
 *     edit of a match is kept, its weights replaced at the next export;
 *   - any other owner (kubectl apply --server-side, a controller ferry does
 *     not know): the apply goes without force, the API server refuses it with
 *     409, and the export reports OwnedByOther naming the manager from the
 *     server's answer. The rules are handed over by changing them once with
 *     kubectl (kubectl patch of a weight: kubectl-patch then owns them alone)
 *     and dropping them from what the other manager applies
 *     (control/lb/README.md, "Handing a route over");
 *   - ferry never removes or adds a rule or a backendRef, and an export whose
 *     weights equal the route's sends nothing (resourceVersion unchanged).
 * A Gateway picks a backendRef per request: requests follow new weights once
 * its controller has programmed the route; a request in flight, and a
 * long-lived stream (WebSocket, a gRPC stream) stays where it started.
 */
#define LB_ROUTE_SCALE	    1000    /* the largest exported weight */
#define LB_ROUTE_FLOOR	    0.05    /* of LB_ROUTE_SCALE, for a Service with ready pods: 50 */
#define LB_ROUTE_WEIGHT_MAX 1000000 /* Gateway API's bound on backendRefs[].weight */

/* The reasons lb_route_export() reports (RouteExported's condition reason). */
#define LB_ROUTE_EXPORTED	"Exported"	/* the route carries the weights */
#define LB_ROUTE_OWNED_BY_OTHER "OwnedByOther"	/* another manager owns spec.rules */
#define LB_ROUTE_NOT_FOUND	"RouteNotFound" /* no such HTTPRoute (or no HTTPRoute API) */
#define LB_ROUTE_NO_BACKENDS	"NoBackendRefs" /* no backendRef names one of the Services */
#define LB_ROUTE_INVALID	"InvalidRoute"	/* spec.rules not as Gateway API has them */
#define LB_ROUTE_FAILED		"ExportFailed"	/* the API server failed (the call's -errno) */

/* One Service of the split. */
struct lb_route_backend {
	const char *service; /* borrowed: a Service name in the route's namespace */
	double spare_cores;  /* its ready pods' spare cores (< 0 or NaN: not known) */
	bool no_ready;	     /* it has no ready pod (false: it has some) */
	uint32_t weight;     /* out: what was (or would be) exported */
};

/* What became of an export, for the policy's RouteExported condition. */
struct lb_route_result {
	bool exported;	    /* the route carries the weights */
	bool written;	    /* an apply was sent and accepted (false: unchanged, or refused) */
	const char *reason; /* static: one of LB_ROUTE_* above */
	char msg[256];
};

/**
 * lb_route_weights() - the weight of each of @n Services (b[i].weight), from
 * their spare cores and no_ready, as the section above says
 *
 * Pure and deterministic. Every weight is within 0..LB_ROUTE_SCALE; one
 * with ready pods is at least LB_ROUTE_FLOOR x LB_ROUTE_SCALE; when any
 * Service has ready pods, the largest is LB_ROUTE_SCALE.
 */
void lb_route_weights(struct lb_route_backend *b, size_t n);

/**
 * lb_route_controller() - the tool behind field manager @manager when it is
 * one that writes HTTPRoute rules on its own (GitOps, progressive delivery),
 * else NULL: "Argo CD" (argocd-controller, its server-side apply;
 * argocd-application-controller, its other writes; any argocd-*), "Flux"
 * (kustomize-controller, helm-controller, any flux-*), "Argo Rollouts"
 * (rollouts-controller and argo-rollouts*, the names its controller's
 * clients get; a manager with "gatewayapi" in it, the binary of its Gateway
 * API plugin, which names no manager, so the API server uses its user
 * agent), "Flagger" (flagger). A tool run under a field manager of the
 * user's choosing (Argo CD's FieldManager sync option) is not recognized;
 * its apply still meets the 409 of lb_route_export().
 */
const char *lb_route_controller(const char *manager);

/**
 * lb_route_plan() - what lb_route_export() sends for @route, without I/O
 * @route: the HTTPRoute as read (untrusted), borrowed
 * @b:     @n Services with their weights set (lb_route_weights()), borrowed
 * @apply: out: the apply configuration (apiVersion, kind, metadata.name and
 *         namespace, spec.rules with the weights), a root the caller frees;
 *         NULL when nothing is to be sent
 * @force: out: whether to force the apply (spec.rules owned, besides
 *         ferry-lb, only by kubectl's Updates, "kubectl-*")
 * @res:   out: reason and message when nothing is to be sent (Exported with
 *         the weights already there, OwnedByOther before any request,
 *         NoBackendRefs); cleared otherwise
 *
 * A backendRef gets b[i].weight when its kind is Service (absent: the CRD's
 * default, Service), its group "" (absent: ""), its namespace absent or the
 * route's own, and its name b[i].service; every other backendRef keeps its
 * weight (absent: 1). Return: 0; -EINVAL (@res InvalidRoute: no
 * metadata.name, spec.rules or a rule's backendRefs not a list, a rule or
 * backendRef not an object, a weight not an integer of 0..1000000); -ENOMEM.
 */
int lb_route_plan(const struct k8s_obj *route, const struct lb_route_backend *b, size_t n,
		  struct k8s_obj **apply, bool *force, struct lb_route_result *res);

/**
 * lb_route_export() - compute the weights of @n Services and apply them to
 * the HTTPRoute @ns/@route by server-side apply (field manager
 * LB_FIELD_MANAGER, forced only over kubectl's own writes), leaving a route
 * whose rules another field manager owns alone
 * @c:   the controller's client; a blocking call (not on its I/O thread)
 * @b:   @n Services; their weight fields are set (also when not exported)
 * @res: what happened: Exported (written says whether a write was needed),
 *       OwnedByOther (the message names the manager), RouteNotFound,
 *       NoBackendRefs, InvalidRoute, ExportFailed
 *
 * One GET, then lb_route_plan(), then at most one apply. Between the two
 * lies a window: a route deleted there is created again by the apply with
 * its rules alone (server-side apply creates what is not there), attached
 * to no Gateway; a controller that wrote the rules there is overridden once
 * by a forced apply, and left alone from the next export on.
 * Return: 0 (@res says what happened, exported or not); -errno of the API
 * server or of memory (@err filled, @res ExportFailed).
 */
int lb_route_export(struct k8s_client *c, const char *ns, const char *route,
		    struct lb_route_backend *b, size_t n, struct lb_route_result *res,
		    struct k8s_err *err);

/*
 * The LoadBalancePolicy reconciler of `ferry controller` (control/operator/registry.c;
 * reconcile.c, its own library ctl_lb_ctl over control/signals). Each pass, every
 * spec.updatePeriodSeconds: the Service (GET) and its EndpointSlices (list, label
 * kubernetes.io/service-name): one backend per endpoint address, its pod by the
 * endpoint's targetRef (the Service's pods listed once by its selector, others by
 * name); each pod's requests, limits, Ready time and, from the process's shared feed
 * (sig_feed_shared_get()), its CPU, run-queue p99 and throttling averaged over the
 * period; lb_weights() against status.backends' weights by address; the status
 * written (merge patch of /status, LB_FIELD_MANAGER) when the weights or addresses
 * changed, on the first publication or a new generation, never twice within a
 * period. The Ready condition: LB_REASON_PUBLISHED (True), or False with
 * LB_REASON_INVALID_SPEC, _SERVICE_NOT_FOUND, _NO_BACKENDS, _NO_SIGNALS or the API
 * server's reason. With spec.httpRoute, lb_route_export() once a period, its result
 * in status.services and the LB_CONDITION_ROUTE condition. control/lb/README.md,
 * "The LoadBalancePolicy".
 */
extern const struct k8s_reconciler lb_reconciler;

#ifdef __cplusplus
}
#endif

#endif /* FERRY_CTL_LB_H */
