// SPDX-License-Identifier: MIT
/*
 * bpf/collector.c - per-CPU per-cgroup counters to per-pod and per-container
 * totals and rates.
 *
 * One sample: read every key of cg_cpu and cg_net (summing the per-CPU
 * copies), then walk the cgroup tree. Reading first means that a cgroup
 * absent from the walk is gone for sure (one made after the walk cannot have
 * been counted before it). A gone cgroup of a pod that is still there has its
 * last values added to cg_retired[pod cgroup id] and its keys deleted, so the
 * maps do not grow and the pod's counters stay monotonic; a gone cgroup of
 * no pod is deleted. The time the running task on each CPU has had since its
 * switch-in (cpu_cur) is added too, or a single busy task that is never
 * switched out would show no CPU for seconds.
 *
 * CFS throttling is not an eBPF count: each pod's and container's own
 * cpu.stat is read at the same tick (cfs_read()), through an fd kept open
 * per cgroup and read again with pread() from offset 0 (kernfs regenerates
 * the text at offset 0), so a sample costs one read() per series, no path
 * lookup. The file is the v2 one where the cgroup has the cpu controller,
 * else the v1 cpu hierarchy's at the same path (hybrid layouts: kubelet
 * writes the limits to v1 and the v2 tree carries only the ids).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf_int.h"

/* gone cgroups remembered this many samples, for late counts of exiting tasks */
#define TOMB_TTL 30

/* a series without a cpu.stat is looked for again after 1, 2, 4 .. this many samples */
#define CFS_RETRY_MAX 32
/* cpu.stat is about 100 (v1) to 250 (v2) bytes */
#define CFS_BUF 4096
/* memory.stat is about 1-1.5 KiB (v1, v2) */
#define MEM_STAT_BUF 16384
/*
 * cpu.stat fds kept open; series beyond open theirs each sample. It keeps the
 * agent's descriptors few enough for the default limit of 1024 and for the
 * HTTP server's select() (FD_SETSIZE): kubelet's default of 110 pods a node
 * makes about 350 series.
 */
#define CFS_MAX_FDS 512

/* the cpu.stat of one series' cgroup, sorted by id */
struct cfs_fd {
	uint64_t id;		    /* the pod's or container's cgroup v2 id */
	int fd;			    /* its cpu.stat with CFS fields; -1: none found */
	unsigned int wait, backoff; /* samples until the next look, the last wait */
};

struct tomb {
	uint64_t id;
	char pod_uid[48];
	unsigned int ttl;
};

struct kv {
	uint64_t id;
	union {
		struct podstat_cpu cpu;
		struct podstat_net net;
	};
};

struct ebpf_agent {
	struct ebpf_prog *prog;
	char cgroot[PATH_MAX];
	char cpu1root[PATH_MAX]; /* the v1 cpu hierarchy; "": none */
	char mem1root[PATH_MAX]; /* the v1 memory hierarchy; "": none */
	struct cfs_fd *cfs;
	size_t ncfs;
	bool readonly;
	uint32_t max_cgroups;
	int ncpu;
	void *vbuf;	    /* ncpu values of the largest map */
	struct ebpf_cg *cg; /* last walk */
	size_t ncg;
	struct ebpf_stat *st; /* the last sample */
	size_t nst;
	double t_prev;
	struct tomb *tombs;
	size_t ntombs;
	bool warned_full;
	bool warned_fds;
};

void ebpf_opts_init(struct ebpf_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->features = EBPF_FEAT_ALL;
	o->max_cgroups = 4096;
	o->max_pods = 1024;
}

/* the text of /proc/self/mountinfo (malloc()ed) */
static int read_mountinfo(char **out)
{
	char *text = NULL;
	size_t cap = 0, n = 0;
	FILE *f;
	int ret;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	for (;;) {
		if (n + 4096 + 1 > cap) {
			char *t = realloc(text, cap + 65536);

			if (!t) {
				ret = -ENOMEM;
				goto out;
			}
			text = t;
			cap += 65536;
		}
		size_t r = fread(text + n, 1, 4096, f);

		n += r;
		if (r < 4096)
			break;
	}
	text[n] = '\0';
	*out = text;
	text = NULL;
	ret = 0;
out:
	free(text);
	fclose(f);
	return ret;
}

