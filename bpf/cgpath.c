// SPDX-License-Identifier: MIT
/*
 * bpf/cgpath.c - cgroup v2 paths to pods and containers; the cgroup tree walk.
 *
 * kubelet lays pods out in one of two ways (pkg/kubelet/cm/cgroup_manager_linux.go):
 *
 *   cgroupfs: /kubepods[/burstable|/besteffort]/pod<uid>/<container id>
 *   systemd:  /kubepods.slice[/kubepods-burstable.slice]/kubepods[-burstable]-pod<uid_>.slice/
 *             <runtime>-<container id>.scope
 *
 * where the systemd form spells the UID's dashes as underscores and the
 * runtime prefix is cri-containerd, docker, crio (and crio-conmon for CRI-O's
 * monitor, which is pod overhead, not a container). kubelet's --cgroup-root
 * may put anything before the kubepods component ("kubelet-kubepods.slice"
 * under kind), so the parser looks for it anywhere. The paths come from the
 * file system, i.e. from whoever can make cgroups: every byte is checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ebpf_int.h"

#define CG_MAX_DEPTH 32

static bool cg_has_suffix(const char *s, size_t len, const char *suf)
{
	size_t l = strlen(suf);

	return len >= l && !memcmp(s + len - l, suf, l);
}

static bool cg_is_qos(const char *s, size_t len)
{
	return (len == 9 && !memcmp(s, "burstable", 9)) ||
	       (len == 10 && !memcmp(s, "besteffort", 10));
}

/* A pod UID: 36-char UUID, or a static pod's 32 hex digits; '_' reads as '-'. */
static bool cg_uid_copy(char *dst, size_t cap, const char *s, size_t len)
{
	if (len < 8 || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (c == '_')
			c = '-';
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
			   (c >= 'A' && c <= 'F') || c == '-'))
			return false;
		dst[i] = c;
	}
	dst[len] = '\0';
	return true;
}

static bool cg_id_copy(char *dst, size_t cap, const char *s, size_t len)
{
	if (!len || len >= cap)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      c == '-' || c == '_' || c == '.'))
			return false;
		dst[i] = c;
	}
	dst[len] = '\0';
	return true;
}

/* systemd: "<runtime>-<id>.scope" -> id; cgroupfs: the name is the id */
static bool cg_container(struct ebpf_cgroup_ref *ref, const char *s, size_t len, bool systemd)
{
	static const char *const runtimes[] = {"cri-containerd-", "docker-", "crio-",
					       "containerd-"};

	if (cg_has_suffix(s, len, ".scope")) {
		len -= 6;
		systemd = true;
	} else if (systemd) {
		return false;
	}
	if (len >= 12 && !memcmp(s, "crio-conmon-", 12))
		return false;
	for (size_t i = 0; i < sizeof(runtimes) / sizeof(runtimes[0]); i++) {
		size_t l = strlen(runtimes[i]);

		if (len > l && !memcmp(s, runtimes[i], l)) {
			s += l;
			len -= l;
			break;
		}
	}
	return cg_id_copy(ref->container_id, sizeof(ref->container_id), s, len);
}

