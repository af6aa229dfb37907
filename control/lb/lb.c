// SPDX-License-Identifier: MIT
/*
 * control/lb/lb.c - a Service and its EndpointSlices -> the socket load
 * balancer's entries (lb.h has the rules). Pure: API objects in, plain
 * structs out.
 */
#include <assert.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lb.h"
#include "k8s/k8s.h"

/* one endpoint of one slice, for one Service port */
struct cand {
	struct ebpf_lb_addr addr;
	size_t seq; /* order of sighting: the first of equal addresses wins */
	bool ready, serving, terminating, local, hinted, for_zone;
};

static int lb_fail(struct lb_err *err, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

bool lb_opted_in(const struct k8s_obj *svc)
{
	const char *v = k8s_obj_annotation(svc, LB_ANNOTATION);

	return v && !strcmp(v, "true");
}

bool lb_pod_has_mesh(const struct k8s_obj *pod)
{
	static const char *const sidecars[] = {"istio-proxy", "linkerd-proxy", "istio-init",
					       "linkerd-init"};
	static const char *const lists[] = {"/spec/containers", "/spec/initContainers"};

	if (k8s_obj_annotation(pod, "sidecar.istio.io/status"))
		return true;
	for (size_t l = 0; l < sizeof(lists) / sizeof(lists[0]); l++)
		for (const struct k8s_obj *c = k8s_obj_first(k8s_obj_at(pod, lists[l])); c;
		     c = k8s_obj_next(c)) {
			const char *name = k8s_obj_str(c, "/name");

			for (size_t i = 0; name && i < sizeof(sidecars) / sizeof(sidecars[0]); i++)
				if (!strcmp(name, sidecars[i]))
					return true;
		}
	return false;
}

void lb_plan_free(struct lb_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].be);
	free(p->e);
	free(p);
}

/* a port's protocol: IPPROTO_TCP, IPPROTO_UDP, 0 for SCTP, -EINVAL otherwise */
static int proto_of(const struct k8s_obj *port)
{
	const char *p;

	if (k8s_obj_type(port, "/protocol") == K8S_T_ABSENT)
		return IPPROTO_TCP;
	p = k8s_obj_str(port, "/protocol");
	if (!p)
		return -EINVAL;
	if (!strcmp(p, "TCP"))
		return IPPROTO_TCP;
	if (!strcmp(p, "UDP"))
		return IPPROTO_UDP;
	if (!strcmp(p, "SCTP"))
		return 0;
	return -EINVAL;
}

/* a port's name: "" when absent; NULL when not a string */
static const char *name_of(const struct k8s_obj *port)
{
	if (k8s_obj_type(port, "/name") == K8S_T_ABSENT ||
	    k8s_obj_type(port, "/name") == K8S_T_NULL)
		return "";
	return k8s_obj_str(port, "/name");
}

