// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_statemap.c - a reconciler's state per key
 * (k8s/statemap.c) and k8s_err_set(): a key's state is made once, on its
 * first lookup, and is the same state at every later one; a dropped key's
 * state is freed, and its next lookup makes a fresh one; a constructor's
 * failure is returned and leaves nothing behind; the map frees what is
 * left; eight threads looking one key up at once get one state, made once;
 * threads making and dropping their own keys free all they made.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "k8s/k8s.h"
#include "t_helpers.h"

struct st {
	int magic; /* MAGIC while alive */
	int uses;
};
#define MAGIC 0x57a7e

static atomic_int made, freed, fail_next;

static int st_new(void **state)
{
	struct st *s;

	*state = NULL;
	if (atomic_exchange(&fail_next, 0))
		return -EIO;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->magic = MAGIC;
	atomic_fetch_add(&made, 1);
	*state = s;
	return 0;
}

static void st_free(void *state)
{
	struct st *s = state;

	T_ASSERT(s && s->magic == MAGIC, "a state freed twice, or one never made");
	s->magic = 0;
	atomic_fetch_add(&freed, 1);
	free(s);
}

static void test_lifecycle(void)
{
	struct k8s_statemap *m = (void *)1;
	void *a, *a2, *b, *a3;

	T_ASSERT_EQ(k8s_statemap_new(NULL, st_free, &m), -EINVAL);
	T_ASSERT(m == NULL);
	T_ASSERT_EQ(k8s_statemap_new(st_new, NULL, &m), -EINVAL);
	k8s_statemap_free(NULL);
	T_ASSERT(!k8s_statemap_new(st_new, st_free, &m));
	T_ASSERT_EQ(k8s_statemap_len(m), 0);

	T_ASSERT(!k8s_statemap_at(m, "ns/a", &a) && a);
	T_ASSERT_EQ(atomic_load(&made), 1);
	((struct st *)a)->uses = 7;
	T_ASSERT(!k8s_statemap_at(m, "ns/a", &a2));
	T_ASSERT(a2 == a && ((struct st *)a2)->uses == 7, "the same state at each lookup");
	T_ASSERT_EQ(atomic_load(&made), 1);
	T_ASSERT(!k8s_statemap_at(m, "ns/b", &b) && b && b != a, "one state per key");
	T_ASSERT_EQ(k8s_statemap_len(m), 2);

	/* the key is copied: a buffer reused by the caller changes nothing */
	{
		char key[8];

		snprintf(key, sizeof(key), "ns/c");
		T_ASSERT(!k8s_statemap_at(m, key, &a3));
		snprintf(key, sizeof(key), "ns/a");
		T_ASSERT(!k8s_statemap_at(m, "ns/c", &a2) && a2 == a3);
		T_ASSERT(!k8s_statemap_at(m, key, &a2) && a2 == a);
	}

	k8s_statemap_drop(m, "ns/a");
	T_ASSERT_EQ(atomic_load(&freed), 1);
	T_ASSERT_EQ(k8s_statemap_len(m), 2);
	k8s_statemap_drop(m, "ns/a"); /* gone already: nothing */
	k8s_statemap_drop(m, "ns/none");
	T_ASSERT_EQ(atomic_load(&freed), 1);
	T_ASSERT(!k8s_statemap_at(m, "ns/a", &a3) && a3);
	T_ASSERT_EQ(atomic_load(&made), 4);
	T_ASSERT_EQ(((struct st *)a3)->uses, 0); /* a fresh state, not the dropped one's */

	/* the constructor's failure: returned, nothing kept */
	atomic_store(&fail_next, 1);
	T_ASSERT_EQ(k8s_statemap_at(m, "ns/d", &a2), -EIO);
	T_ASSERT(a2 == NULL);
	T_ASSERT_EQ(k8s_statemap_len(m), 3);
	T_ASSERT(!k8s_statemap_at(m, "ns/d", &a2) && a2);
	T_ASSERT_EQ(k8s_statemap_len(m), 4);

	k8s_statemap_free(m); /* a, b, c, d */
	T_ASSERT_EQ(atomic_load(&made), 5);
	T_ASSERT_EQ(atomic_load(&freed), 5);
}

