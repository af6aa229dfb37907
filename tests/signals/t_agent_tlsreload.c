// SPDX-License-Identifier: MIT
/*
 * tests/signals/t_agent_tlsreload.c - the agent's TLS listener restarted
 * with a renewed certificate (control/agent/tlsreload.h), as the kubelet
 * renews a mounted Secret: the files are links into ..data, itself a link
 * to a directory of the version, swapped by one rename.
 *
 * Checked, with libcurl (OpenSSL) as the controller's feed reads (the
 * agents' name connected to 127.0.0.1, the CA given as CURLOPT_CAINFO_BLOB):
 * a look with nothing changed restarts nothing; a certificate of another CA
 * swapped in is served after the next look (the new CA reads, the old one
 * is refused), not before it is time to look; a pair that does not load (a
 * key of another certificate) is refused, said once, and the previous
 * certificate goes on being served; a file rewritten in place (same inode,
 * new mtime) is taken too.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "control/agent/tlsreload.h"
#include "control/signals/signals.h"
#include "t_helpers.h"

static char dir[512];
static unsigned int port;

static unsigned int page(void *arg, FILE *f)
{
	(void)arg;
	fputs("ok\n", f);
	return 200;
}

static const struct ctl_httpd_page pages[] = {{"/x", page, NULL, NULL}};

/* the kubelet's way: a new directory, then ..data swapped to it by one rename */
static void publish(const char *version, const struct sig_pem *p, const char *key)
{
	char d[600], f[700], tmp[600], data[600];

	snprintf(d, sizeof(d), "%s/..%s", dir, version);
	T_ASSERT(!mkdir(d, 0700), "mkdir %s", d);
	snprintf(f, sizeof(f), "%s/tls.crt", d);
	t_write_file(f, p->crt, strlen(p->crt));
	snprintf(f, sizeof(f), "%s/tls.key", d);
	t_write_file(f, key, strlen(key));
	snprintf(tmp, sizeof(tmp), "%s/..data_tmp", dir);
	snprintf(data, sizeof(data), "%s/..data", dir);
	T_ASSERT(!symlink(d + strlen(dir) + 1, tmp), "symlink");
	T_ASSERT(!rename(tmp, data), "rename");
}

/* a GET as the feed makes it: 0 (200), or the CURLcode */
static int get(const char *ca)
{
	char url[200], ct[200];
	struct curl_blob b = {.data = (void *)ca, .len = strlen(ca), .flags = CURL_BLOB_COPY};
	struct curl_slist *to;
	CURL *e = curl_easy_init();
	long code = 0;
	CURLcode rc;

	T_ASSERT(e, "curl_easy_init");
	snprintf(url, sizeof(url), "https://" SIG_AGENT_TLS_NAME ":%u/x", port);
	snprintf(ct, sizeof(ct), SIG_AGENT_TLS_NAME ":%u:127.0.0.1:%u", port, port);
	to = curl_slist_append(NULL, ct);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_CONNECT_TO, to);
	curl_easy_setopt(e, CURLOPT_CAINFO_BLOB, &b);
	curl_easy_setopt(e, CURLOPT_CAINFO, NULL);
	curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 3000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, fwrite);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, stderr);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_cleanup(e);
	curl_slist_free_all(to);
	return rc ? (int)rc : code == 200 ? 0 : -1;
}

