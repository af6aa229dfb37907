/* SPDX-License-Identifier: MIT */
/*
 * control/bluegreen/bluegreen.h - a blue/green switch of a StatefulSet with
 * its volumes (layer 2 of control/; issue 20). README.md there tells the
 * story; this is the manual.
 *
 * A StatefulSwitch (ferry.io/v1alpha1, k8s/deploy/crd-statefulswitches.yaml)
 * lives beside the StatefulSet it switches ("blue"). ferry makes "green" (a
 * StatefulSet of blue's spec with a new image or template, the same
 * replicas), seeds green's claims from snapshots of blue's through the
 * repository while blue serves, keeps them close with delta rounds, and at
 * the switch stops blue only for the last delta: blue scaled to zero, its
 * pods gone (so it serves nothing, reads included), the final delta written,
 * green started, and once every green replica is ready the active Service's
 * selector moved to green's pods in one patch. A rollback window follows.
 *
 * How the pods are told apart: a StatefulSet's pods carry the label
 * controller-revision-hash = "<its name>-<hash of its template>" (the
 * StatefulSet's status.updateRevision), as Argo Rollouts' pods carry
 * rollouts-pod-template-hash. At the start the active Service's selector
 * gets blue's value ("pinned"), so no pod of green's matches it before the
 * switch, which is one merge patch of that key to green's value. When the
 * switch ends (Completed, RolledBack, Aborted) the key goes and the
 * selector is the user's again (only one side has pods then).
 *
 * Errors: 0 or -errno with @err filled (k8s/k8s.h's table).
 */
#ifndef FERRY_CTL_BLUEGREEN_H
#define FERRY_CTL_BLUEGREEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "k8s/k8s.h"

extern const struct k8s_resource bg_switches;

#define BG_NAME_MAX	      63
#define BG_DEFAULT_INTERVAL_S 30
#define BG_DEFAULT_BOUND_S    30.0
#define BG_DEFAULT_DELAY_S    30
#define BG_DEFAULT_ANALYSIS_S 15
#define BG_CHECK_IMAGE	      "busybox:1.36"
#define BG_MAX_CHECKS	      8
#define BG_MAX_METRICS	      8
#define BG_MAX_VOLUMES	      64	 /* claims of blue: replicas x claim templates */
#define BG_ROUND_FLOOR	      (16 << 20) /* bytes: rounds under it cost the same fixed time */

/* what ferry writes on the objects it touches */
#define BG_ANN_SWITCH	 "ferry.io/switch"	    /* "<namespace>/<name>" of the switch */
#define BG_ANN_REPLICAS	 "ferry.io/switch-replicas" /* blue's replicas when the switch began */
#define BG_ANN_PAUSED	 "ferry.io/autoscaling-paused"
#define BG_LABEL_UID	 "ferry.io/switch-uid" /* on green's claims and the transfers */
#define BG_LABEL_ROUND	 "ferry.io/switch-round"
#define BG_FINALIZER	 "ferry.io/switch-cleanup" /* on the switch while it holds blue */
#define BG_LABEL_PREVIEW "ferry.io/switch-preview" /* the analysis's clones */
#define BG_ANN_AFTER	 "ferry.io/switch-after" /* a final round's transfers: the stop they follow */
#define BG_REVISION	 "controller-revision-hash"

/* the rollback modes (spec.rollbackMode) */
#define BG_DISCARD    "Discard"
#define BG_KEEP_GREEN "KeepGreenWrites"

/**
 * struct bg_metric - one threshold of an analysis on the agents' per-pod
 * values (control/signals): every point of every pod checked is one
 * measurement, one out of [min, max] a failure; more than failure_limit
 * failures fail the analysis, and so does a metric never measured
 * @name:  as the ScalePolicy names it ("cpu", "memory",
 *         "ferry_runqueue_wait_p99_seconds", ...: sig_kind_name())
 * @kind:  its enum sig_kind
 * @min, @max: milli-units (a Quantity: "500m" CPU, "256Mi", "50m" seconds)
 */
struct bg_metric {
	const char *name;
	int kind;
	bool has_min, has_max;
	int64_t min, max;
	int64_t failure_limit;
};

/**
 * struct bg_analysis - an analysis of the spec (@obj NULL: none): for
 * @duration_s seconds every pod ready with at most @max_restarts restarts,
 * each of @http (NULL: none) a 2xx from every pod, GET by a check pod of
 * @check_image, and every one of @metrics within its bounds
 */
struct bg_analysis {
	const struct k8s_obj *obj, *http;
	int64_t duration_s, max_restarts;
	const char *check_image;
	struct bg_metric metrics[BG_MAX_METRICS];
	size_t nmetrics;
};

/**
 * struct bg_spec - a StatefulSwitch's spec, decoded and checked; the
 * defaults of the CRD applied (a server that applies no defaults gets the
 * same). Strings point into the object decoded, or into the struct.
 */
struct bg_spec {
	const char *blue;		/* workloadRef.name */
	char green[BG_NAME_MAX + 1];	/* greenName, or the default below */
	const char *active, *preview;	/* Services (preview NULL: none) */
	const char *repository;		/* a Repository in ferry-system */
	const struct k8s_obj *images;	/* container name -> image, or NULL */
	const struct k8s_obj *template; /* green's pod template, or NULL */
	const char *rollback_mode;	/* BG_DISCARD or BG_KEEP_GREEN */
	bool release_delete;		/* releasePolicy Delete */
	bool clone;			/* copyMethod Clone */
	int64_t sync_interval_s, scale_down_delay_s;
	int64_t auto_promotion_s; /* -1: not set */
	double bound_s, deadline_s;
	bool auto_promote, promote, abort, rollback;
	/*
	 * spec.analysis (pre: before the switch, green's pods on a throwaway
	 * clone of green's claims) and spec.postPromotionAnalysis (post: green
	 * serving, in the rollback window; a failure rolls back)
	 */
	struct bg_analysis pre, post;
};

