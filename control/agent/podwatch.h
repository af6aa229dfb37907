/* SPDX-License-Identifier: MIT */
/*
 * control/agent/podwatch.h - the agent's view of its node's pods (private to
 * control/agent/): a watch of the pods bound to the node (fieldSelector
 * spec.nodeName=NODE), kept as pod UID -> namespace and name, through which
 * the eBPF series are labelled and filtered.
 *
 * The label policy (README.md "Labels"): with a cluster, a pod's series
 * appear only once the watch knows the pod, and then always carry
 * namespace and pod; a series is never first exported without them and
 * relabelled later (to Prometheus that would be a new series). A cgroup whose
 * pod the watch does not know (another node's, one not yet seen) is left
 * out. A deleted pod's names are kept for AGENT_PODS_KEEP_S, so that the
 * series of a pod whose API object went first (a forced deletion) keep
 * their labels until its cgroup goes.
 *
 * Threads: the handlers run on the client's I/O thread, everything else on
 * the agent's sampling thread; the table is under a mutex.
 */
#ifndef FERRY_CTL_AGENT_PODWATCH_H
#define FERRY_CTL_AGENT_PODWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "bpf/ebpf.h"

struct k8s_client;

#define AGENT_PODS_KEEP_S 60.0

struct agent_pods;

/*
 * struct agent_pods_opts - where the cluster is, which node this is
 * @no_kube:    never look for a cluster (series carry pod_uid only)
 * @kubeconfig: --kubeconfig; NULL: in-cluster when KUBERNETES_SERVICE_HOST
 *              is set, else the files KUBECONFIG names, else no cluster
 * @node_name:  --node-name; NULL: $NODE_NAME, else (out of a cluster only)
 *              the host name, as the kubelet defaults its node name
 */
struct agent_pods_opts {
	bool no_kube;
	const char *kubeconfig;
	const char *node_name;
};

/**
 * agent_pods_open() - find the cluster and start watching the node's pods
 * @o:   borrowed for the call
 * @out: the watch; NULL (and 0 returned) when there is no cluster, which is
 *       said once on the log
 *
 * Touches no network: the watch lists and watches in the background, and
 * retries for as long as it runs (failures are logged by agent_pods_poll()).
 * Return: 0; -EINVAL (a configuration that names what is not there, or no
 * node name in a cluster), -ENOENT (a kubeconfig or service-account file
 * missing), -ENOMEM; printed with ctl_fail().
 */
int agent_pods_open(const struct agent_pods_opts *o, struct agent_pods **out);

/* agent_pods_close() - stop the watch and free; NULL is a no-op */
void agent_pods_close(struct agent_pods *p);

/*
 * agent_pods_poll() - on the sampling thread, once per sample: log a
 * failure of the watch once per new failure, its first sync once, and
 * forget the names of pods deleted more than AGENT_PODS_KEEP_S ago.
 * Return: whether the first list is in (the agent publishes only then).
 */
bool agent_pods_poll(struct agent_pods *p);

/**
 * agent_pods_write() - the exposition of the series of known pods
 * @st, @n: as ebpf_agent_stats() gives them (borrowed)
 *
 * Writes ebpf_prom_write() of the series whose pod the watch knows,
 * labelled with namespace and pod, then ferry_agent_pods (pods of the node
 * in the watch). Return: 0; -ENOMEM; -EIO.
 */
int agent_pods_write(struct agent_pods *p, FILE *f, const struct ebpf_stat *st, size_t n,
		     unsigned int features);

/**
 * agent_pods_page() - the "pods" array of the per-pod page
 * (control/signals/signals.h, sig_page_pods()) of the live pods the watch
 * knows, from the rates of @st (borrowed)
 * @interval_ms: set to the time the rates cover (0: no pod has rates yet)
 * Return: 0; -ENOMEM; -EIO.
 */
int agent_pods_page(struct agent_pods *p, FILE *f, const struct ebpf_stat *st, size_t n,
		    unsigned int features, int64_t *interval_ms);

/* The node whose pods are watched (borrowed for the watch's life). */
const char *agent_pods_node(const struct agent_pods *p);

/* The watch's API client (borrowed for the watch's life; NULL for NULL): the page's
 * TokenReviews and the transfers use it too. */
struct k8s_client *agent_pods_client(const struct agent_pods *p);

#endif /* FERRY_CTL_AGENT_PODWATCH_H */
