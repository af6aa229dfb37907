// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_key.c - ferry key list|add|remove|passwd: the passwords of an
 * encrypted repository. Each is one key object wrapping the same master key,
 * so adding, removing or changing one rewrites no data.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void key_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry key list   --repo URL [--json]\n"
		"       ferry key add    --repo URL [--new-password-file FILE]\n"
		"       ferry key remove --repo URL KEY-ID\n"
		"       ferry key passwd --repo URL [--new-password-file FILE]\n\n"
		"Manage the passwords of an encrypted repository. The repository is opened with\n"
		"its current password (--password-file etc. below); the new one comes from\n"
		"--new-password-file, $FERRY_NEW_PASSWORD or a prompt. 'passwd' adds a key for the\n"
		"new password and removes the one that opened the repository. A key in use or the\n"
		"last key is never removed.\n\n"
		"  --new-password-file FILE  the new password (add, passwd)\n"
		"  --scrypt-n N              scrypt cost of the new key (default %u)\n"
		"  -h, --help                this text\n",
		DP_SCRYPT_N_DEFAULT);
	ctl_common_help(f);
}

static void key_table(const struct dp_key_info *k, size_t n, bool json)
{
	char t[32];

	if (json) {
		ctl_json_keys(k, n);
		return;
	}
	printf(" %-16s  %-20s  %-16s  %s\n", "ID", "CREATED", "USER", "HOST");
	for (size_t i = 0; i < n; i++) {
		ctl_time_str(k[i].created * 1000000, t, sizeof(t));
		printf("%c%.16s  %-20s  %-16s  %s\n", k[i].current ? '*' : ' ', k[i].id, t,
		       k[i].username, k[i].hostname);
	}
}

/* The subcommand @sub on an opened, encrypted repository: 0 or -errno, printed. */
static int key_do(struct dp_repo *repo, const char *sub, const char *arg, const char *newpw,
		  unsigned long scrypt_n, bool json)
{
	struct ctl_password pw = {.len = 0};
	struct dp_key_info *keys = NULL;
	char id[65], old[65] = "";
	size_t nkeys = 0;
	int ret;

	if (!strcmp(sub, "list")) {
		ret = dp_key_list(repo, &keys, &nkeys);
		if (!ret)
			key_table(keys, nkeys, json);
		free(keys);
	} else if (!strcmp(sub, "remove")) {
		ret = dp_key_remove(repo, arg);
		if (!ret)
			printf("removed key %s\n", arg);
	} else { /* add, passwd */
		ret = ctl_password_other(newpw, "FERRY_NEW_PASSWORD", "new password", &pw);
		if (ret)
			return ret;
		if (!strcmp(sub, "passwd"))
			ret = dp_key_passwd(repo, pw.buf, pw.len, scrypt_n, id, old);
		else
			ret = dp_key_add(repo, pw.buf, pw.len, scrypt_n, id);
		ctl_password_wipe(&pw);
		if (!ret && !strcmp(sub, "passwd"))
			printf("password changed: key %.16s replaces %.16s\n", id, old);
		else if (!ret)
			printf("added key %s\n", id);
	}
	return ret ? ctl_fail(ret, NULL, "%s", dp_last_error()) : 0;
}

int ctl_cmd_key(int argc, char **argv)
{
	enum { OPT_NEWPW = CTL_OPT_VERB_BASE, OPT_SCRYPT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"new-password-file", required_argument, NULL, OPT_NEWPW},
		{"scrypt-n", required_argument, NULL, OPT_SCRYPT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	struct s3_store *st = NULL;
	struct dp_repo *repo = NULL;
	const char *newpw = NULL, *sub;
	struct ctl_common c;
	unsigned long scrypt_n = 0;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			key_usage(stdout);
			return 0;
		case OPT_NEWPW:
			newpw = optarg;
			break;
		case OPT_SCRYPT:
			if (ctl_parse_uint("key", "scrypt-n", optarg, 2, 1ul << 24, &scrypt_n) ||
			    (scrypt_n & (scrypt_n - 1)))
				return ctl_usage_error(
					"key", "--scrypt-n takes a power of two from 2 to 2^24");
			break;
		default:
			ret = ctl_common_opt(&c, "key", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind >= argc)
		return ctl_usage_error("key", "give list, add, remove or passwd");
	sub = argv[optind++];
	if (strcmp(sub, "list") && strcmp(sub, "add") && strcmp(sub, "remove") &&
	    strcmp(sub, "passwd"))
		return ctl_usage_error("key", "unknown subcommand '%s'", sub);
	if (!strcmp(sub, "remove") ? argc - optind != 1 : argc - optind != 0)
		return ctl_usage_error("key", "%s takes %s", sub,
				       !strcmp(sub, "remove") ? "one KEY-ID" : "no argument");
	ret = ctl_repo_open(&c, "key", &st, &repo);
	if (ret)
		return ret;
	if (!dp_repo_is_encrypted(repo))
		ret = ctl_fail(-EINVAL, NULL, "repository %s is not encrypted: it has no keys",
			       c.repo);
	else
		ret = key_do(repo, sub, argv[optind], newpw, scrypt_n, c.json);
	dp_repo_free(repo);
	s3_store_free(st);
	return ret;
}
