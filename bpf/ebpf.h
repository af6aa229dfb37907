/* SPDX-License-Identifier: MIT */
/*
 * bpf/ebpf.h - per-pod CPU time, run-queue wait and network traffic from eBPF.
 *
 * This header is the module's manual. The module loads podstat.bpf.c
 * (tp_btf/sched_switch, sched_wakeup, sched_wakeup_new; cgroup_skb
 * ingress/egress at one cgroup), keeps per-CPU per-cgroup counters in the
 * kernel, and turns them in user space into per-pod and per-container
 * totals and 1 s rates, labelled by pod UID and container id taken from the
 * cgroup v2 tree (kubelet's cgroupfs and systemd layouts). Beside them, each
 * series' CFS throttling is read from its cgroup's cpu.stat (v2, or the v1
 * cpu hierarchy at the same path) at each sample.
 *
 * Typical use (ferry agent):
 *
 *	struct ebpf_opts o;
 *	struct ebpf_agent *a;
 *
 *	ebpf_opts_init(&o);
 *	o.pin_dir = "/sys/fs/bpf/ferry";
 *	ret = ebpf_agent_open(&o, &a);		// load, attach, pin
 *	while (running) {
 *		ebpf_agent_sample(a);		// once a second
 *		ebpf_agent_stats(a, &st, &n);	// totals + rates
 *		ebpf_prom_write(f, st, n, ...);	// /metrics text
 *	}
 *	ebpf_agent_close(a);			// pinned: programs keep counting
 *
 * Errors: functions returning int give 0 or -errno; detail goes to the log.
 * No function prints. The module is not thread-safe: one thread per agent.
 * Uses none of ferry's other modules. The module's other half, the socket
 * load balancer and its Maglev table builder, has its own manual: ebpf_lb.h.
 */
#ifndef FERRY_EBPF_H
#define FERRY_EBPF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Log levels, the same numbers in every ferry module. */
enum {
	EBPF_LOG_ERR = 0,
	EBPF_LOG_WARN = 1,
	EBPF_LOG_INFO = 2,
	EBPF_LOG_DEBUG = 3,
};

/* Log sink: @msg is one line without a trailing newline. */
typedef void (*ebpf_log_fn)(int level, const char *msg);

/**
 * ebpf_set_log() - route the module's log lines (and libbpf's, one level
 * lower) to @fn; NULL discards them. Call before ebpf_agent_open().
 */
void ebpf_set_log(ebpf_log_fn fn);

/* Feature bits: what ebpf_opts.features asks for and ebpf_agent_features() has. */
enum {
	EBPF_FEAT_SCHED = 1u << 0, /* CPU time and run-queue wait (tp_btf/sched_*) */
	EBPF_FEAT_NET = 1u << 1,   /* bytes and packets (cgroup_skb ingress/egress) */
	EBPF_FEAT_ALL = EBPF_FEAT_SCHED | EBPF_FEAT_NET,
};

/*
 * Run-queue wait histogram slots: slot 0 holds waits under 1 us, slot i waits
 * under 2^i us (and at least 2^(i-1) us), the last slot everything longer.
 * Same value as podstat.h.
 */
#define EBPF_RUNQ_SLOTS 26

struct ebpf_opts {
	/* cgroup v2 mount; NULL: the first cgroup2 line of /proc/self/mountinfo */
	const char *cgroup_root;
	/* cgroup the network programs attach to; NULL: cgroup_root */
	const char *net_cgroup;
	/*
	 * cgroup v1 hierarchy of the cpu controller, read for CFS bandwidth
	 * statistics where the v2 cgroups have no cpu controller (hybrid
	 * layouts); NULL: the first cgroup line of /proc/self/mountinfo with
	 * the cpu option; "": none
	 */
	const char *cpu_cgroup_root;
	/*
	 * bpffs directory for maps and links; NULL: nothing pinned, the programs
	 * go away with the agent. With pins, a new agent continues the counters
	 * of the programs the old one left running. bpffs is mounted at
	 * /sys/fs/bpf if it is not there yet.
	 */
	const char *pin_dir;
	unsigned int features; /* EBPF_FEAT_* wanted; the defaults: all */
	uint32_t max_cgroups;  /* entries of the per-cgroup maps (4096) */
	uint32_t max_pods;     /* pods with removed containers remembered (1024) */
	/*
	 * Read-only: open the maps another agent pinned under pin_dir, load and
	 * attach nothing, change nothing (ferry top beside a running agent).
	 */
	bool readonly;
};