int main(void)
{
	char *tmp;
	struct sig_pem ca1, ca2, c1, c2, c3;
	int64_t now = (int64_t)time(NULL);
	char crt[600], key[600], addr[64], f[700];
	struct ctl_httpd_opts o = {
		.sz = sizeof(o), .addr = "127.0.0.1:0", .pages = pages, .npages = 1};
	struct ctl_httpd *h = NULL;
	struct agent_tls *t = NULL;
	int ret;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tmp = t_tmpdir("agent_tlsreload");
	snprintf(dir, sizeof(dir), "%s", tmp);
	free(tmp);
	T_ASSERT(!sig_cert_ca_make(now, 10, &ca1) && !sig_cert_ca_make(now, 10, &ca2), "CAs");
	T_ASSERT(!sig_cert_make(&ca1, SIG_AGENT_TLS_NAME, now, 5, &c1), "certificate 1");
	T_ASSERT(!sig_cert_make(&ca2, SIG_AGENT_TLS_NAME, now, 5, &c2), "certificate 2");
	T_ASSERT(!sig_cert_make(&ca1, SIG_AGENT_TLS_NAME, now, 6, &c3), "certificate 3");
	publish("v1", &c1, c1.key);
	snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	T_ASSERT(!symlink("..data/tls.crt", crt) && !symlink("..data/tls.key", key), "links");

	/* a free port, then the listener on it (a restart binds the same address) */
	ret = ctl_httpd_start(&o, &h);
	T_ASSERT(!ret, "ctl_httpd_start: %s", strerror(-ret));
	port = ctl_httpd_port(h);
	ctl_httpd_stop(h);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", port);
	o.addr = addr;
	o.tls_cert = crt;
	o.tls_key = key;
	ret = ctl_httpd_start(&o, &h);
	T_ASSERT(!ret, "ctl_httpd_start (TLS): %s", strerror(-ret));
	ret = agent_tls_new(&o, h, 10, &t);
	T_ASSERT(!ret, "agent_tls_new: %s", strerror(-ret));

	T_ASSERT_EQ(get(ca1.crt), 0);
	T_ASSERT_EQ(get(ca2.crt), CURLE_PEER_FAILED_VERIFICATION);
	T_ASSERT_EQ(agent_tls_poll(t, 100), 0); /* nothing changed */

	/* another CA's certificate: taken at the next look, not before */
	publish("v2", &c2, c2.key);
	T_ASSERT_EQ(agent_tls_poll(t, 105), 0); /* not yet time: 100 + 10 */
	T_ASSERT_EQ(get(ca1.crt), 0);
	T_ASSERT_EQ(agent_tls_poll(t, 110), 1);
	T_ASSERT_EQ(get(ca2.crt), 0);
	T_ASSERT_EQ(get(ca1.crt), CURLE_PEER_FAILED_VERIFICATION);
	T_ASSERT_EQ(agent_tls_poll(t, 120), 0);

	/* a pair that does not load: refused, the previous one served on */
	publish("v3", &c1, c2.key);
	T_ASSERT_EQ(agent_tls_poll(t, 130), -EKEYREJECTED);
	T_ASSERT_EQ(get(ca2.crt), 0);
	T_ASSERT_EQ(agent_tls_poll(t, 140), -EKEYREJECTED);
	T_ASSERT_EQ(get(ca2.crt), 0);

	/* mended: a good pair of CA 1 */
	publish("v4", &c1, c1.key);
	T_ASSERT_EQ(agent_tls_poll(t, 150), 1);
	T_ASSERT_EQ(get(ca1.crt), 0);
	T_ASSERT_EQ(get(ca2.crt), CURLE_PEER_FAILED_VERIFICATION);

	/* rewritten in place (same inode, a new mtime and size): certificate 3 of CA 1 */
	usleep(20000);
	snprintf(f, sizeof(f), "%s/..v4/tls.crt", dir);
	t_write_file(f, c3.crt, strlen(c3.crt));
	snprintf(f, sizeof(f), "%s/..v4/tls.key", dir);
	t_write_file(f, c3.key, strlen(c3.key));
	T_ASSERT_EQ(agent_tls_poll(t, 160), 1);
	T_ASSERT_EQ(get(ca1.crt), 0);

	agent_tls_free(t);
	agent_tls_free(NULL);
	sig_pem_fini(&ca1);
	sig_pem_fini(&ca2);
	sig_pem_fini(&c1);
	sig_pem_fini(&c2);
	sig_pem_fini(&c3);
	t_rmtree(dir);
	curl_global_cleanup();
	puts("ok: renewed, refused and rewritten certificates, read by libcurl with the CA as a blob");
	return 0;
}
