// SPDX-License-Identifier: MIT
/*
 * control/bluegreen/analysis.c - the analyses of a switch: before the
 * promotion (spec.analysis) on a throwaway clone of green's claims while
 * blue serves, and after it (spec.postPromotionAnalysis) on green serving.
 *
 * Pre-promotion, once a round converged and no round runs: a CSI clone of
 * each green claim ("<template>-<green>-preview-<ordinal>", dataSource the
 * green claim, on its node); the rounds wait until every clone is Bound
 * (the driver copied it), then go on. A StatefulSet "<green>-preview"
 * (green's: the new image or template, blue's replicas) whose claims are
 * those clones; the active Service, pinned to blue's revision, never
 * selects its pods; the preview Service is pinned to its revision. Then
 * status.analysis.phase Successful or Failed and everything of it deleted:
 * what the preview pods wrote is discarded with the clones.
 * Post-promotion, from green's endpoints ready: the same checks of
 * green's own pods (status.postAnalysis); the switch rolls back on a
 * failure (switch.c).
 *
 * The checks, for durationSeconds once every replica is ready: every pod
 * stays ready with at most maxRestarts restarts; a check pod (busybox's sh
 * and nc; in ferry-system, whose pods reach any pod's address) GETs each
 * http of every pod once a second, failing on anything but a 2xx; and each
 * of metrics, read from the agents' per-pod pages (the process's one feed,
 * control/signals): every point of every pod is a measurement, one out of
 * [min, max] a failure, more than failureLimit of them fail the analysis,
 * and a metric with no measurement at the end fails it too (no agent saw
 * the pods: nothing was checked).
 * status.analysis, status.postAnalysis: phase (Cloning, Starting (pre
 * only), Running, Successful, Failed), round (pre: the round cloned),
 * startTime, runningTime, completionTime, message, spec (the analysis it
 * ran: a change runs the pre-promotion one again), cleanedUp, metrics[]
 * (name, measurements, failures, lastValue in milli-units, lastPod) and
 * seen (each pod's newest point counted, per metric).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bg_priv.h"
#include "control/signals/signals.h"
#include "control/xfer/xfer.h"

#define START_LIMIT_S 120 /* the preview's pods ready within this, or the analysis fails */

/* each of $CHECKS ("ip:port/path ...") GET once a second with nc (in busybox
 * and every image that has a shell's tools), DURATION seconds; a status line
 * that is not 2xx fails */
static const char check_script[] =
	"end=$(( $(date +%s) + DURATION )); n=0; bad=0\n"
	"while [ \"$(date +%s)\" -lt \"$end\" ]; do\n"
	"  for c in $CHECKS; do\n"
	"    n=$((n + 1)); host=${c%%:*}; rest=${c#*:}; port=${rest%%/*}; path=/${rest#*/}\n"
	"    line=$(printf 'GET %s HTTP/1.0\\r\\nHost: %s\\r\\n\\r\\n' \"$path\" \"$host\" |\n"
	"           nc -w 2 \"$host\" \"$port\" 2>&1 | head -n 1)\n"
	"    case \"$line\" in\n"
	"    HTTP/1.?\\ 2[0-9][0-9]*) ;;\n"
	"    *) bad=$((bad + 1)); echo \"GET http://$c: ${line:-no answer}\" >&2\n"
	"       echo \"GET http://$c: ${line:-no answer}\" > /dev/termination-log 2>/dev/null ;;\n"
	"    esac\n"
	"  done\n"
	"  sleep 1\n"
	"done\n"
	"echo \"$n requests, $bad failed\"\n"
	"[ \"$bad\" -eq 0 ]\n";

#define PRE	 "/analysis"
#define POST	 "/postAnalysis"
#define MAX_PODS BG_MAX_VOLUMES

/* a pod an analysis checks */
struct apod {
	char uid[64];
	char name[128];
};

/* "<pfx><leaf>" in @buf */
static const char *at(char *buf, size_t len, const char *pfx, const char *leaf)
{
	snprintf(buf, len, "%s%s", pfx, leaf);
	return buf;
}

static void names(struct sw *s, char *sts, size_t sl, char *pod, size_t pl)
{
	snprintf(sts, sl, "%s-preview", s->spec->green);
	snprintf(pod, pl, "sw-%s-check", s->uid8); /* in ferry-system: the pod network is flat */
}

