// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/switch.c - the StatefulSwitch reconciler (bluegreen.h
 * "THE RECONCILER"). One idempotent step per reconcile: the status is a
 * copy edited in place and written back (PUT of the status subresource,
 * with the resourceVersion read: a stale step is refused and runs again)
 * only when something in it changed; every object made is named after the
 * switch, so a step that died half way finds what it made.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_priv.h"
#include "control/signals/signals.h"
#include "control/xfer/xfer.h"

/* ---------------------------------------------------------------- the start */

/* status.volumes: every claim of blue (templates x ordinals), its green twin, their nodes */
static int list_volumes(struct sw *s, const struct k8s_obj *blue, int64_t replicas, bool *ready)
{
	const struct k8s_obj *tpl = k8s_obj_at(blue, "/spec/volumeClaimTemplates");
	size_t nt = k8s_obj_len(tpl, ""), n = 0;
	int ret = k8s_obj_set_empty(s->st, "/volumes", K8S_T_ARRAY);

	*ready = true;
	if (!nt)
		return bg_fail(s,
			       "StatefulSet %s/%s has no volumeClaimTemplates: nothing to seed (a "
			       "stateless workload switches with Argo Rollouts alone)",
			       s->req->ns, s->spec->blue)
			       ?: 1;
	if ((int64_t)nt * replicas > BG_MAX_VOLUMES)
		return bg_fail(s, "StatefulSet %s/%s has %lld claims: at most %d", s->req->ns,
			       s->spec->blue, (long long)nt * (long long)replicas, BG_MAX_VOLUMES)
			       ?: 1;
	for (int64_t o = 0; !ret && o < replicas; o++)
		for (size_t t = 0; !ret && t < nt; t++) {
			char path[48], bc[256], gc[256], pc[256], vol[XFER_VOLUME_SIZE],
				gvol[XFER_VOLUME_SIZE];
			const char *tname;
			struct k8s_obj *pvc = NULL, *g = NULL;
			struct k8s_pvc pv;

			snprintf(path, sizeof(path), "/%zu/metadata/name", t);
			tname = k8s_obj_str(tpl, path);
			if (!tname)
				return bg_fail(s, "volumeClaimTemplates[%zu] has no name", t) ?: 1;
			snprintf(bc, sizeof(bc), "%s-%s-%lld", tname, s->spec->blue, (long long)o);
			snprintf(gc, sizeof(gc), "%s-%s-%lld", tname, s->spec->green, (long long)o);
			snprintf(pc, sizeof(pc), "%s-%s-preview-%lld", tname, s->spec->green,
				 (long long)o);
			ret = bg_fetch(s, &k8s_pvcs, s->req->ns, bc, &pvc);
			if (!ret)
				ret = bg_fetch(s, &k8s_pvcs, s->req->ns, gc, &g);
			if (!ret && g &&
			    !bg_is(k8s_obj_label(g, BG_LABEL_UID), k8s_obj_get_uid(s->req->obj)))
				ret = bg_fail(s,
					      "claim %s/%s exists already: green's name %s is taken",
					      s->req->ns, gc, s->spec->green)
					      ?: 1;
			if (!ret && (!pvc || k8s_pvc_view(pvc, &pv) || !bg_is(pv.phase, "Bound")))
				*ready = false;
			if (!ret)
				ret = xfer_volume_name(s->c, s->req->ns, bc, vol, sizeof(vol),
						       s->err);
			if (!ret)
				ret = xfer_volume_name(s->c, s->req->ns, gc, gvol, sizeof(gvol),
						       s->err);
			if (!ret)
				ret = bg_vset(s, n, "blueClaim", bc);
			if (!ret)
				ret = bg_vset(s, n, "greenClaim", gc);
			if (!ret)
				ret = bg_vset(s, n, "volume", vol);
			if (!ret)
				ret = bg_vset(s, n, "previewClaim", pc);
			if (!ret)
				ret = bg_vset(s, n++, "greenVolume", gvol);
			k8s_obj_free(pvc);
			k8s_obj_free(g);
		}
	return ret;
}

/* list_volumes(), the status dirty only when the list changed (Pending may wait a while) */
static int plan_volumes(struct sw *s, const struct k8s_obj *blue, int64_t replicas, bool *ready)
{
	const struct k8s_obj *at = k8s_obj_at(s->st, "/volumes");
	struct k8s_obj *had = at ? k8s_obj_dup(at) : NULL;
	bool dirty = s->dirty;
	int ret = at && !had ? -ENOMEM : list_volumes(s, blue, replicas, ready);

	if (ret <= 0)
		s->dirty = dirty || !had || !k8s_obj_equal(had, k8s_obj_at(s->st, "/volumes"));
	k8s_obj_free(had);
	return ret;
}

