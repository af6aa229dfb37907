// SPDX-License-Identifier: MIT
/*
 * tests/k8s/t_k8s_config.c - configuration without a server: kubeconfig
 * files (one; KUBECONFIG's list merged, first wins; relative paths; data and
 * file forms), the bad ones (each with its one line naming the file and the
 * fix), in-cluster settings, token files read again, and exec credential
 * plugins (real shell scripts: run once, kept until their expiry, run again
 * when refused, their failures reported with their stderr).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "k8s/k8s_int.h"
#include "t_helpers.h"

static char *dir;
static char warned[1024];

static void logfn(int level, const char *msg)
{
	if (level == K8S_LOG_WARN)
		snprintf(warned, sizeof(warned), "%s", msg);
}

static char *path_of(const char *name)
{
	static char p[4][512];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void put(const char *name, const char *text)
{
	t_write_file(path_of(name), text, strlen(text));
}

static void put_exec(const char *name, const char *text)
{
	put(name, text);
	chmod(path_of(name), 0755);
}

static int load(const char *kubeconfig, const char *context, struct k8s_config **cfg,
		struct k8s_err *err)
{
	struct k8s_config_opts o = {.sz = sizeof(o), .kubeconfig = kubeconfig, .context = context};

	return k8s_config_load(&o, cfg, err);
}

/* "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n" in base64 */
#define CA_B64 "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="

static void test_one_file(void)
{
	struct k8s_config *cfg;
	struct k8s_err err;

	put("one.yaml",
	    "apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
	    "clusters:\n- name: c1\n  cluster:\n    server: https://10.0.0.1:6443/\n"
	    "    certificate-authority-data: " CA_B64 "\n"
	    "users:\n- name: u1\n  user:\n    token: sekret-token\n"
	    "contexts:\n- name: dev\n  context: {cluster: c1, user: u1, namespace: shop}\n"
	    "- name: other\n  context: {cluster: c1, user: u1}\n");
	T_ASSERT(!load(path_of("one.yaml"), NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_config_server(cfg), "https://10.0.0.1:6443"), "trailing / dropped");
	T_ASSERT(!strcmp(k8s_config_ns(cfg), "shop"));
	T_ASSERT(strstr(k8s_config_source(cfg), "context dev"));
	T_ASSERT(cfg->auth == KAUTH_TOKEN && !strcmp(cfg->token, "sekret-token"));
	T_ASSERT(cfg->ca_data && strstr(cfg->ca_data, "BEGIN CERTIFICATE"));
	T_ASSERT(!cfg->insecure);
	k8s_config_free(cfg);
	T_ASSERT(!load(path_of("one.yaml"), "other", &cfg, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_config_ns(cfg), "default"), "no namespace: default");
	k8s_config_free(cfg);
	/* -n wins over the context */
	{
		struct k8s_config_opts o = {
			.sz = sizeof(o), .kubeconfig = path_of("one.yaml"), .ns = "x"};

		T_ASSERT(!k8s_config_load(&o, &cfg, &err));
		T_ASSERT(!strcmp(k8s_config_ns(cfg), "x"));
		k8s_config_free(cfg);
	}
}

