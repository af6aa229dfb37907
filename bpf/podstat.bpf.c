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
 * tp_btf hands the programs typed (BTF) task pointers: fields are read
 * directly, with CO-RE offsets, rather than through bpf_probe_read_kernel().
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

/*
 * Per task: when it became runnable (0: not waiting). Task storage lives
 * and dies with the task; after a task's first stamp, reading and writing it
 * takes no lock and allocates nothing (a pid-keyed hash took a bucket lock
 * on every wakeup and switch).
 */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
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

/* SCHED_NORMAL, SCHED_BATCH, SCHED_IDLE: the fair class */
static __always_inline bool fair_policy(unsigned int policy)
{
	return policy == 0 || policy == 3 || policy == 5;
}

static __always_inline __u64 task_cgid(struct task_struct *t)
{
	return t->cgroups->dfl_cgrp->kn->id;
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

static __always_inline void enq_mark(struct task_struct *t, __u64 now)
{
	__u64 *ts;

	if (!t->pid)
		return; /* an idle task */
	ts = bpf_task_storage_get(&task_enq, t, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (ts)
		*ts = now;
}

static __always_inline void runq_add(struct podstat_cpu *c, __u64 wait_ns)
{
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
	enq_mark(p, bpf_ktime_get_ns());
	return 0;
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(podstat_wakeup_new, struct task_struct *p)
{
	enq_mark(p, bpf_ktime_get_ns());
	return 0;
}

/*
 * Where run-queue waits come from. The scheduler itself stamps a task when it
 * is queued, by a wakeup or by being switched out while runnable
 * (sched_info.last_queued, on the rq clock, CONFIG_SCHED_INFO), and clears
 * the stamp only in sched_info_switch(), after this tracepoint. So the wait
 * of the incoming task is rq->clock - last_queued, with no wakeup program
 * and no clock read of ours. A migration while queued restarts that stamp on
 * the new CPU and adds the part so far to sched_info.run_delay; so task_rd
 * keeps each task's run_delay as it left the CPU, and the difference is the
 * rest of the wait. Where the kernel lacks those fields the loader sets
 * stamp_wakeups and attaches the wakeup programs, which stamp task_enq with
 * bpf_ktime_get_ns() as runqlat does.
 */
const volatile bool stamp_wakeups = false;

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} task_rd SEC(".maps");

static __always_inline __u64 sched_wait(struct task_struct *next, __u64 *now)
{
	__u64 q = 0, w = 0, *enq;

	if (!stamp_wakeups) {
		if (bpf_core_field_exists(next->sched_info) &&
		    bpf_core_field_exists(next->se.cfs_rq)) {
			struct rq *rq = next->se.cfs_rq->rq;
			__u64 rd = next->sched_info.run_delay, *left;

			*now = rq->clock;
			q = next->sched_info.last_queued;
			if (q && *now > q) {
				w = *now - q;
				left = bpf_task_storage_get(&task_rd, next, 0, 0);
				if (left && rd > *left)
					w += rd - *left;
			}
		}
		return w;
	}
	enq = bpf_task_storage_get(&task_enq, next, 0, 0);
	if (enq && *enq) {
		q = *enq;
		*enq = 0;
	}
	return q && *now > q ? *now - q : 0;
}

/* sched_info mode: run_delay as @prev leaves, to tell its next wait's earlier parts */
static __always_inline void sched_left(struct task_struct *prev)
{
	__u64 *left;

	if (stamp_wakeups || !bpf_core_field_exists(prev->sched_info))
		return;
	left = bpf_task_storage_get(&task_rd, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (left)
		*left = prev->sched_info.run_delay;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(podstat_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	__u64 now = stamp_wakeups ? bpf_ktime_get_ns() : 0, wait = 0, prev_cg = 0;
	__u32 zero = 0, prev_tid, next_tid;
	struct podstat_cpu *pc = NULL;
	struct podstat_cur *cur;

	cur = bpf_map_lookup_elem(&cpu_cur, &zero);
	if (!cur)
		return 0;
	next_tid = next->pid;
	prev_tid = prev->pid;
	/*
	 * cur already describes next: this switch was done by a second copy
	 * of this program (an agent replacing another runs both for a moment).
	 */
	if (cur->ts && cur->tid == next_tid && next_tid != prev_tid)
		return 0;
	if (next_tid)
		wait = sched_wait(next, &now);
	if (prev_tid) {
		__u64 exec = prev->se.sum_exec_runtime, start = exec;
		/* read before the branch: one load may not serve two pointer kinds */
		__u64 slice_start = prev->se.prev_sum_exec_runtime;
		unsigned int policy = prev->policy;

		/*
		 * cur describes prev if this program saw prev's switch-in (nearly
		 * always). When it did not (rarely, under load), a fair-class task's
		 * slice start is se.prev_sum_exec_runtime, which set_next_entity()
		 * stamps at pick; RT and deadline tasks do not keep it.
		 */
		if (cur->ts && cur->tid == prev_tid)
			start = cur->exec_ns;
		else if (cur->ts && fair_policy(policy))
			start = slice_start;
		if (exec > start) {
			prev_cg = task_cgid(prev);
			pc = cpu_get(prev_cg);
			if (pc)
				pc->oncpu_ns += exec - start;
		}
		/* switched out while still runnable: it waits from now on */
		if (stamp_wakeups && (preempt || prev->__state == TASK_RUNNING))
			enq_mark(prev, now);
		sched_left(prev);
	}
	/* ts only has to change at every switch: any clock will do */
	cur->ts = now ? now : cur->ts + 1;
	cur->cgid = 0;
	cur->tid = next_tid;
	if (!next_tid)
		return 0;
	cur->cgid = task_cgid(next);
	cur->exec_ns = next->se.sum_exec_runtime;
	/* switches within one cgroup (a pod's threads) need one lookup */
	if (wait)
		runq_add(pc && prev_cg == cur->cgid ? pc : cpu_get(cur->cgid), wait);
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
