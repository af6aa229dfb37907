/* SPDX-License-Identifier: MIT */
/*
 * control/agent/lbsync.h - the agent's socket load balancer (private to
 * control/agent/): informers of the cluster's Services, EndpointSlices and
 * LoadBalancePolicies and of this node's pods; every Service annotated
 * ferry.io/socket-lb: "true" or named by a LoadBalancePolicy (spec.service,
 * same namespace) is programmed into the pinned balancer (bpf/ebpf_lb.h) as
 * control/lb computes it for this node, again on each change of it, of its
 * slices or of its policy, and removed when it, its annotation or its
 * policy goes. A policy's published weights (status.backends, read with
 * lb_published_parse()) are its backends' weights; without a policy, or
 * before anything is published, they are equal. Two policies naming one
 * Service: the oldest (creationTimestamp, then name) is used, which is
 * logged once. Pods of this node with a mesh sidecar (lb_pod_has_mesh())
 * have their pod cgroup skipped.
 *
 * The informers' handlers only queue keys ("s/NS/NAME" for a Service, also
 * for a slice or a policy of it; "p/NS/NAME" for a pod) in a work queue;
 * agent_lb_poll(), on the agent's main loop, drains it and does the work:
 * the balancer is single-threaded. Nothing is programmed or removed before
 * the informers have listed once (the policies' need not where their list
 * is refused with 404, no CRD, or 403, no RBAC: then annotated Services
 * are balanced, one warning says why, and the policies count from their
 * first list on); then Service ports in the pinned map that no opted-in
 * Service claims (an earlier agent's, a Service deleted while no agent ran)
 * are removed once.
 *
 * The balancer stays pinned when the agent stops: balancing goes on, and
 * the next agent takes the tables over. `ferry lb disable` removes it.
 */
#ifndef FERRY_CTL_AGENT_LBSYNC_H
#define FERRY_CTL_AGENT_LBSYNC_H

#include <stdbool.h>
#include <stdio.h>

struct k8s_client;
struct agent_lb;

/*
 * struct agent_lb_opts
 * @cgroup:  cgroup v2 directory to attach to; NULL: the kubepods cgroup
 * @pin_dir: bpffs directory (the agent's --pin-dir); NULL: no pins
 */
struct agent_lb_opts {
	const char *cgroup;
	const char *pin_dir;
};

/**
 * agent_lb_open() - load and attach the balancer, start the informers
 * @c, @node: borrowed until agent_lb_close()
 *
 * Reads the node once (its zone, for topology hints; without it no hints
 * are used, which is logged). Return: 0; -errno from ebpf_lb_open() or
 * the informers, logged as a warning: the agent goes on without balancing
 * (no kubepods cgroup on a host that is not a node, a kernel without the
 * programs).
 */
int agent_lb_open(struct k8s_client *c, const char *node, const struct agent_lb_opts *o,
		  struct agent_lb **out);

/* agent_lb_poll() - on the main loop: apply what changed since the last call */
void agent_lb_poll(struct agent_lb *l);

/*
 * agent_lb_prom() - the balancer's series for /metrics, on the main loop:
 * ferry_lb_services, and per backend of each Service port
 * ferry_lb_backend_weight and ferry_lb_backend_share (its weight over the
 * port's: the table gives each within 1 % of it) with the labels service
 * (ns/name), port (its name), address (ClusterIP:port/proto) and backend.
 * NULL: nothing.
 */
void agent_lb_prom(const struct agent_lb *l, FILE *f);

/* agent_lb_close() - stop the informers, free; the balancer stays pinned. NULL: nothing */
void agent_lb_close(struct agent_lb *l);

#endif /* FERRY_CTL_AGENT_LBSYNC_H */
