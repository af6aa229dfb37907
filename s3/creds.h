/* SPDX-License-Identifier: MIT */
/*
 * s3/creds.h - AWS credentials and settings as aws-cli finds them; private to s3/.
 *
 * Credentials come from a chain of providers tried in order; the first that
 * has them wins. Today: the environment, then the shared files of the profile.
 * Web identity (IRSA) and IMDSv2 join as further providers: a provider that
 * returns credentials with @expires set is asked again before that time.
 */
#ifndef FERRY_S3_CREDS_H
#define FERRY_S3_CREDS_H

#include <stddef.h>
#include <stdint.h>

/* Owned strings, wiped with OPENSSL_cleanse by s3_creds_fini(). */
struct s3_creds {
	char *access_key;
	char *secret_key;
	char *token;	 /* session token, NULL for none */
	int64_t expires; /* seconds since the epoch; 0: does not expire */
	char source[96]; /* where they came from, for messages (no secret) */
};

/*
 * One source of credentials. load() returns 0 with @out filled, -ENOENT when
 * it has none (the chain goes on), or another -errno with a line in @detail
 * (the chain stops: a half-configured source is an error, not a fall-through).
 */
struct s3_cred_provider {
	const char *name;
	int (*load)(struct s3_creds *out, char *detail, size_t len);
};

/* The default chain, NULL-terminated. */
extern const struct s3_cred_provider *const s3_cred_chain[];

/**
 * s3_creds_load() - run @chain (NULL: the default one)
 * Return: 0 and @out filled; -ENOKEY if no provider has credentials (@detail
 * says where it looked); a provider's error.
 */
int s3_creds_load(const struct s3_cred_provider *const *chain, struct s3_creds *out, char *detail,
		  size_t len);

/* Wipe and free; the struct may be loaded again. NULL members are fine. */
void s3_creds_fini(struct s3_creds *c);

/* The profile in use: AWS_PROFILE, AWS_DEFAULT_PROFILE or "default". */
const char *s3_profile_name(void);

/**
 * s3_profile_get() - a setting of the profile in ~/.aws/config (AWS_CONFIG_FILE)
 * @key: e.g. "region", "endpoint_url"
 * Return: a malloc()ed value, NULL if absent.
 */
char *s3_profile_get(const char *key);

/**
 * s3_ini_get() - @key in section @section of the INI file @path
 * Return: a malloc()ed value, NULL if absent or unreadable.
 */
char *s3_ini_get(const char *path, const char *section, const char *key);

#endif /* FERRY_S3_CREDS_H */
