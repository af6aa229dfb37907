// SPDX-License-Identifier: MIT
/*
 * k8s/lease.c - leader election on a coordination.k8s.io/v1 Lease, as
 * client-go's leaderelection does it (tryAcquireOrRenew), and the Lease's
 * view.
 *
 * A candidate's clock decides when another holder's lease has run out: the
 * time this candidate last saw the record change, plus leaseDurationSeconds
 * (clocks of different machines are never compared). The leader's validity
 * is measured from when its last successful renewal was sent, so a leader
 * whose requests hang stops counting as leader on time even though its
 * thread is still waiting for an answer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s_int.h"

const struct k8s_resource k8s_leases =
	K8S_RESOURCE("coordination.k8s.io", "v1", "leases", "Lease", true);

int k8s_lease_view(const struct k8s_obj *o, struct k8s_lease_view *v)
{
	const char *t;
	int ret = k8s_meta_view(o, &v->meta);

	if (ret)
		return ret;
	v->holder = k8s_obj_str(o, "/spec/holderIdentity");
	v->duration_s = v->transitions = 0;
	k8s_obj_int(o, "/spec/leaseDurationSeconds", &v->duration_s);
	k8s_obj_int(o, "/spec/leaseTransitions", &v->transitions);
	v->acquire_ns = v->renew_ns = 0;
	if ((t = k8s_obj_str(o, "/spec/acquireTime")))
		k8s_time_parse(t, &v->acquire_ns);
	if ((t = k8s_obj_str(o, "/spec/renewTime")))
		k8s_time_parse(t, &v->renew_ns);
	return 0;
}

struct k8s_lease {
	struct k8s_client *c;
	struct k8s_lease_opts o;
	char *ns, *name, *id;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop;
	bool fenced;

	/* under lock: what k8s_lease_is_leader() reads */
	bool leading;
	uint64_t valid_until_ms;

	/* the lease thread's */
	char observed[512]; /* the record last seen: holder, times, transitions */
	uint64_t observed_ms;
	uint64_t expires_ms; /* another's lease runs out then, by our clock (0: not held) */
	char last_holder[256];
	bool started;
};

bool k8s_lease_is_leader(const struct k8s_lease *l)
{
	bool ok;

	if (!l)
		return false;
	pthread_mutex_lock((pthread_mutex_t *)&l->lock);
	ok = l->leading && kmono_ms() < l->valid_until_ms;
	pthread_mutex_unlock((pthread_mutex_t *)&l->lock);
	return ok;
}

bool klease_fence_ok(const void *lease)
{
	return k8s_lease_is_leader(lease);
}

void k8s_lease_fence(struct k8s_lease *l, struct k8s_client *c)
{
	kloop_set_fence(c->loop, klease_fence_ok, l);
	l->fenced = true;
}

/* ------------------------------------------------------------ requests */

/* one request of the lease: never fenced, bounded by @timeout_ms */
/*
 * The lease's requests bypass the write fence (the fence exists because of
 * this lease) and carry a deadline, so a renewal can never outlive the renew
 * deadline.
 */
static int lease_req(struct k8s_lease *l, const char *method, const char *verb, int ctx,
		     const char *name, const cJSON *body, unsigned int timeout_ms,
		     struct k8s_obj **out, struct k8s_err *err)
{
	struct kreq q = {0};
	char *json = NULL;
	int ret;

	kc_describe(&q, verb, &k8s_leases, l->ns, name, NULL);
	if (body) {
		json = cJSON_PrintUnformatted(body);
		if (!json)
			return kerr_set(err, -ENOMEM, -1, "", "out of memory");
		q.body = json;
		q.body_len = strlen(json);
		q.content_type = "application/json";
	}
	q.method = method;
	q.ctx = ctx;
	q.no_fence = true;
	q.timeout_ms = timeout_ms ? timeout_ms : 1;
	q.url = kc_url(l->c, &k8s_leases, l->ns, name, NULL, NULL, NULL);
	if (!q.url) {
		cJSON_free(json);
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	}
	ret = kc_do(l->c, &q, out, err);
	cJSON_free(json);
	return ret;
}

/*
 * Tell the owner about a request of the lease that failed for another
 * reason than a lost race (409: another candidate wrote first).
 */
static void report(struct k8s_lease *l, int ret, const struct k8s_err *err)
{
	if (ret == -EAGAIN || ret == -EEXIST)
		return;
	if (l->o.failed)
		l->o.failed(l->o.arg, err);
}

