// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_faults.c - the client under the box's fault hooks (a box
 * of its own: tests/k8s/t_k8s_run.sh box): 429 with Retry-After and 503 are
 * retried; a server that answers late meets the call's deadline; an informer
 * whose watch is cut goes on from the last resourceVersion without listing
 * again; history compacted while it was away costs exactly one relist; the
 * box restarted under it (state kept) and it carries on; in-cluster
 * configuration (a service-account token file, the CA, KUBERNETES_SERVICE_*)
 * against the box.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "k8s/k8s_int.h"
#include "k8st.h"
#include "t_helpers.h"

static struct k8s_client *c;
static char *ns;

static void test_status_faults(void)
{
	struct k8s_client_stats st0, st1;
	struct k8s_items *l;
	struct k8s_obj *o;
	struct k8s_call call = {.timeout_ms = 1000};
	struct k8s_err err;
	char rule[512];
	uint64_t t0;

	/* 429 with Retry-After: 1 */
	snprintf(rule, sizeof(rule),
		 "{\"verb\":\"list\",\"pathRegex\":\"/namespaces/%s/configmaps\",\"count\":1,"
		 "\"action\":\"status\",\"code\":429,\"retryAfter\":1}",
		 ns);
	k8st_fault(c, rule);
	k8s_client_stats(c, &st0);
	t0 = kmono_ms();
	T_ASSERT(!k8s_list(c, &k8s_configmaps, ns, NULL, &l, &err), "%s", err.msg);
	T_ASSERT(kmono_ms() - t0 >= 1000, "Retry-After honoured (%llu ms)",
		 (unsigned long long)(kmono_ms() - t0));
	k8s_items_free(l);
	k8s_client_stats(c, &st1);
	T_ASSERT_EQ(st1.retries - st0.retries, 1);
	/* 503 twice */
	snprintf(rule, sizeof(rule),
		 "{\"verb\":\"get\",\"pathRegex\":\"/namespaces/%s/configmaps/kube-root-ca.crt\","
		 "\"count\":2,\"action\":\"status\",\"code\":503}",
		 ns);
	k8st_fault(c, rule);
	T_ASSERT(!k8s_get(c, &k8s_configmaps, ns, "kube-root-ca.crt", NULL, &o, &err), "%s",
		 err.msg);
	k8s_obj_free(o);
	k8s_client_stats(c, &st0);
	T_ASSERT_EQ(st0.retries - st1.retries, 2);
	/* an answer 3 s late meets a 1 s deadline */
	snprintf(rule, sizeof(rule),
		 "{\"verb\":\"get\",\"pathRegex\":\"/namespaces/%s/configmaps/kube-root-ca.crt\","
		 "\"count\":1,\"action\":\"delay\",\"seconds\":3}",
		 ns);
	k8st_fault(c, rule);
	t0 = kmono_ms();
	T_ASSERT_EQ(k8s_get(c, &k8s_configmaps, ns, "kube-root-ca.crt", &call, &o, &err),
		    -ETIMEDOUT);
	T_ASSERT(kmono_ms() - t0 < 2500, "the deadline holds");
	T_ASSERT(strstr(err.msg, "did not answer within 1 s") && err.exit == K8S_EXIT_NETWORK, "%s",
		 err.msg);
	k8st_faults_clear(c);
}

/* ------------------------------------------------------------ informers under faults */

static atomic_int adds;

static void on_add(void *arg, const struct k8s_obj *o)
{
	(void)arg;
	(void)o;
	atomic_fetch_add(&adds, 1);
}