static int cand_cmp(const void *a, const void *b)
{
	const struct cand *x = a, *y = b;
	int c = memcmp(x->addr.ip, y->addr.ip, sizeof(x->addr.ip));

	if (c)
		return c;
	if (x->addr.port != y->addr.port)
		return x->addr.port < y->addr.port ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* endpoint @e's hints: whether it has any, and whether one is @zone */
static int hints_of(const struct k8s_obj *e, const char *zone, bool *hinted, bool *for_zone,
		    struct lb_err *err)
{
	const struct k8s_obj *z = k8s_obj_at(e, "/hints/forZones");

	*hinted = *for_zone = false;
	if (!z || k8s_obj_type(z, "") == K8S_T_NULL)
		return 0;
	if (k8s_obj_type(z, "") != K8S_T_ARRAY)
		return lb_fail(err, "an endpoint's hints.forZones is not a list");
	for (const struct k8s_obj *h = k8s_obj_first(z); h; h = k8s_obj_next(h)) {
		const char *name = k8s_obj_str(h, "/name");

		if (!name)
			return lb_fail(err, "an endpoint's hints.forZones[] has no name");
		*hinted = true;
		if (zone && !strcmp(name, zone))
			*for_zone = true;
	}
	return 0;
}

/*
 * The candidates of one Service port (@pname, @proto) in the slices of
 * family @v4: appended to *@c (*@n of *@cap), sorted and made unique.
 */
static int cands_collect(const char *svc_ns, const char *svc_name,
			 const struct k8s_obj *const *slices, size_t nslices, bool v4,
			 const char *pname, int proto, const struct lb_node *node, struct cand **c,
			 size_t *n, size_t *cap, struct lb_err *err)
{
	size_t seq = 0, w;

	*n = 0;
	for (size_t s = 0; s < nslices; s++) {
		struct k8s_endpointslice es;
		const struct k8s_obj *sp;
		int64_t port = -1;

		if (k8s_endpointslice_view(slices[s], &es))
			return lb_fail(err, "an EndpointSlice without metadata.name");
		if (!es.service || strcmp(es.service, svc_name) ||
		    strcmp(es.meta.ns ? es.meta.ns : "", svc_ns))
			continue;
		if (!es.address_type)
			return lb_fail(err, "EndpointSlice %s: no addressType", es.meta.name);
		if (strcmp(es.address_type, v4 ? "IPv4" : "IPv6"))
			continue; /* the other family, or FQDN */
		if (es.ports && k8s_obj_type(es.ports, "") != K8S_T_ARRAY &&
		    k8s_obj_type(es.ports, "") != K8S_T_NULL)
			return lb_fail(err, "EndpointSlice %s: ports is not a list", es.meta.name);
		for (sp = k8s_obj_first(es.ports); sp; sp = k8s_obj_next(sp)) {
			const char *nm = name_of(sp);
			int pr = proto_of(sp), r;

			if (!nm || pr < 0)
				return lb_fail(
					err, "EndpointSlice %s: a port with a bad name or protocol",
					es.meta.name);
			if (strcmp(nm, pname) || pr != proto)
				continue;
			r = k8s_obj_int(sp, "/port", &port);
			if (r == -ENOENT) {
				port = -1; /* nil: no port number, nothing to balance to */
				break;
			}
			if (r || port < 1 || port > 65535)
				return lb_fail(err, "EndpointSlice %s: port %s is not 1..65535",
					       es.meta.name, nm[0] ? nm : "(unnamed)");
			break;
		}
		if (port < 1)
			continue;
		if (es.endpoints && k8s_obj_type(es.endpoints, "") != K8S_T_ARRAY &&
		    k8s_obj_type(es.endpoints, "") != K8S_T_NULL)
			return lb_fail(err, "EndpointSlice %s: endpoints is not a list",
				       es.meta.name);
		for (const struct k8s_obj *e = k8s_obj_first(es.endpoints); e;
		     e = k8s_obj_next(e)) {
			struct k8s_endpoint ep;
			struct cand *x;
			int r;

			if (k8s_endpoint_view(e, &ep) || !ep.address)
				return lb_fail(err,
					       "EndpointSlice %s: an endpoint without addresses",
					       es.meta.name);
			if (*n == *cap) {
				size_t nc = *cap ? 2 * *cap : 16;
				struct cand *nx;

				if (nc > (size_t)EBPF_LB_MAX_BACKENDS * 2)
					return lb_fail(err, "more than %d endpoints",
						       EBPF_LB_MAX_BACKENDS);
				nx = realloc(*c, nc * sizeof(*nx));
				if (!nx)
					return -ENOMEM;
				*c = nx;
				*cap = nc;
			}
			x = &(*c)[*n];
			memset(x, 0, sizeof(*x));
			if (ebpf_lb_addr_parse(ep.address, (uint16_t)port, &x->addr) ||
			    ebpf_lb_addr_is_v4(&x->addr) != v4)
				return lb_fail(err,
					       "EndpointSlice %s: '%.64s' is not an %s address",
					       es.meta.name, ep.address, v4 ? "IPv4" : "IPv6");
			r = hints_of(e, node->zone, &x->hinted, &x->for_zone, err);
			if (r)
				return r;
			x->seq = seq++;
			x->ready = ep.ready;
			x->serving = ep.serving;
			x->terminating = ep.terminating;
			x->local = node->name && ep.node_name && !strcmp(ep.node_name, node->name);
			(*n)++;
		}
	}
	if (!*n)
		return 0;
	qsort(*c, *n, sizeof(**c), cand_cmp);
	w = 1;
	for (size_t i = 1; i < *n; i++) {
		struct cand *prev = &(*c)[w - 1];

		if (!memcmp(prev->addr.ip, (*c)[i].addr.ip, sizeof(prev->addr.ip)) &&
		    prev->addr.port == (*c)[i].addr.port)
			continue; /* sorted by seq within an address: the first sighting is kept */
		(*c)[w++] = (*c)[i];
	}
	*n = w;
	if (*n > EBPF_LB_MAX_BACKENDS)
		return lb_fail(err, "more than %d endpoints", EBPF_LB_MAX_BACKENDS);
	return 0;
}

enum pick { P_READY, P_READY_ZONE, P_TERMINATING, P_LOCAL_READY, P_LOCAL_TERMINATING };

static bool picked(const struct cand *x, enum pick p)
{
	switch (p) {
	case P_READY:
		return x->ready;
	case P_READY_ZONE:
		return x->ready && x->for_zone;
	case P_TERMINATING:
		return x->serving && x->terminating;
	case P_LOCAL_READY:
		return x->local && x->ready;
	case P_LOCAL_TERMINATING:
		return x->local && x->serving && x->terminating;
	}
	return false;
}

static size_t count(const struct cand *c, size_t n, enum pick p)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		k += picked(&c[i], p);
	return k;
}

