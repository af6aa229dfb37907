// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_lb.c - control/lb's plan (lb_plan_build_json()) on any
 * bytes: the input is JSON documents separated by a line "---", the first
 * the Service, up to 7 more its EndpointSlices, for node n1 in zone a. It
 * returns 0, -EINVAL with a message, or -ENOMEM; a plan it returns has
 * entries of TCP or UDP whose backends are of the entry's family, each
 * once, with weight 1, and each entry's table builds (ebpf_maglev_build()).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXD 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc[MAXD], *s = (const char *)data, *end = s + size;
	struct lb_node node = {.name = "n1", .zone = "a"};
	struct lb_plan *p = NULL;
	struct lb_err err = {{0}};
	size_t len[MAXD], n = 0;
	int ret;

	while (n < MAXD) {
		const char *sep = memmem(s, (size_t)(end - s), "\n---\n", 5);

		doc[n] = s;
		len[n] = sep ? (size_t)(sep - s) : (size_t)(end - s);
		n++;
		if (!sep)
			break;
		s = sep + 5;
	}
	ret = lb_plan_build_json(doc[0], len[0], doc + 1, len + 1, n - 1, &node, &p, &err);
	if (ret == -EINVAL && !err.msg[0])
		abort();
	if (ret && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (ret)
		return 0;
	if (p->skip && p->n)
		abort();
	for (size_t i = 0; i < p->n; i++) {
		const struct lb_entry *e = &p->e[i];
		bool v4 = ebpf_lb_addr_is_v4(&e->svc.vip.addr);
		struct ebpf_maglev *t = NULL;

		if (e->svc.be != e->be || e->svc.n > EBPF_LB_MAX_BACKENDS ||
		    !e->svc.vip.addr.port ||
		    (e->svc.vip.proto != IPPROTO_TCP && e->svc.vip.proto != IPPROTO_UDP))
			abort();
		for (size_t j = 0; j < e->svc.n; j++)
			if (ebpf_lb_addr_is_v4(&e->be[j].addr) != v4 || e->be[j].weight != 1 ||
			    !e->be[j].addr.port)
				abort();
		if (e->svc.n <= 64) {
			/* -EINVAL here would be an address twice */
			if (ebpf_maglev_build(e->be, e->svc.n, false, 0, &t))
				abort();
			ebpf_maglev_free(t);
		}
	}
	lb_plan_free(p);
	return 0;
}
