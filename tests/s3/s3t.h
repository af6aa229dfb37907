/* SPDX-License-Identifier: MIT */
/*
 * tests/s3/s3t.h - what the S3 integration tests share: the fixture of
 * tests/run, a unique prefix per run, and the fault proxy (s3proxy.py).
 */
#ifndef FERRY_TESTS_S3T_H
#define FERRY_TESTS_S3T_H

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "s3/store.h"
#include "t_helpers.h"

struct s3t {
	const char *endpoint, *ak, *sk, *region, *bucket, *srcdir;
	char prefix[64]; /* "t-<name>-<random>" */
	char url[256];	 /* s3://bucket/prefix */
};

static inline const char *s3t_need(const char *var)
{
	const char *v = getenv(var);

	if (!v || !v[0])
		t_fail("%s is not set: run the S3 tests through tests/run, which starts the RGW",
		       var);
	return v;
}

/* Read the fixture; credentials go to the environment as AWS_* for the chain. */
static inline void s3t_init(struct s3t *t, const char *name)
{
	unsigned int r;

	t->endpoint = s3t_need("FERRY_TEST_S3_ENDPOINT");
	t->ak = s3t_need("FERRY_TEST_S3_ACCESS_KEY");
	t->sk = s3t_need("FERRY_TEST_S3_SECRET_KEY");
	t->region = s3t_need("FERRY_TEST_S3_REGION");
	t->bucket = s3t_need("FERRY_TEST_S3_BUCKET");
	t->srcdir = s3t_need("FERRY_S3_TESTDIR");
	if (getrandom(&r, sizeof(r), 0) != sizeof(r))
		t_error("getrandom");
	snprintf(t->prefix, sizeof(t->prefix), "t-%s-%08x", name, r);
	snprintf(t->url, sizeof(t->url), "s3://%s/%s", t->bucket, t->prefix);
	setenv("AWS_ACCESS_KEY_ID", t->ak, 1);
	setenv("AWS_SECRET_ACCESS_KEY", t->sk, 1);
	unsetenv("AWS_SESSION_TOKEN");
	unsetenv("AWS_PROFILE");
	setenv("AWS_REGION", t->region, 1);
	unsetenv("AWS_ENDPOINT_URL");
	unsetenv("AWS_ENDPOINT_URL_S3");
	unsetenv("AWS_CA_BUNDLE");
}

static inline struct s3_store *s3t_open(const struct s3t *t, const char *endpoint,
					struct s3_store_opts *o)
{
	struct s3_store_opts def = {.sz = sizeof(def)};
	struct s3_store *st;
	int ret;

	if (!o)
		o = &def;
	o->sz = sizeof(*o);
	o->endpoint = endpoint ? endpoint : t->endpoint;
	ret = s3_store_open(t->url, o, &st);
	if (ret)
		t_fail("open %s at %s: %d %s", t->url, o->endpoint, ret, s3_last_error());
	return st;
}

static inline double s3t_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static pid_t s3t_proxy_pid;

/* a failing test exits: take the proxy with it */
static inline void s3t_proxy_kill(void)
{
	if (s3t_proxy_pid > 0)
		kill(s3t_proxy_pid, SIGKILL);
}

struct s3t_proxy {
	pid_t pid;
	int port;
	char endpoint[64];
	char log[256], bins[256], portfile[256];
};

/*
 * Start s3proxy.py in front of the fixture; @extra are more arguments
 * (NULL-terminated). Its log and bins live in @dir.
 */
static inline void s3t_proxy_start(const struct s3t *t, struct s3t_proxy *p, const char *dir,
				   const char *const *extra)
{
	char script[512], upstream[128];
	const char *argv[40];
	int n = 0, i;
	FILE *f;

	const char *ep = strstr(t->endpoint, "://");

	snprintf(script, sizeof(script), "%s/s3proxy.py", t->srcdir);
	snprintf(upstream, sizeof(upstream), "%s", ep ? ep + 3 : t->endpoint);
	upstream[strcspn(upstream, "/")] = '\0';
	snprintf(p->log, sizeof(p->log), "%s/proxy.log", dir);
	snprintf(p->bins, sizeof(p->bins), "%s/proxy.bins", dir);
	snprintf(p->portfile, sizeof(p->portfile), "%s/proxy.port", dir);
	unlink(p->log);
	unlink(p->bins);
	unlink(p->portfile);
	argv[n++] = "/usr/bin/python3";
	argv[n++] = script;
	argv[n++] = "--upstream";
	argv[n++] = upstream;
	argv[n++] = "--port-file";
	argv[n++] = p->portfile;
	argv[n++] = "--log";
	argv[n++] = p->log;
	argv[n++] = "--bins";
	argv[n++] = p->bins;
	for (i = 0; extra && extra[i] && n < 38; i++)
		argv[n++] = extra[i];
	argv[n] = NULL;
	p->pid = fork();
	if (p->pid < 0)
		t_error("fork");
	if (p->pid == 0) {
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	s3t_proxy_pid = p->pid;
	atexit(s3t_proxy_kill);
	for (i = 0; i < 200; i++) {
		f = fopen(p->portfile, "r");
		if (f) {
			int ok = fscanf(f, "%d", &p->port) == 1;

			fclose(f);
			if (ok)
				break;
		}
		usleep(25000);
	}
	if (i == 200)
		t_error("s3proxy.py did not start");
	snprintf(p->endpoint, sizeof(p->endpoint), "http://127.0.0.1:%d", p->port);
}

static inline void s3t_proxy_stop(struct s3t_proxy *p)
{
	int status;

	if (p->pid <= 0)
		return;
	kill(p->pid, SIGTERM);
	waitpid(p->pid, &status, 0);
	p->pid = 0;
	s3t_proxy_pid = 0;
}

/* Lines of the proxy log that contain every one of @subs (NULL-terminated). */
static inline int s3t_proxy_count(const struct s3t_proxy *p, const char *const *subs)
{
	FILE *f = fopen(p->log, "r");
	char line[4096];
	int n = 0;

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f)) {
		int ok = 1;

		for (int i = 0; subs[i]; i++)
			ok &= strstr(line, subs[i]) != NULL;
		n += ok;
	}
	fclose(f);
	return n;
}

#endif /* FERRY_TESTS_S3T_H */
