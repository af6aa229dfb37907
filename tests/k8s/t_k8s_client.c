// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_client.c - the client against a scripted server (kfake.c)
 * that answers as the API server does, so that each rule can be provoked on
 * purpose: what goes on the wire for each call (paths, queries, content
 * types, bodies), list pages and an expired continue token, the 409 loop,
 * Retry-After and 5xx backoff, a token file read again after a 401, the
 * client-side rate limit, an informer through split lines, bookmarks, a
 * clean close, an ERROR 410 event and a 410 answer, a watch that keeps
 * failing, leader election on a Lease store with a leader cut off, a refused
 * connection and a server that does not answer.
 *
 * Everything runs twice: over HTTP/1.1 straight to the server, then over
 * HTTP/2 and TLS through nghttpx in front of it (with a CA the test makes),
 * where a CA that does not match is tried too.
 *
 * Times are checked as lower bounds from the rules (a Retry-After of 1 s
 * waits at least 1 s), or as upper bounds with a wide margin where the rule
 * is an upper bound (a released Lease is taken within the lease duration).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "k8s/k8s_int.h"
#include "kfake.h"
#include "t_helpers.h"

static char *dir;
static struct kfake *srv;
static int h2_port; /* nghttpx in front of srv, 0: off */
static pid_t h2_pid;
static bool h2; /* this round goes through nghttpx */

static pthread_mutex_t hlock = PTHREAD_MUTEX_INITIALIZER;
static kfake_fn handler;

static void dispatch(void *arg, const struct kfake_req *req, struct kfake_resp *resp)
{
	kfake_fn h;

	(void)arg;
	pthread_mutex_lock(&hlock);
	h = handler;
	pthread_mutex_unlock(&hlock);
	if (h)
		h(NULL, req, resp);
	else
		kfake_status(resp, 404, "NotFound", "no handler");
}

static void set_handler(kfake_fn h)
{
	pthread_mutex_lock(&hlock);
	handler = h;
	pthread_mutex_unlock(&hlock);
}

