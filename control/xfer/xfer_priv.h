/* SPDX-License-Identifier: MIT */
/*
 * control/xfer/xfer_priv.h - what the files of control/xfer share and
 * nothing else sees: xfer.c (the transfer's objects and its step),
 * xfer_cbt.c (changed-block bases), xfer_freeze.c (FIFREEZE around the
 * snapshot) and xfer_populate.c (the Snapshot volume populator).
 */
#ifndef FERRY_CTL_XFER_PRIV_H
#define FERRY_CTL_XFER_PRIV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "xfer.h"

#define XFER_POLL_MS 500 /* a snapshot's cut, a pod's start: looked at again this often */

extern const struct k8s_resource xfer_storageclasses;

static inline bool xfer_is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

/* a restore written over an existing claim (spec.target.overwrite: xfer_apply.c) */
static inline bool xfer_overwrites(const struct k8s_obj *vt)
{
	bool b = false;

	return !k8s_obj_bool(vt, "/spec/target/overwrite", &b) && b;
}

/* xfer.c */
int xfer_get(struct k8s_client *c, const struct k8s_resource *r, const char *ns, const char *name,
	     struct k8s_obj **out, struct k8s_err *err);
int xfer_create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		const struct k8s_obj *obj, struct k8s_err *err);
/* Attaching on @node (labelled), with the holder @pod and its PV @pv (NULL: a copy, none) */
int xfer_assign(struct k8s_client *c, const struct k8s_obj *vt, const char *node,
		const struct k8s_pod *pod, const char *pv, const struct k8s_obj *cbt,
		struct k8s_err *err);
const char *xfer_phase_of(const char *phase);
int xfer_set_phase(struct k8s_client *c, const char *name, const char *phase, const char *msg,
		   struct k8s_err *err);
/* phase Failed, message @fmt with @a and @b (two %s); @res says so and asks for the next step */
int xfer_fail(struct k8s_client *c, const char *name, struct xfer_result *res, struct k8s_err *err,
	      const char *fmt, const char *a, const char *b);
int xfer_make_pod(struct k8s_client *c, const char *node, bool bind, const char *name,
		  const struct k8s_obj *vt, struct k8s_err *err);
int xfer_block_pvc(const char *name, const char *class, int64_t size, const struct k8s_obj *vt,
		   struct k8s_obj **out);

/* xfer_cbt.c */
int xfer_cbt_keep(struct k8s_client *c, const struct k8s_obj *vt, const char *name, bool *keep,
		  struct k8s_err *err);
int xfer_cbt_plan(struct k8s_client *c, const struct k8s_obj *vt, const char *ns, const char *pvc,
		  const char *name, const struct k8s_snapshotcontent *vsc, struct k8s_obj **out,
		  struct k8s_err *err);

/* xfer_apply.c */
int xfer_apply_step(struct k8s_client *c, const struct k8s_obj *vt, const char *phase,
		    struct xfer_result *res, struct k8s_err *err);
int xfer_apply_keep_stamp(struct k8s_client *c, const struct k8s_obj *vt, struct k8s_err *err);

/* xfer_copy.c */
int xfer_copy_step(struct k8s_client *c, const struct k8s_obj *vt, struct xfer_result *res,
		   struct k8s_err *err);

/* xfer_freeze.c */
int xfer_claim_user(struct k8s_client *c, const char *ns, const char *pvc, bool running, char *node,
		    size_t nlen, char *uid, size_t ulen, char *pod, size_t plen,
		    struct k8s_err *err);
int xfer_freeze(struct k8s_client *c, const struct k8s_obj *vt, const char *ns, const char *pvcname,
		const struct k8s_obj *pvc, const struct k8s_pvc *pv, const struct k8s_obj *vs,
		struct xfer_result *res, struct k8s_err *err);

#endif
