// SPDX-License-Identifier: MIT
/*
 * control/cluster/restore_ctl.c - the Restore reconciler of `ferry controller`:
 * a Backup's objects read back from its backup record (datapath/dp.h "backup
 * records"), planned as Velero restores them (restore_plan.c) and applied
 * tier by tier (restore_apply.c), the outcome in the Restore's status
 * (cluster.h "THE RESTORE RECONCILER").
 *
 * One reconcile of a Restore in phase New or InProgress:
 *   1. validate, before anything is written: the spec (cluster_restore_opts_read(),
 *      the selection), the Backup spec.backupName in the Restore's namespace
 *      (Completed or PartiallyFailed) or, with spec.storageLocation, its record
 *      alone; the Repository, its password; the record and its archive; the
 *      target storage classes of storageClassMapping; no claim restored with
 *      its data over a PVC that exists. A refusal is phase FailedValidation,
 *      the reason in validationErrors and a False Ready condition, no retry;
 *   2. phase InProgress with startTimestamp (a merge patch carrying the
 *      resourceVersion read: whoever wrote the Restore since wins);
 *   3. the plan applied: tier by tier, a tier's objects in parallel under a
 *      request budget (the client's); an object that exists as this Restore would make it
 *      counts as restored, so a reconcile that died midway is simply run
 *      again (every name is the backup's, or deterministic: the Snapshots);
 *   4. the status: Completed, or PartiallyFailed when an object failed;
 *      counts, times, the first messages, the volumes.
 * Any other failure (the API server, the store) is returned: the runtime
 * retries with backoff and the Restore stays InProgress.
 */
#include <assert.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "cluster_priv.h"
#include "control/cli/cli.h"
#include "control/xfer/xfer.h"
#include "datapath/dp.h"
#include "k8s/k8s.h"

#define RS_DEFAULT_REPO	  "default"
#define RS_MSG_KEEP	  20 /* warningMessages kept in the status */
#define RS_MSG_MAX	  256
#define RS_WORKERS	  8
#define RS_WAIT_MS	  1000	     /* a waiting Restore looks at its claims again */
#define RS_ITEM_TIMEOUT_S (4 * 3600) /* Velero's itemOperationTimeout default */
/* Velero's phases while a restore's data moves (the objects are written) */
#define RS_WAITING	   "WaitingForPluginOperations"
#define RS_WAITING_PARTIAL "WaitingForPluginOperationsPartiallyFailed"

const struct k8s_resource cluster_restores =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "restores", "Restore", true);

static const struct k8s_resource rs_storageclasses =
	K8S_RESOURCE("storage.k8s.io", "v1", "storageclasses", "StorageClass", false);

static const struct k8s_watch restore_watches[] = {
	{.resource = &cluster_restores},
};

/* the condition's message: read by the runtime on this thread after the call */
static _Thread_local char rs_condition_msg[RS_MSG_MAX];

/* one reconcile */
struct rs {
	const struct k8s_reconcile_req *req;
	const char *ns, *name;
	const struct k8s_obj *spec; /* NULL: an empty spec */
	struct cluster_restore_opts opts;
	struct cluster_sel *sel;
	struct cluster_apis apis; /* discovered only for resource filters */
	bool discovered;
	bool fill;		/* restoreVolumes */
	struct k8s_obj *backup; /* NULL: known from its record alone */
	struct cluster_repo repo;
	struct dp_record *rec;
	struct cluster_restore_plan plan;
	int64_t start_ns;
	char invalid[RS_MSG_MAX]; /* a validation failure, "" for none */
	char failed[RS_MSG_MAX];  /* a failure no retry mends (a damaged archive) */
	/* the outcome */
	uint64_t total, restored, warnings, errors;
	char (*msgs)[RS_MSG_MAX];
	size_t nmsgs;
	struct cluster_log notes; /* every warning and error of this pass, for the log */
};

static void rs_fini(struct rs *r)
{
	cluster_restore_plan_fini(&r->plan);
	dp_record_free(r->rec);
	cluster_repo_close(&r->repo);
	k8s_obj_free(r->backup);
	if (r->discovered)
		cluster_apis_fini(&r->apis);
	cluster_sel_free(r->sel);
	cluster_restore_opts_fini(&r->opts);
	free(r->msgs);
	cluster_log_fini(&r->notes);
}

/* a warning (@error false) or an error of the Restore, counted, logged; the first kept */
static int rs_note(struct rs *r, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int rs_note(struct rs *r, bool error, const char *fmt, ...)
{
	char msg[RS_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	if (error)
		r->errors++;
	else
		r->warnings++;
	/* the log says it too: a 403 there names the rule to grant */
	ctl_log(error ? CTL_LOG_ERR : CTL_LOG_WARN, "restore %s/%s: %s", r->ns, r->name, msg);
	cluster_log_add(&r->notes, k8s_now_ns(), error ? "error" : "warning", "%s", msg);
	if (r->nmsgs < RS_MSG_KEEP) {
		char(*n)[RS_MSG_MAX] = realloc(r->msgs, (r->nmsgs + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		r->msgs = n;
		memcpy(r->msgs[r->nmsgs++], msg, sizeof(msg));
	}
	return 0;
}

/* ------------------------------------------------------------ validation */

static bool phase_restorable(const char *phase)
{
	return phase && (!strcmp(phase, "Completed") || !strcmp(phase, "PartiallyFailed"));
}

/* what the spec asks, read: options, selection, Velero's mapping ConfigMap */
static int rs_spec(struct rs *r, struct k8s_err *err)
{
	const char *cm_name =
		r->spec ? k8s_obj_str(r->spec, "/storageClassMappingConfigMap") : NULL;
	struct k8s_obj *cm = NULL;
	struct cluster_err why;
	int ret;

	ret = cluster_restore_opts_read(r->spec, r->name, &r->opts, &why);
	if (ret == -EINVAL)
		return cluster_refuse(r->invalid, sizeof(r->invalid), "%s", why.msg);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the spec: out of memory");
	if (!r->opts.backup_name[0])
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "spec.backupName is required (a Restore from a scheduleName "
				      "is not supported yet)");
	ret = cluster_sel_parse(r->spec, &r->sel, &why);
	if (ret == -EINVAL)
		return cluster_refuse(r->invalid, sizeof(r->invalid), "%s", why.msg);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the selection: out of memory");
	r->fill = true;
	if (r->spec && k8s_obj_type(r->spec, "/restoreVolumes") == K8S_T_BOOL)
		k8s_obj_bool(r->spec, "/restoreVolumes", &r->fill);
	else if (r->spec && k8s_obj_type(r->spec, "/restorePVs") == K8S_T_BOOL)
		k8s_obj_bool(r->spec, "/restorePVs", &r->fill);
	if (!cm_name || !cm_name[0])
		return 0;
	ret = k8s_get(r->req->client, &k8s_configmaps, r->ns, cm_name, NULL, &cm, err);
	if (ret == -ENOENT)
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "spec.storageClassMappingConfigMap: the ConfigMap %s/%.200s "
				      "does not exist",
				      r->ns, cm_name);
	if (ret)
		return ret;
	ret = cluster_restore_opts_configmap(&r->opts, cm, &why);
	k8s_obj_free(cm);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory",
				    "the mapping ConfigMap: out of memory");
	if (ret)
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "spec.storageClassMappingConfigMap %.100s: %.140s", cm_name,
				      why.msg);
	return 0;
}