static int begin(struct sw *s)
{
	struct k8s_obj *blue = NULL, *svc = NULL, *green = NULL, *repo = NULL, *p = NULL;
	const char *rev, *cur, *mine;
	struct k8s_workload wv;
	char n[24];
	bool ready = false;
	int ret;

	ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->blue, &blue);
	if (!ret && !blue) {
		ret = bg_fail(s, "StatefulSet %s/%s (spec.workloadRef) not found", s->req->ns,
			      s->spec->blue);
		goto out;
	}
	if (ret || k8s_workload_view(blue, &wv))
		goto out;
	mine = k8s_obj_annotation(blue, BG_ANN_SWITCH);
	if (mine && !bg_is(mine, s->req->key)) {
		ret = bg_fail(s, "StatefulSet %s/%s is being switched by %s", s->req->ns,
			      s->spec->blue, mine);
		goto out;
	}
	rev = k8s_obj_str(blue, "/status/updateRevision");
	cur = k8s_obj_str(blue, "/status/currentRevision");
	if (!rev || !bg_is(rev, cur) || wv.observed_generation < wv.meta.generation) {
		ret = bg_wait_for(s, 2000,
				  "waiting for blue (StatefulSet %s/%s) to finish its rollout: "
				  "currentRevision %s, updateRevision %s",
				  s->req->ns, s->spec->blue, cur ? cur : "-", rev ? rev : "-");
		goto out;
	}
	if (wv.replicas < 1) {
		ret = bg_fail(s, "StatefulSet %s/%s has no replicas: nothing serves to switch from",
			      s->req->ns, s->spec->blue);
		goto out;
	}
	if (wv.ready < wv.replicas) {
		ret = bg_wait_for(s, 2000, "waiting for blue: %lld of %lld replicas ready",
				  (long long)wv.ready, (long long)wv.replicas);
		goto out;
	}
	ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->green, &green);
	if (!ret && green && !bg_is(k8s_obj_annotation(green, BG_ANN_SWITCH), s->req->key)) {
		ret = bg_fail(s, "StatefulSet %s/%s exists already: set spec.greenName", s->req->ns,
			      s->spec->green);
		goto out;
	}
	ret = ret ? ret : bg_fetch(s, &k8s_services, s->req->ns, s->spec->active, &svc);
	if (!ret && !svc) {
		ret = bg_fail(s, "Service %s/%s (spec.activeService) not found", s->req->ns,
			      s->spec->active);
		goto out;
	}
	if (!ret && !bg_selects(k8s_obj_at(svc, "/spec/selector"),
				k8s_obj_at(blue, "/spec/template/metadata/labels"), BG_REVISION)) {
		ret = bg_fail(s,
			      "Service %s/%s does not select blue's pods (its selector is empty or "
			      "names a label blue's template lacks)",
			      s->req->ns, s->spec->active);
		goto out;
	}
	ret = ret ? ret : bg_fetch(s, &xfer_repositories, XFER_NS, s->spec->repository, &repo);
	if (!ret && !repo) {
		ret = bg_fail(s, "the Repository %s/%s (spec.repository) does not exist", XFER_NS,
			      s->spec->repository);
		goto out;
	}
	for (size_t k = 0; !ret && s->spec->images && k < 2; k++)
		for (const struct k8s_obj *e = k8s_obj_first(s->spec->images); !ret && e;
		     e = k8s_obj_next(e)) {
			bool found = false;
			const struct k8s_obj *cs =
				k8s_obj_at(blue, "/spec/template/spec/containers");

			for (const struct k8s_obj *c = k8s_obj_first(cs); c; c = k8s_obj_next(c))
				found |= bg_is(k8s_obj_str(c, "/name"), k8s_obj_name(e));
			if (!found)
				ret = bg_fail(s,
					      "spec.image.%s: blue's template has no such container",
					      k8s_obj_name(e))
					      ?: 1;
		}
	if (ret)
		goto out;
	if (s->spec->template &&
	    !bg_selects(k8s_obj_at(blue, "/spec/selector/matchLabels"),
			k8s_obj_at(s->spec->template, "/metadata/labels"), NULL)) {
		ret = bg_fail(s, "spec.template: its labels must keep blue's selector's");
		goto out;
	}
	ret = plan_volumes(s, blue, wv.replicas, &ready);
	if (ret > 0) {
		ret = 0;
		goto out;
	}
	if (!ret && !ready) {
		ret = bg_wait_for(s, 2000, "waiting for blue's claims to be Bound");
		goto out;
	}
	/* the user's selector, less the pin of an earlier pass of this step */
	if (!ret)
		ret = k8s_obj_set_copy(s->st, "/activeSelector", k8s_obj_at(svc, "/spec/selector"));
	if (!ret && bg_is(bg_sget(s, "/activeSelector/" BG_REVISION), rev))
		ret = k8s_obj_remove(s->st, "/activeSelector/" BG_REVISION);
	snprintf(n, sizeof(n), "%lld", (long long)wv.replicas);
	if (!ret)
		ret = bg_sset(s, "/blue/name", s->spec->blue);
	if (!ret)
		ret = bg_sset_int(s, "/blue/replicas", wv.replicas);
	if (!ret)
		ret = bg_sset(s, "/blue/revision", rev);
	if (!ret)
		ret = bg_sset(s, "/green/name", s->spec->green);
	if (!ret)
		ret = bg_sset_int(s, "/round", -1);
	/* before blue is touched: a switch deleted from now on puts it back first */
	if (!ret)
		ret = bg_finalizer(s, true);
	if (!ret)
		ret = k8s_obj_new(&p);
	if (!ret)
		ret = k8s_obj_set_annotation(p, BG_ANN_SWITCH, s->req->key);
	if (!ret)
		ret = k8s_obj_set_annotation(p, BG_ANN_REPLICAS, n);
	if (!ret)
		ret = k8s_obj_set_annotation(p, BG_ANN_PAUSED, "true");
	if (!ret)
		ret = k8s_patch(s->c, &k8s_statefulsets, s->req->ns, s->spec->blue, K8S_PATCH_MERGE,
				p, NULL, NULL, s->err);
	if (!ret)
		ret = bg_autoscalers(s, BG_AS_HOLD);
	if (!ret)
		ret = bg_pin(s, s->spec->active, rev);
	if (!ret) {
		snprintf(s->msg, sizeof(s->msg),
			 "seeding %zu claim(s) of %s into %s's; Service %s pinned to %s",
			 k8s_obj_len(s->st, "/volumes"), s->spec->blue, s->spec->green,
			 s->spec->active, rev);
		ret = bg_go(s, "Seeding", 100);
	}
out:
	k8s_obj_free(p);
	k8s_obj_free(repo);
	k8s_obj_free(green);
	k8s_obj_free(svc);
	k8s_obj_free(blue);
	return ret;
}

/* ---------------------------------------------------------------- seed and sync */

/* green's claims, made like blue's on blue's nodes; *@bound when all are Bound */
static int green_claims(struct sw *s, bool clone, bool *bound)
{
	/* copyMethod Clone: CSI clones of blue's claims, made in the cutover (blue stopped) */
	return bg_claims_like(s, "blueClaim", "greenClaim", clone, NULL, bound);
}

/* blue's replicas held at what they were (a Warning Event when they were changed) */
static int hold_blue(struct sw *s, const struct k8s_obj *blue)
{
	struct k8s_workload wv;
	int64_t want = bg_sint(s, "/blue/replicas", 1);
	char note[256];

	if (!blue || k8s_workload_view(blue, &wv) || wv.replicas == want)
		return 0;
	snprintf(note, sizeof(note),
		 "StatefulSet %s/%s scaled to %lld during the switch: set back to %lld (abort the "
		 "switch to scale it)",
		 s->req->ns, s->spec->blue, (long long)wv.replicas, (long long)want);
	bg_event_now(s, "Warning", "ScaleRefused", note);
	return bg_scale(s, s->spec->blue, want);
}

/*
 * copyMethod Clone: nothing to seed or sync (green's claims are CSI clones
 * of blue's, made in the cutover once blue stopped); the window predicted
 * from a clone's time (the last measured, else a guess).
 */
