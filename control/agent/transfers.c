// SPDX-License-Identifier: MIT
/*
 * control/agent/transfers.c - the agent's volume transfers (transfers.h).
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "transfers.h"
#include "transfers_priv.h"
#include "control/cbt/cbt.h"
#include "control/cli/cli.h"
#include "control/xfer/xfer.h"
#include "datapath/dp.h"
#include "s3/store.h"

#define XS_HOLD_S   30 /* a finished job's slot waits this long at most for its status to arrive */
#define XS_RESEND_S 1  /* a final status not written is sent again this often */

int agent_xfers_open(struct k8s_client *c, const char *node, const struct agent_xfers_opts *o,
		     struct agent_xfers **out)
{
	struct k8s_informer_opts io = {.sz = sizeof(io), .ns = XFER_NS};
	struct agent_xfers *x;
	struct k8s_err err;
	int ret;

	*out = NULL;
	if (!o->max || o->max > XS_MAX)
		return ctl_usage_error("agent", "--max-transfers: from 1 to %d", XS_MAX);
	x = calloc(1, sizeof(*x));
	if (!x)
		return ctl_fail(-ENOMEM, NULL, "out of memory");
	x->c = c;
	x->node = node;
	x->o = *o;
	ret = dp_pool_new(o->memory ? o->memory : DP_MEMORY_DEFAULT, &x->pool);
	if (ret) {
		ret = ctl_fail(ret, NULL, "agent: the transfers' buffer pool");
		goto fail;
	}
	snprintf(x->selector, sizeof(x->selector), "%s=%s", XFER_LABEL_NODE, node);
	io.label_selector = x->selector;
	ret = k8s_informer_new(c, &xfer_volumetransfers, &io, &x->inf, &err);
	if (ret) {
		ret = ctl_fail(ret, err.msg, "agent: watch the VolumeTransfers of node %s", node);
		goto fail;
	}
	ctl_log(CTL_LOG_INFO, "agent: running up to %u volume transfers of node %s", o->max, node);
	*out = x;
	return 0;
fail:
	dp_pool_free(x->pool);
	free(x);
	return ret;
}

/* ---------------------------------------------------------------- one job */

struct xs_job {
	struct xs_slot *s;
	const char *name, *dir;
	struct s3_store *st;
	struct dp_repo *repo;
	struct dp_snapshot *snaps;
	size_t nsnaps;
	struct dp_job *job;
	char device[1024];
	char msg[512];
	uint64_t chunk_size;
	/* a backup's changed blocks (status.changedBlocks): used, or why not */
	bool cbt_decided, cbt_used;
	const char *cbt_fallback;
	char cbt_reason[512];
	uint64_t cbt_listed, cbt_ranges, cbt_ms;
	/* a restore's stamp file (status.stamp in, and out once it ends); "" none */
	char stamp_dir[512], stamp[560];
	/* a backup's spec.verify: the volume compared with that snapshot, nothing stored */
	const char *verify;
	/*
	 * A backup's snapshot that an earlier run of this transfer wrote (an
	 * agent killed between the manifest and the status): the result, with
	 * nothing read again; its own figures and how it read the volume.
	 */
	const struct dp_snapshot *written;
	char cbt_written[64];
	/* a copy (direction copy): the repository spec.from, and the snapshot's full id */
	struct s3_store *from_st;
	struct dp_repo *from_repo;
	struct dp_snapshot *from_snaps;
	size_t from_n;
	char copy_id[65];
	/* a copy of a Backup's record (spec.record): it, its snapshots, the record's id in spec.repository */
	struct dp_record *rec;
	struct dp_snapshot *rec_snaps;
	char rec_id[65];
};

static int xs_patch(struct xs_job *j, struct k8s_obj *st)
{
	struct k8s_err err;
	char now[K8S_TIME_SIZE];
	int ret;

	k8s_time_format(k8s_now_ns(), false, now);
	ret = k8s_obj_set_str(st, "/heartbeat", now);
	if (!ret)
		ret = xfer_status_patch(j->s->x->c, j->name, st, &err);
	if (ret)
		ctl_log(CTL_LOG_WARN, "agent: transfer %s: status: %s", j->name, err.msg);
	return ret;
}

