// SPDX-License-Identifier: MIT
/*
 * tests/xfer/t_xfer_units.c - control/xfer's pure helpers: the objects' names
 * and the kubelet's publish path of a block volume (read from the box's
 * kubelet: tests/kbox/kboxd/csi.py), and the refusals of names that would
 * leave that directory.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "control/xfer/xfer.h"

static int failed;

#define CHECK(what, cond)                                                                          \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			printf("FAIL: %s (%s:%d)\n", what, __FILE__, __LINE__);                    \
			failed = 1;                                                                \
		}                                                                                  \
	} while (0)

int main(void)
{
	char name[XFER_NAME_SIZE], path[256], small[16];
	const char *uid = "0f3c9a2e-5b1d-4c3e-9a8b-7c6d5e4f3a2b";

	CHECK("a name from a uid",
	      !xfer_name(uid, name) && !strcmp(name, "ferry-"
						     "0f3c9a2e-5b1d-4c3e-9a8b-7c6d5e4f3a2b"));
	CHECK("no uid: no name",
	      xfer_name(NULL, name) == -EINVAL && xfer_name("", name) == -EINVAL);
	CHECK("a uid too long for a name",
	      xfer_name("0123456789012345678901234567890123456789012345678901234567890", name) ==
		      -EINVAL);
	CHECK("the publish path of a block volume",
	      !xfer_device_path(NULL, "pvc-1", "uid-1", path, sizeof(path)) &&
		      !strcmp(path,
			      "/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-1/uid-1"));
	CHECK("another kubelet root",
	      !xfer_device_path("/var/snap/microk8s/common/var/lib/kubelet", "pv", "u", path,
				sizeof(path)) &&
		      !strncmp(path, "/var/snap/microk8s/common/var/lib/kubelet/plugins/", 50));
	CHECK("a PV name with '/' is refused",
	      xfer_device_path(NULL, "../../etc", "u", path, sizeof(path)) == -EINVAL);
	CHECK("'..' as a pod uid is refused",
	      xfer_device_path(NULL, "pv", "..", path, sizeof(path)) == -EINVAL);
	CHECK("no PV is refused", xfer_device_path(NULL, NULL, "u", path, sizeof(path)) == -EINVAL);
	CHECK("a path too long for the buffer",
	      xfer_device_path(NULL, "pv", "u", small, sizeof(small)) == -ENAMETOOLONG);
	{
		char k1[XFER_CBT_KEY_SIZE], k2[XFER_CBT_KEY_SIZE], k3[XFER_CBT_KEY_SIZE];
		char k4[XFER_CBT_KEY_SIZE];
		struct k8s_obj *vt = NULL;

		xfer_cbt_key("app", "data", "file:///r", k1);
		xfer_cbt_key("app", "data", "file:///r", k2);
		xfer_cbt_key("app", "data", "s3://b/r", k3);
		xfer_cbt_key("ap", "p/data", "file:///r", k4);
		CHECK("a base key: 16 hex digits, the same for the same claim and repository",
		      strlen(k1) == 16 && strspn(k1, "0123456789abcdef") == 16 && !strcmp(k1, k2));
		CHECK("another repository, another key", strcmp(k1, k3));
		CHECK("the namespace and the claim are apart", strcmp(k1, k4));
		CHECK("a transfer without spec.changedBlocks is auto",
		      !k8s_obj_parse("{\"spec\":{}}", 11, &vt) &&
			      !strcmp(xfer_cbt_mode(vt), "auto"));
		k8s_obj_free(vt);
		vt = NULL;
		CHECK("spec.changedBlocks hash and none",
		      !k8s_obj_parse("{\"spec\":{\"changedBlocks\":\"none\"}}", 33, &vt) &&
			      !strcmp(xfer_cbt_mode(vt), "none"));
		k8s_obj_free(vt);
	}
	if (!failed)
		printf("ok: control/xfer names and paths\n");
	return failed;
}
