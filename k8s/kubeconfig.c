// SPDX-License-Identifier: MIT
/*
 * k8s/kubeconfig.c - where to connect and as whom: kubeconfig files
 * (--kubeconfig, KUBECONFIG's list merged, ~/.kube/config) or the pod's
 * service account (in-cluster), resolved into one struct k8s_config.
 *
 * Merging follows clientcmd's loading rules: the files of KUBECONFIG are read
 * in order, a cluster, user or context is taken from the first file that
 * names it, current-context from the first file that sets one, and files
 * that do not exist are skipped. Paths are resolved against the directory
 * of the file that holds them. Nothing here touches the network or runs an
 * exec plugin; files the configuration names are checked to exist, so a
 * wrong path is reported at load, naming the kubeconfig.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "k8s_int.h"

#define KUBECONFIG_MAX (16u << 20)
#define SA_DIR	       "/var/run/secrets/kubernetes.io/serviceaccount"

/* one named entry of clusters/users/contexts, from the first file naming it */
struct named {
	const char *name;
	const cJSON *v; /* the "cluster"/"user"/"context" object */
	size_t file;	/* index into the files */
};

struct merged {
	struct named *clusters, *users, *contexts;
	size_t nclusters, nusers, ncontexts;
	const char *current;
	size_t current_file;
};

static void config_free_strings(struct k8s_config *c)
{
	free(c->server);
	free(c->source);
	free(c->file);
	free(c->cluster_name);
	free(c->user_name);
	free(c->context_name);
	free(c->ns);
	free(c->ca_file);
	free(c->ca_data);
	free(c->cert_file);
	free(c->key_file);
	free(c->cert_data);
	if (c->key_data)
		OPENSSL_cleanse(c->key_data, c->key_data_len);
	free(c->key_data);
	free(c->tls_server_name);
	free(c->proxy_url);
	kfree_secret(c->token);
	free(c->token_file);
	free(c->username);
	kfree_secret(c->password);
	free(c->exec.api_version);
	free(c->exec.command);
	if (c->exec.argv)
		for (char **a = c->exec.argv; *a; a++)
			free(*a);
	free(c->exec.argv);
	if (c->exec.env)
		for (char **e = c->exec.env; *e; e++)
			kfree_secret(*e);
	free(c->exec.env);
	free(c->exec.install_hint);
	free(c->exec.interactive);
	free(c->exec.dir);
}

void k8s_config_free(struct k8s_config *cfg)
{
	if (!cfg)
		return;
	config_free_strings(cfg);
	OPENSSL_cleanse(cfg, sizeof(*cfg));
	free(cfg);
}

const char *k8s_config_ns(const struct k8s_config *cfg)
{
	return cfg && cfg->ns ? cfg->ns : "default";
}

const char *k8s_config_server(const struct k8s_config *cfg)
{
	return cfg && cfg->server ? cfg->server : "";
}

const char *k8s_config_source(const struct k8s_config *cfg)
{
	return cfg && cfg->source ? cfg->source : "";
}

/* ------------------------------------------------------------ helpers */

/* @p resolved against the directory of @file (malloc()ed) */
/*
 * Paths in a kubeconfig are relative to the file that holds them (not to
 * the current directory): clientcmd's ResolvePaths.
 */
static char *resolve(const char *file, const char *p)
{
	const char *slash;
	struct kbuf b = {0};

	if (!p)
		return NULL;
	if (p[0] == '/' || !file || !(slash = strrchr(file, '/')))
		return strdup(p);
	kbuf_add(&b, file, (size_t)(slash - file) + 1);
	kbuf_puts(&b, p);
	return kbuf_take(&b);
}

static char *dirname_of(const char *file)
{
	const char *slash = file ? strrchr(file, '/') : NULL;

	if (!slash)
		return strdup(".");
	if (slash == file)
		return strdup("/");
	return strndup(file, (size_t)(slash - file));
}

/* a bool that may be written true or "true" */
static bool yes(const cJSON *v)
{
	return cJSON_IsTrue(v) || (cJSON_IsString(v) && !strcmp(v->valuestring, "true"));
}

/*
 * Collect the named entries of one list (clusters, users, contexts) of one
 * file: a name already seen in an earlier file is skipped, so the first file
 * wins per name, as clientcmd merges KUBECONFIG's files.
 */
