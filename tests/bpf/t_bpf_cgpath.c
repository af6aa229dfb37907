// SPDX-License-Identifier: MIT
/*
 * tests/bpf/t_bpf_cgpath.c - cgroup paths to pods and containers (kubelet's
 * cgroupfs and systemd layouts, runtimes' scope names, malformed names) and
 * the cgroup2 line of mountinfo.
 */
#include <errno.h>
#include <string.h>

#include "t_helpers.h"
#include "bpf/ebpf.h"

struct want {
	const char *path;
	int ret;
	enum ebpf_kind kind;
	const char *uid, *cid, *qos;
	bool leaf;
};

static const struct want cases[] = {
	/* cgroupfs */
	{"/kubepods/burstable/pod0a1b2c3d-1111-4222-8333-444455556666/0123456789abcdef", 0,
	 EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "0123456789abcdef",
	 "burstable", true},
	{"/kubepods/besteffort/pod0a1b2c3d-1111-4222-8333-444455556666", 0, EBPF_KIND_POD,
	 "0a1b2c3d-1111-4222-8333-444455556666", "", "besteffort", true},
	{"/kubepods/pod0a1b2c3d-1111-4222-8333-444455556666/abc", 0, EBPF_KIND_CONTAINER,
	 "0a1b2c3d-1111-4222-8333-444455556666", "abc", "guaranteed", true},
	{"/kubepods/pod0a1b2c3d-1111-4222-8333-444455556666/abc/nested/deeper", 0,
	 EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "abc", "guaranteed", false},
	{"/kubepods/burstable/pod0a1b2c3d-1111-4222-8333-444455556666/crio-abcdef", 0,
	 EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "abcdef", "burstable", true},
	/* static pod: 32 hex digits */
	{"/kubepods/burstable/pod6e5b1e0c2b0a4fd8bc5d1e8e0f0f3b8e/c1", 0, EBPF_KIND_CONTAINER,
	 "6e5b1e0c2b0a4fd8bc5d1e8e0f0f3b8e", "c1", "burstable", true},
	/* systemd */
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_1111_4222_8333_444455556666.slice/cri-containerd-fedcba98.scope",
	 0, EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "fedcba98", "burstable",
	 true},
	{"/kubepods.slice/kubepods-pod0a1b2c3d_1111_4222_8333_444455556666.slice", 0, EBPF_KIND_POD,
	 "0a1b2c3d-1111-4222-8333-444455556666", "", "guaranteed", true},
	{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod0a1b2c3d_1111_4222_8333_444455556666.slice/docker-0123.scope",
	 0, EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "0123", "besteffort",
	 true},
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_1111_4222_8333_444455556666.slice/crio-99aa.scope",
	 0, EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "99aa", "burstable", true},
	/* CRI-O's monitor is pod overhead, not a container */
	{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0a1b2c3d_1111_4222_8333_444455556666.slice/crio-conmon-99aa.scope",
	 0, EBPF_KIND_POD, "0a1b2c3d-1111-4222-8333-444455556666", "", "burstable", false},
	/* kind: kubelet --cgroup-root=/kubelet under systemd */
	{"/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-besteffort.slice/kubelet-kubepods-besteffort-pod0a1b2c3d_1111_4222_8333_444455556666.slice/cri-containerd-77.scope",
	 0, EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "77", "besteffort", true},
	/* anything before kubepods is ignored */
	{"/system.slice/containerd.service/kubepods/burstable/pod0a1b2c3d-1111-4222-8333-444455556666/x",
	 0, EBPF_KIND_CONTAINER, "0a1b2c3d-1111-4222-8333-444455556666", "x", "burstable", true},
	{"//kubepods//pod0a1b2c3d-1111-4222-8333-444455556666//c//", 0, EBPF_KIND_CONTAINER,
	 "0a1b2c3d-1111-4222-8333-444455556666", "c", "guaranteed", true},
	/* not pods */
	{"", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/system.slice/sshd.service", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods/burstable", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods.slice/kubepods-burstable.slice", 0, EBPF_KIND_NONE, "", "", "", false},
	{"/notkubepods/pod0a1b2c3d-1111-4222-8333-444455556666", 0, EBPF_KIND_NONE, "", "", "",
	 false},
	/* malformed */
	{"/kubepods/podnot-a-uid!", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods/pod", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods/pod1234", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods/burstable/something", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods/pod0a1b2c3d-1111-4222-8333-444455556666-0a1b2c3d-1111-4222-8333", -EINVAL,
	 EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods.slice/kubepods-pod0a1b2c3d.scope", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	{"/kubepods.slice/nodash.slice", -EINVAL, EBPF_KIND_NONE, "", "", "", false},
	/* a container name with characters no runtime uses is not a container */
	{"/kubepods/pod0a1b2c3d-1111-4222-8333-444455556666/a\"b", 0, EBPF_KIND_POD,
	 "0a1b2c3d-1111-4222-8333-444455556666", "", "guaranteed", false},
	{"/kubepods.slice/kubepods-pod0a1b2c3d_1111_4222_8333_444455556666.slice/plain", 0,
	 EBPF_KIND_POD, "0a1b2c3d-1111-4222-8333-444455556666", "", "guaranteed", false},
};

static void check_mountinfo(void)
{
	static const char mi[] =
		"22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/vda rw\n"
		"30 22 0:26 / /sys/fs/cgroup rw shared:9 - tmpfs tmpfs rw,mode=755\n"
		"35 30 0:30 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 cgroup2 rw\n";
	static const char esc[] = "1 0 0:1 / /a\\040b rw - cgroup2 none rw\n";
	static const char none[] = "1 0 0:1 / / rw - ext4 /dev/x rw\n";
	static const char v1[] = "1 0 0:1 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu\n";
	/* "\000" is no path (the kernel never writes it): the next mount counts */
	static const char nul[] = "1 0 0:1 / /a\\000 rw - cgroup2 none rw\n"
				  "2 0 0:2 / /b rw - cgroup2 none rw\n";
	char buf[64];

	T_ASSERT_EQ(ebpf_cgroup2_mount(mi, buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/sys/fs/cgroup/unified"), "got %s", buf);
	T_ASSERT_EQ(ebpf_cgroup2_mount(esc, buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/a b"), "got %s", buf);
	T_ASSERT_EQ(ebpf_cgroup2_mount(none, buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup2_mount(v1, buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup2_mount("", buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup2_mount(mi, buf, 8), -ENAMETOOLONG);
	T_ASSERT_EQ(ebpf_cgroup2_mount(nul, buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/b"), "got %s", buf);
}

/* the v1 hierarchy of a controller: alone or co-mounted, never cpuacct or cpuset for cpu */
static void check_mountinfo_v1(void)
{
	static const char mi[] =
		"30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
		"32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct\n"
		"33 30 0:30 / /sys/fs/cgroup/cpuset rw,relatime - cgroup cgroup rw,cpuset\n"
		"31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
		"40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n";
	static const char co[] = "31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup "
				 "cgroup rw,nosuid,cpu,cpuacct\n";
	static const char v2[] = "40 30 0:37 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,cpu\n";
	static const char trunc[] = "31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup";
	char buf[64];

	T_ASSERT_EQ(ebpf_cgroup1_mount(mi, "cpu", buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/sys/fs/cgroup/cpu"), "got %s", buf);
	T_ASSERT_EQ(ebpf_cgroup1_mount(mi, "cpuacct", buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/sys/fs/cgroup/cpuacct"), "got %s", buf);
	T_ASSERT_EQ(ebpf_cgroup1_mount(co, "cpu", buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/sys/fs/cgroup/cpu,cpuacct"), "got %s", buf);
	T_ASSERT_EQ(ebpf_cgroup1_mount(mi, "memory", buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup1_mount(v2, "cpu", buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup1_mount(trunc, "cpu", buf, sizeof(buf)), -ENOENT);
	T_ASSERT_EQ(ebpf_cgroup1_mount(mi, "cpu", buf, 8), -ENAMETOOLONG);
	/* the v2 lookup still skips the v1 lines */
	T_ASSERT_EQ(ebpf_cgroup2_mount(mi, buf, sizeof(buf)), 0);
	T_ASSERT(!strcmp(buf, "/sys/fs/cgroup/unified"), "got %s", buf);
}

static int stat_of(const char *s, struct ebpf_counters *c)
{
	memset(c, 0, sizeof(*c));
	return ebpf_cpu_stat_parse(s, strlen(s), c);
}

/* cpu.stat: both forms, and what is not one */
static void check_cpu_stat(void)
{
	static const char v1[] = "nr_periods 120\nnr_throttled 96\nthrottled_time 7712345678\n"
				 "nr_bursts 0\nburst_time 0\n";
	static const char v2[] = "usage_usec 5000\nuser_usec 4000\nsystem_usec 1000\n"
				 "core_sched.force_idle_usec 0\nnr_periods 10\nnr_throttled 8\n"
				 "throttled_usec 640001\nnr_bursts 0\nburst_usec 0\n";
	static const char v2_nocpu[] = "usage_usec 51934604000\nuser_usec 29133480000\n"
				       "system_usec 22801124000\nnice_usec 4444252000\n";
	static const char *const bad[] = {
		"nr_periods 1\nnr_throttled 1\n",		      /* no time */
		"nr_periods x\nnr_throttled 1\nthrottled_time 1\n",   /* not a number */
		"nr_periods 1\nnr_throttled -1\nthrottled_time 1\n",  /* negative */
		"nr_periods 1\nnr_throttled 1\nthrottled_time 1 2\n", /* two values */
		"nr_periods\nnr_throttled 1\nthrottled_time 1\n",     /* no value */
		"nr_periods 1\nnr_throttled 1\nthrottled_time \n",    /* empty value */
		"nr_periods 99999999999999999999\nnr_throttled 1\nthrottled_time 1\n",
		"nr_periods 1\nnr_throttled 1\nthrottled_usec 18446744073709552\n", /* ns overflow */
	};
	struct ebpf_counters c;

	T_ASSERT_EQ(stat_of(v1, &c), 0);
	T_ASSERT(c.has_cfs && c.cfs_periods == 120 && c.cfs_throttled_periods == 96 &&
			 c.cfs_throttled_ns == 7712345678ull,
		 "v1: %llu %llu %llu", (unsigned long long)c.cfs_periods,
		 (unsigned long long)c.cfs_throttled_periods,
		 (unsigned long long)c.cfs_throttled_ns);
	T_ASSERT_EQ(stat_of(v2, &c), 0);
	T_ASSERT(c.has_cfs && c.cfs_periods == 10 && c.cfs_throttled_periods == 8 &&
			 c.cfs_throttled_ns == 640001000ull,
		 "v2: throttled_usec in ns %llu", (unsigned long long)c.cfs_throttled_ns);
	c.cpu_ns = 42;
	T_ASSERT_EQ(ebpf_cpu_stat_parse(v2, strlen(v2), &c), 0);
	T_ASSERT(c.cpu_ns == 42, "other fields untouched");
	/* a v2 cgroup without the cpu controller: no CFS fields */
	T_ASSERT_EQ(stat_of(v2_nocpu, &c), -ENOENT);
	T_ASSERT(!c.has_cfs, "no CFS without the fields");
	T_ASSERT_EQ(stat_of("", &c), -ENOENT);
	/* without the last newline (a read cut at the end), and the length respected */
	T_ASSERT_EQ(ebpf_cpu_stat_parse("nr_periods 3\nnr_throttled 2\nthrottled_time 9", 44, &c),
		    0);
	T_ASSERT(c.cfs_throttled_ns == 9, "last line without newline");
	T_ASSERT_EQ(ebpf_cpu_stat_parse("nr_periods 3\nnr_throttled 2\nthrottled_time 99", 44, &c),
		    0);
	T_ASSERT(c.cfs_throttled_ns == 9, "reads only @len bytes: %llu",
		 (unsigned long long)c.cfs_throttled_ns);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		T_ASSERT_EQ(stat_of(bad[i], &c), -EINVAL);
		T_ASSERT(!c.has_cfs, "bad %zu leaves has_cfs", i);
	}
}

static int mem_of(const char *u, const char *st, struct ebpf_counters *c)
{
	memset(c, 0, sizeof(*c));
	return ebpf_memory_parse(u, strlen(u), st, strlen(st), c);
}

/* memory.current/usage_in_bytes and memory.stat: the working set, and what is not one */
static void check_memory(void)
{
	static const char v2[] = "anon 1048576\nfile 8388608\nkernel 65536\n"
				 "active_anon 0\ninactive_anon 1048576\nactive_file 2097152\n"
				 "inactive_file 6291456\nunevictable 0\n";
	/* v1's file of a pod cgroup: its own inactive_file and the hierarchy's total_ one */
	static const char v1[] = "cache 9000000\nrss 4000000\ninactive_file 0\n"
				 "active_file 0\nhierarchical_memory_limit 9223372036854771712\n"
				 "total_cache 9000000\ntotal_rss 4000000\n"
				 "total_inactive_file 5000000\ntotal_active_file 4000000\n";
	static const char *const bad_usage[] = {"",	"\n",	  "x\n",
						"-1\n", "12 3\n", "99999999999999999999\n"};
	static const char *const bad_stat[] = {
		"",			     /* nothing */
		"anon 1\nfile 2\n",	     /* no inactive_file */
		"anon 1\ninactive_file\n",   /* no value */
		"anon x\ninactive_file 3\n", /* not a number */
		"inactive_file -3\n",	     /* negative */
		"inactive_file 3 4\n",	     /* two values */
	};
	struct ebpf_counters c;

	T_ASSERT_EQ(mem_of("16777216\n", v2, &c), 0);
	T_ASSERT(c.has_mem && c.mem_working_set == 16777216 - 6291456, "v2: %llu",
		 (unsigned long long)c.mem_working_set);
	T_ASSERT_EQ(mem_of("13000000\n", v1, &c), 0);
	T_ASSERT(c.has_mem && c.mem_working_set == 8000000, "v1 takes total_inactive_file: %llu",
		 (unsigned long long)c.mem_working_set);
	/* inactive above usage (the two files are read one after the other): 0, not a wrap */
	T_ASSERT_EQ(mem_of("4096", "inactive_file 8192", &c), 0);
	T_ASSERT(c.has_mem && c.mem_working_set == 0, "clamped: %llu",
		 (unsigned long long)c.mem_working_set);
	c.cpu_ns = 42;
	T_ASSERT_EQ(ebpf_memory_parse("100\n", 4, "inactive_file 1\n", 16, &c), 0);
	T_ASSERT(c.cpu_ns == 42 && c.mem_working_set == 99, "other fields untouched");
	/* the lengths are respected (no NUL needed) */
	T_ASSERT_EQ(ebpf_memory_parse("1009", 3, "inactive_file 19", 15, &c), 0);
	T_ASSERT(c.mem_working_set == 99, "reads only the lengths: %llu",
		 (unsigned long long)c.mem_working_set);
	for (size_t i = 0; i < sizeof(bad_usage) / sizeof(bad_usage[0]); i++) {
		T_ASSERT_EQ(mem_of(bad_usage[i], v2, &c), -EINVAL);
		T_ASSERT(!c.has_mem, "bad usage %zu leaves has_mem", i);
	}
	for (size_t i = 0; i < sizeof(bad_stat) / sizeof(bad_stat[0]); i++) {
		T_ASSERT_EQ(mem_of("100\n", bad_stat[i], &c), -EINVAL);
		T_ASSERT(!c.has_mem, "bad stat %zu leaves has_mem", i);
	}
}

int main(void)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct want *w = &cases[i];
		struct ebpf_cgroup_ref r;
		int ret = ebpf_cgroup_parse(w->path, &r);

		T_ASSERT(ret == w->ret, "%s: ret %d", w->path, ret);
		if (ret)
			continue;
		T_ASSERT(r.kind == w->kind, "%s: kind %d", w->path, r.kind);
		T_ASSERT(!strcmp(r.pod_uid, w->uid), "%s: uid %s", w->path, r.pod_uid);
		T_ASSERT(!strcmp(r.container_id, w->cid), "%s: cid %s", w->path, r.container_id);
		T_ASSERT(!strcmp(r.qos, w->qos), "%s: qos %s", w->path, r.qos);
		T_ASSERT(r.is_leaf == w->leaf, "%s: leaf %d", w->path, r.is_leaf);
	}
	check_mountinfo();
	check_mountinfo_v1();
	check_cpu_stat();
	check_memory();
	printf("PASS: %zu paths\n", sizeof(cases) / sizeof(cases[0]));
	return T_EXIT_PASS;
}