/* Fill @o with the defaults. */
void ebpf_opts_init(struct ebpf_opts *o);

struct ebpf_agent;

/**
 * ebpf_agent_open() - load, attach and (with pin_dir) pin the programs
 * @o:   borrowed for the call
 * @out: the agent on success
 *
 * Every feature of @o->features is probed by loading and attaching it; one
 * that fails is logged once (EBPF_LOG_WARN) and left out, and the rest
 * works. Pinned maps of an earlier agent are reused (their counters go on);
 * its pinned links are replaced by the new programs without a gap.
 *
 * Return: 0; -ENOENT (no cgroup2 mount, or readonly and nothing pinned),
 * -EOPNOTSUPP (no feature could be loaded), -EINVAL (pins of another
 * layout or size: run with cleanup first), -EPERM, -ENOMEM.
 */
int ebpf_agent_open(const struct ebpf_opts *o, struct ebpf_agent **out);

/*
 * ebpf_agent_close() - free @a (NULL: nothing). Unpinned programs are
 * detached; pinned ones keep counting for the next agent.
 */
void ebpf_agent_close(struct ebpf_agent *a);

/*
 * ebpf_pins_remove() - detach and delete everything pinned under @pin_dir
 * (the directory too). Return: 0 (also when nothing was there) or -errno.
 */
int ebpf_pins_remove(const char *pin_dir);

/* The EBPF_FEAT_* bits that are loaded and attached. */
unsigned int ebpf_agent_features(const struct ebpf_agent *a);

/* The cgroup v2 mount in use (borrowed for the agent's life). */
const char *ebpf_agent_cgroup_root(const struct ebpf_agent *a);

/* Totals of one pod or container; counters are monotonic. */
struct ebpf_counters {
	uint64_t cpu_ns;		/* on-CPU time */
	uint64_t runq_ns;		/* sum of run-queue waits */
	uint64_t runq_cnt;		/* number of waits */
	uint64_t hist[EBPF_RUNQ_SLOTS]; /* waits by slot */
	uint64_t rx_bytes, rx_packets;	/* L3 bytes, packets (GSO segments) */
	uint64_t tx_bytes, tx_packets;
	/*
	 * CFS bandwidth control of the series' own cgroup (its cpu.stat: the
	 * v2 one where the cpu controller is enabled, else the v1 cpu
	 * hierarchy's at the same path), not rolled up from containers; valid
	 * when @has_cfs. Periods count only while a quota is set.
	 */
	bool has_cfs;
	uint64_t cfs_periods;		/* nr_periods: enforcement periods elapsed */
	uint64_t cfs_throttled_periods; /* nr_throttled: periods the quota ran out */
	uint64_t cfs_throttled_ns;	/* throttled_usec (v2) / throttled_time (v1) */
	/*
	 * Memory of a pod's cgroup (pods only: the page and the autoscaler take
	 * whole pods), valid when @has_mem: the working set as cAdvisor and
	 * metrics-server count it, usage less inactive file pages (v2
	 * memory.current - memory.stat inactive_file; v1 memory.usage_in_bytes
	 * - total_inactive_file), a gauge read at the sample, not a counter.
	 */
	bool has_mem;
	uint64_t mem_working_set; /* bytes */
};

/* Rates over the last interval (0 for a series seen for the first time). */
struct ebpf_rates {
	double interval_s;	       /* 0: no earlier sample yet */
	double cpu_cores;	       /* CPU seconds per second */
	double runq_p50_s, runq_p99_s; /* quantiles of the waits in the interval */
	uint64_t runq_samples;	       /* waits in the interval */
	double rx_bytes_s, tx_bytes_s;
	double rx_packets_s, tx_packets_s;
	/* CFS throttling, when both samples have it (has_cfs) */
	bool has_cfs;
	double cfs_throttled_s;	   /* throttled seconds per second */
	double cfs_throttled_frac; /* throttled periods / periods (0: no period) */
	/* the working set at the end of the interval (a gauge), when it has_mem */
	bool has_mem;
	double mem_working_set_bytes;
};

