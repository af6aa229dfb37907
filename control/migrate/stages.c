// SPDX-License-Identifier: MIT
/*
 * control/migrate/stages.c - a Migration after its plan: seed, sync rounds,
 * cutover, rollback (migrate.h "the stages"). One idempotent step per
 * reconcile: every object has a name made of the Migration's, so a step
 * that died half way finds what it made and goes on; the status is written
 * only when something in it changed (a write is an event: a step that
 * always wrote would run for ever).
 */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control/xfer/xfer.h"
#include "migrate_priv.h"

static const struct k8s_resource mig_backups =
	K8S_RESOURCE("ferry.io", "v1alpha1", "backups", "Backup", true);
static const struct k8s_resource mig_restores =
	K8S_RESOURCE("ferry.io", "v1alpha1", "restores", "Restore", true);

#define POLL_MS	     1000 /* a Backup, the Restore, a round's transfers */
#define CUTOVER_MS   250  /* during the cutover every step counts toward the window */
#define ROUNDS_KEPT  20
#define BACKUP_TRIES 3 /* of one round's Backup in the source */
#define RETRY_MIN_S  5 /* between tries of a sync round (a cutover's goes at once) */

struct stage {
	const struct k8s_reconcile_req *req;
	const struct mig_spec *spec;
	struct k8s_client *src, *dst;
	const struct k8s_obj *m;
	struct k8s_obj *patch; /* {"status": {...}}: what changed */
	struct k8s_reconcile_res *res;
	struct k8s_err *err;
	bool dirty;
	char msg[1024];
};

/* ---------------------------------------------------------------- the status */

static bool is(const char *a, const char *b)
{
	return a && !strcmp(a, b);
}

static const char *cur(struct stage *s, const char *path)
{
	char p[128];

	snprintf(p, sizeof(p), "/status%s", path);
	return k8s_obj_str(s->m, p);
}

static int set_str(struct stage *s, const char *path, const char *v)
{
	char p[128];
	const char *had = cur(s, path);

	if (had && !strcmp(had, v))
		return 0;
	snprintf(p, sizeof(p), "/status%s", path);
	s->dirty = true;
	return k8s_obj_set_str(s->patch, p, v);
}

/* an instant, written once (micro: the cutover's parts are measured with them) */
static int set_now(struct stage *s, const char *path, int64_t *at)
{
	char t[K8S_TIME_SIZE];
	int64_t had;

	if (cur(s, path) && !k8s_time_parse(cur(s, path), &had)) {
		if (at)
			*at = had;
		return 0;
	}
	if (at)
		*at = k8s_now_ns();
	k8s_time_format(at ? *at : k8s_now_ns(), true, t);
	return set_str(s, path, t);
}

static int64_t when(struct stage *s, const char *path)
{
	int64_t t = 0;

	if (cur(s, path))
		k8s_time_parse(cur(s, path), &t);
	return t;
}

/* status.progress: the rows of @rows (NULL: none, cleared) under @backup, the Backup they move */
static int live(struct stage *s, const char *backup, const struct k8s_obj *rows)
{
	return live_set(s->m, s->patch, backup, rows, k8s_now_ns(), &s->dirty);
}

static int early_copies(struct stage *s, const struct k8s_items *vts, const char *bname);

/*
 * Backup @b (@backup) in flight in the source: the rows of its transfers
 * there and, with spec.copy, the copies of the volumes they finished (one
 * list of them for both). A source that refuses the list (no right to) shows
 * no rows, and its copies wait for the Backup's end.
 */
static int live_backup(struct stage *s, const char *backup, const struct k8s_obj *b)
{
	struct k8s_items *vts = NULL;
	struct k8s_obj *rows = NULL;
	int ret;

	if (mig_source_transfers(s->src, b, &vts))
		vts = NULL;
	ret = s->spec->copy && vts ? early_copies(s, vts, backup) : 0;
	if (!ret)
		ret = live_new(&rows);
	if (!ret)
		ret = live_source(vts, rows, k8s_now_ns());
	if (!ret)
		ret = live(s, backup, rows);
	k8s_obj_free(rows);
	k8s_items_free(vts);
	return ret;
}

static int say(struct stage *s, const char *phase, unsigned int requeue_ms)
{
	int ret = set_str(s, "/phase", phase);

	/* an end: nothing in flight any more */
	if (!ret && (is(phase, "Completed") || is(phase, "RolledBack") || is(phase, "Failed")))
		ret = live(s, NULL, NULL);

	if (!ret)
		ret = set_str(s, "/message", s->msg);
	s->res->reason = phase;
	s->res->message = s->msg;
	s->res->requeue_after_ms = requeue_ms;
	return ret;
}

static int fail(struct stage *s)
{
	s->res->failed = true;
	return say(s, "Failed", 0);
}

/* ---------------------------------------------------------------- objects */

static int fetch(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		 const char *name, struct k8s_obj **out, struct k8s_err *err)
{
	int ret = k8s_get(c, r, ns, name, NULL, out, err);

	if (ret == -ENOENT) {
		*out = NULL;
		return 0;
	}
	return ret;
}

static int create(struct k8s_client *c, const struct k8s_resource *r, const char *ns,
		  const struct k8s_obj *o, struct k8s_err *err)
{
	int ret = k8s_create(c, r, ns, o, NULL, NULL, err);

	return ret == -EEXIST ? 0 : ret;
}

/* the try of the current round's (or the final) Backup: status.roundAttempt, 1 if none */
static int64_t attempt_of(const struct stage *s)
{
	int64_t a = 1;

	k8s_obj_int(s->m, "/status/roundAttempt", &a);
	return a < 1 ? 1 : a;
}

/* "<base>" on the first try, "<base>-<try>" after */
static void round_name(const struct stage *s, const char *base, char *buf, size_t len)
{
	int64_t a = attempt_of(s);

	if (a > 1)
		snprintf(buf, len, "%s-%lld", base, (long long)a);
	else
		snprintf(buf, len, "%s", base);
}

/* a round done: its tries are over */
static int round_reset(struct stage *s)
{
	int ret = 0;

	if (k8s_obj_at(s->m, "/status/roundAttempt"))
		ret = k8s_obj_set_null(s->patch, "/status/roundAttempt");
	if (!ret && k8s_obj_at(s->m, "/status/roundRetryTime"))
		ret = k8s_obj_set_null(s->patch, "/status/roundRetryTime");
	s->dirty = true;
	return ret;
}

static bool ended(const char *phase)
{
	return is(phase, "Completed") || is(phase, "PartiallyFailed") || is(phase, "Failed") ||
	       is(phase, "FailedValidation");
}

/* a Backup in the source's ferry-system: the namespaces, or their claims alone */
static int make_backup(struct stage *s, const char *name, bool claims_only)
{
	struct k8s_obj *o = NULL;
	int ret;

	ret = k8s_obj_new_kind(&mig_backups, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, MIG_ANN_MIGRATION, s->req->name);
	if (!ret)
		ret = k8s_obj_set_empty(o, "/spec/includedNamespaces", K8S_T_ARRAY);
	for (size_t i = 0; !ret && i < s->spec->n_namespaces; i++)
		ret = k8s_obj_set_str(o, "/spec/includedNamespaces/-", s->spec->namespaces[i]);
	if (!ret && claims_only)
		ret = k8s_obj_set_json(o, "/spec/includedResources",
				       "[\"persistentvolumeclaims\"]");
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/storageLocation", s->spec->repository);
	if (!ret)
		ret = create(s->src, &mig_backups, XFER_NS, o, s->err);
	k8s_obj_free(o);
	return ret;
}

static const char *target_ns(struct stage *s, const char *ns)
{
	for (size_t i = 0; i < s->spec->n_namespaces; i++)
		if (!strcmp(s->spec->namespaces[i], ns))
			return s->spec->target_namespaces[i];
	return ns;
}

/* the Restore here: the seed's objects, the volumes through the populator, nothing started */
static int make_restore(struct stage *s, const char *backup)
{
	struct k8s_obj *o = NULL;
	char path[MIG_NAME_MAX + 40];
	int ret;

	ret = k8s_obj_new_kind(&mig_restores, XFER_NS, s->req->name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, MIG_ANN_MIGRATION, s->req->name);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/backupName", backup);
	if (!ret)
		ret = k8s_obj_set_bool(o, "/spec/restoreVolumes", true);
	if (!ret)
		ret = k8s_obj_set_bool(o, "/spec/scaleWorkloadsToZero", true);
	if (!ret && s->spec->existing == MIG_EXISTING_UPDATE)
		ret = k8s_obj_set_str(o, "/spec/existingResourcePolicy", "update");
	for (size_t i = 0; !ret && i < s->spec->n_namespaces; i++) {
		snprintf(path, sizeof(path), "/spec/namespaceMapping/%s", s->spec->namespaces[i]);
		ret = k8s_obj_set_str(o, path, s->spec->target_namespaces[i]);
	}
	for (size_t i = 0; !ret && i < s->spec->n_class_map; i++) {
		snprintf(path, sizeof(path), "/spec/storageClassMapping/%s",
			 s->spec->class_map[i].from);
		ret = k8s_obj_set_str(o, path, s->spec->class_map[i].to);
	}
	/* the transforms as the spec has them (mig_spec_decode() checked them) */
	if (!ret && k8s_obj_type(s->req->obj, "/spec/nodeLabelMapping") == K8S_T_OBJECT)
		ret = k8s_obj_set_copy(o, "/spec/nodeLabelMapping",
				       k8s_obj_at(s->req->obj, "/spec/nodeLabelMapping"));
	if (!ret && k8s_obj_type(s->req->obj, "/spec/imageMapping") == K8S_T_OBJECT)
		ret = k8s_obj_set_copy(o, "/spec/imageMapping",
				       k8s_obj_at(s->req->obj, "/spec/imageMapping"));
	if (!ret)
		ret = create(s->dst, &mig_restores, XFER_NS, o, s->err);
	k8s_obj_free(o);
	return ret;
}