/* The progress fields of @p into @st. Return: 0; -ENOMEM; -EINVAL. */
static int xs_fill(struct xs_job *j, struct k8s_obj *st, const struct dp_progress *p,
		   const char *phase)
{
	double mbs = p->seconds > 0 ? (double)p->bytes_done / 1e6 / p->seconds : 0;
	uint64_t reused = 0;
	int ret;

	if (!strcmp(j->dir, "backup")) {
		/* already in the repository: read and hashed, neither zero nor new */
		uint64_t known = p->bytes_zero + p->bytes_raw_new;

		reused = p->bytes_done > known ? p->bytes_done - known : 0;
		if (p->bytes_reused > reused)
			reused = p->bytes_reused;
	}
	ret = k8s_obj_set_str(st, "/phase", phase);
	if (!ret)
		ret = k8s_obj_set_int(st, "/bytesTotal", (int64_t)p->bytes_total);
	if (!ret)
		ret = k8s_obj_set_int(st, "/bytesDone", (int64_t)p->bytes_done);
	if (!ret)
		ret = k8s_obj_set_int(st, "/bytesReused", (int64_t)reused);
	if (!ret)
		ret = k8s_obj_set_int(st, "/bytesNew", (int64_t)p->bytes_new);
	if (!ret)
		ret = k8s_obj_set_num(st, "/mbPerSecond", (double)(int64_t)(mbs * 10) / 10);
	if (!ret && strcmp(j->dir, "restore"))
		ret = k8s_obj_set_int(st, "/bytesRead", (int64_t)p->bytes_read);
	if (!ret && !strcmp(j->dir, "restore"))
		ret = k8s_obj_set_int(st, "/bytesWritten", (int64_t)p->bytes_written);
	if (!ret && j->cbt_decided)
		ret = k8s_obj_set_bool(st, "/changedBlocks/used", j->cbt_used);
	if (!ret && j->cbt_used && !j->written)
		ret = k8s_obj_set_int(st, "/changedBlocks/bytesListed", (int64_t)j->cbt_listed);
	if (!ret && j->cbt_used && !j->written)
		ret = k8s_obj_set_int(st, "/changedBlocks/ranges", (int64_t)j->cbt_ranges);
	if (!ret && j->cbt_used && !j->written)
		ret = k8s_obj_set_int(st, "/changedBlocks/milliseconds", (int64_t)j->cbt_ms);
	if (!ret && j->cbt_decided && j->cbt_fallback)
		ret = k8s_obj_set_str(st, "/changedBlocks/fallback", j->cbt_fallback);
	if (!ret && j->cbt_decided && j->cbt_fallback)
		ret = k8s_obj_set_str(st, "/changedBlocks/reason", j->cbt_reason);
	return ret;
}

/* The progress of a running job into the status. */
static void xs_progress(struct xs_job *j, const struct dp_progress *p, const char *phase)
{
	struct k8s_obj *st = NULL;

	if (k8s_obj_new(&st))
		return;
	if (!xs_fill(j, st, p, phase))
		xs_patch(j, st);
	k8s_obj_free(st);
}

/*
 * A restore's stamp (datapath/FORMAT.md "Target stamps"): the device keeps
 * none of its own, so the file lives in a directory of the job's, filled
 * from status.stamp (what the controller read off the volume's PV) before
 * the job and read back into status.stamp after it. Return: 0; -errno.
 */
static int xs_stamp_in(struct xs_job *j, const struct k8s_obj *vt)
{
	const char *have = k8s_obj_str(vt, "/status/stamp");
	const char *base = j->s->x->o.state_dir;
	int fd, ret = 0;

	if (!base || !base[0])
		base = getenv("TMPDIR") && getenv("TMPDIR")[0] ? getenv("TMPDIR") : "/tmp";
	snprintf(j->stamp_dir, sizeof(j->stamp_dir), "%s/stamp-XXXXXX", base);
	if (!mkdtemp(j->stamp_dir)) {
		ret = -errno;
		snprintf(j->msg, sizeof(j->msg), "the stamp's directory in %.300s: %s", base,
			 strerror(errno));
		j->stamp_dir[0] = 0;
		return ret;
	}
	snprintf(j->stamp, sizeof(j->stamp), "%s/stamp", j->stamp_dir);
	if (!have)
		return 0;
	fd = open(j->stamp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || write(fd, have, strlen(have)) != (ssize_t)strlen(have))
		ret = -errno ? -errno : -EIO;
	if (fd >= 0 && close(fd) && !ret)
		ret = -errno;
	if (ret)
		snprintf(j->msg, sizeof(j->msg), "the stamp file %.300s: %s", j->stamp,
			 strerror(-ret));
	return ret;
}

/* The stamp the job left (NUL-terminated in @buf, "" none), and its files gone. */
static void xs_stamp_out(struct xs_job *j, char *buf, size_t len)
{
	ssize_t n = -1;
	int fd;

	buf[0] = 0;
	if (!j->stamp_dir[0])
		return;
	fd = open(j->stamp, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, buf, len - 1);
		close(fd);
	}
	buf[n > 0 ? n : 0] = 0;
	unlink(j->stamp);
	rmdir(j->stamp_dir);
	j->stamp_dir[0] = 0;
}

/* The end, in one status write: the last figures, the phase, the snapshot or the reason. */
static void xs_end(struct xs_job *j, int ret, const struct dp_result *r)
{
	const char *phase = ret ? XFER_FAILED : XFER_COMPLETED;
	struct k8s_obj *st = NULL;
	char now[K8S_TIME_SIZE], stamp[2048];
	bool restore = !strcmp(j->dir, "restore");
	int e;

	xs_stamp_out(j, stamp, sizeof(stamp));
	if (k8s_obj_new(&st))
		return;
	k8s_time_format(k8s_now_ns(), false, now);
	e = r ? xs_fill(j, st, &r->progress, phase) : k8s_obj_set_str(st, "/phase", phase);
	if (!e)
		e = k8s_obj_set_str(st, "/completionTime", now);
	if (!e)
		e = k8s_obj_set_str(st, "/message", ret ? j->msg : "");
	if (!e && r && r->snapshot_id[0])
		e = k8s_obj_set_str(st, "/snapshotID", r->snapshot_id);
	else if (!e && !ret && j->copy_id[0]) /* a copy: the snapshot, now in both */
		e = k8s_obj_set_str(st, "/snapshotID", j->copy_id);
	if (!e && !ret && j->rec_id[0]) /* a record's copy: its id in spec.repository */
		e = k8s_obj_set_str(st, "/recordID", j->rec_id);
	if (!e && r && r->parent[0])
		e = k8s_obj_set_str(st, "/parentID", r->parent);
	if (!e && restore && stamp[0]) /* the controller puts it on the volume's PV */
		e = k8s_obj_set_str(st, "/stamp", stamp);
	if (!e && j->verify && r && (!r->err || r->mismatches)) {
		e = k8s_obj_set_str(st, "/verify/snapshotID", j->verify);
		if (!e)
			e = k8s_obj_set_int(st, "/verify/mismatches", (int64_t)r->mismatches);
		if (!e && r->mismatches)
			e = k8s_obj_set_int(st, "/verify/firstMismatch",
					    (int64_t)r->first_mismatch);
	}
	if (!e && xs_patch(j, st)) {
		/* buffered: agent_xfers_poll() sends it until the API server takes it */
		j->s->unsent = st;
		st = NULL;
	}
	k8s_obj_free(st);
	if (ret)
		ctl_log(CTL_LOG_WARN, "agent: transfer %s failed: %s", j->name, j->msg);
	else
		ctl_log(CTL_LOG_INFO, "agent: transfer %s completed: %s %s", j->name,
			j->verify ? "equal to snapshot" : "snapshot",
			j->verify ? j->verify
			: r	  ? r->snapshot_id
				  : "");
}

