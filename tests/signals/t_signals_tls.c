// SPDX-License-Identifier: MIT
/*
 * tests/signals/t_signals_tls.c - the per-pod page over TLS (signals.h
 * sig_feed_opts.ca_file, httpd.h tls_cert/tls_key): a TLS server of
 * control/httpd on loopback serves a page, and the controller's feed reads
 * it only when the certificate is of its CA and names the agents' name.
 * Certificates are made for the test with the openssl command (a CA, a
 * server certificate for SIG_AGENT_TLS_NAME and 127.0.0.1, one for another
 * name, and another CA's); no mock: libmicrohttpd's GnuTLS on one side,
 * libcurl's OpenSSL on the other.
 *
 * Checked: the feed with the right CA gets the page's values, reaching the
 * agent's address under the agents' name (CURLOPT_CONNECT_TO), and the
 * agent sees the controller's token; with another CA, with a certificate
 * for another name, or in plain HTTP against the TLS port, the feed gets
 * nothing and the server never sees a request (so never the token); a feed
 * with a CA refuses an http:// URL; ctl_httpd_start() refuses a certificate
 * without its key, a missing file, a file that is no certificate, and a
 * key that does not match.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "control/httpd/httpd.h"
#include "control/signals/signals.h"
#include "t_helpers.h"

#define TOKEN "tok-0123456789"

static atomic_int requests, good_token;
static char dir[512];

static unsigned int page(void *arg, const char *authorization, FILE *f)
{
	static const char pods[] = "[{\"namespace\":\"web\",\"name\":\"web-1\",\"uid\":\"u-1\","
				   "\"v\":[250,null,null,null,null,null,null,null]}]";
	static _Atomic uint64_t seq;
	struct sig_page pg = {.node = "node-1", .interval_ms = 1000, .age_ms = 10};

	(void)arg;
	atomic_fetch_add(&requests, 1);
	if (authorization && !strcmp(authorization, "Bearer " TOKEN))
		atomic_fetch_add(&good_token, 1);
	pg.seq = atomic_fetch_add(&seq, 1) + 1;
	return sig_page_write(f, &pg, pods, strlen(pods)) ? 500 : 200;
}

static const struct ctl_httpd_page pages[] = {
	{SIG_PATH, NULL, "application/json", page},
};

static char *path(const char *name)
{
	static char p[8][600];
	static int i;
	char *r = p[i++ % 8];

	snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
	return r;
}

static void run(char *const argv[])
{
	int ret = t_spawn(argv);

	if (ret)
		t_error("%s %s: exit %d", argv[0], argv[1], ret);
}

/* a key and a certificate for @names, signed by the CA @ca (its .crt and .key) */
static void make_cert(const char *name, const char *ca, const char *names)
{
	char key[600], csr[600], crt[600], ext[600], cacrt[600], cakey[600], srl[600], buf[300];

	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(csr, sizeof(csr), "%s/%s.csr", dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(ext, sizeof(ext), "%s/%s.ext", dir, name);
	snprintf(cacrt, sizeof(cacrt), "%s/%s.crt", dir, ca);
	snprintf(cakey, sizeof(cakey), "%s/%s.key", dir, ca);
	snprintf(srl, sizeof(srl), "%s/%s.srl", dir, ca);
	snprintf(buf, sizeof(buf), "subjectAltName=%s\n", names);
	t_write_file(ext, buf, strlen(buf));
	run((char *const[]){"openssl", "req", "-newkey", "ec", "-pkeyopt",
			    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
			    "-subj", "/CN=ferry-agent", "-batch", NULL});
	run((char *const[]){"openssl", "x509", "-req", "-in", csr, "-CA", cacrt, "-CAkey", cakey,
			    "-CAserial", srl, "-CAcreateserial", "-days", "2", "-extfile", ext,
			    "-out", crt, NULL});
}

static void make_ca(const char *name)
{
	char key[600], crt[600];

	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	run((char *const[]){"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
			    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", crt,
			    "-subj", "/CN=ferry test CA", "-days", "2", "-batch", NULL});
}

static struct ctl_httpd *serve(const char *name)
{
	char crt[600], key[600];
	struct ctl_httpd_opts o = {.sz = sizeof(o),
				   .addr = "127.0.0.1:0",
				   .pages = pages,
				   .npages = 1,
				   .tls_cert = crt,
				   .tls_key = key};
	struct ctl_httpd *h;
	int ret;

	snprintf(crt, sizeof(crt), "%s/%s.crt", dir, name);
	snprintf(key, sizeof(key), "%s/%s.key", dir, name);
	ret = ctl_httpd_start(&o, &h);
	T_ASSERT(!ret, "ctl_httpd_start with %s: %s", name, strerror(-ret));
	return h;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

/*
 * Run a feed of one URL for up to @wait_ms; return whether it got the
 * page's value; @st gets its counters.
 */
static bool feed_reads(const char *url, const char *ca, const char *connect_to, long wait_ms,
		       struct sig_feed_stats *st)
{
	const char *urls[] = {url};
	struct sig_feed_opts fo = {.sz = sizeof(fo),
				   .token_file = path("token"),
				   .period_ms = 100,
				   .timeout_ms = 2000,
				   .urls = urls,
				   .nurls = 1,
				   .ca_file = ca,
				   .connect_to = connect_to};
	struct sig_feed *f;
	bool got = false;
	int ret;

	ret = sig_feed_new(NULL, &fo, &f);
	T_ASSERT(!ret, "sig_feed_new: %s", strerror(-ret));
	for (long t = 0; t < wait_ms && !got; t += 50) {
		const struct sig_point *pts;
		size_t n;

		sleep_ms(50);
		got = !sig_feed_points(f, SIG_CPU, "u-1", &pts, &n) && n && pts[n - 1].value == 250;
	}
	sig_feed_stats(f, st);
	sig_feed_free(f);
	return got;
}

static void test_refusals(void)
{
	struct ctl_httpd_opts o = {.sz = sizeof(o),
				   .addr = "127.0.0.1:0",
				   .pages = pages,
				   .npages = 1,
				   .tls_cert = path("agent.crt")};
	struct ctl_httpd *h = NULL;

	T_ASSERT(ctl_httpd_start(&o, &h) == -EINVAL && !h, "a certificate without its key");
	o.tls_cert = NULL;
	o.tls_key = path("agent.key");
	T_ASSERT(ctl_httpd_start(&o, &h) == -EINVAL && !h, "a key without its certificate");
	o.tls_cert = path("nothing.crt");
	T_ASSERT(ctl_httpd_start(&o, &h) == -ENOENT && !h, "a missing certificate file");
	o.tls_cert = path("token");
	T_ASSERT(ctl_httpd_start(&o, &h) == -EINVAL && !h, "a file that is no certificate");
	o.tls_cert = path("agent.key");
	T_ASSERT(ctl_httpd_start(&o, &h) == -EINVAL && !h, "a key given as the certificate");
	o.tls_cert = path("agent.crt");
	o.tls_key = path("other-agent.key");
	T_ASSERT(ctl_httpd_start(&o, &h) == -EKEYREJECTED && !h, "a key of another certificate");
}

int main(void)
{
	char *tmp = t_tmpdir("sigtls");
	struct ctl_httpd *good, *misnamed;
	struct sig_feed_stats st;
	char url[200], ct[200], plain[200];
	unsigned int port;
	int before;

	if (access("/usr/bin/openssl", X_OK))
		t_skip("no openssl command to make the test's certificates");
	snprintf(dir, sizeof(dir), "%s", tmp);
	t_write_file(path("token"), TOKEN "\n", strlen(TOKEN) + 1);
	make_ca("ca");
	make_ca("other-ca");
	make_cert("agent", "ca", "DNS:" SIG_AGENT_TLS_NAME ",IP:127.0.0.1");
	make_cert("misnamed", "ca", "DNS:other.example");
	make_cert("other-agent", "other-ca", "DNS:" SIG_AGENT_TLS_NAME ",IP:127.0.0.1");

	test_refusals();

	good = serve("agent");
	port = ctl_httpd_port(good);
	snprintf(url, sizeof(url), "https://%s:%u%s", SIG_AGENT_TLS_NAME, port, SIG_PATH);
	snprintf(ct, sizeof(ct), "%s:%u:127.0.0.1:%u", SIG_AGENT_TLS_NAME, port, port);
	T_ASSERT(feed_reads(url, path("ca.crt"), ct, 10000, &st),
		 "the right CA: the page's value (pages %llu, failures %llu)",
		 (unsigned long long)st.pages, (unsigned long long)st.failures);
	T_ASSERT(atomic_load(&good_token) > 0 && atomic_load(&good_token) == atomic_load(&requests),
		 "every request carried the controller's token");
	snprintf(plain, sizeof(plain), "https://127.0.0.1:%u%s", port, SIG_PATH);
	T_ASSERT(feed_reads(plain, path("ca.crt"), NULL, 10000, &st),
		 "an address the certificate names (IP:127.0.0.1) reads too");

	before = atomic_load(&requests);
	T_ASSERT(!feed_reads(url, path("other-ca.crt"), ct, 1500, &st), "another CA: nothing");
	T_ASSERT(st.pages == 0 && st.failures > 0, "another CA: only failures");
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%u%s", port, SIG_PATH);
	T_ASSERT(!feed_reads(plain, NULL, NULL, 1500, &st), "plain HTTP to the TLS port: nothing");
	T_ASSERT(st.pages == 0 && st.failures > 0, "plain HTTP: only failures");
	T_ASSERT(!feed_reads(plain, path("ca.crt"), NULL, 1500, &st),
		 "a feed with a CA does not read http://");
	T_ASSERT(st.pages == 0 && st.failures > 0, "http:// with a CA: only failures");
	T_ASSERT_EQ(atomic_load(&requests), before); /* no token left the feed */

	misnamed = serve("misnamed");
	port = ctl_httpd_port(misnamed);
	snprintf(url, sizeof(url), "https://%s:%u%s", SIG_AGENT_TLS_NAME, port, SIG_PATH);
	snprintf(ct, sizeof(ct), "%s:%u:127.0.0.1:%u", SIG_AGENT_TLS_NAME, port, port);
	T_ASSERT(!feed_reads(url, path("ca.crt"), ct, 1500, &st),
		 "the right CA, another name: nothing");
	T_ASSERT(st.pages == 0 && st.failures > 0, "another name: only failures");
	T_ASSERT_EQ(atomic_load(&requests), before);

	ctl_httpd_stop(misnamed);
	ctl_httpd_stop(good);
	t_rmtree(tmp);
	free(tmp);
	printf("t_signals_tls: the feed reads the page over TLS only from a certificate of its "
	       "CA for the agents' name\n");
	return 0;
}