/* the spec this candidate writes */
static cJSON *record(struct k8s_lease *l, const char *holder, int64_t duration_s,
		     int64_t acquire_ns, int64_t renew_ns, int64_t transitions)
{
	char at[K8S_TIME_SIZE], rt[K8S_TIME_SIZE];
	cJSON *spec = cJSON_CreateObject();

	k8s_time_format(acquire_ns, true, at);
	k8s_time_format(renew_ns, true, rt);
	if (!spec || !cJSON_AddStringToObject(spec, "holderIdentity", holder) ||
	    !cJSON_AddNumberToObject(spec, "leaseDurationSeconds", (double)duration_s) ||
	    !cJSON_AddStringToObject(spec, "acquireTime", at) ||
	    !cJSON_AddStringToObject(spec, "renewTime", rt) ||
	    !cJSON_AddNumberToObject(spec, "leaseTransitions", (double)transitions)) {
		cJSON_Delete(spec);
		return NULL;
	}
	(void)l;
	return spec;
}

static void set_leading(struct k8s_lease *l, bool leading, uint64_t valid_until)
{
	pthread_mutex_lock(&l->lock);
	l->leading = leading;
	l->valid_until_ms = valid_until;
	pthread_mutex_unlock(&l->lock);
}

/*
 * One try: read the Lease; create it if missing; take it if free or run out
 * (by this candidate's clock); renew it if ours. True if this candidate
 * holds it now; *@sent is when the winning write was sent.
 */
static bool try_acquire_or_renew(struct k8s_lease *l, unsigned int timeout_ms, uint64_t *sent)
{
	int64_t dur_s = (l->o.lease_ms + 999) / 1000, now_ns = k8s_now_ns();
	struct k8s_obj *cur = NULL, *res = NULL;
	struct k8s_lease_view v;
	struct k8s_err err;
	uint64_t t0 = kmono_ms();
	char seen[512];
	cJSON *obj = NULL, *spec;
	bool mine, ok = false;
	int ret;

	ret = lease_req(l, "GET", "get", KCTX_READ, l->name, NULL, timeout_ms, &cur, &err);
	if (ret == -ENOENT) {
		obj = cJSON_CreateObject();
		spec = record(l, l->id, dur_s, now_ns, now_ns, 0);
		if (!obj || !spec ||
		    !cJSON_AddStringToObject(obj, "apiVersion", "coordination.k8s.io/v1") ||
		    !cJSON_AddStringToObject(obj, "kind", "Lease") ||
		    !cJSON_AddObjectToObject(obj, "metadata") ||
		    !cJSON_AddStringToObject(cJSON_GetObjectItem(obj, "metadata"), "name",
					     l->name) ||
		    !cJSON_AddItemToObject(obj, "spec", spec)) {
			cJSON_Delete(spec);
			goto out;
		}
		t0 = kmono_ms();
		ret = lease_req(l, "POST", "create", KCTX_CREATE, NULL, obj, timeout_ms, NULL,
				&err);
		ok = !ret;
		if (ret) {
			pr_debug("k8s: lease %s/%s: create: %s", l->ns, l->name, err.msg);
			report(l, ret, &err);
		}
		goto out;
	}
	if (ret) {
		pr_debug("k8s: lease %s/%s: %s", l->ns, l->name, err.msg);
		report(l, ret, &err);
		goto out;
	}
	if (k8s_lease_view(cur, &v))
		goto out;
	snprintf(seen, sizeof(seen), "%s|%s|%s|%lld|%lld", v.holder ? v.holder : "",
		 k8s_obj_str(cur, "/spec/acquireTime") ? k8s_obj_str(cur, "/spec/acquireTime") : "",
		 k8s_obj_str(cur, "/spec/renewTime") ? k8s_obj_str(cur, "/spec/renewTime") : "",
		 (long long)v.transitions, (long long)v.duration_s);
	if (strcmp(seen, l->observed)) {
		snprintf(l->observed, sizeof(l->observed), "%s", seen);
		l->observed_ms = kmono_ms();
	}
	mine = v.holder && !strcmp(v.holder, l->id);
	l->expires_ms = 0;
	if (v.holder && *v.holder && strcmp(l->last_holder, v.holder)) {
		snprintf(l->last_holder, sizeof(l->last_holder), "%s", v.holder);
		if (!mine && l->o.new_leader)
			l->o.new_leader(l->o.arg, v.holder);
	}
	if (!mine && v.holder && *v.holder) {
		uint64_t until =
			l->observed_ms + (uint64_t)(v.duration_s > 0 ? v.duration_s : dur_s) * 1000;

		if (kmono_ms() < until) {
			l->expires_ms = until;
			goto out; /* held by another, and not run out */
		}
	}
	obj = J(k8s_obj_dup(cur));
	spec = record(l, l->id, dur_s, mine && v.acquire_ns ? v.acquire_ns : now_ns, now_ns,
		      mine ? v.transitions : v.transitions + 1);
	if (!obj || !spec || !cJSON_ReplaceItemInObjectCaseSensitive(obj, "spec", spec)) {
		cJSON_Delete(spec);
		goto out;
	}
	t0 = kmono_ms();
	/* the resourceVersion read: a 409 means another candidate won */
	ret = lease_req(l, "PUT", "update", KCTX_UPDATE, l->name, obj, timeout_ms, &res, &err);
	if (ret) {
		pr_debug("k8s: lease %s/%s: update: %s", l->ns, l->name, err.msg);
		report(l, ret, &err);
		goto out;
	}
	snprintf(l->observed, sizeof(l->observed), "%s", "");
	l->observed_ms = kmono_ms();
	ok = true;
out:
	*sent = t0;
	k8s_obj_free(cur);
	k8s_obj_free(res);
	cJSON_Delete(obj);
	return ok;
}