static int collect(const cJSON *doc, const char *list, const char *inner, size_t file,
		   struct named **arr, size_t *n)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(doc, list), *e;

	if (!l || cJSON_IsNull(l))
		return 0;
	if (!cJSON_IsArray(l))
		return -EINVAL;
	cJSON_ArrayForEach(e, l) {
		const char *name = kjson_str(e, "name");
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, inner);
		bool seen = false;
		struct named *a;

		if (!name)
			return -EINVAL;
		for (size_t i = 0; i < *n; i++)
			seen |= !strcmp((*arr)[i].name, name);
		if (seen)
			continue; /* the first file wins */
		a = realloc(*arr, (*n + 1) * sizeof(*a));
		if (!a)
			return -ENOMEM;
		*arr = a;
		a[*n].name = name;
		a[*n].v = v;
		a[*n].file = file;
		(*n)++;
	}
	return 0;
}

static const struct named *find(const struct named *arr, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(arr[i].name, name))
			return &arr[i];
	return NULL;
}

/* "a, b, c" (at most ~120 bytes) */
static void names_of(const struct named *arr, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	if (!n) {
		snprintf(buf, size, "none");
		return;
	}
	for (size_t i = 0; i < n && off < size; i++) {
		int w = snprintf(buf + off, size - off, "%s%s", i ? ", " : "", arr[i].name);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* decode a -data field; -EINVAL names it */
static int data_field(const cJSON *v, const char *field, char **out, size_t *len, const char *file,
		      const char *what, struct k8s_err *err)
{
	const char *s = kjson_str(v, field);
	unsigned char *buf;
	int ret;

	*out = NULL;
	*len = 0;
	if (!s)
		return 0;
	ret = kb64_decode(s, strlen(s), &buf, len);
	if (ret == -EINVAL)
		return kerr_set(err, ret, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: %s: %s is not base64", file, what, field);
	if (ret)
		return ret;
	*out = (char *)buf;
	return 0;
}

/* a file field, resolved and checked to exist */
static int file_field(const cJSON *v, const char *field, char **out, const char *file,
		      const char *what, struct k8s_err *err)
{
	const char *s = kjson_str(v, field);

	*out = NULL;
	if (!s || !*s)
		return 0;
	*out = resolve(file, s);
	if (!*out)
		return -ENOMEM;
	if (access(*out, R_OK)) {
		int e = errno;

		return kerr_set(
			err, -e, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: %s: %s %s: %s (relative paths are resolved against the kubeconfig's directory)",
			file, what, field, *out, strerror(e));
	}
	return 0;
}

/* ------------------------------------------------------------ the user */

static int strv_from(const cJSON *arr, const char *first, char ***out)
{
	size_t n = (size_t)cJSON_GetArraySize(arr), k = 0;
	const cJSON *e;
	char **v = calloc(n + 2, sizeof(*v));

	if (!v)
		return -ENOMEM;
	if (first && !(v[k++] = strdup(first)))
		goto out_nomem;
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e)) {
			for (size_t i = 0; i < k; i++)
				free(v[i]);
			free(v);
			return -EINVAL;
		}
		v[k] = strdup(e->valuestring);
		if (!v[k++])
			goto out_nomem;
	}
	*out = v;
	return 0;
out_nomem:
	for (size_t i = 0; i < k; i++)
		free(v[i]);
	free(v);
	return -ENOMEM;
}

/*
 * An exec credential plugin: checked and copied now, run later (auth.c),
 * when a credential is first needed. A command with a '/' is relative to
 * the kubeconfig's directory, a bare name is looked up in PATH. The env
 * entries may hold secrets (they are wiped with the configuration).
 */
static int exec_from(const cJSON *x, const char *file, const char *uname, struct k8s_config *c,
		     struct k8s_err *err)
{
	const char *api = kjson_str(x, "apiVersion"), *cmd = kjson_str(x, "command");
	const char *mode = kjson_str(x, "interactiveMode");
	const cJSON *env = cJSON_GetObjectItemCaseSensitive(x, "env"), *e;
	size_t n = 0;
	int ret;

	if (!cmd || !*cmd)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: user '%s': exec has no command", file, uname);
	if (!api || (strcmp(api, "client.authentication.k8s.io/v1") &&
		     strcmp(api, "client.authentication.k8s.io/v1beta1")))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: user '%s': exec apiVersion '%s' is not supported (client.authentication.k8s.io/v1 or v1beta1)",
			file, uname, api ? api : "");
	if (mode && !strcmp(mode, "Always"))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: user '%s': exec interactiveMode Always needs a terminal, and ferry runs unattended: use a plugin that works with Never or IfAvailable",
			file, uname);
	c->exec.api_version = strdup(api);
	c->exec.dir = dirname_of(file);
	c->exec.interactive = strdup(mode ? mode : "IfAvailable");
	c->exec.provide_cluster_info =
		yes(cJSON_GetObjectItemCaseSensitive(x, "provideClusterInfo"));
	if (kjson_str(x, "installHint"))
		c->exec.install_hint = strdup(kjson_str(x, "installHint"));
	/* a command with a '/' in it is relative to the kubeconfig; else PATH */
	c->exec.command = strchr(cmd, '/') ? resolve(file, cmd) : strdup(cmd);
	if (!c->exec.api_version || !c->exec.dir || !c->exec.interactive || !c->exec.command)
		return -ENOMEM;
	ret = strv_from(cJSON_GetObjectItemCaseSensitive(x, "args"), c->exec.command,
			&c->exec.argv);
	if (ret == -EINVAL)
		return kerr_set(err, ret, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: user '%s': exec args must be strings", file, uname);
	if (ret)
		return ret;
	c->exec.env = calloc((size_t)cJSON_GetArraySize(env) + 1, sizeof(char *));
	if (!c->exec.env)
		return -ENOMEM;
	cJSON_ArrayForEach(e, env) {
		const char *k = kjson_str(e, "name"), *v = kjson_str(e, "value");
		struct kbuf b = {0};

		if (!k || !*k || strchr(k, '=') || !v)
			return kerr_set(
				err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: user '%s': exec env entries need a name and a value",
				file, uname);
		kbuf_printf(&b, "%s=%s", k, v);
		c->exec.env[n] = kbuf_take(&b);
		if (!c->exec.env[n++])
			return -ENOMEM;
	}
	c->auth = KAUTH_EXEC;
	return 0;
}