/* the Backup, its Repository opened, its record read */
static int rs_backup(struct rs *r, struct k8s_err *err)
{
	const char *bname = r->opts.backup_name;
	const char *loc = r->spec ? k8s_obj_str(r->spec, "/storageLocation") : NULL;
	const char *phase, *id = NULL;
	int ret;

	ret = k8s_get(r->req->client, &cluster_backups, r->ns, bname, NULL, &r->backup, err);
	if (ret == -ENOENT && !(loc && loc[0]))
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "the Backup %s/%.200s does not exist (name a Repository in "
				      "spec.storageLocation to restore from its record alone)",
				      r->ns, bname);
	if (ret && ret != -ENOENT)
		return ret;
	if (r->backup) {
		phase = k8s_obj_str(r->backup, "/status/phase");
		if (!phase_restorable(phase))
			return cluster_refuse(r->invalid, sizeof(r->invalid),
					      "the Backup %s/%.200s is %s, not Completed or "
					      "PartiallyFailed",
					      r->ns, bname, phase ? phase : "New");
		id = k8s_obj_str(r->backup, "/status/recordId");
		if (!loc || !loc[0])
			loc = k8s_obj_str(r->backup, "/spec/storageLocation");
	}
	if (!loc || !loc[0])
		loc = RS_DEFAULT_REPO;
	ret = cluster_repo_open(r->req->client, loc, false, &r->repo, err);
	if (ret == 1)
		return cluster_refuse(r->invalid, sizeof(r->invalid), "%s", r->repo.why);
	if (ret)
		return ret;
	/* the Backup's own record, or the one of its name in this namespace */
	ret = dp_record_get(r->repo.repo, id ? id : bname, id ? NULL : r->ns, NULL, &r->rec);
	if (ret == -ENOENT)
		return cluster_refuse(
			r->invalid, sizeof(r->invalid),
			"the Repository %s/%.100s holds no backup record of Backup %s/%.100s",
			CLUSTER_REPO_NS, loc, r->ns, bname);
	if (ret == -ENOTUNIQ)
		return cluster_refuse(
			r->invalid, sizeof(r->invalid),
			"the Repository %s/%.100s holds several backup records named "
			"%.100s in %s (of several clusters): restore one by its Backup",
			CLUSTER_REPO_NS, loc, bname, r->ns);
	if (ret == -EUCLEAN)
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "the backup record of Backup %s/%.100s is damaged: %.100s",
				      r->ns, bname, dp_last_error());
	if (ret)
		return cluster_fail(err, ret, "RecordUnreadable", "the backup record: %s",
				    dp_last_error());
	if (strcmp(r->rec->name, bname))
		return cluster_refuse(r->invalid, sizeof(r->invalid),
				      "the backup record %.64s is of Backup %.100s, not %.100s",
				      r->rec->id, r->rec->name, bname);
	return 0;
}

/* the target classes of storageClassMapping exist */
static int rs_classes(struct rs *r, struct k8s_err *err)
{
	for (size_t i = 0; i < r->opts.n_sc_map; i++) {
		const char *to = r->opts.sc_map[i].to;
		struct k8s_obj *sc = NULL;
		int ret;

		ret = k8s_get(r->req->client, &rs_storageclasses, NULL, to, NULL, &sc, err);
		k8s_obj_free(sc);
		if (ret == -ENOENT)
			return cluster_refuse(
				r->invalid, sizeof(r->invalid),
				"storageClassMapping %.100s: the storage class %.100s does "
				"not exist",
				r->opts.sc_map[i].from, to);
		if (ret)
			return ret;
	}
	return 0;
}

/* ------------------------------------------------------------ the plan */

/* whether the Restore's selection takes @obj (as backed up) */
static bool rs_selected(struct rs *r, const struct k8s_obj *obj)
{
	const char *av = k8s_obj_str(obj, "/apiVersion"), *kind = k8s_obj_str(obj, "/kind");
	const char *ns = k8s_obj_get_ns(obj), *slash = strchr(av, '/');
	const struct cluster_res *res = NULL;
	struct cluster_res syn = {0};
	bool related;

	if (!slash && !strcmp(kind, "Namespace")) /* follows the namespace filters */
		return cluster_sel_namespace(r->sel, k8s_obj_get_name(obj));
	if (r->discovered)
		res = cluster_apis_find(&r->apis, av, kind);
	if (!res) { /* no resource filters, or a kind the cluster does not serve (yet) */
		if (slash)
			snprintf(syn.group, sizeof(syn.group), "%.*s", (int)(slash - av), av);
		snprintf(syn.kind, sizeof(syn.kind), "%s", kind);
		syn.namespaced = ns && ns[0];
		res = &syn;
	}
	/* CRDs and PVs come with what needs them, as Velero restores them */
	related = (!strcmp(kind, "CustomResourceDefinition") && slash) ||
		  (!slash && !strcmp(kind, "PersistentVolume"));
	return cluster_sel_object(r->sel, res, obj, related) == CLUSTER_TAKE;
}

static int rs_line(void *arg, const char *line, size_t len)
{
	struct rs *r = arg;
	struct cluster_err why;
	int ret;

	ret = cluster_restore_plan_line(&r->plan, line, len, &why);
	if (ret == -EINVAL) /* the restore goes on without it */
		return rs_note(r, true, "an object of the archive is refused: %s", why.msg);
	if (ret)
		return ret;
	if (!rs_selected(r, r->plan.items[r->plan.n - 1].obj)) {
		k8s_obj_free(r->plan.items[r->plan.n - 1].obj);
		r->plan.n--;
	}
	return 0;
}

