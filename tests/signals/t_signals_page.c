// SPDX-License-Identifier: MIT
/*
 * tests/signals/t_signals_page.c - the agent's per-pod page
 * (control/signals/signals.h): what the agent writes parses back field for
 * field (names that need escaping, values absent as null, an empty page,
 * the optional "throttled" present or not);
 * malformed pages (not JSON, a field missing or mistyped, a "v" of another
 * length, negative or fractional values (in "v" or "throttled"), ages and
 * intervals out of range,
 * empty or overlong names) are refused with -EINVAL and pass no pod after
 * the bad one; an error of the callback stops the parse with it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/signals/signals.h"
#include "t_helpers.h"

struct got {
	size_t n;
	struct sig_page pg;
	char ns[4][300], name[4][300], uid[4][300];
	bool has[4][SIG_KINDS];
	int64_t v[4][SIG_KINDS];
	int stop_at; /* return -ECANCELED at this pod (0: never) */
};

static int each(void *arg, const struct sig_page *pg, const struct sig_pod *p)
{
	struct got *g = arg;

	if (g->stop_at && (int)g->n + 1 == g->stop_at)
		return -ECANCELED;
	T_ASSERT(g->n < 4, "too many pods");
	T_ASSERT(pg->node != NULL, "the node during the parse");
	g->pg = *pg;
	snprintf(g->ns[g->n], sizeof(g->ns[0]), "%s", p->ns);
	snprintf(g->name[g->n], sizeof(g->name[0]), "%s", p->name);
	snprintf(g->uid[g->n], sizeof(g->uid[0]), "%s", p->uid);
	memcpy(g->has[g->n], p->has, sizeof(p->has));
	memcpy(g->v[g->n], p->v, sizeof(p->v));
	g->n++;
	return 0;
}

static char *page_of(const struct sig_page *pg, const struct sig_pod *pods, size_t n)
{
	char *pj = NULL, *out = NULL;
	size_t pl = 0, ol = 0;
	FILE *f = open_memstream(&pj, &pl);

	T_ASSERT(f && !sig_page_pods(f, pods, n), "sig_page_pods");
	fclose(f);
	f = open_memstream(&out, &ol);
	T_ASSERT(f && !sig_page_write(f, pg, pj, pl), "sig_page_write");
	fclose(f);
	free(pj);
	return out;
}

static int parse(const char *s, struct got *g)
{
	memset(g, 0, sizeof(*g));
	return sig_page_parse(s, strlen(s), &g->pg, each, g);
}

#define GOOD_HEAD "{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":20,\"pods\":"
#define POD(v)	  "{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" v "}"
#define V8	  "[1,2,3,4,5,6,7,8]"