static int seed_clone(struct sw *s)
{
	double window = 0, clone = CLONE_GUESS;
	int ret = 0;

	if (bg_when(s, "/lastAbort/deltaDoneTime"))
		clone = bg_secs(bg_when(s, "/lastAbort/blueStoppedTime"),
				bg_when(s, "/lastAbort/deltaDoneTime"));
	ret = bg_sset_num(s, "/lastRoundSeconds", clone);
	if (!ret)
		ret = bg_sset_int(s, "/lastRoundBytes", 0);
	if (!ret)
		ret = bg_predict(s, &window);
	if (!ret)
		ret = bg_sset_int(s, "/round", 0);
	if (!ret)
		ret = bg_sset(s, "/verdict", window <= s->spec->bound_s ? "Converged" : "TooSlow");
	if (!ret)
		ret = bg_record_round(s, 0, "Clone");
	snprintf(s->msg, sizeof(s->msg),
		 "copyMethod Clone: green's claims are cloned from blue's in the cutover (a switch "
		 "now: about %.1f s, bound %.0f s)",
		 window, s->spec->bound_s);
	if (!ret)
		ret = bg_sset(s, "/roundMessage", s->msg);
	return ret ? ret : bg_go(s, "Syncing", 10);
}

static int seed(struct sw *s)
{
	bool bound = false, done = false;
	int ret;

	if (s->spec->clone)
		return seed_clone(s);
	ret = green_claims(s, false, &bound);

	if (!ret && !bound)
		return bg_wait_for(s, POLL_MS, "waiting for green's claims to be Bound");
	if (!ret)
		ret = bg_round_step(s, 'f', 0, NULL, &done);
	if (ret > 0)
		return bg_fail(s, "%s", s->msg);
	if (ret)
		return ret;
	if (!done)
		return bg_wait_for(s, POLL_MS, "seeding green's claims from blue's snapshots");
	ret = bg_sset_int(s, "/round", 0);
	if (!ret)
		ret = bg_sset(s, "/lastRoundTime", bg_sget(s, "/roundStartTime"));
	if (!ret)
		ret = bg_record_round(s, 0, "Seed");
	snprintf(s->msg, sizeof(s->msg), "seeded: %lld bytes in %.1f s",
		 (long long)bg_sint(s, "/lastRoundBytes", 0),
		 bg_secs(bg_when(s, "/roundStartTime"), k8s_now_ns()));
	return ret ? ret : bg_go(s, "Syncing", (unsigned int)s->spec->sync_interval_s * 1000);
}

/* whether the switch may go now that the last round said @verdict */
static bool may_promote(struct sw *s, const char *verdict)
{
	int64_t paused = bg_when(s, "/pausedTime");

	if (!bg_is(verdict, "Converged"))
		return false;
	if (s->spec->promote)
		return true;
	/* after an aborted cutover only spec.promote (which the abort cleared) tries again */
	if (k8s_obj_at(s->st, "/lastAbort"))
		return false;
	if (s->spec->auto_promote)
		return true;
	return s->spec->auto_promotion_s >= 0 && paused &&
	       bg_secs(paused, k8s_now_ns()) >= (double)s->spec->auto_promotion_s;
}

/*
 * The phase while rounds go on: Paused once the last round converged (a
 * switch now would fit its bound; the rounds keep green close meanwhile),
 * else Syncing. The message is the last round's, or the call to promote.
 */
static int between(struct sw *s, unsigned int ms)
{
	double window = 0;
	int ret = 0;

	if (!bg_is(bg_sget(s, "/verdict"), "Converged")) {
		if (!s->msg[0])
			snprintf(s->msg, sizeof(s->msg), "%s", bg_sget(s, "/roundMessage") ?: "");
		return bg_go(s, "Syncing", ms);
	}
	bg_mark(s, "/pausedTime", &ret);
	k8s_obj_num(s->st, "/prediction/windowSeconds", &window);
	snprintf(s->msg, sizeof(s->msg),
		 "ready to promote (ferry switch promote %s): a switch now would stop writes for "
		 "about %.1f s (bound %.0f s); %.600s",
		 s->req->name, window, s->spec->bound_s, bg_sget(s, "/roundMessage") ?: "");
	return ret ? ret : bg_go(s, "Paused", ms);
}

/*
 * The analysis failed: the switch waits (Paused, Argo CD reads Degraded)
 * with the reason, blue serving; the rounds stop. spec.abort ends it; a
 * changed spec.analysis runs it again.
 */
static int blocked(struct sw *s)
{
	int ret = bg_go(s, "Paused", 5000);

	if (!ret)
		ret = bg_sset(s, "/health", "Degraded");
	if (!ret && s->spec->promote && !bg_sget(s, "/analysis/promoteRefused")) {
		bg_event(s, "Warning", "PromotionRefused", s->msg);
		ret = bg_sset(s, "/analysis/promoteRefused", "true");
	}
	return ret;
}

static int sync(struct sw *s)
{
	int64_t round = bg_sint(s, "/round", 0), active = bg_sint(s, "/roundActive", -1);
	int64_t next_at = bg_when(s, "/lastRoundTime") + s->spec->sync_interval_s * 1000000000LL;
	int64_t bytes, prev, r = active < 0 ? round + 1 : active;
	const char *verdict;
	double window = 0;
	bool done = false, passed = true, hold = false;
	int ret = 0;

	/* the analysis, once a round converged: it may hold the rounds (a clone) or block */
	if (s->spec->pre.obj &&
	    (bg_is(bg_sget(s, "/verdict"), "Converged") || bg_sget(s, "/analysis/phase"))) {
		ret = bg_analysis_step(s, active < 0, &passed, &hold);
		if (ret < 0)
			return ret;
		if (ret > 0)
			return blocked(s);
	}
	if (active < 0 && passed && may_promote(s, bg_sget(s, "/verdict"))) {
		snprintf(s->msg, sizeof(s->msg), "cutting over: blue stops for the last delta");
		return bg_go(s, "CuttingOver", 10);
	}
	if (active < 0 && hold)
		return between(s, POLL_MS);
	if (s->spec->clone) /* no rounds: the cutover clones */
		return between(s, POLL_MS);
	if (active < 0 && k8s_now_ns() < next_at) {
		int64_t ms = (next_at - k8s_now_ns()) / 1000000 + 1;

		return between(s, ms < 1000 ? (unsigned int)ms : 1000);
	}
	if (active < 0) {
		size_t left = 0;

		/* the rounds before are recorded: their transfers go (those cleaned up) */
		ret = bg_forget_transfers(s, false, &left);
		if (ret)
			return ret;
	}
	ret = bg_round_step(s, 'f', r, NULL, &done);
	if (ret > 0)
		return bg_fail(s, "%s", s->msg);
	if (ret || !done)
		return ret ? ret : between(s, POLL_MS);
	bytes = bg_sint(s, "/lastRoundBytes", 0);
	prev = bg_sint(s, "/prevRoundBytes", 0);
	ret = bg_predict(s, &window);
	verdict = bg_verdict(bytes, prev, k8s_obj_type(s->st, "/prevRoundBytes") == K8S_T_NUMBER,
			     window, s->spec->bound_s);
	if (!ret)
		ret = bg_sset_int(s, "/round", r);
	if (!ret)
		ret = bg_sset(s, "/lastRoundTime", bg_sget(s, "/roundStartTime"));
	if (!ret)
		ret = bg_sset_int(s, "/prevRoundBytes", bytes);
	if (!ret)
		ret = bg_sset(s, "/verdict", verdict);
	if (!ret)
		ret = bg_record_round(s, r, verdict);
	snprintf(s->msg, sizeof(s->msg),
		 "round %lld: %lld bytes in %.1f s, %s (a switch now: about %.1f s, bound %.0f s)",
		 (long long)r, (long long)bytes,
		 bg_secs(bg_when(s, "/roundStartTime"), k8s_now_ns()), verdict, window,
		 s->spec->bound_s);
	if (!ret)
		ret = bg_sset(s, "/roundMessage", s->msg);
	if (ret)
		return ret;
	if (s->spec->promote && !bg_is(verdict, "Converged"))
		bg_event(s, "Warning", "PromotionRefused", s->msg);
	if (!bg_is(verdict, "Converged"))
		ret = bg_sdrop(s, "/pausedTime");
	s->msg[0] = 0;
	return ret ? ret : between(s, 10);
}