/* the snapshot of claim @ns/@pvc in a Backup's status.volumes (NULL: none) */
static const char *snapshot_of(const struct k8s_obj *b, const char *ns, const char *pvc)
{
	const struct k8s_obj *v;

	for (v = k8s_obj_first(k8s_obj_at(b, "/status/volumes")); v; v = k8s_obj_next(v))
		if (is(k8s_obj_str(v, "/namespace"), ns) && is(k8s_obj_str(v, "/pvc"), pvc))
			return k8s_obj_str(v, "/snapshotId");
	return NULL;
}

/* ---------------------------------------------------------------- seed */

/* the bytes the Restore @r wrote onto claim @ns/@pvc here */
static int64_t restored_bytes(const struct k8s_obj *r, const char *ns, const char *pvc)
{
	int64_t b = 0;

	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(r, "/status/volumes")); v;
	     v = k8s_obj_next(v))
		if (is(k8s_obj_str(v, "/namespace"), ns) && is(k8s_obj_str(v, "/pvc"), pvc)) {
			k8s_obj_int(v, "/bytesDone", &b);
			break;
		}
	return b;
}

/* ---------------------------------------------------------------- copies */

/*
 * The name of the copy of claim @ns/@pvc (of the source) for the Backup
 * @bname: "<bname>-c<10 hex digits of the claim>", the same whichever step
 * makes it first (early_copies() while the Backup runs, or after it).
 */
static void copy_name(const char *bname, const char *ns, const char *pvc, char *buf, size_t len)
{
	char key[XFER_CBT_KEY_SIZE];

	xfer_cbt_key(ns, pvc, "migration copy", key);
	snprintf(buf, len, "%s-c%.10s", bname, key);
}

/* spec.copy: the copies of @bname for the claims of @vols (status.volumes, or a Backup's) */
static void forget_copies(struct stage *s, const char *bname, const struct k8s_obj *vols)
{
	struct k8s_call now = {.propagation = "Background"};
	char cname[MIG_NAME_MAX + 32];
	struct k8s_err e;

	for (const struct k8s_obj *v = k8s_obj_first(vols); s->spec->copy && v;
	     v = k8s_obj_next(v)) {
		copy_name(bname, k8s_obj_str(v, "/namespace"), k8s_obj_str(v, "/pvc"), cname,
			  sizeof(cname));
		k8s_delete(s->dst, &xfer_volumetransfers, XFER_NS, cname, &now, NULL, &e);
	}
}

/*
 * spec.copy: the copy here @name of the source's snapshot @snap (of
 * @volume) from spec.copy.from into @repo (this cluster's Repository), or
 * with @record of the source's Backup record @record (of the cluster
 * @cluster) and whatever snapshot of it @repo lacks.
 */
static int make_copy(struct stage *s, const char *name, const char *volume, const char *snap,
		     const char *record, const char *cluster, const struct k8s_obj *repo)
{
	struct xfer_repo_ref ref;
	struct k8s_obj *o = NULL;
	int ret;

	xfer_repo_ref_of_repository(repo, &ref);
	ret = k8s_obj_new_kind(&xfer_volumetransfers, XFER_NS, name, &o);
	if (!ret)
		ret = k8s_obj_set_label(o, MIG_ANN_MIGRATION, s->req->name);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/direction", XFER_DIR_COPY);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/volume", volume);
	if (!ret)
		ret = xfer_repo_ref_set(o, &ref);
	if (!ret)
		ret = k8s_obj_set_copy(o, "/spec/from", k8s_obj_at(s->m, "/spec/copy/from"));
	if (!ret && snap)
		ret = k8s_obj_set_str(o, "/spec/snapshotID", snap);
	if (!ret && record)
		ret = k8s_obj_set_str(o, "/spec/record/name", record);
	if (!ret && record)
		ret = k8s_obj_set_str(o, "/spec/record/namespace", XFER_NS);
	if (!ret && record && cluster)
		ret = k8s_obj_set_str(o, "/spec/record/cluster", cluster);
	if (!ret && s->spec->copy_bandwidth > 0)
		ret = k8s_obj_set_int(o, "/spec/bandwidth", s->spec->copy_bandwidth);
	if (!ret)
		ret = create(s->dst, &xfer_volumetransfers, XFER_NS, o, s->err);
	k8s_obj_free(o);
	return ret;
}

/*
 * The copy @name (make_copy()'s), made if it is not: 1 Completed; 0 not
 * yet (its row, claim @ns/@pvc, in @rows unless NULL); 2 it failed, and so
 * did the migration (the message says why); -errno.
 */
static int copy_step(struct stage *s, const char *name, const char *volume, const char *snap,
		     const char *record, const char *cluster, const struct k8s_obj *repo,
		     struct k8s_obj *rows, const char *ns, const char *pvc)
{
	struct k8s_obj *vt = NULL;
	const char *ph;
	int ret;

	ret = fetch(s->dst, &xfer_volumetransfers, XFER_NS, name, &vt, s->err);
	if (!ret && !vt) {
		ret = make_copy(s, name, volume, snap, record, cluster, repo);
		if (!ret && rows)
			ret = live_transfer(rows, "Copy", ns, pvc, NULL, k8s_now_ns());
		return ret;
	}
	if (ret)
		return ret;
	ph = k8s_obj_str(vt, "/status/phase");
	if (is(ph, "Failed")) {
		snprintf(s->msg, sizeof(s->msg),
			 "VolumeTransfer %s (a copy into Repository %s): %.600s", name,
			 s->spec->repository,
			 k8s_obj_str(vt, "/status/message") ? k8s_obj_str(vt, "/status/message")
							    : "failed");
		k8s_obj_free(vt);
		ret = fail(s);
		return ret ? ret : 2;
	}
	ret = is(ph, "Completed") ? 1
	      : rows		  ? live_transfer(rows, "Copy", ns, pvc, vt, k8s_now_ns())
				  : 0;
	k8s_obj_free(vt);
	return ret;
}

/* This cluster's Repository spec.repository (NULL and the migration failed: none). */
static int our_repo(struct stage *s, struct k8s_obj **repo)
{
	int ret = fetch(s->dst, &xfer_repositories, XFER_NS, s->spec->repository, repo, s->err);

	if (!ret && !*repo) {
		snprintf(s->msg, sizeof(s->msg),
			 "Repository %s/%s not found here (spec.repository)", XFER_NS,
			 s->spec->repository);
		ret = fail(s);
	}
	return ret;
}

/*
 * spec.copy, while the Backup @bname (the seed's, a round's, the final one)
 * runs in the source: the copy of each volume whose transfer there (@vts) is
 * Completed already, so that it moves while the others are read (the step
 * after the Backup then finds it by name). A round's volume whose snapshot
 * did not move needs none.
 */
static int early_copies(struct stage *s, const struct k8s_items *vts, const char *bname)
{
	struct k8s_obj *repo = NULL, *cp = NULL;
	char cname[MIG_NAME_MAX + 32];
	int ret;

	ret = our_repo(s, &repo);
	for (size_t k = 0; !ret && repo && k < k8s_items_len(vts); k++) {
		const struct k8s_obj *vt = k8s_items_at(vts, k);
		const char *snap = k8s_obj_str(vt, "/status/snapshotID");
		const char *ns = k8s_obj_str(vt, "/spec/source/namespace");
		const char *pvc = k8s_obj_str(vt, "/spec/source/persistentVolumeClaim");
		bool unchanged = false;

		if (!snap || !ns || !pvc || !k8s_obj_str(vt, "/spec/volume") ||
		    !is(k8s_obj_str(vt, "/status/phase"), "Completed"))
			continue;
		for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(s->m, "/status/volumes"));
		     v; v = k8s_obj_next(v))
			unchanged |= is(k8s_obj_str(v, "/namespace"), ns) &&
				     is(k8s_obj_str(v, "/pvc"), pvc) &&
				     is(k8s_obj_str(v, "/snapshotID"), snap);
		if (unchanged)
			continue;
		copy_name(bname, ns, pvc, cname, sizeof(cname));
		ret = fetch(s->dst, &xfer_volumetransfers, XFER_NS, cname, &cp, s->err);
		if (!ret && !cp)
			ret = make_copy(s, cname, k8s_obj_str(vt, "/spec/volume"), snap, NULL, NULL,
					repo);
		k8s_obj_free(cp);
		cp = NULL;
	}
	k8s_obj_free(repo);
	return ret;
}

/*
 * spec.copy, the seed: each volume's snapshot of the seed's Backup @sb
 * (@name) copied here, side by side, then its record, which this cluster's
 * backup sync then finds. Return: 1 all in; 0 not yet (or failed: said);
 * -errno.
 */