enum ebpf_kind {
	EBPF_KIND_NONE = 0,  /* not a Kubernetes cgroup */
	EBPF_KIND_POD,	     /* a pod cgroup, or one inside it outside any container */
	EBPF_KIND_CONTAINER, /* a container cgroup, or one inside it */
};

/* One series: a pod (container_id "") or a container. */
struct ebpf_stat {
	enum ebpf_kind kind;
	char pod_uid[48];      /* "0f8e...-..." (dashes, as the API spells it) */
	char container_id[80]; /* runtime's id, "" for a pod */
	char qos[16];	       /* "guaranteed", "burstable", "besteffort" */
	uint64_t cgroup_id;    /* the pod's or container's cgroup */
	struct ebpf_counters total;
	struct ebpf_rates rate;
};

/**
 * ebpf_agent_sample() - read the counters now
 *
 * Walks the cgroup tree, sums the per-CPU maps, rolls container cgroups up
 * to their pods, computes the rates since the previous sample and drops the
 * counters of cgroups that are gone (a removed container's totals stay in
 * its pod's). Call about once a second.
 *
 * Return: 0 or -errno (the cgroup tree could not be read).
 */
int ebpf_agent_sample(struct ebpf_agent *a);

/*
 * ebpf_agent_stats() - the series of the last sample: pods first, each
 * followed by its containers, sorted by pod UID then container id. @out is
 * borrowed until the next ebpf_agent_sample() or ebpf_agent_close().
 */
void ebpf_agent_stats(const struct ebpf_agent *a, const struct ebpf_stat **out, size_t *n);

/*
 * Pod UID -> namespace and name (ferry agent: from its watch of the node's
 * pods). Fill @ns and @name (NUL-terminated) and return true if known.
 */
typedef bool (*ebpf_pod_meta_fn)(const char *pod_uid, char *ns, size_t ns_len, char *name,
				 size_t name_len, void *arg);

/* ebpf_prom_escape() - @s as a Prometheus label value: backslash, double quote and newline escaped */
void ebpf_prom_escape(FILE *f, const char *s);

/**
 * ebpf_prom_write() - Prometheus text exposition (format 0.0.4) of @st
 * @f:        where to write
 * @st, @n:   series as ebpf_agent_stats() gives them
 * @features: EBPF_FEAT_* loaded (ferry_agent_feature_enabled)
 * @meta:     NULL or the pod name lookup (namespace/pod labels)
 *
 * Families: ferry_{pod,container}_cpu_usage_seconds_total,
 * _network_{receive,transmit}_{bytes,packets}_total and the histogram
 * _runqueue_wait_seconds (counters); the rates of the last interval as
 * gauges _cpu_usage_cores, _runqueue_wait_{p50,p99}_seconds and
 * _network_{receive,transmit}_{bytes,packets}_per_second (only for series
 * with rate.interval_s > 0); ferry_agent_rate_interval_seconds and
 * ferry_agent_feature_enabled{feature}. For series with CFS statistics
 * (total.has_cfs): the counters _cpu_cfs_periods_total,
 * _cpu_cfs_throttled_periods_total, _cpu_cfs_throttled_seconds_total and the
 * gauges _cpu_cfs_throttled_seconds_per_second and
 * _cpu_cfs_throttled_periods_fraction (families left out when no series has
 * them). Labels pod_uid (+ namespace, pod when @meta knows them) and
 * container_id.
 *
 * Return: 0 or -EIO (a write failed).
 */
int ebpf_prom_write(FILE *f, const struct ebpf_stat *st, size_t n, unsigned int features,
		    ebpf_pod_meta_fn meta, void *arg);

/* ---- pure helpers, exposed for tests and ferry top ---- */