/* ---------------------------------------------------------------- the cutover */

/* ferry's annotations off StatefulSet @name */
static int unannotate(struct sw *s, const char *name)
{
	static const char *const keys[] = {"/metadata/annotations/ferry.io~1switch",
					   "/metadata/annotations/ferry.io~1switch-replicas",
					   "/metadata/annotations/ferry.io~1autoscaling-paused"};
	struct k8s_obj *p = NULL;
	int ret = k8s_obj_new(&p);

	for (size_t i = 0; !ret && i < sizeof(keys) / sizeof(keys[0]); i++)
		ret = k8s_obj_set_null(p, keys[i]);
	if (!ret)
		ret = k8s_patch(s->c, &k8s_statefulsets, s->req->ns, name, K8S_PATCH_MERGE, p, NULL,
				NULL, s->err);
	k8s_obj_free(p);
	return ret == -ENOENT ? 0 : ret;
}

static int drop_green_claims(struct sw *s, size_t *left);

/*
 * The cutover given up (its deadline, spec.abort, a final transfer that
 * failed) before the switch: green stopped, blue at its replicas again, the
 * cutover's instants kept as status.lastAbort, spec.promote cleared. A
 * green that ran has written its claims: the next round writes them whole.
 */
static int abort_cutover(struct sw *s, const char *why)
{
	struct k8s_obj *g = NULL, *p = NULL, *now = NULL;
	size_t nv = k8s_obj_len(s->st, "/volumes");
	int ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->green, &g);

	if (!ret && g && bg_is(k8s_obj_annotation(g, BG_ANN_SWITCH), s->req->key))
		ret = bg_drop(s, &k8s_statefulsets, s->req->ns, s->spec->green);
	for (size_t i = 0; !ret && bg_when(s, "/cutover/greenStartTime") && i < nv; i++) {
		char q[96];

		snprintf(q, sizeof(q), "/volumes/%zu/snapshotID", i);
		ret = bg_sdrop(s, q);
	}
	if (!ret)
		ret = bg_scale(s, s->spec->blue, bg_sint(s, "/blue/replicas", 1));
	if (!ret && s->spec->clone) { /* stale now: the next cutover clones again */
		size_t left = 0;

		ret = drop_green_claims(s, &left);
	}
	if (!ret && s->spec->promote) {
		ret = k8s_obj_new(&p);
		if (!ret)
			ret = k8s_obj_set_bool(p, "/spec/promote", false);
		if (!ret)
			ret = k8s_patch(s->c, &bg_switches, s->req->ns, s->req->name,
					K8S_PATCH_MERGE, p, NULL, &now, s->err);
		/* the status written below goes on from this patch, not against it */
		if (!ret && k8s_obj_str(now, "/metadata/resourceVersion"))
			ret = k8s_obj_set_str(s->req->obj, "/metadata/resourceVersion",
					      k8s_obj_str(now, "/metadata/resourceVersion"));
	}
	if (!ret)
		ret = k8s_obj_set_copy(s->st, "/lastAbort", k8s_obj_at(s->st, "/cutover"));
	if (!ret)
		ret = k8s_obj_set_str(s->st, "/lastAbort/reason", why);
	if (!ret)
		ret = bg_sdrop(s, "/cutover");
	if (!ret)
		ret = bg_sdrop(s, "/verdict");
	if (!ret)
		ret = bg_sdrop(s, "/pausedTime");
	s->dirty = true;
	snprintf(s->msg, sizeof(s->msg), "cutover aborted: %.900s; blue serves again", why);
	bg_event(s, "Warning", "CutoverAborted", s->msg);
	k8s_obj_free(now);
	k8s_obj_free(p);
	k8s_obj_free(g);
	return ret ? ret : bg_go(s, "Syncing", POLL_MS);
}

