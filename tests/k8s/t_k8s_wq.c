// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_wq.c - the work queue (k8s/workqueue.c) against
 * client-go's semantics: a key is queued once however often it is added; a
 * key added while a worker holds it comes back only when that worker is
 * done; four workers never hold one key at once; the per-key backoff is
 * base · 2^failures up to the cap and forget() resets it; the token bucket
 * makes the burst's next add wait 1/qps; add_after's earlier time wins;
 * shutdown drains. Times are lower bounds from the rules, never upper ones.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "k8s/k8s_int.h"
#include "t_helpers.h"

static void test_dedup(void)
{
	struct k8s_wq *wq;
	const char *k1, *k2, *k3;

	T_ASSERT(!k8s_wq_new(NULL, &wq));
	T_ASSERT(!k8s_wq_add(wq, "ns/a"));
	T_ASSERT(!k8s_wq_add(wq, "ns/a"));
	T_ASSERT(!k8s_wq_add(wq, "ns/b"));
	T_ASSERT_EQ(k8s_wq_len(wq), 2);
	T_ASSERT(!k8s_wq_get(wq, &k1, 0) && !strcmp(k1, "ns/a"), "FIFO");
	/* added while held: not queued now */
	T_ASSERT(!k8s_wq_add(wq, "ns/a"));
	T_ASSERT_EQ(k8s_wq_len(wq), 1);
	T_ASSERT(!k8s_wq_get(wq, &k2, 0) && !strcmp(k2, "ns/b"));
	T_ASSERT_EQ(k8s_wq_get(wq, &k3, 0), -ETIMEDOUT);
	k8s_wq_done(wq, k1); /* now it comes back */
	T_ASSERT_EQ(k8s_wq_len(wq), 1);
	T_ASSERT(!k8s_wq_get(wq, &k3, 0) && !strcmp(k3, "ns/a"));
	k8s_wq_done(wq, k2);
	k8s_wq_done(wq, k3);
	T_ASSERT_EQ(k8s_wq_len(wq), 0);
	k8s_wq_free(wq);
}

static void test_backoff(void)
{
	struct k8s_wq_opts o = {.sz = sizeof(o), .base_delay_ms = 200, .qps = 1000, .burst = 1000};
	struct k8s_wq *wq;
	const char *k;
	uint64_t t0;

	/* client-go ItemExponentialFailureRateLimiter(5ms, 1000s) */
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 0), 5);
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 1), 10);
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 10), 5120);
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 17), 655360);
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 18), 1000000);
	T_ASSERT_EQ(k8s_wq_backoff_ms(5, 1000000, 500), 1000000);

	T_ASSERT(!k8s_wq_new(&o, &wq));
	t0 = kmono_ms();
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "k"));
	T_ASSERT_EQ(k8s_wq_requeues(wq, "k"), 1);
	T_ASSERT_EQ(k8s_wq_get(wq, &k, 50), -ETIMEDOUT);
	T_ASSERT(!k8s_wq_get(wq, &k, 5000));
	T_ASSERT(kmono_ms() - t0 >= 200, "waited %llu ms", (unsigned long long)(kmono_ms() - t0));
	k8s_wq_done(wq, k);
	t0 = kmono_ms();
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "k"));
	T_ASSERT(!k8s_wq_get(wq, &k, 5000));
	T_ASSERT(kmono_ms() - t0 >= 400, "the second failure waits 2 × base");
	k8s_wq_done(wq, k);
	T_ASSERT_EQ(k8s_wq_requeues(wq, "k"), 2);
	k8s_wq_forget(wq, "k");
	T_ASSERT_EQ(k8s_wq_requeues(wq, "k"), 0);
	t0 = kmono_ms();
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "k"));
	T_ASSERT(!k8s_wq_get(wq, &k, 5000));
	T_ASSERT(kmono_ms() - t0 >= 200 && kmono_ms() - t0 < 400 + 5000, "back to base");
	k8s_wq_done(wq, k);
	k8s_wq_free(wq);
}