static int cg_parse(const char *path, struct ebpf_cgroup_ref *ref)
{
	enum { ST_SEEK, ST_ROOT, ST_POD, ST_CONTAINER } st = ST_SEEK;
	const char *p = path;
	bool systemd = false;

	memset(ref, 0, sizeof(*ref));
	while (*p) {
		const char *c;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		c = p;
		while (*p && *p != '/')
			p++;
		len = (size_t)(p - c);
		switch (st) {
		case ST_SEEK:
			if (len == 8 && !memcmp(c, "kubepods", 8)) {
				st = ST_ROOT;
			} else if (cg_has_suffix(c, len, "kubepods.slice")) {
				st = ST_ROOT;
				systemd = true;
			}
			break;
		case ST_ROOT:
			if (systemd) {
				const char *dash;
				size_t nlen;

				if (!cg_has_suffix(c, len, ".slice"))
					return -EINVAL;
				nlen = len - 6;
				dash = memrchr(c, '-', nlen);
				if (!dash)
					return -EINVAL;
				dash++;
				nlen -= (size_t)(dash - c);
				if (cg_is_qos(dash, nlen)) {
					memcpy(ref->qos, dash, nlen);
					ref->qos[nlen] = '\0';
					break;
				}
				if (nlen < 3 || memcmp(dash, "pod", 3))
					return -EINVAL;
				if (!cg_uid_copy(ref->pod_uid, sizeof(ref->pod_uid), dash + 3,
						 nlen - 3))
					return -EINVAL;
			} else {
				if (cg_is_qos(c, len) && !ref->qos[0]) {
					memcpy(ref->qos, c, len);
					ref->qos[len] = '\0';
					break;
				}
				if (len < 3 || memcmp(c, "pod", 3))
					return -EINVAL;
				if (!cg_uid_copy(ref->pod_uid, sizeof(ref->pod_uid), c + 3,
						 len - 3))
					return -EINVAL;
			}
			if (!ref->qos[0])
				memcpy(ref->qos, "guaranteed", sizeof("guaranteed"));
			ref->kind = EBPF_KIND_POD;
			ref->is_leaf = true;
			st = ST_POD;
			break;
		case ST_POD:
			ref->is_leaf = false;
			if (cg_container(ref, c, len, systemd)) {
				ref->kind = EBPF_KIND_CONTAINER;
				ref->is_leaf = true;
				st = ST_CONTAINER;
			} else {
				ref->container_id[0] = '\0';
				st = ST_CONTAINER + 1; /* pod overhead (conmon, ...) */
			}
			break;
		default:
			ref->is_leaf = false;
			break;
		}
	}
	if (st == ST_ROOT) {
		/* kubepods itself or a QoS level: node-level, not a pod */
		memset(ref, 0, sizeof(*ref));
	}
	return 0;
}

int ebpf_cgroup_parse(const char *path, struct ebpf_cgroup_ref *ref)
{
	int ret = cg_parse(path, ref);

	if (ret)
		memset(ref, 0, sizeof(*ref));
	return ret;
}

/* does the comma-separated list [@s, @end) hold @tok? */
static bool mi_has_opt(const char *s, const char *end, const char *tok)
{
	size_t l = strlen(tok);

	while (s < end) {
		const char *c = memchr(s, ',', (size_t)(end - s));
		const char *e = c ? c : end;

		if ((size_t)(e - s) == l && !memcmp(s, tok, l))
			return true;
		s = e + 1;
	}
	return false;
}

/*
 * The mount point of the first mount of @fstype ("cgroup2", or "cgroup" with
 * the super option @opt) in @mountinfo, unescaped into @buf.
 */