static int cutover(struct sw *s)
{
	struct k8s_obj *blue = NULL, *green = NULL;
	int64_t want = bg_sint(s, "/blue/replicas", 1), start, t;
	struct k8s_workload wv;
	const char *rev;
	size_t n = 0, other = 0;
	bool done = false;
	char why[256];
	int ret = 0;

	start = bg_mark(s, "/cutover/startTime", &ret);
	if (!ret)
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->blue, &blue);
	if (ret)
		goto out;
	if (!blue || k8s_workload_view(blue, &wv)) {
		ret = bg_fail(s, "StatefulSet %s/%s (blue) is gone", s->req->ns, s->spec->blue);
		goto out;
	}
	if (!bg_when(s, "/cutover/switchTime")) {
		if (s->spec->abort) {
			ret = abort_cutover(s, "spec.abort");
			goto out;
		}
		if (bg_secs(start, k8s_now_ns()) > s->spec->deadline_s) {
			snprintf(why, sizeof(why),
				 "green did not serve within cutoverDeadlineSeconds "
				 "(%.0f s)",
				 s->spec->deadline_s);
			ret = abort_cutover(s, why);
			goto out;
		}
	}
	/* 1. blue stops: nothing of it serves, reads included */
	if (!bg_when(s, "/cutover/blueStoppedTime")) {
		if (wv.replicas)
			ret = bg_scale(s, s->spec->blue, 0);
		if (!ret)
			ret = bg_pods_of(s, s->spec->blue, &n);
		if (!ret && n) {
			ret = bg_wait_for(s, CUTOVER_MS,
					  "cutover: waiting for blue's %zu pod(s) to stop", n);
			goto out;
		}
		bg_mark(s, "/cutover/blueStoppedTime", &ret);
	}
	/* 2. copyMethod Clone: green's claims cloned from blue's, stopped */
	if (!ret && s->spec->clone && !bg_when(s, "/cutover/deltaDoneTime")) {
		ret = green_claims(s, true, &done);
		if (!ret && !done) {
			ret = bg_wait_for(s, CUTOVER_MS,
					  "cutover: green's claims cloned from blue's");
			goto out;
		}
		bg_mark(s, "/cutover/deltaDoneTime", &ret);
	}
	/* 2. the final round: what changed since the last one */
	if (!ret && !bg_when(s, "/cutover/deltaDoneTime")) {
		int64_t active = bg_sint(s, "/roundActive", -1);
		int64_t r = active >= 0 ? active : bg_sint(s, "/round", 0) + 1;

		/* blue's last writes are in it only if its snapshots follow blue's stop */
		ret = bg_round_step(s, 'f', r, bg_sget(s, "/cutover/blueStoppedTime"), &done);
		if (ret > 0) {
			snprintf(why, sizeof(why), "%.250s", s->msg);
			ret = abort_cutover(s, why);
			goto out;
		}
		if (!ret && !done) {
			ret = bg_wait_for(s, CUTOVER_MS, "cutover: the final delta (round %lld)",
					  (long long)r);
			goto out;
		}
		if (!ret)
			ret = bg_sset_int(s, "/round", r);
		if (!ret)
			ret = bg_sset(s, "/lastRoundTime", bg_sget(s, "/roundStartTime"));
		if (!ret)
			ret = bg_record_round(s, r, "Final");
		/* what blue's claims hold from now on: a Discard rollback's blue */
		for (size_t i = 0; !ret && i < k8s_obj_len(s->st, "/volumes"); i++) {
			char q[96];

			snprintf(q, sizeof(q), "/volumes/%zu/snapshotID", i);
			ret = bg_vset(s, i, "switchSnapshotID", bg_sget(s, q) ?: "");
		}
		bg_mark(s, "/cutover/deltaDoneTime", &ret);
	}
	/* 3. green starts on its claims */
	if (!ret)
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->green, &green);
	if (!ret && !green) {
		ret = bg_make_green(s, blue, s->spec->green);
		bg_mark(s, "/cutover/greenStartTime", &ret);
		if (!ret)
			ret = bg_wait_for(s, CUTOVER_MS, "cutover: green (%s) created",
					  s->spec->green);
		goto out;
	}
	if (ret || k8s_workload_view(green, &wv))
		goto out;
	rev = k8s_obj_str(green, "/status/updateRevision");
	if (!rev || wv.ready < want) {
		ret = bg_wait_for(s, CUTOVER_MS, "cutover: green %lld of %lld ready",
				  (long long)wv.ready, (long long)want);
		goto out;
	}
	bg_mark(s, "/cutover/greenReadyTime", &ret);
	if (!ret)
		ret = bg_sset(s, "/green/revision", rev);
	if (!ret && s->spec->preview)
		ret = bg_pin(s, s->spec->preview, rev);
	/* 4. the switch: one patch */
	if (!ret && !bg_when(s, "/cutover/switchTime")) {
		ret = bg_pin(s, s->spec->active, rev);
		bg_mark(s, "/cutover/switchTime", &ret);
	}
	/* 5. green's endpoints ready in the Service, nothing else's */
	if (!ret)
		ret = bg_endpoints_of(s, s->spec->active, s->spec->green, &n, &other);
	if (!ret && (n < (size_t)want || other)) {
		ret = bg_wait_for(
			s, CUTOVER_MS,
			"cutover: switched; %zu of %lld endpoints of green ready, %zu other", n,
			(long long)want, other);
		goto out;
	}
	/* blue's autoscalers now scale green */
	if (!ret && !bg_when(s, "/cutover/endpointsReadyTime"))
		ret = bg_autoscalers(s, BG_AS_MOVE);
	t = bg_mark(s, "/cutover/endpointsReadyTime", &ret);
	if (!ret)
		ret = bg_sset_num(s, "/writeUnavailableSeconds", bg_secs(start, t));
	snprintf(s->msg, sizeof(s->msg),
		 "promoted: green serves; writes stopped for %.2f s; rollback window %lld s",
		 bg_secs(start, t), (long long)s->spec->scale_down_delay_s);
	if (!ret)
		ret = bg_go(s, "Promoted", (unsigned int)s->spec->scale_down_delay_s * 1000 + 10);
out:
	k8s_obj_free(green);
	k8s_obj_free(blue);
	return ret;
}

/* ---------------------------------------------------------------- after the switch */

/* green's claims (labelled with the switch's uid), deleted; *@left those still there */
static int drop_green_claims(struct sw *s, size_t *left)
{
	struct k8s_call call = {.label_selector = s->sel};
	struct k8s_items *l = NULL;
	int ret = k8s_list(s->c, &k8s_pvcs, s->req->ns, &call, &l, s->err);

	*left = k8s_items_len(l);
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++)
		if (!k8s_obj_at(k8s_items_at(l, i), "/metadata/deletionTimestamp"))
			ret = bg_drop(s, &k8s_pvcs, s->req->ns,
				      k8s_obj_get_name(k8s_items_at(l, i)));
	k8s_items_free(l);
	return ret;
}

static int complete(struct sw *s)
{
	size_t left = 0, nv = k8s_obj_len(s->st, "/volumes");
	bool gone = false;
	int ret = bg_pin(s, s->spec->active, NULL);

	if (!ret && s->spec->preview)
		ret = bg_pin(s, s->spec->preview, NULL);
	if (!ret)
		ret = unannotate(s, s->spec->green);
	if (!ret)
		ret = unannotate(s, s->spec->blue);
	if (!ret && s->spec->release_delete) {
		ret = bg_drop(s, &k8s_statefulsets, s->req->ns, s->spec->blue);
		for (size_t i = 0; !ret && i < nv; i++) {
			char p[96];

			snprintf(p, sizeof(p), "/volumes/%zu/blueClaim", i);
			ret = bg_drop(s, &k8s_pvcs, s->req->ns, bg_sget(s, p));
		}
	}
	if (!ret)
		ret = bg_forget_transfers(s, true, &left);
	if (!ret)
		ret = bg_analysis_discard(s, &gone);
	if (ret)
		return ret;
	snprintf(s->msg, sizeof(s->msg), "completed: %s serves; %s (0 replicas) and its claims %s",
		 s->spec->green, s->spec->blue, s->spec->release_delete ? "deleted" : "retained");
	return bg_go(s, "Completed", 0);
}

/*
 * KeepGreenWrites: in the rollback window, rounds from green's claims onto
 * blue's every syncIntervalSeconds while green serves (the first writes
 * them whole, the next ones only what changed), so that a rollback costs one
 * small delta. Return: 0 (*@ms: look again then); -errno. A round that
 * failed is reported by a Warning Event and the next one writes blue whole.
 */