/*
 * The user: a client certificate and key (files or data) may come with any
 * one of token, tokenFile, exec or username/password, taken in that order
 * of precedence (clientcmd's). Legacy auth-provider plugins and
 * impersonation are refused with the way out.
 */
static int user_from(const cJSON *u, const char *file, const char *uname, struct k8s_config *c,
		     struct k8s_err *err)
{
	const cJSON *x = cJSON_GetObjectItemCaseSensitive(u, "exec");
	const char *tok = kjson_str(u, "token");
	char what[300];
	int ret;

	snprintf(what, sizeof(what), "user '%s'", uname);
	if (cJSON_GetObjectItemCaseSensitive(u, "auth-provider"))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: user '%s': auth-provider is not supported: use an exec credential plugin (for GKE: gke-gcloud-auth-plugin; for OIDC: kubelogin)",
			file, uname);
	if (cJSON_GetObjectItemCaseSensitive(u, "as") ||
	    cJSON_GetObjectItemCaseSensitive(u, "as-groups"))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: user '%s': impersonation (as, as-groups) is not supported",
			file, uname);
	ret = file_field(u, "client-certificate", &c->cert_file, file, what, err);
	if (!ret)
		ret = file_field(u, "client-key", &c->key_file, file, what, err);
	if (!ret)
		ret = data_field(u, "client-certificate-data", &c->cert_data, &c->cert_data_len,
				 file, what, err);
	if (!ret)
		ret = data_field(u, "client-key-data", &c->key_data, &c->key_data_len, file, what,
				 err);
	if (ret)
		return ret;
	if ((c->cert_file || c->cert_data) != (c->key_file || c->key_data))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: user '%s': a client certificate needs its key (client-key or client-key-data), and a key its certificate",
			file, uname);
	if (tok && *tok) {
		c->auth = KAUTH_TOKEN;
		c->token = strdup(tok);
		return c->token ? 0 : -ENOMEM;
	}
	if (kjson_str(u, "tokenFile") && *kjson_str(u, "tokenFile")) {
		ret = file_field(u, "tokenFile", &c->token_file, file, what, err);
		if (ret)
			return ret;
		c->auth = KAUTH_TOKEN_FILE;
		return 0;
	}
	if (x && !cJSON_IsNull(x))
		return exec_from(x, file, uname, c, err);
	if (kjson_str(u, "username")) {
		c->auth = KAUTH_BASIC;
		c->username = strdup(kjson_str(u, "username"));
		c->password = strdup(kjson_str(u, "password") ? kjson_str(u, "password") : "");
		return c->username && c->password ? 0 : -ENOMEM;
	}
	c->auth = KAUTH_NONE;
	return 0;
}

