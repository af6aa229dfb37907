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

struct as_ctl {
	struct k8s_statemap *states; /* each ScalePolicy's struct as_state, by its key */
	struct sig_feed *feed;	     /* the agents, read every second */
};

/* k8s_state_new_fn, k8s_state_free_fn of the states */
static int state_new(void **state)
{
	struct as_state *st = NULL;
	int ret = as_state_new(&st);

	*state = st;
	return ret;
}

static void state_free(void *state)
{
	as_state_free(state);
}

static int as_ctl_setup(struct k8s_client *client, const char *own_ns, void **state,
			struct k8s_err *err)
{
	struct as_ctl *c = calloc(1, sizeof(*c));
	int ret;

	*state = NULL;
	if (!c)
		return -ENOMEM;
	ret = k8s_statemap_new(state_new, state_free, &c->states);
	if (ret)
		goto out_free;
	/*
	 * The process's one feed (the load balancer reads it too). Issuing the
	 * agents' certificate, it makes sure of its Secrets now (the agents
	 * wait for them to start) and every hour; rights missing end the
	 * controller, the verb logged by the feed.
	 */
	ret = sig_feed_controller_get(client, own_ns, &c->feed, err);
	if (ret)
		goto out_free_states;
	*state = c;
	return 0;
out_free_states:
	k8s_statemap_free(c->states);
out_free:
	free(c);
	return ret;
}

static void as_ctl_teardown(void *state)
{
	struct as_ctl *c = state;

	if (!c)
		return;
	sig_feed_shared_put(c->feed);
	k8s_statemap_free(c->states);
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
	void *st = NULL;
	int ret;

	assert(c);
	if (!req->obj) { /* deleted: forget it */
		k8s_statemap_drop(c->states, req->key);
		return 0;
	}
	ret = k8s_statemap_at(c->states, req->key, &st);
	out = malloc(sizeof(*out));
	if (ret || !out) {
		free(out);
		return k8s_err_set(err, -ENOMEM, "", "scalepolicy %s: out of memory", req->key);
	}
	struct as_env env = {.sz = sizeof(env),
			     .client = req->client,
			     .field_manager = AS_FIELD_MANAGER,
			     .feed = as_ctl_feed,
			     .feed_arg = c,
			     .controller = "ferry.io/controller",
			     .instance = req->identity};
	ret = as_reconcile(&env, req->obj, st, out, err);
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