static int back_sync(struct sw *s, int64_t *ms)
{
	int64_t active = bg_sint(s, "/backActive", -1);
	int64_t r = active >= 0 ? active : bg_sint(s, "/backRound", 0) + 1;
	int64_t next_at = bg_when(s, "/lastBackTime") + s->spec->sync_interval_s * 1000000000LL;
	size_t left = 0;
	bool done = false;
	char note[1100];
	int ret = 0;

	*ms = POLL_MS;
	if (active < 0 && k8s_now_ns() < next_at) {
		*ms = (next_at - k8s_now_ns()) / 1000000 + 1;
		return 0;
	}
	if (active < 0)
		ret = bg_forget_transfers(s, false, &left);
	if (!ret)
		ret = bg_round_step(s, 'b', r, NULL, &done);
	if (ret > 0) {
		snprintf(note, sizeof(note),
			 "rollback window: %.900s; the next round writes blue whole", s->msg);
		bg_event(s, "Warning", "BackRoundFailed", note);
		s->msg[0] = 0;
		ret = bg_forget_blue(s);
		if (!ret)
			ret = bg_sset_int(s, "/backActive", -1);
		if (!ret)
			ret = bg_sset(s, "/lastBackTime", bg_sget(s, "/backStartTime"));
		if (!ret)
			ret = bg_sset_int(s, "/backRound", r);
		return ret;
	}
	if (!ret && done) {
		ret = bg_sset_int(s, "/backRound", r);
		if (!ret)
			ret = bg_sset(s, "/lastBackTime", bg_sget(s, "/backStartTime"));
		*ms = 10;
	}
	return ret;
}

static int promoted(struct sw *s)
{
	int64_t end =
		bg_when(s, "/cutover/switchTime") + s->spec->scale_down_delay_s * 1000000000LL;
	int64_t now = k8s_now_ns(), ms = POLL_MS;
	bool keep = bg_is(s->spec->rollback_mode, BG_KEEP_GREEN), passed = true;
	int ret = 0;

	snprintf(s->msg, sizeof(s->msg), "%s", bg_sget(s, "/message") ?: "");
	if (!s->spec->rollback && s->spec->post.obj) {
		ret = bg_post_analysis_step(s, &passed);
		if (ret > 0) { /* Argo's abort: the active Service back on blue */
			ret = bg_sset(s, "/rollback/reason", s->msg);
			if (ret)
				return ret;
			snprintf(s->msg, sizeof(s->msg), "rolling back (%s): %.900s",
				 s->spec->rollback_mode, bg_sget(s, "/rollback/reason"));
			return bg_go(s, "RollingBack", 10);
		}
		if (ret)
			return ret;
		snprintf(s->msg, sizeof(s->msg), "%s", bg_sget(s, "/message") ?: "");
	}
	if (s->spec->rollback) {
		snprintf(s->msg, sizeof(s->msg), "rolling back (%s): green stops, blue starts",
			 s->spec->rollback_mode);
		return bg_go(s, "RollingBack", 10);
	}
	/* (copyMethod Clone keeps no snapshot of blue's claims at the switch to put back, so no
	 * rounds write them before a rollback asks for it: KeepGreenWrites writes them whole then) */
	if (keep && !s->spec->clone && (now < end || bg_sint(s, "/backActive", -1) >= 0))
		ret = back_sync(s, &ms);
	if (ret)
		return ret;
	if (now < end || bg_sint(s, "/backActive", -1) >= 0 || !passed) {
		if (now < end && (end - now) / 1000000 + 1 < ms)
			ms = (end - now) / 1000000 + 1;
		if (keep && bg_sint(s, "/backRound", 0) > 0) {
			double w = 0, took = 0;

			k8s_obj_num(s->st, "/writeUnavailableSeconds", &w);
			k8s_obj_num(s->st, "/lastBackSeconds", &took);
			snprintf(
				s->msg, sizeof(s->msg),
				"promoted: %s serves; writes stopped for %.2f s; its writes copied "
				"back onto %s's claims %lld time(s) (the last: %lld bytes in %.1f s)",
				s->spec->green, w, s->spec->blue,
				(long long)bg_sint(s, "/backRound", 0),
				(long long)bg_sint(s, "/lastBackBytes", 0), took);
		}
		return bg_go(s, "Promoted", ms < 5000 ? (unsigned int)ms : 5000);
	}
	return complete(s);
}

