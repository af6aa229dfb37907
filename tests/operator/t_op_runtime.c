// SPDX-License-Identifier: MIT
/*
 * tests/operator/t_op_runtime.c - the controller runtime (control/operator/,
 * operator.h) running a reconciler the way a capability will plug one in:
 * a struct k8s_reconciler of a custom resource (a CRD made for the test,
 * with the status subresource) that owns ConfigMaps.
 *
 *   - an object created is reconciled; its condition reaches
 *     status.conditions (True, observedGeneration) and is not written again
 *     when nothing changed;
 *   - a reconcile that fails is retried with backoff and reported as a
 *     False condition with the error's reason and message; fixed, it turns
 *     True;
 *   - a reconcile that succeeds with res->failed (a final failure) is a
 *     False condition with its reason and message, and is not retried;
 *   - an event of an owned object (K8S_MAP_OWNER) reconciles its owner, and
 *     a K8S_MAP_FN watch names keys of its own;
 *   - a deleted object is reconciled once more, as absent;
 *   - one key is never held by two workers; the runtime's /metrics text
 *     (promtool-clean where promtool exists); malformed reconcilers refused.
 * Against FERRY_TEST_KUBECONFIG (the shared box or a real cluster), or a
 * box of its own (tests/k8s/t_k8s_run.sh).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "control/operator/operator.h"
#include "k8st.h"
#include "t_helpers.h"

static char group[64], crd_name[128];
static struct k8s_resource widgets = {
	.version = "v1", .resource = "widgets", .kind = "Widget", .namespaced = true};
static const struct k8s_resource crds =
	K8S_RESOURCE("apiextensions.k8s.io", "v1", "customresourcedefinitions",
		     "CustomResourceDefinition", false);

/* what the reconciler saw, under a lock (workers run on their own threads) */
static pthread_mutex_t seen_lock = PTHREAD_MUTEX_INITIALIZER;
static int calls_w1, calls_w2, calls_w3, gone_w1, calls_fn, inside_w1, overlap;

static void fn_map(const struct k8s_obj *obj, k8s_key_fn add, void *q)
{
	/* ConfigMaps labelled widget=NAME name the Widget of that name */
	const char *w = k8s_obj_label(obj, "widget");
	char key[K8S_KEY_SIZE];

	if (!w)
		return;
	snprintf(key, sizeof(key), "%s/%s", k8s_obj_get_ns(obj), w);
	pthread_mutex_lock(&seen_lock);
	calls_fn++;
	pthread_mutex_unlock(&seen_lock);
	add(q, key);
}

static int widget_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			    struct k8s_err *err)
{
	struct k8s_obj *cm = NULL;
	char name[K8S_KEY_SIZE];
	bool fail = false, final = false;
	int ret;

	pthread_mutex_lock(&seen_lock);
	if (!strcmp(req->name, "w1")) {
		overlap |= inside_w1++ > 0;
		calls_w1++;
		gone_w1 += !req->obj;
	} else if (!strcmp(req->name, "w2")) {
		calls_w2++;
	} else if (!strcmp(req->name, "w3")) {
		calls_w3++;
	}
	pthread_mutex_unlock(&seen_lock);
	usleep(20000); /* long enough for a second worker to try the same key */
	ret = 0;
	if (!req->obj)
		goto out;
	T_ASSERT(req->caches[0] && req->caches[1] && req->client && req->own_ns &&
		 !strcmp(req->field_manager, "ferry-widget"));
	k8s_obj_bool(req->obj, "/spec/fail", &fail);
	if (fail) {
		err->code = -EINVAL;
		snprintf(err->reason, sizeof(err->reason), "BadWidget");
		snprintf(err->msg, sizeof(err->msg), "widget %s asks to fail", req->name);
		ret = -EINVAL;
		goto out;
	}
	k8s_obj_bool(req->obj, "/spec/final", &final);
	if (final) { /* a failure retrying does not mend */
		res->failed = true;
		res->reason = "WidgetRefused";
		res->message = "widget refused for good";
		goto out;
	}
	/* its ConfigMap, owned by it */
	snprintf(name, sizeof(name), "%s-cm", req->name);
	cm = k8st_cm(req->ns, name, "widget", req->name);
	T_ASSERT(!k8s_obj_set_label(cm, "widget", req->name));
	T_ASSERT(!k8s_obj_set_owner(cm, req->obj));
	ret = k8s_create(req->client, &k8s_configmaps, req->ns, cm, NULL, NULL, err);
	if (ret == -EEXIST)
		ret = 0;
	res->reason = "WidgetReady";
	res->message = "its ConfigMap exists";
out:
	k8s_obj_free(cm);
	pthread_mutex_lock(&seen_lock);
	inside_w1 -= !strcmp(req->name, "w1");
	pthread_mutex_unlock(&seen_lock);
	return ret;
}

