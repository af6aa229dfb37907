// SPDX-License-Identifier: MIT
/*
 * bpf/loader.c - load, attach and pin podstat.bpf.c; the only caller of
 * skeleton functions.
 *
 * Features are probed by doing them: the object is loaded with every
 * program wanted, then (if that fails) without the network programs, then
 * without the scheduler ones; each program group is then attached, and a
 * group whose load or attach fails is logged once and left out.
 *
 * Pins (opts.pin_dir/podstat-v1/): the maps and links. A new agent reuses
 * the pinned maps, so the counters continue. For the tracing links it
 * attaches its own programs first and then drops the old links: while both
 * run, the second program of a switch finds cpu_cur already describing the
 * incoming task and leaves it, so nothing is counted twice. The cgroup
 * links are swapped in place with BPF_LINK_UPDATE, which is atomic.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "ebpf_int.h"
#include "podstat.skel.h"

/* Pinned state of another layout is refused; bump with any podstat.h change. */
#define EBPF_PIN_LAYOUT "podstat-v1"

static ebpf_log_fn ebpf_log_sink;

void ebpf_set_log(ebpf_log_fn fn)
{
	ebpf_log_sink = fn;
}

void ebpf_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!ebpf_log_sink)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ebpf_log_sink(level, msg);
}

/* libbpf's lines, one level lower than libbpf rates them; its debug output is dropped */
int ebpf_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024];
	size_t len;

	if (!ebpf_log_sink || level == LIBBPF_DEBUG)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	while (len && msg[len - 1] == '\n')
		msg[--len] = '\0';
	if (len)
		ebpf_log_sink(level == LIBBPF_WARN ? EBPF_LOG_INFO : EBPF_LOG_DEBUG, msg);
	return 0;
}

enum { L_WAKEUP, L_WAKEUP_NEW, L_SWITCH, L_INGRESS, L_EGRESS, L_NR };

static const char *const link_names[L_NR] = {
	"link_sched_wakeup",   "link_sched_wakeup_new", "link_sched_switch",
	"link_cgroup_ingress", "link_cgroup_egress",
};

struct ebpf_prog {
	struct podstat_bpf *skel; /* NULL in read-only mode */
	struct bpf_link *links[L_NR];
	struct ebpf_maps maps;
	unsigned int features;
	char dir[PATH_MAX - 64]; /* pin directory, "" when not pinned */
	bool ro_fds;		 /* maps fds are ours (read-only mode) */
	bool pins_mismatch;	 /* pinned maps of another size: loading cannot work */
	bool stamp_wakeups;	 /* the wakeup programs stamp queueing (no sched_info) */
};

static void pin_path(const struct ebpf_prog *p, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", p->dir, name);
}

static bool fs_is(const char *path, long magic)
{
	struct statfs sf;

	return !statfs(path, &sf) && (long)sf.f_type == magic;
}

/* bpffs under /sys/fs/bpf (for pins) and tracefs, mounted when missing */
static int ebpf_fs_prepare(const char *dir)
{
	if (!strncmp(dir, "/sys/fs/bpf", 11) && !fs_is("/sys/fs/bpf", BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700")) {
			int ret = -errno;

			pr_err("mount bpffs on /sys/fs/bpf: %s", strerror(-ret));
			return ret;
		}
		pr_info("mounted bpffs on /sys/fs/bpf");
	}
	if (!fs_is(dir, BPF_FS_MAGIC) && access(dir, F_OK)) {
		char parent[PATH_MAX];
		char *slash;

		snprintf(parent, sizeof(parent), "%s", dir);
		slash = strrchr(parent, '/');
		if (slash && slash != parent)
			*slash = '\0';
		if (!fs_is(parent, BPF_FS_MAGIC)) {
			pr_err("pin directory %s is not on a bpffs", dir);
			return -ENOTDIR;
		}
	}
	return 0;
}

static void ebpf_tracefs_prepare(void)
{
	/* tp_btf needs no tracefs, but tools beside the agent (bpftool, perf) do */
	if (!access("/sys/kernel/tracing", F_OK) && !fs_is("/sys/kernel/tracing", TRACEFS_MAGIC) &&
	    !mount("tracefs", "/sys/kernel/tracing", "tracefs", 0, NULL))
		pr_info("mounted tracefs on /sys/kernel/tracing");
}