/*
 * The repository at @base of the transfer (spec.repository, spec.from: @what
 * in messages), opened with the transfer's spec.bandwidth as its caps each
 * way, and unlocked.
 */
static int xs_open(struct xs_job *j, const struct k8s_obj *vt, const char *base, const char *what,
		   struct s3_store **st, struct dp_repo **repo)
{
	struct xfer_repo_ref ref;
	struct k8s_err err = {0};
	char *pw = NULL, why[400];
	int64_t cap = 0;
	size_t len = 0;
	int ret;

	xfer_repo_ref_at(vt, base, &ref);
	if (!ref.url) {
		snprintf(j->msg, sizeof(j->msg), "%s.url is required", what);
		return -EINVAL;
	}
	if (!k8s_obj_int(vt, "/spec/bandwidth", &cap) && cap > 0)
		ref.limit_upload = ref.limit_download = (uint64_t)cap;
	ret = xfer_repo_store_open(j->s->x->c, &ref, st, why, sizeof(why), &err);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "repository %s", ret == 1 ? why : err.msg);
		return ret == 1 ? -EINVAL : ret;
	}
	ret = dp_repo_open(*st, repo);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "repository %s: %s", ref.url, dp_last_error());
		return ret;
	}
	if (!dp_repo_is_encrypted(*repo))
		return 0;
	ret = xfer_repo_password(j->s->x->c, &ref, &pw, &len, why, sizeof(why), &err);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "repository %s: %s", ref.url,
			 ret == 1 ? why : err.msg);
		return ret == 1 ? -ENOKEY : ret;
	}
	if (!pw) {
		snprintf(j->msg, sizeof(j->msg),
			 "repository %s is encrypted: %s.passwordSecretRef is required", ref.url,
			 what);
		return -ENOKEY;
	}
	ret = dp_repo_unlock(*repo, pw, len);
	k8s_secret_free(pw, len);
	if (ret)
		snprintf(j->msg, sizeof(j->msg), "repository %s: %s", ref.url, dp_last_error());
	return ret;
}

/* The repository the transfer writes or reads (spec.repository). */
static int xs_repo(struct xs_job *j, const struct k8s_obj *vt)
{
	return xs_open(j, vt, "/spec/repository", "spec.repository", &j->st, &j->repo);
}

/* The copy job of @co's snapshots, with the memory a copy takes at least (the pool waits for it). */
static int xs_copy_run(struct xs_job *j, struct dp_copy_opts *co)
{
	uint64_t least = dp_copy_memory_min(dp_repo_info(j->from_repo)->chunk_size);
	int ret;

	if (co->memory < least)
		co->memory = least;
	ret = dp_copy_start(j->from_repo, j->repo, j->s->x->pool, co, &j->job);
	if (ret)
		snprintf(j->msg, sizeof(j->msg), "%s",
			 co->err->msg[0] ? co->err->msg : dp_last_error());
	return ret;
}

/*
 * A copy of the Backup spec.record names (name, namespace, cluster) in
 * spec.from: its volumes' snapshots first (the ones spec.repository has are
 * skipped), then, once they are in, the record (xs_record_end()).
 */
static int xs_record_start(struct xs_job *j, const struct k8s_obj *vt, struct dp_copy_opts *co)
{
	const char *name = k8s_obj_str(vt, "/spec/record/name");
	size_t n = 0;
	int ret;

	ret = dp_record_get(j->from_repo, name, k8s_obj_str(vt, "/spec/record/namespace"),
			    k8s_obj_str(vt, "/spec/record/cluster"), &j->rec);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "spec.record: Backup %.253s in spec.from: %s",
			 name, dp_last_error());
		return ret;
	}
	j->rec_snaps = calloc(j->rec->nvolumes + 1, sizeof(*j->rec_snaps));
	if (!j->rec_snaps)
		return -ENOMEM;
	for (size_t v = 0; v < j->rec->nvolumes; v++) {
		const struct dp_snapshot *s = NULL;

		for (size_t i = 0; i < j->from_n && !s; i++)
			if (!strcmp(j->from_snaps[i].id, j->rec->volumes[v].snapshot))
				s = &j->from_snaps[i];
		if (!s) {
			snprintf(
				j->msg, sizeof(j->msg),
				"spec.record: Backup %.200s: the snapshot %.16s of %.63s/%.100s is "
				"not in spec.from",
				name, j->rec->volumes[v].snapshot, j->rec->volumes[v].namespace,
				j->rec->volumes[v].pvc);
			return -ENOENT;
		}
		j->rec_snaps[n++] = *s; /* shallow: the listing owns its strings */
	}
	if (!n)
		return 0; /* no volumes: the record alone, xs_record_end() */
	co->snapshots = j->rec_snaps;
	co->n = n;
	return xs_copy_run(j, co);
}