#define NTHREADS 8
#define ROUNDS	 2000 /* per thread, over its 5 keys; every third drops its key */

static struct k8s_statemap *shared;
static pthread_barrier_t start;
static void *seen[NTHREADS];

static void *one_key(void *arg)
{
	long i = (long)arg;

	pthread_barrier_wait(&start);
	if (k8s_statemap_at(shared, "ns/shared", &seen[i]))
		seen[i] = NULL;
	return NULL;
}

static void *own_keys(void *arg)
{
	long i = (long)arg;
	char key[32];

	pthread_barrier_wait(&start);
	for (int round = 0; round < ROUNDS; round++) {
		void *s = NULL;

		snprintf(key, sizeof(key), "ns%ld/k%d", i, round % 5);
		if (k8s_statemap_at(shared, key, &s) || !s)
			return (void *)1;
		((struct st *)s)->uses++;
		if (round % 3 == 0)
			k8s_statemap_drop(shared, key);
	}
	return NULL;
}

static void test_threads(void)
{
	pthread_t th[NTHREADS];
	void *rv;

	atomic_store(&made, 0);
	atomic_store(&freed, 0);
	T_ASSERT(!k8s_statemap_new(st_new, st_free, &shared));
	T_ASSERT(!pthread_barrier_init(&start, NULL, NTHREADS));
	for (long i = 0; i < NTHREADS; i++)
		T_ASSERT(!pthread_create(&th[i], NULL, one_key, (void *)i));
	for (int i = 0; i < NTHREADS; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NTHREADS; i++)
		T_ASSERT(seen[i] && seen[i] == seen[0], "thread %d: another state", i);
	T_ASSERT_EQ(atomic_load(&made), 1);

	for (long i = 0; i < NTHREADS; i++)
		T_ASSERT(!pthread_create(&th[i], NULL, own_keys, (void *)i));
	for (int i = 0; i < NTHREADS; i++) {
		pthread_join(th[i], &rv);
		T_ASSERT(rv == NULL, "thread %d: a lookup failed", i);
	}
	/* each thread's keys whose last round did not drop them, and the shared one */
	{
		size_t left = 1;

		for (int k = 0; k < 5; k++)
			left += (ROUNDS - 5 + k) % 3 ? NTHREADS : 0;
		T_ASSERT_EQ(k8s_statemap_len(shared), left);
	}
	k8s_statemap_free(shared);
	T_ASSERT_EQ(atomic_load(&freed), atomic_load(&made));
	pthread_barrier_destroy(&start);
}

static void test_err_set(void)
{
	struct k8s_err err;

	memset(&err, 0x5a, sizeof(err));
	T_ASSERT_EQ(k8s_err_set(&err, -ENOENT, "ServiceNotFound", "service %s/%s not found", "ns",
				"web"),
		    -ENOENT);
	T_ASSERT_EQ(err.code, -ENOENT);
	T_ASSERT_EQ(err.http, 0);
	T_ASSERT_EQ(err.exit, 0);
	T_ASSERT(!strcmp(err.reason, "ServiceNotFound"));
	T_ASSERT(!strcmp(err.msg, "service ns/web not found"), "%s", err.msg);
	T_ASSERT_EQ(k8s_err_set(&err, -ENOMEM, NULL, "out of memory"), -ENOMEM);
	T_ASSERT(!strcmp(err.reason, "") && !strcmp(err.msg, "out of memory"));
	/* a message longer than the field: cut, terminated */
	{
		char big[600];

		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		k8s_err_set(&err, -EIO, "R", "%s", big);
		T_ASSERT_EQ(strlen(err.msg), sizeof(err.msg) - 1);
	}
}

int main(void)
{
	test_lifecycle();
	test_threads();
	test_err_set();
	printf("t_k8s_statemap: ok\n");
	return 0;
}
