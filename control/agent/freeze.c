// SPDX-License-Identifier: MIT
/*
 * control/agent/freeze.c - the freeze around a transfer's snapshot, on the
 * node that runs the pod which mounts the claim (transfers_priv.h,
 * control/xfer/README.md "status.freeze").
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "transfers_priv.h"
#include "control/cli/cli.h"
#include "control/xfer/xfer.h"

static void xs_freeze_status(struct agent_xfers *x, const char *name, const char *state,
			     const struct xs_frozen *f, const char *msg)
{
	struct k8s_obj *st = NULL;
	struct k8s_err err = {0};
	char t[K8S_TIME_SIZE];
	int64_t now = k8s_now_ns();
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/freeze/state", state);
	if (!ret && f && !strcmp(state, XFER_FREEZE_FROZEN)) {
		k8s_time_format(f->at_ns, true, t);
		ret = k8s_obj_set_str(st, "/freeze/frozenAt", t);
	}
	if (!ret && f && !strcmp(state, XFER_FREEZE_THAWED)) {
		k8s_time_format(now, true, t);
		ret = k8s_obj_set_str(st, "/freeze/thawedAt", t);
		if (!ret)
			ret = k8s_obj_set_int(st, "/freeze/frozenMilliseconds",
					      (now - f->at_ns) / 1000000);
	}
	if (!ret)
		ret = k8s_obj_set_str(st, "/freeze/message", msg ? msg : "");
	if (!ret)
		ret = xfer_status_patch(x->c, name, st, &err);
	k8s_obj_free(st);
	if (ret)
		ctl_log(CTL_LOG_WARN, "agent: transfer %s: freeze status %s: %s", name, state,
			err.msg[0] ? err.msg : strerror(-ret));
}

static void xs_thaw(struct agent_xfers *x, struct xs_frozen *f, const char *why)
{
	struct timespec now;
	long long ms;

	if (ioctl(f->fd, FITHAW, 0) && errno != EINVAL) /* EINVAL: not frozen */
		ctl_log(CTL_LOG_WARN, "agent: transfer %s: FITHAW: %s", f->name, strerror(errno));
	close(f->fd);
	clock_gettime(CLOCK_MONOTONIC, &now);
	ms = (long long)(now.tv_sec - f->at.tv_sec) * 1000 +
	     (now.tv_nsec - f->at.tv_nsec) / 1000000;
	ctl_log(CTL_LOG_INFO, "agent: transfer %s: the volume thawed after %lld ms%s%s", f->name,
		ms, why[0] ? ": " : "", why);
	xs_freeze_status(x, f->name, XFER_FREEZE_THAWED, f, why);
	f->used = false;
}

static struct xs_frozen *xs_frozen_of(struct agent_xfers *x, const char *name)
{
	for (unsigned int i = 0; i < XS_MAX; i++)
		if (x->frozen[i].used && !strcmp(x->frozen[i].name, name))
			return &x->frozen[i];
	return NULL;
}

/*
 * FIFREEZE of the transfer's mount, told by status.freeze (Requested on this
 * node). A freeze this process does not hold is thawed first (FITHAW; EINVAL
 * when there is none): a predecessor killed between its FIFREEZE and its
 * status left the mount frozen with the state still Requested, and a second
 * FIFREEZE would fail EBUSY and leave the application's writes blocked for
 * good. A mount another transfer of this agent holds frozen is left alone.
 */
static void xs_freeze(struct agent_xfers *x, const struct k8s_obj *vt, const char *name)
{
	const char *uid = k8s_obj_get_uid(vt);
	struct xs_frozen *f = NULL;
	char path[1024], msg[1200];
	bool held = false;
	int fd;

	for (unsigned int i = 0; i < XS_MAX && !f; i++)
		if (!x->frozen[i].used)
			f = &x->frozen[i];
	if (!f || !uid || strlen(name) >= sizeof(f->name) || strlen(uid) >= sizeof(f->uid))
		return;
	if (xfer_mount_path(x->o.kubelet_dir, k8s_obj_str(vt, "/status/freeze/volume"),
			    k8s_obj_str(vt, "/status/freeze/podUID"), path, sizeof(path))) {
		xs_freeze_status(x, name, XFER_FREEZE_FAILED, NULL,
				 "status.freeze names no volume and pod to freeze");
		return;
	}
	for (unsigned int i = 0; i < XS_MAX; i++)
		held = held || (x->frozen[i].used && !strcmp(x->frozen[i].path, path));
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && !held && !ioctl(fd, FITHAW, 0)) {
		ctl_log(CTL_LOG_WARN,
			"agent: transfer %s: %s was frozen by no one here (an agent gone): thawed",
			name, path);
	}
	if (fd < 0 || ioctl(fd, FIFREEZE, 0)) {
		snprintf(msg, sizeof(msg), "%s %s: %s", fd < 0 ? "open" : "FIFREEZE", path,
			 strerror(errno));
		if (fd >= 0)
			close(fd);
		ctl_log(CTL_LOG_WARN, "agent: transfer %s: not frozen: %s", name, msg);
		xs_freeze_status(x, name, XFER_FREEZE_FAILED, NULL, msg);
		return;
	}
	memset(f, 0, sizeof(*f));
	f->used = true;
	f->fd = fd;
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(f->uid, sizeof(f->uid), "%s", uid);
	snprintf(f->path, sizeof(f->path), "%s", path);
	clock_gettime(CLOCK_MONOTONIC, &f->at);
	f->at_ns = k8s_now_ns();
	ctl_log(CTL_LOG_INFO, "agent: transfer %s: %s frozen for the snapshot", name, path);
	xs_freeze_status(x, name, XFER_FREEZE_FROZEN, f, "");
}

