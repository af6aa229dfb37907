// SPDX-License-Identifier: MIT
/*
 * control/cmd_init.c - ferry init: create a repository.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "common.h"
#include "datapath/dp.h"

static void init_usage(FILE *f)
{
	fprintf(f, "usage: ferry init --repo URL [--chunk-size SIZE] [--json]\n\n"
		   "Create an empty repository. Refused if URL holds one already.\n\n"
		   "  --chunk-size SIZE       bytes per chunk, a power of two from 64K to 16M (default 1M)\n"
		   "  -h, --help              this text\n");
	ctl_common_help(f);
}

int ctl_cmd_init(int argc, char **argv)
{
	enum { OPT_CHUNK = CTL_OPT_VERB_BASE };
	static const struct option opts[] = {
		CTL_COMMON_LONGOPTS,
		{ "chunk-size", required_argument, NULL, OPT_CHUNK },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct dp_init_opts io = { .sz = sizeof(io) };
	struct ctl_common c;
	struct s3_store *st = NULL;
	char id[65];
	uint64_t v;
	int opt, ret;

	ctl_common_init(&c);
	while ((opt = getopt_long(argc, argv, "h" CTL_COMMON_SHORTOPTS, opts, NULL)) != -1) {
		switch (opt) {
		case 'h':
			init_usage(stdout);
			return CTL_EXIT_OK;
		case OPT_CHUNK:
			if (ctl_parse_size(optarg, &v) || v > UINT32_MAX)
				return ctl_usage_error("init", "--chunk-size: '%s' is not a size", optarg);
			io.chunk_size = (uint32_t)v;
			break;
		default:
			ret = ctl_common_opt(&c, "init", opt, optarg);
			if (ret == 1)
				break;
			if (ret == 0)
				ctl_usage_error("init", "unknown option");
			return CTL_EXIT_USAGE;
		}
	}
	if (optind < argc)
		return ctl_usage_error("init", "unexpected argument '%s'", argv[optind]);
	ret = ctl_store_open(&c, "init", &st);
	if (ret)
		return ret;
	ret = dp_repo_init(st, &io, id);
	if (ret) {
		ret = ctl_fail(ret, NULL, "%s", dp_last_error());
		goto out;
	}
	if (c.json)
		ctl_json_init(c.repo, id, io.chunk_size ? io.chunk_size : DP_CHUNK_SIZE_DEFAULT);
	else
		printf("created repository %.16s at %s\n", id, c.repo);
	ret = CTL_EXIT_OK;
out:
	s3_store_free(st);
	return ret;
}