/* What a cgroup path (relative to the cgroup v2 root) says about Kubernetes. */
struct ebpf_cgroup_ref {
	enum ebpf_kind kind;
	char pod_uid[48];
	char container_id[80];
	char qos[16];
	bool is_leaf; /* the path is the pod (or container) directory itself */
};

/**
 * ebpf_cgroup_parse() - classify a cgroup path
 * @path: "/kubepods/burstable/pod<uid>/<id>",
 *        "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope"
 *        and the like; anything before the kubepods component is ignored
 * @ref:  the result; kind EBPF_KIND_NONE for a cgroup that is not a pod's
 *
 * Outside data: any string is accepted. Return: 0, or -EINVAL for a
 * kubepods path that is malformed (a pod directory without a valid UID).
 */
int ebpf_cgroup_parse(const char *path, struct ebpf_cgroup_ref *ref);

/*
 * ebpf_cgroup2_mount() - the cgroup2 mount point in @mountinfo (the text of
 * /proc/self/mountinfo), copied into @buf. Return: 0, -ENOENT, -ENAMETOOLONG.
 */
int ebpf_cgroup2_mount(const char *mountinfo, char *buf, size_t len);

/*
 * ebpf_cgroup1_mount() - the mount point of the cgroup v1 hierarchy that
 * holds @controller ("cpu": also a co-mounted "cpu,cpuacct") in
 * @mountinfo, copied into @buf. Return: 0, -ENOENT, -ENAMETOOLONG.
 */
int ebpf_cgroup1_mount(const char *mountinfo, const char *controller, char *buf, size_t len);

/**
 * ebpf_cpu_stat_parse() - the CFS fields of a cgroup's cpu.stat
 * @buf, @len: the file's text ("key value" lines), not NUL-terminated
 * @c:         has_cfs and the cfs_* fields are set; nothing else changes
 *
 * Takes both forms: v2 (nr_periods, nr_throttled, throttled_usec) and v1
 * (nr_periods, nr_throttled, throttled_time in ns); other keys are
 * skipped. Return: 0; -ENOENT (no CFS fields: a v2 cgroup without the cpu
 * controller); -EINVAL (a field's value is not a decimal number, a line
 * without one, or only some of the fields).
 */
int ebpf_cpu_stat_parse(const char *buf, size_t len, struct ebpf_counters *c);

/**
 * ebpf_memory_parse() - a cgroup's working set from its memory files
 * @usage, @ulen: the text of memory.current (v2) or memory.usage_in_bytes
 *                (v1): one decimal number, a newline after it
 * @stat, @slen:  the text of its memory.stat ("key value" lines)
 * @c:            has_mem and mem_working_set are set; nothing else changes
 *
 * The working set is usage less inactive_file (v2), or less
 * total_inactive_file where the file has it (v1, the hierarchy's, as its
 * usage is), 0 when inactive exceeds usage. Neither text needs a NUL.
 * Return: 0; -EINVAL (usage is not a number, a line of memory.stat has no
 * decimal value, or memory.stat has no inactive_file).
 */
int ebpf_memory_parse(const char *usage, size_t ulen, const char *stat, size_t slen,
		      struct ebpf_counters *c);

/*
 * ebpf_hist_quantile() - the @q quantile (0..1) of the waits counted in
 * @hist, in seconds, interpolated linearly within a slot as Prometheus's
 * histogram_quantile() does; 0 for an empty histogram.
 */
double ebpf_hist_quantile(const uint64_t hist[EBPF_RUNQ_SLOTS], double q);

/* Upper bound of histogram slot @i in seconds (+Inf for the last). */
double ebpf_hist_le(unsigned int i);

/*
 * ebpf_rates_compute() - rates from @prev to @cur over @dt seconds; a
 * counter that went down (it cannot, but a series may be new) counts as 0.
 */
void ebpf_rates_compute(const struct ebpf_counters *prev, const struct ebpf_counters *cur,
			double dt, struct ebpf_rates *out);

#ifdef __cplusplus
}
#endif

#endif /* FERRY_EBPF_H */
