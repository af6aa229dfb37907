// SPDX-License-Identifier: MIT
/*
 * s3/store_s3.c - the s3:// backend (being written; see issue 3).
 */
#include <errno.h>

#include "s3_int.h"

int s3_s3_open(struct s3_store *st, const char *bucket, const char *prefix,
	       const struct s3_store_opts *opts)
{
	(void)st;
	(void)bucket;
	(void)prefix;
	(void)opts;
	return s3_fail(-EPROTONOSUPPORT, "s3:// repositories are not supported by this build yet");
}