/* The record itself, once its snapshots are in spec.repository. */
static int xs_record_end(struct xs_job *j)
{
	bool copied = false;
	int ret;

	ret = dp_record_copy(j->from_repo, j->repo, j->rec, j->rec_id, &copied);
	if (ret)
		snprintf(j->msg, sizeof(j->msg), "the record of Backup %.253s: %s", j->rec->name,
			 dp_last_error());
	else
		ctl_log(CTL_LOG_INFO, "agent: transfer %s: the record of Backup %s/%s %s (%.16s)",
			j->name, j->rec->namespace, j->rec->name,
			copied ? "copied" : "was there already", j->rec_id);
	return ret;
}

/*
 * A copy: the snapshot spec.snapshotID (of spec.volume, for "latest"), or
 * the Backup spec.record names, of spec.from into spec.repository, as
 * `ferry copy` does it (datapath/copy.c).
 */
static int xs_copy_start(struct xs_job *j, const struct k8s_obj *vt, uint64_t share)
{
	const char *spec = k8s_obj_str(vt, "/spec/snapshotID");
	const char *rname = k8s_obj_str(vt, "/spec/record/name");
	struct dp_err derr = {0};
	struct dp_copy_opts co = {.sz = sizeof(co),
				  .n = 1,
				  .memory = share,
				  .state_dir = j->s->x->o.state_dir,
				  .err = &derr};
	const struct dp_snapshot *snap;
	int ret, e = 0;

	ret = xs_open(j, vt, "/spec/from", "spec.from", &j->from_st, &j->from_repo);
	if (ret)
		return ret;
	ret = dp_snapshot_list(j->from_repo, &j->from_snaps, &j->from_n);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "spec.from: %s", dp_last_error());
		return ret;
	}
	if (rname)
		return xs_record_start(j, vt, &co);
	snap = dp_snapshot_find(j->from_repo, j->from_snaps, j->from_n, spec ? spec : "latest",
				k8s_obj_str(vt, "/spec/volume"), &e);
	if (!snap) {
		snprintf(j->msg, sizeof(j->msg), "spec.from: snapshot %.64s: %s",
			 spec ? spec : "latest", dp_last_error());
		return e ? e : -ENOENT;
	}
	snprintf(j->copy_id, sizeof(j->copy_id), "%s", snap->id);
	co.snapshots = snap;
	return xs_copy_run(j, &co);
}

/* The whole volume is read: say why (status.changedBlocks, the log). */
static void xs_cbt_fallback(struct xs_job *j, const char *fallback, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void xs_cbt_fallback(struct xs_job *j, const char *fallback, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->cbt_reason, sizeof(j->cbt_reason), fmt, ap);
	va_end(ap);
	j->cbt_decided = true;
	j->cbt_used = false;
	j->cbt_fallback = fallback;
	ctl_log(CTL_LOG_INFO, "agent: transfer %s: the whole volume is read: %s", j->name,
		j->cbt_reason);
}

/*
 * What changed since @parent, from the driver's SnapshotMetadata service
 * (control/cbt: GetMetadataDelta between the base snapshot the controller
 * found, by its handle, and the transfer's own snapshot, with a token of the
 * agent's service account for the service's audience), into @list when the
 * base stands for @parent; else the reason, and the backup reads everything.
 * A transfer the controller said nothing about (status.changedBlocks) is
 * left alone.
 */
