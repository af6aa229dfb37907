/* SPDX-License-Identifier: MIT */
/*
 * control/agent/transfers_priv.h - what transfers.c (the jobs, the loop) and
 * freeze.c (the freeze around a transfer's snapshot) share: the agent's
 * state. Private to control/agent.
 */
#ifndef FERRY_AGENT_TRANSFERS_PRIV_H
#define FERRY_AGENT_TRANSFERS_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "transfers.h"

#define XS_MAX 64

struct xs_slot {
	bool used;
	atomic_bool finished;
	atomic_bool stop;
	bool joined;
	struct timespec joined_at; /* CLOCK_MONOTONIC */
	pthread_t thread;
	char name[254];
	struct k8s_obj *vt; /* the transfer as it was when the job started */
	struct agent_xfers *x;
	/* the job's final status, while its write fails (the API server away): kept and sent
	 * again each XS_RESEND_S; the slot stays, so the transfer is not run again meanwhile */
	struct k8s_obj *unsent;
	unsigned int resends;
	struct timespec resend_at; /* CLOCK_MONOTONIC */
};

/* a mount this agent froze for a transfer's snapshot (status.freeze) */
struct xs_frozen {
	bool used;
	int fd;
	char name[254];
	char uid[64];
	char path[1024];    /* the mount */
	struct timespec at; /* CLOCK_MONOTONIC */
	int64_t at_ns;	    /* the wall clock, for the status */
};

struct agent_xfers {
	struct k8s_client *c;
	const char *node;
	struct agent_xfers_opts o;
	char selector[320];
	struct k8s_informer *inf;
	struct dp_pool *pool;
	struct xs_slot slots[XS_MAX];
	struct xs_frozen frozen[XS_MAX];
};

/*
 * freeze.c: the freezes asked of this node (status.freeze Requested: FIFREEZE
 * of the kubelet's mount, Frozen; ThawRequested or later: FITHAW, Thawed),
 * a mount found frozen by no process here thawed first; each freeze thawed
 * at the latest XFER_FREEZE_HOLD_S after it (xs_freeze_expire()); all of them
 * when the agent stops (xs_thaw_all()).
 */
void xs_freezes(struct agent_xfers *x);
void xs_freeze_expire(struct agent_xfers *x);
void xs_thaw_all(struct agent_xfers *x, const char *why);

#endif