/* kube-proxy's choice of endpoints (CategorizeEndpoints) for one entry */
static enum pick choose(const struct cand *c, size_t n, bool local, const struct lb_node *node)
{
	bool topo = node->zone && node->zone[0], for_zone = false;

	if (local)
		return count(c, n, P_LOCAL_READY) ? P_LOCAL_READY : P_LOCAL_TERMINATING;
	/* topology: every ready endpoint has hints, and one is for this zone */
	for (size_t i = 0; i < n && topo; i++) {
		if (!c[i].ready)
			continue;
		if (!c[i].hinted)
			topo = false;
		for_zone |= c[i].for_zone;
	}
	if (topo && for_zone)
		return P_READY_ZONE;
	return count(c, n, P_READY) ? P_READY : P_TERMINATING;
}

static int entry_add(struct lb_plan *p, size_t *cap, const struct ebpf_lb_addr *vip, int proto,
		     const char *pname, bool affinity, const struct cand *c, size_t n, enum pick pk,
		     const struct lb_published *pub)
{
	struct lb_entry *e;
	size_t k = count(c, n, pk), j = 0;
	uint64_t total = 0;

	if (p->n == *cap) {
		size_t nc = *cap ? 2 * *cap : 4;
		struct lb_entry *ne = realloc(p->e, nc * sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		p->e = ne;
		*cap = nc;
	}
	e = &p->e[p->n];
	memset(e, 0, sizeof(*e));
	e->be = calloc(k ? k : 1, sizeof(*e->be));
	if (!e->be)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (!picked(&c[i], pk))
			continue;
		e->be[j].addr = c[i].addr;
		/* the policy's published weight; equal weights (1) without one */
		e->be[j].weight = lb_published_weight(pub, c[i].addr.ip, 1);
		total += e->be[j].weight;
		j++;
	}
	assert(j == k);
	/*
	 * every endpoint the slices give published at 0 (not ready when the status
	 * was written, ready now): the status is older than the slices, and equal
	 * weights serve where refusing every connect would not
	 */
	for (j = 0; j < k && !total; j++)
		e->be[j].weight = 1;
	e->svc.vip.addr = *vip;
	e->svc.vip.proto = (uint8_t)proto;
	e->svc.affinity = affinity ? EBPF_LB_AFFINITY_CLIENT : EBPF_LB_AFFINITY_NONE;
	e->svc.be = e->be;
	e->svc.n = k;
	snprintf(e->port_name, sizeof(e->port_name), "%s", pname);
	p->n++;
	return 0;
}

/* whether the Service is balanced at all: NULL, or why not */
static const char *skip_of(const struct k8s_obj *svc, const struct k8s_service *s,
			   const struct lb_plan_opts *o)
{
	if (!lb_opted_in(svc) && !o->policy)
		return "not opted in";
	if (s->type && !strcmp(s->type, "ExternalName"))
		return "ExternalName";
	if (s->cluster_ip && !strcmp(s->cluster_ip, "None"))
		return "headless";
	if ((!s->cluster_ip || !s->cluster_ip[0]) && !k8s_obj_len(svc, "/spec/clusterIPs"))
		return "no ClusterIP";
	return NULL;
}

int lb_plan_build(const struct k8s_obj *svc, const struct k8s_obj *const *slices, size_t nslices,
		  const struct lb_node *node, struct lb_plan **out, struct lb_err *err)
{
	return lb_plan_build_opts(svc, slices, nslices, node, NULL, out, err);
}

int lb_plan_build_opts(const struct k8s_obj *svc, const struct k8s_obj *const *slices,
		       size_t nslices, const struct lb_node *node, const struct lb_plan_opts *opts,
		       struct lb_plan **out, struct lb_err *err)
{
	struct lb_plan_opts o = {.sz = sizeof(o)};
	const struct k8s_obj *ips, *ip1 = NULL;
	struct lb_plan *p = NULL;
	struct k8s_service s;
	struct cand *c = NULL;
	size_t cap = 0, ccap = 0, nc;
	bool affinity, local;
	int ret;