static int mkdir_p(const char *path)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) && errno != EEXIST)
			return -errno;
		*s = '/';
	}
	if (mkdir(tmp, 0700) && errno != EEXIST)
		return -errno;
	return 0;
}

static bool btf_has_member(const struct btf *btf, const char *type, const char *member)
{
	const struct btf_member *m;
	const struct btf_type *t;
	__s32 id;

	id = btf__find_by_name_kind(btf, type, BTF_KIND_STRUCT);
	if (id < 0)
		return false;
	t = btf__type_by_id(btf, (__u32)id);
	m = btf_members(t);
	for (__u16 i = 0; i < btf_vlen(t); i++, m++)
		if (!strcmp(btf__name_by_offset(btf, m->name_off), member))
			return true;
	return false;
}

/*
 * The scheduler's own enqueue stamp (CONFIG_SCHED_INFO) and the task's rq
 * (CONFIG_FAIR_GROUP_SCHED) spare us the wakeup programs; without them we
 * stamp wakeups ourselves.
 */
static bool kernel_stamps_queueing(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf_has_member(btf, "task_struct", "sched_info") &&
	     btf_has_member(btf, "sched_info", "last_queued") &&
	     btf_has_member(btf, "sched_entity", "cfs_rq") && btf_has_member(btf, "cfs_rq", "rq");
	btf__free(btf);
	return ok;
}

static int skel_load(struct ebpf_prog *p, const struct ebpf_opts *o, unsigned int feats)
{
	struct podstat_bpf *s;
	int ret;

	s = podstat_bpf__open();
	if (!s)
		return -errno;
	bpf_map__set_max_entries(s->maps.cg_cpu, o->max_cgroups);
	bpf_map__set_max_entries(s->maps.cg_net, o->max_cgroups);
	bpf_map__set_max_entries(s->maps.cg_retired, o->max_pods);
	/* FERRY_EBPF_STAMP_WAKEUPS=1 forces the fallback (tests/bpf run both) */
	p->stamp_wakeups = getenv("FERRY_EBPF_STAMP_WAKEUPS") || !kernel_stamps_queueing();
	s->rodata->stamp_wakeups = p->stamp_wakeups;
	bpf_program__set_autoload(s->progs.podstat_wakeup,
				  (feats & EBPF_FEAT_SCHED) && p->stamp_wakeups);
	bpf_program__set_autoload(s->progs.podstat_wakeup_new,
				  (feats & EBPF_FEAT_SCHED) && p->stamp_wakeups);
	bpf_program__set_autoload(s->progs.podstat_switch, feats & EBPF_FEAT_SCHED);
	bpf_program__set_autoload(s->progs.podstat_ingress, feats & EBPF_FEAT_NET);
	bpf_program__set_autoload(s->progs.podstat_egress, feats & EBPF_FEAT_NET);
	if (p->dir[0]) {
		char stale[PATH_MAX];

		/*
		 * cpu_cur and task_enq only make sense while the tracing programs
		 * run: stale stamps would read as long waits. With no pinned
		 * sched_switch link alive, start them afresh.
		 */
		pin_path(p, link_names[L_SWITCH], stale, sizeof(stale));
		if (access(stale, F_OK)) {
			pin_path(p, "cpu_cur", stale, sizeof(stale));
			unlink(stale);
			pin_path(p, "task_enq", stale, sizeof(stale));
			unlink(stale);
			pin_path(p, "task_rd", stale, sizeof(stale));
			unlink(stale);
		}
		ret = ebpf_pin_maps(s->obj, p->dir, "agent", "run 'ferry agent --cleanup' first",
				    &p->pins_mismatch);
		if (ret)
			goto out_destroy;
	}
	ret = podstat_bpf__load(s);
	if (ret)
		goto out_destroy;
	p->skel = s;
	return 0;
out_destroy:
	podstat_bpf__destroy(s);
	return ret;
}