static void post_pod(struct sw *s, char *pod, size_t pl)
{
	snprintf(pod, pl, "sw-%s-postcheck", s->uid8);
}

/* the clones of green's claims (blue's with copyMethod Clone: green has none before the cutover) */
static int clones(struct sw *s, bool *bound)
{
	return bg_claims_like(s, s->spec->clone ? "blueClaim" : "greenClaim", "previewClaim", true,
			      BG_LABEL_PREVIEW, bound);
}

/*
 * StatefulSet @sts's pods: *@ready of them ready (their UIDs and names in
 * @pods, at most MAX_PODS), the first not ready or restarted more than @a
 * allows in @why, their addresses with each http check in @urls
 * ("ip:port/path ...").
 */
static int pods_of(struct sw *s, const struct bg_analysis *a, const char *sts, size_t *ready,
		   struct apod *pods, char *why, size_t wlen, char *urls, size_t ulen)
{
	struct k8s_items *l = NULL;
	size_t n = strlen(sts), u = 0;
	int ret = k8s_list(s->c, &k8s_pods, s->req->ns, NULL, &l, s->err);

	*ready = 0;
	why[0] = urls[0] = 0;
	for (size_t i = 0; !ret && i < k8s_items_len(l); i++) {
		struct k8s_pod p;

		if (k8s_pod_view(k8s_items_at(l, i), &p) || !p.meta.name ||
		    strncmp(p.meta.name, sts, n) || p.meta.name[n] != '-' || !p.meta.controller ||
		    !bg_is(k8s_obj_str(p.meta.controller, "/name"), sts))
			continue;
		if ((int64_t)p.restarts > a->max_restarts && !why[0])
			snprintf(why, wlen, "pod %s restarted %u time(s) (maxRestarts %lld)",
				 p.meta.name, p.restarts, (long long)a->max_restarts);
		if (!p.ready) {
			if (!why[0])
				snprintf(why, wlen, "pod %s is not ready", p.meta.name);
			continue;
		}
		if (*ready < MAX_PODS) {
			snprintf(pods[*ready].uid, sizeof(pods[0].uid), "%s",
				 p.meta.uid ? p.meta.uid : "");
			snprintf(pods[*ready].name, sizeof(pods[0].name), "%s", p.meta.name);
		}
		(*ready)++;
		for (const struct k8s_obj *c = k8s_obj_first(a->http); c && p.pod_ip;
		     c = k8s_obj_next(c)) {
			int64_t port = 0;

			k8s_obj_int(c, "/port", &port);
			u += (size_t)snprintf(urls + u, u < ulen ? ulen - u : 0, "%s%s:%lld%s",
					      u ? " " : "", p.pod_ip, (long long)port,
					      k8s_obj_str(c, "/path"));
		}
	}
	k8s_items_free(l);
	return ret;
}

static int check_pod(struct sw *s, const struct bg_analysis *a, const char *name, const char *urls)
{
	struct k8s_obj *o = NULL;
	char dur[24], script[sizeof(check_script) + sizeof(dur)];
	const char *d = strstr(check_script, "DURATION");
	int ret = k8s_obj_new_kind(&k8s_pods, XFER_NS, name, &o);

	snprintf(dur, sizeof(dur), "%lld", (long long)a->duration_s);
	snprintf(script, sizeof(script), "%.*s%s%s", (int)(d - check_script), check_script, dur,
		 d + strlen("DURATION"));
	if (!ret)
		ret = k8s_obj_set_label(o, BG_LABEL_UID, k8s_obj_get_uid(s->req->obj));
	if (!ret)
		ret = k8s_obj_set_annotation(o, BG_ANN_SWITCH, s->req->key);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/restartPolicy", "Never");
	if (!ret)
		ret = k8s_obj_set_int(o, "/spec/terminationGracePeriodSeconds", 1);
	if (!ret)
		ret = k8s_obj_set_json(o, "/spec/containers",
				       "[{\"name\":\"check\",\"command\":[\"sh\",\"-c\"],"
				       "\"env\":[{\"name\":\"CHECKS\"}]}]");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/containers/0/image", a->check_image);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/containers/0/command/-", script);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/containers/0/env/0/value", urls);
	if (!ret)
		ret = bg_create(s, &k8s_pods, XFER_NS, o);
	k8s_obj_free(o);
	return ret;
}