/* ------------------------------------------------------------ the cluster */

/*
 * The cluster: an http(s) server (without a trailing '/'), its CA (file or
 * data), tls-server-name and proxy-url. A CA together with
 * insecure-skip-tls-verify is refused, as clientcmd refuses it.
 */
static int cluster_from(const cJSON *cl, const char *file, const char *cname, struct k8s_config *c,
			struct k8s_err *err)
{
	const char *server = kjson_str(cl, "server");
	char what[300];
	size_t n;
	int ret;

	snprintf(what, sizeof(what), "cluster '%s'", cname);
	if (!server || !*server)
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: cluster '%s' has no server", file, cname);
	if (strncmp(server, "https://", 8) && strncmp(server, "http://", 7))
		return kerr_set(err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: cluster '%s': server '%s' is not an http(s):// URL",
				file, cname, server);
	c->server = strdup(server);
	if (!c->server)
		return -ENOMEM;
	n = strlen(c->server);
	while (n > 8 && c->server[n - 1] == '/')
		c->server[--n] = '\0';
	ret = file_field(cl, "certificate-authority", &c->ca_file, file, what, err);
	if (!ret)
		ret = data_field(cl, "certificate-authority-data", &c->ca_data, &c->ca_data_len,
				 file, what, err);
	if (ret)
		return ret;
	c->insecure = yes(cJSON_GetObjectItemCaseSensitive(cl, "insecure-skip-tls-verify"));
	if (c->insecure && (c->ca_file || c->ca_data))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
			"kubeconfig %s: cluster '%s' gives a CA and insecure-skip-tls-verify: drop one",
			file, cname);
	if (kjson_str(cl, "tls-server-name") && *kjson_str(cl, "tls-server-name"))
		c->tls_server_name = strdup(kjson_str(cl, "tls-server-name"));
	if (kjson_str(cl, "proxy-url") && *kjson_str(cl, "proxy-url"))
		c->proxy_url = strdup(kjson_str(cl, "proxy-url"));
	return 0;
}

/* ------------------------------------------------------------ merging */

static const char *file_list(const struct kcfg_file *files, size_t n, char *buf, size_t size)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && off < size; i++) {
		int w = snprintf(buf + off, size - off, "%s%s", i ? ":" : "", files[i].path);

		if (w < 0)
			break;
		off += (size_t)w;
	}
	return buf;
}

/*
 * A kubeconfig held in memory (a Secret's key) must carry everything it
 * needs: no file of the reader's machine, no program to run. The fields
 * that name files or programs are refused with the inline form to use.
 */
static int self_contained(const struct named *cl, const struct named *us,
			  const struct kcfg_file *files, struct k8s_err *err)
{
	static const struct {
		const char *field, *fix;
	} user_refused[] = {
		{"exec", "a token (a service account's, from kubectl create token) or "
			 "client-certificate-data and client-key-data"},
		{"auth-provider", "a token or client-certificate-data and client-key-data"},
		{"tokenFile", "token"},
		{"client-certificate", "client-certificate-data"},
		{"client-key", "client-key-data"},
	};
	const cJSON *ca = cJSON_GetObjectItemCaseSensitive(cl->v, "certificate-authority");

	if (ca && !cJSON_IsNull(ca))
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "NotSelfContained",
			"kubeconfig %s: cluster '%s' names a file (certificate-authority): a kubeconfig read from memory cannot use the reader's files; use certificate-authority-data",
			files[cl->file].path, cl->name);
	for (size_t i = 0; us && i < sizeof(user_refused) / sizeof(user_refused[0]); i++) {
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(us->v, user_refused[i].field);

		if (!v || cJSON_IsNull(v))
			continue;
		return kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "NotSelfContained",
			"kubeconfig %s: user '%s' uses %s: a kubeconfig read from memory is used unattended by another process, which runs no credential plugin and reads none of its files; use %s",
			files[us->file].path, us->name, user_refused[i].field, user_refused[i].fix);
	}
	return 0;
}

/*
 * The configuration from kubeconfig files already read: parsed, merged,
 * then the context (--context or current-context), its cluster and user
 * resolved; every failure names the file and what is missing, and lists
 * what there is instead.
 */