/* wait @ms or until stopped; true if stopped */
static bool nap(struct k8s_lease *l, uint64_t ms)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	{
		uint64_t ns = (uint64_t)ts.tv_nsec + ms * 1000000ull;

		ts.tv_sec += (time_t)(ns / 1000000000ull);
		ts.tv_nsec = (long)(ns % 1000000000ull);
	}
	pthread_mutex_lock(&l->lock);
	while (!l->stop && pthread_cond_timedwait(&l->cond, &l->lock, &ts) == 0)
		;
	stop = l->stop;
	pthread_mutex_unlock(&l->lock);
	return stop;
}

/*
 * The next try of a candidate: a retry period with up to 20 % of jitter,
 * but no later than the moment another's lease runs out. client-go waits
 * up to 2.2 retry periods (JitterFactor 1.2) and only notices the end of a
 * lease at its next poll: a standby then sees a dead leader's last renewal
 * up to 4.4 s late and takes over up to 4.4 s after the lease ran out, 24 s
 * after a kill instead of the 15-19 s that leaseDuration + retryPeriod
 * promises. Polling every 2-2.4 s and waking at the expiry bounds it to
 * leaseDuration + 1.2 × retryPeriod after the last renewal.
 */
static uint64_t next_try(const struct k8s_lease *l)
{
	uint64_t wait = l->o.retry_ms + krand() % ((uint64_t)l->o.retry_ms / 5 + 1), now;

	now = kmono_ms();
	if (l->expires_ms > now && l->expires_ms - now < wait)
		wait = l->expires_ms - now;
	return wait;
}

static void stop_leading(struct k8s_lease *l, const char *why)
{
	set_leading(l, false, 0);
	if (l->started && l->o.stopped)
		l->o.stopped(l->o.arg, why);
	l->started = false;
}

/*
 * The candidate's thread: try to acquire every retry period (jittered by
 * 0.2, and at the moment another's lease runs out), then renew every retry
 * period; the first renewal that has not
 * succeeded within the renew deadline ends leadership for good. On stop,
 * a leader releases the Lease (holderIdentity "") so a standby need not
 * wait for it to run out.
 */