/* Attach @prog as link @i (cgroup fd @cgfd for the cgroup ones), replacing a pinned one. */
static int link_attach(struct ebpf_prog *p, int i, struct bpf_program *prog, int cgfd)
{
	struct bpf_link *old = NULL, *link;
	char path[PATH_MAX];
	int ret;

	if (p->dir[0]) {
		pin_path(p, link_names[i], path, sizeof(path));
		old = bpf_link__open(path);
		if (!old && errno != ENOENT)
			pr_warn("pinned link %s: %s: replacing it", path, strerror(errno));
	}
	if (old && cgfd >= 0 && !bpf_link__update_program(old, prog)) {
		p->links[i] = old; /* swapped in place, still pinned */
		return 0;
	}
	link = cgfd >= 0 ? bpf_program__attach_cgroup(prog, cgfd) : bpf_program__attach(prog);
	if (!link) {
		ret = -errno;
		bpf_link__destroy(old); /* the old one stays pinned: it still counts */
		return ret;
	}
	if (old) {
		bpf_link__unpin(old);
		bpf_link__destroy(old);
	}
	if (p->dir[0]) {
		ret = bpf_link__pin(link, path);
		if (ret) {
			pr_warn("pin %s: %s", path, strerror(-ret));
			bpf_link__destroy(link);
			return ret;
		}
	}
	p->links[i] = link;
	return 0;
}

static void links_drop(struct ebpf_prog *p, int from, int to)
{
	for (int i = from; i <= to; i++) {
		if (p->links[i] && p->dir[0])
			bpf_link__unpin(p->links[i]);
		bpf_link__destroy(p->links[i]);
		p->links[i] = NULL;
	}
}

/* A pinned link that this agent does not replace (feature off): drop it. */
static void pin_drop(struct ebpf_prog *p, int from, int to)
{
	char path[PATH_MAX];

	if (!p->dir[0])
		return;
	for (int i = from; i <= to; i++) {
		pin_path(p, link_names[i], path, sizeof(path));
		unlink(path);
	}
}

static int attach_sched(struct ebpf_prog *p)
{
	struct podstat_bpf *s = p->skel;
	int ret;

	ret = 0;
	if (p->stamp_wakeups) {
		ret = link_attach(p, L_WAKEUP, s->progs.podstat_wakeup, -1);
		if (!ret)
			ret = link_attach(p, L_WAKEUP_NEW, s->progs.podstat_wakeup_new, -1);
	}
	if (!ret)
		ret = link_attach(p, L_SWITCH, s->progs.podstat_switch, -1);
	/* an earlier agent's wakeup links, if this one needs none */
	if (!ret && !p->stamp_wakeups)
		pin_drop(p, L_WAKEUP, L_WAKEUP_NEW);
	if (ret)
		links_drop(p, L_WAKEUP, L_SWITCH);
	return ret;
}

static int attach_net(struct ebpf_prog *p, const char *cgpath)
{
	struct podstat_bpf *s = p->skel;
	int fd, ret;

	fd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = link_attach(p, L_INGRESS, s->progs.podstat_ingress, fd);
	if (!ret)
		ret = link_attach(p, L_EGRESS, s->progs.podstat_egress, fd);
	if (ret)
		links_drop(p, L_INGRESS, L_EGRESS);
	close(fd);
	return ret;
}

static int open_readonly(struct ebpf_prog *p)
{
	static const char *const names[] = {"cg_cpu", "cg_net", "cpu_cur", "cg_retired",
					    "task_enq"};
	int *fds[] = {&p->maps.cg_cpu, &p->maps.cg_net, &p->maps.cpu_cur, &p->maps.cg_retired,
		      &p->maps.task_enq};
	char path[PATH_MAX];

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		*fds[i] = -1;
	p->ro_fds = true;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		pin_path(p, names[i], path, sizeof(path));
		*fds[i] = bpf_obj_get(path);
		if (*fds[i] < 0) {
			int ret = -errno;

			pr_debug("open %s: %s", path, strerror(-ret));
			return ret;
		}
	}
	pin_path(p, link_names[L_SWITCH], path, sizeof(path));
	if (!access(path, F_OK))
		p->features |= EBPF_FEAT_SCHED;
	pin_path(p, link_names[L_INGRESS], path, sizeof(path));
	if (!access(path, F_OK))
		p->features |= EBPF_FEAT_NET;
	return 0;
}