int kcfg_from_buffers(const struct kcfg_file *files, size_t n, const struct k8s_config_opts *o,
		      struct k8s_config **out, struct k8s_err *err)
{
	struct merged m = {0};
	cJSON **docs = NULL;
	struct k8s_config *c = NULL;
	const struct named *ctx, *cl, *us = NULL;
	const char *cname, *uname, *ns;
	char fl[200], names[160];
	int ret;

	kerr_clear(err);
	*out = NULL;
	docs = calloc(n ? n : 1, sizeof(*docs));
	if (!docs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		char what[600];

		snprintf(what, sizeof(what), "kubeconfig %s", files[i].path);
		ret = kyaml_parse(files[i].buf, files[i].len, &docs[i], err, what);
		if (ret)
			goto out;
		if (!cJSON_IsObject(docs[i]) && !cJSON_IsNull(docs[i])) {
			ret = kerr_set(
				err, -EINVAL, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: not a kubeconfig (a YAML mapping with clusters, users, contexts)",
				files[i].path);
			goto out;
		}
		ret = collect(docs[i], "clusters", "cluster", i, &m.clusters, &m.nclusters);
		if (!ret)
			ret = collect(docs[i], "users", "user", i, &m.users, &m.nusers);
		if (!ret)
			ret = collect(docs[i], "contexts", "context", i, &m.contexts, &m.ncontexts);
		if (ret == -EINVAL)
			ret = kerr_set(
				err, ret, K8S_EXIT_USAGE, "BadConfig",
				"kubeconfig %s: clusters, users and contexts must be lists of entries with a name",
				files[i].path);
		if (ret)
			goto out;
		if (!m.current && kjson_str(docs[i], "current-context") &&
		    *kjson_str(docs[i], "current-context")) {
			m.current = kjson_str(docs[i], "current-context");
			m.current_file = i;
		}
	}
	file_list(files, n, fl, sizeof(fl));
	names_of(m.contexts, m.ncontexts, names, sizeof(names));
	cname = o && o->context && *o->context ? o->context : m.current;
	if (!cname) {
		ret = kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "NoContext",
			"kubeconfig %s: no current-context and no --context given (contexts: %s)",
			fl, names);
		goto out;
	}
	ctx = find(m.contexts, m.ncontexts, cname);
	if (!ctx) {
		ret = kerr_set(
			err, -EINVAL, K8S_EXIT_USAGE, "NoContext",
			"kubeconfig %s: context '%s' not found (contexts: %s): use --context with one of them",
			fl, cname, names);
		goto out;
	}
	{
		const char *clname = kjson_str(ctx->v, "cluster");

		names_of(m.clusters, m.nclusters, names, sizeof(names));
		cl = clname ? find(m.clusters, m.nclusters, clname) : NULL;
		if (!cl) {
			ret = kerr_set(
				err, -EINVAL, K8S_EXIT_USAGE, "NoCluster",
				"kubeconfig %s: context '%s' names cluster '%s', which is not defined (clusters: %s)",
				files[ctx->file].path, cname, clname ? clname : "", names);
			goto out;
		}
	}
	uname = kjson_str(ctx->v, "user");
	if (uname && *uname) {
		us = find(m.users, m.nusers, uname);
		if (!us) {
			names_of(m.users, m.nusers, names, sizeof(names));
			ret = kerr_set(
				err, -EINVAL, K8S_EXIT_USAGE, "NoUser",
				"kubeconfig %s: context '%s' names user '%s', which is not defined (users: %s)",
				files[ctx->file].path, cname, uname, names);
			goto out;
		}
	}
	if (o && o->data) {
		ret = self_contained(cl, us, files, err);
		if (ret)
			goto out;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		ret = -ENOMEM;
		goto out;
	}
	ret = cluster_from(cl->v, files[cl->file].path, cl->name, c, err);
	if (ret)
		goto out;
	if (us) {
		ret = user_from(us->v, files[us->file].path, us->name, c, err);
		if (ret)
			goto out;
	}
	ns = o && o->ns && *o->ns ? o->ns : kjson_str(ctx->v, "namespace");
	c->ns = strdup(ns && *ns ? ns : "default");
	c->file = strdup(files[cl->file].path);
	c->cluster_name = strdup(cl->name);
	c->user_name = strdup(us ? us->name : "");
	c->context_name = strdup(cname);
	{
		struct kbuf b = {0};

		kbuf_printf(&b, "kubeconfig %s, context %s", fl, cname);
		c->source = kbuf_take(&b);
	}
	if (!c->ns || !c->file || !c->cluster_name || !c->user_name || !c->context_name ||
	    !c->source) {
		ret = -ENOMEM;
		goto out;
	}
	if (c->insecure)
		pr_warn("kubeconfig %s: cluster '%s' sets insecure-skip-tls-verify: the certificate of %s is NOT verified, so anyone on the way can read and change this traffic, tokens included",
			c->file, c->cluster_name, c->server);
	*out = c;
	c = NULL;
	ret = 0;