static int rolling_back(struct sw *s)
{
	struct k8s_obj *blue = NULL, *green = NULL;
	int64_t want = bg_sint(s, "/blue/replicas", 1), start, t;
	struct k8s_workload wv;
	size_t n = 0, other = 0;
	bool done = false;
	int ret = 0;

	start = bg_mark(s, "/rollback/startTime", &ret);
	if (!ret)
		ret = bg_sset(s, "/rollback/mode", s->spec->rollback_mode);
	if (!ret)
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->green, &green);
	/* 1. green stops */
	if (!ret && !bg_when(s, "/rollback/greenStoppedTime")) {
		if (green && !k8s_workload_view(green, &wv) && wv.replicas)
			ret = bg_scale(s, s->spec->green, 0);
		if (!ret)
			ret = bg_pods_of(s, s->spec->green, &n);
		if (!ret && n) {
			ret = bg_wait_for(s, CUTOVER_MS,
					  "rollback: waiting for green's %zu pod(s) to stop", n);
			goto out;
		}
		bg_mark(s, "/rollback/greenStoppedTime", &ret);
	}
	/*
	 * 2. blue's claims: green's last writes onto them (KeepGreenWrites: one
	 * delta after the window's rounds), or, if those rounds wrote them and
	 * the mode is now Discard, the switch's snapshots put back. A round
	 * running when green stopped ends first (blue's stamp is dirty under it).
	 */
	if (!ret && !bg_when(s, "/rollback/deltaDoneTime") &&
	    (bg_is(s->spec->rollback_mode, BG_KEEP_GREEN) ||
	     k8s_obj_type(s->st, "/blueWritten") == K8S_T_BOOL)) {
		int64_t fin = bg_sint(s, "/rollback/round", -1),
			act = bg_sint(s, "/backActive", -1);

		if (fin < 0 && act >= 0) {
			bool writing = false;

			/* a round still in its backups (of green while it ran) is left: the final one
			 * replaces it; one that writes blue's claims ends first */
			ret = bg_round_writes(s, 'b', act, &writing);
			if (!ret && !writing) {
				ret = bg_sset_int(s, "/backRound", act);
				if (!ret)
					ret = bg_sset_int(s, "/backActive", -1);
				act = -1;
			}
		}
		if (!ret && fin < 0 && act >= 0) {
			ret = bg_round_step(s, 'b', act, NULL, &done);
			if (ret > 0) { /* blue's stamp may be dirty: the final round writes whole */
				ret = bg_forget_blue(s);
				done = true;
			}
			if (!ret && done)
				ret = bg_sset_int(s, "/backRound", act);
			if (!ret && done)
				ret = bg_sset_int(s, "/backActive", -1);
			if (!ret && !done) {
				ret = bg_wait_for(s, CUTOVER_MS,
						  "rollback: a round onto blue's claims ends");
				goto out;
			}
		}
		if (!ret && fin < 0) {
			fin = bg_sint(s, "/backRound", 0) + 1;
			ret = bg_sset_int(s, "/rollback/round", fin);
		}
		if (!ret)
			ret = bg_round_step(
				s, bg_is(s->spec->rollback_mode, BG_KEEP_GREEN) ? 'b' : 'd', fin,
				bg_sget(s, "/rollback/greenStoppedTime"), &done);
		if (ret > 0) {
			ret = bg_fail(s, "rollback: %.900s (blue and green both stopped)", s->msg);
			goto out;
		}
		if (!ret && !done) {
			ret = bg_wait_for(s, CUTOVER_MS,
					  "rollback: %s onto blue's claims (round %lld)",
					  bg_is(s->spec->rollback_mode, BG_KEEP_GREEN)
						  ? "green's last writes"
						  : "the switch's snapshots",
					  (long long)fin);
			goto out;
		}
		if (!ret)
			ret = bg_sset_num(s, "/rollback/deltaBytes",
					  (double)bg_sint(s, "/lastBackBytes", 0));
		bg_mark(s, "/rollback/deltaDoneTime", &ret);
	}
	/* 3. blue starts */
	if (!ret)
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->blue, &blue);
	if (!ret && (!blue || k8s_workload_view(blue, &wv))) {
		ret = bg_fail(s, "rollback: StatefulSet %s/%s (blue) is gone", s->req->ns,
			      s->spec->blue);
		goto out;
	}
	if (!ret && wv.replicas != want)
		ret = bg_scale(s, s->spec->blue, want);
	if (!ret && wv.ready < want) {
		ret = bg_wait_for(s, CUTOVER_MS, "rollback: blue %lld of %lld ready",
				  (long long)wv.ready, (long long)want);
		goto out;
	}
	/* 4. the selector back on blue */
	if (!ret && !bg_when(s, "/rollback/switchTime")) {
		ret = bg_pin(s, s->spec->active, bg_sget(s, "/blue/revision"));
		bg_mark(s, "/rollback/switchTime", &ret);
	}
	if (!ret)
		ret = bg_endpoints_of(s, s->spec->active, s->spec->blue, &n, &other);
	if (!ret && (n < (size_t)want || other)) {
		ret = bg_wait_for(s, CUTOVER_MS, "rollback: %zu of %lld endpoints of blue ready", n,
				  (long long)want);
		goto out;
	}
	if (!ret && !bg_when(s, "/rollback/endpointsReadyTime"))
		ret = bg_autoscalers(s, BG_AS_BACK);
	t = bg_mark(s, "/rollback/endpointsReadyTime", &ret);
	if (!ret)
		ret = bg_sset_num(s, "/rollback/writeUnavailableSeconds", bg_secs(start, t));
	/* 5. green goes */
	if (!ret && green)
		ret = bg_drop(s, &k8s_statefulsets, s->req->ns, s->spec->green);
	if (!ret)
		ret = drop_green_claims(s, &n);
	if (!ret)
		ret = bg_forget_transfers(s, true, &other);
	if (!ret)
		ret = bg_analysis_discard(s, &done);
	if (!ret && (n || other)) {
		ret = bg_wait_for(s, POLL_MS,
				  "rollback: blue serves; deleting green's %zu claim(s)", n);
		goto out;
	}
	if (!ret)
		ret = bg_pin(s, s->spec->active, NULL);
	if (!ret && s->spec->preview)
		ret = bg_pin(s, s->spec->preview, NULL);
	if (!ret)
		ret = unannotate(s, s->spec->blue);
	snprintf(s->msg, sizeof(s->msg),
		 "rolled back (%s): %s serves; writes stopped for %.2f s%s%.700s",
		 s->spec->rollback_mode, s->spec->blue,
		 bg_secs(start, bg_when(s, "/rollback/endpointsReadyTime")),
		 bg_sget(s, "/rollback/reason") ? "; " : "", bg_sget(s, "/rollback/reason") ?: "");
	if (!ret)
		ret = bg_go(s, "RolledBack", 0);
out:
	k8s_obj_free(green);
	k8s_obj_free(blue);
	return ret;
}

/* spec.abort before the switch: everything of green's deleted, blue as it was */
static int abort_switch(struct sw *s)
{
	struct k8s_obj *g = NULL;
	size_t pods = 0, vts = 0, claims = 0;
	int ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->green, &g);

	if (!ret && g && bg_is(k8s_obj_annotation(g, BG_ANN_SWITCH), s->req->key))
		ret = bg_drop(s, &k8s_statefulsets, s->req->ns, s->spec->green);
	if (!ret)
		ret = bg_pods_of(s, s->spec->green, &pods);
	if (!ret)
		ret = bg_forget_transfers(s, true, &vts);
	if (!ret && !pods)
		ret = drop_green_claims(s, &claims);
	if (!ret && !pods) {
		bool gone = false;

		ret = bg_analysis_discard(s, &gone);
		claims += !gone;
	}
	if (!ret && (pods || vts || claims)) {
		snprintf(s->msg, sizeof(s->msg),
			 "aborting: %zu pod(s), %zu transfer(s), %zu claim(s) of green left", pods,
			 vts, claims);
		ret = bg_go(s, "Aborting", POLL_MS);
		goto out;
	}
	if (!ret && bg_sget(s, "/blue/revision"))
		ret = bg_pin(s, s->spec->active, NULL);
	if (!ret && s->spec->preview)
		ret = bg_pin(s, s->spec->preview, NULL);
	if (!ret)
		ret = bg_autoscalers(s, BG_AS_BACK);
	if (!ret && bg_sget(s, "/blue/name")) {
		ret = bg_scale(s, s->spec->blue, bg_sint(s, "/blue/replicas", 1));
		if (!ret)
			ret = unannotate(s, s->spec->blue);
	}
	snprintf(s->msg, sizeof(s->msg), "aborted: %s serves as before; green deleted",
		 s->spec->blue);
	if (!ret)
		ret = bg_go(s, "Aborted", 0);
out:
	k8s_obj_free(g);
	return ret;
}

/* ---------------------------------------------------------------- the reconciler */

/*
 * The switch deleted: ended first, then its finalizer goes. Before the
 * selector patch it is aborted (a cutover first given up), in the rollback
 * window it completes (green serves), a rollback runs to its end.
 */