static void test_bucket(void)
{
	struct k8s_wq_opts o = {.sz = sizeof(o), .base_delay_ms = 1, .qps = 10, .burst = 2};
	struct k8s_wq *wq;
	const char *k;
	uint64_t t0;

	T_ASSERT(!k8s_wq_new(&o, &wq));
	t0 = kmono_ms();
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "a"));
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "b"));
	T_ASSERT(!k8s_wq_add_rate_limited(wq, "c")); /* the burst is spent: 1/qps */
	for (int i = 0; i < 3; i++) {
		T_ASSERT(!k8s_wq_get(wq, &k, 5000));
		if (!strcmp(k, "c"))
			T_ASSERT(kmono_ms() - t0 >= 95, "c waited %llu ms",
				 (unsigned long long)(kmono_ms() - t0));
		k8s_wq_done(wq, k);
	}
	k8s_wq_free(wq);
}

static void test_after_and_shutdown(void)
{
	struct k8s_wq *wq;
	const char *k;
	uint64_t t0;

	T_ASSERT(!k8s_wq_new(NULL, &wq));
	t0 = kmono_ms();
	T_ASSERT(!k8s_wq_add_after(wq, "x", 60000));
	T_ASSERT(!k8s_wq_add_after(wq, "x", 100)); /* the earlier time wins */
	T_ASSERT_EQ(k8s_wq_len(wq), 0);
	T_ASSERT(!k8s_wq_get(wq, &k, 10000) && !strcmp(k, "x"));
	T_ASSERT(kmono_ms() - t0 >= 100);
	k8s_wq_done(wq, k);
	T_ASSERT(!k8s_wq_add(wq, "y"));
	T_ASSERT(!k8s_wq_add_after(wq, "z", 60000));
	k8s_wq_shutdown(wq);
	T_ASSERT_EQ(k8s_wq_add(wq, "w"), -ESHUTDOWN);
	T_ASSERT(!k8s_wq_get(wq, &k, -1) && !strcmp(k, "y"), "what is queued still comes");
	k8s_wq_done(wq, k);
	T_ASSERT_EQ(k8s_wq_get(wq, &k, -1), -ESHUTDOWN);
	k8s_wq_free(wq);
}

/* ---- four workers, one key never held twice */

#define NKEYS 16

static struct k8s_wq *cwq;
static atomic_int held[NKEYS], readded[NKEYS];
static atomic_int handled, doubled;

static void *worker(void *arg)
{
	const char *k;

	(void)arg;
	while (!k8s_wq_get(cwq, &k, -1)) {
		int i = atoi(k + 1);

		if (atomic_fetch_add(&held[i], 1) != 0)
			atomic_fetch_add(&doubled, 1);
		/* odd keys add themselves again while held, 200 times each */
		if (i % 2 && atomic_fetch_add(&readded[i], 1) < 200)
			k8s_wq_add(cwq, k);
		for (volatile int s = 0; s < 2000; s++)
			;
		atomic_fetch_sub(&held[i], 1);
		atomic_fetch_add(&handled, 1);
		k8s_wq_done(cwq, k);
	}
	return NULL;
}

static void test_workers(void)
{
	pthread_t th[4];
	char key[16];

	T_ASSERT(!k8s_wq_new(NULL, &cwq));
	for (int i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker, NULL);
	for (int n = 0; n < 20000; n++) {
		snprintf(key, sizeof(key), "k%d", n % NKEYS);
		k8s_wq_add(cwq, key);
	}
	/* each key handled at least once after its last add, then stop */
	for (;;) {
		struct timespec ts = {0, 10000000};
		bool busy = k8s_wq_len(cwq) > 0;

		for (int i = 0; i < NKEYS; i++)
			busy |= atomic_load(&held[i]) > 0 ||
				(i % 2 && atomic_load(&readded[i]) < 200);
		if (!busy)
			break;
		nanosleep(&ts, NULL);
	}
	k8s_wq_shutdown(cwq);
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	T_ASSERT_EQ(atomic_load(&doubled), 0);
	T_ASSERT(atomic_load(&handled) >= NKEYS, "%d", atomic_load(&handled));
	k8s_wq_free(cwq);
}

int main(void)
{
	test_dedup();
	test_backoff();
	test_bucket();
	test_after_and_shutdown();
	test_workers();
	printf("t_k8s_wq: ok\n");
	return 0;
}
