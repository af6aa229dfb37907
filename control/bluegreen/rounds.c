// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/rounds.c - a switch's rounds: per claim a VolumeTransfer
 * backup and one that writes the snapshot over the other side's claim as a
 * delta (control/xfer), forward (blue onto green), back (green onto blue,
 * KeepGreenWrites) or blue put back as it was at the switch; the window a
 * switch now would take; each round's record (bg_priv.h).
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_priv.h"
#include "control/xfer/xfer.h"

void bg_vt_name(struct sw *s, char dir, int64_t round, char kind, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "sw-%s-%c%lld-%c%zu", s->uid8, dir, (long long)round, kind, i);
}

static int new_transfer(struct sw *s, const char *name, const char *direction, const char *volume,
			int64_t round, const struct k8s_obj *repo, struct k8s_obj **out)
{
	struct xfer_repo_ref ref = {0};
	char r[24];
	int ret;

	xfer_repo_ref_of_repository(repo, &ref);
	snprintf(r, sizeof(r), "%lld", (long long)round);
	ret = k8s_obj_new_kind(&xfer_volumetransfers, XFER_NS, name, out);
	if (!ret)
		ret = k8s_obj_set_label(*out, BG_LABEL_UID, k8s_obj_get_uid(s->req->obj));
	if (!ret)
		ret = k8s_obj_set_label(*out, BG_LABEL_ROUND, r);
	if (!ret)
		ret = k8s_obj_set_annotation(*out, BG_ANN_SWITCH, s->req->key);
	if (!ret)
		ret = k8s_obj_set_str(*out, "/spec/direction", direction);
	if (!ret)
		ret = k8s_obj_set_str(*out, "/spec/volume", volume);
	if (!ret)
		ret = xfer_repo_ref_set(*out, &ref);
	return ret;
}

/*
 * A transfer of a final round made for another stop than @after (BG_ANN_AFTER):
 * a stale step's (it started a periodic round of that number while the writers
 * ran, and its status was refused) or an earlier cutover's. Its snapshot
 * would miss the writes before the stop: it is deleted, and *@stale says to
 * wait until it is gone.
 */
static int stale_final(struct sw *s, const struct k8s_obj *vt, const char *after, bool *stale)
{
	*stale = vt && after && !bg_is(k8s_obj_annotation(vt, BG_ANN_AFTER), after);
	if (!*stale || k8s_obj_at(vt, "/metadata/deletionTimestamp"))
		return 0;
	return bg_drop(s, &xfer_volumetransfers, XFER_NS, k8s_obj_get_name(vt));
}

/*
 * One volume's part of round @round: the backup of claim @from (the repository
 * volume @volume), or the snapshot @given of it, then that snapshot written
 * over claim @to as a delta onto what @to holds (status.volumes[@i]/@held;
 * none: the whole snapshot). @after: a final round's, the instant its writers
 * stopped (status): its transfers are made after it and say so (BG_ANN_AFTER).
 * Return: 0 (*@done once @to holds it, @held then updated, *@bytes what was
 * written); 1 failed (s->msg); -errno.
 */
