// SPDX-License-Identifier: MIT
/*
 * control/lb/published.c - what the agents read of a LoadBalancePolicy: its
 * Service and the weights the controller published in its status (lb.h,
 * "the policy"). The status is untrusted: any object the API server serves,
 * written by whoever may write the status subresource, so every field read
 * is checked for its type and range before it is used.
 */
#include <assert.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "k8s/k8s.h"

static int pub_fail(struct lb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int be_cmp(const void *a, const void *b)
{
	const struct lb_published_backend *x = a, *y = b;

	return memcmp(x->ip, y->ip, sizeof(x->ip));
}

void lb_published_free(struct lb_published *p)
{
	if (!p)
		return;
	free(p->be);
	free(p);
}

/* @s for a one-line message: at most 64 bytes, control characters as '?' */
static const char *shown(const char *s, char buf[65])
{
	size_t i;

	for (i = 0; i < 64 && s[i]; i++)
		buf[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	buf[i] = 0;
	return buf;
}

/* status.backends[@i] into @out */
static int backend_parse(const struct k8s_obj *o, size_t i, struct lb_published_backend *out,
			 struct lb_err *err)
{
	struct ebpf_lb_addr a;
	const char *addr;
	char sh[65];
	int64_t w;
	int r;

	if (k8s_obj_type(o, "") != K8S_T_OBJECT)
		return pub_fail(err, "status.backends[%zu] is not an object", i);
	addr = k8s_obj_str(o, "/address");
	if (!addr)
		return pub_fail(err, "status.backends[%zu]: address is %s", i,
				k8s_obj_type(o, "/address") == K8S_T_ABSENT ? "missing"
									    : "not a string");
	if (ebpf_lb_addr_parse(addr, 1, &a))
		return pub_fail(err, "status.backends[%zu]: address '%s' is not an IP address", i,
				shown(addr, sh));
	r = k8s_obj_int(o, "/weight", &w);
	if (r == -ENOENT)
		return pub_fail(err, "status.backends[%zu] (%s): weight is missing", i,
				shown(addr, sh));
	if (r || w < 0 || w > LB_WEIGHT_SCALE_MAX)
		return pub_fail(err, "status.backends[%zu] (%s): weight is not an integer 0..%d", i,
				shown(addr, sh), LB_WEIGHT_SCALE_MAX);
	memcpy(out->ip, a.ip, sizeof(out->ip));
	out->weight = (uint32_t)w;
	return 0;
}

int lb_published_parse(const struct k8s_obj *policy, struct lb_published **out, struct lb_err *err)
{
	const struct k8s_obj *st, *bes;
	struct lb_published *p;
	const char *svc, *t;
	size_t n, i = 0;
	int ret;

	if (err)
		err->msg[0] = 0;
	*out = NULL;
	if (k8s_obj_type(policy, "") != K8S_T_OBJECT)
		return pub_fail(err, "not an object");
	svc = k8s_obj_str(policy, "/spec/service");
	if (!svc)
		return pub_fail(err, "spec.service is %s",
				k8s_obj_type(policy, "/spec/service") == K8S_T_ABSENT
					? "missing"
					: "not a string");
	if (!svc[0])
		return pub_fail(err, "spec.service is empty");
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	if (strlen(svc) >= sizeof(p->service)) {
		ret = pub_fail(err, "spec.service is longer than %zu bytes",
			       sizeof(p->service) - 1);
		goto out_free;
	}
	strcpy(p->service, svc);
	st = k8s_obj_at(policy, "/status");
	if (!st || k8s_obj_type(st, "") == K8S_T_NULL)
		goto out_done; /* nothing published yet */
	if (k8s_obj_type(st, "") != K8S_T_OBJECT) {
		ret = pub_fail(err, "status is not an object");
		goto out_free;
	}
	if (k8s_obj_type(st, "/lastUpdateTime") > K8S_T_NULL) {
		t = k8s_obj_str(st, "/lastUpdateTime");
		if (!t || k8s_time_parse(t, &p->updated_ns)) {
			ret = pub_fail(err, "status.lastUpdateTime is not an RFC 3339 time");
			goto out_free;
		}
	}
	bes = k8s_obj_at(st, "/backends");
	if (!bes || k8s_obj_type(bes, "") == K8S_T_NULL)
		goto out_done;
	if (k8s_obj_type(bes, "") != K8S_T_ARRAY) {
		ret = pub_fail(err, "status.backends is not a list");
		goto out_free;
	}
	n = k8s_obj_len(bes, "");
	if (n > EBPF_LB_MAX_BACKENDS) {
		ret = pub_fail(err, "status.backends has %zu entries, more than %d", n,
			       EBPF_LB_MAX_BACKENDS);
		goto out_free;
	}
	if (!n)
		goto out_done;
	p->be = calloc(n, sizeof(*p->be));
	if (!p->be) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (const struct k8s_obj *b = k8s_obj_first(bes); b; b = k8s_obj_next(b), i++) {
		assert(i < n);
		ret = backend_parse(b, i, &p->be[i], err);
		if (ret)
			goto out_free;
		if (p->be[i].weight > p->scale)
			p->scale = p->be[i].weight;
	}
	assert(i == n);
	p->n = n;
	qsort(p->be, p->n, sizeof(*p->be), be_cmp);
	for (i = 1; i < p->n; i++) {
		if (!be_cmp(&p->be[i - 1], &p->be[i])) {
			struct ebpf_lb_addr a = {.port = 0};
			char s[64];

			memcpy(a.ip, p->be[i].ip, sizeof(a.ip));
			ebpf_lb_addr_format(&a, s, sizeof(s));
			*strrchr(s, ':') = 0; /* no port */
			ret = pub_fail(err, "status.backends lists %s twice", s);
			goto out_free;
		}
	}
out_done:
	*out = p;
	return 0;
out_free:
	lb_published_free(p);
	return ret;
}

uint32_t lb_published_weight(const struct lb_published *p, const uint8_t ip[16], uint32_t dflt)
{
	struct lb_published_backend key;
	const struct lb_published_backend *b;
	double w;

	if (!p || !p->n)
		return dflt;
	memcpy(key.ip, ip, sizeof(key.ip));
	b = bsearch(&key, p->be, p->n, sizeof(*p->be), be_cmp);
	if (b)
		return b->weight;
	/* newer than the last publication: where the slow start would begin it */
	w = round((double)p->scale * LB_SLOW_START_MIN);
	return w < 1 ? 1 : (uint32_t)w;
}