/* what status.freeze asks of this agent, gathered from the cache (no API call under it) */
struct xs_freeze_todo {
	struct agent_xfers *x;
	struct k8s_obj *freeze[XS_MAX]; /* Requested here, not held: copies */
	char thaw[XS_MAX][254];		/* held, and told to thaw (or anything after it) */
	struct k8s_obj *orphan[XS_MAX]; /* Frozen here by an agent process gone: copies */
	unsigned int nfreeze, nthaw, norphan;
};

static int xs_freeze_due(void *arg, const struct k8s_obj *vt)
{
	struct xs_freeze_todo *t = arg;
	struct agent_xfers *x = t->x;
	const char *state = k8s_obj_str(vt, "/status/freeze/state");
	const char *node = k8s_obj_str(vt, "/status/freeze/node");
	const char *name = k8s_obj_get_name(vt);
	struct xs_frozen *f;

	if (!state || !node || !name || strcmp(node, x->node) || strlen(name) >= sizeof(t->thaw[0]))
		return 0;
	f = xs_frozen_of(x, name);
	if (!f && !strcmp(state, XFER_FREEZE_REQUESTED) &&
	    !k8s_obj_str(vt, "/metadata/deletionTimestamp") && t->nfreeze < XS_MAX) {
		t->freeze[t->nfreeze] = k8s_obj_dup(vt);
		if (t->freeze[t->nfreeze])
			t->nfreeze++;
	} else if (f && strcmp(state, XFER_FREEZE_FROZEN) && strcmp(state, XFER_FREEZE_REQUESTED) &&
		   t->nthaw < XS_MAX) {
		snprintf(t->thaw[t->nthaw++], sizeof(t->thaw[0]), "%s", name);
	} else if (!f && (!strcmp(state, XFER_FREEZE_FROZEN) || !strcmp(state, XFER_FREEZE_THAW)) &&
		   t->norphan < XS_MAX) {
		t->orphan[t->norphan] = k8s_obj_dup(vt);
		if (t->orphan[t->norphan])
			t->norphan++;
	}
	return 0;
}

/*
 * A mount frozen on this node by an agent process that is gone (killed
 * between its freeze and its thaw: the hold lived in its memory only): thawed
 * now, once, whatever the transfer's state, so that the application's writes
 * go on; status.freeze says Thawed and why.
 */
static void xs_thaw_orphan(struct agent_xfers *x, const struct k8s_obj *vt)
{
	const char *name = k8s_obj_get_name(vt);
	char path[1024], msg[1200];
	int fd;

	if (xfer_mount_path(x->o.kubelet_dir, k8s_obj_str(vt, "/status/freeze/volume"),
			    k8s_obj_str(vt, "/status/freeze/podUID"), path, sizeof(path)))
		return;
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || (ioctl(fd, FITHAW, 0) && errno != EINVAL)) /* EINVAL: not frozen */
		snprintf(msg, sizeof(msg), "the agent that froze it is gone; %s %s: %s",
			 fd < 0 ? "open" : "FITHAW", path, strerror(errno));
	else
		snprintf(msg, sizeof(msg), "thawed by this agent: the one that froze it is gone");
	if (fd >= 0)
		close(fd);
	ctl_log(CTL_LOG_INFO, "agent: transfer %s: %s", name, msg);
	xs_freeze_status(x, name, XFER_FREEZE_THAWED, NULL, msg);
}

void xs_freezes(struct agent_xfers *x)
{
	struct xs_freeze_todo *t = calloc(1, sizeof(*t));

	if (!t)
		return;
	t->x = x;
	k8s_informer_each(x->inf, XFER_NS, NULL, xs_freeze_due, t);
	for (unsigned int i = 0; i < t->nfreeze; i++) {
		xs_freeze(x, t->freeze[i], k8s_obj_get_name(t->freeze[i]));
		k8s_obj_free(t->freeze[i]);
	}
	for (unsigned int i = 0; i < t->nthaw; i++) {
		struct xs_frozen *f = xs_frozen_of(x, t->thaw[i]);

		if (f)
			xs_thaw(x, f, "");
	}
	for (unsigned int i = 0; i < t->norphan; i++) {
		xs_thaw_orphan(x, t->orphan[i]);
		k8s_obj_free(t->orphan[i]);
	}
	free(t);
}

/* a freeze held past XFER_FREEZE_HOLD_S, or of a transfer gone, ends whatever it was told */
void xs_freeze_expire(struct agent_xfers *x)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	for (unsigned int i = 0; i < XS_MAX; i++) {
		struct xs_frozen *f = &x->frozen[i];
		char key[K8S_KEY_SIZE], why[128];
		struct k8s_obj *o;
		bool gone;

		if (!f->used)
			continue;
		snprintf(key, sizeof(key), "%s/%s", XFER_NS, f->name);
		o = k8s_informer_get(x->inf, key);
		gone = !o || strcmp(k8s_obj_get_uid(o) ? k8s_obj_get_uid(o) : "", f->uid) ||
		       k8s_obj_str(o, "/metadata/deletionTimestamp");
		k8s_obj_free(o);
		if (gone) {
			xs_thaw(x, f, "the transfer is gone");
		} else if (now.tv_sec - f->at.tv_sec >= XFER_FREEZE_HOLD_S) {
			snprintf(why, sizeof(why), "held the longest a freeze may be (%d s)",
				 XFER_FREEZE_HOLD_S);
			xs_thaw(x, f, why);
		}
	}
}

void xs_thaw_all(struct agent_xfers *x, const char *why)
{
	for (unsigned int i = 0; i < XS_MAX; i++)
		if (x->frozen[i].used)
			xs_thaw(x, &x->frozen[i], why);
}