static void xs_cbt_list(struct xs_job *j, const struct k8s_obj *vt,
			const struct dp_snapshot *parent, struct dp_cbl *list)
{
	const struct k8s_obj *cb = k8s_obj_at(vt, "/status/changedBlocks");
	const char *fallback = k8s_obj_str(cb, "/fallback");
	const char *base = k8s_obj_str(cb, "/base/snapshotID");
	const char *handle = k8s_obj_str(cb, "/base/snapshotHandle");
	const char *ns = k8s_obj_str(cb, "/target/namespace");
	const char *target = k8s_obj_str(cb, "/target/volumeSnapshot");
	const char *why =
		k8s_obj_str(cb, "/reason") ? k8s_obj_str(cb, "/reason") : "(no reason given)";
	const char *bname = k8s_obj_str(cb, "/base/volumeSnapshot");
	struct cbt_csi_opts o = {.sz = sizeof(o)};
	struct cbt_csi_info info = {0};
	struct cbt_err e = {0};
	struct timespec t0, t1;
	char hbase[600];
	int ret;

	if (!cb)
		return;
	if (fallback && !strcmp(fallback, XFER_CBT_OFF)) {
		xs_cbt_fallback(j, fallback, "%s", why);
		return;
	}
	if (!parent) {
		xs_cbt_fallback(
			j, XFER_CBT_NO_PARENT,
			"the volume's first backup: no parent snapshot to list changes against");
		return;
	}
	if (fallback) {
		xs_cbt_fallback(j, fallback, "%s", why);
		return;
	}
	if (!base || !handle || !ns || !target) {
		xs_cbt_fallback(j, XFER_CBT_NO_BASE, "status.changedBlocks names no base snapshot");
		return;
	}
	if (strcmp(base, parent->id)) {
		xs_cbt_fallback(
			j, XFER_CBT_PARENT_MOVED,
			"the base snapshot %.200s stands for snapshot %.16s, the volume's newest is %.16s",
			bname ? bname : "(unnamed)", base, parent->id);
		return;
	}
	snprintf(hbase, sizeof(hbase), "handle:%s", handle);
	o.client = j->s->x->c;
	o.ns = ns;
	o.base = hbase;
	o.target = target;
	o.driver = k8s_obj_str(cb, "/driver");
	o.address = j->s->x->o.snapmeta_address;
	o.sa = XFER_NS "/ferry-agent"; /* its own: the namespace it watches transfers in */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ret = cbt_csi_delta(&o, list, &info, &e);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	j->cbt_ms =
		(uint64_t)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000);
	if (ret) {
		dp_cbl_fini(list);
		memset(list, 0, sizeof(*list));
		xs_cbt_fallback(j, XFER_CBT_CALL_FAILED, "GetMetadataDelta: %s",
				e.msg[0] ? e.msg : strerror(-ret));
		return;
	}
	snprintf(list->parent, sizeof(list->parent), "%s", parent->id);
	dp_cbl_normalize(list);
	j->cbt_decided = j->cbt_used = true;
	j->cbt_fallback = NULL;
	j->cbt_listed = 0;
	for (size_t i = 0; i < list->n; i++)
		j->cbt_listed += list->ranges[i].len;
	j->cbt_ranges = list->n;
	ctl_log(CTL_LOG_INFO,
		"agent: transfer %s: changed blocks since %.16s: %llu bytes in %zu ranges (%llu calls to %s, %llu ms)",
		j->name, parent->id, (unsigned long long)j->cbt_listed, list->n,
		(unsigned long long)info.calls, info.address, (unsigned long long)j->cbt_ms);
}

/*
 * What a backup's snapshot says of the transfer that wrote it (labels): its
 * name and uid, and how it read the volume (XS_CBT_USED, or the fallback).
 */
#define XS_LABEL_NAME "ferry.io/volumetransfer"
#define XS_LABEL_UID  "ferry.io/volumetransfer-uid"
#define XS_LABEL_CBT  "ferry.io/changed-blocks"
#define XS_CBT_USED   "Used"

static const char *xs_label(const struct dp_snapshot *s, const char *key)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (!strcmp(s->labels[i].key, key))
			return s->labels[i].value;
	return NULL;
}

/* The XS_LABEL_CBT label of the backup about to start into @buf; false: none (not decided). */
static bool xs_cbt_label(const struct xs_job *j, char *buf, size_t len)
{
	if (!j->cbt_decided)
		return false;
	snprintf(buf, len, "%s=%s", XS_LABEL_CBT,
		 j->cbt_used	   ? XS_CBT_USED
		 : j->cbt_fallback ? j->cbt_fallback
				   : "");
	return true;
}

/*
 * The snapshot of @volume that an earlier run of the transfer @uid wrote, or
 * NULL. An agent killed after the backup's manifest went in but before its
 * Completed status leaves the transfer Running with its snapshot stored: the
 * next run takes that as its result. Reading again would write a second
 * snapshot, and against the wrong parent (the newest is the run's own): the
 * whole volume read, as if its changed blocks were unknown.
 */
static const struct dp_snapshot *xs_written(struct xs_job *j, const char *volume, const char *uid)
{
	const struct dp_snapshot *s;
	const char *cbt;

	if (!uid || !uid[0] || !volume)
		return NULL;
	for (size_t i = j->nsnaps; i-- > 0;) {
		s = &j->snaps[i];
		if (!s->volume || strcmp(s->volume, volume) || !xs_label(s, XS_LABEL_UID) ||
		    strcmp(xs_label(s, XS_LABEL_UID), uid))
			continue;
		cbt = xs_label(s, XS_LABEL_CBT);
		if (cbt) {
			j->cbt_decided = true;
			j->cbt_used = !strcmp(cbt, XS_CBT_USED);
			snprintf(j->cbt_written, sizeof(j->cbt_written), "%s", cbt);
			j->cbt_fallback = j->cbt_used ? NULL : j->cbt_written;
			snprintf(j->cbt_reason, sizeof(j->cbt_reason),
				 "as the run that wrote snapshot %.16s found", s->id);
		}
		ctl_log(CTL_LOG_INFO,
			"agent: transfer %s: snapshot %.16s was written by an earlier run of it "
			"(its status not): that is its result, nothing read again",
			j->name, s->id);
		return s;
	}
	return NULL;
}

/* The result of a transfer whose snapshot an earlier run wrote (xs_written()). */
static void xs_written_result(const struct dp_snapshot *s, struct dp_result *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->snapshot_id, sizeof(r->snapshot_id), "%s", s->id);
	snprintf(r->volume, sizeof(r->volume), "%s", s->volume);
	snprintf(r->parent, sizeof(r->parent), "%s", s->parent);
	r->progress.bytes_total = s->size;
	r->progress.bytes_done = s->size;
	r->progress.bytes_read = s->bytes_read;
	r->progress.bytes_zero = s->bytes_zero;
	r->progress.bytes_new = s->bytes_stored;
	r->progress.bytes_raw_new = s->bytes_new;
	r->progress.chunks_total = s->chunks_total;
	r->progress.chunks_zero = s->chunks_zero;
	r->progress.chunks_new = s->chunks_new;
}

