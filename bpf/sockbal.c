// SPDX-License-Identifier: MIT
/*
 * bpf/sockbal.c - load, attach and pin sockbal.bpf.c, and write its Service
 * tables; the only caller of sockbal's skeleton functions (loader.c is
 * podstat's).
 *
 * Feature discipline as loader.c: the object is loaded with every program
 * group wanted, then with fewer (getpeername since 5.8; the UDP hooks), and
 * each group is attached on its own; a group the kernel refuses is logged
 * once and left out, and the rest works.
 *
 * Pins (opts.pin_dir/sockbal-v2/): the five maps and one link per program.
 * A new open reuses the maps (the tables stay in force) and swaps its
 * programs into the pinned links with BPF_LINK_UPDATE, which is atomic: no
 * connect() in between sees no program.
 *
 * A Service change is one new generation map, filled and frozen, then put in
 * sb_services with one update: the swap. For map-in-map updates the kernel
 * waits for an RCU grace period before the syscall returns (so no program is
 * still reading the old generation), and frees the old one after it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/magic.h>

#include "ebpf_int.h"
#include "ebpf_lb.h"
#include "sockbal.h"
#include "sockbal.skel.h"

/* Pinned state of another layout is refused; bump with any sockbal.h change. */
#define EBPF_LB_PIN_LAYOUT "sockbal-v2" /* v2: sb_skip */

static_assert(EBPF_LB_MAX_BACKENDS == SOCKBAL_MAX_BACKENDS, "ebpf_lb.h and sockbal.h disagree");
static_assert(EBPF_LB_MAX_SLOTS == SOCKBAL_MAX_SLOTS, "ebpf_lb.h and sockbal.h disagree");

enum { L_CONNECT4, L_CONNECT6, L_PEER4, L_PEER6, L_SEND4, L_SEND6, L_RECV4, L_RECV6, L_NR };

static const char *const link_names[L_NR] = {
	"link_connect4", "link_connect6", "link_getpeername4", "link_getpeername6",
	"link_sendmsg4", "link_sendmsg6", "link_recvmsg4",     "link_recvmsg6",
};
static const char *const map_names[] = {"sb_services", "sb_sk", "sb_rev", "sb_skip", "sb_conf"};

/* the groups: links [first, last] */
static const struct {
	unsigned int feat;
	int first, last;
	const char *what;
} groups[] = {
	{EBPF_LB_FEAT_CONNECT, L_CONNECT4, L_CONNECT6, "connect (cgroup/connect4, connect6)"},
	{EBPF_LB_FEAT_PEER, L_PEER4, L_PEER6, "getpeername (cgroup/getpeername4, getpeername6)"},
	{EBPF_LB_FEAT_UDP, L_SEND4, L_RECV6, "UDP (cgroup/sendmsg4, 6, recvmsg4, 6)"},
};
#define NGROUPS (sizeof(groups) / sizeof(groups[0]))

struct ebpf_lb {
	struct sockbal_bpf *skel;
	struct bpf_link *links[L_NR];
	unsigned int features;
	int services_fd;	 /* borrowed from skel */
	int skip_fd;		 /* borrowed from skel; -1 read-only without one */
	int conf_fd;		 /* borrowed from skel; -1 read-only */
	char dir[PATH_MAX - 64]; /* pin directory, "" when not pinned */
	char cgroup[PATH_MAX];	 /* where the programs are attached ("" read-only) */
	bool pins_mismatch;
	bool readonly; /* services_fd is ours, nothing loaded */
};

void ebpf_lb_opts_init(struct ebpf_lb_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->pin_dir = "/sys/fs/bpf/ferry";
	o->features = EBPF_LB_FEAT_ALL;
	o->max_services = 65536;
	o->udp_flows = 16384;
	o->max_skip = 4096;
}

static void pin_path(const struct ebpf_lb *lb, const char *name, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", lb->dir, name);
}

static bool fs_is(const char *path, long magic)
{
	struct statfs sf;

	return !statfs(path, &sf) && (long)sf.f_type == magic;
}

