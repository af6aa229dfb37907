// SPDX-License-Identifier: MIT
/*
 * tests/autoscale/t_autoscale_kbox.c - the autoscaler's reconcile pass
 * (as_reconcile()) against an API server: the box (tests/kbox) or the
 * cluster FERRY_TEST_KUBECONFIG names. The ScalePolicy CRD comes from
 * k8s/deploy/crd-scalepolicy.yaml; targets are Deployments and a custom
 * resource with a scale subresource; their pods are API objects whose
 * status the test writes (Running, Ready ten minutes ago), and their signals
 * a recorded sample the test hands the pass as its feed (the agents' feed,
 * control/signals, is not built yet). Everything happens in a namespace of
 * its own, deleted at the end.
 *
 * What it checks, each against the HPA's rules (CONTROLPLANE.md §8,
 * horizontal-pod-autoscale.md) and DESIGN.md "Ownership":
 *   - a scale-up written to /scale by server-side apply as ferry-autoscale,
 *     taking the replicas over from kubectl create's Update; the status
 *     (replicas, currentMetrics, conditions, lastScaleTime) and the
 *     SuccessfulRescale Event in the HPA's words; an unchanged pass writes
 *     nothing; a change of currentMetrics alone waits for the status period;
 *   - replicas another manager applies: refused, naming it, nothing written;
 *   - an HPA on the same target: refused, naming it; in shadow mode the
 *     pass decides, reports lastDecision (not applied) and writes no scale;
 *   - the paused annotation; targets that are missing, of a kind nobody
 *     serves, of a group nobody serves, or without a scale subresource;
 *   - a custom resource's scale subresource (discovery finds its plural);
 *   - a feed that fails: FailedGetResourceMetric, nothing written;
 *   - specs the controller refuses (minReplicas 0, an External metric).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/autoscale/autoscale.h"
#include "k8s/k8s.h"
#include "k8st.h"
#include "t_helpers.h"

static const struct k8s_resource crds =
	K8S_RESOURCE("apiextensions.k8s.io", "v1", "customresourcedefinitions",
		     "CustomResourceDefinition", false);
static const struct k8s_resource hpas = K8S_RESOURCE(
	"autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", true);
static const struct k8s_resource workers =
	K8S_RESOURCE("autoscale.test.ferry.io", "v1", "workers", "Worker", true);

static struct k8s_client *c;
static char *ns;
static int64_t t0; /* ms: the pods became ready ten minutes before */

/* ---- the feed: a recorded sample per pod ---- */

struct feed {
	int fail;		/* != 0: every call fails so */
	int64_t shift;		/* ms added to the clock (a pass run "later") */
	const char *pods[8];	/* pod names ... */
	int64_t cpu[8];		/* ... and their cpu, millicores */
	struct as_point pts[3]; /* the points handed out */
	int calls;
};

static int feed_fn(void *arg, enum as_signal sig, const char *fns, const char *pod, const char *uid,
		   const char *container, const struct as_point **pts, size_t *n)
{
	struct feed *f = arg;
	int64_t now = k8s_now_ns() / 1000000 + f->shift;

	(void)container;
	f->calls++;
	T_ASSERT(!strcmp(fns, ns) && uid && *uid, "the feed is asked by namespace and uid");
	if (f->fail)
		return f->fail;
	T_ASSERT_EQ(sig, AS_SIG_CPU);
	for (int i = 0; i < 8 && f->pods[i]; i++) {
		if (strcmp(f->pods[i], pod))
			continue;
		for (int k = 0; k < 3; k++)
			f->pts[k] = (struct as_point){
				.t = now - (2 - k) * 1000, .dt = 1000, .value = f->cpu[i]};
		*pts = f->pts;
		*n = 3;
		return 0;
	}
	return -ENOENT;
}

/* ---- objects ---- */

