// SPDX-License-Identifier: MIT
/*
 * tests/s3/t_sigv4.c - s3/sigv4.c against botocore's S3SigV4Auth.
 *
 *   t_sigv4 PYTHON tests/s3/sigv4_vectors.py
 *
 * The script generates random requests (odd keys, unicode, query strings,
 * empty bodies, session tokens, unsigned payloads) and signs them; every one
 * must get the same canonical request and Authorization header here. Then a
 * few fixed cases of the encoders.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "s3/sigv4.h"
#include "t_helpers.h"

#define NVEC 600

static unsigned char *unhex(const char *h, size_t *n)
{
	size_t l = strlen(h);
	unsigned char *b = malloc(l / 2 + 1);

	for (size_t i = 0; i < l / 2; i++) {
		unsigned int v;

		if (sscanf(h + 2 * i, "%2x", &v) != 1)
			t_error("bad hex in a vector");
		b[i] = (unsigned char)v;
	}
	*n = l / 2;
	b[*n] = '\0';
	return b;
}

static const char *jstr(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void check_vector(const char *line, int n)
{
	cJSON *o = cJSON_Parse(line);
	struct s3_kv q[16], h[16];
	size_t nq = 0, nh = 0, keylen, bodylen;
	const cJSON *it;
	unsigned char *key, *body;
	char *enc, *uri, *query, *cr = NULL, *auth = NULL, sha[S3_SHA256_HEX];
	const char *payload;
	struct s3_sigv4_req rq = {0};

	if (!o)
		t_error("vector %d is not JSON", n);
	key = unhex(jstr(o, "key_hex"), &keylen);
	body = unhex(jstr(o, "body_hex"), &bodylen);
	enc = malloc(3 * keylen + 1);
	s3_uri_encode((char *)key, keylen, true, enc);
	if (asprintf(&uri, "/%s/%s", jstr(o, "bucket"), enc) < 0)
		t_error("oom");
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "params")) {
		q[nq].name = cJSON_GetArrayItem(it, 0)->valuestring;
		q[nq].value = cJSON_GetArrayItem(it, 1)->valuestring;
		nq++;
	}
	query = s3_query_build(q, nq);
	T_ASSERT(query != NULL, "query");

	/* the headers botocore signed: ours, then host, date, payload, token */
	cJSON_ArrayForEach(it, cJSON_GetObjectItemCaseSensitive(o, "headers")) {
		h[nh].name = cJSON_GetArrayItem(it, 0)->valuestring;
		h[nh].value = cJSON_GetArrayItem(it, 1)->valuestring;
		nh++;
	}
	payload = jstr(o, "payload");
	if (strcmp(payload, S3_UNSIGNED)) {
		/* botocore hashed the body: so must we */
		T_ASSERT(!s3_sha256_hex(body, bodylen, sha), "sha256");
		if (strcmp(sha, payload))
			t_fail("vector %d: payload hash %s, botocore %s", n, sha, payload);
	}
	h[nh++] = (struct s3_kv){"Host", jstr(o, "host")};
	h[nh++] = (struct s3_kv){"X-Amz-Date", jstr(o, "date")};
	h[nh++] = (struct s3_kv){"X-Amz-Content-SHA256", payload};
	if (jstr(o, "token"))
		h[nh++] = (struct s3_kv){"X-Amz-Security-Token", jstr(o, "token")};

	rq.method = jstr(o, "method");
	rq.uri = uri;
	rq.query = query;
	rq.hdrs = h;
	rq.nhdrs = nh;
	rq.payload_hash = payload;
	rq.amz_date = jstr(o, "date");
	rq.region = jstr(o, "region");
	rq.service = "s3";
	rq.access_key = jstr(o, "ak");
	rq.secret_key = jstr(o, "sk");
	T_ASSERT(!s3_sigv4_canonical(&rq, &cr), "canonical");
	if (strcmp(cr, jstr(o, "canonical")))
		t_fail("vector %d: canonical request differs\n--- ours:\n%s\n--- botocore:\n%s", n,
		       cr, jstr(o, "canonical"));
	T_ASSERT(!s3_sigv4_sign(&rq, &auth), "sign");
	if (strcmp(auth, jstr(o, "auth")))
		t_fail("vector %d: Authorization differs\n ours:     %s\n botocore: %s", n, auth,
		       jstr(o, "auth"));
	free(cr);
	free(auth);
	free(uri);
	free(enc);
	free(query);
	free(key);
	free(body);
	cJSON_Delete(o);
}