static int pin_dir_prepare(const char *pin_dir, const char *dir)
{
	char tmp[PATH_MAX];

	if (!strncmp(pin_dir, "/sys/fs/bpf", 11) && !fs_is("/sys/fs/bpf", BPF_FS_MAGIC)) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return -errno;
		pr_info("mounted bpffs on /sys/fs/bpf");
	}
	snprintf(tmp, sizeof(tmp), "%s", dir);
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
	if (!fs_is(dir, BPF_FS_MAGIC))
		return -ENOTDIR;
	return 0;
}

/* the kubepods cgroup under the cgroup2 mount: kubepods.slice (systemd), else kubepods */
static int default_cgroup(char *buf, size_t len)
{
	char root[PATH_MAX - 32], *text = NULL;
	size_t cap = 0;
	FILE *f;
	int ret;

	f = fopen("/proc/self/mountinfo", "re");
	if (!f)
		return -errno;
	ret = getdelim(&text, &cap, '\0', f) < 0 ? -EIO : 0;
	fclose(f);
	if (!ret)
		ret = ebpf_cgroup2_mount(text, root, sizeof(root));
	free(text);
	if (ret)
		return ret;
	snprintf(buf, len, "%s/kubepods.slice", root);
	if (!access(buf, F_OK))
		return 0;
	snprintf(buf, len, "%s/kubepods", root);
	return access(buf, F_OK) ? -ENOENT : 0;
}

static struct bpf_program *prog_of(struct sockbal_bpf *s, int i)
{
	struct bpf_program *progs[L_NR] = {
		s->progs.sockbal_connect4,     s->progs.sockbal_connect6,
		s->progs.sockbal_getpeername4, s->progs.sockbal_getpeername6,
		s->progs.sockbal_sendmsg4,     s->progs.sockbal_sendmsg6,
		s->progs.sockbal_recvmsg4,     s->progs.sockbal_recvmsg6,
	};

	return progs[i];
}

static int skel_load(struct ebpf_lb *lb, const struct ebpf_lb_opts *o, unsigned int feats)
{
	struct sockbal_bpf *s;
	int ret;

	s = sockbal_bpf__open();
	if (!s)
		return -errno;
	bpf_map__set_max_entries(s->maps.sb_services, o->max_services);
	bpf_map__set_max_entries(s->maps.sb_rev, o->udp_flows);
	bpf_map__set_max_entries(s->maps.sb_skip, o->max_skip);
	for (size_t g = 0; g < NGROUPS; g++)
		for (int i = groups[g].first; i <= groups[g].last; i++)
			bpf_program__set_autoload(prog_of(s, i), feats & groups[g].feat);
	if (lb->dir[0]) {
		ret = ebpf_pin_maps(s->obj, lb->dir, "balancer", "remove the pins first",
				    &lb->pins_mismatch);
		if (ret)
			goto out_destroy;
	}
	ret = sockbal_bpf__load(s);
	if (ret)
		goto out_destroy;
	lb->skel = s;
	return 0;
out_destroy:
	sockbal_bpf__destroy(s);
	return ret;
}

/* Attach link @i at cgroup @cgfd, or swap the program into its pinned link. */
static int link_attach(struct ebpf_lb *lb, int i, int cgfd)
{
	struct bpf_program *prog = prog_of(lb->skel, i);
	struct bpf_link *old = NULL, *link;
	char path[PATH_MAX];
	int ret;

	if (lb->dir[0]) {
		pin_path(lb, link_names[i], path, sizeof(path));
		old = access(path, F_OK) ? NULL : bpf_link__open(path);
		if (old && !bpf_link__update_program(old, prog)) {
			lb->links[i] = old; /* swapped in place, still pinned */
			return 0;
		}
	}
	link = bpf_program__attach_cgroup(prog, cgfd);
	if (!link) {
		ret = -errno;
		bpf_link__destroy(old); /* the old one stays pinned and working */
		return ret;
	}
	if (old) {
		bpf_link__unpin(old);
		bpf_link__destroy(old);
	}
	if (lb->dir[0]) {
		ret = bpf_link__pin(link, path);
		if (ret) {
			bpf_link__destroy(link);
			return ret;
		}
	}
	lb->links[i] = link;
	return 0;
}