static struct k8s_obj *yaml(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static struct k8s_obj *yaml(const char *fmt, ...)
{
	struct k8s_obj *o;
	struct k8s_err err;
	va_list ap;
	char *y;
	int len;

	va_start(ap, fmt);
	len = vasprintf(&y, fmt, ap);
	va_end(ap);
	if (len < 0)
		t_error("out of memory");
	if (k8s_obj_parse_yaml(y, (size_t)len, &o, &err))
		t_error("test YAML: %s: %s", err.msg, y);
	free(y);
	return o;
}

static void create(const struct k8s_resource *r, struct k8s_obj *o, const char *manager)
{
	struct k8s_call call = {.field_manager = manager};
	struct k8s_err err;
	int ret = k8s_create(c, r, ns, o, &call, NULL, &err);

	if (ret && !(ret == -EEXIST && !r->namespaced))
		t_fail("create %s %s: %s", r->resource, k8s_obj_get_name(o), err.msg);
	k8s_obj_free(o);
}

static void install_crd(struct k8s_obj *crd, const struct k8s_resource *r)
{
	struct k8s_items *l;
	struct k8s_err err;
	int ret = k8s_create(c, &crds, NULL, crd, NULL, NULL, &err);

	if (ret && ret != -EEXIST)
		t_fail("create the CRD %s: %s", k8s_obj_get_name(crd), err.msg);
	k8s_obj_free(crd);
	for (int i = 0; i < 100; i++) {
		ret = k8s_list(c, r, ns, NULL, &l, &err);
		if (!ret) {
			k8s_items_free(l);
			return;
		}
		k8st_sleep_ms(100);
	}
	t_fail("%s not served 10 s after its CRD was created: %s", r->resource, err.msg);
}

static void install_crds(void)
{
	const char *src = getenv("FERRY_SRC");
	char path[512], *buf;
	struct k8s_obj *crd;
	struct k8s_err err;
	FILE *f;
	long len;

	snprintf(path, sizeof(path), "%s/k8s/deploy/crd-scalepolicy.yaml", src ? src : ".");
	f = fopen(path, "r");
	if (!f)
		t_error("%s: cannot open (FERRY_SRC)", path);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	buf = malloc((size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len)
		t_error("%s: cannot read", path);
	fclose(f);
	if (k8s_obj_parse_yaml(buf, (size_t)len, &crd, &err))
		t_fail("%s: %s", path, err.msg);
	free(buf);
	install_crd(crd, &as_scalepolicies);
	/* a custom kind with a scale subresource, as an operator's workload */
	install_crd(
		yaml("apiVersion: apiextensions.k8s.io/v1\n"
		     "kind: CustomResourceDefinition\n"
		     "metadata: {name: workers.autoscale.test.ferry.io}\n"
		     "spec:\n"
		     "  group: autoscale.test.ferry.io\n"
		     "  scope: Namespaced\n"
		     "  names: {kind: Worker, plural: workers, singular: worker, listKind: "
		     "WorkerList}\n"
		     "  versions:\n"
		     "  - name: v1\n"
		     "    served: true\n"
		     "    storage: true\n"
		     "    subresources:\n"
		     "      status: {}\n"
		     "      scale: {specReplicasPath: .spec.replicas, statusReplicasPath: "
		     ".status.replicas, labelSelectorPath: .status.selector}\n"
		     "    schema:\n"
		     "      openAPIV3Schema:\n"
		     "        type: object\n"
		     "        properties:\n"
		     "          spec: {type: object, x-kubernetes-preserve-unknown-fields: true}\n"
		     "          status: {type: object, x-kubernetes-preserve-unknown-fields: "
		     "true}\n"),
		&workers);
}

static void deployment(const char *name, int replicas, const char *manager, const char *annot)
{
	struct k8s_obj *o = yaml(
		"apiVersion: apps/v1\nkind: Deployment\n"
		"metadata: {name: %s, namespace: %s%s%s%s}\n"
		"spec:\n"
		"  replicas: %d\n"
		"  selector: {matchLabels: {app: %s}}\n"
		"  template:\n"
		"    metadata: {labels: {app: %s}}\n"
		"    spec:\n"
		"      containers: [{name: app, image: busybox, resources: {requests: {cpu: 100m}}}]\n",
		name, ns, annot ? ", annotations: {'" AS_PAUSED_ANNOTATION "': '" : "",
		annot ? annot : "", annot ? "'}" : "", replicas, name, name);
	struct k8s_err err;

	if (manager && !strcmp(manager, "gitops")) {
		/* a GitOps tool's server-side apply: it owns spec.replicas as Apply */
		if (k8s_apply(c, &k8s_deployments, ns, o, manager, true, NULL, NULL, &err))
			t_fail("apply deployment %s: %s", name, err.msg);
		k8s_obj_free(o);
		return;
	}
	create(&k8s_deployments, o, manager);
}

/* a pod of @app, Running and Ready since t0, cpu request @req */
static void pod(const char *name, const char *app, const char *req)
{
	char t[K8S_TIME_SIZE];
	struct k8s_call call = {.subresource = "status"};
	struct k8s_obj *st;
	struct k8s_err err;

	/* never scheduled on a real cluster: the test writes its status */
	create(&k8s_pods,
	       yaml("apiVersion: v1\nkind: Pod\n"
		    "metadata: {name: %s, namespace: %s, labels: {app: %s}}\n"
		    "spec:\n"
		    "  nodeSelector: {ferry.io/test-no-such-node: 'true'}\n"
		    "  containers: [{name: app, image: busybox, resources: {requests: {cpu: %s}}}]\n",
		    name, ns, app, req),
	       NULL);
	k8s_time_format((t0 - 600000) * 1000000, false, t);
	st = yaml("status:\n"
		  "  phase: Running\n"
		  "  startTime: '%s'\n"
		  "  conditions: [{type: Ready, status: 'True', lastTransitionTime: '%s'}]\n",
		  t, t);
	if (k8s_patch(c, &k8s_pods, ns, name, K8S_PATCH_MERGE, st, &call, NULL, &err))
		t_fail("pod %s status: %s", name, err.msg);
	k8s_obj_free(st);
}

static void policy(const char *name, const char *target_av, const char *kind, const char *target,
		   const char *extra)
{
	create(&as_scalepolicies,
	       yaml("apiVersion: ferry.io/v1alpha1\nkind: ScalePolicy\n"
		    "metadata: {name: %s, namespace: %s}\n"
		    "spec:\n"
		    "  scaleTargetRef: {apiVersion: %s, kind: %s, name: %s}\n"
		    "  maxReplicas: 10\n"
		    "  metrics: [{type: Resource, resource: {name: cpu, target: {type: "
		    "Utilization, averageUtilization: 50}}}]\n"
		    "%s",
		    name, ns, target_av, kind, target, extra ? extra : ""),
	       NULL);
}

static struct k8s_obj *get(const struct k8s_resource *r, const char *name)
{
	struct k8s_obj *o;
	struct k8s_err err;

	if (k8s_get(c, r, ns, name, NULL, &o, &err))
		t_fail("get %s %s: %s", r->resource, name, err.msg);
	return o;
}

static int64_t replicas(const struct k8s_resource *r, const char *name)
{
	struct k8s_obj *o;
	struct k8s_scale s;
	struct k8s_err err;
	int64_t n;

	if (k8s_scale_get(c, r, ns, name, &o, &err))
		t_fail("get %s %s/scale: %s", r->resource, name, err.msg);
	k8s_scale_view(o, &s);
	n = s.replicas;
	k8s_obj_free(o);
	return n;
}

/* one pass over ScalePolicy @name as read now */
static int pass(struct as_state *st, struct feed *f, const char *name, unsigned int status_ms,
		int64_t now_ms, struct as_outcome *out, struct k8s_err *err)
{
	struct as_env env = {.sz = sizeof(env),
			     .client = c,
			     .feed = feed_fn,
			     .feed_arg = f,
			     .now_ms = now_ms,
			     .status_period_ms = status_ms,
			     .instance = "t-autoscale-kbox"};
	struct k8s_obj *sp = get(&as_scalepolicies, name);
	int ret = as_reconcile(&env, sp, st, out, err);

	k8s_obj_free(sp);
	return ret;
}

static const char *cond_of(const struct k8s_obj *sp, const char *type, const char *field)
{
	for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(sp, "/status/conditions")); e;
	     e = k8s_obj_next(e)) {
		const char *t = k8s_obj_str(e, "/type");

		if (t && !strcmp(t, type))
			return k8s_obj_str(e, field);
	}
	return NULL;
}