/* the record's volumes as the plan takes them (borrowed from the record) */
static int rs_volumes(struct rs *r, struct k8s_err *err)
{
	struct cluster_restore_volume *v = NULL;
	struct cluster_snapshot_src src = {0};
	struct cluster_err why;
	int ret;

	if (r->rec->nvolumes) {
		v = calloc(r->rec->nvolumes, sizeof(*v));
		if (!v)
			return cluster_fail(err, -ENOMEM, "OutOfMemory",
					    "the volumes: out of memory");
	}
	for (size_t i = 0; i < r->rec->nvolumes; i++) {
		const struct dp_record_volume *rv = &r->rec->volumes[i];

		v[i] = (struct cluster_restore_volume){.ns = rv->namespace,
						       .pvc = rv->pvc,
						       .volume = rv->volume,
						       .snapshot = rv->snapshot,
						       .size = rv->size};
	}
	src.repository = r->repo.name;
	src.url = k8s_obj_str(r->repo.obj, "/spec/url");
	src.password_secret = k8s_obj_str(r->repo.obj, "/spec/passwordSecret/name");
	src.password_key = k8s_obj_str(r->repo.obj, "/spec/passwordSecret/key");
	ret = cluster_restore_plan_volumes(&r->plan, &r->opts, v, r->rec->nvolumes, &src, r->fill,
					   &why);
	free(v);
	if (ret == -EINVAL)
		return cluster_refuse(r->invalid, sizeof(r->invalid), "%s", why.msg);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the volumes: %s", why.msg);
	return 0;
}

/*
 * A claim filled from a snapshot over a PVC that exists: out of scope,
 * refused. One this Restore made in an earlier pass (labelled with its name:
 * a controller restarted mid-restore plans again) is its own, not a clash.
 */
static int rs_claims_free(struct rs *r, struct k8s_err *err)
{
	for (size_t i = 0; i < r->plan.n; i++) {
		const struct cluster_plan_item *it = &r->plan.items[i];
		const char *src = k8s_obj_str(it->obj, "/spec/dataSourceRef/kind");
		struct k8s_obj *pvc = NULL;
		bool mine;
		int ret;

		if (it->skip || it->group[0] || strcmp(it->kind, "PersistentVolumeClaim") || !src ||
		    strcmp(src, "Snapshot"))
			continue;
		ret = k8s_get(r->req->client, &k8s_pvcs, it->ns, it->name, NULL, &pvc, err);
		mine = !ret && k8s_obj_label(pvc, CLUSTER_LABEL_RESTORE_NAME) &&
		       !strcmp(k8s_obj_label(pvc, CLUSTER_LABEL_RESTORE_NAME), r->name);
		k8s_obj_free(pvc);
		if (ret == 0 && !mine)
			return cluster_refuse(
				r->invalid, sizeof(r->invalid),
				"the PersistentVolumeClaim %s/%.100s exists: restoring a "
				"volume into an existing claim is not supported (delete it, "
				"or restore into another namespace with namespaceMapping)",
				it->ns, it->name);
		if (ret && ret != -ENOENT)
			return ret;
	}
	return 0;
}

/*
 * scaleWorkloadsToZero: the node of each claim the populator fills in a
 * WaitForFirstConsumer class (cluster_restore_plan_nodes()), from the
 * cluster's Nodes, CSINodes and the claims' StorageClasses. Nodes the
 * controller may not list: a warning, the claims without a node; CSINodes
 * it may not list: a warning, the volume limits not counted.
 */
static int rs_nodes(struct rs *r, struct k8s_err *err)
{
	struct k8s_items *nodes = NULL, *csinodes = NULL;
	const struct k8s_obj **cls = NULL, **nl = NULL, **cl = NULL;
	struct cluster_node_facts f = {0};
	struct cluster_err why;
	size_t ncls = 0;
	int ret = 0;

	for (size_t i = 0; i < r->plan.n; i++) {
		const struct cluster_plan_item *it = &r->plan.items[i];
		const char *sc = k8s_obj_str(it->obj, "/spec/storageClassName");
		struct k8s_obj *o = NULL;
		bool have = false;

		if (it->skip || it->group[0] || strcmp(it->kind, "PersistentVolumeClaim") ||
		    !k8s_obj_str(it->obj, "/spec/dataSourceRef/name") || !sc)
			continue;
		for (size_t j = 0; j < ncls && !have; j++)
			have = !strcmp(k8s_obj_get_name(cls[j]), sc);
		if (have)
			continue;
		ret = k8s_get(r->req->client, &rs_storageclasses, NULL, sc, NULL, &o, err);
		if (ret == -ENOENT) {
			ret = 0;
			continue;
		}
		if (ret)
			goto out;
		const struct k8s_obj **n = realloc(cls, (ncls + 1) * sizeof(*n));
		if (!n) {
			k8s_obj_free(o);
			ret = cluster_fail(err, -ENOMEM, "OutOfMemory",
					   "the classes: out of memory");
			goto out;
		}
		cls = n;
		cls[ncls++] = o;
	}
	if (!ncls) /* no claim to fill, or none of a class that exists: nothing to choose */
		goto out;
	ret = k8s_list(r->req->client, &k8s_nodes, NULL, NULL, &nodes, err);
	if (ret == -EPERM) {
		ret = rs_note(r, false,
			      "scaleWorkloadsToZero: no node chosen for the claims: %.180s",
			      err->msg);
		goto out;
	}
	if (ret)
		goto out;
	ret = k8s_list(r->req->client, &k8s_csinodes, NULL, NULL, &csinodes, err);
	if (ret == -EPERM) {
		ret = rs_note(r, false,
			      "scaleWorkloadsToZero: the nodes' CSI volume limits are not counted: "
			      "%.160s",
			      err->msg);
		csinodes = NULL;
	}
	if (ret)
		goto out;
	nl = calloc(k8s_items_len(nodes) + 1, sizeof(*nl));
	cl = calloc(k8s_items_len(csinodes) + 1, sizeof(*cl));
	if (!nl || !cl) {
		ret = cluster_fail(err, -ENOMEM, "OutOfMemory", "the nodes: out of memory");
		goto out;
	}
	for (size_t i = 0; i < k8s_items_len(nodes); i++)
		nl[i] = k8s_items_at(nodes, i);
	for (size_t i = 0; i < k8s_items_len(csinodes); i++)
		cl[i] = k8s_items_at(csinodes, i);
	f = (struct cluster_node_facts){.nodes = nl,
					.nnodes = k8s_items_len(nodes),
					.csinodes = cl,
					.ncsinodes = k8s_items_len(csinodes),
					.classes = cls,
					.nclasses = ncls};
	ret = cluster_restore_plan_nodes(&r->plan, &f, &why);
	if (ret)
		ret = cluster_fail(err, ret, "OutOfMemory", "%s", why.msg);
out:
	for (size_t j = 0; j < ncls; j++)
		k8s_obj_free((struct k8s_obj *)cls[j]);
	free(cls);
	free(nl);
	free(cl);
	k8s_items_free(nodes);
	k8s_items_free(csinodes);
	return ret;
}