static void links_drop(struct ebpf_lb *lb, int first, int last)
{
	char path[PATH_MAX];

	for (int i = first; i <= last; i++) {
		if (lb->dir[0]) {
			pin_path(lb, link_names[i], path, sizeof(path));
			unlink(path);
		}
		bpf_link__destroy(lb->links[i]);
		lb->links[i] = NULL;
	}
}

static int open_readonly(const struct ebpf_lb_opts *o, struct ebpf_lb **out)
{
	char path[PATH_MAX];
	struct ebpf_lb *lb;
	int ret;

	if (!o->pin_dir || !o->pin_dir[0])
		return -EINVAL;
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	lb->readonly = true;
	lb->skip_fd = -1;
	lb->conf_fd = -1;
	snprintf(lb->dir, sizeof(lb->dir), "%s/%s", o->pin_dir, EBPF_LB_PIN_LAYOUT);
	pin_path(lb, "sb_services", path, sizeof(path));
	lb->services_fd = bpf_obj_get(path);
	if (lb->services_fd < 0) {
		ret = -errno;
		pr_debug("open %s: %s", path, strerror(-ret));
		free(lb);
		return ret;
	}
	pin_path(lb, "sb_skip", path, sizeof(path));
	lb->skip_fd = bpf_obj_get(path);
	/* what the running balancer has attached: its pinned links say */
	for (size_t g = 0; g < NGROUPS; g++) {
		pin_path(lb, link_names[groups[g].first], path, sizeof(path));
		if (!access(path, F_OK))
			lb->features |= groups[g].feat;
	}
	*out = lb;
	return 0;
}

int ebpf_lb_open(const struct ebpf_lb_opts *o, struct ebpf_lb **out)
{
	static const unsigned int drop[] = {0, EBPF_LB_FEAT_PEER, EBPF_LB_FEAT_UDP,
					    EBPF_LB_FEAT_PEER | EBPF_LB_FEAT_UDP};
	unsigned int want = o->features & EBPF_LB_FEAT_ALL;
	char cgpath[PATH_MAX];
	struct ebpf_lb *lb;
	int cgfd = -1, ret;

	if (o->readonly)
		return open_readonly(o, out);
	if (!want || !o->max_services || !o->udp_flows || !o->max_skip)
		return -EINVAL;
	if (o->cgroup) {
		snprintf(cgpath, sizeof(cgpath), "%s", o->cgroup);
	} else {
		ret = default_cgroup(cgpath, sizeof(cgpath));
		if (ret) {
			pr_err("no kubepods cgroup under the cgroup2 mount: %s", strerror(-ret));
			return ret;
		}
	}
	lb = calloc(1, sizeof(*lb));
	if (!lb)
		return -ENOMEM;
	lb->services_fd = -1;
	lb->skip_fd = -1;
	lb->conf_fd = -1;
	libbpf_set_print(ebpf_libbpf_print);
	cgfd = open(cgpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgfd < 0) {
		ret = -errno;
		pr_err("cgroup %s: %s", cgpath, strerror(-ret));
		goto out_free;
	}
	if (o->pin_dir && o->pin_dir[0]) {
		snprintf(lb->dir, sizeof(lb->dir), "%s/%s", o->pin_dir, EBPF_LB_PIN_LAYOUT);
		ret = pin_dir_prepare(o->pin_dir, lb->dir);
		if (ret) {
			pr_err("pin directory %s: %s", lb->dir, strerror(-ret));
			goto out_free;
		}
	}
	ret = -EOPNOTSUPP;
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		unsigned int feats = want & ~drop[i];

		if (!feats || (i && feats == want))
			continue;
		ret = skel_load(lb, o, feats);
		if (!ret) {
			lb->features = feats;
			break;
		}
		if (lb->pins_mismatch)
			break;
	}
	if (ret) {
		pr_err("loading the socket load balancer failed: %s", strerror(-ret));
		goto out_free;
	}
	for (size_t g = 0; g < NGROUPS; g++) {
		if (!(want & groups[g].feat))
			continue;
		if (!(lb->features & groups[g].feat)) {
			pr_warn("socket load balancer: %s programs refused by the kernel at load: continuing without them",
				groups[g].what);
			links_drop(lb, groups[g].first, groups[g].last);
			continue;
		}
		ret = 0;
		for (int i = groups[g].first; i <= groups[g].last && !ret; i++)
			ret = link_attach(lb, i, cgfd);
		if (ret) {
			pr_warn("socket load balancer: attaching the %s programs at %s failed: %s: continuing without them",
				groups[g].what, cgpath, strerror(-ret));
			links_drop(lb, groups[g].first, groups[g].last);
			lb->features &= ~groups[g].feat;
		}
	}
	/* groups not wanted now: an earlier open's links go */
	for (size_t g = 0; g < NGROUPS; g++)
		if (!(want & groups[g].feat))
			links_drop(lb, groups[g].first, groups[g].last);
	close(cgfd);
	cgfd = -1;
	if (!lb->features) {
		ret = -EOPNOTSUPP;
		goto out_close;
	}
	snprintf(lb->cgroup, sizeof(lb->cgroup), "%s", cgpath);
	lb->services_fd = bpf_map__fd(lb->skel->maps.sb_services);
	lb->skip_fd = bpf_map__fd(lb->skel->maps.sb_skip);
	lb->conf_fd = bpf_map__fd(lb->skel->maps.sb_conf);
	*out = lb;
	return 0;
