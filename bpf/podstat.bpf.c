// SPDX-License-Identifier: (MIT OR GPL-2.0-only)
/*
 * bpf/podstat.bpf.c - per-cgroup CPU time, run-queue wait and L3 traffic.
 *
 * Scheduler side (tp_btf, CO-RE): at every sched_switch the time since the
 * previous switch on this CPU is added to the outgoing task's cgroup, and a
 * task that is still runnable (preempted) gets an enqueue timestamp; wakeups
 * stamp the woken task. At switch-in the wait since the stamp goes into the
 * incoming task's cgroup histogram, as runqlat counts it.
 *
 * Network side (cgroup_skb, attached once at the cgroup v2 root or the
 * kubepods cgroup): bytes (skb->len, from the IP header on, the figure the
 * kernel's IP counters use) and packets (GSO segments) per socket cgroup.
 *
 * All counters live in per-CPU maps that user space sums; nothing is sent to
 * user space per event. The layouts are in podstat.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "podstat.h"

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define TASK_RUNNING 0

/*
 * On-CPU time is the growth of the task's se.sum_exec_runtime over its
 * slice: the figure the scheduler charges to the cgroup's cpu.stat. It
 * leaves out time stolen by the hypervisor (CONFIG_PARAVIRT_TIME_ACCOUNTING)
 * and spent in interrupts (CONFIG_IRQ_TIME_ACCOUNTING), which a
 * bpf_ktime_get_ns() difference would count. pick_next_task() has updated
 * prev's runtime (update_curr) before the tracepoint fires.
 */

/* max_entries are set by bpf/loader.c from ebpf_opts before load. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct podstat_cpu);
} cg_cpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct podstat_net);
} cg_net SEC(".maps");

/* tid -> enqueue time; deleted at switch-in, so it holds runnable tasks only */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, __u64);
} task_enq SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct podstat_cur);
} cpu_cur SEC(".maps");

/* user space's map (see podstat.h); here so that one object owns every pin */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u64);
	__type(value, struct podstat_retired);
} cg_retired SEC(".maps");

static __always_inline __u32 log2_u32(__u32 v)
{
	__u32 r, shift;

	r = (v > 0xFFFF) << 4;
	v >>= r;
	shift = (v > 0xFF) << 3;
	v >>= shift;
	r |= shift;
	shift = (v > 0xF) << 2;
	v >>= shift;
	r |= shift;
	shift = (v > 0x3) << 1;
	v >>= shift;
	r |= shift;
	r |= (v >> 1);
	return r;
}

static __always_inline __u32 log2_u64(__u64 v)
{
	__u32 hi = v >> 32;

	return hi ? log2_u32(hi) + 32 : log2_u32(v);
}

static __always_inline __u64 task_cgid(struct task_struct *t)
{
	return BPF_CORE_READ(t, cgroups, dfl_cgrp, kn, id);
}

static __always_inline struct podstat_cpu *cpu_get(__u64 id)
{
	struct podstat_cpu *v = bpf_map_lookup_elem(&cg_cpu, &id);
	struct podstat_cpu zero = {};

	if (v)
		return v;
	bpf_map_update_elem(&cg_cpu, &id, &zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(&cg_cpu, &id);
}

static __always_inline void enq_mark(__u32 tid, __u64 now)
{
	if (tid)
		bpf_map_update_elem(&task_enq, &tid, &now, BPF_ANY);
}

static __always_inline void runq_add(__u64 id, __u64 wait_ns)
{
	struct podstat_cpu *c = cpu_get(id);
	__u64 us = wait_ns / 1000;
	__u32 slot = us ? log2_u64(us) + 1 : 0;

	if (!c)
		return;
	if (slot >= EBPF_RUNQ_SLOTS)
		slot = EBPF_RUNQ_SLOTS - 1;
	/* sched_switch runs with interrupts off: nothing else writes this CPU's copy */
	c->runq_ns += wait_ns;
	c->runq_cnt++;
	c->hist[slot]++;
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(podstat_wakeup, struct task_struct *p)
{
	enq_mark(BPF_CORE_READ(p, pid), bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(podstat_wakeup_new, struct task_struct *p)
{
	enq_mark(BPF_CORE_READ(p, pid), bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(podstat_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 zero = 0, prev_tid, next_tid;
	struct podstat_cur *cur;
	__u64 *enq;

	cur = bpf_map_lookup_elem(&cpu_cur, &zero);
	if (!cur)
		return 0;
	prev_tid = BPF_CORE_READ(prev, pid);
	if (prev_tid) {
		__u64 exec = BPF_CORE_READ(prev, se.sum_exec_runtime);

		if (cur->ts && exec > cur->exec_ns) {
			struct podstat_cpu *c = cpu_get(task_cgid(prev));

			if (c)
				c->oncpu_ns += exec - cur->exec_ns;
		}
		/* switched out while still runnable: it waits from now on */
		if (preempt || BPF_CORE_READ(prev, __state) == TASK_RUNNING)
			enq_mark(prev_tid, now);
	}
	next_tid = BPF_CORE_READ(next, pid);
	cur->ts = now;
	cur->cgid = 0;
	if (!next_tid)
		return 0;
	cur->cgid = task_cgid(next);
	cur->exec_ns = BPF_CORE_READ(next, se.sum_exec_runtime);
	enq = bpf_map_lookup_elem(&task_enq, &next_tid);
	if (enq) {
		__u64 ts = *enq;

		bpf_map_delete_elem(&task_enq, &next_tid);
		if (now > ts)
			runq_add(cur->cgid, now - ts);
	}
	return 0;
}

static __always_inline void net_add(struct __sk_buff *skb, bool rx)
{
	__u64 id = bpf_skb_cgroup_id(skb);
	__u64 segs = skb->gso_segs > 1 ? skb->gso_segs : 1;
	struct podstat_net *v = bpf_map_lookup_elem(&cg_net, &id);

	if (!v) {
		struct podstat_net zero = {};

		bpf_map_update_elem(&cg_net, &id, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(&cg_net, &id);
		if (!v)
			return;
	}
	/* egress may be interrupted by softirq egress on the same CPU: add atomically */
	if (rx) {
		__sync_fetch_and_add(&v->rx_bytes, skb->len);
		__sync_fetch_and_add(&v->rx_packets, segs);
	} else {
		__sync_fetch_and_add(&v->tx_bytes, skb->len);
		__sync_fetch_and_add(&v->tx_packets, segs);
	}
}

SEC("cgroup_skb/ingress")
int podstat_ingress(struct __sk_buff *skb)
{
	net_add(skb, true);
	return 1;
}

SEC("cgroup_skb/egress")
int podstat_egress(struct __sk_buff *skb)
{
	net_add(skb, false);
	return 1;
}