/* the plan from the record's archive, checked against the cluster */
static int rs_plan(struct rs *r, struct k8s_err *err)
{
	struct cluster_err why;
	int ret;

	if (r->spec && (k8s_obj_at(r->spec, "/includedResources") ||
			k8s_obj_at(r->spec, "/excludedResources"))) {
		ret = cluster_discover(r->req->client, &r->apis, NULL, &why);
		if (ret)
			return cluster_fail(err, ret, "DiscoveryFailed", "discovery: %s", why.msg);
		r->discovered = true;
	}
	ret = dp_archive_read(r->repo.repo, r->rec, rs_line, r);
	if (ret == -EUCLEAN) {
		snprintf(r->failed, sizeof(r->failed), "the archive of backup record %.64s: %.150s",
			 r->rec->id, dp_last_error());
		return 1;
	}
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory", "the archive: out of memory");
	if (ret)
		return cluster_fail(err, ret, "RecordUnreadable", "the archive: %s",
				    dp_last_error());
	ret = cluster_restore_plan_finish(&r->plan, &r->opts, &why);
	if (ret == -EINVAL)
		return cluster_refuse(r->invalid, sizeof(r->invalid), "the archive: %s", why.msg);
	if (ret)
		return cluster_fail(err, ret, "OutOfMemory", "the plan: out of memory");
	ret = rs_volumes(r, err);
	if (!ret)
		ret = rs_claims_free(r, err);
	if (!ret && r->opts.scale_to_zero && r->fill)
		ret = rs_nodes(r, err);
	return ret;
}

/* ------------------------------------------------------------ the log */

static const char *rs_or(const char *s, const char *none)
{
	return s ? s : none;
}

/* @path of the status as it ends: the patch @st's, else the Restore's */
static const struct k8s_obj *rs_status_at(const struct rs *r, const struct k8s_obj *st,
					  const char *path)
{
	char full[128];
	const struct k8s_obj *o = k8s_obj_at(st, path);

	if (o)
		return o;
	snprintf(full, sizeof(full), "/status%s", path);
	return k8s_obj_at(r->req->obj, full);
}

static int64_t rs_status_int(const struct rs *r, const struct k8s_obj *st, const char *path)
{
	int64_t v = 0;

	k8s_obj_int(rs_status_at(r, st, path), "", &v);
	return v;
}

/* a log not written: a warning of the Restore, in the status @st that ends it */
static void rs_log_failed(struct rs *r, struct k8s_obj *st, const char *why)
{
	struct k8s_obj *msgs = NULL;
	char msg[RS_MSG_MAX];
	int ret = 0;

	snprintf(msg, sizeof(msg), "the log is not in the repository: %.200s", why);
	ctl_log(CTL_LOG_WARN, "restore %s/%s: %s", r->ns, r->name, msg);
	if (!k8s_obj_at(st, "/warningMessages")) {
		msgs = k8s_obj_dup(k8s_obj_at(r->req->obj, "/status/warningMessages"));
		ret = msgs ? k8s_obj_set(st, "/warningMessages", msgs)
			   : k8s_obj_set_empty(st, "/warningMessages", K8S_T_ARRAY);
		if (ret)
			k8s_obj_free(msgs);
	}
	if (!ret && k8s_obj_len(st, "/warningMessages") < RS_MSG_KEEP)
		ret = k8s_obj_set_str(st, "/warningMessages/-", msg);
	if (!ret)
		k8s_obj_set_int(st, "/warnings", rs_status_int(r, st, "/warnings") + 1);
}

/*
 * The Restore's log as it ends with the status patch @st (over the status it
 * has), beside the record @record_id in its Repository (opened here when
 * this pass has not), unless that Repository is ReadOnly. Composed from
 * what is durable: the spec, the status, this pass's warnings (else those
 * the status keeps). Not written: a warning in @st.
 */
