/* SPDX-License-Identifier: MIT */
/*
 * bpf/ebpf_int.h - what the module's user-space files share; private to bpf/.
 */
#ifndef FERRY_EBPF_INT_H
#define FERRY_EBPF_INT_H

#include <assert.h>
#include <stdarg.h>
#include <stdint.h>
#include <sys/types.h>

#include "ebpf.h"
#include "podstat.h"

static_assert(EBPF_RUNQ_SLOTS == sizeof(((struct podstat_cpu *)0)->hist) / sizeof(__u64),
	      "ebpf.h and podstat.h disagree on EBPF_RUNQ_SLOTS");

void ebpf_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define pr_err(...)   ebpf_log(EBPF_LOG_ERR, __VA_ARGS__)
#define pr_warn(...)  ebpf_log(EBPF_LOG_WARN, __VA_ARGS__)
#define pr_info(...)  ebpf_log(EBPF_LOG_INFO, __VA_ARGS__)
#define pr_debug(...) ebpf_log(EBPF_LOG_DEBUG, __VA_ARGS__)

/* libbpf's print callback: its lines, one level lower, into the module's log */
#ifdef __LIBBPF_LIBBPF_H
int ebpf_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap);

/*
 * ebpf_pin_maps() - pin every map of @obj but .rodata at @dir/<name> on load;
 * one already pinned there must match the object's (type, key, value,
 * entries), or it is -EINVAL, logged as "this @who wants ...: @fix", with
 * *@mismatch set. Return: 0 or -errno.
 */
int ebpf_pin_maps(struct bpf_object *obj, const char *dir, const char *who, const char *fix,
		  bool *mismatch);
#endif

/* bpf/loader.c: the only user of podstat's skeleton */
struct ebpf_prog;

/* The maps the collector reads; fds are owned by struct ebpf_prog. */
struct ebpf_maps {
	int cg_cpu;
	int cg_net;
	int cpu_cur;
	int cg_retired;
	int task_enq;
};

int ebpf_prog_open(const struct ebpf_opts *o, const char *cgroup_root, struct ebpf_prog **out);
void ebpf_prog_close(struct ebpf_prog *p);
unsigned int ebpf_prog_features(const struct ebpf_prog *p);
const struct ebpf_maps *ebpf_prog_maps(const struct ebpf_prog *p);

/* bpf/cgpath.c: one cgroup of the tree */
struct ebpf_cg {
	uint64_t id;
	struct ebpf_cgroup_ref ref;
	char *path; /* relative to the root ("/kubepods/pod<uid>"); pods' and containers' only */
};

/*
 * ebpf_cgtree_walk() - every cgroup under @root (the root too), sorted by id,
 * into *@out (free with ebpf_cgtree_free()). Return: count or -errno.
 */
ssize_t ebpf_cgtree_walk(const char *root, struct ebpf_cg **out);
/* free a walk of @n cgroups (NULL: nothing) */
void ebpf_cgtree_free(struct ebpf_cg *cg, size_t n);
/* bsearch in a sorted walk */
const struct ebpf_cg *ebpf_cgtree_find(const struct ebpf_cg *cg, size_t n, uint64_t id);

/* bpf/rates.c */
void ebpf_counters_add_cpu(struct ebpf_counters *c, const struct podstat_cpu *v);
void ebpf_counters_add_net(struct ebpf_counters *c, const struct podstat_net *v);
/* keep every field at least what @floor has: counters never go back (the CFS
 * ones only when both have them) */
void ebpf_counters_clamp(struct ebpf_counters *c, const struct ebpf_counters *floor);

#endif /* FERRY_EBPF_INT_H */
