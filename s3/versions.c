// SPDX-License-Identifier: MIT
/*
 * s3/versions.c - versions and Object Lock on the s3:// backend: whether the
 * bucket keeps versions (GetBucketVersioning), every version and delete
 * marker (ListObjectVersions, through the pager), a version's HEAD with its
 * lock (the x-amz-object-lock-* headers), deleting one version, and what
 * Object Lock holds a version by when a delete is refused.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "s3_op.h"
#include "s3s.h"

enum { VC_STATUS = 0 };

static const struct s3_xml_page_spec versioning_spec = {
	.root = "VersioningConfiguration",
	.top = {[VC_STATUS] = "Status"},
};

int s3s_versioning(struct s3_store *st, enum s3_versioning *state)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"versioning", NULL}};
	struct s3_xml_page pg = {0};
	char what[160];
	int ret;

	snprintf(what, sizeof(what), "reading the versioning of bucket s3://%s", s->bucket);
	ret = s3_page_fetch(s, &versioning_spec, NULL, q, 1, false, what, &pg);
	if (!ret) {
		const char *v = pg.top[VC_STATUS] ? pg.top[VC_STATUS] : "";

		if (!strcmp(v, "Enabled"))
			*state = S3_VERSIONING_ENABLED;
		else if (!strcmp(v, "Suspended"))
			*state = S3_VERSIONING_SUSPENDED;
		else if (!v[0])
			*state = S3_VERSIONING_OFF;
		else
			ret = s3_fail(-EIO, "%s: unknown status '%s'", what, v);
	}
	s3_xml_page_fini(&pg);
	return ret;
}

/* ------------------------------------------------------ ListObjectVersions */

enum { LV_KEY, LV_VERSION_ID, LV_IS_LATEST, LV_SIZE, LV_MTIME };
enum { LV_VERSION, LV_DELETE_MARKER };

static const struct s3_pager_spec versions_spec = {
	.page = {.root = "ListVersionsResult",
		 .entry = {[LV_VERSION] = "Version", [LV_DELETE_MARKER] = "DeleteMarker"},
		 .field = {[LV_KEY] = "Key",
			   [LV_VERSION_ID] = "VersionId",
			   [LV_IS_LATEST] = "IsLatest",
			   [LV_SIZE] = "Size",
			   [LV_MTIME] = "LastModified"},
		 .top = {[PAGE_TRUNCATED] = "IsTruncated",
			 [PAGE_NEXT] = "NextKeyMarker",
			 [PAGE_NEXT + 1] = "NextVersionIdMarker"}},
	.max_param = "max-keys",
	.marker = {"key-marker", "version-id-marker"},
};

struct versions_ctx {
	const struct s3s *s;
	s3_version_fn fn;
	void *arg;
};

static int version_entry(void *arg, const struct s3_xml_entry *e, const char *what)
{
	struct versions_ctx *c = arg;
	const char *key = e->f[LV_KEY], *id = e->f[LV_VERSION_ID];
	bool marker = e->kind == LV_DELETE_MARKER;
	uint64_t size = 0;
	int64_t t = 0;

	if (!key || !id || !id[0] ||
	    (!marker && (!e->f[LV_SIZE] || s3_xml_u64(e->f[LV_SIZE], &size))))
		return s3_fail(-EIO, "%s: a version without a key, an id or a size", what);
	key = s3s_relative_key(c->s, key);
	if (!key)
		return 0;
	if (!e->f[LV_MTIME] || s3_xml_time(e->f[LV_MTIME], &t))
		t = 0;
	return c->fn(c->arg, key, id, e->f[LV_IS_LATEST] && !strcmp(e->f[LV_IS_LATEST], "true"),
		     marker, size, t);
}

int s3s_list_versions(struct s3_store *st, const char *prefix, s3_version_fn fn, void *arg)
{
	struct versions_ctx c = {.s = s3s_of(st), .fn = fn, .arg = arg};

	return s3_pager_prefix(st, &versions_spec, (struct s3_kv){"versions", NULL}, prefix,
			       "listing the versions of", version_entry, &c);
}

/* ------------------------------------------------------ one version, locks */

/* HEAD of one version; on failure @msg says why (the calling thread's error is not touched). */
static int head_version(struct s3s *s, const char *key, const char *version_id,
			struct s3_version_info *info, char *msg, size_t msglen)
{
	struct s3_kv q[] = {{"versionId", version_id}};
	struct s3op op;
	int ret;

	ret = op_init(&op, s, "HEAD", key, q, 1);
	if (!ret) {
		op.r.control = true;
		snprintf(op.r.what, sizeof(op.r.what), "HEAD s3://%s/%s%s version %.64s", s->bucket,
			 s->prefix, key, version_id);
		ret = s3_http_run(s->http, &op.r);
		if (ret)
			snprintf(msg, msglen, "%s", op.r.msg);
	} else {
		snprintf(msg, msglen, "HEAD of %s: %s", key, strerror(-ret));
	}
	if (!ret) {
		info->size = op.r.has_length ? op.r.content_length : 0;
		info->mtime = op.r.last_modified;
		snprintf(info->lock_mode, sizeof(info->lock_mode), "%s", op.r.lock_mode);
		if (op.r.lock_until[0] && s3_xml_time(op.r.lock_until, &info->retain_until))
			info->retain_until = 0;
		info->legal_hold = op.r.legal_hold;
	}
	op_fini(&op);
	return ret;
}

int s3s_head_version(struct s3_store *st, const char *key, const char *version_id,
		     struct s3_version_info *info)
{
	char msg[384];
	int ret = head_version(s3s_of(st), key, version_id, info, msg, sizeof(msg));

	return ret ? s3_fail(ret, "%s", msg) : 0;
}

void s3_lock_holds(struct s3s *s, const char *key, const char *version_id, char *buf, size_t len)
{
	struct s3_version_info vi = {0};
	char until[32] = "", msg[384];
	struct tm tm;
	time_t t;

	buf[0] = '\0';
	if (head_version(s, key, version_id, &vi, msg, sizeof(msg)))
		return;
	t = (time_t)vi.retain_until;
	if (vi.retain_until && gmtime_r(&t, &tm))
		strftime(until, sizeof(until), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (until[0] || vi.legal_hold)
		snprintf(buf, len, "%s%s%s%s%s", vi.lock_mode, until[0] ? " retention until " : "",
			 until, until[0] && vi.legal_hold ? ", " : "",
			 vi.legal_hold ? "a legal hold" : "");
}

int s3s_delete_version(struct s3_store *st, const char *key, const char *version_id)
{
	struct s3s *s = s3s_of(st);
	struct s3_kv q[] = {{"versionId", version_id}};
	struct s3op op;
	char msg[sizeof(op.r.msg)], holds[128];
	int ret;

	ret = op_init(&op, s, "DELETE", key, q, 1);
	if (!ret) {
		op.r.control = true;
		op.r.accept_404 = true;
		snprintf(op.r.what, sizeof(op.r.what), "deleting s3://%s/%s%s version %.64s",
			 s->bucket, s->prefix, key, version_id);
		ret = op_run(&op);
	}
	snprintf(msg, sizeof(msg), "%s", op.r.msg);
	op_fini(&op);
	/* refused: say until when Object Lock keeps it, if the store tells */
	if (ret == -EACCES) {
		s3_lock_holds(s, key, version_id, holds, sizeof(holds));
		if (holds[0])
			return s3_fail(ret, "%s; %s", msg, holds);
	}
	if (ret)
		return s3_fail(ret, "%s", msg);
	return 0;
}