static void fixed_cases(void)
{
	char out[128], md5[S3_MD5_B64], date[S3_AMZ_DATE_LEN], *q;
	struct s3_kv p[] = {{"uploads", NULL}, {"b", "x y"}, {"a", "2"}, {"a", "1"}};

	s3_uri_encode("a b/c~d+é", strlen("a b/c~d+é"), true, out);
	T_ASSERT(!strcmp(out, "a%20b/c~d%2B%C3%A9"), "%s", out);
	s3_uri_encode("a/b", 3, false, out);
	T_ASSERT(!strcmp(out, "a%2Fb"), "%s", out);
	q = s3_query_build(p, 4);
	T_ASSERT(!strcmp(q, "a=1&a=2&b=x%20y&uploads="), "%s", q);
	free(q);
	q = s3_query_build(NULL, 0);
	T_ASSERT(q && !q[0], "empty query");
	free(q);
	T_ASSERT(!s3_md5_sha256("", 0, md5, NULL, NULL) && !strcmp(md5, "1B2M2Y8AsgTpgAmY7PhCfg=="),
		 "%s", md5);
	T_ASSERT(!s3_sha256_hex("", 0, out) && !strcmp(out, S3_EMPTY_SHA256), "%s", out);
	s3_amz_date(1369353600, date); /* the AWS documentation's example day */
	T_ASSERT(!strcmp(date, "20130524T000000Z"), "%s", date);
}

/*
 * The example of the AWS S3 documentation ("Signature Calculations for the
 * Authorization Header: Transferring Payload in a Single Chunk", GET Object).
 */
static void aws_example(void)
{
	struct s3_kv h[] = {
		{"Host", "examplebucket.s3.amazonaws.com"},
		{"Range", "bytes=0-9"},
		{"x-amz-content-sha256", S3_EMPTY_SHA256},
		{"x-amz-date", "20130524T000000Z"},
	};
	struct s3_sigv4_req rq = {
		.method = "GET",
		.uri = "/test.txt",
		.query = "",
		.hdrs = h,
		.nhdrs = 4,
		.payload_hash = S3_EMPTY_SHA256,
		.amz_date = "20130524T000000Z",
		.region = "us-east-1",
		.service = "s3",
		.access_key = "AKIAIOSFODNN7EXAMPLE",
		.secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
	};
	char *auth = NULL;

	T_ASSERT(!s3_sigv4_sign(&rq, &auth), "sign");
	T_ASSERT(
		strstr(auth,
		       "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"),
		"AWS example: %s", auth);
	free(auth);
}

int main(int argc, char **argv)
{
	char cmd[4096], *line = NULL;
	size_t cap = 0;
	int n = 0;
	FILE *p;

	fixed_cases();
	aws_example();
	if (argc != 3)
		t_error("usage: t_sigv4 PYTHON sigv4_vectors.py");
	snprintf(cmd, sizeof(cmd), "'%s' '%s' %d 20240501", argv[1], argv[2], NVEC);
	p = popen(cmd, "r");
	if (!p)
		t_error("cannot run %s", cmd);
	while (getline(&line, &cap, p) > 0)
		check_vector(line, ++n);
	free(line);
	if (pclose(p) != 0)
		t_error("%s failed (is python3-botocore installed?)", cmd);
	if (n != NVEC)
		t_fail("%d vectors read, %d expected", n, NVEC);
	printf("PASS: %d botocore vectors, fixed cases, the AWS example\n", n);
	return 0;
}