static void rs_log_write(struct rs *r, struct k8s_obj *st, const char *record_id)
{
	const struct k8s_obj *spec = k8s_obj_at(r->req->obj, "/spec");
	const char *phase = k8s_obj_str(st, "/phase");
	const char *bname = k8s_obj_str(r->req->obj, "/spec/backupName");
	const char *loc = k8s_obj_str(r->req->obj, "/spec/storageLocation");
	int64_t start = cluster_time_of(st, "/startTimestamp");
	int64_t end = cluster_time_of(st, "/completionTimestamp");
	char cluster[CLUSTER_NAME_MAX + 1], why[CLUSTER_MSG_MAX + 64];
	struct k8s_obj *bk = NULL;
	struct cluster_log l = {0};
	struct k8s_err err = {0};
	int ret = 0;

	if (!start)
		start = cluster_time_of(r->req->obj, "/status/startTimestamp");
	if (!end)
		end = k8s_now_ns();
	if (!phase || !record_id || strlen(record_id) != 64)
		return;
	if (!r->repo.repo) { /* a Restore that waited for its volumes: its Repository again */
		if ((!loc || !loc[0]) && bname &&
		    !k8s_get(r->req->client, &cluster_backups, r->ns, bname, NULL, &bk, &err))
			loc = k8s_obj_str(bk, "/spec/storageLocation");
		ret = cluster_repo_open(r->req->client, loc && loc[0] ? loc : RS_DEFAULT_REPO,
					false, &r->repo, &err);
		snprintf(why, sizeof(why), "%s", ret == 1 ? r->repo.why : err.msg);
	}
	if (!ret && cluster_repo_read_only(&r->repo)) {
		ctl_log(CTL_LOG_INFO, "restore %s/%s: no log: the Repository %s/%s is ReadOnly",
			r->ns, r->name, CLUSTER_REPO_NS, r->repo.name);
		goto out;
	}
	if (!ret) {
		ret = cluster_id_read(r->req->client, cluster, &err);
		snprintf(why, sizeof(why), "the cluster's id: %s", err.msg);
	}
	if (ret) {
		rs_log_failed(r, st, why);
		goto out;
	}
	cluster_log_add(&l, start ? start : end, "info", "restore %s/%s started", r->ns, r->name);
	for (const struct k8s_obj *f = k8s_obj_first(spec); f; f = k8s_obj_next(f)) {
		char *json = k8s_obj_json(f);

		cluster_log_add(&l, start ? start : end, "info", "spec.%s: %.1000s",
				k8s_obj_name(f), json ? json : "?");
		free(json);
	}
	cluster_log_add(&l, start ? start : end, "info",
			"from Backup %s/%s: record %s in Repository %s/%s", r->ns,
			bname ? bname : "?", record_id, CLUSTER_REPO_NS, r->repo.name);
	if (r->notes.len) {
		cluster_log_append(&l, &r->notes);
	} else {
		for (const struct k8s_obj *m =
			     k8s_obj_first(rs_status_at(r, st, "/warningMessages"));
		     m; m = k8s_obj_next(m))
			cluster_log_add(&l, end, "warning", "%s", rs_or(k8s_obj_str(m, ""), "?"));
	}
	if (k8s_obj_str(st, "/failureReason"))
		cluster_log_add(&l, end, "error", "%s", k8s_obj_str(st, "/failureReason"));
	cluster_log_add(&l, end, "info",
			"objects: %lld of %lld restored, %lld warnings, %lld errors (each object "
			"skipped or failed is a warning or an error above)",
			(long long)rs_status_int(r, st, "/progress/itemsRestored"),
			(long long)rs_status_int(r, st, "/progress/totalItems"),
			(long long)rs_status_int(r, st, "/warnings"),
			(long long)rs_status_int(r, st, "/errors"));
	for (const struct k8s_obj *v = k8s_obj_first(rs_status_at(r, st, "/volumes")); v;
	     v = k8s_obj_next(v)) {
		const char *vp = k8s_obj_str(v, "/phase"), *snap = k8s_obj_str(v, "/snapshotId");
		int64_t size = 0, done = 0;

		k8s_obj_int(v, "/size", &size);
		k8s_obj_int(v, "/bytesDone", &done);
		cluster_log_add(&l, end, vp && !strcmp(vp, "Failed") ? "error" : "info",
				"volume %s/%s: %s: %s (snapshot %s, %lld bytes, %lld written)",
				rs_or(k8s_obj_str(v, "/namespace"), "?"),
				rs_or(k8s_obj_str(v, "/pvc"), "?"), vp ? vp : "?",
				rs_or(k8s_obj_str(v, "/message"), ""), snap ? snap : "<none>",
				(long long)size, (long long)done);
	}
	cluster_log_add(&l, end, !strcmp(phase, "Completed") ? "info" : "warning",
			"restore %s/%s ended: %s", r->ns, r->name, phase);
	if (cluster_log_put(r->repo.repo, record_id, r->ns, r->name, cluster, &l, why, sizeof(why)))
		rs_log_failed(r, st, why);
out:
	cluster_log_fini(&l);
	k8s_obj_free(bk);
}

/* ------------------------------------------------------------ the status */

/* FailedValidation (@r->invalid) or Failed (@r->failed): the reason, the time */
static int rs_write_refused(struct rs *r, struct k8s_err *err)
{
	bool invalid = r->invalid[0];
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", invalid ? "FailedValidation" : "Failed");
	if (!ret && invalid)
		ret = k8s_obj_set_empty(st, "/validationErrors", K8S_T_ARRAY);
	if (!ret && invalid)
		ret = k8s_obj_set_str(st, "/validationErrors/-", r->invalid);
	if (!ret && !invalid)
		ret = k8s_obj_set_str(st, "/failureReason", r->failed);
	if (!ret && !invalid && r->rec)
		ret = k8s_obj_set_str(st, "/recordId", r->rec->id);
	if (!ret && !invalid)
		ret = cluster_set_time(st, "/startTimestamp", r->start_ns);
	if (!ret)
		ret = cluster_set_time(st, "/completionTimestamp", k8s_now_ns());
	if (!ret && !invalid && r->rec)
		rs_log_write(r, st, r->rec->id);
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(r->req->client, &cluster_restores, r->ns, r->name, st,
				    invalid ? k8s_obj_get_rv(r->req->obj) : NULL, err);
}

/* status.volumes: each claim of the plan that a volume of the backup is for */
static int rs_status_volumes(const struct rs *r, struct k8s_obj *st)
{
	int ret = 0;
	size_t n = 0;

	for (size_t i = 0; !ret && i < r->plan.n; i++) {
		const struct cluster_plan_item *it = &r->plan.items[i];
		const char *snap = k8s_obj_str(it->obj, "/spec/dataSourceRef/name");
		const struct dp_record_volume *v = NULL;
		struct k8s_obj *e = NULL;
		char msg[RS_MSG_MAX];

		if (it->group[0] || strcmp(it->kind, "PersistentVolumeClaim"))
			continue;
		for (size_t j = 0; j < r->rec->nvolumes && !v; j++)
			if (!strcmp(r->rec->volumes[j].pvc, it->name) &&
			    !strcmp(cluster_restore_map(r->opts.ns_map, r->opts.n_ns_map,
							r->rec->volumes[j].namespace),
				    it->ns))
				v = &r->rec->volumes[j];
		if (!v)
			continue;
		if (!n++)
			ret = k8s_obj_set_empty(st, "/volumes", K8S_T_ARRAY);
		if (!ret)
			ret = k8s_obj_new(&e);
		if (!ret)
			ret = k8s_obj_set_str(e, "/namespace", it->ns);
		if (!ret)
			ret = k8s_obj_set_str(e, "/pvc", it->name);
		if (!ret && v->snapshot[0])
			ret = k8s_obj_set_str(e, "/snapshotId", v->snapshot);
		if (!ret)
			ret = k8s_obj_set_int(e, "/size", (int64_t)v->size);
		if (r->fill && snap)
			snprintf(msg, sizeof(msg),
				 "filled by the volume populator from Snapshot %.63s/%.120s",
				 it->ns, snap);
		else
			snprintf(msg, sizeof(msg), "%s",
				 r->fill ? "the backup holds no data of it: restored empty"
					 : "restoreVolumes false: restored empty");
		if (!ret)
			ret = k8s_obj_set_str(e, "/phase",
					      r->fill && snap ? "InProgress" : "Skipped");
		if (!ret)
			ret = k8s_obj_set_str(e, "/message", msg);
		if (!ret) {
			ret = k8s_obj_set(st, "/volumes/-", e);
			e = NULL;
		}
		k8s_obj_free(e);
	}
	return ret;
}