static void test_merge(void)
{
	struct k8s_config *cfg;
	struct k8s_err err;
	char env[2048];

	/* a.yaml first: its current-context and its cluster "shared" win */
	put("a.yaml", "current-context: ctx-a\n"
		      "clusters:\n- name: shared\n  cluster: {server: 'https://a.example:443'}\n"
		      "users:\n- name: ua\n  user: {token: ta}\n"
		      "contexts:\n- name: ctx-a\n  context: {cluster: shared, user: ua}\n");
	put("b.yaml",
	    "current-context: ctx-b\n"
	    "clusters:\n- name: shared\n  cluster: {server: 'https://b.example:443'}\n"
	    "users:\n- name: ub\n  user:\n    tokenFile: tok/b.token\n"
	    "contexts:\n- name: ctx-b\n  context: {cluster: shared, user: ub, namespace: nb}\n");
	mkdir(path_of("tok"), 0700);
	put("tok/b.token", "token-from-file\n");
	snprintf(env, sizeof(env), "%s:%s:%s", path_of("a.yaml"), path_of("missing.yaml"),
		 path_of("b.yaml"));
	setenv("KUBECONFIG", env, 1);
	T_ASSERT(!load(NULL, NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(!strcmp(cfg->context_name, "ctx-a"), "the first current-context wins");
	T_ASSERT(!strcmp(k8s_config_server(cfg), "https://a.example:443"));
	k8s_config_free(cfg);
	T_ASSERT(!load(NULL, "ctx-b", &cfg, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_config_server(cfg), "https://a.example:443"),
		 "cluster 'shared' comes from the first file that names it");
	T_ASSERT(!strcmp(k8s_config_ns(cfg), "nb"));
	T_ASSERT(cfg->auth == KAUTH_TOKEN_FILE && !strcmp(cfg->token_file, path_of("tok/b.token")),
		 "tokenFile resolved against b.yaml's directory: %s", cfg->token_file);
	k8s_config_free(cfg);
	/* none of the files exists */
	snprintf(env, sizeof(env), "%s:%s", path_of("x.yaml"), path_of("y.yaml"));
	setenv("KUBECONFIG", env, 1);
	T_ASSERT_EQ(load(NULL, NULL, &cfg, &err), -ENOENT);
	T_ASSERT(strstr(err.msg, "KUBECONFIG"), "%s", err.msg);
	unsetenv("KUBECONFIG");
}

static void expect_bad(const char *name, const char *text, const char *context, int code,
		       const char *needle)
{
	struct k8s_config *cfg = NULL;
	struct k8s_err err;
	int ret;

	put(name, text);
	ret = load(path_of(name), context, &cfg, &err);
	T_ASSERT(ret == code, "%s: %d (%s), wanted %d", name, ret, err.msg, code);
	T_ASSERT(err.code == code && err.exit == K8S_EXIT_USAGE, "%s: exit %d", name, err.exit);
	T_ASSERT(strstr(err.msg, needle), "%s: '%s' lacks '%s'", name, err.msg, needle);
	T_ASSERT(strstr(err.msg, path_of(name)), "%s: the file is named: %s", name, err.msg);
	T_ASSERT(!strchr(err.msg, '\n'), "one line");
	T_ASSERT(!strstr(err.msg, "sekret"), "no secret in the message");
	T_ASSERT(!cfg);
}

static void test_bad(void)
{
	static const char base[] = "clusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
				   "users:\n- name: u\n  user: {token: sekret}\n"
				   "contexts:\n- name: a\n  context: {cluster: c, user: u}\n"
				   "- name: b\n  context: {cluster: c, user: u}\n";
	char text[2048];
	struct k8s_config *cfg;
	struct k8s_err err;

	expect_bad("bad1.yaml", "clusters: [\n  - name: x\n  cluster\n", NULL, -EINVAL, "line");
	expect_bad("bad2.yaml", "- just\n- a list\n", NULL, -EINVAL, "not a kubeconfig");
	expect_bad("bad3.yaml", base, NULL, -EINVAL, "no current-context");
	expect_bad("bad4.yaml", base, "prod", -EINVAL, "context 'prod' not found (contexts: a, b)");
	snprintf(text, sizeof(text), "%scurrent-context: a\n", base);
	T_ASSERT(!strstr(text, "users:\n- name: v"));
	expect_bad("bad5.yaml",
		   "current-context: a\nclusters: []\nusers: []\n"
		   "contexts:\n- name: a\n  context: {cluster: gone, user: u}\n",
		   NULL, -EINVAL, "names cluster 'gone', which is not defined");
	expect_bad("bad6.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		   "contexts:\n- name: a\n  context: {cluster: c, user: nobody}\n",
		   NULL, -EINVAL, "names user 'nobody'");
	expect_bad("bad7.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'h:1'}\n"
		   "contexts:\n- name: a\n  context: {cluster: c}\n",
		   NULL, -EINVAL, "is not an http(s):// URL");
	expect_bad("bad8.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster:\n    server: https://h:1\n"
		   "    certificate-authority: no/such/ca.crt\n"
		   "contexts:\n- name: a\n  context: {cluster: c}\n",
		   NULL, -ENOENT, "no/such/ca.crt: No such file");
	expect_bad("bad9.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		   "users:\n- name: u\n  user:\n    auth-provider: {name: gcp}\n"
		   "contexts:\n- name: a\n  context: {cluster: c, user: u}\n",
		   NULL, -EINVAL, "auth-provider is not supported");
	expect_bad(
		"bad10.yaml",
		"current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		"users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1,"
		" command: x, interactiveMode: Always}\n"
		"contexts:\n- name: a\n  context: {cluster: c, user: u}\n",
		NULL, -EINVAL, "interactiveMode Always");
	expect_bad(
		"bad11.yaml",
		"current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		"users:\n- name: u\n  user:\n    exec: {apiVersion: client.authentication.k8s.io/v1alpha1,"
		" command: x}\n"
		"contexts:\n- name: a\n  context: {cluster: c, user: u}\n",
		NULL, -EINVAL, "v1alpha1' is not supported");
	expect_bad("bad12.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1',"
		   " certificate-authority-data: '%%%'}\n"
		   "contexts:\n- name: a\n  context: {cluster: c}\n",
		   NULL, -EINVAL, "certificate-authority-data is not base64");
	expect_bad("bad13.yaml",
		   "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		   "users:\n- name: u\n  user: {client-certificate-data: " CA_B64 "}\n"
		   "contexts:\n- name: a\n  context: {cluster: c, user: u}\n",
		   NULL, -EINVAL, "needs its key");
	/* a kubeconfig that does not exist */
	T_ASSERT_EQ(load(path_of("nope.yaml"), NULL, &cfg, &err), -ENOENT);
	T_ASSERT(strstr(err.msg, "nope.yaml") && strstr(err.msg, "--kubeconfig"), "%s", err.msg);

	/* insecure-skip-tls-verify: honoured, with a loud warning */
	warned[0] = '\0';
	put("insecure.yaml", "current-context: a\nclusters:\n- name: c\n  cluster:\n"
			     "    server: https://h:1\n    insecure-skip-tls-verify: true\n"
			     "contexts:\n- name: a\n  context: {cluster: c}\n");
	T_ASSERT(!load(path_of("insecure.yaml"), NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(cfg->insecure);
	T_ASSERT(strstr(warned, "NOT verified") && strstr(warned, "insecure.yaml"), "%s", warned);
	k8s_config_free(cfg);
}

static void test_in_cluster(void)
{
	char sa[512];
	struct k8s_config_opts o = {.sz = sizeof(o), .in_cluster = true, .sa_dir = sa};
	struct k8s_config *cfg;
	struct k8s_err err;
	struct kauth *a;
	struct kcred cr;

	snprintf(sa, sizeof(sa), "%s", path_of("sa"));
	mkdir(sa, 0700);
	setenv("KUBERNETES_SERVICE_HOST", "fd00::1", 1);
	setenv("KUBERNETES_SERVICE_PORT", "443", 1);
	T_ASSERT_EQ(k8s_config_load(&o, &cfg, &err), -ENOENT);
	T_ASSERT(strstr(err.msg, "automountServiceAccountToken"), "%s", err.msg);
	put("sa/token", "tok-1\n");
	put("sa/ca.crt", "-----BEGIN CERTIFICATE-----\n");
	put("sa/namespace", "ferry-system");
	T_ASSERT(!k8s_config_load(&o, &cfg, &err), "%s", err.msg);
	T_ASSERT(!strcmp(k8s_config_server(cfg), "https://[fd00::1]:443"), "%s", cfg->server);
	T_ASSERT(!strcmp(k8s_config_ns(cfg), "ferry-system"));
	T_ASSERT(!strcmp(cfg->ca_file, path_of("sa/ca.crt")));
	/* the token is read, kept for a minute, read again once refused */
	T_ASSERT(!kauth_new(cfg, &a));
	T_ASSERT(!kauth_get(a, false, &cr, &err) && !strcmp(cr.token, "tok-1"));
	kcred_fini(&cr);
	put("sa/token", "tok-2\n");
	T_ASSERT(!kauth_get(a, false, &cr, &err) && !strcmp(cr.token, "tok-1"), "cached");
	kcred_fini(&cr);
	T_ASSERT(!kauth_get(a, true, &cr, &err) && !strcmp(cr.token, "tok-2"), "read after a 401");
	kcred_fini(&cr);
	/* a rotation in progress (the file gone a moment) keeps the last good token */
	unlink(path_of("sa/token"));
	T_ASSERT(!kauth_get(a, true, &cr, &err) && !strcmp(cr.token, "tok-2"));
	kcred_fini(&cr);
	kauth_free(a);
	k8s_config_free(cfg);
	setenv("KUBERNETES_SERVICE_HOST", "10.96.0.1", 1);
	put("sa/token", "tok-3");
	T_ASSERT(!k8s_config_load(&o, &cfg, &err));
	T_ASSERT(!strcmp(k8s_config_server(cfg), "https://10.96.0.1:443"));
	k8s_config_free(cfg);
	unsetenv("KUBERNETES_SERVICE_HOST");
	T_ASSERT_EQ(k8s_config_load(&o, &cfg, &err), -ENOENT);
	T_ASSERT(strstr(err.msg, "KUBERNETES_SERVICE_HOST"), "%s", err.msg);
	unsetenv("KUBERNETES_SERVICE_PORT");
}

static int runs(void)
{
	FILE *f = fopen(path_of("runs"), "r");
	int n = 0;

	if (f) {
		while (fgetc(f) != EOF)
			n++;
		fclose(f);
	}
	return n;
}

static void test_exec(void)
{
	char text[4096], info[4096] = "";
	struct k8s_config *cfg;
	struct k8s_err err;
	struct kauth *a;
	struct kcred cr;
	FILE *f;

	/* a plugin in the kubeconfig's directory, named relative to it */
	mkdir(path_of("bin"), 0700);
	snprintf(
		text, sizeof(text),
		"#!/bin/sh\nprintf x >> '%s'\nprintf '%%s' \"$KUBERNETES_EXEC_INFO\" > '%s'\n"
		"[ \"$MODE\" = fail ] && { echo 'login required: run the-cloud login' >&2; exit 3; }\n"
		"[ \"$MODE\" = garbage ] && { echo 'hello'; exit 0; }\n"
		"exp=$(date -u -d \"@$(( $(date +%%s) + ${TTL:-3600} ))\" +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
		"printf '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"token\":\"exec-%%s\",\"expirationTimestamp\":\"%%s\"}}' \"$1\" \"$exp\"\n",
		path_of("runs"), path_of("info"));
	put_exec("bin/plugin.sh", text);
	snprintf(
		text, sizeof(text),
		"current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		"users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
		"      command: bin/plugin.sh\n      args: [arg1]\n      provideClusterInfo: true\n"
		"      env: [{name: TTL, value: '3600'}]\n      installHint: install the plugin\n"
		"contexts:\n- name: a\n  context: {cluster: c, user: u}\n");
	put("exec.yaml", text);
	T_ASSERT(!load(path_of("exec.yaml"), NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(cfg->auth == KAUTH_EXEC && !strcmp(cfg->exec.command, path_of("bin/plugin.sh")));
	T_ASSERT_EQ(runs(), 0); /* loading runs nothing */
	T_ASSERT(!kauth_new(cfg, &a));
	T_ASSERT(!kauth_get(a, false, &cr, &err), "%s", err.msg);
	T_ASSERT(!strcmp(cr.token, "exec-arg1") && cr.expires_ns > k8s_now_ns(), "%s", cr.token);
	kcred_fini(&cr);
	T_ASSERT_EQ(runs(), 1);
	f = fopen(path_of("info"), "r");
	T_ASSERT(f && fgets(info, sizeof(info), f));
	fclose(f);
	T_ASSERT(strstr(info, "\"kind\":\"ExecCredential\"") &&
			 strstr(info, "\"interactive\":false") &&
			 strstr(info, "\"server\":\"https://h:1\""),
		 "KUBERNETES_EXEC_INFO: %s", info);
	T_ASSERT(!kauth_get(a, false, &cr, &err));
	kcred_fini(&cr);
	T_ASSERT_EQ(runs(), 1); /* kept until its expiry */
	T_ASSERT(!kauth_get(a, true, &cr, &err));
	kcred_fini(&cr);
	T_ASSERT_EQ(runs(), 2); /* run again after a 401 */
	kauth_free(a);
	k8s_config_free(cfg);

	/* an expiry already (nearly) past: run again every time */
	setenv("TTL", "5", 1);
	snprintf(
		text, sizeof(text),
		"current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
		"users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n"
		"      command: %s\n"
		"contexts:\n- name: a\n  context: {cluster: c, user: u}\n",
		path_of("bin/plugin.sh"));
	put("exec2.yaml", text);
	T_ASSERT(!load(path_of("exec2.yaml"), NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(!kauth_new(cfg, &a));
	T_ASSERT(!kauth_get(a, false, &cr, &err));
	kcred_fini(&cr);
	T_ASSERT(!kauth_get(a, false, &cr, &err));
	kcred_fini(&cr);
	T_ASSERT_EQ(runs(), 4);
	unsetenv("TTL");
	/* failures: the plugin's own words, one line, no retry storm (one run each) */
	setenv("MODE", "fail", 1);
	T_ASSERT_EQ(kauth_get(a, true, &cr, &err), -EACCES);
	T_ASSERT(strstr(err.msg, "failed (exit 3): login required: run the-cloud login"), "%s",
		 err.msg);
	T_ASSERT_EQ(err.exit, K8S_EXIT_ACCESS);
	T_ASSERT_EQ(runs(), 5);
	setenv("MODE", "garbage", 1);
	T_ASSERT_EQ(kauth_get(a, true, &cr, &err), -EACCES);
	T_ASSERT(strstr(err.msg, "not an ExecCredential"), "%s", err.msg);
	unsetenv("MODE");
	kauth_free(a);
	k8s_config_free(cfg);
	/* a plugin that is not installed: the install hint */
	put("exec3.yaml",
	    "current-context: a\nclusters:\n- name: c\n  cluster: {server: 'https://h:1'}\n"
	    "users:\n- name: u\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1\n"
	    "      command: no-such-plugin-here\n      installHint: apt-get install the-plugin\n"
	    "contexts:\n- name: a\n  context: {cluster: c, user: u}\n");
	T_ASSERT(!load(path_of("exec3.yaml"), NULL, &cfg, &err), "%s", err.msg);
	T_ASSERT(!kauth_new(cfg, &a));
	T_ASSERT_EQ(kauth_get(a, false, &cr, &err), -EACCES);
	T_ASSERT(strstr(err.msg, "not found: apt-get install the-plugin"), "%s", err.msg);
	kauth_free(a);
	k8s_config_free(cfg);
}

static void test_exec_output(void)
{
	struct k8s_err err;
	struct kcred c;
	const char *cert =
		"{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\","
		"\"status\":{\"clientCertificateData\":\"-----BEGIN CERTIFICATE-----\\n\","
		"\"clientKeyData\":\"-----BEGIN EC PRIVATE KEY-----\\n\"}}";

	T_ASSERT(!kauth_parse_exec(cert, strlen(cert), &c, &err), "%s", err.msg);
	T_ASSERT(!c.token && c.cert && c.key && !c.expires_ns);
	kcred_fini(&c);
	T_ASSERT_EQ(kauth_parse_exec("{}", 2, &c, &err), -EACCES);
	{
		const char *e = "{\"kind\":\"ExecCredential\",\"status\":{}}";

		T_ASSERT_EQ(kauth_parse_exec(e, strlen(e), &c, &err), -EACCES);
	}
	T_ASSERT(strstr(err.msg, "neither"), "%s", err.msg);
	{
		const char *e = "{\"kind\":\"ExecCredential\",\"status\":{\"token\":\"t\","
				"\"expirationTimestamp\":\"soon\"}}";

		T_ASSERT_EQ(kauth_parse_exec(e, strlen(e), &c, &err), -EACCES);
		T_ASSERT(strstr(err.msg, "RFC 3339"), "%s", err.msg);
	}
}

static int load_data(const char *text, struct k8s_config **cfg, struct k8s_err *err)
{
	struct k8s_config_opts o = {.sz = sizeof(o),
				    .data = text,
				    .data_len = strlen(text),
				    .data_name = "Secret ferry-system/src key kubeconfig"};

	memset(err, 0, sizeof(*err));
	return k8s_config_load(&o, cfg, err);
}

/* a kubeconfig held in memory (a Secret's key): self-contained only */
static void test_data(void)
{
	static const char head[] = "apiVersion: v1\nkind: Config\ncurrent-context: src\n"
				   "contexts:\n- name: src\n  context: {cluster: c, user: u}\n";
	static const struct {
		const char *cluster, *user, *field;
	} refused[] = {
		{"    certificate-authority: /etc/ca.crt\n", "    token: t\n",
		 "certificate-authority"},
		{"", "    exec: {apiVersion: client.authentication.k8s.io/v1, command: aws}\n",
		 "exec"},
		{"", "    auth-provider: {name: oidc}\n", "auth-provider"},
		{"", "    tokenFile: /var/run/token\n", "tokenFile"},
		{"", "    client-certificate: c.crt\n    client-key-data: eA==\n",
		 "client-certificate"},
		{"", "    client-certificate-data: eA==\n    client-key: k.key\n", "client-key"},
	};
	char text[1024];
	struct k8s_config *cfg = NULL;
	struct k8s_err err;

	/* inline token and CA: taken, nothing read from disk, named by what it is */
	snprintf(text, sizeof(text),
		 "%sclusters:\n- name: c\n  cluster:\n    server: https://192.0.2.1:6443\n"
		 "    certificate-authority-data: " CA_B64 "\n"
		 "users:\n- name: u\n  user:\n    token: sa-token\n",
		 head);
	T_ASSERT(!load_data(text, &cfg, &err), "%s", err.msg);
	T_ASSERT(cfg->auth == KAUTH_TOKEN && !strcmp(cfg->token, "sa-token"));
	T_ASSERT(cfg->ca_data && !cfg->ca_file);
	T_ASSERT(strstr(k8s_config_source(cfg), "Secret ferry-system/src key kubeconfig"), "%s",
		 k8s_config_source(cfg));
	k8s_config_free(cfg);
	/* a KUBECONFIG in the environment is not read instead */
	setenv("KUBECONFIG", "/nonexistent/kubeconfig", 1);
	T_ASSERT(!load_data(text, &cfg, &err), "%s", err.msg);
	k8s_config_free(cfg);
	unsetenv("KUBECONFIG");
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		snprintf(
			text, sizeof(text),
			"%sclusters:\n- name: c\n  cluster:\n    server: https://192.0.2.1:6443\n%s"
			"users:\n- name: u\n  user:\n%s",
			head, refused[i].cluster, refused[i].user);
		cfg = NULL;
		T_ASSERT_EQ(load_data(text, &cfg, &err), -EINVAL);
		T_ASSERT(!cfg);
		T_ASSERT(!strcmp(err.reason, "NotSelfContained") &&
				 strstr(err.msg, refused[i].field) &&
				 strstr(err.msg, "Secret ferry-system/src key kubeconfig"),
			 "%zu: %s: %s", i, err.reason, err.msg);
	}
	/* not YAML: the line, named by what it is */
	T_ASSERT_EQ(load_data("clusters: [\n", &cfg, &err), -EINVAL);
	T_ASSERT(strstr(err.msg, "Secret ferry-system/src"), "%s", err.msg);
}

int main(void)
{
	k8s_set_log(logfn);
	dir = t_tmpdir("k8s-config");
	unsetenv("KUBECONFIG");
	test_one_file();
	test_merge();
	test_bad();
	test_in_cluster();
	test_exec();
	test_exec_output();
	test_data();
	t_rmtree(dir);
	free(dir);
	printf("t_k8s_config: ok\n");
	return 0;
}
