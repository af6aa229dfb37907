// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_signals_page.c - the agent's per-pod page parser
 * (control/signals/page.c) on any bytes: it returns 0 or -EINVAL (or
 * -ENOMEM); every pod it passes on has names of 1..253 characters and
 * values >= 0; what it accepts, written again with sig_page_pods() and
 * sig_page_write(), parses back to the same pods.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/signals/signals.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXP 64

struct keep {
	size_t n;
	bool over;
	uint64_t seq;
	struct sig_pod pods[MAXP];
	char *strs[MAXP][3];
};

static int each(void *arg, const struct sig_page *pg, const struct sig_pod *p)
{
	struct keep *k = arg;

	if (!pg->node || !p->ns || !p->name || !p->uid || !*p->ns || strlen(p->name) > 253)
		abort();
	for (int i = 0; i < SIG_KINDS; i++)
		if (p->has[i] && p->v[i] < 0)
			abort();
	if (k->n == MAXP) {
		k->over = true;
		return 0;
	}
	k->seq = pg->seq;
	k->pods[k->n] = *p;
	k->strs[k->n][0] = strdup(p->ns);
	k->strs[k->n][1] = strdup(p->name);
	k->strs[k->n][2] = strdup(p->uid);
	if (!k->strs[k->n][0] || !k->strs[k->n][1] || !k->strs[k->n][2])
		abort();
	k->pods[k->n].ns = k->strs[k->n][0];
	k->pods[k->n].name = k->strs[k->n][1];
	k->pods[k->n].uid = k->strs[k->n][2];
	k->n++;
	return 0;
}

static void keep_free(struct keep *k)
{
	for (size_t i = 0; i < k->n; i++)
		for (int j = 0; j < 3; j++)
			free(k->strs[i][j]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keep a = {0}, b = {0};
	struct sig_page pg;
	char *pj = NULL, *doc = NULL;
	size_t pl = 0, dl = 0;
	FILE *f;
	int ret = sig_page_parse((const char *)data, size, &pg, each, &a);

	if (ret != 0 && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (ret || a.over) {
		keep_free(&a);
		return 0;
	}
	f = open_memstream(&pj, &pl);
	if (!f || sig_page_pods(f, a.pods, a.n))
		abort();
	fclose(f);
	pg.node = "n";
	f = open_memstream(&doc, &dl);
	if (!f || sig_page_write(f, &pg, pj, pl))
		abort();
	fclose(f);
	if (sig_page_parse(doc, dl, &pg, each, &b) || b.n != a.n)
		abort();
	for (size_t i = 0; i < a.n; i++)
		if (strcmp(a.pods[i].ns, b.pods[i].ns) || strcmp(a.pods[i].name, b.pods[i].name) ||
		    strcmp(a.pods[i].uid, b.pods[i].uid) ||
		    memcmp(a.pods[i].has, b.pods[i].has, sizeof(a.pods[i].has)))
			abort();
		else
			for (int k = 0; k < SIG_KINDS; k++)
				if (a.pods[i].has[k] && a.pods[i].v[k] != b.pods[i].v[k])
					abort();
	keep_free(&a);
	keep_free(&b);
	free(pj);
	free(doc);
	return 0;
}
