// SPDX-License-Identifier: MIT
/*
 * tests/cbt/t_cbt_grpc.c - cbt_grpc_call() against a server that answers
 * wrong on purpose (tests/cbt/grpc_fake.py: python3-h2 over TLS on
 * 127.0.0.1): messages cut across DATA frames, a trailers-only status with a
 * percent-encoded message, an HTTP status without grpc-status, a stream that
 * ends without a status or is reset, an answer that is not
 * application/grpc, a message above the limit, one cut short, a compressed
 * one, UNAVAILABLE after a message, an unknown method, a server without
 * HTTP/2, a CA that did not sign the server; the request's headers and
 * framing are checked by the server (echo).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control/cbt/cbt.h"
#include "t_helpers.h"

static char ca[8192], other[8192];
static size_t ca_len, other_len;
static int h2_port, h1_port;
static char dir[] = "/tmp/t-cbt-grpc-XXXXXX";

static void cleanup(void)
{
	static const char *const names[] = {"ca.crt",  "ca.key",    "srv.crt",
					    "srv.key", "other.crt", "other.key"};
	char path[sizeof(dir) + 16];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

struct got {
	size_t n, bytes;
	char first[32];
};

static int on_msg(void *arg, const uint8_t *msg, size_t len, struct cbt_err *e)
{
	struct got *g = arg;

	(void)e;
	if (!g->n)
		snprintf(g->first, sizeof(g->first), "%.*s", (int)(len < 31 ? len : 31),
			 (const char *)msg);
	g->n++;
	g->bytes += len;
	return 0;
}

static int call(int port, const char *method, const char *req, struct got *g,
		struct cbt_grpc_result *r, struct cbt_err *e)
{
	char url[128];
	struct cbt_grpc_call c = {.url = url,
				  .ca = ca,
				  .ca_len = ca_len,
				  .req = req,
				  .req_len = req ? strlen(req) : 0,
				  .timeout_ms = 10000,
				  .fn = on_msg,
				  .arg = g};

	memset(g, 0, sizeof(*g));
	e->msg[0] = '\0';
	snprintf(url, sizeof(url), "https://127.0.0.1:%d/t.S/%s", port, method);
	return cbt_grpc_call(&c, r, e);
}

static size_t read_file(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		t_error("no %s", path);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

static void start_server(void)
{
	const char *src = getenv("FERRY_SRC");
	char script[4096], path[4096];
	int in[2], out[2];
	FILE *f;
	pid_t pid;

	if (system("/usr/bin/python3 -c 'import h2' 2>/dev/null"))
		t_skip("python3-h2 is missing (tests/install-deps.sh)");
	if (!src)
		t_error("FERRY_SRC is not set (run under meson test)");
	snprintf(script, sizeof(script), "%s/tests/cbt/grpc_fake.py", src);
	if (!mkdtemp(dir) || pipe(in) || pipe(out))
		t_error("mkdtemp/pipe");
	atexit(cleanup);
	pid = fork();
	if (pid < 0)
		t_error("fork");
	if (!pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl("/usr/bin/python3", "python3", script, dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	/* in[1] stays open: the server runs until this process exits */
	f = fdopen(out[0], "r");
	if (!f || fscanf(f, "%d %d", &h2_port, &h1_port) != 2)
		t_error("grpc_fake.py did not start");
	snprintf(path, sizeof(path), "%s/ca.crt", dir);
	ca_len = read_file(path, ca, sizeof(ca));
	snprintf(path, sizeof(path), "%s/other.crt", dir);
	other_len = read_file(path, other, sizeof(other));
}

