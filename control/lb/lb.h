/* SPDX-License-Identifier: MIT */
/*
 * control/lb/lb.h - the load balancing capability: a Service and its
 * EndpointSlices, as the API server has them, turned into the socket load
 * balancer's entries (bpf/ebpf_lb.h), one per Service port and ClusterIP.
 *
 * This is a pure function over API objects: no I/O, no clock, no kernel.
 * The agent (control/agent/) calls it for every change of an opted-in
 * Service or of its EndpointSlices, and hands each entry to
 * ebpf_lb_service_set(); the unit tests and the fuzzer call it on JSON.
 *
 * What it decides, as kube-proxy does (pkg/proxy/topology.go,
 * CategorizeEndpoints):
 *   - which Services: those annotated ferry.io/socket-lb: "true" with a
 *     ClusterIP; ExternalName and headless Services (clusterIP None) are
 *     not balanced, and a Service without the annotation is not either;
 *   - the entries: each ClusterIP of spec.clusterIPs (IPv4 and IPv6; else
 *     spec.clusterIP) times each TCP or UDP port of spec.ports (SCTP is
 *     left to kube-proxy); a port is matched by name to the EndpointSlice
 *     port of the same name (and protocol), whose number each endpoint of
 *     that slice serves on (targetPort by name works so);
 *   - the backends of an entry: the endpoints of the slices of the IP's
 *     family (addressType IPv4 or IPv6; FQDN slices are ignored) that are
 *     ready; when none is, those serving and terminating (the terminating
 *     fallback). internalTrafficPolicy Local keeps only endpoints whose
 *     nodeName is this node (ready ones, else serving and terminating
 *     ones). Otherwise topology hints (hints.forZones) are honoured when
 *     every ready endpoint has hints and at least one names this node's
 *     zone: then only endpoints hinted for the zone;
 *   - sessionAffinity ClientIP: EBPF_LB_AFFINITY_CLIENT;
 *   - weights: equal (1 each); the weight is per backend, so load-aware
 *     weights replace it without another type. An entry without backends
 *     is kept: its connects are refused at once (ECONNREFUSED).
 * The same address twice (in two slices) counts once, its first sighting.
 */
#ifndef FERRY_CTL_LB_H
#define FERRY_CTL_LB_H

#include <stdbool.h>
#include <stddef.h>

#include "bpf/ebpf_lb.h"

#ifdef __cplusplus
extern "C" {
#endif

struct k8s_obj;

/* The opt-in: this annotation with the value "true". */
#define LB_ANNOTATION "ferry.io/socket-lb"

/* The node the entries are for (borrowed; zone may be NULL: no hints used). */
struct lb_node {
	const char *name; /* its nodeName, for internalTrafficPolicy Local */
	const char *zone; /* its topology.kubernetes.io/zone label */
};

/* One Service port on one ClusterIP: what ebpf_lb_service_set() takes. */
struct lb_entry {
	struct ebpf_lb_service svc; /* svc.be points at be below */
	struct ebpf_lb_backend *be; /* svc.n, owned by the plan */
	char port_name[64];	    /* spec.ports[].name ("" when unnamed) */
};

/* What a Service comes to on this node. */
struct lb_plan {
	struct lb_entry *e; /* n entries */
	size_t n;
	/*
	 * NULL: balanced (n may still be 0: no TCP or UDP port). Else why it
	 * is not, a static string: "not opted in", "ExternalName",
	 * "headless", "no ClusterIP".
	 */
	const char *skip;
};

/* Error detail for a malformed Service or EndpointSlice. */
struct lb_err {
	char msg[256];
};

/* lb_opted_in() - @svc carries LB_ANNOTATION: "true" */
bool lb_opted_in(const struct k8s_obj *svc);

/**
 * lb_pod_has_mesh() - @pod has a service mesh's sidecar, whose iptables
 * redirect must see the Service address: a container istio-proxy or
 * linkerd-proxy, an init container istio-init, linkerd-init (or a native
 * sidecar istio-proxy, linkerd-proxy), or the annotation
 * sidecar.istio.io/status (istio's injector writes it). The balancer
 * leaves such pods alone (ebpf_lb_skip_set() of their cgroup).
 */
bool lb_pod_has_mesh(const struct k8s_obj *pod);

/**
 * lb_plan_build() - the entries of one Service on one node
 * @svc:     the Service (an API object), borrowed for the call
 * @slices:  @nslices EndpointSlices, borrowed; those that are not the
 *           Service's (label kubernetes.io/service-name, namespace) are
 *           ignored, so the caller may pass more
 * @node:    borrowed
 * @out:     the plan on success, freed with lb_plan_free()
 * @err:     NULL, or the detail of -EINVAL
 *
 * Pure and deterministic: the same objects give the same plan (entries in
 * the order of spec.clusterIPs, then spec.ports; backends sorted by address,
 * as ebpf_maglev_build() sorts them anyway).
 *
 * Return: 0; -EINVAL (not a Service with metadata.name; a ClusterIP that is
 * not an address; a port out of 1..65535; a Service or slice field of the
 * wrong type; more than EBPF_LB_MAX_BACKENDS backends), -ENOMEM.
 */
int lb_plan_build(const struct k8s_obj *svc, const struct k8s_obj *const *slices, size_t nslices,
		  const struct lb_node *node, struct lb_plan **out, struct lb_err *err);

/**
 * lb_plan_build_json() - the same from JSON documents (tests, the fuzzer)
 * @svc:    the Service, @svc_len bytes
 * @slices: @nslices documents, each slice_len[i] bytes
 *
 * Return: as lb_plan_build(); -EINVAL also for a document that is not JSON.
 */
int lb_plan_build_json(const char *svc, size_t svc_len, const char *const *slices,
		       const size_t *slice_len, size_t nslices, const struct lb_node *node,
		       struct lb_plan **out, struct lb_err *err);

/* lb_plan_free() - free @p (NULL: nothing) */
void lb_plan_free(struct lb_plan *p);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_CTL_LB_H */
