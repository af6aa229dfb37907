// SPDX-License-Identifier: MIT
/*
 * k8s/auth.c - the credential each request carries, kept fresh: a token file
 * re-read every minute and after a 401 (bound service-account tokens expire
 * in an hour and the kubelet rotates them), an exec credential plugin run
 * when first needed, again at its expirationTimestamp and after a 401.
 *
 * Threads: one lock; whoever needs a credential refreshes it. An exec plugin
 * may take seconds (a cloud login): blocking calls refresh before they queue
 * their request, so the I/O thread rarely waits for one.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "k8s_int.h"

extern char **environ;

#define TOKEN_MAX	   (64u << 10)
#define TOKEN_REREAD_MS	   60000
#define EXEC_OUT_MAX	   (1u << 20)
#define EXEC_TIMEOUT_MS	   60000
#define EXEC_EXPIRY_MARGIN 10 /* s: run again this long before the expiry */

struct kauth {
	pthread_mutex_t lock;
	const struct k8s_config *cfg;
	struct kcred cur;
	bool have;
};

void kcred_fini(struct kcred *c)
{
	if (!c)
		return;
	kfree_secret(c->token);
	if (c->cert)
		OPENSSL_cleanse(c->cert, c->cert_len);
	free(c->cert);
	if (c->key)
		OPENSSL_cleanse(c->key, c->key_len);
	free(c->key);
	memset(c, 0, sizeof(*c));
}

static char *memdup0(const char *p, size_t n)
{
	char *q = malloc(n + 1);

	if (q) {
		memcpy(q, p, n);
		q[n] = '\0';
	}
	return q;
}

static int cred_copy(const struct kcred *from, struct kcred *to)
{
	memset(to, 0, sizeof(*to));
	to->expires_ns = from->expires_ns;
	to->read_ms = from->read_ms;
	if (from->token && !(to->token = strdup(from->token)))
		goto out_nomem;
	if (from->cert && !(to->cert = memdup0(from->cert, from->cert_len)))
		goto out_nomem;
	to->cert_len = from->cert_len;
	if (from->key && !(to->key = memdup0(from->key, from->key_len)))
		goto out_nomem;
	to->key_len = from->key_len;
	return 0;
out_nomem:
	kcred_fini(to);
	return -ENOMEM;
}

int kauth_new(const struct k8s_config *cfg, struct kauth **out)
{
	struct kauth *a = calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	pthread_mutex_init(&a->lock, NULL);
	a->cfg = cfg;
	*out = a;
	return 0;
}

void kauth_free(struct kauth *a)
{
	if (!a)
		return;
	kcred_fini(&a->cur);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

bool kauth_refreshable(const struct kauth *a)
{
	return a->cfg->auth == KAUTH_TOKEN_FILE || a->cfg->auth == KAUTH_EXEC;
}

/* ------------------------------------------------------------ token files */

/*
 * Read the token file again. A file that is briefly missing or empty (the
 * kubelet swaps a projected token by symlinks) keeps the last good token.
 */
static int read_token(struct kauth *a, struct k8s_err *err)
{
	char *buf;
	size_t len;
	int ret = kfile_read(a->cfg->token_file, TOKEN_MAX, &buf, &len);

	if (ret) {
		/* a rotation in progress: keep the token that worked */
		if (a->have && ret != -ENOMEM)
			return 0;
		return kerr_set(
			err, ret == -ENOMEM ? ret : -EACCES, K8S_EXIT_ACCESS, "TokenFile",
			"cannot read the token file %s (%s)%s", a->cfg->token_file, strerror(-ret),
			a->cfg->in_cluster ? ": is the service account token mounted?" : "");
	}
	while (len && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' '))
		buf[--len] = '\0';
	if (!len) {
		free(buf);
		if (a->have)
			return 0;
		return kerr_set(err, -EACCES, K8S_EXIT_ACCESS, "TokenFile",
				"the token file %s is empty", a->cfg->token_file);
	}
	kcred_fini(&a->cur);
	a->cur.token = buf;
	a->cur.read_ms = kmono_ms();
	a->have = true;
	return 0;
}