static int volume_round(struct sw *s, size_t i, char dir, int64_t round, const char *from,
			const char *given, const char *to, const char *volume, const char *held,
			const char *after, const struct k8s_obj *repo, bool *done, int64_t *bytes)
{
	bool stale = false;
	struct k8s_obj *b = NULL, *a = NULL, *o = NULL;
	char bn[64], an[64], hp[96];
	const char *snap, *holds;
	int ret;

	*done = false;
	snprintf(hp, sizeof(hp), "/volumes/%zu/%s", i, held);
	holds = bg_sget(s, hp);
	bg_vt_name(s, dir, round, 'a', i, an, sizeof(an));
	ret = bg_fetch(s, &xfer_volumetransfers, XFER_NS, an, &a);
	if (!ret)
		ret = stale_final(s, a, after, &stale);
	if (!ret && stale)
		goto out;
	if (!ret && a) {
		const char *ph = k8s_obj_str(a, "/status/phase");

		if (bg_is(ph, XFER_FAILED)) {
			snprintf(s->msg, sizeof(s->msg), "round %lld: writing %s/%s failed: %.700s",
				 (long long)round, s->req->ns, to,
				 k8s_obj_str(a, "/status/message") ?: "(no message)");
			ret = 1;
		} else if (bg_is(ph, XFER_COMPLETED)) {
			snap = k8s_obj_str(a, "/spec/snapshotID");
			k8s_obj_int(a, "/status/bytesWritten", bytes);
			ret = bg_sset(s, hp, snap ? snap : "");
			*done = !ret;
		}
		goto out;
	}
	if (!ret && given) {
		snap = given; /* a snapshot in the repository already: no backup */
		goto write;
	}
	bg_vt_name(s, dir, round, 'b', i, bn, sizeof(bn));
	ret = ret ? ret : bg_fetch(s, &xfer_volumetransfers, XFER_NS, bn, &b);
	if (!ret)
		ret = stale_final(s, b, after, &stale);
	if (!ret && stale)
		goto out;
	if (!ret && !b) {
		ret = new_transfer(s, bn, "backup", volume, round, repo, &o);
		if (!ret && after)
			ret = k8s_obj_set_annotation(o, BG_ANN_AFTER, after);
		if (!ret)
			ret = k8s_obj_set_str(o, "/spec/source/namespace", s->req->ns);
		if (!ret)
			ret = k8s_obj_set_str(o, "/spec/source/persistentVolumeClaim", from);
		/* crash-consistent while the writers run: the final round's are stopped */
		if (!ret)
			ret = k8s_obj_set_bool(o, "/spec/freeze", false);
		if (!ret)
			ret = bg_create(s, &xfer_volumetransfers, XFER_NS, o);
		goto out;
	}
	if (ret || !bg_is(k8s_obj_str(b, "/status/phase"), XFER_COMPLETED)) {
		if (!ret && bg_is(k8s_obj_str(b, "/status/phase"), XFER_FAILED)) {
			snprintf(s->msg, sizeof(s->msg),
				 "round %lld: the backup of %s/%s failed: %.700s", (long long)round,
				 s->req->ns, from,
				 k8s_obj_str(b, "/status/message") ?: "(no message)");
			ret = 1;
		}
		goto out;
	}
	snap = k8s_obj_str(b, "/status/snapshotID");
	if (!snap) {
		snprintf(s->msg, sizeof(s->msg), "round %lld: the backup of %s/%s has no snapshot",
			 (long long)round, s->req->ns, from);
		ret = 1;
		goto out;
	}
write:
	ret = new_transfer(s, an, "restore", volume, round, repo, &o);
	if (!ret && after)
		ret = k8s_obj_set_annotation(o, BG_ANN_AFTER, after);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/snapshotID", snap);
	if (!ret && holds && *holds)
		ret = k8s_obj_set_str(o, "/spec/onto", holds);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/namespace", s->req->ns);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/persistentVolumeClaim", to);
	if (!ret)
		ret = k8s_obj_set_bool(o, "/spec/target/overwrite", true);
	if (!ret)
		ret = bg_create(s, &xfer_volumetransfers, XFER_NS, o);
out:
	k8s_obj_free(o);
	k8s_obj_free(a);
	k8s_obj_free(b);
	return ret;
}

/* the transfers of this switch that are cleaned up (all of them with @all), deleted */
int bg_forget_transfers(struct sw *s, bool all, size_t *left)
{
	struct k8s_call call = {.label_selector = s->sel};
	struct k8s_items *l = NULL;
	int ret = k8s_list(s->c, &xfer_volumetransfers, XFER_NS, &call, &l, s->err);

	*left = 0;
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		const struct k8s_obj *v = k8s_items_at(l, i);
		bool clean = false;

		k8s_obj_bool(v, "/status/cleanedUp", &clean);
		if (!clean && !all) {
			(*left)++;
			continue;
		}
		if (!k8s_obj_at(v, "/metadata/deletionTimestamp"))
			ret = bg_drop(s, &xfer_volumetransfers, XFER_NS, k8s_obj_get_name(v));
		(*left)++;
	}
	k8s_items_free(l);
	return ret;
}

