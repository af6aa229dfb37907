// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_stamp.c - the target stamp (datapath/stamp.c, FORMAT.md
 * "Target stamps"): clean and dirty stamps format and parse back to the
 * same values; every malformed one from a table is refused with -EBADMSG;
 * a stamp file is written and read back, and a missing one is -ENODATA.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "datapath/dp.h"
#include "datapath/stamp.h"
#include "t_helpers.h"

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static const char *const bad[] = {
	"",
	"ferry-stamp 2\nstate clean\nsnapshot " A "\ntarget x\nend\n",
	"ferry-stamp 1\nstate clean\nsnapshot " A "\ntarget x\n",	  /* no end */
	"ferry-stamp 1\nstate clean\nsnapshot " A "\ntarget x\nend",	  /* end cut */
	"ferry-stamp 1\nstate clean\nsnapshot " A "\ntarget x\nend\nx",	  /* after end */
	"ferry-stamp 1\nstate clean\nsnapshot " A "\nend\n",		  /* clean, no target */
	"ferry-stamp 1\nstate dirty\nend\n",				  /* no snapshot */
	"ferry-stamp 1\nsnapshot " A "\nend\n",				  /* no state */
	"ferry-stamp 1\nstate torn\nsnapshot " A "\nend\n",		  /* state */
	"ferry-stamp 1\nstate dirty\nsnapshot " A "x\nend\n",		  /* 65 digits */
	"ferry-stamp 1\nstate dirty\nsnapshot AAAA" A "\nend\n",	  /* upper case, long */
	"ferry-stamp 1\nstate dirty\nsnapshot " A "\nstate dirty\nend\n", /* twice */
	"ferry-stamp 1\nstate dirty\nsnapshot " A "\ncolour red\nend\n",  /* unknown key */
	"ferry-stamp 1\nstate dirty\nsnapshot " A "\nparent\nend\n",	  /* no value */
	"ferry-stamp 1\nstate clean\nsnapshot " A "\nparent " B "\ntarget x\nend\n",
	"ferry-stamp 1\nstate clean\nsnapshot " A "\ntarget a\tb\nend\n", /* not printable */
	"ferry-stamp 1\nstate clean\nsnapshot " A "\ntarget \nend\n",	  /* empty target */
	"ferry-stamp 1\nstate dirty\nsnapshot " A "\ntarget x\nend\n",	  /* dirty, a target */
};

static void roundtrip(const struct dp_stamp *s)
{
	char buf[DP_STAMP_MAX];
	struct dp_stamp got;
	int n = dp_stamp_format(s, buf, sizeof(buf));

	T_ASSERT(n > 0, "format: %d", n);
	T_ASSERT(!dp_stamp_parse(buf, (size_t)n, &got), "parse of %s: %s", buf, dp_last_error());
	T_ASSERT(got.dirty == s->dirty && !strcmp(got.snapshot, s->snapshot) &&
			 !strcmp(got.parent, s->parent) && !strcmp(got.target, s->target),
		 "round trip of %s", buf);
}

int main(void)
{
	struct dp_stamp clean = {.dirty = false, .snapshot = A, .target = "file dev=1 ino=2"};
	struct dp_stamp dirty = {.dirty = true, .snapshot = A, .parent = B};
	struct dp_stamp restoring = {.dirty = true, .snapshot = B};
	struct dp_stamp got, badfmt = {.dirty = false, .snapshot = A};
	char dir[] = "/tmp/t_stamp-XXXXXX", path[64], buf[DP_STAMP_MAX];
	size_t i;

	roundtrip(&clean);
	roundtrip(&dirty);
	roundtrip(&restoring);
	T_ASSERT(dp_stamp_format(&badfmt, buf, sizeof(buf)) == -EINVAL,
		 "a clean stamp without target");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		T_ASSERT(dp_stamp_parse(bad[i], strlen(bad[i]), &got) == -EBADMSG,
			 "bad[%zu] accepted", i);
	/* a NUL inside */
	memcpy(buf, "ferry-stamp 1\nstate dirty\nsnapshot " A "\nend\n", 100);
	buf[20] = '\0';
	T_ASSERT(dp_stamp_parse(buf, 100, &got) == -EBADMSG, "a NUL accepted");

	/* a stamp file */
	T_ASSERT(mkdtemp(dir), "mkdtemp");
	snprintf(path, sizeof(path), "%s/stamp", dir);
	T_ASSERT(dp_stamp_read("/dev/null", path, &got) == -ENODATA, "a missing stamp file");
	T_ASSERT(!dp_stamp_write("/dev/null", path, &dirty), "write: %s", dp_last_error());
	T_ASSERT(!dp_stamp_read("/dev/null", path, &got), "read: %s", dp_last_error());
	T_ASSERT(got.dirty && !strcmp(got.parent, B), "read back");
	T_ASSERT(!dp_stamp_write("/dev/null", path, &clean), "rewrite: %s", dp_last_error());
	T_ASSERT(!dp_stamp_read("/dev/null", path, &got) && !got.dirty, "read back clean");
	unlink(path);
	rmdir(dir);
	printf("PASS: %zu malformed stamps refused, 3 round trips, a stamp file\n",
	       sizeof(bad) / sizeof(bad[0]) + 1);
	return T_EXIT_PASS;
}