out:
	if (ret == -ENOMEM && err && !err->code)
		kerr_set(err, ret, -1, "", "kubeconfig: out of memory");
	k8s_config_free(c);
	for (size_t i = 0; i < n; i++)
		cJSON_Delete(docs[i]);
	free(docs);
	free(m.clusters);
	free(m.users);
	free(m.contexts);
	return ret;
}

/* ------------------------------------------------------------ in-cluster */

/*
 * The pod's service account: KUBERNETES_SERVICE_HOST/PORT (an IPv6 address
 * bracketed), its token file (re-read by auth.c), CA and namespace.
 */
static int in_cluster(const struct k8s_config_opts *o, struct k8s_config **out, struct k8s_err *err)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	const char *dir = o && o->sa_dir ? o->sa_dir : SA_DIR;
	struct k8s_config *c;
	struct kbuf b = {0};
	char *nsbuf = NULL;
	size_t nslen;
	int ret;

	*out = NULL;
	if (!host || !*host || !port || !*port)
		return kerr_set(
			err, -ENOENT, K8S_EXIT_USAGE, "NoConfig",
			"not running in a cluster (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are unset)");
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->in_cluster = true;
	c->auth = KAUTH_TOKEN_FILE;
	kbuf_printf(&b, strchr(host, ':') ? "https://[%s]:%s" : "https://%s:%s", host, port);
	c->server = kbuf_take(&b);
	kbuf_printf(&b, "%s/token", dir);
	c->token_file = kbuf_take(&b);
	kbuf_printf(&b, "%s/ca.crt", dir);
	c->ca_file = kbuf_take(&b);
	c->file = strdup("");
	c->source = strdup("in-cluster (service account)");
	c->cluster_name = strdup("in-cluster");
	c->user_name = strdup("service account");
	c->context_name = strdup("in-cluster");
	if (!c->server || !c->token_file || !c->ca_file || !c->file || !c->source ||
	    !c->cluster_name || !c->user_name || !c->context_name) {
		ret = -ENOMEM;
		goto out_free;
	}
	if (access(c->token_file, R_OK) || access(c->ca_file, R_OK)) {
		int e = errno;

		ret = kerr_set(
			err, -e, K8S_EXIT_USAGE, "NoConfig",
			"in-cluster: cannot read %s or %s (%s): is a service account token mounted (automountServiceAccountToken)?",
			c->token_file, c->ca_file, strerror(e));
		goto out_free;
	}
	kbuf_printf(&b, "%s/namespace", dir);
	{
		char *p = kbuf_take(&b);

		ret = p ? kfile_read(p, 4096, &nsbuf, &nslen) : -ENOMEM;
		free(p);
	}
	if (ret == -ENOMEM)
		goto out_free;
	if (o && o->ns && *o->ns) {
		c->ns = strdup(o->ns);
	} else if (!ret) {
		while (nslen && (nsbuf[nslen - 1] == '\n' || nsbuf[nslen - 1] == ' '))
			nsbuf[--nslen] = '\0';
		c->ns = strdup(nslen ? nsbuf : "default");
	} else {
		c->ns = strdup("default");
	}
	free(nsbuf);
	if (!c->ns) {
		ret = -ENOMEM;
		goto out_free;
	}
	*out = c;
	return 0;
out_free:
	k8s_config_free(c);
	return ret;
}

/* ------------------------------------------------------------ loading */

int k8s_config_load(const struct k8s_config_opts *opts, struct k8s_config **out,
		    struct k8s_err *err)
{
	struct k8s_config_opts o = {0};
	struct kcfg_file *files = NULL;
	char **bufs = NULL, **paths = NULL;
	size_t n = 0, cap = 0;
	const char *env = getenv("KUBECONFIG"), *home = getenv("HOME");
	int ret = 0;

