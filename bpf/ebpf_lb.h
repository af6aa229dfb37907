/* SPDX-License-Identifier: MIT */
/*
 * bpf/ebpf_lb.h - the socket load balancer: Service connections rewritten at
 * connect() to a backend drawn from a weighted Maglev table.
 *
 * This header is the manual of the load balancer half of bpf/ (ebpf.h is the
 * metrics half; both share its log sink, ebpf_set_log()). It is a header of
 * its own because its users are others (the lb capability, later `ferry lb`,
 * against the agent's metrics loop), and because its pure half, the Maglev
 * builder, links without libbpf: the controller side computes tables too.
 *
 * What the kernel side does (sockbal.bpf.c, attached to one cgroup v2,
 * the kubepods cgroup by default, and every cgroup below it):
 *   - connect4/connect6: a connect() to a Service address and port (IPv4,
 *     IPv6, or IPv4-mapped on a dual-stack socket) goes to one backend of
 *     the Service's table instead; a Service with no backend with a weight
 *     fails connect() with ECONNREFUSED at once (kube-proxy's reject). Any
 *     other address, or a port the Service does not have, passes untouched.
 *   - sendmsg4/6, recvmsg4/6: the same for unconnected UDP (sendto), and the
 *     reply is reported as coming from the Service address.
 *   - getpeername4/6: a balanced socket reports the Service as its peer.
 *   The key into the table is a random draw per connection, or the client's
 *   network namespace (one per pod) with session affinity ClientIP: the
 *   source address is not chosen yet at connect().
 *   Sockets of a skipped cgroup (ebpf_lb_skip_set(): pods with a mesh
 *   sidecar), or of any cgroup below one, are never rewritten.
 *
 * Typical use (the agent):
 *
 *	struct ebpf_lb_opts o;
 *	struct ebpf_lb *lb;
 *
 *	ebpf_lb_opts_init(&o);				// kubepods cgroup, pinned
 *	ret = ebpf_lb_open(&o, &lb);			// load, attach, pin
 *	ret = ebpf_lb_service_set(lb, &svc);		// add or replace, atomically
 *	ret = ebpf_lb_service_remove(lb, &svc.vip);
 *	ebpf_lb_close(lb);				// pinned: balancing goes on
 *	...
 *	ebpf_lb_pins_remove(pin_dir);			// `ferry lb disable`
 *
 * Errors: 0 or -errno; detail goes to the log (ebpf_set_log()). No function
 * prints. Not thread-safe: one thread per struct ebpf_lb (the kernel side is
 * safe against any number of connecting threads). Uses none of ferry's other
 * modules.
 */
#ifndef FERRY_EBPF_LB_H
#define FERRY_EBPF_LB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ebpf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- the Maglev table builder (pure: no kernel, no libbpf) ---- */

/* Most backends in one table: slot entries are 16-bit indices. */
#define EBPF_LB_MAX_BACKENDS 65535
/* The largest table, the top of the prime ladder. */
#define EBPF_LB_MAX_SLOTS 131071

/* An address and port. IPv4 is written as ::ffff:a.b.c.d (IPv4-mapped). */
struct ebpf_lb_addr {
	uint8_t ip[16]; /* network order */
	uint16_t port;	/* host order */
};

struct ebpf_lb_backend {
	struct ebpf_lb_addr addr;
	uint32_t weight; /* relative; 0: listed but gets no connection (draining, not ready) */
};

/*
 * A built table. Backends are sorted by address (ip bytes, then port), so
 * the same set gives the same table whatever order it was given in.
 */
struct ebpf_maglev {
	uint32_t m;		    /* slots: a prime of the ladder; 0 when no weight is > 0 */
	uint32_t n;		    /* backends */
	struct ebpf_lb_backend *be; /* n, sorted by address */
	uint16_t *slot;		    /* m entries, each an index into be[] */
};

