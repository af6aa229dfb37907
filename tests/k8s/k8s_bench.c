// SPDX-License-Identifier: MIT
/*
 * tests/k8s/k8s_bench.c - throughput of the k8s/ client, for
 * bench/k8s-client.sh (not a test: it prints figures and never fails on
 * them).
 *
 *   k8s_bench KUBECONFIG NS setup COUNT          COUNT ConfigMaps bench-0.. (parallel)
 *   k8s_bench KUBECONFIG NS get|list|create|patch N THREADS
 *   k8s_bench KUBECONFIG NS watch N THREADS      N creates, timed until an informer has them
 *   k8s_bench KUBECONFIG NS mem[-managed]         an informer over NS: memory per object
 *                                                 (managedFields dropped, or kept)
 *
 * One client (no client-side rate limit) shared by THREADS threads making
 * blocking calls, as reconcilers do. Prints one line: "op=... n=... s=...
 * rps=..." (or "objects=... rss_bytes=... per_object=...").
 */
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "k8s/k8s.h"

static struct k8s_client *c;
static const char *ns, *op;
static int per_thread;
static atomic_int failures, seq;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct k8s_obj *cm(const char *name, bool generate)
{
	struct k8s_obj *o;

	k8s_obj_new_kind(&k8s_configmaps, ns, generate ? NULL : name, &o);
	if (generate)
		k8s_obj_set_str(o, "/metadata/generateName", "gen-");
	k8s_obj_set_label(o, "app", "bench");
	k8s_obj_set_label(o, "app.kubernetes.io/part-of", "ferry-bench");
	/* a few hundred bytes, as a small real object */
	k8s_obj_set_str(o, "/data/config.yaml",
			"listen: 0.0.0.0:8080\nlog-level: info\nupstreams:\n  - http://a.svc:80\n"
			"  - http://b.svc:80\ntimeouts: {connect: 2s, read: 30s}\n");
	k8s_obj_set_str(o, "/data/owner", "team-storage");
	return o;
}

static void *worker(void *arg)
{
	struct k8s_call list_call = {.limit = 500};
	struct k8s_err err;

	(void)arg;
	for (int i = 0; i < per_thread; i++) {
		struct k8s_obj *o = NULL, *p;
		struct k8s_items *l;
		int ret = 0;

		if (!strcmp(op, "get")) {
			ret = k8s_get(c, &k8s_configmaps, ns, "bench-0", NULL, &o, &err);
		} else if (!strcmp(op, "list")) {
			ret = k8s_list(c, &k8s_configmaps, ns, &list_call, &l, &err);
			if (!ret)
				k8s_items_free(l);
		} else if (!strcmp(op, "create") || !strcmp(op, "watch")) {
			p = cm(NULL, true);
			ret = k8s_create(c, &k8s_configmaps, ns, p, NULL, NULL, &err);
			k8s_obj_free(p);
		} else if (!strcmp(op, "setup")) {
			char name[32];

			snprintf(name, sizeof(name), "bench-%d", atomic_fetch_add(&seq, 1));
			p = cm(name, false);
			ret = k8s_create(c, &k8s_configmaps, ns, p, NULL, NULL, &err);
			k8s_obj_free(p);
		} else if (!strcmp(op, "patch")) {
			char v[16];

			snprintf(v, sizeof(v), "%d", atomic_fetch_add(&seq, 1));
			k8s_obj_new(&p);
			k8s_obj_set_str(p, "/data/n", v);
			ret = k8s_patch(c, &k8s_configmaps, ns, "bench-0", K8S_PATCH_MERGE, p, NULL,
					NULL, &err);
			k8s_obj_free(p);
		}
		if (ret) {
			if (atomic_fetch_add(&failures, 1) < 3)
				fprintf(stderr, "k8s_bench: %s\n", err.msg);
		}
		k8s_obj_free(o);
	}
	return NULL;
}

