// SPDX-License-Identifier: MIT
/*
 * control/signals/cert.c - the agents' CA and server certificate as PEM
 * (signals.h "the agents' certificate"): made and checked with OpenSSL's
 * libcrypto, no I/O, so the controller's issuer (issue.c) and the tests use
 * the same rules. ECDSA P-256 keys (PKCS#8 PEM, which GnuTLS in the agent and
 * OpenSSL in the controller's libcurl both read), SHA-256 signatures, X.509 v3
 * with the extensions a TLS server certificate needs (RFC 5280: basic
 * constraints, key usage, serverAuth, the name as a dNSName).
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "signals.h"

/* a certificate starts this much before it was made: clocks of the agents that run behind */
#define SIG_CERT_BACKDATE_S 300

void sig_pem_fini(struct sig_pem *p)
{
	if (!p)
		return;
	free(p->crt);
	if (p->key) {
		OPENSSL_cleanse(p->key, strlen(p->key));
		free(p->key);
	}
	p->crt = p->key = NULL;
}

/* the PEM in @b as a malloc()ed string (NULL without memory) */
static char *bio_string(BIO *b)
{
	char *data, *s;
	long n = BIO_get_mem_data(b, &data);

	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	memcpy(s, data, (size_t)n);
	s[n] = 0;
	return s;
}

static int add_ext(X509 *x, X509 *issuer, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509_EXTENSION *e;
	int ok;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer, x, NULL, NULL, 0);
	e = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	if (!e)
		return -EINVAL;
	ok = X509_add_ext(x, e, -1);
	X509_EXTENSION_free(e);
	return ok ? 0 : -ENOMEM;
}

/*
 * A certificate for @cn with a fresh P-256 key, valid from @now (less the
 * backdate) to @not_after, signed by @ca_key as @ca (both NULL: self-signed).
 */
static int make(const char *cn, int64_t now, int64_t not_after, X509 *ca, EVP_PKEY *ca_key,
		const char *const *exts, struct sig_pem *out)
{
	unsigned char serial[16];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	BIGNUM *bn = NULL;
	BIO *bc = BIO_new(BIO_s_mem()), *bk = BIO_new(BIO_s_secmem());
	time_t t0 = (time_t)now, t1 = (time_t)not_after;
	int ret = -ENOMEM;

	memset(out, 0, sizeof(*out));
	if (!key || !x || !bc || !bk)
		goto out;
	if (RAND_bytes(serial, sizeof(serial)) != 1) {
		ret = -EIO;
		goto out;
	}
	serial[0] &= 0x7f; /* positive, 16 octets at most (RFC 5280 4.1.2.2) */
	serial[0] |= 0x40;
	bn = BN_bin2bn(serial, sizeof(serial), NULL);
	if (!bn || !BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)))
		goto out;
	if (!X509_set_version(x, 2) ||
	    !X509_time_adj_ex(X509_getm_notBefore(x), 0, -SIG_CERT_BACKDATE_S, &t0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 0, 0, &t1) ||
	    !X509_NAME_add_entry_by_txt(X509_get_subject_name(x), "CN", MBSTRING_ASC,
					(const unsigned char *)cn, -1, -1, 0) ||
	    !X509_set_issuer_name(x, ca ? X509_get_subject_name(ca) : X509_get_subject_name(x)) ||
	    !X509_set_pubkey(x, key))
		goto out;
	for (size_t i = 0; exts[i]; i += 2) {
		ret = add_ext(x, ca ? ca : x, OBJ_txt2nid(exts[i]), exts[i + 1]);
		if (ret)
			goto out;
	}
	ret = -ENOMEM;
	if (!X509_sign(x, ca_key ? ca_key : key, EVP_sha256()))
		goto out;
	if (!PEM_write_bio_X509(bc, x) ||
	    !PEM_write_bio_PrivateKey(bk, key, NULL, NULL, 0, NULL, NULL))
		goto out;
	out->crt = bio_string(bc);
	out->key = bio_string(bk);
	if (!out->crt || !out->key) {
		sig_pem_fini(out);
		goto out;
	}
	ret = 0;
out:
	BN_free(bn);
	BIO_free(bc);
	BIO_free(bk); /* the key's PEM: BUF_MEM_free() wipes it */
	X509_free(x);
	EVP_PKEY_free(key);
	return ret;
}