/* ------------------------------------------------------------ exec plugins */

/*
 * An ExecCredential from the plugin's stdout: a token, or a client
 * certificate and key, and maybe an expiry. Every string of the parsed tree
 * is wiped before it is freed.
 */
int kauth_parse_exec(const char *buf, size_t len, struct kcred *out, struct k8s_err *err)
{
	cJSON *j = kjson_parse(buf, len);
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(j, "status");
	const char *tok = kjson_str(st, "token"), *cert = kjson_str(st, "clientCertificateData");
	const char *key = kjson_str(st, "clientKeyData"),
		   *exp = kjson_str(st, "expirationTimestamp");
	const char *kind = kjson_str(j, "kind");
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!j || !kind || strcmp(kind, "ExecCredential") || !cJSON_IsObject(st)) {
		ret = kerr_set(
			err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
			"its output is not an ExecCredential (JSON with kind ExecCredential and a status)");
		goto out;
	}
	if (!tok && !(cert && key)) {
		ret = kerr_set(
			err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
			"its ExecCredential has neither status.token nor clientCertificateData and clientKeyData");
		goto out;
	}
	if ((cert != NULL) != (key != NULL)) {
		ret = kerr_set(
			err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
			"its ExecCredential has a client certificate without its key, or a key without its certificate");
		goto out;
	}
	if (exp && k8s_time_parse(exp, &out->expires_ns)) {
		ret = kerr_set(err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
			       "its expirationTimestamp '%.40s' is not an RFC 3339 time", exp);
		goto out;
	}
	if ((tok && !(out->token = strdup(tok))) ||
	    (cert && !(out->cert = memdup0(cert, strlen(cert)))) ||
	    (key && !(out->key = memdup0(key, strlen(key))))) {
		kcred_fini(out);
		ret = kerr_set(err, -ENOMEM, -1, "", "out of memory");
		goto out;
	}
	out->cert_len = cert ? strlen(cert) : 0;
	out->key_len = key ? strlen(key) : 0;
	out->read_ms = kmono_ms();
out:
	if (j) {
		/* the parse tree holds copies of the secrets */
		const cJSON *v;

		cJSON_ArrayForEach(v, st)
			if (cJSON_IsString(v))
				OPENSSL_cleanse(v->valuestring, strlen(v->valuestring));
		cJSON_Delete(j);
	}
	return ret;
}

/* KUBERNETES_EXEC_INFO=<ExecCredential with spec> */
/*
 * KUBERNETES_EXEC_INFO: an ExecCredential with spec.interactive false (no
 * terminal here) and, if the kubeconfig asks for it (provideClusterInfo),
 * the cluster: server, CA, TLS settings.
 */
static char *exec_info(const struct k8s_config *cfg)
{
	cJSON *j = cJSON_CreateObject(), *spec, *cl;
	struct kbuf b = {0};
	char *s = NULL, *p;

	if (!j || !cJSON_AddStringToObject(j, "apiVersion", cfg->exec.api_version) ||
	    !cJSON_AddStringToObject(j, "kind", "ExecCredential") ||
	    !(spec = cJSON_AddObjectToObject(j, "spec")) ||
	    !cJSON_AddFalseToObject(spec, "interactive"))
		goto out;
	if (cfg->exec.provide_cluster_info) {
		cl = cJSON_AddObjectToObject(spec, "cluster");
		if (!cl || !cJSON_AddStringToObject(cl, "server", cfg->server))
			goto out;
		if (cfg->ca_data) {
			char *b64 = kb64_encode(cfg->ca_data, cfg->ca_data_len);

			if (!b64 ||
			    !cJSON_AddStringToObject(cl, "certificate-authority-data", b64)) {
				free(b64);
				goto out;
			}
			free(b64);
		}
		if (cfg->insecure && !cJSON_AddTrueToObject(cl, "insecure-skip-tls-verify"))
			goto out;
		if (cfg->tls_server_name &&
		    !cJSON_AddStringToObject(cl, "tls-server-name", cfg->tls_server_name))
			goto out;
	}
	p = cJSON_PrintUnformatted(j);
	if (!p)
		goto out;
	kbuf_printf(&b, "KUBERNETES_EXEC_INFO=%s", p);
	cJSON_free(p);
	s = kbuf_take(&b);
out:
	cJSON_Delete(j);
	return s;
}