/* whether the plan fills a claim from a Snapshot: then the Restore waits for it */
static bool rs_fills(const struct rs *r)
{
	for (size_t i = 0; r->fill && i < r->plan.n; i++) {
		const struct cluster_plan_item *it = &r->plan.items[i];

		if (!it->skip && !it->group[0] && !strcmp(it->kind, "PersistentVolumeClaim") &&
		    k8s_obj_str(it->obj, "/spec/dataSourceRef/name"))
			return true;
	}
	return false;
}

/* the objects are written: the final phase, or the wait for the filled claims */
static int rs_write_done(struct rs *r, bool wait, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	const char *phase;
	int ret = k8s_obj_new(&st);

	if (wait)
		phase = r->errors ? RS_WAITING_PARTIAL : RS_WAITING;
	else
		phase = r->errors ? "PartiallyFailed" : "Completed";
	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", phase);
	if (!ret)
		ret = cluster_set_time(st, "/startTimestamp", r->start_ns);
	if (!ret && !wait)
		ret = cluster_set_time(st, "/completionTimestamp", k8s_now_ns());
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/totalItems", (int64_t)r->total);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/itemsRestored", (int64_t)r->restored);
	if (!ret)
		ret = k8s_obj_set_int(st, "/warnings", (int64_t)r->warnings);
	if (!ret)
		ret = k8s_obj_set_int(st, "/errors", (int64_t)r->errors);
	if (!ret)
		ret = k8s_obj_set_str(st, "/recordId", r->rec->id);
	if (!ret && r->nmsgs) {
		ret = k8s_obj_set_empty(st, "/warningMessages", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < r->nmsgs; i++)
			ret = k8s_obj_set_str(st, "/warningMessages/-", r->msgs[i]);
	}
	if (!ret)
		ret = rs_status_volumes(r, st);
	if (!ret && !wait)
		rs_log_write(r, st, r->rec->id);
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(r->req->client, &cluster_restores, r->ns, r->name, st, NULL,
				    err);
}

/* ------------------------------------------------------------ the volumes' wait */

/* @v (an element of status.volumes) set to @phase, @msg and @done; whether it changed */
static int rs_volume_set(struct k8s_obj *v, const char *phase, const char *msg, int64_t done,
			 bool *changed)
{
	const char *was = k8s_obj_str(v, "/phase"), *said = k8s_obj_str(v, "/message");
	int64_t had = -1;
	int ret = 0;

	k8s_obj_int(v, "/bytesDone", &had);
	if (!was || strcmp(was, phase)) {
		ret = k8s_obj_set_str(v, "/phase", phase);
		*changed = true;
	}
	if (!ret && msg && (!said || strcmp(said, msg))) {
		ret = k8s_obj_set_str(v, "/message", msg);
		*changed = true;
	}
	if (!ret && done >= 0 && done != had) {
		ret = k8s_obj_set_int(v, "/bytesDone", done);
		*changed = true;
	}
	return ret;
}

/*
 * One filled claim looked at: Completed once Bound (the populator binds it only
 * with its data complete), Failed when its restore transfer failed (its message)
 * or the claim is gone, else InProgress with the transfer's bytes.
 */
static int rs_volume_check(struct rs *r, struct k8s_obj *v, bool *changed, struct k8s_err *err)
{
	const char *ns = k8s_obj_str(v, "/namespace"), *pvc = k8s_obj_str(v, "/pvc");
	struct k8s_obj *claim = NULL, *vt = NULL;
	char name[XFER_NAME_SIZE], msg[2 * RS_MSG_MAX];
	const char *vphase, *vmsg;
	struct k8s_pvc cv;
	int64_t done = -1;
	int ret;

	if (!ns || !pvc)
		return rs_volume_set(v, "Failed", "no claim named", -1, changed);
	ret = k8s_get(r->req->client, &k8s_pvcs, ns, pvc, NULL, &claim, err);
	if (ret == -ENOENT) {
		ret = rs_volume_set(v, "Failed",
				    "the claim was deleted before its data was restored", -1,
				    changed);
		goto out;
	}
	if (!ret && k8s_pvc_view(claim, &cv))
		ret = -EINVAL;
	if (ret)
		goto out;
	if (cv.phase && !strcmp(cv.phase, "Bound")) {
		k8s_obj_int(v, "/size", &done);
		snprintf(msg, sizeof(msg), "filled from its snapshot, bound to %.200s",
			 cv.volume_name ? cv.volume_name : "its volume");
		ret = rs_volume_set(v, "Completed", msg, done, changed);
		goto out;
	}
	if (xfer_name(cv.meta.uid, name)) {
		ret = 0;
		goto out;
	}
	ret = k8s_get(r->req->client, &xfer_volumetransfers, XFER_NS, name, NULL, &vt, err);
	if (ret == -ENOENT) { /* not started: the claim's pod is not scheduled yet */
		ret = 0;
		goto out;
	}
	if (ret)
		goto out;
	vphase = k8s_obj_str(vt, "/status/phase");
	vmsg = k8s_obj_str(vt, "/status/message");
	k8s_obj_int(vt, "/status/bytesDone", &done);
	if (vphase && !strcmp(vphase, "Failed")) {
		snprintf(msg, sizeof(msg), "VolumeTransfer %s/%s failed: %.180s", XFER_NS, name,
			 vmsg ? vmsg : "no message");
		ret = rs_volume_set(v, "Failed", msg, done, changed);
	} else {
		snprintf(msg, sizeof(msg), "VolumeTransfer %s/%s: %.40s", XFER_NS, name,
			 vphase ? vphase : "Pending");
		ret = rs_volume_set(v, "InProgress", msg, done, changed);
	}
out:
	k8s_obj_free(claim);
	k8s_obj_free(vt);
	return ret;
}