	kerr_clear(err);
	*out = NULL;
	if (opts)
		memcpy(&o, opts, opts->sz && opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.in_cluster)
		return in_cluster(&o, out, err);
	if (o.data) {
		struct kcfg_file f = {.path = o.data_name && *o.data_name ? o.data_name
									  : "(memory)",
				      .buf = o.data,
				      .len = o.data_len};

		if (o.data_len > KUBECONFIG_MAX)
			return kerr_set(err, -EFBIG, K8S_EXIT_USAGE, "BadConfig",
					"kubeconfig %s: larger than 16 MiB", f.path);
		return kcfg_from_buffers(&f, 1, &o, out, err);
	}

	/* the list of candidate files, in order */
	if (o.kubeconfig && *o.kubeconfig) {
		cap = 1;
		paths = calloc(1, sizeof(*paths));
		if (!paths || !(paths[n++] = strdup(o.kubeconfig))) {
			ret = -ENOMEM;
			goto out;
		}
	} else if (env && *env) {
		for (const char *p = env; *p; p++)
			cap += *p == ':';
		cap += 1;
		paths = calloc(cap, sizeof(*paths));
		if (!paths) {
			ret = -ENOMEM;
			goto out;
		}
		for (const char *p = env, *end; *p; p = *end ? end + 1 : end) {
			bool dup = false;
			char *t;

			end = strchr(p, ':');
			if (!end)
				end = p + strlen(p);
			if (end == p)
				continue;
			t = strndup(p, (size_t)(end - p));
			if (!t) {
				ret = -ENOMEM;
				goto out;
			}
			for (size_t i = 0; i < n; i++)
				dup |= !strcmp(paths[i], t);
			if (dup)
				free(t);
			else
				paths[n++] = t;
		}
	} else if (home && *home) {
		struct kbuf b = {0};
		char *p;

		kbuf_printf(&b, "%s/.kube/config", home);
		p = kbuf_take(&b);
		if (!p) {
			ret = -ENOMEM;
			goto out;
		}
		if (access(p, F_OK)) {
			free(p);
			if (!getenv("KUBERNETES_SERVICE_HOST"))
				return kerr_set(
					err, -ENOENT, K8S_EXIT_USAGE, "NoConfig",
					"no kubeconfig (--kubeconfig, KUBECONFIG, %s/.kube/config) and not in a cluster (KUBERNETES_SERVICE_HOST unset)",
					home);
			return in_cluster(&o, out, err);
		}
		cap = 1;
		paths = calloc(1, sizeof(*paths));
		if (!paths) {
			free(p);
			ret = -ENOMEM;
			goto out;
		}
		paths[n++] = p;
	} else {
		return in_cluster(&o, out, err);
	}

	files = calloc(n ? n : 1, sizeof(*files));
	bufs = calloc(n ? n : 1, sizeof(*bufs));
	if (!files || !bufs) {
		ret = -ENOMEM;
		goto out;
	}
	{
		size_t k = 0;

		for (size_t i = 0; i < n; i++) {
			size_t len;

			ret = kfile_read(paths[i], KUBECONFIG_MAX, &bufs[k], &len);
			/* files of KUBECONFIG that do not exist are skipped, as clientcmd does */
			if (ret == -ENOENT && !(o.kubeconfig && *o.kubeconfig))
				continue;
			if (ret) {
				kerr_set(err, ret, K8S_EXIT_USAGE, "BadConfig",
					 "kubeconfig %s: %s%s", paths[i],
					 ret == -EFBIG ? "larger than 16 MiB" : strerror(-ret),
					 ret == -ENOENT
						 ? ": give an existing file with --kubeconfig"
						 : "");
				goto out;
			}
			files[k].path = paths[i];
			files[k].buf = bufs[k];
			files[k].len = len;
			k++;
		}
		if (!k) {
			ret = kerr_set(err, -ENOENT, K8S_EXIT_USAGE, "NoConfig",
				       "none of the files KUBECONFIG lists exists (%s)", env);
			goto out;
		}
		ret = kcfg_from_buffers(files, k, &o, out, err);
	}
out:
	for (size_t i = 0; i < n; i++) {
		if (bufs && bufs[i]) {
			OPENSSL_cleanse(bufs[i], strlen(bufs[i]));
			free(bufs[i]);
		}
		free(paths[i]);
	}
	free(bufs);
	free(paths);
	free(files);
	if (ret == -ENOMEM && err && !err->code)
		kerr_set(err, ret, -1, "", "kubeconfig: out of memory");
	return ret;
}