int ebpf_agent_open(const struct ebpf_opts *o, struct ebpf_agent **out)
{
	struct ebpf_agent *a;
	char *mountinfo = NULL;
	int ret;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->readonly = o->readonly;
	a->max_cgroups = o->max_cgroups;
	if (!o->cgroup_root || !o->cpu_cgroup_root) {
		ret = read_mountinfo(&mountinfo);
		if (ret) {
			pr_err("read /proc/self/mountinfo: %s", strerror(-ret));
			goto out_free;
		}
	}
	if (o->cgroup_root) {
		snprintf(a->cgroot, sizeof(a->cgroot), "%s", o->cgroup_root);
	} else {
		ret = ebpf_cgroup2_mount(mountinfo, a->cgroot, sizeof(a->cgroot));
		if (ret) {
			pr_err("no cgroup v2 mount in /proc/self/mountinfo: %s", strerror(-ret));
			goto out_free;
		}
	}
	if (o->cpu_cgroup_root)
		snprintf(a->cpu1root, sizeof(a->cpu1root), "%s", o->cpu_cgroup_root);
	else if (ebpf_cgroup1_mount(mountinfo, "cpu", a->cpu1root, sizeof(a->cpu1root)))
		a->cpu1root[0] = '\0'; /* none: CFS statistics from v2 only */
	if (!mountinfo || ebpf_cgroup1_mount(mountinfo, "memory", a->mem1root, sizeof(a->mem1root)))
		a->mem1root[0] = '\0'; /* none (or roots given): memory from v2 only */
	a->ncpu = libbpf_num_possible_cpus();
	if (a->ncpu <= 0) {
		ret = a->ncpu ? a->ncpu : -EINVAL;
		goto out_free;
	}
	a->vbuf = calloc((size_t)a->ncpu, sizeof(struct podstat_cpu));
	if (!a->vbuf) {
		ret = -ENOMEM;
		goto out_free;
	}
	ret = ebpf_prog_open(o, a->cgroot, &a->prog);
	if (ret)
		goto out_free;
	free(mountinfo);
	*out = a;
	return 0;
out_free:
	free(mountinfo);
	free(a->vbuf);
	free(a);
	return ret;
}

void ebpf_agent_close(struct ebpf_agent *a)
{
	if (!a)
		return;
	ebpf_prog_close(a->prog);
	for (size_t i = 0; i < a->ncfs; i++)
		if (a->cfs[i].fd >= 0)
			close(a->cfs[i].fd);
	free(a->cfs);
	free(a->vbuf);
	ebpf_cgtree_free(a->cg, a->ncg);
	free(a->st);
	free(a->tombs);
	free(a);
}

unsigned int ebpf_agent_features(const struct ebpf_agent *a)
{
	return ebpf_prog_features(a->prog);
}

const char *ebpf_agent_cgroup_root(const struct ebpf_agent *a)
{
	return a->cgroot;
}

void ebpf_agent_stats(const struct ebpf_agent *a, const struct ebpf_stat **out, size_t *n)
{
	*out = a->st;
	*n = a->nst;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* every key of a per-CPU map with its summed value; count or -errno */
static ssize_t map_read(struct ebpf_agent *a, int fd, bool cpu, struct kv **out)
{
	size_t n = 0, cap = 0, vsz = cpu ? sizeof(struct podstat_cpu) : sizeof(struct podstat_net);
	struct kv *v = NULL;
	uint64_t key, last;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &last, &key)) {
		struct kv *e;

		if (n == cap) {
			struct kv *t = realloc(v, (cap ? cap * 2 : 256) * sizeof(*v));

			if (!t) {
				free(v);
				return -ENOMEM;
			}
			v = t;
			cap = cap ? cap * 2 : 256;
		}
		e = &v[n];
		memset(e, 0, sizeof(*e));
		e->id = key;
		last = key;
		first = false;
		if (bpf_map_lookup_elem(fd, &key, a->vbuf))
			continue; /* deleted meanwhile */
		for (int c = 0; c < a->ncpu; c++) {
			const char *pc = (const char *)a->vbuf + (size_t)c * vsz;

			if (cpu) {
				const struct podstat_cpu *x = (const void *)pc;

				e->cpu.oncpu_ns += x->oncpu_ns;
				e->cpu.runq_ns += x->runq_ns;
				e->cpu.runq_cnt += x->runq_cnt;
				for (int i = 0; i < EBPF_RUNQ_SLOTS; i++)
					e->cpu.hist[i] += x->hist[i];
			} else {
				const struct podstat_net *x = (const void *)pc;

				e->net.rx_bytes += x->rx_bytes;
				e->net.rx_packets += x->rx_packets;
				e->net.tx_bytes += x->tx_bytes;
				e->net.tx_packets += x->tx_packets;
			}
		}
		n++;
	}
	*out = v;
	return (ssize_t)n;
}