static int seed_copies(struct stage *s, const struct k8s_obj *sb, const char *name)
{
	struct k8s_obj *repo = NULL, *rows = NULL;
	char cname[MIG_NAME_MAX + 32];
	size_t pending = 0, n = 0;
	int ret;

	ret = our_repo(s, &repo);
	if (ret || !repo)
		return ret;
	ret = live_new(&rows);
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(sb, "/status/volumes")); !ret && v;
	     v = k8s_obj_next(v)) {
		if (!k8s_obj_str(v, "/snapshotId") || !k8s_obj_str(v, "/volume"))
			continue;
		n++;
		copy_name(name, k8s_obj_str(v, "/namespace"), k8s_obj_str(v, "/pvc"), cname,
			  sizeof(cname));
		ret = copy_step(s, cname, k8s_obj_str(v, "/volume"), k8s_obj_str(v, "/snapshotId"),
				NULL, NULL, repo, rows, k8s_obj_str(v, "/namespace"),
				k8s_obj_str(v, "/pvc"));
		if (ret == 0)
			pending++;
		ret = ret == 2 ? 2 : ret < 0 ? ret : 0;
	}
	if (!ret && !pending) {
		snprintf(cname, sizeof(cname), "%s-rec", name);
		ret = copy_step(s, cname, name, NULL, name, k8s_obj_str(sb, "/status/clusterId"),
				repo, NULL, NULL, NULL); /* the record: no volume's row */
		if (ret == 1)
			goto out;
		if (ret == 0)
			pending++;
	}
	if (ret == 2)
		ret = 0; /* failed: said */
	else if (!ret && pending) {
		bool volumes_in = !k8s_obj_len(rows, "/v");

		snprintf(s->msg, sizeof(s->msg),
			 "the seed: Backup %s completed in the source; %s into Repository %s here",
			 name,
			 volumes_in ? "its volumes copied, its record being copied"
				    : "its volumes being copied",
			 s->spec->repository);
		ret = say(s, "Seeding", POLL_MS);
		if (!ret)
			ret = live(s, name, rows);
	}
out:
	k8s_obj_free(rows);
	k8s_obj_free(repo);
	return ret;
}

static int seed(struct stage *s)
{
	struct k8s_obj *sb = NULL, *db = NULL, *rs = NULL, *vols = NULL;
	char name[MIG_NAME_MAX + 8];
	const char *phase;
	int ret;

	snprintf(name, sizeof(name), "%s-seed", s->req->name);
	ret = set_str(s, "/seed/backup", name);
	if (!ret)
		ret = set_str(s, "/seed/restore", s->req->name);
	if (!ret)
		ret = fetch(s->src, &mig_backups, XFER_NS, name, &sb, s->err);
	if (ret)
		goto out;
	if (!sb) {
		ret = make_backup(s, name, false);
		snprintf(s->msg, sizeof(s->msg), "the seed: Backup %s/%s made in the source",
			 XFER_NS, name);
		if (!ret)
			ret = say(s, "Seeding", POLL_MS);
		goto out;
	}
	phase = k8s_obj_str(sb, "/status/phase");
	if (!ended(phase)) {
		int64_t done = 0, total = 0;

		k8s_obj_int(sb, "/status/progress/bytesDone", &done);
		k8s_obj_int(sb, "/status/progress/bytesTotal", &total);
		snprintf(s->msg, sizeof(s->msg),
			 "the seed: Backup %s in the source %s, %lld of %lld bytes", name,
			 phase ? phase : "New", (long long)done, (long long)total);
		ret = say(s, "Seeding", POLL_MS);
		if (!ret)
			ret = live_backup(s, name, sb);
		goto out;
	}
	if (!is(phase, "Completed")) {
		const char *why = k8s_obj_str(sb, "/status/failureReason");

		if (!why)
			why = k8s_obj_str(sb, "/status/validationErrors/0");
		snprintf(s->msg, sizeof(s->msg),
			 "the seed: Backup %s in the source ended %s: %.600s", name, phase,
			 why ? why : "(see ferry backup describe in the source)");
		ret = fail(s);
		goto out;
	}
	if (s->spec->copy) {
		ret = seed_copies(s, sb, name);
		if (ret != 1)
			goto out;
	}
	ret = fetch(s->dst, &mig_backups, XFER_NS, name, &db, s->err);
	if (ret)
		goto out;
	if (!db || !is(k8s_obj_str(db, "/status/phase"), "Completed")) {
		snprintf(s->msg, sizeof(s->msg),
			 "the seed: Backup %s completed in the source; waiting for this cluster's "
			 "backup sync of Repository %s to bring it",
			 name, s->spec->repository);
		ret = say(s, "Seeding", POLL_MS);
		goto out;
	}
	ret = fetch(s->dst, &mig_restores, XFER_NS, s->req->name, &rs, s->err);
	if (ret)
		goto out;
	if (!rs) {
		ret = make_restore(s, name);
		snprintf(s->msg, sizeof(s->msg),
			 "the seed: Restore %s/%s made here, workloads at zero", XFER_NS,
			 s->req->name);
		if (!ret)
			ret = say(s, "Seeding", POLL_MS);
		goto out;
	}
	phase = k8s_obj_str(rs, "/status/phase");
	if (!ended(phase)) {
		snprintf(s->msg, sizeof(s->msg), "the seed: Restore %s %s", s->req->name,
			 phase ? phase : "New");
		ret = say(s, "Seeding", POLL_MS);
		if (!ret)
			ret = live_new(&vols);
		if (!ret)
			ret = live_restore(rs, vols, k8s_now_ns());
		if (!ret)
			ret = live(s, name, vols);
		goto out;
	}
	if (!is(phase, "Completed")) {
		const char *why = k8s_obj_str(rs, "/status/failureReason");

		if (!why) /* FailedValidation says why here */
			why = k8s_obj_str(rs, "/status/validationErrors/0");
		snprintf(s->msg, sizeof(s->msg), "the seed: Restore %s ended %s: %.600s",
			 s->req->name, phase, why ? why : "(see ferry restore describe)");
		ret = fail(s);
		goto out;
	}
	/* seeded: the copies go (what they copied stays), then what each target claim holds */
	if (s->spec->copy) {
		struct k8s_call bg = {.propagation = "Background"};
		char cname[MIG_NAME_MAX + 32];
		struct k8s_err e;

		forget_copies(s, name, k8s_obj_at(sb, "/status/volumes"));
		snprintf(cname, sizeof(cname), "%s-rec", name);
		k8s_delete(s->dst, &xfer_volumetransfers, XFER_NS, cname, &bg, NULL, &e);
	}
	ret = k8s_obj_new(&vols);
	if (!ret)
		ret = k8s_obj_set_empty(vols, "/v", K8S_T_ARRAY);
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(sb, "/status/volumes")); !ret && v;
	     v = k8s_obj_next(v)) {
		struct k8s_obj *e = NULL;
		const char *ns = k8s_obj_str(v, "/namespace");

		if (!ns || !k8s_obj_str(v, "/pvc") || !k8s_obj_str(v, "/snapshotId"))
			continue;
		ret = k8s_obj_new(&e);
		if (!ret)
			ret = k8s_obj_set_str(e, "/namespace", ns);
		if (!ret)
			ret = k8s_obj_set_str(e, "/pvc", k8s_obj_str(v, "/pvc"));
		if (!ret)
			ret = k8s_obj_set_str(e, "/targetNamespace", target_ns(s, ns));
		if (!ret)
			ret = k8s_obj_set_str(e, "/volume", k8s_obj_str(v, "/volume"));
		if (!ret)
			ret = k8s_obj_set_str(e, "/snapshotID", k8s_obj_str(v, "/snapshotId"));
		if (!ret)
			ret = k8s_obj_set_int(
				e, "/seedBytes",
				restored_bytes(rs, target_ns(s, ns), k8s_obj_str(v, "/pvc")));
		if (!ret)
			ret = k8s_obj_set(vols, "/v/-", e);
		else
			k8s_obj_free(e);
	}
	if (!ret)
		ret = k8s_obj_set_copy(s->patch, "/status/volumes", k8s_obj_at(vols, "/v"));
	s->dirty = true;
	if (!ret)
		ret = live(s, NULL, NULL);
	if (!ret)
		ret = set_now(s, "/seed/completionTime", NULL);
	/* the target's volumes hold the source as of the seed's Backup, made after the start */
	if (!ret && cur(s, "/startTime"))
		ret = k8s_obj_set_str(s->patch, "/status/recoveryPointTime", cur(s, "/startTime"));
	if (!ret)
		ret = k8s_obj_set_int(s->patch, "/status/round", 1);
	snprintf(s->msg, sizeof(s->msg), "seeded: %zu volume(s); sync round 1 next",
		 k8s_obj_len(vols, "/v"));
	if (!ret)
		ret = say(s, "Syncing", 1);
out:
	k8s_obj_free(vols);
	k8s_obj_free(rs);
	k8s_obj_free(db);
	k8s_obj_free(sb);
	return ret;
}

/* ---------------------------------------------------------------- a round */

/*
 * A VolumeTransfer of this migration for volume @v of the target, of
 * @direction, through @repo (the Repository here): what every transfer of
 * it has; the caller adds its own and creates it.
 */
