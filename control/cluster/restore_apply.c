// SPDX-License-Identifier: MIT
/*
 * control/cluster/restore_apply.c - a restore plan applied over k8s/
 * (cluster.h "APPLYING A PLAN"): tier by tier, each tier's objects created
 * by a pool of workers under one request budget, existing objects handled
 * by the existing-resource policy, one outcome per object.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cluster_priv.h"
#include "k8s/k8s.h"

#define APPLY_WORKERS	  8
#define APPLY_QPS	  50.0
#define APPLY_CRD_WAIT_MS 60000
#define APPLY_WORKERS_MAX 64

struct apply {
	struct k8s_client *c;
	const struct cluster_restore_plan *p;
	const struct cluster_restore_opts *o;
	struct cluster_apis apis;
	cluster_result_fn fn;
	void *arg;
	size_t *counts;
	double qps;
	pthread_mutex_t lock;
	size_t next, end;     /* the items of the tier being applied */
	int64_t next_slot_ns; /* the request budget: the next free slot */
};

const char *cluster_outcome_name(enum cluster_outcome oc)
{
	static const char *const names[] = {"Created", "SkippedExists", "Updated", "Failed",
					    "Skipped"};

	return (unsigned int)oc < 5 ? names[oc] : "?";
}

static int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void sleep_ns(int64_t ns)
{
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};

	while (ns > 0 && nanosleep(&ts, &ts) && errno == EINTR)
		;
}

/* one request's slot of the budget: waits until it comes (no burst) */
static void budget(struct apply *a)
{
	int64_t now, slot;

	if (a->qps <= 0)
		return;
	pthread_mutex_lock(&a->lock);
	now = mono_ns();
	slot = a->next_slot_ns > now ? a->next_slot_ns : now;
	a->next_slot_ns = slot + (int64_t)(1e9 / a->qps);
	pthread_mutex_unlock(&a->lock);
	sleep_ns(slot - now);
}

static void result(struct apply *a, const struct cluster_plan_item *it, enum cluster_outcome oc,
		   const char *reason)
{
	pthread_mutex_lock(&a->lock);
	if (a->counts)
		a->counts[oc]++;
	if (a->fn)
		a->fn(a->arg, it, oc, reason ? reason : "");
	pthread_mutex_unlock(&a->lock);
}

/* the live object, stripped as the backup's was, equals what would be created */
static bool same_as_live(struct apply *a, const struct cluster_plan_item *it,
			 const struct k8s_obj *live)
{
	struct k8s_obj *l = k8s_obj_dup(live);
	struct cluster_err err;
	const char *skip;
	bool same = false;

	if (l && !cluster_restore_prepare(a->o, l, &skip, &err)) {
		/* the live one is already in the target namespace: no second mapping */
		k8s_obj_set_str(l, "/metadata/namespace", it->ns);
		if (!it->ns[0])
			k8s_obj_remove(l, "/metadata/namespace");
		same = k8s_obj_equal(l, it->obj);
	}
	k8s_obj_free(l);
	return same;
}

static void exists(struct apply *a, const struct cluster_plan_item *it,
		   const struct k8s_resource *kr)
{
	struct k8s_obj *live = NULL;
	struct k8s_err kerr;
	char why[400];
	int ret;

	if (a->o->existing == CLUSTER_EXISTING_UPDATE) {
		budget(a);
		ret = k8s_patch(a->c, kr, it->ns, it->name, K8S_PATCH_MERGE, it->obj, NULL, NULL,
				&kerr);
		if (ret) {
			snprintf(why, sizeof(why), "exists; the update failed: %s", kerr.msg);
			result(a, it, CLUSTER_FAILED, why);
		} else {
			result(a, it, CLUSTER_UPDATED, "existed: updated to the backup's content");
		}
		return;
	}
	budget(a);
	ret = k8s_get(a->c, kr, it->ns, it->name, NULL, &live, &kerr);
	if (ret == -EPERM) {
		/* a kind the restore may create but not read (Secrets: restore-rbac.yaml) */
		snprintf(why, sizeof(why),
			 "exists, left uncompared (existingResourcePolicy update would write "
			 "it): %s",
			 kerr.msg);
		result(a, it, CLUSTER_SKIPPED_EXISTS, why);
	} else if (ret) {
		snprintf(why, sizeof(why), "exists; reading it failed: %s", kerr.msg);
		result(a, it, CLUSTER_SKIPPED_EXISTS, why);
	} else if (same_as_live(a, it, live)) {
		result(a, it, CLUSTER_SKIPPED_EXISTS, CLUSTER_REASON_SAME);
	} else {
		result(a, it, CLUSTER_SKIPPED_EXISTS,
		       "exists and differs from the backup: left as it is "
		       "(existingResourcePolicy none)");
	}
	k8s_obj_free(live);
}