/* milli-units as a number ("0.012", "1843200") */
static void milli(char *buf, size_t len, int64_t v)
{
	snprintf(buf, len, "%.12g", (double)v / 1000.0);
}

/* status <pfx>/metrics[@i], an object in an array (setters make no array on the way) */
static int slot(struct sw *s, const char *pfx, size_t i)
{
	char p[96];
	int ret = 0;

	if (k8s_obj_type(s->st, at(p, sizeof(p), pfx, "/metrics")) != K8S_T_ARRAY)
		ret = k8s_obj_set_empty(s->st, p, K8S_T_ARRAY);
	while (!ret && k8s_obj_len(s->st, p) <= i) {
		s->dirty = true;
		ret = k8s_obj_set_empty(s->st, at(p, sizeof(p), pfx, "/metrics/-"), K8S_T_OBJECT);
		at(p, sizeof(p), pfx, "/metrics");
	}
	return ret;
}

/*
 * @a's metrics over @pods: the points the feed got since @since_ms not yet
 * counted (status <pfx>/seen/<uid>/m<i>) each one measurement, one out of
 * bounds one failure; the counts in status <pfx>/metrics[i]. The first
 * metric past its failureLimit in @why.
 */
static int measure(struct sw *s, const char *pfx, const struct bg_analysis *a,
		   const struct apod *pods, size_t np, int64_t since_ms, char *why, size_t wlen)
{
	int ret = 0;

	for (size_t i = 0; !ret && i < a->nmetrics; i++) {
		const struct bg_metric *m = &a->metrics[i];
		char p[192], q[128], v[32], lim[32];
		int64_t cnt, bad, last = 0;
		const char *worst = NULL;
		bool any = false;

		ret = slot(s, pfx, i);
		snprintf(q, sizeof(q), "/metrics/%zu/name", i);
		if (!ret)
			ret = bg_sset(s, at(p, sizeof(p), pfx, q), m->name);
		snprintf(q, sizeof(q), "/metrics/%zu/measurements", i);
		cnt = bg_sint(s, at(p, sizeof(p), pfx, q), 0);
		snprintf(q, sizeof(q), "/metrics/%zu/failures", i);
		bad = bg_sint(s, at(p, sizeof(p), pfx, q), 0);
		for (size_t k = 0; !ret && k < np && k < MAX_PODS; k++) {
			const struct sig_point *pts = NULL;
			int64_t seen, newest;
			size_t n = 0;

			snprintf(q, sizeof(q), "/seen/%s/m%zu", pods[k].uid, i);
			seen = bg_sint(s, at(p, sizeof(p), pfx, q), since_ms);
			newest = seen;
			if (!s->feed ||
			    sig_feed_points(s->feed, (enum sig_kind)m->kind, pods[k].uid, &pts, &n))
				continue; /* not measured (yet): counted at the end */
			for (size_t j = 0; j < n; j++) {
				if (pts[j].t <= seen)
					continue;
				cnt++;
				any = true;
				last = pts[j].value;
				if ((m->has_max && last > m->max) ||
				    (m->has_min && last < m->min)) {
					bad++;
					worst = pods[k].name;
				}
				if (pts[j].t > newest)
					newest = pts[j].t;
			}
			if (newest > seen)
				ret = bg_sset_int(s, at(p, sizeof(p), pfx, q), newest);
			if (!ret && any) {
				snprintf(q, sizeof(q), "/metrics/%zu/lastPod", i);
				ret = bg_sset(s, at(p, sizeof(p), pfx, q), pods[k].name);
			}
		}
		snprintf(q, sizeof(q), "/metrics/%zu/measurements", i);
		if (!ret)
			ret = bg_sset_int(s, at(p, sizeof(p), pfx, q), cnt);
		snprintf(q, sizeof(q), "/metrics/%zu/failures", i);
		if (!ret)
			ret = bg_sset_int(s, at(p, sizeof(p), pfx, q), bad);
		snprintf(q, sizeof(q), "/metrics/%zu/lastValue", i);
		if (!ret && any)
			ret = bg_sset_int(s, at(p, sizeof(p), pfx, q), last);
		if (ret || bad <= m->failure_limit || why[0])
			continue;
		milli(v, sizeof(v), last);
		if (m->has_max && last > m->max)
			milli(lim, sizeof(lim), m->max);
		else
			milli(lim, sizeof(lim), m->min);
		snprintf(why, wlen,
			 "metric %s of pod %s: %s, %s %s (%lld of %lld measurements out of "
			 "bounds, failureLimit %lld)",
			 m->name, worst ? worst : "?", v,
			 m->has_max && last > m->max ? "above max" : "out of bounds", lim,
			 (long long)bad, (long long)cnt, (long long)m->failure_limit);
	}
	return ret;
}