/*
 * A Restore waiting for its filled claims (RS_WAITING*): each InProgress volume
 * looked at; once none is, Completed (PartiallyFailed when an object or a
 * volume failed, each failed volume an error); until then status.volumes
 * written when it changed, and a look again in a second.
 */
static int rs_wait_volumes(struct rs *r, struct k8s_reconcile_res *res, struct k8s_err *err)
{
	struct k8s_obj *vols = k8s_obj_dup(k8s_obj_at(r->req->obj, "/status/volumes"));
	const char *phase = k8s_obj_str(r->req->obj, "/status/phase");
	const char *tmo = k8s_obj_str(r->req->obj, "/spec/itemOperationTimeout");
	int64_t start = cluster_time_of(r->req->obj, "/status/startTimestamp");
	int64_t timeout_s = RS_ITEM_TIMEOUT_S;
	struct k8s_obj *st = NULL;
	size_t waiting = 0, failed = 0, filled = 0;
	int64_t errors = 0;
	bool changed = false, late;
	struct ctl_err cerr;
	char late_msg[RS_MSG_MAX];
	int ret = 0;

	/* spec.itemOperationTimeout: how long a volume may take, from the Restore's start */
	if (tmo && (ctl_parse_duration(tmo, &timeout_s, &cerr) || timeout_s <= 0))
		timeout_s = RS_ITEM_TIMEOUT_S;
	late = start && (k8s_now_ns() - start) / 1000000000 > timeout_s;
	snprintf(late_msg, sizeof(late_msg),
		 "not filled within itemOperationTimeout %.40s (a claim of a "
		 "WaitForFirstConsumer class is filled only once a pod uses it)",
		 tmo ? tmo : "4h");

	if (!vols && k8s_obj_at(r->req->obj, "/status/volumes"))
		return cluster_fail(err, -ENOMEM, "OutOfMemory", "the volumes: out of memory");
	for (const struct k8s_obj *c = k8s_obj_first(vols); c && !ret; c = k8s_obj_next(c)) {
		struct k8s_obj *v = (struct k8s_obj *)c;
		const char *p = k8s_obj_str(v, "/phase");

		if (p && !strcmp(p, "InProgress"))
			ret = rs_volume_check(r, v, &changed, err);
		p = k8s_obj_str(v, "/phase");
		if (!ret && late && p && !strcmp(p, "InProgress")) {
			ret = rs_volume_set(v, "Failed", late_msg, -1, &changed);
			p = k8s_obj_str(v, "/phase");
		}
		if (ret)
			break;
		waiting += p && !strcmp(p, "InProgress");
		failed += p && !strcmp(p, "Failed");
		filled += p && !strcmp(p, "Completed");
	}
	if (ret)
		goto out;
	k8s_obj_int(r->req->obj, "/status/errors", &errors);
	if (!waiting) {
		bool partial = failed || errors || (phase && !strcmp(phase, RS_WAITING_PARTIAL));

		ret = k8s_obj_new(&st);
		if (!ret)
			ret = k8s_obj_set_str(st, "/phase",
					      partial ? "PartiallyFailed" : "Completed");
		if (!ret)
			ret = k8s_obj_set_int(st, "/errors", errors + (int64_t)failed);
		if (!ret)
			ret = cluster_set_time(st, "/completionTimestamp", k8s_now_ns());
		snprintf(rs_condition_msg, sizeof(rs_condition_msg),
			 "%zu volumes filled, %zu failed", filled, failed);
		res->reason = partial ? "PartiallyFailed" : "Completed";
		cluster_metrics_restore_ended(res->reason);
		ctl_log(failed ? CTL_LOG_WARN : CTL_LOG_INFO, "restore %s/%s: %s: %s", r->ns,
			r->name, res->reason, rs_condition_msg);
	} else {
		if (changed)
			ret = k8s_obj_new(&st);
		snprintf(rs_condition_msg, sizeof(rs_condition_msg),
			 "objects restored; %zu of %zu volumes filled", filled,
			 filled + failed + waiting);
		res->reason = RS_WAITING;
		res->requeue_after_ms = RS_WAIT_MS;
	}
	res->message = rs_condition_msg;
	if (!ret && st && vols) {
		ret = k8s_obj_set(st, "/volumes", vols);
		if (!ret)
			vols = NULL;
	}
	if (!ret && st && !waiting)
		rs_log_write(r, st, k8s_obj_str(r->req->obj, "/status/recordId"));
	if (ret) {
		ret = cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
		goto out;
	}
	if (st)
		ret = cluster_status_patch(r->req->client, &cluster_restores, r->ns, r->name, st,
					   NULL, err);
	st = NULL; /* cluster_status_patch() took it */
out:
	k8s_obj_free(st);
	k8s_obj_free(vols);
	cluster_repo_close(&r->repo); /* opened for the log */
	return ret;
}

/* ------------------------------------------------------------ the run */

/* one object's outcome (restore_apply.c calls it under its lock, one at a time) */
static void rs_result(void *arg, const struct cluster_plan_item *it, enum cluster_outcome oc,
		      const char *reason)
{
	struct rs *r = arg;
	const char *sep = it->ns[0] ? "/" : "";

	if (it->note) /* the plan's word on it (scaleWorkloadsToZero), whatever came of it */
		rs_note(r, false, "%.60s %.60s%s%.60s: %s", it->kind, it->ns, sep, it->name,
			it->note);
	if (oc == CLUSTER_SKIPPED && it->skip) /* the plan's: never restored, as Velero */
		return;
	r->total++;
	switch (oc) {
	case CLUSTER_CREATED:
	case CLUSTER_UPDATED:
		r->restored++;
		return;
	case CLUSTER_SKIPPED_EXISTS:
		if (!strcmp(reason, CLUSTER_REASON_SAME)) {
			r->restored++;
			return;
		}
		rs_note(r, false, "%.60s %.60s%s%.60s: %s", it->kind, it->ns, sep, it->name,
			reason);
		return;
	case CLUSTER_SKIPPED:
		rs_note(r, false, "%.60s %.60s%s%.60s: %s", it->kind, it->ns, sep, it->name,
			reason);
		return;
	case CLUSTER_FAILED:
		rs_note(r, true, "%.60s %.60s%s%.60s: %s", it->kind, it->ns, sep, it->name, reason);
		return;
	}
}

