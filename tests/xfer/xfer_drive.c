// SPDX-License-Identifier: MIT
/*
 * tests/xfer/xfer_drive.c - the controller's side of a VolumeTransfer, run by
 * the test as the Backup reconciler will run it: xfer_step() on the transfer
 * as read, again after each requeue, until it is done (cleaned up) or the
 * deadline passes. Prints each phase it sees, one line each.
 *
 *   xfer_drive KUBECONFIG NAME SECONDS
 *   xfer_drive KUBECONFIG NAMESPACE/CLAIM SECONDS    the Snapshot populator's
 *                                                    xfer_populate_step()
 *
 * Exit: 0 done and Completed; 1 done and Failed, or the deadline passed;
 * 2 usage; 3 an API error that persisted; 4 the transfer is gone (deleted,
 * its finalizer removed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "control/xfer/xfer.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	struct k8s_config_opts co = {.sz = sizeof(co)};
	struct k8s_client *c = NULL;
	const char *last = "";
	struct k8s_err err = {0};
	char ns[256] = "", *claim = NULL;
	double deadline;
	int ret, fails = 0, rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: xfer_drive KUBECONFIG NAME SECONDS\n");
		return 2;
	}
	co.kubeconfig = argv[1];
	if (strchr(argv[2], '/') && strlen(argv[2]) < sizeof(ns)) {
		snprintf(ns, sizeof(ns), "%s", argv[2]);
		claim = strchr(ns, '/');
		*claim++ = '\0';
	}
	deadline = now_s() + atof(argv[3]);
	ret = k8s_client_open(&co, NULL, &c, &err);
	if (ret) {
		fprintf(stderr, "xfer_drive: %s\n", err.msg);
		return 2;
	}
	while (now_s() < deadline) {
		struct xfer_result res;
		struct k8s_obj *vt = NULL;
		struct timespec ts;

		if (claim)
			ret = k8s_get(c, &k8s_pvcs, ns, claim, NULL, &vt, &err);
		else
			ret = k8s_get(c, &xfer_volumetransfers, XFER_NS, argv[2], NULL, &vt, &err);
		if (ret == -ENOENT) {
			printf("gone\n");
			rc = 4;
			break;
		}
		if (!ret)
			ret = claim ? xfer_populate_step(c, vt, &res, &err)
				    : xfer_step(c, vt, &res, &err);
		k8s_obj_free(vt);
		if (ret) {
			fprintf(stderr, "xfer_drive: %s: %s\n", strerror(-ret), err.msg);
			if (++fails > 20) {
				rc = 3;
				break;
			}
			res.requeue_ms = 500;
		} else {
			fails = 0;
			if (strcmp(last, res.phase)) {
				printf("phase %s\n", res.phase);
				fflush(stdout);
				last = res.phase;
			}
			if (res.done) {
				printf("done\n");
				rc = strcmp(res.phase, XFER_COMPLETED) ? 1 : 0;
				break;
			}
			if (!res.requeue_ms)
				res.requeue_ms = 200; /* the agent's: no watch here, poll */
		}
		ts.tv_sec = res.requeue_ms / 1000;
		ts.tv_nsec = (long)(res.requeue_ms % 1000) * 1000000L;
		nanosleep(&ts, NULL);
	}
	k8s_client_free(c);
	return rc;
}