static const struct k8s_watch widget_watches[] = {
	{.resource = &widgets},
	{.resource = &k8s_configmaps, .map = K8S_MAP_OWNER},
	{.resource = &k8s_configmaps,
	 .label_selector = "widget",
	 .map = K8S_MAP_FN,
	 .map_fn = fn_map},
};

static const struct k8s_reconciler widget = {
	.sz = sizeof(widget),
	.name = "widget",
	.watches = widget_watches,
	.nwatches = 3,
	.workers = 3,
	.condition = "Ready",
	.reconcile = widget_reconcile,
};

static void make_crd(struct k8s_client *c)
{
	char json[2048];
	struct k8s_obj *o;
	struct k8s_err err;

	snprintf(group, sizeof(group), "t%08lx.test.ferry.io", (unsigned long)random());
	snprintf(crd_name, sizeof(crd_name), "widgets.%s", group);
	widgets.group = group;
	snprintf(
		json, sizeof(json),
		"{\"apiVersion\":\"apiextensions.k8s.io/v1\",\"kind\":\"CustomResourceDefinition\","
		"\"metadata\":{\"name\":\"%s\"},\"spec\":{\"group\":\"%s\",\"scope\":\"Namespaced\","
		"\"names\":{\"plural\":\"widgets\",\"singular\":\"widget\",\"kind\":\"Widget\"},"
		"\"versions\":[{\"name\":\"v1\",\"served\":true,\"storage\":true,"
		"\"subresources\":{\"status\":{}},\"schema\":{\"openAPIV3Schema\":{\"type\":\"object\","
		"\"properties\":{\"spec\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true},"
		"\"status\":{\"type\":\"object\",\"x-kubernetes-preserve-unknown-fields\":true}}}}}]}}",
		crd_name, group);
	T_ASSERT(!k8s_obj_parse(json, strlen(json), &o));
	T_ASSERT(!k8s_create(c, &crds, NULL, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	/* established: the new resource answers a list */
	for (int i = 0; i < 100; i++) {
		struct k8s_items *items = NULL;

		if (!k8s_list(c, &widgets, "default", NULL, &items, &err)) {
			k8s_items_free(items);
			break;
		}
		k8st_sleep_ms(100);
	}
}

static void create_widget(struct k8s_client *c, const char *ns, const char *name, bool fail)
{
	struct k8s_obj *o;
	struct k8s_err err;

	T_ASSERT(!k8s_obj_new_kind(&widgets, ns, name, &o));
	T_ASSERT(!k8s_obj_set_bool(o, "/spec/fail", fail));
	T_ASSERT(!k8s_create(c, &widgets, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
}

/* wait until widget @name has condition Ready with @status and @reason; its copy */
static struct k8s_obj *wait_condition(struct k8s_client *c, const char *ns, const char *name,
				      const char *status, const char *reason)
{
	for (int i = 0; i < 300; i++) {
		struct k8s_condition cond;
		struct k8s_obj *o = NULL;
		struct k8s_err err;

		if (!k8s_get(c, &widgets, ns, name, NULL, &o, &err) &&
		    !k8s_condition_get(o, "Ready", &cond) && !strcmp(cond.status, status) &&
		    !strcmp(cond.reason, reason))
			return o;
		k8s_obj_free(o);
		k8st_sleep_ms(50);
	}
	t_fail("widget %s: no condition Ready=%s (%s) within 15 s", name, status, reason);
}

static int count(int *v)
{
	int n;

	pthread_mutex_lock(&seen_lock);
	n = *v;
	pthread_mutex_unlock(&seen_lock);
	return n;
}

static void test_malformed(struct k8s_client *c)
{
	static const struct k8s_watch owner_first[] = {
		{.resource = &k8s_configmaps, .map = K8S_MAP_OWNER}};
	static const struct k8s_watch fn_without[] = {{.resource = &k8s_configmaps},
						      {.resource = &k8s_pods, .map = K8S_MAP_FN}};
	struct k8s_reconciler bad = widget;
	const struct k8s_reconciler *regs[3] = {&bad, NULL, NULL};
	struct op_manager_opts mo = {.sz = sizeof(mo), .client = c, .reconcilers = regs};
	struct op_manager *m;
	struct k8s_err err;

	bad.name = "Widget";
	T_ASSERT_EQ(op_manager_start(&mo, &m, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "lower case"), "%s", err.msg);
	bad = widget;
	bad.watches = owner_first;
	bad.nwatches = 1;
	T_ASSERT_EQ(op_manager_start(&mo, &m, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "map to itself"), "%s", err.msg);
	bad.watches = fn_without;
	bad.nwatches = 2;
	T_ASSERT_EQ(op_manager_start(&mo, &m, &err), -EINVAL);
	bad = widget;
	bad.reconcile = NULL;
	T_ASSERT_EQ(op_manager_start(&mo, &m, &err), -EINVAL);
	regs[0] = &widget;
	regs[1] = &widget;
	T_ASSERT_EQ(op_manager_start(&mo, &m, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "twice"), "%s", err.msg);
}

static void check_metrics(struct op_manager *m)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	T_ASSERT(f);
	op_manager_metrics(m, f);
	fclose(f);
	T_ASSERT(
		strstr(buf,
		       "ferry_controller_reconcile_total{reconciler=\"widget\",result=\"success\"}"),
		"%s", buf);
	T_ASSERT(strstr(
		buf,
		"ferry_controller_reconcile_time_seconds_bucket{reconciler=\"widget\",le=\"+Inf\"}"));
	T_ASSERT(strstr(buf, "ferry_controller_workqueue_depth{reconciler=\"widget\"}"));
	T_ASSERT(
		strstr(buf, "ferry_controller_max_concurrent_reconciles{reconciler=\"widget\"} 3"));
	T_ASSERT(strstr(
		buf,
		"ferry_controller_informer_objects{group=\"\",resource=\"configmaps\",scope=\"all\",label_selector=\"widget\""));
	if (!access("/usr/bin/promtool", X_OK)) {
		FILE *p = popen("/usr/bin/promtool check metrics >/dev/null 2>&1", "w");

		T_ASSERT(p);
		fwrite(buf, 1, len, p);
		T_ASSERT_EQ(pclose(p), 0);
	}
	free(buf);
}

int main(void)
{
	struct k8s_client_opts co = {.sz = sizeof(co), .qps = -1};
	struct k8s_client *c = k8st_client(NULL, &co);
	const struct k8s_reconciler *regs[] = {&widget, NULL};
	struct op_manager_opts mo = {
		.sz = sizeof(mo), .client = c, .identity = "t", .reconcilers = regs};
	struct op_manager *m;
	struct k8s_condition cond;
	struct op_counts n, n2;
	struct k8s_obj *o, *patch;
	struct k8s_err err;
	char *ns;
	int before;

	srandom((unsigned int)getpid());
	test_malformed(c);
	ns = k8st_ns(c, "op-rt");
	mo.own_ns = ns;
	make_crd(c);
	T_ASSERT(!op_manager_start(&mo, &m, &err), "%s", err.msg);
	T_ASSERT(!op_manager_wait_synced(m, 30000, &err), "%s", err.msg);
	T_ASSERT(op_manager_synced(m));

	/* created: reconciled, the condition True with its reason and generation */
	create_widget(c, ns, "w1", false);
	o = wait_condition(c, ns, "w1", "True", "WidgetReady");
	T_ASSERT(!k8s_condition_get(o, "Ready", &cond) && cond.observed_generation == 1 &&
		 !strcmp(cond.message, "its ConfigMap exists"));
	k8s_obj_free(o);
	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "w1-cm", NULL, &o, &err), "%s", err.msg);
	k8s_obj_free(o);
	/* the condition is written once: a reconcile with the same outcome writes nothing */
	k8st_sleep_ms(500);
	T_ASSERT(!op_manager_counts(m, "widget", &n));
	T_ASSERT_EQ(n.condition_writes, 1);

	/* an event of the owned ConfigMap reconciles its owner (OWNER and FN watches) */
	before = count(&calls_w1);
	patch = k8st_cm(ns, "w1-cm", "touched", "yes");
	T_ASSERT(!k8s_patch(c, &k8s_configmaps, ns, "w1-cm", K8S_PATCH_MERGE, patch, NULL, NULL,
			    &err),
		 "%s", err.msg);
	k8s_obj_free(patch);
	for (int i = 0; i < 200 && count(&calls_w1) == before; i++)
		k8st_sleep_ms(50);
	T_ASSERT(count(&calls_w1) > before, "the owner was reconciled");
	T_ASSERT(count(&calls_fn) > 0, "the K8S_MAP_FN watch named keys");

	/* a failure: False with the error's reason and message, retried with backoff */
	create_widget(c, ns, "w2", true);
	o = wait_condition(c, ns, "w2", "False", "BadWidget");
	T_ASSERT(!k8s_condition_get(o, "Ready", &cond) &&
		 !strcmp(cond.message, "widget w2 asks to fail"));
	k8s_obj_free(o);
	for (int i = 0; i < 100 && count(&calls_w2) < 3; i++)
		k8st_sleep_ms(50);
	T_ASSERT(count(&calls_w2) >= 3, "retried: %d calls", count(&calls_w2));
	T_ASSERT(!op_manager_counts(m, "widget", &n));
	T_ASSERT(n.errors >= 2 && n.retries >= 2, "errors %llu retries %llu", n.errors, n.retries);
	/* fixed: True again, the new generation observed */
	{
		static const char fix[] = "{\"spec\":{\"fail\":false}}";

		T_ASSERT(!k8s_obj_parse(fix, strlen(fix), &patch));
	}
	T_ASSERT(!k8s_patch(c, &widgets, ns, "w2", K8S_PATCH_MERGE, patch, NULL, NULL, &err), "%s",
		 err.msg);
	k8s_obj_free(patch);
	o = wait_condition(c, ns, "w2", "True", "WidgetReady");
	T_ASSERT(!k8s_condition_get(o, "Ready", &cond) && cond.observed_generation == 2);
	k8s_obj_free(o);

	/* a final failure: False with its reason and message, and no retry */
	{
		struct k8s_obj *w3;

		T_ASSERT(!k8s_obj_new_kind(&widgets, ns, "w3", &w3));
		T_ASSERT(!k8s_obj_set_bool(w3, "/spec/final", true));
		T_ASSERT(!k8s_create(c, &widgets, ns, w3, NULL, NULL, &err), "%s", err.msg);
		k8s_obj_free(w3);
	}
	T_ASSERT(!op_manager_counts(m, "widget", &n));
	o = wait_condition(c, ns, "w3", "False", "WidgetRefused");
	T_ASSERT(!k8s_condition_get(o, "Ready", &cond) &&
		 !strcmp(cond.message, "widget refused for good"));
	k8s_obj_free(o);
	/* a retried key comes back within 5, 10, 20 ... ms; this one only on its own events
	 * (its creation, the condition written) */
	k8st_sleep_ms(1000);
	T_ASSERT(count(&calls_w3) <= 3, "a final failure was retried: %d calls", count(&calls_w3));
	T_ASSERT(!op_manager_counts(m, "widget", &n2));
	T_ASSERT_EQ(n2.errors, n.errors);

	/* deleted: reconciled once more, as absent */
	T_ASSERT(!k8s_delete(c, &widgets, ns, "w1", NULL, NULL, &err), "%s", err.msg);
	for (int i = 0; i < 200 && !count(&gone_w1); i++)
		k8st_sleep_ms(50);
	T_ASSERT(count(&gone_w1) >= 1, "a deleted key is reconciled with obj NULL");
	T_ASSERT(!count(&overlap), "two workers held one key at once");

	check_metrics(m);
	T_ASSERT(!op_manager_counts(m, "widget", &n2) && n2.success >= n.success && n2.adds > 0);
	T_ASSERT_EQ(op_manager_counts(m, "nope", &n2), -ENOENT);
	op_manager_stop(m);

	k8s_delete(c, &crds, NULL, crd_name, NULL, NULL, &err);
	k8st_ns_delete(c, ns);
	free(ns);
	k8s_client_free(c);
	printf("t_op_runtime: ok\n");
	return 0;
}