/*
 * A round of every volume: forward (@dir 'f': blue's claims onto green's),
 * back ('b': green's onto blue's, the rollback window's KeepGreenWrites), or
 * blue put back as it was at the switch ('d': the switch's snapshots of
 * blue's claims written onto them, after back rounds wrote them).
 * status.roundActive (forward) or backActive names it while it runs, and
 * roundStartTime or backStartTime its start. Return: 0 (*@done at its end,
 * its bytes and seconds recorded); 1 failed (s->msg); -errno.
 */
int bg_round_step(struct sw *s, char dir, int64_t round, const char *after, bool *done)
{
	const char *act = dir == 'f' ? "/roundActive" : "/backActive";
	const char *t0k = dir == 'f' ? "/roundStartTime" : "/backStartTime";
	struct k8s_obj *repo = NULL;
	size_t nv = k8s_obj_len(s->st, "/volumes"), ndone = 0;
	int64_t bytes = 0, t0;
	int ret = 0;

	assert(dir == 'f' || dir == 'b' || dir == 'd');
	*done = false;
	if (bg_sint(s, act, -1) != round) {
		ret = bg_sset_int(s, act, round);
		if (!ret)
			ret = bg_sdrop(s, t0k);
	}
	t0 = bg_mark(s, t0k, &ret);
	if (!ret && dir != 'f' && k8s_obj_type(s->st, "/blueWritten") != K8S_T_BOOL) {
		s->dirty = true; /* blue's claims are no longer as they were at the switch */
		ret = k8s_obj_set_bool(s->st, "/blueWritten", true);
	}
	if (!ret)
		ret = bg_fetch(s, &xfer_repositories, XFER_NS, s->spec->repository, &repo);
	if (!ret && !repo) {
		snprintf(s->msg, sizeof(s->msg), "the Repository %s/%s does not exist", XFER_NS,
			 s->spec->repository);
		ret = 1;
	}
	for (size_t i = 0; !ret && i < nv; i++) {
		char p[96], q[96], vp[96], gv[96], sw[96];
		bool vdone = false;
		int64_t b = 0;

		snprintf(p, sizeof(p), "/volumes/%zu/blueClaim", i);
		snprintf(q, sizeof(q), "/volumes/%zu/greenClaim", i);
		snprintf(vp, sizeof(vp), "/volumes/%zu/volume", i);
		snprintf(gv, sizeof(gv), "/volumes/%zu/greenVolume", i);
		snprintf(sw, sizeof(sw), "/volumes/%zu/switchSnapshotID", i);
		if (dir == 'f')
			ret = volume_round(s, i, dir, round, bg_sget(s, p), NULL, bg_sget(s, q),
					   bg_sget(s, vp), "snapshotID", after, repo, &vdone, &b);
		else if (dir == 'b')
			ret = volume_round(s, i, dir, round, bg_sget(s, q), NULL, bg_sget(s, p),
					   bg_sget(s, gv), "blueSnapshotID", after, repo, &vdone,
					   &b);
		else if (bg_sget(s, sw))
			ret = volume_round(s, i, dir, round, NULL, bg_sget(s, sw), bg_sget(s, p),
					   bg_sget(s, vp), "blueSnapshotID", after, repo, &vdone,
					   &b);
		else
			ret = snprintf(s->msg, sizeof(s->msg),
				       "%s/%s: no snapshot of it at the switch to put back",
				       s->req->ns, bg_sget(s, p)) > 0;
		ndone += vdone;
		bytes += b;
	}
	if (!ret && ndone == nv) {
		double took = bg_secs(t0, k8s_now_ns());

		ret = bg_sset_int(s, act, -1);
		if (!ret)
			ret = bg_sset_int(s, dir == 'f' ? "/lastRoundBytes" : "/lastBackBytes",
					  bytes);
		if (!ret)
			ret = bg_sset_num(s, dir == 'f' ? "/lastRoundSeconds" : "/lastBackSeconds",
					  took);
		*done = !ret;
	}
	k8s_obj_free(repo);
	return ret;
}

/*
 * The window a switch now would take: blue's pods stopped (the last
 * cutover's, else a guess), the last round's seconds (a backup and a delta
 * of about as much), green started and ready (blue's pods' start to ready).
 */
