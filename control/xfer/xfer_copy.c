// SPDX-License-Identifier: MIT
/*
 * control/xfer/xfer_copy.c - a VolumeTransfer of direction copy (xfer.h
 * xfer_step()): a repository snapshot carried from spec.from into
 * spec.repository by the agent of one node. Nothing is made in the cluster:
 * the controller checks the spec and places the copy, then the agent's
 * status writes take it on (Running, Completed or Failed).
 */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "xfer_priv.h"

/*
 * One placement at a time in this process (the leader's reconcilers may run
 * side by side): the next copy counts the one placed before it.
 */
static pthread_mutex_t xc_placing = PTHREAD_MUTEX_INITIALIZER;

/* Transfers at work (Attaching, Running) on the node @node, among @l. */
static size_t xc_load(const struct k8s_items *l, const char *node)
{
	size_t n = 0;

	for (size_t i = 0; i < k8s_items_len(l); i++) {
		const struct k8s_obj *o = k8s_items_at(l, i);
		const char *ph = k8s_obj_str(o, "/status/phase");

		if (xfer_is(k8s_obj_str(o, "/status/node"), node) &&
		    (xfer_is(ph, XFER_ATTACHING) || xfer_is(ph, XFER_RUNNING)))
			n++;
	}
	return n;
}

/*
 * The node for the copy: the Ready, schedulable node with the fewest
 * transfers at work, ties by name. Return: 0 with @out set ("" none);
 * -errno of the API server.
 */
static int xc_place(struct k8s_client *c, char *out, size_t len, struct k8s_err *err)
{
	struct k8s_items *nodes = NULL, *vts = NULL;
	size_t best = (size_t)-1;
	int ret;

	out[0] = '\0';
	ret = k8s_list(c, &k8s_nodes, NULL, NULL, &nodes, err);
	if (!ret)
		ret = k8s_list(c, &xfer_volumetransfers, XFER_NS, NULL, &vts, err);
	for (size_t i = 0; !ret && i < k8s_items_len(nodes); i++) {
		const struct k8s_obj *n = k8s_items_at(nodes, i);
		const char *name = k8s_obj_get_name(n);
		size_t load;

		if (!name || !k8s_node_schedulable(n))
			continue;
		load = xc_load(vts, name);
		if (load < best || (load == best && strcmp(name, out) < 0)) {
			best = load;
			snprintf(out, len, "%s", name);
		}
	}
	k8s_items_free(vts);
	k8s_items_free(nodes);
	return ret;
}

int xfer_copy_step(struct k8s_client *c, const struct k8s_obj *vt, struct xfer_result *res,
		   struct k8s_err *err)
{
	const char *vtname = k8s_obj_get_name(vt);
	const char *node = k8s_obj_str(vt, "/spec/node");
	struct xfer_repo_ref from, to;
	char chosen[254];
	int ret;

	assert(c && vt && res && err);
	xfer_repo_ref_at(vt, "/spec/from", &from);
	xfer_repo_ref_of_transfer(vt, &to);
	if (!from.url || !from.url[0])
		return xfer_fail(c, vtname, res, err,
				 "direction copy: spec.from.url is required (the repository the "
				 "snapshot is copied from)%s%s",
				 "", "");
	if (to.url && !strcmp(from.url, to.url))
		return xfer_fail(c, vtname, res, err,
				 "direction copy: spec.from and spec.repository are the same "
				 "repository (%.300s)%s",
				 from.url, "");
	if (!k8s_obj_str(vt, "/spec/snapshotID") && !k8s_obj_str(vt, "/spec/record/name"))
		return xfer_fail(
			c, vtname, res, err,
			"direction copy: spec.snapshotID or spec.record.name is required%s%s", "",
			"");
	pthread_mutex_lock(&xc_placing);
	if (!node) {
		ret = xc_place(c, chosen, sizeof(chosen), err);
		if (ret)
			goto out;
		if (!chosen[0]) {
			res->requeue_ms = XFER_POLL_MS; /* no node to run it: Pending */
			goto out;
		}
		node = chosen;
	}
	ret = xfer_assign(c, vt, node, NULL, NULL, NULL, err);
	if (!ret)
		res->phase = XFER_ATTACHING;
out:
	pthread_mutex_unlock(&xc_placing);
	return ret;
}
