// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_lb_published.c - control/lb's reading of a
 * LoadBalancePolicy's status (lb_published_parse()) on any bytes: the input
 * is JSON documents separated by a line "---", the first the policy, up to 7
 * more EndpointSlices. The parse returns 0, -EINVAL with a one-line message,
 * or -ENOMEM; what it returns is sorted by address, each address once, every
 * weight in 0..LB_WEIGHT_SCALE_MAX, scale the largest, and
 * lb_published_weight() finds each listed weight. Then the plan of a
 * Service of the policy's spec.service (ClusterIP 10.96.0.10, port 80, not
 * annotated) with those slices and the weights (lb_plan_build_opts()): 0,
 * -EINVAL with a message, or -ENOMEM; each backend weighs what
 * lb_published_weight() says of its address (1 each where that is 0 for all
 * of an entry's backends), and each entry's table builds.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "control/lb/lb.h"
#include "k8s/k8s.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXD 8

static void check_plan(const struct lb_published *p, const char *const *doc, const size_t *len,
		       size_t n)
{
	struct lb_plan_opts o = {.sz = sizeof(o), .published = p};
	struct lb_node node = {.name = "n1", .zone = "a"};
	struct k8s_obj *svc = NULL, *sl[MAXD] = {0};
	struct lb_plan *plan = NULL;
	struct lb_err err = {{0}};
	size_t ns = 0;
	int ret;

	if (k8s_obj_new(&svc) || k8s_obj_set_str(svc, "/metadata/name", p->service) ||
	    k8s_obj_set_str(svc, "/metadata/namespace", "shop") ||
	    k8s_obj_set_str(svc, "/spec/clusterIP", "10.96.0.10") ||
	    k8s_obj_set_json(svc, "/spec/ports", "[{\"port\":80}]"))
		goto out; /* no memory */
	for (size_t i = 0; i < n; i++)
		if (!k8s_obj_parse(doc[i], len[i], &sl[ns]))
			ns++;
	ret = lb_plan_build_opts(svc, (const struct k8s_obj *const *)sl, ns, &node, &o, &plan,
				 &err);
	if (ret == -EINVAL && !err.msg[0])
		abort();
	if (ret && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (ret)
		goto out;
	if (plan->skip) /* the policy opts it in: only ExternalName, headless, no ClusterIP skip */
		abort();
	for (size_t i = 0; i < plan->n; i++) {
		const struct lb_entry *e = &plan->e[i];
		struct ebpf_maglev *t = NULL;

		uint64_t total = 0;

		for (size_t j = 0; j < e->svc.n; j++)
			total += lb_published_weight(p, e->be[j].addr.ip, 1);
		/* all published at 0: equal weights */
		for (size_t j = 0; j < e->svc.n; j++)
			if (e->be[j].weight !=
			    (total ? lb_published_weight(p, e->be[j].addr.ip, 1) : 1))
				abort();
		if (e->svc.n <= 64) {
			if (ebpf_maglev_build(e->be, e->svc.n, false, 0, &t))
				abort();
			ebpf_maglev_free(t);
		}
	}
out:
	lb_plan_free(plan);
	for (size_t i = 0; i < ns; i++)
		k8s_obj_free(sl[i]);
	k8s_obj_free(svc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *doc[MAXD], *s = (const char *)data, *end = s + size;
	struct lb_published *p = (struct lb_published *)&size; /* must be set */
	struct lb_err err = {{0}};
	struct k8s_obj *pol = NULL;
	size_t len[MAXD], n = 0;
	uint32_t max = 0;
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
	if (k8s_obj_parse(doc[0], len[0], &pol))
		return 0;
	ret = lb_published_parse(pol, &p, &err);
	k8s_obj_free(pol);
	if (ret == -EINVAL && (!err.msg[0] || strchr(err.msg, '\n')))
		abort();
	if (ret && ret != -EINVAL && ret != -ENOMEM)
		abort();
	if (ret) {
		if (p)
			abort();
		return 0;
	}
	if (!p->service[0] || p->n > EBPF_LB_MAX_BACKENDS || (p->n && !p->be))
		abort();
	for (size_t i = 0; i < p->n; i++) {
		if (p->be[i].weight > LB_WEIGHT_SCALE_MAX)
			abort();
		if (i && memcmp(p->be[i - 1].ip, p->be[i].ip, 16) >= 0)
			abort(); /* sorted, each once */
		if (lb_published_weight(p, p->be[i].ip, 7) != p->be[i].weight)
			abort();
		if (p->be[i].weight > max)
			max = p->be[i].weight;
	}
	if (max != p->scale)
		abort();
	check_plan(p, doc + 1, len + 1, n - 1);
	lb_published_free(p);
	return 0;
}
