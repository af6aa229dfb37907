// SPDX-License-Identifier: MIT
/*
 * tests/signals/t_signals_shared.c - the process's one feed
 * (sig_feed_shared_get/put, control/signals/shared.c): two readers (as the
 * autoscaler and the load balancer take it) get the same feed, which reads
 * the agent once per period, not once per reader, and both see its points;
 * it stops with the last reference and a later get starts a new one; a get
 * with another client while it runs is refused (-EBUSY); eight threads
 * getting and putting at once leave no reference and no feed behind. The
 * agent is control/httpd serving a page on 127.0.0.1 (plain HTTP: the TLS
 * path is t_signals_tls's).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "control/httpd/httpd.h"
#include "control/signals/signals.h"
#include "k8s/k8s.h"
#include "t_helpers.h"

static atomic_int requests;

static unsigned int page(void *arg, FILE *f)
{
	static const char pods[] = "[{\"namespace\":\"web\",\"name\":\"web-1\",\"uid\":\"u-1\","
				   "\"v\":[250,null,null,4,null,null,null,null]}]";
	static _Atomic uint64_t seq;
	struct sig_page pg = {.node = "node-1", .interval_ms = 1000, .age_ms = 10};

	(void)arg;
	atomic_fetch_add(&requests, 1);
	pg.seq = atomic_fetch_add(&seq, 1) + 1;
	return sig_page_write(f, &pg, pods, strlen(pods)) ? 500 : 200;
}

static const struct ctl_httpd_page pages[] = {
	{SIG_PATH, page, "application/json", NULL},
};

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static char url[128];

static struct sig_feed_opts opts(void)
{
	static const char *urls[1];

	urls[0] = url;
	return (struct sig_feed_opts){.sz = sizeof(struct sig_feed_opts),
				      .token_file = "/nonexistent/token",
				      .period_ms = 200,
				      .urls = urls,
				      .nurls = 1};
}

/* a client of its own (a self-contained kubeconfig in memory; it touches no network) */
static struct k8s_client *client(void)
{
	static const char kc[] =
		"apiVersion: v1\nkind: Config\ncurrent-context: c\n"
		"clusters:\n- name: a\n  cluster: {server: 'https://127.0.0.1:1'}\n"
		"users:\n- name: u\n  user: {token: t}\n"
		"contexts:\n- name: c\n  context: {cluster: a, user: u}\n";
	struct k8s_config_opts co = {
		.sz = sizeof(co), .data = kc, .data_len = sizeof(kc) - 1, .data_name = "test"};
	struct k8s_client *c = NULL;
	struct k8s_err err;
	int ret = k8s_client_open(&co, NULL, &c, &err);

	T_ASSERT(!ret, "k8s_client_open: %s", err.msg);
	return c;
}

static void *churn(void *arg)
{
	struct sig_feed_opts o = opts();

	(void)arg;
	for (int i = 0; i < 50; i++) {
		struct sig_feed *f;
		int ret = sig_feed_shared_get(NULL, &o, &f);

		T_ASSERT(!ret && f, "get in a thread: %s", strerror(-ret));
		T_ASSERT(sig_feed_shared_refs() >= 1, "held");
		sig_feed_shared_put(f);
	}
	return NULL;
}

int main(void)
{
	struct ctl_httpd_opts ho = {
		.sz = sizeof(ho), .addr = "127.0.0.1:0", .pages = pages, .npages = 1};
	struct sig_feed_opts o;
	struct sig_feed *a = NULL, *b = NULL, *c2 = NULL;
	struct k8s_client *other;
	const struct sig_point *pts;
	struct ctl_httpd *h;
	pthread_t th[8];
	size_t n;
	int ret, before, reads;

	ret = ctl_httpd_start(&ho, &h);
	T_ASSERT(!ret, "ctl_httpd_start: %s", strerror(-ret));
	snprintf(url, sizeof(url), "http://127.0.0.1:%u" SIG_PATH, ctl_httpd_port(h));
	o = opts();

	T_ASSERT_EQ(sig_feed_shared_refs(), 0u);
	T_ASSERT(!sig_feed_shared_get(NULL, &o, &a), "first get");
	T_ASSERT(!sig_feed_shared_get(NULL, &o, &b), "second get");
	T_ASSERT(a && a == b, "both readers get the one feed (%p, %p)", (void *)a, (void *)b);
	T_ASSERT_EQ(sig_feed_shared_refs(), 2u);

	/* one read per period for both readers: 2 s at 200 ms is about 10, never 20 */
	sleep_ms(300);
	before = atomic_load(&requests);
	sleep_ms(2000);
	reads = atomic_load(&requests) - before;
	T_ASSERT(reads >= 6 && reads <= 12, "%d reads of the agent in 2 s at a 200 ms period",
		 reads);
	T_ASSERT(!sig_feed_points(a, SIG_CPU, "u-1", &pts, &n) && n && pts[n - 1].value == 250,
		 "reader one sees the CPU");
	T_ASSERT(!sig_feed_points(b, SIG_RUNQ_P99, "u-1", &pts, &n) && n && pts[n - 1].value == 4,
		 "reader two sees the run-queue wait");

	/* another client while it runs: refused, nothing held */
	other = client();
	T_ASSERT(sig_feed_shared_get(other, &o, &c2) == -EBUSY && !c2, "another client: -EBUSY");
	T_ASSERT_EQ(sig_feed_shared_refs(), 2u);

	sig_feed_shared_put(a);
	T_ASSERT_EQ(sig_feed_shared_refs(), 1u);
	before = atomic_load(&requests);
	sleep_ms(600);
	T_ASSERT(atomic_load(&requests) > before, "still read with one reference left");
	sig_feed_shared_put(b);
	T_ASSERT_EQ(sig_feed_shared_refs(), 0u);
	sleep_ms(300); /* a read in flight at the put has ended */
	before = atomic_load(&requests);
	sleep_ms(600);
	T_ASSERT_EQ(atomic_load(&requests), before); /* the last put stopped it */
	sig_feed_shared_put(NULL);

	/* a later get starts a new one, with that get's client */
	T_ASSERT(!sig_feed_shared_get(other, &o, &c2) && c2, "a new feed after the last put");
	T_ASSERT(sig_feed_shared_get(NULL, &o, &a) == -EBUSY, "now NULL is the other client");
	sig_feed_shared_put(c2);

	for (int i = 0; i < 8; i++)
		T_ASSERT(!pthread_create(&th[i], NULL, churn, NULL), "thread");
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	T_ASSERT_EQ(sig_feed_shared_refs(), 0u);

	k8s_client_free(other);
	ctl_httpd_stop(h);
	printf("t_signals_shared: one feed for two readers (%d reads in 2 s), refcount, -EBUSY, 8 threads ok\n",
	       reads);
	return T_EXIT_PASS;
}