int sig_cert_ca_make(int64_t now, unsigned int days, struct sig_pem *out)
{
	static const char *const exts[] = {
		"basicConstraints",
		"critical,CA:TRUE,pathlen:0",
		"keyUsage",
		"critical,keyCertSign,cRLSign",
		"subjectKeyIdentifier",
		"hash",
		NULL,
	};

	assert(days > 0);
	return make("ferry-agent-ca", now, now + (int64_t)days * 86400, NULL, NULL, exts, out);
}

static int parse_crt(const char *pem, X509 **out)
{
	BIO *b;

	*out = NULL;
	if (!pem || !*pem)
		return -EBADMSG;
	b = BIO_new_mem_buf(pem, -1);
	if (!b)
		return -ENOMEM;
	*out = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return *out ? 0 : -EBADMSG;
}

static int parse_key(const char *pem, EVP_PKEY **out)
{
	BIO *b;

	*out = NULL;
	if (!pem || !*pem)
		return -EBADMSG;
	b = BIO_new_mem_buf(pem, -1);
	if (!b)
		return -ENOMEM;
	*out = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return *out ? 0 : -EBADMSG;
}

static int64_t when(const ASN1_TIME *t)
{
	struct tm tm;

	if (!t || !ASN1_TIME_to_tm(t, &tm))
		return INT64_MIN;
	return (int64_t)timegm(&tm);
}

int sig_cert_make(const struct sig_pem *ca, const char *name, int64_t now, unsigned int days,
		  struct sig_pem *out)
{
	char san[300];
	const char *const exts[] = {
		"basicConstraints",
		"critical,CA:FALSE",
		"keyUsage",
		"critical,digitalSignature",
		"extendedKeyUsage",
		"serverAuth",
		"subjectAltName",
		san,
		"authorityKeyIdentifier",
		"keyid",
		NULL,
	};
	X509 *cx = NULL;
	EVP_PKEY *ck = NULL;
	int64_t end = now + (int64_t)days * 86400, ca_end;
	int ret;

	memset(out, 0, sizeof(*out));
	assert(days > 0);
	if (!name || !*name || strlen(name) > 253)
		return -EINVAL;
	snprintf(san, sizeof(san), "DNS:%s", name);
	ret = parse_crt(ca->crt, &cx);
	if (!ret)
		ret = parse_key(ca->key, &ck);
	if (ret)
		goto out;
	if (X509_check_private_key(cx, ck) != 1) {
		ret = -EKEYREJECTED;
		goto out;
	}
	ca_end = when(X509_get0_notAfter(cx));
	if (ca_end < end)
		end = ca_end; /* nothing the CA vouches for outlives it */
	ret = make(name, now, end, cx, ck, exts, out);
out:
	EVP_PKEY_free(ck);
	X509_free(cx);
	return ret;
}

int sig_cert_check(const char *crt, const char *key, const char *ca_crt, const char *name,
		   int64_t now, int64_t *not_after)
{
	X509 *x = NULL, *ca = NULL;
	EVP_PKEY *k = NULL;
	int64_t nb, na;
	int ret;

	if (not_after)
		*not_after = 0;
	ret = parse_crt(crt, &x);
	if (!ret)
		ret = parse_key(key, &k);
	if (!ret && ca_crt)
		ret = parse_crt(ca_crt, &ca);
	if (ret)
		goto out;
	ret = -EKEYREJECTED;
	if (X509_check_private_key(x, k) != 1)
		goto out;
	if (ca) { /* signed by @ca, for @name, a TLS server's */
		if (X509_check_issued(ca, x) != X509_V_OK ||
		    X509_verify(x, X509_get0_pubkey(ca)) != 1)
			goto out;
		if (!name ||
		    X509_check_host(x, name, 0, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, NULL) != 1)
			goto out;
		if (X509_check_purpose(x, X509_PURPOSE_SSL_SERVER, 0) != 1 || X509_check_ca(x))
			goto out;
	} else { /* a CA, signed by its own key */
		if (X509_check_ca(x) != 1 || X509_check_issued(x, x) != X509_V_OK ||
		    X509_verify(x, k) != 1)
			goto out;
	}
	nb = when(X509_get0_notBefore(x));
	na = when(X509_get0_notAfter(x));
	if (nb == INT64_MIN || na == INT64_MIN || na <= nb)
		goto out;
	if (not_after)
		*not_after = na;
	/* expired, not yet valid, or a third of its life or less left: due */
	ret = now < nb || na - now <= (na - nb) / 3 ? -EKEYEXPIRED : 0;
out:
	EVP_PKEY_free(k);
	X509_free(ca);
	X509_free(x);
	return ret;
}
