// SPDX-License-Identifier: MIT
/*
 * s3/creds.c - the credential chain (environment, shared files) and profile
 * settings, read the way aws-cli reads them:
 *
 *   ~/.aws/credentials (AWS_SHARED_CREDENTIALS_FILE): [name]
 *   ~/.aws/config      (AWS_CONFIG_FILE):             [profile name], [default]
 *
 * Secrets are wiped from every buffer that held them.
 */
#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "creds.h"

static void wipe_free(char *s)
{
	if (!s)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

void s3_creds_fini(struct s3_creds *c)
{
	if (!c)
		return;
	wipe_free(c->access_key);
	wipe_free(c->secret_key);
	wipe_free(c->token);
	c->access_key = c->secret_key = c->token = NULL;
	c->expires = 0;
	c->source[0] = '\0';
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] ? v : NULL;
}

const char *s3_profile_name(void)
{
	const char *p = env("AWS_PROFILE");

	if (!p)
		p = env("AWS_DEFAULT_PROFILE");
	return p ? p : "default";
}

static char *home_path(const char *rel)
{
	const char *home = env("HOME");
	struct passwd pw, *res = NULL;
	char buf[4096], *out;

	if (!home && !getpwuid_r(getuid(), &pw, buf, sizeof(buf), &res) && res)
		home = res->pw_dir;
	if (!home)
		return NULL;
	if (asprintf(&out, "%s/%s", home, rel) < 0)
		return NULL;
	return out;
}

static char *file_path(const char *var, const char *rel)
{
	const char *v = env(var);

	return v ? strdup(v) : home_path(rel);
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' || e[-1] == '\n'))
		e--;
	*e = '\0';
	return s;
}

char *s3_ini_get(const char *path, const char *section, const char *key)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *val = NULL;
	size_t cap = 0;
	int in = 0;

	if (!f)
		return NULL;
	while (getline(&line, &cap, f) >= 0) {
		char *s, *eq;

		/* indented lines continue a nested setting ("s3 =\n  addressing_style = path") */
		if (line[0] == ' ' || line[0] == '\t')
			continue;
		s = trim(line);
		if (!*s || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');

			if (!e)
				continue;
			*e = '\0';
			in = !strcmp(trim(s + 1), section);
			continue;
		}
		if (!in)
			continue;
		eq = strchr(s, '=');
		if (!eq)
			continue;
		*eq = '\0';
		if (strcmp(trim(s), key))
			continue;
		free(val);
		val = strdup(trim(eq + 1));
	}
	if (line) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	fclose(f);
	return val;
}

/* A key of the profile in the config file: [profile NAME], or [default]. */
char *s3_profile_get(const char *key)
{
	const char *name = s3_profile_name();
	char *path = file_path("AWS_CONFIG_FILE", ".aws/config"), sect[300], *v = NULL;

	if (!path)
		return NULL;
	snprintf(sect, sizeof(sect), "profile %s", name);
	v = s3_ini_get(path, sect, key);
	if (!v && !strcmp(name, "default"))
		v = s3_ini_get(path, "default", key);
	free(path);
	return v;
}

/* ---------------------------------------------------------- providers */

static int env_load(struct s3_creds *out, char *detail, size_t len)
{
	const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
	const char *tok = env("AWS_SESSION_TOKEN");

	if (!tok)
		tok = env("AWS_SECURITY_TOKEN");
	if (!ak && !sk)
		return -ENOENT;
	if (!ak || !sk) {
		snprintf(detail, len,
			 "%s is set but %s is not: set both (or neither, to use a profile)",
			 ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
			 ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
		return -EINVAL;
	}
	out->access_key = strdup(ak);
	out->secret_key = strdup(sk);
	out->token = tok ? strdup(tok) : NULL;
	if (!out->access_key || !out->secret_key || (tok && !out->token))
		return -ENOMEM;
	snprintf(out->source, sizeof(out->source), "the environment (AWS_ACCESS_KEY_ID)");
	return 0;
}

/* [name] in the credentials file, then [profile name] in the config file. */
static int profile_load(struct s3_creds *out, char *detail, size_t len)
{
	const char *name = s3_profile_name();
	char *cpath = file_path("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials");
	char *ak = NULL, *sk = NULL, *tok = NULL;
	int ret = -ENOENT;

	if (cpath) {
		ak = s3_ini_get(cpath, name, "aws_access_key_id");
		sk = s3_ini_get(cpath, name, "aws_secret_access_key");
		tok = s3_ini_get(cpath, name, "aws_session_token");
		if (ak || sk)
			snprintf(out->source, sizeof(out->source), "profile '%s' of %s", name,
				 cpath);
	}
	if (!ak && !sk) {
		ak = s3_profile_get("aws_access_key_id");
		sk = s3_profile_get("aws_secret_access_key");
		tok = s3_profile_get("aws_session_token");
		if (ak || sk)
			snprintf(out->source, sizeof(out->source),
				 "profile '%s' of the config file", name);
	}
	if (!ak && !sk) {
		if (env("AWS_PROFILE")) {
			snprintf(
				detail, len,
				"profile '%s' (AWS_PROFILE) has no aws_access_key_id in %s or the config file",
				name, cpath ? cpath : "~/.aws/credentials");
			ret = -ENOKEY;
		}
		goto out;
	}
	if (!ak || !sk) {
		snprintf(detail, len, "profile '%s' has %s but no %s", name,
			 ak ? "aws_access_key_id" : "aws_secret_access_key",
			 ak ? "aws_secret_access_key" : "aws_access_key_id");
		ret = -EINVAL;
		goto out;
	}
	out->access_key = ak;
	out->secret_key = sk;
	out->token = tok;
	ak = sk = tok = NULL;
	ret = 0;
out:
	wipe_free(ak);
	wipe_free(sk);
	wipe_free(tok);
	free(cpath);
	return ret;
}

static const struct s3_cred_provider env_provider = {"environment", env_load};
static const struct s3_cred_provider profile_provider = {"shared files", profile_load};

const struct s3_cred_provider *const s3_cred_chain[] = {
	&env_provider,
	&profile_provider,
	NULL,
};

int s3_creds_load(const struct s3_cred_provider *const *chain, struct s3_creds *out, char *detail,
		  size_t len)
{
	int ret = -ENOKEY;

	memset(out, 0, sizeof(*out));
	detail[0] = '\0';
	if (!chain)
		chain = s3_cred_chain;
	for (; *chain; chain++) {
		ret = (*chain)->load(out, detail, len);
		if (ret != -ENOENT)
			break;
		s3_creds_fini(out);
	}
	if (ret == -ENOENT || (!*chain && ret))
		ret = -ENOKEY;
	if (ret == -ENOKEY && !detail[0])
		snprintf(
			detail, len,
			"no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials");
	if (ret)
		s3_creds_fini(out);
	return ret;
}
