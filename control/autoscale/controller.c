// SPDX-License-Identifier: MIT
/*
 * control/autoscale/controller.c - the ScalePolicy reconciler of `ferry
 * controller` (autoscale.h, as_reconciler): the runtime (control/operator)
 * watches ScalePolicies, hands each key to one worker at a time, and this
 * file keeps one struct as_state per ScalePolicy between passes and calls
 * as_reconcile() with the feed the setup made. Each pass asks to be run
 * again one period later: the pass reads the target's scale itself every
 * second, so a watch of the targets would save less than a period and cost
 * list and watch rights over every scalable kind.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoscale.h"
#include "k8s/k8s.h"

/* one ScalePolicy's state, by its key "namespace/name" */
struct as_entry {
	struct as_entry *next;
	char *key;
	struct as_state *st;
};

struct as_ctl {
	pthread_mutex_t lock; /* @entries (each entry is used by one worker at a time) */
	struct as_entry *entries;
};

/* the entry of @key, made if @make; NULL when absent or out of memory */
static struct as_entry *entry_of(struct as_ctl *c, const char *key, bool make)
{
	struct as_entry *e;

	pthread_mutex_lock(&c->lock);
	for (e = c->entries; e && strcmp(e->key, key); e = e->next)
		;
	if (!e && make) {
		e = calloc(1, sizeof(*e));
		if (e && (!(e->key = strdup(key)) || as_state_new(&e->st))) {
			free(e->key);
			free(e);
			e = NULL;
		}
		if (e) {
			e->next = c->entries;
			c->entries = e;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return e;
}

static void entry_drop(struct as_ctl *c, const char *key)
{
	struct as_entry **pp, *e = NULL;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->entries; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->key, key)) {
			e = *pp;
			*pp = e->next;
			break;
		}
	pthread_mutex_unlock(&c->lock);
	if (e) {
		as_state_free(e->st);
		free(e->key);
		free(e);
	}
}

static int as_ctl_setup(struct k8s_client *client, const char *own_ns, void **state,
			struct k8s_err *err)
{
	struct as_ctl *c = calloc(1, sizeof(*c));

	(void)client;
	(void)own_ns;
	(void)err;
	*state = c;
	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	return 0;
}

static void as_ctl_teardown(void *state)
{
	struct as_ctl *c = state;

	if (!c)
		return;
	while (c->entries) {
		struct as_entry *e = c->entries;

		c->entries = e->next;
		as_state_free(e->st);
		free(e->key);
		free(e);
	}
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static int as_ctl_feed(void *arg, enum as_signal sig, const char *ns, const char *pod,
		       const char *uid, const char *container, const struct as_point **pts,
		       size_t *n)
{
	(void)arg, (void)sig, (void)ns, (void)pod, (void)uid, (void)container;
	*pts = NULL;
	*n = 0;
	return -ENODATA; /* no per-pod feed yet: every metric fails, nothing is scaled on it */
}

static int as_ctl_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			    struct k8s_err *err)
{
	struct as_ctl *c = req->state;
	struct as_outcome *out;
	struct as_entry *e;
	int ret;

	assert(c);
	if (!req->obj) { /* deleted: forget it */
		entry_drop(c, req->key);
		return 0;
	}
	e = entry_of(c, req->key, true);
	out = malloc(sizeof(*out));
	if (!e || !out) {
		free(out);
		memset(err, 0, sizeof(*err));
		err->code = -ENOMEM;
		snprintf(err->msg, sizeof(err->msg), "scalepolicy %s: out of memory", req->key);
		return -ENOMEM;
	}
	struct as_env env = {.sz = sizeof(env),
			     .client = req->client,
			     .field_manager = AS_FIELD_MANAGER,
			     .feed = as_ctl_feed,
			     .feed_arg = c,
			     .controller = "ferry.io/controller",
			     .instance = req->identity};
	ret = as_reconcile(&env, req->obj, e->st, out, err);
	if (!ret)
		res->requeue_after_ms = out->requeue_after_ms;
	free(out);
	return ret;
}

static const struct k8s_watch as_watches[] = {
	{.resource = &as_scalepolicies, .map = K8S_MAP_SELF},
};

const struct k8s_reconciler as_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "autoscale",
	.watches = as_watches,
	.nwatches = sizeof(as_watches) / sizeof(as_watches[0]),
	.workers = 4,
	.condition = NULL, /* as_reconcile() writes the HPA's conditions itself */
	.setup = as_ctl_setup,
	.teardown = as_ctl_teardown,
	.reconcile = as_ctl_reconcile,
};
