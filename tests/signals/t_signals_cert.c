// SPDX-License-Identifier: MIT
/*
 * tests/signals/t_signals_cert.c - the agents' CA and certificate as the
 * controller makes them (signals.h sig_cert_ca_make(), sig_cert_make(),
 * sig_cert_check()).
 *
 * Checked: a CA and a server certificate made now are good, and the openssl
 * command (an independent verifier) takes the certificate as a TLS server's
 * of that CA for SIG_AGENT_TLS_NAME and not for another name; the agents'
 * TLS server (control/httpd, GnuTLS) starts with the pair; their lives (5
 * years, 1 year, never past the CA's end); the renewal threshold (good
 * until a third of the life is left, due from then, due when expired or not
 * yet valid); a certificate of another CA, for another name, with another
 * key, a CA checked as a server and a server certificate checked as a CA
 * are refused; garbage, empty and truncated PEM are refused as such.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/httpd/httpd.h"
#include "control/signals/signals.h"
#include "t_helpers.h"

#define NAME SIG_AGENT_TLS_NAME
#define DAY  86400

static char dir[512];

static const char *put(const char *name, const char *pem)
{
	static char p[8][600];
	static int i;
	char *r = p[i++ % 8];

	snprintf(r, sizeof(p[0]), "%s/%s", dir, name);
	t_write_file(r, pem, strlen(pem));
	return r;
}

static unsigned int page(void *arg, FILE *f)
{
	(void)arg;
	fputs("ok\n", f);
	return 200;
}

int main(void)
{
	char *tmp;
	struct sig_pem ca, ca2, crt, other, shortca, shortcrt, no;
	const int64_t now = (int64_t)time(NULL);
	int64_t end = 0, life;
	char *argv[16];
	int ret;

	tmp = t_tmpdir("signals_cert");
	snprintf(dir, sizeof(dir), "%s", tmp);
	free(tmp);
	T_ASSERT(!sig_cert_ca_make(now, SIG_CA_DAYS, &ca), "sig_cert_ca_make");
	T_ASSERT(!sig_cert_ca_make(now, SIG_CA_DAYS, &ca2), "sig_cert_ca_make (another)");
	T_ASSERT(strstr(ca.crt, "-----BEGIN CERTIFICATE-----") &&
			 strstr(ca.key, "PRIVATE KEY-----"),
		 "PEM out: %.40s / (key not shown)", ca.crt);
	T_ASSERT(!sig_cert_make(&ca, NAME, now, SIG_CERT_DAYS, &crt), "sig_cert_make");
	T_ASSERT(!sig_cert_make(&ca, "other.example", now, SIG_CERT_DAYS, &other), "sig_cert_make");

	/* good now, with the lives asked for */
	ret = sig_cert_check(ca.crt, ca.key, NULL, NULL, now, &end);
	T_ASSERT(!ret, "the CA now: %s", strerror(-ret));
	T_ASSERT(end == now + (int64_t)SIG_CA_DAYS * DAY, "CA notAfter %lld, want now + 5 y",
		 (long long)end);
	ret = sig_cert_check(crt.crt, crt.key, ca.crt, NAME, now, &end);
	T_ASSERT(!ret, "the certificate now: %s", strerror(-ret));
	T_ASSERT(end == now + (int64_t)SIG_CERT_DAYS * DAY, "notAfter %lld, want now + 1 y",
		 (long long)end);

	/* the renewal threshold: from notBefore (now - 300 s) to notAfter, due at a third left */
	life = end - (now - 300);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, now + life / 2, NULL), 0);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, end - life / 3 - 10, NULL), 0);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, end - life / 3 + 10, NULL),
		    -EKEYEXPIRED);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, end - 1, NULL), -EKEYEXPIRED);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, end + DAY, NULL), -EKEYEXPIRED);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca.crt, NAME, now - 3600, NULL), -EKEYEXPIRED);
	T_ASSERT_EQ(sig_cert_check(ca.crt, ca.key, NULL, NULL, now + 1300 * DAY, NULL),
		    -EKEYEXPIRED);
	T_ASSERT_EQ(sig_cert_check(ca.crt, ca.key, NULL, NULL, now + 3 * 365 * DAY / 2, NULL), 0);

	/* a certificate never outlives its CA: a CA of 10 days gives 10, not 365 */
	T_ASSERT(!sig_cert_ca_make(now, 10, &shortca), "sig_cert_ca_make (10 days)");
	T_ASSERT(!sig_cert_make(&shortca, NAME, now, SIG_CERT_DAYS, &shortcrt), "sig_cert_make");
	T_ASSERT_EQ(sig_cert_check(shortcrt.crt, shortcrt.key, shortca.crt, NAME, now, &end), 0);
	T_ASSERT(end == now + 10 * DAY, "notAfter %lld, want the CA's", (long long)end);

	/* refused: another CA, another name, another key, the roles swapped */
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, ca2.crt, NAME, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_check(other.crt, other.key, ca.crt, NAME, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_check(crt.crt, other.key, ca.crt, NAME, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_check(ca.crt, ca2.key, NULL, NULL, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, NULL, NULL, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_check(ca.crt, ca.key, ca.crt, NAME, now, NULL), -EKEYREJECTED);
	T_ASSERT_EQ(sig_cert_make(&(struct sig_pem){ca.crt, ca2.key}, NAME, now, 1, &no),
		    -EKEYREJECTED);

	/* garbage: not PEM, empty, truncated, a key where the certificate goes */
	char cut[4096];

	snprintf(cut, sizeof(cut), "%.*s", (int)(strlen(crt.crt) / 2), crt.crt);
	T_ASSERT_EQ(sig_cert_check("garbage", crt.key, ca.crt, NAME, now, NULL), -EBADMSG);
	T_ASSERT_EQ(sig_cert_check("", crt.key, ca.crt, NAME, now, NULL), -EBADMSG);
	T_ASSERT_EQ(sig_cert_check(cut, crt.key, ca.crt, NAME, now, NULL), -EBADMSG);
	T_ASSERT_EQ(sig_cert_check(crt.key, crt.key, ca.crt, NAME, now, NULL), -EBADMSG);
	T_ASSERT_EQ(sig_cert_check(crt.crt, "-----BEGIN PRIVATE KEY-----\nAAAA\n", ca.crt, NAME,
				   now, NULL),
		    -EBADMSG);
	T_ASSERT_EQ(sig_cert_check(crt.crt, crt.key, "junk", NAME, now, NULL), -EBADMSG);
	T_ASSERT_EQ(sig_cert_make(&(struct sig_pem){"junk", ca.key}, NAME, now, 1, &no), -EBADMSG);

	/* an independent verifier: openssl verify as a TLS client does it */
	{
		const char *cafile = put("ca.crt", ca.crt), *crtfile = put("tls.crt", crt.crt);
		const char *otherfile = put("ca2.crt", ca2.crt);
		int i = 0;

		argv[i++] = "openssl";
		argv[i++] = "verify";
		argv[i++] = "-x509_strict";
		argv[i++] = "-purpose";
		argv[i++] = "sslserver";
		argv[i++] = "-verify_hostname";
		argv[i++] = NAME;
		argv[i++] = "-CAfile";
		argv[i++] = (char *)cafile;
		argv[i++] = (char *)crtfile;
		argv[i] = NULL;
		T_ASSERT_EQ(t_spawn(argv), 0);
		argv[6] = "other.example";
		T_ASSERT(t_spawn(argv) != 0,
			 "openssl verify took the certificate for another name");
		argv[6] = NAME;
		argv[8] = (char *)otherfile;
		T_ASSERT(t_spawn(argv) != 0, "openssl verify took the certificate of another CA");
	}

	/* the agent's TLS server (GnuTLS) takes the pair, and refuses it with another key */
	{
		static const struct ctl_httpd_page pages[] = {{"/x", page, NULL, NULL}};
		struct ctl_httpd_opts o = {.sz = sizeof(o),
					   .addr = "127.0.0.1:0",
					   .pages = pages,
					   .npages = 1,
					   .tls_cert = put("s.crt", crt.crt),
					   .tls_key = put("s.key", crt.key)};
		struct ctl_httpd *h = NULL;

		ret = ctl_httpd_start(&o, &h);
		T_ASSERT(!ret, "ctl_httpd_start with the pair: %s", strerror(-ret));
		ctl_httpd_stop(h);
		o.tls_key = put("o.key", other.key);
		h = NULL;
		T_ASSERT_EQ(ctl_httpd_start(&o, &h), -EKEYREJECTED);
	}

	sig_pem_fini(&ca);
	sig_pem_fini(&ca2);
	sig_pem_fini(&crt);
	sig_pem_fini(&other);
	sig_pem_fini(&shortca);
	sig_pem_fini(&shortcrt);
	sig_pem_fini(NULL);
	t_rmtree(dir);
	puts("ok: CA and certificate made, lives, renewal threshold, refusals, openssl verify, GnuTLS");
	return 0;
}
