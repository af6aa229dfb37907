// SPDX-License-Identifier: MIT
/*
 * k8s/kind_csinode.c - CSINodes (storage.k8s.io/v1): how many volumes of a
 * driver a node may attach, which bounds the transfers it runs at once.
 */
#include <errno.h>
#include <string.h>

#include "k8s_int.h"

const struct k8s_resource k8s_csinodes =
	K8S_RESOURCE("storage.k8s.io", "v1", "csinodes", "CSINode", false);

int k8s_csinode_allocatable(const struct k8s_obj *csinode, const char *driver, int64_t *count)
{
	for (const struct k8s_obj *d = k8s_obj_first(k8s_obj_at(csinode, "/spec/drivers")); d;
	     d = k8s_obj_next(d)) {
		const char *n = k8s_obj_str(d, "/name");

		if (n && driver && !strcmp(n, driver))
			return k8s_obj_int(d, "/allocatable/count", count) ? -ENOENT : 0;
	}
	return -ENOENT;
}