static int new_transfer(struct stage *s, const char *name, const struct k8s_obj *v,
			const char *direction, const struct k8s_obj *repo, struct k8s_obj **out)
{
	struct xfer_repo_ref ref = {0};
	int ret;

	xfer_repo_ref_of_repository(repo, &ref);
	ret = k8s_obj_new_kind(&xfer_volumetransfers, XFER_NS, name, out);
	if (!ret)
		ret = k8s_obj_set_label(*out, MIG_ANN_MIGRATION, s->req->name);
	if (!ret)
		ret = k8s_obj_set_str(*out, "/spec/direction", direction);
	if (!ret)
		ret = k8s_obj_set_str(*out, "/spec/volume", k8s_obj_str(v, "/volume"));
	if (!ret)
		ret = xfer_repo_ref_set(*out, &ref);
	return ret;
}

/* The transfer that writes @snap over volume @v of the target, as a delta onto what it holds. */
static int make_transfer(struct stage *s, const char *name, const struct k8s_obj *v,
			 const char *snap, const struct k8s_obj *repo)
{
	struct k8s_obj *o = NULL;
	int ret = new_transfer(s, name, v, "restore", repo, &o);

	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/snapshotID", snap);
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/onto", k8s_obj_str(v, "/snapshotID"));
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/namespace",
				      k8s_obj_str(v, "/targetNamespace"));
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/target/persistentVolumeClaim",
				      k8s_obj_str(v, "/pvc"));
	if (!ret)
		ret = k8s_obj_set_bool(o, "/spec/target/overwrite", true);
	if (!ret)
		ret = create(s->dst, &xfer_volumetransfers, XFER_NS, o, s->err);
	k8s_obj_free(o);
	return ret;
}

/*
 * A round's Backup in the source ended PartiallyFailed or Failed (a volume's
 * read failed there: a node, the repository, the snapshot): it is deleted
 * (what it stored is forgotten by the source's finalizer) and the round goes
 * again under the next name, RETRY_MIN_S or syncIntervalSeconds later (a
 * cutover's at once: the source is fenced, the window runs), BACKUP_TRIES
 * times in all; then the migration fails, saying why.
 */
static int retry_backup(struct stage *s, const struct k8s_obj *b, const char *bname, const char *bp,
			const char *phase)
{
	struct k8s_call bg = {.propagation = "Background"};
	const char *why = k8s_obj_str(b, "/status/failureReason");
	int64_t a = attempt_of(s), wait_s = 0;
	char t[K8S_TIME_SIZE];
	int ret;

	if (!why)
		why = k8s_obj_str(b, "/status/warningMessages/0");
	if (!why)
		why = "no reason given";
	if (a >= BACKUP_TRIES) {
		snprintf(s->msg, sizeof(s->msg),
			 "Backup %s in the source ended %s: %.400s (try %lld of %d)", bname, bp,
			 why, (long long)a, BACKUP_TRIES);
		return fail(s);
	}
	ret = k8s_delete(s->src, &mig_backups, XFER_NS, bname, &bg, NULL, s->err);
	if (ret && ret != -ENOENT)
		return ret;
	/* those made while it ran (early_copies()) */
	forget_copies(s, bname, k8s_obj_at(s->m, "/status/volumes"));
	if (!is(phase, "CuttingOver"))
		wait_s = s->spec->sync_interval_s > RETRY_MIN_S ? s->spec->sync_interval_s
								: RETRY_MIN_S;
	k8s_time_format(k8s_now_ns() + wait_s * 1000000000LL, true, t);
	ret = k8s_obj_set_int(s->patch, "/status/roundAttempt", a + 1);
	if (!ret)
		ret = k8s_obj_set_str(s->patch, "/status/roundRetryTime", t);
	s->dirty = true;
	snprintf(
		s->msg, sizeof(s->msg),
		"Backup %s in the source ended %s: %.400s; the round again in %lld s (try %lld of %d)",
		bname, bp, why, (long long)wait_s, (long long)a + 1, BACKUP_TRIES);
	return ret ? ret : say(s, phase, wait_s ? (unsigned int)wait_s * 1000 : 1);
}

/*
 * One round (@bname: "<name>-r<N>", or "<name>-final"): the Backup of the
 * claims in the source, then the deltas here. Return: 1 done (*@bytes
 * written, *@read_ms the longest volume's read and upload, the volumes'
 * new snapshots in *@vols), 0 not yet (the message said), -errno.
 */
/*
 * Volume @v of status.volumes into @out ({"v": [...]}) as it is once this
 * round is applied: its new snapshot @snap, and the @w bytes the round wrote
 * onto it added to syncBytes (a sync round) or as finalBytes (@final: the
 * cutover's).
 */
static int keep_volume(struct k8s_obj *out, const struct k8s_obj *v, const char *snap, int64_t w,
		       bool final)
{
	struct k8s_obj *e = k8s_obj_dup(v);
	int64_t had = 0;
	int ret;

	if (!e)
		return -ENOMEM;
	k8s_obj_int(v, "/syncBytes", &had);
	ret = k8s_obj_set_str(e, "/snapshotID", snap);
	if (!ret && !final)
		ret = k8s_obj_set_int(e, "/syncBytes", had + w);
	else if (!ret)
		ret = k8s_obj_set_int(e, "/finalBytes", w);
	if (!ret)
		ret = k8s_obj_set(out, "/v/-", e);
	else
		k8s_obj_free(e);
	return ret;
}

static int round_step(struct stage *s, const char *bname, const char *phase, int64_t *bytes,
		      int64_t *read_ms, int64_t *backup_done, struct k8s_obj **vols)
{
	struct k8s_obj *b = NULL, *repo = NULL, *out = NULL, *rows = NULL;
	size_t i = 0, pending = 0, n = 0;
	const char *bp;
	int ret;

	*bytes = *read_ms = 0;
	ret = fetch(s->src, &mig_backups, XFER_NS, bname, &b, s->err);
	if (ret)
		goto out;
	if (!b) {
		const char *due = cur(s, "/roundRetryTime");
		int64_t at = 0;

		/* a try after a failed one waits its turn */
		if (due && !k8s_time_parse(due, &at) && k8s_now_ns() < at) {
			s->res->reason = phase;
			s->res->message = k8s_obj_str(s->m, "/status/message");
			s->res->requeue_after_ms =
				(unsigned int)((at - k8s_now_ns()) / 1000000) + 1;
			goto out;
		}
		ret = make_backup(s, bname, true);
		snprintf(s->msg, sizeof(s->msg), "Backup %s of the claims made in the source",
			 bname);
		if (!ret)
			ret = say(s, phase, POLL_MS);
		goto out;
	}
	bp = k8s_obj_str(b, "/status/phase");
	if (!ended(bp)) {
		snprintf(s->msg, sizeof(s->msg), "Backup %s of the claims in the source: %s", bname,
			 bp ? bp : "New");
		ret = say(s, phase, is(phase, "CuttingOver") ? CUTOVER_MS : POLL_MS);
		if (!ret)
			ret = live_backup(s, bname, b);
		goto out;
	}
	if (!is(bp, "Completed")) {
		ret = retry_backup(s, b, bname, bp, phase);
		goto out;
	}
	if (backup_done) {
		ret = set_now(s, "/cutover/backupDoneTime", backup_done);
		if (ret)
			goto out;
	}
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(b, "/status/volumes")); v;
	     v = k8s_obj_next(v)) {
		int64_t ms = 0;

		k8s_obj_int(v, "/milliseconds", &ms);
		if (ms > *read_ms)
			*read_ms = ms;
	}
	ret = fetch(s->dst, &xfer_repositories, XFER_NS, s->spec->repository, &repo, s->err);
	if (!ret && !repo) {
		snprintf(s->msg, sizeof(s->msg),
			 "Repository %s/%s not found here (spec.repository)", XFER_NS,
			 s->spec->repository);
		ret = fail(s);
		goto out;
	}
	if (!ret)
		ret = k8s_obj_new(&out);
	if (!ret)
		ret = k8s_obj_set_empty(out, "/v", K8S_T_ARRAY);
	if (!ret)
		ret = live_new(&rows);
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(s->m, "/status/volumes"));
	     !ret && v; v = k8s_obj_next(v), i++) {
		const char *held = k8s_obj_str(v, "/snapshotID");
		const char *tns = k8s_obj_str(v, "/targetNamespace"), *pvc = k8s_obj_str(v, "/pvc");
		const char *snap = snapshot_of(b, k8s_obj_str(v, "/namespace"), pvc);
		char vname[MIG_NAME_MAX + 64];
		struct k8s_obj *vt = NULL;
		const char *vp;
		int64_t w = 0;

		if (!snap) {
			snprintf(s->msg, sizeof(s->msg), "Backup %s has no snapshot of claim %s/%s",
				 bname, k8s_obj_str(v, "/namespace"), pvc);
			ret = fail(s);
			goto out;
		}
		if (is(held, snap)) { /* unchanged: the same snapshot */
			struct live_in in = {
				.stage = "Write", .ns = tns, .pvc = pvc, .state = "Unchanged"};

			ret = keep_volume(out, v, snap, 0, is(phase, "CuttingOver"));
			if (!ret)
				ret = live_row(rows, &in, k8s_now_ns());
			continue;
		}
		n++;
		if (s->spec->copy) { /* the snapshot here first, then its delta */
			copy_name(bname, k8s_obj_str(v, "/namespace"), pvc, vname, sizeof(vname));
			ret = copy_step(s, vname, k8s_obj_str(v, "/volume"), snap, NULL, NULL, repo,
					rows, tns, pvc);
			if (ret == 2) {
				ret = 0; /* failed: said */
				goto out;
			}
			if (ret < 0)
				goto out;
			if (ret == 0) {
				pending++;
				continue;
			}
			ret = 0;
		}
		snprintf(vname, sizeof(vname), "%s-%zu", bname, i);
		ret = fetch(s->dst, &xfer_volumetransfers, XFER_NS, vname, &vt, s->err);
		if (!ret && !vt) {
			ret = make_transfer(s, vname, v, snap, repo);
			if (!ret)
				ret = live_transfer(rows, "Write", tns, pvc, NULL, k8s_now_ns());
			pending++;
			continue;
		}
		vp = k8s_obj_str(vt, "/status/phase");
		if (is(vp, "Failed")) {
			snprintf(s->msg, sizeof(s->msg),
				 "VolumeTransfer %s (claim %s/%s) failed: %.600s", vname,
				 k8s_obj_str(v, "/targetNamespace"), k8s_obj_str(v, "/pvc"),
				 k8s_obj_str(vt, "/status/message")
					 ? k8s_obj_str(vt, "/status/message")
					 : "");
			k8s_obj_free(vt);
			ret = fail(s);
			goto out;
		}
		k8s_obj_int(vt, "/status/bytesWritten", &w);
		*bytes += w;
		if (!is(vp, "Completed"))
			pending++;
		ret = keep_volume(out, v, snap, w, is(phase, "CuttingOver"));
		if (!ret)
			ret = live_transfer(rows, "Write", tns, pvc, vt, k8s_now_ns());
		k8s_obj_free(vt);
	}
	if (ret)
		goto out;
	if (pending) {
		snprintf(s->msg, sizeof(s->msg), "%s: %zu of %zu volume(s) being written here",
			 bname, pending, n);
		ret = say(s, phase, is(phase, "CuttingOver") ? CUTOVER_MS : POLL_MS);
		if (!ret)
			ret = live(s, bname, rows);
		goto out;
	}
	ret = live(s, NULL, NULL);
	if (ret)
		goto out;
	*vols = out;
	out = NULL;
	ret = 1;