int main(void)
{
	struct cbt_grpc_result r;
	struct cbt_err e;
	struct got g;
	int ret;

	signal(SIGPIPE, SIG_IGN);
	start_server();

	ret = call(h2_port, "ok", "req", &g, &r, &e);
	T_ASSERT(ret == 0, "ok: %d %s", ret, e.msg);
	T_ASSERT(g.n == 4 && g.bytes == 3 + 0 + 70000 + 4 && !strcmp(g.first, "one"),
		 "ok: %zu messages, %zu bytes", g.n, g.bytes);
	T_ASSERT(r.status == 0 && r.http == 200 && r.messages == 4 && !r.broken);

	ret = call(h2_port, "echo", "the request", &g, &r, &e);
	T_ASSERT(ret == 0 && g.n == 1 && !strcmp(g.first, "the request"),
		 "the server checked the request's headers and framing: %d %s", ret, e.msg);
	ret = call(h2_port, "echo", NULL, &g, &r, &e);
	T_ASSERT(ret == 0 && g.n == 1 && g.bytes == 0, "an empty request: %d %s", ret, e.msg);

	ret = call(h2_port, "trailers-only", "x", &g, &r, &e);
	T_ASSERT(ret == -EPERM && r.status == 7 && !r.broken, "trailers-only: %d", ret);
	T_ASSERT(strstr(e.msg, "PERMISSION_DENIED: user \"x\" may not"), "%s", e.msg);

	ret = call(h2_port, "http503", "x", &g, &r, &e);
	T_ASSERT(ret == -EAGAIN && r.broken && r.status == CBT_GRPC_UNAVAILABLE, "503: %d", ret);
	T_ASSERT(strstr(e.msg, "UNAVAILABLE: HTTP 503"), "%s", e.msg);

	ret = call(h2_port, "no-status", "x", &g, &r, &e);
	T_ASSERT(ret == -ECONNRESET && r.broken && g.n == 1, "no status: %d %zu", ret, g.n);
	T_ASSERT(strstr(e.msg, "without a grpc-status"), "%s", e.msg);

	ret = call(h2_port, "reset", "x", &g, &r, &e);
	T_ASSERT(ret == -ECONNRESET && r.broken && g.n == 1, "connection dropped: %d %zu %s", ret,
		 g.n, e.msg);

	ret = call(h2_port, "html", "x", &g, &r, &e);
	T_ASSERT(ret == -EPROTONOSUPPORT && g.n == 0, "text/html: %d", ret);
	T_ASSERT(strstr(e.msg, "not application/grpc"), "%s", e.msg);

	ret = call(h2_port, "big", "x", &g, &r, &e);
	T_ASSERT(ret == -EMSGSIZE && g.n == 0, "5 MiB message: %d", ret);
	T_ASSERT(strstr(e.msg, "above the limit of 4194304"), "%s", e.msg);

	ret = call(h2_port, "cut", "x", &g, &r, &e);
	T_ASSERT(ret == -EBADMSG && g.n == 1, "a message cut short: %d", ret);
	T_ASSERT(strstr(e.msg, "ended inside message 2"), "%s", e.msg);

	ret = call(h2_port, "compressed", "x", &g, &r, &e);
	T_ASSERT(ret == -EBADMSG && g.n == 0, "compressed: %d", ret);

	ret = call(h2_port, "unavailable", "x", &g, &r, &e);
	T_ASSERT(ret == -EAGAIN && r.broken && g.n == 1, "UNAVAILABLE: %d", ret);
	T_ASSERT(strstr(e.msg, "UNAVAILABLE: going away"), "%s", e.msg);

	ret = call(h2_port, "nope", "x", &g, &r, &e);
	T_ASSERT(ret == -EOPNOTSUPP && !r.broken, "unknown method: %d", ret);

	ret = call(h1_port, "ok", "x", &g, &r, &e);
	T_ASSERT(ret == -EPROTONOSUPPORT, "an HTTP/1.1 server: %d %s", ret, e.msg);
	T_ASSERT(strstr(e.msg, "HTTP/2"), "%s", e.msg);

	/* a CA that did not sign the server; a host name the certificate does not hold */
	{
		char url[128];
		struct cbt_grpc_call c = {.url = url,
					  .ca = other,
					  .ca_len = other_len,
					  .req = "x",
					  .req_len = 1,
					  .fn = on_msg,
					  .arg = &g};

		snprintf(url, sizeof(url), "https://127.0.0.1:%d/t.S/ok", h2_port);
		ret = cbt_grpc_call(&c, &r, &e);
		T_ASSERT(ret == -EKEYREJECTED && g.n == 0, "another CA: %d %s", ret, e.msg);
		T_ASSERT(strstr(e.msg, "not trusted"), "%s", e.msg);
		c.ca = ca;
		c.ca_len = ca_len;
		snprintf(url, sizeof(url), "https://localhost:%d/t.S/ok", h2_port);
		ret = cbt_grpc_call(&c, &r, &e);
		T_ASSERT(ret == -EKEYREJECTED, "a name the certificate does not hold: %d %s", ret,
			 e.msg);
	}
	printf("PASS: cbt_grpc_call against grpc_fake.py: 16 answers\n");
	return 0;
}