/* a metric never measured, in @why */
static void unmeasured(struct sw *s, const char *pfx, const struct bg_analysis *a, char *why,
		       size_t wlen)
{
	for (size_t i = 0; i < a->nmetrics && !why[0]; i++) {
		char p[96], q[64];

		snprintf(q, sizeof(q), "/metrics/%zu/measurements", i);
		if (bg_sint(s, at(p, sizeof(p), pfx, q), 0) <= 0)
			snprintf(why, wlen,
				 "metric %s: no agent measured the pods in %lld s (ferry's agent "
				 "on their nodes, its page read by the controller?)",
				 a->metrics[i].name, (long long)a->duration_s);
	}
}

static int ended(struct sw *s, const char *pfx, const char *phase, const char *msg)
{
	bool post = !strcmp(pfx, POST), failed = bg_is(phase, "Failed");
	char p[64];
	int ret = bg_sset(s, at(p, sizeof(p), pfx, "/phase"), phase);

	if (!ret)
		ret = bg_sset(s, at(p, sizeof(p), pfx, "/message"), msg);
	bg_mark(s, at(p, sizeof(p), pfx, "/completionTime"), &ret);
	bg_event(s, failed ? "Warning" : "Normal",
		 post ? (failed ? "PostPromotionAnalysisFailed" : "PostPromotionAnalysisSuccessful")
		      : (failed ? "AnalysisFailed" : "AnalysisSuccessful"),
		 msg);
	return ret;
}

/*
 * One look at a Running analysis (@pfx, of StatefulSet @sts's pods, its
 * check pod @pod): ended Successful or Failed when its time is up or a
 * check failed.
 */
static int look(struct sw *s, const char *pfx, const struct bg_analysis *a, const char *sts,
		const char *pod, int64_t want_ready)
{
	struct apod pods[MAX_PODS];
	struct k8s_obj *o = NULL;
	char why[1024], urls[2048], p[64];
	int64_t now = k8s_now_ns(), t0 = bg_when(s, at(p, sizeof(p), pfx, "/runningTime"));
	const char *pp = NULL;
	size_t ready = 0;
	bool done;
	int ret = pods_of(s, a, sts, &ready, pods, why, sizeof(why), urls, sizeof(urls));

	if (!ret && !why[0] && (int64_t)ready < want_ready)
		snprintf(why, sizeof(why), "%zu of %lld pods of %s ready", ready,
			 (long long)want_ready, sts);
	if (!ret && !why[0])
		ret = measure(s, pfx, a, pods, ready, t0 / 1000000, why, sizeof(why));
	if (!ret && why[0])
		return ended(s, pfx, "Failed", why);
	if (!ret && a->http)
		ret = bg_fetch(s, &k8s_pods, XFER_NS, pod, &o);
	pp = o ? k8s_obj_str(o, "/status/phase") : NULL;
	done = a->http ? bg_is(pp, "Succeeded") : bg_secs(t0, now) >= (double)a->duration_s;
	if (!ret && a->http && !o) {
		ret = ended(s, pfx, "Failed", "the check pod is gone");
	} else if (!ret && bg_is(pp, "Failed")) {
		const char *m =
			k8s_obj_str(o, "/status/containerStatuses/0/state/terminated/message");

		snprintf(why, sizeof(why),
			 "an HTTP check failed%s%.400s (pod ferry-system/%s's log)", m ? ": " : "",
			 m ? m : "", pod);
		ret = ended(s, pfx, "Failed", why);
	} else if (!ret && done) {
		unmeasured(s, pfx, a, why, sizeof(why));
		if (why[0])
			ret = ended(s, pfx, "Failed", why);
		else if (!strcmp(pfx, PRE))
			snprintf(why, sizeof(why),
				 "%lld s of green on a clone of round %lld: passed",
				 (long long)a->duration_s, (long long)bg_sint(s, PRE "/round", 0));
		else
			snprintf(why, sizeof(why), "%lld s of green serving: passed",
				 (long long)a->duration_s);
		if (!ret && !bg_sget(s, at(p, sizeof(p), pfx, "/completionTime")))
			ret = ended(s, pfx, "Successful", why);
	}
	k8s_obj_free(o);
	return ret;
}