	if (err)
		err->msg[0] = 0;
	if (opts)
		memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));
	if (o.published)
		o.policy = true;
	if (!svc || (nslices && !slices) || !node || k8s_service_view(svc, &s))
		return lb_fail(err, "not a Service with metadata.name");
	if (o.published && strcmp(o.published->service, s.meta.name))
		return lb_fail(err, "Service %s: the weights given are for Service %s", s.meta.name,
			       o.published->service);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->skip = skip_of(svc, &s, &o);
	if (p->skip)
		goto out_done;
	if (k8s_obj_type(svc, "/spec/type") > K8S_T_NULL && !s.type) {
		ret = lb_fail(err, "Service %s: spec.type is not a string", s.meta.name);
		goto out_free;
	}
	affinity = s.session_affinity && !strcmp(s.session_affinity, "ClientIP");
	local = s.internal_traffic_policy && !strcmp(s.internal_traffic_policy, "Local");
	ips = k8s_obj_at(svc, "/spec/clusterIPs");
	if (ips && k8s_obj_type(ips, "") != K8S_T_ARRAY && k8s_obj_type(ips, "") != K8S_T_NULL) {
		ret = lb_fail(err, "Service %s: spec.clusterIPs is not a list", s.meta.name);
		goto out_free;
	}
	if (!k8s_obj_len(ips, "")) {
		ips = NULL;
		ip1 = k8s_obj_at(svc, "/spec/clusterIP");
	}
	if (s.ports && k8s_obj_type(s.ports, "") != K8S_T_ARRAY &&
	    k8s_obj_type(s.ports, "") != K8S_T_NULL) {
		ret = lb_fail(err, "Service %s: spec.ports is not a list", s.meta.name);
		goto out_free;
	}
	for (const struct k8s_obj *ipo = ips ? k8s_obj_first(ips) : ip1; ipo;
	     ipo = ips ? k8s_obj_next(ipo) : NULL) {
		const char *ip = k8s_obj_str(ipo, "");
		struct ebpf_lb_addr vip;

		if (!ip || ebpf_lb_addr_parse(ip, 1, &vip)) {
			ret = lb_fail(err, "Service %s: ClusterIP '%.64s' is not an address",
				      s.meta.name, ip ? ip : "(not a string)");
			goto out_free;
		}
		for (const struct k8s_obj *po = k8s_obj_first(s.ports); po; po = k8s_obj_next(po)) {
			const char *pname = name_of(po);
			int proto = proto_of(po);
			int64_t port;

			if (!pname || strlen(pname) >= sizeof(p->e[0].port_name) || proto < 0) {
				ret = lb_fail(err, "Service %s: a port with a bad name or protocol",
					      s.meta.name);
				goto out_free;
			}
			if (k8s_obj_int(po, "/port", &port) || port < 1 || port > 65535) {
				ret = lb_fail(err, "Service %s: port %s is not 1..65535",
					      s.meta.name, pname[0] ? pname : "(unnamed)");
				goto out_free;
			}
			if (!proto)
				continue; /* SCTP: kube-proxy's */
			vip.port = (uint16_t)port;
			ret = cands_collect(s.meta.ns ? s.meta.ns : "", s.meta.name, slices,
					    nslices, ebpf_lb_addr_is_v4(&vip), pname, proto, node,
					    &c, &nc, &ccap, err);
			if (ret)
				goto out_free;
			ret = entry_add(p, &cap, &vip, proto, pname, affinity, c, nc,
					choose(c, nc, local, node), o.published);
			if (ret)
				goto out_free;
		}
	}
out_done:
	free(c);
	*out = p;
	return 0;
out_free:
	free(c);
	lb_plan_free(p);
	return ret;
}

int lb_plan_build_json(const char *svc, size_t svc_len, const char *const *slices,
		       const size_t *slice_len, size_t nslices, const struct lb_node *node,
		       struct lb_plan **out, struct lb_err *err)
{
	struct k8s_obj *so = NULL, **sl;
	size_t i;
	int ret;

	sl = calloc(nslices ? nslices : 1, sizeof(*sl));
	if (!sl)
		return -ENOMEM;
	ret = k8s_obj_parse(svc, svc_len, &so);
	if (ret) {
		if (ret == -EINVAL)
			lb_fail(err, "the Service is not JSON");
		goto out_free;
	}
	for (i = 0; i < nslices; i++) {
		ret = k8s_obj_parse(slices[i], slice_len[i], &sl[i]);
		if (ret) {
			if (ret == -EINVAL)
				lb_fail(err, "EndpointSlice %zu is not JSON", i);
			goto out_free;
		}
	}
	ret = lb_plan_build(so, (const struct k8s_obj *const *)sl, nslices, node, out, err);
out_free:
	for (i = 0; i < nslices; i++)
		k8s_obj_free(sl[i]);
	free(sl);
	k8s_obj_free(so);
	return ret;
}
