// SPDX-License-Identifier: MIT
/*
 * control/autoscale/controller.c - the ScalePolicy reconciler of `ferry
 * controller` (autoscale.h, as_reconciler): the runtime (control/operator)
 * watches ScalePolicies, hands each key to one worker at a time, and this
 * file keeps one struct as_state per ScalePolicy between passes and calls
 * as_reconcile() with the process's feed (control/signals'
 * sig_feed_shared_get(): every agent's per-pod page, read once a second,
 * shared with the load balancer's reconciler). Each pass asks to be run
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
#include "control/signals/signals.h"
#include "k8s/k8s.h"

/* the page's "v" values are in the order of enum as_signal (SIG_THROTTLED, after them, is
 * not a signal of the autoscaler) */
_Static_assert((int)SIG_CPU == (int)AS_SIG_CPU && (int)SIG_MEMORY == (int)AS_SIG_MEMORY &&
		       (int)SIG_RUNQ_P50 == (int)AS_SIG_RUNQ_P50 &&
		       (int)SIG_RUNQ_P99 == (int)AS_SIG_RUNQ_P99 &&
		       (int)SIG_RX_BYTES == (int)AS_SIG_RX_BYTES &&
		       (int)SIG_TX_BYTES == (int)AS_SIG_TX_BYTES &&
		       (int)SIG_RX_PACKETS == (int)AS_SIG_RX_PACKETS &&
		       (int)SIG_TX_PACKETS == (int)AS_SIG_TX_PACKETS &&
		       (int)SIG_V_KINDS == (int)AS_SIG_COUNT,
	       "control/signals' values and autoscale's signals differ");

/* one ScalePolicy's state, by its key "namespace/name" */
struct as_entry {
	struct as_entry *next;
	char *key;
	struct as_state *st;
};

struct as_ctl {
	pthread_mutex_t lock; /* @entries (each entry is used by one worker at a time) */
	struct as_entry *entries;
	struct sig_feed *feed; /* the agents, read every second */
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
	struct sig_feed_opts fo;
	int ret;

	*state = c;
	if (!c)
		return -ENOMEM;
	/*
	 * The process's one feed (the load balancer reads it too). Issuing the
	 * agents' certificate, it makes sure of its Secrets now (the agents
	 * wait for them to start) and every hour; rights missing end the
	 * controller, the verb logged by the feed.
	 */
	sig_feed_opts_controller(&fo, own_ns);
	pthread_mutex_init(&c->lock, NULL);
	ret = sig_feed_shared_get(client, &fo, &c->feed);
	if (ret) {
		memset(err, 0, sizeof(*err));
		err->code = ret;
		snprintf(err->msg, sizeof(err->msg), "the per-pod feed: %s", strerror(-ret));
		pthread_mutex_destroy(&c->lock);
		free(c);
		*state = NULL;
	}
	return ret;
}

static void as_ctl_teardown(void *state)
{
	struct as_ctl *c = state;

	if (!c)
		return;
	sig_feed_shared_put(c->feed);
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

/*
 * as_feed_fn over the agents' pages: the pod's points by its UID. The pages
 * carry whole pods, so a ContainerResource metric fails (FailedGet...Metric)
 * rather than read the pod's value as the container's.
 */
static int as_ctl_feed(void *arg, enum as_signal sig, const char *ns, const char *pod,
		       const char *uid, const char *container, const struct as_point **pts,
		       size_t *n)
{
	static _Thread_local struct as_point out[SIG_FEED_KEEP];
	const struct sig_point *sp;
	struct as_ctl *c = arg;
	size_t m = 0;
	int ret;

	(void)ns, (void)pod;
	*pts = out;
	*n = 0;
	if (container)
		return -EOPNOTSUPP;
	if (!uid)
		return -ENOENT;
	ret = sig_feed_points(c->feed, (enum sig_kind)sig, uid, &sp, &m);
	for (size_t i = 0; !ret && i < m; i++)
		out[i] = (struct as_point){.t = sp[i].t, .dt = sp[i].dt, .value = sp[i].value};
	*n = ret ? 0 : m;
	return ret;
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
