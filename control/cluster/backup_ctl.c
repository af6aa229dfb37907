// SPDX-License-Identifier: MIT
/*
 * control/cluster/backup_ctl.c - the Backup reconciler of `ferry controller`:
 * a Backup's objects, collected as its selection says (collect.c), stored as
 * an object archive and a backup record in its Repository (datapath/dp.h
 * "backup records"), and the outcome in its status (cluster.h "THE BACKUP
 * RECONCILER").
 *
 * One reconcile of a Backup in phase New or InProgress:
 *   1. validate: its Repository (ferry-system/spec.storageLocation, or
 *      "default"), the repository at its URL, the password Secret, the
 *      password, the selection. A refusal is phase FailedValidation with the
 *      one reason in validationErrors, a False Ready condition, no record
 *      and no retry;
 *   2. the record's id (dp_record_id() of the cluster's id, the namespace
 *      and the name): a record that exists was written by an earlier
 *      reconcile that died before its status; the status is completed from
 *      it, nothing is written again;
 *   3. phase InProgress with startTimestamp (a merge patch that carries the
 *      resourceVersion read: whoever wrote the Backup since wins);
 *   4. the objects into an archive, then the record, written once and last;
 *   5. the status: Completed, or PartiallyFailed when an object or a volume
 *      could not be stored; counts, times, the record's id.
 * Any other failure (the API server, the store) is returned: the runtime
 * retries with backoff and the Backup stays InProgress.
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
#include "datapath/dp.h"
#include "k8s/k8s.h"

#define BK_DEFAULT_REPO "default"
#define BK_WARN_KEEP	20 /* warningMessages kept in the status */
#define BK_KUBE_SYSTEM	"kube-system"
#define BK_MSG_MAX	256

const struct k8s_resource cluster_repositories =
	K8S_RESOURCE(CLUSTER_API_GROUP, CLUSTER_API_VERSION, "repositories", "Repository", true);

static const struct k8s_watch backup_watches[] = {
	{.resource = &cluster_backups},
};

/* the condition's message: read by the runtime on this thread after the call */
static _Thread_local char bk_condition_msg[BK_MSG_MAX];

/* one reconcile */
struct bk {
	const struct k8s_reconcile_req *req;
	const char *ns, *name;
	const struct k8s_obj *spec; /* NULL: an empty spec */
	struct cluster_repo rp;
	struct dp_repo *repo; /* rp's */
	struct dp_archive *archive;
	struct cluster_sel *sel;
	int64_t expiry_s; /* spec.ttl in seconds, 0 for none */
	char cluster[CLUSTER_NAME_MAX + 1];
	char record_id[65];
	int64_t start_ns;
	char invalid[BK_MSG_MAX]; /* a validation failure, "" for none */
	/* the outcome */
	uint64_t total, stored, warnings, errors;
	char (*msgs)[BK_MSG_MAX];
	size_t nmsgs;
};

static void bk_fini(struct bk *b)
{
	dp_archive_free(b->archive);
	cluster_sel_free(b->sel);
	cluster_repo_close(&b->rp);
	free(b->msgs);
}