/* the condition @type of ScalePolicy @name is @status with @reason, its message holding @msg */
static void expect_cond(const char *name, const char *type, const char *status, const char *reason,
			const char *msg)
{
	struct k8s_obj *sp = get(&as_scalepolicies, name);
	const char *s = cond_of(sp, type, "/status"), *r = cond_of(sp, type, "/reason");
	const char *m = cond_of(sp, type, "/message");

	T_ASSERT(s && !strcmp(s, status) && r && !strcmp(r, reason),
		 "%s: %s is %s %s (%s), not %s %s", name, type, s ? s : "-", r ? r : "-",
		 m ? m : "", status, reason);
	T_ASSERT(!msg || (m && strstr(m, msg)), "%s: %s's message \"%s\" lacks \"%s\"", name, type,
		 m ? m : "", msg);
	T_ASSERT(cond_of(sp, type, "/lastTransitionTime"), "%s: %s has a transition time", name,
		 type);
	k8s_obj_free(sp);
}

/* an Event about ScalePolicy @name with @reason whose note holds @note */
static bool has_event(const char *name, const char *reason, const char *note)
{
	struct k8s_items *l;
	struct k8s_err err;
	bool found = false;

	if (k8s_list(c, &k8s_events, ns, NULL, &l, &err))
		t_fail("list events: %s", err.msg);
	for (size_t i = 0; i < k8s_items_len(l) && !found; i++) {
		const struct k8s_obj *e = k8s_items_at(l, i);
		const char *r = k8s_obj_str(e, "/reason"), *n = k8s_obj_str(e, "/note");
		const char *who = k8s_obj_str(e, "/regarding/name");

		found = r && !strcmp(r, reason) && who && !strcmp(who, name) && n &&
			(!note || strstr(n, note));
	}
	k8s_items_free(l);
	return found;
}