static int rs_run(struct rs *r, struct k8s_err *err)
{
	/* no budget of its own: the controller's client limit (--kube-api-qps) is the one
	 * pace, so that raising it speeds a Restore up (bench/restore-objects.py) */
	struct cluster_apply_opts ao = {.workers = RS_WORKERS, .qps = -1};
	struct cluster_err why;
	int ret;

	if (r->spec && k8s_obj_at(r->spec, "/hooks"))
		rs_note(r, false, "spec.hooks: restore hooks are not run");
	ret = cluster_restore_apply(r->req->client, &r->plan, &r->opts, &ao, rs_result, r, NULL,
				    &why);
	if (ret == -ENOMEM)
		return cluster_fail(err, ret, "OutOfMemory", "the restore: out of memory");
	if (ret)
		return cluster_fail(err, ret, "DiscoveryFailed", "the restore: %s", why.msg);
	return 0;
}

/* ------------------------------------------------------------ reconcile */

/* a Restore that is done: its condition from its status, nothing else */
static int rs_done(const struct k8s_obj *o, const char *phase, struct k8s_reconcile_res *res)
{
	const char *why;
	int64_t done = 0, total = 0;

	res->reason = phase;
	if (!strcmp(phase, "FailedValidation") || !strcmp(phase, "Failed")) {
		why = k8s_obj_str(o, "/status/validationErrors/0");
		if (!why)
			why = k8s_obj_str(o, "/status/failureReason");
		res->message = why ? why : "";
		res->failed = true;
		return 0;
	}
	k8s_obj_int(o, "/status/progress/itemsRestored", &done);
	k8s_obj_int(o, "/status/progress/totalItems", &total);
	snprintf(rs_condition_msg, sizeof(rs_condition_msg), "%lld of %lld items restored",
		 (long long)done, (long long)total);
	res->message = rs_condition_msg;
	return 0;
}

static int rs_in_progress(struct rs *r, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", "InProgress");
	if (!ret)
		ret = cluster_set_time(st, "/startTimestamp", r->start_ns);
	if (ret) {
		k8s_obj_free(st);
		return cluster_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return cluster_status_patch(r->req->client, &cluster_restores, r->ns, r->name, st,
				    k8s_obj_get_rv(r->req->obj), err);
}

static int restore_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			     struct k8s_err *err)
{
	struct rs r = {.req = req, .ns = req->ns, .name = req->name};
	const char *phase;
	bool wait;
	int ret;

	if (!req->obj) /* deleted: what it restored stays */
		return 0;
	if (k8s_obj_str(req->obj, "/metadata/deletionTimestamp"))
		return 0;
	phase = k8s_obj_str(req->obj, "/status/phase");
	if (!phase)
		phase = "New";
	if (cluster_phase_done(phase))
		return rs_done(req->obj, phase, res);
	if (!strcmp(phase, RS_WAITING) || !strcmp(phase, RS_WAITING_PARTIAL))
		return rs_wait_volumes(&r, res, err);
	if (strcmp(phase, "New") && strcmp(phase, "InProgress")) {
		res->reason = "PhaseNotHandled";
		return 0;
	}
	r.spec = k8s_obj_at(req->obj, "/spec");
	r.start_ns = cluster_time_of(req->obj, "/status/startTimestamp");
	if (!r.start_ns)
		r.start_ns = k8s_now_ns();
	ret = rs_spec(&r, err);
	if (ret == 0)
		ret = rs_backup(&r, err);
	if (ret == 0)
		ret = rs_classes(&r, err);
	if (ret == 0)
		ret = rs_plan(&r, err);
	if (ret == 0 && !strcmp(phase, "New"))
		ret = rs_in_progress(&r, err);
	if (ret == 0)
		ret = rs_run(&r, err);
	if (ret == 1) { /* refused: nothing written but the status, no retry */
		ret = rs_write_refused(&r, err);
		if (!ret) {
			snprintf(rs_condition_msg, sizeof(rs_condition_msg), "%s",
				 r.invalid[0] ? r.invalid : r.failed);
			res->reason = r.invalid[0] ? "FailedValidation" : "Failed";
			res->message = rs_condition_msg;
			res->failed = true;
			cluster_metrics_restore_ended(res->reason);
			ctl_log(CTL_LOG_WARN, "restore %s/%s: %s: %s", r.ns, r.name, res->reason,
				rs_condition_msg);
		}
		goto out;
	}
	if (ret)
		goto out;
	wait = rs_fills(&r);
	ret = rs_write_done(&r, wait, err);
	if (ret)
		goto out;
	if (wait) {
		ctl_log(CTL_LOG_INFO,
			"restore %s/%s: %llu of %llu objects restored, %llu warnings, %llu "
			"errors; waiting for its volumes",
			r.ns, r.name, (unsigned long long)r.restored, (unsigned long long)r.total,
			(unsigned long long)r.warnings, (unsigned long long)r.errors);
		snprintf(rs_condition_msg, sizeof(rs_condition_msg),
			 "%llu of %llu items restored; waiting for the volumes",
			 (unsigned long long)r.restored, (unsigned long long)r.total);
		res->reason = RS_WAITING;
		res->message = rs_condition_msg;
		res->requeue_after_ms = RS_WAIT_MS;
		goto out;
	}
	ctl_log(CTL_LOG_INFO,
		"restore %s/%s: %s: %llu of %llu objects restored, %llu warnings, %llu errors, "
		"from record %s",
		r.ns, r.name, r.errors ? "PartiallyFailed" : "Completed",
		(unsigned long long)r.restored, (unsigned long long)r.total,
		(unsigned long long)r.warnings, (unsigned long long)r.errors, r.rec->id);
	snprintf(rs_condition_msg, sizeof(rs_condition_msg), "%llu of %llu items restored",
		 (unsigned long long)r.restored, (unsigned long long)r.total);
	res->reason = r.errors ? "PartiallyFailed" : "Completed";
	res->message = rs_condition_msg;
	cluster_metrics_restore_ended(res->reason);
out:
	rs_fini(&r);
	return ret;
}

const struct k8s_reconciler cluster_restore_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "restore",
	.watches = restore_watches,
	.nwatches = sizeof(restore_watches) / sizeof(restore_watches[0]),
	.workers = 2,
	.condition = "Ready",
	.reconcile = restore_reconcile,
};