/* a validation failure: kept in @b, returned as 1 (not an error) */
static int bk_invalid(struct bk *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bk_invalid(struct bk *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(b->invalid, sizeof(b->invalid), fmt, ap);
	va_end(ap);
	for (char *c = b->invalid; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return 1;
}

static int bk_fail(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int bk_fail(struct k8s_err *err, int code, const char *reason, const char *fmt, ...)
{
	va_list ap;

	err->code = code;
	snprintf(err->reason, sizeof(err->reason), "%s", reason);
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* a warning (@error false) or an error of the Backup, counted; the first kept */
static int bk_note(struct bk *b, bool error, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int bk_note(struct bk *b, bool error, const char *fmt, ...)
{
	va_list ap;

	if (error)
		b->errors++;
	else
		b->warnings++;
	if (b->nmsgs < BK_WARN_KEEP) {
		char(*n)[BK_MSG_MAX] = realloc(b->msgs, (b->nmsgs + 1) * sizeof(*n));

		if (!n)
			return -ENOMEM;
		b->msgs = n;
		va_start(ap, fmt);
		vsnprintf(b->msgs[b->nmsgs], sizeof(b->msgs[0]), fmt, ap);
		va_end(ap);
		b->nmsgs++;
	}
	return 0;
}

/* ------------------------------------------------------------ validation */

/* the Repository named by the Backup, its store opened and its key unlocked (repo_open.c) */
static int bk_open(struct bk *b, struct k8s_err *err)
{
	const char *rname = b->spec ? k8s_obj_str(b->spec, "/storageLocation") : NULL;
	bool named = rname && rname[0];
	int ret;

	ret = cluster_repo_open(b->req->client, named ? rname : BK_DEFAULT_REPO, true, &b->rp, err);
	b->repo = b->rp.repo;
	if (ret != 1)
		return ret;
	if (!b->rp.obj) /* no such Repository: which one */
		return bk_invalid(b, "%.200s%s", b->rp.why,
				  named ? " (spec.storageLocation)"
					: " (no spec.storageLocation: the default one)");
	return bk_invalid(b, "%s", b->rp.why);
}

/* the cluster's id: the kube-system namespace's UID, as Velero and the record name it */
static int bk_cluster_id(struct bk *b, struct k8s_err *err)
{
	struct k8s_obj *ns = NULL;
	const char *uid;
	int ret;

	ret = k8s_get(b->req->client, &k8s_namespaces, NULL, BK_KUBE_SYSTEM, NULL, &ns, err);
	if (ret)
		return ret;
	uid = k8s_obj_get_uid(ns);
	if (!uid || !uid[0] || strlen(uid) >= sizeof(b->cluster)) {
		k8s_obj_free(ns);
		return bk_fail(err, -EBADMSG, "ClusterIdUnknown",
			       "the namespace kube-system has no metadata.uid");
	}
	snprintf(b->cluster, sizeof(b->cluster), "%s", uid);
	k8s_obj_free(ns);
	return 0;
}

/* ------------------------------------------------------------ the status */

static int64_t bk_time_of(const struct k8s_obj *o, const char *path)
{
	const char *s = k8s_obj_str(o, path);
	int64_t ns;

	return s && !k8s_time_parse(s, &ns) ? ns : 0;
}

static int bk_set_time(struct k8s_obj *st, const char *path, int64_t ns)
{
	char buf[K8S_TIME_SIZE];

	k8s_time_format(ns, false, buf);
	return k8s_obj_set_str(st, path, buf);
}

/* merge-patch {"status": @st} (taken), with the resourceVersion read when @rv */
static int bk_patch(struct bk *b, struct k8s_obj *st, const char *rv, struct k8s_err *err)
{
	struct k8s_obj *patch = NULL;
	int ret;

	ret = k8s_obj_new(&patch);
	if (!ret && rv)
		ret = k8s_obj_set_str(patch, "/metadata/resourceVersion", rv);
	if (!ret)
		ret = k8s_obj_set(patch, "/status", st);
	if (ret) {
		k8s_obj_free(st);
		k8s_obj_free(patch);
		return bk_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	ret = k8s_patch(b->req->client, &cluster_backups, b->ns, b->name, K8S_PATCH_MERGE, patch,
			&(struct k8s_call){.subresource = "status"}, NULL, err);
	k8s_obj_free(patch);
	return ret;
}

static int bk_write_invalid(struct bk *b, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", "FailedValidation");
	if (!ret)
		ret = k8s_obj_set_empty(st, "/validationErrors", K8S_T_ARRAY);
	if (!ret)
		ret = k8s_obj_set_str(st, "/validationErrors/-", b->invalid);
	if (!ret)
		ret = bk_set_time(st, "/completionTimestamp", k8s_now_ns());
	if (ret) {
		k8s_obj_free(st);
		return bk_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return bk_patch(b, st, k8s_obj_get_rv(b->req->obj), err);
}

/* the final status, from the record (written now or found) */
static int bk_write_done(struct bk *b, const struct dp_record *rec, struct k8s_err *err)
{
	struct k8s_obj *st = NULL;
	int ret = k8s_obj_new(&st);

	if (!ret)
		ret = k8s_obj_set_str(st, "/phase", rec->phase);
	if (!ret)
		ret = bk_set_time(st, "/startTimestamp", rec->time_start * 1000);
	if (!ret)
		ret = bk_set_time(st, "/completionTimestamp", rec->time_end * 1000);
	if (!ret && b->expiry_s > 0 && b->expiry_s < CLUSTER_TIME_MAX - rec->time_start / 1000000)
		ret = bk_set_time(st, "/expiration",
				  rec->time_start * 1000 + b->expiry_s * 1000000000);
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/totalItems",
				      (int64_t)(b->total > rec->objects ? b->total : rec->objects));
	if (!ret)
		ret = k8s_obj_set_int(st, "/progress/itemsBackedUp", (int64_t)rec->objects);
	if (!ret)
		ret = k8s_obj_set_int(st, "/warnings", (int64_t)rec->warnings);
	if (!ret)
		ret = k8s_obj_set_int(st, "/errors", (int64_t)rec->errors);
	if (!ret)
		ret = k8s_obj_set_str(st, "/clusterId", b->cluster);
	if (!ret)
		ret = k8s_obj_set_str(st, "/repositoryId", dp_repo_info(b->repo)->id);
	if (!ret)
		ret = k8s_obj_set_str(st, "/recordId", rec->id);
	if (!ret)
		ret = k8s_obj_set_str(st, "/formatVersion", "1");
	if (!ret && b->nmsgs) {
		ret = k8s_obj_set_empty(st, "/warningMessages", K8S_T_ARRAY);
		for (size_t i = 0; !ret && i < b->nmsgs; i++)
			ret = k8s_obj_set_str(st, "/warningMessages/-", b->msgs[i]);
	}
	if (ret) {
		k8s_obj_free(st);
		return bk_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
	}
	return bk_patch(b, st, NULL, err);
}

/* ------------------------------------------------------------ the run */

static int bk_emit(void *arg, const struct cluster_item *it, const char *line, size_t len)
{
	struct bk *b = arg;
	int ret;

	b->total++;
	ret = dp_archive_add(b->archive, line, len);
	if (ret == -EINVAL || ret == -EPERM) /* the archive goes on without it */
		return bk_note(b, true, "%.60s %.80s%s%.80s not stored: %.100s", it->res->kind,
			       it->ns, it->ns[0] ? "/" : "", it->name, dp_last_error());
	if (!ret)
		b->stored++;
	return ret;
}

/* volumes: their data is not moved by the controller yet: each one is an error */
static int bk_volumes(struct bk *b, const struct cluster_collect_result *cr)
{
	bool snap = true;
	int ret = 0;

	if (b->spec)
		k8s_obj_bool(b->spec, "/snapshotVolumes", &snap);
	for (size_t i = 0; !ret && i < cr->nvolumes; i++) {
		const struct cluster_volume *v = &cr->volumes[i];

		if (v->skip || !snap)
			continue;
		ret = bk_note(b, true,
			      "volume %.60s/%.100s: its data is not backed up (the controller "
			      "does not run volume transfers yet)",
			      v->ns, v->pvc);
	}
	return ret;
}

/* what the spec asks, checked before anything is written: the selection, the TTL */
static int bk_spec(struct bk *b, struct k8s_err *err)
{
	struct cluster_err why;
	struct ctl_err cerr;
	const char *ttl;
	int ret;

	ret = cluster_sel_parse(b->spec, &b->sel, &why);
	if (ret == -EINVAL)
		return bk_invalid(b, "%s", why.msg);
	if (ret)
		return bk_fail(err, ret, "OutOfMemory", "the selection: out of memory");
	ttl = b->spec ? k8s_obj_str(b->spec, "/ttl") : NULL;
	if (ttl && ctl_parse_duration(ttl, &b->expiry_s, &cerr))
		return bk_invalid(b, "spec.ttl: %s", cerr.msg);
	return 0;
}

/* the Backup's labels into @rec (borrowed strings; @rec->labels the caller frees) */
static int bk_labels(const struct bk *b, struct dp_record *rec)
{
	const struct k8s_obj *labels = k8s_obj_at(b->req->obj, "/metadata/labels");
	size_t n = 0;

	for (const struct k8s_obj *l = k8s_obj_first(labels); l; l = k8s_obj_next(l))
		n++;
	if (!n)
		return 0;
	rec->labels = calloc(n, sizeof(*rec->labels));
	if (!rec->labels)
		return -ENOMEM;
	for (const struct k8s_obj *l = k8s_obj_first(labels); l; l = k8s_obj_next(l)) {
		const char *v = k8s_obj_str(l, "");

		if (!v)
			continue;
		rec->labels[rec->nlabels].key = (char *)k8s_obj_name(l);
		rec->labels[rec->nlabels].value = (char *)v;
		rec->nlabels++;
	}
	return 0;
}

static int bk_run(struct bk *b, struct dp_record **out, struct k8s_err *err)
{
	struct dp_archive_opts ao = {.sz = sizeof(ao)};
	struct cluster_collect_result cr = {0};
	struct dp_record rec = {0};
	struct cluster_err why;
	struct dp_err derr = {0};
	char *spec_json = NULL;
	int ret;

	*out = NULL;
	if (b->spec)
		k8s_obj_bool(b->spec, "/allowUnencryptedSecrets", &ao.allow_secrets);
	ao.err = &derr;
	ret = dp_archive_new(b->repo, &ao, &b->archive);
	if (ret) {
		bk_fail(err, ret, "RepositoryUnavailable", "the object archive: %s", derr.msg);
		goto out;
	}
	ret = cluster_collect(b->req->client, b->sel, NULL, bk_emit, b, &cr, &why);
	if (ret) {
		bk_fail(err, ret, "CollectionFailed", "collecting the objects: %s",
			why.msg[0] ? why.msg : dp_last_error());
		goto out;
	}
	for (size_t i = 0; !ret && i < cr.nwarnings; i++) {
		/* the log says it too: a resource not listed names the rule to grant */
		ctl_log(CTL_LOG_WARN, "backup %s/%s: %s", b->ns, b->name, cr.warnings[i]);
		ret = bk_note(b, false, "%s", cr.warnings[i]);
	}
	if (!ret)
		ret = bk_volumes(b, &cr);
	if (!ret)
		ret = dp_archive_finish(b->archive);
	if (ret) {
		bk_fail(err, ret, "RepositoryUnavailable", "the object archive: %s",
			ret == -ENOMEM ? "out of memory" : dp_last_error());
		goto out;
	}
	spec_json = b->spec ? k8s_obj_json(b->spec) : strdup("{}");
	if (!spec_json) {
		ret = bk_fail(err, -ENOMEM, "OutOfMemory", "the record: out of memory");
		goto out;
	}
	rec.name = (char *)b->name;
	rec.namespace = (char *)b->ns;
	rec.cluster = b->cluster;
	rec.phase = b->errors ? "PartiallyFailed" : "Completed";
	rec.spec = spec_json;
	rec.time_start = b->start_ns / 1000;
	rec.time_end = k8s_now_ns() / 1000;
	rec.warnings = b->warnings;
	rec.errors = b->errors;
	ret = bk_labels(b, &rec);
	if (ret) {
		bk_fail(err, ret, "OutOfMemory", "the record: out of memory");
		goto out;
	}
	ret = dp_record_put(b->repo, &rec, b->archive, NULL);
	if (ret && ret != -EEXIST) { /* -EEXIST: a twin wrote it meanwhile; read it below */
		bk_fail(err, ret, "RecordNotWritten", "the backup record: %s", dp_last_error());
		goto out;
	}
	ret = dp_record_get(b->repo, b->record_id, NULL, NULL, out);
	if (ret)
		bk_fail(err, ret, "RecordUnreadable", "the backup record just written: %s",
			dp_last_error());
out:
	free(spec_json);
	free(rec.labels);
	cluster_collect_result_fini(&cr);
	return ret;
}

/* ------------------------------------------------------------ reconcile */

/* a Backup that is done: its condition from its status, nothing else */
static int bk_done(const struct k8s_obj *o, const char *phase, struct k8s_reconcile_res *res)
{
	const char *why;

	res->reason = phase;
	if (!strcmp(phase, "FailedValidation") || !strcmp(phase, "Failed")) {
		why = k8s_obj_str(o, "/status/validationErrors/0");
		if (!why)
			why = k8s_obj_str(o, "/status/failureReason");
		res->message = why ? why : "";
		res->failed = true;
	} else {
		why = k8s_obj_str(o, "/status/recordId"); /* none: completed by another executor */
		snprintf(bk_condition_msg, sizeof(bk_condition_msg), "%s%s",
			 why ? "backup record " : "", why ? why : "");
		res->message = bk_condition_msg;
	}
	return 0;
}

static bool bk_phase_done(const char *phase)
{
	static const char *const done[] = {"Completed", "PartiallyFailed", "Failed",
					   "FailedValidation"};

	for (size_t i = 0; i < sizeof(done) / sizeof(done[0]); i++)
		if (!strcmp(phase, done[i]))
			return true;
	return false;
}

static int backup_reconcile(const struct k8s_reconcile_req *req, struct k8s_reconcile_res *res,
			    struct k8s_err *err)
{
	struct bk b = {.req = req, .ns = req->ns, .name = req->name};
	struct dp_record *rec = NULL;
	const char *phase;
	int ret;

	if (!req->obj) /* deleted: its record stays in the repository */
		return 0;
	if (k8s_obj_str(req->obj, "/metadata/deletionTimestamp"))
		return 0;
	phase = k8s_obj_str(req->obj, "/status/phase");
	if (!phase)
		phase = "New";
	if (bk_phase_done(phase))
		return bk_done(req->obj, phase, res);
	if (strcmp(phase, "New") && strcmp(phase, "InProgress")) {
		res->reason = "PhaseNotHandled"; /* Deleting, or a phase of another executor */
		return 0;
	}
	b.spec = k8s_obj_at(req->obj, "/spec");
	b.start_ns = bk_time_of(req->obj, "/status/startTimestamp");
	if (!b.start_ns)
		b.start_ns = k8s_now_ns();
	ret = bk_open(&b, err);
	if (ret == 0)
		ret = bk_spec(&b, err);
	if (ret == 0)
		ret = bk_cluster_id(&b, err);
	if (ret == 0) {
		ret = dp_record_id(b.repo, b.cluster, b.ns, b.name, b.record_id);
		if (ret)
			bk_fail(err, ret, "RecordUnreadable", "the record's id: %s",
				dp_last_error());
	}
	if (ret == 0) {
		/* written by an earlier reconcile that died before the status: complete it */
		ret = dp_record_get(b.repo, b.record_id, NULL, NULL, &rec);
		if (ret == -ENOENT)
			ret = 0;
		else if (ret)
			bk_fail(err, ret, "RecordUnreadable", "the backup record: %s",
				dp_last_error());
	}
	if (ret == 0 && !rec && !strcmp(phase, "New")) {
		struct k8s_obj *st = NULL;

		ret = k8s_obj_new(&st);
		if (!ret)
			ret = k8s_obj_set_str(st, "/phase", "InProgress");
		if (!ret)
			ret = bk_set_time(st, "/startTimestamp", b.start_ns);
		if (ret) {
			k8s_obj_free(st);
			bk_fail(err, ret, "OutOfMemory", "the status patch: out of memory");
		} else {
			ret = bk_patch(&b, st, k8s_obj_get_rv(req->obj), err);
		}
	}
	if (ret == 0 && !rec)
		ret = bk_run(&b, &rec, err);
	if (ret == 1) { /* refused: FailedValidation, no record */
		ret = bk_write_invalid(&b, err);
		if (!ret) {
			snprintf(bk_condition_msg, sizeof(bk_condition_msg), "%s", b.invalid);
			res->reason = "FailedValidation";
			res->message = bk_condition_msg;
			res->failed = true;
		}
		goto out;
	}
	if (ret)
		goto out;
	ret = bk_write_done(&b, rec, err);
	if (ret)
		goto out;
	ctl_log(CTL_LOG_INFO,
		"backup %s/%s: %s: %llu objects, %llu warnings, %llu errors, record %s", b.ns,
		b.name, rec->phase, (unsigned long long)rec->objects,
		(unsigned long long)rec->warnings, (unsigned long long)rec->errors, rec->id);
	snprintf(bk_condition_msg, sizeof(bk_condition_msg), "backup record %s", rec->id);
	res->reason = !strcmp(rec->phase, "Completed") ? "Completed" : "PartiallyFailed";
	res->message = bk_condition_msg;
out:
	dp_record_free(rec);
	bk_fini(&b);
	return ret;
}

const struct k8s_reconciler cluster_backup_reconciler = {
	.sz = sizeof(struct k8s_reconciler),
	.name = "backup",
	.watches = backup_watches,
	.nwatches = sizeof(backup_watches) / sizeof(backup_watches[0]),
	.workers = 2,
	.condition = "Ready",
	.reconcile = backup_reconcile,
};