out:
	k8s_obj_free(rows);
	k8s_obj_free(out);
	k8s_obj_free(repo);
	k8s_obj_free(b);
	return ret;
}

/*
 * A round no volume here holds any more: its transfers go (they are cleaned
 * up already), and with @backup its Backup in the source (the source's
 * finalizer forgets its snapshots; every later snapshot's manifest is whole,
 * FORMAT.md). A failure is said in the message and tried no more: a Backup
 * left over costs room, not correctness.
 */
static void round_forget(struct stage *s, const char *bname, bool backup)
{
	struct k8s_call now = {.propagation = "Background"};
	size_t n = k8s_obj_len(s->m, "/status/volumes");
	struct k8s_err e;
	int ret;

	for (size_t i = 0; i < n; i++) {
		char vname[MIG_NAME_MAX + 64];

		snprintf(vname, sizeof(vname), "%s-%zu", bname, i);
		k8s_delete(s->dst, &xfer_volumetransfers, XFER_NS, vname, &now, NULL, &e);
	}
	forget_copies(s, bname, k8s_obj_at(s->m, "/status/volumes"));
	if (!backup)
		return;
	ret = k8s_delete(s->src, &mig_backups, XFER_NS, bname, &now, NULL, &e);
	if (ret && ret != -ENOENT) {
		size_t l = strlen(s->msg);

		snprintf(s->msg + l, sizeof(s->msg) - l,
			 " (the old Backup %.100s in the source not deleted: %.200s)", bname,
			 e.msg[0] ? e.msg : strerror(-ret));
		set_str(s, "/message", s->msg);
	}
}

static double seconds(int64_t from, int64_t to)
{
	return to > from ? (double)(to - from) / 1e9 : 0;
}

static int sync(struct stage *s)
{
	struct k8s_obj *vols = NULL, *r = NULL, *rounds = NULL;
	int64_t round = 1, bytes, read_ms, started;
	struct mig_round prev = {0}, now;
	enum mig_verdict v;
	char base[MIG_NAME_MAX + 32], bname[MIG_NAME_MAX + 64], why[512];
	char prev_name[MIG_NAME_MAX + 64] = "";
	bool have_prev = false;
	size_t n;
	int ret;

	k8s_obj_int(s->m, "/status/round", &round);
	n = k8s_obj_len(s->m, "/status/rounds");
	if (n) {
		const struct k8s_obj *last = k8s_obj_first(k8s_obj_at(s->m, "/status/rounds"));
		double sec = 0;

		for (size_t i = 1; i < n; i++)
			last = k8s_obj_next(last);
		k8s_obj_int(last, "/bytesWritten", &prev.bytes);
		if (k8s_obj_str(last, "/backup"))
			snprintf(prev_name, sizeof(prev_name), "%s", k8s_obj_str(last, "/backup"));
		k8s_obj_num(last, "/seconds", &sec);
		prev.seconds = sec;
		have_prev = true;
		/* between rounds, a cutover asked for after one that converged goes now */
		if (s->spec->cutover && !cur(s, "/roundStartTime") &&
		    is(k8s_obj_str(last, "/verdict"), mig_verdict_name(MIG_ROUND_CONVERGED))) {
			snprintf(s->msg, sizeof(s->msg), "cutover: fencing the source");
			return say(s, "CuttingOver", 1);
		}
		/* the interval since the last round */
		if (!cur(s, "/roundStartTime")) {
			int64_t end = 0, due;
			const char *e = k8s_obj_str(last, "/completionTime");

			if (e)
				k8s_time_parse(e, &end);
			due = end + (int64_t)s->spec->sync_interval_s * 1000000000LL;
			if (k8s_now_ns() < due) {
				s->res->reason = "Syncing";
				s->res->message = k8s_obj_str(s->m, "/status/message");
				s->res->requeue_after_ms =
					(unsigned int)((due - k8s_now_ns()) / 1000000) + 1;
				return 0;
			}
		}
	}
	ret = set_now(s, "/roundStartTime", &started);
	snprintf(base, sizeof(base), "%s-r%lld", s->req->name, (long long)round);
	round_name(s, base, bname, sizeof(bname));
	if (!ret)
		ret = round_step(s, bname, "Syncing", &bytes, &read_ms, NULL, &vols);
	if (ret <= 0)
		return ret;
	/* the round is done: its figures, the verdict, what each volume holds now */
	now.bytes = bytes;
	now.seconds = seconds(started, k8s_now_ns());
	v = mig_round_verdict(have_prev ? &prev : NULL, &now, s->spec->cutover_bound_s, why,
			      sizeof(why));
	ret = k8s_obj_new(&r);
	if (!ret)
		ret = k8s_obj_set_int(r, "/round", round);
	if (!ret)
		ret = k8s_obj_set_str(r, "/backup", bname);
	if (!ret)
		ret = k8s_obj_set_str(r, "/startTime", cur(s, "/roundStartTime"));
	if (!ret) {
		char t[K8S_TIME_SIZE];

		k8s_time_format(k8s_now_ns(), true, t);
		ret = k8s_obj_set_str(r, "/completionTime", t);
	}
	if (!ret)
		ret = k8s_obj_set_num(r, "/seconds", (double)(int64_t)(now.seconds * 1000) / 1000);
	if (!ret)
		ret = k8s_obj_set_int(r, "/bytesWritten", bytes);
	if (!ret)
		ret = k8s_obj_set_int(r, "/readMilliseconds", read_ms);
	if (!ret)
		ret = k8s_obj_set_str(r, "/verdict", mig_verdict_name(v));
	/* status.rounds: the last ROUNDS_KEPT */
	if (!ret)
		ret = k8s_obj_new(&rounds);
	if (!ret)
		ret = k8s_obj_set_empty(rounds, "/v", K8S_T_ARRAY);
	{
		size_t skip = n + 1 > ROUNDS_KEPT ? n + 1 - ROUNDS_KEPT : 0, i = 0;

		for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(s->m, "/status/rounds"));
		     !ret && e; e = k8s_obj_next(e), i++)
			if (i >= skip)
				ret = k8s_obj_set_copy(rounds, "/v/-", e);
	}
	if (!ret) {
		ret = k8s_obj_set(rounds, "/v/-", r);
		if (!ret)
			r = NULL;
	}
	if (!ret)
		ret = k8s_obj_set_copy(s->patch, "/status/rounds", k8s_obj_at(rounds, "/v"));
	if (!ret)
		ret = k8s_obj_set_copy(s->patch, "/status/volumes", k8s_obj_at(vols, "/v"));
	if (!ret)
		ret = k8s_obj_set_int(s->patch, "/status/round", round + 1);
	/* ... and now as of this round's Backup, made after its start: the recovery point */
	if (!ret && cur(s, "/roundStartTime"))
		ret = k8s_obj_set_str(s->patch, "/status/recoveryPointTime",
				      cur(s, "/roundStartTime"));
	if (!ret)
		ret = k8s_obj_set_null(s->patch, "/status/roundStartTime");
	if (!ret)
		ret = k8s_obj_set_bool(s->patch, "/status/converged", v == MIG_ROUND_CONVERGED);
	if (!ret)
		ret = round_reset(s);
	s->dirty = true;
	snprintf(s->msg, sizeof(s->msg), "round %lld: %s: %s", (long long)round,
		 mig_verdict_name(v), why);
	if (!ret)
		ret = say(s, "Syncing",
			  s->spec->cutover && v == MIG_ROUND_CONVERGED
				  ? 1
				  : s->spec->sync_interval_s * 1000);
	if (!ret && prev_name[0])
		round_forget(s, prev_name, true);
	k8s_obj_free(rounds);
	k8s_obj_free(r);
	k8s_obj_free(vols);
	return ret;
}