out_close:
	ebpf_lb_close(lb);
	return ret;
out_free:
	if (cgfd >= 0)
		close(cgfd);
	free(lb);
	return ret;
}

void ebpf_lb_close(struct ebpf_lb *lb)
{
	if (!lb)
		return;
	/* pinned links stay attached: closing our fd does not detach them */
	for (int i = 0; i < L_NR; i++)
		bpf_link__destroy(lb->links[i]);
	sockbal_bpf__destroy(lb->skel);
	if (lb->readonly && lb->services_fd >= 0)
		close(lb->services_fd);
	if (lb->readonly && lb->skip_fd >= 0)
		close(lb->skip_fd);
	free(lb);
}

unsigned int ebpf_lb_features(const struct ebpf_lb *lb)
{
	return lb->features;
}

const char *ebpf_lb_cgroup(const struct ebpf_lb *lb)
{
	return lb->cgroup;
}

static int vip_key(const struct ebpf_lb_vip *v, struct sockbal_vip *k)
{
	if (v->proto != IPPROTO_TCP && v->proto != IPPROTO_UDP)
		return -EINVAL;
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, v->addr.ip, sizeof(k->addr));
	k->port = htons(v->addr.port);
	k->proto = v->proto;
	return 0;
}

/* the generation map of @k now: an fd, or -ENOENT */
static int gen_fd(struct ebpf_lb *lb, const struct sockbal_vip *k)
{
	__u32 id;
	int fd;

	if (bpf_map_lookup_elem(lb->services_fd, k, &id))
		return -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static int gen_header(int fd, struct sockbal_hdr *h)
{
	union sockbal_row row;
	__u32 key = 0;

	if (bpf_map_lookup_elem(fd, &key, &row))
		return -errno;
	if (row.hdr.magic != SOCKBAL_MAGIC)
		return -EIO;
	*h = row.hdr;
	return 0;
}

/* a new generation holding @t: its fd (frozen), or -errno */
static int gen_create(const struct ebpf_maglev *t, unsigned int flags, uint64_t gen)
{
	LIBBPF_OPTS(bpf_map_create_opts, mo, .map_flags = BPF_F_INNER_MAP);
	__u32 nbrows = (t->n + SOCKBAL_ROW_BACKENDS - 1) / SOCKBAL_ROW_BACKENDS;
	__u32 nsrows = (t->m + SOCKBAL_ROW_SLOTS - 1) / SOCKBAL_ROW_SLOTS;
	__u32 rows = 1 + nbrows + nsrows;
	union sockbal_row *r;
	__u32 *keys;
	int fd, ret;

	r = calloc(rows, sizeof(*r));
	keys = calloc(rows, sizeof(*keys));
	if (!r || !keys) {
		ret = -ENOMEM;
		goto out_free;
	}
	r[0].hdr.magic = SOCKBAL_MAGIC;
	r[0].hdr.m = t->m;
	r[0].hdr.n = t->n;
	r[0].hdr.slot_row = 1 + nbrows;
	r[0].hdr.flags = flags;
	r[0].hdr.gen = gen;
	for (__u32 i = 0; i < t->n; i++) {
		struct sockbal_backend *b =
			&r[1 + i / SOCKBAL_ROW_BACKENDS].be[i % SOCKBAL_ROW_BACKENDS];

		memcpy(b->addr, t->be[i].addr.ip, sizeof(b->addr));
		b->port = htons(t->be[i].addr.port);
		b->weight = t->be[i].weight;
	}
	for (__u32 s = 0; s < t->m; s++)
		r[1 + nbrows + s / SOCKBAL_ROW_SLOTS].slot[s % SOCKBAL_ROW_SLOTS] = t->slot[s];
	for (__u32 i = 0; i < rows; i++)
		keys[i] = i;
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, "sb_gen", sizeof(__u32), sizeof(*r), rows, &mo);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	ret = bpf_map_update_batch(fd, keys, r, &rows, NULL);
	if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -524 /* ENOTSUPP */) {
		/* batch ops on arrays: 5.6 and later */
		ret = 0;
		for (__u32 i = 0; i < rows && !ret; i++)
			if (bpf_map_update_elem(fd, &keys[i], &r[i], BPF_ANY))
				ret = -errno;
	}
	/* a generation never changes once in use: frozen, the syscall side cannot write it */
	if (!ret && bpf_map_freeze(fd))
		ret = -errno;
	if (ret) {
		close(fd);
		goto out_free;
	}
	ret = fd;