static int stat_cmp(const void *x, const void *y)
{
	const struct ebpf_stat *a = x, *b = y;
	int r = strcmp(a->pod_uid, b->pod_uid);

	if (r)
		return r;
	if (a->kind != b->kind)
		return a->kind == EBPF_KIND_POD ? -1 : 1;
	return strcmp(a->container_id, b->container_id);
}

/*
 * One series per pod and container: a uid found at two places in the tree
 * (a cgroup left behind by a kubelet that restarted with another layout, two
 * kubelets sharing a host) would otherwise be exposed twice under the same
 * labels, one of them never counted. The entry kept is the one of the lowest
 * cgroup id, so the same one every walk; account() adds every cgroup of the
 * uid into it.
 */
static size_t stat_unique(struct ebpf_stat *st, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		if (k && !stat_cmp(&st[k - 1], &st[i])) {
			if (st[i].cgroup_id < st[k - 1].cgroup_id)
				st[k - 1] = st[i];
			continue;
		}
		st[k++] = st[i];
	}
	return k;
}

static struct ebpf_stat *stat_find(struct ebpf_stat *st, size_t n, enum ebpf_kind kind,
				   const char *uid, const char *cid)
{
	struct ebpf_stat key;

	if (!n)
		return NULL;
	key.kind = kind;
	snprintf(key.pod_uid, sizeof(key.pod_uid), "%s", uid);
	snprintf(key.container_id, sizeof(key.container_id), "%s",
		 kind == EBPF_KIND_CONTAINER ? cid : "");
	return bsearch(&key, st, n, sizeof(*st), stat_cmp);
}

static void tomb_add(struct ebpf_agent *a, const struct ebpf_cg *cg)
{
	struct tomb *t = realloc(a->tombs, (a->ntombs + 1) * sizeof(*t));

	if (!t)
		return;
	a->tombs = t;
	t = &a->tombs[a->ntombs++];
	t->id = cg->id;
	t->ttl = TOMB_TTL;
	snprintf(t->pod_uid, sizeof(t->pod_uid), "%s", cg->ref.pod_uid);
}

static const char *tomb_pod(const struct ebpf_agent *a, uint64_t id)
{
	for (size_t i = 0; i < a->ntombs; i++)
		if (a->tombs[i].id == id)
			return a->tombs[i].pod_uid;
	return NULL;
}

static void tombs_age(struct ebpf_agent *a)
{
	size_t o = 0;

	for (size_t i = 0; i < a->ntombs; i++)
		if (--a->tombs[i].ttl)
			a->tombs[o++] = a->tombs[i];
	a->ntombs = o;
}