static int xs_start(struct xs_job *j, const struct k8s_obj *vt)
{
	const char *volume = k8s_obj_str(vt, "/spec/volume");
	const char *spec = k8s_obj_str(vt, "/spec/snapshotID");
	struct agent_xfers *x = j->s->x;
	const struct dp_snapshot *parent = NULL, *snap;
	uint64_t share = (x->o.memory ? x->o.memory : DP_MEMORY_DEFAULT) / x->o.max;
	struct dp_err derr = {0};
	struct dp_cbl list = {0};
	char label[3][320];
	const char *labels[3] = {label[0], label[1], label[2]};
	int ret, e = 0;

	if (share < DP_MEMORY_MIN)
		share = DP_MEMORY_MIN;
	if (!strcmp(j->dir, XFER_DIR_COPY))
		return xs_copy_start(j, vt, share);
	ret = dp_snapshot_list(j->repo, &j->snaps, &j->nsnaps);
	if (ret) {
		snprintf(j->msg, sizeof(j->msg), "%s", dp_last_error());
		return ret;
	}
	if (!strcmp(j->dir, "backup") && j->verify) {
		struct dp_verify_opts vo = {
			.sz = sizeof(vo), .source = j->device, .memory = share, .err = &derr};

		vo.snapshot = dp_snapshot_find(j->repo, j->snaps, j->nsnaps, j->verify, NULL, &e);
		if (!vo.snapshot) {
			snprintf(j->msg, sizeof(j->msg), "spec.verify: snapshot %.64s: %s",
				 j->verify, dp_last_error());
			return e ? e : -ENOENT;
		}
		ret = dp_verify_start(j->repo, x->pool, &vo, &j->job);
	} else if (!strcmp(j->dir, "backup")) {
		struct dp_backup_opts bo = {.sz = sizeof(bo),
					    .source = j->device,
					    .volume = volume,
					    .labels = labels,
					    .nlabels = 2,
					    .memory = share,
					    .hostname = x->node,
					    .state_dir = x->o.state_dir,
					    .err = &derr};

		j->written = xs_written(j, volume, k8s_obj_get_uid(vt));
		if (j->written)
			return 0;
		snprintf(label[0], sizeof(label[0]), "%s=%s", XS_LABEL_NAME, j->name);
		snprintf(label[1], sizeof(label[1]), "%s=%s", XS_LABEL_UID,
			 k8s_obj_get_uid(vt) ? k8s_obj_get_uid(vt) : "");
		ret = dp_parent_choose(j->repo, j->snaps, j->nsnaps, volume, DP_PARENT_AUTO, NULL,
				       &parent, &derr);
		if (ret) {
			snprintf(j->msg, sizeof(j->msg), "parent: %s", derr.msg);
			return ret;
		}
		bo.parent = parent;
		xs_cbt_list(j, vt, parent, &list);
		if (j->cbt_used)
			bo.changed = &list;
		bo.nlabels = xs_cbt_label(j, label[2], sizeof(label[2])) ? 3 : 2;
		ret = dp_backup_start(j->repo, x->pool, &bo, &j->job);
		if (ret && j->cbt_used) {
			/* a list the backup refuses (a size that differs): read everything */
			xs_cbt_fallback(j, XFER_CBT_LIST_REFUSED, "the changed-block list: %.400s",
					derr.msg[0] ? derr.msg : dp_last_error());
			memset(&derr, 0, sizeof(derr));
			bo.changed = NULL;
			bo.nlabels = xs_cbt_label(j, label[2], sizeof(label[2])) ? 3 : 2;
			ret = dp_backup_start(j->repo, x->pool, &bo, &j->job);
		}
		dp_cbl_fini(&list);
	} else {
		const char *onto = k8s_obj_str(vt, "/spec/onto");
		struct dp_restore_opts ro = {
			.sz = sizeof(ro), .target = j->device, .memory = share, .err = &derr};

		snap = dp_snapshot_find(j->repo, j->snaps, j->nsnaps, spec ? spec : "latest",
					volume, &e);
		if (!snap) {
			snprintf(j->msg, sizeof(j->msg), "snapshot %s: %s", spec ? spec : "latest",
				 dp_last_error());
			return e ? e : -ENOENT;
		}
		ro.snapshot = snap;
		if (onto) {
			/* a delta: only what differs from the snapshot the volume holds */
			ro.onto = dp_snapshot_find(j->repo, j->snaps, j->nsnaps, onto, volume, &e);
			if (!ro.onto) {
				snprintf(j->msg, sizeof(j->msg), "spec.onto: snapshot %.64s: %s",
					 onto, dp_last_error());
				return e ? e : -ENOENT;
			}
		}
		ret = xs_stamp_in(j, vt);
		if (ret)
			return ret;
		ro.stamp = j->stamp;
		ret = dp_restore_start(j->repo, x->pool, &ro, &j->job);
	}
	if (ret)
		snprintf(j->msg, sizeof(j->msg), "%s", derr.msg[0] ? derr.msg : dp_last_error());
	return ret;
}