out_free:
	free(keys);
	free(r);
	return ret;
}

int ebpf_lb_service_set(struct ebpf_lb *lb, const struct ebpf_lb_service *svc)
{
	struct sockbal_vip k;
	struct sockbal_hdr old = {0};
	struct ebpf_maglev *t = NULL;
	bool v4 = ebpf_lb_addr_is_v4(&svc->vip.addr);
	char vs[64];
	int fd, ret;

	if (lb->readonly)
		return -EROFS;
	if (!(lb->features & EBPF_LB_FEAT_CONNECT))
		return -EOPNOTSUPP;
	ret = vip_key(&svc->vip, &k);
	if (ret)
		return ret;
	for (size_t i = 0; i < svc->n; i++)
		if (ebpf_lb_addr_is_v4(&svc->be[i].addr) != v4)
			return -EINVAL; /* connect4 cannot reach an IPv6 backend, nor the reverse */
	/* the size in use and the generation count go on from the current generation */
	fd = gen_fd(lb, &k);
	if (fd >= 0) {
		ret = gen_header(fd, &old);
		close(fd);
		if (ret)
			memset(&old, 0, sizeof(old));
	}
	ret = ebpf_maglev_build(svc->be, svc->n, svc->affinity == EBPF_LB_AFFINITY_CLIENT, old.m,
				&t);
	if (ret)
		return ret;
	fd = gen_create(t, svc->affinity == EBPF_LB_AFFINITY_CLIENT ? SOCKBAL_F_AFFINITY : 0,
			old.gen + 1);
	ebpf_maglev_free(t);
	if (fd < 0) {
		ret = fd;
		goto out_log;
	}
	/* the swap; returns after an RCU grace period for map-in-map (maybe_wait_bpf_programs) */
	ret = bpf_map_update_elem(lb->services_fd, &k, &fd, BPF_ANY) ? -errno : 0;
	if (ret == -E2BIG)
		ret = -ENOSPC;
	close(fd);
out_log:
	if (ret) {
		ebpf_lb_addr_format(&svc->vip.addr, vs, sizeof(vs));
		pr_err("socket load balancer: service %s/%s: %s", vs,
		       svc->vip.proto == IPPROTO_TCP ? "tcp" : "udp", strerror(-ret));
	}
	return ret;
}