/* add @kv's values to the retired totals of the pod with cgroup @pod_id */
static void retire(struct ebpf_agent *a, uint64_t pod_id, const struct kv *kv, bool cpu)
{
	const struct ebpf_maps *m = ebpf_prog_maps(a->prog);
	struct podstat_retired r;

	if (bpf_map_lookup_elem(m->cg_retired, &pod_id, &r))
		memset(&r, 0, sizeof(r));
	if (cpu) {
		r.cpu.oncpu_ns += kv->cpu.oncpu_ns;
		r.cpu.runq_ns += kv->cpu.runq_ns;
		r.cpu.runq_cnt += kv->cpu.runq_cnt;
		for (int i = 0; i < EBPF_RUNQ_SLOTS; i++)
			r.cpu.hist[i] += kv->cpu.hist[i];
	} else {
		r.net.rx_bytes += kv->net.rx_bytes;
		r.net.rx_packets += kv->net.rx_packets;
		r.net.tx_bytes += kv->net.tx_bytes;
		r.net.tx_packets += kv->net.tx_packets;
	}
	if (bpf_map_update_elem(m->cg_retired, &pod_id, &r, BPF_ANY))
		pr_warn("cg_retired is full (%d): a removed container's counts are lost", -errno);
}

/* Add @kv to its series, or retire/delete it when its cgroup is gone. */
static void account(struct ebpf_agent *a, struct ebpf_stat *st, size_t n, const struct kv *kv,
		    bool cpu, int fd)
{
	const struct ebpf_cg *cg = ebpf_cgtree_find(a->cg, a->ncg, kv->id);
	struct ebpf_stat *s;

	if (!cg) {
		const char *uid = tomb_pod(a, kv->id);

		if (a->readonly)
			return;
		s = uid ? stat_find(st, n, EBPF_KIND_POD, uid, "") : NULL;
		if (s)
			retire(a, s->cgroup_id, kv, cpu);
		bpf_map_delete_elem(fd, &kv->id);
		return;
	}
	if (cg->ref.kind == EBPF_KIND_NONE)
		return;
	s = stat_find(st, n, EBPF_KIND_POD, cg->ref.pod_uid, "");
	if (s) {
		if (cpu)
			ebpf_counters_add_cpu(&s->total, &kv->cpu);
		else
			ebpf_counters_add_net(&s->total, &kv->net);
	}
	if (cg->ref.kind != EBPF_KIND_CONTAINER)
		return;
	s = stat_find(st, n, EBPF_KIND_CONTAINER, cg->ref.pod_uid, cg->ref.container_id);
	if (s) {
		if (cpu)
			ebpf_counters_add_cpu(&s->total, &kv->cpu);
		else
			ebpf_counters_add_net(&s->total, &kv->net);
	}
}

