// SPDX-License-Identifier: MIT
/*
 * tests/fuzz/fuzz_cgroup_path.c - cgroup paths and mountinfo text are
 * outside data (whoever can make cgroups or mounts chooses them):
 * ebpf_cgroup_parse(), ebpf_cgroup2_mount() and ebpf_cgroup1_mount() must
 * take any bytes, and what they return must be NUL-terminated, within
 * bounds and consistent. ebpf_cpu_stat_parse() (a cgroup's cpu.stat) takes
 * the same bytes without a terminating NUL: 0 with has_cfs, or -ENOENT /
 * -EINVAL leaving the counters as they were; ebpf_memory_parse() (memory
 * files) the same, 0 with has_mem or -EINVAL.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bpf/ebpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ebpf_cgroup_ref r;
	char *s, mnt[256];
	int ret;

	s = malloc(size + 1);
	if (!s)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	ret = ebpf_cgroup_parse(s, &r);
	assert(ret == 0 || ret == -22);
	assert(memchr(r.pod_uid, 0, sizeof(r.pod_uid)));
	assert(memchr(r.container_id, 0, sizeof(r.container_id)));
	assert(memchr(r.qos, 0, sizeof(r.qos)));
	if (ret || r.kind == EBPF_KIND_NONE)
		assert(!r.pod_uid[0] && !r.container_id[0] && !r.qos[0] && !r.is_leaf);
	if (r.kind == EBPF_KIND_CONTAINER)
		assert(r.container_id[0] && r.pod_uid[0]);
	if (r.kind == EBPF_KIND_POD)
		assert(r.pod_uid[0] && !r.container_id[0]);
	ret = ebpf_cgroup2_mount(s, mnt, sizeof(mnt));
	assert(ret == 0 || ret == -2 || ret == -36);
	if (!ret)
		assert(memchr(mnt, 0, sizeof(mnt)) && mnt[0]);
	ret = ebpf_cgroup1_mount(s, "cpu", mnt, sizeof(mnt));
	assert(ret == 0 || ret == -2 || ret == -36);
	if (!ret)
		assert(memchr(mnt, 0, sizeof(mnt)) && mnt[0]);
	free(s);

	/* cpu.stat: the exact bytes (a copy of just @size, so ASan sees any overread) */
	{
		struct ebpf_counters c, was;
		char *b = malloc(size ? size : 1);

		if (!b)
			return 0;
		memcpy(b, data, size);
		memset(&c, 0, sizeof(c));
		c.cfs_periods = 7;
		was = c;
		ret = ebpf_cpu_stat_parse(b, size, &c);
		assert(ret == 0 || ret == -2 || ret == -22);
		if (ret)
			assert(!memcmp(&c, &was, sizeof(c)));
		else
			assert(c.has_cfs);
		/* the same bytes as memory.stat, and their first line as the usage */
		memset(&c, 0, sizeof(c));
		c.cpu_ns = 5;
		was = c;
		{
			const char *nl = memchr(b, '\n', size);
			size_t ul = nl ? (size_t)(nl - b) : size;

			ret = ebpf_memory_parse(b, ul, b, size, &c);
		}
		assert(ret == 0 || ret == -22);
		if (ret)
			assert(!memcmp(&c, &was, sizeof(c)));
		else
			assert(c.has_mem && c.cpu_ns == 5);
		free(b);
	}
	return 0;
}