/**
 * ebpf_maglev_size() - the table size for a set of weights
 * @units:      sum of the weights divided by the smallest weight > 0, rounded
 *              up (for equal weights: the number of backends)
 * @consistent: the table is keyed by client (session affinity), so which
 *              slots move on a change matters, not only the shares
 *
 * The smallest prime of the ladder 251, 509, 1021, 2039, 4093, 8191, 16381,
 * 32749, 65521, 131071 that is at least 100 * @units (1000 * @units when
 * @consistent), or 131071 above that; 0 for @units == 0. With m >= 100 *
 * @units every backend's share of slots is within 1 % (relative) of its
 * weight's share (see ebpf_maglev_build()). The larger affinity tables move
 * fewer slots beyond the removed backend's own (bpf/README.md has figures);
 * a random draw per connection has nothing to keep, so its table stays small.
 */
uint32_t ebpf_maglev_size(uint64_t units, bool consistent);

/**
 * ebpf_maglev_build() - weighted Maglev table (Eisenbud et al., NSDI'16)
 * @be:         @n backends, borrowed for the call; any order
 * @n:          0 .. EBPF_LB_MAX_BACKENDS
 * @consistent: size it for affinity (see ebpf_maglev_size())
 * @m_prev:     the size in use (0: none); kept when it is a ladder size at
 *              least ebpf_maglev_size() and at most 8 times it, since a new
 *              size remaps every slot
 * @out:        the table on success, freed with ebpf_maglev_free()
 *
 * Each backend with weight > 0 gets a permutation of the slots from a hash of
 * its address (offset and skip, as the paper has them) and exactly
 * q = round(m * weight / total) slots (largest remainders, so the q add up
 * to m): |q - m * w / W| < 1, i.e. its share is within 1/m of its weight's,
 * which ebpf_maglev_size() makes under 1 % of that share up to the top of
 * the ladder. Backends take turns in proportion to their q (the k-th claim
 * of a backend comes at time (2k + 1) / 2q, ties by address), each taking
 * the next free slot of its permutation; for equal weights that is the
 * paper's round robin, so a change of one backend moves few slots of the
 * others. Pure and deterministic: same set (in any order), same @consistent
 * and @m_prev -> same table, on every node. O(m log n); 60 ms for m = 131071.
 *
 * Return: 0; -EINVAL (@n too large, @be NULL with @n > 0, the same address
 * twice); -ENOMEM.
 */
int ebpf_maglev_build(const struct ebpf_lb_backend *be, size_t n, bool consistent, uint32_t m_prev,
		      struct ebpf_maglev **out);

/* ebpf_maglev_free() - free @t (NULL: nothing). */
void ebpf_maglev_free(struct ebpf_maglev *t);

/*
 * ebpf_maglev_moved() - slots of @a whose backend (by address) differs in @b;
 * for two tables of the same m, else m of @a. A measure of disruption.
 */
uint32_t ebpf_maglev_moved(const struct ebpf_maglev *a, const struct ebpf_maglev *b);

/*
 * ebpf_lb_addr_parse() - @ip ("10.96.0.10", "fd00::a", "::ffff:10.0.0.1")
 * and @port into @out. Return: 0 or -EINVAL.
 */
int ebpf_lb_addr_parse(const char *ip, uint16_t port, struct ebpf_lb_addr *out);

/* ebpf_lb_addr_is_v4() - @a is IPv4 (::ffff:a.b.c.d). */
bool ebpf_lb_addr_is_v4(const struct ebpf_lb_addr *a);

/* ebpf_lb_addr_format() - "10.0.0.1:80" or "[fd00::1]:80" into @buf (>= 64 bytes). */
void ebpf_lb_addr_format(const struct ebpf_lb_addr *a, char *buf, size_t len);

/* ---- the kernel side ---- */

/* Feature bits: program groups asked for (opts) and attached (ebpf_lb_features()). */
enum {
	EBPF_LB_FEAT_CONNECT = 1u << 0, /* cgroup/connect4, connect6 */
	EBPF_LB_FEAT_PEER = 1u << 1,	/* cgroup/getpeername4, getpeername6 */
	EBPF_LB_FEAT_UDP = 1u << 2,	/* cgroup/sendmsg4, 6 and recvmsg4, 6 */
	EBPF_LB_FEAT_ALL = EBPF_LB_FEAT_CONNECT | EBPF_LB_FEAT_PEER | EBPF_LB_FEAT_UDP,
};