/* se.sum_exec_runtime of thread @tid now (CONFIG_SCHED_INFO), 0 if unknown */
static uint64_t task_runtime(uint32_t tid)
{
	char path[48], buf[128];
	unsigned long long v;
	FILE *f;
	int ok;

	snprintf(path, sizeof(path), "/proc/%u/schedstat", tid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	ok = fgets(buf, sizeof(buf), f) && sscanf(buf, "%llu", &v) == 1;
	fclose(f);
	return ok ? v : 0;
}

/*
 * The slice each CPU's current task has run since its switch-in, from the
 * same clock the programs use (the task's runtime), so that the estimate
 * never exceeds what the switch-out will account. A CPU that switched while
 * we looked is left out this time.
 */
static void account_running(struct ebpf_agent *a, struct ebpf_stat *st, size_t n)
{
	const struct ebpf_maps *m = ebpf_prog_maps(a->prog);
	struct podstat_cur *cur, *again;
	size_t sz = (size_t)a->ncpu * sizeof(*cur);
	__u32 key = 0;

	cur = malloc(2 * sz);
	if (!cur)
		return;
	again = cur + a->ncpu;
	if (bpf_map_lookup_elem(m->cpu_cur, &key, cur))
		goto out;
	for (int c = 0; c < a->ncpu; c++) {
		struct kv kv = {.id = cur[c].cgid};
		uint64_t rt;

		if (!cur[c].cgid || !cur[c].ts || !cur[c].tid ||
		    !ebpf_cgtree_find(a->cg, a->ncg, kv.id))
			continue;
		rt = task_runtime(cur[c].tid);
		if (rt <= cur[c].exec_ns)
			continue;
		kv.cpu.oncpu_ns = rt - cur[c].exec_ns;
		cur[c].exec_ns = kv.cpu.oncpu_ns; /* keep the delta, check the slice below */
		cur[c].pad = 1;
	}
	if (bpf_map_lookup_elem(m->cpu_cur, &key, again))
		goto out;
	for (int c = 0; c < a->ncpu; c++) {
		struct kv kv = {.id = cur[c].cgid};

		if (cur[c].pad != 1 || again[c].ts != cur[c].ts)
			continue;
		kv.cpu.oncpu_ns = cur[c].exec_ns;
		account(a, st, n, &kv, true, -1);
	}
out:
	free(cur);
}

static void account_retired(struct ebpf_agent *a, struct ebpf_stat *st, size_t n)
{
	const struct ebpf_maps *m = ebpf_prog_maps(a->prog);
	uint64_t key, *prev = NULL, gone[64];
	size_t ngone = 0;

	while (!bpf_map_get_next_key(m->cg_retired, prev, &key)) {
		const struct ebpf_cg *cg = ebpf_cgtree_find(a->cg, a->ncg, key);
		struct podstat_retired r;
		struct ebpf_stat *s = NULL;

		prev = &key;
		if (cg && cg->ref.kind == EBPF_KIND_POD && cg->ref.is_leaf)
			s = stat_find(st, n, EBPF_KIND_POD, cg->ref.pod_uid, "");
		if (!s) {
			if (ngone < sizeof(gone) / sizeof(gone[0]))
				gone[ngone++] = key;
			continue;
		}
		if (bpf_map_lookup_elem(m->cg_retired, &key, &r))
			continue;
		ebpf_counters_add_cpu(&s->total, &r.cpu);
		ebpf_counters_add_net(&s->total, &r.net);
	}
	for (size_t i = 0; i < ngone && !a->readonly; i++)
		bpf_map_delete_elem(m->cg_retired, &gone[i]);
}

static int cfs_cmp(const void *x, const void *y)
{
	const struct cfs_fd *a = x, *b = y;

	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * The cpu.stat of the cgroup at @rel (relative to the roots) that has CFS
 * fields: the v2 one where the cpu controller is enabled, else the v1 cpu
 * hierarchy's. Return: an fd, or -errno (of the last open tried).
 */
static int cfs_open(const struct ebpf_agent *a, const char *rel)
{
	struct ebpf_counters c;
	char path[PATH_MAX];
	char *buf;
	ssize_t r;
	int fd = -ENOENT;

	buf = malloc(CFS_BUF);
	if (!buf)
		return -ENOMEM;
	if (snprintf(path, sizeof(path), "%s%s/cpu.stat", a->cgroot, rel) < (int)sizeof(path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			fd = -errno;
		} else {
			r = pread(fd, buf, CFS_BUF, 0);
			if (r <= 0 || ebpf_cpu_stat_parse(buf, (size_t)r, &c)) {
				close(fd);
				fd = -ENOENT;
			}
		}
	}
	if (fd < 0 && fd != -EMFILE && fd != -ENFILE && a->cpu1root[0] &&
	    snprintf(path, sizeof(path), "%s%s/cpu.stat", a->cpu1root, rel) < (int)sizeof(path)) {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
	}
	free(buf);
	return fd;
}

/*
 * Every series' CFS counters from its cgroup's cpu.stat. The fds of the
 * last sample are kept by cgroup id (up to CFS_MAX_FDS); a new series' file
 * is looked up once, and looked for again with a growing wait while there is
 * none (a pod made in v2 a moment before kubelet's v1 directory; a node
 * without CFS).
 */
static void cfs_read(struct ebpf_agent *a, struct ebpf_stat *st, size_t n)
{
	struct cfs_fd *nv = calloc(n ? n : 1, sizeof(*nv));
	char *buf = malloc(CFS_BUF);
	size_t kept = 0;

	if (!nv || !buf) {
		free(nv);
		free(buf);
		return; /* no CFS counters this sample; the fds stay */
	}
	for (size_t i = 0; i < n; i++) {
		struct cfs_fd key = {.id = st[i].cgroup_id}, *old, *e = &nv[i];
		ssize_t r;
		int fd;

		old = a->ncfs ? bsearch(&key, a->cfs, a->ncfs, sizeof(key), cfs_cmp) : NULL;
		if (old) {
			*e = *old;
			old->fd = -1;
		} else {
			*e = (struct cfs_fd){.id = key.id, .fd = -1};
		}
		fd = e->fd;
		if (fd < 0) {
			const struct ebpf_cg *cg = ebpf_cgtree_find(a->cg, a->ncg, e->id);

			if (e->wait) {
				e->wait--;
				continue;
			}
			fd = cg && cg->path ? cfs_open(a, cg->path) : -ENOENT;
			if ((fd == -EMFILE || fd == -ENFILE) && !a->warned_fds) {
				pr_warn("cpu.stat of %s: %s: CFS counters of some series are left out",
					cg->path, strerror(-fd));
				a->warned_fds = true;
			}
			if (fd < 0) {
				e->backoff = e->backoff ? e->backoff * 2 : 1;
				if (e->backoff > CFS_RETRY_MAX)
					e->backoff = CFS_RETRY_MAX;
				e->wait = e->backoff;
				continue;
			}
			e->backoff = 0;
			if (kept < CFS_MAX_FDS)
				e->fd = fd;
		}
		if (e->fd >= 0)
			kept++;
		r = pread(fd, buf, CFS_BUF, 0);
		if (r > 0)
			ebpf_cpu_stat_parse(buf, (size_t)r, &st[i].total);
		if (fd != e->fd)
			close(fd); /* beyond CFS_MAX_FDS: opened each sample */
	}
	for (size_t i = 0; i < a->ncfs; i++)
		if (a->cfs[i].fd >= 0)
			close(a->cfs[i].fd);
	free(a->cfs);
	qsort(nv, n, sizeof(*nv), cfs_cmp);
	a->cfs = nv;
	a->ncfs = n;
	free(buf);
}

/* the whole of a small file into @buf (NUL-terminated); its length or -errno */
static ssize_t read_small(const char *path, char *buf, size_t len)
{
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	r = read(fd, buf, len - 1);
	if (r < 0)
		r = -errno;
	else
		buf[r] = '\0';
	close(fd);
	return r;
}

/*
 * The working set of the cgroup at @rel: v2's memory files where the cgroup
 * has the memory controller, else the v1 memory hierarchy's at the same path.
 */
static void mem_read_one(const struct ebpf_agent *a, const char *rel, char *ubuf, char *sbuf,
			 struct ebpf_counters *c)
{
	static const char *const files[2][2] = {{"memory.current", "memory.stat"},
						{"memory.usage_in_bytes", "memory.stat"}};
	const char *roots[2] = {a->cgroot, a->mem1root};
	char path[PATH_MAX];

	for (int v = 0; v < 2; v++) {
		ssize_t ul, sl;

		if (!roots[v][0])
			continue;
		if (snprintf(path, sizeof(path), "%s%s/%s", roots[v], rel, files[v][0]) >=
		    (int)sizeof(path))
			return;
		ul = read_small(path, ubuf, 64);
		if (ul <= 0)
			continue;
		if (snprintf(path, sizeof(path), "%s%s/%s", roots[v], rel, files[v][1]) >=
		    (int)sizeof(path))
			return;
		sl = read_small(path, sbuf, MEM_STAT_BUF);
		if (sl > 0 && !ebpf_memory_parse(ubuf, (size_t)ul, sbuf, (size_t)sl, c))
			return;
	}
}

/*
 * Every pod's working set, read at the sample. Pods only, and the files
 * opened each time: a node has at most a few hundred pods (kubelet's default
 * is 110), two small reads each; containers' memory is not on the page.
 */
static void mem_read(struct ebpf_agent *a, struct ebpf_stat *st, size_t n)
{
	char *sbuf = malloc(MEM_STAT_BUF), ubuf[64];

	if (!sbuf)
		return; /* no memory values this sample */
	for (size_t i = 0; i < n; i++) {
		const struct ebpf_cg *cg;

		if (st[i].kind != EBPF_KIND_POD)
			continue;
		cg = ebpf_cgtree_find(a->cg, a->ncg, st[i].cgroup_id);
		if (cg && cg->path)
			mem_read_one(a, cg->path, ubuf, sbuf, &st[i].total);
	}
	free(sbuf);
}

static const struct ebpf_stat *prev_find(const struct ebpf_agent *a, const struct ebpf_stat *s)
{
	return stat_find(a->st, a->nst, s->kind, s->pod_uid, s->container_id);
}

int ebpf_agent_sample(struct ebpf_agent *a)
{
	const struct ebpf_maps *m = ebpf_prog_maps(a->prog);
	struct kv *cpu = NULL, *net = NULL;
	ssize_t ncpu = 0, nnet = 0, ncg;
	struct ebpf_stat *st = NULL;
	struct ebpf_cg *cg = NULL;
	size_t n = 0;
	double t;
	int ret;

	ncpu = map_read(a, m->cg_cpu, true, &cpu);
	if (ncpu >= 0)
		nnet = map_read(a, m->cg_net, false, &net);
	if (ncpu < 0 || nnet < 0) {
		ret = ncpu < 0 ? (int)ncpu : (int)nnet;
		goto out;
	}
	if (!a->warned_full && ((size_t)ncpu * 10 >= (size_t)a->max_cgroups * 9 ||
				(size_t)nnet * 10 >= (size_t)a->max_cgroups * 9)) {
		pr_warn("per-cgroup maps are 90%% full (%zd, %zd of %u): raise --max-cgroups", ncpu,
			nnet, a->max_cgroups);
		a->warned_full = true;
	}
	ncg = ebpf_cgtree_walk(a->cgroot, &cg);
	if (ncg < 0) {
		ret = (int)ncg;
		pr_err("walk %s: %s", a->cgroot, strerror(-ret));
		goto out;
	}
	/* cgroups of pods that left the tree since the last walk */
	tombs_age(a);
	for (size_t i = 0; i < a->ncg; i++)
		if (a->cg[i].ref.kind != EBPF_KIND_NONE &&
		    !ebpf_cgtree_find(cg, (size_t)ncg, a->cg[i].id))
			tomb_add(a, &a->cg[i]);
	ebpf_cgtree_free(a->cg, a->ncg);
	a->cg = cg;
	a->ncg = (size_t)ncg;

	st = calloc((size_t)ncg + 1, sizeof(*st));
	if (!st) {
		ret = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < a->ncg; i++) {
		const struct ebpf_cgroup_ref *r = &a->cg[i].ref;

		if (r->kind == EBPF_KIND_NONE || !r->is_leaf)
			continue;
		st[n].kind = r->kind;
		st[n].cgroup_id = a->cg[i].id;
		memcpy(st[n].pod_uid, r->pod_uid, sizeof(st[n].pod_uid));
		memcpy(st[n].container_id, r->container_id, sizeof(st[n].container_id));
		memcpy(st[n].qos, r->qos, sizeof(st[n].qos));
		n++;
	}
	qsort(st, n, sizeof(*st), stat_cmp);
	n = stat_unique(st, n);
	for (ssize_t i = 0; i < ncpu; i++)
		account(a, st, n, &cpu[i], true, m->cg_cpu);
	for (ssize_t i = 0; i < nnet; i++)
		account(a, st, n, &net[i], false, m->cg_net);
	account_running(a, st, n);
	account_retired(a, st, n);
	cfs_read(a, st, n);

	t = now_s();
	/*
	 * after the sample's time: the rates divide by the time between two
	 * samples' reads, and opening each pod's memory files (a gauge, not a
	 * counter) would add their varying cost to it (a busy pod on a 2-CPU
	 * machine read 2.03 cores)
	 */
	mem_read(a, st, n);
	for (size_t i = 0; i < n; i++) {
		const struct ebpf_stat *p = prev_find(a, &st[i]);

		if (p && p->cgroup_id == st[i].cgroup_id) {
			ebpf_counters_clamp(&st[i].total, &p->total);
			ebpf_rates_compute(&p->total, &st[i].total, t - a->t_prev, &st[i].rate);
		}
	}
	free(a->st);
	a->st = st;
	a->nst = n;
	a->t_prev = t;
	st = NULL;
	ret = 0;
out:
	free(st);
	free(cpu);
	free(net);
	return ret;
}
