// SPDX-License-Identifier: MIT
/*
 * control/signals/shared.c - the process's one feed (signals.h,
 * sig_feed_shared_get/put): the capabilities of the controller that read the
 * agents (the autoscaler, the load balancer) share one sig_feed, so each
 * agent is read once a second and its Secrets are checked by one feed,
 * whatever the number of readers. A count of references under one mutex;
 * the feed starts with the first reference and stops with the last.
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "signals.h"
#include "k8s/k8s.h"

static pthread_mutex_t shared_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sig_feed *shared_feed;	 /* under shared_lock */
static struct k8s_client *shared_client; /* the client it reads with */
static unsigned int shared_refs;

void sig_feed_opts_controller(struct sig_feed_opts *o, const char *own_ns)
{
	const char *own_ca = getenv("FERRY_AGENT_CA_FILE");

	memset(o, 0, sizeof(*o));
	o->sz = sizeof(*o);
	o->agent_ns = own_ns;
	/* the agents' certificate, unless the CA is one's own (sig_feed_opts.issue) */
	o->issue = !own_ca || !*own_ca;
}

int sig_feed_shared_get(struct k8s_client *c, const struct sig_feed_opts *o, struct sig_feed **out)
{
	int ret = 0;

	*out = NULL;
	pthread_mutex_lock(&shared_lock);
	if (shared_refs && shared_client != c) {
		ret = -EBUSY;
	} else if (!shared_refs) {
		ret = sig_feed_new(c, o, &shared_feed);
		if (!ret)
			shared_client = c;
	}
	if (!ret) {
		shared_refs++;
		*out = shared_feed;
	}
	pthread_mutex_unlock(&shared_lock);
	return ret;
}

void sig_feed_shared_put(struct sig_feed *f)
{
	struct sig_feed *stop = NULL;

	if (!f)
		return;
	pthread_mutex_lock(&shared_lock);
	/* the shared feed, put no more often than it was got */
	assert(f == shared_feed && shared_refs);
	if (f != shared_feed || !shared_refs) {
		pthread_mutex_unlock(&shared_lock);
		return;
	}
	if (!--shared_refs) {
		stop = shared_feed;
		shared_feed = NULL;
		shared_client = NULL;
	}
	pthread_mutex_unlock(&shared_lock);
	/* outside the lock: its thread's last poll may take a read's deadline */
	sig_feed_free(stop);
}

unsigned int sig_feed_shared_refs(void)
{
	unsigned int n;

	pthread_mutex_lock(&shared_lock);
	n = shared_refs;
	pthread_mutex_unlock(&shared_lock);
	return n;
}

int sig_feed_controller_get(struct k8s_client *c, const char *own_ns, struct sig_feed **out,
			    struct k8s_err *err)
{
	struct sig_feed_opts fo;
	int ret;

	sig_feed_opts_controller(&fo, own_ns);
	ret = sig_feed_shared_get(c, &fo, out);
	if (ret)
		k8s_err_set(err, ret, "", "the per-pod feed: %s", strerror(-ret));
	return ret;
}