/* ---------------------------------------------------------------- the workloads */

static const struct k8s_resource *const workloads[] = {&k8s_deployments, &k8s_statefulsets};

/* the annotation @key removed by the merge patch @p ('/' in a key is "~1" in a path) */
static int unannotate(struct k8s_obj *p, const char *key)
{
	char path[320];
	int ret = k8s_ptr_join(path, sizeof(path), "/metadata/annotations", key);

	return ret ? ret : k8s_obj_set_null(p, path);
}

/*
 * The source's Deployments and StatefulSets: fenced (annotated, scaled to
 * zero), or with @undo put back as they were. Return: 0; 1 one of them was
 * scaled back up while fenced (the message says which); -errno.
 */
static int fence(struct stage *s, bool undo)
{
	int ret = 0, breach = 0;

	for (size_t i = 0; !ret && i < s->spec->n_namespaces; i++)
		for (size_t k = 0; !ret && k < 2; k++) {
			struct k8s_items *l = NULL;

			ret = k8s_list(s->src, workloads[k], s->spec->namespaces[i], NULL, &l,
				       s->err);
			for (size_t j = 0; !ret && j < k8s_items_len(l); j++) {
				const struct k8s_obj *w = k8s_items_at(l, j);
				const char *mine = k8s_obj_annotation(w, MIG_ANN_MIGRATION);
				const char *had = k8s_obj_annotation(w, MIG_ANN_REPLICAS);
				struct k8s_workload wv;
				struct k8s_obj *p = NULL;
				char n[32];

				if (k8s_workload_view(w, &wv))
					continue;
				if (is(mine, s->req->name) && !undo) {
					if (wv.replicas > 0 && !breach) {
						snprintf(
							s->msg, sizeof(s->msg),
							"cutover paused: %s %s/%s was scaled back up to "
							"%lld while fenced by this migration",
							workloads[k]->kind, wv.meta.ns,
							wv.meta.name, (long long)wv.replicas);
						breach = 1;
					}
					continue;
				}
				if (undo && !is(mine, s->req->name))
					continue;
				ret = k8s_obj_new(&p);
				if (!ret && !undo) {
					snprintf(n, sizeof(n), "%lld", (long long)wv.replicas);
					ret = k8s_obj_set_annotation(p, MIG_ANN_MIGRATION,
								     s->req->name);
					if (!ret)
						ret = k8s_obj_set_annotation(p, MIG_ANN_REPLICAS,
									     n);
					if (!ret)
						ret = k8s_obj_set_annotation(p, MIG_ANN_PAUSED,
									     "true");
					if (!ret)
						ret = k8s_obj_set_int(p, "/spec/replicas", 0);
				} else if (!ret) {
					long long back = had ? strtoll(had, NULL, 10) : 1;

					ret = unannotate(p, MIG_ANN_MIGRATION);
					if (!ret)
						ret = unannotate(p, MIG_ANN_REPLICAS);
					if (!ret)
						ret = unannotate(p, MIG_ANN_PAUSED);
					if (!ret)
						ret = k8s_obj_set_int(p, "/spec/replicas",
								      back >= 0 ? back : 1);
				}
				if (!ret)
					ret = k8s_patch(s->src, workloads[k], wv.meta.ns,
							wv.meta.name, K8S_PATCH_MERGE, p, NULL,
							NULL, s->err);
				k8s_obj_free(p);
			}
			k8s_items_free(l);
		}
	return ret ? ret : breach;
}

/* whether pod @p mounts a claim that moves (status.volumes) */
static bool uses_moved_claim(struct stage *s, const struct k8s_obj *p, const char *ns)
{
	size_t nv = k8s_obj_len(p, "/spec/volumes");

	for (size_t v = 0; v < nv; v++) {
		char path[96];
		const char *claim;

		snprintf(path, sizeof(path), "/spec/volumes/%zu/persistentVolumeClaim/claimName",
			 v);
		claim = k8s_obj_str(p, path);
		if (!claim)
			continue;
		for (const struct k8s_obj *e = k8s_obj_first(k8s_obj_at(s->m, "/status/volumes"));
		     e; e = k8s_obj_next(e))
			if (is(k8s_obj_str(e, "/namespace"), ns) &&
			    is(k8s_obj_str(e, "/pvc"), claim))
				return true;
	}
	return false;
}

/* the source's pods not finished that mount a claim that moves: *@n, the first in *@who */
static int source_users(struct stage *s, size_t *n, char *who, size_t wlen)
{
	int ret = 0;

	*n = 0;
	for (size_t i = 0; !ret && i < s->spec->n_namespaces; i++) {
		struct k8s_items *l = NULL;

		ret = k8s_list(s->src, &k8s_pods, s->spec->namespaces[i], NULL, &l, s->err);
		for (size_t j = 0; !ret && j < k8s_items_len(l); j++) {
			const struct k8s_obj *p = k8s_items_at(l, j);
			struct k8s_pod pv;

			if (k8s_pod_view(p, &pv) || is(pv.phase, "Succeeded") ||
			    is(pv.phase, "Failed") ||
			    !uses_moved_claim(s, p, s->spec->namespaces[i]))
				continue;
			if (!(*n)++)
				snprintf(who, wlen, "%s/%s", s->spec->namespaces[i],
					 pv.meta.name ? pv.meta.name : "?");
		}
		k8s_items_free(l);
	}
	return ret;
}

/* whether a pod of the target's namespaces runs (its containers started), not being deleted */
static int target_running(struct stage *s, bool *running)
{
	int ret = 0;

	*running = false;
	for (size_t i = 0; !ret && !*running && i < s->spec->n_namespaces; i++) {
		struct k8s_items *l = NULL;

		ret = k8s_list(s->dst, &k8s_pods, s->spec->target_namespaces[i], NULL, &l, s->err);
		for (size_t j = 0; !ret && j < k8s_items_len(l); j++) {
			const struct k8s_obj *p = k8s_items_at(l, j);
			struct k8s_pod pv;

			if (!k8s_pod_view(p, &pv) && is(pv.phase, "Running") &&
			    !k8s_obj_at(p, "/metadata/deletionTimestamp"))
				*running = true;
		}
		k8s_items_free(l);
	}
	return ret;
}

/*
 * The target's workloads that the Restore held at zero: scaled to their
 * ferry.io/restore-replicas. Return: 0 (*@want the replicas asked for in
 * all, *@ready those ready); -errno.
 */
static int start_target(struct stage *s, bool scale, int64_t *want, int64_t *ready)
{
	int ret = 0;

	*want = *ready = 0;
	for (size_t i = 0; !ret && i < s->spec->n_namespaces; i++)
		for (size_t k = 0; !ret && k < 2; k++) {
			struct k8s_items *l = NULL;

			ret = k8s_list(s->dst, workloads[k], s->spec->target_namespaces[i], NULL,
				       &l, s->err);
			for (size_t j = 0; !ret && j < k8s_items_len(l); j++) {
				const struct k8s_obj *w = k8s_items_at(l, j);
				const char *n = k8s_obj_annotation(w, MIG_ANN_RESTORED);
				struct k8s_workload wv;
				struct k8s_obj *p = NULL;

				if (k8s_workload_view(w, &wv))
					continue;
				if (!n || !scale) {
					*want += wv.replicas;
					*ready += wv.ready < wv.replicas ? wv.ready : wv.replicas;
					continue;
				}
				*want += strtoll(n, NULL, 10);
				ret = k8s_obj_new(&p);
				if (!ret)
					ret = unannotate(p, MIG_ANN_RESTORED);
				if (!ret)
					ret = k8s_obj_set_int(p, "/spec/replicas",
							      strtoll(n, NULL, 10));
				if (!ret)
					ret = k8s_patch(s->dst, workloads[k], wv.meta.ns,
							wv.meta.name, K8S_PATCH_MERGE, p, NULL,
							NULL, s->err);
				k8s_obj_free(p);
			}
			k8s_items_free(l);
		}
	return ret;
}

/* ---------------------------------------------------------------- verification */

/*
 * The target's volumes compared whole with the final snapshots, read while
 * the target serves: before it starts, a VolumeTransfer "<name>-verify-<i>"
 * per volume takes a backup's path with spec.verify (a VolumeSnapshot of the
 * target claim, cut while no pod uses it; the agent of its node reads all of
 * it and compares each chunk with the snapshot's manifest, storing nothing).
 * The target starts once every snapshot is cut (its status.creationTime);
 * the reads go on after.
 */
static void verify_name(const struct stage *s, size_t i, char *buf, size_t len)
{
	snprintf(buf, len, "%s-verify-%zu", s->req->name, i);
}

static int make_verify(struct stage *s, const char *name, const struct k8s_obj *v,
		       const struct k8s_obj *repo)
{
	struct k8s_obj *o = NULL;
	int ret = new_transfer(s, name, v, "backup", repo, &o);

	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/verify", k8s_obj_str(v, "/snapshotID"));
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/namespace",
				      k8s_obj_str(v, "/targetNamespace"));
	if (!ret)
		ret = k8s_obj_set_str(o, "/spec/source/persistentVolumeClaim",
				      k8s_obj_str(v, "/pvc"));
	if (!ret)
		ret = create(s->dst, &xfer_volumetransfers, XFER_NS, o, s->err);
	k8s_obj_free(o);
	return ret;
}