/* everything of the pre-promotion analysis deleted; *@gone once none is left */
static int discard(struct sw *s, bool *gone)
{
	char sts[96], pod[112];
	struct k8s_obj *o = NULL;
	size_t nv = k8s_obj_len(s->st, "/volumes"), pods = 0, left = 0;
	int ret;

	names(s, sts, sizeof(sts), pod, sizeof(pod));
	ret = bg_drop(s, &k8s_pods, XFER_NS, pod);
	if (!ret)
		ret = bg_drop(s, &k8s_statefulsets, s->req->ns, sts);
	if (!ret)
		ret = bg_pods_of(s, sts, &pods);
	for (size_t i = 0; !ret && !pods && i < nv; i++) {
		char q[96];

		snprintf(q, sizeof(q), "/volumes/%zu/previewClaim", i);
		ret = bg_fetch(s, &k8s_pvcs, s->req->ns, bg_sget(s, q), &o);
		if (!ret && o) {
			left++;
			if (!k8s_obj_at(o, "/metadata/deletionTimestamp"))
				ret = bg_drop(s, &k8s_pvcs, s->req->ns, bg_sget(s, q));
		}
		k8s_obj_free(o);
		o = NULL;
	}
	if (!ret)
		ret = bg_fetch(s, &k8s_pods, XFER_NS, pod, &o);
	*gone = !ret && !pods && !left && !o;
	k8s_obj_free(o);
	if (!ret && *gone && s->spec->preview)
		ret = bg_pin(s, s->spec->preview, NULL);
	return ret;
}