static void *xs_thread(void *arg)
{
	struct xs_slot *s = arg;
	struct xs_job j = {.s = s, .name = s->name};
	const struct k8s_obj *vt = s->vt;
	const char *pv = k8s_obj_str(vt, "/status/holder/persistentVolume");
	const char *uid = k8s_obj_str(vt, "/status/holder/podUID");
	const struct dp_result *r = NULL;
	struct dp_result done;
	struct dp_progress p;
	int ret;

	j.dir = k8s_obj_str(vt, "/spec/direction");
	if (!j.dir)
		j.dir = "backup";
	j.verify = k8s_obj_str(vt, "/spec/verify");
	if (!strcmp(j.dir, XFER_DIR_COPY)) {
		snprintf(j.device, sizeof(j.device), "%s", k8s_obj_str(vt, "/spec/from/url"));
		goto start; /* repository to repository: no device */
	}
	ret = xfer_device_path(s->x->o.kubelet_dir, pv, uid, j.device, sizeof(j.device));
	if (ret) {
		snprintf(j.msg, sizeof(j.msg), "status.holder names no published volume");
		goto out;
	}
	if (access(j.device, F_OK)) {
		ret = -errno;
		snprintf(j.msg, sizeof(j.msg), "the holder's device %.300s: %s", j.device,
			 strerror(errno));
		goto out;
	}
start:
	memset(&p, 0, sizeof(p));
	xs_progress(&j, &p, XFER_RUNNING);
	ret = xs_repo(&j, vt);
	if (!ret)
		ret = xs_start(&j, vt);
	if (ret)
		goto out;
	if (j.written) {
		xs_written_result(j.written, &done);
		r = &done;
		goto out;
	}
	if (j.rec && !j.job) { /* a record without volumes */
		ret = xs_record_end(&j);
		goto out;
	}
	ctl_log(CTL_LOG_INFO, "agent: transfer %s: %s of %s started", j.name, j.dir, j.device);
	while (dp_job_wait(j.job, XFER_STATUS_PERIOD) == -ETIMEDOUT) {
		if (atomic_load(&s->stop)) {
			dp_job_cancel(j.job);
			dp_job_wait(j.job, -1);
			ret = -ECANCELED;
			goto out_quiet;
		}
		dp_job_progress(j.job, &p);
		xs_progress(&j, &p, XFER_RUNNING);
	}
	r = dp_job_result(j.job);
	ret = r->err;
	if (!ret && j.rec)
		ret = xs_record_end(&j);
	if (!ret && j.verify && r->mismatches) {
		ret = -EILSEQ;
		snprintf(j.msg, sizeof(j.msg),
			 "the volume differs from snapshot %.64s: %llu chunk(s), the first at byte "
			 "%llu",
			 j.verify, (unsigned long long)r->mismatches,
			 (unsigned long long)r->first_mismatch);
	} else if (ret == -ESTALE && k8s_obj_str(vt, "/spec/onto"))
		/* the stamp check, before any write: the volume does not hold spec.onto */
		snprintf(j.msg, sizeof(j.msg),
			 "the volume's stamp (ferry.io/stamp of its PV) refuses the delta, nothing "
			 "written: %.380s",
			 r->error.msg[0] ? r->error.msg : strerror(-ret));
	else if (ret)
		snprintf(j.msg, sizeof(j.msg), "%s",
			 r->error.msg[0] ? r->error.msg : strerror(-ret));
out:
	xs_end(&j, ret, r);
out_quiet:
	if (j.stamp_dir[0]) {
		char gone[2048];

		xs_stamp_out(&j, gone, sizeof(gone)); /* cancelled: only the files go */
	}
	dp_job_free(j.job);
	dp_snapshot_list_free(j.snaps, j.nsnaps);
	dp_repo_free(j.repo);
	s3_store_free(j.st);
	free(j.rec_snaps);
	dp_record_free(j.rec);
	dp_snapshot_list_free(j.from_snaps, j.from_n);
	dp_repo_free(j.from_repo);
	s3_store_free(j.from_st);
	atomic_store(&s->finished, true);
	return NULL;
}

/* ---------------------------------------------------------------- the loop */

static struct xs_slot *xs_find(struct agent_xfers *x, const char *name)
{
	for (unsigned int i = 0; i < x->o.max; i++)
		if (x->slots[i].used && !strcmp(x->slots[i].name, name))
			return &x->slots[i];
	return NULL;
}

static int xs_due(void *arg, const struct k8s_obj *vt)
{
	struct agent_xfers *x = arg;
	const char *phase = k8s_obj_str(vt, "/status/phase");
	const char *node = k8s_obj_str(vt, "/status/node");
	const char *name = k8s_obj_get_name(vt);
	struct xs_slot *s = NULL;
	unsigned int i;

	if (!name || !node || strcmp(node, x->node) || !phase ||
	    (strcmp(phase, XFER_ATTACHING) && strcmp(phase, XFER_RUNNING)) ||
	    strlen(name) >= sizeof(s->name) || xs_find(x, name))
		return 0;
	for (i = 0; i < x->o.max && !s; i++)
		if (!x->slots[i].used)
			s = &x->slots[i];
	if (!s)
		return 1; /* all slots busy: the rest wait */
	memset(s, 0, sizeof(*s));
	s->vt = k8s_obj_dup(vt);
	if (!s->vt)
		return 0;
	s->x = x;
	snprintf(s->name, sizeof(s->name), "%s", name);
	if (pthread_create(&s->thread, NULL, xs_thread, s)) {
		k8s_obj_free(s->vt);
		s->vt = NULL;
		return 0;
	}
	s->used = true;
	return 0;
}

/*
 * Whether a finished job's slot may go: once the cache shows its final
 * status (or the transfer is gone), else the cache's stale Running would
 * start it again; at the latest after XS_HOLD_S (a status write that failed:
 * running it again is harmless, a backup stores nothing twice).
 */
