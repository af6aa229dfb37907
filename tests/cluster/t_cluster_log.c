// SPDX-License-Identifier: MIT
/*
 * tests/cluster/t_cluster_log.c - the lines of a Backup's or a Restore's log
 * (control/cluster/cluster_log.c, cluster.h "LOGS"): time in RFC 3339, the
 * level, the text quoted so that no message can forge a line: '"' and '\'
 * escaped, control bytes as \n, \t or \u00XX, UTF-8 kept, a byte that is not
 * UTF-8 (overlong, a surrogate, a lone continuation, a cut sequence) as '?';
 * a text longer than the first buffer whole; lines appended in order.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/cluster/cluster_priv.h"
#include "t_helpers.h"

#define T_NS 1796506248000000000LL /* 2026-12-05T21:30:48Z */

static void expect_line(const char *level, const char *text, const char *want_msg)
{
	struct cluster_log l = {0};
	char want[4096];

	cluster_log_add(&l, T_NS, level, "%s", text);
	snprintf(want, sizeof(want), "time=\"2026-12-05T21:30:48Z\" level=%s msg=\"%s\"\n", level,
		 want_msg);
	T_ASSERT(!l.oom && l.len == strlen(want) && !strcmp(l.buf, want), "got '%s', want '%s'",
		 l.buf ? l.buf : "", want);
	cluster_log_fini(&l);
	T_ASSERT(!l.buf && !l.len);
}

int main(void)
{
	struct cluster_log a = {0}, b = {0};
	char *big = malloc(3001), *want = malloc(3002);

	expect_line("info", "backup app/web started", "backup app/web started");
	expect_line("warning", "say \"hi\" \\ bye", "say \\\"hi\\\" \\\\ bye");
	expect_line("error", "two\nlines\tand\x01\x1f\x7f",
		    "two\\nlines\\tand\\u0001\\u001f\\u007f");
	/* a forged line stays inside its quotes */
	expect_line("info", "x\"\ntime=\"2026\" level=error msg=\"forged",
		    "x\\\"\\ntime=\\\"2026\\\" level=error msg=\\\"forged");
	/* UTF-8 kept; what is not UTF-8 a '?' each */
	expect_line("info", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
		    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
	expect_line("info",
		    "a\xff"
		    "b\x80"
		    "c\xc0\xaf"
		    "d\xed\xa0\x80"
		    "e\xc3",
		    "a?b?c??d???e?");
	expect_line("info",
		    "\xe2\x82"
		    "x",
		    "??x");
	expect_line("info", "", "");
	/* longer than the first buffer */
	memset(big, 'x', 3000);
	big[3000] = '\0';
	big[1500] = '"';
	memcpy(want, big, 1500);
	strcpy(want + 1500, "\\\"");
	strcpy(want + 1502, big + 1501);
	expect_line("info", big, want);
	/* lines in order, and appended */
	cluster_log_add(&a, T_NS, "info", "one %d", 1);
	cluster_log_add(&b, T_NS + 1000000000LL, "error", "two %s", "b");
	cluster_log_append(&a, &b);
	cluster_log_add(&a, T_NS, "info", "three");
	T_ASSERT(!strcmp(a.buf, "time=\"2026-12-05T21:30:48Z\" level=info msg=\"one 1\"\n"
				"time=\"2026-12-05T21:30:49Z\" level=error msg=\"two b\"\n"
				"time=\"2026-12-05T21:30:48Z\" level=info msg=\"three\"\n"),
		 "%s", a.buf);
	T_ASSERT(a.len == strlen(a.buf));
	cluster_log_fini(&a);
	cluster_log_fini(&b);
	free(big);
	free(want);
	printf("PASS\n");
	return 0;
}
