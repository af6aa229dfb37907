// SPDX-License-Identifier: MIT
/*
 * control/repo/cmd_init.c - ferry init: create a repository.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cli/cli.h"
#include "repo.h"
#include "datapath/dp.h"

static void init_usage(FILE *f)
{
	fprintf(f,
		"usage: ferry init --repo URL [--chunk-size SIZE] [--insecure-no-encryption | --copy-keys-from URL] [--json]\n\n"
		"Create an empty repository. Refused if URL holds one already. It is encrypted\n"
		"(AES-256-GCM, keyed chunk ids) with a master key wrapped by the password (see\n"
		"--password-file below) unless --insecure-no-encryption is given.\n\n"
		"  --chunk-size SIZE         bytes per chunk, a power of two from 64K to 16M (default 1M)\n"
		"  --insecure-no-encryption  store everything in the clear\n"
		"  --copy-keys-from URL      share the master key of the encrypted repository at URL, so that\n"
		"                            'ferry copy' between the two moves blobs as they are; this\n"
		"                            repository's own password may differ\n"
		"  --from-password-file FILE the password of --copy-keys-from (default: $FERRY_FROM_PASSWORD)\n"
		"  --scrypt-n N              scrypt cost of the key (a power of two, default %u)\n"
		"  -h, --help                this text\n",
		DP_SCRYPT_N_DEFAULT);
	ctl_common_help(f);
}

/* The repository to share keys with, unlocked with its own password. */
static int init_keys_source(struct ctl_common *c, const char *url, const char *pwfile,
			    struct s3_store **st, struct dp_repo **repo)
{
	struct ctl_common from = *c;
	struct ctl_password pw;
	int ret;

	from.repo = url;
	ret = ctl_store_open(&from, "init", st);
	if (ret)
		return ret;
	ret = dp_repo_open(*st, repo);
	if (ret)
		return ctl_fail(ret, NULL, "%s", dp_last_error());
	if (!dp_repo_is_encrypted(*repo))
		return ctl_fail(-EINVAL, NULL, "--copy-keys-from: %s is not encrypted", url);
	ret = ctl_password_other(pwfile, "FERRY_FROM_PASSWORD",
				 "password of the repository to copy keys from", &pw);
	if (ret)
		return ret;
	ret = dp_repo_unlock(*repo, pw.buf, pw.len);
	ctl_password_wipe(&pw);
	if (ret)
		return ctl_fail(ret, NULL, "--copy-keys-from: %s", dp_last_error());
	return 0;
}

/* The command line of init. */
struct init_args {
	struct dp_init_opts io;
	const char *copy_keys, *from_pw;
	bool help;
};

static int init_parse(int argc, char **argv, struct ctl_common *c, struct init_args *a)
{
	enum { OPT_CHUNK = CTL_OPT_VERB_BASE, OPT_NOENC, OPT_COPY_KEYS, OPT_FROM_PW, OPT_SCRYPT };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{"chunk-size", required_argument, NULL, OPT_CHUNK},
		{"insecure-no-encryption", no_argument, NULL, OPT_NOENC},
		{"copy-keys-from", required_argument, NULL, OPT_COPY_KEYS},
		{"from-password-file", required_argument, NULL, OPT_FROM_PW},
		{"scrypt-n", required_argument, NULL, OPT_SCRYPT},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	unsigned long n;
	uint64_t v;
	int opt, ret;

	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			a->help = true;
			return 0;
		case OPT_CHUNK:
			if (ctl_parse_size(optarg, &v, NULL) || v > UINT32_MAX)
				return ctl_usage_error("init", "--chunk-size: '%s' is not a size",
						       optarg);
			a->io.chunk_size = (uint32_t)v;
			break;
		case OPT_NOENC:
			a->io.no_encryption = true;
			break;
		case OPT_COPY_KEYS:
			a->copy_keys = optarg;
			break;
		case OPT_FROM_PW:
			a->from_pw = optarg;
			break;
		case OPT_SCRYPT:
			if (ctl_parse_uint("init", "scrypt-n", optarg, 2, 1ul << 24, &n) ||
			    (n & (n - 1)))
				return ctl_usage_error(
					"init", "--scrypt-n takes a power of two from 2 to 2^24");
			a->io.scrypt_n = n;
			break;
		default:
			ret = ctl_common_opt(c, "init", opt, optarg);
			if (ret)
				return ret;
			break;
		}
	}
	if (optind < argc)
		return ctl_usage_error("init", "unexpected argument '%s'", argv[optind]);
	if (a->copy_keys && a->io.no_encryption)
		return ctl_usage_error(
			"init", "--copy-keys-from and --insecure-no-encryption exclude each other");
	return 0;
}

int ctl_cmd_init(int argc, char **argv)
{
	struct init_args a = {.io = {.sz = sizeof(a.io)}};
	struct dp_init_opts *io = &a.io;
	struct s3_store *st = NULL, *from_st = NULL;
	struct dp_repo *from = NULL;
	struct ctl_password pw = {.len = 0};
	struct ctl_common c;
	char id[65];
	int ret;

	ctl_common_init(&c);
	ret = init_parse(argc, argv, &c, &a);
	if (ret || a.help) {
		if (a.help)
			init_usage(stdout);
		return ret;
	}
	ret = ctl_store_open(&c, "init", &st);
	if (ret)
		return ret;
	if (a.copy_keys) {
		ret = init_keys_source(&c, a.copy_keys, a.from_pw, &from_st, &from);
		if (ret)
			goto out;
		io->copy_keys_from = from;
	}
	if (!io->no_encryption) {
		ret = ctl_password_get(&c, true, &pw);
		if (ret)
			goto out;
		io->password = pw.buf;
		io->password_len = pw.len;
	}
	ret = dp_repo_init(st, io, id);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	if (c.json)
		ctl_json_init(c.repo, id,
			      from	       ? dp_repo_info(from)->chunk_size
			      : io->chunk_size ? io->chunk_size
					       : DP_CHUNK_SIZE_DEFAULT,
			      !io->no_encryption);
	else
		printf("created %s repository %.16s at %s\n",
		       io->no_encryption ? "an unencrypted" : "an encrypted", id, c.repo);
out:
	ctl_password_wipe(&pw);
	dp_repo_free(from);
	s3_store_free(from_st);
	s3_store_free(st);
	return ret;
}
