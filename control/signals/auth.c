// SPDX-License-Identifier: MIT
/*
 * control/signals/auth.c - who may read an agent's per-pod page
 * (signals.h, sig_auth_check()): a TokenReview of the caller's bearer
 * token for the audience SIG_AUDIENCE, as kube-rbac-proxy and the
 * kubelet's webhook authentication do it, with the answers cached by the
 * token's SHA-256 (a minute when allowed, 10 s when refused; never past the
 * token's own expiry, when the review says it) so that an agent asks the
 * API server about once a minute per caller. The token itself is kept
 * nowhere and never written to a log or a response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "signals.h"
#include "k8s/k8s.h"

#define AUTH_SLOTS	64
#define AUTH_ALLOW_MS	60000
#define AUTH_DENY_MS	10000
#define AUTH_TIMEOUT_MS 2000
#define AUTH_TOKEN_MAX	16384

struct auth_slot {
	unsigned char sum[32];
	int64_t until_ms; /* 0: empty */
	int result;
	char why[128];
};

struct sig_auth {
	struct k8s_client *c;
	const char *user;
	struct auth_slot slots[AUTH_SLOTS];
	unsigned int next;
};

int sig_auth_new(struct k8s_client *c, const char *user, struct sig_auth **out)
{
	struct sig_auth *a = calloc(1, sizeof(*a));

	*out = a;
	if (!a)
		return -ENOMEM;
	a->c = c;
	a->user = user;
	return 0;
}

void sig_auth_free(struct sig_auth *a)
{
	free(a);
}

static int64_t now_ms(void)
{
	return k8s_now_ns() / 1000000;
}

/* Ask the API server. Return: 0, -EACCES, -EPERM, -EAGAIN (with @why). */
static int review(struct sig_auth *a, const char *token, char *why, size_t len)
{
	static const char *const paths[] = {"/apiVersion", "/kind", "/spec/token"};
	const char *vals[] = {"authentication.k8s.io/v1", "TokenReview", token};
	struct k8s_call call = {.timeout_ms = AUTH_TIMEOUT_MS};
	struct k8s_obj *rq = NULL, *rs = NULL;
	const char *user;
	bool ok = false;
	struct k8s_err err;
	int ret;

	ret = k8s_obj_new(&rq);
	for (int i = 0; !ret && i < 3; i++)
		ret = k8s_obj_set_str(rq, paths[i], vals[i]);
	if (!ret)
		ret = k8s_obj_set_json(rq, "/spec/audiences", "[\"" SIG_AUDIENCE "\"]");
	if (ret) {
		snprintf(why, len, "out of memory");
		k8s_obj_free(rq);
		return -EAGAIN;
	}
	ret = k8s_create(a->c, &k8s_tokenreviews, NULL, rq, &call, &rs, &err);
	k8s_obj_free(rq);
	if (ret) {
		/* the API server's words name the verb to grant, never the token */
		snprintf(why, len, "the API server could not review the token: %s", err.msg);
		return -EAGAIN;
	}
	user = k8s_obj_str(rs, "/status/user/username");
	k8s_obj_bool(rs, "/status/authenticated", &ok);
	if (!ok || !user)
		ret = -EACCES,
		snprintf(why, len, "the token is not valid for audience %s", SIG_AUDIENCE);
	else if (strcmp(user, a->user))
		ret = -EPERM,
		snprintf(why, len, "%.60s may not read this page (only %.60s)", user, a->user);
	k8s_obj_free(rs);
	return ret;
}

int sig_auth_check(struct sig_auth *a, const char *authorization, char *why, size_t len)
{
	unsigned char sum[32];
	unsigned int sumlen = 0;
	const char *token;
	struct auth_slot *s;
	int64_t now = now_ms();
	int ret;

	why[0] = '\0';
	if (!authorization || strncasecmp(authorization, "Bearer ", 7)) {
		snprintf(why, len, "a bearer token is required");
		return -EACCES;
	}
	token = authorization + 7;
	while (*token == ' ')
		token++;
	if (!*token || strlen(token) > AUTH_TOKEN_MAX || strpbrk(token, " \t\"\\")) {
		snprintf(why, len, "a bearer token is required");
		return -EACCES;
	}
	if (!EVP_Digest(token, strlen(token), sum, &sumlen, EVP_sha256(), NULL) ||
	    sumlen != sizeof(sum)) {
		snprintf(why, len, "cannot hash the token");
		return -EAGAIN;
	}
	for (int i = 0; i < AUTH_SLOTS; i++) {
		s = &a->slots[i];
		if (s->until_ms > now && !memcmp(s->sum, sum, sizeof(sum))) {
			snprintf(why, len, "%s", s->why);
			return s->result;
		}
	}
	ret = review(a, token, why, len);
	if (ret == -EAGAIN)
		return ret; /* not cached: ask again next time */
	s = &a->slots[a->next++ % AUTH_SLOTS];
	memcpy(s->sum, sum, sizeof(sum));
	s->until_ms = now + (ret ? AUTH_DENY_MS : AUTH_ALLOW_MS);
	s->result = ret;
	snprintf(s->why, sizeof(s->why), "%s", why);
	return ret;
}
