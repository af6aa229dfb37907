/* SPDX-License-Identifier: MIT */
/*
 * control/bluegreen/bg_priv.h - what the files of the StatefulSwitch
 * reconciler share (not a public header: bluegreen.h is the manual).
 *
 *   kit.c     one step's state (struct sw): the status edited in place and
 *             written once at the end, the phase and its Event; the objects
 *             read and written by name; the selector pin; pods and endpoints
 *   rounds.c  the rounds of VolumeTransfers (blue's claims onto green's and
 *             back), the window predicted, each round's record
 *   switch.c  the phases, the reconciler
 *   analysis.c the analyses: pre-promotion on a throwaway clone of green,
 *             post-promotion on green serving
 *
 * Errors: 0 or -errno with s->err filled; functions that can end the switch
 * return 1 with the reason in s->msg.
 */
#ifndef FERRY_CTL_BG_PRIV_H
#define FERRY_CTL_BG_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bluegreen.h"

struct sig_feed;

#define POLL_MS	    1000 /* a round's transfers, blue's readiness */
#define CUTOVER_MS  250	 /* in the cutover and the rollback every step counts */
#define ROUNDS_KEPT 20
#define START_GUESS 1.0 /* s: scheduling and a container's start, before one was seen */
#define CLONE_GUESS 1.0 /* s: blue's claims cloned (copyMethod Clone), before one was timed */
#define STOP_GUESS  1.0 /* s: blue's pods gone, before a cutover measured it */
#define EVENTS_HELD 6	/* Events of one step, sent once its status is written */

struct held_event {
	const char *type;
	char reason[64];
	char note[1024];
};

/* one reconcile of one switch */
struct sw {
	const struct k8s_reconcile_req *req;
	struct k8s_client *c;
	const struct bg_spec *spec;
	struct k8s_obj *st; /* the status, edited */
	bool dirty;
	char uid8[9]; /* the transfers' names: "sw-<uid8>-..." */
	char sel[80]; /* BG_LABEL_UID=<uid>: the transfers and green's claims */
	struct k8s_reconcile_res *res;
	struct k8s_err *err;
	char msg[1024];
	struct held_event ev[EVENTS_HELD]; /* bg_event()'s, sent by the reconcile */
	size_t nev;
	struct sig_feed *feed; /* the agents' pages (the process's one feed) */
};

/* kit.c: the status (paths under status), edited in s->st; setters mark s->dirty when a value changes */
bool bg_is(const char *a, const char *b);
const char *bg_sget(struct sw *s, const char *path);
int64_t bg_sint(struct sw *s, const char *path, int64_t dflt);
int bg_sset(struct sw *s, const char *path, const char *v);
int bg_sset_int(struct sw *s, const char *path, int64_t v);
int bg_sset_num(struct sw *s, const char *path, double v);
int bg_sdrop(struct sw *s, const char *path);
int64_t bg_when(struct sw *s, const char *path);
int64_t bg_mark(struct sw *s, const char *path, int *ret);
double bg_secs(int64_t from, int64_t to);
/* kit.c: the phase with s->msg and an Event when it changes; fail: Failed; wait_for: the same phase.
 * bg_event: an Event of what this step writes in the status, held in s->ev until the status is
 * written (a step refused as stale runs again and would tell it again); bg_event_now: at once,
 * for what was done whatever becomes of the status */
void bg_event(struct sw *s, const char *type, const char *reason, const char *note);
void bg_event_now(struct sw *s, const char *type, const char *reason, const char *note);
int bg_go(struct sw *s, const char *phase, unsigned int requeue_ms);
int __attribute__((format(printf, 2, 3))) bg_fail(struct sw *s, const char *fmt, ...);
int __attribute__((format(printf, 3, 4)))
bg_wait_for(struct sw *s, unsigned int ms, const char *fmt, ...);
/* kit.c: objects by name (fetch: *out NULL when absent; create: one that exists is fine;
 * drop: one that is gone is fine); merge patches; a StatefulSet's pods; the selector pin
 * (rev NULL: the user's selector again); a Service's ready endpoints of a StatefulSet's pods */
int bg_fetch(struct sw *s, const struct k8s_resource *r, const char *ns, const char *name,
	     struct k8s_obj **out);
int bg_create(struct sw *s, const struct k8s_resource *r, const char *ns, const struct k8s_obj *o);
int bg_drop(struct sw *s, const struct k8s_resource *r, const char *ns, const char *name);
int bg_patch_str(struct sw *s, const struct k8s_resource *r, const char *name, const char *path,
		 const char *v);
int bg_scale(struct sw *s, const char *name, int64_t replicas);
int bg_pods_of(struct sw *s, const char *name, size_t *n);
int bg_pin(struct sw *s, const char *svc, const char *rev);
int bg_endpoints_of(struct sw *s, const char *svc, const char *name, size_t *mine, size_t *other);
/* kit.c: whether every key of @selector but @skip is among @labels; status.volumes[i].key = v */
bool bg_selects(const struct k8s_obj *selector, const struct k8s_obj *labels, const char *skip);
int bg_vset(struct sw *s, size_t i, const char *key, const char *v);
/* kit.c: a StatefulSet @name of green's (blue's spec, the new image or template, blue's replicas) */
int bg_make_green(struct sw *s, const struct k8s_obj *blue, const char *name);
/* kit.c: the switch's finalizer added or taken away (its status then written from the new resourceVersion) */
int bg_finalizer(struct sw *s, bool add);
/* kit.c: each volume's claim @to made like its @from (a CSI clone with @clone), *@bound when all are */
int bg_claims_like(struct sw *s, const char *from, const char *to, bool clone, const char *label,
		   bool *bound);

/* rounds.c: see each function's comment there */
void bg_vt_name(struct sw *s, char dir, int64_t round, char kind, size_t i, char *buf, size_t len);
int bg_forget_transfers(struct sw *s, bool all, size_t *left);
int bg_round_step(struct sw *s, char dir, int64_t round, const char *after, bool *done);
int bg_predict(struct sw *s, double *window);
int bg_record_round(struct sw *s, int64_t round, const char *verdict);
int bg_round_writes(struct sw *s, char dir, int64_t round, bool *writing);
int bg_forget_blue(struct sw *s);

/*
 * analysis.c: one step of the pre-promotion analysis (spec.analysis set).
 * @idle: no round runs (a new analysis starts only then). *@hold: the rounds
 * must not start (green's claims are being cloned); *@passed: Successful.
 * Return: 0; 1 it Failed: promotion blocked (s->msg); -errno.
 */
int bg_analysis_step(struct sw *s, bool idle, bool *passed, bool *hold);
/* analysis.c: whatever an analysis left (preview, check pods, clones) deleted; *@gone when none */
int bg_analysis_discard(struct sw *s, bool *gone);
/*
 * analysis.c: one step of the post-promotion analysis (spec.postPromotionAnalysis
 * set), from green's endpoints ready. *@passed: Successful (its check pod gone).
 * Return: 0 (running, or passed); 1 it Failed (s->msg): roll back; -errno.
 */
int bg_post_analysis_step(struct sw *s, bool *passed);

/*
 * autoscalers.c: blue's HPAs and ScalePolicies. HOLD (the start): recorded
 * in status.autoscalers, each HPA's bounds set to blue's replicas; MOVE (the
 * switch): their target green, bounds given back; BACK (rollback, abort):
 * their target blue, bounds given back.
 */
enum bg_as { BG_AS_HOLD, BG_AS_MOVE, BG_AS_BACK };
int bg_autoscalers(struct sw *s, enum bg_as what);

#endif /* FERRY_CTL_BG_PRIV_H */