/*
 * Every volume's verify transfer made, and its snapshot cut. Return: 1 every
 * snapshot cut (or its transfer failed: the target starts all the same, the
 * failure is reported after), 0 not yet (the message said), -errno.
 */
static int verify_cut(struct stage *s)
{
	struct k8s_obj *repo = NULL;
	size_t i = 0, waiting = 0;
	int ret;

	ret = fetch(s->dst, &xfer_repositories, XFER_NS, s->spec->repository, &repo, s->err);
	if (!ret && !repo)
		return 1; /* gone since the final delta: nothing to verify against, said after */
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(s->m, "/status/volumes"));
	     !ret && v; v = k8s_obj_next(v), i++) {
		char vname[MIG_NAME_MAX + 32], sname[XFER_NAME_SIZE];
		struct k8s_obj *vt = NULL, *vs = NULL;

		verify_name(s, i, vname, sizeof(vname));
		ret = fetch(s->dst, &xfer_volumetransfers, XFER_NS, vname, &vt, s->err);
		if (!ret && !vt) {
			ret = make_verify(s, vname, v, repo);
			waiting++;
			continue;
		}
		if (!ret && is(k8s_obj_str(vt, "/status/phase"), "Failed")) {
			k8s_obj_free(vt);
			continue;
		}
		if (!ret)
			ret = xfer_name(k8s_obj_get_uid(vt), sname);
		if (!ret)
			ret = fetch(s->dst, &k8s_volumesnapshots,
				    k8s_obj_str(v, "/targetNamespace"), sname, &vs, s->err);
		if (!ret && !k8s_obj_str(vs, "/status/creationTime"))
			waiting++;
		k8s_obj_free(vs);
		k8s_obj_free(vt);
	}
	k8s_obj_free(repo);
	if (ret)
		return ret;
	if (waiting) {
		snprintf(s->msg, sizeof(s->msg),
			 "cutover: the final delta written; %zu of %zu volume(s) here being "
			 "snapshotted for their verification before the target starts",
			 waiting, i);
		ret = say(s, "CuttingOver", CUTOVER_MS);
		return ret ? ret : 0;
	}
	return 1;
}

/*
 * After the target is ready: each verify transfer's end. Return: 1 all ended
 * (status.verify written, *@bad the volumes that differ, *@unverified those
 * that could not be read), 0 not yet, -errno.
 */
static int verify_end(struct stage *s, size_t *bad, size_t *unverified, int64_t *bytes)
{
	struct k8s_obj *out = NULL;
	size_t i = 0, running = 0;
	int ret = k8s_obj_new(&out);

	*bad = *unverified = 0;
	*bytes = 0;
	if (!ret)
		ret = k8s_obj_set_empty(out, "/v", K8S_T_ARRAY);
	for (const struct k8s_obj *v = k8s_obj_first(k8s_obj_at(s->m, "/status/volumes"));
	     !ret && v; v = k8s_obj_next(v), i++) {
		char vname[MIG_NAME_MAX + 32];
		struct k8s_obj *vt = NULL, *e = NULL;
		const char *vp, *why;
		int64_t n = 0, at = 0, done = 0;

		verify_name(s, i, vname, sizeof(vname));
		ret = fetch(s->dst, &xfer_volumetransfers, XFER_NS, vname, &vt, s->err);
		if (ret)
			break;
		vp = k8s_obj_str(vt, "/status/phase");
		if (vt && !is(vp, "Completed") && !is(vp, "Failed")) {
			running++;
			k8s_obj_free(vt);
			continue;
		}
		why = vt ? k8s_obj_str(vt, "/status/message") : "its VolumeTransfer is gone";
		k8s_obj_int(vt, "/status/verify/mismatches", &n);
		k8s_obj_int(vt, "/status/verify/firstMismatch", &at);
		k8s_obj_int(vt, "/status/bytesDone", &done);
		*bytes += done;
		ret = k8s_obj_new(&e);
		if (!ret)
			ret = k8s_obj_set_str(e, "/namespace", k8s_obj_str(v, "/targetNamespace"));
		if (!ret)
			ret = k8s_obj_set_str(e, "/pvc", k8s_obj_str(v, "/pvc"));
		if (!ret)
			ret = k8s_obj_set_str(e, "/snapshotID", k8s_obj_str(v, "/snapshotID"));
		if (!ret && is(vp, "Completed")) {
			ret = k8s_obj_set_str(e, "/result", "Equal");
		} else if (!ret && n) {
			(*bad)++;
			ret = k8s_obj_set_str(e, "/result", "Differs");
			if (!ret)
				ret = k8s_obj_set_int(e, "/mismatches", n);
			if (!ret)
				ret = k8s_obj_set_int(e, "/firstMismatch", at);
		} else if (!ret) {
			(*unverified)++;
			ret = k8s_obj_set_str(e, "/result", "Unverified");
			if (!ret)
				ret = k8s_obj_set_str(e, "/message", why ? why : "");
		}
		if (!ret) {
			ret = k8s_obj_set(out, "/v/-", e);
			if (!ret)
				e = NULL;
		}
		k8s_obj_free(e);
		k8s_obj_free(vt);
	}
	if (!ret && running) {
		snprintf(
			s->msg, sizeof(s->msg),
			"cut over; the target serves; %zu of %zu volume(s) being compared whole with "
			"the final snapshot",
			running, i);
		ret = say(s, "Verifying", POLL_MS);
		k8s_obj_free(out);
		return ret ? ret : 0;
	}
	if (!ret)
		ret = k8s_obj_set_copy(s->patch, "/status/verify/volumes", k8s_obj_at(out, "/v"));
	s->dirty = true;
	k8s_obj_free(out);
	return ret ? ret : 1;
}

/* ---------------------------------------------------------------- cutover */

static int set_seconds(struct stage *s, const char *path, double v)
{
	char p[128];

	snprintf(p, sizeof(p), "/status/cutover/%s", path);
	s->dirty = true;
	return k8s_obj_set_num(s->patch, p, (double)(int64_t)(v * 1000) / 1000);
}

/* the final Backup's longest read and upload, as written when the delta was (ms) */
static int64_t read_upload_ms(const struct stage *s)
{
	double v = 0;

	k8s_obj_num(s->m, "/status/cutover/readUploadSeconds", &v);
	return (int64_t)(v * 1000);
}

/* Completed: what is left goes; the source keeps the seed and the final Backup (the objects, what moved) */
static void completed(struct stage *s)
{
	size_t nr = k8s_obj_len(s->m, "/status/rounds"), nv = k8s_obj_len(s->m, "/status/volumes");
	const struct k8s_obj *last = k8s_obj_first(k8s_obj_at(s->m, "/status/rounds"));
	const char *fin = k8s_obj_str(s->m, "/status/cutover/backup");
	struct k8s_call now = {.propagation = "Background"};
	struct k8s_err e;

	for (size_t i = 1; last && i < nr; i++)
		last = k8s_obj_next(last);
	if (last && k8s_obj_str(last, "/backup"))
		round_forget(s, k8s_obj_str(last, "/backup"), true);
	if (fin)
		round_forget(s, fin, false);
	for (size_t i = 0; !s->spec->skip_verify && i < nv; i++) {
		char vname[MIG_NAME_MAX + 32];

		verify_name(s, i, vname, sizeof(vname));
		k8s_delete(s->dst, &xfer_volumetransfers, XFER_NS, vname, &now, NULL, &e);
	}
}

/* Verifying: once every volume's comparison ended, Completed (or Failed: a volume differs) */
static int verified(struct stage *s)
{
	size_t bad = 0, unverified = 0, n = k8s_obj_len(s->m, "/status/volumes");
	int64_t bytes = 0, done;
	const char *result;
	int ret;

	ret = verify_end(s, &bad, &unverified, &bytes);
	if (ret <= 0)
		return ret;
	result = bad ? "Differs" : unverified ? "Unverified" : "Equal";
	ret = set_now(s, "/verify/completionTime", &done);
	if (!ret)
		ret = set_str(s, "/verify/result", result);
	if (!ret)
		ret = k8s_obj_set_int(s->patch, "/status/verify/bytesRead", bytes);
	if (!ret)
		ret = k8s_obj_set_num(
			s->patch, "/status/verify/seconds",
			(double)(int64_t)(seconds(when(s, "/cutover/readyTime"), done) * 1000) /
				1000);
	if (ret)
		return ret;
	if (bad) {
		snprintf(s->msg, sizeof(s->msg),
			 "cut over, but %zu of %zu volume(s) here differ from the final snapshot "
			 "(status.verify): the source is fenced and untouched",
			 bad, n);
		return fail(s);
	}
	if (unverified)
		snprintf(s->msg, sizeof(s->msg),
			 "cut over; %zu of %zu volume(s) here could not be compared with the final "
			 "snapshot (status.verify)",
			 unverified, n);
	else
		snprintf(s->msg, sizeof(s->msg),
			 "cut over and verified: each of the %zu volume(s) here equals the final "
			 "snapshot (%lld bytes read %.1f s after the target was ready)",
			 n, (long long)bytes, seconds(when(s, "/cutover/readyTime"), done));
	ret = say(s, "Completed", 0);
	if (!ret)
		completed(s);
	return ret;
}