int ebpf_lb_service_remove(struct ebpf_lb *lb, const struct ebpf_lb_vip *vip)
{
	struct sockbal_vip k;
	int ret;

	if (lb->readonly)
		return -EROFS;
	ret = vip_key(vip, &k);
	if (ret)
		return ret;
	return bpf_map_delete_elem(lb->services_fd, &k) ? -errno : 0;
}

int ebpf_lb_service_get(struct ebpf_lb *lb, const struct ebpf_lb_vip *vip, struct ebpf_maglev **out,
			uint64_t *gen)
{
	struct sockbal_hdr h = {0};
	struct sockbal_vip k;
	struct ebpf_maglev *t;
	union sockbal_row row;
	int fd, ret;

	ret = vip_key(vip, &k);
	if (ret)
		return ret;
	fd = gen_fd(lb, &k);
	if (fd < 0)
		return fd;
	ret = gen_header(fd, &h);
	if (ret)
		goto out_close;
	if (h.n > SOCKBAL_MAX_BACKENDS || h.m > SOCKBAL_MAX_SLOTS) {
		ret = -EIO;
		goto out_close;
	}
	t = calloc(1, sizeof(*t));
	if (!t) {
		ret = -ENOMEM;
		goto out_close;
	}
	t->m = h.m;
	t->n = h.n;
	t->be = calloc(h.n ? h.n : 1, sizeof(*t->be));
	t->slot = calloc(h.m ? h.m : 1, sizeof(*t->slot));
	if (!t->be || !t->slot) {
		ret = -ENOMEM;
		goto out_free;
	}
	for (__u32 i = 0; i < h.n; i++) {
		__u32 key = 1 + i / SOCKBAL_ROW_BACKENDS;
		const struct sockbal_backend *b = &row.be[i % SOCKBAL_ROW_BACKENDS];

		if (bpf_map_lookup_elem(fd, &key, &row)) {
			ret = -errno;
			goto out_free;
		}
		memcpy(t->be[i].addr.ip, b->addr, sizeof(b->addr));
		t->be[i].addr.port = ntohs(b->port);
		t->be[i].weight = b->weight;
	}
	for (__u32 s = 0; s < h.m; s++) {
		__u32 key = h.slot_row + s / SOCKBAL_ROW_SLOTS;

		if (s % SOCKBAL_ROW_SLOTS == 0 && bpf_map_lookup_elem(fd, &key, &row)) {
			ret = -errno;
			goto out_free;
		}
		t->slot[s] = row.slot[s % SOCKBAL_ROW_SLOTS];
		if (t->slot[s] >= h.n) {
			ret = -EIO;
			goto out_free;
		}
	}
	if (gen)
		*gen = h.gen;
	close(fd);
	*out = t;
	return 0;
out_free:
	ebpf_maglev_free(t);
out_close:
	close(fd);
	return ret;
}

int ebpf_lb_service_list(struct ebpf_lb *lb, struct ebpf_lb_vip **out, size_t *n)
{
	struct sockbal_vip k, next, *prev = NULL;
	struct ebpf_lb_vip *v = NULL, *nv;
	size_t len = 0, cap = 0;
	int ret = 0;

	while (!bpf_map_get_next_key(lb->services_fd, prev, &next)) {
		if (len == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				ret = -ENOMEM;
				goto out_free;
			}
			v = nv;
		}
		memset(&v[len], 0, sizeof(v[len]));
		memcpy(v[len].addr.ip, next.addr, sizeof(next.addr));
		v[len].addr.port = ntohs(next.port);
		v[len].proto = next.proto;
		len++;
		k = next;
		prev = &k;
	}
	if (errno != ENOENT) {
		ret = -errno;
		goto out_free;
	}
	*out = v;
	*n = len;
	return 0;
out_free:
	free(v);
	return ret;
}

int ebpf_lb_cgroup_id(const char *path, uint64_t *id)
{
	struct stat st;

	/* a cgroup2 directory's inode number is its cgroup id (kernfs, 64-bit) */
	if (!fs_is(path, CGROUP2_SUPER_MAGIC))
		return access(path, F_OK) ? -errno : -EINVAL;
	if (stat(path, &st))
		return -errno;
	if (!S_ISDIR(st.st_mode))
		return -EINVAL;
	*id = (uint64_t)st.st_ino;
	return 0;
}

