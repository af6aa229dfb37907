// SPDX-License-Identifier: MIT
/*
 * tests/datapath/t_parent.c - the parent choice of a backup
 * (dp_parent_choose(), datapath/parent.c): auto is the volume's newest
 * snapshot and none before its first backup, none is none, an id or prefix
 * is resolved within the volume; failures carry their reason in struct
 * dp_err, not only in the thread's dp_last_error().
 */
#include <errno.h>
#include <string.h>

#include "datapath/dp.h"
#include "t_helpers.h"

/* Ids: two share the prefix "aaaaaaaa". Times: the list is oldest first, as dp_snapshot_list() gives it. */
static struct dp_snapshot snaps[] = {
	{.id = "aaaaaaaa11111111111111111111111111111111111111111111111111111111",
	 .volume = "a",
	 .time_end = 1000},
	{.id = "bbbbbbbb22222222222222222222222222222222222222222222222222222222",
	 .volume = "b",
	 .time_end = 2000},
	{.id = "aaaaaaaa33333333333333333333333333333333333333333333333333333333",
	 .volume = "a",
	 .time_end = 3000},
	{.id = "cccccccc44444444444444444444444444444444444444444444444444444444",
	 .volume = "b",
	 .time_end = 4000},
};

static const struct {
	const char *what;
	const char *volume;
	enum dp_parent_mode mode;
	const char *id;
	int ret;
	int want; /* index into snaps, -1: none */
} rows[] = {
	{"auto: the newest of a", "a", DP_PARENT_AUTO, NULL, 0, 2},
	{"auto: the newest of b", "b", DP_PARENT_AUTO, NULL, 0, 3},
	{"auto: a volume's first backup has none", "new", DP_PARENT_AUTO, NULL, 0, -1},
	{"none", "a", DP_PARENT_NONE, NULL, 0, -1},
	{"an id", "a", DP_PARENT_ID, snaps[0].id, 0, 0},
	{"a unique prefix", "b", DP_PARENT_ID, "cccccccc", 0, 3},
	{"latest of the volume", "b", DP_PARENT_ID, "latest", 0, 3},
	{"a prefix two snapshots share", "a", DP_PARENT_ID, "aaaaaaaa", -ENOTUNIQ, -1},
	{"a prefix unique within the volume", "a", DP_PARENT_ID, "aaaaaaaa3", 0, 2},
	{"another volume's snapshot", "a", DP_PARENT_ID, "bbbbbbbb", -ENOENT, -1},
	{"no such snapshot", "a", DP_PARENT_ID, "dddddddd", -ENOENT, -1},
	{"a prefix too short", "a", DP_PARENT_ID, "aaaa", -EINVAL, -1},
	{"auto without a volume", NULL, DP_PARENT_AUTO, NULL, -EINVAL, -1},
	{"an id without one", "a", DP_PARENT_ID, NULL, -EINVAL, -1},
};

int main(void)
{
	size_t n = sizeof(snaps) / sizeof(snaps[0]);

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct dp_snapshot *got = &snaps[1];
		struct dp_err err;
		int ret = dp_parent_choose(NULL, snaps, n, rows[i].volume, rows[i].mode, rows[i].id,
					   &got, &err);

		T_ASSERT(ret == rows[i].ret, "%s: %d, want %d (%s)", rows[i].what, ret, rows[i].ret,
			 err.msg);
		T_ASSERT(err.code == ret, "%s: err.code %d", rows[i].what, err.code);
		T_ASSERT(!ret == !err.msg[0], "%s: reason '%s'", rows[i].what, err.msg);
		if (rows[i].want < 0)
			T_ASSERT(!got, "%s: %s", rows[i].what, got ? got->id : "");
		else
			T_ASSERT(got == &snaps[rows[i].want], "%s: %s", rows[i].what,
				 got ? got->id : "none");
	}
	printf("PASS: %zu parent choices\n", sizeof(rows) / sizeof(rows[0]));
	return T_EXIT_PASS;
}