static int cutover(struct stage *s)
{
	int64_t start, stopped, backup_done = 0, applied, cut, running, done, bytes = 0,
				read_ms = 0;
	int64_t want = 0, ready = 0;
	struct k8s_obj *vols = NULL;
	char base[MIG_NAME_MAX + 8], bname[MIG_NAME_MAX + 32], who[300];
	size_t n;
	int ret;

	ret = set_now(s, "/cutover/startTime", &start);
	if (ret)
		return ret;
	if (!cur(s, "/cutover/sourceStoppedTime")) {
		ret = fence(s, false);
		if (ret < 0)
			return ret;
		if (ret)
			return say(s, "CuttingOver", CUTOVER_MS);
		ret = source_users(s, &n, who, sizeof(who));
		if (ret)
			return ret;
		if (n) {
			snprintf(
				s->msg, sizeof(s->msg),
				"cutover: the source fenced; %zu pod(s) that mount its claims still "
				"running (%s)",
				n, who);
			return say(s, "CuttingOver", CUTOVER_MS);
		}
		ret = set_now(s, "/cutover/sourceStoppedTime", &stopped);
		if (!ret)
			snprintf(s->msg, sizeof(s->msg),
				 "cutover: the source stopped; the final backup");
		return ret ? ret : say(s, "CuttingOver", 1);
	}
	stopped = when(s, "/cutover/sourceStoppedTime");
	if (!cur(s, "/cutover/appliedTime")) {
		/* the fence holds, or the cutover waits */
		ret = fence(s, false);
		if (ret)
			return ret < 0 ? ret : say(s, "CuttingOver", CUTOVER_MS);
		snprintf(base, sizeof(base), "%s-final", s->req->name);
		round_name(s, base, bname, sizeof(bname));
		ret = round_step(s, bname, "CuttingOver", &bytes, &read_ms, &backup_done, &vols);
		if (ret <= 0)
			return ret;
		ret = k8s_obj_set_copy(s->patch, "/status/volumes", k8s_obj_at(vols, "/v"));
		k8s_obj_free(vols);
		if (!ret)
			ret = k8s_obj_set_str(s->patch, "/status/cutover/backup", bname);
		if (!ret)
			ret = round_reset(s);
		if (!ret)
			ret = set_now(s, "/cutover/appliedTime", &applied);
		if (!ret)
			ret = k8s_obj_set_int(s->patch, "/status/cutover/bytesWritten", bytes);
		if (!ret)
			ret = set_seconds(s, "readUploadSeconds", (double)read_ms / 1000);
		s->dirty = true;
		snprintf(s->msg, sizeof(s->msg),
			 "cutover: the final delta written; the target starts");
		return ret ? ret : say(s, "CuttingOver", 1);
	}
	applied = when(s, "/cutover/appliedTime");
	backup_done = when(s, "/cutover/backupDoneTime");
	cut = applied;
	if (!s->spec->skip_verify) {
		if (!cur(s, "/cutover/verifyCutTime")) {
			ret = verify_cut(s);
			if (ret <= 0)
				return ret;
			ret = set_now(s, "/cutover/verifyCutTime", NULL);
			snprintf(s->msg, sizeof(s->msg),
				 "cutover: each volume here snapshotted for its verification; the "
				 "target starts");
			return ret ? ret : say(s, "CuttingOver", 1);
		}
		cut = when(s, "/cutover/verifyCutTime");
	}
	if (cur(s, "/cutover/readyTime"))
		return verified(s);
	if (!cur(s, "/cutover/targetStartTime")) {
		ret = start_target(s, true, &want, &ready);
		if (!ret)
			ret = set_now(s, "/cutover/targetStartTime", NULL);
		snprintf(s->msg, sizeof(s->msg),
			 "cutover: the target's workloads started (%lld replicas)",
			 (long long)want);
		return ret ? ret : say(s, "CuttingOver", CUTOVER_MS);
	}
	ret = start_target(s, false, &want, &ready);
	if (!ret && !cur(s, "/cutover/targetRunningTime")) {
		bool runs = false;

		ret = target_running(s, &runs);
		if (!ret && (runs || (want && ready >= want)))
			ret = set_now(s, "/cutover/targetRunningTime", NULL);
	}
	if (ret)
		return ret;
	if (ready < want) {
		snprintf(s->msg, sizeof(s->msg),
			 "cutover: %lld of %lld replicas ready in the target", (long long)ready,
			 (long long)want);
		return say(s, "CuttingOver", CUTOVER_MS);
	}
	ret = set_now(s, "/cutover/readyTime", &done);
	if (!ret)
		ret = set_seconds(s, "quiesceSeconds", seconds(start, stopped));
	if (!ret)
		ret = set_seconds(s, "backupSeconds", seconds(stopped, backup_done));
	if (!ret)
		ret = set_seconds(s, "applySeconds", seconds(backup_done, applied));
	if (!ret)
		ret = set_seconds(s, "verifySnapshotSeconds", seconds(applied, cut));
	running =
		cur(s, "/cutover/targetRunningTime") ? when(s, "/cutover/targetRunningTime") : done;
	if (!ret)
		ret = set_seconds(s, "snapshotSeconds",
				  seconds(stopped, backup_done) - (double)read_upload_ms(s) / 1000);
	if (!ret)
		ret = set_seconds(s, "startSeconds", seconds(cut, running));
	if (!ret)
		ret = set_seconds(s, "readySeconds", seconds(running, done));
	if (!ret)
		ret = set_seconds(s, "windowSeconds", seconds(stopped, done));
	snprintf(s->msg, sizeof(s->msg),
		 "cut over: the source stopped %.1f s before the target was ready (backup %.1f s, "
		 "apply %.1f s, snapshots to verify %.1f s, start %.1f s, ready %.1f s)%s",
		 seconds(stopped, done), seconds(stopped, backup_done),
		 seconds(backup_done, applied), seconds(applied, cut), seconds(cut, running),
		 seconds(running, done),
		 s->spec->skip_verify ? ""
				      : "; the volumes here being compared whole with the final "
					"snapshots");
	if (!ret && !s->spec->skip_verify)
		return say(s, "Verifying", POLL_MS);
	if (!ret)
		ret = say(s, "Completed", 0);
	if (!ret)
		completed(s);
	return ret;
}

/* ---------------------------------------------------------------- the step */

int mig_stage_step(const struct k8s_reconcile_req *req, const struct mig_spec *spec,
		   struct k8s_client *src, struct k8s_reconcile_res *res, struct k8s_err *err)
{
	static _Thread_local char msg[1024];
	const char *phase = k8s_obj_str(req->obj, "/status/phase");
	struct stage s = {.req = req,
			  .spec = spec,
			  .src = src,
			  .dst = req->client,
			  .m = req->obj,
			  .res = res,
			  .err = err};
	int ret;

	assert(req && spec && src && res && err);
	ret = k8s_obj_new(&s.patch);
	if (ret)
		return k8s_err_set(err, ret, "", "migration %s: out of memory", req->key);
	if (spec->rollback && !is(phase, "RolledBack") && cur(&s, "/cutover/targetStartTime")) {
		snprintf(s.msg, sizeof(s.msg),
			 "rollback refused: the target's workloads were started at %s; only a new "
			 "migration the other way moves the application back",
			 cur(&s, "/cutover/targetStartTime"));
		res->failed = true;
		res->reason = "RollbackRefused";
		res->message = s.msg;
		goto out;
	}
	if (spec->rollback && is(phase, "Failed")) {
		phase = "Syncing"; /* a failed stage before the target started: put the source back */
	} else if (is(phase, "Completed") || is(phase, "RolledBack") || is(phase, "Failed")) {
		res->reason = phase;
		res->failed = is(phase, "Failed");
		snprintf(msg, sizeof(msg), "%s",
			 k8s_obj_str(req->obj, "/status/message")
				 ? k8s_obj_str(req->obj, "/status/message")
				 : "");
		res->message = msg;
		goto out;
	}
	if (spec->rollback) {
		ret = fence(&s, true);
		snprintf(s.msg, sizeof(s.msg),
			 "rolled back: the source's workloads at their replicas again, unfenced");
		if (!ret)
			ret = say(&s, "RolledBack", 0);
	} else if (is(phase, "Planned")) {
		if (!spec->start)
			goto out;
		ret = set_now(&s, "/startTime", NULL);
		snprintf(s.msg, sizeof(s.msg), "the seed starts");
		if (!ret)
			ret = say(&s, "Seeding", 1);
	} else if (is(phase, "Seeding")) {
		ret = seed(&s);
	} else if (is(phase, "Syncing")) {
		ret = sync(&s);
	} else if (is(phase, "CuttingOver") || is(phase, "Verifying")) {
		ret = cutover(&s);
	}
	if (ret < 0)
		goto out;
	ret = 0;
	if (s.dirty) {
		struct k8s_call call = {.subresource = "status"};

		ret = k8s_patch(req->client, &mig_migrations, req->ns, req->name, K8S_PATCH_MERGE,
				s.patch, &call, NULL, err);
	}
out:
	if (res->message && res->message == s.msg) {
		/* the runtime reads it after this frame is gone */
		snprintf(msg, sizeof(msg), "%s", s.msg);
		res->message = msg;
	}
	k8s_obj_free(s.patch);
	return ret;
}
