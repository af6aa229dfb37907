/* SPDX-License-Identifier: MIT */
/*
 * bpf/podstat.h - types shared by podstat.bpf.c and the user-space side.
 *
 * Every map value is fixed-width with explicit padding, and its size is
 * pinned by static_assert: a pinned map outlives the agent that made it, so
 * a new agent must read exactly the layout the old programs write.
 * Changing a layout means changing EBPF_PIN_LAYOUT (bpf/loader.c refuses
 * pins of another layout).
 */
#ifndef FERRY_BPF_PODSTAT_H
#define FERRY_BPF_PODSTAT_H

#ifndef __VMLINUX_H__
#include <assert.h>
#include <linux/types.h>
#endif

/*
 * Run-queue wait histogram: slot 0 counts waits under 1 us, slot i
 * (1 <= i < EBPF_RUNQ_SLOTS - 1) waits in [2^(i-1), 2^i) us, the last slot
 * everything from 2^(EBPF_RUNQ_SLOTS - 2) us (16.8 s) on. The upper bound
 * ("le") of slot i is 2^i us.
 */
#define EBPF_RUNQ_SLOTS 26

/* map cg_cpu (per-CPU hash, key: __u64 cgroup v2 id): scheduler counters */
struct podstat_cpu {
	__u64 oncpu_ns;		     /* time on a CPU, switch-in to switch-out */
	__u64 runq_ns;		     /* sum of run-queue waits */
	__u64 runq_cnt;		     /* number of waits (sum of hist) */
	__u64 hist[EBPF_RUNQ_SLOTS]; /* waits by slot, see EBPF_RUNQ_SLOTS */
};

/* map cg_net (per-CPU hash, key: __u64 cgroup v2 id of the socket): L3 traffic */
struct podstat_net {
	__u64 rx_bytes;
	__u64 rx_packets;
	__u64 tx_bytes;
	__u64 tx_packets;
};

/* map cpu_cur (per-CPU array, one entry): the task on this CPU since ts */
struct podstat_cur {
	__u64 ts;      /* bpf_ktime_get_ns() at its switch-in; 0: unknown */
	__u64 cgid;    /* its cgroup v2 id; 0: idle */
	__u64 exec_ns; /* its se.sum_exec_runtime at its switch-in */
	__u32 tid;     /* its thread id (/proc/TID/schedstat has its runtime now) */
	__u32 pad;
};

/*
 * map cg_retired (hash, key: __u64 pod cgroup id; written by user space
 * only): what the removed cgroups of a still-present pod had counted, so that
 * the pod's counters stay monotonic after a container goes away.
 */
struct podstat_retired {
	struct podstat_cpu cpu;
	struct podstat_net net;
};

#ifdef __VMLINUX_H__
_Static_assert(sizeof(struct podstat_cpu) == 232, "podstat_cpu layout");
_Static_assert(sizeof(struct podstat_net) == 32, "podstat_net layout");
_Static_assert(sizeof(struct podstat_cur) == 32, "podstat_cur layout");
_Static_assert(sizeof(struct podstat_retired) == 264, "podstat_retired layout");
#else
static_assert(sizeof(struct podstat_cpu) == 232, "podstat_cpu layout");
static_assert(sizeof(struct podstat_net) == 32, "podstat_net layout");
static_assert(sizeof(struct podstat_cur) == 32, "podstat_cur layout");
static_assert(sizeof(struct podstat_retired) == 264, "podstat_retired layout");
#endif

#endif /* FERRY_BPF_PODSTAT_H */