static void *lease_main(void *arg)
{
	struct k8s_lease *l = arg;
	uint64_t sent = 0, renewed = 0;
	char why[256];

	/* acquire */
	for (;;) {
		pthread_mutex_lock(&l->lock);
		if (l->stop) {
			pthread_mutex_unlock(&l->lock);
			return NULL;
		}
		pthread_mutex_unlock(&l->lock);
		if (try_acquire_or_renew(l, l->o.renew_ms, &sent))
			break;
		if (nap(l, next_try(l)))
			return NULL;
	}
	renewed = sent;
	set_leading(l, true, renewed + l->o.renew_ms);
	pr_info("k8s: lease %s/%s: %s leads", l->ns, l->name, l->id);
	l->started = true;
	if (l->o.started)
		l->o.started(l->o.arg);
	/* renew every retry period; no success within renew_ms: stop for good */
	for (;;) {
		uint64_t now, deadline;

		if (nap(l, l->o.retry_ms))
			break;
		now = kmono_ms();
		deadline = renewed + l->o.renew_ms;
		if (now < deadline &&
		    try_acquire_or_renew(l, (unsigned int)(deadline - now), &sent) &&
		    sent < deadline) {
			renewed = sent;
			set_leading(l, true, renewed + l->o.renew_ms);
			continue;
		}
		if (kmono_ms() >= deadline) {
			snprintf(
				why, sizeof(why),
				"lease %s/%s: %s could not renew within %u ms (the renew deadline): it stops leading",
				l->ns, l->name, l->id, l->o.renew_ms);
			pr_warn("k8s: %s", why);
			stop_leading(l, why);
			return NULL;
		}
	}
	/* stopped while leading: give the Lease up so a standby need not wait */
	if (k8s_lease_is_leader(l)) {
		struct k8s_obj *cur = NULL;
		struct k8s_err err;
		int64_t now_ns = k8s_now_ns();

		if (!lease_req(l, "GET", "get", KCTX_READ, l->name, NULL, l->o.retry_ms, &cur,
			       &err)) {
			struct k8s_lease_view v;

			if (!k8s_lease_view(cur, &v) && v.holder && !strcmp(v.holder, l->id)) {
				cJSON *obj = J(cur),
				      *spec = record(l, "", 1, now_ns, now_ns, v.transitions);

				if (spec &&
				    cJSON_ReplaceItemInObjectCaseSensitive(obj, "spec", spec))
					lease_req(l, "PUT", "update", KCTX_UPDATE, l->name, obj,
						  l->o.retry_ms, NULL, &err);
				else
					cJSON_Delete(spec);
			}
			k8s_obj_free(cur);
		}
	}
	stop_leading(l, "released: the process is stopping");
	return NULL;
}

int k8s_lease_start(struct k8s_client *c, const struct k8s_lease_opts *opts, struct k8s_lease **out,
		    struct k8s_err *err)
{
	struct k8s_lease *l;
	pthread_condattr_t ca;
	int ret;

	kerr_clear(err);
	*out = NULL;
	if (!opts || !opts->ns || !*opts->ns || !opts->name || !*opts->name || !opts->identity ||
	    !*opts->identity)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadLease",
				"a lease needs a namespace, a name and an identity");
	l = calloc(1, sizeof(*l));
	if (!l)
		return kerr_set(err, -ENOMEM, -1, "", "out of memory");
	memcpy(&l->o, opts, opts->sz && opts->sz < sizeof(l->o) ? opts->sz : sizeof(l->o));
	if (!l->o.lease_ms)
		l->o.lease_ms = 15000;
	if (!l->o.renew_ms)
		l->o.renew_ms = 10000;
	if (!l->o.retry_ms)
		l->o.retry_ms = 2000;
	/* client-go: leaseDuration > renewDeadline > JitterFactor (1.2) × retryPeriod */
	if (l->o.lease_ms <= l->o.renew_ms ||
	    (uint64_t)l->o.renew_ms * 10 <= (uint64_t)l->o.retry_ms * 12) {
		free(l);
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadLease",
			"lease %s/%s: the durations must satisfy lease (%u ms) > renew deadline (%u ms) > 1.2 × retry period (%u ms)",
			opts->ns, opts->name, opts->lease_ms ? opts->lease_ms : 15000,
			opts->renew_ms ? opts->renew_ms : 10000,
			opts->retry_ms ? opts->retry_ms : 2000);
	}
	l->c = c;
	l->ns = strdup(opts->ns);
	l->name = strdup(opts->name);
	l->id = strdup(opts->identity);
	if (!l->ns || !l->name || !l->id) {
		ret = -ENOMEM;
		goto out_free;
	}
	pthread_mutex_init(&l->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cond, &ca);
	pthread_condattr_destroy(&ca);
	ret = -pthread_create(&l->thread, NULL, lease_main, l);
	if (ret) {
		pthread_cond_destroy(&l->cond);
		pthread_mutex_destroy(&l->lock);
		goto out_free;
	}
	*out = l;
	return 0;
out_free:
	free(l->ns);
	free(l->name);
	free(l->id);
	free(l);
	return kerr_set(err, ret, -1, "", "lease: %s", strerror(-ret));
}

void k8s_lease_free(struct k8s_lease *l)
{
	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	l->stop = true;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->lock);
	pthread_join(l->thread, NULL);
	if (l->fenced)
		kloop_set_fence(l->c->loop, NULL, NULL);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->lock);
	free(l->ns);
	free(l->name);
	free(l->id);
	free(l);
}