static bool xs_released(struct agent_xfers *x, struct xs_slot *s)
{
	char key[K8S_KEY_SIZE];
	struct timespec now;
	struct k8s_obj *o;
	const char *phase;
	bool done;

	if (s->unsent)
		return false; /* its final status first */
	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec - s->joined_at.tv_sec > XS_HOLD_S)
		return true;
	snprintf(key, sizeof(key), "%s/%s", XFER_NS, s->name);
	o = k8s_informer_get(x->inf, key);
	phase = k8s_obj_str(o, "/status/phase");
	done = !o || !phase || (strcmp(phase, XFER_ATTACHING) && strcmp(phase, XFER_RUNNING)) ||
	       strcmp(k8s_obj_get_uid(o) ? k8s_obj_get_uid(o) : "",
		      k8s_obj_get_uid(s->vt) ? k8s_obj_get_uid(s->vt) : "");
	k8s_obj_free(o);
	return done;
}

/*
 * A finished job's final status that could not be written, sent again (its
 * heartbeat renewed); dropped once written, or when its transfer is gone or
 * was made again (another uid) meanwhile.
 */
static void xs_resend(struct agent_xfers *x, struct xs_slot *s)
{
	char key[K8S_KEY_SIZE], now_s[K8S_TIME_SIZE];
	struct k8s_err err = {0};
	struct timespec now;
	struct k8s_obj *o;
	bool same;
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (now.tv_sec < s->resend_at.tv_sec)
		return;
	s->resend_at.tv_sec = now.tv_sec + XS_RESEND_S;
	snprintf(key, sizeof(key), "%s/%s", XFER_NS, s->name);
	o = k8s_informer_get(x->inf, key);
	same = o && k8s_obj_get_uid(o) && k8s_obj_get_uid(s->vt) &&
	       !strcmp(k8s_obj_get_uid(o), k8s_obj_get_uid(s->vt));
	k8s_obj_free(o);
	if (!same) {
		ctl_log(CTL_LOG_WARN,
			"agent: transfer %s: gone before its final status was written", s->name);
		ret = -ENOENT;
	} else {
		k8s_time_format(k8s_now_ns(), false, now_s);
		ret = k8s_obj_set_str(s->unsent, "/heartbeat", now_s);
		if (!ret)
			ret = xfer_status_patch(x->c, s->name, s->unsent, &err);
		s->resends++;
		if (ret && ret != -ENOENT)
			return; /* still away: the next poll tries again */
		if (!ret)
			ctl_log(CTL_LOG_INFO,
				"agent: transfer %s: its final status written after %u more tries",
				s->name, s->resends);
	}
	k8s_obj_free(s->unsent);
	s->unsent = NULL;
	clock_gettime(CLOCK_MONOTONIC, &s->joined_at); /* XS_HOLD_S from now */
}

/* Whether a running job's transfer was deleted (or is being): the job stops. */
static bool xs_withdrawn(struct agent_xfers *x, struct xs_slot *s)
{
	char key[K8S_KEY_SIZE];
	struct k8s_obj *o;
	bool gone;

	snprintf(key, sizeof(key), "%s/%s", XFER_NS, s->name);
	o = k8s_informer_get(x->inf, key);
	gone = !o || k8s_obj_str(o, "/metadata/deletionTimestamp") ||
	       strcmp(k8s_obj_get_uid(o) ? k8s_obj_get_uid(o) : "",
		      k8s_obj_get_uid(s->vt) ? k8s_obj_get_uid(s->vt) : "");
	k8s_obj_free(o);
	return gone;
}

void agent_xfers_poll(struct agent_xfers *x)
{
	unsigned int i;

	xs_freezes(x);
	xs_freeze_expire(x);

	for (i = 0; i < x->o.max; i++) {
		struct xs_slot *s = &x->slots[i];

		if (s->used && !atomic_load(&s->finished) && xs_withdrawn(x, s))
			atomic_store(&s->stop, true);
		if (!s->used || !atomic_load(&s->finished))
			continue;
		if (!s->joined) {
			pthread_join(s->thread, NULL);
			s->joined = true;
			clock_gettime(CLOCK_MONOTONIC, &s->joined_at);
		}
		if (s->unsent)
			xs_resend(x, s);
		if (xs_released(x, s)) {
			k8s_obj_free(s->vt);
			s->vt = NULL;
			s->used = false;
		}
	}
	k8s_informer_each(x->inf, XFER_NS, NULL, xs_due, x);
}

void agent_xfers_close(struct agent_xfers *x)
{
	unsigned int i;

	if (!x)
		return;
	for (i = 0; i < x->o.max; i++)
		if (x->slots[i].used)
			atomic_store(&x->slots[i].stop, true);
	for (i = 0; i < x->o.max; i++) {
		if (!x->slots[i].used)
			continue;
		if (!x->slots[i].joined)
			pthread_join(x->slots[i].thread, NULL);
		if (x->slots[i].unsent)
			ctl_log(CTL_LOG_WARN,
				"agent: transfer %s: its final status not written (the agent stops)",
				x->slots[i].name);
		k8s_obj_free(x->slots[i].unsent);
		k8s_obj_free(x->slots[i].vt);
	}
	xs_thaw_all(x, "the agent stops");
	k8s_informer_free(x->inf);
	dp_pool_free(x->pool);
	free(x);
}