static void nap(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* a kubeconfig for the server; @user is the YAML of the user's fields */
static char *kubeconfig(const char *name, const char *user, const char *ca)
{
	char *path = kfake_printf("%s/%s", dir, name), *text;

	if (h2)
		text = kfake_printf(
			"current-context: t\nclusters:\n- name: fake\n  cluster:\n"
			"    server: https://127.0.0.1:%d\n    certificate-authority: %s\n"
			"users:\n- name: u\n  user: {%s}\n"
			"contexts:\n- name: t\n  context: {cluster: fake, user: u, namespace: shop}\n",
			h2_port, ca ? ca : "ca.crt", user);
	else
		text = kfake_printf(
			"current-context: t\nclusters:\n- name: fake\n  cluster:\n"
			"    server: http://127.0.0.1:%d\n"
			"users:\n- name: u\n  user: {%s}\n"
			"contexts:\n- name: t\n  context: {cluster: fake, user: u, namespace: shop}\n",
			kfake_port(srv), user);
	t_write_file(path, text, strlen(text));
	free(text);
	return path;
}

static struct k8s_client *client(const char *user, const struct k8s_client_opts *o)
{
	struct k8s_client_opts def = {.sz = sizeof(def), .qps = -1};
	char *path = kubeconfig("kc.yaml", user ? user : "token: t0", NULL);
	struct k8s_config_opts co = {.sz = sizeof(co), .kubeconfig = path};
	struct k8s_client *c;
	struct k8s_err err;

	T_ASSERT(!k8s_client_open(&co, o ? o : &def, &c, &err), "%s", err.msg);
	free(path);
	return c;
}

static int count(const char *method, const char *prefix)
{
	return kfake_count(srv, method, prefix);
}

static struct kfake_req last(void)
{
	struct kfake_req r;

	T_ASSERT(kfake_log(srv, -1, &r));
	return r;
}

/* ------------------------------------------------------------ verbs on the wire */

static void h_verbs(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	if (!strcmp(q->method, "GET") && !strcmp(q->path, "/api/v1/namespaces/shop/pods/web-0")) {
		r->body = strdup(
			"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web-0\","
			"\"namespace\":\"shop\",\"resourceVersion\":\"5\"}}");
	} else if (!strcmp(q->method, "DELETE") && strstr(q->path, "/nodes/gone")) {
		kfake_status(r, 404, "NotFound", "nodes \\\"gone\\\" not found");
	} else if (!strcmp(q->method, "POST")) {
		r->status = 201;
		r->body = strdup(q->body);
	} else if (!strcmp(q->method, "GET") && !strcmp(q->path, "/version")) {
		r->body = strdup("{\"major\":\"1\",\"minor\":\"32\",\"gitVersion\":\"v1.32.0\"}");
	} else {
		r->body = strdup(q->body && *q->body && q->body[0] == '{' ? q->body : "{}");
	}
}

static void test_verbs(void)
{
	static const struct k8s_resource backups =
		K8S_RESOURCE("ferry.io", "v1alpha1", "backups", "Backup", true);
	struct k8s_client *c;
	struct k8s_obj *o, *out, *ops;
	struct k8s_call call = {0};
	struct k8s_err err;
	struct kfake_req q;

	set_handler(h_verbs);
	c = client(NULL, NULL);
	T_ASSERT(!k8s_get(c, &k8s_pods, NULL, "web-0", NULL, &out, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_obj_get_rv(out), "5"));
	k8s_obj_free(out);
	q = last();
	T_ASSERT(!strcmp(q.auth, "Bearer t0"), "%s", q.auth);
	kfake_req_fini(&q);

	/* a custom resource, dry run, in the context's namespace */
	T_ASSERT(!k8s_obj_new_kind(&backups, NULL, "b1", &o));
	T_ASSERT(!k8s_obj_set_str(o, "/spec/repository", "main"));
	call.dry_run = true;
	T_ASSERT(!k8s_create(c, &backups, NULL, o, &call, &out, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_obj_str(out, "/spec/repository"), "main"));
	k8s_obj_free(out);
	q = last();
	T_ASSERT(!strcmp(q.path, "/apis/ferry.io/v1alpha1/namespaces/shop/backups"), "%s", q.path);
	T_ASSERT(kfake_arg(&q, "dryRun") && !strcmp(kfake_arg(&q, "dryRun"), "All"));
	T_ASSERT(!strcmp(q.ctype, "application/json"));
	T_ASSERT(strstr(q.body, "\"apiVersion\":\"ferry.io/v1alpha1\"") &&
			 strstr(q.body, "\"kind\":\"Backup\""),
		 "%s", q.body);
	kfake_req_fini(&q);

	/* update of a status subresource, in another namespace */
	T_ASSERT(!k8s_obj_set_str(o, "/metadata/resourceVersion", "9"));
	T_ASSERT(!k8s_obj_set_str(o, "/status/phase", "Completed"));
	call = (struct k8s_call){.subresource = "status"};
	T_ASSERT(!k8s_update(c, &backups, "other", o, &call, NULL, &err), "%s", err.msg);
	q = last();
	T_ASSERT(!strcmp(q.method, "PUT") &&
			 !strcmp(q.path,
				 "/apis/ferry.io/v1alpha1/namespaces/other/backups/b1/status"),
		 "%s %s", q.method, q.path);
	T_ASSERT(strstr(q.body, "\"resourceVersion\":\"9\""));
	kfake_req_fini(&q);

	/* the four patches */
	T_ASSERT(!k8s_obj_new(&out));
	T_ASSERT(!k8s_obj_set_null(out, "/metadata/labels/old"));
	T_ASSERT(!k8s_patch(c, &k8s_deployments, "shop", "web", K8S_PATCH_MERGE, out, NULL, NULL,
			    &err));
	q = last();
	T_ASSERT(!strcmp(q.method, "PATCH") && !strcmp(q.ctype, "application/merge-patch+json") &&
		 !strcmp(q.path, "/apis/apps/v1/namespaces/shop/deployments/web"));
	T_ASSERT(!strcmp(q.body, "{\"metadata\":{\"labels\":{\"old\":null}}}"), "%s", q.body);
	kfake_req_fini(&q);
	T_ASSERT(!k8s_patch(c, &k8s_deployments, "shop", "web", K8S_PATCH_STRATEGIC, out, NULL,
			    NULL, &err));
	q = last();
	T_ASSERT(!strcmp(q.ctype, "application/strategic-merge-patch+json"));
	kfake_req_fini(&q);
	k8s_obj_free(out);
	T_ASSERT(!k8s_obj_new_array(&ops));
	T_ASSERT(!k8s_obj_new(&out));
	T_ASSERT(!k8s_obj_set_str(out, "/v", "48213"));
	T_ASSERT(!k8s_jsonpatch_add(ops, "test", "/metadata/resourceVersion", NULL,
				    k8s_obj_at(out, "/v")));
	T_ASSERT(!k8s_jsonpatch_add(ops, "replace", "/spec/replicas", NULL, k8s_obj_at(out, "/v")));
	T_ASSERT(!k8s_jsonpatch_add(ops, "remove", "/spec/paused", NULL, NULL));
	T_ASSERT_EQ(k8s_jsonpatch_add(ops, "remove", "spec", NULL, NULL), -EINVAL);
	T_ASSERT_EQ(k8s_jsonpatch_add(ops, "bogus", "/x", NULL, NULL), -EINVAL);
	T_ASSERT(!k8s_patch(c, &k8s_deployments, "shop", "web", K8S_PATCH_JSON, ops, NULL, NULL,
			    &err));
	q = last();
	T_ASSERT(!strcmp(q.ctype, "application/json-patch+json"));
	T_ASSERT(!strcmp(q.body,
			 "[{\"op\":\"test\",\"path\":\"/metadata/resourceVersion\",\"value\":"
			 "\"48213\"},{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":"
			 "\"48213\"},{\"op\":\"remove\",\"path\":\"/spec/paused\"}]"),
		 "%s", q.body);
	kfake_req_fini(&q);
	T_ASSERT_EQ(k8s_patch(c, &k8s_deployments, "shop", "web", K8S_PATCH_MERGE, ops, NULL, NULL,
			      &err),
		    -EINVAL);
	k8s_obj_free(ops);
	k8s_obj_free(out);
	/* server-side apply: a field manager is required */
	T_ASSERT_EQ(k8s_patch(c, &backups, NULL, "b1", K8S_PATCH_APPLY, o, NULL, NULL, &err),
		    -EINVAL);
	T_ASSERT(strstr(err.msg, "field manager"), "%s", err.msg);
	T_ASSERT(!k8s_apply(c, &backups, NULL, o, "ferry-test", true, NULL, NULL, &err), "%s",
		 err.msg);
	q = last();
	T_ASSERT(!strcmp(q.ctype, "application/apply-patch+yaml"));
	T_ASSERT(!strcmp(kfake_arg(&q, "fieldManager"), "ferry-test") &&
		 !strcmp(kfake_arg(&q, "force"), "true"));
	kfake_req_fini(&q);
	/* scale by apply, a Service selector by apply */
	T_ASSERT(!k8s_scale_apply(c, &k8s_statefulsets, "db", "pg", 3, "ferry-autoscale", false,
				  NULL, &err),
		 "%s", err.msg);
	q = last();
	T_ASSERT(!strcmp(q.path, "/apis/apps/v1/namespaces/db/statefulsets/pg/scale"));
	T_ASSERT(strstr(q.body, "\"kind\":\"Scale\"") && strstr(q.body, "\"replicas\":3") &&
			 strstr(q.body, "autoscaling/v1"),
		 "%s", q.body);
	T_ASSERT(!kfake_arg(&q, "force"));
	kfake_req_fini(&q);
	k8s_obj_free(o);
	T_ASSERT(!k8s_obj_new(&o));
	T_ASSERT(!k8s_obj_set_str(o, "/app", "web"));
	T_ASSERT(!k8s_obj_set_str(o, "/color", "green"));
	T_ASSERT(!k8s_service_apply_selector(c, "shop", "web", o, "ferry-bluegreen", false, NULL,
					     &err),
		 "%s", err.msg);
	q = last();
	T_ASSERT(!strcmp(q.path, "/api/v1/namespaces/shop/services/web"));
	T_ASSERT(!strcmp(q.body,
			 "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":"
			 "\"web\",\"namespace\":\"shop\"},\"spec\":{\"selector\":{\"app\":"
			 "\"web\",\"color\":\"green\"}}}"),
		 "%s", q.body);
	kfake_req_fini(&q);
	k8s_obj_free(o);

	/* delete: options in the body; a cluster-scoped kind */
	call = (struct k8s_call){.propagation = "Foreground", .pre_uid = "u-1", .pre_rv = "7"};
	T_ASSERT(!k8s_delete(c, &k8s_nodes, "ignored", "n1", &call, NULL, &err), "%s", err.msg);
	q = last();
	T_ASSERT(!strcmp(q.method, "DELETE") && !strcmp(q.path, "/api/v1/nodes/n1"), "%s", q.path);
	T_ASSERT(strstr(q.body, "\"propagationPolicy\":\"Foreground\"") &&
			 strstr(q.body,
				"\"preconditions\":{\"uid\":\"u-1\",\"resourceVersion\":\"7\"}"),
		 "%s", q.body);
	kfake_req_fini(&q);
	T_ASSERT_EQ(k8s_delete(c, &k8s_nodes, NULL, "gone", NULL, NULL, &err), -ENOENT);
	T_ASSERT(err.http == 404 && !strcmp(err.reason, "NotFound") &&
		 err.exit == K8S_EXIT_NOT_FOUND);
	T_ASSERT(strstr(err.msg, "delete nodes/gone: nodes \"gone\" not found"), "%s", err.msg);
	/* selectors and a raw request */
	call = (struct k8s_call){.label_selector = "app in (a,b),!old",
				 .field_selector = "spec.nodeName=node-1"};
	{
		struct k8s_items *l;

		set_handler(NULL);
		T_ASSERT_EQ(k8s_list(c, &k8s_pods, "", &call, &l, &err), -ENOENT);
		q = last();
		T_ASSERT(!strcmp(q.path, "/api/v1/pods"), "%s", q.path);
		T_ASSERT(!strcmp(kfake_arg(&q, "labelSelector"), "app in (a,b),!old"));
		T_ASSERT(!strcmp(kfake_arg(&q, "fieldSelector"), "spec.nodeName=node-1"));
		T_ASSERT(!strcmp(kfake_arg(&q, "limit"), "500"));
		kfake_req_fini(&q);
		set_handler(h_verbs);
	}
	T_ASSERT(!k8s_request(c, "GET", "/version", NULL, &out, &err));
	T_ASSERT(!strcmp(k8s_obj_str(out, "/minor"), "32"));
	k8s_obj_free(out);
	{
		struct k8s_client_stats st;

		k8s_client_stats(c, &st);
		T_ASSERT(st.requests >= 13);
		T_ASSERT(h2 ? st.http2 == st.requests : st.http2 == 0, "http2 %llu of %llu",
			 (unsigned long long)st.http2, (unsigned long long)st.requests);
		T_ASSERT(st.connections <= (h2 ? 1u : 2u), "keep-alive: %llu connections",
			 (unsigned long long)st.connections);
	}
	k8s_client_free(c);
}

/* ------------------------------------------------------------ pages */

static atomic_int expired_once;

static void h_pages(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	const char *cont = kfake_arg(q, "continue");

	(void)arg;
	if (!cont) {
		r->body = strdup("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
				 "\"resourceVersion\":\"100\",\"continue\":\"c1\"},\"items\":["
				 "{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}},"
				 "{\"metadata\":{\"name\":\"b\",\"namespace\":\"x\"}}]}");
	} else if (!strcmp(cont, "c1")) {
		if (!atomic_fetch_add(&expired_once, 1)) {
			kfake_status(r, 410, "Expired",
				     "The provided continue parameter is too old");
			return;
		}
		r->body = strdup("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
				 "\"resourceVersion\":\"100\",\"continue\":\"c2\"},\"items\":["
				 "{\"metadata\":{\"name\":\"c\",\"namespace\":\"y\"}},"
				 "{\"metadata\":{\"name\":\"d\",\"namespace\":\"y\"}}]}");
	} else {
		r->body = strdup("{\"kind\":\"PodList\",\"apiVersion\":\"v1\",\"metadata\":{"
				 "\"resourceVersion\":\"100\"},\"items\":["
				 "{\"metadata\":{\"name\":\"e\",\"namespace\":\"z\"}}]}");
	}
}

static void test_pages(void)
{
	struct k8s_call call = {.limit = 2, .resource_version = "0"};
	struct k8s_client *c;
	struct k8s_items *l;
	struct k8s_err err;
	struct kfake_req q;
	int first = count("GET", "/api/v1/pods");
	const char *names = "abcde";

	atomic_store(&expired_once, 0);
	set_handler(h_pages);
	c = client(NULL, NULL);
	T_ASSERT(!k8s_list(c, &k8s_pods, "", &call, &l, &err), "%s", err.msg);
	T_ASSERT_EQ(k8s_items_len(l), 5);
	for (size_t i = 0; i < 5; i++) {
		T_ASSERT(k8s_obj_get_name(k8s_items_at(l, i))[0] == names[i]);
		T_ASSERT(!strcmp(k8s_obj_str(k8s_items_at(l, i), "/kind"), "Pod") &&
			 !strcmp(k8s_obj_str(k8s_items_at(l, i), "/apiVersion"), "v1"));
	}
	T_ASSERT(!strcmp(k8s_items_rv(l), "100"));
	{
		struct k8s_obj *o = k8s_items_take(l, 0);

		T_ASSERT(o && !k8s_items_at(l, 0));
		k8s_obj_free(o);
	}
	k8s_items_free(l);
	/* page 1, page 2 (410), page 1 again, page 2, page 3 */
	T_ASSERT_EQ(count("GET", "/api/v1/pods") - first, 5);
	q = last();
	T_ASSERT(!strcmp(kfake_arg(&q, "limit"), "2") && !kfake_arg(&q, "resourceVersion"),
		 "continued pages carry no resourceVersion: %s", q.query);
	kfake_req_fini(&q);
	k8s_client_free(c);
}

/* ------------------------------------------------------------ read, change, write */

static atomic_int cm_rv, cm_gets;

static void h_conflict(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	if (!strcmp(q->method, "GET")) {
		/* another writer changes it right after the first read */
		int rv = atomic_load(&cm_rv);

		if (atomic_fetch_add(&cm_gets, 1) == 0)
			atomic_fetch_add(&cm_rv, 1);
		r->body =
			kfake_printf("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{"
				     "\"name\":\"cm\",\"namespace\":\"shop\",\"resourceVersion\":"
				     "\"%d\"},\"data\":{\"n\":\"%d\"}}",
				     rv, rv);
		return;
	}
	{
		char want[64];

		snprintf(want, sizeof(want), "\"resourceVersion\":\"%d\"", atomic_load(&cm_rv));
		if (!strstr(q->body, want)) {
			kfake_status(
				r, 409, "Conflict",
				"Operation cannot be fulfilled on configmaps \\\"cm\\\": the object "
				"has been modified; please apply your changes to the latest "
				"version and try again");
			return;
		}
		atomic_fetch_add(&cm_rv, 1);
		r->body = strdup(q->body);
	}
}

static int mutate(void *arg, struct k8s_obj *o)
{
	int *calls = arg;

	(*calls)++;
	return k8s_obj_set_str(o, "/data/ferry", "yes");
}

static int unchanged(void *arg, struct k8s_obj *o)
{
	(void)o;
	(*(int *)arg)++;
	return K8S_UNCHANGED;
}

static void test_update_retry(void)
{
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	int calls = 0;

	atomic_store(&cm_rv, 1);
	atomic_store(&cm_gets, 0);
	set_handler(h_conflict);
	c = client(NULL, NULL);
	T_ASSERT(
		!k8s_update_retry(c, &k8s_configmaps, NULL, "cm", NULL, mutate, &calls, &out, &err),
		"%s", err.msg);
	T_ASSERT_EQ(calls, 2); /* the first write met a 409: read, change, write again */
	T_ASSERT(!strcmp(k8s_obj_str(out, "/data/ferry"), "yes"));
	T_ASSERT(!strcmp(k8s_obj_get_rv(out), "2"));
	k8s_obj_free(out);
	calls = 0;
	T_ASSERT(!k8s_update_retry(c, &k8s_configmaps, NULL, "cm", NULL, unchanged, &calls, NULL,
				   &err));
	T_ASSERT_EQ(calls, 1);
	{
		struct kfake_req q = last();

		T_ASSERT(!strcmp(q.method, "GET"), "nothing written");
		kfake_req_fini(&q);
	}
	k8s_client_free(c);
}

/* ------------------------------------------------------------ retries */

static atomic_int attempts;
static int fail_times, fail_code;

static void h_flaky(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	(void)q;
	if (atomic_fetch_add(&attempts, 1) < fail_times) {
		if (fail_code == 429) {
			kfake_status(r, 429, "TooManyRequests",
				     "Too many requests, please try again later.");
			r->retry_after = 1;
		} else {
			kfake_status(r, fail_code,
				     fail_code == 503 ? "ServiceUnavailable" : "InternalError",
				     "the server is currently unable to handle the request");
		}
		return;
	}
	r->body = strdup(
		"{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"x\"}}");
}

static void test_retries(void)
{
	struct k8s_client_opts o = {.sz = sizeof(o), .qps = -1, .timeout_ms = 1500};
	struct k8s_client_stats st;
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	uint64_t t0;

	set_handler(h_flaky);
	c = client(NULL, &o);
	/* 429 with Retry-After: 1 waits a second, then succeeds */
	atomic_store(&attempts, 0);
	fail_times = 1;
	fail_code = 429;
	t0 = kmono_ms();
	T_ASSERT(!k8s_get(c, &k8s_configmaps, NULL, "x", NULL, &out, &err), "%s", err.msg);
	T_ASSERT(kmono_ms() - t0 >= 1000, "Retry-After honoured: %llu ms",
		 (unsigned long long)(kmono_ms() - t0));
	T_ASSERT_EQ(atomic_load(&attempts), 2);
	k8s_obj_free(out);
	/* 503 twice, then 200, also for a write */
	atomic_store(&attempts, 0);
	fail_times = 2;
	fail_code = 503;
	T_ASSERT(!k8s_obj_new_kind(&k8s_configmaps, NULL, "x", &out));
	T_ASSERT(!k8s_create(c, &k8s_configmaps, NULL, out, NULL, NULL, &err), "%s", err.msg);
	T_ASSERT_EQ(atomic_load(&attempts), 3);
	k8s_obj_free(out);
	/* 500 for ever: given up within the call's deadline, said so */
	atomic_store(&attempts, 0);
	fail_times = 1000;
	fail_code = 500;
	t0 = kmono_ms();
	T_ASSERT_EQ(k8s_get(c, &k8s_configmaps, NULL, "x", NULL, &out, &err), -EAGAIN);
	T_ASSERT(kmono_ms() - t0 < 1500 + 1000, "within the deadline");
	T_ASSERT(atomic_load(&attempts) >= 2 && atomic_load(&attempts) <= 10, "%d attempts",
		 atomic_load(&attempts));
	T_ASSERT(strstr(err.msg, "gave up after") && strstr(err.msg, "HTTP 500"), "%s", err.msg);
	T_ASSERT_EQ(err.exit, K8S_EXIT_NETWORK);
	k8s_client_stats(c, &st);
	T_ASSERT(st.retries >= 4);
	k8s_client_free(c);
}

/* ------------------------------------------------------------ 401: the token file again */

static void h_auth(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	if (strcmp(q->auth, "Bearer t2")) {
		kfake_status(r, 401, "Unauthorized", "Unauthorized");
		return;
	}
	r->body = strdup("{\"metadata\":{\"name\":\"x\"}}");
}

static void test_reauth(void)
{
	char *tok = kfake_printf("%s/token", dir), *user = kfake_printf("tokenFile: %s", tok);
	struct k8s_client_stats st;
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	int before;

	t_write_file(tok, "t1\n", 3);
	set_handler(h_auth);
	c = client(user, NULL);
	before = count(NULL, "/");
	T_ASSERT_EQ(k8s_get(c, &k8s_configmaps, NULL, "x", NULL, &out, &err), -EACCES);
	T_ASSERT_EQ(count(NULL, "/") - before, 2); /* once more after reading the file, no more */
	T_ASSERT(strstr(err.msg, "refused the credentials") && strstr(err.msg, "tokenFile") &&
			 err.exit == K8S_EXIT_ACCESS,
		 "%s", err.msg);
	/* the token rotates: the next 401 reads it again and goes through */
	t_write_file(tok, "t2\n", 3);
	T_ASSERT(!k8s_get(c, &k8s_configmaps, NULL, "x", NULL, &out, &err), "%s", err.msg);
	k8s_obj_free(out);
	k8s_client_stats(c, &st);
	T_ASSERT_EQ(st.reauth, 2);
	k8s_client_free(c);
	free(tok);
	free(user);

	/* an exec plugin whose first credential is refused: run again, once */
	{
		char *plugin = kfake_printf("%s/plugin.sh", dir),
		     *runs = kfake_printf("%s/runs", dir);
		char *script = kfake_printf(
			"#!/bin/sh\nprintf x >> '%s'\nn=$(wc -c < '%s')\n"
			"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":"
			"\"ExecCredential\",\"status\":{\"token\":\"t%%s\"}}' \"$n\"\n",
			runs, runs);
		char *u = kfake_printf("exec: {apiVersion: client.authentication.k8s.io/v1, "
				       "command: %s}",
				       plugin);

		unlink(runs);
		t_write_file(plugin, script, strlen(script));
		chmod(plugin, 0755);
		c = client(u, NULL);
		T_ASSERT(!k8s_get(c, &k8s_configmaps, NULL, "x", NULL, &out, &err), "%s", err.msg);
		k8s_obj_free(out);
		k8s_client_stats(c, &st);
		T_ASSERT_EQ(st.reauth, 1); /* t1 refused, t2 taken */
		k8s_client_free(c);
		free(plugin);
		free(runs);
		free(script);
		free(u);
	}
}

/* ------------------------------------------------------------ the rate limit */

static void test_qps(void)
{
	struct k8s_client_opts o = {.sz = sizeof(o)}; /* client-go's 5 qps, burst 10 */
	struct k8s_client_stats st;
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	uint64_t t0 = kmono_ms();

	set_handler(h_verbs);
	c = client(NULL, &o);
	for (int i = 0; i < 20; i++) {
		T_ASSERT(!k8s_get(c, &k8s_pods, NULL, "web-0", NULL, &out, &err), "%s", err.msg);
		k8s_obj_free(out);
	}
	/* 10 at once, then 5 per second: the 20th at 2 s at the earliest */
	T_ASSERT(kmono_ms() - t0 >= 1950, "%llu ms", (unsigned long long)(kmono_ms() - t0));
	k8s_client_stats(c, &st);
	T_ASSERT(st.throttled_ms >= 1000, "%llu", (unsigned long long)st.throttled_ms);
	k8s_client_free(c);
}

/* ------------------------------------------------------------ informers */

#define POD(name, rv)                                                                              \
	"{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"" name                   \
	"\",\"namespace\":\"shop\",\"resourceVersion\":\"" rv "\",\"labels\":{\"app\":\"web\"}}}"
#define LPOD(name, rv)                                                                             \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"shop\",\"resourceVersion\":\"" rv    \
	"\"}}"

static atomic_int lists, watches;
static char list_rvs[8][64], watch_rvs[8][64];

static void h_informer(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	char rvbuf[64];
	const char *rv = kfake_arg(q, "resourceVersion");

	(void)arg;
	if (rv) {
		snprintf(rvbuf, sizeof(rvbuf), "%s", rv);
		rv = rvbuf;
	}
	if (!kfake_arg(q, "watch")) {
		int n = atomic_fetch_add(&lists, 1);

		snprintf(list_rvs[n & 7], sizeof(list_rvs[0]), "%s", rv ? rv : "(none)");
		if (n == 0)
			r->body = strdup(
				"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"10\"},"
				"\"items\":[" LPOD("a", "5") "," LPOD("b", "6") "]}");
		else if (n == 1)
			r->body = strdup(
				"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"20\"},"
				"\"items\":[" LPOD("a", "16") "," LPOD("c", "11") "," LPOD(
					"d", "19") "]}");
		else
			r->body = strdup(
				"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"21\"},"
				"\"items\":[" LPOD("a", "16") "," LPOD("c", "11") "," LPOD(
					"d", "19") "]}");
		return;
	}
	{
		int n = atomic_fetch_add(&watches, 1);

		snprintf(watch_rvs[n & 7], sizeof(watch_rvs[0]), "%s", rv ? rv : "(none)");
		if (n == 0) {
			/* a line cut in three pieces, a bookmark, an update; then a clean close */
			static const char *p[] = {
				"{\"type\":\"ADDED\",\"object\":" POD("c",
								      "11") "}\n{\"type\":\"BOOK",
				"MARK\",\"object\":{\"kind\":\"Pod\",\"apiVersion\":\"v1\",\"metadata\":{"
				"\"resourceVersion\":\"15\"}}}\n{\"type\":\"MODIFIED\",",
				"\"object\":" POD("a", "16") "}\n",
			};

			kfake_stream(r, p, 3, 30, 0);
		} else if (n == 1) {
			/* from the last version seen: compacted away, said as an ERROR event */
			static const char *p[] = {
				"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
				"\"metadata\":{},\"status\":\"Failure\",\"message\":\"too old resource "
				"version: 16 (18)\",\"reason\":\"Expired\",\"code\":410}}\n"};

			kfake_stream(r, p, 1, 0, 2000);
		} else if (n == 2) {
			/* 410 on the request itself */
			kfake_status(r, 410, "Expired", "too old resource version: 20 (21)");
		} else {
			static const char *p[] = {
				"{\"type\":\"DELETED\",\"object\":" POD("d", "22") "}\n"};

			kfake_stream(r, p, 1, 0, 30000);
		}
	}
}

struct seen {
	pthread_mutex_t lock;
	char log[1024];
};

static void seen_add(struct seen *s, const char *what, const struct k8s_obj *o)
{
	size_t n;

	pthread_mutex_lock(&s->lock);
	n = strlen(s->log);
	snprintf(s->log + n, sizeof(s->log) - n, "%s %s %s;", what, k8s_obj_get_name(o),
		 k8s_obj_get_rv(o));
	pthread_mutex_unlock(&s->lock);
}

static void on_add(void *arg, const struct k8s_obj *o)
{
	seen_add(arg, "add", o);
}

static void on_update(void *arg, const struct k8s_obj *old, const struct k8s_obj *cur)
{
	(void)old;
	seen_add(arg, "update", cur);
}

static void on_del(void *arg, const struct k8s_obj *o)
{
	seen_add(arg, "del", o);
}

static int count_each(void *arg, const struct k8s_obj *o)
{
	(void)o;
	(*(int *)arg)++;
	return 0;
}

static void test_informer(void)
{
	static const struct k8s_handlers h = {on_add, on_update, on_del};
	struct seen s = {PTHREAD_MUTEX_INITIALIZER, ""};
	struct k8s_informer_opts o = {.sz = sizeof(o), .ns = "shop", .handlers = &h, .arg = &s};
	struct k8s_informer_stats st;
	struct k8s_informer *inf;
	struct k8s_client *c;
	struct k8s_selector *sel;
	struct k8s_obj *p;
	struct k8s_err err;
	int n = 0;

	atomic_store(&lists, 0);
	atomic_store(&watches, 0);
	set_handler(h_informer);
	c = client(NULL, NULL);
	T_ASSERT(!k8s_informer_new(c, &k8s_pods, &o, &inf, &err), "%s", err.msg);
	T_ASSERT(!k8s_informer_wait_synced(inf, 10000));
	for (int i = 0; i < 500 && atomic_load(&watches) < 4; i++)
		nap(20);
	nap(200);
	k8s_informer_stats(inf, &st);
	T_ASSERT_EQ(atomic_load(&lists), 3);
	T_ASSERT_EQ(atomic_load(&watches), 4);
	/* the first list from the cache ("0"); after a 410 a consistent one (none) */
	T_ASSERT(!strcmp(list_rvs[0], "0") && !strcmp(list_rvs[1], "(none)") &&
			 !strcmp(list_rvs[2], "(none)"),
		 "%s %s %s", list_rvs[0], list_rvs[1], list_rvs[2]);
	/* each watch from the last version seen: the list's, then the update's */
	T_ASSERT(!strcmp(watch_rvs[0], "10") && !strcmp(watch_rvs[1], "16") &&
			 !strcmp(watch_rvs[2], "20") && !strcmp(watch_rvs[3], "21"),
		 "%s %s %s %s", watch_rvs[0], watch_rvs[1], watch_rvs[2], watch_rvs[3]);
	T_ASSERT_EQ(st.lists, 3);
	T_ASSERT_EQ(st.expired, 2);
	T_ASSERT_EQ(st.bookmarks, 1);
	T_ASSERT(st.events >= 3, "%llu", (unsigned long long)st.events);
	T_ASSERT(!strcmp(st.rv, "22"), "%s", st.rv);
	pthread_mutex_lock(&s.lock);
	T_ASSERT(!strcmp(s.log, "add a 5;add b 6;add c 11;update a 16;add d 19;del b 6;del d 22;"),
		 "%s", s.log);
	pthread_mutex_unlock(&s.lock);
	T_ASSERT_EQ(k8s_informer_len(inf), 2);
	p = k8s_informer_get(inf, "shop/a");
	T_ASSERT(p && !strcmp(k8s_obj_get_rv(p), "16") && !strcmp(k8s_obj_str(p, "/kind"), "Pod"));
	k8s_obj_free(p);
	T_ASSERT(!k8s_informer_get(inf, "shop/b"));
	T_ASSERT(!k8s_selector_parse("app=web", &sel, &err));
	T_ASSERT(!k8s_informer_each(inf, "shop", NULL, count_each, &n) && n == 2);
	n = 0;
	T_ASSERT(!k8s_informer_each(inf, NULL, sel, count_each, &n) && n == 0,
		 "list items have no labels");
	k8s_selector_free(sel);
	k8s_informer_free(inf);
	k8s_client_free(c);
}

static void h_watch_fails(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	if (!kfake_arg(q, "watch")) {
		r->body = strdup(
			"{\"kind\":\"PodList\",\"metadata\":{\"resourceVersion\":\"10\"},\"items\":[]}");
		return;
	}
	atomic_fetch_add(&watches, 1);
	kfake_status(r, 500, "InternalError", "etcd is down");
}

static void test_watch_backoff(void)
{
	struct k8s_informer_opts o = {.sz = sizeof(o)};
	struct k8s_informer_stats st;
	struct k8s_informer *inf;
	struct k8s_client *c;
	struct k8s_err err;

	atomic_store(&watches, 0);
	set_handler(h_watch_fails);
	c = client(NULL, NULL);
	T_ASSERT(!k8s_informer_new(c, &k8s_pods, &o, &inf, &err));
	T_ASSERT(!k8s_informer_wait_synced(inf, 10000));
	nap(3000);
	k8s_informer_stats(inf, &st);
	/* 0.8 s doubling, jittered: in 3 s at most 4 tries (a storm would be hundreds) */
	T_ASSERT(atomic_load(&watches) >= 2 && atomic_load(&watches) <= 4, "%d watches in 3 s",
		 atomic_load(&watches));
	T_ASSERT(st.failures >= 2 && st.last_err.code == -EAGAIN && st.last_err.http == 500,
		 "%llu %s", (unsigned long long)st.failures, st.last_err.msg);
	T_ASSERT(strstr(st.last_err.msg, "etcd is down"), "%s", st.last_err.msg);
	k8s_informer_free(inf);
	k8s_client_free(c);
}

/* ------------------------------------------------------------ leader election */

/* a Lease store: one object, resourceVersion checked on PUT; a token cut off */
static pthread_mutex_t llock = PTHREAD_MUTEX_INITIALIZER;
static char *lease_body;
static int lease_rv;
static char cut_token[32];

static void h_lease(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	pthread_mutex_lock(&llock);
	if (cut_token[0] && strstr(q->auth, cut_token)) {
		pthread_mutex_unlock(&llock);
		r->delay_ms = 300;
		kfake_status(r, 503, "ServiceUnavailable", "partitioned");
		return;
	}
	if (!strstr(q->path, "/apis/coordination.k8s.io/v1/namespaces/ferry-system/leases")) {
		/* any other write: a fenced client's */
		r->body = strdup("{\"metadata\":{\"name\":\"x\"}}");
	} else if (!strcmp(q->method, "GET")) {
		if (lease_body)
			r->body = strdup(lease_body);
		else
			kfake_status(r, 404, "NotFound",
				     "leases.coordination.k8s.io \\\"ctl\\\" not found");
	} else if (!strcmp(q->method, "POST")) {
		if (lease_body) {
			kfake_status(r, 409, "AlreadyExists", "leases \\\"ctl\\\" already exists");
		} else {
			struct k8s_obj *o;

			k8s_obj_parse(q->body, q->body_len, &o);
			k8s_obj_set_str(o, "/metadata/resourceVersion", "1");
			lease_rv = 1;
			lease_body = k8s_obj_json(o);
			k8s_obj_free(o);
			r->status = 201;
			r->body = strdup(lease_body);
		}
	} else if (!strcmp(q->method, "PUT")) {
		struct k8s_obj *o;
		char rv[16];

		k8s_obj_parse(q->body, q->body_len, &o);
		snprintf(rv, sizeof(rv), "%d", lease_rv);
		if (!k8s_obj_get_rv(o) || strcmp(k8s_obj_get_rv(o), rv)) {
			kfake_status(r, 409, "Conflict", "the object has been modified");
		} else {
			snprintf(rv, sizeof(rv), "%d", ++lease_rv);
			k8s_obj_set_str(o, "/metadata/resourceVersion", rv);
			free(lease_body);
			lease_body = k8s_obj_json(o);
			r->body = strdup(lease_body);
		}
		k8s_obj_free(o);
	}
	pthread_mutex_unlock(&llock);
}

struct cand {
	atomic_int started, stopped;
	atomic_uint_least64_t started_ms;
	char why[256];
	char other[64];
};

static void cand_started(void *arg)
{
	struct cand *c = arg;

	atomic_store(&c->started_ms, kmono_ms());
	atomic_fetch_add(&c->started, 1);
}

static void cand_stopped(void *arg, const char *why)
{
	struct cand *c = arg;

	snprintf(c->why, sizeof(c->why), "%s", why);
	atomic_fetch_add(&c->stopped, 1);
}

static void cand_new_leader(void *arg, const char *id)
{
	struct cand *c = arg;

	snprintf(c->other, sizeof(c->other), "%s", id);
}

static struct k8s_lease *candidate(struct k8s_client *c, const char *id, struct cand *cd)
{
	struct k8s_lease_opts o = {.sz = sizeof(o),
				   .ns = "ferry-system",
				   .name = "ctl",
				   .identity = id,
				   .lease_ms = 3000,
				   .renew_ms = 2000,
				   .retry_ms = 300,
				   .started = cand_started,
				   .stopped = cand_stopped,
				   .new_leader = cand_new_leader,
				   .arg = cd};
	struct k8s_lease *l;
	struct k8s_err err;

	T_ASSERT(!k8s_lease_start(c, &o, &l, &err), "%s", err.msg);
	return l;
}

static void test_lease(void)
{
	struct cand ca = {0}, cb = {0}, cc = {0};
	struct k8s_client *a, *b, *x;
	struct k8s_lease *la, *lb, *lc;
	struct k8s_obj *o;
	struct k8s_err err;
	uint64_t cut, freed;

	pthread_mutex_lock(&llock);
	free(lease_body);
	lease_body = NULL;
	cut_token[0] = '\0';
	pthread_mutex_unlock(&llock);
	set_handler(h_lease);
	/* durations out of order are refused, as client-go refuses them */
	{
		struct k8s_lease_opts bad = {.sz = sizeof(bad),
					     .ns = "n",
					     .name = "l",
					     .identity = "i",
					     .lease_ms = 1000,
					     .renew_ms = 1000};

		a = client("token: ta", NULL);
		T_ASSERT_EQ(k8s_lease_start(a, &bad, &la, &err), -EINVAL);
		T_ASSERT(strstr(err.msg, "lease (1000 ms) > renew deadline (1000 ms)"), "%s",
			 err.msg);
	}
	b = client("token: tb", NULL);
	la = candidate(a, "ctl-a", &ca);
	for (int i = 0; i < 200 && !atomic_load(&ca.started); i++)
		nap(20);
	T_ASSERT(atomic_load(&ca.started) == 1 && k8s_lease_is_leader(la));
	lb = candidate(b, "ctl-b", &cb);
	nap(1000);
	T_ASSERT(!atomic_load(&cb.started) && !k8s_lease_is_leader(lb), "one leader");
	T_ASSERT(!strcmp(cb.other, "ctl-a"), "b saw a lead: %s", cb.other);
	k8s_lease_fence(la, a);
	T_ASSERT(!k8s_obj_new_kind(&k8s_configmaps, "ferry-system", "w", &o));
	T_ASSERT(!k8s_create(a, &k8s_configmaps, NULL, o, NULL, NULL, &err), "%s", err.msg);

	/* a is cut off: by its renew deadline it stops, on its own clock */
	pthread_mutex_lock(&llock);
	snprintf(cut_token, sizeof(cut_token), "ta");
	pthread_mutex_unlock(&llock);
	cut = kmono_ms();
	while (kmono_ms() < cut + 2000 + 20)
		nap(20);
	T_ASSERT(!k8s_lease_is_leader(la), "not leader past the renew deadline");
	T_ASSERT_EQ(k8s_create(a, &k8s_configmaps, NULL, o, NULL, NULL, &err), -ENOLCK);
	T_ASSERT(strstr(err.msg, "no longer holds its leader lease") &&
			 err.exit == K8S_EXIT_REFUSED,
		 "%s", err.msg);
	for (int i = 0; i < 200 && !atomic_load(&ca.stopped); i++)
		nap(20);
	T_ASSERT(atomic_load(&ca.stopped) == 1 && strstr(ca.why, "renew deadline"), "%s", ca.why);
	/* b takes over once the record stood still for the lease duration, not before */
	for (int i = 0; i < 500 && !atomic_load(&cb.started); i++)
		nap(20);
	T_ASSERT(atomic_load(&cb.started) == 1, "b leads");
	T_ASSERT(atomic_load(&cb.started_ms) >= cut - 600 + 3000,
		 "not before the lease ran out: %lld ms after the cut",
		 (long long)(atomic_load(&cb.started_ms) - cut));
	k8s_lease_free(la);
	k8s_client_free(a);

	/* b stops: it releases the Lease, and a standby takes it at once */
	x = client("token: tc", NULL);
	lc = candidate(x, "ctl-c", &cc);
	nap(700);
	T_ASSERT(!atomic_load(&cc.started));
	freed = kmono_ms();
	k8s_lease_free(lb);
	T_ASSERT(atomic_load(&cb.stopped) == 1 && strstr(cb.why, "released"), "%s", cb.why);
	for (int i = 0; i < 500 && !atomic_load(&cc.started); i++)
		nap(10);
	T_ASSERT(atomic_load(&cc.started) == 1);
	T_ASSERT(atomic_load(&cc.started_ms) - freed < 3000, "released, not run out: %llu ms",
		 (unsigned long long)(atomic_load(&cc.started_ms) - freed));
	k8s_lease_free(lc);
	k8s_obj_free(o);
	k8s_client_free(b);
	k8s_client_free(x);
}

/* ------------------------------------------------------------ unreachable */

static void h_slow(void *arg, const struct kfake_req *q, struct kfake_resp *r)
{
	(void)arg;
	(void)q;
	r->delay_ms = 3000;
	r->body = strdup("{}");
}

static void test_unreachable(void)
{
	struct k8s_client_opts o = {.sz = sizeof(o), .qps = -1, .timeout_ms = 800};
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	struct k8s_client_stats st;
	struct k8s_config_opts co = {.sz = sizeof(co)};
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	char *path, *text, want[64];
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	/* a port nobody listens on: refused, tried 3 times, the server named */
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	T_ASSERT(!bind(fd, (struct sockaddr *)&sa, sizeof(sa)));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	port = ntohs(sa.sin_port);
	close(fd);
	path = kfake_printf("%s/refused.yaml", dir);
	text = kfake_printf(
		"current-context: t\nclusters:\n- name: gone\n  cluster: {server: 'http://127.0.0.1:%d'}\n"
		"contexts:\n- name: t\n  context: {cluster: gone}\n",
		port);
	t_write_file(path, text, strlen(text));
	co.kubeconfig = path;
	o.timeout_ms = 10000;
	T_ASSERT(!k8s_client_open(&co, &o, &c, &err));
	T_ASSERT_EQ(k8s_get(c, &k8s_pods, "x", "y", NULL, &out, &err), -ECONNREFUSED);
	snprintf(want, sizeof(want), "http://127.0.0.1:%d refused the connection", port);
	T_ASSERT(strstr(err.msg, want) && strstr(err.msg, path) && err.exit == K8S_EXIT_NETWORK &&
			 !strcmp(err.reason, "ConnectionRefused"),
		 "%s", err.msg);
	k8s_client_stats(c, &st);
	T_ASSERT_EQ(st.requests, 3);
	k8s_client_free(c);
	free(path);
	free(text);

	/* a server that does not answer: the call's deadline, stated */
	set_handler(h_slow);
	o.timeout_ms = 800;
	c = client(NULL, &o);
	T_ASSERT_EQ(k8s_get(c, &k8s_pods, NULL, "y", NULL, &out, &err), -ETIMEDOUT);
	T_ASSERT(strstr(err.msg, "did not answer within 1 s"), "%s", err.msg);
	k8s_client_free(c);
}

/* ------------------------------------------------------------ TLS */

static void test_tls(void)
{
	struct k8s_config_opts co = {.sz = sizeof(co)};
	struct k8s_client *c;
	struct k8s_obj *out;
	struct k8s_err err;
	char *path, *other = kfake_printf("%s/other-ca.crt", dir);

	set_handler(h_verbs);
	path = kubeconfig("wrongca.yaml", "token: t0", other);
	co.kubeconfig = path;
	T_ASSERT(!k8s_client_open(&co, NULL, &c, &err), "%s", err.msg);
	T_ASSERT_EQ(k8s_get(c, &k8s_pods, NULL, "web-0", NULL, &out, &err), -EPROTO);
	T_ASSERT(strstr(err.msg, "is not signed by") && strstr(err.msg, other) &&
			 strstr(err.msg, path) && err.exit == K8S_EXIT_ACCESS,
		 "%s", err.msg);
	k8s_client_free(c);
	free(path);
	free(other);

	/* insecure-skip-tls-verify is honoured (with its warning, t_k8s_config) */
	{
		char *text =
			kfake_printf("current-context: t\nclusters:\n- name: fake\n  cluster:\n"
				     "    server: https://127.0.0.1:%d\n"
				     "    insecure-skip-tls-verify: true\n"
				     "users:\n- name: u\n  user: {token: t0}\n"
				     "contexts:\n- name: t\n  context: {cluster: fake, user: u}\n",
				     h2_port);

		path = kfake_printf("%s/insecure.yaml", dir);
		t_write_file(path, text, strlen(text));
		co.kubeconfig = path;
		T_ASSERT(!k8s_client_open(&co, NULL, &c, &err), "%s", err.msg);
		T_ASSERT(!k8s_get(c, &k8s_pods, "shop", "web-0", NULL, &out, &err), "%s", err.msg);
		k8s_obj_free(out);
		k8s_client_free(c);
		free(path);
		free(text);
	}
}

/* ------------------------------------------------------------ the HTTP/2 front */

static int run(const char *const argv[])
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		int null = open("/dev/null", 1);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static void make_ca(const char *name)
{
	char *key = kfake_printf("%s/%s.key", dir, name),
	     *crt = kfake_printf("%s/%s.crt", dir, name);
	const char *argv[] = {"openssl",
			      "req",
			      "-x509",
			      "-newkey",
			      "ec",
			      "-pkeyopt",
			      "ec_paramgen_curve:prime256v1",
			      "-nodes",
			      "-keyout",
			      key,
			      "-out",
			      crt,
			      "-days",
			      "2",
			      "-subj",
			      "/CN=kfake",
			      "-addext",
			      "subjectAltName=IP:127.0.0.1",
			      NULL};

	if (run(argv))
		t_error("openssl could not make a certificate");
	free(key);
	free(crt);
}

static void start_h2(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	char *front, *back, *key, *crt;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	make_ca("ca");
	make_ca("other-ca");
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	getsockname(fd, (struct sockaddr *)&sa, &sl);
	h2_port = ntohs(sa.sin_port);
	close(fd);
	front = kfake_printf("--frontend=127.0.0.1,%d", h2_port);
	back = kfake_printf("--backend=127.0.0.1,%d", kfake_port(srv));
	key = kfake_printf("%s/ca.key", dir);
	crt = kfake_printf("%s/ca.crt", dir);
	h2_pid = fork();
	if (h2_pid == 0) {
		const char *argv[] = {"nghttpx",
				      "--conf=/dev/null",
				      front,
				      back,
				      "--single-process",
				      "--no-ocsp",
				      "--no-via",
				      "--backend-read-timeout=1h",
				      "--frontend-read-timeout=1h",
				      "--frontend-http2-read-timeout=1h",
				      "--errorlog-file=/dev/null",
				      key,
				      crt,
				      NULL};
		int null = open("/dev/null", 1);

		dup2(null, 1);
		dup2(null, 2);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	for (int i = 0; i < 250; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0), ok;
		int st;

		ok = !connect(s, (struct sockaddr *)&sa, sizeof(sa));
		close(s);
		if (ok)
			break;
		if (waitpid(h2_pid, &st, WNOHANG) == h2_pid)
			t_fail("nghttpx did not start (tests/install-deps.sh installs nghttp2-proxy)");
		nap(20);
	}
	free(front);
	free(back);
	free(key);
	free(crt);
}

static void round_of_tests(void)
{
	printf("# %s\n", h2 ? "HTTP/2 over TLS (nghttpx)" : "HTTP/1.1");
	test_verbs();
	test_pages();
	test_update_retry();
	test_retries();
	test_reauth();
	test_informer();
	test_unreachable();
	if (h2) {
		test_tls();
	} else {
		test_qps();
		test_watch_backoff();
		test_lease();
	}
}

int main(void)
{
	signal(SIGPIPE, SIG_IGN);
	dir = t_tmpdir("k8s-client");
	srv = kfake_start(dispatch, NULL);
	if (!srv)
		t_error("cannot start the test server");
	h2 = false;
	round_of_tests();
	start_h2();
	h2 = true;
	round_of_tests();
	kill(h2_pid, SIGTERM);
	waitpid(h2_pid, NULL, 0);
	kfake_stop(srv);
	t_rmtree(dir);
	free(dir);
	printf("t_k8s_client: ok\n");
	return 0;
}