static int finalize(struct sw *s, const char *phase)
{
	int ret = 0;

	if (bg_is(phase, "CuttingOver") && !bg_when(s, "/cutover/switchTime"))
		return abort_cutover(s, "the switch was deleted");
	if (bg_is(phase, "CuttingOver"))
		ret = cutover(s);
	else if (bg_is(phase, "Promoted"))
		ret = complete(s);
	else if (bg_is(phase, "RollingBack"))
		ret = rolling_back(s);
	else if (!bg_is(phase, "Completed") && !bg_is(phase, "RolledBack") &&
		 !bg_is(phase, "Aborted"))
		ret = abort_switch(s);
	phase = bg_sget(s, "/phase");
	if (!ret &&
	    (bg_is(phase, "Completed") || bg_is(phase, "RolledBack") || bg_is(phase, "Aborted")))
		ret = bg_finalizer(s, false);
	return ret;
}

static int step(struct sw *s)
{
	const char *phase = bg_sget(s, "/phase") ? bg_sget(s, "/phase") : "Pending";
	struct k8s_obj *blue = NULL;
	size_t n = 0;
	int ret = 0;

	if (k8s_obj_at(s->req->obj, "/metadata/deletionTimestamp"))
		return finalize(s, phase);

	if (bg_is(phase, "Pending"))
		return s->spec->abort ? abort_switch(s) : begin(s);
	if (bg_is(phase, "Seeding") || bg_is(phase, "Syncing") || bg_is(phase, "Paused") ||
	    bg_is(phase, "Aborting") ||
	    (bg_is(phase, "Failed") && s->spec->abort && !bg_when(s, "/cutover/startTime"))) {
		if (s->spec->abort || bg_is(phase, "Aborting"))
			return abort_switch(s);
		if (bg_is(phase, "Failed"))
			return 0;
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->blue, &blue);
		if (!ret)
			ret = hold_blue(s, blue);
		k8s_obj_free(blue);
		/* a green stopped by an aborted cutover still holds its claims */
		if (!ret)
			ret = bg_pods_of(s, s->spec->green, &n);
		if (!ret && n)
			return bg_wait_for(s, POLL_MS, "waiting for green's %zu pod(s) to stop", n);
		if (ret)
			return ret;
		return bg_is(phase, "Seeding") ? seed(s) : sync(s);
	}
	if (bg_is(phase, "CuttingOver"))
		return cutover(s);
	if (bg_is(phase, "Promoted"))
		return promoted(s);
	if (bg_is(phase, "RollingBack"))
		return rolling_back(s);
	s->res->reason = phase;
	s->res->message = bg_sget(s, "/message");
	s->res->failed = bg_is(phase, "Failed");
	return 0;
}

static int bg_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			struct k8s_err *err)
{
	struct k8s_call call = {.subresource = "status"};
	const struct k8s_obj *had;
	const char *uid;
	struct bg_spec spec;
	struct sw s = {.req = req,
		       .c = req->client,
		       .spec = &spec,
		       .res = res,
		       .err = err,
		       .feed = req->state};
	char why[512];
	int64_t gen = 0;
	size_t k = 0;
	int ret;

	if (!req->obj)
		return 0;
	had = k8s_obj_at(req->obj, "/status");
	s.st = had ? k8s_obj_dup(had) : NULL;
	ret = had ? (s.st ? 0 : -ENOMEM) : k8s_obj_new(&s.st);
	if (ret)
		return k8s_err_set(err, ret, "", "switch %s: out of memory", req->key);
	uid = k8s_obj_get_uid(req->obj) ? k8s_obj_get_uid(req->obj) : "";
	for (const char *p = uid; *p && k < 8; p++)
		if (*p != '-')
			s.uid8[k++] = *p;
	snprintf(s.sel, sizeof(s.sel), "%s=%s", BG_LABEL_UID, uid);
	k8s_obj_int(req->obj, "/metadata/generation", &gen);
	ret = bg_sset_int(&s, "/observedGeneration", gen);
	if (!ret && bg_spec_decode(req->obj, &spec, why, sizeof(why)))
		ret = bg_fail(&s, "%s", why);
	else if (!ret)
		ret = step(&s);
	if (ret > 0)
		ret = bg_fail(&s, "%s", s.msg);
	if (!ret && s.dirty) {
		ret = k8s_obj_set(req->obj, "/status", s.st);
		if (!ret) {
			s.st = NULL;
			ret = k8s_update(s.c, &bg_switches, req->ns, req->obj, &call, NULL, err);
		}
	}
	for (size_t i = 0; !ret && i < s.nev; i++)
		bg_event_now(&s, s.ev[i].type, s.ev[i].reason, s.ev[i].note);
	k8s_obj_free(s.st);
	/* the runtime reads these after the call: they must live in req->obj */
	res->reason = k8s_obj_str(req->obj, "/status/phase");
	res->message = k8s_obj_str(req->obj, "/status/message");
	if (ret == -ENOMEM)
		k8s_err_set(err, ret, "", "switch %s: out of memory", req->key);
	return ret;
}

/* a StatefulSet a switch holds (BG_ANN_SWITCH: "<namespace>/<name>") names that switch */
static void map_sts(const struct k8s_obj *obj, k8s_key_fn add, void *q)
{
	const char *key = k8s_obj_annotation(obj, BG_ANN_SWITCH);

	if (key && strchr(key, '/'))
		add(q, key);
}

/*
 * The switches, and the StatefulSets they hold: blue scaled during a switch
 * is set back at once (the pod a scale-up makes is gone before it is ready),
 * green's readiness is seen as it changes
 */
static const struct k8s_watch bg_watches[] = {
	{.resource = &bg_switches},
	{.resource = &k8s_statefulsets, .map = K8S_MAP_FN, .map_fn = map_sts},
};

/*
 * The process's one feed of the agents' pages (the autoscaler's): the
 * analyses' metrics. Its Secrets and rights are the autoscaler's.
 */
static int bg_setup(struct k8s_client *client, const char *own_ns, void **state,
		    struct k8s_err *err)
{
	struct sig_feed *feed = NULL;
	int ret = sig_feed_controller_get(client, own_ns, &feed, err);

	*state = ret ? NULL : feed;
	return ret;
}

static void bg_teardown(void *state)
{
	sig_feed_shared_put(state);
}

const struct k8s_reconciler bg_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "bluegreen",
	.watches = bg_watches,
	.nwatches = sizeof(bg_watches) / sizeof(bg_watches[0]),
	.workers = 2,
	.condition = "Reconciled",
	.setup = bg_setup,
	.teardown = bg_teardown,
	.reconcile = bg_reconcile,
};