static struct as_state *state(void)
{
	struct as_state *st;

	if (as_state_new(&st))
		t_error("out of memory");
	return st;
}

/* ---- the scenarios ---- */

static void test_scale_up(void)
{
	struct feed f = {.pods = {"web-a", "web-b"}, .cpu = {150, 150}};
	struct as_state *st = state();
	struct as_outcome out;
	struct k8s_err err;
	struct k8s_obj *sp;
	const char *rv;
	char *rv1;
	int64_t v;

	deployment("web", 2, "kubectl-create", NULL);
	pod("web-a", "web", "100m");
	pod("web-b", "web", "100m");
	policy("web", "apps/v1", "Deployment", "web", "  behavior: {}\n");

	/* 150 % of the requests against 50 %: 3 x 2 pods; the default policy allows +4 or +100 % */
	T_ASSERT(!pass(st, &f, "web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && out.scaled && out.status_written, "%s: %s", out.reason,
		 out.message);
	T_ASSERT_EQ(out.dec.desired_replicas, 6);
	T_ASSERT_EQ(replicas(&k8s_deployments, "web"), 6);
	T_ASSERT(f.calls == 2, "the feed was asked once per pod: %d", f.calls);
	sp = get(&as_scalepolicies, "web");
	T_ASSERT(!k8s_obj_int(sp, "/status/currentReplicas", &v) && v == 2);
	T_ASSERT(!k8s_obj_int(sp, "/status/desiredReplicas", &v) && v == 6);
	T_ASSERT(!k8s_obj_int(sp, "/status/observedGeneration", &v) && v >= 1);
	T_ASSERT(k8s_obj_str(sp, "/status/lastScaleTime"), "lastScaleTime");
	T_ASSERT(!strcmp(k8s_obj_str(sp, "/status/currentMetrics/0/resource/name"), "cpu"));
	T_ASSERT(!k8s_obj_int(sp, "/status/currentMetrics/0/resource/current/averageUtilization",
			      &v) &&
		 v == 150);
	T_ASSERT(!strcmp(k8s_obj_str(sp, "/status/currentMetrics/0/resource/current/averageValue"),
			 "150m"));
	k8s_obj_free(sp);
	expect_cond("web", "AbleToScale", "True", AS_REASON_SUCCEEDED_RESCALE,
		    "was able to update the target scale to 6");
	expect_cond("web", "ScalingActive", "True", AS_REASON_VALID_METRIC_FOUND,
		    "cpu resource utilization (percentage of request)");
	T_ASSERT(has_event("web", "SuccessfulRescale",
			   "New size: 6; reason: cpu resource utilization (percentage of request) "
			   "above target"),
		 "the HPA's SuccessfulRescale event");

	/* the same sample again: 6 is what the 2 pods measured ask for; the status says so */
	T_ASSERT(!pass(st, &f, "web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.scaled && out.status_written);
	T_ASSERT_EQ(out.dec.current_replicas, 6);
	/* and once more: nothing changed, nothing is written */
	sp = get(&as_scalepolicies, "web");
	rv1 = strdup(k8s_obj_get_rv(sp));
	k8s_obj_free(sp);
	T_ASSERT(!pass(st, &f, "web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.scaled && !out.status_written, "%s", out.message);
	/* only currentMetrics changes (140 %: still 6): written after the status period */
	f.cpu[0] = f.cpu[1] = 140;
	T_ASSERT(!pass(st, &f, "web", 60000, 0, &out, &err), "%s", err.msg);
	T_ASSERT(!out.scaled && !out.status_written, "currentMetrics alone waits");
	sp = get(&as_scalepolicies, "web");
	rv = k8s_obj_get_rv(sp);
	T_ASSERT(!strcmp(rv, rv1), "no write: resourceVersion %s, was %s", rv, rv1);
	k8s_obj_free(sp);
	f.shift = 61000;
	T_ASSERT(!pass(st, &f, "web", 60000, k8s_now_ns() / 1000000 + 61000, &out, &err), "%s",
		 err.msg);
	T_ASSERT(out.decided && !out.scaled && out.dec.metrics[0].average_utilization == 140, "%s",
		 out.message);
	T_ASSERT(out.status_written, "currentMetrics written after the period");
	sp = get(&as_scalepolicies, "web");
	T_ASSERT(!k8s_obj_int(sp, "/status/currentMetrics/0/resource/current/averageUtilization",
			      &v) &&
		 v == 140);
	k8s_obj_free(sp);
	free(rv1);
	as_state_free(st);
	printf("t_autoscale_kbox: scale-up, status, event, quiet passes: ok\n");
}

struct owners {
	bool ferry, other;
};

static int owner_fn(void *arg, const char *manager, const char *op)
{
	struct owners *o = arg;

	(void)op;
	if (!strcmp(manager, AS_FIELD_MANAGER))
		o->ferry = true;
	else
		o->other = true;
	return 0;
}

static void test_owners(void)
{
	struct feed f = {.pods = {"gw-a"}, .cpu = {300}};
	struct as_state *st = state();
	struct as_outcome out;
	struct owners o = {0};
	struct k8s_err err;
	struct k8s_obj *d = get(&k8s_deployments, "web");

	/* after test_scale_up: ferry alone owns web's replicas */
	k8s_obj_managers(d, "/spec/replicas", owner_fn, &o);
	T_ASSERT(o.ferry && !o.other, "ferry-autoscale owns web's replicas, kubectl-create not");
	k8s_obj_free(d);

	deployment("gitops-web", 1, "gitops", NULL);
	pod("gw-a", "gitops-web", "100m");
	policy("gitops-web", "apps/v1", "Deployment", "gitops-web", NULL);
	T_ASSERT(!pass(st, &f, "gitops-web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.scaled, "refused");
	T_ASSERT_EQ(replicas(&k8s_deployments, "gitops-web"), 1);
	expect_cond("gitops-web", "AbleToScale", "False", AS_REASON_SCALED_BY_ANOTHER,
		    "field manager \"gitops\" applies spec.replicas of deployments gitops-web");
	T_ASSERT(has_event("gitops-web", AS_REASON_SCALED_BY_ANOTHER, "gitops"), "a Warning");
	as_state_free(st);
	printf("t_autoscale_kbox: replicas applied by another manager: refused\n");
}

static void test_hpa_and_shadow(void)
{
	struct feed f = {.pods = {"hw-a", "hw-b"}, .cpu = {150, 150}};
	struct as_state *st = state();
	struct as_outcome out;
	struct k8s_err err;
	struct k8s_obj *sp, *p;
	struct k8s_call call = {.field_manager = "t-autoscale"};
	bool applied = true;
	int64_t v;

	deployment("hpa-web", 2, NULL, NULL);
	pod("hw-a", "hpa-web", "100m");
	pod("hw-b", "hpa-web", "100m");
	create(&hpas,
	       yaml("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\n"
		    "metadata: {name: hpa-web-hpa, namespace: %s}\n"
		    "spec:\n"
		    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: hpa-web}\n"
		    "  minReplicas: 1\n  maxReplicas: 5\n"
		    "  metrics: [{type: Resource, resource: {name: cpu, target: {type: "
		    "Utilization, averageUtilization: 50}}}]\n",
		    ns),
	       NULL);
	policy("hpa-web", "apps/v1", "Deployment", "hpa-web", "  behavior: {}\n");
	T_ASSERT(!pass(st, &f, "hpa-web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(!out.decided && !out.scaled);
	T_ASSERT_EQ(replicas(&k8s_deployments, "hpa-web"), 2);
	expect_cond("hpa-web", "AbleToScale", "False", AS_REASON_SCALED_BY_ANOTHER,
		    "HorizontalPodAutoscaler hpa-web-hpa also scales deployments hpa-web");

	/* shadow mode beside it: decides, reports, writes no scale */
	p = yaml("spec: {mode: Shadow}");
	T_ASSERT(!k8s_patch(c, &as_scalepolicies, ns, "hpa-web", K8S_PATCH_MERGE, p, &call, NULL,
			    &err),
		 "%s", err.msg);
	k8s_obj_free(p);
	T_ASSERT(!pass(st, &f, "hpa-web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && out.shadow && !out.scaled && out.dec.desired_replicas == 6, "%s",
		 out.message);
	T_ASSERT_EQ(replicas(&k8s_deployments, "hpa-web"), 2);
	expect_cond("hpa-web", "AbleToScale", "True", AS_REASON_SHADOW,
		    "would scale deployments hpa-web from 2 to 6");
	sp = get(&as_scalepolicies, "hpa-web");
	T_ASSERT(!k8s_obj_bool(sp, "/status/lastDecision/applied", &applied) && !applied);
	T_ASSERT(!k8s_obj_int(sp, "/status/lastDecision/desiredReplicas", &v) && v == 6);
	T_ASSERT(k8s_obj_type(sp, "/status/lastScaleTime") == K8S_T_ABSENT,
		 "no lastScaleTime: nothing was scaled");
	k8s_obj_free(sp);
	T_ASSERT(has_event("hpa-web", "ShadowRescale", "Would set size: 6"), "ShadowRescale");
	/* the same decision again is no news */
	T_ASSERT(!pass(st, &f, "hpa-web", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.shadow && !out.status_written, "%s", out.message);
	as_state_free(st);
	printf("t_autoscale_kbox: an HPA on the target: refused; shadow mode beside it: ok\n");
}

static void test_targets(void)
{
	struct feed f = {.pods = {"batch-0"}, .cpu = {300}};
	struct as_state *st;
	struct as_outcome out;
	struct k8s_err err;
	struct k8s_call call = {.subresource = "status"};
	struct k8s_obj *w;

	/* paused by a migration */
	st = state();
	deployment("paused", 2, NULL, "migration m1");
	policy("paused", "apps/v1", "Deployment", "paused", NULL);
	T_ASSERT(!pass(st, &f, "paused", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(!out.decided && !out.scaled && f.calls == 0);
	expect_cond("paused", "ScalingActive", "False", AS_REASON_SCALING_PAUSED,
		    AS_PAUSED_ANNOTATION "=migration m1");
	as_state_free(st);

	/* targets that cannot be scaled */
	static const struct {
		const char *name, *av, *kind, *target, *msg;
	} bad[] = {
		{"no-scale", "v1", "ConfigMap", "kube-root-ca.crt", "kind ConfigMap has no scale"},
		{"missing", "apps/v1", "Deployment", "nope", "deployments \"nope\" not found"},
		{"no-kind", "apps/v1", "Gadget", "g", "no kind \"Gadget\" is served by apps/v1"},
		{"no-group", "nosuch.example.com/v1", "Thing", "t",
		 "the server does not serve nosuch.example.com/v1"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		st = state();
		policy(bad[i].name, bad[i].av, bad[i].kind, bad[i].target, NULL);
		T_ASSERT(!pass(st, &f, bad[i].name, 0, 0, &out, &err), "%s: %s", bad[i].name,
			 err.msg);
		T_ASSERT(!out.decided && !out.scaled && out.status_written);
		expect_cond(bad[i].name, "AbleToScale", "False", AS_REASON_FAILED_GET_SCALE,
			    bad[i].msg);
		T_ASSERT(has_event(bad[i].name, AS_REASON_FAILED_GET_SCALE, bad[i].msg),
			 "%s: a FailedGetScale Warning", bad[i].name);
		as_state_free(st);
	}

	/* a custom resource with a scale subresource: 150 % on one pod -> 3 */
	st = state();
	create(&workers,
	       yaml("apiVersion: autoscale.test.ferry.io/v1\nkind: Worker\n"
		    "metadata: {name: batch, namespace: %s}\nspec: {replicas: 1}\n",
		    ns),
	       NULL);
	w = yaml("status: {replicas: 1, selector: app=batch}");
	T_ASSERT(!k8s_patch(c, &workers, ns, "batch", K8S_PATCH_MERGE, w, &call, NULL, &err), "%s",
		 err.msg);
	k8s_obj_free(w);
	pod("batch-0", "batch", "200m");
	policy("batch", "autoscale.test.ferry.io/v1", "Worker", "batch", NULL);
	T_ASSERT(!pass(st, &f, "batch", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.scaled && out.dec.desired_replicas == 3, "%s", out.message);
	w = get(&workers, "batch");
	{
		int64_t v;

		T_ASSERT(!k8s_obj_int(w, "/spec/replicas", &v) && v == 3, "Worker replicas");
	}
	k8s_obj_free(w);
	as_state_free(st);
	printf("t_autoscale_kbox: paused, unscalable targets, a custom resource: ok\n");
}

static void test_feed_and_specs(void)
{
	struct feed f = {.fail = -EHOSTUNREACH};
	struct as_state *st = state();
	struct as_outcome out;
	struct k8s_err err;

	deployment("dark", 3, NULL, NULL);
	pod("dark-a", "dark", "100m");
	policy("dark", "apps/v1", "Deployment", "dark", NULL);
	T_ASSERT(!pass(st, &f, "dark", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.scaled && out.dec.desired_replicas == -1);
	T_ASSERT_EQ(replicas(&k8s_deployments, "dark"), 3);
	expect_cond("dark", "ScalingActive", "False", AS_REASON_FAILED_RESOURCE,
		    "the HPA was unable to compute the replica count");
	T_ASSERT(has_event("dark", AS_REASON_FAILED_RESOURCE,
			   "invalid metrics (1 invalid out of 1)"),
		 "the FailedComputeMetricsReplicas text");
	as_state_free(st);

	/*
	 * An agent stopped: half-b's value is missing. On a scale-up it counts
	 * as 0 %: (100 + 0) / 2 = 50 % is the target, so nothing changes (the
	 * recompute rule); currentMetrics shows the pods measured. Back: 4.
	 */
	st = state();
	f = (struct feed){.pods = {"half-a"}, .cpu = {100}};
	deployment("half", 2, NULL, NULL);
	pod("half-a", "half", "100m");
	pod("half-b", "half", "100m");
	policy("half", "apps/v1", "Deployment", "half", NULL);
	T_ASSERT(!pass(st, &f, "half", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.decided && !out.scaled && out.dec.desired_replicas == 2, "%s", out.message);
	T_ASSERT_EQ(out.dec.metrics[0].average_utilization, 100);
	T_ASSERT_EQ(replicas(&k8s_deployments, "half"), 2);
	f = (struct feed){.pods = {"half-a", "half-b"}, .cpu = {100, 100}};
	T_ASSERT(!pass(st, &f, "half", 0, 0, &out, &err), "%s", err.msg);
	T_ASSERT(out.scaled && out.dec.desired_replicas == 4, "%s", out.message);
	T_ASSERT_EQ(replicas(&k8s_deployments, "half"), 4);
	as_state_free(st);

	/* stored, well formed, refused by the controller */
	st = state();
	policy("zero", "apps/v1", "Deployment", "dark", "  minReplicas: 0\n");
	T_ASSERT(!pass(st, &f, "zero", 0, 0, &out, &err), "%s", err.msg);
	expect_cond("zero", "ScalingActive", "False", AS_REASON_UNSUPPORTED_SPEC,
		    "spec.minReplicas: 0 is not supported");
	as_state_free(st);
	st = state();
	create(&as_scalepolicies,
	       yaml("apiVersion: ferry.io/v1alpha1\nkind: ScalePolicy\n"
		    "metadata: {name: ext, namespace: %s}\n"
		    "spec:\n"
		    "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: dark}\n"
		    "  maxReplicas: 4\n"
		    "  metrics: [{type: External, external: {metric: {name: queue_depth}, target: "
		    "{type: AverageValue, averageValue: '30'}}}]\n",
		    ns),
	       NULL);
	T_ASSERT(!pass(st, &f, "ext", 0, 0, &out, &err), "%s", err.msg);
	expect_cond("ext", "ScalingActive", "False", AS_REASON_UNSUPPORTED_METRIC,
		    "External metrics are not supported");
	T_ASSERT_EQ(replicas(&k8s_deployments, "dark"), 3);
	as_state_free(st);
	printf("t_autoscale_kbox: a failing feed, missing pods, refused specs: ok\n");
}

int main(void)
{
	c = k8st_client(NULL, NULL);
	t0 = k8s_now_ns() / 1000000;
	ns = k8st_ns(c, "autoscale");
	install_crds();
	test_scale_up();
	test_owners();
	test_hpa_and_shadow();
	test_targets();
	test_feed_and_specs();
	k8st_ns_delete(c, ns);
	free(ns);
	k8s_client_free(c);
	printf("t_autoscale_kbox: ok\n");
	return 0;
}