struct ebpf_lb_opts {
	/*
	 * cgroup v2 directory the programs attach to (they act on it and
	 * every cgroup below it); NULL: the kubepods cgroup (kubepods.slice,
	 * else kubepods, under the cgroup2 mount of /proc/self/mountinfo).
	 */
	const char *cgroup;
	/*
	 * bpffs directory for maps and links (a "sockbal-v1" directory is made
	 * in it); NULL: nothing pinned, balancing stops with ebpf_lb_close().
	 * With pins, a new ebpf_lb_open() reuses the tables and swaps its
	 * programs into the running links: no connect() goes unbalanced.
	 */
	const char *pin_dir;
	unsigned int features; /* EBPF_LB_FEAT_* wanted; default all */
	uint32_t max_services; /* Service ports (VIP, port, protocol): 65536 */
	uint32_t udp_flows;    /* (socket, backend) pairs of unconnected UDP remembered: 16384 */
	uint32_t max_skip;     /* cgroups ebpf_lb_skip_set() can hold: 4096 */
	/*
	 * Read-only: open the Service map another process pinned under
	 * pin_dir, load and attach nothing (`ferry lb get` beside the agent);
	 * ebpf_lb_service_get() works, changes give -EROFS.
	 */
	bool readonly;
};

/* Fill @o with the defaults (pin_dir "/sys/fs/bpf/ferry"). */
void ebpf_lb_opts_init(struct ebpf_lb_opts *o);

struct ebpf_lb;

/**
 * ebpf_lb_open() - load, attach and (with pin_dir) pin the balancer
 * @o:   borrowed for the call
 * @out: the balancer on success
 *
 * Each program group of @o->features is loaded and attached; a group the
 * kernel refuses is logged once (EBPF_LOG_WARN) and left out, and the rest
 * works. Pinned state of an earlier open is reused: its Services stay
 * balanced throughout. bpffs is mounted at /sys/fs/bpf when missing.
 *
 * Return: 0; -ENOENT (no cgroup2 mount or no such cgroup; readonly: nothing
 * pinned), -EOPNOTSUPP (no group could be attached), -EINVAL (pins of
 * another layout or size: remove them first; readonly without pin_dir),
 * -EPERM, -ENOMEM.
 */
int ebpf_lb_open(const struct ebpf_lb_opts *o, struct ebpf_lb **out);

/*
 * ebpf_lb_close() - free @lb (NULL: nothing). Pinned programs and tables stay
 * in force; unpinned ones are detached.
 */
void ebpf_lb_close(struct ebpf_lb *lb);

/* The EBPF_LB_FEAT_* groups attached. */
unsigned int ebpf_lb_features(const struct ebpf_lb *lb);

/* The cgroup v2 directory the programs are attached to ("" read-only). */
const char *ebpf_lb_cgroup(const struct ebpf_lb *lb);

/* Session affinity of a Service. */
enum ebpf_lb_affinity {
	EBPF_LB_AFFINITY_NONE = 0, /* a random draw per connection */
	EBPF_LB_AFFINITY_CLIENT,   /* ClientIP: the client's network namespace */
};

/* One Service port. */
struct ebpf_lb_vip {
	struct ebpf_lb_addr addr; /* the ClusterIP and the Service port */
	uint8_t proto;		  /* IPPROTO_TCP or IPPROTO_UDP */
};

struct ebpf_lb_service {
	struct ebpf_lb_vip vip;
	enum ebpf_lb_affinity affinity;
	const struct ebpf_lb_backend *be; /* borrowed for the call; same family as the vip */
	size_t n;			  /* 0 (or no weight > 0): connects are refused */
};