static void create_cm(const char *name)
{
	struct k8s_obj *o = k8st_cm(ns, name, "k", "v");
	struct k8s_err err;

	T_ASSERT(!k8s_obj_set_label(o, "app", "faults"));
	T_ASSERT(!k8s_create(c, &k8s_configmaps, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
}

static bool wait_for(struct k8s_informer *inf, size_t n, unsigned int ms)
{
	for (unsigned int t = 0; t < ms; t += 20) {
		if (k8s_informer_len(inf) == n)
			return true;
		k8st_sleep_ms(20);
	}
	return k8s_informer_len(inf) == n;
}

static void test_informer_faults(void)
{
	static const struct k8s_handlers h = {.add = on_add};
	struct k8s_informer_opts io = {
		.sz = sizeof(io), .ns = ns, .label_selector = "app=faults", .handlers = &h};
	struct k8s_informer_stats st, before;
	struct k8s_informer *inf;
	struct k8s_err err;
	char rule[512], name[32];

	/* every watch breaks after 2 events: each goes on from the last version */
	snprintf(rule, sizeof(rule),
		 "{\"verb\":\"watch\",\"pathRegex\":\"/namespaces/%s/configmaps\",\"count\":0,"
		 "\"action\":\"cutWatch\",\"afterEvents\":2}",
		 ns);
	k8st_fault(c, rule);
	T_ASSERT(!k8s_informer_new(c, &k8s_configmaps, &io, &inf, &err), "%s", err.msg);
	T_ASSERT(!k8s_informer_wait_synced(inf, 20000));
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "cut-%d", i);
		create_cm(name);
	}
	T_ASSERT(wait_for(inf, 5, 30000), "%zu cached", k8s_informer_len(inf));
	k8s_informer_stats(inf, &st);
	T_ASSERT(st.watches >= 3, "%llu watches", (unsigned long long)st.watches);
	T_ASSERT_EQ(st.lists, 1);
	T_ASSERT_EQ(st.expired, 0);

	/* the third watch holds one event: one more breaks it, and the informer waits
	 * 0.8 s or more before it watches again; meanwhile the history goes */
	k8s_informer_stats(inf, &before);
	create_cm("x1");
	for (int i = 0; i < 1000; i++) {
		k8s_informer_stats(inf, &st);
		if (st.failures > before.failures)
			break;
		k8st_sleep_ms(5);
	}
	T_ASSERT(st.failures > before.failures, "the watch broke");
	k8st_faults_clear(c);
	/* a change it has not seen, then compaction: its version is older than the history */
	create_cm("while-away");
	k8st_compact(c);
	create_cm("after-compact");
	T_ASSERT(wait_for(inf, 8, 30000), "%zu cached", k8s_informer_len(inf));
	k8s_informer_stats(inf, &st);
	T_ASSERT_EQ(st.expired - before.expired, 1);
	T_ASSERT_EQ(st.lists - before.lists, 1);

	/* the box restarts under the informer (its state kept): it carries on */
	{
		const char *argv[] = {"kbox", "restart", getenv("FERRY_TEST_KBOX_DIR"), NULL};
		char *kbox;
		pid_t pid;
		int ws;

		if (asprintf(&kbox, "%s/tests/kbox/kbox", getenv("FERRY_SRC")) < 0)
			t_error("out of memory");
		pid = fork();
		if (pid == 0) {
			freopen("/dev/null", "w", stdout);
			execv(kbox, (char *const *)argv);
			_exit(127);
		}
		T_ASSERT(pid > 0 && waitpid(pid, &ws, 0) == pid && WIFEXITED(ws) &&
				 !WEXITSTATUS(ws),
			 "kbox restart");
		free(kbox);
		create_cm("after-restart");
		T_ASSERT(wait_for(inf, 9, 30000), "%zu cached", k8s_informer_len(inf));
	}
	k8s_informer_stats(inf, &st);
	printf("# informer: %llu lists, %llu watches, %llu events, %llu expired, %llu failures\n",
	       (unsigned long long)st.lists, (unsigned long long)st.watches,
	       (unsigned long long)st.events, (unsigned long long)st.expired,
	       (unsigned long long)st.failures);
	T_ASSERT(atomic_load(&adds) == 9, "%d adds", atomic_load(&adds));
	k8s_informer_free(inf);
}

/* ------------------------------------------------------------ in-cluster */

static void test_in_cluster(void)
{
	const struct k8s_config *cfg = k8s_client_config(c);
	char *dir, *path, *tok, host[64] = "", port[16] = "";
	struct k8s_config_opts co = {.sz = sizeof(co), .in_cluster = true};
	struct k8s_client *ic;
	struct k8s_items *l;
	struct k8s_obj *o;
	struct k8s_err err;
	int64_t exp;

	/* https://127.0.0.1:PORT */
	T_ASSERT(sscanf(k8s_config_server(cfg), "https://%63[^:]:%15s", host, port) == 2);
	if (asprintf(&dir, "%s/sa", getenv("K8S_TMP")) < 0)
		t_error("out of memory");
	mkdir(dir, 0700);
	T_ASSERT(!k8s_obj_new_kind(&k8s_serviceaccounts, ns, "incluster", &o));
	T_ASSERT(!k8s_create(c, &k8s_serviceaccounts, ns, o, NULL, NULL, &err), "%s", err.msg);
	k8s_obj_free(o);
	T_ASSERT(!k8s_token_request(c, ns, "incluster", NULL, 3600, &tok, &exp, &err), "%s",
		 err.msg);
	if (asprintf(&path, "%s/token", dir) < 0)
		t_error("out of memory");
	t_write_file(path, tok, strlen(tok));
	free(path);
	if (asprintf(&path, "%s/ca.crt", dir) < 0)
		t_error("out of memory");
	t_write_file(path, cfg->ca_data, cfg->ca_data_len);
	free(path);
	if (asprintf(&path, "%s/namespace", dir) < 0)
		t_error("out of memory");
	t_write_file(path, ns, strlen(ns));
	free(path);
	setenv("KUBERNETES_SERVICE_HOST", host, 1);
	setenv("KUBERNETES_SERVICE_PORT", port, 1);
	co.sa_dir = dir;
	T_ASSERT(!k8s_client_open(&co, NULL, &ic, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_config_ns(k8s_client_config(ic)), ns));
	/* who it is, as the server sees it: denied, naming the service account */
	T_ASSERT_EQ(k8s_list(ic, &k8s_configmaps, NULL, NULL, &l, &err), -EPERM);
	T_ASSERT(strstr(err.msg, "incluster") && strstr(err.msg, "grant 'list' on 'configmaps'"),
		 "%s", err.msg);
	k8s_client_free(ic);
	k8s_secret_free(tok, strlen(tok));
	free(dir);
}

int main(void)
{
	if (!k8st_is_box())
		t_skip("needs the box's fault hooks");
	c = k8st_client(NULL, NULL);
	ns = k8st_ns(c, "ferry-k8s-faults");
	test_status_faults();
	test_informer_faults();
	test_in_cluster();
	k8st_ns_delete(c, ns);
	free(ns);
	k8s_client_free(c);
	printf("t_k8s_faults: ok\n");
	return 0;
}
