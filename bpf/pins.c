// SPDX-License-Identifier: MIT
/*
 * bpf/pins.c - the maps of an object pinned under a directory, for the
 * agent's programs (loader.c) and the socket balancer's (sockbal.c) alike.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ebpf_int.h"

/*
 * A pinned map must be the one this object describes (type, key, value,
 * entries): libbpf would refuse it less clearly.
 */
static int pin_check(struct bpf_map *map, const char *path, const char *who, const char *fix,
		     bool *mismatch)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int fd, ret = 0;

	fd = bpf_obj_get(path);
	if (fd < 0)
		return 0;
	if (bpf_obj_get_info_by_fd(fd, &info, &len)) {
		ret = -errno;
	} else if (info.type != bpf_map__type(map) || info.key_size != bpf_map__key_size(map) ||
		   info.value_size != bpf_map__value_size(map) ||
		   info.max_entries != bpf_map__max_entries(map)) {
		pr_err("pinned map %s has %u entries of %u bytes, this %s wants %u of %u: %s", path,
		       info.max_entries, info.value_size, who, bpf_map__max_entries(map),
		       bpf_map__value_size(map), fix);
		ret = -EINVAL;
		*mismatch = true;
	}
	close(fd);
	return ret;
}

int ebpf_pin_maps(struct bpf_object *obj, const char *dir, const char *who, const char *fix,
		  bool *mismatch)
{
	struct bpf_map *map;
	int ret;

	bpf_object__for_each_map(map, obj) {
		char path[PATH_MAX];

		if (bpf_map__is_internal(map)) /* .rodata: the loader's knobs, not state */
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, bpf_map__name(map)) >=
		    (int)sizeof(path))
			return -ENAMETOOLONG;
		ret = pin_check(map, path, who, fix, mismatch);
		if (!ret)
			ret = bpf_map__set_pin_path(map, path);
		if (ret)
			return ret;
	}
	return 0;
}