/* sb_conf's skip_any: whether the programs walk the cgroup tree at all */
static int skip_any_set(struct ebpf_lb *lb, bool any)
{
	struct sockbal_conf c = {.skip_any = any};
	__u32 zero = 0;

	return bpf_map_update_elem(lb->conf_fd, &zero, &c, BPF_ANY) ? -errno : 0;
}

int ebpf_lb_skip_set(struct ebpf_lb *lb, uint64_t cgroup_id, bool skip)
{
	__u64 k = cgroup_id, next;
	__u8 one = 1;
	int ret;

	if (lb->readonly)
		return -EROFS;
	if (skip) {
		/* the flag first: a connect that sees the entry must also walk */
		ret = skip_any_set(lb, true);
		if (!ret)
			ret = bpf_map_update_elem(lb->skip_fd, &k, &one, BPF_ANY) ? -errno : 0;
		return ret == -E2BIG ? -ENOSPC : ret;
	}
	ret = bpf_map_delete_elem(lb->skip_fd, &k) ? -errno : 0;
	/* the last one gone: no walk any more (one writer: the agent) */
	if (!ret && bpf_map_get_next_key(lb->skip_fd, NULL, &next) && errno == ENOENT)
		ret = skip_any_set(lb, false);
	return ret;
}

int ebpf_lb_skip_list(struct ebpf_lb *lb, uint64_t **out, size_t *n)
{
	__u64 k, next, *prev = NULL;
	uint64_t *v = NULL, *nv;
	size_t len = 0, cap = 0;

	*out = NULL;
	*n = 0;
	if (lb->skip_fd < 0)
		return 0;
	while (!bpf_map_get_next_key(lb->skip_fd, prev, &next)) {
		if (len == cap) {
			cap = cap ? 2 * cap : 16;
			nv = realloc(v, cap * sizeof(*v));
			if (!nv) {
				free(v);
				return -ENOMEM;
			}
			v = nv;
		}
		v[len++] = next;
		k = next;
		prev = &k;
	}
	if (errno != ENOENT) {
		int ret = -errno;

		free(v);
		return ret;
	}
	*out = v;
	*n = len;
	return 0;
}

static int pins_remove(const char *dir)
{
	char path[PATH_MAX + 64];
	int ret = 0;

	/* links first: the programs stop before their maps go */
	for (int i = 0; i < L_NR; i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, link_names[i]);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	for (size_t i = 0; i < sizeof(map_names) / sizeof(map_names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, map_names[i]);
		if (unlink(path) && errno != ENOENT && !ret)
			ret = -errno;
	}
	if (rmdir(dir) && errno != ENOENT && !ret)
		ret = -errno;
	return ret;
}

int ebpf_lb_detach(struct ebpf_lb *lb)
{
	int ret = 0;

	if (lb->readonly)
		return -EROFS;
	for (int i = 0; i < L_NR; i++) {
		/* a pinned link is detached explicitly: another process may hold it open */
		if (lb->links[i] && bpf_link__detach(lb->links[i]) && !ret)
			ret = -errno;
		bpf_link__destroy(lb->links[i]);
		lb->links[i] = NULL;
	}
	lb->features = 0;
	if (lb->dir[0]) {
		int r = pins_remove(lb->dir);

		if (!ret)
			ret = r;
	}
	return ret;
}

int ebpf_lb_pins_remove(const char *pin_dir)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	int ret;

	snprintf(dir, sizeof(dir), "%s/%s", pin_dir, EBPF_LB_PIN_LAYOUT);
	for (int i = 0; i < L_NR; i++) {
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, link_names[i]);
		fd = bpf_obj_get(path);
		if (fd < 0)
			continue;
		bpf_link_detach(fd); /* detach even if someone holds the link open */
		close(fd);
	}
	ret = pins_remove(dir);
	/* the parent only if it is empty now (the metrics agent may pin there too) */
	if (rmdir(pin_dir) && errno != ENOENT && errno != ENOTEMPTY && errno != EEXIST && !ret)
		ret = -errno;
	return ret;
}