int bg_predict(struct sw *s, double *window)
{
	double stop = STOP_GUESS, start = START_GUESS, delta = 0;
	struct k8s_items *l = NULL;
	int ret;

	k8s_obj_num(s->st, "/lastRoundSeconds", &delta);
	if (bg_when(s, "/lastAbort/blueStoppedTime"))
		stop = bg_secs(bg_when(s, "/lastAbort/startTime"),
			       bg_when(s, "/lastAbort/blueStoppedTime"));
	ret = k8s_list(s->c, &k8s_pods, s->req->ns, NULL, &l, s->err);
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		struct k8s_pod p;

		if (!k8s_pod_view(k8s_items_at(l, i), &p) && p.meta.controller &&
		    bg_is(k8s_obj_str(p.meta.controller, "/name"), s->spec->blue) && p.ready &&
		    p.ready_ns > p.started_ns && p.started_ns &&
		    bg_secs(p.started_ns, p.ready_ns) + START_GUESS > start)
			start = bg_secs(p.started_ns, p.ready_ns) + START_GUESS;
	}
	k8s_items_free(l);
	*window = stop + delta + start;
	if (!ret)
		ret = bg_sset_num(s, "/prediction/quiesceSeconds", stop);
	if (!ret)
		ret = bg_sset_num(s, "/prediction/deltaSeconds", delta);
	if (!ret)
		ret = bg_sset_num(s, "/prediction/startSeconds", start);
	if (!ret)
		ret = bg_sset_num(s, "/prediction/windowSeconds", *window);
	return ret;
}

/* a round's record in status.rounds (the last ROUNDS_KEPT) */
int bg_record_round(struct sw *s, int64_t round, const char *verdict)
{
	struct k8s_obj *r = NULL;
	int64_t bytes = bg_sint(s, "/lastRoundBytes", 0);
	double took = 0, window = 0;
	size_t n = k8s_obj_len(s->st, "/rounds");
	int ret;

	k8s_obj_num(s->st, "/lastRoundSeconds", &took);
	k8s_obj_num(s->st, "/prediction/windowSeconds", &window);
	if (k8s_obj_type(s->st, "/rounds") != K8S_T_ARRAY) {
		ret = k8s_obj_set_empty(s->st, "/rounds", K8S_T_ARRAY);
		if (ret)
			return ret;
	}
	if (n >= ROUNDS_KEPT) {
		ret = k8s_obj_remove(s->st, "/rounds/0");
		if (ret)
			return ret;
	}
	ret = k8s_obj_new(&r);
	if (!ret)
		ret = k8s_obj_set_int(r, "/round", round);
	if (!ret)
		ret = k8s_obj_set_int(r, "/bytes", bytes);
	if (!ret)
		ret = k8s_obj_set_num(r, "/seconds", took);
	if (!ret)
		ret = k8s_obj_set_num(r, "/predictedSeconds", window);
	if (!ret)
		ret = k8s_obj_set_str(r, "/verdict", verdict);
	if (!ret) {
		ret = k8s_obj_set(s->st, "/rounds/-", r);
		if (!ret)
			r = NULL;
	}
	k8s_obj_free(r);
	s->dirty = true;
	return ret;
}

/* whether round @round (@dir) has begun to write: one of its write transfers exists */
int bg_round_writes(struct sw *s, char dir, int64_t round, bool *writing)
{
	int ret = 0;

	*writing = false;
	for (size_t i = 0; !ret && !*writing && i < k8s_obj_len(s->st, "/volumes"); i++) {
		struct k8s_obj *a = NULL;
		char an[64];

		bg_vt_name(s, dir, round, 'a', i, an, sizeof(an));
		ret = bg_fetch(s, &xfer_volumetransfers, XFER_NS, an, &a);
		*writing = a != NULL;
		k8s_obj_free(a);
	}
	return ret;
}

/* what blue's claims hold, forgotten: the next round onto them writes them whole */
int bg_forget_blue(struct sw *s)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < k8s_obj_len(s->st, "/volumes"); i++) {
		char q[96];

		snprintf(q, sizeof(q), "/volumes/%zu/blueSnapshotID", i);
		ret = bg_sdrop(s, q);
	}
	return ret;
}