/* run the plugin, its stdout into @out (malloc()ed), the start of stderr into @errtxt */
/*
 * Run the plugin (posix_spawnp, stdin /dev/null) with its args and env over
 * ours, stdout collected (1 MiB at most), the first line of stderr kept for
 * the message, killed after 60 s.
 */
static int run_plugin(const struct k8s_config *cfg, char **out, size_t *outlen, char *errtxt,
		      size_t errsize, int *status)
{
	int po[2] = {-1, -1}, pe[2] = {-1, -1}, ret = 0;
	posix_spawn_file_actions_t fa;
	char **envp = NULL, *info = exec_info(cfg);
	size_t nenv = 0, nown = 0, elen = 0;
	struct kbuf ob = {.max = EXEC_OUT_MAX};
	uint64_t deadline = kmono_ms() + EXEC_TIMEOUT_MS;
	pid_t pid;

	*out = NULL;
	errtxt[0] = '\0';
	if (!info)
		return -ENOMEM;
	for (char **e = environ; e && *e; e++)
		nenv++;
	for (char **e = cfg->exec.env; e && *e; e++)
		nown++;
	envp = calloc(nenv + nown + 2, sizeof(*envp));
	if (!envp) {
		free(info);
		return -ENOMEM;
	}
	{
		size_t k = 0;

		/* the plugin's own env entries win over ours */
		for (char **e = cfg->exec.env; e && *e; e++)
			envp[k++] = *e;
		for (char **e = environ; e && *e; e++) {
			bool shadowed = !strncmp(*e, "KUBERNETES_EXEC_INFO=", 21);
			const char *eq = strchr(*e, '=');

			for (char **o = cfg->exec.env; !shadowed && eq && o && *o; o++)
				shadowed = !strncmp(*o, *e, (size_t)(eq - *e) + 1);
			if (!shadowed)
				envp[k++] = *e;
		}
		envp[k++] = info;
	}
	if (pipe2(po, O_CLOEXEC) || pipe2(pe, O_CLOEXEC)) {
		ret = -errno;
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, po[1], 1);
	posix_spawn_file_actions_adddup2(&fa, pe[1], 2);
	ret = -posix_spawnp(&pid, cfg->exec.command, &fa, NULL, cfg->exec.argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(po[1]);
	close(pe[1]);
	po[1] = pe[1] = -1;
	if (ret)
		goto out;
	for (;;) {
		struct pollfd pf[2] = {{.fd = po[0], .events = POLLIN},
				       {.fd = pe[0], .events = POLLIN}};
		uint64_t now = kmono_ms();
		char tmp[4096];
		int n;

		if (po[0] < 0 && pe[0] < 0)
			break;
		if (now >= deadline) {
			kill(pid, SIGKILL);
			ret = -ETIMEDOUT;
			break;
		}
		n = poll(pf, 2, (int)(deadline - now));
		if (n < 0 && errno != EINTR) {
			ret = -errno;
			kill(pid, SIGKILL);
			break;
		}
		for (int i = 0; i < 2; i++) {
			ssize_t r;

			if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			r = read(pf[i].fd, tmp, sizeof(tmp));
			if (r <= 0) {
				close(pf[i].fd);
				if (i)
					pe[0] = -1;
				else
					po[0] = -1;
				continue;
			}
			if (i == 0) {
				kbuf_add(&ob, tmp, (size_t)r);
			} else if (elen + 1 < errsize) {
				size_t m = (size_t)r < errsize - elen - 1 ? (size_t)r
									  : errsize - elen - 1;

				memcpy(errtxt + elen, tmp, m);
				elen += m;
				errtxt[elen] = '\0';
			}
		}
		OPENSSL_cleanse(tmp, sizeof(tmp));
	}
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	if (!ret && ob.failed)
		ret = -EFBIG;
	if (!ret) {
		*outlen = ob.len;
		*out = kbuf_take(&ob);
		if (!*out)
			ret = -ENOMEM;
	}
out:
	kbuf_wipe(&ob);
	for (int i = 0; i < 2; i++) {
		if (po[i] >= 0)
			close(po[i]);
		if (pe[i] >= 0)
			close(pe[i]);
	}
	free(envp);
	free(info);
	/* the first line of stderr is enough */
	errtxt[strcspn(errtxt, "\r\n")] = '\0';
	return ret;
}

static int run_exec(struct kauth *a, struct k8s_err *err)
{
	const struct k8s_config *cfg = a->cfg;
	const char *hint = cfg->exec.install_hint;
	char errtxt[200], *buf = NULL;
	struct kcred c;
	size_t len = 0;
	int status = 0, ret;

	ret = run_plugin(cfg, &buf, &len, errtxt, sizeof(errtxt), &status);
	if (ret == -ENOENT || ret == -EACCES)
		return kerr_set(err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
				"exec plugin '%s' of user '%s' (%s) %s: %s", cfg->exec.command,
				cfg->user_name, cfg->file,
				ret == -ENOENT ? "not found" : "cannot be run",
				hint ? hint : "install it or fix the kubeconfig's exec.command");
	if (ret == -ETIMEDOUT)
		return kerr_set(err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
				"exec plugin '%s' of user '%s' gave no credential within %d s",
				cfg->exec.command, cfg->user_name, EXEC_TIMEOUT_MS / 1000);
	if (ret)
		return kerr_set(err, ret == -ENOMEM ? ret : -EACCES, -1, "ExecPlugin",
				"exec plugin '%s' of user '%s': %s", cfg->exec.command,
				cfg->user_name, strerror(-ret));
	if (!WIFEXITED(status) || WEXITSTATUS(status)) {
		ret = kerr_set(err, -EACCES, K8S_EXIT_ACCESS, "ExecPlugin",
			       "exec plugin '%s' of user '%s' (%s) failed (%s %d)%s%s",
			       cfg->exec.command, cfg->user_name, cfg->file,
			       WIFEXITED(status) ? "exit" : "signal",
			       WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			       errtxt[0] ? ": " : "", errtxt);
		goto out;
	}
	ret = kauth_parse_exec(buf, len, &c, err);
	if (ret) {
		char pre[300];

		snprintf(pre, sizeof(pre), "exec plugin '%.100s' of user '%.100s'",
			 cfg->exec.command, cfg->user_name);
		kerr_prefix(err, pre);
		goto out;
	}
	kcred_fini(&a->cur);
	a->cur = c;
	a->have = true;
	pr_debug("k8s: exec plugin '%s' gave a credential%s", cfg->exec.command,
		 c.expires_ns ? " with an expiry" : "");
out:
	if (buf) {
		OPENSSL_cleanse(buf, len);
		free(buf);
	}
	return ret;
}

int kauth_get(struct kauth *a, bool stale, struct kcred *out, struct k8s_err *err)
{
	const struct k8s_config *cfg = a->cfg;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&a->lock);
	switch (cfg->auth) {
	case KAUTH_NONE:
	case KAUTH_BASIC:
		break;
	case KAUTH_TOKEN:
		if (!(out->token = strdup(cfg->token)))
			ret = -ENOMEM;
		break;
	case KAUTH_TOKEN_FILE:
		if (!a->have || stale || kmono_ms() - a->cur.read_ms >= TOKEN_REREAD_MS)
			ret = read_token(a, err);
		if (!ret)
			ret = cred_copy(&a->cur, out);
		break;
	case KAUTH_EXEC:
		if (!a->have || stale ||
		    (a->cur.expires_ns &&
		     k8s_now_ns() >= a->cur.expires_ns - (int64_t)EXEC_EXPIRY_MARGIN * 1000000000))
			ret = run_exec(a, err);
		if (!ret)
			ret = cred_copy(&a->cur, out);
		break;
	}
	pthread_mutex_unlock(&a->lock);
	if (ret == -ENOMEM && err && !err->code)
		kerr_set(err, ret, -1, "", "out of memory");
	return ret;
}