/**
 * bg_spec_decode() - @sw's spec into @out, checked as the CRD's validation
 * would check it, and more: a DNS-1123 label for every name, an image map
 * of strings, the template an object, green's name not blue's.
 * Green's name defaults to blue's with "-green" added, or taken away when
 * blue's ends in it (db, db-green, db, ...: a switch back needs no name).
 * Return: 0; -EINVAL with the reason in @why ("spec.x: ...").
 */
int bg_spec_decode(const struct k8s_obj *sw, struct bg_spec *out, char *why, size_t len);

/**
 * bg_verdict() - whether a sync round converged: its bytes within 10 % of
 * the round before (or both under BG_ROUND_FLOOR) and the window predicted
 * within the bound. Return: "Converged", "NotConverging" (it wrote more than
 * the round before: writes outrun the rounds), "TooSlow" (close, but the
 * window predicted exceeds the bound) or "First" (no round before).
 */
const char *bg_verdict(int64_t bytes, int64_t prev_bytes, bool have_prev, double predicted_s,
		       double bound_s);

/*
 * THE RECONCILER (switch.c), run by `ferry controller`: every StatefulSwitch
 * of every namespace, one idempotent step per reconcile (each object it
 * makes has a name made of the switch's, so a controller restarted at any
 * point finds it and goes on; the status is written only when it changed).
 * The phases (status.phase) and what happens in each:
 *
 *   Pending      blue checked (a StatefulSet not in the middle of a rollout,
 *                replicas >= 1, every claim Bound), the Service pinned to
 *                blue's revision, blue annotated (BG_ANN_SWITCH, its
 *                replicas, autoscaling paused)
 *   Seeding      round 0: per claim of blue a VolumeTransfer backup, a green
 *                claim "<template>-<green>-<ordinal>" on the node of blue's
 *                (volume.kubernetes.io/selected-node), a VolumeTransfer that
 *                writes the snapshot over it (control/xfer)
 *   Syncing      round N every syncIntervalSeconds: backups of blue's claims
 *                (changed blocks), deltas onto green's (spec.onto); each
 *                round's bytes, seconds, the window predicted and the verdict
 *   Paused       a round converged (and the analysis passed) and the switch
 *                waits for spec.promote (autoPromotionEnabled false), or
 *                autoPromotionSeconds; rounds go on
 *   CuttingOver  blue scaled to zero and its pods gone; the final round;
 *                green created; every replica ready; the selector patch;
 *                green's endpoints ready. Past cutoverDeadlineSeconds before
 *                the patch: blue scaled back, green stopped, Syncing again,
 *                spec.promote cleared; from then on only spec.promote cuts
 *                over (autoPromotion does not try again by itself)
 *   Promoted     the rollback window (scaleDownDelaySeconds); with
 *                KeepGreenWrites rounds copy green's claims back onto blue's
 *   RollingBack  green scaled to zero and gone; with KeepGreenWrites the last
 *                round from green's claims onto blue's (with Discard after
 *                such rounds: the switch's snapshots of blue put back); blue
 *                back at its replicas and ready; the selector patched back;
 *                green deleted
 *   Completed, RolledBack, Aborted (spec.abort before the switch), Failed
 *
 * copyMethod Clone: no Seeding rounds and no Syncing rounds; in the cutover,
 * once blue's pods are gone, green's claims are CSI clones of blue's.
 * spec.analysis (analysis.c): once a round converged, green's new image on a
 * throwaway CSI clone of green's claims, checked for durationSeconds; a
 * failure blocks the promotion (Paused, health Degraded).
 * spec.postPromotionAnalysis (analysis.c): from green's endpoints ready, the
 * same checks of green's own pods; the switch completes only once it
 * passed (and the window ended); a failure rolls back at once, in
 * rollbackMode (status.rollback.reason; Events AnalysisFailed and
 * RollingBack). The metrics of either are read from the process's feed of
 * the agents' pages (control/signals, the autoscaler's).
 *
 * A switch deleted before it ended is ended first (its finalizer
 * BG_FINALIZER, put on before blue is touched): before the selector patch
 * as by spec.abort (blue as it was, green deleted), in the rollback window
 * as Completed (green serves), in a rollback by its end.
 *
 * Blue's HPAs are held at its replicas for the switch (min = max, their
 * bounds in status.autoscalers) and moved to green at the switch, back by a
 * rollback; its ScalePolicies paused, then moved the same way.
 *
 * Blue's replicas changed during the switch are set back (a Warning Event
 * ScaleRefused); ferry's own autoscaler leaves both alone (BG_ANN_PAUSED).
 * status.health: Healthy, Progressing, Suspended (Paused) or Degraded
 * (Failed), for Argo CD; an Event at every phase, sent once the step's
 * status is written (a step refused as stale tells nothing twice).
 * Its rules: k8s/deploy/switch-rbac.yaml.
 */
extern const struct k8s_reconciler bg_reconciler;

#endif /* FERRY_CTL_BLUEGREEN_H */