static int mi_find(const char *mountinfo, const char *fstype, const char *opt, char *buf,
		   size_t len)
{
	const char *line = mountinfo;
	size_t flen = strlen(fstype);

	while (line && *line) {
		const char *nl = strchr(line, '\n');
		const char *end = nl ? nl : line + strlen(line);
		const char *sep = NULL, *mnt = NULL, *mnt_end = NULL;
		int field = 0;

		/* "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SRC SUPER" */
		for (const char *q = line; q < end && !sep; q++) {
			if (*q != ' ')
				continue;
			field++;
			if (field == 4)
				mnt = q + 1;
			else if (field == 5)
				mnt_end = q;
			if (q + 2 < end && q[1] == '-' && q[2] == ' ' && field >= 6)
				sep = q + 3;
		}
		if (sep && mnt && mnt_end && (size_t)(end - sep) > flen &&
		    !memcmp(sep, fstype, flen) && sep[flen] == ' ') {
			const char *super = NULL;

			if (opt) {
				/* SRC, then the super options */
				const char *src = sep + flen + 1;
				const char *sp = memchr(src, ' ', (size_t)(end - src));

				super = sp ? sp + 1 : NULL;
			}
			if (!opt || (super && mi_has_opt(super, end, opt))) {
				size_t o = 0;
				bool nul = false;

				for (const char *q = mnt; q < mnt_end && !nul; q++) {
					char ch = *q;

					/* mountinfo escapes space, tab, newline and backslash as \ooo */
					if (ch == '\\' && mnt_end - q >= 4 && q[1] >= '0' &&
					    q[1] <= '3' && q[2] >= '0' && q[2] <= '7' &&
					    q[3] >= '0' && q[3] <= '7') {
						ch = (char)((q[1] - '0') * 64 + (q[2] - '0') * 8 +
							    (q[3] - '0'));
						q += 3;
					}
					nul = !ch; /* "\000": never the kernel's, no path */
					if (o + 1 >= len)
						return -ENAMETOOLONG;
					buf[o++] = ch;
				}
				if (o && !nul) {
					buf[o] = '\0';
					return 0;
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	return -ENOENT;
}

int ebpf_cgroup2_mount(const char *mountinfo, char *buf, size_t len)
{
	return mi_find(mountinfo, "cgroup2", NULL, buf, len);
}

int ebpf_cgroup1_mount(const char *mountinfo, const char *controller, char *buf, size_t len)
{
	return mi_find(mountinfo, "cgroup", controller, buf, len);
}

/* a decimal uint64 in [s, e): the whole of it */
static bool cs_u64(const char *s, const char *e, uint64_t *out)
{
	uint64_t v = 0;

	if (s == e)
		return false;
	for (; s < e; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return true;
}

/*
 * The next "key value" line of a cgroup file in [*p, end) (empty lines
 * skipped); *p moves past it. Return: 1 with @key, @kl and @v; 0 at the end;
 * -EINVAL (no value, or one that is not a decimal number).
 */
static int kv_next(const char **p, const char *end, const char **key, size_t *kl, uint64_t *v)
{
	while (*p < end) {
		const char *nl = memchr(*p, '\n', (size_t)(end - *p));
		const char *le = nl ? nl : end;
		const char *sp = memchr(*p, ' ', (size_t)(le - *p));
		const char *k = *p;

		*p = nl ? nl + 1 : end;
		if (le == k)
			continue;
		if (!sp || !cs_u64(sp + 1, le, v))
			return -EINVAL;
		*key = k;
		*kl = (size_t)(sp - k);
		return 1;
	}
	return 0;
}

int ebpf_cpu_stat_parse(const char *buf, size_t len, struct ebpf_counters *c)
{
	enum { K_PERIODS = 1, K_THROTTLED = 2, K_TIME = 4, K_ALL = 7 };
	const char *p = buf, *end = buf + len, *key;
	uint64_t periods = 0, throttled = 0, ns = 0, v;
	unsigned int seen = 0;
	size_t kl;
	int r;

	while ((r = kv_next(&p, end, &key, &kl, &v)) > 0) {
		if (kl == 10 && !memcmp(key, "nr_periods", kl)) {
			periods = v;
			seen |= K_PERIODS;
		} else if (kl == 12 && !memcmp(key, "nr_throttled", kl)) {
			throttled = v;
			seen |= K_THROTTLED;
		} else if (kl == 14 && !memcmp(key, "throttled_usec", kl)) {
			if (v > UINT64_MAX / 1000)
				return -EINVAL;
			ns = v * 1000;
			seen |= K_TIME;
		} else if (kl == 14 && !memcmp(key, "throttled_time", kl)) {
			ns = v;
			seen |= K_TIME;
		}
	}
	if (r < 0)
		return r;
	if (!seen)
		return -ENOENT;
	if (seen != K_ALL)
		return -EINVAL;
	c->has_cfs = true;
	c->cfs_periods = periods;
	c->cfs_throttled_periods = throttled;
	c->cfs_throttled_ns = ns;
	return 0;
}

int ebpf_memory_parse(const char *usage, size_t ulen, const char *stat, size_t slen,
		      struct ebpf_counters *c)
{
	const char *p = stat, *end = stat + slen, *ue = usage + ulen, *key;
	uint64_t used, inactive = 0, total_inactive = 0, v;
	bool seen = false, seen_total = false;
	size_t kl;
	int r;

	while (ue > usage && (ue[-1] == '\n' || ue[-1] == ' '))
		ue--;
	if (!cs_u64(usage, ue, &used))
		return -EINVAL;
	while ((r = kv_next(&p, end, &key, &kl, &v)) > 0) {
		if (kl == 13 && !memcmp(key, "inactive_file", kl)) {
			inactive = v;
			seen = true;
		} else if (kl == 19 && !memcmp(key, "total_inactive_file", kl)) {
			total_inactive = v;
			seen_total = true;
		}
	}
	if (r < 0 || (!seen && !seen_total))
		return -EINVAL;
	if (seen_total)
		inactive = total_inactive; /* v1: the hierarchy's, as usage_in_bytes is */
	c->has_mem = true;
	c->mem_working_set = used > inactive ? used - inactive : 0;
	return 0;
}

struct cg_walk {
	struct ebpf_cg *v;
	size_t n, cap;
	char path[4096];
	size_t root_len;
};

static int cg_walk_add(struct cg_walk *w, uint64_t id)
{
	struct ebpf_cg *cg;

	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		struct ebpf_cg *v = realloc(w->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		w->v = v;
		w->cap = cap;
	}
	cg = &w->v[w->n++];
	cg->id = id;
	cg->path = NULL;
	/* a malformed kubepods name is simply not a pod */
	if (ebpf_cgroup_parse(w->path + w->root_len, &cg->ref))
		memset(&cg->ref, 0, sizeof(cg->ref));
	if (cg->ref.kind != EBPF_KIND_NONE && cg->ref.is_leaf) {
		cg->path = strdup(w->path + w->root_len);
		if (!cg->path)
			return -ENOMEM;
	}
	return 0;
}

/* @dfd: open directory of w->path (consumed) */
static int cg_walk_dir(struct cg_walk *w, int dfd, int depth)
{
	size_t len = strlen(w->path);
	struct dirent *de;
	DIR *d;
	int ret = 0;

	d = fdopendir(dfd);
	if (!d) {
		ret = -errno;
		close(dfd);
		return ret;
	}
	while ((de = readdir(d))) {
		struct stat st;
		int cfd;

		if (de->d_type != DT_DIR || de->d_name[0] == '.')
			continue;
		if (len + 1 + strlen(de->d_name) >= sizeof(w->path))
			continue;
		cfd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (cfd < 0)
			continue; /* removed meanwhile */
		if (fstat(cfd, &st)) {
			close(cfd);
			continue;
		}
		w->path[len] = '/';
		memcpy(w->path + len + 1, de->d_name, strlen(de->d_name) + 1);
		ret = cg_walk_add(w, (uint64_t)st.st_ino);
		if (!ret && depth < CG_MAX_DEPTH)
			ret = cg_walk_dir(w, cfd, depth + 1);
		else
			close(cfd);
		w->path[len] = '\0';
		if (ret)
			break;
	}
	closedir(d);
	return ret;
}

static int cg_cmp(const void *a, const void *b)
{
	const struct ebpf_cg *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

ssize_t ebpf_cgtree_walk(const char *root, struct ebpf_cg **out)
{
	struct cg_walk *w;
	struct stat st;
	ssize_t ret;
	int fd;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		goto out_free;
	}
	if (fstat(fd, &st)) {
		ret = -errno;
		close(fd);
		goto out_free;
	}
	/* paths are kept relative to the root: "" for the root, "/a/b" below */
	w->root_len = 0;
	w->path[0] = '\0';
	ret = cg_walk_add(w, (uint64_t)st.st_ino);
	if (!ret)
		ret = cg_walk_dir(w, fd, 0);
	else
		close(fd);
	if (ret)
		goto out_free;
	qsort(w->v, w->n, sizeof(*w->v), cg_cmp);
	*out = w->v;
	ret = (ssize_t)w->n;
	free(w);
	return ret;
out_free:
	ebpf_cgtree_free(w->v, w->n);
	free(w);
	return ret;
}

void ebpf_cgtree_free(struct ebpf_cg *cg, size_t n)
{
	if (!cg)
		return;
	for (size_t i = 0; i < n; i++)
		free(cg[i].path);
	free(cg);
}

const struct ebpf_cg *ebpf_cgtree_find(const struct ebpf_cg *cg, size_t n, uint64_t id)
{
	struct ebpf_cg key = {.id = id};

	return n ? bsearch(&key, cg, n, sizeof(*cg), cg_cmp) : NULL;
}
