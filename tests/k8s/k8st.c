// SPDX-License-Identifier: MIT
/*
 * tests/k8s/k8st.c - the helpers of k8st.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "k8st.h"
#include "t_helpers.h"

const char *k8st_kubeconfig(void)
{
	const char *k = getenv("FERRY_TEST_KUBECONFIG");

	if (!k || !*k)
		t_fail("FERRY_TEST_KUBECONFIG is not set: run the tests with tests/run (it starts the "
		       "cluster in a box) or tests/k8s/t_k8s_run.sh");
	return k;
}

bool k8st_is_box(void)
{
	const char *d = getenv("FERRY_TEST_KBOX_DIR");

	return d && *d;
}

struct k8s_client *k8st_client(const char *kubeconfig, const struct k8s_client_opts *o)
{
	struct k8s_config_opts co = {.sz = sizeof(co),
				     .kubeconfig = kubeconfig ? kubeconfig : k8st_kubeconfig()};
	struct k8s_client_opts def = {.sz = sizeof(def), .qps = 50, .burst = 100};
	struct k8s_client *c;
	struct k8s_err err;

	if (k8s_client_open(&co, o ? o : &def, &c, &err))
		t_fail("client of %s: %s", co.kubeconfig, err.msg);
	return c;
}

char *k8st_ns(struct k8s_client *c, const char *prefix)
{
	struct k8s_obj *o;
	struct k8s_err err;
	unsigned int r = 0;
	char *ns;

	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		r = (unsigned int)time(NULL);
	if (asprintf(&ns, "%s-%06x", prefix, r & 0xffffff) < 0)
		t_error("out of memory");
	if (k8s_obj_new_kind(&k8s_namespaces, NULL, ns, &o) ||
	    k8s_obj_set_label(o, "ferry.io/test", "k8s"))
		t_error("out of memory");
	if (k8s_create(c, &k8s_namespaces, NULL, o, NULL, NULL, &err))
		t_fail("create namespace %s: %s", ns, err.msg);
	k8s_obj_free(o);
	return ns;
}

void k8st_ns_delete(struct k8s_client *c, const char *ns)
{
	struct k8s_err err;

	if (ns)
		k8s_delete(c, &k8s_namespaces, NULL, ns, NULL, NULL, &err);
}

static void box_post(struct k8s_client *admin, const char *path, const char *json)
{
	struct k8s_obj *body = NULL;
	struct k8s_err err;

	if (json && k8s_obj_parse(json, strlen(json), &body))
		t_error("bad fault rule %s", json);
	if (k8s_request(admin, "POST", path, body, NULL, &err))
		t_fail("POST %s %s: %s", path, json ? json : "", err.msg);
	k8s_obj_free(body);
}

void k8st_fault(struct k8s_client *admin, const char *json)
{
	box_post(admin, "/kbox/v1/faults", json);
}

void k8st_faults_clear(struct k8s_client *admin)
{
	struct k8s_err err;

	if (k8s_request(admin, "DELETE", "/kbox/v1/faults", NULL, NULL, &err))
		t_fail("DELETE /kbox/v1/faults: %s", err.msg);
}

void k8st_compact(struct k8s_client *admin)
{
	box_post(admin, "/kbox/v1/compact", NULL);
}

char *k8st_kubeconfig_for(const char *dir, const char *name, const char *server,
			  const char *ca_file, const char *ca_data, const char *user)
{
	char *path, *text, *ca;
	int n;

	if (ca_file)
		n = asprintf(&ca, "    certificate-authority: %s\n", ca_file);
	else if (ca_data)
		n = asprintf(&ca, "    certificate-authority-data: %s\n", ca_data);
	else
		n = asprintf(&ca, "%s", "");
	if (n < 0 || asprintf(&path, "%s/%s", dir, name) < 0 ||
	    asprintf(&text,
		     "current-context: t\nclusters:\n- name: c\n  cluster:\n    server: %s\n%s"
		     "users:\n- name: u\n  user: {%s}\n"
		     "contexts:\n- name: t\n  context: {cluster: c, user: u}\n",
		     server, ca, user ? user : "") < 0)
		t_error("out of memory");
	t_write_file(path, text, strlen(text));
	free(text);
	free(ca);
	return path;
}

struct k8s_obj *k8st_cm(const char *ns, const char *name, const char *k, const char *v)
{
	struct k8s_obj *o;
	char path[256];

	snprintf(path, sizeof(path), "/data/%s", k);
	if (k8s_obj_new_kind(&k8s_configmaps, ns, name, &o) || k8s_obj_set_str(o, path, v))
		t_error("out of memory");
	return o;
}

void k8st_sleep_ms(unsigned int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}