static void apply_one(struct apply *a, const struct cluster_plan_item *it)
{
	char av[CLUSTER_RES_STR + 64], why[400];
	const struct cluster_res *r;
	struct k8s_resource kr;
	struct k8s_err kerr;
	const char *ver;
	int ret;

	if (it->skip) {
		result(a, it, CLUSTER_SKIPPED, it->skip);
		return;
	}
	snprintf(av, sizeof(av), "%s", k8s_obj_str(it->obj, "/apiVersion"));
	r = cluster_apis_find(&a->apis, av, it->kind);
	if (!r) {
		snprintf(why, sizeof(why), "the cluster serves no %.100s of %.150s", it->kind, av);
		result(a, it, CLUSTER_SKIPPED, why);
		return;
	}
	if (!r->creatable) {
		result(a, it, CLUSTER_SKIPPED, "the resource cannot be created");
		return;
	}
	ver = strchr(av, '/') ? strchr(av, '/') + 1 : av;
	kr = (struct k8s_resource){.group = r->group,
				   .version = ver,
				   .resource = r->resource,
				   .kind = r->kind,
				   .namespaced = r->namespaced};
	if (r->namespaced && !it->ns[0]) {
		result(a, it, CLUSTER_FAILED, "a namespaced object without a namespace");
		return;
	}
	budget(a);
	ret = k8s_create(a->c, &kr, r->namespaced ? it->ns : NULL, it->obj, NULL, NULL, &kerr);
	if (!ret) {
		result(a, it, CLUSTER_CREATED, "");
		return;
	}
	if (ret == -EEXIST) {
		exists(a, it, &kr);
		return;
	}
	snprintf(why, sizeof(why), "%s", kerr.msg);
	result(a, it, CLUSTER_FAILED, why);
}

static void *worker(void *arg)
{
	struct apply *a = arg;

	for (;;) {
		size_t i;

		pthread_mutex_lock(&a->lock);
		i = a->next < a->end ? a->next++ : SIZE_MAX;
		pthread_mutex_unlock(&a->lock);
		if (i == SIZE_MAX)
			return NULL;
		apply_one(a, &a->p->items[i]);
	}
}

static void run_tier(struct apply *a, size_t from, size_t to, unsigned int workers)
{
	pthread_t th[APPLY_WORKERS_MAX];
	unsigned int started = 0, n = workers;

	if (from == to)
		return;
	if (n > to - from)
		n = (unsigned int)(to - from);
	a->next = from;
	a->end = to;
	for (; started < n; started++)
		if (pthread_create(&th[started], NULL, worker, a))
			break;
	if (!started)
		worker(a); /* no thread to be had: this one does the tier */
	for (unsigned int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
}

/* each CRD created Established (served), up to @wait_ms in all */
static void crds_wait(struct apply *a, unsigned int wait_ms)
{
	static const struct k8s_resource crds =
		K8S_RESOURCE("apiextensions.k8s.io", "v1", "customresourcedefinitions",
			     "CustomResourceDefinition", false);
	int64_t deadline = mono_ns() + (int64_t)wait_ms * 1000000;

	for (size_t i = a->p->tier_start[0]; i < a->p->tier_start[1]; i++) {
		const struct cluster_plan_item *it = &a->p->items[i];

		if (it->skip)
			continue;
		for (;;) {
			struct k8s_condition cond;
			struct k8s_obj *o = NULL;
			struct k8s_err kerr;
			bool ok;

			ok = !k8s_get(a->c, &crds, NULL, it->name, NULL, &o, &kerr) &&
			     !k8s_condition_get(o, "Established", &cond) &&
			     !strcmp(cond.status, "True");
			k8s_obj_free(o);
			if (ok || mono_ns() >= deadline)
				break;
			sleep_ns(200000000);
		}
	}
}

int cluster_restore_apply(struct k8s_client *c, const struct cluster_restore_plan *p,
			  const struct cluster_restore_opts *o, const struct cluster_apply_opts *ao,
			  cluster_result_fn fn, void *arg, size_t counts[5],
			  struct cluster_err *err)
{
	struct apply a = {.c = c, .p = p, .o = o, .fn = fn, .arg = arg, .counts = counts};
	unsigned int workers = ao && ao->workers ? ao->workers : APPLY_WORKERS;
	unsigned int crd_wait = ao && ao->crd_wait_ms ? ao->crd_wait_ms : APPLY_CRD_WAIT_MS;
	int ret;

	cluster_err_clear(err);
	if (counts)
		memset(counts, 0, 5 * sizeof(counts[0]));
	a.qps = ao && ao->qps ? ao->qps : APPLY_QPS;
	if (workers > APPLY_WORKERS_MAX)
		workers = APPLY_WORKERS_MAX;
	ret = cluster_discover(c, &a.apis, NULL, err);
	if (ret)
		return ret;
	pthread_mutex_init(&a.lock, NULL);
	for (int t = 0; t < CLUSTER_TIERS && !ret; t++) {
		run_tier(&a, p->tier_start[t], p->tier_start[t + 1], workers);
		if (t == 0 && p->tier_start[1] > p->tier_start[0]) {
			/* the custom resources of the CRDs just made: served only now */
			crds_wait(&a, crd_wait);
			cluster_apis_fini(&a.apis);
			ret = cluster_discover(c, &a.apis, NULL, err);
		}
	}
	pthread_mutex_destroy(&a.lock);
	cluster_apis_fini(&a.apis);
	return ret;
}