static long rss_bytes(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
			rss = 0;
		fclose(f);
	}
	return rss * sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
	struct k8s_client_opts o = {.sz = sizeof(o), .qps = -1, .max_inflight = 64};
	struct k8s_config_opts co = {.sz = sizeof(co)};
	struct k8s_informer *inf = NULL;
	struct k8s_err err;
	pthread_t th[64];
	int n = 0, threads = 1;
	double t0, t1;

	if (argc < 4) {
		fprintf(stderr, "usage: k8s_bench KUBECONFIG NS OP [N [THREADS]]\n");
		return 2;
	}
	co.kubeconfig = argv[1];
	ns = argv[2];
	op = argv[3];
	if (argc > 4)
		n = atoi(argv[4]);
	if (argc > 5)
		threads = atoi(argv[5]);
	if (threads < 1 || threads > 64)
		threads = 1;
	if (!strcmp(op, "mem") || !strcmp(op, "mem-managed")) {
		struct k8s_informer_opts io = {.sz = sizeof(io),
					       .ns = ns,
					       .keep_managed_fields = !strcmp(op, "mem-managed")};
		long before;
		size_t len, heap0;

		/* the client and its thread exist before the first measure */
		if (k8s_client_open(&co, &o, &c, &err)) {
			fprintf(stderr, "k8s_bench: %s\n", err.msg);
			return 1;
		}
		before = rss_bytes();
		heap0 = mallinfo2().uordblks;
		t0 = now_s();
		if (k8s_informer_new(c, &k8s_configmaps, &io, &inf, &err) ||
		    k8s_informer_wait_synced(inf, 600000)) {
			fprintf(stderr, "k8s_bench: informer: %s\n", err.msg);
			return 1;
		}
		t1 = now_s();
		len = k8s_informer_len(inf);
		/* the heap in use is the cache; RSS also keeps the list's transient peak */
		printf("objects=%zu heap_per_object=%.0f rss_per_object=%.0f sync_s=%.2f\n", len,
		       len ? (double)(mallinfo2().uordblks - heap0) / (double)len : 0.0,
		       len ? (double)(rss_bytes() - before) / (double)len : 0.0, t1 - t0);
		k8s_informer_free(inf);
		k8s_client_free(c);
		return 0;
	}
	if (k8s_client_open(&co, &o, &c, &err)) {
		fprintf(stderr, "k8s_bench: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(op, "watch")) {
		struct k8s_informer_opts io = {.sz = sizeof(io), .ns = ns};

		if (k8s_informer_new(c, &k8s_configmaps, &io, &inf, &err) ||
		    k8s_informer_wait_synced(inf, 60000)) {
			fprintf(stderr, "k8s_bench: informer: %s\n", err.msg);
			return 1;
		}
	}
	per_thread = n / threads;
	{
		size_t base = inf ? k8s_informer_len(inf) : 0;

		t0 = now_s();
		for (int i = 0; i < threads; i++)
			pthread_create(&th[i], NULL, worker, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(th[i], NULL);
		if (inf) {
			/* until the informer has seen every create */
			size_t want =
				base + (size_t)(per_thread * threads - atomic_load(&failures));

			while (k8s_informer_len(inf) < want && now_s() - t0 < 600) {
				struct timespec ts = {0, 1000000};

				nanosleep(&ts, NULL);
			}
		}
		t1 = now_s();
	}
	{
		struct k8s_client_stats st;

		k8s_client_stats(c, &st);
		printf("op=%s n=%d threads=%d s=%.3f rps=%.0f failures=%d http2=%llu connections=%llu\n",
		       op, per_thread * threads, threads, t1 - t0,
		       (double)(per_thread * threads) / (t1 - t0), atomic_load(&failures),
		       (unsigned long long)st.http2, (unsigned long long)st.connections);
	}
	k8s_informer_free(inf);
	k8s_client_free(c);
	return atomic_load(&failures) ? 1 : 0;
}