int ebpf_prog_open(const struct ebpf_opts *o, const char *cgroup_root, struct ebpf_prog **out)
{
	static const unsigned int drop[] = {0, EBPF_FEAT_NET, EBPF_FEAT_SCHED};
	unsigned int want = o->features & EBPF_FEAT_ALL;
	struct ebpf_prog *p;
	int ret = -EOPNOTSUPP;

	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	libbpf_set_print(ebpf_libbpf_print);
	if (o->pin_dir && o->pin_dir[0])
		snprintf(p->dir, sizeof(p->dir), "%s/%s", o->pin_dir, EBPF_PIN_LAYOUT);
	if (o->readonly) {
		if (!p->dir[0]) {
			ret = -EINVAL;
			goto out_free;
		}
		ret = open_readonly(p);
		if (ret)
			goto out_close;
		*out = p;
		return 0;
	}
	if (p->dir[0]) {
		ret = ebpf_fs_prepare(o->pin_dir);
		if (!ret)
			ret = mkdir_p(p->dir);
		if (ret) {
			pr_err("pin directory %s: %s", p->dir, strerror(-ret));
			goto out_free;
		}
	}
	ebpf_tracefs_prepare();
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		unsigned int feats = want & ~drop[i];

		if (!feats || (i && feats == want))
			continue;
		ret = skel_load(p, o, feats);
		if (!ret) {
			p->features = feats;
			break;
		}
		if (p->pins_mismatch)
			break; /* no use trying with less */
	}
	if (ret) {
		pr_err("loading the eBPF programs failed: %s", strerror(-ret));
		goto out_free;
	}
	if (want & ~p->features)
		pr_warn("%s programs refused by the kernel: continuing without them",
			(want & ~p->features) & EBPF_FEAT_NET ? "network (cgroup_skb)"
							      : "scheduler (tp_btf)");
	p->maps.cg_cpu = bpf_map__fd(p->skel->maps.cg_cpu);
	p->maps.cg_net = bpf_map__fd(p->skel->maps.cg_net);
	p->maps.cpu_cur = bpf_map__fd(p->skel->maps.cpu_cur);
	p->maps.cg_retired = bpf_map__fd(p->skel->maps.cg_retired);
	p->maps.task_enq = bpf_map__fd(p->skel->maps.task_enq);

	if (p->features & EBPF_FEAT_SCHED) {
		ret = attach_sched(p);
		if (ret) {
			pr_warn("attaching the scheduler programs (tp_btf/sched_switch) failed: %s: continuing without CPU and run-queue metrics",
				strerror(-ret));
			p->features &= ~EBPF_FEAT_SCHED;
		}
	} else {
		pin_drop(p, L_WAKEUP, L_SWITCH);
	}
	if (p->features & EBPF_FEAT_NET) {
		const char *cg = o->net_cgroup ? o->net_cgroup : cgroup_root;

		ret = attach_net(p, cg);
		if (ret) {
			pr_warn("attaching the network programs (cgroup_skb) at %s failed: %s: continuing without network metrics",
				cg, strerror(-ret));
			p->features &= ~EBPF_FEAT_NET;
		}
	} else {
		pin_drop(p, L_INGRESS, L_EGRESS);
	}
	if (!p->features) {
		ret = -EOPNOTSUPP;
		goto out_close;
	}
	*out = p;
	return 0;
out_close:
	ebpf_prog_close(p);
	return ret;
out_free:
	free(p);
	return ret;
}

void ebpf_prog_close(struct ebpf_prog *p)
{
	if (!p)
		return;
	/* pinned links stay attached: closing our fd does not detach them */
	for (int i = 0; i < L_NR; i++)
		bpf_link__destroy(p->links[i]);
	podstat_bpf__destroy(p->skel);
	if (p->ro_fds) {
		int fds[] = {p->maps.cg_cpu, p->maps.cg_net, p->maps.cpu_cur, p->maps.cg_retired,
			     p->maps.task_enq};

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	free(p);
}

unsigned int ebpf_prog_features(const struct ebpf_prog *p)
{
	return p->features;
}

const struct ebpf_maps *ebpf_prog_maps(const struct ebpf_prog *p)
{
	return &p->maps;
}

int ebpf_pins_remove(const char *pin_dir)
{
	static const char *const maps[] = {"cg_cpu",	 "cg_net",   "cpu_cur",
					   "cg_retired", "task_enq", "task_rd"};
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int ret = 0;

	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, EBPF_PIN_LAYOUT);
	/* links first: the programs stop before their maps go */
	for (int i = 0; i < L_NR; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, link_names[i]);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, maps[i]);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	if (rmdir(dir) && errno != ENOENT && !ret)
		ret = -errno;
	/* the parent only if it is empty now (other pins may live there) */
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST && !ret)
		ret = -errno;
	return ret;
}
