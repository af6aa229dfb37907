// SPDX-License-Identifier: MIT
/*
 * control/agent/tlsreload.c - the agent's TLS listener, restarted with a
 * renewed certificate (tlsreload.h).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tlsreload.h"
#include "control/cli/cli.h"

struct agent_tls {
	struct ctl_httpd_opts o;
	char *cert, *key, *addr;
	struct ctl_httpd *srv; /* NULL after a restart that failed */
	struct stat sc, sk;    /* the files the listener (or the last refused pair) has */
	bool refused;	       /* the pair of @sc, @sk did not load */
	double every, next;
};

static bool same(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int agent_tls_new(const struct ctl_httpd_opts *o, struct ctl_httpd *srv, double every_s,
		  struct agent_tls **out)
{
	struct agent_tls *t;

	*out = NULL;
	if (!o->tls_cert || !o->tls_key || every_s <= 0)
		return -EINVAL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->o = *o;
	t->cert = strdup(o->tls_cert);
	t->key = strdup(o->tls_key);
	t->addr = strdup(o->addr ? o->addr : "");
	if (!t->cert || !t->key || !t->addr) {
		free(t->cert);
		free(t->key);
		free(t->addr);
		free(t);
		return -ENOMEM;
	}
	t->o.tls_cert = t->cert;
	t->o.tls_key = t->key;
	t->o.addr = o->addr ? t->addr : NULL;
	t->every = every_s;
	/* what the running listener read (a file that cannot be stat()ed: the next look tries) */
	stat(t->cert, &t->sc);
	stat(t->key, &t->sk);
	t->srv = srv;
	*out = t;
	return 0;
}

int agent_tls_poll(struct agent_tls *t, double now)
{
	struct ctl_httpd_opts probe = t->o;
	struct ctl_httpd *h = NULL;
	struct stat sc, sk;
	int ret;

	if (now < t->next)
		return 0;
	t->next = now + t->every;
	if (stat(t->cert, &sc) || stat(t->key, &sk))
		return 0; /* between the kubelet's steps, or gone: the listener keeps its pair */
	if (t->refused && same(&sc, &t->sc) && same(&sk, &t->sk))
		return -EKEYREJECTED; /* said once */
	if (t->srv && same(&sc, &t->sc) && same(&sk, &t->sk))
		return 0;
	probe.addr = "127.0.0.1:0";
	ret = ctl_httpd_start(&probe, &h);
	ctl_httpd_stop(h);
	if (ret) {
		t->sc = sc;
		t->sk = sk;
		t->refused = true;
		ctl_log(CTL_LOG_WARN,
			"agent: --tls-cert %s, --tls-key %s changed but do not load (%s): still serving the previous certificate",
			t->cert, t->key, strerror(-ret));
		return ret;
	}
	t->refused = false;
	ctl_httpd_stop(t->srv);
	t->srv = NULL;
	ret = ctl_httpd_start(&t->o, &t->srv);
	if (ret) {
		t->srv = NULL;
		ctl_log(CTL_LOG_ERR,
			"agent: restart of https://%s with the renewed certificate: %s",
			t->o.addr ? t->o.addr : "", strerror(-ret));
		return ret;
	}
	t->sc = sc;
	t->sk = sk;
	ctl_log(CTL_LOG_INFO, "agent: the certificate %s changed: https://%s restarted with it",
		t->cert, t->o.addr ? t->o.addr : "");
	return 1;
}

void agent_tls_free(struct agent_tls *t)
{
	if (!t)
		return;
	ctl_httpd_stop(t->srv);
	free(t->cert);
	free(t->key);
	free(t->addr);
	free(t);
}