int bg_analysis_step(struct sw *s, bool idle, bool *passed, bool *hold)
{
	const struct bg_analysis *a = &s->spec->pre;
	const char *phase = bg_sget(s, PRE "/phase");
	char *want = k8s_obj_json(a->obj);
	const char *had = bg_sget(s, PRE "/spec");
	char sts[96], pod[112], why[1024], urls[2048];
	struct apod pods[MAX_PODS];
	struct k8s_obj *o = NULL;
	bool ok = false, gone = false;
	size_t ready = 0;
	int64_t now = k8s_now_ns();
	int ret = want ? 0 : -ENOMEM;

	*passed = *hold = false;
	names(s, sts, sizeof(sts), pod, sizeof(pod));
	if (ret)
		return ret;
	if (!bg_is(had, want)) { /* new, or changed: run (again) */
		if (!idle)
			goto out;
		ret = bg_sdrop(s, PRE);
		if (!ret)
			ret = bg_sset(s, PRE "/spec", want);
		if (!ret)
			ret = bg_sset(s, PRE "/phase", "Cloning");
		if (!ret)
			ret = bg_sset_int(s, PRE "/round", bg_sint(s, "/round", 0));
		bg_mark(s, PRE "/startTime", &ret);
		phase = "Cloning";
	}
	if (!ret && bg_is(phase, "Cloning")) {
		ret = clones(s, &ok);
		*hold = !ok; /* green's claims are not written while they are cloned */
		if (!ret && ok)
			ret = bg_sset(s, PRE "/phase", "Starting");
		goto out;
	}
	if (!ret && bg_is(phase, "Starting")) {
		ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, sts, &o);
		if (!ret && !o) {
			ret = bg_fetch(s, &k8s_statefulsets, s->req->ns, s->spec->blue, &o);
			if (!ret && o)
				ret = bg_make_green(s, o, sts);
			goto out;
		}
		if (!ret)
			ret = pods_of(s, a, sts, &ready, pods, why, sizeof(why), urls,
				      sizeof(urls));
		if (!ret && ready < (size_t)bg_sint(s, "/blue/replicas", 1)) {
			if (bg_secs(bg_when(s, PRE "/startTime"), now) > START_LIMIT_S)
				ret = ended(s, PRE, "Failed",
					    why[0] ? why : "the preview did not start");
			goto out;
		}
		if (!ret && s->spec->preview && k8s_obj_str(o, "/status/updateRevision"))
			ret = bg_pin(s, s->spec->preview, k8s_obj_str(o, "/status/updateRevision"));
		if (!ret && a->http)
			ret = check_pod(s, a, pod, urls);
		bg_mark(s, PRE "/runningTime", &ret);
		if (!ret)
			ret = bg_sset(s, PRE "/phase", "Running");
		goto out;
	}
	if (!ret && bg_is(phase, "Running")) {
		ret = look(s, PRE, a, sts, pod, bg_sint(s, "/blue/replicas", 1));
		goto out;
	}
	/* Successful or Failed: the clone and its pods go */
	if (!ret && k8s_obj_type(s->st, PRE "/cleanedUp") != K8S_T_BOOL) {
		ret = discard(s, &gone);
		if (!ret && gone) {
			s->dirty = true;
			ret = k8s_obj_set_bool(s->st, PRE "/cleanedUp", true);
		}
	}
	/* the switch goes once the clone is gone: its pods ran green's image */
	*passed = bg_is(phase, "Successful") && k8s_obj_type(s->st, PRE "/cleanedUp") == K8S_T_BOOL;
	if (!ret && bg_is(phase, "Failed")) {
		snprintf(s->msg, sizeof(s->msg), "promotion blocked: the analysis failed: %.900s",
			 bg_sget(s, PRE "/message") ?: "");
		ret = 1;
	}
out:
	k8s_obj_free(o);
	free(want);
	return ret;
}

int bg_analysis_discard(struct sw *s, bool *gone)
{
	char pod[112];
	int ret;

	post_pod(s, pod, sizeof(pod));
	ret = bg_drop(s, &k8s_pods, XFER_NS, pod);
	*gone = true;
	if (ret || !bg_sget(s, PRE "/phase") || k8s_obj_type(s->st, PRE "/cleanedUp") == K8S_T_BOOL)
		return ret;
	return discard(s, gone);
}

int bg_post_analysis_step(struct sw *s, bool *passed)
{
	const struct bg_analysis *a = &s->spec->post;
	const char *phase = bg_sget(s, POST "/phase");
	int64_t want = bg_sint(s, "/blue/replicas", 1);
	char pod[112], why[1024], urls[2048];
	struct apod pods[MAX_PODS];
	size_t ready = 0;
	int ret = 0;

	*passed = false;
	post_pod(s, pod, sizeof(pod));
	if (!phase) { /* green's endpoints are ready: it starts at once */
		char *spec = k8s_obj_json(a->obj);

		ret = spec ? bg_sset(s, POST "/spec", spec) : -ENOMEM;
		free(spec);
		if (!ret)
			ret = pods_of(s, a, s->spec->green, &ready, pods, why, sizeof(why), urls,
				      sizeof(urls));
		if (!ret && a->http)
			ret = check_pod(s, a, pod, urls);
		bg_mark(s, POST "/startTime", &ret);
		bg_mark(s, POST "/runningTime", &ret);
		if (!ret)
			ret = bg_sset(s, POST "/phase", "Running");
		phase = "Running";
	}
	if (!ret && bg_is(phase, "Running"))
		ret = look(s, POST, a, s->spec->green, pod, want);
	phase = bg_sget(s, POST "/phase");
	if (!ret && !bg_is(phase, "Running"))
		ret = bg_drop(s, &k8s_pods, XFER_NS, pod);
	*passed = !ret && bg_is(phase, "Successful");
	if (!ret && bg_is(phase, "Failed")) {
		snprintf(s->msg, sizeof(s->msg), "the post-promotion analysis failed: %.900s",
			 bg_sget(s, POST "/message") ?: "");
		ret = 1;
	}
	return ret;
}