int main(void)
{
	struct sig_pod pods[2] = {
		{.ns = "web", .name = "we\"ird\\name", .uid = "0f8e-1"},
		{.ns = "db", .name = "db-0", .uid = "0f8e-2"},
	};
	struct sig_page pg = {.node = "node-1", .seq = 42, .interval_ms = 1000, .age_ms = 180};
	struct got g;
	char *s;
	size_t bad_n = 0;
	int ret;

	for (int k = 0; k < SIG_KINDS; k++) {
		pods[0].has[k] = k != SIG_MEMORY;
		pods[0].v[k] = 1000 * k + 7;
		pods[1].has[k] = k == SIG_CPU;
		pods[1].v[k] = k == SIG_CPU ? 250 : 0;
	}
	s = page_of(&pg, pods, 2);
	ret = parse(s, &g);
	T_ASSERT(ret == 0, "a written page parses: %d (%s)", ret, s);
	T_ASSERT_EQ(g.n, (size_t)2);
	T_ASSERT(g.pg.seq == 42 && g.pg.interval_ms == 1000 && g.pg.age_ms == 180, "header");
	T_ASSERT(g.pg.node == NULL, "node is NULL after the return (it lived in the document)");
	T_ASSERT(!strcmp(g.name[0], "we\"ird\\name") && !strcmp(g.ns[1], "db") &&
			 !strcmp(g.uid[1], "0f8e-2"),
		 "names round trip, escaped");
	for (int k = 0; k < SIG_KINDS; k++) {
		T_ASSERT(g.has[0][k] == (k != SIG_MEMORY), "pod 0 value %d presence", k);
		T_ASSERT(!g.has[0][k] || g.v[0][k] == 1000 * k + 7, "pod 0 value %d", k);
		T_ASSERT(g.has[1][k] == (k == SIG_CPU), "pod 1 value %d presence", k);
	}
	T_ASSERT(g.v[1][SIG_CPU] == 250, "pod 1 cpu");
	T_ASSERT(strstr(s, "null") != NULL, "absent values are null on the wire");
	/* the optional field: written only where measured, beside "v" */
	T_ASSERT(strstr(s, ",\"throttled\":8007}") != NULL, "throttled on the wire: %s", s);
	T_ASSERT(strstr(strstr(s, "\"db-0\""), "throttled") == NULL,
		 "no throttled field for a pod without it: %s", s);
	free(s);

	/* pages with and without the optional "throttled" */
	T_ASSERT(parse(GOOD_HEAD "[" POD(V8) "]}", &g) == 0 && g.n == 1 &&
			 !g.has[0][SIG_THROTTLED] && g.has[0][SIG_TX_PACKETS],
		 "a page without throttled (an older agent)");
	T_ASSERT(parse(GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
				 ",\"throttled\":800}]}",
		       &g) == 0 &&
			 g.n == 1 && g.has[0][SIG_THROTTLED] && g.v[0][SIG_THROTTLED] == 800,
		 "a page with throttled");
	T_ASSERT(parse(GOOD_HEAD "[{\"throttled\":0,\"namespace\":\"a\",\"name\":\"b\",\"uid\":"
				 "\"u\",\"v\":" V8 "}]}",
		       &g) == 0 &&
			 g.has[0][SIG_THROTTLED] && g.v[0][SIG_THROTTLED] == 0,
		 "throttled 0, in any position");
	T_ASSERT(parse(GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
				 ",\"throttled\":null}]}",
		       &g) == 0 &&
			 !g.has[0][SIG_THROTTLED],
		 "throttled null is absent");
	T_ASSERT(parse(GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
				 ",\"later\":[1]}]}",
		       &g) == 0 &&
			 g.n == 1,
		 "an unknown field of a later agent is ignored");

	/* an empty page */
	s = page_of(&pg, NULL, 0);
	T_ASSERT(parse(s, &g) == 0 && g.n == 0, "an empty page parses");
	free(s);
	/* the header alone */
	T_ASSERT(sig_page_parse(GOOD_HEAD "[" POD(V8) "]}", strlen(GOOD_HEAD "[" POD(V8) "]}"),
				&g.pg, NULL, NULL) == 0 &&
			 g.pg.seq == 3,
		 "the header alone");
	/* the callback's error stops the parse */
	memset(&g, 0, sizeof(g));
	g.stop_at = 2;
	ret = sig_page_parse(GOOD_HEAD "[" POD(V8) "," POD(V8) "," POD(V8) "]}",
			     strlen(GOOD_HEAD "[" POD(V8) "," POD(V8) "," POD(V8) "]}"), &g.pg,
			     each, &g);
	T_ASSERT(ret == -ECANCELED && g.n == 1, "the callback's error: %d, %zu pods", ret, g.n);

	/* malformed pages */
	static const char *const bad[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":20}",
		"{\"seq\":3,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":7,\"seq\":3,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":0,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":-1,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":1.5,\"interval_ms\":1000,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":0,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":3600001,\"age_ms\":20,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":-1,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":3600001,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":1e300,\"pods\":[]}",
		"{\"node\":\"n1\",\"seq\":3,\"interval_ms\":1000,\"age_ms\":20,\"pods\":{}}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7]") "]}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7,8,9]") "]}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7,-8]") "]}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7,8.5]") "]}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7,\"8\"]") "]}",
		GOOD_HEAD "[" POD("[1,2,3,4,5,6,7,1e300]") "]}",
		GOOD_HEAD "[" POD("{}") "]}",
		GOOD_HEAD "[" POD(V8) ",{\"namespace\":\"a\",\"name\":\"b\",\"v\":" V8 "}]}",
		GOOD_HEAD "[{\"namespace\":\"\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8 "}]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":null,\"uid\":\"u\",\"v\":" V8 "}]}",
		GOOD_HEAD "[7]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
			  ",\"throttled\":-1}]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
			  ",\"throttled\":0.5}]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
			  ",\"throttled\":\"800\"}]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
			  ",\"throttled\":1e300}]}",
		GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"b\",\"uid\":\"u\",\"v\":" V8
			  ",\"throttled\":[800]}]}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ret = parse(bad[i], &g);
		T_ASSERT(ret == -EINVAL, "bad page %zu refused: %d (%s)", i, ret, bad[i]);
		T_ASSERT(g.n == (strstr(bad[i], POD(V8) ",") == bad[i] + strlen(GOOD_HEAD "[")
					 ? 1u
					 : 0u),
			 "bad page %zu: no pod after the bad one (%zu)", i, g.n);
		bad_n++;
	}
	/* a name of 254 characters is not a name of the API */
	{
		char big[300], doc[1200];

		memset(big, 'x', 254);
		big[254] = '\0';
		snprintf(doc, sizeof(doc),
			 GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"%s\",\"uid\":\"u\",\"v\":" V8
				   "}]}",
			 big);
		T_ASSERT(parse(doc, &g) == -EINVAL, "a name of 254 characters");
		big[253] = '\0';
		snprintf(doc, sizeof(doc),
			 GOOD_HEAD "[{\"namespace\":\"a\",\"name\":\"%s\",\"uid\":\"u\",\"v\":" V8
				   "}]}",
			 big);
		T_ASSERT(parse(doc, &g) == 0 && g.n == 1, "a name of 253 characters");
	}
	printf("t_signals_page: round trip, %zu malformed pages refused\n", bad_n);
	return T_EXIT_PASS;
}