/**
 * ebpf_lb_service_set() - add a Service port or replace its backends
 * @svc: borrowed for the call
 *
 * Builds the table (ebpf_maglev_build()), writes it into a new generation
 * map and swaps that in with one update of the service map. The update
 * returns only after an RCU grace period (the kernel waits for programs
 * still running on the old generation), so when this returns no connect()
 * can select a backend of the old set that is not in the new one; the old
 * generation, with the removed backends' entries, is freed by the kernel
 * after that grace period.
 *
 * Return: 0; -EINVAL (bad protocol, a backend of the other family, see
 * ebpf_maglev_build()), -ENOSPC (max_services reached), -EOPNOTSUPP (no
 * connect programs attached), -EROFS (opened read-only), -ENOMEM, -EPERM.
 */
int ebpf_lb_service_set(struct ebpf_lb *lb, const struct ebpf_lb_service *svc);

/*
 * ebpf_lb_service_remove() - stop balancing @vip: its connects pass
 * untouched again. Return: 0, -ENOENT (not there), -EROFS or -errno.
 */
int ebpf_lb_service_remove(struct ebpf_lb *lb, const struct ebpf_lb_vip *vip);

/**
 * ebpf_lb_service_get() - the table the kernel uses for @vip now
 * @out: read back from the kernel's generation map; ebpf_maglev_free() it
 * @gen: NULL, or the generation number (counts the sets of this pin dir)
 *
 * Return: 0, -ENOENT (no such Service port), -EIO (a generation that is
 * not this layout's), -ENOMEM.
 */
int ebpf_lb_service_get(struct ebpf_lb *lb, const struct ebpf_lb_vip *vip, struct ebpf_maglev **out,
			uint64_t *gen);

/**
 * ebpf_lb_service_list() - the Service ports in the kernel's map now
 * @out: malloc()ed array of @n (NULL when 0), the caller free()s it
 *
 * Works read-only too (`ferry lb status`). Return: 0, -ENOMEM or -errno.
 */
int ebpf_lb_service_list(struct ebpf_lb *lb, struct ebpf_lb_vip **out, size_t *n);

/*
 * ebpf_lb_cgroup_id() - the id of the cgroup v2 directory @path (what
 * bpf_get_current_cgroup_id() returns for its tasks). Return: 0; -ENOENT;
 * -EINVAL (not a cgroup2 directory).
 */
int ebpf_lb_cgroup_id(const char *path, uint64_t *id);

/**
 * ebpf_lb_skip_set() - leave the sockets of a cgroup alone, or stop doing so
 * @cgroup_id: from ebpf_lb_cgroup_id(); a pod's cgroup covers its containers
 * @skip:      true: add it (again is fine); false: remove it
 *
 * A connect() or sendmsg() from a task in the cgroup, or in one below it
 * (the kernel looks at the task's cgroup and its ancestors at levels 1 to
 * 16), goes where the application asked: to the Service address, for
 * kube-proxy's rules or a mesh sidecar's redirect to handle. Applies to
 * connects that begin after the call returns.
 *
 * Return: 0; -ENOENT (@skip false and not there), -ENOSPC (max_skip
 * cgroups held), -EROFS, -errno.
 */
int ebpf_lb_skip_set(struct ebpf_lb *lb, uint64_t cgroup_id, bool skip);

/*
 * ebpf_lb_skip_list() - the cgroup ids skipped now, malloc()ed (NULL when
 * @n is 0); works read-only. Return: 0, -ENOMEM or -errno.
 */
int ebpf_lb_skip_list(struct ebpf_lb *lb, uint64_t **out, size_t *n);

/*
 * ebpf_lb_detach() - detach every program and delete every pin of @lb (its
 * tables go with them); @lb stays valid for ebpf_lb_close() only.
 * Return: 0, -EROFS or -errno.
 */
int ebpf_lb_detach(struct ebpf_lb *lb);

/*
 * ebpf_lb_pins_remove() - the same without an open balancer: detach and
 * delete what is pinned under @pin_dir (`ferry lb disable`; kube-proxy's
 * rules then serve the Services). Return: 0 (also when nothing was there)
 * or -errno.
 */
int ebpf_lb_pins_remove(const char *pin_dir);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_EBPF_LB_H */
